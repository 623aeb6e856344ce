#!/usr/bin/env bash
# Two hosts on a bridged LAN, each in its own network namespace, find each
# other over mDNS (no --mdns-interface: every multicast interface, as a
# user would run it) and transfer. The namespaces, bridge and veth pairs are
# made here and removed on exit; nothing touches the machine's interfaces.
# Then again with a name server that never answers (each host's resolver
# points at the other, which drops DNS): the DHT's bootstrap name must not
# hold up the LAN transfer, nor either side's exit.
set -euo pipefail
PCP=${PCP:?}
. "$(dirname "$0")/lib.bash"
need_root
tag=pcp$$
BR=$tag-br A=$tag-a B=$tag-b
NSS="$A $B $BR"
pcp_workdir lan
FAIL_LOGS='*.err'
on_cleanup() {
    ns_teardown
    rm -rf "/etc/netns/$A" "/etc/netns/$B"
}

ip netns add "$BR"
ip netns add "$A"
ip netns add "$B"
ip -n "$BR" link add br0 type bridge
ip -n "$BR" link set br0 up
ip -n "$BR" link set lo up
n=1
for h in "$A" "$B"; do
    ip link add "veth$n" netns "$BR" type veth peer name eth0 netns "$h"
    ip -n "$BR" link set "veth$n" master br0 up
    ip -n "$h" link set lo up
    ip -n "$h" addr add "10.99.0.$n/24" dev eth0
    ip -n "$h" link set eth0 up
    n=$((n + 1))
done
ns_link_ready "$A" 10.99.0.2

head -c 5000000 /dev/urandom >"$WORK/lan.bin"
ns_send "$A" "$WORK/sender.json" "$WORK/sender.err" "$WORK/lan.bin"
ns_receive "$B" "$WORK/receiver.json" "$WORK/receiver.err" --out "$WORK/out"
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "exit $RRC/$SRC"
cmp "$WORK/lan.bin" "$WORK/out/lan.bin" || fail "content differs"
grep -q '"peer":"10.99.0.1"\|"peer":"fe80' "$WORK/receiver.json" || fail "not connected over the LAN"

# A lookup here would wait 3 x 30 s for each address family; both sides
# must be done well before the first try gives up.
n=2
for h in "$A" "$B"; do
    mkdir -p "/etc/netns/$h"
    printf 'nameserver 10.99.0.%s\noptions timeout:30 attempts:3\n' "$n" >"/etc/netns/$h/resolv.conf"
    ip netns exec "$h" iptables -A INPUT -p udp --dport 53 -j DROP
    ip netns exec "$h" iptables -A INPUT -p tcp --dport 53 -j DROP
    n=1
done
ip netns exec "$A" getent hosts bootstrap.jami.net >/dev/null 2>&1 &
sleep 1
kill -0 $! 2>/dev/null || fail "the name server answered: the case would test nothing"
kill $! 2>/dev/null || true
rm -rf "$WORK/out"
NS_TIMEOUT=25
ns_send "$A" "$WORK/sender.json" "$WORK/sender.err" "$WORK/lan.bin"
ns_receive "$B" "$WORK/receiver.json" "$WORK/receiver.err" --out "$WORK/out"
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "with a silent name server: exit $RRC/$SRC (124: killed)"
cmp "$WORK/lan.bin" "$WORK/out/lan.bin" || fail "content differs (silent name server)"
echo PASS
