/* http.c - the HTTP server of turnpiked: evhttp on the main thread's loop,
 * optional TLS, size and time limits, routing, /healthz, /metrics, the
 * TURN REST credential hook and the admin endpoints. Every handler answers
 * at once from memory (a snapshot of the workers' counters, an HMAC) but
 * the admin ones, whose answer the workers send later through the
 * network layer's table (http_net_ops): nothing here waits, and nothing
 * here takes a lock a worker could hold. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "config.h"
#include "http/http_int.h"
#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/log.h"

/* Limits: a request is a line and a few headers; a form body holds four
 * short parameters. A client that stalls for HTTP_TIMEOUT_S (reading or
 * writing) is dropped; one that trickles is dropped at
 * http-request-timeout (listen.c). */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 4096
#define HTTP_TIMEOUT_S 5
#define RATE_SLOTS 4096

#define CREDENTIALS_PATH "/api/v1/turn/credentials"
#define ICE_SERVERS_PATH "/api/v1/turn/ice-servers"
#define ADMIN_SESSIONS_PATH "/api/v1/admin/sessions"
#define ADMIN_KILL_PATH "/api/v1/admin/sessions/kill"
#define ADMIN_WAITING_MAX 16 /* admin answers awaited at once */

const char *const http_endpoint_name[HTTP_EP_MAX] = {
	[HTTP_EP_CREDENTIALS] = "credentials",
	[HTTP_EP_ICE_SERVERS] = "ice_servers",
	[HTTP_EP_METRICS] = "metrics",
	[HTTP_EP_HEALTHZ] = "healthz",
	[HTTP_EP_ADMIN_SESSIONS] = "admin_sessions",
	[HTTP_EP_ADMIN_KILL] = "admin_kill",
	[HTTP_EP_OTHER] = "other",
};

/* One request being answered. */
struct req {
	struct http_server *h;
	struct evhttp_request *r;
	enum http_endpoint ep;
	struct evkeyvalq query, form;
};

/* ------------------------------------------------------------------ */
/* Answers. */

static void header(struct req *q, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(q->r), name, value);
}

/* Sends the answer and counts it, then closes the connection: one request
 * per connection, so http-request-timeout bounds a connection's whole life
 * and an idle keep-alive connection never holds a place under
 * http-max-connections. */
static void reply(struct req *q, int code, const char *reason, const char *type,
		  struct evbuffer *body)
{
	if (type)
		header(q, "Content-Type", type);
	header(q, "X-Content-Type-Options", "nosniff");
	header(q, "Connection", "close");
	if (code >= 100 && code < 600)
		q->h->counters.requests[q->ep][code / 100 - 1]++;
	if (log_get_level() >= LOG_LVL_DEBUG) {
		const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(q->r);
		const char *path = u ? evhttp_uri_get_path(u) : NULL;
		char esc[128];
		/* The path only: the query may hold an API key. */
		log_debug("http: %s -> %d",
			  path ? log_escape(esc, sizeof(esc), path, strlen(path)) : "-", code);
	}
	evhttp_send_reply(q->r, code, reason, body);
}

/* A JSON error: {"error":"message"}. */
static void reply_error(struct req *q, int code, const char *reason, const char *message)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(q->r, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"error\":");
	http_json_str(b, message);
	evbuffer_add_printf(b, "}\n");
	header(q, "Cache-Control", "no-store");
	reply(q, code, reason, "application/json", b);
	evbuffer_free(b);
}

static void reply_text(struct req *q, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(q->r, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	header(q, "Cache-Control", "no-store");
	reply(q, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------------ */
/* /healthz and /metrics. */

static bool get_or_head(struct req *q)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(q->r);

	if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
		return true;
	header(q, "Allow", "GET, HEAD");
	reply_text(q, 405, "Method Not Allowed", "method not allowed\n");
	return false;
}

/* Whether a Redis connection ever got through. */
static bool ever_connected(const struct store_conn *c)
{
	struct store_conn_stats st;

	store_conn_stats(c, &st);
	return st.connects > 0;
}

/*
 * Why no credential can work yet, or NULL when someone can authenticate:
 * no-auth, users or REST secrets in the current store (the configuration's,
 * or Redis's once loaded), or long-term users in a redis-userdb that has
 * answered (they are looked up per request). A server given no credentials
 * at all serves STUN only, and is ready. Main thread (srv->store).
 */
static const char *not_ready(const struct http_server *h)
{
	const struct conf *c = h->conf;
	const struct server *srv = h->srv;

	if (c->no_auth || auth_store_nusers(srv->store) || auth_store_nsecrets(srv->store))
		return NULL;
	if (c->use_auth_secret) {
		if (srv->secrets && !ever_connected(store_secrets_conn(srv->secrets)))
			return "not ready: no REST secret yet: redis-userdb has not answered\n";
		return "not ready: no REST secret: redis-userdb holds none\n";
	}
	if (srv->user_sub && !ever_connected(srv->user_sub))
		return "not ready: the users are in redis-userdb, which has not answered yet\n";
	return NULL;
}

static void serve_healthz(struct req *q)
{
	const char *why;

	if (!get_or_head(q))
		return;
	switch (q->h->state) {
	case HTTP_SERVING:
		why = not_ready(q->h);
		if (why)
			reply_text(q, 503, "Service Unavailable", why);
		else
			reply_text(q, 200, "OK", "ok\n");
		break;
	case HTTP_DRAINING:
		reply_text(q, 503, "Service Unavailable", "draining\n");
		break;
	default:
		reply_text(q, 503, "Service Unavailable", "starting\n");
		break;
	}
}

/* The Redis connections' states (relaxed loads: any thread may read). The
 * statsdb is up when every worker's connection is. */
static void redis_state(const struct server *srv, struct http_metrics_info *info)
{
	if (srv->secrets) {
		info->redis_userdb = true;
		info->redis_userdb_up =
			store_conn_state(store_secrets_conn(srv->secrets)) == STORE_UP;
	} else if (srv->user_sub) {
		/* Long-term users only: the change subscriber stands for it. */
		info->redis_userdb = true;
		info->redis_userdb_up = store_conn_state(srv->user_sub) == STORE_UP;
	}
	if (srv->statsdb) {
		info->redis_statsdb = true;
		info->redis_statsdb_up = true;
		for (size_t i = 0; i < srv->nworkers; i++)
			if (!srv->workers[i].events ||
			    store_conn_state(srv->workers[i].events) != STORE_UP)
				info->redis_statsdb_up = false;
	}
}

static bool key_ok(const struct http_server *h, const char *key);
static const char *api_key(struct req *q);
static void parse_params(struct req *q);

/* metrics-auth: with metrics_key set, /metrics only for an API key (the
 * hook's, compared in constant time). Answers 401 or 403 itself. */
static bool metrics_allowed(struct req *q)
{
	struct http_server *h = q->h;

	if (!h->metrics_key)
		return true;
	if (h->nkeys == 0 && h->srv->napi_keys == 0) {
		reply_error(q, 403, "Forbidden",
			    "metrics-auth needs an API key and none is configured (rest-api-key, "
			    "or metrics-auth none)");
		return false;
	}
	parse_params(q);
	if (!key_ok(h, api_key(q))) {
		h->counters.bad_key++;
		header(q, "WWW-Authenticate", "Bearer realm=\"turnpike\"");
		reply_error(q, 401, "Unauthorized", "missing or wrong API key");
		return false;
	}
	return true;
}

/* Whether metrics-auth asks for a key: key, or auto on a listener that is
 * not loopback (where the public hook lives). */
static bool metrics_key_needed(const struct conf *c)
{
	struct sockaddr_storage ss;

	if (!c->metrics_auth || !strcmp(c->metrics_auth, "key"))
		return true;
	if (!strcmp(c->metrics_auth, "none"))
		return false;
	return !c->http_listen || addr_parse_listen(c->http_listen, &ss) != 0 ||
	       !addr_is_loopback((const struct sockaddr *)&ss);
}

static void serve_metrics(struct req *q)
{
	struct http_server *h = q->h;
	struct turn_stats st;
	struct http_metrics_info info = {
		.version = PACKAGE_VERSION,
		.nworkers = h->srv->nworkers,
		.ports_capacity = h->ports_capacity,
		.state = h->state,
		.start_time = h->start_time,
		.http = &h->counters,
	};
	struct looplag_snapshot *lag;
	struct evbuffer *b;

	if (!get_or_head(q) || !metrics_allowed(q))
		return;
	b = evbuffer_new();
	lag = calloc(h->srv->nworkers, sizeof(*lag));
	if (!b || !lag) {
		if (b)
			evbuffer_free(b);
		free(lag);
		reply_error(q, 500, "Internal Server Error", "out of memory");
		return;
	}
	for (size_t i = 0; i < h->srv->nworkers; i++)
		looplag_read(&h->srv->workers[i].lag, &lag[i]);
	info.lag = lag;
	h->counters.open = srccount_open(h->conns);
	info.not_ready = not_ready(h);
	redis_state(h->srv, &info);
	/* Relaxed loads of the workers' counters: no lock, no wait. */
	server_stats(h->srv, &st);
	http_metrics_write(b, &st, &info);
	header(q, "Cache-Control", "no-cache");
	reply(q, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
	free(lag);
}

/* ------------------------------------------------------------------ */
/* The credential hook. */

/* Adds the CORS headers when the request's Origin is one we allow. */
static void cors(struct req *q)
{
	const struct conf_list *l = &q->h->conf->rest_cors_origin;
	const char *origin, *allow = NULL;

	if (l->n == 0)
		return;
	origin = evhttp_find_header(evhttp_request_get_input_headers(q->r), "Origin");
	for (size_t i = 0; origin && i < l->n && !allow; i++) {
		if (!strcmp(l->v[i], "*"))
			allow = "*";
		else if (!strcmp(l->v[i], origin))
			allow = l->v[i];
	}
	/* The answer depends on Origin: caches must keep them apart. */
	header(q, "Vary", "Origin");
	if (allow)
		header(q, "Access-Control-Allow-Origin", allow);
}

/* A parameter from the query string, else from a form body. */
static const char *param(struct req *q, const char *name)
{
	const char *v = evhttp_find_header(&q->query, name);

	return v ? v : evhttp_find_header(&q->form, name);
}

static void parse_params(struct req *q)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(q->r);
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(q->r);
	const char *type =
		evhttp_find_header(evhttp_request_get_input_headers(q->r), "Content-Type");
	char body[HTTP_MAX_BODY + 1];
	size_t n;

	if (query)
		evhttp_parse_query_str(query, &q->query);
	if (evhttp_request_get_command(q->r) != EVHTTP_REQ_POST || !type ||
	    strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
		return;
	n = evbuffer_get_length(in);
	if (n > HTTP_MAX_BODY)
		n = HTTP_MAX_BODY; /* evhttp refused longer bodies already */
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	evhttp_parse_query_str(body, &q->form);
	OPENSSL_cleanse(body, n);
}

/* The API key: key= or api=, or "Authorization: Bearer KEY". */
static const char *api_key(struct req *q)
{
	const char *k = param(q, "key");
	const char *auth;

	if (!k)
		k = param(q, "api");
	if (k)
		return k;
	auth = evhttp_find_header(evhttp_request_get_input_headers(q->r), "Authorization");
	if (auth && !strncasecmp(auth, "Bearer ", 7))
		return auth + 7 + strspn(auth + 7, " ");
	return NULL;
}

/* Compares the key with every configured one and every one from Redis, in
 * constant time: digests of equal length, CRYPTO_memcmp, no early exit. */
static bool key_ok(const struct http_server *h, const char *key)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	unsigned match = 0;

	if (!key || !SHA256((const unsigned char *)key, strlen(key), d))
		return false;
	for (size_t i = 0; i < h->nkeys; i++)
		match |= (unsigned)(CRYPTO_memcmp(d, h->keys[i], sizeof(d)) == 0);
	for (size_t i = 0; i < h->srv->napi_keys; i++)
		match |= (unsigned)(CRYPTO_memcmp(d, h->srv->api_keys[i], sizeof(d)) == 0);
	OPENSSL_cleanse(d, sizeof(d));
	return match != 0;
}

static bool rate_ok(struct req *q)
{
	struct http_server *h = q->h;
	struct evhttp_connection *c = evhttp_request_get_connection(q->r);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct timespec ts;

	if (!h->rl)
		return true;
	memset(&peer, 0, sizeof(peer));
	/* The admitted connection's client (through a TURN port, the real
	 * one), else the socket's peer. */
	if (!c || !http_listen_peer(h, c, &peer)) {
		memset(&peer, 0, sizeof(peer));
		if (!bev ||
		    getpeername(bufferevent_getfd(bev), (struct sockaddr *)&peer, &len) != 0)
			peer.ss_family = AF_UNSPEC; /* all such share one bucket */
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ratelimit_take(h->rl, (struct sockaddr *)&peer,
			   (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000))
		return true;
	h->counters.rate_limited++;
	header(q, "Retry-After", "1");
	reply_error(q, 429, "Too Many Requests", "rate limit exceeded");
	return false;
}

static void serve_rest(struct req *q)
{
	struct http_server *h = q->h;
	enum evhttp_cmd_type m = evhttp_request_get_command(q->r);
	const char *secret, *user, *service, *policy;
	char username[HTTP_USER_MAX + 32], password[64];
	bool relay_only = false;
	struct evbuffer *b;
	long ttl;
	int rc;

	/* CORS first: a browser reads no answer, not even a 429, without it. */
	cors(q);
	if (!rate_ok(q))
		return;
	if (m == EVHTTP_REQ_OPTIONS) {
		/* CORS preflight (Fetch standard §3.2.2): no key needed. */
		header(q, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
		header(q, "Access-Control-Allow-Headers", "Authorization, Content-Type");
		header(q, "Access-Control-Max-Age", "600");
		reply(q, 204, "No Content", NULL, NULL);
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_POST) {
		header(q, "Allow", "GET, POST, OPTIONS");
		reply_error(q, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if (h->nkeys == 0 && h->srv->napi_keys == 0) {
		reply_error(q, 503, "Service Unavailable",
			    "no API key configured (rest-api-key, or turnpikectl apikey add)");
		return;
	}
	parse_params(q);
	if (!key_ok(h, api_key(q))) {
		h->counters.bad_key++;
		header(q, "WWW-Authenticate", "Bearer realm=\"turnpike\"");
		reply_error(q, 401, "Unauthorized", "missing or wrong API key");
		return;
	}
	/* The main thread's current store (Redis updates replace it on this
	 * thread, between callbacks): its newest secret signs. */
	secret = h->conf->use_auth_secret ? auth_store_newest_secret(h->srv->store) : NULL;
	if (!secret) {
		reply_error(q, 503, "Service Unavailable",
			    "no REST secret configured (use-auth-secret, static-auth-secret)");
		return;
	}
	service = param(q, "service");
	if (service && strcmp(service, "turn") != 0) {
		reply_error(q, 400, "Bad Request", "service must be turn");
		return;
	}
	/* Optional (draft-uberti-behave-turn-rest §2.1): browsers' apps
	 * mostly send none; http_rest_issue then makes a random tag. */
	user = param(q, "username");
	if (user && !*user)
		user = NULL;
	if (user && !http_rest_user_ok(user)) {
		reply_error(q, 400, "Bad Request",
			    "username, when given, must be 1 to 255 printable ASCII characters");
		return;
	}
	if (http_rest_ttl(param(q, "ttl"), h->conf->rest_max_ttl, &ttl) != 0) {
		reply_error(q, 400, "Bad Request", "ttl must be a positive number of seconds");
		return;
	}
	policy = param(q, "policy");
	if (q->ep == HTTP_EP_ICE_SERVERS && policy) {
		if (!strcmp(policy, "relay")) {
			relay_only = true;
		} else if (strcmp(policy, "all") != 0) {
			reply_error(q, 400, "Bad Request", "policy must be all or relay");
			return;
		}
	}
	rc = http_rest_issue(secret, user, ttl, (uint64_t)time(NULL), username, sizeof(username),
			     password, sizeof(password));
	b = rc == 0 ? evbuffer_new() : NULL;
	if (!b) {
		OPENSSL_cleanse(password, sizeof(password));
		reply_error(q, 500, "Internal Server Error", "cannot issue credentials");
		return;
	}
	if (q->ep == HTTP_EP_ICE_SERVERS)
		http_ice_json(b, username, password, h->uris, h->nuris, relay_only);
	else
		http_creds_json(b, username, password, ttl, h->uris, h->nuris);
	OPENSSL_cleanse(password, sizeof(password));
	h->counters.issued[q->ep == HTTP_EP_ICE_SERVERS]++;
	/* Credentials must not be cached anywhere on the way. */
	header(q, "Cache-Control", "no-store");
	reply(q, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------------ */
/* Live administration: the answer comes from the workers, later. */

/* One admin request waiting for its answer. */
struct admin_wait {
	struct http_server *h;
	struct evhttp_request *r;
	struct evhttp_connection *evcon;
	enum http_endpoint ep;
	void *handle;
};

/* The connection closes before the answer came: nobody waits for it. */
static void admin_closed(void *arg)
{
	struct admin_wait *aw = arg;

	aw->h->net->cancel(aw->h->net_env, aw->handle);
	aw->h->admin_waiting--;
	free(aw);
}

static void admin_done(void *arg, const char *json, size_t len)
{
	struct admin_wait *aw = arg;
	struct req q = {.h = aw->h, .r = aw->r, .ep = aw->ep};
	struct evbuffer *b;

	http_listen_on_close(aw->h, aw->evcon, NULL, NULL);
	aw->h->admin_waiting--;
	free(aw);
	b = json ? evbuffer_new() : NULL;
	if (!b || evbuffer_add(b, json, len) != 0 || evbuffer_add(b, "\n", 1) != 0) {
		if (b)
			evbuffer_free(b);
		reply_error(&q, 500, "Internal Server Error", "out of memory");
		return;
	}
	header(&q, "Cache-Control", "no-store");
	reply(&q, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

/* Whether key is one of the admin-api-keys, in constant time. */
static bool admin_key_ok(const struct http_server *h, const char *key)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	unsigned match = 0;

	if (!key || !SHA256((const unsigned char *)key, strlen(key), d))
		return false;
	for (size_t i = 0; i < h->nadmin_keys; i++)
		match |= (unsigned)(CRYPTO_memcmp(d, h->admin_keys[i], sizeof(d)) == 0);
	OPENSSL_cleanse(d, sizeof(d));
	return match != 0;
}

/* Refuses an admin request for its key (401 none, 403 wrong or the admin
 * API off), with a log line that names the source, never the key. */
static void admin_refuse(struct req *q, int code, const char *why)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10, 5);
	struct evhttp_connection *c = evhttp_request_get_connection(q->r);
	struct sockaddr_storage peer;
	char who[ADDR_STRLEN] = "-";

	if (c && http_listen_peer(q->h, c, &peer))
		addr_format((struct sockaddr *)&peer, true, who, sizeof(who));
	q->h->counters.admin_refused++;
	log_rl(&rl, LOG_LVL_WARN, "http: admin request from %s refused (%d): %s", who, code, why);
	if (code == 401)
		header(q, "WWW-Authenticate", "Bearer realm=\"turnpike-admin\"");
	reply_error(q, code, code == 401 ? "Unauthorized" : "Forbidden", why);
}

static void serve_admin(struct req *q)
{
	struct http_server *h = q->h;
	enum evhttp_cmd_type m = evhttp_request_get_command(q->r);
	bool kill = q->ep == HTTP_EP_ADMIN_KILL;
	const char *key, *user, *idhex;
	uint8_t id[HTTP_ADMIN_ID_LEN];
	struct admin_wait *aw;

	if (!rate_ok(q))
		return;
	if (kill ? m != EVHTTP_REQ_POST : m != EVHTTP_REQ_GET) {
		header(q, "Allow", kill ? "POST" : "GET");
		reply_error(q, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	parse_params(q);
	key = api_key(q);
	if (h->nadmin_keys == 0) {
		admin_refuse(q, 403, "the admin API is off: no admin-api-key configured");
		return;
	}
	if (!key || !*key) {
		admin_refuse(q, 401, "missing API key");
		return;
	}
	if (!admin_key_ok(h, key)) {
		admin_refuse(q, 403, "wrong API key");
		return;
	}
	user = param(q, "user");
	if (user && !*user)
		user = NULL;
	if (user && !http_rest_user_ok(user)) {
		reply_error(q, 400, "Bad Request", "user must be 1 to 255 printable characters");
		return;
	}
	idhex = param(q, "id");
	if (idhex &&
	    (!kill || strlen(idhex) != 2 * sizeof(id) || !hex_decode(idhex, id, sizeof(id)))) {
		reply_error(q, 400, "Bad Request", "id must be an allocation id (32 hex digits)");
		return;
	}
	if (kill && !idhex && !user) {
		reply_error(q, 400, "Bad Request", "kill needs id or user");
		return;
	}
	if (!h->net->sessions || h->admin_waiting >= ADMIN_WAITING_MAX ||
	    !(aw = calloc(1, sizeof(*aw)))) {
		header(q, "Retry-After", "1");
		reply_error(q, 503, "Service Unavailable", "busy: try again");
		return;
	}
	aw->h = h;
	aw->r = q->r;
	aw->ep = q->ep;
	aw->evcon = evhttp_request_get_connection(q->r);
	aw->handle = kill ? h->net->kill(h->net_env, idhex ? id : NULL, idhex ? NULL : user,
					 admin_done, aw)
			  : h->net->sessions(h->net_env, user, admin_done, aw);
	if (!aw->handle) {
		free(aw);
		header(q, "Retry-After", "1");
		reply_error(q, 503, "Service Unavailable", "busy: try again");
		return;
	}
	h->admin_waiting++;
	/* Admitted connections are known to listen.c; one it does not know
	 * (it always does) would leave nobody to cancel: answer without. */
	if (!aw->evcon || !http_listen_on_close(h, aw->evcon, admin_closed, aw))
		log_warn("http: admin request on a connection not admitted");
}

/* ------------------------------------------------------------------ */
/* Routing. */

static enum http_endpoint endpoint_of(const char *path)
{
	if (!path)
		return HTTP_EP_OTHER;
	if (!strcmp(path, CREDENTIALS_PATH))
		return HTTP_EP_CREDENTIALS;
	if (!strcmp(path, ICE_SERVERS_PATH))
		return HTTP_EP_ICE_SERVERS;
	if (!strcmp(path, "/metrics"))
		return HTTP_EP_METRICS;
	if (!strcmp(path, "/healthz"))
		return HTTP_EP_HEALTHZ;
	if (!strcmp(path, ADMIN_SESSIONS_PATH))
		return HTTP_EP_ADMIN_SESSIONS;
	if (!strcmp(path, ADMIN_KILL_PATH))
		return HTTP_EP_ADMIN_KILL;
	return HTTP_EP_OTHER;
}

static void request_cb(struct evhttp_request *r, void *arg)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	struct req q = {.h = arg, .r = r};

	TAILQ_INIT(&q.query);
	TAILQ_INIT(&q.form);
	q.ep = endpoint_of(u ? evhttp_uri_get_path(u) : NULL);
	switch (q.ep) {
	case HTTP_EP_CREDENTIALS:
	case HTTP_EP_ICE_SERVERS:
		serve_rest(&q);
		break;
	case HTTP_EP_METRICS:
		serve_metrics(&q);
		break;
	case HTTP_EP_HEALTHZ:
		serve_healthz(&q);
		break;
	case HTTP_EP_ADMIN_SESSIONS:
	case HTTP_EP_ADMIN_KILL:
		serve_admin(&q);
		break;
	default:
		reply_text(&q, 404, "Not Found", "not found\n");
		break;
	}
	evhttp_clear_headers(&q.query);
	evhttp_clear_headers(&q.form);
}

/* ------------------------------------------------------------------ */
/* Connections, TLS, the listener. */

/* Logs what failed and OpenSSL's first queued error, in one line. */
static int tls_fail(const char *what, const char *path)
{
	log_ssl_error("http", what, path);
	return TP_ECRYPTO;
}

static int tls_init(struct http_server *h)
{
	const struct conf *c = h->conf;

	h->ssl = SSL_CTX_new(TLS_server_method());
	if (!h->ssl)
		return tls_fail("cannot create a TLS context", NULL);
	SSL_CTX_set_min_proto_version(h->ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(h->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(h->ssl, c->http_cert) != 1)
		return tls_fail("cannot load http-cert", c->http_cert);
	if (SSL_CTX_use_PrivateKey_file(h->ssl, c->http_pkey, SSL_FILETYPE_PEM) != 1)
		return tls_fail("cannot load http-pkey", c->http_pkey);
	if (SSL_CTX_check_private_key(h->ssl) != 1)
		return tls_fail("http-pkey does not match http-cert", c->http_pkey);
	return 0;
}

/* The SHA-256 of each key of l into *out (NULL when l is empty). */
static int digests(const struct conf_list *l, uint8_t (**out)[SHA256_DIGEST_LENGTH], size_t *n)
{
	if (l->n == 0)
		return 0;
	*out = calloc(l->n, sizeof(**out));
	if (!*out)
		return TP_ENOMEM;
	*n = l->n;
	for (size_t i = 0; i < l->n; i++)
		if (!SHA256((const unsigned char *)l->v[i], strlen(l->v[i]), (*out)[i]))
			return TP_ECRYPTO;
	return 0;
}

static int keys_init(struct http_server *h)
{
	int rc = digests(&h->conf->rest_api_key, &h->keys, &h->nkeys);

	if (rc == 0)
		rc = digests(&h->conf->admin_api_key, &h->admin_keys, &h->nadmin_keys);
	if (rc != 0)
		return rc;
	/* A key that may fetch credentials must not also end calls. */
	for (size_t i = 0; i < h->nadmin_keys; i++) {
		for (size_t j = 0; j < h->nkeys; j++) {
			if (CRYPTO_memcmp(h->admin_keys[i], h->keys[j], SHA256_DIGEST_LENGTH) ==
			    0) {
				log_err("http: an admin-api-key is also a rest-api-key: give the "
					"admin endpoints a key of their own");
				return TP_ECONFIG;
			}
		}
	}
	return 0;
}

static int uris_init(struct http_server *h)
{
	const struct server *srv = h->srv;
	const struct relay_addr *relay[2] = {srv->relay[0], srv->relay[1]};
	struct http_uri_src src = {
		.turn_uri = &h->conf->turn_uri,
		.listen = srv->listen,
		.nlisten = srv->nlisten,
		.relay = relay,
		.nrelay = srv->nrelay,
		.port = (uint16_t)h->conf->listening_port,
		.udp = !h->conf->no_udp,
		.tcp = !h->conf->no_tcp,
		.tls_port = (uint16_t)h->conf->tls_listening_port,
		.tls = srv->tls != NULL,
	};
	int rc = http_uris_build(&src, &h->uris, &h->nuris);

	if (rc == 0 && h->nuris == 0)
		log_warn("http: no address to hand out in credentials: set turn-uri");
	return rc;
}

static const struct http_net_ops no_net;

int http_evhttp_init(struct http_server *h)
{
	h->http = evhttp_new(h->base);
	if (!h->http)
		return TP_ENOMEM;
	evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, HTTP_MAX_BODY);
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
	/* Every method reaches request_cb, which answers 405 itself (and
	 * counts it); OPTIONS is for CORS preflight. */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, request_cb, h);
	return 0;
}

struct http_server *http_server_new(struct event_base *base, struct server *srv,
				    const struct conf *conf, const struct http_net_ops *ops,
				    void *env)
{
	struct http_server *h = calloc(1, sizeof(*h));
	const struct conf *c = conf;

	if (!h)
		return NULL;
	h->base = base;
	h->srv = srv;
	h->conf = conf;
	h->net = ops ? ops : &no_net; /* admin answers 503, no mux */
	h->net_env = env;
	h->state = HTTP_STARTING;
	h->start_time = (uint64_t)time(NULL);
	h->ports_capacity =
		(uint64_t)(c->max_port - c->min_port + 1) * (srv->nrelay[0] + srv->nrelay[1]);
	if (c->http_cert && tls_init(h) != 0)
		goto fail;
	if (keys_init(h) != 0 || uris_init(h) != 0)
		goto fail;
	if (c->rest_rate_limit > 0 &&
	    !(h->rl = ratelimit_new((unsigned)c->rest_rate_limit, RATE_SLOTS)))
		goto fail;
	h->rl_rate = c->rest_rate_limit;
	h->metrics_key = metrics_key_needed(c);
	if (http_evhttp_init(h) != 0 || http_listen_init(h) != 0)
		goto fail;
	log_info("http: /metrics %s (metrics-auth %s)",
		 h->metrics_key ? "needs an API key" : "open to whoever reaches http-listen",
		 c->metrics_auth ? c->metrics_auth : "key");
	if (!c->use_auth_secret)
		log_info("http: credential hook off: no static-auth-secret");
	else if (h->nkeys == 0 && !srv->userdb)
		log_info("http: credential hook off: no rest-api-key");
	else if (h->nkeys == 0)
		log_info("http: credential hook: API keys from redis only");
	return h;
fail:
	http_server_free(h);
	return NULL;
}

static void keys_free(uint8_t (*keys)[32], size_t n)
{
	if (keys) {
		OPENSSL_cleanse(keys, n * sizeof(*keys));
		free(keys);
	}
}

void http_server_reload(struct http_server *h)
{
	uint8_t(*keys)[32] = h->keys, (*admin_keys)[32] = h->admin_keys;
	size_t nkeys = h->nkeys, nadmin_keys = h->nadmin_keys, nuris = h->nuris;
	char **uris = h->uris;
	struct ratelimit *rl = NULL;
	long rate = h->conf->rest_rate_limit;

	/* Everything is built before anything is replaced: on failure the
	 * running keys, URIs and limit stay whole. */
	h->keys = NULL;
	h->nkeys = 0;
	h->admin_keys = NULL;
	h->nadmin_keys = 0;
	h->uris = NULL;
	h->nuris = 0;
	if (keys_init(h) != 0 || uris_init(h) != 0 ||
	    (rate > 0 && rate != h->rl_rate && !(rl = ratelimit_new((unsigned)rate, RATE_SLOTS)))) {
		keys_free(h->keys, h->nkeys);
		keys_free(h->admin_keys, h->nadmin_keys);
		http_uris_free(h->uris, h->nuris);
		h->keys = keys;
		h->nkeys = nkeys;
		h->admin_keys = admin_keys;
		h->nadmin_keys = nadmin_keys;
		h->uris = uris;
		h->nuris = nuris;
		log_err("http: reload failed; the previous API keys, URIs and rate limit stay");
		return;
	}
	keys_free(keys, nkeys);
	keys_free(admin_keys, nadmin_keys);
	http_uris_free(uris, nuris);
	if (rate != h->rl_rate) {
		ratelimit_free(h->rl);
		h->rl = rl;
		h->rl_rate = rate;
	}
}

void http_server_set_state(struct http_server *h, enum http_state st)
{
	h->state = st;
}

void http_server_free(struct http_server *h)
{
	if (!h)
		return;
	/* Frees the bound listener and every open connection. */
	if (h->http)
		evhttp_free(h->http);
	http_listen_cleanup(h);
	SSL_CTX_free(h->ssl);
	http_uris_free(h->uris, h->nuris);
	keys_free(h->keys, h->nkeys);
	keys_free(h->admin_keys, h->nadmin_keys);
	ratelimit_free(h->rl);
	free(h);
}
