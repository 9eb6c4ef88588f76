/* test_turn_data.c - unit tests for src/turn/data.c, the relay fast path:
 * ChannelData and Data indications framed in place in the headroom (RFC
 * 8656 §11.3, §12.4, §12.5) at every padding, Send indications and
 * ChannelData from clients, and the drops with their counters. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "turn_fake.h"
#include "turn/server.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/policy.h"

#define FILL 0xaa

static struct peer_policy policy;
static struct turn_server_cfg cfg;
static struct turn_stats stats;
static struct turn_ctx ctx;

/* An allocation through the core (no-auth), relaying family 0x01 or 0x02. */
static struct turn_alloc *allocate(const struct client *c, uint8_t family)
{
	static uint32_t n;
	uint8_t txn[16] = {0x21, 0x12, 0xa4, 0x42, 'd', 'a', 't', 'a'};
	uint8_t req[128], out[TURN_MAX_REPLY];
	struct stun_builder b;
	struct stun_msg m;
	size_t len = 0;

	n++;
	memcpy(txn + 12, &n, 4);
	stun_build_init(&b, req, sizeof(req), TURN_ALLOCATE, STUN_REQUEST, txn);
	stun_build_transport(&b, 17);
	stun_build_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, family);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	len = turn_server_handle(&ctx, &c->from, req, len, out);
	CHECK(len > 0 && stun_msg_parse(&m, out, len) == 0 && m.cls == STUN_SUCCESS);
	return turn_table_find(&ctx.table, c->from.tr, c->from.client, c->from.local);
}

/* A Send indication with DATA of len bytes; returns whether it went out. */
static bool send_ind(const struct client *c, const char *peer, const uint8_t *data, size_t len)
{
	uint8_t txn[16] = {0x21, 0x12, 0xa4, 0x42, 's', 'e', 'n', 'd'};
	uint8_t req[2048], out[TURN_MAX_REPLY];
	struct sockaddr_storage p;
	struct stun_builder b;
	unsigned before = io_log.sends;
	size_t n = 0;

	stun_build_init(&b, req, sizeof(req), TURN_SEND, STUN_INDICATION, txn);
	if (peer) {
		p = sa(peer);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, SA(&p));
	}
	if (data)
		stun_build_attr(&b, STUN_ATTR_DATA, data, len);
	CHECK_INT(stun_build_finish(&b, &n), 0);
	CHECK_INT(turn_server_handle(&ctx, &c->from, req, n, out), 0);
	return io_log.sends == before + 1;
}

/* ChannelData from the client; returns whether it went out. */
static bool chandata(const struct client *c, uint16_t num, const uint8_t *data, size_t len,
		     size_t pad)
{
	uint8_t pkt[2048];
	unsigned before = io_log.sends;

	turn_chandata_header(pkt, num, (uint16_t)len);
	memcpy(pkt + 4, data, len);
	memset(pkt + 4 + len, 0, pad);
	turn_client_chandata(&ctx, &c->from, pkt, 4 + len + pad);
	return io_log.sends == before + 1;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

/* A peer datagram buffer as the network layer keeps it: headroom in front,
 * 4 spare bytes behind, everything else FILL to see stray writes. */
struct pbuf {
	uint8_t *mem;
	uint8_t *data;
	size_t cap;
};

static void pbuf_fill(struct pbuf *p, size_t len)
{
	memset(p->mem, FILL, TURN_HEADROOM + p->cap + 4);
	for (size_t i = 0; i < len; i++)
		p->data[i] = pattern(i);
}

static bool pbuf_untouched(const struct pbuf *p, const uint8_t *from, const uint8_t *to)
{
	for (const uint8_t *q = from; q < to; q++)
		if (*q != FILL)
			return false;
	return true;
}

static bool payload_ok(const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (d[i] != pattern(i))
			return false;
	return true;
}

static const size_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 1499, 1500};

static void test_channeldata_framing(void)
{
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.156:5000");
	struct pbuf p = {.cap = 1600};
	uint64_t pkts = stats.relay_pkts_out[TP_UDP], bytes = stats.relay_bytes_out[TP_UDP];
	uint64_t sent = 0;

	p.mem = malloc(TURN_HEADROOM + p.cap + 4);
	CHECK(p.mem != NULL);
	if (!p.mem)
		return;
	p.data = p.mem + TURN_HEADROOM;
	client_init(&c, TP_UDP, "192.0.2.10:50000");
	a = allocate(&c, 0x01);
	if (!a)
		goto out;
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	CHECK_INT(turn_chan_bind(a, 0x7ffe, SA(&peer), ctx.now_ms, 10), 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int stream = 0; stream < 2; stream++) {
			size_t len = lens[i], pad = (4 - len % 4) % 4, n, plen, frame;
			size_t want = 4 + len + (stream ? pad : 0);
			uint8_t *msg = NULL;
			const uint8_t *pl;
			uint16_t num;

			pbuf_fill(&p, len);
			n = turn_peer_data(&ctx, a, SA(&peer), p.data, len, stream, &msg);
			CHECK_INT(n, want);
			CHECK(msg == p.data - 4);
			if (n != want || msg != p.data - 4)
				continue;
			sent += len;
			CHECK(msg[0] == 0x7f && msg[1] == 0xfe);
			CHECK_INT(msg[2] << 8 | msg[3], len);
			CHECK(payload_ok(p.data, len));
			/* Padding zeroed over streams; nothing else written. */
			for (size_t k = 0; stream && k < pad; k++)
				CHECK_INT(p.data[len + k], 0);
			CHECK(pbuf_untouched(&p, p.mem, msg));
			CHECK(pbuf_untouched(&p, msg + n, p.data + p.cap + 4));
			/* What the client's side parses back. */
			CHECK_INT(turn_chandata_parse(msg, n, stream, &num, &pl, &plen, &frame), 0);
			CHECK_INT(num, 0x7ffe);
			CHECK_INT(plen, len);
			CHECK_INT(frame, n);
		}
	}
	CHECK_INT(stats.relay_pkts_out[TP_UDP], pkts + 2 * sizeof(lens) / sizeof(lens[0]));
	CHECK_INT(stats.relay_bytes_out[TP_UDP], bytes + sent);
	CHECK_INT(a->pkts_out, 2 * sizeof(lens) / sizeof(lens[0]));
out:
	free(p.mem);
}

/* Checks one Data indication framed from peer: length, layout, headroom
 * use, attributes; returns its transaction id in txn. */
static void check_indication(struct turn_alloc *a, const struct sockaddr *peer, struct pbuf *p,
			     size_t len, bool stream, uint8_t txn[16])
{
	size_t pad = (4 - len % 4) % 4, hdr = peer->sa_family == AF_INET ? 36 : 48;
	size_t want = hdr + len + pad, n;
	uint8_t *msg = NULL;
	struct stun_msg m;
	struct sockaddr_storage got;
	const struct stun_attr *d;

	pbuf_fill(p, len);
	n = turn_peer_data(&ctx, a, peer, p->data, len, stream, &msg);
	CHECK_INT(n, want);
	CHECK(msg == p->data - hdr);
	if (n != want || msg != p->data - hdr)
		return;
	CHECK(payload_ok(p->data, len));
	for (size_t k = 0; k < pad; k++)
		CHECK_INT(p->data[len + k], 0);
	CHECK(pbuf_untouched(p, p->mem, msg));
	CHECK(pbuf_untouched(p, msg + n, p->data + p->cap + 4));
	CHECK_INT(msg[2] << 8 | msg[3], n - 20);
	CHECK_INT(stun_msg_parse(&m, msg, n), 0);
	CHECK_INT(m.method, TURN_DATA);
	CHECK_INT(m.cls, STUN_INDICATION);
	CHECK(m.magic);
	CHECK_INT(m.nattrs, 2);
	CHECK_INT(m.attrs[0].type, STUN_ATTR_XOR_PEER_ADDRESS);
	CHECK_INT(stun_msg_xor_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &got), 0);
	CHECK(addr_equal(SA(&got), peer));
	d = stun_msg_find(&m, STUN_ATTR_DATA);
	CHECK(d && d->len == len && stun_attr_value(&m, d) == p->data);
	memcpy(txn, m.txn, 16);
}

static void test_indication_framing(void)
{
	struct client c4, c6;
	struct turn_alloc *a4, *a6;
	struct sockaddr_storage p4 = sa("45.33.32.156:5000"), p6 = sa("[2606:4700::1111]:5000");
	struct pbuf p = {.cap = 1600};
	uint8_t txn[16], prev[16] = {0};
	unsigned same = 0;

	p.mem = malloc(TURN_HEADROOM + p.cap + 4);
	CHECK(p.mem != NULL);
	if (!p.mem)
		return;
	p.data = p.mem + TURN_HEADROOM;
	client_init(&c4, TP_UDP, "192.0.2.10:50001");
	client_init(&c6, TP_TCP, "[2001:db8::10]:50001");
	a4 = allocate(&c4, 0x01);
	a6 = allocate(&c6, 0x02);
	if (!a4 || !a6)
		goto out;
	CHECK_INT(a6->relayed.ss_family, AF_INET6);
	CHECK_INT(turn_perm_add(a4, SA(&p4), ctx.now_ms, 10, false), 0);
	CHECK_INT(turn_perm_add(a6, SA(&p6), ctx.now_ms, 10, false), 0);
	/* Padding is always there in a STUN message, stream or not; an IPv6
	 * peer takes the whole headroom. */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int stream = 0; stream < 2; stream++) {
			check_indication(a4, SA(&p4), &p, lens[i], stream, txn);
			same += memcmp(txn, prev, 16) == 0;
			memcpy(prev, txn, 16);
			check_indication(a6, SA(&p6), &p, lens[i], stream, txn);
			same += memcmp(txn, prev, 16) == 0;
			memcpy(prev, txn, 16);
		}
	}
	/* Every indication its own transaction id (RFC 8656 §11.3). */
	CHECK_INT(same, 0);
	{
		enum {
			N = 2000
		};
		uint8_t(*ids)[12] = calloc(N, 12);
		unsigned dup = 0;

		CHECK(ids != NULL);
		for (int i = 0; ids && i < N; i++) {
			uint8_t *msg = NULL;
			pbuf_fill(&p, 4);
			if (turn_peer_data(&ctx, a4, SA(&p4), p.data, 4, false, &msg) != 40) {
				dup++;
				continue;
			}
			memcpy(ids[i], msg + 8, 12);
			for (int j = 0; j < i; j++)
				dup += memcmp(ids[i], ids[j], 12) == 0;
		}
		CHECK_INT(dup, 0);
		free(ids);
	}
out:
	free(p.mem);
}

/* The longest payload that fits the 16-bit STUN length with an IPv6 peer,
 * and one byte more (dropped). */
static void test_oversize(void)
{
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage p6 = sa("[2606:4700::1111]:5000");
	struct pbuf p = {.cap = 0xffff};
	uint8_t *msg = NULL;
	size_t max = 0xffff - 48, n;
	struct stun_msg *m = malloc(sizeof(*m));

	p.mem = malloc(TURN_HEADROOM + p.cap + 4);
	CHECK(p.mem != NULL && m != NULL);
	if (!p.mem || !m)
		goto out;
	p.data = p.mem + TURN_HEADROOM;
	client_init(&c, TP_UDP, "[2001:db8::10]:50002");
	a = allocate(&c, 0x02);
	if (!a)
		goto out;
	CHECK_INT(turn_perm_add(a, SA(&p6), ctx.now_ms, 10, false), 0);
	pbuf_fill(&p, max);
	n = turn_peer_data(&ctx, a, SA(&p6), p.data, max, false, &msg);
	CHECK_INT(n, 48 + max + 1);
	CHECK(n > 0 && stun_msg_parse(m, msg, n) == 0);
	CHECK_INT(turn_peer_data(&ctx, a, SA(&p6), p.data, max + 1, false, &msg), 0);
	/* Through a channel too. */
	CHECK_INT(turn_chan_bind(a, 0x4000, SA(&p6), ctx.now_ms, 10), 0);
	n = turn_peer_data(&ctx, a, SA(&p6), p.data, max, true, &msg);
	CHECK_INT(n, 4 + max + 1);
out:
	free(p.mem);
	free(m);
}

static void test_client_chandata(void)
{
	static const uint8_t payload[] = "channel data";
	struct client c, tcp, stranger;
	struct turn_alloc *a, *at;
	struct sockaddr_storage peer = sa("45.33.32.156:5000");
	uint64_t t0 = ctx.now_ms, st;

	client_init(&c, TP_UDP, "192.0.2.10:50003");
	client_init(&tcp, TP_TCP, "192.0.2.10:50003");
	client_init(&stranger, TP_UDP, "192.0.2.10:50004");
	a = allocate(&c, 0x01);
	at = allocate(&tcp, 0x01);
	if (!a || !at)
		return;
	/* No allocation on the 5-tuple. */
	st = stats.drops[DROP_NO_ALLOCATION];
	CHECK(!chandata(&stranger, 0x4000, payload, 5, 0));
	CHECK_INT(stats.drops[DROP_NO_ALLOCATION], st + 1);
	/* Unbound channel. */
	st = stats.drops[DROP_NO_CHANNEL];
	CHECK(!chandata(&c, 0x4000, payload, 5, 0));
	CHECK_INT(stats.drops[DROP_NO_CHANNEL], st + 1);
	/* Bound (with its permission): out to the peer, exactly the payload. */
	CHECK_INT(turn_chan_bind(a, 0x4000, SA(&peer), t0, 10), 0);
	CHECK_INT(turn_perm_add(a, SA(&peer), t0, 10, false), 0);
	CHECK(chandata(&c, 0x4000, payload, 5, 0));
	CHECK(io_log.send_alloc == a);
	CHECK(addr_equal(SA(&io_log.peer), SA(&peer)));
	CHECK_INT(io_log.len, 5);
	CHECK_MEM(io_log.data, payload, 5);
	/* Zero-length ChannelData is a datagram of nothing. */
	CHECK(chandata(&c, 0x4000, payload, 0, 0));
	CHECK_INT(io_log.len, 0);
	/* Over UDP, trailing bytes after the length are ignored. */
	CHECK(chandata(&c, 0x4000, payload, 5, 3));
	CHECK_INT(io_log.len, 5);
	/* Another channel number on the same allocation: unbound. */
	CHECK(!chandata(&c, 0x4001, payload, 5, 0));
	/* The same 5-tuple's addresses over TCP is another allocation. */
	CHECK(!chandata(&tcp, 0x4000, payload, 4, 0));
	CHECK_INT(turn_chan_bind(at, 0x4000, SA(&peer), t0, 10), 0);
	CHECK_INT(turn_perm_add(at, SA(&peer), t0, 10, false), 0);
	/* Over a stream the frame is padded; unpadded it is short. */
	st = stats.drops[DROP_MALFORMED];
	CHECK(!chandata(&tcp, 0x4000, payload, 5, 0));
	CHECK_INT(stats.drops[DROP_MALFORMED], st + 1);
	CHECK(chandata(&tcp, 0x4000, payload, 5, 3));
	CHECK(io_log.send_alloc == at);
	CHECK_INT(io_log.len, 5);
	/* A length past the end: malformed. */
	{
		uint8_t pkt[8];
		turn_chandata_header(pkt, 0x4000, 100);
		memset(pkt + 4, 0, 4);
		turn_client_chandata(&ctx, &c.from, pkt, sizeof(pkt));
		CHECK_INT(stats.drops[DROP_MALFORMED], st + 2);
		turn_client_chandata(&ctx, &c.from, pkt, 3);
		CHECK_INT(stats.drops[DROP_MALFORMED], st + 3);
	}

	/* The permission lasts 300 s, the channel 600 s: in between the
	 * channel is bound but nothing may pass. */
	ctx.now_ms = t0 + 299999;
	CHECK(chandata(&c, 0x4000, payload, 5, 0));
	ctx.now_ms = t0 + 300000;
	st = stats.drops[DROP_NO_PERMISSION];
	CHECK(turn_chan_by_num(a, 0x4000, ctx.now_ms) != NULL);
	CHECK(!chandata(&c, 0x4000, payload, 5, 0));
	CHECK_INT(stats.drops[DROP_NO_PERMISSION], st + 1);
	/* ... from the peer either. */
	{
		uint8_t buf[TURN_HEADROOM + 8 + 4], *msg = NULL;
		CHECK_INT(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 8, false, &msg),
			  0);
		CHECK_INT(stats.drops[DROP_NO_PERMISSION], st + 2);
	}
	/* A new permission opens the channel again, until it expires. */
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	CHECK(chandata(&c, 0x4000, payload, 5, 0));
	ctx.now_ms = t0 + 600000;
	st = stats.drops[DROP_NO_CHANNEL];
	CHECK(!chandata(&c, 0x4000, payload, 5, 0));
	CHECK_INT(stats.drops[DROP_NO_CHANNEL], st + 1);
	/* ... and the peer's datagrams come as Data indications now (with
	 * the permission and the allocation, which ran out at the same
	 * moment, renewed as a Refresh would). */
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	a->expiry_ms = ctx.now_ms + 600000;
	{
		uint8_t buf[TURN_HEADROOM + 8 + 4], *msg = NULL;
		memset(buf, 0, sizeof(buf));
		CHECK_INT(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 8, false, &msg),
			  36 + 8);
	}
	/* An allocation past its lifetime relays nothing either way, even
	 * before the 1-second tick reaps it (its channel and permission are
	 * still good). */
	CHECK_INT(turn_chan_bind(a, 0x4000, SA(&peer), ctx.now_ms, 10), 0);
	CHECK(chandata(&c, 0x4000, payload, 5, 0));
	a->expiry_ms = ctx.now_ms + 1000;
	ctx.now_ms += 1000;
	st = stats.drops[DROP_NO_ALLOCATION];
	CHECK(!chandata(&c, 0x4000, payload, 5, 0));
	{
		uint8_t buf[TURN_HEADROOM + 8 + 4], *msg = NULL;
		memset(buf, 0, sizeof(buf));
		CHECK_INT(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 8, false, &msg),
			  0);
	}
	CHECK_INT(stats.drops[DROP_NO_ALLOCATION], st + 2);
	ctx.now_ms = t0 + 1000000;
}

/* ICE checks (STUN, RFC 7983 first byte 0-3 and the magic cookie) go
 * through every relayed candidate; only an allocation that relays
 * something else (media) counts as relayed, the relay-fallback numerator. */
static void test_relayed_not_stun(void)
{
	static const uint8_t check[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2};
	static const uint8_t answer_ok[20] = {0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2};
	static const uint8_t dtls[20] = {22, 0xfe, 0xfd, 0, 0, 0x21, 0x12, 0xa4, 0x42};
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.157:6001");
	uint64_t relayed = stats.alloc_relayed[TP_UDP];

	client_init(&c, TP_UDP, "192.0.2.10:50099");
	a = allocate(&c, 0x01);
	if (!a)
		return;
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	CHECK(send_ind(&c, "45.33.32.157:6001", check, sizeof(check)));
	{
		uint8_t buf[TURN_HEADROOM + 20 + 4], *msg = NULL;
		memcpy(buf + TURN_HEADROOM, answer_ok, sizeof(answer_ok));
		CHECK(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 20, false, &msg) > 0);
	}
	CHECK_INT(a->pkts_in, 1);
	CHECK_INT(a->pkts_out, 1);
	CHECK_INT(stats.alloc_relayed[TP_UDP], relayed);
	/* The first datagram that is not STUN (here a DTLS record) counts it. */
	CHECK(send_ind(&c, "45.33.32.157:6001", dtls, sizeof(dtls)));
	CHECK_INT(stats.alloc_relayed[TP_UDP], relayed + 1);
	CHECK(send_ind(&c, "45.33.32.157:6001", dtls, sizeof(dtls)));
	CHECK_INT(stats.alloc_relayed[TP_UDP], relayed + 1);
}

static void test_send(void)
{
	static const uint8_t payload[] = {9, 8, 7};
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.157:6000");
	uint64_t st, relayed = stats.alloc_relayed[TP_UDP];

	client_init(&c, TP_UDP, "192.0.2.10:50005");
	a = allocate(&c, 0x01);
	if (!a)
		return;
	st = stats.drops[DROP_NO_PERMISSION];
	CHECK(!send_ind(&c, "45.33.32.157:6000", payload, 3));
	CHECK_INT(stats.drops[DROP_NO_PERMISSION], st + 1);
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	CHECK(send_ind(&c, "45.33.32.157:6000", payload, 3));
	CHECK_INT(io_log.len, 3);
	CHECK_MEM(io_log.data, payload, 3);
	CHECK(addr_equal(SA(&io_log.peer), SA(&peer)));
	CHECK_INT(stats.alloc_relayed[TP_UDP], relayed + 1);
	/* Empty DATA: an empty datagram. */
	CHECK(send_ind(&c, "45.33.32.157:6000", payload, 0));
	CHECK_INT(io_log.len, 0);
	/* Odd sizes come out unpadded. */
	{
		uint8_t big[1499];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = pattern(i);
		CHECK(send_ind(&c, "45.33.32.157:1", big, sizeof(big)));
		CHECK_INT(io_log.len, sizeof(big));
		CHECK(payload_ok(io_log.data, sizeof(big)));
	}
	CHECK_INT(a->pkts_in, 3);
	CHECK_INT(a->bytes_in, 3 + 0 + 1499);
	/* alloc_relayed counts the allocation once. */
	CHECK_INT(stats.alloc_relayed[TP_UDP], relayed + 1);
	/* Bad indications: no peer, no DATA, the other family. */
	st = stats.drops[DROP_BAD_INDICATION];
	CHECK(!send_ind(&c, NULL, payload, 3));
	CHECK(!send_ind(&c, "45.33.32.157:6000", NULL, 0));
	CHECK(!send_ind(&c, "[2606:4700::1111]:6000", payload, 3));
	CHECK_INT(stats.drops[DROP_BAD_INDICATION], st + 3);
}

/* A permission for one of our own IPs is rechecked per packet: relay
 * ports yes, the listening port no. */
static void test_self_peer(void)
{
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage relay_port = sa(OWN_IP ":50010"), listen_port = sa(OWN_IP ":3478");
	uint8_t buf[TURN_HEADROOM + 8 + 4], *msg = NULL;
	uint64_t st;

	client_init(&c, TP_UDP, "192.0.2.10:50006");
	a = allocate(&c, 0x01);
	if (!a)
		return;
	CHECK_INT(turn_perm_add(a, SA(&relay_port), ctx.now_ms, 10, true), 0);
	memset(buf, 0, sizeof(buf));
	CHECK(turn_peer_data(&ctx, a, SA(&relay_port), buf + TURN_HEADROOM, 8, false, &msg) > 0);
	st = stats.drops[DROP_POLICY];
	CHECK_INT(turn_peer_data(&ctx, a, SA(&listen_port), buf + TURN_HEADROOM, 8, false, &msg),
		  0);
	CHECK_INT(stats.drops[DROP_POLICY], st + 1);
	CHECK(send_ind(&c, OWN_IP ":50012", (const uint8_t *)"x", 1));
	CHECK(!send_ind(&c, OWN_IP ":3478", (const uint8_t *)"x", 1));
	CHECK_INT(stats.drops[DROP_POLICY], st + 2);
}

/* The worker's bps-capacity bucket: over it, drops of their own kind. */
static void test_capacity(void)
{
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.158:7000");
	uint8_t buf[TURN_HEADROOM + 800 + 4], *msg = NULL;
	static const uint8_t payload[600];
	uint64_t st = stats.drops[DROP_CAPACITY], rate = stats.drops[DROP_RATE];

	client_init(&c, TP_UDP, "192.0.2.10:50007");
	a = allocate(&c, 0x01);
	if (!a)
		return;
	CHECK_INT(turn_perm_add(a, SA(&peer), ctx.now_ms, 10, false), 0);
	turn_bucket_init(&ctx.capacity, 1000, ctx.now_ms);
	memset(buf, 0, sizeof(buf));
	CHECK(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 800, false, &msg) > 0);
	CHECK_INT(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 800, false, &msg), 0);
	CHECK_INT(stats.drops[DROP_CAPACITY], st + 1);
	CHECK(!send_ind(&c, "45.33.32.158:7000", payload, 600));
	CHECK_INT(stats.drops[DROP_CAPACITY], st + 2);
	CHECK(send_ind(&c, "45.33.32.158:7000", payload, 200));
	ctx.now_ms += 600;
	CHECK(send_ind(&c, "45.33.32.158:7000", payload, 600));
	CHECK_INT(stats.drops[DROP_RATE], rate); /* no max-bps here */
	turn_bucket_init(&ctx.capacity, 0, ctx.now_ms);
}

int main(void)
{
	uint8_t key[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	struct sockaddr_storage own = sa(OWN_IP);

	addr_hash_seed(key);
	CHECK_INT(policy_init(&policy, NULL, 0, NULL, 0, false, NULL), 0);
	CHECK_INT(policy_add_self(&policy, SA(&own)), 0);
	CHECK_INT(policy_add_self_port(&policy, 3478), 0);
	policy.relay_port_min = 49152;
	policy.relay_port_max = 65535;
	cfg.turn = true;
	cfg.no_auth = true;
	cfg.policy = &policy;
	cfg.default_lifetime = 600;
	cfg.max_lifetime = 3600;
	cfg.max_perms = 10;
	cfg.max_chans = 10;
	cfg.relay_v4 = true;
	cfg.relay_v6 = true;
	io_log.next_port = 50000;
	CHECK_INT(turn_ctx_init(&ctx, &cfg, &stats, &fake_io), 0);
	ctx.now_ms = 7000000456ULL;
	ctx.unix_s = 1800000000;

	test_channeldata_framing();
	test_indication_framing();
	test_oversize();
	test_client_chandata();
	test_send();
	test_relayed_not_stun();
	test_self_peer();
	test_capacity();

	turn_ctx_cleanup(&ctx);
	policy_cleanup(&policy);
	return check_done("test_turn_data");
}
