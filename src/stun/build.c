/* build.c - the STUN message builder (RFC 8489 §5, §14) and transaction ids. */
#include <netinet/in.h>
#include <string.h>

#include "stun/stun_int.h"
#include "util/rand.h"

/* Largest header length field: 16 bits and a multiple of 4 (RFC 8489 §5). */
#define MAX_BODY 0xfffcu

/* RFC 8489 §14.8: a reason phrase has fewer than 128 characters, at most
 * 509 bytes when encoded. */
#define REASON_MAX_CHARS 127
#define REASON_MAX_BYTES 509

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

void stun_build_fail(struct stun_builder *b, int err)
{
	if (!b->err)
		b->err = err;
}

/*
 * RFC 8489 §14.5-§14.7: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may
 * follow MESSAGE-INTEGRITY, only FINGERPRINT may follow
 * MESSAGE-INTEGRITY-SHA256, and nothing follows FINGERPRINT. Anything else
 * would be ignored by the receiver, so writing it is a bug.
 */
static bool may_follow(uint16_t last, uint16_t type)
{
	switch (last) {
	case STUN_ATTR_MESSAGE_INTEGRITY:
		return type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 || type == STUN_ATTR_FINGERPRINT;
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		return type == STUN_ATTR_FINGERPRINT;
	case STUN_ATTR_FINGERPRINT:
		return false;
	default:
		return true;
	}
}

/*
 * Opens an attribute with a value of len bytes: checks order and room for
 * the whole padded attribute, then writes type and length. Returns false,
 * having recorded why, when nothing may be written; a full attribute is
 * then never started, so the writes that follow a true return cannot fail.
 */
static bool attr_begin(struct stun_builder *b, uint16_t type, size_t len)
{
	if (b->err || b->w.err)
		return false;
	if (b->sealed || !may_follow(b->last, type) || len > 0xffff) {
		stun_build_fail(b, TP_EINVAL);
		return false;
	}
	if (b->w.pos - STUN_HEADER_LEN + 4 + pad4(len) > MAX_BODY ||
	    !wire_wr_need(&b->w, 4 + pad4(len))) {
		b->w.err = true;
		return false;
	}
	wire_wr_u16(&b->w, type);
	wire_wr_u16(&b->w, (uint16_t)len);
	b->last = type;
	return true;
}

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
		     const uint8_t txn[16])
{
	wire_wr_init(&b->w, buf, cap);
	b->sealed = false;
	b->last = 0;
	b->err = 0;
	memcpy(b->txn, txn, sizeof(b->txn));
	if (method > 0xfff || cls > STUN_ERROR)
		stun_build_fail(b, TP_EINVAL);
	wire_wr_u16(&b->w, stun_type_make(method, cls));
	wire_wr_u16(&b->w, 0); /* set by stun_build_finish */
	wire_wr_bytes(&b->w, txn, 16);
}

int stun_txn_new(uint8_t txn[16])
{
	struct wire_wr w;

	wire_wr_init(&w, txn, 4);
	wire_wr_u32(&w, STUN_MAGIC_COOKIE);
	return rand_bytes(&txn[4], STUN_TID_LEN);
}

void stun_build_attr(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	if (!attr_begin(b, type, len))
		return;
	wire_wr_bytes(&b->w, val, len);
	wire_wr_pad4(&b->w, len);
}

void stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	if (attr_begin(b, type, 4))
		wire_wr_u32(&b->w, v);
}

void stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	if (!attr_begin(b, type, 8))
		return;
	wire_wr_u32(&b->w, (uint32_t)(v >> 32));
	wire_wr_u32(&b->w, (uint32_t)v);
}

void stun_build_string(struct stun_builder *b, uint16_t type, const char *s)
{
	if (!s) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	stun_build_attr(b, type, s, strlen(s));
}

/*
 * RFC 8489 §14.1, §14.2: reserved byte, family, port, address. The XOR
 * form XORs the port with the cookie's top half, IPv4 with the cookie and
 * IPv6 with cookie || transaction id (the builder's 16 header bytes).
 */
static void put_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa, bool xor)
{
	uint8_t ip[16], family;
	uint16_t port;
	size_t iplen, i;

	if (!sa) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		family = 0x01;
		iplen = 4;
		port = ntohs(sin->sin_port);
		memcpy(ip, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		family = 0x02;
		iplen = 16;
		port = ntohs(sin6->sin6_port);
		memcpy(ip, &sin6->sin6_addr, 16);
	} else {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	if (xor) {
		port ^= (uint16_t)((b->txn[0] << 8) | b->txn[1]);
		for (i = 0; i < iplen; i++)
			ip[i] ^= b->txn[i];
	}
	if (!attr_begin(b, type, 4 + iplen))
		return;
	wire_wr_u8(&b->w, 0);
	wire_wr_u8(&b->w, family);
	wire_wr_u16(&b->w, port);
	wire_wr_bytes(&b->w, ip, iplen);
}

void stun_build_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa)
{
	put_addr(b, type, sa, false);
}

void stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa)
{
	put_addr(b, type, sa, true);
}

/* Bytes of s that hold at most REASON_MAX_CHARS UTF-8 characters. */
static size_t reason_len(const char *s)
{
	size_t i, chars = 0;

	for (i = 0; s[i] && i < REASON_MAX_BYTES; i++) {
		/* a character starts at every byte but 10xxxxxx */
		if (((uint8_t)s[i] & 0xc0) != 0x80 && chars++ == REASON_MAX_CHARS)
			break;
	}
	return i;
}

/* RFC 8489 §14.8: 21 zero bits, class (3 bits), number (0-99), reason. */
/* ERROR-CODE and ADDRESS-ERROR-CODE share a layout: a first byte (0, or the
 * family), a reserved byte, class, number, reason. */
static void error_attr(struct stun_builder *b, uint16_t type, uint8_t first, int code,
		       const char *reason)
{
	size_t n;

	if (code < 300 || code > 699) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	if (!reason)
		reason = stun_error_reason(code);
	n = reason_len(reason);
	if (!attr_begin(b, type, 4 + n))
		return;
	wire_wr_u8(&b->w, first);
	wire_wr_u8(&b->w, 0);
	wire_wr_u8(&b->w, (uint8_t)(code / 100));
	wire_wr_u8(&b->w, (uint8_t)(code % 100));
	wire_wr_bytes(&b->w, reason, n);
	wire_wr_pad4(&b->w, 4 + n);
}

void stun_build_error(struct stun_builder *b, int code, const char *reason)
{
	error_attr(b, STUN_ATTR_ERROR_CODE, 0, code, reason);
}

void stun_build_address_error(struct stun_builder *b, uint8_t family, int code, const char *reason)
{
	error_attr(b, STUN_ATTR_ADDRESS_ERROR_CODE, family, code, reason);
}

/* RFC 8489 §14.13: 16-bit types; padded with zeros like any attribute (RFC
 * 5389 repeated the last type, which receivers ignore either way). */
void stun_build_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
	size_t i;

	if (n > 0x7fff) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	if (!attr_begin(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n))
		return;
	for (i = 0; i < n; i++)
		wire_wr_u16(&b->w, types[i]);
	wire_wr_pad4(&b->w, 2 * n);
}

/* RFC 8656 §18.1: the number, then 16 bits RFFU. */
void stun_build_channel(struct stun_builder *b, uint16_t chan)
{
	if (!attr_begin(b, STUN_ATTR_CHANNEL_NUMBER, 4))
		return;
	wire_wr_u16(&b->w, chan);
	wire_wr_u16(&b->w, 0);
}

/* RFC 8656 §18.8: the protocol, then 24 bits RFFU. */
void stun_build_transport(struct stun_builder *b, uint8_t proto)
{
	if (!attr_begin(b, STUN_ATTR_REQUESTED_TRANSPORT, 4))
		return;
	wire_wr_u8(&b->w, proto);
	wire_wr_zero(&b->w, 3);
}

/* RFC 8656 §18.6, §18.11: the family, then 24 bits reserved. */
void stun_build_family(struct stun_builder *b, uint16_t type, uint8_t family)
{
	if (!attr_begin(b, type, 4))
		return;
	wire_wr_u8(&b->w, family);
	wire_wr_zero(&b->w, 3);
}

/* RFC 8656 §18.7: one byte, R in the top bit, padded to 4. */
void stun_build_even_port(struct stun_builder *b, bool reserve)
{
	if (!attr_begin(b, STUN_ATTR_EVEN_PORT, 1))
		return;
	wire_wr_u8(&b->w, reserve ? 0x80 : 0x00);
	wire_wr_pad4(&b->w, 1);
}

void stun_build_empty(struct stun_builder *b, uint16_t type)
{
	(void)attr_begin(b, type, 0);
}

/*
 * Sets the header length field to count up to the end of the attribute
 * whose header attr_begin just wrote (len value bytes), as MESSAGE-INTEGRITY
 * and FINGERPRINT require (RFC 8489 §14.5-§14.7), and returns it.
 */
static uint16_t len_through(struct stun_builder *b, size_t len)
{
	uint16_t v = (uint16_t)(b->w.pos + len - STUN_HEADER_LEN);

	wire_wr_u16_at(&b->w, 2, v);
	return v;
}

static void put_mac(struct stun_builder *b, uint16_t type, enum stun_mac_alg alg,
		    const uint8_t *key, size_t keylen, size_t len)
{
	uint8_t mac[STUN_HMAC_SHA256_LEN];
	uint16_t lenf;
	int rc;

	if (!attr_begin(b, type, len))
		return;
	lenf = len_through(b, len);
	rc = stun_hmac_prefix(alg, key, keylen, b->w.buf, b->w.pos, b->w.pos - 4, lenf, mac);
	if (rc) {
		stun_build_fail(b, rc);
		return;
	}
	wire_wr_bytes(&b->w, mac, len);
}

void stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
	put_mac(b, STUN_ATTR_MESSAGE_INTEGRITY, STUN_MAC_SHA1, key, keylen, STUN_HMAC_SHA1_LEN);
}

/* RFC 8489 §14.6: at least 16 bytes, a multiple of 4, at most 32. */
void stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen,
				 size_t len)
{
	if (len < 16 || len > STUN_HMAC_SHA256_LEN || (len & 3)) {
		stun_build_fail(b, TP_EINVAL);
		return;
	}
	put_mac(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_MAC_SHA256, key, keylen, len);
}

void stun_build_fingerprint(struct stun_builder *b)
{
	uint16_t lenf;

	if (!attr_begin(b, STUN_ATTR_FINGERPRINT, 4))
		return;
	lenf = len_through(b, 4);
	wire_wr_u32(&b->w, stun_fingerprint_prefix(b->w.buf, b->w.pos, b->w.pos - 4, lenf));
	b->sealed = true;
}

int stun_build_finish(struct stun_builder *b, size_t *len)
{
	*len = 0;
	if (b->err)
		return b->err;
	if (b->w.err)
		return TP_ENOSPC;
	wire_wr_u16_at(&b->w, 2, (uint16_t)(b->w.pos - STUN_HEADER_LEN));
	*len = b->w.pos;
	return 0;
}
