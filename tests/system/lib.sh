# lib.sh - shared by the system tests: temp dir, a turnpiked on a free
# loopback port, stopping only what we started (by PID), and the tally.
# shellcheck shell=bash
set -u
# Debian's programs first: the Python with python3-aioice/-aiortc, and no
# pyenv shim in front of every python3 (it took 1.5 s a call under load,
# longer than some tests wait for a helper socket).
PATH=/usr/bin:/bin:$PATH

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
TURNPIKED=$top_builddir/turnpiked
CTL=$top_builddir/turnpikectl
FREEPORT=$top_builddir/tests/tools/freeport
TMP=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-test.XXXXXX")
PIDS=""
passed=0
failed=0
skipped=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
skip() { skipped=$((skipped + 1)); echo "skip - $*"; }

# check DESCRIPTION COMMAND...: one assertion.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# check_fails DESCRIPTION COMMAND...: an assertion that the command fails.
check_fails() {
	local desc=$1
	shift
	if "$@"; then fail "$desc"; else ok "$desc"; fi
}

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# within MS COMMAND...: runs the command every 50 ms until it succeeds, for
# at most MS milliseconds. Sets TOOK to the milliseconds from the first try
# to the start of the one that succeeded.
within() {
	local limit=$1 t0 t
	shift
	t0=$(now_ms)
	while :; do
		t=$(now_ms)
		[ $((t - t0)) -gt "$limit" ] && return 1
		if "$@"; then
			TOOK=$((t - t0))
			return 0
		fi
		sleep 0.05
	done
}

. "$(dirname "${BASH_SOURCE[0]}")/exclusive.sh"

# not COMMAND...: succeeds when the command fails.
not() { ! "$@"; }

# cleanup: stops what the test started; removes the temp dir unless
# KEEP_TMP is set (to read the logs of a failed run).
cleanup() {
	local p
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

forget_pid() {
	local p out=""
	for p in $PIDS; do
		[ "$p" = "$1" ] || out="$out $p"
	done
	PIDS=$out
}

# start_server NAME [turnpiked options...]: starts turnpiked on 127.0.0.1
# and ::1 at a fresh port; sets PORT and SERVER_PID, waits until it answers.
start_server() {
	local name=$1
	shift
	PORT=$("$FREEPORT") || { fail "no free port"; return 1; }
	# -c /dev/null: no config file but the command line (a -c among the
	# options wins), without the warning that the default file is missing.
	"$TURNPIKED" -c /dev/null --listening-ip 127.0.0.1 --listening-ip ::1 \
		--listening-port "$PORT" --relay-threads 2 "$@" \
		>"$TMP/$name.log" 2>&1 &
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	wait_ready "$name" "$PORT"
}

# wait_ready NAME PORT: polls with a Binding request for up to 10 s.
wait_ready() {
	local i
	for i in $(seq 1 100); do
		if "$CTL" stun "127.0.0.1:$2" --timeout 100 --quiet 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "turnpiked ($1) exited early:"
			cat "$TMP/$1.log"
			return 1
		fi
		sleep 0.1
	done
	echo "turnpiked ($1) did not answer within 10 s"
	return 1
}

# stop_server PID: SIGTERM, wait, return its exit status.
stop_server() {
	local rc
	kill -TERM "$1"
	wait "$1"
	rc=$?
	forget_pid "$1"
	return $rc
}

# log_problems FILE: the warning and error lines of a turnpiked log, but
# for what only says the test machine is small (its open file limit).
log_problems() {
	grep -E "Z (warning|error):" "$1" | grep -v "Z warning: open file limit [0-9]* is below"
}

# rss_kb PID: resident memory of a process in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# sanitizer_build: turnpiked is an ASan or TSan build. ASan's freed memory
# waits in a quarantine (up to 256 MiB), TSan's allocator and shadow grow
# on their own: tests that bound RSS skip that bound there.
sanitizer_build() { nm "$TURNPIKED" 2>/dev/null | grep -q '__asan_\|__tsan_'; }

# start_redis: a redis-server on a free loopback port in the temp dir (no
# persistence), stopped on exit; sets RPORT and REDIS_PID, and waits until
# it answers. Returns 1 when redis-server or redis-cli is missing.
start_redis() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || return 1
	RPORT=$("$FREEPORT")
	redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
		--daemonize no >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS="$PIDS $REDIS_PID"
	within 5000 redis-cli -p "$RPORT" ping >/dev/null 2>&1
}

# uclient_counts FILE: SENT and GOT, the totals turnutils_uclient printed
# last in FILE (0 when it printed none).
uclient_counts() {
	SENT=$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\).*/\1/p' "$1" | tail -n 1)
	GOT=$(sed -n 's/.*start_mclient: tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\).*/\1/p' \
		"$1" | tail -n 1)
	SENT=${SENT:-0}
	GOT=${GOT:-0}
}

# make_cert CN CERT KEY: a self-signed P-256 test certificate for CN (with
# an IP subjectAltName when CN is an address), valid two days. Fails, with
# openssl's words in $TMP/openssl.log, when openssl does.
make_cert() {
	local san=()
	[[ $1 =~ ^[0-9.]+$|: ]] && san=(-addext "subjectAltName=IP:$1")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" "${san[@]}" -keyout "$3" -out "$2" >>"$TMP/openssl.log" 2>&1
}

# json_field FILE EXPR: a Python expression over the JSON object in FILE
# (as j), printed; nothing when the file or the expression fails.
json_field() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# peer_media_checks ROLE JSON OTHER: what a media call through the relay
# must show in turnpike-peer's summary (JSON), the other side being OTHER:
# a relay pair, DTLS keyed with OTHER's fingerprint checked, audio both
# ways, no SRTP authentication failure or replay.
peer_media_checks() {
	local role=$1 j=$2 other=$3
	check "--$role: turnpike-peer ok, relay to $other's relay" \
		test "$(json_field "$j" '(j["ok"], j["selected"]["local"], j["selected"]["remote"])')" = \
		"(True, 'relay', 'relay')"
	check "--$role: DTLS-SRTP keyed, $other's fingerprint checked" \
		test "$(json_field "$j" 'j["dtls"]["fingerprint_ok"]')" = True
	check "--$role: turnpike-peer sent audio" test "$(json_field "$j" 'j["rtp"]["sent"] > 100')" = True
	check "--$role: $other's audio arrived at turnpike-peer ($(json_field "$j" 'j["rtp"]["received"]') packets)" \
		test "$(json_field "$j" 'j["rtp"]["received"] > 50')" = True
	check "--$role: zero SRTP authentication failures and replays" \
		test "$(json_field "$j" '(j["srtp"]["auth_failures"], j["srtp"]["replays"])')" = "(0, 0)"
}

# take_lines FILE: another program's "ok - ", "FAIL - " and "skip - " lines,
# as ours.
take_lines() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"FAIL - "*) fail "${line#FAIL - }" ;;
		"skip - "*) skip "${line#skip - }" ;;
		esac
	done <"$1"
}

# run_py SCRIPT [ARGS...]: runs a Python test from tests/system (it starts
# and stops its own turnpiked on a free port, logging to $TMP/SCRIPT.log)
# and takes its "ok - " and "FAIL - " lines as ours.
run_py() {
	local script=$1 port rc=0
	shift
	port=$("$FREEPORT") || { fail "no free port"; return 1; }
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$top_srcdir/tests/system/$script" --turnpiked "$TURNPIKED" \
		--port "$port" --log "$TMP/$script.log" "$@" >"$TMP/$script.out" 2>&1 || rc=$?
	take_lines "$TMP/$script.out"
	if [ "$rc" -ne 0 ]; then
		grep -q '^FAIL - ' "$TMP/$script.out" || fail "$script exited with $rc"
		tail -n 20 "$TMP/$script.out"
		echo "---- turnpiked log (last 40 lines)"
		tail -n 40 "$TMP/$script.log"
	fi
	return "$rc"
}

# finish: the closing line, and the exit status automake reads.
finish() {
	# How long the test took, for keeping the suite inside CI's budget.
	echo "# ${0##*/}: ${SECONDS}s"
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ] || exit 1
	[ "$passed" -gt 0 ] || exit 77
	exit 0
}
