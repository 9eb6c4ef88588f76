/* kcache.c - the per-worker cache of long-term keys from the shared store: a
 * hash table keyed by SipHash (names come from the network) with two least
 * recently used lists, one for users' keys and one for names without keys
 * ("no such user", failed lookups), each with its own bound: anyone can make
 * up names, so the second list only ever evicts its own entries. Entries
 * are allocated when a lookup's answer is stored, never on a hit. */
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

/* The two classes of entry, each with its LRU list and bound. */
enum {
	POS = 0,
	NEG = 1
};

struct auth_kcache {
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	size_t n[2], max[2]; /* per class */
	unsigned pos_ms, neg_ms, fail_ms;
	uint64_t gen;
	uint8_t hkey[16];
	struct entry_list lru[2];
};

static int class_of(uint8_t kind)
{
	return kind == KC_KEYS ? POS : NEG;
}

struct auth_kcache *auth_kcache_new(size_t max, unsigned pos_ms, unsigned neg_ms, unsigned fail_ms)
{
	struct auth_kcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max[POS] = max ? max : AUTH_KCACHE_MAX;
	c->max[NEG] = c->max[POS] / 4 ? c->max[POS] / 4 : 1;
	c->pos_ms = pos_ms ? pos_ms : AUTH_KCACHE_POS_MS;
	c->neg_ms = neg_ms ? neg_ms : AUTH_KCACHE_NEG_MS;
	c->fail_ms = fail_ms ? fail_ms : AUTH_KCACHE_FAIL_MS;
	c->nbuckets = 16;
	while (c->nbuckets < c->max[POS] + c->max[NEG] && c->nbuckets < ((size_t)1 << 20))
		c->nbuckets *= 2;
	TAILQ_INIT(&c->lru[POS]);
	TAILQ_INIT(&c->lru[NEG]);
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
	for (int k = POS; k <= NEG; k++) {
		while ((e = TAILQ_FIRST(&c->lru[k]))) {
			TAILQ_REMOVE(&c->lru[k], e, lru);
			entry_free(e);
		}
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
	TAILQ_REMOVE(&c->lru[class_of(e->kind)], e, lru);
	c->n[class_of(e->kind)]--;
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
	TAILQ_REMOVE(&c->lru[class_of(e->kind)], e, lru);
	TAILQ_INSERT_HEAD(&c->lru[class_of(e->kind)], e, lru);
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

/* Makes room for one more entry of class k: evicts that class's least
 * recently used entry when it is full. */
static void room(struct auth_kcache *c, int k)
{
	if (c->n[k] >= c->max[k]) {
		struct entry *old = TAILQ_LAST(&c->lru[k], entry_list);
		drop(c, slot(c, old->name, old->len));
	}
}

/* The entry for name, of kind (moved to that kind's list, evicting in its
 * class when full), made if new; the most recently used of its class. */
static struct entry *find_or_make(struct auth_kcache *c, const char *name, size_t len, uint8_t kind)
{
	int k = class_of(kind);
	struct entry **pp, *e;

	pp = slot(c, name, len);
	if ((e = *pp)) {
		int was = class_of(e->kind);
		TAILQ_REMOVE(&c->lru[was], e, lru);
		c->n[was]--;
		if (was != k)
			room(c, k);
		e->kind = kind;
		TAILQ_INSERT_HEAD(&c->lru[k], e, lru);
		c->n[k]++;
		return e;
	}
	room(c, k);
	pp = slot(c, name, len); /* the chain may have changed */
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	memcpy(e->name, name, len);
	e->len = len;
	e->hnext = NULL;
	e->kind = kind;
	*pp = e;
	TAILQ_INSERT_HEAD(&c->lru[k], e, lru);
	c->n[k]++;
	c->count++;
	return e;
}

int auth_kcache_put(struct auth_kcache *c, const char *name, size_t len, const struct auth_key *md5,
		    const struct auth_key *sha256, uint64_t now_ms)
{
	bool has_md5 = md5 && md5->alg == AUTH_ALG_MD5 && md5->len == 16;
	bool has_sha = sha256 && sha256->alg == AUTH_ALG_SHA256 && sha256->len == 32;
	struct entry *e;

	if (!c || !name || len == 0)
		return TP_EINVAL;
	if (!(e = find_or_make(c, name, len, has_md5 || has_sha ? KC_KEYS : KC_NONE)))
		return TP_ENOMEM;
	OPENSSL_cleanse(&e->md5, sizeof(e->md5));
	OPENSSL_cleanse(&e->sha256, sizeof(e->sha256));
	if (has_md5)
		e->md5 = *md5;
	if (has_sha)
		e->sha256 = *sha256;
	e->fresh_until = now_ms + (e->kind == KC_KEYS ? c->pos_ms : c->neg_ms);
	return 0;
}

int auth_kcache_put_failed(struct auth_kcache *c, const char *name, size_t len, uint64_t now_ms)
{
	struct entry *e;

	if (!c || !name || len == 0)
		return TP_EINVAL;
	/* Known keys carry on through a store outage; anything else fails. */
	e = *slot(c, name, len);
	if (!(e && e->kind == KC_KEYS && (e->md5.len || e->sha256.len)))
		e = find_or_make(c, name, len, KC_FAILED);
	if (!e)
		return TP_ENOMEM;
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
	TAILQ_FOREACH(e, &c->lru[POS], lru)
	e->fresh_until = 0;
	for (e = TAILQ_FIRST(&c->lru[NEG]); e; e = next) {
		next = TAILQ_NEXT(e, lru);
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
