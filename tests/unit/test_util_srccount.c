/* test_util_srccount.c - unit tests for src/util/srccount.c: the limit per
 * source, IPv4 and its IPv4-mapped form as one source, an IPv6 /64 as one
 * source, giving back, and threads counting at once. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "util/addr.h"
#include "util/srccount.h"

#define SA(x) ((struct sockaddr *)&(x))

static void test_limit(void)
{
	struct srccount *sc = srccount_new(1000);
	struct sockaddr_storage a = check_addr("192.0.2.1:1000"), a2 = check_addr("192.0.2.1:2000"),
				m = check_addr("[::ffff:192.0.2.1]:3"),
				b = check_addr("192.0.2.2:1"),
				v6 = check_addr("[2001:db8:1:2::1]:1"),
				v6b = check_addr("[2001:db8:1:2:ffff::9]:1"),
				v6c = check_addr("[2001:db8:1:3::1]:1");
	uint32_t s[4];

	CHECK(sc != NULL);
	if (!sc)
		return;
	s[0] = srccount_take(sc, SA(a), 3);
	s[1] = srccount_take(sc, SA(a2), 3); /* another port: the same source */
	s[2] = srccount_take(sc, SA(m), 3);  /* IPv4-mapped: the same source */
	CHECK(s[0] != SRCCOUNT_NONE && s[1] == s[0] && s[2] == s[0]);
	CHECK_INT(srccount_get(sc, SA(a)), 3);
	CHECK(srccount_take(sc, SA(a), 3) == SRCCOUNT_NONE);
	CHECK(srccount_take(sc, SA(b), 3) != SRCCOUNT_NONE); /* a neighbour is not held back */
	srccount_put(sc, s[0]);
	CHECK_INT(srccount_get(sc, SA(a)), 2);
	s[3] = srccount_take(sc, SA(a), 3);
	CHECK(s[3] == s[0]);
	/* No limit: nothing counted. */
	CHECK(srccount_take(sc, SA(a), 0) == SRCCOUNT_NONE);
	CHECK_INT(srccount_get(sc, SA(a)), 3);
	srccount_put(sc, SRCCOUNT_NONE);
	/* IPv6: the /64 is the source. */
	CHECK(srccount_take(sc, SA(v6), 1) != SRCCOUNT_NONE);
	CHECK(srccount_take(sc, SA(v6b), 1) == SRCCOUNT_NONE);
	CHECK(srccount_take(sc, SA(v6c), 1) != SRCCOUNT_NONE ||
	      srccount_get(sc, SA(v6c)) == 1); /* a slot shared by chance */
	srccount_free(sc);
	srccount_free(NULL);
}

#define THREADS 4
#define ROUNDS 20000

static struct srccount *shared;

static void *worker(void *arg)
{
	struct sockaddr_storage a = check_addr("198.51.100.7:9");
	(void)arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t s = srccount_take(shared, SA(a), 1000000);
		srccount_put(shared, s);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	struct sockaddr_storage a = check_addr("198.51.100.7:9");

	shared = srccount_new(64);
	CHECK(shared != NULL);
	if (!shared)
		return;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(srccount_get(shared, SA(a)), 0);
	srccount_free(shared);
}

int main(void)
{
	test_limit();
	test_threads();
	return check_done("test_util_srccount");
}
