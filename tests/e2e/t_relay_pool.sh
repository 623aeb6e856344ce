#!/usr/bin/env bash
# A pool of relays. Both sides name the same three relays (each side in its
# own order) and nothing else connects them (--force-relay --no-dht). They
# order the list by a rendezvous hash of the code's channel and each URL
# (computed here again, in Python, so that the test knows which relay comes
# first), publish and look at the first that answers, and when the relay
# that carries a transfer dies or drains, both move to the next one and the
# transfer resumes by itself. Cases:
#   down     the first relay is down before the transfer (connection
#            refused): the transfer goes through the second, nothing
#            through the third;
#   hung     the first relay accepts connections and never answers
#            (SIGSTOP): the same, within bounded time;
#   kill     SIGKILL of the carrying relay half-way through 256 MiB (relays
#            slowed with --room-rate): the transfer completes byte-identical
#            through the second relay, resumed, not sent again;
#   drain    SIGTERM of the carrying relay (--drain 2): /metrics says
#            pcp_relay_draining 1, the transfer finishes or moves, and a new
#            transfer whose first relay is the draining one goes elsewhere;
#   wait     SIGTERM of the relay a sender waits at (no receiver yet): a
#            receiver that comes later finds the sender at the next relay.
# PCP_E2E_POOL_CASES picks cases (default all, in that order);
# PCP_E2E_POOL_LIMIT is the seconds a receiver may take (default 120).
. "$(dirname "$0")/lib.sh"
need_tools python3 curl timeout
WORDS=$(cd "$(dirname "$0")/../../wordlist" && pwd)/english.txt
LIMIT=${PCP_E2E_POOL_LIMIT:-120}
CASES=${PCP_E2E_POOL_CASES:-down hung kill drain wait}
MIB=$((1024 * 1024))
RELAY_PIDS=()
RELAYS=()

# The order both sides must compute: score(url) = the first 8 bytes, big
# endian, of BLAKE2b-256 keyed "pcp relay order" over the channel (2 bytes,
# big endian) and the canonical URL; highest first. `order CODE URL...`
# prints the URLs in that order; `code FIRST URL...` prints a fresh 4-word
# code whose order puts FIRST first ("-": any).
cat >"$WORK/order.py" <<'EOF'
import hashlib, secrets, sys

words = open(sys.argv[1]).read().split()


def score(channel, url):
    h = hashlib.blake2b(channel.to_bytes(2, "big") + url.encode(), digest_size=32,
                        key=b"pcp relay order")
    return int.from_bytes(h.digest()[:8], "big")


def order(channel, urls):
    return sorted(urls, key=lambda u: score(channel, u), reverse=True)


cmd, arg, urls = sys.argv[2], sys.argv[3], sys.argv[4:]
if cmd == "order":
    print("\n".join(order(words.index(arg.split("-")[0]), urls)))
else:
    while True:
        ch = secrets.randbelow(len(words))
        if arg == "-" or order(ch, urls)[0] == arg:
            break
    print("-".join([words[ch]] + [secrets.choice(words) for _ in range(3)]))
EOF
order_py() { python3 "$WORK/order.py" "$WORDS" "$@"; }

# urls: the http:// URLs of RELAYS, one a line.
urls() { printf 'http://%s\n' "${RELAYS[@]}"; }

# pool CODE: ORDER, RELAYS (HOST:PORT) in the order both sides try them for
# CODE; SLIST and RLIST, the --relay lists of the sender (as started) and
# of the receiver (reversed: the order given does not matter).
pool() {
    mapfile -t ORDER < <(order_py order "$1" "${RELAYS[@]/#/http://}" | sed 's|^http://||')
    SLIST=$RELAY_URLS
    RLIST=$(urls | tac | paste -sd,)
    echo "  code $1: relays in order ${ORDER[*]}"
}

# index_of HOSTPORT: the index in RELAYS of the relay at HOSTPORT;
# pid_of HOSTPORT: its pid.
index_of() {
    local i
    for i in "${!RELAYS[@]}"; do
        [ "${RELAYS[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    fail "no relay at $1"
}
pid_of() { echo "${RELAY_PIDS[$(index_of "$1")]}"; }

# stop_relays: the relays of the last case end (a stopped one too).
stop_relays() {
    local p
    for p in "${RELAY_PIDS[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
on_cleanup() { stop_relays; }

# go TAG CODE FILE: the sender (code CODE, --relay SLIST; go_send) and the
# receiver (--relay RLIST, into $WORK/TAG.out; go_recv) in the background,
# each killed after LIMIT s (the sender 30 s later); events in
# $WORK/TAG.send.json and $WORK/TAG.recv.json; sets SPID, RPID and T0 (the
# receiver's start).
go_send() {
    local tag=$1 code=$2 file=$3
    : >"$WORK/$tag.send.json"
    timeout $((LIMIT + 30)) "$PCP" send --json --no-compress --force-relay --no-dht \
        --relay "$SLIST" --code "$code" "$file" >"$WORK/$tag.send.json" 2>"$WORK/$tag.send.err" &
    SPID=$!
    wait_code "$WORK/$tag.send.json" "$SPID" "$tag: "
    [ "$CODE" = "$code" ] || fail "$tag: the sender printed $CODE for --code $code"
}
go_recv() {
    local tag=$1 code=$2
    T0=$EPOCHREALTIME
    : >"$WORK/$tag.recv.json"
    timeout "$LIMIT" "$PCP" receive --json --yes --force-relay --no-dht --relay "$RLIST" \
        --out "$WORK/$tag.out" "$code" >"$WORK/$tag.recv.json" 2>"$WORK/$tag.recv.err" &
    RPID=$!
}
go() {
    go_send "$1" "$2" "$3"
    go_recv "$1" "$2"
}

# reap TAG [SPID RPID]: waits for both; RRC and SRC their exit statuses, T1
# when the receiver ended. 124 is the timeout's; a sender still running
# 30 s after its receiver ended is killed (then 143).
reap() {
    local tag=$1 s=${2:-$SPID} r=${3:-$RPID} _
    set +e
    wait "$r"
    RRC=$?
    T1=$EPOCHREALTIME
    for _ in $(seq 1 300); do
        kill -0 "$s" 2>/dev/null || break
        sleep 0.1
    done
    kill "$s" 2>/dev/null
    wait "$s"
    SRC=$?
    set -e
    [ "$RRC" -ne 124 ] || fail "$tag: the receiver did not finish within $LIMIT s"
    [ "$RRC" -eq 0 ] && [ "$SRC" -eq 0 ] || fail "$tag: exit $RRC (receiver) / $SRC (sender)"
}

# secs FROM TO: TO - FROM, seconds with 2 decimals.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# path_peers JSON / conn_peers JSON: the peers of the receiver's path
# events / of the sender's connected events, one a line.
path_peers() { sed -n 's/.*"event":"path","path":"[a-z]*","peer":"\([^"]*\)".*/\1/p' "$1"; }
conn_peers() { sed -n 's/.*"event":"connected","peer":"\([^"]*\)".*/\1/p' "$1"; }
npath() { grep -c '"event":"path"' "$1" || true; }

# through TAG HOSTPORT: both sides of TAG say at the end that the relay at
# HOSTPORT carries the transfer.
through() {
    local r s
    r=$(path_peers "$WORK/$1.recv.json" | tail -1)
    s=$(conn_peers "$WORK/$1.send.json" | tail -1)
    [ "$r" = "relay $2" ] || fail "$1: the receiver's path is '$r', want 'relay $2'"
    [ "$s" = "relay $2" ] || fail "$1: the sender's peer is '$s', want 'relay $2'"
}

# part_size FILE: bytes in FILE now (0 when there is none).
part_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# wait_part TAG FILE MIN: waits until FILE holds MIN bytes or more, while
# the receiver runs.
wait_part() {
    local _
    for _ in $(seq 1 $((LIMIT * 20))); do
        [ "$(part_size "$2")" -ge "$3" ] && return 0
        kill -0 "$RPID" 2>/dev/null || fail "$1: the receiver ended before $3 bytes had arrived"
        sleep 0.05
    done
    fail "$1: $3 bytes never arrived"
}

# relay_failed TAG SIDE HOSTPORT LEFT: SIDE's events (send or recv) say it
# gave up the relay at HOSTPORT, LEFT relays left.
relay_failed() {
    grep -q "\"event\":\"relay_failed\",\"relay\":\"$3\",.*\"left\":$4}" "$WORK/$1.$2.json" ||
        fail "$1: no relay_failed event for $3 (left $4) from the $2 side"
}

# resumed JSON: the bytes of the last resume event in JSON.
resumed() { sed -n 's/.*"event":"resume","files":[0-9]*,"bytes":\([0-9]*\).*/\1/p' "$1" | tail -1; }

# moves TAG: how many relay_failed and relay_next events each side said.
moves() {
    local f n=()
    for f in recv send; do
        n+=("$(grep -c '"event":"relay_failed"' "$WORK/$1.$f.json" || true)"
            "$(grep -c '"event":"relay_next"' "$WORK/$1.$f.json" || true)")
    done
    echo "relay_failed/relay_next events: receiver ${n[0]}/${n[1]}, sender ${n[2]}/${n[3]}"
}

# small: a 4 MiB file for the cases where size does not matter.
head -c $((4 * MIB)) /dev/urandom >"$WORK/small.bin"

# 1. The first relay is down before the transfer.
case_down() {
    echo "down: the first relay refuses connections"
    start_relays 3
    local code
    code=$(order_py code - "${RELAYS[@]/#/http://}")
    pool "$code"
    local p0
    p0=$(pid_of "${ORDER[0]}")
    kill -9 "$p0"
    wait "$p0" 2>/dev/null || true
    go down "$code" "$WORK/small.bin"
    reap down
    cmp "$WORK/small.bin" "$WORK/down.out/small.bin" || fail "down: content differs"
    through down "${ORDER[1]}"
    [ "$(relay_metric "${ORDER[1]}" pcp_relay_pairs_total)" = 1 ] || fail "down: the second relay made no pair"
    [ "$(relay_metric "${ORDER[2]}" 'pcp_relay_requests_total{kind="put"}')" = 0 ] ||
        fail "down: the sender published at the third relay too"
    [ "$(relay_metric "${ORDER[2]}" pcp_relay_pairs_total)" = 0 ] || fail "down: the third relay made a pair"
    grep -q "\"event\":\"relay_next\",\"relay\":\"${ORDER[1]}\"" "$WORK/down.send.json" ||
        fail "down: the sender did not say it waits at the second relay"
    echo "  done in $(secs "$T0" "$T1") s through ${ORDER[1]}; $(moves down)"
    stop_relays
}

# 1b. The first relay hangs: it accepts connections (the kernel does) and
# never answers; the bounded timeouts move both sides on.
case_hung() {
    echo "hung: the first relay accepts and never answers"
    start_relays 3
    local code
    code=$(order_py code - "${RELAYS[@]/#/http://}")
    pool "$code"
    kill -STOP "$(pid_of "${ORDER[0]}")"
    go hung "$code" "$WORK/small.bin"
    reap hung
    cmp "$WORK/small.bin" "$WORK/hung.out/small.bin" || fail "hung: content differs"
    through hung "${ORDER[1]}"
    [ "$(relay_metric "${ORDER[2]}" pcp_relay_pairs_total)" = 0 ] || fail "hung: the third relay made a pair"
    echo "  done in $(secs "$T0" "$T1") s through ${ORDER[1]}; $(moves hung)"
    stop_relays
}

# 2. The carrying relay is killed half-way.
case_kill() {
    echo "kill: SIGKILL of the carrying relay half-way through 256 MiB"
    local size=$((256 * MIB)) part=$WORK/kill.out/big.bin.pcp-part code at tk tm resumed carried p
    start_relays 3 --room-rate 40M
    code=$(order_py code - "${RELAYS[@]/#/http://}")
    pool "$code"
    go kill "$code" "$WORK/big.bin"
    wait_part kill "$part" $((size / 2))
    p=$(path_peers "$WORK/kill.recv.json" | head -1)
    [ "$p" = "relay ${ORDER[0]}" ] || fail "kill: the transfer began through '$p', want relay ${ORDER[0]}"
    p=$(pid_of "${ORDER[0]}")
    kill -9 "$p"
    tk=$EPOCHREALTIME
    wait "$p" 2>/dev/null || true
    at=$(part_size "$part")
    tm=
    while kill -0 "$RPID" 2>/dev/null; do
        if [ "$(npath "$WORK/kill.recv.json")" -ge 2 ]; then
            tm=$EPOCHREALTIME
            break
        fi
        sleep 0.05
    done
    reap kill
    cmp "$WORK/big.bin" "$WORK/kill.out/big.bin" || fail "kill: content differs"
    [ ! -e "$part" ] || fail "kill: the .pcp-part outlived the transfer"
    [ -n "$tm" ] || fail "kill: no second path event"
    relay_failed kill recv "${ORDER[0]}" 2
    relay_failed kill send "${ORDER[0]}" 2
    through kill "${ORDER[1]}"
    resumed=$(resumed "$WORK/kill.recv.json")
    [ "${resumed:-0}" -gt 0 ] || fail "kill: the receiver resumed nothing (resume: '${resumed}')"
    [ "$(resumed "$WORK/kill.send.json")" = "$resumed" ] ||
        fail "kill: the sender resumed '$(resumed "$WORK/kill.send.json")' bytes, the receiver $resumed"
    # What had arrived is not sent again: the second relay carried about
    # the rest only (both directions, with the protocol's overhead).
    carried=$(relay_metric "${ORDER[1]}" pcp_relay_bytes_total)
    [ -n "$carried" ] && [ "$carried" -le $((size - at + 32 * MIB)) ] ||
        fail "kill: the second relay carried ${carried:-?} bytes; $at of $size had arrived before"
    echo "  killed at $at of $size bytes; resumed $resumed; the second relay carried $carried bytes"
    echo "  moved in $(secs "$tk" "$tm") s (kill to the new path); total $(secs "$T0" "$T1") s"
    stop_relays
    rm -rf "$WORK/kill.out"
}

# 3. The carrying relay drains.
case_drain() {
    echo "drain: SIGTERM of the carrying relay (--drain 2) mid-way"
    local size=$((256 * MIB)) part=$WORK/drain.out/big.bin.pcp-part code code2 p0 t0 td t2 d s1 r1 state
    start_relays 3 --room-rate 40M --drain 2
    code=$(order_py code - "${RELAYS[@]/#/http://}")
    pool "$code"
    [ "$(relay_metric "${ORDER[0]}" pcp_relay_draining)" = 0 ] || fail "drain: pcp_relay_draining is not 0 before"
    go drain "$code" "$WORK/big.bin"
    s1=$SPID
    r1=$RPID
    t0=$T0
    wait_part drain "$part" $((size / 4))
    p0=$(pid_of "${ORDER[0]}")
    kill -TERM "$p0"
    td=$EPOCHREALTIME
    sleep 0.2
    d=$(relay_metric "${ORDER[0]}" pcp_relay_draining)
    [ "$d" = 1 ] || fail "drain: pcp_relay_draining is '$d' right after SIGTERM, want 1"
    # A new transfer whose first relay is the draining one.
    local first=${ORDER[0]}
    code2=$(order_py code "http://$first" "${RELAYS[@]/#/http://}")
    pool "$code2"
    [ "${ORDER[0]}" = "$first" ] || fail "drain: order.py picked a wrong code"
    grep -q stopped "$WORK/relay$(index_of "$first").err" && state=gone || state=draining
    t2=$EPOCHREALTIME
    go drain2 "$code2" "$WORK/small.bin"
    reap drain2
    cmp "$WORK/small.bin" "$WORK/drain2.out/small.bin" || fail "drain: the new transfer's content differs"
    through drain2 "${ORDER[1]}"
    echo "  new transfer (started $(secs "$td" "$t2") s after SIGTERM, first relay $state):" \
        "done in $(secs "$t2" "$T1") s through ${ORDER[1]}; $(moves drain2)"
    pool "$code"
    reap drain "$s1" "$r1"
    cmp "$WORK/big.bin" "$WORK/drain.out/big.bin" || fail "drain: content differs"
    if grep -q '"event":"relay_failed"' "$WORK/drain.recv.json"; then
        relay_failed drain recv "$first" 2
        relay_failed drain send "$first" 2
        through drain "${ORDER[1]}"
        echo "  the transfer moved to ${ORDER[1]}; resumed $(resumed "$WORK/drain.recv.json")" \
            "bytes; total $(secs "$t0" "$T1") s"
    else
        through drain "$first"
        echo "  the transfer finished through the draining relay in $(secs "$t0" "$T1") s"
    fi
    # The drained relay is gone, and says it exits 0.
    set +e
    wait "$p0"
    d=$?
    set -e
    [ "$d" -eq 0 ] || fail "drain: the drained relay exited $d"
    stop_relays
}

# 3b. A sender waits at the first relay, which drains (SIGTERM) before any
# receiver came: the sender moves on, and a receiver that comes later
# finds it at the next relay.
case_wait() {
    echo "wait: SIGTERM of the relay a sender waits at, before the receiver comes"
    local code p0 td d
    start_relays 3 --drain 2
    code=$(order_py code - "${RELAYS[@]/#/http://}")
    pool "$code"
    go_send wait "$code" "$WORK/small.bin"
    sleep 1
    p0=$(pid_of "${ORDER[0]}")
    kill -TERM "$p0"
    td=$EPOCHREALTIME
    set +e
    wait "$p0"
    d=$?
    set -e
    [ "$d" -eq 0 ] || fail "wait: the drained relay exited $d"
    echo "  the drained relay exited $(secs "$td" "$EPOCHREALTIME") s after SIGTERM"
    sleep 1
    go_recv wait "$code"
    reap wait
    cmp "$WORK/small.bin" "$WORK/wait.out/small.bin" || fail "wait: content differs"
    through wait "${ORDER[1]}"
    echo "  done in $(secs "$T0" "$T1") s through ${ORDER[1]}; $(moves wait)"
    stop_relays
}

for c in $CASES; do
    case $c in
    kill | drain) [ -e "$WORK/big.bin" ] || head -c $((256 * MIB)) /dev/urandom >"$WORK/big.bin" ;;
    esac
    "case_$c"
done
echo PASS
