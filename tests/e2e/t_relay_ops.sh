#!/usr/bin/env bash
# Operating a relay: SIGHUP re-reads the config file (a bad file keeps the
# old configuration), SIGTERM refuses new rooms (503), lets an open pipe
# finish and exits 0; a pipe that outlives --drain is cut.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)
ABUSE=$(dirname "$0")/relay_abuse.py

# put TOKEN: the status of a rendezvous PUT made with that token.
put() {
    exec 8<>"/dev/tcp/${RELAY%:*}/${RELAY##*:}"
    printf 'PUT /v1/rv/%064d HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Pcp-Owner: %032d\r\nContent-Length: 3\r\nConnection: close\r\n\r\nv=1' 7 "$1" 7 >&8
    head -1 <&8 | cut -d' ' -f2
    exec 8<&-
}

printf 'token = first\nidle-timeout = 60\n' >"$WORK/relay.conf"
start_relay --config "$WORK/relay.conf"
[ "$(put first)" = 200 ] || fail "the configured token was refused"
[ "$(put second)" = 401 ] || fail "a wrong token was taken"
printf 'token = second\n' >"$WORK/relay.conf"
kill -HUP "$RELAY_PID"
for _ in $(seq 1 50); do grep -q "configuration reloaded" "$WORK/relay.err" && break; sleep 0.1; done
grep -q "configuration reloaded" "$WORK/relay.err" || fail "no reload logged"
[ "$(put second)" = 200 ] || fail "the new token was refused after SIGHUP"
[ "$(put first)" = 401 ] || fail "the old token still works after SIGHUP"
printf 'token = third\nmax-rooms = banana\n' >"$WORK/relay.conf"
kill -HUP "$RELAY_PID"
for _ in $(seq 1 50); do grep -q "not reloaded" "$WORK/relay.err" && break; sleep 0.1; done
grep -q "max-rooms" "$WORK/relay.err" || fail "the bad setting was not named"
[ "$(put second)" = 200 ] || fail "a bad file changed the configuration"

# Drain: an open pipe keeps working after SIGTERM and the relay exits 0
# once it is done; new clients are refused meanwhile.
printf 'token = second\n' >"$WORK/relay.conf"
kill -HUP "$RELAY_PID"
RELAY_TOKEN=second "$PY" "$ABUSE" "$RELAY" "$RELAY_PID" drain || fail "drain"
set +e
wait "$RELAY_PID"
rc=$?
set -e
[ $rc -eq 0 ] || fail "relay exit $rc after draining"
grep -q "stopped" "$WORK/relay.err" || fail "no stop logged"

# A pipe that does not finish is cut at the drain deadline.
start_relay --drain 1
"$PY" "$ABUSE" "$RELAY" "$RELAY_PID" drain_cut || fail "drain cut"
set +e
wait "$RELAY_PID"
rc=$?
set -e
[ $rc -eq 0 ] || fail "relay exit $rc after cutting"

# The per-room bandwidth cap: however fast the sender, the other side never
# gets more than the cap allows for the time that passed (an upper bound
# only, so a slow machine cannot make this fail).
start_relay --room-rate 2M
"$PY" "$ABUSE" "$RELAY" "$RELAY_PID" rate_cap || fail "rate cap"
echo PASS
