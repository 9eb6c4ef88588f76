#!/usr/bin/env bash
# peer_ice.sh - two turnpike-peer processes connect through turnpiked on
# loopback (issue 11): relay-only on both sides gives a relay/relay pair
# and every --data datagram comes back; --policy all gives a host pair;
# one relay-only side gives a relay pair; TURN over TCP gives
# relay_protocol tcp, and over TLS (turns:) relay_protocol tls; two
# offerers settle their role conflict; a peer that stops answering loses
# consent (RFC 7675). Failures end within the timeout
# with a clear error:
# a tampered ice-pwd, a remote description that is not SDP, and a fake
# agent (peer_ice.py) that never answers and sends malformed checks.
. "$(dirname "$0")/lib.sh"

PEER=$top_builddir/turnpike-peer
PY=$top_srcdir/tests/system/peer_ice.py
MIN_PORT=20000 # relay ports below the ephemeral range
MAX_PORT=29999
KEY=peer-ice-test-api-key-0123456789
DATA=50
TIMEOUT=10

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || { fail "openssl req"; finish; }
HPORT=$("$FREEPORT") && TPORT=$("$FREEPORT") || { fail "no free port"; finish; }
start_server peer --min-port "$MIN_PORT" --max-port "$MAX_PORT" --relay-ip 127.0.0.1 \
	--allow-loopback-peers --realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--http-listen "127.0.0.1:$HPORT" --rest-api-key "$KEY" --tls-listening-port "$TPORT" \
	--cert "$TMP/cert.pem" --pkey "$TMP/key.pem" || { fail "server start"; finish; }
HOOK="http://127.0.0.1:$HPORT/api/v1/turn/ice-servers?key=$KEY"
# The hook lists turns: too: trust the test certificate (OpenSSL reads
# SSL_CERT_FILE for its default trust store).
export SSL_CERT_FILE=$TMP/cert.pem

# REST credentials (TURN REST API): "expiry:user", base64(HMAC-SHA1(secret)).
RUSER="$(($(date +%s) + 3600)):peer"
RPASS=$(printf %s "$RUSER" | openssl dgst -sha1 -hmac s3cr3t -binary | base64)

# peer NAME ROLE ARGS...: one turnpike-peer in the background, its JSON in
# $TMP/NAME.json, its log in $TMP/NAME.err; sets PID_<NAME>.
peer() {
	local name=$1 role=$2
	shift 2
	"$PEER" "--$role" --host-ip 127.0.0.1 --timeout "$TIMEOUT" --json "$TMP/$name.json" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	eval "PID_$name=$!"
	PIDS="$PIDS $!"
}

# reap NAME: waits for it; RC_<NAME> its exit status, T_<NAME> the seconds.
reap() {
	local pid rc
	pid=$(eval echo "\$PID_$1")
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	eval "RC_$1=$rc"
}

# field NAME EXPR: a value from a peer's JSON (Python expression on j).
field() { json_field "$TMP/$1.json" "$2"; }

# call NAME ARGS_A -- ARGS_B: two peers, a offering, b answering, through
# files in $TMP; waits for both.
call() {
	local name=$1 a=() b=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		a+=("$1")
		shift
	done
	shift
	b=("$@")
	rm -f "$TMP/$name-a.sdp" "$TMP/$name-b.sdp"
	peer "${name}_a" offer --local-sdp "$TMP/$name-a.sdp" --remote-sdp "$TMP/$name-b.sdp" \
		--data "$DATA" "${a[@]}"
	peer "${name}_b" "${ROLE_B:-answer}" --local-sdp "$TMP/$name-b.sdp" --remote-sdp "$TMP/$name-a.sdp" \
		--data "$DATA" "${b[@]}"
	reap "${name}_a"
	reap "${name}_b"
	for s in a b; do
		echo "  $name $s: $(cat "$TMP/${name}_$s.json" 2>/dev/null)"
		[ -s "$TMP/${name}_$s.err" ] && sed "s/^/  $name $s stderr: /" "$TMP/${name}_$s.err"
	done
}

# connected NAME LOCAL REMOTE RELAY_PROTO: both sides exited 0 with ok,
# the pair types seen from A, and all data came back on both sides.
connected() {
	local name=$1 l=$2 r=$3 proto=$4 s
	for s in a b; do
		check "$name $s: exit status 0" test "$(eval echo "\$RC_${name}_$s")" = 0
		check "$name $s: ok" test "$(field "${name}_$s" 'j["ok"]')" = True
		check "$name $s: $DATA datagrams sent, all came back" \
			test "$(field "${name}_$s" '(j["data"]["sent"], j["data"]["received"])')" = \
			"($DATA, $DATA)"
		check "$name $s: protocol udp" \
			test "$(field "${name}_$s" 'j["selected"]["protocol"]')" = udp
	done
	check "$name: a's selected pair is $l/$r" \
		test "$(field "${name}_a" 'j["selected"]["local"] + "/" + j["selected"]["remote"]')" = "$l/$r"
	check "$name: b's selected pair is $r/$l" \
		test "$(field "${name}_b" 'j["selected"]["local"] + "/" + j["selected"]["remote"]')" = "$r/$l"
	check "$name: a's relay_protocol is $proto" \
		test "$(field "${name}_a" 'j["selected"]["relay_protocol"]')" = "$proto"
}

URI=(--ice-servers "turn:127.0.0.1:$PORT" --user "$RUSER" --password "$RPASS")
TCP=(--ice-servers "turn:127.0.0.1:$PORT?transport=tcp" --user "$RUSER" --password "$RPASS")

# 1. Relay only on both sides, servers from turnpiked's own hook.
call relay --policy relay --ice-servers "$HOOK" -- --policy relay --ice-servers "$HOOK"
connected relay relay relay udp
check "relay: the relayed pair uses a channel (ChannelBind)" \
	test "$(field relay_a 'j["selected"]["channel"]')" = True
check "relay: a gathered only relayed candidates" \
	test "$(field relay_a 'j["candidates"]["host"] + j["candidates"]["srflx"]')" = 0

# 2. Everything allowed: the host pair wins.
call all --policy all "${URI[@]}" -- --policy all "${URI[@]}"
connected all host host None
check "all: a gathered host and relayed candidates" \
	test "$(field all_a '(j["candidates"]["host"], j["candidates"]["relay"])')" = "(1, 1)"

# 3. One side relay-only: a relay pair.
call mixed --policy relay "${URI[@]}" -- --policy all "${URI[@]}"
connected mixed relay host udp

# 4. TURN over TCP to the server.
call tcp --policy relay "${TCP[@]}" -- --policy relay "${TCP[@]}"
connected tcp relay relay tcp
check "tcp: b's relay_protocol is tcp too" \
	test "$(field tcp_b 'j["selected"]["relay_protocol"]')" = tcp

# 4b. Both sides offer: a role conflict (RFC 8445 §7.3.1.1). The
# tie-breakers settle it (a 487 answer, or a switch); one side turns
# controlled. peer_ice.py checks the 487 itself.
ROLE_B=offer call conflict --policy all "${URI[@]}" -- --policy all "${URI[@]}"
connected conflict host host None
check "conflict: one side ended controlled" \
	test "$(field conflict_a 'j["role"]') $(field conflict_b 'j["role"]')" != \
	"controlling controlling"

# 4c. A remote description that is not SDP: a clear error, no crash.
printf 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nnot sdp at all\r\n' >"$TMP/junk.sdp"
peer junk offer --local-sdp "$TMP/junk-l.sdp" --remote-sdp "$TMP/junk.sdp" --policy all
reap junk
echo "  junk: $(cat "$TMP/junk.json" 2>/dev/null)"
check "bad remote SDP: exit status 1" test "$RC_junk" = 1
check "bad remote SDP: the error says so ($(field junk 'j["error"]'))" \
	grep -q '"error": "remote description: ' "$TMP/junk.json"

# 5. TLS to the server (turns:), trusting the test certificate through
# OpenSSL's SSL_CERT_FILE; then with nothing trusted, a clear refusal.
TLS=(--ice-servers "turns:127.0.0.1:$TPORT?transport=tcp" --user "$RUSER" --password "$RPASS")
call tls --policy relay "${TLS[@]}" -- --policy relay "${TLS[@]}"
connected tls relay relay tls
export SSL_CERT_FILE=/dev/null
call untrusted --policy relay "${TLS[@]}" -- --policy relay "${TLS[@]}"
export SSL_CERT_FILE=$TMP/cert.pem
check "untrusted certificate: exit status 1" test "$RC_untrusted_a" = 1
check "untrusted certificate: the error names it ($(field untrusted_a 'j["error"]'))" \
	grep -q 'TLS handshake failed: self-signed certificate' "$TMP/untrusted_a.json"

# 6. A tampered ice-pwd in the answer: A's checks are signed wrong, B's
# answers do not verify for A; both fail within the timeout.
rm -f "$TMP/bad-a.sdp" "$TMP/bad-b.sdp" "$TMP/bad-b2.sdp"
t0=$(now_ms)
peer bad_a offer --local-sdp "$TMP/bad-a.sdp" --remote-sdp "$TMP/bad-b2.sdp" --policy all "${URI[@]}"
peer bad_b answer --local-sdp "$TMP/bad-b.sdp" --remote-sdp "$TMP/bad-a.sdp" --policy all \
	"${URI[@]}"
if within $((TIMEOUT * 1000)) test -s "$TMP/bad-b.sdp"; then
	sed 's/^a=ice-pwd:\(.\)/a=ice-pwd:X\1/' "$TMP/bad-b.sdp" >"$TMP/bad-b2.tmp"
	mv "$TMP/bad-b2.tmp" "$TMP/bad-b2.sdp"
fi
reap bad_a
reap bad_b
took=$(($(now_ms) - t0))
for s in a b; do
	echo "  bad $s: $(cat "$TMP/bad_$s.json" 2>/dev/null)"
	check "tampered ice-pwd: $s exits 1" test "$(eval echo "\$RC_bad_$s")" = 1
	check "tampered ice-pwd: $s reports ok false with an error" \
		test "$(field "bad_$s" 'j["ok"] is False and len(j["error"]) > 0')" = True
done
check "tampered ice-pwd: a says its checks were refused ($(field bad_a 'j["error"]'))" \
	grep -qE '401|MESSAGE-INTEGRITY' "$TMP/bad_a.json"
check "tampered ice-pwd: both ended within the timeout (${took} ms)" \
	test "$took" -lt $(((TIMEOUT + 3) * 1000))

# 7. A peer that never answers and sends malformed checks (both roles).
for role in offer answer; do
	rm -f "$TMP/fake-$role-l.sdp" "$TMP/fake-$role-r.sdp"
	t0=$(now_ms)
	peer "fake_$role" "$role" --local-sdp "$TMP/fake-$role-l.sdp" \
		--remote-sdp "$TMP/fake-$role-r.sdp" --policy all --timeout 5
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$PY" --local-sdp "$TMP/fake-$role-l.sdp" \
		--remote-sdp "$TMP/fake-$role-r.sdp" --role "$role" --timeout 5 \
		>"$TMP/fake-$role.py.out" 2>&1
	take_lines "$TMP/fake-$role.py.out"
	grep -vE '^(ok|FAIL) - ' "$TMP/fake-$role.py.out" | sed "s/^/  fake $role: /"
	reap "fake_$role"
	took=$(($(now_ms) - t0))
	echo "  fake $role: $(cat "$TMP/fake_$role.json" 2>/dev/null)"
	check "silent peer ($role): exit status 1" test "$(eval echo "\$RC_fake_$role")" = 1
	check "silent peer ($role): the error says no pair was selected" \
		grep -q '"error": "timeout: no pair selected' "$TMP/fake_$role.json"
	check "silent peer ($role): ended within the timeout (${took} ms)" test "$took" -lt 7000
	check "silent peer ($role): one peer-reflexive remote candidate learnt" \
		test "$(field "fake_$role" 'j["remote_candidates"]["prflx"]')" = 1
done

# 8. Consent freshness (RFC 7675): once the relayed call is up (both
# channels bound, as turnpiked counts them), B is stopped; A's consent
# checks go unanswered and A declares the call failed after its
# --consent-timeout (5 s here, 30 s by default), before its --data run
# (60 s of probes) would end.
metric() { curl -s "http://127.0.0.1:$HPORT/metrics" | awk -v m="turnpike_$1" '$1 == m { print $2 }'; }
bound_since() { [ "$(metric channels_bound_total)" -ge $(($1 + 2)) ]; }
before=$(metric channels_bound_total)
rm -f "$TMP/consent-a.sdp" "$TMP/consent-b.sdp"
peer consent_a offer --local-sdp "$TMP/consent-a.sdp" --remote-sdp "$TMP/consent-b.sdp" \
	--policy relay "${URI[@]}" --data 3000 --timeout 90 --consent-timeout 5
peer consent_b answer --local-sdp "$TMP/consent-b.sdp" --remote-sdp "$TMP/consent-a.sdp" \
	--policy relay "${URI[@]}" --data 3000 --timeout 90
if check "consent: both sides bound their channel" within 10000 bound_since "$before"; then
	sleep 7 # answered checks keep the call up past the timeout
	check "consent: the call outlives its 5 s consent timeout while B answers" \
		kill -0 "$PID_consent_a"
	kill -STOP "$PID_consent_b"
	t0=$(now_ms)
	reap consent_a
	took=$(($(now_ms) - t0))
	kill -CONT "$PID_consent_b"
	echo "  consent a: $(cat "$TMP/consent_a.json" 2>/dev/null)"
	check "consent: a exits 1" test "$RC_consent_a" = 1
	check "consent: a says consent was lost ($(field consent_a 'j["error"]'))" \
		grep -q '"error": "consent lost' "$TMP/consent_a.json"
	# Checks every 0.67-1 s under a 5 s timeout: the last answer came up to
	# one interval before the stop, the loss is seen at the first check
	# after 5 s.
	check "consent: lost 4-7 s after the stop ($took ms)" \
		test "$took" -ge 3900 -a "$took" -lt 7000
else
	kill -CONT "$PID_consent_b"
	reap consent_a
fi
kill -TERM "$PID_consent_b" 2>/dev/null # it may have ended on its own
reap consent_b

check "turnpiked still running" kill -0 "$SERVER_PID"
check "SIGTERM stops turnpiked with status 0" stop_server "$SERVER_PID"
check "no warnings or errors in turnpiked's log" not log_problems "$TMP/peer.log"
finish
