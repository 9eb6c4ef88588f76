#!/usr/bin/env bash
# peer_media.sh - two turnpike-peer processes make a media call through
# turnpiked on loopback (issue 12): relay-only on both sides, DTLS-SRTP on
# the selected pair, then --duration seconds of PCMU RTP both ways with
# RTCP: every packet arrives, zero SRTP authentication failures and
# replays, an RTT from the reports; --packet-size/--bitrate pace the
# stream; a capture on lo (peer_capture.py) sees no plaintext RTP between
# the relayed addresses. A tampered a=fingerprint fails the call on both
# sides with a clear error. (AES-CM, replays and forgeries: the unit tests.)
. "$(dirname "$0")/lib.sh"

PEER=$top_builddir/turnpike-peer
MIN_PORT=30000 # relay ports below the ephemeral range
MAX_PORT=30999
TIMEOUT=15
DURATION=3

start_server media --min-port "$MIN_PORT" --max-port "$MAX_PORT" --relay-ip 127.0.0.1 \
	--allow-loopback-peers --realm example.org --use-auth-secret \
	--static-auth-secret s3cr3t || { fail "server start"; finish; }

# REST credentials (TURN REST API): "expiry:user", base64(HMAC-SHA1(secret)).
RUSER="$(($(date +%s) + 3600)):peer"
RPASS=$(printf %s "$RUSER" | openssl dgst -sha1 -hmac s3cr3t -binary | base64)
URI=(--ice-servers "turn:127.0.0.1:$PORT" --user "$RUSER" --password "$RPASS" --policy relay)

# peer NAME ROLE ARGS...: one turnpike-peer in the background, its JSON in
# $TMP/NAME.json, its log in $TMP/NAME.err; sets PID_<NAME>.
peer() {
	local name=$1 role=$2
	shift 2
	"$PEER" "--$role" --host-ip 127.0.0.1 --timeout "$TIMEOUT" --json "$TMP/$name.json" \
		"${URI[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	eval "PID_$name=$!"
	PIDS="$PIDS $!"
}

# reap NAME: waits for it; RC_<NAME> its exit status.
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

show() {
	local s
	for s in "$@"; do
		echo "  $s: $(cat "$TMP/$s.json" 2>/dev/null)"
		[ -s "$TMP/$s.err" ] && sed "s/^/  $s stderr: /" "$TMP/$s.err"
	done
	return 0
}

# call NAME ARGS...: a offers, b answers, both with ARGS, through files.
call() {
	local name=$1
	shift
	rm -f "$TMP/$name-a.sdp" "$TMP/$name-b.sdp"
	peer "${name}_a" offer --local-sdp "$TMP/$name-a.sdp" --remote-sdp "$TMP/$name-b.sdp" "$@"
	peer "${name}_b" answer --local-sdp "$TMP/$name-b.sdp" --remote-sdp "$TMP/$name-a.sdp" "$@"
	reap "${name}_a"
	reap "${name}_b"
	show "${name}_a" "${name}_b"
}

# media_ok NAME PACKETS: both sides ok over relay/relay, DTLS-SRTP keyed
# with GCM and the fingerprint checked, about PACKETS sent, every packet
# the other sent received, no loss, no SRTP failure, an RTT measured.
media_ok() {
	local name=$1 want=$2 s o
	for s in a b; do
		o=$([ $s = a ] && echo b || echo a)
		check "$name $s: exit status 0" test "$(eval echo "\$RC_${name}_$s")" = 0
		check "$name $s: ok, relay/relay" test "$(field "${name}_$s" \
			'(j["ok"], j["selected"]["local"], j["selected"]["remote"])')" = \
			"(True, 'relay', 'relay')"
		check "$name $s: DTLS-SRTP with AES-GCM, fingerprint checked" \
			test "$(field "${name}_$s" '(j["dtls"]["profile"], j["dtls"]["fingerprint_ok"])')" = \
			"('SRTP_AEAD_AES_128_GCM', True)"
		check "$name $s: the handshake took some time and under 5 s" \
			test "$(field "${name}_$s" '0 < j["dtls"]["handshake_ms"] < 5000')" = True
		check "$name $s: about $want packets sent" \
			test "$(field "${name}_$s" "$want * 0.8 <= j['rtp']['sent'] <= $want + 1")" = True
		check "$name $s: received all that $o sent" \
			test "$(field "${name}_$s" 'j["rtp"]["received"]')" = \
			"$(field "${name}_$o" 'j["rtp"]["sent"]')"
		check "$name $s: zero loss" test "$(field "${name}_$s" 'j["rtp"]["lost"]')" = 0
		check "$name $s: zero SRTP authentication failures and replays" \
			test "$(field "${name}_$s" '(j["srtp"]["auth_failures"], j["srtp"]["replays"])')" = \
			"(0, 0)"
		check "$name $s: an RTT from RTCP (LSR/DLSR), under 100 ms on loopback" \
			test "$(field "${name}_$s" '0 <= j["rtp"]["rtt_ms"] < 100')" = True
		check "$name $s: jitter reported" \
			test "$(field "${name}_$s" 'j["rtp"]["jitter_ms"] >= 0')" = True
	done
}

# 1. The default stream: 20 ms PCMU packets for $DURATION s, watched on
# the loopback interface between the two relayed addresses: RTP by its
# first bytes, but no packet with the tone in the clear.
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$top_srcdir/tests/system/peer_capture.py" \
	--min-port "$MIN_PORT" --max-port "$MAX_PORT" --seconds $((DURATION + 4)) \
	--ready "$TMP/capture.ready" >"$TMP/capture.out" 2>&1 &
CAPTURE_PID=$!
PIDS="$PIDS $CAPTURE_PID"
within 5000 test -s "$TMP/capture.ready" || fail "the capture did not start"
call media --duration "$DURATION"
media_ok media $((DURATION * 50))
wait "$CAPTURE_PID" || fail "peer_capture.py exited with an error"
forget_pid "$CAPTURE_PID"
take_lines "$TMP/capture.out"
grep -vE '^(ok|FAIL) - ' "$TMP/capture.out"
grep -q '^skip - ' "$TMP/capture.out" && skip "$(sed -n 's/^skip - //p' "$TMP/capture.out")"

# 2. --packet-size 400 at --bitrate 128000: a packet every 25 ms.
call load --duration 2 --packet-size 400 --bitrate 128000
media_ok load 80

# 3. A tampered a=fingerprint in the answer: a (the DTLS server, its offer
# said actpass and the answer active) refuses b's certificate; b gets the
# alert. Both fail within the timeout, nothing flows.
rm -f "$TMP/bad-a.sdp" "$TMP/bad-b.sdp" "$TMP/bad-b2.sdp"
t0=$(now_ms)
peer bad_a offer --local-sdp "$TMP/bad-a.sdp" --remote-sdp "$TMP/bad-b2.sdp" --duration 2
peer bad_b answer --local-sdp "$TMP/bad-b.sdp" --remote-sdp "$TMP/bad-a.sdp" --duration 2
if within $((TIMEOUT * 1000)) test -s "$TMP/bad-b.sdp"; then
	# Flip the first hex digit of the digest (0 <-> 1, else to 0).
	sed -E 's/^(a=fingerprint:sha-256 )0/\1X/; s/^(a=fingerprint:sha-256 )[1-9A-F]/\10/; s/^(a=fingerprint:sha-256 )X/\11/' \
		"$TMP/bad-b.sdp" >"$TMP/bad-b2.tmp"
	mv "$TMP/bad-b2.tmp" "$TMP/bad-b2.sdp"
fi
reap bad_a
reap bad_b
took=$(($(now_ms) - t0))
show bad_a bad_b
check "tampered fingerprint: the answer was changed" not cmp -s "$TMP/bad-b.sdp" "$TMP/bad-b2.sdp"
for s in a b; do
	check "tampered fingerprint: $s exits 1" test "$(eval echo "\$RC_bad_$s")" = 1
	check "tampered fingerprint: $s sent no media" \
		test "$(field "bad_$s" '(j["ok"], j["rtp"]["sent"])')" = "(False, 0)"
done
check "tampered fingerprint: a names the mismatch ($(field bad_a 'j["error"]'))" \
	grep -q "does not match its a=fingerprint" "$TMP/bad_a.json"
check "tampered fingerprint: a's summary says fingerprint_ok false" \
	test "$(field bad_a 'j["dtls"]["fingerprint_ok"]')" = False
check "tampered fingerprint: b's handshake failed ($(field bad_b 'j["error"]'))" \
	grep -q '"error": "media: DTLS' "$TMP/bad_b.json"
check "tampered fingerprint: both ended within the timeout (${took} ms)" \
	test "$took" -lt $(((TIMEOUT + 3) * 1000))

# 4. The options' bounds.
check "--duration not below --timeout: exit 2" \
	test "$("$PEER" --offer --local-sdp - --remote-sdp - --timeout 5 --duration 5 \
		>/dev/null 2>"$TMP/opt.err"; echo $?)" = 2
check "  ... with a reason" grep -q "shorter than --timeout" "$TMP/opt.err"
check "--packet-size without --duration: exit 2" \
	test "$("$PEER" --offer --local-sdp - --remote-sdp - --packet-size 100 \
		>/dev/null 2>&1; echo $?)" = 2
check "--packet-size 1201: exit 2" \
	test "$("$PEER" --offer --local-sdp - --remote-sdp - --duration 1 --packet-size 1201 \
		>/dev/null 2>&1; echo $?)" = 2

check "turnpiked still running" kill -0 "$SERVER_PID"
check "SIGTERM stops turnpiked with status 0" stop_server "$SERVER_PID"
check "no warnings or errors in turnpiked's log" not log_problems "$TMP/media.log"
finish
