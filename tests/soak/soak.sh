#!/usr/bin/env bash
# soak.sh - the soak (tests/soak/README): turnpiked with two workers, Redis
# (long-term users, allocation events), TURN over UDP, TCP and TLS and the
# HTTP listener, under tests/soak/soak.py's steady churn of allocations,
# permissions, channels, refreshes, expiries and echoed traffic for
# SOAK_SECONDS (default 60). Fails when a relayed packet is lost, when RSS
# or descriptors grow beyond their bounds after warm-up, or when the server
# does not stop cleanly with a quiet log.
. "$(dirname "$0")/../system/lib.sh"
exclusive

SECONDS_=${SOAK_SECONDS:-60}
for t in redis-server redis-cli openssl; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

check "redis-server starts" start_redis
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl makes a test certificate"
TLS=$("$FREEPORT")
HPORT=$("$FREEPORT")
printf '%s\n' "realm=example.org" \
	"redis-userdb=\"ip=127.0.0.1 port=$RPORT dbname=6 connect_timeout=2\"" \
	"redis-timeout=2000" "stats-interval=5" "http-listen=127.0.0.1:$HPORT" \
	"cert=$TMP/cert.pem" "pkey=$TMP/key.pem" "tls-listening-port=$TLS" \
	"allow-loopback-peers" "min-port=20000" "max-port=29999" "relay-ip=127.0.0.1" \
	>"$TMP/turnpike.conf"
check "turnpikectl user add alice" "$CTL" -c "$TMP/turnpike.conf" user add alice secret
start_server soak -c "$TMP/turnpike.conf" || { fail "server start"; finish; }

# Under a sanitizer, only descriptors, losses and leftovers are judged.
RSS=()
if sanitizer_build; then
	RSS=(--rss-slack-kb 1000000)
	echo "a sanitizer build: RSS not bounded"
fi
PYTHONDONTWRITEBYTECODE=1 timeout $((SECONDS_ + 120)) /usr/bin/python3 \
	"$top_srcdir/tests/soak/soak.py" --pid "$SERVER_PID" --port "$PORT" --tls-port "$TLS" \
	--http "127.0.0.1:$HPORT" --seconds "$SECONDS_" "${RSS[@]}" >"$TMP/soak.out" 2>&1
rc=$?
grep -v '^ok - \|^FAIL - \|^[0-9]* passed' "$TMP/soak.out"
take_lines "$TMP/soak.out"
[ "$rc" -eq 0 ] || grep -q '^FAIL - ' "$TMP/soak.out" || fail "soak.py exited with $rc"
check "turnpiked stops cleanly" stop_server "$SERVER_PID"
check "no warning or error in the log" not log_problems "$TMP/soak.log"
finish
