#!/bin/sh
# run.sh XCHECK_TOOL: runs spake2.mjs with node if the npm modules are there;
# otherwise skips (77), or fails when PCP_REQUIRE_XCHECK=1 (CI sets it).
dir=$(cd "$(dirname "$0")" && pwd)
skip=77
[ "${PCP_REQUIRE_XCHECK:-}" = 1 ] && skip=1
if ! command -v node >/dev/null 2>&1; then
    echo "node is not installed: run packaging/bootstrap.sh; skipping" >&2
    exit $skip
fi
if [ ! -d "$dir/node_modules/@noble/curves" ] || [ ! -d "$dir/node_modules/@noble/hashes" ]; then
    echo "@noble modules missing: run 'npm ci --prefix $dir' (bootstrap.sh does); skipping" >&2
    exit $skip
fi
exec node "$dir/spake2.mjs" "$1"
