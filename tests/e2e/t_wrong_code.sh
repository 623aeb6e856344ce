#!/usr/bin/env bash
# A wrong code fails fast on the receiver; the sender survives it and
# still serves the right receiver, after three wrong tries too.
. "$(dirname "$0")/lib.sh"
echo hello >"$WORK/f"
start_sender "$WORK/f"
bad=$(wrong_code "$CODE")
start=$(date +%s)
receive --yes --out "$WORK/bad" "$bad"
[ "$RECV_RC" -eq 3 ] || fail "wrong code: receiver exit $RECV_RC, want 3"
[ $(($(date +%s) - start)) -le 10 ] || fail "wrong code took too long"
grep -q '"code":"wrong_code"' "$WORK/receiver.json" || fail "no wrong_code error event"
[ ! -e "$WORK/bad/f" ] || fail "file written with a wrong code"
kill -0 "$SENDER_PID" || fail "sender died after one wrong attempt"
receive --yes --out "$WORK/good" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "right code after a wrong one: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/good/f" || fail "content differs"

# Three wrong tries from one address: each still gets its answer (the
# sender holds the next one for its back-off: 2 s, then 4 s), and the send
# goes on to the right receiver (t_strangers.sh covers the bound).
start_sender "$WORK/f"
bad=$(wrong_code "$CODE")
for i in 1 2 3; do
    receive --yes --out "$WORK/bad" "$bad"
    [ "$RECV_RC" -eq 3 ] || fail "try $i: receiver exit $RECV_RC"
done
kill -0 "$SENDER_PID" || fail "sender stopped after three wrong codes"
for _ in $(seq 1 50); do # the sender counts the last one a moment later
    [ "$(grep -c '"event":"wrong_code"' "$WORK/sender.json")" -eq 3 ] && break
    sleep 0.1
done
[ "$(grep -c '"event":"wrong_code"' "$WORK/sender.json")" -eq 3 ] || fail "want 3 wrong_code events"
receive --yes --out "$WORK/good2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "right code after three wrong: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/good2/f" || fail "content differs"
echo PASS
