/* media.h - turnpike-peer's media session (issue 12), driven by the ICE
 * agent once a pair is selected: DTLS-SRTP over that pair (dtls.c), then
 * --duration seconds of PCMU RTP both ways protected with SRTP (srtp.c,
 * rtp.c) with RTCP sender/receiver reports (rtcp.c), then BYE and
 * close_notify. Runs on the agent's event base; datagrams go out through
 * the agent's send callback and come in through peer_media_input. */
#ifndef TURNPIKE_PEER_MEDIA_H
#define TURNPIKE_PEER_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "peer/dtls.h"
#include "peer/sdp.h"

struct event_base;
struct peer_media;

struct peer_media_opts {
	unsigned duration_ms;  /* --duration: how long RTP flows; 0 = no media */
	size_t packet_size;    /* --packet-size: payload bytes (0: 160) */
	unsigned bitrate;      /* --bitrate: payload bit/s (0: 64000) */
	unsigned handshake_ms; /* DTLS must be done by then (0: 10 s) */
};

/* The figures of the JSON summary's "dtls", "rtp" and "srtp" objects. */
struct peer_media_summary {
	bool asked;          /* media was on for this call */
	bool connected;      /* DTLS handshake done */
	const char *profile; /* SRTP profile name, NULL before the handshake */
	double handshake_ms;
	bool fingerprint_ok;
	unsigned dtls_retransmits;
	unsigned long sent, received;
	long lost;
	double jitter_ms;
	double rtt_ms; /* mean of the RTCP samples; < 0 when none */
	unsigned rtt_samples;
	unsigned long rtcp_sent, rtcp_received;
	unsigned long auth_failures, replays;
	bool peer_closed; /* the other side's close_notify came */
};

typedef void (*peer_media_done_fn)(void *arg, bool ok, const char *error);

/* A session with a fresh certificate. Returns NULL (err says why) when the
 * options are out of range or the certificate cannot be made. */
struct peer_media *peer_media_new(const struct peer_media_opts *o, struct event_base *base,
				  char *err, size_t errlen);
void peer_media_free(struct peer_media *m); /* NULL is a no-op */

/* Puts this side's a=fingerprint and a=setup (actpass in an offer, active
 * in an answer: RFC 8842) into d, and notes that it offers PCMU. */
void peer_media_describe(const struct peer_media *m, bool offerer, struct sdp_desc *d);

/* Takes the other side's a=fingerprint and a=setup. Returns 0, or
 * TP_EMALFORMED with err filled: no fingerprint (RFC 8122 §5 makes it
 * mandatory), a=setup that leaves no DTLS role, or a chosen section that
 * is not audio or does not list PCMU (payload type 0). */
int peer_media_remote(struct peer_media *m, bool offerer, const struct sdp_desc *d, char *err,
		      size_t errlen);

/*
 * Starts DTLS over the selected pair: datagrams out through send. When the
 * call's media is over (duration elapsed, BYE and close_notify sent) done
 * is called with ok true; on a failure (handshake, fingerprint, SRTP) with
 * ok false and the reason. Returns 0 or a tp_err.
 */
int peer_media_start(struct peer_media *m, peer_dtls_send_fn send, void *send_ctx,
		     peer_media_done_fn done, void *done_arg);

/* One datagram from the selected pair's remote address, first byte 20..63
 * (DTLS) or 128..191 (SRTP/SRTCP, RFC 7983). DTLS before the start is kept
 * (a few datagrams) and read at the start. */
void peer_media_input(struct peer_media *m, const uint8_t *buf, size_t len);

void peer_media_summary(const struct peer_media *m, struct peer_media_summary *s);
/* Writes ', "dtls": {...}, "rtp": {...}, "srtp": {...}' for the JSON. */
void peer_media_summary_write(const struct peer_media_summary *s, FILE *f);

#endif
