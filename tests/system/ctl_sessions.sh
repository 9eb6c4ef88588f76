#!/usr/bin/env bash
# ctl_sessions.sh - live administration (issue 13): turnpikectl sessions and
# kill on a 2-worker turnpiked through its HTTP listener (admin-api-key), then
# across a fleet of two through a real redis-server on a free loopback port,
# and the local path again with Redis stopped (ctl_sessions.py).
. "$(dirname "$0")/lib.sh"

for c in sessions kill; do
	out=$("$CTL" $c --help)
	rc=$?
	check "$c --help exits 0 ($rc) and tells of sessions and kill" \
		eval '[ $rc -eq 0 ] && grep -q "sessions \[--user U\]" <<<"$out" && grep -q "kill ID" <<<"$out"'
done
HTTP="$("$FREEPORT"),$("$FREEPORT"),$("$FREEPORT")"
if start_redis; then
	run_py ctl_sessions.py --ctl "$CTL" --http-ports "$HTTP" --redis-port "$RPORT" \
		--redis-pid "$REDIS_PID" --fleet-ports "$("$FREEPORT"),$("$FREEPORT")"
	# The test stopped it; wait for it here, where it was started.
	wait "$REDIS_PID" 2>/dev/null
	forget_pid "$REDIS_PID"
else
	skip "redis-server or redis-cli not installed: the fleet half"
	run_py ctl_sessions.py --ctl "$CTL" --http-ports "$HTTP"
fi
finish
