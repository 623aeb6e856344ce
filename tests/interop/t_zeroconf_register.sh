#!/usr/bin/env bash
# python-zeroconf registers the instance our code computes for a channel;
# our querier finds its port, address and TXT record.
. "$(dirname "$0")/lib.sh"
need_zeroconf
inst=$("$MDNS_TOOL" name 22)
"$PY" "$INTEROP_DIR/zc_register.py" "$inst" 5454 30 "c=tcp:127.0.0.1:5454" \
    >"$WORK/zc.out" 2>"$WORK/zc.err" &
for _ in $(seq 1 100); do
    grep -q registered "$WORK/zc.out" && break
    sleep 0.1
done
grep -q registered "$WORK/zc.out" || fail "zeroconf did not register"
"$MDNS_TOOL" lookup 22 5000 >"$WORK/lookup.out" 2>"$WORK/lookup.err" || fail "lookup failed"
cat "$WORK/lookup.out"
grep -qx 'port 5454' "$WORK/lookup.out" || fail "wrong port"
grep -qx 'txt c=tcp:127.0.0.1:5454' "$WORK/lookup.out" || fail "wrong TXT"
grep -qx 'addr 127.0.0.1:5454' "$WORK/lookup.out" || fail "no address"
# another channel's instance is not taken for ours
if "$MDNS_TOOL" lookup 23 1500 >"$WORK/other.out" 2>&1; then
    fail "found a sender on the wrong channel"
fi
echo PASS
