/* mux.c - the HTTP listener on a TURN TCP port (http-listen naming the
 * address and port of listening-port or tls-listening-port): the worker
 * that accepted a connection routes it by its first bytes (tcp.c's sniff)
 * and hands the HTTP ones to the main thread's evhttp through an internal
 * listener on 127.0.0.1, splicing the bytes as they are (TLS stays
 * end to end with http-cert). evhttp takes only connections it accepts
 * itself, and would read a PROXY header as TLS: so the client's address
 * travels beside the stream instead, in a table keyed by the port the
 * worker's socket is bound to, which the HTTP side looks up (and removes)
 * when it accepts. A connection to the internal listener that no worker
 * registered is refused there. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/tlshello.h"

/* Splices waiting for the HTTP side to accept them, at most. */
#define MUX_PENDING 256
/* Stop reading one side while the other has this much unsent. */
#define SPLICE_MAX (256 * 1024)
/* The first bytes of a TURN connection (RFC 7983 §7; a new connection's
 * first message is a STUN request, 0-3) and of TLS (RFC 8446 §5.1). */
#define TLS_RECORD_HANDSHAKE 22

struct mux_pending {
	uint16_t port; /* the worker's end on 127.0.0.1; 0: free */
	struct sockaddr_storage client;
};

struct mux {
	struct sockaddr_storage http; /* http-listen */
	bool http_tls;                /* http-cert: the hook is HTTPS */
	struct sockaddr_storage internal;
	pthread_mutex_t lock; /* internal (set before the workers run), pending */
	struct mux_pending pending[MUX_PENDING];
};

struct mux_splice {
	struct worker *w;
	struct bufferevent *client, *http;
	struct bufferevent *drain; /* ending: freed once this one is flushed */
	uint16_t port;
	TAILQ_ENTRY(mux_splice) link;
};

static __thread struct log_ratelimit rl_splice = LOG_RATELIMIT_INIT(10, 3);

/* ------------------------------------------------------------------ */
/* Set-up. */

/* Whether a TURN listener on sa is also http-listen's: the same port, and
 * the same address or a wildcard on either side (same family). */
static bool shares(const struct sockaddr *http, const struct sockaddr *sa)
{
	return http->sa_family == sa->sa_family && addr_port(http) == addr_port(sa) &&
	       (addr_is_any(http) || addr_is_any(sa) || addr_equal_ip(http, sa));
}

int mux_setup(struct server *srv)
{
	const struct conf *c = srv->conf;
	struct sockaddr_storage http;
	bool shared = false;

	if (!c->http_listen || addr_parse_listen(c->http_listen, &http) != 0)
		return 0; /* no hook, or http_server_new says what is wrong */
	for (size_t i = 0; i < srv->nlisten; i++) {
		struct sockaddr_storage sa = srv->listen[i];

		if (!c->no_tcp) {
			addr_set_port((struct sockaddr *)&sa, (uint16_t)c->listening_port);
			shared |= shares((struct sockaddr *)&http, (struct sockaddr *)&sa);
		}
		if (tls_enabled(c)) {
			addr_set_port((struct sockaddr *)&sa, (uint16_t)c->tls_listening_port);
			shared |= shares((struct sockaddr *)&http, (struct sockaddr *)&sa);
		}
	}
	if (!shared)
		return 0;
	srv->mux = calloc(1, sizeof(*srv->mux));
	if (!srv->mux)
		return TP_ENOMEM;
	srv->mux->http = http;
	srv->mux->http_tls = c->http_cert != NULL;
	pthread_mutex_init(&srv->mux->lock, NULL);
	return 0;
}

void mux_cleanup(struct server *srv)
{
	if (!srv->mux)
		return;
	pthread_mutex_destroy(&srv->mux->lock);
	free(srv->mux);
	srv->mux = NULL;
}

bool mux_listener_shared(const struct server *srv, const struct sockaddr *sa)
{
	return srv->mux && shares((const struct sockaddr *)&srv->mux->http, sa);
}

/* ------------------------------------------------------------------ */
/* Routing (workers). */

/* Whether HTTP over TLS offered in a ClientHello goes to the hook: it
 * offers HTTP/1.x and not stun.turn (RFC 7443), which wins when both are
 * offered. No ALPN is TURN: browsers and coturn's clients send none. */
static bool hello_is_http(const uint8_t *buf, size_t len, bool *more)
{
	const uint8_t *alpn;
	size_t alen;

	*more = false;
	switch (tlshello_alpn(buf, len, &alpn, &alen)) {
	case TLSHELLO_MORE:
		*more = true;
		return false;
	case TLSHELLO_ALPN:
		return !tlshello_alpn_has(alpn, alen, "stun.turn") &&
		       (tlshello_alpn_has(alpn, alen, "http/1.1") ||
			tlshello_alpn_has(alpn, alen, "http/1.0"));
	default:
		return false;
	}
}

enum mux_route mux_route(const struct server *srv, const struct sockaddr *local, const uint8_t *buf,
			 size_t len)
{
	const struct mux *m = srv->mux;
	const struct sockaddr *http;
	bool more;

	if (len == 0)
		return MUX_MORE;
	/* Only connections to http-listen's own address go to the hook. */
	http = m ? (const struct sockaddr *)&m->http : NULL;
	if (!http || http->sa_family != local->sa_family ||
	    (!addr_is_any(http) && !addr_equal_ip(http, local)))
		return buf[0] == TLS_RECORD_HANDSHAKE ? MUX_TLS : MUX_TURN;
	if (buf[0] == TLS_RECORD_HANDSHAKE) {
		if (!m->http_tls)
			return MUX_TLS;
		if (hello_is_http(buf, len, &more))
			return MUX_HTTP;
		return more && len < TLSHELLO_MAX ? MUX_MORE : MUX_TLS;
	}
	/* A plain hook takes what starts like a request line ("GET ", ...):
	 * a capital letter, never the first byte of a TURN connection. An
	 * HTTPS hook never gets plain HTTP. */
	if (!m->http_tls && buf[0] >= 'A' && buf[0] <= 'Z')
		return MUX_HTTP;
	return MUX_TURN;
}

/* ------------------------------------------------------------------ */
/* The client's address beside the stream. */

void mux_set_internal(void *env, const struct sockaddr *sa)
{
	struct server *srv = env;

	pthread_mutex_lock(&srv->mux->lock);
	memcpy(&srv->mux->internal, sa, addr_len(sa));
	pthread_mutex_unlock(&srv->mux->lock);
}

/* Registers client under port. Returns false when the table is full. */
static bool pending_put(struct mux *m, uint16_t port, const struct sockaddr_storage *client)
{
	bool ok = false;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < MUX_PENDING && !ok; i++) {
		if (m->pending[i].port == 0) {
			m->pending[i].port = port;
			m->pending[i].client = *client;
			ok = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* Takes port's entry out (into *client when not NULL). Returns whether
 * there was one. */
static bool pending_take(struct mux *m, uint16_t port, struct sockaddr_storage *client)
{
	bool found = false;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < MUX_PENDING && !found; i++) {
		if (m->pending[i].port == port) {
			if (client)
				*client = m->pending[i].client;
			m->pending[i].port = 0;
			found = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

bool mux_take(void *env, const struct sockaddr *from, struct sockaddr_storage *client)
{
	struct server *srv = env;
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	/* Only a worker's socket, bound to 127.0.0.1 and registered. */
	if (!srv->mux || !addr_equal_ip(from, (struct sockaddr *)&lo) || addr_port(from) == 0)
		return false;
	return pending_take(srv->mux, addr_port(from), client);
}

/* ------------------------------------------------------------------ */
/* The splice (workers). */

static void splice_free(struct mux_splice *s)
{
	struct worker *w = s->w;

	if (s->port)
		pending_take(w->srv->mux, s->port, NULL); /* never accepted */
	TAILQ_REMOVE(&w->splices, s, link);
	w->nsplices--;
	if (s->client)
		bufferevent_free(s->client);
	if (s->http)
		bufferevent_free(s->http);
	free(s);
}

static struct bufferevent *other_side(struct mux_splice *s, struct bufferevent *bev)
{
	return bev == s->client ? s->http : s->client;
}

static void splice_read_cb(struct bufferevent *bev, void *arg)
{
	struct mux_splice *s = arg;
	struct evbuffer *out = bufferevent_get_output(other_side(s, bev));

	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	/* Backpressure: the side that cannot keep up stops its source. */
	if (evbuffer_get_length(out) > SPLICE_MAX)
		bufferevent_disable(bev, EV_READ);
}

static void splice_write_cb(struct bufferevent *bev, void *arg)
{
	struct mux_splice *s = arg;
	struct bufferevent *from = other_side(s, bev);

	if (s->drain) {
		if (bev == s->drain && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			splice_free(s);
		return;
	}
	if (!(bufferevent_get_enabled(from) & EV_READ))
		bufferevent_enable(from, EV_READ);
}

static void splice_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mux_splice *s = arg;
	struct bufferevent *to = other_side(s, bev);

	if (what & BEV_EVENT_CONNECTED)
		return; /* to the internal listener: what was queued goes out */
	/* An orderly end: what it sent still reaches the other side, then
	 * both close (the HTTP side answers before it closes). */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !s->drain &&
	    evbuffer_get_length(bufferevent_get_output(to)) > 0) {
		s->drain = to;
		bufferevent_disable(s->client, EV_READ);
		bufferevent_disable(s->http, EV_READ);
		return;
	}
	splice_free(s);
}

/* A TCP socket bound to 127.0.0.1 on a port of the kernel's choosing.
 * Returns the fd (and *port) or -1. */
static int internal_socket(uint16_t *port)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&lo, sizeof(lo)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*port = addr_port((struct sockaddr *)&ss);
	return fd;
}

void mux_splice(struct worker *w, struct bufferevent *client, const struct sockaddr_storage *peer)
{
	struct mux *m = w->srv->mux;
	struct mux_splice *s = NULL;
	struct sockaddr_storage internal;
	char ip[ADDR_STRLEN];
	const char *why = "out of memory";
	int fd = -1;

	pthread_mutex_lock(&m->lock);
	internal = m->internal;
	pthread_mutex_unlock(&m->lock);
	/* The HTTP side refuses more than http-max-connections anyway: a
	 * worker never holds more splices than that. */
	if (internal.ss_family == AF_UNSPEC ||
	    w->nsplices >= (size_t)w->srv->conf->http_max_connections) {
		why = "http-max-connections reached";
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->w = w;
	if ((fd = internal_socket(&s->port)) < 0) {
		why = "no socket to the HTTP listener";
		goto fail;
	}
	if (!pending_put(m, s->port, peer)) {
		s->port = 0;
		why = "too many waiting for the HTTP listener";
		goto fail;
	}
	s->http = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!s->http)
		goto fail;
	fd = -1;
	s->client = client;
	client = NULL;
	TAILQ_INSERT_TAIL(&w->splices, s, link);
	w->nsplices++;
	bufferevent_setcb(s->client, splice_read_cb, splice_write_cb, splice_event_cb, s);
	bufferevent_setcb(s->http, splice_read_cb, splice_write_cb, splice_event_cb, s);
	bufferevent_setwatermark(s->client, EV_READ, 0, 0);
	bufferevent_setwatermark(s->client, EV_WRITE, SPLICE_MAX / 2, 0);
	bufferevent_setwatermark(s->http, EV_WRITE, SPLICE_MAX / 2, 0);
	/* The bytes read so far go first, queued until the connect is done. */
	evbuffer_add_buffer(bufferevent_get_output(s->http), bufferevent_get_input(s->client));
	if (bufferevent_socket_connect(s->http, (struct sockaddr *)&internal,
				       (int)addr_len((struct sockaddr *)&internal)) != 0 ||
	    bufferevent_enable(s->http, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_enable(s->client, EV_READ | EV_WRITE) != 0) {
		int e = errno;

		log_rl(&rl_splice, LOG_LVL_WARN,
		       "http: cannot pass a connection from %s to the HTTP listener: %s",
		       addr_format((const struct sockaddr *)peer, false, ip, sizeof(ip)),
		       strerror(e));
		splice_free(s);
		return;
	}
	log_debug("http: a connection from %s on a TURN port goes to the HTTP listener",
		  addr_format((const struct sockaddr *)peer, false, ip, sizeof(ip)));
	return;
fail:
	log_rl(&rl_splice, LOG_LVL_WARN,
	       "http: closed a connection from %s on a TURN port that HTTP shares: %s",
	       addr_format((const struct sockaddr *)peer, false, ip, sizeof(ip)), why);
	if (s && s->port)
		pending_take(m, s->port, NULL);
	free(s);
	if (fd >= 0)
		close(fd);
	if (client)
		bufferevent_free(client);
}

void mux_worker_cleanup(struct worker *w)
{
	while (!TAILQ_EMPTY(&w->splices))
		splice_free(TAILQ_FIRST(&w->splices));
}
