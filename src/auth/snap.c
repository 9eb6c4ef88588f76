/* snap.c - a credential store swapped whole while workers read it: one
 * publisher, any number of readers, no lock.
 *
 * The holder has two slots and an index to the current one. A reader
 * announces itself on the slot it is about to use (a guard counter that
 * lives in the holder, so it is never freed under it), checks the index
 * still points there, takes a reference on the store, and leaves the
 * guard: a few instructions. The publisher fills the other slot, moves the
 * index, and waits for the old slot's guard to empty before it drops its
 * own reference, so no reader can still be between reading the slot and
 * counting its reference. Readers keep the store by that reference for as
 * long as they like; the last one frees it. */
#include <sched.h>
#include <stdlib.h>

#include "auth/auth_int.h"

struct auth_snap {
	struct auth_store *slot[2];
	unsigned long guard[2];
	unsigned cur;
};

struct auth_snap *auth_snap_new(struct auth_store *first)
{
	struct auth_snap *h = calloc(1, sizeof(*h));

	if (!h) {
		auth_store_free(first);
		return NULL;
	}
	h->slot[0] = first;
	return h;
}

void auth_snap_put(const struct auth_store *s)
{
	if (s && __atomic_sub_fetch(auth_store_refs(s), 1, __ATOMIC_ACQ_REL) == 0)
		auth_store_free((struct auth_store *)s);
}

void auth_snap_free(struct auth_snap *h)
{
	if (!h)
		return;
	auth_snap_put(h->slot[h->cur]);
	free(h);
}

const struct auth_store *auth_snap_get(struct auth_snap *h)
{
	for (;;) {
		unsigned i = __atomic_load_n(&h->cur, __ATOMIC_SEQ_CST);

		__atomic_add_fetch(&h->guard[i], 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&h->cur, __ATOMIC_SEQ_CST) == i) {
			struct auth_store *s = __atomic_load_n(&h->slot[i], __ATOMIC_ACQUIRE);
			__atomic_add_fetch(auth_store_refs(s), 1, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&h->guard[i], 1, __ATOMIC_RELEASE);
			return s;
		}
		/* A publish moved the index meanwhile: look again. */
		__atomic_sub_fetch(&h->guard[i], 1, __ATOMIC_RELEASE);
	}
}

void auth_snap_set(struct auth_snap *h, struct auth_store *next)
{
	unsigned i = h->cur, j = 1 - i;
	struct auth_store *old;

	/* Slot j was emptied by the previous publish. Fill it, then switch. */
	__atomic_store_n(&h->slot[j], next, __ATOMIC_RELEASE);
	__atomic_store_n(&h->cur, j, __ATOMIC_SEQ_CST);
	/* Readers hold a guard for a few instructions only; this ends as soon
	 * as the ones already on slot i have counted their reference. */
	while (__atomic_load_n(&h->guard[i], __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	old = h->slot[i];
	__atomic_store_n(&h->slot[i], NULL, __ATOMIC_RELAXED);
	auth_snap_put(old);
}
