#!/usr/bin/env bash
# steer.sh - the fleet registry in Redis: servers register announce-address
# and load in turnpike:servers, and a full server sends what it cannot take
# to the least loaded other one (300 Try Alternate), passing over one that
# drains. A real redis-server on a free loopback port in the temp dir.
. "$(dirname "$0")/lib.sh"

if ! start_redis; then
	skip "redis-server or redis-cli not installed"
	finish
fi
rc=0
out=$("$TURNPIKED" --announce-address 127.0.0.1:3478 --check-config /dev/null 2>&1) || rc=$?
check "announce-address without Redis is refused (status $rc: $out)" \
	eval '[ $rc -eq 1 ] && grep -q "announce-address needs redis-statsdb" <<<"$out"'
run_py steer.py --redis-port "$RPORT" --ports "$("$FREEPORT"),$("$FREEPORT"),$("$FREEPORT")"
finish
