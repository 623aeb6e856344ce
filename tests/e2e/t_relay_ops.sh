#!/usr/bin/env bash
# Operating a relay: SIGHUP re-reads the config file (a bad file keeps the
# old configuration), SIGTERM stops taking new clients, lets an open pipe
# finish and exits 0; a pipe that outlives --drain is cut.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)

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
cat >"$WORK/pair.py" <<'PYEOF'
import os, signal, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def pipe(room):
    s = socket.create_connection((host, int(port)))
    s.sendall(f"GET /v1/pipe/{room} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer second\r\n"
              f"Connection: Upgrade\r\nUpgrade: pcp-relay/1\r\n\r\n".encode())
    h = b""
    while not h.endswith(b"\r\n\r\n"):
        h += s.recv(1)
    assert h.startswith(b"HTTP/1.1 101"), h
    return s
room = os.urandom(16).hex()
a, b = pipe(room), pipe(room)
os.kill(int(sys.argv[2]), signal.SIGTERM)
time.sleep(0.5)
try:
    c = socket.create_connection((host, int(port)), timeout=2)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    print("new client:", c.recv(100)[:12])
except OSError as e:
    print("new client refused:", e.__class__.__name__)
a.sendall(b"after the signal")
b.settimeout(5)
print("pipe still works:", b.recv(16) == b"after the signal", flush=True)
a.close(); b.close()
PYEOF
"$PY" "$WORK/pair.py" "$RELAY" "$RELAY_PID" >"$WORK/pair.out" 2>&1 || fail "pair: $(cat "$WORK/pair.out")"
cat "$WORK/pair.out"
grep -q "pipe still works: True" "$WORK/pair.out" || fail "the open pipe broke on SIGTERM"
grep -q "new client refused" "$WORK/pair.out" || fail "a new client was served while draining"
set +e
wait "$RELAY_PID"
rc=$?
set -e
[ $rc -eq 0 ] || fail "relay exit $rc after draining"
grep -q "stopped" "$WORK/relay.err" || fail "no stop logged"

# A pipe that does not finish is cut at the drain deadline.
start_relay --drain 1
cat >"$WORK/stuck.py" <<'PYEOF'
import os, signal, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def pipe(room):
    s = socket.create_connection((host, int(port)))
    s.sendall(f"GET /v1/pipe/{room} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: pcp-relay/1\r\n\r\n".encode())
    h = b""
    while not h.endswith(b"\r\n\r\n"):
        h += s.recv(1)
    return s
room = os.urandom(16).hex()
a, b = pipe(room), pipe(room)
os.kill(int(sys.argv[2]), signal.SIGTERM)
a.settimeout(10)
print("cut:", a.recv(1) == b"", flush=True)
PYEOF
"$PY" "$WORK/stuck.py" "$RELAY" "$RELAY_PID" >"$WORK/stuck.out" 2>&1 || fail "stuck: $(cat "$WORK/stuck.out")"
grep -q "cut: True" "$WORK/stuck.out" || fail "a pipe outlived the drain"
set +e
wait "$RELAY_PID"
rc=$?
set -e
[ $rc -eq 0 ] || fail "relay exit $rc after cutting"
# The per-room bandwidth cap: however fast the sender, the other side never
# gets more than the cap allows for the time that passed (an upper bound
# only, so a slow machine cannot make this fail).
start_relay --room-rate 2M
cat >"$WORK/rate.py" <<'PYEOF'
import os, socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
def pipe(room):
    s = socket.create_connection((host, int(port)))
    s.sendall(f"GET /v1/pipe/{room} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: pcp-relay/1\r\n\r\n".encode())
    h = b""
    while not h.endswith(b"\r\n\r\n"):
        h += s.recv(1)
    return s
room = os.urandom(16).hex()
a, b = pipe(room), pipe(room)
def writer():
    try:
        while True:
            a.sendall(bytes(65536))
    except OSError:
        pass
threading.Thread(target=writer, daemon=True).start()
got, t0 = 0, time.monotonic()
b.settimeout(5)
while time.monotonic() - t0 < 2.5:
    got += len(b.recv(1 << 20))
elapsed = time.monotonic() - t0
limit = 2 * 1048576 * (elapsed + 0.3) + 65536
print(f"got {got} bytes in {elapsed:.2f} s; the cap allows {limit:.0f}", flush=True)
sys.exit(0 if 0 < got <= limit else 1)
PYEOF
"$PY" "$WORK/rate.py" "$RELAY" >"$WORK/rate.out" 2>&1 || fail "rate cap: $(cat "$WORK/rate.out")"
cat "$WORK/rate.out"
echo PASS
