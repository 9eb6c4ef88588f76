/* agent.c - turnpike-peer's ICE agent (RFC 8445 full agent) on one
 * libevent base: gathering ends in a description, the exchange runs in a
 * helper thread (the signal.h calls block) while the loop keeps its timers,
 * then the checklist is paced at Ta, the controlling agent nominates
 * (regular nomination), the selected pair is kept with consent freshness
 * (RFC 7675) and proven with --data probes (probe.c). Part 2 hangs DTLS timers and
 * RTP pacing on the same base, and its demultiplexing in
 * peer_agent_input. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peer/ice.h"
#include "peer/signal.h"
#include "turnpike/err.h"
#include "turnpike/wire.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/rand.h"

#define GATHER_MAX_MS 5000 /* gathering gives up on slow servers */
/* Better pairs may still succeed: a hole punched through a NAT often
 * needs the first retransmission of a check (PEER_RTO_MS), so the
 * controlling agent waits past it before it settles for a worse pair. */
#define NOMINATE_WAIT_MS 1500

struct timeval peer_tv_ms(double ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms - (double)tv.tv_sec * 1000) * 1000);
	return tv;
}

double peer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct event_base *peer_agent_base(struct peer_agent *a)
{
	return a->base;
}

struct peer_txns *peer_agent_txns(struct peer_agent *a)
{
	return &a->txns;
}

void peer_agent_finish(struct peer_agent *a, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (a->phase == PHASE_DONE)
		return;
	a->phase = PHASE_DONE;
	a->sum->ok = ok;
	if (!ok && fmt) {
		va_start(ap, fmt);
		vsnprintf(a->sum->error, sizeof(a->sum->error), fmt, ap);
		va_end(ap);
		log_msg(LOG_LVL_ERR, "%s", a->sum->error);
	}
	event_base_loopexit(a->base, NULL);
}

/* ------------------------------------------------------------------ */
/* Candidates and pairs. */

struct ice_cand *peer_agent_add_local(struct peer_agent *a, enum sdp_cand_type type,
				      const struct sockaddr *addr, const struct sockaddr *base,
				      const struct sockaddr *server, uint16_t local_pref,
				      struct peer_sock *sock, bool relay_tcp)
{
	struct ice_cand *c;
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < a->nlocal; i++)
		if (a->local[i].sock == sock &&
		    addr_equal((const struct sockaddr *)&a->local[i].addr, addr))
			return NULL;
	if (a->nlocal == ICE_MAX_LOCAL)
		return NULL;
	c = &a->local[a->nlocal++];
	memset(c, 0, sizeof(*c));
	c->type = type;
	memcpy(&c->addr, addr, addr_len(addr));
	memcpy(&c->base, base, addr_len(base));
	c->local_pref = local_pref;
	c->priority = ice_cand_priority(type, local_pref, 1);
	c->sock = sock;
	ice_foundation(type, base, server, relay_tcp, c->foundation);
	/* RFC 8839 §5.1: rel-addr is the base of a reflexive candidate and the
	 * mapped address of a relayed one. */
	c->raddr.ss_family = AF_UNSPEC;
	if (type == SDP_SRFLX || type == SDP_PRFLX)
		c->raddr = c->base;
	else if (type == SDP_RELAY && sock->turn) {
		c->raddr = *peer_turn_mapped(sock->turn);
		if (c->raddr.ss_family == AF_UNSPEC)
			c->raddr.ss_family = addr->sa_family;
	}
	a->sum->cand[type]++;
	log_msg(LOG_LVL_INFO, "local candidate %s %s (priority %u)", sdp_cand_type_name(type),
		addr_format(addr, true, buf, sizeof(buf)), c->priority);
	return c;
}

struct ice_pair *peer_agent_pair(struct peer_agent *a, struct ice_cand *l, struct ice_cand *r,
				 bool *added)
{
	struct ice_pair *p;

	if (added)
		*added = false;
	for (size_t i = 0; i < a->npairs; i++)
		if (a->pairs[i].local == l && a->pairs[i].remote == r)
			return &a->pairs[i];
	if (a->npairs == ICE_MAX_PAIRS || l->addr.ss_family != r->addr.ss_family)
		return NULL;
	p = &a->pairs[a->npairs++];
	memset(p, 0, sizeof(*p));
	p->local = l;
	p->remote = r;
	p->priority = ice_pair_prio_for(p, a->controlling);
	p->state = ICE_WAITING;
	if (added)
		*added = true;
	return p;
}

void peer_agent_trigger(struct peer_agent *a, struct ice_pair *p)
{
	if (p->triggered || a->ntrig == ICE_MAX_PAIRS)
		return;
	p->triggered = true;
	a->trig[a->ntrig++] = p;
}

static struct ice_pair *best_valid(struct peer_agent *a)
{
	struct ice_pair *best = NULL;

	for (size_t i = 0; i < a->npairs; i++)
		if (a->pairs[i].valid && (!best || a->pairs[i].priority > best->priority))
			best = &a->pairs[i];
	return best;
}

/* ------------------------------------------------------------------ */
/* Media (issue 12, media.c): DTLS-SRTP and RTP on the selected pair, then
 * the --data probes and the goodbye as without media. */

static void data_start(struct peer_agent *a)
{
	struct timeval tv = peer_tv_ms(0);

	a->data_step = 0;
	evtimer_add(a->data_timer, &tv);
}

static int media_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct peer_agent *a = ctx;
	struct ice_pair *p = a->selected;

	return peer_sock_send(p->local->sock, (const struct sockaddr *)&p->remote->addr, buf, len);
}

static void media_done(void *arg, bool ok, const char *error)
{
	struct peer_agent *a = arg;

	if (!ok)
		peer_agent_finish(a, false, "media: %s", error ? error : "failed");
	else if (a->phase == PHASE_CONNECTED)
		data_start(a);
}

static void media_start(struct peer_agent *a)
{
	int rc = peer_media_start(a->media, media_send, a, media_done, a);

	if (rc != 0)
		peer_agent_finish(a, false, "media: %s", tp_strerror(rc));
}

/* ------------------------------------------------------------------ */
/* Checks, nomination, selection. */

const char *ice_pair_name(const struct ice_pair *p, char *buf, size_t cap)
{
	char l[ADDR_STRLEN], r[ADDR_STRLEN];

	snprintf(buf, cap, "%s %s -> %s %s", sdp_cand_type_name(p->local->type),
		 addr_format((const struct sockaddr *)&p->local->addr, true, l, sizeof(l)),
		 sdp_cand_type_name(p->remote->type),
		 addr_format((const struct sockaddr *)&p->remote->addr, true, r, sizeof(r)));
	return buf;
}

static void select_pair(struct peer_agent *a, struct ice_pair *p)
{
	struct timeval tv;
	char name[ICE_PAIR_STRLEN];

	a->selected = p;
	a->phase = PHASE_CONNECTED;
	a->sum->connect_ms = peer_now_ms() - a->t_checks;
	log_msg(LOG_LVL_INFO, "selected %s", ice_pair_name(p, name, sizeof(name)));
	/* RFC 8445 §8.1.2: checks end; the pairs still in flight are dropped. */
	event_del(a->ta);
	for (size_t i = 0; i < a->npairs; i++) {
		peer_txn_cancel(a->pairs[i].txn);
		a->pairs[i].txn = NULL;
	}
	/* RFC 8656 §11: a channel for the selected pair through a relay. */
	if (p->local->sock->kind == PEER_SOCK_RELAY)
		peer_turn_bind(p->local->sock->turn, (const struct sockaddr *)&p->remote->addr);
	a->consent_last = peer_now_ms();
	tv = peer_tv_ms(peer_consent_every(a));
	evtimer_add(a->consent_timer, &tv);
	if (a->media)
		media_start(a);
	else
		data_start(a);
}

static void nominate(struct peer_agent *a)
{
	struct ice_pair *v = best_valid(a);
	char name[ICE_PAIR_STRLEN];

	if (!v || !a->controlling || a->phase != PHASE_CHECK)
		return;
	for (size_t i = 0; i < a->npairs; i++)
		if (a->pairs[i].nominating && a->pairs[i].txn)
			return; /* one nomination at a time */
	/* RFC 8445 §8.1.1: a new check on the valid pair with USE-CANDIDATE. */
	log_debug("nominating %s", ice_pair_name(v, name, sizeof(name)));
	v->nominating = true;
	if (peer_check_send(a, v) != 0)
		v->nominating = false;
}

static void nominate_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nominate(arg);
}

/* True while a pair better than v may still become valid. */
static bool better_pending(struct peer_agent *a, const struct ice_pair *v)
{
	for (size_t i = 0; i < a->npairs; i++) {
		const struct ice_pair *p = &a->pairs[i];
		if (p->priority > v->priority && p->state != ICE_FAILED &&
		    p->state != ICE_SUCCEEDED)
			return true;
	}
	return false;
}

static const char *last_error(struct peer_agent *a)
{
	static char buf[64];

	for (size_t i = 0; i < a->npairs; i++) {
		int e = a->pairs[i].last_error;
		if (e == -1)
			return "an answer failed MESSAGE-INTEGRITY (wrong ice-pwd?)";
		if (e > 0) {
			snprintf(buf, sizeof(buf), "the peer answered %d %s", e,
				 stun_error_reason(e));
			return buf;
		}
	}
	return "no answers";
}

void peer_agent_pair_update(struct peer_agent *a, struct ice_pair *p)
{
	struct ice_pair *v;
	size_t failed = 0;
	struct timeval tv;
	char name[ICE_PAIR_STRLEN];

	(void)p;
	if (a->phase != PHASE_CHECK)
		return;
	for (size_t i = 0; i < a->npairs; i++)
		if (a->pairs[i].nominated && a->pairs[i].valid) {
			select_pair(a, &a->pairs[i]);
			return;
		}
	if ((v = best_valid(a)) && a->controlling) {
		if (!better_pending(a, v))
			nominate(a);
		else if (!evtimer_pending(a->nominate_timer, NULL)) {
			log_debug("valid: %s; better pairs pending, nominating in %d ms",
				  ice_pair_name(v, name, sizeof(name)), NOMINATE_WAIT_MS);
			tv = peer_tv_ms(NOMINATE_WAIT_MS);
			evtimer_add(a->nominate_timer, &tv);
		}
	}
	for (size_t i = 0; i < a->npairs; i++)
		failed += a->pairs[i].state == ICE_FAILED;
	if (a->npairs && failed == a->npairs)
		peer_agent_finish(a, false,
				  "connectivity checks failed: all %zu candidate pairs "
				  "failed (%s)",
				  a->npairs, last_error(a));
}

/* A relay pair waits for its permission (RFC 8656 §9): a check sent
 * before it is installed is dropped by the server and costs an RTO. */
static bool sendable(const struct ice_pair *p)
{
	const struct peer_sock *s = p->local->sock;

	return s->kind != PEER_SOCK_RELAY ||
	       peer_turn_permission(s->turn, (const struct sockaddr *)&p->remote->addr) != 0;
}

static struct ice_pair *next_pair(struct peer_agent *a)
{
	struct ice_pair *best = NULL;

	for (size_t i = 0; i < a->ntrig; i++) {
		struct ice_pair *p = a->trig[i];
		if (p->state == ICE_WAITING && !sendable(p))
			continue;
		memmove(a->trig + i, a->trig + i + 1, (a->ntrig - i - 1) * sizeof(a->trig[0]));
		a->ntrig--;
		i--;
		p->triggered = false;
		if (p->state == ICE_WAITING)
			return p;
	}
	for (int want = ICE_WAITING; want >= ICE_FROZEN && !best; want--)
		for (size_t i = 0; i < a->npairs; i++)
			if ((int)a->pairs[i].state == want && sendable(&a->pairs[i]) &&
			    (!best || a->pairs[i].priority > best->priority))
				best = &a->pairs[i];
	return best;
}

/* RFC 8445 §6.1.4.2: one check per Ta, triggered ones first. */
static void ta_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;
	struct ice_pair *p;

	(void)fd;
	(void)what;
	if (a->phase != PHASE_CHECK)
		return;
	if ((p = next_pair(a)) && peer_check_send(a, p) != 0)
		p->state = ICE_FAILED;
	if (p)
		peer_agent_pair_update(a, p);
}

/* ------------------------------------------------------------------ */
/* The description exchange. */

static void *signal_thread(void *arg)
{
	struct peer_agent *a = arg;
	int left = a->o->timeout_ms - (int)(peer_now_ms() - a->t0);
	char one = 1;

	if (left < 1)
		left = 1;
	if (a->o->signal_url)
		a->sig_rc = peer_signal_redis(a->o->signal_url, a->o->controlling, a->local_sdp,
					      a->local_sdp_len, left, &a->sig_text, &a->sig_len,
					      a->sig_err, sizeof(a->sig_err));
	else
		a->sig_rc = peer_signal_read(a->o->remote_sdp, left, &a->sig_text, &a->sig_len,
					     a->sig_err, sizeof(a->sig_err));
	while (write(a->sig_pipe[1], &one, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void start_checks(struct peer_agent *a, const struct sdp_desc *d)
{
	struct timeval tv = peer_tv_ms(ICE_TA_MS);
	size_t n = 0;

	snprintf(a->rufrag, sizeof(a->rufrag), "%s", d->ufrag);
	snprintf(a->rpwd, sizeof(a->rpwd), "%s", d->pwd);
	for (size_t i = 0; i < d->ncand && a->nremote < SDP_MAX_CANDIDATES; i++) {
		const struct sdp_candidate *sc = &d->cand[i];
		struct ice_cand *c;

		if (sc->transport != SDP_UDP || sc->component != 1)
			continue;
		c = &a->remote[a->nremote++];
		memset(c, 0, sizeof(*c));
		c->type = sc->type;
		c->addr = sc->addr;
		c->base = sc->addr;
		c->raddr = sc->raddr;
		c->priority = sc->priority;
		snprintf(c->foundation, sizeof(c->foundation), "%s", sc->foundation);
		a->sum->remote_cand[sc->type]++;
	}
	a->remote_known = true;
	if (a->nremote == 0) {
		peer_agent_finish(a, false,
				  "the remote description has no usable candidate "
				  "(%zu ignored)",
				  d->ignored);
		return;
	}
	/* RFC 8445 §6.1.2.2: every local with every remote of its family. */
	for (size_t i = 0; i < a->nlocal; i++)
		for (size_t j = 0; j < a->nremote && n < ICE_MAX_PAIRS; j++) {
			struct ice_pair *p = &a->pairs[n];
			if (a->local[i].addr.ss_family != a->remote[j].addr.ss_family)
				continue;
			memset(p, 0, sizeof(*p));
			p->local = &a->local[i];
			p->remote = &a->remote[j];
			p->priority = ice_pair_prio_for(p, a->controlling);
			n++;
		}
	ice_pairs_sort(a->pairs, n);
	/* §6.1.2.4: a server-reflexive local candidate is checked from its
	 * base, so its pairs are the host's. */
	for (size_t i = 0; i < n; i++)
		if (a->pairs[i].local->type == SDP_SRFLX)
			for (size_t k = 0; k < a->nlocal; k++)
				if (a->local[k].type == SDP_HOST &&
				    a->local[k].sock == a->pairs[i].local->sock)
					a->pairs[i].local = &a->local[k];
	for (size_t i = 0; i < n; i++)
		a->pairs[i].priority = ice_pair_prio_for(&a->pairs[i], a->controlling);
	ice_pairs_sort(a->pairs, n);
	n = ice_pairs_prune(a->pairs, n);
	a->npairs = n;
	ice_pairs_initial_states(a->pairs, n);
	if (n == 0) {
		peer_agent_finish(a, false,
				  "no candidate pair: the remote candidates' address "
				  "families do not match ours");
		return;
	}
	/* RFC 8656 §9: the relays must let the peer's checks in. */
	for (size_t i = 0; i < a->nturns; i++)
		for (size_t j = 0; j < a->nremote; j++)
			if (peer_turn_state(a->turns[i]) == TURN_ST_READY &&
			    peer_turn_relayed(a->turns[i])->ss_family ==
				    a->remote[j].addr.ss_family)
				peer_turn_permit(a->turns[i],
						 (const struct sockaddr *)&a->remote[j].addr);
	a->phase = PHASE_CHECK;
	a->t_checks = peer_now_ms();
	log_msg(LOG_LVL_INFO, "checking %zu pairs as the %s agent", n,
		a->controlling ? "controlling" : "controlled");
	evtimer_add(a->ta, &tv);
	peer_check_early(a);
	if (a->phase == PHASE_CHECK)
		ta_cb(-1, 0, a);
}

static bool answer_after_offer(const struct peer_agent *a);
static int send_answer(struct peer_agent *a, const struct sdp_desc *offer);

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;
	static struct sdp_desc d; /* large: not on the stack */
	char err[256], one;

	(void)what;
	if (read(fd, &one, 1) != 1)
		return;
	a->sig_done = true;
	if (a->phase != PHASE_SIGNAL)
		return;
	if (a->sig_rc != 0) {
		peer_agent_finish(a, false, "remote description: %s",
				  a->sig_err[0] ? a->sig_err : tp_strerror(a->sig_rc));
		return;
	}
	if (sdp_parse(a->sig_text, a->sig_len, &d, err, sizeof(err)) != 0) {
		peer_agent_finish(a, false, "remote description: %s", err);
		return;
	}
	if (a->media && peer_media_remote(a->media, a->controlling, &d, err, sizeof(err)) != 0) {
		peer_agent_finish(a, false, "remote description: %s", err);
		return;
	}
	if (answer_after_offer(a) && send_answer(a, &d) != 0)
		return;
	start_checks(a, &d);
}

/* The answer in offer/answer's own order: the answerer reads the offer
 * first and shapes its answer after it (RFC 3264 §6: the same m= sections,
 * the offer's mid), as a browser's offer needs. Over files only: the Redis
 * exchange publishes both at once and stays as it was. */
static bool answer_after_offer(const struct peer_agent *a)
{
	return !a->o->controlling && !a->o->signal_url;
}

/* RFC 3264 §6.1: the answer's direction given the offer's. */
static enum sdp_direction answer_direction(enum sdp_direction offered)
{
	switch (offered) {
	case SDP_SENDONLY:
		return SDP_RECVONLY;
	case SDP_RECVONLY:
		return SDP_SENDONLY;
	case SDP_INACTIVE:
		return SDP_INACTIVE;
	default:
		return SDP_SENDRECV;
	}
}

/* Writes this side's description into a->local_sdp: an offer, or (offer
 * set) the answer to it. Returns 0, TP_EINVAL/TP_ENOSPC, TP_ECRYPTO. */
static int write_local(struct peer_agent *a, const struct sdp_desc *offer)
{
	static struct sdp_desc d;
	uint64_t sess;
	int n;

	memset(&d, 0, sizeof(d));
	snprintf(d.ufrag, sizeof(d.ufrag), "%s", a->lufrag);
	snprintf(d.pwd, sizeof(d.pwd), "%s", a->lpwd);
	/* Part 2 adds a=fingerprint; a=setup as RFC 8842 §5.2 asks already. */
	d.setup = a->o->controlling ? SDP_SETUP_ACTPASS : SDP_SETUP_ACTIVE;
	if (a->media)
		peer_media_describe(a->media, a->o->controlling, &d);
	/* The offer's mid for ours; without one sdp_write picks a free one. */
	snprintf(d.mid, sizeof(d.mid), "%s", offer ? offer->mid : "");
	if (offer) {
		memcpy(d.sec, offer->sec, sizeof(d.sec));
		d.nsec = offer->nsec;
		d.chosen = offer->chosen;
		d.direction = answer_direction(offer->direction);
	}
	d.rtcp_mux = true;
	d.end_of_candidates = true;
	for (size_t i = 0; i < a->nlocal && d.ncand < SDP_MAX_CANDIDATES; i++) {
		const struct ice_cand *c = &a->local[i];
		struct sdp_candidate *sc = &d.cand[d.ncand++];

		snprintf(sc->foundation, sizeof(sc->foundation), "%s", c->foundation);
		sc->component = 1;
		sc->transport = SDP_UDP;
		sc->priority = c->priority;
		sc->addr = c->addr;
		sc->type = c->type;
		sc->raddr = c->raddr;
		sc->tcptype = SDP_TCP_NONE;
	}
	if (rand_bytes(&sess, sizeof(sess)) != 0)
		return TP_ECRYPTO;
	n = sdp_write(&d, sess >> 1, a->local_sdp, sizeof(a->local_sdp));
	if (n < 0)
		return n;
	a->local_sdp_len = (size_t)n;
	return 0;
}

/* The answer to offer, written and sent; on failure the call is finished
 * with the reason and TP_EINVAL (or the write's error) is returned. */
static int send_answer(struct peer_agent *a, const struct sdp_desc *offer)
{
	char err[256];
	int rc;

	/* Our answer takes an audio section (a data-only offer has none). */
	if (offer->nsec && strcmp(offer->sec[offer->chosen].media, "audio") != 0) {
		peer_agent_finish(a, false, "remote description: no audio section to answer");
		return TP_EINVAL;
	}
	if ((rc = write_local(a, offer)) != 0) {
		peer_agent_finish(a, false, "local description: %s", tp_strerror(rc));
		return rc;
	}
	if ((rc = peer_signal_write(a->o->local_sdp, a->local_sdp, a->local_sdp_len, err,
				    sizeof(err))) != 0) {
		peer_agent_finish(a, false, "local description: %s", err);
		return rc;
	}
	return 0;
}

void peer_agent_gathered(struct peer_agent *a)
{
	pthread_t th;
	char err[256];
	int rc;

	if (a->phase != PHASE_GATHER)
		return;
	evtimer_del(a->gather_timer);
	a->phase = PHASE_SIGNAL;
	a->sum->gather_ms = peer_now_ms() - a->t0;
	if (a->nlocal == 0) {
		const char *why = a->nturns ? peer_turn_error(a->turns[0]) : "";
		if (a->o->policy == PEER_POLICY_RELAY)
			peer_agent_finish(a, false, "no relayed candidate (policy relay)%s%s",
					  why[0] ? ": " : "", why);
		else
			peer_agent_finish(a, false, "no candidates gathered%s%s",
					  why[0] ? ": " : "", why);
		return;
	}
	if (answer_after_offer(a)) {
		/* the answer waits for the offer: send_answer() */
	} else if ((rc = write_local(a, NULL)) != 0) {
		peer_agent_finish(a, false, "local description: %s", tp_strerror(rc));
		return;
	} else if (!a->o->signal_url &&
		   peer_signal_write(a->o->local_sdp, a->local_sdp, a->local_sdp_len, err,
				     sizeof(err)) != 0) {
		peer_agent_finish(a, false, "local description: %s", err);
		return;
	}
	if (pipe2(a->sig_pipe, O_CLOEXEC) != 0 ||
	    !(a->signal_ev =
		      event_new(a->base, a->sig_pipe[0], EV_READ | EV_PERSIST, signal_cb, a))) {
		peer_agent_finish(a, false, "signalling: %s", strerror(errno));
		return;
	}
	event_add(a->signal_ev, NULL);
	if (pthread_create(&th, NULL, signal_thread, a) != 0) {
		peer_agent_finish(a, false, "signalling: cannot start a thread");
		return;
	}
	pthread_detach(th);
	a->sig_started = true;
}

static void gather_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;

	(void)fd;
	(void)what;
	log_msg(LOG_LVL_WARN, "gathering: %u requests unanswered after %d ms; going on",
		a->gather_pending, GATHER_MAX_MS);
	peer_agent_gathered(a);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;
	size_t failed = 0, waiting = 0, valid = 0;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < a->npairs; i++) {
		failed += a->pairs[i].state == ICE_FAILED;
		waiting += a->pairs[i].state != ICE_FAILED && a->pairs[i].state != ICE_SUCCEEDED;
		valid += a->pairs[i].valid;
	}
	switch (a->phase) {
	case PHASE_GATHER:
		peer_agent_finish(a, false, "timeout while gathering candidates");
		break;
	case PHASE_SIGNAL:
		peer_agent_finish(a, false, "timeout waiting for the remote description");
		break;
	case PHASE_CHECK:
		if (valid && !a->controlling) {
			peer_agent_finish(
				a, false,
				"timeout: the controlling agent nominated none of our %zu "
				"valid pairs (%u checks)",
				valid, a->sum->checks);
			break;
		}
		peer_agent_finish(
			a, false,
			"timeout: no pair selected after %u checks (%zu pairs: %zu valid, "
			"%zu failed, %zu unanswered; %s)",
			a->sum->checks, a->npairs, valid, failed, waiting, last_error(a));
		break;
	case PHASE_CONNECTED:
		peer_agent_finish(a, false, "timeout while exchanging data on the selected pair");
		break;
	case PHASE_DONE:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The RFC 7983 demultiplexer. */

/* from is one of the remote candidates (learned peer-reflexive included). */
static bool remote_cand(const struct peer_agent *a, const struct sockaddr *from)
{
	for (size_t i = 0; i < a->nremote; i++)
		if (addr_equal(from, (const struct sockaddr *)&a->remote[i].addr))
			return true;
	return false;
}

void peer_agent_input(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		      const uint8_t *buf, size_t len)
{
	struct stun_msg m;

	if (len == 0 || a->phase == PHASE_DONE)
		return;
	if (buf[0] <= 3) { /* STUN */
		if (stun_msg_parse(&m, buf, len) != 0 || !m.magic) {
			a->dropped++;
			return;
		}
		if (m.cls == STUN_REQUEST && m.method == STUN_BINDING)
			peer_check_request(a, s, from, &m);
		else if (m.cls == STUN_SUCCESS || m.cls == STUN_ERROR)
			peer_txns_answer(&a->txns, &m, from);
		return;
	}
	if (buf[0] >= PEER_PROBE_FIRST && buf[0] <= PEER_PROBE_LAST &&
	    peer_check_known_source(a, s, from)) {
		peer_probe_input(a, s, from, buf, len);
		return;
	}
	/* RFC 7983: 20..63 DTLS, 128..191 SRTP/SRTCP, from the selected
	 * pair's remote only (DTLS may come first, before we select). */
	if (a->media && ((buf[0] >= 20 && buf[0] <= 63) || (buf[0] >= 128 && buf[0] <= 191)) &&
	    (a->selected ? addr_equal(from, (const struct sockaddr *)&a->selected->remote->addr)
			 : buf[0] <= 63 && remote_cand(a, from))) {
		peer_media_input(a->media, buf, len);
		return;
	}
	a->dropped++;
}

/* ------------------------------------------------------------------ */

/* RFC 8445 §5.3: ice-chars are ALPHA / DIGIT / "+" / "/". */
static int random_ice_chars(char *out, size_t n)
{
	static const char set[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[64];

	if (n > sizeof(raw) || rand_bytes(raw, n) != 0)
		return TP_ECRYPTO;
	for (size_t i = 0; i < n; i++)
		out[i] = set[raw[i] & 63];
	out[n] = '\0';
	return 0;
}

static void summarise(struct peer_agent *a)
{
	struct peer_summary *s = a->sum;
	struct ice_pair *p = a->selected;
	double sum = 0;

	s->controlling = a->controlling;
	s->data_asked = a->o->data > 0;
	if (p) {
		s->have_selected = true;
		s->sel_local = p->local->type;
		s->sel_remote = p->remote->type;
		addr_format((const struct sockaddr *)&p->local->addr, true, s->sel_local_addr,
			    sizeof(s->sel_local_addr));
		addr_format((const struct sockaddr *)&p->remote->addr, true, s->sel_remote_addr,
			    sizeof(s->sel_remote_addr));
		if (p->local->sock->kind == PEER_SOCK_RELAY) {
			static const char *names[] = {"udp", "tcp", "tls"};
			struct peer_turn *t = p->local->sock->turn;
			s->relay_protocol = names[peer_turn_server(t)->transport];
			s->channel_bound =
				peer_turn_bound(t, (const struct sockaddr *)&p->remote->addr);
		}
	}
	if (a->media)
		peer_media_summary(a->media, &s->media);
	if (a->rtts && s->data_received) {
		for (unsigned i = 0; i < a->data_seq; i++)
			if (a->rtts[i] >= 0)
				sum += a->rtts[i];
		s->rtt_ms = sum / s->data_received;
	}
}

int peer_agent_run(const struct peer_agent_opts *o, struct peer_summary *sum)
{
	struct peer_agent *a;
	struct timeval tv;
	int rc = TP_ENOMEM;

	memset(sum, 0, sizeof(*sum));
	if (!(a = calloc(1, sizeof(*a)))) {
		snprintf(sum->error, sizeof(sum->error), "out of memory");
		return TP_ENOMEM;
	}
	a->o = o;
	a->sum = sum;
	a->controlling = o->controlling;
	a->sig_pipe[0] = a->sig_pipe[1] = -1;
	a->t0 = peer_now_ms();
	if (!(a->base = event_base_new()))
		goto out;
	a->txns.base = a->base;
	if (o->data && !(a->rtts = malloc(o->data * sizeof(double))))
		goto out;
	for (unsigned i = 0; i < o->data; i++)
		a->rtts[i] = -1;
	a->ta = event_new(a->base, -1, EV_PERSIST, ta_cb, a);
	a->deadline = evtimer_new(a->base, deadline_cb, a);
	a->gather_timer = evtimer_new(a->base, gather_timer_cb, a);
	a->nominate_timer = evtimer_new(a->base, nominate_cb, a);
	a->consent_timer = evtimer_new(a->base, peer_consent_cb, a);
	a->data_timer = evtimer_new(a->base, peer_probe_cb, a);
	if (!a->ta || !a->deadline || !a->gather_timer || !a->nominate_timer || !a->consent_timer ||
	    !a->data_timer)
		goto out;
	/* RFC 8445 §5.3: at least 24 bits of ufrag, 128 of password. */
	if (random_ice_chars(a->lufrag, 8) != 0 || random_ice_chars(a->lpwd, 24) != 0 ||
	    rand_bytes(&a->tiebreaker, sizeof(a->tiebreaker)) != 0) {
		rc = TP_ECRYPTO;
		goto out;
	}
	if (o->media.duration_ms &&
	    !(a->media = peer_media_new(&o->media, a->base, sum->error, sizeof(sum->error)))) {
		rc = TP_EINVAL;
		goto out;
	}
	tv = peer_tv_ms(o->timeout_ms);
	evtimer_add(a->deadline, &tv);
	tv = peer_tv_ms(o->timeout_ms / 2 < GATHER_MAX_MS ? o->timeout_ms / 2 : GATHER_MAX_MS);
	evtimer_add(a->gather_timer, &tv);
	if ((rc = peer_gather_start(a)) != 0) {
		peer_agent_finish(a, false, "gathering: %s", tp_strerror(rc));
		goto out;
	}
	if (a->phase != PHASE_DONE)
		event_base_dispatch(a->base);
	if (a->phase != PHASE_DONE)
		peer_agent_finish(a, false, "internal error: the loop ended early");
	summarise(a);
	rc = sum->ok ? 0 : TP_ETIMEDOUT;
out:
	if (rc == TP_ENOMEM || rc == TP_ECRYPTO) {
		if (!sum->error[0])
			snprintf(sum->error, sizeof(sum->error), "%s", tp_strerror(rc));
		sum->ok = false;
	}
	/* The relays first: they cancel their own transactions. */
	for (size_t i = 0; i < a->nturns; i++)
		peer_turn_free(a->turns[i]);
	peer_txns_clear(&a->txns);
	peer_media_free(a->media); /* its timers before the base */
	for (size_t i = 0; i < a->nhosts; i++)
		peer_sock_free(a->hosts[i]);
	if (a->ta)
		event_free(a->ta);
	if (a->deadline)
		event_free(a->deadline);
	if (a->gather_timer)
		event_free(a->gather_timer);
	if (a->nominate_timer)
		event_free(a->nominate_timer);
	if (a->consent_timer)
		event_free(a->consent_timer);
	if (a->data_timer)
		event_free(a->data_timer);
	if (a->signal_ev)
		event_free(a->signal_ev);
	if (a->base)
		event_base_free(a->base);
	free(a->rtts);
	/* A signalling thread still blocked in its read owns a: leave both to
	 * the process's exit (the read is bounded by the timeout anyway). */
	if (!a->sig_started || a->sig_done) {
		if (a->sig_pipe[0] >= 0)
			close(a->sig_pipe[0]);
		if (a->sig_pipe[1] >= 0)
			close(a->sig_pipe[1]);
		free(a->sig_text);
		OPENSSL_cleanse(a, sizeof(*a));
		free(a);
	}
	return rc;
}
