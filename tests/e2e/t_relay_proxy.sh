#!/usr/bin/env bash
# A relay behind a reverse proxy under a path prefix (proxy.py, the shape
# of the nginx block in the README): records and the Upgrade to a pipe pass
# through, and a transfer through it arrives intact.
. "$(dirname "$0")/lib.sh"
PY=$(command -v python3)
start_relay
"$PY" "$(dirname "$0")/proxy.py" "$RELAY" /pcp >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
for _ in $(seq 1 100); do [ -s "$WORK/proxy.out" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(head -1 "$WORK/proxy.out")/pcp
head -c 3000000 /dev/urandom >"$WORK/f"
start_sender --relay "$url" --force-relay "$WORK/f"
receive --relay "$url/" --force-relay --yes --out "$WORK/out" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "through the proxy: $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/out/f" || fail "content differs"
grep -q '"event":"path","path":"relayed"' "$WORK/receiver.json" || fail "not relayed"
[ "$(metric pcp_relay_pairs_total)" = 1 ] || fail "the relay saw no pair"
# Without the prefix the proxy has nothing: a clear failure, not a hang.
receive --relay "http://127.0.0.1:$(head -1 "$WORK/proxy.out")" --force-relay --timeout 3 --yes \
    --out "$WORK/out2" "$CODE"
[ "$RECV_RC" -eq 7 ] || fail "wrong prefix: exit $RECV_RC, want 7"
echo PASS
