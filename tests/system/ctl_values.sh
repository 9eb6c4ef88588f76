#!/usr/bin/env bash
# ctl_values.sh - the values turnpikectl stores in Redis, against a real
# redis-server on a free loopback port in the temp dir: "secret add -" and
# "apikey add -" read the value from standard input (never store "-"), empty
# or over-long input is refused with nothing stored, and "apikey add" holds a
# key to the servers' own rest-api-key rule, refusing with the same message
# turnpiked gives.
. "$(dirname "$0")/lib.sh"

REDIS=$(command -v redis-server)
REDIS_CLI=$(command -v redis-cli)
REALM=example.org
DB=4

if [ -z "$REDIS" ] || [ -z "$REDIS_CLI" ]; then
	skip "redis-server or redis-cli not installed (Debian package redis-server)"
	finish
fi

RPORT=$("$FREEPORT")
"$REDIS" --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
	--daemonize no >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS="$PIDS $REDIS_PID"
rcli() { "$REDIS_CLI" -p "$RPORT" -n "$DB" "$@"; }
redis_up() { rcli ping >/dev/null 2>&1; }
check "redis-server starts on 127.0.0.1:$RPORT" within 5000 redis_up

printf 'realm=%s\nredis-userdb=redis://127.0.0.1:%s/%s\n' "$REALM" "$RPORT" "$DB" \
	>"$TMP/turnpike.conf"
ctl() { "$CTL" -c "$TMP/turnpike.conf" "$@"; }
SECRETS=turn/realm/$REALM/secret
APIKEYS=turnpike:realm/$REALM/api-keys
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# members KEY: the members of a Redis set, sorted, on one line.
members() { rcli SMEMBERS "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }

# ---- secret add - ----

out=$(echo s3cret | ctl secret add - 2>&1)
check "echo s3cret | secret add - succeeds ($out)" test "$out" = "secret added"
check "the set holds s3cret, not '-' ($(members "$SECRETS"))" test "$(members "$SECRETS")" = s3cret
check "secret list shows s3cret ($(ctl secret list | tr '\n' ' '))" \
	test "$(ctl secret list)" = s3cret

ctl secret add - </dev/null >"$TMP/out" 2>&1
rc=$?
check "secret add - with empty stdin is refused (status $rc: $(head -n 1 "$TMP/out"))" \
	test "$rc" -eq 2
check "... saying why" grep -q "no secret on standard input" "$TMP/out"
check "... and stores nothing ($(members "$SECRETS"))" test "$(members "$SECRETS")" = s3cret
printf '\n' | ctl secret add - >/dev/null 2>&1
rc=$?
check "secret add - with an empty line is refused (status $rc)" test "$rc" -eq 2
long=$(head -c 1025 /dev/zero | tr '\0' 'x')
echo "$long" | ctl secret add - >/dev/null 2>&1
rc=$?
check "secret add - with a 1025-character line is refused (status $rc)" test "$rc" -eq 2
check "... and nothing was stored, not even cut short ($(rcli SCARD "$SECRETS") member)" \
	test "$(members "$SECRETS")" = s3cret
echo "${long:1}" | ctl secret add - >/dev/null 2>&1
check "a 1024-character secret from stdin is stored whole" \
	test "$(rcli SISMEMBER "$SECRETS" "${long:1}")" = 1
echo "${long:1}" | ctl secret remove - >/dev/null 2>&1
out=$(printf 's3cret\r\n' | ctl secret remove - 2>&1)
check "printf 's3cret\\r\\n' | secret remove - removes it ($out)" test "$out" = "secret removed"
check "the set is empty now" test "$(rcli SCARD "$SECRETS")" = 0

# ---- apikey add: the rest-api-key rule ----

server_says=$("$TURNPIKED" --rest-api-key short --check-config /dev/null 2>&1 >/dev/null)
ctl apikey add short >/dev/null 2>"$TMP/err"
rc=$?
check "apikey add short is refused (status $rc)" test "$rc" -eq 2
ctl_says=$(head -n 1 "$TMP/err")
check "... with the server's message: '$ctl_says' / '$server_says'" \
	test -n "$server_says" -a "${ctl_says#turnpikectl: }" = "${server_says#turnpiked: error: rest-api-key: }"
check "... and nothing is stored" test "$(rcli SCARD "$APIKEYS")" = 0
for bad in "fifteen-chars-x" "has a blank 0123456789" "$(head -c 257 /dev/zero | tr '\0' k)"; do
	check_fails "apikey add refuses a ${#bad}-character key ('${bad:0:22}')" \
		ctl apikey add "$bad"
	check_fails "... which turnpiked refuses as rest-api-key too" \
		"$TURNPIKED" --rest-api-key "$bad" --check-config /dev/null
done
check "nothing was stored" test "$(rcli SCARD "$APIKEYS")" = 0
KEY16=sixteen-chars-ok
check "a 16-character key passes turnpiked's rule" \
	"$TURNPIKED" --rest-api-key "$KEY16" --check-config /dev/null
check "... and apikey add" ctl apikey add "$KEY16"
KEY256=$(head -c 256 /dev/zero | tr '\0' k)
check "a 256-character key passes apikey add" ctl apikey add "$KEY256"
KEYIN=key-from-stdin-0123456789
check "echo KEY | apikey add - adds the key" bash -c "echo '$KEYIN' | '$CTL' -c '$TMP/turnpike.conf' apikey add -"
want=$(printf '%s\n' "$(sha256 "$KEY16")" "$(sha256 "$KEY256")" "$(sha256 "$KEYIN")" | sort |
	tr '\n' ' ' | sed 's/ $//')
check "the set holds the three keys' SHA-256 digests" test "$(members "$APIKEYS")" = "$want"
check_fails "apikey add - with empty stdin is refused" ctl apikey add - </dev/null
# A key stored before the rule (straight into Redis) can still be revoked.
rcli SADD "$APIKEYS" "$(sha256 short)" >/dev/null
check "apikey remove short revokes a key that predates the rule" ctl apikey remove short
check "three keys are left" test "$(rcli SCARD "$APIKEYS")" = 3

# ---- user add -: a password line too long is refused, not cut short ----

head -c 600 /dev/zero | tr '\0' p | ctl user add alice - >/dev/null 2>&1
rc=$?
check "user add alice - with a 600-character line is refused (status $rc)" test "$rc" -eq 2
check "... and alice was not created" test "$(rcli EXISTS "turn/realm/$REALM/user/alice/key")" = 0

check "no secret or key in redis-server's log" \
	bash -c "! grep -qE 's3cret|$KEY16|$KEYIN' '$TMP/redis.log'"
# No config file: Redis and the realm from the command line (turnadmin's
# -N), with a host name to resolve.
out=$("$CTL" secret add cli-secret-0123456789 -c /dev/null --realm cli.example \
	--redis-userdb "redis://localhost:$RPORT/$DB" 2>&1)
check "secret add with --redis-userdb redis://localhost:PORT and --realm, no config ($out)" \
	test "$(rcli smembers turn/realm/cli.example/secret)" = cli-secret-0123456789
check "secret list with --redis-userdb=... --realm=... (the = forms)" \
	test "$("$CTL" secret list -c /dev/null --realm=cli.example \
		--redis-userdb="ip=localhost port=$RPORT dbname=$DB" 2>&1 | grep -c cli-secret)" = 1
out=$("$CTL" secret list -c /dev/null --redis-userdb 2>&1)
check "--redis-userdb without a value is a usage error (status $?: $out)" \
	grep -q "needs a value" <<<"$out"
for c in stun turn secret apikey user credentials events report reload; do
	"$CTL" "$c" --help >"$TMP/help.out" 2>&1
	rc=$?
	check "turnpikectl $c --help exits 0 with the usage ($rc)" \
		eval '[ $rc -eq 0 ] && grep -q "^Usage: turnpikectl" "$TMP/help.out"'
done
kill -TERM "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
forget_pid "$REDIS_PID"
finish
