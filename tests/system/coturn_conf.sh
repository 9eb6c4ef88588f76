#!/usr/bin/env bash
# coturn_conf.sh - a coturn operator's configuration works as it is:
# Debian's stock /etc/turnserver.conf and a typical production
# turnserver.conf pass --check-config with notices only, and turnpiked
# serves on the latter (no-tcp-relay refusing TCP relays with 442);
# a broken file gets every problem listed in one run, file:line each, with a
# did-you-mean for typos and a hint for coturn keys turnpike does otherwise.
. "$(dirname "$0")/lib.sh"

PROD=$top_srcdir/tests/conf/coturn-production.conf

# only_notices FILE: --check-config says OK and nothing but notices.
only_notices() {
	"$TURNPIKED" --check-config "$1" >"$TMP/check.out" 2>&1 || return 1
	! grep -v -e '^notice: ' -e ': configuration OK$' "$TMP/check.out"
}
if [ -f /etc/turnserver.conf ]; then
	check "Debian's stock /etc/turnserver.conf: OK with notices only" only_notices /etc/turnserver.conf
	grep '^notice' "$TMP/check.out" | sed 's/^/  /'
else
	skip "no /etc/turnserver.conf (Debian package coturn)"
fi
check "a typical coturn production config: OK with notices only" only_notices "$PROD"
n=$(grep -c '^notice: ' "$TMP/check.out")
check "... $n notices, each naming file:line ($(sed -n 1p "$TMP/check.out"))" \
	test "$n" -ge 10 -a "$(grep -c "^notice: $PROD:[0-9]*: " "$TMP/check.out")" = "$n"
check "... verbose is read as log-level=info" grep -q "verbose read as log-level=info" "$TMP/check.out"

# --print-config turns it into a turnpike file: no coturn keys left, and
# the same configuration (printing the printed file gives it back).
"$TURNPIKED" -c "$PROD" --print-config >"$TMP/migrated.conf" 2>"$TMP/migrate.err"
check "-c coturn.conf --print-config: a turnpike file ($(grep -vc '^#' "$TMP/migrated.conf") lines)" \
	test $? -eq 0 -a ! -s "$TMP/migrate.err"
check "... that passes --check-config without a notice" \
	eval '"$TURNPIKED" --check-config "$TMP/migrated.conf" >"$TMP/m.out" 2>&1 && ! grep -q notice "$TMP/m.out"'
"$TURNPIKED" -c "$TMP/migrated.conf" --print-config | grep -v '^#' >"$TMP/again.conf"
check "... and means the same: printed again, the same options" \
	diff <(grep -v '^#' "$TMP/migrated.conf") "$TMP/again.conf"
check "... the mapped and the kept: log-level=info is the default, no-tcp-relay, 9 denied ranges" \
	eval 'grep -qx no-tcp-relay "$TMP/migrated.conf" && [ "$(grep -c "^denied-peer-ip=" "$TMP/migrated.conf")" = 9 ] &&
		! grep -qE "^(verbose|fingerprint|lt-cred-mech|mobility|dh-file)" "$TMP/migrated.conf"'
check "--print-config without a file still prints the documented sample" \
	eval '"$TURNPIKED" --print-config | diff -q - "$top_srcdir/etc/turnpike.conf" >/dev/null'

# turnpiked runs on it, with what only this machine changes: loopback
# addresses and ports, a test certificate, files in the temp dir.
make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || fail "openssl req"
TPORT=$("$FREEPORT")
start_server prod -c "$PROD" --relay-ip 127.0.0.1 --external-ip 127.0.0.1 \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" \
	--log-file - --log-level debug --pidfile "$TMP/turnpiked.pid" --min-port 20000 \
	--max-port 20199 || { fail "server start on the production config"; finish; }
check "the notices are logged at start" grep -q "info: config: .*mobility accepted" "$TMP/prod.log"
check "REST credentials from its static-auth-secret work (turnprobe rest)" \
	"$top_builddir/tests/tools/turnprobe" 127.0.0.1 "$PORT" rest \
	--secret 9f2c1a7e5b3d4c6e8a0b1d2f3e4c5a6b
if command -v turnutils_uclient >/dev/null; then
	timeout 20 turnutils_uclient -T -p "$PORT" -W 9f2c1a7e5b3d4c6e8a0b1d2f3e4c5a6b -u bob \
		-n 5 -m 1 127.0.0.1 >"$TMP/tcprelay.out" 2>&1
	check "no-tcp-relay: a TCP relay (uclient -T) is refused with 442" \
		within 3000 grep -q "Allocate from .*: error 442$" "$TMP/prod.log"
else
	skip "turnutils_uclient not installed"
fi
if [ "$(id -u)" -eq 0 ] && id turnserver >/dev/null 2>&1; then
	check "proc-user turnserver: the server runs as $(id -u turnserver)" \
		test "$(awk '/^Uid:/ { print $3 }' "/proc/$SERVER_PID/status")" = "$(id -u turnserver)"
fi
stop_server "$SERVER_PID"
check "... and stops cleanly ($?)" test $? -eq 0

# Everything wrong with a file, in one run.
cat >"$TMP/broken.conf" <<'CONF'
realm=example.org
listenig-port=3478
verbose
prometheus
userdb=/var/db/turndb
relay-ipp=192.0.2.1
CA-File=/etc/ssl/ca.pem
max-port=99999
pkey-pwd=hunter2
no-such-thing
CONF
"$TURNPIKED" --check-config "$TMP/broken.conf" >"$TMP/broken.out" 2>&1
rc=$?
check "a broken file: --check-config exits 1 ($rc)" test "$rc" -eq 1
check "... and lists all 8 problems ($(grep -c "error: $TMP/broken.conf:" "$TMP/broken.out"))" \
	test "$(grep -c "error: $TMP/broken.conf:[0-9]*: " "$TMP/broken.out")" = 8
for want in \
	":2: unknown option 'listenig-port': did you mean 'listening-port'?" \
	":4: coturn's prometheus: /metrics is served on http-listen" \
	":5: coturn's userdb: SQLite is not supported: use user= lines or redis-userdb" \
	":6: unknown option 'relay-ipp': did you mean 'relay-ip'?" \
	":7: unknown option 'CA-File': did you mean 'CA-file'?" \
	":8: max-port: '99999' is not a number from 1 to 65535" \
	":9: coturn's pkey-pwd: encrypted private keys are not supported" \
	":10: unknown option 'no-such-thing' (turnpiked --help lists them)"; do
	check "... $want" grep -qF "$TMP/broken.conf$want" "$TMP/broken.out"
done
check_fails "... and never echoes the secret value" grep -q hunter2 "$TMP/broken.out"
"$TURNPIKED" -c "$TMP/broken.conf" >"$TMP/broken-run.out" 2>&1
rc=$?
check "starting on it: exit 1 ($rc) with one line ($(cat "$TMP/broken-run.out"))" \
	test "$rc" -eq 1 -a "$(wc -l <"$TMP/broken-run.out")" = 1
check "... naming the first problem and how many more" \
	grep -q ":2: unknown option 'listenig-port'.*(and 7 more: turnpiked --check-config" \
	"$TMP/broken-run.out"
finish
