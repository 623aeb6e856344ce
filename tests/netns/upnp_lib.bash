# Sourced by the netns tests: makes a router namespace a UPnP-IGD and
# NAT-PMP gateway with Debian 12's miniupnpd (miniupnpd-iptables 2.3.1).
#
#   upnp_router NS WAN_IF LAN_IF LAN_CIDR WORKDIR [PUBLIC_IP]
#
# With UPNP_NATPMP=no in the environment it speaks UPnP-IGD only.
#
# runs miniupnpd in NS for the hosts of LAN_CIDR on LAN_IF, forwarding
# ports of WAN_IF, and returns once it answers; sets UPNP_PID (miniupnpd)
# and UPNP_STUN_PID (its STUN helper, see below). WORKDIR must exist and
# be this router's own: the pid file, leases and miniupnpd.log go there.
# miniupnpd reports WAN_IF's address as the public one, or PUBLIC_IP when
# given (any address miniupnpc does not call reserved: it is only claimed,
# routing it to WAN_IF is the caller's business). upnp_stop ends both.
# Mappings are allowed for ports 1024-65535, to the asking host only.
# Needs python3 and iptables-legacy; never call it outside a namespace
# made for the test: miniupnpd answers multicast on LAN_IF.

upnp_router() {
    local ns=$1 wan=$2 lan=$3 cidr=$4 dir=$5 claim=${6:-} wanip ipt
    wanip=$(ip -n "$ns" -4 -o addr show dev "$wan" | awk '{ sub("/.*", "", $4); print $4; exit }')
    [ -n "$wanip" ] || { echo "upnp_router: $wan has no IPv4 address in $ns" >&2; return 1; }

    # miniupnpd-iptables writes through libiptc, that is into the legacy
    # tables whatever iptables points to, and only into chains that exist:
    # the ones Debian's iptables_init.sh would make.
    ipt="ip netns exec $ns iptables-legacy"
    $ipt -t nat -N MINIUPNPD
    $ipt -t nat -A PREROUTING -i "$wan" -j MINIUPNPD
    $ipt -t nat -N MINIUPNPD-POSTROUTING
    $ipt -t nat -A POSTROUTING -o "$wan" -j MINIUPNPD-POSTROUTING
    $ipt -t mangle -N MINIUPNPD
    $ipt -t mangle -A PREROUTING -i "$wan" -j MINIUPNPD
    $ipt -N MINIUPNPD
    $ipt -A FORWARD -i "$wan" ! -o "$wan" -j MINIUPNPD
    # A packet has to pass the nf_tables filter as well, where the router's
    # FORWARD policy (DROP) would stop what miniupnpd lets in: accept there
    # what its DNAT rules rewrote, which is exactly the mapped ports. (With
    # a legacy iptables this rule is merely redundant.)
    ip netns exec "$ns" iptables -I FORWARD -i "$wan" -o "$lan" -m conntrack --ctstate DNAT -j ACCEPT

    # 2.3.1 maps nothing while WAN_IF's address is private or reserved
    # (203.0.113.0/24 is), refuses such an address in ext_ip=, and has no
    # ext_allow_private_ipv4 yet. It believes STUN, though: this server,
    # on WAN_IF's address in NS, answers every request from the port asked
    # with the request's own source (or PUBLIC_IP), which miniupnpd takes
    # for a public address or a 1:1 NAT that does not filter.
    ip netns exec "$ns" python3 -u -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 3478))
print("ready")
while True:
    req, (ip, port) = s.recvfrom(2048)
    if len(req) >= 20 and req[:2] == b"\x00\x01":
        a, = struct.unpack("!I", socket.inet_aton(sys.argv[2] or ip))
        xma = struct.pack("!HHBBHI", 0x20, 8, 0, 1, port ^ 0x2112, a ^ 0x2112A442)
        s.sendto(struct.pack("!HH", 0x101, len(xma)) + req[4:20] + xma, (ip, port))
' "$wanip" "$claim" >"$dir/stun.log" 2>&1 &
    UPNP_STUN_PID=$!

    # http_port is fixed so that a client may skip SSDP:
    # upnpc -u http://LAN_IP:5000/rootDesc.xml
    cat >"$dir/miniupnpd.conf" <<EOF
ext_ifname=$wan
listening_ip=$lan
http_port=5000
enable_upnp=yes
enable_natpmp=${UPNP_NATPMP:-yes}
secure_mode=yes
system_uptime=no
ipv6_disable=yes
ext_perform_stun=yes
ext_stun_host=$wanip
lease_file=$dir/miniupnpd.leases
uuid=$(cat /proc/sys/kernel/random/uuid)
allow 1024-65535 $cidr 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
    local _
    for _ in $(seq 1 100); do
        grep -q ready "$dir/stun.log" 2>/dev/null && break
        sleep 0.05
    done
    # -d keeps it in the foreground, logging to stderr; -P because the
    # default pid file, /run/miniupnpd.pid, is shared by every namespace.
    ip netns exec "$ns" miniupnpd -d -f "$dir/miniupnpd.conf" -P "$dir/miniupnpd.pid" \
        >"$dir/miniupnpd.log" 2>&1 &
    UPNP_PID=$!
    for _ in $(seq 1 200); do
        # (The log may not exist yet: the redirection is the background's.)
        if grep -aq 'Port forwarding is now enabled' "$dir/miniupnpd.log" 2>/dev/null &&
            grep -aq 'HTTP listening on port' "$dir/miniupnpd.log" &&
            { [ "${UPNP_NATPMP:-yes}" = no ] || grep -aq 'Listening for NAT-PMP' "$dir/miniupnpd.log"; }; then
            return 0
        fi
        kill -0 "$UPNP_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "upnp_router: miniupnpd in $ns is not ready to forward:" >&2
    tail -20 "$dir/miniupnpd.log" "$dir/stun.log" >&2
    return 1
}

upnp_stop() {
    kill "$UPNP_PID" "$UPNP_STUN_PID" 2>/dev/null || true
    wait "$UPNP_PID" "$UPNP_STUN_PID" 2>/dev/null || true
}
