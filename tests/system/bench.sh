#!/usr/bin/env bash
# bench.sh - the benchmark tools work (nothing here is timed): turnpike-bench
# relays through turnpiked with no loss at a low rate in every direction
# (forward, reverse, echo with round trips, TCP), its alloc mode sets up
# allocations with a channel each and reads the server's CPU and memory, and
# turnpike-fwd (the forwarder column of bench/compare.sh) relays and echoes
# the same way. turnpiked's memory per live allocation with a permission and
# a channel stays within 1.5 kB. Relayed data to a TCP client leaves in one
# write per loop pass and connection, not one per datagram; to a TLS client
# one record per datagram, but many records in one write.
. "$(dirname "$0")/lib.sh"
exclusive

BENCH=$top_builddir/bench/turnpike-bench
FWD=$top_builddir/bench/turnpike-fwd

# Relay addresses of this test's own, so no other test meets its ports.
HPORT=$("$FREEPORT") || { fail "no free port"; finish; }
TLSPORT=$("$FREEPORT") || { fail "no free port"; finish; }
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || { fail "openssl"; finish; }
start_server main --relay-ip 127.0.6.1 --min-port 20000 --max-port 22999 \
	--http-listen "127.0.0.1:$HPORT" --tls-listening-port "$TLSPORT" --no-dtls \
	--cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--relay-threads 1 --realm example.org --user alice:secret --allow-loopback-peers \
	--user-quota 0 --source-quota 0 --unauth-rate-limit 0 --log-level warning || { fail "server start"; finish; }

# result ARGS...: turnpike-bench's result line, or nothing (the tool's own
# output goes to the log).
result() {
	local out
	out=$(timeout 60 "$BENCH" "$@" 2>&1)
	echo "$out" >>"$TMP/bench.log"
	grep '^result ' <<<"$out"
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }

# no_loss NAME RESULT: everything sent arrived, nothing malformed.
no_loss() {
	local r=$2
	check "$1: a result line" test -n "$r"
	check "$1: packets delivered ($(field received "$r"))" positive "$(field received "$r")"
	check "$1: all of them ($(field sent "$r") sent)" test "$(field sent "$r")" = "$(field received "$r")"
	check "$1: no errors" test "$(field errors "$r")" = 0
}

srv="-s 127.0.0.1:$PORT -p $SERVER_PID -d 1"
# shellcheck disable=SC2086
r=$(result relay $srv -n 4 -r 100)
no_loss "forward, 4 allocations x 100 pkt/s" "$r"
# At 400 packets the server may use less than one 10 ms tick: the CPU time
# is read (a number), not necessarily above zero.
check "forward: the server's CPU time read ($(field server_cpu "$r") s)" \
	grep -qE '^[0-9]+\.[0-9]+$' <<<"$(field server_cpu "$r")"
# shellcheck disable=SC2086
r=$(result relay $srv -n 4 -r 100 --reverse)
no_loss "reverse" "$r"
# shellcheck disable=SC2086
r=$(result relay $srv -n 4 -r 100 --echo)
no_loss "echo" "$r"
p50=$(field rtt_p50_us "$r") p99=$(field rtt_p99_us "$r")
check "echo: round trips timed (p50 $p50 us, p99 $p99 us)" \
	awk -v a="$p50" -v b="$p99" 'BEGIN { exit !(a >= 0 && b >= a) }'
# shellcheck disable=SC2086
r=$(result relay $srv -n 2 -r 100 --tcp)
no_loss "TCP forward" "$r"

# mval NAME LABEL: the sum of a metric's samples with that label.
mval() {
	curl -sS -f --max-time 5 "http://127.0.0.1:$HPORT/metrics" |
		awk -v n="$1" -v l="$2" 'index($1, n "{") == 1 && index($1, l) > 0 { s += $2 } END { printf "%d\n", s }'
}
# TCP clients, peer to client flat out: the peer sends in bursts, and each
# burst reaches its client in one write (or a few), not one per datagram.
# shellcheck disable=SC2086
r=$(result relay $srv -n 4 --tcp --reverse -C 20000)
if sanitizer_build; then
	# Flat out, a sanitizer build's server can stall past the generator's
	# 20 ms write-off window: a few datagrams counted lost, at most 1%.
	check "TCP reverse, flat out: a result line" test -n "$r"
	check "TCP reverse, flat out: at most 1% lost ($(field received "$r") of $(field sent "$r"))" \
		test "$(($(field received "$r") * 100))" -ge "$(($(field sent "$r") * 99))"
	check "TCP reverse, flat out: no errors" test "$(field errors "$r")" = 0
else
	no_loss "TCP reverse, flat out" "$r"
fi
msgs=$(mval turnpike_relay_packets_total 'direction="peer_to_client",transport="tcp"')
direct=$(mval turnpike_tcp_client_writes_total 'result="direct"')
queued=$(mval turnpike_tcp_client_writes_total 'result="queued"')
check "TCP reverse: written at once when nothing waits ($direct writes)" test "$direct" -gt 0
check "TCP reverse: fewer writes ($direct + $queued) than datagrams ($msgs)" \
	test $((direct + queued)) -lt "$msgs"

# TLS (turns:), both ways; peer to client flat out, each datagram a record
# of its own, the records of a loop pass in one write: the server's write
# system calls (/proc/PID/io syscw: write and writev, not sendmmsg) stay
# well under the datagrams (OpenSSL's bufferevent on the socket made one
# write a record).
tsrv="-s 127.0.0.1:$TLSPORT -p $SERVER_PID -d 1"
# shellcheck disable=SC2086
no_loss "TLS forward" "$(result relay $tsrv -n 2 -r 100 --tls)"
syscw() { awk '$1 == "syscw:" { print $2 }' "/proc/$SERVER_PID/io"; }
tmsgs0=$(mval turnpike_relay_packets_total 'direction="peer_to_client",transport="tls"')
w0=$(syscw)
# Flat out, the peer's datagrams can overrun the relay sockets of a slower
# (sanitizer) build beside other tests: when the window stalls 20 ms the
# generator writes it off and sends another (CI's ASan pass once lost 37%
# so, all at the relay sockets). There the window is 64, which the relay
# sockets' buffers hold through several write-offs, and at most 5% may be
# lost (1% otherwise).
least=99 win=512
sanitizer_build && least=95 win=64
# shellcheck disable=SC2086
r=$(result relay $tsrv -n 4 --tls --reverse -C 20000 -w $win)
w1=$(syscw)
tmsgs=$(($(mval turnpike_relay_packets_total 'direction="peer_to_client",transport="tls"') - tmsgs0))
check "TLS reverse, flat out: a result line" test -n "$r"
check "TLS reverse, flat out: at least $least% delivered ($(field received "$r") of $(field sent "$r"))" \
	test "$(($(field received "$r") * 100))" -ge "$(($(field sent "$r") * least))"
check "TLS reverse: $tmsgs datagrams relayed, as many as arrived" \
	test "$tmsgs" -ge "$(field received "$r")" -a "$tmsgs" -gt 0
check "TLS reverse: in $((w1 - w0)) writes, under half the datagrams" \
	test $(((w1 - w0) * 2)) -lt "$tmsgs"

# alloc: 2000 allocations with a permission and a channel each.
# shellcheck disable=SC2086
r=$(result alloc $srv -n 2000)
check "alloc: all 2000 made" test "$(field streams "$r")" = 2000
check "alloc: allocations per CPU-second ($(field pps_per_cpu "$r"))" positive "$(field pps_per_cpu "$r")"
bpa=$(field bytes_per_alloc "$r")
if grep -q libasan "/proc/$SERVER_PID/maps"; then
	skip "memory per allocation: the sanitizer build's allocator pads every block"
else
	check "alloc: at most 1536 bytes per live allocation ($bpa)" \
		awk -v v="$bpa" 'BEGIN { exit !(v > 0 && v <= 1536) }'
fi
check "turnpiked still answers" "$CTL" stun "127.0.0.1:$PORT" --timeout 2000 --quiet

# The tool refuses to aim anywhere but loopback.
check_fails "turnpike-bench refuses a server off loopback" \
	"$BENCH" relay -s 192.0.2.1:3478 -n 1 -d 1

# turnpike-fwd: the forwarder column.
FPORT=$("$FREEPORT") || { fail "no free port"; finish; }
"$FWD" -l "127.0.0.1:$FPORT" -r 127.0.6.2 -n 100 -t 60 >"$TMP/fwd.log" 2>&1 &
FPID=$!
PIDS="$PIDS $FPID"
listening() { ss -Hlun "sport = :$1" | grep -q .; }
check "turnpike-fwd listens" within 5000 listening "$FPORT"
fsrv="-s 127.0.0.1:$FPORT -p $FPID -d 1 --fwd"
# shellcheck disable=SC2086
no_loss "turnpike-fwd forward" "$(result relay $fsrv -n 4 -r 100)"
# shellcheck disable=SC2086
no_loss "turnpike-fwd reverse" "$(result relay $fsrv -n 4 -r 100 --reverse)"
# shellcheck disable=SC2086
no_loss "turnpike-fwd echo" "$(result relay $fsrv -n 4 -r 100 --echo)"
check_fails "turnpike-fwd refuses to listen off loopback" "$FWD" -l 192.0.2.1:3478 -t 1
check "turnpike-fwd stops on SIGTERM with status 0" stop_server "$FPID"
check "turnpiked stops cleanly" stop_server "$SERVER_PID"

# uring-probe (built when liburing-dev is there): one brief round of each
# receiver, 2,000 datagrams a second to 4 sockets, 99% received at least
# (the receiver of a sanitizer build beside other tests may stall).
PROBE=$top_builddir/bench/uring-probe
if [ -x "$PROBE" ]; then
	"$PROBE" -n 4 -r 2000 -d 1 -k 1 >"$TMP/probe.out" 2>&1
	prc=$?
	if [ $prc -ne 0 ] && grep -q "io_uring_queue_init" "$TMP/probe.out"; then
		echo "# uring-probe: io_uring is not available here ($(head -n 1 "$TMP/probe.out"))"
	else
		check "uring-probe runs (status $prc)" test $prc = 0
		for m in epoll uring uring-ev; do
			line=$(grep "^$m " "$TMP/probe.out")
			check "uring-probe: $m received what it was sent (${line:-no line})" \
				awk -v l="$line" 'BEGIN { n = split(l, f, " "); for (i = 1; i < n; i++) { if (f[i] == "sent") s = f[i + 1]; if (f[i] == "got") g = f[i + 1] } exit !(s > 0 && g * 100 >= s * 99) }'
		done
		check "uring-probe: a median line" grep -q "^median ns per datagram received" "$TMP/probe.out"
	fi
fi
finish
