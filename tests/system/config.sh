#!/usr/bin/env bash
# config.sh - one option table drives --help, --check-config, the sample
# config in etc/ and the man page; all four must agree, bad input is refused.
. "$(dirname "$0")/lib.sh"

check "--check-config accepts the shipped etc/turnpike.conf" \
	"$TURNPIKED" --check-config "$top_srcdir/etc/turnpike.conf"

"$TURNPIKED" --print-config >"$TMP/sample.conf"
check "etc/turnpike.conf is what --print-config generates (regenerate it if not)" \
	diff -u "$top_srcdir/etc/turnpike.conf" "$TMP/sample.conf"

# The man page carries the generated option list between two markers.
sed -n '/^\.\\" BEGIN OPTIONS/,/^\.\\" END OPTIONS/p' "$top_srcdir/man/turnpike.conf.5" |
	sed '1d;$d' >"$TMP/man-options"
"$TURNPIKED" --print-man >"$TMP/gen-options"
check "man/turnpike.conf.5 option list is what --print-man generates" \
	diff -u "$TMP/man-options" "$TMP/gen-options"

# Every option named in --help is in the sample, and the reverse.
"$TURNPIKED" --help >"$TMP/help"
help_opts=$(sed -n 's/^  --\([a-z0-9-]*\).*/\1/p' "$TMP/help" | sort)
sample_opts=$(sed -n 's/^#\([a-z0-9-]*\)\(=.*\)\{0,1\}$/\1/p' "$TMP/sample.conf" | sort)
for o in $sample_opts; do
	grep -qx -- "$o" <<<"$help_opts" || fail "--help lacks $o"
done
check "--help lists every option of the sample ($(wc -w <<<"$sample_opts") options)" \
	test -n "$sample_opts"

# Uncommenting every key=value line of the sample (the defaults) gives a
# valid config; bare booleans there are switches, not defaults.
sed -n 's/^#\([a-z0-9-]*=.*\)$/\1/p' "$TMP/sample.conf" >"$TMP/all.conf"
check "every default of the sample, uncommented, passes --check-config" \
	"$TURNPIKED" --check-config "$TMP/all.conf"

printf 'listening-port=3478\nno-such-option=1\n' >"$TMP/unknown.conf"
out=$("$TURNPIKED" --check-config "$TMP/unknown.conf" 2>&1)
rc=$?
check "an unknown key fails --check-config" test $rc -ne 0
check "and the error names file and line ($out)" grep -q "unknown.conf:2: unknown option 'no-such-option'" <<<"$out"

printf 'listening-port=70000\n' >"$TMP/range.conf"
out=$("$TURNPIKED" --check-config "$TMP/range.conf" 2>&1)
check "an out-of-range port is refused ($out)" grep -q "from 1 to 65535" <<<"$out"

printf 'listening-ip=example.org\n' >"$TMP/host.conf"
out=$("$TURNPIKED" --check-config "$TMP/host.conf" 2>&1)
check "a host name for listening-ip is refused ($out)" grep -q "not an IPv4 or IPv6 address" <<<"$out"

printf 'no-udp\nno-tcp\n' >"$TMP/none.conf"
out=$("$TURNPIKED" --check-config "$TMP/none.conf" 2>&1)
check "no-udp with no-tcp is refused ($out)" grep -q "nothing to listen on" <<<"$out"

out=$("$TURNPIKED" --log-level loud --check-config "$top_srcdir/etc/turnpike.conf" 2>&1)
check "a bad log-level on the command line is refused ($out)" grep -q "not one of error" <<<"$out"

printf 'lt-cred-mech\nfingerprint\nno-cli\nrealm=example.org\n' >"$TMP/coturn.conf"
out=$("$TURNPIKED" --check-config "$TMP/coturn.conf" 2>&1)
check "coturn's implied switches are accepted ($(grep -c compatibility <<<"$out") noted)" \
	grep -q "lt-cred-mech accepted for coturn compatibility" <<<"$out"
printf 'fingerprint=no\n' >"$TMP/nofp.conf"
out=$("$TURNPIKED" --check-config "$TMP/nofp.conf" 2>&1)
check "but cannot be switched off ($out)" grep -q "can only be switched on" <<<"$out"

out=$("$TURNPIKED" --bogus 2>&1)
check "an unknown command-line option is refused ($out)" grep -q "unknown option '--bogus'" <<<"$out"

out=$("$TURNPIKED" --check-config "$TMP/missing.conf" 2>&1)
check "a missing config file is an error ($out)" grep -q "cannot open" <<<"$out"

# One default config path: --help's (the configure sysconfdir) is the one
# the man pages make builds name, and the README's when built as the
# README says (scripts/check.sh, quickstart.sh: --sysconfdir=/etc).
help_path=$(sed -n 's/.*read options from FILE (default \(.*\))$/\1/p' "$TMP/help")
check "--help names the default config file ($help_path)" test -n "$help_path"
for m in turnpiked.8 turnpikectl.1 turnpike.conf.5; do
	page=$top_builddir/mangen/$m
	if [ ! -f "$page" ]; then
		fail "mangen/$m was not built"
		continue
	fi
	dir=$(sed -n 's/^\.ds sysconfdir //p' "$page")
	paths=$(sed "s|\\\\\*\[sysconfdir\]|$dir|g" "$page" | grep -o '[^ ]*/turnpike/turnpike\.conf' |
		sort -u)
	check "the built $m names the same default config file ($paths)" \
		test "$paths" = "$help_path"
done
readme_paths=$(grep -o '/[a-z/]*/turnpike/turnpike\.conf' "$top_srcdir/README.md" | sort -u)
if [ "$help_path" = /etc/turnpike/turnpike.conf ]; then
	check "README.md names the same default config file ($readme_paths)" \
		test "$readme_paths" = "$help_path"
else
	skip "README.md's $readme_paths: this build has another sysconfdir ($help_path)"
fi

# Without -c, a missing default file is said in one warning; the server
# runs on the defaults and the command line.
if [ ! -e "$help_path" ]; then
	PORT=$("$FREEPORT")
	"$TURNPIKED" --listening-ip 127.0.0.1 --listening-port "$PORT" --relay-threads 1 \
		>"$TMP/nodefault.log" 2>&1 &
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	wait_ready nodefault "$PORT" || fail "server start without a config file"
	n=$(grep -c "warning: no configuration file $help_path" "$TMP/nodefault.log")
	check "a missing default config file is said in one warning ($n)" test "$n" -eq 1
	stop_server "$SERVER_PID"
else
	skip "$help_path exists on this machine"
fi

check "--version prints the version" bash -c "'$TURNPIKED' --version | grep -q '^turnpike 0.1.0$'"

finish
