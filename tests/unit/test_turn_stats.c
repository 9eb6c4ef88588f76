/* test_turn_stats.c - unit tests for src/turn/stats.c: summing per-worker
 * counters and the counter names. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "turn/stats.h"

#define NCOUNTERS (sizeof(struct turn_stats) / sizeof(uint64_t))

static void test_sum(void)
{
	struct turn_stats a, b, zero;
	uint64_t *pa = (uint64_t *)&a, *pb = (uint64_t *)&b;
	unsigned bad = 0;

	/* The struct is nothing but counters. */
	CHECK_INT(sizeof(struct turn_stats) % sizeof(uint64_t), 0);
	CHECK(NCOUNTERS > 0);

	for (size_t i = 0; i < NCOUNTERS; i++) {
		pa[i] = 1000000 + i;
		pb[i] = (uint64_t)(i + 1) << 20;
	}
	stats_sum(&a, &b);
	for (size_t i = 0; i < NCOUNTERS; i++)
		if (pa[i] != 1000000 + i + ((uint64_t)(i + 1) << 20))
			bad++;
	CHECK_INT(bad, 0);
	/* src is left alone. */
	bad = 0;
	for (size_t i = 0; i < NCOUNTERS; i++)
		if (pb[i] != (uint64_t)(i + 1) << 20)
			bad++;
	CHECK_INT(bad, 0);

	/* Named fields at both ends of the struct are included. */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.rx_msgs[TP_UDP] = 3;
	b.drops[DROP_MAX - 1] = 4;
	b.tcp_closed_bad = 5;
	STAT_INC(b.tx_errors);
	stats_sum(&a, &b);
	stats_sum(&a, &b);
	CHECK_INT(a.rx_msgs[TP_UDP], 6);
	CHECK_INT(a.drops[DROP_MAX - 1], 8);
	CHECK_INT(a.tcp_closed_bad, 10);
	CHECK_INT(STAT_GET(a.tx_errors), 2);

	/* Adding zeros changes nothing; sums wrap like the counters. */
	memset(&zero, 0, sizeof(zero));
	memcpy(&b, &a, sizeof(a));
	stats_sum(&a, &zero);
	CHECK_MEM(&a, &b, sizeof(a));
	a.tcp_active = 1;
	b.tcp_active = 0;
	STAT_DEC(b.tcp_active);
	stats_sum(&a, &b);
	CHECK_INT(a.tcp_active, 0);
}

static void test_names(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(names[i] != NULL);
		if (!names[i])
			continue;
		CHECK(names[i][0] != '\0');
		for (size_t j = 0; j < i; j++)
			CHECK(names[j] == NULL || strcmp(names[i], names[j]) != 0);
	}
}

int main(void)
{
	test_sum();
	test_names(stats_drop_name, DROP_MAX);
	test_names(stats_transport_name, TP_TRANSPORT_MAX);
	CHECK_STR(stats_transport_name[TP_UDP], "udp");
	CHECK_STR(stats_transport_name[TP_TCP], "tcp");
	return check_done("test_turn_stats");
}
