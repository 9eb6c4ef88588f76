#!/usr/bin/env bash
# check.sh - install what the tests need, build, and run the whole test
# suite (unit, fuzz corpus, system and interop tests) with warnings as
# errors. --sanitizers: the same suite in an ASan + UBSan build. --tsan:
# the multi-worker system tests in a ThreadSanitizer build (scripts/tsan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--tsan" ] && exec scripts/tsan.sh
. scripts/deps.sh

dir=build
args=(--enable-werror)
if [ "${1:-}" = "--sanitizers" ]; then
	dir=build-asan
	args+=(--enable-sanitizers)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

apt_install $BUILD_PKGS $TEST_PKGS
configure_build "$dir" "${args[@]}"
make -C "$dir" -j"$(nproc)" -s
target=check
[ "$dir" = build ] || target=check-sanitizers
# Three test jobs a core: most system tests wait on timers and sockets (the
# cores were 80-90% idle at one job a core); the CPU-heavy ones take turns
# (tests/system/exclusive.sh).
if ! make -C "$dir" -j"$(($(nproc) * 3))" $target; then
	# Show what failed: automake keeps each test's output in its .log.
	for f in $(grep -l '^:test-result: \(FAIL\|ERROR\)' "$dir"/tests/*/*.trs 2>/dev/null); do
		echo "==== ${f%.trs}.log"
		cat "${f%.trs}.log"
	done
	exit 1
fi
# The release tarball: it builds from itself, its unit tests pass, and
# make install / uninstall put and take every file (unit, man pages,
# sample config, logrotate) under the prefix (make distcheck). Once, in
# the plain build.
if [ "$dir" = build ]; then
	make -C "$dir" -s -j"$(nproc)" distcheck TESTS='$(UNIT_TESTS)' >"$dir/distcheck.log" 2>&1 ||
		{ tail -n 40 "$dir/distcheck.log"; echo "make distcheck failed"; exit 1; }
	grep -A2 'archives ready for distribution' "$dir/distcheck.log"
fi
