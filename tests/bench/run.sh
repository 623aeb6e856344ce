#!/usr/bin/env bash
# run.sh BUILD_DIR [MiB] [files] [runs] - the loopback benchmark, inside a private
# network namespace so that mDNS never leaves the machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [MiB] [files] [runs]}
shift
exec "$here/../interop/netns-lo.sh" "$build/tests/bench/bench_loopback" "$build/cmd/pcp" "$@"
