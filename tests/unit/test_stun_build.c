/* test_stun_build.c - unit tests for src/stun/build.c: every builder call
 * round-trips through the parser and the decoders; overflow, ordering and
 * argument errors are sticky and never write past the buffer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "check.h"
#include "stun/stun_int.h"

static const uint8_t txn[16] = {0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
				0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";

static uint8_t buf[4096];
static struct stun_msg msg;

static void sa4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
}

static void sa6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
}

/* Finishes b and parses the result into msg; returns the length or 0. */
static size_t done(struct stun_builder *b)
{
	size_t n;

	if (stun_build_finish(b, &n) != 0)
		return 0;
	if (stun_msg_parse(&msg, buf, n) != 0)
		return 0;
	return n;
}

static void test_header(void)
{
	struct stun_builder b;
	size_t n;

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	n = done(&b);
	CHECK_INT(n, 20);
	CHECK_INT(buf[0], 0x01);
	CHECK_INT(buf[1], 0x13);
	CHECK_INT(buf[2], 0);
	CHECK_INT(buf[3], 0);
	CHECK_MEM(buf + 4, txn, 16);
	CHECK_INT(msg.method, TURN_ALLOCATE);
	CHECK_INT(msg.cls, STUN_ERROR);
	CHECK(msg.magic);

	stun_build_init(&b, buf, sizeof(buf), 0x1000, STUN_REQUEST, txn);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	CHECK_INT(n, 0);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, 4, txn);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, 19, STUN_BINDING, STUN_REQUEST, txn);
	CHECK_INT(stun_build_finish(&b, &n), TP_ENOSPC);
	stun_build_init(&b, buf, 20, STUN_BINDING, STUN_REQUEST, txn);
	CHECK_INT(stun_build_finish(&b, &n), 0);
	CHECK_INT(n, 20);
}

static void test_addrs(void)
{
	struct sockaddr_storage in, out;
	struct stun_builder b;
	struct sockaddr_un un;
	size_t n;
	const uint8_t *v;

	/* RFC 5769 §2.2: 192.0.2.1:32853 XORs to 00 01 a1 47 e1 12 a6 43 */
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_SUCCESS, txn);
	sa4(&in, "192.0.2.1", 32853);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&in);
	n = done(&b);
	CHECK_INT(n, 32);
	v = buf + 24;
	CHECK_MEM(v, "\x00\x01\xa1\x47\xe1\x12\xa6\x43", 8);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &out), 0);
	CHECK(same_addr(&in, &out));

	/* RFC 5769 §2.3's IPv6 address */
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_SUCCESS, txn);
	sa6(&in, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&in);
	n = done(&b);
	CHECK_INT(n, 44);
	CHECK_MEM(buf + 24,
		  "\x00\x02\xa1\x47\x01\x13\xa9\xfa\xa5\xd3\xf1\x79"
		  "\xbc\x25\xf4\xb5\xbe\xd2\xb9\xd9",
		  20);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &out), 0);
	CHECK(same_addr(&in, &out));

	/* plain encodings, and XOR ones for the TURN address attributes */
	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_SUCCESS, txn);
	sa4(&in, "10.1.2.3", 3478);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&in);
	sa6(&in, "::1", 65535);
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER, (struct sockaddr *)&in);
	sa6(&in, "fe80::abcd:1", 1);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&in);
	sa4(&in, "255.255.255.255", 0);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&in);
	n = done(&b);
	CHECK_INT(n, 20 + 12 + 24 + 24 + 12);
	CHECK_MEM(buf + 24, "\x00\x01\x0d\x96\x0a\x01\x02\x03", 8);
	CHECK_INT(msg.nattrs, 4);
	sa4(&in, "10.1.2.3", 3478);
	CHECK_INT(stun_attr_get_addr(&msg, &msg.attrs[0], &out), 0);
	CHECK(same_addr(&in, &out));
	sa6(&in, "::1", 65535);
	CHECK_INT(stun_attr_get_addr(&msg, &msg.attrs[1], &out), 0);
	CHECK(same_addr(&in, &out));
	sa6(&in, "fe80::abcd:1", 1);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_RELAYED_ADDRESS, &out), 0);
	CHECK(same_addr(&in, &out));
	sa4(&in, "255.255.255.255", 0);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_PEER_ADDRESS, &out), 0);
	CHECK(same_addr(&in, &out));

	/* families STUN cannot carry */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_SUCCESS, txn);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, (struct sockaddr *)&un);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_SUCCESS, txn);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, NULL);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
}

static void test_values(void)
{
	static const uint8_t zeros[4];
	static const uint16_t unk[3] = {0x001a, 0x0fff, 0x7001};
	struct stun_builder b;
	const struct stun_attr *a;
	uint16_t types[8], chan;
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	size_t n;
	bool r;

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_REQUEST, txn);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, 0x0102030405060708ull);
	stun_build_string(&b, STUN_ATTR_USERNAME, "evtj:h6vY");
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "");
	stun_build_unknown(&b, unk, 3);
	stun_build_channel(&b, 0x4abc);
	stun_build_transport(&b, 17);
	stun_build_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x02);
	stun_build_family(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 0x01);
	stun_build_even_port(&b, true);
	stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	stun_build_attr(&b, STUN_ATTR_DATA, "\xde\xad\xbe", 3);
	stun_build_attr(&b, STUN_ATTR_DATA, NULL, 0);
	n = done(&b);
	CHECK(n > 0);
	CHECK_INT(msg.nattrs, 13);
	CHECK_INT(msg.nunknown, 0);

	CHECK_INT(stun_msg_u32(&msg, STUN_ATTR_LIFETIME, &u32), 0);
	CHECK_INT(u32, 600);
	a = stun_msg_find(&msg, STUN_ATTR_RESERVATION_TOKEN);
	CHECK_INT(stun_attr_get_u64(&msg, a, &u64), 0);
	CHECK(u64 == 0x0102030405060708ull);
	a = stun_msg_find(&msg, STUN_ATTR_USERNAME);
	CHECK_INT(a->len, 9);
	CHECK_MEM(stun_attr_value(&msg, a), "evtj:h6vY", 9);
	CHECK_MEM(stun_attr_value(&msg, a) + 9, zeros, 3); /* zero padding */
	a = stun_msg_find(&msg, STUN_ATTR_SOFTWARE);
	CHECK_INT(a->len, 0);
	a = stun_msg_find(&msg, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	CHECK_INT(a->len, 6);
	CHECK_MEM(stun_attr_value(&msg, a) + 6, zeros, 2);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 8, &n), 0);
	CHECK_INT(n, 3);
	CHECK_MEM(types, unk, sizeof(unk));
	a = stun_msg_find(&msg, STUN_ATTR_CHANNEL_NUMBER);
	CHECK_INT(stun_attr_get_channel(&msg, a, &chan), 0);
	CHECK_INT(chan, 0x4abc);
	CHECK_MEM(stun_attr_value(&msg, a) + 2, zeros, 2);
	a = stun_msg_find(&msg, STUN_ATTR_REQUESTED_TRANSPORT);
	CHECK_INT(stun_attr_get_transport(&msg, a, &u8), 0);
	CHECK_INT(u8, 17);
	CHECK_MEM(stun_attr_value(&msg, a) + 1, zeros, 3);
	a = stun_msg_find(&msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	CHECK_INT(stun_attr_get_family(&msg, a, &u8), 0);
	CHECK_INT(u8, 0x02);
	a = stun_msg_find(&msg, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	CHECK_INT(stun_attr_get_family(&msg, a, &u8), 0);
	CHECK_INT(u8, 0x01);
	a = stun_msg_find(&msg, STUN_ATTR_EVEN_PORT);
	CHECK_INT(a->len, 1);
	CHECK_INT(stun_attr_get_even_port(&msg, a, &r), 0);
	CHECK(r);
	CHECK_MEM(stun_attr_value(&msg, a) + 1, zeros, 3);
	a = stun_msg_find(&msg, STUN_ATTR_DONT_FRAGMENT);
	CHECK_INT(a->len, 0);
	a = stun_msg_find(&msg, STUN_ATTR_DATA);
	CHECK_INT(a->len, 3);
	CHECK_MEM(stun_attr_value(&msg, a), "\xde\xad\xbe\x00", 4);
	CHECK_INT(msg.attrs[12].len, 0);

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_REQUEST, txn);
	stun_build_even_port(&b, false);
	stun_build_unknown(&b, NULL, 0);
	CHECK(done(&b) > 0);
	CHECK_INT(stun_attr_get_even_port(&msg, &msg.attrs[0], &r), 0);
	CHECK(!r);
	CHECK_INT(msg.attrs[1].len, 0);

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_USERNAME, NULL);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
}

static void test_error(void)
{
	char longr[400], utf8[601];
	struct stun_builder b;
	const char *reason;
	size_t n, rlen;
	int code, i;

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, 401, NULL);
	CHECK(done(&b) > 0);
	CHECK_INT(stun_attr_get_error(&msg, &msg.attrs[0], &code, &reason, &rlen), 0);
	CHECK_INT(code, 401);
	CHECK_INT(rlen, strlen("Unauthenticated"));
	CHECK(!memcmp(reason, "Unauthenticated", rlen));
	CHECK_MEM(stun_attr_value(&msg, &msg.attrs[0]), "\x00\x00\x04\x01", 4);

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, 438, "Stale");
	stun_build_error(&b, 699, "");
	stun_build_error(&b, 300, NULL);
	CHECK(done(&b) > 0);
	CHECK_MEM(stun_attr_value(&msg, &msg.attrs[0]), "\x00\x00\x04\x26Stale", 9);
	CHECK_INT(stun_attr_get_error(&msg, &msg.attrs[1], &code, &reason, &rlen), 0);
	CHECK_INT(code, 699);
	CHECK_INT(rlen, 0);
	CHECK_INT(stun_attr_get_error(&msg, &msg.attrs[2], &code, &reason, &rlen), 0);
	CHECK_INT(code, 300);

	/* RFC 8489 §14.8: fewer than 128 characters */
	memset(longr, 'x', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	for (i = 0; i < 300; i++) { /* 300 two-byte characters */
		utf8[2 * i] = (char)0xc3;
		utf8[2 * i + 1] = (char)0xa9;
	}
	utf8[600] = '\0';
	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, 500, longr);
	stun_build_error(&b, 500, utf8);
	CHECK(done(&b) > 0);
	CHECK_INT(msg.attrs[0].len, 4 + 127);
	CHECK_INT(msg.attrs[1].len, 4 + 254);
	CHECK_INT(stun_attr_value(&msg, &msg.attrs[1])[4 + 253], 0xa9);

	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, 299, NULL);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, 700, NULL);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);

	/* ADDRESS-ERROR-CODE (RFC 8656 §18.12): the family in the first byte. */
	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_SUCCESS, txn);
	stun_build_address_error(&b, 0x02, 440, NULL);
	CHECK(done(&b) > 0);
	CHECK_INT(msg.attrs[0].type, STUN_ATTR_ADDRESS_ERROR_CODE);
	CHECK_INT(msg.attrs[0].len, 4 + strlen("Address Family not Supported"));
	CHECK_MEM(stun_attr_value(&msg, &msg.attrs[0]),
		  "\x02\x00\x04\x28"
		  "Address Family",
		  18);
	stun_build_init(&b, buf, sizeof(buf), TURN_ALLOCATE, STUN_SUCCESS, txn);
	stun_build_address_error(&b, 0x01, 200, NULL);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
}

/* RFC 8489 §14.5-§14.7 ordering, and the seal after FINGERPRINT. */
static void test_order(void)
{
	struct stun_builder b;
	size_t n;

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_USERNAME, "u");
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 32);
	stun_build_fingerprint(&b);
	CHECK(b.sealed);
	n = done(&b);
	CHECK(n > 0);
	CHECK_INT(msg.nattrs, 4);
	CHECK_INT(msg.mi, 1);
	CHECK_INT(msg.mi256, 2);
	CHECK_INT(msg.fp, 3);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "late");
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	CHECK_INT(n, 0);

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_fingerprint(&b);
	stun_build_fingerprint(&b);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "ignored by receivers");
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 16);
	stun_build_integrity(&b, key, sizeof(key) - 1);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_fingerprint(&b);
	CHECK(done(&b) > 0);
	CHECK_INT(stun_msg_check_integrity(&msg, key, sizeof(key) - 1), 0);

	/* MESSAGE-INTEGRITY-SHA256 sizes: 16..32, multiples of 4 */
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 12);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 18);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 36);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 20);
	CHECK(done(&b) > 0);
	CHECK_INT(msg.attrs[0].len, 20);
	CHECK_INT(stun_msg_check_integrity_sha256(&msg, key, sizeof(key) - 1), 0);
}

/* Writes a message with every kind of attribute into a buffer of cap. */
static int build_all(uint8_t *out, size_t cap, size_t *n)
{
	static const uint16_t unk[2] = {0x0fff, 0x0ffe};
	struct sockaddr_storage ss;
	struct stun_builder b;

	stun_build_init(&b, out, cap, TURN_ALLOCATE, STUN_SUCCESS, txn);
	sa6(&ss, "2001:db8::1", 5000);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&ss);
	sa4(&ss, "192.0.2.7", 5001);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&ss);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, 42);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "turnpike");
	stun_build_error(&b, 420, NULL);
	stun_build_unknown(&b, unk, 2);
	stun_build_channel(&b, 0x4000);
	stun_build_transport(&b, 17);
	stun_build_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	stun_build_even_port(&b, true);
	stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	stun_build_integrity(&b, key, sizeof(key) - 1);
	stun_build_integrity_sha256(&b, key, sizeof(key) - 1, 32);
	stun_build_fingerprint(&b);
	return stun_build_finish(&b, n);
}

static void test_overflow(void)
{
	static uint8_t big[STUN_MAX_MSG + 100], data[65536];
	uint8_t area[600];
	struct stun_builder b;
	size_t full, cap, n;
	unsigned bad_rc = 0, bad_canary = 0, bad_len = 0;

	CHECK_INT(build_all(buf, sizeof(buf), &full), 0);
	CHECK_INT(stun_msg_parse(&msg, buf, full), 0);
	CHECK_INT(msg.nattrs, 15);
	CHECK(full < sizeof(area) - 16);

	/* every capacity short of the message fails without writing past it */
	for (cap = 0; cap < full; cap++) {
		memset(area, 0xa5, sizeof(area));
		if (build_all(area, cap, &n) != TP_ENOSPC)
			bad_rc++;
		if (n != 0)
			bad_len++;
		for (size_t i = cap; i < sizeof(area); i++)
			if (area[i] != 0xa5) {
				bad_canary++;
				break;
			}
	}
	CHECK_INT(bad_rc, 0);
	CHECK_INT(bad_len, 0);
	CHECK_INT(bad_canary, 0);
	memset(area, 0xa5, sizeof(area));
	CHECK_INT(build_all(area, full, &n), 0);
	CHECK_INT(n, full);
	CHECK_MEM(area, buf, full);
	CHECK_INT(area[full], 0xa5);

	/* errors are sticky: nothing is written after the first one */
	stun_build_init(&b, area, 28, STUN_BINDING, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "12345");
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 1);
	CHECK_INT(b.w.pos, 20);
	CHECK_INT(stun_build_finish(&b, &n), TP_ENOSPC);

	/* the 16-bit length field limits a message to 20 + 65532 bytes,
	 * whatever the buffer */
	stun_build_init(&b, big, sizeof(big), TURN_SEND, STUN_INDICATION, txn);
	stun_build_attr(&b, STUN_ATTR_DATA, data, 65528);
	CHECK_INT(stun_build_finish(&b, &n), 0);
	CHECK_INT(n, 20 + 65532);
	CHECK_INT(stun_msg_parse(&msg, big, n), 0);
	stun_build_init(&b, big, sizeof(big), TURN_SEND, STUN_INDICATION, txn);
	stun_build_attr(&b, STUN_ATTR_DATA, data, 65525);
	stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	CHECK_INT(stun_build_finish(&b, &n), TP_ENOSPC);
	stun_build_init(&b, big, sizeof(big), TURN_SEND, STUN_INDICATION, txn);
	stun_build_attr(&b, STUN_ATTR_DATA, data, 65536);
	CHECK_INT(stun_build_finish(&b, &n), TP_EINVAL);
}

static void test_txn(void)
{
	uint8_t a[16], b[16];

	CHECK_INT(stun_txn_new(a), 0);
	CHECK_INT(stun_txn_new(b), 0);
	CHECK_MEM(a, "\x21\x12\xa4\x42", 4);
	CHECK_MEM(b, "\x21\x12\xa4\x42", 4);
	CHECK(memcmp(a + 4, b + 4, 12) != 0);
}

int main(void)
{
	test_header();
	test_addrs();
	test_values();
	test_error();
	test_order();
	test_overflow();
	test_txn();
	return check_done("test_stun_build");
}
