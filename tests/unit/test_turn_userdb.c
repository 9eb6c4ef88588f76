/* test_turn_userdb.c - unit tests for the protocol core's side of Redis
 * (src/turn/turn.c): long-term keys from the key cache, a miss parking the
 * request (ctx.parked, io key_lookup) and the same bytes run again once the
 * cache is filled; failures (500), unknown users (401), no room (508), keys
 * used past their time only while the store is away; config users and REST
 * names never looked up; and the fleet-wide user-quota: the Allocate
 * parked on quota_take, its ticket granting, denying or falling back, the
 * member refreshed and removed through quota_update. */
#include <string.h>

#include "auth/auth.h"
#include "auth/kcache.h"
#include "check.h"
#include "turn_fake.h"
#include "turn/quota.h"
#include "turn/server.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/policy.h"

#define REALM "turnpike.test"
#define NONCE_LIFETIME 600
#define PROTO_UDP 17

static struct auth_store *store;
static struct auth_nonce_key nkey;
static struct peer_policy policy;
static struct turn_server_cfg cfg;
static struct turn_stats stats;
static struct turn_ctx ctx;
static struct turn_io io;
static struct auth_kcache *kc;
static struct auth_key alice_md5, rita_md5, rita_sha, rest_md5;

/* What the fake hooks saw, and what they answer. */
static struct {
	unsigned lookups, takes, updates;
	int lookup_rc, take_rc;
	char user[64];
	uint8_t id[TURN_ALLOC_ID_LEN];
	uint32_t lifetime;
	uint8_t txn[12];
	uint8_t upd_id[TURN_ALLOC_ID_LEN];
	uint32_t upd_lifetime;
} hook;

static int fake_lookup(void *env, const struct turn_from *from, const char *user, size_t ulen,
		       size_t msg_len)
{
	(void)env;
	(void)from;
	CHECK(msg_len > 20 && msg_len <= 2048);
	hook.lookups++;
	memcpy(hook.user, user, ulen < 63 ? ulen : 63);
	hook.user[ulen < 63 ? ulen : 63] = '\0';
	return hook.lookup_rc;
}

static int fake_take(void *env, const struct turn_from *from, const uint8_t txn[12],
		     const char *user, size_t ulen, const uint8_t id[TURN_ALLOC_ID_LEN],
		     uint32_t lifetime_s, size_t msg_len)
{
	(void)env;
	(void)from;
	(void)msg_len;
	hook.takes++;
	memcpy(hook.user, user, ulen < 63 ? ulen : 63);
	hook.user[ulen < 63 ? ulen : 63] = '\0';
	memcpy(hook.id, id, TURN_ALLOC_ID_LEN);
	memcpy(hook.txn, txn, 12);
	hook.lifetime = lifetime_s;
	return hook.take_rc;
}

static void fake_update(void *env, const char *user, size_t ulen,
			const uint8_t id[TURN_ALLOC_ID_LEN], uint32_t lifetime_s)
{
	(void)env;
	(void)user;
	(void)ulen;
	hook.updates++;
	memcpy(hook.upd_id, id, TURN_ALLOC_ID_LEN);
	hook.upd_lifetime = lifetime_s;
}

/* An authenticated request from c as user with key. */
static size_t build(const struct client *c, uint16_t method, const char *user,
		    const struct auth_key *key, bool sha256, uint32_t lifetime, uint8_t txn[16],
		    uint8_t *buf)
{
	static const uint8_t algs[8] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t alg256[4] = {0, 2, 0, 0};
	static uint32_t counter;
	char nonce[AUTH_NONCE_MAX];
	struct stun_builder b;
	size_t len = 0;
	uint32_t n = ++counter;

	memcpy(txn, "\x21\x12\xa4\x42userdb", 10);
	memcpy(txn + 10, "TT", 2);
	memcpy(txn + 12, &n, 4);
	stun_build_init(&b, buf, 2048, method, STUN_REQUEST, txn);
	if (method == TURN_ALLOCATE)
		stun_build_transport(&b, PROTO_UDP);
	if (lifetime != UINT32_MAX)
		stun_build_u32(&b, STUN_ATTR_LIFETIME, lifetime);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	stun_build_string(&b, STUN_ATTR_REALM, REALM);
	CHECK(auth_nonce_make(&nkey, CSA(&c->addr), ctx.unix_s, NONCE_LIFETIME, nonce,
			      sizeof(nonce)) > 0);
	stun_build_string(&b, STUN_ATTR_NONCE, nonce);
	if (sha256) {
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, sizeof(algs));
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, alg256, sizeof(alg256));
		stun_build_integrity_sha256(&b, key->k, key->len, 32);
	} else {
		stun_build_integrity(&b, key->k, key->len);
	}
	CHECK_INT(stun_build_finish(&b, &len), 0);
	return len;
}

/* The code of an answer: 0 success, the error code, -1 none. */
static int code_of(const uint8_t *out, size_t n)
{
	struct stun_msg m;
	const struct stun_attr *ec;
	const char *reason;
	size_t rlen;
	int code;

	if (n == 0 || stun_msg_parse(&m, out, n) != 0)
		return -1;
	if (m.cls == STUN_SUCCESS)
		return 0;
	ec = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
	if (!ec || stun_attr_get_error(&m, ec, &code, &reason, &rlen) != 0)
		return -1;
	return code;
}

/* Runs a message; returns its code, or -2 when it was parked. */
static int run(const struct client *c, const uint8_t *buf, size_t len)
{
	uint8_t out[TURN_MAX_REPLY];
	size_t n = turn_server_handle(&ctx, &c->from, buf, len, out);

	if (n == 0 && ctx.parked)
		return -2;
	CHECK(!ctx.parked);
	return code_of(out, n);
}

static int once(const struct client *c, uint16_t method, const char *user,
		const struct auth_key *key, bool sha256)
{
	uint8_t buf[2048], txn[16];
	size_t len = build(c, method, user, key, sha256, UINT32_MAX, txn, buf);

	return run(c, buf, len);
}

static void release(const struct client *c)
{
	struct turn_alloc *a =
		turn_table_find(&ctx.table, c->from.tr, c->from.client, c->from.local);
	if (a)
		turn_alloc_release(&ctx, a);
}

static void test_keys(void)
{
	struct client c;
	uint8_t buf[2048], txn[16];
	size_t len;
	uint64_t stale0;

	client_init(&c, TP_UDP, "198.51.100.7:5000");
	memset(&hook, 0, sizeof(hook));
	/* A configured user never asks the store. */
	CHECK_INT(once(&c, TURN_ALLOCATE, "alice", &alice_md5, false), 0);
	CHECK_INT(hook.lookups, 0);
	release(&c);

	/* Not cached: parked, one lookup; the same bytes run again once the
	 * answer is in succeed. */
	len = build(&c, TURN_ALLOCATE, "rita", &rita_md5, false, UINT32_MAX, txn, buf);
	CHECK_INT(run(&c, buf, len), -2);
	CHECK_INT(hook.lookups, 1);
	CHECK_STR(hook.user, "rita");
	CHECK(turn_table_find(&ctx.table, TP_UDP, c.from.client, c.from.local) == NULL);
	CHECK_INT(auth_kcache_put(kc, "rita", 4, &rita_md5, &rita_sha, ctx.now_ms), 0);
	CHECK_INT(run(&c, buf, len), 0);
	CHECK_INT(hook.lookups, 1);
	/* Cached: SHA-256 too, no more lookups. */
	CHECK_INT(once(&c, TURN_REFRESH, "rita", &rita_sha, true), 0);
	CHECK_INT(once(&c, TURN_REFRESH, "rita", &alice_md5, false), 401); /* wrong key */
	CHECK_INT(hook.lookups, 1);
	release(&c);

	/* No such user, and a failed lookup. */
	auth_kcache_put(kc, "nobody", 6, NULL, NULL, ctx.now_ms);
	CHECK_INT(once(&c, TURN_ALLOCATE, "nobody", &rita_md5, false), 401);
	auth_kcache_put_failed(kc, "flaky", 5, ctx.now_ms);
	CHECK_INT(once(&c, TURN_ALLOCATE, "flaky", &rita_md5, false), 500);
	CHECK_INT(hook.lookups, 1);

	/* The store away: users not known from before get 500 (try again)
	 * at once, not parked, and not 401 (a wrong password to the client). */
	hook.lookup_rc = TP_ECLOSED;
	CHECK_INT(once(&c, TURN_ALLOCATE, "ursula", &rita_md5, false), 500);
	CHECK_INT(hook.lookups, 2);
	/* ... and keys past their time are used while it is away. */
	stale0 = stats.userdb_stale;
	ctx.now_ms += AUTH_KCACHE_POS_MS + 1;
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), 0);
	CHECK_INT(hook.lookups, 3);
	CHECK_INT(stats.userdb_stale, stale0 + 1);
	/* A request on the allocation uses the allocation's key when the
	 * cache lost the user. */
	auth_kcache_remove(kc, "rita", 4);
	CHECK_INT(once(&c, TURN_REFRESH, "rita", &rita_md5, false), 0);
	CHECK_INT(stats.userdb_stale, stale0 + 2);
	release(&c);
	/* Stale keys with the store up: asked again, parked. */
	hook.lookup_rc = 0;
	auth_kcache_put(kc, "rita", 4, &rita_md5, NULL, ctx.now_ms - AUTH_KCACHE_POS_MS);
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), -2);
	/* No room to park: 508. */
	hook.lookup_rc = TP_EAGAIN;
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), 508);
	/* Not a name to look up: 401. */
	hook.lookup_rc = TP_ENOTFOUND;
	CHECK_INT(once(&c, TURN_ALLOCATE, "bad\x01name", &rita_md5, false), 401);
	hook.lookup_rc = 0;

	/* An MD5-only user asked for SHA-256: cached as such, 401. */
	auth_kcache_put(kc, "md5only", 7, &rita_md5, NULL, ctx.now_ms);
	CHECK_INT(once(&c, TURN_ALLOCATE, "md5only", &rita_sha, true), 401);
	/* REST names covered by the secrets never reach the store. */
	hook.lookups = 0;
	CHECK_INT(once(&c, TURN_ALLOCATE, "1700000000:bob", &rest_md5, false), 401);
	CHECK_INT(hook.lookups, 0);
	/* A configured user asked for SHA-256 it has not either. */
	CHECK_INT(once(&c, TURN_ALLOCATE, "hexy", &rita_sha, true), 401);
	CHECK_INT(hook.lookups, 0);
	/* Binding never parks. */
	{
		uint8_t b[64], out[TURN_MAX_REPLY];
		struct stun_builder sb;
		size_t n = 0;
		stun_build_init(&sb, b, sizeof(b), STUN_BINDING, STUN_REQUEST, txn);
		stun_build_finish(&sb, &n);
		CHECK(turn_server_handle(&ctx, &c.from, b, n, out) > 0 && !ctx.parked);
	}
}

/* The ticket for the last quota_take, with verdict v. */
static void ticket_for(struct turn_ticket *t, const struct client *c, enum turn_fleet v)
{
	memset(t, 0, sizeof(*t));
	t->tr = c->from.tr;
	memcpy(&t->client, &c->addr, sizeof(c->addr));
	memcpy(&t->local, &c->local, sizeof(c->local));
	memcpy(t->txn, hook.txn, sizeof(t->txn));
	memcpy(t->id, hook.id, sizeof(t->id));
	t->verdict = v;
}

static void test_fleet(void)
{
	struct client c, d;
	struct turn_ticket t;
	struct turn_alloc *a;
	uint8_t buf[2048], buf2[2048], txn[16], txn2[16];
	size_t len, len2;
	uint64_t fb0;

	client_init(&c, TP_UDP, "198.51.100.8:5000");
	client_init(&d, TP_UDP, "198.51.100.9:5000");
	memset(&hook, 0, sizeof(hook));
	auth_kcache_put(kc, "rita", 4, &rita_md5, &rita_sha, ctx.now_ms);
	io.quota_take = fake_take;
	io.quota_update = fake_update;

	/* Granted: parked on the decision, then created under the id the
	 * fleet counted. */
	len = build(&c, TURN_ALLOCATE, "rita", &rita_md5, false, 900, txn, buf);
	CHECK_INT(run(&c, buf, len), -2);
	CHECK_INT(hook.takes, 1);
	CHECK_STR(hook.user, "rita");
	CHECK_INT(hook.lifetime, 900);
	CHECK_MEM(hook.txn, txn + 4, 12);
	ticket_for(&t, &c, TURN_FLEET_GRANTED);
	ctx.ticket = &t;
	CHECK_INT(run(&c, buf, len), 0);
	ctx.ticket = NULL;
	CHECK(t.used);
	CHECK_INT(hook.takes, 1);
	a = turn_table_find(&ctx.table, TP_UDP, c.from.client, c.from.local);
	CHECK(a && a->fleet && memcmp(a->id, hook.id, TURN_ALLOC_ID_LEN) == 0);
	/* Refresh moves the member's end; deletion removes it. */
	len2 = build(&c, TURN_REFRESH, "rita", &rita_md5, false, 1200, txn2, buf2);
	CHECK_INT(run(&c, buf2, len2), 0);
	CHECK_INT(hook.updates, 1);
	CHECK_INT(hook.upd_lifetime, 1200);
	CHECK_MEM(hook.upd_id, hook.id, TURN_ALLOC_ID_LEN);
	len2 = build(&c, TURN_REFRESH, "rita", &rita_md5, false, 0, txn2, buf2);
	CHECK_INT(run(&c, buf2, len2), 0);
	CHECK_INT(hook.updates, 2);
	CHECK_INT(hook.upd_lifetime, 0);

	/* Denied: 486. A ticket for another request is not taken. */
	len = build(&c, TURN_ALLOCATE, "rita", &rita_md5, false, UINT32_MAX, txn, buf);
	CHECK_INT(run(&c, buf, len), -2);
	ticket_for(&t, &c, TURN_FLEET_DENIED);
	ctx.ticket = &t;
	len2 = build(&d, TURN_ALLOCATE, "rita", &rita_md5, false, UINT32_MAX, txn2, buf2);
	CHECK_INT(run(&d, buf2, len2), -2); /* another request: asks on its own */
	CHECK(!t.used);
	CHECK_INT(hook.takes, 3);
	ticket_for(&t, &c, TURN_FLEET_DENIED);
	memcpy(t.txn, txn + 4, 12);
	CHECK_INT(run(&c, buf, len), 486);
	ctx.ticket = NULL;
	CHECK(t.used);

	/* Undecided (Redis away meanwhile): the local count decides, no
	 * member to update. */
	fb0 = stats.fleet_fallback;
	len = build(&c, TURN_ALLOCATE, "rita", &rita_md5, false, UINT32_MAX, txn, buf);
	CHECK_INT(run(&c, buf, len), -2);
	ticket_for(&t, &c, TURN_FLEET_LOCAL);
	ctx.ticket = &t;
	CHECK_INT(run(&c, buf, len), 0);
	ctx.ticket = NULL;
	CHECK_INT(stats.fleet_fallback, fb0 + 1);
	a = turn_table_find(&ctx.table, TP_UDP, c.from.client, c.from.local);
	CHECK(a && !a->fleet);
	hook.updates = 0;
	release(&c);
	CHECK_INT(hook.updates, 0);

	/* Redis down at the Allocate: no parking, local count. */
	hook.take_rc = TP_ECLOSED;
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), 0);
	CHECK_INT(stats.fleet_fallback, fb0 + 2);
	release(&c);
	/* No room to park: 508. */
	hook.take_rc = TP_EAGAIN;
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), 508);
	hook.take_rc = 0;

	/* Granted, but the local count refuses (user-quota 2 here, two held
	 * locally): 486 and the member is given back. */
	io.quota_take = NULL;
	CHECK_INT(once(&c, TURN_ALLOCATE, "rita", &rita_md5, false), 0);
	CHECK_INT(once(&d, TURN_ALLOCATE, "rita", &rita_md5, false), 0);
	io.quota_take = fake_take;
	{
		struct client e;
		client_init(&e, TP_UDP, "198.51.100.10:5000");
		len = build(&e, TURN_ALLOCATE, "rita", &rita_md5, false, UINT32_MAX, txn, buf);
		CHECK_INT(run(&e, buf, len), -2);
		ticket_for(&t, &e, TURN_FLEET_GRANTED);
		hook.updates = 0;
		ctx.ticket = &t;
		CHECK_INT(run(&e, buf, len), 486);
		ctx.ticket = NULL;
		CHECK_INT(hook.updates, 1);
		CHECK_INT(hook.upd_lifetime, 0);
		CHECK_MEM(hook.upd_id, hook.id, TURN_ALLOC_ID_LEN);
	}
	release(&c);
	release(&d);
	io.quota_take = NULL;
	io.quota_update = NULL;
}

int main(void)
{
	uint8_t addr_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	char restpass[64];
	size_t plen;

	addr_hash_seed(addr_key);
	store = auth_store_new(REALM);
	CHECK(store != NULL);
	if (!store)
		return check_done("test_turn_userdb");
	CHECK_INT(auth_store_add_user(store, "alice:secret"), 0);
	CHECK_INT(auth_store_add_user(store, "hexy:0x00112233445566778899aabbccddeeff"), 0);
	CHECK_INT(auth_store_add_secret(store, "rest-secret"), 0);
	CHECK_INT(auth_nonce_key_init(&nkey, "nonce secret"), 0);
	auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, strlen(REALM), "secret", 6, &alice_md5);
	auth_key_derive(AUTH_ALG_MD5, "rita", 4, REALM, strlen(REALM), "pw", 2, &rita_md5);
	auth_key_derive(AUTH_ALG_SHA256, "rita", 4, REALM, strlen(REALM), "pw", 2, &rita_sha);
	plen = auth_rest_password((const uint8_t *)"wrong", 5, "1700000000:bob", 14, restpass,
				  sizeof(restpass));
	auth_key_derive(AUTH_ALG_MD5, "1700000000:bob", 14, REALM, strlen(REALM), restpass, plen,
			&rest_md5);
	CHECK_INT(policy_init(&policy, NULL, 0, NULL, 0, false, NULL), 0);
	policy.relay_port_min = 49152;
	policy.relay_port_max = 65535;
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
	io = fake_io;
	io.key_lookup = fake_lookup;
	io_log.next_port = 50000;
	kc = auth_kcache_new(0, 0, 0, 0);
	CHECK(kc && cfg.quota);
	CHECK_INT(turn_ctx_init(&ctx, &cfg, &stats, &io), 0);
	ctx.kcache = kc;
	ctx.now_ms = 5000000123ULL;
	ctx.unix_s = 1690000000ULL; /* the REST name above is still valid */

	test_keys();
	test_fleet();

	turn_ctx_cleanup(&ctx);
	auth_kcache_free(kc);
	turn_quota_free(cfg.quota);
	policy_cleanup(&policy);
	auth_store_free(store);
	return check_done("test_turn_userdb");
}
