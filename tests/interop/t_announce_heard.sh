#!/usr/bin/env bash
# A receiver that asked before the sender was there hears the sender's
# announcement and needs no second question: the announcer here answers no
# question at all (announce_once.py), it only announces once, after it has
# heard our querier's first one.
. "$(dirname "$0")/lib.sh"
inst=$("$MDNS_TOOL" name 22)
"$PY" "$INTEROP_DIR/announce_once.py" "$inst" 5454 >"$WORK/ann.out" 2>"$WORK/ann.err" &
for _ in $(seq 1 100); do
    grep -q listening "$WORK/ann.out" && break
    sleep 0.05
done
grep -q listening "$WORK/ann.out" || fail "announcer did not start"
"$MDNS_TOOL" lookup 22 5000 >"$WORK/lookup.out" 2>"$WORK/lookup.err" || fail "lookup failed"
grep -q announced "$WORK/ann.out" || fail "announcer did not announce"
grep -qx 'port 5454' "$WORK/lookup.out" || fail "wrong port"
grep -qx 'addr 127.0.0.1:5454' "$WORK/lookup.out" || fail "no address"
echo PASS
