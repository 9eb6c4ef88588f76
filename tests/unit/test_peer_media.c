/* test_peer_media.c - unit tests for src/peer/media.c: two media sessions
 * on one event base, their datagrams carried by in-memory queues the loop
 * delivers (never re-entrantly): the descriptions give the DTLS roles, the
 * handshake keys SRTP, RTP flows both ways for the duration without loss,
 * RTCP gives round-trip times, both end with BYE and close_notify; a forged
 * and a replayed SRTP packet are counted; a wrong fingerprint fails. */
#include <event2/event.h>

#include "check.h"
#include "peer/media.h"
#include "peer/rtp.h"
#include "turnpike/err.h"

#define QMAX 256

struct side {
	struct peer_media *m;
	struct side *other;
	struct event *ev; /* delivers this side's queue to the other */
	struct event_base *base;
	uint8_t q[QMAX][1700];
	size_t qlen[QMAX], n;
	bool done, ok;
	char error[256];
	/* Tampering: copy the nth SRTP packet sent, to replay / forge it. */
	unsigned rtp_out;
	uint8_t kept[1700];
	size_t kept_len;
};

static int side_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct side *s = ctx;
	struct timeval tv = {0, 0};

	if (peer_demux_classify(buf, len) == PEER_DEMUX_RTP && ++s->rtp_out == 10) {
		memcpy(s->kept, buf, len);
		s->kept_len = len;
	}
	if (s->n == QMAX || len > sizeof(s->q[0]))
		return 0;
	memcpy(s->q[s->n], buf, len);
	s->qlen[s->n++] = len;
	evtimer_add(s->ev, &tv);
	return 0;
}

static void side_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct side *s = arg;
	size_t i, n = s->n;
	static uint8_t tmp[QMAX][1700];
	static size_t len[QMAX];

	(void)fd;
	(void)what;
	memcpy(tmp, s->q, n * sizeof(s->q[0]));
	memcpy(len, s->qlen, n * sizeof(len[0]));
	s->n = 0;
	for (i = 0; i < n; i++)
		peer_media_input(s->other->m, tmp[i], len[i]);
}

static void side_done(void *arg, bool ok, const char *error)
{
	struct side *s = arg;

	s->done = true;
	s->ok = ok;
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
	/* Both done: let the last datagrams (BYE, close_notify) arrive. */
	if (s->other->done) {
		struct timeval tv = {0, 200000};
		event_base_loopexit(s->base, &tv);
	}
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* A call: a offers, b answers active; corrupt_fp gives b a wrong
 * fingerprint for a. Runs the loop until both are done (and 200 ms for
 * the last datagrams), at most wait_ms; returns the base for
 * side_end. */
static struct event_base *call(struct side *a, struct side *b, unsigned duration_ms,
			       bool corrupt_fp, unsigned wait_ms)
{
	struct event_base *base = event_base_new();
	struct peer_media_opts o = {.duration_ms = duration_ms};
	struct sdp_desc *da = calloc(1, sizeof(*da)), *db = calloc(1, sizeof(*db));
	struct event *stop;
	struct timeval tv = {wait_ms / 1000, (wait_ms % 1000) * 1000};
	char err[256];

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->other = b;
	b->other = a;
	a->base = b->base = base;
	a->m = peer_media_new(&o, base, err, sizeof(err));
	b->m = peer_media_new(&o, base, err, sizeof(err));
	CHECK(a->m && b->m);
	a->ev = evtimer_new(base, side_deliver, a);
	b->ev = evtimer_new(base, side_deliver, b);
	peer_media_describe(a->m, true, da);
	peer_media_describe(b->m, false, db);
	CHECK_INT(da->setup, SDP_SETUP_ACTPASS);
	CHECK_INT(db->setup, SDP_SETUP_ACTIVE);
	if (corrupt_fp)
		da->fingerprint[5] ^= 0x20;
	CHECK_INT(peer_media_remote(a->m, true, db, err, sizeof(err)), 0);
	CHECK_INT(peer_media_remote(b->m, false, da, err, sizeof(err)), 0);
	CHECK_INT(peer_media_start(a->m, side_send, a, side_done, a), 0);
	CHECK_INT(peer_media_start(b->m, side_send, b, side_done, b), 0);
	stop = evtimer_new(base, stop_cb, base);
	evtimer_add(stop, &tv);
	event_base_dispatch(base);
	event_free(stop);
	event_free(a->ev);
	event_free(b->ev);
	a->ev = b->ev = NULL;
	/* The sessions keep no reference to the base after this. */
	free(da);
	free(db);
	return base;
}

static void side_end(struct side *a, struct side *b, struct event_base *base)
{
	peer_media_free(a->m);
	peer_media_free(b->m);
	event_base_free(base);
}

static void test_call(void)
{
	static struct side a, b;
	struct peer_media_summary sa, sb;
	struct event_base *base;

	/* 1.2 s of 20 ms packets: about 60 each way, SRs at 0.5 and 1 s. */
	base = call(&a, &b, 1200, false, 10000);
	CHECK(a.done && a.ok);
	CHECK(b.done && b.ok);
	peer_media_summary(a.m, &sa);
	peer_media_summary(b.m, &sb);
	CHECK(sa.connected && sb.connected);
	CHECK_STR(sa.profile, "SRTP_AEAD_AES_128_GCM");
	CHECK(sa.fingerprint_ok && sb.fingerprint_ok);
	CHECK(sa.handshake_ms > 0);
	CHECK(sa.sent >= 30 && sa.sent <= 61); /* 60 unless the loop stalls */
	CHECK_INT(sb.received, sa.sent);
	CHECK_INT(sa.received, sb.sent);
	CHECK_INT(sa.lost, 0);
	CHECK_INT(sb.lost, 0);
	CHECK_INT(sa.auth_failures + sb.auth_failures + sa.replays + sb.replays, 0);
	CHECK(sa.rtt_samples >= 1 && sb.rtt_samples >= 1);
	CHECK(sa.rtt_ms >= 0 && sa.rtt_ms < 100);
	CHECK(sa.rtcp_sent >= 3 && sb.rtcp_received >= 3);
	CHECK(sa.peer_closed && sb.peer_closed);
	printf("  call: profile %s, handshake %.1f ms, sent %lu, received %lu, lost %ld, "
	       "jitter %.3f ms, rtt %.3f ms (%u samples)\n",
	       sa.profile, sa.handshake_ms, sa.sent, sa.received, sa.lost, sa.jitter_ms, sa.rtt_ms,
	       sa.rtt_samples);

	/* A replayed and a forged copy of a's 10th packet, at b. */
	CHECK(a.kept_len > 0);
	peer_media_input(b.m, a.kept, a.kept_len);
	/* Forged: a sequence number never seen (so not a replay), the tag of
	 * another packet. */
	{
		uint16_t seq = (uint16_t)((a.kept[2] << 8 | a.kept[3]) + 1000);
		a.kept[2] = (uint8_t)(seq >> 8);
		a.kept[3] = (uint8_t)seq;
	}
	peer_media_input(b.m, a.kept, a.kept_len);
	peer_media_summary(b.m, &sb);
	CHECK_INT(sb.replays, 1);
	CHECK_INT(sb.auth_failures, 1);
	CHECK_INT(sb.received, sa.sent); /* neither counted as media */

	/* The JSON objects. */
	{
		char buf[1024] = "";
		FILE *f = fmemopen(buf, sizeof(buf), "w");
		peer_media_summary_write(&sb, f);
		fclose(f);
		CHECK(strstr(buf, ", \"dtls\": {\"profile\": \"SRTP_AEAD_AES_128_GCM\"") == buf);
		CHECK(strstr(buf, "\"fingerprint_ok\": true") != NULL);
		CHECK(strstr(buf, "\"srtp\": {\"auth_failures\": 1, \"replays\": 1}") != NULL);
		CHECK(strstr(buf, "\"lost\": 0,") != NULL);
	}
	side_end(&a, &b, base);
}

static void test_fingerprint_mismatch(void)
{
	static struct side a, b;
	struct peer_media_summary sa, sb;
	struct event_base *base = call(&a, &b, 300, true, 3000);

	CHECK(b.done && !b.ok);
	CHECK(strstr(b.error, "a=fingerprint") != NULL);
	CHECK(!a.ok); /* a got the alert */
	peer_media_summary(a.m, &sa);
	peer_media_summary(b.m, &sb);
	CHECK(!sb.fingerprint_ok);
	CHECK(!sa.connected && !sb.connected);
	CHECK_INT(sa.sent + sb.sent, 0);
	side_end(&a, &b, base);
}

/* The other side never answers (its datagrams are lost): the handshake
 * deadline fails the call with a clear error, not a silent wait. */
static void test_silent_peer(void)
{
	struct event_base *base = event_base_new();
	struct peer_media_opts o = {.duration_ms = 300, .handshake_ms = 300};
	struct peer_media *a, *b;
	struct sdp_desc *da = calloc(1, sizeof(*da)), *db = calloc(1, sizeof(*db));
	static struct side sa; /* a's sink: nothing is delivered */
	char err[256];

	memset(&sa, 0, sizeof(sa));
	sa.base = base;
	sa.other = &sa;
	sa.ev = evtimer_new(base, stop_cb, base); /* never fires: queue only */
	a = peer_media_new(&o, base, err, sizeof(err));
	b = peer_media_new(&o, base, err, sizeof(err));
	peer_media_describe(a, false, da); /* a answers: active, the client */
	peer_media_describe(b, true, db);
	CHECK_INT(peer_media_remote(a, false, db, err, sizeof(err)), 0);
	CHECK_INT(peer_media_start(a, side_send, &sa, side_done, &sa), 0);
	CHECK(sa.n >= 1); /* the ClientHello, into the void */
	evtimer_del(sa.ev);
	sa.n = 0;
	event_base_dispatch(base); /* ends when a's timers are all done */
	CHECK(sa.done && !sa.ok);
	CHECK(strstr(sa.error, "DTLS: no handshake within 0.3 s") != NULL);
	peer_media_free(a);
	peer_media_free(b);
	event_free(sa.ev);
	event_base_free(base);
	free(da);
	free(db);
}

static void test_remote_errors(void)
{
	struct peer_media_opts o = {.duration_ms = 100};
	struct peer_media *m;
	struct sdp_desc *d = calloc(1, sizeof(*d));
	char err[256];

	m = peer_media_new(&o, NULL, err, sizeof(err));
	CHECK(m != NULL);
	CHECK_INT(peer_media_remote(m, true, d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "a=fingerprint") != NULL);
	peer_media_describe(m, false, d);
	d->setup = SDP_SETUP_ACTPASS; /* an answer may not say actpass */
	CHECK_INT(peer_media_remote(m, true, d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "a=setup") != NULL);
	d->setup = SDP_SETUP_ACTIVE;
	CHECK_INT(peer_media_remote(m, true, d, err, sizeof(err)), 0);
	d->pcmu = false; /* RFC 3551 §6: we send and take PCMU only */
	CHECK_INT(peer_media_remote(m, true, d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "does not offer PCMU") != NULL);
	d->pcmu = true;
	d->nsec = 2; /* the chosen section is data, not audio */
	d->chosen = 1;
	snprintf(d->sec[1].media, sizeof(d->sec[1].media), "application");
	CHECK_INT(peer_media_remote(m, true, d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "no audio section") != NULL);
	peer_media_free(m);
	o.packet_size = 5000;
	CHECK(peer_media_new(&o, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "--packet-size") != NULL);
	peer_media_free(NULL);
	free(d);
}

int main(void)
{
	test_call();
	test_fingerprint_mismatch();
	test_silent_peer();
	test_remote_errors();
	return check_done("test_peer_media");
}
