#!/usr/bin/env bash
# Hostile and broken clients (relay_abuse.py): garbage and oversized
# requests, slowloris, too many connections from one address, a third
# peer, a peer that speaks early, peers that never arrive, idle and
# half-open pairs, the byte cap, many waiting peers. After each the relay
# still serves others, and a real transfer through it still works. Then
# squatting: one IPv6 /64 cannot fill a bucket's keys, a second sender
# shares a key, and a stranger who joins a waiting sender's room and says
# nothing is dropped within seconds while a real receiver gets the file.
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

# Squatting, against a relay with the default limits on every address.
# Two /64s whose every address is local to lo (binding them needs
# nonlocal_bind: they are routes, not addresses); a private namespace.
ip -6 route add local 2001:db8:bad::/64 dev lo
ip -6 route add local 2001:db8:600d::/64 dev lo
sysctl -qw net.ipv6.ip_nonlocal_bind=1
start_relay --listen 0
for s in prefix_squat two_senders; do
    echo "== $s"
    "$PY" "$(dirname "$0")/relay_abuse.py" "$RELAY" "$RELAY_PID" "$s" || fail "scenario $s"
done
[ "$(metric 'pcp_relay_refused_total{reason="limit"}')" -ge 2000 ] || fail "the /64's refusals not counted"

echo "== squat"
start_sender --relay "$RELAY" --force-relay "$WORK/f"
"$PY" "$(dirname "$0")/relay_abuse.py" "$RELAY" "$RELAY_PID" squat "$CODE" >"$WORK/squat.err" 2>&1 &
SQUAT_PID=$!
for _ in $(seq 1 300); do
    grep -q '^joined' "$WORK/squat.err" && break
    kill -0 "$SQUAT_PID" 2>/dev/null || break
    sleep 0.1
done
grep -q '^joined' "$WORK/squat.err" || fail "the stranger did not join: $(cat "$WORK/squat.err")"
receive --relay "$RELAY" --force-relay --yes --out "$WORK/out2" "$CODE"
wait "$SQUAT_PID" || fail "squat: $(cat "$WORK/squat.err")"
cat "$WORK/squat.err"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "transfer past a squatter: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out2/f" || fail "content differs past a squatter"
[ "$(metric 'pcp_relay_closed_total{reason="silent"}')" -ge 1 ] || fail "no silent pair counted"
echo PASS
