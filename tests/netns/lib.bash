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
