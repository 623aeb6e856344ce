#!/usr/bin/env bash
# Our responder announces; python-zeroconf browses for _pcp._tcp.local. and
# resolves the instance to our port, address and TXT record.
. "$(dirname "$0")/lib.sh"
need_zeroconf
start_responder resp 21 4343 60 "v=1"
inst=$("$MDNS_TOOL" name 21)
"$PY" "$INTEROP_DIR/zc_resolve.py" "$inst" 4343 127.0.0.1 v=1 >"$WORK/zc.out" 2>&1 ||
    fail "zeroconf did not resolve our instance"
cat "$WORK/zc.out"
echo PASS
