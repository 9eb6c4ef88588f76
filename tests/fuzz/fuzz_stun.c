/* fuzz_stun.c - libFuzzer target for the STUN codec: parse, decode every
 * attribute every way, rebuild with the builder and check the round trip,
 * and ChannelData framing. Aborts on any broken invariant. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "turnpike/stun.h"

static const uint8_t key[] = "fuzz key";
#define KEYLEN (sizeof(key) - 1)

/* Anything a decoder hands back must lie inside the message. */
static void decode_all(const struct stun_msg *m, const struct stun_attr *a)
{
	struct sockaddr_storage ss;
	const char *reason;
	uint16_t types[8], chan;
	size_t n;
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	bool r;
	int code;

	ASSERT((size_t)a->off + a->len <= m->len);
	if (stun_attr_get_addr(m, a, &ss) == 0)
		ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	if (stun_attr_get_xor_addr(m, a, &ss) == 0)
		ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	(void)stun_attr_get_u32(m, a, &u32);
	(void)stun_attr_get_u64(m, a, &u64);
	if (stun_attr_get_error(m, a, &code, &reason, &n) == 0) {
		ASSERT(code >= 300 && code <= 699);
		ASSERT(reason == (const char *)stun_attr_value(m, a) + 4);
		ASSERT(n + 4 == a->len);
	}
	if (stun_attr_get_unknown(m, a, types, 8, &n) == 0)
		ASSERT(n <= 8 && n <= a->len / 2u);
	(void)stun_attr_get_channel(m, a, &chan);
	(void)stun_attr_get_transport(m, a, &u8);
	(void)stun_attr_get_family(m, a, &u8);
	(void)stun_attr_get_even_port(m, a, &r);
	ASSERT(stun_attr_name(a->type) != NULL);
}

/*
 * Rebuilds m: every kept attribute copied through stun_build_attr, except
 * the MACs and FINGERPRINT, which the builder computes (with our key).
 */
static size_t rebuild(const struct stun_msg *m, uint8_t *out, size_t cap)
{
	struct stun_builder b;
	unsigned i;
	size_t n;

	stun_build_init(&b, out, cap, m->method, m->cls, m->txn);
	for (i = 0; i < m->nattrs; i++) {
		const struct stun_attr *a = &m->attrs[i];

		switch (a->type) {
		case STUN_ATTR_MESSAGE_INTEGRITY:
			stun_build_integrity(&b, key, KEYLEN);
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			stun_build_integrity_sha256(&b, key, KEYLEN, a->len);
			break;
		case STUN_ATTR_FINGERPRINT:
			stun_build_fingerprint(&b);
			break;
		default:
			stun_build_attr(&b, a->type, stun_attr_value(m, a), a->len);
			break;
		}
	}
	ASSERT(stun_build_finish(&b, &n) == 0);
	return n;
}

static void round_trip(const struct stun_msg *m)
{
	static uint8_t out[STUN_MAX_MSG];
	struct stun_msg r;
	unsigned i;
	size_t n;

	n = rebuild(m, out, sizeof(out));
	ASSERT(n <= m->len);
	ASSERT(stun_msg_parse(&r, out, n) == 0);
	ASSERT(r.type == m->type && r.method == m->method && r.cls == m->cls);
	ASSERT(r.magic == m->magic);
	ASSERT(!memcmp(r.txn, m->txn, sizeof(r.txn)));
	ASSERT(r.nattrs == m->nattrs);
	ASSERT(r.mi == m->mi && r.mi256 == m->mi256 && r.fp == m->fp);
	ASSERT(r.nunknown == m->nunknown);
	ASSERT(!memcmp(r.unknown, m->unknown, m->nunknown * sizeof(m->unknown[0])));
	for (i = 0; i < r.nattrs; i++) {
		const struct stun_attr *x = &m->attrs[i], *y = &r.attrs[i];

		ASSERT(x->type == y->type && x->len == y->len);
		if (x->type == STUN_ATTR_MESSAGE_INTEGRITY ||
		    x->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    x->type == STUN_ATTR_FINGERPRINT)
			continue;
		ASSERT(!memcmp(stun_attr_value(m, x), stun_attr_value(&r, y), x->len));
	}
	if (r.mi >= 0)
		ASSERT(stun_msg_check_integrity(&r, key, KEYLEN) == 0);
	if (r.mi256 >= 0)
		ASSERT(stun_msg_check_integrity_sha256(&r, key, KEYLEN) == 0);
}

static void chandata(const uint8_t *data, size_t size, bool stream)
{
	const uint8_t *p;
	uint16_t chan;
	size_t plen, flen;

	if (turn_chandata_parse(data, size, stream, &chan, &p, &plen, &flen))
		return;
	ASSERT(chan >= TURN_CHANNEL_MIN && chan <= TURN_CHANNEL_MAX);
	ASSERT(flen <= size && p == data + 4 && 4 + plen <= flen);
	ASSERT(stream ? flen % 4 == 0 && flen - (4 + plen) < 4 : flen == 4 + plen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m;
	unsigned i;
	int rc;

	chandata(data, size, false);
	chandata(data, size, true);
	(void)stun_msg_peek_len(data, size);

	rc = stun_msg_parse(&m, data, size);
	if (rc != 0) {
		ASSERT(rc == TP_ENOTSTUN || rc == TP_ETRUNC || rc == TP_EMALFORMED ||
		       rc == TP_ETOOMANY || rc == TP_EFINGERPRINT);
		return 0;
	}
	ASSERT(stun_msg_peek_len(data, size) == size);
	ASSERT(m.len == size && m.nattrs <= STUN_MAX_ATTRS);
	ASSERT(m.nunknown <= STUN_MAX_UNKNOWN);
	for (i = 0; i < m.nattrs; i++)
		decode_all(&m, &m.attrs[i]);
	rc = stun_msg_check_integrity(&m, key, KEYLEN);
	ASSERT(rc == 0 || rc == TP_EINTEGRITY || rc == TP_ENOTFOUND);
	ASSERT((rc == TP_ENOTFOUND) == (m.mi < 0));
	rc = stun_msg_check_integrity_sha256(&m, key, KEYLEN);
	ASSERT(rc == 0 || rc == TP_EINTEGRITY || rc == TP_ENOTFOUND);
	ASSERT((rc == TP_ENOTFOUND) == (m.mi256 < 0));
	(void)stun_method_name(m.method);
	(void)stun_class_name(m.cls);
	round_trip(&m);
	return 0;
}
