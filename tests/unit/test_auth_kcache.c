/* test_auth_kcache.c - unit tests for src/auth/kcache.c: keys, "no such
 * user" and failures each fresh for their own time; keys turn stale, not
 * gone; the bound holds with the least recently used evicted, names without
 * keys in a share of their own that never evicts keys; removal and
 * expire_all (with the generation that guards lookups in flight). */
#include <stdio.h>
#include <string.h>

#include "auth/kcache.h"
#include "check.h"
#include "turnpike/err.h"

#define POS 60000
#define NEG 10000
#define FAIL 2000

static struct auth_key md5, sha;

static void keys_init(void)
{
	auth_key_derive(AUTH_ALG_MD5, "alice", 5, "example.org", 11, "pw", 2, &md5);
	auth_key_derive(AUTH_ALG_SHA256, "alice", 5, "example.org", 11, "pw", 2, &sha);
}

static void test_ttls(void)
{
	struct auth_kcache *c = auth_kcache_new(16, POS, NEG, FAIL);
	struct auth_key k;

	CHECK(c != NULL);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1000, &k), AUTH_KC_MISS);
	CHECK_INT(k.len, 0);
	CHECK_INT(auth_kcache_put(c, "alice", 5, &md5, &sha, 1000), 0);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1000, &k), AUTH_KC_FOUND);
	CHECK(k.len == 16 && memcmp(k.k, md5.k, 16) == 0);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_SHA256, 1000 + POS - 1, &k),
		  AUTH_KC_FOUND);
	CHECK(k.len == 32 && memcmp(k.k, sha.k, 32) == 0);
	/* Past its time: stale, keys still given as a fallback. */
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1000 + POS, &k), AUTH_KC_STALE);
	CHECK_INT(k.len, 16);
	/* A failed lookup keeps known keys in use a little longer. */
	CHECK_INT(auth_kcache_put_failed(c, "alice", 5, 1000 + POS), 0);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1000 + POS + FAIL - 1, &k),
		  AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1000 + POS + FAIL, &k),
		  AUTH_KC_STALE);

	/* No such user: fresh for NEG, then gone. */
	CHECK_INT(auth_kcache_put(c, "bob", 3, NULL, NULL, 5000), 0);
	CHECK_INT(auth_kcache_get(c, "bob", 3, AUTH_ALG_MD5, 5000 + NEG - 1, &k), AUTH_KC_NONE);
	CHECK_INT(k.len, 0);
	CHECK_INT(auth_kcache_get(c, "bob", 3, AUTH_ALG_MD5, 5000 + NEG, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_count(c), 1);

	/* A failure with nothing known: FAILED for FAIL, then gone. */
	CHECK_INT(auth_kcache_put_failed(c, "carol", 5, 7000), 0);
	CHECK_INT(auth_kcache_get(c, "carol", 5, AUTH_ALG_MD5, 7000 + FAIL - 1, &k),
		  AUTH_KC_FAILED);
	CHECK_INT(auth_kcache_get(c, "carol", 5, AUTH_ALG_MD5, 7000 + FAIL, &k), AUTH_KC_MISS);
	/* A failure after "no such user" is a failure. */
	CHECK_INT(auth_kcache_put(c, "dave", 4, NULL, NULL, 8000), 0);
	CHECK_INT(auth_kcache_put_failed(c, "dave", 4, 8000), 0);
	CHECK_INT(auth_kcache_get(c, "dave", 4, AUTH_ALG_MD5, 8001, &k), AUTH_KC_FAILED);

	/* An answer replaces what was there: keys after "no such user". */
	CHECK_INT(auth_kcache_put(c, "dave", 4, &md5, NULL, 9000), 0);
	CHECK_INT(auth_kcache_get(c, "dave", 4, AUTH_ALG_MD5, 9001, &k), AUTH_KC_FOUND);
	/* coturn's users have an MD5 key only: no key for SHA-256. */
	CHECK_INT(auth_kcache_get(c, "dave", 4, AUTH_ALG_SHA256, 9001, &k), AUTH_KC_FOUND);
	CHECK_INT(k.len, 0);
	/* Keys of the wrong kind are not kept: that is "no such user". */
	CHECK_INT(auth_kcache_put(c, "eve", 3, &sha, &md5, 9000), 0);
	CHECK_INT(auth_kcache_get(c, "eve", 3, AUTH_ALG_MD5, 9001, &k), AUTH_KC_NONE);

	/* Names are bytes: no prefix matches, no empty names. */
	CHECK_INT(auth_kcache_get(c, "alic", 4, AUTH_ALG_MD5, 9001, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_put(c, "", 0, &md5, NULL, 9000), TP_EINVAL);
	CHECK_INT(auth_kcache_put(c, "a\0b", 3, &md5, NULL, 9000), 0);
	CHECK_INT(auth_kcache_get(c, "a\0c", 3, AUTH_ALG_MD5, 9001, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "a\0b", 3, AUTH_ALG_MD5, 9001, &k), AUTH_KC_FOUND);
	auth_kcache_free(c);
	auth_kcache_free(NULL);
}

static void test_eviction(void)
{
	struct auth_kcache *c = auth_kcache_new(4, POS, NEG, FAIL);
	struct auth_key k;
	char name[16];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		CHECK_INT(auth_kcache_put(c, name, strlen(name), &md5, NULL, 100), 0);
	}
	CHECK_INT(auth_kcache_count(c), 4);
	/* u0 used: u1 is now the least recently used. */
	CHECK_INT(auth_kcache_get(c, "u0", 2, AUTH_ALG_MD5, 200, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_put(c, "u4", 2, &md5, NULL, 300), 0);
	CHECK_INT(auth_kcache_count(c), 4);
	CHECK_INT(auth_kcache_get(c, "u1", 2, AUTH_ALG_MD5, 300, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "u0", 2, AUTH_ALG_MD5, 300, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_get(c, "u4", 2, AUTH_ALG_MD5, 300, &k), AUTH_KC_FOUND);
	/* Replacing an entry evicts nothing. */
	CHECK_INT(auth_kcache_put(c, "u4", 2, NULL, NULL, 400), 0);
	CHECK_INT(auth_kcache_count(c), 4);
	/* A flood of made-up names never grows it past the bound, and never
	 * pushes a real user's keys out: names without keys have a share of
	 * their own (a quarter: 1 here), and evict only each other. */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "flood%d", i);
		auth_kcache_put(c, name, strlen(name), NULL, NULL, 500);
		auth_kcache_put_failed(c, name, strlen(name), 500);
	}
	CHECK_INT(auth_kcache_count(c), 4);
	CHECK_INT(auth_kcache_get(c, "flood999", 8, AUTH_ALG_MD5, 501, &k), AUTH_KC_FAILED);
	CHECK_INT(auth_kcache_get(c, "flood998", 8, AUTH_ALG_MD5, 501, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "u0", 2, AUTH_ALG_MD5, 501, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_get(c, "u2", 2, AUTH_ALG_MD5, 501, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_get(c, "u3", 2, AUTH_ALG_MD5, 501, &k), AUTH_KC_FOUND);
	/* A failed lookup keeps a user's known keys, in their own share. */
	CHECK_INT(auth_kcache_put_failed(c, "u0", 2, 600), 0);
	CHECK_INT(auth_kcache_get(c, "u0", 2, AUTH_ALG_MD5, 601, &k), AUTH_KC_FOUND);
	/* Keys for a name that had none: it moves to the keys' share (3 of 4
	 * used); one more user then evicts the least recently used keys (u2). */
	CHECK_INT(auth_kcache_put(c, "flood999", 8, &md5, NULL, 700), 0);
	CHECK_INT(auth_kcache_get(c, "flood999", 8, AUTH_ALG_MD5, 701, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_count(c), 4);
	CHECK_INT(auth_kcache_put(c, "u5", 2, &md5, NULL, 800), 0);
	CHECK_INT(auth_kcache_get(c, "u2", 2, AUTH_ALG_MD5, 801, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "u3", 2, AUTH_ALG_MD5, 801, &k), AUTH_KC_FOUND);
	CHECK_INT(auth_kcache_count(c), 4);
	auth_kcache_free(c);
}

static void test_invalidation(void)
{
	struct auth_kcache *c = auth_kcache_new(0, 0, 0, 0);
	struct auth_key k;
	uint64_t g0 = auth_kcache_gen(c), g1;

	auth_kcache_put(c, "alice", 5, &md5, &sha, 0);
	auth_kcache_put(c, "bob", 3, NULL, NULL, 0);
	auth_kcache_put_failed(c, "carol", 5, 0);
	CHECK(auth_kcache_remove(c, "alice", 5));
	CHECK(!auth_kcache_remove(c, "alice", 5));
	g1 = auth_kcache_gen(c);
	CHECK(g1 != g0);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, 1, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "bob", 3, AUTH_ALG_MD5, 1, &k), AUTH_KC_NONE);

	/* Missed changes: negatives and failures go, keys turn stale. */
	auth_kcache_put(c, "alice", 5, &md5, &sha, 0);
	auth_kcache_expire_all(c);
	CHECK(auth_kcache_gen(c) != g1);
	CHECK_INT(auth_kcache_count(c), 1);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_SHA256, 1, &k), AUTH_KC_STALE);
	CHECK_INT(k.len, 32);
	CHECK_INT(auth_kcache_get(c, "bob", 3, AUTH_ALG_MD5, 1, &k), AUTH_KC_MISS);
	CHECK_INT(auth_kcache_get(c, "carol", 5, AUTH_ALG_MD5, 1, &k), AUTH_KC_MISS);
	/* The defaults. */
	auth_kcache_put(c, "alice", 5, &md5, NULL, 0);
	CHECK_INT(auth_kcache_get(c, "alice", 5, AUTH_ALG_MD5, AUTH_KCACHE_POS_MS - 1, &k),
		  AUTH_KC_FOUND);
	auth_kcache_put(c, "bob", 3, NULL, NULL, 0);
	CHECK_INT(auth_kcache_get(c, "bob", 3, AUTH_ALG_MD5, AUTH_KCACHE_NEG_MS, &k), AUTH_KC_MISS);
	auth_kcache_free(c);
}

int main(void)
{
	keys_init();
	test_ttls();
	test_eviction();
	test_invalidation();
	return check_done("test_auth_kcache");
}
