/* secrets.c - the realm's REST secrets (and REST hook API keys) from
 * Redis, kept current: loaded on connect, every refresh interval, and at
 * once when turnpikectl announces a change on turnpike:invalidate or Redis
 * sends a keyspace notification for either set. Loads never overlap; a
 * change during a load queues one more. */
#include <event2/event.h>
#include <hiredis.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/store.h"
#include "turnpike/err.h"
#include "util/hex.h"
#include "util/log.h"

#define MAX_SECRETS 1024 /* more are ignored (auth uses 16 at most) */
#define MAX_SECRET_LEN 1024
#define KEY_CAP 600

struct store_secrets {
	struct store_conn *cmd, *sub;
	struct event *refresh_ev;
	char key[KEY_CAP], ages_key[KEY_CAP], keyspace[KEY_CAP];
	char api_key[KEY_CAP], api_keyspace[KEY_CAP];
	store_secrets_fn fn;
	void *arg;
	store_api_keys_fn api_fn; /* NULL: API keys are not loaded */
	void *api_arg;
	/* The load in progress. */
	bool loading, again, failed, api_failed;
	unsigned pending; /* replies still awaited */
	char **items;     /* members of the set */
	size_t nitems;
	char **ages; /* tags from the secret-age set, oldest first */
	size_t nages;
	uint8_t (*api)[STORE_API_KEY_LEN]; /* API key digests, sorted */
	size_t napi;
	/* The lists last handed to fn and api_fn. */
	char **cur;
	size_t ncur;
	uint8_t (*api_cur)[STORE_API_KEY_LEN];
	size_t napi_cur;
};

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		OPENSSL_cleanse(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

static void load(struct store_secrets *s);

static void finish_secrets(struct store_secrets *s)
{
	bool same;

	if (s->failed || store_secrets_sort((const char **)s->items, s->nitems,
					    (const char *const *)s->ages, s->nages) != 0)
		return;
	same = s->nitems == s->ncur;
	for (size_t i = 0; same && i < s->nitems; i++)
		same = !strcmp(s->items[i], s->cur[i]);
	if (same)
		return;
	free_list(s->cur, s->ncur);
	s->cur = s->items;
	s->ncur = s->nitems;
	s->items = NULL;
	s->nitems = 0;
	log_info("redis: %zu REST secrets in %s", s->ncur, s->key);
	s->fn(s->arg, (const char *const *)s->cur, s->ncur);
}

static void finish_api_keys(struct store_secrets *s)
{
	if (!s->api_fn || s->api_failed)
		return;
	if (s->napi == s->napi_cur &&
	    (s->napi == 0 || !memcmp(s->api, s->api_cur, s->napi * sizeof(*s->api))))
		return;
	free(s->api_cur);
	s->api_cur = s->api;
	s->napi_cur = s->napi;
	s->api = NULL;
	s->napi = 0;
	log_info("redis: %zu REST API keys in %s", s->napi_cur, s->api_key);
	s->api_fn(s->api_arg, (const uint8_t(*)[STORE_API_KEY_LEN])s->api_cur, s->napi_cur);
}

/* Every reply is in: order, compare, hand over what changed. */
static void finish(struct store_secrets *s)
{
	finish_secrets(s);
	finish_api_keys(s);
	free(s->api);
	s->api = NULL;
	s->napi = 0;
	free_list(s->items, s->nitems);
	free_list(s->ages, s->nages);
	s->items = s->ages = NULL;
	s->nitems = s->nages = 0;
	s->loading = false;
	if (s->again) {
		s->again = false;
		load(s);
	}
}

/* Copies the string elements of an array reply that pass ok, at most
 * MAX_SECRETS. Returns false when out of memory. */
static bool take_strings(const struct redisReply *r, char ***out, size_t *n,
			 bool (*ok)(const struct redisReply *e))
{
	size_t max = r->elements < MAX_SECRETS ? r->elements : MAX_SECRETS;

	*out = calloc(max + 1, sizeof(**out));
	if (!*out)
		return false;
	for (size_t i = 0; i < max; i++) {
		const struct redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_STRING || !ok(e))
			continue;
		if (!((*out)[*n] = strndup(e->str, e->len)))
			return false;
		(*n)++;
	}
	return true;
}

/* Secrets are C strings: none empty, no NUL inside. */
static bool secret_ok(const struct redisReply *e)
{
	return e->len > 0 && e->len <= MAX_SECRET_LEN && !memchr(e->str, '\0', e->len);
}

static bool tag_ok(const struct redisReply *e)
{
	return e->len == 16;
}

static void members_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct store_secrets *s = arg;
	(void)c;

	if (status != 0 || r->type != REDIS_REPLY_ARRAY) {
		if (status == 0)
			log_warn("redis: %s is not a set; secrets unchanged", s->key);
		s->failed = true;
	} else {
		if (!take_strings(r, &s->items, &s->nitems, secret_ok))
			s->failed = true;
		if (r->elements > MAX_SECRETS)
			log_warn("redis: %s has %zu members; the first %d are used", s->key,
				 (size_t)r->elements, MAX_SECRETS);
	}
	if (--s->pending == 0)
		finish(s);
}

static void ages_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct store_secrets *s = arg;
	(void)c;

	/* Without ages (another tool wrote the set) the order is by bytes. */
	if (status != 0)
		s->failed = true;
	else if (r->type == REDIS_REPLY_ARRAY && !take_strings(r, &s->ages, &s->nages, tag_ok))
		s->failed = true;
	if (--s->pending == 0)
		finish(s);
}

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, STORE_API_KEY_LEN);
}

static void api_keys_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct store_secrets *s = arg;
	size_t max, bad = 0;
	(void)c;

	if (status != 0 || r->type != REDIS_REPLY_ARRAY) {
		if (status == 0)
			log_warn("redis: %s is not a set; API keys unchanged", s->api_key);
		s->api_failed = true;
		goto out;
	}
	max = r->elements < MAX_SECRETS ? r->elements : MAX_SECRETS;
	if (max && !(s->api = calloc(max, sizeof(*s->api)))) {
		s->api_failed = true;
		goto out;
	}
	for (size_t i = 0; i < max; i++) {
		const struct redisReply *e = r->element[i];
		if (e->type == REDIS_REPLY_STRING && e->len == 2 * STORE_API_KEY_LEN &&
		    hex_decode(e->str, s->api[s->napi], STORE_API_KEY_LEN))
			s->napi++;
		else
			bad++;
	}
	if (bad)
		log_warn("redis: %zu members of %s are not 64 hex digits (SHA-256 of a key); "
			 "ignored",
			 bad, s->api_key);
	if (s->napi)
		qsort(s->api, s->napi, sizeof(*s->api), digest_cmp);
out:
	if (--s->pending == 0)
		finish(s);
}

static void load(struct store_secrets *s)
{
	if (s->loading) {
		s->again = true;
		return;
	}
	if (store_conn_state(s->cmd) != STORE_UP)
		return; /* loaded again on connect */
	s->loading = true;
	s->failed = s->api_failed = false;
	s->pending = 0;
	/* The secrets need both SMEMBERS and ZRANGE, or neither counts. */
	if (store_conn_cmd(s->cmd, members_cb, s, "SMEMBERS %s", s->key) == 0)
		s->pending++;
	else
		s->failed = true;
	if (!s->failed && store_conn_cmd(s->cmd, ages_cb, s, "ZRANGE %s 0 -1", s->ages_key) == 0)
		s->pending++;
	else
		s->failed = true;
	if (s->api_fn) {
		if (store_conn_cmd(s->cmd, api_keys_cb, s, "SMEMBERS %s", s->api_key) == 0)
			s->pending++;
		else
			s->api_failed = true;
	}
	if (s->pending == 0)
		s->loading = false;
}

/* Either connection up: load (changes may have been missed meanwhile), and
 * bring the other one back now rather than at the end of its backoff. */
static void on_cmd_state(void *arg, enum store_state st)
{
	struct store_secrets *s = arg;

	if (st != STORE_UP)
		return;
	store_conn_kick(s->sub);
	load(s);
}

static void on_sub_state(void *arg, enum store_state st)
{
	struct store_secrets *s = arg;

	if (st != STORE_UP)
		return;
	store_conn_kick(s->cmd);
	load(s);
}

static void on_message(void *arg, const char *channel, const char *msg, size_t len)
{
	struct store_secrets *s = arg;
	(void)msg;
	(void)len;

	log_debug("redis: change announced on %s", channel);
	load(s);
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	load(arg);
}

struct store_secrets *store_secrets_new(struct event_base *base, const struct store_addr *addr,
					const char *realm, unsigned refresh_s, unsigned timeout_ms,
					store_secrets_fn fn, void *arg)
{
	struct store_secrets *s = calloc(1, sizeof(*s));
	struct store_conn_opts co, so;
	const char *channels[3];
	struct timeval tv = {refresh_s ? (time_t)refresh_s : 30, 0};

	if (!s)
		return NULL;
	s->fn = fn;
	s->arg = arg;
	if (!store_key_secrets(s->key, sizeof(s->key), realm) ||
	    !store_key_secret_ages(s->ages_key, sizeof(s->ages_key), realm) ||
	    !store_channel_keyspace(s->keyspace, sizeof(s->keyspace), addr->db, s->key) ||
	    !store_key_api_keys(s->api_key, sizeof(s->api_key), realm) ||
	    !store_channel_keyspace(s->api_keyspace, sizeof(s->api_keyspace), addr->db,
				    s->api_key)) {
		log_err("redis: realm '%s' cannot be used in a key name", realm);
		goto fail;
	}
	s->refresh_ev = event_new(base, -1, EV_PERSIST, refresh_cb, s);
	if (!s->refresh_ev || event_add(s->refresh_ev, &tv) != 0)
		goto fail;
	memset(&co, 0, sizeof(co));
	co.name = "userdb";
	co.timeout_ms = timeout_ms;
	co.max_inflight = 64;
	co.on_state = on_cmd_state;
	co.arg = s;
	s->cmd = store_conn_new(base, addr, &co);
	channels[0] = STORE_CHANNEL_INVALIDATE;
	channels[1] = s->keyspace;
	channels[2] = s->api_keyspace;
	memset(&so, 0, sizeof(so));
	so.name = "userdb subscriber";
	so.channels = channels;
	so.nchannels = 3;
	so.on_message = on_message;
	so.on_state = on_sub_state;
	so.arg = s;
	if (s->cmd)
		s->sub = store_conn_new(base, addr, &so);
	if (!s->cmd || !s->sub)
		goto fail;
	return s;
fail:
	store_secrets_free(s);
	return NULL;
}

void store_secrets_free(struct store_secrets *s)
{
	if (!s)
		return;
	/* Pending loads end here with TP_ECLOSED; their callbacks touch s. */
	store_conn_free(s->sub);
	store_conn_free(s->cmd);
	if (s->refresh_ev)
		event_free(s->refresh_ev);
	free_list(s->items, s->nitems);
	free_list(s->ages, s->nages);
	free_list(s->cur, s->ncur);
	free(s->api);
	free(s->api_cur);
	free(s);
}

void store_secrets_on_api_keys(struct store_secrets *s, store_api_keys_fn fn, void *arg)
{
	s->api_fn = fn;
	s->api_arg = arg;
}

struct store_conn *store_secrets_conn(struct store_secrets *s)
{
	return s->cmd;
}
