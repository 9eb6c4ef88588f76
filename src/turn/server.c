/* server.c - the protocol core's entry: parse, Binding (RFC 8489, RFC 5389
 * §12.2 for classic clients), 420 for unknown comprehension-required
 * attributes, dispatch of TURN methods, 400 for methods we do not serve. */
#include "turn/server.h"

#include "config.h"
#include "turn/turn_int.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/ratelimit.h"

#define SOFTWARE_NAME PACKAGE_NAME "/" PACKAGE_VERSION

static void count_drop(struct turn_ctx *ctx, int err)
{
	enum stats_drop why;

	switch (err) {
	case TP_ETRUNC:
		why = DROP_TRUNCATED;
		break;
	case TP_ETOOMANY:
		why = DROP_TOO_MANY_ATTRS;
		break;
	case TP_EFINGERPRINT:
		why = DROP_FINGERPRINT;
		break;
	case TP_ENOTSTUN:
		why = DROP_NOT_STUN;
		break;
	default:
		why = DROP_MALFORMED;
		break;
	}
	STAT_INC(ctx->stats->drops[why]);
}

void turn_reply_start(struct stun_builder *b, uint8_t *out, const struct stun_msg *req, uint8_t cls)
{
	stun_build_init(b, out, TURN_MAX_REPLY, req->method, cls, req->txn);
}

size_t turn_reply_finish(struct turn_ctx *ctx, struct stun_builder *b, const struct stun_msg *req,
			 const struct turn_auth *auth)
{
	size_t len;

	/* RFC 8489 §14.14: SOFTWARE; classic clients do not know it. Only on
	 * signed answers: an unauthenticated source (maybe spoofed, the
	 * victim of a reflection) gets no byte more than it needs, and no
	 * version to aim at. */
	if (req->magic && ctx->cfg->software && auth && auth->ok)
		stun_build_string(b, STUN_ATTR_SOFTWARE, SOFTWARE_NAME);
	if (auth && auth->ok)
		auth_build_integrity(b, &auth->req, &auth->key);
	/* §14.7: FINGERPRINT when the request carried one. */
	if (req->magic && req->fp >= 0)
		stun_build_fingerprint(b);
	if (stun_build_finish(b, &len) != 0)
		return 0;
	return len;
}

void turn_refusal_log(struct turn_ctx *ctx, const struct turn_from *from,
		      const struct stun_msg *req, const char *user, size_t ulen, int code,
		      const char *why)
{
	char who[ADDR_STRLEN], name[3 * TURN_USERNAME_MAX + 1];

	if (!log_rl_take(&ctx->refuse_rl, LOG_LVL_INFO))
		return;
	addr_format(from->client, true, who, sizeof(who));
	if (ulen) {
		log_escape(name, sizeof(name), user, ulen);
		log_info("%s from %s (user \"%s\"): refused, %d: %s", stun_method_name(req->method),
			 who, name, code, why);
	} else {
		log_info("%s from %s: refused, %d: %s", stun_method_name(req->method), who, code,
			 why);
	}
}

bool turn_unauth_allow(struct turn_ctx *ctx, const struct turn_from *from)
{
	char who[ADDR_STRLEN];

	/* TCP, TLS and DTLS sources proved their address in a handshake (a
	 * DTLS cookie exchange): no reflection through them. */
	if (!ctx->unauth_rl || from->tr != TP_UDP)
		return true;
	if (ratelimit_take(ctx->unauth_rl, from->client, ctx->now_ms))
		return true;
	STAT_INC(ctx->stats->drops[DROP_UNAUTH_RATE]);
	if (log_rl_take(&ctx->unauth_log, LOG_LVL_INFO))
		log_info("unauthenticated requests from %s over unauth-rate-limit (%u/s): "
			 "dropped without an answer (a flood, or a reflection attempt with a "
			 "spoofed source)",
			 addr_format(from->client, false, who, sizeof(who)), ctx->cfg->unauth_rate);
	return false;
}

size_t turn_reply_error(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *req, int code, const struct turn_auth *auth,
			uint8_t *out)
{
	struct stun_builder b;
	enum stats_err e = stats_err_index(code);

	/* An unsigned answer goes to a source that proved nothing: within its
	 * budget only, else nothing at all (counted). */
	if (!(auth && auth->ok) && !turn_unauth_allow(ctx, from)) {
		ctx->refusal_logged = false;
		return 0;
	}
	if (e != ERR_MAX)
		STAT_INC(ctx->stats->errors[e]);
	if (log_get_level() >= LOG_LVL_DEBUG) {
		char who[ADDR_STRLEN];
		log_debug("%s from %s: error %d", stun_method_name(req->method),
			  addr_format(from->client, true, who, sizeof(who)), code);
	}
	/* A refusal says why at info, unless the check that refused has
	 * said so, or it is the challenge (401, 438 are logged by the
	 * authentication). */
	if (!ctx->refusal_logged && code != STUN_ERR_UNAUTHORIZED && code != STUN_ERR_STALE_NONCE)
		turn_refusal_log(ctx, from, req, auth ? auth->req.username : NULL,
				 auth ? auth->req.ulen : 0, code, stun_error_reason(code));
	ctx->refusal_logged = false;
	turn_reply_start(&b, out, req, STUN_ERROR);
	stun_build_error(&b, code, NULL);
	if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
		stun_build_unknown(&b, req->unknown, req->nunknown);
	if (code == STUN_ERR_UNAUTHORIZED || code == STUN_ERR_STALE_NONCE) {
		const struct auth_store *s =
			auth && auth->store ? auth->store : turn_store_get(ctx->cfg);
		auth_build_challenge(&b, ctx->cfg->nonce_key, auth_store_realm(s), from->client,
				     ctx->unix_s, ctx->cfg->nonce_lifetime);
		if (!(auth && auth->store))
			turn_store_put(ctx->cfg, s);
	}
	return turn_reply_finish(ctx, &b, req, auth);
}

/* Which of the RFC 5780 addresses local is, or -1 (discovery off, or a
 * listening address outside the set). */
static int nat_index(const struct turn_server_cfg *cfg, const struct sockaddr *local)
{
	if (!cfg->nat || !local)
		return -1;
	for (int i = 0; i < TURN_NAT_ADDRS; i++)
		if (addr_equal(local, (const struct sockaddr *)&cfg->nat_addr[i]))
			return i;
	return -1;
}

/* RFC 5780 §7.2: CHANGE-REQUEST's "change IP" (0x4) and "change port"
 * (0x2) flags as TURN_NAT_* bits; 0 without the attribute. */
static unsigned change_bits(const struct stun_msg *msg)
{
	uint32_t flags;

	if (stun_msg_u32(msg, STUN_ATTR_CHANGE_REQUEST, &flags) != 0)
		return 0;
	return ((flags & 0x4) ? TURN_NAT_IP : 0) | ((flags & 0x2) ? TURN_NAT_PORT : 0);
}

/* The RFC 5780 attributes: where the answer leaves from (§7.3
 * RESPONSE-ORIGIN) and where a change of both IP and port would send it
 * from (§7.4 OTHER-ADDRESS). A classic client gets their RFC 3489 names,
 * SOURCE-ADDRESS and CHANGED-ADDRESS. */
static void build_nat_addrs(struct stun_builder *b, const struct turn_server_cfg *cfg,
			    const struct stun_msg *req, int at, int via)
{
	const struct sockaddr *origin = (const struct sockaddr *)&cfg->nat_addr[via];
	const struct sockaddr *other =
		(const struct sockaddr *)&cfg->nat_addr[at ^ (TURN_NAT_IP | TURN_NAT_PORT)];

	stun_build_addr(b, req->magic ? STUN_ATTR_RESPONSE_ORIGIN : STUN_ATTR_SOURCE_ADDRESS,
			origin);
	stun_build_addr(b, req->magic ? STUN_ATTR_OTHER_ADDRESS : STUN_ATTR_CHANGED_ADDRESS, other);
}

/* A Binding success. at: the RFC 5780 address the request came to, via:
 * the one the answer leaves from (both -1 when discovery does not apply). */
static size_t reply_binding(struct turn_ctx *ctx, const struct turn_from *from,
			    const struct stun_msg *req, int at, int via, uint8_t *out)
{
	struct stun_builder b;

	if (!turn_unauth_allow(ctx, from))
		return 0;
	STAT_INC(ctx->stats->binding[from->tr]);
	turn_reply_start(&b, out, req, STUN_SUCCESS);
	if (req->magic) {
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, from->client);
	} else {
		/* RFC 5389 §12.2: a classic client only knows MAPPED-ADDRESS, and
		 * its "cookie" bytes are part of its transaction id, echoed. */
		STAT_INC(ctx->stats->binding_rfc3489);
		stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, from->client);
	}
	if (at >= 0)
		build_nat_addrs(&b, ctx->cfg, req, at, via);
	return turn_reply_finish(ctx, &b, req, NULL);
}

/*
 * A Binding request. A CHANGE-REQUEST is honoured only over UDP on one of
 * the RFC 5780 addresses: the answer still goes to the request's source
 * (a spoofed source gets the one answer of under 100 bytes any Binding
 * gets, nowhere else), only the address it leaves from changes.
 */
static size_t handle_binding(struct turn_ctx *ctx, const struct turn_from *from,
			     struct stun_msg *msg, uint8_t *out)
{
	unsigned change = change_bits(msg);
	int at = nat_index(ctx->cfg, from->local);

	/* RFC 5780 §6.1: a server without an alternate address answers a
	 * CHANGE-REQUEST with 420. Over TCP there is no other address to
	 * answer from (the answer can only travel back on the connection the
	 * request came on), so it gets 420 too. */
	if (change && (at < 0 || from->tr != TP_UDP))
		msg->unknown[msg->nunknown++] = STUN_ATTR_CHANGE_REQUEST;
	/* RFC 5780 §7.5: RESPONSE-PORT is not supported: an answer goes only
	 * to the address and port the request came from. Comprehension-
	 * required, so 420 (RFC 8489 §6.3.1.1). */
	if (stun_msg_find(msg, STUN_ATTR_RESPONSE_PORT))
		msg->unknown[msg->nunknown++] = STUN_ATTR_RESPONSE_PORT;
	if (msg->nunknown)
		return turn_reply_error(ctx, from, msg, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL, out);
	if (change)
		ctx->reply_via = at ^ (int)change;
	return reply_binding(ctx, from, msg, at, at < 0 ? -1 : at ^ (int)change, out);
}

static bool is_turn_method(uint16_t m)
{
	return m == TURN_ALLOCATE || m == TURN_REFRESH || m == TURN_CREATE_PERMISSION ||
	       m == TURN_CHANNEL_BIND || m == TURN_CONNECT || m == TURN_CONNECTION_BIND;
}

size_t turn_server_handle(struct turn_ctx *ctx, const struct turn_from *from, const uint8_t *pkt,
			  size_t len, uint8_t *out)
{
	struct stun_msg msg;
	int rc;

	ctx->parked = false;
	ctx->authed = false;
	ctx->bound = NULL;
	ctx->reply_via = -1;
	rc = stun_msg_parse(&msg, pkt, len);
	if (rc != 0) {
		count_drop(ctx, rc);
		return 0;
	}
	if (msg.cls == STUN_INDICATION) {
		if (msg.method == TURN_SEND && ctx->cfg->turn && msg.magic)
			turn_handle_send(ctx, from, &msg);
		else if (msg.method != STUN_BINDING) /* Binding: keepalive */
			STAT_INC(ctx->stats->drops[DROP_UNEXPECTED]);
		return 0;
	}
	if (msg.cls != STUN_REQUEST) {
		STAT_INC(ctx->stats->drops[DROP_UNEXPECTED]);
		return 0;
	}
	/* RFC 8489 §6.3.1.1: unknown comprehension-required attributes. */
	if (msg.nunknown) {
		return turn_reply_error(ctx, from, &msg, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL, out);
	}
	if (msg.method == STUN_BINDING)
		return handle_binding(ctx, from, &msg, out);
	if (is_turn_method(msg.method) && ctx->cfg->turn && msg.magic)
		return turn_handle_request(ctx, from, &msg, out);
	return turn_reply_error(ctx, from, &msg, STUN_ERR_BAD_REQUEST, NULL, out);
}
