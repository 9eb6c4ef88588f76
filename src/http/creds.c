/* creds.c - the TURN REST credential hook's pure pieces
 * (draft-uberti-behave-turn-rest §2): ttl and user checks, issuing
 * USERNAME and password, the JSON answers, and the URIs handed out. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "auth/auth.h"
#include "http/http.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/rand.h"

void http_json_str(struct evbuffer *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t n;

		/* '<' and '>' too, so the JSON is inert if a browser ever
		 * sniffs it as HTML. */
		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != 0x7f)
			continue;
		evbuffer_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		evbuffer_add(b, esc, n);
	}
	evbuffer_add(b, run, (size_t)(s - run));
	evbuffer_add(b, "\"", 1);
}

int http_rest_ttl(const char *param, long max, long *out)
{
	char *end;
	long v;

	if (!param) {
		*out = max;
		return 0;
	}
	if (*param < '0' || *param > '9')
		return TP_EINVAL;
	errno = 0;
	v = strtol(param, &end, 10);
	if (*end != '\0' || v <= 0)
		return TP_EINVAL;
	/* A huge number (ERANGE) is just a long wish: cut it like any. */
	*out = (errno == ERANGE || v > max) ? max : v;
	return 0;
}

bool http_rest_user_ok(const char *user)
{
	size_t n = 0;

	for (; user[n]; n++)
		if (user[n] < ' ' || user[n] > '~' || n >= HTTP_USER_MAX)
			return false;
	return n > 0;
}

/*
 * Without a user name (draft-uberti-behave-turn-rest §2.1 makes it
 * optional) the USERNAME is "<expiry>:<tag>", a random tag, rather than the
 * bare expiry the draft also allows: the server's own check reads the part
 * after the expiry as the user, for user-quota too, so with bare expiries
 * every client given credentials in the same second would share one quota,
 * and get the very same credentials. A tag makes each issue a user of its
 * own. 64 random bits, in hex.
 */
static int rest_tag(char out[2 * HTTP_REST_TAG_BYTES + 1])
{
	uint8_t r[HTTP_REST_TAG_BYTES];

	if (rand_bytes(r, sizeof(r)) != 0)
		return TP_ECRYPTO;
	hex_encode(r, sizeof(r), out);
	return 0;
}

int http_rest_issue(const char *secret, const char *user, long ttl, uint64_t now, char *username,
		    size_t ucap, char *password, size_t pcap)
{
	char tag[2 * HTTP_REST_TAG_BYTES + 1];
	int n;

	if (!secret || (user && !http_rest_user_ok(user)) || ttl <= 0)
		return TP_EINVAL;
	if (!user) {
		if (rest_tag(tag) != 0)
			return TP_ECRYPTO;
		user = tag;
	}
	/* draft-uberti-behave-turn-rest §2.2: "<expiry>:<user>". */
	n = snprintf(username, ucap, "%" PRIu64 ":%s", now + (uint64_t)ttl, user);
	if (n < 0 || (size_t)n >= ucap)
		return TP_EINVAL;
	if (auth_rest_password((const uint8_t *)secret, strlen(secret), username, (size_t)n,
			       password, pcap) == 0)
		return pcap < 29 ? TP_EINVAL : TP_ECRYPTO;
	return 0;
}

static void json_list(struct evbuffer *b, char *const *v, size_t n)
{
	evbuffer_add(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			evbuffer_add(b, ",", 1);
		http_json_str(b, v[i]);
	}
	evbuffer_add(b, "]", 1);
}

void http_creds_json(struct evbuffer *b, const char *username, const char *password, long ttl,
		     char *const *uris, size_t nuris)
{
	evbuffer_add_printf(b, "{\"username\":");
	http_json_str(b, username);
	evbuffer_add_printf(b, ",\"password\":");
	http_json_str(b, password);
	evbuffer_add_printf(b, ",\"ttl\":%ld,\"uris\":", ttl);
	json_list(b, uris, nuris);
	evbuffer_add_printf(b, "}\n");
}

void http_ice_json(struct evbuffer *b, const char *username, const char *password,
		   char *const *uris, size_t nuris, bool relay_only)
{
	/* An RTCConfiguration (W3C WebRTC §4.2.1): stun: URLs ignore the
	 * credentials, so one entry serves them all. */
	evbuffer_add_printf(b, "{\"iceServers\":[{\"urls\":");
	json_list(b, uris, nuris);
	evbuffer_add_printf(b, ",\"username\":");
	http_json_str(b, username);
	evbuffer_add_printf(b, ",\"credential\":");
	http_json_str(b, password);
	evbuffer_add_printf(b, "}],\"iceTransportPolicy\":\"%s\"}\n", relay_only ? "relay" : "all");
}

/* ------------------------------------------------------------------ */
/* URIs. */

void http_uris_free(char **uris, size_t n)
{
	for (size_t i = 0; uris && i < n; i++)
		free(uris[i]);
	free(uris);
}

static int uri_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return TP_ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return TP_ENOMEM;
	(*n)++;
	return 0;
}

/* Adds host (IP only) to hosts unless it is there already. */
static void host_add(struct sockaddr_storage *hosts, size_t *nhosts, size_t cap,
		     const struct sockaddr *host)
{
	for (size_t i = 0; i < *nhosts; i++)
		if (addr_equal_ip((struct sockaddr *)&hosts[i], host))
			return;
	if (*nhosts < cap)
		memcpy(&hosts[(*nhosts)++], host, addr_len(host));
}

/* The address clients should use for a listening address: its external-ip
 * when a relay address bound to it has one. */
static const struct sockaddr *advertised(const struct http_uri_src *src, const struct sockaddr *sa)
{
	int fi = sa->sa_family == AF_INET6;

	for (size_t i = 0; i < src->nrelay[fi]; i++)
		if (addr_equal_ip((const struct sockaddr *)&src->relay[fi][i].bind, sa))
			return (const struct sockaddr *)&src->relay[fi][i].external;
	return sa;
}

#define HOSTS_MAX 64

int http_uris_build(const struct http_uri_src *src, char ***out, size_t *n)
{
	struct sockaddr_storage hosts[HOSTS_MAX];
	size_t nhosts = 0;
	char host[ADDR_STRLEN], tls_host[ADDR_STRLEN], uri[ADDR_STRLEN + 32];
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (src->turn_uri && src->turn_uri->n) {
		for (size_t i = 0; i < src->turn_uri->n && rc == 0; i++)
			rc = uri_add(out, n, src->turn_uri->v[i]);
		goto out;
	}
	for (size_t i = 0; i < src->nlisten; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&src->listen[i];
		int fi = sa->sa_family == AF_INET6;

		if (!addr_is_any(sa)) {
			host_add(hosts, &nhosts, HOSTS_MAX, advertised(src, sa));
			continue;
		}
		for (size_t j = 0; j < src->nrelay[fi]; j++)
			host_add(hosts, &nhosts, HOSTS_MAX,
				 (const struct sockaddr *)&src->relay[fi][j].external);
	}
	for (size_t i = 0; i < nhosts && rc == 0; i++) {
		addr_set_port((struct sockaddr *)&hosts[i], src->port);
		/* "1.2.3.4:3478" or "[2001:db8::1]:3478" (RFC 7065 §3.1). */
		addr_format((struct sockaddr *)&hosts[i], true, host, sizeof(host));
		if (src->udp) {
			snprintf(uri, sizeof(uri), "turn:%s?transport=udp", host);
			rc = uri_add(out, n, uri);
		}
		if (rc == 0 && src->tcp) {
			snprintf(uri, sizeof(uri), "turn:%s?transport=tcp", host);
			rc = uri_add(out, n, uri);
		}
		if (rc == 0 && src->tls) {
			/* RFC 7065 §3.1: turns: runs over TLS on TCP. */
			addr_set_port((struct sockaddr *)&hosts[i], src->tls_port);
			addr_format((struct sockaddr *)&hosts[i], true, tls_host, sizeof(tls_host));
			snprintf(uri, sizeof(uri), "turns:%s?transport=tcp", tls_host);
			rc = uri_add(out, n, uri);
		}
		if (rc == 0 && src->udp) {
			snprintf(uri, sizeof(uri), "stun:%s", host);
			rc = uri_add(out, n, uri);
		}
	}
out:
	if (rc != 0) {
		http_uris_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
