/* attr.c - the STUN attribute table, attribute decoders, and names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "stun/stun_int.h"

#define RANGE(t, lo, hi, n)                  \
	{                                    \
		t, STUN_LEN_RANGE, lo, hi, n \
	}
#define EXACT(t, l, n)                     \
	{                                  \
		t, STUN_LEN_RANGE, l, l, n \
	}
#define ADDR(t, n)                         \
	{                                  \
		t, STUN_LEN_ADDR, 8, 20, n \
	}

/*
 * Every attribute turnpike knows, sorted by type, with the value lengths the
 * parser accepts. Text attributes allow 763 bytes: fewer than 128 characters
 * of up to 6 bytes as a decoder must accept (RFC 8489 §14.9, §14.10, §14.14).
 * Bare section numbers are RFC 8489's; other RFCs are named by number.
 */
const struct stun_attr_desc stun_attr_table[] = {
	ADDR(STUN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS"),     /* §14.1 */
	ADDR(STUN_ATTR_RESPONSE_ADDRESS, "RESPONSE-ADDRESS"), /* RFC 3489 */
	EXACT(STUN_ATTR_CHANGE_REQUEST, 4, "CHANGE-REQUEST"), /* 5780 §7.2 */
	ADDR(STUN_ATTR_SOURCE_ADDRESS, "SOURCE-ADDRESS"),     /* RFC 3489 */
	ADDR(STUN_ATTR_CHANGED_ADDRESS, "CHANGED-ADDRESS"),   /* RFC 3489 */
	/* RFC 8489 §14.3 says < 509 bytes; RFC 5389 allowed < 513: accept it. */
	RANGE(STUN_ATTR_USERNAME, 0, 512, "USERNAME"),
	EXACT(STUN_ATTR_MESSAGE_INTEGRITY, 20, "MESSAGE-INTEGRITY"),                    /* §14.5 */
	RANGE(STUN_ATTR_ERROR_CODE, 4, 4 + 763, "ERROR-CODE"),                          /* §14.8 */
	{STUN_ATTR_UNKNOWN_ATTRIBUTES, STUN_LEN_MUL2, 0, 0xffff, "UNKNOWN-ATTRIBUTES"}, /* §14.13 */
	EXACT(STUN_ATTR_CHANNEL_NUMBER, 4, "CHANNEL-NUMBER"),                     /* 8656 §18.1 */
	EXACT(STUN_ATTR_LIFETIME, 4, "LIFETIME"),                                 /* 8656 §18.2 */
	ADDR(STUN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS"),                     /* 8656 §18.3 */
	RANGE(STUN_ATTR_DATA, 0, 0xffff, "DATA"),                                 /* 8656 §18.4 */
	RANGE(STUN_ATTR_REALM, 0, 763, "REALM"),                                  /* §14.9 */
	RANGE(STUN_ATTR_NONCE, 0, 763, "NONCE"),                                  /* §14.10 */
	ADDR(STUN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS"),               /* 8656 §18.5 */
	EXACT(STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 4, "REQUESTED-ADDRESS-FAMILY"), /* 8656 §18.6 */
	EXACT(STUN_ATTR_EVEN_PORT, 1, "EVEN-PORT"),                               /* 8656 §18.7 */
	EXACT(STUN_ATTR_REQUESTED_TRANSPORT, 4, "REQUESTED-TRANSPORT"),           /* 8656 §18.8 */
	EXACT(STUN_ATTR_DONT_FRAGMENT, 0, "DONT-FRAGMENT"),                       /* 8656 §18.9 */
	{STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_LEN_MUL4, 16, 32,
	 "MESSAGE-INTEGRITY-SHA256"},                                         /* §14.6 */
	RANGE(STUN_ATTR_PASSWORD_ALGORITHM, 4, 0xffff, "PASSWORD-ALGORITHM"), /* §14.12 */
	EXACT(STUN_ATTR_USERHASH, 32, "USERHASH"),                            /* §14.4 */
	ADDR(STUN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS"),             /* §14.2 */
	EXACT(STUN_ATTR_RESERVATION_TOKEN, 8, "RESERVATION-TOKEN"),           /* 8656 §18.10 */
	EXACT(STUN_ATTR_PRIORITY, 4, "PRIORITY"),                             /* 8445 §16.1 */
	EXACT(STUN_ATTR_USE_CANDIDATE, 0, "USE-CANDIDATE"),                   /* 8445 §16.1 */
	RANGE(STUN_ATTR_PADDING, 0, 0xffff, "PADDING"),                       /* 5780 §7.6 */
	EXACT(STUN_ATTR_RESPONSE_PORT, 4, "RESPONSE-PORT"),                   /* 5780 §7.5 */
	EXACT(STUN_ATTR_CONNECTION_ID, 4, "CONNECTION-ID"),                   /* 6062 §6.2.1 */
	EXACT(STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 4,
	      "ADDITIONAL-ADDRESS-FAMILY"),                                    /* 8656 §18.11 */
	RANGE(STUN_ATTR_ADDRESS_ERROR_CODE, 4, 4 + 763, "ADDRESS-ERROR-CODE"), /* 8656 §18.12 */
	{STUN_ATTR_PASSWORD_ALGORITHMS, STUN_LEN_MUL4, 0, 0xffff,
	 "PASSWORD-ALGORITHMS"},                                          /* §14.11 */
	RANGE(STUN_ATTR_ALTERNATE_DOMAIN, 0, 0xffff, "ALTERNATE-DOMAIN"), /* §14.16 */
	EXACT(STUN_ATTR_ICMP, 8, "ICMP"),                                 /* 8656 §18.13 */
	RANGE(STUN_ATTR_SOFTWARE, 0, 763, "SOFTWARE"),                    /* §14.14 */
	ADDR(STUN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER"),             /* §14.15 */
	EXACT(STUN_ATTR_FINGERPRINT, 4, "FINGERPRINT"),                   /* §14.7 */
	EXACT(STUN_ATTR_ICE_CONTROLLED, 8, "ICE-CONTROLLED"),             /* 8445 §16.1 */
	EXACT(STUN_ATTR_ICE_CONTROLLING, 8, "ICE-CONTROLLING"),           /* 8445 §16.1 */
	ADDR(STUN_ATTR_RESPONSE_ORIGIN, "RESPONSE-ORIGIN"),               /* 5780 §7.3 */
	ADDR(STUN_ATTR_OTHER_ADDRESS, "OTHER-ADDRESS"),                   /* 5780 §7.4 */
};

const size_t stun_attr_table_len = sizeof(stun_attr_table) / sizeof(stun_attr_table[0]);

const struct stun_attr_desc *stun_attr_desc_find(uint16_t type)
{
	size_t lo = 0, hi = stun_attr_table_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint16_t t = stun_attr_table[mid].type;

		if (t == type)
			return &stun_attr_table[mid];
		if (t < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool stun_attr_len_ok(const struct stun_attr_desc *d, size_t len)
{
	switch (d->rule) {
	case STUN_LEN_ADDR:
		return len == 8 || len == 20;
	case STUN_LEN_MUL4:
		if (len & 3)
			return false;
		break;
	case STUN_LEN_MUL2:
		if (len & 1)
			return false;
		break;
	default:
		break;
	}
	return len >= d->min && len <= d->max;
}

/*
 * Sets up r over the attribute's value, checking that the attribute lies
 * inside the message (the struct may come from the caller, not the parser).
 */
const uint8_t *stun_attr_bytes(const struct stun_msg *msg, const struct stun_attr *a)
{
	struct wire_rd m;

	wire_rd_init(&m, msg->buf, msg->len);
	wire_rd_skip(&m, a->off);
	return wire_rd_ptr(&m, a->len);
}

static int value_reader(const struct stun_msg *msg, const struct stun_attr *a, struct wire_rd *r)
{
	const uint8_t *v = stun_attr_bytes(msg, a);

	if (!v)
		return TP_EMALFORMED;
	wire_rd_init(r, v, a->len);
	return 0;
}

/*
 * Decodes an (XOR-)address value (RFC 8489 §14.1, §14.2). xor is NULL for
 * plain addresses, else the 16 header bytes: magic cookie and transaction
 * id. The port is XORed with the cookie's top 16 bits, IPv4 with the
 * cookie, IPv6 with cookie || transaction id.
 */
static int get_addr(const struct stun_msg *msg, const struct stun_attr *a, const uint8_t * xor,
		    struct sockaddr_storage *out)
{
	struct wire_rd r;
	uint8_t family, ip[16];
	uint16_t port;
	size_t iplen, i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = value_reader(msg, a, &r);
	if (rc)
		return rc;
	(void)wire_rd_u8(&r); /* reserved */
	family = wire_rd_u8(&r);
	port = wire_rd_u16(&r);
	if (family == 0x01 && a->len == 8)
		iplen = 4;
	else if (family == 0x02 && a->len == 20)
		iplen = 16;
	else
		return TP_EMALFORMED;
	wire_rd_bytes(&r, ip, iplen);
	if (r.err)
		return TP_EMALFORMED;
	if (xor) {
		port ^= (uint16_t)((xor[0] << 8) | xor[1]);
		for (i = 0; i < iplen; i++)
			ip[i] ^= xor[i];
	}
	if (iplen == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
	return 0;
}

int stun_attr_get_addr(const struct stun_msg *msg, const struct stun_attr *a,
		       struct sockaddr_storage *out)
{
	return get_addr(msg, a, NULL, out);
}

int stun_attr_get_xor_addr(const struct stun_msg *msg, const struct stun_attr *a,
			   struct sockaddr_storage *out)
{
	return get_addr(msg, a, msg->txn, out);
}

int stun_attr_get_u32(const struct stun_msg *msg, const struct stun_attr *a, uint32_t *out)
{
	struct wire_rd r;

	*out = 0;
	if (a->len != 4 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	*out = wire_rd_u32(&r);
	return 0;
}

int stun_attr_get_u64(const struct stun_msg *msg, const struct stun_attr *a, uint64_t *out)
{
	struct wire_rd r;
	uint64_t hi;

	*out = 0;
	if (a->len != 8 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	hi = wire_rd_u32(&r);
	*out = hi << 32 | wire_rd_u32(&r);
	return 0;
}

/* RFC 8489 §14.8: 21 reserved bits, a 3-bit class, an 8-bit number. */
int stun_attr_get_error(const struct stun_msg *msg, const struct stun_attr *a, int *code,
			const char **reason, size_t *reason_len)
{
	struct wire_rd r;
	uint8_t cls, num;
	size_t n;

	*code = 0;
	*reason = NULL;
	*reason_len = 0;
	if (a->len < 4 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	(void)wire_rd_u16(&r);
	cls = wire_rd_u8(&r) & 0x07;
	num = wire_rd_u8(&r);
	if (cls < 3 || cls > 6 || num > 99)
		return TP_EMALFORMED;
	n = wire_rd_left(&r);
	*code = cls * 100 + num;
	*reason = (const char *)wire_rd_ptr(&r, n);
	*reason_len = n;
	return 0;
}

int stun_attr_get_unknown(const struct stun_msg *msg, const struct stun_attr *a, uint16_t *types,
			  size_t max, size_t *n)
{
	struct wire_rd r;

	*n = 0;
	if ((a->len & 1) || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	while (*n < max && wire_rd_left(&r) >= 2)
		types[(*n)++] = wire_rd_u16(&r);
	return 0;
}

int stun_attr_get_channel(const struct stun_msg *msg, const struct stun_attr *a, uint16_t *chan)
{
	struct wire_rd r;

	*chan = 0;
	if (a->len != 4 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	*chan = wire_rd_u16(&r); /* RFC 8656 §18.1: then 16 bits RFFU */
	return 0;
}

int stun_attr_get_transport(const struct stun_msg *msg, const struct stun_attr *a, uint8_t *proto)
{
	struct wire_rd r;

	*proto = 0;
	if (a->len != 4 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	*proto = wire_rd_u8(&r); /* RFC 8656 §18.8: then 24 bits RFFU */
	return 0;
}

/*
 * RFC 8656 §18.6, §18.11. Any family byte is returned: an unsupported one
 * is the caller's 440 (Address Family not Supported), not a format error.
 */
int stun_attr_get_family(const struct stun_msg *msg, const struct stun_attr *a, uint8_t *family)
{
	struct wire_rd r;

	*family = 0;
	if (a->len != 4 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	*family = wire_rd_u8(&r);
	return 0;
}

/* RFC 8656 §18.7: one byte, the top bit is R. */
int stun_attr_get_even_port(const struct stun_msg *msg, const struct stun_attr *a, bool *reserve)
{
	struct wire_rd r;

	*reserve = false;
	if (a->len != 1 || value_reader(msg, a, &r))
		return TP_EMALFORMED;
	*reserve = (wire_rd_u8(&r) & 0x80) != 0;
	return 0;
}

const char *stun_attr_name(uint16_t type)
{
	const struct stun_attr_desc *d = stun_attr_desc_find(type);

	return d ? d->name : "unknown";
}

const char *stun_method_name(uint16_t method)
{
	switch (method) {
	case STUN_BINDING:
		return "Binding";
	case TURN_ALLOCATE:
		return "Allocate";
	case TURN_REFRESH:
		return "Refresh";
	case TURN_SEND:
		return "Send";
	case TURN_DATA:
		return "Data";
	case TURN_CREATE_PERMISSION:
		return "CreatePermission";
	case TURN_CHANNEL_BIND:
		return "ChannelBind";
	case TURN_CONNECT:
		return "Connect";
	case TURN_CONNECTION_BIND:
		return "ConnectionBind";
	case TURN_CONNECTION_ATTEMPT:
		return "ConnectionAttempt";
	default:
		return "unknown";
	}
}

const char *stun_class_name(uint8_t cls)
{
	switch (cls) {
	case STUN_REQUEST:
		return "request";
	case STUN_INDICATION:
		return "indication";
	case STUN_SUCCESS:
		return "success response";
	case STUN_ERROR:
		return "error response";
	default:
		return "unknown";
	}
}

/* Reason phrases from the RFCs that define each code. */
const char *stun_error_reason(int code)
{
	switch (code) {
	case STUN_ERR_TRY_ALTERNATE:
		return "Try Alternate"; /* RFC 8489 §14.8 */
	case STUN_ERR_BAD_REQUEST:
		return "Bad Request";
	case STUN_ERR_UNAUTHORIZED:
		return "Unauthenticated"; /* was Unauthorized */
	case STUN_ERR_FORBIDDEN:
		return "Forbidden"; /* RFC 8656 */
	case STUN_ERR_MOBILITY_FORBIDDEN:
		return "Mobility Forbidden"; /* RFC 8016 */
	case STUN_ERR_UNKNOWN_ATTRIBUTE:
		return "Unknown Attribute";
	case STUN_ERR_ALLOCATION_MISMATCH:
		return "Allocation Mismatch";
	case STUN_ERR_STALE_NONCE:
		return "Stale Nonce";
	case STUN_ERR_ADDRESS_FAMILY:
		return "Address Family not Supported";
	case STUN_ERR_WRONG_CREDENTIALS:
		return "Wrong Credentials";
	case STUN_ERR_UNSUPPORTED_TRANSPORT:
		return "Unsupported Transport Protocol";
	case STUN_ERR_PEER_ADDRESS_FAMILY:
		return "Peer Address Family Mismatch";
	case STUN_ERR_CONNECTION_ALREADY_EXISTS:
		return "Connection Already Exists"; /* RFC 6062 §6.3 */
	case STUN_ERR_CONNECTION_TIMEOUT:
		return "Connection Timeout or Failure"; /* RFC 6062 §6.3 */
	case STUN_ERR_QUOTA_REACHED:
		return "Allocation Quota Reached";
	case STUN_ERR_ROLE_CONFLICT:
		return "Role Conflict"; /* RFC 8445 */
	case STUN_ERR_SERVER_ERROR:
		return "Server Error";
	case STUN_ERR_INSUFFICIENT_CAPACITY:
		return "Insufficient Capacity";
	default:
		return "Error";
	}
}
