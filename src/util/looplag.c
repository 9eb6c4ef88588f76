/* looplag.c - an event loop's lag histogram and recent maximum (looplag.h). */
#include "util/looplag.h"

#include <string.h>

/* 1 ms .. 5 s: a healthy loop stays in the first bucket or two; a blocked
 * one (a slow system call, a stopped process) lands in the last ones. */
const uint32_t looplag_bounds_us[LOOPLAG_BUCKETS - 1] = {1000,   5000,   10000,   50000,
							 100000, 500000, 1000000, 5000000};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

void looplag_observe(struct looplag *l, uint64_t lag_us, uint64_t now_ms)
{
	uint64_t win = now_ms / LOOPLAG_WINDOW_MS, cur = LOAD(l->window);
	size_t i = 0;

	while (i < LOOPLAG_BUCKETS - 1 && lag_us > looplag_bounds_us[i])
		i++;
	STORE(l->bucket[i], LOAD(l->bucket[i]) + 1);
	STORE(l->sum_us, LOAD(l->sum_us) + lag_us);
	if (win != cur) {
		/* A new window: it starts from this probe; the one before it
		 * is kept only when it was the window just ended. */
		if (win != cur + 1)
			STORE(l->max_us[(win + 1) & 1], 0);
		STORE(l->max_us[win & 1], 0);
		STORE(l->window, win);
	}
	if (lag_us > LOAD(l->max_us[win & 1]))
		STORE(l->max_us[win & 1], lag_us);
}

void looplag_read(const struct looplag *l, struct looplag_snapshot *out)
{
	uint64_t cum = 0, a = LOAD(l->max_us[0]), b = LOAD(l->max_us[1]);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < LOOPLAG_BUCKETS; i++) {
		cum += LOAD(l->bucket[i]);
		out->cum[i] = cum;
	}
	out->count = cum;
	out->sum_us = LOAD(l->sum_us);
	out->max_us = a > b ? a : b;
}
