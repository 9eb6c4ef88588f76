#!/usr/bin/env bash
# redis_flood.sh - made-up user names cannot cost unbounded Redis lookups
# nor push real users out of the key cache (issue 9, item 6), with a real
# redis-server on a free loopback port in the temp dir.
. "$(dirname "$0")/lib.sh"

REDIS=$(command -v redis-server)
REDIS_CLI=$(command -v redis-cli)
if [ -z "$REDIS" ] || [ -z "$REDIS_CLI" ]; then
	skip "redis-server or redis-cli not installed"
	finish
fi
RPORT=$("$FREEPORT")
"$REDIS" --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
	--daemonize no >>"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
within 5000 "$REDIS_CLI" -p "$RPORT" ping >/dev/null 2>&1
run_py redis_flood.py --redis-port "$RPORT" --redis-pid "$REDIS_PID"
finish
