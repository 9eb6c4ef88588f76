/* tlshello.h - the ALPN offer of a TLS ClientHello (RFC 8446 §4.1.2,
 * RFC 7301 §3.1) read from the first bytes of a connection before any TLS
 * library sees them, so a shared port can route it: a pure parser, no
 * sockets. */
#ifndef TURNPIKE_UTIL_TLSHELLO_H
#define TURNPIKE_UTIL_TLSHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most a first record may take: a 5-byte header and 2^14 bytes
 * (RFC 8446 §5.1). */
#define TLSHELLO_MAX (5 + 16384)

enum tlshello_result {
	TLSHELLO_BAD = -1, /* not a ClientHello in one record: let TLS judge it */
	TLSHELLO_MORE = 0, /* more bytes needed */
	TLSHELLO_ALPN = 1, /* *alpn and *alpn_len: the ProtocolNameList */
	TLSHELLO_NO_ALPN = 2
};

/*
 * Reads the ClientHello in the first TLS record of buf[0..len). A
 * ClientHello split over several records (legal, never seen from browsers
 * or TLS libraries below 16 KiB) is TLSHELLO_BAD. On TLSHELLO_ALPN, *alpn
 * points into buf at the protocol names, each a length byte and the name.
 */
enum tlshello_result tlshello_alpn(const uint8_t *buf, size_t len, const uint8_t **alpn,
				   size_t *alpn_len);

/* Whether the ProtocolNameList list[0..len) holds the name proto. */
bool tlshello_alpn_has(const uint8_t *list, size_t len, const char *proto);

#endif
