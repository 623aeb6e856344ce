#!/usr/bin/env bash
# memcheck.sh ARGS...: runs the real pcp ($PCP_REAL) with ARGS under valgrind
# memcheck, one log per process in $VG_LOGDIR (run.sh reads them). exec, so
# that the pid the e2e scripts wait for and signal is that of pcp itself.
# No suppressions: none were needed (memcheck reported nothing in libc,
# ld.so, libsodium or OpenSSL in these cases).
set -euo pipefail
real=${PCP_REAL:?PCP_REAL must point at the pcp binary}
logdir=${VG_LOGDIR:?VG_LOGDIR must name the directory for the logs}
# --vgdb=no: no gdbserver FIFOs left in /tmp by a process killed with -9.
exec valgrind --tool=memcheck --leak-check=full \
    --errors-for-leak-kinds=definite,indirect \
    --num-callers=30 --vgdb=no \
    --log-file="$logdir/vg.%p.log" "$real" "$@"
