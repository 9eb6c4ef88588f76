/* listen.c - the HTTP listener and its connections: binding (or, when
 * http-listen is a TURN port, an internal listener the workers pass HTTP
 * connections to, see net/mux.c); accepting again after running out of
 * descriptors; admitting each connection against http-max-connections,
 * the share of one source (http-max-connections-per-source) and the
 * descriptors TURN needs; and the http-request-timeout deadline of every
 * connection. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "http/http_int.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"

#define HTTP_BACKLOG 128
/* Connections accepted and not yet looked at, at most: accepting pauses
 * until they are, so a burst never holds more descriptors than this. */
#define PENDING_MAX 8
#define SA(ss) ((struct sockaddr *)(ss))

/* One accepted connection. */
struct http_conn {
	struct http_server *h;
	struct bufferevent *bev;         /* referenced until looked at */
	struct evhttp_connection *evcon; /* once admitted */
	struct sockaddr_storage peer;
	struct event *deadline;
	bool no_tls; /* no TLS session could be made for it: close it */
	/* An answer that comes later (admin endpoints): told when the
	 * connection goes first. */
	void (*on_close)(void *arg);
	void *on_close_arg;
	TAILQ_ENTRY(http_conn) link;
};

const char *const http_refusal_name[HTTP_REFUSED_MAX] = {
	[HTTP_REFUSED_FULL] = "full",
	[HTTP_REFUSED_SOURCE] = "source",
	[HTTP_REFUSED_DESCRIPTORS] = "descriptors",
};

static struct log_ratelimit accept_rl = LOG_RATELIMIT_INIT(60, 3);
static struct log_ratelimit refuse_rl[HTTP_REFUSED_MAX] = {
	LOG_RATELIMIT_INIT(10, 3),
	LOG_RATELIMIT_INIT(10, 3),
	LOG_RATELIMIT_INIT(10, 3),
};
static struct log_ratelimit deadline_rl = LOG_RATELIMIT_INIT(10, 3);
static struct log_ratelimit stranger_rl = LOG_RATELIMIT_INIT(10, 3);

/* evhttp_bind_listener makes the evhttp the listener's callback argument,
 * which its error callback then gets too: the servers are found here by
 * their listener instead. Main thread only. */
static struct http_server *servers;

/* ------------------------------------------------------------------ */
/* Descriptors. */

/* The open file limit in force now (someone may change it from outside). */
static size_t nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > SIZE_MAX)
		return SIZE_MAX;
	return (size_t)rl.rlim_cur;
}

/* Whether a connection that got descriptor fd leaves enough for TURN: a
 * new descriptor is the lowest free one, so every one below fd is in use
 * and at most nofile - fd are free. An eighth of them stay TURN's. */
static bool descriptors_left(int fd)
{
	size_t lim = nofile();

	return (size_t)fd < lim - lim / 8;
}

/* The cap in force: http-max-connections, but never more than a quarter
 * of the descriptors, the rest being TURN's. */
static void limits_init(struct http_server *h)
{
	size_t quarter = nofile() / 4;
	size_t cap = (size_t)h->conf->http_max_connections;
	size_t share = (size_t)h->conf->http_max_connections_per_source;

	if (quarter < 1)
		quarter = 1;
	h->conn_limit = cap < quarter ? cap : quarter;
	h->source_limit = share < h->conn_limit ? share : h->conn_limit;
	h->counters.limit = h->conn_limit;
	h->request_timeout.tv_sec = h->conf->http_request_timeout;
	h->request_timeout.tv_usec = 0;
	if (h->conn_limit < cap)
		log_warn("http: at most %zu connections, not %zu (http-max-connections): a "
			 "quarter of the open file limit %zu, the rest is kept for TURN",
			 h->conn_limit, cap, nofile());
}

/* ------------------------------------------------------------------ */
/* Connections. */

static void conn_free(struct http_conn *hc)
{
	if (hc->deadline)
		event_free(hc->deadline);
	free(hc);
}

/* evhttp closes an admitted connection (answered, failed, timed out, or
 * the server stops). */
static void close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *hc = arg;
	struct http_server *h = hc->h;
	(void)evcon;

	if (hc->on_close)
		hc->on_close(hc->on_close_arg);
	srccount_put(h->conns, SA(&hc->peer));
	TAILQ_REMOVE(&h->open, hc, link);
	conn_free(hc);
}

/* The whole request did not arrive in time, however slowly it trickled. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *hc = arg;
	struct http_server *h = hc->h;
	char who[ADDR_STRLEN];
	(void)fd;
	(void)what;

	h->counters.timed_out++;
	log_rl(&deadline_rl, LOG_LVL_WARN,
	       "http: connection from %s closed: no whole request within %ld s "
	       "(http-request-timeout)",
	       addr_format(SA(&hc->peer), true, who, sizeof(who)), (long)h->request_timeout.tv_sec);
	/* close_cb frees hc. */
	evhttp_connection_free(hc->evcon);
}

static void log_refusal(const struct http_server *h, const struct http_conn *hc,
			enum http_refusal why)
{
	char who[ADDR_STRLEN];
	size_t lim = nofile();

	addr_format(SA(&hc->peer), true, who, sizeof(who));
	switch (why) {
	case HTTP_REFUSED_FULL:
		log_rl(&refuse_rl[why], LOG_LVL_WARN,
		       "http: connection from %s refused: %zu connections open, the most "
		       "allowed (http-max-connections)",
		       who, srccount_open(h->conns));
		break;
	case HTTP_REFUSED_SOURCE:
		log_rl(&refuse_rl[why], LOG_LVL_WARN,
		       "http: connection from %s refused: its address holds %zu connections, "
		       "the most allowed (http-max-connections-per-source)",
		       who, srccount_of(h->conns, SA(&hc->peer)));
		break;
	default:
		log_rl(&refuse_rl[why], LOG_LVL_WARN,
		       "http: connection from %s refused: fewer than %zu of the %zu descriptors "
		       "are free, and those are kept for TURN",
		       who, lim / 8, lim);
		break;
	}
}

/* Counts the connection in, or says why not. */
static int admission(struct http_server *h, struct http_conn *hc, int fd)
{
	if (!descriptors_left(fd))
		return HTTP_REFUSED_DESCRIPTORS;
	switch (srccount_take(h->conns, SA(&hc->peer))) {
	case SRCCOUNT_OK:
		return -1;
	case SRCCOUNT_FULL:
		return HTTP_REFUSED_FULL;
	default:
		return HTTP_REFUSED_SOURCE;
	}
}

/*
 * The evhttp connection that owns bev, or NULL when evhttp has let go of it
 * already. libevent offers no way to see a connection between its accept
 * and its first complete request, but evhttp makes its connection the
 * context of its bufferevent's callbacks (as every libevent 2.x does), and
 * bufferevent_free clears them; both are checked against what evhttp says
 * of that connection.
 */
static struct evhttp_connection *connection_of(const struct http_server *h, struct bufferevent *bev)
{
	bufferevent_data_cb readcb = NULL;
	void *ctx = NULL;
	struct evhttp_connection *evcon;

	bufferevent_getcb(bev, &readcb, NULL, NULL, &ctx);
	if (!readcb || !ctx)
		return NULL;
	evcon = ctx;
	if (evhttp_connection_get_bufferevent(evcon) != bev ||
	    evhttp_connection_get_server(evcon) != h->http)
		return NULL;
	return evcon;
}

/* Admits a connection evhttp just accepted, or closes it. */
static void admit(struct http_server *h, struct http_conn *hc)
{
	struct bufferevent *bev = hc->bev;
	struct evhttp_connection *evcon = connection_of(h, bev);
	socklen_t len = sizeof(hc->peer);
	int fd = bufferevent_getfd(bev);
	int why;

	hc->bev = NULL;
	/* evhttp's own reference keeps it while the connection lives. */
	bufferevent_decref(bev);
	if (!evcon)
		goto drop;
	if (fd < 0 || hc->no_tls || getpeername(fd, SA(&hc->peer), &len) != 0) {
		evhttp_connection_free(evcon); /* gone already, or unusable */
		goto drop;
	}
	/* Through a TURN port: the client is the one the worker registered;
	 * anyone else reaching the internal listener is refused. */
	if (h->net->mux_take && !h->net->mux_take(h->net_env, SA(&hc->peer), &hc->peer)) {
		char who[ADDR_STRLEN];

		log_rl(&stranger_rl, LOG_LVL_WARN,
		       "http: connection from %s to the internal listener refused: not passed "
		       "by a worker",
		       addr_format(SA(&hc->peer), true, who, sizeof(who)));
		evhttp_connection_free(evcon);
		goto drop;
	}
	why = admission(h, hc, fd);
	if (why >= 0) {
		h->counters.refused[why]++;
		log_refusal(h, hc, (enum http_refusal)why);
		evhttp_connection_free(evcon);
		goto drop;
	}
	hc->evcon = evcon;
	hc->deadline = evtimer_new(h->base, deadline_cb, hc);
	if (!hc->deadline || evtimer_add(hc->deadline, &h->request_timeout) != 0) {
		srccount_put(h->conns, SA(&hc->peer));
		evhttp_connection_free(evcon);
		goto drop;
	}
	evhttp_connection_set_closecb(evcon, close_cb, hc);
	TAILQ_INSERT_TAIL(&h->open, hc, link);
	return;
drop:
	conn_free(hc);
}

/* Right after the listener's callback: every connection it accepted. */
static void admit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	struct http_conn *hc;
	(void)fd;
	(void)what;

	while ((hc = TAILQ_FIRST(&h->pending)) != NULL) {
		TAILQ_REMOVE(&h->pending, hc, link);
		admit(h, hc);
	}
	/* Paused for a full batch, not for want of descriptors: go on. */
	if (h->npending >= PENDING_MAX && !evtimer_pending(h->accept_retry, NULL))
		evconnlistener_enable(h->lev);
	h->npending = 0;
}

static struct bufferevent *new_bev(struct http_server *h, struct event_base *base, bool *no_tls)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!h->ssl)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(h->ssl);
	bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						   BEV_OPT_CLOSE_ON_FREE)
		  : NULL;
	if (bev) {
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		return bev;
	}
	/* Never plain HTTP on the HTTPS port: closed when looked at. */
	*no_tls = true;
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

/*
 * evhttp asks for the bufferevent of each connection it accepts (TLS or
 * not), before the connection exists; it is looked at once the listener's
 * callback is over. Out of memory here, evhttp makes a plain bufferevent of
 * its own: that connection is then neither counted nor under the deadline,
 * only under the idle timeout.
 */
static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
	struct http_server *h = arg;
	struct http_conn *hc = calloc(1, sizeof(*hc));
	struct bufferevent *bev;

	h->counters.connections++;
	if (!hc)
		return NULL;
	bev = new_bev(h, base, &hc->no_tls);
	if (!bev) {
		free(hc);
		return NULL;
	}
	hc->h = h;
	hc->bev = bev;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&h->pending, hc, link);
	event_active(h->admit, EV_TIMEOUT, 1);
	/* The listener stops its accept loop once disabled. */
	if (++h->npending >= PENDING_MAX)
		evconnlistener_disable(h->lev);
	return bev;
}

/* ------------------------------------------------------------------ */
/* The listener. */

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	(void)fd;
	(void)what;

	evconnlistener_enable(h->lev);
}

static struct http_server *server_of(const struct evconnlistener *lev)
{
	struct http_server *h;

	for (h = servers; h && h->lev != lev; h = h->next)
		;
	return h;
}

/* Out of descriptors (or another accept error): pause accepting for a
 * second instead of spinning, then accept again. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_server *h = server_of(lev);
	struct timeval one_s = {1, 0};
	(void)arg; /* the evhttp: see servers */

	log_rl(&accept_rl, LOG_LVL_WARN, "http: accept: %s; accepting again in 1 s",
	       evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (!h)
		return;
	h->counters.accept_errors++;
	evconnlistener_disable(lev);
	if (evtimer_add(h->accept_retry, &one_s) != 0)
		evconnlistener_enable(lev);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static int bind_listener(struct http_server *h)
{
	struct sockaddr_storage ss, bind;
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t blen = sizeof(bind);
	char name[ADDR_STRLEN];

	if (addr_parse_listen(h->conf->http_listen, &ss) != 0) {
		log_err("http-listen %s: not [IP:]PORT", h->conf->http_listen);
		return TP_ECONFIG;
	}
	addr_format(SA(&ss), true, name, sizeof(name));
	/* A TURN port: the workers accept, and pass HTTP on to 127.0.0.1 at a
	 * port of the kernel's choosing. */
	memcpy(&bind, h->net->mux_take ? SA(&lo) : SA(&ss),
	       h->net->mux_take ? sizeof(lo) : addr_len(SA(&ss)));
	h->lev = evconnlistener_new_bind(h->base, NULL, NULL,
					 LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 HTTP_BACKLOG, SA(&bind), (int)addr_len(SA(&bind)));
	if (!h->lev) {
		log_err("http: cannot listen on %s: %s", name,
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return TP_ESYS;
	}
	if (!evhttp_bind_listener(h->http, h->lev)) {
		evconnlistener_free(h->lev);
		h->lev = NULL;
		return TP_ENOMEM;
	}
	evconnlistener_set_error_cb(h->lev, accept_error_cb);
	if (h->net->mux_internal) {
		char inner[ADDR_STRLEN];

		if (getsockname(evconnlistener_get_fd(h->lev), SA(&bind), &blen) != 0) {
			log_err("http: internal listener: %s", strerror(errno));
			return TP_ESYS;
		}
		h->net->mux_internal(h->net_env, SA(&bind));
		log_info("http: serving %s on %s, shared with TURN (through %s)",
			 h->ssl ? "https" : "http", name,
			 addr_format(SA(&bind), true, inner, sizeof(inner)));
	}
	log_info("http: serving %s on %s (at most %zu connections, %zu per client address)",
		 h->ssl ? "https" : "http", name, h->conn_limit, h->source_limit);
	if (!h->ssl && (h->nkeys || h->srv->userdb) && !is_loopback(SA(&ss)))
		log_warn("http: the credential hook is served without TLS on %s: API keys and "
			 "credentials cross the network in the clear (set http-cert and http-pkey)",
			 name);
	return 0;
}

bool http_listen_peer(const struct http_server *h, const struct evhttp_connection *evcon,
		      struct sockaddr_storage *out)
{
	const struct http_conn *hc;

	TAILQ_FOREACH(hc, &h->open, link)
	{
		if (hc->evcon == evcon) {
			*out = hc->peer;
			return true;
		}
	}
	return false;
}

bool http_listen_on_close(struct http_server *h, const struct evhttp_connection *evcon,
			  void (*fn)(void *arg), void *arg)
{
	struct http_conn *hc;

	TAILQ_FOREACH(hc, &h->open, link)
	{
		if (hc->evcon == evcon) {
			hc->on_close = fn;
			hc->on_close_arg = arg;
			return true;
		}
	}
	return false;
}

int http_listen_init(struct http_server *h)
{
	TAILQ_INIT(&h->pending);
	TAILQ_INIT(&h->open);
	h->next = servers;
	servers = h;
	limits_init(h);
	h->conns = srccount_new(h->conn_limit, h->source_limit);
	h->admit = event_new(h->base, -1, 0, admit_cb, h);
	h->accept_retry = evtimer_new(h->base, accept_retry_cb, h);
	if (!h->conns || !h->admit || !h->accept_retry)
		return TP_ENOMEM;
	evhttp_set_bevcb(h->http, bev_cb, h);
	return bind_listener(h);
}

void http_listen_cleanup(struct http_server *h)
{
	struct http_server **p;
	struct http_conn *hc;

	for (p = &servers; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			break;
		}
	}
	while ((hc = TAILQ_FIRST(&h->pending)) != NULL) {
		TAILQ_REMOVE(&h->pending, hc, link);
		bufferevent_decref(hc->bev);
		conn_free(hc);
	}
	/* evhttp_free closed the admitted ones (close_cb); none should be left. */
	while ((hc = TAILQ_FIRST(&h->open)) != NULL) {
		TAILQ_REMOVE(&h->open, hc, link);
		conn_free(hc);
	}
	if (h->admit)
		event_free(h->admit);
	if (h->accept_retry)
		event_free(h->accept_retry);
	srccount_free(h->conns);
}
