#!/usr/bin/env bash
# proxy.sh - PROXY protocol v1 and v2 from a trusted balancer on the TCP and
# TLS listeners: the named client is the one the server sees (and counts);
# no header, a bad one or silence closes; an untrusted header is not taken.
. "$(dirname "$0")/lib.sh"

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" ||
	{ fail "openssl makes a test certificate"; finish; }
run_py proxy.py --tls-port "$("$FREEPORT")" --cert "$TMP/cert.pem" --key "$TMP/key.pem"

# A real balancer: HAProxy in TCP mode with send-proxy-v2, and coturn's
# turnutils_uclient relaying through it to a turnutils_peer.
for t in haproxy turnutils_uclient turnutils_peer; do
	command -v "$t" >/dev/null || skip "$t not installed (Debian packages haproxy, coturn)"
done
[ "$skipped" -eq 0 ] || finish
HP=$("$FREEPORT")
HPS=$("$FREEPORT")
TP=$("$FREEPORT")
HTTP=$("$FREEPORT")
start_server behind --proxy-protocol 127.0.0.1 --relay-ip 127.0.0.1 --allow-loopback-peers \
	--realm example.org --user alice:secret --http-listen "$HTTP" \
	--cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --tls-listening-port "$TP" ||
	{ fail "server start (behind HAProxy)"; finish; }
cat >"$TMP/haproxy.cfg" <<CFG
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend turn
	bind 127.0.0.1:$HP
	default_backend turnpiked
backend turnpiked
	server s1 127.0.0.1:$PORT send-proxy-v2
frontend turns
	bind 127.0.0.1:$HPS
	default_backend turnpiked-tls
backend turnpiked-tls
	server s2 127.0.0.1:$TP send-proxy-v2
CFG
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
PEER_PORT=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"
within 5000 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HP" 2>/dev/null
timeout 30 turnutils_uclient -t -p "$HP" -e 127.0.0.1 -r "$PEER_PORT" -m 2 -l 100 -n 20 \
	-u alice -w secret -z 5 127.0.0.1 >"$TMP/uclient.out" 2>&1
uclient_counts "$TMP/uclient.out"
check "turnutils_uclient over TCP through HAProxy relays ($GOT of $SENT back)" \
	test "$SENT" -gt 0 -a "$GOT" = "$SENT"
[ "$SENT" -gt 0 ] && [ "$GOT" = "$SENT" ] || tail -n 15 "$TMP/uclient.out" | sed 's/^/# /'
n=$(curl -s --max-time 5 "http://127.0.0.1:$HTTP/metrics" |
	awk '$1 == "turnpike_proxy_headers_total" { print $2 }')
check "the server took HAProxy's PROXY v2 headers (${n:-0})" test "${n:-0}" -ge 1
# TLS behind the balancer: the PROXY header, then TLS through a filter; the
# connections close with their allocations at the end of the run.
timeout 30 turnutils_uclient -t -S -p "$HPS" -e 127.0.0.1 -r "$PEER_PORT" -m 2 -l 100 -n 20 \
	-u alice -w secret -z 5 127.0.0.1 >"$TMP/uclient-tls.out" 2>&1
uclient_counts "$TMP/uclient-tls.out"
check "turnutils_uclient over TLS through HAProxy relays ($GOT of $SENT back)" \
	test "$SENT" -gt 0 -a "$GOT" = "$SENT"
[ "$SENT" -gt 0 ] && [ "$GOT" = "$SENT" ] || tail -n 15 "$TMP/uclient-tls.out" | sed 's/^/# /'
sleep 0.5
check "the server outlives the TLS connections' close" kill -0 "$SERVER_PID"
check "... and stops cleanly" stop_server "$SERVER_PID"
finish
