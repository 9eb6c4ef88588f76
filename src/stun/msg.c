/* msg.c - STUN message parsing (RFC 8489 §5, §14), the message type bits,
 * and the message-level attribute finders. */
#include <string.h>

#include "stun/stun_int.h"

size_t stun_msg_peek_len(const uint8_t *buf, size_t len)
{
	struct wire_rd r;
	uint16_t type, mlen;

	wire_rd_init(&r, buf, len);
	type = wire_rd_u16(&r);
	mlen = wire_rd_u16(&r);
	/* RFC 7983: STUN starts with a byte of 0..3; RFC 8489 §5: the length
	 * is a multiple of 4. */
	if (r.err || (type & 0xc000) || (mlen & 3))
		return 0;
	return STUN_HEADER_LEN + (size_t)mlen;
}

/*
 * RFC 8489 §5: the 14 type bits interleave the method and the class as
 * M11..M7 C1 M6..M4 C0 M3..M0.
 */
uint16_t stun_type_make(uint16_t method, uint8_t cls)
{
	return (uint16_t)(((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) |
			  ((cls & 2) << 7) | ((cls & 1) << 4));
}

void stun_type_split(uint16_t type, uint16_t *method, uint8_t *cls)
{
	*method = (uint16_t)(((type >> 2) & 0xf80) | ((type >> 1) & 0x070) | (type & 0x00f));
	*cls = (uint8_t)(((type >> 7) & 2) | ((type >> 4) & 1));
}

/* Where the attribute walk is relative to the integrity attributes. */
enum walk {
	WALK_ANY,        /* nothing special seen yet */
	WALK_AFTER_MI,   /* MESSAGE-INTEGRITY seen */
	WALK_AFTER_MI256 /* MESSAGE-INTEGRITY-SHA256 seen */
};

/*
 * RFC 8489 §14.5, §14.6: after MESSAGE-INTEGRITY only
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after
 * MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; the rest is ignored.
 */
static bool walk_keeps(enum walk w, uint16_t type)
{
	switch (w) {
	case WALK_AFTER_MI:
		return type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 || type == STUN_ATTR_FINGERPRINT;
	case WALK_AFTER_MI256:
		return type == STUN_ATTR_FINGERPRINT;
	default:
		return true;
	}
}

/* RFC 8489 §6.3.1.1: list each unknown comprehension-required type once. */
static void note_unknown(struct stun_msg *msg, uint16_t type)
{
	unsigned i;

	for (i = 0; i < msg->nunknown; i++)
		if (msg->unknown[i] == type)
			return;
	if (msg->nunknown < STUN_MAX_UNKNOWN)
		msg->unknown[msg->nunknown++] = type;
}

/*
 * RFC 8489 §14.7: CRC-32 of the message up to the FINGERPRINT attribute,
 * with the length field counting up to and including FINGERPRINT (which
 * differs from the header's when ignored attributes follow it).
 */
static int check_fingerprint(const struct stun_msg *msg, size_t hdr, const struct stun_attr *a)
{
	struct wire_rd r;
	uint32_t want, got;

	wire_rd_init(&r, msg->buf, msg->len);
	wire_rd_skip(&r, a->off);
	want = wire_rd_u32(&r);
	if (r.err)
		return TP_EMALFORMED;
	got = stun_fingerprint_prefix(msg->buf, msg->len, hdr,
				      (uint16_t)(hdr + 8 - STUN_HEADER_LEN));
	return got == want ? 0 : TP_EFINGERPRINT;
}

static void msg_reset(struct stun_msg *msg, const uint8_t *buf)
{
	msg->buf = buf;
	msg->len = 0;
	msg->type = 0;
	msg->method = 0;
	msg->cls = 0;
	msg->magic = false;
	memset(msg->txn, 0, sizeof(msg->txn));
	msg->nattrs = 0;
	msg->mi = -1;
	msg->mi256 = -1;
	msg->fp = -1;
	msg->nunknown = 0;
}

/* Reads the 20-byte header (RFC 8489 §5, §6) and frames the message. */
static int parse_header(struct stun_msg *msg, struct wire_rd *r, size_t len)
{
	struct wire_rd c;
	uint16_t type, mlen;

	if (len < STUN_HEADER_LEN)
		return TP_ENOTSTUN;
	type = wire_rd_u16(r);
	mlen = wire_rd_u16(r);
	if (type & 0xc000)
		return TP_ENOTSTUN; /* §5: the top two bits are zero */
	if (mlen & 3)
		return TP_ENOTSTUN; /* §5: attributes pad to 4 bytes */
	if (len < STUN_HEADER_LEN + (size_t)mlen)
		return TP_ETRUNC;
	if (len > STUN_HEADER_LEN + (size_t)mlen)
		return TP_EMALFORMED; /* the caller frames the message */
	wire_rd_bytes(r, msg->txn, sizeof(msg->txn));
	wire_rd_init(&c, msg->txn, 4);
	msg->magic = wire_rd_u32(&c) == STUN_MAGIC_COOKIE;
	msg->len = len;
	msg->type = type;
	stun_type_split(type, &msg->method, &msg->cls);
	return r->err ? TP_ETRUNC : 0;
}

int stun_msg_parse(struct stun_msg *msg, const uint8_t *buf, size_t len)
{
	const struct stun_attr_desc *d;
	struct stun_attr *a;
	struct wire_rd r;
	enum walk w = WALK_ANY;
	int rc;

	msg_reset(msg, buf);
	wire_rd_init(&r, buf, len);
	rc = parse_header(msg, &r, len);
	if (rc)
		return rc;

	while (wire_rd_left(&r) > 0) {
		size_t hdr = r.pos, off;
		uint16_t type, alen;

		/* RFC 8489 §14: type, length, value, padding to 4 bytes. */
		type = wire_rd_u16(&r);
		alen = wire_rd_u16(&r);
		off = r.pos;
		wire_rd_skip(&r, alen);
		if (r.err)
			return TP_ETRUNC;
		wire_rd_pad4(&r, alen);
		if (r.err)
			return TP_EMALFORMED;

		if (!walk_keeps(w, type))
			continue;
		d = stun_attr_desc_find(type);
		if (d && !stun_attr_len_ok(d, alen))
			return TP_EMALFORMED;
		/* §14: 0x0000-0x7fff are comprehension-required. */
		if (!d && type < 0x8000 && w == WALK_ANY)
			note_unknown(msg, type);
		if (msg->nattrs == STUN_MAX_ATTRS)
			return TP_ETOOMANY;

		a = &msg->attrs[msg->nattrs];
		a->type = type;
		a->len = alen;
		a->off = (uint32_t)off;
		switch (type) {
		case STUN_ATTR_MESSAGE_INTEGRITY:
			msg->mi = (int)msg->nattrs++;
			w = WALK_AFTER_MI;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			msg->mi256 = (int)msg->nattrs++;
			w = WALK_AFTER_MI256;
			break;
		case STUN_ATTR_FINGERPRINT:
			/* §14.7: FINGERPRINT is last; anything after is ignored. */
			msg->fp = (int)msg->nattrs++;
			return check_fingerprint(msg, hdr, a);
		default:
			msg->nattrs++;
			break;
		}
	}
	return 0;
}

const struct stun_attr *stun_msg_find(const struct stun_msg *msg, uint16_t type)
{
	unsigned i;

	for (i = 0; i < msg->nattrs; i++)
		if (msg->attrs[i].type == type)
			return &msg->attrs[i];
	return NULL;
}

int stun_msg_xor_addr(const struct stun_msg *msg, uint16_t type, struct sockaddr_storage *out)
{
	const struct stun_attr *a = stun_msg_find(msg, type);

	if (!a) {
		memset(out, 0, sizeof(*out));
		return TP_ENOTFOUND;
	}
	return stun_attr_get_xor_addr(msg, a, out);
}

int stun_msg_u32(const struct stun_msg *msg, uint16_t type, uint32_t *out)
{
	const struct stun_attr *a = stun_msg_find(msg, type);

	if (!a) {
		*out = 0;
		return TP_ENOTFOUND;
	}
	return stun_attr_get_u32(msg, a, out);
}

bool stun_msg_copy(const struct stun_msg *msg, uint16_t type, uint8_t *dst, size_t cap, size_t *len)
{
	const struct stun_attr *a = stun_msg_find(msg, type);

	if (!a || a->len > cap)
		return false;
	memcpy(dst, stun_attr_value(msg, a), a->len);
	*len = a->len;
	return true;
}
