/* turnpike-bench.c - load generator for STUN/TURN servers on loopback: Binding
 * request rate, and relayed ChannelData throughput through N allocations to a
 * sink peer of its own, with the server's CPU time read from /proc so a run
 * yields packets per server CPU-second. Works against any TURN server
 * (turnpiked, coturn); bench/compare.sh runs both side by side.
 *
 *   turnpike-bench binding [options]
 *   turnpike-bench relay [options]
 *   turnpike-bench port
 *
 * Every address it sends to must be loopback (127.0.0.0/8, ::1): the server,
 * the peer and the relayed addresses the server hands out. Every load loop
 * stops by itself: at --duration (at most 60 s) or --count packets, and setup
 * and teardown have time budgets of their own. Never run from make check. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "mass.h"
#include "probe.h"
#include "turnpike/err.h"
#include "turnpike/stun.h"
#include "util/addr.h"

#define MAX_DURATION 60     /* seconds */
#define MAX_CLIENTS 1024    /* binding sockets */
#define MAX_ALLOCS 100000   /* UDP allocations (bench/mass.c) */
#define MAX_TCP_ALLOCS 2048 /* TCP ones, each a full client */
#define MAX_BATCH 64        /* datagrams per sendmmsg / frames per write */
#define MAX_SIZE 4000       /* relayed payload bytes */
#define MIN_SIZE 4
#define RX_BATCH 64 /* datagrams per recvmmsg */
#define RX_ROUNDS 8 /* recvmmsg calls per ready socket per pass */
#define TCP_RXBUF 65536
#define SOCK_BUF (4 << 20)  /* socket buffers we ask for */
#define STALL_MS 20.0       /* window full and nothing arrives: write off */
#define DRAIN_MS 1000.0     /* most time spent collecting stragglers */
#define QUIET_MS 100.0      /* ... ending early after this much silence */
#define TXN_TIMEOUT_MS 2000 /* one setup transaction */
#define SETUP_BUDGET_MS 60000.0
#define RELEASE_BUDGET_MS 5000.0
#define CHANNEL MASS_CHANNEL
#define RTT_MAX_US 200000 /* round trips histogram: 1 us steps up to here */
#define SETTLE_MS 300.0   /* alloc: wait before reading the server's memory */
#define DEFAULT_COUNT 100000000ull

#define SA(ss) ((struct sockaddr *)(ss))

enum mode {
	MODE_BINDING,
	MODE_RELAY,
	MODE_ALLOC
};

static struct {
	enum mode mode;
	struct sockaddr_storage server;
	struct sockaddr_storage peer_ip;
	const char *user;
	char password[256];
	unsigned duration;
	unsigned clients, allocs;
	unsigned size;
	double rate;     /* per stream, packets/s; 0: flat out */
	unsigned window; /* flat out: most packets in flight; 0: none */
	unsigned batch;
	unsigned long long count;
	bool tcp, tls, reverse, quiet, echo, fwd;
	unsigned setup_window; /* setups in flight */
	unsigned hold;         /* alloc: seconds to keep them after setup */
	long server_pid;
} opt = {
	.user = "alice",
	.password = "secret",
	.duration = 5,
	.clients = 4,
	.allocs = 16,
	.size = 200,
	.window = 512,
	.batch = 32,
	.count = DEFAULT_COUNT,
	.setup_window = 64,
};

/* One sender of the load: a client socket (binding, forward relay) or the
 * peer socket aimed at one relayed address (reverse relay). */
struct stream {
	int fd;
	bool tcp;
	SSL *ssl;                    /* TCP with --tls (owned by the client object) */
	struct sockaddr_storage dst; /* used when dstlen > 0 */
	socklen_t dstlen;
	double phase;    /* staggers paced streams, in packets */
	uint64_t sent;   /* datagrams, or complete frames written */
	uint64_t queued; /* TCP: frames decided on */
	uint64_t bytes;  /* TCP: bytes written */
};

/* A socket the answers or relayed data arrive on. */
struct rxsock {
	int fd;
	bool tcp;
	SSL *ssl;
	bool closed;
	bool echo; /* the echo peer: sends every datagram back */
};

static struct {
	struct stream *st;
	unsigned nst, cursor;
	struct rxsock *rx;
	unsigned nrx;
	int ep;
	/* Templates: one iovec per batch slot (Binding requests differ in
	 * their transaction id; relay slots all point at one payload). */
	uint8_t req[MAX_BATCH][64];
	struct iovec iov[MAX_BATCH];
	uint8_t *pkt; /* UDP payload: ChannelData, or raw for the peer */
	size_t pktlen;
	uint8_t *tcpbuf; /* TCP: the frame repeated MAX_BATCH + 1 times */
	size_t flen;     /* TCP frame length, padded to 4 */
	/* sendmmsg queue. */
	int txfd;
	unsigned txn;
	struct mmsghdr txm[MAX_BATCH];
	unsigned txwho[MAX_BATCH];
	/* recvmmsg buffers. */
	struct mmsghdr rxm[RX_BATCH];
	struct iovec rxiov[RX_BATCH];
	uint8_t rxbuf[RX_BATCH][2048];
	uint8_t tcprx[TCP_RXBUF];
	/* Counters. */
	uint64_t sent, good, bad, bytes, tcp_bytes;
	uint64_t send_err, refused, stalls, written_off, eagain;
	int last_errno;
	/* Echo: a payload per batch slot (each carries its send time), the
	 * peer's source addresses, and round trips in microseconds. */
	uint8_t (*echo_pkt)[MAX_SIZE + 8];
	struct sockaddr_storage rxname[RX_BATCH];
	uint32_t *rtt_us;
	uint64_t rtt_n, rtt_over;
	SSL_CTX *tls; /* --tls */
} g;

/* ------------------------------------------------------------------ */
/* CPU time. */

/* utime + stime of a process in seconds, or -1. */
static double proc_cpu(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name in parentheses may hold spaces: fields count from the
	 * last ')'. utime and stime are fields 14 and 15 (proc(5)). */
	if (!(p = strrchr(buf, ')')))
		return -1;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy time of all CPUs together in seconds (user, nice, system, irq,
 * softirq, steal from /proc/stat), or -1. */
static double all_cpu(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Resident memory of a process in kB (VmRSS), or -1. */
static long proc_rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ------------------------------------------------------------------ */
/* Sockets. */

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Big buffers, so a burst is not lost in our own sockets (FORCE works as
 * root, past rmem_max / wmem_max). */
static void set_bufs(int fd)
{
	int v = SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static void rx_add(int fd, bool tcp, SSL *ssl)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = g.nrx};

	g.rx[g.nrx].fd = fd;
	g.rx[g.nrx].tcp = tcp;
	g.rx[g.nrx].ssl = ssl;
	g.rx[g.nrx].echo = false;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
	g.nrx++;
}

static const char *fmt_addr(const struct sockaddr_storage *ss)
{
	static char buf[2][ADDR_STRLEN];
	static unsigned n;
	char *b = buf[n++ % 2];

	return addr_format((const struct sockaddr *)ss, true, b, ADDR_STRLEN);
}

/* ------------------------------------------------------------------ */
/* Sending. */

static void tx_flush(void)
{
	unsigned done = 0, refused = 0;

	/* Each pass sends at least one datagram or stops. */
	while (done < g.txn) {
		int r = sendmmsg(g.txfd, g.txm + done, g.txn - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* An ICMP error from an earlier datagram, reported
			 * once; the next try goes out. */
			if (errno == ECONNREFUSED && refused++ == 0) {
				g.refused++;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				g.eagain++;
			else
				g.send_err++;
			g.last_errno = errno;
			break;
		}
		for (unsigned i = done; i < done + (unsigned)r; i++)
			g.st[g.txwho[i]].sent++;
		g.sent += (unsigned)r;
		done += (unsigned)r;
	}
	g.txn = 0;
}

static void tx_add(unsigned who, unsigned slot)
{
	struct stream *s = &g.st[who];
	struct msghdr *h;

	if (g.txn && (g.txfd != s->fd || g.txn == MAX_BATCH))
		tx_flush();
	g.txfd = s->fd;
	h = &g.txm[g.txn].msg_hdr;
	memset(h, 0, sizeof(*h));
	if (s->dstlen) {
		h->msg_name = &s->dst;
		h->msg_namelen = s->dstlen;
	}
	h->msg_iov = &g.iov[slot];
	h->msg_iovlen = 1;
	if (g.echo_pkt) {
		/* The send time, after the ChannelData header. */
		uint64_t ns = mono_ns();
		memcpy(g.echo_pkt[slot] + TURN_CHANNELDATA_HDR, &ns, sizeof(ns));
	}
	g.txwho[g.txn++] = who;
}

/* TCP: queues n more frames and writes what the socket takes. */
static void tcp_push(struct stream *s, unsigned n)
{
	size_t bufsize = g.flen * (MAX_BATCH + 1);
	uint64_t total = (s->queued += n) * g.flen;

	/* The buffer repeats the frame, so any offset into it continues the
	 * stream; two writes at most move a batch. */
	for (int i = 0; i < 2 && s->bytes < total; i++) {
		size_t off = (size_t)(s->bytes % g.flen);
		size_t len = total - s->bytes;
		ssize_t r;

		if (len > bufsize - off)
			len = bufsize - off;
		if (s->ssl) {
			/* Partial writes on: returns what went into records. */
			int w = SSL_write(s->ssl, g.tcpbuf + off, (int)len), e;
			if (w <= 0) {
				e = SSL_get_error(s->ssl, w);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					g.eagain++;
				else {
					g.send_err++;
					g.last_errno = EPROTO;
				}
				break;
			}
			s->bytes += (uint64_t)w;
			continue;
		}
		r = send(s->fd, g.tcpbuf + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				g.eagain++;
			else if (errno != EINTR) {
				g.send_err++;
				g.last_errno = errno;
			}
			break;
		}
		s->bytes += (uint64_t)r;
	}
	uint64_t frames = s->bytes / g.flen;
	g.sent += frames - s->sent;
	s->sent = frames;
}

/* Frames a TCP stream has queued but not written. */
static uint64_t tcp_backlog(const struct stream *s)
{
	return s->queued - s->sent;
}

/*
 * One pass over the streams: each sends what its pace allows (at most a
 * batch), within budget packets in all. Returns the packets handed over.
 */
static uint64_t send_round(double elapsed_ms, uint64_t budget)
{
	uint64_t before = g.sent, given = 0;
	unsigned n = g.nst, i = g.cursor;

	for (unsigned k = 0; k < n && given < budget; k++, i = (i + 1) % n) {
		struct stream *s = &g.st[i];
		uint64_t done = s->tcp ? s->queued : s->sent, due = opt.batch;

		if (opt.rate > 0) {
			uint64_t target = (uint64_t)(elapsed_ms / 1000.0 * opt.rate + s->phase);
			due = target > done ? target - done : 0;
			if (due > opt.batch)
				due = opt.batch;
		}
		if (due > budget - given)
			due = budget - given;
		if (s->tcp) {
			/* Backpressure: no more than a batch waits in our
			 * hands; the kernel's buffer holds the rest. */
			if (tcp_backlog(s) >= opt.batch)
				due = 0;
			if (due || tcp_backlog(s))
				tcp_push(s, (unsigned)due);
		} else {
			for (uint64_t j = 0; j < due; j++)
				tx_add(i, (unsigned)((s->sent + j) % MAX_BATCH));
		}
		given += due;
	}
	g.cursor = i;
	if (g.txn)
		tx_flush();
	return g.sent - before;
}

/* ------------------------------------------------------------------ */
/* Receiving. */

static void count_datagram(const uint8_t *p, size_t len)
{
	bool ok;

	if (opt.mode == MODE_BINDING)
		ok = len >= STUN_HEADER_LEN && p[0] == 0x01 && p[1] == 0x01; /* success */
	else if (opt.reverse || opt.echo)
		ok = len >= 4 + opt.size && len <= 4 + opt.size + 3 && p[0] == (CHANNEL >> 8) &&
		     p[1] == (CHANNEL & 0xff);
	else
		ok = len == opt.size;
	if (ok) {
		g.good++;
		g.bytes += len;
		if (opt.echo) {
			uint64_t ns, us;
			memcpy(&ns, p + TURN_CHANNELDATA_HDR, sizeof(ns));
			us = (mono_ns() - ns) / 1000;
			if (us < RTT_MAX_US)
				g.rtt_us[us]++;
			else
				g.rtt_over++;
			g.rtt_n++;
		}
	} else {
		g.bad++;
	}
}

/* TLS: what the socket holds, decrypted record by record (one read takes
 * one record, so nothing stays buffered in OpenSSL past the last). */
static void rx_drain_tls(struct rxsock *r)
{
	for (int round = 0; round < RX_ROUNDS * 8; round++) {
		int n = SSL_read(r->ssl, g.tcprx, (int)sizeof(g.tcprx)), e;

		if (n > 0) {
			g.tcp_bytes += (uint64_t)n;
			continue;
		}
		e = SSL_get_error(r->ssl, n);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			r->closed = true;
			epoll_ctl(g.ep, EPOLL_CTL_DEL, r->fd, NULL);
			g.send_err++;
		}
		return;
	}
}

static void rx_drain(struct rxsock *r)
{
	if (r->ssl) {
		rx_drain_tls(r);
		return;
	}
	for (int round = 0; round < RX_ROUNDS; round++) {
		if (r->tcp) {
			ssize_t n = recv(r->fd, g.tcprx, sizeof(g.tcprx), MSG_DONTWAIT);
			if (n > 0) {
				g.tcp_bytes += (uint64_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				r->closed = true;
				epoll_ctl(g.ep, EPOLL_CTL_DEL, r->fd, NULL);
				g.send_err++;
			}
			return;
		}
		for (int i = 0; i < RX_BATCH; i++) {
			g.rxm[i].msg_hdr.msg_name = r->echo ? &g.rxname[i] : NULL;
			g.rxm[i].msg_hdr.msg_namelen = r->echo ? sizeof(g.rxname[i]) : 0;
		}
		int n = recvmmsg(r->fd, g.rxm, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno == ECONNREFUSED)
				g.refused++;
			return;
		}
		if (r->echo) {
			/* Back where each came from, as it came. */
			for (int i = 0; i < n; i++)
				g.rxiov[i].iov_len = g.rxm[i].msg_len;
			for (int done = 0, k; done < n; done += k)
				if ((k = sendmmsg(r->fd, g.rxm + done, (unsigned)(n - done),
						  MSG_DONTWAIT)) <= 0) {
					g.send_err++;
					break;
				}
			for (int i = 0; i < n; i++)
				g.rxiov[i].iov_len = sizeof(g.rxbuf[i]);
			if (n < RX_BATCH)
				return;
			continue;
		}
		for (int i = 0; i < n; i++)
			count_datagram(g.rxbuf[i], g.rxm[i].msg_len);
		if (n < RX_BATCH)
			return;
	}
}

/* Packets received: datagrams, plus whole frames from TCP streams (all
 * frames have one length and nothing else arrives during the run). */
static uint64_t received(void)
{
	return g.good + (g.flen ? g.tcp_bytes / g.flen : 0);
}

static void rx_poll(int timeout_ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(g.ep, ev, 64, timeout_ms);

	for (int i = 0; i < n; i++)
		rx_drain(&g.rx[ev[i].data.u32]);
}

/* ------------------------------------------------------------------ */
/* Setup. */

static void templates(void)
{
	size_t flen = TURN_CHANNELDATA_HDR + opt.size;

	for (unsigned i = 0; i < RX_BATCH; i++) {
		g.rxiov[i].iov_base = g.rxbuf[i];
		g.rxiov[i].iov_len = sizeof(g.rxbuf[i]);
		g.rxm[i].msg_hdr.msg_iov = &g.rxiov[i];
		g.rxm[i].msg_hdr.msg_iovlen = 1;
	}
	if (opt.mode == MODE_BINDING) {
		for (unsigned i = 0; i < MAX_BATCH; i++) {
			struct stun_builder b;
			uint8_t txn[16];
			size_t len;

			if (stun_txn_new(txn) != 0)
				die("no random bytes");
			stun_build_init(&b, g.req[i], sizeof(g.req[i]), STUN_BINDING, STUN_REQUEST,
					txn);
			if (stun_build_finish(&b, &len) != 0)
				die("cannot build a Binding request");
			g.iov[i].iov_base = g.req[i];
			g.iov[i].iov_len = len;
		}
		return;
	}
	/* ChannelData (RFC 8656 §12.4) for the client side; the raw payload
	 * for the peer. Over TCP each frame is padded to 4 (§12.5). */
	if (!(g.pkt = calloc(1, flen + 4)))
		die("out of memory");
	turn_chandata_header(g.pkt, CHANNEL, (uint16_t)opt.size);
	for (unsigned i = 0; i < opt.size; i++)
		g.pkt[TURN_CHANNELDATA_HDR + i] = (uint8_t)(i * 7 + 1);
	if (opt.reverse) {
		for (unsigned i = 0; i < MAX_BATCH; i++) {
			g.iov[i].iov_base = g.pkt + TURN_CHANNELDATA_HDR;
			g.iov[i].iov_len = opt.size;
		}
	} else if (opt.echo) {
		if (!(g.echo_pkt = calloc(MAX_BATCH, sizeof(*g.echo_pkt))) ||
		    !(g.rtt_us = calloc(RTT_MAX_US, sizeof(*g.rtt_us))))
			die("out of memory");
		for (unsigned i = 0; i < MAX_BATCH; i++) {
			memcpy(g.echo_pkt[i], g.pkt, flen);
			g.iov[i].iov_base = g.echo_pkt[i];
			g.iov[i].iov_len = flen;
		}
	} else {
		for (unsigned i = 0; i < MAX_BATCH; i++) {
			g.iov[i].iov_base = g.pkt;
			g.iov[i].iov_len = flen;
		}
	}
	if (opt.tcp) {
		g.flen = (flen + 3) & ~(size_t)3;
		if (!(g.tcpbuf = calloc(MAX_BATCH + 1, g.flen)))
			die("out of memory");
		for (unsigned i = 0; i <= MAX_BATCH; i++)
			memcpy(g.tcpbuf + i * g.flen, g.pkt, flen);
	}
}

static void setup_binding(void)
{
	for (unsigned i = 0; i < opt.clients; i++) {
		int fd = socket(opt.server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, SA(&opt.server), addr_len(SA(&opt.server))) != 0)
			die("socket to %s: %s", fmt_addr(&opt.server), strerror(errno));
		set_nonblock(fd, true);
		set_bufs(fd);
		g.st[i].fd = fd;
		g.st[i].phase = 1.0 - (double)i / opt.clients;
		rx_add(fd, false, NULL);
	}
	g.nst = opt.clients;
}

/* The sink (forward) or source (reverse) peer: a UDP socket on the peer IP
 * at a port the kernel picks. */
static int open_peer(struct sockaddr_storage *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(opt.peer_ip.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*addr = opt.peer_ip;
	addr_set_port(SA(addr), 0);
	if (fd < 0 || bind(fd, SA(addr), addr_len(SA(addr))) != 0 ||
	    getsockname(fd, SA(addr), &len) != 0)
		die("peer socket on %s: %s", fmt_addr(&opt.peer_ip), strerror(errno));
	set_nonblock(fd, true);
	set_bufs(fd);
	return fd;
}

/* Opens a client and allocates: 0 with *out, or -1 with err filled (*out
 * may still need freeing). A 437 means the kernel gave us the port of an
 * allocation the server has not yet removed (coturn removes released ones
 * within a second): a new socket, a new port, up to 3 tries. */
static int allocate_one(struct client_turn **out, struct client_turn_result *res, char *err,
			size_t errcap)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = client_turn_open(out, SA(&opt.server), opt.tcp, TXN_TIMEOUT_MS);

		if (rc == 0 && opt.tls)
			rc = client_turn_start_tls(*out, g.tls, NULL);
		if (rc != 0) {
			snprintf(err, errcap, "connect%s: %s", opt.tls ? " (TLS)" : "",
				 tp_strerror(rc));
			return -1;
		}
		if (client_turn_set_user(*out, opt.user, opt.password) != 0) {
			snprintf(err, errcap, "bad credentials");
			return -1;
		}
		rc = client_turn_allocate(*out, NULL, res);
		if (rc == 0 && res->error_code == 0 && res->relayed.ss_family != AF_UNSPEC)
			return 0;
		snprintf(err, errcap, "allocate: %s %d", rc ? tp_strerror(rc) : "error",
			 res->error_code);
		if (rc != 0 || res->error_code != STUN_ERR_ALLOCATION_MISMATCH)
			return -1;
		client_turn_free(*out);
		*out = NULL;
	}
	return -1;
}

/* Allocations, each with a channel to the peer. Returns how many were made;
 * *err describes the first failure. */
static unsigned setup_relay(struct client_turn **cl, const struct sockaddr_storage *peer,
			    int peerfd, char *err, size_t errcap)
{
	double start = now_ms();
	unsigned i;

	for (i = 0; i < opt.allocs; i++) {
		struct client_turn_result res;
		struct sockaddr_storage relayed;
		struct client_turn *c;
		int rc;

		if (now_ms() - start > SETUP_BUDGET_MS) {
			snprintf(err, errcap, "setup took over %.0f s", SETUP_BUDGET_MS / 1000);
			break;
		}
		rc = allocate_one(&c, &res, err, errcap);
		cl[i] = c;
		if (rc != 0)
			break;
		if (!is_loopback(SA(&res.relayed))) {
			snprintf(err, errcap, "relayed address %s is not loopback",
				 fmt_addr(&res.relayed));
			break;
		}
		relayed = res.relayed;
		rc = client_turn_channel_bind(c, CHANNEL, SA(peer), &res);
		if (rc != 0 || res.error_code != 0) {
			snprintf(err, errcap, "channel bind %u: %s %d", i,
				 rc ? tp_strerror(rc) : "error", res.error_code);
			break;
		}
		int fd = client_turn_fd(c);
		set_nonblock(fd, true);
		set_bufs(fd);
		struct stream *s = &g.st[i];
		s->phase = 1.0 - (double)i / opt.allocs;
		if (opt.reverse) {
			s->fd = peerfd;
			s->dst = relayed;
			s->dstlen = addr_len(SA(&relayed));
			rx_add(fd, opt.tcp, client_turn_ssl(c));
		} else {
			s->fd = fd;
			s->tcp = opt.tcp;
			s->ssl = client_turn_ssl(c);
		}
		if (client_turn_ssl(c))
			SSL_set_mode(client_turn_ssl(c),
				     SSL_MODE_ENABLE_PARTIAL_WRITE |
					     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		g.nst = i + 1;
	}
	return i;
}

/* The mass setup's configuration (UDP relay and alloc modes). */
static struct mass_cfg mass_cfg(const struct sockaddr_storage *peer)
{
	struct mass_cfg c = {
		.server = &opt.server,
		.peer = peer,
		.user = opt.user,
		.password = opt.password,
		.window = opt.setup_window,
		.budget_ms = SETUP_BUDGET_MS,
		.fwd = opt.fwd,
	};
	return c;
}

/* UDP: allocations (or turnpike-fwd relays) with a channel each, many at a
 * time; the streams and receivers over them. Returns how many were made. */
static unsigned setup_relay_udp(struct mass_alloc *ma, const struct sockaddr_storage *peer,
				int peerfd, char *err, size_t errcap)
{
	struct mass_cfg c = mass_cfg(peer);
	unsigned made = mass_setup(&c, ma, opt.allocs, err, errcap);

	if (made < opt.allocs)
		return made;
	for (unsigned i = 0; i < made; i++) {
		struct stream *s = &g.st[i];

		if (!is_loopback(SA(&ma[i].relayed))) {
			snprintf(err, errcap, "relayed address %s is not loopback",
				 fmt_addr(&ma[i].relayed));
			return i;
		}
		set_bufs(ma[i].fd);
		s->phase = 1.0 - (double)i / opt.allocs;
		if (opt.reverse) {
			s->fd = peerfd;
			s->dst = ma[i].relayed;
			s->dstlen = addr_len(SA(&ma[i].relayed));
		} else {
			s->fd = ma[i].fd;
		}
		if (opt.reverse || opt.echo)
			rx_add(ma[i].fd, false, NULL);
	}
	g.nst = made;
	return made;
}

static void release(struct client_turn **cl, unsigned n)
{
	double start = now_ms();

	for (unsigned i = 0; i < n; i++) {
		if (!cl[i])
			continue;
		set_nonblock(client_turn_fd(cl[i]), false);
		/* One short Refresh 0 each, while the budget lasts. */
		if (now_ms() - start > RELEASE_BUDGET_MS)
			client_turn_set_flags(cl[i], CLIENT_TURN_NO_RELEASE);
		client_turn_free(cl[i]);
	}
}

/* ------------------------------------------------------------------ */
/* The run. */

struct figures {
	double ms;         /* sending time */
	double server_cpu; /* seconds, < 0 unknown */
	double gen_cpu;
	double other_cpu; /* everything else the machine ran, < 0 unknown */
	uint64_t sent, recv;
};

static void run(struct figures *f)
{
	double t0, t, end, last_progress, drain_start;
	double cpu0 = -1, gen0 = self_cpu(), all0 = all_cpu();
	uint64_t last_recv = 0;

	if (opt.server_pid > 0)
		cpu0 = proc_cpu(opt.server_pid);
	t0 = now_ms();
	end = t0 + opt.duration * 1000.0;
	last_progress = t0;
	/* Bounded by the clock and by --count. */
	for (;;) {
		uint64_t budget, rcv, sent;

		t = now_ms();
		if (t >= end || g.sent >= opt.count)
			break;
		rcv = received();
		if (rcv != last_recv) {
			last_recv = rcv;
			last_progress = t;
		}
		budget = opt.count - g.sent;
		if (opt.rate <= 0 && opt.window) {
			int64_t inflight = (int64_t)(g.sent - rcv - g.written_off);
			if (inflight >= (int64_t)opt.window && t - last_progress > STALL_MS) {
				/* Lost in the server or its sockets: stop
				 * waiting for them. */
				g.written_off += (uint64_t)inflight;
				g.stalls++;
				last_progress = t;
				inflight = 0;
			}
			if (inflight < 0)
				inflight = 0;
			uint64_t room = opt.window > inflight ? opt.window - (uint64_t)inflight : 0;
			if (room < budget)
				budget = room;
		}
		sent = budget ? send_round(t - t0, budget) : 0;
		rx_poll(sent ? 0 : 1);
	}
	f->ms = now_ms() - t0;
	/* Stragglers: until QUIET_MS of silence, DRAIN_MS at most. */
	drain_start = last_progress = now_ms();
	last_recv = received();
	while ((t = now_ms()) - drain_start < DRAIN_MS && t - last_progress < QUIET_MS) {
		rx_poll(5);
		if (received() != last_recv) {
			last_recv = received();
			last_progress = now_ms();
		}
	}
	f->server_cpu = cpu0 >= 0 ? proc_cpu(opt.server_pid) - cpu0 : -1;
	if (cpu0 >= 0 && f->server_cpu < 0)
		f->server_cpu = -1; /* the server went away */
	f->gen_cpu = self_cpu() - gen0;
	/* Other load on the machine skews a run: other processes take the
	 * CPUs from the server and the generator. */
	f->other_cpu = -1;
	if (all0 >= 0 && f->server_cpu >= 0) {
		f->other_cpu = all_cpu() - all0 - f->server_cpu - f->gen_cpu;
		if (f->other_cpu < 0)
			f->other_cpu = 0;
	}
	f->sent = g.sent;
	f->recv = received();
}

/* The value under which a share q of the round trips fell, in us. */
static double rtt_pct(double q)
{
	uint64_t want = (uint64_t)(q * (double)g.rtt_n), seen = 0;

	if (g.rtt_n == 0)
		return -1;
	for (uint32_t us = 0; us < RTT_MAX_US; us++)
		if ((seen += g.rtt_us[us]) > want)
			return us;
	return RTT_MAX_US;
}

/* alloc: opt.allocs allocations with a channel each, on a server that
 * holds none (for the memory figure); prints the result line. */
static int run_alloc(struct mass_alloc *ma, const struct sockaddr_storage *peer)
{
	struct mass_cfg c = mass_cfg(peer);
	double cpu0 = -1, cpu, t0, setup_ms, end, gen0 = self_cpu(), all0 = all_cpu(), gen, other;
	long rss0 = -1, rss = -1;
	char err[256] = "";
	unsigned made;

	if (opt.server_pid > 0) {
		cpu0 = proc_cpu(opt.server_pid);
		rss0 = proc_rss_kb(opt.server_pid);
	}
	t0 = now_ms();
	made = mass_setup(&c, ma, opt.allocs, err, sizeof(err));
	setup_ms = now_ms() - t0;
	cpu = cpu0 >= 0 ? proc_cpu(opt.server_pid) - cpu0 : -1;
	gen = self_cpu() - gen0;
	other = all0 >= 0 && cpu >= 0 ? all_cpu() - all0 - cpu - gen : -1;
	if (cpu >= 0 && other < 0)
		other = 0;
	if (made < opt.allocs) {
		fprintf(stderr, "turnpike-bench: setup failed after %u allocations: %s\n", made,
			err);
		return 2;
	}
	/* Let the server finish what it does after answering, then read
	 * its memory; hold as long as asked (bounded by --duration's cap). */
	end = now_ms() + SETTLE_MS + opt.hold * 1000.0;
	while (now_ms() < end)
		usleep(20000);
	if (opt.server_pid > 0)
		rss = proc_rss_kb(opt.server_pid);
	if (!opt.quiet) {
		printf("# alloc: %u allocations with a permission and a channel each, %u in "
		       "flight, in %.0f ms (%.0f/s)\n",
		       made, opt.setup_window, setup_ms, made / (setup_ms / 1000.0));
		if (cpu > 0)
			printf("# server CPU %.2f s: %.0f allocations per CPU-second\n", cpu,
			       made / cpu);
		if (rss0 >= 0 && rss >= 0)
			printf("# server memory %ld kB before, %ld kB after: %.0f bytes per "
			       "allocation\n",
			       rss0, rss, (double)(rss - rss0) * 1024.0 / made);
	}
	printf("result mode=alloc transport=udp dir=- streams=%u duration=%.3f setup_ms=%.0f "
	       "pps=%.0f server_cpu=%.3f pps_per_cpu=%.0f gen_cpu=%.3f other_cpu=%.3f "
	       "rss_kb_before=%ld rss_kb_after=%ld bytes_per_alloc=%.0f errors=0\n",
	       made, setup_ms / 1000.0, setup_ms, made / (setup_ms / 1000.0), cpu,
	       cpu > 0 ? made / cpu : -1, gen, other, rss0, rss,
	       rss0 >= 0 && rss >= 0 ? (double)(rss - rss0) * 1024.0 / made : -1);
	fflush(stdout);
	return 0;
}

static void report(const struct figures *f, double setup_ms, const struct sockaddr_storage *peer)
{
	const char *tr = opt.tls ? "tls" : opt.tcp ? "tcp" : "udp";
	const char *dir = opt.mode == MODE_BINDING ? "-"
			  : opt.reverse            ? "reverse"
			  : opt.echo               ? "echo"
						   : "forward";
	double s = f->ms / 1000.0;
	uint64_t lost = f->sent > f->recv ? f->sent - f->recv : 0;
	double loss = f->sent ? 100.0 * (double)lost / (double)f->sent : 0;
	double pps = (double)f->recv / s, per_cpu = -1;
	unsigned streams = opt.mode == MODE_BINDING ? opt.clients : opt.allocs;
	char pace[64];

	if (opt.rate > 0)
		snprintf(pace, sizeof(pace), "%g/s per stream (%g/s in all)", opt.rate,
			 opt.rate * streams);
	else if (opt.window)
		snprintf(pace, sizeof(pace), "flat out, window %u", opt.window);
	else
		snprintf(pace, sizeof(pace), "flat out, no window");
	if (f->server_cpu > 0)
		per_cpu = (double)f->recv / f->server_cpu;

	if (!opt.quiet) {
		if (opt.mode == MODE_BINDING) {
			printf("# binding: %u sockets to %s, %s, %.2f s\n", opt.clients,
			       fmt_addr(&opt.server), pace, s);
			printf("# sent %llu requests (%.0f/s), %llu answered (%.0f/s), "
			       "%llu unanswered (%.2f%%), %llu not a success\n",
			       (unsigned long long)f->sent, (double)f->sent / s,
			       (unsigned long long)f->recv, pps, (unsigned long long)lost, loss,
			       (unsigned long long)g.bad);
		} else {
			printf("# relay %s: %u %s allocations to %s, peer %s, %u-byte payloads, "
			       "%s, %.2f s\n",
			       dir, opt.allocs,
			       opt.tls   ? "TLS"
			       : opt.tcp ? "TCP"
					 : "UDP",
			       fmt_addr(&opt.server), fmt_addr(peer), opt.size, pace, s);
			printf("# setup: %u allocations with a channel each in %.0f ms\n",
			       opt.allocs, setup_ms);
			printf("# sent %llu (%.0f/s), delivered %llu (%.0f/s, %.1f Mbit/s of "
			       "payload), lost %llu (%.2f%%), malformed %llu\n",
			       (unsigned long long)f->sent, (double)f->sent / s,
			       (unsigned long long)f->recv, pps, pps * opt.size * 8 / 1e6,
			       (unsigned long long)lost, loss, (unsigned long long)g.bad);
		}
		if (f->server_cpu >= 0)
			printf("# server CPU %.2f s (%.0f%% of one core): %.0f packets per "
			       "CPU-second\n",
			       f->server_cpu, 100 * f->server_cpu / s, per_cpu);
		printf("# generator CPU %.2f s (%.0f%% of one core)%s\n", f->gen_cpu,
		       100 * f->gen_cpu / s,
		       f->gen_cpu / s > 0.9 ? ": the generator may be the bottleneck" : "");
		if (f->other_cpu >= 0)
			printf("# other load on the machine: %.2f CPU-seconds (%.0f%% of a "
			       "core)%s\n",
			       f->other_cpu, 100 * f->other_cpu / s,
			       f->other_cpu / s > 0.1 ? ": figures are skewed" : "");
		if (opt.rate > 0 && (double)f->sent < 0.95 * opt.rate * streams * s)
			printf("# the generator fell behind the asked rate\n");
		if (opt.echo && g.rtt_n)
			printf("# round trips client-peer-client: p50 %.0f us, p99 %.0f us, "
			       "p99.9 %.0f us, %llu over %d ms\n",
			       rtt_pct(0.5), rtt_pct(0.99), rtt_pct(0.999),
			       (unsigned long long)g.rtt_over, RTT_MAX_US / 1000);
		if (g.stalls || g.send_err || g.refused || g.eagain)
			printf("# window stalls %llu (%llu written off), send errors %llu (last: "
			       "%s), refused %llu, full buffers %llu\n",
			       (unsigned long long)g.stalls, (unsigned long long)g.written_off,
			       (unsigned long long)g.send_err,
			       g.last_errno ? strerror(g.last_errno) : "-",
			       (unsigned long long)g.refused, (unsigned long long)g.eagain);
	}
	/* One line for scripts. */
	printf("result mode=%s transport=%s dir=%s streams=%u size=%u rate=%g window=%u "
	       "duration=%.3f setup_ms=%.0f sent=%llu received=%llu pps=%.0f loss_pct=%.3f "
	       "server_cpu=%.3f pps_per_cpu=%.0f gen_cpu=%.3f other_cpu=%.3f stalls=%llu "
	       "errors=%llu rtt_p50_us=%.0f rtt_p99_us=%.0f\n",
	       opt.mode == MODE_BINDING ? "binding" : "relay", tr, dir, streams,
	       opt.mode == MODE_BINDING ? 0 : opt.size, opt.rate, opt.rate > 0 ? 0 : opt.window, s,
	       setup_ms, (unsigned long long)f->sent, (unsigned long long)f->recv, pps, loss,
	       f->server_cpu, per_cpu, f->gen_cpu, f->other_cpu, (unsigned long long)g.stalls,
	       (unsigned long long)(g.send_err + g.bad), rtt_pct(0.5), rtt_pct(0.99));
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Options. */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: turnpike-bench binding|relay|alloc [options]\n"
		"       turnpike-bench port\n"
		"\n"
		"  binding   STUN Binding requests from --clients sockets; answers/s\n"
		"  relay     ChannelData through --allocations allocations to a sink peer\n"
		"            of our own; datagrams/s delivered and loss\n"
		"  alloc     --allocations allocations with a channel each on an idle\n"
		"            server: allocations per server CPU-second, and the server's\n"
		"            memory per allocation\n"
		"  port      print a loopback port free for UDP and TCP\n"
		"\n"
		"  -s, --server=IP[:PORT]  server, loopback only (default 127.0.0.1:3478)\n"
		"  -d, --duration=SECONDS  sending time, 1-%d (default 5)\n"
		"  -c, --clients=K         binding sockets, 1-%d (default 4)\n"
		"  -n, --allocations=N     allocations, 1-%d (TCP %d; default 16)\n"
		"  -l, --size=BYTES        relayed payload, %d-%d (default 200)\n"
		"  -r, --rate=PPS          packets/s per socket or allocation; 0 flat out\n"
		"  -w, --window=N          flat out: most packets in flight (default 512;\n"
		"                          0 sends open loop, without waiting)\n"
		"  -b, --batch=N           datagrams per sendmmsg, 1-%d (default 32)\n"
		"  -C, --count=N           stop after N packets (default %llu)\n"
		"  -t, --tcp               relay: TCP to the server (RFC 8656 §12.5 framing)\n"
		"      --tls               relay: TLS over TCP (turns:; the certificate is\n"
		"                          not checked: loopback only)\n"
		"  -R, --reverse           relay: the peer sends, clients receive\n"
		"  -E, --echo              relay: the peer echoes, clients receive and\n"
		"                          time each round trip (p50, p99)\n"
		"  -F, --fwd               the server is bench/turnpike-fwd, not TURN\n"
		"  -W, --setup-window=N    UDP setups in flight, 1-1024 (default 64)\n"
		"  -H, --hold=SECONDS      alloc: keep them this long, 0-%d (default 0)\n"
		"  -P, --peer-ip=IP        peer address, loopback (default 127.0.0.2)\n"
		"  -u, --user=NAME:PASS    long-term credentials (default alice:secret)\n"
		"  -p, --server-pid=PID    read the server's CPU time from /proc/PID/stat\n"
		"  -q, --quiet             only the 'result' line\n"
		"  -h, --help\n",
		MAX_DURATION, MAX_CLIENTS, MAX_ALLOCS, MAX_TCP_ALLOCS, MIN_SIZE, MAX_SIZE,
		MAX_BATCH, DEFAULT_COUNT, MAX_DURATION);
}

static unsigned long long num(const char *s, const char *what, unsigned long long lo,
			      unsigned long long hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi || *s == '-')
		die("%s: %s is not a number from %llu to %llu", what, s, lo, hi);
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"server", 1, NULL, 's'},     {"duration", 1, NULL, 'd'},
		{"clients", 1, NULL, 'c'},    {"allocations", 1, NULL, 'n'},
		{"size", 1, NULL, 'l'},       {"rate", 1, NULL, 'r'},
		{"window", 1, NULL, 'w'},     {"batch", 1, NULL, 'b'},
		{"count", 1, NULL, 'C'},      {"tcp", 0, NULL, 't'},
		{"tls", 0, NULL, 'S'},        {"reverse", 0, NULL, 'R'},
		{"peer-ip", 1, NULL, 'P'},    {"user", 1, NULL, 'u'},
		{"server-pid", 1, NULL, 'p'}, {"quiet", 0, NULL, 'q'},
		{"help", 0, NULL, 'h'},       {"echo", 0, NULL, 'E'},
		{"fwd", 0, NULL, 'F'},        {"setup-window", 1, NULL, 'W'},
		{"hold", 1, NULL, 'H'},       {NULL, 0, NULL, 0},
	};
	const char *server = "127.0.0.1:3478", *peer = "127.0.0.2";
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "s:d:c:n:l:r:w:b:C:tRP:u:p:qhEFW:H:", lo, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'd':
			opt.duration = (unsigned)num(optarg, "duration", 1, MAX_DURATION);
			break;
		case 'c':
			opt.clients = (unsigned)num(optarg, "clients", 1, MAX_CLIENTS);
			break;
		case 'n':
			opt.allocs = (unsigned)num(optarg, "allocations", 1, MAX_ALLOCS);
			break;
		case 'l':
			opt.size = (unsigned)num(optarg, "size", MIN_SIZE, MAX_SIZE);
			break;
		case 'r':
			errno = 0;
			opt.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.rate >= 0 && opt.rate <= 1e7))
				die("rate: %s is not a number from 0 to 10000000", optarg);
			break;
		case 'w':
			opt.window = (unsigned)num(optarg, "window", 0, 1u << 20);
			break;
		case 'b':
			opt.batch = (unsigned)num(optarg, "batch", 1, MAX_BATCH);
			break;
		case 'C':
			opt.count = num(optarg, "count", 1, DEFAULT_COUNT * 10);
			break;
		case 't':
			opt.tcp = true;
			break;
		case 'S':
			opt.tcp = opt.tls = true;
			break;
		case 'R':
			opt.reverse = true;
			break;
		case 'P':
			peer = optarg;
			break;
		case 'u': {
			char *colon = strchr(optarg, ':');
			size_t pl;
			if (!colon || colon == optarg ||
			    (pl = strlen(colon + 1)) >= sizeof(opt.password))
				die("user: give NAME:PASSWORD");
			memcpy(opt.password, colon + 1, pl + 1);
			*colon = '\0';
			opt.user = optarg;
			break;
		}
		case 'p':
			opt.server_pid = (long)num(optarg, "server-pid", 1, 1u << 30);
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'E':
			opt.echo = true;
			break;
		case 'F':
			opt.fwd = true;
			break;
		case 'W':
			opt.setup_window = (unsigned)num(optarg, "setup-window", 1, 1024);
			break;
		case 'H':
			opt.hold = (unsigned)num(optarg, "hold", 0, MAX_DURATION);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		exit(2);
	}
	if (strcmp(argv[optind], "binding") == 0)
		opt.mode = MODE_BINDING;
	else if (strcmp(argv[optind], "relay") == 0)
		opt.mode = MODE_RELAY;
	else if (strcmp(argv[optind], "alloc") == 0)
		opt.mode = MODE_ALLOC;
	else
		die("unknown mode %s (binding, relay, alloc or port)", argv[optind]);
	if (addr_parse(server, 3478, &opt.server) != 0)
		die("bad server address %s (IP[:PORT], [IPv6]:PORT)", server);
	if (addr_parse(peer, 0, &opt.peer_ip) != 0)
		die("bad peer address %s", peer);
	/* Loopback only: this tool floods what it is aimed at. */
	if (!is_loopback(SA(&opt.server)) || addr_port(SA(&opt.server)) == 0)
		die("server %s: only a loopback address with a port", server);
	if (!is_loopback(SA(&opt.peer_ip)))
		die("peer %s: only a loopback address", peer);
	if (opt.mode != MODE_RELAY && (opt.tcp || opt.reverse || opt.echo))
		die("--tcp, --tls, --reverse and --echo are for relay");
	if (opt.mode == MODE_BINDING && opt.fwd)
		die("--fwd is for relay and alloc");
	if (opt.reverse && opt.echo)
		die("--reverse or --echo, not both");
	if (opt.tcp && (opt.echo || opt.fwd))
		die("--echo and --fwd are UDP only");
	if (opt.tcp && opt.allocs > MAX_TCP_ALLOCS)
		die("allocations: at most %d over TCP", MAX_TCP_ALLOCS);
	if (opt.server_pid > 0 && proc_cpu(opt.server_pid) < 0)
		die("cannot read /proc/%ld/stat", opt.server_pid);
}

/* "port": a loopback port free for UDP and TCP right now (the kernel picks
 * it; we check the other protocol), for scripts that start servers. */
static int free_port(void)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sockaddr_storage a;
		socklen_t len = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok = false;

		addr_parse("127.0.0.1", 0, &a);
		if (u >= 0 && t >= 0 && bind(u, SA(&a), addr_len(SA(&a))) == 0 &&
		    getsockname(u, SA(&a), &len) == 0)
			ok = bind(t, SA(&a), addr_len(SA(&a))) == 0;
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (ok) {
			printf("%u\n", addr_port(SA(&a)));
			return 0;
		}
	}
	fprintf(stderr, "turnpike-bench: no free port\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct client_turn **cl = NULL;
	struct mass_alloc *ma = NULL;
	struct sockaddr_storage peer;
	struct mass_cfg mc;
	struct figures f;
	char err[256] = "";
	double setup_ms = 0, t;
	unsigned made = 0, n;
	int peerfd = -1, rc = 0;

	probe_name = "turnpike-bench";
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return free_port();
	parse(argc, argv);
	memset(&peer, 0, sizeof(peer));
	n = opt.mode == MODE_BINDING ? opt.clients : opt.allocs;
	/* A socket per allocation, the server's and the peer's and some. */
	if (mass_nofile((uint64_t)n + 256) != 0)
		die("cannot raise the open file limit to %u (ulimit -n)", n + 256);
	g.st = calloc(n, sizeof(*g.st));
	g.rx = calloc(n + 1, sizeof(*g.rx));
	cl = calloc(n, sizeof(*cl));
	ma = calloc(n, sizeof(*ma));
	if (!g.st || !g.rx || !cl || !ma || (g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("out of memory");
	for (unsigned i = 0; i < n; i++)
		ma[i].fd = -1;
	/* TURN over TLS: OpenSSL's defaults, no verification (a loopback
	 * server with a throwaway certificate). */
	if (opt.tls) {
		if (!(g.tls = SSL_CTX_new(TLS_client_method())))
			die("TLS: cannot make a context");
		SSL_CTX_set_verify(g.tls, SSL_VERIFY_NONE, NULL);
	}
	templates();
	t = now_ms();
	if (opt.mode == MODE_BINDING) {
		setup_binding();
	} else if (opt.mode == MODE_ALLOC) {
		peerfd = open_peer(&peer);
		rc = run_alloc(ma, &peer);
		goto out;
	} else {
		peerfd = open_peer(&peer);
		if (!opt.reverse) {
			rx_add(peerfd, false, NULL);
			g.rx[g.nrx - 1].echo = opt.echo;
		}
		if (opt.tcp)
			made = setup_relay(cl, &peer, peerfd, err, sizeof(err));
		else
			made = setup_relay_udp(ma, &peer, peerfd, err, sizeof(err));
		if (made < opt.allocs) {
			fprintf(stderr, "turnpike-bench: setup failed after %u allocations: %s\n",
				made, err);
			rc = 2;
			goto out;
		}
	}
	setup_ms = now_ms() - t;
	run(&f);
	report(&f, setup_ms, &peer);
out:
	mc = mass_cfg(&peer);
	if (opt.mode != MODE_BINDING) {
		release(cl, opt.tcp ? opt.allocs : 0);
		mass_release(&mc, ma, opt.tcp ? 0 : opt.allocs);
	}
	if (opt.mode == MODE_BINDING)
		for (unsigned i = 0; i < g.nst; i++)
			close(g.st[i].fd);
	if (peerfd >= 0)
		close(peerfd);
	close(g.ep);
	free(cl);
	free(ma);
	free(g.st);
	free(g.rx);
	free(g.pkt);
	free(g.tcpbuf);
	free(g.echo_pkt);
	free(g.rtt_us);
	if (g.tls)
		SSL_CTX_free(g.tls);
	return rc;
}
