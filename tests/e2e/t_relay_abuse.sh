#!/usr/bin/env bash
# Hostile and broken clients (relay_abuse.py): garbage and oversized
# requests, slowloris, too many connections from one address, a third
# peer, a peer that speaks early, peers that never arrive, idle and
# half-open pairs, the byte cap, many waiting peers. After each the relay
# still serves others, and a real transfer through it still works.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)
ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
start_relay --request-timeout 2 --arrival-timeout 2 --idle-timeout 2 --per-ip-conns 20 \
    --room-bytes 20M
for s in garbage oversized slowloris per_ip third_peer early_speaker no_peer idle_pair \
    half_open slow_reader byte_cap many_lone; do
    echo "== $s"
    "$PY" "$(dirname "$0")/relay_abuse.py" "$RELAY" "$RELAY_PID" "$s" || fail "scenario $s"
    kill -0 "$RELAY_PID" 2>/dev/null || fail "the relay died in $s"
done
[ "$(metric 'pcp_relay_closed_total{reason="no_peer"}')" -ge 1 ] || fail "no arrival-deadline close counted"
[ "$(metric 'pcp_relay_closed_total{reason="idle"}')" -ge 1 ] || fail "no idle close counted"
[ "$(metric 'pcp_relay_closed_total{reason="byte_cap"}')" -ge 1 ] || fail "no byte-cap close counted"

# After all that, a real transfer.
head -c 100000 /dev/urandom >"$WORK/f"
start_sender --relay "$RELAY" --force-relay "$WORK/f"
receive --relay "$RELAY" --force-relay --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "transfer after abuse: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "content differs"
echo PASS
