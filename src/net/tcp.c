/* tcp.c - TCP and TLS client connections: accept under a per-worker cap and
 * a per-source share of connections that have not authenticated (shedding
 * the oldest of those when the table is full), tell TLS from plain framing
 * by the first byte (on listening-port and tls-listening-port alike, when
 * TLS is on), complete the TLS handshake within tls-handshake-timeout,
 * frame STUN messages and ChannelData on the stream (RFC 8489 §6.2.2,
 * RFC 8656 §12.5), answer, and close idle, stalled or malformed
 * connections. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/policy.h"
#include "util/proxy.h"
#include "util/srccount.h"
#include "util/tlshello.h"

/* Stop reading from a client whose answers pile up unread. */
#define TCP_OUT_MAX (256 * 1024)
/* The first byte of a TLS connection: a handshake record (RFC 8446 §5.1).
 * Plain framing starts with a STUN message (0-3) or ChannelData (64-127),
 * RFC 7983 §7. */
#define TLS_RECORD_HANDSHAKE 22

struct tcp_conn {
	struct worker *w;
	struct bufferevent *bev;
	struct event *idle;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	bool closing;       /* reads stopped; freed once queued answers are sent */
	bool authed;        /* a request on it authenticated, or it carries an allocation */
	bool counted;       /* in srv->tcp_unauth (max-tcp-unauthenticated-per-source) */
	bool tls;           /* over TLS (tls-listening-port) */
	bool handshaking;   /* TLS: the handshake has not completed */
	bool proxied;       /* from a proxy-protocol balancer: its header comes first */
	bool sniffing;      /* TLS is on: the first byte (after any PROXY header) says
			   * whether the stream is TLS or plain framing */
	bool tls_port;      /* accepted on tls-listening-port */
	bool http_port;     /* ... on http-listen's address too: HTTP is routed off */
	bool fresh;         /* no frame read yet */
	int fd;             /* sniffing without a bufferevent yet: the socket, else -1 */
	struct event *peek; /* ... and the wait for its first byte (MSG_PEEK) */
	bool moving;        /* a ConnectionBind for worker move_to: moves once flushed */
	unsigned move_to;
	/* Plain TCP: relayed data of this loop pass, gathered here and
	 * written in one go at the pass's end (stage_flush), while in
	 * w->staged; NULL until the first. */
	struct evbuffer *stage;
	bool staged;
	TAILQ_ENTRY(tcp_conn) slink;
	TAILQ_ENTRY(tcp_conn) link;
	TAILQ_ENTRY(tcp_conn) ulink; /* in w->unauthed while !authed */
};

static __thread struct log_ratelimit rl_accept = LOG_RATELIMIT_INIT(10, 3);
static __thread struct log_ratelimit rl_refuse = LOG_RATELIMIT_INIT(10, 3);
static __thread struct log_ratelimit rl_tls = LOG_RATELIMIT_INIT(10, 3);
static __thread struct log_ratelimit rl_silent = LOG_RATELIMIT_INIT(10, 3);

/* Counts a connection from sa against its source's share of connections
 * that have not authenticated. The table is the server's, shared by the
 * workers: taken at accept and authentication only, never per packet. */
static bool count(struct server *srv, const struct sockaddr *sa, bool *counted)
{
	enum srccount_take r;

	*counted = false;
	if (!srv->tcp_unauth)
		return true; /* no limit */
	pthread_mutex_lock(&srv->limits_lock);
	r = srccount_take(srv->tcp_unauth, sa);
	pthread_mutex_unlock(&srv->limits_lock);
	*counted = r == SRCCOUNT_OK;
	return *counted;
}

static void uncount(struct server *srv, const struct sockaddr *sa, bool *counted)
{
	if (!*counted)
		return;
	pthread_mutex_lock(&srv->limits_lock);
	srccount_put(srv->tcp_unauth, sa);
	pthread_mutex_unlock(&srv->limits_lock);
	*counted = false;
}

/* The connection's transport: TLS allocations are keyed and counted as
 * such (the tls label of the metrics, sessions' transport). */
static enum turn_transport conn_tr(const struct tcp_conn *c)
{
	return c->tls ? TP_TLS : TP_TCP;
}

static bool has_alloc(const struct tcp_conn *c)
{
	return turn_table_find(&c->w->ctx.table, conn_tr(c), (const struct sockaddr *)&c->peer,
			       (const struct sockaddr *)&c->local) != NULL;
}

/* The connection proved itself: it no longer counts against its source's
 * share, nor can it be shed. */
static void mark_authed(struct tcp_conn *c)
{
	if (c->authed)
		return;
	c->authed = true;
	TAILQ_REMOVE(&c->w->unauthed, c, ulink);
	uncount(c->w->srv, (struct sockaddr *)&c->peer, &c->counted);
}

/* Moves c's staged data behind what its bufferevent already holds, for
 * anything that must come after it (an answer, a close, a move). */
static void stage_unload(struct tcp_conn *c)
{
	if (c->stage && c->bev && evbuffer_get_length(c->stage))
		evbuffer_add_buffer(bufferevent_get_output(c->bev), c->stage);
}

/* Takes c off the worker's staged list and frees its stage. */
static void stage_drop(struct tcp_conn *c)
{
	if (c->staged) {
		TAILQ_REMOVE(&c->w->staged, c, slink);
		c->staged = false;
	}
	if (c->stage) {
		evbuffer_free(c->stage);
		c->stage = NULL;
	}
}

/* Writes what c gathered this pass: at once, in one writev, when nothing
 * waits in the bufferevent (the usual case: no epoll_ctl, no extra loop
 * pass); what the socket does not take, or all of it when older output
 * waits, goes to the bufferevent, which writes when the socket allows. */
static void stage_flush(struct tcp_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) == 0) {
		evutil_socket_t fd = bufferevent_getfd(c->bev);

		while (evbuffer_get_length(c->stage) > 0 && evbuffer_write(c->stage, fd) > 0)
			;
		if (evbuffer_get_length(c->stage) == 0) {
			STAT_INC(c->w->stats.tcp_out_direct);
			return;
		}
	}
	STAT_INC(c->w->stats.tcp_out_queued);
	stage_unload(c);
}

/* The end of a loop pass (an event made active by the first staged
 * message, so it runs after the pass's read callbacks). */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct tcp_conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&w->staged))) {
		TAILQ_REMOVE(&w->staged, c, slink);
		c->staged = false;
		stage_flush(c);
	}
}

static void conn_free(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct turn_alloc *a;

	/* First, before anything is released: requests it parked are never
	 * answered nor run again, so none can make an allocation on c. */
	userdb_forget_conn(w, c);
	mark_authed(c); /* leaves the unauthenticated list and source count */
	/* RFC 8656 §3.1: the allocation lives as long as its connection. */
	a = turn_table_find(&w->ctx.table, conn_tr(c), (struct sockaddr *)&c->peer,
			    (struct sockaddr *)&c->local);
	if (a)
		turn_alloc_release(&w->ctx, a);
	TAILQ_REMOVE(&w->conns, c, link);
	stage_drop(c);
	event_free(c->idle);
	if (c->peek)
		event_free(c->peek);
	tcp_bev_free(c->bev);
	if (!c->bev && c->fd >= 0)
		close(c->fd);
	free(c);
	STAT_DEC(w->stats.tcp_active);
}

void tcp_conn_free_all(struct worker *w)
{
	while (!TAILQ_EMPTY(&w->conns))
		conn_free(TAILQ_FIRST(&w->conns));
	if (w->tcp_flush) {
		event_free(w->tcp_flush);
		w->tcp_flush = NULL;
	}
}

static void chunk_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Queues one message for c. Over TLS each message gets a chain of its own
 * in the output buffer, so libevent writes it as its own TLS record:
 * several messages in one record leave all but the first in the client's
 * TLS layer, where clients that wait for the socket to become readable
 * before each read (coturn's turnutils_uclient among them) do not see
 * them until more data arrives. Returns 0 or -1. */
static int conn_write(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint8_t *copy;

	if (!c->tls) {
		stage_unload(c); /* relayed data staged before it goes first */
		return bufferevent_write(c->bev, msg, len);
	}
	copy = malloc(len);
	if (!copy)
		return -1;
	memcpy(copy, msg, len);
	if (evbuffer_add_reference(out, copy, len, chunk_free, NULL) != 0) {
		free(copy);
		return -1;
	}
	return 0;
}

/* Closes c once what is queued for it has been sent, so the answers to the
 * requests before a framing error or the client's FIN are not lost. A
 * client that does not read them is closed by the idle timer. */
static void conn_close_flushed(struct tcp_conn *c)
{
	stage_unload(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void idle_cb(int fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	char ip[ADDR_STRLEN];
	(void)fd;
	(void)what;

	/* Before the stream starts: a balancer's PROXY header, the first
	 * byte, then TLS's handshake, all within tls-handshake-timeout of the
	 * accept. Silence on tls-listening-port counts as a handshake timeout,
	 * as it did before the first-byte split; on listening-port, as idle. */
	if (c->proxied || c->sniffing || c->handshaking) {
		const char *stage = c->proxied    ? "PROXY protocol header"
				    : c->sniffing ? "first byte"
						  : "handshake";

		if (c->proxied)
			STAT_INC(w->stats.proxy_bad);
		else if (c->handshaking || c->tls_port)
			STAT_INC(w->stats.tls_handshake_timeout);
		else
			STAT_INC(w->stats.tcp_closed_idle);
		log_rl(c->proxied    ? &rl_refuse
		       : c->sniffing ? &rl_silent
				     : &rl_tls,
		       LOG_LVL_INFO,
		       "tcp: closed a connection from %s: no %s within tls-handshake-timeout "
		       "(%ld s)",
		       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)), stage,
		       w->srv->conf->tls_handshake_timeout);
		conn_free(c);
		return;
	}
	/* A connection carrying an allocation lives by the allocation's
	 * lifetime, which closes it when it ends. */
	if (!c->closing && has_alloc(c)) {
		mark_authed(c);
		event_add(c->idle, w->idle_tv);
		return;
	}
	STAT_INC(w->stats.tcp_closed_idle);
	conn_free(c);
}

/* Returns the length of the first complete frame, 0 if more bytes are
 * needed, or -1 if the stream is not STUN/TURN framing (RFC 8656 §12.5:
 * turn_stream_frame_len, the one framing rule clients and fuzzers share). */
static long frame_len(struct evbuffer *in)
{
	uint8_t hdr[4];
	size_t have = evbuffer_get_length(in), need;

	if (have < 4)
		return 0;
	evbuffer_copyout(in, hdr, 4);
	need = turn_stream_frame_len(hdr, 4);
	if (need == 0)
		return -1;
	return have >= need ? (long)need : 0;
}

static bool rfc6062_foreign_bind(struct tcp_conn *c, const uint8_t *pkt, size_t len);
static void rfc6062_move(struct tcp_conn *c);
static void rfc6062_to_data(struct tcp_conn *c, struct turn_tcpconn *tc);

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* Starts TLS over the connection's socket bufferevent, once the PROXY
 * header and the first byte are read: an OpenSSL filter on top, which also
 * takes the bytes of the ClientHello already read. Returns 0 or
 * TP_ENOMEM. */
static int start_tls_after(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct bufferevent *under = c->bev, *bev;
	SSL *ssl = tls_ssl_new(w->srv);

	if (!ssl)
		return TP_ENOMEM;
	/* The connection owns the SSL and the socket bufferevent below
	 * (tcp_bev_free), not the filter: see tcpmove.c. */
	bev = bufferevent_openssl_filter_new(w->base, under, ssl, BUFFEREVENT_SSL_ACCEPTING, 0);
	if (!bev) {
		SSL_free(ssl);
		return TP_ENOMEM;
	}
	c->bev = bev;
	c->tls = c->handshaking = true;
	STAT_INC(w->stats.tls_accepted);
	bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(bev, EV_WRITE, TCP_OUT_MAX / 2, 0);
	bufferevent_setwatermark(bev, EV_READ, 0, STUN_MAX_MSG);
	if (bufferevent_enable(bev, EV_READ) != 0)
		return TP_ENOMEM;
	if (evbuffer_get_length(bufferevent_get_input(under)))
		bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
	return 0;
}

/*
 * The PROXY header a balancer sends first (proxy-protocol): takes the
 * client's address from it into c->peer and counts that source's share.
 * Returns true when the stream goes on (framing, or TLS first), false when
 * more bytes are needed or c was closed.
 */
static bool proxy_header(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in), used = 0;
	struct sockaddr_storage src;
	char ip[ADDR_STRLEN];
	int r;

	r = proxy_parse(evbuffer_pullup(in, (ev_ssize_t)(have < PROXY_MAX ? have : PROXY_MAX)),
			have < PROXY_MAX ? have : PROXY_MAX, &src, &used);
	if (r == 0)
		return false;
	if (r < 0) {
		STAT_INC(w->stats.proxy_bad);
		log_rl(&rl_refuse, LOG_LVL_WARN,
		       "tcp: closed a connection from %s: no valid PROXY protocol header "
		       "(proxy-protocol)",
		       addr_format((struct sockaddr *)&c->peer, true, ip, sizeof(ip)));
		conn_free(c);
		return false;
	}
	evbuffer_drain(in, used);
	c->proxied = false;
	STAT_INC(w->stats.proxy_headers);
	if (src.ss_family != AF_UNSPEC)
		memcpy(&c->peer, &src, sizeof(src));
	if (!count(w->srv, (struct sockaddr *)&c->peer, &c->counted)) {
		STAT_INC(w->stats.tcp_refused_source);
		log_rl(&rl_refuse, LOG_LVL_WARN,
		       "tcp: refused a connection from %s (through a balancer): it already "
		       "holds %ld that have not authenticated (max-tcp-unauthenticated-per-source)",
		       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)),
		       w->srv->conf->max_tcp_unauth_per_source);
		conn_free(c);
		return false;
	}
	/* With TLS on, the first byte decides (sniff_input) while the
	 * deadline runs on; else unauthenticated TCP from now. */
	if (!c->sniffing)
		event_add(c->idle, w->idle_tv);
	return true;
}

/* The connection is HTTP on a port the HTTP listener shares: it leaves
 * TURN's table and its limits (the HTTP side applies its own, to the same
 * client address) and is spliced to the HTTP listener (mux.c). */
static void to_http(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct bufferevent *bev = c->bev;
	struct sockaddr_storage peer = c->peer;

	c->bev = NULL;
	conn_free(c);
	mux_splice(w, bev, &peer);
}

/*
 * The first bytes after any PROXY header, still in the input: a TLS
 * handshake record starts TLS (an OpenSSL filter over the socket), anything
 * else is plain framing; on a port the HTTP listener shares, HTTP goes
 * there (mux_route). Returns true when the plain stream goes on, false
 * when more bytes are needed, TLS or HTTP took over, or c was closed.
 */
static bool sniff_input(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in);
	enum mux_route r;
	uint8_t b = 0;
	char ip[ADDR_STRLEN];

	if (have == 0)
		return false;
	if (c->http_port) {
		size_t n = have < TLSHELLO_MAX ? have : TLSHELLO_MAX;

		r = mux_route(w->srv, (struct sockaddr *)&c->local,
			      evbuffer_pullup(in, (ev_ssize_t)n), n);
	} else {
		evbuffer_copyout(in, &b, 1);
		r = b == TLS_RECORD_HANDSHAKE ? MUX_TLS : MUX_TURN;
	}
	switch (r) {
	case MUX_MORE:
		return false; /* the deadline runs on */
	case MUX_HTTP:
		to_http(c);
		return false;
	case MUX_TLS:
		c->sniffing = false;
		if (!w->srv->tls) {
			/* A port HTTPS shares while TLS for TURN is off. */
			STAT_INC(w->stats.tcp_closed_bad);
			log_rl(&rl_tls, LOG_LVL_INFO,
			       "tcp: closed a connection from %s: TLS without an HTTP ALPN, and "
			       "TURN over TLS is off",
			       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)));
			conn_free(c);
		} else if (start_tls_after(c) != 0) {
			conn_free(c);
		}
		return false;
	default:
		c->sniffing = false;
		event_add(c->idle, w->idle_tv); /* unauthenticated TCP from now */
		return true;
	}
}

/* A stream that is not STUN framing: a TLS ClientHello where TLS is off
 * says so (the client most likely meant turns:). */
static void log_not_framing(struct tcp_conn *c)
{
	char ip[ADDR_STRLEN];
	uint8_t b;

	if (!c->fresh || c->tls || evbuffer_copyout(bufferevent_get_input(c->bev), &b, 1) != 1 ||
	    b != TLS_RECORD_HANDSHAKE)
		return;
	log_rl(&rl_tls, LOG_LVL_INFO,
	       "tcp: closed a connection from %s: it starts a TLS handshake but TLS is off "
	       "(set cert and pkey, without no-tls)",
	       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)));
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	struct turn_stats *st = &w->stats;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct turn_from from = {TP_TCP, (struct sockaddr *)&c->peer, (struct sockaddr *)&c->local,
				 c};
	enum turn_transport tr;
	uint8_t out[TURN_MAX_REPLY];
	long n;

	worker_clock(w);
	if (c->proxied && !proxy_header(c))
		return;
	if (c->sniffing && !sniff_input(c))
		return;
	/* Known once the first bytes (and any PROXY header) are read. */
	from.tr = tr = conn_tr(c);
	while ((n = frame_len(in)) > 0) {
		const uint8_t *pkt = evbuffer_pullup(in, n);
		size_t len;

		c->fresh = false;
		STAT_INC(st->rx_msgs[tr]);
		STAT_ADD(st->rx_bytes[tr], (uint64_t)n);
		if (pkt[0] <= 3 && rfc6062_foreign_bind(c, pkt, (size_t)n))
			return; /* another worker takes the connection (c may be gone) */
		if (pkt[0] >= 64) {
			/* Data keeps no connection alive by itself: one that
			 * carries an allocation lives by it (see idle_cb). */
			turn_client_chandata(&w->ctx, &from, pkt, (size_t)n);
			evbuffer_drain(in, (size_t)n);
			continue;
		}
		len = turn_server_handle(&w->ctx, &from, pkt, (size_t)n, out);
		if (!len && w->ctx.parked)
			userdb_park(w, &from, pkt, (size_t)n);
		/* Only authenticated requests keep a connection alive: one
		 * that never authenticates lives tcp-idle-timeout from accept,
		 * however much it sends. */
		if (w->ctx.authed) {
			mark_authed(c);
			event_add(c->idle, w->idle_tv);
		}
		evbuffer_drain(in, (size_t)n);
		if (len) {
			if (conn_write(c, out, len) != 0) {
				STAT_INC(st->tx_errors);
			} else {
				STAT_INC(st->tx_msgs[tr]);
				STAT_ADD(st->tx_bytes[tr], len);
			}
		}
		if (w->ctx.bound) {
			rfc6062_to_data(c, w->ctx.bound);
			return; /* c is gone: the connection is a data connection */
		}
	}
	if (n < 0) {
		/* RFC 8489 §6.2.2 gives no way to resync a broken stream. */
		STAT_INC(st->tcp_closed_bad);
		log_not_framing(c);
		conn_close_flushed(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > TCP_OUT_MAX)
		bufferevent_disable(bev, EV_READ);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (c->moving) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			rfc6062_move(c);
		return;
	}
	/* Output drained below the low watermark: read again. */
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_enable(bev, EV_READ);
}

/* The TLS handshake completed: from now on the connection lives by
 * tcp-idle-timeout, as over TCP. */
static void handshake_done(struct tcp_conn *c)
{
	c->handshaking = false;
	STAT_INC(c->w->stats.tls_handshakes);
	event_add(c->idle, c->w->idle_tv);
}

/* Writes what is queued on a socket bufferevent now (its output's start
 * is frozen for anyone but itself). */
static void alert_send(struct bufferevent *under)
{
	struct evbuffer *out = bufferevent_get_output(under);

	evbuffer_unfreeze(out, 1);
	evbuffer_write(out, bufferevent_getfd(under));
	evbuffer_freeze(out, 1);
}

static void handshake_failed(struct tcp_conn *c)
{
	char ip[ADDR_STRLEN], why[256] = "connection closed";
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	struct bufferevent *under;

	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	/* Over a filter (TLS after a PROXY header or the first bytes read),
	 * OpenSSL's alert still sits in the socket's output: send it, best
	 * effort, so the client learns why (no_application_protocol...). */
	if ((under = bufferevent_get_underlying(c->bev)) != NULL)
		alert_send(under);
	STAT_INC(c->w->stats.tls_handshake_failed);
	log_rl(&rl_tls, LOG_LVL_INFO, "tls: handshake with %s failed: %s",
	       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)), why);
	conn_free(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)bev;

	if (what & BEV_EVENT_CONNECTED) {
		handshake_done(c);
		return;
	}
	if (c->handshaking) {
		handshake_failed(c);
		return;
	}
	/* EOF: the client sent all it will, but may still read the answers
	 * to it. Error: the client is gone. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR))
		conn_close_flushed(arg);
	else
		conn_free(arg);
}

/* Closes the oldest connection that never authenticated, to make room.
 * Returns false when every connection has authenticated. */
static bool shed_one(struct worker *w)
{
	struct tcp_conn *c;

	while ((c = TAILQ_FIRST(&w->unauthed))) {
		/* A request parked on Redis may have made an allocation since. */
		if (has_alloc(c)) {
			mark_authed(c);
			continue;
		}
		STAT_INC(w->stats.tcp_shed);
		conn_free(c);
		return true;
	}
	return false;
}

/* Whether a connection from sa may be taken: its source's share of
 * connections that have not authenticated, then room in the worker's table
 * (made by shedding if need be). *counted: whether the source's count took
 * it. */
static bool admit(struct worker *w, const struct sockaddr *sa, bool proxied, bool *counted)
{
	char ip[ADDR_STRLEN];

	/* A balancer's connections are counted by the client its PROXY
	 * header names (proxy_header). */
	*counted = false;
	if (!proxied && !count(w->srv, sa, counted)) {
		STAT_INC(w->stats.tcp_refused_source);
		log_rl(&rl_refuse, LOG_LVL_WARN,
		       "tcp: refused a connection from %s: it already holds %ld that have not "
		       "authenticated (max-tcp-unauthenticated-per-source)",
		       addr_format(sa, false, ip, sizeof(ip)),
		       w->srv->conf->max_tcp_unauth_per_source);
		return false;
	}
	if (STAT_GET(w->stats.tcp_active) < w->tcp_max || shed_one(w))
		return true;
	uncount(w->srv, sa, counted);
	STAT_INC(w->stats.tcp_refused);
	log_rl(&rl_refuse, LOG_LVL_WARN,
	       "tcp: refused a connection from %s: max-tcp-connections reached and every "
	       "connection has authenticated",
	       addr_format(sa, false, ip, sizeof(ip)));
	return false;
}

/* The connection's bufferevent: on the socket (which it closes when
 * freed), or for a TLS stream an OpenSSL filter over such a one (the
 * connection owns the SSL and the socket bufferevent, see tcp_bev_free).
 * A filter rather than OpenSSL's bufferevent on the socket: that one
 * writes each record with a write() of its own, and relayed messages go
 * one a record (a client that polls the socket before each read, as
 * turnutils_uclient does, misses a second message in a record); the
 * filter's records gather in the socket bufferevent's output and leave
 * in one writev a loop pass: 160,000 write() a second became 10,000
 * writev, and relaying to TLS clients needs 0.6 of the CPU per datagram
 * it needed (bench/README.md). NULL on failure (fd left open). */
static struct bufferevent *bev_new(struct worker *w, int fd, bool tls)
{
	struct bufferevent *bev, *under;
	SSL *ssl;

	if (!tls)
		return bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = tls_ssl_new(w->srv);
	if (!ssl)
		return NULL;
	under = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bev = under ? bufferevent_openssl_filter_new(w->base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
						     0)
		    : NULL;
	if (!bev) {
		SSL_free(ssl);
		if (under) {
			bufferevent_setfd(under, -1); /* the caller closes fd */
			bufferevent_free(under);
		}
	}
	return bev;
}

/* Reads and writes on c's bufferevent. Returns 0 or -1. */
static int bev_start(struct tcp_conn *c)
{
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, TCP_OUT_MAX / 2, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, STUN_MAX_MSG);
	return bufferevent_enable(c->bev, EV_READ);
}

/* Where the first bytes peeked from a connection go (mux_route on a
 * port HTTP shares). */
static enum mux_route peek_route(struct tcp_conn *c, const uint8_t *buf, size_t len)
{
	if (c->http_port)
		return mux_route(c->w->srv, (struct sockaddr *)&c->local, buf, len);
	return buf[0] == TLS_RECORD_HANDSHAKE ? MUX_TLS : MUX_TURN;
}

/*
 * The first bytes of a connection that is not proxied, read with MSG_PEEK
 * so that they stay in the socket: a TLS stream then gets an OpenSSL
 * filter over a socket bufferevent (bev_new), an HTTP one is spliced from
 * the socket as it is. One byte is enough to tell TLS from TURN; on a port
 * HTTP shares, a TLS ClientHello is waited for whole (its ALPN decides),
 * woken edge-triggered by each new segment. A client that sends nothing,
 * or trickles, is closed at tls-handshake-timeout from the accept
 * (idle_cb).
 */
static void peek_cb(int fd, short what, void *arg)
{
	static __thread uint8_t buf[TLSHELLO_MAX];
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	char ip[ADDR_STRLEN];
	enum mux_route r;
	ssize_t n;
	(void)what;

	worker_clock(w);
	n = recv(fd, buf, c->http_port ? sizeof(buf) : 1, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (!c->http_port && event_add(c->peek, NULL) != 0)
			conn_free(c);
		return;
	}
	if (n <= 0) {
		conn_free(c); /* closed or reset before it sent anything */
		return;
	}
	r = peek_route(c, buf, (size_t)n);
	if (r == MUX_MORE)
		return; /* the rest of the ClientHello: the next segment wakes us */
	event_free(c->peek);
	c->peek = NULL;
	c->sniffing = false;
	if (r == MUX_TLS && !w->srv->tls) {
		/* A port HTTPS shares while TLS for TURN is off. */
		STAT_INC(w->stats.tcp_closed_bad);
		log_rl(&rl_tls, LOG_LVL_INFO,
		       "tcp: closed a connection from %s: TLS without an HTTP ALPN, and TURN over "
		       "TLS is off",
		       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)));
		conn_free(c);
		return;
	}
	c->bev = bev_new(w, fd, r == MUX_TLS);
	if (c->bev)
		c->fd = -1; /* tcp_bev_free closes it */
	if (r == MUX_HTTP && c->bev) {
		to_http(c);
		return;
	}
	if (!c->bev || bev_start(c) != 0) {
		log_rl(&rl_accept, LOG_LVL_WARN, "tcp: out of memory starting a connection");
		conn_free(c);
		return;
	}
	if (r == MUX_TLS) {
		/* The handshake deadline runs on from the accept. */
		c->tls = c->handshaking = true;
		STAT_INC(w->stats.tls_accepted);
		return;
	}
	event_add(c->idle, w->idle_tv); /* unauthenticated TCP from now */
}

void tcp_accept_cb(struct evconnlistener *lev, int fd, struct sockaddr *sa, int salen, void *arg)
{
	struct tcp_listener *tl = arg;
	struct worker *w = tl->w;
	struct tcp_conn *c = NULL;
	bool counted = false;
	bool proxied = w->srv->nproxy_from &&
		       policy_in_ranges(w->srv->proxy_from, w->srv->nproxy_from, sa);
	/* With TLS on, both TCP ports take TLS and plain framing alike (as
	 * coturn's do): the first byte tells them apart; on http-listen's
	 * port, the first bytes tell HTTP from TURN too. */
	bool sniff = w->srv->tls != NULL || tl->http;
	int one = 1;
	(void)lev;

	if (!admit(w, sa, proxied, &counted)) {
		close(fd);
		return;
	}
	/* Relayed media must not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->w = w;
	c->fd = -1;
	c->counted = counted;
	counted = false;
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen : sizeof(c->peer));
	{
		socklen_t llen = sizeof(c->local);
		if (getsockname(fd, (struct sockaddr *)&c->local, &llen) != 0)
			goto fail;
	}
	c->proxied = proxied;
	c->sniffing = sniff;
	c->tls_port = tl->tls;
	c->http_port = tl->http;
	c->fresh = true;
	c->idle = evtimer_new(w->base, idle_cb, c);
	if (!c->idle)
		goto fail;
	if (sniff && !proxied) {
		/* No bufferevent until the first bytes say which. */
		c->peek = event_new(w->base, fd, tl->http ? EV_READ | EV_PERSIST | EV_ET : EV_READ,
				    peek_cb, c);
		if (!c->peek)
			goto fail;
		c->fd = fd;
		fd = -1;
		if (event_add(c->peek, NULL) != 0)
			goto fail;
	} else {
		/* Behind a balancer, its PROXY header comes first, then (with
		 * TLS on) the first bytes are looked at in the input (on a port
		 * HTTP shares, as many as a ClientHello's ALPN takes). */
		c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev)
			goto fail;
		fd = -1;
		if (bev_start(c) != 0)
			goto fail;
	}
	if (event_add(c->idle, sniff || proxied ? w->hs_tv : w->idle_tv) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&w->conns, c, link);
	TAILQ_INSERT_TAIL(&w->unauthed, c, ulink);
	STAT_INC(w->stats.tcp_accepted);
	STAT_INC(w->stats.tcp_active);
	return;
fail:
	log_rl(&rl_accept, LOG_LVL_WARN, "tcp: out of memory accepting a connection");
	if (c) {
		if (c->idle)
			event_free(c->idle);
		if (c->peek)
			event_free(c->peek);
		tcp_bev_free(c->bev);
		if (!c->bev && c->fd >= 0)
			close(c->fd);
		counted = c->counted;
		free(c);
	}
	uncount(w->srv, sa, &counted);
	if (fd >= 0)
		close(fd);
}

/* Plain TCP: stages msg for the write at the end of this loop pass, so a
 * pass's datagrams for one client leave in one writev. Returns 0, or -1
 * when it cannot (the caller then writes it through the bufferevent). */
static int stage_add(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct worker *w = c->w;

	if (!w->tcp_flush && !(w->tcp_flush = event_new(w->base, -1, 0, flush_cb, w)))
		return -1;
	if (!c->stage && !(c->stage = evbuffer_new()))
		return -1;
	if (evbuffer_add(c->stage, msg, len) != 0)
		return -1;
	if (!c->staged) {
		if (TAILQ_EMPTY(&w->staged))
			event_active(w->tcp_flush, EV_WRITE, 0);
		TAILQ_INSERT_TAIL(&w->staged, c, slink);
		c->staged = true;
	}
	return 0;
}

void tcp_send_client(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct turn_stats *st = &c->w->stats;
	size_t queued;

	/* A client that does not read loses data rather than our memory; a
	 * closing connection takes nothing new. */
	if (c->closing || !c->bev) {
		STAT_INC(st->drops[DROP_SEND_FAILED]);
		return;
	}
	queued = evbuffer_get_length(bufferevent_get_output(c->bev)) +
		 (c->stage ? evbuffer_get_length(c->stage) : 0);
	if (queued > TCP_OUT_MAX ||
	    ((c->tls || stage_add(c, msg, len) != 0) && conn_write(c, msg, len) != 0)) {
		STAT_INC(st->drops[DROP_SEND_FAILED]);
		return;
	}
	STAT_INC(st->tx_msgs[conn_tr(c)]);
	STAT_ADD(st->tx_bytes[conn_tr(c)], len);
}

void tcp_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct tcp_listener *tl = arg;
	struct timeval one_s = {1, 0};
	int err = errno;

	/* Out of descriptors: pause accepting for a second rather than spin. */
	log_rl(&rl_accept, LOG_LVL_WARN, "tcp accept: %s; pausing for 1 s", strerror(err));
	evconnlistener_disable(lev);
	event_add(tl->retry, &one_s);
}

void tcp_retry_cb(int fd, short what, void *arg)
{
	struct tcp_listener *tl = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(tl->lev);
}

/* ---- RFC 6062 hand-over to tcprelay.c ----
 * After a successful ConnectionBind (§5.4) a connection leaves the STUN
 * framing, the idle timer and this table: its bufferevent, with the
 * answer queued and whatever the client sent after it, becomes a data
 * connection piped to the peer. A ConnectionBind for an id of another
 * worker moves the connection there first, unanswered: its socket, over
 * TLS its live session, and the bytes read (and decrypted) from the
 * ConnectionBind on (tcpmove.c). The owner answers it, so the answer is
 * written once, before any relayed data. */

static void rfc6062_to_data(struct tcp_conn *c, struct turn_tcpconn *tc)
{
	struct worker *w = c->w;
	struct bufferevent *bev = c->bev;

	w->ctx.bound = NULL;
	userdb_forget_conn(w, c);
	mark_authed(c);
	stage_unload(c);
	stage_drop(c);
	TAILQ_REMOVE(&w->conns, c, link);
	event_free(c->idle);
	free(c);
	STAT_DEC(w->stats.tcp_active);
	tcprelay_attach(w, tc, bev);
}

/* Moves c, flushed, to worker c->move_to; c is gone after. A connection
 * that cannot move (out of memory, the worker's inbox full) is closed. */
static void rfc6062_move(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct tcp_move *mv;
	char ip[ADDR_STRLEN];
	int rc = TP_ENOMEM;

	/* A request parked on Redis may have made an allocation on c since:
	 * then the ConnectionBind is answered here (400). */
	if (has_alloc(c)) {
		c->moving = false;
		bufferevent_enable(c->bev, EV_READ);
		bufferevent_trigger(c->bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	stage_unload(c);
	mv = tcp_move_take(c->bev, &c->peer, &c->local);
	if (mv) {
		c->bev = NULL; /* freed: the socket and the SSL are mv's */
		rc = tcprelay_hand_over(&w->srv->workers[c->move_to], mv);
		if (rc != 0)
			tcp_move_free(mv);
	}
	if (rc != 0) {
		STAT_INC(w->stats.tcp_binds_move_failed);
		log_rl(&rl_accept, LOG_LVL_WARN,
		       "tcp: closed %s's connection: its ConnectionBind could not move to worker "
		       "%u (%s)",
		       addr_format((struct sockaddr *)&c->peer, false, ip, sizeof(ip)), c->move_to,
		       tp_strerror(rc));
	}
	conn_free(c);
}

/* Whether the message in pkt is a ConnectionBind for an id of another
 * worker: c then stops reading here and moves there, now or once what
 * is queued for it has been written (c may be gone). */
static bool rfc6062_foreign_bind(struct tcp_conn *c, const uint8_t *pkt, size_t len)
{
	int owner;

	if ((owner = tcprelay_owner(c->w, pkt, len)) < 0 || c->closing || c->handshaking ||
	    c->proxied || has_alloc(c))
		return false;
	c->moving = true;
	c->move_to = (unsigned)owner;
	bufferevent_disable(c->bev, EV_READ);
	/* Answers to the requests before it go out from here first. */
	stage_unload(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		rfc6062_move(c);
	return true;
}

void tcp_conn_adopt(struct worker *w, struct tcp_move *mv)
{
	struct tcp_conn *c = NULL;
	bool counted = false, tls = mv->ssl != NULL;

	/* The same admission as at accept: the source's share of connections
	 * that have not authenticated, and room in the table. */
	if (!admit(w, (const struct sockaddr *)&mv->peer, false, &counted))
		goto fail;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->w = w;
	c->fd = -1;
	c->counted = counted;
	counted = false;
	c->peer = mv->peer;
	c->local = mv->local;
	c->tls = tls;
	c->bev = tcp_move_bev(w->base, mv);
	c->idle = evtimer_new(w->base, idle_cb, c);
	if (!c->bev || !c->idle)
		goto fail;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, TCP_OUT_MAX / 2, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, STUN_MAX_MSG);
	if (event_add(c->idle, w->idle_tv) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&w->conns, c, link);
	TAILQ_INSERT_TAIL(&w->unauthed, c, ulink);
	STAT_INC(w->stats.tcp_active);
	STAT_INC(*(tls ? &w->stats.tls_binds_moved : &w->stats.tcp_binds_moved));
	log_debug("tcp: worker %u takes a %s connection over for its ConnectionBind", w->id,
		  tls ? "TLS" : "TCP");
	tcp_move_free(mv);
	/* The bytes it brought are read from the loop, as if just arrived:
	 * enabling an OpenSSL filter may already run callbacks that free c. */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	bufferevent_enable(c->bev, EV_READ);
	return;
fail:
	if (c) {
		log_rl(&rl_accept, LOG_LVL_WARN,
		       "tcp: out of memory taking a connection over for its ConnectionBind");
		if (c->idle)
			event_free(c->idle);
		tcp_bev_free(c->bev);
		counted = c->counted;
		free(c);
	}
	uncount(w->srv, (const struct sockaddr *)&mv->peer, &counted);
	tcp_move_free(mv);
}
