/* dtls.c - turnpike-peer's DTLS-SRTP endpoint (RFC 5764, RFC 8827): the
 * per-run certificate, the DTLS 1.2 handshake over caller-carried
 * datagrams, the fingerprint check, retransmission timers, the exporter
 * keys and close_notify. See dtls.h. */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "peer/dtls.h"
#include "turnpike/err.h"

#define DEFAULT_MTU 1200
#define DEFAULT_TIMEOUT_MS 1000
#define MAX_TIMEOUT_US (60u * 1000 * 1000) /* RFC 6347 §4.2.4.1 */
/* RFC 5764 §4.1.2: GCM first (RFC 7714 §14.2), AES-CM with an 80-bit tag
 * as the one every WebRTC endpoint supports (RFC 8827 §6.5). */
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp" /* RFC 5764 §4.2 */

struct peer_dtls_cert {
	EVP_PKEY *key;
	X509 *x509;
	uint8_t fp[PEER_DTLS_FP_LEN];
};

struct peer_dtls {
	SSL_CTX *ctx;
	SSL *ssl;  /* owns both BIOs */
	BIO *rbio; /* memory BIO: the datagram being read */
	enum peer_dtls_role role;
	enum peer_dtls_state state;
	const EVP_MD *fp_md;
	uint8_t remote_fp[EVP_MAX_MD_SIZE];
	size_t remote_fp_len;
	bool fp_checked, fp_ok, peer_closed;
	peer_dtls_send_fn send;
	void *send_ctx;
	unsigned initial_us;
	unsigned retransmits;
	struct timespec t_start;
	double handshake_ms;
	char error[200];
};

static BIO_METHOD *out_method;
static pthread_once_t out_once = PTHREAD_ONCE_INIT;

/* --- certificate ----------------------------------------------------- */

/* RFC 8827 §6.5: ECDSA with P-256; a self-signed certificate whose only
 * use is its fingerprint in the SDP. */
int peer_dtls_cert_new(struct peer_dtls_cert **out)
{
	struct peer_dtls_cert *c;
	X509_NAME *name;
	BIGNUM *serial = NULL;
	unsigned fplen = 0;
	int rc = TP_ECRYPTO;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return TP_ENOMEM;
	c->key = EVP_EC_gen("P-256");
	c->x509 = X509_new();
	serial = BN_new();
	if (!c->key || !c->x509 || !serial)
		goto out;
	/* A random 63-bit positive serial (RFC 5280 §4.1.2.2). */
	if (!BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c->x509)))
		goto out;
	if (!X509_set_version(c->x509, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c->x509), -86400L) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c->x509), 30L * 86400L) ||
	    !X509_set_pubkey(c->x509, c->key))
		goto out;
	name = X509_get_subject_name(c->x509);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"turnpike-peer", -1, -1, 0) ||
	    !X509_set_issuer_name(c->x509, name) || !X509_sign(c->x509, c->key, EVP_sha256()))
		goto out;
	if (!X509_digest(c->x509, EVP_sha256(), c->fp, &fplen) || fplen != PEER_DTLS_FP_LEN)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	BN_free(serial);
	peer_dtls_cert_free(c);
	return rc;
}

void peer_dtls_cert_free(struct peer_dtls_cert *c)
{
	if (!c)
		return;
	EVP_PKEY_free(c->key);
	X509_free(c->x509);
	free(c);
}

const uint8_t *peer_dtls_cert_fingerprint(const struct peer_dtls_cert *c)
{
	return c->fp;
}

void peer_dtls_cert_to_sdp(const struct peer_dtls_cert *c, struct sdp_desc *d)
{
	snprintf(d->fingerprint_alg, sizeof(d->fingerprint_alg), "sha-256");
	memcpy(d->fingerprint, c->fp, PEER_DTLS_FP_LEN);
	d->fingerprint_len = PEER_DTLS_FP_LEN;
}

int peer_dtls_fp_format(const uint8_t *fp, size_t len, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;

	if (len == 0 || cap < len * 3)
		return TP_ENOSPC;
	for (i = 0; i < len; i++) {
		if (i)
			buf[n++] = ':';
		buf[n++] = hex[fp[i] >> 4];
		buf[n++] = hex[fp[i] & 15];
	}
	buf[n] = '\0';
	return (int)n;
}

/* RFC 8122 §5 hash names to digests. */
static const EVP_MD *fp_md_by_name(const char *name)
{
	if (!name || !strcasecmp(name, "sha-256"))
		return EVP_sha256();
	if (!strcasecmp(name, "sha-1"))
		return EVP_sha1();
	if (!strcasecmp(name, "sha-384"))
		return EVP_sha384();
	if (!strcasecmp(name, "sha-512"))
		return EVP_sha512();
	return NULL;
}

/* --- roles ------------------------------------------------------------ */

enum sdp_setup peer_dtls_setup_local(bool offerer)
{
	/* RFC 8842 §5.2: an offer MUST say actpass; §5.3: the answer picks,
	 * and active is what browsers pick. */
	return offerer ? SDP_SETUP_ACTPASS : SDP_SETUP_ACTIVE;
}

int peer_dtls_role(enum sdp_setup local, enum sdp_setup remote, enum peer_dtls_role *role)
{
	/* RFC 4145 §4.1: an absent a=setup means active. */
	if (remote == SDP_SETUP_NONE)
		remote = SDP_SETUP_ACTIVE;
	/* RFC 8842 §5: the endpoint that is "active" is the DTLS client; an
	 * offer's actpass takes the role the answer left. */
	if (local == SDP_SETUP_ACTIVE && remote != SDP_SETUP_ACTIVE)
		*role = PEER_DTLS_CLIENT;
	else if (local == SDP_SETUP_PASSIVE && remote != SDP_SETUP_PASSIVE)
		*role = PEER_DTLS_SERVER;
	else if (local == SDP_SETUP_ACTPASS && remote == SDP_SETUP_ACTIVE)
		*role = PEER_DTLS_SERVER;
	else if (local == SDP_SETUP_ACTPASS && remote == SDP_SETUP_PASSIVE)
		*role = PEER_DTLS_CLIENT;
	else
		return TP_EINVAL; /* both active, both passive, or both actpass */
	return 0;
}

/* --- the outgoing BIO ---------------------------------------------------- */

/* Each write is one datagram: hand it to the caller's transport. */
static int out_write(BIO *b, const char *data, int len)
{
	struct peer_dtls *d = BIO_get_data(b);

	if (len <= 0)
		return 0;
	(void)d->send(d->send_ctx, (const uint8_t *)data, (size_t)len);
	return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int out_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void out_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peer dtls");

	if (m && (BIO_meth_set_write(m, out_write) != 1 || BIO_meth_set_ctrl(m, out_ctrl) != 1 ||
		  BIO_meth_set_create(m, out_create) != 1)) {
		BIO_meth_free(m);
		m = NULL;
	}
	out_method = m;
}

/* --- callbacks -------------------------------------------------------- */

/* The certificate is self-signed: what authenticates it is its digest
 * matching the a=fingerprint the signalling carried (RFC 8122 §5, RFC
 * 8827 §6.5); a mismatch aborts the handshake with bad_certificate. */
static int verify_cb(int preverify, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct peer_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	X509 *cert;

	(void)preverify;
	if (!d)
		return 0;
	/* Only the leaf: the chain of a self-signed certificate is itself. */
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;
	cert = X509_STORE_CTX_get_current_cert(xs);
	d->fp_checked = true;
	d->fp_ok = cert && X509_digest(cert, d->fp_md, md, &mdlen) && mdlen == d->remote_fp_len &&
		   CRYPTO_memcmp(md, d->remote_fp, mdlen) == 0;
	if (!d->fp_ok)
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return d->fp_ok ? 1 : 0;
}

/* Retransmission timer (RFC 6347 §4.2.4.1): the first one as configured,
 * then doubling up to 60 s. */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
	struct peer_dtls *d = SSL_get_app_data(ssl);
	unsigned next;

	if (prev_us == 0)
		return d->initial_us;
	next = prev_us > MAX_TIMEOUT_US / 2 ? MAX_TIMEOUT_US : prev_us * 2;
	return next;
}

/* --- the endpoint ------------------------------------------------------ */

static void fail(struct peer_dtls *d, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[120] = "";

	d->state = PEER_DTLS_FAILED;
	if (d->fp_checked && !d->fp_ok) {
		snprintf(d->error, sizeof(d->error),
			 "DTLS: the peer's certificate does not match its a=fingerprint");
	} else if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(d->error, sizeof(d->error), "DTLS %s: %s", what, buf);
	} else {
		snprintf(d->error, sizeof(d->error), "DTLS %s", what);
	}
	ERR_clear_error();
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

struct peer_dtls *peer_dtls_new(const struct peer_dtls_opts *o, char *err, size_t errlen)
{
	struct peer_dtls *d = NULL;
	BIO *wbio = NULL;
	bool rbio_owned = false;

	if (!o->cert || !o->send || !o->remote_fp || o->remote_fp_len == 0 ||
	    o->remote_fp_len > EVP_MAX_MD_SIZE) {
		snprintf(err, errlen, "DTLS: no certificate, transport or remote fingerprint");
		return NULL;
	}
	pthread_once(&out_once, out_method_init);
	d = calloc(1, sizeof(*d));
	if (!d || !out_method)
		goto fail;
	d->fp_md = fp_md_by_name(o->remote_fp_alg);
	if (!d->fp_md || (size_t)EVP_MD_get_size(d->fp_md) != o->remote_fp_len) {
		snprintf(err, errlen, "DTLS: unsupported or malformed a=fingerprint (%.16s)",
			 o->remote_fp_alg ? o->remote_fp_alg : "?");
		free(d);
		return NULL;
	}
	memcpy(d->remote_fp, o->remote_fp, o->remote_fp_len);
	d->remote_fp_len = o->remote_fp_len;
	d->role = o->role;
	d->send = o->send;
	d->send_ctx = o->send_ctx;
	d->initial_us =
		(o->initial_timeout_ms ? o->initial_timeout_ms : DEFAULT_TIMEOUT_MS) * 1000u;

	d->ctx = SSL_CTX_new(DTLS_method());
	if (!d->ctx)
		goto fail;
	/* RFC 8827 §6.5: DTLS 1.2 at least (1.3 is not in OpenSSL 3.0). */
	if (!SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(d->ctx, o->cert->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(d->ctx, o->cert->key) != 1 ||
	    SSL_CTX_set_cipher_list(d->ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
					    "ECDHE-ECDSA-AES256-GCM-SHA384:"
					    "ECDHE-ECDSA-CHACHA20-POLY1305") != 1 ||
	    /* RFC 5764 §4.1.1: use_srtp, 0 means success here. */
	    SSL_CTX_set_tlsext_use_srtp(d->ctx,
					o->srtp_profiles ? o->srtp_profiles : SRTP_PROFILES) != 0)
		goto fail;
	/* Both sides present a certificate: the server asks for the client's
	 * (RFC 8827 §6.5), and each checks the other's in verify_cb. */
	SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_read_ahead(d->ctx, 1);

	d->ssl = SSL_new(d->ctx);
	d->rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(out_method);
	if (!d->ssl || !d->rbio || !wbio)
		goto fail;
	BIO_set_mem_eof_return(d->rbio, -1); /* empty: retry, not EOF */
	BIO_set_data(wbio, d);
	SSL_set_bio(d->ssl, d->rbio, wbio); /* the SSL owns both now */
	wbio = NULL;
	rbio_owned = true;
	SSL_set_app_data(d->ssl, d);
	SSL_set_mtu(d->ssl, (long)(o->mtu ? o->mtu : DEFAULT_MTU));
	DTLS_set_link_mtu(d->ssl, (long)(o->mtu ? o->mtu : DEFAULT_MTU));
	DTLS_set_timer_cb(d->ssl, timer_cb);
	if (d->role == PEER_DTLS_CLIENT)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	return d;
fail:
	snprintf(err, errlen, "DTLS: cannot set up the endpoint (OpenSSL)");
	ERR_clear_error();
	BIO_free(wbio);
	if (d && !rbio_owned)
		BIO_free(d->rbio);
	peer_dtls_free(d);
	return NULL;
}

void peer_dtls_free(struct peer_dtls *d)
{
	if (!d)
		return;
	SSL_free(d->ssl);
	SSL_CTX_free(d->ctx);
	free(d);
}

/* Runs the handshake as far as the datagrams so far allow. */
static int handshake_step(struct peer_dtls *d)
{
	int r = SSL_do_handshake(d->ssl);

	if (r == 1) {
		const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);

		if (!d->fp_checked || !d->fp_ok) {
			fail(d, "the peer's certificate was not checked");
			return TP_ECRYPTO;
		}
		/* RFC 5764 §4.1.2: no common profile means no SRTP keys. */
		if (!p || (p->id != SRTP_AEAD_AES_128_GCM && p->id != SRTP_AES128_CM_SHA1_80)) {
			fail(d, "the peer agreed no SRTP profile (use_srtp)");
			return TP_ECRYPTO;
		}
		d->handshake_ms = ms_since(&d->t_start);
		d->state = PEER_DTLS_CONNECTED;
		return 0;
	}
	switch (SSL_get_error(d->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return 0;
	default:
		fail(d, "handshake failed");
		return TP_ECRYPTO;
	}
}

int peer_dtls_start(struct peer_dtls *d)
{
	clock_gettime(CLOCK_MONOTONIC, &d->t_start);
	if (d->role == PEER_DTLS_SERVER)
		return 0;
	return handshake_step(d);
}

/* Reads the records after the handshake: a retransmitted Finished is
 * answered inside SSL_read, application data has no use here (media goes
 * as SRTP, RFC 5764 §4.1), a close_notify ends the association. */
static int read_records(struct peer_dtls *d)
{
	uint8_t buf[2048];
	int r;

	for (;;) {
		r = SSL_read(d->ssl, buf, sizeof(buf));
		if (r > 0)
			continue;
		switch (SSL_get_error(d->ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			d->peer_closed = true;
			d->state = PEER_DTLS_CLOSED;
			ERR_clear_error();
			return 0;
		default:
			fail(d, "record error");
			return TP_ECRYPTO;
		}
	}
}

int peer_dtls_input(struct peer_dtls *d, const uint8_t *buf, size_t len)
{
	if (d->state == PEER_DTLS_FAILED)
		return TP_ECRYPTO;
	if (d->peer_closed) /* nothing more to read (RFC 5246 §7.2.1) */
		return 0;
	if (len == 0 || len > 65535)
		return 0;
	if (BIO_write(d->rbio, buf, (int)len) != (int)len)
		return TP_ENOMEM;
	if (d->state == PEER_DTLS_HANDSHAKING) {
		int rc = handshake_step(d);
		if (rc != 0 || d->state != PEER_DTLS_CONNECTED)
			goto drain;
	}
	if (read_records(d) != 0)
		return TP_ECRYPTO;
drain:
	/* A datagram is read whole or not at all: never let a stale one
	 * prefix the next. */
	(void)BIO_reset(d->rbio);
	return d->state == PEER_DTLS_FAILED ? TP_ECRYPTO : 0;
}

long peer_dtls_timeout_ms(struct peer_dtls *d)
{
	struct timeval tv;

	if (d->state != PEER_DTLS_HANDSHAKING || !DTLSv1_get_timeout(d->ssl, &tv))
		return -1;
	return (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

int peer_dtls_on_timeout(struct peer_dtls *d)
{
	int r;

	if (d->state != PEER_DTLS_HANDSHAKING)
		return 0;
	r = DTLSv1_handle_timeout(d->ssl);
	if (r < 0) {
		/* OpenSSL gives up after 12 retransmissions. */
		fail(d, "handshake timed out");
		return TP_ETIMEDOUT;
	}
	if (r > 0)
		d->retransmits++;
	return 0;
}

int peer_dtls_close(struct peer_dtls *d)
{
	if (d->state != PEER_DTLS_CONNECTED && d->state != PEER_DTLS_CLOSED)
		return TP_ECLOSED;
	if (!(SSL_get_shutdown(d->ssl) & SSL_SENT_SHUTDOWN))
		(void)SSL_shutdown(d->ssl); /* sends the alert through the BIO */
	ERR_clear_error();
	d->state = PEER_DTLS_CLOSED;
	return 0;
}

enum peer_dtls_state peer_dtls_state(const struct peer_dtls *d)
{
	return d->state;
}

const char *peer_dtls_error(const struct peer_dtls *d)
{
	return d->state == PEER_DTLS_FAILED ? d->error : "";
}

bool peer_dtls_fingerprint_ok(const struct peer_dtls *d)
{
	return d->fp_checked && d->fp_ok;
}

bool peer_dtls_peer_closed(const struct peer_dtls *d)
{
	return d->peer_closed;
}

double peer_dtls_handshake_ms(const struct peer_dtls *d)
{
	return d->handshake_ms;
}

unsigned peer_dtls_retransmits(const struct peer_dtls *d)
{
	return d->retransmits;
}

int peer_dtls_keys(struct peer_dtls *d, struct peer_srtp_keys *k)
{
	uint8_t km[2 * (PEER_SRTP_KEY_LEN + PEER_SRTP_SALT_MAX)];
	const SRTP_PROTECTION_PROFILE *p;
	size_t kl = PEER_SRTP_KEY_LEN, sl, n;
	int rc = TP_ECRYPTO;

	memset(k, 0, sizeof(*k));
	if (d->state != PEER_DTLS_CONNECTED)
		return TP_ECLOSED;
	p = SSL_get_selected_srtp_profile(d->ssl);
	if (!p)
		return TP_ECRYPTO;
	if (p->id == SRTP_AEAD_AES_128_GCM) {
		k->profile = PEER_SRTP_AEAD_AES_128_GCM;
		sl = 12; /* RFC 7714 §12: 96-bit salt */
	} else {
		k->profile = PEER_SRTP_AES128_CM_SHA1_80;
		sl = 14; /* RFC 3711 §8.2: 112-bit salt */
	}
	n = 2 * (kl + sl);
	/* RFC 5764 §4.2: no context; the layout is client_write_SRTP_master_key,
	 * server_write_SRTP_master_key, client salt, server salt. */
	if (SSL_export_keying_material(d->ssl, km, n, EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL,
				       0, 0) != 1) {
		ERR_clear_error();
		goto out;
	}
	k->salt_len = sl;
	memcpy(k->client_key, km, kl);
	memcpy(k->server_key, km + kl, kl);
	memcpy(k->client_salt, km + 2 * kl, sl);
	memcpy(k->server_salt, km + 2 * kl + sl, sl);
	rc = 0;
out:
	OPENSSL_cleanse(km, sizeof(km));
	return rc;
}
