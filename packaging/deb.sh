#!/usr/bin/env bash
# deb.sh [OUTDIR]: build the Debian package pcp-transfer from this source
# tree with the standard tools and run lintian on it. Source format 3.0
# (quilt): the upstream tree (what git tracks and does not ignore, as it
# is now; never build output or node_modules) becomes
# pcp-transfer_VERSION.orig.tar.gz, packaging/debian becomes debian/ in
# its unpacked copy, and dpkg-buildpackage builds the source package and
# the binary one (debhelper 13, its CMake build system, the unit tests in
# dh_auto_test). Where apt has no libopendht-c-dev (Ubuntu 22.04) the
# build profile pkg.pcp-transfer.nodht builds without the DHT.
# OUTDIR (default build-deb) gets the .deb, the source package, the
# .changes and the build log (pcp-transfer_VERSION_ARCH.build). lintian
# must report no error. Prints the .deb's path last.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/pcp-deb.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
upstream=${version%-*}
tree=$work/pcp-transfer-$upstream
mkdir -p "$tree"

# The upstream tree.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$src" && while IFS= read -r -d '' f; do
            case "/$f" in */node_modules/* | */build*/* | *.o | *.swp) continue ;; esac
            [ -f "$f" ] && printf '%s\0' "$f"
        done) | (cd "$src" && xargs -0 -r cp -P --parents -t "$tree")
else
    tar -C "$src" --exclude='./build*' --exclude=node_modules --exclude=.git --exclude='*.o' \
        -cf - . | tar -C "$tree" -xf -
fi
[ ! -e "$tree/debian" ] || { echo "deb.sh: the upstream tree has a debian/" >&2; exit 1; }
# Reproducible: names sorted, owner root, times of the changelog's entry.
when=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Timestamp)
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$when" \
    -cf - "pcp-transfer-$upstream" | gzip -n >"$work/pcp-transfer_$upstream.orig.tar.gz"
cp -r "$src/packaging/debian" "$tree/debian"

# OpenDHT's C library: a build dependency where apt has it.
profiles=${DEB_BUILD_PROFILES:-}
if ! dpkg-query -W -f='${Status}\n' libopendht-c-dev 2>/dev/null | grep -q ' installed$'; then
    if [ "${PCP_REQUIRE_DHT:-0}" = 1 ]; then
        echo "deb.sh: libopendht-c-dev is not installed, and PCP_REQUIRE_DHT=1" >&2
        exit 1
    fi
    if apt-cache show libopendht-c-dev >/dev/null 2>&1; then
        echo "libopendht-c-dev is not installed: building without the DHT" >&2
    else
        echo "OpenDHT's C library is not packaged here: building without the DHT" >&2
    fi
    profiles=${profiles:+$profiles,}pkg.pcp-transfer.nodht
fi

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
log=$out/pcp-transfer_${version}_$arch.build
(cd "$tree" && dpkg-buildpackage -us -uc -j"$(nproc)" ${profiles:+-P"$profiles"}) >"$log" 2>&1 || {
    tail -40 "$log" >&2
    exit 1
}
changes=pcp-transfer_${version}_$arch.changes
# Everything the .changes lists (the source package, the .deb, its -dbgsym).
find "$work" -maxdepth 1 -type f -exec cp -t "$out" {} +
deb=$out/pcp-transfer_${version}_$arch.deb
[ -f "$deb" ] || { echo "deb.sh: no $deb" >&2; exit 1; }
if command -v lintian >/dev/null; then
    # The source package and the binary one. Errors fail the build;
    # warnings are printed.
    lintian --fail-on error --tag-display-limit 0 "$out/$changes" >&2
fi
echo "$deb"
