/* rest.c - TURN REST API time-limited credentials (draft-uberti-behave-turn-rest §2.2). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/auth_int.h"
#include "turnpike/err.h"

/* base64 of a 20-byte HMAC-SHA1: 28 characters. */
#define REST_PASS_LEN 28

/* Longest decimal uint64_t: 18446744073709551615. */
#define TS_MAX_DIGITS 20

/* draft-uberti-behave-turn-rest §2.2: password = base64(HMAC-SHA1(secret,
 * username)), the username being the whole "<ts>:<user>" string. */
size_t auth_rest_password(const uint8_t *secret, size_t slen, const char *username, size_t ulen,
			  char *out, size_t cap)
{
	static const uint8_t nokey; /* HMAC() wants a key pointer even for "" */
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = 0;

	if (!out || cap < REST_PASS_LEN + 1 || (slen && !secret) || (ulen && !username) ||
	    slen > 0x7fffffff)
		return 0;
	if (!HMAC(EVP_sha1(), slen ? secret : &nokey, (int)slen,
		  (const unsigned char *)(ulen ? username : ""), ulen, mac, &maclen))
		goto out;
	n = auth_base64(mac, maclen, out, cap);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return n;
}

/*
 * Parses s[0..len) as a decimal timestamp: 1 to 20 digits, no sign, no
 * overflow. Returns 0 or TP_EINVAL.
 */
static int parse_ts(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	unsigned d;

	if (len == 0 || len > TS_MAX_DIGITS)
		return TP_EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TP_EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return TP_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * "<ts>:<user>" (the draft's form, tried first) splits at the first colon,
 * "<user>:<ts>" (coturn's alternative) at the last one, so the user part
 * may itself hold colons. The user part must not be empty.
 */
int auth_rest_split(const char *username, size_t len, uint64_t *expiry, const char **user,
		    size_t *user_len)
{
	const char *first, *last;
	uint64_t ts;

	*expiry = 0;
	*user = NULL;
	*user_len = 0;
	if (!username || len < 3)
		return TP_EINVAL;
	first = memchr(username, ':', len);
	if (!first)
		return TP_EINVAL;
	if ((size_t)(first - username) + 1 < len &&
	    parse_ts(username, (size_t)(first - username), &ts) == 0) {
		*expiry = ts;
		*user = first + 1;
		*user_len = len - (size_t)(first - username) - 1;
		return 0;
	}
	for (last = username + len - 1; *last != ':'; last--)
		; /* stops at first at the latest */
	if (last > username && parse_ts(last + 1, len - (size_t)(last - username) - 1, &ts) == 0) {
		*expiry = ts;
		*user = username;
		*user_len = (size_t)(last - username);
		return 0;
	}
	return TP_EINVAL;
}
