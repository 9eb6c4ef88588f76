#!/usr/bin/env bash
# turn_uclient.sh - coturn's load client turnutils_uclient relays through
# turnpiked to a turnutils_peer and between two relays of its own: UDP and
# TCP to the server, channels and Send indications, long-term and REST
# credentials, an IPv6 relay, DONT-FRAGMENT and RFC 6062 TCP relays, also over
# TLS (whose data connections move to the worker holding their id). Nothing
# may be lost; wrong credentials must not get an allocation.
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer; do
	command -v $t >/dev/null || skip "$t not installed (Debian package coturn)"
done
command -v ss >/dev/null || skip "ss not installed (Debian package iproute2)"
[ "$skipped" -eq 0 ] || finish

# Relay ports stay below the kernel's ephemeral range (32768-60999), so they
# never collide with the clients' and freeport's ports.
MIN_PORT=20000
MAX_PORT=29999
N=100   # messages per session
M=4     # sessions per uclient run (RTP and RTCP halves count as sessions)
LEN=120 # bytes per message
JOBS=${UCLIENT_JOBS:-4}
COMMON=(--min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers
	--realm example.org --log-level debug)

# Long-term credentials; the server also relays IPv6 (RFC 6156) and serves
# TLS.
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl makes a test certificate"
LT_TLS=$("$FREEPORT")
start_server lt "${COMMON[@]}" --relay-ip 127.0.0.1 --relay-ip ::1 \
	--user alice:secret --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--tls-listening-port "$LT_TLS" || { fail "server start (long-term)"; finish; }
LT_PORT=$PORT
LT_PID=$SERVER_PID
# TURN REST API credentials (time-limited, HMAC of a shared secret).
start_server rest "${COMMON[@]}" --relay-ip 127.0.0.1 \
	--use-auth-secret --static-auth-secret s3cr3t || { fail "server start (REST)"; finish; }
REST_PORT=$PORT
REST_PID=$SERVER_PID

# udp_bound ADDR PORT: whether a UDP socket is bound to [ADDR]:PORT.
udp_bound() {
	local a=$1
	case $a in *:*) a="[$a]" ;; esac
	ss -Hnlu "sport = :$2" | awk '{ print $4 }' | grep -qxF "$a:$2"
}

# start_peer ADDR PORT: a turnutils_peer (UDP echo) on ADDR:PORT; waits up
# to 5 s until it is bound. Sets PEER_PID.
start_peer() {
	turnutils_peer -L "$1" -p "$2" >"$TMP/peer-$2.log" 2>&1 &
	PEER_PID=$!
	PIDS="$PIDS $PEER_PID"
	for _ in $(seq 1 50); do
		udp_bound "$1" "$2" && return 0
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$PEER_PID" 2>/dev/null
	wait "$PEER_PID" 2>/dev/null
	forget_pid "$PEER_PID"
	return 1
}

# The peers sit beside the server, as a user would put them: on 127.0.0.1
# and ::1, where the server listens and relays, at free ports outside the
# relay range. allow-loopback-peers lets them in; only the server's own
# listening ports stay refused there.
PEER4=$("$FREEPORT")
check "turnutils_peer listens on 127.0.0.1:$PEER4" start_peer 127.0.0.1 "$PEER4"
PEER6=$("$FREEPORT")
check "turnutils_peer listens on [::1]:$PEER6" start_peer ::1 "$PEER6" || PEER6=""

# Wrong credentials: uclient must give up without an allocation, and the
# server's only answer to it is 401 (its debug log lists error replies).
# wrong_creds NAME SERVERLOG UCLIENT-ARGS...
wrong_creds() {
	local name=$1 log=$2 before out rc codes pid
	shift 2
	before=$(wc -l <"$log")
	timeout 20 turnutils_uclient "$@" -e 127.0.0.1 -r "$PEER4" -n 5 -m 1 127.0.0.1 \
		>"$TMP/wrong.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	out=$(<"$TMP/wrong.out")
	codes=$(tail -n +"$((before + 1))" "$log" | sed -n 's/.*Allocate from .*: error \([0-9]*\)$/\1/p' |
		sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
	check "$name: uclient fails (status $rc)" test $rc -ne 0 -a $rc -ne 124
	check "$name: uclient says it cannot complete the allocation" \
		grep -q "Cannot complete Allocation" <<<"$out"
	check "$name: server answered Allocate with 401 only ($codes)" \
		test -n "$codes" -a "${codes%% *}" = 401 -a "${codes#*,}" = "$codes"
	grep -q "Received relay addr" <<<"$out" && fail "$name: got a relay address"
}
wrong_creds "long-term, wrong password" "$TMP/lt.log" -p "$LT_PORT" -u alice -w wrong
wrong_creds "long-term, unknown user" "$TMP/lt.log" -p "$LT_PORT" -u mallory -w secret
wrong_creds "REST, wrong secret" "$TMP/rest.log" -p "$REST_PORT" -W wrong -u bob

# The load runs, JOBS at a time. Each uclient session waits a random 1-6 s
# before it sends, so a run takes 5-8 s whatever N is; running a few at once
# keeps the script short. Each is killed after 60 s at most.
declare -A job_of=() job_rc=()
run_names=()

reap_one() {
	local p rc
	wait -n -p p "${!job_of[@]}"
	rc=$?
	job_rc[${job_of[$p]}]=$rc
	unset "job_of[$p]"
	forget_pid "$p"
}

# launch NAME UCLIENT-ARGS...: one uclient run in the background.
launch() {
	local name=$1 pid
	shift
	while [ ${#job_of[@]} -ge "$JOBS" ]; do reap_one; done
	timeout 60 turnutils_uclient "$@" -n $N -m $M -l $LEN >"$TMP/u-$name.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	job_of[$pid]=$name
	run_names+=("$name")
}

LT=(-p "$LT_PORT" -u alice -w secret)
REST=(-p "$REST_PORT" -W s3cr3t -u bob)
P4=(-e 127.0.0.1 -r "$PEER4")
started=$(date +%s)
for tr in udp tcp; do
	t=""
	[ $tr = tcp ] && t=-t
	launch "lt-$tr-channel-peer" $t "${LT[@]}" "${P4[@]}" 127.0.0.1
	launch "lt-$tr-send-peer" $t -s "${LT[@]}" "${P4[@]}" 127.0.0.1
	launch "lt-$tr-channel-c2c" $t -y "${LT[@]}" 127.0.0.1
	launch "lt-$tr-send-c2c" $t -s -y "${LT[@]}" 127.0.0.1
done
launch rest-udp-channel-peer "${REST[@]}" "${P4[@]}" 127.0.0.1
launch rest-tcp-channel-peer -t "${REST[@]}" "${P4[@]}" 127.0.0.1
launch rest-udp-channel-c2c -y "${REST[@]}" 127.0.0.1
launch lt-udp-dont-fragment -g "${LT[@]}" "${P4[@]}" 127.0.0.1
# RFC 6062 TCP relay (-T: TCP to the server, TCP allocations, client to
# client): each client Connects to the other's relayed address, the other
# gets a ConnectionAttempt, both bind data connections.
launch lt-tcp-relay-c2c -T "${LT[@]}" 127.0.0.1
# The same over TLS (-S): with two workers, data connections whose
# ConnectionBind reaches the other one move there with their TLS session.
launch lt-tls-relay-c2c -T -S -p "$LT_TLS" -u alice -w secret 127.0.0.1
if [ -n "$PEER6" ]; then
	# IPv6 all the way: to the server on ::1, an IPv6 relay (-x asks with
	# REQUESTED-ADDRESS-FAMILY), the peer on ::1. -c: RTP sessions only.
	launch lt-ipv6-channel-peer -x -c "${LT[@]}" -e ::1 -r "$PEER6" ::1
	# With RTCP, uclient asks for an even port with EVEN-PORT(R) for the
	# RTP half and claims the odd one with RESERVATION-TOKEN: the reserved
	# port must keep its family (RFC 8656 §7.2).
	launch lt-ipv6-rtcp-token -x "${LT[@]}" -e ::1 -r "$PEER6" 127.0.0.1
fi
while [ ${#job_of[@]} -gt 0 ]; do reap_one; done
check "${#run_names[@]} load runs took $(($(date +%s) - started)) s, $JOBS at a time" \
	test ${#run_names[@]} -eq 16

# field FILE SED-EXPR: the last value the expression prints, or "?".
field() {
	local v
	v=$(sed -n "$2" "$1" | tail -n 1)
	echo "${v:-?}"
}

# all_arrived SENT RECEIVED LOST DROPPED: something was received, and all.
all_arrived() {
	[[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] && [ "$2" = "$1" ] && [ "$3" = 0 ] && [ "$4" = 0 ]
}

# clean_log FILE: no warning or error lines in a turnpiked log.
clean_log() { ! log_problems "$1"; }

for name in "${run_names[@]}"; do
	out=$TMP/u-$name.out
	rc=${job_rc[$name]}
	sent=$(field "$out" 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=.*/\1/p')
	recv=$(field "$out" 's/.*start_mclient: tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\)$/\1/p')
	lost=$(field "$out" 's/.*Total lost packets \([0-9]*\) .*/\1/p')
	dropped=$(field "$out" 's/.*total send dropped \([0-9]*\) .*/\1/p')
	rtt=$(field "$out" 's/.*Average round trip delay \([0-9.]*\) ms; min = [0-9]* ms, max = \([0-9]*\) ms$/\1 ms, max \2 ms/p')
	expect=$((N * M))
	before=$failed
	check "$name: uclient finished (status $rc), sent $sent of $expect" \
		test "$rc" -eq 0 -a "$sent" = "$expect"
	check "$name: received $recv of $sent, lost $lost, send dropped $dropped, rtt $rtt" \
		all_arrived "$sent" "$recv" "$lost" "$dropped"
	[ "$failed" -eq "$before" ] || grep -v "start_mclient: msz=" "$out" | tail -n 8 | sed "s/^/  $name: /"
done

check "long-term server still running" kill -0 "$LT_PID"
check "REST server still running" kill -0 "$REST_PID"
check "no warnings or errors in the long-term server's log" clean_log "$TMP/lt.log"
check "no warnings or errors in the REST server's log" clean_log "$TMP/rest.log"
check "SIGTERM stops the long-term server with status 0" stop_server "$LT_PID"
check "SIGTERM stops the REST server with status 0" stop_server "$REST_PID"
finish
