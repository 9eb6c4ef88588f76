#!/usr/bin/env bash
# looplag.sh - the loop-lag watchdog: each worker's probe timer and its
# lateness in /metrics (turnpike_worker_loop_lag_seconds, one histogram per
# worker, labels 0 .. workers - 1 only). At rest the probes keep firing;
# a process stopped (SIGSTOP) for 2 s shows as a lag of about 2 s in every
# worker's histogram and recent maximum, and the server serves on after
# SIGCONT.
. "$(dirname "$0")/lib.sh"
exclusive

command -v curl >/dev/null || { skip "curl not installed"; finish; }

HPORT=$("$FREEPORT")
start_server main --http-listen "127.0.0.1:$HPORT" --relay-threads 3 ||
	{ fail "server start"; finish; }
M="http://127.0.0.1:$HPORT/metrics"
scrape() { curl -s --max-time 5 "$M" >"$TMP/$1.prom"; }
# val FILE SAMPLE: the value of one sample line (name and labels as printed).
val() { awk -v s="$2" '$1 == s { print $2 }' "$TMP/$1.prom"; }
lag() { val "$1" "turnpike_worker_loop_lag_seconds_$2"; }
# ge A B: A >= B, decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

declare -a slow
sleep 1
scrape before
check "one loop-lag histogram per worker, no more (3)" \
	test "$(grep -c '^turnpike_worker_loop_lag_seconds_count{' "$TMP/before.prom")" = 3
check "TYPE histogram and a recent maximum gauge" \
	grep -q '^# TYPE turnpike_worker_loop_lag_seconds histogram' "$TMP/before.prom"
for w in 0 1 2; do
	c=$(lag before "count{worker=\"$w\"}")
	check "worker $w: its probe fires every 100 ms ($c probes after 1 s)" ge "${c:-0}" 5
	c5=$(lag before "bucket{worker=\"$w\",le=\"5\"}")
	c1=$(lag before "bucket{worker=\"$w\",le=\"1\"}")
	slow[$w]=$((c5 - c1)) # probes 1..5 s late before the stop (none, unless the host is swamped)
done

# Every loop held 2 s: each worker's next probe is at least 1.9 s late.
kill -STOP "$SERVER_PID"
sleep 2
kill -CONT "$SERVER_PID"
# The probes run again within a period or two of SIGCONT (5 s allowed for
# a swamped host).
stopped_seen() {
	local w
	scrape after
	for w in 0 1 2; do
		ge "$(val after "turnpike_worker_loop_lag_max_seconds{worker=\"$w\"}")" 1.9 || return 1
	done
}
within 5000 stopped_seen
for w in 0 1 2; do
	m=$(val after "turnpike_worker_loop_lag_max_seconds{worker=\"$w\"}")
	check "worker $w: recent maximum lag shows the stop ($m s)" ge "${m:-0}" 1.9
	b1=$(lag after "bucket{worker=\"$w\",le=\"1\"}")
	b5=$(lag after "bucket{worker=\"$w\",le=\"5\"}")
	check "worker $w: one more probe in the 1..5 s bucket ($((b5 - b1)), ${slow[$w]} before)" \
		test $((b5 - b1)) -ge $((slow[$w] + 1))
	s=$(lag after "sum{worker=\"$w\"}")
	check "worker $w: lag sum grew by the stop ($s s)" ge "${s:-0}" 1.9
done
check "Binding answered after SIGCONT" "$CTL" stun "127.0.0.1:$PORT" --timeout 2000 --quiet
check "turnpiked stops cleanly" stop_server "$SERVER_PID"
check "no warning or error in the log" not log_problems "$TMP/main.log"
finish
