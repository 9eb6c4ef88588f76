/* data.c - the relay fast path (RFC 8656 §10-12): Send indications and
 * ChannelData from clients out to peers, peer datagrams back to clients as
 * ChannelData or Data indications framed in place. No allocation, no
 * formatting, one table lookup per packet. */
#include <netinet/in.h>
#include <string.h>

#include "turn/turn_int.h"
#include "turnpike/wire.h"
#include "util/addr.h"
#include "util/policy.h"

/* Permission for a peer (per IP, RFC 8656 §9), and for one of our own IPs
 * the per-port rule of the peer policy. */
static bool permitted(struct turn_ctx *ctx, const struct turn_alloc *a, const struct sockaddr *peer)
{
	const struct turn_perm *p = turn_perm_find(a, peer, ctx->now_ms);

	if (!p) {
		STAT_INC(ctx->stats->drops[DROP_NO_PERMISSION]);
		return false;
	}
	if (p->self && policy_check(turn_cfg_policy(ctx->cfg), peer) != POLICY_ALLOW) {
		STAT_INC(ctx->stats->drops[DROP_POLICY]);
		return false;
	}
	return true;
}

/* RFC 7983 §7: a datagram whose first byte is 0-3 is STUN; with the magic
 * cookie (RFC 8489 §5) it is an ICE connectivity check or consent
 * request or their answer, which ICE sends on every candidate pair, the
 * ones that lose included. */
static bool is_stun(const uint8_t *data, size_t len)
{
	return len >= 20 && data[0] < 4 && data[4] == 0x21 && data[5] == 0x12 && data[6] == 0xa4 &&
	       data[7] == 0x42;
}

/* Whether len bytes may be relayed on a now, to the peers (up) or to the
 * client (drops counted): an allocation past its lifetime relays nothing
 * even before the next 1-second tick reaps it (as find() in turn.c), then
 * the allocation's max-bps for that direction and the server's
 * bps-capacity. A yes counts the allocation as relayed at its first
 * packet that is not STUN (the relay-fallback numerator): ICE checks go
 * through every relayed candidate, media only through the selected one. */
static bool admit(struct turn_ctx *ctx, struct turn_alloc *a, const uint8_t *data, size_t len,
		  bool up)
{
	struct turn_stats *st = ctx->stats;

	if (a->expiry_ms <= ctx->now_ms) {
		STAT_INC(st->drops[DROP_NO_ALLOCATION]);
		return false;
	}
	if (!turn_bucket_take(up ? &a->bucket_up : &a->bucket_down, len, ctx->now_ms)) {
		STAT_INC(st->drops[DROP_RATE]);
		return false;
	}
	if (!turn_bucket_take(&ctx->capacity, len, ctx->now_ms)) {
		STAT_INC(st->drops[DROP_CAPACITY]);
		return false;
	}
	if (!a->media && !is_stun(data, len)) {
		a->media = true;
		STAT_INC(st->alloc_relayed[a->transport]);
	}
	return true;
}

static void to_peer(struct turn_ctx *ctx, struct turn_alloc *a, const struct sockaddr *peer,
		    const uint8_t *data, size_t len)
{
	struct turn_stats *st = ctx->stats;

	if (!admit(ctx, a, data, len, true))
		return;
	a->pkts_in++;
	a->bytes_in += len;
	STAT_INC(st->relay_pkts_in[a->transport]);
	STAT_ADD(st->relay_bytes_in[a->transport], len);
	STAT_ADD(st->relay_bytes_family_in[STATS_FAMILY(peer->sa_family)], len);
	ctx->io->send_peer(ctx->io->env, a, peer, data, len);
}

void turn_handle_send(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *msg)
{
	struct turn_alloc *a = turn_table_find(&ctx->table, from->tr, from->client, from->local);
	const struct stun_attr *data = stun_msg_find(msg, STUN_ATTR_DATA);
	struct sockaddr_storage peer;

	if (!a) {
		STAT_INC(ctx->stats->drops[DROP_NO_ALLOCATION]);
		return;
	}
	/* RFC 8656 §10.2: no peer, no data or the wrong family: discard. */
	if (!data || stun_msg_xor_addr(msg, STUN_ATTR_XOR_PEER_ADDRESS, &peer) != 0 ||
	    !turn_alloc_has_family(a, peer.ss_family)) {
		STAT_INC(ctx->stats->drops[DROP_BAD_INDICATION]);
		return;
	}
	/* RFC 6062: data to peers of a TCP allocation goes on the data
	 * connections, never in Send indications. */
	if (a->tcp) {
		STAT_INC(ctx->stats->drops[DROP_BAD_INDICATION]);
		return;
	}
	if (!permitted(ctx, a, (struct sockaddr *)&peer))
		return;
	to_peer(ctx, a, (struct sockaddr *)&peer, stun_attr_value(msg, data), data->len);
}

void turn_client_chandata(struct turn_ctx *ctx, const struct turn_from *from, const uint8_t *pkt,
			  size_t len)
{
	struct turn_alloc *a = turn_table_find(&ctx->table, from->tr, from->client, from->local);
	const struct turn_chan *c;
	const uint8_t *payload;
	size_t plen, frame;
	uint16_t num;

	if (!a) {
		STAT_INC(ctx->stats->drops[DROP_NO_ALLOCATION]);
		return;
	}
	if (turn_chandata_parse(pkt, len, from->tr != TP_UDP && from->tr != TP_DTLS, &num, &payload,
				&plen, &frame) != 0) {
		STAT_INC(ctx->stats->drops[DROP_MALFORMED]);
		return;
	}
	c = turn_chan_by_num(a, num, ctx->now_ms);
	if (!c) {
		STAT_INC(ctx->stats->drops[DROP_NO_CHANNEL]);
		return;
	}
	if (!permitted(ctx, a, (const struct sockaddr *)&c->peer))
		return;
	to_peer(ctx, a, (const struct sockaddr *)&c->peer, payload, plen);
}

/* A fast transaction id for Data indications (RFC 8656 §11.3): unique,
 * need not be secret; xorshift64* seeded from the CSPRNG. */
static void next_txn(struct turn_ctx *ctx, uint8_t txn[16])
{
	uint64_t x = ctx->ind_txn, hi, lo;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctx->ind_txn = x;
	hi = x * 0x2545F4914F6CDD1DULL;
	lo = hi ^ (x >> 17);
	txn[0] = 0x21;
	txn[1] = 0x12;
	txn[2] = 0xa4;
	txn[3] = 0x42;
	memcpy(txn + 4, &hi, 8);
	memcpy(txn + 12, &lo, 4);
}

size_t turn_peer_data(struct turn_ctx *ctx, struct turn_alloc *a, const struct sockaddr *peer,
		      uint8_t *data, size_t len, bool stream, uint8_t **msg)
{
	struct turn_stats *st = ctx->stats;
	const struct turn_chan *c;
	size_t total, pad = (4 - (len & 3)) & 3;

	/* Room for the largest header in front, within STUN's 16-bit length. */
	if (len > 0xffff - TURN_HEADROOM) {
		STAT_INC(st->drops[DROP_OVERSIZE]);
		return 0;
	}
	/* RFC 6062: a TCP allocation relays no datagrams. */
	if (a->tcp) {
		STAT_INC(ctx->stats->drops[DROP_UNEXPECTED]);
		return 0;
	}
	if (!permitted(ctx, a, peer) || !admit(ctx, a, data, len, false))
		return 0;
	c = turn_chan_by_peer(a, peer, ctx->now_ms);
	if (c) {
		/* RFC 8656 §12.4; over streams padded to 4 (§12.5). */
		*msg = data - TURN_CHANNELDATA_HDR;
		turn_chandata_header(*msg, c->num, (uint16_t)len);
		total = TURN_CHANNELDATA_HDR + len;
		if (stream) {
			memset(data + len, 0, pad);
			total += pad;
		}
	} else {
		/* Data indication (§11.3): header and XOR-PEER-ADDRESS built
		 * in the headroom, then the DATA attribute's own header. */
		size_t hdr = peer->sa_family == AF_INET ? 20 + 12 + 4 : 20 + 24 + 4;
		struct stun_builder b;
		struct wire_wr w;
		uint8_t txn[16];
		size_t blen;

		*msg = data - hdr;
		next_txn(ctx, txn);
		stun_build_init(&b, *msg, hdr - 4, TURN_DATA, STUN_INDICATION, txn);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
		if (stun_build_finish(&b, &blen) != 0 || blen != hdr - 4)
			return 0;
		wire_wr_init(&w, *msg, hdr);
		w.pos = blen;
		wire_wr_u16(&w, STUN_ATTR_DATA);
		wire_wr_u16(&w, (uint16_t)len);
		wire_wr_u16_at(&w, 2, (uint16_t)(hdr - 20 + len + pad));
		memset(data + len, 0, pad);
		total = hdr + len + pad;
	}
	a->pkts_out++;
	a->bytes_out += len;
	STAT_INC(st->relay_pkts_out[a->transport]);
	STAT_ADD(st->relay_bytes_out[a->transport], len);
	STAT_ADD(st->relay_bytes_family_out[STATS_FAMILY(peer->sa_family)], len);
	return total;
}
