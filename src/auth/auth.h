/* auth.h - STUN long-term credentials (RFC 8489 §9.2): stateless nonces,
 * key derivation (MD5 and SHA-256), USERHASH, TURN REST API time-limited
 * credentials, the credential store, and request verification. */
#ifndef TURNPIKE_AUTH_AUTH_H
#define TURNPIKE_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/stun.h"

#define AUTH_NONCE_COOKIE "obMatJos2" /* RFC 8489 §9.2 nonce cookie */
#define AUTH_NONCE_MAX 128            /* NONCE is < 128 characters */
#define AUTH_MAX_KEYS 16              /* candidate keys per lookup */

/* Password algorithms, numbered as in PASSWORD-ALGORITHM (RFC 8489 §18.5). */
enum auth_alg {
	AUTH_ALG_MD5 = STUN_PWALG_MD5,
	AUTH_ALG_SHA256 = STUN_PWALG_SHA256
};

/* A long-term key: MD5 (16 bytes) or SHA-256 (32 bytes) of
 * "username:realm:password". Wipe with OPENSSL_cleanse when done. */
struct auth_key {
	uint8_t alg;
	uint8_t len;
	uint8_t k[32];
};

/* ------------------------------------------------------------------ */
/* Stateless nonces: no per-client state before authentication. */

struct auth_nonce_key {
	uint8_t k[32];
};

/* From a shared secret (nonce-secret, so a fleet shares nonces; the key is
 * SHA-256 of it) or, with secret NULL, 32 bytes from the CSPRNG. Returns 0,
 * TP_EINVAL (empty secret) or TP_ECRYPTO. */
int auth_nonce_key_init(struct auth_nonce_key *nk, const char *secret);

/*
 * Writes a NUL-terminated nonce valid until now + lifetime seconds for this
 * client (IP and port): "obMatJos2" + 4 base64 characters of the security
 * feature bits (password algorithms and username anonymity, RFC 8489
 * §9.2.1) + base64url(expiry, HMAC-SHA256(key, expiry || client)[:16]).
 * Always 45 characters ("obMatJos2AAAB..."; nonce.c has the layout).
 * Returns its length, or 0 if cap is too small (under 46) or client is not
 * an IPv4/IPv6 address.
 */
size_t auth_nonce_make(const struct auth_nonce_key *nk, const struct sockaddr *client, uint64_t now,
		       unsigned lifetime, char *out, size_t cap);

/* Returns 0 when the nonce is ours, for this client, and not expired (now
 * <= expiry: valid through its last second); TP_EAGAIN when it was ours
 * but expired; TP_EINTEGRITY otherwise. Constant time in the MAC compare. */
int auth_nonce_check(const struct auth_nonce_key *nk, const struct sockaddr *client, uint64_t now,
		     const uint8_t *nonce, size_t len);

/* True when the nonce starts with the cookie and announces the password
 * algorithms feature (so the client saw PASSWORD-ALGORITHMS). Bit 0 is the
 * least significant of the 24 (RFC 8489 verified erratum 6290). */
bool auth_nonce_has_alg_feature(const uint8_t *nonce, size_t len);

/* ------------------------------------------------------------------ */
/* Keys. */

/* key = H(username ":" realm ":" password), H = MD5 or SHA-256 (RFC 8489
 * §9.2.2). Strings are used as given (ASCII; no SASLprep/OpaqueString
 * mapping of non-ASCII input). Returns 0 or TP_EINVAL / TP_ECRYPTO. */
int auth_key_derive(uint8_t alg, const char *user, size_t ulen, const char *realm, size_t rlen,
		    const char *pass, size_t plen, struct auth_key *out);

/* A key given as hex ("0x" prefix optional): 32 hex digits for MD5, 64 for
 * SHA-256. Returns 0 or TP_EINVAL. */
int auth_key_from_hex(uint8_t alg, const char *hex, struct auth_key *out);

/* USERHASH = SHA-256(username ":" realm) (RFC 8489 §14.4). */
int auth_userhash(const char *user, size_t ulen, const char *realm, size_t rlen, uint8_t out[32]);

/* ------------------------------------------------------------------ */
/* TURN REST API (draft-uberti-behave-turn-rest): USERNAME is
 * "<expiry-unix>:<user>" (or "<user>:<expiry-unix>"), password is
 * base64(HMAC-SHA1(secret, USERNAME)). */

/* Writes the NUL-terminated base64 password. Returns its length or 0. */
size_t auth_rest_password(const uint8_t *secret, size_t slen, const char *username, size_t ulen,
			  char *out, size_t cap);

/* Splits a REST username. Returns 0 with the expiry and the user part (for
 * quotas), or TP_EINVAL when neither side is a decimal timestamp. */
int auth_rest_split(const char *username, size_t len, uint64_t *expiry, const char **user,
		    size_t *user_len);

/* ------------------------------------------------------------------ */
/* The credential store: long-term users and REST secrets from the config.
 * Read-only once built; shared by all workers. */

struct auth_store;

struct auth_store *auth_store_new(const char *realm);
void auth_store_free(struct auth_store *s);
const char *auth_store_realm(const struct auth_store *s);

/* "name:password" or "name:0xMD5HEXKEY" (coturn's user= forms), split at
 * the first ':'. A plain password yields MD5 and SHA-256 keys; a hex key
 * only MD5. The password is not kept. Returns 0 or TP_EINVAL (malformed,
 * empty part, bad hex key, name already added) / TP_ENOMEM. */
int auth_store_add_user(struct auth_store *s, const char *spec);
/* A static-auth-secret; several may be active (rotation), at most
 * AUTH_MAX_KEYS. Returns 0 or TP_EINVAL (empty, too many) / TP_ENOMEM. */
int auth_store_add_secret(struct auth_store *s, const char *secret);
size_t auth_store_nsecrets(const struct auth_store *s);
/* The long-term users added with auth_store_add_user. */
size_t auth_store_nusers(const struct auth_store *s);
/* The newest (last added) secret, for issuing credentials. */
const char *auth_store_newest_secret(const struct auth_store *s);

enum auth_lookup {
	AUTH_LOOKUP_FOUND = 0,
	AUTH_LOOKUP_UNKNOWN, /* no such user / not a REST name */
	AUTH_LOOKUP_EXPIRED  /* REST timestamp in the past */
};

/*
 * Candidate keys for a username under alg: a long-term user gives one; a
 * REST username (when secrets are configured) gives one per secret, newest
 * secret first, each derived from that secret's password. *quota_user
 * points into username: the user part of a REST name, or the whole name.
 * Returns the lookup result; *n keys written (at most max). A user added
 * with a hex key has no SHA-256 key: AUTH_LOOKUP_UNKNOWN for SHA-256. A
 * REST expiry equal to now is still valid.
 */
enum auth_lookup auth_store_keys(const struct auth_store *s, const char *username, size_t ulen,
				 uint8_t alg, uint64_t now, struct auth_key *keys, size_t max,
				 size_t *n, const char **quota_user, size_t *quota_len);

/* Maps a USERHASH to the long-term user it stands for. Returns 0 or
 * TP_ENOTFOUND (REST names cannot be hashed back). */
int auth_store_userhash(const struct auth_store *s, const uint8_t hash[32], const char **user,
			size_t *ulen);

/* ------------------------------------------------------------------ */
/* A swappable store: one thread (the main one) publishes whole new stores
 * (config plus Redis secrets); any thread takes a reference to the current
 * one, lock-free, and keeps it as long as it needs (one request, or a
 * request parked on a lookup). A store is freed by its last reference. */

struct auth_snap;

/* A holder whose current store is first (ownership passes; on failure
 * first is freed). Returns NULL when out of memory. */
struct auth_snap *auth_snap_new(struct auth_store *first);
/* Frees the holder and drops its reference to the current store. */
void auth_snap_free(struct auth_snap *h);
/* The current store, with a reference the caller gives back with
 * auth_snap_put. Never NULL. Any thread; no lock. */
const struct auth_store *auth_snap_get(struct auth_snap *h);
void auth_snap_put(const struct auth_store *s);
/* Makes next current (ownership passes) and drops the holder's reference
 * to the previous store. One publishing thread at a time. */
void auth_snap_set(struct auth_snap *h, struct auth_store *next);

/* ------------------------------------------------------------------ */
/* Request verification (RFC 8489 §9.2.4), in two steps so a caller can
 * fetch keys asynchronously in between. */

struct auth_request {
	const char *username; /* USERNAME value, or the user USERHASH named */
	size_t ulen;
	bool used_userhash;
	const uint8_t *nonce;
	size_t nlen;
	uint8_t alg;           /* from PASSWORD-ALGORITHM, else MD5 */
	bool sha256_integrity; /* MESSAGE-INTEGRITY-SHA256 present */
};

/*
 * Step 1: everything that needs no key. Returns 0 to go on to the key
 * lookup, or the STUN error code to answer: 401 (no integrity attribute:
 * a challenge), 400 (integrity without USERNAME/USERHASH, REALM or NONCE;
 * PASSWORD-ALGORITHMS not the list we offer, PASSWORD-ALGORITHM not in it),
 * 401 (USERHASH of no known user; REALM not ours), 438 (nonce stale or not
 * ours), in that order. req's pointers point into msg's buffer or the
 * store.
 */
int auth_request_check(const struct stun_msg *msg, const struct auth_nonce_key *nk,
		       const struct auth_store *s, const struct sockaddr *client, uint64_t now,
		       struct auth_request *req);

/* Step 2: the index of the key whose MESSAGE-INTEGRITY(-SHA256) verifies,
 * or -1. Constant-time compares. */
int auth_request_verify(const struct stun_msg *msg, const struct auth_request *req,
			const struct auth_key *keys, size_t n);

/* Adds REALM, NONCE and PASSWORD-ALGORITHMS (SHA-256 then MD5) to an error
 * response (401 or 438), with a fresh nonce for the client. */
void auth_build_challenge(struct stun_builder *b, const struct auth_nonce_key *nk,
			  const char *realm, const struct sockaddr *client, uint64_t now,
			  unsigned nonce_lifetime);

/* Signs a response with the key the request verified with: MESSAGE-
 * INTEGRITY-SHA256 if the request used it, else MESSAGE-INTEGRITY. */
void auth_build_integrity(struct stun_builder *b, const struct auth_request *req,
			  const struct auth_key *key);

/* Base64 (RFC 4648 §4) with padding; returns the length written (NUL
 * terminated) or 0 if cap is too small. Shared with the HTTP hook. */
size_t auth_base64(const uint8_t *in, size_t len, char *out, size_t cap);
/* The same in base64url (§5), without padding. */
size_t auth_base64url(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
