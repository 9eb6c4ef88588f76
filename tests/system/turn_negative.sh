#!/usr/bin/env bash
# turn_negative.sh - TURN error and edge cases against turnpiked on loopback,
# driven by tests/tools/turnprobe (the project's own TURN client): relaying
# over UDP and TCP, credential failures, REST names, stale nonces, the peer
# policy (allow-loopback-peers and the server's own ports), request errors,
# expiry, EVEN-PORT, quotas, per-allocation limits, bandwidth, and an
# unauthenticated flood that must cost no memory.
# Four servers: "main" (IPv4 and IPv6 relays, HTTP), "limits" (IPv4 relay
# only, quotas, max-bps, short nonces), "small" (two permissions, one
# channel per allocation) and "strict" (no allow-loopback-peers). After
# every scenario the server must still answer; all stop cleanly.
. "$(dirname "$0")/lib.sh"

PROBE=$top_builddir/tests/tools/turnprobe
SECRET=rest-s3cr3t
MAX_LIFETIME=1800     # main
USER_QUOTA=3          # limits
TOTAL_QUOTA=5
STALE_NONCE=5
RATE=50000            # max-bps of limits, bytes/s
FLOOD=20000           # unauthenticated Allocates
RSS_SLACK_KB=2048     # what the flood may add to the server's RSS

if [ ! -x "$PROBE" ]; then
	skip "tests/tools/turnprobe not built"
	finish
fi

start_ms=$(($(date +%s%N) / 1000000))
AUTH="--realm example.org --user alice:secret --user bob:hunter2
	--use-auth-secret --static-auth-secret $SECRET"
COMMON="--allow-loopback-peers $AUTH"

MAIN_HTTP=$("$FREEPORT")
# shellcheck disable=SC2086
start_server main --relay-ip 127.0.0.1 --relay-ip ::1 --min-port 20000 --max-port 29999 \
	--max-allocate-lifetime "$MAX_LIFETIME" --http-listen "$MAIN_HTTP" $COMMON ||
	{ fail "server start (main)"; finish; }
MAIN_PID=$SERVER_PID
MAIN_PORT=$PORT
# limits takes the unauthenticated flood below, every 401 counted, from one
# address: no unauth-rate-limit there (security.sh tests the budget).
# Under AddressSanitizer freed memory waits in a quarantine and would count
# as growth in the flood's RSS check: no quarantine for this server.
# shellcheck disable=SC2086
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
	start_server limits --relay-ip 127.0.0.1 --min-port 30000 --max-port 30999 \
	--user-quota "$USER_QUOTA" --total-quota "$TOTAL_QUOTA" --stale-nonce "$STALE_NONCE" \
	--max-bps "$RATE" --unauth-rate-limit 0 $COMMON || { fail "server start (limits)"; finish; }
LIMITS_PID=$SERVER_PID
LIMITS_PORT=$PORT
# shellcheck disable=SC2086
start_server small --relay-ip 127.0.0.1 --min-port 31000 --max-port 31999 \
	--max-permissions 2 --max-channels 1 $COMMON || { fail "server start (small)"; finish; }
SMALL_PID=$SERVER_PID
SMALL_PORT=$PORT
# shellcheck disable=SC2086
start_server strict --relay-ip 127.0.0.1 --relay-ip ::1 --min-port 32000 --max-port 32999 \
	$AUTH || { fail "server start (strict)"; finish; }
STRICT_PID=$SERVER_PID
STRICT_PORT=$PORT

# alive PID PORT: running, and answers a Binding request.
alive() {
	kill -0 "$1" 2>/dev/null && "$CTL" stun "127.0.0.1:$2" --quiet --timeout 2000
}

# scenario NAME PID PORT ARGS...: one turnprobe scenario, its lines indented
# under ours; then the server must still answer.
scenario() {
	local name=$1 pid=$2 port=$3 rc
	shift 3
	"$PROBE" 127.0.0.1 "$port" "$@" --secret "$SECRET" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	check "turnprobe $name" test "$rc" -eq 0
	check "turnpiked answers after $name" alive "$pid" "$port"
}

scenario "relay over UDP" "$MAIN_PID" "$MAIN_PORT" relay 200
scenario "relay over TCP" "$MAIN_PID" "$MAIN_PORT" relay 200 --tcp
scenario auth "$MAIN_PID" "$MAIN_PORT" auth
scenario "auth over TCP" "$MAIN_PID" "$MAIN_PORT" auth --tcp
scenario rest "$MAIN_PID" "$MAIN_PORT" rest
scenario forbidden "$MAIN_PID" "$MAIN_PORT" forbidden --relay-port 20000
scenario "forbidden over TCP" "$MAIN_PID" "$MAIN_PORT" forbidden --relay-port 20000 --tcp

# allow-loopback-peers: a peer beside the server on 127.0.0.1 and ::1
# relays; the server's own ports (TURN, HTTP) stay refused there, Send
# indications included (each one counted as a peer_policy drop). Without
# the option no loopback peer is allowed.
# policy_drops: main's dropped_total{cause="peer_policy"}.
policy_drops() {
	curl -sS -f --max-time 5 "http://127.0.0.1:$MAIN_HTTP/metrics" |
		sed -n 's/^turnpike_dropped_total{cause="peer_policy"} \([0-9]*\)$/\1/p'
}
# drops_now N: main has counted N peer_policy drops in all.
drops_now() { [ "$(policy_drops)" = "$1" ]; }
if command -v curl >/dev/null; then
	drops_before=$(policy_drops)
	out=$("$PROBE" 127.0.0.1 "$MAIN_PORT" loopback allowed "$MAIN_HTTP" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    /'
	check "turnprobe loopback allowed" test "$rc" -eq 0
	check "turnpiked answers after loopback allowed" alive "$MAIN_PID" "$MAIN_PORT"
	sends=$(sed -n 's/^# loopback: \([0-9]*\) Send indications.*/\1/p' <<<"$out")
	check "loopback: some Sends to the server's own ports were made (${sends:-none})" \
		test "${sends:-0}" -gt 0
	check "loopback: all ${sends:-?} were dropped by the peer policy" \
		within 2000 drops_now $((${drops_before:-0} + ${sends:-0}))
	echo "# peer_policy drops: ${drops_before:-?} before, $(policy_drops) after"
else
	skip "curl not installed: loopback allowed"
fi
scenario "loopback refused" "$STRICT_PID" "$STRICT_PORT" loopback refused
scenario even-port "$MAIN_PID" "$MAIN_PORT" even-port
scenario expiry "$MAIN_PID" "$MAIN_PORT" expiry

scenario errors "$LIMITS_PID" "$LIMITS_PORT" errors --max-lifetime 3600
scenario "errors over TCP" "$LIMITS_PID" "$LIMITS_PORT" errors --max-lifetime 3600 --tcp
scenario quota "$LIMITS_PID" "$LIMITS_PORT" quota "$USER_QUOTA" "$TOTAL_QUOTA"
scenario "quota over TCP" "$LIMITS_PID" "$LIMITS_PORT" quota "$USER_QUOTA" "$TOTAL_QUOTA" --tcp
scenario "max-permissions and max-channels" "$SMALL_PID" "$SMALL_PORT" limits
scenario bandwidth "$LIMITS_PID" "$LIMITS_PORT" bandwidth "$RATE"
scenario stale-nonce "$LIMITS_PID" "$LIMITS_PORT" stale-nonce "$STALE_NONCE"

# Stateless nonces: a flood of unauthenticated Allocates leaves nothing
# behind. A small flood first, so the baseline includes the warm path.
scenario "warm-up flood" "$LIMITS_PID" "$LIMITS_PORT" flood 2000 5
rss_before=$(rss_kb "$LIMITS_PID")
scenario "flood of $FLOOD unauthenticated Allocates" "$LIMITS_PID" "$LIMITS_PORT" \
	flood "$FLOOD" 10
rss_after=$(rss_kb "$LIMITS_PID")
echo "# RSS of limits: $rss_before KiB before the flood, $rss_after KiB after" \
	"($((rss_after - rss_before)) KiB)"
check "flood: RSS grew by less than $RSS_SLACK_KB KiB ($((rss_after - rss_before)) KiB)" \
	test $((rss_after - rss_before)) -lt "$RSS_SLACK_KB"

# The operator's probe, turnpikectl turn, against coturn's echo peer beside
# the server on 127.0.0.1.
if command -v turnutils_peer >/dev/null; then
	ECHO_PORT=$("$FREEPORT")
	turnutils_peer -L 127.0.0.1 -p "$ECHO_PORT" >"$TMP/echo.log" 2>&1 &
	ECHO_PID=$!
	PIDS="$PIDS $ECHO_PID"
	sleep 0.3
	out=$("$CTL" turn "127.0.0.1:$MAIN_PORT" --user alice --password secret \
		--peer "127.0.0.1:$ECHO_PORT" --count 4 2>&1)
	echo "$out" | sed 's/^/  turnpikectl turn: /'
	check "turnpikectl turn: relayed address from the relay range" \
		grep -q "^relayed-address: 127.0.0.1:2[0-9]\{4\}$" <<<"$out"
	check "turnpikectl turn: 4 of 4 echoes back through the relay" \
		grep -q "sent 4 echoed 4" <<<"$out"
	check "turnpikectl turn --tcp --secret (REST) works too" \
		"$CTL" turn "127.0.0.1:$MAIN_PORT" --tcp --secret "$SECRET" \
		--peer "127.0.0.1:$ECHO_PORT" --count 2
	check_fails "turnpikectl turn with a wrong password fails" \
		"$CTL" turn "127.0.0.1:$MAIN_PORT" --user alice --password wrong --timeout 1000
	kill "$ECHO_PID"
	wait "$ECHO_PID" 2>/dev/null
	forget_pid "$ECHO_PID"
else
	skip "turnutils_peer not installed (Debian package coturn)"
fi

check "SIGTERM stops main with status 0" stop_server "$MAIN_PID"
check "SIGTERM stops limits with status 0" stop_server "$LIMITS_PID"
check "SIGTERM stops small with status 0" stop_server "$SMALL_PID"
check "SIGTERM stops strict with status 0" stop_server "$STRICT_PID"
check_fails "no errors logged by main" grep -q " error: " "$TMP/main.log"
check_fails "no errors logged by limits" grep -q " error: " "$TMP/limits.log"
check_fails "no errors logged by small" grep -q " error: " "$TMP/small.log"
check_fails "no errors logged by strict" grep -q " error: " "$TMP/strict.log"

echo "# run time: $((($(date +%s%N) / 1000000 - start_ms) / 1000)) s"
finish
