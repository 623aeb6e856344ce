#!/usr/bin/env bash
# Our responder and our querier on the namespace's loopback (IPv4): they
# find each other, two responders share port 5353, a querier started first
# finds a responder that comes later, wrong channels or interfaces fail
# cleanly, and a lookup can be cancelled.
. "$(dirname "$0")/lib.sh"

start_responder a 31 4444 60 "v=1 c=x"
start_responder b 35 4545 60
"$MDNS_TOOL" lookup 31 3000 >"$WORK/l31.out" 2>"$WORK/l31.err" || fail "lookup 31"
grep -qx 'port 4444' "$WORK/l31.out" || fail "wrong port for 31"
grep -qx 'txt v=1 c=x' "$WORK/l31.out" || fail "wrong TXT for 31"
# the answer's source comes first
[ "$(sed -n 3p "$WORK/l31.out")" = "addr 127.0.0.1:4444" ] || fail "source address not first"
"$MDNS_TOOL" lookup 35 3000 >"$WORK/l35.out" 2>"$WORK/l35.err" || fail "lookup 35"
grep -qx 'port 4545' "$WORK/l35.out" || fail "wrong port for 35"

# nobody on channel 32: not found, in about the time given
start=$(date +%s%N)
if "$MDNS_TOOL" lookup 32 1000 >"$WORK/l32.out" 2>"$WORK/l32.err"; then
    fail "found a sender on an empty channel"
fi
ms=$((($(date +%s%N) - start) / 1000000))
grep -q 'no sender found' "$WORK/l32.err" || fail "wrong error for an empty channel"
[ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ] || fail "empty lookup took $ms ms"

# an interface that does not exist
if PCP_MDNS_INTERFACE=nosuch0 "$MDNS_TOOL" lookup 31 500 >/dev/null 2>"$WORK/if.err"; then
    fail "lookup on a missing interface succeeded"
fi
grep -q 'invalid argument' "$WORK/if.err" || fail "wrong error for a missing interface"
if PCP_MDNS_INTERFACE=nosuch0 "$MDNS_TOOL" announce 31 1 1 >/dev/null 2>"$WORK/if2.err"; then
    fail "announce on a missing interface succeeded"
fi
grep -q 'invalid argument' "$WORK/if2.err" || fail "wrong error for a missing interface"

# the querier first, the responder 1.5 s later: the repeated queries find it
"$MDNS_TOOL" lookup 33 6000 >"$WORK/l33.out" 2>"$WORK/l33.err" &
LPID=$!
sleep 1.5
start_responder c 33 4747 60
wait "$LPID" || fail "late responder not found"
grep -qx 'port 4747' "$WORK/l33.out" || fail "wrong port for 33"

# a lookup whose bucket rolls over 1 s after it began finds a sender that
# started after the roll (and so announces only the new bucket)
MDNS_TOOL_ROLL_IN_MS=1000 "$MDNS_TOOL" lookup 36 6000 >"$WORK/l36.out" 2>"$WORK/l36.err" &
LPID=$!
sleep 1.5
MDNS_TOOL_BUCKET=$((MDNS_TOOL_BUCKET + B)) start_responder d 36 4848 60
wait "$LPID" || fail "a lookup across the rollover missed the new bucket"
grep -qx 'port 4848' "$WORK/l36.out" || fail "wrong port for 36"

# a lookup is cancelled promptly (SIGINT sets the cancel flag)
"$MDNS_TOOL" lookup 39 20000 >/dev/null 2>"$WORK/cancel.err" &
LPID=$!
sleep 0.5
start=$(date +%s%N)
kill -INT "$LPID"
if wait "$LPID"; then
    fail "cancelled lookup succeeded"
fi
ms=$((($(date +%s%N) - start) / 1000000))
grep -q cancelled "$WORK/cancel.err" || fail "lookup not cancelled"
[ "$ms" -lt 500 ] || fail "cancel took $ms ms"
echo PASS
