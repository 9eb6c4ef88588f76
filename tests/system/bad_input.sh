#!/usr/bin/env bash
# bad_input.sh - turnpiked survives random, truncated, malformed, oversized,
# stalled and flooding input on loopback (tests/tools/badinput): after each
# attack it is alive and answers over UDP and TCP; its memory stays bounded;
# it stops cleanly (status 0, and under the sanitizer build: no leak, no
# error) on SIGTERM.
. "$(dirname "$0")/lib.sh"

BADINPUT=$top_builddir/tests/tools/badinput
IDLE_TIMEOUT=2
IDLE_CONNS=2000
# Per worker the cap is max-tcp-connections / relay-threads (2): keep each
# worker's share well above what SO_REUSEPORT may send it. idle-conns opens
# its 2000 connections from one address, to see the idle timeout close them
# all: no per-source share here (tcp_slots.sh tests that share).
MAX_TCP=16384

if [ ! -x "$BADINPUT" ]; then
	skip "tests/tools/badinput not built"
	finish
fi

start_ms=$(($(date +%s%N) / 1000000))
# unauth-rate-limit 0: the mixed flood counts the valid Bindings answered
# among junk from one address (the budget per source is security.sh's).
start_server main --tcp-idle-timeout "$IDLE_TIMEOUT" \
	--max-tcp-connections "$MAX_TCP" --max-tcp-unauthenticated-per-source 0 \
	--unauth-rate-limit 0 ||
	{ fail "server start"; finish; }

# attack NAME HOST ARGS...: one badinput scenario, its lines indented under
# ours; then the server must still be running.
attack() {
	local name=$1 host=$2 rc
	shift 2
	"$BADINPUT" "$host" "$PORT" "$@" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	check "badinput $name ($host)" test "$rc" -eq 0
	check "turnpiked still running after $name" kill -0 "$SERVER_PID"
}

# Warm-up: both transports, so the RSS baseline includes the worker buffers,
# libevent's and the allocator's first arenas.
"$CTL" stun "127.0.0.1:$PORT" --count 200 --quiet
"$CTL" stun "127.0.0.1:$PORT" --tcp --count 50 --quiet
rss_warm=$(rss_kb "$SERVER_PID")
echo "# RSS after warm-up: $rss_warm KiB"

attack random 127.0.0.1 random 20000
attack random ::1 random 5000
attack truncated 127.0.0.1 truncated
attack truncated ::1 truncated
attack unknown-attr 127.0.0.1 unknown-attr
attack unknown-attr ::1 unknown-attr
attack big 127.0.0.1 big
attack stall 127.0.0.1 stall "$IDLE_TIMEOUT"
attack malformed-stream 127.0.0.1 malformed-stream
attack idle-conns 127.0.0.1 idle-conns "$IDLE_CONNS" "$IDLE_TIMEOUT"
attack flood-mixed 127.0.0.1 flood-mixed 5 50000

# Every connection is closed by now (idle-conns waits for the timeout), so
# what is left above the warm-up is growth, not live state.
rss_end=$(rss_kb "$SERVER_PID")
echo "# RSS after all scenarios: $rss_end KiB (warm-up $rss_warm KiB," \
	"growth $((rss_end - rss_warm)) KiB)"
check "RSS after the attacks ($rss_end KiB) below warm-up ($rss_warm KiB) + 64 MiB" \
	test "$rss_end" -lt $((rss_warm + 65536))

check "SIGTERM stops turnpiked with status 0" stop_server "$SERVER_PID"
# no_reports LOG: nothing from ASan, LSan or UBSan in the server's log.
no_reports() { ! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$1"; }
check "log is free of sanitizer reports" no_reports "$TMP/main.log"
if [ "$failed" -gt 0 ]; then
	echo "# turnpiked log:"
	sed 's/^/#   /' "$TMP/main.log"
fi
echo "# bad_input.sh ran for $(( $(date +%s%N) / 1000000 - start_ms )) ms"
finish
