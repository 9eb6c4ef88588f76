/* test_util_wire.c - unit tests for include/turnpike/wire.h: the bounded
 * big-endian reader and writer. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "turnpike/wire.h"

static void test_rd_ints(void)
{
	static const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				      0xff, 0xfe, 0x80, 0x00, 0x00, 0x01};
	struct wire_rd r;

	wire_rd_init(&r, buf, sizeof(buf));
	CHECK_INT(wire_rd_left(&r), 13);
	CHECK_INT(wire_rd_u8(&r), 0x01);
	CHECK_INT(wire_rd_u16(&r), 0x0203);
	CHECK_INT(wire_rd_u32(&r), 0x04050607);
	CHECK_INT(wire_rd_left(&r), 6);
	CHECK_INT(wire_rd_u16(&r), 0xfffe);
	CHECK_INT(wire_rd_u32(&r), 0x80000001u);
	CHECK(!r.err);
	CHECK_INT(wire_rd_left(&r), 0);
	CHECK_INT(r.pos, sizeof(buf));
}

static void test_rd_ptr_bytes_skip(void)
{
	static const uint8_t buf[] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	uint8_t out[4];
	const uint8_t *p;
	struct wire_rd r;

	wire_rd_init(&r, buf, sizeof(buf));
	p = wire_rd_ptr(&r, 2);
	CHECK(p == buf);
	wire_rd_skip(&r, 1);
	CHECK_INT(r.pos, 3);
	wire_rd_bytes(&r, out, 3);
	CHECK_MEM(out, "def", 3);
	p = wire_rd_ptr(&r, 0);
	CHECK(p == buf + 6);
	wire_rd_skip(&r, 0);
	p = wire_rd_ptr(&r, 2);
	CHECK(p == buf + 6);
	CHECK(!r.err);
	CHECK_INT(wire_rd_left(&r), 0);
	/* A zero-length read at the end is not an overrun. */
	CHECK(wire_rd_ptr(&r, 0) == buf + 8);
	CHECK(!r.err);

	/* An empty buffer. */
	wire_rd_init(&r, NULL, 0);
	CHECK_INT(wire_rd_left(&r), 0);
	CHECK_INT(wire_rd_u8(&r), 0);
	CHECK(r.err);
}

static void test_rd_pad4(void)
{
	static const uint8_t buf[16] = {0};
	static const size_t want[8] = {0, 3, 2, 1, 0, 3, 2, 1};
	struct wire_rd r;

	for (size_t n = 0; n < 8; n++) {
		wire_rd_init(&r, buf, sizeof(buf));
		wire_rd_skip(&r, n);
		wire_rd_pad4(&r, n);
		CHECK(!r.err);
		CHECK_INT(r.pos, n + want[n]);
		CHECK_INT(r.pos % 4, 0);
	}
	/* Padding that runs past the end is an overrun. */
	wire_rd_init(&r, buf, 5);
	wire_rd_skip(&r, 5);
	wire_rd_pad4(&r, 5);
	CHECK(r.err);
	/* ... but a value that ends exactly at the end needs none. */
	wire_rd_init(&r, buf, 8);
	wire_rd_skip(&r, 8);
	wire_rd_pad4(&r, 8);
	CHECK(!r.err);
}

static void test_rd_overrun(void)
{
	static const uint8_t buf[] = {1, 2, 3, 4, 5};
	uint8_t out[4];
	struct wire_rd r;

	/* u32 with 3 bytes left fails, sets err and does not move. */
	wire_rd_init(&r, buf, sizeof(buf));
	CHECK_INT(wire_rd_u16(&r), 0x0102);
	CHECK_INT(wire_rd_u32(&r), 0);
	CHECK(r.err);
	CHECK_INT(r.pos, 2);
	CHECK_INT(wire_rd_left(&r), 0);
	/* Once failed, everything fails, even reads that would fit. */
	CHECK_INT(wire_rd_u8(&r), 0);
	CHECK_INT(wire_rd_u16(&r), 0);
	CHECK(wire_rd_ptr(&r, 1) == NULL);
	CHECK(wire_rd_ptr(&r, 0) == NULL);
	memset(out, 0xee, sizeof(out));
	wire_rd_bytes(&r, out, 2);
	CHECK_INT(out[0], 0);
	CHECK_INT(out[1], 0);
	CHECK_INT(out[2], 0xee);
	CHECK_INT(r.pos, 2);
	CHECK(r.err);

	wire_rd_init(&r, buf, sizeof(buf));
	wire_rd_skip(&r, 4);
	CHECK_INT(wire_rd_u16(&r), 0);
	CHECK(r.err);

	wire_rd_init(&r, buf, sizeof(buf));
	CHECK(wire_rd_ptr(&r, 6) == NULL);
	CHECK(r.err);

	/* A huge length cannot wrap the bounds check. */
	wire_rd_init(&r, buf, sizeof(buf));
	wire_rd_skip(&r, 1);
	CHECK(wire_rd_ptr(&r, SIZE_MAX) == NULL);
	CHECK(r.err);
	CHECK_INT(r.pos, 1);

	wire_rd_init(&r, buf, sizeof(buf));
	wire_rd_bytes(&r, out, 4);
	memset(out, 0xee, sizeof(out));
	wire_rd_bytes(&r, out, 2);
	CHECK(r.err);
	CHECK_INT(out[0], 0);
	CHECK_INT(out[1], 0);
	CHECK_INT(out[2], 0xee);

	wire_rd_init(&r, buf, sizeof(buf));
	wire_rd_skip(&r, 5);
	CHECK_INT(wire_rd_u8(&r), 0);
	CHECK(r.err);
}

static void test_wr(void)
{
	static const uint8_t want[] = {0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 'x',
				       'y',  'z',  0,    0,    0,    0,    0,    0};
	uint8_t buf[16 + 4];
	struct wire_wr w;

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 16);
	wire_wr_u8(&w, 0xab);
	wire_wr_u16(&w, 0x1234);
	wire_wr_u32(&w, 0xdeadbeef);
	wire_wr_bytes(&w, "xyz", 3);
	CHECK_INT(w.pos, 10);
	wire_wr_pad4(&w, 10); /* 10 -> 12 */
	CHECK_INT(w.pos, 12);
	wire_wr_pad4(&w, 12); /* aligned: nothing */
	CHECK_INT(w.pos, 12);
	wire_wr_zero(&w, 4);
	wire_wr_bytes(&w, NULL, 0); /* zero length: no-op, no error */
	wire_wr_zero(&w, 0);
	CHECK(!w.err);
	CHECK_INT(w.pos, 16);
	CHECK_MEM(buf, want, sizeof(want));
	for (size_t i = 16; i < sizeof(buf); i++)
		CHECK_INT(buf[i], 0xcc);

	/* u16_at patches an earlier field in place. */
	wire_wr_u16_at(&w, 1, 0xbeef);
	CHECK(!w.err);
	CHECK_INT(buf[1], 0xbe);
	CHECK_INT(buf[2], 0xef);
	wire_wr_u16_at(&w, 14, 0x0102); /* the last two bytes written */
	CHECK(!w.err);
	CHECK_INT(buf[14], 1);
	CHECK_INT(buf[15], 2);
	CHECK_INT(w.pos, 16);

	for (size_t n = 0; n < 8; n++) {
		uint8_t b[12];
		memset(b, 0xcc, sizeof(b));
		wire_wr_init(&w, b, 8);
		wire_wr_pad4(&w, n);
		CHECK(!w.err);
		CHECK_INT(w.pos, (4 - n % 4) % 4);
		for (size_t i = 0; i < w.pos; i++)
			CHECK_INT(b[i], 0);
		CHECK_INT(b[w.pos], 0xcc);
	}
}

static void test_wr_overflow(void)
{
	uint8_t buf[8 + 8];
	struct wire_wr w;

	/* Each writer fails whole when it does not fit, with no partial write. */
	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_u32(&w, 0x01020304);
	wire_wr_u16(&w, 0x0506);
	wire_wr_u32(&w, 0x0708090a);
	CHECK(w.err);
	CHECK_INT(w.pos, 6);
	CHECK_INT(buf[6], 0xcc);
	CHECK_INT(buf[7], 0xcc);
	/* Later writes fail too, even ones that would fit. */
	wire_wr_u8(&w, 0x55);
	wire_wr_u16(&w, 0x5555);
	wire_wr_bytes(&w, "ab", 2);
	wire_wr_zero(&w, 1);
	wire_wr_u16_at(&w, 0, 0x5555);
	CHECK(w.err);
	CHECK_INT(w.pos, 6);
	CHECK_INT(buf[0], 0x01);
	for (size_t i = 6; i < sizeof(buf); i++)
		CHECK_INT(buf[i], 0xcc);

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_bytes(&w, "0123456789", 9);
	CHECK(w.err);
	CHECK_INT(w.pos, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_INT(buf[i], 0xcc);

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_zero(&w, 7);
	wire_wr_u16(&w, 1);
	CHECK(w.err);
	CHECK_INT(buf[7], 0xcc);
	CHECK_INT(buf[8], 0xcc);

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_zero(&w, 7);
	wire_wr_pad4(&w, 2); /* needs 2, 1 left */
	CHECK(w.err);
	CHECK_INT(buf[7], 0xcc);

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_u8(&w, 1);
	wire_wr_zero(&w, SIZE_MAX); /* cannot wrap the bounds check */
	CHECK(w.err);
	CHECK_INT(buf[1], 0xcc);

	/* Exactly full is fine; one more byte is not. */
	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_u32(&w, 1);
	wire_wr_u32(&w, 2);
	CHECK(!w.err);
	wire_wr_u8(&w, 3);
	CHECK(w.err);
	CHECK_INT(buf[8], 0xcc);

	/* u16_at may only patch bytes already written. */
	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_u16(&w, 0);
	wire_wr_u8(&w, 0);
	wire_wr_u16_at(&w, 2, 0x1111); /* byte 3 not written yet */
	CHECK(w.err);
	CHECK_INT(buf[2], 0);
	CHECK_INT(buf[3], 0xcc);

	wire_wr_init(&w, buf, 8);
	wire_wr_u16_at(&w, 0, 0x1111); /* nothing written */
	CHECK(w.err);

	memset(buf, 0xcc, sizeof(buf));
	wire_wr_init(&w, buf, 8);
	wire_wr_zero(&w, 4);
	wire_wr_u16_at(&w, 6, 0x1111); /* past pos, inside cap */
	CHECK(w.err);
	CHECK_INT(buf[6], 0xcc);
	CHECK_INT(buf[7], 0xcc);
}

int main(void)
{
	test_rd_ints();
	test_rd_ptr_bytes_skip();
	test_rd_pad4();
	test_rd_overrun();
	test_wr();
	test_wr_overflow();
	return check_done("test_util_wire");
}
