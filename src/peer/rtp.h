/* rtp.h - turnpike-peer's media streams (issue 12): RTP packetization of a
 * G.711 µ-law tone, receive statistics per RFC 3550 (sequence extension,
 * loss, interarrival jitter), RTCP sender and receiver reports with the
 * round-trip time, and the first-byte demultiplexer of RFC 7983. Pure
 * functions on buffers: no sockets, no clocks (times come from the
 * caller). */
#ifndef TURNPIKE_PEER_RTP_H
#define TURNPIKE_PEER_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_LEN 12
#define RTP_PT_PCMU 0
#define RTP_CLOCK_PCMU 8000

/* --- demultiplexing (RFC 7983 §7, RFC 5761 §4) ------------------------ */

enum peer_demux {
	PEER_DEMUX_DROP = 0, /* ZRTP, TURN channels, too short, unknown */
	PEER_DEMUX_STUN,     /* 0..3 */
	PEER_DEMUX_DTLS,     /* 20..63 */
	PEER_DEMUX_RTP,      /* 128..191, second byte not 192..223 */
	PEER_DEMUX_RTCP      /* 128..191, second byte 192..223 (rtcp-mux) */
};

enum peer_demux peer_demux_classify(const uint8_t *buf, size_t len);
const char *peer_demux_name(enum peer_demux k);

/* --- G.711 µ-law ------------------------------------------------------ */

uint8_t peer_ulaw_encode(int16_t pcm);
int16_t peer_ulaw_decode(uint8_t u);

/* --- RTP -------------------------------------------------------------- */

struct rtp_hdr {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts, ssrc;
	size_t hdr_len;     /* header with CSRCs and extension */
	size_t payload_len; /* without padding */
};

/* Parses an RTP header (RFC 3550 §5.1): version 2, CSRC list, extension,
 * padding. Returns 0, TP_ETRUNC or TP_EMALFORMED. */
int peer_rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h);

/* The sending side of one stream: PCMU payload of a 1 kHz tone. */
struct peer_rtp_sender {
	uint32_t ssrc;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	size_t payload_len;       /* bytes per packet (--packet-size); 160 = 20 ms */
	uint32_t ts_step;         /* RTP clock ticks per packet */
	uint64_t interval_us;     /* pacing: payload_len * 8 / bitrate */
	unsigned phase;           /* position in the tone */
	uint32_t packets, octets; /* RFC 3550 §6.4.1 sender's counts */
};

/*
 * A stream of payload_len-byte packets at bitrate bits/s of payload (0, 0
 * mean PCMU's 160 bytes at 64 kbit/s: 20 ms packets). The RTP timestamp
 * advances with the pacing interval at 8 kHz, so jitter figures stay
 * true at other rates. ssrc, seq and ts start from the caller's random
 * values (RFC 3550 §5.1). Returns 0 or TP_EINVAL (payload over 1200, a
 * bitrate under 800 bit/s or a packet interval over 1 s).
 */
int peer_rtp_sender_init(struct peer_rtp_sender *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 size_t payload_len, unsigned bitrate);
/* Builds the next packet into buf (cap >= RTP_HDR_LEN + payload_len).
 * Returns its length or TP_ENOSPC. */
int peer_rtp_sender_next(struct peer_rtp_sender *s, uint8_t *buf, size_t cap);

/* RFC 3550 Appendix A.1's per-source state plus A.8's jitter. */
struct peer_rtp_recv {
	bool started;
	uint32_t ssrc;
	uint32_t clock_rate;
	uint16_t max_seq;
	uint32_t cycles; /* shifted count of sequence number wraps */
	uint32_t base_seq;
	uint32_t bad_seq;
	uint32_t received;
	uint32_t expected_prior, received_prior;
	uint32_t transit;  /* relative transit time of the last packet */
	uint32_t jitter16; /* jitter in RTP units, times 16 (A.8) */
	uint32_t duplicates_or_old;
};

void peer_rtp_recv_init(struct peer_rtp_recv *r, uint32_t clock_rate);
/* One packet's sequence number and timestamp, arrived at arrival_us (any
 * monotonic clock in microseconds). Returns true when it counted (false:
 * a jump beyond MAX_DROPOUT waiting for confirmation, A.1). */
bool peer_rtp_recv_update(struct peer_rtp_recv *r, uint32_t ssrc, uint16_t seq, uint32_t ts,
			  uint64_t arrival_us);
uint32_t peer_rtp_recv_ext_max(const struct peer_rtp_recv *r);
uint32_t peer_rtp_recv_expected(const struct peer_rtp_recv *r);
/* expected - received (negative with duplicates), as RFC 3550 A.3. */
int32_t peer_rtp_recv_lost(const struct peer_rtp_recv *r);
double peer_rtp_recv_jitter_ms(const struct peer_rtp_recv *r);

/* --- RTCP (RFC 3550 §6.4) --------------------------------------------- */

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_SDES 202
#define RTCP_BYE 203
#define RTCP_MAX_BLOCKS 4

struct rtcp_block {
	uint32_t ssrc;
	uint8_t fraction; /* fraction lost since the last report, /256 */
	int32_t lost;     /* cumulative, 24-bit signed */
	uint32_t ext_max_seq;
	uint32_t jitter; /* RTP units */
	uint32_t lsr;    /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;   /* delay since it, 1/65536 s */
};

struct rtcp_report {
	bool have_sr, have_rr;
	uint32_t ssrc;                    /* sender of the SR or RR */
	uint64_t ntp;                     /* SR: NTP timestamp */
	uint32_t rtp_ts, packets, octets; /* SR sender info */
	struct rtcp_block blocks[RTCP_MAX_BLOCKS];
	size_t nblocks;
	bool bye;
	char cname[64];
};

/* NTP 64-bit time (RFC 5905 §6) from a Unix time in microseconds, and its
 * middle 32 bits as LSR and A use them (RFC 3550 §6.4.1). */
uint64_t peer_ntp_from_unix_us(uint64_t unix_us);
static inline uint32_t peer_ntp_mid(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

/* The report block for r, closing the interval since the previous one
 * (fraction lost per A.3); lsr/dlsr as the caller tracked them. */
void peer_rtcp_block_fill(struct peer_rtp_recv *r, uint32_t lsr, uint32_t dlsr,
			  struct rtcp_block *b);

/*
 * Builds a compound packet (RFC 3550 §6.1): an SR when sender is given
 * (else an RR) with nblocks report blocks, then SDES with one CNAME, then
 * a BYE when bye is set. Returns the length or TP_ENOSPC / TP_EINVAL.
 */
int peer_rtcp_build(uint8_t *buf, size_t cap, uint32_t ssrc, const struct peer_rtp_sender *sender,
		    uint64_t ntp, uint32_t rtp_ts, const struct rtcp_block *blocks, size_t nblocks,
		    const char *cname, bool bye);

/* Parses a compound packet after RFC 3550 A.2's checks: version 2, the
 * first packet an SR or RR without padding, lengths adding up to len.
 * Returns 0, TP_ETRUNC or TP_EMALFORMED. */
int peer_rtcp_parse(const uint8_t *buf, size_t len, struct rtcp_report *out);

/* RFC 3550 §6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s; A is the
 * middle of the NTP time the RR arrived. Returns ms, or -1 when the block
 * carries no SR yet (LSR 0) or the result would be negative. */
double peer_rtcp_rtt_ms(uint32_t a, uint32_t lsr, uint32_t dlsr);

#endif
