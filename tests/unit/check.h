/* check.h - the unit tests' tiny harness: CHECK macros, a counter, and the
 * closing line; each test program exits 0 only when every check passed. */
#ifndef TURNPIKE_TESTS_CHECK_H
#define TURNPIKE_TESTS_CHECK_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"

static unsigned check_run, check_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		check_run++;                                                                     \
		if (!(cond)) {                                                                   \
			check_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);  \
		check_run++;                                                     \
		if (check_a_ != check_b_) {                                      \
			check_failed++;                                          \
			fprintf(stderr,                                          \
				"%s:%d: CHECK failed: %s == %s "                 \
				"(%lld != %lld)\n",                              \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
		}                                                                \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *check_a_ = (a), *check_b_ = (b);                                \
		check_run++;                                                                \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {                 \
			check_failed++;                                                     \
			fprintf(stderr,                                                     \
				"%s:%d: CHECK failed: %s == %s "                            \
				"(\"%s\" != \"%s\")\n",                                     \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                            \
		}                                                                           \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Prints the closing line and returns the exit status for main. */
static inline int check_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, check_run - check_failed, check_failed);
	return check_failed ? 1 : 0;
}

/* Path of a file under the source tree (tests run from the build tree). */
static inline const char *check_srcpath(const char *rel, char *buf, size_t cap)
{
	const char *top = getenv("top_srcdir");
	snprintf(buf, cap, "%s/%s", top ? top : ".", rel);
	return buf;
}

/* Reads the message bytes of a tests/vectors file: the hex byte pairs on
 * lines that are neither comments nor "key: value". Returns the length, or
 * 0 when the file is missing, malformed or longer than cap. */
static inline size_t check_load_vector(const char *name, uint8_t *out, size_t cap)
{
	char rel[128], path[1024], line[512], *tok;
	size_t n = 0;
	FILE *f;

	snprintf(rel, sizeof(rel), "tests/vectors/%s", name);
	f = fopen(check_srcpath(rel, path, sizeof(path)), "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || strchr(line, ':'))
			continue;
		for (tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
			if (n == cap || strlen(tok) != 2 || !isxdigit((unsigned char)tok[0]) ||
			    !isxdigit((unsigned char)tok[1])) {
				fclose(f);
				return 0;
			}
			out[n++] = (uint8_t)strtoul(tok, NULL, 16);
		}
	}
	fclose(f);
	return n;
}

/* An address from a literal the test wrote ("192.0.2.1:5", "[::1]:9"); a
 * typo in the test aborts it. */
static inline struct sockaddr_storage check_addr(const char *s)
{
	struct sockaddr_storage a;

	if (addr_parse(s, 0, &a) != 0)
		abort();
	return a;
}

#endif
