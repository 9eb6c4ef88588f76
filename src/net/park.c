/* park.c - the parking lot of requests waiting for Redis: waits on a list
 * (few: linear search), requests in a per-wait queue, both recycled
 * through free lists. */
#include "net/park.h"

#include <stdlib.h>
#include <string.h>

#include "turnpike/err.h"
#include "util/addr.h"

struct park {
	struct park_wait *waits; /* in use, listed or being run */
	struct park_wait *free_waits;
	struct park_req *free_reqs;
	struct park_req *hand; /* taken, being run again */
	size_t nwaits, nreqs;  /* in use (nreqs counts the hand) */
	size_t max_waits, max_reqs;
};

struct park *park_new(size_t max_reqs, size_t max_waits)
{
	struct park *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->max_reqs = max_reqs ? max_reqs : PARK_MAX_REQS;
	p->max_waits = max_waits ? max_waits : PARK_MAX_WAITS;
	return p;
}

static void free_reqs(struct park_req *r)
{
	struct park_req *next;

	for (; r; r = next) {
		next = r->next;
		free(r);
	}
}

static void free_waits(struct park_wait *w)
{
	struct park_wait *next;

	for (; w; w = next) {
		next = w->next;
		free_reqs(w->head);
		free(w);
	}
}

void park_free(struct park *p)
{
	if (!p)
		return;
	free_waits(p->waits);
	free_waits(p->free_waits);
	free_reqs(p->free_reqs);
	free(p->hand);
	free(p);
}

struct park_wait *park_wait_new(struct park *p, enum park_kind kind, const char *name, size_t nlen)
{
	struct park_wait *w;

	if (p->nwaits >= p->max_waits || !name || nlen >= sizeof(w->name) ||
	    memchr(name, '\0', nlen))
		return NULL;
	if ((w = p->free_waits))
		p->free_waits = w->next;
	else if (!(w = malloc(sizeof(*w))))
		return NULL;
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->listed = true;
	w->tail = &w->head;
	memcpy(w->name, name, nlen);
	w->name[nlen] = '\0';
	w->nlen = nlen;
	w->next = p->waits;
	p->waits = w;
	p->nwaits++;
	return w;
}

void park_wait_unlist(struct park *p, struct park_wait *w)
{
	(void)p;
	w->listed = false;
}

static void req_free(struct park *p, struct park_req *r)
{
	r->next = p->free_reqs;
	p->free_reqs = r;
	p->nreqs--;
}

void park_wait_free(struct park *p, struct park_wait *w)
{
	struct park_wait **pp;
	struct park_req *r;

	for (pp = &p->waits; *pp && *pp != w; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = w->next;
	while ((r = w->head)) {
		w->head = r->next;
		req_free(p, r);
	}
	w->next = p->free_waits;
	p->free_waits = w;
	p->nwaits--;
}

struct park_wait *park_find_key(struct park *p, const char *name, size_t nlen)
{
	for (struct park_wait *w = p->waits; w; w = w->next)
		if (w->listed && w->kind == PARK_KEY && w->nlen == nlen &&
		    memcmp(w->name, name, nlen) == 0)
			return w;
	return NULL;
}

struct park_wait *park_find_ticket(struct park *p, const struct turn_from *from,
				   const uint8_t txn[12])
{
	for (struct park_wait *w = p->waits; w; w = w->next) {
		const struct turn_ticket *t = &w->ticket;
		if (w->listed && w->kind == PARK_QUOTA && t->tr == from->tr &&
		    memcmp(t->txn, txn, sizeof(t->txn)) == 0 &&
		    addr_equal((const struct sockaddr *)&t->client, from->client) &&
		    addr_equal((const struct sockaddr *)&t->local, from->local))
			return w;
	}
	return NULL;
}

bool park_room(struct park *p, size_t len)
{
	struct park_req *r;

	if (len > PARK_MSG_MAX)
		return false;
	if (p->hand)
		return true;
	if (p->nreqs >= p->max_reqs)
		return false;
	if (!p->free_reqs) {
		if (!(r = malloc(sizeof(*r))))
			return false;
		r->next = NULL;
		p->free_reqs = r;
	}
	return true;
}

static void enqueue(struct park_wait *w, struct park_req *r)
{
	r->next = NULL;
	*w->tail = r;
	w->tail = &r->next;
	w->nreqs++;
}

int park_add(struct park *p, struct park_wait *w, const uint8_t *msg, size_t len,
	     const struct turn_from *from)
{
	struct park_req *r;

	if (len > PARK_MSG_MAX)
		return TP_ENOSPC;
	if (p->nreqs >= p->max_reqs || !park_room(p, len) || !p->free_reqs)
		return TP_EAGAIN;
	r = p->free_reqs;
	p->free_reqs = r->next;
	p->nreqs++;
	r->conn = from->conn;
	r->tr = from->tr;
	memset(&r->client, 0, sizeof(r->client));
	memset(&r->local, 0, sizeof(r->local));
	memcpy(&r->client, from->client, addr_len(from->client));
	memcpy(&r->local, from->local, addr_len(from->local));
	memcpy(r->msg, msg, len);
	r->len = len;
	enqueue(w, r);
	return 0;
}

struct park_req *park_take(struct park *p, struct park_wait *w)
{
	struct park_req *r = w->head;

	if (!r || p->hand)
		return NULL;
	w->head = r->next;
	if (!w->head)
		w->tail = &w->head;
	w->nreqs--;
	r->next = NULL;
	p->hand = r;
	return r;
}

struct park_req *park_hand(const struct park *p)
{
	return p->hand;
}

void park_put(struct park *p, struct park_wait *w)
{
	struct park_req *r = p->hand;

	if (!r)
		return;
	p->hand = NULL;
	enqueue(w, r);
}

void park_drop_hand(struct park *p)
{
	if (p->hand) {
		req_free(p, p->hand);
		p->hand = NULL;
	}
}

size_t park_cancel(struct park *p, const void *conn)
{
	size_t n = 0;

	if (p->nreqs == 0)
		return 0;
	for (struct park_wait *w = p->waits; w; w = w->next) {
		for (struct park_req *r = w->head; r; r = r->next) {
			if (r->conn == conn) {
				r->conn = NULL;
				n++;
			}
		}
	}
	if (p->hand && p->hand->conn == conn) {
		p->hand->conn = NULL;
		n++;
	}
	return n;
}

size_t park_count(const struct park *p)
{
	return p->nreqs;
}

size_t park_nwaits(const struct park *p)
{
	return p->nwaits;
}
