#!/bin/sh
# run.sh XCHECK_TOOL: runs spake2.mjs with node if the npm modules are there.
dir=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
    echo "node is not installed: run packaging/bootstrap.sh; skipping" >&2
    exit 77
fi
if [ ! -d "$dir/node_modules/@noble/curves" ] || [ ! -d "$dir/node_modules/@noble/hashes" ]; then
    echo "@noble modules missing: run 'npm ci --prefix $dir' (bootstrap.sh does); skipping" >&2
    exit 77
fi
exec node "$dir/spake2.mjs" "$1"
