#!/usr/bin/env bash
# What others can see, after croc's audit: the code never appears in any
# process's command line; everything a relay (or its path) carries holds
# neither the secret words nor the peers' local addresses in clear; and the
# rendezvous key depends only on the channel word and the time, not on the
# secret (two codes that share only the channel word use the same key).
# proxy.py sits in front of the relay and records every byte both ways.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)
# Local addresses pcp would know and must not reveal: IPv4 and a global
# IPv6 on a veth pair whose both ends stay in this test's own namespace.
ip link add pcpleak0 type veth peer name pcpleak1
ip addr add 10.77.0.1/24 dev pcpleak0
ip -6 addr add 2001:db8:77::1/64 dev pcpleak0 nodad
ip link set pcpleak0 up
ip link set pcpleak1 up
start_relay
PROXY_LOG="$WORK/wire.log" "$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp >"$WORK/proxy.out" \
    2>"$WORK/proxy.err" &
for _ in $(seq 1 100); do [ -s "$WORK/proxy.out" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(head -1 "$WORK/proxy.out")/pcp
head -c 30000 /dev/urandom >"$WORK/f"

# keys: the rendezvous keys (/v1/rv/KEY) in the log so far, one per line.
keys() { grep -ao '/v1/rv/[0-9a-f]*' "$WORK/wire.log" | sort -u; }

# transfer CODE: one relayed transfer with that code, given to the
# receiver through the environment; the command lines of every process are
# searched for the code's secret words while both run.
transfer() {
    local code=$1 w
    start_sender --relay "$url" --force-relay --code "$code" "$WORK/f"
    PCP_CODE=$code "$PCP" receive --json --relay "$url" --yes \
        --out "$WORK/out" >"$WORK/receiver.json" 2>"$WORK/receiver.err" &
    local rpid=$!
    for w in $(echo "${code#*-}" | tr - ' '); do
        # The sender was given --code (visible, as its help says); no other
        # process may show the words.
        for c in /proc/[0-9]*/cmdline; do
            [ "${c#/proc/}" = "$SENDER_PID/cmdline" ] && continue
            if { tr '\0' ' ' <"$c"; } 2>/dev/null | grep -qw -- "$w"; then
                fail "the word '$w' is in the command line of ${c%/cmdline}"
            fi
        done
    done
    set +e
    wait "$rpid"
    RECV_RC=$?
    set -e
    wait_sender
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "$code: exit $RECV_RC/$SENDER_RC"
    cmp "$WORK/f" "$WORK/out/f" || fail "$code: content differs"
    PATHS="$PATHS $(sed -n 's/.*"event":"path","path":"\([a-z]*\)".*/\1/p' "$WORK/receiver.json" | tail -1)"
    rm -rf "$WORK/out"
}

PATHS=
# Two codes that share only the channel word, in the same five-minute
# bucket (tried again once if a bucket boundary falls between them).
for attempt in 1 2; do
    : >"$WORK/wire.log"
    b0=$(($(date +%s) / 300))
    transfer ocean-pepper-trophy-artist
    k1=$(keys)
    transfer ocean-abandon-ability-rabbit
    k2=$(keys)
    [ "$b0" -eq $(($(date +%s) / 300)) ] && break
done
[ -n "$k1" ] || fail "no rendezvous request seen (is the proxy in the path?)"
[ "$k1" = "$k2" ] || fail "the rendezvous key depends on more than the channel word: $k1 / $k2"

# Nothing secret or local in clear, as text or as bytes.
for w in pepper trophy artist abandon ability rabbit; do
    if grep -aq -- "$w" "$WORK/wire.log"; then fail "the word '$w' crossed the relay in clear"; fi
done
for a in 10.77.0.1 2001:db8:77::1; do
    if grep -aq -- "$a" "$WORK/wire.log"; then fail "the address $a crossed the relay in clear"; fi
done
"$PY" - "$WORK/wire.log" <<'EOF' || fail "a local address crossed the relay in binary form"
import ipaddress, sys
data = open(sys.argv[1], "rb").read()
for a in ("10.77.0.1", "2001:db8:77::1"):
    if ipaddress.ip_address(a).packed in data:
        sys.exit(1)
EOF
echo "paths:$PATHS; the relay saw $(stat -c %s "$WORK/wire.log") bytes: no secret word, no local address"
echo PASS
