/* stats.h - per-worker counters: written only by the owning worker, read by
 * the main thread with relaxed atomic loads (no locks on the packet path). */
#ifndef TURNPIKE_TURN_STATS_H
#define TURNPIKE_TURN_STATS_H

#include <stdint.h>
#include <sys/socket.h>

#include "util/policy.h"

enum turn_transport {
	TP_UDP = 0,
	TP_TCP,
	TP_TLS,
	TP_DTLS,
	TP_TRANSPORT_MAX
};

/* Why an incoming message was dropped without an answer. */
enum stats_drop {
	DROP_NOT_STUN = 0, /* first bits / cookie / length say not STUN */
	DROP_TRUNCATED,    /* shorter than its header says */
	DROP_MALFORMED,    /* attribute walk or attribute value broken */
	DROP_TOO_MANY_ATTRS,
	DROP_FINGERPRINT,    /* FINGERPRINT present and wrong */
	DROP_UNEXPECTED,     /* a response or indication we do not take */
	DROP_OVERSIZE,       /* datagram larger than the receive buffer */
	DROP_NO_ALLOCATION,  /* ChannelData/Send with no allocation on the 5-tuple */
	DROP_NO_CHANNEL,     /* ChannelData on an unbound channel */
	DROP_NO_PERMISSION,  /* to or from a peer without a permission */
	DROP_POLICY,         /* Send to a peer the policy refuses */
	DROP_RATE,           /* over the allocation's max-bps */
	DROP_CAPACITY,       /* over the server's bps-capacity */
	DROP_BAD_INDICATION, /* Send indication without peer or data, wrong family */
	DROP_SEND_FAILED,    /* a TCP/TLS/DTLS client's message not queued (not
			      * reading, closing, handshaking); datagrams
			      * the kernel refuses count in tx_errors */
	DROP_LOOKUP_RATE,    /* would need a key lookup: source over its share */
	DROP_UNAUTH_RATE,    /* unsigned answer to a UDP source over unauth-rate-limit */
	DROP_MAX
};

/* Outcomes of authentication, for counters. */
enum stats_auth {
	AUTHR_OK = 0,
	AUTHR_CHALLENGE,     /* 401 to a request without credentials */
	AUTHR_BAD_REQUEST,   /* 400: credentials incomplete or inconsistent */
	AUTHR_STALE_NONCE,   /* 438 */
	AUTHR_UNKNOWN_USER,  /* 401 */
	AUTHR_EXPIRED,       /* 401: REST timestamp in the past */
	AUTHR_BAD_INTEGRITY, /* 401: wrong password */
	AUTHR_WRONG_USER,    /* 441: not the allocation's credentials */
	AUTHR_MAX
};

/* The STUN/TURN error codes the server sends, for counters. */
enum stats_err {
	ERR_300 = 0,
	ERR_400,
	ERR_401,
	ERR_403,
	ERR_420,
	ERR_437,
	ERR_438,
	ERR_440,
	ERR_441,
	ERR_442,
	ERR_443,
	ERR_486,
	ERR_500,
	ERR_508,
	ERR_MAX
};

#define STATS_LIFETIME_BUCKETS 10
struct turn_stats;
/* Upper bounds in seconds of the lifetime histogram, ascending; the last
 * bucket has no bound (+Inf). */
extern const unsigned stats_lifetime_bounds[STATS_LIFETIME_BUCKETS - 1];
/* Counts one ended allocation that lived ms milliseconds. */
void stats_observe_lifetime(struct turn_stats *st, uint64_t ms);

extern const char *const stats_drop_name[DROP_MAX];
extern const char *const stats_auth_name[AUTHR_MAX];
extern const unsigned stats_err_code[ERR_MAX];
/* Index in turn_stats.errors for a code, or ERR_MAX. */
enum stats_err stats_err_index(int code);
extern const char *const stats_transport_name[TP_TRANSPORT_MAX];

/* The address family index of the per-family counters: a fixed set, so
 * the metric label stays bounded. */
#define STATS_FAMILY_IPV4 0
#define STATS_FAMILY_IPV6 1
#define STATS_FAMILY(af) ((af) == AF_INET6 ? STATS_FAMILY_IPV6 : STATS_FAMILY_IPV4)
extern const char *const stats_family_name[2];

struct turn_stats {
	uint64_t rx_msgs[TP_TRANSPORT_MAX];
	uint64_t rx_bytes[TP_TRANSPORT_MAX];
	uint64_t tx_msgs[TP_TRANSPORT_MAX];
	uint64_t tx_bytes[TP_TRANSPORT_MAX];
	uint64_t binding[TP_TRANSPORT_MAX]; /* Binding requests answered */
	uint64_t binding_rfc3489;           /* of which classic, no cookie */
	uint64_t errors[ERR_MAX];           /* every error response, by code */
	uint64_t auth[AUTHR_MAX];
	uint64_t drops[DROP_MAX];
	uint64_t policy_denied[POLICY_VERDICT_MAX];
	uint64_t alloc_active[TP_TRANSPORT_MAX];
	uint64_t alloc_created[TP_TRANSPORT_MAX];
	uint64_t alloc_relayed[TP_TRANSPORT_MAX]; /* that carried >= 1 packet */
	uint64_t alloc_expired;
	uint64_t alloc_deleted; /* Refresh with LIFETIME 0 */
	uint64_t alloc_killed;  /* ended by an operator (turnpikectl kill) */
	/* By the family of the relayed address ([STATS_FAMILY_*]): allocations
	 * open now (a dual one counts under its first), payload bytes relayed
	 * each way (by the family of the relay socket that carried them). */
	uint64_t alloc_active_family[2];
	uint64_t relay_bytes_family_in[2];
	uint64_t relay_bytes_family_out[2];
	uint64_t quota_user;            /* 486 */
	uint64_t quota_total;           /* 508 */
	uint64_t quota_source;          /* 486: source-quota */
	uint64_t relay_ports_exhausted; /* 508 */
	uint64_t fd_exhausted;          /* 508: no descriptor for a relay socket */
	uint64_t perms_created;
	uint64_t chans_bound;
	/* RFC 6062 TCP relay: peer connections by how they went. */
	uint64_t tcp_connects;       /* Connect opened a connection to a peer */
	uint64_t tcp_connect_failed; /* ... which failed (447) */
	uint64_t tcp_attempts;       /* ConnectionAttempt: a peer connected in */
	uint64_t tcp_bound;          /* ConnectionBind piped one to a client */
	uint64_t tcp_unbound;        /* dropped unbound after 30 s */
	/* ConnectionBinds that reached another worker than their id's. */
	uint64_t tcp_binds_moved;       /* TCP connections taken over by the id's worker */
	uint64_t tls_binds_moved;       /* ... TLS ones, with their session */
	uint64_t tcp_binds_move_failed; /* closed: could not move */
	/* Writes of relayed data to plain TCP clients, each carrying what one
	 * loop pass gathered for one connection: at once, or queued behind
	 * older output. */
	uint64_t tcp_out_direct;
	uint64_t tcp_out_queued;
	uint64_t relay_pkts_in[TP_TRANSPORT_MAX]; /* client -> peer */
	uint64_t relay_bytes_in[TP_TRANSPORT_MAX];
	uint64_t relay_pkts_out[TP_TRANSPORT_MAX]; /* peer -> client */
	uint64_t relay_bytes_out[TP_TRANSPORT_MAX];
	/* Lifetimes of ended allocations: counts per upper bound in
	 * stats_lifetime_bounds (the last bucket is +Inf), and their sum. */
	uint64_t lifetime_bucket[STATS_LIFETIME_BUCKETS];
	uint64_t lifetime_sum_ms;
	uint64_t tx_errors; /* send failed */
	uint64_t tcp_accepted;
	uint64_t tcp_refused;        /* over max-tcp-connections */
	uint64_t tcp_refused_source; /* over max-tcp-unauthenticated-per-source */
	uint64_t tcp_shed;           /* closed to admit a new one (never authenticated) */
	uint64_t proxy_headers;      /* PROXY protocol headers taken (proxy-protocol) */
	uint64_t proxy_bad;          /* balancer connections closed: no valid header */
	uint64_t tcp_active;
	uint64_t tcp_closed_idle;
	uint64_t tcp_closed_bad;         /* malformed framing */
	uint64_t tls_accepted;           /* TLS connections accepted (in tcp_accepted too) */
	uint64_t tls_handshakes;         /* TLS handshakes completed */
	uint64_t tls_handshake_failed;   /* closed: the handshake failed */
	uint64_t tls_handshake_timeout;  /* closed: tls-handshake-timeout passed */
	uint64_t dtls_cookies;           /* HelloVerifyRequests sent */
	uint64_t dtls_accepted;          /* sessions begun (a ClientHello with a valid cookie) */
	uint64_t dtls_active;            /* sessions held now */
	uint64_t dtls_refused;           /* over max-tcp-connections, all authenticated */
	uint64_t dtls_refused_source;    /* over max-tcp-unauthenticated-per-source */
	uint64_t dtls_shed;              /* closed to admit a new one (never authenticated) */
	uint64_t dtls_handshakes;        /* DTLS handshakes completed */
	uint64_t dtls_handshake_failed;  /* closed: the handshake failed */
	uint64_t dtls_handshake_timeout; /* closed: tls-handshake-timeout passed */
	uint64_t dtls_closed_idle;       /* closed: tcp-idle-timeout passed */
	uint64_t dtls_closed_peer;       /* closed: close_notify or a fatal alert */
	uint64_t dtls_closed_reconnect;  /* closed: its client began a new one (RFC 6347 §4.2.8) */
	uint64_t events_published;       /* allocation events Redis took */
	uint64_t events_dropped;         /* not sent (Redis away, queue full) or failed */
	/* Long-term keys and fleet quota from redis-userdb. */
	uint64_t parked;                 /* requests parked waiting for Redis */
	uint64_t park_refused;           /* no room to park: 508 */
	uint64_t userdb_lookups;         /* key lookups sent (joined ones not) */
	uint64_t userdb_lookup_failed;   /* lost connection, error or garbage reply */
	uint64_t userdb_lookup_timeouts; /* no answer within redis-timeout */
	uint64_t userdb_stale;           /* keys used past their cache time (Redis away) */
	uint64_t fleet_granted;          /* Allocate counted fleet-wide */
	uint64_t fleet_denied;           /* 486 from the fleet count */
	uint64_t fleet_fallback;         /* counted on this server only (Redis away) */
	uint64_t fleet_update_errors;    /* refresh/removal of a member failed */
	/* UDP segmentation offload (net/udp.c). */
	uint64_t gso_sends;    /* UDP_SEGMENT sends of several datagrams */
	uint64_t gso_segments; /* datagrams those carried */
	uint64_t gro_reads;    /* coalesced reads (a UDP_GRO control message) */
	uint64_t gro_segments; /* datagrams those carried */
};

/* Single-writer increment: a relaxed load and store, no lock prefix. */
#define STAT_ADD(field, n)                                                            \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(field) STAT_ADD(field, 1)
#define STAT_DEC(field) STAT_ADD(field, (uint64_t)-1)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Adds every counter of src into dst (reading src with relaxed loads). */
void stats_sum(struct turn_stats *dst, const struct turn_stats *src);

#endif
