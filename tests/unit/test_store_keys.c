/* test_store_keys.c - unit tests for src/store/keys.c: coturn's key names,
 * turnpike's own, the SCAN pattern with glob characters quoted, the secret
 * tags and the oldest-first order of secrets, API-key digests. */
#include <string.h>

#include "check.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/hex.h"

static void test_names(void)
{
	char b[256], small[16];

	CHECK_INT(store_key_secrets(b, sizeof(b), "north.gov"), 27);
	CHECK_STR(b, "turn/realm/north.gov/secret");
	CHECK(store_key_secret_ages(b, sizeof(b), "north.gov") > 0);
	CHECK_STR(b, "turnpike:realm/north.gov/secret-age");
	CHECK(store_key_user(b, sizeof(b), "north.gov", "gorst") > 0);
	CHECK_STR(b, "turn/realm/north.gov/user/gorst/key");
	CHECK(store_key_user_sha256(b, sizeof(b), "north.gov", "gorst") > 0);
	CHECK_STR(b, "turnpike:realm/north.gov/user/gorst/sha256");
	CHECK(store_key_api_keys(b, sizeof(b), "north.gov") > 0);
	CHECK_STR(b, "turnpike:realm/north.gov/api-keys");
	CHECK_INT(store_key_api_keys(b, sizeof(b), "a\tb"), 0);
	CHECK(store_key_quota(b, sizeof(b), "north.gov", "gorst") > 0);
	CHECK_STR(b, "turnpike:realm/north.gov/quota/gorst");
	CHECK_INT(store_key_quota(b, sizeof(b), "north.gov", "bad\nname"), 0);
	CHECK_INT(store_key_quota(b, sizeof(b), "north.gov", ""), 0);
	CHECK(store_channel_keyevent(b, sizeof(b), 4, "set") > 0);
	CHECK_STR(b, "__keyevent@4__:set");
	CHECK_INT(store_channel_keyevent(b, sizeof(b), 4, ""), 0);
	CHECK(store_channel_keyspace(b, sizeof(b), 3, "turn/realm/r/secret") > 0);
	CHECK_STR(b, "__keyspace@3__:turn/realm/r/secret");
	/* Too small, empty, control characters: 0 and an empty buffer. */
	CHECK_INT(store_key_secrets(small, sizeof(small), "north.gov"), 0);
	CHECK_STR(small, "");
	CHECK_INT(store_key_secrets(b, sizeof(b), ""), 0);
	CHECK_INT(store_key_user(b, sizeof(b), "r", ""), 0);
	CHECK_INT(store_key_user(b, sizeof(b), "r", "a\nb"), 0);
	CHECK_INT(store_key_secrets(b, sizeof(b), NULL), 0);
}

static void test_pattern(void)
{
	char b[256], name[64];
	const char *k;

	CHECK(store_key_users_pattern(b, sizeof(b), "north.gov") > 0);
	CHECK_STR(b, "turn/realm/north.gov/user/*/key");
	CHECK(store_key_users_pattern(b, sizeof(b), "a*b?[c]\\") > 0);
	CHECK_STR(b, "turn/realm/a\\*b\\?\\[c\\]\\\\/user/*/key");
	CHECK_INT(store_key_users_pattern(b, 20, "north.gov"), 0);

	k = "turn/realm/north.gov/user/gorst/key";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 5);
	CHECK_STR(name, "gorst");
	k = "turn/realm/north.gov/user/a/b/key"; /* names may hold '/' */
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 3);
	CHECK_STR(name, "a/b");
	k = "turn/realm/north.gov/user//key";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 0);
	k = "turn/realm/south.gov/user/gorst/key";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 0);
	k = "turn/realm/north.gov/user/gorst/password";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 0);
	/* turnpike's SHA-256 key names the user too (keyevent messages). */
	k = "turnpike:realm/north.gov/user/gorst/sha256";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 5);
	CHECK_STR(name, "gorst");
	k = "turnpike:realm/north.gov/user/gorst/key";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 0);
	k = "turnpike:realm/north.gov/quota/gorst";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, sizeof(name)), 0);
	k = "turn/realm/north.gov/user/a-very-long-name/key";
	CHECK_INT(store_key_user_name(k, strlen(k), "north.gov", name, 8), 0);
}

static void test_tags_and_order(void)
{
	char t1[17], t2[17], t3[17];
	const char *v[4] = {"zeta", "alpha", "mid", "beta"};
	const char *ages[2];

	CHECK_INT(store_secret_tag("alpha", 5, t1), 0);
	CHECK_INT(strlen(t1), 16);
	CHECK_INT(strspn(t1, "0123456789abcdef"), 16);
	CHECK_INT(store_secret_tag("alpha", 5, t2), 0);
	CHECK_STR(t1, t2);
	CHECK_INT(store_secret_tag("beta", 4, t3), 0);
	CHECK(strcmp(t1, t3) != 0);

	/* No ages: byte order. */
	CHECK_INT(store_secrets_sort(v, 4, NULL, 0), 0);
	CHECK_STR(v[0], "alpha");
	CHECK_STR(v[1], "beta");
	CHECK_STR(v[2], "mid");
	CHECK_STR(v[3], "zeta");
	/* beta added before alpha: both after those with no age. */
	ages[0] = t3;
	ages[1] = t1;
	CHECK_INT(store_secrets_sort(v, 4, ages, 2), 0);
	CHECK_STR(v[0], "mid");
	CHECK_STR(v[1], "zeta");
	CHECK_STR(v[2], "beta");
	CHECK_STR(v[3], "alpha"); /* the newest, last */
	CHECK_INT(store_secrets_sort(v, 0, ages, 2), 0);
}

/* The digest the API-key set holds (sha256sum of the bytes), and the hex
 * helpers behind it. */
static void test_api_key_digest(void)
{
	char d[2 * STORE_API_KEY_LEN + 1], h[9];
	uint8_t b[4] = {0}, want[4] = {0x00, 0xab, 0x7f, 0xff};

	CHECK_INT(store_api_key_digest("abc", d), 0);
	CHECK_STR(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT(store_api_key_digest("", d), 0);
	CHECK_STR(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_encode(want, 4, h);
	CHECK_STR(h, "00ab7fff");
	CHECK(hex_decode("00AB7fFf", b, 4));
	CHECK(memcmp(b, want, 4) == 0);
	CHECK(!hex_decode("00ab7fg0", b, 4));
	CHECK(!hex_decode("00ab7f", b, 4)); /* too short: stops at the NUL */
	CHECK(hex_decode("", b, 0));
}

int main(void)
{
	test_names();
	test_pattern();
	test_tags_and_order();
	test_api_key_digest();
	return check_done("test_store_keys");
}
