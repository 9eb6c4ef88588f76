#!/usr/bin/env bash
# valgrind.sh - turnpiked (two workers) under valgrind memcheck for a short
# run of everything at once: long-term users and allocation events in Redis,
# coturn's turnutils_uclient relaying over UDP, TCP and TLS (channels, Send
# indications, an RFC 6062 TCP relay), REST credentials from the HTTP hook,
# /metrics and /healthz, a reload, then SIGTERM. Memcheck must find zero
# errors and zero definitely lost blocks.
. "$(dirname "$0")/lib.sh"
exclusive

for t in valgrind turnutils_uclient turnutils_peer redis-server redis-cli curl; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish
# A sanitizer build has its own allocator; valgrind cannot run it.
if sanitizer_build; then
	skip "turnpiked is a sanitizer build (ASan/TSan replace what memcheck checks)"
	finish
fi

REALM=example.org
check "redis-server starts" start_redis
PEER=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl makes a test certificate"
TLS=$("$FREEPORT")
HPORT=$("$FREEPORT")
KEY=0123456789abcdef0123
printf '%s\n' "realm=$REALM" \
	"redis-userdb=\"ip=127.0.0.1 port=$RPORT dbname=5 connect_timeout=2\"" \
	"redis-timeout=2000" "use-auth-secret" "static-auth-secret=s3cr3t" "stats-interval=1" \
	"http-listen=127.0.0.1:$HPORT" "rest-api-key=$KEY" "cert=$TMP/cert.pem" \
	"pkey=$TMP/key.pem" "tls-listening-port=$TLS" "allow-loopback-peers" "min-port=20000" \
	"max-port=29999" "relay-ip=127.0.0.1" "log-level=info" >"$TMP/turnpike.conf"
check "turnpikectl user add alice" "$CTL" -c "$TMP/turnpike.conf" user add alice secret

# turnpiked under memcheck: start_server runs $TURNPIKED, here a wrapper
# that execs valgrind (same PID). Errors and definite leaks make valgrind
# exit 99.
printf '#!/bin/sh\nexec valgrind --error-exitcode=99 --leak-check=full \\\n' \
	>"$TMP/vg-turnpiked"
printf '  --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 \\\n' \
	>>"$TMP/vg-turnpiked"
printf '  --log-file=%s %s "$@"\n' "$TMP/valgrind.log" "$TURNPIKED" >>"$TMP/vg-turnpiked"
chmod +x "$TMP/vg-turnpiked"
TURNPIKED=$TMP/vg-turnpiked
t0=$(now_ms)
start_server vg -c "$TMP/turnpike.conf" || { fail "turnpiked starts under valgrind"; finish; }
VG_PID=$SERVER_PID
ok "turnpiked answers under valgrind after $(($(now_ms) - t0)) ms"

# uc NAME ARGS...: a short uclient run; true when nothing was lost.
uc() {
	local name=$1
	shift
	timeout 90 turnutils_uclient -n 10 -m 1 -l 100 -z 5 "$@" \
		>"$TMP/uc-$name.out" 2>&1 &&
		grep -q "Total lost packets 0 " "$TMP/uc-$name.out"
}
LT=(-u alice -w secret)
check "UDP, channel, to the peer" uc udp "${LT[@]}" -p "$PORT" -e 127.0.0.1 -r "$PEER" 127.0.0.1
check "TCP, Send indications, to the peer" \
	uc tcp "${LT[@]}" -t -s -p "$PORT" -e 127.0.0.1 -r "$PEER" 127.0.0.1
check "TLS, client to client" uc tls "${LT[@]}" -S -y -p "$TLS" 127.0.0.1
check "TCP relay (RFC 6062), client to client" uc tcprelay "${LT[@]}" -T -y -p "$PORT" 127.0.0.1
H="http://127.0.0.1:$HPORT"
check "the credential hook answers" eval "curl -sf --max-time 20 \
	'$H/api/v1/turn/credentials?service=turn&username=bob&ttl=600&key=$KEY' >'$TMP/creds.json'"
U=$(json_field "$TMP/creds.json" 'j["username"]')
P=$(json_field "$TMP/creds.json" 'j["password"]')
check "its REST credentials relay over UDP" \
	uc rest -u "$U" -w "$P" -p "$PORT" -e 127.0.0.1 -r "$PEER" 127.0.0.1
check "/metrics answers" eval "curl -sf --max-time 20 $H/metrics | grep -q '^turnpike_allocations_created_total'"
check "/healthz answers" curl -sf --max-time 20 -o /dev/null "$H/healthz"
kill -HUP "$VG_PID"
check "a reload" within 20000 grep -q "reload" "$TMP/vg.log"
check "Binding after the reload" "$CTL" stun "127.0.0.1:$PORT" --timeout 5000 --quiet

t0=$(now_ms)
stop_server "$VG_PID"
rc=$?
check "turnpiked exits 0 under valgrind after SIGTERM (status $rc, $(($(now_ms) - t0)) ms)" \
	test "$rc" -eq 0
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$TMP/valgrind.log" | tail -n 1)
definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$TMP/valgrind.log" | tail -n 1)
check "memcheck: zero errors (${errors:-0}), zero bytes definitely lost (${definite:-0})" \
	test "$rc" -ne 99 -a "${errors:-0}" = 0 -a "${definite:-0}" = 0
[ "$rc" -eq 0 ] || grep -A 30 "definitely lost in\|Invalid\|uninitialised" "$TMP/valgrind.log" | head -n 80
check "no warning or error in the log" not log_problems "$TMP/vg.log"
finish
