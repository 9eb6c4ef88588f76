/* media.c - turnpike-peer's media session (issue 12): DTLS-SRTP on the
 * selected pair, paced PCMU RTP both ways, RTCP reports for loss, jitter
 * and round-trip time, then BYE and close_notify. See media.h. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peer/media.h"
#include "peer/rtp.h"
#include "peer/srtp.h"
#include "turnpike/err.h"
#include "util/rand.h"

#define EARLY_MAX 8 /* DTLS datagrams kept from before the start */
/* A handshake not done by then has failed: alerts are not retransmitted
 * (RFC 6347 §4.1.2.7), so a lost one must not leave the peer waiting for
 * OpenSSL's twelve doublings. */
#define HANDSHAKE_MS 10000   /* default of opts.handshake_ms */
#define RTCP_EVERY_US 500000 /* RFC 3550 §6.2's reduced minimum allows it */
#define PKT_MAX 1500
#define CNAME "turnpike-peer"

struct peer_media {
	struct peer_media_opts o;
	struct event_base *base;
	struct peer_dtls_cert *cert;
	struct peer_dtls *dtls;
	enum sdp_setup remote_setup;
	char remote_fp_alg[16];
	uint8_t remote_fp[SDP_FINGERPRINT_MAX];
	size_t remote_fp_len;
	bool offerer, have_remote, started, done;
	enum peer_dtls_role role;
	peer_dtls_send_fn send;
	void *send_ctx;
	peer_media_done_fn done_fn;
	void *done_arg;
	struct event *dtls_timer, *rtp_timer, *rtcp_timer, *hs_deadline;
	uint8_t early[EARLY_MAX][PKT_MAX];
	size_t early_len[EARLY_MAX], nearly;

	/* After the handshake. */
	struct peer_srtp srtp;
	bool keyed, sending;
	struct peer_rtp_sender snd;
	struct peer_rtp_recv rcv;
	uint64_t t_media;    /* monotonic µs when RTP started */
	uint32_t ts0;        /* RTP timestamp at t_media */
	uint64_t last_sr_at; /* monotonic µs when the peer's last SR came */
	uint32_t last_sr_mid;
	double rtt_sum;
	unsigned rtt_n;
	unsigned long rtcp_sent, rtcp_received;
};

static uint64_t mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t unix_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static struct timeval tv_us(uint64_t us)
{
	struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
	return tv;
}

struct peer_media *peer_media_new(const struct peer_media_opts *o, struct event_base *base,
				  char *err, size_t errlen)
{
	struct peer_media *m;
	struct peer_rtp_sender probe;

	if (peer_rtp_sender_init(&probe, 0, 0, 0, o->packet_size, o->bitrate) != 0) {
		snprintf(err, errlen,
			 "--packet-size must be 1..1200 bytes and --bitrate give a packet "
			 "every 1 s or less");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->o = *o;
	if (!m->o.handshake_ms)
		m->o.handshake_ms = HANDSHAKE_MS;
	m->base = base;
	if (peer_dtls_cert_new(&m->cert) != 0) {
		snprintf(err, errlen, "cannot make the DTLS certificate (OpenSSL)");
		free(m);
		return NULL;
	}
	peer_rtp_recv_init(&m->rcv, RTP_CLOCK_PCMU);
	return m;
}

void peer_media_free(struct peer_media *m)
{
	if (!m)
		return;
	if (m->dtls_timer)
		event_free(m->dtls_timer);
	if (m->rtp_timer)
		event_free(m->rtp_timer);
	if (m->rtcp_timer)
		event_free(m->rtcp_timer);
	if (m->hs_deadline)
		event_free(m->hs_deadline);
	peer_srtp_cleanup(&m->srtp);
	peer_dtls_free(m->dtls);
	peer_dtls_cert_free(m->cert);
	free(m);
}

void peer_media_describe(const struct peer_media *m, bool offerer, struct sdp_desc *d)
{
	peer_dtls_cert_to_sdp(m->cert, d);
	d->setup = peer_dtls_setup_local(offerer);
	d->pcmu = true; /* sdp_write's audio section: payload type 0 */
}

int peer_media_remote(struct peer_media *m, bool offerer, const struct sdp_desc *d, char *err,
		      size_t errlen)
{
	if (d->fingerprint_len == 0) {
		snprintf(err, errlen, "the remote description has no a=fingerprint (RFC 8122 §5)");
		return TP_EMALFORMED;
	}
	if (peer_dtls_role(peer_dtls_setup_local(offerer), d->setup, &m->role) != 0) {
		snprintf(err, errlen, "the remote a=setup leaves no DTLS role (RFC 8842 §5)");
		return TP_EMALFORMED;
	}
	/* We send and take PCMU only (RFC 3551 §6, payload type 0). */
	if (d->nsec && strcmp(d->sec[d->chosen].media, "audio") != 0) {
		snprintf(err, errlen, "the remote description has no audio section");
		return TP_EMALFORMED;
	}
	if (!d->pcmu) {
		snprintf(err, errlen,
			 "the remote audio section does not offer PCMU (payload type 0)");
		return TP_EMALFORMED;
	}
	m->offerer = offerer;
	m->remote_setup = d->setup;
	snprintf(m->remote_fp_alg, sizeof(m->remote_fp_alg), "%s", d->fingerprint_alg);
	memcpy(m->remote_fp, d->fingerprint, d->fingerprint_len);
	m->remote_fp_len = d->fingerprint_len;
	m->have_remote = true;
	return 0;
}

static void finish(struct peer_media *m, bool ok, const char *error)
{
	if (m->done)
		return;
	m->done = true;
	m->sending = false;
	event_del(m->dtls_timer);
	event_del(m->rtp_timer);
	event_del(m->rtcp_timer);
	event_del(m->hs_deadline);
	m->done_fn(m->done_arg, ok, error);
}

/* --- RTP and RTCP out --------------------------------------------------- */

static void send_protected(struct peer_media *m, uint8_t *buf, size_t len, bool rtcp)
{
	int rc = rtcp ? peer_srtp_protect_rtcp(&m->srtp, buf, &len, PKT_MAX + PEER_SRTP_OVERHEAD)
		      : peer_srtp_protect_rtp(&m->srtp, buf, &len, PKT_MAX + PEER_SRTP_OVERHEAD);
	if (rc == 0)
		(void)m->send(m->send_ctx, buf, len);
}

/* An SR (we send) with a block about the peer's stream once it has
 * started, SDES CNAME, and BYE at the end (RFC 3550 §6.1, §6.6). */
static void rtcp_send(struct peer_media *m, bool bye)
{
	uint8_t buf[PKT_MAX + PEER_SRTP_OVERHEAD];
	struct rtcp_block blk = {0};
	uint64_t now = mono_us();
	uint32_t rtp_ts = m->ts0 + (uint32_t)((now - m->t_media) * RTP_CLOCK_PCMU / 1000000u);
	uint32_t dlsr = 0;
	int n;

	if (m->rcv.started) {
		/* §6.4.1: DLSR in 1/65536 s since the peer's last SR. */
		if (m->last_sr_mid)
			dlsr = (uint32_t)((now - m->last_sr_at) * 65536u / 1000000u);
		peer_rtcp_block_fill(&m->rcv, m->last_sr_mid, dlsr, &blk);
	}
	n = peer_rtcp_build(buf, PKT_MAX, m->snd.ssrc, &m->snd, peer_ntp_from_unix_us(unix_us()),
			    rtp_ts, &blk, m->rcv.started ? 1 : 0, CNAME, bye);
	if (n > 0) {
		send_protected(m, buf, (size_t)n, true);
		m->rtcp_sent++;
	}
}

static void rtcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_media *m = arg;
	struct timeval tv = tv_us(RTCP_EVERY_US);

	(void)fd;
	(void)what;
	if (!m->sending)
		return;
	rtcp_send(m, false);
	evtimer_add(m->rtcp_timer, &tv);
}

/* Paces packets on the start time, not on the previous timer, so the
 * stream does not drift late. At the end: the last RTCP with BYE, then
 * close_notify, then the agent hears we are done. */
static void rtp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_media *m = arg;
	uint8_t buf[PKT_MAX + PEER_SRTP_OVERHEAD];
	uint64_t now = mono_us(), next;
	struct timeval tv;
	int n;

	(void)fd;
	(void)what;
	if (!m->sending)
		return;
	if (now - m->t_media >= (uint64_t)m->o.duration_ms * 1000u) {
		m->sending = false;
		rtcp_send(m, true);
		(void)peer_dtls_close(m->dtls);
		finish(m, true, NULL);
		return;
	}
	n = peer_rtp_sender_next(&m->snd, buf, PKT_MAX);
	if (n > 0)
		send_protected(m, buf, (size_t)n, false);
	next = m->t_media + (uint64_t)m->snd.packets * m->snd.interval_us;
	tv = tv_us(next > now ? next - now : 0);
	evtimer_add(m->rtp_timer, &tv);
}

/* --- DTLS --------------------------------------------------------------- */

static void dtls_arm(struct peer_media *m)
{
	long ms = peer_dtls_timeout_ms(m->dtls);
	struct timeval tv;

	event_del(m->dtls_timer);
	if (ms < 0)
		return;
	tv = tv_us((uint64_t)ms * 1000u);
	evtimer_add(m->dtls_timer, &tv);
}

/* The handshake is done: key SRTP and start both streams. */
static void media_begin(struct peer_media *m)
{
	struct peer_srtp_keys k;
	uint32_t r[3];
	struct timeval tv = tv_us(0);
	int rc;

	rc = peer_dtls_keys(m->dtls, &k);
	if (rc == 0)
		rc = peer_srtp_init(&m->srtp, &k, m->role == PEER_DTLS_CLIENT);
	peer_srtp_keys_wipe(&k);
	if (rc != 0) {
		finish(m, false, "SRTP: cannot key the sessions from DTLS");
		return;
	}
	m->keyed = true;
	/* RFC 3550 §5.1: random SSRC, first sequence number and timestamp. */
	if (rand_bytes(r, sizeof(r)) != 0 ||
	    peer_rtp_sender_init(&m->snd, r[0], (uint16_t)r[1], r[2], m->o.packet_size,
				 m->o.bitrate) != 0) {
		finish(m, false, "RTP: cannot start the stream");
		return;
	}
	m->t_media = mono_us();
	m->ts0 = r[2];
	m->sending = true;
	evtimer_add(m->rtp_timer, &tv);
	tv = tv_us(RTCP_EVERY_US);
	evtimer_add(m->rtcp_timer, &tv);
}

static void dtls_after(struct peer_media *m, int rc)
{
	if (rc != 0 || peer_dtls_state(m->dtls) == PEER_DTLS_FAILED) {
		finish(m, false,
		       peer_dtls_error(m->dtls)[0] ? peer_dtls_error(m->dtls) : "DTLS failed");
		return;
	}
	if (!m->keyed && peer_dtls_state(m->dtls) == PEER_DTLS_CONNECTED) {
		event_del(m->hs_deadline);
		media_begin(m);
	}
	dtls_arm(m);
}

static void dtls_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_media *m = arg;

	(void)fd;
	(void)what;
	if (!m->done)
		dtls_after(m, peer_dtls_on_timeout(m->dtls));
}

static void hs_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_media *m = arg;
	char msg[160];

	(void)fd;
	(void)what;
	if (m->keyed || m->done)
		return;
	snprintf(msg, sizeof(msg),
		 "DTLS: no handshake within %.1f s (%u retransmissions; the peer is silent or "
		 "its alert was lost)",
		 m->o.handshake_ms / 1000.0, peer_dtls_retransmits(m->dtls));
	finish(m, false, msg);
}

int peer_media_start(struct peer_media *m, peer_dtls_send_fn send, void *send_ctx,
		     peer_media_done_fn done, void *done_arg)
{
	struct peer_dtls_opts o = {0};
	struct timeval tv;
	char err[200];
	size_t i;

	if (!m->have_remote || m->started)
		return TP_EINVAL;
	m->send = send;
	m->send_ctx = send_ctx;
	m->done_fn = done;
	m->done_arg = done_arg;
	m->dtls_timer = evtimer_new(m->base, dtls_timer_cb, m);
	m->rtp_timer = evtimer_new(m->base, rtp_cb, m);
	m->rtcp_timer = evtimer_new(m->base, rtcp_cb, m);
	m->hs_deadline = evtimer_new(m->base, hs_deadline_cb, m);
	if (!m->dtls_timer || !m->rtp_timer || !m->rtcp_timer || !m->hs_deadline)
		return TP_ENOMEM;
	o.cert = m->cert;
	o.role = m->role;
	o.remote_fp_alg = m->remote_fp_alg;
	o.remote_fp = m->remote_fp;
	o.remote_fp_len = m->remote_fp_len;
	o.send = send;
	o.send_ctx = send_ctx;
	m->dtls = peer_dtls_new(&o, err, sizeof(err));
	m->started = true;
	if (!m->dtls) {
		finish(m, false, err);
		return 0;
	}
	tv = tv_us((uint64_t)m->o.handshake_ms * 1000u);
	evtimer_add(m->hs_deadline, &tv);
	dtls_after(m, peer_dtls_start(m->dtls));
	/* What came before the pair was selected (a client's first flight). */
	for (i = 0; i < m->nearly && !m->done; i++)
		dtls_after(m, peer_dtls_input(m->dtls, m->early[i], m->early_len[i]));
	m->nearly = 0;
	return 0;
}

/* --- input ------------------------------------------------------------ */

static void srtcp_input(struct peer_media *m, uint8_t *buf, size_t len)
{
	struct rtcp_report rep;
	uint32_t a = peer_ntp_mid(peer_ntp_from_unix_us(unix_us()));
	size_t i;

	if (peer_srtp_unprotect_rtcp(&m->srtp, buf, &len) != 0 ||
	    peer_rtcp_parse(buf, len, &rep) != 0)
		return;
	m->rtcp_received++;
	if (rep.have_sr) {
		m->last_sr_mid = peer_ntp_mid(rep.ntp);
		m->last_sr_at = mono_us();
	}
	/* §6.4.1: the block about our stream gives the round trip. */
	for (i = 0; i < rep.nblocks; i++) {
		double rtt;
		if (rep.blocks[i].ssrc != m->snd.ssrc)
			continue;
		rtt = peer_rtcp_rtt_ms(a, rep.blocks[i].lsr, rep.blocks[i].dlsr);
		if (rtt >= 0) {
			m->rtt_sum += rtt;
			m->rtt_n++;
		}
	}
}

static void srtp_input(struct peer_media *m, uint8_t *buf, size_t len)
{
	struct rtp_hdr h;

	if (peer_srtp_unprotect_rtp(&m->srtp, buf, &len) != 0 || peer_rtp_parse(buf, len, &h) != 0)
		return;
	if (m->rcv.started && h.ssrc != m->rcv.ssrc)
		return; /* one stream per direction */
	peer_rtp_recv_update(&m->rcv, h.ssrc, h.seq, h.ts, mono_us());
}

void peer_media_input(struct peer_media *m, const uint8_t *in, size_t len)
{
	uint8_t buf[PKT_MAX + PEER_SRTP_OVERHEAD];
	enum peer_demux k = peer_demux_classify(in, len);

	if (k == PEER_DEMUX_DTLS) {
		if (!m->started) {
			if (m->nearly < EARLY_MAX && len <= PKT_MAX) {
				memcpy(m->early[m->nearly], in, len);
				m->early_len[m->nearly++] = len;
			}
			return;
		}
		if (!m->dtls)
			return;
		if (m->done) { /* the peer's close_notify, or a retransmission */
			(void)peer_dtls_input(m->dtls, in, len);
			return;
		}
		dtls_after(m, peer_dtls_input(m->dtls, in, len));
		return;
	}
	if ((k != PEER_DEMUX_RTP && k != PEER_DEMUX_RTCP) || !m->keyed || len > PKT_MAX)
		return;
	/* libsrtp works in place: a copy, the caller's buffer is const. */
	memcpy(buf, in, len);
	if (k == PEER_DEMUX_RTCP)
		srtcp_input(m, buf, len);
	else
		srtp_input(m, buf, len);
}

/* --- summary ------------------------------------------------------------ */

void peer_media_summary(const struct peer_media *m, struct peer_media_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->rtt_ms = -1;
	if (!m)
		return;
	s->asked = true;
	if (m->dtls) {
		s->connected = m->keyed;
		s->handshake_ms = peer_dtls_handshake_ms(m->dtls);
		s->fingerprint_ok = peer_dtls_fingerprint_ok(m->dtls);
		s->dtls_retransmits = peer_dtls_retransmits(m->dtls);
		s->peer_closed = peer_dtls_peer_closed(m->dtls);
	}
	if (m->keyed)
		s->profile = peer_srtp_profile_name(m->srtp.profile);
	s->sent = m->snd.packets;
	s->received = m->rcv.received;
	s->lost = peer_rtp_recv_lost(&m->rcv);
	s->jitter_ms = peer_rtp_recv_jitter_ms(&m->rcv);
	if (m->rtt_n) {
		s->rtt_ms = m->rtt_sum / m->rtt_n;
		s->rtt_samples = m->rtt_n;
	}
	s->rtcp_sent = m->rtcp_sent;
	s->rtcp_received = m->rtcp_received;
	s->auth_failures = m->srtp.st.auth_failures;
	s->replays = m->srtp.st.replays;
}

void peer_media_summary_write(const struct peer_media_summary *s, FILE *f)
{
	if (!s->asked)
		return;
	fputs(", \"dtls\": {\"profile\": ", f);
	if (s->profile)
		fprintf(f, "\"%s\"", s->profile);
	else
		fputs("null", f);
	if (s->connected)
		fprintf(f, ", \"handshake_ms\": %.1f", s->handshake_ms);
	else
		fputs(", \"handshake_ms\": null", f);
	fprintf(f, ", \"fingerprint_ok\": %s, \"retransmits\": %u, \"peer_closed\": %s}",
		s->fingerprint_ok ? "true" : "false", s->dtls_retransmits,
		s->peer_closed ? "true" : "false");
	fprintf(f,
		", \"rtp\": {\"sent\": %lu, \"received\": %lu, \"lost\": %ld, \"jitter_ms\": %.3f, "
		"\"rtt_ms\": ",
		s->sent, s->received, s->lost, s->jitter_ms);
	if (s->rtt_samples)
		fprintf(f, "%.3f", s->rtt_ms);
	else
		fputs("null", f);
	fprintf(f, ", \"rtt_samples\": %u, \"rtcp_sent\": %lu, \"rtcp_received\": %lu}",
		s->rtt_samples, s->rtcp_sent, s->rtcp_received);
	fprintf(f, ", \"srtp\": {\"auth_failures\": %lu, \"replays\": %lu}", s->auth_failures,
		s->replays);
}
