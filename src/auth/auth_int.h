/* auth_int.h - private helpers of the auth module: base64, digests, the nonce layout. */
#ifndef TURNPIKE_AUTH_AUTH_INT_H
#define TURNPIKE_AUTH_AUTH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

/*
 * STUN Security Features (RFC 8489 §18.1) as a 24-bit number. The RFC's
 * text numbers bit 0 from the most significant side, but verified erratum
 * 6290 reverses that: bit 0 is the least significant bit, so "Password
 * algorithms" is 0x000001 ("AAAB" in the nonce cookie) and "Username
 * anonymity" 0x000002 ("AAAC", as in the Appendix B.1 example nonce).
 */
#define AUTH_FEATURE_PASSWORD_ALGS 0x000001u
#define AUTH_FEATURE_USERNAME_ANON 0x000002u

/* The features every turnpike nonce announces: PASSWORD-ALGORITHMS is always
 * offered; USERHASH is accepted but not required. */
#define AUTH_NONCE_FEATURES AUTH_FEATURE_PASSWORD_ALGS

/* Nonce layout: cookie (9) + features (4 base64 characters) + base64url of
 * expiry (4) and truncated MAC (8): 12 bytes, 16 characters, no padding.
 * 29 characters in all, 32 on the wire: the 401 that answers anyone's
 * unauthenticated request stays small (see nonce.c for why 64 bits). */
#define AUTH_NONCE_COOKIE_LEN 9
#define AUTH_NONCE_PREFIX_LEN 13
#define AUTH_NONCE_MAC_LEN 8
#define AUTH_NONCE_BODY_BYTES (4 + AUTH_NONCE_MAC_LEN)
#define AUTH_NONCE_BODY_CHARS 16
#define AUTH_NONCE_LEN (AUTH_NONCE_PREFIX_LEN + AUTH_NONCE_BODY_CHARS)

/*
 * Base64 (RFC 4648 §4) with padding, or with url set base64url (§5)
 * without padding. Returns the length written, NUL terminated, or 0 (and
 * writes nothing) when cap is too small.
 */
size_t auth_b64_encode(const uint8_t *in, size_t len, bool url, char *out, size_t cap);

/*
 * Strict decoder for the unpadded form of either alphabet: rejects other
 * characters, '=' padding, a length of 1 mod 4 and non-zero unused bits.
 * Returns 0 with *outlen bytes in out, or TP_EINVAL / TP_ENOSPC.
 */
int auth_b64_decode(const char *in, size_t len, bool url, uint8_t *out, size_t cap, size_t *outlen);

/* One piece of a digest's input. */
struct auth_piece {
	const void *p;
	size_t n;
};

/* MD5 (alg AUTH_ALG_MD5, 16 bytes) or SHA-256 (AUTH_ALG_SHA256, 32 bytes)
 * of the concatenated pieces into out (room for 32). Returns the digest
 * length, or TP_EINVAL (unknown alg) / TP_ECRYPTO. */
int auth_digest(uint8_t alg, const struct auth_piece *pc, size_t npc, uint8_t out[32]);

/* The 24-bit feature set of a nonce starting with the nonce cookie. Returns
 * 0, or TP_EINVAL when the nonce has no (well-formed) cookie. */
int auth_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features);

/* The reference count of a store, for auth_snap (atomic access only). */
long *auth_store_refs(const struct auth_store *s);

#endif
