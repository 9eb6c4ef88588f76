/* park.h - a worker's parking lot: copies of requests that wait for Redis
 * (a long-term key lookup, a fleet quota decision), grouped by what they
 * wait for, so one answer runs every request that waited on it. Bounded in
 * requests, bytes per request and things waited on. Pure data: no sockets,
 * no event loop; one thread. Memory grows to the high-water mark and is
 * reused, not allocated per request. */
#ifndef TURNPIKE_NET_PARK_H
#define TURNPIKE_NET_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turn/server.h"

#define PARK_MAX_REQS 1024 /* requests parked at once, per worker */
#define PARK_MAX_WAITS 256 /* lookups and decisions under way, per worker */
#define PARK_MSG_MAX 2048  /* a longer request is not parked (508) */

enum park_kind {
	PARK_KEY = 0, /* a user's long-term key */
	PARK_QUOTA    /* a fleet-wide user-quota decision for one Allocate */
};

/* One parked request: the message and where it came from, by value. */
struct park_req {
	struct park_req *next;
	void *conn; /* the network layer's handle; NULL once cancelled */
	enum turn_transport tr;
	struct sockaddr_storage client, local;
	size_t len;
	uint8_t msg[PARK_MSG_MAX];
};

/* One thing waited on, and the requests waiting. */
struct park_wait {
	struct park_wait *next; /* in the lot's list, or the free list */
	enum park_kind kind;
	bool listed;                  /* found by park_find_* */
	void *owner;                  /* the network layer's, for its callbacks */
	struct park_wait *ready_next; /* the network layer's queue of answered waits */
	struct park_req *head, **tail;
	unsigned nreqs;
	/* PARK_KEY: the user; PARK_QUOTA: the user the quota counts. */
	char name[TURN_USERNAME_MAX + 1]; /* NUL-terminated */
	size_t nlen;
	uint64_t gen; /* PARK_KEY: cache generation at the lookup */
	/* PARK_QUOTA: the decision, keyed by 5-tuple and transaction. */
	struct turn_ticket ticket;
	uint32_t lifetime_s;
	bool retried; /* EVAL after EVALSHA's NOSCRIPT */
};

struct park;

/* 0 for either bound: the defaults above. NULL when out of memory. */
struct park *park_new(size_t max_reqs, size_t max_waits);
/* Frees every wait and request. NULL is a no-op. */
void park_free(struct park *p);

/* A new wait (listed), or NULL when max_waits are in use or out of
 * memory. name (PARK_KEY and PARK_QUOTA) is copied; NULL when it does not
 * fit or holds a NUL. */
struct park_wait *park_wait_new(struct park *p, enum park_kind kind, const char *name, size_t nlen);
/* No longer found by park_find_* (its answer came: it is being run). */
void park_wait_unlist(struct park *p, struct park_wait *w);
/* Ends a wait; requests still on it are dropped. */
void park_wait_free(struct park *p, struct park_wait *w);

/* The listed key lookup for name, or NULL. */
struct park_wait *park_find_key(struct park *p, const char *name, size_t nlen);
/* The listed quota decision for this 5-tuple and transaction, or NULL. */
struct park_wait *park_find_ticket(struct park *p, const struct turn_from *from,
				   const uint8_t txn[12]);

/* Whether a request of len bytes can be parked now: it fits, and a slot is
 * free (or the request in hand moves). Makes sure the slot exists, so
 * park_add cannot fail after a true. */
bool park_room(struct park *p, size_t len);
/* Parks a copy of msg from from on w. Returns 0, TP_EAGAIN (no room) or
 * TP_ENOSPC (longer than PARK_MSG_MAX). */
int park_add(struct park *p, struct park_wait *w, const uint8_t *msg, size_t len,
	     const struct turn_from *from);

/* Takes w's first request into the caller's hand (still counted against
 * the bound until freed or put back); NULL when none is left. */
struct park_req *park_take(struct park *p, struct park_wait *w);
/* The request in hand, or NULL. */
struct park_req *park_hand(const struct park *p);
/* Puts the request in hand on w (it must wait again). */
void park_put(struct park *p, struct park_wait *w);
/* Frees the request in hand, if any. */
void park_drop_hand(struct park *p);

/* Cancels every request whose conn is conn (a TCP connection closing): it
 * is kept until its wait ends, then dropped. Returns how many. */
size_t park_cancel(struct park *p, const void *conn);

/* Requests parked or in hand; waits in use. */
size_t park_count(const struct park *p);
size_t park_nwaits(const struct park *p);

#endif
