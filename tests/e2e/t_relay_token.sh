#!/usr/bin/env bash
# A private relay: without its token a client is refused (exit 7, a clear
# message) before any byte is relayed; with it (flag, environment) the
# transfer goes through.
. "$(dirname "$0")/lib.sh"
echo "token test" >"$WORK/f"
printf 's3cret-token\n' >"$WORK/token"
start_relay --token-file "$WORK/token"

set +e
timeout 20 "$PCP" send --relay "$RELAY" --force-relay "$WORK/f" >/dev/null 2>"$WORK/nosend.err"
r=$?
set -e
[ $r -eq 7 ] || fail "sender without token: exit $r, want 7"
grep -q "token" "$WORK/nosend.err" || fail "sender: no word of the token"

PCP_RELAY_TOKEN=s3cret-token start_sender --relay "$RELAY" --force-relay "$WORK/f"
receive --relay "$RELAY" --force-relay --timeout 5 --yes --out "$WORK/bad" "$CODE"
[ "$RECV_RC" -eq 7 ] || fail "receiver without token: exit $RECV_RC, want 7"
grep -q "token" "$WORK/receiver.err" || fail "receiver: no word of the token"
receive --relay "$RELAY" --relay-token wrong --force-relay --timeout 5 --yes --out "$WORK/bad" "$CODE"
[ "$RECV_RC" -eq 7 ] || fail "receiver with a wrong token: exit $RECV_RC, want 7"
[ ! -e "$WORK/bad/f" ] || fail "written without the token"
[ "$(metric pcp_relay_bytes_total)" = 0 ] || fail "bytes relayed before the token was shown"

receive --relay "$RELAY" --relay-token s3cret-token --force-relay --yes --out "$WORK/good" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "with the token: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/good/f" || fail "content differs"
refused=$(http_get "$RELAY" /metrics | tr -d '\r' | sed -n 's/^pcp_relay_refused_total{reason="token"} //p')
[ "$refused" -ge 3 ] || fail "relay counted $refused token refusals"
echo PASS
