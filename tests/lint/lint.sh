#!/usr/bin/env bash
# lint.sh format|cppcheck SOURCE_DIR: clang-format --dry-run or cppcheck
# over every C file under version control or new and not ignored (or,
# outside git, every C file in the project's source directories).
set -euo pipefail
what=$1
cd "$2"
tool=$([ "$what" = format ] && echo clang-format || echo cppcheck)
if ! command -v "$tool" >/dev/null; then
    [ "${PCP_REQUIRE_LINT:-0}" = 1 ] && { echo "$tool missing" >&2; exit 1; }
    echo "SKIP: $tool not installed"
    exit 77
fi
if git rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked files and new ones not ignored, as they are in the working
    # tree: a file moved or deleted but not yet committed is not there.
    mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' |
        sort -u | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done)
else
    mapfile -t files < <(find cmd core discovery relay wordlist tests -name '*.[ch]' \
        -not -path '*/node_modules/*' 2>/dev/null)
fi
case $what in
format)
    clang-format --dry-run -Werror "${files[@]}"
    ;;
cppcheck)
    cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
        --inline-suppr --std=c11 -D_GNU_SOURCE -I core -I discovery -I discovery/path -I cmd -I wordlist \
        "${files[@]}"
    ;;
esac
echo PASS
