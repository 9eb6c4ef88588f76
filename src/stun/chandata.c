/* chandata.c - TURN ChannelData framing (RFC 8656 §12.4, §12.5). */
#include "stun/stun_int.h"

int turn_chandata_parse(const uint8_t *buf, size_t len, bool stream, uint16_t *chan,
			const uint8_t **payload, size_t *plen, size_t *frame_len)
{
	struct wire_rd r;
	uint16_t ch, n;
	size_t frame;

	*chan = 0;
	*payload = NULL;
	*plen = 0;
	*frame_len = 0;
	wire_rd_init(&r, buf, len);
	ch = wire_rd_u16(&r);
	n = wire_rd_u16(&r);
	if (r.err)
		return TP_ETRUNC;
	/* RFC 8656 §12 (with RFC 5766's wider range, see stun.h): channels
	 * are 0x4000-0x7FFF; 0x0000-0x3FFF are STUN (RFC 7983). */
	if (ch < TURN_CHANNEL_MIN || ch > TURN_CHANNEL_MAX)
		return TP_EMALFORMED;
	frame = TURN_CHANNELDATA_HDR + (size_t)n;
	/* RFC 8656 §12.5: over streams the frame is padded to 4 bytes; over
	 * UDP the padding is optional and trailing bytes are ignored. */
	if (stream)
		frame = (frame + 3) & ~(size_t)3;
	if (len < frame)
		return TP_ETRUNC;
	*payload = wire_rd_ptr(&r, n);
	if (!*payload)
		return TP_ETRUNC;
	*chan = ch;
	*plen = n;
	*frame_len = frame;
	return 0;
}

size_t turn_stream_frame_len(const uint8_t *buf, size_t len)
{
	struct wire_rd r;
	uint16_t first, n;

	wire_rd_init(&r, buf, len);
	first = wire_rd_u16(&r);
	n = wire_rd_u16(&r);
	if (r.err)
		return 0;
	if (first >= TURN_CHANNEL_MIN && first <= TURN_CHANNEL_MAX)
		return (TURN_CHANNELDATA_HDR + (size_t)n + 3) & ~(size_t)3;
	/* RFC 7983 §7: STUN starts with a byte of 0..3; anything else (4..63,
	 * 128..255) is no TURN framing and the stream cannot be resynced. */
	if (first > 0x03ff)
		return 0;
	return stun_msg_peek_len(buf, len);
}

size_t turn_chandata_header(uint8_t *out, uint16_t chan, uint16_t plen)
{
	struct wire_wr w;

	wire_wr_init(&w, out, TURN_CHANNELDATA_HDR);
	wire_wr_u16(&w, chan);
	wire_wr_u16(&w, plen);
	return TURN_CHANNELDATA_HDR;
}
