#!/usr/bin/env bash
# 1000 pairs at once through one relay (relay_load, tests/bench/relay_load.c):
# 2 MiB each way per pair, every byte checked on arrival, every pair ends
# with both write halves shut down and EOF on both sides. Afterwards the
# relay holds no room, counted 1000 pairs and exactly the bytes sent, and
# still answers. Nothing here is timed.
. "$(dirname "$0")/lib.sh"
RELAY_LOAD=${RELAY_LOAD:?RELAY_LOAD must point at the relay_load binary}
rooms=1000
mib=2
# The relay holds 6 descriptors per pair (2 sockets, 2 pipes), relay_load 2.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((6 * rooms + 256)) ]; then
    echo "SKIP: open-file limit $(ulimit -n) is too low for $rooms pairs" >&2
    exit 77
fi
start_relay --per-ip-conns 0 --per-ip-rooms 0 --max-conns 100000 --max-rooms 100000
set +e
"$RELAY_LOAD" --check --timeout 300 --relay-pid "$RELAY_PID" "$RELAY" $rooms $mib \
    >"$WORK/load.out" 2>"$WORK/load.err"
rc=$?
set -e
cat "$WORK/load.out"
intact=$(awk '$1 == "pairs_intact" { print $2 }' "$WORK/load.out")
[ "$rc" -eq 0 ] || fail "relay_load exited $rc, $intact of $rooms pairs intact"
[ "$intact" = $rooms ] || fail "$intact of $rooms pairs intact"
kill -0 "$RELAY_PID" 2>/dev/null || fail "the relay died"

# Every pair saw EOF on both sides, so the relay has closed every room; the
# count reaches 0 at once (the loop only rides out a scheduling hiccup).
for _ in $(seq 1 100); do
    [ "$(metric pcp_relay_rooms)" = 0 ] && break
    sleep 0.1
done
[ "$(metric pcp_relay_rooms)" = 0 ] || fail "$(metric pcp_relay_rooms) room(s) left open"
[ "$(metric pcp_relay_rooms_paired)" = 0 ] || fail "$(metric pcp_relay_rooms_paired) paired"
[ "$(metric pcp_relay_pairs_total)" = $rooms ] ||
    fail "the relay counted $(metric pcp_relay_pairs_total) pairs, want $rooms"
want=$((2 * rooms * mib * 1024 * 1024))
[ "$(metric pcp_relay_bytes_total)" = $want ] ||
    fail "the relay moved $(metric pcp_relay_bytes_total) bytes, want $want"
health=$(http_get "$RELAY" /healthz | tr -d '\r' | tail -1)
[ "$health" = ok ] || fail "/healthz answered '$health'"
kill -0 "$RELAY_PID" 2>/dev/null || fail "the relay died"
echo PASS
