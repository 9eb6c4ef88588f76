/* store.c - the credential store: realm, long-term users by name and USERHASH, REST secrets. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/rand.h"

#define STORE_MIN_BUCKETS 64u

/* base64 of HMAC-SHA1 plus NUL, with room to spare. */
#define REST_PASS_CAP 64

struct user {
	struct user *next_name; /* chain in the by-name table */
	struct user *next_hash; /* chain in the by-USERHASH table */
	char *name;             /* NUL terminated; may not be valid UTF-8 */
	size_t nlen;
	bool has_sha256; /* false for users given as an MD5 hex key */
	struct auth_key md5;
	struct auth_key sha256;
	uint8_t userhash[32]; /* RFC 8489 §14.4 */
};

struct secret {
	char *s;
	size_t len;
};

struct auth_store {
	char *realm;
	size_t rlen;
	uint8_t hkey[16]; /* SipHash key: names come from the network */
	struct user **by_name;
	struct user **by_hash;
	size_t nbuckets; /* a power of two */
	size_t nusers;
	struct secret *secrets;
	size_t nsecrets;
	long refs; /* auth_snap references; 1 at birth */
};

static size_t bucket(const struct auth_store *s, const void *p, size_t n)
{
	return (size_t)(addr_siphash(s->hkey, p, n) & (s->nbuckets - 1));
}

struct auth_store *auth_store_new(const char *realm)
{
	struct auth_store *s;

	if (!realm)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->refs = 1;
	s->rlen = strlen(realm);
	s->realm = strdup(realm);
	s->nbuckets = STORE_MIN_BUCKETS;
	s->by_name = calloc(s->nbuckets, sizeof(*s->by_name));
	s->by_hash = calloc(s->nbuckets, sizeof(*s->by_hash));
	if (!s->realm || !s->by_name || !s->by_hash || rand_bytes(s->hkey, sizeof(s->hkey))) {
		auth_store_free(s);
		return NULL;
	}
	return s;
}

static void user_free(struct user *u)
{
	if (!u)
		return;
	if (u->name) {
		OPENSSL_cleanse(u->name, u->nlen);
		free(u->name);
	}
	OPENSSL_cleanse(u, sizeof(*u)); /* the keys */
	free(u);
}

void auth_store_free(struct auth_store *s)
{
	struct user *u, *next;
	size_t i;

	if (!s)
		return;
	for (i = 0; s->by_name && i < s->nbuckets; i++) {
		for (u = s->by_name[i]; u; u = next) {
			next = u->next_name;
			user_free(u);
		}
	}
	for (i = 0; i < s->nsecrets; i++) {
		OPENSSL_cleanse(s->secrets[i].s, s->secrets[i].len);
		free(s->secrets[i].s);
	}
	free(s->secrets);
	free(s->by_name);
	free(s->by_hash);
	free(s->realm);
	OPENSSL_cleanse(s->hkey, sizeof(s->hkey));
	free(s);
}

const char *auth_store_realm(const struct auth_store *s)
{
	return s->realm;
}

long *auth_store_refs(const struct auth_store *s)
{
	return (long *)&s->refs;
}

static struct user *find_name(const struct auth_store *s, const char *name, size_t len)
{
	struct user *u;

	for (u = s->by_name[bucket(s, name, len)]; u; u = u->next_name)
		if (u->nlen == len && memcmp(u->name, name, len) == 0)
			return u;
	return NULL;
}

static void link_user(struct auth_store *s, struct user *u)
{
	size_t b = bucket(s, u->name, u->nlen);

	u->next_name = s->by_name[b];
	s->by_name[b] = u;
	b = bucket(s, u->userhash, sizeof(u->userhash));
	u->next_hash = s->by_hash[b];
	s->by_hash[b] = u;
}

/* Doubles both tables once there is more than one user per bucket. */
static int grow(struct auth_store *s)
{
	struct user **old = s->by_name, **nn, **nh, *u, *next;
	size_t oldn = s->nbuckets, i;

	if (s->nusers < s->nbuckets || oldn > SIZE_MAX / 2 / sizeof(*nn))
		return 0;
	nn = calloc(oldn * 2, sizeof(*nn));
	nh = calloc(oldn * 2, sizeof(*nh));
	if (!nn || !nh) {
		free(nn);
		free(nh);
		return TP_ENOMEM;
	}
	free(s->by_hash);
	s->by_name = nn;
	s->by_hash = nh;
	s->nbuckets = oldn * 2;
	for (i = 0; i < oldn; i++) {
		for (u = old[i]; u; u = next) {
			next = u->next_name;
			link_user(s, u);
		}
	}
	free(old);
	return 0;
}

/*
 * "name:password" or "name:0x<32 hex digits>" (coturn's user= forms), split
 * at the first colon, so a password may hold colons but a name may not. A
 * value starting with "0x" is always a key: a malformed one is an error,
 * not a password. Names must be unique.
 */
int auth_store_add_user(struct auth_store *s, const char *spec)
{
	const char *colon, *pass;
	struct user *u = NULL;
	size_t nlen, plen;
	int rc;

	if (!s || !spec)
		return TP_EINVAL;
	colon = strchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return TP_EINVAL;
	nlen = (size_t)(colon - spec);
	pass = colon + 1;
	plen = strlen(pass);
	if (find_name(s, spec, nlen))
		return TP_EINVAL;
	rc = grow(s);
	if (rc)
		return rc;
	u = calloc(1, sizeof(*u));
	if (!u)
		return TP_ENOMEM;
	u->name = strndup(spec, nlen);
	u->nlen = nlen;
	if (!u->name) {
		rc = TP_ENOMEM;
		goto out;
	}
	if (pass[0] == '0' && (pass[1] == 'x' || pass[1] == 'X')) {
		rc = auth_key_from_hex(AUTH_ALG_MD5, pass, &u->md5);
	} else {
		rc = auth_key_derive(AUTH_ALG_MD5, u->name, nlen, s->realm, s->rlen, pass, plen,
				     &u->md5);
		if (rc == 0)
			rc = auth_key_derive(AUTH_ALG_SHA256, u->name, nlen, s->realm, s->rlen,
					     pass, plen, &u->sha256);
		u->has_sha256 = rc == 0;
	}
	if (rc == 0)
		rc = auth_userhash(u->name, nlen, s->realm, s->rlen, u->userhash);
	if (rc)
		goto out;
	link_user(s, u);
	s->nusers++;
	u = NULL;
out:
	user_free(u);
	return rc;
}

int auth_store_add_secret(struct auth_store *s, const char *secret)
{
	struct secret *n;

	if (!s || !secret || !*secret)
		return TP_EINVAL;
	if (s->nsecrets >= AUTH_MAX_KEYS)
		return TP_EINVAL; /* more could never all be tried */
	n = realloc(s->secrets, (s->nsecrets + 1) * sizeof(*n));
	if (!n)
		return TP_ENOMEM;
	s->secrets = n;
	n[s->nsecrets].len = strlen(secret);
	n[s->nsecrets].s = strdup(secret);
	if (!n[s->nsecrets].s)
		return TP_ENOMEM;
	s->nsecrets++;
	return 0;
}

size_t auth_store_nsecrets(const struct auth_store *s)
{
	return s->nsecrets;
}

size_t auth_store_nusers(const struct auth_store *s)
{
	return s->nusers;
}

const char *auth_store_newest_secret(const struct auth_store *s)
{
	return s->nsecrets ? s->secrets[s->nsecrets - 1].s : NULL;
}

/* One key per secret, newest first (the likeliest to match). */
static void rest_keys(const struct auth_store *s, const char *username, size_t ulen, uint8_t alg,
		      struct auth_key *keys, size_t max, size_t *n)
{
	char pass[REST_PASS_CAP];
	size_t i, plen;

	for (i = s->nsecrets; i-- > 0 && *n < max;) {
		plen = auth_rest_password((const uint8_t *)s->secrets[i].s, s->secrets[i].len,
					  username, ulen, pass, sizeof(pass));
		if (plen && auth_key_derive(alg, username, ulen, s->realm, s->rlen, pass, plen,
					    &keys[*n]) == 0)
			(*n)++;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
}

/*
 * A long-term user wins over a REST name of the same spelling. A user
 * given as an MD5 hex key has no SHA-256 key: asked for SHA-256 it is
 * AUTH_LOOKUP_UNKNOWN (the client is answered 401 as for a wrong password;
 * such a user can only log in with a client that chooses MD5).
 */
enum auth_lookup auth_store_keys(const struct auth_store *s, const char *username, size_t ulen,
				 uint8_t alg, uint64_t now, struct auth_key *keys, size_t max,
				 size_t *n, const char **quota_user, size_t *quota_len)
{
	const struct user *u;
	const char *part;
	size_t plen;
	uint64_t expiry;

	*n = 0;
	*quota_user = username;
	*quota_len = ulen;
	if (!username || (alg != AUTH_ALG_MD5 && alg != AUTH_ALG_SHA256))
		return AUTH_LOOKUP_UNKNOWN;
	u = find_name(s, username, ulen);
	if (u) {
		if (alg == AUTH_ALG_SHA256 && !u->has_sha256)
			return AUTH_LOOKUP_UNKNOWN;
		if (max > 0) {
			keys[0] = alg == AUTH_ALG_MD5 ? u->md5 : u->sha256;
			*n = 1;
		}
		return AUTH_LOOKUP_FOUND;
	}
	if (s->nsecrets == 0 || auth_rest_split(username, ulen, &expiry, &part, &plen) != 0)
		return AUTH_LOOKUP_UNKNOWN;
	*quota_user = part;
	*quota_len = plen;
	/* draft-uberti-behave-turn-rest §2.2: the timestamp is the expiry. */
	if (expiry < now)
		return AUTH_LOOKUP_EXPIRED;
	if (max == 0)
		return AUTH_LOOKUP_FOUND;
	rest_keys(s, username, ulen, alg, keys, max, n);
	/* No key at all means OpenSSL failed: nothing can verify. */
	return *n ? AUTH_LOOKUP_FOUND : AUTH_LOOKUP_UNKNOWN;
}

int auth_store_userhash(const struct auth_store *s, const uint8_t hash[32], const char **user,
			size_t *ulen)
{
	const struct user *u;

	*user = NULL;
	*ulen = 0;
	for (u = s->by_hash[bucket(s, hash, 32)]; u; u = u->next_hash) {
		if (memcmp(u->userhash, hash, 32) == 0) {
			*user = u->name;
			*ulen = u->nlen;
			return 0;
		}
	}
	return TP_ENOTFOUND;
}
