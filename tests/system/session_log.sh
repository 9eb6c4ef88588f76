#!/usr/bin/env bash
# session_log.sh - what an operator reads: one info line when an
# allocation starts and one when it ends, with user, realm, client and relay
# addresses, transport and the traffic each way, for a turnutils_uclient
# run, in log-format=text and json; refusals (bad password, quota, peer
# policy) say why, with the user name and never the password; a flood of
# refusals is rate-limited.
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer ss /usr/bin/python3; do
	command -v $t >/dev/null || skip "$t not installed"
done
[ "$skipped" -eq 0 ] || finish

udp_bound() { ss -Hnlu "sport = :$1" | awk '{ print $4 }' | grep -qxF "127.0.0.1:$1"; }
PEER=$("$FREEPORT")
turnutils_peer -L 127.0.0.1 -p "$PEER" >"$TMP/peer.log" 2>&1 &
PIDS="$PIDS $!"
check "turnutils_peer listens on 127.0.0.1:$PEER" within 5000 udp_bound "$PEER"

# run FORMAT: a server in that log format; a uclient run of 2 sessions x 20
# messages; a wrong password.
run() {
	local fmt=$1 log
	start_server "$fmt" --log-format "$fmt" --realm example.org --user alice:wonderland \
		--allow-loopback-peers --min-port 20000 --max-port 20099 ||
		{ fail "server start ($fmt)"; return 1; }
	log=$TMP/$fmt.log
	timeout 30 turnutils_uclient -p "$PORT" -u alice -w wonderland -n 20 -m 2 -l 100 \
		-e 127.0.0.1 -r "$PEER" 127.0.0.1 >"$TMP/u-$fmt.out" 2>&1
	uclient_counts "$TMP/u-$fmt.out"
	check "$fmt: uclient relayed $GOT of $SENT" test "$SENT" -gt 0 -a "$GOT" = "$SENT"
	timeout 10 turnutils_uclient -p "$PORT" -u alice -w not-the-password -n 1 -m 1 \
		-e 127.0.0.1 -r "$PEER" 127.0.0.1 >"$TMP/wrong-$fmt.out" 2>&1
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	check "$fmt: server stops with status 0 ($?)" test $? -eq 0
	forget_pid "$SERVER_PID"
}

run text
L=$TMP/text.log
created=$(grep -c 'info: allocation [0-9a-f]\{32\} created: user "alice" realm example.org, client udp 127.0.0.1:[0-9]*, relay 127.0.0.1:[0-9]*, lifetime [0-9]* s$' "$L")
ended=$(grep -c 'info: allocation [0-9a-f]\{32\} ended ([a-z ]*): user "alice" realm example.org, client udp 127.0.0.1:[0-9]*, relay 127.0.0.1:[0-9]*, after [0-9.]* s; client to peers [0-9]* packets [0-9]* bytes, peers to client [0-9]* packets [0-9]* bytes$' "$L")
check "text: a line for each allocation created ($created)" test "$created" -ge 2
check "text: and one for each ended, with the reason ($ended; $(grep -o 'ended ([a-z ]*)' "$L" | sort | uniq -c | tr -s ' ' | tr '\n' ','))" \
	test "$ended" = "$created" -a "$(grep -c 'ended (refresh)' "$L")" -ge 2
sed -n 's/.*\(allocation [0-9a-f]* created.*\)/  \1/p; s/.*\(allocation [0-9a-f]* ended.*\)/  \1/p' "$L" | head -n 2
# Every created id ends once, and the traffic adds up to what uclient sent.
ids_ok() {
	local id
	for id in $(sed -n 's/.*allocation \([0-9a-f]*\) created.*/\1/p' "$L"); do
		[ "$(grep -c "allocation $id ended" "$L")" = 1 ] || return 1
	done
}
check "text: each allocation that starts ends once, under the same id" ids_ok
sum=$(sed -n 's/.*client to peers \([0-9]*\) packets.*/\1/p' "$L" | awk '{ s += $1 } END { print s + 0 }')
check "text: packets from the client add up to what uclient sent ($sum of $SENT)" test "$sum" = "$SENT"
check "text: the wrong password is logged as such ($(grep -m1 'bad password' "$L" | sed 's/.*info: //'))" \
	grep -q 'info: Allocate from 127.0.0.1:[0-9]* (user "alice"): refused, 401: bad password$' "$L"
check_fails "text: the password appears nowhere in the log" grep -q -e not-the-password -e wonderland "$L"
check_fails "text: the first 401 challenge of each client is not logged as a refusal" \
	grep -q 'refused, 401: unknown user\|: refused, 401: Unauthorized' "$L"

run json
J=$TMP/json.log
/usr/bin/python3 - "$J" "$SENT" >"$TMP/json.out" 2>&1 <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
bad = [l for l in lines if not l.startswith("{")]
objs = [json.loads(l) for l in lines if l.startswith("{")]
print("ok - json: every line is one JSON object (%d lines, %d not)" % (len(objs), len(bad)) if not bad
      else "FAIL - json: lines that are not JSON: %r" % bad[:3])
print(("ok - " if all({"time", "level", "msg"} <= set(o) for o in objs) else "FAIL - ")
      + "json: each has time, level and msg")
ev = [o for o in objs if "event" in o]
created = [o["event"] for o in ev if o["event"].get("event") == "created"]
ended = [o["event"] for o in ev if o["event"].get("event") == "deleted"]
print(("ok - " if created and len(created) == len(ended) else "FAIL - ")
      + "json: %d allocations created, %d deleted, as events" % (len(created), len(ended)))
e = ended[0] if ended else {}
print(("ok - " if e.get("user") == "alice" and e.get("realm") == "example.org"
       and e.get("reason") == "refresh" and str(e.get("client", "")).startswith("127.0.0.1:")
       else "FAIL - ") + "json: the end event has user, realm, client, reason: %s" % json.dumps(e)[:300])
sent = sum(x.get("client_packets", 0) for x in ended)
print(("ok - " if str(sent) == sys.argv[2] else "FAIL - ")
      + "json: client_packets add up to what uclient sent (%d of %s)" % (sent, sys.argv[2]))
PY
take_lines "$TMP/json.out"
grep -q '^Traceback' "$TMP/json.out" && { fail "json check crashed"; cat "$TMP/json.out"; }

# The peer policy refuses loopback peers without allow-loopback-peers, and
# says so.
start_server policy --realm example.org --user alice:wonderland ||
	{ fail "server start (policy)"; finish; }
timeout 10 turnutils_uclient -p "$PORT" -u alice -w wonderland -n 1 -m 1 -e 127.0.0.1 -r "$PEER" \
	127.0.0.1 >"$TMP/u-policy.out" 2>&1
check "a refused peer: the log says which and why ($(grep -m1 'peer policy' "$TMP/policy.log" | sed 's/.*info: //'))" \
	grep -Eq "info: (CreatePermission|ChannelBind) from 127.0.0.1:[0-9]* \\(user \"alice\"\\): peer 127.0.0.1:[0-9]* refused by the peer policy \\((self|loopback)\\)" \
	"$TMP/policy.log"
stop_server "$SERVER_PID"
# Over user-quota: uclient -m 1 asks for 2 allocations (RTP and RTCP).
start_server quota --realm example.org --user alice:wonderland --user-quota 1 ||
	{ fail "server start (quota)"; finish; }
timeout 10 turnutils_uclient -p "$PORT" -u alice -w wonderland -n 1 -m 1 -e 127.0.0.1 -r "$PEER" \
	127.0.0.1 >"$TMP/u-quota.out" 2>&1
check "over user-quota: the refusal names the user and the reason ($(grep -m1 'refused, 486' "$TMP/quota.log" | sed 's/.*info: //'))" \
	grep -q 'info: Allocate from 127.0.0.1:[0-9]* (user "alice"): refused, 486: user-quota reached (allocations of this user)$' \
	"$TMP/quota.log"
# A flood of wrong passwords (500 Allocates from one client) is rate-limited.
cat >"$TMP/flood.py" <<'PY'
import hashlib, hmac, os, socket, struct, sys
sys.path.insert(0, sys.argv[2] + "/tests/system")
import turnlib
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[3])))  # one source: one worker's limiter
s.settimeout(1)
srv = ("127.0.0.1", int(sys.argv[1]))
txn = os.urandom(12)
s.sendto(turnlib.allocate(txn, None), srv)
nonce = turnlib.parse(s.recv(2048))[2][turnlib.A_NONCE]
turnlib.PASSWORD = "wrong"
for i in range(500):
    s.sendto(turnlib.allocate(os.urandom(12), nonce), srv)
got = 0
try:
    while True:
        s.recv(2048)
        got += 1
except socket.timeout:
    pass
print("answers", got)
PY
FLOOD_SRC=$("$FREEPORT")
flood() { /usr/bin/python3 "$TMP/flood.py" "$PORT" "$top_srcdir" "$FLOOD_SRC" >>"$TMP/flood.out" 2>&1; }
flood
sleep 1.2 # the next window: its first line reports what the last one suppressed
flood
n=$(grep -c 'refused, 401: bad password' "$TMP/quota.log")
check "2 x 500 wrong passwords: $n lines logged (20 a second at most; $(tr '\n' ' ' <"$TMP/flood.out"))" \
	test "$n" -ge 2 -a "$n" -le 80
check "... the rest reported as suppressed ($(grep -m1 'similar messages suppressed' "$TMP/quota.log" | sed 's/.*info: //'))" \
	grep -q "info: ([0-9]* similar messages suppressed)" "$TMP/quota.log"
finish
