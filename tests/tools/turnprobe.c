/* turnprobe.c - TURN negative and edge scenarios for the system tests: a
 * client of a running turnpiked on loopback (the project's own client,
 * src/client/turn.c), with UDP echo peers of its own on the peer IP.
 *
 *   turnprobe SERVER_HOST SERVER_PORT SCENARIO [args] [options]
 *
 * One "ok - ..." or "FAIL - ..." line per assertion, "# ..." lines for
 * figures; the exit status is 0 only when every assertion passed. All
 * traffic goes to loopback: the server, the peers (127.0.0.0/8) and sockets
 * of our own that must receive nothing. Every loop is bounded in count and
 * in time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "turnpike/err.h"
#include "probe.h"
#include "turnpike/stun.h"
#include "turnpike/wire.h"
#include "util/addr.h"
#include "util/rand.h"

#define TIMEOUT_MS 3000   /* one transaction */
#define DATA_WAIT_MS 1000 /* one relayed datagram we expect */
#define SILENCE_MS 400    /* wait that shows nothing is coming */
#define WINDOW 8          /* datagrams in flight in the relay scenario */
#define MAX_PEERS 4
#define PEER_LIFE_MS 120000 /* the peer thread stops by itself after this */
#define PAY_MAGIC 0x54505242u
#define PAY_MIN 12
#define PAY_MAX 1000
#define REQ_ATTR 0x0042 /* unassigned comprehension-required type */
#define OPT_ATTR 0x8050 /* unassigned comprehension-optional type */
#define FLOOD_SOCKS 256

#define SA(ss) ((struct sockaddr *)(ss))

static struct {
	struct sockaddr_storage server;
	uint16_t port;
	const char *user, *password;
	const char *user2, *password2;
	const char *secret;
	const char *peer_ip;
	bool tcp, v6;
	unsigned max_lifetime;
	uint16_t relay_port;
} opt = {
	.user = "alice",
	.password = "secret",
	.user2 = "bob",
	.password2 = "hunter2",
	.peer_ip = "127.0.0.2",
	.v6 = true,
	.max_lifetime = 3600,
	.relay_port = 20000,
};

/* ------------------------------------------------------------------ */
/* Reporting and time. */

static struct sockaddr_storage mkaddr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	if (addr_parse(ip, port, &ss) != 0)
		die("bad address %s", ip);
	addr_set_port(SA(&ss), port);
	return ss;
}

static const char *fmt_addr(const struct sockaddr_storage *ss)
{
	static char buf[4][ADDR_STRLEN];
	static unsigned n;
	char *b = buf[n++ % 4];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return "(none)";
	return addr_format((const struct sockaddr *)ss, true, b, ADDR_STRLEN);
}

/* "success", "401", or the client error, for messages. */
static const char *outcome(int v)
{
	static char buf[4][48];
	static unsigned n;
	char *b = buf[n++ % 4];

	if (v == 0)
		return "success";
	if (v > 0)
		snprintf(b, 48, "%d", v);
	else
		snprintf(b, 48, "client error: %s", tp_strerror(v));
	return b;
}

/* The request's outcome: a tp_err, 0 or the STUN error code. */
static int got(int rc, const struct client_turn_result *r)
{
	return rc ? rc : r->error_code;
}

static bool expect_code(int rc, const struct client_turn_result *r, int want, const char *what)
{
	return expect(got(rc, r) == want, "%s: %s (got %s)", what, outcome(want),
		      outcome(got(rc, r)));
}

/* The outcome of a raw answer: 0 for success, the ERROR-CODE, or
 * TP_EMALFORMED. */
static int answer_code(const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	const struct stun_attr *a;
	const char *reason;
	size_t rlen;
	int code;

	if (stun_msg_parse(&m, buf, len) != 0)
		return TP_EMALFORMED;
	if (m.cls == STUN_SUCCESS)
		return 0;
	a = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
	if (m.cls != STUN_ERROR || !a || stun_attr_get_error(&m, a, &code, &reason, &rlen) != 0)
		return TP_EMALFORMED;
	return code;
}

/* ------------------------------------------------------------------ */
/* Clients. */

static struct client_turn *client_new(bool tcp, const char *user, const char *pass)
{
	struct client_turn *c;
	int rc = client_turn_open(&c, SA(&opt.server), tcp, TIMEOUT_MS);

	if (rc != 0)
		die("cannot reach the server: %s", tp_strerror(rc));
	if (user && client_turn_set_user(c, user, pass) != 0)
		die("bad credentials");
	return c;
}

static struct client_turn *client_default(void)
{
	return client_new(opt.tcp, opt.user, opt.password);
}

static struct client_turn *client_rest(const char *secret, const char *user, long long expiry,
				       bool user_first)
{
	struct client_turn *c = client_new(opt.tcp, NULL, NULL);

	if (client_turn_set_rest(c, secret, user, expiry, user_first) != 0)
		die("cannot make REST credentials");
	return c;
}

/* Allocates and asserts success; returns whether it worked. */
static bool allocate_ok(struct client_turn *c, const struct client_turn_alloc_opts *o,
			struct client_turn_result *r, const char *what)
{
	int rc = client_turn_allocate(c, o, r);

	return expect(got(rc, r) == 0 && r->relayed.ss_family != AF_UNSPEC,
		      "%s: allocation %s, relayed %s", what, outcome(got(rc, r)),
		      fmt_addr(&r->relayed));
}

/* ------------------------------------------------------------------ */
/* Payloads: magic, sequence number, length, then a pattern from the
 * sequence number, so any receiver can tell a datagram is intact. */

static size_t payload_len(uint32_t seq)
{
	return PAY_MIN + (seq * 97u) % (PAY_MAX - PAY_MIN + 1);
}

static size_t payload_make(uint8_t *buf, uint32_t seq, size_t len)
{
	struct wire_wr w;

	wire_wr_init(&w, buf, len);
	wire_wr_u32(&w, PAY_MAGIC);
	wire_wr_u32(&w, seq);
	wire_wr_u32(&w, (uint32_t)len);
	for (size_t i = PAY_MIN; i < len; i++)
		wire_wr_u8(&w, (uint8_t)(seq * 131u + i * 7u + 3u));
	return w.pos;
}

static bool payload_check(const uint8_t *buf, size_t len, uint32_t *seq)
{
	struct wire_rd r;
	uint32_t magic, n;

	wire_rd_init(&r, buf, len);
	magic = wire_rd_u32(&r);
	*seq = wire_rd_u32(&r);
	n = wire_rd_u32(&r);
	if (r.err || magic != PAY_MAGIC || n != len)
		return false;
	for (size_t i = PAY_MIN; i < len; i++)
		if (wire_rd_u8(&r) != (uint8_t)(*seq * 131u + i * 7u + 3u))
			return false;
	return !r.err;
}

/* ------------------------------------------------------------------ */
/* Peers: UDP sockets on the peer IP served by one thread that counts what
 * arrives and (when asked) echoes it to the sender. */

struct peer {
	int fd;
	struct sockaddr_storage addr;
	bool echo;
	atomic_ulong pkts, bytes, intact, bad;
};

static struct peer peers[MAX_PEERS];
static int npeers;
static pthread_t peer_thread;
static atomic_bool peer_stop;
static bool peer_running;

/* A UDP socket bound to ip on an ephemeral port. */
static int udp_bound(const char *ip, struct sockaddr_storage *addr)
{
	struct sockaddr_storage ss = mkaddr(ip, 0);
	socklen_t len = sizeof(*addr);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (!is_loopback(SA(&ss)))
		die("%s is not a loopback address", ip);
	if (fd < 0 || bind(fd, SA(&ss), addr_len(SA(&ss))) != 0 ||
	    getsockname(fd, SA(addr), &len) != 0)
		die("cannot bind a UDP socket on %s: %s", ip, strerror(errno));
	return fd;
}

/* A peer on the loopback address ip (IPv4 or ::1). */
static struct peer *peer_add_on(const char *ip, bool echo)
{
	struct peer *p;

	if (npeers == MAX_PEERS || peer_running)
		die("peer_add: too many peers, or the thread runs");
	p = &peers[npeers++];
	p->fd = udp_bound(ip, &p->addr);
	p->echo = echo;
	return p;
}

/* A peer on --peer-ip. */
static struct peer *peer_add(bool echo)
{
	return peer_add_on(opt.peer_ip, echo);
}

static void *peer_main(void *arg)
{
	struct pollfd pf[MAX_PEERS];
	double end = now_ms() + PEER_LIFE_MS;
	static uint8_t buf[65536];
	(void)arg;

	for (int i = 0; i < npeers; i++)
		pf[i] = (struct pollfd){.fd = peers[i].fd, .events = POLLIN};
	while (!atomic_load(&peer_stop) && now_ms() < end) {
		if (poll(pf, (nfds_t)npeers, 50) <= 0)
			continue;
		for (int i = 0; i < npeers; i++) {
			struct peer *p = &peers[i];
			/* Bounded per wakeup so stop is seen promptly. */
			for (int k = 0; k < 256 && (pf[i].revents & POLLIN); k++) {
				struct sockaddr_storage from;
				socklen_t flen = sizeof(from);
				ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0, SA(&from), &flen);
				uint32_t seq;

				if (n < 0)
					break;
				p->pkts++;
				p->bytes += (unsigned long)n;
				if (payload_check(buf, (size_t)n, &seq))
					p->intact++;
				else
					p->bad++;
				if (p->echo && is_loopback(SA(&from)))
					sendto(p->fd, buf, (size_t)n, 0, SA(&from), flen);
			}
		}
	}
	return NULL;
}

static void peers_start(void)
{
	atomic_store(&peer_stop, false);
	if (pthread_create(&peer_thread, NULL, peer_main, NULL) != 0)
		die("pthread_create failed");
	peer_running = true;
}

static void peers_stop(void)
{
	if (peer_running) {
		atomic_store(&peer_stop, true);
		pthread_join(peer_thread, NULL);
		peer_running = false;
	}
	for (int i = 0; i < npeers; i++)
		close(peers[i].fd);
	npeers = 0;
}

/* Nothing arrives on fd for SILENCE_MS. */
static bool silent(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t buf[2048];

	if (poll(&p, 1, SILENCE_MS) <= 0)
		return true;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0;
}

/* ------------------------------------------------------------------ */
/* relay [COUNT]: COUNT datagrams each way through a channel and through
 * Send/Data indications, all intact. */

static void stream(struct client_turn *c, uint16_t chan, struct peer *p, unsigned count,
		   uint32_t base, const char *how)
{
	unsigned long intact0 = p->intact, bad0 = p->bad;
	unsigned sent = 0, back = 0, wrong = 0, dup = 0;
	uint8_t *seen = calloc(count, 1), buf[PAY_MAX], rx[PAY_MAX + 16];
	double end = now_ms() + 20000;
	struct client_turn_data d;
	uint32_t seq;

	if (!seen)
		die("out of memory");
	while ((sent < count || back + wrong + dup < sent) && now_ms() < end) {
		if (sent < count && sent - back < WINDOW) {
			size_t len = payload_make(buf, base + sent, payload_len(sent));
			int rc = chan ? client_turn_channel_send(c, chan, buf, len)
				      : client_turn_send(c, SA(&p->addr), buf, len);
			if (rc != 0)
				die("send: %s", tp_strerror(rc));
			sent++;
			continue;
		}
		if (client_turn_recv(c, rx, sizeof(rx), DATA_WAIT_MS, &d) != 0)
			break; /* lost: the counts below say so */
		if (!payload_check(rx, d.len, &seq) || seq < base || seq >= base + count ||
		    d.channel != chan || !addr_equal(SA(&d.peer), SA(&p->addr)))
			wrong++;
		else if (seen[seq - base]++)
			dup++;
		else
			back++;
	}
	free(seen);
	/* The peer may still be counting the last ones. */
	for (double t = now_ms(); p->intact - intact0 < count && now_ms() - t < DATA_WAIT_MS;)
		sleep_ms(10);
	expect(p->intact - intact0 == count && p->bad == bad0,
	       "%s%s: %u datagrams arrived intact at the peer (%lu intact, %lu damaged)", how,
	       opt.tcp ? " over TCP" : "", count, p->intact - intact0, p->bad - bad0);
	expect(back == count && wrong == 0 && dup == 0,
	       "%s%s: %u echoes came back intact (%u intact, %u wrong, %u duplicated)", how,
	       opt.tcp ? " over TCP" : "", count, back, wrong, dup);
}

/* Two allocations on this server relay to each other: our own IP is
 * allowed as a peer on ports of the relay range. */
static unsigned c2c_one_way(struct client_turn *from, struct client_turn *to, uint16_t chan,
			    uint16_t rx_chan, const struct sockaddr_storage *to_relayed,
			    const struct sockaddr_storage *from_relayed, unsigned count)
{
	uint8_t buf[PAY_MAX], rx[PAY_MAX];
	struct client_turn_data d;
	unsigned ok = 0;
	uint32_t seq;

	for (unsigned i = 0; i < count; i++) {
		size_t len = payload_make(buf, i, payload_len(i));
		int rc = chan ? client_turn_channel_send(from, chan, buf, len)
			      : client_turn_send(from, SA(to_relayed), buf, len);
		if (rc != 0 || client_turn_recv(to, rx, sizeof(rx), DATA_WAIT_MS, &d) != 0)
			break;
		ok += payload_check(rx, d.len, &seq) && seq == i && d.channel == rx_chan &&
		      addr_equal(SA(&d.peer), SA(from_relayed));
	}
	return ok;
}

static void client_to_client(unsigned count)
{
	struct client_turn *c1 = client_default(), *c2 = client_default();
	struct client_turn_result r1, r2, r;
	unsigned ok;

	if (!allocate_ok(c1, NULL, &r1, "relay client-to-client, first") ||
	    !allocate_ok(c2, NULL, &r2, "relay client-to-client, second"))
		goto out;
	expect_code(client_turn_create_permission(c1, &r2.relayed, 1, &r), &r, 0,
		    "relay: CreatePermission for the other client's relayed address");
	expect_code(client_turn_channel_bind(c2, 0x4001, SA(&r1.relayed), &r), &r, 0,
		    "relay: ChannelBind to the other client's relayed address");
	/* The second client has a channel to the first: it gets ChannelData. */
	ok = c2c_one_way(c1, c2, 0, 0x4001, &r2.relayed, &r1.relayed, count);
	expect(ok == count,
	       "relay: client to client, Send indication in, ChannelData out: %u of "
	       "%u arrived intact",
	       ok, count);
	ok = c2c_one_way(c2, c1, 0x4001, 0, &r1.relayed, &r2.relayed, count);
	expect(ok == count,
	       "relay: client to client, ChannelData in, Data indication out: %u of "
	       "%u arrived intact",
	       ok, count);
out:
	client_turn_free(c1);
	client_turn_free(c2);
}

static int scen_relay(int argc, char **argv)
{
	unsigned count = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 200;
	struct peer *pc, *ps;
	struct client_turn *c;
	struct client_turn_result r;
	struct sockaddr_storage both[2];

	if (count == 0 || count > 100000)
		die("relay: COUNT 1..100000");
	pc = peer_add(true);
	ps = peer_add(true);
	peers_start();
	c = client_default();
	if (!allocate_ok(c, NULL, &r, "relay"))
		goto out;
	expect(r.mapped.ss_family != AF_UNSPEC && r.has_lifetime && r.lifetime == 600 &&
		       r.integrity,
	       "relay: answer has XOR-MAPPED-ADDRESS %s, LIFETIME %u, valid MESSAGE-INTEGRITY",
	       fmt_addr(&r.mapped), r.lifetime);
	both[0] = pc->addr;
	both[1] = ps->addr;
	expect_code(client_turn_create_permission(c, both, 2, &r), &r, 0,
		    "relay: CreatePermission for two peers");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&pc->addr), &r), &r, 0,
		    "relay: ChannelBind 0x4000");
	stream(c, 0x4000, pc, count, 0, "ChannelData");
	stream(c, 0, ps, count, 1000000, "Send/Data indications");
	client_to_client(count < 20 ? count : 20);
out:
	client_turn_free(c);
	peers_stop();
	return 0;
}

/* ------------------------------------------------------------------ */
/* auth: long-term credential failures and variants. */

static void auth_case(const char *user, const char *pass, uint8_t alg, bool userhash, int flags,
		      int want, const char *what)
{
	struct client_turn *c = client_new(opt.tcp, user, pass);
	struct client_turn_result r;
	int rc;

	client_turn_set_alg(c, alg, userhash);
	client_turn_set_flags(c, flags);
	rc = client_turn_allocate(c, NULL, &r);
	if (expect_code(rc, &r, want, what) && want == 0)
		expect(r.integrity && r.sha256 == (alg == STUN_PWALG_SHA256),
		       "%s: answer signed with MESSAGE-INTEGRITY%s", what,
		       alg == STUN_PWALG_SHA256 ? "-SHA256" : "");
	if (rc == 0 && want != 0 && want != STUN_ERR_BAD_REQUEST)
		expect(r.challenges == 1 && !r.integrity,
		       "%s: the %d came after the challenge, unsigned", what, want);
	client_turn_free(c);
}

/* The nonce is bound to the client's address (RFC 8489 §9.2.2 lets the
 * server encode it): a signed request replayed from another port gets 438. */
static void auth_replay(struct client_turn *c)
{
	struct client_turn *other = client_new(opt.tcp, NULL, NULL);
	const uint8_t *req, *ans;
	uint8_t copy[2048], back[2048];
	size_t reqlen, anslen, len;
	int rc;

	client_turn_last(c, &req, &reqlen, &ans, &anslen);
	if (reqlen > sizeof(copy))
		die("request too long");
	memcpy(copy, req, reqlen);
	rc = client_turn_raw(other, copy, reqlen, back, sizeof(back), &len);
	if (rc == 0)
		rc = answer_code(back, len);
	expect(rc == STUN_ERR_STALE_NONCE,
	       "auth a signed Refresh replayed from another port: 438 (got %s)", outcome(rc));
	client_turn_free(other);
}

static int scen_auth(int argc, char **argv)
{
	struct client_turn *c;
	struct client_turn_result r;
	char wrong[300];
	(void)argc;
	(void)argv;

	snprintf(wrong, sizeof(wrong), "%s-wrong", opt.password);
	auth_case(opt.user, opt.password, STUN_PWALG_MD5, false, 0, 0, "auth MD5");
	auth_case(opt.user, wrong, STUN_PWALG_MD5, false, 0, 401, "auth wrong password");
	auth_case("nobody-such", "x", STUN_PWALG_MD5, false, 0, 401, "auth unknown user");
	auth_case(opt.user, opt.password, STUN_PWALG_SHA256, false, 0, 0, "auth SHA-256");
	auth_case(opt.user, wrong, STUN_PWALG_SHA256, false, 0, 401, "auth SHA-256 wrong password");
	auth_case(opt.user, opt.password, STUN_PWALG_MD5, true, 0, 0, "auth USERHASH (MD5)");
	auth_case(opt.user, opt.password, STUN_PWALG_SHA256, true, 0, 0, "auth USERHASH + SHA-256");
	auth_case("nobody-such", "x", STUN_PWALG_MD5, true, 0, 401, "auth USERHASH of nobody");
	auth_case(opt.user, opt.password, STUN_PWALG_MD5, false, CLIENT_TURN_NO_REALM, 400,
		  "auth integrity without REALM");
	auth_case(opt.user, opt.password, STUN_PWALG_MD5, false, CLIENT_TURN_NO_NONCE, 400,
		  "auth integrity without NONCE");
	auth_case(opt.user, opt.password, STUN_PWALG_MD5, false, CLIENT_TURN_FINGERPRINT, 0,
		  "auth with FINGERPRINT");

	/* RFC 8656 §5: requests on an allocation use its credentials. */
	c = client_default();
	if (allocate_ok(c, NULL, &r, "auth 441")) {
		struct sockaddr_storage peer = mkaddr(opt.peer_ip, 9);

		client_turn_set_user(c, opt.user2, opt.password2);
		expect_code(client_turn_refresh(c, 600, &r), &r, 441,
			    "auth another user's Refresh on the allocation");
		expect_code(client_turn_create_permission(c, &peer, 1, &r), &r, 441,
			    "auth another user's CreatePermission on the allocation");
		client_turn_set_user(c, opt.user, opt.password);
		expect_code(client_turn_refresh(c, 600, &r), &r, 0,
			    "auth the owner's Refresh still works");
		auth_replay(c);
	}
	client_turn_free(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* rest: TURN REST API credentials. */

static void rest_case(const char *secret, long long expiry, bool user_first, uint8_t alg,
		      bool userhash, int want, const char *what)
{
	struct client_turn *c = client_rest(secret, "restuser", expiry, user_first);
	struct client_turn_result r;
	int rc;

	client_turn_set_alg(c, alg, userhash);
	rc = client_turn_allocate(c, NULL, &r);
	if (expect_code(rc, &r, want, what) && want == 0)
		expect(r.integrity, "%s: answer signed", what);
	client_turn_free(c);
}

static int scen_rest(int argc, char **argv)
{
	long long now = (long long)time(NULL);
	char wrong[300];
	(void)argc;
	(void)argv;

	if (!opt.secret)
		die("rest needs --secret");
	snprintf(wrong, sizeof(wrong), "%s-wrong", opt.secret);
	rest_case(opt.secret, now + 3600, false, STUN_PWALG_MD5, false, 0, "rest EXPIRY:USER name");
	rest_case(opt.secret, now + 3600, true, STUN_PWALG_MD5, false, 0, "rest USER:EXPIRY name");
	rest_case(opt.secret, now + 3600, false, STUN_PWALG_SHA256, false, 0, "rest with SHA-256");
	rest_case(opt.secret, now - 60, false, STUN_PWALG_MD5, false, 401, "rest expired name");
	rest_case(opt.secret, now - 60, true, STUN_PWALG_MD5, false, 401,
		  "rest expired USER:EXPIRY name");
	rest_case(wrong, now + 3600, false, STUN_PWALG_MD5, false, 401, "rest wrong secret");
	rest_case(opt.secret, now + 3600, false, STUN_PWALG_MD5, true, 401,
		  "rest USERHASH (cannot be mapped back)");
	return 0;
}

/* ------------------------------------------------------------------ */
/* stale-nonce N: after the nonce lifetime a request gets 438 once, then
 * succeeds with the fresh nonce. */

static int scen_stale(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 0;
	struct client_turn *c;
	struct client_turn_result r;
	int rc;

	if (n == 0 || n > 60)
		die("stale-nonce: N (the server's stale-nonce) 1..60");
	c = client_default();
	if (allocate_ok(c, NULL, &r, "stale-nonce") &&
	    expect(r.stale == 0, "stale-nonce: a fresh nonce is not stale")) {
		note("stale-nonce: waiting %u s", n + 1);
		sleep_ms((n + 1) * 1000.0);
		rc = client_turn_refresh(c, 600, &r);
		expect_code(rc, &r, 0, "stale-nonce: Refresh after the nonce expired");
		expect(r.stale == 1 && client_turn_stale_count(c) == 1,
		       "stale-nonce: the client saw 438 first (%u this request, %u in all)",
		       r.stale, client_turn_stale_count(c));
		rc = client_turn_refresh(c, 600, &r);
		expect(got(rc, &r) == 0 && r.stale == 0,
		       "stale-nonce: the fresh nonce works at once (%s, %u stale)",
		       outcome(got(rc, &r)), r.stale);
	}
	client_turn_free(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* forbidden: the peer policy. */

static const char *const forbidden_v4[] = {
	"10.0.0.1", "172.16.0.1", "192.168.1.1",     "100.64.0.1", "169.254.169.254",
	"0.0.0.0",  "224.0.0.1",  "255.255.255.255", "240.0.0.1",  "192.0.2.1",
};
/* Loopback (allowed on this server, but for its listening ports) is the
 * loopback scenario's. */
static const char *const forbidden_v6[] = {
	"::ffff:169.254.169.254",
	"64:ff9b::a9fe:a9fe",
	"2002:7f00:1::1",
	"2001:0:4136:e378:8000:63bf:3fff:fdd2",
	"fe80::1",
	"fc00::1",
	"ff02::1",
	"::",
};

static void perm_forbidden(struct client_turn *c, const struct sockaddr_storage *peer, int want)
{
	struct client_turn_result r;
	char what[128];

	snprintf(what, sizeof(what), "forbidden CreatePermission %s", fmt_addr(peer));
	expect_code(client_turn_create_permission(c, peer, 1, &r), &r, want, what);
}

/* One datagram to p and its echo: the allocation relays. */
static bool relays(struct client_turn *c, struct peer *p, uint32_t seq)
{
	uint8_t buf[PAY_MAX], rx[PAY_MAX];
	size_t len = payload_make(buf, seq, 64);
	struct client_turn_data d;
	uint32_t back;

	if (client_turn_send(c, SA(&p->addr), buf, len) != 0)
		return false;
	return client_turn_recv(c, rx, sizeof(rx), DATA_WAIT_MS, &d) == 0 &&
	       payload_check(rx, d.len, &back) && back == seq;
}

static void forbidden_v4_part(struct peer *echo)
{
	struct sockaddr_storage self = mkaddr("127.0.0.1", opt.port), relay_port, bad[2],
				listen_other, peer, relayed;
	struct client_turn *c = client_default();
	struct client_turn_result r;
	uint8_t buf[64];
	size_t len = payload_make(buf, 7, sizeof(buf));
	int fd_other;

	if (!allocate_ok(c, NULL, &r, "forbidden IPv4 relay"))
		goto out;
	relayed = r.relayed;
	for (size_t i = 0; i < sizeof(forbidden_v4) / sizeof(forbidden_v4[0]); i++) {
		peer = mkaddr(forbidden_v4[i], 9);
		perm_forbidden(c, &peer, 403);
	}
	perm_forbidden(c, &self, 403);
	expect_code(client_turn_channel_bind(c, 0x4001, SA(&self), &r), &r, 403,
		    "forbidden ChannelBind to the server's own address and port");
	peer = mkaddr("10.0.0.1", 9);
	expect_code(client_turn_channel_bind(c, 0x4002, SA(&peer), &r), &r, 403,
		    "forbidden ChannelBind to 10.0.0.1");
	peer = mkaddr("::1", 9);
	perm_forbidden(c, &peer, 443);
	peer = mkaddr("::ffff:127.0.0.2", 9);
	perm_forbidden(c, &peer, 443);

	/* All or nothing (RFC 8656 §9.2): one refused peer refuses the rest. */
	bad[0] = echo->addr;
	bad[1] = mkaddr("192.168.1.1", 9);
	expect_code(client_turn_create_permission(c, bad, 2, &r), &r, 403,
		    "forbidden CreatePermission for an allowed and a refused peer");
	expect(!relays(c, echo, 1), "forbidden: ... and the allowed one got no permission");

	/*
	 * Send indications to a peer without a permission are dropped: a
	 * socket of our own on another loopback address must stay silent.
	 * (Our own loopback address and its ports: the loopback scenario.)
	 */
	fd_other = udp_bound("127.0.0.3", &listen_other);
	relay_port = mkaddr("127.0.0.1", opt.relay_port);
	expect_code(client_turn_create_permission(c, &relay_port, 1, &r), &r, 0,
		    "forbidden: our own IP on a relay port is allowed (client to client)");
	client_turn_send(c, SA(&listen_other), buf, len);
	expect(silent(fd_other), "forbidden: Send to a peer without permission (%s) dropped",
	       fmt_addr(&listen_other));
	/* RFC 8656 §10.3: a peer without a permission does not reach us. */
	sendto(fd_other, buf, len, 0, SA(&relayed), addr_len(SA(&relayed)));
	expect(client_turn_recv(c, buf, sizeof(buf), SILENCE_MS, &(struct client_turn_data){0}) ==
		       TP_EAGAIN,
	       "forbidden: nothing came back, and a peer without permission (%s) sending to "
	       "the relay is not let through",
	       fmt_addr(&listen_other));
	close(fd_other);

	/* The allocation still works for an allowed peer. */
	expect_code(client_turn_create_permission(c, &echo->addr, 1, &r), &r, 0,
		    "forbidden: CreatePermission for the allowed peer");
	expect(relays(c, echo, 2), "forbidden: data to and from the allowed peer %s",
	       fmt_addr(&echo->addr));
	expect_code(client_turn_channel_bind(c, 0x4004, SA(&echo->addr), &r), &r, 0,
		    "forbidden: ChannelBind to the allowed peer");
out:
	client_turn_free(c);
}

static void forbidden_v6_part(void)
{
	struct client_turn_alloc_opts o = {.family = 2};
	struct sockaddr_storage peer;
	struct client_turn *c = client_default();
	struct client_turn_result r;

	if (!allocate_ok(c, &o, &r, "forbidden IPv6 relay") ||
	    !expect(r.relayed.ss_family == AF_INET6, "forbidden: the relay is IPv6"))
		goto out;
	for (size_t i = 0; i < sizeof(forbidden_v6) / sizeof(forbidden_v6[0]); i++) {
		peer = mkaddr(forbidden_v6[i], 9);
		perm_forbidden(c, &peer, 403);
	}
	peer = mkaddr("::1", opt.port);
	perm_forbidden(c, &peer, 403);
	peer = mkaddr("::ffff:127.0.0.1", opt.port);
	perm_forbidden(c, &peer, 403);
	peer = mkaddr("fe80::1", 9);
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&peer), &r), &r, 403,
		    "forbidden ChannelBind to fe80::1 on the IPv6 relay");
	peer = mkaddr(opt.peer_ip, 9);
	perm_forbidden(c, &peer, 443);
out:
	client_turn_free(c);
}

static int scen_forbidden(int argc, char **argv)
{
	struct peer *echo = peer_add(true);
	(void)argc;
	(void)argv;

	peers_start();
	forbidden_v4_part(echo);
	if (opt.v6)
		forbidden_v6_part();
	peers_stop();
	return 0;
}

/* ------------------------------------------------------------------ */
/* loopback allowed HTTP_PORT | refused: allow-loopback-peers on a server that
 * listens on 127.0.0.1 and ::1. Allowed: a peer beside the server on its
 * own loopback address relays (any port but the server's), in every
 * spelling of the address; the server's listening ports (TURN, HTTP) stay
 * refused on every loopback address, for CreatePermission, ChannelBind and
 * Send. Refused: no loopback peer at all. */

static struct {
	uint16_t http_port;
	unsigned sends; /* Send indications to our own ports, for the metric */
} loop_run;

/* CreatePermission and ChannelBind to ip on the server's listening ports
 * are refused; with a permission for ip in place, a Send to them too (the
 * caller reads the server's dropped_total{cause="peer_policy"}). */
static void own_ports_refused(struct client_turn *c, const char *ip, bool send)
{
	const uint16_t ports[] = {opt.port, loop_run.http_port};
	struct client_turn_result r;
	uint8_t buf[64];
	size_t len = payload_make(buf, 11, sizeof(buf));
	char what[128];

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct sockaddr_storage peer = mkaddr(ip, ports[i]);

		perm_forbidden(c, &peer, 403);
		snprintf(what, sizeof(what), "loopback: ChannelBind to the server's own %s",
			 fmt_addr(&peer));
		expect_code(client_turn_channel_bind(c, 0x4100, SA(&peer), &r), &r, 403, what);
		if (send && client_turn_send(c, SA(&peer), buf, len) == 0)
			loop_run.sends++;
	}
}

static void loopback_allowed(bool v6)
{
	static const char *const v4_spellings[] = {"127.0.0.1", "127.0.0.2"};
	static const char *const v6_spellings[] = {"::1", "::ffff:127.0.0.1", "::127.0.0.1",
						   "64:ff9b::7f00:1"};
	struct client_turn_alloc_opts o = {.family = 2};
	struct client_turn *c = client_default();
	struct peer *p = v6 ? peer_add_on("::1", true) : peer_add_on("127.0.0.1", true);
	struct sockaddr_storage mapped;
	struct client_turn_result r;
	const char *fam = v6 ? "IPv6" : "IPv4";
	char what[128];

	peers_start();
	if (!allocate_ok(c, v6 ? &o : NULL, &r, v6 ? "loopback IPv6 relay" : "loopback IPv4 relay"))
		goto out;
	snprintf(what, sizeof(what), "loopback: CreatePermission for a peer at %s",
		 fmt_addr(&p->addr));
	expect_code(client_turn_create_permission(c, &p->addr, 1, &r), &r, 0, what);
	/* Data indications first: once the channel is bound, the echoes come
	 * back as ChannelData. */
	snprintf(what, sizeof(what), "loopback %s relay, peer %s, Send/Data indications", fam,
		 fmt_addr(&p->addr));
	stream(c, 0, p, 50, 1000, what);
	snprintf(what, sizeof(what), "loopback: ChannelBind to %s", fmt_addr(&p->addr));
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&p->addr), &r), &r, 0, what);
	snprintf(what, sizeof(what), "loopback %s relay, peer %s, ChannelData", fam,
		 fmt_addr(&p->addr));
	stream(c, 0x4000, p, 50, 0, what);
	if (v6) {
		/* The same address written IPv4-mapped: allowed alike. */
		mapped = mkaddr("::ffff:127.0.0.1", 9);
		expect_code(client_turn_create_permission(c, &mapped, 1, &r), &r, 0,
			    "loopback: CreatePermission for [::ffff:127.0.0.1]:9");
	}
	for (size_t i = 0; i < (v6 ? 4 : 2); i++)
		own_ports_refused(c, v6 ? v6_spellings[i] : v4_spellings[i], i < (v6 ? 2u : 1u));
out:
	client_turn_free(c);
	peers_stop();
}

static void loopback_refused(bool v6)
{
	static const char *const v4_peers[] = {"127.0.0.1", "127.0.0.2", "127.255.255.254"};
	static const char *const v6_peers[] = {"::1", "::ffff:127.0.0.1", "::127.0.0.1",
					       "64:ff9b::7f00:1"};
	struct client_turn_alloc_opts o = {.family = 2};
	struct client_turn *c = client_default();
	struct peer *p = v6 ? peer_add_on("::1", true) : peer_add_on("127.0.0.1", true);
	struct client_turn_result r;
	uint8_t buf[64];
	size_t len = payload_make(buf, 12, sizeof(buf));
	char what[128];

	peers_start();
	if (!allocate_ok(c, v6 ? &o : NULL, &r, v6 ? "loopback IPv6 relay" : "loopback IPv4 relay"))
		goto out;
	for (size_t i = 0; i < (v6 ? 4 : 3); i++) {
		struct sockaddr_storage peer =
			mkaddr(v6 ? v6_peers[i] : v4_peers[i], addr_port(SA(&p->addr)));
		perm_forbidden(c, &peer, 403);
		snprintf(what, sizeof(what), "loopback refused: ChannelBind to %s",
			 fmt_addr(&peer));
		expect_code(client_turn_channel_bind(c, 0x4000, SA(&peer), &r), &r, 403, what);
	}
	client_turn_send(c, SA(&p->addr), buf, len);
	sleep_ms(SILENCE_MS);
	expect(p->pkts == 0, "loopback refused: a Send to %s reached nobody (%lu arrived)",
	       fmt_addr(&p->addr), (unsigned long)p->pkts);
out:
	client_turn_free(c);
	peers_stop();
}

static int scen_loopback(int argc, char **argv)
{
	bool allowed;

	allowed = argc > 0 && strcmp(argv[0], "allowed") == 0;
	if (argc < 1 || (!allowed && strcmp(argv[0], "refused") != 0) || (allowed && argc < 2))
		die("loopback: allowed HTTP_PORT | refused");
	if (allowed)
		loop_run.http_port = (uint16_t)strtoul(argv[1], NULL, 10);
	for (int v6 = 0; v6 <= (int)opt.v6; v6++) {
		if (allowed)
			loopback_allowed(v6);
		else
			loopback_refused(v6);
	}
	if (allowed)
		note("loopback: %u Send indications to the server's own ports", loop_run.sends);
	return 0;
}

/* ------------------------------------------------------------------ */
/* errors: request errors of Allocate, Refresh, CreatePermission,
 * ChannelBind. Against a server without an IPv6 relay. */

static void alloc_case(const struct client_turn_alloc_opts *o, int want, const char *what)
{
	struct client_turn *c = client_default();
	struct client_turn_result r;

	expect_code(client_turn_allocate(c, o, &r), &r, want, what);
	client_turn_free(c);
}

/* RFC 8656 §7.2: a retransmitted Allocate gets the first answer again.
 * big: the longest answer we can ask for (SHA-256, FINGERPRINT,
 * ADDRESS-ERROR-CODE for an extra IPv6 family; EVEN-PORT without R, since
 * a reservation may not go with the extra family). */
static void errors_retransmit(bool big)
{
	static const uint8_t v6[4] = {0x02, 0, 0, 0};
	struct client_turn_attr aaf = {STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v6, sizeof(v6)};
	struct client_turn_alloc_opts o = {.even_port = true, .extra = &aaf, .nextra = 1};
	struct client_turn *c = client_default();
	struct client_turn_result r;
	const uint8_t *req, *ans;
	uint8_t first_req[2048], first_ans[2048], again[2048];
	size_t reqlen, anslen, len;
	const char *what = big ? "errors: a retransmitted Allocate (long answer)"
			       : "errors: a retransmitted Allocate";
	int rc;

	if (big) {
		client_turn_set_alg(c, STUN_PWALG_SHA256, false);
		client_turn_set_flags(c, CLIENT_TURN_FINGERPRINT);
	}
	if (!allocate_ok(c, big ? &o : NULL, &r, what))
		goto out;
	client_turn_last(c, &req, &reqlen, &ans, &anslen);
	if (reqlen > sizeof(first_req) || anslen > sizeof(first_ans))
		die("answer too long");
	memcpy(first_req, req, reqlen);
	memcpy(first_ans, ans, anslen);
	for (int round = 0; round < 2; round++) {
		rc = client_turn_raw(c, first_req, reqlen, again, sizeof(again), &len);
		expect(rc == 0 && len == anslen && memcmp(again, first_ans, len) == 0,
		       "%s%s gets the byte-identical answer (%zu bytes; got %s, %zu bytes)", what,
		       round ? " after a new Allocate" : "", anslen,
		       outcome(rc ? rc : answer_code(again, len)), len);
		if (round == 0)
			expect_code(client_turn_allocate(c, NULL, &r), &r, 437,
				    "errors: a new Allocate on a live 5-tuple");
	}
out:
	client_turn_free(c);
}

static void errors_channels(void)
{
	struct sockaddr_storage p1 = mkaddr(opt.peer_ip, 40001), p2 = mkaddr(opt.peer_ip, 40002);
	struct client_turn *c = client_default();
	struct client_turn_result r;

	if (!allocate_ok(c, NULL, &r, "errors channels"))
		goto out;
	expect_code(client_turn_channel_bind(c, 0x3FFF, SA(&p1), &r), &r, 400,
		    "errors: ChannelBind 0x3FFF");
	expect_code(client_turn_channel_bind(c, 0x8000, SA(&p1), &r), &r, 400,
		    "errors: ChannelBind 0x8000");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&p1), &r), &r, 0,
		    "errors: ChannelBind 0x4000");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&p1), &r), &r, 0,
		    "errors: ChannelBind 0x4000 again to the same peer (refresh)");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&p2), &r), &r, 400,
		    "errors: the same channel to a different peer");
	expect_code(client_turn_channel_bind(c, 0x4001, SA(&p1), &r), &r, 400,
		    "errors: the same peer to a different channel");
	expect_code(client_turn_channel_bind(c, 0x7FFF, SA(&p2), &r), &r, 0,
		    "errors: ChannelBind 0x7FFF (RFC 5766 range)");
out:
	client_turn_free(c);
}

static void errors_lifetimes(void)
{
	struct client_turn_alloc_opts lo = {.lifetime = 99999}, lo10 = {.lifetime = 10};
	struct client_turn *c = client_default();
	struct client_turn_result r;
	int rc;

	if (allocate_ok(c, &lo, &r, "errors LIFETIME 99999"))
		expect(r.has_lifetime && r.lifetime == opt.max_lifetime,
		       "errors: Allocate LIFETIME 99999 capped to %u (got %u)", opt.max_lifetime,
		       r.lifetime);
	rc = client_turn_refresh(c, 99999, &r);
	expect(got(rc, &r) == 0 && r.lifetime == opt.max_lifetime,
	       "errors: Refresh LIFETIME 99999 capped to %u (%s, %u)", opt.max_lifetime,
	       outcome(got(rc, &r)), r.lifetime);
	rc = client_turn_refresh(c, 30, &r);
	expect(got(rc, &r) == 0 && r.lifetime == 30,
	       "errors: Refresh may lower the lifetime to 30 (%s, %u)", outcome(got(rc, &r)),
	       r.lifetime);
	rc = client_turn_refresh(c, -1, &r);
	expect(got(rc, &r) == 0 && r.lifetime == 600,
	       "errors: Refresh without LIFETIME gets 600 (%s, %u)", outcome(got(rc, &r)),
	       r.lifetime);
	client_turn_free(c);

	c = client_default();
	if (allocate_ok(c, &lo10, &r, "errors LIFETIME 10"))
		expect(r.has_lifetime && r.lifetime == 600,
		       "errors: Allocate LIFETIME 10 raised to 600 (got %u)", r.lifetime);
	rc = client_turn_refresh(c, 0, &r);
	expect(got(rc, &r) == 0 && r.has_lifetime && r.lifetime == 0,
	       "errors: Refresh LIFETIME 0 deletes (%s, LIFETIME %u)", outcome(got(rc, &r)),
	       r.lifetime);
	expect_code(client_turn_refresh(c, 600, &r), &r, 437, "errors: Refresh after the delete");
	client_turn_free(c);
}

static int scen_errors(int argc, char **argv)
{
	uint8_t four[4] = {1, 2, 3, 4};
	struct client_turn_attr req_attr = {REQ_ATTR, four, sizeof(four)};
	struct client_turn_attr opt_attr = {OPT_ATTR, four, sizeof(four)};
	struct client_turn_alloc_opts tcp = {.transport = 6}, none = {.no_transport = true},
				      v6 = {.family = 2}, bad_fam = {.family = 3},
				      unknown = {.extra = &req_attr, .nextra = 1},
				      optional = {.extra = &opt_attr, .nextra = 1},
				      df = {.dont_fragment = true};
	struct sockaddr_storage peer = mkaddr(opt.peer_ip, 9);
	struct client_turn *c;
	struct client_turn_result r;
	int rc;
	(void)argc;
	(void)argv;

	/* RFC 6062 §5.1: TCP relays for clients on TCP only. */
	alloc_case(&tcp, opt.tcp ? 0 : 442,
		   opt.tcp ? "errors: REQUESTED-TRANSPORT TCP over TCP (RFC 6062)"
			   : "errors: REQUESTED-TRANSPORT TCP over UDP");
	alloc_case(&none, 400, "errors: no REQUESTED-TRANSPORT");
	alloc_case(&v6, 440, "errors: REQUESTED-ADDRESS-FAMILY IPv6 without an IPv6 relay");
	alloc_case(&bad_fam, 440, "errors: REQUESTED-ADDRESS-FAMILY 0x03");
	alloc_case(&optional, 0, "errors: an unknown comprehension-optional attribute is ignored");
	alloc_case(&df, 0, "errors: DONT-FRAGMENT is supported");

	c = client_default();
	rc = client_turn_allocate(c, &unknown, &r);
	expect_code(rc, &r, 420, "errors: unknown comprehension-required attribute");
	expect(rc == 0 && r.nunknown == 1 && r.unknown[0] == REQ_ATTR,
	       "errors: UNKNOWN-ATTRIBUTES lists 0x%04X (%zu listed, first 0x%04X)", REQ_ATTR,
	       r.nunknown, r.nunknown ? r.unknown[0] : 0);
	client_turn_free(c);

	errors_retransmit(false);
	errors_retransmit(true);

	c = client_default();
	expect_code(client_turn_refresh(c, 600, &r), &r, 437, "errors: Refresh without allocation");
	expect_code(client_turn_create_permission(c, &peer, 1, &r), &r, 437,
		    "errors: CreatePermission without allocation");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&peer), &r), &r, 437,
		    "errors: ChannelBind without allocation");
	client_turn_free(c);

	errors_channels();
	errors_lifetimes();
	return 0;
}

/* ------------------------------------------------------------------ */
/* expiry: an allocation whose lifetime ends is gone at once (RFC 8656 §7),
 * whether or not the server's 1-second reaper has run. */

static int scen_expiry(int argc, char **argv)
{
	struct client_turn *c = client_default();
	struct client_turn_result r;
	struct sockaddr_storage peer = mkaddr(opt.peer_ip, 9);
	double sent, answered, t;
	int rc;
	(void)argc;
	(void)argv;

	if (!allocate_ok(c, NULL, &r, "expiry"))
		goto out;
	sent = now_ms();
	rc = client_turn_refresh(c, 2, &r);
	answered = now_ms();
	expect(got(rc, &r) == 0 && r.lifetime == 2, "expiry: Refresh LIFETIME 2 (%s, %u)",
	       outcome(got(rc, &r)), r.lifetime);
	sleep_ms(sent + 1000 - now_ms());
	rc = client_turn_create_permission(c, &peer, 1, &r);
	t = now_ms() - sent;
	if (t < 1800)
		expect_code(rc, &r, 0, "expiry: alive 1 s later");
	else
		note("expiry: 'alive 1 s later' not checked: the request took until %.0f ms", t);
	/* The lifetime started between sent and answered: 2.3 s after the
	 * answer it has ended, by 0.3 s at least. */
	sleep_ms(answered + 2300 - now_ms());
	expect_code(client_turn_create_permission(c, &peer, 1, &r), &r, 437,
		    "expiry: CreatePermission 0.3 s after the end");
	expect_code(client_turn_refresh(c, 600, &r), &r, 437, "expiry: Refresh after the end");
	allocate_ok(c, NULL, &r, "expiry: the 5-tuple is free again");
	/* Permissions last 300 s (RFC 8656 §9): too long to wait for here. */
out:
	client_turn_free(c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* even-port: EVEN-PORT and RESERVATION-TOKEN (RFC 8656 §7.2). */

static int scen_even_port(int argc, char **argv)
{
	static const uint8_t v6[4] = {0x02, 0, 0, 0};
	struct client_turn_attr aaf = {STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v6, sizeof(v6)};
	struct client_turn_alloc_opts even_r = {.even_port = true, .reserve = true},
				      even = {.even_port = true}, tok = {.use_token = true},
				      both = {.even_port = true, .use_token = true},
				      even_r_aaf = {.even_port = true,
						    .reserve = true,
						    .extra = &aaf,
						    .nextra = 1},
				      even_aaf = {.even_port = true, .extra = &aaf, .nextra = 1};
	struct client_turn *c1 = client_default(), *c2 = NULL, *c3 = NULL, *c4 = NULL;
	struct client_turn_result r1, r;
	uint16_t port;
	uint64_t random_token;
	(void)argc;
	(void)argv;

	if (!allocate_ok(c1, &even_r, &r1, "even-port R=1"))
		goto out;
	port = addr_port(SA(&r1.relayed));
	expect(port % 2 == 0 && r1.has_token, "even-port: relayed port %u is even, token %s", port,
	       r1.has_token ? "given" : "missing");
	tok.token = both.token = r1.token;
	c2 = client_default();
	if (allocate_ok(c2, &tok, &r, "even-port with the token"))
		expect(addr_equal_ip(SA(&r.relayed), SA(&r1.relayed)) &&
			       addr_port(SA(&r.relayed)) == port + 1,
		       "even-port: the token gives port %u + 1 (got %s)", port,
		       fmt_addr(&r.relayed));
	c3 = client_default();
	expect_code(client_turn_allocate(c3, &tok, &r), &r, 508, "even-port: the token reused");
	client_turn_free(c3);
	c3 = client_default();
	expect_code(client_turn_allocate(c3, &both, &r), &r, 400,
		    "even-port: EVEN-PORT with RESERVATION-TOKEN");
	client_turn_free(c3);
	c3 = client_default();
	if (rand_bytes(&random_token, sizeof(random_token)) != 0)
		die("rand_bytes failed");
	tok.token = random_token;
	expect_code(client_turn_allocate(c3, &tok, &r), &r, 508, "even-port: an unknown token");
	c4 = client_default();
	if (allocate_ok(c4, &even, &r, "even-port R=0"))
		expect(addr_port(SA(&r.relayed)) % 2 == 0 && !r.has_token,
		       "even-port R=0: port %u is even, no token", addr_port(SA(&r.relayed)));
	/* RFC 8656 §7.2 step 8: R set and ADDITIONAL-ADDRESS-FAMILY: 400;
	 * without R the two go together. */
	client_turn_free(c3);
	c3 = client_default();
	expect_code(client_turn_allocate(c3, &even_r_aaf, &r), &r, 400,
		    "even-port: EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY");
	client_turn_free(c3);
	c3 = client_default();
	if (allocate_ok(c3, &even_aaf, &r, "even-port R=0 with ADDITIONAL-ADDRESS-FAMILY"))
		expect(addr_port(SA(&r.relayed)) % 2 == 0 && !r.has_token,
		       "even-port R=0 with ADDITIONAL-ADDRESS-FAMILY: port %u is even, no token",
		       addr_port(SA(&r.relayed)));
out:
	client_turn_free(c1);
	client_turn_free(c2);
	client_turn_free(c3);
	client_turn_free(c4);
	return 0;
}

/* ------------------------------------------------------------------ */
/* quota USER TOTAL: user-quota (486) and total-quota (508), with REST
 * names so users are free to make. Needs TOTAL - USER < USER. */

#define QUOTA_MAX 32

static int scen_quota(int argc, char **argv)
{
	unsigned uq = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 0;
	unsigned tq = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
	long long exp = (long long)time(NULL) + 3600;
	struct client_turn *a[QUOTA_MAX] = {0}, *b[QUOTA_MAX] = {0}, *x;
	struct client_turn_result r;
	unsigned ok = 0, i;
	char what[96];

	if (!opt.secret)
		die("quota needs --secret");
	if (uq == 0 || tq <= uq || tq - uq >= uq || tq >= QUOTA_MAX)
		die("quota: USER TOTAL with USER < TOTAL < 2 USER, TOTAL < %d", QUOTA_MAX);
	for (i = 0; i < uq; i++) {
		a[i] = client_rest(opt.secret, "quota-a", exp, false);
		ok += client_turn_allocate(a[i], NULL, &r) == 0 && r.error_code == 0;
	}
	expect(ok == uq, "quota: %u allocations of one user succeed (%u did)", uq, ok);
	x = client_rest(opt.secret, "quota-a", exp, false);
	snprintf(what, sizeof(what), "quota: allocation %u of the user", uq + 1);
	expect_code(client_turn_allocate(x, NULL, &r), &r, 486, what);
	expect_code(client_turn_refresh(a[0], 0, &r), &r, 0, "quota: one deleted");
	expect_code(client_turn_allocate(x, NULL, &r), &r, 0, "quota: then a new one succeeds");
	client_turn_free(a[0]);
	a[0] = x;

	ok = 0;
	for (i = 0; i < tq - uq; i++) {
		b[i] = client_rest(opt.secret, "quota-b", exp, false);
		ok += client_turn_allocate(b[i], NULL, &r) == 0 && r.error_code == 0;
	}
	expect(ok == tq - uq, "quota: another user's %u allocations fill the total of %u (%u did)",
	       tq - uq, tq, ok);
	x = client_rest(opt.secret, "quota-b", exp, false);
	snprintf(what, sizeof(what), "quota: allocation %u on the server", tq + 1);
	expect_code(client_turn_allocate(x, NULL, &r), &r, 508, what);
	expect_code(client_turn_refresh(b[0], 0, &r), &r, 0,
		    "quota: one of the other user's deleted");
	expect_code(client_turn_allocate(x, NULL, &r), &r, 0, "quota: then a new one succeeds");
	client_turn_free(x);
	/* Released by Refresh 0; over TCP the first user's by closing the
	 * connection (RFC 8656 §7: the allocation ends with it). A close may
	 * be seen by another worker a little later: try for up to 2 s. */
	for (i = 0; i < QUOTA_MAX; i++) {
		if (a[i] && opt.tcp)
			client_turn_set_flags(a[i], CLIENT_TURN_NO_RELEASE);
		client_turn_free(a[i]);
		client_turn_free(b[i]);
	}
	x = client_rest(opt.secret, "quota-a", exp, false);
	for (i = 0; i < 20; i++) {
		if (client_turn_allocate(x, NULL, &r) != 0 || r.error_code != 486)
			break;
		sleep_ms(100);
	}
	expect(r.error_code == 0,
	       "quota: after all were %s, the user may allocate again (%s, "
	       "%u ms)",
	       opt.tcp ? "closed" : "released", outcome(r.error_code), i * 100);
	client_turn_free(x);
	return 0;
}

/* fd-limit [MAX [MORE]]: against a server whose open file limit is low,
 * allocations succeed until its descriptors run out, then get 508; MORE
 * further Allocates get 508 too; once one allocation is released a new one
 * succeeds. Prints "# refused: N" (the 508s seen). */
#define FD_LIMIT_MAX 512

static int scen_fd_limit(int argc, char **argv)
{
	unsigned max = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 200;
	unsigned more = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5;
	struct client_turn *held[FD_LIMIT_MAX] = {0}, *x;
	struct client_turn_result r;
	unsigned n = 0, refused = 0, i;
	int code = 0;

	if (max == 0 || max > FD_LIMIT_MAX || more > 100)
		die("fd-limit: MAX from 1 to %d, MORE up to 100", FD_LIMIT_MAX);
	for (n = 0; n < max; n++) {
		held[n] = client_default();
		code = got(client_turn_allocate(held[n], NULL, &r), &r);
		if (code != 0)
			break;
	}
	note("%u allocations before the first refusal", n);
	expect(n > 0 && n < max,
	       "fd-limit: some allocations succeed, then one is refused (%u of %u)", n, max);
	expect(code == 508, "fd-limit: the refusal is 508 (got %s)", outcome(code));
	refused += code == 508;
	for (i = 0; i < more; i++) {
		x = client_default();
		code = got(client_turn_allocate(x, NULL, &r), &r);
		refused += code == 508;
		client_turn_free(x);
	}
	expect(refused == more + 1, "fd-limit: %u more Allocates get 508 too (%u of %u)", more,
	       refused - 1, more);
	if (n < max) {
		client_turn_free(held[n]);
		held[n] = NULL;
	}
	if (n > 0) {
		client_turn_free(held[0]);
		held[0] = NULL;
	}
	x = client_default();
	code = got(client_turn_allocate(x, NULL, &r), &r);
	expect(code == 0, "fd-limit: after one allocation is released a new one succeeds (%s)",
	       outcome(code));
	client_turn_free(x);
	for (i = 0; i < FD_LIMIT_MAX; i++)
		client_turn_free(held[i]);
	note("refused: %u", refused);
	return 0;
}

/* ------------------------------------------------------------------ */
/* fleet-quota: two servers sharing one Redis with user-quota QUOTA count one
 * user's allocations together: QUOTA of them, spread over both, succeed;
 * one more on either server gets 486; once one is deleted a new one
 * succeeds. With PORT2 the server's own port it is the local count. */

static struct client_turn *client_at(const struct sockaddr_storage *server)
{
	struct client_turn *c;
	int rc = client_turn_open(&c, SA(server), opt.tcp, TIMEOUT_MS);

	if (rc != 0)
		die("cannot reach the server: %s", tp_strerror(rc));
	if (client_turn_set_user(c, opt.user, opt.password) != 0)
		die("bad credentials");
	return c;
}

static int scen_fleet_quota(int argc, char **argv)
{
	unsigned long port2 = argc > 0 ? strtoul(argv[0], NULL, 10) : 0;
	unsigned q = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2, ok = 0, i;
	struct client_turn *h[QUOTA_MAX] = {0}, *x;
	struct client_turn_result r;
	struct sockaddr_storage srv[2];
	char what[128];
	double t0;

	if (port2 == 0 || port2 > 65535 || q == 0 || q >= QUOTA_MAX)
		die("fleet-quota: PORT2 QUOTA with QUOTA < %d", QUOTA_MAX);
	srv[0] = opt.server;
	srv[1] = opt.server;
	addr_set_port(SA(&srv[1]), (uint16_t)port2);
	for (i = 0; i < q; i++) {
		h[i] = client_at(&srv[i % 2]);
		ok += client_turn_allocate(h[i], NULL, &r) == 0 && r.error_code == 0;
	}
	expect(ok == q,
	       "fleet-quota: %u allocations of %s across ports %u and %lu succeed (%u did)", q,
	       opt.user, opt.port, port2, ok);
	for (i = 0; i < 2; i++) {
		x = client_at(&srv[i]);
		snprintf(what, sizeof(what), "fleet-quota: allocation %u on port %lu", q + 1,
			 i ? port2 : (unsigned long)opt.port);
		expect_code(client_turn_allocate(x, NULL, &r), &r, 486, what);
		client_turn_free(x);
	}
	expect_code(client_turn_refresh(h[0], 0, &r), &r, 0, "fleet-quota: the first one deleted");
	client_turn_free(h[0]);
	h[0] = NULL;
	x = client_at(&srv[1]);
	t0 = now_ms();
	for (i = 0; i < 20; i++) {
		if (client_turn_allocate(x, NULL, &r) != 0 || r.error_code != 486)
			break;
		sleep_ms(100);
	}
	expect(r.error_code == 0,
	       "fleet-quota: then a new one on port %lu succeeds (%s, after %.0f ms)", port2,
	       outcome(r.error_code), now_ms() - t0);
	h[0] = x;
	for (i = 0; i < QUOTA_MAX; i++)
		client_turn_free(h[i]); /* each released with a Refresh of lifetime 0 */
	return 0;
}

/* ------------------------------------------------------------------ */
/* stall: the server's Redis takes commands and never answers. An Allocate
 * whose key must be looked up gets 500 at the Redis timeout (EXPECT_MS),
 * while Binding requests to the same worker (run the server with one)
 * keep being answered at once: their latency during the stall is shown. */

#define STALL_SAMPLES 2000
static atomic_bool stall_stop;
static double stall_rtt[STALL_SAMPLES];
static unsigned stall_n, stall_lost;

static void *stall_binder(void *arg)
{
	struct client_binding_result res;
	(void)arg;

	while (!atomic_load(&stall_stop) && stall_n < STALL_SAMPLES) {
		if (client_binding(SA(&opt.server), 0, 1000, &res) == 0 && res.error_code == 0)
			stall_rtt[stall_n++] = res.rtt_ms;
		else
			stall_lost++;
		sleep_ms(10);
	}
	return NULL;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int scen_stall(int argc, char **argv)
{
	double expect_ms = argc > 0 ? strtod(argv[0], NULL) : 1000, t0, took;
	struct client_turn *c = client_default();
	struct client_turn_result r;
	pthread_t th;
	int rc;

	atomic_store(&stall_stop, false);
	if (pthread_create(&th, NULL, stall_binder, NULL) != 0)
		die("pthread_create failed");
	sleep_ms(100);
	t0 = now_ms();
	rc = client_turn_allocate(c, NULL, &r);
	took = now_ms() - t0;
	sleep_ms(100);
	atomic_store(&stall_stop, true);
	pthread_join(th, NULL);
	client_turn_set_flags(c, CLIENT_TURN_NO_RELEASE);
	client_turn_free(c);
	expect(got(rc, &r) == 500, "stall: the Allocate waiting for its key gets 500 (got %s)",
	       outcome(got(rc, &r)));
	expect(took >= expect_ms * 0.8 && took <= expect_ms + 1500,
	       "stall: ... after %.0f ms (the Redis timeout is %.0f ms)", took, expect_ms);
	qsort(stall_rtt, stall_n, sizeof(stall_rtt[0]), by_double);
	expect(stall_n >= 10 && stall_lost == 0,
	       "stall: %u Binding requests answered during the stall, %u lost", stall_n,
	       stall_lost);
	if (stall_n) {
		note("Binding latency during the stall: median %.2f ms, p99 %.2f ms, max %.2f ms "
		     "(%u requests)",
		     stall_rtt[stall_n / 2], stall_rtt[(stall_n * 99) / 100],
		     stall_rtt[stall_n - 1], stall_n);
		expect(stall_rtt[stall_n - 1] < 100,
		       "stall: no Binding waited on Redis (max %.2f ms)", stall_rtt[stall_n - 1]);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* limits: with the server's max-permissions 2 and max-channels 1, more get
 * 508, and a refused request installs nothing (RFC 8656 §9.2: permissions
 * are installed when the server can carry out the whole request). */

static int scen_limits(int argc, char **argv)
{
	struct peer *echo = peer_add(true);
	struct sockaddr_storage two[2], one = mkaddr("127.0.0.5", 9),
					other = mkaddr("127.0.0.6", 9);
	struct client_turn *c;
	struct client_turn_result r;
	(void)argc;
	(void)argv;

	peers_start();
	c = client_default();
	if (!allocate_ok(c, NULL, &r, "limits"))
		goto out;
	expect_code(client_turn_create_permission(c, &one, 1, &r), &r, 0,
		    "limits: first permission");
	two[0] = echo->addr;
	two[1] = other;
	expect_code(client_turn_create_permission(c, two, 2, &r), &r, 508,
		    "limits: two more permissions with room for one");
	expect(!relays(c, echo, 1), "limits: ... and neither was installed");
	expect_code(client_turn_create_permission(c, &echo->addr, 1, &r), &r, 0,
		    "limits: second permission");
	expect(relays(c, echo, 2), "limits: the second permission relays");
	expect_code(client_turn_create_permission(c, &other, 1, &r), &r, 508,
		    "limits: third permission");
	expect_code(client_turn_create_permission(c, &one, 1, &r), &r, 0,
		    "limits: refreshing a permission at the limit");
	expect_code(client_turn_channel_bind(c, 0x4000, SA(&echo->addr), &r), &r, 0,
		    "limits: first channel");
	expect_code(client_turn_channel_bind(c, 0x4001, SA(&one), &r), &r, 508,
		    "limits: second channel");
	client_turn_free(c);

	/* A ChannelBind refused for want of a permission binds nothing. */
	c = client_default();
	if (!allocate_ok(c, NULL, &r, "limits channel"))
		goto out;
	two[0] = one;
	two[1] = other;
	expect_code(client_turn_create_permission(c, two, 2, &r), &r, 0,
		    "limits: two permissions (full)");
	expect_code(client_turn_channel_bind(c, 0x4002, SA(&echo->addr), &r), &r, 508,
		    "limits: ChannelBind to a third peer");
	expect_code(client_turn_channel_bind(c, 0x4002, SA(&one), &r), &r, 0,
		    "limits: ... and the channel number is still free");
out:
	client_turn_free(c);
	peers_stop();
	return 0;
}

/* ------------------------------------------------------------------ */
/* bandwidth RATE: the server's max-bps RATE drops what is over it. */

#define BW_PKT 1000

static unsigned long bw_send(struct client_turn *c, uint16_t chan, double bytes_per_s, double ms,
			     uint32_t *seq)
{
	double start = now_ms(), gap = BW_PKT * 1000.0 / bytes_per_s;
	unsigned long sent = 0;
	uint8_t buf[BW_PKT];

	for (unsigned i = 0; i < 100000; i++) {
		double at = start + i * gap;
		if (at - start >= ms)
			break;
		sleep_ms(at - now_ms());
		payload_make(buf, (*seq)++, BW_PKT);
		if (client_turn_channel_send(c, chan, buf, BW_PKT) != 0)
			die("send failed");
		sent += BW_PKT;
	}
	return sent;
}

static int scen_bandwidth(int argc, char **argv)
{
	double rate = argc > 0 ? strtod(argv[0], NULL) : 0;
	struct peer *p;
	struct client_turn *c;
	struct client_turn_result r;
	unsigned long sent, arrived, before;
	uint32_t seq = 0;

	if (rate < 4 * BW_PKT || rate > 1e7)
		die("bandwidth: RATE (bytes/s) %d..10000000", 4 * BW_PKT);
	p = peer_add(false);
	peers_start();
	c = client_default();
	if (!allocate_ok(c, NULL, &r, "bandwidth") ||
	    !expect_code(client_turn_channel_bind(c, 0x4000, SA(&p->addr), &r), &r, 0,
			 "bandwidth: ChannelBind"))
		goto out;
	before = p->bytes;
	sent = bw_send(c, 0x4000, 4 * rate, 1000, &seq);
	sleep_ms(300);
	arrived = p->bytes - before;
	note("bandwidth: sent %lu bytes in 1 s at max-bps %.0f: %lu arrived (%.2f x RATE)", sent,
	     rate, arrived, arrived / rate);
	expect(arrived < sent * 3 / 4,
	       "bandwidth: clearly fewer bytes arrive than were sent "
	       "(%lu of %lu)",
	       arrived, sent);
	expect(arrived >= 0.8 * rate && arrived <= 2.3 * rate,
	       "bandwidth: about RATE..2 RATE arrive (bucket of 1 s plus 1 s of refill): %lu in "
	       "[%.0f, %.0f]",
	       arrived, 0.8 * rate, 2.3 * rate);

	before = p->bytes;
	sent = bw_send(c, 0x4000, rate / 2, 1500, &seq);
	sleep_ms(300);
	arrived = p->bytes - before;
	note("bandwidth: slow stream at RATE/2: sent %lu, %lu arrived", sent, arrived);
	expect(arrived == sent, "bandwidth: a stream at half the rate loses nothing (%lu of %lu)",
	       arrived, sent);
out:
	client_turn_free(c);
	peers_stop();
	return 0;
}

/* ------------------------------------------------------------------ */
/* flood N [SECONDS [RATE]]: unauthenticated Allocates from many sockets,
 * paced at RATE per second (default 10000), each answered with a 401
 * challenge; the server keeps no state for them. */

struct flood {
	int fd[FLOOD_SOCKS];
	uint8_t *seen;
	unsigned n, ok, other;
};

static void flood_collect(struct flood *f, int ms)
{
	struct pollfd pf[FLOOD_SOCKS];
	uint8_t buf[2048];

	for (int i = 0; i < FLOOD_SOCKS; i++)
		pf[i] = (struct pollfd){.fd = f->fd[i], .events = POLLIN};
	if (poll(pf, FLOOD_SOCKS, ms) <= 0)
		return;
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		for (int k = 0; k < 64 && (pf[i].revents & POLLIN); k++) {
			ssize_t n = recv(f->fd[i], buf, sizeof(buf), MSG_DONTWAIT);
			struct stun_msg m;
			const struct stun_attr *a;
			struct wire_rd rd;
			uint32_t seq;
			int code = 0;
			const char *reason;
			size_t rlen;

			if (n < 0)
				break;
			if (stun_msg_parse(&m, buf, (size_t)n) != 0 || m.cls != STUN_ERROR ||
			    m.method != TURN_ALLOCATE) {
				f->other++;
				continue;
			}
			wire_rd_init(&rd, m.txn, 16);
			wire_rd_skip(&rd, 4);
			seq = wire_rd_u32(&rd);
			a = stun_msg_find(&m, STUN_ATTR_ERROR_CODE);
			if (a)
				stun_attr_get_error(&m, a, &code, &reason, &rlen);
			if (seq < f->n && !f->seen[seq] && code == 401 &&
			    stun_msg_find(&m, STUN_ATTR_NONCE) &&
			    stun_msg_find(&m, STUN_ATTR_REALM)) {
				f->seen[seq] = 1;
				f->ok++;
			} else {
				f->other++;
			}
		}
	}
}

static int scen_flood(int argc, char **argv)
{
	unsigned n = argc > 0 ? (unsigned)strtoul(argv[0], NULL, 10) : 20000;
	double secs = argc > 1 ? strtod(argv[1], NULL) : 10, start, end, elapsed;
	double rate = argc > 2 ? strtod(argv[2], NULL) : 10000;
	struct flood f = {.n = n};
	unsigned sent = 0;
	uint8_t req[128], txn[16];

	if (n == 0 || n > 1000000 || secs <= 0 || secs > 60 || rate < 1 || rate > 1e6)
		die("flood: N 1..1000000, SECONDS 0..60, RATE 1..1000000");
	f.seen = calloc(n, 1);
	if (!f.seen)
		die("out of memory");
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		f.fd[i] =
			socket(opt.server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (f.fd[i] < 0 ||
		    connect(f.fd[i], SA(&opt.server), addr_len(SA(&opt.server))) != 0)
			die("flood socket: %s", strerror(errno));
	}
	start = now_ms();
	end = start + secs * 1000 * 0.8; /* leave time for the last answers */
	while (sent < n && now_ms() < end) {
		/* Paced in 10 ms steps. */
		unsigned due = (unsigned)((now_ms() - start) * rate / 1000) + 1;
		for (; sent < due && sent < n; sent++) {
			struct stun_builder b;
			struct wire_wr w;
			size_t len;

			wire_wr_init(&w, txn, 16);
			wire_wr_u32(&w, STUN_MAGIC_COOKIE);
			wire_wr_u32(&w, sent);
			if (rand_bytes(txn + 8, 8) != 0)
				die("rand_bytes failed");
			stun_build_init(&b, req, sizeof(req), TURN_ALLOCATE, STUN_REQUEST, txn);
			stun_build_transport(&b, 17);
			stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
			if (stun_build_finish(&b, &len) != 0)
				die("build failed");
			send(f.fd[sent % FLOOD_SOCKS], req, len, 0);
		}
		flood_collect(&f, 10);
	}
	elapsed = now_ms() - start;
	while (f.ok < sent && now_ms() - start < secs * 1000)
		flood_collect(&f, 20);
	note("flood: %u unauthenticated Allocates in %.2f s (%.0f/s) from %d sockets: %u answered "
	     "401 with REALM and NONCE (%.2f%%), %u other answers",
	     sent, elapsed / 1000, sent / (elapsed / 1000), FLOOD_SOCKS, f.ok,
	     sent ? 100.0 * f.ok / sent : 0, f.other);
	expect(sent == n, "flood: all %u requests sent within the time bound (%u)", n, sent);
	expect(f.ok * 100.0 >= sent * 90.0 && f.other == 0,
	       "flood: at least 90%% answered with a 401 challenge (%u of %u), nothing else", f.ok,
	       sent);
	for (int i = 0; i < FLOOD_SOCKS; i++)
		close(f.fd[i]);
	free(f.seen);
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct probe_scenario scenarios[] = {
	{"relay", scen_relay, "[COUNT]"},
	{"auth", scen_auth, ""},
	{"rest", scen_rest, "(needs --secret)"},
	{"stale-nonce", scen_stale, "N"},
	{"forbidden", scen_forbidden, ""},
	{"loopback", scen_loopback, "allowed HTTP_PORT | refused"},
	{"errors", scen_errors, "(server without an IPv6 relay)"},
	{"expiry", scen_expiry, ""},
	{"even-port", scen_even_port, ""},
	{"quota", scen_quota, "USER_QUOTA TOTAL_QUOTA (needs --secret)"},
	{"fd-limit", scen_fd_limit, "[MAX [MORE]] (a server with a low open file limit)"},
	{"limits", scen_limits, "(server with max-permissions 2, max-channels 1)"},
	{"bandwidth", scen_bandwidth, "RATE"},
	{"flood", scen_flood, "[N [SECONDS [RATE]]]"},
	{"fleet-quota", scen_fleet_quota, "PORT2 QUOTA (two servers sharing Redis)"},
	{"stall", scen_stall, "EXPECT_MS (a server whose Redis never answers)"},
};

static void usage(void)
{
	fprintf(stderr,
		"usage: turnprobe SERVER_HOST SERVER_PORT SCENARIO [args] [options]\n"
		"  --user U --password P     long-term credentials (default alice/secret)\n"
		"  --user2 U --password2 P   a second user (default bob/hunter2)\n"
		"  --secret S                REST shared secret\n"
		"  --tcp                     TURN over TCP\n"
		"  --peer-ip IP              loopback IP of the echo peers (default 127.0.0.2)\n"
		"  --max-lifetime N          the server's max-allocate-lifetime (default 3600)\n"
		"  --relay-port P            a port in the server's relay range (default 20000)\n"
		"  --no-v6                   the server has no IPv6 relay: skip IPv6 cases\n"
		"scenarios:\n");
	probe_list(scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"user", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'p'},
		{"user2", required_argument, NULL, 'U'},
		{"password2", required_argument, NULL, 'P'},
		{"secret", required_argument, NULL, 's'},
		{"tcp", no_argument, NULL, 't'},
		{"peer-ip", required_argument, NULL, 'i'},
		{"max-lifetime", required_argument, NULL, 'm'},
		{"relay-port", required_argument, NULL, 'r'},
		{"no-v6", no_argument, NULL, '6'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_storage peer;
	char **pos;
	int ch, npos, rc = -1;

	probe_name = "turnprobe";

	/* Options may come anywhere; GNU getopt moves the operands to the end. */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			opt.user = optarg;
			break;
		case 'p':
			opt.password = optarg;
			break;
		case 'U':
			opt.user2 = optarg;
			break;
		case 'P':
			opt.password2 = optarg;
			break;
		case 's':
			opt.secret = optarg;
			break;
		case 't':
			opt.tcp = true;
			break;
		case 'i':
			opt.peer_ip = optarg;
			break;
		case 'm':
			opt.max_lifetime = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			opt.relay_port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case '6':
			opt.v6 = false;
			break;
		default:
			usage();
		}
	}
	pos = argv + optind;
	npos = argc - optind;
	if (npos < 3)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!probe_server(pos[0], pos[1], &opt.server))
		usage();
	opt.port = addr_port(SA(&opt.server));
	peer = mkaddr(opt.peer_ip, 0);
	if (!is_loopback(SA(&peer)) || peer.ss_family != AF_INET) {
		fprintf(stderr, "turnprobe: --peer-ip %s is not an IPv4 loopback address\n",
			opt.peer_ip);
		return 2;
	}
	note("turnprobe %s against %s port %u%s", pos[2], pos[0], opt.port,
	     opt.tcp ? " over TCP" : "");
	rc = probe_run(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), pos[2], npos - 3,
		       pos + 3);
	if (rc < 0)
		usage();
	return probe_finish(pos[2]);
}
