#!/usr/bin/env bash
# fd_limit.sh - turnpiked under a low open file limit (soft and hard, so it
# cannot raise it): it warns at start that the limit is below what the
# configuration needs; when descriptors run out, Allocate gets 508, counted
# as turnpike_fd_exhausted_total (not as relay ports exhausted: nearly all
# ports are free), with one warning per burst in the log; once an
# allocation is released, Allocate works again.
. "$(dirname "$0")/lib.sh"

PROBE=$top_builddir/tests/tools/turnprobe
NOFILE=40 # descriptors: the server's own (about 15) and some allocations
MORE=5    # Allocates tried after the first refusal

for t in "$PROBE" "$(command -v curl)"; do
	[ -x "$t" ] || { skip "$t not available"; finish; }
done

PORT=$("$FREEPORT") && HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
# ulimit -n without -S/-H sets both limits, in this subshell only.
(ulimit -n "$NOFILE" && exec "$TURNPIKED" -c /dev/null --listening-ip 127.0.0.1 --listening-port "$PORT" \
	--relay-threads 1 --user alice:secret --http-listen "$HPORT" \
	--min-port 40000 --max-port 49999) >"$TMP/fd.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_ready fd "$PORT" || { fail "server start"; finish; }

check "the start-up log says the open file limit is too low for the configuration" \
	test "$(grep -c "warning: open file limit $NOFILE is below the [0-9]* descriptors" \
		"$TMP/fd.log")" -eq 1

metric() { curl -sS -f --max-time 5 "http://127.0.0.1:$HPORT/metrics" |
	awk -v m="turnpike_$1" '$1 == m { print $2 }'; }
check "/metrics has turnpike_fd_exhausted_total, at 0 ($(metric fd_exhausted_total))" \
	test "$(metric fd_exhausted_total)" = 0

"$PROBE" 127.0.0.1 "$PORT" fd-limit 200 "$MORE" >"$TMP/probe.out" 2>&1
rc=$?
sed 's/^/    /' "$TMP/probe.out"
check "turnprobe fd-limit: allocations until descriptors run out, then 508" test "$rc" -eq 0
refused=$(sed -n 's/^# refused: //p' "$TMP/probe.out")

fd=$(metric fd_exhausted_total)
ports=$(metric relay_ports_exhausted_total)
check "turnpike_fd_exhausted_total counts the $refused refusals ($fd)" \
	test -n "$refused" -a "$refused" -gt 0 -a "${fd:-0}" -ge "${refused:-1}"
check "turnpike_relay_ports_exhausted_total stays 0 ($ports): ports were not the problem" \
	test "$ports" = 0
n=$(grep -c "warning: relay socket: out of file descriptors" "$TMP/fd.log")
check "the log says so once for the burst of $refused ($n line)" test "$n" -eq 1
check "the server still answers" "$CTL" stun "127.0.0.1:$PORT" --quiet --timeout 2000
stop_server "$SERVER_PID"
check "and stops cleanly" test $? -eq 0
if grep -q "Sanitizer\|runtime error" "$TMP/fd.log"; then
	fail "sanitizer report"
	cat "$TMP/fd.log"
fi

finish
