/* test_stun_msg.c - unit tests for src/stun/msg.c: framing, the parser's
 * checks and error paths, the RFC 8489 §14 ordering rules, type bits. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "stun/stun_int.h"

static const uint8_t txn_magic[16] = {0x21, 0x12, 0xa4, 0x42, 1, 2,  3,  4,
				      5,    6,    7,    8,    9, 10, 11, 12};
static const uint8_t txn_3489[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A hand-written message, so tests can break every rule. */
struct raw {
	uint8_t buf[STUN_MAX_MSG + 64];
	struct wire_wr w;
};

static void raw_init(struct raw *m, uint16_t type, const uint8_t txn[16])
{
	wire_wr_init(&m->w, m->buf, sizeof(m->buf));
	wire_wr_u16(&m->w, type);
	wire_wr_u16(&m->w, 0);
	wire_wr_bytes(&m->w, txn, 16);
}

/* An attribute whose header says alen, with vlen value bytes of 0x41 and
 * padding bytes of pad after them. */
static void raw_attr_n(struct raw *m, uint16_t type, uint16_t alen, size_t vlen, uint8_t pad)
{
	size_t i;

	wire_wr_u16(&m->w, type);
	wire_wr_u16(&m->w, alen);
	for (i = 0; i < vlen; i++)
		wire_wr_u8(&m->w, 0x41);
	for (i = vlen; i & 3; i++)
		wire_wr_u8(&m->w, pad);
}

static void raw_attr(struct raw *m, uint16_t type, uint16_t len)
{
	raw_attr_n(m, type, len, len, 0);
}

static void raw_attr_val(struct raw *m, uint16_t type, const void *v, uint16_t len)
{
	wire_wr_u16(&m->w, type);
	wire_wr_u16(&m->w, len);
	wire_wr_bytes(&m->w, v, len);
	wire_wr_pad4(&m->w, len);
}

/* Sets the header length to cover everything written; returns the size. */
static size_t raw_done(struct raw *m)
{
	wire_wr_u16_at(&m->w, 2, (uint16_t)(m->w.pos - STUN_HEADER_LEN));
	return m->w.pos;
}

/* Appends FINGERPRINT computed the plain way: CRC-32 of the message so far
 * with the length field counting the FINGERPRINT attribute. */
static void raw_fp(struct raw *m, uint32_t xor_extra)
{
	uint32_t crc;

	wire_wr_u16_at(&m->w, 2, (uint16_t)(m->w.pos + 8 - STUN_HEADER_LEN));
	crc = stun_crc32(m->buf, m->w.pos) ^ STUN_FINGERPRINT_XOR ^ xor_extra;
	wire_wr_u16(&m->w, STUN_ATTR_FINGERPRINT);
	wire_wr_u16(&m->w, 4);
	wire_wr_u32(&m->w, crc);
}

static int raw_parse(struct raw *m, struct stun_msg *msg)
{
	return stun_msg_parse(msg, m->buf, raw_done(m));
}

static void test_peek(void)
{
	uint8_t b[8] = {0x00, 0x01, 0x00, 0x08};

	CHECK_INT(stun_msg_peek_len(b, 4), 28);
	CHECK_INT(stun_msg_peek_len(b, 8), 28);
	CHECK_INT(stun_msg_peek_len(b, 3), 0);
	CHECK_INT(stun_msg_peek_len(b, 0), 0);
	b[3] = 0x0a;
	CHECK_INT(stun_msg_peek_len(b, 4), 0);
	b[3] = 0x00;
	CHECK_INT(stun_msg_peek_len(b, 4), 20);
	b[0] = 0x40;
	CHECK_INT(stun_msg_peek_len(b, 4), 0);
	b[0] = 0x80;
	CHECK_INT(stun_msg_peek_len(b, 4), 0);
	b[0] = 0x03;
	b[2] = 0xff;
	b[3] = 0xfc;
	CHECK_INT(stun_msg_peek_len(b, 4), 20 + 0xfffc);
}

static void test_type_bits(void)
{
	uint16_t t, method;
	uint8_t cls;
	unsigned bad = 0;

	CHECK_INT(stun_type_make(STUN_BINDING, STUN_REQUEST), 0x0001);
	CHECK_INT(stun_type_make(STUN_BINDING, STUN_INDICATION), 0x0011);
	CHECK_INT(stun_type_make(STUN_BINDING, STUN_SUCCESS), 0x0101);
	CHECK_INT(stun_type_make(STUN_BINDING, STUN_ERROR), 0x0111);
	CHECK_INT(stun_type_make(TURN_ALLOCATE, STUN_REQUEST), 0x0003);
	CHECK_INT(stun_type_make(TURN_ALLOCATE, STUN_SUCCESS), 0x0103);
	CHECK_INT(stun_type_make(TURN_ALLOCATE, STUN_ERROR), 0x0113);
	CHECK_INT(stun_type_make(TURN_SEND, STUN_INDICATION), 0x0016);
	CHECK_INT(stun_type_make(TURN_DATA, STUN_INDICATION), 0x0017);
	CHECK_INT(stun_type_make(TURN_CONNECTION_ATTEMPT, STUN_INDICATION), 0x001c);
	CHECK_INT(stun_type_make(0xfff, STUN_ERROR), 0x3fff);
	CHECK_INT(stun_type_make(0x080, STUN_REQUEST), 0x0200);
	CHECK_INT(stun_type_make(0x010, STUN_REQUEST), 0x0020);

	/* every 14-bit type splits and joins back, and vice versa */
	for (t = 0; t < 0x4000; t++) {
		stun_type_split(t, &method, &cls);
		if (method > 0xfff || cls > 3 || stun_type_make(method, cls) != t)
			bad++;
	}
	CHECK_INT(bad, 0);
	stun_type_split(0x0113, &method, &cls);
	CHECK_INT(method, TURN_ALLOCATE);
	CHECK_INT(cls, STUN_ERROR);
}

static void test_header(void)
{
	struct stun_msg msg;
	struct raw m;
	size_t n;

	raw_init(&m, 0x0001, txn_magic);
	n = raw_done(&m);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), 0);
	CHECK(msg.buf == m.buf);
	CHECK_INT(msg.len, 20);
	CHECK_INT(msg.type, 0x0001);
	CHECK_INT(msg.method, STUN_BINDING);
	CHECK_INT(msg.cls, STUN_REQUEST);
	CHECK(msg.magic);
	CHECK_MEM(msg.txn, txn_magic, 16);
	CHECK_INT(msg.nattrs, 0);
	CHECK_INT(msg.mi, -1);
	CHECK_INT(msg.mi256, -1);
	CHECK_INT(msg.fp, -1);
	CHECK_INT(msg.nunknown, 0);

	/* shorter than a header: not STUN */
	for (n = 0; n < STUN_HEADER_LEN; n++)
		CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_ENOTSTUN);

	/* RFC 8489 §5: the two top bits are zero */
	m.buf[0] = 0x40;
	CHECK_INT(stun_msg_parse(&msg, m.buf, 20), TP_ENOTSTUN);
	m.buf[0] = 0x80;
	CHECK_INT(stun_msg_parse(&msg, m.buf, 20), TP_ENOTSTUN);
	m.buf[0] = 0xc0;
	CHECK_INT(stun_msg_parse(&msg, m.buf, 20), TP_ENOTSTUN);
	m.buf[0] = 0x3f;
	m.buf[1] = 0xff;
	CHECK_INT(stun_msg_parse(&msg, m.buf, 20), 0);
	CHECK_INT(msg.method, 0xfff);
	CHECK_INT(msg.cls, STUN_ERROR);

	/* length not a multiple of 4 */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_SOFTWARE, 4);
	n = raw_done(&m);
	m.buf[3] = 5;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_ENOTSTUN);
	m.buf[3] = 6;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_ENOTSTUN);
	m.buf[3] = 7;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_ENOTSTUN);
	/* the caller frames: fewer bytes than announced, or more */
	m.buf[3] = 8;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), 0);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n - 1), TP_ETRUNC);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n - 4), TP_ETRUNC);
	CHECK_INT(stun_msg_parse(&msg, m.buf, 20), TP_ETRUNC);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n + 1), TP_EMALFORMED);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n + 4), TP_EMALFORMED);

	/* RFC 3489: no magic cookie, still parsed */
	raw_init(&m, 0x0001, txn_3489);
	raw_attr(&m, STUN_ATTR_USERNAME, 4);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK(!msg.magic);
	CHECK_MEM(msg.txn, txn_3489, 16);
	CHECK_INT(msg.nattrs, 1);
}

static void test_attr_bounds(void)
{
	struct stun_msg msg;
	struct raw m;

	/* the value runs past the end of the message */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr_n(&m, STUN_ATTR_SOFTWARE, 8, 4, 0);
	CHECK_INT(raw_parse(&m, &msg), TP_ETRUNC);
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_SOFTWARE, 4);
	raw_attr_n(&m, STUN_ATTR_USERNAME, 1, 0, 0); /* header only */
	CHECK_INT(raw_parse(&m, &msg), TP_ETRUNC);
	raw_init(&m, 0x0001, txn_magic);
	raw_attr_n(&m, 0x8fff, 0xffff, 8, 0);
	CHECK_INT(raw_parse(&m, &msg), TP_ETRUNC);

	/*
	 * Padding past the end cannot reach the attribute walk: values start
	 * 4-aligned and the message length is a multiple of 4, so a value that
	 * fits always has room for its padding. The message that would need
	 * it is rejected by the length rule instead.
	 */
	raw_init(&m, 0x0001, txn_magic);
	wire_wr_u16(&m.w, STUN_ATTR_SOFTWARE);
	wire_wr_u16(&m.w, 1);
	wire_wr_u8(&m.w, 'x');
	CHECK_INT(raw_parse(&m, &msg), TP_ENOTSTUN);

	/* padding need not be zero (RFC 5769 pads with spaces) */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr_n(&m, STUN_ATTR_USERNAME, 9, 9, 0x20);
	raw_attr_n(&m, STUN_ATTR_SOFTWARE, 1, 1, 0xff);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, 2);
	CHECK_INT(msg.attrs[0].len, 9);
	CHECK_INT(msg.attrs[0].off, 24);
	CHECK_INT(msg.attrs[1].len, 1);
	CHECK_INT(msg.attrs[1].off, 40);

	/* an empty attribute at the very end */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_DONT_FRAGMENT, 0);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.attrs[0].off, 24);
	CHECK_INT(msg.attrs[0].len, 0);
}

static void test_too_many(void)
{
	struct stun_msg msg;
	struct raw m;
	int i;

	raw_init(&m, 0x0001, txn_magic);
	for (i = 0; i < STUN_MAX_ATTRS; i++)
		raw_attr(&m, STUN_ATTR_SOFTWARE, 0);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, STUN_MAX_ATTRS);
	raw_attr(&m, STUN_ATTR_SOFTWARE, 0);
	CHECK_INT(raw_parse(&m, &msg), TP_ETOOMANY);

	/* ignored attributes (after MESSAGE-INTEGRITY) do not count */
	raw_init(&m, 0x0001, txn_magic);
	for (i = 0; i < STUN_MAX_ATTRS - 1; i++)
		raw_attr(&m, STUN_ATTR_SOFTWARE, 0);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	for (i = 0; i < 10; i++)
		raw_attr(&m, STUN_ATTR_SOFTWARE, 0);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, STUN_MAX_ATTRS);
	CHECK_INT(msg.mi, STUN_MAX_ATTRS - 1);
}

/* Parses a message holding one attribute of type with a len-byte value. */
static int parse_one(uint16_t type, uint16_t len)
{
	static struct raw m;
	struct stun_msg msg;

	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, type, len);
	return raw_parse(&m, &msg);
}

static void test_known_sizes(void)
{
	static const uint16_t lens[] = {0,  1,  3,   4,   5,   8,   12,  16,  18,  20,  24,  28,
					32, 36, 508, 509, 512, 513, 763, 764, 767, 768, 1000};
	unsigned i, j, bad = 0;

	CHECK_INT(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, 8), 0);
	CHECK_INT(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, 20), 0);
	CHECK_INT(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, 12), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, 4), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_XOR_MAPPED_ADDRESS, 24), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MAPPED_ADDRESS, 16), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY, 20), 0);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY, 16), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY, 24), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY, 0), TP_EMALFORMED);
	for (i = 16; i <= 32; i += 4)
		CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY_SHA256, (uint16_t)i), 0);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 12), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 18), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 36), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_FINGERPRINT, 8), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_FINGERPRINT, 0), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_LIFETIME, 3), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_LIFETIME, 8), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_EVEN_PORT, 1), 0);
	CHECK_INT(parse_one(STUN_ATTR_EVEN_PORT, 4), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_DONT_FRAGMENT, 4), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_USERHASH, 31), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_UNKNOWN_ATTRIBUTES, 3), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_UNKNOWN_ATTRIBUTES, 6), 0);
	CHECK_INT(parse_one(STUN_ATTR_USERNAME, 512), 0);
	CHECK_INT(parse_one(STUN_ATTR_USERNAME, 513), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_ERROR_CODE, 3), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_ERROR_CODE, 4), 0);
	CHECK_INT(parse_one(STUN_ATTR_SOFTWARE, 763), 0);
	CHECK_INT(parse_one(STUN_ATTR_SOFTWARE, 764), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_PASSWORD_ALGORITHMS, 6), TP_EMALFORMED);
	CHECK_INT(parse_one(STUN_ATTR_DATA, 1000), 0);
	/* unknown types are not size-checked */
	CHECK_INT(parse_one(0x8fff, 3), 0);
	CHECK_INT(parse_one(0x0fff, 3), 0);

	/* every table row, at every interesting size, agrees with its rule */
	for (i = 0; i < stun_attr_table_len; i++) {
		const struct stun_attr_desc *d = &stun_attr_table[i];

		if (d->type == STUN_ATTR_FINGERPRINT)
			continue; /* its value must also be right */
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			int want = stun_attr_len_ok(d, lens[j]) ? 0 : TP_EMALFORMED;

			if (parse_one(d->type, lens[j]) != want) {
				fprintf(stderr, "%s len %u\n", d->name, lens[j]);
				bad++;
			}
		}
	}
	CHECK_INT(bad, 0);
}

static void test_fingerprint(void)
{
	struct stun_msg msg;
	struct raw m;
	size_t n;

	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_USERNAME, 5);
	raw_fp(&m, 0);
	n = raw_done(&m);
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), 0);
	CHECK_INT(msg.fp, 1);
	CHECK_INT(msg.attrs[1].type, STUN_ATTR_FINGERPRINT);

	/* no single-bit flip gets past a FINGERPRINT that is still found (a
	 * flip in a type or length can hide it: FINGERPRINT is no MAC) */
	{
		unsigned i, missed = 0;

		for (i = 0; i < n * 8; i++) {
			m.buf[i / 8] ^= (uint8_t)(1u << (i % 8));
			if (stun_msg_parse(&msg, m.buf, n) == 0 && msg.fp >= 0)
				missed++;
			m.buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		CHECK_INT(missed, 0);
	}
	m.buf[10] ^= 1;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_EFINGERPRINT);
	m.buf[10] ^= 1;
	m.buf[n - 1] ^= 0x80;
	CHECK_INT(stun_msg_parse(&msg, m.buf, n), TP_EFINGERPRINT);
	m.buf[n - 1] ^= 0x80;

	/* without the XOR constant it is not a FINGERPRINT */
	raw_init(&m, 0x0001, txn_magic);
	raw_fp(&m, STUN_FINGERPRINT_XOR);
	CHECK_INT(raw_parse(&m, &msg), TP_EFINGERPRINT);
	raw_init(&m, 0x0001, txn_magic);
	raw_fp(&m, 0);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.fp, 0);

	/* attributes after FINGERPRINT are ignored, and the CRC is checked
	 * with the length as it was when FINGERPRINT was last */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_USERNAME, 4);
	raw_fp(&m, 0);
	raw_attr(&m, STUN_ATTR_SOFTWARE, 7);
	raw_attr(&m, 0x0fff, 4);                /* would be unknown */
	raw_attr(&m, STUN_ATTR_LIFETIME, 3);    /* would be malformed */
	raw_attr(&m, STUN_ATTR_FINGERPRINT, 4); /* a second one: ignored */
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, 2);
	CHECK_INT(msg.fp, 1);
	CHECK_INT(msg.nunknown, 0);
	CHECK(stun_msg_find(&msg, STUN_ATTR_SOFTWARE) == NULL);

	/* a FINGERPRINT computed with the whole message's length is wrong
	 * when attributes follow it */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_USERNAME, 4);
	{
		uint32_t crc;

		wire_wr_u16_at(&m.w, 2, 8 + 8 + 8);
		crc = stun_crc32(m.buf, m.w.pos) ^ STUN_FINGERPRINT_XOR;
		wire_wr_u16(&m.w, STUN_ATTR_FINGERPRINT);
		wire_wr_u16(&m.w, 4);
		wire_wr_u32(&m.w, crc);
	}
	raw_attr(&m, STUN_ATTR_SOFTWARE, 4);
	CHECK_INT(raw_parse(&m, &msg), TP_EFINGERPRINT);
}

static void test_after_integrity(void)
{
	struct stun_msg msg;
	struct raw m;

	/* RFC 8489 §14.5-§14.7: after MI only MI256 and FP count, after
	 * MI256 only FP, after FP nothing */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_USERNAME, 4);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr(&m, STUN_ATTR_REALM, 5);
	raw_attr(&m, 0x0fff, 4);             /* unknown: not listed */
	raw_attr(&m, STUN_ATTR_LIFETIME, 3); /* bad size: ignored */
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 32);
	raw_attr(&m, STUN_ATTR_NONCE, 8);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 16);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 12); /* bad size */
	raw_fp(&m, 0);
	raw_attr(&m, STUN_ATTR_SOFTWARE, 3);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, 4);
	CHECK_INT(msg.attrs[0].type, STUN_ATTR_USERNAME);
	CHECK_INT(msg.attrs[1].type, STUN_ATTR_MESSAGE_INTEGRITY);
	CHECK_INT(msg.attrs[2].type, STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
	CHECK_INT(msg.attrs[2].len, 32);
	CHECK_INT(msg.attrs[3].type, STUN_ATTR_FINGERPRINT);
	CHECK_INT(msg.mi, 1);
	CHECK_INT(msg.mi256, 2);
	CHECK_INT(msg.fp, 3);
	CHECK_INT(msg.nunknown, 0);
	CHECK(stun_msg_find(&msg, STUN_ATTR_REALM) == NULL);
	CHECK(stun_msg_find(&msg, STUN_ATTR_NONCE) == NULL);

	/* MI-SHA256 alone, then MI after it is ignored */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 24);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr(&m, STUN_ATTR_USERNAME, 2);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, 1);
	CHECK_INT(msg.mi, -1);
	CHECK_INT(msg.mi256, 0);

	/* ignored attributes are still walked: a bad length is caught */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr_n(&m, STUN_ATTR_SOFTWARE, 40, 4, 0);
	CHECK_INT(raw_parse(&m, &msg), TP_ETRUNC);

	/* a kept MI after ignored ones still gets size-checked */
	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, 20);
	raw_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 20);
	raw_attr(&m, STUN_ATTR_FINGERPRINT, 8);
	CHECK_INT(raw_parse(&m, &msg), TP_EMALFORMED);
}

static void test_unknown(void)
{
	struct stun_msg msg;
	struct raw m;
	uint16_t t;

	raw_init(&m, 0x0001, txn_magic);
	raw_attr(&m, 0x0fff, 4);
	raw_attr(&m, 0x8fff, 4); /* comprehension-optional: kept, unlisted */
	raw_attr(&m, 0x7fff, 0);
	raw_attr(&m, 0x0fff, 8); /* listed once */
	raw_attr(&m, 0x0007, 4); /* a gap in the known range */
	raw_attr(&m, STUN_ATTR_USERNAME, 4);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nattrs, 6);
	CHECK_INT(msg.nunknown, 3);
	CHECK_INT(msg.unknown[0], 0x0fff);
	CHECK_INT(msg.unknown[1], 0x7fff);
	CHECK_INT(msg.unknown[2], 0x0007);
	CHECK(stun_msg_find(&msg, 0x8fff) == &msg.attrs[1]);
	CHECK(stun_msg_find(&msg, 0x0fff) == &msg.attrs[0]);
	CHECK(stun_msg_find(&msg, STUN_ATTR_USERNAME) == &msg.attrs[5]);
	CHECK(stun_msg_find(&msg, STUN_ATTR_REALM) == NULL);

	/* more distinct unknown types than kept: no error, first ones kept */
	raw_init(&m, 0x0001, txn_magic);
	for (t = 0; t < STUN_MAX_UNKNOWN + 5; t++)
		raw_attr(&m, (uint16_t)(0x0100 + t), 0);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.nunknown, STUN_MAX_UNKNOWN);
	CHECK_INT(msg.unknown[STUN_MAX_UNKNOWN - 1], 0x0100 + STUN_MAX_UNKNOWN - 1);
	CHECK_INT(msg.nattrs, STUN_MAX_UNKNOWN + 5);
}

static void test_finders(void)
{
	static const uint8_t xor_v4[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct stun_msg msg;
	struct raw m;
	uint8_t life[4] = {0, 0, 0x02, 0x58};
	uint32_t v;

	raw_init(&m, 0x0101, txn_magic);
	raw_attr_val(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, xor_v4, 8);
	raw_attr_val(&m, STUN_ATTR_LIFETIME, life, 4);
	raw_attr(&m, 0x8fff, 8);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &ss), 0);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(ntohs(sin->sin_port), 32853);
	CHECK_INT(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_XOR_PEER_ADDRESS, &ss), TP_ENOTFOUND);
	CHECK_INT(stun_msg_xor_addr(&msg, STUN_ATTR_LIFETIME, &ss), TP_EMALFORMED);
	CHECK_INT(stun_msg_u32(&msg, STUN_ATTR_LIFETIME, &v), 0);
	CHECK_INT(v, 600);
	CHECK_INT(stun_msg_u32(&msg, STUN_ATTR_PRIORITY, &v), TP_ENOTFOUND);
	CHECK_INT(stun_msg_u32(&msg, 0x8fff, &v), TP_EMALFORMED);
}

/* A message over 64 KiB puts attribute values past offset 65535. */
static void test_big(void)
{
	static struct raw m;
	struct stun_msg msg;

	raw_init(&m, 0x0016, txn_magic);
	raw_attr(&m, STUN_ATTR_DATA, 65520);
	raw_fp(&m, 0);
	CHECK_INT(raw_done(&m), 65552);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK_INT(msg.len, 65552);
	CHECK_INT(msg.nattrs, 2);
	CHECK_INT(msg.attrs[1].off, 65548);
	CHECK_INT(msg.fp, 1);
	CHECK_INT(stun_msg_peek_len(m.buf, 4), 65552);
}

/* stun_msg_copy: the first attribute of a type, bounded by the room. */
static void test_copy(void)
{
	struct stun_msg msg;
	struct raw m;
	uint8_t buf[8];
	size_t len = 99;

	raw_init(&m, 0x0001, txn_magic);
	raw_attr_val(&m, STUN_ATTR_REALM, "realm", 5);
	raw_attr_val(&m, STUN_ATTR_NONCE, "0123456789", 10);
	CHECK_INT(raw_parse(&m, &msg), 0);
	CHECK(stun_msg_copy(&msg, STUN_ATTR_REALM, buf, sizeof(buf), &len));
	CHECK_INT(len, 5);
	CHECK(memcmp(buf, "realm", 5) == 0);
	len = 99;
	CHECK(!stun_msg_copy(&msg, STUN_ATTR_NONCE, buf, sizeof(buf), &len)); /* 10 > 8 */
	CHECK(!stun_msg_copy(&msg, STUN_ATTR_USERNAME, buf, sizeof(buf), &len));
	CHECK_INT(len, 99);
}

int main(void)
{
	test_copy();
	test_peek();
	test_type_bits();
	test_header();
	test_attr_bounds();
	test_too_many();
	test_known_sizes();
	test_fingerprint();
	test_after_integrity();
	test_unknown();
	test_finders();
	test_big();
	return check_done("test_stun_msg");
}
