#!/usr/bin/env bash
# send --qr: the receive command drawn as a QR code, read back by an
# independent decoder (zbarimg); and the printed hint keeps the code out of
# the receiver's command line. Skipped (77) in a build without
# libqrencode or without zbarimg, unless PCP_REQUIRE_QR=1.
. "$(dirname "$0")/lib.sh"
if ! "$PCP" --version | grep -q '^QR codes: libqrencode' || ! command -v zbarimg >/dev/null; then
    [ "${PCP_REQUIRE_QR:-0}" = 1 ] && fail "PCP_REQUIRE_QR=1 but no libqrencode in pcp or no zbarimg"
    echo "SKIP: no libqrencode in this pcp, or no zbarimg"
    exit 77
fi
start_sender --qr "$0"
sleep 0.3
kill "$SENDER_PID"
wait "$SENDER_PID" 2>/dev/null || true
got=$(/usr/bin/python3 "$(dirname "$0")/qr_decode.py" "$WORK/sender.err") || fail "zbarimg read no QR code"
# The code goes in the environment, never on a command line that every user
# of the receiving machine can read with ps.
[ "$got" = "PCP_CODE=$CODE pcp receive" ] || fail "the QR code says '$got', not 'PCP_CODE=$CODE pcp receive'"

# The printed hint says the same (plain output, not --json).
"$PCP" send "$0" >"$WORK/plain.out" 2>"$WORK/plain.err" &
pid=$!
for _ in $(seq 1 100); do grep -q '^Code:' "$WORK/plain.out" && break; sleep 0.05; done
kill "$pid"
wait "$pid" 2>/dev/null || true
code=$(sed -n 's/^Code: //p' "$WORK/plain.out")
[ -n "$code" ] || fail "no code printed"
grep -qx "On the other computer run:  PCP_CODE=$code pcp receive" "$WORK/plain.out" ||
    fail "the hint is not 'PCP_CODE=CODE pcp receive': $(cat "$WORK/plain.out")"
! grep -q "pcp receive $code" "$WORK/plain.out" || fail "the hint puts the code in argv"
echo PASS
