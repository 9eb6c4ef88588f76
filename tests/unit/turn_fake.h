/* turn_fake.h - what the TURN core's unit tests share: address literals,
 * a fake network layer that records what the core asks of it, and test
 * clients (a 5-tuple and its turn_from). Include once per test program. */
#ifndef TURNPIKE_TESTS_TURN_FAKE_H
#define TURNPIKE_TESTS_TURN_FAKE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turn/server.h"
#include "turnpike/err.h"
#include "util/addr.h"

#define SA(ss) ((struct sockaddr *)(ss))
#define CSA(ss) ((const struct sockaddr *)(ss))
#ifndef OWN_IP
#define OWN_IP "45.33.100.1" /* the server's own (relay) address */
#endif

/* An address literal the test relies on; aborts on a typo. */
static inline struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse(s, 0, &ss) != 0) {
		fprintf(stderr, "bad test address %s\n", s);
		abort();
	}
	return ss;
}

#ifndef TURN_FAKE_ADDR_ONLY
/* ---- the fake network layer ---- */

static struct fake_io_log {
	unsigned opens, closes, sends;
	int fail; /* next relay_open's result */
	uint16_t next_port;
	int family;
	bool df, even, reserve, use_token;
	uint64_t token_in;
	struct sockaddr_storage closed; /* relayed address of the last closed */
	struct turn_alloc *send_alloc;
	struct sockaddr_storage peer; /* last send_peer */
	uint8_t data[2048];
	size_t len;
} io_log __attribute__((unused));

#define FAKE_TOKEN 0x0102030405060708ULL

static inline int fake_relay_open(void *env, struct turn_alloc *a, int family, bool dont_fragment,
				  bool even, bool reserve, uint64_t *token, bool use_token)
{
	char s[64];

	io_log.family = family;
	io_log.df = dont_fragment;
	io_log.even = even;
	io_log.reserve = reserve;
	io_log.use_token = use_token;
	io_log.token_in = *token;
	if (io_log.fail) {
		int rc = io_log.fail;
		io_log.fail = 0;
		return rc;
	}
	io_log.opens++;
	snprintf(s, sizeof(s), family == AF_INET6 ? "[2606:4700:100::1]:%u" : OWN_IP ":%u",
		 io_log.next_port);
	io_log.next_port += 2;
	if (addr_parse(s, 0, &a->relayed) != 0)
		abort();
	a->relay = (void *)(uintptr_t)io_log.opens;
	if (reserve)
		*token = FAKE_TOKEN;
	return 0;
}

static inline void fake_relay_close(void *env, struct turn_alloc *a)
{
	io_log.closes++;
	memcpy(&io_log.closed, &a->relayed, sizeof(a->relayed));
}

static inline void fake_send_peer(void *env, struct turn_alloc *a, const struct sockaddr *peer,
				  const uint8_t *data, size_t len)
{
	io_log.sends++;
	io_log.send_alloc = a;
	memset(&io_log.peer, 0, sizeof(io_log.peer));
	memcpy(&io_log.peer, peer, addr_len(peer));
	io_log.len = len;
	if (len <= sizeof(io_log.data))
		memcpy(io_log.data, data, len);
}

static const struct turn_io fake_io __attribute__((unused)) = {
	.relay_open = fake_relay_open,
	.relay_close = fake_relay_close,
	.send_peer = fake_send_peer,
};

struct client {
	struct sockaddr_storage addr, local;
	struct turn_from from;
};

static inline void client_init(struct client *c, enum turn_transport tr, const char *addr)
{
	c->addr = sa(addr);
	c->local = sa(c->addr.ss_family == AF_INET6 ? "[2606:4700:100::1]:3478" : OWN_IP ":3478");
	c->from.tr = tr;
	c->from.client = CSA(&c->addr);
	c->from.local = CSA(&c->local);
	c->from.conn = c;
}
#endif /* TURN_FAKE_ADDR_ONLY */

#endif
