/* setup.c - what the server derives from its configuration before the
 * workers start: relay addresses (with external-ip), the credential store
 * and nonce key, and the peer policy with our own addresses in it. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dtls.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"

/* Host addresses usable for relaying: up, not loopback, not link-local. */
static bool usable_host_addr(const struct ifaddrs *ifa)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 16) != 0xa9fe;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return !IN6_IS_ADDR_LINKLOCAL(a) && !IN6_IS_ADDR_LOOPBACK(a);
	}
	return false;
}

static int add_relay(struct server *srv, const struct sockaddr *sa)
{
	int fi = sa->sa_family == AF_INET6;
	struct relay_addr *r = realloc(srv->relay[fi], (srv->nrelay[fi] + 1) * sizeof(*r));

	if (!r)
		return TP_ENOMEM;
	srv->relay[fi] = r;
	r += srv->nrelay[fi]++;
	memset(r, 0, sizeof(*r));
	memcpy(&r->bind, sa, addr_len(sa));
	addr_set_port((struct sockaddr *)&r->bind, 0);
	r->external = r->bind;
	return 0;
}

/* A relay-ip this host cannot bind would fail every Allocate with 508:
 * refuse it at start instead. */
static int relay_probe(const char *name, const struct sockaddr *sa)
{
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, err;

	if (fd < 0) {
		log_err("relay-ip %s: socket: %s", name, strerror(errno));
		return TP_ECONFIG;
	}
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, addr_len(sa)) != 0) {
		err = errno;
		close(fd);
		log_err("relay-ip %s cannot be used for relay sockets: %s", name, strerror(err));
		return TP_ECONFIG;
	}
	close(fd);
	return 0;
}

static int apply_external(struct server *srv, const char *spec)
{
	struct sockaddr_storage pub, priv;
	char buf[128];
	const char *slash = strchr(spec, '/');
	bool matched = false;

	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - spec) : (int)strlen(spec), spec);
	if (addr_parse(buf, 0, &pub) != 0 || (slash && addr_parse(slash + 1, 0, &priv) != 0)) {
		log_err("external-ip %s: not PUBLIC or PUBLIC/PRIVATE", spec);
		return TP_ECONFIG;
	}
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < srv->nrelay[fi]; i++) {
			struct relay_addr *r = &srv->relay[fi][i];
			if (r->bind.ss_family != pub.ss_family)
				continue;
			if (slash &&
			    !addr_equal_ip((struct sockaddr *)&r->bind, (struct sockaddr *)&priv))
				continue;
			r->external = pub;
			matched = true;
		}
	}
	if (!matched)
		log_warn("external-ip %s matches no relay address", spec);
	return 0;
}

int setup_relay_addrs(struct server *srv)
{
	const struct conf *c = srv->conf;
	struct sockaddr_storage ss;
	int rc = 0;

	for (size_t i = 0; i < c->relay_ip.n; i++) {
		if (addr_parse(c->relay_ip.v[i], 0, &ss) != 0) {
			log_err("relay-ip %s: not an address", c->relay_ip.v[i]);
			return TP_ECONFIG;
		}
		if ((rc = relay_probe(c->relay_ip.v[i], (struct sockaddr *)&ss)) != 0 ||
		    (rc = add_relay(srv, (struct sockaddr *)&ss)) != 0)
			return rc;
	}
	if (c->relay_ip.n == 0) {
		for (size_t i = 0; i < srv->nlisten; i++)
			if (!addr_is_any((struct sockaddr *)&srv->listen[i]) &&
			    (rc = add_relay(srv, (struct sockaddr *)&srv->listen[i])) != 0)
				return rc;
	}
	if (srv->nrelay[0] + srv->nrelay[1] == 0) {
		struct ifaddrs *ifs, *ifa;
		if (getifaddrs(&ifs) == 0) {
			for (ifa = ifs; ifa && rc == 0; ifa = ifa->ifa_next)
				if (usable_host_addr(ifa))
					rc = add_relay(srv, ifa->ifa_addr);
			freeifaddrs(ifs);
		}
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->external_ip.n; i++)
		if ((rc = apply_external(srv, c->external_ip.v[i])) != 0)
			return rc;
	srv->turn_cfg.relay_v4 = srv->nrelay[0] > 0;
	srv->turn_cfg.relay_v6 = srv->nrelay[1] > 0;
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < srv->nrelay[fi]; i++) {
			char b[ADDR_STRLEN], e[ADDR_STRLEN];
			log_info("relay address %s (advertised as %s)",
				 addr_format((struct sockaddr *)&srv->relay[fi][i].bind, false, b,
					     sizeof(b)),
				 addr_format((struct sockaddr *)&srv->relay[fi][i].external, false,
					     e, sizeof(e)));
		}
	}
	if (!srv->turn_cfg.relay_v4 && !srv->turn_cfg.relay_v6)
		log_warn("no relay address: TURN allocations will be refused");
	return 0;
}

struct auth_store *setup_auth_store(const struct conf *c, const char *const *extra, size_t nextra)
{
	struct auth_store *s = auth_store_new(c->realm);
	size_t room, first = 0;

	if (!s) {
		log_err("out of memory for the credential store");
		return NULL;
	}
	for (size_t i = 0; i < c->user.n; i++) {
		if (auth_store_add_user(s, c->user.v[i]) != 0) {
			log_err("user entry %zu: not NAME:PASSWORD or NAME:0xKEY", i + 1);
			goto fail;
		}
	}
	for (size_t i = 0; i < c->static_auth_secret.n; i++) {
		if (auth_store_add_secret(s, c->static_auth_secret.v[i]) != 0) {
			log_err("static-auth-secret %zu: empty, or more than %d secrets", i + 1,
				AUTH_MAX_KEYS);
			goto fail;
		}
	}
	room = AUTH_MAX_KEYS - auth_store_nsecrets(s);
	if (nextra > room) {
		log_warn("only the newest %zu of the %zu secrets from redis are used (%d at most "
			 "with the static ones)",
			 room, nextra, AUTH_MAX_KEYS);
		first = nextra - room;
	}
	for (size_t i = first; i < nextra; i++)
		if (auth_store_add_secret(s, extra[i]) != 0)
			goto fail;
	return s;
fail:
	auth_store_free(s);
	return NULL;
}

int setup_auth(struct server *srv)
{
	const struct conf *c = srv->conf;
	struct auth_store *store;

	if (auth_nonce_key_init(&srv->nonce_key, c->nonce_secret) != 0) {
		log_err("cannot derive the nonce key (OpenSSL)");
		return TP_ECRYPTO;
	}
	/* Secrets from Redis join when they arrive (server_redis_start). */
	store = setup_auth_store(c, NULL, 0);
	if (!store)
		return TP_EINVAL;
	srv->creds = auth_snap_new(store);
	if (!srv->creds)
		return TP_ENOMEM;
	srv->store = store;
	srv->turn_cfg.no_auth = c->no_auth;
	srv->turn_cfg.creds = srv->creds;
	srv->turn_cfg.nonce_key = &srv->nonce_key;
	srv->turn_cfg.nonce_lifetime = (unsigned)c->stale_nonce;
	if (c->no_auth)
		log_warn("no-auth: anyone can relay through this server");
	return 0;
}

struct turn_servers *setup_servers(const struct conf_list *l, const char *name)
{
	struct turn_servers *out;
	struct sockaddr_storage *v;

	if (!l->n)
		return NULL;
	/* One block: the header, then the addresses it points to. */
	out = calloc(1, sizeof(*out) + l->n * sizeof(*v));
	if (!out) {
		log_err("%s: out of memory", name);
		return NULL;
	}
	v = (struct sockaddr_storage *)(out + 1);
	for (size_t i = 0; i < l->n; i++) {
		if (addr_parse(l->v[i], 3478, &v[i]) != 0) {
			/* The schema let it through: cannot be. */
			log_err("%s %s: not an address", name, l->v[i]);
			free(out);
			return NULL;
		}
	}
	out->v = v;
	out->n = l->n;
	return out;
}

int setup_proxy(struct server *srv)
{
	const struct conf_list *l = &srv->conf->proxy_protocol;

	if (!l->n)
		return 0;
	srv->proxy_from = calloc(l->n, sizeof(*srv->proxy_from));
	if (!srv->proxy_from)
		return TP_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		if (policy_range_parse(l->v[i], &srv->proxy_from[i]) != 0) {
			log_err("proxy-protocol: '%s' is not an address range", l->v[i]);
			return TP_ECONFIG;
		}
	}
	srv->nproxy_from = l->n;
	return 0;
}

int setup_alternates(struct server *srv)
{
	const struct conf *c = srv->conf;

	if (c->alternate_server.n &&
	    !(srv->turn_cfg.alternate = setup_servers(&c->alternate_server, "alternate-server")))
		return TP_ECONFIG;
	if (c->overflow_server.n &&
	    !(srv->turn_cfg.overflow = setup_servers(&c->overflow_server, "overflow-server")))
		return TP_ECONFIG;
	return 0;
}

/* The one listening-ip of family, or NULL (logged) when there is not
 * exactly one or it is a wildcard. */
static const struct sockaddr *nat_primary(const struct server *srv, int family)
{
	const struct sockaddr *found = NULL;

	for (size_t i = 0; i < srv->nlisten; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&srv->listen[i];
		if (sa->sa_family != family)
			continue;
		if (found || addr_is_any(sa)) {
			log_err("alt-listening-ip needs exactly one listening-ip of its family, "
				"not a wildcard");
			return NULL;
		}
		found = sa;
	}
	if (!found)
		log_err("alt-listening-ip needs a listening-ip of its family");
	return found;
}

/* Fills one RFC 5780 address: ip's address with port. */
static void nat_addr_set(struct sockaddr_storage *out, const struct sockaddr *ip, uint16_t port)
{
	memcpy(out, ip, addr_len(ip));
	addr_set_port((struct sockaddr *)out, port);
}

int setup_nat(struct server *srv)
{
	const struct conf *c = srv->conf;
	struct turn_server_cfg *cfg = &srv->turn_cfg;
	struct sockaddr_storage alt;
	const struct sockaddr *primary;
	long alt_port = c->alt_listening_port ? c->alt_listening_port : c->listening_port + 1;

	if (!c->alt_listening_ip || c->no_rfc5780)
		return 0;
	if (addr_parse(c->alt_listening_ip, 0, &alt) != 0 || addr_is_any((struct sockaddr *)&alt)) {
		log_err("alt-listening-ip %s: not a single address", c->alt_listening_ip);
		return TP_ECONFIG;
	}
	if (!(primary = nat_primary(srv, alt.ss_family)))
		return TP_ECONFIG;
	if (addr_equal_ip(primary, (struct sockaddr *)&alt)) {
		log_err("alt-listening-ip %s: the same as listening-ip", c->alt_listening_ip);
		return TP_ECONFIG;
	}
	if (alt_port > 65535 || alt_port == c->listening_port) {
		log_err("alt-listening-port %ld: must differ from listening-port and be at most "
			"65535",
			alt_port);
		return TP_ECONFIG;
	}
	nat_addr_set(&cfg->nat_addr[0], primary, (uint16_t)c->listening_port);
	nat_addr_set(&cfg->nat_addr[TURN_NAT_PORT], primary, (uint16_t)alt_port);
	nat_addr_set(&cfg->nat_addr[TURN_NAT_IP], (struct sockaddr *)&alt,
		     (uint16_t)c->listening_port);
	nat_addr_set(&cfg->nat_addr[TURN_NAT_IP | TURN_NAT_PORT], (struct sockaddr *)&alt,
		     (uint16_t)alt_port);
	cfg->nat = true;
	return 0;
}

int setup_policy_build(const struct server *srv, struct peer_policy *p)
{
	const struct conf *c = srv->conf;
	struct sockaddr_storage http;
	const char *bad = NULL;
	bool wildcard = false;
	int rc;

	rc = policy_init(p, (const char *const *)c->denied_peer_ip.v, c->denied_peer_ip.n,
			 (const char *const *)c->allowed_peer_ip.v, c->allowed_peer_ip.n,
			 c->allow_loopback_peers, &bad);
	if (rc != 0) {
		log_err("peer range '%s' is not valid", bad ? bad : "?");
		return rc;
	}
	/* Our own addresses: listeners, relays and what we advertise. */
	for (size_t i = 0; i < srv->nlisten && rc == 0; i++) {
		if (addr_is_any((struct sockaddr *)&srv->listen[i]))
			wildcard = true;
		else
			rc = policy_add_self(p, (struct sockaddr *)&srv->listen[i]);
	}
	/* The RFC 5780 alternate address, when there is one. */
	if (srv->turn_cfg.nat && rc == 0)
		rc = policy_add_self(p, (struct sockaddr *)&srv->turn_cfg.nat_addr[TURN_NAT_IP]);
	/* The HTTP listener (metrics, REST credentials) is ours as well: no
	 * relayed request may reach it. */
	if (c->http_listen && addr_parse_listen(c->http_listen, &http) == 0 && rc == 0) {
		if (addr_is_any((struct sockaddr *)&http))
			wildcard = true;
		else
			rc = policy_add_self(p, (struct sockaddr *)&http);
		if (rc == 0)
			rc = policy_add_self_port(p, addr_port((struct sockaddr *)&http));
	}
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < srv->nrelay[fi] && rc == 0; i++) {
			rc = policy_add_self(p, (struct sockaddr *)&srv->relay[fi][i].bind);
			if (rc == 0)
				rc = policy_add_self(
					p, (struct sockaddr *)&srv->relay[fi][i].external);
		}
	}
	if (wildcard && rc == 0) {
		struct ifaddrs *ifs, *ifa;
		if (getifaddrs(&ifs) == 0) {
			for (ifa = ifs; ifa && rc == 0; ifa = ifa->ifa_next)
				if (ifa->ifa_addr && (ifa->ifa_addr->sa_family == AF_INET ||
						      ifa->ifa_addr->sa_family == AF_INET6))
					rc = policy_add_self(p, ifa->ifa_addr);
			freeifaddrs(ifs);
		}
	}
	if (rc == 0)
		rc = policy_add_self_port(p, (uint16_t)c->listening_port);
	if (srv->turn_cfg.nat && rc == 0)
		rc = policy_add_self_port(
			p, addr_port((struct sockaddr *)&srv->turn_cfg.nat_addr[TURN_NAT_PORT]));
	if (rc == 0 && (tls_enabled(c) || dtls_enabled(c)))
		rc = policy_add_self_port(p, (uint16_t)c->tls_listening_port);
	p->relay_port_min = (uint16_t)c->min_port;
	p->relay_port_max = (uint16_t)c->max_port;
	if (rc != 0)
		policy_cleanup(p);
	return rc;
}

int setup_policy(struct server *srv)
{
	struct peer_policy *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return TP_ENOMEM;
	if ((rc = setup_policy_build(srv, p)) != 0) {
		free(p);
		return rc;
	}
	srv->turn_cfg.policy = p;
	return 0;
}
