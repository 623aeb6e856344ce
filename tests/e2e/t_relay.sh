#!/usr/bin/env bash
# Through a relay on loopback with the direct paths switched off: 1 GiB
# (PCP_E2E_BIG_MB overrides), digests compared, the path reported as
# relayed on both sides. With the LAN available too, the LAN wins; with
# --no-relay a sender that is only at the relay is not found.
. "$(dirname "$0")/lib.sh"
mb=${PCP_E2E_BIG_MB:-1024}
head -c $((mb * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
start_relay
start_sender --relay "$RELAY" --force-relay "$WORK/big.bin"
PCP_CODE=$CODE receive --relay "$RELAY" --force-relay --yes --out "$WORK/out"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "relayed: exit $RECV_RC/$SENDER_RC"
[ "$(digest "$WORK/big.bin")" = "$(digest "$WORK/out/big.bin")" ] || fail "digest differs"
grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "receiver path not relayed"
grep -q '"event":"done".*"path":"relayed"' "$WORK/receiver.json" || fail "receiver done not relayed"
grep -q '"event":"connected".*"path":"relayed"' "$WORK/sender.json" || fail "sender path not relayed"
sed -n 's/.*"event":"done".*"seconds":\([0-9.]*\),"rate":\([0-9]*\).*/  relayed in \1 s, \2 B\/s/p' "$WORK/receiver.json"
[ "$(metric pcp_relay_pairs_total)" = 1 ] || fail "relay counted $(metric pcp_relay_pairs_total) pairs"
relayed=$(metric pcp_relay_bytes_total)
[ "$relayed" -gt $((mb * 1024 * 1024)) ] || fail "relay moved only $relayed bytes"
# The sender withdrew its record; nothing is left open.
[ "$(metric pcp_relay_records)" = 0 ] || fail "record left behind"
[ "$(metric pcp_relay_rooms)" = 0 ] || fail "room left open"

# Relay configured (environment) and the LAN available: the LAN wins.
echo small >"$WORK/small"
PCP_RELAY=$RELAY start_sender "$WORK/small"
PCP_RELAY=$RELAY receive --yes --out "$WORK/out2" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "lan+relay: exit $RECV_RC/$SENDER_RC"
grep -q '"event":"path","path":"lan"' "$WORK/receiver.json" || fail "LAN did not win"

# The same through a config file.
mkdir -p "$WORK/home/.config/pcp"
printf '# pcp\nrelay = %s\n' "$RELAY" >"$WORK/home/.config/pcp/config"
HOME=$WORK/home start_sender --force-relay "$WORK/small"
HOME=$WORK/home receive --force-relay --yes --out "$WORK/out3" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "config file: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/small" "$WORK/out3/small" || fail "config file: content differs"

# --no-relay: a sender that is only at the relay is never found.
start_sender --relay "$RELAY" --force-relay "$WORK/small"
PCP_RELAY=$RELAY receive --no-relay --timeout 3 --yes --out "$WORK/out4" "$CODE"
[ "$RECV_RC" -eq 7 ] || fail "--no-relay: exit $RECV_RC, want 7"
[ ! -e "$WORK/out4/small" ] || fail "--no-relay received through the relay"
grep -q "no sender found" "$WORK/receiver.err" || fail "--no-relay: no clear message"
kill "$SENDER_PID"
wait_sender

# The relay restarts while a sender waits: the sender enters its room and
# publishes its record again, and a receiver that comes later finds it.
start_sender --relay "$RELAY" --force-relay "$WORK/small"
sleep 0.5
port=${RELAY##*:}
kill "$RELAY_PID"
wait "$RELAY_PID" || true
start_relay --listen "127.0.0.1:$port"
receive --relay "$RELAY" --force-relay --timeout 20 --yes --out "$WORK/out5" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "after a relay restart: $RECV_RC/$SENDER_RC"
cmp "$WORK/small" "$WORK/out5/small" || fail "after a relay restart: content differs"

# Contradictory or broken settings are usage errors.
set +e
"$PCP" send --relay "$RELAY" --no-relay --force-relay "$WORK/small" 2>"$WORK/bad.err"; r1=$?
"$PCP" receive --relay "ftp://example.invalid" --yes "$CODE" 2>>"$WORK/bad.err"; r2=$?
PCP_CONFIG=$WORK/nope "$PCP" receive --yes "$CODE" 2>>"$WORK/bad.err"; r3=$?
set -e
[ $r1 -eq 2 ] && [ $r2 -eq 2 ] && [ $r3 -eq 2 ] || fail "bad relay settings: $r1 $r2 $r3"
echo PASS
