/* store.h - Redis as the shared store: connection settings, a reconnecting
 * asynchronous connection on a libevent base (connect and command timeouts,
 * backoff, bounded in-flight commands), the key schema, the secrets loader
 * kept current by pub/sub, and the JSON of allocation events. Nothing here
 * ever blocks the loop it runs on. */
#ifndef TURNPIKE_STORE_STORE_H
#define TURNPIKE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conf;
struct event_base;
struct redisReply;

#define STORE_DEFAULT_PORT 6379
#define STORE_CONNECT_TIMEOUT_MS 5000 /* when the settings give none */
#define STORE_BACKOFF_MIN_MS 100      /* first retry after a failure, before jitter */
#define STORE_BACKOFF_MAX_MS 5000     /* the cap */

/* Channels: turnpikectl announces every change on the first; allocation
 * events go out on the second. */
#define STORE_CHANNEL_INVALIDATE "turnpike:invalidate"
#define STORE_CHANNEL_EVENTS "turnpike:events"
/* Live administration across a fleet (turnpikectl sessions, kill): a
 * command on the channel names a list, STORE_ADMIN_REPLY_PREFIX and 32 hex
 * digits, where each server pushes its answer; the list expires after
 * STORE_ADMIN_REPLY_TTL_S seconds. */
#define STORE_CHANNEL_ADMIN "turnpike:admin"
#define STORE_ADMIN_REPLY_PREFIX "turnpike:admin:reply:"
#define STORE_ADMIN_REPLY_TTL_S 60

#define STORE_API_KEY_LEN 32 /* an API key's SHA-256, as the servers keep it */

/* ------------------------------------------------------------------ */
/* Connection settings (addr.c). */

/* Where a Redis is and how to log in. Plain data: no allocation. */
struct store_addr {
	char host[256];      /* IP literal or host name; empty with unix_path */
	char unix_path[108]; /* unix socket path, or empty */
	uint16_t port;
	unsigned db;
	char user[128];     /* ACL user (Redis 6+), or empty for AUTH password */
	char password[256]; /* empty: no AUTH; wipe with store_addr_wipe */
	unsigned connect_timeout_ms;
};

/*
 * Parses coturn's connection string, space separated key=value pairs, all
 * optional: ip= (or host, addr, ipaddr, hostaddr), port= (or p), dbname=
 * (or db, database), password= (or pwd, passwd, secret), user= (or
 * username, uname, name), connect_timeout= (or timeout) in seconds, and
 * turnpike's unix= for a unix socket path; or a URL
 * redis://[[user]:password@]host[:port][/db] (userinfo percent-decoded,
 * IPv6 hosts in brackets). Defaults: 127.0.0.1, port 6379, db 0, connect
 * timeout STORE_CONNECT_TIMEOUT_MS (also for connect_timeout=0). Returns 0,
 * or TP_EINVAL with a reason in err that never contains the password.
 */
int store_addr_parse(const char *spec, struct store_addr *out, char *err, size_t errlen);

/* "127.0.0.1:6379/0", "[::1]:6379/2" or "unix:/run/redis.sock/0", for
 * logs: never the password. Always NUL-terminates; returns buf. */
char *store_addr_format(const struct store_addr *a, char *buf, size_t cap);

/* Wipes the password. */
void store_addr_wipe(struct store_addr *a);

/* Checks redis-userdb and redis-statsdb of a configuration. Returns 0 or
 * TP_EINVAL with the reason in err. */
int store_conf_check(const struct conf *c, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Reconnecting asynchronous connection (conn.c). */

enum store_state {
	STORE_DOWN = 0,
	STORE_CONNECTING,
	STORE_UP
};

struct store_conn;

/*
 * The end of one command: status 0 with the reply (which may be a Redis
 * error reply, type REDIS_REPLY_ERROR), or status TP_ETIMEDOUT (no answer
 * within the command timeout: the connection is dropped and reopened) or
 * TP_ECLOSED (connection lost or closed) with r NULL. The reply is freed
 * when the callback returns.
 */
typedef void (*store_reply_fn)(struct store_conn *c, const struct redisReply *r, int status,
			       void *arg);
/* A message on a subscribed channel (subscriber connections). */
typedef void (*store_message_fn)(void *arg, const char *channel, const char *msg, size_t len);
/* The connection changed state (on its loop's thread). */
typedef void (*store_state_fn)(void *arg, enum store_state state);

struct store_conn_opts {
	const char *name;      /* for logs, e.g. "userdb" */
	unsigned timeout_ms;   /* per command; 0: STORE_CONNECT_TIMEOUT_MS */
	unsigned max_inflight; /* commands awaiting an answer; 0: 1024 */
	/* Subscriber mode: SUBSCRIBE to these channels on every connect; no
	 * commands. UP once the server confirmed every subscription. */
	const char *const *channels;
	size_t nchannels;
	store_message_fn on_message;
	store_state_fn on_state; /* optional */
	void *arg;               /* for on_message and on_state */
};

/* Counters, written by the connection's thread only (read with relaxed
 * loads: store_conn_stats). */
struct store_conn_stats {
	uint64_t commands;         /* sent */
	uint64_t replies;          /* answered (error replies included) */
	uint64_t error_replies;    /* of which Redis errors */
	uint64_t timeouts;         /* commands failed by the command timeout */
	uint64_t failed;           /* commands failed by a lost connection */
	uint64_t rejected_down;    /* refused at once: not connected */
	uint64_t rejected_full;    /* refused at once: max_inflight reached */
	uint64_t connects;         /* handshakes completed */
	uint64_t connect_failures; /* attempts that failed or timed out */
	uint64_t protocol_errors;  /* unexpected or malformed answers */
};

/*
 * Creates a connection on base (a copy of addr is kept) and starts
 * connecting: AUTH when a password is set, SELECT, then (subscribers)
 * SUBSCRIBE; the connect timeout covers all of it. On failure it retries
 * after store_backoff_ms. A host name is resolved here, once (blocking: call
 * at start, not on a running worker). Returns NULL when out of memory or
 * the name does not resolve (logged).
 */
struct store_conn *store_conn_new(struct event_base *base, const struct store_addr *addr,
				  const struct store_conn_opts *opts);
/* Closes the connection: every pending callback fires with TP_ECLOSED
 * before this returns. Call on the loop's thread (or with the loop
 * stopped), never from one of its callbacks. NULL is a no-op. */
void store_conn_free(struct store_conn *c);

/* Waiting for the next attempt: make it now (another connection to the
 * same Redis just got through). Same thread as the connection. */
void store_conn_kick(struct store_conn *c);

/* Writes what is queued for Redis now (a non-blocking write), not on the
 * loop's next turn: at shutdown, when the loop will not run again, or to
 * send a command before an answer the caller is about to send. Does
 * nothing from inside one of the connection's reply callbacks. Never runs
 * a callback itself: when the write fails, the connection is torn down (and
 * pending commands fail) on the loop's next turn. Same thread as the
 * connection, or its loop stopped. */
void store_conn_flush(struct store_conn *c);

/* The state, from any thread (relaxed atomic load). */
enum store_state store_conn_state(const struct store_conn *c);
/* A copy of the counters, from any thread. */
void store_conn_stats(const struct store_conn *c, struct store_conn_stats *out);

/*
 * Sends a command (hiredis format, e.g. "SMEMBERS %s" or "%b" for binary).
 * Returns 0 and then cb fires exactly once, later, never from inside this
 * call; or fails at once without calling cb: TP_ECLOSED (not connected),
 * TP_EAGAIN (max_inflight commands already wait: counted), TP_EINVAL
 * (subscriber connection, bad format).
 */
int store_conn_cmd(struct store_conn *c, store_reply_fn cb, void *arg, const char *fmt, ...);
/* The same with an argument vector (binary safe). */
int store_conn_cmd_argv(struct store_conn *c, store_reply_fn cb, void *arg, int argc,
			const char **argv, const size_t *lens);

/*
 * Delay before reconnect attempt number attempt (0 for the first retry):
 * STORE_BACKOFF_MIN_MS doubled per attempt, capped at STORE_BACKOFF_MAX_MS,
 * then "equal jitter": a value in [d/2, d] chosen by rnd.
 */
unsigned store_backoff_ms(unsigned attempt, uint32_t rnd);

/* ------------------------------------------------------------------ */
/* The key schema (keys.c). Each writes a NUL-terminated name into buf and
 * returns its length, or 0 when it does not fit or an argument is not
 * acceptable in a key (empty, or with a control character). */

/* coturn's set of REST secrets: turn/realm/<realm>/secret */
size_t store_key_secrets(char *buf, size_t cap, const char *realm);
/* turnpike's sorted set of secret tags scored by when they were added (Unix ms), so
 * the newest secret is known: turnpike:realm/<realm>/secret-age */
size_t store_key_secret_ages(char *buf, size_t cap, const char *realm);
/* turnpike's set of REST hook API keys, each as 64 hex digits of its
 * SHA-256 (the keys themselves are not stored):
 * turnpike:realm/<realm>/api-keys */
size_t store_key_api_keys(char *buf, size_t cap, const char *realm);
/* coturn's long-term key, hex MD5: turn/realm/<realm>/user/<name>/key */
size_t store_key_user(char *buf, size_t cap, const char *realm, const char *name);
/* turnpike's SHA-256 key: turnpike:realm/<realm>/user/<name>/sha256 */
size_t store_key_user_sha256(char *buf, size_t cap, const char *realm, const char *name);
/* turnpike's fleet-wide user-quota: a sorted set of allocation ids (hex)
 * scored by when they end (Redis clock, Unix ms):
 * turnpike:realm/<realm>/quota/<user> */
size_t store_key_quota(char *buf, size_t cap, const char *realm, const char *user);
/* SCAN MATCH pattern for every user key of a realm (glob characters in the
 * realm escaped). */
size_t store_key_users_pattern(char *buf, size_t cap, const char *realm);
/* The user name in a key store_key_user or store_key_user_sha256 made, or
 * 0 when it is neither. */
size_t store_key_user_name(const char *key, size_t klen, const char *realm, char *name, size_t cap);
/* Keyspace notification channel of a key: __keyspace@<db>__:<key> */
size_t store_channel_keyspace(char *buf, size_t cap, unsigned db, const char *key);
/* Keyevent notification channel of an event (the message is the key's
 * name): __keyevent@<db>__:<event> */
size_t store_channel_keyevent(char *buf, size_t cap, unsigned db, const char *event);

/* The tag of a secret in the secret-age set: 16 hex digits of SHA-256 of
 * a fixed label and the secret (the secret itself is not repeated).
 * Returns 0 or TP_ECRYPTO. */
int store_secret_tag(const char *secret, size_t len, char out[17]);

/* What the API-key set holds for key: 64 lowercase hex digits of its
 * SHA-256. Returns 0 or TP_ECRYPTO. */
int store_api_key_digest(const char *key, char out[2 * STORE_API_KEY_LEN + 1]);

/* Orders secrets oldest first: those whose tag is not in ages (the
 * secret-age set, oldest first) first, in byte order, then by age; the last
 * is the newest, used to issue credentials. Returns 0 or TP_ENOMEM. */
int store_secrets_sort(const char **v, size_t n, const char *const *ages, size_t nages);

/* ------------------------------------------------------------------ */
/* Secrets kept current (secrets.c). */

/*
 * A fresh list of the realm's secrets, oldest first (those with no known
 * age first, in byte order; then by the time turnpikectl added them), on
 * the loop's thread; called only when the list changed. The strings are
 * valid during the call.
 */
typedef void (*store_secrets_fn)(void *arg, const char *const *secrets, size_t n);

/* REST hook API keys as SHA-256 digests, sorted by bytes; called only when
 * the set changed. */
typedef void (*store_api_keys_fn)(void *arg, const uint8_t (*digests)[STORE_API_KEY_LEN], size_t n);

struct store_secrets;

/*
 * Loads the secrets of realm with SMEMBERS on a command connection: on
 * connect, every refresh_s seconds, and at once when told of a change: a
 * message on STORE_CHANNEL_INVALIDATE, or a keyspace notification of the
 * secret set (when the Redis has notify-keyspace-events with K and g, or
 * s), on a second, subscriber connection. While Redis is away the last list
 * stands. Returns NULL when out of memory.
 */
struct store_secrets *store_secrets_new(struct event_base *base, const struct store_addr *addr,
					const char *realm, unsigned refresh_s, unsigned timeout_ms,
					store_secrets_fn fn, void *arg);
/* Also loads the realm's REST hook API keys (store_key_api_keys) with
 * every load, and at once when their set changes; members that are not 64
 * hex digits are ignored. Call right after store_secrets_new. */
void store_secrets_on_api_keys(struct store_secrets *s, store_api_keys_fn fn, void *arg);
void store_secrets_free(struct store_secrets *s);
/* Its command connection, for state and counters. */
struct store_conn *store_secrets_conn(struct store_secrets *s);

/* ------------------------------------------------------------------ */
/* JSON (json.c). */

/*
 * Writes s[0..len) as a quoted JSON string (RFC 8259 §7): '"', '\' and
 * control characters escaped, U+2028/U+2029 as \u escapes, bytes that are
 * not valid UTF-8 as \ufffd. NUL-terminates. Returns the length written
 * (at least 2), or 0 when cap is too small.
 */
size_t store_json_string(char *out, size_t cap, const void *s, size_t len);

#define STORE_ALLOC_ID_LEN 16 /* random bytes of an allocation id */
#define STORE_EVENT_MAX 4096  /* room for any event */

/* One allocation event, as the network layer sees it. */
struct store_event {
	const char *event;  /* created, refreshed, interim, deleted, expired */
	const char *reason; /* why it was deleted, or NULL */
	const uint8_t *id;  /* STORE_ALLOC_ID_LEN bytes */
	uint32_t seq;       /* this allocation's events, from 1 */
	uint64_t time;      /* Unix seconds */
	const char *server; /* this host's name, or NULL */
	const char *realm;
	const char *user; /* USERNAME bytes as received; "" under no-auth */
	size_t ulen;
	const char *transport; /* udp, tcp, ... */
	const struct sockaddr *client;
	const struct sockaddr *relay;
	const struct sockaddr *relay2;         /* a dual allocation's second, or NULL */
	uint64_t lifetime;                     /* seconds left; 0 once ended */
	uint64_t age_ms;                       /* since it was created */
	uint64_t client_packets, client_bytes; /* from the client, relayed to peers */
	uint64_t peer_packets, peer_bytes;     /* from peers, relayed to the client */
};

/* The event as one line of JSON (no newline), NUL-terminated. Returns its
 * length, or 0 when cap is too small. */
size_t store_event_json(const struct store_event *ev, char *out, size_t cap);

#endif
