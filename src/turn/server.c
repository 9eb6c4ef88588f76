/* server.c - the protocol core's entry: parse, Binding (RFC 8489, RFC 5389
 * §12.2 for classic clients), 420 for unknown comprehension-required
 * attributes, dispatch of TURN methods, 400 for methods we do not serve. */
#include "turn/server.h"

#include "config.h"
#include "turn/turn_int.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"

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

	/* RFC 8489 §14.14: SOFTWARE; classic clients do not know it. */
	if (req->magic && ctx->cfg->software)
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

size_t turn_reply_error(struct turn_ctx *ctx, const struct turn_from *from,
			const struct stun_msg *req, int code, const struct turn_auth *auth,
			uint8_t *out)
{
	struct stun_builder b;
	enum stats_err e = stats_err_index(code);

	if (e != ERR_MAX)
		STAT_INC(ctx->stats->errors[e]);
	if (log_get_level() >= LOG_LVL_DEBUG) {
		char who[ADDR_STRLEN];
		log_debug("%s from %s: error %d", stun_method_name(req->method),
			  addr_format(from->client, true, who, sizeof(who)), code);
	}
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

static size_t reply_binding(struct turn_ctx *ctx, const struct turn_from *from,
			    const struct stun_msg *req, uint8_t *out)
{
	struct stun_builder b;

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
	return turn_reply_finish(ctx, &b, req, NULL);
}

/* CHANGE-REQUEST asking for a change of IP (0x4) or port (0x2). */
static bool wants_other_address(const struct stun_msg *msg)
{
	uint32_t flags;

	return stun_msg_u32(msg, STUN_ATTR_CHANGE_REQUEST, &flags) == 0 && (flags & 0x6) != 0;
}

static bool is_turn_method(uint16_t m)
{
	return m == TURN_ALLOCATE || m == TURN_REFRESH || m == TURN_CREATE_PERMISSION ||
	       m == TURN_CHANNEL_BIND;
}

size_t turn_server_handle(struct turn_ctx *ctx, const struct turn_from *from, const uint8_t *pkt,
			  size_t len, uint8_t *out)
{
	struct stun_msg msg;
	int rc;

	ctx->parked = false;
	ctx->authed = false;
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
	if (msg.method == STUN_BINDING) {
		if (wants_other_address(&msg)) {
			/* RFC 5780 §7.2: without an alternate address we cannot
			 * answer from another IP or port: 420 for CHANGE-REQUEST. */
			msg.unknown[0] = STUN_ATTR_CHANGE_REQUEST;
			msg.nunknown = 1;
			return turn_reply_error(ctx, from, &msg, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL,
						out);
		}
		return reply_binding(ctx, from, &msg, out);
	}
	if (is_turn_method(msg.method) && ctx->cfg->turn && msg.magic)
		return turn_handle_request(ctx, from, &msg, out);
	return turn_reply_error(ctx, from, &msg, STUN_ERR_BAD_REQUEST, NULL, out);
}
