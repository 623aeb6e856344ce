#!/usr/bin/env bash
# Found through the relay, then direct: the sender waits only at the relay
# (--force-relay), the receiver finds it there, both prove the code through
# the relay and then connect directly (here on loopback, so `direct`: no
# NAT in between); the sender reports the same path. With --force-relay on
# the receiver too, the transfer stays on the relay.
. "$(dirname "$0")/lib.sh"
start_relay
head -c 3000000 /dev/urandom >"$WORK/f"
start_sender --relay "$RELAY" --force-relay "$WORK/f"
receive --relay "$RELAY" --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "direct: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "direct: content differs"
grep -q '"event":"path","path":"direct","peer":"127.0.0.1:[0-9]*","attempts":[1-9]' \
    "$WORK/receiver.json" || fail "receiver did not go direct"
grep -q '"event":"connected","peer":"127.0.0.1:[0-9]*","path":"direct"' "$WORK/sender.json" ||
    fail "sender did not go direct"
grep -q '"event":"done".*"path":"direct"' "$WORK/receiver.json" || fail "done not direct"
[ "$(metric pcp_relay_punch_meetings_total)" = 1 ] || fail "the relay saw no punch meeting"

rm -rf "$WORK/out"
start_sender --relay "$RELAY" --force-relay "$WORK/f"
receive --relay "$RELAY" --force-relay --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "relayed: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "relayed: content differs"
grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "did not stay relayed"
grep -q '"event":"connected".*"path":"relayed"' "$WORK/sender.json" || fail "sender not relayed"
[ "$(metric pcp_relay_punch_meetings_total)" = 1 ] || fail "a punch was tried with --force-relay"
echo PASS
