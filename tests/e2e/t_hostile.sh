#!/usr/bin/env bash
# A hostile sender (it knows the code) offers ../ paths, absolute paths, a
# link out of the target, a write through a link already in the target, and
# a name full of terminal escapes, and a file with a wrong digest. Nothing may land outside --out, and no
# escape sequence may reach the terminal.
. "$(dirname "$0")/lib.sh"
HOSTILE=${HOSTILE:?HOSTILE must point at hostile_sender}
code=bubble-enemy-result-increase

run_hostile() { # scenario [arg]
    "$HOSTILE" "$1" "$code" "${2:-}" >"$WORK/hostile.out" 2>"$WORK/hostile.err" &
    HPID=$!
    for _ in $(seq 1 100); do grep -q ready "$WORK/hostile.out" && break; sleep 0.05; done
    # Plain (not JSON) output: what a person's terminal would show.
    set +e
    "$PCP" receive --yes --out "$WORK/out" "$code" >"$WORK/receiver.txt" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
    wait "$HPID" || true
}

mkdir -p "$WORK/out"
run_hostile dotdot
[ "$RECV_RC" -eq 8 ] || fail "dotdot: exit $RECV_RC, want 8"
[ ! -e "$WORK/escape.txt" ] || fail "dotdot: wrote outside"
grep -q unsafe "$WORK/receiver.err" || fail "dotdot: no clear message"

run_hostile absolute "$WORK/abs.txt"
[ "$RECV_RC" -eq 8 ] || fail "absolute: exit $RECV_RC, want 8"
[ ! -e "$WORK/abs.txt" ] || fail "absolute: wrote outside"

run_hostile link-escape /etc/passwd
[ "$RECV_RC" -eq 8 ] || fail "link-escape: exit $RECV_RC, want 8"
[ ! -L "$WORK/out/l" ] || fail "link-escape: link created"

mkdir -p "$WORK/outside"
ln -s "$WORK/outside" "$WORK/out/evil"
run_hostile through-link
[ "$RECV_RC" -eq 8 ] || fail "through-link: exit $RECV_RC, want 8"
[ -z "$(ls -A "$WORK/outside")" ] || fail "through-link: wrote through the link"
rm "$WORK/out/evil"

# The digest: the right one (computed by the test program from PROTOCOL.md)
# lets the file in, a wrong one keeps it out with a clear error.
run_hostile digest-ok
[ "$RECV_RC" -eq 0 ] || fail "digest-ok: exit $RECV_RC, want 0"
[ "$(cat "$WORK/out/plain.txt")" = owned ] || fail "digest-ok: file not received"
rm "$WORK/out/plain.txt"
run_hostile digest-bad
[ "$RECV_RC" -eq 8 ] || fail "digest-bad: exit $RECV_RC, want 8"
grep -qi digest "$WORK/receiver.err" || fail "digest-bad: no clear message"
[ ! -e "$WORK/out/plain.txt" ] || fail "digest-bad: unverified file promoted"
rm -f "$WORK"/out/*.pcp-part

run_hostile escape-name
if grep -q "$(printf '\033')" "$WORK/receiver.err"; then fail "escape-name: escape reached the terminal"; fi
grep -q 'evil?\]0;owned??\[2J?\[31mred.txt' "$WORK/receiver.err" || fail "escape-name: name not shown sanitised"
# The data was accepted but its digest is wrong: nothing under a final name.
[ "$RECV_RC" -eq 8 ] || fail "escape-name: exit $RECV_RC, want 8"
[ -z "$(find "$WORK/out" -type f ! -name '*.pcp-part')" ] || fail "unverified file promoted"
[ "$(ls -A "$WORK" | sort | tr '\n' ' ')" = "hostile.err hostile.out out outside receiver.err receiver.txt " ] ||
    fail "stray files in $WORK: $(ls -A "$WORK")"
echo PASS
