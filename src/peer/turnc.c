/* turnc.c - the peer's non-blocking TURN client (RFC 8656): one
 * allocation on one server over UDP or TCP, on the agent's event base.
 * Allocate with the 401 dance (RFC 8489 §9.2), Refresh before expiry,
 * CreatePermission per peer IP, ChannelBind for the selected pair, Send /
 * Data indications and ChannelData; over TLS (turns:) the server's
 * certificate is verified against the system's trust store (OpenSSL's
 * default paths, so SSL_CERT_FILE works) and the URI's host. Requests are
 * transactions of txn.c; nothing waits. */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer/ice.h"
#include "turnpike/err.h"
#include "turnpike/wire.h"
#include "util/addr.h"
#include "util/log.h"

#define REALM_MAX 763 /* RFC 8489 §14.9 */
#define NONCE_MAX 763
#define ALGS_MAX 64
#define MAX_PERMS ICE_MAX_REMOTE
#define MAX_CHANS 8
#define WBUF_CAP (64 * 1024) /* TCP bytes waiting for the socket */
#define PERM_REFRESH_S 240   /* permissions last 300 s, channels 600 s */
#define PROTO_UDP 17

struct turn_req {
	struct turn_req *next;
	struct peer_turn *t;
	struct peer_txn *txn;
	uint16_t method;
	struct sockaddr_storage peer; /* CreatePermission, ChannelBind */
	uint16_t chan;
	long long lifetime; /* Refresh */
	unsigned attempts;
	bool authed;
	struct auth_key key; /* the key the request was signed with */
};

struct peer_turn {
	struct peer_agent *a;
	struct peer_server srv;
	peer_turn_ready_fn ready;
	enum peer_turn_state st;
	bool tcp, tcp_up, connected; /* connected: application bytes may go */
	SSL_CTX *ctx;                /* turns: */
	SSL *ssl;
	int fd;
	struct event *rev, *wev, *refresh_ev, *perm_ev;
	uint8_t rx[STUN_MAX_MSG + 4];
	size_t rx_len;
	uint8_t wbuf[WBUF_CAP];
	size_t wlen;
	uint8_t realm[REALM_MAX];
	size_t realm_len;
	uint8_t nonce[NONCE_MAX];
	size_t nonce_len;
	uint8_t algs[ALGS_MAX];
	size_t algs_len;
	struct sockaddr_storage relayed, mapped;
	uint32_t lifetime;
	struct {
		struct sockaddr_storage ip;
		bool ok, pending;
	} perms[MAX_PERMS];
	size_t nperms;
	struct {
		struct sockaddr_storage peer;
		uint16_t num;
		bool bound, pending;
	} chans[MAX_CHANS];
	size_t nchans;
	struct turn_req *reqs;
	struct peer_sock sock; /* the relayed candidate's "socket" */
	char error[512];
};

static void fail(struct peer_turn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* The connection to the server. */

static void flush(struct peer_turn *t)
{
	while (t->wlen > 0) {
		ssize_t n;

		if (t->ssl) {
			int r = SSL_write(t->ssl, t->wbuf, (int)t->wlen);
			if (r <= 0) {
				int e = SSL_get_error(t->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					event_add(t->wev, NULL);
					return;
				}
				fail(t, "TURN server %s: TLS write failed", t->srv.uri);
				return;
			}
			n = r;
		} else {
			n = send(t->fd, t->wbuf, t->wlen, MSG_NOSIGNAL);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(t->wev, NULL);
				return;
			}
			if (errno == EINTR)
				continue;
			fail(t, "TURN server %s: %s", t->srv.uri, strerror(errno));
			return;
		}
		memmove(t->wbuf, t->wbuf + n, t->wlen - (size_t)n);
		t->wlen -= (size_t)n;
	}
}

/* peer_send_fn for the server: a datagram, or bytes on the stream. */
static int server_send(void *ctx, const struct sockaddr *dst, const uint8_t *buf, size_t len)
{
	struct peer_turn *t = ctx;

	(void)dst;
	if (t->fd < 0)
		return TP_ECLOSED;
	if (!t->tcp) {
		if (send(t->fd, buf, len, 0) < 0)
			return TP_ESYS;
		return 0;
	}
	if (len > sizeof(t->wbuf) - t->wlen)
		return TP_ENOSPC; /* a stalled server: like a lost datagram */
	memcpy(t->wbuf + t->wlen, buf, len);
	t->wlen += len;
	if (t->connected)
		flush(t);
	return 0;
}

static void fail(struct peer_turn *t, const char *fmt, ...)
{
	va_list ap;
	bool was_ready = t->st == TURN_ST_READY;

	if (t->st == TURN_ST_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	t->st = TURN_ST_FAILED;
	log_msg(LOG_LVL_WARN, "%s", t->error);
	if (t->rev)
		event_del(t->rev);
	if (t->wev)
		event_del(t->wev);
	if (!was_ready && t->ready)
		t->ready(t->a, t);
}

/* ------------------------------------------------------------------ */
/* Requests. */

static void req_done(void *arg, struct peer_txn *tx, const struct stun_msg *m,
		     const struct sockaddr *from);

static void build_body(struct stun_builder *b, const struct turn_req *r)
{
	switch (r->method) {
	case TURN_ALLOCATE:
		stun_build_transport(b, PROTO_UDP);
		break;
	case TURN_REFRESH:
		stun_build_u32(b, STUN_ATTR_LIFETIME, (uint32_t)r->lifetime);
		break;
	case TURN_CREATE_PERMISSION:
		stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS,
				    (const struct sockaddr *)&r->peer);
		break;
	case TURN_CHANNEL_BIND:
		stun_build_channel(b, r->chan);
		stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS,
				    (const struct sockaddr *)&r->peer);
		break;
	}
}

/* Builds r's request with the credentials we have (RFC 8489 §9.2.3). */
static int build_req(struct peer_turn *t, struct turn_req *r, uint8_t *buf, size_t cap, size_t *len)
{
	struct stun_builder b;
	uint8_t txn[16];
	int rc;

	if ((rc = stun_txn_new(txn)) != 0)
		return rc;
	stun_build_init(&b, buf, cap, r->method, STUN_REQUEST, txn);
	build_body(&b, r);
	r->authed = t->nonce_len > 0 && t->realm_len > 0;
	if (r->authed) {
		rc = auth_key_derive(STUN_PWALG_MD5, t->srv.username, strlen(t->srv.username),
				     (const char *)t->realm, t->realm_len, t->srv.credential,
				     strlen(t->srv.credential), &r->key);
		if (rc != 0)
			return rc;
		stun_build_string(&b, STUN_ATTR_USERNAME, t->srv.username);
		stun_build_attr(&b, STUN_ATTR_REALM, t->realm, t->realm_len);
		stun_build_attr(&b, STUN_ATTR_NONCE, t->nonce, t->nonce_len);
		if (t->algs_len) {
			/* §9.2.4: echo the list, name MD5 as the choice. */
			uint8_t one[4] = {0, STUN_PWALG_MD5, 0, 0};
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, t->algs, t->algs_len);
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, one, sizeof(one));
		}
		stun_build_integrity(&b, r->key.k, r->key.len);
	}
	stun_build_fingerprint(&b);
	return stun_build_finish(&b, len);
}

static void req_unlink(struct peer_turn *t, struct turn_req *r)
{
	struct turn_req **pp = &t->reqs;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
}

static void req_free(struct turn_req *r)
{
	OPENSSL_cleanse(&r->key, sizeof(r->key));
	free(r);
}

/* Sends r (again). Returns 0 or a tp_err (r is then freed). */
static int req_send(struct peer_turn *t, struct turn_req *r)
{
	uint8_t buf[ICE_PKT_MAX];
	size_t len;
	int rc;

	if ((rc = build_req(t, r, buf, sizeof(buf), &len)) != 0 ||
	    (rc = peer_txn_start(peer_agent_txns(t->a), server_send, t, t->tcp,
				 (const struct sockaddr *)&t->srv.addr, buf, len, req_done, r,
				 &r->txn)) != 0) {
		req_unlink(t, r);
		req_free(r);
		return rc;
	}
	return 0;
}

static struct turn_req *req_new(struct peer_turn *t, uint16_t method)
{
	struct turn_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->t = t;
	r->method = method;
	r->next = t->reqs;
	t->reqs = r;
	return r;
}

static void arm_refresh(struct peer_turn *t)
{
	/* A minute before expiry, or at half time for short lifetimes. */
	uint32_t s = t->lifetime > 120 ? t->lifetime - 60 : t->lifetime / 2;
	struct timeval tv = {.tv_sec = s ? s : 1};

	evtimer_add(t->refresh_ev, &tv);
}

static void request(struct peer_turn *t, uint16_t method, const struct sockaddr *peer,
		    uint16_t chan, long long lifetime)
{
	struct turn_req *r = req_new(t, method);

	if (!r)
		return;
	if (peer)
		memcpy(&r->peer, peer, addr_len(peer));
	r->chan = chan;
	r->lifetime = lifetime;
	req_send(t, r);
}

static void answered(struct peer_turn *t, struct turn_req *r, const struct stun_msg *m)
{
	char addr[ADDR_STRLEN];
	size_t i;

	switch (r->method) {
	case TURN_ALLOCATE:
		if (stun_msg_xor_addr(m, STUN_ATTR_XOR_RELAYED_ADDRESS, &t->relayed) != 0) {
			fail(t, "TURN server %s: Allocate answer without XOR-RELAYED-ADDRESS",
			     t->srv.uri);
			return;
		}
		stun_msg_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &t->mapped);
		if (stun_msg_u32(m, STUN_ATTR_LIFETIME, &t->lifetime) != 0)
			t->lifetime = 600;
		t->sock.local = t->relayed;
		t->st = TURN_ST_READY;
		arm_refresh(t);
		{
			struct timeval tv = {.tv_sec = PERM_REFRESH_S};
			evtimer_add(t->perm_ev, &tv);
		}
		log_msg(LOG_LVL_INFO, "relayed address %s from %s",
			addr_format((const struct sockaddr *)&t->relayed, true, addr, sizeof(addr)),
			t->srv.uri);
		if (t->ready)
			t->ready(t->a, t);
		break;
	case TURN_REFRESH:
		if (stun_msg_u32(m, STUN_ATTR_LIFETIME, &t->lifetime) == 0 && t->lifetime)
			arm_refresh(t);
		break;
	case TURN_CREATE_PERMISSION:
		for (i = 0; i < t->nperms; i++)
			if (addr_equal_ip((const struct sockaddr *)&t->perms[i].ip,
					  (const struct sockaddr *)&r->peer)) {
				t->perms[i].ok = true;
				t->perms[i].pending = false;
			}
		break;
	case TURN_CHANNEL_BIND:
		for (i = 0; i < t->nchans; i++)
			if (t->chans[i].num == r->chan) {
				t->chans[i].bound = true;
				t->chans[i].pending = false;
			}
		break;
	}
}

static void refused(struct peer_turn *t, struct turn_req *r, int code, const char *why)
{
	char addr[ADDR_STRLEN];
	size_t i;

	addr_format((const struct sockaddr *)&r->peer, true, addr, sizeof(addr));
	switch (r->method) {
	case TURN_ALLOCATE:
		fail(t, "TURN server %s: Allocate %s", t->srv.uri, why);
		break;
	case TURN_REFRESH:
		if (r->lifetime)
			fail(t, "TURN server %s: Refresh %s", t->srv.uri, why);
		break;
	case TURN_CREATE_PERMISSION:
		log_msg(LOG_LVL_WARN, "TURN server %s: CreatePermission for %s %s", t->srv.uri,
			addr, why);
		for (i = 0; i < t->nperms; i++)
			if (addr_equal_ip((const struct sockaddr *)&t->perms[i].ip,
					  (const struct sockaddr *)&r->peer))
				t->perms[i].pending = false;
		break;
	case TURN_CHANNEL_BIND:
		log_msg(LOG_LVL_WARN, "TURN server %s: ChannelBind to %s %s", t->srv.uri, addr,
			why);
		for (i = 0; i < t->nchans; i++)
			if (t->chans[i].num == r->chan)
				t->chans[i].pending = false;
		break;
	}
	(void)code;
}

static void req_done(void *arg, struct peer_txn *tx, const struct stun_msg *m,
		     const struct sockaddr *from)
{
	struct turn_req *r = arg;
	struct peer_turn *t = r->t;
	const struct stun_attr *ea;
	const char *reason = "";
	size_t rlen = 0;
	char why[160], esc[80];
	int code = 0;

	(void)tx;
	(void)from;
	r->txn = NULL;
	if (!m) {
		snprintf(why, sizeof(why), "got no answer");
		refused(t, r, 0, why);
		goto out;
	}
	/* RFC 8489 §9.2.5: an answer to a signed request must be signed. */
	if (r->authed && stun_msg_check_integrity(m, r->key.k, r->key.len) != 0) {
		snprintf(why, sizeof(why), "answered without valid MESSAGE-INTEGRITY");
		refused(t, r, 0, why);
		goto out;
	}
	if (m->cls == STUN_SUCCESS) {
		answered(t, r, m);
		goto out;
	}
	ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
	if (!ea || stun_attr_get_error(m, ea, &code, &reason, &rlen) != 0) {
		refused(t, r, 0, "answered with a malformed error");
		goto out;
	}
	/* RFC 8489 §9.2.5: 401 to an unsigned request: sign it; 438: fresh
	 * nonce. A 401 to a signed request means wrong credentials. */
	if (((code == STUN_ERR_UNAUTHORIZED && !r->authed) || code == STUN_ERR_STALE_NONCE) &&
	    r->attempts < 2 && t->srv.username[0]) {
		stun_msg_copy(m, STUN_ATTR_REALM, t->realm, sizeof(t->realm), &t->realm_len);
		stun_msg_copy(m, STUN_ATTR_NONCE, t->nonce, sizeof(t->nonce), &t->nonce_len);
		if (!stun_msg_copy(m, STUN_ATTR_PASSWORD_ALGORITHMS, t->algs, sizeof(t->algs),
				   &t->algs_len))
			t->algs_len = 0;
		r->attempts++;
		if (req_send(t, r) != 0)
			refused(t, r, 0, "could not be resent");
		return; /* r lives on (or was freed by req_send) */
	}
	log_escape(esc, sizeof(esc), reason, rlen);
	snprintf(why, sizeof(why), "refused: %d %s%s", code, esc,
		 code == STUN_ERR_UNAUTHORIZED ? " (wrong credentials?)" : "");
	refused(t, r, code, why);
out:
	req_unlink(t, r);
	req_free(r);
}

/* ------------------------------------------------------------------ */
/* What the server sends us. */

static void frame_in(struct peer_turn *t, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage peer;
	const struct stun_attr *d;
	const uint8_t *payload;
	struct stun_msg m;
	size_t plen, flen;
	uint16_t chan;

	if (len >= 4 && buf[0] >= 0x40 && buf[0] <= 0x7f) {
		if (turn_chandata_parse(buf, len, t->tcp, &chan, &payload, &plen, &flen) != 0)
			return;
		for (size_t i = 0; i < t->nchans; i++)
			if (t->chans[i].num == chan && t->chans[i].bound) {
				peer_agent_input(t->a, &t->sock,
						 (const struct sockaddr *)&t->chans[i].peer,
						 payload, plen);
				return;
			}
		return;
	}
	if (stun_msg_parse(&m, buf, len) != 0)
		return;
	if (m.cls == STUN_INDICATION && m.method == TURN_DATA) {
		d = stun_msg_find(&m, STUN_ATTR_DATA);
		if (d && stun_msg_xor_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &peer) == 0)
			peer_agent_input(t->a, &t->sock, (const struct sockaddr *)&peer,
					 stun_attr_value(&m, d), d->len);
		return;
	}
	peer_txns_answer(peer_agent_txns(t->a), &m, (const struct sockaddr *)&t->srv.addr);
}

static bool frames(struct peer_turn *t);

/* Drives the TLS handshake; once done, the queued requests go. */
static void tls_step(struct peer_turn *t)
{
	int r = SSL_do_handshake(t->ssl), e;
	long v;

	if (r == 1) {
		t->connected = true;
		flush(t);
		return;
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return; /* the read event is always on */
	if (e == SSL_ERROR_WANT_WRITE) {
		event_add(t->wev, NULL);
		return;
	}
	v = SSL_get_verify_result(t->ssl);
	fail(t, "TURN server %s: TLS handshake failed%s%s", t->srv.uri, v != X509_V_OK ? ": " : "",
	     v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
	ERR_clear_error();
}

/* turns: (RFC 7065): TLS 1.2 or later, the server's certificate checked
 * against the trust store and the URI's host (an IP literal against its
 * IP subjectAltName). */
static void tls_begin(struct peer_turn *t)
{
	struct sockaddr_storage ip;

	if (!(t->ctx = SSL_CTX_new(TLS_client_method())) ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_default_verify_paths(t->ctx) || !(t->ssl = SSL_new(t->ctx))) {
		fail(t, "TURN server %s: TLS set-up failed", t->srv.uri);
		return;
	}
	SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	SSL_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (addr_parse(t->srv.host, 0, &ip) == 0) {
		char lit[ADDR_STRLEN];
		addr_format((const struct sockaddr *)&ip, false, lit, sizeof(lit));
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), lit);
	} else {
		SSL_set_tlsext_host_name(t->ssl, t->srv.host);
		SSL_set1_host(t->ssl, t->srv.host);
	}
	SSL_set_fd(t->ssl, t->fd);
	SSL_set_connect_state(t->ssl);
	tls_step(t);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_turn *t = arg;
	ssize_t n;

	(void)what;
	if (!t->tcp) {
		for (int i = 0; i < 64; i++) {
			n = recv(fd, t->rx, sizeof(t->rx), 0);
			if (n < 0)
				return;
			frame_in(t, t->rx, (size_t)n);
		}
		return;
	}
	if (t->ssl && !t->connected) {
		tls_step(t);
		return;
	}
	/* TLS keeps decrypted records of its own: read until it wants more. */
	do {
		if (t->ssl) {
			int r = SSL_read(t->ssl, t->rx + t->rx_len,
					 (int)(sizeof(t->rx) - t->rx_len));
			int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			n = r > 0 ? r : 0;
		} else {
			n = recv(fd, t->rx + t->rx_len, sizeof(t->rx) - t->rx_len, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (n <= 0) {
			fail(t, "TURN server %s closed the connection", t->srv.uri);
			return;
		}
		t->rx_len += (size_t)n;
		if (!frames(t))
			return;
	} while (t->ssl && t->st != TURN_ST_FAILED);
}

/* Hands every whole frame in rx to frame_in; false after a failure. */
static bool frames(struct peer_turn *t)
{
	while (t->rx_len >= 4) {
		size_t need = turn_stream_frame_len(t->rx, t->rx_len);

		if (need == 0) {
			fail(t, "TURN server %s: broken stream framing", t->srv.uri);
			return false;
		}
		if (t->rx_len < need)
			break;
		frame_in(t, t->rx, need);
		memmove(t->rx, t->rx + need, t->rx_len - need);
		t->rx_len -= need;
		if (t->st == TURN_ST_FAILED)
			return false;
	}
	return true;
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_turn *t = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)what;
	if (!t->tcp_up) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			fail(t, "TURN server %s: connect: %s", t->srv.uri,
			     strerror(err ? err : errno));
			return;
		}
		t->tcp_up = true;
		if (t->srv.transport == PEER_SRV_TLS) {
			tls_begin(t);
			return;
		}
		t->connected = true;
	}
	if (t->ssl && !t->connected) {
		tls_step(t);
		return;
	}
	flush(t);
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_turn *t = arg;

	(void)fd;
	(void)what;
	if (t->st == TURN_ST_READY)
		request(t, TURN_REFRESH, NULL, 0, t->lifetime ? t->lifetime : 600);
}

/* Permissions last 5 minutes and channels 10 (RFC 8656 §9, §12): renew
 * both every 4. */
static void perm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_turn *t = arg;
	struct timeval tv = {.tv_sec = PERM_REFRESH_S};

	(void)fd;
	(void)what;
	if (t->st != TURN_ST_READY)
		return;
	for (size_t i = 0; i < t->nperms; i++)
		if (t->perms[i].ok)
			request(t, TURN_CREATE_PERMISSION, (const struct sockaddr *)&t->perms[i].ip,
				0, 0);
	for (size_t i = 0; i < t->nchans; i++)
		if (t->chans[i].bound)
			request(t, TURN_CHANNEL_BIND, (const struct sockaddr *)&t->chans[i].peer,
				t->chans[i].num, 0);
	evtimer_add(t->perm_ev, &tv);
}

/* ------------------------------------------------------------------ */

struct peer_turn *peer_turn_new(struct peer_agent *a, const struct peer_server *srv,
				peer_turn_ready_fn ready)
{
	struct peer_turn *t = calloc(1, sizeof(*t));
	struct event_base *base = peer_agent_base(a);

	if (!t)
		return NULL;
	t->a = a;
	t->srv = *srv;
	t->ready = ready;
	t->fd = -1;
	t->tcp = srv->transport != PEER_SRV_UDP;
	t->sock.kind = PEER_SOCK_RELAY;
	t->sock.agent = a;
	t->sock.fd = -1;
	t->sock.turn = t;
	t->refresh_ev = evtimer_new(base, refresh_cb, t);
	t->perm_ev = evtimer_new(base, perm_cb, t);
	if (!t->refresh_ev || !t->perm_ev) {
		peer_turn_free(t);
		return NULL;
	}
	return t;
}

int peer_turn_start(struct peer_turn *t)
{
	struct event_base *base = peer_agent_base(t->a);
	const struct sockaddr *sa = (const struct sockaddr *)&t->srv.addr;
	int one = 1;

	t->fd = socket(sa->sa_family,
		       (t->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		goto err;
	if (t->tcp)
		setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(t->fd, sa, addr_len(sa)) != 0 && errno != EINPROGRESS)
		goto err;
	t->connected = t->tcp_up = !t->tcp;
	t->rev = event_new(base, t->fd, EV_READ | EV_PERSIST, read_cb, t);
	t->wev = event_new(base, t->fd, EV_WRITE, write_cb, t);
	if (!t->rev || !t->wev)
		return TP_ENOMEM;
	event_add(t->rev, NULL);
	if (t->tcp)
		event_add(t->wev, NULL);
	t->st = TURN_ST_ALLOCATING;
	request(t, TURN_ALLOCATE, NULL, 0, 0);
	return 0;
err:
	snprintf(t->error, sizeof(t->error), "TURN server %s: %s", t->srv.uri, strerror(errno));
	return TP_ESYS;
}

void peer_turn_free(struct peer_turn *t)
{
	struct turn_req *r;

	if (!t)
		return;
	while ((r = t->reqs)) {
		t->reqs = r->next;
		peer_txn_cancel(r->txn);
		req_free(r);
	}
	/* RFC 8656 §7: release the allocation now rather than at expiry; not
	 * waited for. */
	if (t->st == TURN_ST_READY && t->fd >= 0) {
		struct turn_req rel = {.t = t, .method = TURN_REFRESH, .lifetime = 0};
		uint8_t buf[ICE_PKT_MAX];
		size_t len;

		if (build_req(t, &rel, buf, sizeof(buf), &len) == 0) {
			server_send(t, NULL, buf, len);
			if (t->tcp)
				flush(t);
		}
		OPENSSL_cleanse(&rel.key, sizeof(rel.key));
	}
	if (t->rev)
		event_free(t->rev);
	if (t->wev)
		event_free(t->wev);
	if (t->refresh_ev)
		event_free(t->refresh_ev);
	if (t->perm_ev)
		event_free(t->perm_ev);
	if (t->ssl) {
		if (t->connected)
			SSL_shutdown(t->ssl); /* close_notify, not waited for */
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	OPENSSL_cleanse(t->srv.credential, sizeof(t->srv.credential));
	free(t);
}

enum peer_turn_state peer_turn_state(const struct peer_turn *t)
{
	return t->st;
}

const char *peer_turn_error(const struct peer_turn *t)
{
	return t->error;
}

const struct sockaddr_storage *peer_turn_relayed(const struct peer_turn *t)
{
	return &t->relayed;
}

const struct sockaddr_storage *peer_turn_mapped(const struct peer_turn *t)
{
	return &t->mapped;
}

const struct peer_server *peer_turn_server(const struct peer_turn *t)
{
	return &t->srv;
}

struct peer_sock *peer_turn_sock(struct peer_turn *t)
{
	return &t->sock;
}

void peer_turn_permit(struct peer_turn *t, const struct sockaddr *peer)
{
	size_t i;

	if (t->st != TURN_ST_READY)
		return;
	for (i = 0; i < t->nperms; i++)
		if (addr_equal_ip((const struct sockaddr *)&t->perms[i].ip, peer))
			break;
	if (i < t->nperms && (t->perms[i].ok || t->perms[i].pending))
		return;
	if (i == t->nperms) {
		if (t->nperms == MAX_PERMS)
			return;
		memset(&t->perms[i].ip, 0, sizeof(t->perms[i].ip));
		memcpy(&t->perms[i].ip, peer, addr_len(peer));
		t->nperms++;
	}
	t->perms[i].pending = true;
	request(t, TURN_CREATE_PERMISSION, peer, 0, 0);
}

int peer_turn_permission(const struct peer_turn *t, const struct sockaddr *peer)
{
	if (t->st != TURN_ST_READY)
		return -1;
	for (size_t i = 0; i < t->nperms; i++)
		if (addr_equal_ip((const struct sockaddr *)&t->perms[i].ip, peer))
			return t->perms[i].ok ? 1 : t->perms[i].pending ? 0 : -1;
	return -1;
}

void peer_turn_bind(struct peer_turn *t, const struct sockaddr *peer)
{
	size_t i;

	if (t->st != TURN_ST_READY)
		return;
	for (i = 0; i < t->nchans; i++)
		if (addr_equal((const struct sockaddr *)&t->chans[i].peer, peer))
			return;
	if (t->nchans == MAX_CHANS)
		return;
	memset(&t->chans[i].peer, 0, sizeof(t->chans[i].peer));
	memcpy(&t->chans[i].peer, peer, addr_len(peer));
	t->chans[i].num = (uint16_t)(TURN_CHANNEL_MIN + i); /* RFC 8656 §12: 0x4000-0x4FFF */
	t->chans[i].pending = true;
	t->nchans++;
	request(t, TURN_CHANNEL_BIND, peer, t->chans[i].num, 0);
}

bool peer_turn_bound(const struct peer_turn *t, const struct sockaddr *peer)
{
	for (size_t i = 0; i < t->nchans; i++)
		if (t->chans[i].bound &&
		    addr_equal((const struct sockaddr *)&t->chans[i].peer, peer))
			return true;
	return false;
}

int peer_turn_send(struct peer_turn *t, const struct sockaddr *peer, const uint8_t *buf, size_t len)
{
	uint8_t out[ICE_PKT_MAX + 128];
	struct stun_builder b;
	struct wire_wr w;
	uint8_t txn[16];
	size_t n;
	int rc;

	if (t->st != TURN_ST_READY)
		return TP_ECLOSED;
	peer_turn_permit(t, peer);
	for (size_t i = 0; i < t->nchans; i++) {
		if (!t->chans[i].bound ||
		    !addr_equal((const struct sockaddr *)&t->chans[i].peer, peer))
			continue;
		/* RFC 8656 §12.4 */
		wire_wr_init(&w, out, sizeof(out));
		wire_wr_u16(&w, t->chans[i].num);
		wire_wr_u16(&w, (uint16_t)len);
		wire_wr_bytes(&w, buf, len);
		if (t->tcp)
			wire_wr_pad4(&w, len); /* RFC 8656 §12.5 */
		if (w.err)
			return TP_ENOSPC;
		return server_send(t, NULL, out, w.pos);
	}
	/* RFC 8656 §10.1: a Send indication. */
	if ((rc = stun_txn_new(txn)) != 0)
		return rc;
	stun_build_init(&b, out, sizeof(out), TURN_SEND, STUN_INDICATION, txn);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_build_attr(&b, STUN_ATTR_DATA, buf, len);
	if ((rc = stun_build_finish(&b, &n)) != 0)
		return rc;
	return server_send(t, NULL, out, n);
}
