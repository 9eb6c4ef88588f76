#!/usr/bin/env bash
# peer_signal.sh - turnpike-peer's signalling (src/peer/signal.c) through
# tests/tools/peersignal: over a real redis-server, whichever side comes
# first gets the other's description (stored with an expiry and
# published), consumed keys are gone afterwards, a missing peer times out
# within its bound; files and "-" across processes.
. "$(dirname "$0")/lib.sh"

PS=$top_builddir/tests/tools/peersignal

# ---- files and stdio ----
check "file written by one process is read by another" \
	"$PS" write "$TMP/o.sdp" "v=0 offer"
out=$("$PS" read "$TMP/o.sdp" 1000)
check "reader got the file's text" test "$out" = "v=0 offer"
( sleep 0.3; "$PS" write "$TMP/late.sdp" "v=0 late" ) &
late_pid=$!
PIDS="$PIDS $late_pid"
out=$("$PS" read "$TMP/late.sdp" 5000)
check "reader waited for a file written 300 ms later" test "$out" = "v=0 late"
wait "$late_pid"
out=$(printf 'v=0 piped' | "$PS" read - 1000)
check "\"-\" reads stdin" test "$out" = "v=0 piped"
t0=$(now_ms)
"$PS" read "$TMP/never.sdp" 300 2>"$TMP/never.err"
rc=$?
took=$(($(now_ms) - t0))
check "missing file: failure" test "$rc" -eq 1
check "missing file: says so" grep -q "never.sdp: no such file after 300 ms" "$TMP/never.err"
check "missing file: gave up within 300..2000 ms (took $took)" \
	test "$took" -ge 300 -a "$took" -lt 2000

# ---- Redis ----
if ! start_redis; then
	skip "redis-server or redis-cli not installed"
	finish
fi
URL=redis://127.0.0.1:$RPORT

# run_pair ROOM FIRST DELAY_S: FIRST (offer or answer) starts, the other
# DELAY_S later; each prints what it got into $TMP/ROOM.<role>.
run_pair() {
	local room=$1 first=$2 delay=$3 second pid1 pid2 rc1 rc2
	second=$([ "$first" = offer ] && echo answer || echo offer)
	"$PS" redis "$URL/$room" "$first" "sdp of the $first" 5000 \
		>"$TMP/$room.$first" 2>"$TMP/$room.$first.err" &
	pid1=$!
	PIDS="$PIDS $pid1"
	sleep "$delay"
	"$PS" redis "$URL/$room" "$second" "sdp of the $second" 5000 \
		>"$TMP/$room.$second" 2>"$TMP/$room.$second.err" &
	pid2=$!
	PIDS="$PIDS $pid2"
	wait "$pid1"
	rc1=$?
	wait "$pid2"
	rc2=$?
	check "$room: both sides succeeded ($rc1 $rc2)" test "$rc1" -eq 0 -a "$rc2" -eq 0
	check "$room: the offerer got the answer" grep -qx "sdp of the answer" "$TMP/$room.offer"
	check "$room: the answerer got the offer" grep -qx "sdp of the offer" "$TMP/$room.answer"
	check "$room: both keys consumed" test "$(redis-cli -p "$RPORT" exists \
		"turnpike:peer:$room:offer" "turnpike:peer:$room:answer")" = 0
}
run_pair room-a offer 0.5
run_pair room-b answer 0.5
run_pair room-c offer 0

# A side waiting alone: its description is stored with a short expiry,
# and it gives up at its timeout.
t0=$(now_ms)
"$PS" redis "$URL/lonely" offer "sdp alone" 1500 >/dev/null 2>"$TMP/lonely.err" &
lonely=$!
PIDS="$PIDS $lonely"
stored() { test "$(redis-cli -p "$RPORT" exists "$1")" = 1; }
within 1000 stored turnpike:peer:lonely:offer
ttl=$(redis-cli -p "$RPORT" ttl turnpike:peer:lonely:offer)
check "a waiting side's description is stored with an expiry (ttl $ttl s)" \
	test "$ttl" -gt 0 -a "$ttl" -le 12
wait "$lonely"
rc=$?
took=$(($(now_ms) - t0))
check "nobody answers: failure" test "$rc" -eq 1
check "nobody answers: says so" grep -q "no answer in room lonely within 1500 ms" "$TMP/lonely.err"
check "nobody answers: gave up within 1500..3000 ms (took $took)" \
	test "$took" -ge 1500 -a "$took" -lt 3000

check_fails "a bad URL is refused" "$PS" redis "redis://127.0.0.1:$RPORT" offer x 500
finish
