#!/usr/bin/env bash
# Ctrl-C in the middle of a transfer, on either side: the interrupted side
# exits 5, the other side fails with a clear error, and no file exists under
# its final name unless it is complete. The loopback is slowed to 200 Mbit/s
# (tc tbf, inside this test's own namespace) so the interrupt lands mid-way.
. "$(dirname "$0")/lib.sh"
tc qdisc add dev lo root tbf rate 200mbit burst 256kb latency 50ms
head -c $((48 * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"

# wait_bytes FILE: until a JSON progress event shows some bytes moved.
wait_bytes() {
    for _ in $(seq 1 200); do
        grep -q '"event":"progress","bytes":[1-9]' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "no progress seen in $1"
}

# 1. The receiver is interrupted.
start_sender --no-compress "$WORK/big.bin"
"$PCP" receive --json --yes --out "$WORK/out1" "$CODE" >"$WORK/receiver.json" 2>"$WORK/receiver.err" &
rpid=$!
wait_bytes "$WORK/receiver.json"
kill -INT "$rpid"
set +e
wait "$rpid"
RECV_RC=$?
set -e
wait_sender
[ "$RECV_RC" -eq 5 ] || fail "interrupted receiver: exit $RECV_RC, want 5"
grep -q '"code":"cancelled"' "$WORK/receiver.json" || fail "no cancelled event"
[ "$SENDER_RC" -ne 0 ] || fail "sender claimed success for an interrupted transfer"
[ ! -e "$WORK/out1/big.bin" ] || fail "partial file under its final name (receiver interrupted)"

# 2. The sender is interrupted.
start_sender --no-compress "$WORK/big.bin"
"$PCP" receive --json --yes --out "$WORK/out2" "$CODE" >"$WORK/receiver.json" 2>"$WORK/receiver.err" &
rpid=$!
wait_bytes "$WORK/receiver.json"
kill -INT "$SENDER_PID"
wait_sender
set +e
wait "$rpid"
RECV_RC=$?
set -e
[ "$SENDER_RC" -eq 5 ] || fail "interrupted sender: exit $SENDER_RC, want 5"
[ "$RECV_RC" -eq 7 ] || fail "receiver of an interrupted sender: exit $RECV_RC, want 7"
grep -q '"event":"error"' "$WORK/receiver.json" || fail "receiver gave no error event"
[ ! -e "$WORK/out2/big.bin" ] || fail "partial file under its final name (sender interrupted)"
echo PASS
