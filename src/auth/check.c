/* check.c - long-term credential checks of requests (RFC 8489 §9.2.4) and signing of answers. */
#include <limits.h>
#include <string.h>

#include "auth/auth_int.h"
#include "turnpike/err.h"
#include "turnpike/wire.h"

/*
 * PASSWORD-ALGORITHMS as we offer it (RFC 8489 §14.11): SHA-256, then MD5,
 * each a 2-byte algorithm and a 2-byte parameters length of 0 (§18.5.1:
 * both have empty parameters). §9.2.4 wants the client's copy to match it.
 */
static const uint8_t offered_algs[8] = {
	0x00, STUN_PWALG_SHA256, 0x00, 0x00, 0x00, STUN_PWALG_MD5, 0x00, 0x00,
};

/*
 * RFC 8489 §9.2.4, third check (the nonce announced "Password algorithms"):
 * neither PASSWORD-ALGORITHMS nor PASSWORD-ALGORITHM means MD5; otherwise
 * both must be present, PASSWORD-ALGORITHMS must be what we sent, and
 * PASSWORD-ALGORITHM one of its entries. Returns 0 with *alg, or 400.
 */
static int check_algs(const struct stun_msg *msg, uint8_t *alg)
{
	const struct stun_attr *list = stun_msg_find(msg, STUN_ATTR_PASSWORD_ALGORITHMS);
	const struct stun_attr *one = stun_msg_find(msg, STUN_ATTR_PASSWORD_ALGORITHM);
	const uint8_t *lv, *ov;
	struct wire_rd r;
	uint16_t want, want_plen;

	*alg = AUTH_ALG_MD5;
	if (!list && !one)
		return 0;
	if (!list || !one)
		return STUN_ERR_BAD_REQUEST;
	lv = stun_attr_bytes(msg, list);
	ov = stun_attr_bytes(msg, one);
	if (!lv || !ov || list->len != sizeof(offered_algs) ||
	    memcmp(lv, offered_algs, sizeof(offered_algs)) != 0)
		return STUN_ERR_BAD_REQUEST;
	/* §14.12: algorithm, parameters length, parameters (padded). */
	wire_rd_init(&r, ov, one->len);
	want = wire_rd_u16(&r);
	want_plen = wire_rd_u16(&r);
	if (r.err || want_plen != 0 || wire_rd_left(&r) != 0)
		return STUN_ERR_BAD_REQUEST;
	/* The list is ours byte for byte, so the choice must be one of its
	 * two entries (neither takes parameters). */
	if (want != STUN_PWALG_SHA256 && want != STUN_PWALG_MD5)
		return STUN_ERR_BAD_REQUEST;
	*alg = (uint8_t)want;
	return 0;
}

/*
 * The checks of RFC 8489 §9.2.4 in its order, except that the nonce is
 * checked here, before the MESSAGE-INTEGRITY check rather than after it:
 * a forged or stale nonce costs no key lookup (a REST name costs an HMAC
 * and a digest per secret) and no HMAC over the message.
 */
int auth_request_check(const struct stun_msg *msg, const struct auth_nonce_key *nk,
		       const struct auth_store *s, const struct sockaddr *client, uint64_t now,
		       struct auth_request *req)
{
	const struct stun_attr *user, *uhash, *realm, *nonce;
	const char *our_realm = auth_store_realm(s);
	const uint8_t *v;
	int rc;

	memset(req, 0, sizeof(*req));
	req->alg = AUTH_ALG_MD5;

	/* §9.2.4: no MESSAGE-INTEGRITY(-SHA256) at all: 401 with a challenge. */
	if (msg->mi < 0 && msg->mi256 < 0)
		return STUN_ERR_UNAUTHORIZED;

	/* §9.2.4: integrity without USERNAME or USERHASH, REALM, NONCE: 400. */
	user = stun_msg_find(msg, STUN_ATTR_USERNAME);
	uhash = stun_msg_find(msg, STUN_ATTR_USERHASH);
	realm = stun_msg_find(msg, STUN_ATTR_REALM);
	nonce = stun_msg_find(msg, STUN_ATTR_NONCE);
	if ((!user && !uhash) || !realm || !nonce)
		return STUN_ERR_BAD_REQUEST;
	req->nonce = stun_attr_bytes(msg, nonce);
	req->nlen = nonce->len;
	if (!req->nonce)
		return STUN_ERR_BAD_REQUEST;

	/* §9.2.4: PASSWORD-ALGORITHM(S), when the nonce cookie announced them
	 * (ours always do; any other nonce fails the nonce check below). */
	if (auth_nonce_has_alg_feature(req->nonce, req->nlen)) {
		rc = check_algs(msg, &req->alg);
		if (rc)
			return rc;
	}

	/* §9.2.4: USERNAME or USERHASH not valid: 401. A USERNAME's validity
	 * is the key lookup's business; a USERHASH must name a known user
	 * (§14.4). With both present, USERNAME is used. */
	if (user) {
		req->username = (const char *)stun_attr_bytes(msg, user);
		req->ulen = user->len;
		if (!req->username)
			return STUN_ERR_BAD_REQUEST;
		/* An empty USERNAME names nobody: 401 here, never a lookup
		 * in the user store (found by tests/fuzz/fuzz_server.c). */
		if (req->ulen == 0)
			return STUN_ERR_UNAUTHORIZED;
	} else {
		v = stun_attr_bytes(msg, uhash);
		if (!v || uhash->len != 32 ||
		    auth_store_userhash(s, v, &req->username, &req->ulen) != 0)
			return STUN_ERR_UNAUTHORIZED;
		req->used_userhash = true;
	}

	/* Another realm's credentials cannot verify here: 401 with ours. */
	v = stun_attr_bytes(msg, realm);
	if (!v || realm->len != strlen(our_realm) || memcmp(v, our_realm, realm->len) != 0)
		return STUN_ERR_UNAUTHORIZED;

	/* §9.2.4: a NONCE no longer valid (or never ours): 438. */
	rc = auth_nonce_check(nk, client, now, req->nonce, req->nlen);
	if (rc != 0)
		return STUN_ERR_STALE_NONCE;

	/* §9.2.4: MESSAGE-INTEGRITY-SHA256 is checked when present. */
	req->sha256_integrity = msg->mi256 >= 0;
	return 0;
}

int auth_request_verify(const struct stun_msg *msg, const struct auth_request *req,
			const struct auth_key *keys, size_t n)
{
	size_t i;
	int rc;

	if (n > INT_MAX)
		n = INT_MAX;
	for (i = 0; i < n; i++) {
		if (keys[i].len == 0 || keys[i].len > sizeof(keys[i].k))
			continue;
		/* §14.5, §14.6: constant-time compares inside. */
		if (req->sha256_integrity)
			rc = stun_msg_check_integrity_sha256(msg, keys[i].k, keys[i].len);
		else
			rc = stun_msg_check_integrity(msg, keys[i].k, keys[i].len);
		if (rc == 0)
			return (int)i;
	}
	return -1;
}

void auth_build_challenge(struct stun_builder *b, const struct auth_nonce_key *nk,
			  const char *realm, const struct sockaddr *client, uint64_t now,
			  unsigned nonce_lifetime)
{
	char nonce[AUTH_NONCE_MAX];
	size_t n;

	if (!realm || !client) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	n = auth_nonce_make(nk, client, now, nonce_lifetime, nonce, sizeof(nonce));
	if (n == 0) {
		stun_build_fail(b, client->sa_family == AF_INET || client->sa_family == AF_INET6
					   ? TP_ECRYPTO
					   : TP_EINVAL);
		return;
	}
	/* §9.2.4: REALM, a NONCE for this client, PASSWORD-ALGORITHMS (the
	 * nonce announces it: §9.2.1). */
	stun_build_string(b, STUN_ATTR_REALM, realm);
	stun_build_attr(b, STUN_ATTR_NONCE, nonce, n);
	stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, offered_algs, sizeof(offered_algs));
}

void auth_build_integrity(struct stun_builder *b, const struct auth_request *req,
			  const struct auth_key *key)
{
	if (!req || !key || key->len == 0 || key->len > sizeof(key->k)) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	/* §9.1.3, §9.2.4: answer with the integrity attribute the request
	 * was checked with; MESSAGE-INTEGRITY-SHA256 at its full 32 bytes. */
	if (req->sha256_integrity)
		stun_build_integrity_sha256(b, key->k, key->len, STUN_HMAC_SHA256_LEN);
	else
		stun_build_integrity(b, key->k, key->len);
}
