/* reload.c - SIGHUP while the workers run: what the server derived from
 * the configuration (credentials, peer policy, alternate servers, quotas,
 * bandwidth limits) is rebuilt on the main thread and published for new
 * requests; live allocations keep what they hold.
 *
 * Workers read the policy and the server lists on the packet path without
 * a lock. A replaced object is therefore not freed at once: it goes on a
 * list with each worker's tick count at the time it was unpublished, and a
 * main-thread timer frees it once every worker's count has moved on by
 * two. A worker bumps its count as the last act of its 1 s tick, between
 * events, and holds no pointer from one event to the next, so once the
 * count moved past the snapshot no event that could have seen the old
 * pointer is still running (quiescent-state reclamation; two ticks rather
 * than one for a margin). Scalars are single atomic stores; credentials
 * go through their own snapshot (auth/snap.c). */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "turn/quota.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/log.h"

#define RETIRE_TICKS 2 /* worker ticks an old object outlives its unpublishing */

typedef void (*retire_free_fn)(void *p);

struct reload_retired {
	struct reload_retired *next;
	retire_free_fn fn;
	void *p;
	unsigned long seen[]; /* each worker's tick count when p was unpublished */
};

static void policy_free(void *p)
{
	policy_cleanup(p);
	free(p);
}

/* Queues p (already unpublished) to be freed by fn once no worker can
 * still read it. On allocation failure p leaks rather than being freed
 * under a reader (logged). */
static void retire(struct server *srv, retire_free_fn fn, void *p)
{
	struct reload_retired *r;

	if (!p)
		return;
	r = calloc(1, sizeof(*r) + srv->nworkers * sizeof(r->seen[0]));
	if (!r) {
		log_warn("reload: out of memory: a replaced setting is not freed");
		return;
	}
	r->fn = fn;
	r->p = p;
	for (size_t i = 0; i < srv->nworkers; i++)
		r->seen[i] = __atomic_load_n(&srv->workers[i].quiescent, __ATOMIC_SEQ_CST);
	r->next = srv->retired;
	srv->retired = r;
}

static bool passed(const struct server *srv, const struct reload_retired *r)
{
	for (size_t i = 0; i < srv->nworkers; i++) {
		const struct worker *w = &srv->workers[i];
		if (!w->running) /* the main thread's own flag: a stopped worker reads nothing */
			continue;
		if (__atomic_load_n(&w->quiescent, __ATOMIC_ACQUIRE) - r->seen[i] < RETIRE_TICKS)
			return false;
	}
	return true;
}

static void retire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct reload_retired **pp = &srv->retired;
	(void)fd;
	(void)what;

	while (*pp) {
		struct reload_retired *r = *pp;
		if (!passed(srv, r)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->fn(r->p);
		free(r);
	}
}

int reload_start(struct server *srv, struct event_base *base)
{
	struct timeval one_s = {1, 0};

	srv->retire_ev = event_new(base, -1, EV_PERSIST, retire_cb, srv);
	if (!srv->retire_ev || event_add(srv->retire_ev, &one_s) != 0)
		return TP_ENOMEM;
	return 0;
}

void reload_cleanup(struct server *srv)
{
	struct reload_retired *r, *next;

	if (srv->retire_ev)
		event_free(srv->retire_ev);
	srv->retire_ev = NULL;
	/* The workers are stopped: nobody reads these any more. */
	for (r = srv->retired; r; r = next) {
		next = r->next;
		r->fn(r->p);
		free(r);
	}
	srv->retired = NULL;
}

void reload_worker_tick(struct worker *w)
{
	uint64_t rate = __atomic_load_n(&w->srv->turn_cfg.worker_bps, __ATOMIC_RELAXED);

	/* bps-capacity changed: this worker's bucket starts anew at the rate. */
	if (w->ctx.capacity.rate != rate)
		turn_bucket_init(&w->ctx.capacity, rate, w->ctx.now_ms);
	__atomic_add_fetch(&w->quiescent, 1, __ATOMIC_RELEASE);
}

static void reload_creds(struct server *srv)
{
	struct auth_store *s;

	if (!srv->creds)
		return;
	s = redis_auth_store(srv);
	if (!s) {
		log_err("reload: cannot build the credentials; the previous ones stay");
		return;
	}
	srv->store = s;
	auth_snap_set(srv->creds, s);
	log_info("reload: credentials: %zu users or secrets in the file, %zu REST secrets in use "
		 "(%zu from redis)",
		 srv->conf->user.n + srv->conf->static_auth_secret.n, auth_store_nsecrets(s),
		 srv->nredis_secrets);
}

static void reload_policy(struct server *srv)
{
	struct peer_policy *p = calloc(1, sizeof(*p));
	const struct peer_policy *old;

	if (!p || setup_policy_build(srv, p) != 0) {
		free(p);
		log_err("reload: cannot build the peer policy; the previous one stays");
		return;
	}
	old = __atomic_exchange_n(&srv->turn_cfg.policy, p, __ATOMIC_ACQ_REL);
	retire(srv, policy_free, (void *)old);
}

/* One of alternate-server / overflow-server into *slot. */
static void reload_servers(struct server *srv, const struct turn_servers **slot,
			   const struct conf_list *l, const char *name)
{
	struct turn_servers *v = setup_servers(l, name);
	const struct turn_servers *old;

	if (l->n && !v) {
		log_err("reload: %s keeps its previous value", name);
		return;
	}
	old = __atomic_exchange_n(slot, v, __ATOMIC_ACQ_REL);
	retire(srv, free, (void *)old);
}

static void reload_limits(struct server *srv)
{
	const struct conf *c = srv->conf;
	struct turn_server_cfg *cfg = &srv->turn_cfg;
	uint64_t wbps = (uint64_t)c->bps_capacity / srv->nworkers;

	/* Each worker's bucket must hold at least a full datagram (server.c). */
	if (c->bps_capacity && wbps < 2048)
		wbps = 2048;
	__atomic_store_n(&cfg->max_bps, (uint64_t)c->max_bps, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->worker_bps, wbps, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->max_perms, (unsigned)c->max_permissions, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->max_chans, (unsigned)c->max_channels, __ATOMIC_RELAXED);
	/* The local counts; the fleet-wide count in redis-userdb (userdb.c)
	 * keeps the user-quota it started with. */
	turn_quota_set(srv->quota, (unsigned)c->user_quota, server_total_quota(srv, c));
	turn_quota_set_source(srv->quota, (unsigned)c->source_quota);
}

int server_reload_check(struct server *srv, const struct conf *next)
{
	struct auth_store *s = setup_auth_store(next, (const char *const *)srv->redis_secrets,
						srv->nredis_secrets);

	if (!s)
		return TP_EINVAL;
	auth_store_free(s);
	return 0;
}

void server_reload(struct server *srv)
{
	reload_creds(srv);
	reload_policy(srv);
	reload_servers(srv, &srv->turn_cfg.alternate, &srv->conf->alternate_server,
		       "alternate-server");
	reload_servers(srv, &srv->turn_cfg.overflow, &srv->conf->overflow_server,
		       "overflow-server");
	reload_limits(srv);
}
