/* test_util_looplag.c - unit tests for src/util/looplag.c: buckets, the
 * sum, and a recent maximum that forgets a stall two windows later. */
#include "check.h"
#include "util/looplag.h"

#define W LOOPLAG_WINDOW_MS

static void test_buckets(void)
{
	struct looplag l = {0};
	struct looplag_snapshot s;

	looplag_observe(&l, 0, 5 * W);       /* <= 1 ms */
	looplag_observe(&l, 1000, 5 * W);    /* <= 1 ms, on the bound */
	looplag_observe(&l, 1001, 5 * W);    /* <= 5 ms */
	looplag_observe(&l, 3000000, 5 * W); /* <= 5 s */
	looplag_observe(&l, 9000000, 5 * W); /* +Inf */
	looplag_read(&l, &s);
	CHECK_INT(s.cum[0], 2);
	CHECK_INT(s.cum[1], 3);
	CHECK_INT(s.cum[LOOPLAG_BUCKETS - 3], 3); /* <= 1 s */
	CHECK_INT(s.cum[LOOPLAG_BUCKETS - 2], 4);
	CHECK_INT(s.cum[LOOPLAG_BUCKETS - 1], 5);
	CHECK_INT(s.count, 5);
	CHECK_INT(s.sum_us, 12002001);
	CHECK_INT(s.max_us, 9000000);
}

static void test_recent_max(void)
{
	struct looplag l = {0};
	struct looplag_snapshot s;

	looplag_observe(&l, 2000000, 7 * W + 10);
	looplag_observe(&l, 100, 7 * W + 200);
	looplag_read(&l, &s);
	CHECK_INT(s.max_us, 2000000);
	/* The next window still shows it ... */
	looplag_observe(&l, 300, 8 * W + 5);
	looplag_read(&l, &s);
	CHECK_INT(s.max_us, 2000000);
	/* ... the one after forgets it. */
	looplag_observe(&l, 400, 9 * W + 5);
	looplag_read(&l, &s);
	CHECK_INT(s.max_us, 400);
	/* A gap of several windows (nothing observed) forgets both. */
	looplag_observe(&l, 50, 20 * W);
	looplag_read(&l, &s);
	CHECK_INT(s.max_us, 50);
	CHECK_INT(s.count, 5);
}

int main(void)
{
	test_buckets();
	test_recent_max();
	return check_done("test_util_looplag");
}
