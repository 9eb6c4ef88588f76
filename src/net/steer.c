/* steer.c - the fleet's registry of servers in Redis (redis-statsdb), so
 * that an Allocate this server cannot take goes to the least loaded other
 * server: every STEER_EVERY_MS the main thread writes this server's entry
 * (its announce-address, load and whether it drains) into one hash and
 * reads everyone's; a worker picks from the last reading, under a lock,
 * only when it would otherwise answer 508 (never on the packet path). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis.h>

#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"

#define STEER_KEY "turnpike:servers"
#define STEER_EVERY_MS 2000
#define STEER_STALE_MS 10000   /* an entry not refreshed this long is ignored */
#define STEER_FORGET_MS 300000 /* and one this old is removed */
#define STEER_MAX 64           /* addresses kept from a reading */
#define STEER_ANNOUNCE_MAX 4

struct steer_entry {
	struct sockaddr_storage addr;
	unsigned load; /* permille of capacity */
};

struct steer {
	struct server *srv;
	struct store_conn *conn;
	struct event *tick;
	char field[ADDR_STRLEN]; /* ours: the first announce-address, or "" */
	uint64_t capacity;       /* allocations this server may hold */
	pthread_mutex_t lock;    /* v and n, shared with the workers */
	struct steer_entry v[STEER_MAX];
	size_t n;
};

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Load in permille of what this server may hold. */
static unsigned load_now(const struct steer *s)
{
	struct turn_stats st;
	uint64_t active = 0;

	server_stats(s->srv, &st);
	for (int t = 0; t < TP_TRANSPORT_MAX; t++)
		active += st.alloc_active[t];
	return s->capacity ? (unsigned)(active >= s->capacity ? 1000 : active * 1000 / s->capacity)
			   : 1000;
}

static void done_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	(void)c;
	(void)r;
	(void)status;
	(void)arg;
}

/* One field's value: "UNIX_MS LOAD DRAINING ADDR [ADDR...]". Adds its
 * addresses to v (up to max); returns how many, or -1 when stale. */
static int parse_entry(const char *val, uint64_t now, struct steer_entry *v, size_t max,
		       bool *forget)
{
	char buf[512], *save = NULL, *tok;
	unsigned long long ms;
	unsigned load, draining;
	int n = 0;

	*forget = false;
	if (strlen(val) >= sizeof(buf) || sscanf(val, "%llu %u %u", &ms, &load, &draining) != 3)
		return -1;
	if (ms + STEER_STALE_MS < now) {
		*forget = ms + STEER_FORGET_MS < now;
		return -1;
	}
	if (draining)
		return 0;
	strcpy(buf, val);
	strtok_r(buf, " ", &save);
	strtok_r(NULL, " ", &save);
	strtok_r(NULL, " ", &save);
	while ((tok = strtok_r(NULL, " ", &save)) && (size_t)n < max) {
		if (addr_parse(tok, 3478, &v[n].addr) != 0)
			continue;
		v[n].load = load > 1000 ? 1000 : load;
		n++;
	}
	return n;
}

static int by_load(const void *a, const void *b)
{
	const struct steer_entry *x = a, *y = b;

	return (x->load > y->load) - (x->load < y->load);
}

static void read_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct steer *s = arg;
	struct steer_entry v[STEER_MAX];
	uint64_t now = unix_ms();
	size_t n = 0;
	(void)c;

	if (status != 0 || r->type != REDIS_REPLY_ARRAY)
		return; /* the last reading stays until Redis answers again */
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const struct redisReply *f = r->element[i], *val = r->element[i + 1];
		bool forget;
		int got;

		if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
			continue;
		if (s->field[0] && strcmp(f->str, s->field) == 0)
			continue; /* ourselves */
		got = parse_entry(val->str, now, v + n, STEER_MAX - n, &forget);
		if (got > 0)
			n += (size_t)got;
		if (forget)
			store_conn_cmd(s->conn, done_cb, s, "HDEL %s %s", STEER_KEY, f->str);
	}
	qsort(v, n, sizeof(v[0]), by_load);
	pthread_mutex_lock(&s->lock);
	memcpy(s->v, v, n * sizeof(v[0]));
	s->n = n;
	pthread_mutex_unlock(&s->lock);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct steer *s = arg;
	const struct conf *c = s->srv->conf;
	struct timeval every = {STEER_EVERY_MS / 1000, (STEER_EVERY_MS % 1000) * 1000};
	(void)fd;
	(void)what;

	if (s->field[0]) {
		char val[512];
		size_t len;
		bool draining = __atomic_load_n(&s->srv->turn_cfg.draining, __ATOMIC_RELAXED);

		len = (size_t)snprintf(val, sizeof(val), "%llu %u %d",
				       (unsigned long long)unix_ms(), load_now(s),
				       draining ? 1 : 0);
		for (size_t i = 0; i < c->announce_address.n && len < sizeof(val); i++)
			len += (size_t)snprintf(val + len, sizeof(val) - len, " %s",
						c->announce_address.v[i]);
		store_conn_cmd(s->conn, done_cb, s, "HSET %s %s %s", STEER_KEY, s->field, val);
	}
	store_conn_cmd(s->conn, read_cb, s, "HGETALL %s", STEER_KEY);
	evtimer_add(s->tick, &every);
}

int steer_pick(void *env, int family, struct sockaddr_storage *out)
{
	struct worker *w = env;
	struct steer *s = __atomic_load_n(&w->srv->steer, __ATOMIC_ACQUIRE);
	struct steer_entry *best = NULL;

	if (!s)
		return TP_ENOTFOUND; /* not started yet */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].addr.ss_family == family && (!best || s->v[i].load < best->load))
			best = &s->v[i];
	if (best) {
		*out = best->addr;
		best->load++;
	}
	pthread_mutex_unlock(&s->lock);
	return best ? 0 : TP_ENOTFOUND;
}

int steer_start(struct server *srv, struct event_base *base)
{
	const struct conf *c = srv->conf;
	struct store_conn_opts o;
	struct steer *s;

	if (!srv->statsdb)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return TP_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->srv = srv;
	if (c->announce_address.n)
		snprintf(s->field, sizeof(s->field), "%s", c->announce_address.v[0]);
	s->capacity = c->total_quota ? (uint64_t)c->total_quota
				     : (uint64_t)(c->max_port - c->min_port + 1) *
					       (srv->nrelay[0] + srv->nrelay[1]);
	memset(&o, 0, sizeof(o));
	o.name = "statsdb registry";
	o.timeout_ms = (unsigned)c->redis_timeout;
	s->conn = store_conn_new(base, srv->statsdb, &o);
	s->tick = evtimer_new(base, tick_cb, s);
	if (!s->conn || !s->tick) {
		if (s->tick)
			event_free(s->tick);
		store_conn_free(s->conn);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return TP_ENOMEM;
	}
	event_active(s->tick, EV_TIMEOUT, 0);
	/* The workers run: they see it from their next pick on. */
	__atomic_store_n(&srv->steer, s, __ATOMIC_RELEASE);
	return 0;
}

void steer_stop(struct server *srv)
{
	struct steer *s = srv->steer;

	if (!s)
		return;
	/* The workers have stopped (server_free joins them first). */
	if (s->tick)
		event_free(s->tick);
	store_conn_free(s->conn);
	pthread_mutex_destroy(&s->lock);
	free(s);
	srv->steer = NULL;
}
