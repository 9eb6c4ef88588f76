/* tcprelay.c - RFC 6062 TCP relay sockets: the listener on a TCP
 * allocation's relayed address, connections to peers from that address,
 * the pipe between a peer connection and the client's data connection
 * (with backpressure), and the hand-over of a ConnectionBind that reached
 * another worker than the one holding the connection id. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"

/* Stop reading one side while the other has this much unsent. */
#define PIPE_MAX (256 * 1024)
/* ConnectionBinds waiting for their worker. */
#define INBOX_MAX 256

static __thread struct log_ratelimit rl_sock = LOG_RATELIMIT_INIT(10, 3);

struct tcprelay_listener {
	struct evconnlistener *lev;
	struct worker *w;
	struct turn_alloc *a;
	struct sockaddr_storage bind; /* the relayed address as bound */
};

/* One peer connection, and once bound the client's data connection. */
struct tcprelay_conn {
	struct worker *w;
	struct turn_tcpconn *tc;
	struct bufferevent *peer;
	struct bufferevent *client;
	struct bufferevent *drain; /* closing: freed once this one is flushed */
};

struct tcprelay {
	pthread_mutex_t lock;
	struct event *ev;
	struct tcp_move *box[INBOX_MAX];
	unsigned n;
};

/* A TCP socket of sa's family bound to sa, sharing the port with the
 * relay's listener (both SO_REUSEPORT: the allocation's UDP relay socket
 * holds the port against other allocations). Returns the fd or -1. */
static int bound_socket(const struct sockaddr *sa)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, sa, addr_len(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static struct tcprelay_conn *conn_new(struct worker *w, struct turn_tcpconn *tc, int fd)
{
	struct tcprelay_conn *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->w = w;
	rc->tc = tc;
	rc->peer = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!rc->peer) {
		free(rc);
		return NULL;
	}
	tc->net = rc;
	return rc;
}

static void conn_free(struct tcprelay_conn *rc)
{
	if (rc->peer)
		bufferevent_free(rc->peer);
	tcp_bev_free(rc->client);
	free(rc);
}

/* The core's tcp_close: the core forgets tc itself. */
void tcprelay_close(void *env, struct turn_tcpconn *tc)
{
	(void)env;
	if (tc->net)
		conn_free(tc->net);
	tc->net = NULL;
}

/* Either side ended: both close, the core forgets the id. */
static void conn_end(struct tcprelay_conn *rc)
{
	struct worker *w = rc->w;
	struct turn_tcpconn *tc = rc->tc;

	worker_clock(w);
	tc->net = NULL;
	conn_free(rc);
	turn_tcp_closed(&w->ctx, tc);
}

static void send_control(struct worker *w, struct turn_alloc *a, const uint8_t *msg, size_t len)
{
	if (len && a->conn)
		tcp_send_client(a->conn, msg, len);
}

/* ---- the pipe ---- */

static struct bufferevent *other_side(struct tcprelay_conn *rc, struct bufferevent *bev)
{
	return bev == rc->peer ? rc->client : rc->peer;
}

static void pipe_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcprelay_conn *rc = arg;
	struct bufferevent *to = other_side(rc, bev);
	struct evbuffer *in = bufferevent_get_input(bev), *out = bufferevent_get_output(to);
	struct turn_stats *st = &rc->w->stats;
	size_t n = evbuffer_get_length(in);

	if (bev == rc->peer) {
		STAT_ADD(st->relay_bytes_out[TP_TCP], n);
		STAT_ADD(st->relay_bytes_family_out[STATS_FAMILY(rc->tc->a->relayed.ss_family)], n);
		rc->tc->a->bytes_out += n;
	} else {
		STAT_ADD(st->relay_bytes_in[TP_TCP], n);
		STAT_ADD(st->relay_bytes_family_in[STATS_FAMILY(rc->tc->a->relayed.ss_family)], n);
		rc->tc->a->bytes_in += n;
	}
	evbuffer_add_buffer(out, in);
	/* Backpressure: the side that cannot keep up stops its source. */
	if (evbuffer_get_length(out) > PIPE_MAX)
		bufferevent_disable(bev, EV_READ);
}

static void pipe_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcprelay_conn *rc = arg;
	struct bufferevent *from = other_side(rc, bev);

	if (rc->drain) {
		if (bev == rc->drain && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_end(rc);
		return;
	}
	/* Below the low watermark again: read the source again. */
	if (!(bufferevent_get_enabled(from) & EV_READ))
		bufferevent_enable(from, EV_READ);
}

static void pipe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcprelay_conn *rc = arg;
	struct bufferevent *to = other_side(rc, bev);

	/* An orderly end: what it sent still reaches the other side, then
	 * both close (no half-open relaying). */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !rc->drain &&
	    evbuffer_get_length(bufferevent_get_output(to)) > 0) {
		rc->drain = to;
		bufferevent_disable(rc->peer, EV_READ);
		bufferevent_disable(rc->client, EV_READ);
		return;
	}
	conn_end(rc);
}

void tcprelay_attach(struct worker *w, struct turn_tcpconn *tc, struct bufferevent *client)
{
	struct tcprelay_conn *rc = tc->net;
	(void)w;

	rc->client = client;
	bufferevent_setcb(rc->peer, pipe_read_cb, pipe_write_cb, pipe_event_cb, rc);
	bufferevent_setcb(client, pipe_read_cb, pipe_write_cb, pipe_event_cb, rc);
	bufferevent_set_timeouts(rc->peer, NULL, NULL);
	bufferevent_set_timeouts(client, NULL, NULL);
	bufferevent_setwatermark(rc->peer, EV_READ, 0, 0);
	bufferevent_setwatermark(client, EV_READ, 0, 0);
	bufferevent_setwatermark(rc->peer, EV_WRITE, PIPE_MAX / 2, 0);
	bufferevent_setwatermark(client, EV_WRITE, PIPE_MAX / 2, 0);
	bufferevent_enable(rc->peer, EV_READ | EV_WRITE);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	/* What the client sent behind its ConnectionBind, and what the peer
	 * sent before the bind, go through now. */
	if (evbuffer_get_length(bufferevent_get_input(client)))
		pipe_read_cb(client, rc);
}

/* ---- Connect (RFC 6062 §5.2) ---- */

/* A pending peer connection closed or failed before the bind. */
static void pending_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_end(arg);
}

static void connect_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcprelay_conn *rc = arg;
	struct worker *w = rc->w;
	struct turn_tcpconn *tc = rc->tc;
	struct turn_alloc *a = tc->a;
	uint8_t out[TURN_MAX_REPLY];
	size_t len;

	worker_clock(w);
	if (what & BEV_EVENT_CONNECTED) {
		/* Up: nothing is read from the peer until the client binds. */
		bufferevent_set_timeouts(bev, NULL, NULL);
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, NULL, pending_event_cb, rc);
		len = turn_tcp_connected(&w->ctx, tc, true, out);
	} else {
		tc->net = NULL;
		conn_free(rc);
		len = turn_tcp_connected(&w->ctx, tc, false, out);
	}
	send_control(w, a, out, len);
}

int tcprelay_connect(void *env, struct turn_alloc *a, struct turn_tcpconn *tc)
{
	struct worker *w = env;
	const struct tcprelay_listener *tl = relay_tcp_listener(a);
	struct timeval tv = {TURN_TCP_BIND_MS / 1000, 0};
	struct tcprelay_conn *rc;
	int fd;

	if (!tl || tl->bind.ss_family != tc->peer.ss_family)
		return TP_EINVAL;
	fd = bound_socket((const struct sockaddr *)&tl->bind);
	if (fd < 0) {
		log_rl(&rl_sock, LOG_LVL_WARN, "tcp relay: no socket for Connect: %s",
		       strerror(errno));
		return TP_ESYS;
	}
	rc = conn_new(w, tc, fd);
	if (!rc) {
		close(fd);
		return TP_ENOMEM;
	}
	bufferevent_setcb(rc->peer, NULL, NULL, connect_event_cb, rc);
	/* The write timeout bounds the connect: 447 after 30 s. */
	bufferevent_set_timeouts(rc->peer, NULL, &tv);
	if (bufferevent_socket_connect(rc->peer, (struct sockaddr *)&tc->peer,
				       (int)addr_len((struct sockaddr *)&tc->peer)) != 0) {
		tc->net = NULL;
		conn_free(rc);
		return TP_ESYS;
	}
	return 0;
}

/* ---- peers connecting in (RFC 6062 §5.3) ---- */

static void accept_cb(struct evconnlistener *lev, int fd, struct sockaddr *sa, int salen, void *arg)
{
	struct tcprelay_listener *tl = arg;
	struct worker *w = tl->w;
	struct turn_tcpconn *tc;
	struct tcprelay_conn *rc;
	uint8_t out[TURN_MAX_REPLY];
	size_t len;
	int one = 1;
	(void)lev;
	(void)salen;

	worker_clock(w);
	tc = turn_tcp_incoming(&w->ctx, tl->a, sa, out, &len);
	if (!tc) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = conn_new(w, tc, fd);
	if (!rc) {
		close(fd);
		turn_tcp_closed(&w->ctx, tc);
		return;
	}
	bufferevent_setcb(rc->peer, NULL, NULL, pending_event_cb, rc);
	send_control(w, tl->a, out, len);
}

struct tcprelay_listener *tcprelay_listen(struct worker *w, struct turn_alloc *a,
					  const struct sockaddr *bind)
{
	struct tcprelay_listener *tl = calloc(1, sizeof(*tl));
	int fd = -1;

	if (!tl)
		return NULL;
	tl->w = w;
	tl->a = a;
	memcpy(&tl->bind, bind, addr_len(bind));
	fd = bound_socket(bind);
	if (fd < 0 || listen(fd, 16) != 0)
		goto fail;
	tl->lev = evconnlistener_new(w->base, accept_cb, tl, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!tl->lev)
		goto fail;
	return tl;
fail:
	log_rl(&rl_sock, LOG_LVL_WARN, "tcp relay: cannot listen on the relayed address: %s",
	       strerror(errno));
	if (fd >= 0)
		close(fd);
	free(tl);
	return NULL;
}

void tcprelay_unlisten(struct tcprelay_listener *tl)
{
	if (!tl)
		return;
	evconnlistener_free(tl->lev);
	free(tl);
}

/* ---- ConnectionBind on another worker ---- */

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct tcprelay *t = w->tcprelay;
	struct tcp_move *box[INBOX_MAX];
	unsigned n;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&t->lock);
	n = t->n;
	memcpy(box, t->box, n * sizeof(box[0]));
	t->n = 0;
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = 0; i < n; i++)
		tcp_conn_adopt(w, box[i]);
}

int tcprelay_owner(const struct worker *w, const uint8_t *pkt, size_t len)
{
	uint32_t id, n = (uint32_t)w->srv->nworkers;

	/* Only a ConnectionBind request (type 0x000B) is parsed here. */
	if (n < 2 || len < 2 || pkt[0] != 0 || pkt[1] != TURN_CONNECTION_BIND ||
	    !turn_tcp_bind_id(pkt, len, &id) || id % n == w->id)
		return -1;
	return (int)(id % n);
}

int tcprelay_hand_over(struct worker *to, struct tcp_move *mv)
{
	struct tcprelay *t = to->tcprelay;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (t->n < INBOX_MAX)
		t->box[t->n++] = mv;
	else
		rc = TP_EAGAIN;
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		event_active(t->ev, EV_TIMEOUT, 0);
	return rc;
}

int tcprelay_worker_init(struct worker *w)
{
	struct tcprelay *t = calloc(1, sizeof(*t));

	if (!t)
		return TP_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	w->tcprelay = t;
	t->ev = event_new(w->base, -1, 0, inbox_cb, w);
	return t->ev ? 0 : TP_ENOMEM;
}

void tcprelay_worker_cleanup(struct worker *w)
{
	struct tcprelay *t = w->tcprelay;

	if (!t)
		return;
	/* Moved to a worker that stopped first: closed. */
	for (unsigned i = 0; i < t->n; i++)
		tcp_move_free(t->box[i]);
	if (t->ev)
		event_free(t->ev);
	pthread_mutex_destroy(&t->lock);
	free(t);
	w->tcprelay = NULL;
}
