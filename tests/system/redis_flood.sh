#!/usr/bin/env bash
# redis_flood.sh - made-up user names cannot cost unbounded Redis lookups
# nor push real users out of the key cache (issue 9, item 6), with a real
# redis-server on a free loopback port in the temp dir.
. "$(dirname "$0")/lib.sh"
exclusive

if ! start_redis; then
	skip "redis-server or redis-cli not installed"
	finish
fi
run_py redis_flood.py --redis-port "$RPORT" --redis-pid "$REDIS_PID"
finish
