# lib.sh - shared helpers for the mDNS interop tests. Every test runs
# inside netns-lo.sh's private namespace; this file refuses to run outside
# one, since the tests multicast.
set -euo pipefail

# Only in a private namespace (netns-lo.sh): no interface but lo.
if ip -o link show | awk -F': ' '{ print $2 }' | grep -qvx lo; then
    echo "interop: run me through tests/interop/netns-lo.sh (I send multicast)" >&2
    exit 2
fi
MDNS_TOOL=${MDNS_TOOL:?MDNS_TOOL must point at mdns_tool}
INTEROP_DIR=${INTEROP_DIR:-$(dirname "$0")}
PY=/usr/bin/python3 # the Debian python, where python3-zeroconf lives
# Every mdns_tool of a test lives in one five-minute bucket (from its
# middle), so that a test that happens to span a real rollover sees none;
# the tests of the rollover make their own.
B=300000000000 # a bucket, in ns
export MDNS_TOOL_BUCKET=${MDNS_TOOL_BUCKET:-$(($(date +%s) / 300 * B))}
WORK=$(mktemp -d /tmp/pcp-interop.XXXXXX)
cleanup() {
    local pids
    pids=$(jobs -p)
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$WORK"/*; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}

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
