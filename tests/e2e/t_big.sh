#!/usr/bin/env bash
# 1 GiB of random bytes (PCP_E2E_BIG_MB overrides the size), digests compared.
. "$(dirname "$0")/lib.sh"
mb=${PCP_E2E_BIG_MB:-1024}
head -c $((mb * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
start_sender "$WORK/big.bin"
PCP_CODE=$CODE receive --yes --out "$WORK/out"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "exit $RECV_RC/$SENDER_RC"
[ "$(digest "$WORK/big.bin")" = "$(digest "$WORK/out/big.bin")" ] || fail "digest differs"
sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\),"rate":\([0-9]*\).*/  received in \1 s, \2 B\/s/p' "$WORK/receiver.json"
echo PASS
