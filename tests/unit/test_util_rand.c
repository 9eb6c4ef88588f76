/* test_util_rand.c - unit tests for src/util/rand.c: the CSPRNG wrappers. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "turnpike/err.h"
#include "util/rand.h"

static void test_bytes(void)
{
	uint8_t a[32], b[32], zero[32] = {0}, canary[40];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK_INT(rand_bytes(a, sizeof(a)), 0);
	CHECK_INT(rand_bytes(b, sizeof(b)), 0);
	/* 2^-256 chances of a false failure. */
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);

	/* n == 0 succeeds and writes nothing (NULL is fine too). */
	memset(canary, 0x77, sizeof(canary));
	CHECK_INT(rand_bytes(canary, 0), 0);
	CHECK_INT(canary[0], 0x77);
	CHECK_INT(rand_bytes(NULL, 0), 0);

	/* Writes exactly n bytes. */
	CHECK_INT(rand_bytes(canary, 32), 0);
	for (size_t i = 32; i < sizeof(canary); i++)
		CHECK_INT(canary[i], 0x77);

	/* More than RAND_bytes can take in one call is refused up front,
	 * before anything is written. */
	CHECK_INT(rand_bytes(canary, (size_t)0x80000000u), TP_EINVAL);
}

static void test_uniform(void)
{
	enum {
		DRAWS = 100000,
		BUCKETS = 10
	};
	unsigned count[BUCKETS] = {0};
	uint32_t v;
	int bad = 0;

	for (int i = 0; i < 100; i++) {
		v = 12345;
		if (rand_uniform(1, &v) != 0 || v != 0)
			bad++;
	}
	CHECK_INT(bad, 0);

	v = 12345;
	CHECK_INT(rand_uniform(0, &v), TP_EINVAL);
	CHECK_INT(v, 12345);

	/* Large bounds stay in range. */
	bad = 0;
	for (int i = 0; i < 1000; i++) {
		if (rand_uniform(UINT32_MAX, &v) != 0 || v >= UINT32_MAX)
			bad++;
		if (rand_uniform(0x80000001u, &v) != 0 || v >= 0x80000001u)
			bad++;
	}
	CHECK_INT(bad, 0);

	/* Rough uniformity: each bucket expects 10000 with a standard
	 * deviation near 95, so +-10% (1000) never trips by chance. */
	bad = 0;
	for (int i = 0; i < DRAWS; i++) {
		if (rand_uniform(BUCKETS, &v) != 0 || v >= BUCKETS) {
			bad++;
			continue;
		}
		count[v]++;
	}
	CHECK_INT(bad, 0);
	for (int i = 0; i < BUCKETS; i++) {
		CHECK(count[i] >= DRAWS / BUCKETS * 9 / 10);
		CHECK(count[i] <= DRAWS / BUCKETS * 11 / 10);
	}
}

int main(void)
{
	test_bytes();
	test_uniform();
	return check_done("test_util_rand");
}
