/* tcpmove.c - a client connection moving between workers: an RFC 6062
 * ConnectionBind that reached another worker than the one holding its
 * connection id goes, with its socket, its TLS session and every byte
 * read but not yet handled, to that worker (tcp.c takes it apart and puts
 * it back together, tcprelay.c carries it across).
 *
 * A TLS connection is an OpenSSL filter over a socket bufferevent (tcp.c's
 * bev_new, start_tls_after), made without BEV_OPT_CLOSE_ON_FREE: the SSL
 * belongs to the connection, not to the filter. libevent finalizes a freed
 * bufferevent later, in its own loop, and would then free an SSL that
 * another worker already runs; tcp_bev_free releases it. The socket is the
 * socket bufferevent's, which closes it when freed: a move takes a
 * duplicate. */
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

static void release_cb(evutil_socket_t unused, short what, void *ssl)
{
	(void)unused;
	(void)what;
	SSL_free(ssl);
}

/* libevent may be inside this bufferevent's read callback, which goes on
 * using the SSL after ours returns (SSL_pending in its read loop): the SSL
 * goes on the loop's next turn, when it is not in use. */
static void release_later(struct event_base *base, SSL *ssl)
{
	static const struct timeval now = {0, 0};

	/* Without memory for the deferral: leak rather than free what may be
	 * in use (a machine out of memory has worse). */
	(void)event_base_once(base, -1, EV_TIMEOUT, release_cb, ssl, &now);
}

void tcp_bev_free(struct bufferevent *bev)
{
	struct bufferevent *under;
	struct event_base *base;
	SSL *ssl;

	if (!bev)
		return;
	ssl = bufferevent_openssl_get_ssl(bev);
	under = ssl ? bufferevent_get_underlying(bev) : NULL;
	base = bufferevent_get_base(bev);
	/* The filter first, then the socket bufferevent under it, which
	 * closes the socket. */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_free(bev);
	if (under) {
		bufferevent_disable(under, EV_READ | EV_WRITE);
		bufferevent_free(under);
	}
	if (ssl)
		release_later(base, ssl);
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

/* Moves into out what the SSL can still decrypt: what it holds decrypted
 * but libevent has not read (it stops at the input's high watermark with
 * the rest of a record in the SSL), and the records the socket bufferevent
 * had read, which the filter's BIO still has. */
static int ssl_drain(SSL *ssl, struct evbuffer *out)
{
	uint8_t buf[4096];
	int n;

	while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
		if (evbuffer_add(out, buf, (size_t)n) != 0)
			return TP_ENOMEM;
	/* n <= 0: it wants more bytes, or the client's close_notify came. */
	ERR_clear_error();
	return 0;
}

struct tcp_move *tcp_move_take(struct bufferevent *bev, const struct sockaddr_storage *peer,
			       const struct sockaddr_storage *local)
{
	struct tcp_move *mv = calloc(1, sizeof(*mv));
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	struct bufferevent *sock = ssl ? bufferevent_get_underlying(bev) : bev;
	struct evbuffer *raw;

	if (!mv)
		return NULL;
	mv->peer = *peer;
	mv->local = *local;
	mv->in = evbuffer_new();
	mv->raw_out = ssl ? evbuffer_new() : NULL;
	mv->fd = sock ? dup((int)bufferevent_getfd(sock)) : -1;
	if (!mv->in || (ssl && !mv->raw_out) || mv->fd < 0)
		goto fail;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (ssl)
		bufferevent_disable(sock, EV_READ | EV_WRITE);
	/* In order: what was read and not handled (the ConnectionBind first),
	 * then what the SSL can still decrypt. */
	if (evbuffer_add_buffer(mv->in, bufferevent_get_input(bev)) != 0 ||
	    (ssl && ssl_drain(ssl, mv->in) != 0))
		goto fail;
	if (ssl) {
		/* TLS records the filter wrote that the socket has not sent. */
		raw = bufferevent_get_output(sock);
		evbuffer_unfreeze(raw, 1);
		if (evbuffer_add_buffer(mv->raw_out, raw) != 0)
			goto fail;
	}
	/* From here the bufferevents let go of the SSL and close their copy
	 * of the socket. */
	bufferevent_free(bev);
	if (ssl)
		bufferevent_free(sock);
	mv->ssl = ssl;
	return mv;
fail:
	/* The connection is not usable any more: the caller closes it. */
	tcp_move_free(mv);
	return NULL;
}

/* Puts data in front of what bev reads next: a socket bufferevent keeps
 * its input's end frozen between reads, OpenSSL's filter does not. */
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
	struct bufferevent *bev, *sock;

	sock = bufferevent_socket_new(base, mv->fd, BEV_OPT_CLOSE_ON_FREE);
	if (!sock)
		return NULL;
	mv->fd = -1;
	bev = sock;
	if (mv->ssl) {
		if (bufferevent_write_buffer(sock, mv->raw_out) != 0)
			goto fail;
		/* A BIO on the new socket bufferevent replaces the old one. */
		bev = bufferevent_openssl_filter_new(base, sock, mv->ssl, BUFFEREVENT_SSL_OPEN, 0);
		if (!bev)
			goto fail;
		mv->ssl = NULL;
	}
	if (input_add(bev, mv->in, bev == sock) != 0) {
		tcp_bev_free(bev);
		return NULL;
	}
	return bev;
fail:
	bufferevent_free(sock);
	return NULL;
}
