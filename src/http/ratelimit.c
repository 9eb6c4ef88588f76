/* ratelimit.c - per-source token buckets for the credential hook, in a
 * fixed table: no allocation per client, bounded memory whatever the crowd. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "http/http.h"
#include "util/addr.h"
#include "util/rand.h"

#define PROBES 8    /* slots looked at per client */
#define MILLI 1000u /* tokens are kept in thousandths */

struct bucket {
	uint8_t key[16];  /* IPv4-mapped address, or the IPv6 /64 */
	uint64_t last_ms; /* last refill; 0: free slot */
	uint64_t milli;   /* tokens x 1000 */
};

struct http_ratelimit {
	uint64_t rate; /* tokens per second, also the bucket size */
	size_t mask;
	uint8_t seed[16];
	struct bucket *b;
};

struct http_ratelimit *http_ratelimit_new(unsigned rate, size_t slots)
{
	struct http_ratelimit *rl = calloc(1, sizeof(*rl));
	size_t n = PROBES;

	if (!rl)
		return NULL;
	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	rl->rate = rate ? rate : 1;
	rl->mask = n - 1;
	rl->b = calloc(n, sizeof(*rl->b));
	/* A keyed hash: nobody can aim many addresses at one probe window. */
	if (!rl->b || rand_bytes(rl->seed, sizeof(rl->seed)) != 0) {
		http_ratelimit_free(rl);
		return NULL;
	}
	return rl;
}

void http_ratelimit_free(struct http_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->b);
	OPENSSL_cleanse(rl->seed, sizeof(rl->seed));
	free(rl);
}

bool http_ratelimit_take(struct http_ratelimit *rl, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[16];
	struct bucket *b = NULL, *victim = NULL;
	uint64_t cap = rl->rate * MILLI;
	size_t h;

	if (now_ms == 0)
		now_ms = 1; /* 0 marks a free slot */
	http_source_key(sa, key);
	h = (size_t)addr_siphash(rl->seed, key, sizeof(key));
	for (size_t i = 0; i < PROBES; i++) {
		struct bucket *s = &rl->b[(h + i) & rl->mask];
		if (s->last_ms && !memcmp(s->key, key, sizeof(key))) {
			b = s;
			break;
		}
		if (!victim || s->last_ms < victim->last_ms)
			victim = s;
	}
	if (!b) {
		/* New or evicted: a full bucket, as if it had been idle. */
		b = victim;
		memcpy(b->key, key, sizeof(key));
		b->milli = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * rl->rate; /* ms x tokens/s = milli */
		b->milli = (add >= cap || b->milli + add >= cap) ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli < MILLI)
		return false;
	b->milli -= MILLI;
	return true;
}
