/* test_auth_store.c - unit tests for src/auth/store.c: users, hex keys, REST secrets, lookups. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "check.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"

#define REALM "example.org"
#define NOW 1700000000u

/* openssl dgst -md5 / -sha256 of "alice:example.org:s3cret", and
 * USERHASH = sha256("alice:example.org"), computed when writing the test. */
static const uint8_t alice_md5[16] = {
	0x8b, 0x83, 0xb4, 0x0c, 0x22, 0x90, 0x6c, 0x0c,
	0x67, 0xa3, 0xc5, 0xbc, 0xc4, 0x91, 0xbc, 0x14,
};
static const uint8_t alice_sha256[32] = {
	0xf2, 0x20, 0x52, 0xfe, 0xa8, 0x54, 0x1d, 0x9a, 0x84, 0xdc, 0x48,
	0xaa, 0x41, 0xb2, 0x0e, 0x65, 0x02, 0x3c, 0x37, 0x6e, 0x46, 0x3b,
	0xc3, 0x9e, 0x71, 0x6f, 0xac, 0x6e, 0x0f, 0x0f, 0x7a, 0x5f,
};
static const uint8_t alice_hash[32] = {
	0x43, 0x5b, 0x79, 0x33, 0x09, 0x6a, 0x30, 0x4d, 0x3c, 0x73, 0x4c,
	0xfb, 0x83, 0x3e, 0xc9, 0x07, 0x5b, 0xd4, 0x7a, 0xb1, 0xc0, 0x16,
	0x03, 0x21, 0xae, 0xd3, 0x1c, 0x06, 0xa8, 0xc7, 0x00, 0x9e,
};

static enum auth_lookup keys(const struct auth_store *s, const char *name, uint8_t alg,
			     uint64_t now, struct auth_key *k, size_t max, size_t *n,
			     const char **qu, size_t *ql)
{
	return auth_store_keys(s, name, strlen(name), alg, now, k, max, n, qu, ql);
}

static void test_users(void)
{
	struct auth_store *s = auth_store_new(REALM);
	struct auth_key k[AUTH_MAX_KEYS], d;
	const char *qu, *u;
	size_t n, ql, ul;
	char spec[128], hex[33];
	uint8_t h[32];
	int i;

	CHECK(auth_store_new(NULL) == NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_STR(auth_store_realm(s), REALM);
	CHECK_INT(auth_store_nsecrets(s), 0);
	CHECK(auth_store_newest_secret(s) == NULL);
	CHECK_INT(auth_store_nusers(s), 0);

	CHECK_INT(auth_store_add_user(s, "alice:s3cret"), 0);
	CHECK_INT(auth_store_nusers(s), 1);
	CHECK_INT(keys(s, "alice", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 1);
	CHECK_INT(k[0].alg, AUTH_ALG_MD5);
	CHECK_INT(k[0].len, 16);
	CHECK_MEM(k[0].k, alice_md5, 16);
	CHECK_INT(ql, 5);
	CHECK(qu != NULL && memcmp(qu, "alice", 5) == 0);
	CHECK_INT(keys(s, "alice", AUTH_ALG_SHA256, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 1);
	CHECK_INT(k[0].alg, AUTH_ALG_SHA256);
	CHECK_INT(k[0].len, 32);
	CHECK_MEM(k[0].k, alice_sha256, 32);
	/* Room for none: found, nothing written. */
	CHECK_INT(keys(s, "alice", AUTH_ALG_MD5, NOW, k, 0, &n, &qu, &ql), AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 0);

	CHECK_INT(auth_store_userhash(s, alice_hash, &u, &ul), 0);
	CHECK_INT(ul, 5);
	CHECK(u != NULL && memcmp(u, "alice", 5) == 0);
	memcpy(h, alice_hash, 32);
	h[31] ^= 1;
	CHECK_INT(auth_store_userhash(s, h, &u, &ul), TP_ENOTFOUND);
	CHECK(u == NULL);

	/* A password may hold colons; the name ends at the first one. */
	CHECK_INT(auth_store_add_user(s, "carol:a:b:c"), 0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "carol", 5, REALM, 11, "a:b:c", 5, &d), 0);
	CHECK_INT(keys(s, "carol", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_MEM(k[0].k, d.k, 16);

	/* coturn's "name:0x<MD5 key>": the same key as the password gives. */
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "bob", 3, REALM, 11, "hunter2", 7, &d), 0);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d.k[i]);
	snprintf(spec, sizeof(spec), "bob:0x%s", hex);
	CHECK_INT(auth_store_add_user(s, spec), 0);
	CHECK_INT(keys(s, "bob", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 1);
	CHECK_MEM(k[0].k, d.k, 16);
	/* ... and no SHA-256 key. */
	CHECK_INT(keys(s, "bob", AUTH_ALG_SHA256, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(n, 0);
	CHECK_INT(auth_userhash("bob", 3, REALM, 11, h), 0);
	CHECK_INT(auth_store_userhash(s, h, &u, &ul), 0);
	CHECK_INT(ul, 3);

	/* Bad specs, duplicates. */
	CHECK_INT(auth_store_add_user(s, ""), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, "nocolon"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, ":pw"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, "dave:"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, "dave:0x1234"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, "dave:0x8493fbc53ba582fb4c044c456bdc40eg"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, "alice:other"), TP_EINVAL);
	CHECK_INT(auth_store_add_user(s, NULL), TP_EINVAL);
	CHECK_INT(keys(s, "dave", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	/* alice kept her first password. */
	CHECK_INT(keys(s, "alice", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_MEM(k[0].k, alice_md5, 16);

	/* Unknown names, prefixes and extensions of known ones, bad algs. */
	CHECK_INT(keys(s, "mallory", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(n, 0);
	CHECK_INT(ql, 7);
	CHECK_INT(keys(s, "alic", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(keys(s, "alicex", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(keys(s, "", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(keys(s, "alice", 3, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql), AUTH_LOOKUP_UNKNOWN);
	/* Only ulen bytes of the name count. */
	CHECK_INT(auth_store_keys(s, "alicex", 5, AUTH_ALG_MD5, NOW, k, 1, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	/* A REST-looking name with no secrets configured. */
	CHECK_INT(keys(s, "1800000000:alice", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);

	auth_store_free(s);
	auth_store_free(NULL);
}

/* A Binding request from username signed with key; returns its length. */
static size_t signed_request(const char *username, const struct auth_key *key, uint8_t *buf,
			     size_t cap)
{
	struct stun_builder b;
	uint8_t txn[16];
	size_t len = 0;

	CHECK_INT(stun_txn_new(txn), 0);
	stun_build_init(&b, buf, cap, STUN_BINDING, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_USERNAME, username);
	stun_build_string(&b, STUN_ATTR_REALM, REALM);
	stun_build_integrity(&b, key->k, key->len);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	return len;
}

static void test_rest(void)
{
	struct auth_store *s = auth_store_new(REALM);
	struct auth_key k[AUTH_MAX_KEYS], old;
	const char *name = "1700000600:carol:laptop", *qu;
	char pass[64];
	uint8_t buf[256];
	struct stun_msg msg;
	size_t n, ql, len, i;
	unsigned verified = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(auth_store_add_user(s, "alice:s3cret"), 0);
	CHECK_INT(auth_store_add_secret(s, "old-secret"), 0);
	CHECK_INT(auth_store_add_secret(s, "new-secret"), 0);
	CHECK_INT(auth_store_add_secret(s, ""), TP_EINVAL);
	CHECK_INT(auth_store_add_secret(s, NULL), TP_EINVAL);
	CHECK_INT(auth_store_nsecrets(s), 2);
	CHECK_STR(auth_store_newest_secret(s), "new-secret");

	/* One key per secret. */
	CHECK_INT(keys(s, name, AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 2);
	/* The quota user is the user part, pointing into the name. */
	CHECK_INT(ql, strlen("carol:laptop"));
	CHECK(qu == name + 11);

	/* A client given the old secret's password: exactly one key verifies. */
	len = auth_rest_password((const uint8_t *)"old-secret", 10, name, strlen(name), pass,
				 sizeof(pass));
	CHECK_INT(len, 28);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, name, strlen(name), REALM, 11, pass, len, &old), 0);
	len = signed_request(name, &old, buf, sizeof(buf));
	CHECK_INT(stun_msg_parse(&msg, buf, len), 0);
	for (i = 0; i < n; i++) {
		if (stun_msg_check_integrity(&msg, k[i].k, k[i].len) == 0) {
			verified++;
			CHECK_MEM(k[i].k, old.k, 16);
		}
	}
	CHECK_INT(verified, 1);

	/* SHA-256 keys too. */
	CHECK_INT(keys(s, name, AUTH_ALG_SHA256, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 2);
	CHECK_INT(k[0].len, 32);
	CHECK_INT(k[1].len, 32);
	CHECK(memcmp(k[0].k, k[1].k, 32) != 0);

	/* max bounds the count: the newest secret comes first. */
	CHECK_INT(keys(s, name, AUTH_ALG_MD5, NOW, k, 1, &n, &qu, &ql), AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 1);
	CHECK(memcmp(k[0].k, old.k, 16) != 0);

	/* The user-first form. */
	CHECK_INT(keys(s, "carol:1700000600", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 2);
	CHECK_INT(ql, 5);

	/* The timestamp is the expiry: valid through it, expired after. */
	CHECK_INT(keys(s, "1700000000:carol", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(keys(s, "1699999999:carol", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_EXPIRED);
	CHECK_INT(n, 0);
	CHECK_INT(ql, 5);
	CHECK(qu != NULL && memcmp(qu, "carol", 5) == 0);

	/* Not REST names. */
	CHECK_INT(keys(s, "carol", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(keys(s, "x:carol", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(keys(s, "1700000600:", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_UNKNOWN);
	/* Long-term users still work beside the secrets. */
	CHECK_INT(keys(s, "alice", AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, 1);
	CHECK_MEM(k[0].k, alice_md5, 16);

	/* At most AUTH_MAX_KEYS secrets: more could not all be tried. */
	for (i = 2; i < AUTH_MAX_KEYS; i++)
		CHECK_INT(auth_store_add_secret(s, "another"), 0);
	CHECK_INT(auth_store_add_secret(s, "one-too-many"), TP_EINVAL);
	CHECK_INT(auth_store_nsecrets(s), AUTH_MAX_KEYS);
	CHECK_INT(keys(s, name, AUTH_ALG_MD5, NOW, k, AUTH_MAX_KEYS, &n, &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(n, AUTH_MAX_KEYS);

	auth_store_free(s);
}

static void test_many(void)
{
	enum {
		USERS = 5000
	};
	struct auth_store *s = auth_store_new(REALM);
	struct auth_key k, d;
	char name[32], spec[64], pw[32];
	const char *qu, *u;
	size_t n, ql, ul;
	uint8_t h[32];
	unsigned i, bad = 0, badhash = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	for (i = 0; i < USERS; i++) {
		snprintf(spec, sizeof(spec), "user%u:pw%u", i, i * 7919);
		if (auth_store_add_user(s, spec) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	for (i = 0; i < USERS; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		if (keys(s, name, AUTH_ALG_MD5, NOW, &k, 1, &n, &qu, &ql) != AUTH_LOOKUP_FOUND ||
		    n != 1) {
			bad++;
			continue;
		}
		if (i % 97 == 0) {
			snprintf(pw, sizeof(pw), "pw%u", i * 7919);
			CHECK_INT(auth_key_derive(AUTH_ALG_MD5, name, strlen(name), REALM, 11, pw,
						  strlen(pw), &d),
				  0);
			CHECK_MEM(k.k, d.k, 16);
			CHECK_INT(auth_userhash(name, strlen(name), REALM, 11, h), 0);
			if (auth_store_userhash(s, h, &u, &ul) != 0 || ul != strlen(name) ||
			    memcmp(u, name, ul) != 0)
				badhash++;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(badhash, 0);
	CHECK_INT(keys(s, "user5000", AUTH_ALG_MD5, NOW, &k, 1, &n, &qu, &ql), AUTH_LOOKUP_UNKNOWN);
	CHECK_INT(auth_store_add_user(s, "user4999:again"), TP_EINVAL);
	auth_store_free(s);
}

int main(void)
{
	test_users();
	test_rest();
	test_many();
	return check_done("test_auth_store");
}
