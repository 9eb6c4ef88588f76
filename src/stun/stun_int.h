/* stun_int.h - private helpers shared by the STUN codec's files. */
#ifndef TURNPIKE_STUN_INT_H
#define TURNPIKE_STUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "turnpike/stun.h"

/* How a known attribute's value length is checked. */
enum stun_len_rule {
	STUN_LEN_RANGE, /* min <= len <= max */
	STUN_LEN_ADDR,  /* 8 (IPv4) or 20 (IPv6) */
	STUN_LEN_MUL4,  /* min <= len <= max and a multiple of 4 */
	STUN_LEN_MUL2   /* min <= len <= max and even */
};

/* One row of the attribute table (attr.c). */
struct stun_attr_desc {
	uint16_t type;
	uint8_t rule; /* enum stun_len_rule */
	uint16_t min;
	uint16_t max;
	const char *name;
};

/* The table, sorted by type; exposed for the unit tests. */
extern const struct stun_attr_desc stun_attr_table[];
extern const size_t stun_attr_table_len;

/* The row for a known attribute type, or NULL. */
const struct stun_attr_desc *stun_attr_desc_find(uint16_t type);

/* Whether len is an allowed value length for the attribute. */
bool stun_attr_len_ok(const struct stun_attr_desc *d, size_t len);

enum stun_mac_alg {
	STUN_MAC_SHA1,
	STUN_MAC_SHA256
};

/*
 * HMAC (RFC 8489 §14.5, §14.6) over msg[0..prefix), as if the header
 * length field (bytes 2..3) held len_field; the message is not copied or
 * modified. prefix is the offset of the MESSAGE-INTEGRITY(-SHA256)
 * attribute header; msglen bounds every read. Writes the full MAC (20 or
 * 32 bytes) to out. Returns 0, TP_EINVAL (prefix out of bounds) or
 * TP_ECRYPTO.
 */
int stun_hmac_prefix(enum stun_mac_alg alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
		     size_t msglen, size_t prefix, uint16_t len_field,
		     uint8_t out[STUN_HMAC_SHA256_LEN]);

/*
 * FINGERPRINT value (RFC 8489 §14.7) for an attribute whose header starts at
 * msg[prefix]: CRC-32 of msg[0..prefix) with the length field replaced by
 * len_field, XOR 0x5354554e. The caller guarantees prefix <= msglen.
 */
uint32_t stun_fingerprint_prefix(const uint8_t *msg, size_t msglen, size_t prefix,
				 uint16_t len_field);

#endif
