#!/usr/bin/env bash
# floods.sh - floods and held-open connections (tests/system/floods.py)
# against turnpiked with short deadlines (tls-handshake-timeout 2 s,
# tcp-idle-timeout 3 s, http-request-timeout 3 s), while a legitimate client
# relays over UDP and TCP and binds over TLS: unauthenticated Allocates and
# Bindings from thousands of spoofed 127/8 sources leave no state and RSS
# flat; TCP, TLS and HTTP connections that send nothing, half a message or
# trickle (slowloris) are closed at their deadlines and the descriptors
# come back; the server stops cleanly.
. "$(dirname "$0")/lib.sh"
exclusive

command -v openssl >/dev/null || { skip "openssl not installed"; finish; }
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl makes a test certificate"
TLS=$("$FREEPORT")
HPORT=$("$FREEPORT")
HS=2
IDLE=3
HTTP_TO=3
start_server main --http-listen "127.0.0.1:$HPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-listening-port "$TLS" --tls-handshake-timeout $HS --tcp-idle-timeout $IDLE \
	--http-request-timeout $HTTP_TO --realm example.org --user alice:secret \
	--allow-loopback-peers --relay-ip 127.0.0.1 --min-port 20000 --max-port 29999 ||
	{ fail "server start"; finish; }
# Warm-up: both transports and TLS, so RSS counts the first buffers.
"$CTL" stun "127.0.0.1:$PORT" --count 100 --quiet
"$CTL" stun "127.0.0.1:$PORT" --tcp --count 20 --quiet
RSS=()
if sanitizer_build; then
	RSS=(--rss-slack-kb 1000000)
	echo "a sanitizer build: RSS not bounded"
fi
PYTHONDONTWRITEBYTECODE=1 timeout 300 /usr/bin/python3 "$top_srcdir/tests/system/floods.py" \
	--pid "$SERVER_PID" --port "$PORT" --tls-port "$TLS" --http-port "$HPORT" \
	--hs-timeout $HS --idle-timeout $IDLE --http-timeout $HTTP_TO --ctl "$CTL" "${RSS[@]}" \
	>"$TMP/floods.out" 2>&1
rc=$?
grep '^# ' "$TMP/floods.out"
take_lines "$TMP/floods.out"
[ "$rc" -eq 0 ] || grep -q '^FAIL - ' "$TMP/floods.out" || { fail "floods.py exited with $rc"; tail -n 20 "$TMP/floods.out"; }
check "turnpiked still running" kill -0 "$SERVER_PID"
check "turnpiked stops cleanly" stop_server "$SERVER_PID"
finish
