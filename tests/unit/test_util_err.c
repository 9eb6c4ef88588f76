/* test_util_err.c - unit tests for src/util/err.c: every error code has its
 * own text, and values outside the enum are "unknown error". */
#include <limits.h>
#include <string.h>

#include "check.h"
#include "turnpike/err.h"

static void test_known(void)
{
	for (int e = TP_OK; e >= TP_ERR_MIN; e--) {
		const char *s = tp_strerror(e);

		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK(s[0] != '\0');
		CHECK(strcmp(s, "unknown error") != 0);
		for (int f = TP_OK; f > e; f--) {
			const char *t = tp_strerror(f);
			CHECK(t == NULL || strcmp(s, t) != 0);
		}
	}
	CHECK_STR(tp_strerror(TP_OK), "success");
	CHECK_STR(tp_strerror(TP_ENOMEM), "out of memory");
	CHECK_STR(tp_strerror(TP_EINVAL), "invalid argument");
}

static void test_unknown(void)
{
	static const int bad[] = {1, 2, 400, INT_MAX, TP_ERR_MIN - 1, TP_ERR_MIN - 100, INT_MIN};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_STR(tp_strerror(bad[i]), "unknown error");
}

int main(void)
{
	test_known();
	test_unknown();
	return check_done("test_util_err");
}
