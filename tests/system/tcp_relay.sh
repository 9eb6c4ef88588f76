#!/usr/bin/env bash
# tcp_relay.sh - RFC 6062 TCP relay: Connect, ConnectionBind,
# ConnectionAttempt, the peer policy on Connect, the 30-second bind
# deadline (this test takes about 32 s for it); over TLS, ConnectionBinds
# moving with their session to the worker holding the id.
. "$(dirname "$0")/lib.sh"

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" ||
	{ fail "openssl makes a test certificate"; finish; }
run_py tcp_relay.py --tls-port "$("$FREEPORT")" --port2 "$("$FREEPORT")" \
	--tls-port2 "$("$FREEPORT")" --cert "$TMP/cert.pem" --key "$TMP/key.pem"
finish
