/* kcache.c - the per-worker cache of long-term keys from the shared store: a
 * hash table keyed by SipHash (names come from the network) with a least
 * recently used list for eviction. Entries are allocated when a lookup's
 * answer is stored, never on a hit. */
#include "auth/kcache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/crypto.h>

#include "turnpike/err.h"
#include "util/addr.h"
#include "util/rand.h"

enum kind {
	KC_KEYS = 0,
	KC_NONE,
	KC_FAILED
};

struct entry {
	struct entry *hnext;
	TAILQ_ENTRY(entry) lru; /* head: most recently used */
	uint64_t fresh_until;   /* ms */
	uint8_t kind;
	struct auth_key md5, sha256; /* len 0: absent */
	size_t len;
	char name[];
};

TAILQ_HEAD(entry_list, entry);

struct auth_kcache {
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	unsigned pos_ms, neg_ms, fail_ms;
	uint64_t gen;
	uint8_t hkey[16];
	struct entry_list lru;
};

struct auth_kcache *auth_kcache_new(size_t max, unsigned pos_ms, unsigned neg_ms, unsigned fail_ms)
{
	struct auth_kcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max = max ? max : AUTH_KCACHE_MAX;
	c->pos_ms = pos_ms ? pos_ms : AUTH_KCACHE_POS_MS;
	c->neg_ms = neg_ms ? neg_ms : AUTH_KCACHE_NEG_MS;
	c->fail_ms = fail_ms ? fail_ms : AUTH_KCACHE_FAIL_MS;
	c->nbuckets = 16;
	while (c->nbuckets < c->max && c->nbuckets < ((size_t)1 << 20))
		c->nbuckets *= 2;
	TAILQ_INIT(&c->lru);
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets || rand_bytes(c->hkey, sizeof(c->hkey)) != 0) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	return c;
}

static void entry_free(struct entry *e)
{
	OPENSSL_cleanse(e, sizeof(*e) + e->len);
	free(e);
}

void auth_kcache_free(struct auth_kcache *c)
{
	struct entry *e;

	if (!c)
		return;
	while ((e = TAILQ_FIRST(&c->lru))) {
		TAILQ_REMOVE(&c->lru, e, lru);
		entry_free(e);
	}
	free(c->buckets);
	OPENSSL_cleanse(c->hkey, sizeof(c->hkey));
	free(c);
}

static struct entry **slot(const struct auth_kcache *c, const char *name, size_t len)
{
	size_t b = (size_t)(addr_siphash(c->hkey, (const uint8_t *)name, len) & (c->nbuckets - 1));
	struct entry **pp = &c->buckets[b];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->len == len && memcmp((*pp)->name, name, len) == 0)
			break;
	return pp;
}

/* Unlinks the entry at *pp from both structures and frees it. */
static void drop(struct auth_kcache *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->hnext;
	TAILQ_REMOVE(&c->lru, e, lru);
	c->count--;
	entry_free(e);
}

enum auth_kc auth_kcache_get(struct auth_kcache *c, const char *name, size_t len, uint8_t alg,
			     uint64_t now_ms, struct auth_key *key)
{
	struct entry **pp, *e;
	bool fresh;

	memset(key, 0, sizeof(*key));
	if (!c || !name || len == 0)
		return AUTH_KC_MISS;
	pp = slot(c, name, len);
	e = *pp;
	if (!e)
		return AUTH_KC_MISS;
	fresh = now_ms < e->fresh_until;
	if (!fresh && e->kind != KC_KEYS) {
		drop(c, pp);
		return AUTH_KC_MISS;
	}
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	switch (e->kind) {
	case KC_NONE:
		return AUTH_KC_NONE;
	case KC_FAILED:
		return AUTH_KC_FAILED;
	default:
		break;
	}
	if (alg == AUTH_ALG_MD5 && e->md5.len)
		*key = e->md5;
	else if (alg == AUTH_ALG_SHA256 && e->sha256.len)
		*key = e->sha256;
	return fresh ? AUTH_KC_FOUND : AUTH_KC_STALE;
}

/* The entry for name, made (evicting when full) if new. */
static struct entry *find_or_make(struct auth_kcache *c, const char *name, size_t len)
{
	struct entry **pp, *e;

	pp = slot(c, name, len);
	if ((e = *pp)) {
		TAILQ_REMOVE(&c->lru, e, lru);
		TAILQ_INSERT_HEAD(&c->lru, e, lru);
		return e;
	}
	if (c->count >= c->max) {
		struct entry *old = TAILQ_LAST(&c->lru, entry_list);
		drop(c, slot(c, old->name, old->len));
		pp = slot(c, name, len); /* the chain may have changed */
	}
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->len = len;
	e->hnext = NULL;
	*pp = e;
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->count++;
	return e;
}

int auth_kcache_put(struct auth_kcache *c, const char *name, size_t len, const struct auth_key *md5,
		    const struct auth_key *sha256, uint64_t now_ms)
{
	struct entry *e;

	if (!c || !name || len == 0)
		return TP_EINVAL;
	if (!(e = find_or_make(c, name, len)))
		return TP_ENOMEM;
	OPENSSL_cleanse(&e->md5, sizeof(e->md5));
	OPENSSL_cleanse(&e->sha256, sizeof(e->sha256));
	if (md5 && md5->alg == AUTH_ALG_MD5 && md5->len == 16)
		e->md5 = *md5;
	if (sha256 && sha256->alg == AUTH_ALG_SHA256 && sha256->len == 32)
		e->sha256 = *sha256;
	if (e->md5.len || e->sha256.len) {
		e->kind = KC_KEYS;
		e->fresh_until = now_ms + c->pos_ms;
	} else {
		e->kind = KC_NONE;
		e->fresh_until = now_ms + c->neg_ms;
	}
	return 0;
}

int auth_kcache_put_failed(struct auth_kcache *c, const char *name, size_t len, uint64_t now_ms)
{
	struct entry *e;

	if (!c || !name || len == 0)
		return TP_EINVAL;
	if (!(e = find_or_make(c, name, len)))
		return TP_ENOMEM;
	/* Known keys carry on through a store outage; anything else fails. */
	if (e->kind != KC_KEYS || (!e->md5.len && !e->sha256.len))
		e->kind = KC_FAILED;
	e->fresh_until = now_ms + c->fail_ms;
	return 0;
}

bool auth_kcache_remove(struct auth_kcache *c, const char *name, size_t len)
{
	struct entry **pp;

	if (!c)
		return false;
	c->gen++;
	if (!name || len == 0)
		return false;
	pp = slot(c, name, len);
	if (!*pp)
		return false;
	drop(c, pp);
	return true;
}

void auth_kcache_expire_all(struct auth_kcache *c)
{
	struct entry *e, *next;

	if (!c)
		return;
	c->gen++;
	for (e = TAILQ_FIRST(&c->lru); e; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (e->kind == KC_KEYS)
			e->fresh_until = 0;
		else
			drop(c, slot(c, e->name, e->len));
	}
}

uint64_t auth_kcache_gen(const struct auth_kcache *c)
{
	return c ? c->gen : 0;
}

size_t auth_kcache_count(const struct auth_kcache *c)
{
	return c ? c->count : 0;
}
