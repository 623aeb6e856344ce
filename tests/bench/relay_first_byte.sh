#!/usr/bin/env bash
# relay_first_byte.sh BUILD_DIR [RUNS]: time from `pcp receive` start to the
# first byte of the transfer through a relay on loopback, in a private
# network namespace: once with the receiver told to use only the relay
# (--force-relay) and once as a user would run it (relay configured, no
# sender on the LAN: mDNS gets its 2 s head start first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = --in-netns ] && inside=1 || inside=0
[ $inside = 1 ] && shift
build=$(cd "${1:?usage: relay_first_byte.sh BUILD_DIR [RUNS]}" && pwd)
runs=${2:-5}
if [ $inside = 0 ]; then
    exec "$here/../interop/netns-lo.sh" bash "$0" --in-netns "$build" "$runs"
fi
PCP=$build/cmd/pcp
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
"$PCP" relay --listen 127.0.0.1:0 2>"$work/relay.err" &
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/relay.err")
    [ -n "$port" ] && break
    sleep 0.05
done
relay=127.0.0.1:$port
head -c 1000000 /dev/urandom >"$work/f"
now() { date +%s.%N; }
for mode in --force-relay ""; do
    for i in $(seq 1 "$runs"); do
        "$PCP" send --json --relay "$relay" --force-relay "$work/f" >"$work/s.json" 2>/dev/null &
        sp=$!
        for _ in $(seq 1 100); do grep -q '"code"' "$work/s.json" && break; sleep 0.02; done
        code=$(sed -n 's/.*"code":"\([a-z-]*\)".*/\1/p' "$work/s.json")
        rm -rf "$work/out"
        t0=$(now)
        "$PCP" receive --json --yes --relay "$relay" $mode --out "$work/out" "$code" |
            while IFS= read -r line; do
                case $line in *'"event":"offer"'*) echo "$(now)" >"$work/t1" ;; esac
            done
        wait $sp
        awk -v a="$t0" -v b="$(cat "$work/t1")" -v m="${mode:-relay configured}" \
            'BEGIN { printf "%-18s %6.0f ms to the offer (first bytes through the relay)\n", m, (b - a) * 1000 }'
    done
done
