#!/usr/bin/env bash
# Two hosts, each behind its own NAT router, meet through a relay on a small
# "internet". Every piece lives in a network namespace made here and removed
# on exit; the veth ends are created inside those namespaces, so nothing
# touches the machine's interfaces, addresses, routes or iptables.
#
#   h1 10.1.0.2 --- r1 10.1.0.1 | 203.0.113.11 ---+
#                                                  br0 203.0.113.1 in pub: pcp relay :9474
#   h2 10.2.0.2 --- r2 10.2.0.1 | 203.0.113.12 ---+
#
# The routers masquerade their LAN behind their public address, let their
# host reach the relay's machine and nothing else, and forward nothing NEW
# that comes in from the public side (only ESTABLISHED,RELATED), so no
# connection into either LAN is possible, punched or not (t_nat_lab.sh tries
# the kinds of router that allow more); pub even routes the private
# networks to the routers, so the routers' firewalls are what blocks. mDNS
# stays on each LAN (multicast is not forwarded). The receiver, run without
# --force-relay, must fall back to the relay by itself; with --no-relay it
# must find nothing.
set -euo pipefail
PCP=${PCP:?}
. "$(dirname "$0")/lib.bash"
need_root
need_tools ip iptables ip6tables python3 sha256sum
tag=pcpn$$
PUB=$tag-pub R1=$tag-r1 R2=$tag-r2 H1=$tag-h1 H2=$tag-h2
NSS="$H1 $H2 $R1 $R2 $PUB"
PUBIP=203.0.113.1 R1IP=203.0.113.11 R2IP=203.0.113.12 H1IP=10.1.0.2 H2IP=10.2.0.2
RELAY=http://$PUBIP:9474
pcp_workdir relay-nat
on_cleanup() { ns_teardown; }
trap 'exit 1' INT TERM
# tcp_ok NS IP PORT: a TCP connection from NS to IP:PORT opens within 3 s.
tcp_ok() { nsx "$1" timeout 3 bash -c "</dev/tcp/$2/$3" 2>/dev/null; }
# mdns NS TABLE CHAIN: packets the mDNS counters (v4 and v6) in that chain saw.
mdns() {
    { nsx "$1" iptables -t "$2" -nvxL "$3"; nsx "$1" ip6tables -t "$2" -nvxL "$3"; } |
        awk '/dpt:5353/ { n += $1 } END { print n + 0 }'
}

for ns in $NSS; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done

# The internet: a bridge in pub, its own address the relay's.
ns_internet "$PUB" "$PUBIP"
for ipt in iptables ip6tables; do
    nsx "$PUB" $ipt -t raw -A PREROUTING -p udp --dport 5353 # a counter
done

n=1
for pair in "$R1:$H1" "$R2:$H2"; do
    IFS=: read -r r h <<<"$pair"
    # The router, its public side on the bridge in pub (R1IP, R2IP), its
    # LAN with its one host; NAT, nothing new in from the public side, and
    # its LAN reaches the relay's machine only (refused at once elsewhere:
    # Python's http.server asks DNS for its own name).
    ns_site "$n" "$PUB" "$PUBIP" "$r" "$h"
    ns_nat "$r" blocked "$PUBIP"
    # Counters only: mDNS seen on the LAN, and leaving by the public side.
    for ipt in iptables ip6tables; do
        nsx "$r" $ipt -t raw -A PREROUTING -i lan -p udp --dport 5353
        nsx "$r" $ipt -t mangle -A POSTROUTING -o wan -p udp --dport 5353
    done
    n=$((n + 1))
done
# The hosts' IPv6 link-local addresses (mDNS uses them too) leave the
# tentative state.
for h in "$H1" "$H2"; do
    for _ in $(seq 1 50); do
        ip -n "$h" -6 addr show dev eth0 | grep -q tentative || break
        sleep 0.1
    done
done

# The relay.
nsx "$PUB" "$PCP" relay --listen 0.0.0.0:9474 2>"$WORK/relay.err" &
RELAY_PID=$!
for _ in $(seq 1 100); do
    tcp_ok "$PUB" "$PUBIP" 9474 && break
    kill -0 "$RELAY_PID" 2>/dev/null || fail "relay exited"
    sleep 0.05
done

# The blocking, before any transfer: a listener on h1 that its own router
# reaches, that h2 reaches neither at h1's address nor at r1's public one,
# while both hosts reach the relay.
nsx "$H1" python3 -m http.server --bind "$H1IP" 8080 >/dev/null 2>"$WORK/http.err" &
HTTP_PID=$!
for _ in $(seq 1 100); do
    tcp_ok "$H1" "$H1IP" 8080 && break
    sleep 0.05
done
tcp_ok "$R1" "$H1IP" 8080 || fail "the listener on h1 is not up"
# The attempts that must time out run side by side.
tcp_ok "$H2" "$H1IP" 8080 & b1=$!
tcp_ok "$H2" "$R1IP" 8080 & b2=$!
tcp_ok "$PUB" "$H1IP" 8080 & b3=$!
nsx "$H1" ping -c1 -W2 "$H2IP" >/dev/null 2>&1 & b4=$!
tcp_ok "$H2" "$PUBIP" 9474 || fail "h2 cannot reach the relay"
tcp_ok "$H1" "$PUBIP" 9474 || fail "h1 cannot reach the relay"
nsx "$H2" ping -c1 -W2 "$PUBIP" >/dev/null || fail "h2 cannot ping the relay host"
wait $b1 && fail "h2 connected to h1 ($H1IP:8080) through the NATs"
wait $b2 && fail "h2 connected to r1's public address ($R1IP:8080)"
wait $b3 && fail "the internet connected into h1's LAN"
wait $b4 && fail "h1 pinged h2 through the NATs"
kill "$HTTP_PID"; wait "$HTTP_PID" 2>/dev/null || true
echo "blocking ok: no connection into either LAN; both hosts reach $PUBIP:9474"

# start_sender NAME FILE: pcp send in h1 (LAN announcement and relay, no
# --force-relay), output in $WORK/NAME.json and .err; sets SPID and CODE.
start_sender() {
    : >"$WORK/$1.json" # read below before the job's own redirect may have made it
    nsx "$H1" "$PCP" send --json --relay "$RELAY" "$2" >"$WORK/$1.json" 2>"$WORK/$1.err" &
    SPID=$!
    wait_code "$WORK/$1.json" "$SPID"
}
now() { date +%s.%N; }

head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/nat.bin"
start_sender sender "$WORK/nat.bin"
t0=$(now)
set +e
nsx "$H2" "$PCP" receive --json --yes --relay "$RELAY" --out "$WORK/out" "$CODE" \
    >"$WORK/receiver.json" 2>"$WORK/receiver.err"
rrc=$?
t1=$(now)
# A receiver that failed leaves the sender waiting for another: end it.
[ $rrc -eq 0 ] || kill "$SPID" 2>/dev/null
wait "$SPID"
src=$?
set -e
[ $rrc -eq 0 ] && [ $src -eq 0 ] || fail "exit $rrc/$src"
[ "$(sha256sum <"$WORK/nat.bin")" = "$(sha256sum <"$WORK/out/nat.bin")" ] || fail "digest differs"
grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "receiver path not relayed"
grep -q '"event":"done".*"path":"relayed"' "$WORK/receiver.json" || fail "receiver done not relayed"
grep -q '"event":"connected".*"path":"relayed"' "$WORK/sender.json" || fail "sender path not relayed"
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "relayed through the NATs: receive start to done %.2f s", b - a }'
sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\),"rate":\([0-9]*\).*/ (transfer \1 s, \2 B\/s)/p' \
    "$WORK/receiver.json"

# Without the relay nothing is possible: no sender found, exit 7, in time.
start_sender sender2 "$WORK/nat.bin"
t0=$(now)
set +e
nsx "$H2" "$PCP" receive --json --yes --no-relay --timeout 5 --out "$WORK/out2" "$CODE" \
    >"$WORK/receiver2.json" 2>"$WORK/receiver2.err"
rrc=$?
set -e
t1=$(now)
kill "$SPID" 2>/dev/null || true
wait "$SPID" 2>/dev/null || true
[ $rrc -eq 7 ] || fail "--no-relay: exit $rrc, want 7"
[ ! -e "$WORK/out2/nat.bin" ] || fail "--no-relay received something"
grep -q "no sender found" "$WORK/receiver2.err" || fail "--no-relay: no clear message"
grep -q '"event":"connected"' "$WORK/sender2.json" && fail "--no-relay: the sender saw a receiver"
awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; printf "--no-relay: exit 7 after %.2f s\n", d; exit !(d < 8) }' ||
    fail "--no-relay took longer than its --timeout 5"
# mDNS went out on both LANs (the sender announced, the receivers asked)
# and never past a router.
for r in "$R1" "$R2"; do
    [ "$(mdns "$r" raw PREROUTING)" -gt 0 ] || fail "no mDNS seen on the LAN of $r"
    [ "$(mdns "$r" mangle POSTROUTING)" -eq 0 ] || fail "mDNS left $r by its public side"
done
[ "$(mdns "$PUB" raw PREROUTING)" -eq 0 ] || fail "mDNS reached the internet"
echo PASS
