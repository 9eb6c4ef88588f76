/* keys.c - long-term key derivation (MD5, SHA-256), hex keys, USERHASH and base64. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/auth_int.h"
#include "turnpike/err.h"
#include "util/hex.h"

/* ------------------------------------------------------------------ */
/* Base64 (RFC 4648 §4) and base64url (§5). */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t auth_b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t cap)
{
	const char *abc = url ? b64_url : b64_std;
	size_t full = len / 3, rest = len % 3, need, i, o = 0;
	uint32_t v;

	if (len > (SIZE_MAX - 8) / 4 * 3)
		return 0;
	need = 4 * full + (rest ? (url ? rest + 1 : 4) : 0);
	if (!out || cap < need + 1)
		return 0;
	for (i = 0; i < full; i++) {
		v = (uint32_t)in[3 * i] << 16 | (uint32_t)in[3 * i + 1] << 8 | in[3 * i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (rest) {
		v = (uint32_t)in[3 * full] << 16;
		if (rest == 2)
			v |= (uint32_t)in[3 * full + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		if (rest == 2)
			out[o++] = abc[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t auth_base64(const uint8_t *in, size_t len, char *out, size_t cap)
{
	return auth_b64_encode(in, len, false, out, cap);
}

size_t auth_base64url(const uint8_t *in, size_t len, char *out, size_t cap)
{
	return auth_b64_encode(in, len, true, out, cap);
}

/* The 6-bit value of a base64 character, or -1. */
static int b64_val(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int auth_b64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0), i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	int v;

	*outlen = 0;
	if (len % 4 == 1)
		return TP_EINVAL;
	if (cap < need)
		return TP_ENOSPC;
	for (i = 0; i < len; i++) {
		v = b64_val(in[i], url);
		if (v < 0)
			return TP_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* RFC 4648 §3.5: the bits past the last byte must be zero. */
	if (acc != 0)
		return TP_EINVAL;
	*outlen = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Digests. */

/*
 * EVP_md5() and EVP_sha256() make OpenSSL 3 look the algorithm up in the
 * provider store on every EVP_DigestInit_ex; fetching once avoids that.
 * MD5 is in the default provider (not in the FIPS one: then MD5 keys fail
 * with TP_ECRYPTO and SHA-256 still works).
 */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_md5, *md_sha256;

static void md_fetch(void)
{
	md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int auth_digest(uint8_t alg, const struct auth_piece *pc, size_t npc, uint8_t out[32])
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx = NULL;
	unsigned int outlen = 0;
	int rc = TP_ECRYPTO;
	size_t i;

	if (alg != AUTH_ALG_MD5 && alg != AUTH_ALG_SHA256)
		return TP_EINVAL;
	if (pthread_once(&md_once, md_fetch) != 0)
		return TP_ECRYPTO;
	md = alg == AUTH_ALG_MD5 ? md_md5 : md_sha256;
	if (!md)
		return TP_ECRYPTO;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL))
		goto out;
	for (i = 0; i < npc; i++)
		if (pc[i].n && !EVP_DigestUpdate(ctx, pc[i].p, pc[i].n))
			goto out;
	if (!EVP_DigestFinal_ex(ctx, out, &outlen))
		goto out;
	rc = (int)outlen;
out:
	EVP_MD_CTX_free(ctx); /* cleanses the digest state */
	return rc;
}

/* ------------------------------------------------------------------ */
/* Keys. */

/* RFC 8489 §9.2.2, §18.5.1: key = H(username ":" realm ":" password). */
int auth_key_derive(uint8_t alg, const char *user, size_t ulen, const char *realm, size_t rlen,
		    const char *pass, size_t plen, struct auth_key *out)
{
	const struct auth_piece pc[5] = {
		{user, ulen}, {":", 1}, {realm, rlen}, {":", 1}, {pass, plen},
	};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((ulen && !user) || (rlen && !realm) || (plen && !pass))
		return TP_EINVAL;
	rc = auth_digest(alg, pc, 5, out->k);
	if (rc < 0)
		return rc;
	out->alg = alg;
	out->len = (uint8_t)rc;
	return 0;
}

int auth_key_from_hex(uint8_t alg, const char *hex, struct auth_key *out)
{
	size_t klen;

	memset(out, 0, sizeof(*out));
	if (!hex)
		return TP_EINVAL;
	if (alg == AUTH_ALG_MD5)
		klen = 16;
	else if (alg == AUTH_ALG_SHA256)
		klen = 32;
	else
		return TP_EINVAL;
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	if (strlen(hex) != 2 * klen)
		return TP_EINVAL;
	if (!hex_decode(hex, out->k, klen)) {
		OPENSSL_cleanse(out, sizeof(*out));
		return TP_EINVAL;
	}
	out->alg = alg;
	out->len = (uint8_t)klen;
	return 0;
}

/* RFC 8489 §14.4: USERHASH = SHA-256(username ":" realm). */
int auth_userhash(const char *user, size_t ulen, const char *realm, size_t rlen, uint8_t out[32])
{
	const struct auth_piece pc[3] = {{user, ulen}, {":", 1}, {realm, rlen}};
	int rc;

	if ((ulen && !user) || (rlen && !realm))
		return TP_EINVAL;
	rc = auth_digest(AUTH_ALG_SHA256, pc, 3, out);
	return rc < 0 ? rc : 0;
}
