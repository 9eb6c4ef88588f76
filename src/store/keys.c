/* keys.c - the Redis key schema in one place: coturn's keys where the
 * meaning is the same (so an existing coturn Redis works), turnpike's own
 * under "turnpike:". Pure string building. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "turnpike/err.h"
#include "util/hex.h"

/* Names go into keys and channel names: no control characters. */
static bool acceptable(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static size_t fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

static size_t fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

size_t store_key_secrets(char *buf, size_t cap, const char *realm)
{
	return acceptable(realm) ? fmt(buf, cap, "turn/realm/%s/secret", realm) : 0;
}

size_t store_key_secret_ages(char *buf, size_t cap, const char *realm)
{
	return acceptable(realm) ? fmt(buf, cap, "turnpike:realm/%s/secret-age", realm) : 0;
}

size_t store_key_api_keys(char *buf, size_t cap, const char *realm)
{
	return acceptable(realm) ? fmt(buf, cap, "turnpike:realm/%s/api-keys", realm) : 0;
}

size_t store_key_user(char *buf, size_t cap, const char *realm, const char *name)
{
	if (!acceptable(realm) || !acceptable(name))
		return 0;
	return fmt(buf, cap, "turn/realm/%s/user/%s/key", realm, name);
}

size_t store_key_user_sha256(char *buf, size_t cap, const char *realm, const char *name)
{
	if (!acceptable(realm) || !acceptable(name))
		return 0;
	return fmt(buf, cap, "turnpike:realm/%s/user/%s/sha256", realm, name);
}

size_t store_key_quota(char *buf, size_t cap, const char *realm, const char *user)
{
	if (!acceptable(realm) || !acceptable(user))
		return 0;
	return fmt(buf, cap, "turnpike:realm/%s/quota/%s", realm, user);
}

size_t store_key_users_pattern(char *buf, size_t cap, const char *realm)
{
	static const char head[] = "turn/realm/", tail[] = "/user/*/key";
	size_t o = 0;

	if (!acceptable(realm) || cap < sizeof(head))
		return 0;
	memcpy(buf, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	/* Redis glob: a backslash quotes the next character. */
	for (const char *p = realm; *p; p++) {
		bool special = strchr("*?[]\\", *p) != NULL;
		if (o + 1 + special >= cap) {
			buf[0] = '\0';
			return 0;
		}
		if (special)
			buf[o++] = '\\';
		buf[o++] = *p;
	}
	if (o + sizeof(tail) > cap) {
		buf[0] = '\0';
		return 0;
	}
	memcpy(buf + o, tail, sizeof(tail));
	return o + sizeof(tail) - 1;
}

/* The name between head and tail in key, or 0. */
static size_t between(const char *key, size_t klen, const char *head, size_t hlen, const char *tail,
		      char *name, size_t cap)
{
	size_t tlen = strlen(tail), n;

	if (!hlen || klen <= hlen + tlen || memcmp(key, head, hlen) != 0 ||
	    memcmp(key + klen - tlen, tail, tlen) != 0)
		return 0;
	n = klen - hlen - tlen;
	if (n >= cap || memchr(key + hlen, '\0', n))
		return 0;
	memcpy(name, key + hlen, n);
	name[n] = '\0';
	return n;
}

size_t store_key_user_name(const char *key, size_t klen, const char *realm, char *name, size_t cap)
{
	char head[600];
	size_t n = between(key, klen, head, fmt(head, sizeof(head), "turn/realm/%s/user/", realm),
			   "/key", name, cap);

	if (n)
		return n;
	return between(key, klen, head, fmt(head, sizeof(head), "turnpike:realm/%s/user/", realm),
		       "/sha256", name, cap);
}

size_t store_channel_keyspace(char *buf, size_t cap, unsigned db, const char *key)
{
	return acceptable(key) ? fmt(buf, cap, "__keyspace@%u__:%s", db, key) : 0;
}

size_t store_channel_keyevent(char *buf, size_t cap, unsigned db, const char *event)
{
	return acceptable(event) ? fmt(buf, cap, "__keyevent@%u__:%s", db, event) : 0;
}

int store_secret_tag(const char *secret, size_t len, char out[17])
{
	static const char label[] = "turnpike secret tag\n";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = TP_ECRYPTO;

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, label, sizeof(label) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, secret, len) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
	    mdlen >= 8) {
		hex_encode(md, 8, out);
		rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

int store_api_key_digest(const char *key, char out[2 * STORE_API_KEY_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (!SHA256((const unsigned char *)key, strlen(key), md))
		return TP_ECRYPTO;
	hex_encode(md, sizeof(md), out);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

struct ranked {
	const char *s;
	long age;
};

static int by_age(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->age != y->age)
		return x->age < y->age ? -1 : 1;
	return strcmp(x->s, y->s);
}

int store_secrets_sort(const char **v, size_t n, const char *const *ages, size_t nages)
{
	struct ranked *r = calloc(n ? n : 1, sizeof(*r));
	char tag[17];

	if (!r)
		return TP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r[i].s = v[i];
		r[i].age = -1;
		if (store_secret_tag(v[i], strlen(v[i]), tag) != 0)
			continue;
		for (size_t j = 0; j < nages; j++)
			if (!strcmp(ages[j], tag))
				r[i].age = (long)j;
	}
	qsort(r, n, sizeof(*r), by_age);
	for (size_t i = 0; i < n; i++)
		v[i] = r[i].s;
	free(r);
	return 0;
}
