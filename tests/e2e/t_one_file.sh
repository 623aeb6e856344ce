#!/usr/bin/env bash
# One file, then an empty file, each checked byte for byte; JSON events seen.
. "$(dirname "$0")/lib.sh"
head -c 123457 /dev/urandom >"$WORK/sample.bin"
start_sender "$WORK/sample.bin"
PCP_CODE=$CODE receive --yes --out "$WORK/out"
wait_sender
[ "$RECV_RC" -eq 0 ] || fail "receiver exit $RECV_RC"
[ "$SENDER_RC" -eq 0 ] || fail "sender exit $SENDER_RC"
cmp "$WORK/sample.bin" "$WORK/out/sample.bin" || fail "content differs"
grep -q '"event":"offer".*"files":1,"bytes":123457' "$WORK/receiver.json" || fail "no offer event"
grep -q '"event":"path","path":"lan"' "$WORK/receiver.json" || fail "no path event"
grep -q '"event":"done"' "$WORK/sender.json" || fail "sender reported no done"
[ -z "$(find "$WORK/out" -name '*.pcp-part')" ] || fail "part file left"

: >"$WORK/empty"
start_sender "$WORK/empty"
receive --yes --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "empty file: $RECV_RC/$SENDER_RC"
[ -f "$WORK/out2/empty" ] && [ ! -s "$WORK/out2/empty" ] || fail "empty file not received"
echo PASS
