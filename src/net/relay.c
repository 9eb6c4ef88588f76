/* relay.c - relay sockets (RFC 8656 §7.2, §14): one UDP socket per
 * allocation on a random port from the CSPRNG, EVEN-PORT with reservations
 * shared by all workers, DONT-FRAGMENT, and the peer → client read path. */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "net/udp_int.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/rand.h"

#define RELAY_TRIES 64       /* random ports tried before sweeping */
#define RELAY_SWEEP 1024     /* ports then tried in order before giving up */
#define RESERVATION_MS 30000 /* RFC 8656 §7.2: about 30 s */
#define MAX_RESERVATIONS 4096

/* One warning per burst of descriptor exhaustion, per worker. */
static __thread struct log_ratelimit rl_fd = LOG_RATELIMIT_INIT(10, 1);

struct relay_sock {
	int fd;
	struct event *ev;
	struct worker *w;
	struct turn_alloc *a;
	struct tcprelay_listener *tcp; /* RFC 6062: a TCP allocation's listener */
};

struct reservation {
	uint64_t token;
	uint64_t expiry_ms;
	int fd;
	struct sockaddr_storage addr;
};

/* Ports held for the odd half of an EVEN-PORT pair; any worker may claim
 * one, so a lock guards it (Allocate only, never the packet path). */
struct relay_reservations {
	pthread_mutex_t lock;
	struct reservation r[MAX_RESERVATIONS];
	size_t n;
};

struct relay_reservations *relay_reservations_new(void)
{
	struct relay_reservations *r = calloc(1, sizeof(*r));

	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

void relay_reservations_free(struct relay_reservations *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		close(r->r[i].fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Under the lock: closes reservations nobody claimed in time. */
static void reservations_sweep(struct relay_reservations *r, uint64_t now_ms)
{
	for (size_t i = 0; i < r->n;) {
		if (r->r[i].expiry_ms <= now_ms) {
			close(r->r[i].fd);
			r->r[i] = r->r[--r->n];
		} else {
			i++;
		}
	}
}

static int reservation_put(struct relay_reservations *r, int fd, const struct sockaddr *sa,
			   uint64_t now_ms, uint64_t *token)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	reservations_sweep(r, now_ms);
	if (r->n == MAX_RESERVATIONS || rand_bytes(token, sizeof(*token)) != 0) {
		rc = TP_EAGAIN;
	} else {
		struct reservation *res = &r->r[r->n++];
		res->token = *token;
		res->expiry_ms = now_ms + RESERVATION_MS;
		res->fd = fd;
		memcpy(&res->addr, sa, addr_len(sa));
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static int reservation_take(struct relay_reservations *r, uint64_t token, uint64_t now_ms,
			    struct sockaddr_storage *sa)
{
	int fd = -1;

	pthread_mutex_lock(&r->lock);
	reservations_sweep(r, now_ms);
	for (size_t i = 0; i < r->n; i++) {
		if (r->r[i].token == token) {
			fd = r->r[i].fd;
			memcpy(sa, &r->r[i].addr, sizeof(*sa));
			r->r[i] = r->r[--r->n];
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return fd;
}

/* Binds a UDP socket on addr:port. Returns the fd or -1 (errno set). */
static int bind_port(const struct sockaddr_storage *addr, uint16_t port)
{
	struct sockaddr_storage sa = *addr;
	int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	addr_set_port((struct sockaddr *)&sa, port);
	if (bind(fd, (struct sockaddr *)&sa, addr_len((struct sockaddr *)&sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static bool out_of_fds(int err)
{
	return err == EMFILE || err == ENFILE;
}

/* Binds port (and with reserve the odd one above it): the descriptor, or -1
 * with *no_fd set when the process (EMFILE) or the system (ENFILE) has no
 * descriptor left. */
static int try_port(const struct sockaddr_storage *addr, uint16_t port, bool reserve, int *odd_fd,
		    bool *no_fd)
{
	int fd = bind_port(addr, port);

	if (fd < 0) {
		*no_fd = out_of_fds(errno);
		return -1;
	}
	if (reserve) {
		*odd_fd = bind_port(addr, (uint16_t)(port + 1));
		if (*odd_fd < 0) {
			*no_fd = out_of_fds(errno);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Picks a random free port from [min-port, max-port]: an even one when
 * asked, and with reserve the odd one above it too. Sets *no_fd when no
 * descriptor is left: no other port would do better. RELAY_TRIES random
 * ports first; when they are all taken (a nearly full range: with one port
 * of 40 free, 64 random tries miss it one time in five), a sweep of up to
 * RELAY_SWEEP ports in order from a random one, so the last free ports of a
 * range are found and total-quota, not chance, says when it is full. */
static int pick_port(const struct conf *conf, const struct sockaddr_storage *addr, bool even,
		     bool reserve, int *odd_fd, uint16_t *port, bool *no_fd)
{
	uint32_t first = (uint32_t)conf->min_port, last = (uint32_t)conf->max_port;
	uint32_t step = even ? 2 : 1, n, r, sweep;

	if (even)
		first = (first + 1) & ~1u;
	if (reserve)
		last--;
	if (first > last)
		return -1;
	n = (last - first) / step + 1;
	for (int i = 0; i < RELAY_TRIES; i++) {
		int fd;

		if (rand_uniform(n, &r) != 0)
			return -1;
		*port = (uint16_t)(first + r * step);
		if ((fd = try_port(addr, *port, reserve, odd_fd, no_fd)) >= 0 || *no_fd)
			return fd;
	}
	sweep = n < RELAY_SWEEP ? n : RELAY_SWEEP;
	if (rand_uniform(n, &r) != 0)
		return -1;
	for (uint32_t i = 0; i < sweep; i++) {
		int fd;

		*port = (uint16_t)(first + ((r + i) % n) * step);
		if ((fd = try_port(addr, *port, reserve, odd_fd, no_fd)) >= 0 || *no_fd)
			return fd;
	}
	return -1;
}

int relay_open(void *env, struct turn_alloc *a, int family, bool dont_fragment, bool even,
	       bool reserve, uint64_t *token, bool use_token)
{
	struct worker *w = env;
	struct server *srv = w->srv;
	int fi = family == AF_INET6, fd = -1, odd_fd = -1, one = 1, rc;
	struct relay_sock *rs = NULL;
	struct sockaddr_storage bound;
	const struct relay_addr *ra;
	uint16_t port = 0;
	bool no_fd = false;

	if (use_token) {
		/* The held port keeps its own family (RFC 8656 §7.2). */
		fd = reservation_take(srv->reservations, *token, w->ctx.now_ms, &bound);
		if (fd < 0)
			return TP_ENOTFOUND;
		family = bound.ss_family;
		fi = family == AF_INET6;
		ra = NULL;
		for (size_t i = 0; i < srv->nrelay[fi]; i++)
			if (addr_equal_ip((struct sockaddr *)&srv->relay[fi][i].bind,
					  (struct sockaddr *)&bound))
				ra = &srv->relay[fi][i];
		if (!ra) {
			close(fd);
			return TP_ENOTFOUND;
		}
		port = addr_port((struct sockaddr *)&bound);
	} else {
		if (srv->nrelay[fi] == 0)
			return TP_EINVAL;
		ra = &srv->relay[fi][w->relay_rr[fi]++ % srv->nrelay[fi]];
		fd = pick_port(srv->conf, &ra->bind, even, reserve, &odd_fd, &port, &no_fd);
		if (fd < 0 && no_fd) {
			/* Not a lack of ports: say what ran out, once per burst. */
			STAT_INC(w->stats.fd_exhausted);
			log_rl(&rl_fd, LOG_LVL_WARN,
			       "relay socket: out of file descriptors (%s): Allocate refused with "
			       "508; raise the open file limit",
			       strerror(errno == ENFILE ? ENFILE : EMFILE));
			return TP_ESYS;
		}
		if (fd < 0)
			return TP_EAGAIN;
	}
	if (dont_fragment) {
		/* RFC 8656 §14: set DF on what we send to peers. */
		int pmtu = IP_PMTUDISC_DO;
		if (family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
	}
	/* A peer's burst of same-size datagrams may arrive as one read. */
	udp_gro_enable(fd);
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		rc = TP_ENOMEM;
		goto fail;
	}
	rs->fd = fd;
	rs->w = w;
	rs->a = a;
	rs->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, relay_read_cb, rs);
	if (!rs->ev || event_add(rs->ev, NULL) != 0) {
		rc = TP_ENOMEM;
		goto fail;
	}
	if (reserve) {
		memcpy(&bound, &ra->bind, sizeof(bound));
		addr_set_port((struct sockaddr *)&bound, (uint16_t)(port + 1));
		if (reservation_put(srv->reservations, odd_fd, (struct sockaddr *)&bound,
				    w->ctx.now_ms, token) != 0) {
			rc = TP_EAGAIN;
			goto fail;
		}
		odd_fd = -1;
	}
	if (a->tcp) {
		/* RFC 6062 §5.1: a TCP allocation listens on its relayed
		 * address; the UDP socket holds the port. */
		memcpy(&bound, &ra->bind, sizeof(bound));
		addr_set_port((struct sockaddr *)&bound, port);
		rs->tcp = tcprelay_listen(w, a, (struct sockaddr *)&bound);
		if (!rs->tcp) {
			rc = TP_EAGAIN;
			goto fail;
		}
	}
	{
		/* The first relay, or a dual allocation's second (turn/ made
		 * room for it in a->dual). */
		bool second = a->relay != NULL;
		struct sockaddr_storage *relayed = second ? &a->dual->relayed : &a->relayed;

		memcpy(relayed, &ra->external, sizeof(*relayed));
		addr_set_port((struct sockaddr *)relayed, port);
		if (second)
			a->dual->relay = rs;
		else
			a->relay = rs;
	}
	return 0;
fail:
	if (rs && rs->ev)
		event_free(rs->ev);
	free(rs);
	close(fd);
	if (odd_fd >= 0)
		close(odd_fd);
	return rc;
}

static void sock_close(struct relay_sock *rs)
{
	if (!rs)
		return;
	tcprelay_unlisten(rs->tcp);
	event_free(rs->ev);
	close(rs->fd);
	free(rs);
}

void relay_close(void *env, struct turn_alloc *a)
{
	struct worker *w = env;

	/* Datagrams the batch queued on these sockets leave first: a Send
	 * followed by a Refresh(0) in one batch must still reach the peer,
	 * and a socket number the batch reuses must not carry them. */
	if (w && a->transport == TP_UDP)
		udp_flush_peer(w);
	else if (w)
		relay_flush_stream(w);
	sock_close(a->relay);
	a->relay = NULL;
	if (a->dual) {
		sock_close(a->dual->relay);
		a->dual->relay = NULL;
	}
}

struct tcprelay_listener *relay_tcp_listener(const struct turn_alloc *a)
{
	const struct relay_sock *rs = a->relay;

	return rs ? rs->tcp : NULL;
}

static void stream_queue_peer(struct worker *w, int fd, const struct sockaddr *peer,
			      const uint8_t *data, size_t len);

void relay_send_peer(void *env, struct turn_alloc *a, const struct sockaddr *peer,
		     const uint8_t *data, size_t len)
{
	struct worker *w = env;
	struct relay_sock *rs = a->relay;

	/* A dual allocation sends from the relay of the peer's family. */
	if (a->dual && a->dual->relay && peer->sa_family == a->dual->relayed.ss_family)
		rs = a->dual->relay;
	if (a->transport == TP_UDP) {
		udp_queue_peer(w, rs->fd, peer, data, len);
		return;
	}
	stream_queue_peer(w, rs->fd, peer, data, len);
}

void relay_flush_stream(struct worker *w)
{
	struct udp_io *io = w->io_buf;

	if (io->speer.n)
		txq_flush(&io->speer, &w->stats, TP_UDP);
	io->speer_used = 0;
}

static void speer_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_flush_stream(arg);
}

int relay_worker_init(struct worker *w)
{
	w->speer_flush = event_new(w->base, -1, 0, speer_flush_cb, w);
	return w->speer_flush ? 0 : TP_ENOMEM;
}

/* A TCP, TLS or DTLS client's datagram for a peer. Its data sits in the
 * client's input, drained once handled, so it is copied to the worker's staging
 * buffer; what a loop pass staged leaves when the pass ends, together (one
 * sendmmsg, a run to one peer as one GSO send), or earlier when the
 * buffer or the queue is full. In order: a datagram too big to stage goes
 * after the staged ones. */
static void stream_queue_peer(struct worker *w, int fd, const struct sockaddr *peer,
			      const uint8_t *data, size_t len)
{
	struct udp_io *io = w->io_buf;
	bool direct = len > sizeof(io->speer_buf) / 4;

	/* Full, or one that goes straight out: what waits goes first. */
	if (direct || io->speer.n == UDP_BATCH || io->speer_used + len > sizeof(io->speer_buf))
		relay_flush_stream(w);
	if (direct) {
		if (sendto(fd, data, len, MSG_DONTWAIT, peer, addr_len(peer)) < 0)
			STAT_INC(w->stats.tx_errors);
		else {
			STAT_INC(w->stats.tx_msgs[TP_UDP]);
			STAT_ADD(w->stats.tx_bytes[TP_UDP], len);
		}
		return;
	}
	memcpy(io->speer_buf + io->speer_used, data, len);
	if (io->speer.n == 0)
		event_active(w->speer_flush, EV_WRITE, 0);
	txq_add(&io->speer, &w->stats, TP_UDP, fd, peer, NULL, io->speer_buf + io->speer_used, len);
	/* The next one 8-aligned. */
	io->speer_used += (len + 7) & ~(size_t)7;
}

/* Frames one peer datagram at data (TURN_HEADROOM writable before it, 4
 * after) for a's client and queues or writes it. */
static void relay_one(struct worker *w, struct turn_alloc *a, const struct turn_from *to,
		      const struct sockaddr *peer, uint8_t *data, size_t len, bool stream)
{
	uint8_t *msg;
	size_t out;

	/* What fits a listener's slot framed, as before GRO. */
	if (len > UDP_MAX_DGRAM - TURN_HEADROOM - 4) {
		STAT_INC(w->stats.drops[DROP_OVERSIZE]);
		return;
	}
	out = turn_peer_data(&w->ctx, a, peer, data, len, stream, &msg);
	if (out)
		net_send_client(w, &w->io_buf->client, to, msg, out);
}

/* A GRO read of datagrams of seg bytes (the last may be shorter), in the
 * order the peer sent them. Framing writes around each one, so all but the
 * last are copied apart into io->spill first; *spill_pos is how much of it
 * the client queue still points into. */
static void relay_gro(struct worker *w, struct turn_alloc *a, const struct turn_from *to,
		      const struct sockaddr *peer, uint8_t *pkt, size_t len, size_t seg,
		      bool stream, size_t *spill_pos)
{
	struct udp_io *io = w->io_buf;
	size_t off = 0;

	STAT_INC(w->stats.gro_reads);
	while (len - off > seg) {
		size_t need = (TURN_HEADROOM + seg + 4 + 7) & ~(size_t)7;
		uint8_t *copy;

		if (need > UDP_SPILL) {
			/* Cannot happen with a slot of UDP_RX_SLOT; stay safe. */
			STAT_INC(w->stats.drops[DROP_OVERSIZE]);
			off += seg;
			continue;
		}
		if (*spill_pos + need > UDP_SPILL) {
			udp_flush_client(w);
			*spill_pos = 0;
		}
		copy = io->spill + *spill_pos + TURN_HEADROOM;
		memcpy(copy, pkt + off, seg);
		*spill_pos += need;
		STAT_INC(w->stats.gro_segments);
		relay_one(w, a, to, peer, copy, seg, stream);
		off += seg;
	}
	/* The last in place: what is before it was copied out already. */
	STAT_INC(w->stats.gro_segments);
	relay_one(w, a, to, peer, pkt + off, len - off, stream);
}

void relay_read_cb(int fd, short what, void *arg)
{
	struct relay_sock *rs = arg;
	struct worker *w = rs->w;
	struct udp_io *io = w->io_buf;
	struct turn_alloc *a = rs->a;
	/* RFC 8656 §12.5: ChannelData is padded on streams only. */
	bool stream = a->transport == TP_TCP || a->transport == TP_TLS;
	const struct turn_from to = {a->transport, (struct sockaddr *)&a->client,
				     (struct sockaddr *)&a->local, a->conn};
	(void)what;

	worker_clock(w);
	for (int round = 0; round < UDP_ROUNDS; round++) {
		size_t spill_pos = 0;
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			io->rrx_iov[i].iov_base = io->rrx_buf[i] + TURN_HEADROOM;
			io->rrx_iov[i].iov_len = UDP_RX_SLOT;
			io->rrx[i].msg_hdr.msg_iov = &io->rrx_iov[i];
			io->rrx[i].msg_hdr.msg_iovlen = 1;
			io->rrx[i].msg_hdr.msg_name = &io->rrx_addr[i];
			io->rrx[i].msg_hdr.msg_namelen = sizeof(io->rrx_addr[i]);
			io->rrx[i].msg_hdr.msg_control = io->rrx_ctl[i].buf;
			io->rrx[i].msg_hdr.msg_controllen = sizeof(io->rrx_ctl[i].buf);
			io->rrx[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, io->rrx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &io->rrx[i].msg_hdr;
			const struct sockaddr *peer = (struct sockaddr *)&io->rrx_addr[i];
			uint8_t *pkt = io->rrx_buf[i] + TURN_HEADROOM;
			size_t len = io->rrx[i].msg_len, seg;

			if (h->msg_flags & MSG_TRUNC) {
				STAT_INC(w->stats.drops[DROP_OVERSIZE]);
				continue;
			}
			seg = udp_gro_size(h);
			if (seg && seg < len)
				relay_gro(w, a, &to, peer, pkt, len, seg, stream, &spill_pos);
			else
				relay_one(w, a, &to, peer, pkt, len, stream);
		}
		udp_flush_client(w);
		if (n < UDP_BATCH)
			break;
	}
}
