#!/usr/bin/env bash
# ops.sh - what an operator installs around turnpiked: the systemd unit
# (Type=notify readiness, reload, stop; systemd-analyze verify finds nothing
# to say), the pid file, logrotate's SIGUSR2, journal-friendly stderr,
# proc-user (bind a privileged port as root, then run as nobody), and the
# Docker and Kubernetes files (valid YAML, every turnpiked option they pass
# exists, the configuration they ship passes --check-config).
. "$(dirname "$0")/lib.sh"

command -v /usr/bin/python3 >/dev/null || { skip "python3 not installed"; finish; }

run_py ops.py --tmp "$TMP" || true

# The unit, with its configured paths, pointed at this build.
UNIT=$top_builddir/turnpiked.service
if [ ! -f "$UNIT" ]; then
	fail "the build made turnpiked.service"
elif ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze not installed (Debian package systemd)"
else
	sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/turnpiked|\1$TURNPIKED|" "$UNIT" >"$TMP/turnpiked.service"
	systemd-analyze verify --man=no "$TMP/turnpiked.service" >"$TMP/verify.out" 2>&1
	check "systemd-analyze verify: status $?, nothing to say ($(head -c 200 "$TMP/verify.out"))" \
		test ! -s "$TMP/verify.out"
	check "the unit is Type=notify" grep -qx 'Type=notify' "$UNIT"
	check "... and reloads with SIGHUP" grep -qxF 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"
fi

# ExecStartPre's check, as systemd runs it, on the sample configuration.
check "turnpiked --check-config etc/turnpike.conf (the unit's ExecStartPre) passes" \
	"$TURNPIKED" --check-config "$top_srcdir/etc/turnpike.conf" >/dev/null

# Docker and Kubernetes: the files parse, and what they hand turnpiked is
# a configuration it accepts.
/usr/bin/python3 - "$top_srcdir" "$TMP" >"$TMP/yaml.out" 2>&1 <<'PY'
import json, re, sys, yaml
top, tmp = sys.argv[1], sys.argv[2]
out = {}
compose = yaml.safe_load(open(f"{top}/docker/docker-compose.yml"))
out["compose"] = compose["services"]["turnpiked"]["command"]
docs = []
for f in ("deployment", "secret", "service"):
    docs += [d for d in yaml.safe_load_all(open(f"{top}/docker/k8s/{f}.yaml")) if d]
for d in docs:
    if d["kind"] == "Deployment":
        c = d["spec"]["template"]["spec"]["containers"][0]
        out["k8s"] = c["args"]
    if d["kind"] == "Secret":
        open(f"{tmp}/k8s.conf", "w").write(d["stringData"]["turnpike.conf"])
m = re.search(r'^CMD (\[.*\])$', open(f"{top}/docker/Dockerfile").read(), re.M)
out["dockerfile"] = json.loads(m.group(1))
for k, v in out.items():
    print(k + "\t" + "\t".join(v))
PY
check "docker-compose.yml and docker/k8s/*.yaml are valid YAML" test $? -eq 0
cat "$TMP/yaml.out" | grep -v $'\t' | head -n 5
# check_args NAME ARGS...: turnpiked accepts them (a -c FILE among them is
# replaced by the configuration shipped with them, if any, else /dev/null).
check_args() {
	local name=$1 conf=/dev/null a=() skip_next=0
	shift
	[ "$name" = k8s ] && conf=$TMP/k8s.conf
	for x in "$@"; do
		if [ "$skip_next" = 1 ]; then skip_next=0; continue; fi
		if [ "$x" = -c ]; then skip_next=1; continue; fi
		a+=("$x")
	done
	"$TURNPIKED" "${a[@]}" --check-config "$conf" >"$TMP/check-$name.out" 2>&1
}
while IFS=$'\t' read -r name args; do
	IFS=$'\t' read -r -a argv <<<"$args"
	check "$name: turnpiked accepts its options (${argv[*]}) $(head -c 200 "$TMP/check-$name.out" 2>/dev/null)" \
		check_args "$name" "${argv[@]}"
done < <(grep $'\t' "$TMP/yaml.out")
check "k8s: the Secret's turnpike.conf passes --check-config" \
	"$TURNPIKED" --check-config "$TMP/k8s.conf" >/dev/null

quiet() { "$@" >/dev/null 2>&1; }

# proc-user: as root, a port below 1024 is bound, then the process runs as
# nobody and still serves, and relays.
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	skip "proc-user needs root and the user nobody"
else
	LOW=""
	for p in $(seq 700 1000); do
		if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnt "sport = :$p" | grep -q .; then
			LOW=$p
			break
		fi
	done
	"$TURNPIKED" -c /dev/null --listening-ip 127.0.0.1 --listening-port "$LOW" \
		--proc-user nobody --allow-loopback-peers --user alice:secret --realm example.org \
		--min-port 20000 --max-port 20099 --log-level debug >"$TMP/proc.log" 2>&1 &
	P=$!
	PIDS="$PIDS $P"
	check "proc-user nobody: port $LOW answers" within 10000 quiet "$CTL" stun "127.0.0.1:$LOW"
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$P/status")
	gid=$(awk '/^Gid:/ { print $2 $3 $4 $5 }' "/proc/$P/status")
	n=$(id -u nobody)
	g=$(id -g nobody)
	check "... runs as nobody: real, effective, saved and fs uid $n ($uid)" test "$uid" = "$n$n$n$n"
	check "... and gid $g ($gid)" test "$gid" = "$g$g$g$g"
	check "... no supplementary group but its own ($(awk '/^Groups:/ { $1 = ""; print }' "/proc/$P/status"))" \
		test -z "$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$P/status" | tr -d ' ')" -o \
		"$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$P/status" | tr -d ' ')" = "$g"
	check "... and relays (turnprobe relay over UDP and TCP)" \
		"$top_builddir/tests/tools/turnprobe" 127.0.0.1 "$LOW" relay 20 --peer-ip 127.0.0.1 \
		--relay-port 20000
	check "... over TCP too" "$top_builddir/tests/tools/turnprobe" 127.0.0.1 "$LOW" relay 20 \
		--tcp --peer-ip 127.0.0.1 --relay-port 20000
	check "... logged the switch" grep -q "running as user $n, group $g" "$TMP/proc.log"
	kill -TERM "$P"
	wait "$P"
	rc=$?
	forget_pid "$P"
	check "... stops with status 0 ($rc)" test "$rc" -eq 0
fi

# A user that does not exist: exit 1 with one line, before anything binds.
"$TURNPIKED" -c /dev/null --listening-ip 127.0.0.1 --listening-port "$("$FREEPORT")" \
	--proc-user no-such-user-here >"$TMP/nouser.log" 2>&1
rc=$?
check "proc-user no-such-user-here: exit 1 ($rc)" test "$rc" -eq 1
check "... saying why: $(grep -c . "$TMP/nouser.log") line(s): $(grep error "$TMP/nouser.log")" \
	grep -q "error: proc-user: no user 'no-such-user-here'" "$TMP/nouser.log"
finish
