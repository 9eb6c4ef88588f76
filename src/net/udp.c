/* udp.c - UDP batching: the listener path (recvmmsg a batch, hand each
 * datagram to the protocol core, sendmmsg the answers from the address each
 * request was sent to) and the transmit queues shared with relay sockets.
 * No allocation per packet: every buffer lives in the worker's udp_io. */
#include <errno.h>
#include <netinet/in.h>
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

void txq_flush(struct txq *q, struct turn_stats *st, enum turn_transport tr)
{
	unsigned i = 0;

	/* One sendmmsg per run of datagrams on the same socket. */
	while (i < q->n) {
		unsigned run = 1;
		while (i + run < q->n && q->fd[i + run] == q->fd[i])
			run++;
		unsigned done = 0;
		while (done < run) {
			int r = sendmmsg(q->fd[i], q->msg + i + done, run - done, MSG_DONTWAIT);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* Buffer full or destination refused: drop this one. */
				STAT_INC(st->tx_errors);
				done++;
				continue;
			}
			for (int k = 0; k < r; k++) {
				STAT_INC(st->tx_msgs[tr]);
				STAT_ADD(st->tx_bytes[tr], q->msg[i + done + k].msg_len);
			}
			done += (unsigned)r;
		}
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
		io->rx[i].msg_hdr.msg_controllen = us->wildcard ? UDP_CTL_LEN : 0;
		io->rx[i].msg_hdr.msg_flags = 0;
	}
	return recvmmsg(fd, io->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
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
			size_t len = io->rx[i].msg_len, out;
			struct sockaddr_storage local;
			struct turn_from from = {TP_UDP, (struct sockaddr *)&io->rx_addr[i],
						 (struct sockaddr *)&local, us};

			STAT_INC(st->rx_msgs[TP_UDP]);
			STAT_ADD(st->rx_bytes[TP_UDP], len);
			if (h->msg_flags & MSG_TRUNC) {
				STAT_INC(st->drops[DROP_OVERSIZE]);
				continue;
			}
			udp_local_of(us, h, &local);
			/* RFC 7983 demultiplexing on the first byte. */
			if (len && pkt[0] >= 64 && pkt[0] <= 127) {
				turn_client_chandata(&w->ctx, &from, pkt, len);
				continue;
			}
			if (len == 0 || pkt[0] > 3) {
				STAT_INC(st->drops[DROP_NOT_STUN]);
				continue;
			}
			out = turn_server_handle(&w->ctx, &from, pkt, len,
						 io->reply_buf[io->reply.n]);
			if (out)
				queue_reply(w, us, &from, io->reply_buf[io->reply.n], out);
			else if (w->ctx.parked)
				userdb_park(w, &from, pkt, len);
		}
		/* Peer datagrams point into rx buffers: out before the next read. */
		udp_flush_peer(w);
		if (io->reply.n)
			txq_flush(&io->reply, st, TP_UDP);
		if (n < UDP_BATCH)
			break;
	}
}
