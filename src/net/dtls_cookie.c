/* dtls_cookie.c - TURN over DTLS before a session exists: the stateless
 * cookies of RFC 6347 §4.2.1 (a MAC of the time and the client's address
 * and port under a secret drawn at start), the worker's spare SSL that
 * answers ClientHellos through DTLSv1_listen, and a new ClientHello on a
 * live session (§4.2.8). */
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <string.h>

#include "net/dtls_int.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/rand.h"

/* A cookie: its minting time (4 bytes, Unix seconds) and a MAC of that
 * time and the client's address and port. */
#define COOKIE_MAC_LEN 16
#define COOKIE_LEN (4 + COOKIE_MAC_LEN)
#define COOKIE_TTL_S 60

/* The per-process cookie secret; written by dtls_setup before the workers
 * start, read-only afterwards. */
static uint8_t cookie_key[32];

static __thread struct log_ratelimit rl_dtls = LOG_RATELIMIT_INIT(10, 3);

/* MAC of the minting time t and the client's address and port into mac
 * (EVP_MAX_MD_SIZE). Returns 0 or -1. */
static int cookie_mac(const struct sockaddr *sa, uint32_t t, uint8_t *mac)
{
	uint8_t msg[4 + 1 + 16 + 2];
	size_t n = 0;
	unsigned mlen = 0;

	msg[n++] = (uint8_t)(t >> 24);
	msg[n++] = (uint8_t)(t >> 16);
	msg[n++] = (uint8_t)(t >> 8);
	msg[n++] = (uint8_t)t;
	msg[n++] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(msg + n, &in->sin_addr, 4);
		n += 4;
		memcpy(msg + n, &in->sin_port, 2);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(msg + n, &in6->sin6_addr, 16);
		n += 16;
		memcpy(msg + n, &in6->sin6_port, 2);
	}
	n += 2;
	return HMAC(EVP_sha256(), cookie_key, sizeof(cookie_key), msg, n, mac, &mlen) ? 0 : -1;
}

static int cookie_generate_cb(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	const struct dtls_sess *s = SSL_get_app_data(ssl);
	uint32_t t = (uint32_t)s->dw->w->ctx.unix_s;
	uint8_t mac[EVP_MAX_MD_SIZE];

	if (cookie_mac((const struct sockaddr *)&s->client, t, mac) != 0)
		return 0;
	cookie[0] = (uint8_t)(t >> 24);
	cookie[1] = (uint8_t)(t >> 16);
	cookie[2] = (uint8_t)(t >> 8);
	cookie[3] = (uint8_t)t;
	memcpy(cookie + 4, mac, COOKIE_MAC_LEN);
	*len = COOKIE_LEN;
	STAT_INC(s->dw->w->stats.dtls_cookies);
	return 1;
}

/* Valid: minted here for this address and port within COOKIE_TTL_S. */
static int cookie_verify_cb(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	const struct dtls_sess *s = SSL_get_app_data(ssl);
	uint64_t now = s->dw->w->ctx.unix_s;
	uint8_t mac[EVP_MAX_MD_SIZE];
	uint32_t t;

	if (len != COOKIE_LEN)
		return 0;
	t = (uint32_t)cookie[0] << 24 | (uint32_t)cookie[1] << 16 | (uint32_t)cookie[2] << 8 |
	    cookie[3];
	if (t > now + 1 || now - t > COOKIE_TTL_S)
		return 0;
	if (cookie_mac((const struct sockaddr *)&s->client, t, mac) != 0)
		return 0;
	return CRYPTO_memcmp(mac, cookie + 4, COOKIE_MAC_LEN) == 0;
}

int dtls_cookie_init(void)
{
	if (rand_bytes(cookie_key, sizeof(cookie_key)) != 0) {
		log_err("dtls: no randomness for the cookie secret");
		return -1;
	}
	return 0;
}

void dtls_cookie_cleanup(void)
{
	OPENSSL_cleanse(cookie_key, sizeof(cookie_key));
}

void dtls_cookie_install(SSL_CTX *ctx)
{
	SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate_cb);
	SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify_cb);
}

/* The spare, made on the context reload may have replaced. */
struct dtls_sess *dtls_spare(struct dtls_worker *dw)
{
	struct server *srv = dw->w->srv;
	bool stale;

	if (dw->spare) {
		pthread_mutex_lock(&srv->tls_lock);
		stale = SSL_get_SSL_CTX(dw->spare->ssl) != srv->dtls;
		pthread_mutex_unlock(&srv->tls_lock);
		if (!stale)
			return dw->spare;
		dtls_sess_free(dw->spare, false);
	}
	dw->spare = dtls_sess_new(dw);
	return dw->spare;
}

/* A datagram from an address without a session, or a new ClientHello
 * from the client of the session old: RFC 6347 §4.2.1, a ClientHello
 * without a valid cookie gets a HelloVerifyRequest and the server keeps
 * nothing (old goes on); one with a valid cookie begins a session, which
 * replaces old (§4.2.8: the client restarted on the same address and
 * port). */
void dtls_listen_input(struct dtls_worker *dw, struct udp_sock *us, const struct sockaddr *client,
		       const struct sockaddr *local, const uint8_t *pkt, size_t len,
		       struct dtls_sess *old)
{
	char ip[ADDR_STRLEN];
	struct dtls_sess *s;
	int r;

	/* A DTLS handshake record (content type 22, major version 254). */
	if (len < 13 || pkt[0] != 22 || pkt[1] != 254) {
		STAT_INC(dw->w->stats.drops[DROP_NOT_STUN]);
		return;
	}
	s = dtls_spare(dw);
	if (!s)
		return;
	s->us = us;
	memcpy(&s->client, client, addr_len(client));
	memcpy(&s->local, local, addr_len(local));
	(void)BIO_reset(s->rbio);
	if (BIO_write(s->rbio, pkt, (int)len) != (int)len) {
		ERR_clear_error();
		return;
	}
	r = DTLSv1_listen(s->ssl, dw->peer);
	(void)BIO_reset(s->rbio);
	if (r < 0)
		dtls_log_ssl(&rl_dtls, LOG_LVL_INFO, "ClientHello refused from", client);
	if (r <= 0) {
		ERR_clear_error();
		return;
	}
	if (old) {
		/* Its allocation goes with it, as a closed TCP connection's. */
		STAT_INC(dw->w->stats.dtls_closed_reconnect);
		log_debug("dtls: %s began a new session: the old one is closed",
			  addr_format(client, true, ip, sizeof(ip)));
		dtls_sess_free(old, false);
	}
	dtls_sess_begin(dw, s);
}

/* Whether pkt starts with a ClientHello in an epoch 0 handshake record:
 * on a session past its handshake, a client that started again (RFC 6347
 * §4.2.8). */
bool dtls_client_hello(const uint8_t *pkt, size_t len)
{
	/* content type 22, version 254.x, epoch 0; handshake type 1 */
	return len > 13 && pkt[0] == 22 && pkt[1] == 254 && pkt[3] == 0 && pkt[4] == 0 &&
	       pkt[13] == 1;
}
