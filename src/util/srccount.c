/* srccount.c - how many of something are held, in all and by each source
 * (addr_source_key), so that one source holds no more than its share of a
 * cap: a fixed table sized from the cap (open addressing under a keyed
 * hash, exact keys), no allocation per entry, every operation bounded. */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/crypto.h>

#include "util/srccount.h"
#include "util/addr.h"
#include "util/rand.h"

struct source {
	uint8_t key[16]; /* addr_source_key */
	size_t n;        /* connections open; 0: free slot */
};

struct srccount {
	size_t limit, per_source, open;
	size_t mask;
	uint8_t seed[16];
	struct source *s;
};

struct srccount *srccount_new(size_t limit, size_t per_source)
{
	struct srccount *t = calloc(1, sizeof(*t));
	size_t n = 8;

	if (!t)
		return NULL;
	/* At most `limit` sources at once: a table at most half full. */
	while (n < 2 * limit && n < ((size_t)1 << 24))
		n <<= 1;
	t->limit = limit ? limit : 1;
	t->per_source = per_source ? per_source : 1;
	t->mask = n - 1;
	t->s = calloc(n, sizeof(*t->s));
	/* A keyed hash: nobody can aim many addresses at one run of slots. */
	if (!t->s || rand_bytes(t->seed, sizeof(t->seed)) != 0) {
		srccount_free(t);
		return NULL;
	}
	return t;
}

void srccount_free(struct srccount *t)
{
	if (!t)
		return;
	free(t->s);
	OPENSSL_cleanse(t->seed, sizeof(t->seed));
	free(t);
}

static size_t home(const struct srccount *t, const uint8_t key[16])
{
	return (size_t)addr_siphash(t->seed, key, 16) & t->mask;
}

/* The slot holding key, or the free slot where it would go (linear
 * probing; the table is never full, so the walk ends). */
static size_t find(const struct srccount *t, const uint8_t key[16])
{
	size_t i = home(t, key);

	while (t->s[i].n && memcmp(t->s[i].key, key, 16) != 0)
		i = (i + 1) & t->mask;
	return i;
}

enum srccount_take srccount_take(struct srccount *t, const struct sockaddr *sa)
{
	uint8_t key[16];
	size_t i;

	if (t->open >= t->limit)
		return SRCCOUNT_FULL;
	addr_source_key(sa, key);
	i = find(t, key);
	if (t->s[i].n >= t->per_source)
		return SRCCOUNT_SOURCE;
	if (!t->s[i].n)
		memcpy(t->s[i].key, key, 16);
	t->s[i].n++;
	t->open++;
	return SRCCOUNT_OK;
}

/* Empties slot i and moves later entries of its run back, so that every
 * key stays reachable from its home slot without tombstones. */
static void remove_at(struct srccount *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;
		j = (j + 1) & t->mask;
		if (!t->s[j].n)
			break;
		k = home(t, t->s[j].key);
		/* Leave it when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->s[i] = t->s[j];
		i = j;
	}
	memset(&t->s[i], 0, sizeof(t->s[i]));
}

void srccount_put(struct srccount *t, const struct sockaddr *sa)
{
	uint8_t key[16];
	size_t i;

	addr_source_key(sa, key);
	i = find(t, key);
	if (!t->s[i].n)
		return; /* never admitted */
	t->open--;
	if (--t->s[i].n == 0)
		remove_at(t, i);
}

size_t srccount_open(const struct srccount *t)
{
	return t->open;
}

size_t srccount_of(const struct srccount *t, const struct sockaddr *sa)
{
	uint8_t key[16];

	addr_source_key(sa, key);
	return t->s[find(t, key)].n;
}
