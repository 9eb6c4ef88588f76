#!/usr/bin/env bash
# peer_aiortc.sh - turnpike-peer and aiortc (Debian's python3-aiortc,
# peer_aiortc.py) in one media call through turnpiked on loopback (issue
# 12): aiortc's RTCPeerConnection, relay candidates only, a 440 Hz tone as
# its track, answers turnpike-peer's offer and then offers (aiortc's offer
# lists opus, PCMU and PCMA: turnpike-peer answers with PCMU). REST
# credentials on both sides; the descriptions go through turnpike-peer's
# --local-sdp/--remote-sdp files. Audio must arrive both ways over
# relay/relay pairs with zero SRTP authentication failures. An offer
# without PCMU is refused at once with a clear error.
. "$(dirname "$0")/lib.sh"
exclusive

PEER=$top_builddir/turnpike-peer
PY=$top_srcdir/tests/system/peer_aiortc.py
TIMEOUT=25
DURATION=6

if ! /usr/bin/python3 -c 'import aiortc' 2>/dev/null; then
	skip "python3-aiortc not installed"
	finish
fi

start_server peer_aiortc --relay-ip 127.0.0.1 --allow-loopback-peers --realm example.org \
	--use-auth-secret --static-auth-secret s3cr3t --min-port 31000 --max-port 31199 ||
	{ fail "server start"; finish; }
# REST credentials (TURN REST API): "expiry:user", base64(HMAC-SHA1(secret)).
RUSER="$(($(date +%s) + 3600)):aiortc"
RPASS=$(printf %s "$RUSER" | openssl dgst -sha1 -hmac s3cr3t -binary | base64)
URL="turn:127.0.0.1:$PORT?transport=udp"

# field FILE EXPR: a value from turnpike-peer's JSON (Python expression on j).
field() { json_field "$1" "$2"; }

# call ROLE: turnpike-peer takes ROLE (offer or answer), aiortc the other.
call() {
	local role=$1 other ppid prc pyrc j
	other=$([ "$role" = offer ] && echo answer || echo offer)
	rm -f "$TMP/$role.peer.sdp" "$TMP/$role.aiortc.sdp"
	"$PEER" "--$role" --policy relay --host-ip 127.0.0.1 --ice-servers "$URL" \
		--user "$RUSER" --password "$RPASS" --local-sdp "$TMP/$role.peer.sdp" \
		--remote-sdp "$TMP/$role.aiortc.sdp" --timeout "$TIMEOUT" --duration "$DURATION" \
		--json "$TMP/$role.json" >"$TMP/$role.out" 2>"$TMP/$role.err" &
	ppid=$!
	PIDS="$PIDS $ppid"
	PYTHONDONTWRITEBYTECODE=1 timeout 60 /usr/bin/python3 "$PY" --role "$other" --url "$URL" \
		--user "$RUSER" --password "$RPASS" --local-sdp "$TMP/$role.aiortc.sdp" \
		--remote-sdp "$TMP/$role.peer.sdp" --seconds "$DURATION" --timeout "$TIMEOUT" \
		>"$TMP/$role.py" 2>&1
	pyrc=$?
	sed "s/^\(ok\|FAIL\) - /&turnpike-peer --$role, aiortc $other: /" "$TMP/$role.py" >"$TMP/$role.lines"
	take_lines "$TMP/$role.lines"
	grep '^# ' "$TMP/$role.py"
	wait "$ppid"
	prc=$?
	forget_pid "$ppid"
	j=$TMP/$role.json
	echo "# turnpike-peer --$role: $(cat "$j" 2>/dev/null)"
	check "--$role: aiortc's side passed (exit $pyrc)" test "$pyrc" -eq 0
	check "--$role: turnpike-peer exit status 0" test "$prc" -eq 0
	peer_media_checks "$role" "$j" aiortc
	if [ "$prc" -ne 0 ] || [ "$pyrc" -ne 0 ]; then
		sed 's/^/    peer: /' "$TMP/$role.err" | tail -n 20
		sed 's/^/    aiortc: /' "$TMP/$role.py" | tail -n 30
		sed 's/^/    sdp from aiortc: /' "$TMP/$role.aiortc.sdp" 2>/dev/null | head -n 60
	fi
}

call offer
call answer

# aiortc offers opus only: turnpike-peer, which sends and takes PCMU only,
# refuses the offer at once with a clear error and writes no answer.
rm -f "$TMP/opus.peer.sdp" "$TMP/opus.aiortc.sdp"
t0=$(now_ms)
"$PEER" --answer --policy relay --host-ip 127.0.0.1 --ice-servers "$URL" \
	--user "$RUSER" --password "$RPASS" --local-sdp "$TMP/opus.peer.sdp" \
	--remote-sdp "$TMP/opus.aiortc.sdp" --timeout "$TIMEOUT" --duration "$DURATION" \
	--json "$TMP/opus.json" >"$TMP/opus.out" 2>"$TMP/opus.err" &
ppid=$!
PIDS="$PIDS $ppid"
PYTHONDONTWRITEBYTECODE=1 timeout 60 /usr/bin/python3 "$PY" --role offer --opus-only --url "$URL" \
	--user "$RUSER" --password "$RPASS" --local-sdp "$TMP/opus.aiortc.sdp" \
	--remote-sdp "$TMP/opus.peer.sdp" --seconds 5 --timeout "$TIMEOUT" >"$TMP/opus.py" 2>&1
pyrc=$?
sed "s/^\(ok\|FAIL\) - /&opus only: /" "$TMP/opus.py" >"$TMP/opus.lines"
take_lines "$TMP/opus.lines"
wait "$ppid"
prc=$?
forget_pid "$ppid"
took=$(($(now_ms) - t0))
echo "# turnpike-peer --answer to opus only: $(cat "$TMP/opus.json" 2>/dev/null)"
check "opus only: the aiortc side passed (exit $pyrc)" test "$pyrc" -eq 0
check "opus only: turnpike-peer exits 1" test "$prc" -eq 1
check "opus only: its error names the missing PCMU ($(field "$TMP/opus.json" 'j["error"]'))" \
	grep -q "does not offer PCMU" "$TMP/opus.json"
check "opus only: refused well before the timeout (${took} ms)" test "$took" -lt $((TIMEOUT * 1000))
check "opus only: no answer written" test ! -e "$TMP/opus.peer.sdp"
check "turnpiked still running" kill -0 "$SERVER_PID"
check "SIGTERM stops turnpiked with status 0" stop_server "$SERVER_PID"
finish
