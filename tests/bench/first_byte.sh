#!/usr/bin/env bash
# first_byte.sh BUILD_DIR [RUNS]: time from `pcp receive` start (the code
# typed) to the offer (the handshake done, data about to flow) and to the
# end of a 1 MB transfer, on loopback in a private network namespace:
# on the LAN (mDNS, no relay); through a relay with the receiver told to
# use only the relay (--force-relay); and as a user would run it with a
# relay configured and no sender on the LAN (mDNS gets its 2 s head start).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = --in-netns ] && inside=1 || inside=0
[ $inside = 1 ] && shift
build=$(cd "${1:?usage: first_byte.sh BUILD_DIR [RUNS]}" && pwd)
runs=${2:-5}
if [ $inside = 0 ]; then
    exec "$here/../interop/netns-lo.sh" bash "$0" --in-netns "$build" "$runs"
fi
PCP=$build/cmd/pcp
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
: >"$work/relay.err" # read below before the job's own redirect may have made it
"$PCP" relay --listen 127.0.0.1:0 2>"$work/relay.err" &
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/relay.err")
    [ -n "$port" ] && break
    sleep 0.05
done
relay=127.0.0.1:$port
head -c 1000000 /dev/urandom >"$work/f"
now() { date +%s.%N; }
for mode in lan --force-relay ""; do
    for i in $(seq 1 "$runs"); do
        if [ "$mode" = lan ]; then
            send_opts=(--no-relay)
            recv_opts=(--no-relay)
        else
            send_opts=(--relay "$relay" --force-relay)
            recv_opts=(--relay "$relay" $mode)
        fi
        : >"$work/s.json" # read below before the job's own redirect may have made it
        "$PCP" send --json "${send_opts[@]}" "$work/f" >"$work/s.json" 2>/dev/null &
        sp=$!
        for _ in $(seq 1 100); do grep -q '"code"' "$work/s.json" && break; sleep 0.02; done
        code=$(sed -n 's/.*"code":"\([a-z-]*\)".*/\1/p' "$work/s.json")
        rm -rf "$work/out"
        t0=$(now)
        "$PCP" receive --json --yes "${recv_opts[@]}" --out "$work/out" "$code" |
            while IFS= read -r line; do
                case $line in *'"event":"offer"'*) echo "$(now)" >"$work/t1" ;; esac
            done
        t2=$(now)
        wait $sp
        awk -v a="$t0" -v b="$(cat "$work/t1")" -v c="$t2" -v m="${mode:-relay configured}" \
            'BEGIN { printf "%-18s %6.0f ms to the offer, %6.0f ms to the end (1 MB)\n", m, (b - a) * 1000, (c - a) * 1000 }'
    done
done
