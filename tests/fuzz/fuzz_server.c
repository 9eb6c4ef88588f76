/* fuzz_server.c - libFuzzer target for the whole TURN core (src/turn/): a
 * small opcode stream drives four clients (UDP and TCP, IPv4 and IPv6),
 * their peers, a fake clock, a fake Redis (key lookups and the fleet quota
 * answered, failed or never) and RFC 6062 peer connections through
 * turn_server_handle and the rest of server.h, with a fake network layer.
 * Requests are built from fuzzed fields and signed by the harness with the
 * right (or a chosen wrong) key, so they get past MESSAGE-INTEGRITY. Every
 * answer and every relayed packet is checked; at the end every relay opened
 * must have been closed, and LeakSanitizer sees the rest.
 *
 * Input: one byte of settings, then operations (see the OP_* below), each
 * an opcode byte and its operands; a missing operand reads as zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "auth/auth.h"
#include "auth/kcache.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/policy.h"

#define REALM "fuzz.test"
#define REST_SECRET "fuzz-rest-secret"
#define T0 5000000123ULL /* monotonic ms */
#define U0 1800000000ULL /* wall clock s */
#define NCLIENTS 4
#define MAX_OPS 128
#define PARK_MAX 4
#define RX_MAX (8 * 1024)

/* ---- the world (the input reader is in fuzz.h) ---- */

struct client {
	struct sockaddr_storage addr, local;
	struct turn_from from;
	uint8_t rx[RX_MAX]; /* TCP: bytes not yet framed */
	size_t rx_len;
	uint8_t last_txn[16];
};

/* Requests parked on one fake Redis lookup (a user's key, or a quota). */
struct park {
	bool used;
	char user[TURN_USERNAME_MAX];
	size_t ulen;
	struct turn_ticket ticket;
	unsigned n;
	struct {
		int client;
		size_t len;
		uint8_t msg[2048];
	} req[PARK_MAX];
};

enum redis_mode {
	REDIS_UP = 0,
	REDIS_DOWN, /* TP_ECLOSED: answer from what is known */
	REDIS_FULL, /* TP_EAGAIN: 508 */
	REDIS_FLOOD /* TP_ELIMIT: dropped */
};

static struct world {
	struct auth_store *store;
	struct auth_nonce_key nkey;
	struct peer_policy policy;
	struct turn_server_cfg cfg;
	struct turn_stats stats;
	struct turn_ctx ctx;
	struct client c[NCLIENTS];
	struct auth_key key[6]; /* see cred_key */
	struct park keyp, quotap;
	enum redis_mode redis;
	int fail_open; /* next relay_open's result */
	int fail_tcp;  /* next tcp_connect's result */
	int parking;   /* the client whose request is being handled */
	bool overflow; /* overflow_pick has a server */
	unsigned opens, closes, sends, events;
	uint16_t port;
	unsigned sum;
} W;

static const struct sockaddr_storage *peer_addr(uint8_t sel);

static struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ASSERT(addr_parse(s, 0, &ss) == 0);
	return ss;
}

/* ---- the fake network layer ---- */

static int io_relay_open(void *env, struct turn_alloc *a, int family, bool df, bool even,
			 bool reserve, uint64_t *token, bool use_token)
{
	struct sockaddr_storage *out;

	if (W.fail_open) {
		int rc = W.fail_open;
		W.fail_open = 0;
		return rc;
	}
	if (use_token && *token != 0x0102030405060708ULL)
		return TP_ENOTFOUND;
	if (!a->relay) {
		a->relay = &W;
		out = &a->relayed;
		W.opens++;
	} else {
		ASSERT(a->dual && !a->dual->relay);
		a->dual->relay = &W;
		out = &a->dual->relayed;
	}
	*out = sa(family == AF_INET6 ? "[2001:db8:100::1]:0" : "192.0.2.100:0");
	W.port = (uint16_t)(W.port + 2 < 49152 ? 49152 : W.port + 2);
	if (even)
		W.port &= (uint16_t)~1u;
	addr_set_port((struct sockaddr *)out, W.port);
	if (reserve)
		*token = 0x0102030405060708ULL;
	return 0;
}

static void io_relay_close(void *env, struct turn_alloc *a)
{
	ASSERT(a->relay == &W);
	W.closes++;
}

static void io_send_peer(void *env, struct turn_alloc *a, const struct sockaddr *peer,
			 const uint8_t *data, size_t len)
{
	ASSERT(peer->sa_family == AF_INET || peer->sa_family == AF_INET6);
	ASSERT(turn_alloc_has_family(a, peer->sa_family));
	ASSERT(len <= STUN_MAX_MSG);
	/* RFC 8656 §9: only to a peer the client gave a permission for, and
	 * never where the policy says no. */
	ASSERT(turn_perm_find(a, peer, W.ctx.now_ms) != NULL);
	ASSERT(policy_check(W.cfg.policy, peer) == POLICY_ALLOW);
	if (len) /* the whole payload is readable (ASan) */
		W.sum += data[0] + data[len - 1];
	W.sends++;
}

static void io_event(void *env, struct turn_alloc *a, enum turn_event ev)
{
	ASSERT(ev <= TURN_EV_SHUTDOWN);
	W.events++;
}

static int park_join(struct park *p, const char *user, size_t ulen)
{
	if (p->used && (p->ulen != ulen || memcmp(p->user, user, ulen) != 0))
		return TP_EAGAIN; /* one lookup at a time here */
	if (p->n == PARK_MAX)
		return TP_EAGAIN;
	if (ulen >= sizeof(p->user))
		return TP_EINVAL;
	p->used = true;
	memcpy(p->user, user, ulen);
	p->ulen = ulen;
	return 0;
}

static int io_key_lookup(void *env, const struct turn_from *from, const char *user, size_t ulen,
			 size_t msg_len)
{
	/* never an empty name (auth/check.c answers 401 first) */
	ASSERT(ulen > 0 && ulen < TURN_USERNAME_MAX);
	switch (W.redis) {
	case REDIS_DOWN:
		return TP_ECLOSED;
	case REDIS_FULL:
		return TP_EAGAIN;
	case REDIS_FLOOD:
		return TP_ELIMIT;
	default:
		break;
	}
	if (msg_len > sizeof(W.keyp.req[0].msg))
		return TP_EAGAIN;
	return park_join(&W.keyp, user, ulen);
}

static int io_quota_take(void *env, const struct turn_from *from, const uint8_t txn[12],
			 const char *user, size_t ulen, const uint8_t id[TURN_ALLOC_ID_LEN],
			 uint32_t lifetime_s, size_t msg_len)
{
	int rc;

	if (W.redis == REDIS_DOWN)
		return TP_ECLOSED;
	if (W.redis == REDIS_FULL || msg_len > sizeof(W.quotap.req[0].msg))
		return TP_EAGAIN;
	if (W.quotap.used && memcmp(W.quotap.ticket.txn, txn, 12) != 0)
		return TP_EAGAIN;
	rc = park_join(&W.quotap, user, ulen);
	if (rc)
		return rc;
	W.quotap.ticket.tr = from->tr;
	memcpy(&W.quotap.ticket.client, from->client, addr_len(from->client));
	memcpy(&W.quotap.ticket.local, from->local, addr_len(from->local));
	memcpy(W.quotap.ticket.txn, txn, 12);
	memcpy(W.quotap.ticket.id, id, TURN_ALLOC_ID_LEN);
	return 0;
}

static void io_quota_update(void *env, const char *user, size_t ulen,
			    const uint8_t id[TURN_ALLOC_ID_LEN], uint32_t lifetime_s)
{
	ASSERT(ulen < TURN_USERNAME_MAX);
}

static int io_overflow_pick(void *env, int family, struct sockaddr_storage *out)
{
	if (!W.overflow)
		return TP_ENOTFOUND;
	*out = sa(family == AF_INET6 ? "[2001:db8:200::1]:3478" : "192.0.2.200:3478");
	return 0;
}

static int io_tcp_connect(void *env, struct turn_alloc *a, struct turn_tcpconn *tc)
{
	int rc = W.fail_tcp;

	W.fail_tcp = 0;
	ASSERT(a->tcp && tc->a == a);
	ASSERT(policy_check(W.cfg.policy, (const struct sockaddr *)&tc->peer) == POLICY_ALLOW);
	if (rc)
		return rc;
	tc->net = &W;
	return 0;
}

static void io_tcp_close(void *env, struct turn_tcpconn *tc)
{
	ASSERT(tc->a == NULL || tc->a->tcp);
}

static const struct turn_io fake_io = {
	.relay_open = io_relay_open,
	.relay_close = io_relay_close,
	.send_peer = io_send_peer,
	.env = &W,
	.event = io_event,
	.key_lookup = io_key_lookup,
	.quota_take = io_quota_take,
	.quota_update = io_quota_update,
	.overflow_pick = io_overflow_pick,
	.tcp_connect = io_tcp_connect,
	.tcp_close = io_tcp_close,
};

/* ---- checks on what the core sends ---- */

/* An answer to pkt (a client's message): STUN, within the reply bound, for
 * the same transaction and method. */
static void answer_check(const uint8_t *pkt, size_t len, const uint8_t *out, size_t n)
{
	static struct stun_msg req, ans;

	ASSERT(n <= TURN_MAX_REPLY);
	if (n == 0)
		return;
	ASSERT(stun_msg_parse(&ans, out, n) == 0);
	ASSERT(ans.cls == STUN_SUCCESS || ans.cls == STUN_ERROR);
	if (stun_msg_parse(&req, pkt, len) != 0)
		return;
	ASSERT(req.cls == STUN_REQUEST);
	ASSERT(memcmp(req.txn, ans.txn, 16) == 0 && req.method == ans.method);
}

/* Something the core framed for a client (Data indication, ChannelData,
 * ConnectionAttempt). */
static void to_client_check(const uint8_t *msg, size_t n, bool stream)
{
	static struct stun_msg m;
	const uint8_t *payload;
	uint16_t chan;
	size_t plen, flen;

	ASSERT(n >= 4);
	if (msg[0] >= 0x40) {
		ASSERT(turn_chandata_parse(msg, n, stream, &chan, &payload, &plen, &flen) == 0);
		ASSERT(flen == n);
		return;
	}
	ASSERT(stun_msg_parse(&m, msg, n) == 0);
	ASSERT(m.cls == STUN_INDICATION);
	if (stream)
		ASSERT(turn_stream_frame_len(msg, n) == n);
}

/* ---- running messages ---- */

static struct turn_alloc *alloc_of(int i)
{
	struct client *c = &W.c[i];

	return turn_table_find(&W.ctx.table, c->from.tr, c->from.client, c->from.local);
}

static void park_add(struct park *p, int client, const uint8_t *pkt, size_t len)
{
	ASSERT(p->used && p->n < PARK_MAX && len <= sizeof(p->req[0].msg));
	p->req[p->n].client = client;
	p->req[p->n].len = len;
	memcpy(p->req[p->n].msg, pkt, len);
	p->n++;
}

/* A frame that turned into a data connection (RFC 6062 ConnectionBind) or
 * whose connection broke: the client's control connection is gone. */
static void conn_gone(int i)
{
	struct turn_alloc *a = alloc_of(i);

	W.c[i].rx_len = 0;
	if (a)
		turn_alloc_release(&W.ctx, a);
}

/* One complete message from client i, as net hands it over. */
static void deliver(int i, const uint8_t *pkt, size_t len)
{
	static uint8_t out[TURN_MAX_REPLY + 64];
	struct client *c = &W.c[i];
	size_t n;

	if (len >= 1 && pkt[0] >= 0x40 && pkt[0] <= 0x7f) {
		turn_client_chandata(&W.ctx, &c->from, pkt, len);
		return;
	}
	memset(out, 0xee, sizeof(out));
	W.ctx.bound = NULL;
	n = turn_server_handle(&W.ctx, &c->from, pkt, len, out);
	answer_check(pkt, len, out, n);
	for (size_t k = TURN_MAX_REPLY; k < sizeof(out); k++)
		ASSERT(out[k] == 0xee); /* nothing past the bound */
	if (!n && W.ctx.parked) {
		/* Parked on whichever lookup took it: the quota one when
		 * quota_take ran last (its ticket names this request). */
		struct stun_msg m;
		struct park *p = &W.keyp;

		ASSERT(stun_msg_parse(&m, pkt, len) == 0);
		if (W.quotap.used && memcmp(W.quotap.ticket.txn, m.txn + 4, 12) == 0 &&
		    W.quotap.n < PARK_MAX)
			p = &W.quotap;
		if (p->n < PARK_MAX)
			park_add(p, i, pkt, len);
	}
	if (W.ctx.bound) {
		W.ctx.bound = NULL;
		ASSERT(c->from.tr == TP_TCP);
		c->rx_len = 0; /* a data connection now: no more framing */
	}
}

/* Bytes of client i's TCP stream, framed as tcp.c does (RFC 8656 §12.5). */
static void stream_in(int i, const uint8_t *p, size_t len)
{
	struct client *c = &W.c[i];
	size_t need;

	while (len) {
		size_t take = len < RX_MAX - c->rx_len ? len : RX_MAX - c->rx_len;

		memcpy(c->rx + c->rx_len, p, take);
		c->rx_len += take;
		p += take;
		len -= take;
		while (c->rx_len >= 4) {
			need = turn_stream_frame_len(c->rx, c->rx_len);
			if (need == 0) {
				conn_gone(i); /* not framing: closed */
				return;
			}
			if (c->rx_len < need)
				break;
			deliver(i, c->rx, need);
			if (c->rx_len < need)
				return; /* the connection went */
			memmove(c->rx, c->rx + need, c->rx_len - need);
			c->rx_len -= need;
		}
		if (c->rx_len == RX_MAX) {
			conn_gone(i); /* a frame larger than we hold */
			return;
		}
	}
}

static void client_send(int i, const uint8_t *p, size_t len)
{
	if (W.c[i].from.tr == TP_TCP)
		stream_in(i, p, len);
	else
		deliver(i, p, len);
}

/* Runs what waited on p again with the store's answer. */
static void park_run(struct park *p, struct turn_ticket *t)
{
	static struct park run;

	run = *p;
	memset(p, 0, sizeof(*p));
	for (unsigned k = 0; k < run.n; k++) {
		W.ctx.ticket = t;
		deliver(run.req[k].client, run.req[k].msg, run.req[k].len);
		W.ctx.ticket = NULL;
	}
}

/* ---- building signed requests ---- */

enum cred {
	CRED_NONE = 0,
	CRED_ALICE_MD5,
	CRED_ALICE_SHA256,
	CRED_REST,
	CRED_REST_EXPIRED,
	CRED_CAROL_MD5, /* in Redis only */
	CRED_CAROL_SHA256,
	CRED_ALICE_WRONG
};

static const uint16_t methods[] = {
	TURN_ALLOCATE,        TURN_REFRESH, TURN_CREATE_PERMISSION, TURN_CHANNEL_BIND, TURN_SEND,
	STUN_BINDING,         TURN_CONNECT, TURN_CONNECTION_BIND,   TURN_DATA,         0x0ff,
	TURN_ALLOCATE,        TURN_REFRESH, TURN_CREATE_PERMISSION, TURN_CHANNEL_BIND, TURN_CONNECT,
	TURN_CONNECTION_BIND,
};

/* Peers: public ones first, then every class the policy refuses. */
static const char *const peers[] = {
	"93.184.216.34:4000", "151.101.1.69:4001",    "[2a00:1450:4001::1]:4000",
	"104.16.0.1:5000",    "127.0.0.1:3478",       "10.0.0.1:80",
	"[::1]:3478",         "[::ffff:127.0.0.1]:9", "192.0.2.100:49152",
	"0.0.0.0:1",          "169.254.169.254:80",   "[64:ff9b::7f00:1]:1",
	"[2002:7f00:1::]:1",  "[fe80::1]:1",          "224.0.0.1:9",
	"192.0.2.100:3478",
};

static const struct sockaddr_storage *peer_addr(uint8_t sel)
{
	static struct sockaddr_storage v[sizeof(peers) / sizeof(peers[0])];
	static bool done;

	if (!done) {
		for (size_t k = 0; k < sizeof(peers) / sizeof(peers[0]); k++)
			v[k] = sa(peers[k]);
		done = true;
	}
	return &v[sel % (sizeof(peers) / sizeof(peers[0]))];
}

/* The CONNECTION-ID of the k-th peer connection, or a raw one. */
static uint32_t conn_id(uint8_t k)
{
	struct turn_tcpconn *tc = W.ctx.tcpconns;

	for (unsigned j = 0; tc && j < (k & 0x7f); j++)
		tc = tc->next;
	return tc && !(k & 0x80) ? tc->id : (uint32_t)k * 0x01010101u;
}

static void op_request(struct in *in)
{
	static const uint8_t algs[8] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t alg256[4] = {0, 2, 0, 0};
	static uint8_t buf[4096];
	int i = u8(in) % NCLIENTS;
	uint16_t method = methods[u8(in) % (sizeof(methods) / sizeof(methods[0]))];
	uint8_t cred = u8(in), peer = u8(in), cls = STUN_REQUEST;
	uint16_t attrs = u16(in), chan = u16(in), lifetime = u16(in);
	uint8_t cid = u8(in), extra_len = u8(in), txn[16];
	struct client *c = &W.c[i];
	char user[64], nonce[AUTH_NONCE_MAX];
	const struct auth_key *key = NULL;
	struct stun_builder b;
	const uint8_t *extra, *dat;
	size_t n = 0, elen, dlen;
	bool sha256 = false;

	extra = bytes(in, extra_len, &elen);
	dat = bytes(in, attrs & 0x8000 ? u8(in) : 0, &dlen);
	if (method == TURN_SEND || method == TURN_DATA)
		cls = STUN_INDICATION;
	if (cred & 0x80) {
		memcpy(txn, c->last_txn, 16); /* a retransmission */
	} else {
		txn[0] = 0x21, txn[1] = 0x12, txn[2] = 0xa4, txn[3] = 0x42;
		if (cred & 0x40)
			memcpy(txn, "OLD!", 4); /* RFC 3489 */
		for (int k = 4; k < 16; k++)
			txn[k] = (uint8_t)(W.ctx.now_ms >> (k % 8) ^ (unsigned)k ^ cred ^ chan);
		memcpy(c->last_txn, txn, 16);
	}
	stun_build_init(&b, buf, sizeof(buf), method, cls, txn);
	if (attrs & 1)
		stun_build_transport(&b, attrs & 2 ? 6 : (attrs & 0x4000 ? 99 : 17));
	if (attrs & 4)
		stun_build_u32(&b, STUN_ATTR_LIFETIME, (uint32_t)lifetime * 4);
	if (attrs & 8)
		stun_build_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, attrs & 0x10 ? 2 : 1);
	if (attrs & 0x20)
		stun_build_family(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, attrs & 0x10 ? 1 : 2);
	if (attrs & 0x40)
		stun_build_even_port(&b, attrs & 0x10);
	if (attrs & 0x80)
		stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN,
			       attrs & 0x4000 ? 1 : 0x0102030405060708ULL);
	if (attrs & 0x100)
		stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	if (attrs & 0x200)
		stun_build_channel(&b, chan);
	if (attrs & 0x400)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
				    (const struct sockaddr *)peer_addr(peer));
	if (attrs & 0x800)
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
				    (const struct sockaddr *)peer_addr(peer >> 4));
	if (attrs & 0x1000)
		stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, conn_id(cid));
	if (attrs & 0x8000)
		stun_build_attr(&b, STUN_ATTR_DATA, dat, dlen);
	/* Fuzzed attributes: type (2 bytes), length (1), value. */
	for (size_t k = 0; k + 3 <= elen;) {
		uint16_t t = (uint16_t)(extra[k] << 8 | extra[k + 1]);
		size_t l = extra[k + 2];

		k += 3;
		if (l > elen - k)
			l = elen - k;
		stun_build_attr(&b, t, extra + k, l);
		k += l;
	}
	switch (cred & 7) {
	case CRED_ALICE_MD5:
	case CRED_ALICE_WRONG:
		snprintf(user, sizeof(user), "alice");
		key = &W.key[(cred & 7) == CRED_ALICE_MD5 ? 0 : 5];
		break;
	case CRED_ALICE_SHA256:
		snprintf(user, sizeof(user), "alice");
		key = &W.key[1];
		sha256 = true;
		break;
	case CRED_REST:
	case CRED_REST_EXPIRED:
		snprintf(user, sizeof(user), "%llu:web%u",
			 (unsigned long long)(W.ctx.unix_s + ((cred & 7) == CRED_REST ? 600 : 0) -
					      ((cred & 7) == CRED_REST ? 0 : 1)),
			 (unsigned)(attrs >> 13 & 1));
		key = &W.key[4];
		{
			char pw[64];
			size_t pl = auth_rest_password((const uint8_t *)REST_SECRET,
						       strlen(REST_SECRET), user, strlen(user), pw,
						       sizeof(pw));
			ASSERT(pl > 0);
			ASSERT(auth_key_derive(AUTH_ALG_MD5, user, strlen(user), REALM,
					       strlen(REALM), pw, pl, &W.key[4]) == 0);
		}
		break;
	case CRED_CAROL_MD5:
		snprintf(user, sizeof(user), "carol");
		key = &W.key[2];
		break;
	case CRED_CAROL_SHA256:
		snprintf(user, sizeof(user), "carol");
		key = &W.key[3];
		sha256 = true;
		break;
	default:
		break;
	}
	if (key) {
		stun_build_string(&b, STUN_ATTR_USERNAME, user);
		stun_build_string(&b, STUN_ATTR_REALM, cred & 0x20 ? "other.realm" : REALM);
		ASSERT(auth_nonce_make(&W.nkey, c->from.client,
				       W.ctx.unix_s - (cred & 0x10 ? 100000 : 0),
				       W.cfg.nonce_lifetime, nonce, sizeof(nonce)) > 0);
		stun_build_string(&b, STUN_ATTR_NONCE, nonce);
		if (sha256) {
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, sizeof(algs));
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, alg256, sizeof(alg256));
			stun_build_integrity_sha256(&b, key->k, key->len, 32);
		} else {
			stun_build_integrity(&b, key->k, key->len);
		}
	}
	if (cred & 8)
		stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &n) != 0)
		return; /* too big: nothing sent */
	client_send(i, buf, n);
}

/* Raw bytes from a client: a datagram, or a chunk of its TCP stream. */
static void op_raw(struct in *in)
{
	int i = u8(in) % NCLIENTS;
	size_t len;
	const uint8_t *p = bytes(in, u16(in) % 2048, &len);

	client_send(i, p, len);
}

/* ChannelData from a client, framed right for its transport. */
static void op_chandata(struct in *in)
{
	static uint8_t buf[4 + 256 + 3];
	int i = u8(in) % NCLIENTS;
	uint16_t chan = (uint16_t)(0x4000 | (u16(in) & 0x3fff));
	size_t len, flen;
	const uint8_t *p = bytes(in, u8(in), &len);

	turn_chandata_header(buf, chan, (uint16_t)len);
	memcpy(buf + 4, p, len);
	flen = 4 + len;
	if (W.c[i].from.tr == TP_TCP) {
		while (flen % 4)
			buf[flen++] = 0;
	}
	client_send(i, buf, flen);
}

/* A datagram from a peer to client i's relayed address. */
static void op_peer(struct in *in)
{
	static uint8_t buf[TURN_HEADROOM + 1500 + 4];
	int i = u8(in) % NCLIENTS;
	const struct sockaddr_storage *peer = peer_addr(u8(in));
	struct turn_alloc *a = alloc_of(i);
	size_t len, n;
	const uint8_t *p = bytes(in, u16(in) % 1500, &len);
	uint8_t *msg = NULL;

	if (!a || a->tcp)
		return;
	memset(buf, 0xaa, sizeof(buf));
	memcpy(buf + TURN_HEADROOM, p, len);
	n = turn_peer_data(&W.ctx, a, (const struct sockaddr *)peer, buf + TURN_HEADROOM, len,
			   a->transport == TP_TCP, &msg);
	if (!n)
		return;
	ASSERT(msg >= buf && msg + n <= buf + sizeof(buf));
	to_client_check(msg, n, a->transport == TP_TCP);
}

/* RFC 6062 §5.3: a peer connects to client i's relayed address. */
static void op_tcp_incoming(struct in *in)
{
	static uint8_t out[TURN_MAX_REPLY];
	int i = u8(in) % NCLIENTS;
	const struct sockaddr_storage *peer = peer_addr(u8(in));
	struct turn_alloc *a = alloc_of(i);
	struct turn_tcpconn *tc;
	size_t len = 0;

	if (!a || !a->tcp)
		return;
	tc = turn_tcp_incoming(&W.ctx, a, (const struct sockaddr *)peer, out, &len);
	if (!tc)
		return;
	tc->net = &W;
	to_client_check(out, len, true);
}

/* The k-th peer connection, or NULL. */
static struct turn_tcpconn *tcpconn(uint8_t k)
{
	struct turn_tcpconn *tc = W.ctx.tcpconns;

	for (unsigned j = 0; tc && j < k % 16; j++)
		tc = tc->next;
	return tc;
}

/* A Connect's peer connection is up, or failed (RFC 6062 §5.2). */
static void op_tcp_connected(struct in *in)
{
	static uint8_t out[TURN_MAX_REPLY];
	struct turn_tcpconn *tc = tcpconn(u8(in));
	bool ok = u8(in) & 1;
	size_t n;

	if (!tc || tc->state != TURN_TCP_CONNECTING)
		return;
	n = turn_tcp_connected(&W.ctx, tc, ok, out);
	ASSERT(n > 0 && n <= TURN_MAX_REPLY);
	ASSERT(stun_msg_peek_len(out, n) == n);
}

static void op_tcp_closed(struct in *in)
{
	struct turn_tcpconn *tc = tcpconn(u8(in));

	if (tc)
		turn_tcp_closed(&W.ctx, tc);
}

/* Time passes: the clocks move and the expiry runs, as the worker's
 * once-a-second timer does. */
static void op_clock(struct in *in)
{
	uint16_t v = u16(in);
	uint64_t ms = v & 0x8000 ? (uint64_t)(v & 0x7fff) * 1000 : v;

	W.ctx.now_ms += ms;
	W.ctx.unix_s = U0 + (W.ctx.now_ms - T0) / 1000;
	turn_ctx_expire(&W.ctx);
}

/* The fake Redis answers the key lookup: keys, no such user, or failure. */
static void op_key_answer(struct in *in)
{
	uint8_t how = u8(in);
	struct park *p = &W.keyp;
	int rc = 0;

	if (!p->used)
		return;
	switch (how % 4) {
	case 0: /* the store's keys: carol's real ones, anyone else's made up */
		if (p->ulen == 5 && !memcmp(p->user, "carol", 5))
			rc = auth_kcache_put(W.ctx.kcache, p->user, p->ulen, &W.key[2], &W.key[3],
					     W.ctx.now_ms);
		else
			rc = auth_kcache_put(W.ctx.kcache, p->user, p->ulen, &W.key[5], NULL,
					     W.ctx.now_ms);
		break;
	case 1:
		rc = auth_kcache_put(W.ctx.kcache, p->user, p->ulen, NULL, NULL, W.ctx.now_ms);
		break;
	case 2:
		rc = auth_kcache_put_failed(W.ctx.kcache, p->user, p->ulen, W.ctx.now_ms);
		break;
	default: /* the keys changed meanwhile: the answer is thrown away */
		(void)auth_kcache_remove(W.ctx.kcache, p->user, p->ulen);
		if (how & 4)
			auth_kcache_expire_all(W.ctx.kcache);
		break;
	}
	ASSERT(rc == 0 || rc == TP_ENOMEM);
	park_run(p, NULL);
}

/* The fake Redis decides the fleet quota of the parked Allocate. */
static void op_quota_answer(struct in *in)
{
	struct turn_ticket t;

	if (!W.quotap.used)
		return;
	t = W.quotap.ticket;
	t.verdict = (enum turn_fleet)(u8(in) % 3);
	t.used = false;
	park_run(&W.quotap, &t);
}

enum op {
	OP_REQUEST = 0,
	OP_RAW,
	OP_CHANDATA,
	OP_PEER,
	OP_CLOCK,
	OP_KEY_ANSWER,
	OP_QUOTA_ANSWER,
	OP_REDIS_MODE,
	OP_TCP_INCOMING,
	OP_TCP_CONNECTED,
	OP_TCP_CLOSED,
	OP_CONN_CLOSED,
	OP_FAIL_NEXT,
	OP_MAX
};

static void setup_once(void)
{
	static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct sockaddr_storage own = sa("192.0.2.100");

	log_set_level(LOG_LVL_ERR);
	addr_hash_seed(seed);
	W.store = auth_store_new(REALM);
	ASSERT(W.store);
	ASSERT(auth_store_add_user(W.store, "alice:secret") == 0);
	ASSERT(auth_store_add_secret(W.store, REST_SECRET) == 0);
	ASSERT(auth_nonce_key_init(&W.nkey, "fuzz nonce secret") == 0);
	ASSERT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, strlen(REALM), "secret", 6,
			       &W.key[0]) == 0);
	ASSERT(auth_key_derive(AUTH_ALG_SHA256, "alice", 5, REALM, strlen(REALM), "secret", 6,
			       &W.key[1]) == 0);
	ASSERT(auth_key_derive(AUTH_ALG_MD5, "carol", 5, REALM, strlen(REALM), "c4rol", 5,
			       &W.key[2]) == 0);
	ASSERT(auth_key_derive(AUTH_ALG_SHA256, "carol", 5, REALM, strlen(REALM), "c4rol", 5,
			       &W.key[3]) == 0);
	ASSERT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, strlen(REALM), "wrong", 5,
			       &W.key[5]) == 0);
	ASSERT(policy_init(&W.policy, NULL, 0, NULL, 0, false, NULL) == 0);
	ASSERT(policy_add_self(&W.policy, (struct sockaddr *)&own) == 0);
	ASSERT(policy_add_self_port(&W.policy, 3478) == 0);
	W.policy.relay_port_min = 49152;
	W.policy.relay_port_max = 65535;
}

static void client_setup(int i, enum turn_transport tr, const char *addr, const char *local)
{
	struct client *c = &W.c[i];

	c->addr = sa(addr);
	c->local = sa(local);
	c->from.tr = tr;
	c->from.client = (const struct sockaddr *)&c->addr;
	c->from.local = (const struct sockaddr *)&c->local;
	c->from.conn = c;
	c->rx_len = 0;
	memset(c->last_txn, 0, sizeof(c->last_txn));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const struct sockaddr_storage alt[1] = {{.ss_family = AF_INET}};
	static const struct turn_servers overflow = {alt, 1};
	struct in in = {data, size};
	uint8_t settings = u8(&in);
	struct turn_server_cfg *cfg = &W.cfg;

	if (!ready) {
		setup_once();
		ready = true;
	}
	memset(cfg, 0, sizeof(*cfg));
	memset(&W.stats, 0, sizeof(W.stats));
	memset(&W.keyp, 0, sizeof(W.keyp));
	memset(&W.quotap, 0, sizeof(W.quotap));
	W.redis = REDIS_UP;
	W.fail_open = W.fail_tcp = 0;
	W.opens = W.closes = W.sends = W.events = 0;
	W.port = 49152;
	W.overflow = settings & 0x40;
	cfg->software = settings & 1;
	cfg->turn = true;
	cfg->no_auth = settings & 2;
	cfg->store = W.store;
	cfg->nonce_key = &W.nkey;
	cfg->nonce_lifetime = 600;
	cfg->policy = &W.policy;
	cfg->default_lifetime = 600;
	cfg->max_lifetime = 3600;
	cfg->max_perms = 4;
	cfg->max_chans = 4;
	cfg->max_bps = settings & 4 ? 2000 : 0;
	cfg->worker_bps = settings & 4 ? 5000 : 0;
	cfg->relay_v4 = true;
	cfg->relay_v6 = !(settings & 8);
	cfg->draining = settings & 0x10;
	cfg->overflow = settings & 0x20 ? &overflow : NULL;
	cfg->max_tcp_peers = 8;
	{
		static unsigned tcp_peers;
		tcp_peers = 0;
		cfg->tcp_peers = &tcp_peers;
	}
	cfg->quota = turn_quota_new(3, 6);
	ASSERT(cfg->quota);
	ASSERT(turn_ctx_init(&W.ctx, cfg, &W.stats, &fake_io) == 0);
	W.ctx.kcache = settings & 0x80 ? NULL : auth_kcache_new(8, 0, 0, 0);
	W.ctx.now_ms = T0;
	W.ctx.unix_s = U0;
	W.ctx.tcp_shard = 0;
	W.ctx.tcp_nshards = 1;
	client_setup(0, TP_UDP, "198.51.100.1:5000", "192.0.2.100:3478");
	client_setup(1, TP_UDP, "[2001:db8:9::1]:5000", "[2001:db8:100::1]:3478");
	client_setup(2, TP_TCP, "198.51.100.2:6000", "192.0.2.100:3478");
	client_setup(3, TP_TCP, "[2001:db8:9::3]:7000", "[2001:db8:100::1]:3478");

	for (unsigned ops = 0; in.n && ops < MAX_OPS; ops++) {
		switch (u8(&in) % OP_MAX) {
		case OP_REQUEST:
			op_request(&in);
			break;
		case OP_RAW:
			op_raw(&in);
			break;
		case OP_CHANDATA:
			op_chandata(&in);
			break;
		case OP_PEER:
			op_peer(&in);
			break;
		case OP_CLOCK:
			op_clock(&in);
			break;
		case OP_KEY_ANSWER:
			op_key_answer(&in);
			break;
		case OP_QUOTA_ANSWER:
			op_quota_answer(&in);
			break;
		case OP_REDIS_MODE:
			W.redis = (enum redis_mode)(u8(&in) % 4);
			break;
		case OP_TCP_INCOMING:
			op_tcp_incoming(&in);
			break;
		case OP_TCP_CONNECTED:
			op_tcp_connected(&in);
			break;
		case OP_TCP_CLOSED:
			op_tcp_closed(&in);
			break;
		case OP_CONN_CLOSED:
			conn_gone(u8(&in) % NCLIENTS);
			break;
		case OP_FAIL_NEXT: {
			uint8_t f = u8(&in);
			static const int errs[] = {0, TP_EAGAIN, TP_ESYS, TP_ENOTFOUND};
			W.fail_open = errs[f % 4];
			W.fail_tcp = errs[(f >> 2) % 4];
			break;
		}
		}
	}
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr,
			"opens %u sends %u events %u tcpconn %llu e401 %llu e400 %llu e403 %llu "
			"e438 %llu\n",
			W.opens, W.sends, W.events, (unsigned long long)W.stats.tcp_connects,
			(unsigned long long)W.stats.errors[ERR_401],
			(unsigned long long)W.stats.errors[ERR_400],
			(unsigned long long)W.stats.errors[ERR_403],
			(unsigned long long)W.stats.errors[ERR_438]);
	/* What a worker does on shutdown; parked requests are dropped. */
	turn_ctx_cleanup(&W.ctx);
	ASSERT(W.opens == W.closes);
	ASSERT(turn_quota_total(cfg->quota) == 0);
	auth_kcache_free(W.ctx.kcache);
	turn_quota_free(cfg->quota);
	return 0;
}
