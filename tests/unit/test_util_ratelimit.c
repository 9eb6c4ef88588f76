/* test_util_ratelimit.c - unit tests for src/util/ratelimit.c: bursts,
 * refill, one bucket per IPv4 address and per IPv6 /64, and a table that
 * stays bounded under a crowd of sources. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/ratelimit.h"
#include "util/addr.h"

#define SA(x) ((struct sockaddr *)&(x))

/* How many of n requests at now_ms get through. */
static unsigned takes(struct ratelimit *rl, const char *ip, unsigned n, uint64_t now_ms)
{
	struct sockaddr_storage a = check_addr(ip);
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += ratelimit_take(rl, SA(a), now_ms);
	return ok;
}

static void test_bucket(void)
{
	struct ratelimit *rl = ratelimit_new(5, 64);

	CHECK(rl != NULL);
	/* A burst of the rate, then nothing until tokens come back. */
	CHECK_INT(takes(rl, "192.0.2.1", 10, 1000), 5);
	CHECK_INT(takes(rl, "192.0.2.1", 1, 1100), 0);    /* 0.5 token */
	CHECK_INT(takes(rl, "192.0.2.1", 2, 1200), 1);    /* 1 token after 200 ms */
	CHECK_INT(takes(rl, "192.0.2.1", 10, 2200), 5);   /* a full second: full bucket */
	CHECK_INT(takes(rl, "192.0.2.1", 10, 100000), 5); /* never more than the burst */
	/* Other sources have their own buckets. */
	CHECK_INT(takes(rl, "192.0.2.2", 10, 100000), 5);
	CHECK_INT(takes(rl, "::ffff:192.0.2.3", 10, 100000), 5);
	CHECK_INT(takes(rl, "192.0.2.3", 1, 100000), 0); /* mapped form: same client */
	/* IPv6: one bucket per /64. */
	CHECK_INT(takes(rl, "2001:db8:1:2::1", 3, 100000), 3);
	CHECK_INT(takes(rl, "2001:db8:1:2:ffff::9", 5, 100000), 2);
	CHECK_INT(takes(rl, "2001:db8:1:3::1", 5, 100000), 5);
	/* The clock going backwards (or standing) adds nothing. */
	CHECK_INT(takes(rl, "2001:db8:1:3::1", 1, 50000), 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void test_crowd(void)
{
	struct ratelimit *rl = ratelimit_new(1, 16);
	char ip[64];
	unsigned ok = 0;

	/* Far more sources than slots: every newcomer still gets its burst
	 * (evicting the stalest), and the table stays the same size. */
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		ok += takes(rl, ip, 2, 5000 + i);
	}
	CHECK_INT(ok, 5000);
	/* A source seen just now is still limited. */
	CHECK_INT(takes(rl, "10.0.19.135", 1, 9999), 0);
	ratelimit_free(rl);
	/* Rate 0 is treated as 1: a limiter always limits. */
	rl = ratelimit_new(0, 0);
	CHECK(rl != NULL);
	CHECK_INT(takes(rl, "192.0.2.1", 3, 1), 1);
	ratelimit_free(rl);
}

int main(void)
{
	test_bucket();
	test_crowd();
	return check_done("test_util_ratelimit");
}
