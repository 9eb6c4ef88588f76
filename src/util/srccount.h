/* srccount.h - how many of something each source holds now (connections
 * that have not authenticated, say), so that one source gets only a share
 * of a table: counters in a fixed array indexed by a keyed hash of the
 * source (addr_source_key), updated with atomics, so every thread may share
 * one. No allocation per source; O(1). Two sources that land on one slot
 * by chance share its bound, which errs on the safe side, and the key is
 * secret, so nobody can aim at a victim's slot. */
#ifndef TURNPIKE_UTIL_SRCCOUNT_H
#define TURNPIKE_UTIL_SRCCOUNT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SRCCOUNT_NONE UINT32_MAX /* no slot taken */

struct srccount;

/* slots: rounded up to a power of two (at least 64). NULL when out of
 * memory. */
struct srccount *srccount_new(size_t slots);
/* NULL is a no-op. */
void srccount_free(struct srccount *sc);
/* Counts one more for sa's source unless it holds limit already. Returns
 * the slot to give back with srccount_put, or SRCCOUNT_NONE when the source
 * is at its limit (limit 0: no limit, nothing counted). */
uint32_t srccount_take(struct srccount *sc, const struct sockaddr *sa, unsigned limit);
/* Gives back what srccount_take counted; SRCCOUNT_NONE is a no-op. */
void srccount_put(struct srccount *sc, uint32_t slot);
/* What the source of sa holds now. */
unsigned srccount_get(const struct srccount *sc, const struct sockaddr *sa);

#endif
