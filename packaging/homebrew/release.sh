#!/usr/bin/env bash
# release.sh BUILD_DIR [URL_BASE]: make the release tarball with CMake's
# package_source target (pcp-VERSION.tar.gz in BUILD_DIR) and write its
# url and sha256 into pcp.rb (or into $FORMULA). URL_BASE defaults to the
# GitHub release of that version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
cmake --build "$build" --target package_source >/dev/null
tarball=$(ls "$build"/pcp-*.tar.gz | head -1)
name=$(basename "$tarball")
version=${name#pcp-}
version=${version%.tar.gz}
base=${2:-https://github.com/pcp-transfer/pcp/releases/download/v$version}
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
sed -i -e "s|^  url \".*\"|  url \"$base/$name\"|" -e "s|^  sha256 \".*\"|  sha256 \"$sum\"|" "${FORMULA:-$here/pcp.rb}"
echo "$tarball"
