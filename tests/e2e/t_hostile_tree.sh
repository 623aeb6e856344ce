#!/usr/bin/env bash
# A stock `pcp send top` of a tree that a receiver must not recreate as it
# is (GitHub issue 20): links that stay inside when each is checked alone,
# with every component taken for a directory, but lead out through one
# another (top/d/e/up -> ../.. and top/esc -> d/e/up/../../../../etc/passwd,
# which is /etc/passwd from an --out three levels deep; top/via -> esc),
# and names with a newline and a terminal escape. The sender leaves them
# out with a warning; nothing the receiver makes resolves outside --out.
# (A hostile sender that offers them anyway: t_hostile.sh, link-chain and
# ctl-*.)
. "$(dirname "$0")/lib.sh"
src=$WORK/src/top
mkdir -p "$src/d/e"
echo hi >"$src/d/file.txt"
ln -s ../.. "$src/d/e/up"
ln -s d/e/up/../../../../etc/passwd "$src/esc"
ln -s esc "$src/via"
ln -s d/e/up/d/file.txt "$src/ok"
echo x >"$src/$(printf 'two\nlines')"
echo x >"$src/$(printf 'red\033[31m')"
cd "$WORK/src" || exit 1
start_sender top
receive --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "exit $RECV_RC/$SENDER_RC"

# Every link made resolves inside --out.
out=$(realpath "$WORK/out")
while IFS= read -r -d '' l; do
    r=$(realpath -m "$l")
    case "$r" in
    "$out" | "$out"/*) ;;
    *) fail "${l#"$WORK"/} resolves to $r, outside --out" ;;
    esac
done < <(find "$WORK/out" -type l -print0)
[ ! -L "$WORK/out/top/esc" ] && [ ! -L "$WORK/out/top/via" ] || fail "an escaping link was made"

# The rest arrived as it was, the links that stay inside included.
[ "$(cat "$WORK/out/top/d/file.txt")" = hi ] || fail "file lost"
[ "$(readlink "$WORK/out/top/d/e/up")" = ../.. ] || fail "top/d/e/up lost"
[ "$(cat "$WORK/out/top/ok")" = hi ] || fail "top/ok lost"
[ -z "$(find "$WORK/out" -name '*lines' -o -name 'red*')" ] || fail "an unsafe name was written"

# The sender said what it left out, its names made harmless.
grep -q "left out 4 " "$WORK/sender.err" || fail "no warning about what was left out"
if grep -q "$(printf '\033')" "$WORK/sender.err"; then fail "an escape reached the terminal"; fi
echo PASS
