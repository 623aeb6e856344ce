#!/usr/bin/env bash
# Our responder stops; python-zeroconf sees the service removed at once
# (the goodbye packet), long before the 120 s TTL would run out.
. "$(dirname "$0")/lib.sh"
need_zeroconf
inst=$("$MDNS_TOOL" name 24)
"$PY" "$INTEROP_DIR/zc_goodbye.py" "$inst" 8 >"$WORK/zc.out" 2>"$WORK/zc.err" &
ZC=$!
sleep 1 # let zeroconf start listening
start_responder resp 24 4646
for _ in $(seq 1 100); do
    grep -qx added "$WORK/zc.out" && break
    sleep 0.1
done
grep -qx added "$WORK/zc.out" || fail "zeroconf never saw the service"
kill -TERM "$RESP_PID"
wait "$RESP_PID" || fail "responder did not stop cleanly"
grep -q stopped "$WORK/resp.out" || fail "responder did not stop cleanly"
wait "$ZC" || fail "zeroconf did not see the goodbye"
grep -qx removed "$WORK/zc.out" || fail "zeroconf did not see the goodbye"
echo PASS
