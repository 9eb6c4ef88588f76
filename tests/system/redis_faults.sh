#!/usr/bin/env bash
# redis_faults.sh - Redis slowed, paused and killed under live relayed
# traffic. turnpiked takes its long-term users (and publishes allocation
# events) through a proxy that can hold Redis's commands for seconds
# (redis_proxy.py); tests/soak/soak.py keeps sessions of the cached user
# alice relaying over UDP, TCP and TLS the whole time. Redis answering 3 s
# late (redis-timeout 1 s) and stopped (SIGSTOP): an Allocate of a user not
# cached gets 500 at the timeout with a log line; killed: refused at once;
# then restarted. All along alice keeps allocating, not one relayed packet is lost, the server never
# stops, reconnects by itself, and serves new users once Redis is back.
. "$(dirname "$0")/lib.sh"

for t in redis-server redis-cli openssl; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

check "redis-server starts" start_redis
PX=$("$FREEPORT")
DELAY=$TMP/delay
: >"$DELAY"
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$top_srcdir/tests/system/redis_proxy.py" \
	--listen "$PX" --upstream "$RPORT" --delay "$DELAY" >"$TMP/proxy.log" 2>&1 &
PIDS="$PIDS $!"
check "the delaying proxy forwards to Redis" within 5000 redis-cli -p "$PX" ping
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl makes a test certificate"
TLS=$("$FREEPORT")
HPORT=$("$FREEPORT")
printf '%s\n' "realm=example.org" \
	"redis-userdb=\"ip=127.0.0.1 port=$PX dbname=7 connect_timeout=1\"" \
	"redis-timeout=1000" "http-listen=127.0.0.1:$HPORT" "cert=$TMP/cert.pem" \
	"pkey=$TMP/key.pem" "tls-listening-port=$TLS" "allow-loopback-peers" "min-port=20000" \
	"max-port=29999" "relay-ip=127.0.0.1" "log-level=info" >"$TMP/turnpike.conf"
# Users go straight to Redis (turnpikectl -c would go through the proxy).
DIRECT=(--redis-userdb "ip=127.0.0.1 port=$RPORT dbname=7" --realm example.org)
users() {
	local u
	for u in alice bob carol dave; do
		"$CTL" user add "$u" secret "${DIRECT[@]}" >/dev/null || return 1
	done
}
check "users alice, bob, carol and dave in Redis" users
start_server main -c "$TMP/turnpike.conf" || { fail "server start"; finish; }
LOG=$TMP/main.log
# userdb_up: each worker's key lookup connection is up (the last line
# about it says connected).
userdb_up() {
	local w
	for w in 0 1; do
		grep "redis userdb worker $w " "$LOG" | tail -n 1 | grep -q ": connected" || return 1
	done
}

# turn USER: one Allocate and two echoed datagrams through a relay with our
# client, output in $TMP/turn.out; true on success.
ECHO=$("$FREEPORT")
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)' "$ECHO" &
PIDS="$PIDS $!"
turn() {
	timeout 10 "$CTL" turn "127.0.0.1:$PORT" --user "$1" --password secret \
		--peer "127.0.0.1:$ECHO" --count 2 --timeout 3000 >"$TMP/turn.out" 2>&1
}
# refused USER: an Allocate of USER fails with 500 (its lookup timed out or
# went unanswered); prints how long it took.
refused() {
	local t0 rc
	t0=$(now_ms)
	turn "$1"
	rc=$?
	echo "$(($(now_ms) - t0))"
	[ "$rc" -ne 0 ] && grep -q "500" "$TMP/turn.out"
}

# Live traffic for the whole run, alice's key cached from the first
# session on.
SOAK=45
RSS=8192
sanitizer_build && RSS=1000000
PYTHONDONTWRITEBYTECODE=1 timeout $((SOAK + 60)) /usr/bin/python3 \
	"$top_srcdir/tests/soak/soak.py" --pid "$SERVER_PID" --port "$PORT" --tls-port "$TLS" \
	--http "127.0.0.1:$HPORT" --seconds "$SOAK" --warmup 5 --rss-slack-kb $RSS \
	--fd-slack 16 >"$TMP/soak.out" 2>&1 &
SOAK_PID=$!
PIDS="$PIDS $SOAK_PID"
# Each worker caches keys of its own: before any fault both must have
# alice's. 24 of her sessions over many source ports and connections
# (the kernel spreads them over the 2 workers: all on one is a 1 in 8
# million chance); under ASan and a loaded machine the soak takes more
# than the 3 s this once waited.
created() {
	[ "$(curl -s "http://127.0.0.1:$HPORT/metrics" |
		awk '$1 ~ /^turnpike_allocations_created_total/ { n += $2 } END { print n + 0 }')" -ge 24 ]
}
check "alice's sessions on both workers before any fault (24 allocations)" within 20000 created
check "alice allocates before any fault" turn alice

# ---- Redis 3 s late (redis-timeout 1 s) ----
echo 3 >"$DELAY"
sleep 0.5
ms=$(refused bob) && ok "Redis 3 s late: bob (not cached) gets 500 after $ms ms" ||
	fail "Redis 3 s late: bob gets 500 ($(cat "$TMP/turn.out"))"
check "the timeout is logged" grep -q "no answer within the command timeout (1000 ms)" "$LOG"
check "alice (cached) allocates meanwhile" turn alice
: >"$DELAY"
check "Redis on time again: reconnected" within 10000 userdb_up
check "bob allocates once Redis answers" within 5000 turn bob

# ---- Redis paused ----
kill -STOP "$REDIS_PID"
ms=$(refused carol) && ok "Redis stopped: carol gets 500 after $ms ms" ||
	fail "Redis stopped: carol gets 500 ($(cat "$TMP/turn.out"))"
check "alice allocates while Redis is stopped" turn alice
sleep 2
kill -CONT "$REDIS_PID"
check "Redis continued: reconnected" within 10000 userdb_up
check "carol allocates once Redis answers" within 5000 turn carol

# ---- Redis killed, then restarted (empty: the users are added again) ----
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
forget_pid "$REDIS_PID"
within 5000 not userdb_up
# Nothing to wait for: a user not cached is refused at once (500, try
# again: Redis cannot say whether the user exists; tests/unit/
# test_turn_userdb.c), not parked.
t0=$(now_ms)
check_fails "Redis killed: dave (not cached) is refused" turn dave
check "  ... at once, with 500 ($(($(now_ms) - t0)) ms)" grep -q "error 500" "$TMP/turn.out"
check "alice allocates while Redis is down" turn alice
sleep 2
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
	--daemonize no >>"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
check "redis-server restarted" within 5000 redis-cli -p "$RPORT" ping
check "users added again" users
check "Redis back: reconnected" within 15000 userdb_up
check "dave allocates once Redis is back" within 5000 turn dave

# ---- the live traffic all along ----
wait "$SOAK_PID"
forget_pid "$SOAK_PID"
grep '^soak: \|^  error:' "$TMP/soak.out"  # the figures, and why any session failed
take_lines "$TMP/soak.out"
check "turnpiked ran throughout and stops cleanly" stop_server "$SERVER_PID"
# Only Redis's faults may be warned about: nothing else went wrong.
check "no warning or error but Redis's" not eval \
	"log_problems '$LOG' | grep -v 'redis-userdb\|redis invalidations\|redis userdb\|redis statsdb\|redis users\|redis events\|user-quota: .*Redis'"
finish
