/* looplag.h - an event loop's lag: how late a periodic probe timer fires,
 * kept as a histogram and a recent maximum. Written only by the loop's own
 * thread, read by any thread (relaxed atomics, no lock). */
#ifndef TURNPIKE_UTIL_LOOPLAG_H
#define TURNPIKE_UTIL_LOOPLAG_H

#include <stdint.h>

/* How often a worker's probe timer is meant to fire. */
#define LOOPLAG_PERIOD_MS 100
/* The recent maximum covers the current window and the one before: a
 * stall is seen by a scrape 10 to 20 s after it ended. */
#define LOOPLAG_WINDOW_MS 10000
#define LOOPLAG_BUCKETS 9

/* Upper bounds of the histogram's buckets in microseconds, ascending; the
 * last bucket has no bound (+Inf). */
extern const uint32_t looplag_bounds_us[LOOPLAG_BUCKETS - 1];

struct looplag {
	uint64_t bucket[LOOPLAG_BUCKETS]; /* probes per lag bucket (not cumulative) */
	uint64_t sum_us;                  /* sum of every probe's lag */
	uint64_t max_us[2];               /* largest lag in window even/odd */
	uint64_t window;                  /* the window max_us[window & 1] is for */
};

/* Records one probe that fired lag_us late at now_ms (monotonic). */
void looplag_observe(struct looplag *l, uint64_t lag_us, uint64_t now_ms);

/* What a reader takes: cumulative bucket counts, their total and sum, and
 * the largest lag of the last one or two windows (as of the last probe). */
struct looplag_snapshot {
	uint64_t cum[LOOPLAG_BUCKETS];
	uint64_t count;
	uint64_t sum_us;
	uint64_t max_us;
};
void looplag_read(const struct looplag *l, struct looplag_snapshot *out);

#endif
