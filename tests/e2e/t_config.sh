#!/usr/bin/env bash
# Defaults from $XDG_CONFIG_HOME/pcp/config (words, out, mdns-interface),
# options beating them, and a bad line refused with its line number.
. "$(dirname "$0")/lib.sh"
export XDG_CONFIG_HOME=$WORK/xdg
mkdir -p "$XDG_CONFIG_HOME/pcp"
cat >"$XDG_CONFIG_HOME/pcp/config" <<CONF
# defaults for this test
words = 6
out = $WORK/in box
mdns-interface = lo
dht = no
CONF
echo hello >"$WORK/f.txt"
start_sender "$WORK/f.txt"
[ "$(echo "$CODE" | tr '-' '\n' | wc -l)" -eq 6 ] || fail "words = 6 gave the code $CODE"
receive --yes "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "config defaults: $RECV_RC/$SENDER_RC"
cmp "$WORK/f.txt" "$WORK/in box/f.txt" || fail "out = DIR not used"
grep -q '"event":"dht"' "$WORK/receiver.json" && fail "dht = no not used"

# Options win over the file.
start_sender --words 4 "$WORK/f.txt"
[ "$(echo "$CODE" | tr '-' '\n' | wc -l)" -eq 4 ] || fail "--words 4 gave the code $CODE"
receive --yes --out "$WORK/elsewhere" "$CODE"
wait_sender
cmp "$WORK/f.txt" "$WORK/elsewhere/f.txt" || fail "--out did not beat out ="

# A bad value: refused before anything happens, with the line.
printf 'words = 4\nwords = 11\n' >"$XDG_CONFIG_HOME/pcp/config"
set +e
"$PCP" send "$WORK/f.txt" >/dev/null 2>"$WORK/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q 'config: line 2: bad value for words' "$WORK/bad.err" ||
    fail "bad config: exit $rc: $(cat "$WORK/bad.err")"
echo PASS
