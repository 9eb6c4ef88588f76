/* turn.c - TURN (RFC 8656) requests on the core: authentication of every
 * request, Allocate, Refresh, CreatePermission, ChannelBind, and the Send
 * indication. */
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "auth/kcache.h"
#include "turn/quota.h"
#include "turn/turn_int.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/policy.h"
#include "util/rand.h"
#include "util/ratelimit.h"
#include "util/log.h"

/* Sources one worker keeps a token bucket for (unauth-rate-limit): 4096
 * slots of 32 bytes, 128 KiB per worker whatever the crowd. */
#define UNAUTH_RL_SLOTS 4096

#define PROTO_UDP 17
#define PROTO_TCP 6
#define TURN_PARKED 1  /* not a STUN code: the request waits for the store */
#define TURN_DROPPED 2 /* not a STUN code: no answer at all (counted) */

int turn_ctx_init(struct turn_ctx *ctx, const struct turn_server_cfg *cfg, struct turn_stats *stats,
		  const struct turn_io *io)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->stats = stats;
	ctx->io = io;
	ctx->reply_via = -1;
	ctx->refuse_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 20);
	if (rand_bytes(&ctx->ind_txn, sizeof(ctx->ind_txn)) != 0)
		return TP_ECRYPTO;
	ctx->ind_txn |= 1; /* xorshift state must not be zero */
	turn_bucket_init(&ctx->capacity, TURN_CFG_GET(cfg, worker_bps), 0);
	ctx->unauth_log = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 1);
	if (cfg->unauth_rate &&
	    !(ctx->unauth_rl = ratelimit_new(
		      cfg->unauth_share ? cfg->unauth_share : cfg->unauth_rate, UNAUTH_RL_SLOTS)))
		return TP_ENOMEM;
	return turn_table_init(&ctx->table);
}

/* Tells the network layer (events) about a moment in a's life. */
static void emit(struct turn_ctx *ctx, struct turn_alloc *a, enum turn_event ev)
{
	if (ctx->io && ctx->io->event)
		ctx->io->event(ctx->io->env, a, ev);
}

static void alloc_free(struct turn_ctx *ctx, struct turn_alloc *a)
{
	turn_table_remove(&ctx->table, a);
	/* RFC 6062: its peer data connections end with it. */
	turn_tcp_free_all(ctx, a);
	ctx->io->relay_close(ctx->io->env, a);
	if (ctx->cfg->quota) {
		turn_quota_give(ctx->cfg->quota, a->username + a->quota_off, a->quota_len);
		turn_quota_source_give(ctx->cfg->quota, (const struct sockaddr *)&a->client);
	}
	if (a->fleet && ctx->io->quota_update)
		ctx->io->quota_update(ctx->io->env, a->username + a->quota_off, a->quota_len, a->id,
				      0);
	STAT_DEC(ctx->stats->alloc_active[a->transport]);
	STAT_DEC(ctx->stats->alloc_active_family[STATS_FAMILY(a->relayed.ss_family)]);
	stats_observe_lifetime(ctx->stats, ctx->now_ms - a->created_ms);
	turn_alloc_cleanup(a);
	OPENSSL_cleanse(&a->key, sizeof(a->key));
	free(a);
}

void turn_ctx_cleanup(struct turn_ctx *ctx)
{
	struct turn_alloc *a;

	ratelimit_free(ctx->unauth_rl);
	ctx->unauth_rl = NULL;
	if (!ctx->table.buckets)
		return;
	while ((a = turn_table_first(&ctx->table))) {
		emit(ctx, a, TURN_EV_SHUTDOWN);
		alloc_free(ctx, a);
	}
	turn_table_cleanup(&ctx->table);
}

void turn_alloc_release(struct turn_ctx *ctx, struct turn_alloc *a)
{
	emit(ctx, a, TURN_EV_CLOSED);
	alloc_free(ctx, a);
}

void turn_alloc_kill(struct turn_ctx *ctx, struct turn_alloc *a)
{
	STAT_INC(ctx->stats->alloc_killed);
	emit(ctx, a, TURN_EV_ADMIN);
	alloc_free(ctx, a);
}

void turn_ctx_expire(struct turn_ctx *ctx)
{
	struct turn_alloc *a;

	while ((a = turn_table_expired(&ctx->table, ctx->now_ms))) {
		STAT_INC(ctx->stats->alloc_expired);
		emit(ctx, a, TURN_EV_EXPIRED);
		alloc_free(ctx, a);
	}
	turn_tcp_expire(ctx);
}

/* The allocation on this 5-tuple. RFC 8656 §7: one whose lifetime has ended
 * is gone even if the 1-second tick has not reaped it yet (a late tick must
 * not let a request refresh it, nor make a new Allocate get 437). */
static struct turn_alloc *find(struct turn_ctx *ctx, const struct turn_from *from)
{
	struct turn_alloc *a = turn_table_find(&ctx->table, from->tr, from->client, from->local);

	if (a && a->expiry_ms <= ctx->now_ms) {
		STAT_INC(ctx->stats->alloc_expired);
		emit(ctx, a, TURN_EV_EXPIRED);
		alloc_free(ctx, a);
		return NULL;
	}
	return a;
}

/* ---- authentication (RFC 8489 §9.2.4, RFC 8656 §5) ---- */

/* Counts a failed authentication and, but for the challenge every client
 * gets first, logs why with the user name (never the key or the MAC). */
static int auth_fail(struct turn_ctx *ctx, const struct turn_from *from, const struct stun_msg *msg,
		     const struct turn_auth *auth, enum stats_auth why, int code)
{
	static const char *const reason[AUTHR_MAX] = {
		[AUTHR_BAD_REQUEST] = "credentials incomplete or inconsistent",
		[AUTHR_STALE_NONCE] = "stale nonce",
		[AUTHR_UNKNOWN_USER] = "unknown user",
		[AUTHR_EXPIRED] = "REST credential expired",
		[AUTHR_BAD_INTEGRITY] = "bad password",
		[AUTHR_WRONG_USER] = "not the allocation's credentials",
	};

	STAT_INC(ctx->stats->auth[why]);
	if (reason[why]) {
		turn_refusal_log(ctx, from, msg, auth->req.username, auth->req.ulen, code,
				 reason[why]);
		ctx->refusal_logged = true;
	}
	return code;
}

/*
 * The key of a long-term user kept in the shared store (Redis): from the
 * worker's cache, or, on a miss, a lookup the request is parked on. Returns
 * 0 with *key (len 0: the user has none for this algorithm), TURN_PARKED,
 * TURN_DROPPED, or the error code to answer (401, 500 after a failed lookup, 508).
 */
static int store_key(struct turn_ctx *ctx, const struct turn_from *from, const struct stun_msg *msg,
		     const struct turn_alloc *a, const struct auth_request *req,
		     struct auth_key *key)
{
	enum auth_kc kc =
		auth_kcache_get(ctx->kcache, req->username, req->ulen, req->alg, ctx->now_ms, key);
	int rc;

	switch (kc) {
	case AUTH_KC_FOUND:
		return 0;
	case AUTH_KC_NONE:
		return STUN_ERR_UNAUTHORIZED;
	case AUTH_KC_FAILED:
		return STUN_ERR_SERVER_ERROR;
	default:
		break;
	}
	/* A ConnectionBind cannot wait for the store: it must become a data
	 * connection where it stands. It proves the key of its allocation,
	 * which authenticated a moment ago (RFC 6062 §5.4). */
	if (msg->method == TURN_CONNECTION_BIND && a && a->ulen == req->ulen &&
	    memcmp(a->username, req->username, a->ulen) == 0 && a->key.alg == req->alg &&
	    a->key.len) {
		*key = a->key;
		return 0;
	}
	rc = ctx->io->key_lookup
		     ? ctx->io->key_lookup(ctx->io->env, from, req->username, req->ulen, msg->len)
		     : TP_ECLOSED;
	if (rc != TP_ECLOSED) /* stale keys are kept only for the outage case */
		OPENSSL_cleanse(key, sizeof(*key));
	if (rc == 0) {
		ctx->parked = true;
		return TURN_PARKED;
	}
	if (rc == TP_EAGAIN) {
		STAT_INC(ctx->stats->park_refused);
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	}
	if (rc == TP_ELIMIT) {
		/* No answer: an answer would make the flood worth its while. */
		STAT_INC(ctx->stats->drops[DROP_LOOKUP_RATE]);
		return TURN_DROPPED;
	}
	if (rc != TP_ECLOSED)
		return STUN_ERR_UNAUTHORIZED;
	/* The store is away: keys known from before carry on, the cached
	 * ones or, for requests on an allocation, the allocation's own. */
	if (kc == AUTH_KC_STALE && key->len) {
		STAT_INC(ctx->stats->userdb_stale);
		return 0;
	}
	if (a && a->ulen == req->ulen && memcmp(a->username, req->username, a->ulen) == 0 &&
	    a->key.alg == req->alg && a->key.len) {
		*key = a->key;
		STAT_INC(ctx->stats->userdb_stale);
		return 0;
	}
	/* Not known from before: whether the user exists is the store's to
	 * say, and it cannot. 500 (try again later, RFC 8489 §14.8), not 401,
	 * which a client reads as a wrong password. */
	return STUN_ERR_SERVER_ERROR;
}

/* Whether the store may know the user: not one of the configuration's (under
 * any algorithm) nor a REST name the configured secrets cover. */
static bool store_may_know(const struct turn_ctx *ctx, const struct auth_store *store,
			   const struct auth_request *req)
{
	const char *qu;
	size_t n, ql;

	if (!ctx->kcache || req->used_userhash)
		return false;
	return req->alg == AUTH_ALG_MD5 ||
	       auth_store_keys(store, req->username, req->ulen, AUTH_ALG_MD5, ctx->unix_s, NULL, 0,
			       &n, &qu, &ql) == AUTH_LOOKUP_UNKNOWN;
}

/*
 * Returns 0 with auth filled (auth->ok false under no-auth), TURN_PARKED,
 * or the error code to answer. For requests on an allocation, the
 * credentials must be the allocation's own (441 otherwise).
 */
static int authenticate(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *msg, const struct turn_alloc *a,
			struct turn_auth *auth, const char **quota_user, size_t *quota_len)
{
	const struct turn_server_cfg *cfg = ctx->cfg;
	const struct auth_store *store = auth->store;
	struct auth_key keys[AUTH_MAX_KEYS];
	enum auth_lookup found;
	size_t n = 0;
	int rc, idx;

	memset(auth, 0, sizeof(*auth));
	auth->store = store;
	if (cfg->no_auth)
		return 0;
	rc = auth_request_check(msg, cfg->nonce_key, store, from->client, ctx->unix_s, &auth->req);
	/* RFC 6062 §5.4: a ConnectionBind comes on a new connection from the
	 * client's next port, with the nonce the control connection got
	 * (coturn's client does so): that one is good too. */
	if (rc == STUN_ERR_STALE_NONCE && a && msg->method == TURN_CONNECTION_BIND)
		rc = auth_request_check(msg, cfg->nonce_key, store,
					(const struct sockaddr *)&a->client, ctx->unix_s,
					&auth->req);
	switch (rc) {
	case 0:
		break;
	case STUN_ERR_BAD_REQUEST:
		return auth_fail(ctx, from, msg, auth, AUTHR_BAD_REQUEST, rc);
	case STUN_ERR_STALE_NONCE:
		return auth_fail(ctx, from, msg, auth, AUTHR_STALE_NONCE, rc);
	default:
		if (msg->mi < 0 && msg->mi256 < 0)
			return auth_fail(ctx, from, msg, auth, AUTHR_CHALLENGE, rc);
		return auth_fail(ctx, from, msg, auth, AUTHR_UNKNOWN_USER, rc);
	}
	if (auth->req.ulen >= TURN_USERNAME_MAX)
		return auth_fail(ctx, from, msg, auth, AUTHR_BAD_REQUEST, STUN_ERR_BAD_REQUEST);
	found = auth_store_keys(store, auth->req.username, auth->req.ulen, auth->req.alg,
				ctx->unix_s, keys, AUTH_MAX_KEYS, &n, quota_user, quota_len);
	if (found == AUTH_LOOKUP_UNKNOWN && store_may_know(ctx, store, &auth->req)) {
		rc = store_key(ctx, from, msg, a, &auth->req, &keys[0]);
		if (rc == STUN_ERR_UNAUTHORIZED)
			return auth_fail(ctx, from, msg, auth, AUTHR_UNKNOWN_USER, rc);
		if (rc)
			return rc;
		if (keys[0].len) {
			found = AUTH_LOOKUP_FOUND;
			n = 1;
		}
	}
	if (found == AUTH_LOOKUP_EXPIRED)
		return auth_fail(ctx, from, msg, auth, AUTHR_EXPIRED, STUN_ERR_UNAUTHORIZED);
	if (found != AUTH_LOOKUP_FOUND || n == 0)
		return auth_fail(ctx, from, msg, auth, AUTHR_UNKNOWN_USER, STUN_ERR_UNAUTHORIZED);
	idx = auth_request_verify(msg, &auth->req, keys, n);
	if (idx >= 0)
		auth->key = keys[idx];
	OPENSSL_cleanse(keys, sizeof(keys));
	if (idx < 0)
		return auth_fail(ctx, from, msg, auth, AUTHR_BAD_INTEGRITY, STUN_ERR_UNAUTHORIZED);
	auth->ok = true;
	/* RFC 8656 §5: later requests use the allocation's credentials. */
	if (a &&
	    (a->ulen != auth->req.ulen || memcmp(a->username, auth->req.username, a->ulen) != 0))
		return auth_fail(ctx, from, msg, auth, AUTHR_WRONG_USER,
				 STUN_ERR_WRONG_CREDENTIALS);
	STAT_INC(ctx->stats->auth[AUTHR_OK]);
	return 0;
}

/* ---- helpers ---- */

static uint32_t lifetime_of(const struct turn_ctx *ctx, const struct stun_msg *msg, bool allocate)
{
	uint32_t req;

	if (stun_msg_u32(msg, STUN_ATTR_LIFETIME, &req) != 0)
		return ctx->cfg->default_lifetime;
	if (req == 0 && !allocate)
		return 0; /* a Refresh that deletes */
	if (req > ctx->cfg->max_lifetime)
		req = ctx->cfg->max_lifetime;
	/* RFC 8656 §7.2: an Allocate gets at least the default lifetime. */
	if (allocate && req < ctx->cfg->default_lifetime)
		req = ctx->cfg->default_lifetime;
	return req;
}

static int family_of(uint8_t code)
{
	return code == 0x01 ? AF_INET : code == 0x02 ? AF_INET6 : AF_UNSPEC;
}

static bool family_served(const struct turn_ctx *ctx, int family)
{
	return family == AF_INET ? ctx->cfg->relay_v4 : family == AF_INET6 && ctx->cfg->relay_v6;
}

/* Checks a peer address from the request against the relay's family and
 * the peer policy. Returns 0 or the error code (400, 443, 403). */
int turn_check_peer(struct turn_ctx *ctx, const struct turn_alloc *a, const struct stun_msg *msg,
		    const struct stun_attr *attr, struct sockaddr_storage *peer, bool *self)
{
	/* One load: both answers from the same policy, even across a reload. */
	const struct peer_policy *pol = turn_cfg_policy(ctx->cfg);
	enum policy_verdict v;

	if (stun_attr_get_xor_addr(msg, attr, peer) != 0)
		return STUN_ERR_BAD_REQUEST;
	/* RFC 8656 §9.1, §11.2: the peer must be of the relay's family. */
	if (!turn_alloc_has_family(a, peer->ss_family))
		return STUN_ERR_PEER_ADDRESS_FAMILY;
	v = policy_check(pol, (struct sockaddr *)peer);
	if (v != POLICY_ALLOW) {
		STAT_INC(ctx->stats->policy_denied[v]);
		if (log_rl_take(&ctx->refuse_rl, LOG_LVL_INFO)) {
			char who[ADDR_STRLEN], user[3 * TURN_USERNAME_MAX + 1], p[ADDR_STRLEN];

			log_escape(user, sizeof(user), a->username, a->ulen);
			log_info(
				"%s from %s (user \"%s\"): peer %s refused by the peer policy (%s)",
				stun_method_name(msg->method),
				addr_format((const struct sockaddr *)&a->client, true, who,
					    sizeof(who)),
				user, addr_format((struct sockaddr *)peer, true, p, sizeof(p)),
				policy_verdict_name(v));
		}
		ctx->refusal_logged = true;
		return STUN_ERR_FORBIDDEN;
	}
	*self = policy_is_self(pol, (struct sockaddr *)peer);
	return 0;
}

static void cache_reply(struct turn_alloc *a, const struct stun_msg *msg, const uint8_t *out,
			size_t len)
{
	memcpy(a->last_txn, msg->txn + 4, 12);
	if (len <= sizeof(a->last_reply)) {
		memcpy(a->last_reply, out, len);
		a->last_len = (uint16_t)len;
	} else {
		a->last_len = 0;
	}
}

/* ---- fleet-wide user-quota ---- */

static bool ticket_is_for(const struct turn_ticket *t, const struct turn_from *from,
			  const struct stun_msg *msg)
{
	return t->tr == from->tr && memcmp(t->txn, msg->txn + 4, sizeof(t->txn)) == 0 &&
	       addr_equal((const struct sockaddr *)&t->client, from->client) &&
	       addr_equal((const struct sockaddr *)&t->local, from->local);
}

/*
 * user-quota counted across every server sharing the store, when the
 * network layer offers it (RFC 8656 §7.2 leaves quotas to the server).
 * Writes the new allocation's id. Returns 0 (*fleet: counted fleet-wide,
 * give it back with fleet_give if the Allocate fails), TURN_PARKED while
 * the store decides, or the error code (486, 508, 500).
 */
static int fleet_take(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *msg, bool authed, const char *user, size_t ulen,
		      uint32_t lifetime, uint8_t id[TURN_ALLOC_ID_LEN], bool *fleet)
{
	struct turn_ticket *t = ctx->ticket;
	int rc;

	*fleet = false;
	/* The request run again with the store's decision. */
	if (t && !t->used && ticket_is_for(t, from, msg)) {
		t->used = true;
		switch (t->verdict) {
		case TURN_FLEET_GRANTED:
			memcpy(id, t->id, TURN_ALLOC_ID_LEN);
			*fleet = true;
			STAT_INC(ctx->stats->fleet_granted);
			return 0;
		case TURN_FLEET_DENIED:
			STAT_INC(ctx->stats->fleet_denied);
			STAT_INC(ctx->stats->quota_user);
			return STUN_ERR_QUOTA_REACHED;
		default:
			STAT_INC(ctx->stats->fleet_fallback);
			return rand_bytes(id, TURN_ALLOC_ID_LEN) ? STUN_ERR_SERVER_ERROR : 0;
		}
	}
	if (rand_bytes(id, TURN_ALLOC_ID_LEN) != 0)
		return STUN_ERR_SERVER_ERROR;
	if (!authed || !ctx->io->quota_take)
		return 0;
	rc = ctx->io->quota_take(ctx->io->env, from, msg->txn + 4, user, ulen, id, lifetime,
				 msg->len);
	if (rc == 0) {
		ctx->parked = true;
		return TURN_PARKED;
	}
	if (rc == TP_EAGAIN) {
		STAT_INC(ctx->stats->park_refused);
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	}
	/* The store is away: the local count decides. */
	STAT_INC(ctx->stats->fleet_fallback);
	return 0;
}

static void fleet_give(struct turn_ctx *ctx, const char *user, size_t ulen,
		       const uint8_t id[TURN_ALLOC_ID_LEN], bool fleet)
{
	if (fleet && ctx->io->quota_update)
		ctx->io->quota_update(ctx->io->env, user, ulen, id, 0);
}

/* ---- Allocate (RFC 8656 §7.2) ---- */

/*
 * Counts the new allocation under the local quotas: its client's source,
 * its user, the server's total (RFC 8656 §7.2 leaves quotas to the server).
 * Returns 0, TP_ELIMIT (source-quota: 486), TP_ETOOMANY (user-quota: 486),
 * or TP_EAGAIN / TP_ENOMEM (total-quota, memory: 508); each refusal
 * counted by quota and logged with its reason, rate-limited.
 */
static int quota_take(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *msg, const struct turn_auth *auth, const char *user,
		      size_t ulen)
{
	const char *uname = auth->ok ? auth->req.username : NULL;
	size_t unlen = auth->ok ? auth->req.ulen : 0;
	int rc = turn_quota_source_take(ctx->cfg->quota, from->client);

	if (rc == 0) {
		rc = turn_quota_take(ctx->cfg->quota, user, ulen);
		if (rc != 0)
			turn_quota_source_give(ctx->cfg->quota, from->client);
	}
	switch (rc) {
	case 0:
		return 0;
	case TP_ELIMIT:
		STAT_INC(ctx->stats->quota_source);
		turn_refusal_log(ctx, from, msg, uname, unlen, STUN_ERR_QUOTA_REACHED,
				 "source-quota reached (allocations from this address)");
		break;
	case TP_ETOOMANY:
		STAT_INC(ctx->stats->quota_user);
		turn_refusal_log(ctx, from, msg, uname, unlen, STUN_ERR_QUOTA_REACHED,
				 "user-quota reached (allocations of this user)");
		break;
	default:
		STAT_INC(ctx->stats->quota_total);
		turn_refusal_log(ctx, from, msg, uname, unlen, STUN_ERR_INSUFFICIENT_CAPACITY,
				 rc == TP_EAGAIN
					 ? "total-quota reached (allocations on this server)"
					 : "out of memory for the quota");
		break;
	}
	ctx->refusal_logged = true;
	return rc;
}

/* A dual allocation's IPv6 relay (ADDITIONAL-ADDRESS-FAMILY), once the
 * IPv4 one is open. Returns 0, or the code for ADDRESS-ERROR-CODE: 440
 * without IPv6 relay addresses, 508 without a port (the IPv4 allocation
 * stands either way). */
static int open_dual(struct turn_ctx *ctx, struct turn_alloc *a, const struct stun_msg *msg)
{
	if (!family_served(ctx, AF_INET6))
		return STUN_ERR_ADDRESS_FAMILY;
	a->dual = calloc(1, sizeof(*a->dual));
	if (!a->dual)
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	if (ctx->io->relay_open(ctx->io->env, a, AF_INET6,
				stun_msg_find(msg, STUN_ATTR_DONT_FRAGMENT), false, false, NULL,
				false) != 0) {
		free(a->dual);
		a->dual = NULL;
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	}
	return 0;
}

/*
 * 300 Try Alternate (RFC 8489 §10) naming the next server of list in
 * ALTERNATE-SERVER, of the same family as the request's source (§14.15).
 * Only after authentication, so the answer is signed (§10: a client only
 * follows a redirect it can trust). Returns 0 when list has none of that
 * family.
 */
static size_t try_alternate(struct turn_ctx *ctx, const struct turn_from *from,
			    const struct stun_msg *msg, const struct turn_auth *auth,
			    const struct turn_servers *list, uint8_t *out)
{
	struct stun_builder b;

	if (!list)
		return 0;
	for (size_t i = 0; i < list->n; i++) {
		const struct sockaddr *sa =
			(const struct sockaddr *)&list->v[(ctx->alt_rr + i) % list->n];

		if (sa->sa_family != from->client->sa_family)
			continue;
		ctx->alt_rr = (unsigned)((ctx->alt_rr + i + 1) % list->n);
		STAT_INC(ctx->stats->errors[ERR_300]);
		turn_reply_start(&b, out, msg, STUN_ERROR);
		stun_build_error(&b, STUN_ERR_TRY_ALTERNATE, NULL);
		stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER, sa);
		return turn_reply_finish(ctx, &b, msg, auth);
	}
	return 0;
}

/* The answer to an Allocate this server cannot take (508): 300 to the
 * least loaded server of the fleet, else to an overflow-server of the
 * family. */
static size_t cannot_take(struct turn_ctx *ctx, const struct turn_from *from,
			  const struct stun_msg *msg, const struct turn_auth *auth, uint8_t *out)
{
	struct sockaddr_storage other;
	size_t len = 0;

	if (ctx->io->overflow_pick &&
	    ctx->io->overflow_pick(ctx->io->env, from->client->sa_family, &other) == 0) {
		const struct turn_servers one = {&other, 1};
		len = try_alternate(ctx, from, msg, auth, &one, out);
	}
	if (!len)
		len = try_alternate(ctx, from, msg, auth, turn_cfg_servers(&ctx->cfg->overflow),
				    out);

	return len ? len
		   : turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
}

static size_t handle_allocate(struct turn_ctx *ctx, const struct turn_from *from,
			      const struct stun_msg *msg, struct turn_auth *auth,
			      const char *quota_user, size_t quota_len, uint8_t *out)
{
	const struct stun_attr *rtr, *rt, *ep, *raf, *aaf;
	struct turn_alloc *a = find(ctx, from);
	struct stun_builder b;
	uint8_t proto, fam = 0x01, extra = 0, id[TURN_ALLOC_ID_LEN];
	bool reserve = false, fleet;
	uint64_t token = 0;
	uint32_t lifetime;
	int family = AF_INET, code, rc, dual_err;
	size_t len;

	if (a) {
		/* A retransmission gets the same answer; anything else 437. */
		if (a->last_len && memcmp(a->last_txn, msg->txn + 4, 12) == 0) {
			memcpy(out, a->last_reply, a->last_len);
			return a->last_len;
		}
		return turn_reply_error(ctx, from, msg, STUN_ERR_ALLOCATION_MISMATCH, auth, out);
	}
	/* Redirection mode: every new allocation goes elsewhere. */
	if ((len = try_alternate(ctx, from, msg, auth, turn_cfg_servers(&ctx->cfg->alternate),
				 out)))
		return len;
	/* Draining before a stop: existing allocations go on, new ones are
	 * refused so clients pick another server (RFC 8656 §7.2: 508). */
	if (__atomic_load_n(&ctx->cfg->draining, __ATOMIC_RELAXED))
		return cannot_take(ctx, from, msg, auth, out);
	rtr = stun_msg_find(msg, STUN_ATTR_REQUESTED_TRANSPORT);
	if (!rtr || stun_attr_get_transport(msg, rtr, &proto) != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	/* RFC 6062 §5.1: TCP relays for clients on TCP (or TLS) only; the
	 * operator may turn either kind of relay off (coturn's no-udp-relay,
	 * no-tcp-relay). */
	if ((proto == PROTO_UDP && ctx->cfg->no_udp_relay) ||
	    (proto == PROTO_TCP && ctx->cfg->no_tcp_relay) ||
	    (proto != PROTO_UDP && (proto != PROTO_TCP || !ctx->io->tcp_connect ||
				    (from->tr != TP_TCP && from->tr != TP_TLS))))
		return turn_reply_error(ctx, from, msg, STUN_ERR_UNSUPPORTED_TRANSPORT, auth, out);
	rt = stun_msg_find(msg, STUN_ATTR_RESERVATION_TOKEN);
	ep = stun_msg_find(msg, STUN_ATTR_EVEN_PORT);
	raf = stun_msg_find(msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	aaf = stun_msg_find(msg, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	/* §5.1: EVEN-PORT, RESERVATION-TOKEN and DONT-FRAGMENT mean nothing
	 * for TCP: 400. A dual TCP allocation is not offered either. */
	if (proto == PROTO_TCP && (rt || ep || aaf || stun_msg_find(msg, STUN_ATTR_DONT_FRAGMENT)))
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	/* A token names a held port: it goes with neither EVEN-PORT nor a
	 * family request; the two family attributes exclude each other. */
	if ((rt && (ep || raf || aaf)) || (raf && aaf))
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	if (raf) {
		if (stun_attr_get_family(msg, raf, &fam) != 0)
			return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
		family = family_of(fam);
		if (!family_served(ctx, family))
			return turn_reply_error(ctx, from, msg, STUN_ERR_ADDRESS_FAMILY, auth, out);
	} else if (!rt && !family_served(ctx, AF_INET)) {
		return turn_reply_error(ctx, from, msg, STUN_ERR_ADDRESS_FAMILY, auth, out);
	}
	if (aaf) {
		/* Only IPv6 may be asked for in addition (RFC 8656 §7.2). */
		if (stun_attr_get_family(msg, aaf, &extra) != 0 || extra != 0x02)
			return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	}
	if (ep && stun_attr_get_even_port(msg, ep, &reserve) != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	/* RFC 8656 §7.2 step 8: a port pair is reserved in one family only,
	 * so EVEN-PORT with R set goes with no ADDITIONAL-ADDRESS-FAMILY. */
	if (aaf && reserve)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	if (rt && stun_attr_get_u64(msg, rt, &token) != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	lifetime = lifetime_of(ctx, msg, true);

	if (!auth->ok) {
		/* no-auth: all clients share one anonymous user for user-quota. */
		quota_user = "";
		quota_len = 0;
	}
	code = fleet_take(ctx, from, msg, auth->ok, quota_user, quota_len, lifetime, id, &fleet);
	if (code == TURN_PARKED)
		return 0;
	if (code)
		return turn_reply_error(ctx, from, msg, code, auth, out);
	if (ctx->cfg->quota) {
		rc = quota_take(ctx, from, msg, auth, quota_user, quota_len);
		if (rc != 0)
			fleet_give(ctx, quota_user, quota_len, id, fleet);
		if (rc == TP_ETOOMANY || rc == TP_ELIMIT)
			return turn_reply_error(ctx, from, msg, STUN_ERR_QUOTA_REACHED, auth, out);
		if (rc != 0)
			return cannot_take(ctx, from, msg, auth, out);
	}
	a = turn_alloc_new(auth->ok ? auth->req.ulen : 0);
	if (!a) {
		code = STUN_ERR_INSUFFICIENT_CAPACITY;
		goto fail_quota;
	}
	memcpy(a->id, id, sizeof(a->id));
	memcpy(&a->client, from->client, addr_len(from->client));
	memcpy(&a->local, from->local, addr_len(from->local));
	a->transport = from->tr;
	a->conn = from->conn;
	a->created_ms = ctx->now_ms;
	a->expiry_ms = ctx->now_ms + (uint64_t)lifetime * 1000;
	if (auth->ok) {
		memcpy(a->username, auth->req.username, auth->req.ulen);
		a->ulen = (uint16_t)auth->req.ulen;
		if (quota_user >= auth->req.username &&
		    quota_user + quota_len <= auth->req.username + auth->req.ulen) {
			a->quota_off = (uint16_t)(quota_user - auth->req.username);
			a->quota_len = (uint16_t)quota_len;
		} else {
			a->quota_off = 0;
			a->quota_len = a->ulen;
		}
		a->key = auth->key;
	}
	turn_bucket_init(&a->bucket_up, TURN_CFG_GET(ctx->cfg, max_bps), ctx->now_ms);
	turn_bucket_init(&a->bucket_down, TURN_CFG_GET(ctx->cfg, max_bps), ctx->now_ms);
	a->fleet = fleet;
	a->tcp = proto == PROTO_TCP;
	rc = ctx->io->relay_open(ctx->io->env, a, family,
				 stun_msg_find(msg, STUN_ATTR_DONT_FRAGMENT), ep != NULL, reserve,
				 &token, rt != NULL);
	if (rc != 0) {
		log_debug("relay socket: %s", tp_strerror(rc));
		if (rc == TP_EAGAIN)
			STAT_INC(ctx->stats->relay_ports_exhausted);
		code = STUN_ERR_INSUFFICIENT_CAPACITY;
		goto fail_alloc;
	}
	dual_err = aaf ? open_dual(ctx, a, msg) : 0;
	if (turn_table_insert(&ctx->table, a) != 0) {
		ctx->io->relay_close(ctx->io->env, a);
		code = STUN_ERR_INSUFFICIENT_CAPACITY;
		goto fail_alloc;
	}
	STAT_INC(ctx->stats->alloc_created[a->transport]);
	STAT_INC(ctx->stats->alloc_active[a->transport]);
	STAT_INC(ctx->stats->alloc_active_family[STATS_FAMILY(a->relayed.ss_family)]);
	emit(ctx, a, TURN_EV_CREATED);

	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, (struct sockaddr *)&a->relayed);
	if (a->dual)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
				    (struct sockaddr *)&a->dual->relayed);
	else if (aaf)
		stun_build_address_error(&b, extra, dual_err, NULL);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
	if (reserve)
		stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, token);
	stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, from->client);
	len = turn_reply_finish(ctx, &b, msg, auth);
	cache_reply(a, msg, out, len);
	return len;

fail_alloc:
	turn_alloc_cleanup(a);
	OPENSSL_cleanse(&a->key, sizeof(a->key));
	free(a);
fail_quota:
	if (ctx->cfg->quota) {
		turn_quota_give(ctx->cfg->quota, quota_user, quota_len);
		turn_quota_source_give(ctx->cfg->quota, from->client);
	}
	fleet_give(ctx, quota_user, quota_len, id, fleet);
	if (code == STUN_ERR_INSUFFICIENT_CAPACITY)
		return cannot_take(ctx, from, msg, auth, out);
	return turn_reply_error(ctx, from, msg, code, auth, out);
}

/* ---- Refresh (RFC 8656 §8) ---- */

static size_t handle_refresh(struct turn_ctx *ctx, const struct turn_from *from,
			     const struct stun_msg *msg, struct turn_alloc *a,
			     struct turn_auth *auth, uint8_t *out)
{
	const struct stun_attr *raf = stun_msg_find(msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	struct stun_builder b;
	uint32_t lifetime;
	uint8_t fam;
	size_t len;

	if (raf && (stun_attr_get_family(msg, raf, &fam) != 0 ||
		    !turn_alloc_has_family(a, family_of(fam))))
		return turn_reply_error(ctx, from, msg, STUN_ERR_PEER_ADDRESS_FAMILY, auth, out);
	lifetime = lifetime_of(ctx, msg, false);
	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
	len = turn_reply_finish(ctx, &b, msg, auth);
	if (lifetime == 0) {
		STAT_INC(ctx->stats->alloc_deleted);
		emit(ctx, a, TURN_EV_DELETED);
		alloc_free(ctx, a);
	} else {
		a->expiry_ms = ctx->now_ms + (uint64_t)lifetime * 1000;
		turn_table_reschedule(&ctx->table, a);
		if (a->fleet && ctx->io->quota_update)
			ctx->io->quota_update(ctx->io->env, a->username + a->quota_off,
					      a->quota_len, a->id, lifetime);
		emit(ctx, a, TURN_EV_REFRESHED);
	}
	return len;
}

/* ---- CreatePermission (RFC 8656 §9) ---- */

/* Whether n more permissions fit under max-permissions: peers that already
 * hold a live one, or repeat an earlier peer's IP, need no room. */
static bool perms_fit(const struct turn_ctx *ctx, const struct turn_alloc *a,
		      const struct sockaddr_storage *peers, size_t n)
{
	size_t live = 0, fresh = 0;

	for (uint16_t i = 0; i < a->nperms; i++)
		if (a->perms[i].expiry_ms > ctx->now_ms)
			live++;
	for (size_t i = 0; i < n; i++) {
		bool seen = turn_perm_find(a, (const struct sockaddr *)&peers[i], ctx->now_ms);
		for (size_t j = 0; j < i && !seen; j++)
			seen = addr_equal_ip((const struct sockaddr *)&peers[j],
					     (const struct sockaddr *)&peers[i]);
		if (!seen)
			fresh++;
	}
	return live + fresh <= TURN_CFG_GET(ctx->cfg, max_perms);
}

static size_t handle_permission(struct turn_ctx *ctx, const struct turn_from *from,
				const struct stun_msg *msg, struct turn_alloc *a,
				struct turn_auth *auth, uint8_t *out)
{
	struct sockaddr_storage peers[STUN_MAX_ATTRS];
	bool self[STUN_MAX_ATTRS];
	struct stun_builder b;
	size_t n = 0;
	int code;

	/* All or nothing: check every peer before installing any. */
	for (unsigned i = 0; i < msg->nattrs; i++) {
		if (msg->attrs[i].type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		code = turn_check_peer(ctx, a, msg, &msg->attrs[i], &peers[n], &self[n]);
		if (code)
			return turn_reply_error(ctx, from, msg, code, auth, out);
		n++;
	}
	if (n == 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	/* §9.2: install only when the whole request can be carried out. */
	if (!perms_fit(ctx, a, peers, n))
		return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
	for (size_t i = 0; i < n; i++) {
		if (turn_perm_add(a, (struct sockaddr *)&peers[i], ctx->now_ms,
				  TURN_CFG_GET(ctx->cfg, max_perms), self[i]) != 0)
			return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY,
						auth, out);
		STAT_INC(ctx->stats->perms_created);
	}
	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	return turn_reply_finish(ctx, &b, msg, auth);
}

/* ---- ChannelBind (RFC 8656 §11) ---- */

static size_t handle_channel_bind(struct turn_ctx *ctx, const struct turn_from *from,
				  const struct stun_msg *msg, struct turn_alloc *a,
				  struct turn_auth *auth, uint8_t *out)
{
	const struct stun_attr *cn = stun_msg_find(msg, STUN_ATTR_CHANNEL_NUMBER);
	const struct stun_attr *pa = stun_msg_find(msg, STUN_ATTR_XOR_PEER_ADDRESS);
	struct sockaddr_storage peer;
	struct stun_builder b;
	uint16_t num;
	bool self;
	int code, rc;

	/* RFC 6062 §5.1: a TCP allocation has no channels. */
	if (!cn || !pa || a->tcp || stun_attr_get_channel(msg, cn, &num) != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	code = turn_check_peer(ctx, a, msg, pa, &peer, &self);
	if (code)
		return turn_reply_error(ctx, from, msg, code, auth, out);
	/* A bind refused for want of a permission must not hold the channel. */
	if (!perms_fit(ctx, a, &peer, 1))
		return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
	rc = turn_chan_bind(a, num, (struct sockaddr *)&peer, ctx->now_ms,
			    TURN_CFG_GET(ctx->cfg, max_chans));
	if (rc == TP_EINVAL)
		return turn_reply_error(ctx, from, msg, STUN_ERR_BAD_REQUEST, auth, out);
	if (rc != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
	/* §11.2: binding a channel installs or refreshes the permission. */
	if (turn_perm_add(a, (struct sockaddr *)&peer, ctx->now_ms,
			  TURN_CFG_GET(ctx->cfg, max_perms), self) != 0)
		return turn_reply_error(ctx, from, msg, STUN_ERR_INSUFFICIENT_CAPACITY, auth, out);
	STAT_INC(ctx->stats->chans_bound);
	turn_reply_start(&b, out, msg, STUN_SUCCESS);
	return turn_reply_finish(ctx, &b, msg, auth);
}

size_t turn_handle_request(struct turn_ctx *ctx, const struct turn_from *from,
			   const struct stun_msg *msg, uint8_t *out)
{
	struct turn_alloc *a = NULL;
	struct turn_tcpconn *tc = NULL;
	struct turn_auth auth;
	uint32_t cid;
	const char *quota_user = NULL;
	size_t quota_len = 0, len;
	int code;

	ctx->bound = NULL;
	if (msg->method == TURN_CONNECTION_BIND) {
		/* RFC 6062 §5.4: on a new connection; the credentials must be
		 * those of the allocation the id belongs to (441 otherwise). */
		if (stun_msg_u32(msg, STUN_ATTR_CONNECTION_ID, &cid) == 0)
			tc = turn_tcp_find(ctx, cid);
		if (tc && tc->a->expiry_ms > ctx->now_ms)
			a = tc->a;
		else
			tc = NULL;
	} else if (msg->method != TURN_ALLOCATE) {
		a = find(ctx, from);
	}
	/* Held to the end: auth.req and quota_user may point into it. */
	auth.store = turn_store_get(ctx->cfg);
	code = authenticate(ctx, from, msg, a, &auth, &quota_user, &quota_len);
	if (code == TURN_PARKED || code == TURN_DROPPED) {
		len = 0;
		goto out;
	}
	ctx->authed = code == 0;
	if (code) {
		/* Failed credentials never sign the answer. */
		auth.ok = false;
		len = turn_reply_error(ctx, from, msg, code, &auth, out);
		goto out;
	}
	switch (msg->method) {
	case TURN_ALLOCATE:
		len = handle_allocate(ctx, from, msg, &auth, quota_user, quota_len, out);
		break;
	case TURN_CONNECTION_BIND:
		len = turn_tcp_bind(ctx, from, msg, tc, &auth, out);
		break;
	default:
		if (!a) {
			len = turn_reply_error(ctx, from, msg, STUN_ERR_ALLOCATION_MISMATCH, &auth,
					       out);
			break;
		}
		if (msg->method == TURN_REFRESH)
			len = handle_refresh(ctx, from, msg, a, &auth, out);
		else if (msg->method == TURN_CREATE_PERMISSION)
			len = handle_permission(ctx, from, msg, a, &auth, out);
		else if (msg->method == TURN_CONNECT)
			len = turn_tcp_connect(ctx, from, msg, a, &auth, out);
		else
			len = handle_channel_bind(ctx, from, msg, a, &auth, out);
		break;
	}
out:
	OPENSSL_cleanse(&auth.key, sizeof(auth.key));
	turn_store_put(ctx->cfg, auth.store);
	return len;
}
