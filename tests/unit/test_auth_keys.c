/* test_auth_keys.c - unit tests for src/auth/keys.c: base64, key derivation, hex keys, USERHASH. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "check.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/hex.h"

/* The RFC 5769 §2.4 / RFC 8489 B.1 username, U+30DE U+30C8 U+30EA U+30C3
 * U+30AF U+30B9 as UTF-8 bytes. */
static const char matrix_user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
				  "\xe3\x82\xb9";

/* Expected values computed independently with openssl(1) when the test was
 * written, e.g. printf '%s:example.org:TheMatrIX' "$U" | openssl dgst -md5. */
static const char md5_user_realm_pass[] = "8493fbc53ba582fb4c044c456bdc40eb"; /* §9.2.2 */
static const char md5_matrix[] = "e8ca7ad59d5eb0518e312911d2dab2a9";
static const char sha256_matrix[] =
	"dd295a613b9058c3c23d6dc7165bda072304d989c9d0af3a8c7e184b4f9bb4a1";
static const char userhash_matrix[] =
	"4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704";

static void test_base64(void)
{
	/* RFC 4648 §10. */
	static const struct {
		const char *in, *std, *url;
	} v[] = {
		{"", "", ""},
		{"f", "Zg==", "Zg"},
		{"fo", "Zm8=", "Zm8"},
		{"foo", "Zm9v", "Zm9v"},
		{"foob", "Zm9vYg==", "Zm9vYg"},
		{"fooba", "Zm9vYmE=", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	};
	const uint8_t hi[3] = {0xfb, 0xff, 0xbf};
	char out[80];
	uint8_t back[64], rnd[48];
	size_t i, len, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		len = strlen(v[i].in);
		CHECK_INT(auth_base64((const uint8_t *)v[i].in, len, out, sizeof(out)),
			  strlen(v[i].std));
		CHECK_STR(out, v[i].std);
		CHECK_INT(auth_b64_encode((const uint8_t *)v[i].in, len, true, out, sizeof(out)),
			  strlen(v[i].url));
		CHECK_STR(out, v[i].url);
		CHECK_INT(
			auth_b64_decode(v[i].url, strlen(v[i].url), false, back, sizeof(back), &n),
			0);
		CHECK_INT(n, len);
		CHECK_MEM(back, v[i].in, len);
	}
	/* The two alphabets differ in 62 and 63 only. */
	CHECK_INT(auth_base64(hi, 3, out, sizeof(out)), 4);
	CHECK_STR(out, "+/+/");
	CHECK_INT(auth_b64_encode(hi, 3, true, out, sizeof(out)), 4);
	CHECK_STR(out, "-_-_");
	CHECK_INT(auth_b64_decode("-_-_", 4, true, back, sizeof(back), &n), 0);
	CHECK_MEM(back, hi, 3);
	CHECK_INT(auth_b64_decode("-_-_", 4, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("+/+/", 4, true, back, sizeof(back), &n), TP_EINVAL);

	/* Room for the text and its NUL, or nothing is written. */
	memset(out, 'x', sizeof(out));
	CHECK_INT(auth_base64((const uint8_t *)"foob", 4, out, 8), 0);
	CHECK_INT(out[0], 'x');
	CHECK_INT(auth_base64((const uint8_t *)"foob", 4, out, 9), 8);
	CHECK_INT(auth_b64_encode((const uint8_t *)"foob", 4, true, out, 6), 0);
	CHECK_INT(auth_b64_encode((const uint8_t *)"foob", 4, true, out, 7), 6);
	CHECK_INT(auth_base64((const uint8_t *)"", 0, out, 1), 0);
	CHECK_STR(out, "");
	CHECK_INT(auth_base64((const uint8_t *)"", 0, out, 0), 0);

	/* The strict decoder. */
	CHECK_INT(auth_b64_decode("Zg==", 4, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zh", 2, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zm9", 3, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zm9vY", 5, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zm 9", 4, false, back, sizeof(back), &n), TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zm\0"
				  "9",
				  4, false, back, sizeof(back), &n),
		  TP_EINVAL);
	CHECK_INT(auth_b64_decode("Zm9vYmFy", 8, false, back, 5, &n), TP_ENOSPC);
	CHECK_INT(auth_b64_decode("Zm9vYmFy", 8, false, back, 6, &n), 0);
	CHECK_INT(n, 6);

	/* Round trips of every length, both alphabets. */
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 37 + 11);
	for (len = 0; len <= sizeof(rnd); len++) {
		size_t m = auth_b64_encode(rnd, len, true, out, sizeof(out));

		CHECK_INT(m, (len * 4 + 2) / 3);
		CHECK_INT(auth_b64_decode(out, m, true, back, sizeof(back), &n), 0);
		CHECK_INT(n, len);
		CHECK_MEM(back, rnd, len);
	}
}

static void test_derive(void)
{
	struct auth_key k;
	char h[65];

	/* RFC 8489 §9.2.2's own example. */
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "user", 4, "realm", 5, "pass", 4, &k), 0);
	CHECK_INT(k.alg, AUTH_ALG_MD5);
	CHECK_INT(k.len, 16);
	hex_encode(k.k, k.len, h);
	CHECK_STR(h, md5_user_realm_pass);

	/* RFC 5769 §2.4: UTF-8 bytes as they are; "TheMatrIX" after SASLprep. */
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, matrix_user, strlen(matrix_user), "example.org", 11,
				  "TheMatrIX", 9, &k),
		  0);
	hex_encode(k.k, k.len, h);
	CHECK_STR(h, md5_matrix);

	/* RFC 8489 B.1 / §18.5.1.2: SHA-256 of the same string. */
	CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, matrix_user, strlen(matrix_user), "example.org",
				  11, "TheMatrIX", 9, &k),
		  0);
	CHECK_INT(k.alg, AUTH_ALG_SHA256);
	CHECK_INT(k.len, 32);
	hex_encode(k.k, k.len, h);
	CHECK_STR(h, sha256_matrix);

	/* Lengths are honoured: bytes past them are not hashed. */
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "userXX", 4, "realmYY", 5, "passZZ", 4, &k), 0);
	hex_encode(k.k, k.len, h);
	CHECK_STR(h, md5_user_realm_pass);

	/* Empty fields are allowed (an empty password hashes "u:r:"). */
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "u", 1, "r", 1, NULL, 0, &k), 0);
	CHECK_INT(k.len, 16);

	CHECK_INT(auth_key_derive(0, "u", 1, "r", 1, "p", 1, &k), TP_EINVAL);
	CHECK_INT(auth_key_derive(3, "u", 1, "r", 1, "p", 1, &k), TP_EINVAL);
	CHECK_INT(k.len, 0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, NULL, 3, "r", 1, "p", 1, &k), TP_EINVAL);
}

static void test_hex(void)
{
	struct auth_key k, d;
	char h[70];

	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "user", 4, "realm", 5, "pass", 4, &d), 0);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x8493fbc53ba582fb4c044c456bdc40eb", &k), 0);
	CHECK_INT(k.alg, AUTH_ALG_MD5);
	CHECK_INT(k.len, 16);
	CHECK_MEM(k.k, d.k, 16);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "8493FBC53BA582FB4C044C456BDC40EB", &k), 0);
	CHECK_MEM(k.k, d.k, 16);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0X8493fbc53ba582fb4c044c456bdc40eb", &k), 0);

	snprintf(h, sizeof(h), "0x%s", sha256_matrix);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_SHA256, h, &k), 0);
	CHECK_INT(k.len, 32);
	CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, matrix_user, strlen(matrix_user), "example.org",
				  11, "TheMatrIX", 9, &d),
		  0);
	CHECK_MEM(k.k, d.k, 32);

	/* Wrong lengths, characters, algorithms. */
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x8493fbc53ba582fb4c044c456bdc40e", &k),
		  TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x8493fbc53ba582fb4c044c456bdc40eb0", &k),
		  TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x8493fbc53ba582fb4c044c456bdc40eg", &k),
		  TP_EINVAL);
	CHECK_INT(k.len, 0);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x 493fbc53ba582fb4c044c456bdc40eb", &k),
		  TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "", &k), TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, "0x", &k), TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_MD5, NULL, &k), TP_EINVAL);
	CHECK_INT(auth_key_from_hex(AUTH_ALG_SHA256, "0x8493fbc53ba582fb4c044c456bdc40eb", &k),
		  TP_EINVAL);
	CHECK_INT(auth_key_from_hex(7, "0x8493fbc53ba582fb4c044c456bdc40eb", &k), TP_EINVAL);
}

static void test_userhash(void)
{
	uint8_t h[32];
	char s[65];

	/* RFC 8489 B.1: the USERHASH bytes of the sample request. */
	CHECK_INT(auth_userhash(matrix_user, strlen(matrix_user), "example.org", 11, h), 0);
	hex_encode(h, 32, s);
	CHECK_STR(s, userhash_matrix);
	CHECK_INT(auth_userhash(NULL, 1, "r", 1, h), TP_EINVAL);
}

/* The published vectors, when present, checked through the codec. */
static void test_vectors(void)
{
	uint8_t buf[512], h[32];
	struct stun_msg msg;
	const struct stun_attr *a;
	struct auth_key k;
	size_t n;

	n = check_load_vector("rfc5769-2.4-request-long-term.txt", buf, sizeof(buf));
	if (n) {
		CHECK_INT(stun_msg_parse(&msg, buf, n), 0);
		CHECK_INT(auth_key_derive(AUTH_ALG_MD5, matrix_user, strlen(matrix_user),
					  "example.org", 11, "TheMatrIX", 9, &k),
			  0);
		CHECK_INT(stun_msg_check_integrity(&msg, k.k, k.len), 0);
		k.k[0] ^= 1;
		CHECK_INT(stun_msg_check_integrity(&msg, k.k, k.len), TP_EINTEGRITY);
	} else {
		fprintf(stderr, "note: RFC 5769 §2.4 vector absent, skipped\n");
	}

	n = check_load_vector("rfc8489-b1-request-sha256.txt", buf, sizeof(buf));
	if (n) {
		CHECK_INT(stun_msg_parse(&msg, buf, n), 0);
		a = stun_msg_find(&msg, STUN_ATTR_USERHASH);
		CHECK(a != NULL);
		CHECK_INT(auth_userhash(matrix_user, strlen(matrix_user), "example.org", 11, h), 0);
		if (a) {
			CHECK_INT(a->len, 32);
			CHECK_MEM(stun_attr_value(&msg, a), h, 32);
		}
		CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, matrix_user, strlen(matrix_user),
					  "example.org", 11, "TheMatrIX", 9, &k),
			  0);
		CHECK_INT(stun_msg_check_integrity_sha256(&msg, k.k, k.len), 0);
		/* The MD5 key does not verify it. */
		CHECK_INT(auth_key_derive(AUTH_ALG_MD5, matrix_user, strlen(matrix_user),
					  "example.org", 11, "TheMatrIX", 9, &k),
			  0);
		CHECK_INT(stun_msg_check_integrity_sha256(&msg, k.k, k.len), TP_EINTEGRITY);
	} else {
		fprintf(stderr, "note: RFC 8489 B.1 vector absent, skipped\n");
	}
}

int main(void)
{
	test_base64();
	test_derive();
	test_hex();
	test_userhash();
	test_vectors();
	return check_done("test_auth_keys");
}
