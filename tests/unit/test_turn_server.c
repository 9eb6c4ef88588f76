/* test_turn_server.c - the protocol core answers Binding, 420, 400 and
 * drops bad input with the right counter, without sockets. */
#include <arpa/inet.h>
#include <string.h>

#include "check.h"
#include "turn/server.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/ratelimit.h"

static struct turn_server_cfg cfg = {.software = true};
static struct turn_stats stats;
static struct turn_ctx ctx = {.cfg = &cfg, .stats = &stats};

/* The Binding path needs no allocation table and no network. */
static size_t handle(enum turn_transport tr, const uint8_t *pkt, size_t len,
		     const struct sockaddr_storage *src, uint8_t *out)
{
	struct sockaddr_storage local;
	struct turn_from from = {tr, (const struct sockaddr *)src, (const struct sockaddr *)&local,
				 NULL};

	addr_parse(src->ss_family == AF_INET ? "192.0.2.254:3478" : "[2001:db8::fe]:3478", 0,
		   &local);
	return turn_server_handle(&ctx, &from, pkt, len, out);
}
static const uint8_t txn[16] = {0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static size_t request(uint8_t *buf, uint16_t method, uint8_t cls, const uint8_t *t,
		      uint16_t extra_attr, bool fp)
{
	struct stun_builder b;
	size_t len = 0;

	stun_build_init(&b, buf, 512, method, cls, t);
	if (extra_attr)
		stun_build_u32(&b, extra_attr, 0);
	if (fp)
		stun_build_fingerprint(&b);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	return len;
}

static void test_binding(const char *src_s)
{
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src, mapped;
	struct stun_msg msg;
	size_t n;

	CHECK_INT(addr_parse(src_s, 0, &src), 0);
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, false);
	n = handle(TP_UDP, req, n, &src, out);
	CHECK(n > 0 && n <= TURN_MAX_REPLY);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK_INT(msg.cls, STUN_SUCCESS);
	CHECK_INT(msg.method, STUN_BINDING);
	CHECK_MEM(msg.txn, txn, 16);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
	CHECK(addr_equal((struct sockaddr *)&mapped, (struct sockaddr *)&src));
	/* Unsigned: no SOFTWARE, 32 bytes over IPv4 (reflection, RFC 8489 §14.14). */
	CHECK(stun_msg_find(&msg, STUN_ATTR_SOFTWARE) == NULL);
	CHECK(n == (src.ss_family == AF_INET ? 32u : 44u));
	CHECK_INT(msg.fp, -1);

	/* FINGERPRINT in, FINGERPRINT out (RFC 8489 §14.7). */
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, true);
	n = handle(TP_TCP, req, n, &src, out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK(msg.fp >= 0);
}

static void test_classic(void)
{
	static const uint8_t old_txn[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
					    5,    6,    7,    8,    9, 10, 11, 12};
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src, mapped;
	struct stun_msg msg;
	uint64_t before = stats.binding_rfc3489;
	size_t n;

	addr_parse("192.0.2.7:4242", 0, &src);
	n = request(req, STUN_BINDING, STUN_REQUEST, old_txn, 0, false);
	n = handle(TP_UDP, req, n, &src, out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK(!msg.magic);
	CHECK_MEM(msg.txn, old_txn, 16); /* RFC 5389 §12.2: echoed whole */
	CHECK(stun_msg_find(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL);
	CHECK(stun_msg_find(&msg, STUN_ATTR_SOFTWARE) == NULL);
	const struct stun_attr *a = stun_msg_find(&msg, STUN_ATTR_MAPPED_ADDRESS);
	CHECK(a && stun_attr_get_addr(&msg, a, &mapped) == 0);
	CHECK(a && addr_equal((struct sockaddr *)&mapped, (struct sockaddr *)&src));
	CHECK_INT(stats.binding_rfc3489, before + 1);
}

static void expect_error(uint16_t method, uint16_t attr, int code, uint16_t listed)
{
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src;
	struct stun_msg msg;
	const struct stun_attr *a;
	int got;
	const char *reason;
	size_t n, rlen, nt;
	uint16_t types[4];

	addr_parse("192.0.2.7:4242", 0, &src);
	n = request(req, method, STUN_REQUEST, txn, attr, false);
	n = handle(TP_UDP, req, n, &src, out);
	CHECK(n > 0);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK_INT(msg.cls, STUN_ERROR);
	CHECK_INT(msg.method, method);
	a = stun_msg_find(&msg, STUN_ATTR_ERROR_CODE);
	CHECK(a && stun_attr_get_error(&msg, a, &got, &reason, &rlen) == 0);
	CHECK_INT(a ? got : 0, code);
	if (!listed)
		return;
	a = stun_msg_find(&msg, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	CHECK(a && stun_attr_get_unknown(&msg, a, types, 4, &nt) == 0);
	CHECK_INT(a ? nt : 0, 1);
	CHECK_INT(a ? types[0] : 0, listed);
}

static void test_errors(void)
{
	uint64_t e420 = stats.errors[ERR_420], e400 = stats.errors[ERR_400];

	expect_error(STUN_BINDING, 0x0042, STUN_ERR_UNKNOWN_ATTRIBUTE, 0x0042);
	CHECK_INT(stats.errors[ERR_420], e420 + 1);
	/* CHANGE-REQUEST change-IP / change-port: no alternate address. */
	{
		uint8_t req[512], out[TURN_MAX_REPLY];
		struct sockaddr_storage src;
		struct stun_builder b;
		struct stun_msg msg;
		size_t n;

		addr_parse("192.0.2.7:4242", 0, &src);
		for (uint32_t flags = 0; flags <= 6; flags += 2) {
			stun_build_init(&b, req, sizeof(req), STUN_BINDING, STUN_REQUEST, txn);
			stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, flags);
			CHECK_INT(stun_build_finish(&b, &n), 0);
			n = handle(TP_UDP, req, n, &src, out);
			CHECK_INT(stun_msg_parse(&msg, out, n), 0);
			CHECK_INT(msg.cls, flags ? STUN_ERROR : STUN_SUCCESS);
		}
	}
	/* Comprehension-optional unknown attributes are ignored. */
	{
		uint8_t req[512], out[TURN_MAX_REPLY];
		struct sockaddr_storage src;
		struct stun_msg msg;
		size_t n;

		addr_parse("192.0.2.7:4242", 0, &src);
		n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0x8042, false);
		n = handle(TP_UDP, req, n, &src, out);
		CHECK_INT(stun_msg_parse(&msg, out, n), 0);
		CHECK_INT(msg.cls, STUN_SUCCESS);
	}
	/* RFC 5780 §7.5: RESPONSE-PORT is not supported (answers go only to
	 * the request's source): 420, with or without an alternate address. */
	expect_error(STUN_BINDING, STUN_ATTR_RESPONSE_PORT, STUN_ERR_UNKNOWN_ATTRIBUTE,
		     STUN_ATTR_RESPONSE_PORT);
	expect_error(0x0123, 0, STUN_ERR_BAD_REQUEST, 0);
	CHECK_INT(stats.errors[ERR_400], e400 + 1);
}

static void test_no_answer(void)
{
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src;
	size_t n;

	addr_parse("[2001:db8::1]:9", 0, &src);
	memset(&stats, 0, sizeof(stats));
	/* Binding indication: a keepalive, no answer, no drop counted. */
	n = request(req, STUN_BINDING, STUN_INDICATION, txn, 0, false);
	CHECK_INT(handle(TP_UDP, req, n, &src, out), 0);
	CHECK_INT(stats.drops[DROP_UNEXPECTED], 0);
	/* A success response sent to the server: dropped as unexpected. */
	n = request(req, STUN_BINDING, STUN_SUCCESS, txn, 0, false);
	CHECK_INT(handle(TP_UDP, req, n, &src, out), 0);
	CHECK_INT(stats.drops[DROP_UNEXPECTED], 1);
	/* Truncated, not STUN, malformed, bad fingerprint: each its counter. */
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, true);
	CHECK_INT(handle(TP_UDP, req, n - 4, &src, out), 0);
	CHECK_INT(stats.drops[DROP_TRUNCATED], 1);
	req[n - 1] ^= 1;
	CHECK_INT(handle(TP_UDP, req, n, &src, out), 0);
	CHECK_INT(stats.drops[DROP_FINGERPRINT], 1);
	req[0] = 0xc0;
	CHECK_INT(handle(TP_UDP, req, n, &src, out), 0);
	CHECK_INT(stats.drops[DROP_NOT_STUN], 1);
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, STUN_ATTR_XOR_MAPPED_ADDRESS, false);
	CHECK_INT(handle(TP_UDP, req, n, &src, out), 0);
	CHECK_INT(stats.drops[DROP_MALFORMED], 1);
}

static void test_software_off(void)
{
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src;
	struct stun_msg msg;
	size_t n;

	cfg.software = false;
	addr_parse("192.0.2.7:4242", 0, &src);
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, false);
	n = handle(TP_UDP, req, n, &src, out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK(stun_msg_find(&msg, STUN_ATTR_SOFTWARE) == NULL);
	cfg.software = true;
}

/* unauth-rate-limit: a UDP source gets its budget of unsigned answers, then
 * silence (counted); another source, and TCP, are not touched. */
static void test_unauth_rate(void)
{
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage a, a_port, b6, b6_same64, c;
	uint64_t drops = stats.drops[DROP_UNAUTH_RATE];
	size_t n, got = 0;

	cfg.unauth_rate = 3;
	ctx.unauth_rl = ratelimit_new(3, 64);
	ctx.unauth_log = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 1);
	ctx.now_ms = 1000;
	CHECK(ctx.unauth_rl != NULL);
	a = check_addr("192.0.2.7:4242");
	a_port = check_addr("192.0.2.7:4243");
	b6 = check_addr("[2001:db8:1:2::1]:5000");
	b6_same64 = check_addr("[2001:db8:1:2::99]:5001");
	c = check_addr("192.0.2.8:4242");
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, false);
	for (int i = 0; i < 5; i++)
		got += handle(TP_UDP, req, n, i % 2 ? &a_port : &a, out) > 0;
	CHECK_INT(got, 3); /* the burst; other ports of the address share it */
	CHECK_INT(stats.drops[DROP_UNAUTH_RATE], drops + 2);
	/* Errors too: an unknown method gets no 400 either. */
	n = request(req, 0x0ff, STUN_REQUEST, txn, 0, false);
	CHECK_INT(handle(TP_UDP, req, n, &a, out), 0);
	CHECK_INT(stats.drops[DROP_UNAUTH_RATE], drops + 3);
	n = request(req, STUN_BINDING, STUN_REQUEST, txn, 0, false);
	CHECK(handle(TP_TCP, req, n, &a, out) > 0); /* a handshake proved it */
	CHECK(handle(TP_UDP, req, n, &c, out) > 0);
	/* An IPv6 /64 is one source. */
	got = 0;
	for (int i = 0; i < 4; i++)
		got += handle(TP_UDP, req, n, i % 2 ? &b6_same64 : &b6, out) > 0;
	CHECK_INT(got, 3);
	/* Refilled at 3 per second. */
	ctx.now_ms += 1000;
	CHECK(handle(TP_UDP, req, n, &a, out) > 0);
	ratelimit_free(ctx.unauth_rl);
	ctx.unauth_rl = NULL;
	cfg.unauth_rate = 0;
}

/* Like handle, to a given local address. */
static size_t handle_at(enum turn_transport tr, const uint8_t *pkt, size_t len,
			const struct sockaddr_storage *src, const struct sockaddr_storage *local,
			uint8_t *out)
{
	struct turn_from from = {tr, (const struct sockaddr *)src, (const struct sockaddr *)local,
				 NULL};

	return turn_server_handle(&ctx, &from, pkt, len, out);
}

/* A Binding with CHANGE-REQUEST flags (or none: flags > 6), magic or classic. */
static size_t change_request(uint8_t *buf, uint32_t flags, bool classic)
{
	static const uint8_t old_txn[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
					    5,    6,    7,    8,    9, 10, 11, 12};
	struct stun_builder b;
	size_t n = 0;

	stun_build_init(&b, buf, 512, STUN_BINDING, STUN_REQUEST, classic ? old_txn : txn);
	if (flags <= 6)
		stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, flags);
	CHECK_INT(stun_build_finish(&b, &n), 0);
	return n;
}

/* The address attribute type of msg equals want. */
static bool has_addr(const struct stun_msg *msg, uint16_t type, const struct sockaddr_storage *want)
{
	const struct stun_attr *a = stun_msg_find(msg, type);
	struct sockaddr_storage got;

	return a && stun_attr_get_addr(msg, a, &got) == 0 &&
	       addr_equal((struct sockaddr *)&got, (const struct sockaddr *)want);
}

/* RFC 5780 with an alternate address: every arrival address and every
 * CHANGE-REQUEST, the address the answer must leave from (reply_via),
 * RESPONSE-ORIGIN and OTHER-ADDRESS; TCP and addresses outside the set
 * get 420 for CHANGE-REQUEST. */
static void test_nat(void)
{
	static const char *const names[TURN_NAT_ADDRS] = {"192.0.2.254:3478", "192.0.2.254:3479",
							  "198.51.100.9:3478", "198.51.100.9:3479"};
	uint8_t req[512], out[TURN_MAX_REPLY];
	struct sockaddr_storage src = check_addr("192.0.2.7:4242"),
				other = check_addr("[2001:db8::fe]:3478");
	struct stun_msg msg;
	size_t n;

	cfg.nat = true;
	for (int i = 0; i < TURN_NAT_ADDRS; i++)
		cfg.nat_addr[i] = check_addr(names[i]);
	for (int at = 0; at < TURN_NAT_ADDRS; at++) {
		for (uint32_t flags = 0; flags <= 8; flags += 2) {
			/* flags 8: no CHANGE-REQUEST at all. */
			int bits = flags > 6 ? 0
					     : ((flags & 4) ? TURN_NAT_IP : 0) |
						       ((flags & 2) ? TURN_NAT_PORT : 0);
			n = change_request(req, flags, false);
			n = handle_at(TP_UDP, req, n, &src, &cfg.nat_addr[at], out);
			CHECK_INT(stun_msg_parse(&msg, out, n), 0);
			CHECK_INT(msg.cls, STUN_SUCCESS);
			CHECK_INT(ctx.reply_via, bits ? at ^ bits : -1);
			CHECK(has_addr(&msg, STUN_ATTR_RESPONSE_ORIGIN, &cfg.nat_addr[at ^ bits]));
			CHECK(has_addr(&msg, STUN_ATTR_OTHER_ADDRESS, &cfg.nat_addr[at ^ 3]));
			/* Small: XOR-MAPPED-ADDRESS, the two addresses, SOFTWARE. */
			CHECK(n <= 20 + 3 * 12 + 24);
		}
		/* TCP: one connection, one address pair (RFC 5780 §6.1: 420). */
		n = change_request(req, 6, false);
		n = handle_at(TP_TCP, req, n, &src, &cfg.nat_addr[at], out);
		CHECK_INT(stun_msg_parse(&msg, out, n), 0);
		CHECK_INT(msg.cls, STUN_ERROR);
		CHECK_INT(ctx.reply_via, -1);
		n = change_request(req, 9, false);
		n = handle_at(TP_TCP, req, n, &src, &cfg.nat_addr[at], out);
		CHECK_INT(stun_msg_parse(&msg, out, n), 0);
		CHECK(has_addr(&msg, STUN_ATTR_RESPONSE_ORIGIN, &cfg.nat_addr[at]));
		CHECK(has_addr(&msg, STUN_ATTR_OTHER_ADDRESS, &cfg.nat_addr[at ^ 3]));
	}
	/* RESPONSE-PORT: 420 here too, and the answer leaves as it came. */
	{
		struct stun_builder b;
		const struct stun_attr *a;
		uint16_t types[4];
		size_t nt = 0;

		stun_build_init(&b, req, sizeof(req), STUN_BINDING, STUN_REQUEST, txn);
		stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, 6);
		stun_build_u32(&b, STUN_ATTR_RESPONSE_PORT, 0x12340000);
		CHECK_INT(stun_build_finish(&b, &n), 0);
		n = handle_at(TP_UDP, req, n, &src, &cfg.nat_addr[0], out);
		CHECK_INT(stun_msg_parse(&msg, out, n), 0);
		CHECK_INT(msg.cls, STUN_ERROR);
		CHECK_INT(ctx.reply_via, -1);
		a = stun_msg_find(&msg, STUN_ATTR_UNKNOWN_ATTRIBUTES);
		CHECK(a && stun_attr_get_unknown(&msg, a, types, 4, &nt) == 0);
		CHECK(nt == 1 && types[0] == STUN_ATTR_RESPONSE_PORT);
	}
	/* A classic (RFC 3489) client: SOURCE-ADDRESS and CHANGED-ADDRESS. */
	n = change_request(req, 4, true);
	n = handle_at(TP_UDP, req, n, &src, &cfg.nat_addr[0], out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK_INT(ctx.reply_via, TURN_NAT_IP);
	CHECK(has_addr(&msg, STUN_ATTR_SOURCE_ADDRESS, &cfg.nat_addr[TURN_NAT_IP]));
	CHECK(has_addr(&msg, STUN_ATTR_CHANGED_ADDRESS, &cfg.nat_addr[3]));
	CHECK(stun_msg_find(&msg, STUN_ATTR_RESPONSE_ORIGIN) == NULL);
	/* A listening address outside the set: no discovery there. */
	n = change_request(req, 2, false);
	n = handle_at(TP_UDP, req, n, &src, &other, out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK_INT(msg.cls, STUN_ERROR);
	CHECK_INT(ctx.reply_via, -1);
	n = change_request(req, 9, false);
	n = handle_at(TP_UDP, req, n, &src, &other, out);
	CHECK_INT(stun_msg_parse(&msg, out, n), 0);
	CHECK(stun_msg_find(&msg, STUN_ATTR_OTHER_ADDRESS) == NULL);
	CHECK(stun_msg_find(&msg, STUN_ATTR_RESPONSE_ORIGIN) == NULL);
	cfg.nat = false;
}

int main(void)
{
	test_binding("192.0.2.1:32853");
	test_binding("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	test_classic();
	test_errors();
	test_no_answer();
	test_software_off();
	test_unauth_rate();
	test_nat();
	return check_done("test_turn_server");
}
