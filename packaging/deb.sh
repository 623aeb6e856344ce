#!/usr/bin/env bash
# deb.sh [OUTDIR]: build the Debian package pcp-transfer from this source
# tree with the standard tools (dpkg-buildpackage, debhelper's cmake
# build system) and run lintian on it. The tree is copied first, with
# packaging/debian as debian/, so that the source tree keeps its layout.
# Prints the .deb's path last.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
work=$(mktemp -d /tmp/pcp-deb.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
mkdir -p "$work/pcp-transfer" "$out"
# What git tracks (or, outside git, the tree without build directories).
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -z | (cd "$src" && xargs -0 cp --parents -t "$work/pcp-transfer")
else
    tar -C "$src" --exclude='./build*' --exclude=node_modules -cf - . | tar -C "$work/pcp-transfer" -xf -
fi
cp -r "$src/packaging/debian" "$work/pcp-transfer/debian"
(cd "$work/pcp-transfer" && dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$work/build.log" 2>&1) || {
    tail -40 "$work/build.log" >&2
    exit 1
}
deb=$(ls "$work"/pcp-transfer_*.deb)
cp "$deb" "$out/"
deb=$out/$(basename "$deb")
if command -v lintian >/dev/null; then
    # Errors fail the build; warnings are printed.
    lintian --fail-on error --tag-display-limit 0 "$deb" >&2
fi
echo "$deb"
