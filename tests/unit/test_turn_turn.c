/* test_turn_turn.c - unit tests for src/turn/turn.c (and tcprel.c, RFC 6062)
 * through turn_server_handle:
 * authentication of TURN requests (RFC 8489 §9.2.4), Allocate, Refresh,
 * CreatePermission, ChannelBind, Send and the peer path (RFC 8656), quotas
 * and max-bps, on a fake clock with a fake network layer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "check.h"
#include "turn_fake.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/policy.h"

#define REALM "turnpike.test"
#define REST_SECRET "rest-secret-1"
#define NONCE_LIFETIME 600
#define T0 5000000123ULL /* fake monotonic clock, ms */
#define U0 1800000000ULL /* fake wall clock, s */
#define PROTO_UDP 17
#define PROTO_TCP 6

static struct auth_store *store;
static struct auth_nonce_key nkey;
static struct peer_policy policy;
static struct turn_server_cfg cfg;
static struct turn_stats stats;
static struct turn_ctx ctx;
static struct auth_key alice_md5, alice_sha256, bob_md5, wrong_md5;

/* What a test request carries; zero fields are left out. */
struct req {
	uint16_t method;
	uint8_t cls;       /* STUN_REQUEST unless set */
	uint8_t txn[16];   /* all zero: a fresh one, written back */
	bool classic;      /* RFC 3489: no magic cookie */
	uint8_t transport; /* REQUESTED-TRANSPORT */
	bool has_lifetime;
	uint32_t lifetime;
	const char *peers[6]; /* XOR-PEER-ADDRESS, in order */
	uint16_t chan;        /* CHANNEL-NUMBER */
	const uint8_t *data;  /* DATA (with has_data) */
	size_t dlen;
	bool has_data;
	uint8_t raf, aaf;        /* REQUESTED-/ADDITIONAL-ADDRESS-FAMILY */
	bool even_port, reserve; /* EVEN-PORT and its R bit */
	bool has_token;          /* RESERVATION-TOKEN */
	bool dont_fragment;
	bool has_conn_id; /* CONNECTION-ID (RFC 6062) */
	uint32_t conn_id;
	/* Credentials: user NULL sends none. */
	const char *user;
	const struct auth_key *key;
	const char *nonce; /* NULL: a fresh valid one for the client */
	const char *realm; /* NULL: REALM */
	bool sha256;       /* PASSWORD-ALGORITHM SHA-256, MI-SHA256 */
	bool fingerprint;
};

static uint32_t txn_counter;

static size_t build(const struct client *c, struct req *r, uint8_t *buf, size_t cap)
{
	static const uint8_t algs[8] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t alg256[4] = {0, 2, 0, 0};
	static const uint8_t zero[16];
	char nonce[AUTH_NONCE_MAX];
	struct stun_builder b;
	size_t len = 0;

	if (memcmp(r->txn, zero, 16) == 0) {
		uint32_t n = ++txn_counter;
		r->txn[0] = 0x21;
		r->txn[1] = 0x12;
		r->txn[2] = 0xa4;
		r->txn[3] = 0x42;
		memcpy(r->txn + 4, "turnTEST", 8);
		memcpy(r->txn + 12, &n, 4);
		if (r->classic)
			memcpy(r->txn, "OLD!", 4);
	}
	stun_build_init(&b, buf, cap, r->method, r->cls, r->txn);
	if (r->transport)
		stun_build_transport(&b, r->transport);
	if (r->has_lifetime)
		stun_build_u32(&b, STUN_ATTR_LIFETIME, r->lifetime);
	if (r->raf)
		stun_build_family(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, r->raf);
	if (r->aaf)
		stun_build_family(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, r->aaf);
	if (r->even_port)
		stun_build_even_port(&b, r->reserve);
	if (r->has_token)
		stun_build_u64(&b, STUN_ATTR_RESERVATION_TOKEN, FAKE_TOKEN);
	if (r->dont_fragment)
		stun_build_empty(&b, STUN_ATTR_DONT_FRAGMENT);
	if (r->chan)
		stun_build_channel(&b, r->chan);
	for (size_t i = 0; i < 6 && r->peers[i]; i++) {
		struct sockaddr_storage p = sa(r->peers[i]);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, SA(&p));
	}
	if (r->has_data)
		stun_build_attr(&b, STUN_ATTR_DATA, r->data, r->dlen);
	if (r->has_conn_id)
		stun_build_u32(&b, STUN_ATTR_CONNECTION_ID, r->conn_id);
	if (r->user) {
		stun_build_string(&b, STUN_ATTR_USERNAME, r->user);
		stun_build_string(&b, STUN_ATTR_REALM, r->realm ? r->realm : REALM);
		if (!r->nonce) {
			CHECK(auth_nonce_make(&nkey, CSA(&c->addr), ctx.unix_s, NONCE_LIFETIME,
					      nonce, sizeof(nonce)) > 0);
		}
		stun_build_string(&b, STUN_ATTR_NONCE, r->nonce ? r->nonce : nonce);
		if (r->sha256) {
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, sizeof(algs));
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, alg256, sizeof(alg256));
			stun_build_integrity_sha256(&b, r->key->k, r->key->len, 32);
		} else {
			stun_build_integrity(&b, r->key->k, r->key->len);
		}
	}
	if (r->fingerprint)
		stun_build_fingerprint(&b);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	return len;
}

/* Sends r from c; the answer goes to out (its length returned). */
static size_t send_req(const struct client *c, struct req *r, uint8_t *out)
{
	uint8_t buf[2048];
	size_t n = build(c, r, buf, sizeof(buf));

	memset(out, 0xee, TURN_MAX_REPLY);
	return turn_server_handle(&ctx, &c->from, buf, n, out);
}

/*
 * Parses an answer to r. Returns 0 for a success, the error code for an
 * error response, -1 when it is no answer to r at all.
 */
static int answer(const struct req *r, const uint8_t *out, size_t n, struct stun_msg *m)
{
	const struct stun_attr *ec;
	const char *reason;
	size_t rlen;
	int code;

	if (n == 0 || n > TURN_MAX_REPLY || stun_msg_parse(m, out, n) != 0)
		return -1;
	if (m->method != r->method || memcmp(m->txn, r->txn, 16) != 0)
		return -1;
	if (m->cls == STUN_SUCCESS)
		return 0;
	if (m->cls != STUN_ERROR)
		return -1;
	ec = stun_msg_find(m, STUN_ATTR_ERROR_CODE);
	if (!ec || stun_attr_get_error(m, ec, &code, &reason, &rlen) != 0)
		return -1;
	return code;
}

/* Sends r and returns the answer's code (0 success), parsed into m. */
static int ask(const struct client *c, struct req *r, struct stun_msg *m, uint8_t *out)
{
	size_t n = send_req(c, r, out);

	return answer(r, out, n, m);
}

/* The answer is signed with key (MESSAGE-INTEGRITY, or -SHA256 for a
 * SHA-256 request), and nothing else verifies it. */
static bool signed_with(const struct stun_msg *m, const struct auth_key *key, bool sha256)
{
	if (sha256)
		return m->mi < 0 && stun_msg_check_integrity_sha256(m, key->k, key->len) == 0 &&
		       stun_msg_check_integrity_sha256(m, wrong_md5.k, wrong_md5.len) != 0;
	return m->mi256 < 0 && stun_msg_check_integrity(m, key->k, key->len) == 0 &&
	       stun_msg_check_integrity(m, wrong_md5.k, wrong_md5.len) != 0;
}

static bool unsigned_answer(const struct stun_msg *m)
{
	return m->mi < 0 && m->mi256 < 0;
}

static struct turn_alloc *alloc_of(const struct client *c)
{
	return turn_table_find(&ctx.table, c->from.tr, c->from.client, c->from.local);
}

static struct req alice(uint16_t method)
{
	struct req r = {.method = method, .user = "alice", .key = &alice_md5};

	if (method == TURN_ALLOCATE)
		r.transport = PROTO_UDP;
	return r;
}

/* An Allocate as alice that must succeed. */
static struct turn_alloc *allocate(const struct client *c)
{
	struct req r = alice(TURN_ALLOCATE);
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	CHECK_INT(ask(c, &r, &m, out), 0);
	CHECK(alloc_of(c) != NULL);
	return alloc_of(c);
}

static int permit(const struct client *c, const char *peer)
{
	struct req r = alice(TURN_CREATE_PERMISSION);
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	r.peers[0] = peer;
	return ask(c, &r, &m, out);
}

static int bind_chan(const struct client *c, uint16_t num, const char *peer)
{
	struct req r = alice(TURN_CHANNEL_BIND);
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	r.chan = num;
	r.peers[0] = peer;
	return ask(c, &r, &m, out);
}

/* A Send indication; returns whether send_peer was called for it. */
static bool send_ind(const struct client *c, const char *peer, const uint8_t *data, size_t len)
{
	struct req r = {.method = TURN_SEND,
			.cls = STUN_INDICATION,
			.data = data,
			.dlen = len,
			.has_data = true};
	uint8_t out[TURN_MAX_REPLY];
	unsigned before = io_log.sends;

	r.peers[0] = peer;
	CHECK_INT(send_req(c, &r, out), 0); /* indications get no answer */
	return io_log.sends == before + 1;
}

/* Moves the monotonic clock well forward (never back: the timer wheel
 * follows the clock) to a time not on a whole second; returns it. */
static uint64_t clock_forward(void)
{
	ctx.now_ms += 10000000 - ctx.now_ms % 1000 + 123;
	return ctx.now_ms;
}

/* Frees every allocation (as on shutdown) so tests start clean. */
static void release_all(void)
{
	struct turn_alloc *a;

	while ((a = turn_table_first(&ctx.table)))
		turn_alloc_release(&ctx, a);
	CHECK_INT(turn_quota_total(cfg.quota), 0);
}

/* ---- tests ---- */

static void test_challenge(void)
{
	struct client c;
	struct req r = {.method = TURN_ALLOCATE, .transport = PROTO_UDP};
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	const struct stun_attr *a;
	uint64_t chal = stats.auth[AUTHR_CHALLENGE], e401 = stats.errors[ERR_401];
	unsigned opens = io_log.opens;

	client_init(&c, TP_UDP, "192.0.2.10:40000");
	CHECK_INT(ask(&c, &r, &m, out), 401);
	a = stun_msg_find(&m, STUN_ATTR_REALM);
	CHECK(a && a->len == strlen(REALM) && memcmp(stun_attr_value(&m, a), REALM, a->len) == 0);
	a = stun_msg_find(&m, STUN_ATTR_NONCE);
	CHECK(a && a->len == 29);
	/* Signed answers only carry SOFTWARE: none for anyone who asks. */
	CHECK(stun_msg_find(&m, STUN_ATTR_SOFTWARE) == NULL);
	/* The nonce is ours, for this client. */
	CHECK(a && auth_nonce_check(&nkey, CSA(&c.addr), ctx.unix_s, stun_attr_value(&m, a),
				    a->len) == 0);
	CHECK(stun_msg_find(&m, STUN_ATTR_PASSWORD_ALGORITHMS) != NULL);
	CHECK(unsigned_answer(&m));
	CHECK(stun_msg_find(&m, STUN_ATTR_XOR_RELAYED_ADDRESS) == NULL);
	CHECK_INT(stats.auth[AUTHR_CHALLENGE], chal + 1);
	CHECK_INT(stats.errors[ERR_401], e401 + 1);
	CHECK_INT(io_log.opens, opens);
	CHECK(alloc_of(&c) == NULL);

	/* Every TURN method is challenged the same way. */
	r = (struct req){.method = TURN_REFRESH};
	CHECK_INT(ask(&c, &r, &m, out), 401);
	r = (struct req){.method = TURN_CREATE_PERMISSION, .peers = {"45.33.32.156:9"}};
	CHECK_INT(ask(&c, &r, &m, out), 401);
	r = (struct req){.method = TURN_CHANNEL_BIND, .chan = 0x4000, .peers = {"45.33.32.156:9"}};
	CHECK_INT(ask(&c, &r, &m, out), 401);
}

static void test_allocate(void)
{
	struct client c, c2;
	struct req r = alice(TURN_ALLOCATE), again;
	uint8_t out[TURN_MAX_REPLY], out2[TURN_MAX_REPLY];
	struct sockaddr_storage relayed, mapped;
	struct stun_msg m;
	struct turn_alloc *a;
	uint32_t life = 0;
	size_t n, n2;
	unsigned opens = io_log.opens;
	uint64_t created = stats.alloc_created[TP_UDP], active = stats.alloc_active[TP_UDP];

	client_init(&c, TP_UDP, "192.0.2.10:40001");
	n = send_req(&c, &r, out);
	CHECK_INT(answer(&r, out, n, &m), 0);
	CHECK_INT(io_log.opens, opens + 1);
	CHECK_INT(io_log.family, AF_INET);
	CHECK(!io_log.even && !io_log.reserve && !io_log.use_token && !io_log.df);
	a = alloc_of(&c);
	CHECK(a != NULL);
	CHECK_INT(stun_msg_xor_addr(&m, STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed), 0);
	CHECK(a && addr_equal(SA(&relayed), CSA(&a->relayed)));
	CHECK_INT(relayed.ss_family, AF_INET);
	CHECK_INT(stun_msg_xor_addr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
	CHECK(addr_equal(SA(&mapped), SA(&c.addr)));
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 600);
	CHECK(a && a->expiry_ms == ctx.now_ms + 600000);
	CHECK(stun_msg_find(&m, STUN_ATTR_SOFTWARE) != NULL);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(m.fp, -1);
	CHECK_INT(stats.alloc_created[TP_UDP], created + 1);
	CHECK_INT(stats.alloc_active[TP_UDP], active + 1);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 1);
	CHECK(a && a->ulen == 5 && memcmp(a->username, "alice", 5) == 0);

	/* A retransmission (same transaction): the same bytes, no new relay. */
	again = r;
	n2 = send_req(&c, &again, out2);
	CHECK_INT(n2, n);
	CHECK(n2 == n && memcmp(out, out2, n) == 0);
	CHECK_INT(io_log.opens, opens + 1);
	CHECK_INT(ctx.table.count, 1);
	/* A new transaction on the 5-tuple: 437, signed (credentials were fine). */
	again = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c, &again, &m, out2), 437);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(io_log.opens, opens + 1);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 1);

	/* The same client address over TCP is another allocation. */
	client_init(&c2, TP_TCP, "192.0.2.10:40001");
	CHECK(alloc_of(&c2) == NULL);
	r = alice(TURN_ALLOCATE);
	r.fingerprint = true; /* FINGERPRINT in, FINGERPRINT out */
	CHECK_INT(ask(&c2, &r, &m, out), 0);
	CHECK(m.fp >= 0);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK(alloc_of(&c2) != NULL && alloc_of(&c2) != alloc_of(&c));
	CHECK(alloc_of(&c2) && alloc_of(&c2)->transport == TP_TCP);
	CHECK(alloc_of(&c2) && alloc_of(&c2)->conn == &c2);
	CHECK_INT(stats.alloc_active[TP_TCP], 1);
	CHECK_INT(io_log.opens, opens + 2);
	release_all();
	CHECK_INT(stats.alloc_active[TP_TCP], 0);
	CHECK_INT(stats.alloc_active[TP_UDP], active);
}

static void test_allocate_sha256(void)
{
	struct client c;
	struct req r = alice(TURN_ALLOCATE), again;
	uint8_t out[TURN_MAX_REPLY], out2[TURN_MAX_REPLY];
	struct stun_msg m;
	size_t n, n2;

	client_init(&c, TP_UDP, "192.0.2.10:40002");
	r.key = &alice_sha256;
	r.sha256 = true;
	n = send_req(&c, &r, out);
	CHECK_INT(answer(&r, out, n, &m), 0);
	CHECK(signed_with(&m, &alice_sha256, true));
	CHECK(alloc_of(&c) != NULL);
	/* Later requests are answered the same way. */
	again = alice(TURN_REFRESH);
	again.key = &alice_sha256;
	again.sha256 = true;
	CHECK_INT(ask(&c, &again, &m, out2), 0);
	CHECK(signed_with(&m, &alice_sha256, true));
	release_all();

	/*
	 * The longest Allocate answer: IPv6 client, ADDITIONAL-ADDRESS-FAMILY
	 * (an ADDRESS-ERROR-CODE back, longer than a RESERVATION-TOKEN, which
	 * EVEN-PORT with R would bring but may not go with it), SHA-256 and
	 * FINGERPRINT. Its retransmission must still get the same answer, not
	 * 437 (RFC 8656 §7.2).
	 */
	client_init(&c, TP_UDP, "[2001:db8:1:2:3:4:5:6]:40003");
	r = alice(TURN_ALLOCATE);
	r.key = &alice_sha256;
	r.sha256 = true;
	r.aaf = 0x02;
	r.even_port = true;
	r.fingerprint = true;
	n = send_req(&c, &r, out);
	CHECK_INT(answer(&r, out, n, &m), 0);
	CHECK(stun_msg_find(&m, STUN_ATTR_ADDRESS_ERROR_CODE) != NULL);
	CHECK(stun_msg_find(&m, STUN_ATTR_RESERVATION_TOKEN) == NULL);
	again = r;
	n2 = send_req(&c, &again, out2);
	CHECK_INT(answer(&again, out2, n2, &m), 0);
	CHECK(n2 == n && memcmp(out, out2, n) == 0);
	CHECK_INT(ctx.table.count, 1);
	release_all();
}

static void test_allocate_attrs(void)
{
	struct client c;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	const struct stun_attr *at;
	uint64_t token = 0;
	unsigned opens = io_log.opens;

	client_init(&c, TP_UDP, "192.0.2.10:40010");
	/* No REQUESTED-TRANSPORT: 400; TCP: 442 (RFC 8656 §7.2). */
	r = alice(TURN_ALLOCATE);
	r.transport = 0;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	r = alice(TURN_ALLOCATE);
	r.transport = PROTO_TCP;
	CHECK_INT(ask(&c, &r, &m, out), 442);
	CHECK(signed_with(&m, &alice_md5, false));
	/* IPv6 relay asked for, none configured: 440. */
	r = alice(TURN_ALLOCATE);
	r.raf = 0x02;
	CHECK_INT(ask(&c, &r, &m, out), 440);
	/* A token with EVEN-PORT: 400. */
	r = alice(TURN_ALLOCATE);
	r.has_token = true;
	r.even_port = true;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	/* Both family attributes: 400. */
	r = alice(TURN_ALLOCATE);
	r.raf = 0x01;
	r.aaf = 0x02;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	/* RFC 8656 §7.2 step 8: EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY
	 * (and with a REQUESTED-ADDRESS-FAMILY of IPv4 as well): 400. */
	r = alice(TURN_ALLOCATE);
	r.aaf = 0x02;
	r.even_port = true;
	r.reserve = true;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	CHECK(stun_msg_find(&m, STUN_ATTR_ADDRESS_ERROR_CODE) == NULL);
	CHECK(stun_msg_find(&m, STUN_ATTR_XOR_RELAYED_ADDRESS) == NULL);
	CHECK_INT(io_log.opens, opens);
	CHECK(alloc_of(&c) == NULL);
	CHECK_INT(turn_quota_total(cfg.quota), 0);

	/* EVEN-PORT with R: the network layer is asked, the token answered. */
	r = alice(TURN_ALLOCATE);
	r.even_port = true;
	r.reserve = true;
	r.dont_fragment = true;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(io_log.even && io_log.reserve && !io_log.use_token && io_log.df);
	at = stun_msg_find(&m, STUN_ATTR_RESERVATION_TOKEN);
	CHECK(at && stun_attr_get_u64(&m, at, &token) == 0 && token == FAKE_TOKEN);
	release_all();
	/* The token given back later. */
	r = alice(TURN_ALLOCATE);
	r.has_token = true;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(io_log.use_token && io_log.token_in == FAKE_TOKEN);
	CHECK(stun_msg_find(&m, STUN_ATTR_RESERVATION_TOKEN) == NULL);
	release_all();
	/* EVEN-PORT without R goes with ADDITIONAL-ADDRESS-FAMILY: an even
	 * port, no token, and an ADDRESS-ERROR-CODE for the IPv6 we lack. */
	r = alice(TURN_ALLOCATE);
	r.aaf = 0x02;
	r.even_port = true;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(io_log.even && !io_log.reserve);
	CHECK(stun_msg_find(&m, STUN_ATTR_RESERVATION_TOKEN) == NULL);
	CHECK(stun_msg_find(&m, STUN_ATTR_ADDRESS_ERROR_CODE) != NULL);
	release_all();

	/* No port free: 508, counted, the quota given back. */
	io_log.fail = TP_EAGAIN;
	r = alice(TURN_ALLOCATE);
	{
		uint64_t ex = stats.relay_ports_exhausted, e508 = stats.errors[ERR_508];
		CHECK_INT(ask(&c, &r, &m, out), 508);
		CHECK_INT(stats.relay_ports_exhausted, ex + 1);
		CHECK_INT(stats.errors[ERR_508], e508 + 1);
	}
	CHECK(alloc_of(&c) == NULL);
	CHECK_INT(turn_quota_total(cfg.quota), 0);
	/* And the retry works. */
	r = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c, &r, &m, out), 0);
	release_all();
}

static void test_lifetime(void)
{
	static const struct {
		uint32_t ask, get;
	} cases
		[] =
			{
				{10, 600},    {599, 600},   {600, 600},    {1200, 1200},
				{3600, 3600}, {3601, 3600}, {99999, 3600}, {0xffffffff, 3600},
				{0, 600}, /* an Allocate cannot ask for nothing */
			};
	struct client c;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	client_init(&c, TP_UDP, "192.0.2.10:40020");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req r = alice(TURN_ALLOCATE);
		uint32_t life = 0;

		r.has_lifetime = true;
		r.lifetime = cases[i].ask;
		CHECK_INT(ask(&c, &r, &m, out), 0);
		CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
		CHECK_INT(life, cases[i].get);
		CHECK(alloc_of(&c) &&
		      alloc_of(&c)->expiry_ms == ctx.now_ms + cases[i].get * 1000ULL);
		release_all();
	}
}

static void test_refresh(void)
{
	struct client c, other;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	struct turn_alloc *a;
	struct sockaddr_storage relayed;
	uint32_t life;
	uint64_t deleted = stats.alloc_deleted;
	unsigned closes;

	uint64_t t0 = clock_forward();

	client_init(&c, TP_UDP, "192.0.2.10:40030");
	client_init(&other, TP_UDP, "192.0.2.10:40031");
	a = allocate(&c);
	if (!a)
		return;
	memcpy(&relayed, &a->relayed, sizeof(relayed));
	/* On no allocation: 437. */
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&other, &r, &m, out), 437);
	/* Refresh to 1800 s; without LIFETIME the default; capped at max;
	 * shorter than the default is allowed on Refresh. */
	ctx.now_ms = t0 + 100000;
	r = alice(TURN_REFRESH);
	r.has_lifetime = true;
	r.lifetime = 1800;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(signed_with(&m, &alice_md5, false));
	life = 0;
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 1800);
	CHECK_INT(a->expiry_ms, t0 + 100000 + 1800000);
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 600);
	r = alice(TURN_REFRESH);
	r.has_lifetime = true;
	r.lifetime = 99999;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 3600);
	r = alice(TURN_REFRESH);
	r.has_lifetime = true;
	r.lifetime = 30;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 30);
	CHECK_INT(a->expiry_ms, t0 + 100000 + 30000);
	/* REQUESTED-ADDRESS-FAMILY of another family: 443. */
	r = alice(TURN_REFRESH);
	r.raf = 0x02;
	CHECK_INT(ask(&c, &r, &m, out), 443);

	/* LIFETIME 0 deletes: answered with LIFETIME 0, the relay closed,
	 * the quota back. */
	closes = io_log.closes;
	r = alice(TURN_REFRESH);
	r.has_lifetime = true;
	r.lifetime = 0;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(signed_with(&m, &alice_md5, false));
	life = 1;
	CHECK_INT(stun_msg_u32(&m, STUN_ATTR_LIFETIME, &life), 0);
	CHECK_INT(life, 0);
	CHECK_INT(io_log.closes, closes + 1);
	CHECK(addr_equal(SA(&io_log.closed), SA(&relayed)));
	CHECK(alloc_of(&c) == NULL);
	CHECK_INT(stats.alloc_deleted, deleted + 1);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 0);
	/* Nothing left to refresh: 437, and no second close. */
	r = alice(TURN_REFRESH);
	r.has_lifetime = true;
	r.lifetime = 0;
	CHECK_INT(ask(&c, &r, &m, out), 437);
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c, &r, &m, out), 437);
	CHECK_INT(io_log.closes, closes + 1);
	/* The freed allocation is off the wheel: expiry finds nothing. */
	ctx.now_ms = t0 + 100000000;
	turn_ctx_expire(&ctx);
	CHECK_INT(io_log.closes, closes + 1);
	release_all();
}

static void test_expiry(void)
{
	struct client c1, c2;
	struct turn_alloc *a1, *a2;
	struct sockaddr_storage r1;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	uint64_t expired = stats.alloc_expired, gone_at = 0;
	unsigned closes = io_log.closes;
	uint64_t t0 = clock_forward(); /* not on a whole second */

	client_init(&c1, TP_UDP, "192.0.2.10:40040");
	client_init(&c2, TP_UDP, "192.0.2.10:40041");
	a1 = allocate(&c1);
	ctx.now_ms = t0 + 100000;
	a2 = allocate(&c2);
	if (!a1 || !a2)
		return;
	memcpy(&r1, &a1->relayed, sizeof(r1));
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 2);
	/* Driven every 100 ms like the server does (about once a second). */
	for (ctx.now_ms = t0 + 599000; ctx.now_ms <= t0 + 602000; ctx.now_ms += 100) {
		turn_ctx_expire(&ctx);
		if (!gone_at && alloc_of(&c1) == NULL)
			gone_at = ctx.now_ms;
	}
	/* Not a millisecond early, less than a second late. */
	CHECK(gone_at >= t0 + 600000);
	CHECK(gone_at < t0 + 600000 + 1000);
	CHECK_INT(io_log.closes, closes + 1);
	CHECK(addr_equal(SA(&io_log.closed), SA(&r1)));
	CHECK_INT(stats.alloc_expired, expired + 1);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 1);
	CHECK(alloc_of(&c2) == a2);
	/* Requests on it now: 437. */
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c1, &r, &m, out), 437);

	/* A refresh moves the expiry: a2 refreshed at +650 s lives to +1250 s. */
	ctx.now_ms = t0 + 650000;
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c2, &r, &m, out), 0);
	ctx.now_ms = t0 + 700000; /* its old expiry */
	turn_ctx_expire(&ctx);
	CHECK(alloc_of(&c2) == a2);
	ctx.now_ms = t0 + 1249999;
	turn_ctx_expire(&ctx);
	CHECK(alloc_of(&c2) == a2);
	ctx.now_ms = t0 + 1251000;
	turn_ctx_expire(&ctx);
	CHECK(alloc_of(&c2) == NULL);
	CHECK_INT(stats.alloc_expired, expired + 2);
	CHECK_INT(io_log.closes, closes + 2);
	CHECK_INT(turn_quota_total(cfg.quota), 0);
	CHECK_INT(ctx.table.count, 0);
}

static void test_permission(void)
{
	static const uint8_t payload[] = "hello, peer";
	struct client c;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	struct turn_alloc *a;
	struct sockaddr_storage want;
	uint64_t created = stats.perms_created, loop = stats.policy_denied[POLICY_DENY_LOOPBACK];
	uint64_t noperm;
	uint64_t t;

	client_init(&c, TP_UDP, "192.0.2.10:40050");
	a = allocate(&c);
	if (!a)
		return;
	r = alice(TURN_REFRESH); /* outlive the clock steps below */
	r.has_lifetime = true;
	r.lifetime = 3600;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	t = ctx.now_ms;
	/* No permission yet: Send is dropped. */
	noperm = stats.drops[DROP_NO_PERMISSION];
	CHECK(!send_ind(&c, "45.33.32.156:7000", payload, sizeof(payload)));
	CHECK_INT(stats.drops[DROP_NO_PERMISSION], noperm + 1);

	CHECK_INT(permit(&c, "45.33.32.156:1"), 0);
	CHECK_INT(stats.perms_created, created + 1);
	/* The port does not matter; the peer gets exactly the DATA. */
	CHECK(send_ind(&c, "45.33.32.156:7000", payload, sizeof(payload)));
	want = sa("45.33.32.156:7000");
	CHECK(addr_equal(SA(&io_log.peer), SA(&want)));
	CHECK_INT(io_log.len, sizeof(payload));
	CHECK_MEM(io_log.data, payload, sizeof(payload));
	CHECK(io_log.send_alloc == a);
	CHECK_INT(a->pkts_in, 1);
	CHECK_INT(a->bytes_in, sizeof(payload));
	/* Another IP: dropped. */
	CHECK(!send_ind(&c, "45.33.32.157:7000", payload, sizeof(payload)));

	/* Several peers in one request. */
	r = alice(TURN_CREATE_PERMISSION);
	r.peers[0] = "45.33.32.160:1";
	r.peers[1] = "45.33.32.161:1";
	r.peers[2] = "45.33.32.162:1";
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK(send_ind(&c, "45.33.32.160:5", payload, 3));
	CHECK(send_ind(&c, "45.33.32.161:5", payload, 3));
	CHECK(send_ind(&c, "45.33.32.162:5", payload, 3));

	/* A forbidden peer among allowed ones: 403 and none installed. */
	r = alice(TURN_CREATE_PERMISSION);
	r.peers[0] = "45.33.32.170:1";
	r.peers[1] = "127.0.0.1:1";
	r.peers[2] = "45.33.32.171:1";
	CHECK_INT(ask(&c, &r, &m, out), 403);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(stats.policy_denied[POLICY_DENY_LOOPBACK], loop + 1);
	CHECK(!send_ind(&c, "45.33.32.170:5", payload, 3));
	CHECK(!send_ind(&c, "45.33.32.171:5", payload, 3));
	CHECK(turn_perm_find(a, CSA(&want), ctx.now_ms) != NULL);
	{
		struct sockaddr_storage p170 = sa("45.33.32.170:1"), p171 = sa("45.33.32.171:1");
		CHECK(turn_perm_find(a, SA(&p170), ctx.now_ms) == NULL);
		CHECK(turn_perm_find(a, SA(&p171), ctx.now_ms) == NULL);
	}
	/* Other refused kinds; an IPv6 peer on an IPv4 relay: 443. */
	CHECK_INT(permit(&c, "10.1.2.3:1"), 403);
	CHECK_INT(permit(&c, "169.254.169.254:80"), 403);
	CHECK_INT(permit(&c, "[2606:4700::1111]:1"), 443);
	r = alice(TURN_CREATE_PERMISSION);
	CHECK_INT(ask(&c, &r, &m, out), 400); /* no XOR-PEER-ADDRESS */
	/* Our own address: only on a relay port (RFC 8656 §17; policy.h). */
	CHECK_INT(permit(&c, OWN_IP ":3478"), 403);
	CHECK_INT(permit(&c, OWN_IP ":50000"), 0);
	CHECK(send_ind(&c, OWN_IP ":50002", payload, 3));
	{
		uint64_t pol = stats.drops[DROP_POLICY];
		CHECK(!send_ind(&c, OWN_IP ":3478", payload, 3)); /* rechecked per packet */
		CHECK_INT(stats.drops[DROP_POLICY], pol + 1);
	}

	/* 300 s on the fake clock, from the last refresh. */
	ctx.now_ms = t + 299999;
	CHECK(send_ind(&c, "45.33.32.156:7000", payload, 3));
	ctx.now_ms = t + 300000;
	CHECK(!send_ind(&c, "45.33.32.156:7000", payload, 3));
	/* Refreshed by a new CreatePermission. */
	CHECK_INT(permit(&c, "45.33.32.156:2"), 0);
	ctx.now_ms = t + 599999;
	CHECK(send_ind(&c, "45.33.32.156:7000", payload, 3));
	ctx.now_ms = t + 600000;
	CHECK(!send_ind(&c, "45.33.32.156:7000", payload, 3));

	/* Send indications that say too little: dropped as bad. */
	{
		uint64_t bad = stats.drops[DROP_BAD_INDICATION];
		struct req s = {.method = TURN_SEND, .cls = STUN_INDICATION};
		CHECK_INT(permit(&c, "45.33.32.156:2"), 0);
		s.peers[0] = "45.33.32.156:7000"; /* no DATA */
		CHECK_INT(send_req(&c, &s, out), 0);
		s = (struct req){.method = TURN_SEND,
				 .cls = STUN_INDICATION,
				 .has_data = true,
				 .data = payload,
				 .dlen = 3}; /* no peer */
		CHECK_INT(send_req(&c, &s, out), 0);
		CHECK_INT(stats.drops[DROP_BAD_INDICATION], bad + 2);
	}
	/* From a 5-tuple without an allocation: dropped. */
	{
		struct client x;
		uint64_t noalloc = stats.drops[DROP_NO_ALLOCATION];
		client_init(&x, TP_UDP, "192.0.2.99:1");
		CHECK(!send_ind(&x, "45.33.32.156:7000", payload, 3));
		CHECK_INT(stats.drops[DROP_NO_ALLOCATION], noalloc + 1);
	}
	release_all();
}

/* RFC 8656 §9.2: over the permission limit the answer is 508 and no
 * permission of the request is installed. */
static void test_permission_limit(void)
{
	struct client c;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	struct turn_alloc *a;
	struct sockaddr_storage p;

	client_init(&c, TP_UDP, "192.0.2.10:40055");
	a = allocate(&c);
	if (!a)
		return;
	for (unsigned i = 0; i < cfg.max_perms - 1; i++) {
		char s[32];
		snprintf(s, sizeof(s), "45.33.33.%u:1", i + 1);
		CHECK_INT(permit(&c, s), 0);
	}
	/* One slot left, two new peers asked for. */
	r = alice(TURN_CREATE_PERMISSION);
	r.peers[0] = "45.33.34.1:1";
	r.peers[1] = "45.33.34.2:1";
	CHECK_INT(ask(&c, &r, &m, out), 508);
	p = sa("45.33.34.1:1");
	CHECK(turn_perm_find(a, SA(&p), ctx.now_ms) == NULL);
	p = sa("45.33.34.2:1");
	CHECK(turn_perm_find(a, SA(&p), ctx.now_ms) == NULL);
	/* The same peer twice, or a refresh plus one new: fits. */
	r = alice(TURN_CREATE_PERMISSION);
	r.peers[0] = "45.33.34.1:1";
	r.peers[1] = "45.33.34.1:2";
	r.peers[2] = "45.33.33.1:1";
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(permit(&c, "45.33.34.3:1"), 508);
	/* A ChannelBind that would need one more permission: 508, and the
	 * channel is not bound either. */
	CHECK_INT(bind_chan(&c, 0x4000, "45.33.34.4:1"), 508);
	CHECK(turn_chan_by_num(a, 0x4000, ctx.now_ms) == NULL);
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.34.4:1"), 508);
	/* One whose peer has a permission binds. */
	CHECK_INT(bind_chan(&c, 0x4000, "45.33.34.1:9"), 0);
	release_all();
}

static void test_channel_bind(void)
{
	static const uint8_t payload[] = {1, 2, 3, 4, 5};
	struct client c;
	struct req r;
	uint8_t out[TURN_MAX_REPLY], cd[64];
	struct stun_msg m;
	struct turn_alloc *a;
	struct sockaddr_storage want;
	const struct turn_chan *ch;
	uint64_t bound = stats.chans_bound, t;

	client_init(&c, TP_UDP, "192.0.2.10:40060");
	a = allocate(&c);
	if (!a)
		return;
	r = alice(TURN_REFRESH); /* outlive the clock steps below */
	r.has_lifetime = true;
	r.lifetime = 3600;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	t = ctx.now_ms;
	r = alice(TURN_CHANNEL_BIND);
	r.chan = 0x4001;
	r.peers[0] = "45.33.32.156:5000";
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(stats.chans_bound, bound + 1);
	want = sa("45.33.32.156:5000");
	ch = turn_chan_by_num(a, 0x4001, ctx.now_ms);
	CHECK(ch && addr_equal(CSA(&ch->peer), SA(&want)));
	/* §11.2: the bind installed a permission for the peer's IP. */
	CHECK(turn_perm_find(a, SA(&want), ctx.now_ms) != NULL);
	CHECK(send_ind(&c, "45.33.32.156:1", payload, 2));

	/* ChannelData from the client goes to the bound peer. */
	turn_chandata_header(cd, 0x4001, sizeof(payload));
	memcpy(cd + 4, payload, sizeof(payload));
	{
		unsigned sends = io_log.sends;
		turn_client_chandata(&ctx, &c.from, cd, 4 + sizeof(payload));
		CHECK_INT(io_log.sends, sends + 1);
		CHECK(addr_equal(SA(&io_log.peer), SA(&want)));
		CHECK_INT(io_log.len, sizeof(payload));
		CHECK_MEM(io_log.data, payload, sizeof(payload));
	}

	/* §11.2: number bound to another peer, peer to another number: 400. */
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.32.157:5000"), 400);
	CHECK_INT(bind_chan(&c, 0x4002, "45.33.32.156:5000"), 400);
	/* Out of range numbers: 400. */
	CHECK_INT(bind_chan(&c, 0x3FFF, "45.33.32.158:5000"), 400);
	CHECK_INT(bind_chan(&c, 0x8000, "45.33.32.158:5000"), 400);
	/* Missing attributes: 400; bad peers as for permissions. */
	r = alice(TURN_CHANNEL_BIND);
	r.chan = 0x4003;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	r = alice(TURN_CHANNEL_BIND);
	r.peers[0] = "45.33.32.158:5000";
	CHECK_INT(ask(&c, &r, &m, out), 400);
	CHECK_INT(bind_chan(&c, 0x4003, "127.0.0.1:5000"), 403);
	CHECK_INT(bind_chan(&c, 0x4003, "[2606:4700::1111]:5000"), 443);
	CHECK(turn_chan_by_num(a, 0x4003, ctx.now_ms) == NULL);
	/* On no allocation: 437. */
	{
		struct client x;
		client_init(&x, TP_UDP, "192.0.2.10:40061");
		CHECK_INT(bind_chan(&x, 0x4001, "45.33.32.156:5000"), 437);
	}

	/* A refresh at +500 s keeps the channel to +1100 s (and the
	 * permission to +800 s). */
	ctx.now_ms = t + 500000;
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.32.156:5000"), 0);
	ctx.now_ms = t + 1099999;
	CHECK(turn_chan_by_num(a, 0x4001, ctx.now_ms) != NULL);
	ctx.now_ms = t + 1100000;
	CHECK(turn_chan_by_num(a, 0x4001, ctx.now_ms) == NULL);
	/* Held 5 more minutes: rebinding elsewhere is refused until then. */
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.32.157:5000"), 400);
	ctx.now_ms = t + 1400000;
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.32.157:5000"), 0);
	release_all();
}

static void test_peer_data(void)
{
	static const uint8_t payload[5] = {'h', 'e', 'l', 'l', 'o'};
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.156:5000"), other = sa("45.33.32.156:5001");
	struct sockaddr_storage stranger = sa("45.33.32.200:5000"), got;
	uint8_t buf[TURN_HEADROOM + 64 + 4], *data = buf + TURN_HEADROOM, *msg = NULL;
	struct stun_msg m;
	const struct stun_attr *d;
	size_t n;
	uint64_t noperm;

	client_init(&c, TP_UDP, "192.0.2.10:40070");
	a = allocate(&c);
	if (!a)
		return;
	CHECK_INT(bind_chan(&c, 0x4abc, "45.33.32.156:5000"), 0);

	/* From the channel's peer: ChannelData in place. */
	memset(buf, 0xaa, sizeof(buf));
	memcpy(data, payload, sizeof(payload));
	n = turn_peer_data(&ctx, a, SA(&peer), data, sizeof(payload), false, &msg);
	CHECK_INT(n, 4 + 5);
	CHECK(msg == data - 4);
	CHECK(msg && msg[0] == 0x4a && msg[1] == 0xbc && msg[2] == 0 && msg[3] == 5);
	CHECK_MEM(data, payload, sizeof(payload));
	CHECK_INT(data[5], 0xaa); /* no padding over UDP */
	/* Over a stream: padded to 4 with zeros. */
	memcpy(data, payload, sizeof(payload));
	n = turn_peer_data(&ctx, a, SA(&peer), data, sizeof(payload), true, &msg);
	CHECK_INT(n, 12);
	CHECK(data[5] == 0 && data[6] == 0 && data[7] == 0);
	CHECK_INT(data[8], 0xaa);
	CHECK_INT(a->pkts_out, 2);
	CHECK_INT(a->bytes_out, 10);

	/* From the same IP on another port: permitted, but no channel:
	 * a Data indication that parses. */
	memset(buf, 0xaa, sizeof(buf));
	memcpy(data, payload, sizeof(payload));
	n = turn_peer_data(&ctx, a, SA(&other), data, sizeof(payload), false, &msg);
	CHECK(n > 0);
	CHECK(msg + n == data + 8); /* 5 bytes and 3 of padding */
	CHECK_INT(stun_msg_parse(&m, msg, n), 0);
	CHECK_INT(m.method, TURN_DATA);
	CHECK_INT(m.cls, STUN_INDICATION);
	CHECK(m.magic);
	CHECK_INT(stun_msg_xor_addr(&m, STUN_ATTR_XOR_PEER_ADDRESS, &got), 0);
	CHECK(addr_equal(SA(&got), SA(&other)));
	d = stun_msg_find(&m, STUN_ATTR_DATA);
	CHECK(d && d->len == sizeof(payload) &&
	      memcmp(stun_attr_value(&m, d), payload, sizeof(payload)) == 0);

	/* Without permission: 0, counted. */
	noperm = stats.drops[DROP_NO_PERMISSION];
	n = turn_peer_data(&ctx, a, SA(&stranger), data, sizeof(payload), false, &msg);
	CHECK_INT(n, 0);
	CHECK_INT(stats.drops[DROP_NO_PERMISSION], noperm + 1);
	CHECK_INT(a->pkts_out, 3);
	release_all();
}

static void test_quota(void)
{
	struct client c[4];
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	uint64_t qu = stats.quota_user, e486 = stats.errors[ERR_486], t0;
	unsigned opens;

	for (int i = 0; i < 4; i++) {
		char s[32];
		snprintf(s, sizeof(s), "192.0.2.11:%d", 41000 + i);
		client_init(&c[i], TP_UDP, s);
	}
	t0 = clock_forward();
	allocate(&c[0]);
	ctx.now_ms += 100000;
	allocate(&c[1]);
	/* The third of alice's: 486, signed, nothing opened. */
	opens = io_log.opens;
	r = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c[2], &r, &m, out), 486);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(stats.quota_user, qu + 1);
	CHECK_INT(stats.errors[ERR_486], e486 + 1);
	CHECK_INT(io_log.opens, opens);
	CHECK(alloc_of(&c[2]) == NULL);
	/* Another user is not affected. */
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = "bob", .key = &bob_md5};
	CHECK_INT(ask(&c[3], &r, &m, out), 0);
	CHECK(signed_with(&m, &bob_md5, false));
	/* After the first expires, alice may have another. */
	ctx.now_ms = t0 + 601000;
	turn_ctx_expire(&ctx);
	CHECK(alloc_of(&c[0]) == NULL);
	CHECK(alloc_of(&c[1]) != NULL);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 1);
	r = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c[2], &r, &m, out), 0);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 2);
	release_all();
}

static void test_auth_failures(void)
{
	struct client c, other;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	const struct stun_attr *na;
	char nonce[AUTH_NONCE_MAX], fresh[AUTH_NONCE_MAX];
	uint64_t st, e438;
	unsigned opens = io_log.opens;

	client_init(&c, TP_UDP, "192.0.2.12:42000");
	client_init(&other, TP_UDP, "192.0.2.12:42001");
	/* Wrong password: 401 with a new challenge, unsigned. */
	st = stats.auth[AUTHR_BAD_INTEGRITY];
	r = alice(TURN_ALLOCATE);
	r.key = &wrong_md5;
	CHECK_INT(ask(&c, &r, &m, out), 401);
	CHECK(unsigned_answer(&m));
	CHECK(stun_msg_find(&m, STUN_ATTR_NONCE) != NULL);
	CHECK(stun_msg_find(&m, STUN_ATTR_REALM) != NULL);
	CHECK_INT(stats.auth[AUTHR_BAD_INTEGRITY], st + 1);
	/* The SHA-256 key under MD5, and the reverse: 401. */
	r = alice(TURN_ALLOCATE);
	r.key = &alice_sha256;
	CHECK_INT(ask(&c, &r, &m, out), 401);
	r = alice(TURN_ALLOCATE);
	r.sha256 = true;
	CHECK_INT(ask(&c, &r, &m, out), 401);
	/* Unknown user, other realm: 401. */
	st = stats.auth[AUTHR_UNKNOWN_USER];
	r = alice(TURN_ALLOCATE);
	r.user = "mallory";
	CHECK_INT(ask(&c, &r, &m, out), 401);
	CHECK_INT(stats.auth[AUTHR_UNKNOWN_USER], st + 1);
	r = alice(TURN_ALLOCATE);
	r.realm = "other.test";
	CHECK_INT(ask(&c, &r, &m, out), 401);
	CHECK_INT(io_log.opens, opens);
	CHECK_INT(turn_quota_total(cfg.quota), 0);

	/* Stale nonce: valid through its lifetime, 438 a second later, with
	 * a fresh nonce that works. */
	ctx.unix_s = U0;
	CHECK(auth_nonce_make(&nkey, CSA(&c.addr), ctx.unix_s, NONCE_LIFETIME, nonce,
			      sizeof(nonce)) > 0);
	ctx.unix_s = U0 + NONCE_LIFETIME;
	r = alice(TURN_ALLOCATE);
	r.nonce = nonce;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	ctx.unix_s = U0 + NONCE_LIFETIME + 1;
	st = stats.auth[AUTHR_STALE_NONCE];
	e438 = stats.errors[ERR_438];
	r = alice(TURN_REFRESH);
	r.nonce = nonce;
	CHECK_INT(ask(&c, &r, &m, out), 438);
	CHECK_INT(stats.auth[AUTHR_STALE_NONCE], st + 1);
	CHECK_INT(stats.errors[ERR_438], e438 + 1);
	CHECK(unsigned_answer(&m));
	CHECK(stun_msg_find(&m, STUN_ATTR_REALM) != NULL);
	na = stun_msg_find(&m, STUN_ATTR_NONCE);
	CHECK(na && na->len < sizeof(fresh));
	if (na && na->len < sizeof(fresh)) {
		memcpy(fresh, stun_attr_value(&m, na), na->len);
		fresh[na->len] = 0;
		CHECK(strcmp(fresh, nonce) != 0);
		r = alice(TURN_REFRESH);
		r.nonce = fresh;
		CHECK_INT(ask(&c, &r, &m, out), 0);
	}
	/* Another client's nonce (same IP, other port): 438. */
	r = alice(TURN_REFRESH);
	CHECK(auth_nonce_make(&nkey, CSA(&other.addr), ctx.unix_s, NONCE_LIFETIME, nonce,
			      sizeof(nonce)) > 0);
	r.nonce = nonce;
	CHECK_INT(ask(&c, &r, &m, out), 438);

	/* Another user's valid credentials on alice's allocation: 441. */
	st = stats.auth[AUTHR_WRONG_USER];
	r = (struct req){.method = TURN_REFRESH, .user = "bob", .key = &bob_md5};
	CHECK_INT(ask(&c, &r, &m, out), 441);
	CHECK_INT(stats.auth[AUTHR_WRONG_USER], st + 1);
	r = (struct req){.method = TURN_CREATE_PERMISSION,
			 .user = "bob",
			 .key = &bob_md5,
			 .peers = {"45.33.32.156:1"}};
	CHECK_INT(ask(&c, &r, &m, out), 441);
	CHECK(alloc_of(&c) && alloc_of(&c)->nperms == 0);
	r = (struct req){.method = TURN_REFRESH,
			 .user = "bob",
			 .key = &bob_md5,
			 .has_lifetime = true,
			 .lifetime = 0};
	CHECK_INT(ask(&c, &r, &m, out), 441);
	CHECK(alloc_of(&c) != NULL); /* bob cannot delete it */
	/* alice still can. */
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c, &r, &m, out), 0);
	release_all();
	ctx.unix_s = U0;
}

static void test_rest(void)
{
	struct client c1, c2, c3;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	char user[3][64], pass[64];
	struct auth_key k[3];
	uint64_t st;

	client_init(&c1, TP_UDP, "192.0.2.13:43000");
	client_init(&c2, TP_UDP, "192.0.2.13:43001");
	client_init(&c3, TP_UDP, "192.0.2.13:43002");
	/* Three credentials of carol: two valid, one expired a second ago. */
	for (int i = 0; i < 3; i++) {
		uint64_t exp = i == 2 ? ctx.unix_s - 1 : ctx.unix_s + (i == 0 ? 0 : 86400);
		size_t plen;

		snprintf(user[i], sizeof(user[i]), "%llu:carol", (unsigned long long)exp);
		plen = auth_rest_password((const uint8_t *)REST_SECRET, strlen(REST_SECRET),
					  user[i], strlen(user[i]), pass, sizeof(pass));
		CHECK(plen > 0);
		CHECK_INT(auth_key_derive(AUTH_ALG_MD5, user[i], strlen(user[i]), REALM,
					  strlen(REALM), pass, plen, &k[i]),
			  0);
	}
	/* Expiry equal to now still works. */
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = user[0], .key = &k[0]};
	CHECK_INT(ask(&c1, &r, &m, out), 0);
	CHECK(signed_with(&m, &k[0], false));
	/* The quota counts the user part, across credentials. */
	CHECK_INT(turn_quota_user(cfg.quota, "carol", 5), 1);
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = user[1], .key = &k[1]};
	CHECK_INT(ask(&c2, &r, &m, out), 0);
	CHECK_INT(turn_quota_user(cfg.quota, "carol", 5), 2);
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = user[1], .key = &k[1]};
	CHECK_INT(ask(&c3, &r, &m, out), 486);
	/* Expired: 401. */
	st = stats.auth[AUTHR_EXPIRED];
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = user[2], .key = &k[2]};
	CHECK_INT(ask(&c3, &r, &m, out), 401);
	CHECK(unsigned_answer(&m));
	CHECK_INT(stats.auth[AUTHR_EXPIRED], st + 1);
	/* A REST password for another name does not verify. */
	r = (struct req){
		.method = TURN_ALLOCATE, .transport = PROTO_UDP, .user = user[1], .key = &k[0]};
	CHECK_INT(ask(&c3, &r, &m, out), 401);
	/* The other credential of the same user is not the allocation's: 441. */
	r = (struct req){.method = TURN_REFRESH, .user = user[1], .key = &k[1]};
	CHECK_INT(ask(&c1, &r, &m, out), 441);
	/* Deleting gives the quota back to carol, not to "<ts>:carol". */
	r = (struct req){.method = TURN_REFRESH,
			 .user = user[1],
			 .key = &k[1],
			 .has_lifetime = true,
			 .lifetime = 0};
	CHECK_INT(ask(&c2, &r, &m, out), 0);
	CHECK_INT(turn_quota_user(cfg.quota, "carol", 5), 1);
	/* After the credential's expiry its allocation can no longer be
	 * refreshed, but it lives on until its lifetime ends. */
	ctx.unix_s += 1;
	r = (struct req){.method = TURN_REFRESH, .user = user[0], .key = &k[0]};
	CHECK_INT(ask(&c1, &r, &m, out), 401);
	CHECK(alloc_of(&c1) != NULL);
	ctx.unix_s = U0;
	release_all();
	CHECK_INT(turn_quota_user(cfg.quota, "carol", 5), 0);
}

static void test_classic(void)
{
	struct client c;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	uint64_t e400 = stats.errors[ERR_400], unexpected = stats.drops[DROP_UNEXPECTED];
	unsigned opens = io_log.opens;
	static const uint16_t methods[] = {TURN_ALLOCATE, TURN_REFRESH, TURN_CREATE_PERMISSION,
					   TURN_CHANNEL_BIND};

	client_init(&c, TP_UDP, "192.0.2.14:44000");
	/* RFC 3489 clients (no magic cookie) have no TURN: 400, no challenge. */
	for (size_t i = 0; i < 4; i++) {
		r = alice(methods[i]);
		r.classic = true;
		r.user = NULL;
		r.peers[0] = "45.33.32.156:1";
		r.chan = methods[i] == TURN_CHANNEL_BIND ? 0x4000 : 0;
		CHECK_INT(ask(&c, &r, &m, out), 400);
		CHECK(!m.magic);
		CHECK(stun_msg_find(&m, STUN_ATTR_NONCE) == NULL);
		CHECK(unsigned_answer(&m));
	}
	/* Even with credentials. */
	r = alice(TURN_ALLOCATE);
	r.classic = true;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	CHECK_INT(stats.errors[ERR_400], e400 + 5);
	CHECK_INT(io_log.opens, opens);
	CHECK(alloc_of(&c) == NULL);
	/* A classic Send indication: dropped. */
	r = (struct req){.method = TURN_SEND,
			 .cls = STUN_INDICATION,
			 .classic = true,
			 .peers = {"45.33.32.156:1"},
			 .has_data = true,
			 .data = (const uint8_t *)"x",
			 .dlen = 1};
	CHECK_INT(send_req(&c, &r, out), 0);
	CHECK_INT(stats.drops[DROP_UNEXPECTED], unexpected + 1);
}

static void test_max_bps(void)
{
	static uint8_t payload[800];
	struct client c;
	struct turn_alloc *a;
	struct sockaddr_storage peer = sa("45.33.32.156:5000");
	uint8_t buf[TURN_HEADROOM + sizeof(payload) + 4], *msg;
	uint64_t rate;

	client_init(&c, TP_UDP, "192.0.2.15:45000");
	cfg.max_bps = 1000; /* read when the allocation is made */
	a = allocate(&c);
	cfg.max_bps = 0;
	if (!a)
		return;
	CHECK_INT(permit(&c, "45.33.32.156:1"), 0);
	rate = stats.drops[DROP_RATE];
	CHECK(send_ind(&c, "45.33.32.156:5000", payload, 800));
	CHECK(!send_ind(&c, "45.33.32.156:5000", payload, 800));
	CHECK_INT(stats.drops[DROP_RATE], rate + 1);
	/* Each direction has its own (coturn's max-bps): the peers still have
	 * 1000 bytes to the client, not one more. */
	memset(buf, 0, sizeof(buf));
	CHECK(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 600, false, &msg) > 0);
	CHECK(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 400, false, &msg) > 0);
	CHECK_INT(turn_peer_data(&ctx, a, SA(&peer), buf + TURN_HEADROOM, 1, false, &msg), 0);
	CHECK_INT(stats.drops[DROP_RATE], rate + 2);
	/* 800 ms later: 800 bytes again, and the 200 left over before. */
	ctx.now_ms += 800;
	CHECK(send_ind(&c, "45.33.32.156:5000", payload, 800));
	CHECK(send_ind(&c, "45.33.32.156:5000", payload, 200));
	CHECK(!send_ind(&c, "45.33.32.156:5000", payload, 1));
	CHECK_INT(stats.drops[DROP_RATE], rate + 3);
	/* Another allocation made without the limit is not limited. */
	{
		struct client c2;
		client_init(&c2, TP_UDP, "192.0.2.15:45001");
		allocate(&c2);
		CHECK_INT(permit(&c2, "45.33.32.156:1"), 0);
		for (int i = 0; i < 10; i++)
			CHECK(send_ind(&c2, "45.33.32.156:5000", payload, 800));
	}
	release_all();
}

static void test_no_auth(void)
{
	struct turn_server_cfg saved = cfg;
	struct client c;
	struct req r = {.method = TURN_ALLOCATE, .transport = PROTO_UDP};
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	/* no-auth: TURN without credentials; answers are not signed; every
	 * client shares the anonymous user's quota. */
	cfg.no_auth = true;
	client_init(&c, TP_UDP, "192.0.2.16:46000");
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK(unsigned_answer(&m));
	CHECK_INT(turn_quota_user(cfg.quota, "", 0), 1);
	r = (struct req){.method = TURN_CREATE_PERMISSION, .peers = {"45.33.32.156:1"}};
	CHECK_INT(ask(&c, &r, &m, out), 0);
	r = (struct req){.method = TURN_REFRESH, .has_lifetime = true, .lifetime = 0};
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(turn_quota_user(cfg.quota, "", 0), 0);
	CHECK(alloc_of(&c) == NULL);
	cfg = saved;
	release_all();
}

/* Draining before a stop: new allocations get 508, existing ones go on. */
static void test_draining(void)
{
	struct client c, c2;
	struct req r;
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	unsigned opens = io_log.opens;

	client_init(&c, TP_UDP, "192.0.2.17:47000");
	client_init(&c2, TP_UDP, "192.0.2.17:47001");
	allocate(&c);
	opens = io_log.opens;
	cfg.draining = true;
	r = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c2, &r, &m, out), 508);
	CHECK(signed_with(&m, &alice_md5, false));
	CHECK_INT(io_log.opens, opens);
	CHECK(alloc_of(&c2) == NULL);
	CHECK_INT(turn_quota_user(cfg.quota, "alice", 5), 1);
	r = alice(TURN_REFRESH);
	CHECK_INT(ask(&c, &r, &m, out), 0);
	CHECK_INT(permit(&c, "45.33.32.156:1"), 0);
	cfg.draining = false;
	r = alice(TURN_ALLOCATE);
	CHECK_INT(ask(&c2, &r, &m, out), 0);
	release_all();
}

/* ---- RFC 6062 TCP relay (turn/tcprel.c) ---- */

static struct {
	unsigned connects, closes;
	struct turn_tcpconn *last;
	int fail; /* next tcp_connect's result */
} tcp_log;

static int fake_tcp_connect(void *env, struct turn_alloc *a, struct turn_tcpconn *tc)
{
	(void)env;
	(void)a;
	if (tcp_log.fail) {
		int rc = tcp_log.fail;
		tcp_log.fail = 0;
		return rc;
	}
	tcp_log.connects++;
	tcp_log.last = tc;
	tc->net = &tcp_log;
	return 0;
}

static void fake_tcp_close(void *env, struct turn_tcpconn *tc)
{
	(void)env;
	CHECK(tc->net == &tcp_log);
	tcp_log.closes++;
}

/* A Connect to peer: its code (0: the connection is being opened, no
 * answer yet). */
static int tcp_connect(const struct client *c, const char *peer)
{
	struct req r = alice(TURN_CONNECT);
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;
	size_t n;

	r.peers[0] = peer;
	n = send_req(c, &r, out);
	return n ? answer(&r, out, n, &m) : 0;
}

static int tcp_bind(const struct client *c, uint32_t id)
{
	struct req r = alice(TURN_CONNECTION_BIND);
	uint8_t out[TURN_MAX_REPLY];
	struct stun_msg m;

	r.has_conn_id = true;
	r.conn_id = id;
	return ask(c, &r, &m, out);
}

static void test_tcp_relay(void)
{
	struct turn_io io = fake_io;
	const struct turn_io *saved = ctx.io;
	struct client c, d, u;
	struct req r = alice(TURN_ALLOCATE);
	uint8_t out[TURN_MAX_REPLY];
	struct turn_tcpconn *tc, *late;
	struct turn_alloc *a;
	struct stun_msg m;
	uint32_t id;
	size_t n;
	unsigned live;

	io.tcp_connect = fake_tcp_connect;
	io.tcp_close = fake_tcp_close;
	ctx.io = &io;
	ctx.tcp_nshards = 4;
	ctx.tcp_shard = 3;
	client_init(&c, TP_TCP, "192.0.2.60:40001");
	client_init(&d, TP_TCP, "192.0.2.60:40002");
	client_init(&u, TP_UDP, "192.0.2.60:40003");

	/* §5.1: TCP over UDP still 442; TCP with EVEN-PORT 400. */
	r.transport = PROTO_TCP;
	CHECK_INT(ask(&u, &r, &m, out), 442);
	r = alice(TURN_ALLOCATE);
	r.transport = PROTO_TCP;
	r.even_port = true;
	CHECK_INT(ask(&c, &r, &m, out), 400);
	r = alice(TURN_ALLOCATE);
	r.transport = PROTO_TCP;
	CHECK_INT(ask(&c, &r, &m, out), 0);
	a = alloc_of(&c);
	CHECK(a && a->tcp);
	if (!a)
		goto out;
	/* ChannelBind on a TCP allocation: 400. */
	CHECK_INT(bind_chan(&c, 0x4001, "45.33.40.7:8080"), 400);

	/* §5.2: Connect, answered once the connection is up. */
	CHECK_INT(tcp_connect(&c, "45.33.40.7:8080"), 0);
	CHECK_INT(tcp_log.connects, 1);
	tc = tcp_log.last;
	CHECK(tc && tc->state == TURN_TCP_CONNECTING && tc->id % 4 == 3);
	if (!tc)
		goto out;
	id = tc->id;
	CHECK_INT(tcp_connect(&c, "45.33.40.7:8080"), 446);
	/* The peer policy as for UDP. */
	CHECK_INT(tcp_connect(&c, "0.0.0.0:80"), 403);
	CHECK_INT(tcp_connect(&c, OWN_IP ":3478"), 403);
	CHECK_INT(tcp_connect(&c, "10.0.0.1:80"), 403);
	CHECK_INT(tcp_log.connects, 1);
	n = turn_tcp_connected(&ctx, tc, true, out);
	CHECK_INT(stun_msg_parse(&m, out, n), 0);
	{
		uint32_t got = 0;
		CHECK(m.method == TURN_CONNECT && m.cls == STUN_SUCCESS);
		CHECK_INT(stun_msg_u32(&m, STUN_ATTR_CONNECTION_ID, &got), 0);
		CHECK_INT(got, id);
		CHECK(signed_with(&m, &alice_md5, false));
	}
	/* §5.4: bound on a new connection, once; not on the control one. */
	CHECK_INT(tcp_bind(&c, id), 400);
	CHECK_INT(tcp_bind(&u, id), 400);
	CHECK_INT(tcp_bind(&d, id + 4), 400);
	CHECK_INT(tcp_bind(&d, id), 0);
	CHECK(ctx.bound == tc && tc->state == TURN_TCP_BOUND);
	CHECK_INT(tcp_bind(&d, id), 400);
	CHECK(ctx.bound == NULL);

	/* A failed connection: 447, and the peer may be tried again. */
	CHECK_INT(tcp_connect(&c, "45.33.40.8:8080"), 0);
	n = turn_tcp_connected(&ctx, tcp_log.last, false, out);
	CHECK(n > 0 && stun_msg_parse(&m, out, n) == 0 && m.cls == STUN_ERROR);
	tcp_log.fail = TP_ESYS;
	CHECK_INT(tcp_connect(&c, "45.33.40.8:8080"), 447);

	/* §5.2: unbound for 30 s: closed and forgotten. */
	CHECK_INT(tcp_connect(&c, "45.33.40.9:8080"), 0);
	late = tcp_log.last;
	turn_tcp_connected(&ctx, late, true, out);
	id = late->id;
	ctx.now_ms += 29000;
	turn_ctx_expire(&ctx);
	CHECK_INT(tcp_log.closes, 0);
	ctx.now_ms += 2000;
	turn_ctx_expire(&ctx);
	CHECK_INT(tcp_log.closes, 1);
	CHECK_INT(tcp_bind(&d, id), 400);

	/* §5.3: a peer connecting in needs a permission. */
	{
		struct sockaddr_storage p = sa("45.33.40.20:5555");
		struct turn_tcpconn *in;
		uint32_t got = 0;

		CHECK(turn_tcp_incoming(&ctx, a, SA(&p), out, &n) == NULL);
		CHECK_INT(permit(&c, "45.33.40.20:1"), 0);
		in = turn_tcp_incoming(&ctx, a, SA(&p), out, &n);
		CHECK(in != NULL);
		CHECK_INT(stun_msg_parse(&m, out, n), 0);
		CHECK(m.method == TURN_CONNECTION_ATTEMPT && m.cls == STUN_INDICATION);
		CHECK_INT(stun_msg_u32(&m, STUN_ATTR_CONNECTION_ID, &got), 0);
		CHECK(in && got == in->id && in->state == TURN_TCP_PENDING);
		if (in)
			in->net = &tcp_log; /* what net does with the accepted socket */
	}

	/* At most TURN_TCP_PER_ALLOC per allocation, then 508. */
	live = a->ntcp;
	for (unsigned i = live; i < TURN_TCP_PER_ALLOC; i++) {
		char peer[64];
		snprintf(peer, sizeof(peer), "45.33.40.30:%u", 1000 + i);
		CHECK_INT(tcp_connect(&c, peer), 0);
	}
	CHECK_INT(a->ntcp, TURN_TCP_PER_ALLOC);
	CHECK_INT(tcp_connect(&c, "45.33.40.31:1"), 508);

	/* The allocation ends: every peer connection closes with it. */
	live = a->ntcp;
	tcp_log.closes = 0;
	turn_alloc_release(&ctx, a);
	CHECK_INT(tcp_log.closes, live);
	CHECK(ctx.tcpconns == NULL);
out:
	ctx.io = saved;
}

int main(void)
{
	uint8_t addr_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct sockaddr_storage own = sa(OWN_IP);
	int rc = 1;

	addr_hash_seed(addr_key);
	store = auth_store_new(REALM);
	CHECK(store != NULL);
	if (!store)
		return check_done("test_turn_turn");
	CHECK_INT(auth_store_add_user(store, "alice:secret"), 0);
	CHECK_INT(auth_store_add_user(store, "bob:hunter2"), 0);
	CHECK_INT(auth_store_add_secret(store, REST_SECRET), 0);
	CHECK_INT(auth_nonce_key_init(&nkey, "nonce secret"), 0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, strlen(REALM), "secret", 6,
				  &alice_md5),
		  0);
	CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, "alice", 5, REALM, strlen(REALM), "secret", 6,
				  &alice_sha256),
		  0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "bob", 3, REALM, strlen(REALM), "hunter2", 7,
				  &bob_md5),
		  0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, strlen(REALM), "wrong", 5,
				  &wrong_md5),
		  0);
	CHECK_INT(policy_init(&policy, NULL, 0, NULL, 0, false, NULL), 0);
	CHECK_INT(policy_add_self(&policy, SA(&own)), 0);
	CHECK_INT(policy_add_self_port(&policy, 3478), 0);
	policy.relay_port_min = 49152;
	policy.relay_port_max = 65535;

	cfg.software = true;
	cfg.turn = true;
	cfg.store = store;
	cfg.nonce_key = &nkey;
	cfg.nonce_lifetime = NONCE_LIFETIME;
	cfg.policy = &policy;
	cfg.default_lifetime = 600;
	cfg.max_lifetime = 3600;
	cfg.max_perms = 8;
	cfg.max_chans = 8;
	cfg.relay_v4 = true;
	cfg.quota = turn_quota_new(2, 0);
	CHECK(cfg.quota != NULL);
	io_log.next_port = 50000;
	CHECK_INT(turn_ctx_init(&ctx, &cfg, &stats, &fake_io), 0);
	ctx.now_ms = T0;
	ctx.unix_s = U0;

	if (cfg.quota) {
		test_challenge();
		test_allocate();
		test_allocate_sha256();
		test_allocate_attrs();
		test_lifetime();
		test_refresh();
		test_expiry();
		test_permission();
		test_permission_limit();
		test_channel_bind();
		test_peer_data();
		test_quota();
		test_auth_failures();
		test_rest();
		test_classic();
		test_max_bps();
		test_no_auth();
		test_draining();
		test_tcp_relay();
	}

	turn_ctx_cleanup(&ctx);
	CHECK_INT(io_log.opens, io_log.closes);
	turn_quota_free(cfg.quota);
	policy_cleanup(&policy);
	auth_store_free(store);
	rc = check_done("test_turn_turn");
	return rc;
}
