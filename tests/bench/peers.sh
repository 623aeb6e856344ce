#!/usr/bin/env bash
# peers.sh [--link 100mbit|20mbit-loss1] - pcp side by side with the peers
# Debian ships (magic-wormhole 0.12, wormhole-william 1.0.6), on this machine,
# in one run, and one Markdown table of the figures, with the machine's
# limits measured in the same run. It prints figures and asserts no time.
#
# Default: every tool on loopback. --link RATE: the sender in one network
# namespace and the receiver in another, joined by a veth pair shaped with
# tbf on both ends (the kernel has no netem: no added delay); -loss1 also
# drops 1 % of the packets coming in on either end (iptables statistic).
#
# Cases, each with every tool: PEERS_MB MiB of random bytes, the same of
# text, and PEERS_FILES files of 1-8 KiB in 10 directories (the wormholes
# send a directory as a zip: that is their way and it counts), each
#   direct   pcp found by mDNS, no relay; the wormholes with their usual
#            transit (direct hints first, their transit relay as fallback)
#   relayed  pcp --force-relay on both sides through `pcp relay`;
#            magic-wormhole --no-listen on both sides (no direct hints);
#            wormhole-william has no such option: its relayed runs are
#            forced by a firewall in the receiver's namespace that refuses
#            every new TCP connection but to the mailbox and transit relay.
# pcp-nodht (not in the default set): pcp with --no-dht on both sides, to
# see what the DHT's node costs a transfer (PEERS_TOOLS="pcp pcp-nodht").
# pcp-stdout (random and text only): pcp again, the receiver with --stdout
# into /dev/null: the same transfer with the receiver's storage out of the
# picture (checked by pcp's own digests, not by cmp).
# Memory: this machine is a VM that hands memory freed in it back to its
# host within seconds (free page reporting), and a file written into such
# memory costs up to 5 times more. Before each run (every tool alike) a
# scratch file of the case's size is written and removed, so that every
# receiver starts in the same state; PEERS_SETTLE=0 leaves that out. The
# limits below give the storage's rate both ways.
# The path column is checked, not assumed: pcp's own `path` event, and for
# the wormholes the bytes their transit relay logged during the run.
# Time: from the sender's start to the receiver's exit; a run counts only
# when both exited 0 and the received bytes equal the sent (cmp, diff -r).
# CPU seconds (user+sys) and peak RSS per side come from /usr/bin/time;
# the relay's CPU seconds (pcp relay, or the transit relay) from /proc.
# With PEERS_RUNS > 1 the run with the median time is shown. Exit status:
# 1 when a pcp run failed (a peer's failure is only in the table).
#
# Environment: PEERS_MB (1024; 128 with --link 100mbit, 32 with
# 20mbit-loss1), PEERS_FILES (10000; 2000; 1000), PEERS_RUNS (1),
# PEERS_DIR (where the data and the work files go: /dev/shm, so that the
# figures are the tools' and not the disk's), PEERS_TOOLS and PEERS_CASES
# (subsets of "pcp magic-wormhole wormhole-william" and "random text
# files"), PEERS_SETTLE (1), PEERS_TIMEOUT (seconds a side may take, 3600), PCP (default:
# build/cmd/pcp of this tree).
#
# Not one packet may leave the machine: every process that opens a socket
# (pcp, both wormholes, the mailbox, both relays, the TCP probe) runs in a
# network namespace made here, which has no interface but lo and the veth
# pairs made here, and all of it is removed on exit. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PCP=${PCP:-$repo/build/cmd/pcp}

link=
case "${1:-}" in
"") ;;
--link)
    link=${2:-}
    case $link in 100mbit | 20mbit-loss1) ;; *)
        echo "usage: $0 [--link 100mbit|20mbit-loss1]" >&2
        exit 2
        ;;
    esac
    ;;
*)
    echo "usage: $0 [--link 100mbit|20mbit-loss1]" >&2
    exit 2
    ;;
esac
case $link in
"") mb=${PEERS_MB:-1024} nfiles=${PEERS_FILES:-10000} ;;
100mbit) mb=${PEERS_MB:-128} nfiles=${PEERS_FILES:-2000} ;;
20mbit-loss1) mb=${PEERS_MB:-32} nfiles=${PEERS_FILES:-1000} ;;
esac
runs=${PEERS_RUNS:-1}
tools=${PEERS_TOOLS:-pcp pcp-stdout magic-wormhole wormhole-william}
settle=${PEERS_SETTLE:-1}
cases=${PEERS_CASES:-random text files}
[ "$(id -u)" -eq 0 ] || { echo "peers.sh: needs root (network namespaces)" >&2; exit 77; }
[ -x "$PCP" ] || { echo "peers.sh: no pcp at $PCP; build it first" >&2; exit 1; }

# The peers, their mailbox and transit relay, and GNU time: Debian's
# packages, installed only when missing.
need=
for p in wormhole-william magic-wormhole python3-magic-wormhole-mailbox-server \
    magic-wormhole-transit-relay time libsodium-dev iptables iproute2 openssl; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
    echo "peers.sh: installing$need" >&2
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
ver() { dpkg-query -W -f '${Version}' "$1"; }

work=$(mktemp -d "${PEERS_DIR:-/dev/shm}/pcpbench.XXXXXX")
tag=pcpbench-$$
NSS=
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    local ns
    disown -a 2>/dev/null || true
    # Everything this script started lives in its namespaces: kill what
    # is in them (by pid), then remove them and their /etc/netns files.
    for ns in $NSS; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    done
    sleep 0.2
    for ns in $NSS; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { echo "peers.sh: $*" >&2; }

# mkns NAME: a fresh namespace with lo up, multicast on, and a hosts file
# that sends the names wormhole-william dials on its own (its transit relay
# has no option; the mailbox has one, but just in case) to our relay, and
# an empty resolv.conf: no name is ever looked up outside.
mkns() {
    ip netns add "$1"
    NSS="$NSS $1"
    ip -n "$1" link set lo up multicast on
    mkdir -p "/etc/netns/$1"
    printf '127.0.0.1 localhost\n%s transit.magic-wormhole.io relay.magic-wormhole.io\n' \
        "$SVC_IP" >"/etc/netns/$1/hosts"
    : >"/etc/netns/$1/resolv.conf"
}

# nsrun NS CMD...: exec CMD in NS with a clean environment (no pyenv on
# PATH: Debian's python3 modules load only in /usr/bin/python3; no user
# configuration). Called in a subshell, `(nsrun ...) &`, whose pid is then
# CMD's own.
mkdir -p "$work/home" "$work/tmp" "$work/data" "$work/res"
nsrun() {
    local ns=$1
    shift
    exec ip netns exec "$ns" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" \
        TMPDIR="$work/tmp" LANG=C.UTF-8 "$@"
}

# --- The namespaces -------------------------------------------------------
if [ -z "$link" ]; then
    # pcp alone in a namespace with nothing but a multicast loopback, as
    # tests/bench/run.sh: its mDNS on lo does not work while another
    # interface has an address (even with --mdns-interface lo).
    SVC_IP=127.0.0.1
    NS_PCP=$tag-pcp NS_PEER=$tag-peer
    mkns "$NS_PCP"
    ip -n "$NS_PCP" route add 224.0.0.0/4 dev lo
    # The wormholes' namespace needs an address besides 127.0.0.1:
    # wormhole-william offers no loopback address as a direct hint, so on
    # lo alone it always goes through its transit relay. A veth pair with
    # both ends in the namespace (no dummy module here) holds one from
    # the benchmarking range; traffic to it stays on lo.
    mkns "$NS_PEER"
    ip -n "$NS_PEER" link add v0 type veth peer name v1
    ip netns exec "$NS_PEER" sysctl -qw net.ipv6.conf.v0.disable_ipv6=1 net.ipv6.conf.v1.disable_ipv6=1
    ip -n "$NS_PEER" addr add 198.18.0.1/32 dev v0
    ip -n "$NS_PEER" link set v0 up
    ip -n "$NS_PEER" link set v1 up
    PCP_SND=$NS_PCP PCP_RCV=$NS_PCP PEER_SND=$NS_PEER PEER_RCV=$NS_PEER
    RELAY_NS=$NS_PCP SVC_NS=$NS_PEER
else
    # Sender in A, receiver in B, one veth between them, and every server
    # in the sender's namespace, listening on its end of the link.
    SVC_IP=198.18.1.1
    A=$tag-a B=$tag-b
    mkns "$A"
    mkns "$B"
    ip link add vA netns "$A" type veth peer name vB netns "$B"
    ip -n "$A" addr add 198.18.1.1/24 dev vA
    ip -n "$B" addr add 198.18.1.2/24 dev vB
    rate=${link%%-*}
    for end in "$A:vA" "$B:vB"; do
        ns=${end%:*} dev=${end#*:}
        ip -n "$ns" link set "$dev" up
        # mDNS between the two: multicast goes out on the veth.
        ip -n "$ns" route add 224.0.0.0/4 dev "$dev"
        # tbf: RATE, bursts of at most 128 KB (GSO packets larger than
        # that are split), and at most 50 ms of queue.
        ip netns exec "$ns" tc qdisc add dev "$dev" root tbf rate "$rate" burst 128kb latency 50ms
        if [ "$link" = 20mbit-loss1 ]; then
            ip netns exec "$ns" iptables -A INPUT -i "$dev" -m statistic --mode random \
                --probability 0.01 -j DROP
        fi
    done
    PCP_SND=$A PCP_RCV=$B PEER_SND=$A PEER_RCV=$B RELAY_NS=$A SVC_NS=$A
fi

# --- The servers ----------------------------------------------------------
# wait_port NS IP PORT: until something listens there.
wait_port() {
    for _ in $(seq 1 200); do
        ip netns exec "$1" bash -c "</dev/tcp/$2/$3" 2>/dev/null && return 0
        sleep 0.05
    done
    say "nothing listens on $2:$3 in $1"
    exit 1
}
: >"$work/relay.err" # read below before the job's own redirect may have made it
(nsrun "$RELAY_NS" "$PCP" relay --listen "$SVC_IP:0") 2>"$work/relay.err" &
relay_pid=$!
RELAY=
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on .* (port \([0-9]*\)).*/\1/p' "$work/relay.err")
    [ -n "$port" ] && { RELAY=$SVC_IP:$port; break; }
    sleep 0.05
done
[ -n "$RELAY" ] || { say "pcp relay did not start: $(cat "$work/relay.err")"; exit 1; }
# magic-wormhole's mailbox (rendezvous) and transit relay; the relay logs a
# JSON line per connection pair (total_bytes) to fd 3: that tells whether a
# run went through it.
(cd "$work" && nsrun "$SVC_NS" /usr/bin/python3 /usr/bin/twist3 wormhole-mailbox --port="tcp:4000:interface=$SVC_IP" \
    --channel-db="$work/mailbox.sqlite") >"$work/mailbox.log" 2>&1 &
(cd "$work" && nsrun "$SVC_NS" /usr/bin/python3 /usr/bin/twist3 transitrelay --port="tcp:4001:interface=$SVC_IP" \
    --log-fd=3) >"$work/transit.log" 2>&1 3>"$work/transit.json" &
transit_pid=$!
wait_port "$SVC_NS" "$SVC_IP" 4000
wait_port "$SVC_NS" "$SVC_IP" 4001
MAILBOX=ws://$SVC_IP:4000/v1
TRANSIT=tcp:$SVC_IP:4001

# --- Data -----------------------------------------------------------------
say "work directory $work; generating the data"
cc -O2 -o "$work/peertool" "$here/peers/peertool.c" -lsodium -lm
PT=$work/peertool
data=$work/data
"$PT" random "$data/random.bin" "$mb"
"$PT" text "$data/text.txt" "$mb" "$repo/wordlist/english.txt"
"$PT" files "$data/small" "$nfiles"
ratio=$(/usr/bin/python3 -c 'import sys, zlib
d = open(sys.argv[1], "rb").read(64 << 20)
print("%.1f" % (len(d) / len(zlib.compress(d, 6))))' "$data/text.txt")
files_bytes=$(du -sb --apparent-size "$data/small" | cut -f1)

# --- The limits -----------------------------------------------------------
# TCP: one connection, no crypto, no disk; on loopback, or across the link.
if [ -z "$link" ]; then tcp_ns=("$NS_PCP" "$NS_PCP") tcp_ip=127.0.0.1 tcp_mb=1024; else
    tcp_ns=("$A" "$B") tcp_ip=198.18.1.2 tcp_mb=$mb; fi
ip netns exec "${tcp_ns[1]}" "$PT" sink "$tcp_ip" 5999 >"$work/sink.out" &
sink_pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/sink.out" && break; sleep 0.05; done
ip netns exec "${tcp_ns[0]}" "$PT" source "$tcp_ip" 5999 "$tcp_mb"
wait "$sink_pid"
tcp_rate=$(awk '$1 == "MBps" { print $2 }' "$work/sink.out")
"$PT" cipher 1024 >"$work/cipher.out"
ss_rate=$(awk '$1 == "secretstream_MBps" { print $2 }' "$work/cipher.out")
sb_rate=$(awk '$1 == "secretbox_MBps" { print $2 }' "$work/cipher.out")
gcm_rate=$(openssl speed -seconds 2 -bytes 262144 -evp aes-256-gcm 2>/dev/null |
    awk '$1 == "AES-256-GCM" { sub("k", "", $2); printf "%.0f", $2 / 1000 }')
# settle_mem: write and remove a scratch file of the case's size, so that
# the next writer finds memory its host has not taken back (see the top).
settle_mem() {
    dd if=/dev/zero of="$work/settle.tmp" bs=1M count="$mb" status=none
    rm -f "$work/settle.tmp"
}
# The work directory's storage: a new file written (+ fsync) into memory
# the host took back (5 s after a free), then right after a settle_mem;
# then read bypassing the page cache where the file system allows it.
# mb_per_s T0 T1: the rate of $mb MiB moved between the two times.
mb_per_s() { awk -v a="$1" -v b="$2" -v m="$mb" 'BEGIN { printf "%.0f", m * 1048576 / 1e6 / (b - a) }'; }
disk_write() {
    local t0=$EPOCHREALTIME
    dd if=/dev/zero of="$work/disk.tmp" bs=1M count="$mb" conv=fsync status=none
    mb_per_s "$t0" "$EPOCHREALTIME"
}
settle_mem
sleep 5
disk_cold=$(disk_write)
rm -f "$work/disk.tmp"
settle_mem
disk_w=$(disk_write)
t1=$EPOCHREALTIME
how_read=O_DIRECT
if ! dd if="$work/disk.tmp" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null; then
    how_read="page cache"
    t1=$EPOCHREALTIME
    dd if="$work/disk.tmp" of=/dev/null bs=1M status=none
fi
t2=$EPOCHREALTIME
rm -f "$work/disk.tmp"
disk_r=$(mb_per_s "$t1" "$t2")

# --- One transfer ---------------------------------------------------------
# cpu_of PID: user+sys seconds so far of a running process.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
relay_bytes() { awk -F'"total_bytes": ' 'NF > 1 { split($2, a, ","); s += a[1] } END { printf "%.0f\n", s }' \
    "$work/transit.json"; }
# fw on|off NS: refuse every new TCP connection in NS but to the mailbox
# and the transit relay (ports 4000, 4001), both ways.
fw() {
    local op=-A chain
    [ "$1" = off ] && op=-D
    for chain in OUTPUT INPUT; do
        ip netns exec "$2" iptables "$op" "$chain" -p tcp --syn -m multiport ! --dports 4000,4001 \
            -j REJECT --reject-with tcp-reset
    done
}
nameplate=10
pcp_failed=0
limit=${PEERS_TIMEOUT:-3600}

# one TOOL HOW NAME UNITS RESFILE: one run of NAME (in $data) from sender to
# receiver; appends "rate wall scpu rcpu srss rrss relaycpu path" to RESFILE
# when it ran and verified, or reports why not.
one() {
    local tool=$1 how=$2 name=$3 units=$4 res=$5
    local out=$work/out sns rns code="" spid rc=0 src=0 t0 t1 rb0 rb1 rpid rcpu0 path ok=1
    local -a scmd rcmd
    rm -rf "$out"
    mkdir -p "$out"
    : >"$work/s.log"
    : >"$work/r.log"
    case $tool in
    pcp | pcp-stdout | pcp-nodht)
        sns=$PCP_SND rns=$PCP_RCV rpid=$relay_pid
        scmd=("$PCP" send --json) rcmd=("$PCP" receive --json --yes --timeout 60 --out "$out")
        [ "$tool" = pcp-stdout ] && rcmd=("$PCP" receive --yes --timeout 60 --stdout --json-fd 3)
        [ "$tool" = pcp-nodht ] && scmd+=(--no-dht) && rcmd+=(--no-dht)
        if [ "$how" = relayed ]; then
            scmd+=(--relay "$RELAY" --force-relay)
            rcmd+=(--relay "$RELAY" --force-relay)
        fi
        scmd+=("$name")
        ;;
    magic-wormhole)
        sns=$PEER_SND rns=$PEER_RCV rpid=$transit_pid code=$((nameplate++))-pcp-bench
        scmd=(/usr/bin/wormhole --relay-url "$MAILBOX" --transit-helper "$TRANSIT" send
            --hide-progress --code "$code")
        rcmd=(/usr/bin/wormhole --relay-url "$MAILBOX" --transit-helper "$TRANSIT" receive
            --hide-progress --accept-file -o "$name")
        if [ "$how" = relayed ]; then
            scmd+=(--no-listen)
            rcmd+=(--no-listen)
        fi
        scmd+=("$name")
        rcmd+=("$code")
        ;;
    wormhole-william)
        sns=$PEER_SND rns=$PEER_RCV rpid=$transit_pid code=$((nameplate++))-pcp-bench
        scmd=(/usr/bin/wormhole-william send --relay-url "$MAILBOX" --hide-progress --code "$code" "$name")
        # It asks "ok? (y/N)" on stdin, whatever the options.
        rcmd=(/usr/bin/wormhole-william receive --relay-url "$MAILBOX" --hide-progress "$code")
        if [ "$how" = relayed ]; then fw on "$rns"; fi
        ;;
    esac
    if [ "$settle" = 1 ]; then settle_mem; fi
    rb0=$(relay_bytes)
    rcpu0=$(cpu_of "$rpid")
    t0=$EPOCHREALTIME
    # timeout inside time: time's figures are the tool's (and timeout's,
    # which is nothing); the sender is the time process's grandchild.
    (cd "$data" && nsrun "$sns" /usr/bin/time -f '%e %U %S %M' -o "$work/s.time" \
        timeout -k 5 "$limit" "${scmd[@]}") >"$work/s.log" 2>&1 </dev/null &
    spid=$!
    # The receiver starts once the sender has its code, as a person would.
    for _ in $(seq 1 1500); do
        if [ "$tool" != magic-wormhole ] && [ "$tool" != wormhole-william ]; then
            code=$(sed -n 's/.*"event":"code","code":"\([a-z-]*\)".*/\1/p' "$work/s.log")
            [ -n "$code" ] && break
        else
            grep -q 'Wormhole code is' "$work/s.log" && break
        fi
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.005
    done
    case $tool in pcp*) rcmd+=("$code") ;; esac
    # pcp-stdout: the data into /dev/null, the messages and events into the log.
    local rout=$work/r.log
    [ "$tool" = pcp-stdout ] && rout=/dev/null
    (cd "$out" && printf 'y\n' | nsrun "$rns" /usr/bin/time -f '%e %U %S %M' -o "$work/r.time" \
        timeout -k 5 "$limit" "${rcmd[@]}") >"$rout" 2>>"$work/r.log" 3>>"$work/r.log" || rc=$?
    t1=$EPOCHREALTIME
    # The sender should be done (or about to be); give it a minute.
    for _ in $(seq 1 600); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$spid" 2>/dev/null; then pkill -TERM -P "$spid" 2>/dev/null || true; fi
    wait "$spid" || src=$?
    if [ "$tool" = wormhole-william ] && [ "$how" = relayed ]; then fw off "$rns"; fi
    sleep 0.3 # the transit relay logs a pair when both ends have closed
    rb1=$(relay_bytes)
    if [ "${tool%%-*}" = pcp ]; then
        path=$(sed -n 's/.*"event":"path","path":"\([a-z]*\)".*/\1/p' "$work/r.log" | head -1)
    else
        # Through the relay if it carried at least a quarter of the data
        # (a zip of random files is about the files' size).
        local size=$files_bytes
        [ "$name" = small ] || size=$(stat -c %s "$data/$name")
        path=direct
        [ $(((rb1 - rb0) * 4)) -gt "$size" ] && path=relayed
    fi
    if [ "$tool" = pcp-stdout ]; then
        : # pcp's digests: its exit status says
    elif [ -d "$data/$name" ]; then
        diff -rq "$data/$name" "$out/$name" >/dev/null 2>&1 || ok=0
    else
        cmp -s "$data/$name" "$out/$name" || ok=0
    fi
    if [ $rc -ne 0 ] || [ $src -ne 0 ] || [ $ok -eq 0 ]; then
        say "$tool $how $name FAILED: receiver exit $rc, sender exit $src, verified $ok"
        case $tool in pcp*) pcp_failed=1 ;; esac
        tail -5 "$work/s.log" | sed 's/^/  sender: /' >&2
        tail -5 "$work/r.log" | sed 's/^/  receiver: /' >&2
        return 0
    fi
    local s r
    s=$(tail -1 "$work/s.time")
    r=$(tail -1 "$work/r.time")
    awk -v t0="$t0" -v t1="$t1" -v u="$units" -v s="$s" -v r="$r" -v p="$path" \
        -v rc="$(awk -v a="$rcpu0" -v b="$(cpu_of "$rpid")" 'BEGIN { printf "%.2f", b - a }')" \
        'BEGIN { split(s, S, " "); split(r, R, " "); w = t1 - t0
                 printf "%.6f %.3f %.2f %.2f %.1f %.1f %s %s\n", u / w, w, S[2] + S[3], R[2] + R[3],
                        S[4] / 1024, R[4] / 1024, rc, p }' >>"$res"
    local inside=
    case $tool in pcp*) inside=", pcp's own clock $(sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\).*/\1/p' "$work/s.log") s" ;; esac
    say "$tool $how $name: $(tail -1 "$res" | awk '{ printf "%.2f s, %s", $2, $8 }')$inside"
}

# --- The runs -------------------------------------------------------------
cat_name() { case $1 in random) echo random.bin ;; text) echo text.txt ;; files) echo small ;; esac; }
cat_label() {
    case $1 in
    random) echo "$mb MiB random" ;;
    text) echo "$mb MiB text" ;;
    files) echo "$nfiles files 1-8 KiB" ;;
    esac
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for c in $cases; do
    name=$(cat_name "$c")
    if [ "$c" = files ]; then units=$nfiles; else units=$(awk -v m="$mb" 'BEGIN { print m * 1048576 / 1e6 }'); fi
    for how in direct relayed; do
        for _ in $(seq 1 "$runs"); do
            for t in $tools; do
                [ "$c" = files ] && [ "$t" = pcp-stdout ] && continue
                one "$t" "$how" "$name" "$units" "$work/res/$c-$how-$t"
            done
        done
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- The table ------------------------------------------------------------
# median FILE: the line of the run with the median time.
median() { [ -s "$1" ] && sort -k2,2g "$1" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
# spread FILE: the lowest and highest rate of the runs ("—" for one run).
spread() {
    awk '{ if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
         END { if (NR < 2) print "—"; else printf (lo < 100 ? "%.1f-%.1f\n" : "%.0f-%.0f\n"), lo, hi }' "$1"
}
pcpv=$(ip netns exec "$PCP_SND" "$PCP" --version 2>/dev/null | head -1)
echo
echo "## pcp and its peers: $([ -z "$link" ] && echo loopback || echo "link $link (tbf on a veth pair; sender and receiver in two namespaces)")"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r); $pcpv," \
    "magic-wormhole $(ver magic-wormhole), wormhole-william $(ver wormhole-william)," \
    "mailbox $(ver python3-magic-wormhole-mailbox-server), transit relay $(ver magic-wormhole-transit-relay)."
echo "Data in $(stat -f -c %T "$work"); text: Zipf English words, ${ratio}x with zlib -6;" \
    "$nfiles files: $((files_bytes / 1000)) kB. MB = 10^6 bytes. $runs run(s) per cell$(
        [ "$runs" -gt 1 ] && echo ", the run with the median time shown, and the lowest and highest rate")." \
    "Load average before/after: $load0 / $load1 (other work on this machine makes the figures noisy)."
echo
echo "| case | tool | path | MB/s or files/s | lowest-highest | sender CPU s | receiver CPU s | sender RSS MiB | receiver RSS MiB | relay CPU s | pcp ratio |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in $cases; do
    unit="MB/s"
    [ "$c" = files ] && unit="files/s"
    for how in direct relayed; do
        pcp_line=$(median "$work/res/$c-$how-pcp" || true)
        for t in $tools; do
            [ "$c" = files ] && [ "$t" = pcp-stdout ] && continue
            line=$(median "$work/res/$c-$how-$t" || true)
            if [ -z "$line" ]; then
                echo "| $(cat_label "$c"), $how | $t | | FAILED | | | | | | | |"
                continue
            fi
            echo "$line" | awk -v c="$(cat_label "$c"), $how" -v t="$t" -v u="$unit" -v p="$pcp_line" \
                -v sp="$(spread "$work/res/$c-$how-$t")" '{
                ratio = "—"
                peer = t !~ /^pcp/
                if (peer && p != "") { split(p, P, " "); ratio = sprintf("%.2fx", P[1] / $1) }
                if (peer && p == "") ratio = "n/a"
                printf "| %s | %s | %s | " ($1 < 100 ? "%.1f" : "%.0f") " %s | %s | %.2f | %.2f | %.1f | %.1f | %s | %s |\n",
                       c, t, $8, $1, u, sp, $3, $4, $5, $6, ($8 == "relayed" ? $7 : "—"), ratio }'
        done
    done
done
echo
echo "pcp ratio: pcp's rate over the tool's (above 1: pcp is faster). Relay CPU: the pcp relay's or"
echo "the transit relay's CPU seconds during the run (a third process on the same CPUs)."
echo "wormhole-william relayed: forced by a firewall (no option for it); magic-wormhole: --no-listen."
echo "pcp-stdout: the receiver writes into /dev/null (--stdout): the transfer without the storage."
[ "$settle" = 1 ] && echo "Each run starts right after a scratch file of the case's size was written and removed" \
    "(every tool alike): see the storage limit below."
echo
echo "Limits of this machine, in the same run:"
if [ -z "$link" ]; then
    echo "- loopback TCP, one connection, no crypto, 1 GiB: $tcp_rate MB/s"
else
    echo "- the link, one TCP connection, no crypto, $mb MiB: $tcp_rate MB/s"
fi
echo "- cipher on one core, 256 KiB messages: secretstream XChaCha20-Poly1305 (pcp's baseline) $ss_rate MB/s," \
    "secretbox XSalsa20-Poly1305 (the wormholes' transit) $sb_rate MB/s, AES-256-GCM (openssl; pcp's" \
    "choice where both ends have AES-NI) $gcm_rate MB/s"
echo "- storage of the work directory ($(stat -f -c %T "$work")), a new $mb MiB file, write+fsync:" \
    "$disk_w MB/s right after memory was freed, $disk_cold MB/s into memory the host took back;" \
    "read ($how_read) $disk_r MB/s"
# pcp's direct random run against the limits (on a shaped link, the link
# is the only one that matters).
for t in pcp pcp-stdout; do
    [ -z "$link" ] || break
    line=$(median "$work/res/random-direct-$t" 2>/dev/null || true)
    [ -n "$line" ] || continue
    echo "$line" | awk -v t="$t" -v ss="$ss_rate" -v gcm="$gcm_rate" -v tcp="$tcp_rate" -v dw="$disk_w" '{
        printf "- %s, random, direct: %.0f %% of the secretstream cipher, %.0f %% of AES-256-GCM, %.0f %% of TCP", t,
               100 * $1 / ss, 100 * $1 / gcm, 100 * $1 / tcp
        if (t == "pcp") printf ", %.0f %% of the storage write", 100 * $1 / dw
        printf "\n" }'
done
# A peer's failure is in the table; pcp's is also the exit status.
exit "$pcp_failed"
