/* test_auth_snap.c - unit tests for src/auth/snap.c: a reference keeps a
 * replaced store alive, the last one frees it, and readers on other threads
 * never see a freed store while the main thread publishes new ones. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "check.h"

#define READERS 3
#define PUBLISHES 2000
#define RUN_MS 3000 /* hard bound on the threaded part */

static struct auth_store *make(const char *secret)
{
	struct auth_store *s = auth_store_new("example.org");

	if (s && secret)
		auth_store_add_secret(s, secret);
	return s;
}

static void test_basic(void)
{
	struct auth_snap *h = auth_snap_new(make("one"));
	const struct auth_store *a, *b, *c;

	CHECK(h != NULL);
	if (!h)
		return;
	a = auth_snap_get(h);
	CHECK_STR(auth_store_newest_secret(a), "one");
	auth_snap_set(h, make("two"));
	/* The old store lives on for whoever holds it. */
	CHECK_STR(auth_store_newest_secret(a), "one");
	b = auth_snap_get(h);
	CHECK_STR(auth_store_newest_secret(b), "two");
	auth_snap_set(h, make("three"));
	auth_snap_set(h, make("four"));
	c = auth_snap_get(h);
	CHECK_STR(auth_store_newest_secret(c), "four");
	CHECK_STR(auth_store_newest_secret(b), "two");
	auth_snap_put(a); /* frees "one" (ASan would see a leak otherwise) */
	auth_snap_put(b);
	auth_snap_put(c);
	auth_snap_put(NULL);
	auth_snap_free(h);
	auth_snap_free(NULL);
}

static struct auth_snap *shared;
static atomic_bool stop;
static atomic_ulong reads;
static atomic_uint bad;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		const struct auth_store *s = auth_snap_get(shared);
		const char *secret = auth_store_newest_secret(s);
		/* Every published store carries "gen-N"; a freed one would not
		 * (ASan would also catch the use after free). */
		if (!secret || strncmp(secret, "gen-", 4) != 0 ||
		    strcmp(auth_store_realm(s), "example.org") != 0)
			atomic_fetch_add(&bad, 1);
		auth_snap_put(s);
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[READERS];
	uint64_t start = now_ms();
	char name[32];
	int n = 0, started = 0;

	shared = auth_snap_new(make("gen-0"));
	CHECK(shared != NULL);
	if (!shared)
		return;
	for (int i = 0; i < READERS; i++)
		if (pthread_create(&t[i], NULL, reader, NULL) == 0)
			started++;
	CHECK_INT(started, READERS);
	/* Publish while they read: on a loaded machine the threads may not
	 * run before 2000 publishes are over. */
	while (atomic_load(&reads) == 0 && now_ms() - start < RUN_MS)
		sched_yield();
	for (n = 1; n <= PUBLISHES && now_ms() - start < RUN_MS; n++) {
		snprintf(name, sizeof(name), "gen-%d", n);
		auth_snap_set(shared, make(name));
	}
	atomic_store(&stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(atomic_load(&bad), 0);
	CHECK(atomic_load(&reads) > 0);
	CHECK(n > 100);
	printf("test_auth_snap: %d publishes, %lu reads in %llu ms\n", n - 1,
	       (unsigned long)atomic_load(&reads), (unsigned long long)(now_ms() - start));
	auth_snap_free(shared);
}

int main(void)
{
	test_basic();
	test_threads();
	return check_done("test_auth_snap");
}
