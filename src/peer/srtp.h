/* srtp.h - turnpike-peer's SRTP and SRTCP (RFC 3711, rtcp-mux) on
 * libsrtp2: one outbound and one inbound session keyed from DTLS-SRTP
 * (RFC 5764 §4.2), replay protection on, and counters of what failed. */
#ifndef TURNPIKE_PEER_SRTP_H
#define TURNPIKE_PEER_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The profiles offered in use_srtp (RFC 5764 §4.1.2, RFC 7714 §14.2). */
enum peer_srtp_profile {
	PEER_SRTP_NONE = 0,
	PEER_SRTP_AES128_CM_SHA1_80, /* 0x0001 */
	PEER_SRTP_AEAD_AES_128_GCM   /* 0x0007 */
};

#define PEER_SRTP_KEY_LEN 16
#define PEER_SRTP_SALT_MAX 14
/* Room an outgoing packet needs past its plaintext (HMAC-SHA1-80 tag and
 * the SRTCP index, or the GCM tag and index). */
#define PEER_SRTP_OVERHEAD 148

struct peer_srtp_keys {
	enum peer_srtp_profile profile;
	size_t salt_len; /* 14 for AES-CM, 12 for AES-GCM (RFC 7714 §12) */
	uint8_t client_key[PEER_SRTP_KEY_LEN], server_key[PEER_SRTP_KEY_LEN];
	uint8_t client_salt[PEER_SRTP_SALT_MAX], server_salt[PEER_SRTP_SALT_MAX];
};

struct peer_srtp_stats {
	unsigned long protected_rtp, protected_rtcp;
	unsigned long unprotected_rtp, unprotected_rtcp;
	unsigned long auth_failures; /* srtp_err_status_auth_fail */
	unsigned long replays;       /* srtp_err_status_replay_fail / _old */
	unsigned long other_errors;  /* anything else libsrtp refused */
};

struct peer_srtp {
	void *tx, *rx; /* srtp_t */
	enum peer_srtp_profile profile;
	struct peer_srtp_stats st;
};

/* "SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80" or "none". */
const char *peer_srtp_profile_name(enum peer_srtp_profile p);

/*
 * Keys both sessions: a DTLS client sends with the client key and salt
 * and receives with the server's, a server the other way round (RFC 5764
 * §4.2). Returns 0, TP_EINVAL (no profile), or TP_ECRYPTO (libsrtp).
 */
int peer_srtp_init(struct peer_srtp *s, const struct peer_srtp_keys *k, bool dtls_client);
/* Frees both sessions; a zeroed or cleaned struct is a no-op. */
void peer_srtp_cleanup(struct peer_srtp *s);

/*
 * Protect *len bytes of RTP or RTCP in place; buf must hold cap >= *len +
 * PEER_SRTP_OVERHEAD bytes. On success *len is the protected length.
 * Returns 0, TP_ENOSPC, or TP_ECRYPTO.
 */
int peer_srtp_protect_rtp(struct peer_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int peer_srtp_protect_rtcp(struct peer_srtp *s, uint8_t *buf, size_t *len, size_t cap);

/*
 * Verify and decrypt in place; on success *len is the plaintext length.
 * Returns 0, TP_EINTEGRITY (authentication failed: counted), TP_ELIMIT
 * (replayed or too old for the window: counted), or TP_EMALFORMED.
 */
int peer_srtp_unprotect_rtp(struct peer_srtp *s, uint8_t *buf, size_t *len);
int peer_srtp_unprotect_rtcp(struct peer_srtp *s, uint8_t *buf, size_t *len);

/* Wipes key material (OPENSSL_cleanse). */
void peer_srtp_keys_wipe(struct peer_srtp_keys *k);

#endif
