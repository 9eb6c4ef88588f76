/* userdb.c - a worker's use of redis-userdb: long-term keys looked up on
 * its own connection into its key cache, with the requests that need them
 * parked (never a blocking wait) and run again when the answer comes; the
 * fleet-wide user-quota decided by a Lua script, the Allocate parked on it
 * likewise; and the invalidations the main thread forwards. Everything
 * here runs on the worker's thread except userdb_invalidate. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/kcache.h"
#include "net/net.h"
#include "net/park.h"
#include "net/udp_int.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/hex.h"
#include "util/ratelimit.h"

#define USERDB_INFLIGHT 1024 /* commands awaiting Redis, per worker */
#define INBOX_MAX 256        /* invalidations queued; more: forget everything */
#define KEY_CAP 1400         /* a key name: realm and a 512-byte user, with room */
#define QUOTA_KEY_SLACK_S 60 /* a quota set outlives its longest allocation by this */

/*
 * One Allocate against the fleet's count (ARGV: quota, lifetime ms, id,
 * key ttl ms): members whose end is past go, then the id is added if the
 * user holds fewer than quota. Redis's clock, so servers' clocks do not
 * matter; a crashed server's members end with their lifetime.
 */
static const char take_lua[] =
	"pcall(redis.replicate_commands)\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	"if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end\n"
	"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"return 1\n";

/* A Refresh (ARGV: lifetime ms, id, key ttl ms): a new end for a member
 * still there. */
static const char refresh_lua[] =
	"pcall(redis.replicate_commands)\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local n = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
	"return n\n";

struct userdb {
	struct worker *w;
	struct store_conn *conn;
	struct auth_kcache *cache;
	struct park *lot;
	struct park_wait *joining; /* where the request being handled parks */
	/* Waits whose answer came, run by ready_cb from the loop: a store
	 * callback may fire inside a caller that is freeing a connection or
	 * filling a reply batch, so it never runs requests itself. */
	struct park_wait *ready, **ready_tail;
	struct event *ready_ev;
	bool closing;
	unsigned quota;      /* user-quota; 0: no fleet count */
	uint64_t set_ttl_ms; /* PEXPIRE of a quota set */
	char take_sha[41];
	/* Invalidations from the main thread. */
	pthread_mutex_t lock;
	struct event *inbox_ev;
	char *inbox[INBOX_MAX];
	unsigned ninbox;
	bool flush;
};

static __thread struct log_ratelimit rl_userdb = LOG_RATELIMIT_INIT(10, 3);

static int sha1_hex(const char *s, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha1(), NULL) != 1 || len != 20)
		return TP_ECRYPTO;
	hex_encode(md, 20, out);
	return 0;
}

/* user-quota decided on this server alone, or across the fleet again:
 * logged once per change, server-wide. */
static void fleet_local(struct userdb *ud, bool local, const char *why)
{
	int want = local, was = !local;

	if (__atomic_compare_exchange_n(&ud->w->srv->fleet_local, &was, want, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		if (local)
			log_warn("user-quota: %s; counting on this server only until Redis "
				 "answers again",
				 why);
		else
			log_info("user-quota: counted across the fleet again");
	}
}

/* ---- running parked requests again ---- */

static void update_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct worker *w = arg;
	(void)c;

	if (status != 0 || r->type == REDIS_REPLY_ERROR)
		STAT_INC(w->stats.fleet_update_errors);
}

/* ZREM of an id the fleet counted for an Allocate that never took it. */
static void quota_drop(struct userdb *ud, const char *user, const uint8_t id[TURN_ALLOC_ID_LEN])
{
	char key[KEY_CAP], idhex[2 * TURN_ALLOC_ID_LEN + 1];

	if (!store_key_quota(key, sizeof(key), ud->w->srv->conf->realm, user))
		return;
	hex_encode(id, TURN_ALLOC_ID_LEN, idhex);
	if (store_conn_cmd(ud->conn, update_cb, ud->w, "ZREM %s %s", key, idhex) != 0)
		STAT_INC(ud->w->stats.fleet_update_errors);
}

/*
 * The answer wt waited for is in (cache filled, or ticket decided): runs
 * every request that waited, in arrival order, and sends their answers. A
 * request may park again (on another lookup). Ends wt.
 */
static void run(struct userdb *ud, struct park_wait *wt)
{
	struct worker *w = ud->w;
	struct udp_io *io = w->io_buf;
	struct turn_ticket *t = wt->kind == PARK_QUOTA ? &wt->ticket : NULL;
	uint8_t out[TURN_MAX_REPLY];
	struct park_req *r;

	park_wait_unlist(ud->lot, wt);
	worker_clock(w);
	while ((r = park_take(ud->lot, wt))) {
		struct turn_from from = {r->tr, (struct sockaddr *)&r->client,
					 (struct sockaddr *)&r->local, r->conn};
		uint8_t *buf = out;
		size_t len;

		if (r->conn) {
			if (r->tr == TP_UDP) {
				if (io->reply.n == UDP_BATCH)
					txq_flush(&io->reply, &w->stats, TP_UDP);
				buf = io->reply_buf[io->reply.n];
			}
			w->ctx.ticket = t;
			len = turn_server_handle(&w->ctx, &from, r->msg, r->len, buf);
			w->ctx.ticket = NULL;
			if (len)
				net_send_client(w, &io->reply, &from, buf, len);
			else if (w->ctx.parked)
				userdb_park(w, &from, r->msg, r->len);
		}
		park_drop_hand(ud->lot);
	}
	udp_flush_peer(w);
	if (io->reply.n)
		txq_flush(&io->reply, &w->stats, TP_UDP);
	/* Counted for an Allocate that did not take it (its client left, or it
	 * failed before the quota step): give it back. */
	if (t && t->verdict == TURN_FLEET_GRANTED && !t->used)
		quota_drop(ud, wt->name, t->id);
	park_wait_free(ud->lot, wt);
}

/* wt's answer is in: its requests run from the loop (ready_cb). */
static void run_later(struct userdb *ud, struct park_wait *wt)
{
	wt->ready_next = NULL;
	*ud->ready_tail = wt;
	ud->ready_tail = &wt->ready_next;
	event_active(ud->ready_ev, EV_TIMEOUT, 0);
}

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct userdb *ud = arg;
	struct park_wait *wt;
	(void)fd;
	(void)what;

	while ((wt = ud->ready)) {
		ud->ready = wt->ready_next;
		if (!ud->ready)
			ud->ready_tail = &ud->ready;
		run(ud, wt);
	}
}

void userdb_park(struct worker *w, const struct turn_from *from, const uint8_t *pkt, size_t len)
{
	struct userdb *ud = w->userdb;

	if (!ud || !ud->joining) {
		STAT_INC(w->stats.park_refused);
		return;
	}
	if (park_hand(ud->lot)) {
		park_put(ud->lot, ud->joining);
		STAT_INC(w->stats.parked);
	} else if (park_add(ud->lot, ud->joining, pkt, len, from) == 0) {
		STAT_INC(w->stats.parked);
	} else {
		STAT_INC(w->stats.park_refused);
	}
	ud->joining = NULL;
}

void userdb_forget_conn(struct worker *w, const void *conn)
{
	if (w->userdb)
		park_cancel(w->userdb->lot, conn);
}

/* ---- long-term keys ---- */

/* A key from a MGET element: absent (nil), or hex of the right length. */
static int key_of(const struct redisReply *e, uint8_t alg, struct auth_key *k, bool *have)
{
	char buf[80];

	*have = false;
	if (e->type == REDIS_REPLY_NIL)
		return 0;
	if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= sizeof(buf))
		return TP_EMALFORMED;
	memcpy(buf, e->str, e->len);
	buf[e->len] = '\0';
	/* Trailing blanks are a common slip of hand-written keys. */
	for (size_t n = e->len;
	     n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\n' || buf[n - 1] == '\r'); n--)
		buf[n - 1] = '\0';
	if (auth_key_from_hex(alg, buf, k) != 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return TP_EMALFORMED;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	*have = true;
	return 0;
}

static void key_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct park_wait *wt = arg;
	struct userdb *ud = wt->owner;
	struct worker *w = ud->w;
	struct auth_key md5, sha;
	bool have_md5 = false, have_sha = false, ok = false;
	/* An invalidation since the lookup went out: the answer may predate
	 * the change; run the requests, which look up again. */
	bool current = wt->gen == auth_kcache_gen(ud->cache);
	(void)c;

	if (ud->closing) {
		park_wait_free(ud->lot, wt);
		return;
	}
	memset(&md5, 0, sizeof(md5));
	memset(&sha, 0, sizeof(sha));
	worker_clock(w);
	if (status == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		ok = key_of(r->element[0], AUTH_ALG_MD5, &md5, &have_md5) == 0 &&
		     key_of(r->element[1], AUTH_ALG_SHA256, &sha, &have_sha) == 0;
		if (!ok)
			log_rl(&rl_userdb, LOG_LVL_WARN,
			       "redis-userdb: a user's key is not hex of the right length; "
			       "the user cannot log in");
	}
	if (ok) {
		if (current)
			auth_kcache_put(ud->cache, wt->name, wt->nlen, have_md5 ? &md5 : NULL,
					have_sha ? &sha : NULL, w->ctx.now_ms);
	} else {
		if (status == TP_ETIMEDOUT)
			STAT_INC(w->stats.userdb_lookup_timeouts);
		else
			STAT_INC(w->stats.userdb_lookup_failed);
		if (current)
			auth_kcache_put_failed(ud->cache, wt->name, wt->nlen, w->ctx.now_ms);
	}
	OPENSSL_cleanse(&md5, sizeof(md5));
	OPENSSL_cleanse(&sha, sizeof(sha));
	run_later(ud, wt);
}

/* The turn_io key_lookup hook. */
/* Whether from may cause one more lookup (redis-lookups-per-source). */
static bool lookup_allowed(struct worker *w, const struct turn_from *from)
{
	struct server *srv = w->srv;
	char ip[ADDR_STRLEN];
	bool ok;

	if (!srv->lookup_rl)
		return true;
	pthread_mutex_lock(&srv->limits_lock);
	ok = ratelimit_take(srv->lookup_rl, from->client, w->ctx.now_ms);
	pthread_mutex_unlock(&srv->limits_lock);
	if (!ok)
		log_rl(&rl_userdb, LOG_LVL_WARN,
		       "redis-userdb: %s asks for more unknown users than "
		       "redis-lookups-per-source allows; dropping those requests",
		       addr_format(from->client, false, ip, sizeof(ip)));
	return ok;
}

static int key_lookup(void *env, const struct turn_from *from, const char *user, size_t ulen,
		      size_t msg_len)
{
	struct worker *w = env;
	struct userdb *ud = w->userdb;
	const struct conf *conf = w->srv->conf;
	char key[KEY_CAP], skey[KEY_CAP];
	struct park_wait *wt;
	const char *part;
	size_t plen;
	uint64_t expiry;
	int rc;

	/* REST names are the secrets' business: never looked up. */
	if (conf->use_auth_secret && auth_rest_split(user, ulen, &expiry, &part, &plen) == 0)
		return TP_ENOTFOUND;
	wt = park_find_key(ud->lot, user, ulen);
	if (wt) {
		/* A lookup for this user is under way: wait for the same answer. */
		if (!park_room(ud->lot, msg_len))
			return TP_EAGAIN;
		ud->joining = wt;
		return 0;
	}
	if (store_conn_state(ud->conn) != STORE_UP)
		return TP_ECLOSED;
	if (!park_room(ud->lot, msg_len))
		return TP_EAGAIN;
	if (!lookup_allowed(w, from))
		return TP_ELIMIT;
	wt = park_wait_new(ud->lot, PARK_KEY, user, ulen);
	if (!wt)
		return ulen >= TURN_USERNAME_MAX || memchr(user, '\0', ulen) ? TP_ENOTFOUND
									     : TP_EAGAIN;
	if (!store_key_user(key, sizeof(key), conf->realm, wt->name) ||
	    !store_key_user_sha256(skey, sizeof(skey), conf->realm, wt->name)) {
		park_wait_free(ud->lot, wt);
		return TP_ENOTFOUND; /* a name no key can hold (control characters) */
	}
	wt->owner = ud;
	wt->gen = auth_kcache_gen(ud->cache);
	rc = store_conn_cmd(ud->conn, key_cb, wt, "MGET %s %s", key, skey);
	if (rc != 0) {
		park_wait_free(ud->lot, wt);
		return rc == TP_ECLOSED ? TP_ECLOSED : TP_EAGAIN;
	}
	STAT_INC(w->stats.userdb_lookups);
	ud->joining = wt;
	return 0;
}

/* ---- fleet-wide user-quota ---- */

static void quota_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg);

static int send_take(struct userdb *ud, struct park_wait *wt)
{
	char key[KEY_CAP], idhex[2 * TURN_ALLOC_ID_LEN + 1];
	unsigned long long life_ms = (unsigned long long)wt->lifetime_s * 1000;
	unsigned long long ttl_ms = (unsigned long long)ud->set_ttl_ms;

	if (!store_key_quota(key, sizeof(key), ud->w->srv->conf->realm, wt->name))
		return TP_EINVAL;
	hex_encode(wt->ticket.id, TURN_ALLOC_ID_LEN, idhex);
	if (wt->retried)
		return store_conn_cmd(ud->conn, quota_cb, wt, "EVAL %s 1 %s %u %llu %s %llu",
				      take_lua, key, ud->quota, life_ms, idhex, ttl_ms);
	return store_conn_cmd(ud->conn, quota_cb, wt, "EVALSHA %s 1 %s %u %llu %s %llu",
			      ud->take_sha, key, ud->quota, life_ms, idhex, ttl_ms);
}

static void quota_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct park_wait *wt = arg;
	struct userdb *ud = wt->owner;
	(void)c;

	if (ud->closing) {
		park_wait_free(ud->lot, wt);
		return;
	}
	/* Redis restarted (or SCRIPT FLUSH): send the script itself, once. */
	if (status == 0 && r->type == REDIS_REPLY_ERROR && !wt->retried && r->len >= 8 &&
	    memcmp(r->str, "NOSCRIPT", 8) == 0) {
		wt->retried = true;
		if (send_take(ud, wt) == 0)
			return;
	}
	if (status == 0 && r->type == REDIS_REPLY_INTEGER) {
		wt->ticket.verdict = r->integer == 1 ? TURN_FLEET_GRANTED : TURN_FLEET_DENIED;
		fleet_local(ud, false, NULL);
	} else {
		wt->ticket.verdict = TURN_FLEET_LOCAL;
		fleet_local(ud, true,
			    status == TP_ETIMEDOUT ? "Redis did not answer in time"
			    : status != 0          ? "the connection to Redis was lost"
						   : "Redis refused the quota script");
	}
	run_later(ud, wt);
}

/* The turn_io quota_take hook. */
static int quota_take(void *env, const struct turn_from *from, const uint8_t txn[12],
		      const char *user, size_t ulen, const uint8_t id[TURN_ALLOC_ID_LEN],
		      uint32_t lifetime_s, size_t msg_len)
{
	struct worker *w = env;
	struct userdb *ud = w->userdb;
	struct park_wait *wt = park_find_ticket(ud->lot, from, txn);
	struct turn_ticket *t;
	int rc;

	if (wt) {
		/* A retransmission of an Allocate waiting for its decision. */
		if (!park_room(ud->lot, msg_len))
			return TP_EAGAIN;
		ud->joining = wt;
		return 0;
	}
	if (store_conn_state(ud->conn) != STORE_UP) {
		fleet_local(ud, true, "Redis is unreachable");
		return TP_ECLOSED;
	}
	if (!park_room(ud->lot, msg_len))
		return TP_EAGAIN;
	wt = park_wait_new(ud->lot, PARK_QUOTA, user, ulen);
	if (!wt)
		return ulen >= TURN_USERNAME_MAX || memchr(user, '\0', ulen) ? TP_EINVAL
									     : TP_EAGAIN;
	wt->owner = ud;
	wt->lifetime_s = lifetime_s;
	t = &wt->ticket;
	t->tr = from->tr;
	memcpy(&t->client, from->client, addr_len(from->client));
	memcpy(&t->local, from->local, addr_len(from->local));
	memcpy(t->txn, txn, sizeof(t->txn));
	memcpy(t->id, id, sizeof(t->id));
	rc = send_take(ud, wt);
	if (rc != 0) {
		park_wait_free(ud->lot, wt);
		return TP_ECLOSED; /* count locally */
	}
	ud->joining = wt;
	return 0;
}

/* The turn_io quota_update hook: fire and forget, failures counted. */
static void quota_update(void *env, const char *user, size_t ulen,
			 const uint8_t id[TURN_ALLOC_ID_LEN], uint32_t lifetime_s)
{
	struct worker *w = env;
	struct userdb *ud = w->userdb;
	char name[TURN_USERNAME_MAX + 1], key[KEY_CAP], idhex[2 * TURN_ALLOC_ID_LEN + 1];
	int rc;

	if (ulen >= sizeof(name) || memchr(user, '\0', ulen))
		return;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	if (!store_key_quota(key, sizeof(key), w->srv->conf->realm, name))
		return;
	hex_encode(id, TURN_ALLOC_ID_LEN, idhex);
	if (lifetime_s == 0) {
		rc = store_conn_cmd(ud->conn, update_cb, w, "ZREM %s %s", key, idhex);
		/* Out before the answer that ends the allocation, so a client
		 * that allocates again at once is counted without it. */
		if (rc == 0)
			store_conn_flush(ud->conn);
	} else
		rc = store_conn_cmd(ud->conn, update_cb, w, "EVAL %s 1 %s %llu %s %llu",
				    refresh_lua, key, (unsigned long long)lifetime_s * 1000, idhex,
				    (unsigned long long)ud->set_ttl_ms);
	if (rc != 0)
		STAT_INC(w->stats.fleet_update_errors);
}

/* ---- invalidations from the main thread ---- */

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct userdb *ud = arg;
	char *names[INBOX_MAX];
	unsigned n;
	bool flush;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&ud->lock);
	n = ud->ninbox;
	memcpy(names, ud->inbox, n * sizeof(names[0]));
	ud->ninbox = 0;
	flush = ud->flush;
	ud->flush = false;
	pthread_mutex_unlock(&ud->lock);
	if (flush)
		auth_kcache_expire_all(ud->cache);
	for (unsigned i = 0; i < n; i++) {
		if (!flush)
			auth_kcache_remove(ud->cache, names[i], strlen(names[i]));
		free(names[i]);
	}
}

void userdb_invalidate(struct worker *w, const char *name)
{
	struct userdb *ud = w->userdb;
	char *copy = NULL;

	if (!ud)
		return;
	if (name && !(copy = strdup(name)))
		name = NULL; /* out of memory: forget everything instead */
	pthread_mutex_lock(&ud->lock);
	if (name && ud->ninbox < INBOX_MAX) {
		ud->inbox[ud->ninbox++] = copy;
		copy = NULL;
	} else {
		ud->flush = true;
	}
	pthread_mutex_unlock(&ud->lock);
	free(copy);
	event_active(ud->inbox_ev, EV_TIMEOUT, 0);
}

/* ---- setup ---- */

int userdb_worker_init(struct worker *w)
{
	const struct conf *c = w->srv->conf;
	struct store_conn_opts o;
	struct userdb *ud;
	char name[40];

	if (!w->srv->userdb || c->no_auth)
		return 0;
	ud = calloc(1, sizeof(*ud));
	if (!ud)
		return TP_ENOMEM;
	pthread_mutex_init(&ud->lock, NULL);
	ud->w = w;
	w->userdb = ud;
	ud->cache = auth_kcache_new(0, 0, 0, 0);
	ud->lot = park_new(0, 0);
	ud->inbox_ev = event_new(w->base, -1, 0, inbox_cb, ud);
	ud->ready_tail = &ud->ready;
	ud->ready_ev = event_new(w->base, -1, 0, ready_cb, ud);
	if (!ud->cache || !ud->lot || !ud->inbox_ev || !ud->ready_ev ||
	    sha1_hex(take_lua, ud->take_sha) != 0)
		return TP_ENOMEM;
	snprintf(name, sizeof(name), "userdb worker %u", w->id);
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.timeout_ms = (unsigned)c->redis_timeout;
	o.max_inflight = USERDB_INFLIGHT;
	ud->conn = store_conn_new(w->base, w->srv->userdb, &o);
	if (!ud->conn)
		return TP_ENOMEM;
	w->ctx.kcache = ud->cache;
	w->io.key_lookup = key_lookup;
	if (c->user_quota > 0) {
		ud->quota = (unsigned)c->user_quota;
		ud->set_ttl_ms = ((uint64_t)c->max_allocate_lifetime + QUOTA_KEY_SLACK_S) * 1000;
		w->io.quota_take = quota_take;
		w->io.quota_update = quota_update;
	}
	return 0;
}

void userdb_worker_cleanup(struct worker *w)
{
	struct userdb *ud = w->userdb;

	if (!ud)
		return;
	/* Removals queued by the allocations' end go out now: the loop will
	 * not run again. */
	store_conn_flush(ud->conn);
	ud->closing = true;
	w->io.key_lookup = NULL;
	w->io.quota_take = NULL;
	w->io.quota_update = NULL;
	w->ctx.kcache = NULL;
	/* Pending lookups end here (TP_ECLOSED); their waits are freed. */
	store_conn_free(ud->conn);
	park_free(ud->lot);
	auth_kcache_free(ud->cache);
	if (ud->inbox_ev)
		event_free(ud->inbox_ev);
	if (ud->ready_ev)
		event_free(ud->ready_ev);
	for (unsigned i = 0; i < ud->ninbox; i++)
		free(ud->inbox[i]);
	pthread_mutex_destroy(&ud->lock);
	free(ud);
	w->userdb = NULL;
}
