#!/usr/bin/env bash
# matrix.sh - the transport matrix: coturn's turnutils_uclient relays through
# one turnpiked over every client transport (UDP, TCP, TLS, DTLS) from an
# IPv4 and an IPv6 client address, to IPv4 and IPv6 relays (RFC 6156), with
# UDP relays to turnutils_peer and RFC 6062 TCP relays between two clients
# of its own. Each cell must relay every message; the table it prints is
# the one in issue 10's closing note.
. "$(dirname "$0")/lib.sh"

for t in turnutils_uclient turnutils_peer openssl ss; do
	command -v $t >/dev/null || skip "$t not installed (Debian packages coturn, openssl, iproute2)"
done
[ "$skipped" -eq 0 ] || finish

MIN_PORT=20000 # below the ephemeral range, as in turn_uclient.sh
MAX_PORT=29999
N=${MATRIX_MESSAGES:-40} # messages per session; 2 sessions per cell

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || { fail "openssl req"; finish; }
TPORT=$("$FREEPORT") || { fail "no free port"; finish; }
start_server matrix --min-port "$MIN_PORT" --max-port "$MAX_PORT" --allow-loopback-peers \
	--realm example.org --use-auth-secret --static-auth-secret s3cr3t \
	--relay-ip 127.0.0.1 --relay-ip ::1 \
	--tls-listening-port "$TPORT" --cert "$TMP/cert.pem" --pkey "$TMP/key.pem" ||
	{ fail "server start"; finish; }

udp_bound() {
	local a=$1
	case $a in *:*) a="[$a]" ;; esac
	ss -Hnlu "sport = :$2" | awk '{ print $4 }' | grep -qxF "$a:$2"
}
PEER4=$("$FREEPORT") && PEER6=$("$FREEPORT") || { fail "no free port"; finish; }
for p in "127.0.0.1 $PEER4" "::1 $PEER6"; do
	set -- $p
	turnutils_peer -L "$1" -p "$2" >"$TMP/peer-$2.log" 2>&1 &
	PIDS="$PIDS $!"
	check "turnutils_peer listens on $1 port $2" within 5000 udp_bound "$1" "$2"
done

# cell TRANSPORT SERVER RELAY-FAMILY RELAY-PROTO: one uclient run, in the
# background (uclient spends seconds waiting at its end, so cells run side
# by side); judge collects it.
CELLS=""
cell() {
	local tr=$1 srv=$2 fam=$3 rp=$4 args=() port=$PORT name
	name=$tr-$fam-$rp-${srv//:/_}
	case $tr in
	tcp) args+=(-t) ;;
	tls) args+=(-t -S) port=$TPORT ;;
	dtls) args+=(-S) port=$TPORT ;;
	esac
	case $fam in
	ipv4) args+=(-X) ;;
	ipv6) args+=(-x) ;;
	esac
	if [ "$rp" = tcp ]; then
		args+=(-T) # RFC 6062, client to client (-y): no peer
	elif [ "$fam" = ipv4 ]; then
		args+=(-e 127.0.0.1 -r "$PEER4")
	else
		args+=(-e ::1 -r "$PEER6")
	fi
	(
		timeout 30 turnutils_uclient "${args[@]}" -p "$port" -W s3cr3t -u bob -n "$N" -m 2 \
			-l 120 "$srv" >"$TMP/u-$name.out" 2>&1
		echo $? >"$TMP/u-$name.rc"
	) &
	PIDS="$PIDS $!"
	CELLS="$CELLS $tr,$srv,$fam,$rp,$!"
}

ROWS=""
# judge: waits for every cell, checks it, and adds its row to the table.
judge() {
	local c tr srv fam rp pid name rc lost
	for c in $CELLS; do
		IFS=, read -r tr srv fam rp pid <<<"$c"
		wait "$pid"
		forget_pid "$pid"
		name=$tr-$fam-$rp-${srv//:/_}
		rc=$(cat "$TMP/u-$name.rc" 2>/dev/null || echo '?')
		uclient_counts "$TMP/u-$name.out"
		lost=$(sed -n 's/.*Total lost packets \([0-9]*\) .*/\1/p' "$TMP/u-$name.out" | tail -n 1)
		check "uclient $tr to $srv, $fam relay over $rp: status $rc, $GOT of $SENT back, lost ${lost:-?}" \
			test "$rc" = 0 -a "$SENT" -gt 0 -a "$GOT" = "$SENT" -a "${lost:-x}" = 0
		[ "$rc" = 0 ] && [ "$GOT" = "$SENT" ] && [ "$SENT" -gt 0 ] ||
			tail -n 5 "$TMP/u-$name.out" | sed 's/^/  /'
		ROWS="$ROWS$(printf '| %-4s | %-9s | %-4s | %-3s | %4s | %4s | %s |' "$tr" "$srv" \
			"$fam" "$rp" "$SENT" "$GOT" "${lost:-?}")
"
	done
	CELLS=""
}

# Eight cells at a time.
for tr in udp tcp tls dtls; do
	for srv in 127.0.0.1 ::1; do
		for fam in ipv4 ipv6; do
			cell "$tr" "$srv" "$fam" udp
		done
	done
	[ "$tr" = tcp ] || [ "$tr" = dtls ] && judge
done
for tr in tcp tls; do
	for srv in 127.0.0.1 ::1; do
		for fam in ipv4 ipv6; do
			cell "$tr" "$srv" "$fam" tcp
		done
	done
done
judge

echo "| client | server | relay | relay proto | sent | back | lost |"
echo "|---|---|---|---|---|---|---|"
printf '%s' "$ROWS"
log_problems "$TMP/matrix.log"
finish
