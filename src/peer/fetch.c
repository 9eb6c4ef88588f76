/* fetch.c - a minimal blocking HTTP/1.1 client for one GET (turnpiked's
 * REST hook): non-blocking sockets driven by poll(2) against one deadline,
 * OpenSSL for https with certificate and host checks, Content-Length or
 * chunked bodies (RFC 9112 §6-7), hard caps on every size. */
#include "peer/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "turnpike/err.h"

#define HEAD_MAX (16 * 1024)
#define RESP_MAX (HEAD_MAX + PEER_FETCH_MAX + 4096) /* + chunk framing */

struct url {
	bool tls;
	char host[256];
	char port[6];
	char path[2048];
	char shown[300]; /* scheme://host:port/path, without the query */
};

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int64_t deadline;
	char *err;
	size_t errlen;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* http[s]://HOST[:PORT][/PATH][?QUERY]; HOST a name, IPv4 or [IPv6]. */
static int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	const char *p, *hend, *pend;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(s, "https://", 8)) {
		u->tls = true;
		p = s + 8;
	} else if (!strncasecmp(s, "http://", 7)) {
		p = s + 7;
	} else {
		return fail(err, errlen, TP_EINVAL, "not an http:// or https:// URL");
	}
	snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	pend = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(pend - p)))
		return fail(err, errlen, TP_EINVAL, "user:password@ in the URL is not supported");
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(pend - p));
		if (!hend)
			return fail(err, errlen, TP_EINVAL, "bad URL: unclosed [");
		hlen = (size_t)(hend - p - 1);
		if (hlen == 0 || hlen >= sizeof(u->host))
			return fail(err, errlen, TP_EINVAL, "bad URL host");
		memcpy(u->host, p + 1, hlen);
		p = hend + 1;
	} else {
		hend = p + strcspn(p, ":/?#");
		hlen = (size_t)(hend - p);
		if (hlen == 0 || hlen >= sizeof(u->host))
			return fail(err, errlen, TP_EINVAL, "bad URL host");
		memcpy(u->host, p, hlen);
		p = hend;
	}
	for (size_t i = 0; i < hlen; i++)
		if ((unsigned char)u->host[i] <= ' ' || u->host[i] == 0x7f)
			return fail(err, errlen, TP_EINVAL, "bad URL host");
	if (*p == ':') {
		char *end;
		unsigned long v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || v < 1 || v > 65535 || end != pend)
			return fail(err, errlen, TP_EINVAL, "bad URL port");
		snprintf(u->port, sizeof(u->port), "%lu", v);
		p = end;
	} else if (p != pend) {
		return fail(err, errlen, TP_EINVAL, "bad URL after the host");
	}
	/* The request target: path and query, no fragment (RFC 9110 §4.2) */
	hlen = strcspn(p, "#");
	if (hlen + 2 > sizeof(u->path))
		return fail(err, errlen, TP_EINVAL, "URL too long");
	snprintf(u->path, sizeof(u->path), "%s%.*s", *p == '/' ? "" : "/", (int)hlen, p);
	for (size_t i = 0; u->path[i]; i++)
		if ((unsigned char)u->path[i] <= ' ' || u->path[i] == 0x7f)
			return fail(err, errlen, TP_EINVAL, "bad character in the URL path");
	snprintf(u->shown, sizeof(u->shown), "%s://%s%s%s:%s%.*s", u->tls ? "https" : "http",
		 strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "", u->port,
		 (int)strcspn(u->path, "?"), u->path);
	return 0;
}

/* Waits for fd to be readable or writable; false at the deadline. */
static bool wait_fd(struct conn *c, short events)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = events};
		int64_t left = c->deadline - now_ms();
		int r;

		if (left <= 0)
			return false;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static int tcp_connect(struct conn *c, const struct url *u)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int rc = getaddrinfo(u->host, u->port, &hints, &res), soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (rc != 0)
		return fail(c->err, c->errlen, TP_ESYS, "%s: cannot resolve: %s", u->shown,
			    gai_strerror(rc));
	rc = TP_ESYS;
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(c, POLLOUT) &&
		     getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)) {
			rc = 0;
			break;
		}
		if (!soerr)
			soerr = errno;
		close(c->fd);
		c->fd = -1;
		if (now_ms() >= c->deadline) {
			rc = TP_ETIMEDOUT;
			break;
		}
	}
	freeaddrinfo(res);
	if (rc == TP_ETIMEDOUT || (rc != 0 && soerr == EINPROGRESS))
		return fail(c->err, c->errlen, TP_ETIMEDOUT, "%s: no connection in time", u->shown);
	if (rc != 0)
		return fail(c->err, c->errlen, TP_ESYS, "%s: cannot connect: %s", u->shown,
			    strerror(soerr ? soerr : ECONNREFUSED));
	return 0;
}

/* Drives an SSL call that may want to read or write until the deadline. */
static int ssl_wait(struct conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(c, POLLIN) ? 1 : TP_ETIMEDOUT;
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c, POLLOUT) ? 1 : TP_ETIMEDOUT;
	return e == SSL_ERROR_ZERO_RETURN ? 0 : TP_ECRYPTO;
}

static int tls_start(struct conn *c, const struct url *u, bool insecure)
{
	struct in6_addr ip;
	bool literal =
		inet_pton(AF_INET, u->host, &ip) == 1 || inet_pton(AF_INET6, u->host, &ip) == 1;
	char why[200] = "handshake failed";
	int r;

	if (!(c->ctx = SSL_CTX_new(TLS_client_method())) || !(c->ssl = SSL_new(c->ctx)))
		return fail(c->err, c->errlen, TP_ECRYPTO, "%s: TLS setup failed", u->shown);
	SSL_set_min_proto_version(c->ssl, TLS1_2_VERSION);
	if (!insecure) {
		/* the system store; SSL_CERT_FILE / SSL_CERT_DIR when set */
		if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
			return fail(c->err, c->errlen, TP_ECRYPTO, "%s: no CA store", u->shown);
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host) != 1
			    : SSL_set1_host(c->ssl, u->host) != 1)
			return fail(c->err, c->errlen, TP_ECRYPTO, "%s: TLS setup failed",
				    u->shown);
	}
	if (!literal)
		SSL_set_tlsext_host_name(c->ssl, u->host); /* RFC 6066 §3: names only */
	SSL_set_fd(c->ssl, c->fd);
	while ((r = SSL_connect(c->ssl)) != 1) {
		int w = ssl_wait(c, r);
		if (w == 1)
			continue;
		if (w == TP_ETIMEDOUT)
			return fail(c->err, c->errlen, TP_ETIMEDOUT, "%s: no TLS handshake in time",
				    u->shown);
		if (SSL_get_verify_result(c->ssl) != X509_V_OK)
			snprintf(why, sizeof(why), "certificate: %s",
				 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
		else if (ERR_peek_error())
			ERR_error_string_n(ERR_peek_error(), why, sizeof(why));
		ERR_clear_error();
		return fail(c->err, c->errlen, TP_ECRYPTO, "%s: TLS: %s", u->shown, why);
	}
	return 0;
}

static int conn_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)n);
			if (r <= 0) {
				int e = ssl_wait(c, r);
				if (e == 1)
					continue;
				return e == 0 ? TP_ECLOSED : e;
			}
			w = r;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (!wait_fd(c, POLLOUT))
					return TP_ETIMEDOUT;
				continue;
			}
			if (w < 0)
				return TP_ESYS;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Some bytes into buf; 0 at the end of the stream. */
static ssize_t conn_read(struct conn *c, char *buf, size_t cap)
{
	for (;;) {
		if (c->ssl) {
			int r = SSL_read(c->ssl, buf, (int)cap);
			if (r > 0)
				return r;
			int e = ssl_wait(c, r);
			if (e == 1)
				continue;
			/* a peer that closes without close_notify ends the
			 * stream too: the body length is checked anyway */
			if (e == TP_ECRYPTO && SSL_get_error(c->ssl, r) == SSL_ERROR_SYSCALL)
				return 0;
			ERR_clear_error();
			return e;
		}
		ssize_t r = recv(c->fd, buf, cap, 0);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return TP_ESYS;
		if (!wait_fd(c, POLLIN))
			return TP_ETIMEDOUT;
	}
}

/* A header's value in the head, which ends at eoh (names are
 * case-insensitive), or NULL. */
static const char *header(const char *head, const char *eoh, const char *name)
{
	size_t nl = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, name, nl) && l[2 + nl] == ':') {
			const char *v = l + 3 + nl;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/* Decodes a chunked body in place (RFC 9112 §7.1); false if malformed. */
static bool dechunk(char *b, size_t n, size_t *out)
{
	size_t i = 0, o = 0;

	for (;;) {
		char *end;
		unsigned long sz;

		if (i >= n || !((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f') ||
				(b[i] >= 'A' && b[i] <= 'F')))
			return false;
		sz = strtoul(b + i, &end, 16);
		if (sz > PEER_FETCH_MAX || (size_t)(end - b) >= n)
			return false;
		/* chunk extensions run to the line end */
		char *lf = memchr(end, '\n', n - (size_t)(end - b));
		if (!lf)
			return false;
		i = (size_t)(lf - b) + 1;
		if (sz == 0) {
			*out = o;
			return true;
		}
		if (sz > n - i || n - i - sz < 2 || b[i + sz] != '\r' || b[i + sz + 1] != '\n')
			return false;
		memmove(b + o, b + i, sz);
		o += sz;
		i += sz + 2;
	}
}

int peer_fetch_get(const char *url, int timeout_ms, bool insecure, char **body, size_t *len,
		   char *err, size_t errlen)
{
	struct conn c = {.fd = -1, .deadline = now_ms() + timeout_ms, .err = err, .errlen = errlen};
	char *resp = NULL, req[2600], *eoh, *b;
	const char *v;
	size_t n = 0, blen, want = SIZE_MAX;
	struct url u;
	int rc, status;

	*body = NULL;
	*len = 0;
	if ((rc = url_parse(url, &u, err, errlen)) != 0)
		return rc;
	if ((rc = tcp_connect(&c, &u)) != 0)
		goto out;
	if (u.tls && (rc = tls_start(&c, &u, insecure)) != 0)
		goto out;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nAccept: application/json\r\n"
		 "User-Agent: turnpike-peer\r\nConnection: close\r\n\r\n",
		 u.path, strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "",
		 u.port);
	if ((rc = conn_write(&c, req, strlen(req))) != 0) {
		rc = fail(err, errlen, rc == TP_ETIMEDOUT ? rc : TP_ESYS,
			  "%s: cannot send the request", u.shown);
		goto out;
	}
	if (!(resp = malloc(RESP_MAX + 1))) {
		rc = fail(err, errlen, TP_ESYS, "out of memory");
		goto out;
	}
	/* Read to the end (Connection: close) or to Content-Length. */
	for (;;) {
		ssize_t r;
		resp[n] = '\0';
		eoh = strstr(resp, "\r\n\r\n");
		if (eoh && want == SIZE_MAX && (v = header(resp, eoh, "Content-Length"))) {
			unsigned long cl = strtoul(v, NULL, 10);
			if (cl > PEER_FETCH_MAX) {
				rc = fail(err, errlen, TP_ENOSPC, "%s: body over %d bytes", u.shown,
					  PEER_FETCH_MAX);
				goto out;
			}
			want = (size_t)(eoh + 4 - resp) + cl;
		}
		if (want != SIZE_MAX && n >= want)
			break;
		if (n >= RESP_MAX || (!eoh && n >= HEAD_MAX)) {
			rc = fail(err, errlen, TP_ENOSPC, "%s: answer too big", u.shown);
			goto out;
		}
		r = conn_read(&c, resp + n, RESP_MAX - n);
		if (r == 0)
			break;
		if (r < 0) {
			rc = fail(err, errlen, r == TP_ETIMEDOUT ? TP_ETIMEDOUT : TP_ESYS, "%s: %s",
				  u.shown,
				  r == TP_ETIMEDOUT ? "no complete answer in time" : "read failed");
			goto out;
		}
		n += (size_t)r;
	}
	resp[n] = '\0';
	if (!(eoh = strstr(resp, "\r\n\r\n")) || sscanf(resp, "HTTP/1.%*1[01] %3d", &status) != 1) {
		rc = fail(err, errlen, TP_ESYS, "%s: not an HTTP answer", u.shown);
		goto out;
	}
	if (status != 200) {
		const char *reason = resp + strcspn(resp, " ") + 1;
		rc = fail(err, errlen, TP_ESYS, "%s: HTTP %.*s", u.shown,
			  (int)(strcspn(reason, "\r\n") < 60 ? strcspn(reason, "\r\n") : 60),
			  reason);
		goto out;
	}
	b = eoh + 4;
	blen = n - (size_t)(b - resp);
	if ((v = header(resp, eoh, "Transfer-Encoding")) && !strncasecmp(v, "chunked", 7)) {
		if (!dechunk(b, blen, &blen)) {
			rc = fail(err, errlen, TP_ESYS, "%s: bad chunked body", u.shown);
			goto out;
		}
	} else if (want != SIZE_MAX && n < want) {
		rc = fail(err, errlen, TP_ESYS, "%s: answer cut short", u.shown);
		goto out;
	} else if (want != SIZE_MAX) {
		blen = want - (size_t)(b - resp);
	}
	if (blen > PEER_FETCH_MAX) {
		rc = fail(err, errlen, TP_ENOSPC, "%s: body over %d bytes", u.shown,
			  PEER_FETCH_MAX);
		goto out;
	}
	memmove(resp, b, blen);
	resp[blen] = '\0';
	*body = resp;
	*len = blen;
	resp = NULL;
	rc = 0;
out:
	free(resp);
	if (c.ssl)
		SSL_free(c.ssl);
	SSL_CTX_free(c.ctx);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}
