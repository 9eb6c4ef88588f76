/* test_turn_quota.c - unit tests for src/turn/quota.c: per-user, per-source
 * and total allocation counters, their error codes, and the lock under
 * threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "turn/quota.h"
#include "turnpike/err.h"

#define U(s) (s), strlen(s)

static void test_user_quota(void)
{
	struct turn_quota *q = turn_quota_new(2, 0);

	CHECK(q != NULL);
	if (!q)
		return;
	CHECK_INT(turn_quota_user(q, U("alice")), 0);
	CHECK_INT(turn_quota_total(q), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	/* The third of the same user: 486 (TP_ETOOMANY), nothing counted. */
	CHECK_INT(turn_quota_take(q, U("alice")), TP_ETOOMANY);
	CHECK_INT(turn_quota_user(q, U("alice")), 2);
	CHECK_INT(turn_quota_total(q), 2);
	/* Others are counted apart; names are compared whole, by length. */
	CHECK_INT(turn_quota_take(q, U("bob")), 0);
	CHECK_INT(turn_quota_take(q, U("alic")), 0);
	CHECK_INT(turn_quota_take(q, U("alicee")), 0);
	CHECK_INT(turn_quota_take(q, "alice\0x", 7), 0);
	CHECK_INT(turn_quota_user(q, U("bob")), 1);
	CHECK_INT(turn_quota_user(q, U("alic")), 1);
	CHECK_INT(turn_quota_user(q, "alice\0x", 7), 1);
	CHECK_INT(turn_quota_user(q, U("alice")), 2);
	CHECK_INT(turn_quota_total(q), 6);
	/* One given back: one more may be taken, not two. */
	turn_quota_give(q, U("alice"));
	CHECK_INT(turn_quota_user(q, U("alice")), 1);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_ETOOMANY);
	/* Back to zero and up again (the entry is dropped and recreated). */
	turn_quota_give(q, U("alice"));
	turn_quota_give(q, U("alice"));
	CHECK_INT(turn_quota_user(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_user(q, U("alice")), 1);
	/* The empty name (no-auth's shared user) is a user like any other. */
	CHECK_INT(turn_quota_take(q, "", 0), 0);
	CHECK_INT(turn_quota_take(q, "", 0), 0);
	CHECK_INT(turn_quota_take(q, "", 0), TP_ETOOMANY);
	CHECK_INT(turn_quota_user(q, "", 0), 2);
	turn_quota_free(q); /* with users still counted: no leak */
}

static void test_total_quota(void)
{
	struct turn_quota *q = turn_quota_new(0, 3);

	CHECK(q != NULL);
	if (!q)
		return;
	/* User quota 0: unlimited per user; the total caps: 508 (TP_EAGAIN). */
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("bob")), 0);
	CHECK_INT(turn_quota_take(q, U("carol")), TP_EAGAIN);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_EAGAIN);
	CHECK_INT(turn_quota_user(q, U("carol")), 0);
	CHECK_INT(turn_quota_total(q), 3);
	turn_quota_give(q, U("bob"));
	CHECK_INT(turn_quota_total(q), 2);
	CHECK_INT(turn_quota_take(q, U("carol")), 0);
	CHECK_INT(turn_quota_total(q), 3);
	turn_quota_free(q);

	/* Both limits: user at its quota and server full at once: the
	 * server's 508 wins (nothing the user can do about it). */
	q = turn_quota_new(1, 2);
	CHECK(q != NULL);
	if (!q)
		return;
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_ETOOMANY);
	CHECK_INT(turn_quota_take(q, U("bob")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_EAGAIN);
	CHECK_INT(turn_quota_take(q, U("carol")), TP_EAGAIN);
	CHECK_INT(turn_quota_total(q), 2);
	turn_quota_free(q);
}

static void test_unlimited(void)
{
	struct turn_quota *q = turn_quota_new(0, 0);
	int fails = 0;

	CHECK(q != NULL);
	if (!q)
		return;
	for (int i = 0; i < 10000; i++)
		if (turn_quota_take(q, U("alice")) != 0)
			fails++;
	CHECK_INT(fails, 0);
	CHECK_INT(turn_quota_user(q, U("alice")), 10000);
	CHECK_INT(turn_quota_total(q), 10000);
	for (int i = 0; i < 10000; i++)
		turn_quota_give(q, U("alice"));
	CHECK_INT(turn_quota_user(q, U("alice")), 0);
	CHECK_INT(turn_quota_total(q), 0);
	turn_quota_free(q);
}

static void test_give_unknown(void)
{
	struct turn_quota *q = turn_quota_new(2, 5);

	CHECK(q != NULL);
	if (!q)
		return;
	/* Giving back what was never taken changes nothing. */
	turn_quota_give(q, U("nobody"));
	turn_quota_give(q, "", 0);
	CHECK_INT(turn_quota_total(q), 0);
	CHECK_INT(turn_quota_user(q, U("nobody")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	turn_quota_give(q, U("bob"));
	turn_quota_give(q, U("alic"));
	CHECK_INT(turn_quota_total(q), 1);
	CHECK_INT(turn_quota_user(q, U("alice")), 1);
	/* One more give than takes: the count stays at zero, not -1. */
	turn_quota_give(q, U("alice"));
	turn_quota_give(q, U("alice"));
	CHECK_INT(turn_quota_user(q, U("alice")), 0);
	CHECK_INT(turn_quota_total(q), 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(turn_quota_take(q, i < 2 ? "x" : "y", 1), i < 4 ? 0 : TP_ETOOMANY);
	CHECK_INT(turn_quota_total(q), 4);
	turn_quota_free(q);
	turn_quota_free(NULL);
}

static void test_many_users(void)
{
	enum {
		N = 20000
	};
	struct turn_quota *q = turn_quota_new(3, 0);
	char name[32];
	int bad = 0;

	CHECK(q != NULL);
	if (!q)
		return;
	/* More users than hash buckets: every chain stays right. */
	for (int i = 0; i < N; i++) {
		int n = snprintf(name, sizeof(name), "user%d", i);
		for (int k = 0; k <= i % 3; k++)
			if (turn_quota_take(q, name, (size_t)n) != 0)
				bad++;
	}
	CHECK_INT(bad, 0);
	for (int i = 0; i < N; i++) {
		int n = snprintf(name, sizeof(name), "user%d", i);
		if (turn_quota_user(q, name, (size_t)n) != (unsigned)(i % 3 + 1))
			bad++;
		/* Those at 3 are full. */
		if (i % 3 == 2 && turn_quota_take(q, name, (size_t)n) != TP_ETOOMANY)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(turn_quota_total(q), N / 3 * 6 + (N % 3 >= 1 ? 1 : 0) + (N % 3 >= 2 ? 2 : 0));
	for (int i = 0; i < N; i++) {
		int n = snprintf(name, sizeof(name), "user%d", i);
		for (int k = 0; k <= i % 3; k++)
			turn_quota_give(q, name, (size_t)n);
	}
	CHECK_INT(turn_quota_total(q), 0);
	for (int i = 0; i < N; i += 997) {
		int n = snprintf(name, sizeof(name), "user%d", i);
		if (turn_quota_user(q, name, (size_t)n) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	turn_quota_free(q);
}

/* ---- threads: every worker takes and gives on the control path ---- */

enum {
	THREADS = 4,
	ROUNDS = 10000
};

struct worker {
	struct turn_quota *q;
	int id;
	unsigned errors;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char own[16];
	int n = snprintf(own, sizeof(own), "worker%d", w->id);

	for (int i = 0; i < ROUNDS; i++) {
		/* A shared user and one of its own, interleaved. */
		const char *user = i % 2 ? own : "shared";
		size_t len = i % 2 ? (size_t)n : 6;

		if (turn_quota_take(w->q, user, len) != 0)
			w->errors++;
		else
			turn_quota_give(w->q, user, len);
	}
	return NULL;
}

static void test_threads(void)
{
	struct turn_quota *q = turn_quota_new(0, 0);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	unsigned errors = 0;

	CHECK(q != NULL);
	if (!q)
		return;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.q = q, .id = i};
		CHECK_INT(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
	}
	CHECK_INT(errors, 0);
	CHECK_INT(turn_quota_total(q), 0);
	CHECK_INT(turn_quota_user(q, U("shared")), 0);
	CHECK_INT(turn_quota_user(q, U("worker0")), 0);
	turn_quota_free(q);
}

/* Under a total quota of 2 the count never goes past 2, whoever races. */
struct racer {
	struct turn_quota *q;
	unsigned *held;
	unsigned max_seen, ok, refused_wrong;
};

static void *racer_run(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < ROUNDS; i++) {
		int rc = turn_quota_take(r->q, U("shared"));
		if (rc == 0) {
			unsigned now = __atomic_add_fetch(r->held, 1, __ATOMIC_SEQ_CST);
			if (now > r->max_seen)
				r->max_seen = now;
			r->ok++;
			__atomic_sub_fetch(r->held, 1, __ATOMIC_SEQ_CST);
			turn_quota_give(r->q, U("shared"));
		} else if (rc != TP_EAGAIN) {
			r->refused_wrong++;
		}
	}
	return NULL;
}

static void test_threads_limit(void)
{
	struct turn_quota *q = turn_quota_new(0, 2);
	struct racer r[THREADS];
	pthread_t th[THREADS];
	unsigned held = 0, max_seen = 0, ok = 0, wrong = 0;

	CHECK(q != NULL);
	if (!q)
		return;
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer){.q = q, .held = &held};
		CHECK_INT(pthread_create(&th[i], NULL, racer_run, &r[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (r[i].max_seen > max_seen)
			max_seen = r[i].max_seen;
		ok += r[i].ok;
		wrong += r[i].refused_wrong;
	}
	CHECK(max_seen <= 2);
	CHECK(ok > 0);
	CHECK_INT(wrong, 0);
	CHECK_INT(turn_quota_total(q), 0);
	turn_quota_free(q);
}

/* A reload's new limits: what is held stays held, the next take sees them. */
static void test_set(void)
{
	struct turn_quota *q = turn_quota_new(0, 0);

	CHECK(q != NULL);
	if (!q)
		return;
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_take(q, U("bob")), 0);
	turn_quota_set(q, 1, 0);
	CHECK_INT(turn_quota_user(q, U("alice")), 2);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_ETOOMANY);
	CHECK_INT(turn_quota_take(q, U("carol")), 0);
	turn_quota_set(q, 0, 4);
	CHECK_INT(turn_quota_take(q, U("alice")), TP_EAGAIN);
	turn_quota_give(q, U("alice"));
	CHECK_INT(turn_quota_take(q, U("dave")), 0);
	turn_quota_set(q, 0, 0);
	CHECK_INT(turn_quota_take(q, U("alice")), 0);
	CHECK_INT(turn_quota_total(q), 5);
	turn_quota_free(q);
}

/* source-quota: by IPv4 address (any port, IPv4-mapped the same) and IPv6
 * /64; entries go when their count does; a new limit applies at once. */
static void test_source_quota(void)
{
	struct turn_quota *q = turn_quota_new(0, 0);
	struct sockaddr_storage a = check_addr("192.0.2.1:1000"), a2 = check_addr("192.0.2.1:2000"),
				am = check_addr("[::ffff:192.0.2.1]:3000"),
				b = check_addr("192.0.2.2:1000"),
				v6 = check_addr("[2001:db8:0:1::1]:1000"),
				v6same = check_addr("[2001:db8:0:1:ffff::2]:1000"),
				v6other = check_addr("[2001:db8:0:2::1]:1000");
#define SA(x) ((const struct sockaddr *)&(x))

	CHECK(q != NULL);
	if (!q)
		return;
	/* No limit: counted all the same. */
	CHECK_INT(turn_quota_source_take(q, SA(a)), 0);
	CHECK_INT(turn_quota_source(q, SA(a)), 1);
	turn_quota_set_source(q, 2);
	CHECK_INT(turn_quota_source_take(q, SA(a2)), 0);
	CHECK_INT(turn_quota_source_take(q, SA(am)), TP_ELIMIT);
	CHECK_INT(turn_quota_source(q, SA(am)), 2);
	CHECK_INT(turn_quota_source_take(q, SA(b)), 0);
	CHECK_INT(turn_quota_source_take(q, SA(v6)), 0);
	CHECK_INT(turn_quota_source_take(q, SA(v6same)), 0);
	CHECK_INT(turn_quota_source_take(q, SA(v6same)), TP_ELIMIT);
	CHECK_INT(turn_quota_source_take(q, SA(v6other)), 0);
	/* Given back: room again; the user and total counts are apart. */
	turn_quota_source_give(q, SA(a));
	CHECK_INT(turn_quota_source(q, SA(a)), 1);
	CHECK_INT(turn_quota_source_take(q, SA(a)), 0);
	CHECK_INT(turn_quota_total(q), 0);
	turn_quota_source_give(q, SA(a));
	turn_quota_source_give(q, SA(a));
	turn_quota_source_give(q, SA(a)); /* one too many: no-op */
	CHECK_INT(turn_quota_source(q, SA(a)), 0);
	turn_quota_set_source(q, 0);
	for (int i = 0; i < 10; i++)
		CHECK_INT(turn_quota_source_take(q, SA(b)), 0);
	CHECK_INT(turn_quota_source(q, SA(b)), 11);
#undef SA
	turn_quota_free(q);
}

int main(void)
{
	test_user_quota();
	test_source_quota();
	test_total_quota();
	test_unlimited();
	test_give_unknown();
	test_many_users();
	test_threads();
	test_threads_limit();
	test_set();
	return check_done("test_turn_quota");
}
