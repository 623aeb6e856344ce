#!/usr/bin/env bash
# The release tarball (CMake's package_source) and the Homebrew formula
# (packaging/homebrew/Formula/pcp.rb): release.sh writes the tarball's url
# and sha256 into the formula; the formula is valid Ruby with the licence
# of a binary linked with OpenDHT; the tarball holds the sources and
# nothing built; it builds and installs with the formula's CMake flags;
# and the formula's own `test do` block (brew_test.rb runs it as `brew
# test` would) passes with what was installed, as an unprivileged user
# (nobody) in a private network namespace whose loopback has no multicast,
# and leaves no process behind.
# Builds everything again, so it runs only with PCP_TEST_RELEASE=1 (CI).
set -euo pipefail
[ "${PCP_TEST_RELEASE:-0}" = 1 ] || { echo "SKIP: set PCP_TEST_RELEASE=1"; exit 77; }
SRC=${SRC:?} BUILD=${BUILD:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
# The formula's test runs in a network namespace of its own: as root, made
# here and entered as nobody; else in a user namespace, where the kernel
# allows one.
if [ "$(id -u)" -ne 0 ] && ! unshare -rn true 2>/dev/null; then
    echo "SKIP: neither root nor user namespaces for the formula's test"
    exit 77
fi
tmp=$(mktemp -d /tmp/pcp-release.XXXXXX)
cleanup() {
    # Whatever the formula's test left running (found by its binary's path).
    for pid in $(pgrep -f -- "$tmp/prefix/bin/pcp" || true); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cp "$SRC/packaging/homebrew/Formula/pcp.rb" "$tmp/pcp.rb"
tarball=$(FORMULA=$tmp/pcp.rb "$SRC/packaging/homebrew/release.sh" "$BUILD" "file://$tmp")
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
grep -q "^  url \"file://$tmp/$(basename "$tarball")\"$" "$tmp/pcp.rb" || fail "url not written"
grep -q "^  sha256 \"$sum\"$" "$tmp/pcp.rb" || fail "sha256 not written"
command -v ruby >/dev/null || fail "no ruby to check the formula with"
ruby -c "$tmp/pcp.rb" >/dev/null || fail "the formula is not valid Ruby"
grep -qxF '  license all_of: ["Apache-2.0", "GPL-3.0-or-later"]' "$tmp/pcp.rb" ||
    fail "the formula's licence is not Apache-2.0 and GPL-3.0-or-later (OpenDHT is linked)"
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
# The formula's test block, run by brew_test.rb as an unprivileged user in
# a namespace whose only interface is a loopback without multicast: the
# test needs neither root nor multicast, and no packet can leave.
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$tmp"
    cp "$SRC/tests/packaging/brew_test.rb" "$tmp/"
    chmod -R a+rX "$tmp"
    unshare -n sh -c 'ip link set lo up && exec runuser -u nobody -- ruby "$0/brew_test.rb" "$0/pcp.rb" "$0/prefix"' \
        "$tmp" >"$tmp/test.log" 2>&1 || { tail -30 "$tmp/test.log"; fail "the formula's test failed"; }
else
    unshare -rn sh -c 'ip link set lo up && exec ruby "$0" "$1/pcp.rb" "$1/prefix"' \
        "$SRC/tests/packaging/brew_test.rb" "$tmp" >"$tmp/test.log" 2>&1 ||
        { tail -30 "$tmp/test.log"; fail "the formula's test failed"; }
fi
grep -q "Received 1 file" "$tmp/test.log" || { cat "$tmp/test.log"; fail "the formula's test transferred nothing"; }
sleep 0.5
left=$(pgrep -af -- "$tmp/prefix/bin/pcp" || true)
[ -z "$left" ] || fail "the formula's test left processes running: $left"
echo PASS
