/* turn_int.h - helpers shared by the protocol core's files. */
#ifndef TURNPIKE_TURN_INT_H
#define TURNPIKE_TURN_INT_H

#include "turn/server.h"
#include "turnpike/stun.h"

/* The credentials a request proved, for signing the answer. */
struct turn_auth {
	struct auth_request req;
	struct auth_key key;
	bool ok;
	const struct auth_store *store; /* held for the request (turn_store_get) */
};

/* The credential store for one request: a reference to the current
 * snapshot, or the fixed store; give it back with turn_store_put. */
static inline const struct auth_store *turn_store_get(const struct turn_server_cfg *cfg)
{
	return cfg->creds ? auth_snap_get(cfg->creds) : cfg->store;
}

static inline void turn_store_put(const struct turn_server_cfg *cfg, const struct auth_store *s)
{
	if (cfg->creds)
		auth_snap_put(s);
}

/* The settings a reload replaces (net/reload.c) while workers run: the
 * main thread publishes a new object with a release store and frees the
 * old one only once every worker has passed its tick, so what these
 * return stays valid until the current event returns, and no longer. */
static inline const struct peer_policy *turn_cfg_policy(const struct turn_server_cfg *cfg)
{
	return __atomic_load_n(&cfg->policy, __ATOMIC_ACQUIRE);
}

static inline const struct turn_servers *turn_cfg_servers(const struct turn_servers *const *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Scalars a reload changes: relaxed loads (new requests see the new
 * value; nothing else depends on the order). */
#define TURN_CFG_GET(cfg, field) __atomic_load_n(&(cfg)->field, __ATOMIC_RELAXED)

/* Logs, rate-limited, that a request was refused and why (user NULL or
 * ulen 0: not known). */
void turn_refusal_log(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *req, const char *user, size_t ulen, int code,
		      const char *why);

/* Starts an answer to req of class cls. */
void turn_reply_start(struct stun_builder *b, uint8_t *out, const struct stun_msg *req,
		      uint8_t cls);
/* Closes an answer: SOFTWARE and MESSAGE-INTEGRITY(-SHA256) when auth
 * proved credentials, FINGERPRINT when the request had one. Returns the
 * length or 0. */
size_t turn_reply_finish(struct turn_ctx *ctx, struct stun_builder *b, const struct stun_msg *req,
			 const struct turn_auth *auth);
/* Whether an unsigned answer may go to from now: always but over UDP with
 * unauth-rate-limit on, where a source over its budget is counted
 * (DROP_UNAUTH_RATE), logged rate-limited, and gets nothing. */
bool turn_unauth_allow(struct turn_ctx *ctx, const struct turn_from *from);
/* A whole error answer (counted by code), or 0 when an unsigned one is over
 * the source's budget (turn_unauth_allow). */
size_t turn_reply_error(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *req, int code, const struct turn_auth *auth,
			uint8_t *out);

/* TURN methods (turn.c). */
size_t turn_handle_request(struct turn_ctx *ctx, const struct turn_from *from,
			   const struct stun_msg *msg, uint8_t *out);
void turn_handle_send(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *msg);

/* The peer address attr of a request, checked against a's families and
 * the peer policy (turn.c). Returns 0 or the error code (400, 443, 403). */
int turn_check_peer(struct turn_ctx *ctx, const struct turn_alloc *a, const struct stun_msg *msg,
		    const struct stun_attr *attr, struct sockaddr_storage *peer, bool *self);

/* RFC 6062 (tcprel.c). */
struct turn_tcpconn *turn_tcp_find(const struct turn_ctx *ctx, uint32_t id);
size_t turn_tcp_connect(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *msg, struct turn_alloc *a, struct turn_auth *auth,
			uint8_t *out);
size_t turn_tcp_bind(struct turn_ctx *ctx, const struct turn_from *from, const struct stun_msg *msg,
		     struct turn_tcpconn *tc, struct turn_auth *auth, uint8_t *out);
/* Closes (through io) and frees every peer connection of a. */
void turn_tcp_free_all(struct turn_ctx *ctx, struct turn_alloc *a);
/* Drops peer connections left unbound past their deadline. */
void turn_tcp_expire(struct turn_ctx *ctx);

#endif
