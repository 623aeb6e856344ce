#!/usr/bin/env bash
# One file, then an empty file, each checked byte for byte; JSON events seen;
# the done event's wire bytes: more than the file when it cannot shrink,
# far fewer when it is compressed.
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
wire_of() { sed -n 's/.*"event":"done".*"wire":\([0-9]*\).*/\1/p' "$1"; }
for side in sender receiver; do
    w=$(wire_of "$WORK/$side.json")
    [ -n "$w" ] && [ "$w" -gt 123457 ] || fail "$side: wire bytes '$w' for 123457 random bytes"
done

# 4 MiB of text, compressed on request: both sides count the same few bytes.
for i in $(seq 1 40000); do echo "line $((i % 97)) of the same few words"; done >"$WORK/text.txt"
size=$(stat -c %s "$WORK/text.txt")
start_sender --compress "$WORK/text.txt"
receive --yes --out "$WORK/out3" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "text: $RECV_RC/$SENDER_RC"
cmp "$WORK/text.txt" "$WORK/out3/text.txt" || fail "text differs"
ws=$(wire_of "$WORK/sender.json") wr=$(wire_of "$WORK/receiver.json")
[ -n "$ws" ] && [ "$ws" = "$wr" ] || fail "wire bytes: sender '$ws', receiver '$wr'"
[ "$ws" -lt $((size / 4)) ] || fail "text not compressed: $ws wire bytes for $size"

: >"$WORK/empty"
start_sender "$WORK/empty"
receive --yes --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "empty file: $RECV_RC/$SENDER_RC"
[ -f "$WORK/out2/empty" ] && [ ! -s "$WORK/out2/empty" ] || fail "empty file not received"
echo PASS
