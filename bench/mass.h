/* mass.h - many allocations at once for turnpike-bench: UDP clients that
 * allocate and bind a channel with many transactions in flight (TURN), or
 * ask bench/turnpike-fwd for a relay socket (its one-datagram setup). A
 * few hundred bytes per allocation, so 100,000 fit. */
#ifndef TURNPIKE_BENCH_MASS_H
#define TURNPIKE_BENCH_MASS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define MASS_NONCE_MAX 128
#define MASS_CHANNEL 0x4000 /* each allocation binds its own 0x4000 */

/* turnpike-fwd's setup datagram and answer: magic, then the peer (request)
 * or the relayed address (answer) as family (4 or 6), port, 16-byte IP. */
#define FWD_MAGIC "TPFW"
#define FWD_SETUP_LEN 24

struct mass_alloc {
	int fd; /* connected to the server; -1 when none */
	struct sockaddr_storage relayed;
	uint8_t nonce_len;
	uint8_t nonce[MASS_NONCE_MAX]; /* the last one the server gave */
};

struct mass_cfg {
	const struct sockaddr_storage *server;
	const struct sockaddr_storage *peer; /* the channel's (or the forward's) peer */
	const char *user, *password;
	unsigned window;  /* setups in flight */
	double budget_ms; /* whole setup */
	bool fwd;         /* turnpike-fwd instead of a TURN server */
};

/* Raises RLIMIT_NOFILE (soft, and hard when allowed) to at least want.
 * Returns 0, or -1 when it stays below. */
int mass_nofile(uint64_t want);

/* Sets up n allocations into out[0..n). Returns how many were made (all on
 * success); err says why the first failure happened. */
unsigned mass_setup(const struct mass_cfg *cfg, struct mass_alloc *out, unsigned n, char *err,
		    size_t errcap);

/* Releases (Refresh with LIFETIME 0, not waiting for answers; none for
 * turnpike-fwd) and closes the n allocations. */
void mass_release(const struct mass_cfg *cfg, struct mass_alloc *a, unsigned n);

/* Format of the turnpike-fwd setup: writes FWD_SETUP_LEN bytes. */
void fwd_encode(uint8_t out[FWD_SETUP_LEN], const struct sockaddr *sa);
/* Reads one; returns 0 or -1 when it is not one. */
int fwd_decode(const uint8_t *p, size_t len, struct sockaddr_storage *out);

#endif
