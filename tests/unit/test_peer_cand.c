/* test_peer_cand.c - unit tests for src/peer/cand.c: candidate and pair
 * priorities by RFC 8445's formulas, foundations, the checklist's order,
 * pruning and initial states. */
#include <string.h>

#include "check.h"
#include "peer/ice.h"

static struct ice_cand cand(enum sdp_cand_type t, const char *addr, const char *base,
			    uint16_t lpref, const char *found)
{
	struct ice_cand c;

	memset(&c, 0, sizeof(c));
	c.type = t;
	c.addr = check_addr(addr);
	c.base = check_addr(base);
	c.local_pref = lpref;
	c.priority = ice_cand_priority(t, lpref, 1);
	snprintf(c.foundation, sizeof(c.foundation), "%s", found);
	return c;
}

static void test_cand_priority(void)
{
	/* RFC 8445 §5.1.2.1 with the §5.1.2.2 type preferences. */
	CHECK_INT(ice_cand_priority(SDP_HOST, 65535, 1), (126u << 24) + (65535u << 8) + 255);
	CHECK_INT(ice_cand_priority(SDP_HOST, 65535, 1), 2130706431u); /* as browsers write it */
	CHECK_INT(ice_cand_priority(SDP_SRFLX, 65535, 1), 1694498815u);
	CHECK_INT(ice_cand_priority(SDP_PRFLX, 65535, 1), 1862270975u);
	CHECK_INT(ice_cand_priority(SDP_RELAY, 0, 1), 255);
	CHECK_INT(ice_cand_priority(SDP_HOST, 0, 2), (126u << 24) + 254);
	/* Type preference orders before local preference. */
	CHECK(ice_cand_priority(SDP_HOST, 0, 1) > ice_cand_priority(SDP_PRFLX, 65535, 1));
	CHECK(ice_cand_priority(SDP_PRFLX, 0, 1) > ice_cand_priority(SDP_SRFLX, 65535, 1));
	CHECK(ice_cand_priority(SDP_SRFLX, 0, 1) > ice_cand_priority(SDP_RELAY, 65535, 1));
	/* Relays: UDP above TCP above TLS. */
	CHECK(ice_relay_local_pref(PEER_SRV_UDP) > ice_relay_local_pref(PEER_SRV_TCP));
	CHECK(ice_relay_local_pref(PEER_SRV_TCP) > ice_relay_local_pref(PEER_SRV_TLS));
	CHECK(ice_host_local_pref(0) > ice_host_local_pref(1));
}

static void test_pair_priority(void)
{
	/* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
	CHECK(ice_pair_priority(10, 20) == (10ull << 32) + 40);
	CHECK(ice_pair_priority(20, 10) == (10ull << 32) + 41);
	CHECK(ice_pair_priority(7, 7) == (7ull << 32) + 14);
	CHECK(ice_pair_priority(0xffffffffu, 0xffffffffu) ==
	      (0xffffffffull << 32) + 2 * 0xffffffffull);
	/* Both agents compute the same value: G is always the controlling one's. */
	struct ice_cand l = cand(SDP_HOST, "10.0.0.1:1000", "10.0.0.1:1000", 65535, "1");
	struct ice_cand r = cand(SDP_RELAY, "192.0.2.1:2000", "192.0.2.1:2000", 65535, "2");
	struct ice_pair mine = {.local = &l, .remote = &r}, theirs = {.local = &r, .remote = &l};
	CHECK(ice_pair_prio_for(&mine, true) == ice_pair_prio_for(&theirs, false));
	CHECK(ice_pair_prio_for(&mine, false) == ice_pair_prio_for(&theirs, true));
	CHECK(ice_pair_prio_for(&mine, true) != ice_pair_prio_for(&mine, false));
}

static void test_foundation(void)
{
	struct sockaddr_storage b1 = check_addr("10.0.0.1:1000"), b1p = check_addr("10.0.0.1:2000");
	struct sockaddr_storage b2 = check_addr("10.0.0.2:1000"), s1 = check_addr("192.0.2.1:3478");
	struct sockaddr_storage s2 = check_addr("192.0.2.2:3478"),
				v6 = check_addr("[2001:db8::1]:5");
	char f1[SDP_FOUNDATION_MAX + 1], f2[SDP_FOUNDATION_MAX + 1];

	/* RFC 8445 §5.1.1.3: same type, base IP, server IP, transport. */
	ice_foundation(SDP_HOST, (struct sockaddr *)&b1, NULL, false, f1);
	ice_foundation(SDP_HOST, (struct sockaddr *)&b1p, NULL, false, f2);
	CHECK_STR(f1, f2); /* the port is not part of it */
	CHECK(strlen(f1) > 0 && strlen(f1) <= 32);
	for (const char *p = f1; *p; p++)
		CHECK(*p >= '0' && *p <= '9'); /* ice-chars */
	ice_foundation(SDP_HOST, (struct sockaddr *)&b2, NULL, false, f2);
	CHECK(strcmp(f1, f2) != 0);
	ice_foundation(SDP_SRFLX, (struct sockaddr *)&b1, (struct sockaddr *)&s1, false, f2);
	CHECK(strcmp(f1, f2) != 0);
	ice_foundation(SDP_SRFLX, (struct sockaddr *)&b1, (struct sockaddr *)&s1, false, f1);
	ice_foundation(SDP_SRFLX, (struct sockaddr *)&b1, (struct sockaddr *)&s2, false, f2);
	CHECK(strcmp(f1, f2) != 0);
	ice_foundation(SDP_RELAY, (struct sockaddr *)&b1, (struct sockaddr *)&s1, false, f1);
	ice_foundation(SDP_RELAY, (struct sockaddr *)&b1, (struct sockaddr *)&s1, true, f2);
	CHECK(strcmp(f1, f2) != 0);
	ice_foundation(SDP_HOST, (struct sockaddr *)&v6, NULL, false, f1);
	ice_foundation(SDP_HOST, (struct sockaddr *)&b1, NULL, false, f2);
	CHECK(strcmp(f1, f2) != 0);
}

static void test_order(void)
{
	struct ice_cand host = cand(SDP_HOST, "10.0.0.1:1000", "10.0.0.1:1000", 65535, "h");
	struct ice_cand srflx = cand(SDP_SRFLX, "198.51.100.1:5000", "10.0.0.1:1000", 65535, "s");
	struct ice_cand relay = cand(SDP_RELAY, "192.0.2.1:6000", "192.0.2.1:6000", 65535, "r");
	struct ice_cand rh = cand(SDP_HOST, "10.0.0.9:1000", "10.0.0.9:1000", 65535, "H");
	struct ice_cand rr = cand(SDP_RELAY, "192.0.2.9:7000", "192.0.2.9:7000", 65535, "R");
	struct ice_cand *locals[] = {&relay, &srflx, &host}, *remotes[] = {&rr, &rh};
	struct ice_pair pairs[6];
	size_t n = 0;
	int sock = 0;

	/* host and srflx share one socket (the srflx's base). */
	host.sock = srflx.sock = (struct peer_sock *)&sock;
	relay.sock = (struct peer_sock *)&n;
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 2; j++) {
			memset(&pairs[n], 0, sizeof(pairs[n]));
			pairs[n].local = locals[i];
			pairs[n].remote = remotes[j];
			pairs[n].priority = ice_pair_prio_for(&pairs[n], true);
			n++;
		}
	ice_pairs_sort(pairs, n);
	for (size_t i = 1; i < n; i++)
		CHECK(pairs[i - 1].priority >= pairs[i].priority);
	CHECK(pairs[0].local == &host && pairs[0].remote == &rh);
	CHECK(pairs[n - 1].local == &relay && pairs[n - 1].remote == &rr);

	/* §6.1.2.4: srflx pairs are checked from the base, the host's socket:
	 * replaced by the host candidate, they duplicate the host pairs. */
	for (size_t i = 0; i < n; i++)
		if (pairs[i].local == &srflx)
			pairs[i].local = &host;
	for (size_t i = 0; i < n; i++)
		pairs[i].priority = ice_pair_prio_for(&pairs[i], true);
	ice_pairs_sort(pairs, n);
	n = ice_pairs_prune(pairs, n);
	CHECK_INT(n, 4);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			CHECK(!(pairs[i].local == pairs[j].local &&
				pairs[i].remote == pairs[j].remote));

	/* §6.1.2.6: one Waiting pair per foundation, the highest; others Frozen. */
	ice_pairs_initial_states(pairs, n);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(pairs[i].state, ICE_WAITING); /* four foundations */
	struct ice_cand rh2 = cand(SDP_HOST, "10.0.0.9:1001", "10.0.0.9:1001", 65534, "H");
	pairs[n] = pairs[0];
	pairs[n].remote = &rh2;
	pairs[n].priority = ice_pair_prio_for(&pairs[n], true);
	n++;
	ice_pairs_sort(pairs, n);
	ice_pairs_initial_states(pairs, n);
	CHECK(pairs[0].remote == &rh && pairs[0].state == ICE_WAITING);
	CHECK(pairs[1].remote == &rh2 && pairs[1].state == ICE_FROZEN);
	CHECK(ice_pair_same_foundation(&pairs[0], &pairs[1]));
	CHECK(!ice_pair_same_foundation(&pairs[0], &pairs[2]));
}

int main(void)
{
	test_cand_priority();
	test_pair_priority();
	test_foundation();
	test_order();
	return check_done("test_peer_cand");
}
