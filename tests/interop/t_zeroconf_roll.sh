#!/usr/bin/env bash
# The five-minute bucket rolls over while the responder runs (its clock is
# skewed to cross a boundary 2 s after start): python-zeroconf sees the new
# instance announced and can still resolve the old one; our own querier
# finds each instance from the bucket that asks for it, and none from a
# bucket too far on.
. "$(dirname "$0")/lib.sh"
need_zeroconf
MDNS_TOOL_ROLL_IN_MS=2000 start_responder r 51 4949 60
b0=$(sed -n 's/^bucket //p' "$WORK/r.out")
[ -n "$b0" ] || fail "no bucket printed"
b1=$((b0 + 300000000000))
old=$("$MDNS_TOOL" name 51 "$b0")
new=$("$MDNS_TOOL" name 51 "$b1")
[ "$old" != "$new" ] || fail "same instance for two buckets"
"$PY" "$INTEROP_DIR/zc_roll.py" "$old" "$new" 4949 >"$WORK/zc.out" 2>&1 || fail "rollover"
cat "$WORK/zc.out"
# a querier two buckets on (it asks for b1 + B and b1) finds the new
# instance, one still in the old bucket (b0 and b0 - B) the old one
b2=$((b1 + 300000000000))
MDNS_TOOL_BUCKET=$b2 "$MDNS_TOOL" lookup 51 3000 >"$WORK/l1.out" 2>&1 || fail "lookup (new)"
grep -qx 'port 4949' "$WORK/l1.out" || fail "wrong port (new)"
MDNS_TOOL_BUCKET=$b0 "$MDNS_TOOL" lookup 51 3000 >"$WORK/l0.out" 2>&1 || fail "lookup (old)"
grep -qx 'port 4949' "$WORK/l0.out" || fail "wrong port (old)"
# three buckets on, neither instance is asked for
if MDNS_TOOL_BUCKET=$((b2 + 300000000000)) "$MDNS_TOOL" lookup 51 1000 >/dev/null 2>&1; then
    fail "found an instance two buckets old"
fi
echo PASS
