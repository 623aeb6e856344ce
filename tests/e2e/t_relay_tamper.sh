#!/usr/bin/env bash
# A hostile relay or middlebox: between the relay and the receiver, a proxy
# (proxy.py) flips one byte, drops 1000 bytes or injects 100 bytes in the
# middle of the stream. Each time the receiver stops with an error that
# says the data did not verify, no file gets its final name, and the
# sender does not claim success.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)
start_relay
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/f"
for mode in flip drop inject; do
    "$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp "$mode" 3000000 >"$WORK/proxy-$mode.out" \
        2>"$WORK/proxy-$mode.err" &
    ppid=$!
    for _ in $(seq 1 100); do [ -s "$WORK/proxy-$mode.out" ] && break; sleep 0.05; done
    url=http://127.0.0.1:$(head -1 "$WORK/proxy-$mode.out")/pcp
    start_sender --relay "$RELAY" --force-relay --no-compress "$WORK/f"
    receive --relay "$url" --force-relay --yes --out "$WORK/out-$mode" "$CODE"
    wait_sender
    kill "$ppid"
    wait "$ppid" 2>/dev/null || true
    [ "$RECV_RC" -ne 0 ] || fail "$mode: the receiver accepted tampered data"
    [ "$SENDER_RC" -ne 0 ] || fail "$mode: the sender claimed success"
    grep -q "did not verify" "$WORK/receiver.err" || fail "$mode: no clear message"
    [ ! -e "$WORK/out-$mode/f" ] || fail "$mode: a file got its final name"
    echo "$mode: receiver exit $RECV_RC, $(tail -1 "$WORK/receiver.err")"
done

# The hellos rewritten both ways to offer the secretstream only (0x87,
# 0x85 or 0x83 to 0x81): both ends would pick the secretstream, but the
# hellos are bound into the keys, so the first message fails to open and
# the transfer stops; it must not go through with the cipher the middlebox
# chose. The control: with both ends limited to the secretstream the
# rewrite changes nothing and the transfer, through the same proxy, works.
hello_run() { # hello_run NAME [env for both peers]
    local name=$1
    shift
    "$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp hello 0 >"$WORK/proxy-$name.out" \
        2>"$WORK/proxy-$name.err" &
    ppid=$!
    for _ in $(seq 1 100); do [ -s "$WORK/proxy-$name.out" ] && break; sleep 0.05; done
    url=http://127.0.0.1:$(head -1 "$WORK/proxy-$name.out")/pcp
    export "$@"
    start_sender --relay "$RELAY" --force-relay --no-compress "$WORK/f"
    receive --relay "$url" --force-relay --yes --out "$WORK/out-$name" "$CODE"
    wait_sender
    unset PCP_CIPHER
    kill "$ppid"
    wait "$ppid" 2>/dev/null || true
    grep -q '^hello to-client 0x.. -> 0x.1$' "$WORK/proxy-$name.err" &&
        grep -q '^hello from-client 0x.. -> 0x.1$' "$WORK/proxy-$name.err" ||
        fail "$name: the proxy did not see both hellos: $(cat "$WORK/proxy-$name.err")"
}
hello_run hello PCP_CIPHER=
[ "$RECV_RC" -ne 0 ] || fail "hello: the receiver accepted a rewritten hello" \
    "($(grep -o '"cipher":"[a-z0-9]*"' "$WORK/receiver.json" | head -1))"
[ "$SENDER_RC" -ne 0 ] || fail "hello: the sender claimed success"
[ ! -e "$WORK/out-hello/f" ] || fail "hello: a file got its final name"
! grep -q '"event":"done"' "$WORK/receiver.json" || fail "hello: done with a rewritten hello"
grep -q '^hello to-client 0x.[2-7] -> ' "$WORK/proxy-hello.err" ||
    fail "hello: the sender's hello offered the secretstream alone already"
grep -q "did not verify" "$WORK/receiver.err" || fail "hello: no clear message"
echo "hello: $(cat "$WORK/proxy-hello.err" | tr '\n' ' ')receiver exit $RECV_RC"

hello_run hello-ss PCP_CIPHER=secretstream
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "hello-ss: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out-hello-ss/f" || fail "hello-ss: content differs"
grep -q '"cipher":"secretstream"' "$WORK/receiver.json" || fail "hello-ss: not the secretstream"
echo "hello-ss: $(tr '\n' ' ' <"$WORK/proxy-hello-ss.err")done with the secretstream"

# A receiver's proof that reaches the sender after its handshake deadline
# (as on a lossy link): the sender counts a wrong guess and drops the
# pipe before its first message; the receiver connects again by itself
# and the transfer completes.
"$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp late 0 >"$WORK/proxy-late.out" \
    2>"$WORK/proxy-late.err" &
ppid=$!
for _ in $(seq 1 100); do [ -s "$WORK/proxy-late.out" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(head -1 "$WORK/proxy-late.out")/pcp
start_sender --relay "$RELAY" --force-relay "$WORK/f"
receive --relay "$url" --force-relay --yes --out "$WORK/out-late" "$CODE"
wait_sender
kill "$ppid"
wait "$ppid" 2>/dev/null || true
grep -q "late: proof held" "$WORK/proxy-late.err" || fail "late: the proxy held no proof"
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] ||
    fail "late: exit $RECV_RC/$SENDER_RC: $(tail -2 "$WORK/receiver.err")"
cmp "$WORK/f" "$WORK/out-late/f" || fail "late: content differs"
grep -q '"event":"again","reason":"closed_early","attempt":1' "$WORK/receiver.json" ||
    fail "late: no again event"
grep -q '"event":"wrong_code","attempt":1' "$WORK/sender.json" ||
    fail "late: the sender did not count the late proof"
echo "late: the receiver connected again and the transfer completed"

# A relay that lies in its punch answer, naming as the sender's address
# one of its choosing. The receiver reaches the relay (through the proxy)
# at 192.0.2.1, an address of this namespace's lo, so that the relay is
# not on loopback itself. A canary listener counts what each connection
# to it brings. punch-lo: the address is loopback, which the receiver must
# not dial at all. punch-nonce: an address it may dial, whose listener
# says nothing: the receiver must send its nonce (16 bytes) and no proof,
# since a proof goes only to a peer that gave it a nonce. Either way the
# transfer then goes on over the relay.
ip addr add 192.0.2.1/32 dev lo
CANARY='
import socket, sys, threading
ls = socket.socket()
ls.bind((sys.argv[1], 0))
ls.listen(16)
print(ls.getsockname()[1], flush=True)
def count(c):
    c.settimeout(3)
    n = 0
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            n += len(d)
    except OSError:
        pass
    print("conn %d" % n, flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=count, args=(c,), daemon=True).start()
'
punch_run() { # punch_run NAME CANARY_ADDR
    local name=$1 addr=$2
    "$PY" -c "$CANARY" "$addr" >"$WORK/canary-$name.out" 2>&1 &
    cpid=$!
    for _ in $(seq 1 100); do [ -s "$WORK/canary-$name.out" ] && break; sleep 0.05; done
    PROXY_BIND=192.0.2.1 "$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp punch \
        "$addr:$(head -1 "$WORK/canary-$name.out")" >"$WORK/proxy-$name.out" \
        2>"$WORK/proxy-$name.err" &
    ppid=$!
    for _ in $(seq 1 100); do [ -s "$WORK/proxy-$name.out" ] && break; sleep 0.05; done
    url=http://192.0.2.1:$(head -1 "$WORK/proxy-$name.out")/pcp
    start_sender --relay "$RELAY" --force-relay "$WORK/f"
    receive --relay "$url" --yes --out "$WORK/out-$name" "$CODE"
    wait_sender
    kill "$ppid"
    wait "$ppid" 2>/dev/null || true
    grep -q "^punch peer .* -> $addr:" "$WORK/proxy-$name.err" ||
        fail "$name: the proxy rewrote no punch answer: $(cat "$WORK/proxy-$name.err")"
    [ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "$name: exit $RECV_RC/$SENDER_RC"
    cmp "$WORK/f" "$WORK/out-$name/f" || fail "$name: content differs"
    grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "$name: not relayed"
}
punch_run punch-lo 127.0.0.1
for _ in $(seq 1 30); do grep -q conn "$WORK/canary-punch-lo.out" && break; sleep 0.1; done
! grep -q conn "$WORK/canary-punch-lo.out" ||
    fail "punch-lo: the receiver dialled the loopback address the relay gave" \
        "($(tail -n +2 "$WORK/canary-punch-lo.out" | tr '\n' ' ')bytes)"
echo "punch-lo: $(tr '\n' ' ' <"$WORK/proxy-punch-lo.err")not dialled"
kill "$cpid"

punch_run punch-nonce 192.0.2.1
for _ in $(seq 1 50); do grep -q conn "$WORK/canary-punch-nonce.out" && break; sleep 0.1; done
grep -q conn "$WORK/canary-punch-nonce.out" || fail "punch-nonce: the receiver did not dial"
! grep conn "$WORK/canary-punch-nonce.out" | grep -vqx "conn 16" ||
    fail "punch-nonce: the receiver sent more than its nonce to a peer that sent none:" \
        "$(tail -n +2 "$WORK/canary-punch-nonce.out" | tr '\n' ' ')"
echo "punch-nonce: $(tail -n +2 "$WORK/canary-punch-nonce.out" | tr '\n' ' ')"
kill "$cpid"
echo PASS
