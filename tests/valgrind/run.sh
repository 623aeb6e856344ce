#!/usr/bin/env bash
# run.sh tests/e2e/t_CASE.sh: runs one end-to-end script with every pcp
# process under valgrind memcheck (memcheck.sh), then reads every log: the
# test fails on any memcheck error or any definitely/indirectly lost byte,
# and prints the offending log. "Possibly lost" does not fail: a detached
# thread still running at exit (portmap_stop) shows up as that. Run it
# inside tests/interop/netns-lo.sh, like the e2e tests. $PCP is the real
# pcp binary.
set -euo pipefail
script=${1:?usage: run.sh tests/e2e/t_CASE.sh}
command -v valgrind >/dev/null || { echo "valgrind not installed; skipping"; exit 77; }
VG_LOGDIR=$(mktemp -d /tmp/pcp-vg.XXXXXX)
trap 'rm -rf "$VG_LOGDIR"' EXIT
PCP_REAL=${PCP:?PCP must point at the pcp binary}
PCP=$(cd "$(dirname "$0")" && pwd)/memcheck.sh
export VG_LOGDIR PCP_REAL PCP

rc=0
bash "$script" || rc=$?
[ $rc -eq 0 ] || echo "valgrind: $(basename "$script") failed with exit $rc" >&2

# lost KIND LOG: bytes of that kind in the log's leak summary (none: 0).
lost() {
    local n
    n=$(sed -n "s/.*$1 lost: \([0-9,]*\) bytes.*/\1/p" "$2" | tr -d ,)
    echo "${n:-0}"
}

logs=0 bad=0
for log in "$VG_LOGDIR"/vg.*.log; do
    [ -e "$log" ] || continue
    logs=$((logs + 1))
    why=
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log")
    if [ -n "$errors" ]; then
        [ "$errors" -eq 0 ] || why="$errors errors"
        for kind in definitely indirectly; do
            n=$(lost $kind "$log")
            [ "$n" -eq 0 ] || why="$why, $n bytes $kind lost"
        done
    elif grep -q '^==[0-9]*== \+at 0x' "$log"; then
        # No summary: the process was killed with -9 (t_resume does that),
        # but a stack in its log is an error it reported before.
        why="errors before it was killed"
    fi
    if [ -n "$why" ]; then
        bad=$((bad + 1))
        echo "=== $log: ${why#, }" >&2
        cat "$log" >&2
    fi
done
echo "valgrind: $logs pcp processes checked, $bad with memcheck findings"
# No log at all: pcp never ran under valgrind, so nothing was checked.
[ $logs -gt 0 ] || { echo "valgrind: no valgrind logs" >&2; exit 1; }
[ $bad -eq 0 ] || exit 1
exit $rc
