/* conn.c - a reconnecting asynchronous Redis connection: hiredis 0.14 with
 * its libevent adapter; AUTH and SELECT (and SUBSCRIBE) on connect; connect
 * and command timeouts on our own timers, since hiredis 0.14 has none;
 * reconnect with capped exponential backoff and jitter; a bounded number of
 * commands in flight; and a guard on the reply parser that turns answers
 * hiredis would assert on (replies nobody asked for, malformed pub/sub
 * messages) into a clean disconnect. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis.h>
#include <async.h>
#include <adapters/libevent.h>

#include "store/store.h"
#include "turnpike/err.h"
#include "util/log.h"
#include "util/rand.h"

#define DEFAULT_INFLIGHT 1024
#define MAX_ELEMENTS 1000000 /* a longer array is not an answer we asked for */
#define LABEL_LEN 192

struct req {
	struct store_conn *c;
	store_reply_fn cb;
	void *arg;
	uint64_t deadline_ms;
	struct req *next;
};

struct store_conn {
	struct event_base *base;
	struct store_addr addr;
	char ip[INET6_ADDRSTRLEN];       /* the host, resolved once */
	char label[LABEL_LEN];           /* "name (addr)" for logs */
	redisAsyncContext *ac;           /* NULL between attempts */
	redisReplyObjectFunctions *orig; /* hiredis's reply builders, behind our guard */
	int state;                       /* enum store_state; relaxed atomic */
	bool dying;                      /* ac is being torn down: no new commands */
	bool killing;                    /* a teardown is scheduled (kill_ev), why in why */
	bool freeing;
	int fail_status; /* what pending commands hear on teardown */
	int kill_status;
	const char *guard_why; /* why the guard refused an answer */
	char why[160];         /* reason of the last failure */
	unsigned handshake;    /* handshake replies still awaited */
	unsigned subs_pending; /* subscriptions not yet confirmed */
	unsigned attempt;      /* failed attempts in a row */
	bool ever_up, down_logged;
	uint64_t down_since_ms;
	uint64_t connect_deadline_ms;
	struct event *retry_ev, *timer_ev, *kill_ev;
	struct req *pool, *free, *head, *tail;
	unsigned inflight, max_inflight, timeout_ms;
	unsigned in_cb; /* inside hiredis's reply processing: no flush */
	char **channels;
	size_t nchannels;
	store_message_fn on_message;
	store_state_fn on_state;
	void *arg;
	struct store_conn_stats st;
};

#define ST_INC(f) __atomic_store_n(&(f), (f) + 1, __ATOMIC_RELAXED)
#define ST_ADD(f, n) __atomic_store_n(&(f), (f) + (n), __ATOMIC_RELAXED)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void timer_in(struct event *ev, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

unsigned store_backoff_ms(unsigned attempt, uint32_t rnd)
{
	unsigned d = STORE_BACKOFF_MIN_MS;

	for (unsigned i = 0; i < attempt && d < STORE_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > STORE_BACKOFF_MAX_MS)
		d = STORE_BACKOFF_MAX_MS;
	return d / 2 + rnd % (d - d / 2 + 1);
}

static void set_state(struct store_conn *c, enum store_state s)
{
	if (c->state == (int)s)
		return;
	__atomic_store_n(&c->state, (int)s, __ATOMIC_RELAXED);
	if (c->on_state && !c->freeing)
		c->on_state(c->arg, s);
}

enum store_state store_conn_state(const struct store_conn *c)
{
	return (enum store_state)__atomic_load_n(&c->state, __ATOMIC_RELAXED);
}

void store_conn_stats(const struct store_conn *c, struct store_conn_stats *out)
{
	const uint64_t *s = (const uint64_t *)&c->st;
	uint64_t *d = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* ---- failure, teardown, retry ---- */

/* The attempt or the live connection failed (the hiredis context is gone
 * or going): log it once per outage, retry after the backoff. */
static void fail(struct store_conn *c, const char *why)
{
	uint32_t rnd = 0;
	unsigned delay;

	event_del(c->kill_ev);
	event_del(c->timer_ev);
	if (c->state != STORE_UP)
		ST_INC(c->st.connect_failures);
	if (c->freeing)
		return;
	if (!c->down_logged) {
		log_warn("redis %s: %s; reconnecting in the background", c->label, why);
		c->down_logged = true;
		c->down_since_ms = now_ms();
	} else {
		log_debug("redis %s: attempt %u: %s", c->label, c->attempt + 1, why);
	}
	set_state(c, STORE_DOWN);
	rand_bytes(&rnd, sizeof(rnd));
	delay = store_backoff_ms(c->attempt, rnd);
	if (c->attempt < 64)
		c->attempt++;
	timer_in(c->retry_ev, delay);
}

/* Frees the hiredis context now: every pending command's callback fires
 * with status. Never from inside a hiredis callback (see kill_later). */
static void teardown(struct store_conn *c, int status, const char *why)
{
	redisAsyncContext *ac = c->ac;

	c->ac = NULL;
	c->dying = true;
	c->fail_status = status;
	if (ac)
		redisAsyncFree(ac);
	c->dying = false;
	fail(c, why);
}

/* From inside a hiredis callback: tear down on the next loop turn. */
static void kill_later(struct store_conn *c, int status)
{
	c->dying = true;
	c->killing = true;
	c->kill_status = status;
	event_active(c->kill_ev, EV_TIMEOUT, 0);
}

static void kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_conn *c = arg;
	(void)fd;
	(void)what;

	if (c->ac && c->killing)
		teardown(c, c->kill_status, c->why);
}

static void go_up(struct store_conn *c)
{
	ST_INC(c->st.connects);
	if (c->down_logged)
		log_info("redis %s: connected %s after %llu ms", c->label,
			 c->ever_up ? "again" : "at last",
			 (unsigned long long)(now_ms() - c->down_since_ms));
	else
		log_info("redis %s: connected", c->label);
	c->down_logged = false;
	c->ever_up = true;
	c->attempt = 0;
	event_del(c->timer_ev);
	set_state(c, STORE_UP);
}

/* ---- the guard on the reply parser ---- */

static bool refuse(struct store_conn *c, const char *why)
{
	c->guard_why = why;
	ST_INC(c->st.protocol_errors);
	return false;
}

static bool is_channel(const struct store_conn *c, const char *s, size_t len)
{
	for (size_t i = 0; i < c->nchannels; i++)
		if (strlen(c->channels[i]) == len && memcmp(c->channels[i], s, len) == 0)
			return true;
	return false;
}

/*
 * Whether hiredis may build this part of an answer. hiredis 0.14 asserts
 * when a reply arrives with no command waiting on an unsubscribed context,
 * and when a pub/sub message is not [string, string, ...]; and it would
 * hand a message for an unknown channel to the previous callback. Refusing
 * makes the parser fail, which hiredis handles as a disconnect.
 */
static bool admit(const redisReadTask *t, int type, long long n, const char *str, size_t len,
		  struct store_conn **out)
{
	const redisReadTask *root = t;
	redisAsyncContext *ac;
	struct store_conn *c;

	while (root->parent)
		root = root->parent;
	ac = root->privdata;
	c = ac ? ac->data : NULL;
	*out = c;
	if (!c || !c->orig)
		return false;
	if (type == REDIS_REPLY_ARRAY && n > MAX_ELEMENTS)
		return refuse(c, "an answer with too many elements");
	if (ac->replies.head)
		return true; /* a command waits for it */
	if (!(ac->c.flags & REDIS_SUBSCRIBED) || c->nchannels == 0)
		return refuse(c, "an answer nobody asked for");
	/* A pub/sub message: ["subscribe"|"message", our channel, x]. */
	if (!t->parent)
		return type == REDIS_REPLY_ARRAY && n == 3
			       ? true
			       : refuse(c, "a malformed pub/sub message");
	if (t->parent->parent)
		return refuse(c, "a malformed pub/sub message");
	if (t->idx == 0 &&
	    !(type == REDIS_REPLY_STRING && ((len == 9 && !strncasecmp(str, "subscribe", 9)) ||
					     (len == 7 && !strncasecmp(str, "message", 7)))))
		return refuse(c, "an unexpected pub/sub message");
	if (t->idx == 1 && !(type == REDIS_REPLY_STRING && is_channel(c, str, len)))
		return refuse(c, "a message on a channel we did not subscribe to");
	return true;
}

static void *guard_string(const redisReadTask *t, char *str, size_t len)
{
	struct store_conn *c;

	return admit(t, t->type, 0, str, len, &c) ? c->orig->createString(t, str, len) : NULL;
}

static void *guard_array(const redisReadTask *t, int n)
{
	struct store_conn *c;

	return admit(t, REDIS_REPLY_ARRAY, n, NULL, 0, &c) ? c->orig->createArray(t, n) : NULL;
}

static void *guard_integer(const redisReadTask *t, long long v)
{
	struct store_conn *c;

	return admit(t, REDIS_REPLY_INTEGER, 0, NULL, 0, &c) ? c->orig->createInteger(t, v) : NULL;
}

static void *guard_nil(const redisReadTask *t)
{
	struct store_conn *c;

	return admit(t, REDIS_REPLY_NIL, 0, NULL, 0, &c) ? c->orig->createNil(t) : NULL;
}

static redisReplyObjectFunctions guard_fns = {guard_string, guard_array, guard_integer, guard_nil,
					      freeReplyObject};

/* ---- hiredis callbacks ---- */

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct store_conn *c = ac->data;

	if (!c || c->ac != ac || status == REDIS_OK)
		return;
	/* hiredis frees the context when this returns. */
	snprintf(c->why, sizeof(c->why), "connect failed: %s", ac->errstr ? ac->errstr : "?");
	c->ac = NULL;
	fail(c, c->why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store_conn *c = ac->data;
	(void)status;

	if (!c || c->ac != ac)
		return; /* our own teardown: already handled */
	if (c->killing)
		; /* the reason is already in why */
	else if (c->guard_why)
		snprintf(c->why, sizeof(c->why), "the server sent %s", c->guard_why);
	else if (ac->err && ac->errstr)
		snprintf(c->why, sizeof(c->why), "connection lost: %s", ac->errstr);
	else
		snprintf(c->why, sizeof(c->why), "connection closed by the server");
	c->ac = NULL;
	fail(c, c->why);
}

static void sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_conn *c = priv;
	redisReply *reply = r;
	const redisReply *kind, *ch, *msg;

	if (!reply || c->ac != ac || c->dying || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3)
		return;
	kind = reply->element[0];
	ch = reply->element[1];
	msg = reply->element[2];
	if (!strcasecmp(kind->str, "subscribe")) {
		if (c->subs_pending && --c->subs_pending == 0)
			go_up(c);
	} else if (msg->type == REDIS_REPLY_STRING && c->state == STORE_UP) {
		c->on_message(c->arg, ch->str, msg->str, msg->len);
	}
}

/* Subscriber connections, once logged in. */
static int send_subscribe(struct store_conn *c)
{
	const char **sv = calloc(c->nchannels + 1, sizeof(*sv));
	size_t *sl = calloc(c->nchannels + 1, sizeof(*sl));
	int rc = REDIS_ERR;

	if (sv && sl) {
		sv[0] = "SUBSCRIBE";
		sl[0] = 9;
		for (size_t i = 0; i < c->nchannels; i++) {
			sv[i + 1] = c->channels[i];
			sl[i + 1] = strlen(c->channels[i]);
		}
		rc = redisAsyncCommandArgv(c->ac, sub_cb, c, (int)c->nchannels + 1, sv, sl);
	}
	free(sv);
	free(sl);
	if (rc != REDIS_OK)
		return TP_ENOMEM;
	c->subs_pending = (unsigned)c->nchannels;
	return 0;
}

static void handshake_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct store_conn *c = priv;
	redisReply *reply = r;
	char esc[96];

	if (!reply || c->ac != ac || c->dying)
		return;
	if (reply->type == REDIS_REPLY_ERROR || reply->type == REDIS_REPLY_NIL) {
		log_escape(esc, sizeof(esc), reply->type == REDIS_REPLY_ERROR ? reply->str : "nil",
			   reply->type == REDIS_REPLY_ERROR ? reply->len : 3);
		snprintf(c->why, sizeof(c->why), "login refused: %s", esc);
		kill_later(c, TP_ECLOSED);
		return;
	}
	if (c->handshake && --c->handshake == 0) {
		if (!c->nchannels) {
			go_up(c);
		} else if (send_subscribe(c) != 0) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			kill_later(c, TP_ECLOSED);
		}
		/* Subscribers are UP once every subscription is confirmed. */
	}
}

static void reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct req *req = priv, **pp;
	struct store_conn *c = req->c;
	store_reply_fn cb = req->cb;
	void *arg = req->arg;
	int status = r ? 0 : c->fail_status;
	(void)ac;

	if (!r)
		c->dying = true; /* hiredis is failing everything pending */
	for (pp = &c->head; *pp && *pp != req; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = req->next;
		if (c->tail == req) {
			c->tail = NULL;
			for (struct req *q = c->head; q; q = q->next)
				c->tail = q;
		}
	}
	c->inflight--;
	req->next = c->free;
	c->free = req;
	if (r) {
		ST_INC(c->st.replies);
		if (((redisReply *)r)->type == REDIS_REPLY_ERROR)
			ST_INC(c->st.error_replies);
	} else if (status == TP_ETIMEDOUT) {
		ST_INC(c->st.timeouts);
	} else {
		ST_INC(c->st.failed);
	}
	c->in_cb++;
	cb(c, r, status, arg);
	c->in_cb--;
}

/* ---- connecting ---- */

static int send_handshake(struct store_conn *c)
{
	const char *argv[3];
	size_t lens[3];
	char db[16];
	int n = 0;

	c->handshake = 0;
	if (c->addr.password[0]) {
		argv[n] = "AUTH";
		lens[n++] = 4;
		if (c->addr.user[0]) {
			argv[n] = c->addr.user;
			lens[n] = strlen(c->addr.user);
			n++;
		}
		argv[n] = c->addr.password;
		lens[n] = strlen(c->addr.password);
		n++;
		if (redisAsyncCommandArgv(c->ac, handshake_cb, c, n, argv, lens) != REDIS_OK)
			return TP_ENOMEM;
		c->handshake++;
	}
	/* SELECT even for db 0: the answer proves the server speaks. */
	snprintf(db, sizeof(db), "%u", c->addr.db);
	argv[0] = "SELECT";
	lens[0] = 6;
	argv[1] = db;
	lens[1] = strlen(db);
	if (redisAsyncCommandArgv(c->ac, handshake_cb, c, 2, argv, lens) != REDIS_OK)
		return TP_ENOMEM;
	c->handshake++;
	return 0;
}

static void start(struct store_conn *c)
{
	redisAsyncContext *ac;

	c->dying = false;
	c->killing = false;
	c->guard_why = NULL;
	c->fail_status = TP_ECLOSED;
	c->subs_pending = 0;
	set_state(c, STORE_CONNECTING);
	if (c->addr.unix_path[0])
		ac = redisAsyncConnectUnix(c->addr.unix_path);
	else
		ac = redisAsyncConnect(c->ip, c->addr.port);
	if (!ac) {
		fail(c, "out of memory");
		return;
	}
	if (ac->err) {
		snprintf(c->why, sizeof(c->why), "connect failed: %s", ac->errstr);
		redisAsyncFree(ac);
		fail(c, c->why);
		return;
	}
	ac->data = c;
	c->orig = ac->c.reader->fn;
	ac->c.reader->fn = &guard_fns;
	ac->c.reader->privdata = ac;
	if (redisLibeventAttach(ac, c->base) != REDIS_OK) {
		redisAsyncFree(ac);
		fail(c, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (!c->addr.unix_path[0])
		redisEnableKeepAlive(&ac->c);
	c->ac = ac;
	if (send_handshake(c) != 0) {
		teardown(c, TP_ECLOSED, "out of memory");
		return;
	}
	c->connect_deadline_ms = now_ms() + c->addr.connect_timeout_ms;
	timer_in(c->timer_ev, c->addr.connect_timeout_ms);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start(arg);
}

/* The connect deadline while connecting, then the oldest command's. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_conn *c = arg;
	uint64_t now = now_ms(), deadline;
	(void)fd;
	(void)what;

	if (!c->ac || c->dying)
		return;
	if (c->state != STORE_UP) {
		deadline = c->connect_deadline_ms;
		if (now >= deadline) {
			snprintf(c->why, sizeof(c->why),
				 "no answer within the connect timeout (%u ms)",
				 c->addr.connect_timeout_ms);
			teardown(c, TP_ETIMEDOUT, c->why);
			return;
		}
	} else {
		if (!c->head)
			return;
		deadline = c->head->deadline_ms;
		if (now >= deadline) {
			snprintf(
				c->why, sizeof(c->why),
				"no answer within the command timeout (%u ms), %u commands waiting",
				c->timeout_ms, c->inflight);
			teardown(c, TP_ETIMEDOUT, c->why);
			return;
		}
	}
	timer_in(c->timer_ev, deadline - now);
}

/* A host name becomes an address once, here, so no reconnect ever waits
 * for the resolver on a running loop. */
static int resolve(struct store_conn *c)
{
	struct addrinfo hints, *res = NULL;
	unsigned char buf[sizeof(struct in6_addr)];
	int rc;

	if (c->addr.unix_path[0])
		return 0;
	if (inet_pton(AF_INET, c->addr.host, buf) == 1)
		return inet_ntop(AF_INET, buf, c->ip, sizeof(c->ip)) ? 0 : TP_EINVAL;
	if (inet_pton(AF_INET6, c->addr.host, buf) == 1)
		return inet_ntop(AF_INET6, buf, c->ip, sizeof(c->ip)) ? 0 : TP_EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(c->addr.host, NULL, &hints, &res);
	if (rc != 0 || !res) {
		log_err("redis %s: cannot resolve %s: %s", c->label, c->addr.host,
			gai_strerror(rc));
		return TP_EINVAL;
	}
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, c->ip,
			  sizeof(c->ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, c->ip,
			  sizeof(c->ip));
	freeaddrinfo(res);
	log_info("redis %s: %s is %s (resolved once, at start)", c->label, c->addr.host, c->ip);
	return 0;
}

/* ---- the API ---- */

struct store_conn *store_conn_new(struct event_base *base, const struct store_addr *addr,
				  const struct store_conn_opts *o)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	char where[300];

	if (!c)
		return NULL;
	c->base = base;
	c->addr = *addr;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : STORE_CONNECT_TIMEOUT_MS;
	c->max_inflight = o->max_inflight ? o->max_inflight : DEFAULT_INFLIGHT;
	c->on_message = o->on_message;
	c->on_state = o->on_state;
	c->arg = o->arg;
	snprintf(c->label, sizeof(c->label), "%s (%s)", o->name ? o->name : "store",
		 store_addr_format(addr, where, sizeof(where)));
	if (o->nchannels) {
		if (!o->on_message)
			goto fail;
		c->channels = calloc(o->nchannels, sizeof(*c->channels));
		if (!c->channels)
			goto fail;
		for (size_t i = 0; i < o->nchannels; i++)
			if (!(c->channels[c->nchannels++] = strdup(o->channels[i])))
				goto fail;
	} else {
		c->pool = calloc(c->max_inflight, sizeof(*c->pool));
		if (!c->pool)
			goto fail;
		for (unsigned i = 0; i < c->max_inflight; i++) {
			c->pool[i].next = c->free;
			c->free = &c->pool[i];
		}
	}
	c->retry_ev = evtimer_new(base, retry_cb, c);
	c->timer_ev = evtimer_new(base, timer_cb, c);
	c->kill_ev = evtimer_new(base, kill_cb, c);
	if (!c->retry_ev || !c->timer_ev || !c->kill_ev || resolve(c) != 0)
		goto fail;
	start(c);
	return c;
fail:
	c->freeing = true;
	store_conn_free(c);
	return NULL;
}

void store_conn_free(struct store_conn *c)
{
	if (!c)
		return;
	c->freeing = true;
	if (c->ac)
		teardown(c, TP_ECLOSED, "closed");
	if (c->retry_ev)
		event_free(c->retry_ev);
	if (c->timer_ev)
		event_free(c->timer_ev);
	if (c->kill_ev)
		event_free(c->kill_ev);
	for (size_t i = 0; i < c->nchannels; i++)
		free(c->channels[i]);
	free(c->channels);
	free(c->pool);
	store_addr_wipe(&c->addr);
	free(c);
}

void store_conn_kick(struct store_conn *c)
{
	if (c && !c->ac && !c->freeing && evtimer_pending(c->retry_ev, NULL)) {
		event_del(c->retry_ev);
		timer_in(c->retry_ev, 0);
	}
}

void store_conn_flush(struct store_conn *c)
{
	int done = 0;

	/* Not from a reply callback: the loop writes it a moment later. */
	if (!c || !c->ac || c->dying || c->in_cb || c->state != STORE_UP)
		return;
	/* redisAsyncHandleWrite would, on a failed write, disconnect and run
	 * every pending callback inside our caller (a connection being freed,
	 * a request being answered). Write with the plain context instead and
	 * leave the teardown, and so the callbacks, to the loop. */
	if (redisBufferWrite(&c->ac->c, &done) == REDIS_ERR) {
		snprintf(c->why, sizeof(c->why), "connection lost: %s",
			 c->ac->c.errstr[0] ? c->ac->c.errstr : "write failed");
		kill_later(c, TP_ECLOSED);
	}
}

/* Takes a request slot, or says why not. */
static int take(struct store_conn *c, struct req **out)
{
	if (c->nchannels)
		return TP_EINVAL;
	if (!c->ac || c->dying || c->state != STORE_UP) {
		ST_INC(c->st.rejected_down);
		return TP_ECLOSED;
	}
	if (!c->free) {
		ST_INC(c->st.rejected_full);
		return TP_EAGAIN;
	}
	*out = c->free;
	return 0;
}

/* The command was queued in hiredis under req: account for it. */
static void queued(struct store_conn *c, struct req *req, store_reply_fn cb, void *arg)
{
	c->free = req->next;
	req->c = c;
	req->cb = cb;
	req->arg = arg;
	req->deadline_ms = now_ms() + c->timeout_ms;
	req->next = NULL;
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	c->inflight++;
	ST_INC(c->st.commands);
	if (!evtimer_pending(c->timer_ev, NULL))
		timer_in(c->timer_ev, c->timeout_ms);
}

int store_conn_cmd(struct store_conn *c, store_reply_fn cb, void *arg, const char *fmt, ...)
{
	struct req *req;
	va_list ap;
	int rc = take(c, &req);

	if (rc != 0)
		return rc;
	va_start(ap, fmt);
	rc = redisvAsyncCommand(c->ac, reply_cb, req, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		return TP_EINVAL;
	queued(c, req, cb, arg);
	return 0;
}

int store_conn_cmd_argv(struct store_conn *c, store_reply_fn cb, void *arg, int argc,
			const char **argv, const size_t *lens)
{
	struct req *req;
	int rc = take(c, &req);

	if (rc != 0)
		return rc;
	if (redisAsyncCommandArgv(c->ac, reply_cb, req, argc, argv, lens) != REDIS_OK)
		return TP_EINVAL;
	queued(c, req, cb, arg);
	return 0;
}
