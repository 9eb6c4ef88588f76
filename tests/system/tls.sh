#!/usr/bin/env bash
# tls.sh - TURN over TLS (turns:): coturn's turnutils_uclient relays over TLS
# to a turnutils_peer with nothing lost; openssl s_client sees TLS 1.3 and
# 1.2 accepted, TLS 1.1 refused and the configured certificate, the new one
# after the files are replaced and SIGHUP (while a relay begun before goes
# on) or after they change on disk; a client stalling in the handshake is
# dropped at the deadline and one source's unauthenticated connections are
# capped; with cert, pkey and http-listen, /metrics stays plain HTTP and the
# credential hook lists turns: URIs; CA-file, ec-curve-name, cipher-list.
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer openssl curl ss; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

MIN_PORT=20000 # below the ephemeral range, as in turn_uclient.sh
MAX_PORT=29999
HS_TIMEOUT=2
PER_SOURCE=3
KEY=tls-test-api-key-0123456789

# Two self-signed certificates told apart by their names.
for n in one two; do
	make_cert "turnpike-$n" "$TMP/cert-$n.pem" "$TMP/key-$n.pem" || fail "openssl req ($n)"
done
cp "$TMP/cert-one.pem" "$TMP/cert.pem"
cp "$TMP/key-one.pem" "$TMP/key.pem"

TPORT=$("$FREEPORT") && HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
start_server tls --min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers \
	--realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-handshake-timeout "$HS_TIMEOUT" --max-tcp-unauthenticated-per-source "$PER_SOURCE" \
	--http-listen "$HPORT" --rest-api-key "$KEY" --log-level debug ||
	{ fail "server start"; finish; }
MAIN_PID=$SERVER_PID

metric() { curl -s "http://127.0.0.1:$HPORT/metrics" | awk -v m="turnpike_$1" '$1 == m { print $2 }'; }

# s_client VERSION: one handshake with openssl s_client, its output in
# $TMP/s_client.out; fails when the handshake does.
s_client() {
	local v=$1
	shift
	timeout 5 openssl s_client -connect "127.0.0.1:$TPORT" "-$v" -cipher 'DEFAULT@SECLEVEL=0' \
		"$@" </dev/null >"$TMP/s_client.out" 2>&1
}
protocol() { sed -n 's/^New, \(TLSv1\.[0-9]\), .*/\1/p' "$TMP/s_client.out" | head -n 1; }
subject_cn() { sed -n 's/^subject=.*CN *= *\([^,]*\).*/\1/p' "$TMP/s_client.out" | head -n 1; }

for v in tls1_3 tls1_2; do
	check "s_client -$v: handshake completes" s_client $v
	check "s_client -$v: protocol $(protocol)" test "$(protocol)" = "TLSv1.${v#tls1_}"
	check "s_client -$v: the configured certificate ($(subject_cn))" \
		test "$(subject_cn)" = turnpike-one
done
check_fails "s_client -tls1_1: refused" s_client tls1_1
check "s_client -tls1_1: the server answers with a protocol_version alert" \
	grep -q "alert protocol version" "$TMP/s_client.out"

# /metrics on plain HTTP although cert and pkey are set (they are TURN's).
check "/metrics answers over plain HTTP with cert and pkey set" \
	curl -sf -o "$TMP/metrics" "http://127.0.0.1:$HPORT/metrics"

# The credential hook lists turns: on the TLS port of each listening address.
curl -s "http://127.0.0.1:$HPORT/api/v1/turn/ice-servers?key=$KEY" >"$TMP/ice.json"
check "ice-servers lists turns:127.0.0.1:$TPORT?transport=tcp" \
	grep -qF "\"turns:127.0.0.1:$TPORT?transport=tcp\"" "$TMP/ice.json"
check "ice-servers lists turns:[::1]:$TPORT?transport=tcp" \
	grep -qF "\"turns:[::1]:$TPORT?transport=tcp\"" "$TMP/ice.json"
curl -s "http://127.0.0.1:$HPORT/api/v1/turn/credentials?key=$KEY" >"$TMP/creds.json"
check "credentials lists turns:127.0.0.1:$TPORT?transport=tcp" \
	grep -qF "\"turns:127.0.0.1:$TPORT?transport=tcp\"" "$TMP/creds.json"
grep -qF "turns:" "$TMP/ice.json" || sed 's/^/  ice-servers: /' "$TMP/ice.json"

# allow-loopback-peers lets a peer sit beside the server, but not on its
# TLS port.
"$CTL" turn "127.0.0.1:$PORT" --secret s3cr3t --peer "127.0.0.1:$TPORT" --count 1 \
	--timeout 500 >"$TMP/ctl.out" 2>&1
check "a relay to the server's own TLS port on loopback is refused ($(tail -n 1 "$TMP/ctl.out"))" \
	grep -q "error 403" "$TMP/ctl.out"

# A client that connects and stalls in the handshake (a record header, then
# nothing), PER_SOURCE of them from 127.0.0.1: one more is refused at once,
# and the stalled ones are dropped at the deadline.
# eof_within MS FD: the server closes FD within MS milliseconds.
eof_within() { timeout "$(($1 / 1000)).$(($1 % 1000 / 100))" cat <&"$2" >/dev/null; }
accepted() { test "$(metric tls_connections_accepted_total)" = "$1"; }
before=$(metric tls_connections_accepted_total)
t0=$(now_ms)
for fd in 5 6 7; do
	eval "exec $fd<>/dev/tcp/127.0.0.1/$TPORT"
	printf '\026\003\001\002\000' >&$fd
done
# The workers accept in their own time: the next one must come after these.
check "the $PER_SOURCE stalling connections are accepted" within 1000 accepted $((before + 3))
exec 8<>/dev/tcp/127.0.0.1/"$TPORT"
check "connection $((PER_SOURCE + 1)) from one source before they authenticate: closed at once" \
	eof_within 1000 8
exec 8<&-
check "stalled handshake 1 dropped" eof_within $((HS_TIMEOUT * 1000 + 2000)) 5
took=$(($(now_ms) - t0))
check "... after ${took} ms (tls-handshake-timeout ${HS_TIMEOUT} s)" \
	test "$took" -ge $((HS_TIMEOUT * 1000 - 200)) -a "$took" -le $((HS_TIMEOUT * 1000 + 2000))
check "stalled handshakes 2 and 3 dropped too" eof_within 1000 6
eof_within 1000 7 || fail "stalled handshake 3 still open"
exec 5<&- 6<&- 7<&-
check "turnpike_tls_handshakes_failed_total{reason=\"timeout\"} is 3 ($(metric 'tls_handshakes_failed_total{reason="timeout"}'))" \
	test "$(metric 'tls_handshakes_failed_total{reason="timeout"}')" = 3
check "turnpike_tcp_connections_refused_source_total is 1 ($(metric tcp_connections_refused_source_total))" \
	test "$(metric tcp_connections_refused_source_total)" = 1
check "the deadline is logged" grep -q "no handshake within tls-handshake-timeout" "$TMP/tls.log"

# udp_bound PORT: a UDP socket is bound to 127.0.0.1:PORT.
udp_bound() { ss -Hnlu "sport = :$1" | awk '{ print $4 }' | grep -qxF "127.0.0.1:$1"; }
PEER=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER" >"$TMP/peer.log" 2>&1 &
PEER_PID=$!
PIDS="$PIDS $PEER_PID"
check "turnutils_peer listens on 127.0.0.1:$PEER" within 5000 udp_bound "$PEER"

# uclient NAME N ARGS...: turnutils_uclient over TLS (-S -t) with REST
# credentials, 2 sessions of N messages, in the background (UPID).
uclient() {
	local name=$1 n=$2
	shift 2
	timeout 60 turnutils_uclient -S -t -p "$TPORT" -W s3cr3t -u bob -n "$n" -m 2 -l 120 \
		"$@" 127.0.0.1 >"$TMP/u-$name.out" 2>&1 &
	UPID=$!
	PIDS="$PIDS $UPID"
}
field() { v=$(sed -n "$2" "$1" | tail -n 1) && echo "${v:-?}"; }
# uclient_done NAME PID: uclient finished, and every message came back.
uclient_done() {
	local out=$TMP/u-$1.out rc sent recv lost
	wait "$2"
	rc=$?
	forget_pid "$2"
	sent=$(field "$out" 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=.*/\1/p')
	recv=$(field "$out" 's/.*start_mclient: tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\)$/\1/p')
	lost=$(field "$out" 's/.*Total lost packets \([0-9]*\) .*/\1/p')
	check "$1: uclient finished (status $rc), sent $sent of $3" test "$rc" -eq 0 -a "$sent" = "$3"
	check "$1: received $recv of $sent, lost $lost" test "$recv" = "$sent" -a "$lost" = 0
	if [ "$rc" -ne 0 ] || [ "$recv" != "$sent" ]; then
		tail -n 8 "$out" | sed "s/^/  $1: /"
		# Where it went: the server's drops and the kernel's UDP errors.
		curl -s "http://127.0.0.1:$HPORT/metrics" |
			grep -E '^turnpike_(dropped_total|send_errors_total|relay_)' | grep -v ' 0$' |
			sed "s/^/  $1: /"
		grep '^Udp:' /proc/net/snmp | sed "s/^/  $1: /"
	fi
}

# A long run over TLS starts; while it relays the certificate files are
# replaced and the server is told with SIGHUP.
uclient before 250 -e 127.0.0.1 -r "$PEER"
LONG=$UPID
check "the run begun before relays" \
	within 12000 grep -q "tot_send_msgs=[1-9]" "$TMP/u-before.out"
cp "$TMP/cert-two.pem" "$TMP/cert.pem"
cp "$TMP/key-two.pem" "$TMP/key.pem"
kill -HUP "$SERVER_PID"
check "SIGHUP: the certificate is reloaded" within 3000 grep -q "tls: certificate reloaded" "$TMP/tls.log"
check "after SIGHUP a new client gets the new certificate" s_client tls1_3
check "... CN $(subject_cn)" test "$(subject_cn)" = turnpike-two
check "the run begun before is still going" kill -0 "$LONG"
uclient after 20 -e 127.0.0.1 -r "$PEER"
AFTER=$UPID
uclient_done before "$LONG" 500
uclient_done after "$AFTER" 40
# A renewal on disk and no signal: new clients get it within a few seconds.
cp "$TMP/cert-one.pem" "$TMP/cert.pem"
cp "$TMP/key-one.pem" "$TMP/key.pem"
cn_is() { s_client tls1_3 && [ "$(subject_cn)" = "$1" ]; }
check "cert and pkey replaced on disk, no SIGHUP: a new client gets the new certificate" \
	within 8000 cn_is turnpike-one
check "... after ${TOOK:-?} ms, logged" grep -q "tls: .* changed on disk" "$TMP/tls.log"
check "turnpike_tls_handshakes_total counts them ($(metric tls_handshakes_total))" \
	test "$(metric tls_handshakes_total)" -ge 5

# A second server: CA-file (client certificates optional, verified when
# presented), ec-curve-name and cipher-list.
make_cert turnpike-test-ca "$TMP/ca.pem" "$TMP/ca-key.pem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=client \
	-keyout "$TMP/client-key.pem" -out "$TMP/client.csr" >/dev/null 2>&1
openssl x509 -req -in "$TMP/client.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca-key.pem" \
	-CAcreateserial -days 2 -out "$TMP/client.pem" >/dev/null 2>&1 || fail "client certificate"
MAIN_TPORT=$TPORT
TPORT=$("$FREEPORT")
start_server ca --tls-listening-port "$TPORT" --cert "$TMP/cert-one.pem" \
	--pkey "$TMP/key-one.pem" --CA-file "$TMP/ca.pem" --ec-curve-name prime256v1 \
	--cipher-list ECDHE-ECDSA-AES256-GCM-SHA384 || fail "server start (CA-file)"
CA_PID=$SERVER_PID
check "CA-file: a client without a certificate is served" s_client tls1_3
check "CA-file: a client with a certificate the CA signed is served" \
	s_client tls1_3 -cert "$TMP/client.pem" -key "$TMP/client-key.pem"
check "... and the server asked for one from that CA" \
	grep -q "^/\?CN *= *turnpike-test-ca" "$TMP/s_client.out"
check_fails "CA-file: a client with a certificate from elsewhere is refused" \
	s_client tls1_2 -cert "$TMP/cert-two.pem" -key "$TMP/key-two.pem"
check_fails "ec-curve-name prime256v1: a client offering only X25519 is refused" \
	s_client tls1_3 -groups X25519
check "ec-curve-name prime256v1: a client offering P-256 is served" s_client tls1_3 -groups P-256
check "cipher-list: TLS 1.2 uses it" s_client tls1_2
check "... ($(sed -n 's/^New, TLSv1.2, Cipher is //p' "$TMP/s_client.out"))" \
	grep -q "^New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" "$TMP/s_client.out"
check_fails "cipher-list: a TLS 1.2 client offering only other suites is refused" \
	s_client tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
check "SIGTERM stops the CA-file server with status 0" stop_server "$CA_PID"
TPORT=$MAIN_TPORT
SERVER_PID=$MAIN_PID
check "server still running" kill -0 "$SERVER_PID"
# problems: the log's warnings and errors but for the refusal asked for.
problems() { log_problems "$TMP/tls.log" | grep -v "already holds $PER_SOURCE that have not authenticated"; }
check "no other warnings or errors in the server's log" not problems
problems | head -n 5
check "SIGTERM stops the server with status 0" stop_server "$SERVER_PID"

# coturn's no-tlsv1_2: TLS 1.3 alone.
TPORT=$("$FREEPORT")
start_server v13 --tls-listening-port "$TPORT" --cert "$TMP/cert-one.pem" \
	--pkey "$TMP/key-one.pem" --no-tlsv1_2 || fail "server start (no-tlsv1_2)"
check_fails "no-tlsv1_2: a TLS 1.2 client is refused" s_client tls1_2
v13() { s_client tls1_3 && grep -q "TLSv1.3" "$TMP/s_client.out"; }
check "no-tlsv1_2: TLS 1.3 is served" v13
check "SIGTERM stops the no-tlsv1_2 server with status 0" stop_server "$SERVER_PID"
kill -TERM "$PEER_PID" 2>/dev/null
wait "$PEER_PID" 2>/dev/null
forget_pid "$PEER_PID"
finish
