/* tcprel.c - RFC 6062 TCP relay on the core: Connect, ConnectionBind,
 * ConnectionAttempt, the peer data connections of TCP allocations with
 * their connection ids, quotas and the 30-second bind deadline. No
 * sockets: net opens and closes them through turn_io. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turn/turn_int.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/rand.h"

static __thread struct log_ratelimit rl_quota = LOG_RATELIMIT_INIT(10, 3);
static __thread struct log_ratelimit rl_refuse = LOG_RATELIMIT_INIT(10, 3);

struct turn_tcpconn *turn_tcp_find(const struct turn_ctx *ctx, uint32_t id)
{
	for (struct turn_tcpconn *tc = ctx->tcpconns; tc; tc = tc->next)
		if (tc->id == id)
			return tc;
	return NULL;
}

/* A fresh id of this worker's shard, unused here. Returns 0 or TP_ECRYPTO. */
static int new_id(const struct turn_ctx *ctx, uint32_t *id)
{
	uint32_t n = ctx->tcp_nshards ? ctx->tcp_nshards : 1, r;

	for (int i = 0; i < 16; i++) {
		if (rand_bytes(&r, sizeof(r)) != 0)
			return TP_ECRYPTO;
		r = r / n * n;
		if (r > UINT32_MAX - n)
			continue;
		r += ctx->tcp_shard;
		if (r && !turn_tcp_find(ctx, r)) {
			*id = r;
			return 0;
		}
	}
	return TP_ECRYPTO;
}

/* Takes a place under both quotas: TURN_TCP_PER_ALLOC for a, max_tcp_peers
 * for the server. Returns false (logged, rate-limited) when either is full. */
static bool quota_take(struct turn_ctx *ctx, struct turn_alloc *a)
{
	const struct turn_server_cfg *cfg = ctx->cfg;
	char who[ADDR_STRLEN];

	if (a->ntcp >= TURN_TCP_PER_ALLOC) {
		log_rl(&rl_quota, LOG_LVL_WARN,
		       "tcp relay: %s holds %d peer connections on one allocation; another refused",
		       addr_format((struct sockaddr *)&a->client, true, who, sizeof(who)),
		       TURN_TCP_PER_ALLOC);
		return false;
	}
	if (cfg->tcp_peers &&
	    __atomic_add_fetch(cfg->tcp_peers, 1, __ATOMIC_RELAXED) > cfg->max_tcp_peers) {
		__atomic_sub_fetch(cfg->tcp_peers, 1, __ATOMIC_RELAXED);
		log_rl(&rl_quota, LOG_LVL_WARN,
		       "tcp relay: %u peer connections open (max-tcp-connections); one for %s "
		       "refused",
		       cfg->max_tcp_peers,
		       addr_format((struct sockaddr *)&a->client, true, who, sizeof(who)));
		return false;
	}
	a->ntcp++;
	return true;
}

static struct turn_tcpconn *tc_new(struct turn_ctx *ctx, struct turn_alloc *a,
				   const struct sockaddr *peer, enum turn_tcp_state st)
{
	struct turn_tcpconn *tc;

	if (!quota_take(ctx, a))
		return NULL;
	tc = calloc(1, sizeof(*tc));
	if (!tc || new_id(ctx, &tc->id) != 0) {
		free(tc);
		a->ntcp--;
		if (ctx->cfg->tcp_peers)
			__atomic_sub_fetch(ctx->cfg->tcp_peers, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	tc->state = st;
	tc->a = a;
	memcpy(&tc->peer, peer, addr_len(peer));
	tc->deadline_ms = ctx->now_ms + TURN_TCP_BIND_MS;
	tc->next = ctx->tcpconns;
	if (tc->next)
		tc->next->prev = &tc->next;
	tc->prev = &ctx->tcpconns;
	ctx->tcpconns = tc;
	tc->anext = a->tcpconns;
	a->tcpconns = tc;
	return tc;
}

/* Unlinks and frees tc (its sockets are net's business). */
static void tc_free(struct turn_ctx *ctx, struct turn_tcpconn *tc)
{
	struct turn_alloc *a = tc->a;

	for (struct turn_tcpconn **p = &a->tcpconns; *p; p = &(*p)->anext) {
		if (*p == tc) {
			*p = tc->anext;
			break;
		}
	}
	a->ntcp--;
	if (ctx->cfg->tcp_peers)
		__atomic_sub_fetch(ctx->cfg->tcp_peers, 1, __ATOMIC_RELAXED);
	*tc->prev = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	if (ctx->bound == tc)
		ctx->bound = NULL;
	free(tc);
}

void turn_tcp_free_all(struct turn_ctx *ctx, struct turn_alloc *a)
{
	while (a->tcpconns) {
		struct turn_tcpconn *tc = a->tcpconns;
		ctx->io->tcp_close(ctx->io->env, tc);
		tc_free(ctx, tc);
	}
}

void turn_tcp_closed(struct turn_ctx *ctx, struct turn_tcpconn *tc)
{
	tc_free(ctx, tc);
}

void turn_tcp_expire(struct turn_ctx *ctx)
{
	struct turn_tcpconn *tc = ctx->tcpconns, *next;

	for (; tc; tc = next) {
		next = tc->next;
		/* RFC 6062 §5.2, §5.3: no ConnectionBind within 30 s: the
		 * connection to the peer is closed and its id forgotten. */
		if (tc->state == TURN_TCP_PENDING && tc->deadline_ms <= ctx->now_ms) {
			STAT_INC(ctx->stats->tcp_unbound);
			ctx->io->tcp_close(ctx->io->env, tc);
			tc_free(ctx, tc);
		}
	}
}

/* Whether a already has a connection to peer (IP and port). */
static bool has_peer(const struct turn_alloc *a, const struct sockaddr *peer)
{
	for (const struct turn_tcpconn *tc = a->tcpconns; tc; tc = tc->anext)
		if (addr_equal((const struct sockaddr *)&tc->peer, peer))
			return true;
	return false;
}

size_t turn_tcp_connect(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *msg, struct turn_alloc *a, struct turn_auth *auth,
			uint8_t *out)
{
	const struct stun_attr *pa = stun_msg_find(msg, STUN_ATTR_XOR_PEER_ADDRESS);
	struct sockaddr_storage peer;
	struct turn_tcpconn *tc;
	struct stun_builder b;
	size_t len;
	bool self;
	int code;

	/* RFC 6062 §5.2: only on a TCP allocation, with a peer. */
	if (!a->tcp || !pa)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	/* The peer policy exactly as for UDP (0.0.0.0, [::], our ports...). */
	code = turn_check_peer(ctx, a, msg, pa, &peer, &self);
	if (code)
		return turn_reply_error(ctx, from, msg, code, auth, out);
	/* §5.2: one connection per peer address and allocation. */
	if (has_peer(a, (struct sockaddr *)&peer))
		return turn_reply_error(ctx, from, msg, STUN_ERR_CONNECTION_ALREADY_EXISTS, auth,
					out);
	tc = tc_new(ctx, a, (struct sockaddr *)&peer, TURN_TCP_CONNECTING);
	if (!tc)
		return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
	/* Both answers now, while the request's credentials are at hand. */
	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, tc->id);
	len = turn_reply_finish(ctx, &b, msg, auth);
	if (len > TURN_TCP_REPLY)
		len = 0;
	memcpy(tc->reply[0], out, len);
	tc->rlen[0] = (uint16_t)len;
	turn_reply_start(&b, out, msg, STUN_ERROR);
	stun_build_error(&b, STUN_ERR_CONNECTION_TIMEOUT, NULL);
	len = turn_reply_finish(ctx, &b, msg, auth);
	if (len > TURN_TCP_REPLY)
		len = 0;
	memcpy(tc->reply[1], out, len);
	tc->rlen[1] = (uint16_t)len;
	if (!tc->rlen[0] || !tc->rlen[1] || ctx->io->tcp_connect(ctx->io->env, a, tc) != 0) {
		tc_free(ctx, tc);
		return turn_reply_error(ctx, from, msg, STUN_ERR_CONNECTION_TIMEOUT, auth, out);
	}
	STAT_INC(ctx->stats->tcp_connects);
	return 0; /* answered by turn_tcp_connected */
}

size_t turn_tcp_connected(struct turn_ctx *ctx, struct turn_tcpconn *tc, bool ok, uint8_t *out)
{
	size_t len = tc->rlen[ok ? 0 : 1];

	memcpy(out, tc->reply[ok ? 0 : 1], len);
	if (!ok) {
		/* RFC 6062 §5.2: 447 Connection Timeout or Failure. */
		STAT_INC(ctx->stats->tcp_connect_failed);
		tc_free(ctx, tc);
		return len;
	}
	tc->state = TURN_TCP_PENDING;
	tc->deadline_ms = ctx->now_ms + TURN_TCP_BIND_MS;
	return len;
}

struct turn_tcpconn *turn_tcp_incoming(struct turn_ctx *ctx, struct turn_alloc *a,
				       const struct sockaddr *peer, uint8_t *out, size_t *len)
{
	const struct turn_perm *p = turn_perm_find(a, peer, ctx->now_ms);
	struct turn_tcpconn *tc;
	struct stun_builder b;
	uint8_t txn[16];

	*len = 0;
	/* RFC 6062 §5.3: only from a peer the client gave a permission, and
	 * within the peer policy (per port for our own addresses). */
	if (!p || (p->self && policy_check(turn_cfg_policy(ctx->cfg), peer) != POLICY_ALLOW)) {
		char who[ADDR_STRLEN];

		STAT_INC(ctx->stats->drops[DROP_NO_PERMISSION]);
		log_rl(&rl_refuse, LOG_LVL_INFO,
		       "tcp relay: closed a connection from %s to a relayed address: no "
		       "permission for it",
		       addr_format(peer, true, who, sizeof(who)));
		return NULL;
	}
	tc = tc_new(ctx, a, peer, TURN_TCP_PENDING);
	if (!tc)
		return NULL;
	if (stun_txn_new(txn) != 0) {
		tc_free(ctx, tc);
		return NULL;
	}
	stun_build_init(&b, out, TURN_MAX_REPLY, TURN_CONNECTION_ATTEMPT, STUN_INDICATION, txn);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, tc->id);
	if (stun_build_finish(&b, len) != 0) {
		tc_free(ctx, tc);
		*len = 0;
		return NULL;
	}
	STAT_INC(ctx->stats->tcp_attempts);
	return tc;
}

size_t turn_tcp_bind(struct turn_ctx *ctx, const struct turn_from *from, const struct stun_msg *msg,
		     struct turn_tcpconn *tc, struct turn_auth *auth, uint8_t *out)
{
	struct stun_builder b;
	size_t len;

	/* RFC 6062 §5.4: a known id, not yet bound, on a TCP (or TLS)
	 * connection that carries no allocation of its own; else 400. */
	if (!tc || tc->state != TURN_TCP_PENDING || (from->tr != TP_TCP && from->tr != TP_TLS) ||
	    turn_table_find(&ctx->table, from->tr, from->client, from->local))
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	len = turn_reply_finish(ctx, &b, msg, auth);
	if (!len)
		return 0;
	tc->state = TURN_TCP_BOUND;
	ctx->bound = tc;
	STAT_INC(ctx->stats->tcp_bound);
	return len;
}

bool turn_tcp_bind_id(const uint8_t *pkt, size_t len, uint32_t *id)
{
	struct stun_msg msg;

	return stun_msg_parse(&msg, pkt, len) == 0 && msg.cls == STUN_REQUEST &&
	       msg.method == TURN_CONNECTION_BIND &&
	       stun_msg_u32(&msg, STUN_ATTR_CONNECTION_ID, id) == 0;
}
