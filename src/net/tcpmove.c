/* tcpmove.c - a client connection moving between workers: an RFC 6062
 * ConnectionBind that reached another worker than the one holding its
 * connection id goes, with its socket, its TLS session and every byte
 * read but not yet handled, to that worker (tcp.c takes it apart and puts
 * it back together, tcprelay.c carries it across).
 *
 * Over TLS the SSL and the socket belong to the connection, not to its
 * OpenSSL bufferevent (made without BEV_OPT_CLOSE_ON_FREE): libevent
 * finalizes a freed bufferevent later, in its own loop, and with
 * BEV_OPT_CLOSE_ON_FREE would then free the SSL and close the socket
 * that another thread already runs. tcp_bev_free releases them. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <unistd.h>

#include "net/net.h"
#include "turnpike/err.h"

/* What a TLS connection's bufferevent leaves behind: freed on the loop's
 * next turn (release_later). */
struct remains {
	SSL *ssl;
	int fd;
};

static void release_cb(evutil_socket_t unused, short what, void *arg)
{
	struct remains *r = arg;
	(void)unused;
	(void)what;

	SSL_free(r->ssl);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

/* libevent may be inside this bufferevent's read callback, which goes on
 * using the SSL after ours returns (SSL_pending in its read loop), and
 * takes the socket out of epoll only when the callback unwinds: the SSL
 * and the socket go on the loop's next turn, when neither is in use. */
static void release_later(struct event_base *base, SSL *ssl, int fd)
{
	static const struct timeval now = {0, 0};
	struct remains *r = malloc(sizeof(*r));

	if (r) {
		r->ssl = ssl;
		r->fd = fd;
		if (event_base_once(base, -1, EV_TIMEOUT, release_cb, r, &now) == 0)
			return;
		free(r);
	}
	/* No memory for the deferral: leak rather than free what may be in
	 * use (counted by nothing; a machine out of memory has worse). */
}

void tcp_bev_free(struct bufferevent *bev)
{
	struct bufferevent *under;
	struct event_base *base;
	SSL *ssl;
	int fd;

	if (!bev)
		return;
	ssl = bufferevent_openssl_get_ssl(bev);
	if (!ssl) {
		bufferevent_free(bev); /* a socket bufferevent: closes its fd */
		return;
	}
	/* TLS is a filter on a socket bufferevent (tcp.c's bev_new, and
	 * behind a PROXY header), which closes the socket when the filter
	 * lets go of it. */
	base = bufferevent_get_base(bev);
	under = bufferevent_get_underlying(bev);
	fd = under ? -1 : (int)bufferevent_getfd(bev);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_free(bev);
	if (under) {
		bufferevent_disable(under, EV_READ | EV_WRITE);
		bufferevent_free(under);
	}
	release_later(base, ssl, fd);
}

void tcp_move_free(struct tcp_move *mv)
{
	if (!mv)
		return;
	if (mv->fd >= 0)
		close(mv->fd);
	SSL_free(mv->ssl);
	if (mv->in)
		evbuffer_free(mv->in);
	if (mv->raw_out)
		evbuffer_free(mv->raw_out);
	free(mv);
}

/* Moves what OpenSSL decrypted but libevent has not read yet (it stops at
 * the input's high watermark with the rest of a record in the SSL) into
 * out. Behind a filter it also decrypts the records the socket
 * bufferevent had read: the filter reads no socket, only those bytes. */
static int ssl_drain(SSL *ssl, bool filter, struct evbuffer *out)
{
	uint8_t buf[4096];
	int n;

	while (SSL_pending(ssl) > 0 || filter) {
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n <= 0)
			break; /* wants more bytes, or the client's close_notify */
		if (evbuffer_add(out, buf, (size_t)n) != 0)
			return TP_ENOMEM;
	}
	ERR_clear_error();
	return 0;
}

struct tcp_move *tcp_move_take(struct bufferevent *bev, const struct sockaddr_storage *peer,
			       const struct sockaddr_storage *local)
{
	struct tcp_move *mv = calloc(1, sizeof(*mv));
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	struct bufferevent *under = ssl ? bufferevent_get_underlying(bev) : NULL;
	struct evbuffer *raw;

	if (!mv)
		return NULL;
	mv->peer = *peer;
	mv->local = *local;
	mv->in = evbuffer_new();
	mv->raw_out = under ? evbuffer_new() : NULL;
	/* The socket bufferevents (TCP, and the one under a TLS filter)
	 * close their socket when finalized: the move takes a duplicate. */
	mv->fd = ssl && !under ? (int)bufferevent_getfd(bev)
			       : dup((int)bufferevent_getfd(under ? under : bev));
	if (!mv->in || (under && !mv->raw_out) || mv->fd < 0)
		goto fail;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (under)
		bufferevent_disable(under, EV_READ | EV_WRITE);
	/* In order: what was read and not handled (the ConnectionBind first),
	 * then what the SSL holds decrypted. */
	if (evbuffer_add_buffer(mv->in, bufferevent_get_input(bev)) != 0 ||
	    (ssl && ssl_drain(ssl, under != NULL, mv->in) != 0))
		goto fail;
	if (under) {
		/* TLS records the filter wrote that the socket has not sent. */
		raw = bufferevent_get_output(under);
		evbuffer_unfreeze(raw, 1);
		if (evbuffer_add_buffer(mv->raw_out, raw) != 0)
			goto fail;
	}
	/* From here the bufferevent lets go of the socket and the SSL. */
	bufferevent_free(bev);
	if (under)
		bufferevent_free(under);
	mv->ssl = ssl;
	mv->filter = under != NULL;
	return mv;
fail:
	/* The connection is not usable any more: the caller closes it. */
	if (ssl && !under)
		mv->fd = -1; /* still the bufferevent's */
	tcp_move_free(mv);
	return NULL;
}

/* Puts data in front of what bev reads next: a socket bufferevent keeps
 * its input's end frozen between reads, OpenSSL's does not. */
static int input_add(struct bufferevent *bev, struct evbuffer *data, bool frozen)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	evbuffer_unfreeze(in, 0);
	rc = evbuffer_add_buffer(in, data);
	if (frozen)
		evbuffer_freeze(in, 0);
	return rc;
}

struct bufferevent *tcp_move_bev(struct event_base *base, struct tcp_move *mv)
{
	struct bufferevent *bev = NULL, *under = NULL;

	if (!mv->ssl) {
		bev = bufferevent_socket_new(base, mv->fd, BEV_OPT_CLOSE_ON_FREE);
		if (!bev)
			return NULL;
		mv->fd = -1;
	} else if (!mv->filter) {
		/* The SSL's socket BIO is on mv->fd already. */
		bev = bufferevent_openssl_socket_new(base, mv->fd, mv->ssl, BUFFEREVENT_SSL_OPEN,
						     0);
		if (!bev)
			return NULL;
		mv->fd = -1;
		mv->ssl = NULL;
	} else {
		under = bufferevent_socket_new(base, mv->fd, BEV_OPT_CLOSE_ON_FREE);
		if (!under)
			return NULL;
		mv->fd = -1;
		if (bufferevent_write_buffer(under, mv->raw_out) != 0)
			goto fail;
		/* A BIO on the new socket bufferevent replaces the old one. */
		bev = bufferevent_openssl_filter_new(base, under, mv->ssl, BUFFEREVENT_SSL_OPEN, 0);
		if (!bev)
			goto fail;
		mv->ssl = NULL;
	}
	if (input_add(bev, mv->in, !under && bufferevent_openssl_get_ssl(bev) == NULL) != 0) {
		tcp_bev_free(bev);
		return NULL;
	}
	return bev;
fail:
	bufferevent_free(under);
	return NULL;
}
