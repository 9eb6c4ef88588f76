#!/usr/bin/env bash
# turn_aioice.sh - ICE agents nobody here wrote (aioice, Debian's
# python3-aioice) connect through turnpiked's relays alone, with TURN over
# UDP and over TCP, long-term and REST credentials, and trade datagrams;
# wrong credentials get 401. The agents are in turn_aioice.py.
. "$(dirname "$0")/lib.sh"

PYTHON=/usr/bin/python3
PY=$top_srcdir/tests/system/turn_aioice.py
if ! "$PYTHON" -c "import aioice" 2>/dev/null; then
	skip "python3 aioice not installed (Debian package python3-aioice)"
	finish
fi

# Relay ports below the kernel's ephemeral range (32768-60999).
MIN_PORT=20000
MAX_PORT=29999
COMMON=(--min-port "$MIN_PORT" --max-port "$MAX_PORT" --relay-ip 127.0.0.1
	--allow-loopback-peers --realm example.org)

# agents NAME ARGS...: one turn_aioice.py run (at most 60 s); its ok/FAIL
# lines go into our tally, its other lines are shown indented.
agents() {
	local name=$1 pid rc line
	shift
	timeout 60 "$PYTHON" "$PY" --port "$PORT" --min-port "$MIN_PORT" --max-port "$MAX_PORT" \
		--timeout 30 "$@" >"$TMP/$name.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "$name: ${line#ok - }" ;;
		"FAIL - "*) fail "$name: ${line#FAIL - }" ;;
		*) echo "  $name: $line" ;;
		esac
	done <"$TMP/$name.out"
	check "$name: turn_aioice.py exit status $rc" test $rc -eq 0
}

start_server lt "${COMMON[@]}" --user alice:secret || { fail "server start (long-term)"; finish; }
agents lt-udp --transport udp --username alice --password secret
agents lt-tcp --transport tcp --username alice --password secret
agents lt-wrong-password --transport udp --username alice --password wrong --expect-error 401
check "long-term server still running" kill -0 "$SERVER_PID"
check "SIGTERM stops the long-term server with status 0" stop_server "$SERVER_PID"

start_server rest "${COMMON[@]}" --use-auth-secret --static-auth-secret s3cr3t ||
	{ fail "server start (REST)"; finish; }
agents rest-udp --transport udp --username carol --rest-secret s3cr3t
agents rest-tcp --transport tcp --username carol --rest-secret s3cr3t
agents rest-wrong-secret --transport udp --username carol --rest-secret wrong --expect-error 401
check "REST server still running" kill -0 "$SERVER_PID"
check "SIGTERM stops the REST server with status 0" stop_server "$SERVER_PID"

# clean_log FILE: no warning or error lines in a turnpiked log.
clean_log() { ! log_problems "$1"; }
for log in lt rest; do
	check "no warnings or errors in the $log server's log" clean_log "$TMP/$log.log"
done
finish
