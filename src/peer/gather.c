/* gather.c - candidate gathering (RFC 8445 §5.1.1): host candidates on
 * every usable local address (or each --host-ip), server-reflexive ones
 * through STUN Binding from those sockets, relayed ones through TURN
 * Allocate. Asynchronous: peer_agent_gathered runs when the last request
 * is answered (or the agent's gathering timer ends it). */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer/ice.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"

struct srflx_req {
	struct peer_agent *a;
	struct peer_sock *sock;
	const struct peer_server *srv;
};

static void one_done(struct peer_agent *a)
{
	if (a->gather_pending > 0 && --a->gather_pending == 0 && a->phase == PHASE_GATHER)
		peer_agent_gathered(a);
}

/* A usable address for a host candidate: up, not loopback (unless named
 * with --host-ip), not IPv6 link-local (RFC 8445 §5.1.1.1). */
static bool usable(const struct ifaddrs *ifa)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	if (sa->sa_family == AF_INET)
		return true;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return !IN6_IS_ADDR_LINKLOCAL(a6) && !IN6_IS_ADDR_V4MAPPED(a6) &&
		       !IN6_IS_ADDR_LOOPBACK(a6);
	}
	return false;
}

static void add_host(struct peer_agent *a, const struct sockaddr *ip)
{
	struct peer_sock *s;
	char buf[ADDR_STRLEN];
	int rc;

	if (a->nhosts == sizeof(a->hosts) / sizeof(a->hosts[0]))
		return;
	if ((rc = peer_sock_open_udp(a, ip, &s)) != 0) {
		log_msg(LOG_LVL_WARN, "host candidate on %s: %s",
			addr_format(ip, false, buf, sizeof(buf)), tp_strerror(rc));
		return;
	}
	a->hosts[a->nhosts] = s;
	peer_agent_add_local(a, SDP_HOST, (const struct sockaddr *)&s->local,
			     (const struct sockaddr *)&s->local, NULL,
			     ice_host_local_pref(a->nhosts), s, false);
	a->nhosts++;
}

static void open_hosts(struct peer_agent *a)
{
	struct ifaddrs *ifs, *ifa;

	if (a->o->nhost_ips) {
		for (size_t i = 0; i < a->o->nhost_ips; i++)
			add_host(a, (const struct sockaddr *)&a->o->host_ips[i]);
		return;
	}
	if (getifaddrs(&ifs) != 0) {
		log_msg(LOG_LVL_WARN, "no host candidates: getifaddrs failed");
		return;
	}
	for (ifa = ifs; ifa; ifa = ifa->ifa_next)
		if (usable(ifa))
			add_host(a, ifa->ifa_addr);
	freeifaddrs(ifs);
}

static void srflx_done(void *arg, struct peer_txn *t, const struct stun_msg *m,
		       const struct sockaddr *from)
{
	struct srflx_req *r = arg;
	struct peer_agent *a = r->a;
	struct sockaddr_storage mapped;

	(void)t;
	(void)from;
	if (m && m->cls == STUN_SUCCESS &&
	    stun_msg_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) == 0) {
		/* RFC 8445 §5.1.3: one equal to its base is redundant. */
		if (!addr_equal((const struct sockaddr *)&mapped,
				(const struct sockaddr *)&r->sock->local))
			peer_agent_add_local(a, SDP_SRFLX, (const struct sockaddr *)&mapped,
					     (const struct sockaddr *)&r->sock->local,
					     (const struct sockaddr *)&r->srv->addr,
					     ice_host_local_pref(0), r->sock, false);
	} else if (!m) {
		log_msg(LOG_LVL_WARN, "no Binding answer from %s", r->srv->uri);
	}
	free(r);
	one_done(a);
}

static void start_srflx(struct peer_agent *a, struct peer_sock *s, const struct peer_server *srv)
{
	struct srflx_req *r;
	struct stun_builder b;
	uint8_t buf[128], txn[16];
	size_t len;

	if (srv->transport != PEER_SRV_UDP || srv->addr.ss_family != s->local.ss_family)
		return;
	if (stun_txn_new(txn) != 0 || !(r = calloc(1, sizeof(*r))))
		return;
	r->a = a;
	r->sock = s;
	r->srv = srv;
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &len) != 0 ||
	    peer_txn_start(&a->txns, peer_sock_send, s, false, (const struct sockaddr *)&srv->addr,
			   buf, len, srflx_done, r, NULL) != 0) {
		free(r);
		return;
	}
	a->gather_pending++;
}

static void relay_ready(struct peer_agent *a, struct peer_turn *t)
{
	const struct peer_server *srv = peer_turn_server(t);

	if (peer_turn_state(t) == TURN_ST_READY)
		peer_agent_add_local(a, SDP_RELAY, (const struct sockaddr *)peer_turn_relayed(t),
				     (const struct sockaddr *)peer_turn_relayed(t),
				     (const struct sockaddr *)&srv->addr,
				     ice_relay_local_pref(srv->transport), peer_turn_sock(t),
				     srv->transport != PEER_SRV_UDP);
	one_done(a);
}

int peer_gather_start(struct peer_agent *a)
{
	const struct peer_servers *ss = &a->o->servers;

	a->gather_pending = 1; /* held until every request is out */
	if (a->o->policy == PEER_POLICY_ALL) {
		open_hosts(a);
		for (size_t i = 0; i < a->nhosts; i++)
			for (size_t j = 0; j < ss->n; j++)
				start_srflx(a, a->hosts[i], &ss->s[j]);
	}
	for (size_t j = 0; j < ss->n && a->nturns < PEER_SERVERS_MAX; j++) {
		struct peer_turn *t;

		if (ss->s[j].kind != PEER_SRV_TURN)
			continue;
		if (!(t = peer_turn_new(a, &ss->s[j], relay_ready)))
			return TP_ENOMEM;
		a->turns[a->nturns++] = t;
		if (peer_turn_start(t) != 0) {
			log_msg(LOG_LVL_WARN, "%s", peer_turn_error(t));
			continue;
		}
		a->gather_pending++;
	}
	one_done(a);
	return 0;
}
