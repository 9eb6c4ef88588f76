/* nonce.c - stateless NONCE values (RFC 8489 §9.2, §9.2.1): nonce cookie, expiry, client MAC. */
#include <netinet/in.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/auth_int.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "turnpike/wire.h"
#include "util/rand.h"

/*
 * A nonce is 29 characters:
 *
 *   "obMatJos2"  the nonce cookie (RFC 8489 §9.2)
 *   "AAAB"       base64 of the 24-bit STUN Security Features (§18.1)
 *   16 chars     base64url, no padding, of 12 bytes:
 *                  expiry    4 bytes, big-endian Unix seconds (to 2106)
 *                  mac       8 bytes, HMAC-SHA256(key, expiry || family ||
 *                            ip || port) truncated
 *
 * family is 0x01 with the 4 IPv4 bytes or 0x02 with the 16 IPv6 bytes (an
 * IPv4-mapped IPv6 address counts as IPv4), port is big-endian. Nothing is
 * stored: a nonce verifies for the address and port it was made for until
 * its expiry second has passed. RFC 8489 §9.2.4: the server "MUST NOT
 * choose the same NONCE for two requests unless they have the same source
 * IP address and port", which binding the MAC to both gives.
 *
 * Why 64 bits of MAC: the nonce is no secret and no credential. It proves
 * the client can receive at its address (a spoofed source never sees it)
 * and bounds replays in time; every request using it must still carry a
 * MESSAGE-INTEGRITY made with the user's key. Forging one means guessing
 * 2^64 values online, one request each, through the per-source limits:
 * out of reach. The bytes saved (16 on the wire) are in every 401 and 438
 * anyone can ask for, where they count against reflection.
 */
/* The cookie and features every nonce starts with, built once from the
 * constants: "obMatJos2" + base64 of AUTH_NONCE_FEATURES. */
static void nonce_prefix(char out[AUTH_NONCE_PREFIX_LEN + 1])
{
	const uint8_t feat[3] = {
		(uint8_t)(AUTH_NONCE_FEATURES >> 16),
		(uint8_t)(AUTH_NONCE_FEATURES >> 8),
		(uint8_t)AUTH_NONCE_FEATURES,
	};

	memcpy(out, AUTH_NONCE_COOKIE, AUTH_NONCE_COOKIE_LEN);
	auth_b64_encode(feat, 3, false, out + AUTH_NONCE_COOKIE_LEN, 5);
}

int auth_nonce_key_init(struct auth_nonce_key *nk, const char *secret)
{
	struct auth_piece pc;
	int rc;

	if (!secret)
		return rand_bytes(nk->k, sizeof(nk->k)) ? TP_ECRYPTO : 0;
	if (!*secret)
		return TP_EINVAL; /* anyone could forge nonces */
	pc.p = secret;
	pc.n = strlen(secret);
	rc = auth_digest(AUTH_ALG_SHA256, &pc, 1, nk->k);
	return rc < 0 ? rc : 0;
}

/*
 * The truncated MAC over expiry and client. Returns 0, TP_EINVAL (not an
 * IP address) or TP_ECRYPTO.
 */
static int nonce_mac(const struct auth_nonce_key *nk, const struct sockaddr *client,
		     uint64_t expiry, uint8_t out[AUTH_NONCE_MAC_LEN])
{
	uint8_t in[4 + 1 + 16 + 2], mac[STUN_HMAC_SHA256_LEN];
	struct wire_wr w;
	int rc = TP_ECRYPTO;

	if (!client)
		return TP_EINVAL;
	wire_wr_init(&w, in, sizeof(in));
	wire_wr_u32(&w, (uint32_t)expiry);
	if (client->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)client;

		wire_wr_u8(&w, 0x01);
		wire_wr_bytes(&w, &sin->sin_addr, 4);
		wire_wr_bytes(&w, &sin->sin_port, 2);
	} else if (client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)client;
		const uint8_t *ip = sin6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			wire_wr_u8(&w, 0x01);
			wire_wr_bytes(&w, ip + 12, 4);
		} else {
			wire_wr_u8(&w, 0x02);
			wire_wr_bytes(&w, ip, 16);
		}
		wire_wr_bytes(&w, &sin6->sin6_port, 2);
	} else {
		return TP_EINVAL;
	}
	if (w.err)
		return TP_EINVAL;
	/* Keyed once per thread and key, not per nonce (stun_hmac_sha256):
	 * a one-shot HMAC() costs several times this on every challenge and
	 * every authenticated request. */
	if (stun_hmac_sha256(nk->k, sizeof(nk->k), in, w.pos, mac) == 0) {
		memcpy(out, mac, AUTH_NONCE_MAC_LEN);
		rc = 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

size_t auth_nonce_make(const struct auth_nonce_key *nk, const struct sockaddr *client, uint64_t now,
		       unsigned lifetime, char *out, size_t cap)
{
	uint8_t body[AUTH_NONCE_BODY_BYTES], mac[AUTH_NONCE_MAC_LEN];
	/* Saturates at the last second a 32-bit expiry can say. */
	uint64_t expiry = now >= UINT32_MAX - (uint64_t)lifetime ? UINT32_MAX : now + lifetime;
	struct wire_wr w;
	size_t n = 0;

	if (!out || cap < AUTH_NONCE_LEN + 1)
		return 0;
	if (nonce_mac(nk, client, expiry, mac) != 0)
		goto out;
	wire_wr_init(&w, body, sizeof(body));
	wire_wr_u32(&w, (uint32_t)expiry);
	wire_wr_bytes(&w, mac, sizeof(mac));
	if (w.err || w.pos != sizeof(body))
		goto out;
	nonce_prefix(out);
	n = AUTH_NONCE_PREFIX_LEN + auth_b64_encode(body, sizeof(body), true,
						    out + AUTH_NONCE_PREFIX_LEN,
						    cap - AUTH_NONCE_PREFIX_LEN);
	if (n != AUTH_NONCE_LEN) {
		n = 0;
		out[0] = '\0';
	}
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(body, sizeof(body));
	return n;
}

int auth_nonce_check(const struct auth_nonce_key *nk, const struct sockaddr *client, uint64_t now,
		     const uint8_t *nonce, size_t len)
{
	char prefix[AUTH_NONCE_PREFIX_LEN + 1];
	uint8_t body[AUTH_NONCE_BODY_BYTES], want[AUTH_NONCE_MAC_LEN];
	uint64_t expiry;
	struct wire_rd r;
	const uint8_t *got;
	size_t blen;
	int rc = TP_EINTEGRITY;

	/* Our nonces have one length; anything else was not made here. */
	if (!nonce || len != AUTH_NONCE_LEN)
		return TP_EINTEGRITY;
	nonce_prefix(prefix);
	if (memcmp(nonce, prefix, AUTH_NONCE_PREFIX_LEN) != 0)
		return TP_EINTEGRITY;
	if (auth_b64_decode((const char *)nonce + AUTH_NONCE_PREFIX_LEN, AUTH_NONCE_BODY_CHARS,
			    true, body, sizeof(body), &blen) != 0 ||
	    blen != sizeof(body))
		goto out;
	wire_rd_init(&r, body, blen);
	expiry = wire_rd_u32(&r);
	got = wire_rd_ptr(&r, AUTH_NONCE_MAC_LEN);
	if (r.err || !got)
		goto out;
	if (nonce_mac(nk, client, expiry, want) != 0)
		goto out;
	if (CRYPTO_memcmp(want, got, AUTH_NONCE_MAC_LEN) != 0)
		goto out;
	/* Valid through its expiry second; stale after it. */
	rc = now > expiry ? TP_EAGAIN : 0;
out:
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(body, sizeof(body));
	return rc;
}

int auth_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features)
{
	uint8_t feat[3];
	size_t n;

	*features = 0;
	if (!nonce || len < AUTH_NONCE_PREFIX_LEN ||
	    memcmp(nonce, AUTH_NONCE_COOKIE, AUTH_NONCE_COOKIE_LEN) != 0)
		return TP_EINVAL;
	/* RFC 8489 §9.2: 4 base64 characters, 3 bytes, first byte on the left. */
	if (auth_b64_decode((const char *)nonce + AUTH_NONCE_COOKIE_LEN, 4, false, feat,
			    sizeof(feat), &n) != 0 ||
	    n != 3)
		return TP_EINVAL;
	*features = (uint32_t)feat[0] << 16 | (uint32_t)feat[1] << 8 | feat[2];
	return 0;
}

bool auth_nonce_has_alg_feature(const uint8_t *nonce, size_t len)
{
	uint32_t f;

	return auth_nonce_features(nonce, len, &f) == 0 && (f & AUTH_FEATURE_PASSWORD_ALGS);
}
