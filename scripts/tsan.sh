#!/usr/bin/env bash
# tsan.sh - a ThreadSanitizer build (build-tsan/) of turnpiked, and the
# system tests where the workers, the main thread's HTTP and Redis, and
# reloads run together: any data race TSan reports fails the run.
# Usage: scripts/tsan.sh [TEST.sh...] (default: the set below, ~2 min).
# Reports land in build-tsan/tsan/ (one file per process that raced).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

dir=build-tsan
tests=("$@")
# Multi-worker (start_server runs two relay threads, looplag.sh three) with
# Redis (REST secrets, users, allocation events, parked lookups and their
# timeouts, Redis killed and back), a reload swapping what the workers
# read, and the HTTP listener scraping the workers' counters and loop lag:
# about 2 min. Others by name (http.sh takes 2 min under TSan; steer.py and
# tcp_relay.py give up waiting on a server this slow).
[ ${#tests[@]} -gt 0 ] || tests=(redis.sh reload.sh redis_flood.sh looplag.sh)

apt_install $BUILD_PKGS $TEST_PKGS
[ -f "$dir/Makefile" ] || configure_build "$dir" --enable-tsan --enable-werror
make -C "$dir" -j"$(nproc)" -s
rm -rf "$dir/tsan" "$dir"/tests/system/*.trs "$dir"/tests/system/*.log
mkdir -p "$dir/tsan"
# A race report goes to its own file (log_path.PID) and does not stop the
# process: the test goes on and the files are read at the end. Suppressions
# only for third-party libraries, each justified in the file.
export TSAN_OPTIONS="log_path=$PWD/$dir/tsan/report halt_on_error=0 second_deadlock_stack=1 \
suppressions=$PWD/scripts/tsan.supp history_size=4"
list=""
for t in "${tests[@]}"; do
	list="$list tests/system/${t%.sh}.sh"
done
rc=0
make -C "$dir" -j"${#tests[@]}" check TESTS="$list" || rc=$?
reports=$(find "$dir/tsan" -type f | sort)
if [ -n "$reports" ]; then
	for f in $reports; do
		echo "==== $f"
		cat "$f"
	done
	echo "ThreadSanitizer: $(cat $reports | grep -c '^WARNING: ThreadSanitizer') reports"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	for f in $(grep -l '^:test-result: \(FAIL\|ERROR\)' "$dir"/tests/system/*.trs 2>/dev/null); do
		echo "==== ${f%.trs}.log"
		cat "${f%.trs}.log"
	done
	exit 1
fi
echo "ThreadSanitizer: no race reported in${list}"
