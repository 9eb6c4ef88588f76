/* client.h - small blocking STUN and TURN clients for tools and tests: one
 * Binding transaction (binding.c), and a TURN allocation (turn.c), over UDP
 * (with RFC 8489 retransmission), TCP or TLS. */
#ifndef TURNPIKE_CLIENT_CLIENT_H
#define TURNPIKE_CLIENT_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum client_flags {
	CLIENT_TCP = 1 << 0,
	CLIENT_FINGERPRINT = 1 << 1, /* add FINGERPRINT to the request */
	CLIENT_RFC3489 = 1 << 2      /* classic request without the cookie */
};

struct client_binding_result {
	struct sockaddr_storage mapped; /* XOR-MAPPED or MAPPED-ADDRESS */
	bool xor_mapped;                /* came from XOR-MAPPED-ADDRESS */
	bool fingerprint;               /* response carried a valid FINGERPRINT */
	int error_code;                 /* 0 on success, else the ERROR-CODE */
	char software[128];             /* SOFTWARE, escaped, or "" */
	double rtt_ms;
	size_t response_len;
};

/*
 * Runs one Binding transaction with the server. Returns 0 with *res filled
 * (res->error_code set when the server answered with an error), TP_EAGAIN on
 * timeout, TP_ESYS on a socket error, TP_EMALFORMED for an answer that does
 * not parse or lacks the mapped address.
 */
int client_binding(const struct sockaddr *server, int flags, int timeout_ms,
		   struct client_binding_result *res);

/* ------------------------------------------------------------------ */
/* A blocking TURN client (turn.c, RFC 8656): one allocation per object,
 * over UDP (RFC 8489 retransmission) or TCP. Every request answers the
 * 401 challenge with long-term or REST credentials and retries once on
 * 438 with the fresh nonce. Not thread-safe; the object owns its socket. */

struct client_turn;

/* Knobs, mostly for negative tests (client_turn_set_flags). */
enum client_turn_flags {
	CLIENT_TURN_FINGERPRINT = 1 << 0, /* add FINGERPRINT to requests */
	CLIENT_TURN_NO_REALM = 1 << 1,    /* authenticated requests lack REALM */
	CLIENT_TURN_NO_NONCE = 1 << 2,    /* ... lack NONCE */
	CLIENT_TURN_NO_RELEASE = 1 << 3   /* client_turn_free leaves the allocation */
};

/* An attribute added as is (tests: unknown or malformed attributes). */
struct client_turn_attr {
	uint16_t type;
	const void *val;
	size_t len;
};

/* Allocate options; all zero is a plain UDP Allocate. */
struct client_turn_alloc_opts {
	uint32_t lifetime; /* LIFETIME when non-zero */
	uint8_t transport; /* REQUESTED-TRANSPORT protocol; 0 means UDP (17) */
	bool no_transport; /* leave REQUESTED-TRANSPORT out */
	uint8_t family;    /* REQUESTED-ADDRESS-FAMILY: 0 none, 1 IPv4, 2 IPv6 */
	bool even_port;    /* EVEN-PORT, with R = reserve */
	bool reserve;
	bool use_token; /* RESERVATION-TOKEN = token */
	uint64_t token;
	bool dont_fragment; /* DONT-FRAGMENT */
	const struct client_turn_attr *extra;
	size_t nextra;
};

/* The final answer to a request. Addresses have ss_family AF_UNSPEC when
 * absent. */
struct client_turn_result {
	int error_code;                  /* 0 on success, else ERROR-CODE */
	struct sockaddr_storage relayed; /* XOR-RELAYED-ADDRESS */
	struct sockaddr_storage mapped;  /* XOR-MAPPED-ADDRESS */
	bool has_lifetime, has_token;
	uint32_t lifetime;
	uint64_t token;       /* RESERVATION-TOKEN */
	uint16_t unknown[16]; /* UNKNOWN-ATTRIBUTES of a 420 */
	size_t nunknown;
	bool integrity;      /* signed, and the signature verifies */
	bool sha256;         /* ... with MESSAGE-INTEGRITY-SHA256 */
	unsigned challenges; /* 401 challenges answered on the way */
	unsigned stale;      /* 438 answers retried on the way */
};

/* Relayed data received: from a Data indication (channel 0) or ChannelData. */
struct client_turn_data {
	struct sockaddr_storage peer; /* AF_UNSPEC for an unknown channel */
	uint16_t channel;
	size_t len; /* payload bytes copied */
};

/* Opens a socket to server (TCP: connects, blocking). timeout_ms bounds each
 * transaction. Returns 0 with *out (free with client_turn_free), TP_EINVAL,
 * TP_ENOMEM, TP_ESYS, or TP_EAGAIN (connection refused). */
int client_turn_open(struct client_turn **out, const struct sockaddr *server, bool tcp,
		     int timeout_ms);
/* TURN over TLS (RFC 8656 §3.1, turns:) on a TCP client, before any
 * request: the handshake (blocking, within the transaction timeout) with
 * ctx (the caller's choice of verification), sni when not NULL. Requests
 * and data then go through TLS. Returns 0, TP_EINVAL (not TCP, or TLS
 * already), TP_ENOMEM or TP_ECRYPTO (the handshake failed). */
int client_turn_start_tls(struct client_turn *c, SSL_CTX *ctx, const char *sni);
/* The TLS session, or NULL: for a caller that moves data itself. */
SSL *client_turn_ssl(const struct client_turn *c);
/* Releases a live allocation (Refresh LIFETIME 0, one short try; a TCP
 * allocation would also end with its connection, but a server may see the
 * close later), closes, wipes credentials. NULL is a no-op. */
void client_turn_free(struct client_turn *c);

/* Long-term credentials (copied; at most 512 and 255 bytes). Returns 0 or
 * TP_EINVAL. */
int client_turn_set_user(struct client_turn *c, const char *user, const char *password);
/* TURN REST credentials: USERNAME "<expiry>:<user>" (or "<user>:<expiry>"
 * with user_first), password base64(HMAC-SHA1(secret, USERNAME)). */
int client_turn_set_rest(struct client_turn *c, const char *secret, const char *user,
			 long long expiry, bool user_first);
/* Password algorithm (STUN_PWALG_MD5 or _SHA256: SHA-256 is used when the
 * server offered PASSWORD-ALGORITHMS) and USERHASH instead of USERNAME. */
void client_turn_set_alg(struct client_turn *c, uint8_t alg, bool userhash);
void client_turn_set_flags(struct client_turn *c, int flags);

/* The socket (to poll on), and the 438 answers retried in all. */
int client_turn_fd(const struct client_turn *c);
unsigned client_turn_stale_count(const struct client_turn *c);

/*
 * Requests. Each returns 0 with *res holding the final answer
 * (res->error_code 0 or the STUN error), or a negative tp_err: TP_EAGAIN
 * (no answer in time), TP_ESYS, TP_ETRUNC (TCP closed), TP_EMALFORMED (an
 * answer that does not parse), TP_ENOSPC / TP_EINVAL (request too big).
 * opts may be NULL; lifetime < 0 leaves LIFETIME out of a Refresh.
 */
int client_turn_allocate(struct client_turn *c, const struct client_turn_alloc_opts *opts,
			 struct client_turn_result *res);
int client_turn_refresh(struct client_turn *c, long long lifetime, struct client_turn_result *res);
int client_turn_create_permission(struct client_turn *c, const struct sockaddr_storage *peers,
				  size_t npeers, struct client_turn_result *res);
int client_turn_channel_bind(struct client_turn *c, uint16_t chan, const struct sockaddr *peer,
			     struct client_turn_result *res);

/* Data: a Send indication to peer, ChannelData on a bound channel (padded
 * to 4 on TCP). Payloads up to 4000 bytes. Return 0, TP_ENOSPC, TP_ESYS. */
int client_turn_send(struct client_turn *c, const struct sockaddr *peer, const void *data,
		     size_t len);
int client_turn_channel_send(struct client_turn *c, uint16_t chan, const void *data, size_t len);
/* Waits up to timeout_ms for relayed data; copies at most cap bytes of the
 * payload to buf (the rest is cut). Data that arrived while a request waited
 * for its answer comes first (up to 16 datagrams of up to 2048 bytes are
 * kept). Returns 0, TP_EAGAIN, TP_ESYS, TP_ETRUNC, TP_EMALFORMED (broken
 * TCP framing). */
int client_turn_recv(struct client_turn *c, void *buf, size_t cap, int timeout_ms,
		     struct client_turn_data *d);

/* Sends a prebuilt request (retransmitted over UDP like any) and copies the
 * answer with the same transaction id to ans. Returns 0 with *anslen, or a
 * tp_err as above (TP_ENOSPC: answer longer than cap). */
int client_turn_raw(struct client_turn *c, const uint8_t *req, size_t len, uint8_t *ans, size_t cap,
		    size_t *anslen);
/* The last request sent by a request function and its answer (pointers into
 * c, valid until the next call). */
void client_turn_last(const struct client_turn *c, const uint8_t **req, size_t *reqlen,
		      const uint8_t **ans, size_t *anslen);

#endif
