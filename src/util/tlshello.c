/* tlshello.c - the ALPN extension of a TLS ClientHello, parsed with the
 * bounded reader: record header (RFC 8446 §5.1), handshake header
 * (§4), ClientHello fields (§4.1.2), extensions (§4.2), ALPN (RFC 7301
 * §3.1). Nothing is decrypted or checked beyond what routing needs. */
#include "util/tlshello.h"

#include <string.h>

#include "turnpike/wire.h"

#define CONTENT_HANDSHAKE 22
#define HANDSHAKE_CLIENT_HELLO 1
#define EXT_ALPN 16

/* Skips a vector whose length takes n bytes (1 or 2). */
static void skip_vector(struct wire_rd *r, int n)
{
	size_t len = n == 1 ? wire_rd_u8(r) : wire_rd_u16(r);

	wire_rd_skip(r, len);
}

enum tlshello_result tlshello_alpn(const uint8_t *buf, size_t len, const uint8_t **alpn,
				   size_t *alpn_len)
{
	struct wire_rd rec, hs, ext;
	size_t rlen, hlen, elen;

	wire_rd_init(&rec, buf, len);
	if (len < 5)
		return len && buf[0] != CONTENT_HANDSHAKE ? TLSHELLO_BAD : TLSHELLO_MORE;
	if (wire_rd_u8(&rec) != CONTENT_HANDSHAKE)
		return TLSHELLO_BAD;
	wire_rd_skip(&rec, 2); /* legacy_record_version */
	rlen = wire_rd_u16(&rec);
	if (rlen == 0 || rlen > TLSHELLO_MAX - 5)
		return TLSHELLO_BAD;
	if (wire_rd_left(&rec) < rlen)
		return TLSHELLO_MORE;
	wire_rd_init(&hs, wire_rd_ptr(&rec, rlen), rlen);
	if (wire_rd_u8(&hs) != HANDSHAKE_CLIENT_HELLO)
		return TLSHELLO_BAD;
	hlen = (size_t)wire_rd_u8(&hs) << 16;
	hlen |= wire_rd_u16(&hs);
	if (hs.err || hlen > wire_rd_left(&hs))
		return TLSHELLO_BAD; /* split over records */
	wire_rd_init(&hs, wire_rd_ptr(&hs, hlen), hlen);
	wire_rd_skip(&hs, 2 + 32); /* legacy_version, random */
	skip_vector(&hs, 1);       /* legacy_session_id */
	skip_vector(&hs, 2);       /* cipher_suites */
	skip_vector(&hs, 1);       /* legacy_compression_methods */
	if (hs.err)
		return TLSHELLO_BAD;
	if (wire_rd_left(&hs) == 0)
		return TLSHELLO_NO_ALPN; /* no extensions at all */
	elen = wire_rd_u16(&hs);
	wire_rd_init(&ext, wire_rd_ptr(&hs, elen), elen);
	if (hs.err)
		return TLSHELLO_BAD;
	while (wire_rd_left(&ext) > 0) {
		uint16_t type = wire_rd_u16(&ext);
		size_t n = wire_rd_u16(&ext);
		const uint8_t *v = wire_rd_ptr(&ext, n);
		struct wire_rd a;
		size_t list;

		if (ext.err)
			return TLSHELLO_BAD;
		if (type != EXT_ALPN)
			continue;
		/* RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>. */
		wire_rd_init(&a, v, n);
		list = wire_rd_u16(&a);
		if (a.err || list < 2 || list != wire_rd_left(&a))
			return TLSHELLO_BAD;
		*alpn = wire_rd_ptr(&a, list);
		*alpn_len = list;
		return TLSHELLO_ALPN;
	}
	return TLSHELLO_NO_ALPN;
}

bool tlshello_alpn_has(const uint8_t *list, size_t len, const char *proto)
{
	struct wire_rd r;
	size_t want = strlen(proto);

	wire_rd_init(&r, list, len);
	while (wire_rd_left(&r) > 0) {
		size_t n = wire_rd_u8(&r);
		const uint8_t *name = wire_rd_ptr(&r, n);

		if (r.err)
			return false;
		if (n == want && memcmp(name, proto, n) == 0)
			return true;
	}
	return false;
}
