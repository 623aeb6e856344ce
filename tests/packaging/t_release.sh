#!/usr/bin/env bash
# The release tarball (CMake's package_source) and the Homebrew formula:
# release.sh writes the tarball's url and sha256 into the formula; the
# tarball holds the sources and nothing built; it builds and installs
# with the formula's CMake flags; and the formula's test (a real transfer
# on loopback, found through mDNS) passes with what was installed.
# Builds everything again, so it runs only with PCP_TEST_RELEASE=1 (CI).
set -euo pipefail
[ "${PCP_TEST_RELEASE:-0}" = 1 ] || { echo "SKIP: set PCP_TEST_RELEASE=1"; exit 77; }
SRC=${SRC:?} BUILD=${BUILD:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/pcp-release.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$SRC/packaging/homebrew/pcp.rb" "$tmp/pcp.rb"
tarball=$(FORMULA=$tmp/pcp.rb "$SRC/packaging/homebrew/release.sh" "$BUILD" "file://$tmp")
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
grep -q "^  url \"file://$tmp/$(basename "$tarball")\"$" "$tmp/pcp.rb" || fail "url not written"
grep -q "^  sha256 \"$sum\"$" "$tmp/pcp.rb" || fail "sha256 not written"
command -v ruby >/dev/null || fail "no ruby to check the formula with"
ruby -c "$tmp/pcp.rb" >/dev/null || fail "the formula is not valid Ruby"
tar -C "$tmp" -xzf "$tarball"
top=$tmp/$(basename "$tarball" .tar.gz)
for f in CMakeLists.txt cmd/pcp.c packaging/pcp.1 packaging/completions/_pcp LICENSE README.md; do
    [ -f "$top/$f" ] || fail "the tarball lacks $f"
done
[ -z "$(cd "$top" && find . -name 'build*' -o -name .git -o -name node_modules -o -name '*.o')" ] ||
    fail "the tarball holds build output: $(cd "$top" && find . -name 'build*' -o -name .git | head)"
# The formula's install block, with what std_cmake_args gives.
flags=$(sed -n 's/.*system "cmake", "-S", ".", "-B", "build", \(.*\),$/\1/p' "$tmp/pcp.rb" | tr -d '",')
[ -n "$flags" ] || fail "cannot find the formula's cmake flags"
# shellcheck disable=SC2086
cmake -S "$top" -B "$top/build" $flags -DCMAKE_INSTALL_PREFIX="$tmp/prefix" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; fail "configure"; }
cmake --build "$top/build" -j2 >>"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; fail "build"; }
cmake --install "$top/build" >>"$tmp/build.log" 2>&1 || fail "install"
for f in bin/pcp share/man/man1/pcp.1 share/bash-completion/completions/pcp \
    share/zsh/site-functions/_pcp share/fish/vendor_completions.d/pcp.fish; do
    [ -f "$tmp/prefix/$f" ] || fail "not installed: $f"
done
[ ! -e "$tmp/prefix/lib/systemd" ] || fail "a systemd unit installed with PCP_INSTALL_SYSTEMD=OFF"
# The formula's test block, in shell, inside a private namespace.
"$tmp/prefix/bin/pcp" --version | grep -q '^QR codes: libqrencode' || fail "--version: no QR codes"
echo "hello from pcp" >"$tmp/hello.txt"
"$SRC/tests/interop/netns-lo.sh" bash -c '
    set -e
    opts="--no-relay --no-dht --mdns-interface lo --timeout 60"
    "$0/prefix/bin/pcp" send $opts --code bubble-enemy-result-increase "$0/hello.txt" >/dev/null 2>&1 &
    "$0/prefix/bin/pcp" receive $opts --yes --out "$0/got" bubble-enemy-result-increase 2>/dev/null
    wait $!' "$tmp" || fail "the formula's transfer failed"
cmp "$tmp/hello.txt" "$tmp/got/hello.txt" || fail "the formula's transfer: content differs"
echo PASS
