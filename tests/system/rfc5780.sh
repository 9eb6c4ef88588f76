#!/usr/bin/env bash
# rfc5780.sh - RFC 5780 NAT behaviour discovery with alt-listening-ip
# (issue 10): coturn's turnutils_natdiscovery and turnutils_stunclient read
# the alternate addresses and, on loopback, find endpoint-independent
# mapping and filtering; Debian's RFC 3489 stun client finds no NAT;
# rfc5780.py checks every answer's source address, RESPONSE-ORIGIN and
# OTHER-ADDRESS, and the 420s (TCP, no alternate address, no-rfc5780);
# bad settings stop the start-up with one line.
. "$(dirname "$0")/lib.sh"

ALT_PORT=$("$FREEPORT") || { fail "no free port"; finish; }
# Three discovery clients, dozens of Bindings each, all from 127.0.0.1: no
# unauth-rate-limit, which would count them as one source.
start_server rfc5780 --alt-listening-ip 127.0.0.2 --alt-listening-port "$ALT_PORT" \
	--unauth-rate-limit 0 ||
	{ fail "server start"; finish; }
check "start-up names the discovery addresses" \
	grep -q "RFC 5780 NAT behaviour discovery: 127.0.0.1:$PORT and 127.0.0.2:$ALT_PORT" \
	"$TMP/rfc5780.log"

if command -v turnutils_natdiscovery >/dev/null; then
	out=$(timeout 20 turnutils_natdiscovery -m -f -p "$PORT" 127.0.0.1 2>&1)
	echo "$out" | sed 's/^/  turnutils_natdiscovery: /'
	check "natdiscovery reads OTHER-ADDRESS 127.0.0.2:$ALT_PORT" \
		grep -q "Other addr: : 127.0.0.2:$ALT_PORT" <<<"$out"
	check "natdiscovery: the change-IP answer came from 127.0.0.2:$PORT" \
		grep -q "Response origin: : 127.0.0.2:$PORT" <<<"$out"
	check "natdiscovery: endpoint-independent mapping" \
		grep -q "NAT with Endpoint Independent Mapping" <<<"$out"
	check "natdiscovery: endpoint-independent filtering" \
		grep -q "NAT with Endpoint Independent Filtering" <<<"$out"
else
	skip "turnutils_natdiscovery not installed (Debian package coturn)"
fi
if command -v turnutils_stunclient >/dev/null; then
	# After its first answer, -f asks with RESPONSE-PORT and waits on that
	# port (20 s); we answer 420 to the request's source instead (RFC 5780
	# §7.5 is optional), so 2 s are enough to read the first answer.
	out=$(timeout 2 turnutils_stunclient -f -p "$PORT" 127.0.0.1 2>&1)
	echo "$out" | sed 's/^/  turnutils_stunclient -f: /'
	check "stunclient -f reads RESPONSE-ORIGIN 127.0.0.1:$PORT" \
		grep -q "Response origin: : 127.0.0.1:$PORT" <<<"$out"
	check "stunclient -f reads OTHER-ADDRESS 127.0.0.2:$ALT_PORT" \
		grep -q "Other addr: : 127.0.0.2:$ALT_PORT" <<<"$out"
else
	skip "turnutils_stunclient not installed (Debian package coturn)"
fi
if command -v stun >/dev/null; then
	# The classic RFC 3489 tests: SOURCE-ADDRESS, CHANGED-ADDRESS and
	# CHANGE-REQUEST under their old names.
	out=$(timeout 20 stun "127.0.0.1:$PORT" -v 2>&1)
	echo "$out" | grep -E "Address =|test|Primary" | sed 's/^/  stun: /'
	check "Debian's stun (RFC 3489) reads ChangedAddress 127.0.0.2:$ALT_PORT" \
		grep -q "ChangedAddress = 127.0.0.2:$ALT_PORT" <<<"$out"
	check "Debian's stun (RFC 3489) finds no NAT (Open)" grep -q "Primary: Open" <<<"$out"
else
	skip "stun client not installed (Debian package stun-client)"
fi
check "server still up after the discovery clients" kill -0 "$SERVER_PID"
check "SIGTERM exit status 0" stop_server "$SERVER_PID"

run_py rfc5780.py --alt-port "$ALT_PORT"

# Settings that cannot work: exit 1 with one line saying why.
bad_start() {
	local want=$1 out rc
	shift
	out=$(timeout 10 "$TURNPIKED" -c /dev/null --listening-port "$PORT" "$@" 2>&1)
	rc=$?
	echo "  $out" | grep "error:"
	[ "$rc" -eq 1 ] && grep -q "error: $want" <<<"$out"
}
check "alt-listening-ip equal to listening-ip refused" \
	bad_start "alt-listening-ip 127.0.0.1: the same as listening-ip" \
	--listening-ip 127.0.0.1 --alt-listening-ip 127.0.0.1
check "alt-listening-ip with a wildcard listening-ip refused" \
	bad_start "alt-listening-ip needs exactly one listening-ip of its family" \
	--alt-listening-ip 127.0.0.2
check "alt-listening-ip with two IPv4 listening-ips refused" \
	bad_start "alt-listening-ip needs exactly one listening-ip of its family" \
	--listening-ip 127.0.0.1 --listening-ip 127.0.0.3 --alt-listening-ip 127.0.0.2
check "alt-listening-port equal to listening-port refused" \
	bad_start "alt-listening-port $PORT: must differ" --listening-ip 127.0.0.1 \
	--alt-listening-ip 127.0.0.2 --alt-listening-port "$PORT"
finish
