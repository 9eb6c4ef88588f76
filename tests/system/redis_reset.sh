#!/usr/bin/env bash
# redis_reset.sh - the Redis connection reset while clients leave (issue 9,
# item 1): a fake Redis (redis_reset.py) holds a parked Allocate's quota
# decision and resets the worker's connection just as a TCP client closes
# and a UDP client deletes its allocation. Under ASan this was a
# heap-use-after-free of the closed TCP connection, and over UDP the
# leaving client got another client's answer.
. "$(dirname "$0")/lib.sh"

PY=$(command -v python3)
if [ -z "$PY" ]; then
	skip "python3 not installed"
	finish
fi
PORT=$("$FREEPORT") || { fail "no free port"; finish; }
if "$PY" "$top_srcdir/tests/system/redis_reset.py" --turnpiked "$TURNPIKED" --port "$PORT" \
	--log "$TMP/turnpiked.log" >"$TMP/out" 2>&1; then
	rc=0
else
	rc=$?
fi
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	"FAIL - "*) fail "${line#FAIL - }" ;;
	esac
done <"$TMP/out"
if [ "$rc" -ne 0 ]; then
	grep -q '^FAIL - ' "$TMP/out" || fail "redis_reset.py exited with $rc"
	tail -n 20 "$TMP/out"
	echo "---- turnpiked log (last 40 lines)"
	tail -n 40 "$TMP/turnpiked.log"
fi
finish
