#!/usr/bin/env bash
# redis_users.sh - long-term users and the fleet-wide user-quota from Redis,
# with a real redis-server on a free loopback port in the temp dir: a user
# added with turnpikectl works with coturn's client and ours, and stops
# working within 2 s of its removal; a key written with plain redis-cli
# (coturn's schema) works, and with keyevent notifications on, changing or
# deleting it by hand takes effect within 2 s; two servers sharing the Redis enforce one
# user-quota; Redis stopped leaves cached users and relaying working and
# the quota counted locally; a Redis that takes commands and never answers
# gets a parked Allocate a 500 at the timeout while Binding goes on.
. "$(dirname "$0")/lib.sh"

UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
REDIS=$(command -v redis-server)
REDIS_CLI=$(command -v redis-cli)
PY=$(command -v python3)
PROBE=$top_builddir/tests/tools/turnprobe
REALM=example.org
DB=4
EFFECT_MS=2000 # a change must take effect within this

if [ -z "$REDIS" ] || [ -z "$REDIS_CLI" ] || [ -z "$UCLIENT" ] || [ -z "$UPEER" ] || [ -z "$PY" ]; then
	skip "redis-server, redis-cli, turnutils_uclient, turnutils_peer or python3 not installed"
	finish
fi

t_begin=$(now_ms)

# ---- Redis, a peer, two servers sharing the Redis ----

RPORT=$("$FREEPORT")
"$REDIS" --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
	--daemonize no >>"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
for _ in $(seq 1 50); do "$REDIS_CLI" -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
rcli() { "$REDIS_CLI" -p "$RPORT" -n "$DB" "$@"; }
check "redis-server answers on 127.0.0.1:$RPORT" rcli ping

PEER_PORT=$("$FREEPORT")
"$UPEER" -L 127.0.0.2 -p "$PEER_PORT" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"

cat >"$TMP/turnpike.conf" <<EOF
realm=$REALM
redis-userdb="ip=127.0.0.1 port=$RPORT dbname=$DB connect_timeout=2"
redis-timeout=500
user-quota=2
EOF
CONF="-c $TMP/turnpike.conf"
COMMON="--relay-ip 127.0.0.1 --allow-loopback-peers --min-port 20000 --max-port 29999"

# shellcheck disable=SC2086
start_server a $CONF $COMMON || { fail "server a starts"; finish; }
A_PORT=$PORT
A_PID=$SERVER_PID
# shellcheck disable=SC2086
start_server b $CONF $COMMON --relay-threads 1 || { fail "server b starts"; finish; }
B_PORT=$PORT
B_PID=$SERVER_PID

# up LOG N: waits until N Redis connections in LOG say they are connected.
up() {
	local i
	for i in $(seq 1 50); do
		[ "$(grep -c 'connected$' "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# a: 2 workers x (userdb, statsdb) + invalidations; b: 1 x 2 + 1.
check "server a's Redis connections are up" up "$TMP/a.log" 5
check "server b's Redis connections are up" up "$TMP/b.log" 3

# uc OUT PORT ARGS...: a short coturn client run through the relay.
uc() {
	local out=$1 port=$2
	shift 2
	timeout 15 "$UCLIENT" -p "$port" -e 127.0.0.2 -r "$PEER_PORT" -m 1 -c -l 100 -z 5 \
		"$@" 127.0.0.1 >"$out" 2>&1 &&
		grep -q "Total lost packets 0 " "$out"
}
# ours PORT USER PASS: our client through the relay to the peer.
ours() {
	timeout 10 "$CTL" turn "127.0.0.1:$1" --user "$2" --password "$3" \
		--peer "127.0.0.2:$PEER_PORT" --count 2 --timeout 1000 >"$TMP/ours.out" 2>&1
}

# ---- a user added and removed with turnpikectl ----

check_fails "an unknown user gets no allocation" ours "$A_PORT" dave 'pa ss'
grep -q "error 401" "$TMP/ours.out" && ok "  ... it is 401" || fail "  ... it is 401 ($(cat "$TMP/ours.out"))"
check "turnpikectl user add dave" "$CTL" $CONF user add dave 'pa ss'
if within "$EFFECT_MS" eval "ours \$A_PORT dave 'pa ss'"; then
	ok "a user added with turnpikectl allocates with turnpikectl turn after $TOOK ms"
else
	fail "a user added with turnpikectl allocates within $EFFECT_MS ms ($(cat "$TMP/ours.out"))"
fi
check "  ... relayed address $(grep -o 'relayed-address: .*' "$TMP/ours.out")" \
	grep -q "relayed-address: 127.0.0.1:" "$TMP/ours.out"
check "coturn's turnutils_uclient -u dave -w 'pa ss', zero loss" \
	uc "$TMP/uc.dave" "$A_PORT" -n 20 -u dave -w 'pa ss'
check_fails "a wrong password gets nothing" ours "$A_PORT" dave 'wrong'
check "turnpikectl user add tina" "$CTL" $CONF user add tina tpass
check "over TCP, a request parked on its lookup is answered on its connection" \
	timeout 10 "$CTL" turn "127.0.0.1:$A_PORT" --tcp --user tina --password tpass \
	--peer "127.0.0.2:$PEER_PORT" --count 2 --timeout 1000 >"$TMP/ours.tcp" 2>&1
check "and the other server knows dave too" ours "$B_PORT" dave 'pa ss'

check "turnpikectl user remove dave" "$CTL" $CONF user remove dave
if within "$EFFECT_MS" eval "! ours \$A_PORT dave 'pa ss' && ! ours \$B_PORT dave 'pa ss'"; then
	ok "a removed user is refused on both servers after $TOOK ms"
else
	fail "a removed user is refused within $EFFECT_MS ms"
fi
ok=0
for _ in 1 2 3 4 5 6; do ours "$A_PORT" dave 'pa ss' || ok=$((ok + 1)); done
check "  ... on every worker (6 tries refused: $ok)" test "$ok" -eq 6

# ---- coturn's schema written by hand ----

md5=$(printf '%s' "erin:$REALM:migrated" | md5sum | cut -c1-32)
rcli SET "turn/realm/$REALM/user/erin/key" "$md5" >/dev/null
check "a key set with redis-cli (coturn's hex MD5) works with turnutils_uclient" \
	uc "$TMP/uc.erin" "$A_PORT" -n 10 -u erin -w migrated
check "  ... and with turnpikectl turn (MD5 only, no SHA-256 key)" ours "$B_PORT" erin migrated

# Changed again by hand, with no announcement: with keyevent notifications
# on, both servers drop what they cached of erin at once (the cache would
# otherwise keep the old key for up to a minute).
check "keyevent notifications on (CONFIG SET notify-keyspace-events KEg\$x)" \
	rcli CONFIG SET notify-keyspace-events 'KEg$x'
md5=$(printf '%s' "erin:$REALM:rotated" | md5sum | cut -c1-32)
rcli SET "turn/realm/$REALM/user/erin/key" "$md5" >/dev/null
if within "$EFFECT_MS" eval 'ours "$A_PORT" erin rotated && ours "$B_PORT" erin rotated'; then
	ok "a key changed with plain redis-cli SET works on both servers after $TOOK ms"
else
	fail "a key changed with plain redis-cli SET works within $EFFECT_MS ms"
fi
check_fails "  ... and the old password is refused" ours "$A_PORT" erin migrated
check "  ... the new one works on both (cached again) before the DEL" \
	eval 'ours "$A_PORT" erin rotated && ours "$B_PORT" erin rotated'
rcli DEL "turn/realm/$REALM/user/erin/key" >/dev/null
if within "$EFFECT_MS" eval '! ours "$A_PORT" erin rotated && ! ours "$B_PORT" erin rotated'; then
	ok "a key deleted with plain redis-cli DEL is refused on both servers after $TOOK ms"
else
	fail "a key deleted with plain redis-cli DEL is refused within $EFFECT_MS ms"
fi

# ---- one user-quota across two servers ----

check "turnpikectl user add quser" "$CTL" $CONF user add quser qpass
"$PROBE" 127.0.0.1 "$A_PORT" fleet-quota "$B_PORT" 2 --user quser --password qpass \
	>"$TMP/fleet.out" 2>&1
rc=$?
sed 's/^/    /' "$TMP/fleet.out"
check "two servers sharing Redis enforce one user-quota of 2" test "$rc" -eq 0
qkey="turnpike:realm/$REALM/quota/quser"
for _ in $(seq 1 20); do [ "$(rcli ZCARD "$qkey")" = 0 ] && break; sleep 0.05; done
check "every allocation released is gone from $qkey" test "$(rcli ZCARD "$qkey")" = 0

# A dead server's members stop counting after their lifetime: one that
# ends in the past is cleared by the next Allocate.
rcli ZADD "$qkey" 1 deadbeefdeadbeefdeadbeefdeadbeef >/dev/null
rcli ZADD "$qkey" 2 feedfacefeedfacefeedfacefeedface >/dev/null
check "members left by a crashed server whose lifetime is over do not count (uclient's two allocations succeed)" \
	uc "$TMP/uc.q" "$A_PORT" -n 5 -u quser -w qpass
check "  ... and are removed" test "$(rcli ZSCORE "$qkey" deadbeefdeadbeefdeadbeefdeadbeef)" = ""
pttl=$(rcli PTTL "$qkey")
check "the quota set expires by itself after max-allocate-lifetime (PTTL $pttl ms)" \
	test "$pttl" -gt 3600000

# ---- Redis stopped ----

check "quser cached on server b" ours "$B_PORT" quser qpass
# turnutils_uclient holds two allocations (and leaves one): a fresh user.
check "turnpikectl user add lou" "$CTL" $CONF user add lou lpass
uc "$TMP/uc.long" "$A_PORT" -n 120 -z 20 -u lou -w lpass &
LONG_PID=$!
PIDS="$PIDS $LONG_PID"
sleep 0.7
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
forget_pid "$REDIS_PID"
sleep 0.2
check "Redis down: a cached user still authenticates" ours "$B_PORT" quser qpass
check_fails "Redis down: an unknown user is refused at once" ours "$B_PORT" nobody x
grep -q "error 500" "$TMP/ours.out" && ok "  ... with 500 (try again: Redis cannot say who exists)" ||
	fail "  ... with 500 ($(cat "$TMP/ours.out"))"
"$PROBE" 127.0.0.1 "$B_PORT" fleet-quota "$B_PORT" 2 --user quser --password qpass \
	>"$TMP/fleet.local" 2>&1
rc=$?
sed 's/^/    /' "$TMP/fleet.local"
check "Redis down: user-quota falls back to this server's count" test "$rc" -eq 0
check "  ... logged: $(grep -o 'user-quota: .*only.*' "$TMP/b.log" | head -1)" \
	grep -q "counting on this server only" "$TMP/b.log"
wait "$LONG_PID"
rc=$?
forget_pid "$LONG_PID"
check "Redis down: an allocation made before relayed every packet ($(grep -o 'Total lost packets [0-9]*' "$TMP/uc.long"))" \
	test "$rc" -eq 0
check "server a stops cleanly" stop_server "$A_PID"
check "server b stops cleanly" stop_server "$B_PID"

# ---- a Redis that takes commands and never answers them ----

FAKE_PORT=$("$FREEPORT")
"$PY" - "$FAKE_PORT" >"$TMP/fake.log" 2>&1 <<'EOF' &
# Answers the login (AUTH, SELECT, PING) and SUBSCRIBE, then nothing: every
# other command on a connection stalls it for good.
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
state = {}

def commands(buf):
    out = []
    while buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        if end < 0:
            break
        n, pos, args = int(buf[1:end]), end + 2, []
        for _ in range(n):
            e = buf.find(b"\r\n", pos)
            if e < 0 or buf[pos:pos + 1] != b"$":
                return out, buf
            ln = int(buf[pos + 1:e])
            if len(buf) < e + 2 + ln + 2:
                return out, buf
            args.append(buf[e + 2:e + 2 + ln])
            pos = e + 2 + ln + 2
        if len(args) < n:
            break
        out.append(args)
        buf = buf[pos:]
    return out, buf

end = time.time() + 60
while time.time() < end:
    for key, _ in sel.select(0.5):
        if key.fileobj is srv:
            c, _ = srv.accept()
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            state[c] = [b"", False]
            continue
        c = key.fileobj
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        if not data:
            sel.unregister(c)
            c.close()
            continue
        st = state[c]
        cmds, st[0] = commands(st[0] + data)
        for a in cmds:
            name = a[0].upper()
            print(name.decode(), "stalled" if st[1] else "", flush=True)
            if st[1]:
                continue
            if name in (b"AUTH", b"SELECT", b"PING"):
                c.sendall(b"+OK\r\n")
            elif name == b"SUBSCRIBE":
                for i, ch in enumerate(a[1:]):
                    c.sendall(b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n" % (len(ch), ch, i + 1))
            else:
                st[1] = True
EOF
FAKE_PID=$!
PIDS="$PIDS $FAKE_PID"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break; sleep 0.1; done

# turnprobe sends its Bindings at ~100 a second from one source: above the
# default unauth-rate-limit, whose drops would read as Bindings waiting.
start_server stall $COMMON --relay-threads 1 --realm "$REALM" --user-quota 2 --unauth-rate-limit 0 \
	--redis-userdb "ip=127.0.0.1 port=$FAKE_PORT connect_timeout=1" --redis-timeout 1000 ||
	fail "the server with a stalling Redis starts"
STALL_PID=$SERVER_PID
check "its worker's userdb connection logs in" \
	bash -c "for i in \$(seq 1 50); do grep -q 'userdb worker 0 .*connected\$' '$TMP/stall.log' && exit 0; sleep 0.1; done; exit 1"
"$PROBE" 127.0.0.1 "$PORT" stall 1000 --user ghost --password x >"$TMP/stall.out" 2>&1
rc=$?
sed 's/^/    /' "$TMP/stall.out"
check "a lookup Redis never answers: 500 at the timeout, Binding answered meanwhile" \
	test "$rc" -eq 0
check "the timeout is logged" grep -q "no answer within the command timeout" "$TMP/stall.log"
check "the stalled server stops cleanly" stop_server "$STALL_PID"
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
forget_pid "$FAKE_PID"

check "no secret or key in the logs" bash -c "! grep -qiE 'pa ss|qpass|migrated|$md5' '$TMP'/*.log"
echo "# redis_users.sh took $(($(now_ms) - t_begin)) ms"
finish
