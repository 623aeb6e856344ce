#!/usr/bin/env bash
# Resume: a transfer killed (-9) part-way, on either side and at points
# drawn from several seeds, continues where it stopped when both run again
# (a new code), and the file arrives byte-identical; the receiver offers
# the .pcp-part it kept, the sender checks that prefix against its own file
# and sends only the rest; both say how much is resumed. A .pcp-part whose
# content differs from the sender's file is started over, not trusted.
# The loopback is slowed (tc tbf, in this test's own namespace) so that
# the kill lands mid-way.
. "$(dirname "$0")/lib.sh"
tc qdisc add dev lo root tbf rate 400mbit burst 256kb latency 50ms
size=$((48 * 1024 * 1024))
head -c "$size" /dev/urandom >"$WORK/big.bin"
part="$WORK/out/big.bin.pcp-part"

# part_size: bytes in the .pcp-part now (0 when there is none).
part_size() { stat -c %s "$part" 2>/dev/null || echo 0; }

# interrupt VICTIM MIN_BYTES [OPTIONS]: start a transfer into $WORK/out and
# kill -9 the sender, the receiver or the relay once the .pcp-part holds
# MIN_BYTES or more.
interrupt() {
    local victim=$1 min=$2 rpid
    shift 2
    start_sender --no-compress "$@" "$WORK/big.bin"
    "$PCP" receive --json --yes --out "$WORK/out" "$@" "$CODE" >"$WORK/receiver.json" \
        2>"$WORK/receiver.err" &
    rpid=$!
    for _ in $(seq 1 600); do
        [ "$(part_size)" -ge "$min" ] && break
        kill -0 "$rpid" 2>/dev/null || fail "the receiver ended before the kill point ($min)"
        sleep 0.01
    done
    case $victim in
    receiver) kill -9 "$rpid" ;;
    sender) kill -9 "$SENDER_PID" ;;
    relay) kill -9 "$RELAY_PID" ;;
    esac
    set +e
    wait "$rpid" 2>/dev/null
    wait "$SENDER_PID" 2>/dev/null
    set -e
    [ ! -e "$WORK/out/big.bin" ] || fail "a final name after the kill"
}

# finish WANT_RESUMED [OPTIONS]: run both again; the file must arrive
# whole, with WANT_RESUMED bytes not sent again.
finish() {
    local want=$1 sent
    shift
    start_sender --no-compress "$@" "$WORK/big.bin"
    receive --yes --out "$WORK/out" "$@" "$CODE"
    wait_sender
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "resume: exit $RECV_RC/$SENDER_RC"
    cmp "$WORK/big.bin" "$WORK/out/big.bin" || fail "resumed file differs"
    [ ! -e "$part" ] || fail "the .pcp-part outlived the transfer"
    sent=$(sed -n 's/.*"event":"done","bytes":\([0-9]*\).*/\1/p' "$WORK/sender.json")
    [ "$sent" -eq $((size - want)) ] || fail "sent $sent bytes, want $((size - want))"
    if [ "$want" -gt 0 ]; then
        grep -q "\"event\":\"resume\",\"files\":1,\"bytes\":$want" "$WORK/sender.json" ||
            fail "the sender did not say it resumes $want bytes"
    fi
    rm -rf "$WORK/out"
}

# kill -9 at points from several seeds, either side
for seed in 1 2 3 4; do
    RANDOM=$seed
    min=$((1024 * 1024 + RANDOM * 1024 % (size / 2)))
    victim=$([ $((seed % 2)) -eq 1 ] && echo receiver || echo sender)
    interrupt "$victim" "$min"
    have=$(part_size)
    [ "$have" -gt 0 ] && [ "$have" -lt "$size" ] || fail "seed $seed: .pcp-part of $have bytes"
    finish "$have"
    grep -q "\"event\":\"resume\",\"files\":1,\"bytes\":$have" "$WORK/receiver.json" ||
        fail "seed $seed: the receiver did not offer its $have bytes"
    echo "seed $seed: $victim killed at $have of $size bytes; resumed"
done

# the relay dies mid-way; the transfer resumes through a new one
start_relay
interrupt relay $((8 * 1024 * 1024)) --relay "$RELAY" --force-relay
have=$(part_size)
start_relay
finish "$have" --relay "$RELAY" --force-relay
echo "relay killed at $have of $size bytes; resumed through a new relay"

# the network drops mid-way (every TCP packet on this namespace's loopback
# dropped, no process killed): both sides notice the stall, keep what
# arrived and exit; once the network is back, the transfer resumes
start_sender --no-compress --stall-timeout 2 "$WORK/big.bin"
"$PCP" receive --json --yes --out "$WORK/out" --stall-timeout 2 "$CODE" >"$WORK/receiver.json" \
    2>"$WORK/receiver.err" &
rpid=$!
for _ in $(seq 1 600); do
    [ "$(part_size)" -ge $((8 * 1024 * 1024)) ] && break
    sleep 0.01
done
iptables -I INPUT -i lo -p tcp -j DROP
set +e
wait "$rpid"
RECV_RC=$?
set -e
wait_sender
iptables -D INPUT -i lo -p tcp -j DROP
[ "$RECV_RC" -eq 7 ] && [ "$SENDER_RC" -eq 7 ] || fail "network drop: exit $RECV_RC/$SENDER_RC, want 7/7"
grep -q '"message":"the transfer stalled' "$WORK/receiver.json" || fail "receiver: no stall message"
grep -q '"message":"the transfer stalled' "$WORK/sender.json" || fail "sender: no stall message"
[ ! -e "$WORK/out/big.bin" ] || fail "a final name after the drop"
have=$(part_size)
[ "$have" -gt 0 ] && [ "$have" -lt "$size" ] || fail "network drop: .pcp-part of $have bytes"
finish "$have"
echo "network dropped at $have of $size bytes; resumed"

# a .pcp-part that is not a prefix of the sender's file is sent again
interrupt receiver $((4 * 1024 * 1024))
printf 'X' | dd of="$part" bs=1 seek=1000 conv=notrunc status=none
finish 0
echo PASS
