#!/usr/bin/env bash
# The Debian package: built with dpkg-buildpackage (packaging/deb.sh, which
# fails on any lintian error), installed into this machine with apt, then
# used: `pcp-transfer` sends and receives in a private namespace, its man
# page renders, its bash completion completes code words; removed again at
# the end. Installs into the system, so it runs only with PCP_TEST_DEB=1
# (CI) and as root.
set -euo pipefail
[ "${PCP_TEST_DEB:-0}" = 1 ] || { echo "SKIP: set PCP_TEST_DEB=1"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
SRC=${SRC:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/pcp-debtest.XXXXXX)
cleanup() {
    dpkg --purge pcp-transfer >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
deb=$("$SRC/packaging/deb.sh" "$tmp") || fail "the package did not build, or lintian found errors"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >"$tmp/apt.log" 2>&1 ||
    { tail -20 "$tmp/apt.log"; fail "apt-get install"; }
[ -x /usr/bin/pcp-transfer ] || fail "/usr/bin/pcp-transfer not installed"
dpkg -L pcp-transfer | grep -qx /usr/bin/pcp && fail "the package ships /usr/bin/pcp (Performance Co-Pilot's)"
[ -f /lib/systemd/system/pcp-relay.service ] || fail "no systemd unit"
grep -q '^ExecStart=/usr/bin/pcp-transfer relay' /lib/systemd/system/pcp-relay.service ||
    fail "the unit does not run /usr/bin/pcp-transfer"

# A transfer with the installed binary.
echo "from the package" >"$tmp/f.txt"
"$SRC/tests/interop/netns-lo.sh" bash -c '
    set -e
    pcp-transfer send --no-dht --code bubble-enemy-result-increase "$0/f.txt" >/dev/null 2>&1 &
    pcp-transfer receive --no-dht --yes --out "$0/got" bubble-enemy-result-increase 2>/dev/null
    wait $!' "$tmp" || fail "transfer with the installed pcp-transfer"
cmp "$tmp/f.txt" "$tmp/got/f.txt" || fail "transfer: content differs"

# The man page renders, under its installed name.
warn=$(MANWIDTH=80 man --warnings pcp-transfer 2>&1 >/dev/null)
[ -z "$warn" ] || fail "man pcp-transfer warns: $warn"
MANWIDTH=80 man pcp-transfer | grep -q '^NAME' || fail "man pcp-transfer shows no page"
MANWIDTH=80 man pcp-transfer | grep -A1 '^NAME' | grep -qE 'pcp-transfer +- +send files' ||
    fail "the man page's NAME is not pcp-transfer"

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
