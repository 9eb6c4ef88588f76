/* test_store_json.c - unit tests for src/store/json.c: JSON string escaping
 * of untrusted bytes (quotes, control characters, invalid UTF-8, U+2028)
 * and the allocation event line. */
#include <string.h>

#include "check.h"
#include "store/store.h"
#include "util/addr.h"

static const char *esc(const void *s, size_t len)
{
	static char out[256];

	if (!store_json_string(out, sizeof(out), s, len))
		return "(did not fit)";
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

static void test_escape(void)
{
	char small[8];

	CHECK_STR(ESC(""), "\"\"");
	CHECK_STR(ESC("alice"), "\"alice\"");
	CHECK_STR(ESC("a\"b\\c/"), "\"a\\\"b\\\\c/\"");
	CHECK_STR(ESC("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
	CHECK_STR(ESC("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"");
	CHECK_STR(esc("a\0b", 3), "\"a\\u0000b\"");
	/* Valid UTF-8 passes through: 2, 3 and 4 byte sequences. */
	CHECK_STR(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* Not UTF-8: a lone continuation byte, a truncated sequence, an
	 * overlong '/', a surrogate, beyond U+10FFFF, 0xff. */
	CHECK_STR(ESC("\x80"), "\"\\ufffd\"");
	CHECK_STR(ESC("\xc3"), "\"\\ufffd\"");
	CHECK_STR(ESC("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(ESC("\xff"
		      "a"),
		  "\"\\ufffda\"");
	/* U+2028 and U+2029 are escaped (JavaScript line terminators). */
	CHECK_STR(ESC("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
	/* Too small: 0 and an empty string, never a truncated one. */
	CHECK_INT(store_json_string(small, sizeof(small), "abcdef", 6), 0);
	CHECK_STR(small, "");
	CHECK_INT(store_json_string(small, sizeof(small), "abcde", 5), 7);
	CHECK_STR(small, "\"abcde\"");
	CHECK_INT(store_json_string(small, sizeof(small), "\n\n\n", 3), 0);
	CHECK_INT(store_json_string(small, 0, "", 0), 0);
}

/* The worst user name (513 bytes that are not UTF-8) still fits. */
static void test_worst_case(void)
{
	static char out[STORE_EVENT_MAX];
	uint8_t user[513], id[STORE_ALLOC_ID_LEN] = {0};
	struct sockaddr_storage c, r;
	struct store_event ev;

	memset(user, 0xff, sizeof(user));
	addr_parse("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 0, &c);
	addr_parse("[2001:db8:ffff:ffff:ffff:ffff:ffff:fffe]:65535", 0, &r);
	memset(&ev, 0, sizeof(ev));
	ev.event = "interim";
	ev.reason = "connection closed";
	ev.id = id;
	ev.seq = UINT32_MAX;
	ev.time = UINT64_MAX;
	ev.server = "a-rather-long-host-name.of.a.turn.server.example.org";
	ev.realm = "a-long-realm.example.org";
	ev.user = (const char *)user;
	ev.ulen = sizeof(user);
	ev.transport = "dtls";
	ev.client = (struct sockaddr *)&c;
	ev.relay = (struct sockaddr *)&r;
	ev.lifetime = ev.age_ms = UINT64_MAX;
	ev.client_packets = ev.client_bytes = ev.peer_packets = ev.peer_bytes = UINT64_MAX;
	CHECK(store_event_json(&ev, out, sizeof(out)) > 3000);
}

static void test_event(void)
{
	char out[STORE_EVENT_MAX];
	uint8_t id[STORE_ALLOC_ID_LEN];
	struct sockaddr_storage c, r;
	struct store_event ev;
	size_t n;

	for (int i = 0; i < STORE_ALLOC_ID_LEN; i++)
		id[i] = (uint8_t)(0xa0 + i);
	CHECK_INT(addr_parse("192.0.2.10:5000", 0, &c), 0);
	CHECK_INT(addr_parse("[2001:db8::1]:50000", 0, &r), 0);
	memset(&ev, 0, sizeof(ev));
	ev.event = "created";
	ev.id = id;
	ev.seq = 1;
	ev.time = 1700000000;
	ev.server = "turn1";
	ev.realm = "example.org";
	ev.user = "1700003600:al\"ice\n";
	ev.ulen = strlen(ev.user);
	ev.transport = "udp";
	ev.client = (struct sockaddr *)&c;
	ev.relay = (struct sockaddr *)&r;
	ev.lifetime = 600;
	ev.age_ms = 0;
	ev.client_packets = 1;
	ev.client_bytes = 100;
	ev.peer_packets = 2;
	ev.peer_bytes = 200;
	n = store_event_json(&ev, out, sizeof(out));
	CHECK_INT(n, strlen(out));
	CHECK_STR(out,
		  "{\"event\":\"created\",\"id\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
		  "\"seq\":1,\"time\":1700000000,\"server\":\"turn1\",\"realm\":\"example.org\","
		  "\"user\":\"1700003600:al\\\"ice\\n\",\"transport\":\"udp\","
		  "\"client\":\"192.0.2.10:5000\",\"relay\":\"[2001:db8::1]:50000\","
		  "\"lifetime\":600,\"age_ms\":0,\"client_packets\":1,\"client_bytes\":100,"
		  "\"peer_packets\":2,\"peer_bytes\":200}");
	/* A reason, no server, no-auth (empty user). */
	ev.event = "deleted";
	ev.reason = "refresh";
	ev.server = NULL;
	ev.user = "";
	ev.ulen = 0;
	CHECK(store_event_json(&ev, out, sizeof(out)) > 0);
	CHECK(strstr(out, "\"event\":\"deleted\",") != NULL);
	CHECK(strstr(out, "\"reason\":\"refresh\"") != NULL);
	CHECK(strstr(out, "\"server\"") == NULL);
	CHECK(strstr(out, "\"user\":\"\"") != NULL);
	/* A dual allocation's second relayed address follows the first. */
	ev.relay2 = (struct sockaddr *)&c;
	CHECK(store_event_json(&ev, out, sizeof(out)) > 0);
	CHECK(strstr(out, "\"relay\":\"[2001:db8::1]:50000\",\"relay2\":\"192.0.2.10:5000\",") !=
	      NULL);
	ev.relay2 = NULL;
	/* Too small: nothing. */
	CHECK_INT(store_event_json(&ev, out, 40), 0);
	CHECK_STR(out, "");
}

int main(void)
{
	test_escape();
	test_event();
	test_worst_case();
	return check_done("test_store_json");
}
