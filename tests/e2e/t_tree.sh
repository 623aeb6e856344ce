#!/usr/bin/env bash
# A directory tree with empty directories, modes, mtimes and a link, plus a
# second top-level file, with the code typed in with odd case and spaces.
# Links that loop (to themselves, to each other, to a parent) travel as
# links; a FIFO is left out with a warning instead of hanging the sender.
. "$(dirname "$0")/lib.sh"
src=$WORK/src/photos
mkdir -p "$src/2024/empty" "$src/2025/jan" "$src/nothing"
for i in $(seq 1 50); do head -c $((i * 997)) /dev/urandom >"$src/2025/jan/img$i.raw"; done
head -c 2000000 < <(yes 'compressible line of text') >"$src/notes.txt"
: >"$src/2024/zero"
chmod 0700 "$src/2025/jan/img1.raw"
touch -d '2020-01-02 03:04:05' "$src/notes.txt"
ln -s notes.txt "$src/link"
ln -s self "$src/self"
ln -s b "$src/2024/a"
ln -s a "$src/2024/b"
ln -s .. "$src/2025/up"
mkfifo "$src/pipe"
echo extra >"$WORK/src/extra.txt"
start_sender "$src/" "$WORK/src/extra.txt"
typed=$(echo "$CODE" | tr 'a-z-' 'A-Z ')
receive --yes --out "$WORK/out" "  $typed "
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "exit $RECV_RC/$SENDER_RC"
diff -r --no-dereference -x pipe "$src" "$WORK/out/photos" || fail "tree differs"
[ ! -e "$WORK/out/photos/pipe" ] || fail "the FIFO was sent"
grep -q "left out 1 special file.*'photos/pipe'" "$WORK/sender.err" || fail "no warning about the FIFO"
[ "$(readlink "$WORK/out/photos/2024/a")$(readlink "$WORK/out/photos/self")" = bself ] ||
    fail "looping links lost"
cmp "$WORK/src/extra.txt" "$WORK/out/extra.txt" || fail "extra differs"
[ -d "$WORK/out/photos/2024/empty" ] && [ -d "$WORK/out/photos/nothing" ] || fail "empty dirs missing"
[ "$(stat -c %a "$WORK/out/photos/2025/jan/img1.raw")" = 700 ] || fail "mode lost"
[ "$(stat -c %Y "$WORK/out/photos/notes.txt")" = "$(stat -c %Y "$src/notes.txt")" ] || fail "mtime lost"
[ "$(readlink "$WORK/out/photos/link")" = notes.txt ] || fail "link lost"
grep -q '"names":"'"'"'photos/'"'"', '"'"'extra.txt'"'"'","top":2,.*"files":53' "$WORK/receiver.json" || fail "wrong names or file count in offer"
echo PASS
