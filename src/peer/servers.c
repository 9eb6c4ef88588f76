/* servers.c - the STUN and TURN servers turnpike-peer gathers through:
 * stun:/turn:/turns: URIs (RFC 7064, RFC 7065) and --ice-servers sources
 * (a file, stdin, or the REST hook over http(s), see fetch.c); the JSON
 * itself is read by servers_json.c. */
#include "peer/servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "peer/fetch.h"
#include "peer/signal.h"
#include "turnpike/err.h"
#include "util/addr.h"

#define PORT_PLAIN 3478 /* RFC 7064 §3.2, RFC 7065 §3.2 */
#define PORT_TLS 5349

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return TP_EINVAL;
}

/* RFC 3986 reg-name as this agent accepts it: unreserved characters. */
static bool host_name_ok(const char *h)
{
	if (!*h)
		return false;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.' || *h == '_' || *h == '~'))
			return false;
	return true;
}

/* Numeric forms first; a name through the resolver (first answer). */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *out, char *err,
		   size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	int rc;

	if (addr_parse(host, port, out) == 0 && !strchr(host, '['))
		return 0;
	if (!host_name_ok(host))
		return fail(err, errlen, "bad host \"%.64s\"", host);
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res)
		return fail(err, errlen, "cannot resolve %.64s: %s", host,
			    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	addr_set_port((struct sockaddr *)out, port);
	freeaddrinfo(res);
	return 0;
}

int peer_servers_add_uri(struct peer_servers *ss, const char *uri, const char *user,
			 const char *pass, char *err, size_t errlen)
{
	struct peer_server *s;
	const char *p, *q, *hend;
	size_t hlen;
	unsigned long port;
	bool tls;

	if (ss->n >= PEER_SERVERS_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "more than %d servers", PEER_SERVERS_MAX);
		return TP_ETOOMANY;
	}
	s = &ss->s[ss->n];
	memset(s, 0, sizeof(*s));
	if (strlen(uri) >= sizeof(s->uri))
		return fail(err, errlen, "URI over %zu bytes", sizeof(s->uri) - 1);
	memcpy(s->uri, uri, strlen(uri) + 1);

	/* scheme ":" host [":" port] ["?transport=" transport] */
	if (!strncasecmp(uri, "stun:", 5)) {
		s->kind = PEER_SRV_STUN;
		p = uri + 5;
		tls = false;
	} else if (!strncasecmp(uri, "turn:", 5)) {
		s->kind = PEER_SRV_TURN;
		p = uri + 5;
		tls = false;
	} else if (!strncasecmp(uri, "turns:", 6)) {
		s->kind = PEER_SRV_TURN;
		p = uri + 6;
		tls = true;
	} else if (!strncasecmp(uri, "stuns:", 6)) {
		return fail(err, errlen, "%.64s: stuns: (STUN over TLS) is not supported", uri);
	} else {
		return fail(err, errlen, "%.64s: not a stun:, turn: or turns: URI", uri);
	}
	s->transport = tls ? PEER_SRV_TLS : PEER_SRV_UDP;
	port = tls ? PORT_TLS : PORT_PLAIN;
	q = strchr(p, '?');
	if (*p == '[') { /* RFC 3986 §3.2.2 IP-literal */
		hend = strchr(p, ']');
		if (!hend || (q && hend > q))
			return fail(err, errlen, "%.64s: unclosed [", uri);
		hlen = (size_t)(hend - p - 1);
		memcpy(s->host, p + 1, hlen < sizeof(s->host) ? hlen : 0);
		p = hend + 1;
		if (hlen == 0 || hlen >= sizeof(s->host) || addr_parse(s->host, 0, &s->addr) != 0 ||
		    s->addr.ss_family != AF_INET6)
			return fail(err, errlen, "%.64s: bad IPv6 literal", uri);
	} else {
		hend = p + strcspn(p, ":?");
		hlen = (size_t)(hend - p);
		if (hlen == 0 || hlen >= sizeof(s->host))
			return fail(err, errlen, "%.64s: no host", uri);
		memcpy(s->host, p, hlen);
		p = hend;
	}
	s->host[hlen] = '\0';
	if (*p == ':') {
		char *end;
		if (p[1] < '0' || p[1] > '9')
			return fail(err, errlen, "%.64s: bad port", uri);
		port = strtoul(p + 1, &end, 10);
		if (port < 1 || port > 65535 || (*end && *end != '?'))
			return fail(err, errlen, "%.64s: bad port", uri);
		p = end;
	}
	if (*p == '?') {
		/* RFC 7064 §3.1: stun: has no query; RFC 7065 §3.1 transport */
		if (s->kind == PEER_SRV_STUN)
			return fail(err, errlen, "%.64s: a stun: URI takes no ?query", uri);
		if (!strcasecmp(p, "?transport=tcp"))
			s->transport = tls ? PEER_SRV_TLS : PEER_SRV_TCP;
		else if (!strcasecmp(p, "?transport=udp") && !tls)
			s->transport = PEER_SRV_UDP;
		else
			return fail(err, errlen, "%.64s: transport must be udp or tcp (turns: tcp)",
				    uri);
	} else if (*p) {
		return fail(err, errlen, "%.64s: junk after the host", uri);
	}
	if (s->addr.ss_family == AF_UNSPEC &&
	    resolve(s->host, (uint16_t)port, &s->addr, err, errlen))
		return TP_EINVAL;
	addr_set_port((struct sockaddr *)&s->addr, (uint16_t)port);
	if (s->kind == PEER_SRV_TURN) {
		if (!user || !pass || !*user)
			return fail(err, errlen, "%.64s: TURN needs a user name and a password",
				    uri);
		if (strlen(user) >= sizeof(s->username) || strlen(pass) >= sizeof(s->credential))
			return fail(err, errlen, "%.64s: user name or password too long", uri);
		memcpy(s->username, user, strlen(user) + 1);
		memcpy(s->credential, pass, strlen(pass) + 1);
	}
	ss->n++;
	return 0;
}

/* A whole file (no waiting: it must be there), at most PEER_SDP_MAX. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return TP_ESYS;
	}
	buf = malloc(PEER_SDP_MAX + 1);
	n = buf ? fread(buf, 1, PEER_SDP_MAX + 1, f) : 0;
	if (!buf || ferror(f)) {
		if (err && errlen)
			snprintf(err, errlen, "cannot read %s", path);
		fclose(f);
		free(buf);
		return TP_ESYS;
	}
	fclose(f);
	if (n > PEER_SDP_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: over %d bytes", path, PEER_SDP_MAX);
		free(buf);
		return TP_ENOSPC;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int peer_servers_load(struct peer_servers *ss, const char *src, int timeout_ms, bool insecure,
		      char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!strncasecmp(src, "http://", 7) || !strncasecmp(src, "https://", 8))
		rc = peer_fetch_get(src, timeout_ms, insecure, &text, &len, err, errlen);
	else if (strcmp(src, "-") == 0)
		rc = peer_signal_read("-", timeout_ms, &text, &len, err, errlen);
	else
		rc = read_file(src, &text, &len, err, errlen);
	if (rc == 0)
		rc = peer_servers_add_json(ss, text, len, err, errlen);
	free(text);
	return rc;
}
