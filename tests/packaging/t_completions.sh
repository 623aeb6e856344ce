#!/usr/bin/env bash
# Shell completions: each names every option of `pcp CMD --help`; bash
# and fish complete subcommands, options and the words of a code (through
# `pcp complete-code`); zsh loads the function without an error.
set -euo pipefail
PCP=${PCP:?} DIR=${COMPLETIONS:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$PCP" "$bin/pcp"
export PATH=$bin:$PATH

for cmd in send receive relay; do
    for opt in $(pcp "$cmd" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
        grep -qF -- "$opt" "$DIR/pcp.bash" || fail "pcp.bash lacks $cmd $opt"
        grep -qF -- "$opt" "$DIR/_pcp" || fail "_pcp lacks $cmd $opt"
        grep -qw -- "${opt#--}" "$DIR/pcp.fish" || fail "pcp.fish lacks $cmd $opt"
    done
done

# bash, with bash-completion loaded when it is there, as in a login shell.
bash_complete() { # words...: what bash offers for the last word
    bash -c '
        [ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _pcp; printf "%s\n" "${COMPREPLY[@]}"' _ "$DIR/pcp.bash" "$@"
}
err=$(bash -c '. "$1"' _ "$DIR/pcp.bash" 2>&1) && [ -z "$err" ] || fail "pcp.bash does not load: $err"
[ "$(bash_complete pcp re | sort | tr '\n' ' ')" = "receive relay " ] || fail "bash: subcommands"
[ "$(bash_complete pcp receive bubble-ene | tr '\n' ' ')" = "bubble-enemy bubble-energy " ] ||
    fail "bash: code words: $(bash_complete pcp receive bubble-ene)"
[ "$(bash_complete pcp send --te)" = --text ] || fail "bash: send options"
[ "$(bash_complete pcp receive --std)" = --stdout ] || fail "bash: receive options"
[ "$(bash_complete pcp send --words '')" = "$(printf '4\n5\n6\n7\n8')" ] || fail "bash: --words"

# fish: its own completion engine, asked with complete -C.
if command -v fish >/dev/null; then
    fish_complete() { fish -c "source $DIR/pcp.fish; complete -C '$1'" | cut -f1; }
    [ "$(fish_complete 'pcp receive bubble-ene' | tr '\n' ' ')" = "bubble-enemy bubble-energy " ] ||
        fail "fish: code words: $(fish_complete 'pcp receive bubble-ene')"
    fish_complete 'pcp send --q' | grep -qx -- --qr || fail "fish: send options"
    fish_complete 'pcp re' | grep -qx relay || fail "fish: subcommands"
elif [ "${PCP_REQUIRE_SHELLS:-0}" = 1 ]; then
    fail "no fish"
fi

# zsh: the file parses and compinit loads it.
if command -v zsh >/dev/null; then
    zsh -n "$DIR/_pcp" || fail "_pcp does not parse"
    out=$(zsh -fc "fpath=($DIR \$fpath); autoload -Uz compinit; compinit -u -d $bin/zcd; autoload -Uz _pcp; whence -w _pcp" 2>&1)
    [ "$out" = "_pcp: function" ] || fail "zsh: $out"
elif [ "${PCP_REQUIRE_SHELLS:-0}" = 1 ]; then
    fail "no zsh"
fi
echo PASS
