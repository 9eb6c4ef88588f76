#!/usr/bin/env bash
# mux443.sh - TURN on one port for every client (issue 10, "TURN on 443"):
# with cert and pkey, listening-port and tls-listening-port each take plain
# TCP and TLS, told apart by the first byte. coturn's turnutils_uclient
# relays with and without -S through either port to a turnutils_peer;
# openssl s_client gets ALPN stun.turn (RFC 7443) when it offers it, the
# no_application_protocol alert when it offers only others, and TURN when
# it offers none; a client that sends nothing is closed at
# tls-handshake-timeout; without cert and pkey a TLS ClientHello on the
# plain port is closed with a log line.
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer openssl curl ss; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

MIN_PORT=20000 # below the ephemeral range, as in turn_uclient.sh
MAX_PORT=29999
HS_TIMEOUT=2

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || { fail "openssl makes a certificate"; finish; }
TPORT=$("$FREEPORT") && HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
start_server mux --min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers \
	--realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-handshake-timeout "$HS_TIMEOUT" --http-listen "$HPORT" --log-level debug ||
	{ fail "server start"; finish; }
MAIN_PID=$SERVER_PID

metric() { curl -s "http://127.0.0.1:$HPORT/metrics" | awk -v m="turnpike_$1" '$1 == m { print $2 }'; }

# udp_bound PORT: a UDP socket is bound to 127.0.0.1:PORT.
udp_bound() { ss -Hnlu "sport = :$1" | awk '{ print $4 }' | grep -qxF "127.0.0.1:$1"; }
PEER=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER" >"$TMP/peer.log" 2>&1 &
PEER_PID=$!
PIDS="$PIDS $PEER_PID"
check "turnutils_peer listens on 127.0.0.1:$PEER" within 5000 udp_bound "$PEER"

# relay NAME PORT [-S]: turnutils_uclient over TCP (TLS with -S) to PORT,
# REST credentials, 2 sessions of 20 messages relayed to the peer; every
# one must come back.
relay() {
	local name=$1 port=$2
	shift 2
	timeout 60 turnutils_uclient -t "$@" -p "$port" -W s3cr3t -u bob -n 20 -m 2 -l 120 \
		-e 127.0.0.1 -r "$PEER" 127.0.0.1 >"$TMP/u-$name.out" 2>&1
	uclient_counts "$TMP/u-$name.out"
	check "$name: turnutils_uclient relays ($GOT of $SENT back)" \
		test "$SENT" -gt 0 -a "$GOT" = "$SENT"
	[ "$SENT" -gt 0 ] && [ "$GOT" = "$SENT" ] || tail -n 5 "$TMP/u-$name.out" | sed "s/^/  $name: /"
}
tls_before=$(metric tls_handshakes_total)
relay "plain TCP on listening-port" "$PORT"
relay "TLS on listening-port" "$PORT" -S
relay "plain TCP on tls-listening-port" "$TPORT"
relay "TLS on tls-listening-port" "$TPORT" -S
tls_after=$(metric tls_handshakes_total)
check "the TLS runs were TLS: turnpike_tls_handshakes_total $tls_before -> $tls_after" \
	test "$tls_after" -ge $((tls_before + 2))
check "a Binding over plain TCP on tls-listening-port" \
	"$CTL" stun "127.0.0.1:$TPORT" --tcp --timeout 2000 --quiet

# s_client PORT ARGS...: one TLS 1.3 handshake, its output in
# $TMP/s_client.out; fails when the handshake does.
s_client() {
	local port=$1
	shift
	timeout 5 openssl s_client -connect "127.0.0.1:$port" -tls1_3 "$@" </dev/null \
		>"$TMP/s_client.out" 2>&1
}
alpn() { sed -n 's/^ALPN protocol: //p' "$TMP/s_client.out" | head -n 1; }
for p in "$PORT" "$TPORT"; do
	check "port $p: s_client -alpn stun.turn completes" s_client "$p" -alpn stun.turn
	check "port $p: ... ALPN protocol: $(alpn)" test "$(alpn)" = stun.turn
	check "port $p: s_client -alpn http/1.1,stun.turn gets stun.turn" \
		s_client "$p" -alpn http/1.1,stun.turn
	check "port $p: ... ALPN protocol: $(alpn)" test "$(alpn)" = stun.turn
	check_fails "port $p: s_client -alpn h2,http/1.1 is refused" s_client "$p" -alpn h2,http/1.1
	check "port $p: ... with the no_application_protocol alert" \
		grep -q "no application protocol" "$TMP/s_client.out"
	check "port $p: s_client without ALPN completes" s_client "$p"
	check "port $p: ... and none is negotiated" grep -q "No ALPN negotiated" "$TMP/s_client.out"
done
check "the ALPN refusal is logged with the offer" \
	grep -q 'ALPN offer (h2,http/1.1) has no stun.turn' "$TMP/mux.log"

# A client that connects to the plain port and sends nothing: closed at
# tls-handshake-timeout, not tcp-idle-timeout.
# eof_within MS FD: the server closes FD within MS milliseconds.
eof_within() { timeout "$(($1 / 1000)).$(($1 % 1000 / 100))" cat <&"$2" >/dev/null; }
t0=$(now_ms)
exec 5<>/dev/tcp/127.0.0.1/"$PORT"
check "a silent client on listening-port is closed" eof_within $((HS_TIMEOUT * 1000 + 2000)) 5
took=$(($(now_ms) - t0))
exec 5<&-
check "... after ${took} ms (tls-handshake-timeout ${HS_TIMEOUT} s)" \
	test "$took" -ge $((HS_TIMEOUT * 1000 - 200)) -a "$took" -le $((HS_TIMEOUT * 1000 + 2000))
check "... and logged" grep -q "no first byte within tls-handshake-timeout" "$TMP/mux.log"
# One that sends a TLS record header and then stalls: the same deadline.
t0=$(now_ms)
exec 5<>/dev/tcp/127.0.0.1/"$PORT"
printf '\026\003\001\002\000' >&5
check "a stalled handshake on listening-port is closed" eof_within $((HS_TIMEOUT * 1000 + 2000)) 5
took=$(($(now_ms) - t0))
exec 5<&-
check "... after ${took} ms" \
	test "$took" -ge $((HS_TIMEOUT * 1000 - 200)) -a "$took" -le $((HS_TIMEOUT * 1000 + 2000))

check "no warnings or errors in the server's log" not log_problems "$TMP/mux.log"
log_problems "$TMP/mux.log" | head -n 5
check "SIGTERM stops the server with status 0" stop_server "$MAIN_PID"

# The HTTPS hook on tls-listening-port (http-listen names it, with its own
# http-cert): TLS offering ALPN http/1.1 goes to the hook, TURN over TLS
# and plain TCP stay TURN's, and the hook's limits see the real client.
make_cert turnpike-http "$TMP/http-cert.pem" "$TMP/http-key.pem" || fail "openssl (http-cert)"
KEY=mux443-test-api-key-0123456789
TPORT=$("$FREEPORT")
start_server shared --min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers \
	--realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-handshake-timeout "$HS_TIMEOUT" --http-listen "$TPORT" \
	--http-cert "$TMP/http-cert.pem" --http-pkey "$TMP/http-key.pem" --rest-api-key "$KEY" \
	--http-max-connections-per-source 2 --http-request-timeout 2 --log-level debug ||
	{ fail "server start (shared)"; finish; }
SHARED_PID=$SERVER_PID
check "curl --http1.1 https://127.0.0.1:$TPORT/healthz on the TURN port" \
	curl -skf --max-time 5 --http1.1 -o /dev/null "https://127.0.0.1:$TPORT/healthz"
curl -sk --max-time 5 -w '\n%{http_version}\n' -o "$TMP/ice.json" \
	"https://127.0.0.1:$TPORT/api/v1/turn/ice-servers?key=$KEY" >"$TMP/curl.out" 2>&1
check "curl (ALPN h2,http/1.1): /api/v1/turn/ice-servers lists turns:127.0.0.1:$TPORT" \
	grep -qF "\"turns:127.0.0.1:$TPORT?transport=tcp\"" "$TMP/ice.json"
check "... over HTTP/$(tail -n 1 "$TMP/curl.out")" test "$(tail -n 1 "$TMP/curl.out")" = 1.1
openssl s_client -connect "127.0.0.1:$TPORT" -alpn http/1.1 </dev/null >"$TMP/s_client.out" 2>&1
check "the hook answers with its own certificate (http-cert)" \
	grep -q "^subject=.*CN *= *turnpike-http" "$TMP/s_client.out"
check "s_client -alpn stun.turn on the shared port gets TURN's certificate and stun.turn" \
	s_client "$TPORT" -alpn stun.turn
check "... ALPN protocol: $(alpn)" test "$(alpn)" = stun.turn
check_fails "s_client -alpn h2 on the shared port is refused" s_client "$TPORT" -alpn h2
check "... with the no_application_protocol alert" \
	grep -q "no application protocol" "$TMP/s_client.out"
relay "TLS on the port HTTPS shares" "$TPORT" -S
relay "plain TCP on the port HTTPS shares" "$TPORT"
t0=$(now_ms)
exec 5<>/dev/tcp/127.0.0.1/"$TPORT"
check "a silent client on the shared port is closed" eof_within $((HS_TIMEOUT * 1000 + 2000)) 5
took=$(($(now_ms) - t0))
exec 5<&-
check "... after ${took} ms (tls-handshake-timeout ${HS_TIMEOUT} s)" \
	test "$took" -ge $((HS_TIMEOUT * 1000 - 200)) -a "$took" -le $((HS_TIMEOUT * 1000 + 2000))
INTERNAL=$(sed -n 's/.*shared with TURN (through 127\.0\.0\.1:\([0-9]*\)).*/\1/p' "$TMP/shared.log")
check "the log names the internal listener (127.0.0.1:${INTERNAL:-?})" test -n "$INTERNAL"
/usr/bin/python3 "$top_srcdir/tests/system/mux443_http.py" --port "$TPORT" \
	--internal "${INTERNAL:-1}" --timeout 2 >"$TMP/mux443_http.out" 2>&1
take_lines "$TMP/mux443_http.out"
grep -q "passed" "$TMP/mux443_http.out" || { fail "mux443_http.py"; tail -n 5 "$TMP/mux443_http.out"; }
check "the per-source refusal is logged with the real client (127.0.0.2)" \
	grep -q "http: connection from 127.0.0.2:[0-9]* refused: its address holds 2" "$TMP/shared.log"
check "the request timeout is logged with the real client" \
	grep -q "http: connection from 127.0.0.2:[0-9]* closed: no whole request" "$TMP/shared.log"
check "the stranger on the internal listener is logged" \
	grep -q "internal listener refused: not passed by a worker" "$TMP/shared.log"
# problems: warnings and errors but for the refusals asked for.
problems() {
	log_problems "$TMP/shared.log" | grep -v "its address holds 2\|no whole request within\|not passed by a worker"
}
check "no other warnings or errors in the shared server's log" not problems
problems | head -n 5
check "SIGTERM stops the shared server with status 0" stop_server "$SHARED_PID"

# A plain HTTP hook (no http-cert) on tls-listening-port: a request line
# goes to it, STUN and TLS stay TURN's.
HPLAIN=$("$FREEPORT")
start_server plainhook --tls-listening-port "$HPLAIN" --cert "$TMP/cert.pem" \
	--pkey "$TMP/key.pem" --http-listen "$HPLAIN" || { fail "server start (plain hook)"; finish; }
check "curl http://127.0.0.1:$HPLAIN/healthz on the TURN port" \
	curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$HPLAIN/healthz"
check "a Binding over TCP on the same port" "$CTL" stun "127.0.0.1:$HPLAIN" --tcp --timeout 2000 --quiet
check "TLS (ALPN stun.turn) on the same port" s_client "$HPLAIN" -alpn stun.turn
check_fails "TLS offering only http/1.1 there is refused (the hook is plain HTTP)" \
	s_client "$HPLAIN" -alpn http/1.1
check "SIGTERM stops the plain-hook server with status 0" stop_server "$SERVER_PID"

# Without cert and pkey: a TLS ClientHello on the plain port is closed,
# and the log says why; plain TCP is served as before.
# A balancer (proxy-protocol) has tls-handshake-timeout for its header
# there too.
start_server plain --proxy-protocol 127.0.0.2 --tls-handshake-timeout "$HS_TIMEOUT" ||
	{ fail "server start (no TLS)"; finish; }
check_fails "no cert: s_client on listening-port fails" s_client "$PORT"
check "... and the log says TLS is off" \
	within 2000 grep -q "starts a TLS handshake but TLS is off" "$TMP/plain.log"
check "no cert: a Binding over TCP is served" "$CTL" stun "127.0.0.1:$PORT" --tcp --timeout 2000 --quiet
# silent_from SRC: seconds until the server closes a connection from SRC
# that sends nothing (or "open" after 6 s).
silent_from() {
	/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", int(sys.argv[2])))
s.settimeout(6)
t = time.time()
try:
    s.recv(1)
    print(f"{time.time() - t:.1f}")
except socket.timeout:
    print("open")
except OSError:
    print(f"{time.time() - t:.1f}")' "$1" "$PORT"
}
took=$(silent_from 127.0.0.2)
check "no TLS: a balancer that sends no PROXY header is closed at the deadline ($took s)" \
	awk -v t="$took" 'BEGIN { exit !(t != "open" && t >= 1.8 && t <= 4) }'
check "SIGTERM stops the server without TLS with status 0" stop_server "$SERVER_PID"

kill -TERM "$PEER_PID" 2>/dev/null
wait "$PEER_PID" 2>/dev/null
forget_pid "$PEER_PID"
finish
