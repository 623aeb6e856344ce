#!/usr/bin/env bash
# WAN discovery through the DHT alone: a private OpenDHT network of three
# dhtnode processes on a router between two networks, a sender on one and
# a receiver on the other (no LAN in common: mDNS stays on each side, and
# no relay is configured). Also: a record under the previous bucket is
# found, an expired record is not taken, and with no DHT node reachable
# the receiver says so while the relay still works. Forged records (a
# third network, F, puts them): one whose t= is far in the future is
# refused, and candidates that fail (a stranger's service, a pcp sender
# with another code, on the DHT or the LAN) are passed over for the next,
# the relay, with what was tried in the JSON events. The namespaces, veth
# pairs and processes are made here and removed on exit.
set -euo pipefail
PCP=${PCP:?}
DHT_TOOL=${DHT_TOOL:-}
. "$(dirname "$0")/lib.bash"
need_root
# CI sets PCP_REQUIRE_DHT=1: there a missing piece is a failure, not a skip.
skip() { echo "SKIP: $*"; [ -n "${PCP_REQUIRE_DHT:-}" ] && exit 1; exit 77; }
[ -x "$DHT_TOOL" ] || skip "built without OpenDHT (no dht_tool)"
command -v dhtnode >/dev/null || skip "dhtnode not installed (apt install dhtnode)"
"$PCP" --version | grep -q '^DHT: OpenDHT' || skip "pcp built without OpenDHT"
tag=pcpd$$
R=$tag-r A=$tag-a B=$tag-b F=$tag-f
NSS="$A $B $F $R"
pcp_workdir dht
FAIL_LOGS='*.err *.json *.out'
on_cleanup() {
    wait 2>/dev/null || true
    ns_teardown
    rm -rf "/etc/netns/$A" "/etc/netns/$B"
}

# A 203.0.113.2 --- 203.0.113.1 R 198.51.100.1 --- 198.51.100.2 B
ip netns add "$R"
ip netns add "$A"
ip netns add "$B"
for n in "$R" "$A" "$B"; do
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add ra netns "$R" type veth peer name eth0 netns "$A"
ip link add rb netns "$R" type veth peer name eth0 netns "$B"
ip -n "$R" addr add 203.0.113.1/24 dev ra
ip -n "$R" addr add 198.51.100.1/24 dev rb
ip -n "$A" addr add 203.0.113.2/24 dev eth0
ip -n "$B" addr add 198.51.100.2/24 dev eth0
for l in "$R ra" "$R rb" "$A eth0" "$B eth0"; do
    set -- $l
    ip -n "$1" link set "$2" up
done
ip -n "$A" route add default via 203.0.113.1
ip -n "$B" route add default via 198.51.100.1
# F, a forger's network: 192.0.2.2 --- 192.0.2.1 R (public-looking too)
ip netns add "$F"
ip -n "$F" link set lo up
ip link add rf netns "$R" type veth peer name eth0 netns "$F"
ip -n "$R" addr add 192.0.2.1/24 dev rf
ip -n "$F" addr add 192.0.2.2/24 dev eth0
ip -n "$R" link set rf up
ip -n "$F" link set eth0 up
ip -n "$F" route add default via 192.0.2.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
# and IPv6, global (documentation) prefixes on both sides
ip -n "$R" addr add 2001:db8:a::1/64 dev ra
ip -n "$R" addr add 2001:db8:b::1/64 dev rb
ip -n "$A" addr add 2001:db8:a::2/64 dev eth0
ip -n "$B" addr add 2001:db8:b::2/64 dev eth0
ip -n "$A" -6 route add default via 2001:db8:a::1
ip -n "$B" -6 route add default via 2001:db8:b::1
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip netns exec "$A" ping -c1 -W2 198.51.100.2 >/dev/null || fail "no route between the networks"

# The private DHT: three nodes on the router, joined to each other.
ip netns exec "$R" dhtnode -s -p 4222 </dev/null >"$WORK/node1.out" 2>&1 &
sleep 0.5
for p in 4223 4224; do
    ip netns exec "$R" dhtnode -s -p $p -b 203.0.113.1:4222 </dev/null >"$WORK/node$p.out" 2>&1 &
done
BOOT_A=203.0.113.1:4222
BOOT_B=198.51.100.1:4223

# A record under the previous bucket's key is found (a receiver whose
# clock has just rolled over).
ip netns exec "$A" "$DHT_TOOL" put "$BOOT_A" 41 1 300 203.0.113.2:9 >"$WORK/put41.out" 2>"$WORK/put41.err" &
for _ in $(seq 1 300); do grep -q stored "$WORK/put41.out" && break; sleep 0.1; done
grep -q stored "$WORK/put41.out" || fail "the record was not stored"
ip netns exec "$B" "$DHT_TOOL" lookup "$BOOT_B" 41 15000 >"$WORK/look41.out" 2>&1 ||
    fail "the previous bucket's record was not found"
grep -q '^found 203.0.113.2:9$' "$WORK/look41.out" || fail "wrong record: $(cat "$WORK/look41.out")"
echo "previous bucket: $(tail -1 "$WORK/look41.out")"

# An expired record (its sender stopped refreshing it) is seen and not taken.
ip netns exec "$A" "$DHT_TOOL" put "$BOOT_A" 42 0 2 203.0.113.2:9 >"$WORK/put42.out" 2>"$WORK/put42.err" &
for _ in $(seq 1 300); do grep -q stored "$WORK/put42.out" && break; sleep 0.1; done
grep -q stored "$WORK/put42.out" || fail "the short-lived record was not stored"
sleep 3
if ip netns exec "$B" "$DHT_TOOL" lookup "$BOOT_B" 42 4000 >"$WORK/look42.out" 2>&1; then
    fail "an expired record was taken"
fi
grep -q 'expired [1-9]' "$WORK/look42.out" || fail "the expired record was not seen: $(cat "$WORK/look42.out")"
echo "expired: $(tail -1 "$WORK/look42.out")"

# A whole transfer found through the DHT alone: no relay, no LAN in common.
# The bootstrap nodes by name (each host's /etc/hosts), as a user gives
# them: resolved in the background, the sender's put waiting for it.
for h in "$A:${BOOT_A%:*} dht-a.lab" "$B:${BOOT_B%:*} dht-b.lab"; do
    mkdir -p "/etc/netns/${h%%:*}"
    printf '127.0.0.1 localhost\n%s\n' "${h#*:}" >"/etc/netns/${h%%:*}/hosts"
done
head -c 3000000 /dev/urandom >"$WORK/file.bin"
ns_send "$A" "$WORK/sender.json" "$WORK/sender.err" --no-relay --dht-bootstrap dht-a.lab:4222 \
    "$WORK/file.bin"
for _ in $(seq 1 100); do grep -q '"event":"dht","put"' "$WORK/sender.json" && break; sleep 0.1; done
grep -q '"event":"dht","put":2' "$WORK/sender.json" || fail "the sender did not put its two public addresses"
ns_receive "$B" "$WORK/receiver.json" "$WORK/receiver.err" --no-relay --timeout 30 \
    --dht-bootstrap dht-b.lab:4223 --out "$WORK/out"
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "transfer exit $RRC/$SRC"
cmp "$WORK/file.bin" "$WORK/out/file.bin" || fail "content differs"
grep -q '"path":"direct","peer":"203.0.113.2.*"found_by":"dht"' "$WORK/receiver.json" ||
    fail "not found through the DHT"
grep -q '"event":"connected","peer":"198.51.100.2[^"]*","path":"direct"' "$WORK/sender.json" ||
    fail "the sender did not see a direct connection"
echo "transfer: $(grep '"event":"dht"' "$WORK/receiver.json")"

# The same over IPv6 alone: the receiver's network has no IPv4 route, so
# only the sender's global IPv6 address (in its record beside the IPv4 one)
# can be dialled, and it reaches the DHT over IPv6 too.
ip -n "$B" route del default via 198.51.100.1
ns_send "$A" "$WORK/sender6.json" "$WORK/sender6.err" --no-relay --dht-bootstrap "$BOOT_A" \
    "$WORK/file.bin"
ns_receive "$B" "$WORK/receiver6.json" "$WORK/receiver6.err" --no-relay --timeout 30 \
    --dht-bootstrap "[2001:db8:b::1]:4223" --out "$WORK/out6"
ip -n "$B" route add default via 198.51.100.1
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "IPv6 transfer exit $RRC/$SRC"
cmp "$WORK/file.bin" "$WORK/out6/file.bin" || fail "content differs (IPv6)"
grep -q '"path":"direct","peer":"2001:db8:a::2".*"found_by":"dht"' "$WORK/receiver6.json" ||
    fail "not direct over IPv6 through the DHT"
echo "IPv6: $(grep '"event":"dht"' "$WORK/receiver6.json")"

# No DHT node reachable: the receiver says so ...
set +e
PCP_CODE=$CODE ip netns exec "$B" "$PCP" receive --yes --no-relay --timeout 4 \
    --dht-bootstrap 198.51.100.1:9 --out "$WORK/out2" >"$WORK/nodht.out" 2>"$WORK/nodht.err"
rc=$?
set -e
[ $rc -eq 7 ] || fail "no DHT, no sender: exit $rc, want 7"
grep -q "the DHT: no node answered" "$WORK/nodht.err" || fail "no clear message: $(cat "$WORK/nodht.err")"

# ... and the relay still carries the transfer.
: >"$WORK/relay.err" # read below before the job's own redirect may have made it
ip netns exec "$R" "$PCP" relay --listen 203.0.113.1:0 2>"$WORK/relay.err" &
wait_relay_port "$WORK/relay.err" $!
RPORT=$RELAY_PORT
ns_send "$A" "$WORK/sender2.json" "$WORK/sender2.err" --relay "203.0.113.1:$RPORT" \
    --dht-bootstrap 203.0.113.1:9 "$WORK/file.bin"
ns_receive "$B" "$WORK/receiver3.json" "$WORK/receiver3.err" --relay "203.0.113.1:$RPORT" \
    --dht-bootstrap 198.51.100.1:9 --timeout 30 --out "$WORK/out3"
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "relay transfer exit $RRC/$SRC"
cmp "$WORK/file.bin" "$WORK/out3/file.bin" || fail "content differs (relay)"
grep -q '"found_by":"relay"' "$WORK/receiver3.json" || fail "not found through the relay"

# Forged records. A code of our own (so that the forger knows its channel
# before the sender starts), its first word's index is the channel.
WORDS=$(dirname "$0")/../../wordlist/english.txt
new_code() { shuf -n 4 "$WORDS" | paste -sd-; }
channel_of() { echo $(($(grep -nx "${1%%-*}" "$WORDS" | cut -d: -f1) - 1)); }
# put_forged NAME TTL_S ADDR:PORT CHANNEL: a record from F, until stored.
put_forged() {
    ip netns exec "$F" "$DHT_TOOL" put 192.0.2.1:4222 "$4" 0 "$2" "$3" >"$WORK/$1.out" 2>"$WORK/$1.err" &
    for _ in $(seq 1 300); do grep -q stored "$WORK/$1.out" && break; sleep 0.1; done
    grep -q stored "$WORK/$1.out" || fail "the forged record $1 was not stored"
}
# A stranger's service on F that takes the connection and answers with
# something that is not pcp.
ip netns exec "$F" python3 -c '
import socket
s = socket.create_server(("192.0.2.2", 7001), backlog=16)
while True:
    c, _ = s.accept()
    c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    c.close()
' 2>"$WORK/stranger.err" &
for _ in $(seq 1 50); do ip netns exec "$F" ss -ltn | grep -q 192.0.2.2:7001 && break; sleep 0.1; done

# (a) A record whose t= is a billion seconds ahead, pointing at the
# stranger: it used to outrank the sender's genuine record (and, once
# dialled, end the receive). Now it is refused; the sender is found.
CODE=$(new_code)
put_forged far 1000000000 192.0.2.2:7001 "$(channel_of "$CODE")"
ns_send "$A" "$WORK/sender4.json" "$WORK/sender4.err" --code "$CODE" \
    --relay "203.0.113.1:$RPORT" --dht-bootstrap "$BOOT_A" "$WORK/file.bin"
for _ in $(seq 1 100); do grep -q '"event":"dht","put"' "$WORK/sender4.json" && break; sleep 0.1; done
ns_receive "$B" "$WORK/receiver4.json" "$WORK/receiver4.err" --relay "203.0.113.1:$RPORT" \
    --dht-bootstrap "$BOOT_B" --timeout 30 --out "$WORK/out4"
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "far-future forged record: exit $RRC/$SRC"
cmp "$WORK/file.bin" "$WORK/out4/file.bin" || fail "content differs (far-future record)"
grep -q '"event":"dht".*"invalid":[1-9]' "$WORK/receiver4.json" ||
    fail "the far-future record was not refused: $(grep '"event":"dht"' "$WORK/receiver4.json")"
grep -q '"event":"path".*"peer":"192.0.2.2' "$WORK/receiver4.json" && fail "the forged record was dialled"
echo "far-future record: $(grep -o '"found_by":"[a-z]*"' "$WORK/receiver4.json")," \
    "$(grep '"event":"dht"' "$WORK/receiver4.json")"

# (b) Candidates that connect but fail the handshake, tried before the
# sender: on the LAN a pcp sender with another code (same channel), in the
# DHT the stranger's service and another such sender, both with a valid t=
# later than a genuine record's. The sender (no DHT record of its own) is
# at the relay; it starts once the receiver has its DHT records.
CODE=$(new_code)
CH=$(channel_of "$CODE")
other="${CODE%%-*}-$(shuf -n 3 "$WORDS" | paste -sd-)"
: >"$WORK/wrong_f.json"
: >"$WORK/wrong_b.json"
ip netns exec "$F" "$PCP" send --json --code "$other" --port 7002 --no-relay --no-dht \
    --text stranger >"$WORK/wrong_f.json" 2>"$WORK/wrong_f.err" &
ip netns exec "$B" "$PCP" send --json --code "$other" --no-relay --no-dht \
    --text stranger >"$WORK/wrong_b.json" 2>"$WORK/wrong_b.err" &
for _ in $(seq 1 100); do grep -q '"event":"code"' "$WORK/wrong_f.json" &&
    grep -q '"event":"code"' "$WORK/wrong_b.json" && break; sleep 0.05; done
put_forged garbage 400 192.0.2.2:7001 "$CH"
put_forged wrong 350 192.0.2.2:7002 "$CH"
: >"$WORK/receiver5.json"
PCP_CODE=$CODE ip netns exec "$B" "$PCP" receive --json --yes --relay "203.0.113.1:$RPORT" \
    --dht-bootstrap "$BOOT_B" --timeout 40 --out "$WORK/out5" >"$WORK/receiver5.json" \
    2>"$WORK/receiver5.err" &
RPID=$!
for _ in $(seq 1 300); do grep -q '"event":"dht"' "$WORK/receiver5.json" && break; sleep 0.1; done
grep -q '"event":"dht","found":true' "$WORK/receiver5.json" ||
    fail "the receiver did not get the forged records: $(cat "$WORK/receiver5.json")"
ns_send "$A" "$WORK/sender5.json" "$WORK/sender5.err" --code "$CODE" --no-dht \
    --relay "203.0.113.1:$RPORT" "$WORK/file.bin"
set +e
wait "$RPID"
RRC=$?
[ $RRC -eq 0 ] || kill "$SPID" 2>/dev/null
wait "$SPID"
SRC=$?
set -e
[ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "forged candidates, then the relay: exit $RRC/$SRC"
cmp "$WORK/file.bin" "$WORK/out5/file.bin" || fail "content differs (forged candidates)"
path=$(grep '"event":"path"' "$WORK/receiver5.json")
echo "$path" | grep -q '"found_by":"relay"' || fail "not through the relay: $path"
echo "$path" | grep -q '{"via":"mdns","peer":"[^"]*","stage":"handshake","error":"wrong_code"' ||
    fail "the LAN stranger not in the tries: $path"
echo "$path" | grep -q '{"via":"dht","peer":"192.0.2.2:7001","stage":"handshake"' ||
    fail "the DHT's stranger service not in the tries: $path"
echo "$path" | grep -q '{"via":"dht","peer":"192.0.2.2:7002","stage":"handshake","error":"wrong_code"' ||
    fail "the DHT's wrong-code sender not in the tries: $path"
echo "forged candidates: $(echo "$path" | grep -o '"tried":.*')"

# (c) The same with no sender and no relay: the receiver gives up, and its
# message and error event say what it tried.
set +e
PCP_CODE=$CODE ip netns exec "$B" "$PCP" receive --json --yes --no-relay --timeout 8 \
    --dht-bootstrap "$BOOT_B" --out "$WORK/out6" >"$WORK/receiver6.json" 2>"$WORK/receiver6.err"
rc=$?
set -e
[ $rc -eq 7 ] || fail "only strangers: exit $rc, want 7"
grep -q 'tried: the LAN ([^)]*: wrong code), the DHT (192.0.2.2:7001: handshake failed: .*), the DHT (192.0.2.2:7002: wrong code)' \
    "$WORK/receiver6.err" || fail "the message does not say what was tried: $(cat "$WORK/receiver6.err")"
grep -q '"event":"error".*"tried":\[{"via":"mdns".*{"via":"dht".*{"via":"dht"' "$WORK/receiver6.json" ||
    fail "the error event has no tries: $(cat "$WORK/receiver6.json")"
echo "only strangers: $(tail -1 "$WORK/receiver6.err")"
echo PASS
