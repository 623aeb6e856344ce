# embed.cmake - turn english.txt into a C array at build time.
#
# Run as: cmake -DIN=english.txt -DOUT=english_words.inc -P embed.cmake
# The output is the body of a `static const char *const` array that code.c
# includes. Checks the shape of the list here so that a damaged file fails the
# build instead of producing codes nobody else can parse; the exact content is
# pinned by a sha256 test (tests/unit/test_code.c).
if(NOT DEFINED IN OR NOT DEFINED OUT)
  message(FATAL_ERROR "usage: cmake -DIN=<english.txt> -DOUT=<file> -P embed.cmake")
endif()

file(READ "${IN}" _text)
if(NOT _text MATCHES "\n$")
  message(FATAL_ERROR "${IN}: last line must end with a newline")
endif()
string(REGEX REPLACE "\n$" "" _text "${_text}")
string(REPLACE "\n" ";" _words "${_text}")

list(LENGTH _words _n)
if(NOT _n EQUAL 2048)
  message(FATAL_ERROR "${IN}: expected 2048 words, found ${_n}")
endif()

set(_out "/* Generated from english.txt by embed.cmake; do not edit. */\n")
set(_prev "")
foreach(_w IN LISTS _words)
  # Lower-case a-z only, 3 to 8 letters, strictly ascending: the parser's
  # binary search and the size of CODE_TEXT_MAX rely on all three.
  if(NOT _w MATCHES "^[a-z][a-z][a-z][a-z]?[a-z]?[a-z]?[a-z]?[a-z]?$")
    message(FATAL_ERROR "${IN}: bad word '${_w}'")
  endif()
  if(NOT _prev STREQUAL "" AND NOT _prev STRLESS _w)
    message(FATAL_ERROR "${IN}: '${_w}' is out of order after '${_prev}'")
  endif()
  set(_prev "${_w}")
  string(APPEND _out "\"${_w}\",\n")
endforeach()

file(WRITE "${OUT}" "${_out}")
