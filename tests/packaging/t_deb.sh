#!/usr/bin/env bash
# The Debian package: built with dpkg-buildpackage (packaging/deb.sh, which
# fails on any lintian error) as a 3.0 (quilt) source package from an orig
# tarball, with the unit tests run by dh_auto_test; installed into this
# machine with apt, then used: `pcp-transfer` sends and receives in a
# private namespace, the relay runs with the shipped example config, the
# unit sits where pkg-config's systemd.pc says and reads
# /etc/pcp-transfer/, the man page renders under the installed name, bash
# completion completes code words; removed again at the end. Installs into
# the system, so it runs only with PCP_TEST_DEB=1 (CI) and as root.
set -euo pipefail
[ "${PCP_TEST_DEB:-0}" = 1 ] || { echo "SKIP: set PCP_TEST_DEB=1"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
SRC=${SRC:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/pcp-debtest.XXXXXX)
cleanup() {
    dpkg --purge pcp-transfer >/dev/null 2>&1 || true
    rm -f /var/cache/man/cat1/pcp-transfer.1*
    rm -rf "$tmp"
}
trap cleanup EXIT
deb=$("$SRC/packaging/deb.sh" "$tmp") || fail "the package did not build, or lintian found errors"
version=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version)
grep -qx 'Format: 3.0 (quilt)' "$tmp/pcp-transfer_$version.dsc" || fail "the source package is not 3.0 (quilt)"
[ -f "$tmp/pcp-transfer_${version%-*}.orig.tar.gz" ] || fail "no orig tarball"
tar -tzf "$tmp/pcp-transfer_${version%-*}.orig.tar.gz" | grep -qE '^[^/]+/(debian/|build|.*node_modules/)' &&
    fail "the orig tarball holds debian/, a build directory or node_modules"
build_log=$(ls "$tmp"/pcp-transfer_"$version"_*.build)
grep -q '^dh_auto_test' "$build_log" || fail "dh_auto_test did not run"
units=$(ls "$SRC"/tests/unit/test_*.c | wc -l)
grep -qE "^100% tests passed, 0 tests failed out of $units\$" "$build_log" ||
    fail "dh_auto_test did not pass the $units unit tests: $(grep 'tests passed\|tests failed' "$build_log")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >"$tmp/apt.log" 2>&1 ||
    { tail -20 "$tmp/apt.log"; fail "apt-get install"; }
[ -x /usr/bin/pcp-transfer ] || fail "/usr/bin/pcp-transfer not installed"
dpkg -L pcp-transfer | grep -qx /usr/bin/pcp && fail "the package ships /usr/bin/pcp (Performance Co-Pilot's)"
if [ "${PCP_REQUIRE_DHT:-0}" = 1 ]; then
    pcp-transfer --version | grep -q '^DHT: OpenDHT' || fail "the package was built without the DHT"
fi
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
unit=$unitdir/pcp-relay.service
[ -f "$unit" ] || fail "no systemd unit in $unitdir"
grep -qx 'ExecStart=/usr/bin/pcp-transfer relay --config /etc/pcp-transfer/relay.conf' "$unit" ||
    fail "the unit does not run /usr/bin/pcp-transfer with /etc/pcp-transfer/relay.conf"
grep -qx 'ConfigurationDirectory=pcp-transfer' "$unit" || fail "the unit's configuration directory is not pcp-transfer"
dpkg -L pcp-transfer | grep -q '^/etc/pcp\(/\|$\)' && fail "the package ships Performance Co-Pilot's /etc/pcp"
example=/usr/share/doc/pcp-transfer/examples/relay.conf.example
[ -f "$example" ] || fail "relay.conf.example not shipped"

# A transfer with the installed binary.
echo "from the package" >"$tmp/f.txt"
"$SRC/tests/interop/netns-lo.sh" bash -c '
    set -e
    pcp-transfer send --no-dht --code bubble-enemy-result-increase "$0/f.txt" >/dev/null 2>&1 &
    pcp-transfer receive --no-dht --yes --out "$0/got" bubble-enemy-result-increase 2>/dev/null
    wait $!' "$tmp" || fail "transfer with the installed pcp-transfer"
cmp "$tmp/f.txt" "$tmp/got/f.txt" || fail "transfer: content differs"

# The relay runs with the shipped example as its config file.
"$SRC/tests/interop/netns-lo.sh" bash -c '
    pcp-transfer relay --config "$0" --listen 127.0.0.1:9474 >"$1/relay.log" 2>&1 &
    for _ in $(seq 50); do grep -q listening "$1/relay.log" && break; sleep 0.1; done
    kill $!; wait $!' "$example" "$tmp" || true
grep -q 'listening on 127.0.0.1:9474' "$tmp/relay.log" ||
    fail "the relay does not start with the example config: $(cat "$tmp/relay.log")"

# The man page renders, under its installed name.
# (The file man finds by that name, rendered afresh: a formatted page that
# man-db cached from an earlier install would hide this package's page.)
manfile=$(man -w pcp-transfer) || fail "man finds no pcp-transfer page"
warn=$(MANWIDTH=80 man --warnings -l "$manfile" 2>&1 >/dev/null)
[ -z "$warn" ] || fail "man pcp-transfer warns: $warn"
page=$(MANWIDTH=80 man -l "$manfile" 2>/dev/null)
grep -q '^NAME' <<<"$page" || fail "man pcp-transfer shows no page"
grep -A1 '^NAME' <<<"$page" | grep -qE 'pcp-transfer +- +send files' ||
    fail "the man page's NAME is not pcp-transfer"
grep -A1 '^SYNOPSIS' <<<"$page" | grep -qE '^ +pcp-transfer send ' ||
    fail "the man page's SYNOPSIS does not name pcp-transfer"

# bash completion, loaded the way bash-completion finds it (by name).
got=$(bash -c '
    . /usr/share/bash-completion/bash_completion
    __load_completion pcp-transfer || exit 1
    COMP_WORDS=(pcp-transfer receive bubble-ene); COMP_CWORD=2
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
    $(complete -p pcp-transfer | sed "s/.*-F \([^ ]*\).*/\1/") pcp-transfer bubble-ene receive
    printf "%s " "${COMPREPLY[@]}"' 2>&1)
[ "$got" = "bubble-enemy bubble-energy " ] || fail "bash completion of pcp-transfer: '$got'"
echo PASS
