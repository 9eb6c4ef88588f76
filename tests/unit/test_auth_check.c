/* test_auth_check.c - unit tests for src/auth/check.c: request checks, challenges, signing. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "check.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"

#define SA(ss) ((const struct sockaddr *)(ss))
#define REALM "example.org"
#define NOW 1700000000u
#define LIFE 600u

static struct auth_store *store;
static struct auth_nonce_key nk;
static struct sockaddr_storage client, other_client;
static struct auth_key alice_md5, alice_sha256;

/* PASSWORD-ALGORITHMS as the server offers it, and variations. */
static const uint8_t algs_ok[8] = {0, 2, 0, 0, 0, 1, 0, 0};
static const uint8_t algs_md5_only[4] = {0, 1, 0, 0};
static const uint8_t algs_reversed[8] = {0, 1, 0, 0, 0, 2, 0, 0};
static const uint8_t alg_md5[4] = {0, 1, 0, 0};
static const uint8_t alg_sha256[4] = {0, 2, 0, 0};
static const uint8_t alg_unknown[4] = {0, 3, 0, 0};
static const uint8_t alg_sha256_params[8] = {0, 2, 0, 4, 1, 2, 3, 4};

/* What a test request carries. NULL / 0 fields are left out. */
struct req {
	uint16_t method;
	const char *username;
	const uint8_t *userhash;
	const char *realm;
	const char *nonce;
	const uint8_t *algs;
	size_t algs_len;
	const uint8_t *alg;
	size_t alg_len;
	const struct auth_key *key; /* NULL: no integrity */
	bool mi;                    /* MESSAGE-INTEGRITY */
	bool mi256;                 /* MESSAGE-INTEGRITY-SHA256 (after MI if both) */
};

static uint8_t buf[1024];
static struct stun_msg msg;

/* Builds r into buf and parses it into msg. */
static void build(const struct req *r)
{
	struct stun_builder b;
	uint8_t txn[16];
	size_t len = 0;

	CHECK_INT(stun_txn_new(txn), 0);
	stun_build_init(&b, buf, sizeof(buf), r->method ? r->method : TURN_ALLOCATE, STUN_REQUEST,
			txn);
	if (!r->method || r->method == TURN_ALLOCATE)
		stun_build_transport(&b, 17);
	if (r->username)
		stun_build_string(&b, STUN_ATTR_USERNAME, r->username);
	if (r->userhash)
		stun_build_attr(&b, STUN_ATTR_USERHASH, r->userhash, 32);
	if (r->realm)
		stun_build_string(&b, STUN_ATTR_REALM, r->realm);
	if (r->nonce)
		stun_build_string(&b, STUN_ATTR_NONCE, r->nonce);
	if (r->algs)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, r->algs, r->algs_len);
	if (r->alg)
		stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, r->alg, r->alg_len);
	if (r->key && r->mi)
		stun_build_integrity(&b, r->key->k, r->key->len);
	if (r->key && r->mi256)
		stun_build_integrity_sha256(&b, r->key->k, r->key->len, 32);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	CHECK_INT(stun_msg_parse(&msg, buf, len), 0);
}

static int check_req(const struct req *r, struct auth_request *ar)
{
	build(r);
	return auth_request_check(&msg, &nk, store, SA(&client), NOW, ar);
}

/* An RFC 5389 client's request: USERNAME, REALM, NONCE, MESSAGE-INTEGRITY. */
static struct req old_client(const char *nonce, const struct auth_key *key)
{
	struct req r = {0};

	r.username = "alice";
	r.realm = REALM;
	r.nonce = nonce;
	r.key = key;
	r.mi = true;
	return r;
}

/* An RFC 8489 client's (§9.2.5): the offered list echoed, SHA-256 chosen,
 * MESSAGE-INTEGRITY-SHA256. */
static struct req new_client(const char *nonce, const struct auth_key *key)
{
	struct req r = old_client(nonce, key);

	r.mi = false;
	r.mi256 = true;
	r.algs = algs_ok;
	r.algs_len = 8;
	r.alg = alg_sha256;
	r.alg_len = 4;
	return r;
}

/* The whole server side: check, key lookup, verify. Returns the STUN
 * error a server would answer, 0 for success. */
static int serve(const struct req *r, struct auth_request *ar, int *idx)
{
	struct auth_key keys[AUTH_MAX_KEYS];
	const char *qu;
	size_t n, ql;
	enum auth_lookup lk;
	int rc = check_req(r, ar);

	*idx = -2;
	if (rc)
		return rc;
	lk = auth_store_keys(store, ar->username, ar->ulen, ar->alg, NOW, keys, AUTH_MAX_KEYS, &n,
			     &qu, &ql);
	if (lk != AUTH_LOOKUP_FOUND)
		return STUN_ERR_UNAUTHORIZED;
	*idx = auth_request_verify(&msg, ar, keys, n);
	return *idx < 0 ? STUN_ERR_UNAUTHORIZED : 0;
}

static void setup(void)
{
	CHECK_INT(addr_parse("192.0.2.10:40000", 0, &client), 0);
	CHECK_INT(addr_parse("192.0.2.10:40001", 0, &other_client), 0);
	CHECK_INT(auth_nonce_key_init(&nk, "nonce secret"), 0);
	store = auth_store_new(REALM);
	CHECK(store != NULL);
	if (!store)
		exit(1);
	CHECK_INT(auth_store_add_user(store, "alice:s3cret"), 0);
	CHECK_INT(auth_store_add_secret(store, "rest-old"), 0);
	CHECK_INT(auth_store_add_secret(store, "rest-new"), 0);
	CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, 11, "s3cret", 6, &alice_md5), 0);
	CHECK_INT(
		auth_key_derive(AUTH_ALG_SHA256, "alice", 5, REALM, 11, "s3cret", 6, &alice_sha256),
		0);
}

static void fresh_nonce(char *n, const struct sockaddr *cl, uint64_t now)
{
	CHECK_INT(auth_nonce_make(&nk, cl, now, LIFE, n, AUTH_NONCE_MAX), 29);
}

/* RFC 5389 style: USERNAME, REALM, NONCE, MESSAGE-INTEGRITY with MD5. */
static void test_md5_flow(void)
{
	char nonce[AUTH_NONCE_MAX];
	struct auth_request ar;
	struct req r;
	int idx;

	fresh_nonce(nonce, SA(&client), NOW);
	r = old_client(nonce, &alice_md5);
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(idx, 0);
	CHECK_INT(ar.ulen, 5);
	CHECK(ar.username && memcmp(ar.username, "alice", 5) == 0);
	CHECK(!ar.used_userhash);
	CHECK_INT(ar.alg, AUTH_ALG_MD5);
	CHECK(!ar.sha256_integrity);
	CHECK_INT(ar.nlen, 29);
	CHECK(ar.nonce && memcmp(ar.nonce, nonce, 29) == 0);

	/* Another method, same rules. */
	r.method = TURN_REFRESH;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	r.method = 0;

	/* A nonce made a while ago, still within its lifetime. */
	fresh_nonce(nonce, SA(&client), NOW - LIFE);
	CHECK_INT(serve(&r, &ar, &idx), 0);

	/* Wrong password: the check passes, the verify does not. */
	{
		struct auth_key wrong;

		CHECK_INT(auth_key_derive(AUTH_ALG_MD5, "alice", 5, REALM, 11, "guess", 5, &wrong),
			  0);
		r.key = &wrong;
		CHECK_INT(check_req(&r, &ar), 0);
		CHECK_INT(auth_request_verify(&msg, &ar, &alice_md5, 1), -1);
		CHECK_INT(serve(&r, &ar, &idx), STUN_ERR_UNAUTHORIZED);
		CHECK_INT(idx, -1);
		r.key = &alice_md5;
	}

	/* Unknown user: 401 after the lookup. */
	r.username = "mallory";
	CHECK_INT(check_req(&r, &ar), 0);
	CHECK_INT(serve(&r, &ar, &idx), STUN_ERR_UNAUTHORIZED);
}

/* RFC 8489 §9.2.4, check by check. */
static void test_failures(void)
{
	char nonce[AUTH_NONCE_MAX], stale[AUTH_NONCE_MAX], other[AUTH_NONCE_MAX];
	char foreign[AUTH_NONCE_MAX];
	struct auth_nonce_key nk2;
	struct auth_request ar;
	struct req r;

	fresh_nonce(nonce, SA(&client), NOW);
	fresh_nonce(stale, SA(&client), NOW - LIFE - 1);
	fresh_nonce(other, SA(&other_client), NOW);
	CHECK_INT(auth_nonce_key_init(&nk2, "someone else"), 0);
	CHECK_INT(auth_nonce_make(&nk2, SA(&client), NOW, LIFE, foreign, sizeof(foreign)), 29);

	/* No integrity at all: 401 (the challenge), whatever else is there. */
	r = (struct req){0};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r = (struct req){.username = "alice", .realm = REALM, .nonce = nonce};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r.nonce = "garbage";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);

	/* Integrity without USERNAME/USERHASH, REALM or NONCE: 400. */
	r = (struct req){.realm = REALM, .nonce = nonce, .key = &alice_md5, .mi = true};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r = (struct req){.username = "alice", .nonce = nonce, .key = &alice_md5, .mi = true};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r = (struct req){.username = "alice", .realm = REALM, .key = &alice_md5, .mi = true};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r = (struct req){.username = "alice", .realm = REALM, .key = &alice_sha256, .mi256 = true};
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);

	/* Stale, forged, another client's, another server's nonce: 438. */
	r = (struct req){.username = "alice", .realm = REALM, .key = &alice_md5, .mi = true};
	r.nonce = stale;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	r.nonce = "obMatJos2AAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	r.nonce = other;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	r.nonce = foreign;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	r.nonce = "f//499k954d6OL34oL9FSTvy64sA"; /* RFC 5769 §2.4's */
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	r.nonce = "";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	{
		char flipped[AUTH_NONCE_MAX];

		memcpy(flipped, nonce, sizeof(flipped));
		flipped[24] = flipped[24] == 'A' ? 'B' : 'A';
		r.nonce = flipped;
		CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	}

	/* Another realm: 401 (a challenge with ours). */
	r.nonce = nonce;
	r.realm = "example.com";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r.realm = "example.org.";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r.realm = "";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r.realm = REALM;
	CHECK_INT(check_req(&r, &ar), 0);

	/* An empty USERNAME names nobody: 401 before any key lookup (found
	 * by tests/fuzz/fuzz_server.c: it went to Redis). */
	r.username = "";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
}

/* §9.2.4's PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM rules. */
static void test_algorithms(void)
{
	char nonce[AUTH_NONCE_MAX], stale[AUTH_NONCE_MAX];
	struct auth_request ar;
	struct req r;
	int idx;

	fresh_nonce(nonce, SA(&client), NOW);
	fresh_nonce(stale, SA(&client), NOW - LIFE - 1);

	/* The RFC 8489 client: echoes the list, picks SHA-256, signs with
	 * MESSAGE-INTEGRITY-SHA256. */
	r = new_client(nonce, &alice_sha256);
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(idx, 0);
	CHECK_INT(ar.alg, AUTH_ALG_SHA256);
	CHECK(ar.sha256_integrity);

	/* Both integrity attributes: the SHA-256 one is what counts. */
	r.mi = true;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK(ar.sha256_integrity);
	r.mi = false;

	/* MD5 chosen from the list, still MESSAGE-INTEGRITY-SHA256. */
	r.alg = alg_md5;
	r.key = &alice_md5;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(ar.alg, AUTH_ALG_MD5);
	CHECK(ar.sha256_integrity);
	/* The SHA-256 key for an MD5 choice does not verify. */
	r.key = &alice_sha256;
	CHECK_INT(serve(&r, &ar, &idx), STUN_ERR_UNAUTHORIZED);

	/* Neither attribute: MD5 (an RFC 5389 client), with either MAC. */
	r = old_client(nonce, &alice_md5);
	r.mi = false;
	r.mi256 = true;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(ar.alg, AUTH_ALG_MD5);

	/* Only one of the two: 400. */
	r = new_client(nonce, &alice_sha256);
	r.algs = NULL;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r = new_client(nonce, &alice_sha256);
	r.alg = NULL;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);

	/* A list other than ours (a bid-down that stripped SHA-256, or a
	 * reordering): 400. */
	r = new_client(nonce, &alice_md5);
	r.algs = algs_md5_only;
	r.algs_len = 4;
	r.alg = alg_md5;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r.algs = algs_reversed;
	r.algs_len = 8;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r.algs = alg_sha256_params; /* right length, wrong content */
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r.algs_len = 0;
	r.algs = algs_ok; /* empty list */
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);

	/* A PASSWORD-ALGORITHM not in the list: 400. */
	r = new_client(nonce, &alice_sha256);
	r.alg = alg_unknown;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r.alg = alg_sha256_params;
	r.alg_len = 8;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);

	/* §9.2.4's order: the algorithm checks come before the nonce's. */
	r.nonce = stale;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_BAD_REQUEST);
	r.alg = alg_sha256;
	r.alg_len = 4;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
	/* A nonce without the "Password algorithms" bit skips them (and
	 * cannot be ours). */
	r.alg = alg_unknown;
	r.nonce = "obMatJos2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_STALE_NONCE);
}

static void test_userhash(void)
{
	char nonce[AUTH_NONCE_MAX];
	struct auth_request ar;
	uint8_t h[32];
	struct req r;
	int idx;

	fresh_nonce(nonce, SA(&client), NOW);
	CHECK_INT(auth_userhash("alice", 5, REALM, 11, h), 0);
	r = new_client(nonce, &alice_sha256);
	r.username = NULL;
	r.userhash = h;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(idx, 0);
	CHECK(ar.used_userhash);
	CHECK_INT(ar.ulen, 5);
	CHECK(ar.username && memcmp(ar.username, "alice", 5) == 0);

	/* USERHASH and an MD5 RFC 5389-style request. */
	r = old_client(nonce, &alice_md5);
	r.username = NULL;
	r.userhash = h;
	CHECK_INT(serve(&r, &ar, &idx), 0);

	/* USERHASH of nobody: 401, before the nonce is looked at. */
	h[0] ^= 0xff;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	r.nonce = "stale or not, it does not matter";
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);
	/* REST names have no USERHASH. */
	CHECK_INT(auth_userhash("1800000000:carol", 16, REALM, 11, h), 0);
	r.nonce = nonce;
	CHECK_INT(check_req(&r, &ar), STUN_ERR_UNAUTHORIZED);

	/* Both USERNAME and USERHASH: USERNAME is used. */
	CHECK_INT(auth_userhash("alice", 5, REALM, 11, h), 0);
	r.username = "alice";
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK(!ar.used_userhash);
}

static void test_rest(void)
{
	const char *name = "1700000600:carol";
	char nonce[AUTH_NONCE_MAX], pass[64];
	struct auth_key key;
	struct auth_request ar;
	struct req r;
	size_t plen;
	int idx;

	fresh_nonce(nonce, SA(&client), NOW);
	/* A credential handed out under the older secret. */
	plen = auth_rest_password((const uint8_t *)"rest-old", 8, name, strlen(name), pass,
				  sizeof(pass));
	CHECK_INT(plen, 28);
	CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, name, strlen(name), REALM, 11, pass, plen, &key),
		  0);
	r = new_client(nonce, &key);
	r.username = name;
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(idx, 1); /* newest secret first */

	/* Under the newer one. */
	plen = auth_rest_password((const uint8_t *)"rest-new", 8, name, strlen(name), pass,
				  sizeof(pass));
	CHECK_INT(auth_key_derive(AUTH_ALG_SHA256, name, strlen(name), REALM, 11, pass, plen, &key),
		  0);
	CHECK_INT(serve(&r, &ar, &idx), 0);
	CHECK_INT(idx, 0);
	/* No keys: nothing verifies. */
	CHECK_INT(auth_request_verify(&msg, &ar, &key, 0), -1);
}

/* The answers: the challenge and the signature. */
static void test_responses(void)
{
	uint8_t out[512], txn[16];
	struct stun_builder b;
	struct stun_msg resp;
	const struct stun_attr *a;
	struct auth_request ar;
	char nonce[AUTH_NONCE_MAX];
	const char *reason;
	size_t len, rlen;
	struct req r;
	int idx, code = 0;

	/* A 401 with REALM, NONCE and PASSWORD-ALGORITHMS. */
	CHECK_INT(stun_txn_new(txn), 0);
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_ERROR, txn);
	stun_build_error(&b, STUN_ERR_UNAUTHORIZED, NULL);
	auth_build_challenge(&b, &nk, auth_store_realm(store), SA(&client), NOW, LIFE);
	stun_build_fingerprint(&b);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	CHECK_INT(stun_msg_parse(&resp, out, len), 0);
	CHECK_INT(resp.cls, STUN_ERROR);
	a = stun_msg_find(&resp, STUN_ATTR_ERROR_CODE);
	CHECK(a && stun_attr_get_error(&resp, a, &code, &reason, &rlen) == 0);
	CHECK_INT(code, 401);
	a = stun_msg_find(&resp, STUN_ATTR_REALM);
	CHECK(a && a->len == 11 && memcmp(stun_attr_value(&resp, a), REALM, 11) == 0);
	a = stun_msg_find(&resp, STUN_ATTR_PASSWORD_ALGORITHMS);
	CHECK(a && a->len == 8 && memcmp(stun_attr_value(&resp, a), algs_ok, 8) == 0);
	a = stun_msg_find(&resp, STUN_ATTR_NONCE);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_INT(a->len, 29);
	CHECK(auth_nonce_has_alg_feature(stun_attr_value(&resp, a), a->len));
	CHECK_INT(auth_nonce_check(&nk, SA(&client), NOW, stun_attr_value(&resp, a), a->len), 0);
	CHECK(stun_msg_find(&resp, STUN_ATTR_MESSAGE_INTEGRITY) == NULL);
	CHECK(stun_msg_find(&resp, STUN_ATTR_USERNAME) == NULL);

	/* A client answering that challenge as §9.2.5 says gets in. */
	memcpy(nonce, stun_attr_value(&resp, a), a->len);
	nonce[a->len] = '\0';
	r = new_client(nonce, &alice_sha256);
	a = stun_msg_find(&resp, STUN_ATTR_PASSWORD_ALGORITHMS);
	if (!a)
		return;
	r.algs = stun_attr_value(&resp, a);
	r.algs_len = a->len;
	CHECK_INT(serve(&r, &ar, &idx), 0);

	/* The success response is signed with MESSAGE-INTEGRITY-SHA256. */
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_SUCCESS, msg.txn);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	auth_build_integrity(&b, &ar, &alice_sha256);
	stun_build_fingerprint(&b);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	CHECK_INT(stun_msg_parse(&resp, out, len), 0);
	CHECK(resp.mi < 0);
	CHECK(resp.mi256 >= 0);
	if (resp.mi256 >= 0)
		CHECK_INT(resp.attrs[resp.mi256].len, 32);
	CHECK_INT(stun_msg_check_integrity_sha256(&resp, alice_sha256.k, alice_sha256.len), 0);
	CHECK_INT(stun_msg_check_integrity_sha256(&resp, alice_md5.k, alice_md5.len),
		  TP_EINTEGRITY);

	/* An RFC 5389 client's is signed with MESSAGE-INTEGRITY. */
	r = old_client(nonce, &alice_md5);
	CHECK_INT(serve(&r, &ar, &idx), 0);
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_SUCCESS, msg.txn);
	auth_build_integrity(&b, &ar, &alice_md5);
	CHECK_INT(stun_build_finish(&b, &len), 0);
	CHECK_INT(stun_msg_parse(&resp, out, len), 0);
	CHECK(resp.mi >= 0);
	CHECK(resp.mi256 < 0);
	CHECK_INT(stun_msg_check_integrity(&resp, alice_md5.k, alice_md5.len), 0);

	/* Bad arguments fail the build instead of writing nonsense. */
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_ERROR, txn);
	{
		struct sockaddr_storage none;

		memset(&none, 0, sizeof(none));
		none.ss_family = AF_UNIX;
		auth_build_challenge(&b, &nk, REALM, SA(&none), NOW, LIFE);
	}
	CHECK_INT(stun_build_finish(&b, &len), TP_EINVAL);
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_ERROR, txn);
	auth_build_challenge(&b, &nk, NULL, SA(&client), NOW, LIFE);
	CHECK_INT(stun_build_finish(&b, &len), TP_EINVAL);
	stun_build_init(&b, out, sizeof(out), TURN_ALLOCATE, STUN_SUCCESS, txn);
	auth_build_integrity(&b, &ar, NULL);
	CHECK_INT(stun_build_finish(&b, &len), TP_EINVAL);
	/* Too small a buffer: the builder's usual TP_ENOSPC. */
	stun_build_init(&b, out, 40, TURN_ALLOCATE, STUN_ERROR, txn);
	auth_build_challenge(&b, &nk, REALM, SA(&client), NOW, LIFE);
	CHECK_INT(stun_build_finish(&b, &len), TP_ENOSPC);
}

/*
 * RFC 8489 B.1 (erratum 6268): a USERHASH + SHA-256 request from elsewhere.
 * Its nonce is not ours (438), but the store maps its USERHASH to the user
 * and that user's SHA-256 key verifies it.
 */
static void test_vector_b1(void)
{
	static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
				   "\xe3\x82\xb9";
	struct auth_store *s = auth_store_new(REALM);
	struct auth_key keys[AUTH_MAX_KEYS];
	struct auth_request ar;
	const struct stun_attr *a;
	uint8_t v[512];
	char spec[64];
	const char *qu;
	size_t len, n, ql;

	len = check_load_vector("rfc8489-b1-request-sha256.txt", v, sizeof(v));
	if (!len || !s) {
		fprintf(stderr, "note: RFC 8489 B.1 vector absent, skipped\n");
		auth_store_free(s);
		return;
	}
	snprintf(spec, sizeof(spec), "%s:TheMatrIX", user);
	CHECK_INT(auth_store_add_user(s, spec), 0);
	CHECK_INT(stun_msg_parse(&msg, v, len), 0);
	CHECK_INT(auth_request_check(&msg, &nk, s, SA(&client), NOW, &ar), STUN_ERR_STALE_NONCE);

	a = stun_msg_find(&msg, STUN_ATTR_USERHASH);
	CHECK(a != NULL);
	if (!a)
		goto out;
	memset(&ar, 0, sizeof(ar));
	CHECK_INT(auth_store_userhash(s, stun_attr_value(&msg, a), &ar.username, &ar.ulen), 0);
	CHECK_INT(ar.ulen, strlen(user));
	ar.alg = AUTH_ALG_SHA256;
	ar.sha256_integrity = true;
	CHECK_INT(auth_store_keys(s, ar.username, ar.ulen, ar.alg, NOW, keys, AUTH_MAX_KEYS, &n,
				  &qu, &ql),
		  AUTH_LOOKUP_FOUND);
	CHECK_INT(auth_request_verify(&msg, &ar, keys, n), 0);
	/* Checked as MESSAGE-INTEGRITY instead, it is absent: no match. */
	ar.sha256_integrity = false;
	CHECK_INT(auth_request_verify(&msg, &ar, keys, n), -1);
out:
	auth_store_free(s);
}

int main(void)
{
	setup();
	test_md5_flow();
	test_failures();
	test_algorithms();
	test_userhash();
	test_rest();
	test_responses();
	test_vector_b1();
	auth_store_free(store);
	return check_done("test_auth_check");
}
