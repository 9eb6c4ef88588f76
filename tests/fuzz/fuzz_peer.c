/* fuzz_peer.c - libFuzzer target for what turnpike-peer reads off the
 * network: the RFC 7983 demultiplexer (peer_agent_input), connectivity
 * checks and their answers (src/peer/check.c, txn.c; RFC 8445), the
 * --data probes (probe.c), RTP and RTCP parsing and receive statistics
 * (rtp.c, rtcp.c) and SRTP (srtp.c). An ICE agent in the check phase is
 * built by hand with sockets that cannot send; checks and answers can be
 * built from fuzzed fields and signed by the harness with the right
 * password, so fuzzing gets past MESSAGE-INTEGRITY. Aborts on any broken
 * invariant.
 *
 * Input: one byte of settings, then operations (OP_* below). */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fuzz.h"
#include "peer/ice.h"
#include "peer/rtp.h"
#include "peer/srtp.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"

#define MAX_OPS 64
#define NDATA 4 /* --data probes */

static struct event_base *base;
static struct peer_agent *A;
static struct peer_agent_opts opts;
static struct peer_summary sum;
static struct peer_sock socks[2]; /* IPv4, IPv6; fd -1: sends fail */
static struct sockaddr_storage froms[6];

static void noop_cb(evutil_socket_t fd, short what, void *arg)
{
}

static struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ASSERT(addr_parse(s, 0, &ss) == 0);
	return ss;
}

static void cand(struct ice_cand *c, enum sdp_cand_type type, const char *addr, uint32_t prio,
		 struct peer_sock *s)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->addr = sa(addr);
	c->base = c->addr;
	c->raddr.ss_family = AF_UNSPEC;
	c->priority = prio;
	snprintf(c->foundation, sizeof(c->foundation), "%u", (unsigned)type + 1);
	c->sock = s;
}

/* An agent past gathering and signalling: two local host candidates, three
 * remote ones, every pair of a family Frozen, as agent.c leaves them. */
static void agent_new(uint8_t settings)
{
	struct peer_agent *a = calloc(1, sizeof(*a));

	ASSERT(a);
	A = a;
	memset(&sum, 0, sizeof(sum));
	memset(&opts, 0, sizeof(opts));
	opts.controlling = settings & 1;
	opts.data = NDATA;
	opts.timeout_ms = 10000;
	opts.consent_ms = 30000;
	a->o = &opts;
	a->sum = &sum;
	a->base = base;
	a->txns.base = base;
	a->controlling = opts.controlling;
	a->tiebreaker = 0x8000000000000000ULL;
	a->sig_pipe[0] = a->sig_pipe[1] = -1;
	a->phase = settings & 2 ? PHASE_SIGNAL : PHASE_CHECK;
	a->rtts = malloc(NDATA * sizeof(double));
	ASSERT(a->rtts);
	for (unsigned i = 0; i < NDATA; i++)
		a->rtts[i] = -1;
	a->ta = event_new(base, -1, EV_PERSIST, noop_cb, a);
	a->deadline = evtimer_new(base, noop_cb, a);
	a->gather_timer = evtimer_new(base, noop_cb, a);
	a->nominate_timer = evtimer_new(base, noop_cb, a);
	a->consent_timer = evtimer_new(base, noop_cb, a);
	a->data_timer = evtimer_new(base, noop_cb, a);
	a->linger = evtimer_new(base, noop_cb, a);
	ASSERT(a->ta && a->deadline && a->gather_timer && a->nominate_timer && a->consent_timer &&
	       a->data_timer && a->linger);
	snprintf(a->lufrag, sizeof(a->lufrag), "LUFRAGxx");
	snprintf(a->lpwd, sizeof(a->lpwd), "local-password-0123456789");
	for (int i = 0; i < 2; i++) {
		memset(&socks[i], 0, sizeof(socks[i]));
		socks[i].kind = PEER_SOCK_UDP;
		socks[i].agent = a;
		socks[i].fd = -1;
		socks[i].local = sa(i ? "[2001:db8::10]:5000" : "192.0.2.10:5000");
		a->hosts[a->nhosts++] = &socks[i];
	}
	cand(&a->local[a->nlocal++], SDP_HOST, "192.0.2.10:5000", 2130706431, &socks[0]);
	cand(&a->local[a->nlocal++], SDP_HOST, "[2001:db8::10]:5000", 2130706175, &socks[1]);
	if (!(settings & 2)) {
		snprintf(a->rufrag, sizeof(a->rufrag), "RUFRAG");
		snprintf(a->rpwd, sizeof(a->rpwd), "remote-password-0123456789");
		a->remote_known = true;
		cand(&a->remote[a->nremote++], SDP_HOST, "198.51.100.20:6000", 2130706431, NULL);
		cand(&a->remote[a->nremote++], SDP_SRFLX, "203.0.113.20:6001", 1694498815, NULL);
		cand(&a->remote[a->nremote++], SDP_HOST, "[2001:db8::20]:6000", 2130706175, NULL);
		for (size_t i = 0; i < a->nlocal; i++)
			for (size_t j = 0; j < a->nremote; j++) {
				struct ice_pair *p = &a->pairs[a->npairs];
				if (a->local[i].addr.ss_family != a->remote[j].addr.ss_family)
					continue;
				memset(p, 0, sizeof(*p));
				p->local = &a->local[i];
				p->remote = &a->remote[j];
				p->priority = ice_pair_prio_for(p, a->controlling);
				a->npairs++;
			}
		ice_pairs_sort(a->pairs, a->npairs);
		ice_pairs_initial_states(a->pairs, a->npairs);
	}
}

static void agent_free(void)
{
	struct peer_agent *a = A;

	peer_txns_clear(&a->txns);
	event_free(a->ta);
	event_free(a->deadline);
	event_free(a->gather_timer);
	event_free(a->nominate_timer);
	event_free(a->consent_timer);
	event_free(a->data_timer);
	event_free(a->linger);
	free(a->rtts);
	free(a);
	A = NULL;
}

static struct peer_sock *sock_for(const struct sockaddr *from)
{
	return &socks[from->sa_family == AF_INET6];
}

/* ---- operations ---- */

/* Any datagram from one of a few sources. */
static void op_raw(struct in *in)
{
	const struct sockaddr_storage *from = &froms[u8(in) % 6];
	size_t len;
	const uint8_t *p = bytes(in, u16(in) % 1500, &len);
	uint8_t *copy = malloc(len ? len : 1);

	ASSERT(copy);
	memcpy(copy, p, len); /* exact size: ASan sees overreads */
	peer_agent_input(A, sock_for((const struct sockaddr *)from), (const struct sockaddr *)from,
			 copy, len);
	free(copy);
}

/* Extra attributes from the input: type (2 bytes), length (1), value. */
static void extra_attrs(struct in *in, struct stun_builder *b)
{
	size_t elen;
	const uint8_t *e = bytes(in, u8(in), &elen);

	for (size_t k = 0; k + 3 <= elen;) {
		uint16_t t = (uint16_t)(e[k] << 8 | e[k + 1]);
		size_t l = e[k + 2];

		k += 3;
		if (l > elen - k)
			l = elen - k;
		stun_build_attr(b, t, e + k, l);
		k += l;
	}
}

/* A connectivity check (RFC 8445 §7.2.2) signed with our password. */
static void op_check(struct in *in)
{
	static uint8_t buf[1500];
	const struct sockaddr_storage *from = &froms[u8(in) % 6];
	uint8_t flags = u8(in), txn[16] = {0x21, 0x12, 0xa4, 0x42};
	uint32_t prio = u32(in);
	uint64_t tie = (uint64_t)u32(in) << 32 | u32(in);
	char user[80];
	struct stun_builder b;
	size_t len;

	for (int k = 4; k < 16; k++)
		txn[k] = (uint8_t)(prio >> (k % 4) ^ (unsigned)k ^ flags);
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, STUN_REQUEST, txn);
	snprintf(user, sizeof(user), "%s:%s", flags & 1 ? "WRONG" : A->lufrag,
		 flags & 2 ? "someone" : "RUFRAG");
	if (!(flags & 4))
		stun_build_string(&b, STUN_ATTR_USERNAME, user);
	if (!(flags & 8))
		stun_build_u32(&b, STUN_ATTR_PRIORITY, prio);
	if (flags & 0x10)
		stun_build_u64(&b,
			       flags & 0x20 ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED,
			       tie);
	if (flags & 0x40)
		stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	extra_attrs(in, &b);
	stun_build_integrity(&b, (const uint8_t *)A->lpwd, strlen(A->lpwd));
	if (!(flags & 0x80))
		stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &len) != 0)
		return;
	peer_agent_input(A, sock_for((const struct sockaddr *)from), (const struct sockaddr *)from,
			 buf, len);
}

/* An answer to the k-th transaction in flight, signed with the peer's
 * password (RFC 8445 §7.2.5.2). */
static void op_answer(struct in *in)
{
	static uint8_t buf[1500];
	static const int codes[] = {0, 400, 401, 487, 420, 500};
	struct peer_txn *t = A->txns.head;
	uint8_t k = u8(in), flags = u8(in);
	const struct sockaddr_storage *from = &froms[u8(in) % 6];
	const struct sockaddr_storage *mapped = &froms[u8(in) % 6];
	int code = codes[flags % 6];
	struct stun_builder b;
	size_t len;

	for (unsigned j = 0; t && j < k % 8; j++)
		t = t->next;
	if (!t)
		return;
	stun_build_init(&b, buf, sizeof(buf), STUN_BINDING, code ? STUN_ERROR : STUN_SUCCESS,
			t->id);
	if (code)
		stun_build_error(&b, code, "fuzz");
	else if (!(flags & 0x40))
		stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
				    (const struct sockaddr *)mapped);
	extra_attrs(in, &b);
	if (!(flags & 0x80))
		stun_build_integrity(&b, (const uint8_t *)A->rpwd, strlen(A->rpwd));
	stun_build_fingerprint(&b);
	if (stun_build_finish(&b, &len) != 0)
		return;
	/* From the address the check went to, or another (flags & 8). */
	if (!(flags & 8) && t->dst.ss_family)
		from = &t->dst;
	peer_agent_input(A, sock_for((const struct sockaddr *)from), (const struct sockaddr *)from,
			 buf, len);
}

/* The agent sends a check on pair k (the Ta timer would). */
static void op_send_check(struct in *in)
{
	uint8_t k = u8(in);

	if (!A->npairs || A->phase == PHASE_DONE)
		return;
	(void)peer_check_send(A, &A->pairs[k % A->npairs]);
}

/* RTP, RTCP and the receive statistics on any bytes. */
static void op_rtp(struct in *in)
{
	static struct peer_rtp_recv rr;
	struct rtcp_report rep;
	struct rtcp_block blk;
	struct rtp_hdr h;
	size_t len;
	const uint8_t *p = bytes(in, u16(in) % 1500, &len);
	enum peer_demux k = peer_demux_classify(p, len);
	int rc;

	ASSERT(k <= PEER_DEMUX_RTCP && peer_demux_name(k));
	if (len && k != PEER_DEMUX_DROP) {
		/* RFC 7983 §7: the first byte decides. */
		ASSERT(k != PEER_DEMUX_STUN || p[0] <= 3);
		ASSERT(k != PEER_DEMUX_DTLS || (p[0] >= 20 && p[0] <= 63));
		ASSERT((k != PEER_DEMUX_RTP && k != PEER_DEMUX_RTCP) ||
		       (p[0] >= 128 && p[0] <= 191));
	}
	rc = peer_rtp_parse(p, len, &h);
	ASSERT(rc == 0 || rc == TP_ETRUNC || rc == TP_EMALFORMED);
	if (rc == 0) {
		ASSERT(h.hdr_len + h.payload_len <= len);
		if (!rr.clock_rate)
			peer_rtp_recv_init(&rr, 8000);
		(void)peer_rtp_recv_update(&rr, h.ssrc, h.seq, h.ts, (uint64_t)h.ts * 125);
		(void)peer_rtp_recv_lost(&rr);
		(void)peer_rtp_recv_jitter_ms(&rr);
		peer_rtcp_block_fill(&rr, 0, 0, &blk);
	}
	rc = peer_rtcp_parse(p, len, &rep);
	ASSERT(rc == 0 || rc == TP_ETRUNC || rc == TP_EMALFORMED);
	if (rc == 0) {
		ASSERT(rep.nblocks <= RTCP_MAX_BLOCKS);
		ASSERT(memchr(rep.cname, '\0', sizeof(rep.cname)) != NULL);
		for (size_t i = 0; i < rep.nblocks; i++)
			(void)peer_rtcp_rtt_ms(0x12345678, rep.blocks[i].lsr, rep.blocks[i].dlsr);
	}
}

/* SRTP: any bytes unprotected as they come, and protected by one side then
 * unprotected by the other: the plaintext must come back. */
static void op_srtp(struct in *in)
{
	static struct peer_srtp tx, rx;
	static uint8_t buf[1500 + PEER_SRTP_OVERHEAD], plain[1500];
	struct peer_srtp_keys keys;
	uint8_t how = u8(in);
	size_t len, n;
	const uint8_t *p = bytes(in, u16(in) % 1500, &len);
	bool rtcp = how & 1;
	int rc;

	memset(&keys, 0, sizeof(keys));
	keys.profile = how & 2 ? PEER_SRTP_AEAD_AES_128_GCM : PEER_SRTP_AES128_CM_SHA1_80;
	keys.salt_len = how & 2 ? 12 : 14;
	memset(keys.client_key, 0x11, sizeof(keys.client_key));
	memset(keys.server_key, 0x22, sizeof(keys.server_key));
	memset(keys.client_salt, 0x33, sizeof(keys.client_salt));
	memset(keys.server_salt, 0x44, sizeof(keys.server_salt));
	ASSERT(peer_srtp_init(&tx, &keys, true) == 0);
	ASSERT(peer_srtp_init(&rx, &keys, false) == 0);

	memcpy(buf, p, len);
	n = len;
	rc = rtcp ? peer_srtp_unprotect_rtcp(&rx, buf, &n) : peer_srtp_unprotect_rtp(&rx, buf, &n);
	ASSERT(rc == 0 || rc == TP_EINTEGRITY || rc == TP_ELIMIT || rc == TP_EMALFORMED);
	ASSERT(n <= len);

	memcpy(buf, p, len);
	memcpy(plain, p, len);
	n = len;
	rc = rtcp ? peer_srtp_protect_rtcp(&tx, buf, &n, sizeof(buf))
		  : peer_srtp_protect_rtp(&tx, buf, &n, sizeof(buf));
	if (rc == 0) {
		ASSERT(n >= len && n <= sizeof(buf));
		rc = rtcp ? peer_srtp_unprotect_rtcp(&rx, buf, &n)
			  : peer_srtp_unprotect_rtp(&rx, buf, &n);
		ASSERT(rc == 0);
		ASSERT(n == len && memcmp(buf, plain, len) == 0);
	}
	peer_srtp_cleanup(&tx);
	peer_srtp_cleanup(&rx);
	peer_srtp_keys_wipe(&keys);
}

enum op {
	OP_RAW = 0,
	OP_CHECK,
	OP_ANSWER,
	OP_SEND_CHECK,
	OP_RTP,
	OP_SRTP,
	OP_MAX
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct in in = {data, size};
	unsigned ops = 0, srtp_done = 0;

	if (!ready) {
		static const char *const f[6] = {
			"198.51.100.20:6000", "203.0.113.20:6001",   "[2001:db8::20]:6000",
			"198.51.100.99:7000", "[2001:db8::99]:7000", "198.51.100.20:6002",
		};
		log_set_level(LOG_LVL_ERR);
		base = event_base_new();
		ASSERT(base);
		for (int i = 0; i < 6; i++)
			froms[i] = sa(f[i]);
		ready = true;
	}
	agent_new(u8(&in));
	while (in.n && ops++ < MAX_OPS) {
		switch (u8(&in) % OP_MAX) {
		case OP_RAW:
			op_raw(&in);
			break;
		case OP_CHECK:
			op_check(&in);
			break;
		case OP_ANSWER:
			op_answer(&in);
			break;
		case OP_SEND_CHECK:
			op_send_check(&in);
			break;
		case OP_RTP:
			op_rtp(&in);
			break;
		case OP_SRTP:
			/* Once per input: a libsrtp session costs a lot to set up
			 * (Debian's libsrtp2 runs on NSS). */
			if (srtp_done++)
				(void)u8(&in);
			else
				op_srtp(&in);
			break;
		}
		ASSERT(A->nremote <= ICE_MAX_REMOTE && A->npairs <= ICE_MAX_PAIRS);
		ASSERT(A->ntrig <= ICE_MAX_PAIRS && A->nearly <= ICE_MAX_EARLY);
	}
	agent_free();
	return 0;
}
