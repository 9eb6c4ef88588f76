/* txn.c - non-blocking STUN client transactions for the peer (RFC 8489
 * §6.2): a timer per transaction on the agent's base, retransmission at
 * RTO, 2 RTO, ... over unreliable paths, one send and Ti over streams;
 * answers matched by transaction id. */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "peer/ice.h"
#include "turnpike/err.h"

static void unlink_txn(struct peer_txn *t)
{
	struct peer_txn **pp;

	if (!t->owner)
		return;
	pp = &t->owner->head;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
}

static void free_txn(struct peer_txn *t)
{
	unlink_txn(t);
	if (t->timer)
		event_free(t->timer);
	free(t);
}

static void arm(struct peer_txn *t, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	evtimer_add(t->timer, &tv);
}

static void txn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_txn *t = arg;
	peer_txn_fn fn = t->fn;
	void *fnarg = t->arg;

	(void)fd;
	(void)what;
	/* RFC 8489 §6.2.1: Rc sends in all, then wait Rm * RTO for the last. */
	if (!t->reliable && t->sent < t->rc) {
		t->send(t->ctx, (const struct sockaddr *)&t->dst, t->buf, t->len);
		t->sent++;
		t->owner->retransmits++;
		if (t->sent < t->rc) {
			t->rto_ms *= 2;
			arm(t, t->rto_ms);
		} else {
			arm(t, PEER_RTO_MS * PEER_RM);
		}
		return;
	}
	free_txn(t);
	fn(fnarg, NULL, NULL, NULL);
}

int peer_txn_start(struct peer_txns *ts, peer_send_fn send, void *ctx, bool reliable,
		   const struct sockaddr *dst, const uint8_t *req, size_t len, peer_txn_fn fn,
		   void *arg, struct peer_txn **out)
{
	struct peer_txn *t;

	if (out)
		*out = NULL;
	if (len < STUN_HEADER_LEN || len > ICE_PKT_MAX || !fn)
		return TP_EINVAL;
	if (!(t = calloc(1, sizeof(*t))))
		return TP_ENOMEM;
	if (!(t->timer = evtimer_new(ts->base, txn_timer_cb, t))) {
		free(t);
		return TP_ENOMEM;
	}
	t->owner = ts;
	memcpy(t->id, req + 4, 16);
	memcpy(t->buf, req, len);
	t->len = len;
	if (dst)
		memcpy(&t->dst, dst,
		       dst->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in));
	t->send = send;
	t->ctx = ctx;
	t->reliable = reliable;
	t->rto_ms = PEER_RTO_MS;
	t->rc = PEER_RC;
	t->fn = fn;
	t->arg = arg;
	t->next = ts->head;
	ts->head = t;
	ts->started++;
	send(ctx, dst, req, len); /* a failed send is a lost datagram */
	t->sent = 1;
	arm(t, reliable ? PEER_TI_MS : t->rto_ms);
	if (out)
		*out = t;
	return 0;
}

void peer_txn_cancel(struct peer_txn *t)
{
	if (t)
		free_txn(t);
}

bool peer_txns_answer(struct peer_txns *ts, const struct stun_msg *resp,
		      const struct sockaddr *from)
{
	struct peer_txn *t;
	peer_txn_fn fn;
	void *arg;

	if (resp->cls != STUN_SUCCESS && resp->cls != STUN_ERROR)
		return false;
	for (t = ts->head; t; t = t->next)
		if (memcmp(t->id, resp->txn, 16) == 0)
			break;
	if (!t)
		return false;
	fn = t->fn;
	arg = t->arg;
	/* The callback may start new transactions (401 dance, triggered
	 * checks): take this one out first. The callback must not cancel it. */
	unlink_txn(t);
	t->next = NULL;
	t->owner = NULL;
	event_free(t->timer);
	t->timer = NULL;
	fn(arg, t, resp, from);
	free(t);
	return true;
}

void peer_txns_clear(struct peer_txns *ts)
{
	while (ts->head)
		free_txn(ts->head);
}
