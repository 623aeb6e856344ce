#!/usr/bin/env bash
# A directory tree with empty directories, modes, mtimes and a link, plus a
# second top-level file, with the code typed in with odd case and spaces.
. "$(dirname "$0")/lib.sh"
src=$WORK/src/photos
mkdir -p "$src/2024/empty" "$src/2025/jan" "$src/nothing"
for i in $(seq 1 50); do head -c $((i * 997)) /dev/urandom >"$src/2025/jan/img$i.raw"; done
head -c 2000000 < <(yes 'compressible line of text') >"$src/notes.txt"
: >"$src/2024/zero"
chmod 0700 "$src/2025/jan/img1.raw"
touch -d '2020-01-02 03:04:05' "$src/notes.txt"
ln -s notes.txt "$src/link"
echo extra >"$WORK/src/extra.txt"
start_sender "$src/" "$WORK/src/extra.txt"
typed=$(echo "$CODE" | tr 'a-z-' 'A-Z ')
receive --yes --out "$WORK/out" "  $typed "
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "exit $RECV_RC/$SENDER_RC"
diff -r --no-dereference "$src" "$WORK/out/photos" || fail "tree differs"
cmp "$WORK/src/extra.txt" "$WORK/out/extra.txt" || fail "extra differs"
[ -d "$WORK/out/photos/2024/empty" ] && [ -d "$WORK/out/photos/nothing" ] || fail "empty dirs missing"
[ "$(stat -c %a "$WORK/out/photos/2025/jan/img1.raw")" = 700 ] || fail "mode lost"
[ "$(stat -c %Y "$WORK/out/photos/notes.txt")" = "$(stat -c %Y "$src/notes.txt")" ] || fail "mtime lost"
[ "$(readlink "$WORK/out/photos/link")" = notes.txt ] || fail "link lost"
grep -q '"names":"'"'"'photos/'"'"', '"'"'extra.txt'"'"'","top":2,.*"files":53' "$WORK/receiver.json" || fail "wrong names or file count in offer"
echo PASS
