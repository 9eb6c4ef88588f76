/* test_store_addr.c - unit tests for src/store/addr.c: coturn's Redis
 * connection strings, unix sockets, redis:// URLs, defaults, and errors that
 * never repeat the password. */
#include <string.h>

#include "check.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"

static struct store_addr a;
static char err[200];

static int parse(const char *s)
{
	return store_addr_parse(s, &a, err, sizeof(err));
}

static void test_defaults(void)
{
	CHECK_INT(parse(""), 0);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_INT(a.port, 6379);
	CHECK_INT(a.db, 0);
	CHECK_STR(a.password, "");
	CHECK_STR(a.user, "");
	CHECK_STR(a.unix_path, "");
	CHECK_INT(a.connect_timeout_ms, STORE_CONNECT_TIMEOUT_MS);
	CHECK_INT(parse("   "), 0);
}

static void test_coturn_form(void)
{
	char buf[300];

	/* The example in coturn's docs. */
	CHECK_INT(parse("ip=127.0.0.1 dbname=2 password=turn connect_timeout=30"), 0);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_INT(a.db, 2);
	CHECK_STR(a.password, "turn");
	CHECK_INT(a.connect_timeout_ms, 30000);
	CHECK_INT(a.port, 6379);
	CHECK_STR(store_addr_format(&a, buf, sizeof(buf)), "127.0.0.1:6379/2");
	CHECK(strstr(buf, "turn") == NULL);

	CHECK_INT(parse("host=redis.example.org port=6380 db=15 passwd=p@ss:w0rd timeout=2"), 0);
	CHECK_STR(a.host, "redis.example.org");
	CHECK_INT(a.port, 6380);
	CHECK_INT(a.db, 15);
	CHECK_STR(a.password, "p@ss:w0rd");
	CHECK_INT(a.connect_timeout_ms, 2000);

	/* coturn's other spellings. */
	CHECK_INT(parse("addr=10.0.0.1 p=7000 database=3 pwd=x"), 0);
	CHECK_STR(a.host, "10.0.0.1");
	CHECK_INT(a.port, 7000);
	CHECK_INT(a.db, 3);
	CHECK_INT(parse("ipaddr=10.0.0.2 secret=y"), 0);
	CHECK_STR(a.password, "y");
	CHECK_INT(parse("hostaddr=10.0.0.3"), 0);
	CHECK_STR(a.host, "10.0.0.3");

	/* IPv6, with or without brackets; tabs and repeated blanks. */
	CHECK_INT(parse("ip=::1\tport=6390   dbname=1"), 0);
	CHECK_STR(a.host, "::1");
	CHECK_STR(store_addr_format(&a, buf, sizeof(buf)), "[::1]:6390/1");
	CHECK_INT(parse("ip=[2001:db8::5]"), 0);
	CHECK_STR(a.host, "2001:db8::5");

	/* An ACL user (Redis 6). */
	CHECK_INT(parse("user=turn password=s3"), 0);
	CHECK_STR(a.user, "turn");
	CHECK_STR(a.password, "s3");

	/* connect_timeout=0 means the default, not "wait forever". */
	CHECK_INT(parse("connect_timeout=0"), 0);
	CHECK_INT(a.connect_timeout_ms, STORE_CONNECT_TIMEOUT_MS);
	/* The last of a repeated key wins. */
	CHECK_INT(parse("port=1 port=2"), 0);
	CHECK_INT(a.port, 2);
}

static void test_unix(void)
{
	char buf[300];

	CHECK_INT(parse("unix=/run/redis/redis.sock dbname=4 password=pw"), 0);
	CHECK_STR(a.unix_path, "/run/redis/redis.sock");
	CHECK_INT(a.db, 4);
	CHECK_STR(store_addr_format(&a, buf, sizeof(buf)), "unix:/run/redis/redis.sock/4");
	CHECK(strstr(buf, "pw") == NULL);
	CHECK_INT(parse("socket=/tmp/r.sock"), 0);
	CHECK_STR(a.unix_path, "/tmp/r.sock");
	CHECK_INT(parse("unix=relative.sock"), TP_EINVAL);
	CHECK_INT(parse("unix="), TP_EINVAL);
}

static void test_url(void)
{
	char buf[300];

	CHECK_INT(parse("redis://"), 0);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_INT(a.port, 6379);
	CHECK_INT(parse("redis://localhost"), 0);
	CHECK_STR(a.host, "localhost");
	CHECK_INT(parse("redis://10.1.2.3:6380/7"), 0);
	CHECK_STR(a.host, "10.1.2.3");
	CHECK_INT(a.port, 6380);
	CHECK_INT(a.db, 7);
	CHECK_INT(parse("redis://:s3cr%40t%3A@[::1]:6381/2"), 0);
	CHECK_STR(a.password, "s3cr@t:");
	CHECK_STR(a.user, "");
	CHECK_STR(a.host, "::1");
	CHECK_INT(a.port, 6381);
	CHECK_INT(a.db, 2);
	CHECK_STR(store_addr_format(&a, buf, sizeof(buf)), "[::1]:6381/2");
	CHECK_INT(parse("redis://turn:pw@redis.internal/"), 0);
	CHECK_STR(a.user, "turn");
	CHECK_STR(a.password, "pw");
	CHECK_STR(a.host, "redis.internal");
	CHECK_INT(a.db, 0);
	CHECK_INT(parse("redis://[::1]"), 0);
	CHECK_STR(a.host, "::1");
	CHECK_INT(parse("redis://:6390"), 0);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_INT(a.port, 6390);
}

static void test_errors(void)
{
	static const char *const bad[] = {
		"port=0",
		"port=65536",
		"port=",
		"port=12x",
		"dbname=-1",
		"dbname=x",
		"dbname=99999999999",
		"connect_timeout=3601",
		"ip=",
		"ip=a/b",
		"frobnicate=1",
		"=x",
		"redis://h:0",
		"redis://h:70000",
		"redis://h:12/x",
		"redis://[::1",
		"redis://h/1?timeout=3",
		"redis://h#x",
		"rediss://h",
		"http://h",
		"redis://%zz@h",
		"redis://h/-1",
		"user=u",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i]);
		CHECK_INT(rc, TP_EINVAL);
		if (rc != TP_EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK(err[0] != '\0');
	}
	/* A user without a password cannot log in. */
	CHECK_INT(parse("redis://u@h"), TP_EINVAL);
	/* The password never shows in a reason. */
	CHECK_INT(parse("password=hunter2 bogus=1"), TP_EINVAL);
	CHECK(strstr(err, "hunter2") == NULL);
	CHECK(strstr(err, "bogus") != NULL);
	CHECK_INT(parse("ip=127.0.0.1 hunter2"), TP_EINVAL);
	CHECK(strstr(err, "hunter2") == NULL);
	CHECK_INT(parse("redis://:hunter2@h:99999"), TP_EINVAL);
	CHECK(strstr(err, "hunter2") == NULL);
	/* And a failed parse leaves no password behind. */
	CHECK_STR(a.password, "");
}

static void test_conf_check(void)
{
	struct conf c;

	CHECK_INT(conf_init(&c), 0);
	CHECK_INT(store_conf_check(&c, err, sizeof(err)), 0);
	c.redis_userdb = strdup("ip=127.0.0.1 port=6379");
	CHECK_INT(store_conf_check(&c, err, sizeof(err)), 0);
	c.redis_statsdb = strdup("port=none");
	CHECK_INT(store_conf_check(&c, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "redis-statsdb") != NULL);
	conf_cleanup(&c);
}

int main(void)
{
	test_defaults();
	test_coturn_form();
	test_unix();
	test_url();
	test_errors();
	test_conf_check();
	return check_done("test_store_addr");
}
