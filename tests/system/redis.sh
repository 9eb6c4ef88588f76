#!/usr/bin/env bash
# redis.sh - Redis as the shared store, with a real redis-server on a free
# loopback port in the temp dir: REST secrets added and removed with
# turnpikectl (and with plain redis-cli, through keyspace notifications)
# take effect within 2 s; turnpikectl credentials work with coturn's
# turnutils_uclient; allocation events arrive in order; Redis killed
# mid-run leaves relaying and cached secrets working, and the server
# reconnects by itself once Redis is back; a Redis that accepts
# connections and never answers costs timeouts, never a stall.
. "$(dirname "$0")/lib.sh"

UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
REDIS=$(command -v redis-server)
REDIS_CLI=$(command -v redis-cli)
PY=$(command -v python3)
REALM=example.org
DB=3
EFFECT_MS=2000      # a change must take effect within this

if [ -z "$REDIS" ] || [ -z "$REDIS_CLI" ] || [ -z "$UCLIENT" ] || [ -z "$UPEER" ]; then
	skip "redis-server, redis-cli, turnutils_uclient or turnutils_peer not installed"
	finish
fi

t_begin=$(now_ms)

# ---- Redis, a peer, the server ----

RPORT=$("$FREEPORT")
start_redis() {
	"$REDIS" --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
		--daemonize no --notify-keyspace-events Ksg >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS="$PIDS $REDIS_PID"
	local i
	for i in $(seq 1 50); do
		"$REDIS_CLI" -p "$RPORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
rcli() { "$REDIS_CLI" -p "$RPORT" -n "$DB" "$@"; }

check "redis-server starts on 127.0.0.1:$RPORT" start_redis

PEER_PORT=$("$FREEPORT")
"$UPEER" -L 127.0.0.2 -p "$PEER_PORT" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"

cat >"$TMP/turnpike.conf" <<EOF
realm=$REALM
use-auth-secret
redis-userdb="ip=127.0.0.1 port=$RPORT dbname=$DB connect_timeout=2"
redis-timeout=500
stats-interval=1
EOF
CONF="-c $TMP/turnpike.conf"

# shellcheck disable=SC2086
start_server main $CONF --relay-ip 127.0.0.1 --allow-loopback-peers \
	--min-port 20000 --max-port 29999 || { fail "server start"; finish; }
MAIN_PORT=$PORT
MAIN_PID=$SERVER_PID
MAIN_LOG=$TMP/main.log
UC_PORT=$MAIN_PORT

# uc OUT ARGS...: one short coturn client run through the relay to the peer;
# true when it allocated and every packet came back.
uc() {
	local out=$1
	shift
	timeout 15 "$UCLIENT" -p "$UC_PORT" -e 127.0.0.2 -r "$PEER_PORT" -m 1 -c -l 100 -z 5 \
		"$@" 127.0.0.1 >"$out" 2>&1 &&
		grep -q "Total lost packets 0 " "$out"
}

# until_ok MS ARGS... / until_refused MS ARGS...: retries a uc run until
# it succeeds / an Allocate is refused, for at most MS; prints how long
# after the first try the deciding one started.
until_ok() {
	local limit=$1
	shift
	within "$limit" uc "$TMP/uc.out" -n 3 "$@" && echo "$TOOK"
}
until_refused() {
	local limit=$1
	shift
	within "$limit" not uc "$TMP/uc.out" -n 1 "$@" && echo "$TOOK"
}

# 2 workers x (statsdb, userdb) + the secrets' two + the user invalidations.
check "every worker and the userdb connections are up" \
	bash -c "for i in \$(seq 1 50); do [ \$(grep -c 'connected\$' '$MAIN_LOG') -ge 7 ] && exit 0; sleep 0.1; done; exit 1"

# ---- secrets ----

check_fails "an unknown secret does not authenticate" uc "$TMP/uc.out" -n 1 -W s3cret-one -u alice

check "turnpikectl secret add" "$CTL" $CONF secret add s3cret-one
if ms=$(until_ok "$EFFECT_MS" -W s3cret-one -u alice); then
	ok "a secret added with turnpikectl authenticates an Allocate after $ms ms"
else
	fail "a secret added with turnpikectl authenticates an Allocate within $EFFECT_MS ms"
fi

check "turnpikectl secret list shows it" bash -c "'$CTL' $CONF secret list | grep -qx s3cret-one"
check "turnpikectl secret remove" "$CTL" $CONF secret remove s3cret-one
if ms=$(until_refused "$EFFECT_MS" -W s3cret-one -u alice); then
	ok "a removed secret stops authenticating after $ms ms"
else
	fail "a removed secret stops authenticating within $EFFECT_MS ms"
fi
check_fails "removing it again is an error" "$CTL" $CONF secret remove s3cret-one

# Written with plain redis-cli (no announcement): keyspace notifications.
rcli SADD "turn/realm/$REALM/secret" cli-secret >/dev/null
if ms=$(until_ok "$EFFECT_MS" -W cli-secret -u carol); then
	ok "a secret added with redis-cli (keyspace notification) works after $ms ms"
else
	fail "a secret added with redis-cli works within $EFFECT_MS ms"
fi
rcli SREM "turn/realm/$REALM/secret" cli-secret >/dev/null

# ---- credentials for coturn's client ----

check "turnpikectl secret add (for credentials)" "$CTL" $CONF secret add s3cret-two
out=$("$CTL" $CONF credentials --user bob --ttl 600 --format uclient)
# shellcheck disable=SC2086
if until_ok "$EFFECT_MS" $out >/dev/null; then
	ok "turnpikectl credentials --format uclient works with turnutils_uclient ($out)"
else
	fail "turnpikectl credentials --format uclient works with turnutils_uclient ($out)"
fi
json=$("$CTL" $CONF credentials --user bob --ttl 600)
check "credentials as JSON: username, password, ttl ($json)" "$PY" -c '
import json, sys, time
d = json.loads(sys.argv[1])
exp, user = d["username"].split(":", 1)
assert user == "bob" and d["ttl"] == 600 and abs(int(exp) - time.time() - 600) < 5
assert len(d["password"]) == 28' "$json"
check "credentials with --secret need no Redis" \
	bash -c "'$CTL' credentials --user x --secret abc --format uclient | grep -q '^-u [0-9]*:x -w '"

# ---- users: keys only, SCAN to list ----

check "turnpikectl user add" "$CTL" $CONF user add dave 'pa ss'
check "the coturn key is hex MD5(name:realm:password)" \
	test "$(rcli GET "turn/realm/$REALM/user/dave/key")" = \
	"$(printf '%s' "dave:$REALM:pa ss" | md5sum | cut -c1-32)"
check "the SHA-256 key is there too" \
	test "$(rcli GET "turnpike:realm/$REALM/user/dave/sha256")" = \
	"$(printf '%s' "dave:$REALM:pa ss" | sha256sum | cut -c1-64)"
check_fails "no plain password is stored" bash -c "'$REDIS_CLI' -p $RPORT -n $DB --scan | \
	while read -r k; do '$REDIS_CLI' -p $RPORT -n $DB DUMP \"\$k\"; done | grep -q 'pa ss'"
check "turnpikectl user list" bash -c "'$CTL' $CONF user list | grep -qx dave"
check "turnpikectl user remove" "$CTL" $CONF user remove dave
check "and the keys are gone" test "$(rcli EXISTS "turn/realm/$REALM/user/dave/key")" = 0

# ---- events in order for a whole allocation ----

"$CTL" $CONF events --timeout 8 >"$TMP/events.txt" 2>"$TMP/events.err" &
EV_PID=$!
PIDS="$PIDS $EV_PID"
for _ in $(seq 1 50); do grep -q subscribed "$TMP/events.err" && break; sleep 0.1; done
check "one allocation's life over coturn's client" uc "$TMP/uc.ev" -n 20 -W s3cret-two -u evuser
for _ in $(seq 1 50); do grep -q '"deleted".*:evuser"' "$TMP/events.txt" && break; sleep 0.1; done
kill "$EV_PID" 2>/dev/null
wait "$EV_PID" 2>/dev/null
forget_pid "$EV_PID"
check "events in order: created, refreshed/interim, deleted, one id ($(grep -c evuser "$TMP/events.txt") events)" \
	"$PY" - "$TMP/events.txt" <<'EOF'
import json, sys
lives = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert "password" not in line and "s3cret" not in line
    if e["user"].endswith(":evuser"):
        lives.setdefault(e["id"], []).append(e)
done = [l for l in lives.values() if l[-1]["event"] in ("deleted", "expired")]
assert done, lives
for life in done:
    kinds = [e["event"] for e in life]
    assert kinds[0] == "created", kinds
    assert all(k in ("refreshed", "interim") for k in kinds[1:-1]), kinds
    assert [e["seq"] for e in life] == list(range(1, len(life) + 1))
    assert len(life[0]["id"]) == 32 and life[0]["realm"] == "example.org"
    assert life[-1]["client_packets"] == 20 and life[-1]["peer_packets"] == 20, life[-1]
    assert life[-1]["client_bytes"] == 2000 and life[-1]["lifetime"] == 0
    print("    " + " -> ".join(kinds) + " id " + life[0]["id"])
EOF

# ---- Redis killed mid-run, then back ----

uc "$TMP/uc.long" -n 150 -z 20 -W s3cret-two -u longcall &
LONG_PID=$!
PIDS="$PIDS $LONG_PID"
sleep 1
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
forget_pid "$REDIS_PID"
t_down=$(now_ms)
check "Redis down: a new Allocate with the cached secret succeeds" uc "$TMP/uc.cached" -n 3 -W s3cret-two -u cached
check "Redis down: Binding is answered" "$CTL" stun "127.0.0.1:$MAIN_PORT" --quiet --timeout 1000
wait "$LONG_PID"
rc=$?
forget_pid "$LONG_PID"
check "Redis down: the allocation made before relayed every packet ($(grep -o 'Total lost packets [0-9]*' "$TMP/uc.long"))" \
	test "$rc" -eq 0
check "the outage is logged once per connection" \
	test "$(grep -c 'redis userdb (.*reconnecting' "$MAIN_LOG")" -eq 1

# Both userdb connections (commands, subscriber) must come back.
before=$(grep -c 'redis userdb \(subscriber \)\?(.*connected again' "$MAIN_LOG")
start_redis
t_up=$(now_ms)
reconnected=""
for _ in $(seq 1 200); do
	if [ "$(grep -c 'redis userdb \(subscriber \)\?(.*connected again' "$MAIN_LOG")" -ge $((before + 2)) ]; then
		reconnected=$(($(now_ms) - t_up))
		break
	fi
	sleep 0.05
done
if [ -n "$reconnected" ]; then
	ok "the server reconnected by itself ${reconnected} ms after Redis came back (down $((t_up - t_down)) ms; log: $(grep -o 'userdb (.*connected again.*' "$MAIN_LOG" | tail -1))"
else
	fail "the server reconnects within 10 s of Redis coming back"
fi
check "turnpikectl secret add after the restart" "$CTL" $CONF secret add s3cret-three
if ms=$(until_ok "$EFFECT_MS" -W s3cret-three -u after); then
	ok "a secret added after the restart authenticates after $ms ms"
else
	fail "a secret added after the restart authenticates within $EFFECT_MS ms"
fi
check "main server still answers" "$CTL" stun "127.0.0.1:$MAIN_PORT" --quiet
check "the main server stops cleanly" stop_server "$MAIN_PID"

# ---- a Redis that accepts and never answers ----

FAKE_PORT=$("$FREEPORT")
"$PY" - "$FAKE_PORT" >"$TMP/fake.log" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
s.settimeout(0.5)
held, end = [], time.time() + 60
while time.time() < end:
    try:
        c, _ = s.accept()
        held.append(c)   # read nothing, answer nothing
    except socket.timeout:
        pass
EOF
FAKE_PID=$!
PIDS="$PIDS $FAKE_PID"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break; sleep 0.1; done

t0=$(now_ms)
start_server mute --relay-ip 127.0.0.1 --allow-loopback-peers --min-port 20000 \
	--max-port 29999 --realm "$REALM" --use-auth-secret --static-auth-secret conf-secret \
	--redis-userdb "ip=127.0.0.1 port=$FAKE_PORT connect_timeout=1" --redis-timeout 300
check "a server with a mute Redis starts and answers Binding in $(($(now_ms) - t0)) ms" \
	kill -0 "$SERVER_PID"
UC_PORT=$PORT
check "TURN with the config's secret works beside the mute Redis" uc "$TMP/uc.mute" -n 3 -W conf-secret -u mute
t0=$(now_ms)
check "20 Binding requests, none waits on Redis" \
	"$CTL" stun "127.0.0.1:$PORT" --count 20 --timeout 500 --quiet
elapsed=$(($(now_ms) - t0))
check "  ... in $elapsed ms" test "$elapsed" -lt 2000
check "the connect timeouts are logged" grep -q "no answer within the connect timeout" "$TMP/mute.log"
check "the mute server stops cleanly" stop_server "$SERVER_PID"
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
forget_pid "$FAKE_PID"

echo "# redis.sh took $(($(now_ms) - t_begin)) ms"
finish
