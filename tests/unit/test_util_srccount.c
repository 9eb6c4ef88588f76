/* test_util_srccount.c - unit tests for src/util/srccount.c: the cap, the share
 * of one source (an IPv4 address, an IPv6 /64), release, and a table that
 * stays consistent through a crowd of sources coming and going. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "util/srccount.h"
#include "util/addr.h"

#define SA(x) ((struct sockaddr *)&(x))

static enum srccount_take admit(struct srccount *t, const char *ip)
{
	struct sockaddr_storage a = check_addr(ip);

	return srccount_take(t, SA(a));
}

static void release(struct srccount *t, const char *ip)
{
	struct sockaddr_storage a = check_addr(ip);

	srccount_put(t, SA(a));
}

static size_t of(struct srccount *t, const char *ip)
{
	struct sockaddr_storage a = check_addr(ip);

	return srccount_of(t, SA(a));
}

static void test_limits(void)
{
	struct srccount *t = srccount_new(5, 2);

	CHECK(t != NULL);
	CHECK_INT(admit(t, "192.0.2.1:1000"), SRCCOUNT_OK);
	CHECK_INT(admit(t, "192.0.2.1:1001"), SRCCOUNT_OK);
	/* The port does not make another source. */
	CHECK_INT(admit(t, "192.0.2.1:1002"), SRCCOUNT_SOURCE);
	/* Nor does its IPv4-mapped spelling (a dual-stack listener's). */
	CHECK_INT(admit(t, "[::ffff:192.0.2.1]:7"), SRCCOUNT_SOURCE);
	CHECK_INT(of(t, "192.0.2.1"), 2);
	/* Another source still gets in. */
	CHECK_INT(admit(t, "192.0.2.2:1000"), SRCCOUNT_OK);
	/* One IPv6 /64 is one source; the next /64 another. */
	CHECK_INT(admit(t, "[2001:db8::1]:1"), SRCCOUNT_OK);
	CHECK_INT(admit(t, "[2001:db8::2]:1"), SRCCOUNT_OK);
	CHECK_INT(srccount_open(t), 5);
	/* Full: even a new source waits for a place. */
	CHECK_INT(admit(t, "[2001:db8:0:1::1]:1"), SRCCOUNT_FULL);
	release(t, "[2001:db8::9]:7");
	CHECK_INT(srccount_open(t), 4);
	CHECK_INT(admit(t, "[2001:db8:0:1::1]:1"), SRCCOUNT_OK);
	release(t, "192.0.2.1:1000");
	CHECK_INT(of(t, "192.0.2.1"), 1);
	CHECK_INT(admit(t, "192.0.2.1:1003"), SRCCOUNT_OK);
	/* Releasing what was never admitted changes nothing. */
	release(t, "198.51.100.1:1");
	CHECK_INT(srccount_open(t), 5);
	srccount_free(t);
	srccount_free(NULL);
}

/* Many sources in and out, in an order that moves entries around in the
 * table: every count stays right. */
static void test_crowd(void)
{
	enum {
		N = 300
	};
	struct srccount *t = srccount_new(2 * N + 1, 2);
	char ip[32];
	size_t wrong = 0;

	CHECK(t != NULL);
	for (unsigned i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i >> 8, i & 255);
		wrong += admit(t, ip) != SRCCOUNT_OK;
		wrong += admit(t, ip) != SRCCOUNT_OK;
		wrong += admit(t, ip) != SRCCOUNT_SOURCE;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(srccount_open(t), 2 * N);
	/* Every other source leaves entirely, the rest half. */
	for (unsigned i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i >> 8, i & 255);
		release(t, ip);
		if (i % 2 == 0)
			release(t, ip);
	}
	CHECK_INT(srccount_open(t), N / 2);
	for (unsigned i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i >> 8, i & 255);
		wrong += of(t, ip) != (i % 2 ? 1u : 0u);
	}
	CHECK_INT(wrong, 0);
	srccount_free(t);
}

int main(void)
{
	test_limits();
	test_crowd();
	return check_done("test_util_srccount");
}
