/* rtcp.c - turnpike-peer's RTCP (RFC 3550 §6): sender and receiver reports
 * with their report blocks, SDES CNAME and BYE in compound packets, the
 * A.2 validity checks, and the round-trip time from LSR and DLSR. */
#include <string.h>

#include "peer/rtp.h"
#include "turnpike/err.h"
#include "turnpike/wire.h"

#define NTP_UNIX_OFFSET 2208988800ull /* 1900-01-01 to 1970-01-01, seconds */
#define LOST_MAX 0x7fffff             /* 24-bit signed cumulative loss */
#define LOST_MIN (-0x800000)

uint64_t peer_ntp_from_unix_us(uint64_t unix_us)
{
	uint64_t sec = unix_us / 1000000u + NTP_UNIX_OFFSET;
	uint64_t frac = ((unix_us % 1000000u) << 32) / 1000000u;

	return sec << 32 | frac;
}

void peer_rtcp_block_fill(struct peer_rtp_recv *r, uint32_t lsr, uint32_t dlsr,
			  struct rtcp_block *b)
{
	uint32_t expected = peer_rtp_recv_expected(r);
	uint32_t exp_int = expected - r->expected_prior;
	uint32_t rec_int = r->received - r->received_prior;
	int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;
	int32_t lost = peer_rtp_recv_lost(r);

	memset(b, 0, sizeof(*b));
	b->ssrc = r->ssrc;
	/* A.3: the fraction over the interval since the last report. */
	r->expected_prior = expected;
	r->received_prior = r->received;
	b->fraction = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)((lost_int << 8) / exp_int);
	b->lost = lost > LOST_MAX ? LOST_MAX : lost < LOST_MIN ? LOST_MIN : lost;
	b->ext_max_seq = peer_rtp_recv_ext_max(r);
	b->jitter = r->jitter16 >> 4;
	b->lsr = lsr;
	b->dlsr = dlsr;
}

static void block_write(struct wire_wr *w, const struct rtcp_block *b)
{
	wire_wr_u32(w, b->ssrc);
	wire_wr_u8(w, b->fraction);
	wire_wr_u8(w, (uint8_t)((uint32_t)b->lost >> 16));
	wire_wr_u16(w, (uint16_t)b->lost);
	wire_wr_u32(w, b->ext_max_seq);
	wire_wr_u32(w, b->jitter);
	wire_wr_u32(w, b->lsr);
	wire_wr_u32(w, b->dlsr);
}

/* Writes a packet's length field: its size in 32-bit words minus one. */
static void length_set(struct wire_wr *w, size_t start)
{
	wire_wr_u16_at(w, start + 2, (uint16_t)((w->pos - start) / 4 - 1));
}

int peer_rtcp_build(uint8_t *buf, size_t cap, uint32_t ssrc, const struct peer_rtp_sender *sender,
		    uint64_t ntp, uint32_t rtp_ts, const struct rtcp_block *blocks, size_t nblocks,
		    const char *cname, bool bye)
{
	struct wire_wr w;
	size_t i, start, clen = cname ? strlen(cname) : 0;

	if (nblocks > RTCP_MAX_BLOCKS || clen > 255)
		return TP_EINVAL;
	wire_wr_init(&w, buf, cap);

	/* SR (§6.4.1) or RR (§6.4.2): the compound's first packet (§6.1). */
	start = w.pos;
	wire_wr_u8(&w, (uint8_t)(0x80 | nblocks));
	wire_wr_u8(&w, sender ? RTCP_SR : RTCP_RR);
	wire_wr_u16(&w, 0);
	wire_wr_u32(&w, ssrc);
	if (sender) {
		wire_wr_u32(&w, (uint32_t)(ntp >> 32));
		wire_wr_u32(&w, (uint32_t)ntp);
		wire_wr_u32(&w, rtp_ts);
		wire_wr_u32(&w, sender->packets);
		wire_wr_u32(&w, sender->octets);
	}
	for (i = 0; i < nblocks; i++)
		block_write(&w, &blocks[i]);
	length_set(&w, start);

	/* SDES with the CNAME every compound carries (§6.5.1). */
	if (cname) {
		start = w.pos;
		wire_wr_u8(&w, 0x81);
		wire_wr_u8(&w, RTCP_SDES);
		wire_wr_u16(&w, 0);
		wire_wr_u32(&w, ssrc);
		wire_wr_u8(&w, 1); /* CNAME */
		wire_wr_u8(&w, (uint8_t)clen);
		wire_wr_bytes(&w, cname, clen);
		/* The item list ends with a null octet, then zeros to the
		 * next 32-bit boundary (§6.5). */
		wire_wr_zero(&w, 4 - ((w.pos - start) & 3));
		length_set(&w, start);
	}
	if (bye) { /* §6.6 */
		start = w.pos;
		wire_wr_u8(&w, 0x81);
		wire_wr_u8(&w, RTCP_BYE);
		wire_wr_u16(&w, 0);
		wire_wr_u32(&w, ssrc);
		length_set(&w, start);
	}
	return w.err ? TP_ENOSPC : (int)w.pos;
}

static void block_read(struct wire_rd *r, struct rtcp_block *b)
{
	uint32_t lost;

	b->ssrc = wire_rd_u32(r);
	b->fraction = wire_rd_u8(r);
	lost = (uint32_t)wire_rd_u8(r) << 16;
	lost |= wire_rd_u16(r);
	b->lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
	b->ext_max_seq = wire_rd_u32(r);
	b->jitter = wire_rd_u32(r);
	b->lsr = wire_rd_u32(r);
	b->dlsr = wire_rd_u32(r);
}

/* Report blocks of one SR or RR, within its own length. */
static void blocks_read(struct wire_rd *r, unsigned count, struct rtcp_report *out)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		struct rtcp_block tmp,
			*b = out->nblocks < RTCP_MAX_BLOCKS ? &out->blocks[out->nblocks++] : &tmp;
		block_read(r, b);
	}
}

/* The first chunk's CNAME (§6.5.1), escaped to printable ASCII. */
static void sdes_read(struct wire_rd *r, unsigned count, struct rtcp_report *out)
{
	uint8_t type, len;
	size_t i;

	if (count == 0)
		return;
	(void)wire_rd_u32(r); /* SSRC/CSRC */
	while (wire_rd_left(r) >= 2) {
		type = wire_rd_u8(r);
		if (type == 0)
			break;
		len = wire_rd_u8(r);
		const uint8_t *p = wire_rd_ptr(r, len);
		if (!p)
			return;
		if (type == 1 && !out->cname[0]) {
			for (i = 0; i < len && i + 1 < sizeof(out->cname); i++)
				out->cname[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
			out->cname[i] = '\0';
		}
	}
}

int peer_rtcp_parse(const uint8_t *buf, size_t len, struct rtcp_report *out)
{
	struct wire_rd r, pr;
	bool first = true;

	memset(out, 0, sizeof(*out));
	wire_rd_init(&r, buf, len);
	while (wire_rd_left(&r) > 0) {
		uint8_t b0 = wire_rd_u8(&r), pt = wire_rd_u8(&r);
		size_t plen = 4u * wire_rd_u16(&r), pad = 0;
		const uint8_t *body = wire_rd_ptr(&r, plen);
		unsigned count = b0 & 0x1f;

		if (r.err || !body)
			return TP_ETRUNC;
		/* A.2: every packet version 2; the first an SR or RR without
		 * padding; padding only in the last one. */
		if ((b0 >> 6) != 2)
			return TP_EMALFORMED;
		if (first && ((pt != RTCP_SR && pt != RTCP_RR) || (b0 & 0x20)))
			return TP_EMALFORMED;
		if (b0 & 0x20) {
			if (wire_rd_left(&r) != 0 || plen == 0 || body[plen - 1] == 0 ||
			    body[plen - 1] > plen)
				return TP_EMALFORMED;
			pad = body[plen - 1];
		}
		first = false;
		wire_rd_init(&pr, body, plen - pad);
		switch (pt) {
		case RTCP_SR:
			out->have_sr = true;
			out->ssrc = wire_rd_u32(&pr);
			out->ntp = (uint64_t)wire_rd_u32(&pr) << 32;
			out->ntp |= wire_rd_u32(&pr);
			out->rtp_ts = wire_rd_u32(&pr);
			out->packets = wire_rd_u32(&pr);
			out->octets = wire_rd_u32(&pr);
			blocks_read(&pr, count, out);
			break;
		case RTCP_RR:
			out->have_rr = true;
			out->ssrc = wire_rd_u32(&pr);
			blocks_read(&pr, count, out);
			break;
		case RTCP_SDES:
			sdes_read(&pr, count, out);
			break;
		case RTCP_BYE:
			out->bye = true;
			break;
		default: /* APP, feedback (RFC 4585): not ours to read */
			break;
		}
		if (pr.err && (pt == RTCP_SR || pt == RTCP_RR))
			return TP_EMALFORMED; /* count promised more than length */
	}
	return 0;
}

double peer_rtcp_rtt_ms(uint32_t a, uint32_t lsr, uint32_t dlsr)
{
	uint32_t rtt;

	if (lsr == 0) /* §6.4.1: no SR received yet */
		return -1;
	rtt = a - lsr - dlsr;
	if (rtt & 0x80000000u) /* clocks or a forged block: negative */
		return -1;
	return (double)rtt * 1000.0 / 65536.0;
}
