#!/usr/bin/env bash
# What the receiver finds under a file's .pcp-part name is not trusted: a
# hard link to a file outside the target is never written through (with or
# without --overwrite), a FIFO never blocks the receiver, and a part from
# an interrupted transfer of another offer (the source's mtime or size
# changed since) is not offered for resume; the genuine one still is. Modes
# follow the receiver's umask, and a directory swapped for a link while the
# transfer runs does not pass the directory's mode on to the link's target.
# The loopback is slowed (tc tbf, in this test's own namespace) so that a
# kill or a swap lands mid-way.
. "$(dirname "$0")/lib.sh"
tc qdisc add dev lo root tbf rate 400mbit burst 256kb latency 50ms
umask 022
size=$((32 * 1024 * 1024))
head -c "$size" /dev/urandom >"$WORK/big.bin"
part="$WORK/out/big.bin.pcp-part"
part_size() { stat -c %s "$part" 2>/dev/null || echo 0; }

# interrupt MIN_BYTES: start a transfer of big.bin into $WORK/out and kill
# -9 the receiver once the .pcp-part holds MIN_BYTES or more.
interrupt() {
    local min=$1 rpid
    start_sender --no-compress "$WORK/big.bin"
    "$PCP" receive --json --yes --out "$WORK/out" "$CODE" >"$WORK/receiver.json" \
        2>"$WORK/receiver.err" &
    rpid=$!
    for _ in $(seq 1 600); do
        [ "$(part_size)" -ge "$min" ] && break
        kill -0 "$rpid" 2>/dev/null || fail "the receiver ended before the kill point ($min)"
        sleep 0.01
    done
    kill -9 "$rpid"
    set +e
    wait "$rpid" 2>/dev/null
    wait "$SENDER_PID" 2>/dev/null
    set -e
    [ ! -e "$WORK/out/big.bin" ] || fail "a final name after the kill"
}

# finish WANT_RESUMED [receive options]: run both again (the receiver
# bounded by a timeout: a hang is a failure); big.bin must arrive whole,
# with WANT_RESUMED bytes not sent again, offered and matched.
finish() {
    local want=$1 sent
    shift
    start_sender --no-compress "$WORK/big.bin"
    set +e
    timeout 120 "$PCP" receive --json --yes --out "$WORK/out" "$@" "$CODE" \
        >"$WORK/receiver.json" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
    wait_sender
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "exit $RECV_RC/$SENDER_RC"
    cmp "$WORK/big.bin" "$WORK/out/big.bin" || fail "the file that arrived differs"
    [ ! -e "$part" ] || fail "the .pcp-part outlived the transfer"
    sent=$(sed -n 's/.*"event":"done","bytes":\([0-9]*\).*/\1/p' "$WORK/sender.json")
    [ "$sent" -eq $((size - want)) ] || fail "sent $sent bytes, want $((size - want))"
    if [ "$want" -gt 0 ]; then
        grep -q "\"event\":\"resume\",\"files\":1,\"bytes\":$want" "$WORK/receiver.json" ||
            fail "the receiver did not offer its $want bytes"
        grep -q "\"event\":\"resume\",\"files\":1,\"bytes\":$want" "$WORK/sender.json" ||
            fail "the sender did not resume $want bytes"
    else
        ! grep -q '"event":"resume"' "$WORK/receiver.json" || fail "the receiver offered to resume"
        ! grep -q '"event":"resume"' "$WORK/sender.json" || fail "the sender resumed"
    fi
    rm -rf "$WORK/out"
}

# 1. A .pcp-part that is a hard link to a file outside the target: that
# file keeps its content, the transfer replaces only the name.
mkdir -p "$WORK/out"
echo precious >"$WORK/victim"
ln "$WORK/victim" "$part"
finish 0
[ "$(cat "$WORK/victim")" = precious ] || fail "hard link: the file outside the target was written"
echo "hard-linked part: replaced, the linked file untouched"

# ... also when the link is to a genuine part of this very offer (it then
# has two names, and is not ours to go on with), and with --overwrite.
interrupt $((4 * 1024 * 1024))
ln "$part" "$WORK/victim2"
cp "$WORK/victim2" "$WORK/victim2.orig"
finish 0 --overwrite
cmp "$WORK/victim2" "$WORK/victim2.orig" || fail "hard link to a genuine part: written through"
echo "hard link to a genuine part: not resumed, the other name untouched"

# 2. A FIFO of that name: replaced, never opened for writing (which would
# wait for a reader forever; finish bounds the receiver with a timeout).
mkdir -p "$WORK/out"
mkfifo "$part"
finish 0
echo "FIFO part: replaced, no hang"

# 3. The genuine interrupted transfer resumes ...
interrupt $((4 * 1024 * 1024))
have=$(part_size)
finish "$have"
echo "interrupted at $have bytes: resumed"

# ... but not once the source is another offer: same bytes, another mtime
# (the part is not offered at all, though its prefix would match) ...
interrupt $((4 * 1024 * 1024))
touch -d '2001-02-03 04:05:06' "$WORK/big.bin"
finish 0
echo "another mtime: not offered for resume"

# ... or another size.
interrupt $((4 * 1024 * 1024))
head -c 1000 /dev/urandom >>"$WORK/big.bin"
size=$((size + 1000))
finish 0
echo "another size: not offered for resume"

# 4. Modes: the offer's, less the receiver's umask; a directory keeps rwx
# for its owner.
mkdir -p "$WORK/tree/d"
head -c 1000 /dev/urandom >"$WORK/tree/f"
chmod 0666 "$WORK/tree/f"
chmod 0777 "$WORK/tree/d" "$WORK/tree"
for mask in 077:700:600 022:755:644; do
    IFS=: read -r um dmode fmode <<<"$mask"
    start_sender "$WORK/tree"
    (umask "$um" && receive --yes --out "$WORK/out" "$CODE")
    wait_sender
    [ "$SENDER_RC" -eq 0 ] || fail "umask $um: sender exit $SENDER_RC"
    got="$(stat -c %a "$WORK/out/tree") $(stat -c %a "$WORK/out/tree/d") $(stat -c %a "$WORK/out/tree/f")"
    [ "$got" = "$dmode $dmode $fmode" ] || fail "umask $um: modes $got, want $dmode $dmode $fmode"
    rm -rf "$WORK/out"
    echo "umask $um: directories $dmode, file $fmode"
done

# 5. A directory the receiver made, swapped for a link to a directory
# outside the target while the transfer runs: the directory's mode is not
# set through the link.
mkdir -p "$WORK/src/top/d" "$WORK/outside"
chmod 0777 "$WORK/src/top/d"
chmod 0700 "$WORK/outside"
head -c "$size" /dev/urandom >"$WORK/src/top/big.bin"
start_sender --no-compress "$WORK/src/top"
"$PCP" receive --json --yes --out "$WORK/out" "$CODE" >"$WORK/receiver.json" \
    2>"$WORK/receiver.err" &
rpid=$!
for _ in $(seq 1 600); do
    [ "$(stat -c %s "$WORK/out/top/big.bin.pcp-part" 2>/dev/null || echo 0)" -ge $((1024 * 1024)) ] &&
        break
    sleep 0.01
done
[ -d "$WORK/out/top/d" ] || fail "link swap: the directory was not made before the data"
rmdir "$WORK/out/top/d"
ln -s "$WORK/outside" "$WORK/out/top/d"
set +e
wait "$rpid"
RECV_RC=$?
set -e
wait_sender
cmp "$WORK/src/top/big.bin" "$WORK/out/top/big.bin" || fail "link swap: the file did not arrive"
[ "$(stat -c %a "$WORK/outside")" = 700 ] ||
    fail "link swap: the directory outside became $(stat -c %a "$WORK/outside")"
echo "directory swapped for a link: its target untouched (receiver exit $RECV_RC)"
echo PASS
