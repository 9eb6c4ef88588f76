/* test_util_log.c - unit tests for src/util/log.c: level names, file output,
 * level filtering, the rate limiter and escaping of network text. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "turnpike/err.h"
#include "util/log.h"

static char log_path[64], rot_path[80];

/* Reads the whole file at path into a malloc'd string ("" if missing). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	fclose(f);
	return s;
}

/* Empties the log file so each case looks at its own lines. */
static void truncate_log(void)
{
	CHECK_INT(truncate(log_path, 0), 0);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_level_parse(void)
{
	CHECK_INT(log_level_parse("err"), LOG_LVL_ERR);
	CHECK_INT(log_level_parse("error"), LOG_LVL_ERR);
	CHECK_INT(log_level_parse("warn"), LOG_LVL_WARN);
	CHECK_INT(log_level_parse("warning"), LOG_LVL_WARN);
	CHECK_INT(log_level_parse("info"), LOG_LVL_INFO);
	CHECK_INT(log_level_parse("debug"), LOG_LVL_DEBUG);
	CHECK_INT(log_level_parse(""), -1);
	CHECK_INT(log_level_parse("verbose"), -1);
	CHECK_INT(log_level_parse("infos"), -1);
	CHECK_INT(log_level_parse("in"), -1);
	CHECK_INT(log_level_parse("debug "), -1);
}

static void test_file(void)
{
	char *s, big[2000];

	CHECK_INT(log_open(LOG_LVL_INFO, LOG_DEST_FILE, log_path), 0);
	CHECK_INT(log_get_level(), LOG_LVL_INFO);
	log_err("an error %d", 1);
	log_warn("a warning %s", "two");
	log_info("some info %u", 3u);
	log_debug("hidden debug %d", 4);
	log_msg(LOG_LVL_DEBUG, "hidden debug %d", 5);
	s = slurp(log_path);
	CHECK(strstr(s, " error: an error 1\n") != NULL);
	CHECK(strstr(s, " warning: a warning two\n") != NULL);
	CHECK(strstr(s, " info: some info 3\n") != NULL);
	CHECK(strstr(s, "hidden") == NULL);
	CHECK_INT(count_lines(s), 3);
	/* Lines start with an ISO 8601 UTC timestamp. */
	CHECK(strlen(s) > 24 && s[4] == '-' && s[10] == 'T' && s[23] == 'Z');
	free(s);

	/* Raising the level lets debug through; lowering it filters info. */
	truncate_log();
	log_set_level(LOG_LVL_DEBUG);
	CHECK_INT(log_get_level(), LOG_LVL_DEBUG);
	log_debug("shown debug %d", 6);
	log_set_level(LOG_LVL_ERR);
	log_warn("hidden warning");
	log_info("hidden info");
	log_err("shown error");
	s = slurp(log_path);
	CHECK(strstr(s, " debug: shown debug 6\n") != NULL);
	CHECK(strstr(s, " error: shown error\n") != NULL);
	CHECK(strstr(s, "hidden") == NULL);
	CHECK_INT(count_lines(s), 2);
	free(s);

	/* An overlong message is cut, still one whole line. */
	truncate_log();
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_err("%s", big);
	s = slurp(log_path);
	CHECK_INT(count_lines(s), 1);
	CHECK(strlen(s) > 1000 && strlen(s) <= 1100); /* 1023 bytes of message */
	free(s);

	/* log_reopen after the file was rotated away starts a new file. */
	truncate_log();
	log_set_level(LOG_LVL_INFO);
	CHECK_INT(rename(log_path, rot_path), 0);
	log_info("before reopen");
	CHECK_INT(log_reopen(), 0);
	log_info("after reopen");
	s = slurp(rot_path);
	CHECK(strstr(s, "before reopen") != NULL);
	CHECK(strstr(s, "after reopen") == NULL);
	free(s);
	s = slurp(log_path);
	CHECK(strstr(s, "after reopen") != NULL);
	CHECK(strstr(s, "before reopen") == NULL);
	free(s);
	unlink(rot_path);

	log_close();
	/* After close, nothing more goes to the file (it goes to stderr). */
	truncate_log();
	CHECK_INT(log_open(LOG_LVL_ERR, LOG_DEST_STDERR, NULL), 0);
	log_info("not in the file");
	s = slurp(log_path);
	CHECK_STR(s, "");
	free(s);
	/* log_reopen is a no-op when not logging to a file. */
	CHECK_INT(log_reopen(), 0);
	/* "-" means stderr. */
	CHECK_INT(log_open(LOG_LVL_ERR, LOG_DEST_FILE, "-"), 0);
	log_close();
}

static void test_open_fail(void)
{
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	/* The failure is logged to stderr; keep it out of the test output. */
	CHECK(saved >= 0 && null >= 0);
	if (saved < 0 || null < 0)
		return;
	fflush(stderr);
	dup2(null, STDERR_FILENO);
	CHECK_INT(
		log_open(LOG_LVL_INFO, LOG_DEST_FILE, "/nonexistent-dir-for-turnpike-tests/x.log"),
		TP_ESYS);
	log_close();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
}

static void test_ratelimit(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 3);
	const char *p, *q;
	char *s;

	CHECK_INT(log_open(LOG_LVL_INFO, LOG_DEST_FILE, log_path), 0);
	truncate_log();

	/* The first call opens a window; 3 of 5 are printed. */
	rl.window_start = time(NULL) - 1000;
	for (int i = 0; i < 5; i++)
		log_rl(&rl, LOG_LVL_WARN, "rl message %d", i);
	CHECK_INT(rl.printed, 3);
	CHECK_INT(rl.suppressed, 2);
	/* Filtered out by level: neither printed nor counted. */
	log_rl(&rl, LOG_LVL_DEBUG, "rl debug");
	CHECK_INT(rl.suppressed, 2);
	s = slurp(log_path);
	CHECK(strstr(s, "rl message 0\n") != NULL);
	CHECK(strstr(s, "rl message 1\n") != NULL);
	CHECK(strstr(s, "rl message 2\n") != NULL);
	CHECK(strstr(s, "rl message 3") == NULL);
	CHECK(strstr(s, "rl message 4") == NULL);
	CHECK(strstr(s, "suppressed") == NULL);
	CHECK(strstr(s, "rl debug") == NULL);
	CHECK_INT(count_lines(s), 3);
	free(s);

	/* The window ends: the count comes first, then the new message. */
	truncate_log();
	rl.window_start -= 61;
	log_rl(&rl, LOG_LVL_WARN, "rl message %d", 5);
	CHECK_INT(rl.printed, 1);
	CHECK_INT(rl.suppressed, 0);
	s = slurp(log_path);
	p = strstr(s, " warning: (2 similar messages suppressed)\n");
	q = strstr(s, " warning: rl message 5\n");
	CHECK(p != NULL);
	CHECK(q != NULL);
	CHECK(p && q && p < q);
	CHECK_INT(count_lines(s), 2);
	free(s);

	/* A window with nothing suppressed reports nothing. */
	truncate_log();
	rl.window_start -= 61;
	log_rl(&rl, LOG_LVL_WARN, "rl message %d", 6);
	s = slurp(log_path);
	CHECK(strstr(s, "suppressed") == NULL);
	CHECK(strstr(s, "rl message 6\n") != NULL);
	CHECK_INT(count_lines(s), 1);
	free(s);

	/* burst 0 suppresses everything but still counts. */
	{
		struct log_ratelimit none = LOG_RATELIMIT_INIT(60, 0);
		truncate_log();
		log_rl(&none, LOG_LVL_ERR, "never");
		log_rl(&none, LOG_LVL_ERR, "never");
		CHECK_INT(none.suppressed, 2);
		s = slurp(log_path);
		CHECK_STR(s, "");
		free(s);
	}
	log_close();
}

/* Escapes src into a 32-byte buffer limited to cap and checks the result
 * and that nothing at or past cap was touched. */
static void escape_case(size_t cap, const char *src, size_t len, const char *want)
{
	char buf[32];

	memset(buf, 0x5a, sizeof(buf));
	CHECK(log_escape(buf, cap, src, len) == buf);
	if (cap == 0) {
		CHECK_INT(buf[0], 0x5a);
		return;
	}
	CHECK_STR(buf, want);
	CHECK(strlen(buf) < cap);
	for (size_t i = strlen(buf) + 1; i < sizeof(buf); i++) {
		if (buf[i] != 0x5a) {
			CHECK(buf[i] == 0x5a);
			fprintf(stderr, "  (cap %zu: byte %zu written)\n", cap, i);
			break;
		}
	}
}

static void test_escape(void)
{
	static const char mixed[] = "ab\x01\\\xff\n~ \x7f";
	static const char nul[] = {'a', '\0', 'b'};
	char all[256], big[256 * 4 + 1];
	size_t o = 0;

	escape_case(32, "hello", 5, "hello");
	escape_case(32, mixed, sizeof(mixed) - 1, "ab\\x01\\x5c\\xff\\x0a~ \\x7f");
	escape_case(32, nul, sizeof(nul), "a\\x00b");
	escape_case(32, "", 0, "");
	escape_case(32, NULL, 0, "");
	escape_case(32, "%s%n", 4, "%s%n");

	/* Small caps: truncate at a whole character or escape, always
	 * NUL-terminated, never past cap. */
	escape_case(0, "abc", 3, "");
	escape_case(1, "abc", 3, "");
	escape_case(1, "\x01", 1, "");
	escape_case(2, "abc", 3, "a");
	escape_case(2, "\x01", 1, "");
	escape_case(3, "\x01", 1, "");
	escape_case(5, "abcdef", 6, "abcd");
	escape_case(5, "\x01", 1, "\\x01");
	escape_case(5, "a\x01", 2, "a");
	escape_case(5, "\x01\x02", 2, "\\x01");
	escape_case(6, "a\x01", 2, "a\\x01");
	escape_case(9, "\x01\x02", 2, "\\x01\\x02");
	escape_case(8, "\x01\x02", 2, "\\x01");

	/* Every byte value: printable ASCII except backslash kept, the rest
	 * as \xNN with lowercase hex. */
	for (int c = 0; c < 256; c++) {
		all[c] = (char)c;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			big[o++] = (char)c;
		else
			o += (size_t)sprintf(big + o, "\\x%02x", c);
	}
	big[o] = '\0';
	{
		char *out = malloc(o + 1);
		CHECK(out != NULL);
		if (out) {
			log_escape(out, o + 1, all, sizeof(all));
			CHECK_STR(out, big);
			free(out);
		}
	}
}

int main(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/test_util_log.XXXXXX");
	fd = mkstemp(log_path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	snprintf(rot_path, sizeof(rot_path), "%s.1", log_path);

	test_level_parse();
	test_file();
	test_open_fail();
	test_ratelimit();
	test_escape();

	log_close();
	unlink(log_path);
	unlink(rot_path);
	return check_done("test_util_log");
}
