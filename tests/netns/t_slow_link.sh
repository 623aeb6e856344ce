#!/usr/bin/env bash
# Adaptive compression on a slow link: two hosts joined by a veth pair shaped
# to 100 Mbit/s with tbf on both ends. Text sent with the default settings
# must cross mostly compressed (the sender found that compression moves more
# file bytes per second there); across the same link unshaped it must cross
# mostly raw; with --no-compress it must not be compressed at all. What is
# checked is the bytes on the wire (the done event's "wire" on both sides),
# never a time. The namespaces are made here and removed on exit.
set -euo pipefail
PCP=${PCP:?}
. "$(dirname "$0")/lib.bash"
need_root
tag=pcp$$
A=$tag-a B=$tag-b
NSS="$A $B"
pcp_workdir slow
FAIL_LOGS='*.err'
on_cleanup() { ns_teardown; }

ip netns add "$A"
ip netns add "$B"
ip link add eth0 netns "$A" type veth peer name eth0 netns "$B"
n=1
for h in "$A" "$B"; do
    ip -n "$h" link set lo up
    ip -n "$h" addr add "10.98.0.$n/24" dev eth0
    ip -n "$h" link set eth0 up
    ip netns exec "$h" tc qdisc add dev eth0 root tbf rate 100mbit burst 64kb latency 50ms
    n=$((n + 1))
done
ns_link_ready "$A" 10.98.0.2

# NAME MiB: words drawn from the code word list, about 3.5x with zstd.
make_text() {
    : >"$1"
    while [ "$(stat -c %s "$1")" -lt $(($2 << 20)) ]; do
        shuf -r -n 200000 "$(dirname "$0")/../../wordlist/english.txt" | paste -sd ' ' >>"$1"
    done
}

# transfer FILE [SENDER OPTIONS...]: one transfer from A to B; sets WS and
# WR, the wire bytes each side counted.
transfer() {
    local f=$1
    shift
    rm -rf "$WORK/out"
    ns_send "$A" "$WORK/sender.json" "$WORK/sender.err" --no-dht --no-relay "$@" "$f"
    ns_receive "$B" "$WORK/receiver.json" "$WORK/receiver.err" --no-dht --no-relay --out "$WORK/out"
    [ $RRC -eq 0 ] && [ $SRC -eq 0 ] || fail "$(basename "$f") $*: exit $RRC/$SRC"
    cmp "$f" "$WORK/out/$(basename "$f")" || fail "content differs"
    WS=$(sed -n 's/.*"event":"done".*"wire":\([0-9]*\).*/\1/p' "$WORK/sender.json")
    WR=$(sed -n 's/.*"event":"done".*"wire":\([0-9]*\).*/\1/p' "$WORK/receiver.json")
    [ -n "$WS" ] && [ "$WS" = "$WR" ] || fail "wire bytes: sender '$WS', receiver '$WR'"
    echo "  $(basename "$f") $*: $(stat -c %s "$f") bytes, $WS on the wire;" \
        "$(sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\).*/\1/p' "$WORK/receiver.json") s"
}

make_text "$WORK/text.txt" 40
size=$(stat -c %s "$WORK/text.txt")
transfer "$WORK/text.txt"
[ "$WS" -lt $((size * 6 / 10)) ] || fail "adaptive: $WS wire bytes for $size of text on a slow link"

# The same link unshaped: the CPU, not the link, is the limit, and the
# sender must find that out within a few chunks rather than compress the
# first 100 ms (one compression thread: slower than the link on any CPU).
for h in "$A" "$B"; do ip netns exec "$h" tc qdisc del dev eth0 root; done
transfer "$WORK/text.txt" --threads 1
[ "$WS" -gt $((size * 8 / 10)) ] || fail "adaptive, fast link: $WS wire bytes for $size of text"

head -c $((8 << 20)) "$WORK/text.txt" >"$WORK/part.txt"
transfer "$WORK/part.txt" --no-compress
[ "$WS" -gt $((8 << 20)) ] || fail "--no-compress: only $WS wire bytes for 8 MiB"
echo PASS
