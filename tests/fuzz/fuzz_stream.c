/* fuzz_stream.c - libFuzzer target for what reads the first bytes of a TCP
 * or TLS connection and frames its stream: the PROXY protocol header, the
 * TLS ClientHello's ALPN sniffer, and STUN / ChannelData framing (RFC 8656
 * §12.5), fed whole and in fuzzer-chosen chunks. Aborts on any broken
 * invariant.
 *
 * Input: one byte of flags (bit 0: a PROXY header comes first; bit 1: sniff
 * a ClientHello; bits 2-7: seed of the chunk sizes), then the stream. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/proxy.h"
#include "util/tlshello.h"

#define MAX_FRAMES 4096

struct frames {
	size_t off[MAX_FRAMES], len[MAX_FRAMES];
	size_t n;
	bool broken; /* hit bytes that are no framing */
	size_t used; /* bytes framed */
};

/* One frame (STUN or ChannelData) cut from a stream. */
static void frame_check(const uint8_t *p, size_t n)
{
	const uint8_t *payload;
	uint16_t chan;
	size_t plen, flen;
	struct stun_msg m;
	int rc;

	ASSERT(n >= 4 && n % 4 == 0);
	ASSERT(turn_stream_frame_len(p, n) == n);
	if (p[0] >= 0x40) {
		/* RFC 8656 §12.5: ChannelData padded to 4 over streams. */
		ASSERT(p[0] <= 0x7f);
		ASSERT(turn_chandata_parse(p, n, true, &chan, &payload, &plen, &flen) == 0);
		ASSERT(flen == n && payload == p + 4 && n - 4 - plen < 4);
		/* The same frame over UDP: the padding is trailing bytes. */
		ASSERT(turn_chandata_parse(p, n, false, &chan, &payload, &plen, &flen) == 0);
		ASSERT(flen == 4 + plen);
		/* Cut short: never a frame. */
		ASSERT(turn_chandata_parse(p, n - 1, true, &chan, &payload, &plen, &flen) ==
		       TP_ETRUNC);
		return;
	}
	/* RFC 7983: STUN starts with 0..3. */
	ASSERT(p[0] <= 3);
	ASSERT(stun_msg_peek_len(p, n) == n);
	rc = stun_msg_parse(&m, p, n);
	ASSERT(rc == 0 || rc == TP_ETRUNC || rc == TP_EMALFORMED || rc == TP_ETOOMANY ||
	       rc == TP_EFINGERPRINT);
	if (rc == 0)
		ASSERT(m.len == n);
}

/* Frames buf[0..len) as one read. */
static void frame_whole(const uint8_t *buf, size_t len, struct frames *f)
{
	size_t off = 0, need;

	f->n = 0;
	f->broken = false;
	while (len - off >= 4 && f->n < MAX_FRAMES) {
		need = turn_stream_frame_len(buf + off, len - off);
		if (need == 0) {
			f->broken = true;
			break;
		}
		if (len - off < need)
			break;
		f->off[f->n] = off;
		f->len[f->n++] = need;
		off += need;
	}
	f->used = off;
}

/* Frames the same bytes arriving in chunks through a bounded reassembly
 * buffer, as a connection reads them: the frames must be the same. */
static void frame_chunked(const uint8_t *buf, size_t len, unsigned seed, const struct frames *w)
{
	static uint8_t rx[70 * 1024];
	size_t have = 0, fed = 0, nframes = 0, consumed = 0;
	bool broken = false;

	while (fed < len && !broken && nframes < MAX_FRAMES) {
		size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 61;

		if (chunk > len - fed)
			chunk = len - fed;
		ASSERT(have + chunk <= sizeof(rx));
		memcpy(rx + have, buf + fed, chunk);
		have += chunk;
		fed += chunk;
		while (have >= 4 && nframes < MAX_FRAMES) {
			size_t need = turn_stream_frame_len(rx, have);

			if (need == 0) {
				broken = true;
				break;
			}
			if (have < need)
				break;
			/* the frame the whole read found at this offset */
			ASSERT(nframes < w->n && w->off[nframes] == consumed &&
			       w->len[nframes] == need);
			ASSERT(memcmp(rx, buf + consumed, need) == 0);
			frame_check(rx, need);
			nframes++;
			consumed += need;
			memmove(rx, rx + need, have - need);
			have -= need;
		}
	}
	if (nframes < MAX_FRAMES) {
		ASSERT(nframes == w->n && consumed == w->used);
		ASSERT(broken == w->broken);
	}
}

static void proxy_check(const uint8_t *buf, size_t len, size_t *skip)
{
	struct sockaddr_storage src;
	size_t used = 0;
	int rc = proxy_parse(buf, len, &src, &used);

	*skip = 0;
	ASSERT(rc == 1 || rc == 0 || rc == -1);
	if (rc != 1)
		return;
	ASSERT(used > 0 && used <= len);
	ASSERT(src.ss_family == AF_INET || src.ss_family == AF_INET6 || src.ss_family == AF_UNSPEC);
	/* A header parsed from a prefix parses the same from more bytes. */
	*skip = used;
}

static void hello_check(const uint8_t *buf, size_t len)
{
	const uint8_t *alpn = NULL;
	size_t alen = 0;
	enum tlshello_result r = tlshello_alpn(buf, len, &alpn, &alen);

	ASSERT(r == TLSHELLO_BAD || r == TLSHELLO_MORE || r == TLSHELLO_ALPN ||
	       r == TLSHELLO_NO_ALPN);
	if (r != TLSHELLO_ALPN)
		return;
	ASSERT(alpn >= buf && alpn + alen <= buf + len);
	(void)tlshello_alpn_has(alpn, alen, "stun.turn");
	(void)tlshello_alpn_has(alpn, alen, "http/1.1");
	/* More bytes after a complete record change nothing. */
	if (len > 1) {
		const uint8_t *a2;
		size_t l2;
		enum tlshello_result r2 = tlshello_alpn(buf, len - 1, &a2, &l2);
		ASSERT(r2 != TLSHELLO_NO_ALPN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frames w;
	size_t skip = 0;
	uint8_t flags;

	if (size < 1 || size > 64 * 1024)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (flags & 1)
		proxy_check(data, size, &skip);
	if (flags & 2)
		hello_check(data + skip, size - skip);
	data += skip;
	size -= skip;
	frame_whole(data, size, &w);
	for (size_t i = 0; i < w.n; i++)
		frame_check(data + w.off[i], w.len[i]);
	frame_chunked(data, size, flags >> 2, &w);
	return 0;
}
