#!/usr/bin/env bash
# peer_servers.sh - turnpike-peer's --ice-servers input (src/peer/servers.c
# through tests/tools/peerservers) against the real REST hook of turnpiked:
# both JSON forms over http, and over https with the certificate verified
# (name and IP) or refused; the credentials read from it allocate a relay;
# a wrong API key, a silent server and a bad URL fail with the reason.
. "$(dirname "$0")/lib.sh"

PS=$top_builddir/tests/tools/peerservers
KEY=peer-servers-api-key-0123
SECRET=s3cr3t

HPORT=$("$FREEPORT")
start_server plain --realm example.org --use-auth-secret --static-auth-secret "$SECRET" \
	--rest-api-key "$KEY" --http-listen "127.0.0.1:$HPORT" --relay-ip 127.0.0.1 || finish
H=http://127.0.0.1:$HPORT
# load_to NAME SRC MS [FLAGS]: peerservers load, its output in $TMP/NAME.out
# and its errors in $TMP/NAME.err; CA=FILE: trust FILE (SSL_CERT_FILE).
load_to() {
	local name=$1
	shift
	env ${CA:+SSL_CERT_FILE="$CA"} "$PS" load "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}

# ---- http: the WebRTC form ----
check "ice-servers over http" load_to ice "$H/api/v1/turn/ice-servers?key=$KEY" 3000 creds
sed 's/ [^ ]*$/ (password)/; s/^/  /' "$TMP/ice.out"
check "ice-servers: a UDP TURN server on 127.0.0.1:$PORT" \
	grep -q "^turn udp 127.0.0.1:$PORT 127.0.0.1 [0-9]*:[0-9a-f]* turn:127.0.0.1:$PORT?transport=udp " \
	"$TMP/ice.out"
check "ice-servers: a TCP TURN server on [::1]:$PORT" \
	grep -q "^turn tcp \[::1\]:$PORT ::1 " "$TMP/ice.out"
check "ice-servers: a STUN server without credentials" \
	grep -q "^stun udp 127.0.0.1:$PORT 127.0.0.1 - stun:127.0.0.1:$PORT -$" "$TMP/ice.out"
# The credentials as read allocate a relay (the JSON was read right).
read -r _ _ _ _ user _ pass < <(grep "^turn udp 127.0.0.1:" "$TMP/ice.out")
check "ice-servers: its credentials allocate a relay" \
	"$CTL" turn "127.0.0.1:$PORT" --user "$user" --password "$pass" --timeout 2000
check_fails "... and a wrong password does not" \
	"$CTL" turn "127.0.0.1:$PORT" --user "$user" --password "x$pass" --timeout 2000

# ---- http: draft-uberti, with the key as a bearer token's stand-in ----
check "credentials over http" load_to creds "$H/api/v1/turn/credentials?key=$KEY" 3000 creds
check "credentials: the same servers" test "$(wc -l <"$TMP/creds.out")" -eq "$(wc -l <"$TMP/ice.out")"
read -r _ _ _ _ user _ pass < <(grep "^turn udp 127.0.0.1:" "$TMP/creds.out")
check "credentials: they allocate a relay" \
	"$CTL" turn "127.0.0.1:$PORT" --user "$user" --password "$pass" --timeout 2000

# ---- refusals ----
check_fails "a wrong API key fails" load_to wrong "$H/api/v1/turn/ice-servers?key=wrong-key-wrong-key" \
	3000
check "... saying HTTP 401, without the key" \
	grep -q "127.0.0.1:$HPORT/api/v1/turn/ice-servers: HTTP 401" "$TMP/wrong.err"
check_fails "... and the key is not in the message" grep -q "wrong-key" "$TMP/wrong.err"
check_fails "a bad URL fails" "$PS" load "http://127.0.0.1:0/x" 1000
# A server that accepts and never answers: the timeout, not more.
cat >"$TMP/silent.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
time.sleep(5)
PY
/usr/bin/python3 "$TMP/silent.py" >"$TMP/silent.port" &
spid=$!
PIDS="$PIDS $spid"
within 3000 test -s "$TMP/silent.port"
t0=$(now_ms)
check_fails "a silent server fails" load_to silent "http://127.0.0.1:$(cat "$TMP/silent.port")/" 500
took=$(($(now_ms) - t0))
check "... within 500..2000 ms (took $took), saying why" \
	test "$took" -ge 500 -a "$took" -lt 2000 -a -n "$(grep 'in time' "$TMP/silent.err")"
stop_server "$SERVER_PID"

# ---- https: the REST hook with its own certificate ----
if ! make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" ||
	! make_cert localhost "$TMP/lh.pem" "$TMP/lhkey.pem"; then
	fail "openssl cannot make a test certificate"
	finish
fi
HPORT=$("$FREEPORT")
start_server tls --realm example.org --use-auth-secret --static-auth-secret "$SECRET" \
	--rest-api-key "$KEY" --http-listen "127.0.0.1:$HPORT" --http-cert "$TMP/cert.pem" \
	--http-pkey "$TMP/key.pem" --relay-ip 127.0.0.1 || finish
U="https://127.0.0.1:$HPORT/api/v1/turn/ice-servers?key=$KEY"
check_fails "https: a certificate outside the trust store is refused" load_to untrusted "$U" 3000
check "... saying it is the certificate" grep -q "TLS: certificate" "$TMP/untrusted.err"
CA=$TMP/cert.pem check "https: trusted through SSL_CERT_FILE, with the IP address checked" \
	load_to trusted "$U" 3000
check "... giving the servers" grep -q "^turn udp 127.0.0.1:$PORT " "$TMP/trusted.out"
check "https: insecure skips the check" load_to insecure "$U" 3000 insecure
stop_server "$SERVER_PID"
# A trusted certificate for another name: the name check refuses it.
HPORT=$("$FREEPORT")
start_server tls2 --realm example.org --use-auth-secret --static-auth-secret "$SECRET" \
	--rest-api-key "$KEY" --http-listen "127.0.0.1:$HPORT" --http-cert "$TMP/lh.pem" \
	--http-pkey "$TMP/lhkey.pem" --relay-ip 127.0.0.1 || finish
CA=$TMP/lh.pem check_fails "https: a trusted certificate for another name is refused" \
	load_to name "https://127.0.0.1:$HPORT/api/v1/turn/ice-servers?key=$KEY" 3000
check "... as a name mismatch" grep -q "certificate: .*mismatch" "$TMP/name.err"
stop_server "$SERVER_PID"
finish
