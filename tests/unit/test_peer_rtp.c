/* test_peer_rtp.c - unit tests for src/peer/rtp.c and rtcp.c: the RFC 7983
 * demultiplexing table, G.711 µ-law, RTP headers and the tone sender's
 * pacing, RFC 3550 loss and jitter against hand-computed sequences (with a
 * sequence wrap, reordering, duplicates and a restart), SR/RR compound
 * packets, and the round-trip time from LSR and DLSR. */
#include "check.h"
#include "peer/rtp.h"
#include "turnpike/err.h"

static enum peer_demux classify2(uint8_t b0, uint8_t b1, size_t len)
{
	uint8_t buf[64] = {0};

	buf[0] = b0;
	buf[1] = b1;
	return peer_demux_classify(buf, len);
}

static void test_demux(void)
{
	unsigned b;

	/* RFC 7983 §7's ranges, byte by byte. */
	for (b = 0; b < 256; b++) {
		enum peer_demux want = PEER_DEMUX_DROP, got = classify2((uint8_t)b, 0, 64);
		if (b <= 3)
			want = PEER_DEMUX_STUN;
		else if (b >= 20 && b <= 63)
			want = PEER_DEMUX_DTLS;
		else if (b >= 128 && b <= 191)
			want = PEER_DEMUX_RTP;
		CHECK_INT(got, want);
	}
	/* RFC 5761 §4: RTCP by the second octet, 192..223. */
	CHECK_INT(classify2(0x80, 0, 64), PEER_DEMUX_RTP);    /* PCMU */
	CHECK_INT(classify2(0x80, 0x80, 64), PEER_DEMUX_RTP); /* PCMU + marker */
	CHECK_INT(classify2(0x80, 111, 64), PEER_DEMUX_RTP);  /* Opus */
	CHECK_INT(classify2(0x80, 191, 64), PEER_DEMUX_RTP);
	CHECK_INT(classify2(0x80, 192, 64), PEER_DEMUX_RTCP);
	CHECK_INT(classify2(0x81, 200, 64), PEER_DEMUX_RTCP); /* SR */
	CHECK_INT(classify2(0x81, 201, 64), PEER_DEMUX_RTCP); /* RR */
	CHECK_INT(classify2(0x81, 206, 64), PEER_DEMUX_RTCP); /* PSFB */
	CHECK_INT(classify2(0x80, 223, 64), PEER_DEMUX_RTCP);
	CHECK_INT(classify2(0x80, 224, 64), PEER_DEMUX_RTP); /* PT 96 + marker */
	/* Too short for what the first byte claims. */
	CHECK_INT(classify2(0x00, 0x01, 19), PEER_DEMUX_DROP);
	CHECK_INT(classify2(0x00, 0x01, 20), PEER_DEMUX_STUN);
	CHECK_INT(classify2(22, 0xfe, 12), PEER_DEMUX_DROP);
	CHECK_INT(classify2(0x80, 0, 11), PEER_DEMUX_DROP);
	CHECK_INT(classify2(0x80, 200, 7), PEER_DEMUX_DROP);
	CHECK_INT(classify2(0x80, 200, 8), PEER_DEMUX_RTCP);
	CHECK_INT(peer_demux_classify(NULL, 0), PEER_DEMUX_DROP);
	CHECK_STR(peer_demux_name(PEER_DEMUX_RTCP), "rtcp");
	CHECK_STR(peer_demux_name(PEER_DEMUX_DTLS), "dtls");
}

static void test_ulaw(void)
{
	int x;

	/* G.711 µ-law reference points. */
	CHECK_INT(peer_ulaw_encode(0), 0xff);
	CHECK_INT(peer_ulaw_encode(-1), 0x7f);
	CHECK_INT(peer_ulaw_encode(32767), 0x80);
	CHECK_INT(peer_ulaw_encode(-32768), 0x00);
	CHECK_INT(peer_ulaw_decode(0xff), 0);
	CHECK_INT(peer_ulaw_decode(0x80), 32124);
	CHECK_INT(peer_ulaw_decode(0x00), -32124);
	CHECK_INT(peer_ulaw_decode(0xfe), 8); /* segment 0, step 8 */
	CHECK_INT(peer_ulaw_decode(0x7e), -8);
	CHECK_INT(peer_ulaw_decode(0xef), 132); /* segment 1 starts */
	/* Every code decodes and re-encodes to itself (0x7f is -0 = 0xff). */
	for (x = 0; x < 256; x++)
		if (x != 0x7f)
			CHECK_INT(peer_ulaw_encode(peer_ulaw_decode((uint8_t)x)), x);
	/* Quantization error stays within half a segment step (≤ 3.2 %). */
	for (x = -32000; x <= 32000; x += 250) {
		int y = peer_ulaw_decode(peer_ulaw_encode((int16_t)x));
		int err = y > x ? y - x : x - y;
		CHECK(err <= 16 || err * 100 <= (x < 0 ? -x : x) * 4);
	}
}

static void test_rtp_header(void)
{
	struct peer_rtp_sender s;
	struct rtp_hdr h;
	uint8_t buf[1500];
	int n, i;
	static const uint8_t ext[] = {
		0xb2, 0xe0, 0x12, 0x34, 0,    0,    0, 1,
		0xde, 0xad, 0xbe, 0xef,                   /* V2 P X CC=2 M PT96 */
		0,    0,    0,    2,    0,    0,    0, 3, /* CSRCs */
		0xbe, 0xde, 0,    1,    0x10, 0xff, 0, 0, /* one-word extension */
		'a',  'b',  'c',  0,    0,    3           /* 3 payload + 3 padding */
	};

	CHECK_INT(peer_rtp_sender_init(&s, 0xcafebabe, 65535, 4294967200u, 0, 0), 0);
	CHECK_INT(s.interval_us, 20000);
	CHECK_INT(s.ts_step, 160);
	n = peer_rtp_sender_next(&s, buf, sizeof(buf));
	CHECK_INT(n, 172);
	CHECK_INT(peer_rtp_parse(buf, (size_t)n, &h), 0);
	CHECK(h.marker);
	CHECK_INT(h.pt, 0);
	CHECK_INT(h.seq, 65535);
	CHECK_INT(h.ts, 4294967200u);
	CHECK_INT(h.ssrc, 0xcafebabe);
	CHECK_INT(h.hdr_len, 12);
	CHECK_INT(h.payload_len, 160);
	/* The tone: 1 kHz, 8 samples a period, µ-law encoded. */
	CHECK_INT(buf[12], peer_ulaw_encode(0));
	CHECK_INT(buf[14], peer_ulaw_encode(8192));
	CHECK_INT(buf[18], peer_ulaw_encode(-8192));
	CHECK_INT(buf[20], buf[12]);
	n = peer_rtp_sender_next(&s, buf, sizeof(buf));
	CHECK_INT(peer_rtp_parse(buf, (size_t)n, &h), 0);
	CHECK(!h.marker);
	CHECK_INT(h.seq, 0); /* wrapped */
	CHECK_INT(h.ts, 64); /* 4294967200 + 160, wrapped */
	CHECK_INT(s.packets, 2);
	CHECK_INT(s.octets, 320);
	CHECK_INT(peer_rtp_sender_next(&s, buf, 171), TP_ENOSPC);

	/* CSRCs, extension and padding. */
	CHECK_INT(peer_rtp_parse(ext, sizeof(ext), &h), 0);
	CHECK(h.marker);
	CHECK_INT(h.pt, 96);
	CHECK_INT(h.seq, 0x1234);
	CHECK_INT(h.ssrc, 0xdeadbeef);
	CHECK_INT(h.hdr_len, 28);
	CHECK_INT(h.payload_len, 3);
	/* Broken ones. */
	for (i = 0; i < 12; i++)
		CHECK_INT(peer_rtp_parse(ext, (size_t)i, &h), TP_ETRUNC);
	CHECK_INT(peer_rtp_parse(ext, 24, &h), TP_ETRUNC); /* cut in the extension */
	memcpy(buf, ext, sizeof(ext));
	buf[0] = 0x72; /* version 1 */
	CHECK_INT(peer_rtp_parse(buf, sizeof(ext), &h), TP_EMALFORMED);
	memcpy(buf, ext, sizeof(ext));
	buf[sizeof(ext) - 1] = 7; /* more padding than payload */
	CHECK_INT(peer_rtp_parse(buf, sizeof(ext), &h), TP_EMALFORMED);
	buf[sizeof(ext) - 1] = 0;
	CHECK_INT(peer_rtp_parse(buf, sizeof(ext), &h), TP_EMALFORMED);
}

static void test_pacing(void)
{
	struct peer_rtp_sender s;

	/* --packet-size 320: 40 ms at 64 kbit/s. */
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 320, 64000), 0);
	CHECK_INT(s.interval_us, 40000);
	CHECK_INT(s.ts_step, 320);
	/* --bitrate 128000 with 160-byte packets: every 10 ms. */
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 160, 128000), 0);
	CHECK_INT(s.interval_us, 10000);
	CHECK_INT(s.ts_step, 80);
	/* 1000-byte packets at 1 Mbit/s: 8 ms. */
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 1000, 1000000), 0);
	CHECK_INT(s.interval_us, 8000);
	CHECK_INT(s.ts_step, 64);
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 1201, 0), TP_EINVAL);
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 160, 799), TP_EINVAL);
	CHECK_INT(peer_rtp_sender_init(&s, 1, 0, 0, 1200, 8000), TP_EINVAL); /* 1.2 s */
}

static void test_loss_wrap(void)
{
	struct peer_rtp_recv r;
	struct rtcp_block b;
	static const uint16_t seqs[] = {65533, 65534, 65535, 0, 2, 3}; /* 1 lost */
	size_t i;

	peer_rtp_recv_init(&r, 8000);
	CHECK_INT(peer_rtp_recv_expected(&r), 0);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		CHECK(peer_rtp_recv_update(&r, 9, seqs[i], 160 * (uint32_t)i, 20000 * i));
	/* Extended highest: one wrap (65536) + 3. */
	CHECK_INT(peer_rtp_recv_ext_max(&r), 65539);
	CHECK_INT(peer_rtp_recv_expected(&r), 7);
	CHECK_INT(r.received, 6);
	CHECK_INT(peer_rtp_recv_lost(&r), 1);
	peer_rtcp_block_fill(&r, 0, 0, &b);
	CHECK_INT(b.ssrc, 9);
	CHECK_INT(b.ext_max_seq, 65539);
	CHECK_INT(b.lost, 1);
	CHECK_INT(b.fraction, 256 / 7); /* 36: 1 of 7 in this interval */

	/* 1 arrives late: reordered, counted, no longer lost. */
	CHECK(peer_rtp_recv_update(&r, 9, 1, 160 * 4, 200000));
	CHECK_INT(peer_rtp_recv_ext_max(&r), 65539);
	CHECK_INT(peer_rtp_recv_lost(&r), 0);
	CHECK_INT(r.duplicates_or_old, 1);
	/* The interval: nothing new expected, one more received. */
	peer_rtcp_block_fill(&r, 0, 0, &b);
	CHECK_INT(b.fraction, 0);
	CHECK_INT(b.lost, 0);
	/* A duplicate of 3 makes loss negative (RFC 3550 §6.4.1). */
	CHECK(peer_rtp_recv_update(&r, 9, 3, 160 * 6, 220000));
	CHECK_INT(peer_rtp_recv_lost(&r), -1);
	peer_rtcp_block_fill(&r, 0, 0, &b);
	CHECK_INT(b.lost, -1);
	/* Then 4..13 with 5, 6, 7 missing: 3 of 10 in this interval. */
	for (i = 4; i <= 13; i++)
		if (i < 5 || i > 7)
			CHECK(peer_rtp_recv_update(&r, 9, (uint16_t)i, 160 * (uint32_t)i, 0));
	CHECK_INT(peer_rtp_recv_ext_max(&r), 65536 + 13);
	CHECK_INT(peer_rtp_recv_lost(&r), 2);
	peer_rtcp_block_fill(&r, 0, 0, &b);
	CHECK_INT(b.fraction, (3 << 8) / 10);

	/* A.1: a jump of 10000 waits for a second packet, then restarts. */
	CHECK(!peer_rtp_recv_update(&r, 9, 10013, 0, 0));
	CHECK_INT(peer_rtp_recv_ext_max(&r), 65536 + 13);
	CHECK(peer_rtp_recv_update(&r, 9, 10014, 0, 0));
	CHECK_INT(peer_rtp_recv_ext_max(&r), 10014);
	CHECK_INT(peer_rtp_recv_expected(&r), 1);
	CHECK_INT(peer_rtp_recv_lost(&r), 0);

	/* A long run through two wraps without loss. */
	peer_rtp_recv_init(&r, 8000);
	for (i = 0; i < 140000; i++)
		peer_rtp_recv_update(&r, 1, (uint16_t)(60000 + i), 0, 0);
	CHECK_INT(peer_rtp_recv_expected(&r), 140000);
	CHECK_INT(peer_rtp_recv_lost(&r), 0);
	CHECK_INT(peer_rtp_recv_ext_max(&r), 60000 + 140000 - 1);
	CHECK_INT(r.cycles, 3u << 16);
}

static void test_jitter(void)
{
	struct peer_rtp_recv r;
	static const uint64_t delay_us[] = {0, 1000, 0, 2500};
	size_t i;

	/* 20 ms packets; transit in 8 kHz units is 0, 8, 0, 20, so D is
	 * 8, 8, 20 and A.8's J*16 goes 0 -> 8 -> 15 -> 34. */
	peer_rtp_recv_init(&r, 8000);
	for (i = 0; i < 4; i++)
		peer_rtp_recv_update(&r, 1, (uint16_t)i, 1000 + 160 * (uint32_t)i,
				     5000000 + 20000 * i + delay_us[i]);
	CHECK_INT(r.jitter16, 34);
	CHECK(peer_rtp_recv_jitter_ms(&r) > 0.2656 && peer_rtp_recv_jitter_ms(&r) < 0.2657);

	/* A constant delay is no jitter, whatever the offset. */
	peer_rtp_recv_init(&r, 8000);
	for (i = 0; i < 100; i++)
		peer_rtp_recv_update(&r, 1, (uint16_t)i, 4294967000u + 160 * (uint32_t)i,
				     123456789 + 20000 * i);
	CHECK_INT(r.jitter16, 0);
	CHECK(peer_rtp_recv_jitter_ms(&r) == 0.0);

	/* Alternating 0 / 10 ms late converges towards |D| = 80 units. */
	peer_rtp_recv_init(&r, 8000);
	for (i = 0; i < 400; i++)
		peer_rtp_recv_update(&r, 1, (uint16_t)i, 160 * (uint32_t)i,
				     20000 * i + (i & 1 ? 10000 : 0));
	CHECK((r.jitter16 >> 4) >= 78 && (r.jitter16 >> 4) <= 80);
	CHECK(peer_rtp_recv_jitter_ms(&r) > 9.7 && peer_rtp_recv_jitter_ms(&r) <= 10.0);
}

static void test_rtcp_build_parse(void)
{
	struct peer_rtp_sender s;
	struct rtcp_block blk[2], *b;
	struct rtcp_report rep;
	uint8_t buf[512];
	int n;

	CHECK_INT(peer_rtp_sender_init(&s, 0x01020304, 0, 0, 0, 0), 0);
	s.packets = 250;
	s.octets = 40000;
	memset(blk, 0, sizeof(blk));
	blk[0] = (struct rtcp_block){.ssrc = 0xaabbccdd,
				     .fraction = 36,
				     .lost = -3,
				     .ext_max_seq = 65539,
				     .jitter = 2,
				     .lsr = 0xb7052000,
				     .dlsr = 0x00054000};
	blk[1].ssrc = 5;
	blk[1].lost = 0x7fffff;
	n = peer_rtcp_build(buf, sizeof(buf), s.ssrc, &s, 0xe1e2e3e4f1f2f3f4ull, 48000, blk, 2,
			    "turnpike-peer", true);
	/* SR 28 + 2 blocks 48, SDES 4+4+2+13 -> 24, BYE 8. */
	CHECK_INT(n, 76 + 24 + 8);
	CHECK_INT(buf[0], 0x82);
	CHECK_INT(buf[1], RTCP_SR);
	CHECK_INT(buf[3], 76 / 4 - 1);
	CHECK_INT(peer_demux_classify(buf, (size_t)n), PEER_DEMUX_RTCP);
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &rep), 0);
	CHECK(rep.have_sr && !rep.have_rr && rep.bye);
	CHECK_INT(rep.ssrc, 0x01020304);
	CHECK_INT(rep.ntp, 0xe1e2e3e4f1f2f3f4ull);
	CHECK_INT(rep.rtp_ts, 48000);
	CHECK_INT(rep.packets, 250);
	CHECK_INT(rep.octets, 40000);
	CHECK_INT(rep.nblocks, 2);
	b = &rep.blocks[0];
	CHECK_INT(b->ssrc, 0xaabbccdd);
	CHECK_INT(b->fraction, 36);
	CHECK_INT(b->lost, -3);
	CHECK_INT(b->ext_max_seq, 65539);
	CHECK_INT(b->jitter, 2);
	CHECK_INT(b->lsr, 0xb7052000);
	CHECK_INT(b->dlsr, 0x00054000);
	CHECK_INT(rep.blocks[1].lost, 0x7fffff);
	CHECK_STR(rep.cname, "turnpike-peer");

	/* An RR with no blocks and no SDES: the smallest compound. */
	n = peer_rtcp_build(buf, sizeof(buf), 7, NULL, 0, 0, NULL, 0, NULL, false);
	CHECK_INT(n, 8);
	CHECK_INT(peer_rtcp_parse(buf, 8, &rep), 0);
	CHECK(rep.have_rr && !rep.have_sr);
	CHECK_INT(rep.nblocks, 0);
	CHECK_INT(peer_rtcp_build(buf, 7, 7, NULL, 0, 0, NULL, 0, NULL, false), TP_ENOSPC);
	CHECK_INT(peer_rtcp_build(buf, sizeof(buf), 7, NULL, 0, 0, blk, 5, NULL, false), TP_EINVAL);

	/* A.2's validity checks. */
	n = peer_rtcp_build(buf, sizeof(buf), 7, NULL, 0, 0, blk, 1, "x", false);
	CHECK(n > 0);
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n - 4, &rep), TP_ETRUNC); /* cut */
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n + 2, &rep), TP_ETRUNC); /* trailing bytes */
	buf[0] ^= 0xc0;                                                  /* version 1 */
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &rep), TP_EMALFORMED);
	buf[0] ^= 0xc0;
	buf[0] |= 0x20; /* padding in the first packet */
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &rep), TP_EMALFORMED);
	buf[0] &= (uint8_t)~0x20;
	buf[0] = (uint8_t)((buf[0] & 0xe0) | 3); /* 3 blocks in room for 1 */
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &rep), TP_EMALFORMED);
	/* SDES first is not a valid compound. */
	static const uint8_t sdes_first[] = {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 1, 'a', 0};
	CHECK_INT(peer_rtcp_parse(sdes_first, sizeof(sdes_first), &rep), TP_EMALFORMED);
}

static void test_rtt(void)
{
	struct rtcp_report sr_rep, rr_rep;
	struct peer_rtp_recv r;
	struct rtcp_block b;
	struct peer_rtp_sender s;
	uint8_t buf[256];
	uint64_t t_sr = 1700000000ull * 1000000, ntp;
	uint32_t lsr, dlsr, a;
	int n;

	/* RFC 3550 §6.4.1's own example: A 0xb710:8000, LSR 0xb705:2000,
	 * DLSR 0x0005:4000 give 0x0006:2000 = 6.125 s. */
	CHECK(peer_rtcp_rtt_ms(0xb7108000, 0xb7052000, 0x00054000) == 6125.0);
	CHECK(peer_rtcp_rtt_ms(0xb7108000, 0, 0x00054000) == -1); /* no SR yet */
	CHECK(peer_rtcp_rtt_ms(0xb7050000, 0xb7052000, 0) == -1); /* negative */

	/* NTP conversion: the Unix epoch is 2208988800 s after NTP's; half
	 * a second is 0x80000000. */
	CHECK_INT(peer_ntp_from_unix_us(0), 2208988800ull << 32);
	CHECK_INT(peer_ntp_from_unix_us(500000), (2208988800ull << 32) | 0x80000000u);
	CHECK_INT(peer_ntp_mid(0x0000b7108000ffffull), 0xb7108000u);

	/* The exchange: A sends an SR at t_sr; B answers 500 ms later with an
	 * RR echoing it; A receives it 625 ms after t_sr: RTT 125 ms. */
	CHECK_INT(peer_rtp_sender_init(&s, 100, 0, 0, 0, 0), 0);
	ntp = peer_ntp_from_unix_us(t_sr);
	n = peer_rtcp_build(buf, sizeof(buf), 100, &s, ntp, 0, NULL, 0, "a", false);
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &sr_rep), 0);
	lsr = peer_ntp_mid(sr_rep.ntp);
	dlsr = 32768; /* 0.5 s in 1/65536 s */
	peer_rtp_recv_init(&r, 8000);
	peer_rtp_recv_update(&r, 100, 1, 0, 0);
	peer_rtcp_block_fill(&r, lsr, dlsr, &b);
	n = peer_rtcp_build(buf, sizeof(buf), 200, NULL, 0, 0, &b, 1, "b", false);
	CHECK_INT(peer_rtcp_parse(buf, (size_t)n, &rr_rep), 0);
	CHECK_INT(rr_rep.nblocks, 1);
	CHECK_INT(rr_rep.blocks[0].ssrc, 100);
	a = peer_ntp_mid(peer_ntp_from_unix_us(t_sr + 625000));
	CHECK(peer_rtcp_rtt_ms(a, rr_rep.blocks[0].lsr, rr_rep.blocks[0].dlsr) == 125.0);
}

int main(void)
{
	test_demux();
	test_ulaw();
	test_rtp_header();
	test_pacing();
	test_loss_wrap();
	test_jitter();
	test_rtcp_build_parse();
	test_rtt();
	return check_done("test_peer_rtp");
}
