/* server.c - the server object: resolves the listen addresses, creates one
 * worker per thread with its own SO_REUSEPORT sockets, runs and stops them. */
#include <errno.h>
#include <openssl/crypto.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "net/dtls.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/ratelimit.h"
#include "util/srccount.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "turn/quota.h"
#include "net/udp_int.h"

static int resolve_listen(struct server *srv, const struct conf *conf)
{
	static const char *const wildcards[] = {"0.0.0.0", "::"};
	const char *const *ips = (const char *const *)conf->listening_ip.v;
	size_t n = conf->listening_ip.n;

	if (n == 0) {
		ips = wildcards;
		n = 2;
	}
	srv->listen = calloc(n, sizeof(*srv->listen));
	if (!srv->listen)
		return TP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (addr_parse(ips[i], (uint16_t)conf->listening_port, &srv->listen[i]) != 0) {
			log_err("listening-ip %s: not an address", ips[i]);
			return TP_ECONFIG;
		}
		addr_set_port((struct sockaddr *)&srv->listen[i], (uint16_t)conf->listening_port);
	}
	srv->nlisten = n;
	return 0;
}

/* The default wildcard :: is skipped quietly on hosts without IPv6. */
static bool optional_listener(const struct server *srv, const struct sockaddr *sa)
{
	return srv->conf->listening_ip.n == 0 && sa->sa_family == AF_INET6 &&
	       (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL);
}

/* Listening addresses: the configured ones, then the three RFC 5780
 * alternates (nat_addr[1..3]) when discovery is on. */
static size_t listener_count(const struct server *srv)
{
	return srv->nlisten + (srv->turn_cfg.nat ? TURN_NAT_ADDRS - 1 : 0);
}

static const struct sockaddr *listener_addr(const struct server *srv, size_t i)
{
	if (i < srv->nlisten)
		return (const struct sockaddr *)&srv->listen[i];
	return (const struct sockaddr *)&srv->turn_cfg.nat_addr[i - srv->nlisten + 1];
}

/* Opens w's UDP socket and TCP listener on sa (as configured). Returns 0
 * (also when an optional address is skipped), TP_ESYS or TP_ENOMEM. */
static int open_listeners(struct worker *w, const struct sockaddr *sa)
{
	const struct server *srv = w->srv;

	if (!srv->conf->no_udp) {
		struct udp_sock *us = &w->udp[w->nudp];
		us->fd = sock_udp_listen(sa, &us->wildcard);
		if (us->fd < 0)
			return optional_listener(srv, sa) ? 0 : TP_ESYS;
		us->w = w;
		/* Bursts of one client's datagrams may arrive as one read. */
		us->gro = udp_gro_enable(us->fd);
		memcpy(&us->local, sa, addr_len(sa));
		w->nudp++;
		us->ev = event_new(w->base, us->fd, EV_READ | EV_PERSIST, udp_read_cb, us);
		if (!us->ev || event_add(us->ev, NULL) != 0)
			return TP_ENOMEM;
	}
	if (!srv->conf->no_tcp) {
		struct tcp_listener *tl = &w->tcp[w->ntcp];
		int fd = sock_tcp_listen(sa);
		if (fd < 0)
			return optional_listener(srv, sa) ? 0 : TP_ESYS;
		tl->w = w;
		tl->http = mux_listener_shared(srv, sa);
		tl->lev = evconnlistener_new(w->base, tcp_accept_cb, tl,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (!tl->lev) {
			close(fd);
			return TP_ENOMEM;
		}
		w->ntcp++;
		evconnlistener_set_error_cb(tl->lev, tcp_accept_error_cb);
		tl->retry = evtimer_new(w->base, tcp_retry_cb, tl);
		if (!tl->retry)
			return TP_ENOMEM;
	}
	return 0;
}

/* Finds w's UDP sockets on the RFC 5780 addresses, for answers to
 * CHANGE-REQUEST (udp.c). */
static void find_nat_fds(struct worker *w)
{
	const struct turn_server_cfg *cfg = &w->srv->turn_cfg;

	for (int k = 0; k < TURN_NAT_ADDRS; k++) {
		w->nat_fd[k] = -1;
		for (size_t i = 0; cfg->nat && i < w->nudp; i++)
			if (addr_equal((const struct sockaddr *)&w->udp[i].local,
				       (const struct sockaddr *)&cfg->nat_addr[k]))
				w->nat_fd[k] = w->udp[i].fd;
	}
}

static void tick_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;

	worker_clock(w);
	turn_ctx_expire(&w->ctx);
	redis_worker_tick(w);
	reload_worker_tick(w); /* last: nothing read before it is kept */
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Arms the loop-lag probe for one period from now. */
static int lag_probe_arm(struct worker *w)
{
	struct timeval tv = {0, LOOPLAG_PERIOD_MS * 1000};

	w->lag_due_us = mono_us() + LOOPLAG_PERIOD_MS * 1000;
	return event_add(w->lag_probe, &tv);
}

/* The loop-lag watchdog: anything that holds the worker's loop (a long
 * callback, a blocking call, the process stopped) makes this timer late by
 * as long; the lateness goes to turnpike_worker_loop_lag_seconds. */
static void lag_probe_cb(int fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = mono_us();
	(void)fd;
	(void)what;

	looplag_observe(&w->lag, now > w->lag_due_us ? now - w->lag_due_us : 0, now / 1000);
	if (lag_probe_arm(w) != 0)
		log_warn("worker %u: cannot re-arm the loop-lag probe", w->id);
}

static int worker_init(struct server *srv, struct worker *w, unsigned id)
{
	const struct conf *conf = srv->conf;
	struct timeval idle = {conf->tcp_idle_timeout, 0}, one_s = {1, 0};
	struct timeval hs = {conf->tls_handshake_timeout, 0};
	int rc;

	w->id = id;
	w->srv = srv;
	TAILQ_INIT(&w->conns);
	TAILQ_INIT(&w->unauthed);
	TAILQ_INIT(&w->staged);
	TAILQ_INIT(&w->splices);
	w->io.relay_open = relay_open;
	w->io.relay_close = relay_close;
	w->io.send_peer = relay_send_peer;
	w->io.tcp_connect = tcprelay_connect;
	w->io.tcp_close = tcprelay_close;
	w->io.event = session_on_event;
	w->io.env = w;
	w->session_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 100);
	if (srv->statsdb)
		w->io.overflow_pick = steer_pick;
	if (turn_ctx_init(&w->ctx, &srv->turn_cfg, &w->stats, &w->io) != 0)
		return TP_ENOMEM;
	w->ctx.tcp_shard = id;
	w->ctx.tcp_nshards = (uint32_t)srv->nworkers;
	worker_clock(w);
	w->tcp_max = (size_t)conf->max_tcp_connections / srv->nworkers;
	if (w->tcp_max == 0)
		w->tcp_max = 1;
	w->base = event_base_new();
	w->io_buf = udp_io_new();
	w->udp = calloc(listener_count(srv), sizeof(*w->udp));
	w->tcp = calloc(listener_count(srv), sizeof(*w->tcp));
	if (!w->base || !w->io_buf || !w->udp || !w->tcp)
		return TP_ENOMEM;
	if (redis_worker_init(w) != 0 || tcprelay_worker_init(w) != 0 ||
	    admin_worker_init(w) != 0 || relay_worker_init(w) != 0)
		return TP_ENOMEM;
	w->idle_tv = event_base_init_common_timeout(w->base, &idle);
	/* Before a TCP stream starts: a PROXY header, the first byte, TLS. */
	w->hs_tv = event_base_init_common_timeout(w->base, &hs);
	if (!w->idle_tv || !w->hs_tv)
		return TP_ENOMEM;
	w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	if (!w->tick || event_add(w->tick, &one_s) != 0)
		return TP_ENOMEM;
	w->lag_probe = evtimer_new(w->base, lag_probe_cb, w);
	if (!w->lag_probe || lag_probe_arm(w) != 0)
		return TP_ENOMEM;

	for (size_t i = 0; i < listener_count(srv); i++)
		if ((rc = open_listeners(w, listener_addr(srv, i))) != 0)
			return rc;
	find_nat_fds(w);
	if ((rc = tls_worker_init(w)) != 0 || (rc = dtls_worker_init(w)) != 0)
		return rc;
	if (w->nudp + w->ntcp + w->ntls + dtls_worker_listeners(w) == 0) {
		log_err("no listener could be opened");
		return TP_ESYS;
	}
	return 0;
}

static void worker_cleanup(struct worker *w)
{
	if (!w->srv)
		return;
	/* Allocations first: they hold relay sockets and refer to conns. */
	turn_ctx_cleanup(&w->ctx);
	tcp_conn_free_all(w);
	mux_worker_cleanup(w);
	tcprelay_worker_cleanup(w);
	admin_worker_cleanup(w);
	dtls_worker_cleanup(w);
	redis_worker_cleanup(w);
	if (w->tick)
		event_free(w->tick);
	if (w->lag_probe)
		event_free(w->lag_probe);
	if (w->speer_flush)
		event_free(w->speer_flush);
	for (size_t i = 0; i < w->nudp; i++) {
		if (w->udp[i].ev)
			event_free(w->udp[i].ev);
		close(w->udp[i].fd);
	}
	for (size_t i = 0; i < w->ntcp; i++) {
		if (w->tcp[i].retry)
			event_free(w->tcp[i].retry);
		evconnlistener_free(w->tcp[i].lev);
	}
	tls_worker_cleanup(w);
	free(w->udp);
	free(w->tcp);
	udp_io_free(w->io_buf);
	if (w->base)
		event_base_free(w->base);
	w->srv = NULL;
}

/* Descriptors besides relay sockets and TCP clients: listeners, event
 * bases and their wake-up pipes, Redis connections, HTTP clients, logs. */
#define FD_SLACK 64
#define FD_PER_WORKER 8
#define FD_HTTP 256

/* Raises the soft RLIMIT_NOFILE towards what this configuration may hold
 * open (one descriptor per relay port, per TCP client, plus the rest),
 * up to the hard limit, and says in one line when the hard limit is too
 * low: descriptors then run out before ports do (counted apart, as
 * turnpike_fd_exhausted_total). */
static void raise_nofile(const struct server *srv)
{
	const struct conf *c = srv->conf;
	uint64_t ports =
		(uint64_t)(c->max_port - c->min_port + 1) * (srv->nrelay[0] + srv->nrelay[1]);
	uint64_t tcp = c->no_tcp && !srv->tls ? 0 : (uint64_t)c->max_tcp_connections;
	uint64_t need;
	struct rlimit rl;

	/* With total-quota, at most that many allocations (and their
	 * reserved EVEN-PORT neighbours) hold a port. */
	if (c->total_quota && ports > 2 * (uint64_t)c->total_quota)
		ports = 2 * (uint64_t)c->total_quota;
	need = ports + tcp + FD_SLACK + FD_PER_WORKER * srv->nworkers * (listener_count(srv) + 1) +
	       (c->http_listen ? FD_HTTP : 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit want = rl;
		want.rlim_cur =
			rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("open file limit %llu is below the %llu descriptors this configuration "
			 "may need (%llu relay ports, %llu TCP connections): allocations will fail "
			 "with 508 once they run out; raise the hard limit (ulimit -Hn, systemd "
			 "LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)need,
			 (unsigned long long)ports, (unsigned long long)tcp);
	else
		log_debug("open file limit %llu for the %llu descriptors this configuration may "
			  "need",
			  (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

unsigned server_total_quota(const struct server *srv, const struct conf *c)
{
	uint64_t ports =
		(uint64_t)(c->max_port - c->min_port + 1) * (srv->nrelay[0] + srv->nrelay[1]);

	if (c->total_quota)
		return (unsigned)c->total_quota;
	/* No more allocations than relay ports: refused by the quota (508,
	 * counted as such) before the port search fails. */
	return ports > UINT_MAX ? UINT_MAX : (unsigned)ports;
}

struct server *server_new(const struct conf *conf)
{
	struct server *srv = calloc(1, sizeof(*srv));
	long n = conf->relay_threads;
	int rc;

	if (!srv) {
		log_err("out of memory for the server");
		return NULL;
	}
	pthread_mutex_init(&srv->limits_lock, NULL);
	pthread_mutex_init(&srv->tls_lock, NULL);
	srv->conf = conf;
	srv->turn_cfg.software = !conf->no_software_attribute;
	srv->turn_cfg.turn = true;
	srv->turn_cfg.default_lifetime = 600; /* RFC 8656 §7.2 */
	srv->turn_cfg.max_lifetime = (unsigned)conf->max_allocate_lifetime;
	srv->turn_cfg.max_perms = (unsigned)conf->max_permissions;
	srv->turn_cfg.max_chans = (unsigned)conf->max_channels;
	srv->turn_cfg.no_udp_relay = conf->no_udp_relay;
	srv->turn_cfg.no_tcp_relay = conf->no_tcp_relay;
	srv->turn_cfg.max_bps = (uint64_t)conf->max_bps;
	/* Each of these logs its own reason, except for a lack of memory. */
	if ((rc = resolve_listen(srv, conf)) != 0 || (rc = setup_relay_addrs(srv)) != 0 ||
	    (rc = setup_nat(srv)) != 0 || (rc = setup_auth(srv)) != 0 ||
	    (rc = setup_policy(srv)) != 0 || (rc = setup_alternates(srv)) != 0 ||
	    (rc = setup_proxy(srv)) != 0 || (rc = redis_setup(srv)) != 0 ||
	    (rc = tls_setup(srv)) != 0 || (rc = dtls_setup(srv)) != 0 || (rc = mux_setup(srv)) != 0)
		goto fail;
	srv->quota = turn_quota_new((unsigned)conf->user_quota, server_total_quota(srv, conf));
	if (srv->quota)
		turn_quota_set_source(srv->quota, (unsigned)conf->source_quota);
	srv->turn_cfg.unauth_rate = (unsigned)conf->unauth_rate_limit;
	srv->reservations = relay_reservations_new();
	/* The workers' tables bound the total; a worker counts a newcomer
	 * before it sheds an old one, hence room for twice as many. */
	if (conf->max_tcp_unauth_per_source > 0)
		srv->tcp_unauth = srccount_new((size_t)conf->max_tcp_connections * 2,
					       (size_t)conf->max_tcp_unauth_per_source);
	if (srv->userdb && conf->redis_lookups_per_source > 0)
		srv->lookup_rl = ratelimit_new((unsigned)conf->redis_lookups_per_source, 4096);
	if (!srv->quota || !srv->reservations ||
	    (conf->max_tcp_unauth_per_source > 0 && !srv->tcp_unauth) ||
	    (srv->userdb && conf->redis_lookups_per_source > 0 && !srv->lookup_rl)) {
		rc = TP_ENOMEM;
		goto fail;
	}
	srv->turn_cfg.quota = srv->quota;
	/* RFC 6062 peer connections: as many as client TCP connections. */
	srv->turn_cfg.max_tcp_peers = (unsigned)conf->max_tcp_connections;
	srv->turn_cfg.tcp_peers = &srv->tcp_peers;
	if (n == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	srv->nworkers = (size_t)n;
	/* The source's budget split between the workers, rounded up: the
	 * kernel spreads a source's ports over them (SO_REUSEPORT). */
	srv->turn_cfg.unauth_share =
		(unsigned)((srv->turn_cfg.unauth_rate + srv->nworkers - 1) / srv->nworkers);
	srv->turn_cfg.worker_bps = (uint64_t)conf->bps_capacity / srv->nworkers;
	/* Each worker's bucket must hold at least a full datagram. */
	if (conf->bps_capacity && srv->turn_cfg.worker_bps < 2048)
		srv->turn_cfg.worker_bps = 2048;
	raise_nofile(srv);
	for (size_t i = 0; i < listener_count(srv); i++) {
		const struct sockaddr *sa = listener_addr(srv, i);
		if ((!conf->no_udp && sock_probe_free(sa, SOCK_DGRAM) != 0) ||
		    (!conf->no_tcp && sock_probe_free(sa, SOCK_STREAM) != 0)) {
			rc = TP_ESYS;
			goto fail;
		}
	}
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	if (!srv->workers) {
		rc = TP_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < srv->nworkers; i++)
		if ((rc = worker_init(srv, &srv->workers[i], (unsigned)i)) != 0)
			goto fail;
	return srv;
fail:
	if (rc == TP_ENOMEM)
		log_err("out of memory while setting up the server");
	server_free(srv);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

int server_start(struct server *srv)
{
	for (size_t i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			log_err("pthread_create: %s", strerror(rc));
			server_stop(srv);
			return TP_ESYS;
		}
		w->running = true;
	}
	return 0;
}

void server_stop(struct server *srv)
{
	/* server_new may fail before the workers exist. */
	if (!srv->workers)
		return;
	for (size_t i = 0; i < srv->nworkers; i++)
		if (srv->workers[i].running)
			event_base_loopexit(srv->workers[i].base, NULL);
	for (size_t i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].running) {
			pthread_join(srv->workers[i].thread, NULL);
			srv->workers[i].running = false;
		}
	}
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	server_stop(srv);
	for (size_t i = 0; srv->workers && i < srv->nworkers; i++)
		worker_cleanup(&srv->workers[i]);
	admin_cleanup(srv);
	free(srv->workers);
	free(srv->listen);
	free(srv->relay[0]);
	free(srv->relay[1]);
	redis_cleanup(srv);
	auth_snap_free(srv->creds);
	OPENSSL_cleanse(&srv->nonce_key, sizeof(srv->nonce_key));
	reload_cleanup(srv);
	policy_cleanup((struct peer_policy *)srv->turn_cfg.policy);
	free((void *)srv->turn_cfg.policy);
	turn_quota_free(srv->quota);
	relay_reservations_free(srv->reservations);
	tls_cleanup(srv);
	mux_cleanup(srv);
	dtls_cleanup();
	srccount_free(srv->tcp_unauth);
	free((void *)srv->turn_cfg.alternate);
	free(srv->proxy_from);
	free((void *)srv->turn_cfg.overflow);
	ratelimit_free(srv->lookup_rl);
	pthread_mutex_destroy(&srv->limits_lock);
	free(srv);
}

void server_drain(struct server *srv)
{
	__atomic_store_n(&srv->turn_cfg.draining, true, __ATOMIC_RELAXED);
}

void server_stats(const struct server *srv, struct turn_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < srv->nworkers; i++)
		stats_sum(out, &srv->workers[i].stats);
}
