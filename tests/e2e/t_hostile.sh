#!/usr/bin/env bash
# A hostile sender (it knows the code; tests/e2e/hostile_sender.c) offers
# ../ paths, absolute paths, a link out of the target, a link that leads
# out through another link of the offer, a write through a link already in
# the target, names with terminal escapes, newlines and C1 controls, a file
# with a wrong digest, duplicate names, names that differ only by case,
# over-long names and paths, a device, link loops, a write through a link
# of its own offer, a million entries and an offer too large to hold; then
# sends data that lies about sizes, comes out of order, has an absurd frame
# length, or stalls. Nothing may land outside --out, no unverified file may
# get its final name, and no escape sequence may reach the terminal.
#
# How a case runs: run_hostile starts hostile_sender SCENARIO in the
# background (it announces itself over mDNS on this namespace's loopback
# and prints "ready", then "accepted" or "refused" once the receiver
# answered), runs `pcp receive --yes --out $WORK/out [options] CODE`
# against it, keeps the receiver's exit status in RECV_RC, its output in
# receiver.txt/receiver.err and the sender's in hostile.out/hostile.err.
# expect (below) does the same in a fresh --out and checks the status and
# that nothing appeared beside it. The exit status for an unsafe offer
# (path, name, link, size) is 8.
. "$(dirname "$0")/lib.sh"
HOSTILE=${HOSTILE:?HOSTILE must point at hostile_sender}
code=bubble-enemy-result-increase

run_hostile() { # scenario [arg [receive options]]
    "$HOSTILE" "$1" "$code" "${2:-}" >"$WORK/hostile.out" 2>"$WORK/hostile.err" &
    HPID=$!
    for _ in $(seq 1 100); do grep -q ready "$WORK/hostile.out" && break; sleep 0.05; done
    # Plain (not JSON) output: what a person's terminal would show.
    set +e
    "$PCP" receive --yes --out "$WORK/out" "${@:3}" "$code" >"$WORK/receiver.txt" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
    kill "$HPID" 2>/dev/null || true # the stalling ones would sleep on
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
[ "$RECV_RC" -eq 9 ] || fail "through-link: exit $RECV_RC, want 9 (exists)"
[ -z "$(ls -A "$WORK/outside")" ] || fail "through-link: wrote through the link"
# Told to overwrite, it still never replaces a link with a directory or
# writes through it.
run_hostile through-link "" --overwrite
[ "$RECV_RC" -eq 9 ] || fail "through-link --overwrite: exit $RECV_RC, want 9"
[ -z "$(ls -A "$WORK/outside")" ] || fail "through-link --overwrite: wrote through the link"
[ -L "$WORK/out/evil" ] || fail "through-link --overwrite: the link was replaced"
rm "$WORK/out/evil"

# The digest: the right one (computed by the test program from PROTOCOL.md)
# lets the file in, a wrong one keeps it out with a clear error.
run_hostile digest-ok
[ "$RECV_RC" -eq 0 ] || fail "digest-ok: exit $RECV_RC, want 0"
[ "$(cat "$WORK/out/plain.txt")" = owned ] || fail "digest-ok: file not received"
rm "$WORK/out/plain.txt"
# Small files batched in one FILES message, as PROTOCOL.md describes them.
run_hostile batch-ok
[ "$RECV_RC" -eq 0 ] || fail "batch-ok: exit $RECV_RC, want 0"
[ "$(cat "$WORK/out/Readme.txt")$(cat "$WORK/out/README.txt")" = ownedowned ] ||
    fail "batch-ok: files not received"
rm "$WORK/out/Readme.txt" "$WORK/out/README.txt"
run_hostile digest-bad
[ "$RECV_RC" -eq 8 ] || fail "digest-bad: exit $RECV_RC, want 8"
grep -qi digest "$WORK/receiver.err" || fail "digest-bad: no clear message"
[ ! -e "$WORK/out/plain.txt" ] || fail "digest-bad: unverified file promoted"
rm -f "$WORK"/out/*.pcp-part

# A name with terminal escapes is refused with the offer: nothing written,
# not even a .pcp-part, and no escape reaches the terminal.
run_hostile escape-name
if grep -q "$(printf '\033')" "$WORK/receiver.err" "$WORK/receiver.txt"; then
    fail "escape-name: escape reached the terminal"
fi
[ "$RECV_RC" -eq 8 ] || fail "escape-name: exit $RECV_RC, want 8"
grep -q unsafe "$WORK/receiver.err" || fail "escape-name: no clear message"
[ -z "$(find "$WORK/out" -type f)" ] || fail "escape-name: wrote $(find "$WORK/out" -type f)"
[ "$(ls -A "$WORK" | sort | tr '\n' ' ')" = "hostile.err hostile.out out outside receiver.err receiver.txt " ] ||
    fail "stray files in $WORK: $(ls -A "$WORK")"
rm -rf "$WORK/out" "$WORK/outside"

# expect SCENARIO EXIT [receive options]: a fresh target; the receiver's
# exit status must be EXIT, and nothing may appear outside the target.
expect() {
    local scen=$1 want=$2
    shift 2
    rm -rf "$WORK/out"
    mkdir -p "$WORK/out"
    run_hostile "$scen" "" "$@"
    [ "$RECV_RC" -eq "$want" ] || fail "$scen: exit $RECV_RC, want $want"
    [ -z "$(ls -A "$WORK" | grep -vxE 'hostile\.(out|err)|out|receiver\.(txt|err)')" ] ||
        fail "$scen: stray files in $WORK: $(ls -A "$WORK")"
}
# finals: files in the target under a final name (not .pcp-part).
finals() { find "$WORK/out" -mindepth 1 ! -name '*.pcp-part' | sed "s|$WORK/out/||" | sort | tr '\n' ' '; }

# Manifests no honest sender makes: refused before anything is written.
expect dup 8
grep -q "named twice.*: same.txt;" "$WORK/receiver.err" || fail "dup: the name not shown"
[ -z "$(ls -A "$WORK/out")" ] || fail "dup: wrote $(ls -A "$WORK/out")"
expect link-parent 8
grep -q ": l/x;" "$WORK/receiver.err" || fail "link-parent: the name not shown"
[ -z "$(ls -A "$WORK/out")" ] || fail "link-parent: wrote $(ls -A "$WORK/out")"
# Names with a newline or a C1 control (U+009B, a CSI), and a link that
# leads out through another link of the offer (top/esc ->
# d/e/up/../../../../etc/passwd, top/d/e/up -> ../..) are refused with the
# offer as well.
for scen in long-name long-path device ctl-nl ctl-c1 link-chain; do
    expect "$scen" 8
    [ -z "$(ls -A "$WORK/out")" ] || fail "$scen: wrote $(ls -A "$WORK/out")"
done

# Names that differ only by case are two files here (Linux); links that
# loop stay links inside the target (they never resolve, anywhere).
expect case 0
[ "$(cat "$WORK/out/Readme.txt")$(cat "$WORK/out/README.txt")" = ownedowned ] ||
    fail "case: both files not received"
expect link-loop 0
[ "$(readlink "$WORK/out/a")$(readlink "$WORK/out/b")" = ba ] || fail "link-loop: links not made"

# A file offered without a size (from a pipe) arrives in chunks of any
# length, empty ones (signs of life) included; a gap, an END that lies,
# or a message offered with a file are refused.
for scen in stream-ok stream-empty; do
    expect $scen 0
    [ "$(cat "$WORK/out/piped")" = ownedowned ] || fail "$scen: not received"
done
expect stream-gap 8
[ -z "$(finals)" ] || fail "stream-gap: promoted $(finals)"
expect stream-total 8
grep -q "did not verify" "$WORK/receiver.err" || fail "stream-total: no clear message"
rm -f "$WORK/out/piped"
expect text-file 8
[ -z "$(finals)" ] || fail "text-file: wrote $(finals)"
grep -q owned "$WORK/receiver.txt" && fail "text-file: the message was shown"

# Data that breaks the offer's rules: stopped, nothing promoted.
for scen in lie-long lie-short order-chunk order-file absurd \
    batch-size batch-order batch-tail batch-mid; do
    expect "$scen" 8
    [ -z "$(finals)" ] || fail "$scen: promoted $(finals)"
    grep -q "did not verify" "$WORK/receiver.err" || fail "$scen: no clear message"
done

# A sender that stalls: the receiver gives up after --stall-timeout and
# keeps what arrived.
expect stall-offer 7 --stall-timeout 1
grep -q "stalled" "$WORK/receiver.err" || fail "stall-offer: no clear message"
expect stall-data 7 --stall-timeout 1
grep -q "stalled" "$WORK/receiver.err" || fail "stall-data: no clear message"
[ -z "$(finals)" ] || fail "stall-data: promoted $(finals)"
[ "$(stat -c %s "$WORK/out/plain.txt.pcp-part")" -eq 262144 ] || fail "stall-data: the part not kept"

# A million entries: shown, then declined (no terminal, no --yes); the
# receiver's time and peak memory are printed, not asserted.
rm -rf "$WORK/out"
"$HOSTILE" million "$code" >"$WORK/hostile.out" 2>"$WORK/hostile.err" &
HPID=$!
for _ in $(seq 1 400); do grep -q ready "$WORK/hostile.out" && break; sleep 0.05; done
set +e
t0=$(date +%s%N)
python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)' "$PCP" receive --json --out "$WORK/out" "$code" >"$WORK/receiver.txt" 2>"$WORK/receiver.err"
RECV_RC=$?
t1=$(date +%s%N)
set -e
kill "$HPID" 2>/dev/null || true # it waits on a receiver that may have failed
wait "$HPID" || true
[ "$RECV_RC" -eq 4 ] || fail "million: exit $RECV_RC, want 4 (declined)"
grep -q '"event":"offer".*"files":1000000,' "$WORK/receiver.txt" || fail "million: offer not shown"
grep -q "^refused" "$WORK/hostile.out" || fail "million: the sender was not told"
[ ! -e "$WORK/out" ] || [ -z "$(ls -A "$WORK/out")" ] || fail "million: wrote something"
echo "million entries: offer read, checked and declined in $(((t1 - t0) / 1000000)) ms," \
    "receiver peak RSS $(($(tail -1 "$WORK/receiver.err") / 1024)) MiB"

# An offer that would take more than 64 MiB to hold before the user is
# asked (240,000 names of 248 bytes): refused part way through, with a
# clear error. (The refusal reaches the sender only when the connection is
# not reset first: it is still writing the rest of its offer.)
rm -rf "$WORK/out"
"$HOSTILE" huge "$code" >"$WORK/hostile.out" 2>"$WORK/hostile.err" &
HPID=$!
for _ in $(seq 1 400); do grep -q ready "$WORK/hostile.out" && break; sleep 0.05; done
set +e
python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)' "$PCP" receive --out "$WORK/out" "$code" >"$WORK/receiver.txt" 2>"$WORK/receiver.err"
RECV_RC=$?
set -e
kill "$HPID" 2>/dev/null || true
wait "$HPID" || true
[ "$RECV_RC" -eq 8 ] || fail "huge: exit $RECV_RC, want 8 (too big)"
grep -qi "too large" "$WORK/receiver.err" || fail "huge: no clear message"
[ ! -e "$WORK/out" ] || [ -z "$(ls -A "$WORK/out")" ] || fail "huge: wrote something"
echo "offer over the bound: refused, receiver peak RSS" \
    "$(($(tail -1 "$WORK/receiver.err") / 1024)) MiB"
echo PASS
