/* test_auth_rest.c - unit tests for src/auth/rest.c: TURN REST passwords and username splitting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "check.h"
#include "turnpike/err.h"

/* Computed independently when the test was written:
 *   printf %s "$user" | openssl dgst -sha1 -hmac "$secret" -binary | base64 */
static void test_password(void)
{
	const char *secret = "north-secret";
	char out[64];

	CHECK_INT(auth_rest_password((const uint8_t *)secret, strlen(secret), "1700000000:alice",
				     16, out, sizeof(out)),
		  28);
	CHECK_STR(out, "g+jb180fcj+xlpA/2mP60OdIgU0=");
	CHECK_INT(auth_rest_password((const uint8_t *)secret, strlen(secret), "alice:1700000000",
				     16, out, sizeof(out)),
		  28);
	CHECK_STR(out, "52TSe1tgw7NcvDWjANEccHiOJQQ=");

	/* Only ulen bytes of the username count. */
	CHECK_INT(auth_rest_password((const uint8_t *)secret, strlen(secret),
				     "1700000000:alice:extra", 16, out, sizeof(out)),
		  28);
	CHECK_STR(out, "g+jb180fcj+xlpA/2mP60OdIgU0=");

	/* Another secret, another password. */
	CHECK_INT(auth_rest_password((const uint8_t *)"south", 5, "1700000000:alice", 16, out,
				     sizeof(out)),
		  28);
	CHECK(strcmp(out, "g+jb180fcj+xlpA/2mP60OdIgU0=") != 0);

	/* 28 characters and a NUL, or nothing. */
	memset(out, 'x', sizeof(out));
	CHECK_INT(auth_rest_password((const uint8_t *)secret, strlen(secret), "1700000000:alice",
				     16, out, 28),
		  0);
	CHECK_INT(out[0], 'x');
	CHECK_INT(auth_rest_password((const uint8_t *)secret, strlen(secret), "1700000000:alice",
				     16, out, 29),
		  28);
	CHECK_INT(auth_rest_password(NULL, 3, "a", 1, out, sizeof(out)), 0);
	CHECK_INT(auth_rest_password((const uint8_t *)"s", 1, NULL, 1, out, sizeof(out)), 0);
	CHECK_INT(auth_rest_password((const uint8_t *)"s", 1, "a", 1, NULL, 64), 0);
}

/* Splits a copy of s held in a buffer of exactly its length (no NUL), so
 * ASan sees any read past it. */
static int split(const char *s, uint64_t *ts, char *user, size_t cap)
{
	size_t len = strlen(s), ulen = 0;
	char *copy = malloc(len ? len : 1);
	const char *u = NULL;
	int rc;

	if (!copy)
		return -100;
	memcpy(copy, s, len);
	rc = auth_rest_split(copy, len, ts, &u, &ulen);
	user[0] = '\0';
	if (rc == 0) {
		CHECK(u >= copy && u + ulen <= copy + len);
		if (ulen < cap) {
			memcpy(user, u, ulen);
			user[ulen] = '\0';
		}
	} else {
		CHECK(u == NULL);
		CHECK_INT(ulen, 0);
	}
	free(copy);
	return rc;
}

static void split_ok(const char *s, uint64_t want_ts, const char *want_user)
{
	char user[64];
	uint64_t ts = 0;
	int rc = split(s, &ts, user, sizeof(user));

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  (\"%s\" rejected)\n", s);
		return;
	}
	CHECK(ts == want_ts);
	CHECK_STR(user, want_user);
}

static void split_bad(const char *s)
{
	char user[64];
	uint64_t ts = 1;
	int rc = split(s, &ts, user, sizeof(user));

	CHECK_INT(rc, TP_EINVAL);
	if (rc != TP_EINVAL)
		fprintf(stderr, "  (\"%s\" accepted)\n", s);
	CHECK(ts == 0);
}

static void test_split(void)
{
	/* The draft's "<timestamp>:<user>" and coturn's "<user>:<timestamp>". */
	split_ok("1700000000:alice", 1700000000, "alice");
	split_ok("alice:1700000000", 1700000000, "alice");
	/* The user part may hold colons on either side. */
	split_ok("1700000000:alice:work", 1700000000, "alice:work");
	split_ok("alice:work:1700000000", 1700000000, "alice:work");
	split_ok("1700000000::", 1700000000, ":");
	/* Both sides numeric: the timestamp-first reading wins. */
	split_ok("123:456", 123, "456");
	split_ok("0:x", 0, "x");
	split_ok("x:0", 0, "x");
	split_ok("0001700000000:bob", 1700000000, "bob");
	split_ok("18446744073709551615:max", UINT64_MAX, "max");
	split_ok("max:18446744073709551615", UINT64_MAX, "max");
	/* A bad first part falls back to the last one. */
	split_ok("12a:bob:99", 99, "12a:bob");

	split_bad("");
	split_bad(":");
	split_bad("alice");
	split_bad("1700000000");
	split_bad("1700000000:");
	split_bad(":1700000000");
	split_bad("alice:bob");
	split_bad("12a:bob");
	split_bad("-5:bob");
	split_bad("+5:bob");
	split_bad(" 5:bob");
	split_bad("bob:5 ");
	split_bad("bob:0x10");
	split_bad("18446744073709551616:bob");
	split_bad("bob:18446744073709551616");
	split_bad("99999999999999999999999:bob");
	split_bad("000000000000000000001:bob"); /* 21 digits */

	/* Only len bytes are looked at. */
	{
		const char *s = "1700000000:alice", *u = NULL;
		uint64_t ts = 0;
		size_t ulen = 0;

		CHECK_INT(auth_rest_split(s, 11, &ts, &u, &ulen), TP_EINVAL);
		CHECK_INT(auth_rest_split(s, 12, &ts, &u, &ulen), 0);
		CHECK_INT(ulen, 1);
		CHECK_INT(auth_rest_split(NULL, 5, &ts, &u, &ulen), TP_EINVAL);
	}
}

int main(void)
{
	test_password();
	test_split();
	return check_done("test_auth_rest");
}
