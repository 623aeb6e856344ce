# lib.sh - shared helpers for the mDNS interop tests. Every test runs
# inside netns-lo.sh's private namespace; this file refuses to run outside
# one, since the tests multicast. What every kind of test shares is in
# tests/lib/common.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

need_private_netns interop "I send multicast"
MDNS_TOOL=${MDNS_TOOL:?MDNS_TOOL must point at mdns_tool}
INTEROP_DIR=${INTEROP_DIR:-$(dirname "$0")}
PY=/usr/bin/python3 # the Debian python, where python3-zeroconf lives
# Every mdns_tool of a test lives in one five-minute bucket (from its
# middle), so that a test that happens to span a real rollover sees none;
# the tests of the rollover make their own.
B=300000000000 # a bucket, in ns
export MDNS_TOOL_BUCKET=${MDNS_TOOL_BUCKET:-$(($(date +%s) / 300 * B))}
pcp_workdir interop
FAIL_LOGS='*' # fail shows every file of $WORK
# The responders and listeners still running are waited for after the kill.
on_cleanup() { wait 2>/dev/null || true; }

need_zeroconf() {
    if ! "$PY" -c 'import zeroconf' 2>/dev/null; then
        echo "SKIP: $PY cannot import zeroconf (apt install python3-zeroconf)" >&2
        exit 77
    fi
}

# start_responder TAG CHANNEL PORT [SECONDS]: mdns_tool announce in the
# background, output in $WORK/TAG.out; waits until it is ready and sets
# RESP_PID.
start_responder() {
    local tag=$1
    shift
    "$MDNS_TOOL" announce "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" &
    RESP_PID=$!
    for _ in $(seq 1 100); do
        grep -q ready "$WORK/$tag.out" 2>/dev/null && return 0
        kill -0 "$RESP_PID" 2>/dev/null || fail "responder $tag exited early"
        sleep 0.05
    done
    fail "responder $tag not ready"
}
