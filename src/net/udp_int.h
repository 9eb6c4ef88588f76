/* udp_int.h - the worker's UDP buffers and transmit queues. */
#ifndef TURNPIKE_NET_UDP_INT_H
#define TURNPIKE_NET_UDP_INT_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "net/net.h"

#define UDP_BATCH 32
#define UDP_ROUNDS 8       /* batches per wakeup before yielding the loop */
#define UDP_MAX_DGRAM 8192 /* larger datagrams are dropped as oversize */
/* A receive slot holds a whole UDP GRO read (up to 64 KiB of segments);
 * pages a read does not reach are never touched. */
#define UDP_RX_SLOT 65536
#define UDP_CTL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))
#define UDP_RX_CTL_LEN (UDP_CTL_LEN + CMSG_SPACE(sizeof(int)))
/* Where the segments of a relay socket's GRO read are framed apart. */
#define UDP_SPILL (UDP_RX_SLOT + 64 * (TURN_HEADROOM + 8))
/* A UDP GSO send (UDP_SEGMENT): at most this many bytes of payload, under
 * the 64 KiB an IP datagram holds whatever the headers. */
#define UDP_GSO_BYTES 65000
#define UDP_SPEER_BUF 65536 /* stream clients' datagrams staged for peers */
#define UDP_GSO_CTL_LEN (UDP_CTL_LEN + CMSG_SPACE(sizeof(uint16_t)))

union udp_ctl {
	char buf[UDP_CTL_LEN];
	struct cmsghdr align;
};

union udp_rx_ctl {
	char buf[UDP_RX_CTL_LEN];
	struct cmsghdr align;
};

union udp_gso_ctl {
	char buf[UDP_GSO_CTL_LEN];
	struct cmsghdr align;
};

/* Datagrams waiting for one sendmmsg per socket; data is not copied. At
 * flush, consecutive datagrams to one destination from one source with
 * one size (the last may be shorter) leave as one UDP GSO send. */
struct txq {
	unsigned n;
	int fd[UDP_BATCH];
	struct mmsghdr msg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage addr[UDP_BATCH];
	union udp_ctl ctl[UDP_BATCH];
	/* The flush's sends: out[k] carries msg[first[k]] and the segs[k] - 1
	 * after it (one iovec each, with UDP_SEGMENT in gso_ctl[k]). */
	struct mmsghdr out[UDP_BATCH];
	unsigned first[UDP_BATCH];
	unsigned segs[UDP_BATCH];
	union udp_gso_ctl gso_ctl[UDP_BATCH];
};

struct udp_io {
	/* Listener receive batch. */
	struct mmsghdr rx[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	struct sockaddr_storage rx_addr[UDP_BATCH];
	union udp_rx_ctl rx_ctl[UDP_BATCH];
	uint8_t rx_buf[UDP_BATCH][UDP_RX_SLOT];
	/* STUN answers and their buffers. */
	struct txq reply;
	uint8_t reply_buf[UDP_BATCH][TURN_MAX_REPLY];
	/* Client data out to peers, pointing into rx_buf. */
	struct txq peer;
	/* Relay receive batch, with headroom for framing in place. */
	struct mmsghdr rrx[UDP_BATCH];
	struct iovec rrx_iov[UDP_BATCH];
	struct sockaddr_storage rrx_addr[UDP_BATCH];
	union udp_rx_ctl rrx_ctl[UDP_BATCH];
	uint8_t rrx_buf[UDP_BATCH][TURN_HEADROOM + UDP_RX_SLOT + 8];
	/* Segments of a GRO read, each with headroom (relay.c). */
	uint8_t spill[UDP_SPILL];
	/* Peer data out to UDP clients, pointing into rrx_buf. */
	struct txq client;
	/* TCP, TLS and DTLS clients' data out to peers: copied here, since
	 * their input is drained (or decrypted over) message by message, and
	 * sent when the loop pass ends (relay.c). */
	struct txq speer;
	size_t speer_used;
	uint8_t speer_buf[UDP_SPEER_BUF];
};

void txq_init(struct txq *q);
void txq_add(struct txq *q, struct turn_stats *st, enum turn_transport tr, int fd,
	     const struct sockaddr *to, const struct sockaddr *src, const uint8_t *data,
	     size_t len);
void txq_flush(struct txq *q, struct turn_stats *st, enum turn_transport tr);
/* Receives a batch on us's socket fd into the worker's listener buffers
 * (io->rx, with pktinfo room on wildcard sockets). Returns recvmmsg's. */
int udp_recv_batch(struct udp_sock *us, int fd);
/* Turns UDP GRO on for fd: the kernel may then hand over several
 * datagrams from one source, of one size, as one read. Returns whether it
 * is on. */
bool udp_gro_enable(int fd);
/* The segment size of h's read when it holds several datagrams (a UDP_GRO
 * control message), else 0. */
size_t udp_gro_size(struct msghdr *h);

/* send.c: answers the client to->conn stands for: a UDP datagram joins q
 * (msg must stay valid until q is flushed), a TCP message is copied onto
 * the connection. */
void net_send_client(struct worker *w, struct txq *q, const struct turn_from *to,
		     const uint8_t *msg, size_t len);

#endif
