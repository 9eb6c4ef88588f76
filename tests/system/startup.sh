#!/usr/bin/env bash
# startup.sh - every way turnpiked can fail to start ends the same way:
# exit status 1 and one clear "error:" line saying why, never a crash, a
# sanitizer report or a server that runs on regardless. A crash (status
# 139) under systemd's Restart=on-failure is a crash loop.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { skip "python3 not available"; finish; }

PORT=$("$FREEPORT") && HPORT=$("$FREEPORT") || { fail "no free port"; finish; }

# hold udp|tcp PORT: a python3 process holding 127.0.0.1:PORT (for 30 s at
# most); sets HOLD_PID.
hold() {
	# A fresh file: the last hold's "ready" must not pass for this one's.
	rm -f "$TMP/hold.out"
	python3 -c '
import socket, sys, time
udp = sys.argv[1] == "udp"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[2])))
if not udp:
    s.listen(8)
print("ready", flush=True)
time.sleep(30)' "$1" "$2" >"$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	PIDS="$PIDS $HOLD_PID"
	within 5000 grep -q ready "$TMP/hold.out"
}

release() {
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	forget_pid "$HOLD_PID"
}

# fails_cleanly DESCRIPTION PATTERN [turnpiked options...]: turnpiked on
# 127.0.0.1:PORT with these options must exit with status 1 within 10 s,
# with exactly one line saying "error:", matching PATTERN, and nothing from
# a crash or a sanitizer.
fails_cleanly() {
	local desc=$1 pattern=$2 rc n
	shift 2
	timeout 10 "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$PORT" \
		--relay-threads 2 "$@" >"$TMP/out" 2>&1
	rc=$?
	n=$(grep -c "error:" "$TMP/out")
	if [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && grep -q -- "$pattern" "$TMP/out" &&
		! grep -q "Segmentation\|Sanitizer\|runtime error\|Aborted" "$TMP/out"; then
		ok "$desc: exit 1, one line: $(grep "error:" "$TMP/out" | sed 's/^[0-9TZ:.-]* //')"
	else
		fail "$desc: exit status $rc (want 1), $n error lines (want 1), pattern '$pattern'"
		sed 's/^/    /' "$TMP/out"
	fi
}

hold udp "$PORT" || fail "could not hold udp port $PORT"
fails_cleanly "UDP port taken by another process" \
	"udp 127.0.0.1:$PORT is already in use by another process"
release

hold tcp "$PORT" || fail "could not hold tcp port $PORT"
fails_cleanly "TCP port taken by another process" \
	"tcp 127.0.0.1:$PORT is already in use by another process"
release

hold tcp "$HPORT" || fail "could not hold tcp port $HPORT"
fails_cleanly "HTTP port taken by another process" \
	"http: cannot listen on 127.0.0.1:$HPORT" --http-listen "$HPORT"
release

# 192.0.2.0/24 (TEST-NET-1) is on no host: nothing is sent, the bind fails.
fails_cleanly "a relay-ip the host does not have" \
	"relay-ip 192.0.2.1 cannot be used for relay sockets" --relay-ip 192.0.2.1
fails_cleanly "a listening-ip the host does not have" \
	"bind udp 192.0.2.1:$PORT" --listening-ip 192.0.2.1
fails_cleanly "a relay-ip that is not an address" \
	"not an IPv4 or IPv6 address literal" --relay-ip relay.example.org
fails_cleanly "an out-of-range option" "max-port: '70000' is not a number from 1 to 65535" \
	--max-port 70000
fails_cleanly "min-port above max-port" "min-port 50000 is above max-port 40000" \
	--min-port 50000 --max-port 40000
fails_cleanly "a missing config file named with -c" "cannot open $TMP/missing.conf" \
	-c "$TMP/missing.conf"
mkdir "$TMP/conf.d"
fails_cleanly "a config file that cannot be read" "conf.d: cannot read: Is a directory" -c "$TMP/conf.d"
fails_cleanly "a log file that cannot be opened" "cannot open log file $TMP/no/such/dir.log" \
	--log-file "$TMP/no/such/dir.log"
fails_cleanly "an unknown option" "unknown option '--bogus'" --bogus

# A certificate that cannot be loaded, for TURN over TLS (cert) and for
# HTTPS (http-cert): status 1, one line saying which file and OpenSSL's
# reason, and no crash.
# bad_cert NAME EXPECTED-LINE OPTIONS...
bad_cert() {
	local name=$1 want=$2 rc
	shift 2
	timeout 10 "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$PORT" \
		--relay-threads 2 "$@" >"$TMP/out" 2>&1
	rc=$?
	check "$name: exit status 1 ($rc)" test "$rc" -eq 1
	check "and the log says which ($(grep -m1 "error:" "$TMP/out" | sed 's/^[0-9TZ:.-]* //'))" \
		grep -q "error: $want" "$TMP/out"
	check "and it is one line" test "$(grep -c "error:" "$TMP/out")" -eq 1
	check_fails "and nothing crashed" grep -q "Segmentation\|Sanitizer\|runtime error" "$TMP/out"
}
bad_cert "a TLS cert file that does not exist" "tls: cannot load cert $TMP/none.pem: .*" \
	--tls-listening-port "$HPORT" --cert "$TMP/none.pem" --pkey "$TMP/none.pem"
bad_cert "an HTTPS cert file that does not exist" "http: cannot load http-cert $TMP/none.pem" \
	--http-listen "$HPORT" --http-cert "$TMP/none.pem" --http-pkey "$TMP/none.pem"

# After all that the port is free again and a server starts on it.
start_server ok
check "a server then starts on the same port" kill -0 "$SERVER_PID"
stop_server "$SERVER_PID"
check "and stops with status 0" test $? -eq 0

finish
