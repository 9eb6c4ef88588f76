#!/usr/bin/env bash
# doc_snippets.sh - every configuration example in README.md (fenced
# ```conf blocks) and in the man pages (.nf/.fi blocks after a
# '.\" snippet: conf' line) is tested as written: --check-config accepts
# it, and where it has credentials (user=, static-auth-secret=) a turnpiked
# started on it (with test-only listening, relay, HTTP and TLS file
# overrides on the command line) grants an Allocate with exactly those
# credentials, inline comments and all. The README's turnpike-peer calls
# (```sh blocks after a '<!-- snippet: turnpike-peer ... -->' line) run as
# written against a turnpiked on the README's config for them, with only
# the ports changed to the test's: every call must end with "ok": true.
. "$(dirname "$0")/lib.sh"

for t in openssl; do
	command -v "$t" >/dev/null || { skip "$t not available"; finish; }
done
mkdir "$TMP/snip"

# README: ```conf ... ```
awk -v dir="$TMP/snip" '
	/^```conf$/ { n++; f = sprintf("%s/README.md-%d.conf", dir, n); inb = 1; next }
	inb && /^```$/ { inb = 0; close(f); next }
	inb { print > f }' "$top_srcdir/README.md"
check_fails "README.md has no config example outside a \`\`\`conf block" \
	grep -q '^```ini' "$top_srcdir/README.md"
# Man pages: the roff escapes a reader never sees are undone.
for m in "$top_srcdir"/man/*.[0-9]; do
	awk -v dir="$TMP/snip" -v name="$(basename "$m")" '
		/^\.\\" snippet: conf/ { want = 1; next }
		want && /^\.nf$/ { n++; f = sprintf("%s/%s-%d.conf", dir, name, n); inb = 1; next }
		inb && /^\.fi$/ { inb = 0; want = 0; close(f); next }
		inb {
			gsub(/\\-/, "-"); gsub(/\\\(dq/, "\""); gsub(/\\&/, ""); gsub(/\\e/, "\\")
			print > f
		}' "$m"
done
nsnip=$(find "$TMP/snip" -name '*.conf' | wc -l)
check "config examples found: $nsnip (README.md $(find "$TMP/snip" -name 'README*' | wc -l))" \
	test "$nsnip" -ge 4

# values KEY FILE: the values of KEY in FILE as a reader of the docs takes
# them: a blank then # starts a comment; quotes are taken off.
values() {
	awk -v k="$1" '
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		if (line == "" || line ~ /^#/) next
		key = line
		sub(/[= \t].*/, "", key)
		if (key != k) next
		v = substr(line, length(key) + 1)
		sub(/^[ \t]*=?[ \t]*/, "", v)
		q = substr(v, 1, 1)
		if (q == "\"" || q == "\047") {
			v = substr(v, 2)
			v = substr(v, 1, index(v, q) - 1)
		} else {
			sub(/[ \t]+#.*$/, "", v)
			sub(/[ \t]+$/, "", v)
		}
		print v
	}' "$2"
}

# allocate ARGS...: one Allocate with turnpikectl on the server at PORT.
allocate() { "$CTL" turn "127.0.0.1:$PORT" "$@" >/dev/null; }

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem"

for f in "$TMP"/snip/*.conf; do
	name=$(basename "$f" .conf)
	out=$("$TURNPIKED" --check-config "$f" 2>&1)
	rc=$?
	check "$name: --check-config accepts it as written" test $rc -eq 0
	if [ $rc -ne 0 ]; then
		echo "$out" | sed 's/^/    /'
		sed 's/^/    | /' "$f"
		continue
	fi
	users=$(values user "$f")
	secret=$(values static-auth-secret "$f" | tail -n 1)
	[ -n "$users$secret" ] || continue
	if [ -n "$(values redis-userdb "$f")" ]; then
		echo "# $name: not started: its Redis is not on loopback"
		continue
	fi
	# Test-only overrides: start_server's loopback listeners on a free port,
	# a loopback relay, a free HTTP port, our own TLS files.
	args=(--relay-ip 127.0.0.1)
	[ -z "$(values http-listen "$f")" ] || args+=(--http-listen "$("$FREEPORT")")
	[ -z "$(values cert "$f")" ] || args+=(--cert "$TMP/cert.pem" --pkey "$TMP/key.pem"
		--tls-listening-port "$("$FREEPORT")")
	[ -z "$(values http-cert "$f")" ] ||
		args+=(--http-cert "$TMP/cert.pem" --http-pkey "$TMP/key.pem")
	start_server "$name" -c "$f" "${args[@]}" || { fail "$name: server start"; continue; }
	while IFS= read -r u; do
		[ -n "$u" ] || continue
		case ${u#*:} in 0x*) continue ;; esac # an MD5 key, not a password
		check "$name: Allocate as user ${u%%:*} with the password as written" \
			allocate --user "${u%%:*}" --password "${u#*:}" --timeout 2000
	done <<<"$users"
	if [ -n "$secret" ]; then
		check "$name: Allocate with REST credentials signed with the secret as written" \
			allocate --secret "$secret" --timeout 2000
	fi
	stop_server "$SERVER_PID" || fail "$name: server did not stop cleanly"
done

# ---- README: the turnpike-peer calls ----
PEER_BIN=$top_builddir/turnpike-peer
awk -v dir="$TMP/snip" '
	/^<!-- snippet: turnpike-peer conf -->$/ { kind = "conf"; next }
	/^<!-- snippet: turnpike-peer redis -->$/ { kind = "redis"; next }
	/^<!-- snippet: turnpike-peer -->$/ { kind = "files"; next }
	kind && /^```/ && !inb { inb = 1; n++; f = sprintf("%s/peer-%d.%s", dir, n, kind); next }
	inb && /^```$/ { inb = 0; kind = ""; close(f); next }
	inb { print > f }' "$top_srcdir/README.md"
peer_conf=$(find "$TMP/snip" -name 'peer-*.conf' | head -n 1)
npeer=$(find "$TMP/snip" -name 'peer-*.files' -o -name 'peer-*.redis' | wc -l)
check "README.md has a turnpike-peer config and calls ($npeer)" test -n "$peer_conf" -a "$npeer" -ge 2
if [ ! -x "$PEER_BIN" ]; then
	skip "turnpike-peer not built: its README calls are not run"
elif [ -n "$peer_conf" ]; then
	# The man page's OPTIONS document every option --help lists.
	missing=""
	sed -n '/^\.SH OPTIONS/,/^\.SH OUTPUT/p' "$top_srcdir/man/turnpike-peer.1" >"$TMP/options.roff"
	for o in $("$PEER_BIN" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		# as roff writes it: \-\-name
		grep -qF -- "$(sed 's/-/\\-/g' <<<"$o")" "$TMP/options.roff" || missing="$missing $o"
	done
	check "man/turnpike-peer.1 documents every option of --help${missing:+ (not:$missing)}" \
		test -z "$missing"
	HPORT=$("$FREEPORT")
	# Test-only: loopback relays and peers, the hook on a free port.
	start_server peer-doc -c "$peer_conf" --relay-ip 127.0.0.1 --allow-loopback-peers \
		--http-listen "127.0.0.1:$HPORT" || fail "turnpike-peer config: server start"
	have_redis=no
	start_redis && have_redis=yes
	for f in "$TMP"/snip/peer-*.files "$TMP"/snip/peer-*.redis; do
		[ -f "$f" ] || continue
		name=$(basename "$f")
		if [ "${f##*.}" = redis ] && [ "$have_redis" = no ]; then
			skip "$name: redis-server not installed"
			continue
		fi
		mkdir "$TMP/$name.d"
		# The README's ports become the test's; nothing else changes.
		sed -e "s/127\.0\.0\.1:9641/127.0.0.1:$HPORT/g" -e "s/127\.0\.0\.1:3478/127.0.0.1:$PORT/g" \
			-e "s/127\.0\.0\.1:6379/127.0.0.1:${RPORT:-6379}/g" "$f" >"$TMP/$name.d/run.sh"
		(cd "$TMP/$name.d" && PATH=$top_builddir:$PATH timeout 60 bash -e run.sh) \
			>"$TMP/$name.out" 2>&1
		rc=$?
		check "$name: the calls as written succeed (exit $rc)" test "$rc" -eq 0
		for j in "$TMP/$name.d"/*.json; do
			check "$name: $(basename "$j") says ok" grep -q '^{"ok": true' "$j"
		done
		[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/$name.out" | tail -n 20
	done
	stop_server "$SERVER_PID" || fail "turnpike-peer config: server did not stop cleanly"
fi

# ---- README: turnpikectl sessions and kill ----
awk -v dir="$TMP/snip" '
	/^<!-- snippet: turnpikectl conf -->$/ { kind = "ctlconf"; next }
	/^<!-- snippet: turnpikectl -->$/ { kind = "ctl"; next }
	kind && /^```/ && !inb { inb = 1; f = sprintf("%s/admin.%s", dir, kind); next }
	inb && /^```$/ { inb = 0; kind = ""; close(f); next }
	inb { print > f }' "$top_srcdir/README.md"
if [ -f "$TMP/snip/admin.ctlconf" ] && [ -f "$TMP/snip/admin.ctl" ]; then
	HPORT=$("$FREEPORT")
	start_server admin-doc -c "$TMP/snip/admin.ctlconf" --relay-ip 127.0.0.1 \
		--allow-loopback-peers --http-listen "127.0.0.1:$HPORT" ||
		fail "turnpikectl config: server start"
	# One of alice's allocations (the conf's user), held while the calls run.
	u=$(values user "$TMP/snip/admin.ctlconf" | head -n 1)
	/usr/bin/python3 "$top_srcdir/tests/system/ctl_sessions.py" hold "$PORT" "${u%%:*}" \
		"${u#*:}" 30 >"$TMP/hold.out" 2>&1 &
	HOLD=$!
	PIDS="$PIDS $HOLD"
	check "an allocation for the turnpikectl calls" within 5000 grep -q held "$TMP/hold.out"
	mkdir "$TMP/admin.d"
	sed -e "s/127\.0\.0\.1:9641/127.0.0.1:$HPORT/g" "$TMP/snip/admin.ctl" >"$TMP/admin.d/run.sh"
	(cd "$TMP/admin.d" && PATH=$top_builddir:$PATH timeout 30 bash -e run.sh) \
		>"$TMP/admin.out" 2>&1
	rc=$?
	check "README turnpikectl calls succeed as written (exit $rc)" test "$rc" -eq 0
	check "they list alice's allocation and end it" \
		grep -q '"user":"alice"' "$TMP/admin.out"
	check "... ended: 1" grep -qx 'ended: 1' "$TMP/admin.out"
	[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/admin.out" | tail -n 20
	kill "$HOLD" 2>/dev/null
	wait "$HOLD" 2>/dev/null
	forget_pid "$HOLD"
	stop_server "$SERVER_PID" || fail "turnpikectl config: server did not stop cleanly"
else
	fail "README.md has no turnpikectl sessions snippet"
fi

# Every man page is clean roff: groff with all warnings but line breaking
# (a long literal is fine) says nothing.
if command -v groff >/dev/null; then
	for m in "$top_srcdir"/man/*.[0-9]; do
		out=$(groff -ww -Wbreak -man -z "$m" 2>&1)
		check "$(basename "$m"): groff -ww finds nothing${out:+ ($(head -n 2 <<<"$out" | tr '\n' ' '))}" \
			test -z "$out"
	done
else
	skip "groff not installed (Debian package groff-base)"
fi
finish
