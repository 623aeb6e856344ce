#!/usr/bin/env bash
# The receiver declines (no terminal to ask on and no --yes); an existing
# file is never overwritten, and is with --overwrite.
. "$(dirname "$0")/lib.sh"
echo new >"$WORK/f"
start_sender "$WORK/f"
set +e
setsid "$PCP" receive --out "$WORK/out" "$CODE" </dev/null >"$WORK/receiver.json" 2>"$WORK/receiver.err"
RECV_RC=$?
set -e
wait_sender
[ "$RECV_RC" -eq 4 ] || fail "declined: receiver exit $RECV_RC, want 4"
[ "$SENDER_RC" -eq 4 ] || fail "declined: sender exit $SENDER_RC, want 4"
[ ! -e "$WORK/out/f" ] || fail "declined offer wrote a file"

mkdir -p "$WORK/out2"
echo old >"$WORK/out2/f"
start_sender "$WORK/f"
receive --yes --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 9 ] || fail "existing file: receiver exit $RECV_RC, want 9"
[ "$SENDER_RC" -eq 4 ] || fail "existing file: sender exit $SENDER_RC, want 4"
[ "$(cat "$WORK/out2/f")" = old ] || fail "existing file was overwritten"
grep -q 'already exists' "$WORK/receiver.err" || fail "no clear message"

start_sender "$WORK/f"
receive --yes --overwrite --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "overwrite: $RECV_RC/$SENDER_RC"
[ "$(cat "$WORK/out2/f")" = new ] || fail "--overwrite did not replace"
echo PASS
