/* ratelimit.h - per-source token buckets (a source is an IPv4 address or an
 * IPv6 /64, see addr_source_key) in a fixed table: no allocation per
 * source, bounded memory whatever the crowd. One thread per table. */
#ifndef TURNPIKE_UTIL_RATELIMIT_H
#define TURNPIKE_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit;

/* rate: tokens per second, also the burst. slots: table size (rounded up
 * to a power of two). Returns NULL on allocation failure. */
struct ratelimit *ratelimit_new(unsigned rate, size_t slots);
void ratelimit_free(struct ratelimit *rl);
/* Takes one token for sa at now_ms (monotonic). Returns false when its
 * bucket is empty. A full table evicts the least recently seen source of
 * the probed slots, which starts afresh: the limit is never stricter than
 * configured, only looser for sources evicted by a crowd. */
bool ratelimit_take(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ms);

#endif
