/* test_net_park.c - unit tests for src/net/park.c: the bounds (requests,
 * bytes per request, waits), finding a key lookup by name and a quota
 * decision by 5-tuple and transaction, running requests in order, the
 * request in hand moving to another wait without room, and cancelling a
 * connection's requests. */
#include <string.h>

#include "check.h"
#include "net/park.h"
#include "turnpike/err.h"

#define TURN_FAKE_ADDR_ONLY
#include "turn_fake.h"

static uint8_t msg[PARK_MSG_MAX + 1];

struct from {
	struct sockaddr_storage client, local;
	struct turn_from f;
};

static void from_init(struct from *x, enum turn_transport tr, const char *client, void *conn)
{
	x->client = sa(client);
	x->local = sa("192.0.2.1:3478");
	x->f.tr = tr;
	x->f.client = CSA(&x->client);
	x->f.local = CSA(&x->local);
	x->f.conn = conn;
}

static void test_bounds(void)
{
	struct park *p = park_new(4, 2);
	struct park_wait *a, *b;
	struct from x;
	int conn;

	from_init(&x, TP_UDP, "198.51.100.1:4000", &conn);
	a = park_wait_new(p, PARK_KEY, "alice", 5);
	b = park_wait_new(p, PARK_KEY, "bob", 3);
	CHECK(a && b);
	CHECK(park_wait_new(p, PARK_KEY, "carol", 5) == NULL); /* 2 waits at most */
	CHECK_INT(park_nwaits(p), 2);
	/* Bytes per request. */
	CHECK(park_room(p, PARK_MSG_MAX));
	CHECK(!park_room(p, PARK_MSG_MAX + 1));
	CHECK_INT(park_add(p, a, msg, PARK_MSG_MAX + 1, &x.f), TP_ENOSPC);
	/* Requests. */
	for (int i = 0; i < 4; i++) {
		CHECK(park_room(p, 100));
		CHECK_INT(park_add(p, i % 2 ? b : a, msg, 100, &x.f), 0);
	}
	CHECK_INT(park_count(p), 4);
	CHECK(!park_room(p, 20));
	CHECK_INT(park_add(p, a, msg, 20, &x.f), TP_EAGAIN);
	CHECK_INT(a->nreqs, 2);
	/* Ending a wait frees its requests and makes room. */
	park_wait_free(p, b);
	CHECK_INT(park_count(p), 2);
	CHECK_INT(park_nwaits(p), 1);
	CHECK(park_room(p, 20));
	CHECK((b = park_wait_new(p, PARK_KEY, "carol", 5)) != NULL);
	/* Names must fit and hold no NUL. */
	park_wait_free(p, b);
	CHECK(park_wait_new(p, PARK_KEY, "a\0b", 3) == NULL);
	{
		char big[TURN_USERNAME_MAX + 1];
		memset(big, 'x', sizeof(big));
		CHECK(park_wait_new(p, PARK_KEY, big, sizeof(big)) == NULL);
		CHECK(park_wait_new(p, PARK_KEY, big, TURN_USERNAME_MAX) != NULL);
	}
	park_free(p);
	park_free(NULL);
}

static void test_find_and_run(void)
{
	struct park *p = park_new(0, 0);
	struct park_wait *k, *q, *k2;
	struct park_req *r;
	struct from x, y;
	uint8_t txn[12], other[12];
	int conn;

	from_init(&x, TP_UDP, "198.51.100.1:4000", &conn);
	from_init(&y, TP_UDP, "198.51.100.1:4001", &conn);
	memset(txn, 7, sizeof(txn));
	memset(other, 8, sizeof(other));
	k = park_wait_new(p, PARK_KEY, "alice", 5);
	q = park_wait_new(p, PARK_QUOTA, "alice", 5);
	q->ticket.tr = TP_UDP;
	memcpy(&q->ticket.client, &x.client, sizeof(x.client));
	memcpy(&q->ticket.local, &x.local, sizeof(x.local));
	memcpy(q->ticket.txn, txn, sizeof(txn));
	CHECK(park_find_key(p, "alice", 5) == k);
	CHECK(park_find_key(p, "alic", 4) == NULL);
	CHECK(park_find_key(p, "bob", 3) == NULL);
	CHECK(park_find_ticket(p, &x.f, txn) == q);
	CHECK(park_find_ticket(p, &x.f, other) == NULL);
	CHECK(park_find_ticket(p, &y.f, txn) == NULL); /* another port */
	x.f.tr = TP_TCP;
	CHECK(park_find_ticket(p, &x.f, txn) == NULL); /* another transport */
	x.f.tr = TP_UDP;

	/* Requests come back in order, with their origin. */
	for (int i = 0; i < 3; i++) {
		msg[0] = (uint8_t)i;
		CHECK(park_room(p, 20 + i));
		CHECK_INT(park_add(p, k, msg, 20 + (size_t)i, i == 1 ? &y.f : &x.f), 0);
	}
	park_wait_unlist(p, k);
	CHECK(park_find_key(p, "alice", 5) == NULL); /* being run: not joined */
	k2 = park_wait_new(p, PARK_KEY, "alice", 5);
	CHECK(park_find_key(p, "alice", 5) == k2);
	r = park_take(p, k);
	CHECK(r && r->len == 20 && r->msg[0] == 0 && r->conn == &conn && r->tr == TP_UDP);
	CHECK(addr_equal(CSA(&r->client), x.f.client) && addr_equal(CSA(&r->local), x.f.local));
	CHECK(park_take(p, k) == NULL); /* one in hand at a time */
	park_drop_hand(p);
	r = park_take(p, k);
	CHECK(r && r->len == 21 && r->msg[0] == 1 && addr_equal(CSA(&r->client), y.f.client));
	/* It must wait again, on another lookup: it moves, needing no room. */
	park_put(p, k2);
	CHECK(park_hand(p) == NULL);
	CHECK_INT(k2->nreqs, 1);
	r = park_take(p, k);
	CHECK(r && r->len == 22);
	park_drop_hand(p);
	CHECK(park_take(p, k) == NULL);
	CHECK_INT(park_count(p), 1);
	park_wait_free(p, k);
	r = park_take(p, k2);
	CHECK(r && r->len == 21);
	park_drop_hand(p);
	CHECK_INT(park_count(p), 0);
	park_free(p);
}

static void test_hand_at_the_bound(void)
{
	struct park *p = park_new(2, 0);
	struct park_wait *a = park_wait_new(p, PARK_KEY, "a", 1);
	struct park_wait *b = park_wait_new(p, PARK_KEY, "b", 1);
	struct from x;
	int conn;

	from_init(&x, TP_UDP, "198.51.100.1:4000", &conn);
	park_add(p, a, msg, 10, &x.f);
	park_add(p, a, msg, 10, &x.f);
	CHECK(!park_room(p, 10));
	CHECK(park_take(p, a) != NULL);
	/* Full, but the request in hand may park again. */
	CHECK(park_room(p, 10));
	park_put(p, b);
	CHECK_INT(park_count(p), 2);
	CHECK(!park_room(p, 10));
	park_free(p); /* frees what is still parked */
}

static void test_cancel(void)
{
	struct park *p = park_new(0, 0);
	struct park_wait *a = park_wait_new(p, PARK_KEY, "a", 1);
	struct park_wait *b = park_wait_new(p, PARK_KEY, "b", 1);
	struct park_req *r;
	struct from x, y;
	int c1, c2;

	from_init(&x, TP_TCP, "198.51.100.1:4000", &c1);
	from_init(&y, TP_TCP, "198.51.100.2:4000", &c2);
	park_add(p, a, msg, 10, &x.f);
	park_add(p, a, msg, 10, &y.f);
	park_add(p, b, msg, 10, &x.f);
	CHECK_INT(park_cancel(p, &c1), 2);
	CHECK_INT(park_cancel(p, &c1), 0);
	CHECK_INT(park_count(p), 3); /* kept until their wait ends */
	r = park_take(p, a);
	CHECK(r && r->conn == NULL);
	park_drop_hand(p);
	r = park_take(p, a);
	CHECK(r && r->conn == &c2);
	/* The request in hand is cancelled too. */
	CHECK_INT(park_cancel(p, &c2), 1);
	CHECK(r->conn == NULL);
	park_drop_hand(p);
	park_free(p);
}

int main(void)
{
	test_bounds();
	test_find_and_run();
	test_hand_at_the_bound();
	test_cancel();
	return check_done("test_net_park");
}
