/* quota.h - allocation quotas shared by all workers: per user and in total.
 * Taken and given back on the control path (Allocate, expiry) under a lock;
 * the packet path never touches it. */
#ifndef TURNPIKE_TURN_QUOTA_H
#define TURNPIKE_TURN_QUOTA_H

#include <stddef.h>

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

#endif
