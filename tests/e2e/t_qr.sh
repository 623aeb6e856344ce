#!/usr/bin/env bash
# send --qr: the receive command drawn as a QR code, read back by an
# independent decoder (zbarimg). Skipped (77) in a build without
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
[ "$got" = "pcp receive $CODE" ] || fail "the QR code says '$got', not 'pcp receive $CODE'"
echo PASS
