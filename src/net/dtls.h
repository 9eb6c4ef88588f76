/* dtls.h - TURN over DTLS (RFC 7350) on UDP at tls-listening-port. */
#ifndef TURNPIKE_NET_DTLS_H
#define TURNPIKE_NET_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

struct dtls_sess;

/* Whether DTLS is served: cert and pkey set, no-dtls not. */
bool dtls_enabled(const struct conf *c);
/* A DTLS 1.2 server context: tls_ctx_common's set-up and the stateless
 * cookie callbacks. NULL on failure (logged in one line). */
struct ssl_ctx_st *dtls_ctx_new(const struct conf *c);
/* server_new: when DTLS is on, draws the cookie secret, builds srv->dtls
 * (freed by tls_cleanup) and checks the UDP ports are free. Returns 0,
 * TP_ECRYPTO, TP_ENOMEM or TP_ESYS (logged). */
int dtls_setup(struct server *srv);
/* server_free, after the workers: frees what dtls_setup made but the
 * context. */
void dtls_cleanup(void);
/* The worker's sockets on tls-listening-port and its sessions (none when
 * DTLS is off). cleanup closes every session: after turn_ctx_cleanup. */
int dtls_worker_init(struct worker *w);
void dtls_worker_cleanup(struct worker *w);
/* How many DTLS sockets the worker listens on. */
size_t dtls_worker_listeners(const struct worker *w);
/* Sends msg to the session's client, encrypted, in one datagram; dropped
 * (counted) when the session cannot take it. */
void dtls_send_client(struct dtls_sess *s, const uint8_t *msg, size_t len);

#endif
