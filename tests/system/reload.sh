#!/usr/bin/env bash
# reload.sh - SIGHUP reloads the secrets, users, peer policy, quotas,
# bandwidth limits, alternate servers and REST API keys for new requests
# while a live allocation relays without loss, with two workers (reload.py);
# a broken file is refused and changes nothing. Then with Redis and coturn's
# turnutils_uclient: `turnpikectl reload` (through the pidfile) rotates the
# file's secret during a long uclient run that loses nothing, and the
# secrets that came from Redis stay in use.
. "$(dirname "$0")/lib.sh"

run_py reload.py

UCLIENT=$(command -v turnutils_uclient)
UPEER=$(command -v turnutils_peer)
if [ -z "$UCLIENT" ] || [ -z "$UPEER" ] || ! start_redis; then
	skip "redis-server, redis-cli, turnutils_uclient or turnutils_peer not installed"
	finish
fi
REALM=example.org
PEER_PORT=$("$FREEPORT")
"$UPEER" -L 127.0.0.2 -p "$PEER_PORT" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"
CONF=$TMP/turnpike.conf
conf() {
	cat >"$CONF" <<EOF2
realm=$REALM
use-auth-secret
static-auth-secret=$1
redis-userdb="ip=127.0.0.1 port=$RPORT dbname=2 connect_timeout=2"
pidfile=$TMP/turnpiked.pid
relay-ip=127.0.0.1
allow-loopback-peers
EOF2
}
conf file-secret-one
start_server rd -c "$CONF" || { fail "server start"; finish; }
LOG=$TMP/rd.log

# uc OUT ARGS...: a coturn client run through the relay to the peer; true
# when it allocated and every packet came back.
uc() {
	local out=$1
	shift
	timeout 60 "$UCLIENT" -p "$PORT" -e 127.0.0.2 -r "$PEER_PORT" -m 1 -c -l 100 "$@" \
		127.0.0.1 >"$out" 2>&1 && grep -q "Total lost packets 0 " "$out"
}

check "turnpikectl secret add (redis)" "$CTL" -c "$CONF" secret add redis-secret-one
check "the secret from redis authenticates" within 3000 uc "$TMP/uc0.out" -n 3 -z 5 \
	-u alice -W redis-secret-one
check "the file's secret authenticates" uc "$TMP/uc1.out" -n 3 -z 5 -u bob -W file-secret-one

# A long run (about 6 s) across the reload.
uc "$TMP/long.out" -n 600 -z 10 -u carol -W redis-secret-one &
LONG=$!
sleep 1
conf file-secret-two
check "turnpikectl reload signals the server through its pidfile" \
	"$CTL" reload -c "$CONF"
check "the server reloads" within 3000 grep -q "configuration reloaded" "$LOG"
check "the new file secret authenticates" uc "$TMP/uc2.out" -n 3 -z 5 -u dave \
	-W file-secret-two
check_fails "the old file secret is refused" uc "$TMP/uc3.out" -n 1 -z 5 -u erin \
	-W file-secret-one
check "the secret from redis still authenticates after the reload" \
	uc "$TMP/uc4.out" -n 3 -z 5 -u frank -W redis-secret-one
wait "$LONG"
rc=$?
uclient_counts "$TMP/long.out"
check "turnutils_uclient relays across the reload with nothing lost ($GOT of $SENT back)" \
	test "$rc" -eq 0 -a "$SENT" -gt 0 -a "$GOT" = "$SENT"
check "reload logs no problem" not grep -E "Z error:" "$LOG"
check "no sanitizer report" not grep -q Sanitizer "$LOG"
check_fails "turnpikectl reload of a pid that does not exist fails" \
	"$CTL" reload --pid 999999999
check "turnpiked stops cleanly" stop_server "$SERVER_PID"
finish
