#!/usr/bin/env bash
# The prompt shows where files land. `pcp send a.jpg b.jpg c.jpg .ssh` into a
# receiver that has a .ssh of its own: every top-level name is listed, the
# hidden one marked, the merge into the existing directory named; a plain
# 'y' does not accept it (a typed 'yes' does), --yes alone refuses it and
# --yes --merge takes it. A long offer lists a screenful, then a count.
. "$(dirname "$0")/lib.sh"
PTY="/usr/bin/python3 $(dirname "$0")/pty_answer.py"
src=$WORK/src
mkdir -p "$src/.ssh" "$WORK/out/.ssh"
for f in a.jpg b.jpg c.jpg; do echo "$f" >"$src/$f"; done
echo "ssh-ed25519 AAAA attacker" >"$src/.ssh/authorized_keys"
echo mine >"$WORK/out/.ssh/known_hosts"
send_all() { start_sender "$src/a.jpg" "$src/b.jpg" "$src/c.jpg" "$src/.ssh"; }

# --yes alone: refused, nothing written, the way out named.
send_all
receive --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 4 ] || fail "--yes into an existing .ssh: exit $RECV_RC, want 4 (declined)"
[ "$SENDER_RC" -eq 4 ] || fail "--yes into an existing .ssh: sender exit $SENDER_RC, want 4"
[ ! -e "$WORK/out/.ssh/authorized_keys" ] || fail "--yes merged into .ssh"
[ ! -e "$WORK/out/a.jpg" ] || fail "--yes wrote part of a refused offer"
grep -q -- '--merge' "$WORK/receiver.err" || fail "the refusal does not name --merge"
grep -q '"event":"offer".*"hidden":true,"merge":".ssh"' "$WORK/receiver.json" ||
    fail "the offer event does not say hidden and merge"

# On a terminal: the whole list, marked; 'y' is not enough.
send_all
set +e
$PTY "Type 'yes'" y "$PCP" receive --out "$WORK/out" "$CODE" >"$WORK/pty1.txt" 2>&1
RECV_RC=$?
set -e
wait_sender
for n in a.jpg b.jpg c.jpg; do
    grep -q "'$n'" "$WORK/pty1.txt" || fail "the prompt does not list $n: $(cat "$WORK/pty1.txt")"
done
grep -q "'.ssh/'  (hidden name)  into the existing directory" "$WORK/pty1.txt" ||
    fail "the prompt does not mark .ssh: $(cat "$WORK/pty1.txt")"
grep -q "adds files into the existing directory '.ssh'" "$WORK/pty1.txt" ||
    fail "the question does not name the merge"
[ "$RECV_RC" -eq 4 ] || fail "'y' to a merge: exit $RECV_RC, want 4"
[ ! -e "$WORK/out/.ssh/authorized_keys" ] || fail "'y' merged into .ssh"

# A typed 'yes' accepts.
send_all
set +e
$PTY "Type 'yes'" yes "$PCP" receive --out "$WORK/out" "$CODE" >"$WORK/pty2.txt" 2>&1
RECV_RC=$?
set -e
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "'yes': $RECV_RC/$SENDER_RC: $(cat "$WORK/pty2.txt")"
[ -f "$WORK/out/.ssh/authorized_keys" ] && [ -f "$WORK/out/.ssh/known_hosts" ] || fail "'yes' did not merge"

# --yes --merge accepts without asking.
rm -rf "$WORK/out2"
mkdir -p "$WORK/out2/.ssh"
send_all
receive --yes --merge --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "--yes --merge: $RECV_RC/$SENDER_RC"
[ -f "$WORK/out2/.ssh/authorized_keys" ] || fail "--yes --merge did not merge"

# An ordinary offer into a fresh directory: a plain 'y' on the terminal.
send_all_plain() { start_sender "$src/a.jpg" "$src/b.jpg"; }
send_all_plain
set +e
$PTY "[y/N]" y "$PCP" receive --out "$WORK/out3" "$CODE" >"$WORK/pty3.txt" 2>&1
RECV_RC=$?
set -e
wait_sender
[ "$RECV_RC" -eq 0 ] || fail "plain offer, 'y': exit $RECV_RC: $(cat "$WORK/pty3.txt")"

# 25 top-level names: 20 listed, then how many more.
mkdir -p "$WORK/many"
for i in $(seq -w 1 25); do echo "$i" >"$WORK/many/f$i"; done
start_sender "$WORK"/many/f*
set +e
$PTY "[y/N]" n "$PCP" receive --out "$WORK/out4" "$CODE" >"$WORK/pty4.txt" 2>&1
set -e
wait_sender
grep -q "'f20'" "$WORK/pty4.txt" || fail "the 20th name is not listed"
! grep -q "'f21'" "$WORK/pty4.txt" || fail "more than a screenful listed"
grep -q "and 5 more" "$WORK/pty4.txt" || fail "no count of the rest: $(cat "$WORK/pty4.txt")"
echo PASS
