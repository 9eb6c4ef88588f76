/* redis.c - the server's use of Redis: REST secrets loaded on the main
 * thread into new credential snapshots the workers pick up, changes of
 * long-term users forwarded from the main thread to every worker's key
 * cache (userdb.c), and allocation events each worker publishes on its own
 * connection, with interim traffic events walked out of its tick. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>
#include <openssl/crypto.h>

#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/log.h"

#define EVENT_INFLIGHT 4096      /* events awaiting Redis's answer, per worker */
#define INTERIM_MAX_BUCKETS 4096 /* table buckets walked per tick, at most */

static struct store_addr *parse(const char *name, const char *spec)
{
	struct store_addr *a = calloc(1, sizeof(*a));
	char err[160];

	if (!a)
		return NULL;
	if (store_addr_parse(spec, a, err, sizeof(err)) != 0) {
		log_err("%s: %s", name, err);
		free(a);
		return NULL;
	}
	return a;
}

int redis_setup(struct server *srv)
{
	const struct conf *c = srv->conf;

	if (gethostname(srv->hostname, sizeof(srv->hostname) - 1) != 0)
		srv->hostname[0] = '\0';
	if (c->redis_userdb && !(srv->userdb = parse("redis-userdb", c->redis_userdb)))
		return TP_ECONFIG;
	if (c->redis_statsdb) {
		if (!(srv->statsdb = parse("redis-statsdb", c->redis_statsdb)))
			return TP_ECONFIG;
	} else if (srv->userdb) {
		if (!(srv->statsdb = malloc(sizeof(*srv->statsdb))))
			return TP_ENOMEM;
		*srv->statsdb = *srv->userdb;
	}
	return 0;
}

/* Wipes and frees the kept copy of the secrets from Redis. */
static void kept_free(struct server *srv)
{
	for (size_t i = 0; i < srv->nredis_secrets; i++) {
		OPENSSL_cleanse(srv->redis_secrets[i], strlen(srv->redis_secrets[i]));
		free(srv->redis_secrets[i]);
	}
	free(srv->redis_secrets);
	srv->redis_secrets = NULL;
	srv->nredis_secrets = 0;
}

/* Keeps a copy of secrets for reloads. Returns 0 or TP_ENOMEM (the
 * previous copy stays). */
static int kept_set(struct server *srv, const char *const *secrets, size_t n)
{
	char **v = n ? calloc(n, sizeof(*v)) : NULL;

	if (n && !v)
		return TP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i] = strdup(secrets[i]))) {
			while (i--) {
				OPENSSL_cleanse(v[i], strlen(v[i]));
				free(v[i]);
			}
			free(v);
			return TP_ENOMEM;
		}
	}
	kept_free(srv);
	srv->redis_secrets = v;
	srv->nredis_secrets = n;
	return 0;
}

struct auth_store *redis_auth_store(struct server *srv)
{
	return setup_auth_store(srv->conf, (const char *const *)srv->redis_secrets,
				srv->nredis_secrets);
}

void redis_cleanup(struct server *srv)
{
	steer_stop(srv);
	store_secrets_free(srv->secrets);
	srv->secrets = NULL;
	kept_free(srv);
	free(srv->api_keys);
	srv->api_keys = NULL;
	srv->napi_keys = 0;
	store_conn_free(srv->user_sub);
	srv->user_sub = NULL;
	if (srv->userdb)
		store_addr_wipe(srv->userdb);
	if (srv->statsdb)
		store_addr_wipe(srv->statsdb);
	free(srv->userdb);
	free(srv->statsdb);
	srv->userdb = srv->statsdb = NULL;
}

/* ---- secrets (main thread) ---- */

static void secrets_changed(void *arg, const char *const *secrets, size_t n)
{
	struct server *srv = arg;
	struct auth_store *s = setup_auth_store(srv->conf, secrets, n);

	if (!s || kept_set(srv, secrets, n) != 0) {
		auth_store_free(s);
		log_err("redis: cannot build the new credentials; the previous ones stay");
		return;
	}
	srv->store = s;
	auth_snap_set(srv->creds, s);
	log_info("credentials replaced: %zu REST secrets in use (%zu from redis)",
		 auth_store_nsecrets(s), n);
}

_Static_assert(STORE_API_KEY_LEN == sizeof(*((struct server *)0)->api_keys), "digest size");

/* Read by the HTTP server on this same thread (http.c key_ok). */
static void api_keys_changed(void *arg, const uint8_t (*digests)[STORE_API_KEY_LEN], size_t n)
{
	struct server *srv = arg;
	uint8_t(*v)[32] = NULL;

	if (n && !(v = malloc(n * sizeof(*v)))) {
		log_err("redis: out of memory for the API keys; the previous ones stay");
		return;
	}
	if (n)
		memcpy(v, digests, n * sizeof(*v));
	free(srv->api_keys);
	srv->api_keys = v;
	srv->napi_keys = n;
}

/* ---- long-term users (main thread: changes to the workers) ---- */

/* turnpikectl announces a user's key name on turnpike:invalidate. */
static void user_changed(void *arg, const char *channel, const char *msg, size_t len)
{
	struct server *srv = arg;
	char name[TURN_USERNAME_MAX + 1];
	(void)channel;

	if (!store_key_user_name(msg, len, srv->conf->realm, name, sizeof(name)))
		return;
	for (size_t i = 0; i < srv->nworkers; i++)
		userdb_invalidate(&srv->workers[i], name);
}

/* (Re)subscribed: changes made meanwhile were not heard, so every cached
 * key is asked for again (and used meanwhile only if Redis cannot answer). */
static void user_sub_state(void *arg, enum store_state st)
{
	struct server *srv = arg;

	if (st != STORE_UP)
		return;
	for (size_t i = 0; i < srv->nworkers; i++)
		userdb_invalidate(&srv->workers[i], NULL);
}

/* Besides turnpikectl's announcements, keyevent notifications name every
 * key set, deleted or expired in the database, so a key written by other
 * tools (coturn's turnadmin, redis-cli) is seen at once when the Redis has
 * notify-keyspace-events with E and g$x; user_changed ignores other keys. */
static const char *const user_events[] = {"set", "del", "expired"};

static int users_start(struct server *srv, struct event_base *base)
{
	char ev[3][64];
	const char *channels[4] = {STORE_CHANNEL_INVALIDATE};
	struct store_conn_opts o;

	if (srv->conf->no_auth)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (!store_channel_keyevent(ev[i], sizeof(ev[i]), srv->userdb->db, user_events[i]))
			return TP_EINVAL;
		channels[i + 1] = ev[i];
	}
	memset(&o, 0, sizeof(o));
	o.name = "userdb invalidations";
	o.channels = channels;
	o.nchannels = 4;
	o.on_message = user_changed;
	o.on_state = user_sub_state;
	o.arg = srv;
	srv->user_sub = store_conn_new(base, srv->userdb, &o);
	return srv->user_sub ? 0 : TP_ENOMEM;
}

int server_redis_start(struct server *srv, struct event_base *base)
{
	const struct conf *c = srv->conf;

	if (steer_start(srv, base) != 0)
		return TP_ENOMEM;
	if (!srv->userdb)
		return 0;
	if (users_start(srv, base) != 0)
		return TP_ENOMEM;
	if (!c->use_auth_secret) {
		log_info("redis-userdb: REST secrets are not read (use-auth-secret is off)");
		return 0;
	}
	srv->secrets = store_secrets_new(base, srv->userdb, c->realm, (unsigned)c->redis_refresh,
					 (unsigned)c->redis_timeout, secrets_changed, srv);
	if (!srv->secrets)
		return TP_ENOMEM;
	store_secrets_on_api_keys(srv->secrets, api_keys_changed, srv);
	return 0;
}

/* ---- events (workers) ---- */

static void published_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct worker *w = arg;
	(void)c;

	if (status == 0 && r->type == REDIS_REPLY_INTEGER)
		STAT_INC(w->stats.events_published);
	else
		STAT_INC(w->stats.events_dropped);
}

void redis_event_publish(struct worker *w, const struct store_event *ev)
{
	char json[STORE_EVENT_MAX];
	size_t len = store_event_json(ev, json, sizeof(json));

	/* Redis away or slow: dropped and counted, never queued without bound. */
	if (len == 0 || store_conn_cmd(w->events, published_cb, w, "PUBLISH %s %b",
				       STORE_CHANNEL_EVENTS, json, len) != 0)
		STAT_INC(w->stats.events_dropped);
}

int redis_worker_init(struct worker *w)
{
	const struct conf *c = w->srv->conf;
	struct store_conn_opts o;
	char name[32];

	if (userdb_worker_init(w) != 0)
		return TP_ENOMEM;
	if (!w->srv->statsdb)
		return 0;
	snprintf(name, sizeof(name), "statsdb worker %u", w->id);
	memset(&o, 0, sizeof(o));
	o.name = name;
	o.timeout_ms = (unsigned)c->redis_timeout;
	o.max_inflight = EVENT_INFLIGHT;
	w->events = store_conn_new(w->base, w->srv->statsdb, &o);
	if (!w->events)
		return TP_ENOMEM;
	return 0;
}

void redis_worker_cleanup(struct worker *w)
{
	struct store_conn *c = w->events;

	/* Events of allocations closed from here on are not sent. */
	w->events = NULL;
	store_conn_free(c);
	userdb_worker_cleanup(w);
}

static void interim_one(struct turn_alloc *a, void *arg)
{
	struct worker *w = arg;
	uint64_t every = (uint64_t)w->srv->conf->stats_interval * 1000;
	struct store_event ev;

	if (w->ctx.now_ms - a->event_ms < every)
		return;
	session_event_fill(w, a, "interim", NULL, false, &ev);
	redis_event_publish(w, &ev);
}

void redis_worker_tick(struct worker *w)
{
	long every = w->srv->conf->stats_interval;
	size_t nb = w->ctx.table.nbuckets, step;

	if (!w->events || every <= 0 || w->ctx.table.count == 0)
		return;
	/* The whole table once per interval, a slice per second. */
	step = nb / (size_t)every + 1;
	if (step > INTERIM_MAX_BUCKETS)
		step = INTERIM_MAX_BUCKETS;
	turn_table_walk(&w->ctx.table, &w->interim_cursor, step, interim_one, w);
}
