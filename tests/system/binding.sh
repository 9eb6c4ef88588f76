#!/usr/bin/env bash
# binding.sh - turnpiked answers STUN Binding over UDP and TCP, IPv4 and
# IPv6, with the project's own client; options that shape the answer work;
# SIGTERM stops it cleanly.
. "$(dirname "$0")/lib.sh"

start_server main || { fail "server start"; finish; }

# field NAME OUTPUT: the value of "NAME: value" in turnpikectl's output.
field() { sed -n "s/^$1: //p" <<<"$2"; }

for target in "127.0.0.1:$PORT" "[::1]:$PORT"; do
	for proto in udp tcp; do
		opt=""
		[ $proto = tcp ] && opt=--tcp
		out=$("$CTL" stun "$target" $opt 2>&1)
		mapped=$(field mapped-address "$out")
		host=${target%:*}
		check "$proto $target answers with XOR-MAPPED-ADDRESS" \
			test "$(field attribute "$out")" = XOR-MAPPED-ADDRESS
		check "$proto $target maps to the client's own address ($mapped)" \
			test "${mapped%:*}" = "$host"
		# Unsigned: no SOFTWARE (no version for anyone who asks, nothing
		# to amplify a reflection with): the header and XOR-MAPPED-ADDRESS.
		check "$proto $target sends no SOFTWARE in an unsigned answer" \
			test -z "$(field software "$out")"
		check "$proto $target answer is small ($(field response-bytes "$out") bytes)" \
			test "$(field response-bytes "$out")" -le 44
		check "$proto $target: no FINGERPRINT unless asked" \
			test "$(field fingerprint "$out")" = no
		out=$("$CTL" stun "$target" $opt --fingerprint 2>&1)
		check "$proto $target: FINGERPRINT echoed when the request had one" \
			test "$(field fingerprint "$out")" = yes
		out=$("$CTL" stun "$target" $opt --rfc3489 2>&1)
		check "$proto $target: classic RFC 3489 client gets MAPPED-ADDRESS" \
			test "$(field attribute "$out")" = MAPPED-ADDRESS
	done
done

# The mapped port is the client's own source port: check it against ss's view
# is not possible from outside, so check two clients get different ports.
a=$(field mapped-address "$("$CTL" stun "127.0.0.1:$PORT")")
b=$(field mapped-address "$("$CTL" stun "127.0.0.1:$PORT")")
check "two clients see two different mapped ports ($a, $b)" test "$a" != "$b"

check "500 sequential UDP requests on one socket all answered" \
	"$CTL" stun "127.0.0.1:$PORT" --count 500 --quiet
check "200 sequential TCP connections all answered" \
	"$CTL" stun "127.0.0.1:$PORT" --tcp --count 200 --quiet

# Many source ports spread over both workers by SO_REUSEPORT: all answered.
fails=0
for i in $(seq 1 100); do
	"$CTL" stun "127.0.0.1:$PORT" --quiet --timeout 2000 || fails=$((fails + 1))
done
check "100 clients on fresh source ports all answered ($fails failed)" test $fails -eq 0

# Clients still connected over TCP at shutdown are closed cleanly.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" 4<>"/dev/tcp/127.0.0.1/$PORT"
printf '\000\001' >&4  # half a header
sleep 0.2
check "SIGTERM stops turnpiked with status 0 (two TCP clients connected)" stop_server "$SERVER_PID"
exec 3<&- 4<&-
check "log says it stopped" grep -q "stopped" "$TMP/main.log"
check "log reports two workers" grep -q "ready with 2 worker threads" "$TMP/main.log"

# no-software-attribute hides the version; UDP-only server refuses TCP.
start_server nosoft --no-software-attribute --no-tcp || fail "server start (no-software, no-tcp)"
out=$("$CTL" stun "127.0.0.1:$PORT" 2>&1)
check "no-software-attribute: no SOFTWARE in the answer" test -z "$(field software "$out")"
check_fails "no-tcp: TCP is not served" "$CTL" stun "127.0.0.1:$PORT" --tcp --timeout 500 --quiet
check "SIGINT stops turnpiked with status 0" bash -c "kill -INT $SERVER_PID"
wait "$SERVER_PID"
check "exit status after SIGINT is 0" test $? -eq 0
forget_pid "$SERVER_PID"

# Options from a config file, overridden on the command line.
cat >"$TMP/t.conf" <<CONF
# a test config
listening-ip=127.0.0.1
listening-port = 1
relay-threads 3
no-software-attribute
CONF
PORT=$("$FREEPORT")
"$TURNPIKED" -c "$TMP/t.conf" --listening-port "$PORT" >"$TMP/conf.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_ready conf "$PORT"
out=$("$CTL" stun "127.0.0.1:$PORT" 2>&1)
check "config file read (SOFTWARE off), port taken from the command line" \
	test -n "$(field mapped-address "$out")" -a -z "$(field software "$out")"
check "config file's relay-threads used" grep -q "ready with 3 worker threads" "$TMP/conf.log"
check_fails "config file's listening-ip used: ::1 not served" \
	"$CTL" stun "[::1]:$PORT" --timeout 300 --quiet
check "SIGHUP reloads without stopping" bash -c "kill -HUP $SERVER_PID; sleep 0.3; kill -0 $SERVER_PID"
check "SIGHUP logged the reload" grep -q "configuration reloaded" "$TMP/conf.log"
check "server answers after reload" "$CTL" stun "127.0.0.1:$PORT" --quiet
stop_server "$SERVER_PID"

# An address this host does not have: turnpiked stops at start and says why.
"$TURNPIKED" --listening-ip 192.0.2.1 --listening-port "$("$FREEPORT")" >"$TMP/bad.log" 2>&1
rc=$?
check "binding an address we do not have fails (status $rc)" test $rc -eq 1
check "and the log names the failing bind" grep -q "bind udp 192.0.2.1" "$TMP/bad.log"

finish
