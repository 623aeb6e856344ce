#!/usr/bin/env bash
# Errors a user makes: a misspelt word gets a suggestion, a code nobody is
# sending gives up with a clear message, bad options are usage errors.
. "$(dirname "$0")/lib.sh"
receive "bubble-enemmy-result-increase"
[ "$RECV_RC" -eq 2 ] || fail "misspelt word: exit $RECV_RC, want 2"
grep -q "enemy" "$WORK/receiver.err" || fail "no suggestion for a misspelt word"
receive "bubble-enemy"
[ "$RECV_RC" -eq 2 ] || fail "two words: exit $RECV_RC, want 2"
receive --timeout 2 "zoo-enemy-result-increase"
[ "$RECV_RC" -eq 7 ] || fail "nobody sending: exit $RECV_RC, want 7"
grep -q "no sender found" "$WORK/receiver.err" || fail "no clear not-found message"
set +e
"$PCP" send --words 3 /etc/hostname 2>/dev/null; rc=$?
"$PCP" send 2>/dev/null; rc2=$?
"$PCP" send "$WORK/does-not-exist" 2>"$WORK/send.err"; rc3=$?
"$PCP" frobnicate 2>/dev/null; rc4=$?
# Numbers are whole numbers in range, or a usage error before anything starts.
for bad in "--threads abc" "--threads 0" "--port 99999" "--port 80x" "--timeout -1" \
    "--timeout ''" "--words 4x" "--words 9"; do
    eval "timeout 10 \"\$PCP\" send $bad /etc/hostname" </dev/null >/dev/null 2>"$WORK/opt.err"
    r=$?
    [ $r -eq 2 ] || fail "send $bad: exit $r, want 2"
    grep -q "takes a whole number" "$WORK/opt.err" || fail "send $bad: $(cat "$WORK/opt.err")"
done
for bad in "--threads -2" "--timeout 0" "--timeout 1.5"; do
    eval "timeout 10 \"\$PCP\" receive $bad zoo-enemy-result-increase" </dev/null >/dev/null 2>&1
    r=$?
    [ $r -eq 2 ] || fail "receive $bad: exit $r, want 2"
done
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc4 -eq 2 ] || fail "usage errors: $rc $rc2 $rc4"
[ $rc3 -eq 6 ] || fail "missing file: exit $rc3, want 6"
"$PCP" --help | grep -q receive || fail "help lists no receive"
# Custom code for the sender, many words.
echo x >"$WORK/f"
start_sender --words 8 "$WORK/f"
[ "$(echo "$CODE" | tr '-' '\n' | wc -l)" -eq 8 ] || fail "--words 8 gave $CODE"
receive --yes --out "$WORK/o8" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "8 words: $RECV_RC/$SENDER_RC"
echo PASS
