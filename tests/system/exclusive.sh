# exclusive.sh - sourced by lib.sh and ../browser/netns.sh.
# shellcheck shell=bash
# exclusive: for a test that loads the CPU (flat-out traffic, valgrind, a
# browser) or judges loss, timing or memory under load. make check runs
# the tests in parallel, more jobs than cores since most wait on timers;
# this waits until no other exclusive test runs (on this machine, from any
# build tree). The lock is held by the test's shell and what it starts,
# and goes with them.
exclusive() {
	[ -n "${TURNPIKE_EXCLUSIVE:-}" ] && return 0 # taken before an exec
	exec 9>>"${TMPDIR:-/tmp}/turnpike-tests-exclusive.lock"
	if ! flock -w 900 9; then
		echo "Bail out! another heavy test held the lock for 15 min"
		exit 99
	fi
	export TURNPIKE_EXCLUSIVE=1
}
