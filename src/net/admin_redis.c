/* admin_redis.c - turnpikectl sessions and kill across a fleet, through
 * redis-statsdb: turnpikectl publishes one command on STORE_CHANNEL_ADMIN
 * (PUBLISH answers how many servers heard it, so it knows how many answers
 * to wait for); each server runs it through its workers (admin.c) and
 * pushes its answer to the list the command names, which expires. A
 * command channel rather than sessions kept in Redis: nothing is written
 * per allocation, nothing goes stale when a server dies, the listing is
 * live, and a kill's count is exact. Main thread only.
 *
 * A command is one line of text, fields split by one space:
 *   sessions KEY [user HEXUSER]
 *   kill KEY id HEXID | kill KEY user HEXUSER
 * KEY is STORE_ADMIN_REPLY_PREFIX and 32 hex digits; names travel in hex
 * so no byte of theirs can split a field. Anything else is ignored. */
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/log.h"

#define KEY_HEX 32
#define KEY_LEN (sizeof(STORE_ADMIN_REPLY_PREFIX) - 1 + KEY_HEX)
#define INFLIGHT_MAX 16 /* as admin.c's PENDING_MAX: beyond, it refuses anyway */

/* One command waiting for the workers. */
struct cmd {
	struct admin_redis *ar;
	void *handle;
	char key[KEY_LEN + 1];
};

struct admin_redis {
	struct server *srv;
	struct store_conn *sub;  /* SUBSCRIBE STORE_CHANNEL_ADMIN */
	struct store_conn *conn; /* RPUSH, EXPIRE */
	struct cmd *inflight[INFLIGHT_MAX];
	struct log_ratelimit rl;
};

static void pushed_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct admin_redis *ar = arg;
	(void)c;
	(void)r;

	if (status != 0)
		log_rl(&ar->rl, LOG_LVL_WARN, "admin: cannot answer through redis-statsdb: %s",
		       tp_strerror(status));
}

static void forget(struct cmd *k)
{
	struct admin_redis *ar = k->ar;

	for (size_t i = 0; i < INFLIGHT_MAX; i++)
		if (ar->inflight[i] == k)
			ar->inflight[i] = NULL;
	free(k);
}

static void done(void *arg, const char *json, size_t len)
{
	struct cmd *k = arg;
	struct admin_redis *ar = k->ar;

	if (json &&
	    (store_conn_cmd(ar->conn, pushed_cb, ar, "RPUSH %s %b", k->key, json, len) != 0 ||
	     store_conn_cmd(ar->conn, pushed_cb, ar, "EXPIRE %s %d", k->key,
			    STORE_ADMIN_REPLY_TTL_S) != 0))
		log_rl(&ar->rl, LOG_LVL_WARN,
		       "admin: redis-statsdb is away: a command goes "
		       "unanswered");
	forget(k);
}

/* The next field of msg[*pos..len) (up to a space), NUL-terminated into
 * out. Returns false when it is empty or does not fit. */
static bool field(const char *msg, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t n = 0;

	while (*pos < len && msg[*pos] != ' ') {
		if (n + 1 >= cap)
			return false;
		out[n++] = msg[(*pos)++];
	}
	if (*pos < len)
		(*pos)++;
	out[n] = '\0';
	return n > 0;
}

static bool key_ok(const char *key)
{
	size_t plen = sizeof(STORE_ADMIN_REPLY_PREFIX) - 1;
	uint8_t raw[KEY_HEX / 2];

	return strlen(key) == KEY_LEN && !strncmp(key, STORE_ADMIN_REPLY_PREFIX, plen) &&
	       hex_decode(key + plen, raw, sizeof(raw));
}

static void on_message(void *arg, const char *channel, const char *msg, size_t len)
{
	struct admin_redis *ar = arg;
	char op[16], key[KEY_LEN + 2], what[8], hex[2 * TURN_USERNAME_MAX + 2];
	char user[TURN_USERNAME_MAX + 1];
	uint8_t id[TURN_ALLOC_ID_LEN];
	bool by_id = false, by_user = false;
	size_t pos = 0, slot, hl;
	struct cmd *k;
	(void)channel;

	if (!field(msg, len, &pos, op, sizeof(op)) || !field(msg, len, &pos, key, sizeof(key)) ||
	    !key_ok(key) || (strcmp(op, "sessions") != 0 && strcmp(op, "kill") != 0))
		goto bad;
	if (field(msg, len, &pos, what, sizeof(what))) {
		if (!field(msg, len, &pos, hex, sizeof(hex)) || pos < len)
			goto bad;
		hl = strlen(hex);
		if (!strcmp(what, "id") && hl == 2 * sizeof(id) && hex_decode(hex, id, sizeof(id)))
			by_id = true;
		else if (!strcmp(what, "user") && hl % 2 == 0 &&
			 hex_decode(hex, (uint8_t *)user, hl / 2) && !memchr(user, 0, hl / 2))
			by_user = true;
		else
			goto bad;
		user[by_user ? hl / 2 : 0] = '\0';
	}
	if (!strcmp(op, "kill") && !by_id && !by_user)
		goto bad;
	for (slot = 0; slot < INFLIGHT_MAX && ar->inflight[slot]; slot++)
		;
	if (slot == INFLIGHT_MAX || !(k = calloc(1, sizeof(*k)))) {
		log_rl(&ar->rl, LOG_LVL_WARN, "admin: too many commands from redis at once");
		return;
	}
	k->ar = ar;
	memcpy(k->key, key, KEY_LEN + 1);
	if (!strcmp(op, "kill"))
		k->handle = admin_kill(ar->srv, by_id ? id : NULL, by_user ? user : NULL, done, k);
	else
		k->handle = admin_sessions(ar->srv, by_user ? user : NULL, done, k);
	if (!k->handle) {
		log_rl(&ar->rl, LOG_LVL_WARN, "admin: cannot take a command from redis now");
		free(k);
		return;
	}
	ar->inflight[slot] = k;
	log_debug("admin: %s from redis-statsdb", op);
	return;
bad:
	log_rl(&ar->rl, LOG_LVL_WARN, "admin: ignored a malformed command on %s",
	       STORE_CHANNEL_ADMIN);
}

int admin_redis_start(struct server *srv, struct event_base *base)
{
	const char *channels[1] = {STORE_CHANNEL_ADMIN};
	struct store_conn_opts o;
	struct admin_redis *ar;

	if (!srv->statsdb)
		return 0;
	ar = calloc(1, sizeof(*ar));
	if (!ar)
		return TP_ENOMEM;
	srv->admin_redis = ar;
	ar->srv = srv;
	ar->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 3);
	memset(&o, 0, sizeof(o));
	o.name = "statsdb admin";
	o.timeout_ms = (unsigned)srv->conf->redis_timeout;
	ar->conn = store_conn_new(base, srv->statsdb, &o);
	o.name = "statsdb admin commands";
	o.channels = channels;
	o.nchannels = 1;
	o.on_message = on_message;
	o.arg = ar;
	ar->sub = store_conn_new(base, srv->statsdb, &o);
	return ar->conn && ar->sub ? 0 : TP_ENOMEM;
}

void admin_redis_stop(struct server *srv)
{
	struct admin_redis *ar = srv->admin_redis;

	if (!ar)
		return;
	for (size_t i = 0; i < INFLIGHT_MAX; i++) {
		if (ar->inflight[i]) {
			admin_cancel(srv, ar->inflight[i]->handle);
			free(ar->inflight[i]);
		}
	}
	store_conn_free(ar->sub);
	store_conn_free(ar->conn);
	free(ar);
	srv->admin_redis = NULL;
}
