/* admin.c - live administration (turnpikectl sessions and kill): a
 * request from the main thread (the HTTP admin endpoints, or a command from
 * Redis, admin_redis.c) goes to every worker's inbox; each worker lists or
 * ends its own allocations from its own loop, at a safe point between
 * packets, and the last one to answer wakes the main thread, which puts the
 * answer together as JSON. No thread reads another's tables; the main
 * thread never waits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/log.h"

#define INBOX_MAX 16   /* requests queued per worker */
#define PENDING_MAX 16 /* requests in flight per server */
#define LIST_MAX 10000 /* sessions listed per worker; more: "truncated" */
#define KILL_BATCH 256 /* allocations collected per table pass */

/* One worker's share of an answer. */
struct admin_part {
	char *buf; /* JSON objects, comma separated */
	size_t len, cap;
	unsigned n;     /* listed or ended */
	bool truncated; /* LIST_MAX reached, or out of memory */
	bool busy;      /* its inbox was full: not asked */
};

struct admin_req {
	struct server *srv;
	bool kill;
	bool by_id;
	uint8_t id[TURN_ALLOC_ID_LEN];
	char user[TURN_USERNAME_MAX + 1]; /* "" for everyone */
	size_t ulen;
	admin_done_fn done;
	void *arg;
	bool cancelled;         /* main thread: nobody waits for the answer */
	unsigned pending;       /* workers that have not answered (atomic) */
	struct event *ev;       /* main thread: the last worker answered */
	struct admin_req *next; /* srv->admin_reqs */
	struct admin_part parts[];
};

struct admin_inbox {
	pthread_mutex_t lock;
	struct admin_req *box[INBOX_MAX];
	unsigned n;
	struct event *ev;
};

/* ---- the worker's side ---- */

/* Whether a is the one asked for: its id, or its user: the whole USERNAME
 * or (REST credentials, "expiry:user") the user part the quota counts. */
static bool match(const struct admin_req *r, const struct turn_alloc *a)
{
	if (r->by_id)
		return memcmp(a->id, r->id, sizeof(a->id)) == 0;
	if (r->ulen == 0)
		return true;
	if (a->ulen == r->ulen && memcmp(a->username, r->user, r->ulen) == 0)
		return true;
	return a->quota_len == r->ulen && memcmp(a->username + a->quota_off, r->user, r->ulen) == 0;
}

struct walk {
	struct worker *w;
	struct admin_req *r;
	struct admin_part *p;
	struct turn_alloc *kill[KILL_BATCH];
	size_t nkill;
};

static bool part_add(struct admin_part *p, const char *s, size_t len)
{
	size_t need = p->len + len + 2;

	if (need > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		char *b;
		while (cap < need)
			cap *= 2;
		if (!(b = realloc(p->buf, cap)))
			return false;
		p->buf = b;
		p->cap = cap;
	}
	if (p->len)
		p->buf[p->len++] = ',';
	memcpy(p->buf + p->len, s, len);
	p->len += len;
	return true;
}

static void list_one(struct turn_alloc *a, void *arg)
{
	struct walk *k = arg;
	struct store_event ev;
	char json[STORE_EVENT_MAX];
	size_t len;

	if (!match(k->r, a) || k->p->truncated)
		return;
	if (k->p->n >= LIST_MAX) {
		k->p->truncated = true;
		return;
	}
	session_event_view(k->w, a, "session", NULL, false, &ev);
	ev.server = k->w->srv->admin_name; /* which of a fleet's servers on one host */
	len = store_event_json(&ev, json, sizeof(json));
	if (len == 0 || !part_add(k->p, json, len)) {
		k->p->truncated = true;
		return;
	}
	k->p->n++;
}

static void kill_one(struct turn_alloc *a, void *arg)
{
	struct walk *k = arg;

	if (k->nkill < KILL_BATCH && match(k->r, a))
		k->kill[k->nkill++] = a;
}

static void serve(struct worker *w, struct admin_req *r)
{
	struct walk k = {.w = w, .r = r, .p = &r->parts[w->id]};
	size_t cursor = 0;

	worker_clock(w);
	if (!r->kill) {
		turn_table_walk(&w->ctx.table, &cursor, w->ctx.table.nbuckets, list_one, &k);
		return;
	}
	/* The walk must not free what it visits: collect, then end them; a
	 * full batch means there may be more, so walk again. */
	do {
		k.nkill = 0;
		cursor = 0;
		turn_table_walk(&w->ctx.table, &cursor, w->ctx.table.nbuckets, kill_one, &k);
		for (size_t i = 0; i < k.nkill; i++)
			turn_alloc_kill(&w->ctx, k.kill[i]);
		k.p->n += (unsigned)k.nkill;
	} while (k.nkill == KILL_BATCH);
}

/* The worker is done with r: the last one wakes the main thread. r may
 * be freed as soon as the count reaches 0, so nothing touches it after. */
static void answered(struct admin_req *r)
{
	struct event *ev = r->ev;

	if (__atomic_sub_fetch(&r->pending, 1, __ATOMIC_ACQ_REL) == 0)
		event_active(ev, EV_TIMEOUT, 0);
}

static void inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct admin_inbox *in = w->admin;
	struct admin_req *box[INBOX_MAX];
	unsigned n;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&in->lock);
	n = in->n;
	memcpy(box, in->box, n * sizeof(box[0]));
	in->n = 0;
	pthread_mutex_unlock(&in->lock);
	for (unsigned i = 0; i < n; i++) {
		serve(w, box[i]);
		answered(box[i]);
	}
}

int admin_worker_init(struct worker *w)
{
	struct admin_inbox *in = calloc(1, sizeof(*in));

	if (!in)
		return TP_ENOMEM;
	pthread_mutex_init(&in->lock, NULL);
	w->admin = in;
	in->ev = event_new(w->base, -1, 0, inbox_cb, w);
	return in->ev ? 0 : TP_ENOMEM;
}

void admin_worker_cleanup(struct worker *w)
{
	struct admin_inbox *in = w->admin;

	if (!in)
		return;
	/* The worker stopped: what it was not asked yet is answered empty. */
	for (unsigned i = 0; i < in->n; i++)
		answered(in->box[i]);
	if (in->ev)
		event_free(in->ev);
	pthread_mutex_destroy(&in->lock);
	free(in);
	w->admin = NULL;
}

/* ---- the main thread's side ---- */

static void req_free(struct admin_req *r)
{
	for (size_t i = 0; i < r->srv->nworkers; i++)
		free(r->parts[i].buf);
	if (r->ev)
		event_free(r->ev);
	free(r);
}

static void unlink_req(struct admin_req *r)
{
	struct admin_req **pp = &r->srv->admin_reqs;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = r->next;
		r->srv->nadmin_reqs--;
	}
}

/* {"server":NAME,"sessions":[...],"truncated":BOOL} or
 * {"server":NAME,"ended":N,"busy":BOOL}, into a malloc'd string. */
static char *answer(const struct admin_req *r, size_t *len)
{
	const struct server *srv = r->srv;
	char name[STORE_EVENT_MAX / 8], head[STORE_EVENT_MAX / 4];
	size_t total = 0, off;
	unsigned n = 0;
	bool truncated = false, busy = false, first = true;
	char *s;
	int hl;

	for (size_t i = 0; i < srv->nworkers; i++) {
		total += r->parts[i].len + 1;
		n += r->parts[i].n;
		truncated |= r->parts[i].truncated;
		busy |= r->parts[i].busy;
	}
	if (store_json_string(name, sizeof(name), srv->admin_name, strlen(srv->admin_name)) == 0)
		snprintf(name, sizeof(name), "\"\"");
	if (r->kill)
		hl = snprintf(head, sizeof(head), "{\"server\":%s,\"ended\":%u,\"busy\":%s}", name,
			      n, busy ? "true" : "false");
	else
		hl = snprintf(head, sizeof(head), "{\"server\":%s,\"sessions\":[", name);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return NULL;
	s = malloc((size_t)hl + total + 64);
	if (!s)
		return NULL;
	memcpy(s, head, (size_t)hl);
	off = (size_t)hl;
	if (!r->kill) {
		for (size_t i = 0; i < srv->nworkers; i++) {
			if (!r->parts[i].len)
				continue;
			if (!first)
				s[off++] = ',';
			memcpy(s + off, r->parts[i].buf, r->parts[i].len);
			off += r->parts[i].len;
			first = false;
		}
		off += (size_t)sprintf(s + off, "],\"truncated\":%s,\"busy\":%s}",
				       truncated ? "true" : "false", busy ? "true" : "false");
	}
	s[off] = '\0';
	*len = off;
	return s;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_req *r = arg;
	char *json = NULL;
	size_t len = 0;
	(void)fd;
	(void)what;

	unlink_req(r);
	if (r->kill) {
		char who[3 * TURN_USERNAME_MAX + 8], id[2 * TURN_ALLOC_ID_LEN + 1];
		unsigned n = 0;
		for (size_t i = 0; i < r->srv->nworkers; i++)
			n += r->parts[i].n;
		if (r->by_id) {
			hex_encode(r->id, sizeof(r->id), id);
			log_info("admin: kill %s: %u allocation%s ended", id, n, n == 1 ? "" : "s");
		} else {
			log_escape(who, sizeof(who), r->user, r->ulen);
			log_info("admin: kill user \"%s\": %u allocation%s ended", who, n,
				 n == 1 ? "" : "s");
		}
	}
	if (!r->cancelled) {
		json = answer(r, &len);
		r->done(r->arg, json, len);
	}
	free(json);
	req_free(r);
}

static struct admin_req *start(struct server *srv, bool kill, const uint8_t *id, const char *user,
			       admin_done_fn done, void *arg)
{
	struct admin_req *r;
	size_t ulen = user ? strlen(user) : 0;

	if (srv->nadmin_reqs >= PENDING_MAX || ulen > TURN_USERNAME_MAX || !srv->workers ||
	    !srv->admin_base)
		return NULL;
	r = calloc(1, sizeof(*r) + srv->nworkers * sizeof(r->parts[0]));
	if (!r)
		return NULL;
	r->srv = srv;
	r->kill = kill;
	if (id) {
		r->by_id = true;
		memcpy(r->id, id, sizeof(r->id));
	}
	if (ulen)
		memcpy(r->user, user, ulen);
	r->ulen = ulen;
	r->done = done;
	r->arg = arg;
	r->ev = event_new(srv->admin_base, -1, 0, done_cb, r);
	if (!r->ev) {
		free(r);
		return NULL;
	}
	r->next = srv->admin_reqs;
	srv->admin_reqs = r;
	srv->nadmin_reqs++;
	/* Counted before any worker can answer; one more for this loop, given
	 * back below, so the last answer cannot come before every post. */
	r->pending = (unsigned)srv->nworkers + 1;
	for (size_t i = 0; i < srv->nworkers; i++) {
		struct admin_inbox *in = srv->workers[i].admin;
		bool posted = false;

		pthread_mutex_lock(&in->lock);
		if (in->n < INBOX_MAX) {
			in->box[in->n++] = r;
			posted = true;
		}
		pthread_mutex_unlock(&in->lock);
		if (posted) {
			event_active(in->ev, EV_TIMEOUT, 0);
		} else {
			r->parts[i].busy = true;
			__atomic_sub_fetch(&r->pending, 1, __ATOMIC_ACQ_REL);
		}
	}
	answered(r);
	return r;
}

void *admin_sessions(void *env, const char *user, admin_done_fn done, void *arg)
{
	return start(env, false, NULL, user, done, arg);
}

void *admin_kill(void *env, const uint8_t *id, const char *user, admin_done_fn done, void *arg)
{
	/* Everyone is never meant: an id or a user name it must be. */
	if (!id && (!user || !*user))
		return NULL;
	return start(env, true, id, user, done, arg);
}

void admin_cancel(void *env, void *handle)
{
	struct admin_req *r = handle;
	(void)env;

	if (r)
		r->cancelled = true;
}

int admin_start(struct server *srv, struct event_base *base)
{
	const struct conf *c = srv->conf;

	srv->admin_base = base;
	snprintf(srv->admin_name, sizeof(srv->admin_name), "%s:%ld",
		 srv->hostname[0] ? srv->hostname : "localhost", c->listening_port);
	return admin_redis_start(srv, base);
}

void admin_cleanup(struct server *srv)
{
	struct admin_req *r, *next;

	admin_redis_stop(srv); /* first: it cancels what it asked for */
	/* The workers are stopped and cleaned up: nothing refers to these. */
	for (r = srv->admin_reqs; r; r = next) {
		next = r->next;
		req_free(r);
	}
	srv->admin_reqs = NULL;
	srv->nadmin_reqs = 0;
}
