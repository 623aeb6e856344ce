#!/usr/bin/env bash
# Strangers at the sender's port cannot stop the send (issue 20, item 8):
# (a) one that trickles message 1 blocks nobody; (b) peers that take
# message 2 and leave cost a guess each, not the send; (c) a source that
# guessed wrong waits (its next handshake is held) while another source is
# served; (d) the bound on wrong guesses ends a --json send with the
# attempts error; (e) on a terminal the sender offers a fresh code instead;
# (f) a stranger that trickles in the relay room keeps no receiver out.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
stranger() { /usr/bin/python3 "$HERE/stranger.py" "$@"; }
PORT=47311
MAX=20
echo hello >"$WORK/f"

# receive_by [options]: `receive`, but a receiver still running after 60 s
# fails the test instead of hanging it.
receive_by() {
    set +e
    timeout 60 "$PCP" receive --json "$@" >"$WORK/receiver.json" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
}

# guess_from ADDR: a stranger from ADDR that must get message 2.
guess_from() {
    local rc=0
    stranger guess 127.0.0.1 $PORT --bind "$1" || rc=$?
    [ $rc -eq 0 ] || fail "stranger at $1: exit $rc, want 0 (message 2 came)"
}

# (a) One byte every 2 s, never finishing message 1, while the receiver comes.
start_sender --port $PORT "$WORK/f"
stranger trickle 127.0.0.1 $PORT --bind 127.0.0.9 &
TRICKLE=$!
sleep 1
receive_by --yes --out "$WORK/a" "$CODE"
[ "$RECV_RC" -eq 0 ] || fail "(a) the receiver, with a trickling stranger: exit $RECV_RC"
wait_sender
[ "$SENDER_RC" -eq 0 ] || fail "(a) the sender, with a trickling stranger: exit $SENDER_RC"
cmp "$WORK/f" "$WORK/a/f" || fail "(a) content differs"
kill $TRICKLE 2>/dev/null || true
wait $TRICKLE 2>/dev/null || true

# (b) Three strangers that read message 2 and close: the send goes on.
start_sender --port $PORT "$WORK/f"
for a in 127.0.0.2 127.0.0.3 127.0.0.4; do guess_from $a; done
for _ in $(seq 1 50); do # the sender counts the last one a moment later
    [ "$(grep -c '"event":"wrong_code"' "$WORK/sender.json")" -eq 3 ] && break
    sleep 0.1
done
kill -0 "$SENDER_PID" 2>/dev/null || fail "(b) the sender stopped after three strangers"
[ "$(grep -c '"event":"wrong_code"' "$WORK/sender.json")" -eq 3 ] || fail "(b) want 3 wrong_code events"
grep -q "\"max\":$MAX" "$WORK/sender.json" || fail "(b) wrong_code events do not say max $MAX"
receive_by --yes --out "$WORK/b" "$CODE"
[ "$RECV_RC" -eq 0 ] || fail "(b) after three strangers: receiver exit $RECV_RC"
wait_sender
[ "$SENDER_RC" -eq 0 ] || fail "(b) after three strangers: sender exit $SENDER_RC"
cmp "$WORK/f" "$WORK/b/f" || fail "(b) content differs"

# (c) Back-off: after its wrong guess, 127.0.0.2's next handshake is held
# for 2 s (exit 4: message 2 had not come after 1 s, then came), a third
# connection of it meanwhile is closed at once (exit 2), and 127.0.0.3 is
# served at once all the while.
start_sender --port $PORT "$WORK/f"
guess_from 127.0.0.2
stranger guess 127.0.0.1 $PORT --bind 127.0.0.2 --hold-ms 1000 --wait 20 &
HELD=$!
sleep 0.3
rc=0
stranger guess 127.0.0.1 $PORT --bind 127.0.0.2 || rc=$?
[ $rc -eq 2 ] || fail "(c) a second connection of a source in back-off: exit $rc, want 2 (closed)"
guess_from 127.0.0.3
rc=0
wait $HELD || rc=$?
[ $rc -eq 4 ] || fail "(c) the source in back-off: exit $rc, want 4 (held, then served)"
receive_by --yes --out "$WORK/c" "$CODE"
[ "$RECV_RC" -eq 0 ] || fail "(c) after the back-off: receiver exit $RECV_RC"
wait_sender
[ "$SENDER_RC" -eq 0 ] || fail "(c) after the back-off: sender exit $SENDER_RC"

# (d) The bound: MAX wrong guesses (from as many sources, so no back-off
# slows them) end a --json send with the attempts error.
start_sender --port $PORT "$WORK/f"
for i in $(seq 1 $MAX); do
    guess_from 127.0.0.$((i + 10))
    if [ "$i" -lt $MAX ]; then
        sleep 0.1
        kill -0 "$SENDER_PID" 2>/dev/null || fail "(d) the sender stopped after $i wrong guesses"
    fi
done
wait_sender
[ "$SENDER_RC" -eq 3 ] || fail "(d) sender exit $SENDER_RC after $MAX wrong guesses, want 3"
grep -q '"event":"error","code":"wrong_code","exit":3' "$WORK/sender.json" ||
    fail "(d) no JSON error event"
grep -q 'guessing' "$WORK/sender.err" || fail "(d) the sender did not warn about guessing"
grep -q "$MAX from\|1 from 127.0.0.11" "$WORK/sender.err" || fail "(d) the sender did not say who tried"

# (e) On a terminal the sender asks for a fresh code, and the receiver with
# the new one gets the file.
timeout 120 /usr/bin/python3 - "$PCP" "$HERE" "$WORK" $PORT $MAX <<'EOF' || fail "(e) the fresh-code prompt"
import os, pty, re, select, subprocess, sys, time
pcp, here, work, port, nmax = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
pid, fd = pty.fork()
if pid == 0:
    os.execv(pcp, [pcp, "send", "--port", str(port), "--no-relay", work + "/f"])
seen = b""
def expect(pat, t=30):
    global seen
    end = time.time() + t
    while time.time() < end:
        m = re.search(pat, seen)
        if m:
            seen = seen[m.end():]
            return m
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    sys.exit("(e) never saw %r; got %r" % (pat, seen[-500:]))
old = expect(rb"Code: ([a-z-]+)").group(1).decode()
for i in range(nmax):
    rc = subprocess.call(["/usr/bin/python3", here + "/stranger.py", "guess", "127.0.0.1",
                          str(port), "--bind", "127.0.1.%d" % (i + 1)])
    if rc != 0:
        sys.exit("(e) stranger %d: exit %d" % (i + 1, rc))
expect(rb"Make a new code and keep waiting\? \[Y/n\]")
os.write(fd, b"y\n")
new = expect(rb"Code: ([a-z-]+)").group(1).decode()
if new == old:
    sys.exit("(e) the same code again")
# The sender's terminal is read while the receiver runs, so that it never
# blocks on a full pty.
r = subprocess.Popen([pcp, "receive", "--yes", "--out", work + "/e", new],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
expect(rb"Sent 1 file", 60)
if r.wait(timeout=60) != 0:
    sys.exit("(e) receiver with the new code: exit %d" % r.returncode)
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) != 0:
    sys.exit("(e) sender exit %d" % os.waitstatus_to_exitcode(st))
EOF
cmp "$WORK/f" "$WORK/e/f" || fail "(e) content differs"

# (f) Through a relay: the stranger joins the sender's room and trickles;
# the sender waits in a fresh room at once, and the receiver gets there.
start_relay
start_sender --relay "$RELAY" --force-relay "$WORK/f"
stranger relay-trickle "${RELAY%:*}" "${RELAY##*:}" --code "$CODE" >"$WORK/rtrickle.out" &
TRICKLE=$!
for _ in $(seq 1 100); do
    grep -q joined "$WORK/rtrickle.out" && break
    kill -0 $TRICKLE 2>/dev/null || fail "(f) the stranger could not join the room"
    sleep 0.1
done
sleep 1
PCP_CODE=$CODE receive_by --relay "$RELAY" --force-relay --yes --out "$WORK/f_out"
[ "$RECV_RC" -eq 0 ] || fail "(f) the receiver, with a stranger in the relay room: exit $RECV_RC"
wait_sender
[ "$SENDER_RC" -eq 0 ] || fail "(f) the sender: exit $SENDER_RC"
cmp "$WORK/f" "$WORK/f_out/f" || fail "(f) content differs"
kill $TRICKLE 2>/dev/null || true
echo PASS
