/* turnpike-fwd.c - the "physical limit" beside the TURN servers in
 * bench/compare.sh: a minimal batched UDP forwarder with TURN's data path
 * and none of its protocol. A client asks for a relay with one datagram
 * (bench/mass.h: FWD_MAGIC and the peer); it gets a relay socket of its own,
 * like an allocation. ChannelData from the client loses its 4-byte header
 * and goes out of that socket to the peer; what arrives on the socket goes
 * back to the client under a ChannelData header (0x4000). No
 * authentication, no permissions, no lifetimes: recvmmsg, one hash lookup,
 * sendmmsg. A relay lives as long as the process (up to --max of them: one
 * forwarder per bench run). Loopback only; stops on SIGTERM/SIGINT or after
 * --lifetime.
 * Built by make for the bench, never installed.
 *
 *   turnpike-fwd -l 127.0.0.1:PORT [-r RELAY_IP] [-n MAX] [-t SECONDS] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mass.h"
#include "probe.h"
#include "util/addr.h"

#define SA(ss) ((struct sockaddr *)(ss))
#define BATCH 64
#define BUF 2048
#define HDR 4 /* ChannelData header (RFC 8656 §12.4) */
#define MAX_RELAYS 200000
#define MAX_LIFETIME 86400

struct relay {
	int fd;
	struct sockaddr_storage client, peer;
	socklen_t clen, plen;
	struct relay *hnext;
};

static struct {
	int lfd, ep;
	struct relay *relays;
	unsigned nrelays, max;
	struct relay **buckets; /* by client address */
	size_t nbuckets;
	struct sockaddr_storage relay_ip;
	/* Receive and send batches; every buffer keeps HDR bytes in front. */
	uint8_t buf[BATCH][BUF + HDR];
	struct sockaddr_storage names[BATCH];
	struct iovec rxiov[BATCH], txiov[BATCH];
	struct mmsghdr rxm[BATCH], txm[BATCH];
	int txfd[BATCH];
	unsigned txn;
} f;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static struct relay *lookup(const struct sockaddr *client)
{
	size_t i = addr_hash(client) & (f.nbuckets - 1);

	for (struct relay *r = f.buckets[i]; r; r = r->hnext)
		if (addr_equal(SA(&r->client), client))
			return r;
	return NULL;
}

/* Sends the queued datagrams: one sendmmsg per run of one socket. */
static void flush(void)
{
	for (unsigned i = 0; i < f.txn;) {
		unsigned j = i + 1;

		while (j < f.txn && f.txfd[j] == f.txfd[i])
			j++;
		while (i < j) {
			int n = sendmmsg(f.txfd[i], f.txm + i, j - i, MSG_DONTWAIT);
			/* What the kernel refuses is dropped, as a router would. */
			if (n <= 0)
				break;
			i += (unsigned)n;
		}
		i = j;
	}
	f.txn = 0;
}

static void queue(int fd, const struct sockaddr_storage *to, socklen_t tolen, uint8_t *p,
		  size_t len)
{
	struct msghdr *h = &f.txm[f.txn].msg_hdr;

	memset(h, 0, sizeof(*h));
	h->msg_name = (void *)to;
	h->msg_namelen = tolen;
	f.txiov[f.txn].iov_base = p;
	f.txiov[f.txn].iov_len = len;
	h->msg_iov = &f.txiov[f.txn];
	h->msg_iovlen = 1;
	f.txfd[f.txn++] = fd;
}

/* A relay for this client to this peer (or the one it has), answered with
 * its address. */
static void setup(const struct sockaddr_storage *client, socklen_t clen, const uint8_t *p,
		  size_t len)
{
	struct sockaddr_storage peer, relayed;
	socklen_t rlen = sizeof(relayed);
	struct epoll_event ev = {.events = EPOLLIN};
	struct relay *r = lookup(SA(client));
	uint8_t ans[FWD_SETUP_LEN];

	if (fwd_decode(p, len, &peer) != 0 || !is_loopback(SA(&peer)))
		return;
	if (!r) {
		if (f.nrelays == f.max) {
			static bool said;
			if (!said)
				fprintf(stderr,
					"turnpike-fwd: all %u relays taken; setups go "
					"unanswered\n",
					f.max);
			said = true;
			return;
		}
		r = &f.relays[f.nrelays];
		r->fd = socket(f.relay_ip.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (r->fd < 0)
			return;
		if (bind(r->fd, SA(&f.relay_ip), addr_len(SA(&f.relay_ip))) != 0) {
			close(r->fd);
			return;
		}
		ev.data.u32 = f.nrelays + 1;
		epoll_ctl(f.ep, EPOLL_CTL_ADD, r->fd, &ev);
		r->client = *client;
		r->clen = clen;
		size_t i = addr_hash(SA(client)) & (f.nbuckets - 1);
		r->hnext = f.buckets[i];
		f.buckets[i] = r;
		f.nrelays++;
	}
	r->peer = peer;
	r->plen = addr_len(SA(&peer));
	if (getsockname(r->fd, SA(&relayed), &rlen) != 0)
		return;
	fwd_encode(ans, SA(&relayed));
	(void)sendto(f.lfd, ans, sizeof(ans), MSG_DONTWAIT, SA(client), clen);
}

/* Reads a batch from fd (with source addresses when names). */
static int rx(int fd, bool names)
{
	for (unsigned i = 0; i < BATCH; i++) {
		f.rxiov[i].iov_base = f.buf[i] + HDR;
		f.rxiov[i].iov_len = BUF;
		memset(&f.rxm[i].msg_hdr, 0, sizeof(f.rxm[i].msg_hdr));
		f.rxm[i].msg_hdr.msg_iov = &f.rxiov[i];
		f.rxm[i].msg_hdr.msg_iovlen = 1;
		if (names) {
			f.rxm[i].msg_hdr.msg_name = &f.names[i];
			f.rxm[i].msg_hdr.msg_namelen = sizeof(f.names[i]);
		}
	}
	return recvmmsg(fd, f.rxm, BATCH, MSG_DONTWAIT, NULL);
}

/* Client side: setups, and ChannelData out to the peers. */
static void from_clients(void)
{
	int n;

	while ((n = rx(f.lfd, true)) > 0) {
		for (int i = 0; i < n; i++) {
			uint8_t *p = f.buf[i] + HDR;
			size_t len = f.rxm[i].msg_len, dlen;
			struct relay *r;

			if (len == FWD_SETUP_LEN && memcmp(p, FWD_MAGIC, 4) == 0) {
				setup(&f.names[i], f.rxm[i].msg_hdr.msg_namelen, p, len);
				continue;
			}
			if (len < HDR || (p[0] & 0xc0) != 0x40 || !(r = lookup(SA(&f.names[i]))))
				continue;
			dlen = (size_t)(p[2] << 8 | p[3]);
			if (dlen > len - HDR)
				continue;
			queue(r->fd, &r->peer, r->plen, p + HDR, dlen);
		}
		flush();
		if (n < BATCH)
			break;
	}
}

/* Relay side: back to the client under a ChannelData header. */
static void from_peers(struct relay *r)
{
	int n;

	while ((n = rx(r->fd, false)) > 0) {
		for (int i = 0; i < n; i++) {
			uint8_t *p = f.buf[i];
			size_t len = f.rxm[i].msg_len;

			if (len > 0xffff)
				continue;
			p[0] = MASS_CHANNEL >> 8;
			p[1] = MASS_CHANNEL & 0xff;
			p[2] = (uint8_t)(len >> 8);
			p[3] = (uint8_t)len;
			queue(f.lfd, &r->client, r->clen, p, len + HDR);
		}
		flush();
		if (n < BATCH)
			break;
	}
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: turnpike-fwd -l IP:PORT [-r RELAY_IP] [-n MAX] [-t SECONDS]\n"
		     "  -l, --listen=IP:PORT   where clients send, loopback only\n"
		     "  -r, --relay-ip=IP      relay sockets' address (default: the listen IP)\n"
		     "  -n, --max=N            most relays, 1-200000 (default 100000, or what\n"
		     "                         the open file limit allows)\n"
		     "  -t, --lifetime=SECONDS stop after this long (default 3600)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"listen", 1, NULL, 'l'},   {"relay-ip", 1, NULL, 'r'}, {"max", 1, NULL, 'n'},
		{"lifetime", 1, NULL, 't'}, {"help", 0, NULL, 'h'},     {NULL, 0, NULL, 0},
	};
	struct sockaddr_storage listen_addr;
	const char *listen_s = NULL, *relay_s = NULL;
	struct epoll_event ev = {.events = EPOLLIN};
	long lifetime = 3600;
	double end;
	int c;

	probe_name = "turnpike-fwd";
	f.max = 100000;
	while ((c = getopt_long(argc, argv, "l:r:n:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_s = optarg;
			break;
		case 'r':
			relay_s = optarg;
			break;
		case 'n':
			f.max = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			lifetime = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!listen_s || optind != argc || f.max < 1 || f.max > MAX_RELAYS || lifetime < 1 ||
	    lifetime > MAX_LIFETIME) {
		usage(stderr);
		return 2;
	}
	if (addr_parse(listen_s, 0, &listen_addr) != 0 || addr_port(SA(&listen_addr)) == 0 ||
	    !is_loopback(SA(&listen_addr)))
		die("listen: %s is not a loopback IP:PORT", listen_s);
	f.relay_ip = listen_addr;
	if (relay_s && (addr_parse(relay_s, 0, &f.relay_ip) != 0 || !is_loopback(SA(&f.relay_ip)) ||
			f.relay_ip.ss_family != listen_addr.ss_family))
		die("relay-ip: %s is not a loopback IP of the listen family", relay_s);
	addr_set_port(SA(&f.relay_ip), 0);
	if (mass_nofile((uint64_t)f.max + 64) != 0) {
		/* The hard limit holds: as many relays as it allows. */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 128)
			die("open file limit too low");
		f.max = (unsigned)(rl.rlim_cur - 64);
	}
	for (f.nbuckets = 1; f.nbuckets < f.max; f.nbuckets <<= 1)
		;
	f.relays = calloc(f.max, sizeof(*f.relays));
	f.buckets = calloc(f.nbuckets, sizeof(*f.buckets));
	if (!f.relays || !f.buckets)
		die("out of memory");
	f.lfd = socket(listen_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f.lfd < 0 || bind(f.lfd, SA(&listen_addr), addr_len(SA(&listen_addr))) != 0)
		die("listen on %s: %s", listen_s, strerror(errno));
	int v = 4 << 20;
	setsockopt(f.lfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	setsockopt(f.lfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if ((f.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	ev.data.u32 = 0;
	epoll_ctl(f.ep, EPOLL_CTL_ADD, f.lfd, &ev);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	end = now_ms() + (double)lifetime * 1000.0;
	while (!stop && now_ms() < end) {
		struct epoll_event evs[BATCH];
		int n = epoll_wait(f.ep, evs, BATCH, 200);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == 0)
				from_clients();
			else
				from_peers(&f.relays[evs[i].data.u32 - 1]);
		}
	}
	for (unsigned i = 0; i < f.nrelays; i++)
		close(f.relays[i].fd);
	close(f.lfd);
	close(f.ep);
	free(f.relays);
	free(f.buckets);
	return 0;
}
