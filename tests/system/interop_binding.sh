#!/usr/bin/env bash
# interop_binding.sh - STUN clients nobody here wrote get correct answers:
# coturn's turnutils_stunclient (RFC 5389/5780 client) and Debian's stun
# client (classic RFC 3489, vovida).
. "$(dirname "$0")/lib.sh"

start_server interop || { fail "server start"; finish; }

if command -v turnutils_stunclient >/dev/null; then
	out=$(timeout 20 turnutils_stunclient -p "$PORT" 127.0.0.1 2>&1)
	echo "$out" | sed 's/^/  turnutils_stunclient: /'
	check "turnutils_stunclient reads our reflexive address" \
		grep -q "UDP reflexive addr: 127.0.0.1:" <<<"$out"
	out=$(timeout 20 turnutils_stunclient -p "$PORT" ::1 2>&1)
	check "turnutils_stunclient over IPv6" grep -q "UDP reflexive addr: ::1:" <<<"$out"
	# -f asks for RFC 5780 (CHANGE-REQUEST): we have no alternate address,
	# so the client must be told, not left waiting.
	out=$(timeout 20 turnutils_stunclient -f -p "$PORT" 127.0.0.1 2>&1)
	echo "$out" | sed 's/^/  turnutils_stunclient -f: /'
	check "turnutils_stunclient -f (RFC 5780) still finishes" test -n "$out"
else
	skip "turnutils_stunclient not installed (Debian package coturn)"
fi

if command -v stun >/dev/null; then
	out=$(timeout 20 stun "127.0.0.1:$PORT" 1 -v 2>&1)
	echo "$out" | sed 's/^/  stun: /'
	check "Debian's stun client (RFC 3489) reads MappedAddress 127.0.0.1" \
		grep -q "MappedAddress = 127.0.0.1:" <<<"$out"
else
	skip "stun client not installed (Debian package stun-client)"
fi

check "server still up after the foreign clients" kill -0 "$SERVER_PID"
check "SIGTERM exit status 0" stop_server "$SERVER_PID"
finish
