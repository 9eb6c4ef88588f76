/* net.h - the server's network layer: workers, their listeners and relay
 * sockets, and the server object that owns them. Internal to turnpiked. */
#ifndef TURNPIKE_NET_NET_H
#define TURNPIKE_NET_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "auth/auth.h"
#include "turn/server.h"
#include "turn/stats.h"
#include "util/log.h"
#include "util/looplag.h"
#include "util/policy.h"

struct conf;
struct conf_list;
struct event_base;
struct event;
struct evconnlistener;
struct udp_io;
struct tcp_conn;
struct turn_quota;
struct relay_reservations;
struct store_addr;
struct store_conn;
struct store_secrets;
struct userdb;
struct srccount;
struct steer;
struct ratelimit;
struct ssl_ctx_st;
struct ssl_st;
struct ssl_method_st;
struct dtls_worker;
struct tls_watch;
struct tcprelay;
struct tcprelay_listener;
struct bufferevent;
struct evbuffer;
struct tcp_move;
struct mux;
struct mux_splice;
struct admin_inbox;
struct admin_req;
struct admin_redis;

TAILQ_HEAD(tcp_conn_list, tcp_conn);
TAILQ_HEAD(mux_splice_list, mux_splice);

struct udp_sock {
	int fd;
	bool wildcard;                 /* bound to 0.0.0.0 / ::: use pktinfo */
	bool gro;                      /* UDP_GRO on: a read may hold several datagrams */
	struct sockaddr_storage local; /* bound address */
	struct event *ev;
	struct worker *w;
};

struct tcp_listener {
	struct evconnlistener *lev;
	struct event *retry; /* re-enables accepting after EMFILE */
	struct worker *w;
	bool tls;  /* on tls-listening-port */
	bool http; /* http-listen's address too (mux.c): HTTP is routed off */
};

/* A relay address: bind here, advertise `external` (external-ip). */
struct relay_addr {
	struct sockaddr_storage bind;
	struct sockaddr_storage external;
};

/* One worker thread; owns everything it touches on the packet path. */
struct worker {
	unsigned id;
	struct server *srv;
	struct event_base *base;
	pthread_t thread;
	bool running;
	struct turn_stats stats;
	struct turn_ctx ctx;
	struct turn_io io;
	struct log_ratelimit session_rl; /* allocation start/end lines */
	struct udp_io *io_buf;           /* listener and relay batches */
	struct udp_sock *udp;
	size_t nudp;
	/* The UDP sockets of the RFC 5780 addresses (by TURN_NAT_*), or -1. */
	int nat_fd[TURN_NAT_ADDRS];
	struct tcp_listener *tcp;
	size_t ntcp;
	struct tcp_listener *tls; /* on tls-listening-port, or NULL */
	size_t ntls;
	struct dtls_worker *dtls; /* UDP on tls-listening-port, or NULL */
	struct tcp_conn_list conns;
	struct tcp_conn_list unauthed; /* never authenticated, oldest first */
	/* Plain TCP clients with relayed data staged in this loop pass, and
	 * the event that writes it all at the pass's end (tcp.c). */
	struct tcp_conn_list staged;
	struct event *tcp_flush;
	struct event *speer_flush; /* sends what stream clients sent peers (relay.c) */
	size_t tcp_max;
	const struct timeval *idle_tv; /* libevent common timeout */
	const struct timeval *hs_tv;   /* tls-handshake-timeout, likewise */
	struct event *tick;            /* once a second: expire allocations */
	/* The loop-lag watchdog: a timer every LOOPLAG_PERIOD_MS, how late it
	 * fires (for /metrics), and when it is due (monotonic us). */
	struct event *lag_probe;
	uint64_t lag_due_us;
	struct looplag lag;
	unsigned relay_rr[2];           /* round robin over relay addresses */
	struct store_conn *events;      /* allocation events to Redis, or NULL */
	size_t interim_cursor;          /* where the interim event walk goes on */
	struct userdb *userdb;          /* users and fleet quota from Redis, or NULL */
	struct tcprelay *tcprelay;      /* ConnectionBinds handed over by other workers */
	struct mux_splice_list splices; /* HTTP connections passed to the main thread */
	struct admin_inbox *admin;      /* sessions/kill requests from the main thread */
	size_t nsplices;
	/* Ticks passed (atomic): bumped last in each tick, when the worker
	 * holds nothing a reload may free (reload.c). */
	unsigned long quiescent;
};

/* Everything the workers share, read-only once they run (the quota and
 * reservation tables lock inside). */
struct server {
	const struct conf *conf;
	struct turn_server_cfg turn_cfg;
	struct sockaddr_storage *listen;
	size_t nlisten;
	struct relay_addr *relay[2]; /* [0] IPv4, [1] IPv6 */
	size_t nrelay[2];
	/* Credentials: workers take creds (turn_cfg.creds) per request. store
	 * is the current one for main-thread readers, which need no reference:
	 * only the main thread replaces it (redis.c), between its callbacks. */
	struct auth_snap *creds;
	struct auth_store *store;
	struct store_addr *userdb;     /* redis-userdb, parsed; or NULL */
	struct store_addr *statsdb;    /* redis-statsdb (default userdb); or NULL */
	struct store_secrets *secrets; /* main thread: REST secrets from Redis */
	/* Main thread: the last list of them (oldest first), for a reload to
	 * rebuild the credentials with (redis_secrets_keep). */
	char **redis_secrets;
	size_t nredis_secrets;
	/* Main thread: REST hook API keys from Redis, SHA-256 digests. */
	uint8_t (*api_keys)[32];
	size_t napi_keys;
	struct store_conn *user_sub; /* main thread: user changes to forward */
	int fleet_local;             /* user-quota counted locally (Redis away); atomic */
	char hostname[256];          /* names this server in events */
	struct auth_nonce_key nonce_key;
	struct turn_quota *quota;
	struct relay_reservations *reservations;
	/* Per-source limits the workers share, under limits_lock: taken on
	 * accept, authentication and key cache misses, never per packet. TCP
	 * connections before they authenticate (NULL: no limit), and key
	 * lookups in redis-userdb (NULL: no limit). */
	struct steer *steer;         /* main thread: the fleet registry (steer.c), or NULL */
	struct ip_range *proxy_from; /* proxy-protocol: trusted load balancers */
	size_t nproxy_from;
	struct srccount *tcp_unauth;
	struct ratelimit *lookup_rl;
	pthread_mutex_t limits_lock;
	/* TURN over TLS: the context new connections take (NULL: off). The
	 * main thread replaces it on reload under tls_lock; each connection
	 * holds a reference to the one it began on. */
	struct ssl_ctx_st *tls;
	struct ssl_ctx_st *dtls; /* TURN over DTLS (dtls.c), likewise */
	pthread_mutex_t tls_lock;
	struct tls_watch *tls_watch; /* main thread: cert and pkey on disk */
	struct worker *workers;
	size_t nworkers;
	unsigned tcp_peers; /* RFC 6062 peer connections open (turn_cfg.tcp_peers) */
	struct mux *mux;    /* http-listen on a TURN TCP port (mux.c), or NULL */
	/* Main thread: what a reload replaced, freed once every worker has
	 * passed its tick (reload.c), and the timer that looks. */
	struct reload_retired *retired;
	struct event *retire_ev;
	/* Main thread: live administration (admin.c), its requests waiting
	 * for the workers, its name in answers (hostname:listening-port), and
	 * the command channel in redis-statsdb (admin_redis.c). */
	struct event_base *admin_base;
	struct admin_req *admin_reqs;
	size_t nadmin_reqs;
	char admin_name[300];
	struct admin_redis *admin_redis;
};

/* Creates the workers and binds every listener (errors are logged).
 * Returns NULL on failure. */
struct server *server_new(const struct conf *conf);
/* total-quota, or when 0 the relay ports: (max-port - min-port + 1) for
 * each relay address. */
unsigned server_total_quota(const struct server *srv, const struct conf *c);
/* Starts the worker threads. Returns 0 or TP_ESYS. */
int server_start(struct server *srv);
/* Asks every worker to stop and joins them. Safe to call twice. */
void server_stop(struct server *srv);
void server_free(struct server *srv);
/* Starts draining: the workers refuse new allocations (508) and keep
 * serving the existing ones. Called from the main thread. */
void server_drain(struct server *srv);
/* Sums all workers' counters into out. */
void server_stats(const struct server *srv, struct turn_stats *out);

/* setup.c: what server_new derives from the configuration. */
int setup_relay_addrs(struct server *srv);
int setup_auth(struct server *srv);
/* setup_policy: turn_cfg.policy, allocated (freed by server_free). _build:
 * the peer policy of srv->conf with our own addresses into p (zeroed);
 * 0 or an error (logged), p left empty. */
int setup_policy(struct server *srv);
int setup_policy_build(const struct server *srv, struct peer_policy *p);
/* alternate-server and overflow-server into turn_cfg. Returns 0 or
 * TP_ECONFIG (logged). setup_servers: one such list, allocated in one
 * block (free()), or NULL when empty or on failure (logged). */
int setup_alternates(struct server *srv);
struct turn_servers *setup_servers(const struct conf_list *l, const char *name);
/* proxy-protocol into proxy_from. Returns 0, TP_ENOMEM or TP_ECONFIG
 * (logged). */
int setup_proxy(struct server *srv);
/* RFC 5780 (alt-listening-ip): fills turn_cfg.nat and nat_addr, after the
 * listening addresses are known. Returns 0 or TP_ECONFIG (logged). */
int setup_nat(struct server *srv);
/* A new credential store: the configured users and static secrets, then
 * extra secrets (from Redis, oldest first; the newest kept when there are
 * too many). Returns NULL on failure (logged). */
struct auth_store *setup_auth_store(const struct conf *c, const char *const *extra, size_t nextra);

/* reload.c: SIGHUP (main thread), after conf_reload updated srv->conf:
 * new credentials (keeping the secrets from Redis), peer policy,
 * alternate and overflow servers, quotas and bandwidth limits for new
 * requests; live allocations go on. What a part cannot build (logged)
 * keeps its running value; server_reload_check first. reload_start: the timer that frees the
 * replaced objects once no worker can still read them (after
 * server_start); reload_worker_tick: a worker's quiescent point and its
 * bps-capacity bucket (from its tick); reload_cleanup (server_free,
 * workers stopped): frees what is left. */
void server_reload(struct server *srv);
/* Whether next would build (the credentials: user entries, secrets);
 * 0, or TP_EINVAL after logging why. */
int server_reload_check(struct server *srv, const struct conf *next);
int reload_start(struct server *srv, struct event_base *base);
void reload_worker_tick(struct worker *w);
void reload_cleanup(struct server *srv);

/* redis.c: Redis for the server; no-ops without redis-userdb/-statsdb.
 * redis_setup parses the settings (server_new); server_redis_start starts
 * loading secrets on the main thread's loop (after server_start);
 * redis_cleanup undoes both (server_free). */
int redis_setup(struct server *srv);
int server_redis_start(struct server *srv, struct event_base *base);
void redis_cleanup(struct server *srv);
/* The credential store of srv->conf with the last secrets from Redis
 * (main thread). Returns NULL on failure (logged). */
struct auth_store *redis_auth_store(struct server *srv);
/* A worker's own connection for events (worker_init / worker_cleanup), and
 * its share of interim events (once a second, from its tick). */
int redis_worker_init(struct worker *w);
void redis_worker_cleanup(struct worker *w);
void redis_worker_tick(struct worker *w);
struct store_event;
/* An allocation event to redis-statsdb (w->events set). */
void redis_event_publish(struct worker *w, const struct store_event *ev);

/* session.c: the turn_io event hook (log lines, Redis events), and an
 * event's fields from an allocation: _fill counts it as the allocation's
 * next event, _view only reads (for listings). The event points into a. */
void session_on_event(void *env, struct turn_alloc *a, enum turn_event what);
void session_event_view(struct worker *w, const struct turn_alloc *a, const char *event,
			const char *reason, bool ended, struct store_event *ev);
void session_event_fill(struct worker *w, struct turn_alloc *a, const char *event,
			const char *reason, bool ended, struct store_event *ev);

/* steer.c: the fleet registry in redis-statsdb (announce-address, load),
 * and the workers' overflow_pick from it. steer_start on the main thread's
 * loop after the workers start (from server_redis_start); steer_stop from
 * redis_cleanup. No-ops without redis-statsdb. */
int steer_start(struct server *srv, struct event_base *base);
void steer_stop(struct server *srv);
/* The turn_io overflow_pick hook (a worker): the least loaded other server
 * of family from the last reading; each pick counts against it a little, so
 * a burst spreads before the next reading. */
int steer_pick(void *env, int family, struct sockaddr_storage *out);

/* userdb.c: per worker, long-term keys from redis-userdb (cached; a miss
 * parks the request until Redis answers) and the fleet-wide user-quota.
 * init/cleanup from redis_worker_init/redis_worker_cleanup. */
int userdb_worker_init(struct worker *w);
void userdb_worker_cleanup(struct worker *w);
/* After turn_server_handle set ctx.parked: keeps a copy of the request. */
void userdb_park(struct worker *w, const struct turn_from *from, const uint8_t *pkt, size_t len);
/* A TCP connection closes: its parked requests are dropped. */
void userdb_forget_conn(struct worker *w, const void *conn);
/* From the main thread: name's keys changed (NULL: anything may have
 * changed). Takes effect on the worker's next loop turn. */
void userdb_invalidate(struct worker *w, const char *name);

/* admin.c: live administration. admin_sessions lists the allocations
 * (of user when not NULL or empty: the whole USERNAME or the user part of
 * REST credentials), admin_kill ends those with id (TURN_ALLOC_ID_LEN
 * bytes) or else of user. Each worker serves its own from its loop; done
 * is called later on the main thread with the answer as JSON
 * ({"server":..,"sessions":[..],"truncated":..} or
 * {"server":..,"ended":N}; json NULL when out of memory), unless
 * admin_cancel was called first. Return a handle, or NULL (too many
 * requests in flight, out of memory, a kill of no one). env is the
 * server. Main thread only; admin_start (after server_start) names the
 * loop and starts admin_redis; admin_cleanup (server_free, workers
 * stopped) stops it and frees what is left. */
typedef void (*admin_done_fn)(void *arg, const char *json, size_t len);
void *admin_sessions(void *env, const char *user, admin_done_fn done, void *arg);
void *admin_kill(void *env, const uint8_t *id, const char *user, admin_done_fn done, void *arg);
void admin_cancel(void *env, void *handle);
int admin_start(struct server *srv, struct event_base *base);
void admin_cleanup(struct server *srv);
int admin_worker_init(struct worker *w);
void admin_worker_cleanup(struct worker *w);
/* admin_redis.c: the same through redis-statsdb for turnpikectl across a
 * fleet: commands on STORE_CHANNEL_ADMIN, answers pushed to the list the
 * command names (expiring). No-op without redis-statsdb. Main thread. */
int admin_redis_start(struct server *srv, struct event_base *base);
void admin_redis_stop(struct server *srv);

/* sock.c: listening sockets (non-blocking, SO_REUSEPORT, V6ONLY for v6).
 * sock_probe_free: 0 when no other process holds the address and port. */
int sock_probe_free(const struct sockaddr *sa, int type);
int sock_udp_listen(const struct sockaddr *sa, bool *wildcard);
int sock_tcp_listen(const struct sockaddr *sa);

/* udp.c: the listener path and the batches shared with relays. */
struct udp_io *udp_io_new(void);
void udp_io_free(struct udp_io *io);
void udp_read_cb(int fd, short what, void *arg);
/* Queues a datagram from a relay socket to a peer (flushed per batch). */
void udp_queue_peer(struct worker *w, int fd, const struct sockaddr *peer, const uint8_t *data,
		    size_t len);
void udp_flush_peer(struct worker *w);
void udp_flush_client(struct worker *w);
/* Updates the worker's clock in its turn_ctx (cheap coarse clocks). */
void worker_clock(struct worker *w);

/* relay.c: relay sockets, one per allocation. */
struct relay_reservations *relay_reservations_new(void);
void relay_reservations_free(struct relay_reservations *r);
int relay_open(void *env, struct turn_alloc *a, int family, bool dont_fragment, bool even,
	       bool reserve, uint64_t *token, bool use_token);
void relay_close(void *env, struct turn_alloc *a);
void relay_send_peer(void *env, struct turn_alloc *a, const struct sockaddr *peer,
		     const uint8_t *data, size_t len);
/* Sends the datagrams TCP, TLS and DTLS clients queued for peers (at the
 * end of a loop pass; before a relay socket closes). */
void relay_flush_stream(struct worker *w);
/* The event that calls relay_flush_stream at a loop pass's end. */
int relay_worker_init(struct worker *w);
void relay_read_cb(int fd, short what, void *arg);
/* A TCP allocation's listener on its relayed address, or NULL. */
struct tcprelay_listener *relay_tcp_listener(const struct turn_alloc *a);

/* tcprelay.c: RFC 6062 TCP relay sockets. listen/unlisten: the listener on
 * a TCP allocation's relayed address bind (relay.c, with the relay
 * socket); connect/close: the turn_io hooks; attach: after a successful
 * ConnectionBind, the client connection (its bufferevent, with anything
 * queued) becomes tc's data connection, piped to the peer. */
struct tcprelay_listener *tcprelay_listen(struct worker *w, struct turn_alloc *a,
					  const struct sockaddr *bind);
void tcprelay_unlisten(struct tcprelay_listener *tl);
int tcprelay_connect(void *env, struct turn_alloc *a, struct turn_tcpconn *tc);
void tcprelay_close(void *env, struct turn_tcpconn *tc);
void tcprelay_attach(struct worker *w, struct turn_tcpconn *tc, struct bufferevent *client);
/* The worker a ConnectionBind in pkt belongs to when it is not w, or -1. */
int tcprelay_owner(const struct worker *w, const uint8_t *pkt, size_t len);
/* Gives a moving client connection to worker to, which adopts it
 * (tcp_conn_adopt). Returns 0, TP_ENOMEM or TP_EAGAIN (its inbox is
 * full); on error the caller still owns mv. */
int tcprelay_hand_over(struct worker *to, struct tcp_move *mv);
int tcprelay_worker_init(struct worker *w);
void tcprelay_worker_cleanup(struct worker *w);

/* tls.c: TURN over TLS. tls_ctx_new builds a context from cert, pkey,
 * cipher-list, ec-curve-name and CA-file (NULL on failure, logged in one
 * line). tls_setup (server_new) builds srv->tls when TLS is on and checks
 * its ports are free; tls_cleanup (server_free) frees it. tls_reload (main
 * thread, SIGHUP) swaps in a context built from the current files, keeping
 * the old one on failure; tls_watch_start (after server_start) has the
 * main thread's loop do the same when cert or pkey change on disk.
 * tls_ssl_new: a connection's SSL (caller owns). tls_ctx_common: a
 * context of method for versions min..max (named in versions, for the
 * log) with what TLS and DTLS share: cert, pkey, cipher-list,
 * ec-curve-name, CA-file (NULL on failure, logged). tls_cleanup frees the
 * DTLS context too; tls_reload rebuilds it with TLS's. */
bool tls_enabled(const struct conf *c);
struct ssl_ctx_st *tls_ctx_common(const struct ssl_method_st *method, int min_version,
				  int max_version, const char *versions, const struct conf *c);
struct ssl_ctx_st *tls_ctx_new(const struct conf *c);
int tls_setup(struct server *srv);
void tls_cleanup(struct server *srv);
void tls_reload(struct server *srv);
int tls_watch_start(struct server *srv, struct event_base *base);
struct ssl_st *tls_ssl_new(struct server *srv);
/* The worker's listeners on tls-listening-port (none when TLS is off). */
int tls_worker_init(struct worker *w);
void tls_worker_cleanup(struct worker *w);

/* mux.c: http-listen on the address and port of a TURN TCP listener.
 * mux_setup (server_new) makes srv->mux when it is so (0 or TP_ENOMEM);
 * mux_cleanup (server_free) frees it. mux_listener_shared: whether a
 * listener on sa takes HTTP too. mux_route (workers): where the first
 * bytes of a connection to local on such a listener go, MUX_MORE while
 * they cannot tell. mux_splice (workers): passes client (its bufferevent,
 * with the bytes read so far) and its address to the HTTP listener;
 * mux_worker_cleanup closes the worker's splices. The HTTP side (main
 * thread, through its http_net_ops; env is the server): mux_set_internal
 * names its internal listener before the workers start; mux_take gives the client address of a connection from `from`
 * accepted there, false when no worker registered it (refuse it). */
enum mux_route {
	MUX_MORE = 0,
	MUX_TURN,
	MUX_TLS,
	MUX_HTTP
};
int mux_setup(struct server *srv);
void mux_cleanup(struct server *srv);
bool mux_listener_shared(const struct server *srv, const struct sockaddr *sa);
enum mux_route mux_route(const struct server *srv, const struct sockaddr *local, const uint8_t *buf,
			 size_t len);
void mux_splice(struct worker *w, struct bufferevent *client, const struct sockaddr_storage *peer);
void mux_worker_cleanup(struct worker *w);
void mux_set_internal(void *env, const struct sockaddr *sa);
bool mux_take(void *env, const struct sockaddr *from, struct sockaddr_storage *client);

/* tcp.c (TCP and TLS connections) */
void tcp_accept_cb(struct evconnlistener *lev, int fd, struct sockaddr *sa, int salen, void *arg);
void tcp_accept_error_cb(struct evconnlistener *lev, void *arg);
void tcp_retry_cb(int fd, short what, void *arg);
void tcp_conn_free_all(struct worker *w);
/* Writes a message to a TCP client; drops it (counted) when the client
 * does not read. */
void tcp_send_client(struct tcp_conn *c, const uint8_t *msg, size_t len);
/* A client connection handed over by another worker (tcprelay.c): takes
 * mv (and frees it) and runs the bytes already read from it. */
void tcp_conn_adopt(struct worker *w, struct tcp_move *mv);

/* tcpmove.c: a client connection between workers. */
struct tcp_move {
	int fd;
	struct ssl_st *ssl; /* over TLS: the live session, or NULL */
	struct sockaddr_storage peer, local;
	struct evbuffer *in;      /* read (over TLS, decrypted) and not handled yet */
	struct evbuffer *raw_out; /* over TLS: records written, not yet sent */
};
/* Frees a client connection's bufferevent with its socket, and over TLS
 * its SSL (which the OpenSSL bufferevent does not own). NULL: no-op. */
void tcp_bev_free(struct bufferevent *bev);
/* Takes a client connection's bufferevent apart, once its output is
 * flushed: the socket, the SSL and the bytes read (and decrypted) but not
 * handled, and frees the bufferevent. Returns the move (caller owns), or
 * NULL when out of memory (bev then is stopped, the caller frees it). */
struct tcp_move *tcp_move_take(struct bufferevent *bev, const struct sockaddr_storage *peer,
			       const struct sockaddr_storage *local);
/* Puts the connection back together on base: a bufferevent owning mv's
 * socket and SSL (cleared in mv) with mv's bytes as its input, or NULL
 * (mv keeps what it still holds). */
struct bufferevent *tcp_move_bev(struct event_base *base, struct tcp_move *mv);
void tcp_move_free(struct tcp_move *mv);
/* udp.c: sends one datagram now from us (from src on a wildcard socket).
 * Returns 0, or -1 when the kernel refused it (counted in tx_errors). */
int udp_send_one(struct udp_sock *us, const struct sockaddr *to, const struct sockaddr *src,
		 const uint8_t *data, size_t len);
/* udp.c: the local address h's datagram was sent to (pktinfo on wildcard
 * sockets). */
void udp_local_of(const struct udp_sock *us, struct msghdr *h, struct sockaddr_storage *out);

#endif
