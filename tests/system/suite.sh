#!/usr/bin/env bash
# suite.sh - the test suite checks itself: every system test script in
# tests/system is registered in Makefile.am, and each one loads lib.sh and
# ends in finish (an empty or cut-off script would pass as exit status 0:
# http.sh once did); every registered script exists.
. "$(dirname "$0")/lib.sh"

MK=$top_srcdir/Makefile.am
registered=$(grep -E '^(SYSTEM_TESTS|[[:space:]])' "$MK" | grep -oE 'tests/system/[a-z0-9_]+\.sh' |
	grep -vx tests/system/lib.sh | sort -u)
nreg=$(wc -w <<<"$registered")
check "Makefile.am registers system tests ($nreg)" test "$nreg" -ge 30
for f in "$top_srcdir"/tests/system/*.sh; do
	name=tests/system/$(basename "$f")
	case $name in tests/system/lib.sh | tests/system/exclusive.sh) continue ;; esac
	grep -qxF "$name" <<<"$registered" || fail "$name is not registered in Makefile.am"
	head -n 20 "$f" | grep -q '^\. "$(dirname "$0")/lib.sh"$' ||
		grep -q '^\. "$(dirname "$0")/lib.sh"$' "$f" || fail "$name does not load lib.sh"
	[ "$(grep -v '^[[:space:]]*$' "$f" | tail -n 1)" = finish ] || fail "$name does not end in finish"
done
for name in $registered; do
	[ -s "$top_srcdir/$name" ] || fail "$name is registered but missing or empty"
done
[ "$failed" -eq 0 ] && ok "every system test script is registered, loads lib.sh and ends in finish"
finish
