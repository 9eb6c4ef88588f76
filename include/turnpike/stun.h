/* stun.h - pure STUN/TURN message codec (RFC 8489, 8656, 5780, 6062, 8445):
 * parse and build, no sockets, no globals, no allocation. */
#ifndef TURNPIKE_STUN_H
#define TURNPIKE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/err.h"
#include "turnpike/wire.h"

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_TID_LEN 12
#define STUN_MAX_ATTRS 64   /* attributes kept per parsed message */
#define STUN_MAX_UNKNOWN 16 /* unknown comprehension-required types kept */
#define STUN_MAX_MSG 65555  /* 20-byte header + 16-bit length */
#define STUN_HMAC_SHA1_LEN 20
#define STUN_HMAC_SHA256_LEN 32

/* Classes (RFC 8489 §5), as the two class bits C1 C0. */
enum stun_class {
	STUN_REQUEST = 0,
	STUN_INDICATION = 1,
	STUN_SUCCESS = 2,
	STUN_ERROR = 3
};

/* Methods. */
enum stun_method {
	STUN_BINDING = 0x001,
	TURN_ALLOCATE = 0x003,
	TURN_REFRESH = 0x004,
	TURN_SEND = 0x006,
	TURN_DATA = 0x007,
	TURN_CREATE_PERMISSION = 0x008,
	TURN_CHANNEL_BIND = 0x009,
	TURN_CONNECT = 0x00a,           /* RFC 6062 */
	TURN_CONNECTION_BIND = 0x00b,   /* RFC 6062 */
	TURN_CONNECTION_ATTEMPT = 0x00c /* RFC 6062 */
};

/* Attribute types. */
enum stun_attr_type {
	/* RFC 8489 comprehension-required */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_RESPONSE_ADDRESS = 0x0002, /* RFC 3489, 5780 reserved */
	STUN_ATTR_CHANGE_REQUEST = 0x0003,   /* RFC 5780 */
	STUN_ATTR_SOURCE_ADDRESS = 0x0004,   /* RFC 3489 */
	STUN_ATTR_CHANGED_ADDRESS = 0x0005,  /* RFC 3489 */
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_CHANNEL_NUMBER = 0x000C, /* RFC 8656 */
	STUN_ATTR_LIFETIME = 0x000D,
	STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	STUN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	STUN_ATTR_EVEN_PORT = 0x0018,
	STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	STUN_ATTR_DONT_FRAGMENT = 0x001A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_RESERVATION_TOKEN = 0x0022,
	STUN_ATTR_PRIORITY = 0x0024,      /* RFC 8445 */
	STUN_ATTR_USE_CANDIDATE = 0x0025, /* RFC 8445 */
	STUN_ATTR_PADDING = 0x0026,       /* RFC 5780 */
	STUN_ATTR_RESPONSE_PORT = 0x0027, /* RFC 5780 */
	STUN_ATTR_CONNECTION_ID = 0x002A, /* RFC 6062 */
	/* comprehension-optional */
	STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
	STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_ICMP = 0x8004,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,  /* RFC 8445 */
	STUN_ATTR_ICE_CONTROLLING = 0x802A, /* RFC 8445 */
	STUN_ATTR_RESPONSE_ORIGIN = 0x802B, /* RFC 5780 */
	STUN_ATTR_OTHER_ADDRESS = 0x802C    /* RFC 5780 */
};

/* STUN/TURN error codes (the ERROR-CODE attribute's class*100+number). */
enum stun_error_code {
	STUN_ERR_TRY_ALTERNATE = 300,
	STUN_ERR_BAD_REQUEST = 400,
	STUN_ERR_UNAUTHORIZED = 401,
	STUN_ERR_FORBIDDEN = 403,
	STUN_ERR_MOBILITY_FORBIDDEN = 405,
	STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
	STUN_ERR_ALLOCATION_MISMATCH = 437,
	STUN_ERR_STALE_NONCE = 438,
	STUN_ERR_ADDRESS_FAMILY = 440,
	STUN_ERR_WRONG_CREDENTIALS = 441,
	STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
	STUN_ERR_PEER_ADDRESS_FAMILY = 443,
	STUN_ERR_CONNECTION_ALREADY_EXISTS = 446,
	STUN_ERR_CONNECTION_TIMEOUT = 447,
	STUN_ERR_QUOTA_REACHED = 486,
	STUN_ERR_ROLE_CONFLICT = 487,
	STUN_ERR_SERVER_ERROR = 500,
	STUN_ERR_INSUFFICIENT_CAPACITY = 508
};

/* Password algorithms (RFC 8489 §18.5). */
enum stun_password_alg {
	STUN_PWALG_MD5 = 0x0001,
	STUN_PWALG_SHA256 = 0x0002
};

/* One attribute as found in a parsed message; the value stays in the buffer. */
struct stun_attr {
	uint16_t type;
	uint16_t len; /* value length, without padding */
	uint32_t off; /* offset of the value from the start of the message
			* (a 65552-byte message puts values past 65535) */
};

/*
 * A parsed message. It points into the caller's buffer, which must outlive it.
 * Attributes after MESSAGE-INTEGRITY are not kept, except
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; after MESSAGE-INTEGRITY-SHA256
 * only FINGERPRINT; after FINGERPRINT nothing (RFC 8489 §14).
 */
struct stun_msg {
	const uint8_t *buf;
	size_t len;      /* 20 + header length field */
	uint16_t type;   /* raw 14-bit message type */
	uint16_t method; /* enum stun_method */
	uint8_t cls;     /* enum stun_class */
	bool magic;      /* cookie == STUN_MAGIC_COOKIE (else RFC 3489) */
	uint8_t txn[16]; /* bytes 4..19: cookie + transaction id */
	unsigned nattrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	int mi;            /* index into attrs of MESSAGE-INTEGRITY, or -1 */
	int mi256;         /* index of MESSAGE-INTEGRITY-SHA256, or -1 */
	int fp;            /* index of FINGERPRINT, or -1 */
	unsigned nunknown; /* unknown comprehension-required types seen */
	uint16_t unknown[STUN_MAX_UNKNOWN];
};

/*
 * Cheap check for the RFC 7983 demultiplexing: returns the length the whole
 * STUN message would have (20 + length field) if buf starts like one (first
 * two bits zero, length a multiple of 4), else 0. Needs only the first 4
 * bytes; returns 0 when len < 4. Used for stream framing.
 */
size_t stun_msg_peek_len(const uint8_t *buf, size_t len);

/*
 * Parses buf[0..len) as exactly one STUN message (len must equal 20 + the
 * length field). Checks every length, attribute padding, known attributes'
 * value sizes, and FINGERPRINT when present.
 * Returns 0, or TP_ENOTSTUN (shorter than a header, top bits set, length
 * field not a multiple of 4), TP_ETRUNC, TP_EMALFORMED, TP_ETOOMANY,
 * TP_EFINGERPRINT. Unknown comprehension-required attributes are not an error:
 * they are listed in msg->unknown for the caller to answer 420.
 */
int stun_msg_parse(struct stun_msg *msg, const uint8_t *buf, size_t len);

/* Returns the first attribute of this type, or NULL. */
const struct stun_attr *stun_msg_find(const struct stun_msg *msg, uint16_t type);

/* Pointer to the attribute value inside the message buffer. */
static inline const uint8_t *stun_attr_value(const struct stun_msg *msg, const struct stun_attr *a)
{
	return msg->buf + a->off;
}

/* The same, checked to lie inside the message (the attribute struct may
 * come from the caller, not the parser), or NULL. */
const uint8_t *stun_attr_bytes(const struct stun_msg *msg, const struct stun_attr *a);

/* Copies the value of the first attribute of this type into dst (cap
 * bytes) and sets *len; false, leaving both alone, when it is absent or
 * longer than cap. */
bool stun_msg_copy(const struct stun_msg *msg, uint16_t type, uint8_t *dst, size_t cap,
		   size_t *len);

/*
 * Attribute decoders. Each returns 0 or TP_EMALFORMED (TP_ENOTFOUND from the
 * *_find variants when absent).
 */
int stun_attr_get_addr(const struct stun_msg *msg, const struct stun_attr *a,
		       struct sockaddr_storage *out);
/* XOR-MAPPED / XOR-PEER / XOR-RELAYED: undoes the XOR with cookie and txn. */
int stun_attr_get_xor_addr(const struct stun_msg *msg, const struct stun_attr *a,
			   struct sockaddr_storage *out);
int stun_attr_get_u32(const struct stun_msg *msg, const struct stun_attr *a, uint32_t *out);
int stun_attr_get_u64(const struct stun_msg *msg, const struct stun_attr *a, uint64_t *out);
/* ERROR-CODE: code = class*100 + number; reason points into the message. */
int stun_attr_get_error(const struct stun_msg *msg, const struct stun_attr *a, int *code,
			const char **reason, size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: copies up to max types, sets *n to the count copied. */
int stun_attr_get_unknown(const struct stun_msg *msg, const struct stun_attr *a, uint16_t *types,
			  size_t max, size_t *n);
/* CHANNEL-NUMBER: the 16-bit number (RFFU half ignored). */
int stun_attr_get_channel(const struct stun_msg *msg, const struct stun_attr *a, uint16_t *chan);
/* REQUESTED-TRANSPORT: the protocol number (17 UDP, 6 TCP). */
int stun_attr_get_transport(const struct stun_msg *msg, const struct stun_attr *a, uint8_t *proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: 0x01 v4, 0x02 v6;
 * other values are returned as they are, for the caller's 440. */
int stun_attr_get_family(const struct stun_msg *msg, const struct stun_attr *a, uint8_t *family);
/* EVEN-PORT: the R bit. */
int stun_attr_get_even_port(const struct stun_msg *msg, const struct stun_attr *a, bool *reserve);

/* Message-level convenience finders (return TP_ENOTFOUND when absent). */
int stun_msg_xor_addr(const struct stun_msg *msg, uint16_t type, struct sockaddr_storage *out);
int stun_msg_u32(const struct stun_msg *msg, uint16_t type, uint32_t *out);

/*
 * Integrity (RFC 8489 §14.5, §14.6). key is the HMAC key: for short-term
 * credentials the password (after OpaqueString), for long-term the
 * MD5/SHA-256 of "user:realm:pass". Compares in constant time.
 * Returns 0, TP_ENOTFOUND (attribute absent), TP_EINTEGRITY, or
 * TP_ECRYPTO (OpenSSL failed).
 */
int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *key, size_t keylen);
int stun_msg_check_integrity_sha256(const struct stun_msg *msg, const uint8_t *key, size_t keylen);

/* HMAC-SHA256 of in, with the per-thread context the integrity checks use:
 * cheap when key is the one it was last given (the nonce key, say).
 * Returns 0 or TP_ECRYPTO. */
int stun_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *in, size_t inlen,
		     uint8_t out[STUN_HMAC_SHA256_LEN]);

/* CRC-32 (ISO-HDLC, as zlib) used by FINGERPRINT. */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

/* Names for logs and tools: never NULL. */
const char *stun_method_name(uint16_t method);
const char *stun_attr_name(uint16_t type);
const char *stun_class_name(uint8_t cls);
/* The RFC's reason phrase for an error code, or "Error". */
const char *stun_error_reason(int code);

/* Message type from method and class, and back (RFC 8489 §5 bit layout). */
uint16_t stun_type_make(uint16_t method, uint8_t cls);
void stun_type_split(uint16_t type, uint16_t *method, uint8_t *cls);

/* ------------------------------------------------------------------ */
/* Builder. Errors are sticky: check the return of stun_build_finish. */

struct stun_builder {
	struct wire_wr w;
	uint8_t txn[16]; /* cookie + transaction id, for XOR encodings */
	bool sealed;     /* FINGERPRINT written: nothing more may follow */
	uint16_t last;   /* type of the last attribute written, 0 for none
			   * (RFC 8489 §14.5-§14.7 ordering) */
	int err;         /* first error other than running out of space
			   * (TP_EINVAL, TP_ECRYPTO), or 0 */
};

/*
 * Starts a message of the given type in buf (cap bytes). txn holds the
 * 4-byte cookie followed by the 12-byte transaction id, as in the header.
 */
void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
		     const uint8_t txn[16]);

/* Fills txn with the magic cookie and 12 random bytes from the CSPRNG. */
int stun_txn_new(uint8_t txn[16]);

void stun_build_attr(struct stun_builder *b, uint16_t type, const void *val, size_t len);
void stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v);
void stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v);
void stun_build_string(struct stun_builder *b, uint16_t type, const char *s);
void stun_build_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa);
void stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa);
void stun_build_error(struct stun_builder *b, int code, const char *reason);
/* Marks the message as failed with err (the first failure stands):
 * stun_build_finish returns it. For attributes built outside this codec. */
void stun_build_fail(struct stun_builder *b, int err);
/* ADDRESS-ERROR-CODE (RFC 8656 §18.12): the same for one address family
 * (0x01 IPv4, 0x02 IPv6) of a dual allocation request. */
void stun_build_address_error(struct stun_builder *b, uint8_t family, int code, const char *reason);
void stun_build_unknown(struct stun_builder *b, const uint16_t *types, size_t n);
void stun_build_channel(struct stun_builder *b, uint16_t chan);
void stun_build_transport(struct stun_builder *b, uint8_t proto);
void stun_build_family(struct stun_builder *b, uint16_t type, uint8_t family);
void stun_build_even_port(struct stun_builder *b, bool reserve);
void stun_build_empty(struct stun_builder *b, uint16_t type);

/* MESSAGE-INTEGRITY (HMAC-SHA1, 20 bytes) and MESSAGE-INTEGRITY-SHA256
 * (HMAC-SHA256, truncated to len: 16..32, multiple of 4). */
void stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen);
void stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen,
				 size_t len);
/* FINGERPRINT; must be last. */
void stun_build_fingerprint(struct stun_builder *b);

/* Patches the length field. Returns 0 and the message length in *len, or
 * (with *len 0) TP_ENOSPC (buffer or the 16-bit length too small),
 * TP_EINVAL (a bad argument, or an attribute where RFC 8489 §14.5-§14.7
 * forbid one: after FINGERPRINT, or other than MESSAGE-INTEGRITY-SHA256 /
 * FINGERPRINT after MESSAGE-INTEGRITY), TP_ECRYPTO (OpenSSL failed). */
int stun_build_finish(struct stun_builder *b, size_t *len);

/* ------------------------------------------------------------------ */
/* ChannelData (RFC 8656 §12.4). */

/* RFC 8656 §12 has clients pick 0x4000-0x4FFF and reserves the rest;
 * RFC 5766 allowed 0x4000-0x7FFF and clients still in use (coturn's own
 * turnutils_uclient among them) pick from it. We accept the older range:
 * nothing else on a TURN port starts with 0x50-0x7F (RFC 7983). */
#define TURN_CHANNEL_MIN 0x4000
#define TURN_CHANNEL_MAX 0x7FFF
#define TURN_CHANNELDATA_HDR 4

/*
 * Parses a ChannelData header at buf. On success sets *chan, *payload and
 * *plen. `stream` selects stream framing: the frame is then padded to 4 and
 * *frame_len covers the padding; over UDP trailing bytes past the length are
 * allowed (RFC 8656 §12.5). Returns 0, TP_ETRUNC, TP_EMALFORMED.
 */
int turn_chandata_parse(const uint8_t *buf, size_t len, bool stream, uint16_t *chan,
			const uint8_t **payload, size_t *plen, size_t *frame_len);

/*
 * Length of the frame at the start of a TURN stream (TCP, TLS; RFC 8656
 * §12.5): a STUN message, or ChannelData padded to 4. Needs the first 4
 * bytes; returns 0 when len < 4 or the bytes start neither.
 */
size_t turn_stream_frame_len(const uint8_t *buf, size_t len);

/* Writes the 4-byte ChannelData header; returns the header length (4). */
size_t turn_chandata_header(uint8_t *out, uint16_t chan, uint16_t plen);

#endif
