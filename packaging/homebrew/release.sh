#!/usr/bin/env bash
# release.sh BUILD_DIR [URL_BASE]: make the release tarball with CMake's
# package_source target (pcp-VERSION.tar.gz in BUILD_DIR) and write its
# url and sha256 into Formula/pcp.rb (or into $FORMULA). URL_BASE defaults
# to the GitHub release of that version. Portable: macOS's shasum or
# coreutils' sha256sum, and no sed -i (BSD and GNU sed differ there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
formula=${FORMULA:-$here/Formula/pcp.rb}
cmake --build "$build" --target package_source >/dev/null
tarball=$(ls "$build"/pcp-*.tar.gz | head -1)
name=$(basename "$tarball")
version=${name#pcp-}
version=${version%.tar.gz}
base=${2:-https://github.com/pcp-transfer/pcp/releases/download/v$version}
if command -v shasum >/dev/null; then
    sum=$(shasum -a 256 "$tarball" | cut -d' ' -f1)
else
    sum=$(sha256sum "$tarball" | cut -d' ' -f1)
fi
new=$(mktemp "$formula.XXXXXX")
trap 'rm -f "$new"' EXIT
sed -e "s|^  url \".*\"|  url \"$base/$name\"|" -e "s|^  sha256 \".*\"|  sha256 \"$sum\"|" "$formula" >"$new"
chmod 644 "$new"
mv "$new" "$formula"
echo "$tarball"
