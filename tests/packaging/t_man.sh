#!/usr/bin/env bash
# The man page renders without a warning, and names every option that
# `pcp send|receive|relay --help` lists, so that the two cannot drift.
set -euo pipefail
PCP=${PCP:?} MAN=${MAN:?}
command -v man >/dev/null || { echo "SKIP: no man"; exit 77; }
warn=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
[ -z "$warn" ] || { echo "FAIL: man warns: $warn"; exit 1; }
page=$(MANWIDTH=200 man -l "$MAN" 2>/dev/null)
for section in NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" SECURITY; do
    grep -q "^$section" <<<"$page" || { echo "FAIL: no $section section"; exit 1; }
done
for cmd in send receive relay; do
    for opt in $("$PCP" "$cmd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -qF -- "$opt" <<<"$page" || { echo "FAIL: the man page lacks $cmd $opt"; exit 1; }
    done
done
for var in $(grep -rhoE 'getenv\("PCP_[A-Z_]+"\)' "$SRC"/cmd "$SRC"/core "$SRC"/discovery "$SRC"/relay |
    sed 's/getenv("\(.*\)")/\1/' | sort -u); do
    grep -qF -- "$var" <<<"$page" || { echo "FAIL: the man page lacks $var"; exit 1; }
done
echo PASS
