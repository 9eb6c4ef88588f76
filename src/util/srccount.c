/* srccount.c - per-source counters in a fixed table of atomics. */
#include "util/srccount.h"

#include <stdlib.h>

#include <openssl/crypto.h>

#include "util/addr.h"
#include "util/rand.h"

struct srccount {
	uint32_t mask;
	uint8_t seed[16];
	unsigned *n;
};

struct srccount *srccount_new(size_t slots)
{
	struct srccount *sc = calloc(1, sizeof(*sc));
	size_t n = 64;

	if (!sc)
		return NULL;
	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	sc->mask = (uint32_t)(n - 1);
	sc->n = calloc(n, sizeof(*sc->n));
	if (!sc->n || rand_bytes(sc->seed, sizeof(sc->seed)) != 0) {
		srccount_free(sc);
		return NULL;
	}
	return sc;
}

void srccount_free(struct srccount *sc)
{
	if (!sc)
		return;
	free(sc->n);
	OPENSSL_cleanse(sc->seed, sizeof(sc->seed));
	free(sc);
}

static uint32_t slot_of(const struct srccount *sc, const struct sockaddr *sa)
{
	uint8_t key[16];

	addr_source_key(sa, key);
	return (uint32_t)addr_siphash(sc->seed, key, sizeof(key)) & sc->mask;
}

uint32_t srccount_take(struct srccount *sc, const struct sockaddr *sa, unsigned limit)
{
	uint32_t s;
	unsigned cur;

	if (limit == 0)
		return SRCCOUNT_NONE;
	s = slot_of(sc, sa);
	cur = __atomic_load_n(&sc->n[s], __ATOMIC_RELAXED);
	do {
		if (cur >= limit)
			return SRCCOUNT_NONE;
	} while (!__atomic_compare_exchange_n(&sc->n[s], &cur, cur + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return s;
}

void srccount_put(struct srccount *sc, uint32_t slot)
{
	if (slot != SRCCOUNT_NONE && slot <= sc->mask)
		__atomic_fetch_sub(&sc->n[slot], 1, __ATOMIC_RELAXED);
}

unsigned srccount_get(const struct srccount *sc, const struct sockaddr *sa)
{
	return __atomic_load_n(&sc->n[slot_of(sc, sa)], __ATOMIC_RELAXED);
}
