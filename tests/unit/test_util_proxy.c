/* test_util_proxy.c - unit tests for src/util/proxy.c: PROXY protocol v1
 * and v2 headers, IPv4 and IPv6, LOCAL and UNKNOWN, partial input, and
 * what must be refused. */
#include <string.h>

#include "check.h"
#include "util/addr.h"
#include "util/proxy.h"

static int parse(const char *buf, size_t len, char *who, size_t *used)
{
	struct sockaddr_storage src;
	int r = proxy_parse((const uint8_t *)buf, len, &src, used);

	who[0] = '\0';
	if (r == 1 && src.ss_family != AF_UNSPEC)
		addr_format((struct sockaddr *)&src, true, who, ADDR_STRLEN);
	return r;
}

static void test_v1(void)
{
	const char *h = "PROXY TCP4 203.0.113.7 192.0.2.1 40000 3478\r\nrest";
	char who[ADDR_STRLEN];
	size_t used = 0;

	CHECK_INT(parse(h, strlen(h), who, &used), 1);
	CHECK_STR(who, "203.0.113.7:40000");
	CHECK_INT(used, strlen(h) - 4);
	for (size_t n = 0; n < strlen(h) - 4; n++)
		CHECK_INT(parse(h, n, who, &used), 0); /* more bytes needed */
	h = "PROXY TCP6 2001:db8::7 2001:db8::1 1 3478\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), 1);
	CHECK_STR(who, "[2001:db8::7]:1");
	h = "PROXY UNKNOWN\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), 1);
	CHECK_STR(who, "");
	/* Refused: another family than said, a bad port, no CR, junk. */
	h = "PROXY TCP4 2001:db8::7 192.0.2.1 1 2\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	h = "PROXY TCP4 203.0.113.7 192.0.2.1 70000 2\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	h = "PROXY TCP4 203.0.113.7 192.0.2.1 -1 2\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	h = "PROXY TCP4 203.0.113.7 192.0.2.1 1 2\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	h = "PROXY TCP4 203.0.113.7\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	h = "GET / HTTP/1.1\r\n";
	CHECK_INT(parse(h, strlen(h), who, &used), -1);
	{
		char longline[200];
		memset(longline, 'x', sizeof(longline));
		memcpy(longline, "PROXY ", 6);
		CHECK_INT(parse(longline, sizeof(longline), who, &used), -1);
	}
}

static void test_v2(void)
{
	static const char sig[] = "\r\n\r\n\0\r\nQUIT\n";
	char buf[64], who[ADDR_STRLEN];
	size_t used = 0;

	memcpy(buf, sig, 12);
	buf[12] = 0x21; /* v2, PROXY */
	buf[13] = 0x11; /* TCP over IPv4 */
	buf[14] = 0;
	buf[15] = 12;
	memcpy(buf + 16, "\xcb\x00\x71\x07\xc0\x00\x02\x01\x9c\x40\x0d\x96", 12);
	CHECK_INT(parse(buf, 28, who, &used), 1);
	CHECK_STR(who, "203.0.113.7:40000");
	CHECK_INT(used, 28);
	for (size_t n = 0; n < 28; n++)
		CHECK_INT(parse(buf, n, who, &used), 0);
	/* LOCAL: the balancer's own connection. */
	buf[12] = 0x20;
	CHECK_INT(parse(buf, 28, who, &used), 1);
	CHECK_STR(who, "");
	/* IPv6. */
	buf[12] = 0x21;
	buf[13] = 0x21;
	buf[15] = 36;
	memset(buf + 16, 0, 36);
	buf[16] = 0x20;
	buf[17] = 0x01;
	buf[18] = 0x0d;
	buf[19] = (char)0xb8;
	buf[31] = 7;
	buf[48] = 0;
	buf[49] = 9;
	CHECK_INT(parse(buf, 52, who, &used), 1);
	CHECK_STR(who, "[2001:db8::7]:9");
	/* Another version, an unknown command or family, a bad signature. */
	buf[12] = 0x11;
	CHECK_INT(parse(buf, 52, who, &used), -1);
	buf[12] = 0x22;
	CHECK_INT(parse(buf, 52, who, &used), -1);
	buf[12] = 0x21;
	buf[13] = 0x31; /* AF_UNIX */
	CHECK_INT(parse(buf, 52, who, &used), -1);
	buf[3] = 'X';
	CHECK_INT(parse(buf, 52, who, &used), -1);
}

int main(void)
{
	test_v1();
	test_v2();
	return check_done("test_util_proxy");
}
