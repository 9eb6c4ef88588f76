/* test_stun_chandata.c - unit tests for src/stun/chandata.c: ChannelData
 * headers and framing over datagrams and streams, at every edge length. */
#include "check.h"
#include "stun/stun_int.h"

static uint8_t buf[65536 + 16];

static void frame(uint16_t chan, uint16_t plen)
{
	size_t i;

	CHECK_INT(turn_chandata_header(buf, chan, plen), 4);
	for (i = 0; i < plen; i++)
		buf[4 + i] = (uint8_t)i;
}

static void test_header(void)
{
	uint8_t h[6] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

	CHECK_INT(turn_chandata_header(h, 0x4001, 0x0102), TURN_CHANNELDATA_HDR);
	CHECK_MEM(h, "\x40\x01\x01\x02\xaa\xaa", 6);
	CHECK_INT(turn_chandata_header(h, 0x4fff, 0xffff), 4);
	CHECK_MEM(h, "\x4f\xff\xff\xff", 4);
}

static void test_datagram(void)
{
	const uint8_t *p;
	uint16_t chan;
	size_t plen, flen, len;
	unsigned bad = 0;

	frame(0x4000, 5);
	CHECK_INT(turn_chandata_parse(buf, 9, false, &chan, &p, &plen, &flen), 0);
	CHECK_INT(chan, 0x4000);
	CHECK(p == buf + 4);
	CHECK_INT(plen, 5);
	CHECK_INT(flen, 9);
	/* RFC 8656 §12.5: over UDP, padding or other trailing bytes are fine */
	CHECK_INT(turn_chandata_parse(buf, 12, false, &chan, &p, &plen, &flen), 0);
	CHECK_INT(plen, 5);
	CHECK_INT(flen, 9);
	CHECK_INT(turn_chandata_parse(buf, 100, false, &chan, &p, &plen, &flen), 0);
	CHECK_INT(flen, 9);
	/* shorter than announced, or than a header */
	for (len = 0; len < 9; len++)
		if (turn_chandata_parse(buf, len, false, &chan, &p, &plen, &flen) != TP_ETRUNC ||
		    p || plen || flen)
			bad++;
	CHECK_INT(bad, 0);

	/* an empty payload */
	frame(0x4fff, 0);
	CHECK_INT(turn_chandata_parse(buf, 4, false, &chan, &p, &plen, &flen), 0);
	CHECK_INT(chan, 0x4fff);
	CHECK_INT(plen, 0);
	CHECK_INT(flen, 4);
	CHECK_INT(turn_chandata_parse(buf, 3, false, &chan, &p, &plen, &flen), TP_ETRUNC);

	/* the largest payload */
	frame(0x4abc, 0xffff);
	CHECK_INT(turn_chandata_parse(buf, 65539, false, &chan, &p, &plen, &flen), 0);
	CHECK_INT(plen, 65535);
	CHECK_INT(flen, 65539);
	CHECK_INT(turn_chandata_parse(buf, 65538, false, &chan, &p, &plen, &flen), TP_ETRUNC);
}

static void test_channels(void)
{
	static const struct {
		uint16_t chan;
		int rc;
	} cases[] = {
		{0x0000, TP_EMALFORMED},
		{0x0001, TP_EMALFORMED},
		{0x3fff, TP_EMALFORMED},
		{0x4000, 0},
		{0x4001, 0},
		{0x4abc, 0},
		{0x4fff, 0},
		{0x5000, 0} /* RFC 5766 range */,
		{0x7fff, 0},
		{0x8000, TP_EMALFORMED},
		{0xffff, TP_EMALFORMED},
	};
	const uint8_t *p;
	uint16_t chan;
	size_t plen, flen, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		frame(cases[i].chan, 4);
		CHECK_INT(turn_chandata_parse(buf, 8, false, &chan, &p, &plen, &flen), cases[i].rc);
		CHECK_INT(turn_chandata_parse(buf, 8, true, &chan, &p, &plen, &flen), cases[i].rc);
		CHECK_INT(chan, cases[i].rc ? 0 : cases[i].chan);
	}
}

static void test_stream(void)
{
	const uint8_t *p;
	uint16_t chan;
	size_t plen, flen, len, n;
	unsigned bad = 0;

	/* RFC 8656 §12.5: over TCP/TLS the frame is padded to 4 bytes, and
	 * the caller waits while fewer bytes than the frame have arrived */
	for (n = 0; n <= 9; n++) {
		size_t want = (4 + n + 3) & ~(size_t)3;

		frame(0x4123, (uint16_t)n);
		for (len = 0; len < want; len++)
			if (turn_chandata_parse(buf, len, true, &chan, &p, &plen, &flen) !=
			    TP_ETRUNC)
				bad++;
		if (turn_chandata_parse(buf, want, true, &chan, &p, &plen, &flen) != 0 ||
		    flen != want || plen != n || p != buf + 4 || chan != 0x4123)
			bad++;
		/* the next frame's bytes may follow */
		if (turn_chandata_parse(buf, want + 7, true, &chan, &p, &plen, &flen) != 0 ||
		    flen != want)
			bad++;
	}
	CHECK_INT(bad, 0);

	frame(0x4000, 5);
	CHECK_INT(turn_chandata_parse(buf, 9, true, &chan, &p, &plen, &flen), TP_ETRUNC);
	CHECK_INT(turn_chandata_parse(buf, 12, true, &chan, &p, &plen, &flen), 0);
	CHECK_INT(flen, 12);
	CHECK_INT(plen, 5);

	frame(0x4000, 0xffff);
	CHECK_INT(turn_chandata_parse(buf, 65539, true, &chan, &p, &plen, &flen), TP_ETRUNC);
	CHECK_INT(turn_chandata_parse(buf, 65540, true, &chan, &p, &plen, &flen), 0);
	CHECK_INT(flen, 65540);
	CHECK_INT(plen, 65535);
}

/* The frame length a stream reader needs: ChannelData padded to 4, STUN
 * as its header says, nothing for other bytes or fewer than 4. */
static void test_stream_frame_len(void)
{
	static const uint8_t chan5[] = {0x40, 0x00, 0x00, 0x05};
	static const uint8_t chan8[] = {0x7f, 0xff, 0x00, 0x08};
	static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
	static const uint8_t odd_stun[] = {0x00, 0x01, 0x00, 0x06};
	static const uint8_t other[] = {0x80, 0x00, 0x00, 0x04};
	static const uint8_t high[] = {0x80 | 0x40, 0x00, 0x00, 0x04};

	CHECK_INT(turn_stream_frame_len(chan5, sizeof(chan5)), 12);
	CHECK_INT(turn_stream_frame_len(chan8, sizeof(chan8)), 12);
	CHECK_INT(turn_stream_frame_len(stun, sizeof(stun)), 28);
	CHECK_INT(turn_stream_frame_len(odd_stun, sizeof(odd_stun)), 0);
	CHECK_INT(turn_stream_frame_len(other, sizeof(other)), 0);
	CHECK_INT(turn_stream_frame_len(high, sizeof(high)), 0);
	CHECK_INT(turn_stream_frame_len(chan5, 3), 0);
}

int main(void)
{
	test_header();
	test_datagram();
	test_channels();
	test_stream();
	test_stream_frame_len();
	return check_done("test_stun_chandata");
}
