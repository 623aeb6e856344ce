#!/usr/bin/env bash
# A source file that changes while it is being sent: the sender notices
# (its size and mtime are checked again every 16 MiB and at the end), both sides
# stop with a clear message, and nothing gets a final name. Sent again, the
# receiver's .pcp-part is tied to the offer it came from (the file's size
# and mtime): a changed file, whether the change is inside the part already
# received or after it (here the file grew), starts over; either way the
# file that arrives is the new one.
# The loopback is slowed (tc tbf, in this test's own namespace) so that the
# change lands mid-way.
. "$(dirname "$0")/lib.sh"
tc qdisc add dev lo root tbf rate 200mbit burst 256kb latency 50ms
size=$((64 * 1024 * 1024))
src="$WORK/src.bin"
part="$WORK/out/src.bin.pcp-part"
part_size() { stat -c %s "$part" 2>/dev/null || echo 0; }

# change_midway CMD: start a transfer, run CMD once 4 MiB have arrived, and
# check that both sides stop without promoting anything.
change_midway() {
    start_sender --no-compress "$src"
    "$PCP" receive --json --yes --out "$WORK/out" "$CODE" >"$WORK/receiver.json" \
        2>"$WORK/receiver.err" &
    local rpid=$!
    for _ in $(seq 1 1000); do
        [ "$(part_size)" -ge $((4 * 1024 * 1024)) ] && break
        kill -0 "$rpid" 2>/dev/null || fail "the receiver ended before the change"
        sleep 0.01
    done
    eval "$1"
    set +e
    wait "$rpid"
    RECV_RC=$?
    set -e
    wait_sender
    [ "$SENDER_RC" -eq 6 ] || fail "sender exit $SENDER_RC, want 6 (i/o)"
    [ "$RECV_RC" -ne 0 ] || fail "the receiver succeeded with a changed file"
    grep -q '"message":"a file changed while it was being sent' "$WORK/sender.json" ||
        fail "sender: no message about the change"
    grep -q 'changed while it was being sent' "$WORK/receiver.json" ||
        fail "receiver: the sender's reason not shown"
    [ ! -e "$WORK/out/src.bin" ] || fail "a changed file was promoted"
    [ "$(part_size)" -gt 0 ] || fail "what arrived was not kept"
}

# send_again WANT_RESUMED: the new content arrives whole.
send_again() {
    start_sender --no-compress "$src"
    receive --yes --out "$WORK/out" "$CODE"
    wait_sender
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "again: exit $RECV_RC/$SENDER_RC"
    cmp "$src" "$WORK/out/src.bin" || fail "the file that arrived is not the new content"
    local resumed
    resumed=$(sed -n 's/.*"event":"resume","files":1,"bytes":\([0-9]*\).*/\1/p' "$WORK/sender.json")
    [ "${resumed:-0}" -eq "$1" ] || fail "resumed ${resumed:-0} bytes, want $1"
    rm -rf "$WORK/out"
}

# 1. one byte rewritten in place, inside what was already sent
head -c "$size" /dev/urandom >"$src"
change_midway 'printf X | dd of="$src" bs=1 seek=1000 conv=notrunc status=none'
send_again 0
echo "rewritten in place: detected; sent again from the start"

# 2. the file grows while it is sent: what arrived is still a prefix
head -c "$size" /dev/urandom >"$src"
change_midway 'head -c 1000 /dev/urandom >>"$src"'
have=$(part_size)
# The sender looks again every 16 MiB, not only at the end of the file:
# changed at 4 MiB received, it stops well before the end.
[ "$have" -le $((size * 3 / 4)) ] || fail "noticed only after $have of $size bytes"
send_again 0
echo "grown: detected; sent again from the start (the part was $have bytes)"
echo PASS
