/* ice.h - the inside of turnpike-peer's ICE agent (RFC 8445): candidates,
 * pairs, non-blocking STUN transactions, the TURN client, the sockets the
 * agent sends from, and the agent itself. One libevent base drives it all;
 * nothing here blocks. Private to src/peer/ (the app sees agent.h). */
#ifndef TURNPIKE_PEER_ICE_H
#define TURNPIKE_PEER_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/util.h>

#include "auth/auth.h"
#include "peer/agent.h"
#include "peer/sdp.h"
#include "peer/servers.h"
#include "turnpike/stun.h"
#include "util/addr.h"

struct event;
struct event_base;
struct peer_agent;
struct peer_turn;

#define ICE_MAX_LOCAL 32
#define ICE_MAX_REMOTE (SDP_MAX_CANDIDATES + 16) /* signalled + peer-reflexive */
#define ICE_MAX_PAIRS 100                        /* RFC 8445 §6.1.2.5 limit */
#define ICE_MAX_EARLY 16
#define ICE_TA_MS 50     /* RFC 8445 §14.2 pacing */
#define ICE_PKT_MAX 1500 /* datagrams we build */

/* ------------------------------------------------------------------ */
/* Candidates and pairs (cand.c: pure functions, unit-tested). */

/* RFC 8445 §5.1.2.2 recommended type preferences. */
#define ICE_PREF_HOST 126
#define ICE_PREF_PRFLX 110
#define ICE_PREF_SRFLX 100
#define ICE_PREF_RELAY 0

struct peer_sock;

struct ice_cand {
	enum sdp_cand_type type;
	struct sockaddr_storage addr;  /* transport address */
	struct sockaddr_storage base;  /* local: the base (RFC 8445 §5.1.1.3) */
	struct sockaddr_storage raddr; /* related address for the SDP, or AF_UNSPEC */
	uint32_t priority;
	char foundation[SDP_FOUNDATION_MAX + 1];
	uint16_t local_pref;
	struct peer_sock *sock; /* local: where it sends from */
};

enum ice_pair_state {
	ICE_FROZEN = 0,
	ICE_WAITING,
	ICE_IN_PROGRESS,
	ICE_SUCCEEDED,
	ICE_FAILED
};

struct peer_txn;

struct ice_pair {
	struct ice_cand *local, *remote;
	uint64_t priority;
	enum ice_pair_state state;
	bool valid;      /* in the valid list (RFC 8445 §7.2.5.3.2) */
	bool nominated;  /* RFC 8445 §8.1.1 */
	bool use_cand;   /* controlled: the peer asked, nominate when valid */
	bool nominating; /* controlling: the check in flight carries USE-CANDIDATE */
	bool triggered;  /* queued for a triggered check */
	int last_error;  /* STUN error code of the last answer, or 0 */
	struct peer_txn *txn;
};

/* Type preference of a candidate type. */
unsigned ice_type_pref(enum sdp_cand_type t);
/* RFC 8445 §5.1.2.1: 2^24 * type pref + 2^8 * local pref + (256 - component). */
uint32_t ice_cand_priority(enum sdp_cand_type t, uint16_t local_pref, unsigned component);
/* RFC 8445 §6.1.2.3: 2^32 * MIN(G,D) + 2 * MAX(G,D) + (G > D ? 1 : 0), G the
 * controlling agent's candidate priority, D the controlled agent's. */
uint64_t ice_pair_priority(uint32_t g, uint32_t d);
/* The pair's priority for our role. */
uint64_t ice_pair_prio_for(const struct ice_pair *p, bool controlling);
/* RFC 8445 §5.1.1.3: equal for candidates of one type, one base IP, one
 * STUN/TURN server IP and one transport; server may be NULL (host). Writes
 * a short decimal string into out (SDP_FOUNDATION_MAX + 1 bytes). */
void ice_foundation(enum sdp_cand_type t, const struct sockaddr *base,
		    const struct sockaddr *server, bool relay_tcp, char *out);
/* Sorts pairs by priority, highest first (RFC 8445 §6.1.2.3), a stable order
 * for equal ones. */
void ice_pairs_sort(struct ice_pair *pairs, size_t n);
/* RFC 8445 §6.1.2.4 pruning, after sorting: a pair whose local candidate is
 * server-reflexive is checked from its base, so it is the same as the host
 * pair; drops pairs equal in (local base, remote address) to a higher one.
 * Returns the new count. */
size_t ice_pairs_prune(struct ice_pair *pairs, size_t n);
/* RFC 8445 §6.1.2.6: sets, for every foundation, the highest-priority pair
 * Waiting (the others stay Frozen). */
void ice_pairs_initial_states(struct ice_pair *pairs, size_t n);
/* True when two pairs share a foundation (local + remote foundations). */
bool ice_pair_same_foundation(const struct ice_pair *a, const struct ice_pair *b);
/* Local preference of the i-th host address (RFC 8421 interleaves
 * families; we keep the given order). */
uint16_t ice_host_local_pref(size_t i);
/* Local preference of a relayed candidate by its transport to the server:
 * UDP above TCP above TLS (as browsers rank them). */
uint16_t ice_relay_local_pref(enum peer_server_transport t);

/* ------------------------------------------------------------------ */
/* STUN transactions (txn.c): RFC 8489 §6.2 retransmission over UDP (RTO
 * doubling, Rc sends, then Rm * RTO), one send and Ti over TCP. Matched by
 * transaction id; the callback runs once: with the answer or with NULL. */

/* How a request leaves: a UDP socket, a relay, or a TURN server stream. */
typedef int (*peer_send_fn)(void *ctx, const struct sockaddr *dst, const uint8_t *buf, size_t len);
/* resp is NULL on timeout; from is where the answer came from. */
typedef void (*peer_txn_fn)(void *arg, struct peer_txn *t, const struct stun_msg *resp,
			    const struct sockaddr *from);

#define PEER_RTO_MS 500 /* RFC 8489 §6.2.1 */
#define PEER_RC 7
#define PEER_RM 16
#define PEER_TI_MS 39500 /* RFC 8489 §6.2.2 */

struct peer_txn {
	struct peer_txn *next;
	struct peer_txns *owner;
	uint8_t id[16]; /* cookie + transaction id */
	uint8_t buf[ICE_PKT_MAX];
	size_t len;
	struct sockaddr_storage dst;
	peer_send_fn send;
	void *ctx;
	bool reliable;
	unsigned rto_ms, sent, rc;
	struct event *timer;
	peer_txn_fn fn;
	void *arg;
};

struct peer_txns {
	struct event_base *base;
	struct peer_txn *head;
	unsigned started, retransmits;
};

/* Sends req (which holds its transaction id at bytes 4..19) now and
 * retransmits it. Returns 0 with *out (may be NULL) owned by ts until the
 * callback runs or peer_txn_cancel, or TP_ENOMEM / TP_EINVAL. A send
 * failure counts as a lost datagram. */
int peer_txn_start(struct peer_txns *ts, peer_send_fn send, void *ctx, bool reliable,
		   const struct sockaddr *dst, const uint8_t *req, size_t len, peer_txn_fn fn,
		   void *arg, struct peer_txn **out);
/* Forgets t without calling its callback. NULL is a no-op. */
void peer_txn_cancel(struct peer_txn *t);
/* Hands an answer (success or error class) to its transaction: true when
 * one matched (its callback has run and it is gone). */
bool peer_txns_answer(struct peer_txns *ts, const struct stun_msg *resp,
		      const struct sockaddr *from);
/* Cancels every transaction. */
void peer_txns_clear(struct peer_txns *ts);

/* ------------------------------------------------------------------ */
/* Sockets the agent sends from (sock.c): a host UDP socket, or a TURN
 * relay. Everything that arrives goes to peer_agent_input. */

enum peer_sock_kind {
	PEER_SOCK_UDP = 0,
	PEER_SOCK_RELAY
};

struct peer_sock {
	enum peer_sock_kind kind;
	struct peer_agent *agent;
	int fd;                        /* UDP */
	struct event *ev;              /* UDP */
	struct sockaddr_storage local; /* bound address, or the relayed one */
	struct peer_turn *turn;        /* relay */
};

/* Opens a non-blocking UDP socket bound to ip (port 0) and reads it on the
 * agent's base. Returns 0 or TP_ESYS / TP_ENOMEM. */
int peer_sock_open_udp(struct peer_agent *a, const struct sockaddr *ip, struct peer_sock **out);
void peer_sock_free(struct peer_sock *s);
/* Sends one datagram from s to dst (through the relay for a relay socket).
 * Returns 0, TP_ESYS, TP_ENOSPC. */
int peer_sock_send(void *sock, const struct sockaddr *dst, const uint8_t *buf, size_t len);

/* ------------------------------------------------------------------ */
/* TURN client (turnc.c): one allocation on one server, over UDP or TCP. */

enum peer_turn_state {
	TURN_ST_CONNECTING = 0,
	TURN_ST_ALLOCATING,
	TURN_ST_READY,
	TURN_ST_FAILED
};

/* Called once when the allocation succeeds or fails (t->error says why). */
typedef void (*peer_turn_ready_fn)(struct peer_agent *a, struct peer_turn *t);

struct peer_turn *peer_turn_new(struct peer_agent *a, const struct peer_server *srv,
				peer_turn_ready_fn ready);
/* Starts the connection (TCP) and the Allocate. Returns 0 or a tp_err (the
 * ready callback is not called then). */
int peer_turn_start(struct peer_turn *t);
/* Releases the allocation (a Refresh with LIFETIME 0, not waited for) and
 * frees. NULL is a no-op. */
void peer_turn_free(struct peer_turn *t);
enum peer_turn_state peer_turn_state(const struct peer_turn *t);
const char *peer_turn_error(const struct peer_turn *t);
const struct sockaddr_storage *peer_turn_relayed(const struct peer_turn *t);
const struct sockaddr_storage *peer_turn_mapped(const struct peer_turn *t);
const struct peer_server *peer_turn_server(const struct peer_turn *t);
struct peer_sock *peer_turn_sock(struct peer_turn *t);
/* CreatePermission for peer's IP unless installed or pending (RFC 8656
 * §9); refreshed every 4 minutes while the allocation lives. */
void peer_turn_permit(struct peer_turn *t, const struct sockaddr *peer);
/* 1: a permission for peer's IP is installed; 0: asked, not answered;
 * -1: none (never asked, refused, or no allocation). */
int peer_turn_permission(const struct peer_turn *t, const struct sockaddr *peer);
/* ChannelBind (RFC 8656 §11) to peer; data to it goes as ChannelData once
 * bound; refreshed every 4 minutes. */
void peer_turn_bind(struct peer_turn *t, const struct sockaddr *peer);
/* Relays one datagram to peer: ChannelData when bound, else a Send
 * indication. Returns 0, TP_ENOSPC, TP_ESYS, TP_ECLOSED (no allocation). */
int peer_turn_send(struct peer_turn *t, const struct sockaddr *peer, const uint8_t *buf,
		   size_t len);
/* True when a channel to peer is bound (for the report and the tests). */
bool peer_turn_bound(const struct peer_turn *t, const struct sockaddr *peer);

/* ------------------------------------------------------------------ */
/* Agent internals shared by the files of src/peer/. */

struct event_base *peer_agent_base(struct peer_agent *a);
struct peer_txns *peer_agent_txns(struct peer_agent *a);
/* Everything that arrives on a socket or out of a relay: the RFC 7983
 * demultiplexer (STUN to the agent, the probe datagrams to --data, the rest
 * counted and dropped; part 2 adds DTLS and SRTP here). */
void peer_agent_input(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		      const uint8_t *buf, size_t len);
/* Gathering (gather.c). */
int peer_gather_start(struct peer_agent *a);
/* Connectivity checks (check.c): a Binding request arrived on s. */
void peer_check_request(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
			const struct stun_msg *m);
/* True when from is a candidate of the peer's, signalled or learnt from
 * an authenticated check (RFC 7675: we only send where consent is). */
bool peer_check_known_source(const struct peer_agent *a, const struct peer_sock *s,
			     const struct sockaddr *from);
/* Acts on the checks kept from before the remote description. */
void peer_check_early(struct peer_agent *a);
/* Sends the check of one pair (RFC 8445 §7.2.4). Returns 0 or a tp_err. */
int peer_check_send(struct peer_agent *a, struct ice_pair *p);

/* The agent (agent.c owns it; gather.c and check.c work on it). */
enum peer_phase {
	PHASE_GATHER = 0,
	PHASE_SIGNAL,
	PHASE_CHECK,
	PHASE_CONNECTED,
	PHASE_DONE
};

struct peer_agent {
	struct event_base *base;
	const struct peer_agent_opts *o;
	struct peer_summary *sum;
	enum peer_phase phase;
	bool controlling;
	uint64_t tiebreaker;
	char lufrag[17], lpwd[33];
	char rufrag[SDP_UFRAG_MAX + 1], rpwd[SDP_PWD_MAX + 1];
	bool remote_known;
	struct {
		struct peer_sock *sock;
		struct sockaddr_storage from;
		uint32_t prio;
		bool use_cand;
	} early[ICE_MAX_EARLY]; /* checks answered before the description */
	size_t nearly;
	struct peer_txns txns;
	struct peer_sock *hosts[PEER_HOST_IPS_MAX + 16];
	size_t nhosts;
	struct peer_turn *turns[PEER_SERVERS_MAX];
	size_t nturns;
	unsigned gather_pending; /* srflx and relay requests not yet answered */
	struct ice_cand local[ICE_MAX_LOCAL];
	size_t nlocal;
	struct ice_cand remote[ICE_MAX_REMOTE];
	size_t nremote;
	struct ice_pair pairs[ICE_MAX_PAIRS];
	size_t npairs;
	struct ice_pair *trig[ICE_MAX_PAIRS]; /* triggered-check FIFO */
	size_t ntrig;
	struct ice_pair *selected;
	double t0, t_gathered, t_checks;
	struct event *ta, *deadline, *gather_timer, *nominate_timer, *consent_timer, *data_timer,
		*signal_ev, *linger;
	double consent_last; /* when consent was last confirmed */
	struct peer_txn *consent_txn;
	/* The signalling thread's result. */
	int sig_pipe[2];
	bool sig_started, sig_done;
	int sig_rc;
	char *sig_text;
	size_t sig_len;
	char sig_err[256];
	char local_sdp[16384];
	size_t local_sdp_len;
	/* --data probes. */
	int data_step;
	double step_since, peer_last; /* when the peer's last probe came */
	unsigned data_seq;
	bool bye_sent_acked, bye_received;
	double *rtts;
	unsigned dropped;         /* datagrams of no protocol we speak */
	struct peer_media *media; /* DTLS-SRTP and RTP (media.c), when asked */
};

#define PEER_CONSENT_MS 5000  /* RFC 7675 §5.1: every 5 s, randomised */
#define PEER_PROBE_FIRST 0xF0 /* the first bytes of the --data probes */
#define PEER_PROBE_LAST 0xF3

/* The selected pair's traffic (probe.c): a probe datagram arrived; the
 * data timer (probes, then the goodbye); the consent timer. */
void peer_probe_input(struct peer_agent *a, struct peer_sock *s, const struct sockaddr *from,
		      const uint8_t *buf, size_t len);
void peer_probe_cb(evutil_socket_t fd, short what, void *arg);
void peer_consent_cb(evutil_socket_t fd, short what, void *arg);
/* Milliseconds between consent checks on the selected pair. */
int peer_consent_every(const struct peer_agent *a);
/* A timeval of ms milliseconds (negative: zero). */
struct timeval peer_tv_ms(double ms);

/* Ends the run: ok, or failed with a reason (printf format). */
void peer_agent_finish(struct peer_agent *a, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Milliseconds on the monotonic clock. */
double peer_now_ms(void);
/* A new local candidate (deduplicated: same type and address). Returns it
 * or NULL when the table is full or it is a duplicate. */
struct ice_cand *peer_agent_add_local(struct peer_agent *a, enum sdp_cand_type type,
				      const struct sockaddr *addr, const struct sockaddr *base,
				      const struct sockaddr *server, uint16_t local_pref,
				      struct peer_sock *sock, bool relay_tcp);
/* Gathering has ended (every request answered or timed out). */
void peer_agent_gathered(struct peer_agent *a);
/* A pair became valid / was nominated (check.c tells the agent). */
void peer_agent_pair_update(struct peer_agent *a, struct ice_pair *p);
/* The pair for (local, remote), added when absent (Waiting); NULL when full. */
struct ice_pair *peer_agent_pair(struct peer_agent *a, struct ice_cand *l, struct ice_cand *r,
				 bool *added);
/* Queues a triggered check (RFC 8445 §7.3.1.4). */
void peer_agent_trigger(struct peer_agent *a, struct ice_pair *p);
/* "srflx 203.0.113.14:33745 -> relay 203.0.113.1:50012" for the logs;
 * writes into buf (ICE_PAIR_STRLEN bytes) and returns it. */
#define ICE_PAIR_STRLEN (2 * ADDR_STRLEN + 24)
const char *ice_pair_name(const struct ice_pair *p, char *buf, size_t cap);

#endif
