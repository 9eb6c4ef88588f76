/* tls.c - TURN over TLS (RFC 8656 §3.1, turns:): the server's SSL_CTX, built
 * once from cert/pkey and swapped (with DTLS's, see dtls.c) on SIGHUP or
 * when the files change on disk, and the per-worker listeners on
 * tls-listening-port. Connections are tcp.c's, with an OpenSSL
 * bufferevent. */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/dtls.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"

/* RFC 7443 §3: the ALPN protocol ids of STUN usages over (D)TLS, ours in
 * order of preference, in the wire format (length-prefixed). */
static const unsigned char alpn_stun[] = "\x09stun.turn\x12stun.nat-discovery";

static __thread struct log_ratelimit rl_alpn = LOG_RATELIMIT_INIT(10, 3);

/* A client's ALPN list (length-prefixed ids) for a log line: the ids,
 * escaped, comma-separated, cut at cap. Returns dst. */
static char *alpn_format(char *dst, size_t cap, const unsigned char *in, unsigned int inlen)
{
	size_t o = 0;

	dst[0] = '\0';
	for (unsigned int i = 0; i < inlen && o + 2 < cap;) {
		unsigned int n = in[i++];

		if (n > inlen - i)
			n = inlen - i; /* OpenSSL checked it; never read past */
		if (o)
			dst[o++] = ',';
		log_escape(dst + o, cap - o, in + i, n);
		o += strlen(dst + o);
		i += n;
	}
	return dst;
}

/*
 * ALPN (RFC 7301) on the server side: stun.turn when the client offers it.
 * A client that offers ALPN but no STUN usage gets the fatal
 * no_application_protocol alert (RFC 7301 §3.2); OpenSSL sends it for
 * SSL_TLSEXT_ERR_ALERT_FATAL. A client that offers no ALPN at all (browsers,
 * coturn's clients) is not asked about and gets TURN.
 */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			  const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;
	char offered[128];
	(void)ssl;
	(void)arg;

	if (SSL_select_next_proto(&sel, outlen, alpn_stun, sizeof(alpn_stun) - 1, in, inlen) ==
	    OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	log_rl(&rl_alpn, LOG_LVL_INFO,
	       "tls: refused a client whose ALPN offer (%s) has no stun.turn (RFC 7443): "
	       "no_application_protocol",
	       alpn_format(offered, sizeof(offered), in, inlen));
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int ctx_protocol(SSL_CTX *ctx, const struct conf *c)
{
	static const unsigned char sid_ctx[] = "turnpike";

	/* No renegotiation, no compression. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
		log_ssl_error("tls", "cannot set the session context", NULL);
		return TP_ECRYPTO;
	}
	if (c->cipher_list && SSL_CTX_set_cipher_list(ctx, c->cipher_list) != 1) {
		log_ssl_error("tls", "cipher-list", c->cipher_list);
		return TP_ECRYPTO;
	}
	if (c->ec_curve_name && SSL_CTX_set1_groups_list(ctx, c->ec_curve_name) != 1) {
		log_ssl_error("tls", "ec-curve-name", c->ec_curve_name);
		return TP_ECRYPTO;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	return 0;
}

static int ctx_keys(SSL_CTX *ctx, const struct conf *c)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		log_ssl_error("tls", "cannot load cert", c->cert);
		return TP_ECRYPTO;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->pkey, SSL_FILETYPE_PEM) != 1) {
		log_ssl_error("tls", "cannot load pkey", c->pkey);
		return TP_ECRYPTO;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_error("tls", "pkey does not match cert", c->pkey);
		return TP_ECRYPTO;
	}
	return 0;
}

/* Client certificates are asked for and verified against CA-file, but not
 * required. */
static int ctx_client_ca(SSL_CTX *ctx, const struct conf *c)
{
	STACK_OF(X509_NAME) * names;

	if (!c->ca_file)
		return 0;
	if (SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
		log_ssl_error("tls", "cannot load CA-file", c->ca_file);
		return TP_ECRYPTO;
	}
	names = SSL_load_client_CA_file(c->ca_file);
	if (!names) {
		log_ssl_error("tls", "no CA certificate in CA-file", c->ca_file);
		return TP_ECRYPTO;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

SSL_CTX *tls_ctx_common(const SSL_METHOD *method, int min_version, int max_version,
			const char *versions, const struct conf *c)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx) {
		log_ssl_error("tls", "cannot create a context", NULL);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
		log_ssl_error("tls", "cannot restrict the protocol to", versions);
		goto fail;
	}
	if (ctx_protocol(ctx, c) != 0 || ctx_keys(ctx, c) != 0 || ctx_client_ca(ctx, c) != 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_ctx_new(const struct conf *c)
{
	/* TLS 1.2 and 1.3 only; 1.3 alone with coturn's no-tlsv1_2. */
	if (c->no_tlsv1_2)
		return tls_ctx_common(TLS_server_method(), TLS1_3_VERSION, TLS1_3_VERSION,
				      "TLS 1.3", c);
	return tls_ctx_common(TLS_server_method(), TLS1_2_VERSION, TLS1_3_VERSION,
			      "TLS 1.2 and 1.3", c);
}

bool tls_enabled(const struct conf *c)
{
	return c->cert && c->pkey && !c->no_tls;
}

int tls_setup(struct server *srv)
{
	const struct conf *c = srv->conf;

	if (!tls_enabled(c))
		return 0;
	srv->tls = tls_ctx_new(c);
	if (!srv->tls)
		return TP_ECRYPTO;
	for (size_t i = 0; i < srv->nlisten; i++) {
		struct sockaddr_storage sa = srv->listen[i];
		addr_set_port((struct sockaddr *)&sa, (uint16_t)c->tls_listening_port);
		if (sock_probe_free((struct sockaddr *)&sa, SOCK_STREAM) != 0)
			return TP_ESYS;
	}
	return 0;
}

/* How often the main thread looks at cert and pkey on disk. */
#define TLS_WATCH_S 2

/* The certificate files as last seen, to reload them when they change. */
struct tls_watch {
	struct server *srv;
	struct event *ev;
	struct stat cert, pkey;
	bool changed; /* at the last look: reload once they hold still */
};

static void look(const char *path, struct stat *st)
{
	if (stat(path, st) != 0)
		memset(st, 0, sizeof(*st));
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void watch_cb(int fd, short what, void *arg)
{
	struct tls_watch *tw = arg;
	const struct conf *c = tw->srv->conf;
	struct stat cert, pkey;
	(void)fd;
	(void)what;

	if (!c->cert || !c->pkey)
		return;
	look(c->cert, &cert);
	look(c->pkey, &pkey);
	/* Renewals write the certificate and the key one after the other:
	 * reload once neither has changed for a whole interval. */
	if (!same_file(&cert, &tw->cert) || !same_file(&pkey, &tw->pkey)) {
		tw->cert = cert;
		tw->pkey = pkey;
		tw->changed = true;
		return;
	}
	if (!tw->changed)
		return;
	log_info("tls: %s or %s changed on disk", c->cert, c->pkey);
	tls_reload(tw->srv);
}

int tls_watch_start(struct server *srv, struct event_base *base)
{
	struct timeval tv = {TLS_WATCH_S, 0};
	struct tls_watch *tw;

	if (!srv->tls && !srv->dtls)
		return 0;
	tw = calloc(1, sizeof(*tw));
	if (!tw)
		goto fail;
	tw->srv = srv;
	look(srv->conf->cert, &tw->cert);
	look(srv->conf->pkey, &tw->pkey);
	tw->ev = event_new(base, -1, EV_PERSIST, watch_cb, tw);
	if (!tw->ev || event_add(tw->ev, &tv) != 0)
		goto fail;
	srv->tls_watch = tw;
	return 0;
fail:
	if (tw && tw->ev)
		event_free(tw->ev);
	free(tw);
	log_err("out of memory watching the certificate files");
	return TP_ENOMEM;
}

void tls_cleanup(struct server *srv)
{
	if (srv->tls_watch) {
		event_free(srv->tls_watch->ev);
		free(srv->tls_watch);
		srv->tls_watch = NULL;
	}
	SSL_CTX_free(srv->tls);
	srv->tls = NULL;
	SSL_CTX_free(srv->dtls);
	srv->dtls = NULL;
	pthread_mutex_destroy(&srv->tls_lock);
}

/* Says which of TLS and DTLS a reload cannot change without a restart.
 * Returns whether the running contexts are to be rebuilt. */
static bool reload_wanted(const struct server *srv)
{
	const struct conf *c = srv->conf;
	bool tls = tls_enabled(c), dtls = dtls_enabled(c);

	if (!srv->tls && tls)
		log_warn("tls: cert and pkey set: TURN over TLS starts after a restart");
	if (srv->tls && !tls)
		log_warn("tls: cert, pkey or no-tls changed: TURN over TLS stops after a restart");
	if (!srv->dtls && dtls)
		log_warn("dtls: cert and pkey set: TURN over DTLS starts after a restart");
	if (srv->dtls && !dtls)
		log_warn("dtls: cert, pkey or no-dtls changed: TURN over DTLS stops after a "
			 "restart");
	return (srv->tls && tls) || (srv->dtls && dtls);
}

void tls_reload(struct server *srv)
{
	const struct conf *c = srv->conf;
	SSL_CTX *tls = NULL, *dtls = NULL, *old_tls, *old_dtls;

	if (!reload_wanted(srv))
		return;
	/* What is loaded now is what the file watch compares with. */
	if (srv->tls_watch) {
		look(c->cert, &srv->tls_watch->cert);
		look(c->pkey, &srv->tls_watch->pkey);
		srv->tls_watch->changed = false;
	}
	if ((srv->tls && tls_enabled(c) && !(tls = tls_ctx_new(c))) ||
	    (srv->dtls && dtls_enabled(c) && !(dtls = dtls_ctx_new(c)))) {
		SSL_CTX_free(tls);
		log_err("tls: reload failed; new connections keep the running certificate");
		return;
	}
	/* Open connections and sessions hold a reference to the context they
	 * began on. */
	pthread_mutex_lock(&srv->tls_lock);
	old_tls = tls ? srv->tls : NULL;
	old_dtls = dtls ? srv->dtls : NULL;
	if (tls)
		srv->tls = tls;
	if (dtls)
		srv->dtls = dtls;
	pthread_mutex_unlock(&srv->tls_lock);
	SSL_CTX_free(old_tls);
	SSL_CTX_free(old_dtls);
	log_info("tls: certificate reloaded from %s", c->cert);
}

SSL *tls_ssl_new(struct server *srv)
{
	SSL *ssl;

	/* SSL_new takes its own reference to the context. */
	pthread_mutex_lock(&srv->tls_lock);
	ssl = SSL_new(srv->tls);
	pthread_mutex_unlock(&srv->tls_lock);
	return ssl;
}

static int listener_open(struct worker *w, const struct sockaddr *sa)
{
	struct tcp_listener *tl = &w->tls[w->ntls];
	int fd = sock_tcp_listen(sa);

	if (fd < 0)
		return TP_ESYS;
	tl->w = w;
	tl->tls = true;
	tl->http = mux_listener_shared(w->srv, sa);
	tl->lev = evconnlistener_new(w->base, tcp_accept_cb, tl,
				     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!tl->lev) {
		close(fd);
		return TP_ENOMEM;
	}
	w->ntls++;
	evconnlistener_set_error_cb(tl->lev, tcp_accept_error_cb);
	tl->retry = evtimer_new(w->base, tcp_retry_cb, tl);
	return tl->retry ? 0 : TP_ENOMEM;
}

int tls_worker_init(struct worker *w)
{
	const struct server *srv = w->srv;

	if (!srv->tls)
		return 0;
	w->tls = calloc(srv->nlisten, sizeof(*w->tls));
	if (!w->tls)
		return TP_ENOMEM;
	for (size_t i = 0; i < srv->nlisten; i++) {
		struct sockaddr_storage sa = srv->listen[i];
		int rc;

		addr_set_port((struct sockaddr *)&sa, (uint16_t)srv->conf->tls_listening_port);
		rc = listener_open(w, (struct sockaddr *)&sa);
		/* The default wildcard :: is skipped quietly without IPv6. */
		if (rc == TP_ESYS && srv->conf->listening_ip.n == 0 && sa.ss_family == AF_INET6 &&
		    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
			continue;
		if (rc != 0)
			return rc;
	}
	return 0;
}

void tls_worker_cleanup(struct worker *w)
{
	for (size_t i = 0; i < w->ntls; i++) {
		if (w->tls[i].retry)
			event_free(w->tls[i].retry);
		evconnlistener_free(w->tls[i].lev);
	}
	free(w->tls);
	w->tls = NULL;
	w->ntls = 0;
}
