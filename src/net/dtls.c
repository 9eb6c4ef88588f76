/* dtls.c - TURN over DTLS (RFC 7350) on UDP at tls-listening-port: the
 * DTLS 1.2 context, and per worker the sockets and the sessions of the
 * clients that echoed a valid cookie (dtls_cookie.c: the stateless exchange
 * before that), found by address in a hash table. A session's records
 * carry STUN and ChannelData to the protocol core exactly as plain UDP
 * datagrams do (transport TP_DTLS). */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "net/dtls.h"
#include "net/dtls_int.h"
#include "net/udp_int.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/srccount.h"

/* Handshake datagrams stay within IPv6's minimum MTU (1280) less headers;
 * application records are as long as their message. */
#define DTLS_MTU 1200
/* Writes each record flight to the session's client as one datagram. */
static BIO_METHOD *dgram_method;

static __thread struct log_ratelimit rl_dtls = LOG_RATELIMIT_INIT(10, 3);
static __thread struct log_ratelimit rl_refuse = LOG_RATELIMIT_INIT(10, 3);

/* Logs what failed and OpenSSL's first queued error, in one line. */
void dtls_log_ssl(struct log_ratelimit *rl, enum log_level lvl, const char *what,
		  const struct sockaddr *sa)
{
	char why[256] = "no detail", ip[ADDR_STRLEN] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	if (sa)
		addr_format(sa, true, ip, sizeof(ip));
	if (rl)
		log_rl(rl, lvl, "dtls: %s%s%s: %s", what, sa ? " " : "", ip, why);
	else
		log_msg(lvl, "dtls: %s%s%s: %s", what, sa ? " " : "", ip, why);
	ERR_clear_error();
}

/* --- the datagram BIO -------------------------------------------------- */

/* Each write is one datagram, sent at once to the session's client. A
 * datagram the kernel refuses is lost, as on any UDP path: DTLS
 * retransmits its handshake, and TURN's data is unreliable anyway. */
static int bio_write(BIO *b, const char *data, int len)
{
	struct dtls_sess *s = BIO_get_data(b);

	if (len <= 0)
		return 0;
	udp_send_one(s->us, SA(&s->client), SA(&s->local), (const uint8_t *)data, (size_t)len);
	return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int method_new(void)
{
	if (dgram_method)
		return 0;
	dgram_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "turnpike dtls");
	if (!dgram_method || BIO_meth_set_write(dgram_method, bio_write) != 1 ||
	    BIO_meth_set_ctrl(dgram_method, bio_ctrl) != 1 ||
	    BIO_meth_set_create(dgram_method, bio_create) != 1) {
		dtls_log_ssl(NULL, LOG_LVL_ERR, "cannot create the datagram BIO method", NULL);
		BIO_meth_free(dgram_method);
		dgram_method = NULL;
		return TP_ECRYPTO;
	}
	return 0;
}

/* --- the server's context ---------------------------------------------- */

bool dtls_enabled(const struct conf *c)
{
	return c->cert && c->pkey && !c->no_dtls;
}

SSL_CTX *dtls_ctx_new(const struct conf *c)
{
	/* RFC 7350 with DTLS 1.2 only: 1.0 lacks the AEAD suites. */
	SSL_CTX *ctx = tls_ctx_common(DTLS_server_method(), DTLS1_2_VERSION, DTLS1_2_VERSION,
				      "DTLS 1.2", c);

	if (!ctx)
		return NULL;
	dtls_cookie_install(ctx);
	return ctx;
}

int dtls_setup(struct server *srv)
{
	const struct conf *c = srv->conf;

	if (!dtls_enabled(c))
		return 0;
	if (dtls_cookie_init() != 0)
		return TP_ECRYPTO;
	if (method_new() != 0)
		return TP_ECRYPTO;
	srv->dtls = dtls_ctx_new(c);
	if (!srv->dtls)
		return TP_ECRYPTO;
	for (size_t i = 0; i < srv->nlisten; i++) {
		struct sockaddr_storage sa = srv->listen[i];
		addr_set_port(SA(&sa), (uint16_t)c->tls_listening_port);
		if (sock_probe_free(SA(&sa), SOCK_DGRAM) != 0)
			return TP_ESYS;
	}
	return 0;
}

void dtls_cleanup(void)
{
	BIO_meth_free(dgram_method);
	dgram_method = NULL;
	dtls_cookie_cleanup();
}

/* --- the session table ------------------------------------------------- */

static size_t bucket(const struct dtls_worker *dw, const struct sockaddr *client,
		     const struct sockaddr *local)
{
	/* addr_hash is keyed: a client cannot aim at one bucket. */
	return (size_t)(addr_hash(client) * 31 + addr_hash(local)) & (dw->nbuckets - 1);
}

static struct dtls_sess *table_find(const struct dtls_worker *dw, const struct sockaddr *client,
				    const struct sockaddr *local)
{
	struct dtls_sess *s = dw->buckets[bucket(dw, client, local)];

	while (s && !(addr_equal(SA(&s->client), client) && addr_equal(SA(&s->local), local)))
		s = s->hnext;
	return s;
}

static void table_add(struct dtls_worker *dw, struct dtls_sess *s)
{
	size_t i = bucket(dw, SA(&s->client), SA(&s->local));

	s->hnext = dw->buckets[i];
	dw->buckets[i] = s;
}

static void table_remove(struct dtls_worker *dw, struct dtls_sess *s)
{
	struct dtls_sess **p = &dw->buckets[bucket(dw, SA(&s->client), SA(&s->local))];

	while (*p && *p != s)
		p = &(*p)->hnext;
	if (*p)
		*p = s->hnext;
}

/* --- limits (the TCP ones, see tcp.c) --------------------------------- */

static bool has_alloc(const struct dtls_sess *s)
{
	return turn_table_find(&s->dw->w->ctx.table, TP_DTLS, SA(&s->client), SA(&s->local)) !=
	       NULL;
}

static void uncount(struct dtls_sess *s)
{
	struct server *srv = s->dw->w->srv;

	if (!s->counted)
		return;
	pthread_mutex_lock(&srv->limits_lock);
	srccount_put(srv->tcp_unauth, SA(&s->client));
	pthread_mutex_unlock(&srv->limits_lock);
	s->counted = false;
}

/* The session proved itself: it no longer counts against its source's
 * share, nor can it be shed. */
static void mark_authed(struct dtls_sess *s)
{
	if (s->authed)
		return;
	s->authed = true;
	TAILQ_REMOVE(&s->dw->unauthed, s, ulink);
	uncount(s);
}

/* Frees s; a listed session first leaves the table and releases its
 * allocation (RFC 8656 §3.1, as a TCP connection's). notify: tell the
 * client with a close_notify alert. */
void dtls_sess_free(struct dtls_sess *s, bool notify)
{
	struct dtls_worker *dw = s->dw;
	struct worker *w = dw->w;

	if (s->listed) {
		struct turn_alloc *a;

		userdb_forget_conn(w, s);
		mark_authed(s);
		a = turn_table_find(&w->ctx.table, TP_DTLS, SA(&s->client), SA(&s->local));
		if (a)
			turn_alloc_release(&w->ctx, a);
		table_remove(dw, s);
		TAILQ_REMOVE(&dw->all, s, link);
		STAT_DEC(w->stats.dtls_active);
		if (notify && !s->handshaking)
			SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	if (s->timer)
		event_free(s->timer);
	if (s->retx)
		event_free(s->retx);
	SSL_free(s->ssl);
	free(s);
}

/* Closes the oldest session that never authenticated, to make room.
 * Returns false when every session has authenticated. */
static bool shed_one(struct dtls_worker *dw)
{
	struct dtls_sess *s;

	while ((s = TAILQ_FIRST(&dw->unauthed))) {
		/* A request parked on Redis may have made an allocation since. */
		if (has_alloc(s)) {
			mark_authed(s);
			continue;
		}
		STAT_INC(dw->w->stats.dtls_shed);
		dtls_sess_free(s, true);
		return true;
	}
	return false;
}

/* Whether s (its cookie checked) may become a session: its source's share
 * of sessions that have not authenticated, then room in the worker's
 * table, made by shedding if need be. */
static bool admit(struct dtls_sess *s)
{
	struct worker *w = s->dw->w;
	struct server *srv = w->srv;
	char ip[ADDR_STRLEN];

	if (srv->tcp_unauth) {
		pthread_mutex_lock(&srv->limits_lock);
		s->counted = srccount_take(srv->tcp_unauth, SA(&s->client)) == SRCCOUNT_OK;
		pthread_mutex_unlock(&srv->limits_lock);
		if (!s->counted) {
			STAT_INC(w->stats.dtls_refused_source);
			log_rl(&rl_refuse, LOG_LVL_WARN,
			       "dtls: refused a session from %s: its source already holds %ld "
			       "that have not authenticated (max-tcp-unauthenticated-per-source)",
			       addr_format(SA(&s->client), false, ip, sizeof(ip)),
			       srv->conf->max_tcp_unauth_per_source);
			return false;
		}
	}
	if (STAT_GET(w->stats.dtls_active) < w->tcp_max || shed_one(s->dw))
		return true;
	uncount(s);
	STAT_INC(w->stats.dtls_refused);
	log_rl(&rl_refuse, LOG_LVL_WARN,
	       "dtls: refused a session from %s: max-tcp-connections reached and every "
	       "session has authenticated",
	       addr_format(SA(&s->client), false, ip, sizeof(ip)));
	return false;
}

/* --- sessions ---------------------------------------------------------- */

static void timer_cb(int fd, short what, void *arg);
static void retx_cb(int fd, short what, void *arg);

/* A session-to-be: an SSL on the current context reading from a memory
 * BIO and writing datagrams to its client. NULL on failure (logged). */
struct dtls_sess *dtls_sess_new(struct dtls_worker *dw)
{
	struct server *srv = dw->w->srv;
	struct dtls_sess *s = calloc(1, sizeof(*s));
	BIO *rbio = NULL, *wbio = NULL;

	if (!s) {
		log_rl(&rl_dtls, LOG_LVL_WARN, "dtls: out of memory for a session");
		return NULL;
	}
	s->dw = dw;
	s->timer = evtimer_new(dw->w->base, timer_cb, s);
	s->retx = evtimer_new(dw->w->base, retx_cb, s);
	pthread_mutex_lock(&srv->tls_lock);
	s->ssl = SSL_new(srv->dtls);
	pthread_mutex_unlock(&srv->tls_lock);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(dgram_method);
	if (!s->timer || !s->retx || !s->ssl || !rbio || !wbio) {
		dtls_log_ssl(&rl_dtls, LOG_LVL_WARN, "cannot make a session", NULL);
		BIO_free(rbio);
		BIO_free(wbio);
		dtls_sess_free(s, false);
		return NULL;
	}
	BIO_set_mem_eof_return(rbio, -1); /* empty: retry, not EOF */
	BIO_set_data(wbio, s);
	SSL_set_bio(s->ssl, rbio, wbio);
	s->rbio = rbio;
	SSL_set_app_data(s->ssl, s);
	SSL_set_accept_state(s->ssl);
	/* The BIO cannot know the path MTU: handshake flights use DTLS_MTU. */
	SSL_set_options(s->ssl, SSL_OP_NO_QUERY_MTU);
	if (SSL_set_mtu(s->ssl, DTLS_MTU) <= 0) {
		dtls_log_ssl(&rl_dtls, LOG_LVL_WARN, "cannot set the MTU", NULL);
		dtls_sess_free(s, false);
		return NULL;
	}
	return s;
}

/* Schedules the next handshake retransmission, if OpenSSL wants one. */
static void retx_arm(struct dtls_sess *s)
{
	struct timeval tv;

	if (DTLSv1_get_timeout(s->ssl, &tv) == 1)
		event_add(s->retx, &tv);
	else
		event_del(s->retx);
}

static void handshake_failed(struct dtls_sess *s)
{
	STAT_INC(s->dw->w->stats.dtls_handshake_failed);
	dtls_log_ssl(&rl_dtls, LOG_LVL_INFO, "handshake failed with", SA(&s->client));
	dtls_sess_free(s, false);
}

/* Advances the handshake on what arrived. Returns false when s was freed. */
static bool handshake_step(struct dtls_sess *s)
{
	struct worker *w = s->dw->w;
	int r = SSL_do_handshake(s->ssl);

	if (r == 1) {
		/* From now on the session lives by tcp-idle-timeout, as TCP. */
		s->handshaking = false;
		STAT_INC(w->stats.dtls_handshakes);
		event_add(s->timer, w->idle_tv);
		retx_arm(s);
		return true;
	}
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		retx_arm(s);
		return true;
	default:
		handshake_failed(s);
		return false;
	}
}

/* One decrypted record: a STUN message or ChannelData, as over UDP. */
static void message(struct dtls_sess *s, const uint8_t *pkt, size_t len)
{
	struct dtls_worker *dw = s->dw;
	struct worker *w = dw->w;
	struct turn_stats *st = &w->stats;
	struct turn_from from = {TP_DTLS, SA(&s->client), SA(&s->local), s};
	size_t out;

	STAT_INC(st->rx_msgs[TP_DTLS]);
	STAT_ADD(st->rx_bytes[TP_DTLS], len);
	/* RFC 7983 demultiplexing on the first byte. */
	if (len && pkt[0] >= 64 && pkt[0] <= 127) {
		turn_client_chandata(&w->ctx, &from, pkt, len);
		return;
	}
	if (len == 0 || pkt[0] > 3) {
		STAT_INC(st->drops[DROP_NOT_STUN]);
		return;
	}
	out = turn_server_handle(&w->ctx, &from, pkt, len, dw->out);
	if (out)
		dtls_send_client(s, dw->out, out);
	else if (w->ctx.parked)
		userdb_park(w, &from, pkt, len);
	/* Only authenticated requests keep a session alive, as over TCP. */
	if (w->ctx.authed) {
		mark_authed(s);
		event_add(s->timer, w->idle_tv);
	}
}

/* Reads every record the datagram held. Returns false when s was freed. */
static bool read_records(struct dtls_sess *s)
{
	struct dtls_worker *dw = s->dw;

	for (;;) {
		int n = SSL_read(s->ssl, dw->plain, sizeof(dw->plain));

		if (n > 0) {
			message(s, dw->plain, (size_t)n);
			continue;
		}
		switch (SSL_get_error(s->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return true;
		case SSL_ERROR_ZERO_RETURN: /* close_notify */
			STAT_INC(dw->w->stats.dtls_closed_peer);
			dtls_sess_free(s, false);
			return false;
		default:
			STAT_INC(dw->w->stats.dtls_closed_peer);
			dtls_log_ssl(&rl_dtls, LOG_LVL_INFO, "closed the session with",
				     SA(&s->client));
			dtls_sess_free(s, false);
			return false;
		}
	}
}

/* A datagram from a session's client. */
static void sess_input(struct dtls_sess *s, const uint8_t *pkt, size_t len)
{
	(void)BIO_reset(s->rbio);
	if (BIO_write(s->rbio, pkt, (int)len) != (int)len) {
		ERR_clear_error();
		return;
	}
	if (s->handshaking && !handshake_step(s))
		return;
	if (!s->handshaking && !read_records(s))
		return;
	(void)BIO_reset(s->rbio);
}

/* The spare's DTLSv1_listen took a ClientHello with a valid cookie: it
 * becomes a session, when the limits let it. */
void dtls_sess_begin(struct dtls_worker *dw, struct dtls_sess *s)
{
	struct worker *w = dw->w;

	dw->spare = NULL;
	if (!admit(s)) {
		dtls_sess_free(s, false);
		return;
	}
	s->listed = true;
	s->handshaking = true;
	table_add(dw, s);
	TAILQ_INSERT_TAIL(&dw->all, s, link);
	TAILQ_INSERT_TAIL(&dw->unauthed, s, ulink);
	STAT_INC(w->stats.dtls_accepted);
	STAT_INC(w->stats.dtls_active);
	event_add(s->timer, dw->hs_tv);
	handshake_step(s);
}

static void timer_cb(int fd, short what, void *arg)
{
	struct dtls_sess *s = arg;
	struct worker *w = s->dw->w;
	char ip[ADDR_STRLEN];
	(void)fd;
	(void)what;

	worker_clock(w);
	if (s->handshaking) {
		STAT_INC(w->stats.dtls_handshake_timeout);
		log_rl(&rl_dtls, LOG_LVL_INFO,
		       "dtls: closed the session with %s: no handshake within "
		       "tls-handshake-timeout (%ld s)",
		       addr_format(SA(&s->client), true, ip, sizeof(ip)),
		       w->srv->conf->tls_handshake_timeout);
		dtls_sess_free(s, false);
		return;
	}
	/* A session carrying an allocation lives by the allocation's
	 * lifetime, which closes it when it ends. */
	if (has_alloc(s)) {
		mark_authed(s);
		event_add(s->timer, w->idle_tv);
		return;
	}
	STAT_INC(w->stats.dtls_closed_idle);
	dtls_sess_free(s, true);
}

static void retx_cb(int fd, short what, void *arg)
{
	struct dtls_sess *s = arg;
	(void)fd;
	(void)what;

	worker_clock(s->dw->w);
	if (DTLSv1_handle_timeout(s->ssl) < 0) {
		handshake_failed(s);
		return;
	}
	retx_arm(s);
}

void dtls_send_client(struct dtls_sess *s, const uint8_t *msg, size_t len)
{
	struct turn_stats *st = &s->dw->w->stats;

	if (s->handshaking || SSL_write(s->ssl, msg, (int)len) <= 0) {
		ERR_clear_error();
		STAT_INC(st->drops[DROP_SEND_FAILED]);
		return;
	}
	STAT_INC(st->tx_msgs[TP_DTLS]);
	STAT_ADD(st->tx_bytes[TP_DTLS], len);
}

/* --- the worker's sockets ---------------------------------------------- */

static void read_cb(int fd, short what, void *arg)
{
	struct udp_sock *us = arg;
	struct worker *w = us->w;
	struct udp_io *io = w->io_buf;
	(void)what;

	worker_clock(w);
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		n = udp_recv_batch(us, fd);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &io->rx[i].msg_hdr;
			const struct sockaddr *client = SA(&io->rx_addr[i]);
			struct sockaddr_storage local;
			struct dtls_sess *s;

			/* The slot holds 64 KiB (for GRO on TURN sockets); a
			 * datagram over the 8192 bytes we take is dropped. */
			if ((h->msg_flags & MSG_TRUNC) || io->rx[i].msg_len > UDP_MAX_DGRAM) {
				STAT_INC(w->stats.drops[DROP_OVERSIZE]);
				continue;
			}
			udp_local_of(us, h, &local);
			s = table_find(w->dtls, client, SA(&local));
			if (s && (s->handshaking ||
				  !dtls_client_hello(io->rx_buf[i], io->rx[i].msg_len)))
				sess_input(s, io->rx_buf[i], io->rx[i].msg_len);
			else
				dtls_listen_input(w->dtls, us, client, SA(&local), io->rx_buf[i],
						  io->rx[i].msg_len, s);
		}
		if (n < UDP_BATCH)
			break;
	}
}

static int socket_open(struct dtls_worker *dw, const struct sockaddr *sa)
{
	struct udp_sock *us = &dw->socks[dw->nsocks];

	us->fd = sock_udp_listen(sa, &us->wildcard);
	if (us->fd < 0)
		return TP_ESYS;
	us->w = dw->w;
	memcpy(&us->local, sa, addr_len(sa));
	dw->nsocks++;
	us->ev = event_new(dw->w->base, us->fd, EV_READ | EV_PERSIST, read_cb, us);
	if (!us->ev || event_add(us->ev, NULL) != 0)
		return TP_ENOMEM;
	return 0;
}

/* The table: a bucket per session the worker may hold, up to 2^16. */
static size_t table_size(const struct worker *w)
{
	size_t n = 16;

	while (n < w->tcp_max && n < 65536)
		n <<= 1;
	return n;
}

int dtls_worker_init(struct worker *w)
{
	const struct server *srv = w->srv;
	struct timeval hs = {srv->conf->tls_handshake_timeout, 0};
	struct dtls_worker *dw;

	if (!srv->dtls)
		return 0;
	dw = calloc(1, sizeof(*dw));
	if (!dw)
		return TP_ENOMEM;
	w->dtls = dw;
	dw->w = w;
	TAILQ_INIT(&dw->all);
	TAILQ_INIT(&dw->unauthed);
	dw->nbuckets = table_size(w);
	dw->buckets = calloc(dw->nbuckets, sizeof(*dw->buckets));
	dw->socks = calloc(srv->nlisten, sizeof(*dw->socks));
	dw->peer = BIO_ADDR_new();
	dw->hs_tv = event_base_init_common_timeout(w->base, &hs);
	if (!dw->buckets || !dw->socks || !dw->peer || !dw->hs_tv)
		return TP_ENOMEM;
	for (size_t i = 0; i < srv->nlisten; i++) {
		struct sockaddr_storage sa = srv->listen[i];
		int rc;

		addr_set_port(SA(&sa), (uint16_t)srv->conf->tls_listening_port);
		rc = socket_open(dw, SA(&sa));
		/* The default wildcard :: is skipped quietly without IPv6. */
		if (rc == TP_ESYS && srv->conf->listening_ip.n == 0 && sa.ss_family == AF_INET6 &&
		    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
			continue;
		if (rc != 0)
			return rc;
	}
	return dtls_spare(dw) ? 0 : TP_ECRYPTO;
}

void dtls_worker_cleanup(struct worker *w)
{
	struct dtls_worker *dw = w->dtls;

	if (!dw)
		return;
	while (!TAILQ_EMPTY(&dw->all))
		dtls_sess_free(TAILQ_FIRST(&dw->all), true);
	if (dw->spare)
		dtls_sess_free(dw->spare, false);
	for (size_t i = 0; i < dw->nsocks; i++) {
		if (dw->socks[i].ev)
			event_free(dw->socks[i].ev);
		close(dw->socks[i].fd);
	}
	BIO_ADDR_free(dw->peer);
	free(dw->socks);
	free(dw->buckets);
	free(dw);
	w->dtls = NULL;
}

size_t dtls_worker_listeners(const struct worker *w)
{
	return w->dtls ? w->dtls->nsocks : 0;
}
