/* http_int.h - the HTTP server object, shared by http.c (requests) and
 * listen.c (the listener and its connections). Internal to src/http. */
#ifndef TURNPIKE_HTTP_HTTP_INT_H
#define TURNPIKE_HTTP_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "http/http.h"
#include "util/ratelimit.h"
#include "util/srccount.h"

struct evhttp;
struct evconnlistener;
struct event;

struct http_conn;
TAILQ_HEAD(http_conn_list, http_conn);

struct http_server {
	struct event_base *base;
	struct server *srv;
	const struct conf *conf;
	struct evhttp *http;
	struct evconnlistener *lev; /* owned by http once bound */
	struct event *accept_retry; /* re-enables accepting after EMFILE */
	SSL_CTX *ssl;
	enum http_state state;
	char **uris;
	size_t nuris;
	uint8_t (*keys)[SHA256_DIGEST_LENGTH]; /* SHA-256 of each rest-api-key */
	size_t nkeys;
	uint8_t (*admin_keys)[SHA256_DIGEST_LENGTH]; /* and of each admin-api-key */
	size_t nadmin_keys;
	const struct http_net_ops *net; /* the network layer's services */
	void *net_env;
	size_t admin_waiting; /* admin answers awaited now */
	struct ratelimit *rl;
	long rl_rate;     /* rest-rate-limit rl was made for */
	bool metrics_key; /* /metrics needs an API key (metrics-auth) */
	struct http_counters counters;
	uint64_t ports_capacity;
	uint64_t start_time;
	/* Connections (listen.c): accepted and not yet looked at, then open. */
	struct srccount *conns;
	struct http_conn_list pending, open;
	size_t npending;
	struct event *admit; /* looks at the pending ones */
	size_t conn_limit;   /* http-max-connections, within the descriptors */
	size_t source_limit; /* http-max-connections-per-source, within that */
	struct timeval request_timeout;
	struct http_server *next; /* listen.c's list of servers */
};

/* Makes h->http: evhttp with the size and time limits and every request
 * routed to the handlers of http.c (also what tests/fuzz/fuzz_http.c
 * drives). Returns 0 or TP_ENOMEM. */
int http_evhttp_init(struct http_server *h);

/*
 * Binds conf->http_listen and takes charge of the connections: the
 * connection table, admission and deadlines. Errors are logged. Returns 0,
 * TP_ECONFIG, TP_ESYS or TP_ENOMEM.
 */
int http_listen_init(struct http_server *h);
/* The client address of an admitted connection (through a TURN port: the
 * one the worker passed), into *out. Returns false for one not admitted. */
struct evhttp_connection;
bool http_listen_peer(const struct http_server *h, const struct evhttp_connection *evcon,
		      struct sockaddr_storage *out);
/* Calls fn(arg) when the admitted connection evcon closes, before it is
 * freed (fn NULL: no longer). Returns false for one not admitted. */
bool http_listen_on_close(struct http_server *h, const struct evhttp_connection *evcon,
			  void (*fn)(void *arg), void *arg);
/* After evhttp_free (which closes every connection): frees what is left.
 * Safe on a server whose http_listen_init failed or never ran. */
void http_listen_cleanup(struct http_server *h);

#endif
