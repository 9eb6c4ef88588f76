/* test_http_metrics.c - unit tests for src/http/metrics.c: the exposition
 * carries the counters it was given, under the right labels; the lifetime
 * histogram is cumulative with _sum in seconds; every family has HELP and
 * TYPE before its samples, counters end in _total and nothing else does. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "check.h"
#include "http/http.h"
#include "util/policy.h"

static char *expose(const struct turn_stats *st, const struct http_metrics_info *info)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	http_metrics_write(b, st, info);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* Whether text holds this exact line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define LINE(text, l)                                               \
	do {                                                        \
		bool found_ = has_line(text, l);                    \
		CHECK(found_);                                      \
		if (!found_)                                        \
			fprintf(stderr, "  missing line: %s\n", l); \
	} while (0)

/* Labels are fixed enumerations, never a user or an address: only these
 * label names appear (family: ipv4 or ipv6, never the address). */
static void check_labels(const char *p, const char *end)
{
	static const char *const names[] = {
		"transport", "direction", "result",   "code",   "cause", "verdict",
		"quota",     "reason",    "endpoint", "status", "le",    "version",
		"openssl",   "libevent",  "db",       "event",  "family"};

	while (p < end && *p != '}') {
		size_t n = strcspn(p, "=");
		bool known = false;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			known |= strlen(names[i]) == n && !strncmp(p, names[i], n);
		CHECK(known);
		p += n + 1;
		CHECK(*p == '"');
		p = strchr(p + 1, '"');
		if (!p)
			return;
		p++;
		if (*p == ',')
			p++;
	}
}

/* The format's rules, line by line: families declared once, HELP then
 * TYPE then samples of that family only; _total exactly on counters. */
static void check_format(const char *text)
{
	char family[128] = "", type[16] = "";
	unsigned families = 0;
	const char *p = text;

	while (*p) {
		const char *end = strchr(p, '\n');
		char name[128];
		size_t n;

		CHECK(end != NULL);
		if (!end)
			return;
		n = strcspn(p, " {\n");
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		if (!strncmp(p, "# HELP ", 7)) {
			sscanf(p + 7, "%127s", family);
			families++;
			type[0] = '\0';
			/* Ours, or the standard process_* of client libraries. */
			CHECK(!strncmp(family, "turnpike_", 9) || !strncmp(family, "process_", 8));
			/* Each family appears once. */
			char decl[160];
			snprintf(decl, sizeof(decl), "# HELP %s ", family);
			CHECK(strstr(text, decl) == p && strstr(p + 1, decl) == NULL);
		} else if (!strncmp(p, "# TYPE ", 7)) {
			char fam[128];
			sscanf(p + 7, "%127s %15s", fam, type);
			CHECK_STR(fam, family);
			size_t fl = strlen(family);
			bool total = fl > 6 && !strcmp(family + fl - 6, "_total");
			CHECK(total == !strcmp(type, "counter"));
		} else {
			memcpy(name, p, n);
			name[n] = '\0';
			CHECK(type[0] != '\0');
			if (!strcmp(type, "histogram")) {
				size_t fl = strlen(family);
				CHECK(!strncmp(name, family, fl) &&
				      (!strcmp(name + fl, "_bucket") ||
				       !strcmp(name + fl, "_sum") || !strcmp(name + fl, "_count")));
			} else {
				CHECK_STR(name, family);
			}
			if (p[n] == '{')
				check_labels(p + n + 1, end);
		}
		p = end + 1;
	}
	CHECK(families >= 39);
}

static void test_values(void)
{
	struct turn_stats st;
	struct http_counters hc;
	struct http_metrics_info info = {
		.version = "9.8.7",
		.nworkers = 3,
		.ports_capacity = 20000,
		.state = HTTP_SERVING,
		.start_time = 1700000000,
		.http = &hc,
	};
	char *t;

	memset(&st, 0, sizeof(st));
	memset(&hc, 0, sizeof(hc));
	st.alloc_active[TP_UDP] = 4;
	st.alloc_active[TP_TCP] = 2;
	st.alloc_active_family[STATS_FAMILY(AF_INET)] = 5;
	st.alloc_active_family[STATS_FAMILY(AF_INET6)] = 1;
	st.relay_bytes_family_in[STATS_FAMILY_IPV6] = 77;
	st.relay_bytes_family_out[STATS_FAMILY_IPV4] = 88;
	st.alloc_killed = 3;
	st.alloc_created[TP_UDP] = 40;
	st.alloc_relayed[TP_UDP] = 30;
	st.binding[TP_UDP] = 1234;
	st.binding[TP_TCP] = 5;
	st.auth[AUTHR_EXPIRED] = 7;
	st.drops[DROP_NO_PERMISSION] = 11;
	st.policy_denied[POLICY_DENY_PRIVATE] = 13;
	st.errors[ERR_508] = 17;
	st.quota_user = 19;
	st.tcp_bound = 29;
	st.tls_binds_moved = 31;
	st.tcp_out_direct = 41;
	st.dtls_closed_reconnect = 37;
	st.quota_total = 23;
	st.relay_pkts_in[TP_UDP] = 100;
	st.relay_bytes_out[TP_TCP] = 4096;
	st.tcp_active = 9;
	st.lifetime_bucket[0] = 1;                          /* <= 10 s */
	st.lifetime_bucket[3] = 2;                          /* <= 300 s */
	st.lifetime_bucket[STATS_LIFETIME_BUCKETS - 1] = 1; /* over 21600 s */
	st.lifetime_sum_ms = 30001234;
	hc.issued[0] = 5;
	hc.issued[1] = 6;
	hc.rate_limited = 3;
	hc.requests[HTTP_EP_METRICS][1] = 8;
	hc.requests[HTTP_EP_CREDENTIALS][3] = 2;
	hc.open = 7;
	hc.limit = 256;
	hc.refused[HTTP_REFUSED_SOURCE] = 11;
	hc.refused[HTTP_REFUSED_DESCRIPTORS] = 13;
	hc.timed_out = 17;
	hc.accept_errors = 19;
	t = expose(&st, &info);
	check_format(t);
	{
		char want[256];
		snprintf(want, sizeof(want),
			 "turnpike_build_info{version=\"9.8.7\",openssl=\"%s\",libevent=\"%s\"} 1",
			 OpenSSL_version(OPENSSL_VERSION_STRING), event_get_version());
		LINE(t, want);
	}
	LINE(t, "turnpike_workers 3");
	LINE(t, "turnpike_http_connections_open 7");
	LINE(t, "turnpike_http_connections_limit 256");
	LINE(t, "turnpike_http_connections_refused_total{reason=\"full\"} 0");
	LINE(t, "turnpike_http_connections_refused_total{reason=\"source\"} 11");
	LINE(t, "turnpike_http_connections_refused_total{reason=\"descriptors\"} 13");
	LINE(t, "turnpike_http_connections_timed_out_total 17");
	LINE(t, "turnpike_http_accept_errors_total 19");
	LINE(t, "turnpike_ready 1");
	LINE(t, "turnpike_draining 0");
	LINE(t, "turnpike_start_time_seconds 1700000000");
	free(t);
	/* Serving, but no credential can work yet: not ready. */
	info.not_ready = "not ready: no REST secret";
	t = expose(&st, &info);
	LINE(t, "turnpike_ready 0");
	LINE(t, "turnpike_draining 0");
	info.not_ready = NULL;
	free(t);
	t = expose(&st, &info);
	LINE(t, "turnpike_allocations_active{transport=\"udp\"} 4");
	LINE(t, "turnpike_allocations_active{transport=\"tcp\"} 2");
	LINE(t, "turnpike_allocations_created_total{transport=\"udp\"} 40");
	LINE(t, "turnpike_allocations_relayed_total{transport=\"udp\"} 30");
	LINE(t, "turnpike_binding_requests_total{transport=\"udp\"} 1234");
	LINE(t, "turnpike_binding_requests_total{transport=\"tcp\"} 5");
	LINE(t, "turnpike_auth_results_total{result=\"expired\"} 7");
	LINE(t, "turnpike_auth_results_total{result=\"ok\"} 0");
	LINE(t, "turnpike_dropped_total{cause=\"no_permission\"} 11");
	LINE(t, "turnpike_peer_denied_total{verdict=\"private\"} 13");
	LINE(t, "turnpike_error_responses_total{code=\"508\"} 17");
	LINE(t, "turnpike_quota_rejections_total{quota=\"user\"} 19");
	LINE(t, "turnpike_quota_rejections_total{quota=\"total\"} 23");
	LINE(t, "turnpike_tcp_relay_connections_total{event=\"bound\"} 29");
	LINE(t, "turnpike_tcp_relay_connections_total{event=\"unbound\"} 0");
	LINE(t, "turnpike_tcp_relay_binds_moved_total{result=\"tls\"} 31");
	LINE(t, "turnpike_tcp_relay_binds_moved_total{result=\"failed\"} 0");
	LINE(t, "turnpike_tcp_client_writes_total{result=\"direct\"} 41");
	LINE(t, "turnpike_tcp_client_writes_total{result=\"queued\"} 0");
	LINE(t, "turnpike_dtls_sessions_closed_total{reason=\"reconnect\"} 37");
	LINE(t, "turnpike_relay_packets_total{direction=\"client_to_peer\",transport=\"udp\"} 100");
	LINE(t, "turnpike_relay_bytes_total{direction=\"peer_to_client\",transport=\"tcp\"} 4096");
	LINE(t, "turnpike_relay_ports_in_use 6");
	/* The address family: a fixed label set, both always present. */
	LINE(t, "turnpike_allocations_active_by_family{family=\"ipv4\"} 5");
	LINE(t, "turnpike_allocations_active_by_family{family=\"ipv6\"} 1");
	LINE(t, "turnpike_relay_bytes_by_family_total{direction=\"client_to_peer\",family=\"ipv6\"}"
		" 77");
	LINE(t, "turnpike_relay_bytes_by_family_total{direction=\"peer_to_client\",family=\"ipv4\"}"
		" 88");
	LINE(t, "turnpike_relay_bytes_by_family_total{direction=\"client_to_peer\",family=\"ipv4\"}"
		" 0");
	LINE(t, "turnpike_allocations_killed_total 3");
	LINE(t, "turnpike_http_requests_total{endpoint=\"admin_kill\",status=\"4xx\"} 0");
	LINE(t, "turnpike_relay_ports_capacity 20000");
	LINE(t, "turnpike_tcp_connections_active 9");
	LINE(t, "turnpike_rest_credentials_issued_total{endpoint=\"credentials\"} 5");
	LINE(t, "turnpike_rest_credentials_issued_total{endpoint=\"ice_servers\"} 6");
	LINE(t, "turnpike_rest_rate_limited_total 3");
	LINE(t, "turnpike_http_requests_total{endpoint=\"metrics\",status=\"2xx\"} 8");
	LINE(t, "turnpike_http_requests_total{endpoint=\"credentials\",status=\"4xx\"} 2");
	/* The histogram: cumulative, +Inf equals _count, _sum in seconds. */
	LINE(t, "turnpike_allocation_lifetime_seconds_bucket{le=\"10\"} 1");
	LINE(t, "turnpike_allocation_lifetime_seconds_bucket{le=\"60\"} 1");
	LINE(t, "turnpike_allocation_lifetime_seconds_bucket{le=\"300\"} 3");
	LINE(t, "turnpike_allocation_lifetime_seconds_bucket{le=\"21600\"} 3");
	LINE(t, "turnpike_allocation_lifetime_seconds_bucket{le=\"+Inf\"} 4");
	LINE(t, "turnpike_allocation_lifetime_seconds_count 4");
	LINE(t, "turnpike_allocation_lifetime_seconds_sum 30001.234");
	/* The loopback verdict is a deny reason; "allow" is not one. */
	LINE(t, "turnpike_peer_denied_total{verdict=\"loopback\"} 0");
	CHECK(strstr(t, "verdict=\"allow\"") == NULL);

	/* No Redis configured: no Redis metrics at all. */
	CHECK(strstr(t, "redis") == NULL);
	free(t);

	info.state = HTTP_DRAINING;
	info.redis_userdb = true;
	info.redis_statsdb = true;
	info.redis_statsdb_up = true;
	st.events_published = 29;
	st.events_dropped = 31;
	st.parked = 37;
	st.userdb_lookup_timeouts = 41;
	st.fleet_fallback = 43;
	t = expose(&st, &info);
	check_format(t);
	LINE(t, "turnpike_ready 0");
	LINE(t, "turnpike_draining 1");
	LINE(t, "turnpike_redis_up{db=\"userdb\"} 0");
	LINE(t, "turnpike_redis_up{db=\"statsdb\"} 1");
	LINE(t, "turnpike_redis_events_published_total 29");
	LINE(t, "turnpike_redis_events_dropped_total 31");
	LINE(t, "turnpike_redis_parked_requests_total 37");
	LINE(t, "turnpike_redis_user_lookup_failures_total{reason=\"timeout\"} 41");
	LINE(t, "turnpike_redis_fleet_quota_total{result=\"local\"} 43");
	free(t);
}

int main(void)
{
	test_values();
	return check_done("test_http_metrics");
}
