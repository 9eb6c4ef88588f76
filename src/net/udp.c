/* udp.c - UDP batching: the listener path (recvmmsg a batch, hand each
 * datagram to the protocol core, sendmmsg the answers from the address each
 * request was sent to) and the transmit queues shared with relay sockets.
 * No allocation per packet: every buffer lives in the worker's udp_io. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/net.h"
#include "net/udp_int.h"
#include "turnpike/stun.h"
#include "util/addr.h"

struct udp_io *udp_io_new(void)
{
	struct udp_io *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	for (size_t i = 0; i < UDP_BATCH; i++) {
		io->rx_iov[i].iov_base = io->rx_buf[i];
		io->rx_iov[i].iov_len = UDP_RX_SLOT;
		io->rx[i].msg_hdr.msg_iov = &io->rx_iov[i];
		io->rx[i].msg_hdr.msg_iovlen = 1;
		io->rx[i].msg_hdr.msg_name = &io->rx_addr[i];
		io->rx[i].msg_hdr.msg_control = io->rx_ctl[i].buf;
	}
	txq_init(&io->reply);
	txq_init(&io->peer);
	txq_init(&io->client);
	txq_init(&io->speer);
	return io;
}

void udp_io_free(struct udp_io *io)
{
	free(io);
}

void txq_init(struct txq *q)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < UDP_BATCH; i++) {
		q->msg[i].msg_hdr.msg_iov = &q->iov[i];
		q->msg[i].msg_hdr.msg_iovlen = 1;
		q->msg[i].msg_hdr.msg_name = &q->addr[i];
	}
}

/* Fills a pktinfo control message so the datagram leaves from src. */
static void set_source(struct msghdr *h, union udp_ctl *ctl, const struct sockaddr *src)
{
	struct cmsghdr *c;

	h->msg_control = ctl->buf;
	if (src->sa_family == AF_INET) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)src)->sin_addr;
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)src)->sin6_addr;
		pi.ipi6_ifindex = ((const struct sockaddr_in6 *)src)->sin6_scope_id;
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

/* addr_equal, inline for IPv4: this runs for every queued datagram. */
static bool same_dest(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
	const struct sockaddr_in *a = (const struct sockaddr_in *)x,
				 *b = (const struct sockaddr_in *)y;

	if (x->ss_family == AF_INET && y->ss_family == AF_INET)
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	return addr_equal((const struct sockaddr *)x, (const struct sockaddr *)y);
}

/* Whether datagram j may follow datagram i in one GSO send: same
 * destination, same source (pktinfo), and i's size (the kernel's
 * UDP_SEGMENT rule: every segment full but the last). */
static bool gso_joins(const struct txq *q, unsigned i, unsigned j)
{
	const struct msghdr *a = &q->msg[i].msg_hdr, *b = &q->msg[j].msg_hdr;

	if (q->iov[j].iov_len > q->iov[i].iov_len || q->iov[j - 1].iov_len != q->iov[i].iov_len ||
	    q->iov[i].iov_len == 0 || a->msg_controllen != b->msg_controllen ||
	    !same_dest(&q->addr[i], &q->addr[j]))
		return false;
	/* Compare the pktinfo itself, not the padding after it. */
	return a->msg_controllen == 0 ||
	       memcmp(q->ctl[i].buf, q->ctl[j].buf, q->ctl[i].align.cmsg_len) == 0;
}

/* Fills q->out[k] with msg[i] and the segs - 1 datagrams after it, adding
 * a UDP_SEGMENT control message when segs > 1. */
static void gso_build(struct txq *q, unsigned k, unsigned i, unsigned segs)
{
	struct msghdr *h = &q->out[k].msg_hdr;
	struct cmsghdr *c;
	uint16_t size = (uint16_t)q->iov[i].iov_len;
	size_t have;

	*h = q->msg[i].msg_hdr;
	q->first[k] = i;
	q->segs[k] = segs;
	if (segs == 1)
		return;
	h->msg_iov = &q->iov[i];
	h->msg_iovlen = segs;
	have = h->msg_controllen;
	if (have)
		memcpy(q->gso_ctl[k].buf, q->ctl[i].buf, have);
	h->msg_control = q->gso_ctl[k].buf;
	h->msg_controllen = have + CMSG_SPACE(sizeof(size));
	c = (struct cmsghdr *)(q->gso_ctl[k].buf + have);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(c), &size, sizeof(size));
}

/* Sends the datagrams of out[k] one by one: the kernel refused them as one
 * GSO send (EINVAL: a segment over the route's MTU; EIO: no checksum
 * offload on the way). */
static void gso_fallback(struct txq *q, unsigned k, int fd, struct turn_stats *st,
			 enum turn_transport tr)
{
	unsigned i = q->first[k], done = 0;

	while (done < q->segs[k]) {
		int r = sendmmsg(fd, q->msg + i + done, q->segs[k] - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			STAT_INC(st->tx_errors);
			done++;
			continue;
		}
		for (int m = 0; m < r; m++) {
			STAT_INC(st->tx_msgs[tr]);
			STAT_ADD(st->tx_bytes[tr], q->msg[i + done + m].msg_len);
		}
		done += (unsigned)r;
	}
}

/* Sends msg[i, i + run), all on fd, in as few sendmmsg entries as GSO
 * allows. */
static void flush_run(struct txq *q, unsigned i, unsigned run, struct turn_stats *st,
		      enum turn_transport tr)
{
	int fd = q->fd[i];
	unsigned nout = 0, end = i + run, done = 0;

	while (i < end) {
		unsigned segs = 1;
		size_t bytes = q->iov[i].iov_len;
		while (i + segs < end && bytes + q->iov[i + segs].iov_len <= UDP_GSO_BYTES &&
		       gso_joins(q, i, i + segs))
			bytes += q->iov[i + segs++].iov_len;
		gso_build(q, nout++, i, segs);
		i += segs;
	}
	while (done < nout) {
		int r = sendmmsg(fd, q->out + done, nout - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (q->segs[done] > 1 && (errno == EINVAL || errno == EIO))
				gso_fallback(q, done, fd, st, tr);
			else /* Buffer full or destination refused: drop it. */
				STAT_ADD(st->tx_errors, q->segs[done]);
			done++;
			continue;
		}
		for (int k = 0; k < r; k++) {
			unsigned segs = q->segs[done + k];
			STAT_ADD(st->tx_msgs[tr], segs);
			STAT_ADD(st->tx_bytes[tr], q->out[done + k].msg_len);
			if (segs > 1) {
				STAT_INC(st->gso_sends);
				STAT_ADD(st->gso_segments, segs);
			}
		}
		done += (unsigned)r;
	}
}

void txq_flush(struct txq *q, struct turn_stats *st, enum turn_transport tr)
{
	unsigned i = 0;

	/* One sendmmsg per run of datagrams on the same socket. */
	while (i < q->n) {
		unsigned run = 1;
		while (i + run < q->n && q->fd[i + run] == q->fd[i])
			run++;
		flush_run(q, i, run, st, tr);
		i += run;
	}
	q->n = 0;
}

/* Queues one datagram; flushes first when the queue is full. */
void txq_add(struct txq *q, struct turn_stats *st, enum turn_transport tr, int fd,
	     const struct sockaddr *to, const struct sockaddr *src, const uint8_t *data, size_t len)
{
	unsigned i;

	if (q->n == UDP_BATCH)
		txq_flush(q, st, tr);
	i = q->n++;
	q->fd[i] = fd;
	q->iov[i].iov_base = (void *)data;
	q->iov[i].iov_len = len;
	memcpy(&q->addr[i], to, addr_len(to));
	q->msg[i].msg_hdr.msg_namelen = addr_len(to);
	if (src) {
		set_source(&q->msg[i].msg_hdr, &q->ctl[i], src);
	} else {
		q->msg[i].msg_hdr.msg_control = NULL;
		q->msg[i].msg_hdr.msg_controllen = 0;
	}
}

int udp_recv_batch(struct udp_sock *us, int fd)
{
	struct udp_io *io = us->w->io_buf;

	for (int i = 0; i < UDP_BATCH; i++) {
		io->rx[i].msg_hdr.msg_namelen = sizeof(io->rx_addr[i]);
		io->rx[i].msg_hdr.msg_controllen = us->wildcard || us->gro ? UDP_RX_CTL_LEN : 0;
		io->rx[i].msg_hdr.msg_flags = 0;
	}
	return recvmmsg(fd, io->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
}

bool udp_gro_enable(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

size_t udp_gro_size(struct msghdr *h)
{
	struct cmsghdr *c;

	if (!h->msg_controllen)
		return 0;
	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	}
	return 0;
}

void worker_clock(struct worker *w)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	clock_gettime(CLOCK_REALTIME_COARSE, &wall);
	w->ctx.now_ms = (uint64_t)mono.tv_sec * 1000 + (uint64_t)mono.tv_nsec / 1000000;
	w->ctx.unix_s = (uint64_t)wall.tv_sec;
}

/* The local address a datagram was sent to: from pktinfo on wildcard
 * sockets, else the socket's own. */
void udp_local_of(const struct udp_sock *us, struct msghdr *h, struct sockaddr_storage *out)
{
	struct cmsghdr *c;

	memcpy(out, &us->local, sizeof(*out));
	if (!us->wildcard)
		return;
	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)out)->sin_addr = pi.ipi_addr;
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)out)->sin6_addr = pi.ipi6_addr;
			((struct sockaddr_in6 *)out)->sin6_scope_id = pi.ipi6_ifindex;
			return;
		}
	}
}

int udp_send_one(struct udp_sock *us, const struct sockaddr *to, const struct sockaddr *src,
		 const uint8_t *data, size_t len)
{
	union udp_ctl ctl;
	struct iovec iov = {(void *)data, len};
	struct msghdr h;

	memset(&h, 0, sizeof(h));
	h.msg_name = (void *)to;
	h.msg_namelen = addr_len(to);
	h.msg_iov = &iov;
	h.msg_iovlen = 1;
	if (us->wildcard && src)
		set_source(&h, &ctl, src);
	while (sendmsg(us->fd, &h, MSG_DONTWAIT) < 0) {
		if (errno == EINTR)
			continue;
		STAT_INC(us->w->stats.tx_errors);
		return -1;
	}
	return 0;
}

void udp_queue_peer(struct worker *w, int fd, const struct sockaddr *peer, const uint8_t *data,
		    size_t len)
{
	txq_add(&w->io_buf->peer, &w->stats, TP_UDP, fd, peer, NULL, data, len);
}

void udp_flush_peer(struct worker *w)
{
	if (w->io_buf->peer.n)
		txq_flush(&w->io_buf->peer, &w->stats, TP_UDP);
}

void udp_flush_client(struct worker *w)
{
	if (w->io_buf->client.n)
		txq_flush(&w->io_buf->client, &w->stats, TP_UDP);
}

/* Queues an answer to from->client: from the socket the request came to,
 * or, for an RFC 5780 CHANGE-REQUEST, from the socket of the address the
 * core chose (ctx.reply_via). */
static void queue_reply(struct worker *w, const struct udp_sock *us, const struct turn_from *from,
			const uint8_t *msg, size_t len)
{
	int via = w->ctx.reply_via;

	if (via >= 0) {
		/* The RFC 5780 sockets are bound to their addresses: no pktinfo. */
		if (via >= TURN_NAT_ADDRS || w->nat_fd[via] < 0) {
			STAT_INC(w->stats.tx_errors);
			return;
		}
		txq_add(&w->io_buf->reply, &w->stats, TP_UDP, w->nat_fd[via], from->client, NULL,
			msg, len);
		return;
	}
	txq_add(&w->io_buf->reply, &w->stats, TP_UDP, us->fd, from->client,
		us->wildcard ? from->local : NULL, msg, len);
}

/* One datagram from a client (or one segment of a GRO read). */
static void udp_handle(struct worker *w, const struct udp_sock *us, const struct turn_from *from,
		       const uint8_t *pkt, size_t len)
{
	struct udp_io *io = w->io_buf;
	struct turn_stats *st = &w->stats;
	size_t out;

	STAT_INC(st->rx_msgs[TP_UDP]);
	STAT_ADD(st->rx_bytes[TP_UDP], len);
	if (len > UDP_MAX_DGRAM) {
		STAT_INC(st->drops[DROP_OVERSIZE]);
		return;
	}
	/* RFC 7983 demultiplexing on the first byte. */
	if (len && pkt[0] >= 64 && pkt[0] <= 127) {
		turn_client_chandata(&w->ctx, from, pkt, len);
		return;
	}
	if (len == 0 || pkt[0] > 3) {
		STAT_INC(st->drops[DROP_NOT_STUN]);
		return;
	}
	/* A GRO read may hold more requests than there are reply slots. */
	if (io->reply.n == UDP_BATCH)
		txq_flush(&io->reply, st, TP_UDP);
	out = turn_server_handle(&w->ctx, from, pkt, len, io->reply_buf[io->reply.n]);
	if (out)
		queue_reply(w, us, from, io->reply_buf[io->reply.n], out);
	else if (w->ctx.parked)
		userdb_park(w, from, pkt, len);
}

void udp_read_cb(int fd, short what, void *arg)
{
	struct udp_sock *us = arg;
	struct worker *w = us->w;
	struct udp_io *io = w->io_buf;
	struct turn_stats *st = &w->stats;
	(void)what;

	worker_clock(w);
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		n = udp_recv_batch(us, fd);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &io->rx[i].msg_hdr;
			const uint8_t *pkt = io->rx_buf[i];
			size_t len = io->rx[i].msg_len, seg;
			struct sockaddr_storage local;
			struct turn_from from = {TP_UDP, (struct sockaddr *)&io->rx_addr[i],
						 (struct sockaddr *)&local, us};

			if (h->msg_flags & MSG_TRUNC) {
				STAT_INC(st->rx_msgs[TP_UDP]);
				STAT_INC(st->drops[DROP_OVERSIZE]);
				continue;
			}
			udp_local_of(us, h, &local);
			seg = udp_gro_size(h);
			if (!seg || seg >= len) {
				udp_handle(w, us, &from, pkt, len);
				continue;
			}
			/* A GRO read: datagrams of seg bytes (the last may be
			 * shorter) from one source, in the order sent. */
			STAT_INC(st->gro_reads);
			for (size_t off = 0; off < len; off += seg) {
				size_t l = len - off < seg ? len - off : seg;
				STAT_INC(st->gro_segments);
				udp_handle(w, us, &from, pkt + off, l);
			}
		}
		/* Peer datagrams point into rx buffers: out before the next read. */
		udp_flush_peer(w);
		if (io->reply.n)
			txq_flush(&io->reply, st, TP_UDP);
		if (n < UDP_BATCH)
			break;
	}
}
