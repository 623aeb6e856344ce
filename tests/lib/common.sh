# shellcheck shell=bash
# common.sh - the shell helpers every kind of test script shares: a work
# directory removed on exit, fail(), waiting for a sender's code and for a
# relay's port, and the checks that skip a test (exit 77). Sourced by
# tests/e2e/lib.sh, tests/interop/lib.sh and tests/netns/lib.bash, never
# run. It defines functions only: it starts nothing and touches no network.

# pcp_workdir NAME: WORK, a fresh directory /tmp/pcp-NAME.XXXXXX, and the
# EXIT trap (cleanup) that removes it.
pcp_workdir() {
    WORK=$(mktemp -d "/tmp/pcp-$1.XXXXXX")
    trap cleanup EXIT
}

# cleanup: the EXIT trap. Ends the script's background jobs, runs the
# script's own on_cleanup when it defines one (namespaces to delete, jobs to
# wait for), then removes $WORK. A script with more to undo may set its own
# trap that ends by calling cleanup.
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    if declare -F on_cleanup >/dev/null; then
        on_cleanup
    fi
    [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

# fail MESSAGE: says FAIL: MESSAGE, shows the last 20 lines of each log in
# $WORK (the files FAIL_LOGS matches: space-separated patterns, by default
# "*.err *.json") and exits 1.
fail() {
    echo "FAIL: $*" >&2
    local pats p f
    read -ra pats <<<"${FAIL_LOGS:-*.err *.json}"
    for p in "${pats[@]}"; do
        for f in "${WORK:-/nonexistent}"/$p; do
            [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
        done
    done
    exit 1
}

# skip REASON: the test cannot run here (exit 77, which ctest counts as
# skipped).
skip() {
    echo "SKIP: $*"
    exit 77
}

# need_root: network namespaces need root; skip without it.
need_root() {
    [ "$(id -u)" -eq 0 ] || { echo "needs root for network namespaces"; exit 77; }
}

# need_tools TOOL...: skip unless every TOOL is installed.
need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "needs $t"; exit 77; }
    done
}

# need_private_netns WHO WHY: refuses to run (exit 2) outside a private
# namespace such as tests/interop/netns-lo.sh makes, which has no interface
# but lo: the tests multicast.
need_private_netns() {
    if ip -o link show | awk -F': ' '{ print $2 }' | grep -qvx lo; then
        echo "$1: run me through tests/interop/netns-lo.sh ($2)" >&2
        exit 2
    fi
}

# wait_code JSON [PID [PREFIX]]: waits up to 10 s for the code event of
# `pcp send --json` in the file JSON and sets CODE. Fails (the message
# starting with PREFIX) when the sender PID ends first or no code comes.
wait_code() {
    local json=$1 pid=${2:-} prefix=${3:-} _
    CODE=
    for _ in $(seq 1 200); do
        CODE=$(sed -n 's/.*"event":"code","code":"\([a-z-]*\)".*/\1/p' "$json")
        [ -n "$CODE" ] && return 0
        [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || fail "${prefix}sender exited before printing a code"
        sleep 0.05
    done
    fail "${prefix}sender printed no code"
}

# wait_relay_port ERR PID: waits up to 5 s for `pcp relay` (PID, its
# messages going to the file ERR) to say it listens; sets RELAY_PORT.
wait_relay_port() {
    local err=$1 pid=$2 _
    RELAY_PORT=
    for _ in $(seq 1 100); do
        RELAY_PORT=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$err")
        [ -n "$RELAY_PORT" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "relay exited: $(cat "$err")"
        sleep 0.05
    done
    fail "relay did not start"
}
