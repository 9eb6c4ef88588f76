/* rtp.c - turnpike-peer's RTP side (issue 12): the RFC 7983 demultiplexer,
 * G.711 µ-law, RTP header parsing, the tone sender and RFC 3550's receive
 * statistics (A.1 sequence tracking, A.3 loss, A.8 jitter). RTCP is in
 * rtcp.c. */
#include <string.h>

#include "peer/rtp.h"
#include "turnpike/err.h"
#include "turnpike/wire.h"

/* --- demultiplexing ----------------------------------------------------- */

enum peer_demux peer_demux_classify(const uint8_t *buf, size_t len)
{
	uint8_t b;

	if (len == 0)
		return PEER_DEMUX_DROP;
	b = buf[0];
	/* RFC 7983 §7: the first byte decides. */
	if (b <= 3)
		return len >= 20 ? PEER_DEMUX_STUN : PEER_DEMUX_DROP;
	if (b >= 20 && b <= 63)
		return len >= 13 ? PEER_DEMUX_DTLS : PEER_DEMUX_DROP; /* record header */
	if (b >= 128 && b <= 191) {
		if (len < 2)
			return PEER_DEMUX_DROP;
		/* RFC 5761 §4: with rtcp-mux, RTCP packet types 192..223 occupy
		 * the octet where RTP has marker bit and payload type; RTP may
		 * not use payload types 64..95 for that reason. */
		if (buf[1] >= 192 && buf[1] <= 223)
			return len >= 8 ? PEER_DEMUX_RTCP : PEER_DEMUX_DROP;
		return len >= RTP_HDR_LEN ? PEER_DEMUX_RTP : PEER_DEMUX_DROP;
	}
	/* 16..19 ZRTP, 64..79 TURN channels (not on a peer's 5-tuple once
	 * the TURN client has stripped them), anything else: no one's. */
	return PEER_DEMUX_DROP;
}

const char *peer_demux_name(enum peer_demux k)
{
	static const char *const names[] = {"drop", "stun", "dtls", "rtp", "rtcp"};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* --- G.711 µ-law (ITU-T G.711 §3, the usual 14-bit bias formulation) ---- */

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

uint8_t peer_ulaw_encode(int16_t pcm)
{
	int v = pcm, sign = 0, exp, mant;
	int mask;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS;
	/* The segment is the highest set bit among bits 7..14. */
	for (exp = 7, mask = 0x4000; exp > 0 && !(v & mask); exp--, mask >>= 1)
		;
	mant = (v >> (exp + 3)) & 0x0f;
	return (uint8_t) ~(sign | (exp << 4) | mant);
}

int16_t peer_ulaw_decode(uint8_t u)
{
	int exp, mant, v;

	u = (uint8_t)~u;
	exp = (u >> 4) & 7;
	mant = u & 0x0f;
	v = (((mant << 3) + ULAW_BIAS) << exp) - ULAW_BIAS;
	return (int16_t)((u & 0x80) ? -v : v);
}

/* --- RTP header ------------------------------------------------------- */

int peer_rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h)
{
	struct wire_rd r;
	uint8_t b0, b1, cc, pad = 0;
	size_t ext_words = 0;

	memset(h, 0, sizeof(*h));
	wire_rd_init(&r, buf, len);
	b0 = wire_rd_u8(&r);
	b1 = wire_rd_u8(&r);
	h->seq = wire_rd_u16(&r);
	h->ts = wire_rd_u32(&r);
	h->ssrc = wire_rd_u32(&r);
	if (r.err)
		return TP_ETRUNC;
	if ((b0 >> 6) != 2) /* RFC 3550 §5.1: V=2 */
		return TP_EMALFORMED;
	h->marker = (b1 & 0x80) != 0;
	h->pt = b1 & 0x7f;
	cc = b0 & 0x0f;
	wire_rd_skip(&r, 4u * cc);
	if (b0 & 0x10) { /* §5.3.1: profile word, length in words */
		wire_rd_skip(&r, 2);
		ext_words = wire_rd_u16(&r);
		wire_rd_skip(&r, 4 * ext_words);
	}
	if (r.err)
		return TP_ETRUNC;
	h->hdr_len = r.pos;
	if (b0 & 0x20) { /* §5.1: the last octet counts the padding */
		pad = buf[len - 1];
		if (pad == 0 || pad > len - h->hdr_len)
			return TP_EMALFORMED;
	}
	h->payload_len = len - h->hdr_len - pad;
	return 0;
}

/* --- the sender --------------------------------------------------------- */

/* A 1 kHz tone at 8 kHz is 8 samples a period: sin(k·45°) at -12 dBFS
 * (the shape of G.711's digital milliwatt, quieter). */
static const int16_t tone[8] = {0, 5793, 8192, 5793, 0, -5793, -8192, -5793};

int peer_rtp_sender_init(struct peer_rtp_sender *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 size_t payload_len, unsigned bitrate)
{
	uint64_t interval;

	memset(s, 0, sizeof(*s));
	if (payload_len == 0)
		payload_len = 160; /* 20 ms of PCMU */
	if (bitrate == 0)
		bitrate = 64000; /* PCMU's rate */
	if (payload_len > 1200 || bitrate < 800)
		return TP_EINVAL;
	interval = (uint64_t)payload_len * 8 * 1000000 / bitrate;
	if (interval == 0 || interval > 1000000)
		return TP_EINVAL;
	s->ssrc = ssrc;
	s->pt = RTP_PT_PCMU;
	s->seq = seq;
	s->ts = ts;
	s->payload_len = payload_len;
	s->interval_us = interval;
	s->ts_step = (uint32_t)((interval * RTP_CLOCK_PCMU + 500000) / 1000000);
	return 0;
}

int peer_rtp_sender_next(struct peer_rtp_sender *s, uint8_t *buf, size_t cap)
{
	struct wire_wr w;
	size_t i;

	wire_wr_init(&w, buf, cap);
	if (!wire_wr_need(&w, RTP_HDR_LEN + s->payload_len))
		return TP_ENOSPC;
	wire_wr_u8(&w, 0x80); /* V=2, no padding, extension or CSRC */
	/* RFC 3551 §4.1: the marker on the first packet of a talkspurt. */
	wire_wr_u8(&w, (uint8_t)((s->packets == 0 ? 0x80 : 0) | s->pt));
	wire_wr_u16(&w, s->seq);
	wire_wr_u32(&w, s->ts);
	wire_wr_u32(&w, s->ssrc);
	for (i = 0; i < s->payload_len; i++) {
		wire_wr_u8(&w, peer_ulaw_encode(tone[s->phase]));
		s->phase = (s->phase + 1) & 7;
	}
	s->seq++;
	s->ts += s->ts_step;
	s->packets++;
	s->octets += (uint32_t)s->payload_len;
	return (int)w.pos;
}

/* --- receive statistics (RFC 3550 A.1, A.3, A.8) ------------------------ */

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

void peer_rtp_recv_init(struct peer_rtp_recv *r, uint32_t clock_rate)
{
	memset(r, 0, sizeof(*r));
	r->clock_rate = clock_rate ? clock_rate : RTP_CLOCK_PCMU;
}

static void init_seq(struct peer_rtp_recv *r, uint16_t seq)
{
	r->base_seq = seq;
	r->max_seq = seq;
	r->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	r->cycles = 0;
	r->received = 0;
	r->received_prior = 0;
	r->expected_prior = 0;
}

/* The arrival time in RTP clock units (A.8), wrapping as timestamps do. */
static uint32_t arrival_units(const struct peer_rtp_recv *r, uint64_t arrival_us)
{
	return (uint32_t)(arrival_us * r->clock_rate / 1000000u);
}

bool peer_rtp_recv_update(struct peer_rtp_recv *r, uint32_t ssrc, uint16_t seq, uint32_t ts,
			  uint64_t arrival_us)
{
	uint16_t udelta;
	uint32_t transit;
	int32_t d;
	bool first = false;

	if (!r->started) {
		/* One known sender: no probation (A.1's MIN_SEQUENTIAL) needed,
		 * the first packet starts the stream. */
		init_seq(r, seq);
		r->started = true;
		r->ssrc = ssrc;
		first = true;
	} else {
		udelta = (uint16_t)(seq - r->max_seq);
		if (udelta < MAX_DROPOUT) {
			/* In order, with a permissible gap. */
			if (seq < r->max_seq)
				r->cycles += RTP_SEQ_MOD; /* wrapped */
			r->max_seq = seq;
		} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
			/* A very large jump: believe it when the next packet
			 * follows it (the sender restarted). */
			if (seq == r->bad_seq) {
				init_seq(r, seq);
			} else {
				r->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
				return false;
			}
		} else {
			r->duplicates_or_old++; /* duplicate or reordered */
		}
	}
	r->received++;

	/* A.8: J += (|D| - J) / 16, kept times 16 in integers. */
	transit = arrival_units(r, arrival_us) - ts;
	if (!first) {
		d = (int32_t)(transit - r->transit);
		if (d < 0)
			d = -d;
		r->jitter16 += (uint32_t)d - ((r->jitter16 + 8) >> 4);
	}
	r->transit = transit;
	return true;
}

uint32_t peer_rtp_recv_ext_max(const struct peer_rtp_recv *r)
{
	return r->cycles + r->max_seq;
}

uint32_t peer_rtp_recv_expected(const struct peer_rtp_recv *r)
{
	if (!r->started)
		return 0;
	return peer_rtp_recv_ext_max(r) - r->base_seq + 1; /* A.3 */
}

int32_t peer_rtp_recv_lost(const struct peer_rtp_recv *r)
{
	return (int32_t)(peer_rtp_recv_expected(r) - r->received);
}

double peer_rtp_recv_jitter_ms(const struct peer_rtp_recv *r)
{
	return (double)r->jitter16 / 16.0 * 1000.0 / (double)r->clock_rate;
}
