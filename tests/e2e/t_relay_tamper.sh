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
echo PASS
