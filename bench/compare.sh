#!/usr/bin/env bash
# compare.sh - turnpiked against coturn's turnserver in one run: both start
# on free loopback ports with equivalent settings (long-term credentials,
# loopback peers, the same number of relay threads), the same turnpike-bench
# scenarios run against each, one server after the other, and a table gives
# each figure with the ratio turnpiked / coturn. Both servers are stopped by
# PID on exit. Loopback only; every run is bounded (see bench/README.md).
set -u

usage() {
	cat <<EOF
Usage: bench/compare.sh [options]

  -b DIR        build directory (default: build next to this script's parent)
  -d SECONDS    sending time per run, 1-60 (default 5)
  -r N          runs per scenario and server, alternating the order (default 1);
                the table gives the median
  -T N          relay threads of each server (default 1: the per-core figure)
  -s "LIST"     scenarios (default: $DEFAULT_SCENARIOS)
                also: udp-many udp-video udp-paced-many
  -k DIR        keep the logs and raw results in DIR
  -q SECONDS    before each run, wait up to SECONDS (1-60) for the machine to
                be quiet (other processes under 10% of a core for 0.5 s)
  --no-pin      do not pin (with -T 1 the server runs on CPU 1, the
                generator on CPU 0)
  -h            this text
EOF
}

DEFAULT_SCENARIOS="binding udp-fwd udp-rev tcp-fwd tcp-rev udp-paced"
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$here/../build
DURATION=5
RUNS=1
THREADS=1
SCENARIOS=$DEFAULT_SCENARIOS
KEEP=""
QUIET=0
PIN=1
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$2; shift 2 ;;
	-d) DURATION=$2; shift 2 ;;
	-r) RUNS=$2; shift 2 ;;
	-T) THREADS=$2; shift 2 ;;
	-s) SCENARIOS=$2; shift 2 ;;
	-k) KEEP=$2; shift 2 ;;
	-q) QUIET=$2; shift 2 ;;
	--no-pin) PIN=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
# in_range OPTION VALUE LO HI: a whole number from LO to HI, or exit.
in_range() {
	case $2 in '' | *[!0-9]*) ;; *) if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then return 0; fi ;; esac
	echo "compare.sh: $1 wants a number from $3 to $4" >&2
	exit 2
}
in_range -d "$DURATION" 1 60
in_range -r "$RUNS" 1 9
in_range -T "$THREADS" 1 16
in_range -q "$QUIET" 0 60

BUILD=$(cd "$BUILD" && pwd) || exit 2
TURNPIKED=$BUILD/turnpiked
CTL=$BUILD/turnpikectl
BENCH=$BUILD/bench/turnpike-bench
COTURN=${COTURN:-/usr/bin/turnserver}
for f in "$TURNPIKED" "$CTL" "$BENCH"; do
	[ -x "$f" ] || { echo "compare.sh: $f missing: cd $BUILD && make" >&2; exit 2; }
done
[ -x "$COTURN" ] || { echo "compare.sh: $COTURN missing (Debian package coturn)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-bench.XXXXXX")
PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp -r "$TMP"/. "$KEEP"/ && echo "logs and raw results in $KEEP"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pinning: with one relay thread, the server gets CPU 1 and the generator
# CPU 0, so neither steals the other's core and every run sees the same.
SRV_PIN=()
GEN_PIN=()
if [ "$PIN" = 1 ] && [ "$THREADS" = 1 ] && command -v taskset >/dev/null &&
	[ "$(nproc)" -ge 2 ]; then
	SRV_PIN=(taskset -c 1)
	GEN_PIN=(taskset -c 0)
	pinning="server on CPU 1, generator on CPU 0"
else
	pinning="not pinned"
fi

# wait_ready NAME PID PORT: a Binding answer within 10 s.
wait_ready() {
	local i
	for i in $(seq 1 100); do
		"$CTL" stun "127.0.0.1:$3" --timeout 100 --quiet 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "$1 exited early:"; tail -n 20 "$TMP/$1.log"; return 1; }
		sleep 0.1
	done
	echo "$1 did not answer within 10 s"
	return 1
}

# Relay ports below the kernel's ephemeral range (32768-60999) and apart
# from the system tests' 20000-29999: 10000-14999 and 15000-19999.
TP_PORT=$("$BENCH" port) || exit 2
"${SRV_PIN[@]}" "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$TP_PORT" \
	--relay-ip 127.0.0.1 --min-port 10000 --max-port 14999 \
	--realm example.org --user alice:secret --allow-loopback-peers \
	--relay-threads "$THREADS" --log-level warning >"$TMP/turnpiked.log" 2>&1 &
TP_PID=$!
PIDS="$PIDS $TP_PID"
wait_ready turnpiked "$TP_PID" "$TP_PORT" || exit 1

CO_PORT=$("$BENCH" port) || exit 2
# coturn: -n no config file; no TLS/DTLS/CLI; its log to a file only.
"${SRV_PIN[@]}" "$COTURN" -n --listening-ip=127.0.0.1 --listening-port="$CO_PORT" \
	--relay-ip=127.0.0.1 --min-port=15000 --max-port=19999 \
	--realm=example.org --user=alice:secret --lt-cred-mech --allow-loopback-peers \
	--relay-threads="$THREADS" --no-tls --no-dtls --no-cli \
	--pidfile="$TMP/coturn.pid" --log-file="$TMP/coturn-file.log" --simple-log \
	--no-stdout-log >"$TMP/coturn.log" 2>&1 &
CO_PID=$!
PIDS="$PIDS $CO_PID"
wait_ready coturn "$CO_PID" "$CO_PORT" || exit 1
sleep 0.5 # coturn's relay threads come up after the listener answers

# scenario_args NAME: turnpike-bench arguments; scenario_desc NAME.
scenario_args() {
	case $1 in
	binding) echo "binding -c 4" ;;
	udp-fwd) echo "relay -n 16" ;;
	udp-rev) echo "relay -n 16 --reverse" ;;
	tcp-fwd) echo "relay -n 16 --tcp" ;;
	tcp-rev) echo "relay -n 16 --tcp --reverse" ;;
	udp-paced) echo "relay -n 200 -r 100" ;;
	udp-many) echo "relay -n 1000" ;;
	udp-video) echo "relay -n 16 -l 1200" ;;
	udp-paced-many) echo "relay -n 1000 -r 50" ;;
	*) return 1 ;;
	esac
}
scenario_desc() {
	case $1 in
	binding) echo "Binding requests, 4 sockets, flat out" ;;
	udp-fwd) echo "UDP client->peer, 16 allocs, 200 B, flat out" ;;
	udp-rev) echo "UDP peer->client, 16 allocs, 200 B, flat out" ;;
	tcp-fwd) echo "TCP client->peer, 16 allocs, 200 B, flat out" ;;
	tcp-rev) echo "TCP peer->client, 16 allocs, 200 B, flat out" ;;
	udp-paced) echo "UDP client->peer, 200 allocs x 100 pkt/s (20k/s)" ;;
	udp-many) echo "UDP client->peer, 1000 allocs, 200 B, flat out" ;;
	udp-video) echo "UDP client->peer, 16 allocs, 1200 B, flat out" ;;
	udp-paced-many) echo "UDP client->peer, 1000 allocs x 50 pkt/s (50k/s)" ;;
	esac
}
for s in $SCENARIOS; do
	scenario_args "$s" >/dev/null || { echo "compare.sh: unknown scenario $s" >&2; exit 2; }
done

# busy_ticks: busy time of all CPUs so far, in clock ticks (/proc/stat).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# wait_quiet: up to QUIET seconds for half a second in which everything
# else took under 10% of a core (5 ticks at 100 Hz).
wait_quiet() {
	local i a b
	for ((i = 0; i < QUIET * 2; i++)); do
		a=$(busy_ticks)
		sleep 0.5
		b=$(busy_ticks)
		[ $((b - a)) -le 5 ] && return 0
	done
	[ "$QUIET" -gt 0 ] && echo "  (the machine stayed busy for $QUIET s; running anyway)"
	return 0
}

# bench NAME SCENARIO RUN: one bounded turnpike-bench run; appends its
# result line, prefixed by server and scenario, to $TMP/results.
bench() {
	local name=$1 sc=$2 run=$3 port pid out
	if [ "$name" = turnpiked ]; then port=$TP_PORT pid=$TP_PID; else port=$CO_PORT pid=$CO_PID; fi
	kill -0 "$pid" 2>/dev/null || { echo "$name is not running" >&2; return 1; }
	out=$TMP/$name-$sc-$run.out
	wait_quiet
	# shellcheck disable=SC2046
	timeout $((DURATION + 90)) "${GEN_PIN[@]}" "$BENCH" $(scenario_args "$sc") \
		-s "127.0.0.1:$port" -p "$pid" -d "$DURATION" >"$out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || ! grep -q '^result ' "$out"; then
		echo "  $name $sc: turnpike-bench failed (status $rc):" >&2
		sed 's/^/    /' "$out" >&2
		return 1
	fi
	echo "$name $sc $(grep '^result ' "$out")" >>"$TMP/results"
	# coturn removes a released allocation up to a second later; a new
	# client on a reused port would get 437 meanwhile.
	sleep 1.5
	printf '  %-9s %-14s %s\n' "$name" "$sc" \
		"$(grep -E '^# (sent|server CPU|other load)' "$out" | sed 's/^# //' | tr '\n' ' ')"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# median NAME SCENARIO FIELD: the median over the runs.
median() {
	grep "^$1 $2 result " "$TMP/results" | field "$3" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

tp_ver=$("$TURNPIKED" --version 2>/dev/null | head -n 1)
co_ver=$(dpkg-query -W -f '${Version}' coturn 2>/dev/null || echo "?")
echo "turnpiked ($tp_ver) vs coturn $co_ver: $THREADS relay thread(s) each, $pinning"
echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), kernel $(uname -r)"
echo "${DURATION} s per run, $RUNS run(s) per scenario and server; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
started=$(date +%s)
: >"$TMP/results"
for sc in $SCENARIOS; do
	for run in $(seq 1 "$RUNS"); do
		# Alternate which server goes first, so drift hits both alike.
		if [ $((run % 2)) = 1 ]; then order="turnpiked coturn"; else order="coturn turnpiked"; fi
		for name in $order; do bench "$name" "$sc" "$run"; done
	done
done
echo

# share SCENARIO FIELD: the largest FIELD (CPU seconds) over the runs, in
# percent of one core.
share() {
	grep " $1 result " "$TMP/results" | while read -r line; do
		awk -v c="$(field "$2" <<<"$line")" -v d="$(field duration <<<"$line")" \
			'BEGIN { printf "%.0f\n", c < 0 ? 0 : 100 * c / d }'
	done | sort -n | tail -n 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
pct() { awk -v a="$1" 'BEGIN { if (a == "nan") printf "-"; else printf "%.2f%%", a }'; }

echo "Ratios are turnpiked / coturn: above 1 turnpiked relays more, or more per CPU-second."
echo "pkt/s: answers (binding) or datagrams delivered (relay) per second; CPU: the"
echo "server's user+system seconds over the run; pkt/CPU-s: packets per CPU-second."
echo
printf '%-15s %-48s %9s %9s %6s | %6s %6s | %9s %9s %6s | %7s %7s | %4s %4s\n' \
	scenario "" "tp pkt/s" "co pkt/s" ratio "tp CPU" "co CPU" "tp /CPU" "co /CPU" ratio \
	"tp loss" "co loss" "gen%" "oth%"
noisy=""
for sc in $SCENARIOS; do
	tp_pps=$(median turnpiked "$sc" pps)
	co_pps=$(median coturn "$sc" pps)
	tp_cpu=$(median turnpiked "$sc" server_cpu)
	co_cpu=$(median coturn "$sc" server_cpu)
	tp_eff=$(median turnpiked "$sc" pps_per_cpu)
	co_eff=$(median coturn "$sc" pps_per_cpu)
	tp_loss=$(median turnpiked "$sc" loss_pct)
	co_loss=$(median coturn "$sc" loss_pct)
	# The generator's busiest share of a core, and the most other load,
	# over both servers' runs.
	gen=$(share "$sc" gen_cpu)
	oth=$(share "$sc" other_cpu)
	[ "${oth:-0}" -gt 10 ] && noisy="$noisy $sc"
	printf '%-15s %-48s %9.0f %9.0f %6s | %6.2f %6.2f | %9.0f %9.0f %6s | %7s %7s | %4s %4s\n' \
		"$sc" "$(scenario_desc "$sc")" "$tp_pps" "$co_pps" "$(ratio "$tp_pps" "$co_pps")" \
		"$tp_cpu" "$co_cpu" "$tp_eff" "$co_eff" "$(ratio "$tp_eff" "$co_eff")" \
		"$(pct "$tp_loss")" "$(pct "$co_loss")" "${gen:--}" "${oth:--}"
done
echo
echo "gen%: the load generator's share of its core (near 100: it may limit pkt/s;"
echo "pkt/CPU-s stays fair). oth%: the most CPU other processes took during a run,"
echo "in percent of a core. Whole run: $(($(date +%s) - started)) s."
[ -z "$noisy" ] || echo "warning: other load above 10% of a core in:$noisy; those figures are skewed"
for name in turnpiked coturn; do
	pid=$TP_PID
	[ $name = coturn ] && pid=$CO_PID
	kill -0 "$pid" 2>/dev/null || echo "warning: $name died during the run"
done
