/* srccount.h - how many of something (connections, say) are held, in all
 * and by each source (an IPv4 address or an IPv6 /64, see addr_source_key),
 * so that one source holds no more than its share of a cap. A fixed table
 * sized from the cap with exact keys: no allocation per entry, and no two
 * sources ever share a count. One thread at a time (callers that share a
 * table lock around it). */
#ifndef TURNPIKE_UTIL_SRCCOUNT_H
#define TURNPIKE_UTIL_SRCCOUNT_H

#include <stddef.h>
#include <sys/socket.h>

enum srccount_take {
	SRCCOUNT_OK = 0,
	SRCCOUNT_FULL,   /* limit are held in all */
	SRCCOUNT_SOURCE, /* this source holds per_source of them */
};

struct srccount;

/* A table for at most limit held, per_source of them by one source (0 for
 * either: 1). Returns NULL on allocation failure. */
struct srccount *srccount_new(size_t limit, size_t per_source);
/* NULL is a no-op. */
void srccount_free(struct srccount *t);
/* Counts one more for sa's source when both limits allow it. */
enum srccount_take srccount_take(struct srccount *t, const struct sockaddr *sa);
/* Gives back one that srccount_take counted for sa's source. */
void srccount_put(struct srccount *t, const struct sockaddr *sa);
/* How many are held, in all and by sa's source. */
size_t srccount_open(const struct srccount *t);
size_t srccount_of(const struct srccount *t, const struct sockaddr *sa);

#endif
