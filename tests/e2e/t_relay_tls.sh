#!/usr/bin/env bash
# An https:// relay: the relay behind a TLS-terminating proxy (socat with
# a certificate made here). With the CA given in PCP_RELAY_CA the transfer
# goes through and arrives intact; without it the certificate does not
# verify and the client stops with exit 7 and a clear message; a
# certificate for another name is refused too.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null && command -v socat >/dev/null || { echo "SKIP: no openssl or socat"; exit 77; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=elsewhere \
    -addext "subjectAltName=DNS:elsewhere.example" \
    -keyout "$WORK/key2.pem" -out "$WORK/cert2.pem" 2>/dev/null
start_relay
port=$((${RELAY##*:} + 1))
port2=$((${RELAY##*:} + 2))
socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,verify=0,cert=$WORK/cert.pem,key=$WORK/key.pem" \
    "TCP:$RELAY" 2>"$WORK/socat.err" &
socat "OPENSSL-LISTEN:$port2,bind=127.0.0.1,reuseaddr,fork,verify=0,cert=$WORK/cert2.pem,key=$WORK/key2.pem" \
    "TCP:$RELAY" 2>"$WORK/socat2.err" &
sleep 0.5

head -c 5000000 /dev/urandom >"$WORK/f"
export PCP_RELAY_CA=$WORK/cert.pem
start_sender --relay "https://localhost:$port" --force-relay "$WORK/f"
receive --relay "https://127.0.0.1:$port" --force-relay --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "over TLS: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "content differs"
grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "not relayed"

unset PCP_RELAY_CA
set +e
timeout 30 "$PCP" send --relay "https://localhost:$port" --force-relay "$WORK/f" \
    >/dev/null 2>"$WORK/untrusted.err"
r=$?
set -e
[ $r -eq 7 ] || fail "untrusted certificate: sender exit $r, want 7"
grep -q "certificate" "$WORK/untrusted.err" || fail "untrusted: no word of the certificate"
export PCP_RELAY_CA=$WORK/cert2.pem
receive --relay "https://localhost:$port2" --force-relay --timeout 5 --yes --out "$WORK/o2" "$CODE"
[ "$RECV_RC" -eq 7 ] || fail "wrong name: receiver exit $RECV_RC, want 7"
grep -q "certificate" "$WORK/receiver.err" || fail "wrong name: no word of the certificate"
echo PASS
