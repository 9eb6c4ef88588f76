/* server.h - the protocol core: takes one message from a client and decides
 * the answer; keeps TURN allocations. No sockets: relay sockets are opened,
 * closed and written through the turn_io callbacks the network layer gives. */
#ifndef TURNPIKE_TURN_SERVER_H
#define TURNPIKE_TURN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/auth.h"
#include "turn/alloc.h"
#include "turn/stats.h"
#include "util/log.h"

struct auth_kcache;
struct peer_policy;
struct turn_quota;

/* No answer is ever longer than this: a reflector must not amplify. */
#define TURN_MAX_REPLY 512

/* Room kept in front of relayed payloads for the Data indication header
 * (20 + XOR-PEER-ADDRESS 24 + DATA header 4) or the ChannelData header. */
#define TURN_HEADROOM 48

/* RFC 5780 NAT behaviour discovery: the four addresses an answer may leave
 * from, indexed by these bits (0: the primary listening address). */
#define TURN_NAT_PORT 1 /* the alternate port */
#define TURN_NAT_IP 2   /* the alternate IP */
#define TURN_NAT_ADDRS 4

/* Settings shared read-only by every worker. */
struct turn_server_cfg {
	bool software; /* send SOFTWARE */
	bool turn;     /* serve TURN at all (auth configured or no-auth) */
	bool no_auth;  /* no-auth: TURN without credentials */
	/* Credentials: the swappable snapshot (turnpiked), one reference
	 * taken per request; when creds is NULL, the fixed store. */
	struct auth_snap *creds;
	const struct auth_store *store;
	const struct auth_nonce_key *nonce_key;
	unsigned nonce_lifetime; /* s */
	/* Replaced whole on reload (net/reload.c): read with
	 * turn_cfg_policy, an acquire load, and not kept past one event. */
	const struct peer_policy *policy;
	unsigned default_lifetime;       /* s, RFC 8656 default 600 */
	unsigned max_lifetime;           /* s */
	unsigned max_perms;              /* per allocation; atomic (reload) */
	unsigned max_chans;              /* atomic (reload) */
	bool no_udp_relay, no_tcp_relay; /* REQUESTED-TRANSPORT refused: 442 */
	uint64_t max_bps;                /* per allocation, bytes/s, 0 = none; atomic (reload) */
	uint64_t worker_bps;             /* this worker's share of bps-capacity; atomic (reload) */
	bool relay_v4, relay_v6;         /* relay addresses of these families exist */
	/* RFC 5780 (alt-listening-ip): on, and the addresses by TURN_NAT_*. */
	bool nat;
	struct sockaddr_storage nat_addr[TURN_NAT_ADDRS];
	struct turn_quota *quota; /* shared counters (locked, control path) */
	/* Shutting down: new allocations get 508 (or 300, see overflow).
	 * Written by the main thread, read by the workers with relaxed atomic
	 * loads. */
	bool draining;
	/* Other servers for 300 Try Alternate: every Allocate goes to one of
	 * alternate (alternate-server, coturn's redirection mode); an Allocate
	 * this server cannot take (draining, total-quota, no relay port) to one
	 * of overflow (overflow-server) instead of 508. Round robin, in the
	 * family of the request's source. NULL: none. Replaced whole on reload
	 * like policy: read with turn_cfg_servers. */
	const struct turn_servers {
		const struct sockaddr_storage *v;
		size_t n;
	} * alternate, *overflow;
	/* RFC 6062: peer data connections over all workers, at most
	 * max_tcp_peers (atomic counter owned by net). */
	unsigned max_tcp_peers;
	unsigned *tcp_peers;
	/* unauth-rate-limit: unsigned answers (Binding, 401, any error to a
	 * request that did not authenticate) per second to one UDP source
	 * (IPv4 address or IPv6 /64) for the whole server, also the burst;
	 * 0: none. Each worker keeps unauth_share of it (0: all of it): a
	 * source that spreads its ports over the workers gets no more. */
	unsigned unauth_rate;
	unsigned unauth_share;
};

/* Where a message came from: the client's side of the 5-tuple. */
struct turn_from {
	enum turn_transport tr;
	const struct sockaddr *client;
	const struct sockaddr *local; /* our address it was sent to */
	void *conn;                   /* net's handle: UDP socket or TCP conn */
};

/* A fleet-wide user-quota decision (from Redis), for the Allocate it was
 * asked for: the network layer keeps it under the request's 5-tuple and
 * transaction id, and hands it back in turn_ctx.ticket when it runs the
 * parked request again. */
enum turn_fleet {
	TURN_FLEET_GRANTED = 0, /* counted fleet-wide under id */
	TURN_FLEET_DENIED,      /* the user is at user-quota: 486 */
	TURN_FLEET_LOCAL        /* no answer: count on this server only */
};

struct turn_ticket {
	enum turn_transport tr;
	struct sockaddr_storage client, local;
	uint8_t txn[12];
	uint8_t id[TURN_ALLOC_ID_LEN]; /* the allocation's id, as counted */
	enum turn_fleet verdict;
	bool used; /* set by the core when the Allocate took it */
};

/* Moments in an allocation's life, for the event hook. */
enum turn_event {
	TURN_EV_CREATED = 0,
	TURN_EV_REFRESHED,
	TURN_EV_DELETED, /* Refresh with LIFETIME 0 */
	TURN_EV_EXPIRED,
	TURN_EV_CLOSED,   /* its TCP connection closed */
	TURN_EV_SHUTDOWN, /* the server stops (turn_ctx_cleanup) */
	TURN_EV_ADMIN     /* an operator ended it (turn_alloc_kill) */
};

/* RFC 6062 TCP relay: a peer data connection of a TCP allocation, from
 * Connect (§5.2) or from a peer connecting to the relayed address (§5.3),
 * until the client binds a data connection to it (§5.4) and after. */
#define TURN_TCP_BIND_MS (30 * 1000) /* §5.2, §5.3: unbound ids are dropped */
#define TURN_TCP_PER_ALLOC 64        /* peer connections per allocation */
#define TURN_TCP_REPLY 160           /* a prepared Connect answer */

enum turn_tcp_state {
	TURN_TCP_CONNECTING = 0, /* Connect: the connection to the peer is being opened */
	TURN_TCP_PENDING,        /* up, waiting for ConnectionBind until deadline_ms */
	TURN_TCP_BOUND           /* piped to a client data connection (net's) */
};

struct turn_tcpconn {
	uint32_t id; /* CONNECTION-ID; id % ctx->tcp_nshards == ctx->tcp_shard */
	enum turn_tcp_state state;
	struct sockaddr_storage peer;
	uint64_t deadline_ms;
	struct turn_alloc *a;
	void *net; /* net's handle of the peer connection */
	/* While CONNECTING: the answers to the Connect, signed when it was
	 * received: [0] success with CONNECTION-ID, [1] 447. */
	uint8_t reply[2][TURN_TCP_REPLY];
	uint16_t rlen[2];
	struct turn_tcpconn *next, **prev; /* the worker's list */
	struct turn_tcpconn *anext;        /* the allocation's list */
};

/* What the core asks of the network layer. */
struct turn_io {
	/*
	 * Opens a relay socket of family (AF_INET/AF_INET6) for a: sets
	 * a->relay and a->relayed. even: an even port; reserve: also hold the
	 * next port and return a token in *token; use_token: take the port
	 * held under token instead. Returns 0, TP_ENOTFOUND (bad token),
	 * TP_EAGAIN (no port free) or TP_ESYS.
	 */
	int (*relay_open)(void *env, struct turn_alloc *a, int family, bool dont_fragment,
			  bool even, bool reserve, uint64_t *token, bool use_token);
	void (*relay_close)(void *env, struct turn_alloc *a);
	/* Sends data to peer from a's relay socket (may batch). */
	void (*send_peer)(void *env, struct turn_alloc *a, const struct sockaddr *peer,
			  const uint8_t *data, size_t len);
	void *env;
	/* Optional: an allocation was created or refreshed (called after the
	 * change), or is about to end (called before it is freed). May write
	 * a's event_ms and event_seq, nothing else. */
	void (*event)(void *env, struct turn_alloc *a, enum turn_event ev);
	/*
	 * Optional: user's long-term key is in neither the configuration nor
	 * turn_ctx.kcache. Start looking it up (or join the lookup already
	 * under way) and keep room to park a request of msg_len bytes. Returns
	 * 0: the core answers nothing and sets turn_ctx.parked, and the caller
	 * of turn_server_handle parks the request; TP_ECLOSED: the store is
	 * unreachable, answer from what is known; TP_ENOTFOUND: not a name to
	 * look up (401); TP_EAGAIN: no room (508); TP_ELIMIT: from->client has
	 * caused too many lookups (dropped, no answer).
	 */
	int (*key_lookup)(void *env, const struct turn_from *from, const char *user, size_t ulen,
			  size_t msg_len);
	/*
	 * Optional (fleet-wide user-quota): ask whether user may hold one more
	 * allocation, counted under id for lifetime_s. Returns 0: parked as
	 * above, the decision comes back in turn_ctx.ticket when the request
	 * runs again (a retransmission joins the same decision); TP_ECLOSED
	 * (or any other error but TP_EAGAIN): count on this server only;
	 * TP_EAGAIN: no room (508).
	 */
	int (*quota_take)(void *env, const struct turn_from *from, const uint8_t txn[12],
			  const char *user, size_t ulen, const uint8_t id[TURN_ALLOC_ID_LEN],
			  uint32_t lifetime_s, size_t msg_len);
	/* Optional, with quota_take: an allocation counted fleet-wide was
	 * refreshed for lifetime_s more, or (lifetime_s 0) ended. */
	void (*quota_update)(void *env, const char *user, size_t ulen,
			     const uint8_t id[TURN_ALLOC_ID_LEN], uint32_t lifetime_s);
	/* Optional: another server of family for an Allocate this one cannot
	 * take (the least loaded of the fleet). Returns 0 with *out, or
	 * TP_ENOTFOUND. */
	int (*overflow_pick)(void *env, int family, struct sockaddr_storage *out);
	/*
	 * RFC 6062: opens a TCP connection from a's relayed address to
	 * tc->peer and sets tc->net; reports the outcome later with
	 * turn_tcp_connected. Returns 0 or an error (the Connect gets 447).
	 */
	int (*tcp_connect)(void *env, struct turn_alloc *a, struct turn_tcpconn *tc);
	/* Closes tc's peer connection and its data connection, if bound. The
	 * core frees tc afterwards; net calls nothing more about it. */
	void (*tcp_close)(void *env, struct turn_tcpconn *tc);
};

/* One worker's view: settings, counters, its allocations, the clock. */
struct turn_ctx {
	const struct turn_server_cfg *cfg;
	struct turn_stats *stats;
	struct turn_table table;
	const struct turn_io *io;
	uint64_t now_ms;             /* monotonic, set by the caller before each batch */
	uint64_t unix_s;             /* wall clock, for REST timestamps and nonces */
	uint64_t ind_txn;            /* transaction ids for Data indications */
	struct turn_bucket capacity; /* the worker's share of bps-capacity */
	/* Long-term keys from the shared store (net fills it), or NULL. */
	struct auth_kcache *kcache;
	/* Set by turn_server_handle when it answered nothing because the
	 * request waits for the store (io key_lookup / quota_take). */
	bool parked;
	/* Set by turn_server_handle when the request it handled passed
	 * authentication (or no-auth let it through). */
	bool authed;
	/* Set by turn_server_handle for a UDP answer to an RFC 5780
	 * CHANGE-REQUEST: the index in cfg->nat_addr of the address it must
	 * leave from (still to the request's source); -1: from the address
	 * the request came to. */
	int reply_via;
	/* The fleet quota decision for the request being run again, or NULL. */
	struct turn_ticket *ticket;
	unsigned alt_rr; /* round robin over the 300 Try Alternate lists */
	/* Refusals logged at info: at most a few a second per worker; set
	 * when the request's refusal has been logged with its reason. */
	struct log_ratelimit refuse_rl;
	bool refusal_logged;
	/* Token buckets by UDP source for unsigned answers (cfg->unauth_rate),
	 * a fixed table of this worker's: NULL when off. */
	struct ratelimit *unauth_rl;
	struct log_ratelimit unauth_log;
	/* RFC 6062: this worker's peer data connections; connection ids are
	 * this worker's when id % tcp_nshards == tcp_shard (net sets both), so
	 * a ConnectionBind reaching another worker can be handed over. */
	struct turn_tcpconn *tcpconns;
	uint32_t tcp_shard, tcp_nshards;
	/* Set by turn_server_handle when a ConnectionBind succeeded: the
	 * connection it came on becomes tcpconn's data connection. */
	struct turn_tcpconn *bound;
};

/* Initialises the per-worker part. Returns 0 or TP_ENOMEM. */
int turn_ctx_init(struct turn_ctx *ctx, const struct turn_server_cfg *cfg, struct turn_stats *stats,
		  const struct turn_io *io);
/* Releases every allocation (closing relays through io) and the table. */
void turn_ctx_cleanup(struct turn_ctx *ctx);

/*
 * Handles one complete STUN message from a client (the caller framed it).
 * Writes the answer into out (at least TURN_MAX_REPLY bytes) and returns its
 * length, or 0 when nothing is to be sent (indications, drops). Every drop is
 * counted in ctx->stats by reason. A 0 with ctx->parked set means the
 * request waits for the store: the caller keeps a copy and runs it again
 * when told (see turn_io key_lookup).
 */
size_t turn_server_handle(struct turn_ctx *ctx, const struct turn_from *from, const uint8_t *pkt,
			  size_t len, uint8_t *out);

/* ChannelData from a client: relayed to the bound peer or dropped (counted). */
void turn_client_chandata(struct turn_ctx *ctx, const struct turn_from *from, const uint8_t *pkt,
			  size_t len);

/*
 * A datagram from a peer on a's relay socket. data points at the payload,
 * with TURN_HEADROOM writable bytes before it and 4 after. Returns the
 * length of the message to send to the client, framed in place, and sets
 * *msg to its start; 0 drops it (no permission, over the rate: counted).
 * stream: pad ChannelData to 4 bytes (TCP clients).
 */
size_t turn_peer_data(struct turn_ctx *ctx, struct turn_alloc *a, const struct sockaddr *peer,
		      uint8_t *data, size_t len, bool stream, uint8_t **msg);

/* Expires allocations whose lifetime ended; call about once a second. */
void turn_ctx_expire(struct turn_ctx *ctx);

/* ---- RFC 6062 TCP relay (turn/tcprel.c) ---- */

/* The connection to tc's peer is up (ok) or failed. Writes the answer to
 * the Connect for a's client (a->conn) into out (TURN_MAX_REPLY bytes) and
 * returns its length. On failure tc is freed (net has closed its side). */
size_t turn_tcp_connected(struct turn_ctx *ctx, struct turn_tcpconn *tc, bool ok, uint8_t *out);
/*
 * A peer connected to a's relayed address (RFC 6062 §5.3). Returns the new
 * connection (net sets its net handle) with the ConnectionAttempt
 * indication for a's client in out and *len, or NULL: refused (no
 * permission, over a quota: counted), net closes the connection.
 */
struct turn_tcpconn *turn_tcp_incoming(struct turn_ctx *ctx, struct turn_alloc *a,
				       const struct sockaddr *peer, uint8_t *out, size_t *len);
/* net's side of tc closed (peer or data connection): frees tc. */
void turn_tcp_closed(struct turn_ctx *ctx, struct turn_tcpconn *tc);
/* The CONNECTION-ID of a ConnectionBind request, if pkt is one (for the
 * hand-over between workers). Returns false otherwise. */
bool turn_tcp_bind_id(const uint8_t *pkt, size_t len, uint32_t *id);

/* Frees the allocation of a closing TCP connection. */
void turn_alloc_release(struct turn_ctx *ctx, struct turn_alloc *a);
/* Ends a at an operator's request (turnpikectl kill): the event hook
 * hears TURN_EV_ADMIN, then a is freed; the client's next request on it
 * gets 437 (RFC 8656 §7.2, no allocation on its 5-tuple). A TCP or DTLS
 * client's connection stays open. */
void turn_alloc_kill(struct turn_ctx *ctx, struct turn_alloc *a);

#endif
