#!/usr/bin/env bash
# peer_aioice.sh - turnpike-peer interoperates with another ICE agent:
# aioice (Debian's python3-aioice, peer_aioice.py) on the other side, the
# descriptions exchanged as SDP files, both through turnpiked with REST
# credentials from its hook (relay-only on both sides), with turnpike-peer
# controlling and then controlled. Both sides connect and datagrams go
# both ways over the selected relay/relay pair.
. "$(dirname "$0")/lib.sh"

PEER=$top_builddir/turnpike-peer
PY=$top_srcdir/tests/system/peer_aioice.py
KEY=peer-aioice-test-api-key-01234
DATA=20
TIMEOUT=15

if ! /usr/bin/python3 -c 'import aioice' 2>/dev/null; then
	skip "python3-aioice not installed"
	finish
fi

HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
start_server aioice --relay-ip 127.0.0.1 --allow-loopback-peers --realm example.org \
	--use-auth-secret --static-auth-secret s3cr3t --http-listen "127.0.0.1:$HPORT" \
	--rest-api-key "$KEY" --no-tls || { fail "server start"; finish; }
HOOK="http://127.0.0.1:$HPORT/api/v1/turn/ice-servers?key=$KEY"

# field FILE EXPR: a value from turnpike-peer's JSON (Python expression on j).
field() { json_field "$1" "$2"; }

# call ROLE: turnpike-peer as ROLE (offer: controlling), aioice the other.
call() {
	local role=$1 name=$1 py_role=() ppid prc pyrc j
	[ "$role" = answer ] && py_role=(--controlling)
	"$PEER" "--$role" --policy relay --host-ip 127.0.0.1 --ice-servers "$HOOK" \
		--local-sdp "$TMP/$name.peer.sdp" --remote-sdp "$TMP/$name.aioice.sdp" \
		--data "$DATA" --timeout "$TIMEOUT" --json "$TMP/$name.json" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	ppid=$!
	PIDS="$PIDS $ppid"
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$PY" --hook "$HOOK" "${py_role[@]}" --local-sdp "$TMP/$name.aioice.sdp" \
		--remote-sdp "$TMP/$name.peer.sdp" --data "$DATA" --peer-data "$DATA" \
		--timeout "$TIMEOUT" >"$TMP/$name.py" 2>&1
	pyrc=$?
	sed "s/^\(ok\|FAIL\) - /&$role: /" "$TMP/$name.py" >"$TMP/$name.lines"
	take_lines "$TMP/$name.lines"
	wait "$ppid"
	prc=$?
	forget_pid "$ppid"
	j=$TMP/$name.json
	echo "# turnpike-peer --$role: $(cat "$j" 2>/dev/null)"
	check "$role: the aioice side passed (exit $pyrc)" test "$pyrc" -eq 0
	check "$role: turnpike-peer connected (exit $prc)" test "$prc" -eq 0
	check "$role: JSON ok" test "$(field "$j" 'j["ok"]')" = True
	# The remote end is aioice's relay address, as signalled (relay) or
	# learnt from its first check (prflx): relays on both ends.
	relay=$(sed -n 's/^a=candidate:.* udp [0-9]* \([0-9.]*\) \([0-9]*\) typ relay.*/\1:\2/p' \
		"$TMP/$name.aioice.sdp" | head -n 1)
	check "$role: selected pair: our relay to aioice's relay $relay, over udp" \
		test "$(field "$j" '"%s %s %s" % (j["selected"]["local"], j["selected"]["remote_address"], j["selected"]["protocol"])')" = "relay $relay udp"
	check "$role: turnpike-peer's $DATA datagrams all came back" \
		test "$(field "$j" '"%d/%d" % (j["data"]["sent"], j["data"]["received"])')" = "$DATA/$DATA"
	check "$role: turnpike-peer answered aioice's $DATA" \
		test "$(field "$j" 'j["data"]["answered"]')" = "$DATA"
	if [ "$prc" -ne 0 ] || [ "$pyrc" -ne 0 ]; then
		sed 's/^/    peer: /' "$TMP/$name.err" | tail -n 20
		sed 's/^/    aioice: /' "$TMP/$name.py" | tail -n 20
	fi
}

call offer
call answer
stop_server "$SERVER_PID" || fail "server did not stop cleanly"
finish
