/* alloc.c - TURN allocation state: 5-tuple hash table, timer wheel for
 * lifetimes, permissions, channels, token bucket. */
#include "turn/alloc.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/err.h"
#include "util/addr.h"

#define INITIAL_BUCKETS 256

int turn_table_init(struct turn_table *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return TP_ENOMEM;
	t->nbuckets = INITIAL_BUCKETS;
	return 0;
}

void turn_table_cleanup(struct turn_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

static uint64_t tuple_hash(enum turn_transport tr, const struct sockaddr *client,
			   const struct sockaddr *local)
{
	/* Both halves are keyed hashes; mixing them keeps collisions random. */
	return addr_hash(client) * 31 + addr_hash(local) + (uint64_t)tr;
}

static bool tuple_eq(const struct turn_alloc *a, enum turn_transport tr,
		     const struct sockaddr *client, const struct sockaddr *local)
{
	return a->transport == tr && addr_equal((const struct sockaddr *)&a->client, client) &&
	       addr_equal((const struct sockaddr *)&a->local, local);
}

struct turn_alloc *turn_table_find(const struct turn_table *t, enum turn_transport tr,
				   const struct sockaddr *client, const struct sockaddr *local)
{
	size_t i;

	if (t->count == 0) /* also after turn_table_cleanup */
		return NULL;
	i = tuple_hash(tr, client, local) & (t->nbuckets - 1);
	for (struct turn_alloc *a = t->buckets[i]; a; a = a->hnext)
		if (tuple_eq(a, tr, client, local))
			return a;
	return NULL;
}

static size_t bucket_of(const struct turn_table *t, const struct turn_alloc *a)
{
	return tuple_hash(a->transport, (const struct sockaddr *)&a->client,
			  (const struct sockaddr *)&a->local) &
	       (t->nbuckets - 1);
}

/* Doubles the bucket array when the load passes 1 (control path only). */
static int grow(struct turn_table *t)
{
	size_t n = t->nbuckets * 2;
	struct turn_alloc **nb = calloc(n, sizeof(*nb)), **old = t->buckets;
	size_t oldn = t->nbuckets;

	if (!nb)
		return TP_ENOMEM;
	t->buckets = nb;
	t->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct turn_alloc *a = old[i], *next;
		for (; a; a = next) {
			size_t j = bucket_of(t, a);
			next = a->hnext;
			a->hnext = nb[j];
			nb[j] = a;
		}
	}
	free(old);
	return 0;
}

static void wheel_link(struct turn_table *t, struct turn_alloc *a)
{
	uint64_t sec = (a->expiry_ms + 999) / 1000;
	struct turn_alloc **slot;

	/* Never behind the wheel's hand: a past expiry fires on the next tick. */
	if (sec < t->wheel_sec)
		sec = t->wheel_sec;
	slot = &t->wheel[sec % TURN_WHEEL_SLOTS];
	a->wnext = *slot;
	if (*slot)
		(*slot)->wprev = &a->wnext;
	a->wprev = slot;
	*slot = a;
}

static void wheel_unlink(struct turn_alloc *a)
{
	if (!a->wprev)
		return;
	*a->wprev = a->wnext;
	if (a->wnext)
		a->wnext->wprev = a->wprev;
	a->wnext = NULL;
	a->wprev = NULL;
}

int turn_table_insert(struct turn_table *t, struct turn_alloc *a)
{
	size_t i;

	if (t->count >= t->nbuckets && grow(t) != 0)
		return TP_ENOMEM;
	if (t->count == 0 && t->wheel_sec == 0)
		t->wheel_sec = a->created_ms / 1000;
	i = bucket_of(t, a);
	a->hnext = t->buckets[i];
	t->buckets[i] = a;
	t->count++;
	wheel_link(t, a);
	return 0;
}

void turn_table_remove(struct turn_table *t, struct turn_alloc *a)
{
	struct turn_alloc **pp = &t->buckets[bucket_of(t, a)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == a) {
			*pp = a->hnext;
			a->hnext = NULL;
			t->count--;
			break;
		}
	}
	wheel_unlink(a);
}

void turn_table_reschedule(struct turn_table *t, struct turn_alloc *a)
{
	wheel_unlink(a);
	wheel_link(t, a);
}

struct turn_alloc *turn_table_first(const struct turn_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		if (t->buckets[i])
			return t->buckets[i];
	return NULL;
}

size_t turn_table_walk(const struct turn_table *t, size_t *cursor, size_t nbuckets,
		       void (*fn)(struct turn_alloc *a, void *arg), void *arg)
{
	size_t visited = 0;

	for (size_t i = 0; i < nbuckets && i < t->nbuckets; i++) {
		struct turn_alloc *a, *next;

		if (*cursor >= t->nbuckets)
			*cursor = 0;
		for (a = t->buckets[(*cursor)++]; a; a = next) {
			next = a->hnext;
			fn(a, arg);
			visited++;
		}
	}
	return visited;
}

struct turn_alloc *turn_table_expired(struct turn_table *t, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;

	if (t->count == 0) {
		t->wheel_sec = now_s;
		return NULL;
	}
	/* A long stall (or a first call) need not walk more than one turn. */
	if (t->wheel_sec + TURN_WHEEL_SLOTS < now_s)
		t->wheel_sec = now_s - TURN_WHEEL_SLOTS;
	while (t->wheel_sec <= now_s) {
		struct turn_alloc **slot = &t->wheel[t->wheel_sec % TURN_WHEEL_SLOTS];
		struct turn_alloc *a = *slot, *keep = NULL;

		while (a) {
			struct turn_alloc *next = a->wnext;
			if (a->expiry_ms <= now_ms) {
				wheel_unlink(a);
				return a;
			}
			/* Alive: it belongs to a later turn of the wheel. */
			if ((a->expiry_ms + 999) / 1000 <= t->wheel_sec)
				keep = a; /* same second, later millisecond */
			a = next;
		}
		if (keep)
			return NULL; /* wait for the rest of this second */
		t->wheel_sec++;
	}
	return NULL;
}

void turn_ip16(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

int turn_perm_add(struct turn_alloc *a, const struct sockaddr *peer, uint64_t now_ms, unsigned max,
		  bool self)
{
	uint8_t ip[16];
	struct turn_perm *free_slot = NULL;
	unsigned live = 0;

	turn_ip16(peer, ip);
	for (uint16_t i = 0; i < a->nperms; i++) {
		struct turn_perm *p = &a->perms[i];
		if (memcmp(p->ip, ip, 16) == 0) {
			p->expiry_ms = now_ms + TURN_PERM_LIFETIME_MS;
			p->self = self;
			return 0;
		}
		if (p->expiry_ms <= now_ms) {
			if (!free_slot)
				free_slot = p;
		} else {
			live++;
		}
	}
	if (live >= max)
		return TP_ETOOMANY;
	if (!free_slot) {
		if (a->nperms == a->cap_perms) {
			/* max-permissions goes to 65535: doubling 32768 must not
			 * wrap the 16-bit capacity to 0 (realloc to 0 frees). */
			size_t cap = a->cap_perms ? (size_t)a->cap_perms * 2 : 1;
			struct turn_perm *np;

			if (cap > UINT16_MAX)
				cap = UINT16_MAX;
			if (cap <= a->nperms)
				return TP_ETOOMANY;
			np = realloc(a->perms, cap * sizeof(*np));
			if (!np)
				return TP_ENOMEM;
			a->perms = np;
			a->cap_perms = (uint16_t)cap;
		}
		free_slot = &a->perms[a->nperms++];
	}
	memcpy(free_slot->ip, ip, 16);
	free_slot->expiry_ms = now_ms + TURN_PERM_LIFETIME_MS;
	free_slot->self = self;
	return 0;
}

const struct turn_perm *turn_perm_find(const struct turn_alloc *a, const struct sockaddr *peer,
				       uint64_t now_ms)
{
	uint8_t ip[16];

	turn_ip16(peer, ip);
	for (uint16_t i = 0; i < a->nperms; i++)
		if (a->perms[i].expiry_ms > now_ms && memcmp(a->perms[i].ip, ip, 16) == 0)
			return &a->perms[i];
	return NULL;
}

int turn_chan_bind(struct turn_alloc *a, uint16_t num, const struct sockaddr *peer, uint64_t now_ms,
		   unsigned max)
{
	struct turn_chan *same = NULL, *free_slot = NULL;
	unsigned live = 0;

	if (num < TURN_CHANNEL_MIN || num > TURN_CHANNEL_MAX)
		return TP_EINVAL;
	for (uint16_t i = 0; i < a->nchans; i++) {
		struct turn_chan *c = &a->chans[i];
		bool held = c->expiry_ms + TURN_CHAN_HOLD_MS > now_ms;
		bool num_eq = c->num == num;
		bool peer_eq = addr_equal((const struct sockaddr *)&c->peer, peer);

		if (!held) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		live++;
		/* RFC 8656 §11.2: a number stays with its peer and the reverse. */
		if (num_eq && peer_eq)
			same = c;
		else if (num_eq || peer_eq)
			return TP_EINVAL;
	}
	if (same) {
		same->expiry_ms = now_ms + TURN_CHAN_LIFETIME_MS;
		return 0;
	}
	if (live >= max)
		return TP_ETOOMANY;
	if (!free_slot) {
		if (a->nchans == a->cap_chans) {
			uint16_t cap = a->cap_chans ? (uint16_t)(a->cap_chans * 2) : 1;
			struct turn_chan *nc = realloc(a->chans, cap * sizeof(*nc));
			if (!nc)
				return TP_ENOMEM;
			a->chans = nc;
			a->cap_chans = cap;
		}
		free_slot = &a->chans[a->nchans++];
	}
	memset(free_slot, 0, sizeof(*free_slot));
	memcpy(&free_slot->peer, peer, addr_len(peer));
	free_slot->num = num;
	free_slot->expiry_ms = now_ms + TURN_CHAN_LIFETIME_MS;
	return 0;
}

const struct turn_chan *turn_chan_by_num(const struct turn_alloc *a, uint16_t num, uint64_t now_ms)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].num == num && a->chans[i].expiry_ms > now_ms)
			return &a->chans[i];
	return NULL;
}

const struct turn_chan *turn_chan_by_peer(const struct turn_alloc *a, const struct sockaddr *peer,
					  uint64_t now_ms)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].expiry_ms > now_ms &&
		    addr_equal((const struct sockaddr *)&a->chans[i].peer, peer))
			return &a->chans[i];
	return NULL;
}

void turn_bucket_init(struct turn_bucket *b, uint64_t rate, uint64_t now_ms)
{
	b->rate = rate;
	b->tokens = rate * 1000; /* start with one second's worth */
	b->last_ms = now_ms;
}

bool turn_bucket_take(struct turn_bucket *b, size_t len, uint64_t now_ms)
{
	uint64_t cap, need = (uint64_t)len * 1000;

	if (b->rate == 0)
		return true;
	cap = b->rate * 1000;
	if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * b->rate;
		b->tokens = b->tokens + add > cap ? cap : b->tokens + add;
		b->last_ms = now_ms;
	}
	if (b->tokens < need)
		return false;
	b->tokens -= need;
	return true;
}

struct turn_alloc *turn_alloc_new(size_t ulen)
{
	struct turn_alloc *a;

	if (ulen >= TURN_USERNAME_MAX)
		return NULL;
	a = calloc(1, sizeof(*a) + ulen + 1);
	if (a)
		a->username = (char *)(a + 1);
	return a;
}

void turn_alloc_cleanup(struct turn_alloc *a)
{
	free(a->perms);
	free(a->chans);
	free(a->dual);
	a->dual = NULL;
	a->perms = NULL;
	a->chans = NULL;
	a->nperms = a->cap_perms = 0;
	a->nchans = a->cap_chans = 0;
}
