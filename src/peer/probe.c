/* probe.c - what turnpike-peer does on the selected pair: the --data
 * probes (each echoed by the peer, so both directions are proven and the
 * round trip measured), the goodbye that keeps either side from leaving
 * while the other still needs it, and consent freshness (RFC 7675). */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "peer/ice.h"
#include "turnpike/wire.h"
#include "util/addr.h"
#include "util/rand.h"

#define PROBE_EVERY_MS 20
#define PROBE_LEN 100
#define PROBE_WAIT_MS 2000 /* echoes of the last probes */
#define BYE_EVERY_MS 100
#define BYE_WAIT_MS 3000 /* after the peer's last probe or goodbye */
/* The probe datagrams: a first byte no protocol of RFC 7983 uses
 * (192-255), so they never meet STUN, DTLS or SRTP. */
#define PROBE_PING PEER_PROBE_FIRST
#define PROBE_ECHO 0xF1
#define PROBE_BYE 0xF2
#define PROBE_BYE_ACK PEER_PROBE_LAST

static void probe_send(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *to,
		       uint8_t kind, uint32_t seq, uint64_t stamp)
{
	uint8_t buf[PROBE_LEN];
	struct wire_wr w;

	memset(buf, 0, sizeof(buf));
	wire_wr_init(&w, buf, sizeof(buf));
	wire_wr_u8(&w, kind);
	wire_wr_u32(&w, seq);
	wire_wr_u32(&w, (uint32_t)(stamp >> 32));
	wire_wr_u32(&w, (uint32_t)stamp);
	peer_sock_send(s, to, buf, kind == PROBE_PING || kind == PROBE_ECHO ? sizeof(buf) : w.pos);
	(void)a;
}

void peer_probe_input(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		      const uint8_t *buf, size_t len)
{
	struct wire_rd r;
	uint8_t kind;
	uint32_t seq, hi, lo;

	wire_rd_init(&r, buf, len);
	kind = wire_rd_u8(&r);
	seq = wire_rd_u32(&r);
	hi = wire_rd_u32(&r);
	lo = wire_rd_u32(&r);
	if (r.err)
		return;
	a->peer_last = peer_now_ms();
	switch (kind) {
	case PROBE_PING:
		probe_send(a, s, from, PROBE_ECHO, seq, ((uint64_t)hi << 32) | lo);
		a->sum->data_answered++;
		break;
	case PROBE_ECHO:
		if (seq < a->data_seq && a->rtts && a->rtts[seq] < 0) {
			a->rtts[seq] = peer_now_ms() - (double)(((uint64_t)hi << 32) | lo) / 1000.0;
			a->sum->data_received++;
		}
		break;
	case PROBE_BYE:
		a->bye_received = true;
		probe_send(a, s, from, PROBE_BYE_ACK, 0, 0);
		break;
	case PROBE_BYE_ACK:
		a->bye_sent_acked = true;
		break;
	}
	if (a->phase == PHASE_CONNECTED && a->bye_received && a->bye_sent_acked)
		peer_agent_finish(a, true, NULL);
}

enum data_step {
	STEP_PROBES = 0,
	STEP_ECHOES,
	STEP_BYE
};

void peer_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;
	struct ice_pair *sel = a->selected;
	struct timeval tv;
	double now = peer_now_ms();

	(void)fd;
	(void)what;
	if (a->phase != PHASE_CONNECTED)
		return;
	if (a->data_step == STEP_PROBES && a->data_seq < a->o->data) {
		probe_send(a, sel->local->sock, (const struct sockaddr *)&sel->remote->addr,
			   PROBE_PING, a->data_seq, (uint64_t)(now * 1000));
		a->data_seq++;
		a->sum->data_sent++;
		tv = peer_tv_ms(PROBE_EVERY_MS);
		evtimer_add(a->data_timer, &tv);
		return;
	}
	if (a->data_step == STEP_PROBES) {
		a->data_step = STEP_ECHOES;
		a->step_since = now;
	}
	if (a->data_step == STEP_ECHOES) {
		if (a->sum->data_received < a->data_seq && now - a->step_since < PROBE_WAIT_MS) {
			tv = peer_tv_ms(PROBE_EVERY_MS);
			evtimer_add(a->data_timer, &tv);
			return;
		}
		if (a->o->data && a->sum->data_received == 0) {
			peer_agent_finish(a, false,
					  "no --data probe came back over the selected pair "
					  "(%u sent)",
					  a->sum->data_sent);
			return;
		}
		a->data_step = STEP_BYE;
		a->step_since = now;
	}
	/* Both sides keep answering until each knows the other is done, so
	 * neither leaves while the other still checks or probes. */
	if (a->bye_received && a->bye_sent_acked) {
		peer_agent_finish(a, true, NULL);
		return;
	}
	if (now - (a->peer_last > a->step_since ? a->peer_last : a->step_since) > BYE_WAIT_MS) {
		peer_agent_finish(a, true, NULL); /* proven; the peer went quiet */
		return;
	}
	if (!a->bye_sent_acked)
		probe_send(a, sel->local->sock, (const struct sockaddr *)&sel->remote->addr,
			   PROBE_BYE, 0, 0);
	tv = peer_tv_ms(BYE_EVERY_MS);
	evtimer_add(a->data_timer, &tv);
}

/* ------------------------------------------------------------------ */
/* Consent freshness (RFC 7675). */

static void consent_done(void *arg, struct peer_txn *t, const struct stun_msg *m,
			 const struct sockaddr *from)
{
	struct peer_agent *a = arg;

	(void)t;
	a->consent_txn = NULL;
	/* §5.1: a success answer from the peer, signed with its password. */
	if (m && m->cls == STUN_SUCCESS && from &&
	    addr_equal(from, (const struct sockaddr *)&a->selected->remote->addr) &&
	    stun_msg_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) == 0)
		a->consent_last = peer_now_ms();
}

void peer_consent_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_agent *a = arg;
	struct ice_pair *sel = a->selected;
	struct stun_builder b;
	uint8_t buf[256], txn[16];
	char user[SDP_UFRAG_MAX * 2 + 2];
	uint32_t jitter = 0;
	struct timeval tv;
	size_t len;
	int every;

	(void)fd;
	(void)what;
	if (a->phase != PHASE_CONNECTED)
		return;
	if (peer_now_ms() - a->consent_last > a->o->consent_ms) {
		peer_agent_finish(a, false,
				  "consent lost: no answer on the selected pair for %d ms "
				  "(RFC 7675)",
				  a->o->consent_ms);
		return;
	}
	if (!a->consent_txn && stun_txn_new(txn) == 0) {
		snprintf(user, sizeof(user), "%s:%s", a->rufrag, a->lufrag);
		stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
		stun_build_string(&b, STUN_ATTR_USERNAME, user);
		stun_build_u32(&b, STUN_ATTR_PRIORITY,
			       ice_cand_priority(SDP_PRFLX, sel->local->local_pref, 1));
		if (a->controlling)
			stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, a->tiebreaker);
		else
			stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, a->tiebreaker);
		stun_build_integrity(&b, (const uint8_t *)a->rpwd, strlen(a->rpwd));
		stun_build_fingerprint(&b);
		if (stun_build_finish(&b, &len) == 0)
			peer_txn_start(&a->txns, peer_sock_send, sel->local->sock, false,
				       (const struct sockaddr *)&sel->remote->addr, buf, len,
				       consent_done, a, &a->consent_txn);
	}
	/* §5.1: 0.8 to 1.2 times the interval. */
	every = peer_consent_every(a);
	rand_uniform((uint32_t)every * 2 / 5, &jitter);
	tv = peer_tv_ms(every * 4 / 5 + (int)jitter);
	evtimer_add(a->consent_timer, &tv);
}

int peer_consent_every(const struct peer_agent *a)
{
	/* RFC 7675: a check every 5 s, consent lost after 30 s without an
	 * answer; a shorter --consent-timeout keeps six checks in it. */
	return a->o->consent_ms / 6 < PEER_CONSENT_MS ? a->o->consent_ms / 6 : PEER_CONSENT_MS;
}
