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
