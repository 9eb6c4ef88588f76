/* turn.c - a small blocking TURN client (RFC 8656) for tools and tests:
 * long-term and REST credentials with the 401/438 dance, Allocate, Refresh,
 * CreatePermission, ChannelBind, Send/Data and ChannelData, over UDP (with
 * RFC 8489 retransmission) or TCP (RFC 8656 §12.5 framing). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "client/client.h"
#include "turnpike/stun.h"
#include "turnpike/wire.h"
#include "util/addr.h"

#define RTO_MS 500     /* RFC 8489 §6.2.1 initial RTO */
#define RELEASE_MS 500 /* the Refresh 0 sent by client_turn_free */
#define USER_MAX 513   /* RFC 8489 §14.3: < 513 bytes, plus NUL */
#define PASS_MAX 256
#define REALM_MAX 764 /* RFC 8489 §14.9, §14.10: < 763 bytes */
#define NONCE_MAX 764
#define ALGS_MAX 64
#define REQ_CAP 2048  /* requests we build */
#define ANS_CAP 2048  /* answers kept (the server's are <= 512) */
#define DATA_MAX 4000 /* payload of Send / ChannelData we send */
#define QUEUE_LEN 16  /* data that arrived while waiting for an answer */
#define QUEUE_DATA 2048
#define MAX_CHANS 16
#define PROTO_UDP 17

struct queued {
	struct sockaddr_storage peer;
	uint16_t chan;
	uint16_t len;
	uint8_t data[QUEUE_DATA];
};

struct client_turn {
	int fd;
	bool tcp;
	SSL *ssl; /* TLS over the TCP connection (client_turn_start_tls) */
	int timeout_ms;
	int flags;
	/* Credentials. */
	char user[USER_MAX];
	char pass[PASS_MAX];
	bool have_creds, userhash;
	uint8_t alg;
	/* Learned from the server's 401/438. */
	uint8_t realm[REALM_MAX];
	size_t realm_len;
	uint8_t nonce[NONCE_MAX];
	size_t nonce_len;
	uint8_t algs[ALGS_MAX];
	size_t algs_len;
	unsigned stale_total;
	bool allocated;
	struct {
		uint16_t num;
		struct sockaddr_storage peer;
	} chans[MAX_CHANS];
	size_t nchans;
	/* The last request and its answer. */
	uint8_t req[REQ_CAP];
	size_t req_len;
	uint8_t ans[ANS_CAP];
	size_t ans_len;
	uint8_t out[DATA_MAX + 96]; /* Send indications, ChannelData */
	/* Received bytes: one datagram, or the TCP stream's unread part. */
	uint8_t rx[STUN_MAX_MSG + 4];
	size_t rx_len, rx_off;
	struct queued q[QUEUE_LEN];
	unsigned q_head, q_count;
};

/* What a request carries besides authentication. */
struct body {
	uint16_t method;
	const struct client_turn_alloc_opts *alloc;
	long long lifetime;                   /* Refresh: < 0 leaves it out */
	const struct sockaddr_storage *peers; /* CreatePermission */
	size_t npeers;
	const struct sockaddr *peer; /* ChannelBind */
	uint16_t chan;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Waits up to ms for fd to be readable: 1 ready, 0 timeout, -1 error. */
static int wait_readable(int fd, double ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do {
		r = poll(&p, 1, ms < 0 ? 0 : (int)ms + 1);
	} while (r < 0 && errno == EINTR);
	return r;
}

static int send_all(struct client_turn *c, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (c->ssl) {
			int r = SSL_write(c->ssl, buf + done, (int)(len - done));
			if (r <= 0) {
				ERR_clear_error();
				return TP_ESYS;
			}
			done += (size_t)r;
			continue;
		}
		n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* UDP: an ICMP error from an earlier datagram; not ours. */
			if (!c->tcp && errno == ECONNREFUSED)
				return 0;
			return TP_ESYS;
		}
		done += (size_t)n;
	}
	return 0;
}

/* The next datagram or stream frame before deadline. */
static int read_msg(struct client_turn *c, double deadline, const uint8_t **p, size_t *len)
{
	for (;;) {
		size_t have = c->rx_len - c->rx_off, need = 0;
		ssize_t n;

		if (c->tcp && have >= 4) {
			need = turn_stream_frame_len(c->rx + c->rx_off, have);
			if (need == 0)
				return TP_EMALFORMED; /* RFC 8489 §6.2.2: no resync */
			if (have >= need) {
				*p = c->rx + c->rx_off;
				*len = need;
				c->rx_off += need;
				return 0;
			}
		}
		if (c->tcp && c->rx_off) {
			memmove(c->rx, c->rx + c->rx_off, have);
			c->rx_len = have;
			c->rx_off = 0;
		}
		/* TLS may hold a decrypted record the socket no longer shows. */
		if (!(c->ssl && SSL_pending(c->ssl) > 0) &&
		    wait_readable(c->fd, deadline - now_ms()) <= 0)
			return TP_EAGAIN;
		if (!c->tcp) {
			n = recv(c->fd, c->rx, sizeof(c->rx), 0);
			if (n < 0 && (errno == ECONNREFUSED || errno == EINTR))
				continue;
			if (n < 0)
				return TP_ESYS;
			*p = c->rx;
			*len = (size_t)n;
			return 0;
		}
		if (c->ssl) {
			int r = SSL_read(c->ssl, c->rx + c->rx_len,
					 (int)(sizeof(c->rx) - c->rx_len));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					continue; /* a part of a record, or a ticket */
				return e == SSL_ERROR_ZERO_RETURN ? TP_ETRUNC : TP_ESYS;
			}
			c->rx_len += (size_t)r;
			continue;
		}
		n = recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? TP_ETRUNC : TP_ESYS;
		c->rx_len += (size_t)n;
	}
}

static void enqueue(struct client_turn *c, const struct sockaddr_storage *peer, uint16_t chan,
		    const uint8_t *data, size_t len)
{
	struct queued *q;

	if (c->q_count == QUEUE_LEN || len > QUEUE_DATA)
		return; /* like a lost datagram */
	q = &c->q[(c->q_head + c->q_count++) % QUEUE_LEN];
	q->peer = *peer;
	q->chan = chan;
	q->len = (uint16_t)len;
	memcpy(q->data, data, len);
}

/*
 * Sorts one incoming message: relayed data goes to the queue; returns true
 * (with *msg parsed) for the response to txn; anything else is dropped.
 */
static bool classify(struct client_turn *c, const uint8_t *p, size_t len, const uint8_t *txn,
		     struct stun_msg *msg)
{
	struct sockaddr_storage peer;
	const struct stun_attr *data;
	const uint8_t *payload;
	size_t plen, frame;
	uint16_t chan;

	if (turn_chandata_parse(p, len, c->tcp, &chan, &payload, &plen, &frame) == 0) {
		memset(&peer, 0, sizeof(peer));
		for (size_t i = 0; i < c->nchans; i++)
			if (c->chans[i].num == chan)
				peer = c->chans[i].peer;
		enqueue(c, &peer, chan, payload, plen);
		return false;
	}
	if (stun_msg_parse(msg, p, len) != 0)
		return false;
	if (msg->cls == STUN_INDICATION && msg->method == TURN_DATA) {
		data = stun_msg_find(msg, STUN_ATTR_DATA);
		if (data && stun_msg_xor_addr(msg, STUN_ATTR_XOR_PEER_ADDRESS, &peer) == 0)
			enqueue(c, &peer, 0, stun_attr_value(msg, data), data->len);
		return false;
	}
	return txn && (msg->cls == STUN_SUCCESS || msg->cls == STUN_ERROR) &&
	       memcmp(msg->txn, txn, 16) == 0;
}

/* Sends req and waits for the answer to it (copied to c->ans), resending
 * over UDP at RTO, 2 RTO, ... until the transaction timeout. */
static int exchange(struct client_turn *c, const uint8_t *req, size_t len, struct stun_msg *msg)
{
	double start = now_ms(), deadline = start + c->timeout_ms, next = start;
	const uint8_t *txn = req + 4, *p;
	struct stun_msg m;
	size_t plen;
	int rto = RTO_MS, rc;

	if (len < STUN_HEADER_LEN)
		return TP_EINVAL;
	for (;;) {
		double t = now_ms();
		if (t >= next) {
			if ((rc = send_all(c, req, len)) != 0)
				return rc;
			/* TCP is reliable: one send (RFC 8489 §6.2.2). */
			next = c->tcp ? deadline : t + rto;
			rto *= 2;
		}
		rc = read_msg(c, next < deadline ? next : deadline, &p, &plen);
		if (rc == TP_EAGAIN) {
			if (now_ms() >= deadline)
				return TP_EAGAIN;
			continue;
		}
		if (rc != 0)
			return rc;
		if (!classify(c, p, plen, txn, &m))
			continue;
		if (plen > sizeof(c->ans))
			return TP_ENOSPC;
		memcpy(c->ans, p, plen);
		c->ans_len = plen;
		return stun_msg_parse(msg, c->ans, plen) == 0 ? 0 : TP_EMALFORMED;
	}
}

static void build_body(struct stun_builder *b, const struct body *bd)
{
	const struct client_turn_alloc_opts *o = bd->alloc;

	switch (bd->method) {
	case TURN_ALLOCATE:
		if (!o->no_transport)
			stun_build_transport(b, o->transport ? o->transport : PROTO_UDP);
		if (o->family)
			stun_build_family(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, o->family);
		if (o->even_port)
			stun_build_even_port(b, o->reserve);
		if (o->use_token)
			stun_build_u64(b, STUN_ATTR_RESERVATION_TOKEN, o->token);
		if (o->dont_fragment)
			stun_build_empty(b, STUN_ATTR_DONT_FRAGMENT);
		if (o->lifetime)
			stun_build_u32(b, STUN_ATTR_LIFETIME, o->lifetime);
		for (size_t i = 0; i < o->nextra; i++)
			stun_build_attr(b, o->extra[i].type, o->extra[i].val, o->extra[i].len);
		break;
	case TURN_REFRESH:
		if (bd->lifetime >= 0)
			stun_build_u32(b, STUN_ATTR_LIFETIME,
				       bd->lifetime > UINT32_MAX ? UINT32_MAX
								 : (uint32_t)bd->lifetime);
		break;
	case TURN_CREATE_PERMISSION:
		for (size_t i = 0; i < bd->npeers; i++)
			stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS,
					    (const struct sockaddr *)&bd->peers[i]);
		break;
	case TURN_CHANNEL_BIND:
		stun_build_channel(b, bd->chan);
		stun_build_xor_addr(b, STUN_ATTR_XOR_PEER_ADDRESS, bd->peer);
		break;
	}
}

/* SHA-256 when asked for and offered (RFC 8489 §9.2.4), else MD5. */
static uint8_t pick_alg(const struct client_turn *c)
{
	struct wire_rd r;

	if (c->alg != STUN_PWALG_SHA256)
		return STUN_PWALG_MD5;
	wire_rd_init(&r, c->algs, c->algs_len);
	while (wire_rd_left(&r) >= 4) {
		uint16_t alg = wire_rd_u16(&r), plen = wire_rd_u16(&r);
		if (alg == STUN_PWALG_SHA256)
			return STUN_PWALG_SHA256;
		wire_rd_skip(&r, plen);
		wire_rd_pad4(&r, plen);
	}
	return STUN_PWALG_MD5;
}

/* Builds the request into c->req; with auth adds the credentials
 * (RFC 8489 §9.2.3) and leaves the key used in *key. */
static int build(struct client_turn *c, const struct body *bd, bool auth, struct auth_key *key)
{
	struct stun_builder b;
	uint8_t txn[16], alg = pick_alg(c), hash[32];
	int rc;

	if ((rc = stun_txn_new(txn)) != 0)
		return rc;
	stun_build_init(&b, c->req, sizeof(c->req), bd->method, STUN_REQUEST, txn);
	build_body(&b, bd);
	if (auth) {
		rc = auth_key_derive(alg, c->user, strlen(c->user), (const char *)c->realm,
				     c->realm_len, c->pass, strlen(c->pass), key);
		if (rc != 0)
			return rc;
		if (c->userhash) {
			rc = auth_userhash(c->user, strlen(c->user), (const char *)c->realm,
					   c->realm_len, hash);
			if (rc != 0)
				return rc;
			stun_build_attr(&b, STUN_ATTR_USERHASH, hash, sizeof(hash));
		} else {
			stun_build_string(&b, STUN_ATTR_USERNAME, c->user);
		}
		if (!(c->flags & CLIENT_TURN_NO_REALM))
			stun_build_attr(&b, STUN_ATTR_REALM, c->realm, c->realm_len);
		if (!(c->flags & CLIENT_TURN_NO_NONCE))
			stun_build_attr(&b, STUN_ATTR_NONCE, c->nonce, c->nonce_len);
		if (c->algs_len) {
			/* §9.2.3: echo the list, name the choice. */
			uint8_t one[4] = {0, alg, 0, 0};
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, c->algs, c->algs_len);
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, one, sizeof(one));
		}
		if (alg == STUN_PWALG_SHA256)
			stun_build_integrity_sha256(&b, key->k, key->len, STUN_HMAC_SHA256_LEN);
		else
			stun_build_integrity(&b, key->k, key->len);
	}
	if (c->flags & CLIENT_TURN_FINGERPRINT)
		stun_build_fingerprint(&b);
	return stun_build_finish(&b, &c->req_len);
}

/* Fills res from the answer (keeping its counters) and learns the realm and
 * nonce of a challenge. */
static int decode(struct client_turn *c, const struct stun_msg *m, const struct auth_key *key,
		  struct client_turn_result *res)
{
	unsigned challenges = res->challenges, stale = res->stale;
	const struct stun_attr *a;
	const char *reason;
	size_t rlen;

	memset(res, 0, sizeof(*res));
	res->challenges = challenges;
	res->stale = stale;
	if (key && key->len) {
		if (m->mi256 >= 0)
			res->sha256 = res->integrity =
				stun_msg_check_integrity_sha256(m, key->k, key->len) == 0;
		else if (m->mi >= 0)
			res->integrity = stun_msg_check_integrity(m, key->k, key->len) == 0;
	}
	if (m->cls == STUN_ERROR) {
		a = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
		if (!a || stun_attr_get_error(m, a, &res->error_code, &reason, &rlen) != 0)
			return TP_EMALFORMED;
		if ((a = stun_msg_find(m, STUN_ATTR_UNKNOWN_ATTRIBUTES)))
			stun_attr_get_unknown(m, a, res->unknown, 16, &res->nunknown);
		if (res->error_code == STUN_ERR_UNAUTHORIZED ||
		    res->error_code == STUN_ERR_STALE_NONCE) {
			stun_msg_copy(m, STUN_ATTR_REALM, c->realm, sizeof(c->realm),
				      &c->realm_len);
			stun_msg_copy(m, STUN_ATTR_NONCE, c->nonce, sizeof(c->nonce),
				      &c->nonce_len);
			if (!stun_msg_copy(m, STUN_ATTR_PASSWORD_ALGORITHMS, c->algs,
					   sizeof(c->algs), &c->algs_len))
				c->algs_len = 0;
		}
		return 0;
	}
	stun_msg_xor_addr(m, STUN_ATTR_XOR_RELAYED_ADDRESS, &res->relayed);
	stun_msg_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &res->mapped);
	res->has_lifetime = stun_msg_u32(m, STUN_ATTR_LIFETIME, &res->lifetime) == 0;
	a = stun_msg_find(m, STUN_ATTR_RESERVATION_TOKEN);
	res->has_token = a && stun_attr_get_u64(m, a, &res->token) == 0;
	return 0;
}

/* One request with the authentication dance: a 401 challenge to an
 * unauthenticated request is answered with credentials, one 438 is retried
 * with the fresh nonce (RFC 8489 §9.2.5). */
static int request(struct client_turn *c, const struct body *bd, struct client_turn_result *res)
{
	struct auth_key key;
	struct stun_msg msg;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (int attempt = 0; attempt < 4; attempt++) {
		bool auth = c->have_creds && c->nonce_len > 0 && c->realm_len > 0;

		memset(&key, 0, sizeof(key));
		if ((rc = build(c, bd, auth, &key)) != 0)
			break;
		if ((rc = exchange(c, c->req, c->req_len, &msg)) != 0)
			break;
		if ((rc = decode(c, &msg, auth ? &key : NULL, res)) != 0)
			break;
		if (res->error_code == STUN_ERR_UNAUTHORIZED && !auth && c->have_creds &&
		    c->nonce_len && res->challenges == 0) {
			res->challenges++;
			continue;
		}
		if (res->error_code == STUN_ERR_STALE_NONCE && auth && res->stale == 0) {
			res->stale++;
			c->stale_total++;
			continue;
		}
		break;
	}
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}

int client_turn_open(struct client_turn **out, const struct sockaddr *server, bool tcp,
		     int timeout_ms)
{
	struct client_turn *c;
	int one = 1, rc;

	*out = NULL;
	if (!server || addr_len(server) == 0 || timeout_ms <= 0)
		return TP_EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return TP_ENOMEM;
	c->tcp = tcp;
	c->timeout_ms = timeout_ms;
	c->alg = STUN_PWALG_MD5;
	c->fd = socket(server->sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = TP_ESYS;
		goto err;
	}
	if (tcp)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* TCP connect blocks; loopback and tools only. */
	if (connect(c->fd, server, addr_len(server)) != 0) {
		rc = errno == ECONNREFUSED ? TP_EAGAIN : TP_ESYS;
		goto err;
	}
	*out = c;
	return 0;
err:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}

int client_turn_start_tls(struct client_turn *c, SSL_CTX *ctx, const char *sni)
{
	struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};

	if (!c->tcp || c->ssl || !ctx)
		return TP_EINVAL;
	if (!(c->ssl = SSL_new(ctx)))
		return TP_ENOMEM;
	/* The handshake blocks: bounded like a transaction. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (SSL_set_fd(c->ssl, c->fd) != 1 || (sni && SSL_set_tlsext_host_name(c->ssl, sni) != 1) ||
	    SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
		return TP_ECRYPTO;
	}
	return 0;
}

SSL *client_turn_ssl(const struct client_turn *c)
{
	return c->ssl;
}

void client_turn_free(struct client_turn *c)
{
	struct client_turn_result res;

	if (!c)
		return;
	if (c->allocated && !(c->flags & CLIENT_TURN_NO_RELEASE)) {
		c->timeout_ms = RELEASE_MS;
		client_turn_refresh(c, 0, &res);
	}
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int client_turn_set_user(struct client_turn *c, const char *user, const char *password)
{
	size_t ul = user ? strlen(user) : 0, pl = password ? strlen(password) : 0;

	if (ul == 0 || ul >= sizeof(c->user) || pl >= sizeof(c->pass))
		return TP_EINVAL;
	memcpy(c->user, user, ul + 1);
	memcpy(c->pass, password, pl + 1);
	c->have_creds = true;
	return 0;
}

int client_turn_set_rest(struct client_turn *c, const char *secret, const char *user,
			 long long expiry, bool user_first)
{
	char name[USER_MAX], pass[64];
	int n;

	if (!secret || !user)
		return TP_EINVAL;
	n = user_first ? snprintf(name, sizeof(name), "%s:%lld", user, expiry)
		       : snprintf(name, sizeof(name), "%lld:%s", expiry, user);
	if (n <= 0 || (size_t)n >= sizeof(name))
		return TP_EINVAL;
	if (auth_rest_password((const uint8_t *)secret, strlen(secret), name, (size_t)n, pass,
			       sizeof(pass)) == 0)
		return TP_ECRYPTO;
	n = client_turn_set_user(c, name, pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	return n;
}

void client_turn_set_alg(struct client_turn *c, uint8_t alg, bool userhash)
{
	c->alg = alg;
	c->userhash = userhash;
}

void client_turn_set_flags(struct client_turn *c, int flags)
{
	c->flags = flags;
}

int client_turn_fd(const struct client_turn *c)
{
	return c->fd;
}

unsigned client_turn_stale_count(const struct client_turn *c)
{
	return c->stale_total;
}

int client_turn_allocate(struct client_turn *c, const struct client_turn_alloc_opts *opts,
			 struct client_turn_result *res)
{
	static const struct client_turn_alloc_opts plain;
	struct body bd = {.method = TURN_ALLOCATE, .alloc = opts ? opts : &plain};
	int rc = request(c, &bd, res);

	if (rc == 0 && res->error_code == 0)
		c->allocated = true;
	return rc;
}

int client_turn_refresh(struct client_turn *c, long long lifetime, struct client_turn_result *res)
{
	struct body bd = {.method = TURN_REFRESH, .lifetime = lifetime};
	int rc = request(c, &bd, res);

	/* RFC 8656 §8: LIFETIME 0 deletes; 437 says there was nothing. */
	if (rc == 0 && ((res->error_code == 0 && lifetime == 0) ||
			res->error_code == STUN_ERR_ALLOCATION_MISMATCH))
		c->allocated = false;
	return rc;
}

int client_turn_create_permission(struct client_turn *c, const struct sockaddr_storage *peers,
				  size_t npeers, struct client_turn_result *res)
{
	struct body bd = {.method = TURN_CREATE_PERMISSION, .peers = peers, .npeers = npeers};

	return request(c, &bd, res);
}

int client_turn_channel_bind(struct client_turn *c, uint16_t chan, const struct sockaddr *peer,
			     struct client_turn_result *res)
{
	struct body bd = {.method = TURN_CHANNEL_BIND, .peer = peer, .chan = chan};
	size_t i;
	int rc = request(c, &bd, res);

	if (rc != 0 || res->error_code != 0)
		return rc;
	for (i = 0; i < c->nchans && c->chans[i].num != chan; i++)
		;
	if (i < MAX_CHANS) {
		c->chans[i].num = chan;
		memset(&c->chans[i].peer, 0, sizeof(c->chans[i].peer));
		memcpy(&c->chans[i].peer, peer, addr_len(peer));
		if (i == c->nchans)
			c->nchans++;
	}
	return 0;
}

int client_turn_send(struct client_turn *c, const struct sockaddr *peer, const void *data,
		     size_t len)
{
	struct stun_builder b;
	uint8_t txn[16];
	size_t n;
	int rc;

	if (len > DATA_MAX)
		return TP_ENOSPC;
	if ((rc = stun_txn_new(txn)) != 0)
		return rc;
	stun_build_init(&b, c->out, sizeof(c->out), TURN_SEND, STUN_INDICATION, txn);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_build_attr(&b, STUN_ATTR_DATA, data, len);
	if ((rc = stun_build_finish(&b, &n)) != 0)
		return rc;
	return send_all(c, c->out, n);
}

int client_turn_channel_send(struct client_turn *c, uint16_t chan, const void *data, size_t len)
{
	struct wire_wr w;

	if (len > DATA_MAX)
		return TP_ENOSPC;
	wire_wr_init(&w, c->out, sizeof(c->out));
	wire_wr_u16(&w, chan);
	wire_wr_u16(&w, (uint16_t)len);
	wire_wr_bytes(&w, data, len);
	if (c->tcp)
		wire_wr_pad4(&w, len); /* RFC 8656 §12.5 */
	if (w.err)
		return TP_ENOSPC;
	return send_all(c, c->out, w.pos);
}

int client_turn_recv(struct client_turn *c, void *buf, size_t cap, int timeout_ms,
		     struct client_turn_data *d)
{
	double deadline = now_ms() + timeout_ms;
	struct stun_msg msg;
	const uint8_t *p;
	size_t len;
	int rc;

	memset(d, 0, sizeof(*d));
	while (c->q_count == 0) {
		if ((rc = read_msg(c, deadline, &p, &len)) != 0)
			return rc;
		classify(c, p, len, NULL, &msg);
	}
	struct queued *q = &c->q[c->q_head];
	d->peer = q->peer;
	d->channel = q->chan;
	d->len = q->len < cap ? q->len : cap;
	memcpy(buf, q->data, d->len);
	c->q_head = (c->q_head + 1) % QUEUE_LEN;
	c->q_count--;
	return 0;
}

int client_turn_raw(struct client_turn *c, const uint8_t *req, size_t len, uint8_t *ans, size_t cap,
		    size_t *anslen)
{
	struct stun_msg msg;
	int rc;

	*anslen = 0;
	if ((rc = exchange(c, req, len, &msg)) != 0)
		return rc;
	if (c->ans_len > cap)
		return TP_ENOSPC;
	memcpy(ans, c->ans, c->ans_len);
	*anslen = c->ans_len;
	return 0;
}

void client_turn_last(const struct client_turn *c, const uint8_t **req, size_t *reqlen,
		      const uint8_t **ans, size_t *anslen)
{
	*req = c->req;
	*reqlen = c->req_len;
	*ans = c->ans;
	*anslen = c->ans_len;
}
