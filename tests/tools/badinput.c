/* badinput.c - the bad-input attacker for the system tests: sends random,
 * truncated, malformed, oversized, stalled and flooding traffic to a running
 * turnpiked on loopback and checks that it keeps answering.
 *
 *   badinput HOST PORT SCENARIO [args]
 *
 * HOST must be a loopback address. One "ok - ..." or "FAIL - ..." line per
 * assertion, "# ..." lines for figures; the exit status is 0 only when every
 * assertion passed. Junk comes from a seeded xorshift generator whose seed
 * is printed: BADINPUT_SEED=N replays a run. Every loop is bounded in count
 * and in time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "turnpike/err.h"
#include "probe.h"
#include "turnpike/stun.h"
#include "turnpike/wire.h"
#include "util/addr.h"

/* The first byte of a transaction id says what we sent, so any answer can be
 * told apart: to a good request, to a bad one, or to junk. */
#define TAG_GOOD 0xA0
#define TAG_BAD 0xBA
#define TAG_JUNK 0xEE

#define PROBE_MS 3000  /* client_binding timeout for the "still answers" probes */
#define ANSWER_MS 2000 /* wait for an answer we expect */
#define SILENCE_MS 300 /* wait that shows the server is waiting for more bytes */

#define OPT_ATTR 0x8050 /* unassigned comprehension-optional types */
#define OPT_ATTR_BIG 0x8051
#define REQ_ATTR 0x0042      /* unassigned comprehension-required types */
#define METHOD_UNKNOWN 0x0FF /* a method nobody defined */

static struct sockaddr_storage server;
static uint64_t prng;

#define SA(ss) ((struct sockaddr *)(ss))

/* ------------------------------------------------------------------ */
/* Reporting, time, randomness. */

/* xorshift64*: deterministic from the seed, so a failing run replays. */
static uint64_t prng_next(void)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return prng * 0x2545F4914F6CDD1DULL;
}

static uint32_t prng_below(uint32_t n)
{
	return (uint32_t)(((prng_next() >> 32) * (uint64_t)n) >> 32);
}

static void prng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(prng_next() >> 56);
}

/* ------------------------------------------------------------------ */
/* Messages. */

/* Cookie, then a tag byte, a 32-bit sequence number and 7 random bytes. */
static void txn_make(uint8_t txn[16], uint8_t tag, uint32_t seq)
{
	struct wire_wr w;
	uint8_t rnd[7];

	prng_fill(rnd, sizeof(rnd));
	wire_wr_init(&w, txn, 16);
	wire_wr_u32(&w, STUN_MAGIC_COOKIE);
	wire_wr_u8(&w, tag);
	wire_wr_u32(&w, seq);
	wire_wr_bytes(&w, rnd, sizeof(rnd));
}

static uint8_t txn_tag(const uint8_t txn[16])
{
	struct wire_rd r;

	wire_rd_init(&r, txn, 16);
	wire_rd_skip(&r, 4);
	return wire_rd_u8(&r);
}

static uint32_t txn_seq(const uint8_t txn[16])
{
	struct wire_rd r;

	wire_rd_init(&r, txn, 16);
	wire_rd_skip(&r, 5);
	return wire_rd_u32(&r);
}

/* The transaction id (with cookie) of a message we built. */
static void txn_of(const uint8_t *msg, size_t len, uint8_t txn[16])
{
	struct wire_rd r;

	wire_rd_init(&r, msg, len);
	wire_rd_skip(&r, 4);
	wire_rd_bytes(&r, txn, 16);
}

static size_t build_done(struct stun_builder *b)
{
	size_t len;

	if (stun_build_finish(b, &len) != 0)
		die("building a request failed");
	return len;
}

/* A plain Binding request (FINGERPRINT optional); sets txn. */
static size_t make_binding(uint8_t *buf, size_t cap, uint8_t txn[16], uint8_t tag, uint32_t seq,
			   bool fp)
{
	struct stun_builder b;

	txn_make(txn, tag, seq);
	stun_build_init(&b, buf, cap, STUN_BINDING, STUN_REQUEST, txn);
	if (fp)
		stun_build_fingerprint(&b);
	return build_done(&b);
}

/* A Binding request with several attributes of several shapes. */
static size_t make_many(uint8_t *buf, size_t cap, uint8_t txn[16], uint8_t tag)
{
	struct stun_builder b;

	txn_make(txn, tag, 2);
	stun_build_init(&b, buf, cap, STUN_BINDING, STUN_REQUEST, txn);
	stun_build_string(&b, STUN_ATTR_SOFTWARE, "badinput truncation");
	stun_build_u32(&b, STUN_ATTR_PRIORITY, 0x6e7f00ffu);
	stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, 0x0102030405060708ull);
	stun_build_empty(&b, STUN_ATTR_USE_CANDIDATE);
	stun_build_attr(&b, OPT_ATTR, "abcde", 5);
	stun_build_string(&b, STUN_ATTR_USERNAME, "alice:bob");
	stun_build_fingerprint(&b);
	return build_done(&b);
}

/* n attributes of one type whose values are vlen bytes (filled with a
 * pattern), the last one lastlen bytes. */
static void fill_attrs(struct stun_builder *b, uint16_t type, size_t n, size_t vlen, size_t lastlen)
{
	static uint8_t val[2048];

	memset(val, 'x', sizeof(val));
	for (size_t i = 0; i < n; i++)
		stun_build_attr(b, type, val, i + 1 == n ? lastlen : vlen);
}

/* Raw writers for inputs the builder refuses to make. */
static void raw_header(struct wire_wr *w, uint16_t type, uint16_t len, const uint8_t txn[16])
{
	wire_wr_u16(w, type);
	wire_wr_u16(w, len);
	wire_wr_bytes(w, txn, 16);
}

static void raw_attr(struct wire_wr *w, uint16_t type, uint16_t len, const void *val, size_t vlen)
{
	wire_wr_u16(w, type);
	wire_wr_u16(w, len);
	wire_wr_bytes(w, val, vlen);
}

/* Overwrites a big-endian u16 at off in a message we built. */
static void set_u16(uint8_t *buf, size_t off, uint16_t v)
{
	struct wire_wr w;

	wire_wr_init(&w, buf + off, 2);
	wire_wr_u16(&w, v);
}

/* Rewrites the last 8 bytes of buf[0..total) as a correct FINGERPRINT, with
 * the header's length field set to cover it (RFC 8489 §14.7). */
static void put_fingerprint(uint8_t *buf, size_t total)
{
	struct wire_wr w;

	set_u16(buf, 2, (uint16_t)(total - STUN_HEADER_LEN));
	wire_wr_init(&w, buf + total - 8, 8);
	wire_wr_u16(&w, STUN_ATTR_FINGERPRINT);
	wire_wr_u16(&w, 4);
	wire_wr_u32(&w, stun_crc32(buf, total - 8) ^ STUN_FINGERPRINT_XOR);
}

/* Attribute types the random STUN-shaped junk draws from. */
/* clang-format off */
static const uint16_t attr_pool[] = {
	0x0001, 0x0003, 0x0006, 0x0008, 0x0009, 0x000A, 0x000C, 0x000D, 0x0012,
	0x0013, 0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001A, 0x001C,
	0x001D, 0x001E, 0x0020, 0x0022, 0x0024, 0x0025, 0x0026, 0x0027, 0x002A,
	REQ_ATTR, 0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8022, 0x8023, 0x8028,
	0x8029, 0x802A, 0x802B, 0x802C, OPT_ATTR
};
/* clang-format on */

/* Fills buf[0..len) (len >= 20) with a STUN-shaped message: a plausible
 * header and a walk of attributes whose lengths mostly fit and sometimes lie,
 * now and then ending in a correct FINGERPRINT. Returns the length used. */
static size_t junk_stunlike(uint8_t *buf, size_t len)
{
	static uint8_t pool[1600];
	size_t body = (len - STUN_HEADER_LEN) & ~(size_t)3;
	uint8_t txn[16];
	struct wire_wr w;

	prng_fill(pool, sizeof(pool));
	txn_make(txn, TAG_JUNK, 0);
	if (prng_below(8) == 0)
		prng_fill(txn, 4); /* classic, cookie-less */
	wire_wr_init(&w, buf, STUN_HEADER_LEN + body);
	raw_header(&w, prng_below(3) ? STUN_BINDING : (uint16_t)prng_below(0x4000), (uint16_t)body,
		   txn);
	while (!w.err && w.cap - w.pos >= 4) {
		size_t left = w.cap - w.pos - 4;
		uint16_t type = prng_below(8) ? attr_pool[prng_below(sizeof(attr_pool) / 2)]
					      : (uint16_t)prng_next();
		size_t alen;

		switch (prng_below(8)) {
		case 0:
			alen = (uint16_t)prng_next(); /* a lie, usually past the end */
			break;
		case 1:
			alen = (size_t[]){0, 4, 8, 20, 32}[prng_below(5)];
			break;
		default:
			alen = prng_below((uint32_t)(left < 64 ? left : 64) + 1);
			break;
		}
		raw_attr(&w, type, (uint16_t)alen, pool, alen < left ? alen : left);
		if (!w.err && w.cap - w.pos >= 4)
			wire_wr_pad4(&w, alen);
	}
	if (body >= 8 && prng_below(4) == 0)
		put_fingerprint(buf, STUN_HEADER_LEN + body);
	if (prng_below(8) == 0) {
		/* A length field that disagrees with the datagram. */
		set_u16(buf, 2, (uint16_t)prng_next());
	}
	return STUN_HEADER_LEN + body;
}

/* One random datagram of up to cap bytes (cap >= 20); *kind gets 0 random
 * bytes, 1 STUN first byte, 2 STUN-shaped, 3 ChannelData-shaped. */
static size_t junk_random(uint8_t *buf, size_t cap, unsigned *kind)
{
	size_t len = prng_below((uint32_t)cap + 1);
	struct wire_wr w;

	*kind = prng_below(4);
	prng_fill(buf, len);
	switch (*kind) {
	case 1:
		if (len)
			buf[0] = (uint8_t)prng_below(4);
		if (len >= STUN_HEADER_LEN && prng_below(2)) {
			/* A header that holds up: cookie and a matching length. */
			len &= ~(size_t)3;
			wire_wr_init(&w, buf + 2, 6);
			wire_wr_u16(&w, (uint16_t)(len - STUN_HEADER_LEN));
			wire_wr_u32(&w, STUN_MAGIC_COOKIE);
		}
		break;
	case 2:
		if (len < STUN_HEADER_LEN)
			len = STUN_HEADER_LEN + prng_below((uint32_t)(cap - STUN_HEADER_LEN) + 1);
		len = junk_stunlike(buf, len);
		break;
	case 3:
		/* RFC 8656 §12: channels 0x4000-0x4FFF, first bytes up to
		 * 0x7F reserved for them (RFC 7983 §7). */
		if (len)
			buf[0] = (uint8_t)(0x40 + prng_below(64));
		if (len >= 4 && prng_below(2))
			set_u16(buf, 2, (uint16_t)(len - 4));
		break;
	default:
		break;
	}
	return len;
}

/* Parses an answer; true when it parses and carries txn. */
static bool answer_parse(struct stun_msg *msg, const uint8_t *buf, size_t len,
			 const uint8_t txn[16])
{
	return stun_msg_parse(msg, buf, len) == 0 && memcmp(msg->txn, txn, 16) == 0;
}

/* 0 for a success response, the ERROR-CODE for an error response, -1 for
 * anything else. */
static int answer_code(const struct stun_msg *msg)
{
	const struct stun_attr *a;
	const char *reason;
	size_t rlen;
	int code;

	if (msg->cls == STUN_SUCCESS)
		return 0;
	if (msg->cls != STUN_ERROR || !(a = stun_msg_find(msg, STUN_ATTR_ERROR_CODE)) ||
	    stun_attr_get_error(msg, a, &code, &reason, &rlen) != 0)
		return -1;
	return code;
}

/* A Binding success for txn with a mapped address. */
static bool answer_is_success(const uint8_t *buf, long len, const uint8_t txn[16])
{
	struct stun_msg msg;
	struct sockaddr_storage ss;

	return len > 0 && answer_parse(&msg, buf, (size_t)len, txn) && msg.method == STUN_BINDING &&
	       answer_code(&msg) == 0 &&
	       stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &ss) == 0;
}

/* ------------------------------------------------------------------ */
/* Sockets. */

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do {
		r = poll(&p, 1, ms < 0 ? 0 : ms);
	} while (r < 0 && errno == EINTR);
	return r;
}

static int udp_open(void)
{
	int fd = socket(server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("udp socket: %s", strerror(errno));
	if (connect(fd, SA(&server), addr_len(SA(&server))) != 0)
		die("udp connect: %s", strerror(errno));
	return fd;
}

/* A TCP connection to the server (3 s to connect), TCP_NODELAY so every
 * write is its own segment, send timeout 5 s. Returns -1 on failure. */
static int tcp_open(void)
{
	struct timeval tv = {5, 0};
	int one = 1, err = 0, fl;
	socklen_t elen = sizeof(err);
	int fd = socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, SA(&server), addr_len(SA(&server))) != 0) {
		if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, 3000) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
			close(fd);
			return -1;
		}
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Reads one STUN message from a stream within ms. Returns its length, 0 when
 * the server closed the connection first (FIN or RST), TP_ETRUNC when it
 * closed mid-message, TP_EAGAIN on timeout, TP_EMALFORMED when the stream
 * does not frame as STUN, TP_ESYS on another error.
 */
static long tcp_recv_msg(int fd, uint8_t *buf, size_t cap, int ms)
{
	double deadline = now_ms() + ms;
	size_t got = 0, need = 4;

	while (got < need) {
		int left = (int)(deadline - now_ms());
		if (left <= 0 || wait_fd(fd, POLLIN, left) <= 0)
			return TP_EAGAIN;
		ssize_t n = recv(fd, buf + got, need - got, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return got ? TP_ETRUNC : 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return TP_ESYS;
		}
		got += (size_t)n;
		if (need == 4 && got == 4) {
			need = stun_msg_peek_len(buf, 4);
			if (need < STUN_HEADER_LEN || need > cap)
				return TP_EMALFORMED;
		}
	}
	return (long)need;
}

/* What a TCP read came to, for messages. */
static const char *tcp_result(long r)
{
	if (r > 0)
		return "an answer";
	if (r == 0)
		return "closed";
	return tp_strerror((int)r);
}

/*
 * Sends req on a connected UDP socket until an answer carrying its
 * transaction id comes (4 tries, 500 ms apart), then lingers 20 ms for
 * stragglers. Answers to anything else are counted in *strays. Returns the
 * answer's length or TP_EAGAIN.
 */
static long udp_transact(int fd, const uint8_t *req, size_t len, uint8_t *buf, size_t cap,
			 unsigned *strays)
{
	uint8_t txn[16];
	long found = TP_EAGAIN;
	double deadline = 0;

	txn_of(req, len, txn);
	for (int tries = 0; tries < 4 && found < 0; tries++) {
		if (send(fd, req, len, 0) < 0 && errno != ECONNREFUSED)
			return TP_ESYS;
		deadline = now_ms() + 500;
		while (found < 0 && wait_fd(fd, POLLIN, (int)(deadline - now_ms())) > 0) {
			struct stun_msg msg;
			ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
			if (n < 0)
				continue;
			if (answer_parse(&msg, buf, (size_t)n, txn))
				found = n;
			else if (strays)
				(*strays)++;
		}
	}
	/* Stragglers sent before the answer but reordered: none on loopback,
	 * but look, without losing the answer in buf. */
	if (found > 0 && strays) {
		static uint8_t scratch[STUN_MAX_MSG];
		while (wait_fd(fd, POLLIN, 20) > 0)
			if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) >= 0)
				(*strays)++;
	}
	return found;
}

/* One request, one answer: over a fresh UDP socket (retransmitting) or a
 * fresh TCP connection. Returns the answer length or a tp_err. */
static long transact(bool tcp, const uint8_t *req, size_t len, uint8_t *buf, size_t cap)
{
	long r;
	int fd;

	if (!tcp) {
		fd = udp_open();
		r = udp_transact(fd, req, len, buf, cap, NULL);
		close(fd);
		return r;
	}
	if ((fd = tcp_open()) < 0)
		return TP_ESYS;
	r = send_all(fd, req, len) ? tcp_recv_msg(fd, buf, cap, ANSWER_MS) : TP_ESYS;
	close(fd);
	return r;
}

/* The "still answers" probes: one Binding over UDP and one over TCP, each
 * from a fresh socket, with the project's own client. */
static void probe(const char *when)
{
	struct client_binding_result r;
	int rc;

	rc = client_binding(SA(&server), CLIENT_FINGERPRINT, PROBE_MS, &r);
	expect(rc == 0 && r.error_code == 0, "%s: UDP Binding still answered (%s, %.1f ms)", when,
	       rc ? tp_strerror(rc) : "success", r.rtt_ms);
	rc = client_binding(SA(&server), CLIENT_TCP | CLIENT_FINGERPRINT, PROBE_MS, &r);
	expect(rc == 0 && r.error_code == 0, "%s: TCP Binding still answered (%s, %.1f ms)", when,
	       rc ? tp_strerror(rc) : "success", r.rtt_ms);
}

/*
 * Over UDP: after bad input on fd, a good Binding request on the same socket
 * is answered and nothing else was (the server answers one socket's
 * datagrams in order, so answers to the bad input would come first).
 */
static void udp_expect_silence(int fd, const char *what)
{
	static uint8_t buf[STUN_MAX_MSG];
	uint8_t req[64], txn[16];
	size_t len = make_binding(req, sizeof(req), txn, TAG_GOOD, 0, false);
	unsigned strays = 0;
	long r = udp_transact(fd, req, len, buf, sizeof(buf), &strays);

	expect(answer_is_success(buf, r, txn) && strays == 0,
	       "udp: %s: no answer to it (%u), next request answered (%s)", what, strays,
	       r > 0 ? "yes" : tp_strerror((int)r));
}

/* What the server should do with a bad message on a TCP connection. */
enum tcp_expect {
	EXP_DROP,  /* framing holds: drop it, keep the connection, answer the next */
	EXP_CLOSE, /* framing broken: close the connection, answer nothing */
	EXP_WAIT   /* framing says more is coming: wait, answer nothing */
};

static void tcp_expect(const char *what, const uint8_t *bad, size_t len, enum tcp_expect exp)
{
	static uint8_t buf[STUN_MAX_MSG];
	uint8_t req[64], txn[16];
	size_t rlen;
	long r;
	int fd = tcp_open();

	if (fd < 0 || !send_all(fd, bad, len)) {
		expect(false, "tcp: %s: connect and send (%s)", what, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	switch (exp) {
	case EXP_DROP:
		rlen = make_binding(req, sizeof(req), txn, TAG_GOOD, 0, false);
		r = send_all(fd, req, rlen) ? tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS)
					    : TP_ESYS;
		expect(answer_is_success(buf, r, txn),
		       "tcp: %s: dropped, connection kept, next request answered (%s)", what,
		       tcp_result(r));
		break;
	case EXP_CLOSE:
		r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
		expect(r == 0, "tcp: %s: connection closed by the server, no answer (%s)", what,
		       tcp_result(r));
		break;
	case EXP_WAIT:
		r = tcp_recv_msg(fd, buf, sizeof(buf), SILENCE_MS);
		expect(r == TP_EAGAIN, "tcp: %s: server waits for the rest (%s)", what,
		       tcp_result(r));
		break;
	}
	close(fd);
}

/* ------------------------------------------------------------------ */
/* random [COUNT]: random datagrams over UDP. */

static int scen_random(int argc, char **argv)
{
	static uint8_t buf[1500], ans[STUN_MAX_MSG];
	unsigned count = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 20000;
	unsigned kinds[4] = {0}, answers = 0, syncs = 0, sync_ok = 0, sent = 0;
	double t0 = now_ms();
	int fd = udp_open();

	for (unsigned i = 0; i < count && now_ms() - t0 < 15000; i++) {
		unsigned kind;
		size_t len = junk_random(buf, sizeof(buf), &kind);

		kinds[kind]++;
		if (send(fd, buf, len, 0) >= 0)
			sent++;
		while (recv(fd, ans, sizeof(ans), MSG_DONTWAIT) >= 0)
			answers++;
		if (i % 128 == 127)
			sleep_ms(1);
		if (i % 1000 == 999) {
			/* In step: the server has read all of the above when it
			 * answers this, and it still does. */
			uint8_t req[64], txn[16];
			size_t rlen = make_binding(req, sizeof(req), txn, TAG_GOOD, i, false);
			long r = udp_transact(fd, req, rlen, ans, sizeof(ans), &answers);
			syncs++;
			sync_ok += answer_is_success(ans, r, txn);
		}
	}
	note("random: sent %u of %u datagrams in %.0f ms: %u random bytes, %u STUN first "
	     "byte, %u STUN-shaped, %u ChannelData-shaped; %u answers to junk",
	     sent, count, now_ms() - t0, kinds[0], kinds[1], kinds[2], kinds[3], answers);
	expect(sent == count, "random: all %u datagrams sent", count);
	expect(sync_ok == syncs,
	       "random: Binding answered between every 1000 junk "
	       "datagrams (%u of %u)",
	       sync_ok, syncs);
	close(fd);
	probe("after random datagrams");
	return 0;
}

/* ------------------------------------------------------------------ */
/* truncated: prefixes, lying lengths, broken attribute walks. */

struct bad_msg {
	char name[64];
	uint8_t buf[96];
	size_t len;
	enum tcp_expect tcp;
	bool udp_only; /* stream framing makes it a different input */
};

#define BAD_MAX 16

/* Starts bad message n: its name, what TCP should do with it, a writer on
 * its buffer and a fresh transaction id. */
static struct bad_msg *bad_start(struct bad_msg *bm, size_t n, const char *name,
				 enum tcp_expect exp, struct wire_wr *w, uint8_t txn[16])
{
	struct bad_msg *b = &bm[n];

	if (n >= BAD_MAX)
		die("too many bad messages");
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->tcp = exp;
	b->udp_only = false;
	wire_wr_init(w, b->buf, sizeof(b->buf));
	txn_make(txn, TAG_BAD, (uint32_t)n);
	return b;
}

static void bad_end(struct bad_msg *b, const struct wire_wr *w)
{
	if (w->err)
		die("bad message '%s' does not fit", b->name);
	b->len = w->pos;
}

/* The malformed messages, each a Binding request broken one way; bm holds
 * BAD_MAX. Returns how many. */
static size_t make_bad_msgs(struct bad_msg *bm)
{
	uint8_t txn[16], good[64];
	struct bad_msg *b;
	struct wire_wr w;
	size_t glen, n = 0;

	/* Length field 4 past the end of a good request with FINGERPRINT. */
	b = bad_start(bm, n++, "length field 4 bytes past the end", EXP_WAIT, &w, txn);
	glen = make_binding(good, sizeof(good), txn, TAG_BAD, (uint32_t)n, true);
	wire_wr_bytes(&w, good, glen);
	wire_wr_u16_at(&w, 2, (uint16_t)(glen - STUN_HEADER_LEN + 4));
	bad_end(b, &w);

	b = bad_start(bm, n++, "length field 0xFFFC on a 28-byte message", EXP_WAIT, &w, txn);
	glen = make_binding(good, sizeof(good), txn, TAG_BAD, (uint32_t)n, true);
	wire_wr_bytes(&w, good, glen);
	wire_wr_u16_at(&w, 2, 0xFFFC);
	bad_end(b, &w);

	b = bad_start(bm, n++, "4 bytes after the length field's end", EXP_DROP, &w, txn);
	glen = make_binding(good, sizeof(good), txn, TAG_BAD, (uint32_t)n, true);
	wire_wr_bytes(&w, good, glen);
	wire_wr_u32(&w, 0);
	b->udp_only = true;
	bad_end(b, &w);

	b = bad_start(bm, n++, "length field 9, last attribute unpadded", EXP_CLOSE, &w, txn);
	raw_header(&w, STUN_BINDING, 9, txn);
	raw_attr(&w, STUN_ATTR_SOFTWARE, 5, "abcde", 5);
	bad_end(b, &w);

	b = bad_start(bm, n++, "length field 2, not a multiple of 4", EXP_CLOSE, &w, txn);
	raw_header(&w, STUN_BINDING, 2, txn);
	wire_wr_u16(&w, 0x8050);
	bad_end(b, &w);

	b = bad_start(bm, n++, "attribute length runs 12 bytes past the end", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 12, txn);
	raw_attr(&w, STUN_ATTR_SOFTWARE, 20, "abcdefgh", 8);
	bad_end(b, &w);

	b = bad_start(bm, n++, "attribute length 0xFFFF", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 8, txn);
	raw_attr(&w, STUN_ATTR_SOFTWARE, 0xFFFF, "abcd", 4);
	bad_end(b, &w);

	b = bad_start(bm, n++, "attribute header alone, length 0xFFFF", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 4, txn);
	raw_attr(&w, REQ_ATTR, 0xFFFF, NULL, 0);
	bad_end(b, &w);

	b = bad_start(bm, n++, "attribute type and length at the end, no value", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 12, txn);
	raw_attr(&w, OPT_ATTR, 4, "abcd", 4);
	raw_attr(&w, STUN_ATTR_SOFTWARE, 8, NULL, 0);
	bad_end(b, &w);

	b = bad_start(bm, n++, "padding missing between attributes", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 16, txn);
	raw_attr(&w, STUN_ATTR_SOFTWARE, 5, "abcde", 5);
	raw_attr(&w, OPT_ATTR, 3, "xyz", 3);
	bad_end(b, &w);

	b = bad_start(bm, n++, "FINGERPRINT with a wrong CRC", EXP_DROP, &w, txn);
	glen = make_binding(good, sizeof(good), txn, TAG_BAD, (uint32_t)n, true);
	good[glen - 1] ^= 0x01;
	wire_wr_bytes(&w, good, glen);
	bad_end(b, &w);

	b = bad_start(bm, n++, "CHANGE-REQUEST of 8 bytes", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 12, txn);
	raw_attr(&w, STUN_ATTR_CHANGE_REQUEST, 8, "\0\0\0\x06\0\0\0\0", 8);
	bad_end(b, &w);

	b = bad_start(bm, n++, "XOR-MAPPED-ADDRESS of 3 bytes", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 8, txn);
	raw_attr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, 3, "\0\x01\0\0", 4);
	bad_end(b, &w);

	b = bad_start(bm, n++, "FINGERPRINT of 2 bytes", EXP_DROP, &w, txn);
	raw_header(&w, STUN_BINDING, 8, txn);
	raw_attr(&w, STUN_ATTR_FINGERPRINT, 2, "\x01\x02\x00\x00", 4);
	bad_end(b, &w);
	return n;
}

/* Every proper prefix over TCP, each on its own connection followed by our
 * FIN: no answer, and the server closes. Returns how many misbehaved. */
static unsigned tcp_prefixes(const uint8_t *msg, size_t len)
{
	static uint8_t buf[STUN_MAX_MSG];
	unsigned bad = 0;

	for (size_t l = 1; l < len; l++) {
		int fd = tcp_open();
		long r;

		if (fd < 0 || !send_all(fd, msg, l) || shutdown(fd, SHUT_WR) != 0) {
			bad++;
		} else {
			r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
			if (r != 0) {
				note("tcp prefix %zu of %zu: %s", l, len, tcp_result(r));
				bad++;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	return bad;
}

/* A request split in two writes at every point, on one connection: each
 * must be answered. Returns how many were. */
static unsigned tcp_splits(const uint8_t *msg, size_t len)
{
	static uint8_t buf[STUN_MAX_MSG];
	uint8_t txn[16];
	unsigned answered = 0;
	int fd = tcp_open();

	if (fd < 0)
		return 0;
	txn_of(msg, len, txn);
	for (size_t l = 1; l < len; l++) {
		long r;

		if (!send_all(fd, msg, l))
			break;
		sleep_ms(1);
		if (!send_all(fd, msg + l, len - l))
			break;
		r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
		if (r <= 0)
			break;
		answered += answer_parse(&(struct stun_msg){0}, buf, (size_t)r, txn);
	}
	close(fd);
	return answered;
}

static int scen_truncated(int argc, char **argv)
{
	static uint8_t buf[STUN_MAX_MSG];
	static struct bad_msg bad[BAD_MAX];
	uint8_t a[64], b[256], txn_a[16], txn_b[16];
	size_t alen = make_binding(a, sizeof(a), txn_a, TAG_BAD, 1, true);
	size_t blen = make_many(b, sizeof(b), txn_b, TAG_BAD);
	size_t nbad = make_bad_msgs(bad);
	unsigned nprefix = 0, n;
	int fd = udp_open();
	long r;
	(void)argc;
	(void)argv;

	/* UDP: every proper prefix, 0 bytes included. */
	for (size_t l = 0; l < alen; l++, nprefix++)
		send(fd, a, l, 0);
	for (size_t l = 0; l < blen; l++, nprefix++)
		send(fd, b, l, 0);
	char what[128];
	snprintf(what, sizeof(what), "%u proper prefixes of a %zu- and a %zu-byte request", nprefix,
		 alen, blen);
	udp_expect_silence(fd, what);
	r = udp_transact(fd, a, alen, buf, sizeof(buf), NULL);
	expect(r > 0, "udp: the whole %zu-byte request is answered", alen);
	r = udp_transact(fd, b, blen, buf, sizeof(buf), NULL);
	expect(r > 0, "udp: the whole %zu-byte request with 7 attributes is answered", blen);

	/* UDP and TCP: each malformed message. */
	for (size_t i = 0; i < nbad; i++) {
		send(fd, bad[i].buf, bad[i].len, 0);
		udp_expect_silence(fd, bad[i].name);
	}
	close(fd);
	for (size_t i = 0; i < nbad; i++)
		if (!bad[i].udp_only)
			tcp_expect(bad[i].name, bad[i].buf, bad[i].len, bad[i].tcp);

	/* TCP: prefixes then FIN; and whole requests split at every point. */
	n = tcp_prefixes(a, alen) + tcp_prefixes(b, blen);
	expect(n == 0,
	       "tcp: %zu proper prefixes then FIN: no answer, connection closed "
	       "(%u misbehaved)",
	       alen + blen - 2, n);
	n = tcp_splits(a, alen);
	expect(n == alen - 1,
	       "tcp: %zu-byte request split in two writes at every point: "
	       "%u of %zu answered",
	       alen, n, alen - 1);
	n = tcp_splits(b, blen);
	expect(n == blen - 1,
	       "tcp: %zu-byte request split in two writes at every point: "
	       "%u of %zu answered",
	       blen, n, blen - 1);
	probe("after truncated and malformed messages");
	return 0;
}

/* ------------------------------------------------------------------ */
/* unknown-attr: RFC 8489 §6.3.1.1 and §15 comprehension rules. */

/* The types listed in an answer's UNKNOWN-ATTRIBUTES, or -1 if absent. */
static long unknown_list(const struct stun_msg *msg, uint16_t *types, size_t max)
{
	const struct stun_attr *a = stun_msg_find(msg, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	size_t n;

	if (!a || stun_attr_get_unknown(msg, a, types, max, &n) != 0)
		return -1;
	return (long)n;
}

static bool listed(const uint16_t *types, long n, uint16_t t)
{
	for (long i = 0; i < n; i++)
		if (types[i] == t)
			return true;
	return false;
}

static void unknown_case(bool tcp, const char *what, const uint16_t *req_types, size_t nreq,
			 const uint16_t *opt_types, size_t nopt, bool fp)
{
	static uint8_t buf[STUN_MAX_MSG];
	const char *tr = tcp ? "tcp" : "udp";
	uint8_t req[1024], txn[16];
	uint16_t got[64];
	struct stun_builder b;
	struct stun_msg msg;
	long r, n;
	bool all = true;
	size_t len;

	txn_make(txn, TAG_GOOD, 0);
	stun_build_init(&b, req, sizeof(req), STUN_BINDING, STUN_REQUEST, txn);
	for (size_t i = 0; i < nopt; i++)
		stun_build_u32(&b, opt_types[i], 0x0badcafe);
	for (size_t i = 0; i < nreq; i++)
		stun_build_u32(&b, req_types[i], 0x0badcafe);
	if (fp)
		stun_build_fingerprint(&b);
	len = build_done(&b);
	r = transact(tcp, req, len, buf, sizeof(buf));
	if (!expect(r > 0 && answer_parse(&msg, buf, (size_t)r, txn), "%s: %s: answered (%s)", tr,
		    what, tcp_result(r)))
		return;
	if (nreq == 0) {
		expect(answer_is_success(buf, r, txn),
		       "%s: %s: Binding success with "
		       "XOR-MAPPED-ADDRESS (%d)",
		       tr, what, answer_code(&msg));
		return;
	}
	n = unknown_list(&msg, got, 64);
	for (long i = 0; i < n; i++)
		all &= listed(req_types, (long)nreq, got[i]);
	if (nreq <= STUN_MAX_UNKNOWN) {
		for (size_t i = 0; i < nreq; i++)
			all &= listed(got, n, req_types[i]);
		all &= n == (long)nreq;
	} else {
		all &= n >= 1;
	}
	expect(msg.method == STUN_BINDING && answer_code(&msg) == STUN_ERR_UNKNOWN_ATTRIBUTE && all,
	       "%s: %s: 420 with UNKNOWN-ATTRIBUTES listing %ld of %zu, none "
	       "optional (code %d, %zu bytes)",
	       tr, what, n, nreq, answer_code(&msg), (size_t)r);
	expect((size_t)r <= 512, "%s: %s: answer is at most 512 bytes (%ld)", tr, what, r);
	if (fp)
		expect(msg.fp >= 0, "%s: %s: error answer carries a valid FINGERPRINT", tr, what);
}

/* A request or other message we send, and what must come back. */
static void expect_code(bool tcp, const char *what, uint16_t method, uint8_t cls, int want)
{
	static uint8_t buf[STUN_MAX_MSG];
	const char *tr = tcp ? "tcp" : "udp";
	uint8_t req[64], txn[16];
	struct stun_builder b;
	struct stun_msg msg;
	int code = -1;
	size_t len;
	long r;

	txn_make(txn, TAG_GOOD, 0);
	stun_build_init(&b, req, sizeof(req), method, cls, txn);
	len = build_done(&b);
	r = transact(tcp, req, len, buf, sizeof(buf));
	if (r > 0 && answer_parse(&msg, buf, (size_t)r, txn) && msg.method == method)
		code = answer_code(&msg);
	expect(code == want, "%s: %s: answered %d (%s, code %d)", tr, what, want, tcp_result(r),
	       code);
}

/* RFC 5780 §7.2: a server with no alternate address cannot answer from
 * another IP or port, so "change IP" or "change port" gets 420 naming
 * CHANGE-REQUEST; with neither flag set the request is answered normally. */
static void change_case(bool tcp, uint32_t flags)
{
	static uint8_t buf[STUN_MAX_MSG];
	const char *tr = tcp ? "tcp" : "udp";
	bool want420 = flags & 0x6;
	uint8_t req[64], txn[16];
	struct stun_builder b;
	struct stun_msg msg;
	uint16_t got[8];
	long r, n = -1;

	txn_make(txn, TAG_GOOD, flags);
	stun_build_init(&b, req, sizeof(req), STUN_BINDING, STUN_REQUEST, txn);
	stun_build_u32(&b, STUN_ATTR_CHANGE_REQUEST, flags);
	stun_build_fingerprint(&b);
	r = transact(tcp, req, build_done(&b), buf, sizeof(buf));
	if (!want420) {
		expect(answer_is_success(buf, r, txn),
		       "%s: CHANGE-REQUEST 0x%x (no change): "
		       "Binding success (%s)",
		       tr, (unsigned)flags, tcp_result(r));
		return;
	}
	if (r > 0 && answer_parse(&msg, buf, (size_t)r, txn))
		n = unknown_list(&msg, got, 8);
	expect(n == 1 && got[0] == STUN_ATTR_CHANGE_REQUEST &&
		       answer_code(&msg) == STUN_ERR_UNKNOWN_ATTRIBUTE && msg.fp >= 0,
	       "%s: CHANGE-REQUEST 0x%x: 420 with UNKNOWN-ATTRIBUTES 0x0003 and FINGERPRINT "
	       "(%s)",
	       tr, (unsigned)flags, tcp_result(r));
}

static int scen_unknown_attr(int argc, char **argv)
{
	static const uint16_t one[] = {REQ_ATTR};
	static const uint16_t three[] = {REQ_ATTR, 0x0043, 0x7FFF};
	static const uint16_t opt[] = {0x8042};
	static const uint16_t opt_many[] = {0x8042, 0x8043, 0x8044, 0xFFFF, 0xC000};
	uint16_t twenty[20];
	(void)argc;
	(void)argv;

	for (size_t i = 0; i < 20; i++)
		twenty[i] = (uint16_t)(0x0050 + i);
	for (int tcp = 0; tcp <= 1; tcp++) {
		unknown_case(tcp, "Binding with 0x0042", one, 1, NULL, 0, false);
		unknown_case(tcp, "Binding with 0x0042 and FINGERPRINT", one, 1, NULL, 0, true);
		unknown_case(tcp, "Binding with 0x0042, 0x0043, 0x7FFF and optional 0x8042", three,
			     3, opt, 1, false);
		unknown_case(tcp, "Binding with 20 unknown comprehension-required types", twenty,
			     20, NULL, 0, false);
		unknown_case(tcp, "Binding with optional 0x8042", NULL, 0, opt, 1, false);
		unknown_case(tcp, "Binding with 5 unknown optional types", NULL, 0, opt_many, 5,
			     true);
		expect_code(tcp, "request of unknown method 0x0FF", METHOD_UNKNOWN, STUN_REQUEST,
			    STUN_ERR_BAD_REQUEST);
		change_case(tcp, 0x4);
		change_case(tcp, 0x2);
		change_case(tcp, 0x6);
		change_case(tcp, 0x0);
	}

	/* Indications and responses are never answered, unknown attributes or
	 * not (RFC 8489 §6.3.2, §6.3.3). */
	{
		uint8_t m[64], txn[16];
		struct stun_builder b;
		int fd = udp_open();
		static const uint8_t classes[] = {STUN_INDICATION, STUN_SUCCESS, STUN_ERROR};
		static const char *const names[] = {"Binding indication with 0x0042",
						    "Binding success response",
						    "Binding error response"};

		for (size_t i = 0; i < 3; i++) {
			txn_make(txn, TAG_BAD, (uint32_t)i);
			stun_build_init(&b, m, sizeof(m), STUN_BINDING, classes[i], txn);
			if (classes[i] == STUN_INDICATION)
				stun_build_u32(&b, REQ_ATTR, 1);
			if (classes[i] == STUN_ERROR)
				stun_build_error(&b, 420, "Unknown Attribute");
			send(fd, m, build_done(&b), 0);
			udp_expect_silence(fd, names[i]);
		}
		close(fd);
	}
	probe("after unknown attributes");
	return 0;
}

/* ------------------------------------------------------------------ */
/* big: 64 KiB messages, too many attributes, oversize datagrams. */

/* A Binding request of n attributes: n-1 of vlen bytes and one of lastlen,
 * then FINGERPRINT if fp. */
static size_t make_big(uint8_t *buf, size_t cap, uint8_t txn[16], uint32_t seq, uint16_t type,
		       size_t n, size_t vlen, size_t lastlen, bool fp)
{
	struct stun_builder b;

	txn_make(txn, TAG_GOOD, seq);
	stun_build_init(&b, buf, cap, STUN_BINDING, STUN_REQUEST, txn);
	fill_attrs(&b, type, n, vlen, lastlen);
	if (fp)
		stun_build_fingerprint(&b);
	return build_done(&b);
}

static int scen_big(int argc, char **argv)
{
	static uint8_t m1[STUN_MAX_MSG], m2[STUN_MAX_MSG], m3[STUN_MAX_MSG + 64], buf[STUN_MAX_MSG],
		pipe_buf[3 * STUN_MAX_MSG];
	uint8_t t1[16], t2[16], t3[16], small[64];
	char what[96];
	size_t l1, l2, l3, ls;
	long r;
	int fd;
	(void)argc;
	(void)argv;

	/* TCP: the largest message, 64 attributes (all the parser keeps):
	 * 62 of 1036 bytes, one of 1040, FINGERPRINT; length field 65532. */
	l1 = make_big(m1, sizeof(m1), t1, 1, OPT_ATTR_BIG, 63, 1036, 1040, true);
	r = transact(true, m1, l1, buf, sizeof(buf));
	expect(l1 == 20 + 65532 && answer_is_success(buf, r, t1),
	       "tcp: %zu-byte request, 64 attributes, length field 65532: answered (%s)", l1,
	       tcp_result(r));

	/* TCP: 16383 empty optional attributes (length field 65532), and 66 of
	 * about 1000 bytes: more than the parser keeps, so dropped; the
	 * connection carries on. */
	l2 = make_big(m2, sizeof(m2), t2, 2, OPT_ATTR, 16383, 0, 0, false);
	tcp_expect("16383 empty attributes in 65552 bytes", m2, l2, EXP_DROP);
	l3 = make_big(m3, sizeof(m3), t3, 3, OPT_ATTR_BIG, 66, 992, 788, false);
	tcp_expect("66 attributes of 1000 bytes in 65552 bytes", m3, l3, EXP_DROP);

	/* TCP: ChannelData of 65535 bytes with no allocation: skipped, the
	 * connection carries on. */
	{
		struct wire_wr w;

		wire_wr_init(&w, buf, sizeof(buf));
		wire_wr_u16(&w, TURN_CHANNEL_MIN);
		wire_wr_u16(&w, 0xFFFF);
		wire_wr_zero(&w, 0xFFFF + 1);
		tcp_expect("65535-byte ChannelData with no allocation", buf, w.pos, EXP_DROP);
	}

	/* TCP: all of it pipelined in one write: big, too many, small. */
	{
		struct wire_wr w;
		uint8_t ts[16];
		int got = 0;

		ls = make_binding(small, sizeof(small), ts, TAG_GOOD, 4, false);
		wire_wr_init(&w, pipe_buf, sizeof(pipe_buf));
		wire_wr_bytes(&w, m1, l1);
		wire_wr_bytes(&w, m2, l2);
		wire_wr_bytes(&w, small, ls);
		fd = tcp_open();
		if (fd >= 0 && send_all(fd, pipe_buf, w.pos)) {
			r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
			got += answer_is_success(buf, r, t1);
			r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
			got += answer_is_success(buf, r, ts);
		}
		expect(got == 2,
		       "tcp: %zu bytes pipelined (64 KiB request, 16383-attribute "
		       "request, small request): first and last answered in order (%d)",
		       w.pos, got);
		if (fd >= 0)
			close(fd);
	}

	/* UDP: at the attribute limit and one past it. */
	fd = udp_open();
	l1 = make_big(m1, sizeof(m1), t1, 5, OPT_ATTR, 64, 0, 0, false);
	r = udp_transact(fd, m1, l1, buf, sizeof(buf), NULL);
	expect(answer_is_success(buf, r, t1), "udp: request with 64 attributes answered");
	l2 = make_big(m2, sizeof(m2), t2, 6, OPT_ATTR, 65, 0, 0, false);
	send(fd, m2, l2, 0);
	udp_expect_silence(fd, "request with 65 attributes");

	/* UDP: the largest datagram the server takes (8192 bytes) and one
	 * 4 bytes larger; then 65000 bytes. All well-formed requests. */
	l1 = make_big(m1, sizeof(m1), t1, 7, OPT_ATTR_BIG, 8, 1000, 1140, false);
	r = udp_transact(fd, m1, l1, buf, sizeof(buf), NULL);
	expect(l1 == 8192 && answer_is_success(buf, r, t1), "udp: %zu-byte request answered", l1);
	l2 = make_big(m2, sizeof(m2), t2, 8, OPT_ATTR_BIG, 8, 1000, 1144, false);
	if (send(fd, m2, l2, 0) != (ssize_t)l2)
		die("udp send %zu bytes: %s", l2, strerror(errno));
	snprintf(what, sizeof(what), "%zu-byte request (oversize)", l2);
	udp_expect_silence(fd, what);
	l3 = make_big(m3, sizeof(m3), t3, 9, OPT_ATTR_BIG, 64, 1012, 968, false);
	if (send(fd, m3, l3, 0) != (ssize_t)l3)
		die("udp send %zu bytes: %s", l3, strerror(errno));
	snprintf(what, sizeof(what), "%zu-byte datagram (oversize)", l3);
	udp_expect_silence(fd, what);
	close(fd);
	probe("after big messages");
	return 0;
}

/* ------------------------------------------------------------------ */
/* stall [SECONDS]: slow and silent TCP clients against the idle timeout,
 * and one that completes a Binding every 500 ms but never authenticates:
 * that keeps no connection alive either (issue 9), though it is answered
 * until the timeout. */

struct staller {
	const char *name;
	int fd;
	double closed_at; /* ms after the start, or -1 */
	bool answered;    /* the server answered something: wrong for a staller */
};

static int scen_stall(int argc, char **argv)
{
	static uint8_t buf[STUN_MAX_MSG];
	int timeout = argc > 0 ? atoi(argv[0]) : 2;
	struct staller st[3] = {{"half a request (10 bytes)", -1, -1, false},
				{"nothing at all", -1, -1, false},
				{"a byte every 400 ms", -1, -1, false}};
	uint8_t req[64], txn[16], areq[64], atxn[16];
	size_t len = make_binding(req, sizeof(req), txn, TAG_BAD, 0, true);
	unsigned dripped = 0, asent = 0, aok = 0;
	double t0, next_drip, next_active, end, active_closed_at = -1;
	int active;
	bool active_open = true;

	if (timeout < 1 || timeout > 20)
		die("stall: the idle timeout must be 1..20 seconds");
	t0 = now_ms();
	for (int i = 0; i < 3; i++)
		if ((st[i].fd = tcp_open()) < 0)
			die("stall: tcp connect: %s", strerror(errno));
	active = tcp_open();
	if (active < 0)
		die("stall: tcp connect: %s", strerror(errno));
	send_all(st[0].fd, req, 10);
	send_all(st[2].fd, req, 1);
	dripped = 1;

	/* While they hang on, everyone else is served at once. */
	{
		struct client_binding_result r;
		int rc = client_binding(SA(&server), 0, 1000, &r);
		expect(rc == 0 && r.error_code == 0 && r.rtt_ms < 500,
		       "stall: UDP Binding "
		       "answered while stallers are connected (%.1f ms)",
		       r.rtt_ms);
		rc = client_binding(SA(&server), CLIENT_TCP, 1000, &r);
		expect(rc == 0 && r.error_code == 0 && r.rtt_ms < 500,
		       "stall: TCP Binding "
		       "answered while stallers are connected (%.1f ms)",
		       r.rtt_ms);
	}

	next_drip = now_ms() + 400;
	next_active = now_ms();
	end = t0 + (timeout + 2) * 1000.0;
	while (now_ms() < end) {
		struct pollfd p[4];
		bool stallers_done = true;
		double t = now_ms();

		for (int i = 0; i < 3; i++) {
			p[i].fd = st[i].closed_at < 0 ? st[i].fd : -1;
			p[i].events = POLLIN;
			stallers_done &= st[i].closed_at >= 0;
		}
		p[3].fd = active_open ? active : -1;
		p[3].events = POLLIN;
		/* Done when the stallers are gone and the active client has
		 * outlived the timeout by a second. */
		if (stallers_done && t > t0 + (timeout + 1) * 1000.0)
			break;
		if (t >= next_drip && st[2].closed_at < 0 && dripped < len) {
			if (send(st[2].fd, req + dripped, 1, MSG_NOSIGNAL) == 1)
				dripped++;
			next_drip = t + 400;
		}
		if (t >= next_active && active_open) {
			size_t alen =
				make_binding(areq, sizeof(areq), atxn, TAG_GOOD, asent, false);
			if (send_all(active, areq, alen))
				asent++;
			if (answer_is_success(buf, tcp_recv_msg(active, buf, sizeof(buf), 1000),
					      atxn))
				aok++;
			next_active = t + 500;
			continue;
		}
		if (poll(p, 4, 20) <= 0)
			continue;
		for (int i = 0; i < 3; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t n = recv(st[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				st[i].answered = true;
			else if (n == 0 || errno == ECONNRESET)
				st[i].closed_at = now_ms() - t0;
		}
		if (p[3].fd >= 0 && p[3].revents) {
			/* Unasked data or a close on the active client. */
			active_open = false;
			active_closed_at = now_ms() - t0;
		}
	}
	for (int i = 0; i < 3; i++) {
		double s = st[i].closed_at / 1000.0;
		expect(!st[i].answered && st[i].closed_at >= 0 && s >= timeout - 0.3 &&
			       s <= timeout + 2,
		       "stall: client sending %s closed by the server after "
		       "%.2f s (idle timeout %d s)%s",
		       st[i].name, s, timeout, st[i].answered ? "; it was answered" : "");
		close(st[i].fd);
	}
	expect(!active_open && active_closed_at / 1000 >= timeout - 0.3 &&
		       active_closed_at / 1000 <= timeout + 2 && aok + 1 >= asent &&
		       aok >= (unsigned)timeout,
	       "stall: client completing an unauthenticated Binding every 500 ms closed by "
	       "the server after %.2f s (idle timeout %d s; %u of %u answered)",
	       active_closed_at / 1000, timeout, aok, asent);
	close(active);
	probe("after stalled connections");
	return 0;
}

/* ------------------------------------------------------------------ */
/* idle-conns N [SECONDS]: many idle TCP connections. */

/*
 * Notes the connections the server has closed: their age (ms since each
 * was opened) goes into *min and *max. Returns how many closed now.
 */
static unsigned idle_reap(struct pollfd *p, const double *opened_at, unsigned n, int ms,
			  double *min, double *max)
{
	unsigned closed = 0;
	double t;

	if (poll(p, n, ms) <= 0)
		return 0;
	t = now_ms();
	for (unsigned i = 0; i < n; i++) {
		char c;
		ssize_t k;

		if (p[i].fd < 0 || !p[i].revents)
			continue;
		k = recv(p[i].fd, &c, 1, MSG_DONTWAIT);
		if (k < 0 && errno != ECONNRESET)
			continue;
		if (k > 0)
			note("idle-conns: connection %u got unasked data", i);
		close(p[i].fd);
		p[i].fd = -1;
		closed++;
		if (t - opened_at[i] < *min)
			*min = t - opened_at[i];
		if (t - opened_at[i] > *max)
			*max = t - opened_at[i];
	}
	return closed;
}

static int scen_idle_conns(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 2000, opened = 0;
	int timeout = argc > 1 ? atoi(argv[1]) : 0;
	double t0, t_open, min = 1e12, max = 0, *opened_at;
	unsigned closed;
	struct pollfd *p;
	struct rlimit rl;
	char when[96];

	if (n == 0 || n > 100000 || timeout < 0 || timeout > 60)
		die("idle-conns: N must be 1..100000, the idle timeout 0..60 s");
	/* Our own descriptors: N connections and a few for the probes. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < n + 64) {
			note("idle-conns: open file limit %lu; using %lu connections",
			     (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_cur - 64);
			n = (unsigned)rl.rlim_cur - 64;
		}
	}
	p = calloc(n, sizeof(*p));
	opened_at = calloc(n, sizeof(*opened_at));
	if (!p || !opened_at)
		die("out of memory");
	t0 = now_ms();
	for (opened = 0; opened < n && now_ms() - t0 < 20000; opened++) {
		if ((p[opened].fd = tcp_open()) < 0)
			break;
		p[opened].events = POLLIN;
		opened_at[opened] = now_ms();
	}
	t_open = now_ms() - t0;
	/* A connect now and then waits a second for a SYN retransmit: its port
	 * met one of the server's TIME_WAIT sockets from earlier closes. So
	 * each connection's age counts, not the time since the first. */
	expect(opened == n, "idle-conns: opened %u of %u TCP connections in %.0f ms", opened, n,
	       t_open);

	/* Nothing younger than the idle timeout is closed (max-tcp-connections
	 * must be above N for this). */
	closed = idle_reap(p, opened_at, opened, 0, &min, &max);
	expect(timeout ? closed == 0 || min >= (timeout - 0.3) * 1000 : closed == 0,
	       "idle-conns: server keeps idle connections open until the timeout (%u of %u "
	       "closed, youngest at %.2f s)",
	       closed, opened, closed ? min / 1000 : 0);
	snprintf(when, sizeof(when), "with %u idle TCP connections open", opened - closed);
	probe(when);

	if (timeout > 0) {
		/* All of them go at the idle timeout, counted from their accept. */
		double end = opened_at[opened ? opened - 1 : 0] + (timeout + 2) * 1000.0;

		while (closed < opened && now_ms() < end)
			closed += idle_reap(p, opened_at, opened, 50, &min, &max);
		expect(closed == opened && min >= (timeout - 0.3) * 1000 &&
			       max <= (timeout + 2) * 1000,
		       "idle-conns: server closed %u of %u idle "
		       "connections at its %d s idle timeout (each after %.2f..%.2f s idle)",
		       closed, opened, timeout, min / 1000, max / 1000);
	}
	for (unsigned i = 0; i < opened; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	free(opened_at);
	probe("after closing the idle connections");
	return 0;
}

/* ------------------------------------------------------------------ */
/* malformed-stream: broken framing on one connection, others unaffected. */

/* Sends bytes on a fresh connection; wants the answers to the requests in
 * it (txns, in order), then: closed (close_after) or still open. */
static void stream_case(const char *what, const uint8_t *data, size_t len,
			const uint8_t (*txns)[16], int ntxn, bool close_after, bool half_close)
{
	static uint8_t buf[STUN_MAX_MSG];
	int fd = tcp_open(), answered = 0;
	long r = TP_ESYS;

	/* A half-close goes out in the same segment as the data (MSG_MORE
	 * holds the data back until the FIN joins it). */
	if (fd < 0 || (half_close ? send(fd, data, len, MSG_MORE | MSG_NOSIGNAL) != (ssize_t)len
				  : !send_all(fd, data, len))) {
		expect(false, "tcp: %s: connect and send", what);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	for (int i = 0; i < ntxn; i++) {
		r = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
		if (!answer_is_success(buf, r, txns[i]))
			break;
		answered++;
	}
	if (ntxn > 0)
		expect(answered == ntxn, "tcp: %s: %d of %d requests answered%s%s", what, answered,
		       ntxn, answered < ntxn ? ", then " : "",
		       answered < ntxn ? tcp_result(r) : "");
	r = tcp_recv_msg(fd, buf, sizeof(buf), close_after ? ANSWER_MS : SILENCE_MS);
	if (close_after)
		expect(r == 0, "tcp: %s: then closed by the server (%s)", what, tcp_result(r));
	else
		expect(r == TP_EAGAIN, "tcp: %s: connection stays open (%s)", what, tcp_result(r));
	close(fd);
}

static int scen_malformed_stream(int argc, char **argv)
{
	static uint8_t buf[STUN_MAX_MSG];
	uint8_t req[64], req2[64], data[256], txn[2][16], bt[16];
	size_t len, len2;
	struct wire_wr w;
	int bystander;
	long r;
	(void)argc;
	(void)argv;

	/* A bystander connection, answered before and after. */
	bystander = tcp_open();
	if (bystander < 0)
		die("malformed-stream: tcp connect: %s", strerror(errno));
	len = make_binding(req, sizeof(req), bt, TAG_GOOD, 0, false);
	r = send_all(bystander, req, len) ? tcp_recv_msg(bystander, buf, sizeof(buf), ANSWER_MS)
					  : TP_ESYS;
	expect(answer_is_success(buf, r, bt), "tcp: bystander connection answered (%s)",
	       tcp_result(r));

	/* A request and garbage (0xFF...) in one write. */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 1, false);
	wire_wr_init(&w, data, sizeof(data));
	wire_wr_bytes(&w, req, len);
	wire_wr_u8(&w, 0xFF);
	wire_wr_zero(&w, 15);
	stream_case("request + 0xFF garbage in one write", data, w.pos, txn, 1, true, false);

	/* The request answered first, then the garbage. */
	{
		int fd = tcp_open();
		long r1 = TP_ESYS, r2 = TP_ESYS;
		bool ok1 = false;

		len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 2, false);
		if (fd >= 0 && send_all(fd, req, len)) {
			r1 = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
			ok1 = answer_is_success(buf, r1, txn[0]);
			if (ok1 && send_all(fd, "\xff\xff\xff\xff", 4))
				r2 = tcp_recv_msg(fd, buf, sizeof(buf), ANSWER_MS);
		}
		expect(ok1, "tcp: request, answer, then 0xFF garbage: answered (%s)",
		       tcp_result(r1));
		expect(r2 == 0,
		       "tcp: request, answer, then 0xFF garbage: closed by the "
		       "server (%s)",
		       tcp_result(r2));
		if (fd >= 0)
			close(fd);
	}

	/* Garbage first. */
	stream_case("0xFF garbage first", (const uint8_t *)"\xff\x00\x00\x00", 4, NULL, 0, true,
		    false);

	/* A request then a STUN header whose length is not a multiple of 4. */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 3, false);
	wire_wr_init(&w, data, sizeof(data));
	wire_wr_bytes(&w, req, len);
	raw_header(&w, STUN_BINDING, 5, txn[0]);
	wire_wr_zero(&w, 8);
	stream_case("request + header with length 5", data, w.pos, txn, 1, true, false);

	/* A request then a byte between STUN and ChannelData (0x05, RFC 7983). */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 4, false);
	wire_wr_init(&w, data, sizeof(data));
	wire_wr_bytes(&w, req, len);
	wire_wr_u32(&w, 0x05000000);
	stream_case("request + first byte 0x05", data, w.pos, txn, 1, true, false);

	/* ChannelData frames between requests: well framed, skipped (no
	 * allocation), the stream goes on. */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 5, false);
	len2 = make_binding(req2, sizeof(req2), txn[1], TAG_GOOD, 6, false);
	wire_wr_init(&w, data, sizeof(data));
	wire_wr_bytes(&w, req, len);
	wire_wr_u16(&w, 0x4001);
	wire_wr_u16(&w, 3);
	wire_wr_bytes(&w, "abc\0", 4);
	wire_wr_bytes(&w, req2, len2);
	stream_case("request + ChannelData + request", data, w.pos, txn, 2, false, false);

	/* A request and our FIN: the answer still comes, then the close. */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 7, true);
	stream_case("request then FIN (half-close)", req, len, txn, 1, true, true);

	/* Two requests back to back, then garbage in the same write. */
	len = make_binding(req, sizeof(req), txn[0], TAG_GOOD, 8, false);
	len2 = make_binding(req2, sizeof(req2), txn[1], TAG_GOOD, 9, true);
	wire_wr_init(&w, data, sizeof(data));
	wire_wr_bytes(&w, req, len);
	wire_wr_bytes(&w, req2, len2);
	wire_wr_bytes(&w, "\xff\xfe\xfd\xfc", 4);
	stream_case("two requests + garbage in one write", data, w.pos, txn, 2, true, false);

	len = make_binding(req, sizeof(req), bt, TAG_GOOD, 10, false);
	r = send_all(bystander, req, len) ? tcp_recv_msg(bystander, buf, sizeof(buf), ANSWER_MS)
					  : TP_ESYS;
	expect(answer_is_success(buf, r, bt),
	       "tcp: bystander connection still answered "
	       "after the others broke (%s)",
	       tcp_result(r));
	close(bystander);
	probe("after malformed streams");
	return 0;
}

/* ------------------------------------------------------------------ */
/* flood-mixed [SECONDS [PACKETS]]: valid requests and junk from many ports. */

#define FLOOD_SOCKS 64
#define FLOOD_WINDOW 128  /* datagrams in flight at most, junk included */
#define FLOOD_LOST_MS 200 /* an answer this late counts as lost for pacing */

struct flood {
	int fd[FLOOD_SOCKS];
	uint8_t *answered; /* by sequence number of the valid requests */
	double *sent_at;
	unsigned *pkt_no; /* which datagram each valid request was */
	unsigned valid, junk, ok, strays, low;
};

/* Reads every answer waiting on the sockets, for up to ms. */
static void flood_collect(struct flood *f, int ms)
{
	static uint8_t buf[STUN_MAX_MSG];
	struct pollfd p[FLOOD_SOCKS];
	struct stun_msg msg;

	for (int i = 0; i < FLOOD_SOCKS; i++) {
		p[i].fd = f->fd[i];
		p[i].events = POLLIN;
	}
	if (poll(p, FLOOD_SOCKS, ms) <= 0)
		return;
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		ssize_t n;

		if (!p[i].revents)
			continue;
		while ((n = recv(f->fd[i], buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			uint32_t seq;

			if (stun_msg_parse(&msg, buf, (size_t)n) != 0 ||
			    txn_tag(msg.txn) != TAG_GOOD || (seq = txn_seq(msg.txn)) >= f->valid ||
			    f->answered[seq]) {
				f->strays++;
				continue;
			}
			f->answered[seq] = 1;
			f->ok++;
		}
	}
}

/* Junk for the flood: random, STUN-shaped, a truncated or mis-fingerprinted
 * request, ChannelData-shaped. */
static size_t flood_junk(uint8_t *buf, size_t cap)
{
	uint8_t txn[16];
	unsigned kind;
	size_t len;

	switch (prng_below(4)) {
	case 0:
		len = make_binding(buf, cap, txn, TAG_JUNK, 0, true);
		return prng_below((uint32_t)len);
	case 1:
		len = make_binding(buf, cap, txn, TAG_JUNK, 0, true);
		buf[len - 1 - prng_below(4)] ^= (uint8_t)(1 + prng_below(255));
		return len;
	default:
		return junk_random(buf, 600, &kind);
	}
}

static int scen_flood_mixed(int argc, char **argv)
{
	static uint8_t buf[1500];
	double secs = argc > 0 ? atof(argv[0]) : 5;
	unsigned max = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 50000, sent = 0;
	struct flood f;
	double t0, t_end, elapsed;
	uint8_t txn[16];

	if (secs <= 0 || secs > 60 || max == 0 || max > 10000000)
		die("flood-mixed: SECONDS 0..60, PACKETS 1..10000000");
	memset(&f, 0, sizeof(f));
	f.answered = calloc(max, 1);
	f.sent_at = calloc(max, sizeof(double));
	f.pkt_no = calloc(max, sizeof(unsigned));
	if (!f.answered || !f.sent_at || !f.pkt_no)
		die("out of memory");
	for (int i = 0; i < FLOOD_SOCKS; i++)
		f.fd[i] = udp_open();
	t0 = now_ms();
	t_end = t0 + secs * 1000;
	while (sent < max && now_ms() < t_end) {
		int fd = f.fd[sent % FLOOD_SOCKS];
		double t = now_ms();
		size_t len;

		/* Pacing: the server reads each socket in order, so when a
		 * valid request is answered every datagram before it was read.
		 * At most FLOOD_WINDOW datagrams since the oldest valid request
		 * unanswered and younger than FLOOD_LOST_MS, so the server's
		 * socket buffer is not what is measured. */
		while (f.low < f.valid &&
		       (f.answered[f.low] || t - f.sent_at[f.low] > FLOOD_LOST_MS))
			f.low++;
		if (f.low < f.valid && sent - f.pkt_no[f.low] >= FLOOD_WINDOW) {
			flood_collect(&f, 5);
			continue;
		}
		if (prng_below(2)) {
			len = make_binding(buf, sizeof(buf), txn, TAG_GOOD, f.valid, prng_below(2));
			f.sent_at[f.valid] = t;
			f.pkt_no[f.valid] = sent;
			if (send(fd, buf, len, 0) >= 0)
				f.valid++;
		} else {
			len = flood_junk(buf, sizeof(buf));
			if (send(fd, buf, len, 0) >= 0)
				f.junk++;
		}
		sent++;
		if (sent % 32 == 0)
			flood_collect(&f, 0);
	}
	elapsed = now_ms() - t0;
	/* Answers still on their way. */
	for (double t = now_ms(); f.ok < f.valid && now_ms() - t < 1000;)
		flood_collect(&f, 20);
	note("flood-mixed: %u packets in %.2f s (%.0f/s) from %d sockets: %u valid, %u junk; "
	     "%u answered (%.2f%%), %u other answers",
	     sent, elapsed / 1000, sent / (elapsed / 1000), FLOOD_SOCKS, f.valid, f.junk, f.ok,
	     f.valid ? 100.0 * f.ok / f.valid : 0, f.strays);
	expect(f.valid > 0 && f.ok * 100.0 >= f.valid * 95.0,
	       "flood-mixed: at least 95%% of %u valid requests answered (%.2f%%)", f.valid,
	       f.valid ? 100.0 * f.ok / f.valid : 0);
	for (int i = 0; i < FLOOD_SOCKS; i++)
		close(f.fd[i]);
	free(f.answered);
	free(f.sent_at);
	free(f.pkt_no);
	probe("after the mixed flood");
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct probe_scenario scenarios[] = {
	{"random", scen_random, "[COUNT]"},
	{"truncated", scen_truncated, ""},
	{"unknown-attr", scen_unknown_attr, ""},
	{"big", scen_big, ""},
	{"stall", scen_stall, "[IDLE_TIMEOUT_SECONDS]"},
	{"idle-conns", scen_idle_conns, "N [IDLE_TIMEOUT_SECONDS]"},
	{"malformed-stream", scen_malformed_stream, ""},
	{"flood-mixed", scen_flood_mixed, "[SECONDS [PACKETS]]"},
};

static void usage(void)
{
	fprintf(stderr, "usage: badinput HOST PORT SCENARIO [args]\n"
			"  HOST is a loopback address; BADINPUT_SEED=N replays a run.\n"
			"scenarios:\n");
	probe_list(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
	exit(2);
}

int main(int argc, char **argv)
{
	const char *seed_env = getenv("BADINPUT_SEED");
	uint64_t seed;
	int rc = -1;

	probe_name = "badinput";

	if (argc < 4)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!probe_server(argv[1], argv[2], &server))
		usage();
	seed = seed_env ? strtoull(seed_env, NULL, 0)
			: ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if (seed == 0)
		seed = 1;
	prng = seed;
	note("badinput %s against %s port %u, seed %" PRIu64 " (BADINPUT_SEED=%" PRIu64
	     " replays it)",
	     argv[3], argv[1], addr_port(SA(&server)), seed, seed);
	rc = probe_run(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), argv[3], argc - 4,
		       argv + 4);
	if (rc < 0)
		usage();
	return probe_finish(argv[3]);
}
