/* dtls.h - turnpike-peer's DTLS-SRTP endpoint (RFC 5764, RFC 8827, issue
 * 12): a fresh ECDSA P-256 certificate per run, DTLS 1.2 over datagrams the
 * caller carries (in through peer_dtls_input, out through a send callback,
 * so they can go over the selected ICE pair, relayed or not), the role from
 * a=setup (RFC 8842), the peer's certificate checked against its SDP
 * fingerprint, and the SRTP keys from the EXTRACTOR-dtls_srtp exporter. No
 * sockets and no event loop: the caller arms one timer from
 * peer_dtls_timeout_ms. */
#ifndef TURNPIKE_PEER_DTLS_H
#define TURNPIKE_PEER_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer/sdp.h"
#include "peer/srtp.h"

#define PEER_DTLS_FP_LEN 32 /* SHA-256 */
/* "sha-256 " is not part of it: 32 bytes as "AB:CD:...", 95 chars + NUL. */
#define PEER_DTLS_FP_TEXT (PEER_DTLS_FP_LEN * 3)

struct peer_dtls_cert;
struct peer_dtls;

enum peer_dtls_role {
	PEER_DTLS_CLIENT = 0,
	PEER_DTLS_SERVER
};

enum peer_dtls_state {
	PEER_DTLS_HANDSHAKING = 0,
	PEER_DTLS_CONNECTED,
	PEER_DTLS_FAILED,
	PEER_DTLS_CLOSED /* close_notify sent or received */
};

/* Sends one datagram to the other side; returns 0 or a tp_err (a datagram
 * lost on the way is not an error: DTLS retransmits). */
typedef int (*peer_dtls_send_fn)(void *ctx, const uint8_t *buf, size_t len);

/*
 * A new ECDSA P-256 key and a self-signed certificate for it (CN
 * "turnpike-peer", valid from a day ago for 30 days, random serial), with
 * its SHA-256 fingerprint. Returns 0 with *out owned by the caller, or
 * TP_ECRYPTO / TP_ENOMEM.
 */
int peer_dtls_cert_new(struct peer_dtls_cert **out);
void peer_dtls_cert_free(struct peer_dtls_cert *c);
/* The certificate's SHA-256 digest, PEER_DTLS_FP_LEN bytes. */
const uint8_t *peer_dtls_cert_fingerprint(const struct peer_dtls_cert *c);
/* Fills sdp.h's fingerprint fields ("sha-256" and the digest). */
void peer_dtls_cert_to_sdp(const struct peer_dtls_cert *c, struct sdp_desc *d);

/* Formats len digest bytes as RFC 8122 §5 wants them after "sha-256 ":
 * upper-case hex pairs joined by ':'. Returns the length, or TP_ENOSPC. */
int peer_dtls_fp_format(const uint8_t *fp, size_t len, char *buf, size_t cap);

/* The a=setup this side writes: actpass in an offer, active in an answer
 * (RFC 8842 §5.2 and §5.3). */
enum sdp_setup peer_dtls_setup_local(bool offerer);

/*
 * The DTLS role from both sides' a=setup (RFC 8842 §5): active is the
 * client, passive the server; an offer's actpass takes the opposite of the
 * answer's choice; an absent a=setup counts as active (RFC 4145 §4.1).
 * Returns 0 with *role set, or TP_EINVAL when the pair cannot be resolved
 * (both active, both passive, both actpass).
 */
int peer_dtls_role(enum sdp_setup local, enum sdp_setup remote, enum peer_dtls_role *role);

struct peer_dtls_opts {
	const struct peer_dtls_cert *cert;
	enum peer_dtls_role role;
	/* The other side's a=fingerprint: hash name as in the SDP ("sha-256",
	 * "sha-1", "sha-384", "sha-512") and digest bytes. */
	const char *remote_fp_alg;
	const uint8_t *remote_fp;
	size_t remote_fp_len;
	peer_dtls_send_fn send;
	void *send_ctx;
	/* First retransmission timeout; 0 means RFC 6347 §4.2.4.1's 1000 ms.
	 * It doubles on every retransmission, up to 60 s. */
	unsigned initial_timeout_ms;
	size_t mtu; /* largest datagram; 0 means 1200 */
	/* use_srtp profiles in OpenSSL's spelling, most preferred first; NULL
	 * offers both (GCM first). */
	const char *srtp_profiles;
};

/* A DTLS endpoint. Returns NULL on allocation or OpenSSL failure or a
 * fingerprint hash it does not know (err says which). */
struct peer_dtls *peer_dtls_new(const struct peer_dtls_opts *o, char *err, size_t errlen);
/* Frees d (no close_notify: call peer_dtls_close first). NULL is a no-op. */
void peer_dtls_free(struct peer_dtls *d);

/* Starts the handshake: the client sends its ClientHello now; the server
 * waits for it. Returns 0 or TP_ECRYPTO (state FAILED). */
int peer_dtls_start(struct peer_dtls *d);

/*
 * One datagram from the other side (first byte 20..63, RFC 7983). Advances
 * the handshake or, once connected, reads records: application data is
 * counted and dropped, a close_notify moves to CLOSED. Returns 0, or
 * TP_ECRYPTO when the handshake failed (peer_dtls_error says why: the
 * fingerprint mismatch, no common SRTP profile, an alert).
 */
int peer_dtls_input(struct peer_dtls *d, const uint8_t *buf, size_t len);

/* Milliseconds until peer_dtls_on_timeout should run (rounded up), or -1
 * when no retransmission timer is running. */
long peer_dtls_timeout_ms(struct peer_dtls *d);
/* The retransmission timer fired: resends the last flight. Returns 0, or
 * TP_ETIMEDOUT when DTLS gave up (state FAILED). */
int peer_dtls_on_timeout(struct peer_dtls *d);

/* Sends close_notify (RFC 5246 §7.2.1) once connected; state CLOSED. */
int peer_dtls_close(struct peer_dtls *d);

enum peer_dtls_state peer_dtls_state(const struct peer_dtls *d);
const char *peer_dtls_error(const struct peer_dtls *d); /* "" unless FAILED */
bool peer_dtls_fingerprint_ok(const struct peer_dtls *d);
bool peer_dtls_peer_closed(const struct peer_dtls *d); /* close_notify came */
/* Handshake duration, from peer_dtls_start to CONNECTED, in ms. */
double peer_dtls_handshake_ms(const struct peer_dtls *d);
/* Handshake datagrams resent after a timeout. */
unsigned peer_dtls_retransmits(const struct peer_dtls *d);

/*
 * The negotiated profile and the keying material of RFC 5764 §4.2 once
 * connected: 2*(key+salt) bytes from the "EXTRACTOR-dtls_srtp" exporter,
 * split as client key, server key, client salt, server salt. Returns 0,
 * or TP_ECLOSED when not connected. Wipe k with peer_srtp_keys_wipe.
 */
int peer_dtls_keys(struct peer_dtls *d, struct peer_srtp_keys *k);

#endif
