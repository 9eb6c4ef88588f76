#!/usr/bin/env bash
# healthz.sh - /healthz says whether anyone can authenticate: with REST
# secrets only in a Redis that has not answered, or that holds none, it is
# 503 with the reason in the body (and turnpike_ready 0); once Redis
# delivers a secret it is 200 (and an Allocate with it works), and 503 again
# when the last secret is removed. Long-term users in Redis make the server
# ready once Redis has answered. Static secrets, users in the configuration,
# no-auth, or no credentials at all (STUN only) are ready at once, Redis or
# not.
. "$(dirname "$0")/lib.sh"

for t in curl redis-server redis-cli; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

# hz BASE: "STATUS first line of the body" of BASE/healthz.
hz() {
	local c
	c=$(curl -s -o "$TMP/hz.body" -w '%{http_code}' --max-time 2 "$1/healthz")
	echo "$c $(head -n 1 "$TMP/hz.body" 2>/dev/null)"
}
hz_is() { [ "$(hz "$1")" = "$2" ]; }
# ready BASE: turnpike_ready in BASE/metrics.
ready() { curl -s --max-time 2 "$1/metrics" | awk '$1 == "turnpike_ready" { print $2 }'; }

RPORT=$("$FREEPORT")
cat >"$TMP/redis.conf" <<EOF
realm=example.org
redis-userdb="ip=127.0.0.1 port=$RPORT dbname=2 connect_timeout=1"
redis-timeout=500
EOF

# ---------------------------------------------------------------------------
# Ready at once: something in the configuration can authenticate, or
# nothing is asked for. Redis (not running) is configured for the first.
n=0
for opts in "-c $TMP/redis.conf --use-auth-secret --static-auth-secret conf-secret" \
	"--user alice:pw" "--no-auth" ""; do
	n=$((n + 1))
	HPORT=$("$FREEPORT")
	# shellcheck disable=SC2086
	start_server "ready$n" --http-listen "127.0.0.1:$HPORT" $opts ||
		{ fail "server start ($opts)"; continue; }
	check "${opts:-no credentials (STUN only)}: /healthz 200 at once ($(hz "http://127.0.0.1:$HPORT"))" \
		hz_is "http://127.0.0.1:$HPORT" "200 ok"
	stop_server "$SERVER_PID"
done

# ---------------------------------------------------------------------------
# REST secrets from Redis only, Redis not there yet; and a second server
# whose long-term users are in the same Redis.
HPORT=$("$FREEPORT")
REST=http://127.0.0.1:$HPORT
start_server rest -c "$TMP/redis.conf" --use-auth-secret --http-listen "127.0.0.1:$HPORT" \
	--relay-ip 127.0.0.1 --min-port 20000 --max-port 29999 || { fail "server start"; finish; }
REST_PID=$SERVER_PID
REST_PORT=$PORT
HPORT=$("$FREEPORT")
USERS=http://127.0.0.1:$HPORT
start_server users -c "$TMP/redis.conf" --http-listen "127.0.0.1:$HPORT" ||
	{ fail "server start (users)"; finish; }
USERS_PID=$SERVER_PID
check "REST, Redis unreachable: 503 with the reason ($(hz "$REST"))" \
	hz_is "$REST" "503 not ready: no REST secret yet: redis-userdb has not answered"
check "REST: turnpike_ready 0 ($(ready "$REST"))" test "$(ready "$REST")" = 0
check "long-term users in Redis, unreachable: 503 ($(hz "$USERS"))" \
	hz_is "$USERS" "503 not ready: the users are in redis-userdb, which has not answered yet"

redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
	--daemonize no >"$TMP/redis-server.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
check "redis-server answers" within 5000 eval "redis-cli -p $RPORT ping >/dev/null 2>&1"
if within 8000 hz_is "$USERS" "200 ok"; then
	ok "long-term users: Redis answered, /healthz 200 after $TOOK ms"
else
	fail "long-term users: /healthz 200 once Redis answers ($(hz "$USERS"))"
fi
check "REST, Redis up but no secret in it: still 503 ($(hz "$REST"))" \
	within 8000 hz_is "$REST" "503 not ready: no REST secret: redis-userdb holds none"

check "a secret added to Redis" eval "\"$CTL\" -c \"$TMP/redis.conf\" secret add redis-secret-1 >/dev/null"
if within 5000 hz_is "$REST" "200 ok"; then
	ok "REST: the secret arrived, /healthz 200 after $TOOK ms"
else
	fail "REST: /healthz 200 once Redis delivers a secret ($(hz "$REST"))"
fi
check "REST: turnpike_ready 1" test "$(ready "$REST")" = 1
out=$("$CTL" turn "127.0.0.1:$REST_PORT" --secret redis-secret-1 --timeout 2000 2>&1)
check "and the secret authenticates an Allocate ($(head -n 1 <<<"$out"))" \
	grep -q "^relayed-address: 127.0.0.1:" <<<"$out"
check "the secret removed" eval "\"$CTL\" -c \"$TMP/redis.conf\" secret remove redis-secret-1 >/dev/null"
if within 5000 hz_is "$REST" "503 not ready: no REST secret: redis-userdb holds none"; then
	ok "REST: no secret left, /healthz 503 again after $TOOK ms"
else
	fail "REST: /healthz 503 again once the last secret is gone ($(hz "$REST"))"
fi
check "SIGTERM stops the REST server with status 0" stop_server "$REST_PID"
check "SIGTERM stops the users server with status 0" stop_server "$USERS_PID"
finish
