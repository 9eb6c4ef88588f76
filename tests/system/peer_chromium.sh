#!/usr/bin/env bash
# peer_chromium.sh - turnpike-peer and headless Chromium (Debian's, driven
# by playwright-core from npm, tests/browser/peer.mjs) in one call through
# turnpiked (issue 12), media both ways: Chromium's RTCPeerConnection with
# iceTransportPolicy 'relay' and a WebAudio oscillator answers
# turnpike-peer's offer, then offers and turnpike-peer answers (its
# answer keeps the offer's sections: PCMU in the audio one, the others
# rejected). REST credentials on both sides; the descriptions go through
# turnpike-peer's --local-sdp/--remote-sdp files. Chromium must receive
# PCMU over a relay candidate; turnpike-peer must receive Chromium's audio
# with zero SRTP authentication failures. Chromium runs in a private
# network namespace with only loopback (unshare -n), the server beside it.
. "$(dirname "$0")/../browser/netns.sh"
browser_netns peer.mjs "$@"
. "$(dirname "$0")/lib.sh"

if [ -n "${TURNPIKE_SKIP:-}" ]; then
	skip "$TURNPIKE_SKIP"
	finish
fi
ip link set lo up

PEER=$top_builddir/turnpike-peer
TIMEOUT=25
DURATION=6

start_server peer_chromium --relay-ip 127.0.0.1 --allow-loopback-peers --realm example.org \
	--use-auth-secret --static-auth-secret s3cr3t --min-port 20000 --max-port 20199 ||
	{ fail "server start"; finish; }
# REST credentials (TURN REST API): "expiry:user", base64(HMAC-SHA1(secret)).
RUSER="$(($(date +%s) + 3600)):browser"
RPASS=$(printf %s "$RUSER" | openssl dgst -sha1 -hmac s3cr3t -binary | base64)
URL="turn:127.0.0.1:$PORT?transport=udp"

# field FILE EXPR: a value from turnpike-peer's JSON (Python expression on j).
field() { json_field "$1" "$2"; }

# call ROLE: turnpike-peer takes ROLE (offer or answer), Chromium the other.
call() {
	local role=$1 other ppid prc nrc j
	other=$([ "$role" = offer ] && echo answer || echo offer)
	rm -f "$TMP/$role.peer.sdp" "$TMP/$role.chromium.sdp"
	"$PEER" "--$role" --policy relay --host-ip 127.0.0.1 --ice-servers "$URL" \
		--user "$RUSER" --password "$RPASS" --local-sdp "$TMP/$role.peer.sdp" \
		--remote-sdp "$TMP/$role.chromium.sdp" --timeout "$TIMEOUT" --duration "$DURATION" \
		--json "$TMP/$role.json" >"$TMP/$role.out" 2>"$TMP/$role.err" &
	ppid=$!
	PIDS="$PIDS $ppid"
	timeout 90 node "$BROWSER/peer.mjs" "$CHROMIUM" "$TMP/profile-$role" "$other" \
		"$TMP/$role.chromium.sdp" "$TMP/$role.peer.sdp" "$URL" "$RUSER" "$RPASS" "$DURATION" \
		>"$TMP/$role.node" 2>&1
	nrc=$?
	sed "s/^\(ok\|FAIL\) - /&turnpike-peer --$role, Chromium /" "$TMP/$role.node" >"$TMP/$role.lines"
	take_lines "$TMP/$role.lines"
	grep '^# ' "$TMP/$role.node"
	wait "$ppid"
	prc=$?
	forget_pid "$ppid"
	j=$TMP/$role.json
	echo "# turnpike-peer --$role: $(cat "$j" 2>/dev/null)"
	check "--$role: Chromium's side passed (exit $nrc)" test "$nrc" -eq 0
	check "--$role: turnpike-peer exit status 0" test "$prc" -eq 0
	peer_media_checks "$role" "$j" Chromium
	if [ "$prc" -ne 0 ] || [ "$nrc" -ne 0 ]; then
		sed 's/^/    peer: /' "$TMP/$role.err" | tail -n 20
		sed 's/^/    node: /' "$TMP/$role.node" | tail -n 20
		sed 's/^/    sdp from Chromium: /' "$TMP/$role.chromium.sdp" 2>/dev/null | head -n 60
	fi
}

call offer
call answer
check "turnpiked still running" kill -0 "$SERVER_PID"
check "SIGTERM stops turnpiked with status 0" stop_server "$SERVER_PID"
finish
