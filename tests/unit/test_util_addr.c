/* test_util_addr.c - unit tests for src/util/addr.c: parsing, formatting,
 * comparison and the keyed SipHash-2-4 address hash. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "turnpike/err.h"
#include "util/addr.h"

#define SA(ss) ((struct sockaddr *)(ss))

/* Parses s and checks the family, the formatted address and the port. */
static void parse_ok(const char *s, uint16_t def_port, int family, const char *want_ip,
		     uint16_t want_port)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	int rc = addr_parse(s, def_port, &ss);

	CHECK_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  (parsing \"%s\")\n", s);
		return;
	}
	CHECK_INT(ss.ss_family, family);
	CHECK_STR(addr_format(SA(&ss), false, buf, sizeof(buf)), want_ip);
	CHECK_INT(addr_port(SA(&ss)), want_port);
}

static void parse_bad(const char *s)
{
	struct sockaddr_storage ss;
	int rc;

	memset(&ss, 0xa5, sizeof(ss));
	rc = addr_parse(s, 3478, &ss);
	CHECK_INT(rc, TP_EINVAL);
	if (rc != TP_EINVAL)
		fprintf(stderr, "  (\"%s\" was accepted)\n", s);
	/* A rejected parse leaves no half-filled address behind. */
	CHECK_INT(ss.ss_family, 0);
}

static void test_parse(void)
{
	char longbuf[300];

	parse_ok("1.2.3.4", 3478, AF_INET, "1.2.3.4", 3478);
	parse_ok("1.2.3.4", 0, AF_INET, "1.2.3.4", 0);
	parse_ok("1.2.3.4:5", 3478, AF_INET, "1.2.3.4", 5);
	parse_ok("1.2.3.4:0", 3478, AF_INET, "1.2.3.4", 0);
	parse_ok("255.255.255.255:65535", 1, AF_INET, "255.255.255.255", 65535);
	parse_ok("0.0.0.0", 7, AF_INET, "0.0.0.0", 7);
	parse_ok("::1", 3478, AF_INET6, "::1", 3478);
	parse_ok("::", 9, AF_INET6, "::", 9);
	parse_ok("[::1]", 3478, AF_INET6, "::1", 3478);
	parse_ok("[::1]:5", 3478, AF_INET6, "::1", 5);
	parse_ok("[2001:db8::1]:65535", 3478, AF_INET6, "2001:db8::1", 65535);
	parse_ok("2001:db8:0:0:0:0:0:1", 1, AF_INET6, "2001:db8::1", 1);
	parse_ok("::ffff:1.2.3.4", 1, AF_INET6, "::ffff:1.2.3.4", 1);
	parse_ok("[::ffff:1.2.3.4]:80", 1, AF_INET6, "::ffff:1.2.3.4", 80);

	parse_bad("");
	parse_bad("1.2.3");
	parse_bad("1.2.3.4:");
	parse_bad("1.2.3.4:65536");
	parse_bad("1.2.3.4:99999999999999999999999");
	parse_bad("1.2.3.4:-1");
	parse_bad("1.2.3.4:+5");
	parse_bad("1.2.3.4: 5");
	parse_bad("1.2.3.4:5x");
	parse_bad("1.2.3.4.5");
	parse_bad("256.1.1.1");
	parse_bad(" 1.2.3.4");
	parse_bad(":5");
	parse_bad("[::1");
	parse_bad("[::1]x");
	parse_bad("[::1]:");
	parse_bad("[::1]:x");
	parse_bad("[::1]:65536");
	parse_bad("[]");
	parse_bad("[]:5");
	parse_bad("[::1]]");
	parse_bad("host.example");
	parse_bad("host.example:80");
	parse_bad("localhost");
	/* Two or more colons without brackets is a bare IPv6 literal, so a
	 * v4 address with two ports is not a valid one. */
	parse_bad("1.2.3.4:5:6");
	parse_bad("::1:65536x");
	parse_bad("2001:db8::1::2");

	/* Overlong hosts are rejected before they reach the host buffer. */
	memset(longbuf, '1', sizeof(longbuf) - 1);
	longbuf[sizeof(longbuf) - 1] = '\0';
	parse_bad(longbuf);
	longbuf[0] = '[';
	longbuf[sizeof(longbuf) - 4] = ']';
	longbuf[sizeof(longbuf) - 3] = ':';
	longbuf[sizeof(longbuf) - 2] = '5';
	parse_bad(longbuf);
	/* A valid v6 literal padded past INET6_ADDRSTRLEN with leading zeros
	 * would be too long for the host buffer. */
	memset(longbuf, 0, sizeof(longbuf));
	strcpy(longbuf, "0000:0000:0000:0000:0000:0000:0000:0001");
	strcat(longbuf, "00000000000000000000");
	parse_bad(longbuf);
}

static void test_format(void)
{
	static const char *const round[] = {
		"1.2.3.4:5",           "0.0.0.0:0", "255.255.255.255:65535", "[::1]:5",
		"[2001:db8::1]:65535", "[::]:3478", "[::ffff:10.0.0.1]:1",
	};
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN], small[8];

	for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		CHECK_INT(addr_parse(round[i], 0, &ss), 0);
		CHECK_STR(addr_format(SA(&ss), true, buf, sizeof(buf)), round[i]);
	}

	CHECK_INT(addr_parse("[2001:db8::7]:99", 0, &ss), 0);
	CHECK_STR(addr_format(SA(&ss), false, buf, sizeof(buf)), "2001:db8::7");
	CHECK_INT(addr_parse("10.0.0.1:99", 0, &ss), 0);
	CHECK_STR(addr_format(SA(&ss), false, buf, sizeof(buf)), "10.0.0.1");

	/* The longest literal (45 characters in, 39 out) with brackets and
	 * port fits in ADDR_STRLEN. */
	CHECK_INT(addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 0, &ss), 0);
	CHECK_STR(addr_format(SA(&ss), true, buf, sizeof(buf)),
		  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

	/* Truncates into a small buffer and stays NUL-terminated. */
	CHECK_INT(addr_parse("[2001:db8::1]:65535", 0, &ss), 0);
	memset(small, 'x', sizeof(small));
	CHECK(addr_format(SA(&ss), true, small, sizeof(small)) == small);
	CHECK_STR(small, "[2001:d");
	/* cap 0 writes nothing. */
	small[0] = 'x';
	CHECK(addr_format(SA(&ss), true, small, 0) == small);
	CHECK_INT(small[0], 'x');

	/* Unknown family. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	addr_format(SA(&ss), true, buf, sizeof(buf));
	CHECK(strstr(buf, "family") != NULL);
	CHECK_INT(addr_len(SA(&ss)), 0);
	CHECK_INT(addr_port(SA(&ss)), 0);
	addr_set_port(SA(&ss), 80); /* ignored */
	CHECK_INT(addr_port(SA(&ss)), 0);
}

static void test_port_len(void)
{
	struct sockaddr_storage ss;

	CHECK_INT(addr_parse("1.2.3.4:5", 0, &ss), 0);
	CHECK_INT(addr_len(SA(&ss)), sizeof(struct sockaddr_in));
	addr_set_port(SA(&ss), 65535);
	CHECK_INT(addr_port(SA(&ss)), 65535);
	CHECK_INT(((struct sockaddr_in *)&ss)->sin_port, htons(65535));
	addr_set_port(SA(&ss), 0x1234);
	CHECK_INT(((struct sockaddr_in *)&ss)->sin_port, htons(0x1234));

	CHECK_INT(addr_parse("[::1]:5", 0, &ss), 0);
	CHECK_INT(addr_len(SA(&ss)), sizeof(struct sockaddr_in6));
	addr_set_port(SA(&ss), 443);
	CHECK_INT(addr_port(SA(&ss)), 443);
	CHECK_INT(((struct sockaddr_in6 *)&ss)->sin6_port, htons(443));
}

static void test_equal(void)
{
	struct sockaddr_storage a, b, c, d, e, u1, u2;

	CHECK_INT(addr_parse("1.2.3.4:5", 0, &a), 0);
	CHECK_INT(addr_parse("1.2.3.4:5", 0, &b), 0);
	CHECK_INT(addr_parse("1.2.3.4:6", 0, &c), 0);
	CHECK_INT(addr_parse("1.2.3.5:5", 0, &d), 0);
	CHECK_INT(addr_parse("[::ffff:1.2.3.4]:5", 0, &e), 0);

	CHECK(addr_equal(SA(&a), SA(&b)));
	CHECK(addr_equal_ip(SA(&a), SA(&b)));
	CHECK(!addr_equal(SA(&a), SA(&c)));
	CHECK(addr_equal_ip(SA(&a), SA(&c)));
	CHECK(!addr_equal(SA(&a), SA(&d)));
	CHECK(!addr_equal_ip(SA(&a), SA(&d)));
	/* A v4-mapped v6 address is a different family: not equal. */
	CHECK(!addr_equal(SA(&a), SA(&e)));
	CHECK(!addr_equal_ip(SA(&a), SA(&e)));
	CHECK(!addr_equal_ip(SA(&e), SA(&a)));

	CHECK_INT(addr_parse("[2001:db8::1]:5", 0, &a), 0);
	CHECK_INT(addr_parse("2001:db8:0::1", 5, &b), 0);
	CHECK_INT(addr_parse("[2001:db8::1]:6", 0, &c), 0);
	CHECK_INT(addr_parse("[2001:db8::2]:5", 0, &d), 0);
	CHECK(addr_equal(SA(&a), SA(&b)));
	CHECK(!addr_equal(SA(&a), SA(&c)));
	CHECK(addr_equal_ip(SA(&a), SA(&c)));
	CHECK(!addr_equal(SA(&a), SA(&d)));
	CHECK(!addr_equal_ip(SA(&a), SA(&d)));

	/* Unknown families never compare equal, even to themselves. */
	memset(&u1, 0, sizeof(u1));
	memset(&u2, 0, sizeof(u2));
	u1.ss_family = u2.ss_family = AF_UNIX;
	CHECK(!addr_equal(SA(&u1), SA(&u2)));
	CHECK(!addr_equal_ip(SA(&u1), SA(&u2)));
}

static void test_is_any(void)
{
	struct sockaddr_storage ss;

	CHECK_INT(addr_parse("0.0.0.0:5", 0, &ss), 0);
	CHECK(addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("[::]:5", 0, &ss), 0);
	CHECK(addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("::", 0, &ss), 0);
	CHECK(addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("0.0.0.1", 0, &ss), 0);
	CHECK(!addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("127.0.0.1", 0, &ss), 0);
	CHECK(!addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("::1", 0, &ss), 0);
	CHECK(!addr_is_any(SA(&ss)));
	CHECK_INT(addr_parse("::ffff:0.0.0.0", 0, &ss), 0);
	CHECK(!addr_is_any(SA(&ss)));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	CHECK(!addr_is_any(SA(&ss)));
}

static void test_hash(void)
{
	static const uint8_t key1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t key2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
	struct sockaddr_storage a, b, c, d, e, u;
	uint64_t h1;

	addr_hash_seed(key1);
	CHECK_INT(addr_parse("192.0.2.1:5000", 0, &a), 0);
	CHECK_INT(addr_parse("192.0.2.1", 5000, &b), 0);
	/* Bytes outside the address and port do not take part. */
	memset((char *)&b + sizeof(struct sockaddr_in), 0x5a,
	       sizeof(b) - sizeof(struct sockaddr_in));
	CHECK_INT(addr_parse("192.0.2.1:5001", 0, &c), 0);
	CHECK_INT(addr_parse("192.0.2.2:5000", 0, &d), 0);
	CHECK_INT(addr_parse("[::ffff:192.0.2.1]:5000", 0, &e), 0);

	h1 = addr_hash(SA(&a));
	CHECK(h1 == addr_hash(SA(&a)));
	CHECK(h1 == addr_hash(SA(&b)));
	CHECK(h1 != addr_hash(SA(&c)));
	CHECK(h1 != addr_hash(SA(&d)));
	CHECK(h1 != addr_hash(SA(&e)));

	CHECK_INT(addr_parse("[2001:db8::1]:5000", 0, &a), 0);
	CHECK_INT(addr_parse("2001:db8::1", 5000, &b), 0);
	CHECK_INT(addr_parse("[2001:db8::1]:5001", 0, &c), 0);
	h1 = addr_hash(SA(&a));
	CHECK(h1 == addr_hash(SA(&b)));
	CHECK(h1 != addr_hash(SA(&c)));

	/* A different seed gives a different hash for the same address. */
	addr_hash_seed(key2);
	CHECK(h1 != addr_hash(SA(&a)));
	CHECK(addr_hash(SA(&a)) == addr_hash(SA(&b)));
	addr_hash_seed(key1);
	CHECK(h1 == addr_hash(SA(&a)));

	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	CHECK(addr_hash(SA(&u)) == 0);
}

/* The reference SipHash-2-4 vectors: key 00..0f, message 00..(len-1). */
static void test_siphash(void)
{
	static const struct {
		size_t len;
		uint64_t want;
	} vec[] = {
		{0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},
		{7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},
		{15, 0xa129ca6149be45e5ULL}, {16, 0x3f2acc7f57c29bdbULL},
	};
	uint8_t key[16], msg[16];

	for (int i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint64_t got = addr_siphash(key, msg, vec[i].len);
		CHECK(got == vec[i].want);
		if (got != vec[i].want)
			fprintf(stderr, "  len %zu: got %016llx\n", vec[i].len,
				(unsigned long long)got);
	}
	/* An empty message may come as a NULL pointer. */
	CHECK(addr_siphash(key, NULL, 0) == 0x726fdb47dd0e0e31ULL);
	/* The input is read in place, whatever its alignment. */
	{
		uint8_t shifted[17];
		memcpy(shifted + 1, msg, 15);
		CHECK(addr_siphash(key, shifted + 1, 15) == 0xa129ca6149be45e5ULL);
	}
}

int main(void)
{
	test_parse();
	test_format();
	test_port_len();
	test_equal();
	test_is_any();
	test_hash();
	test_siphash();
	return check_done("test_util_addr");
}
