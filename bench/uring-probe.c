/* uring-probe.c - issue 14's io_uring question, measured apart from the
 * server: does one io_uring with multishot receive and a provided-buffer
 * ring drain many UDP sockets (one per allocation, as turnpiked's relay
 * sockets) for less CPU per datagram than turnpiked's way, epoll plus
 * recvmmsg on each ready socket?
 *
 * A sender thread sends datagrams round-robin to N sockets on 127.0.0.1,
 * SEND_BATCH a sendmmsg, paced at a fixed rate (or flat out); the receiver
 * (this thread) drains them three ways in turn, and reports its own CPU
 * time (CLOCK_THREAD_CPUTIME_ID) per datagram, its system calls and the
 * loss:
 *   epoll     turnpiked's way: level-triggered epoll, recvmmsg per socket;
 *   uring     a multishot recvmsg per socket, one io_uring_enter a pass
 *             submitting and waiting (the best io_uring can do);
 *   uring-ev  the same ring, woken through its eventfd in epoll, as it
 *             would be inside turnpiked's libevent loop.
 * Every receiver reads each datagram's first byte, as a server parsing it
 * would. The receiver's CPU includes the kernel's work for it (wake-ups,
 * copies), not the sender's: on loopback a datagram's transmit and enqueue
 * are charged to the sender.
 * Built by make when liburing is there, never installed or run by make
 * check (bench/README.md has the figures).
 *
 *   uring-probe [-n SOCKETS] [-r RATE] [-d SECONDS] [-s BYTES] [-k ROUNDS]
 *               [-c CPU] [-C SENDER_CPU] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 4096
#define BATCH 32   /* turnpiked's UDP_BATCH */
#define SLOT 2048  /* a receive buffer */
#define NBUFS 4096 /* provided buffers (a power of two) */
#define BGID 7     /* their group */
#define SEND_BATCH 16

static struct {
	int n, size, secs, rounds, rx_cpu, tx_cpu;
	long rate;
	int fds[MAX_SOCKS];
	struct sockaddr_in addrs[MAX_SOCKS];
	atomic_long sent;
	double send_until; /* CLOCK_MONOTONIC */
} g = {.n = 16, .size = 200, .secs = 3, .rounds = 3, .rx_cpu = -1, .tx_cpu = -1};

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		fprintf(stderr, "uring-probe: cannot pin to CPU %d\n", cpu);
}

/* Round-robin over the sockets, SEND_BATCH datagrams a sendmmsg, paced on
 * an absolute clock so that a late wake-up is made up, until told to
 * stop. */
static void *sender(void *arg)
{
	static uint8_t payload[SLOT];
	struct mmsghdr m[SEND_BATCH];
	struct iovec iov = {payload, 0};
	struct timespec next;
	double gap = g.rate > 0 ? (double)SEND_BATCH / (double)g.rate : 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), next_sock = 0;
	int sndbuf = 4 << 20;

	(void)arg;
	pin(g.tx_cpu);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(payload, 0xa5, sizeof(payload));
	iov.iov_len = (size_t)g.size;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now_s(CLOCK_MONOTONIC) < g.send_until) {
		int k, sent;

		for (k = 0; k < SEND_BATCH; k++) {
			memset(&m[k], 0, sizeof(m[k]));
			m[k].msg_hdr.msg_iov = &iov;
			m[k].msg_hdr.msg_iovlen = 1;
			m[k].msg_hdr.msg_name = &g.addrs[next_sock];
			m[k].msg_hdr.msg_namelen = sizeof(g.addrs[0]);
			next_sock = (next_sock + 1) % g.n;
		}
		sent = sendmmsg(fd, m, SEND_BATCH, 0);
		if (sent > 0)
			atomic_fetch_add(&g.sent, sent);
		if (gap > 0) {
			long ns = next.tv_nsec + (long)(gap * 1e9);
			next.tv_sec += ns / 1000000000L;
			next.tv_nsec = ns % 1000000000L;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
	}
	close(fd);
	return NULL;
}

struct result {
	long got, syscalls;
	double cpu;
};

static volatile unsigned touch; /* what the receivers read: the reads stay */

/* turnpiked's way: level-triggered epoll, then recvmmsg on each ready
 * socket, BATCH at a time, again while a batch comes back full. */
static void rx_epoll(double until, struct result *r)
{
	static uint8_t bufs[BATCH][SLOT];
	static struct sockaddr_storage names[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct epoll_event ev[64];
	int ep = epoll_create1(0);

	for (int i = 0; i < g.n; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.fd = g.fds[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, g.fds[i], &e);
	}
	while (now_s(CLOCK_MONOTONIC) < until) {
		int ne = epoll_wait(ep, ev, 64, 100);

		r->syscalls++;
		for (int e = 0; e < ne; e++) {
			int n;
			do {
				for (int i = 0; i < BATCH; i++) {
					iov[i].iov_base = bufs[i];
					iov[i].iov_len = SLOT;
					memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
					m[i].msg_hdr.msg_iov = &iov[i];
					m[i].msg_hdr.msg_iovlen = 1;
					m[i].msg_hdr.msg_name = &names[i];
					m[i].msg_hdr.msg_namelen = sizeof(names[i]);
				}
				n = recvmmsg(ev[e].data.fd, m, BATCH, MSG_DONTWAIT, NULL);
				r->syscalls++;
				for (int i = 0; i < n; i++)
					touch += bufs[i][0] + m[i].msg_len;
				if (n > 0)
					r->got += n;
			} while (n == BATCH);
		}
	}
	close(ep);
}

/* io_uring: a multishot recvmsg on every socket, buffers from one ring of
 * provided buffers, handed back as soon as a completion is read. */
struct uring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	struct msghdr tmpl;
	uint8_t *bufs;
	size_t brsz;
	int mask, efd;
};

static void arm(struct uring *u, int sock)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	io_uring_prep_recvmsg_multishot(sqe, g.fds[sock], &u->tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, (unsigned long long)sock);
}

static void uring_open(struct uring *u, bool with_eventfd)
{
	struct io_uring_params p;
	struct io_uring_buf_reg reg;
	int rc;

	memset(u, 0, sizeof(*u));
	u->brsz = NBUFS * sizeof(struct io_uring_buf);
	u->mask = io_uring_buf_ring_mask(NBUFS);
	u->efd = -1;
	memset(&p, 0, sizeof(p));
	/* Completions are posted when this thread enters the kernel (it
	 * never sleeps elsewhere, but under epoll it does: then the kernel
	 * posts them itself, without interrupting us). */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
		  (with_eventfd ? IORING_SETUP_COOP_TASKRUN : IORING_SETUP_DEFER_TASKRUN);
	p.cq_entries = 8192;
	if ((rc = io_uring_queue_init_params(1024, &u->ring, &p)) < 0) {
		fprintf(stderr, "uring-probe: io_uring_queue_init: %s\n", strerror(-rc));
		exit(1);
	}
	u->br = mmap(NULL, u->brsz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	u->bufs = malloc((size_t)NBUFS * SLOT);
	if (u->br == MAP_FAILED || !u->bufs) {
		fprintf(stderr, "uring-probe: out of memory\n");
		exit(1);
	}
	io_uring_buf_ring_init(u->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)u->br;
	reg.ring_entries = NBUFS;
	reg.bgid = BGID;
	if ((rc = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0) {
		fprintf(stderr, "uring-probe: io_uring_register_buf_ring: %s\n", strerror(-rc));
		exit(1);
	}
	for (int i = 0; i < NBUFS; i++)
		io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * SLOT, SLOT, (unsigned short)i,
				      u->mask, i);
	io_uring_buf_ring_advance(u->br, NBUFS);
	if (with_eventfd) {
		u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (u->efd < 0 || io_uring_register_eventfd(&u->ring, u->efd) < 0) {
			fprintf(stderr, "uring-probe: eventfd\n");
			exit(1);
		}
	}
	/* Every completion's buffer starts with the name, then the payload
	 * (io_uring_recvmsg_out). */
	u->tmpl.msg_namelen = sizeof(struct sockaddr_storage);
	for (int i = 0; i < g.n; i++)
		arm(u, i);
	io_uring_submit(&u->ring);
}

static void uring_close(struct uring *u)
{
	if (u->efd >= 0)
		close(u->efd);
	io_uring_queue_exit(&u->ring);
	munmap(u->br, u->brsz);
	free(u->bufs);
}

/* Reads the completions there are; returns how many. */
static unsigned reap(struct uring *u, struct result *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, returned = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		int sock = (int)io_uring_cqe_get_data64(cqe);

		seen++;
		if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			uint8_t *b = u->bufs + (size_t)bid * SLOT;
			struct io_uring_recvmsg_out *o =
				io_uring_recvmsg_validate(b, cqe->res, &u->tmpl);

			if (o) {
				const uint8_t *pl = io_uring_recvmsg_payload(o, &u->tmpl);
				touch += pl[0] +
					 io_uring_recvmsg_payload_length(o, cqe->res, &u->tmpl);
				r->got++;
			}
			io_uring_buf_ring_add(u->br, b, SLOT, (unsigned short)bid, u->mask,
					      (int)returned++);
		}
		if (!(cqe->flags & IORING_CQE_F_MORE))
			arm(u, sock); /* ended (out of buffers: -ENOBUFS): again */
	}
	io_uring_buf_ring_advance(u->br, (int)returned);
	io_uring_cq_advance(&u->ring, seen);
	return seen;
}

/* One io_uring_enter a pass both submits the re-arms and waits. */
static void rx_uring(double until, struct result *r)
{
	struct uring u;

	uring_open(&u, false);
	while (now_s(CLOCK_MONOTONIC) < until) {
		struct __kernel_timespec ts = {0, 100 * 1000 * 1000};
		struct io_uring_cqe *first;
		int rc = io_uring_submit_and_wait_timeout(&u.ring, &first, 1, &ts, NULL);

		r->syscalls++;
		if (rc < 0 && rc != -ETIME && rc != -EINTR) {
			fprintf(stderr, "uring-probe: io_uring wait: %s\n", strerror(-rc));
			exit(1);
		}
		reap(&u, r);
	}
	uring_close(&u);
}

/* As a libevent loop would use it: the ring's eventfd in epoll, and on
 * its wake-up a read of the eventfd, the completions, and a submit only
 * when a multishot needs arming again. */
static void rx_uring_ev(double until, struct result *r)
{
	struct uring u;
	struct epoll_event ev, out[8];
	int ep = epoll_create1(0);
	uint64_t v;

	uring_open(&u, true);
	ev.events = EPOLLIN;
	ev.data.fd = u.efd;
	epoll_ctl(ep, EPOLL_CTL_ADD, u.efd, &ev);
	while (now_s(CLOCK_MONOTONIC) < until) {
		int ne = epoll_wait(ep, out, 8, 100);

		r->syscalls++;
		if (ne <= 0)
			continue;
		if (read(u.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		r->syscalls++;
		reap(&u, r);
		if (io_uring_sq_ready(&u.ring)) {
			io_uring_submit(&u.ring);
			r->syscalls++;
		}
	}
	close(ep);
	uring_close(&u);
}

/* Drops what a round left in the sockets. */
static void drain(void)
{
	uint8_t b[SLOT];

	for (int i = 0; i < g.n; i++)
		while (recv(g.fds[i], b, sizeof(b), MSG_DONTWAIT) > 0)
			;
}

static void run(const char *name, void (*rx)(double, struct result *), struct result *r)
{
	pthread_t t;
	double c0;
	long sent;

	drain();
	memset(r, 0, sizeof(*r));
	atomic_store(&g.sent, 0);
	c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	g.send_until = now_s(CLOCK_MONOTONIC) + g.secs;
	if (pthread_create(&t, NULL, sender, NULL) != 0) {
		fprintf(stderr, "uring-probe: cannot start the sender\n");
		exit(1);
	}
	/* The receiver reads 100 ms past the sender's end, for what is still
	 * in flight. */
	rx(g.send_until + 0.1, r);
	pthread_join(t, NULL);
	r->cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	sent = atomic_load(&g.sent);
	printf("%-8s %4d socks %7ld/s sent %8ld got %8ld loss %5.2f%%  cpu %6.3f s  %5.0f ns/dgram"
	       "  %8.0f dgram/cpu-s  %5.3f syscalls/dgram\n",
	       name, g.n, g.rate, sent, r->got,
	       sent ? 100.0 * (double)(sent - r->got) / (double)sent : 0.0, r->cpu,
	       r->got ? r->cpu * 1e9 / (double)r->got : 0.0,
	       r->cpu > 0 ? (double)r->got / r->cpu : 0,
	       r->got ? (double)r->syscalls / (double)r->got : 0.0);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double e_ns[64], u_ns[64], v_ns[64];
	int c, rcvbuf = 8 << 20;

	while ((c = getopt(argc, argv, "n:r:d:s:k:c:C:h")) != -1) {
		switch (c) {
		case 'n':
			g.n = atoi(optarg);
			break;
		case 'r':
			g.rate = atol(optarg);
			break;
		case 'd':
			g.secs = atoi(optarg);
			break;
		case 's':
			g.size = atoi(optarg);
			break;
		case 'k':
			g.rounds = atoi(optarg);
			break;
		case 'c':
			g.rx_cpu = atoi(optarg);
			break;
		case 'C':
			g.tx_cpu = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: uring-probe [-n SOCKETS] [-r RATE/s, 0 flat out] "
				"[-d SECONDS] [-s BYTES] [-k ROUNDS] [-c CPU] [-C SENDER_CPU]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (g.n < 1 || g.n > MAX_SOCKS || g.size < 1 || g.size > SLOT - 256 || g.secs < 1 ||
	    g.secs > 60 || g.rounds < 1 || g.rounds > 64 || g.rate < 0) {
		fprintf(stderr, "uring-probe: -n 1..%d, -s 1..%d, -d 1..60, -k 1..64, -r >= 0\n",
			MAX_SOCKS, SLOT - 256);
		return 2;
	}
	pin(g.rx_cpu);
	for (int i = 0; i < g.n; i++) {
		socklen_t len = sizeof(g.addrs[i]);

		g.fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		memset(&g.addrs[i], 0, sizeof(g.addrs[i]));
		g.addrs[i].sin_family = AF_INET;
		g.addrs[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (g.fds[i] < 0 || bind(g.fds[i], (struct sockaddr *)&g.addrs[i], len) != 0 ||
		    getsockname(g.fds[i], (struct sockaddr *)&g.addrs[i], &len) != 0) {
			perror("uring-probe: socket");
			return 1;
		}
		setsockopt(g.fds[i], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	for (int k = 0; k < g.rounds; k++) {
		struct result e, u, v;

		run("epoll", rx_epoll, &e);
		run("uring", rx_uring, &u);
		run("uring-ev", rx_uring_ev, &v);
		e_ns[k] = e.got ? e.cpu * 1e9 / (double)e.got : 0;
		u_ns[k] = u.got ? u.cpu * 1e9 / (double)u.got : 0;
		v_ns[k] = v.got ? v.cpu * 1e9 / (double)v.got : 0;
	}
	qsort(e_ns, (size_t)g.rounds, sizeof(double), cmp_double);
	qsort(u_ns, (size_t)g.rounds, sizeof(double), cmp_double);
	qsort(v_ns, (size_t)g.rounds, sizeof(double), cmp_double);
	printf("median ns per datagram received: epoll %.0f, uring %.0f (%.2fx), uring-ev %.0f "
	       "(%.2fx)\n",
	       e_ns[g.rounds / 2], u_ns[g.rounds / 2], u_ns[g.rounds / 2] / e_ns[g.rounds / 2],
	       v_ns[g.rounds / 2], v_ns[g.rounds / 2] / e_ns[g.rounds / 2]);
	return 0;
}
