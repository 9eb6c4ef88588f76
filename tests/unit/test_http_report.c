/* test_http_report.c - unit tests for src/http/report.c: reading samples
 * back from an exposition (by name and label filter, including what
 * metrics.c writes), and the report's figures and ratios. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check.h"
#include "http/http.h"

static const char sample[] = "# HELP turnpike_x_total An x.\n"
			     "# TYPE turnpike_x_total counter\n"
			     "turnpike_x_total{transport=\"udp\",dir=\"in\"} 3\n"
			     "turnpike_x_total{transport=\"tcp\",dir=\"in\"} 4\n"
			     "turnpike_x_total{transport=\"udp\",dir=\"out\"} 5.5\n"
			     "turnpike_x_totalish 100\n"
			     "turnpike_y 7\n"
			     "# turnpike_y 1000\n"
			     "turnpike_z{a=\"1\"} 2"; /* no final newline */

static void test_sum(void)
{
	double v = -1;

	CHECK_INT(http_metric_sum(sample, "turnpike_x_total", NULL, &v), 3);
	CHECK(v == 12.5);
	CHECK_INT(http_metric_sum(sample, "turnpike_x_total", "", &v), 3);
	CHECK_INT(http_metric_sum(sample, "turnpike_x_total", "transport=\"udp\"", &v), 2);
	CHECK(v == 8.5);
	CHECK_INT(http_metric_sum(sample, "turnpike_x_total", "dir=\"in\",transport=\"tcp\"", &v),
		  1);
	CHECK(v == 4);
	/* A value must match whole: "ud" is not "udp". */
	CHECK_INT(http_metric_sum(sample, "turnpike_x_total", "transport=\"ud\"", &v), 0);
	CHECK(v == 0);
	CHECK_INT(http_metric_sum(sample, "turnpike_y", NULL, &v), 1);
	CHECK(v == 7);
	CHECK_INT(http_metric_sum(sample, "turnpike_z", "a=\"1\"", &v), 1);
	CHECK(v == 2);
	CHECK_INT(http_metric_sum(sample, "turnpike_w", NULL, &v), 0);
	CHECK_INT(http_metric_sum("", "turnpike_y", NULL, &v), 0);
}

/* What metrics.c writes reads back the same. */
static void test_round_trip(void)
{
	struct turn_stats st;
	struct http_counters hc;
	struct http_metrics_info info = {.version = "1",
					 .nworkers = 2,
					 .ports_capacity = 100,
					 .state = HTTP_SERVING,
					 .http = &hc};
	struct evbuffer *b = evbuffer_new();
	char *t;
	size_t n;
	double v;

	memset(&st, 0, sizeof(st));
	memset(&hc, 0, sizeof(hc));
	st.alloc_created[TP_UDP] = 8;
	st.alloc_created[TP_TCP] = 2;
	st.alloc_relayed[TP_UDP] = 3;
	st.alloc_relayed[TP_TCP] = 1;
	st.binding[TP_UDP] = 40;
	hc.issued[0] = 6;
	hc.issued[1] = 2;
	http_metrics_write(b, &st, &info);
	n = evbuffer_get_length(b);
	t = malloc(n + 1);
	evbuffer_remove(b, t, n);
	t[n] = '\0';
	evbuffer_free(b);
	http_metric_sum(t, "turnpike_allocations_created_total", NULL, &v);
	CHECK(v == 10);
	http_metric_sum(t, "turnpike_allocations_created_total", "transport=\"tcp\"", &v);
	CHECK(v == 2);
	http_metric_sum(t, "turnpike_rest_credentials_issued_total", NULL, &v);
	CHECK(v == 8);
	CHECK_INT(http_metric_sum(t, "turnpike_binding_requests_total", NULL, &v), 4);
	CHECK(v == 40);

	/* The report: 4 relayed of 8 issued, of 10 created, of 40 Bindings. */
	{
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		http_report_print(f, t);
		fclose(f);
		CHECK(strstr(out, "server: serving,") != NULL);
		CHECK(strstr(out, "\nallocations-created: 10 (udp 8, tcp 2)\n") != NULL);
		CHECK(strstr(out, "\nallocations-relayed: 4\n") != NULL);
		CHECK(strstr(out, "\ncredentials-issued: 8 (credentials 6, ice-servers 2)\n") !=
		      NULL);
		CHECK(strstr(out, "\nrelay-fallback-rate: 50.0% (") != NULL);
		CHECK(strstr(out, "\nallocation-usage: 40.0% (") != NULL);
		CHECK(strstr(out, "\nrelayed-per-binding: 10.0% (") != NULL);
		CHECK(strstr(out, "\nrelay-ports: 0 in use of 100 (0.00%)\n") != NULL);
		free(out);
	}
	free(t);
}

static void test_empty_report(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	http_report_print(f, "");
	fclose(f);
	CHECK(strstr(out, "server: not ready,") != NULL);
	CHECK(strstr(out, "\nrelay-fallback-rate: n/a (") != NULL);
	free(out);
}

int main(void)
{
	test_sum();
	test_round_trip();
	test_empty_report();
	return check_done("test_http_report");
}
