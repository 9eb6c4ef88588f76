/* quota.h - allocation quotas shared by all workers: per user, per client
 * source (an IPv4 address or an IPv6 /64) and in total.
 * Taken and given back on the control path (Allocate, expiry) under a lock;
 * the packet path never touches it. */
#ifndef TURNPIKE_TURN_QUOTA_H
#define TURNPIKE_TURN_QUOTA_H

#include <stddef.h>
#include <sys/socket.h>

struct turn_quota;

/* 0 for either limit means unlimited. Returns NULL when out of memory. */
struct turn_quota *turn_quota_new(unsigned user_quota, unsigned total_quota);
void turn_quota_free(struct turn_quota *q);
/* New limits (0: none) for the next turn_quota_take; what is held stays
 * held. */
void turn_quota_set(struct turn_quota *q, unsigned user_quota, unsigned total_quota);

/* Counts one more allocation for user. Returns 0, TP_ETOOMANY when the user
 * is at user-quota (486), TP_EAGAIN when the server is at total-quota (508),
 * TP_ENOMEM. */
int turn_quota_take(struct turn_quota *q, const char *user, size_t len);
/* Gives one back. */
void turn_quota_give(struct turn_quota *q, const char *user, size_t len);
/* Current counts (tests, metrics). */
unsigned turn_quota_user(struct turn_quota *q, const char *user, size_t len);
unsigned turn_quota_total(struct turn_quota *q);

/* The per-source limit (0: none) for the next turn_quota_source_take. */
void turn_quota_set_source(struct turn_quota *q, unsigned per_source);
/* Counts one more allocation for sa's source (addr_source_key). Returns 0,
 * TP_ELIMIT when the source is at its limit (486), TP_ENOMEM. Called only
 * once an Allocate passed authentication: no state for who proved no key. */
int turn_quota_source_take(struct turn_quota *q, const struct sockaddr *sa);
/* Gives one back. */
void turn_quota_source_give(struct turn_quota *q, const struct sockaddr *sa);
/* Current count of sa's source (tests). */
unsigned turn_quota_source(struct turn_quota *q, const struct sockaddr *sa);

#endif
