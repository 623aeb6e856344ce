#!/usr/bin/env bash
# A wrong code fails fast on the receiver; the sender survives it, still
# serves the right receiver, and gives up after three wrong tries.
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

# Three wrong tries: the sender stops and says someone may be guessing.
start_sender "$WORK/f"
bad=$(wrong_code "$CODE")
for i in 1 2 3; do
    receive --yes --out "$WORK/bad" "$bad"
    [ "$RECV_RC" -eq 3 ] || fail "try $i: receiver exit $RECV_RC"
done
wait_sender
[ "$SENDER_RC" -eq 3 ] || fail "sender exit $SENDER_RC after three wrong codes, want 3"
grep -q 'guessing' "$WORK/sender.err" || fail "sender did not warn about guessing"
echo PASS
