/* cand.c - ICE candidate and pair arithmetic (RFC 8445 §5.1.2, §5.1.1.3,
 * §6.1.2): priorities, foundations, ordering, pruning, initial states.
 * Pure functions, no sockets. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/ice.h"
#include "util/addr.h"

unsigned ice_type_pref(enum sdp_cand_type t)
{
	switch (t) {
	case SDP_HOST:
		return ICE_PREF_HOST;
	case SDP_PRFLX:
		return ICE_PREF_PRFLX;
	case SDP_SRFLX:
		return ICE_PREF_SRFLX;
	case SDP_RELAY:
		break;
	}
	return ICE_PREF_RELAY;
}

uint32_t ice_cand_priority(enum sdp_cand_type t, uint16_t local_pref, unsigned component)
{
	/* RFC 8445 §5.1.2.1; component is 1..256. */
	return (ice_type_pref(t) << 24) + ((uint32_t)local_pref << 8) + (256 - (component & 0xff));
}

uint64_t ice_pair_priority(uint32_t g, uint32_t d)
{
	uint64_t lo = g < d ? g : d, hi = g < d ? d : g;

	/* RFC 8445 §6.1.2.3 */
	return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

uint64_t ice_pair_prio_for(const struct ice_pair *p, bool controlling)
{
	uint32_t l = p->local->priority, r = p->remote->priority;

	return controlling ? ice_pair_priority(l, r) : ice_pair_priority(r, l);
}

/* Writes a sockaddr's IP (not the port) as 16 bytes of the foundation's
 * hash input: IPv4 as IPv4-mapped IPv6, zeros for none. */
static size_t put_ip(uint8_t *out, const struct sockaddr *sa)
{
	memset(out, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	return 16;
}

void ice_foundation(enum sdp_cand_type t, const struct sockaddr *base,
		    const struct sockaddr *server, bool relay_tcp, char *out)
{
	static const uint8_t k[16] = "turnpike-found.";
	uint8_t in[40];
	size_t n = 0;

	/* RFC 8445 §5.1.1.3: type, base IP, server IP, transport. */
	in[n++] = (uint8_t)t;
	n += put_ip(in + n, base);
	n += put_ip(in + n, server);
	in[n++] = relay_tcp ? 6 : 17;
	snprintf(out, SDP_FOUNDATION_MAX + 1, "%u",
		 (unsigned)(addr_siphash(k, in, n) & 0x7fffffff));
}

static int pair_cmp(const void *x, const void *y)
{
	const struct ice_pair *a = x, *b = y;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	/* qsort is not stable: break ties by the candidates' addresses' order
	 * in memory, which is their order of arrival. */
	if (a->local != b->local)
		return a->local < b->local ? -1 : 1;
	return a->remote < b->remote ? -1 : a->remote > b->remote;
}

void ice_pairs_sort(struct ice_pair *pairs, size_t n)
{
	if (n > 1)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
}

size_t ice_pairs_prune(struct ice_pair *pairs, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < out && !dup; j++)
			dup = addr_equal((const struct sockaddr *)&pairs[j].local->base,
					 (const struct sockaddr *)&pairs[i].local->base) &&
			      pairs[j].local->sock == pairs[i].local->sock &&
			      addr_equal((const struct sockaddr *)&pairs[j].remote->addr,
					 (const struct sockaddr *)&pairs[i].remote->addr);
		if (!dup)
			pairs[out++] = pairs[i];
	}
	return out;
}

bool ice_pair_same_foundation(const struct ice_pair *a, const struct ice_pair *b)
{
	return strcmp(a->local->foundation, b->local->foundation) == 0 &&
	       strcmp(a->remote->foundation, b->remote->foundation) == 0;
}

void ice_pairs_initial_states(struct ice_pair *pairs, size_t n)
{
	/* RFC 8445 §6.1.2.6: one component, so the first (highest) pair of each
	 * foundation becomes Waiting. */
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = ice_pair_same_foundation(&pairs[j], &pairs[i]);
		pairs[i].state = seen ? ICE_FROZEN : ICE_WAITING;
	}
}

uint16_t ice_host_local_pref(size_t i)
{
	return (uint16_t)(65535 - (i < 64 ? i : 64) * 256);
}

uint16_t ice_relay_local_pref(enum peer_server_transport t)
{
	switch (t) {
	case PEER_SRV_UDP:
		return 65535;
	case PEER_SRV_TCP:
		return 32767;
	case PEER_SRV_TLS:
		break;
	}
	return 16383;
}
