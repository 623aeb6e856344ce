# lib.bash - sourced by the netns tests (not a test itself: CMake runs
# only *.sh). Each test defines fail() and sets PCP before sourcing it.
# With NS_TIMEOUT set, each pcp is killed after that many seconds.

# ns_send NS JSON ERR ARGS...: `pcp send --json ARGS` in namespace NS in
# the background, its events into JSON and its messages into ERR; sets
# SPID and CODE, or fails when no code came within 5 s.
ns_send() {
    local ns=$1 json=$2 err=$3
    shift 3
    : >"$json" # read below before the job's own redirect may have made it
    ip netns exec "$ns" ${NS_TIMEOUT:+timeout "$NS_TIMEOUT"} "$PCP" send --json "$@" \
        >"$json" 2>"$err" &
    SPID=$!
    CODE=
    for _ in $(seq 1 100); do
        CODE=$(sed -n 's/.*"event":"code","code":"\([a-z-]*\)".*/\1/p' "$json")
        [ -n "$CODE" ] && return 0
        sleep 0.05
    done
    fail "no code in $json"
}

# ns_receive NS JSON ERR ARGS...: `pcp receive --json --yes ARGS` in NS
# with the code in PCP_CODE (so not in the process list), then the
# sender's end: sets RRC and SRC. A receiver that failed leaves the sender
# waiting for another, so the sender is ended then.
ns_receive() {
    local ns=$1 json=$2 err=$3
    shift 3
    set +e
    PCP_CODE=$CODE ip netns exec "$ns" ${NS_TIMEOUT:+timeout "$NS_TIMEOUT"} "$PCP" receive \
        --json --yes "$@" >"$json" 2>"$err"
    RRC=$?
    [ $RRC -eq 0 ] || kill "$SPID" 2>/dev/null
    wait "$SPID"
    SRC=$?
    set -e
}

# ns_link_ready NS IP: waits for NS's eth0 IPv6 link-local address to leave
# the tentative state, then checks that IP answers a ping from NS.
ns_link_ready() {
    for _ in $(seq 1 50); do
        ip -n "$1" -6 addr show dev eth0 | grep -q tentative || break
        sleep 0.1
    done
    ip netns exec "$1" ping -c1 -W2 "$2" >/dev/null || fail "$2 does not answer from $1"
}
