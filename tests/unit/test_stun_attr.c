/* test_stun_attr.c - unit tests for src/stun/attr.c: the attribute table,
 * every decoder and its error paths, names and reason phrases. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "stun/stun_int.h"

#define T_ANY 0x8fff /* an unknown optional type: any value, any length */

static const uint8_t txn[16] = {0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
				0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static uint8_t buf[2048];
static struct stun_msg msg;

/* Parses a message carrying one attribute, returns it (or NULL). */
static const struct stun_attr *one(uint16_t type, const void *v, size_t len)
{
	struct stun_builder b;
	size_t n;

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_SUCCESS, txn);
	stun_build_attr(&b, type, v, len);
	if (stun_build_finish(&b, &n) || stun_msg_parse(&msg, buf, n) || msg.nattrs != 1)
		return NULL;
	return &msg.attrs[0];
}

static void test_table(void)
{
	static const struct {
		uint16_t type;
		const char *name;
	} all[] = {
		{STUN_ATTR_MAPPED_ADDRESS, "MAPPED-ADDRESS"},
		{STUN_ATTR_RESPONSE_ADDRESS, "RESPONSE-ADDRESS"},
		{STUN_ATTR_CHANGE_REQUEST, "CHANGE-REQUEST"},
		{STUN_ATTR_SOURCE_ADDRESS, "SOURCE-ADDRESS"},
		{STUN_ATTR_CHANGED_ADDRESS, "CHANGED-ADDRESS"},
		{STUN_ATTR_USERNAME, "USERNAME"},
		{STUN_ATTR_MESSAGE_INTEGRITY, "MESSAGE-INTEGRITY"},
		{STUN_ATTR_ERROR_CODE, "ERROR-CODE"},
		{STUN_ATTR_UNKNOWN_ATTRIBUTES, "UNKNOWN-ATTRIBUTES"},
		{STUN_ATTR_CHANNEL_NUMBER, "CHANNEL-NUMBER"},
		{STUN_ATTR_LIFETIME, "LIFETIME"},
		{STUN_ATTR_XOR_PEER_ADDRESS, "XOR-PEER-ADDRESS"},
		{STUN_ATTR_DATA, "DATA"},
		{STUN_ATTR_REALM, "REALM"},
		{STUN_ATTR_NONCE, "NONCE"},
		{STUN_ATTR_XOR_RELAYED_ADDRESS, "XOR-RELAYED-ADDRESS"},
		{STUN_ATTR_REQUESTED_ADDRESS_FAMILY, "REQUESTED-ADDRESS-FAMILY"},
		{STUN_ATTR_EVEN_PORT, "EVEN-PORT"},
		{STUN_ATTR_REQUESTED_TRANSPORT, "REQUESTED-TRANSPORT"},
		{STUN_ATTR_DONT_FRAGMENT, "DONT-FRAGMENT"},
		{STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "MESSAGE-INTEGRITY-SHA256"},
		{STUN_ATTR_PASSWORD_ALGORITHM, "PASSWORD-ALGORITHM"},
		{STUN_ATTR_USERHASH, "USERHASH"},
		{STUN_ATTR_XOR_MAPPED_ADDRESS, "XOR-MAPPED-ADDRESS"},
		{STUN_ATTR_RESERVATION_TOKEN, "RESERVATION-TOKEN"},
		{STUN_ATTR_PRIORITY, "PRIORITY"},
		{STUN_ATTR_USE_CANDIDATE, "USE-CANDIDATE"},
		{STUN_ATTR_PADDING, "PADDING"},
		{STUN_ATTR_RESPONSE_PORT, "RESPONSE-PORT"},
		{STUN_ATTR_CONNECTION_ID, "CONNECTION-ID"},
		{STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, "ADDITIONAL-ADDRESS-FAMILY"},
		{STUN_ATTR_ADDRESS_ERROR_CODE, "ADDRESS-ERROR-CODE"},
		{STUN_ATTR_PASSWORD_ALGORITHMS, "PASSWORD-ALGORITHMS"},
		{STUN_ATTR_ALTERNATE_DOMAIN, "ALTERNATE-DOMAIN"},
		{STUN_ATTR_ICMP, "ICMP"},
		{STUN_ATTR_SOFTWARE, "SOFTWARE"},
		{STUN_ATTR_ALTERNATE_SERVER, "ALTERNATE-SERVER"},
		{STUN_ATTR_FINGERPRINT, "FINGERPRINT"},
		{STUN_ATTR_ICE_CONTROLLED, "ICE-CONTROLLED"},
		{STUN_ATTR_ICE_CONTROLLING, "ICE-CONTROLLING"},
		{STUN_ATTR_RESPONSE_ORIGIN, "RESPONSE-ORIGIN"},
		{STUN_ATTR_OTHER_ADDRESS, "OTHER-ADDRESS"},
	};
	size_t i, n = sizeof(all) / sizeof(all[0]);
	unsigned unsorted = 0, found = 0;

	CHECK_INT(stun_attr_table_len, n);
	for (i = 1; i < stun_attr_table_len; i++)
		if (stun_attr_table[i - 1].type >= stun_attr_table[i].type)
			unsorted++;
	CHECK_INT(unsorted, 0);
	for (i = 0; i < n; i++) {
		CHECK_STR(stun_attr_name(all[i].type), all[i].name);
		if (stun_attr_desc_find(all[i].type))
			found++;
	}
	CHECK_INT(found, n);
	CHECK_STR(stun_attr_name(0x0000), "unknown");
	CHECK_STR(stun_attr_name(0x0007), "unknown");
	CHECK_STR(stun_attr_name(0x8fff), "unknown");
	CHECK_STR(stun_attr_name(0xffff), "unknown");
	CHECK(stun_attr_desc_find(0x0000) == NULL);
	CHECK(stun_attr_desc_find(0xffff) == NULL);

	/* the length rules themselves */
	{
		const struct stun_attr_desc *d;

		d = stun_attr_desc_find(STUN_ATTR_XOR_PEER_ADDRESS);
		CHECK(stun_attr_len_ok(d, 8) && stun_attr_len_ok(d, 20));
		CHECK(!stun_attr_len_ok(d, 12) && !stun_attr_len_ok(d, 0));
		d = stun_attr_desc_find(STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
		CHECK(stun_attr_len_ok(d, 16) && stun_attr_len_ok(d, 32));
		CHECK(!stun_attr_len_ok(d, 18) && !stun_attr_len_ok(d, 36));
		CHECK(!stun_attr_len_ok(d, 12));
		d = stun_attr_desc_find(STUN_ATTR_UNKNOWN_ATTRIBUTES);
		CHECK(stun_attr_len_ok(d, 2) && !stun_attr_len_ok(d, 5));
		d = stun_attr_desc_find(STUN_ATTR_ERROR_CODE);
		CHECK(stun_attr_len_ok(d, 767) && !stun_attr_len_ok(d, 768));
	}
}

static void test_names(void)
{
	CHECK_STR(stun_method_name(STUN_BINDING), "Binding");
	CHECK_STR(stun_method_name(TURN_ALLOCATE), "Allocate");
	CHECK_STR(stun_method_name(TURN_REFRESH), "Refresh");
	CHECK_STR(stun_method_name(TURN_SEND), "Send");
	CHECK_STR(stun_method_name(TURN_DATA), "Data");
	CHECK_STR(stun_method_name(TURN_CREATE_PERMISSION), "CreatePermission");
	CHECK_STR(stun_method_name(TURN_CHANNEL_BIND), "ChannelBind");
	CHECK_STR(stun_method_name(TURN_CONNECT), "Connect");
	CHECK_STR(stun_method_name(TURN_CONNECTION_BIND), "ConnectionBind");
	CHECK_STR(stun_method_name(TURN_CONNECTION_ATTEMPT), "ConnectionAttempt");
	CHECK_STR(stun_method_name(0x000), "unknown");
	CHECK_STR(stun_method_name(0x002), "unknown");
	CHECK_STR(stun_method_name(0xfff), "unknown");

	CHECK_STR(stun_class_name(STUN_REQUEST), "request");
	CHECK_STR(stun_class_name(STUN_INDICATION), "indication");
	CHECK_STR(stun_class_name(STUN_SUCCESS), "success response");
	CHECK_STR(stun_class_name(STUN_ERROR), "error response");
	CHECK_STR(stun_class_name(4), "unknown");

	CHECK_STR(stun_error_reason(300), "Try Alternate");
	CHECK_STR(stun_error_reason(400), "Bad Request");
	CHECK_STR(stun_error_reason(401), "Unauthenticated");
	CHECK_STR(stun_error_reason(403), "Forbidden");
	CHECK_STR(stun_error_reason(405), "Mobility Forbidden");
	CHECK_STR(stun_error_reason(420), "Unknown Attribute");
	CHECK_STR(stun_error_reason(437), "Allocation Mismatch");
	CHECK_STR(stun_error_reason(438), "Stale Nonce");
	CHECK_STR(stun_error_reason(440), "Address Family not Supported");
	CHECK_STR(stun_error_reason(441), "Wrong Credentials");
	CHECK_STR(stun_error_reason(442), "Unsupported Transport Protocol");
	CHECK_STR(stun_error_reason(443), "Peer Address Family Mismatch");
	CHECK_STR(stun_error_reason(446), "Connection Already Exists");
	CHECK_STR(stun_error_reason(447), "Connection Timeout or Failure");
	CHECK_STR(stun_error_reason(486), "Allocation Quota Reached");
	CHECK_STR(stun_error_reason(487), "Role Conflict");
	CHECK_STR(stun_error_reason(500), "Server Error");
	CHECK_STR(stun_error_reason(508), "Insufficient Capacity");
	CHECK_STR(stun_error_reason(0), "Error");
	CHECK_STR(stun_error_reason(499), "Error");
	CHECK_STR(stun_error_reason(-1), "Error");
}

static void test_addr(void)
{
	/* RFC 5769 §2.2 and §2.3 values, with this file's transaction id */
	static const uint8_t xv4[8] = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
	static const uint8_t xv6[20] = {0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3,
					0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
				       0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	static const uint8_t pv4[8] = {0x00, 0x01, 0x0d, 0x96, 10, 1, 2, 3};
	uint8_t bad[20];
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const struct stun_attr *a;
	struct stun_attr fake;

	a = one(STUN_ATTR_XOR_MAPPED_ADDRESS, xv4, 8);
	CHECK(a != NULL);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), 0);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(ntohs(sin->sin_port), 32853);
	CHECK_INT(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	/* read plain, the same bytes are the XORed values */
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), 0);
	CHECK_INT(ntohs(sin->sin_port), 0xa147);
	CHECK_INT(ntohl(sin->sin_addr.s_addr), 0xe112a643);

	a = one(STUN_ATTR_XOR_MAPPED_ADDRESS, xv6, 20);
	CHECK(a != NULL);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), 0);
	CHECK_INT(ss.ss_family, AF_INET6);
	CHECK_INT(ntohs(sin6->sin6_port), 32853);
	CHECK_MEM(&sin6->sin6_addr, v6, 16);
	/* the IPv6 XOR uses the transaction id too */
	msg.txn[15] ^= 0x01;
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), 0);
	CHECK(memcmp(&sin6->sin6_addr, v6, 16) != 0);
	CHECK_INT(sin6->sin6_addr.s6_addr[15], 0x76);
	msg.txn[15] ^= 0x01;

	a = one(STUN_ATTR_MAPPED_ADDRESS, pv4, 8);
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), 0);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(ntohs(sin->sin_port), 3478);
	CHECK_INT(ntohl(sin->sin_addr.s_addr), 0x0a010203);

	/* family and length must agree; unknown families are malformed */
	memset(bad, 0, sizeof(bad));
	bad[1] = 0x02;
	a = one(T_ANY, bad, 8);
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), TP_EMALFORMED);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), TP_EMALFORMED);
	CHECK_INT(ss.ss_family, AF_UNSPEC);
	bad[1] = 0x01;
	a = one(T_ANY, bad, 20);
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), TP_EMALFORMED);
	a = one(T_ANY, bad, 12);
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), TP_EMALFORMED);
	a = one(T_ANY, bad, 4);
	CHECK_INT(stun_attr_get_addr(&msg, a, &ss), TP_EMALFORMED);
	a = one(T_ANY, bad, 0);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), TP_EMALFORMED);
	bad[1] = 0x03;
	a = one(STUN_ATTR_XOR_PEER_ADDRESS, bad, 8);
	CHECK(a != NULL);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), TP_EMALFORMED);
	bad[1] = 0x00;
	a = one(STUN_ATTR_XOR_PEER_ADDRESS, bad, 20);
	CHECK_INT(stun_attr_get_xor_addr(&msg, a, &ss), TP_EMALFORMED);

	/* an attribute struct that points outside the message */
	a = one(STUN_ATTR_MAPPED_ADDRESS, pv4, 8);
	fake = *a;
	fake.off = (uint32_t)msg.len - 4;
	CHECK_INT(stun_attr_get_addr(&msg, &fake, &ss), TP_EMALFORMED);
	fake.off = 0xfffffff0u;
	CHECK_INT(stun_attr_get_addr(&msg, &fake, &ss), TP_EMALFORMED);
	CHECK_INT(stun_attr_get_u32(&msg, &fake, &(uint32_t){0}), TP_EMALFORMED);
}

static void test_numbers(void)
{
	static const uint8_t v[8] = {0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36};
	const struct stun_attr *a;
	uint32_t u32 = 1;
	uint64_t u64 = 1;

	a = one(STUN_ATTR_PRIORITY, v, 4);
	CHECK_INT(stun_attr_get_u32(&msg, a, &u32), 0);
	CHECK_INT(u32, 0x932ff9b1u);
	CHECK_INT(stun_attr_get_u64(&msg, a, &u64), TP_EMALFORMED);
	CHECK_INT(u64, 0);
	a = one(STUN_ATTR_ICE_CONTROLLED, v, 8);
	CHECK_INT(stun_attr_get_u64(&msg, a, &u64), 0);
	CHECK(u64 == 0x932ff9b151263b36ull);
	CHECK_INT(stun_attr_get_u32(&msg, a, &u32), TP_EMALFORMED);
	CHECK_INT(u32, 0);
	a = one(T_ANY, v, 3);
	CHECK_INT(stun_attr_get_u32(&msg, a, &u32), TP_EMALFORMED);
	a = one(T_ANY, v, 7);
	CHECK_INT(stun_attr_get_u64(&msg, a, &u64), TP_EMALFORMED);
}

static void test_error(void)
{
	uint8_t v[32] = {0, 0, 4, 20, 'U', 'n', 'k', 'n', 'o', 'w', 'n'};
	const struct stun_attr *a;
	const char *reason;
	size_t rlen;
	int code;

	a = one(STUN_ATTR_ERROR_CODE, v, 11);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), 0);
	CHECK_INT(code, 420);
	CHECK_INT(rlen, 7);
	CHECK(reason && memcmp(reason, "Unknown", 7) == 0);
	CHECK(reason == (const char *)stun_attr_value(&msg, a) + 4);

	/* reserved bits around the class are ignored */
	v[0] = 0xff;
	v[1] = 0xff;
	v[2] = 0xfd;
	v[3] = 99;
	a = one(STUN_ATTR_ERROR_CODE, v, 4);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), 0);
	CHECK_INT(code, 599);
	CHECK_INT(rlen, 0);

	v[0] = v[1] = 0;
	v[2] = 2;
	v[3] = 0;
	a = one(STUN_ATTR_ERROR_CODE, v, 4);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), TP_EMALFORMED);
	CHECK_INT(code, 0);
	CHECK(reason == NULL);
	v[2] = 7;
	a = one(STUN_ATTR_ERROR_CODE, v, 4);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), TP_EMALFORMED);
	v[2] = 3;
	a = one(STUN_ATTR_ERROR_CODE, v, 4);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), 0);
	CHECK_INT(code, 300);
	v[2] = 6;
	v[3] = 100;
	a = one(STUN_ATTR_ERROR_CODE, v, 4);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), TP_EMALFORMED);
	v[3] = 0;
	a = one(T_ANY, v, 3);
	CHECK_INT(stun_attr_get_error(&msg, a, &code, &reason, &rlen), TP_EMALFORMED);
}

static void test_small(void)
{
	static const uint8_t list[6] = {0x00, 0x1a, 0x80, 0x22, 0x0f, 0xff};
	uint8_t v[8] = {0x40, 0x01, 0xab, 0xcd};
	const struct stun_attr *a;
	uint16_t types[4], chan;
	size_t n;
	uint8_t u8;
	bool r;

	a = one(STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 6);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(types[0], 0x001a);
	CHECK_INT(types[1], 0x8022);
	CHECK_INT(types[2], 0x0fff);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 2, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 0, &n), 0);
	CHECK_INT(n, 0);
	a = one(STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 0);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 4, &n), 0);
	CHECK_INT(n, 0);
	a = one(T_ANY, list, 5);
	CHECK_INT(stun_attr_get_unknown(&msg, a, types, 4, &n), TP_EMALFORMED);

	a = one(STUN_ATTR_CHANNEL_NUMBER, v, 4);
	CHECK_INT(stun_attr_get_channel(&msg, a, &chan), 0);
	CHECK_INT(chan, 0x4001);
	a = one(T_ANY, v, 2);
	CHECK_INT(stun_attr_get_channel(&msg, a, &chan), TP_EMALFORMED);
	CHECK_INT(chan, 0);

	v[0] = 17;
	a = one(STUN_ATTR_REQUESTED_TRANSPORT, v, 4);
	CHECK_INT(stun_attr_get_transport(&msg, a, &u8), 0);
	CHECK_INT(u8, 17);
	a = one(T_ANY, v, 1);
	CHECK_INT(stun_attr_get_transport(&msg, a, &u8), TP_EMALFORMED);

	v[0] = 0x02;
	a = one(STUN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
	CHECK_INT(stun_attr_get_family(&msg, a, &u8), 0);
	CHECK_INT(u8, 0x02);
	v[0] = 0x07; /* for the caller's 440, not a format error */
	a = one(STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
	CHECK_INT(stun_attr_get_family(&msg, a, &u8), 0);
	CHECK_INT(u8, 0x07);
	a = one(T_ANY, v, 8);
	CHECK_INT(stun_attr_get_family(&msg, a, &u8), TP_EMALFORMED);

	v[0] = 0x80;
	a = one(STUN_ATTR_EVEN_PORT, v, 1);
	CHECK_INT(stun_attr_get_even_port(&msg, a, &r), 0);
	CHECK(r);
	v[0] = 0x7f;
	a = one(STUN_ATTR_EVEN_PORT, v, 1);
	CHECK_INT(stun_attr_get_even_port(&msg, a, &r), 0);
	CHECK(!r);
	a = one(T_ANY, v, 4);
	CHECK_INT(stun_attr_get_even_port(&msg, a, &r), TP_EMALFORMED);
}

int main(void)
{
	test_table();
	test_names();
	test_addr();
	test_numbers();
	test_error();
	test_small();
	return check_done("test_stun_attr");
}
