/* check.c - ICE connectivity checks (RFC 8445 §7): sending a pair's
 * Binding request with short-term credentials, reading its answer (valid
 * pairs, peer-reflexive local candidates, role conflicts), and answering
 * the other agent's checks (peer-reflexive remote candidates, triggered
 * checks, USE-CANDIDATE). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "peer/ice.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"

/* ------------------------------------------------------------------ */
/* Sending checks. */

static void set_role(struct peer_agent *a, bool controlling)
{
	if (a->controlling == controlling)
		return;
	a->controlling = controlling;
	log_msg(LOG_LVL_INFO, "role conflict: now %s", controlling ? "controlling" : "controlled");
	/* RFC 8445 §7.3.1.1: pair priorities follow the role. */
	for (size_t i = 0; i < a->npairs; i++) {
		a->pairs[i].priority = ice_pair_prio_for(&a->pairs[i], controlling);
		a->pairs[i].nominating = false;
	}
}

static struct ice_cand *find_local(struct peer_agent *a, const struct sockaddr *addr,
				   const struct peer_sock *s)
{
	for (size_t i = 0; i < a->nlocal; i++)
		if (a->local[i].sock == s &&
		    addr_equal((const struct sockaddr *)&a->local[i].addr, addr))
			return &a->local[i];
	return NULL;
}

static void check_done(void *arg, struct peer_txn *t, const struct stun_msg *m,
		       const struct sockaddr *from);

int peer_check_send(struct peer_agent *a, struct ice_pair *p)
{
	struct stun_builder b;
	uint8_t buf[512], txn[16];
	char user[SDP_UFRAG_MAX * 2 + 2], name[ICE_PAIR_STRLEN];
	size_t len;
	int rc;

	if ((rc = stun_txn_new(txn)) != 0)
		return rc;
	/* RFC 8445 §7.2.2, RFC 8489 §9.1.2. */
	snprintf(user, sizeof(user), "%s:%s", a->rufrag, a->lufrag);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_USERNAME, user);
	/* §7.1.1: the priority a peer-reflexive candidate would get. */
	stun_build_u32(&b, STUN_ATTR_PRIORITY,
		       ice_cand_priority(SDP_PRFLX, p->local->local_pref, 1));
	if (a->controlling) {
		stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, a->tiebreaker);
		if (p->nominating)
			stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE); /* §8.1.1 */
	} else {
		stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, a->tiebreaker);
	}
	stun_build_integrity(&b, (const uint8_t *)a->rpwd, strlen(a->rpwd));
	stun_build_fingerprint(&b);
	if ((rc = stun_build_finish(&b, &len)) != 0)
		return rc;
	peer_txn_cancel(p->txn);
	p->txn = NULL;
	rc = peer_txn_start(&a->txns, peer_sock_send, p->local->sock, false,
			    (const struct sockaddr *)&p->remote->addr, buf, len, check_done, p,
			    &p->txn);
	if (rc != 0)
		return rc;
	p->state = ICE_IN_PROGRESS;
	a->sum->checks++;
	log_debug("check %s%s", ice_pair_name(p, name, sizeof(name)),
		  p->nominating ? " USE-CANDIDATE" : "");
	return 0;
}

/* RFC 8445 §7.2.5.3.3: a success unfreezes the pairs of its foundation. */
static void unfreeze(struct peer_agent *a, const struct ice_pair *p)
{
	for (size_t i = 0; i < a->npairs; i++)
		if (a->pairs[i].state == ICE_FROZEN && ice_pair_same_foundation(&a->pairs[i], p))
			a->pairs[i].state = ICE_WAITING;
}

/* --verbose twice: what became of a check, and the valid pair it made. */
static void log_outcome(const struct ice_pair *p, const struct ice_pair *v, bool answered)
{
	char name[ICE_PAIR_STRLEN], vname[ICE_PAIR_STRLEN];

	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	if (p->state != ICE_SUCCEEDED)
		log_debug("check %s: failed%s", ice_pair_name(p, name, sizeof(name)),
			  answered ? "" : ", no answer");
	else
		log_debug("check %s: succeeded%s%s%s", ice_pair_name(p, name, sizeof(name)),
			  v->nominated ? ", nominated" : "", v != p ? ", valid pair " : "",
			  v != p ? ice_pair_name(v, vname, sizeof(vname)) : "");
}

static void check_done(void *arg, struct peer_txn *t, const struct stun_msg *m,
		       const struct sockaddr *from)
{
	struct ice_pair *p = arg, *v = NULL;
	struct peer_agent *a = p->local->sock->agent;
	struct sockaddr_storage mapped;
	const struct stun_attr *ea;
	struct ice_cand *lc;
	const char *reason;
	size_t rlen;
	bool sent_controlling;
	int code = 0;

	(void)t;
	p->txn = NULL;
	sent_controlling = a->controlling;
	if (!m) {
		p->state = ICE_FAILED; /* §7.2.5.2.1: no answer */
		goto out;
	}
	/* §7.2.5.2: answers are signed with the password we signed with;
	 * only a 400 or 401 (the peer could not check ours) comes unsigned. */
	if ((ea = stun_msg_find(m, STUN_ATTR_ERROR_CODE)))
		stun_attr_get_error(m, ea, &code, &reason, &rlen);
	if ((m->mi >= 0 || m->cls == STUN_SUCCESS ||
	     (code != STUN_ERR_BAD_REQUEST && code != STUN_ERR_UNAUTHORIZED)) &&
	    stun_msg_check_integrity(m, (const uint8_t *)a->rpwd, strlen(a->rpwd)) != 0) {
		log_msg(LOG_LVL_INFO, "check answer without valid MESSAGE-INTEGRITY: pair failed");
		p->last_error = -1;
		p->state = ICE_FAILED;
		goto out;
	}
	if (m->cls == STUN_ERROR) {
		p->last_error = code;
		if (code == STUN_ERR_ROLE_CONFLICT) {
			/* §7.2.5.1: take the other role, check the pair again. */
			set_role(a, !sent_controlling);
			p->state = ICE_WAITING;
			peer_agent_trigger(a, p);
			return;
		}
		p->state = ICE_FAILED;
		goto out;
	}
	/* §7.2.5.2.1: the answer must come from where the check went. */
	if (!from || !addr_equal(from, (const struct sockaddr *)&p->remote->addr)) {
		p->state = ICE_FAILED;
		goto out;
	}
	if (stun_msg_xor_addr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) != 0) {
		p->state = ICE_FAILED;
		goto out;
	}
	/* §7.2.5.3.1: a mapped address we do not know is a peer-reflexive
	 * candidate with the priority the check carried. */
	lc = find_local(a, (const struct sockaddr *)&mapped, p->local->sock);
	if (!lc) {
		lc = peer_agent_add_local(a, SDP_PRFLX, (const struct sockaddr *)&mapped,
					  (const struct sockaddr *)&p->local->base, NULL,
					  p->local->local_pref, p->local->sock, false);
		if (!lc)
			lc = p->local;
	}
	p->state = ICE_SUCCEEDED;
	unfreeze(a, p);
	/* §7.2.5.3.2: the valid pair is (mapped candidate, remote). */
	v = lc == p->local ? p : peer_agent_pair(a, lc, p->remote, NULL);
	if (!v)
		v = p;
	v->valid = true;
	if (v != p)
		v->state = ICE_SUCCEEDED;
	/* §8.1.1 / §7.3.1.5: nominated by our USE-CANDIDATE, or the peer's. */
	if ((a->controlling && p->nominating) || (!a->controlling && (p->use_cand || v->use_cand)))
		v->nominated = true;
out:
	log_outcome(p, v, m != NULL);
	peer_agent_pair_update(a, p);
}

/* ------------------------------------------------------------------ */
/* Answering checks (RFC 8445 §7.3). */

/* Refused checks are logged, at most 3 per 10 s. */
static struct log_ratelimit rl_refuse = LOG_RATELIMIT_INIT(10, 3);

static void answer(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *to,
		   const struct stun_msg *req, int code)
{
	struct stun_builder b;
	uint8_t buf[256];
	char from[ADDR_STRLEN];
	size_t len;

	if (code && code != STUN_ERR_ROLE_CONFLICT)
		log_rl(&rl_refuse, LOG_LVL_WARN, "check from %s refused: %d %s",
		       addr_format(to, true, from, sizeof(from)), code, stun_error_reason(code));

	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, code ? STUN_ERROR : STUN_SUCCESS,
			req->txn);
	if (code) {
		stun_build_error(&b, code, stun_error_reason(code));
		if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
			stun_build_unknown(&b, req->unknown, req->nunknown);
	} else {
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, to);
	}
	/* RFC 8489 §9.1.3: 400 and 401 are not signed (we could not check). */
	if (code != STUN_ERR_BAD_REQUEST && code != STUN_ERR_UNAUTHORIZED)
		stun_build_integrity(&b, (const uint8_t *)a->lpwd, strlen(a->lpwd));
	stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &len) == 0)
		peer_sock_send(s, to, buf, len);
}

/* The USERNAME of a check is "our ufrag:their ufrag" (§7.3, RFC 8489
 * §9.1.3); compared in constant time, like a MAC. */
static bool username_ok(const struct peer_agent *a, const struct stun_msg *m)
{
	const struct stun_attr *u = stun_msg_find(m, STUN_ATTR_USERNAME);
	char want[SDP_UFRAG_MAX * 2 + 2];
	size_t wl = (size_t)snprintf(want, sizeof(want), "%s:%s", a->lufrag, a->rufrag);

	return u && u->len == wl && CRYPTO_memcmp(stun_attr_value(m, u), want, wl) == 0;
}

/* The USERNAME starts with "our ufrag:" (before the peer's is known). */
static bool lufrag_ok(const struct peer_agent *a, const struct stun_msg *m)
{
	const struct stun_attr *u = stun_msg_find(m, STUN_ATTR_USERNAME);
	size_t ll = strlen(a->lufrag);

	return u && u->len > ll && CRYPTO_memcmp(stun_attr_value(m, u), a->lufrag, ll) == 0 &&
	       stun_attr_value(m, u)[ll] == ':';
}

static struct ice_cand *remote_for(struct peer_agent *a, const struct sockaddr *from, uint32_t prio)
{
	struct ice_cand *c;

	for (size_t i = 0; i < a->nremote; i++)
		if (addr_equal((const struct sockaddr *)&a->remote[i].addr, from))
			return &a->remote[i];
	/* §7.3.1.3: a peer-reflexive remote candidate, PRIORITY from the check. */
	if (a->nremote == ICE_MAX_REMOTE)
		return NULL;
	c = &a->remote[a->nremote++];
	memset(c, 0, sizeof(*c));
	c->type = SDP_PRFLX;
	memcpy(&c->addr, from, addr_len(from));
	c->base = c->addr;
	c->priority = prio;
	snprintf(c->foundation, sizeof(c->foundation), "prflx%zu", a->nremote);
	a->sum->remote_cand[SDP_PRFLX]++;
	return c;
}

/* The local candidate a check arrived on: the host candidate of a socket,
 * or the relayed candidate of a relay. */
static struct ice_cand *local_for(struct peer_agent *a, const struct peer_sock *s)
{
	for (size_t i = 0; i < a->nlocal; i++)
		if (a->local[i].sock == s &&
		    (a->local[i].type == SDP_HOST || a->local[i].type == SDP_RELAY))
			return &a->local[i];
	return NULL;
}

/* What a valid check tells us (RFC 8445 §7.3.1.3-§7.3.1.5): its remote
 * candidate (peer-reflexive when new), its pair (checked back, a
 * triggered check), and the controlling agent's nomination. */
static void learn(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		  uint32_t prio, bool use_cand)
{
	struct ice_cand *lc, *rc;
	struct ice_pair *p;
	bool added = false, triggered = false;
	char name[ICE_PAIR_STRLEN];

	if (a->phase != PHASE_CHECK && a->phase != PHASE_CONNECTED)
		return;
	if (!(rc = remote_for(a, from, prio)) || !(lc = local_for(a, s)))
		return;
	if (!(p = peer_agent_pair(a, lc, rc, &added)))
		return;
	/* §7.3.1.5: the controlled agent notes the nomination, and sets it on
	 * the valid pair this pair's check produced: behind a NAT that pair's
	 * local candidate is the server- or peer-reflexive one on the same
	 * socket, not the host candidate the check arrived on. */
	if (!a->controlling && use_cand) {
		p->use_cand = true;
		for (size_t i = 0; i < a->npairs; i++)
			if (a->pairs[i].valid && a->pairs[i].remote == rc &&
			    a->pairs[i].local->sock == s)
				a->pairs[i].nominated = true;
	}
	/* §7.3.1.4 triggered checks, also for a pair whose own check is in
	 * flight: that check may have been dropped by the peer's NAT before
	 * the peer's check opened it, and a new one now gets through at once
	 * where waiting costs a retransmission (RTO). The check in flight is
	 * replaced when the triggered one goes; an answer to it until then
	 * still counts. */
	if (a->phase == PHASE_CHECK &&
	    (added || p->state == ICE_WAITING || p->state == ICE_FROZEN || p->state == ICE_FAILED ||
	     p->state == ICE_IN_PROGRESS)) {
		p->state = ICE_WAITING;
		peer_agent_trigger(a, p);
		triggered = true;
	}
	log_debug("checked by the peer: %s%s%s", ice_pair_name(p, name, sizeof(name)),
		  use_cand ? " USE-CANDIDATE" : "", triggered ? ", triggered check queued" : "");
	peer_agent_pair_update(a, p);
}

/* A check that came before the description, kept for it (§7.3). */
static void keep_early(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		       uint32_t prio, bool use_cand)
{
	size_t i;

	for (i = 0; i < a->nearly; i++)
		if (a->early[i].sock == s &&
		    addr_equal((const struct sockaddr *)&a->early[i].from, from))
			break;
	if (i == ICE_MAX_EARLY)
		return;
	if (i == a->nearly) {
		memset(&a->early[i], 0, sizeof(a->early[i]));
		a->early[i].sock = s;
		memcpy(&a->early[i].from, from, addr_len(from));
		a->nearly++;
	}
	a->early[i].prio = prio;
	a->early[i].use_cand |= use_cand;
}

bool peer_check_known_source(const struct peer_agent *a, const struct peer_sock *s,
			     const struct sockaddr *from)
{
	for (size_t i = 0; i < a->nremote; i++)
		if (addr_equal((const struct sockaddr *)&a->remote[i].addr, from))
			return true;
	for (size_t i = 0; i < a->nearly; i++)
		if (a->early[i].sock == s &&
		    addr_equal((const struct sockaddr *)&a->early[i].from, from))
			return true;
	return false;
}

void peer_check_early(struct peer_agent *a)
{
	for (size_t i = 0; i < a->nearly && a->phase == PHASE_CHECK; i++)
		learn(a, a->early[i].sock, (const struct sockaddr *)&a->early[i].from,
		      a->early[i].prio, a->early[i].use_cand);
}

void peer_check_request(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
			const struct stun_msg *m)
{
	uint64_t theirs;
	uint32_t prio = 0;
	bool user_ok;

	/* RFC 7983 peers send FINGERPRINT; §7.2.2 requires it of checks. */
	if (m->fp < 0)
		return;
	/* RFC 8489 §9.1.3 */
	if (!stun_msg_find(m, STUN_ATTR_USERNAME) || m->mi < 0) {
		answer(a, s, from, m, STUN_ERR_BAD_REQUEST);
		return;
	}
	/* §7.3: before the peer's description is here only our half of the
	 * USERNAME can be checked; what the check means (its pair, a
	 * nomination) is kept for then. */
	user_ok = a->remote_known ? username_ok(a, m) : lufrag_ok(a, m);
	if (!user_ok ||
	    stun_msg_check_integrity(m, (const uint8_t *)a->lpwd, strlen(a->lpwd)) != 0) {
		answer(a, s, from, m, STUN_ERR_UNAUTHORIZED);
		return;
	}
	if (m->nunknown) {
		answer(a, s, from, m, STUN_ERR_UNKNOWN_ATTRIBUTE);
		return;
	}
	if (stun_msg_u32(m, STUN_ATTR_PRIORITY, &prio) != 0) {
		answer(a, s, from, m, STUN_ERR_BAD_REQUEST); /* §7.1.1 */
		return;
	}
	/* §7.3.1.1 role conflicts. */
	if (stun_msg_find(m, STUN_ATTR_ICE_CONTROLLING) && a->controlling) {
		stun_attr_get_u64(m, stun_msg_find(m, STUN_ATTR_ICE_CONTROLLING), &theirs);
		if (a->tiebreaker >= theirs) {
			answer(a, s, from, m, STUN_ERR_ROLE_CONFLICT);
			return;
		}
		set_role(a, false);
	} else if (stun_msg_find(m, STUN_ATTR_ICE_CONTROLLED) && !a->controlling) {
		stun_attr_get_u64(m, stun_msg_find(m, STUN_ATTR_ICE_CONTROLLED), &theirs);
		if (a->tiebreaker >= theirs) {
			set_role(a, true);
		} else {
			answer(a, s, from, m, STUN_ERR_ROLE_CONFLICT);
			return;
		}
	}
	answer(a, s, from, m, 0);
	if (a->remote_known)
		learn(a, s, from, prio, stun_msg_find(m, STUN_ATTR_USE_CANDIDATE));
	else
		keep_early(a, s, from, prio, stun_msg_find(m, STUN_ATTR_USE_CANDIDATE));
}
