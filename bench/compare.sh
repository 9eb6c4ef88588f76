#!/usr/bin/env bash
# compare.sh - turnpiked against coturn's turnserver in one run: both start
# on free loopback ports with equivalent settings (long-term credentials,
# loopback peers, the same number of relay threads), the same turnpike-bench
# scenarios run against each, one server after the other, and a table gives
# each figure with the ratio turnpiked / coturn. The UDP relay, latency and
# allocation scenarios also run against bench/turnpike-fwd, a batched
# forwarder with TURN's data path and none of its protocol: the "physical
# limit" column. Every server is stopped by PID on exit. Loopback only;
# every run is bounded (see bench/README.md).
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
                (tls-*: TURN over TLS, each server on a TLS port of its own
                with one throwaway P-256 certificate; tcp-rev-100k and
                tls-rev-100k: at a rate the generator keeps up with, for
                the server's CPU per packet when the flat-out runs leave
                the generator at 100%)
                also: udp-many udp-video udp-paced-many, r1 r10 r100 r1000
                r10000 (UDP relay, N allocations, 200 B), v1 ... v10000 (the
                same, 1200 B), lat-10k lat-50k (round trips at a fixed rate),
                alloc (allocations per CPU-second), mem-10k mem-100k (memory
                per allocation, each server fresh); groups: relay, latency,
                memory, all
  -k DIR        keep the logs and raw results in DIR
  -q SECONDS    before each run, wait up to SECONDS (1-60) for the machine to
                be quiet (other processes under 10% of a core for 0.5 s)
  --no-pin      do not pin (with -T 1 the server runs on CPU 1, the
                generator on CPU 0)
  -h            this text
EOF
}

DEFAULT_SCENARIOS="binding udp-fwd udp-rev tcp-fwd tcp-rev tls-fwd tls-rev udp-paced"
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
FWD=$BUILD/bench/turnpike-fwd
COTURN=${COTURN:-/usr/bin/turnserver}
for f in "$TURNPIKED" "$CTL" "$BENCH" "$FWD"; do
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
# Both servers take TLS (tls-* scenarios) with this certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.log" 2>&1 ||
	{ echo "compare.sh: openssl could not make a certificate:" >&2; cat "$TMP/openssl.log" >&2; exit 2; }

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

# wait_ready NAME PID PORT: a Binding answer within 10 s (turnpike-fwd:
# its log line, it speaks no STUN).
wait_ready() {
	local i
	for i in $(seq 1 100); do
		if [ "$1" = fwd ]; then
			ss -Hlun "sport = :$3" 2>/dev/null | grep -q . && return 0
		else
			"$CTL" stun "127.0.0.1:$3" --timeout 100 --quiet 2>/dev/null && return 0
		fi
		kill -0 "$2" 2>/dev/null || { echo "$1 exited early:"; tail -n 20 "$TMP/$1.log"; return 1; }
		sleep 0.1
	done
	echo "$1 did not answer within 10 s"
	return 1
}

# Each server relays on an address of its own, so the three never meet in
# a port, with ports below the kernel's ephemeral range (32768-60999):
# room for 10,000 allocations and more. The descriptor limit is raised to
# the hard one (allocations hold a relay socket each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
TP_RELAY=127.0.3.1 CO_RELAY=127.0.4.1 FW_RELAY=127.0.5.1
MIN_PORT=10000 MAX_PORT=31999
TP_PID="" CO_PID="" FW_PID=""

# start NAME: starts that server on a free port (TP_PORT/CO_PORT/FW_PORT,
# TP_PID/...) and waits until it answers.
start() {
	local port pid tport
	port=$("$BENCH" port) || exit 2
	tport=$("$BENCH" port) || exit 2
	case $1 in
	turnpiked)
		"${SRV_PIN[@]}" "$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$port" \
			--tls-listening-port "$tport" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" --no-dtls \
			--relay-ip "$TP_RELAY" --min-port "$MIN_PORT" --max-port "$MAX_PORT" \
			--realm example.org --user alice:secret --allow-loopback-peers \
			--user-quota 0 --source-quota 0 --unauth-rate-limit 0 \
			--relay-threads "$THREADS" --log-level warning >>"$TMP/turnpiked.log" 2>&1 &
		pid=$! TP_PID=$pid TP_PORT=$port TP_TLS_PORT=$tport ;;
	coturn)
		# -n no config file; TLS on its own port, no DTLS, no CLI; its
		# log to a file only.
		"${SRV_PIN[@]}" "$COTURN" -n --listening-ip=127.0.0.1 --listening-port="$port" \
			--relay-ip="$CO_RELAY" --min-port="$MIN_PORT" --max-port="$MAX_PORT" \
			--realm=example.org --user=alice:secret --lt-cred-mech --allow-loopback-peers \
			--relay-threads="$THREADS" --tls-listening-port="$tport" --cert="$TMP/cert.pem" \
			--pkey="$TMP/key.pem" --no-dtls --no-cli \
			--pidfile="$TMP/coturn.pid" --log-file="$TMP/coturn-file.log" --simple-log \
			--no-stdout-log >>"$TMP/coturn.log" 2>&1 &
		pid=$! CO_PID=$pid CO_PORT=$port CO_TLS_PORT=$tport ;;
	fwd)
		"${SRV_PIN[@]}" "$FWD" -l "127.0.0.1:$port" -r "$FW_RELAY" -t 7200 >>"$TMP/fwd.log" 2>&1 &
		pid=$! FW_PID=$pid FW_PORT=$port ;;
	esac
	PIDS="$PIDS $pid"
	wait_ready "$1" "$pid" "$port" || exit 1
	# coturn's relay threads come up after the listener answers
	[ "$1" = coturn ] && sleep 0.5
	return 0
}

# stop NAME: stops that server by PID and waits for it.
stop() {
	local pid
	case $1 in turnpiked) pid=$TP_PID ;; coturn) pid=$CO_PID ;; fwd) pid=$FW_PID ;; esac
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
	case $1 in turnpiked) TP_PID="" ;; coturn) CO_PID="" ;; fwd) FW_PID="" ;; esac
}

# scenario_args NAME: turnpike-bench arguments; scenario_desc NAME.
scenario_args() {
	case $1 in
	binding) echo "binding -c 4" ;;
	udp-fwd) echo "relay -n 16" ;;
	udp-rev) echo "relay -n 16 --reverse" ;;
	tcp-fwd) echo "relay -n 16 --tcp" ;;
	tcp-rev) echo "relay -n 16 --tcp --reverse" ;;
	tls-fwd) echo "relay -n 16 --tls" ;;
	tls-rev) echo "relay -n 16 --tls --reverse" ;;
	tcp-rev-100k) echo "relay -n 16 --tcp --reverse -r 6250" ;;
	tls-rev-100k) echo "relay -n 16 --tls --reverse -r 6250" ;;
	udp-paced) echo "relay -n 200 -r 100" ;;
	udp-many) echo "relay -n 1000" ;;
	udp-video) echo "relay -n 16 -l 1200" ;;
	udp-paced-many) echo "relay -n 1000 -r 50" ;;
	r1 | r10 | r100 | r1000 | r10000) echo "relay -n ${1#r}" ;;
	v1 | v10 | v100 | v1000 | v10000) echo "relay -n ${1#v} -l 1200" ;;
	lat-10k) echo "relay -n 100 -r 100 --echo" ;;
	lat-50k) echo "relay -n 100 -r 500 --echo" ;;
	alloc) echo "alloc -n 5000" ;;
	mem-10k) echo "alloc -n 10000" ;;
	mem-100k) echo "alloc -n 100000" ;;
	*) return 1 ;;
	esac
}
# scenario_kind NAME: rate (pkt/s table), lat, or mem (a fresh server).
scenario_kind() {
	case $1 in
	lat-*) echo lat ;;
	mem-*) echo mem ;;
	alloc) echo alloc ;;
	*) echo rate ;;
	esac
}
# with_fwd NAME: whether turnpike-fwd runs it too (UDP data and setup).
with_fwd() {
	case $1 in binding | tcp-* | tls-*) return 1 ;; *) return 0 ;; esac
}
scenario_desc() {
	case $1 in
	binding) echo "Binding requests, 4 sockets, flat out" ;;
	udp-fwd) echo "UDP client->peer, 16 allocs, 200 B, flat out" ;;
	udp-rev) echo "UDP peer->client, 16 allocs, 200 B, flat out" ;;
	tcp-fwd) echo "TCP client->peer, 16 allocs, 200 B, flat out" ;;
	tcp-rev) echo "TCP peer->client, 16 allocs, 200 B, flat out" ;;
	tls-fwd) echo "TLS client->peer, 16 allocs, 200 B, flat out" ;;
	tls-rev) echo "TLS peer->client, 16 allocs, 200 B, flat out" ;;
	tcp-rev-100k) echo "TCP peer->client, 16 allocs x 6250 pkt/s (100k/s)" ;;
	tls-rev-100k) echo "TLS peer->client, 16 allocs x 6250 pkt/s (100k/s)" ;;
	udp-paced) echo "UDP client->peer, 200 allocs x 100 pkt/s (20k/s)" ;;
	udp-many) echo "UDP client->peer, 1000 allocs, 200 B, flat out" ;;
	udp-video) echo "UDP client->peer, 16 allocs, 1200 B, flat out" ;;
	udp-paced-many) echo "UDP client->peer, 1000 allocs x 50 pkt/s (50k/s)" ;;
	r*) echo "UDP client->peer, ${1#r} allocs, 200 B, flat out" ;;
	v*) echo "UDP client->peer, ${1#v} allocs, 1200 B, flat out" ;;
	lat-10k) echo "echo round trips, 100 allocs x 100 pkt/s" ;;
	lat-50k) echo "echo round trips, 100 allocs x 500 pkt/s" ;;
	alloc) echo "5000 allocations with a channel, 64 in flight" ;;
	mem-10k) echo "10,000 live allocations, a channel each" ;;
	mem-100k) echo "100,000 live allocations, a channel each" ;;
	esac
}
# Groups.
expanded=""
for s in $SCENARIOS; do
	case $s in
	relay) expanded="$expanded r1 r10 r100 r1000 r10000 v1 v10 v100 v1000 v10000" ;;
	latency) expanded="$expanded lat-10k lat-50k" ;;
	memory) expanded="$expanded alloc mem-10k mem-100k" ;;
	all) expanded="$expanded $DEFAULT_SCENARIOS r1 r10 r100 r1000 r10000 v1 v10 v100 v1000 v10000 lat-10k lat-50k alloc mem-10k mem-100k" ;;
	*) expanded="$expanded $s" ;;
	esac
done
SCENARIOS=$expanded
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
	local name=$1 sc=$2 run=$3 port pid out extra=""
	case $name in
	turnpiked) port=$TP_PORT pid=$TP_PID ;;
	coturn) port=$CO_PORT pid=$CO_PID ;;
	fwd) port=$FW_PORT pid=$FW_PID extra=--fwd ;;
	esac
	case $sc in tls-*) [ "$name" = turnpiked ] && port=$TP_TLS_PORT || port=$CO_TLS_PORT ;; esac
	kill -0 "$pid" 2>/dev/null || { echo "$name is not running" >&2; return 1; }
	out=$TMP/$name-$sc-$run.out
	wait_quiet
	# shellcheck disable=SC2046
	timeout $((DURATION + 150)) "${GEN_PIN[@]}" "$BENCH" $(scenario_args "$sc") $extra \
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
		"$(grep -E '^# (sent|server|other load|round|alloc)' "$out" | sed 's/^# //' | tr '\n' ' ')"
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
echo "turnpiked ($tp_ver) vs coturn $co_ver vs turnpike-fwd: $THREADS relay thread(s) each, $pinning"
echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), kernel $(uname -r)"
echo "${DURATION} s per run, $RUNS run(s) per scenario and server; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
started=$(date +%s)
: >"$TMP/results"
for sc in $SCENARIOS; do
	kind=$(scenario_kind "$sc")
	if [ "$sc" = mem-100k ] && [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 101000 ]; then
		echo "  $sc: skipped: the open file limit (ulimit -Hn $(ulimit -Hn)) holds fewer than 100,000 relay sockets"
		continue
	fi
	for run in $(seq 1 "$RUNS"); do
		# Alternate which server goes first, so drift hits both alike.
		if [ $((run % 2)) = 1 ]; then order="turnpiked coturn"; else order="coturn turnpiked"; fi
		with_fwd "$sc" && order="$order fwd"
		for name in $order; do
			if [ "$kind" = mem ]; then
				# Memory: each server fresh and alone.
				stop "$name"
				start "$name"
				bench "$name" "$sc" "$run"
				stop "$name"
			else
				case $name in
				turnpiked) [ -n "$TP_PID" ] || start turnpiked ;;
				coturn) [ -n "$CO_PID" ] || start coturn ;;
				# turnpike-fwd never frees a relay (it has no
				# lifetimes): a fresh one for every run.
				fwd) stop fwd; start fwd ;;
				esac
				bench "$name" "$sc" "$run"
			fi
		done
	done
done
echo

# share SCENARIO FIELD: the largest FIELD (CPU seconds) over the runs, in
# percent of one core.
share() {
	grep " $1 result " "$TMP/results" | while read -r line; do
		awk -v c="$(field "$2" <<<"$line")" -v d="$(field duration <<<"$line")" \
			'BEGIN { printf "%.0f\n", c < 0 || d <= 0 ? 0 : 100 * c / d }'
	done | sort -n | tail -n 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
pct() { awk -v a="$1" 'BEGIN { if (a == "nan") printf "-"; else printf "%.2f%%", a }'; }
num() { awk -v a="$1" 'BEGIN { if (a == "nan" || a + 0 < 0) printf "-"; else printf "%.0f", a }'; }

noisy=""
note_noise() {
	local oth
	oth=$(share "$1" other_cpu)
	[ "${oth:-0}" -gt 10 ] && noisy="$noisy $1"
	echo "${oth:--}"
}
has_kind() {
	local sc
	for sc in $SCENARIOS; do [ "$(scenario_kind "$sc")" = "$1" ] && return 0; done
	return 1
}

if has_kind rate; then
	echo "Ratios tp/co are turnpiked / coturn (above 1 turnpiked relays more, or more per"
	echo "CPU-second); tp/fw turnpiked / turnpike-fwd (the forwarder: 1 is the limit)."
	echo "pkt/s: answers (binding) or datagrams delivered (relay) per second; CPU: the"
	echo "server's user+system seconds over the run; pkt/CPU-s: packets per CPU-second."
	echo
	printf '%-10s %-46s %8s %8s %8s %5s | %5s %5s | %8s %8s %8s %5s %5s | %6s %6s | %4s %4s\n' \
		scenario "" "tp pkt/s" "co pkt/s" "fw pkt/s" tp/co "tpCPU" "coCPU" "tp /CPU" "co /CPU" \
		"fw /CPU" tp/co tp/fw "tploss" "coloss" "gen%" "oth%"
	for sc in $SCENARIOS; do
		[ "$(scenario_kind "$sc")" = rate ] || continue
		for v in pps server_cpu pps_per_cpu loss_pct; do
			for n in turnpiked coturn fwd; do
				eval "${n:0:2}_$v=\$(median $n $sc $v)"
			done
		done
		gen=$(share "$sc" gen_cpu)
		oth=$(note_noise "$sc")
		# shellcheck disable=SC2154
		printf '%-10s %-46s %8s %8s %8s %5s | %5.2f %5.2f | %8s %8s %8s %5s %5s | %6s %6s | %4s %4s\n' \
			"$sc" "$(scenario_desc "$sc")" "$(num "$tu_pps")" "$(num "$co_pps")" "$(num "$fw_pps")" \
			"$(ratio "$tu_pps" "$co_pps")" "$tu_server_cpu" "$co_server_cpu" \
			"$(num "$tu_pps_per_cpu")" "$(num "$co_pps_per_cpu")" "$(num "$fw_pps_per_cpu")" \
			"$(ratio "$tu_pps_per_cpu" "$co_pps_per_cpu")" "$(ratio "$tu_pps_per_cpu" "$fw_pps_per_cpu")" \
			"$(pct "$tu_loss_pct")" "$(pct "$co_loss_pct")" "${gen:--}" "${oth:--}"
	done
	echo
fi
if has_kind lat; then
	echo "Round trips client -> server -> echo peer -> server -> client (each packet"
	echo "crosses the server twice), in microseconds; ratios turnpiked / other: below 1"
	echo "turnpiked is quicker."
	echo
	printf '%-10s %-42s | %7s %7s %7s | %7s %7s %7s | %5s %5s %5s %5s | %4s\n' scenario "" \
		"tp p50" "co p50" "fw p50" "tp p99" "co p99" "fw p99" "p50co" "p99co" "p50fw" "p99fw" "oth%"
	for sc in $SCENARIOS; do
		[ "$(scenario_kind "$sc")" = lat ] || continue
		for v in rtt_p50_us rtt_p99_us; do
			for n in turnpiked coturn fwd; do eval "${n:0:2}_$v=\$(median $n $sc $v)"; done
		done
		oth=$(note_noise "$sc")
		printf '%-10s %-42s | %7s %7s %7s | %7s %7s %7s | %5s %5s %5s %5s | %4s\n' "$sc" \
			"$(scenario_desc "$sc")" "$(num "$tu_rtt_p50_us")" "$(num "$co_rtt_p50_us")" \
			"$(num "$fw_rtt_p50_us")" "$(num "$tu_rtt_p99_us")" "$(num "$co_rtt_p99_us")" \
			"$(num "$fw_rtt_p99_us")" "$(ratio "$tu_rtt_p50_us" "$co_rtt_p50_us")" \
			"$(ratio "$tu_rtt_p99_us" "$co_rtt_p99_us")" "$(ratio "$tu_rtt_p50_us" "$fw_rtt_p50_us")" \
			"$(ratio "$tu_rtt_p99_us" "$fw_rtt_p99_us")" "${oth:--}"
	done
	echo
fi
if has_kind alloc || has_kind mem; then
	echo "Allocations (each with a permission and a channel, 64 setups in flight): per"
	echo "second, per server CPU-second, and the server's resident memory per live"
	echo "allocation (mem-*: each server fresh; kernel socket memory not included)."
	echo
	printf '%-10s %-42s | %8s %8s %8s | %8s %8s %8s %5s | %7s %7s %7s %5s | %4s\n' scenario "" \
		"tp /s" "co /s" "fw /s" "tp /CPU" "co /CPU" "fw /CPU" tp/co "tp B" "co B" "fw B" tp/co "oth%"
	for sc in $SCENARIOS; do
		case $(scenario_kind "$sc") in alloc | mem) ;; *) continue ;; esac
		for v in pps pps_per_cpu bytes_per_alloc; do
			for n in turnpiked coturn fwd; do eval "${n:0:2}_$v=\$(median $n $sc $v)"; done
		done
		oth=$(note_noise "$sc")
		# Memory only means something on a fresh server (mem-*).
		if [ "$(scenario_kind "$sc")" = alloc ]; then
			tu_bytes_per_alloc=nan co_bytes_per_alloc=nan fw_bytes_per_alloc=nan
		fi
		printf '%-10s %-42s | %8s %8s %8s | %8s %8s %8s %5s | %7s %7s %7s %5s | %4s\n' "$sc" \
			"$(scenario_desc "$sc")" "$(num "$tu_pps")" "$(num "$co_pps")" "$(num "$fw_pps")" \
			"$(num "$tu_pps_per_cpu")" "$(num "$co_pps_per_cpu")" "$(num "$fw_pps_per_cpu")" \
			"$(ratio "$tu_pps_per_cpu" "$co_pps_per_cpu")" "$(num "$tu_bytes_per_alloc")" \
			"$(num "$co_bytes_per_alloc")" "$(num "$fw_bytes_per_alloc")" \
			"$(ratio "$tu_bytes_per_alloc" "$co_bytes_per_alloc")" "${oth:--}"
	done
	echo
fi
echo "gen%: the load generator's share of its core (near 100: it may limit pkt/s;"
echo "pkt/CPU-s stays fair). oth%: the most CPU other processes took during a run,"
echo "in percent of a core. Whole run: $(($(date +%s) - started)) s."
[ -z "$noisy" ] || echo "warning: other load above 10% of a core in:$noisy; those figures are skewed"
for name in turnpiked coturn fwd; do
	case $name in turnpiked) pid=$TP_PID ;; coturn) pid=$CO_PID ;; fwd) pid=$FW_PID ;; esac
	[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || echo "warning: $name died during the run"
done
