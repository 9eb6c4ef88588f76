#!/usr/bin/env bash
# http.sh - turnpiked's HTTP surface: the TURN REST credential hook (its
# credentials relay with coturn's turnutils_uclient and our own client; API
# keys, ttl clamping, expired credentials, CORS, the rate limit, TLS),
# /metrics (promtool-clean, counters that move by exactly what the traffic
# did), /healthz and draining, turnpikectl report, and HTTP clients that
# stall or flood without slowing the TURN workers.
. "$(dirname "$0")/lib.sh"

for t in curl python3 openssl; do
	command -v $t >/dev/null || skip "$t not installed (Debian package $t)"
done
[ "$skipped" -eq 0 ] || finish
HAVE_UCLIENT=1
for t in turnutils_uclient turnutils_peer; do
	command -v $t >/dev/null || HAVE_UCLIENT=0
done
PROBE=$top_builddir/tests/tools/turnprobe

KEY=test-api-key-0123456789
KEY2=second-api-key-0123456789
SECRET=http-test-secret
MAXTTL=3600
RELAY=(--relay-ip 127.0.0.1 --allow-loopback-peers --min-port 20000 --max-port 29999)
REST=(--use-auth-secret --static-auth-secret "$SECRET" --rest-api-key "$KEY"
	--rest-api-key "$KEY2")

# scrape FILE [BASE]: /metrics into FILE.
scrape() { curl -sS -f --max-time 5 "${2:-$HTTP}/metrics" -o "$1"; }
# mval FILE NAME [LABEL="VALUE"]: the sum of NAME's samples (with that label).
mval() {
	awk -v n="$2" -v l="${3:-}" '
		($1 == n || index($1, n "{") == 1) && (l == "" || index($1, l) > 0) { s += $2 }
		END { printf "%d\n", s }' "$1"
}
# delta NAME [LABEL]: how much NAME moved between $TMP/m0 and $TMP/m1.
delta() { echo $(($(mval "$TMP/m1" "$@") - $(mval "$TMP/m0" "$@"))); }
# code URL [curl args]: the HTTP status of a request.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
# py FILE EXPR: a Python expression over the JSON document j in FILE.
py() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# hmac USERNAME [SECRET]: the REST password for USERNAME, computed here.
hmac() {
	python3 -c 'import base64,hashlib,hmac,sys
print(base64.b64encode(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(),
      hashlib.sha1).digest()).decode())' "${2:-$SECRET}" "$1"
}
# metric_is BASE NAME LABEL VALUE: /metrics at BASE has NAME{LABEL} = VALUE.
metric_is() { scrape "$TMP/mw" "$1" && [ "$(mval "$TMP/mw" "$2" "$3")" = "$4" ]; }
until_metric() { within 5000 metric_is "$@"; }
# code_is URL CODE: URL answers with status CODE.
code_is() { [ "$(code "$1")" = "$2" ]; }
# until_code URL CODE: polls for up to 5 s until URL answers CODE; prints
# how many milliseconds that took.
until_code() { within 5000 code_is "$@" && echo "$TOOK"; }
# sha256 STRING: its SHA-256 in hex.
sha256() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
# creds BASE USER [TTL]: fetches credentials; sets U and W.
creds() {
	curl -sS -f --max-time 5 "$1/api/v1/turn/credentials?service=turn&username=$2&ttl=${3:-600}&key=$KEY" \
		-o "$TMP/creds.json" || return 1
	U=$(py "$TMP/creds.json" 'j["username"]')
	W=$(py "$TMP/creds.json" 'j["password"]')
}

# A helper for the hostile clients: many half requests that stall, and
# requests too large for the limits. Bounded in count and time.
cat >"$TMP/hostile.py" <<'PY'
import socket, sys, time
port = int(sys.argv[2])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=15)
def answer(s):
    """The status the server sent and whether it then closed the connection."""
    data = b""
    try:
        while len(data) < 1 << 20:
            d = s.recv(65536)
            if not d:
                return data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "none", True
            data += d
    except OSError:
        pass
    return (data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "none"), False
if sys.argv[1] in ("stall", "silent"):
    # N connections that send half a request ("stall") or never a byte
    # ("silent": a TLS handshake that never starts), then wait for the
    # server to hang up.
    n = int(sys.argv[3])
    socks = [conn() for _ in range(n)]
    t0 = time.monotonic()
    if sys.argv[1] == "stall":
        for s in socks:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    closed, worst = 0, 0.0
    for s in socks:
        # One deadline for all: 15 s after the start.
        s.settimeout(max(0.1, 15 - (time.monotonic() - t0)))
        status, eof = answer(s)
        if eof:
            closed += 1
            worst = max(worst, time.monotonic() - t0)
    print("%d %d" % (closed, int(worst * 1000)))
elif sys.argv[1] == "header":
    s = conn()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    print("%s %s" % answer(s))
elif sys.argv[1] == "body":
    s = conn()
    s.sendall(b"POST /api/v1/turn/credentials HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: 1048576\r\n\r\n")
    try:
        for _ in range(16):
            s.sendall(b"x" * 65536)
    except OSError:
        pass  # the server stopped reading: expected
    print("%s %s" % answer(s))
PY

# ---------------------------------------------------------------------------
# Options: refused when they cannot work.
out=$("$TURNPIKED" --cert "$TMP/c.pem" --check-config /dev/null 2>&1)
check "cert without pkey is refused ($out)" grep -q "cert and pkey go together" <<<"$out"
out=$("$TURNPIKED" --http-listen localhost:80 --check-config /dev/null 2>&1)
check "http-listen takes no host names ($out)" grep -q "is not PORT, IP:PORT" <<<"$out"
out=$("$TURNPIKED" --rest-api-key short --check-config /dev/null 2>&1)
check "a short rest-api-key is refused ($out)" grep -q "16 to 256 printable" <<<"$out"
out=$("$TURNPIKED" --turn-uri http://x --check-config /dev/null 2>&1)
check "a turn-uri must be turn:, turns:, stun: or stuns: ($out)" grep -q "is not a turn:" <<<"$out"
out=$("$TURNPIKED" --rest-cors-origin "https://a/b" --check-config /dev/null 2>&1)
check "a CORS origin has no path ($out)" grep -q "is not \* or an origin" <<<"$out"

out=$(timeout 10 "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$("$FREEPORT")" \
	--http-listen "$("$FREEPORT")" --http-cert "$TMP/missing.pem" --http-pkey "$TMP/missing.pem" 2>&1)
check "an unreadable http-cert stops the start (status $?)" grep -q "http: cannot load http-cert" <<<"$out"

# ---------------------------------------------------------------------------
# The main server: REST secret, two API keys, ttl at most an hour.
HPORT=$("$FREEPORT")
HTTP=http://127.0.0.1:$HPORT
start_server main --http-listen "127.0.0.1:$HPORT" "${REST[@]}" --rest-max-ttl $MAXTTL \
	--rest-rate-limit 1000 --rest-cors-origin https://app.example.org "${RELAY[@]}" ||
	{ fail "server start"; finish; }
MAIN_PID=$SERVER_PID
check "log says where HTTP is served" grep -q "http: serving http on 127.0.0.1:$HPORT" \
	"$TMP/main.log"

# Stalled HTTP clients, in the background while the rest runs: they must
# not hold up STUN/TURN or other HTTP clients, and are dropped after the
# 5 s timeout.
python3 "$TMP/hostile.py" stall "$HPORT" 20 >"$TMP/stall.out" 2>&1 &
STALL_PID=$!
PIDS="$PIDS $STALL_PID"
sleep 0.3
t0=$(date +%s%N)
check "Binding answered while 20 HTTP clients stall" \
	"$CTL" stun "127.0.0.1:$PORT" --count 20 --timeout 1000 --quiet
check "TCP Binding answered while they stall" \
	"$CTL" stun "127.0.0.1:$PORT" --tcp --timeout 1000 --quiet
check "another HTTP client is answered meanwhile" \
	test "$(curl -s --max-time 1 "$HTTP/healthz")" = ok
ms=$((($(date +%s%N) - t0) / 1000000))
check "and all that took $ms ms, well under the HTTP timeout" test $ms -lt 2000

check "/healthz says ok while serving" test "$(curl -s --max-time 5 "$HTTP/healthz")" = ok
check "an unknown path is 404" test "$(code "$HTTP/nope")" = 404
curl -s -D "$TMP/h404" -o /dev/null --max-time 5 "$HTTP/nope"
check "an error answer closes the connection" grep -qi "^Connection: close" "$TMP/h404"
check "DELETE /metrics is 405" test "$(code -X DELETE "$HTTP/metrics")" = 405

# --- credentials -----------------------------------------------------------
scrape "$TMP/m0"
now=$(date +%s)
curl -sS -D "$TMP/h1" -o "$TMP/c1.json" --max-time 5 \
	"$HTTP/api/v1/turn/credentials?service=turn&username=alice&ttl=600&key=$KEY"
check "credentials: 200" grep -q "^HTTP/1.1 200" "$TMP/h1"
check "credentials: application/json" grep -qi "^Content-Type: application/json" "$TMP/h1"
check "credentials: never cached" grep -qi "^Cache-Control: no-store" "$TMP/h1"
check "credentials: exactly username, password, ttl, uris" \
	test "$(py "$TMP/c1.json" '",".join(sorted(j))')" = "password,ttl,uris,username"
user=$(py "$TMP/c1.json" 'j["username"]')
expiry=${user%%:*}
check "credentials: USERNAME is <expiry>:alice ($user)" test "${user#*:}" = alice
check "credentials: expiry is now + 600 ($((expiry - now)))" \
	test $((expiry - now)) -ge 598 -a $((expiry - now)) -le 605
check "credentials: ttl is 600" test "$(py "$TMP/c1.json" 'j["ttl"]')" = 600
check "credentials: password is base64(HMAC-SHA1(secret, USERNAME))" \
	test "$(py "$TMP/c1.json" 'j["password"]')" = "$(hmac "$user")"
URIS="turn:127.0.0.1:$PORT?transport=udp turn:127.0.0.1:$PORT?transport=tcp stun:127.0.0.1:$PORT"
URIS="$URIS turn:[::1]:$PORT?transport=udp turn:[::1]:$PORT?transport=tcp stun:[::1]:$PORT"
check "credentials: uris from the listeners, IPv6 in brackets" \
	test "$(py "$TMP/c1.json" '" ".join(j["uris"])')" = "$URIS"

# ttl: clamped to rest-max-ttl, which is also the default.
now=$(date +%s)
curl -sS -o "$TMP/c2.json" --max-time 5 "$HTTP/api/v1/turn/credentials?username=bob&ttl=999999&api=$KEY"
user=$(py "$TMP/c2.json" 'j["username"]')
check "ttl 999999 is clamped to rest-max-ttl $MAXTTL" test "$(py "$TMP/c2.json" 'j["ttl"]')" = $MAXTTL
check "and the expiry with it ($((${user%%:*} - now)) s)" \
	test $((${user%%:*} - now)) -ge $((MAXTTL - 2)) -a $((${user%%:*} - now)) -le $((MAXTTL + 5))
curl -sS -o "$TMP/c3.json" --max-time 5 "$HTTP/api/v1/turn/credentials?username=bob&key=$KEY2"
check "no ttl: rest-max-ttl (with the second API key)" \
	test "$(py "$TMP/c3.json" 'j["ttl"]')" = $MAXTTL
check "the key in an Authorization: Bearer header works" test "$(code \
	-H "Authorization: Bearer $KEY" "$HTTP/api/v1/turn/credentials?username=carol")" = 200
curl -sS -o "$TMP/c4.json" --max-time 5 -d "username=dave&ttl=60&key=$KEY" \
	"$HTTP/api/v1/turn/credentials"
check "POST with a form body works" test "$(py "$TMP/c4.json" 'j["username"].split(":")[1], j["ttl"]')" = "dave 60"
ISSUED=5

curl -s -D "$TMP/h401" -o "$TMP/e401.json" --max-time 5 \
	"$HTTP/api/v1/turn/credentials?username=alice&key=wrong-key-0123456789"
check "a wrong key is 401" grep -q "^HTTP/1.1 401" "$TMP/h401"
check "with a JSON error" test "$(py "$TMP/e401.json" 'j["error"]')" = "missing or wrong API key"
check "and WWW-Authenticate" grep -qi "^WWW-Authenticate: Bearer" "$TMP/h401"
check "and Connection: close" grep -qi "^Connection: close" "$TMP/h401"
check "a missing key is 401" test "$(code "$HTTP/api/v1/turn/credentials?username=alice")" = 401
check "a key of another server is 401 on ice-servers too" \
	test "$(code "$HTTP/api/v1/turn/ice-servers?username=alice&api=$KEY.x")" = 401
BAD_KEYS=3
# No username (draft-uberti-behave-turn-rest makes it optional; browsers'
# apps mostly send none): USERNAME is "<expiry>:<random tag>", and the
# server's own check takes it for a real Allocate.
now=$(date +%s)
curl -sS -o "$TMP/anon.json" -w '%{http_code}' --max-time 5 \
	"$HTTP/api/v1/turn/credentials?ttl=600&key=$KEY" >"$TMP/anon.code"
check "no username: 200 ($(cat "$TMP/anon.code"))" test "$(cat "$TMP/anon.code")" = 200
user=$(py "$TMP/anon.json" 'j["username"]')
check "no username: USERNAME is <expiry>:<16 hex digits> ($user)" \
	eval '[[ $user =~ ^[0-9]+:[0-9a-f]{16}$ ]] && [ $((${user%%:*} - now)) -ge 598 ] &&
		[ $((${user%%:*} - now)) -le 605 ]'
check "no username: password is base64(HMAC-SHA1(secret, USERNAME))" \
	test "$(py "$TMP/anon.json" 'j["password"]')" = "$(hmac "$user")"
out=$("$CTL" turn "127.0.0.1:$PORT" --user "$user" --password "$(py "$TMP/anon.json" \
	'j["password"]')" --timeout 2000 2>&1)
check "no username: the credentials allocate a relay ($(head -n 1 <<<"$out"))" \
	grep -q "^relayed-address: 127.0.0.1:" <<<"$out"
curl -sS -o "$TMP/anon2.json" --max-time 5 "$HTTP/api/v1/turn/ice-servers?username=&key=$KEY"
user2=$(py "$TMP/anon2.json" 'j["iceServers"][0]["username"]')
check "ice-servers with an empty username: a fresh tag ($user2)" \
	eval '[[ $user2 =~ ^[0-9]+:[0-9a-f]{16}$ ]] && [ "${user2#*:}" != "${user#*:}" ]'
out=$("$CTL" turn "127.0.0.1:$PORT" --tcp --user "$user2" --password "$(py "$TMP/anon2.json" \
	'j["iceServers"][0]["credential"]')" --timeout 2000 2>&1)
check "and those allocate a relay over TCP ($(head -n 1 <<<"$out"))" \
	grep -q "^relayed-address: 127.0.0.1:" <<<"$out"
check "a username with a control character is 400" \
	test "$(code "$HTTP/api/v1/turn/credentials?username=a%01b&key=$KEY")" = 400
check "ttl=0 is 400" test "$(code "$HTTP/api/v1/turn/credentials?username=a&ttl=0&key=$KEY")" = 400
check "ttl=abc is 400" test "$(code "$HTTP/api/v1/turn/credentials?username=a&ttl=abc&key=$KEY")" = 400
check "service=stun is 400" \
	test "$(code "$HTTP/api/v1/turn/credentials?service=stun&username=a&key=$KEY")" = 400
check "PUT is 405" test "$(code -X PUT "$HTTP/api/v1/turn/credentials?username=a&key=$KEY")" = 405

# --- ice-servers: an RTCConfiguration ----------------------------------------
curl -sS -o "$TMP/ice.json" --max-time 5 "$HTTP/api/v1/turn/ice-servers?username=erin&key=$KEY"
check "ice-servers: iceServers and iceTransportPolicy" \
	test "$(py "$TMP/ice.json" '",".join(sorted(j))')" = "iceServers,iceTransportPolicy"
check "ice-servers: one entry with urls, username, credential" \
	test "$(py "$TMP/ice.json" 'len(j["iceServers"]), ",".join(sorted(j["iceServers"][0]))')" = "1 credential,urls,username"
check "ice-servers: the same URLs" \
	test "$(py "$TMP/ice.json" '" ".join(j["iceServers"][0]["urls"])')" = "$URIS"
user=$(py "$TMP/ice.json" 'j["iceServers"][0]["username"]')
check "ice-servers: credential is the REST password of $user" \
	test "$(py "$TMP/ice.json" 'j["iceServers"][0]["credential"]')" = "$(hmac "$user")"
check "ice-servers: policy all by default" \
	test "$(py "$TMP/ice.json" 'j["iceTransportPolicy"]')" = all
curl -sS -o "$TMP/ice2.json" --max-time 5 "$HTTP/api/v1/turn/ice-servers?username=erin&policy=relay&key=$KEY"
check "ice-servers: policy=relay" test "$(py "$TMP/ice2.json" 'j["iceTransportPolicy"]')" = relay
check "ice-servers: policy=bogus is 400" \
	test "$(code "$HTTP/api/v1/turn/ice-servers?username=erin&policy=bogus&key=$KEY")" = 400
ISSUED=$((ISSUED + 4))
BAD_REQ=6

# --- CORS ---------------------------------------------------------------------
curl -s -D "$TMP/hc" -o /dev/null --max-time 5 -H "Origin: https://app.example.org" \
	"$HTTP/api/v1/turn/ice-servers?username=f&key=$KEY"
check "CORS: the configured origin is allowed" \
	grep -qi "^Access-Control-Allow-Origin: https://app.example.org" "$TMP/hc"
curl -s -D "$TMP/hc2" -o /dev/null --max-time 5 -H "Origin: https://evil.example" \
	"$HTTP/api/v1/turn/ice-servers?username=f&key=$KEY"
check_fails "CORS: another origin is not" grep -qi "^Access-Control-Allow-Origin" "$TMP/hc2"
check "CORS: Vary: Origin" grep -qi "^Vary: Origin" "$TMP/hc2"
curl -s -D "$TMP/hp" -o /dev/null --max-time 5 -X OPTIONS -H "Origin: https://app.example.org" \
	-H "Access-Control-Request-Method: GET" "$HTTP/api/v1/turn/credentials"
check "CORS: preflight OPTIONS is 204 without a key" grep -q "^HTTP/1.1 204" "$TMP/hp"
check "CORS: preflight allows GET and POST" \
	grep -qi "^Access-Control-Allow-Methods: GET, POST, OPTIONS" "$TMP/hp"
check "CORS: preflight allows the Authorization header" \
	grep -qi "^Access-Control-Allow-Headers: Authorization" "$TMP/hp"
ISSUED=$((ISSUED + 2))

# --- counters of the HTTP module ---------------------------------------------
scrape "$TMP/m1"
check "credentials issued grew by $ISSUED ($(delta turnpike_rest_credentials_issued_total))" \
	test "$(delta turnpike_rest_credentials_issued_total)" = $ISSUED
check "bad keys grew by $BAD_KEYS" test "$(delta turnpike_rest_bad_key_total)" = $BAD_KEYS
n4=$(($(delta turnpike_http_requests_total 'status="4xx"')))
check "4xx answers of the hook grew by $((BAD_KEYS + BAD_REQ)) ($n4)" test $n4 = $((BAD_KEYS + BAD_REQ))
check "the preflight counts as a 2xx of credentials" \
	test "$(delta turnpike_http_requests_total 'endpoint="credentials",status="2xx"')" = 7
check "every connection is counted ($(delta turnpike_http_connections_total))" \
	test "$(delta turnpike_http_connections_total)" -ge 20
check "HEAD /healthz is 200" test "$(code -I "$HTTP/healthz")" = 200
check "requests to unknown paths are counted" \
	test "$(mval "$TMP/m1" turnpike_http_requests_total 'endpoint="other",status="4xx"')" = 2

# --- /metrics -----------------------------------------------------------------
curl -s -D "$TMP/hm" -o "$TMP/m0" --max-time 5 "$HTTP/metrics"
check "/metrics is the text format 0.0.4" \
	grep -qi "^Content-Type: text/plain; version=0.0.4" "$TMP/hm"
if command -v promtool >/dev/null; then
	check "/metrics passes promtool check metrics" \
		eval 'promtool check metrics <"$TMP/m0" >"$TMP/promtool.out" 2>&1'
	[ -s "$TMP/promtool.out" ] && sed 's/^/  promtool: /' "$TMP/promtool.out"
else
	skip "promtool not installed (Debian package prometheus)"
fi
check "no label names a user or an address" \
	eval '! grep -E "(user|username|addr|ip|peer)=" "$TMP/m0"'
check "relay ports: 10000 in the range x 1 relay address" \
	test "$(mval "$TMP/m0" turnpike_relay_ports_capacity)" = 10000
check "two workers" test "$(mval "$TMP/m0" turnpike_workers)" = 2
"$CTL" stun "127.0.0.1:$PORT" --count 25 --quiet
"$CTL" stun "[::1]:$PORT" --count 5 --quiet
"$CTL" stun "127.0.0.1:$PORT" --tcp --count 4 --quiet
scrape "$TMP/m1"
check "30 UDP Bindings: binding_requests_total{udp} +30 ($(delta turnpike_binding_requests_total 'transport="udp"'))" \
	test "$(delta turnpike_binding_requests_total 'transport="udp"')" = 30
check "4 TCP Bindings: binding_requests_total{tcp} +4" \
	test "$(delta turnpike_binding_requests_total 'transport="tcp"')" = 4
check "4 TCP connections accepted" test "$(delta turnpike_tcp_connections_accepted_total)" = 4
check "the scrape before this one was counted" \
	test "$(delta turnpike_http_requests_total 'endpoint="metrics",status="2xx"')" = 1

# --- the credentials relay: coturn's client --------------------------------------
if [ $HAVE_UCLIENT = 1 ]; then
	PEER=$("$FREEPORT")
	turnutils_peer -L 127.0.0.2 -p "$PEER" >"$TMP/peer.log" 2>&1 &
	PEER_PID=$!
	PIDS="$PIDS $PEER_PID"
	sleep 0.3
	creds "$HTTP" uclient-user 600
	scrape "$TMP/m0"
	out=$(timeout 30 turnutils_uclient -c -m 1 -n 20 -l 100 -u "$U" -w "$W" \
		-e 127.0.0.2 -r "$PEER" -p "$PORT" 127.0.0.1 2>&1)
	rc=$?
	scrape "$TMP/m1"
	lost=$(sed -n 's/.*Total lost packets \([0-9]*\) .*/\1/p' <<<"$out" | tail -n 1)
	recv=$(sed -n 's/.*tot_recv_msgs=\([0-9]*\)$/\1/p' <<<"$out" | tail -n 1)
	check "uclient with the hook's credentials: status $rc, received ${recv:-?} of 20, lost ${lost:-?}" \
		test $rc -eq 0 -a "${recv:-0}" = 20 -a "${lost:-1}" = 0
	created=$(delta turnpike_allocations_created_total 'transport="udp"')
	check "allocations created grew ($created)" test "$created" -ge 1
	check "every allocation made is active, deleted or expired" \
		test "$created" = $(($(delta turnpike_allocations_active) + $(delta \
			turnpike_allocations_deleted_total) + $(delta turnpike_allocations_expired_total)))
	check "one allocation relayed" test "$(delta turnpike_allocations_relayed_total)" = 1
	check "20 packets relayed client to peer" test "$(delta turnpike_relay_packets_total \
		'direction="client_to_peer",transport="udp"')" = 20
	check "20 packets relayed peer to client" test "$(delta turnpike_relay_packets_total \
		'direction="peer_to_client",transport="udp"')" = 20
	check "2000 payload bytes each way" test "$(delta turnpike_relay_bytes_total \
		'direction="client_to_peer"')" = 2000 -a "$(delta turnpike_relay_bytes_total \
		'direction="peer_to_client"')" = 2000
	check "authentications ok grew" test "$(delta turnpike_auth_results_total 'result="ok"')" -ge 1
	check "ended allocations are in the lifetime histogram" \
		test "$(delta turnpike_allocation_lifetime_seconds_count)" = $(($(delta \
			turnpike_allocations_deleted_total) + $(delta turnpike_allocations_expired_total)))

	# An expired credential: right password, expiry in the past.
	user="$(($(date +%s) - 30)):late"
	scrape "$TMP/m0"
	out=$(timeout 20 turnutils_uclient -c -m 1 -n 5 -u "$user" -w "$(hmac "$user")" \
		-e 127.0.0.2 -r "$PEER" -p "$PORT" 127.0.0.1 2>&1)
	rc=$?
	scrape "$TMP/m1"
	check "an expired credential gets no allocation (uclient status $rc)" \
		test $rc -ne 0 -a "$(delta turnpike_allocations_created_total)" = 0
	check "and is counted as expired" \
		test "$(delta turnpike_auth_results_total 'result="expired"')" -ge 1
else
	skip "turnutils_uclient or turnutils_peer not installed (Debian package coturn)"
fi

# ... and the project's own client, when it is built.
if [ -x "$PROBE" ]; then
	creds "$HTTP" probe-user 600
	out=$("$PROBE" 127.0.0.1 "$PORT" relay 20 --user "$U" --password "$W" --no-v6 2>&1)
	rc=$?
	check "turnprobe relays with the hook's credentials (status $rc)" test $rc -eq 0
	[ $rc -eq 0 ] || grep -v "^ok" <<<"$out" | head -n 10 | sed 's/^/  turnprobe: /'
else
	skip "tests/tools/turnprobe not built"
fi

# --- turnpikectl report ---------------------------------------------------------
scrape "$TMP/m1"
out=$("$CTL" report --http "127.0.0.1:$HPORT" 2>&1)
rc=$?
issued=$(mval "$TMP/m1" turnpike_rest_credentials_issued_total)
relayed=$(mval "$TMP/m1" turnpike_allocations_relayed_total)
check "turnpikectl report succeeds (status $rc)" test $rc -eq 0
check "report: credentials issued $issued" grep -q "^credentials-issued: $issued " <<<"$out"
check "report: allocations that relayed $relayed" grep -q "^allocations-relayed: $relayed$" <<<"$out"
rate=$(awk -v r="$relayed" -v i="$issued" 'BEGIN { printf "%.1f", 100 * r / i }')
check "report: relay fallback rate $rate%" grep -q "^relay-fallback-rate: $rate% " <<<"$out"
check "report: serving" grep -q "^server: serving, " <<<"$out"
sed 's/^/  report: /' <<<"$out"
HPORT_NONE=$("$FREEPORT")
out=$("$CTL" report --http "127.0.0.1:$HPORT_NONE" 2>&1)
check "report without a server fails with a reason ($out)" \
	test $? -eq 1 -a -n "$out"

# --- oversized requests ---------------------------------------------------------
out=$(python3 "$TMP/hostile.py" header "$HPORT" 2>&1)
check "a 100 KB header is refused and the connection closed ($out)" \
	grep -Eq "^(400|413) True$" <<<"$out"
out=$(python3 "$TMP/hostile.py" body "$HPORT" 2>&1)
check "a 1 MB body is refused with 413 and the connection closed ($out)" \
	grep -q "^413 True$" <<<"$out"
check "Binding still answered" "$CTL" stun "127.0.0.1:$PORT" --timeout 1000 --quiet

wait "$STALL_PID"
forget_pid "$STALL_PID"
read -r closed worst <"$TMP/stall.out"
check "the 20 stalled clients were dropped (${closed:-?} of 20)" test "${closed:-0}" = 20
check "after the 5 s timeout (last after ${worst:-?} ms)" \
	test "${worst:-0}" -ge 4500 -a "${worst:-0}" -le 9000
out=$(timeout 10 "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$("$FREEPORT")" \
	--http-listen "127.0.0.1:$HPORT" 2>&1)
rc=$?
check "a second server cannot take the HTTP port (status $rc)" \
	eval '[ $rc -eq 1 ] && grep -q "http: cannot listen on 127.0.0.1:$HPORT" <<<"$out"'
check "main server still running" kill -0 "$MAIN_PID"
check "no warnings or errors in its log" not log_problems "$TMP/main.log"
check "SIGTERM stops it with status 0" stop_server "$MAIN_PID"

# ---------------------------------------------------------------------------
# HTTPS on a bare port (loopback), with the rate limit; no REST secret here.
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl req"
HPORT=$("$FREEPORT")
HTTPS=https://127.0.0.1:$HPORT
start_server tls --http-listen "$HPORT" --http-cert "$TMP/cert.pem" --http-pkey "$TMP/key.pem" \
	--rest-api-key "$KEY" --rest-rate-limit 3 --rest-cors-origin '*' ||
	{ fail "server start (TLS)"; finish; }
TLS_PID=$SERVER_PID
python3 "$TMP/hostile.py" silent "$HPORT" 5 >"$TMP/silent.out" 2>&1 &
SILENT_PID=$!
PIDS="$PIDS $SILENT_PID"
check "log says https" grep -q "http: serving https on 127.0.0.1:$HPORT" "$TMP/tls.log"
check "HTTPS /healthz, certificate verified" \
	test "$(curl -s --max-time 5 --cacert "$TMP/cert.pem" "$HTTPS/healthz")" = ok
check_fails "plain HTTP is not served on the TLS port" \
	curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$HPORT/healthz"
curl -s --max-time 5 --cacert "$TMP/cert.pem" "$HTTPS/metrics" -o "$TMP/mt"
if command -v promtool >/dev/null; then
	check "HTTPS /metrics passes promtool" eval 'promtool check metrics <"$TMP/mt" >/dev/null 2>&1'
fi
pm() { awk -v m="$1" '$1 == m { print $2 }' "$TMP/mt"; }
check "process_open_fds $(pm process_open_fds) of process_max_fds $(pm process_max_fds) (the server's: $(ls "/proc/$TLS_PID/fd" | wc -l))" \
	test "$(pm process_open_fds)" -ge 5 -a "$(pm process_open_fds)" -le $(($(ls "/proc/$TLS_PID/fd" | wc -l) + 3)) \
	-a "$(pm process_max_fds)" = "$(awk '/^Max open files/ { print $4 }' "/proc/$TLS_PID/limits")"
check "process_resident_memory_bytes $(pm process_resident_memory_bytes) is about VmRSS ($(rss_kb "$TLS_PID") KiB)" \
	awk -v a="$(pm process_resident_memory_bytes)" -v b="$(rss_kb "$TLS_PID")" \
	'BEGIN { d = a / 1024 - b; exit !(b > 1000 && d < b / 5 && -d < b / 5) }'
check "process_start_time_seconds is turnpike_start_time_seconds ($(pm process_start_time_seconds))" \
	test "$(pm process_start_time_seconds)" = "$(pm turnpike_start_time_seconds)"
check "process_cpu_seconds_total is a number ($(pm process_cpu_seconds_total))" \
	grep -qE '^[0-9]+\.[0-9]{2}$' <<<"$(pm process_cpu_seconds_total)"
# Eight requests at once: three spend the bucket, and one token comes back
# every 333 ms, so a slow machine may see a few more pass: no more than the
# time they took allows.
t0=$(now_ms)
rl_pids=""
for i in 1 2 3 4 5 6 7 8; do
	curl -s -D "$TMP/rl$i.h" -o "$TMP/rl$i.json" -w '%{http_code}' --max-time 5 \
		--cacert "$TMP/cert.pem" "$HTTPS/api/v1/turn/credentials?username=a&key=$KEY" \
		>"$TMP/rl$i.code" &
	rl_pids="$rl_pids $!"
done
# shellcheck disable=SC2086
wait $rl_pids
took=$(($(now_ms) - t0))
codes=$(for f in "$TMP"/rl?.code; do printf '%s ' "$(cat "$f")"; done)
n429=$(grep -o 429 <<<"$codes" | wc -l)
n503=$(grep -o 503 <<<"$codes" | wc -l)
check "rate limit 3/s: three answers, the rest 429 ($codes in $took ms)" \
	eval '[ $((n429 + n503)) = 8 ] && [ $n503 -ge 3 ] && [ $n503 -le $((3 + took / 333)) ] &&
		[ $n429 -ge 1 ]'
check "no REST secret: 503 with a JSON reason" test "$(py "$(grep -l 503 "$TMP"/rl?.code |
	head -n 1 | sed 's/code$/json/')" 'j["error"]')" = \
	"no REST secret configured (use-auth-secret, static-auth-secret)"
rl=$(grep -l 429 "$TMP"/rl?.code | head -n 1)
rl=${rl%.code}
check "429 has a JSON reason" test "$(py "${rl:-none}.json" 'j["error"]')" = "rate limit exceeded"
check "429 says when to retry" grep -qi "^Retry-After: 1" "${rl:-none}.h"
sleep 1.1
check "a second later the bucket has refilled" test "$(code --cacert "$TMP/cert.pem" \
	"$HTTPS/api/v1/turn/credentials?username=a&key=$KEY")" = 503
check "/metrics and /healthz are not rate limited" test "$(for i in 1 2 3 4 5 6; do
	code --cacert "$TMP/cert.pem" "$HTTPS/healthz"; echo; done | sort -u)" = 200
curl -s --max-time 5 --cacert "$TMP/cert.pem" "$HTTPS/metrics" -o "$TMP/mt"
check "rate-limited requests are counted ($(mval "$TMP/mt" turnpike_rest_rate_limited_total))" \
	test "$(mval "$TMP/mt" turnpike_rest_rate_limited_total)" = $n429
curl -s -D "$TMP/hs" -o /dev/null --max-time 5 --cacert "$TMP/cert.pem" -X OPTIONS \
	-H "Origin: https://anywhere.example" "$HTTPS/api/v1/turn/ice-servers"
check "rest-cors-origin *: any origin" grep -qi "^Access-Control-Allow-Origin: \*" "$TMP/hs"
wait "$SILENT_PID"
forget_pid "$SILENT_PID"
read -r closed worst <"$TMP/silent.out"
check "5 clients that never start the TLS handshake are dropped (${closed:-?} of 5)" \
	test "${closed:-0}" = 5
check "after the 5 s timeout (last after ${worst:-?} ms)" \
	test "${worst:-0}" -ge 4500 -a "${worst:-0}" -le 9000
check "SIGTERM stops the TLS server with status 0" stop_server "$TLS_PID"

# ---------------------------------------------------------------------------
# With Redis: the hook signs with the newest secret, Redis's included, and
# /metrics says whether Redis is up.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	RPORT=$("$FREEPORT")
	redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
		--daemonize no >"$TMP/redis-server.log" 2>&1 &
	REDIS_PID=$!
	PIDS="$PIDS $REDIS_PID"
	for i in $(seq 1 50); do
		redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	printf 'realm=example.org\nredis-userdb=redis://127.0.0.1:%s/5\n' "$RPORT" >"$TMP/redis.conf"
	REDIS_SECRET=secret-from-redis-0123
	check "a REST secret added to Redis" "$CTL" -c "$TMP/redis.conf" secret add "$REDIS_SECRET"
	HPORT=$("$FREEPORT")
	HTTP=http://127.0.0.1:$HPORT
	# API keys from Redis only: none in the configuration.
	RKEY=$("$CTL" -c "$TMP/redis.conf" apikey add)
	check "apikey add makes a 256-bit key (${#RKEY} base64url characters)" \
		eval '[[ $RKEY =~ ^[A-Za-z0-9_-]{43}$ ]]'
	check "apikey list shows its SHA-256, not the key" test \
		"$("$CTL" -c "$TMP/redis.conf" apikey list)" = "$(sha256 "$RKEY")"
	start_server redis -c "$TMP/redis.conf" --http-listen "127.0.0.1:$HPORT" \
		--use-auth-secret --static-auth-secret "$SECRET" ||
		{ fail "server start (redis)"; finish; }
	check "redis: /metrics says userdb is up" \
		until_metric "$HTTP" turnpike_redis_up 'db="userdb"' 1
	check "redis: and statsdb (the same Redis)" \
		until_metric "$HTTP" turnpike_redis_up 'db="statsdb"' 1
	CREDS="$HTTP/api/v1/turn/credentials?service=turn&username=u"
	check "redis: the API key from Redis opens the hook" until_code "$CREDS&key=$RKEY" 200
	check "redis: a key only other servers were configured with does not" \
		test "$(code "$CREDS&key=$KEY")" = 401
	"$CTL" -c "$TMP/redis.conf" apikey add "$KEY2" >/dev/null
	ms=$(until_code "$CREDS&key=$KEY2" 200)
	check "redis: a key added while running works ${ms} ms later" test -n "$ms"
	"$CTL" -c "$TMP/redis.conf" apikey remove "$RKEY" >/dev/null
	ms=$(until_code "$CREDS&key=$RKEY" 401)
	check "redis: a removed key is refused ${ms} ms later" test -n "$ms"
	check "redis: removing it again fails" \
		eval '! "$CTL" -c "$TMP/redis.conf" apikey remove "$RKEY" 2>/dev/null' 
	redis-cli -p "$RPORT" -n 5 SADD turnpike:realm/example.org/api-keys not-a-digest >/dev/null
	redis-cli -p "$RPORT" -n 5 PUBLISH turnpike:invalidate x >/dev/null
	check "redis: a member that is not a digest is logged and ignored" \
		within 5000 grep -q "not 64 hex digits" "$TMP/redis.log"
	check "redis: the other key still works" test "$(code "$CREDS&key=$KEY2")" = 200
	"$CTL" -c "$TMP/redis.conf" apikey remove --digest "$(sha256 "$KEY2")" >/dev/null
	ms=$(until_code "$CREDS&key=$KEY2" 503)
	check "redis: no key left: the hook answers 503 (${ms} ms)" test -n "$ms"
	"$CTL" -c "$TMP/redis.conf" apikey add "$KEY2" >/dev/null
	check "redis: added back" until_code "$CREDS&key=$KEY2" 200
	KEY=$KEY2
	creds "$HTTP" redis-user 600
	check "redis: the hook signs with Redis's secret, the newest" \
		test "$W" = "$(hmac "$U" "$REDIS_SECRET")"
	kill -TERM "$REDIS_PID"
	wait "$REDIS_PID"
	forget_pid "$REDIS_PID"
	check "redis: Redis gone, /metrics says userdb is down" \
		until_metric "$HTTP" turnpike_redis_up 'db="userdb"' 0
	creds "$HTTP" redis-user 600
	check "redis: the hook still signs with the secret it loaded" \
		test "$W" = "$(hmac "$U" "$REDIS_SECRET")"
	check "SIGTERM stops the Redis server's turnpiked with status 0" stop_server "$SERVER_PID"
else
	skip "redis-server not installed (Debian package redis-server)"
fi

# ---------------------------------------------------------------------------
# Draining: SIGTERM with drain-seconds keeps relaying for the existing
# allocations, refuses new ones (508) and fails /healthz, then stops.
DRAIN=8 # long enough for the checks below on a loaded machine
HPORT=$("$FREEPORT")
HTTP=http://127.0.0.1:$HPORT
start_server drain --http-listen "127.0.0.1:$HPORT" "${REST[@]}" --drain-seconds $DRAIN \
	"${RELAY[@]}" --turn-uri "turns:[2001:db8::1]:443?transport=tcp" \
	--turn-uri "stun:turn.example.org" || { fail "server start (drain)"; finish; }
DRAIN_PID=$SERVER_PID
creds "$HTTP" someone 60
check "turn-uri lines are handed out as they are" test "$(py "$TMP/creds.json" \
	'" ".join(j["uris"])')" = "turns:[2001:db8::1]:443?transport=tcp stun:turn.example.org"
if [ $HAVE_UCLIENT = 1 ]; then
	creds "$HTTP" streamer 600
	# A long stream: 400 packets, one each 20 ms.
	timeout 30 turnutils_uclient -c -m 1 -n 400 -z 20 -l 100 -u "$U" -w "$W" \
		-e 127.0.0.2 -r "$PEER" -p "$PORT" 127.0.0.1 >"$TMP/stream.out" 2>&1 &
	STREAM_PID=$!
	PIDS="$PIDS $STREAM_PID"
	flowing=0
	for i in $(seq 1 100); do
		scrape "$TMP/m0"
		[ "$(mval "$TMP/m0" turnpike_relay_packets_total)" -gt 0 ] && { flowing=1; break; }
		sleep 0.1
	done
	check "the stream relays before the signal" test $flowing = 1
fi
t0=$(date +%s%N)
kill -TERM "$DRAIN_PID"
state=""
for i in $(seq 1 20); do
	state=$(curl -s --max-time 1 -w ' %{http_code}' "$HTTP/healthz")
	[ "$state" = "draining
 503" ] && break
	sleep 0.05
done
check "draining: /healthz is 503 draining" test "$state" = "draining
 503"
check "draining: Binding still answered" "$CTL" stun "127.0.0.1:$PORT" --timeout 1000 --quiet
if [ $HAVE_UCLIENT = 1 ]; then
	scrape "$TMP/m0"
	creds "$HTTP" latecomer 600
	t1=$(date +%s%N)
	out=$(timeout 10 turnutils_uclient -c -m 1 -n 5 -u "$U" -w "$W" \
		-e 127.0.0.2 -r "$PEER" -p "$PORT" 127.0.0.1 2>&1)
	rc=$?
	t1=$((($(date +%s%N) - t1) / 1000000))
	sleep 0.5
	scrape "$TMP/m1"
	check "draining: a new Allocate is refused (uclient status $rc after $t1 ms)" \
		test $rc -ne 0 -a "$(delta turnpike_allocations_created_total)" = 0
	check "draining: with 508 ($(delta turnpike_error_responses_total 'code="508"'))" \
		test "$(delta turnpike_error_responses_total 'code="508"')" -ge 1
	check "draining: the existing allocation still relays (+$(delta turnpike_relay_packets_total) packets)" \
		test "$(delta turnpike_relay_packets_total)" -gt 0
	check "draining: the metrics say so" test "$(mval "$TMP/m1" turnpike_draining)" = 1
fi
check "draining: still running before the drain is over" kill -0 "$DRAIN_PID"
for i in $(seq 1 $(((DRAIN + 5) * 10))); do
	kill -0 "$DRAIN_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$DRAIN_PID"
rc=$?
forget_pid "$DRAIN_PID"
ms=$((($(date +%s%N) - t0) / 1000000))
check "the server stops after the drain, status $rc, $ms ms after the signal" \
	test $rc -eq 0 -a $ms -ge $((DRAIN * 1000 - 200)) -a $ms -le $(((DRAIN + 3) * 1000))
check "log: draining, then drain over" \
	eval 'grep -q "draining for $DRAIN s" "$TMP/drain.log" && grep -q "drain over" "$TMP/drain.log"'
if [ $HAVE_UCLIENT = 1 ]; then
	kill -TERM "$STREAM_PID" 2>/dev/null
	wait "$STREAM_PID" 2>/dev/null
	forget_pid "$STREAM_PID"
fi

# drain-seconds is reloadable; a second signal during the drain stops at
# once. HTTP on IPv6 loopback here.
HPORT=$("$FREEPORT")
printf 'drain-seconds=0\n' >"$TMP/drain2.conf"
start_server drain2 -c "$TMP/drain2.conf" --http-listen "[::1]:$HPORT" ||
	{ fail "server start (drain2)"; finish; }
check "HTTP on [::1]:$HPORT" test "$(curl -s --max-time 5 "http://[::1]:$HPORT/healthz")" = ok
printf 'drain-seconds=60\n' >"$TMP/drain2.conf"
kill -HUP "$SERVER_PID"
for i in $(seq 1 50); do
	grep -q "configuration reloaded" "$TMP/drain2.log" && break
	sleep 0.1
done
kill -TERM "$SERVER_PID"
sleep 0.3
check "after SIGHUP with drain-seconds 60, SIGTERM drains: still running" kill -0 "$SERVER_PID"
check "and /healthz says so" test "$(code "http://[::1]:$HPORT/healthz")" = 503
t0=$(date +%s%N)
check "a second signal stops it with status 0" stop_server "$SERVER_PID"
ms=$((($(date +%s%N) - t0) / 1000000))
check "at once ($ms ms)" test $ms -lt 2000
finish
