# lib.bash - sourced by the netns tests (not a test itself: CMake runs
# only t_*.sh). Each test sets PCP, sources this, calls pcp_workdir and
# defines on_cleanup to delete its namespaces (tests/lib/common.sh has
# fail, cleanup and the rest that every kind of test shares). With
# NS_TIMEOUT set, each pcp is killed after that many seconds.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# nsx NS COMMAND...: COMMAND in namespace NS.
nsx() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# ns_teardown: deletes every namespace named in $NSS, first killing what
# still runs in it (anything left keeps a namespace alive after del), and
# empties NSS.
ns_teardown() {
    local ns
    disown -a 2>/dev/null || true # they die with their namespace, quietly
    for ns in ${NSS:-}; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    NSS=
}

# ns_send NS JSON ERR ARGS...: `pcp send --json ARGS` in namespace NS in
# the background, its events into JSON and its messages into ERR; sets
# SPID and CODE, or fails when no code came within 10 s.
ns_send() {
    local ns=$1 json=$2 err=$3
    shift 3
    : >"$json" # read below before the job's own redirect may have made it
    ip netns exec "$ns" ${NS_TIMEOUT:+timeout "$NS_TIMEOUT"} "$PCP" send --json "$@" \
        >"$json" 2>"$err" &
    SPID=$!
    wait_code "$json" "$SPID" "$json: "
}

# ns_receive NS JSON ERR ARGS...: `pcp receive --json --yes ARGS` in NS
# with the code in PCP_CODE (so not in the process list), then the
# sender's end: sets RRC and SRC. A receiver that failed leaves the sender
# waiting for another, so the sender is ended then.
ns_receive() {
    local ns=$1 json=$2 err=$3
    shift 3
    set +e
    PCP_CODE=$CODE ip netns exec "$ns" ${NS_TIMEOUT:+timeout "$NS_TIMEOUT"} "$PCP" receive \
        --json --yes "$@" >"$json" 2>"$err"
    RRC=$?
    [ $RRC -eq 0 ] || kill "$SPID" 2>/dev/null
    wait "$SPID"
    SRC=$?
    set -e
}

# ns_link_ready NS IP: waits for NS's eth0 IPv6 link-local address to leave
# the tentative state, then checks that IP answers a ping from NS.
ns_link_ready() {
    for _ in $(seq 1 50); do
        ip -n "$1" -6 addr show dev eth0 | grep -q tentative || break
        sleep 0.1
    done
    ip netns exec "$1" ping -c1 -W2 "$2" >/dev/null || fail "$2 does not answer from $1"
}

# The small internet of the NAT tests:
#
#   H 10.N.0.2 --- R 10.N.0.1 | 203.0.113.1N --- br0 PUBIP in PUB
#
# ns_internet PUB PUBIP: a bridge br0 in PUB, its own address PUBIP/24;
# PUB forwards IPv4.
ns_internet() {
    ip -n "$1" link add br0 type bridge
    ip -n "$1" addr add "$2/24" dev br0
    ip -n "$1" link set br0 up
    nsx "$1" sysctl -qw net.ipv4.ip_forward=1
}

# ns_site N PUB PUBIP R H: router R, its public side wan (203.0.113.1N)
# on PUB's br0 and its LAN lan (10.N.0.1/24) with one host H (eth0,
# 10.N.0.2); PUB routes 10.N.0.0/24 to R, R forwards IPv4 (no NAT yet:
# ns_nat).
ns_site() {
    local n=$1 pub=$2 pubip=$3 r=$4 h=$5 wanip=203.0.113.1$1
    ip -n "$pub" route add "10.$n.0.0/24" via "$wanip"
    ip link add "wan$n" netns "$pub" type veth peer name wan netns "$r"
    ip -n "$pub" link set "wan$n" master br0 up
    ip -n "$r" addr add "$wanip/24" dev wan
    ip -n "$r" link set wan up
    ip -n "$r" route add default via "$pubip"
    ip link add lan netns "$r" type veth peer name eth0 netns "$h"
    ip -n "$r" addr add "10.$n.0.1/24" dev lan
    ip -n "$r" link set lan up
    ip -n "$h" addr add "10.$n.0.2/24" dev eth0
    ip -n "$h" link set eth0 up
    ip -n "$h" route add default via "10.$n.0.1"
    nsx "$r" sysctl -qw net.ipv4.ip_forward=1
}

# ns_nat R KIND PUBIP: the firewall of router R (from ns_site) for KIND:
# cone (MASQUERADE: endpoint-independent mapping; nothing unsolicited in,
# dropped silently), symmetric (the same with --random-fully: a new
# external port per destination), blocked (cone, and its LAN may reach
# only PUBIP; anything else is refused at once, not dropped, so that a
# host's lookups elsewhere fail fast).
ns_nat() {
    local r=$1 kind=$2 pubip=$3
    if [ "$kind" = symmetric ]; then
        nsx "$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE --random-fully
    else
        nsx "$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
    fi
    nsx "$r" iptables -P FORWARD DROP
    nsx "$r" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    if [ "$kind" = blocked ]; then
        nsx "$r" iptables -A FORWARD -i lan -o wan -d "$pubip" -j ACCEPT
        nsx "$r" iptables -A FORWARD -i lan -j REJECT
    else
        nsx "$r" iptables -A FORWARD -i lan -o wan -j ACCEPT
    fi
    nsx "$r" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    nsx "$r" iptables -A INPUT -i wan -j DROP
}

# ns_lab KIND1 KIND2 [v6]: the NAT lab of t_nat_lab.sh and t_dht.sh, two
# sites on the small internet, fresh namespaces each time:
#
#   H1 10.1.0.2 --- R1 10.1.0.1 | 203.0.113.11 ---+
#                                                  br0 $PUBIP in PUB
#   H2 10.2.0.2 --- R2 10.2.0.1 | 203.0.113.12 ---+
#
# Sets PUB, H1, H2, R1, R2 and NSS (in the order H1 H2 R1 R2 PUB); PUBIP
# must be set (203.0.113.1). Router kinds:
#   none      routes its LAN, no NAT, no filter: its host is reachable
#   public    the same, the LAN numbered from a public-looking prefix
#             (site 1 192.0.2.0/24, site 2 198.51.100.0/24: host .2,
#             router .1), so that the host has a public address of its own
#   cone      MASQUERADE (endpoint-independent mapping), drops unsolicited
#             inbound packets silently
#   symmetric MASQUERADE --random-fully: a new external port per destination
#   blocked   as cone, and its host may reach only PUBIP
#   natpmp    as cone, running miniupnpd (upnp_lib.bash, which the caller
#             sources): NAT-PMP and UPnP; its files in $WORK/upnpN
#   upnp      the same with UPnP-IGD only
# v6 gives every host a global IPv6 address too (2001:db8:N::2, router
# 2001:db8:N::1 and 2001:db8::1N, PUB 2001:db8::1), routed without NAT or
# filter.
ns_lab() {
    local tag=pcpl$$ n=1 kind r h ns p
    PUB=$tag-pub H1=$tag-h1 H2=$tag-h2 R1=$tag-r1 R2=$tag-r2
    NSS="$H1 $H2 $R1 $R2 $PUB"
    for ns in $NSS; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ns_internet "$PUB" "$PUBIP"
    if [ "${3:-}" = v6 ]; then
        ip -n "$PUB" addr add 2001:db8::1/64 dev br0 nodad
        nsx "$PUB" sysctl -qw net.ipv6.conf.all.forwarding=1
    fi
    for kind in "$1" "$2"; do
        r=$tag-r$n h=$tag-h$n
        ns_site "$n" "$PUB" "$PUBIP" "$r" "$h"
        if [ "${3:-}" = v6 ]; then
            ip -n "$r" addr add "2001:db8::1$n/64" dev wan nodad
            ip -n "$r" addr add "2001:db8:$n::1/64" dev lan nodad
            ip -n "$r" -6 route add default via 2001:db8::1
            ip -n "$h" addr add "2001:db8:$n::2/64" dev eth0 nodad
            ip -n "$h" -6 route add default via "2001:db8:$n::1"
            ip -n "$PUB" -6 route add "2001:db8:$n::/64" via "2001:db8::1$n"
            nsx "$r" sysctl -qw net.ipv6.conf.all.forwarding=1
        fi
        case $kind in
        none) ;;
        public)
            p=$([ $n -eq 1 ] && echo 192.0.2 || echo 198.51.100)
            ip -n "$h" addr flush dev eth0 scope global
            ip -n "$h" addr add "$p.2/24" dev eth0
            ip -n "$h" route add default via "$p.1"
            ip -n "$r" addr add "$p.1/24" dev lan
            ip -n "$PUB" route add "$p.0/24" via "203.0.113.1$n"
            if [ "${3:-}" = v6 ]; then # the flush took them
                ip -n "$h" addr add "2001:db8:$n::2/64" dev eth0 nodad
                ip -n "$h" -6 route add default via "2001:db8:$n::1"
            fi
            ;;
        cone | symmetric | blocked | natpmp | upnp)
            ns_nat "$r" "$kind" "$PUBIP"
            if [ "$kind" = natpmp ] || [ "$kind" = upnp ]; then
                mkdir -p "$WORK/upnp$n"
                UPNP_NATPMP=$([ "$kind" = natpmp ] && echo yes || echo no) \
                    upnp_router "$r" wan lan "10.$n.0.0/24" "$WORK/upnp$n" ||
                    fail "miniupnpd did not start in $r"
            fi
            ;;
        *) fail "unknown router kind $kind" ;;
        esac
        n=$((n + 1))
    done
}
