/* alloc.h - TURN allocation state (RFC 8656): the per-worker table keyed by
 * 5-tuple, lifetimes on a timer wheel, permissions, channels and the
 * bandwidth bucket. Pure: takes the clock, never sees a socket. */
#ifndef TURNPIKE_TURN_ALLOC_H
#define TURNPIKE_TURN_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/auth.h"
#include "turn/stats.h"

#define TURN_PERM_LIFETIME_MS (300 * 1000) /* RFC 8656 §9 */
#define TURN_CHAN_LIFETIME_MS (600 * 1000) /* RFC 8656 §12 */
#define TURN_CHAN_HOLD_MS (300 * 1000)     /* §12: no rebind for 5 min after */
#define TURN_USERNAME_MAX 513              /* RFC 8489 §14.3: < 513 bytes */
/* Retransmission cache: the longest Allocate answer is 156 bytes plus
 * SOFTWARE (IPv6 client, ADDRESS-ERROR-CODE, RESERVATION-TOKEN,
 * MESSAGE-INTEGRITY-SHA256, FINGERPRINT). */
#define TURN_CACHED_REPLY 256
#define TURN_WHEEL_SLOTS 4096 /* 1 s each */
#define TURN_ALLOC_ID_LEN 16  /* random bytes of an allocation's id */

/* A transport address in 28 bytes where a sockaddr_storage takes 128: the
 * per-allocation fields that are only ever IPv4 or IPv6. Cast &x (or use
 * x.sa) where a struct sockaddr * is wanted. */
union turn_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct turn_perm {
	uint8_t ip[16]; /* canonical, IPv4 as ::ffff:a.b.c.d */
	uint64_t expiry_ms;
	bool self; /* our own IP, or loopback with allow-loopback-peers (see
		    * policy_is_self): recheck the port per packet */
};

struct turn_chan {
	union turn_addr peer;
	uint16_t num;
	uint64_t expiry_ms; /* data flows until then; held TURN_CHAN_HOLD_MS more */
};

/* Token bucket in bytes; rate 0 means unlimited. */
struct turn_tcpconn;

struct turn_bucket {
	uint64_t rate;   /* bytes per second */
	uint64_t tokens; /* scaled by 1000 (byte-milliseconds) */
	uint64_t last_ms;
};

/* Fields the packet path reads come first, the 5-tuple and its hash link
 * within the first cache line for IPv4 (turn_table_find walks a chain
 * touching only those); what only requests touch comes after. */
struct turn_alloc {
	/* Table link, and the 5-tuple that owns it (RFC 8656 §2). */
	struct turn_alloc *hnext;
	enum turn_transport transport;
	union turn_addr client;
	union turn_addr local; /* our address the client used */
	/* Per packet. */
	uint64_t expiry_ms;
	void *conn;  /* net: the client's TCP conn or UDP socket */
	void *relay; /* net: the relay socket */
	/* Permissions and channels, small arrays made on the first one and
	 * doubled on the control path: most allocations hold one of each. */
	struct turn_perm *perms;
	struct turn_chan *chans;
	uint16_t nperms, cap_perms;
	uint16_t nchans, cap_chans;
	bool tcp;   /* RFC 6062: a TCP allocation (REQUESTED-TRANSPORT 6) */
	bool media; /* relayed something that is not STUN: counted as relayed */
	bool fleet; /* counted in the fleet-wide user-quota */
	uint16_t ntcp;
	/* max-bps, each direction on its own (coturn's meaning): client to
	 * peers, peers to client. */
	struct turn_bucket bucket_up, bucket_down;
	/* Traffic, for events and metrics. */
	uint64_t pkts_in, bytes_in;   /* client → peer */
	uint64_t pkts_out, bytes_out; /* peer → client */
	/* Requests and the timer only, from here on. */
	struct sockaddr_storage relayed; /* XOR-RELAYED-ADDRESS as advertised */
	/* A dual allocation's second, IPv6 relay (RFC 8656 §7.2,
	 * ADDITIONAL-ADDRESS-FAMILY), or NULL: only dual ones pay for it. */
	struct turn_relay2 {
		void *relay;
		struct sockaddr_storage relayed;
	} * dual;
	/* RFC 6062: a TCP allocation's peer data connections (turn/tcprel.c). */
	struct turn_tcpconn *tcpconns;
	uint64_t created_ms;
	/* Who, for later requests on it (RFC 8656 §7.2: same credentials):
	 * ulen bytes and a NUL, kept after the struct in the same block
	 * (turn_alloc_new), so a short name costs what it takes. */
	char *username;
	uint16_t ulen;
	uint16_t quota_off, quota_len; /* user part within username */
	struct auth_key key;
	/* Its name in events and logs: random, so unique across a fleet. */
	uint8_t id[TURN_ALLOC_ID_LEN];
	/* Event bookkeeping, written by the network layer's event hook. */
	uint64_t event_ms;  /* when the last event went out */
	uint32_t event_seq; /* events sent so far */
	/* The last answer, for retransmitted requests (RFC 8656 §7.2 etc.). */
	uint8_t last_txn[12];
	uint16_t last_len;
	uint8_t last_reply[TURN_CACHED_REPLY];
	/* Timer wheel links. */
	struct turn_alloc *wnext, **wprev;
};

struct turn_table {
	struct turn_alloc **buckets;
	size_t nbuckets;
	size_t count;
	struct turn_alloc *wheel[TURN_WHEEL_SLOTS];
	uint64_t wheel_sec; /* next second the wheel will fire */
};

int turn_table_init(struct turn_table *t);
/* Frees the table; allocations still in it must be released by the caller
 * first (turn_table_first/turn_table_remove). */
void turn_table_cleanup(struct turn_table *t);

/* The allocation on this 5-tuple, or NULL. O(1). */
struct turn_alloc *turn_table_find(const struct turn_table *t, enum turn_transport tr,
				   const struct sockaddr *client, const struct sockaddr *local);
/* Inserts a new allocation (5-tuple fields and expiry set). Returns 0 or
 * TP_ENOMEM. */
int turn_table_insert(struct turn_table *t, struct turn_alloc *a);
void turn_table_remove(struct turn_table *t, struct turn_alloc *a);
/* Moves an allocation to its new expiry on the wheel. */
void turn_table_reschedule(struct turn_table *t, struct turn_alloc *a);
/* Any allocation (for shutdown), or NULL. */
struct turn_alloc *turn_table_first(const struct turn_table *t);
/*
 * Calls fn for every allocation in the next nbuckets hash buckets from
 * *cursor (which it advances, wrapping around): a whole pass over the table
 * spread over several calls, bounded work per call. fn must not insert or
 * remove allocations. Returns the number of allocations visited.
 */
size_t turn_table_walk(const struct turn_table *t, size_t *cursor, size_t nbuckets,
		       void (*fn)(struct turn_alloc *a, void *arg), void *arg);

/*
 * Pops the next allocation whose lifetime ended at or before now, or NULL.
 * Call until NULL once a second; allocations still alive in a fired slot
 * (refreshed, or beyond the wheel's span) are put back. O(1) per entry.
 */
struct turn_alloc *turn_table_expired(struct turn_table *t, uint64_t now_ms);

/* Whether a peer of family may be reached from a: the family of its relay,
 * or of either relay of a dual allocation (RFC 8656 §9.1, §11.2). */
static inline bool turn_alloc_has_family(const struct turn_alloc *a, int family)
{
	return a->relayed.ss_family == family ||
	       (a->dual && a->dual->relay && a->dual->relayed.ss_family == family);
}

/* ---- permissions (RFC 8656 §9) ---- */

/* Installs or refreshes a permission for the peer's IP. Returns 0, or
 * TP_ETOOMANY when max live permissions would be exceeded, or TP_ENOMEM. */
int turn_perm_add(struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms, unsigned max,
		  bool self);
/* The live permission covering the peer's IP, or NULL. Per packet: no
 * allocation. */
const struct turn_perm *turn_perm_find(const struct turn_alloc *a, const struct sockaddr *peer,
				       uint64_t now_ms);

/* ---- channels (RFC 8656 §12) ---- */

/*
 * Binds or refreshes channel num to peer. Returns 0; TP_EINVAL (400) when
 * the number is out of range, bound (or held) to another peer, or the peer
 * is bound (or held) to another number; TP_ETOOMANY past max; TP_ENOMEM.
 */
int turn_chan_bind(struct turn_alloc *a, uint16_t num, const struct sockaddr *peer, uint64_t now_ms,
		   unsigned max);
/* The live channel with this number / for this peer, or NULL. */
const struct turn_chan *turn_chan_by_num(const struct turn_alloc *a, uint16_t num, uint64_t now_ms);
const struct turn_chan *turn_chan_by_peer(const struct turn_alloc *a, const struct sockaddr *peer,
					  uint64_t now_ms);

/* ---- bandwidth ---- */

void turn_bucket_init(struct turn_bucket *b, uint64_t rate, uint64_t now_ms);
/* Takes len bytes if available. Returns false when over the rate. */
bool turn_bucket_take(struct turn_bucket *b, size_t len, uint64_t now_ms);

/* Canonical 16-byte form of an address's IP (IPv4 as ::ffff:a.b.c.d). */
void turn_ip16(const struct sockaddr *sa, uint8_t out[16]);

/* A zeroed allocation with room for a username of ulen bytes (a->username
 * points there, NUL-terminated), or NULL. Free with free() after
 * turn_alloc_cleanup. */
struct turn_alloc *turn_alloc_new(size_t ulen);

/* Frees the permission and channel arrays. */
void turn_alloc_cleanup(struct turn_alloc *a);

#endif
