/* test_auth_nonce.c - unit tests for src/auth/nonce.c: stateless nonces and the nonce cookie. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "check.h"
#include "turnpike/err.h"
#include "util/addr.h"

#define SA(ss) ((const struct sockaddr *)(ss))
#define NOW 1700000000u
#define LIFE 600u

static struct sockaddr_storage cl4, cl4_port, cl4_ip, cl6, cl6_other, cl4_mapped;
static struct auth_nonce_key nk;

static void setup(void)
{
	CHECK_INT(addr_parse("192.0.2.10:40000", 0, &cl4), 0);
	CHECK_INT(addr_parse("192.0.2.10:40001", 0, &cl4_port), 0);
	CHECK_INT(addr_parse("192.0.2.11:40000", 0, &cl4_ip), 0);
	CHECK_INT(addr_parse("[2001:db8::10]:40000", 0, &cl6), 0);
	CHECK_INT(addr_parse("[2001:db8::11]:40000", 0, &cl6_other), 0);
	CHECK_INT(addr_parse("[::ffff:192.0.2.10]:40000", 0, &cl4_mapped), 0);
	CHECK_INT(auth_nonce_key_init(&nk, "fleet nonce secret"), 0);
}

/* Checks a copy of n[0..len) held in a buffer of exactly len bytes. */
static int check_copy(const struct auth_nonce_key *k, const struct sockaddr *cl, uint64_t now,
		      const char *n, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		return -100;
	memcpy(copy, n, len);
	rc = auth_nonce_check(k, cl, now, copy, len);
	free(copy);
	return rc;
}

static int check_str(const struct sockaddr *cl, uint64_t now, const char *n)
{
	return check_copy(&nk, cl, now, n, strlen(n));
}

static void test_key_init(void)
{
	struct auth_nonce_key a, b, c;

	CHECK_INT(auth_nonce_key_init(&a, "s1"), 0);
	CHECK_INT(auth_nonce_key_init(&b, "s1"), 0);
	CHECK_INT(auth_nonce_key_init(&c, "s2"), 0);
	CHECK_MEM(a.k, b.k, sizeof(a.k));
	CHECK(memcmp(a.k, c.k, sizeof(a.k)) != 0);
	/* The key is SHA-256 of the secret: printf s1 | openssl dgst -sha256 */
	{
		static const uint8_t want[32] = {
			0xe8, 0xbc, 0x16, 0x3c, 0x82, 0xee, 0xe1, 0x87, 0x33, 0x28, 0x8c,
			0x7d, 0x4a, 0xc6, 0x36, 0xdb, 0x3a, 0x6d, 0xeb, 0x01, 0x3e, 0xf2,
			0xd3, 0x7b, 0x68, 0x32, 0x2b, 0xe2, 0x0e, 0xdc, 0x45, 0xcc,
		};

		CHECK_MEM(a.k, want, sizeof(want));
	}
	CHECK_INT(auth_nonce_key_init(&a, NULL), 0);
	CHECK_INT(auth_nonce_key_init(&b, NULL), 0);
	CHECK(memcmp(a.k, b.k, sizeof(a.k)) != 0);
	CHECK_INT(auth_nonce_key_init(&a, ""), TP_EINVAL);
}

static void test_round_trip(void)
{
	char n[AUTH_NONCE_MAX], m[AUTH_NONCE_MAX];
	struct auth_nonce_key other, same;
	size_t len, i;

	len = auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, sizeof(n));
	CHECK_INT(len, AUTH_NONCE_LEN);
	CHECK_INT(len, 29);
	CHECK(len < AUTH_NONCE_MAX);
	CHECK_INT(strlen(n), len);
	/* RFC 8489 §9.2: cookie, then the features: Password algorithms
	 * (bit 0, the least significant one after erratum 6290). */
	CHECK(strncmp(n, "obMatJos2AAAB", 13) == 0);
	/* RFC 3261 qdtext: every character is a safe one. */
	for (i = 0; i < len; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			     n[i]) != NULL);

	CHECK_INT(check_str(SA(&cl4), NOW, n), 0);
	CHECK_INT(check_str(SA(&cl4), NOW + 1, n), 0);
	/* Made at NOW for LIFE seconds: valid through NOW + LIFE (the expiry
	 * second), stale from the next one. */
	CHECK_INT(check_str(SA(&cl4), NOW + LIFE, n), 0);
	CHECK_INT(check_str(SA(&cl4), NOW + LIFE + 1, n), TP_EAGAIN);
	CHECK_INT(check_str(SA(&cl4), UINT64_MAX, n), TP_EAGAIN);
	/* Clocks may differ across a fleet: earlier is fine. */
	CHECK_INT(check_str(SA(&cl4), 0, n), 0);

	/* Bound to the client's address and port. */
	CHECK_INT(check_str(SA(&cl4_port), NOW, n), TP_EINTEGRITY);
	CHECK_INT(check_str(SA(&cl4_ip), NOW, n), TP_EINTEGRITY);
	CHECK_INT(check_str(SA(&cl6), NOW, n), TP_EINTEGRITY);
	/* The same client reached over a dual-stack socket. */
	CHECK_INT(check_str(SA(&cl4_mapped), NOW, n), 0);
	/* A stale nonce for another client is not ours, rather than stale. */
	CHECK_INT(check_str(SA(&cl4_port), NOW + LIFE + 1, n), TP_EINTEGRITY);

	/* Deterministic per client and second; different per client. */
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, m, sizeof(m)), len);
	CHECK_STR(m, n);
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4_port), NOW, LIFE, m, sizeof(m)), len);
	CHECK(strcmp(m, n) != 0);

	/* IPv6. */
	CHECK_INT(auth_nonce_make(&nk, SA(&cl6), NOW, LIFE, m, sizeof(m)), len);
	CHECK_INT(check_str(SA(&cl6), NOW, m), 0);
	CHECK_INT(check_str(SA(&cl6_other), NOW, m), TP_EINTEGRITY);
	CHECK_INT(check_str(SA(&cl4), NOW, m), TP_EINTEGRITY);

	/* Another server of the fleet (same secret) accepts it; another key
	 * does not. */
	CHECK_INT(auth_nonce_key_init(&same, "fleet nonce secret"), 0);
	CHECK_INT(check_copy(&same, SA(&cl4), NOW, n, len), 0);
	CHECK_INT(auth_nonce_key_init(&other, "another secret"), 0);
	CHECK_INT(check_copy(&other, SA(&cl4), NOW, n, len), TP_EINTEGRITY);

	/* Lifetime 0: valid during its second only. */
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, 0, m, sizeof(m)), len);
	CHECK_INT(check_str(SA(&cl4), NOW, m), 0);
	CHECK_INT(check_str(SA(&cl4), NOW + 1, m), TP_EAGAIN);
	/* The expiry saturates at 2106 instead of wrapping. */
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), (uint64_t)UINT32_MAX - 5, LIFE, m, sizeof(m)),
		  len);
	CHECK_INT(check_str(SA(&cl4), UINT32_MAX, m), 0);
	CHECK_INT(check_str(SA(&cl4), (uint64_t)UINT32_MAX + 1, m), TP_EAGAIN);
}

static void test_make_errors(void)
{
	char n[AUTH_NONCE_MAX];
	struct sockaddr_un un;

	memset(n, 'x', sizeof(n));
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, AUTH_NONCE_LEN), 0);
	CHECK_INT(n[0], 'x');
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, AUTH_NONCE_LEN + 1), AUTH_NONCE_LEN);
	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, NULL, 100), 0);
	CHECK_INT(auth_nonce_make(&nk, NULL, NOW, LIFE, n, sizeof(n)), 0);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK_INT(auth_nonce_make(&nk, (const struct sockaddr *)&un, NOW, LIFE, n, sizeof(n)), 0);

	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, sizeof(n)), AUTH_NONCE_LEN);
	CHECK_INT(check_str((const struct sockaddr *)&un, NOW, n), TP_EINTEGRITY);
	CHECK_INT(check_str(NULL, NOW, n), TP_EINTEGRITY);
}

static void test_tampering(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.\" \xff";
	char n[AUTH_NONCE_MAX], t[AUTH_NONCE_MAX + 8];
	uint8_t garbage[AUTH_NONCE_LEN];
	size_t len, i, j;
	unsigned accepted = 0;

	len = auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, sizeof(n));
	CHECK_INT(len, AUTH_NONCE_LEN);

	/* Every single-character change, to every other character. */
	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(alphabet) - 1; j++) {
			if (alphabet[j] == n[i])
				continue;
			memcpy(t, n, len);
			t[i] = alphabet[j];
			if (check_copy(&nk, SA(&cl4), NOW, t, len) != TP_EINTEGRITY)
				accepted++;
		}
	}
	CHECK_INT(accepted, 0);

	/* Every truncation, and longer ones. */
	for (i = 0; i < len; i++)
		CHECK_INT(check_copy(&nk, SA(&cl4), NOW, n, i), TP_EINTEGRITY);
	memcpy(t, n, len);
	memcpy(t + len, "AAAA", 4);
	for (i = len + 1; i <= len + 4; i++)
		CHECK_INT(check_copy(&nk, SA(&cl4), NOW, t, i), TP_EINTEGRITY);
	CHECK_INT(auth_nonce_check(&nk, SA(&cl4), NOW, NULL, len), TP_EINTEGRITY);
	CHECK_INT(auth_nonce_check(&nk, SA(&cl4), NOW, NULL, 0), TP_EINTEGRITY);

	/* Garbage of the right length, with and without the cookie. */
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 73 + 5);
	CHECK_INT(auth_nonce_check(&nk, SA(&cl4), NOW, garbage, sizeof(garbage)), TP_EINTEGRITY);
	memcpy(garbage, n, AUTH_NONCE_PREFIX_LEN);
	CHECK_INT(auth_nonce_check(&nk, SA(&cl4), NOW, garbage, sizeof(garbage)), TP_EINTEGRITY);
	CHECK_INT(check_str(SA(&cl4), NOW, "obMatJos2AAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		  TP_EINTEGRITY);
	/* Someone else's nonce cookie (RFC 8489 B.1). */
	CHECK_INT(check_str(SA(&cl4), NOW, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"),
		  TP_EINTEGRITY);
}

static int features(const char *s, uint32_t *f)
{
	return auth_nonce_features((const uint8_t *)s, strlen(s), f);
}

static bool has_alg(const char *s)
{
	return auth_nonce_has_alg_feature((const uint8_t *)s, strlen(s));
}

static void test_features(void)
{
	char n[AUTH_NONCE_MAX];
	uint32_t f = 99;

	CHECK_INT(auth_nonce_make(&nk, SA(&cl4), NOW, LIFE, n, sizeof(n)), AUTH_NONCE_LEN);
	CHECK_INT(features(n, &f), 0);
	CHECK_INT(f, AUTH_FEATURE_PASSWORD_ALGS);
	CHECK(has_alg(n));

	/* RFC 8489 B.1 announces Username anonymity only (bit 1, 0x000002). */
	CHECK_INT(features("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA", &f), 0);
	CHECK_INT(f, AUTH_FEATURE_USERNAME_ANON);
	CHECK(!has_alg("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"));
	CHECK_INT(features("obMatJos2AAAD", &f), 0);
	CHECK_INT(f, AUTH_FEATURE_PASSWORD_ALGS | AUTH_FEATURE_USERNAME_ANON);
	CHECK(has_alg("obMatJos2AAAD"));
	CHECK(has_alg("obMatJos2AAAB"));
	/* The pre-erratum reading (bit 0 the leftmost) is not ours. */
	CHECK_INT(features("obMatJos2gAAA", &f), 0);
	CHECK_INT(f, 0x800000);
	CHECK(!has_alg("obMatJos2gAAA"));
	CHECK_INT(features("obMatJos2AAAA", &f), 0);
	CHECK_INT(f, 0);
	CHECK(!has_alg("obMatJos2AAAA"));
	CHECK_INT(features("obMatJos2////", &f), 0);
	CHECK_INT(f, 0xffffff);

	/* No cookie, short, or not base64. */
	CHECK_INT(features("obMatJos2AAA", &f), TP_EINVAL);
	CHECK_INT(f, 0);
	CHECK_INT(features("obMatJos3AAAB", &f), TP_EINVAL);
	CHECK_INT(features("obMatJos2AA*B", &f), TP_EINVAL);
	CHECK_INT(features("obMatJos2AA=B", &f), TP_EINVAL);
	CHECK_INT(features("f//499k954d6OL34oL9FSTvy64sA", &f), TP_EINVAL);
	CHECK(!has_alg(""));
	CHECK(!has_alg("obMatJos2"));
	CHECK(!auth_nonce_has_alg_feature(NULL, 13));
	/* Only len bytes are read. */
	CHECK(!auth_nonce_has_alg_feature((const uint8_t *)"obMatJos2AAAB", 12));
	CHECK(auth_nonce_has_alg_feature((const uint8_t *)"obMatJos2AAAB", 13));
}

int main(void)
{
	setup();
	test_key_init();
	test_round_trip();
	test_make_errors();
	test_tampering();
	test_features();
	return check_done("test_auth_nonce");
}
