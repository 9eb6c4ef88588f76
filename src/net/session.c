/* session.c - the allocation's life for operators: one log line when it
 * starts and one when it ends (id, user, realm, client and relayed
 * addresses, transport, lifetime, packets and bytes each way, why it
 * ended), at info and rate-limited per worker; with log-format=json the
 * event's fields ride along. The same events go to Redis (redis.c) when
 * redis-statsdb is set. This is the turn_io event hook. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "store/store.h"
#include "turn/stats.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/log.h"

void session_event_view(struct worker *w, const struct turn_alloc *a, const char *event,
			const char *reason, bool ended, struct store_event *ev)
{
	const struct turn_ctx *ctx = &w->ctx;

	memset(ev, 0, sizeof(*ev));
	ev->event = event;
	ev->reason = reason;
	ev->id = a->id;
	ev->seq = a->event_seq;
	ev->time = ctx->unix_s;
	ev->server = w->srv->hostname[0] ? w->srv->hostname : NULL;
	ev->realm = w->srv->conf->realm;
	ev->user = a->username;
	ev->ulen = a->ulen;
	ev->transport = stats_transport_name[a->transport];
	ev->client = (const struct sockaddr *)&a->client;
	ev->relay = (const struct sockaddr *)&a->relayed;
	if (a->dual && a->dual->relay)
		ev->relay2 = (const struct sockaddr *)&a->dual->relayed;
	ev->lifetime = ended || a->expiry_ms <= ctx->now_ms
			       ? 0
			       : (a->expiry_ms - ctx->now_ms + 999) / 1000;
	ev->age_ms = ctx->now_ms - a->created_ms;
	ev->client_packets = a->pkts_in;
	ev->client_bytes = a->bytes_in;
	ev->peer_packets = a->pkts_out;
	ev->peer_bytes = a->bytes_out;
}

void session_event_fill(struct worker *w, struct turn_alloc *a, const char *event,
			const char *reason, bool ended, struct store_event *ev)
{
	a->event_seq++;
	session_event_view(w, a, event, reason, ended, ev);
	a->event_ms = w->ctx.now_ms;
}

static void log_session(struct worker *w, const struct store_event *ev, bool ended)
{
	char json[STORE_EVENT_MAX], id[2 * STORE_ALLOC_ID_LEN + 1], user[3 * TURN_USERNAME_MAX + 3];
	char client[ADDR_STRLEN], relay[ADDR_STRLEN];
	const char *fields = NULL;

	if (!log_rl_take(&w->session_rl, LOG_LVL_INFO))
		return;
	hex_encode(ev->id, STORE_ALLOC_ID_LEN, id);
	log_escape(user, sizeof(user), ev->user, ev->ulen);
	addr_format(ev->client, true, client, sizeof(client));
	addr_format(ev->relay, true, relay, sizeof(relay));
	if (store_event_json(ev, json, sizeof(json)))
		fields = json;
	if (!ended) {
		log_event(LOG_LVL_INFO, fields,
			  "allocation %s created: user \"%s\" realm %s, client %s %s, relay %s, "
			  "lifetime %" PRIu64 " s",
			  id, user, ev->realm ? ev->realm : "-", ev->transport, client, relay,
			  ev->lifetime);
		return;
	}
	log_event(LOG_LVL_INFO, fields,
		  "allocation %s ended (%s): user \"%s\" realm %s, client %s %s, relay %s, after "
		  "%" PRIu64 ".%01" PRIu64 " s; client to peers %" PRIu64 " packets %" PRIu64
		  " bytes, peers to client %" PRIu64 " packets %" PRIu64 " bytes",
		  id, ev->reason ? ev->reason : ev->event, user, ev->realm ? ev->realm : "-",
		  ev->transport, client, relay, ev->age_ms / 1000, ev->age_ms % 1000 / 100,
		  ev->client_packets, ev->client_bytes, ev->peer_packets, ev->peer_bytes);
}

void session_on_event(void *env, struct turn_alloc *a, enum turn_event what)
{
	static const struct {
		const char *event, *reason;
		bool ended;
	} ev_of[] = {
		[TURN_EV_CREATED] = {"created", NULL, false},
		[TURN_EV_REFRESHED] = {"refreshed", NULL, false},
		[TURN_EV_DELETED] = {"deleted", "refresh", true},
		[TURN_EV_EXPIRED] = {"expired", NULL, true},
		[TURN_EV_CLOSED] = {"deleted", "connection closed", true},
		[TURN_EV_SHUTDOWN] = {"deleted", "shutdown", true},
		[TURN_EV_ADMIN] = {"deleted", "admin", true},
	};
	struct worker *w = env;
	struct store_event ev;

	if ((size_t)what >= sizeof(ev_of) / sizeof(ev_of[0]))
		return;
	/* A refresh changes nothing an operator reads in the log. */
	if (what == TURN_EV_REFRESHED && !w->events)
		return;
	session_event_fill(w, a, ev_of[what].event, ev_of[what].reason, ev_of[what].ended, &ev);
	if (what != TURN_EV_REFRESHED)
		log_session(w, &ev, ev_of[what].ended);
	if (w->events && what != TURN_EV_SHUTDOWN)
		redis_event_publish(w, &ev);
}
