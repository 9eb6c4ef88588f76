#!/usr/bin/env bash
# alternate.sh - 300 Try Alternate: alternate-server (every Allocate
# redirected, round robin per family, signed) and overflow-server (only the
# Allocates this server cannot take: total-quota, draining), with our own
# client (alternate.py) and with coturn's turnutils_uclient, which follows
# the redirect to the second server and relays there.
. "$(dirname "$0")/lib.sh"

run_py alternate.py --port2 "$("$FREEPORT")"

if ! command -v turnutils_uclient >/dev/null || ! command -v turnutils_peer >/dev/null; then
	skip "turnutils_uclient or turnutils_peer not installed (Debian package coturn)"
	finish
fi
metric() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
HB=$("$FREEPORT")
start_server b --http-listen "$HB" --relay-ip 127.0.0.1 --allow-loopback-peers \
	--realm example.org --user alice:secret || { fail "server b starts"; finish; }
B_PORT=$PORT
HA=$("$FREEPORT")
start_server a --http-listen "$HA" --relay-ip 127.0.0.1 --realm example.org \
	--user alice:secret --alternate-server "127.0.0.1:$B_PORT" ||
	{ fail "server a starts"; finish; }
A_PORT=$PORT
PEER_PORT=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.2
timeout 30 turnutils_uclient -p "$A_PORT" -e 127.0.0.1 -r "$PEER_PORT" -m 2 -l 100 -n 20 \
	-u alice -w secret -z 5 127.0.0.1 >"$TMP/uclient.out" 2>&1
uclient_counts "$TMP/uclient.out"
check "turnutils_uclient, sent to server a, relays through server b ($GOT of $SENT back)" \
	test "$SENT" -gt 0 -a "$GOT" = "$SENT"
n300=$(metric "$HA" 'turnpike_error_responses_total{code="300"}')
check "server a answered 300 Try Alternate (${n300:-0} times)" test "${n300:-0}" -ge 1
check "server a made no allocation" \
	test "$(metric "$HA" 'turnpike_allocations_created_total{transport="udp"}')" -eq 0
check "server b made the allocations" \
	test "$(metric "$HB" 'turnpike_allocations_created_total{transport="udp"}')" -ge 2
finish
