/* metrics.c - the Prometheus text exposition (format 0.0.4) of the workers'
 * counters and the HTTP module's own, formatted once per scrape. Labels are
 * fixed enumerations only: never a user, never an address. */
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "http/http.h"
#include "util/policy.h"

#define P "turnpike_"

static void head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

/* One sample without labels. */
static void one(struct evbuffer *b, const char *name, const char *type, const char *help,
		uint64_t v)
{
	head(b, name, type, help);
	evbuffer_add_printf(b, P "%s %" PRIu64 "\n", name, v);
}

/* One sample per transport. */
static void by_transport(struct evbuffer *b, const char *name, const char *type, const char *help,
			 const uint64_t v[TP_TRANSPORT_MAX])
{
	head(b, name, type, help);
	for (int t = 0; t < TP_TRANSPORT_MAX; t++)
		evbuffer_add_printf(b, P "%s{transport=\"%s\"} %" PRIu64 "\n", name,
				    stats_transport_name[t], v[t]);
}

static void relay_traffic(struct evbuffer *b, const char *name, const char *help,
			  const uint64_t in[TP_TRANSPORT_MAX], const uint64_t out[TP_TRANSPORT_MAX])
{
	head(b, name, "counter", help);
	for (int t = 0; t < TP_TRANSPORT_MAX; t++) {
		evbuffer_add_printf(
			b, P "%s{direction=\"client_to_peer\",transport=\"%s\"} %" PRIu64 "\n",
			name, stats_transport_name[t], in[t]);
		evbuffer_add_printf(
			b, P "%s{direction=\"peer_to_client\",transport=\"%s\"} %" PRIu64 "\n",
			name, stats_transport_name[t], out[t]);
	}
}

/* One sample per address family (ipv4, ipv6): a fixed label set. */
static void by_family(struct evbuffer *b, const char *name, const char *type, const char *help,
		      const uint64_t v[2])
{
	head(b, name, type, help);
	for (int f = 0; f < 2; f++)
		evbuffer_add_printf(b, P "%s{family=\"%s\"} %" PRIu64 "\n", name,
				    stats_family_name[f], v[f]);
}

static void family_traffic(struct evbuffer *b, const char *name, const char *help,
			   const uint64_t in[2], const uint64_t out[2])
{
	head(b, name, "counter", help);
	for (int f = 0; f < 2; f++) {
		evbuffer_add_printf(
			b, P "%s{direction=\"client_to_peer\",family=\"%s\"} %" PRIu64 "\n", name,
			stats_family_name[f], in[f]);
		evbuffer_add_printf(
			b, P "%s{direction=\"peer_to_client\",family=\"%s\"} %" PRIu64 "\n", name,
			stats_family_name[f], out[f]);
	}
}

static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

static void lifetime_histogram(struct evbuffer *b, const struct turn_stats *st)
{
	uint64_t cum = 0;

	head(b, "allocation_lifetime_seconds", "histogram", "How long ended allocations lived.");
	for (size_t i = 0; i < STATS_LIFETIME_BUCKETS - 1; i++) {
		cum += st->lifetime_bucket[i];
		evbuffer_add_printf(b,
				    P "allocation_lifetime_seconds_bucket{le=\"%u\"} %" PRIu64 "\n",
				    stats_lifetime_bounds[i], cum);
	}
	cum += st->lifetime_bucket[STATS_LIFETIME_BUCKETS - 1];
	evbuffer_add_printf(b, P "allocation_lifetime_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			    cum);
	evbuffer_add_printf(b, P "allocation_lifetime_seconds_sum %" PRIu64 ".%03u\n",
			    st->lifetime_sum_ms / 1000, (unsigned)(st->lifetime_sum_ms % 1000));
	evbuffer_add_printf(b, P "allocation_lifetime_seconds_count %" PRIu64 "\n", cum);
}

static void turn_metrics(struct evbuffer *b, const struct turn_stats *st,
			 const struct http_metrics_info *info)
{
	uint64_t active = sum(st->alloc_active, TP_TRANSPORT_MAX);

	by_transport(b, "allocations_active", "gauge", "Allocations open now.", st->alloc_active);
	by_transport(b, "allocations_created_total", "counter", "Allocations created.",
		     st->alloc_created);
	by_transport(b, "allocations_relayed_total", "counter",
		     "Allocations that relayed at least one packet (the relay-usage numerator).",
		     st->alloc_relayed);
	one(b, "allocations_expired_total", "counter", "Allocations that ran out of lifetime.",
	    st->alloc_expired);
	one(b, "allocations_deleted_total", "counter",
	    "Allocations the client ended with a Refresh of lifetime 0.", st->alloc_deleted);
	one(b, "allocations_killed_total", "counter",
	    "Allocations an operator ended (turnpikectl kill).", st->alloc_killed);
	by_family(b, "allocations_active_by_family", "gauge",
		  "Allocations open now, by the address family of the relayed address.",
		  st->alloc_active_family);
	lifetime_histogram(b, st);
	one(b, "permissions_created_total", "counter", "Peer permissions installed.",
	    st->perms_created);
	one(b, "channels_bound_total", "counter", "Channels bound.", st->chans_bound);
	relay_traffic(b, "relay_packets_total",
		      "Packets relayed, by direction and client transport.", st->relay_pkts_in,
		      st->relay_pkts_out);
	relay_traffic(b, "relay_bytes_total",
		      "Payload bytes relayed, by direction and client transport.",
		      st->relay_bytes_in, st->relay_bytes_out);
	family_traffic(b, "relay_bytes_by_family_total",
		       "Payload bytes relayed, by direction and the relay's address family.",
		       st->relay_bytes_family_in, st->relay_bytes_family_out);
	/* Ports held by allocations: one each (a reserved even+1 port is not
	 * counted until claimed). */
	one(b, "relay_ports_in_use", "gauge", "Relay ports held by active allocations.", active);
	one(b, "relay_ports_capacity", "gauge",
	    "Relay ports available: (max-port - min-port + 1) times the relay addresses.",
	    info->ports_capacity);
	one(b, "relay_ports_exhausted_total", "counter",
	    "Allocate requests refused (508) because no relay port was free.",
	    st->relay_ports_exhausted);
	one(b, "fd_exhausted_total", "counter",
	    "Allocate requests refused (508) because the process had no file descriptor left for a "
	    "relay socket.",
	    st->fd_exhausted);
	head(b, "tcp_relay_connections_total", "counter",
	     "RFC 6062 peer connections: opened by Connect, failed (447), offered by "
	     "ConnectionAttempt, bound to a client data connection, dropped unbound after 30 s.");
	evbuffer_add_printf(b, P "tcp_relay_connections_total{event=\"connect\"} %" PRIu64 "\n",
			    st->tcp_connects);
	evbuffer_add_printf(b, P "tcp_relay_connections_total{event=\"failed\"} %" PRIu64 "\n",
			    st->tcp_connect_failed);
	evbuffer_add_printf(b, P "tcp_relay_connections_total{event=\"attempt\"} %" PRIu64 "\n",
			    st->tcp_attempts);
	evbuffer_add_printf(b, P "tcp_relay_connections_total{event=\"bound\"} %" PRIu64 "\n",
			    st->tcp_bound);
	evbuffer_add_printf(b, P "tcp_relay_connections_total{event=\"unbound\"} %" PRIu64 "\n",
			    st->tcp_unbound);
	head(b, "tcp_relay_binds_moved_total", "counter",
	     "RFC 6062 ConnectionBinds that reached another worker than the one holding their "
	     "connection id, by outcome: the connection moved there (over TCP, or over TLS with "
	     "its session), or was closed.");
	evbuffer_add_printf(b, P "tcp_relay_binds_moved_total{result=\"tcp\"} %" PRIu64 "\n",
			    st->tcp_binds_moved);
	evbuffer_add_printf(b, P "tcp_relay_binds_moved_total{result=\"tls\"} %" PRIu64 "\n",
			    st->tls_binds_moved);
	evbuffer_add_printf(b, P "tcp_relay_binds_moved_total{result=\"failed\"} %" PRIu64 "\n",
			    st->tcp_binds_move_failed);
	head(b, "tcp_client_writes_total", "counter",
	     "Writes of relayed data to plain TCP clients, each carrying all that one loop pass "
	     "relayed to one connection: written at once, or queued behind older output.");
	evbuffer_add_printf(b, P "tcp_client_writes_total{result=\"direct\"} %" PRIu64 "\n",
			    st->tcp_out_direct);
	evbuffer_add_printf(b, P "tcp_client_writes_total{result=\"queued\"} %" PRIu64 "\n",
			    st->tcp_out_queued);
	head(b, "quota_rejections_total", "counter",
	     "Allocate requests refused by user-quota or source-quota (486), or total-quota "
	     "(508).");
	evbuffer_add_printf(b, P "quota_rejections_total{quota=\"user\"} %" PRIu64 "\n",
			    st->quota_user);
	evbuffer_add_printf(b, P "quota_rejections_total{quota=\"source\"} %" PRIu64 "\n",
			    st->quota_source);
	evbuffer_add_printf(b, P "quota_rejections_total{quota=\"total\"} %" PRIu64 "\n",
			    st->quota_total);
	head(b, "peer_denied_total", "counter",
	     "Permissions, channels and Send indications refused by the peer-address policy, by "
	     "verdict.");
	for (int v = POLICY_ALLOW + 1; v < POLICY_VERDICT_MAX; v++)
		evbuffer_add_printf(b, P "peer_denied_total{verdict=\"%s\"} %" PRIu64 "\n",
				    policy_verdict_name((enum policy_verdict)v),
				    st->policy_denied[v]);
}

static void dtls_metrics(struct evbuffer *b, const struct turn_stats *st)
{
	one(b, "dtls_cookies_sent_total", "counter",
	    "DTLS HelloVerifyRequests sent to ClientHellos without a valid cookie (nothing "
	    "is kept for them).",
	    st->dtls_cookies);
	one(b, "dtls_sessions_active", "gauge", "TURN over DTLS sessions held now.",
	    st->dtls_active);
	one(b, "dtls_sessions_accepted_total", "counter",
	    "TURN over DTLS sessions begun (a ClientHello with a valid cookie).",
	    st->dtls_accepted);
	head(b, "dtls_sessions_refused_total", "counter",
	     "ClientHellos with a valid cookie refused, by reason.");
	evbuffer_add_printf(b, P "dtls_sessions_refused_total{reason=\"full\"} %" PRIu64 "\n",
			    st->dtls_refused);
	evbuffer_add_printf(b, P "dtls_sessions_refused_total{reason=\"source\"} %" PRIu64 "\n",
			    st->dtls_refused_source);
	one(b, "dtls_handshakes_total", "counter", "TURN over DTLS handshakes completed.",
	    st->dtls_handshakes);
	head(b, "dtls_handshakes_failed_total", "counter",
	     "TURN over DTLS sessions closed before the handshake completed, by reason.");
	evbuffer_add_printf(b, P "dtls_handshakes_failed_total{reason=\"error\"} %" PRIu64 "\n",
			    st->dtls_handshake_failed);
	evbuffer_add_printf(b, P "dtls_handshakes_failed_total{reason=\"timeout\"} %" PRIu64 "\n",
			    st->dtls_handshake_timeout);
	head(b, "dtls_sessions_closed_total", "counter",
	     "TURN over DTLS sessions closed after the handshake, by reason.");
	evbuffer_add_printf(b, P "dtls_sessions_closed_total{reason=\"idle\"} %" PRIu64 "\n",
			    st->dtls_closed_idle);
	evbuffer_add_printf(b, P "dtls_sessions_closed_total{reason=\"peer\"} %" PRIu64 "\n",
			    st->dtls_closed_peer);
	evbuffer_add_printf(b, P "dtls_sessions_closed_total{reason=\"reconnect\"} %" PRIu64 "\n",
			    st->dtls_closed_reconnect);
	evbuffer_add_printf(
		b, P "dtls_sessions_closed_total{reason=\"shed_unauthenticated\"} %" PRIu64 "\n",
		st->dtls_shed);
}

static void stun_metrics(struct evbuffer *b, const struct turn_stats *st)
{
	by_transport(b, "binding_requests_total", "counter", "STUN Binding requests answered.",
		     st->binding);
	one(b, "binding_requests_rfc3489_total", "counter",
	    "Of those, classic RFC 3489 requests (no magic cookie).", st->binding_rfc3489);
	head(b, "auth_results_total", "counter",
	     "Outcomes of the authentication of TURN requests, by result.");
	for (int i = 0; i < AUTHR_MAX; i++)
		evbuffer_add_printf(b, P "auth_results_total{result=\"%s\"} %" PRIu64 "\n",
				    stats_auth_name[i], st->auth[i]);
	head(b, "error_responses_total", "counter", "STUN/TURN error responses sent, by code.");
	for (int i = 0; i < ERR_MAX; i++)
		evbuffer_add_printf(b, P "error_responses_total{code=\"%u\"} %" PRIu64 "\n",
				    stats_err_code[i], st->errors[i]);
	head(b, "dropped_total", "counter", "Messages dropped without an answer, by cause.");
	for (int i = 0; i < DROP_MAX; i++)
		evbuffer_add_printf(b, P "dropped_total{cause=\"%s\"} %" PRIu64 "\n",
				    stats_drop_name[i], st->drops[i]);
	by_transport(b, "received_messages_total", "counter",
		     "Messages received from clients (STUN and ChannelData).", st->rx_msgs);
	by_transport(b, "received_bytes_total", "counter", "Bytes received from clients.",
		     st->rx_bytes);
	by_transport(b, "sent_messages_total", "counter", "Messages sent to clients.", st->tx_msgs);
	by_transport(b, "sent_bytes_total", "counter", "Bytes sent to clients.", st->tx_bytes);
	one(b, "send_errors_total", "counter",
	    "Datagrams the kernel refused to send: to UDP clients, and to peers "
	    "from clients of every transport.",
	    st->tx_errors);
	one(b, "udp_gso_sends_total", "counter",
	    "UDP GSO sends: several datagrams to one destination, of one size, in one send.",
	    st->gso_sends);
	one(b, "udp_gso_datagrams_total", "counter", "Datagrams sent within UDP GSO sends.",
	    st->gso_segments);
	one(b, "udp_gro_reads_total", "counter",
	    "UDP GRO reads: several datagrams from one source, of one size, in one read.",
	    st->gro_reads);
	one(b, "udp_gro_datagrams_total", "counter", "Datagrams received within UDP GRO reads.",
	    st->gro_segments);
	one(b, "tcp_connections_active", "gauge", "TCP client connections open now.",
	    st->tcp_active);
	one(b, "tcp_connections_accepted_total", "counter", "TCP client connections accepted.",
	    st->tcp_accepted);
	one(b, "tcp_connections_refused_total", "counter",
	    "TCP client connections closed at once: over max-tcp-connections.", st->tcp_refused);
	one(b, "proxy_headers_total", "counter",
	    "PROXY protocol headers taken from proxy-protocol balancers.", st->proxy_headers);
	one(b, "proxy_headers_invalid_total", "counter",
	    "Connections from proxy-protocol balancers closed without a valid PROXY header.",
	    st->proxy_bad);
	one(b, "tcp_connections_refused_source_total", "counter",
	    "TCP client connections closed at once: their source already held "
	    "max-tcp-unauthenticated-per-source connections that had not authenticated.",
	    st->tcp_refused_source);
	head(b, "tcp_connections_closed_total", "counter",
	     "TCP client connections closed by the server, by reason.");
	evbuffer_add_printf(b, P "tcp_connections_closed_total{reason=\"idle\"} %" PRIu64 "\n",
			    st->tcp_closed_idle);
	evbuffer_add_printf(b,
			    P "tcp_connections_closed_total{reason=\"bad_framing\"} %" PRIu64 "\n",
			    st->tcp_closed_bad);
	evbuffer_add_printf(
		b, P "tcp_connections_closed_total{reason=\"shed_unauthenticated\"} %" PRIu64 "\n",
		st->tcp_shed);
	one(b, "tls_connections_accepted_total", "counter",
	    "TURN over TLS connections accepted (counted among the TCP ones too).",
	    st->tls_accepted);
	one(b, "tls_handshakes_total", "counter", "TURN over TLS handshakes completed.",
	    st->tls_handshakes);
	head(b, "tls_handshakes_failed_total", "counter",
	     "TURN over TLS connections closed before the handshake completed, by reason.");
	evbuffer_add_printf(b, P "tls_handshakes_failed_total{reason=\"error\"} %" PRIu64 "\n",
			    st->tls_handshake_failed);
	evbuffer_add_printf(b, P "tls_handshakes_failed_total{reason=\"timeout\"} %" PRIu64 "\n",
			    st->tls_handshake_timeout);
	dtls_metrics(b, st);
}

static void http_metrics(struct evbuffer *b, const struct http_counters *h)
{
	/* The classes the server answers with (no 1xx, no redirects). */
	static const struct {
		int i;
		const char *name;
	} cls[] = {{1, "2xx"}, {3, "4xx"}, {4, "5xx"}};

	head(b, "rest_credentials_issued_total", "counter",
	     "TURN credentials issued by the REST hook, by endpoint "
	     "(sessions that asked for ICE servers).");
	evbuffer_add_printf(
		b, P "rest_credentials_issued_total{endpoint=\"credentials\"} %" PRIu64 "\n",
		h->issued[0]);
	evbuffer_add_printf(
		b, P "rest_credentials_issued_total{endpoint=\"ice_servers\"} %" PRIu64 "\n",
		h->issued[1]);
	one(b, "rest_rate_limited_total", "counter",
	    "Credential hook requests refused (429) by rest-rate-limit.", h->rate_limited);
	one(b, "rest_bad_key_total", "counter",
	    "Credential hook requests refused (401): missing or wrong rest-api-key.", h->bad_key);
	head(b, "http_requests_total", "counter",
	     "HTTP requests answered, by endpoint and status class.");
	for (int e = 0; e < HTTP_EP_MAX; e++)
		for (size_t c = 0; c < sizeof(cls) / sizeof(cls[0]); c++)
			evbuffer_add_printf(
				b,
				P "http_requests_total{endpoint=\"%s\",status=\"%s\"} %" PRIu64
				  "\n",
				http_endpoint_name[e], cls[c].name, h->requests[e][cls[c].i]);
	one(b, "http_connections_total", "counter", "HTTP connections accepted.", h->connections);
	one(b, "http_connections_open", "gauge", "HTTP connections open now.", h->open);
	one(b, "http_connections_limit", "gauge",
	    "Most HTTP connections open at once: http-max-connections, at most a quarter of "
	    "the open file limit.",
	    h->limit);
	head(b, "http_connections_refused_total", "counter",
	     "HTTP connections closed as soon as accepted, by reason: full "
	     "(http-max-connections), source (http-max-connections-per-source), descriptors "
	     "(too few left for TURN).");
	for (int r = 0; r < HTTP_REFUSED_MAX; r++)
		evbuffer_add_printf(b,
				    P "http_connections_refused_total{reason=\"%s\"} %" PRIu64 "\n",
				    http_refusal_name[r], h->refused[r]);
	one(b, "http_connections_timed_out_total", "counter",
	    "HTTP connections closed because no whole request came within "
	    "http-request-timeout.",
	    h->timed_out);
	one(b, "http_accept_errors_total", "counter",
	    "Failed accepts on the HTTP listener (out of descriptors: accepting pauses a second).",
	    h->accept_errors);
}

/* Seconds with microsecond precision, from microseconds. */
static void seconds(struct evbuffer *b, uint64_t us)
{
	evbuffer_add_printf(b, "%" PRIu64 ".%06u\n", us / 1000000, (unsigned)(us % 1000000));
}

/* The loop-lag watchdog, per worker (label values: 0 .. workers - 1). */
static void lag_metrics(struct evbuffer *b, const struct http_metrics_info *info)
{
	if (!info->lag)
		return;
	head(b, "worker_loop_lag_seconds", "histogram",
	     "How late each worker's 100 ms probe timer fired: time its event loop was held by "
	     "something else (a long callback, a blocking call, the process stopped).");
	for (size_t w = 0; w < info->nworkers; w++) {
		const struct looplag_snapshot *l = &info->lag[w];
		for (size_t i = 0; i < LOOPLAG_BUCKETS - 1; i++)
			evbuffer_add_printf(
				b,
				P
				"worker_loop_lag_seconds_bucket{worker=\"%zu\",le=\"%g\"} %" PRIu64
				"\n",
				w, looplag_bounds_us[i] / 1e6, l->cum[i]);
		evbuffer_add_printf(
			b,
			P "worker_loop_lag_seconds_bucket{worker=\"%zu\",le=\"+Inf\"} %" PRIu64
			  "\n",
			w, l->count);
		evbuffer_add_printf(b, P "worker_loop_lag_seconds_sum{worker=\"%zu\"} ", w);
		seconds(b, l->sum_us);
		evbuffer_add_printf(b,
				    P "worker_loop_lag_seconds_count{worker=\"%zu\"} %" PRIu64 "\n",
				    w, l->count);
	}
	head(b, "worker_loop_lag_max_seconds", "gauge",
	     "The largest loop lag of each worker in the last 10 to 20 seconds.");
	for (size_t w = 0; w < info->nworkers; w++) {
		evbuffer_add_printf(b, P "worker_loop_lag_max_seconds{worker=\"%zu\"} ", w);
		seconds(b, info->lag[w].max_us);
	}
}

/* Long-term keys and the fleet-wide user-quota from redis-userdb. */
static void userdb_metrics(struct evbuffer *b, const struct turn_stats *st)
{
	one(b, "redis_parked_requests_total", "counter",
	    "Requests parked until Redis answered (a key lookup or a user-quota decision).",
	    st->parked);
	one(b, "redis_park_refused_total", "counter",
	    "Requests answered 508 because no more could be parked.", st->park_refused);
	one(b, "redis_user_lookups_total", "counter",
	    "Long-term key lookups sent to Redis (requests joining one are not counted).",
	    st->userdb_lookups);
	head(b, "redis_user_lookup_failures_total", "counter",
	     "Key lookups that failed (their requests got 500), by reason.");
	evbuffer_add_printf(b,
			    P "redis_user_lookup_failures_total{reason=\"timeout\"} %" PRIu64 "\n",
			    st->userdb_lookup_timeouts);
	evbuffer_add_printf(b, P "redis_user_lookup_failures_total{reason=\"error\"} %" PRIu64 "\n",
			    st->userdb_lookup_failed);
	one(b, "redis_user_stale_keys_total", "counter",
	    "Requests authenticated with keys past their cache time while Redis was away.",
	    st->userdb_stale);
	head(b, "redis_fleet_quota_total", "counter",
	     "user-quota decisions for Allocate requests: counted across the fleet (granted, "
	     "denied) or, Redis away, on this server only (local).");
	evbuffer_add_printf(b, P "redis_fleet_quota_total{result=\"granted\"} %" PRIu64 "\n",
			    st->fleet_granted);
	evbuffer_add_printf(b, P "redis_fleet_quota_total{result=\"denied\"} %" PRIu64 "\n",
			    st->fleet_denied);
	evbuffer_add_printf(b, P "redis_fleet_quota_total{result=\"local\"} %" PRIu64 "\n",
			    st->fleet_fallback);
	one(b, "redis_fleet_quota_update_errors_total", "counter",
	    "Refreshes and removals of fleet quota members that Redis did not take.",
	    st->fleet_update_errors);
}

/* Only for a server that uses Redis: a gauge of 0 would read as an outage. */
static void redis_metrics(struct evbuffer *b, const struct turn_stats *st,
			  const struct http_metrics_info *info)
{
	if (!info->redis_userdb && !info->redis_statsdb)
		return;
	head(b, "redis_up", "gauge",
	     "1 while the Redis connections are up, by database (redis-userdb, redis-statsdb).");
	if (info->redis_userdb)
		evbuffer_add_printf(b, P "redis_up{db=\"userdb\"} %d\n", info->redis_userdb_up);
	if (info->redis_statsdb)
		evbuffer_add_printf(b, P "redis_up{db=\"statsdb\"} %d\n", info->redis_statsdb_up);
	if (info->redis_userdb)
		userdb_metrics(b, st);
	if (!info->redis_statsdb)
		return;
	one(b, "redis_events_published_total", "counter",
	    "Allocation events Redis took (redis-statsdb).", st->events_published);
	one(b, "redis_events_dropped_total", "counter",
	    "Allocation events not delivered: Redis away, queue full, or refused.",
	    st->events_dropped);
}

void http_metrics_write(struct evbuffer *b, const struct turn_stats *st,
			const struct http_metrics_info *info)
{
	head(b, "build_info", "gauge", "Versions of turnpike and its libraries; always 1.");
	evbuffer_add_printf(b, P "build_info{version=\"%s\",openssl=\"%s\",libevent=\"%s\"} 1\n",
			    info->version, OpenSSL_version(OPENSSL_VERSION_STRING),
			    event_get_version());
	one(b, "start_time_seconds", "gauge", "When the server started, in Unix seconds.",
	    info->start_time);
	one(b, "workers", "gauge", "Worker threads.", info->nworkers);
	one(b, "ready", "gauge",
	    "1 while serving; 0 while starting, draining, or while no credential can work "
	    "yet (as /healthz).",
	    info->state == HTTP_SERVING && !info->not_ready);
	one(b, "draining", "gauge", "1 while draining before a stop.",
	    info->state == HTTP_DRAINING);
	lag_metrics(b, info);
	turn_metrics(b, st, info);
	stun_metrics(b, st);
	redis_metrics(b, st, info);
	http_metrics(b, info->http);
	http_process_metrics(b, info->start_time);
}
