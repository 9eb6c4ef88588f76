/* http.h - the HTTP surface of turnpiked: Prometheus metrics, health, and
 * the TURN REST credential hook (draft-uberti-behave-turn-rest), served by
 * libevent's evhttp on the main thread; plus the pure pieces they are built
 * from (JSON, URIs, the rate limiter, the exposition and its reader), which
 * the unit tests and turnpikectl use directly. */
#ifndef TURNPIKE_HTTP_HTTP_H
#define TURNPIKE_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "turn/stats.h"
#include "util/looplag.h"

struct conf;
struct conf_list;
struct event_base;
struct evbuffer;
struct server;
struct relay_addr;
struct auth_store;

/* ------------------------------------------------------------------ */
/* The server (http.c). */

enum http_state {
	HTTP_STARTING = 0, /* workers not started yet: /healthz 503 */
	HTTP_SERVING,      /* /healthz 200 */
	HTTP_DRAINING      /* stopping: /healthz 503 */
};

/* What the requests were for, for counters. */
enum http_endpoint {
	HTTP_EP_CREDENTIALS = 0,
	HTTP_EP_ICE_SERVERS,
	HTTP_EP_METRICS,
	HTTP_EP_HEALTHZ,
	HTTP_EP_ADMIN_SESSIONS,
	HTTP_EP_ADMIN_KILL,
	HTTP_EP_OTHER,
	HTTP_EP_MAX
};
extern const char *const http_endpoint_name[HTTP_EP_MAX];

/* Why a connection was closed as soon as it was accepted. */
enum http_refusal {
	HTTP_REFUSED_FULL = 0,    /* http-max-connections open */
	HTTP_REFUSED_SOURCE,      /* http-max-connections-per-source from its source */
	HTTP_REFUSED_DESCRIPTORS, /* too few descriptors left for TURN */
	HTTP_REFUSED_MAX
};
extern const char *const http_refusal_name[HTTP_REFUSED_MAX];

/* The HTTP module's own counters; touched by the main thread only. */
struct http_counters {
	uint64_t requests[HTTP_EP_MAX][5]; /* by status class 1xx .. 5xx */
	uint64_t issued[2];                /* credentials, ice-servers */
	uint64_t rate_limited;             /* 429 */
	uint64_t bad_key;                  /* 401: missing or wrong API key */
	uint64_t admin_refused;            /* admin endpoints: 401/403 for the key */
	uint64_t connections;              /* accepted */
	uint64_t accept_errors;            /* accept failed (EMFILE...) */
	uint64_t refused[HTTP_REFUSED_MAX];
	uint64_t timed_out; /* closed at http-request-timeout */
	uint64_t open;      /* gauge: connections open now */
	uint64_t limit;     /* gauge: the cap in force */
};

struct http_server;

/*
 * What http/ asks of the network layer, through this table so it never
 * reads the workers' tables nor calls net/ by name (turnpiked fills it).
 *
 * Live administration (GET /api/v1/admin/sessions, POST
 * /api/v1/admin/sessions/kill): sessions lists the allocations (of user,
 * when not NULL); kill ends the one with id (HTTP_ADMIN_ID_LEN bytes) or
 * else those of user. Both return a handle and call done later, on this
 * loop, with the answer as JSON (NULL when out of memory), unless
 * cancel(handle) came first; or return NULL when they cannot take the
 * request now. Without them the admin endpoints answer 503.
 *
 * http-listen on a TURN TCP port (NULL when it is not so): mux_internal
 * names the internal listener the workers pass such connections to, once
 * bound; mux_take gives the client address of a connection from `from`
 * accepted there, false when no worker passed it (refuse it).
 */
#define HTTP_ADMIN_ID_LEN 16
typedef void (*http_admin_done_fn)(void *arg, const char *json, size_t len);
struct http_net_ops {
	void *(*sessions)(void *env, const char *user, http_admin_done_fn done, void *arg);
	void *(*kill)(void *env, const uint8_t *id, const char *user, http_admin_done_fn done,
		      void *arg);
	void (*cancel)(void *env, void *handle);
	void (*mux_internal)(void *env, const struct sockaddr *sa);
	bool (*mux_take)(void *env, const struct sockaddr *from, struct sockaddr_storage *client);
};

/*
 * Binds conf->http_listen on base (the main thread's loop), with TLS when
 * conf->http_cert and conf->http_pkey are set, and serves from srv: its counters,
 * listeners, relay addresses and REST secrets. Errors are logged. Returns
 * NULL on failure. The object keeps pointers to conf, srv, ops and env
 * (given back to ops), which must outlive it. State starts at
 * HTTP_STARTING.
 */
struct http_server *http_server_new(struct event_base *base, struct server *srv,
				    const struct conf *conf, const struct http_net_ops *ops,
				    void *env);
/* SIGHUP, after conf_reload (main thread): the API keys, the URIs handed
 * out and the rate limit from the configuration again; on failure (logged)
 * the running ones stay. */
void http_server_reload(struct http_server *h);
void http_server_set_state(struct http_server *h, enum http_state st);
/* Closes the listener and every connection; NULL is a no-op. */
void http_server_free(struct http_server *h);

/* ------------------------------------------------------------------ */
/* The credential hook's pieces (creds.c). */

#define HTTP_USER_MAX 255 /* longest application user name */

/* Appends s as a JSON string (quotes, escapes, \u00XX for controls). */
void http_json_str(struct evbuffer *b, const char *s);

/* The ttl to issue for a request's ttl parameter (NULL: absent → max).
 * Returns 0 with *out in [1, max], or TP_EINVAL (not a positive decimal). */
int http_rest_ttl(const char *param, long max, long *out);

/* Whether an application user name is acceptable: 1 to HTTP_USER_MAX
 * printable ASCII characters (it becomes part of a STUN USERNAME). */
bool http_rest_user_ok(const char *user);

#define HTTP_REST_TAG_BYTES 8 /* random bytes standing for no user name */

/*
 * Issues TURN REST credentials: USERNAME "<now + ttl>:<user>", or with user
 * NULL "<now + ttl>:<tag>" (a random tag of 2 x HTTP_REST_TAG_BYTES hex
 * digits), password base64(HMAC-SHA1(secret, USERNAME)), into the caller's
 * buffers (username at least HTTP_USER_MAX + 22, password at least 29
 * bytes). Returns 0, TP_EINVAL (bad user or buffers too small) or
 * TP_ECRYPTO.
 */
int http_rest_issue(const char *secret, const char *user, long ttl, uint64_t now, char *username,
		    size_t ucap, char *password, size_t pcap);

/* {"username":..,"password":..,"ttl":..,"uris":[..]} */
void http_creds_json(struct evbuffer *b, const char *username, const char *password, long ttl,
		     char *const *uris, size_t nuris);
/* {"iceServers":[{"urls":[..],"username":..,"credential":..}],
 *  "iceTransportPolicy":"all"|"relay"} */
void http_ice_json(struct evbuffer *b, const char *username, const char *password,
		   char *const *uris, size_t nuris, bool relay_only);

/* Where the handed-out URIs come from. */
struct http_uri_src {
	const struct conf_list *turn_uri;      /* configured: used as they are */
	const struct sockaddr_storage *listen; /* else derived from these */
	size_t nlisten;
	const struct relay_addr *const *relay; /* [0] IPv4, [1] IPv6 */
	const size_t *nrelay;
	uint16_t port;
	bool udp, tcp;
	uint16_t tls_port; /* TURN over TLS on it when tls */
	bool tls;
};

/*
 * The URIs: the turn-uri list when set; else for every listening address
 * (a wildcard stands for the advertised relay addresses of its family; an
 * address with an external-ip mapping is replaced by it), once each:
 * turn:HOST:PORT?transport=udp, ...?transport=tcp,
 * turns:HOST:TLS-PORT?transport=tcp, stun:HOST:PORT, IPv6 hosts in
 * brackets. Returns 0 with a malloc'd array of malloc'd strings
 * (free with http_uris_free), or TP_ENOMEM.
 */
int http_uris_build(const struct http_uri_src *src, char ***out, size_t *n);
void http_uris_free(char **uris, size_t n);

/* ------------------------------------------------------------------ */
/* Metrics (metrics.c): the Prometheus text exposition format 0.0.4. */

struct http_metrics_info {
	const char *version;
	size_t nworkers;
	uint64_t ports_capacity; /* (max-port - min-port + 1) x relay addresses */
	enum http_state state;
	const char *not_ready; /* serving, but no credential can work yet: why */
	uint64_t start_time;   /* Unix seconds */
	const struct http_counters *http;
	/* Redis connections, when configured (redis-userdb, redis-statsdb). */
	bool redis_userdb, redis_userdb_up;
	bool redis_statsdb, redis_statsdb_up;
	/* Each worker's loop lag (nworkers of them), or NULL. */
	const struct looplag_snapshot *lag;
};

/* Formats every metric from a summed snapshot of the workers' counters. */
void http_metrics_write(struct evbuffer *b, const struct turn_stats *st,
			const struct http_metrics_info *info);
/* process.c: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds (the names client libraries use). */
void http_process_metrics(struct evbuffer *b, uint64_t start_time);

/* ------------------------------------------------------------------ */
/* Reading an exposition back (report.c), for turnpikectl report. */

/*
 * The sum of the samples of metric `name` whose labels contain every
 * label="value" pair of `match` (a comma-separated list, NULL or "" for
 * all). Returns the number of samples summed (0: *sum is 0).
 */
size_t http_metric_sum(const char *text, const char *name, const char *match, double *sum);

/*
 * Fetches path from server with a plain HTTP/1.1 GET (no TLS), within
 * timeout_ms. Returns 0 with *body (malloc'd, NUL-terminated; the caller
 * frees) for a 200 answer; TP_ESYS (cannot connect or send, see errno),
 * TP_ETIMEDOUT, TP_EMALFORMED (not HTTP, not 200 (*status set), or
 * chunked), TP_ENOSPC (answer over 4 MiB), TP_ENOMEM.
 */
int http_fetch(const struct sockaddr *server, const char *path, int timeout_ms, char **body,
	       int *status);

/* The same with any method, an "Authorization: Bearer" key (or NULL) and
 * a form body (application/x-www-form-urlencoded, or NULL). The key is
 * wiped from the request once sent. */
int http_request(const struct sockaddr *server, const char *method, const char *path,
		 const char *bearer, const char *form, int timeout_ms, char **body, int *status);

/* Prints the main figures and the relay-fallback ratios of an exposition. */
void http_report_print(FILE *f, const char *text);

#endif
