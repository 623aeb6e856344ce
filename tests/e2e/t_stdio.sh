#!/usr/bin/env bash
# Messages (send --text), standard input (send -) and standard output
# (receive --stdout), end to end; what a terminal is shown of a hostile
# message; what each side says when --stdout does not fit the offer or its
# reader goes away.
. "$(dirname "$0")/lib.sh"

# receive_raw [options]: `pcp receive` without --json, stdout kept as is.
receive_raw() {
    set +e
    "$PCP" receive "$@" >"$WORK/receiver.out" 2>"$WORK/receiver.err"
    RECV_RC=$?
    set -e
}
both_ok() {
    wait_sender
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "$1: receiver $RECV_RC, sender $SENDER_RC"
}

# A message, shown byte for byte when stdout is not a terminal.
printf 'two\nlines \xc3\xa9 \033[31mred' >"$WORK/msg"
start_sender --text "$(cat "$WORK/msg")"
receive_raw --yes "$CODE"
both_ok "text"
cmp "$WORK/msg" "$WORK/receiver.out" || fail "text differs"
grep -q '"event":"done"' "$WORK/sender.json" || fail "text: sender said no done"
[ -z "$(ls -A "$WORK" | grep -v -e '^sender' -e '^receiver' -e '^msg$')" ] || fail "text wrote files"

# The same with --json: a text event, escaped.
start_sender --text "$(cat "$WORK/msg")"
receive "$CODE"
both_ok "text --json"
grep -q '"event":"text","text":"two\\u000alines é \\u001b\[31mred","bytes":21' "$WORK/receiver.json" ||
    fail "no text event: $(cat "$WORK/receiver.json")"

# On a terminal the escape sequence is made harmless; lines stay.
start_sender --text "$(cat "$WORK/msg")"
set +e
PCP_CODE=$CODE script -qec "$PCP receive" /dev/null >"$WORK/tty.out" 2>&1
RECV_RC=$?
set -e
both_ok "text on a terminal"
grep -q 'lines é ?\[31mred' "$WORK/tty.out" || fail "terminal saw: $(od -c "$WORK/tty.out" | head)"
grep -q $'\033\[31m' "$WORK/tty.out" && fail "an escape sequence reached the terminal"

# --text - reads the message from standard input; over 1 MiB is refused.
printf 'from stdin\n' >"$WORK/line"
SEND_STDIN=$WORK/line start_sender --text -
receive_raw "$CODE"
both_ok "text -"
[ "$(cat "$WORK/receiver.out")" = "from stdin" ] || fail "text - gave: $(cat "$WORK/receiver.out")"
set +e
head -c 1048577 /dev/zero | tr '\0' a | "$PCP" send --text - >/dev/null 2>"$WORK/big.err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q 'at most 1 MiB' "$WORK/big.err" || fail "1 MiB + 1 message: exit $rc"
set +e
"$PCP" send --text hi "$WORK/msg" >/dev/null 2>"$WORK/both.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--text with a path: exit $rc"

# Standard input as one file: 20 MiB through a pipe, named by --name.
head -c 20000000 /dev/urandom >"$WORK/data"
SEND_STDIN=<(cat "$WORK/data") start_sender --name data.bin -
receive --yes --out "$WORK/out" "$CODE"
both_ok "send -"
cmp "$WORK/data" "$WORK/out/data.bin" || fail "stdin data differs"
grep -q '"event":"offer","names":"'"'"'data.bin'"'"'","top":1,"entries":1,"files":1,"bytes":null' \
    "$WORK/receiver.json" || fail "offer of a stream: $(grep offer "$WORK/receiver.json")"
grep -q '"event":"progress".*"total":null' "$WORK/receiver.json" || fail "no unsized progress"
grep -q '"event":"done","bytes":20000000,"files":1' "$WORK/receiver.json" || fail "stream: done"

# (SEND_STDIN: a pipe into start_sender would run it in a subshell.)
# A slow writer: short chunks move as they come; a stale .pcp-part of
# the same name is started over, never resumed.
mkdir -p "$WORK/slow"
printf 'junk that must go' >"$WORK/slow/stdin.pcp-part"
SEND_STDIN=<(printf 'a'; sleep 0.3; printf 'b'; sleep 0.3; printf 'c') start_sender -
receive --yes --out "$WORK/slow" "$CODE"
both_ok "slow stdin"
[ "$(cat "$WORK/slow/stdin")" = abc ] || fail "slow stdin gave '$(cat "$WORK/slow/stdin")'"
[ ! -e "$WORK/slow/stdin.pcp-part" ] || fail "slow stdin: .pcp-part left"

# A writer quiet for longer than the receiver's stall limit: the sender's
# signs of life (an empty chunk after 10 s of silence) keep it going.
SEND_STDIN=<(printf 'x'; sleep 12; printf 'y') start_sender -
receive --yes --stall-timeout 11 --out "$WORK/quiet" "$CODE"
both_ok "quiet stdin"
[ "$(cat "$WORK/quiet/stdin")" = xy ] || fail "quiet stdin gave '$(cat "$WORK/quiet/stdin")'"

# Nothing on standard input: an empty file.
start_sender -
receive --yes --out "$WORK/empty" "$CODE"
both_ok "empty stdin"
[ -f "$WORK/empty/stdin" ] && [ ! -s "$WORK/empty/stdin" ] || fail "empty stdin"

# A file to --stdout: a big one (chunks) and a small one (batched).
start_sender "$WORK/data"
receive_raw --yes --stdout "$CODE"
both_ok "--stdout"
cmp "$WORK/data" "$WORK/receiver.out" || fail "--stdout data differs"
start_sender "$WORK/msg"
receive_raw --yes --stdout "$CODE"
both_ok "--stdout small"
cmp "$WORK/msg" "$WORK/receiver.out" || fail "--stdout small file differs"

# --stdout with the JSON events on descriptor 3: the data stays clean.
start_sender "$WORK/data"
receive_raw --yes --stdout --json-fd 3 "$CODE" 3>"$WORK/events.json"
both_ok "--stdout --json-fd 3"
cmp "$WORK/data" "$WORK/receiver.out" || fail "--stdout --json-fd 3: data differs"
grep -q '"event":"offer"' "$WORK/events.json" &&
    grep -q "\"event\":\"done\",\"bytes\":$(stat -c %s "$WORK/data")," "$WORK/events.json" ||
    fail "--json-fd 3: events were $(cat "$WORK/events.json")"
# The sender's too: the code and the error on 3, nothing on stdout.
set +e
"$PCP" send --json-fd 3 --timeout 1 "$WORK/msg" 3>"$WORK/s3.json" >"$WORK/s3.out" 2>/dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q '"event":"code"' "$WORK/s3.json" && grep -q '"event":"error"' "$WORK/s3.json" &&
    [ ! -s "$WORK/s3.out" ] || fail "send --json-fd 3: exit $rc, events $(cat "$WORK/s3.json")"
# A descriptor that is not open, or not for writing: refused at once.
for bad in 9 0; do
    set +e
    "$PCP" receive --json-fd $bad some-code </dev/null >/dev/null 2>"$WORK/fd.err" 9>&-
    rc=$?
    set -e
    [ "$rc" -eq 2 ] && grep -q 'not a descriptor open for writing' "$WORK/fd.err" ||
        fail "--json-fd $bad: exit $rc: $(cat "$WORK/fd.err")"
done

# Pipe to pipe.
SEND_STDIN=<(cat "$WORK/data") start_sender -
set +e
PCP_CODE=$CODE "$PCP" receive --yes --stdout 2>"$WORK/receiver.err" | sha256sum >"$WORK/pipe.sum"
RECV_RC=${PIPESTATUS[0]}
set -e
both_ok "pipe to pipe"
[ "$(cut -d' ' -f1 "$WORK/pipe.sum")" = "$(digest "$WORK/data")" ] || fail "pipe to pipe differs"

# A directory to --stdout: refused on both sides, with the reason.
mkdir -p "$WORK/tree/sub" && echo x >"$WORK/tree/sub/f"
start_sender "$WORK/tree"
receive_raw --yes --stdout "$CODE"
wait_sender
[ "$RECV_RC" -eq 2 ] && grep -q 'one file' "$WORK/receiver.err" ||
    fail "directory to --stdout: exit $RECV_RC: $(cat "$WORK/receiver.err")"
[ "$SENDER_RC" -eq 4 ] && grep -q 'standard output' "$WORK/sender.err" ||
    fail "directory to --stdout: sender exit $SENDER_RC: $(cat "$WORK/sender.err")"
[ ! -s "$WORK/receiver.out" ] || fail "directory to --stdout wrote something"
set +e
"$PCP" receive --stdout --json some-code >/dev/null 2>"$WORK/sj.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--stdout --json: exit $rc"

# The reader of --stdout goes away: both sides stop with an error, no hang.
start_sender "$WORK/data"
set +e
PCP_CODE=$CODE "$PCP" receive --yes --stdout 2>"$WORK/receiver.err" | head -c 1000 >/dev/null
RECV_RC=${PIPESTATUS[0]}
set -e
wait_sender
[ "$RECV_RC" -eq 6 ] && grep -q "standard output" "$WORK/receiver.err" || fail "reader gone: receiver exit $RECV_RC: $(cat "$WORK/receiver.err")"
[ "$SENDER_RC" -ne 0 ] || fail "reader gone: the sender claimed success"
echo PASS
