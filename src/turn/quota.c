/* quota.c - shared allocation counters per user, per source and in total. */
#include "turn/quota.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/err.h"
#include "util/addr.h"
#include "util/rand.h"

#define QUOTA_BUCKETS 1024

struct quota_user {
	struct quota_user *next;
	unsigned count;
	size_t len;
	char name[];
};

/* A client source: the IPv4 address or IPv6 /64 (addr_source_key). */
struct quota_source {
	struct quota_source *next;
	unsigned count;
	uint8_t key[16];
};

struct turn_quota {
	pthread_mutex_t lock;
	unsigned user_max, total_max, total, source_max;
	uint8_t key[16];
	struct quota_user *buckets[QUOTA_BUCKETS];
	struct quota_source *sources[QUOTA_BUCKETS];
};

struct turn_quota *turn_quota_new(unsigned user_quota, unsigned total_quota)
{
	struct turn_quota *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	q->user_max = user_quota;
	q->total_max = total_quota;
	if (rand_bytes(q->key, sizeof(q->key)) != 0) {
		turn_quota_free(q);
		return NULL;
	}
	return q;
}

void turn_quota_free(struct turn_quota *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < QUOTA_BUCKETS; i++) {
		struct quota_user *u = q->buckets[i], *next;
		for (; u; u = next) {
			next = u->next;
			free(u);
		}
		struct quota_source *src = q->sources[i], *snext;
		for (; src; src = snext) {
			snext = src->next;
			free(src);
		}
	}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void turn_quota_set(struct turn_quota *q, unsigned user_quota, unsigned total_quota)
{
	pthread_mutex_lock(&q->lock);
	q->user_max = user_quota;
	q->total_max = total_quota;
	pthread_mutex_unlock(&q->lock);
}

static struct quota_user **slot(struct turn_quota *q, const char *user, size_t len)
{
	size_t b = addr_siphash(q->key, (const uint8_t *)user, len) % QUOTA_BUCKETS;
	struct quota_user **pp = &q->buckets[b];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->len == len && memcmp((*pp)->name, user, len) == 0)
			break;
	return pp;
}

int turn_quota_take(struct turn_quota *q, const char *user, size_t len)
{
	struct quota_user **pp, *u;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	if (q->total_max && q->total >= q->total_max) {
		rc = TP_EAGAIN;
		goto out;
	}
	pp = slot(q, user, len);
	u = *pp;
	if (q->user_max && u && u->count >= q->user_max) {
		rc = TP_ETOOMANY;
		goto out;
	}
	if (!u) {
		u = calloc(1, sizeof(*u) + len + 1);
		if (!u) {
			rc = TP_ENOMEM;
			goto out;
		}
		memcpy(u->name, user, len);
		u->len = len;
		*pp = u;
	}
	u->count++;
	q->total++;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void turn_quota_give(struct turn_quota *q, const char *user, size_t len)
{
	struct quota_user **pp, *u;

	pthread_mutex_lock(&q->lock);
	pp = slot(q, user, len);
	u = *pp;
	if (u && u->count) {
		u->count--;
		q->total--;
		if (u->count == 0) {
			*pp = u->next;
			free(u);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned turn_quota_user(struct turn_quota *q, const char *user, size_t len)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = *slot(q, user, len) ? (*slot(q, user, len))->count : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned turn_quota_total(struct turn_quota *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->total;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void turn_quota_set_source(struct turn_quota *q, unsigned per_source)
{
	pthread_mutex_lock(&q->lock);
	q->source_max = per_source;
	pthread_mutex_unlock(&q->lock);
}

static struct quota_source **source_slot(struct turn_quota *q, const uint8_t key[16])
{
	size_t b = addr_siphash(q->key, key, 16) % QUOTA_BUCKETS;
	struct quota_source **pp = &q->sources[b];

	for (; *pp; pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, 16) == 0)
			break;
	return pp;
}

int turn_quota_source_take(struct turn_quota *q, const struct sockaddr *sa)
{
	struct quota_source **pp, *s;
	uint8_t key[16];
	int rc = 0;

	addr_source_key(sa, key);
	pthread_mutex_lock(&q->lock);
	pp = source_slot(q, key);
	s = *pp;
	if (q->source_max && s && s->count >= q->source_max) {
		rc = TP_ELIMIT;
		goto out;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			rc = TP_ENOMEM;
			goto out;
		}
		memcpy(s->key, key, sizeof(key));
		*pp = s;
	}
	s->count++;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void turn_quota_source_give(struct turn_quota *q, const struct sockaddr *sa)
{
	struct quota_source **pp, *s;
	uint8_t key[16];

	addr_source_key(sa, key);
	pthread_mutex_lock(&q->lock);
	pp = source_slot(q, key);
	s = *pp;
	if (s && s->count && --s->count == 0) {
		*pp = s->next;
		free(s);
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned turn_quota_source(struct turn_quota *q, const struct sockaddr *sa)
{
	struct quota_source *s;
	uint8_t key[16];
	unsigned n;

	addr_source_key(sa, key);
	pthread_mutex_lock(&q->lock);
	s = *source_slot(q, key);
	n = s ? s->count : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}
