/* test_turn_alloc.c - unit tests for src/turn/alloc.c: the 5-tuple table,
 * the 1-second timer wheel on a fake clock, permissions, channels (RFC 8656
 * §9, §11, §12) and the token bucket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#define TURN_FAKE_ADDR_ONLY
#include "turn_fake.h"
#include "turn/alloc.h"
#include "turnpike/err.h"
#include "util/addr.h"

/* A fake clock somewhere in the middle of a monotonic range, not on a
 * multiple of the wheel's span. */
#define T0 (123456789ULL * 1000)

static void set_tuple(struct turn_alloc *a, enum turn_transport tr, const char *client,
		      const char *local)
{
	struct sockaddr_storage c = sa(client), l = sa(local);

	a->transport = tr;
	memcpy(&a->client, &c, addr_len((struct sockaddr *)&c));
	memcpy(&a->local, &l, addr_len((struct sockaddr *)&l));
}

static struct turn_alloc *find(const struct turn_table *t, enum turn_transport tr,
			       const char *client, const char *local)
{
	struct sockaddr_storage c = sa(client), l = sa(local);

	return turn_table_find(t, tr, SA(&c), SA(&l));
}

/* ---- table ---- */

static void test_table_tuples(void)
{
	struct turn_table t;
	struct turn_alloc a4 = {0}, a6 = {0}, at = {0}, al = {0};

	CHECK_INT(turn_table_init(&t), 0);
	CHECK(turn_table_first(&t) == NULL);
	set_tuple(&a4, TP_UDP, "192.0.2.1:5000", "192.0.2.254:3478");
	set_tuple(&a6, TP_UDP, "[2001:db8::1]:5000", "[2001:db8::fe]:3478");
	/* Same addresses over TCP: another 5-tuple, another allocation. */
	set_tuple(&at, TP_TCP, "192.0.2.1:5000", "192.0.2.254:3478");
	/* Same client, another of our addresses. */
	set_tuple(&al, TP_UDP, "192.0.2.1:5000", "192.0.2.253:3478");
	a4.expiry_ms = a6.expiry_ms = at.expiry_ms = al.expiry_ms = T0 + 600000;
	a4.created_ms = a6.created_ms = at.created_ms = al.created_ms = T0;
	CHECK_INT(turn_table_insert(&t, &a4), 0);
	CHECK_INT(turn_table_insert(&t, &a6), 0);
	CHECK_INT(turn_table_insert(&t, &at), 0);
	CHECK_INT(turn_table_insert(&t, &al), 0);
	CHECK_INT(t.count, 4);

	CHECK(find(&t, TP_UDP, "192.0.2.1:5000", "192.0.2.254:3478") == &a4);
	CHECK(find(&t, TP_TCP, "192.0.2.1:5000", "192.0.2.254:3478") == &at);
	CHECK(find(&t, TP_UDP, "192.0.2.1:5000", "192.0.2.253:3478") == &al);
	CHECK(find(&t, TP_UDP, "[2001:db8::1]:5000", "[2001:db8::fe]:3478") == &a6);
	/* Any field of the 5-tuple different: no match. */
	CHECK(find(&t, TP_TLS, "192.0.2.1:5000", "192.0.2.254:3478") == NULL);
	CHECK(find(&t, TP_UDP, "192.0.2.1:5001", "192.0.2.254:3478") == NULL);
	CHECK(find(&t, TP_UDP, "192.0.2.2:5000", "192.0.2.254:3478") == NULL);
	CHECK(find(&t, TP_UDP, "192.0.2.1:5000", "192.0.2.254:3479") == NULL);
	CHECK(find(&t, TP_TCP, "[2001:db8::1]:5000", "[2001:db8::fe]:3478") == NULL);
	CHECK(find(&t, TP_UDP, "[2001:db8::2]:5000", "[2001:db8::fe]:3478") == NULL);
	/* IPv4 as IPv4-mapped IPv6 is another family, another tuple. */
	CHECK(find(&t, TP_UDP, "[::ffff:192.0.2.1]:5000", "[::ffff:192.0.2.254]:3478") == NULL);

	turn_table_remove(&t, &at);
	CHECK_INT(t.count, 3);
	CHECK(find(&t, TP_TCP, "192.0.2.1:5000", "192.0.2.254:3478") == NULL);
	CHECK(find(&t, TP_UDP, "192.0.2.1:5000", "192.0.2.254:3478") == &a4);
	/* The removed one is off the wheel too: nothing fires for it. */
	CHECK(at.wprev == NULL);
	turn_table_remove(&t, &a4);
	turn_table_remove(&t, &a6);
	CHECK(turn_table_first(&t) == &al);
	turn_table_remove(&t, &al);
	CHECK_INT(t.count, 0);
	CHECK(turn_table_first(&t) == NULL);
	CHECK(turn_table_expired(&t, T0 + 10000000) == NULL);
	turn_table_cleanup(&t);
}

static void test_table_growth(void)
{
	enum {
		N = 5000
	};
	struct turn_table t;
	struct turn_alloc *as = calloc(N, sizeof(*as));
	char client[64];
	size_t found = 0, first_ok = 0;

	CHECK(as != NULL);
	if (!as)
		return;
	CHECK_INT(turn_table_init(&t), 0);
	for (int i = 0; i < N; i++) {
		/* Alternate families and transports over many addresses. */
		if (i % 2)
			snprintf(client, sizeof(client), "[2001:db8::%x:%x]:%d", i / 256, i % 256,
				 1024 + i % 7);
		else
			snprintf(client, sizeof(client), "10.%d.%d.%d:%d", i / 65536,
				 (i / 256) % 256, i % 256, 1024 + i % 7);
		set_tuple(&as[i], i % 3 == 0 ? TP_TCP : TP_UDP, client,
			  i % 2 ? "[2001:db8::fe]:3478" : "192.0.2.254:3478");
		as[i].created_ms = T0;
		as[i].expiry_ms = T0 + 600000 + (uint64_t)i;
		CHECK_INT(turn_table_insert(&t, &as[i]), 0);
	}
	CHECK_INT(t.count, N);
	CHECK(t.nbuckets >= N); /* grown past the initial 256 */
	for (int i = 0; i < N; i++)
		if (turn_table_find(&t, as[i].transport, CSA(&as[i].client), CSA(&as[i].local)) ==
		    &as[i])
			found++;
	CHECK_INT(found, N);
	/* Remove the odd ones first, then the even ones backwards. */
	for (int i = 1; i < N; i += 2)
		turn_table_remove(&t, &as[i]);
	CHECK_INT(t.count, N / 2);
	found = 0;
	for (int i = 0; i < N; i++)
		if (turn_table_find(&t, as[i].transport, CSA(&as[i].client), CSA(&as[i].local)))
			found++;
	CHECK_INT(found, N / 2);
	for (int i = N - 2; i >= 0; i -= 2) {
		if (turn_table_first(&t) != NULL)
			first_ok++;
		turn_table_remove(&t, &as[i]);
	}
	CHECK_INT(first_ok, N / 2);
	CHECK_INT(t.count, 0);
	CHECK(turn_table_first(&t) == NULL);
	found = 0;
	for (int i = 0; i < N; i++)
		if (turn_table_find(&t, as[i].transport, CSA(&as[i].client), CSA(&as[i].local)))
			found++;
	CHECK_INT(found, 0);
	/* Nothing is left on the wheel either. */
	CHECK(turn_table_expired(&t, T0 + 10000000) == NULL);
	turn_table_cleanup(&t);
	free(as);
}

/* ---- timer wheel ---- */

/* Allocations turn_table_expired returned before their expiry, over every
 * drain (checked once in main). */
static size_t early_pops;

/*
 * Pops everything turn_table_expired gives at now, removing each from the
 * table as the core does, and marks popped[i] for base[i]. Returns the count.
 */
static size_t drain(struct turn_table *t, uint64_t now, bool *popped, struct turn_alloc *base,
		    size_t nbase)
{
	struct turn_alloc *a;
	size_t n = 0, early = 0;

	while ((a = turn_table_expired(t, now))) {
		if (a->expiry_ms > now)
			early++;
		if (popped && a >= base && a < base + nbase)
			popped[a - base] = true;
		turn_table_remove(t, a);
		n++;
		if (n > 1000000)
			break; /* a loop that never ends is a failure, not a hang */
	}
	early_pops += early;
	return n;
}

static struct turn_alloc *mk(struct turn_table *t, struct turn_alloc *a, int i, uint64_t now,
			     uint64_t expiry)
{
	char client[32];

	memset(a, 0, sizeof(*a));
	snprintf(client, sizeof(client), "192.0.2.%d:%d", i % 250 + 1, 2000 + i);
	set_tuple(a, TP_UDP, client, "192.0.2.254:3478");
	a->created_ms = now;
	a->expiry_ms = expiry;
	CHECK_INT(turn_table_insert(t, a), 0);
	return a;
}

static void test_wheel_exact(void)
{
	struct turn_table t;
	struct turn_alloc a, b;

	/* Expiry on a whole second: not a millisecond early, on time. */
	CHECK_INT(turn_table_init(&t), 0);
	CHECK(turn_table_expired(&t, T0) == NULL);
	mk(&t, &a, 1, T0, T0 + 600000);
	CHECK_INT(drain(&t, T0, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 1000, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 599000, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 599999, NULL, NULL, 0), 0);
	CHECK(turn_table_expired(&t, T0 + 600000) == &a);
	turn_table_remove(&t, &a);
	CHECK_INT(t.count, 0);

	/* Mid-second expiry, clock ticking every 50 ms: it pops at or after
	 * its millisecond and less than a second late. */
	mk(&t, &b, 2, T0 + 600000, T0 + 600000 + 10250);
	for (uint64_t now = T0 + 600000; now <= T0 + 600000 + 12000; now += 50) {
		size_t n = drain(&t, now, NULL, NULL, 0);
		if (n) {
			CHECK(now >= b.expiry_ms);
			CHECK(now < b.expiry_ms + 1000);
			break;
		}
		CHECK(now < b.expiry_ms + 1000);
	}
	CHECK_INT(t.count, 0);
	turn_table_cleanup(&t);
}

static void test_wheel_reschedule(void)
{
	struct turn_table t;
	struct turn_alloc a, b;

	CHECK_INT(turn_table_init(&t), 0);
	mk(&t, &a, 1, T0, T0 + 10000);
	mk(&t, &b, 2, T0, T0 + 10000);
	/* Refreshed at +5 s to +20 s: silent at +10 s. */
	CHECK_INT(drain(&t, T0 + 5000, NULL, NULL, 0), 0);
	a.expiry_ms = T0 + 20000;
	turn_table_reschedule(&t, &a);
	CHECK(turn_table_expired(&t, T0 + 10000) == &b);
	turn_table_remove(&t, &b);
	CHECK_INT(drain(&t, T0 + 10000, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 15000, NULL, NULL, 0), 0);
	/* Shortened at +15 s to +17 s: fires then, not at +20 s. */
	a.expiry_ms = T0 + 17000;
	turn_table_reschedule(&t, &a);
	CHECK_INT(drain(&t, T0 + 16999, NULL, NULL, 0), 0);
	CHECK(turn_table_expired(&t, T0 + 17000) == &a);
	turn_table_remove(&t, &a);

	/* Rescheduled many times in the same slot and across slots: once. */
	mk(&t, &a, 3, T0 + 17000, T0 + 30000);
	for (int i = 0; i < 100; i++) {
		a.expiry_ms = T0 + 30000 + (uint64_t)(i % 5) * 1000;
		turn_table_reschedule(&t, &a);
	}
	a.expiry_ms = T0 + 31000;
	turn_table_reschedule(&t, &a);
	CHECK_INT(drain(&t, T0 + 30999, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 31000, NULL, NULL, 0), 1);
	CHECK_INT(drain(&t, T0 + 40000, NULL, NULL, 0), 0);
	CHECK_INT(t.count, 0);
	turn_table_cleanup(&t);
}

/* Expiries past the wheel's 4096 slots stay on it and fire on their turn,
 * with the clock driven once a second. */
static void test_wheel_span(void)
{
	static const uint64_t secs[] = {4095, 4096, 4097, 5000, 8192, 8193, 10000};
	enum {
		N = sizeof(secs) / sizeof(secs[0])
	};
	struct turn_table t;
	struct turn_alloc as[N];
	bool popped[N] = {false};
	uint64_t when[N] = {0};

	CHECK_INT(turn_table_init(&t), 0);
	for (size_t i = 0; i < N; i++)
		mk(&t, &as[i], (int)i, T0, T0 + secs[i] * 1000 + 300);
	for (uint64_t s = 1; s <= 10002; s++) {
		uint64_t now = T0 + s * 1000;
		bool before[N];

		memcpy(before, popped, sizeof(before));
		drain(&t, now, popped, as, N);
		for (size_t i = 0; i < N; i++)
			if (popped[i] && !before[i])
				when[i] = now;
	}
	for (size_t i = 0; i < N; i++) {
		CHECK(popped[i]);
		CHECK(when[i] >= T0 + secs[i] * 1000 + 300);
		CHECK(when[i] <= T0 + secs[i] * 1000 + 1300);
	}
	CHECK_INT(t.count, 0);
	turn_table_cleanup(&t);
}

/* The clock jumps (a stalled process, a suspended VM): everything due
 * pops at once, nothing not yet due does. */
static void test_wheel_jump(void)
{
	static const uint64_t secs[] = {10,   100,   4095,  4096,  5000,
					9999, 10000, 10001, 20000, 1000000};
	enum {
		N = sizeof(secs) / sizeof(secs[0])
	};
	struct turn_table t;
	struct turn_alloc as[N];
	bool popped[N] = {false};

	CHECK_INT(turn_table_init(&t), 0);
	for (size_t i = 0; i < N; i++)
		mk(&t, &as[i], (int)i, T0, T0 + secs[i] * 1000);
	CHECK_INT(drain(&t, T0 + 1000, popped, as, N), 0);
	CHECK_INT(drain(&t, T0 + 10000 * 1000, popped, as, N), 7);
	for (size_t i = 0; i < N; i++)
		CHECK_INT(popped[i], secs[i] <= 10000);
	/* One second on, the next one; then a jump of weeks. */
	CHECK_INT(drain(&t, T0 + 10001 * 1000 - 1, popped, as, N), 0);
	CHECK_INT(drain(&t, T0 + 10001 * 1000, popped, as, N), 1);
	CHECK_INT(drain(&t, T0 + 999999 * 1000, popped, as, N), 1);
	CHECK(popped[8] && !popped[9]);
	CHECK_INT(drain(&t, T0 + 3000000ULL * 1000, popped, as, N), 1);
	CHECK_INT(t.count, 0);
	/* An empty table jumped far ahead, then used again. */
	mk(&t, &as[0], 0, T0 + 5000000000ULL, T0 + 5000000000ULL + 2000);
	CHECK_INT(drain(&t, T0 + 5000000000ULL + 1999, NULL, NULL, 0), 0);
	CHECK_INT(drain(&t, T0 + 5000000000ULL + 2000, NULL, NULL, 0), 1);
	turn_table_cleanup(&t);
}

/* Many allocations due in the same second, at every millisecond of it. */
static void test_wheel_crowd(void)
{
	enum {
		N = 3000
	};
	struct turn_table t;
	struct turn_alloc *as = calloc(N, sizeof(*as));
	bool *popped = calloc(N, sizeof(*popped));
	size_t total = 0, late = 0;

	CHECK(as && popped);
	if (!as || !popped)
		goto out;
	CHECK_INT(turn_table_init(&t), 0);
	for (int i = 0; i < N; i++)
		mk(&t, &as[i], i, T0, T0 + 60000 + (uint64_t)(i % 1000));
	CHECK_INT(drain(&t, T0 + 59999, popped, as, N), 0);
	for (uint64_t now = T0 + 60000; now <= T0 + 61000; now++) {
		total += drain(&t, now, popped, as, N);
		for (int i = 0; i < N; i++)
			if (!popped[i] && as[i].expiry_ms + 1000 <= now)
				late++;
	}
	CHECK_INT(total, N);
	CHECK_INT(late, 0);
	CHECK_INT(t.count, 0);
	turn_table_cleanup(&t);
out:
	free(as);
	free(popped);
}

/* The scale: 100,000 allocations with lifetimes up to an hour, a
 * tenth refreshed halfway, ticked once a second for the whole hour. Every
 * one pops within a second of its expiry, exactly once, and the whole hour
 * of ticks costs little CPU: a tick only visits what expires in its slot. */
static uint64_t rnd(uint64_t bound);

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_wheel_scale(void)
{
	enum {
		N = 100000,
		HOUR = 3600
	};
	struct turn_table t;
	struct turn_alloc *as = calloc(N, sizeof(*as));
	bool *popped = calloc(N, sizeof(*popped));
	size_t total = 0, late = 0, twice = 0;
	double t0, insert_ms, tick_ms;

	CHECK(as && popped);
	if (!as || !popped)
		goto out;
	CHECK_INT(turn_table_init(&t), 0);
	t0 = cpu_ms();
	for (int i = 0; i < N; i++) {
		struct sockaddr_in *c = (struct sockaddr_in *)&as[i].client;
		struct sockaddr_in *l = (struct sockaddr_in *)&as[i].local;

		c->sin_family = l->sin_family = AF_INET;
		c->sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)i); /* 10.x.y.z */
		c->sin_port = htons(5000);
		l->sin_addr.s_addr = htonl(0xc00002feu);
		l->sin_port = htons(3478);
		as[i].transport = TP_UDP;
		as[i].created_ms = T0;
		as[i].expiry_ms = T0 + 1000 + rnd((HOUR - 1) * 1000ULL);
		CHECK_INT(turn_table_insert(&t, &as[i]), 0);
	}
	insert_ms = cpu_ms() - t0;
	CHECK_INT(t.count, N);
	t0 = cpu_ms();
	for (uint64_t sec = 1; sec <= HOUR + 1; sec++) {
		uint64_t now = T0 + sec * 1000;
		struct turn_alloc *a;

		if (sec == HOUR / 2)
			for (int i = 0; i < N; i += 10)
				if (!popped[i]) {
					as[i].expiry_ms = now + HOUR * 500ULL;
					turn_table_reschedule(&t, &as[i]);
				}
		while ((a = turn_table_expired(&t, now))) {
			size_t i = (size_t)(a - as);
			if (popped[i])
				twice++;
			popped[i] = true;
			if (a->expiry_ms > now)
				early_pops++;
			if (now > a->expiry_ms + 1000)
				late++;
			turn_table_remove(&t, a);
			total++;
		}
	}
	tick_ms = cpu_ms() - t0;
	CHECK_INT(total, N);
	CHECK_INT(late, 0);
	CHECK_INT(twice, 0);
	CHECK_INT(t.count, 0);
	printf("wheel at %d allocations: inserts %.1f ms CPU, %d ticks %.1f ms CPU\n", N, insert_ms,
	       HOUR + 1, tick_ms);
	/* Generous for sanitizer builds on a loaded machine; a wheel that walked
	 * every allocation each second would need ~360M visits. */
	CHECK(tick_ms < 3000);
	turn_table_cleanup(&t);
out:
	free(as);
	free(popped);
}

/* A deterministic random walk: inserts, refreshes, removals and clock
 * steps from milliseconds to hours, checking after every step that
 * nothing popped early and nothing due a second ago is still waiting. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(uint64_t bound)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % bound;
}

static void test_wheel_random(void)
{
	enum {
		N = 500
	};
	struct turn_table t;
	struct turn_alloc *as = calloc(N, sizeof(*as));
	bool *popped = calloc(N, sizeof(*popped)), *in = calloc(N, sizeof(*in));
	uint64_t now = T0;
	size_t late = 0, bad_pop = 0;

	CHECK(as && popped && in);
	if (!as || !popped || !in)
		goto out;
	CHECK_INT(turn_table_init(&t), 0);
	for (int step = 0; step < 20000; step++) {
		int i = (int)rnd(N);
		uint64_t r = rnd(100);

		if (!in[i] && r < 40) {
			uint64_t life = rnd(4) == 0 ? rnd(12000000) : rnd(700000);
			mk(&t, &as[i], i, now, now + life);
			in[i] = true;
			popped[i] = false;
		} else if (in[i] && r < 60) {
			as[i].expiry_ms = now + rnd(rnd(2) ? 5000000 : 3000);
			turn_table_reschedule(&t, &as[i]);
		} else if (in[i] && r < 63) {
			turn_table_remove(&t, &as[i]);
			in[i] = false;
		}
		r = rnd(1000);
		now += r < 900 ? rnd(1500) : r < 995 ? rnd(600000) : rnd(20000000);
		drain(&t, now, popped, as, N);
		for (int j = 0; j < N; j++) {
			if (in[j] && popped[j]) {
				in[j] = false;
				if (as[j].expiry_ms > now)
					bad_pop++;
			}
			if (in[j] && as[j].expiry_ms + 1000 <= now)
				late++;
		}
	}
	CHECK_INT(bad_pop, 0);
	CHECK_INT(late, 0);
	for (int j = 0; j < N; j++)
		if (in[j])
			turn_table_remove(&t, &as[j]);
	CHECK_INT(t.count, 0);
	turn_table_cleanup(&t);
out:
	free(as);
	free(popped);
	free(in);
}

/* ---- permissions ---- */

static void test_perms(void)
{
	struct turn_alloc a = {0};
	struct sockaddr_storage p1 = sa("45.33.32.156:1000"), p1b = sa("45.33.32.156:61000");
	struct sockaddr_storage p2 = sa("45.33.32.157:1000");
	struct sockaddr_storage p6 = sa("[2606:4700::1111]:53"), p6b = sa("[2606:4700::1111]:9");
	struct sockaddr_storage p6x = sa("[2606:4700::1112]:53");
	const struct turn_perm *p;

	CHECK(turn_perm_find(&a, SA(&p1), T0) == NULL);
	CHECK_INT(turn_perm_add(&a, SA(&p1), T0, 10, false), 0);
	/* Per IP: the port is ignored (RFC 8656 §9). */
	p = turn_perm_find(&a, SA(&p1b), T0);
	CHECK(p != NULL);
	CHECK(p && !p->self);
	CHECK(turn_perm_find(&a, SA(&p2), T0) == NULL);
	/* 300 s exactly: valid at +299.999 s, gone at +300 s. */
	CHECK(turn_perm_find(&a, SA(&p1), T0 + 299999) != NULL);
	CHECK(turn_perm_find(&a, SA(&p1), T0 + 300000) == NULL);
	/* Refreshed at +200 s: to +500 s. */
	CHECK_INT(turn_perm_add(&a, SA(&p1b), T0 + 200000, 10, false), 0);
	CHECK_INT(a.nperms, 1);
	CHECK(turn_perm_find(&a, SA(&p1), T0 + 499999) != NULL);
	CHECK(turn_perm_find(&a, SA(&p1), T0 + 500000) == NULL);

	/* IPv6, and the self flag kept (and updated on refresh). */
	CHECK_INT(turn_perm_add(&a, SA(&p6), T0, 10, true), 0);
	p = turn_perm_find(&a, SA(&p6b), T0 + 1);
	CHECK(p && p->self);
	CHECK(turn_perm_find(&a, SA(&p6x), T0 + 1) == NULL);
	CHECK_INT(turn_perm_add(&a, SA(&p6b), T0 + 2, 10, false), 0);
	p = turn_perm_find(&a, SA(&p6), T0 + 3);
	CHECK(p && !p->self);
	CHECK(turn_perm_find(&a, SA(&p6), T0 + 300001) != NULL);
	CHECK(turn_perm_find(&a, SA(&p6), T0 + 300002) == NULL);
	turn_alloc_cleanup(&a);
	CHECK(a.perms == NULL);
	CHECK_INT(a.nperms, 0);
	turn_alloc_cleanup(&a); /* twice is harmless */
}

static void test_perms_limit(void)
{
	struct turn_alloc a = {0};
	struct sockaddr_storage p[8];
	char s[48];

	for (int i = 0; i < 8; i++) {
		snprintf(s, sizeof(s), "45.33.32.%d:%d", 10 + i, 100 + i);
		p[i] = sa(s);
	}
	for (int i = 0; i < 3; i++)
		CHECK_INT(turn_perm_add(&a, SA(&p[i]), T0 + (uint64_t)i * 1000, 3, false), 0);
	CHECK_INT(turn_perm_add(&a, SA(&p[3]), T0 + 3000, 3, false), TP_ETOOMANY);
	CHECK(turn_perm_find(&a, SA(&p[3]), T0 + 3000) == NULL);
	/* Refreshing one already there is no new permission. */
	CHECK_INT(turn_perm_add(&a, SA(&p[1]), T0 + 4000, 3, false), 0);
	/* p[0] expires at +300 s: its slot is free for another. */
	CHECK_INT(turn_perm_add(&a, SA(&p[3]), T0 + 299999, 3, false), TP_ETOOMANY);
	CHECK_INT(turn_perm_add(&a, SA(&p[3]), T0 + 300000, 3, false), 0);
	CHECK_INT(a.nperms, 3);
	CHECK(turn_perm_find(&a, SA(&p[0]), T0 + 300000) == NULL);
	CHECK(turn_perm_find(&a, SA(&p[3]), T0 + 300000) != NULL);
	/* All expired: three new ones reuse the slots, the array stays. */
	CHECK_INT(turn_perm_add(&a, SA(&p[4]), T0 + 700000, 3, false), 0);
	CHECK_INT(turn_perm_add(&a, SA(&p[5]), T0 + 700000, 3, false), 0);
	CHECK_INT(turn_perm_add(&a, SA(&p[6]), T0 + 700000, 3, false), 0);
	CHECK_INT(turn_perm_add(&a, SA(&p[7]), T0 + 700000, 3, false), TP_ETOOMANY);
	CHECK_INT(a.nperms, 3);
	for (int i = 0; i < 4; i++)
		CHECK(turn_perm_find(&a, SA(&p[i]), T0 + 700000) == NULL);
	for (int i = 4; i < 7; i++)
		CHECK(turn_perm_find(&a, SA(&p[i]), T0 + 700000) != NULL);
	/* An expired permission re-added for its own IP: live again. */
	CHECK_INT(turn_perm_add(&a, SA(&p[4]), T0 + 1100000, 3, false), 0);
	CHECK(turn_perm_find(&a, SA(&p[4]), T0 + 1100000) != NULL);
	turn_alloc_cleanup(&a);

	/* max 0: none at all. */
	CHECK_INT(turn_perm_add(&a, SA(&p[0]), T0, 0, false), TP_ETOOMANY);
	/* Growth of the array past its first sizes. */
	for (int i = 0; i < 200; i++) {
		snprintf(s, sizeof(s), "45.33.%d.%d:1", 40 + i / 100, i % 100);
		struct sockaddr_storage q = sa(s);
		CHECK_INT(turn_perm_add(&a, SA(&q), T0, 200, false), 0);
	}
	CHECK_INT(a.nperms, 200);
	for (int i = 0; i < 200; i++) {
		snprintf(s, sizeof(s), "45.33.%d.%d:2", 40 + i / 100, i % 100);
		struct sockaddr_storage q = sa(s);
		CHECK(turn_perm_find(&a, SA(&q), T0 + 1) != NULL);
	}
	turn_alloc_cleanup(&a);
}

/* max-permissions may be configured up to 65535: the array must grow past
 * 32768 entries (its 16-bit capacity must not wrap to 0). Adding 32768
 * permissions one by one costs a scan each, so the array is filled here
 * as turn_perm_add would have left it. */
static void test_perms_many(void)
{
	enum {
		FULL = 32768,
		MORE = 1000
	};
	struct turn_alloc a = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	unsigned bad = 0;

	a.perms = calloc(FULL, sizeof(*a.perms));
	CHECK(a.perms != NULL);
	if (!a.perms)
		return;
	for (uint32_t i = 0; i < FULL; i++) {
		sin.sin_addr.s_addr = htonl(0x2d000000u + i); /* 45.0.0.0/8 */
		turn_ip16((struct sockaddr *)&sin, a.perms[i].ip);
		a.perms[i].expiry_ms = T0 + TURN_PERM_LIFETIME_MS;
	}
	a.nperms = a.cap_perms = FULL;
	/* Refreshing one needs no room. */
	sin.sin_addr.s_addr = htonl(0x2d000000u + 77);
	CHECK_INT(turn_perm_add(&a, (struct sockaddr *)&sin, T0, 65535, false), 0);
	CHECK_INT(a.nperms, FULL);
	/* New ones grow the array. */
	for (uint32_t i = FULL; i < FULL + MORE && !bad; i++) {
		sin.sin_addr.s_addr = htonl(0x2d000000u + i);
		if (turn_perm_add(&a, (struct sockaddr *)&sin, T0, 65535, false) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(a.nperms, bad ? a.nperms : FULL + MORE);
	CHECK(a.perms != NULL && a.cap_perms >= a.nperms);
	for (uint32_t i = 0; !bad && i < FULL + MORE; i += 997) {
		sin.sin_addr.s_addr = htonl(0x2d000000u + i);
		if (!turn_perm_find(&a, (struct sockaddr *)&sin, T0 + 1))
			bad++;
	}
	CHECK_INT(bad, 0);
	turn_alloc_cleanup(&a);

	/* At the 16-bit limit itself: all 65535 live, one more is refused
	 * (not written past the array). */
	a.perms = calloc(65535, sizeof(*a.perms));
	CHECK(a.perms != NULL);
	if (!a.perms)
		return;
	for (uint32_t i = 0; i < 65535; i++) {
		sin.sin_addr.s_addr = htonl(0x2d000000u + i);
		turn_ip16((struct sockaddr *)&sin, a.perms[i].ip);
		a.perms[i].expiry_ms = T0 + TURN_PERM_LIFETIME_MS;
	}
	a.nperms = a.cap_perms = 65535;
	sin.sin_addr.s_addr = htonl(0x2e000000u);
	CHECK_INT(turn_perm_add(&a, (struct sockaddr *)&sin, T0, 65535, false), TP_ETOOMANY);
	CHECK_INT(a.nperms, 65535);
	turn_alloc_cleanup(&a);
}

/* ---- channels ---- */

static void test_chans(void)
{
	struct turn_alloc a = {0};
	struct sockaddr_storage p1 = sa("45.33.32.156:1000"), p1port = sa("45.33.32.156:1001");
	struct sockaddr_storage p2 = sa("45.33.32.157:1000"), p6 = sa("[2606:4700::1111]:53");
	const struct turn_chan *c;

	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p1), T0, 10), 0);
	c = turn_chan_by_num(&a, 0x4000, T0);
	CHECK(c && addr_equal(CSA(&c->peer), SA(&p1)));
	c = turn_chan_by_peer(&a, SA(&p1), T0);
	CHECK(c && c->num == 0x4000);
	/* A channel is per transport address: another port is another peer. */
	CHECK(turn_chan_by_peer(&a, SA(&p1port), T0) == NULL);
	CHECK(turn_chan_by_num(&a, 0x4001, T0) == NULL);
	/* 600 s lifetime. */
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 599999) != NULL);
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 600000) == NULL);
	CHECK(turn_chan_by_peer(&a, SA(&p1), T0 + 600000) == NULL);

	/* RFC 8656 §11.2: the number is bound to another peer; the peer to
	 * another number: 400. */
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p2), T0 + 1000, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x4001, SA(&p1), T0 + 1000, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p1port), T0 + 1000, 10), TP_EINVAL);
	/* The same pair again: a refresh, to +300 s + 600 s. */
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p1), T0 + 300000, 10), 0);
	CHECK_INT(a.nchans, 1);
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 899999) != NULL);
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 900000) == NULL);
	/* Expired at +900 s, held until +1200 s: still refusing rebinds, and
	 * neither lookup finds it. */
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p2), T0 + 900000, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x4001, SA(&p1), T0 + 900000, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p2), T0 + 1199999, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x4001, SA(&p1), T0 + 1199999, 10), TP_EINVAL);
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 1000000) == NULL);
	CHECK(turn_chan_by_peer(&a, SA(&p1), T0 + 1000000) == NULL);
	/* Free at +1200 s: the number for another peer, and the old peer
	 * for another number. */
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p2), T0 + 1200000, 10), 0);
	CHECK_INT(turn_chan_bind(&a, 0x4001, SA(&p1), T0 + 1200000, 10), 0);
	c = turn_chan_by_num(&a, 0x4000, T0 + 1200000);
	CHECK(c && addr_equal(CSA(&c->peer), SA(&p2)));
	c = turn_chan_by_peer(&a, SA(&p1), T0 + 1200000);
	CHECK(c && c->num == 0x4001);
	/* IPv6 peers too. */
	CHECK_INT(turn_chan_bind(&a, 0x7FFF, SA(&p6), T0 + 1200000, 10), 0);
	c = turn_chan_by_peer(&a, SA(&p6), T0 + 1200001);
	CHECK(c && c->num == 0x7FFF);
	turn_alloc_cleanup(&a);
	CHECK(a.chans == NULL);
	CHECK_INT(a.nchans, 0);
}

static void test_chans_held_refresh(void)
{
	struct turn_alloc a = {0};
	struct sockaddr_storage p1 = sa("45.33.32.156:1000");

	/* Re-binding the same pair while held brings it back to life. */
	CHECK_INT(turn_chan_bind(&a, 0x4abc, SA(&p1), T0, 10), 0);
	CHECK(turn_chan_by_num(&a, 0x4abc, T0 + 700000) == NULL);
	CHECK_INT(turn_chan_bind(&a, 0x4abc, SA(&p1), T0 + 700000, 10), 0);
	CHECK(turn_chan_by_num(&a, 0x4abc, T0 + 700000) != NULL);
	CHECK(turn_chan_by_num(&a, 0x4abc, T0 + 1299999) != NULL);
	CHECK(turn_chan_by_num(&a, 0x4abc, T0 + 1300000) == NULL);
	CHECK_INT(a.nchans, 1);
	turn_alloc_cleanup(&a);
}

static void test_chans_range_limit(void)
{
	struct turn_alloc a = {0};
	struct sockaddr_storage p[6];
	char s[48];

	for (int i = 0; i < 6; i++) {
		snprintf(s, sizeof(s), "45.33.32.%d:%d", 10 + i, 100 + i);
		p[i] = sa(s);
	}
	/* Range 0x4000..0x7FFF (stun.h: the RFC 5766 range). */
	CHECK_INT(turn_chan_bind(&a, 0x3FFF, SA(&p[0]), T0, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x8000, SA(&p[0]), T0, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0x0000, SA(&p[0]), T0, 10), TP_EINVAL);
	CHECK_INT(turn_chan_bind(&a, 0xFFFF, SA(&p[0]), T0, 10), TP_EINVAL);
	CHECK_INT(a.nchans, 0);
	CHECK_INT(turn_chan_bind(&a, 0x4000, SA(&p[0]), T0, 3), 0);
	CHECK_INT(turn_chan_bind(&a, 0x7FFF, SA(&p[1]), T0, 3), 0);
	CHECK_INT(turn_chan_bind(&a, 0x5000, SA(&p[2]), T0, 3), 0);
	/* Past max: too many; a refresh of one is still fine. */
	CHECK_INT(turn_chan_bind(&a, 0x5001, SA(&p[3]), T0, 3), TP_ETOOMANY);
	CHECK_INT(turn_chan_bind(&a, 0x5000, SA(&p[2]), T0 + 1, 3), 0);
	CHECK(turn_chan_by_num(&a, 0x5001, T0) == NULL);
	/* Lifetime and hold over: the slots are reused, not grown. */
	CHECK_INT(turn_chan_bind(&a, 0x5001, SA(&p[3]), T0 + 900001, 3), 0);
	CHECK_INT(turn_chan_bind(&a, 0x5002, SA(&p[4]), T0 + 900001, 3), 0);
	CHECK_INT(turn_chan_bind(&a, 0x5003, SA(&p[5]), T0 + 900001, 3), 0);
	CHECK_INT(turn_chan_bind(&a, 0x5004, SA(&p[0]), T0 + 900001, 3), TP_ETOOMANY);
	CHECK_INT(a.nchans, 3);
	CHECK(turn_chan_by_num(&a, 0x4000, T0 + 900001) == NULL);
	CHECK(turn_chan_by_num(&a, 0x5003, T0 + 900001) != NULL);
	turn_alloc_cleanup(&a);
}

/* ---- token bucket ---- */

static void test_bucket(void)
{
	struct turn_bucket b;

	/* Rate 0: no limit at all. */
	turn_bucket_init(&b, 0, T0);
	for (int i = 0; i < 1000; i++)
		CHECK(turn_bucket_take(&b, 1u << 30, T0));

	/* 1000 bytes/s: a burst of one second's worth, then nothing. */
	turn_bucket_init(&b, 1000, T0);
	CHECK(turn_bucket_take(&b, 600, T0));
	CHECK(turn_bucket_take(&b, 400, T0));
	CHECK(!turn_bucket_take(&b, 1, T0));
	/* Refill: 1 byte per millisecond. */
	CHECK(turn_bucket_take(&b, 1, T0 + 1));
	CHECK(!turn_bucket_take(&b, 1, T0 + 1));
	CHECK(!turn_bucket_take(&b, 501, T0 + 500));
	CHECK(turn_bucket_take(&b, 499, T0 + 500));
	CHECK(!turn_bucket_take(&b, 1, T0 + 500));
	/* Idle for a long time: capped at one second's worth. */
	CHECK(!turn_bucket_take(&b, 1001, T0 + 3600000));
	CHECK(turn_bucket_take(&b, 1000, T0 + 3600000));
	CHECK(!turn_bucket_take(&b, 1, T0 + 3600000));
	/* A clock that steps back refills nothing and breaks nothing. */
	CHECK(!turn_bucket_take(&b, 1, T0));
	CHECK(turn_bucket_take(&b, 10, T0 + 3600010));
	CHECK(!turn_bucket_take(&b, 1, T0 + 3600010));
	/* Zero-length takes always pass. */
	CHECK(turn_bucket_take(&b, 0, T0 + 3600010));

	/* A steady stream at the rate passes; above it, the excess drops. */
	{
		uint64_t ok = 0;
		turn_bucket_init(&b, 100000, T0); /* 100 kB/s */
		CHECK(turn_bucket_take(&b, 100000, T0));
		for (uint64_t ms = 1; ms <= 10000; ms++)
			ok += turn_bucket_take(&b, 200, T0 + ms) ? 200 : 0;
		/* 10 s at 100 kB/s, offered 200 kB/s. */
		CHECK(ok >= 999800 && ok <= 1000000);
	}
	/* Big rates: no overflow in the byte-millisecond scaling. */
	turn_bucket_init(&b, 10ULL * 1000 * 1000 * 1000, T0); /* 10 GB/s */
	CHECK(turn_bucket_take(&b, 1500, T0));
	CHECK(turn_bucket_take(&b, 1500, T0 + 86400000));
}

static void test_ip16(void)
{
	static const uint8_t v4[16] = {[10] = 0xff, [11] = 0xff, 45, 33, 32, 156};
	struct sockaddr_storage s4 = sa("45.33.32.156:7"), s6 = sa("[2606:4700::1111]:7");
	uint8_t out[16], want6[16];

	turn_ip16(SA(&s4), out);
	CHECK_MEM(out, v4, 16);
	turn_ip16(SA(&s6), out);
	inet_pton(AF_INET6, "2606:4700::1111", want6);
	CHECK_MEM(out, want6, 16);
}

int main(void)
{
	test_table_tuples();
	test_table_growth();
	test_wheel_exact();
	test_wheel_reschedule();
	test_wheel_span();
	test_wheel_jump();
	test_wheel_scale();
	test_wheel_crowd();
	test_wheel_random();
	CHECK_INT(early_pops, 0); /* over every drain above */
	test_perms();
	test_perms_limit();
	test_perms_many();
	test_chans();
	test_chans_held_refresh();
	test_chans_range_limit();
	test_bucket();
	test_ip16();
	return check_done("test_turn_alloc");
}
