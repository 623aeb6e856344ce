#!/usr/bin/env bash
# IPv6 only: a veth pair in the namespace with link-local addresses and no
# IPv4 at all (IPv6 multicast does not loop back over lo on Linux, so the
# loopback cannot carry this test). Responder and querier restricted to
# one end find each other over ff02::fb, the address carries its scope;
# a querier on another interface does not get an answer.
. "$(dirname "$0")/lib.sh"
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
for _ in $(seq 1 50); do
    ip -6 addr show dev v0 | grep -q 'inet6 fe80' && break
    sleep 0.1
done
ll=$(ip -6 addr show dev v0 | sed -n 's/.*inet6 \(fe80[^/]*\).*/\1/p')
[ -n "$ll" ] || fail "no link-local address on v0"
ip -4 addr show dev v0 | grep -q inet && fail "v0 has IPv4"

PCP_MDNS_INTERFACE=v0 start_responder r 41 4848 60
PCP_MDNS_INTERFACE=v0 "$MDNS_TOOL" lookup 41 3000 >"$WORK/l.out" 2>"$WORK/l.err" || fail "lookup"
cat "$WORK/l.out"
grep -qx 'port 4848' "$WORK/l.out" || fail "wrong port"
grep -qx "addr \[$ll%v0\]:4848" "$WORK/l.out" || fail "no scoped link-local address"
# the responder listens on v0 only: asking on lo gets nothing
if PCP_MDNS_INTERFACE=lo "$MDNS_TOOL" lookup 41 1000 >/dev/null 2>&1; then
    fail "responder answered on an interface it was not given"
fi
echo PASS
