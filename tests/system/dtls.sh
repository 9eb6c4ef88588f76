#!/usr/bin/env bash
# dtls.sh - TURN over DTLS (RFC 7350) on UDP at tls-listening-port: openssl
# s_client sees DTLS 1.2 accepted and DTLS 1.0 refused; a burst of
# ClientHellos from many 127/8 sources that never echo their cookie gets
# HelloVerifyRequests and leaves no session and no memory behind; a client
# that stalls after the cookie exchange is dropped at tls-handshake-timeout;
# coturn's turnutils_uclient relays over DTLS to a turnutils_peer with
# nothing lost; a new certificate reaches DTLS clients after SIGHUP;
# no-dtls turns DTLS off and no-tls leaves it on; a client restarting on
# the same address and port reconnects at once, and a spoofed ClientHello
# leaves the live session relaying (dtls_reconnect.py).
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer openssl curl ss python3; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

MIN_PORT=20000 # below the ephemeral range, as in turn_uclient.sh
MAX_PORT=29999
HS_TIMEOUT=2
BURST=20000
HELLO=$top_srcdir/tests/system/dtls_hello.py

for n in one two; do
	make_cert "turnpike-$n" "$TMP/cert-$n.pem" "$TMP/key-$n.pem" || fail "openssl req ($n)"
done
cp "$TMP/cert-one.pem" "$TMP/cert.pem"
cp "$TMP/key-one.pem" "$TMP/key.pem"

TPORT=$("$FREEPORT") && HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
# Under AddressSanitizer freed memory waits in a quarantine that the RSS
# check below would take for a leak; it holds none here (a no-op otherwise).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
	start_server dtls --min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers \
	--realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-handshake-timeout "$HS_TIMEOUT" --http-listen "$HPORT" ||
	{ fail "server start"; finish; }
MAIN_PID=$SERVER_PID

metric() { curl -s "http://127.0.0.1:$HPORT/metrics" | awk -v m="turnpike_$1" '$1 == m { print $2 }'; }
# udp_bound PORT: a UDP socket is bound to 127.0.0.1:PORT.
udp_bound() { ss -Hnlu "sport = :$1" | awk '{ print $4 }' | grep -qxF "127.0.0.1:$1"; }

# s_client VERSION [ARGS...]: one DTLS handshake with openssl s_client, its
# output in $TMP/s_client.out; fails when the handshake does.
s_client() {
	local v=$1
	shift
	timeout 5 openssl s_client -connect "127.0.0.1:$TPORT" "-$v" -cipher 'DEFAULT@SECLEVEL=0' \
		"$@" </dev/null >"$TMP/s_client.out" 2>&1
}
protocol() { sed -n 's/^ *Protocol *: *//p' "$TMP/s_client.out" | head -n 1; }
cipher() { sed -n 's/^New, [^,]*, Cipher is //p' "$TMP/s_client.out" | head -n 1; }
subject_cn() { sed -n 's/^subject=.*CN *= *\([^,]*\).*/\1/p' "$TMP/s_client.out" | head -n 1; }

check "s_client -dtls1_2: handshake completes" s_client dtls1_2
check "s_client -dtls1_2: protocol $(protocol), cipher $(cipher)" \
	test "$(protocol)" = DTLSv1.2 -a "$(cipher)" != "(NONE)"
check "s_client -dtls1_2: the configured certificate ($(subject_cn))" \
	test "$(subject_cn)" = turnpike-one
failed_before=$(metric 'dtls_handshakes_failed_total{reason="error"}')
check_fails "s_client -dtls1 (DTLS 1.0): refused" s_client dtls1
check "... by the server, with a protocol_version alert" \
	grep -q "alert protocol version" "$TMP/s_client.out"
check "... counted as a failed handshake" \
	test "$(metric 'dtls_handshakes_failed_total{reason="error"}')" = $((failed_before + 1))

# A real ClientHello, from s_client to a socket of ours.
CPORT=$("$FREEPORT")
python3 "$HELLO" capture "$CPORT" "$TMP/hello.bin" >"$TMP/capture.out" 2>&1 &
CAP_PID=$!
PIDS="$PIDS $CAP_PID"
within 3000 udp_bound "$CPORT" || fail "capture socket not bound"
timeout 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$CPORT" </dev/null >/dev/null 2>&1 &
SC_PID=$!
PIDS="$PIDS $SC_PID"
wait "$CAP_PID"
check "a ClientHello captured from s_client ($(stat -c %s "$TMP/hello.bin" 2>/dev/null) bytes)" test -s "$TMP/hello.bin"
forget_pid "$CAP_PID"
kill "$SC_PID" 2>/dev/null
wait "$SC_PID" 2>/dev/null
forget_pid "$SC_PID"

# Spoofed sources: ClientHellos from 250 addresses that never echo their
# cookie. Each gets a HelloVerifyRequest and the server keeps nothing: no
# session, no memory. A first round warms the allocator up.
sessions_before=$(metric dtls_sessions_accepted_total)
python3 "$HELLO" burst "$TPORT" "$TMP/hello.bin" 2000 >"$TMP/warm.out" 2>&1
rss0=$(rss_kb "$SERVER_PID")
cookies0=$(metric dtls_cookies_sent_total)
python3 "$HELLO" burst "$TPORT" "$TMP/hello.bin" "$BURST" >"$TMP/burst.out" 2>&1
got=$(tail -n 1 "$TMP/burst.out")
rss1=$(rss_kb "$SERVER_PID")
cookies=$(($(metric dtls_cookies_sent_total) - cookies0))
check "$BURST ClientHellos from 250 sources: $got HelloVerifyRequests came back" \
	test "${got:-0}" -ge $((BURST * 9 / 10))
check "... $cookies cookies sent" test "$cookies" -ge $((BURST * 9 / 10))
check "... no session begun ($(metric dtls_sessions_accepted_total) in all)" \
	test "$(metric dtls_sessions_accepted_total)" = "$sessions_before"
check "... turnpike_dtls_sessions_active is $(metric dtls_sessions_active)" \
	test "$(metric dtls_sessions_active)" = 0
# AddressSanitizer's allocator drifts by some hundreds of kB over such a
# burst even without its quarantine (the plain build stays flat): a wider
# margin there, still well below what 100 bytes kept per ClientHello make.
max_growth=256
grep -q libasan "/proc/$SERVER_PID/maps" && max_growth=1536
check "... RSS flat: $rss0 kB before, $rss1 kB after (at most +$max_growth)" \
	test $((rss1 - rss0)) -le "$max_growth"

# A client that echoes its cookie, gets the server's flight and stalls: a
# session is held until tls-handshake-timeout, then dropped.
accepted0=$(metric dtls_sessions_accepted_total)
python3 "$HELLO" stall "$TPORT" "$TMP/hello.bin" >"$TMP/stall.out" 2>&1 &
STALL_PID=$!
PIDS="$PIDS $STALL_PID"
active() { test "$(metric dtls_sessions_active)" = "$1"; }
accepted() { test "$(metric dtls_sessions_accepted_total)" = "$1"; }
# The counter, not the gauge: on a loaded machine the two seconds the
# session lives may pass between two looks.
check "a stalling client's cookie echoed: a session is begun" \
	within 5000 accepted $((accepted0 + 1))
check "... the server sent its flight" within 1000 grep -qE '^[0-9]+$' "$TMP/stall.out"
check "... dropped at the deadline" within $((HS_TIMEOUT * 1000 + 2000)) active 0
flight_ms=$(grep -E '^[0-9]+$' "$TMP/stall.out" || echo 0)
took=$(($(now_ms) - flight_ms))
check "... after ${took} ms (tls-handshake-timeout ${HS_TIMEOUT} s)" \
	test "$took" -ge $((HS_TIMEOUT * 1000 - 200)) -a "$took" -le $((HS_TIMEOUT * 1000 + 2000))
check "turnpike_dtls_handshakes_failed_total{reason=\"timeout\"} is $(metric 'dtls_handshakes_failed_total{reason="timeout"}')" \
	test "$(metric 'dtls_handshakes_failed_total{reason="timeout"}')" = 1
check "the deadline is logged" grep -q "dtls: closed the session .*no handshake within tls-handshake-timeout" \
	"$TMP/dtls.log"
kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null
forget_pid "$STALL_PID"

# coturn's client relays over DTLS (-S without -t) to a peer on loopback.
PEER=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER" >"$TMP/peer.log" 2>&1 &
PEER_PID=$!
PIDS="$PIDS $PEER_PID"
check "turnutils_peer listens on 127.0.0.1:$PEER" within 5000 udp_bound "$PEER"

field() { v=$(sed -n "$2" "$1" | tail -n 1) && echo "${v:-?}"; }
# uclient NAME N: turnutils_uclient over DTLS with REST credentials, 2
# sessions of N messages; checks that every message came back.
uclient() {
	local name=$1 n=$2 out=$TMP/u-$1.out rc=0 sent recv lost
	timeout 60 turnutils_uclient -S -p "$TPORT" -W s3cr3t -u bob -n "$n" -m 2 -l 120 \
		-e 127.0.0.1 -r "$PEER" 127.0.0.1 >"$out" 2>&1 || rc=$?
	sent=$(field "$out" 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=.*/\1/p')
	recv=$(field "$out" 's/.*start_mclient: tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\)$/\1/p')
	lost=$(field "$out" 's/.*Total lost packets \([0-9]*\) .*/\1/p')
	check "$name: uclient finished (status $rc), sent $sent of $((2 * n))" \
		test "$rc" -eq 0 -a "$sent" = $((2 * n))
	check "$name: received $recv of $sent, lost $lost" test "$recv" = "$sent" -a "$lost" = 0
	if [ "$rc" -ne 0 ] || [ "$recv" != "$sent" ]; then
		tail -n 8 "$out" | sed "s/^/  $name: /"
		curl -s "http://127.0.0.1:$HPORT/metrics" |
			grep -E '^turnpike_(dropped_total|send_errors_total|dtls_)' | grep -v ' 0$' |
			sed "s/^/  $name: /"
	fi
}
uclient dtls 250
relayed() { metric "relay_packets_total{direction=\"$1\",transport=\"dtls\"}"; }
check "the relay went over DTLS: $(relayed client_to_peer) packets to the peer, $(relayed peer_to_client) back" \
	test "$(relayed client_to_peer)" -ge 500 -a "$(relayed peer_to_client)" -ge 500
check "turnpike_dtls_handshakes_total counts the clients ($(metric dtls_handshakes_total))" \
	test "$(metric dtls_handshakes_total)" -ge 3

# A new certificate and SIGHUP: the next DTLS client gets it.
cp "$TMP/cert-two.pem" "$TMP/cert.pem"
cp "$TMP/key-two.pem" "$TMP/key.pem"
kill -HUP "$SERVER_PID"
check "SIGHUP: the certificate is reloaded" within 3000 grep -q "tls: certificate reloaded" "$TMP/dtls.log"
check "after SIGHUP a new DTLS client gets the new certificate" s_client dtls1_2
check "... CN $(subject_cn)" test "$(subject_cn)" = turnpike-two
uclient "after SIGHUP" 20

problems() { log_problems "$TMP/dtls.log"; }
check "no warnings or errors in the server's log" not problems
problems | head -n 5
check "SIGTERM stops the server with status 0" stop_server "$MAIN_PID"

# no-dtls: no DTLS, TLS still served; no-tls: DTLS still served.
TPORT=$("$FREEPORT")
start_server nodtls --tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--no-dtls || fail "server start (no-dtls)"
check_fails "no-dtls: a DTLS client gets no handshake" s_client dtls1_2 -timeout
check "no-dtls: nothing listens on UDP port $TPORT" not udp_bound "$TPORT"
check "no-dtls: TLS is still served" s_client tls1_3
check "SIGTERM stops the no-dtls server with status 0" stop_server "$SERVER_PID"
TPORT=$("$FREEPORT")
HPORT=$("$FREEPORT")
start_server notls --tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--no-tls --allow-loopback-peers --use-auth-secret --static-auth-secret s3cr3t \
	--max-tcp-unauthenticated-per-source 2 --http-listen "$HPORT" ||
	fail "server start (no-tls)"
check "no-tls: DTLS is still served" s_client dtls1_2
check_fails "no-tls: a TLS client is refused" s_client tls1_3
# allow-loopback-peers lets a peer sit beside the server, but not on its
# DTLS port.
"$CTL" turn "127.0.0.1:$PORT" --secret s3cr3t --peer "127.0.0.1:$TPORT" --count 1 \
	--timeout 500 >"$TMP/ctl.out" 2>&1
check "no-tls: a relay to the server's own DTLS port on loopback is refused ($(tail -n 1 "$TMP/ctl.out"))" \
	grep -q "error 403" "$TMP/ctl.out"
# max-tcp-unauthenticated-per-source 2: two stalling sessions from
# 127.0.0.1 are held, a third that echoes its cookie is refused.
for i in 1 2 3; do
	python3 "$HELLO" stall "$TPORT" "$TMP/hello.bin" >"$TMP/stall$i.out" 2>&1 &
	eval "STALL$i=\$!"
	PIDS="$PIDS $!"
	[ "$i" = 3 ] || within 3000 grep -qE '^[0-9]+$' "$TMP/stall$i.out" ||
		fail "stalling session $i not begun: $(cat "$TMP/stall$i.out")"
done
wait "$STALL3"
check "a third session from one source is refused ($(cat "$TMP/stall3.out"))" \
	grep -q "no ServerHello" "$TMP/stall3.out"
check "... turnpike_dtls_sessions_refused_total{reason=\"source\"} is $(metric 'dtls_sessions_refused_total{reason="source"}')" \
	test "$(metric 'dtls_sessions_refused_total{reason="source"}')" = 1
check "... logged" grep -q "dtls: refused a session from 127.0.0.1: .*max-tcp-unauthenticated-per-source" \
	"$TMP/notls.log"
for p in "$STALL1" "$STALL2" "$STALL3"; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	forget_pid "$p"
done
check "SIGTERM stops the no-tls server with status 0" stop_server "$SERVER_PID"

kill -TERM "$PEER_PID" 2>/dev/null
wait "$PEER_PID" 2>/dev/null
forget_pid "$PEER_PID"

# RFC 6347 §4.2.8: a new ClientHello on a live session (its own server).
run_py dtls_reconnect.py --tls-port "$("$FREEPORT")" --cert "$TMP/cert.pem" --key "$TMP/key.pem"
finish
