#!/usr/bin/env bash
# chromium.sh - headless Chromium (Debian's, driven by playwright-core from
# npm) calls itself through turnpiked with iceTransportPolicy 'relay': two
# RTCPeerConnections, a data channel echo and an audio track, over TURN/UDP,
# TURN/TCP and TURN/TLS; getStats() must show relay candidates of that protocol on
# both sides and audio received. The TLS port is shared with the HTTPS hook
# (http-listen on it, as on 443) and takes TURN/TCP too. Chromium runs in a
# private network namespace with only loopback (unshare -n), the server
# beside it.
. "$(dirname "$0")/../browser/netns.sh"
browser_netns relay.mjs "$@"
. "$(dirname "$0")/lib.sh"

if [ -n "${TURNPIKE_SKIP:-}" ]; then
	skip "$TURNPIKE_SKIP"
	finish
fi
ip link set lo up

# A certificate for 127.0.0.1 (turns:); Chromium is told to accept it.
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" ||
	{ fail "openssl makes a test certificate"; finish; }
TLS_PORT=$("$FREEPORT")
start_server chromium --relay-ip 127.0.0.1 --allow-loopback-peers --realm example.org \
	--user alice:secret --min-port 20000 --max-port 20199 \
	--cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --tls-listening-port "$TLS_PORT" \
	--http-listen "$TLS_PORT" --http-cert "$TMP/cert.pem" --http-pkey "$TMP/key.pem" ||
	{ fail "server start"; finish; }
check "the HTTPS hook answers on the TURN/TLS port" \
	curl -skf --max-time 5 -o /dev/null "https://127.0.0.1:$TLS_PORT/healthz"
timeout 200 node "$BROWSER/relay.mjs" "$CHROMIUM" "$TMP/profile" \
	"turn:127.0.0.1:$PORT?transport=udp" "turn:127.0.0.1:$PORT?transport=tcp" \
	"turns:127.0.0.1:$TLS_PORT?transport=tcp" "turn:127.0.0.1:$TLS_PORT?transport=tcp" \
	alice secret >"$TMP/chromium.out" 2>&1
rc=$?
take_lines "$TMP/chromium.out"
if [ "$rc" -ne 0 ]; then
	grep -q '^FAIL - ' "$TMP/chromium.out" || fail "relay.mjs exited with $rc"
	tail -n 20 "$TMP/chromium.out"
fi
finish
