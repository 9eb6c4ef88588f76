/* mass.c - many allocations at once for turnpike-bench: a window of UDP
 * clients, each walking Allocate (401, then with credentials) and
 * ChannelBind, with retransmission (RFC 8489 §6.2.1) and a time budget for
 * the whole setup; or the one-datagram setup of bench/turnpike-fwd. */
#include "mass.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth/auth.h"
#include "probe.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"

#define SA(ss) ((struct sockaddr *)(ss))
#define RTO_MS 250.0    /* first retransmission; doubles */
#define TXN_MS 4000.0   /* one transaction, retransmissions included */
#define MAX_WINDOW 1024 /* setups in flight */
#define REQ_CAP 512
#define ALGS_MAX 64
#define PER_SRC_IP 20000 /* client sockets per source address */
#define PROTO_UDP 17

enum stage {
	ST_IDLE,
	ST_ALLOC0, /* Allocate without credentials, for the 401 */
	ST_ALLOC,  /* with credentials */
	ST_BIND,   /* ChannelBind */
	ST_FWD     /* turnpike-fwd setup */
};

struct slot {
	enum stage st;
	unsigned idx; /* which allocation */
	unsigned tries437;
	double sent_ms, started_ms, rto;
	uint8_t req[REQ_CAP];
	size_t len;
};

static struct {
	const struct mass_cfg *cfg;
	struct mass_alloc *out;
	struct auth_key key;
	bool have_key;
	uint8_t realm[256];
	size_t realm_len;
	uint8_t algs[ALGS_MAX];
	size_t algs_len;
	int ep;
} m;

int mass_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		rl.rlim_max = want; /* root may raise it */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return -1;
}

void fwd_encode(uint8_t out[FWD_SETUP_LEN], const struct sockaddr *sa)
{
	uint16_t port = addr_port(sa);

	memset(out, 0, FWD_SETUP_LEN);
	memcpy(out, FWD_MAGIC, 4);
	out[4] = sa->sa_family == AF_INET6 ? 6 : 4;
	out[6] = (uint8_t)(port >> 8);
	out[7] = (uint8_t)port;
	if (sa->sa_family == AF_INET6)
		memcpy(out + 8, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		memcpy(out + 8, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

int fwd_decode(const uint8_t *p, size_t len, struct sockaddr_storage *out)
{
	uint16_t port;

	if (len != FWD_SETUP_LEN || memcmp(p, FWD_MAGIC, 4) != 0 || (p[4] != 4 && p[4] != 6))
		return -1;
	port = (uint16_t)(p[6] << 8 | p[7]);
	memset(out, 0, sizeof(*out));
	if (p[4] == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, p + 8, 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, p + 8, 4);
	}
	return 0;
}

/* A client socket for allocation idx, connected to the server. IPv4
 * clients spread over 127.0.K.1 (PER_SRC_IP each), so more of them than
 * the ephemeral port range holds can be open at once. */
static int open_client(unsigned idx)
{
	const struct sockaddr_storage *srv = m.cfg->server;
	struct sockaddr_storage src;
	int fd = socket(srv->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memset(&src, 0, sizeof(src));
	if (srv->ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(0x7f000001u + ((idx / PER_SRC_IP) << 8));
	} else {
		src = *srv;
		addr_set_port(SA(&src), 0);
	}
	if (bind(fd, SA(&src), addr_len(SA(&src))) != 0 ||
	    connect(fd, SA(srv), addr_len(SA(srv))) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Builds the request for the slot's stage into s->req. */
static int build(struct slot *s)
{
	struct mass_alloc *a = &m.out[s->idx];
	struct stun_builder b;
	uint8_t txn[16];

	if (s->st == ST_FWD) {
		fwd_encode(s->req, SA(m.cfg->peer));
		s->len = FWD_SETUP_LEN;
		return 0;
	}
	if (stun_txn_new(txn) != 0)
		return TP_ECRYPTO;
	stun_build_init(&b, s->req, sizeof(s->req),
			s->st == ST_BIND ? TURN_CHANNEL_BIND : TURN_ALLOCATE, STUN_REQUEST, txn);
	if (s->st == ST_BIND) {
		stun_build_channel(&b, MASS_CHANNEL);
		stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, SA(m.cfg->peer));
	} else {
		stun_build_transport(&b, PROTO_UDP);
	}
	if (s->st != ST_ALLOC0) {
		stun_build_string(&b, STUN_ATTR_USERNAME, m.cfg->user);
		stun_build_attr(&b, STUN_ATTR_REALM, m.realm, m.realm_len);
		stun_build_attr(&b, STUN_ATTR_NONCE, a->nonce, a->nonce_len);
		if (m.algs_len) {
			/* RFC 8489 §9.2.3: echo the list, name the choice. */
			uint8_t one[4] = {0, STUN_PWALG_MD5, 0, 0};
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, m.algs, m.algs_len);
			stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, one, sizeof(one));
		}
		stun_build_integrity(&b, m.key.k, m.key.len);
	}
	return stun_build_finish(&b, &s->len);
}

static void transmit(struct slot *s, double t)
{
	/* An ICMP error from an earlier datagram is no reason to stop. */
	if (send(m.out[s->idx].fd, s->req, s->len, 0) < 0 && errno != ECONNREFUSED &&
	    errno != EAGAIN)
		return;
	s->sent_ms = t;
}

/* Starts (or restarts with a new socket) allocation idx in slot s. */
static int start(struct slot *s, unsigned idx, double t)
{
	struct mass_alloc *a = &m.out[idx];
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	if (a->fd >= 0)
		close(a->fd);
	if ((a->fd = open_client(idx)) < 0)
		return TP_ESYS;
	ev.data.ptr = s;
	if (epoll_ctl(m.ep, EPOLL_CTL_ADD, a->fd, &ev) != 0)
		return TP_ESYS;
	s->idx = idx;
	s->st = m.cfg->fwd ? ST_FWD : ST_ALLOC0;
	s->started_ms = t;
	s->rto = RTO_MS;
	if ((rc = build(s)) != 0)
		return rc;
	transmit(s, t);
	return 0;
}

/* Moves the slot to stage st with a fresh request. */
static int next(struct slot *s, enum stage st, double t)
{
	int rc;

	s->st = st;
	s->started_ms = t;
	s->rto = RTO_MS;
	if ((rc = build(s)) != 0)
		return rc;
	transmit(s, t);
	return 0;
}

/* Learns realm, password algorithms and the key from a 401 (the first
 * one; the realm is the same for all), and this allocation's nonce. */
static int learn(const struct stun_msg *msg, struct mass_alloc *a)
{
	size_t nl;

	if (!stun_msg_copy(msg, STUN_ATTR_NONCE, a->nonce, sizeof(a->nonce), &nl))
		return TP_EMALFORMED;
	a->nonce_len = (uint8_t)nl;
	if (m.have_key)
		return 0;
	if (!stun_msg_copy(msg, STUN_ATTR_REALM, m.realm, sizeof(m.realm), &m.realm_len))
		return TP_EMALFORMED;
	if (!stun_msg_copy(msg, STUN_ATTR_PASSWORD_ALGORITHMS, m.algs, sizeof(m.algs), &m.algs_len))
		m.algs_len = 0;
	if (auth_key_derive(STUN_PWALG_MD5, m.cfg->user, strlen(m.cfg->user), (const char *)m.realm,
			    m.realm_len, m.cfg->password, strlen(m.cfg->password), &m.key) != 0)
		return TP_ECRYPTO;
	m.have_key = true;
	return 0;
}

/* One answer for slot s. Returns 1 when its allocation is done, 0 to go on,
 * or a negative error with err filled. */
static int answer(struct slot *s, const uint8_t *p, size_t len, double t, char *err, size_t errcap)
{
	struct mass_alloc *a = &m.out[s->idx];
	const struct stun_attr *ea;
	struct stun_msg msg;
	const char *reason;
	size_t rlen;
	int code = 0, rc;

	if (s->st == ST_FWD)
		return fwd_decode(p, len, &a->relayed) == 0 ? 1 : 0;
	if (stun_msg_parse(&msg, p, len) != 0 || memcmp(msg.txn, s->req + 4, 16) != 0)
		return 0; /* not the answer to this request */
	if (msg.cls == STUN_SUCCESS) {
		if (s->st == ST_BIND)
			return 1;
		if (s->st != ST_ALLOC ||
		    stun_msg_xor_addr(&msg, STUN_ATTR_XOR_RELAYED_ADDRESS, &a->relayed) != 0) {
			snprintf(err, errcap, "allocate %u: success without a relayed address",
				 s->idx);
			return TP_EMALFORMED;
		}
		return next(s, ST_BIND, t);
	}
	if (msg.cls != STUN_ERROR || !(ea = stun_msg_find(&msg, STUN_ATTR_ERROR_CODE)) ||
	    stun_attr_get_error(&msg, ea, &code, &reason, &rlen) != 0)
		return 0;
	if ((code == STUN_ERR_UNAUTHORIZED && s->st == ST_ALLOC0) || code == STUN_ERR_STALE_NONCE) {
		if ((rc = learn(&msg, a)) != 0) {
			snprintf(err, errcap, "allocate %u: a %d without realm or nonce", s->idx,
				 code);
			return rc;
		}
		return next(s, s->st == ST_ALLOC0 ? ST_ALLOC : s->st, t);
	}
	/* The kernel gave us the port of an allocation the server has not
	 * removed yet (coturn takes up to a second): a new socket. */
	if (code == STUN_ERR_ALLOCATION_MISMATCH && s->st != ST_BIND && s->tries437++ < 3)
		return start(s, s->idx, t);
	snprintf(err, errcap, "%s %u: error %d", s->st == ST_BIND ? "channel bind" : "allocate",
		 s->idx, code);
	return TP_EINVAL;
}

unsigned mass_setup(const struct mass_cfg *cfg, struct mass_alloc *out, unsigned n, char *err,
		    size_t errcap)
{
	unsigned window = cfg->window ? cfg->window : 64, launched = 0, done = 0, busy = 0;
	struct slot *slots;
	double t0 = now_ms();
	uint8_t buf[2048];
	int rc = 0;

	if (window > MAX_WINDOW)
		window = MAX_WINDOW;
	memset(&m, 0, sizeof(m));
	m.cfg = cfg;
	m.out = out;
	for (unsigned i = 0; i < n; i++)
		out[i].fd = -1;
	if ((m.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    !(slots = calloc(window, sizeof(*slots)))) {
		snprintf(err, errcap, "out of memory");
		return 0;
	}
	while (done < n && rc == 0) {
		struct epoll_event ev[64];
		double t = now_ms();
		int k;

		if (t - t0 > cfg->budget_ms) {
			snprintf(err, errcap, "setup took over %.0f s", cfg->budget_ms / 1000);
			break;
		}
		/* Fill the window; the first allocation alone, so its 401
		 * gives the realm before the rest need it. */
		for (unsigned i = 0; i < window && launched < n &&
				     (launched == 0 || m.have_key || cfg->fwd || busy == 0);
		     i++) {
			if (slots[i].st != ST_IDLE)
				continue;
			if (start(&slots[i], launched, t) != 0) {
				snprintf(err, errcap, "client socket %u: %s", launched,
					 strerror(errno));
				rc = TP_ESYS;
				break;
			}
			launched++;
			busy++;
		}
		k = epoll_wait(m.ep, ev, 64, 5);
		t = now_ms();
		for (int i = 0; i < k && rc == 0; i++) {
			struct slot *s = ev[i].data.ptr;
			ssize_t len;

			while (rc == 0 && s->st != ST_IDLE &&
			       (len = recv(out[s->idx].fd, buf, sizeof(buf), 0)) >= 0) {
				int r = answer(s, buf, (size_t)len, t, err, errcap);
				if (r < 0) {
					rc = r;
				} else if (r == 1) {
					epoll_ctl(m.ep, EPOLL_CTL_DEL, out[s->idx].fd, NULL);
					s->st = ST_IDLE;
					busy--;
					done++;
				}
			}
		}
		/* Retransmissions, and transactions that ran out of time. */
		for (unsigned i = 0; i < window && rc == 0; i++) {
			struct slot *s = &slots[i];
			if (s->st == ST_IDLE)
				continue;
			if (t - s->started_ms > TXN_MS) {
				snprintf(err, errcap, "allocation %u: no answer in %.0f s", s->idx,
					 TXN_MS / 1000);
				rc = TP_ETIMEDOUT;
			} else if (t - s->sent_ms >= s->rto) {
				s->rto *= 2;
				transmit(s, t);
			}
		}
	}
	free(slots);
	close(m.ep);
	return done;
}

void mass_release(const struct mass_cfg *cfg, struct mass_alloc *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct stun_builder b;
		uint8_t txn[16], req[REQ_CAP];
		size_t len;

		if (a[i].fd < 0)
			continue;
		if (!cfg->fwd && a[i].nonce_len && m.have_key && stun_txn_new(txn) == 0) {
			/* RFC 8656 §7.3: LIFETIME 0 deletes the allocation. */
			stun_build_init(&b, req, sizeof(req), TURN_REFRESH, STUN_REQUEST, txn);
			stun_build_u32(&b, STUN_ATTR_LIFETIME, 0);
			stun_build_string(&b, STUN_ATTR_USERNAME, cfg->user);
			stun_build_attr(&b, STUN_ATTR_REALM, m.realm, m.realm_len);
			stun_build_attr(&b, STUN_ATTR_NONCE, a[i].nonce, a[i].nonce_len);
			if (m.algs_len) {
				uint8_t one[4] = {0, STUN_PWALG_MD5, 0, 0};
				stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, m.algs,
						m.algs_len);
				stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHM, one, sizeof(one));
			}
			stun_build_integrity(&b, m.key.k, m.key.len);
			if (stun_build_finish(&b, &len) == 0)
				(void)send(a[i].fd, req, len, MSG_DONTWAIT);
		}
		close(a[i].fd);
		a[i].fd = -1;
	}
}
