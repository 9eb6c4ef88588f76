#!/usr/bin/env bash
# natlab.sh - the NAT lab (issue 12): how often does a call need the relay?
#
# Builds its own network namespaces (names start with nl<PID>-, all removed
# on exit, also on failure and Ctrl-C): a "public" namespace with turnpiked
# on 203.0.113.1 (TEST-NET-3) behind a bridge, and for each NAT type two
# client namespaces (side a offers, side b answers), each behind its own NAT
# router namespace built with nftables (LAN 10.K.S.0/24). Then it runs one
# turnpike-peer call (--policy all, --data) for every unordered pair of NAT
# types, prints a table, asserts the expected outcomes, and compares the
# share of peers that fell back to the relay with turnpiked's /metrics.
#
# Usage: natlab.sh [--matrix TYPE=W,...]... [--parallel N] [--timeout S]
#                  [--data N] [--keep]
# Environment: top_builddir (where turnpiked, turnpikectl, turnpike-peer are;
# default ./build or .). Exit 0 when every assertion held, 1 when one failed,
# 77 when namespaces cannot be created here (not root, no nft, ...).
set -u

TYPES="nonat full restricted portrestricted symmetric udpblocked"
MATRIX=()
PARALLEL=7
TIMEOUT=20
DATA=20
KEEP=
usage() {
	sed -n '/^# Usage:/,/^# 77 when/p' "$0" | sed 's/^# \{0,1\}//'
	echo "NAT types: $TYPES (short: nonat full rc prc sym udp)"
	exit "${1:-2}"
}
while [ $# -gt 0 ]; do
	case $1 in
	--matrix) MATRIX+=("${2:?--matrix needs TYPE=W,...}") && shift ;;
	--matrix=*) MATRIX+=("${1#--matrix=}") ;;
	--parallel) PARALLEL=${2:?} && shift ;;
	--timeout) TIMEOUT=${2:?} && shift ;;
	--data) DATA=${2:?} && shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage 0 ;;
	*) echo "natlab: unknown option $1" >&2 && usage 2 ;;
	esac
	shift
done
for n in "$PARALLEL" "$TIMEOUT" "$DATA"; do
	[[ $n =~ ^[1-9][0-9]{0,3}$ ]] || { echo "natlab: bad number $n" >&2 && exit 2; }
done

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${top_builddir:-}" ]; then
	top_builddir=.
	[ -x build/turnpiked ] && top_builddir=build
fi
TURNPIKED=$top_builddir/turnpiked
CTL=$top_builddir/turnpikectl
PEER=$top_builddir/turnpike-peer
for b in "$TURNPIKED" "$CTL" "$PEER"; do
	[ -x "$b" ] || { echo "natlab: $b not built" >&2 && exit 1; }
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# skip REASON: this machine cannot host the lab.
skip() {
	echo "natlab: SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
for c in ip nft curl; do
	command -v "$c" >/dev/null || { echo "natlab: FAIL: $c is missing (scripts/deps.sh)" && exit 1; }
done

P=nl$$
PUB=$P-pub
NSES=""
PIDS=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/natlab.XXXXXX")

# any_alive PID...: whether one of them still runs.
any_alive() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

# cleanup: stops what we started (by PID), deletes our namespaces.
cleanup() {
	local p n peers
	trap - EXIT INT TERM
	# The peers of calls still running (each call's pids file), then ours.
	peers=$(cat "$TMP"/*/pids 2>/dev/null)
	for p in $peers $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	# The peers are the call subshells' children: wait (bounded) till gone.
	for _ in $(seq 1 50); do
		any_alive $peers || break
		sleep 0.1
	done
	for n in $NSES; do ip netns del "$n" 2>/dev/null; done
	if [ -n "$KEEP" ]; then echo "natlab: logs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo "natlab: interrupted"; exit 130' INT TERM

# ns NAME: creates namespace NAME with lo up, remembered for cleanup.
ns() {
	NSES="$1 $NSES" # first: a signal may come right after the add
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
}
inns() {
	local n=$1
	shift
	ip netns exec "$n" "$@"
}

# The public side: a bridge (the internet) with turnpiked on 203.0.113.1.
SERVER=203.0.113.1
echo "natlab: namespaces $P-*"
ns "$PUB" 2>"$TMP/ns.err" || skip "cannot create network namespaces: $(head -n1 "$TMP/ns.err")"
ip -n "$PUB" link add name br0 type bridge && ip -n "$PUB" link set br0 up &&
	ip -n "$PUB" addr add "$SERVER/24" dev br0 || skip "cannot create a bridge in a namespace"

# nat_rules TYPE WAN CLIENT: the router's nftables ruleset for a NAT type.
# Linux NAT (masquerade + conntrack) keeps the client's port when it is
# free, so the mapping is endpoint-independent, and lets in only replies
# to what went out (address-and-port-dependent filtering): that is the
# port-restricted cone. The others are built on it: full cone forwards
# every UDP packet to the client (endpoint-independent filtering);
# restricted cone forwards those from an address the client has sent to
# from that port (address-dependent filtering, a dynamic set); symmetric
# picks a random port per new flow (address-and-port-dependent mapping);
# udpblocked drops all UDP, so only TCP (TURN over TCP) gets out.
# UDP for the router itself is dropped in the input hook, before conntrack
# confirms it: else an early check from the other side leaves a conntrack
# entry whose reply tuple is the mapping the client is about to make, and
# the NAT picks another port (a symmetric NAT by accident).
nat_rules() {
	local type=$1 wan=$2 client=$3 masq=masquerade pre="" fwd=""
	case $type in
	full) pre="iif \"wan\" ip daddr $wan udp dport 1024-65535 dnat to $client" ;;
	restricted)
		fwd="iif \"lan\" oif \"wan\" meta l4proto udp update @seen { ip daddr . udp sport }"
		pre="iif \"wan\" ip daddr $wan ip saddr . udp dport @seen dnat to $client"
		;;
	portrestricted) ;;
	symmetric) masq="masquerade random" ;;
	udpblocked) fwd="meta l4proto udp drop" ;;
	esac
	cat <<EOF
table ip natlab {
	set seen {
		type ipv4_addr . inet_service
		flags dynamic,timeout
		timeout 120s
	}
	chain forward_lan {
		type filter hook forward priority filter; policy accept;
		$fwd
	}
	chain input_wan {
		type filter hook input priority filter; policy accept;
		iif "wan" meta l4proto udp drop
	}
	chain nat_in {
		type nat hook prerouting priority dstnat; policy accept;
		$pre
	}
	chain nat_out {
		type nat hook postrouting priority srcnat; policy accept;
		oif "wan" $masq
	}
}
EOF
}

# client K TYPE SIDE: the client namespace $P-TYPE-SIDE (and its router
# $P-TYPE-SIDE-r unless TYPE is nonat). Sets nothing; the client's address
# is in $TMP/TYPE-SIDE.ip.
client() {
	local k=$1 type=$2 side=$3 s c r wan lan
	s=$([ "$side" = a ] && echo 0 || echo 1)
	c=$P-$type-$side
	r=$c-r
	wan=203.0.113.$((10 + 2 * k + s))
	lan=10.$((k + 1)).$s
	ns "$c" || return 1
	if [ "$type" = nonat ]; then
		ip -n "$PUB" link add name "v$k$side" type veth peer name eth0 netns "$c" &&
			ip -n "$PUB" link set "v$k$side" master br0 up &&
			ip -n "$c" addr add "$wan/24" dev eth0 && ip -n "$c" link set eth0 up &&
			ip -n "$c" route add default via "$SERVER" || return 1
		echo "$wan" >"$TMP/$type-$side.ip"
		return 0
	fi
	ns "$r" || return 1
	ip -n "$PUB" link add name "v$k$side" type veth peer name wan netns "$r" &&
		ip -n "$PUB" link set "v$k$side" master br0 up &&
		ip -n "$r" addr add "$wan/24" dev wan && ip -n "$r" link set wan up &&
		ip -n "$r" link add name lan type veth peer name eth0 netns "$c" &&
		ip -n "$r" addr add "$lan.1/24" dev lan && ip -n "$r" link set lan up &&
		ip -n "$c" addr add "$lan.2/24" dev eth0 && ip -n "$c" link set eth0 up &&
		ip -n "$c" route add default via "$lan.1" &&
		inns "$r" sysctl -qw net.ipv4.ip_forward=1 || return 1
	nat_rules "$type" "$wan" "$lan.2" | inns "$r" nft -f - || return 1
	echo "$lan.2" >"$TMP/$type-$side.ip"
}

k=0
for t in $TYPES; do
	for side in a b; do
		client "$k" "$t" "$side" 2>>"$TMP/ns.err" ||
			{ echo "natlab: FAIL: cannot build the $t-$side namespaces:" && cat "$TMP/ns.err" && exit 1; }
	done
	k=$((k + 1))
done

# turnpiked with REST credentials and its hook on the public address.
# What runs in the background is started with "ip netns exec" itself (not
# through a function): it execs, so $! is the process to stop.
KEY=natlab-api-key-$$-0123456789abcdef
ip netns exec "$PUB" "$TURNPIKED" -c /dev/null --listening-ip "$SERVER" --listening-port 3478 \
	--relay-ip "$SERVER" --min-port 40000 --max-port 49999 --relay-threads 2 \
	--realm natlab.example --use-auth-secret --static-auth-secret "natlab-$$-secret" \
	--http-listen "$SERVER:9641" --rest-api-key "$KEY" --allowed-peer-ip 203.0.113.0/24 \
	>"$TMP/turnpiked.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
HOOK="http://$SERVER:9641/api/v1/turn/ice-servers?key=$KEY"
up=
for _ in $(seq 1 100); do
	inns "$PUB" "$CTL" stun "$SERVER:3478" --timeout 100 --quiet 2>/dev/null && up=1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$up" ] || { echo "natlab: FAIL: turnpiked did not start:" && cat "$TMP/turnpiked.log" && exit 1; }

# call A B: one call, offerer in A's side-a client, answerer in B's side-b
# client, descriptions through files; both bounded by --timeout.
call() {
	local a=$1 b=$2 d=$TMP/$1--$2
	mkdir -p "$d"
	ip netns exec "$P-$a-a" "$PEER" --offer --policy all --host-ip "$(cat "$TMP/$a-a.ip")" \
		--ice-servers "$HOOK" --local-sdp "$d/offer.sdp" --remote-sdp "$d/answer.sdp" \
		--timeout "$TIMEOUT" --data "$DATA" --verbose --verbose --json "$d/a.json" >"$d/a.out" 2>"$d/a.err" &
	local pa=$!
	echo "$pa" >>"$d/pids"
	ip netns exec "$P-$b-b" "$PEER" --answer --policy all --host-ip "$(cat "$TMP/$b-b.ip")" \
		--ice-servers "$HOOK" --local-sdp "$d/answer.sdp" --remote-sdp "$d/offer.sdp" \
		--timeout "$TIMEOUT" --data "$DATA" --verbose --verbose --json "$d/b.json" >"$d/b.out" 2>"$d/b.err" &
	local pb=$!
	echo "$pb" >>"$d/pids"
	wait "$pa"
	echo $? >"$d/a.rc"
	wait "$pb"
	echo $? >"$d/b.rc"
	rm -f "$d/pids" # both are gone: never signal their PIDs again
}

# Unordered pairs: ICE is symmetric in the NAT types (the roles only pick
# who nominates), so A-B and B-A take the same path; 21 calls, not 36.
PAIRS=()
set -- $TYPES
while [ $# -gt 0 ]; do
	for b in "$@"; do PAIRS+=("$1 $b"); done
	shift
done
echo "natlab: ${#PAIRS[@]} calls, $PARALLEL at a time, --timeout $TIMEOUT, --data $DATA"
t0=$(date +%s)
running=()
for pair in "${PAIRS[@]}"; do
	# shellcheck disable=SC2086
	call $pair &
	running+=($!)
	PIDS="$PIDS $!"
	if [ "${#running[@]}" -ge "$PARALLEL" ]; then
		wait "${running[0]}"
		running=("${running[@]:1}")
	fi
done
for p in "${running[@]}"; do wait "$p"; done
echo "natlab: calls done in $(($(date +%s) - t0)) s"

# Off loopback /metrics needs the API key (metrics-auth auto).
inns "$PUB" curl -s --max-time 5 -H "Authorization: Bearer $KEY" "http://$SERVER:9641/metrics" \
	>"$TMP/metrics.txt" ||
	echo "natlab: cannot fetch /metrics" >&2
inns "$PUB" "$CTL" report --http "$SERVER:9641" --key "$KEY" >"$TMP/report.txt" 2>&1 ||
	echo "natlab: turnpikectl report failed" >&2
printf '%s\n' "${PAIRS[@]}" >"$TMP/pairs"
args=()
for m in "${MATRIX[@]}"; do args+=(--matrix "$m"); done
NATLAB_DATA=$DATA "$PY" "$HERE/natlab_report.py" "$TMP" "${args[@]}"
rc=$?
echo "--- turnpikectl report"
cat "$TMP/report.txt"
exit $rc
