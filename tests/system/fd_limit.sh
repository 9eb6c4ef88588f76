#!/usr/bin/env bash
# fd_limit.sh - turnpiked under a low open file limit (soft and hard, so it
# cannot raise it): it warns at start that the limit is below what the
# configuration needs; when descriptors run out, Allocate gets 508, counted
# as turnpike_fd_exhausted_total (not as relay ports exhausted: nearly all
# ports are free), with one warning per burst in the log; once an
# allocation is released, Allocate works again. Idle TCP clients taking
# every descriptor: accepting pauses (one log line), UDP is still served,
# Allocate is 508, and all works again once they leave.
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
	--min-port 40000 --max-port 49999 --max-tcp-unauthenticated-per-source 0 \
	--tls-handshake-timeout 30 --allow-loopback-peers) >"$TMP/fd.log" 2>&1 &
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

# TCP clients that take every descriptor (connections that never send a
# byte, held 30 s): the accept pauses with one line, UDP goes on, an
# Allocate is 508; once they leave, TCP and Allocate work again.
fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
held=()
for _ in $(seq 1 $((NOFILE + 10))); do
	exec {c}<>"/dev/tcp/127.0.0.1/$PORT" || break
	held+=("$c")
done
within 3000 eval '[ "$(fds)" -ge $NOFILE ]'
check "idle TCP clients hold every descriptor ($(fds) of $NOFILE open, ${#held[@]} connected)" \
	test "$(fds)" -ge "$NOFILE"
check "the accept pause is logged" within 3000 grep -q "tcp accept: Too many open files; pausing" "$TMP/fd.log"
check "UDP Binding still answered" "$CTL" stun "127.0.0.1:$PORT" --quiet --timeout 2000
ECHO=$("$FREEPORT")
turn() { timeout 10 "$CTL" turn "127.0.0.1:$PORT" --user alice --password secret \
	--peer "127.0.0.1:$ECHO" --count 1 --timeout 1000 >"$TMP/turn.out" 2>&1; }
check_fails "Allocate without a descriptor left fails" turn
check "  ... with 508 ($(grep -o 'error [0-9]*' "$TMP/turn.out"))" grep -q "error 508" "$TMP/turn.out"
check "turnpiked did not crash" kill -0 "$SERVER_PID"
for c in "${held[@]}"; do exec {c}>&-; done
check "once they leave, descriptors come back ($(fds))" within 5000 eval '[ "$(fds)" -lt $((NOFILE - 10)) ]'
check "TCP served again" within 5000 "$CTL" stun "127.0.0.1:$PORT" --tcp --quiet --timeout 1000
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)' "$ECHO" &
PIDS="$PIDS $!"
check "Allocate and relay work again" within 5000 turn
stop_server "$SERVER_PID"
check "and stops cleanly" test $? -eq 0
if grep -q "Sanitizer\|runtime error" "$TMP/fd.log"; then
	fail "sanitizer report"
	cat "$TMP/fd.log"
fi

finish
