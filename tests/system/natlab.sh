#!/usr/bin/env bash
# natlab.sh - the NAT lab (tests/natlab/natlab.sh, issue 12) as a system
# test: a turnpike-peer call through turnpiked for every pair of six NAT
# types built in network namespaces with nftables; the expected direct and
# relayed outcomes, all --data back, and /metrics' relay-fallback figure
# equal to what the peers saw. Skipped only where namespaces cannot be
# created (not root, no ip or nft, no namespace support).
. "$(dirname "$0")/lib.sh"
exclusive

export top_builddir
timeout 110 bash "$top_srcdir/tests/natlab/natlab.sh" \
	--matrix full=0.3,prc=0.3,sym=0.2,nonat=0.15,udp=0.05 >"$TMP/natlab.out" 2>&1
rc=$?
cat "$TMP/natlab.out"
case $rc in
77) skip "$(grep -m1 'SKIP' "$TMP/natlab.out")" ;;
0) ok "NAT lab: every call as expected, server fallback figure agrees" ;;
*) fail "NAT lab (status $rc)" ;;
esac
prefix=$(sed -n 's/^natlab: namespaces \(nl[0-9]*\)-\*$/\1/p' "$TMP/natlab.out")
if [ -n "$prefix" ]; then
	check "the lab's namespaces ($prefix-*) are gone" not grep -q "^$prefix-" <(ip netns list)
fi
finish
