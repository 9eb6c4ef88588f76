/* test_peer_dtls.c - unit tests for src/peer/dtls.c: two DTLS-SRTP
 * endpoints handshake through in-memory datagram queues in both role
 * combinations, agree on keys that key SRTP both ways, retransmit a lost
 * flight on the timer, refuse a certificate that does not match the
 * fingerprint, and close with close_notify. */
#include <time.h>

#include "check.h"
#include "peer/dtls.h"
#include "peer/rtp.h"
#include "peer/srtp.h"
#include "turnpike/err.h"

#define QMAX 64

/* The datagrams one endpoint sent and the other has not read yet. */
struct link {
	uint8_t buf[QMAX][2048];
	size_t len[QMAX];
	size_t n;
	unsigned sent, drop, first_byte_bad;
};

static int link_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct link *l = ctx;

	l->sent++;
	/* Every DTLS datagram starts with a record's content type, 20..63
	 * (RFC 7983 §7). */
	if (peer_demux_classify(buf, len) != PEER_DEMUX_DTLS)
		l->first_byte_bad++;
	if (l->drop) {
		l->drop--;
		return 0;
	}
	if (l->n == QMAX || len > sizeof(l->buf[0]))
		return 0;
	memcpy(l->buf[l->n], buf, len);
	l->len[l->n++] = len;
	return 0;
}

/* Delivers what is queued on l to d; returns how many datagrams. */
static size_t link_deliver(struct link *l, struct peer_dtls *d)
{
	size_t i, n = l->n;
	uint8_t tmp[QMAX][2048];
	size_t len[QMAX];

	/* d may answer into the other queue while we read this one. */
	memcpy(tmp, l->buf, sizeof(tmp));
	memcpy(len, l->len, sizeof(len));
	l->n = 0;
	for (i = 0; i < n; i++)
		(void)peer_dtls_input(d, tmp[i], len[i]);
	return n;
}

/* Runs both queues until neither has anything (bounded). */
static void pump(struct peer_dtls *a, struct link *la, struct peer_dtls *b, struct link *lb)
{
	int i;

	for (i = 0; i < 50; i++)
		if (link_deliver(la, b) + link_deliver(lb, a) == 0)
			break;
}

struct pair {
	struct peer_dtls_cert *ca, *cb;
	struct link la, lb; /* la: what a sent, lb: what b sent */
	struct peer_dtls *a, *b;
	char err[200];
};

/* a and b with the given roles; each expects the other's real fingerprint
 * unless wrong_a / wrong_b says it holds a different certificate's. */
static void pair_new(struct pair *p, enum peer_dtls_role ra, enum peer_dtls_role rb,
		     bool wrong_at_a, bool wrong_at_b, const char *profiles_a)
{
	struct peer_dtls_cert *other = NULL;
	struct peer_dtls_opts oa = {0}, ob = {0};

	memset(p, 0, sizeof(*p));
	CHECK_INT(peer_dtls_cert_new(&p->ca), 0);
	CHECK_INT(peer_dtls_cert_new(&p->cb), 0);
	CHECK_INT(peer_dtls_cert_new(&other), 0);
	oa.cert = p->ca;
	oa.role = ra;
	oa.remote_fp_alg = "sha-256";
	oa.remote_fp = peer_dtls_cert_fingerprint(wrong_at_a ? other : p->cb);
	oa.remote_fp_len = PEER_DTLS_FP_LEN;
	oa.send = link_send;
	oa.send_ctx = &p->la;
	oa.initial_timeout_ms = 20;
	oa.srtp_profiles = profiles_a;
	ob = oa;
	ob.cert = p->cb;
	ob.role = rb;
	ob.remote_fp = peer_dtls_cert_fingerprint(wrong_at_b ? other : p->ca);
	ob.send_ctx = &p->lb;
	ob.srtp_profiles = NULL;
	p->a = peer_dtls_new(&oa, p->err, sizeof(p->err));
	p->b = peer_dtls_new(&ob, p->err, sizeof(p->err));
	CHECK(p->a != NULL);
	CHECK(p->b != NULL);
	peer_dtls_cert_free(other);
}

static void pair_free(struct pair *p)
{
	peer_dtls_free(p->a);
	peer_dtls_free(p->b);
	peer_dtls_cert_free(p->ca);
	peer_dtls_cert_free(p->cb);
}

static void test_cert(void)
{
	struct peer_dtls_cert *c1 = NULL, *c2 = NULL;
	struct sdp_desc d;
	char text[PEER_DTLS_FP_TEXT], buf[4096];
	static const uint8_t fp[3] = {0x0a, 0xb1, 0xff};

	CHECK_INT(peer_dtls_cert_new(&c1), 0);
	CHECK_INT(peer_dtls_cert_new(&c2), 0);
	/* A fresh key and certificate each time. */
	CHECK(memcmp(peer_dtls_cert_fingerprint(c1), peer_dtls_cert_fingerprint(c2),
		     PEER_DTLS_FP_LEN) != 0);
	CHECK_INT(peer_dtls_fp_format(fp, 3, text, sizeof(text)), 8);
	CHECK_STR(text, "0A:B1:FF");
	CHECK_INT(peer_dtls_fp_format(fp, 3, text, 8), TP_ENOSPC);
	CHECK_INT(peer_dtls_fp_format(peer_dtls_cert_fingerprint(c1), PEER_DTLS_FP_LEN, text,
				      sizeof(text)),
		  95);

	/* Into sdp.h's struct and through the SDP writer and parser. */
	memset(&d, 0, sizeof(d));
	snprintf(d.ufrag, sizeof(d.ufrag), "abcd");
	snprintf(d.pwd, sizeof(d.pwd), "abcdefghijklmnopqrstuvwx");
	d.setup = peer_dtls_setup_local(true);
	peer_dtls_cert_to_sdp(c1, &d);
	CHECK(sdp_write(&d, 1, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, text) != NULL);
	CHECK(strstr(buf, "a=fingerprint:sha-256 ") != NULL);
	CHECK(strstr(buf, "a=setup:actpass") != NULL);
	{
		struct sdp_desc back;
		char err[128];
		CHECK_INT(sdp_parse(buf, strlen(buf), &back, err, sizeof(err)), 0);
		CHECK_INT(back.fingerprint_len, PEER_DTLS_FP_LEN);
		CHECK_MEM(back.fingerprint, peer_dtls_cert_fingerprint(c1), PEER_DTLS_FP_LEN);
	}
	peer_dtls_cert_free(c1);
	peer_dtls_cert_free(c2);
	peer_dtls_cert_free(NULL);
}

static void test_roles(void)
{
	enum peer_dtls_role r = PEER_DTLS_SERVER;

	CHECK_INT(peer_dtls_setup_local(true), SDP_SETUP_ACTPASS);
	CHECK_INT(peer_dtls_setup_local(false), SDP_SETUP_ACTIVE);
	/* RFC 8842 §5: the active end is the client. */
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTPASS, SDP_SETUP_ACTIVE, &r), 0);
	CHECK_INT(r, PEER_DTLS_SERVER);
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTIVE, SDP_SETUP_ACTPASS, &r), 0);
	CHECK_INT(r, PEER_DTLS_CLIENT);
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTPASS, SDP_SETUP_PASSIVE, &r), 0);
	CHECK_INT(r, PEER_DTLS_CLIENT);
	CHECK_INT(peer_dtls_role(SDP_SETUP_PASSIVE, SDP_SETUP_ACTPASS, &r), 0);
	CHECK_INT(r, PEER_DTLS_SERVER);
	/* RFC 4145 §4.1: no a=setup in the answer is active. */
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTPASS, SDP_SETUP_NONE, &r), 0);
	CHECK_INT(r, PEER_DTLS_SERVER);
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTIVE, SDP_SETUP_ACTIVE, &r), TP_EINVAL);
	CHECK_INT(peer_dtls_role(SDP_SETUP_PASSIVE, SDP_SETUP_PASSIVE, &r), TP_EINVAL);
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTPASS, SDP_SETUP_ACTPASS, &r), TP_EINVAL);
	CHECK_INT(peer_dtls_role(SDP_SETUP_ACTIVE, SDP_SETUP_NONE, &r), TP_EINVAL);
}

/* SRTP keyed from each side's exporter: a packet each way. */
static void srtp_both_ways(struct peer_dtls *client, struct peer_dtls *server)
{
	struct peer_srtp_keys kc, ks;
	struct peer_srtp sc, ss;
	struct peer_rtp_sender snd;
	uint8_t pkt[256 + PEER_SRTP_OVERHEAD], plain[256];
	size_t len;
	int n;

	CHECK_INT(peer_dtls_keys(client, &kc), 0);
	CHECK_INT(peer_dtls_keys(server, &ks), 0);
	CHECK_INT(peer_srtp_init(&sc, &kc, true), 0);
	CHECK_INT(peer_srtp_init(&ss, &ks, false), 0);
	CHECK_INT(peer_rtp_sender_init(&snd, 0x1234, 1, 1000, 0, 0), 0);
	n = peer_rtp_sender_next(&snd, plain, sizeof(plain));
	CHECK_INT(n, 172);
	memcpy(pkt, plain, (size_t)n);
	len = (size_t)n;
	CHECK_INT(peer_srtp_protect_rtp(&sc, pkt, &len, sizeof(pkt)), 0);
	CHECK(len > (size_t)n);
	CHECK_INT(peer_srtp_unprotect_rtp(&ss, pkt, &len), 0);
	CHECK_INT(len, n);
	CHECK_MEM(pkt, plain, (size_t)n);
	memcpy(pkt, plain, (size_t)n);
	len = (size_t)n;
	CHECK_INT(peer_srtp_protect_rtp(&ss, pkt, &len, sizeof(pkt)), 0);
	CHECK_INT(peer_srtp_unprotect_rtp(&sc, pkt, &len), 0);
	CHECK_MEM(pkt, plain, (size_t)n);
	CHECK_INT(sc.st.auth_failures + ss.st.auth_failures, 0);
	peer_srtp_cleanup(&sc);
	peer_srtp_cleanup(&ss);
	peer_srtp_keys_wipe(&kc);
	peer_srtp_keys_wipe(&ks);
}

/* Handshake with a as ra; both sides connected, same keys. */
static void handshake(enum peer_dtls_role ra, const char *profiles_a, enum peer_srtp_profile want)
{
	struct pair p;
	struct peer_srtp_keys ka, kb;
	struct peer_dtls *client, *server;

	pair_new(&p, ra, ra == PEER_DTLS_CLIENT ? PEER_DTLS_SERVER : PEER_DTLS_CLIENT, false, false,
		 profiles_a);
	CHECK_INT(peer_dtls_keys(p.a, &ka), TP_ECLOSED); /* not yet */
	CHECK_INT(peer_dtls_start(p.a), 0);
	CHECK_INT(peer_dtls_start(p.b), 0);
	pump(p.a, &p.la, p.b, &p.lb);
	CHECK_INT(peer_dtls_state(p.a), PEER_DTLS_CONNECTED);
	CHECK_INT(peer_dtls_state(p.b), PEER_DTLS_CONNECTED);
	CHECK_STR(peer_dtls_error(p.a), "");
	CHECK(peer_dtls_fingerprint_ok(p.a));
	CHECK(peer_dtls_fingerprint_ok(p.b));
	CHECK(peer_dtls_handshake_ms(p.a) > 0);
	CHECK(peer_dtls_handshake_ms(p.b) > 0);
	CHECK_INT(p.la.first_byte_bad + p.lb.first_byte_bad, 0);
	CHECK(p.la.sent >= 2 && p.lb.sent >= 1);
	CHECK_INT(peer_dtls_timeout_ms(p.a), -1); /* no timer once done */

	/* RFC 5764 §4.2: both computed the same material. */
	CHECK_INT(peer_dtls_keys(p.a, &ka), 0);
	CHECK_INT(peer_dtls_keys(p.b, &kb), 0);
	CHECK_INT(ka.profile, want);
	CHECK_INT(kb.profile, want);
	CHECK_INT(ka.salt_len, want == PEER_SRTP_AEAD_AES_128_GCM ? 12 : 14);
	CHECK(memcmp(&ka, &kb, sizeof(ka)) == 0);
	CHECK(memcmp(ka.client_key, ka.server_key, PEER_SRTP_KEY_LEN) != 0);
	client = ra == PEER_DTLS_CLIENT ? p.a : p.b;
	server = ra == PEER_DTLS_CLIENT ? p.b : p.a;
	srtp_both_ways(client, server);

	/* close_notify from one side closes the other. */
	CHECK_INT(peer_dtls_close(p.a), 0);
	CHECK(!peer_dtls_peer_closed(p.b));
	pump(p.a, &p.la, p.b, &p.lb);
	CHECK(peer_dtls_peer_closed(p.b));
	CHECK_INT(peer_dtls_state(p.b), PEER_DTLS_CLOSED);
	CHECK_INT(peer_dtls_keys(p.b, &kb), TP_ECLOSED);
	pair_free(&p);
}

static void test_handshake(void)
{
	/* The offerer (actpass) is the server when the answer says active,
	 * the client when it says passive. */
	handshake(PEER_DTLS_SERVER, NULL, PEER_SRTP_AEAD_AES_128_GCM);
	handshake(PEER_DTLS_CLIENT, NULL, PEER_SRTP_AEAD_AES_128_GCM);
	/* A side that only offers AES-CM gets AES-CM. */
	handshake(PEER_DTLS_CLIENT, "SRTP_AES128_CM_SHA1_80", PEER_SRTP_AES128_CM_SHA1_80);
	handshake(PEER_DTLS_SERVER, "SRTP_AES128_CM_SHA1_80", PEER_SRTP_AES128_CM_SHA1_80);
}

/* The checking side fails with the fingerprint error; the other does not
 * connect (it gets the alert). */
static void mismatch(bool at_client)
{
	struct pair p;
	struct peer_dtls *checker;

	pair_new(&p, PEER_DTLS_CLIENT, PEER_DTLS_SERVER, at_client, !at_client, NULL);
	checker = at_client ? p.a : p.b;
	CHECK_INT(peer_dtls_start(p.a), 0);
	CHECK_INT(peer_dtls_start(p.b), 0);
	pump(p.a, &p.la, p.b, &p.lb);
	CHECK_INT(peer_dtls_state(checker), PEER_DTLS_FAILED);
	CHECK(strstr(peer_dtls_error(checker), "a=fingerprint") != NULL);
	CHECK(!peer_dtls_fingerprint_ok(checker));
	CHECK(peer_dtls_state(at_client ? p.b : p.a) != PEER_DTLS_CONNECTED);
	CHECK_INT(peer_dtls_input(checker, (const uint8_t *)"\x16\xfe\xfd", 3), TP_ECRYPTO);
	pair_free(&p);
}

static void test_fingerprint_mismatch(void)
{
	mismatch(true);
	mismatch(false);
}

static void test_bad_opts(void)
{
	struct peer_dtls_cert *c = NULL;
	struct peer_dtls_opts o = {0};
	char err[200] = "";
	static const uint8_t fp[20] = {1};

	CHECK_INT(peer_dtls_cert_new(&c), 0);
	o.cert = c;
	o.send = link_send;
	o.remote_fp = fp;
	o.remote_fp_len = 20;
	o.remote_fp_alg = "md5";
	CHECK(peer_dtls_new(&o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "fingerprint") != NULL);
	o.remote_fp_alg = "sha-256"; /* 20 bytes is not a SHA-256 digest */
	CHECK(peer_dtls_new(&o, err, sizeof(err)) == NULL);
	o.remote_fp_alg = "sha-1";
	struct peer_dtls *d = peer_dtls_new(&o, err, sizeof(err));
	CHECK(d != NULL);
	peer_dtls_free(d);
	peer_dtls_free(NULL);
	peer_dtls_cert_free(c);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The first ClientHello is lost: the client's timer resends it. */
static void test_retransmit(void)
{
	struct pair p;
	long ms;
	int i;

	pair_new(&p, PEER_DTLS_CLIENT, PEER_DTLS_SERVER, false, false, NULL);
	p.la.drop = 1;
	CHECK_INT(peer_dtls_timeout_ms(p.a), -1);
	CHECK_INT(peer_dtls_start(p.a), 0);
	CHECK_INT(peer_dtls_start(p.b), 0);
	CHECK_INT(p.la.sent, 1);
	CHECK_INT(p.la.n, 0);
	ms = peer_dtls_timeout_ms(p.a);
	CHECK(ms > 0 && ms <= 20);
	CHECK_INT(peer_dtls_timeout_ms(p.b), -1); /* a server waits */
	for (i = 0; i < 10 && peer_dtls_state(p.a) == PEER_DTLS_HANDSHAKING && p.la.n == 0; i++) {
		ms = peer_dtls_timeout_ms(p.a);
		if (ms > 0)
			sleep_ms(ms);
		CHECK_INT(peer_dtls_on_timeout(p.a), 0);
	}
	CHECK_INT(peer_dtls_retransmits(p.a), 1);
	CHECK_INT(p.la.n, 1);
	/* The second timeout doubles (RFC 6347 §4.2.4.1). */
	ms = peer_dtls_timeout_ms(p.a);
	CHECK(ms > 20 && ms <= 40);
	pump(p.a, &p.la, p.b, &p.lb);
	CHECK_INT(peer_dtls_state(p.a), PEER_DTLS_CONNECTED);
	CHECK_INT(peer_dtls_state(p.b), PEER_DTLS_CONNECTED);
	pair_free(&p);
}

int main(void)
{
	test_cert();
	test_roles();
	test_handshake();
	test_fingerprint_mismatch();
	test_bad_opts();
	test_retransmit();
	return check_done("test_peer_dtls");
}
