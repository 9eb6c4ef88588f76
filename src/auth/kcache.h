/* kcache.h - a worker's cache of long-term keys fetched from a shared
 * store (Redis): username -> MD5 key and SHA-256 key, or "no such user", or
 * "the last lookup failed", each fresh for its own time; bounded, least
 * recently used entries evicted first. Pure: the caller gives the clock; one
 * thread only (no lock). */
#ifndef TURNPIKE_AUTH_KCACHE_H
#define TURNPIKE_AUTH_KCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

#define AUTH_KCACHE_MAX 4096     /* default bound on entries */
#define AUTH_KCACHE_POS_MS 60000 /* keys: asked again after a minute */
#define AUTH_KCACHE_NEG_MS 10000 /* no such user: after 10 s */
#define AUTH_KCACHE_FAIL_MS 2000 /* a failed lookup: after 2 s */

/* What the cache knows of a name. */
enum auth_kc {
	AUTH_KC_MISS = 0, /* nothing: look it up */
	AUTH_KC_FOUND,    /* the user's keys, fresh */
	AUTH_KC_STALE,    /* the user's keys past their time: look them up again,
			   * and use these only when the store cannot answer */
	AUTH_KC_NONE,     /* fresh: no such user */
	AUTH_KC_FAILED    /* fresh: the last lookup failed (answer 500) */
};

struct auth_kcache;

/* max users' keys (0: AUTH_KCACHE_MAX), and a quarter as many names without
 * keys ("no such user", failed lookups) in a share of their own: those only
 * ever evict each other, so a flood of made-up names cannot push real
 * users' keys out. Times in milliseconds (0: the defaults above). Returns
 * NULL when out of memory. */
struct auth_kcache *auth_kcache_new(size_t max, unsigned pos_ms, unsigned neg_ms, unsigned fail_ms);
/* Wipes every key. NULL is a no-op. */
void auth_kcache_free(struct auth_kcache *c);

/*
 * Looks name up at now_ms. With FOUND or STALE, *key receives the user's
 * key for alg (AUTH_ALG_MD5 or AUTH_ALG_SHA256), or has len 0 when the user
 * has none for alg (a user stored as an MD5 key only); the caller wipes it.
 * Otherwise *key is zeroed. An entry whose time is over is dropped (no
 * such user, failed) or turns STALE (keys). A hit makes the entry the most
 * recently used.
 */
enum auth_kc auth_kcache_get(struct auth_kcache *c, const char *name, size_t len, uint8_t alg,
			     uint64_t now_ms, struct auth_key *key);

/*
 * Stores the answer of a lookup: the user's keys (either may be NULL), or,
 * with both NULL, "no such user". Replaces what was there; evicts the least
 * recently used entry of the same class (keys, or names without) when that
 * class is full. Returns 0, TP_EINVAL (empty name) or
 * TP_ENOMEM (nothing stored).
 */
int auth_kcache_put(struct auth_kcache *c, const char *name, size_t len, const struct auth_key *md5,
		    const struct auth_key *sha256, uint64_t now_ms);

/* A lookup failed (timeout, lost connection, garbage): keys already known
 * stay in use for fail_ms more (FOUND); otherwise the name is FAILED for
 * fail_ms. Returns 0, TP_EINVAL or TP_ENOMEM. */
int auth_kcache_put_failed(struct auth_kcache *c, const char *name, size_t len, uint64_t now_ms);

/* Forgets name (its keys changed or were removed). Returns whether it was
 * there. Bumps the generation either way. */
bool auth_kcache_remove(struct auth_kcache *c, const char *name, size_t len);

/* Changes may have been missed (the invalidation channel was down):
 * "no such user" and failures are forgotten, keys turn STALE. Bumps the
 * generation. */
void auth_kcache_expire_all(struct auth_kcache *c);

/* Changes with every remove or expire_all: a lookup sent under an older
 * generation may carry an answer from before the change and must not be
 * stored. */
uint64_t auth_kcache_gen(const struct auth_kcache *c);

size_t auth_kcache_count(const struct auth_kcache *c);

#endif
