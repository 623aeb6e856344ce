#!/usr/bin/env bash
# Transfers across the Internet through the DHT's mailboxes alone
# (discovery/path/mbox.h): no relay anywhere, no LAN in common. The NAT lab
# of t_nat_lab.sh (lib.bash's ns_lab, a fresh set of namespaces per case)
# with a private OpenDHT network, three dhtnode processes on the internet's
# machine (PUB, 203.0.113.1, ports 4222-4224), and a third host F on the
# internet (203.0.113.50) that watches or forges mailbox values with
# dht_tool:
#
#   H1 (sender) --- R1 ---+
#                          br0 203.0.113.1 in PUB: dhtnode x3
#   H2 (receiver) - R2 ---+--- F 203.0.113.50
#
# Cases (sender router, receiver router):
#   cone / cone         done, "punched", found by the DHT; the code-to-first-
#                       byte time; F dumps the four mailbox keys meanwhile:
#                       every message type went by, and no value holds an
#                       address of a host or router, raw or as text
#   public / cone       "direct" (the sender's host has a public address)
#   natpmp / symmetric  "mapped" (miniupnpd maps the sender's punch port)
#   IPv6                both symmetric for IPv4, global IPv6 addresses behind
#                       stateful IPv6 firewalls: "punched" over IPv6; F dumps
#                       as above, IPv6 addresses among the needles
#   symmetric / symm.   the code is proven but nothing connects: the receiver
#                       exits 7 by itself within 15 s, its message naming
#                       --relay, an error event in its JSON
#   forgers             cone / cone while F forges values into both
#                       mailboxes, before and during (dht_tool forge), and
#                       races the receiver's R2 with one of random bytes
#                       (an aid is public): done
#   no DHT node         a bootstrap address where nothing listens: exit 7,
#                       a message about the DHT
# Prints, per case, the path, the peer, the first-byte and receive times.
# PCP_DHT_CASES="cone forgers" runs only those (case_NAME below).
set -euo pipefail
PCP=${PCP:?}
DHT_TOOL=${DHT_TOOL:-}
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/upnp_lib.bash"
need_root
need_tools ip iptables ip6tables python3 sha256sum
# CI sets PCP_REQUIRE_DHT=1: there a missing piece is a failure, not a skip.
skip() { echo "SKIP: $*"; [ -n "${PCP_REQUIRE_DHT:-}" ] && exit 1; exit 77; }
[ -x "$DHT_TOOL" ] || skip "built without OpenDHT (no dht_tool)"
command -v dhtnode >/dev/null || skip "dhtnode not installed (apt install dhtnode)"
"$PCP" --version | grep -q '^DHT: OpenDHT' || skip "pcp built without OpenDHT"
PUBIP=203.0.113.1
FIP=203.0.113.50
BOOT_S=$PUBIP:4222 # the sender's bootstrap node
BOOT_R=$PUBIP:4223 # the receiver's
BOOT_F=$PUBIP:4224 # F's
NSS=
NS_TIMEOUT=40 # no pcp runs longer
pcp_workdir dht
FAIL_LOGS='*.err *.json *.out *.hex'
on_cleanup() { ns_teardown; }
trap 'exit 1' INT TERM
WORDS=$(dirname "$0")/../../wordlist/english.txt
now_ms() { date +%s%3N; }
new_code() { shuf -n 4 "$WORDS" | paste -sd-; }
# channel_of CODE: the index of its first word.
channel_of() { echo $(($(grep -nx "${1%%-*}" "$WORDS" | cut -d: -f1) - 1)); }

# dht_lab KIND1 KIND2 [v6]: ns_lab, F on the internet, and the DHT: three
# nodes in PUB joined to each other, each answering before this returns.
dht_lab() {
    local p b=() _
    rm -rf "$WORK/out" "$WORK"/*.json "$WORK"/*.err "$WORK"/*.out "$WORK"/*.hex "$WORK"/upnp*
    ns_lab "$@"
    F=${PUB%-pub}-f
    NSS="$NSS $F"
    ip netns add "$F"
    ip -n "$F" link set lo up
    ip link add "f" netns "$PUB" type veth peer name eth0 netns "$F"
    ip -n "$PUB" link set f master br0 up
    ip -n "$F" addr add "$FIP/24" dev eth0
    ip -n "$F" link set eth0 up
    ip -n "$F" route add default via "$PUBIP"
    if [ "${3:-}" = v6 ]; then
        # Neighbour discovery starts once the link-local addresses are no
        # longer tentative (about 2 s): until then IPv6 goes nowhere.
        for _ in $(seq 1 100); do
            b=()
            for p in $NSS; do ip -n "$p" -6 addr | grep -q tentative && b+=("$p"); done
            [ ${#b[@]} -gt 0 ] || break
            sleep 0.05
        done
        for p in "$H1" "$H2"; do
            nsx "$p" ping -6 -c1 -W2 2001:db8::1 >/dev/null || fail "no IPv6 from $p"
        done
    fi
    b=()
    for p in 4222 4223 4224; do
        nsx "$PUB" dhtnode -s -p $p "${b[@]}" </dev/null >"$WORK/node$p.out" 2>&1 &
        b=(-b "$BOOT_S")
        for _ in $(seq 1 100); do
            nsx "$PUB" ss -lun | grep -q ":$p " && break
            sleep 0.05
        done
        nsx "$PUB" ss -lun | grep -q ":$p " || fail "dhtnode on port $p did not start"
    done
}

# fw6 R: a stateful IPv6 firewall on router R: what its LAN starts goes
# out and its answers come back; nothing new comes in from outside.
fw6() {
    nsx "$1" ip6tables -P FORWARD DROP
    nsx "$1" ip6tables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    nsx "$1" ip6tables -A FORWARD -i lan -o wan -j ACCEPT
}

# bucket_margin: a watcher on F computes its keys once; start no case it
# watches in the last 15 s of a five-minute bucket, when pcp would move on
# to the next bucket's keys.
bucket_margin() {
    local s=$(($(date +%s) % 300))
    [ $s -lt 285 ] || sleep $((301 - s))
}

# watch_start CODE: dht_tool dump on F for CODE's channel into
# $WORK/dump.hex, in the background (WPID).
watch_start() {
    : >"$WORK/dump.hex"
    ip netns exec "$F" "$DHT_TOOL" dump "$BOOT_F" "$(channel_of "$1")" 120 >"$WORK/dump.hex" \
        2>"$WORK/dump.err" &
    WPID=$!
}

# watch_check NEEDLE...: ends the dump (once every message type is in it,
# or after 5 s), then fails when a value holds one of the addresses NEEDLE
# in any form (IPv4: the 4 bytes either way round, dotted, as hex text;
# IPv6: the 16 bytes, as text), or when a type is missing.
watch_check() {
    local _
    for _ in $(seq 1 50); do
        [ "$(cut -c9-10 "$WORK/dump.hex" | sort -u | grep -c '^0[1-4]$')" -eq 4 ] && break
        sleep 0.1
    done
    kill "$WPID" 2>/dev/null || true
    wait "$WPID" 2>/dev/null || true
    python3 - "$WORK/dump.hex" "$@" <<'EOF' || fail "the mailboxes gave something away"
import ipaddress, sys
values = [bytes.fromhex(l) for l in open(sys.argv[1]).read().split()]
forms = {}
for a in sys.argv[2:]:
    ip = ipaddress.ip_address(a)
    raw = ip.packed
    f = {raw, str(ip).encode(), ip.exploded.encode(), str(ip).upper().encode(),
         ip.exploded.upper().encode()}
    if ip.version == 4:
        f |= {raw[::-1], raw.hex().encode(), raw.hex().upper().encode()}
    forms[a] = f
bad = [(i, a) for i, v in enumerate(values) for a, f in forms.items() for x in f if x in v]
types = {t: sum(1 for v in values if v[:4] == b"pcp2" and len(v) > 4 and v[4] == t)
         for t in (1, 2, 3, 4)}
print("%d values: R1 %d, S1 %d, R2 %d, S2 %d" % ((len(values),) + tuple(types.values())))
for i, a in bad:
    print("value %d holds %s: %s" % (i, a, values[i].hex()))
missing = [n for t, n in zip((1, 2, 3, 4), ("R1", "S1", "R2", "S2")) if types[t] == 0]
if missing:
    print("no " + ", ".join(missing) + " seen")
sys.exit(1 if bad or missing else 0)
EOF
}

head -c $((2 * 1024 * 1024)) /dev/urandom >"$WORK/big"

# xfer NAME WANT [--code CODE]: a transfer of $WORK/big from H1 to H2
# through the DHT alone; WANT is the path both must report. Prints the
# table's row; sets PEER (the receiver's peer).
xfer() {
    local name=$1 want=$2 t0 t1 path xfer_ms
    shift 2
    ns_send "$H1" "$WORK/sender.json" "$WORK/sender.err" --no-relay --dht-bootstrap "$BOOT_S" \
        "$@" "$WORK/big"
    [ -z "${ON_CODE:-}" ] || $ON_CODE "$CODE"
    t0=$(now_ms)
    ns_receive "$H2" "$WORK/receiver.json" "$WORK/receiver.err" --no-relay \
        --dht-bootstrap "$BOOT_R" --out "$WORK/out"
    t1=$(now_ms)
    [ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "$name: exit $RRC/$SRC"
    [ "$(sha256sum <"$WORK/out/big")" = "$(sha256sum <"$WORK/big")" ] || fail "$name: content differs"
    path=$(sed -n 's/.*"event":"path","path":"\([a-z]*\)".*/\1/p' "$WORK/receiver.json" | tail -1)
    PEER=$(sed -n 's/.*"event":"path","path":"[a-z]*","peer":"\([^"]*\)".*/\1/p' "$WORK/receiver.json" |
        tail -1)
    grep '"event":"path"' "$WORK/receiver.json" | tail -1 | grep -q '"found_by":"dht"' ||
        fail "$name: not found through the DHT"
    grep -q "\"event\":\"connected\".*\"path\":\"$path\"" "$WORK/sender.json" ||
        fail "$name: the sender reports another path than the receiver ($path)"
    # First byte: the receive time less the transfer's own.
    xfer_ms=$(sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\).*/\1/p' "$WORK/receiver.json" |
        awk '{ printf "%d", $1 * 1000 }')
    printf '%-18s %-9s %-28s %11s %10s\n' "$name" "$path" "$PEER" "$((t1 - t0 - xfer_ms))" \
        "$((t1 - t0))"
    [ "$path" = "$want" ] || fail "$name: path $path, want $want"
}

# cone / cone, F watching.
case_cone() {
    bucket_margin
    dht_lab cone cone
    ON_CODE=watch_start xfer cone/cone punched
    watch_check 10.1.0.2 10.2.0.2 10.1.0.1 10.2.0.1 203.0.113.11 203.0.113.12
}

case_public() {
    dht_lab public cone
    xfer public/cone direct
    case $PEER in
    192.0.2.2 | 192.0.2.2:*) ;;
    *) fail "public/cone: the peer is $PEER, not the sender's own address" ;;
    esac
}

case_mapped() {
    if ! command -v miniupnpd >/dev/null || ! command -v iptables-legacy >/dev/null; then
        echo "(no miniupnpd or iptables-legacy: no mapped case)"
        return 0
    fi
    dht_lab natpmp symmetric
    xfer natpmp/symmetric mapped
    grep -q '"event":"connected".*"portmap":"natpmp"' "$WORK/sender.json" ||
        fail "natpmp/symmetric: the sender's port was not mapped by NAT-PMP"
}

# IPv6 behind stateful firewalls, IPv4 through symmetric NATs (no use).
case_ipv6() {
    bucket_margin
    dht_lab symmetric symmetric v6
    fw6 "$R1"
    fw6 "$R2"
    ON_CODE=watch_start xfer ipv6 punched
    # (A peer found by the DHT is shown without its port, one punched
    # after the relay as [ADDR]:PORT.)
    case $PEER in
    2001:db8:1::2 | "[2001:db8:1::2]:"*) ;;
    *) fail "ipv6: not punched over IPv6 ($PEER)" ;;
    esac
    watch_check 10.1.0.2 10.2.0.2 10.1.0.1 10.2.0.1 203.0.113.11 203.0.113.12 \
        2001:db8:1::2 2001:db8:2::2 2001:db8:1::1 2001:db8:2::1 2001:db8::11 2001:db8::12
}

# symmetric / symmetric: the code is proven, nothing connects; the
# receiver says so by itself (timeout's 124 would be a hang).
case_symmetric() {
    local t0 t1 rc
    dht_lab symmetric symmetric
    ns_send "$H1" "$WORK/sender.json" "$WORK/sender.err" --no-relay --dht-bootstrap "$BOOT_S" \
        "$WORK/big"
    t0=$(now_ms)
    set +e
    PCP_CODE=$CODE nsx "$H2" timeout 20 "$PCP" receive --json --yes --no-relay \
        --dht-bootstrap "$BOOT_R" --out "$WORK/out" >"$WORK/receiver.json" 2>"$WORK/receiver.err"
    rc=$?
    set -e
    t1=$(now_ms)
    kill "$SPID" 2>/dev/null || true # it waits for another receiver
    wait "$SPID" 2>/dev/null || true
    printf '%-18s %-9s %-28s %11s %10s\n' symmetric/symmetric - "exit $rc" - "$((t1 - t0))"
    [ $rc -ne 124 ] || fail "symmetric/symmetric: the receiver hung"
    [ $rc -eq 7 ] || fail "symmetric/symmetric: exit $rc, want 7"
    grep -q -- '--relay' "$WORK/receiver.err" || fail "symmetric/symmetric: the message names no --relay"
    grep -q '"event":"error"' "$WORK/receiver.json" || fail "symmetric/symmetric: no error event"
    [ $((t1 - t0)) -le 15000 ] || fail "symmetric/symmetric: the receiver took $((t1 - t0)) ms"
    echo "  $(tail -1 "$WORK/receiver.err")"
}

# Forgers: F puts garbage and forged mailbox values into both mailboxes,
# from before the sender starts until the transfer is done. The code is
# ours, so that F knows its channel beforehand. F also races the
# receiver's R2 with one of random bytes: that costs the sender a guess,
# and must not end the real attempt (it did once).
case_forgers() {
    local code fpid
    dht_lab cone cone
    code=$(new_code)
    ip netns exec "$F" "$DHT_TOOL" forge "$BOOT_F" "$(channel_of "$code")" 120 \
        r2 >"$WORK/forge.out" 2>"$WORK/forge.err" &
    fpid=$!
    sleep 3
    xfer forgers punched --code "$code"
    kill -TERM "$fpid"
    wait "$fpid" || fail "forgers: dht_tool forge failed"
    grep -q 'aids [1-9]' "$WORK/forge.out" || fail "forgers: F saw no R1 of the receiver's"
    echo "  F: $(cat "$WORK/forge.out"); the sender's wrong guesses:" \
        "$(grep -c '"event":"wrong_code"' "$WORK/sender.json")"
}

# No DHT node answers: the receiver says so, exit 7.
case_nodht() {
    local rc
    dht_lab cone cone
    set +e
    PCP_CODE=$(new_code) nsx "$H2" timeout 20 "$PCP" receive --json --yes --no-relay --timeout 4 \
        --dht-bootstrap "$PUBIP:9" --out "$WORK/out" >"$WORK/receiver.json" 2>"$WORK/receiver.err"
    rc=$?
    set -e
    [ $rc -eq 7 ] || fail "no DHT node: exit $rc, want 7"
    grep -q 'the DHT: no node answered' "$WORK/receiver.err" ||
        fail "no DHT node: no message about it: $(cat "$WORK/receiver.err")"
    echo "no DHT node: $(tail -1 "$WORK/receiver.err")"
}

printf '%-18s %-9s %-28s %11s %10s\n' case path peer "1st byte ms" "receive ms"
# PCP_DHT_CASES="cone forgers" runs only those (while debugging).
for c in cone public mapped ipv6 symmetric forgers nodht; do
    [ -z "${PCP_DHT_CASES:-}" ] || [[ " $PCP_DHT_CASES " == *" $c "* ]] || continue
    "case_$c"
    ns_teardown
done
echo PASS
