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
