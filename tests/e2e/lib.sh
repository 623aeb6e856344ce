# lib.sh - shared helpers for the end-to-end tests. Each test runs inside a
# fresh network namespace (see tests/interop/netns-lo.sh), so mDNS stays on
# that namespace's loopback and never reaches a real interface. What every
# kind of test shares (fail, cleanup, waiting for a code or a relay) is in
# tests/lib/common.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

need_private_netns e2e "pcp multicasts mDNS"
PCP=${PCP:?PCP must point at the pcp binary}
pcp_workdir e2e

# start_sender [send options and paths]: runs `pcp send --json` in the
# background, its standard input from $SEND_STDIN (default /dev/null); sets
# SENDER_PID and CODE.
start_sender() {
    # The file exists before the loop below reads it (the redirect of a
    # job in the background may come later).
    : >"$WORK/sender.json"
    "$PCP" send --json "$@" <"${SEND_STDIN:-/dev/null}" >"$WORK/sender.json" 2>"$WORK/sender.err" &
    SENDER_PID=$!
    wait_code "$WORK/sender.json" "$SENDER_PID"
}

# wait_sender: the sender's exit status, in $SENDER_RC. A sender still
# running after 300 s is a failure (it would otherwise wait forever).
wait_sender() {
    local i
    for i in $(seq 1 3000); do
        kill -0 "$SENDER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SENDER_PID" 2>/dev/null; then
        kill "$SENDER_PID"
        fail "the sender was still waiting 300 s later (receiver exit ${RECV_RC:-none})"
    fi
    set +e
    wait "$SENDER_PID"
    SENDER_RC=$?
    set -e
}

# receive [options]: runs `pcp receive --json`, status in $RECV_RC.
receive() {
    set +e
    "$PCP" receive --json "$@" >"$WORK/receiver.json" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
}

# A code with the same channel word and a different password.
wrong_code() {
    local first rest w2
    first=${1%%-*}
    rest=${1#*-}
    w2=${rest%%-*}
    if [ "$w2" = abandon ]; then w2=ability; else w2=abandon; fi
    echo "$first-$w2-${rest#*-}"
}

digest() { sha256sum "$1" | cut -d' ' -f1; }

# start_relay [relay options]: runs `pcp relay` on a free loopback port in
# the background; sets RELAY_PID and RELAY (127.0.0.1:PORT).
start_relay() {
    : >"$WORK/relay.err" # read below before the job's own redirect may have made it
    "$PCP" relay --listen 127.0.0.1:0 "$@" 2>"$WORK/relay.err" &
    RELAY_PID=$!
    wait_relay_port "$WORK/relay.err" "$RELAY_PID"
    RELAY=127.0.0.1:$RELAY_PORT
}

# http_get HOSTPORT PATH: the response (head and body) of a plain GET.
http_get() {
    local hp=$1
    exec 9<>"/dev/tcp/${hp%:*}/${hp##*:}"
    printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$2" >&9
    cat <&9
    exec 9<&-
}

# metric NAME: a value from the relay's /metrics.
metric() {
    http_get "$RELAY" /metrics | tr -d '\r' | awk -v n="$1" '$1 == n { print $2 }'
}

# start_relays N [relay options]: N relays on free loopback ports, started
# as start_relay starts one, relay I's messages in $WORK/relayI.err (I from
# 0); sets the arrays RELAY_PIDS and RELAYS (127.0.0.1:PORT each) and
# RELAY_URLS, their http:// URLs joined by commas (a --relay list).
start_relays() {
    local n=$1 i pid
    shift
    RELAY_PIDS=()
    RELAYS=()
    for ((i = 0; i < n; i++)); do
        : >"$WORK/relay$i.err"
        "$PCP" relay --listen 127.0.0.1:0 "$@" 2>"$WORK/relay$i.err" &
        pid=$!
        wait_relay_port "$WORK/relay$i.err" "$pid"
        RELAY_PIDS+=("$pid")
        RELAYS+=("127.0.0.1:$RELAY_PORT")
    done
    RELAY_URLS=$(printf 'http://%s,' "${RELAYS[@]}")
    RELAY_URLS=${RELAY_URLS%,}
}

# relay_metric HOSTPORT NAME: a value from that relay's /metrics; nothing
# when the relay does not answer within 2 s.
relay_metric() {
    curl -s --noproxy '*' --max-time 2 "http://$1/metrics" 2>/dev/null | tr -d '\r' |
        awk -v n="$2" '$1 == n { print $2 }' || true
}
