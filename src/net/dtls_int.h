/* dtls_int.h - what dtls.c (sessions, sockets) and dtls_cookie.c (the
 * stateless cookie exchange before a session) share. Internal to net/. */
#ifndef TURNPIKE_NET_DTLS_INT_H
#define TURNPIKE_NET_DTLS_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "net/dtls.h"
#include "net/udp_int.h"
#include "util/log.h"

#define SA(p) ((struct sockaddr *)(p))

struct dtls_sess {
	struct dtls_worker *dw;
	struct udp_sock *us; /* the socket it came on; answers leave from it */
	struct sockaddr_storage client, local;
	SSL *ssl;                /* owns both BIOs */
	BIO *rbio;               /* memory BIO: the datagram being read */
	struct event *timer;     /* handshake deadline, then idle timeout */
	struct event *retx;      /* handshake retransmission (DTLSv1_handle_timeout) */
	bool listed;             /* a session; else the worker's spare */
	bool handshaking;        /* the handshake has not completed */
	bool authed;             /* a request authenticated, or it carries an allocation */
	bool counted;            /* in srv->tcp_unauth */
	struct dtls_sess *hnext; /* in its bucket */
	TAILQ_ENTRY(dtls_sess) link;
	TAILQ_ENTRY(dtls_sess) ulink; /* in dw->unauthed while !authed */
};

TAILQ_HEAD(dtls_list, dtls_sess);

struct dtls_worker {
	struct worker *w;
	struct udp_sock *socks;
	size_t nsocks;
	struct dtls_sess *spare; /* answers unknown sources; NULL: made on need */
	BIO_ADDR *peer;          /* DTLSv1_listen's out-parameter (unused) */
	const struct timeval *hs_tv;
	struct dtls_sess **buckets;
	size_t nbuckets; /* a power of two */
	struct dtls_list all, unauthed;
	uint8_t plain[UDP_RX_SLOT]; /* a decrypted record */
	uint8_t out[TURN_MAX_REPLY];
};

/* dtls.c. log_ssl: what failed and OpenSSL's first queued error, in one
 * line (rate-limited by rl unless NULL). sess_new: a session-to-be on the
 * current context (NULL on failure, logged). sess_free: frees s; a listed
 * session first leaves the table and releases its allocation (notify: with
 * a close_notify). sess_begin: the spare s, its cookie checked, becomes a
 * session when the limits let it. */
void dtls_log_ssl(struct log_ratelimit *rl, enum log_level lvl, const char *what,
		  const struct sockaddr *sa);
struct dtls_sess *dtls_sess_new(struct dtls_worker *dw);
void dtls_sess_free(struct dtls_sess *s, bool notify);
void dtls_sess_begin(struct dtls_worker *dw, struct dtls_sess *s);

/* dtls_cookie.c. init (dtls_setup): draws the cookie secret, 0 or -1
 * (logged); cleanup wipes it; install: the context's cookie callbacks.
 * spare: the worker's spare SSL, made anew when a reload replaced the
 * context (NULL when it cannot be made). listen_input: a datagram from an
 * address without a session, or (old) a new ClientHello on old's.
 * client_hello: whether pkt starts with an epoch 0 ClientHello. */
int dtls_cookie_init(void);
void dtls_cookie_cleanup(void);
void dtls_cookie_install(SSL_CTX *ctx);
struct dtls_sess *dtls_spare(struct dtls_worker *dw);
void dtls_listen_input(struct dtls_worker *dw, struct udp_sock *us, const struct sockaddr *client,
		       const struct sockaddr *local, const uint8_t *pkt, size_t len,
		       struct dtls_sess *old);
bool dtls_client_hello(const uint8_t *pkt, size_t len);

#endif
