/* test_http_creds.c - unit tests for src/http/creds.c: JSON strings, ttl
 * clamping, user names, issued credentials against an independent HMAC
 * vector, the two JSON answers, and the URIs derived from the listeners. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check.h"
#include "http/http.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"

/* The buffer's contents as a string (static storage, one at a time). */
static const char *text(struct evbuffer *b)
{
	static char out[4096];
	size_t n = evbuffer_get_length(b);

	if (n >= sizeof(out))
		n = sizeof(out) - 1;
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	return out;
}

static void test_json_str(void)
{
	struct evbuffer *b = evbuffer_new();

	http_json_str(b, "alice");
	CHECK_STR(text(b), "\"alice\"");
	http_json_str(b, "");
	CHECK_STR(text(b), "\"\"");
	http_json_str(b, "a\"b\\c");
	CHECK_STR(text(b), "\"a\\\"b\\\\c\"");
	http_json_str(b, "line\nfeed\ttab\x01\x7f");
	CHECK_STR(text(b), "\"line\\u000afeed\\u0009tab\\u0001\\u007f\"");
	http_json_str(b, "</script>");
	CHECK_STR(text(b), "\"\\u003c/script\\u003e\"");
	http_json_str(b, "turn:[::1]:3478?transport=udp");
	CHECK_STR(text(b), "\"turn:[::1]:3478?transport=udp\"");
	evbuffer_free(b);
}

static void test_ttl(void)
{
	long ttl = -1;

	CHECK_INT(http_rest_ttl(NULL, 86400, &ttl), 0);
	CHECK_INT(ttl, 86400);
	CHECK_INT(http_rest_ttl("600", 86400, &ttl), 0);
	CHECK_INT(ttl, 600);
	CHECK_INT(http_rest_ttl("86400", 86400, &ttl), 0);
	CHECK_INT(ttl, 86400);
	CHECK_INT(http_rest_ttl("86401", 86400, &ttl), 0);
	CHECK_INT(ttl, 86400);
	CHECK_INT(http_rest_ttl("99999999999999999999999", 3600, &ttl), 0);
	CHECK_INT(ttl, 3600);
	CHECK_INT(http_rest_ttl("1", 3600, &ttl), 0);
	CHECK_INT(ttl, 1);
	CHECK_INT(http_rest_ttl("0", 3600, &ttl), TP_EINVAL);
	CHECK_INT(http_rest_ttl("-5", 3600, &ttl), TP_EINVAL);
	CHECK_INT(http_rest_ttl("", 3600, &ttl), TP_EINVAL);
	CHECK_INT(http_rest_ttl("60s", 3600, &ttl), TP_EINVAL);
	CHECK_INT(http_rest_ttl(" 60", 3600, &ttl), TP_EINVAL);
	CHECK_INT(http_rest_ttl("+60", 3600, &ttl), TP_EINVAL);
}

static void test_user(void)
{
	char longest[HTTP_USER_MAX + 2];

	CHECK(http_rest_user_ok("alice"));
	CHECK(http_rest_user_ok("user@example.org"));
	CHECK(http_rest_user_ok("a:b")); /* "<ts>:<user>" splits at the first colon */
	CHECK(http_rest_user_ok("with space"));
	CHECK(!http_rest_user_ok(""));
	CHECK(!http_rest_user_ok("tab\there"));
	CHECK(!http_rest_user_ok("nl\n"));
	CHECK(!http_rest_user_ok("caf\xc3\xa9"));
	CHECK(!http_rest_user_ok("del\x7f"));
	memset(longest, 'u', HTTP_USER_MAX);
	longest[HTTP_USER_MAX] = '\0';
	CHECK(http_rest_user_ok(longest));
	longest[HTTP_USER_MAX] = 'u';
	longest[HTTP_USER_MAX + 1] = '\0';
	CHECK(!http_rest_user_ok(longest));
}

static void test_issue(void)
{
	char user[HTTP_USER_MAX + 32], other[HTTP_USER_MAX + 32], pass[64];

	/* Vectors from Python: base64(hmac.new(b"s3cr3t", USERNAME, sha1)). */
	CHECK_INT(http_rest_issue("s3cr3t", "alice", 600, 1700000000, user, sizeof(user), pass,
				  sizeof(pass)),
		  0);
	CHECK_STR(user, "1700000600:alice");
	CHECK_STR(pass, "vpLwL5AN7XGXsHd+MP053kLQ4es=");
	CHECK_INT(http_rest_issue("s3cr3t", "bob", 3600, 1700000000, user, sizeof(user), pass,
				  sizeof(pass)),
		  0);
	CHECK_STR(user, "1700003600:bob");
	CHECK_STR(pass, "xa6XFLG51ykvqIUoYJrVBbSBCjw=");
	/* No user: "<expiry>:<16 hex digits>", a new tag each time. */
	CHECK_INT(http_rest_issue("s3cr3t", NULL, 600, 1700000000, user, sizeof(user), pass,
				  sizeof(pass)),
		  0);
	CHECK_INT(strlen(user), 11 + 2 * HTTP_REST_TAG_BYTES);
	CHECK(!strncmp(user, "1700000600:", 11));
	CHECK_INT(strspn(user + 11, "0123456789abcdef"), 2 * HTTP_REST_TAG_BYTES);
	CHECK_INT(strlen(pass), 28);
	memcpy(other, user, sizeof(other));
	CHECK_INT(http_rest_issue("s3cr3t", NULL, 600, 1700000000, user, sizeof(user), pass,
				  sizeof(pass)),
		  0);
	CHECK(strcmp(user, other) != 0);
	CHECK_INT(http_rest_issue(NULL, "bob", 60, 1, user, sizeof(user), pass, sizeof(pass)),
		  TP_EINVAL);
	CHECK_INT(http_rest_issue("s", "", 60, 1, user, sizeof(user), pass, sizeof(pass)),
		  TP_EINVAL);
	CHECK_INT(http_rest_issue("s", "bob", 0, 1, user, sizeof(user), pass, sizeof(pass)),
		  TP_EINVAL);
	CHECK_INT(http_rest_issue("s", "bob", 60, 1, user, 5, pass, sizeof(pass)), TP_EINVAL);
	CHECK_INT(http_rest_issue("s", "bob", 60, 1, user, sizeof(user), pass, 28), TP_EINVAL);
}

static void test_json_answers(void)
{
	struct evbuffer *b = evbuffer_new();
	char *uris[] = {"turn:192.0.2.1:3478?transport=udp", "stun:192.0.2.1:3478"};

	http_creds_json(b, "1700000600:alice", "vpLwL5AN7XGXsHd+MP053kLQ4es=", 600, uris, 2);
	CHECK_STR(text(b), "{\"username\":\"1700000600:alice\","
			   "\"password\":\"vpLwL5AN7XGXsHd+MP053kLQ4es=\",\"ttl\":600,"
			   "\"uris\":[\"turn:192.0.2.1:3478?transport=udp\","
			   "\"stun:192.0.2.1:3478\"]}\n");
	http_ice_json(b, "1:a", "p", uris, 2, false);
	CHECK_STR(text(b), "{\"iceServers\":[{\"urls\":[\"turn:192.0.2.1:3478?transport=udp\","
			   "\"stun:192.0.2.1:3478\"],\"username\":\"1:a\",\"credential\":\"p\"}],"
			   "\"iceTransportPolicy\":\"all\"}\n");
	http_ice_json(b, "1:a", "p", NULL, 0, true);
	CHECK_STR(text(b), "{\"iceServers\":[{\"urls\":[],\"username\":\"1:a\",\"credential\":"
			   "\"p\"}],\"iceTransportPolicy\":\"relay\"}\n");
	evbuffer_free(b);
}

/* ------------------------------------------------------------------ */
/* URIs. */

/* Builds the URIs and checks them against want (NULL-terminated). */
static void uris_are(const struct http_uri_src *src, const char *const *want)
{
	char **v;
	size_t n, i;

	CHECK_INT(http_uris_build(src, &v, &n), 0);
	for (i = 0; want[i]; i++) {
		CHECK(i < n);
		if (i < n)
			CHECK_STR(v[i], want[i]);
	}
	CHECK_INT(n, i);
	http_uris_free(v, n);
}

static void test_uris(void)
{
	struct sockaddr_storage listen[2] = {check_addr("127.0.0.1"), check_addr("::1")};
	struct relay_addr r4[2], r6[1];
	const struct relay_addr *relay[2] = {r4, r6};
	size_t nrelay[2] = {0, 0};
	struct conf_list turn_uri = {NULL, 0};
	struct http_uri_src src = {
		.turn_uri = &turn_uri,
		.listen = listen,
		.nlisten = 2,
		.relay = relay,
		.nrelay = nrelay,
		.port = 3478,
		.udp = true,
		.tcp = true,
	};
	char *configured[] = {"turns:turn.example.org:443?transport=tcp",
			      "turn:turn.example.org:3478?transport=udp"};

	{
		static const char *const want[] = {"turn:127.0.0.1:3478?transport=udp",
						   "turn:127.0.0.1:3478?transport=tcp",
						   "stun:127.0.0.1:3478",
						   "turn:[::1]:3478?transport=udp",
						   "turn:[::1]:3478?transport=tcp",
						   "stun:[::1]:3478",
						   NULL};
		uris_are(&src, want);
	}
	/* TLS on: turns: at the TLS port, transport tcp (RFC 7065 §3.1). */
	src.tls = true;
	src.tls_port = 5349;
	{
		static const char *const want[] = {"turn:127.0.0.1:3478?transport=udp",
						   "turn:127.0.0.1:3478?transport=tcp",
						   "turns:127.0.0.1:5349?transport=tcp",
						   "stun:127.0.0.1:3478",
						   "turn:[::1]:3478?transport=udp",
						   "turn:[::1]:3478?transport=tcp",
						   "turns:[::1]:5349?transport=tcp",
						   "stun:[::1]:3478",
						   NULL};
		uris_are(&src, want);
	}
	src.tls = false;
	/* UDP off: no turn udp, no stun (stun: means UDP to browsers). */
	src.udp = false;
	src.nlisten = 1;
	src.port = 80;
	{
		static const char *const want[] = {"turn:127.0.0.1:80?transport=tcp", NULL};
		uris_are(&src, want);
	}
	/* Wildcards stand for the advertised relay addresses; a listener
	 * with a 1:1 NAT mapping is advertised by its public address. */
	memset(r4, 0, sizeof(r4));
	memset(r6, 0, sizeof(r6));
	r4[0].bind = check_addr("10.0.0.5");
	r4[0].external = check_addr("198.51.100.7");
	r4[1].bind = check_addr("10.0.0.6");
	r4[1].external = check_addr("10.0.0.6");
	r6[0].bind = check_addr("2001:db8::5");
	r6[0].external = check_addr("2001:db8::5");
	nrelay[0] = 2;
	nrelay[1] = 1;
	listen[0] = check_addr("0.0.0.0");
	listen[1] = check_addr("::");
	src.nlisten = 2;
	src.udp = true;
	src.tcp = false;
	src.port = 3478;
	{
		static const char *const want[] = {"turn:198.51.100.7:3478?transport=udp",
						   "stun:198.51.100.7:3478",
						   "turn:10.0.0.6:3478?transport=udp",
						   "stun:10.0.0.6:3478",
						   "turn:[2001:db8::5]:3478?transport=udp",
						   "stun:[2001:db8::5]:3478",
						   NULL};
		uris_are(&src, want);
	}
	listen[0] = check_addr("10.0.0.5");
	listen[1] = check_addr("0.0.0.0"); /* its relays include 10.0.0.5's: once only */
	{
		static const char *const want[] = {
			"turn:198.51.100.7:3478?transport=udp", "stun:198.51.100.7:3478",
			"turn:10.0.0.6:3478?transport=udp", "stun:10.0.0.6:3478", NULL};
		uris_are(&src, want);
	}
	/* A wildcard of a family without relay addresses gives nothing. */
	nrelay[1] = 0;
	listen[0] = check_addr("::");
	src.nlisten = 1;
	{
		static const char *const want[] = {NULL};
		uris_are(&src, want);
	}
	/* turn-uri wins over everything. */
	turn_uri.v = configured;
	turn_uri.n = 2;
	{
		static const char *const want[] = {"turns:turn.example.org:443?transport=tcp",
						   "turn:turn.example.org:3478?transport=udp",
						   NULL};
		uris_are(&src, want);
	}
	http_uris_free(NULL, 0);
}

int main(void)
{
	test_json_str();
	test_ttl();
	test_user();
	test_issue();
	test_json_answers();
	test_uris();
	return check_done("test_http_creds");
}
