#!/usr/bin/env bash
# relay.sh BUILD_DIR [ROOMS] [MIB]: load on `pcp relay`, in a private network
# namespace (tests/interop/netns-lo.sh). A fresh relay on 127.0.0.1 with
# generous limits for each of these (relay_load):
#   - ROOMS pairs at once (default 1000), MIB MiB each way (default 4), every
#     byte checked; the relay's peak RSS and CPU seconds;
#   - ROOMS lone peers held open: the relay's RSS per waiting room;
#   - one pair moving 1 GiB (each way, then one way) through the relay, and
#     the same over a plain loopback TCP connection for comparison.
# It prints a table and asserts nothing about time; it exits 1 when a pair
# lost or changed a byte. On a small machine the load generator shares the
# CPUs with the relay: the figures are a floor, not the relay's ceiling.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = --in-netns ] && inside=1 || inside=0
[ "$inside" = 1 ] && shift
build=$(cd "${1:?usage: relay.sh BUILD_DIR [ROOMS] [MIB]}" && pwd)
rooms=${2:-1000}
mib=${3:-4}
if [ "$inside" = 0 ]; then
    exec "$here/../interop/netns-lo.sh" bash "$0" --in-netns "$build" "$rooms" "$mib"
fi
# Only ever on a private namespace's loopback.
if ip -o link show | awk -F': ' '{ print $2 }' | grep -qvx lo; then
    echo "relay.sh: not in a private network namespace; run it without --in-netns" >&2
    exit 1
fi
PCP=$build/cmd/pcp
LOAD=$build/tests/bench/relay_load
[ -x "$LOAD" ] || { echo "relay.sh: build relay_load first ($LOAD)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

# relay: a fresh relay for each measurement; sets relay_pid and relay.
relay_pid=
relay() {
    if [ -n "$relay_pid" ]; then
        kill -0 "$relay_pid" 2>/dev/null || { echo "relay.sh: the relay died" >&2; rc=1; }
        kill "$relay_pid" 2>/dev/null || true
        wait "$relay_pid" 2>/dev/null || true
    fi
    : >"$work/relay.err"
    "$PCP" relay --listen 127.0.0.1:0 --per-ip-conns 0 --per-ip-rooms 0 --max-conns 100000 \
        --max-rooms 100000 --drain 1 2>"$work/relay.err" &
    relay_pid=$!
    local port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/relay.err")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { cat "$work/relay.err" >&2; exit 1; }
    relay=127.0.0.1:$port
}

rc=0
# run NAME ARGS...: relay_load's figures into $work/NAME.
run() {
    local name=$1
    shift
    echo "relay.sh: relay_load $*" >&2
    if ! "$LOAD" "$@" >"$work/$name" 2>"$work/$name.err"; then
        rc=1
        echo "relay.sh: $name failed:" >&2
        cat "$work/$name.err" >&2
    fi
}
val() { awk -v k="$2" '$1 == k { print $2 }' "$work/$1"; }

relay
run load --check --relay-pid "$relay_pid" "$relay" "$rooms" "$mib"
# What the kernel went through meanwhile (the namespace is ours alone).
tcp=$(nstat -az 2>/dev/null | awk '$1 == "TcpExtTCPTimeouts" { t = $2 }
    $1 == "TcpExtTCPMemoryPressures" { m = $2 } END { printf "%d %d", t, m }')
relay
run idle --idle --relay-pid "$relay_pid" "$relay" "$rooms"
relay
run big --check --relay-pid "$relay_pid" "$relay" 1 1024
relay
run big1 --check --oneway --relay-pid "$relay_pid" "$relay" 1 1024
run plain --plain --check 1024
run plain1 --plain --check --oneway 1024
kill -0 "$relay_pid" 2>/dev/null || { echo "relay.sh: the relay died" >&2; rc=1; }

row() { # NAME LABEL
    printf '%-36s %9s %9s %10s %8s %9s\n' "$2" "$(val "$1" transfer_seconds)" \
        "$(val "$1" aggregate_MBps)" "$(val "$1" relay_cpu_seconds)" \
        "$(val "$1" load_cpu_seconds)" "$(val "$1" pairs_intact)/$(val "$1" rooms)"
}
echo
echo "pcp relay under load ($(nproc) CPUs; MB = 10^6 bytes; every byte checked)"
printf '%-36s %9s %9s %10s %8s %9s\n' "" "seconds" "MB/s" "relay CPU" "load CPU" "intact"
row load "$rooms pairs x $mib MiB each way"
row big "1 pair, 1 GiB each way"
row big1 "1 pair, 1 GiB one way"
row plain "plain TCP, 1 GiB each way"
row plain1 "plain TCP, 1 GiB one way"
echo
echo "setup of $rooms pairs ($((2 * rooms)) upgrades): $(val load setup_seconds) s"
echo "relay peak RSS (VmHWM) in the load: $(val load relay_peak_rss_kib) KiB"
echo "relay RSS with $rooms lone peers: $(val idle relay_rss_before_kib) -> $(val idle relay_rss_with_kib) KiB," \
    "$(val idle relay_rss_per_idle_room_bytes) bytes per waiting room" \
    "($(val idle idle_upgraded) upgraded, $(val idle idle_closed_by_relay) closed by the relay)"
echo "kernel TCP during the load: ${tcp% *} retransmission timeouts, ${tcp#* } memory-pressure episode(s)"
exit $rc
