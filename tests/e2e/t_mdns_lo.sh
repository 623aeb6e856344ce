#!/usr/bin/env bash
# Discovery restricted to loopback (--mdns-interface lo, as the README's
# demo and tests use it) on a host that also has another address: a packet
# multicast on lo leaves with that address as its source, and must still
# count as on-link. The other interface is a veth pair inside this test's
# own namespace, with multicast off, as on a host whose LAN is elsewhere.
. "$(dirname "$0")/lib.sh"
ip link add pcpmd0 type veth peer name pcpmd1
ip link set pcpmd0 multicast off
ip addr add 10.78.0.1/24 dev pcpmd0
ip link set pcpmd0 up
ip link set pcpmd1 up
ip route add default dev pcpmd0 # the host's primary address is now 10.78.0.1
head -c 5000 /dev/urandom >"$WORK/f"
start_sender --mdns-interface lo "$WORK/f"
receive --mdns-interface lo --timeout 10 --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "lo only: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "content differs"
echo PASS
