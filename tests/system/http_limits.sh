#!/usr/bin/env bash
# http_limits.sh - the HTTP listener under pressure: out of descriptors it
# pauses, and once they are back it answers again; clients that trickle a
# request byte by byte are closed at http-request-timeout; one client
# address holds no more than http-max-connections-per-source while other
# addresses are served, and http-max-connections holds for all; and under a
# low open file limit a pile of idle HTTP connections leaves TURN the
# descriptors it needs (an Allocate still succeeds). Every refusal is in
# the log and in /metrics.
. "$(dirname "$0")/lib.sh"

for t in curl python3; do
	command -v $t >/dev/null || skip "$t not installed (Debian package $t)"
done
[ "$skipped" -eq 0 ] || finish

# code URL [curl args]: the HTTP status of a request (000: no answer).
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }
code_is() { [ "$(code "$1" "${@:3}")" = "$2" ]; }
# mval NAME [LABEL="VALUE"]: a metric of $HTTP, summed over its samples.
mval() {
	curl -s --max-time 5 "$HTTP/metrics" | awk -v n="$1" -v l="${2:-}" '
		($1 == n || index($1, n "{") == 1) && (l == "" || index($1, l) > 0) { s += $2 }
		END { printf "%d\n", s }'
}

# The clients: connections held open from chosen loopback addresses, and
# requests trickled in a byte at a time. Bounded in count and time.
cat >"$TMP/clients.py" <<'PY'
import socket, sys, time
port = int(sys.argv[2])
def conn(src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s
def closed(s):
    """Whether the server closed s (EOF or reset) by now."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
if sys.argv[1] == "hold":
    # hold PORT SECONDS SRC:N...: N connections from each SRC; prints how
    # many are still open and how many the server closed at once, then
    # holds the open ones for SECONDS.
    socks = []
    for spec in sys.argv[4:]:
        src, n = spec.split(":")
        socks += [conn(src) for _ in range(int(n))]
    time.sleep(0.5)
    shut = sum(closed(s) for s in socks)
    print("%d %d" % (len(socks) - shut, shut), flush=True)
    time.sleep(float(sys.argv[3]))
elif sys.argv[1] == "trickle":
    # trickle PORT N: N connections each sending one byte of a header every
    # 0.3 s, for at most 8 s; prints how many the server closed and when
    # the first and the last of them was closed (ms after the connect).
    n = int(sys.argv[3])
    socks = [conn() for _ in range(n)]
    t0 = time.monotonic()
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    when = {}
    while len(when) < n and time.monotonic() - t0 < 8:
        time.sleep(0.3)
        for i, s in enumerate(socks):
            if i in when:
                continue
            try:
                s.send(b"a")
            except OSError:
                when[i] = time.monotonic() - t0
                continue
            if closed(s):
                when[i] = time.monotonic() - t0
            else:
                s.setblocking(True)
    t = sorted(when.values()) or [0]
    print("%d %d %d" % (len(when), int(t[0] * 1000), int(t[-1] * 1000)))
PY
# hold_start OUT SECONDS SRC:N...: holders in the background; waits until
# they have said how many connections stayed open.
hold_start() {
	local out=$1
	shift
	python3 "$TMP/clients.py" hold "$HPORT" "$@" >"$out" 2>&1 &
	HOLD_PID=$!
	PIDS="$PIDS $HOLD_PID"
	within 10000 test -s "$out"
}
hold_stop() {
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	forget_pid "$HOLD_PID"
}

# ---------------------------------------------------------------------------
# Out of descriptors: the listener pauses and then accepts again.
if command -v prlimit >/dev/null; then
	HPORT=$("$FREEPORT")
	HTTP=http://127.0.0.1:$HPORT
	start_server emfile --http-listen "127.0.0.1:$HPORT" || { fail "server start"; finish; }
	check "/healthz answers" code_is "$HTTP/healthz" 200
	soft=$(prlimit --pid "$SERVER_PID" --nofile --output SOFT --noheadings | tr -d ' ')
	# Fewer than it holds open already: every accept fails with EMFILE.
	prlimit --pid "$SERVER_PID" --nofile=8:
	check "out of descriptors: /healthz gets no answer" not code_is "$HTTP/healthz" 200
	check "the failed accept is logged" \
		within 3000 grep -q "http: accept: Too many open files" "$TMP/emfile.log"
	prlimit --pid "$SERVER_PID" --nofile="$soft":
	if within 4000 code_is "$HTTP/healthz" 200; then
		ok "descriptors back (limit $soft again): /healthz answers after $TOOK ms"
	else
		fail "descriptors back: /healthz answers again within 4 s"
	fi
	check "the failed accepts are counted ($(mval turnpike_http_accept_errors_total))" \
		test "$(mval turnpike_http_accept_errors_total)" -ge 1
	check "TURN answered throughout" "$CTL" stun "127.0.0.1:$PORT" --timeout 1000 --quiet
	check "no event armed on a wrong object" not grep -q "event_add" "$TMP/emfile.log"
	check "SIGTERM stops it with status 0" stop_server "$SERVER_PID"
else
	skip "prlimit not installed (Debian package util-linux)"
fi

# ---------------------------------------------------------------------------
# A request trickled a byte at a time (each byte restarts the 5 s idle
# timeout) is closed at http-request-timeout all the same.
HPORT=$("$FREEPORT")
HTTP=http://127.0.0.1:$HPORT
start_server trickle --http-listen "127.0.0.1:$HPORT" --http-request-timeout 2 ||
	{ fail "server start (trickle)"; finish; }
python3 "$TMP/clients.py" trickle "$HPORT" 10 >"$TMP/trickle.out" 2>&1 &
TRICKLE_PID=$!
PIDS="$PIDS $TRICKLE_PID"
sleep 0.5
check "another client is served meanwhile" code_is "$HTTP/healthz" 200
wait "$TRICKLE_PID"
forget_pid "$TRICKLE_PID"
read -r closed first last <"$TMP/trickle.out"
check "10 trickling clients closed (${closed:-?} of 10)" test "${closed:-0}" = 10
check "at the 2 s deadline (first after ${first:-?} ms, last after ${last:-?} ms)" \
	test "${first:-0}" -ge 1800 -a "${last:-0}" -le 3500
check "counted: http_connections_timed_out_total $(mval turnpike_http_connections_timed_out_total)" \
	test "$(mval turnpike_http_connections_timed_out_total)" = 10
check "and logged" grep -q "closed: no whole request within 2 s (http-request-timeout)" \
	"$TMP/trickle.log"
check "SIGTERM stops it with status 0" stop_server "$SERVER_PID"

# ---------------------------------------------------------------------------
# One address holds its share; others are served; the cap holds for all.
HPORT=$("$FREEPORT")
HTTP=http://127.0.0.1:$HPORT
start_server share --http-listen "127.0.0.1:$HPORT" --http-max-connections 12 \
	--http-max-connections-per-source 4 || { fail "server start (share)"; finish; }
check "holders started" hold_start "$TMP/hold1.out" 4 127.0.0.1:10
read -r open shut <"$TMP/hold1.out"
check "127.0.0.1 opens 10: 4 stay open, 6 are closed at once ($open open, $shut closed)" \
	test "$open" = 4 -a "$shut" = 6
check "another address is served meanwhile" code_is "$HTTP/healthz" 200 --interface 127.0.0.2
check "127.0.0.1 is not" not code_is "$HTTP/healthz" 200 --interface 127.0.0.1
pid1=$HOLD_PID
check "two more addresses fill the cap" hold_start "$TMP/hold2.out" 4 127.0.0.3:4 127.0.0.4:4
read -r open shut <"$TMP/hold2.out"
check "  ($open open, $shut closed)" test "$open" = 8 -a "$shut" = 0
check "cap of 12 reached: a fifth address is not served" \
	not code_is "$HTTP/healthz" 200 --interface 127.0.0.5
hold_stop
HOLD_PID=$pid1
hold_stop
if within 3000 code_is "$HTTP/healthz" 200; then
	ok "the holders gone, 127.0.0.1 is served again after $TOOK ms"
else
	fail "the holders gone, 127.0.0.1 is served again"
fi
check "refused for the share: counted ($(mval turnpike_http_connections_refused_total 'reason="source"'))" \
	test "$(mval turnpike_http_connections_refused_total 'reason="source"')" -ge 7
check "refused at the cap: counted ($(mval turnpike_http_connections_refused_total 'reason="full"'))" \
	test "$(mval turnpike_http_connections_refused_total 'reason="full"')" -ge 1
check "the limit is in /metrics" test "$(mval turnpike_http_connections_limit)" = 12
check "logged: the share" grep -q "refused: its address holds 4 connections.*per-source" \
	"$TMP/share.log"
check "logged: the cap" grep -q "refused: 12 connections open.*(http-max-connections)" \
	"$TMP/share.log"
check "SIGTERM stops it with status 0" stop_server "$SERVER_PID"

# ---------------------------------------------------------------------------
# Open file limit 200: 220 idle HTTP connections from 10 addresses leave
# TURN its descriptors.
printf '#!/bin/sh\nulimit -n 200 || exit 1\nexec "%s" "$@"\n' "$TURNPIKED" >"$TMP/lowfd.sh"
chmod +x "$TMP/lowfd.sh"
REAL=$TURNPIKED
TURNPIKED=$TMP/lowfd.sh
HPORT=$("$FREEPORT")
HTTP=http://127.0.0.1:$HPORT
start_server lowfd --http-listen "127.0.0.1:$HPORT" --realm example.org --user alice:s3cret \
	--relay-ip 127.0.0.1 --min-port 20000 --max-port 29999 ||
	{ fail "server start (lowfd)"; finish; }
TURNPIKED=$REAL
check "the open file limit is 200" grep -q "^Max open files *200 " "/proc/$SERVER_PID/limits"
check "the HTTP cap is a quarter of it, said at start" \
	grep -q "http: at most 50 connections, not 256" "$TMP/lowfd.log"
srcs=""
for i in $(seq 11 20); do srcs="$srcs 127.0.0.$i:22"; done
# shellcheck disable=SC2086
check "220 idle HTTP connections" hold_start "$TMP/hold3.out" 4 $srcs
read -r open shut <"$TMP/hold3.out"
check "  $open of them held open, $shut closed at once" test "$open" = 50 -a "$shut" = 170
out=$("$CTL" turn "127.0.0.1:$PORT" --user alice --password s3cret --timeout 2000 2>&1)
rc=$?
check "an Allocate still succeeds (status $rc: $(head -n 1 <<<"$out"))" \
	eval '[ $rc -eq 0 ] && grep -q "^relayed-address: 127.0.0.1:" <<<"$out"'
out=$("$CTL" turn "127.0.0.1:$PORT" --tcp --user alice --password s3cret --timeout 2000 2>&1)
rc=$?
check "and one over TCP (status $rc: $(head -n 1 <<<"$out"))" test $rc -eq 0
hold_stop
check "refusals at the cap counted ($(mval turnpike_http_connections_refused_total 'reason="full"'))" \
	test "$(mval turnpike_http_connections_refused_total 'reason="full"')" -ge 170
# Accepting pauses after a batch until it has been looked at: the burst
# never came near the descriptors kept for TURN.
check "none refused for want of descriptors" \
	test "$(mval turnpike_http_connections_refused_total 'reason="descriptors"')" = 0
check "no accept ran out of descriptors" not grep -q "http: accept:" "$TMP/lowfd.log"
check "SIGTERM stops it with status 0" stop_server "$SERVER_PID"
finish
