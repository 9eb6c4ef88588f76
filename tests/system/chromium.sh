#!/usr/bin/env bash
# chromium.sh - headless Chromium (Debian's, driven by playwright-core from
# npm) calls itself through turnpiked with iceTransportPolicy 'relay': two
# RTCPeerConnections, a data channel echo and an audio track, over TURN/UDP,
# TURN/TCP and TURN/TLS; getStats() must show relay candidates of that protocol on
# both sides and audio received. The TLS port is shared with the HTTPS hook
# (http-listen on it, as on 443) and takes TURN/TCP too. Chromium runs in a
# private network namespace with only loopback (unshare -n), the server
# beside it.
CHROMIUM=/usr/bin/chromium
PW_VERSION=1.65.2
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
BROWSER=$top_builddir/tests/browser
export top_builddir top_srcdir

# First, in the host's namespace (npm needs the registry): playwright-core
# once per build tree, beside a copy of the script (node looks for
# node_modules next to it). Then again inside a private namespace.
if [ -z "${TURNPIKE_NETNS:-}" ]; then
	why=""
	for t in "$CHROMIUM" node npm unshare; do
		command -v "$t" >/dev/null || why="$t not installed (Debian packages chromium, nodejs, npm, util-linux)"
	done
	if [ -z "$why" ] && ! { [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; }; then
		why="needs root to run Chromium in a private network namespace (unshare -n)"
	fi
	if [ -z "$why" ]; then
		mkdir -p "$BROWSER"
		if ! grep -qs "\"version\": \"$PW_VERSION\"" \
			"$BROWSER/node_modules/playwright-core/package.json"; then
			npm install --no-save --no-audit --no-fund --prefix "$BROWSER" \
				"playwright-core@$PW_VERSION" >"$BROWSER/npm.log" 2>&1 ||
				why="npm install playwright-core@$PW_VERSION failed: $(tail -n 1 "$BROWSER/npm.log")"
		fi
		cp "$top_srcdir/tests/browser/relay.mjs" "$BROWSER/relay.mjs"
	fi
	if [ -z "$why" ]; then
		exec unshare -n env TURNPIKE_NETNS=1 bash "$0" "$@"
	fi
	TURNPIKE_SKIP=$why
fi
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
