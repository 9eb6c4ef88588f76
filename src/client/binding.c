/* binding.c - one blocking STUN Binding transaction over UDP or TCP. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "turnpike/stun.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/rand.h"

#define RTO_MS 500 /* RFC 8489 §6.2.1 initial RTO */
#define RC 7       /* requests sent before giving up */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int build_request(int flags, uint8_t txn[16], uint8_t *buf, size_t cap, size_t *len)
{
	struct stun_builder b;

	if (stun_txn_new(txn) != 0)
		return TP_ECRYPTO;
	if (flags & CLIENT_RFC3489) {
		/* Classic transaction ids are 16 random bytes: no cookie. */
		if (rand_bytes(txn, 4) != 0)
			return TP_ECRYPTO;
		if (txn[0] == 0x21 && txn[1] == 0x12)
			txn[0] ^= 0x80;
	}
	stun_build_init(&b, buf, cap, STUN_BINDING, STUN_REQUEST, txn);
	if (flags & CLIENT_FINGERPRINT)
		stun_build_fingerprint(&b);
	return stun_build_finish(&b, len);
}

/* Waits up to ms for fd to be readable: 1 ready, 0 timeout, -1 error. */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do {
		r = poll(&p, 1, ms < 0 ? 0 : ms);
	} while (r < 0 && errno == EINTR);
	return r;
}

static int read_full(int fd, uint8_t *buf, size_t n, double deadline)
{
	size_t got = 0;

	while (got < n) {
		int left = (int)(deadline - now_ms());
		if (left <= 0 || wait_readable(fd, left) <= 0)
			return TP_EAGAIN;
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			return r == 0 ? TP_ETRUNC : TP_ESYS;
		got += (size_t)r;
	}
	return 0;
}

static int decode(const uint8_t *buf, size_t len, const uint8_t txn[16],
		  struct client_binding_result *res)
{
	struct stun_msg msg;
	const struct stun_attr *a;

	if (stun_msg_parse(&msg, buf, len) != 0)
		return TP_EMALFORMED;
	if (memcmp(msg.txn, txn, 16) != 0 || msg.method != STUN_BINDING)
		return TP_ENOTFOUND;
	res->response_len = len;
	res->fingerprint = msg.fp >= 0;
	if ((a = stun_msg_find(&msg, STUN_ATTR_SOFTWARE)))
		log_escape(res->software, sizeof(res->software), stun_attr_value(&msg, a), a->len);
	if (msg.cls == STUN_ERROR) {
		const char *reason;
		size_t rlen;
		a = stun_msg_find(&msg, STUN_ATTR_ERROR_CODE);
		if (!a || stun_attr_get_error(&msg, a, &res->error_code, &reason, &rlen) != 0)
			return TP_EMALFORMED;
		return 0;
	}
	if (msg.cls != STUN_SUCCESS)
		return TP_ENOTFOUND;
	if (stun_msg_xor_addr(&msg, STUN_ATTR_XOR_MAPPED_ADDRESS, &res->mapped) == 0) {
		res->xor_mapped = true;
		return 0;
	}
	a = stun_msg_find(&msg, STUN_ATTR_MAPPED_ADDRESS);
	if (a && stun_attr_get_addr(&msg, a, &res->mapped) == 0)
		return 0;
	return TP_EMALFORMED;
}

static int binding_udp(int fd, int flags, int timeout_ms, struct client_binding_result *res)
{
	uint8_t req[64], txn[16], buf[2048];
	size_t reqlen;
	double start = now_ms(), deadline = start + timeout_ms, next = start;
	int rto = RTO_MS, sent = 0, rc;

	if ((rc = build_request(flags, txn, req, sizeof(req), &reqlen)) != 0)
		return rc;
	for (;;) {
		double t = now_ms();
		if (t >= deadline)
			return TP_EAGAIN;
		if (t >= next && sent < RC) {
			if (send(fd, req, reqlen, 0) < 0 && errno != ECONNREFUSED)
				return TP_ESYS;
			sent++;
			next = t + rto;
			rto *= 2;
		}
		double until = sent < RC && next < deadline ? next : deadline;
		if (wait_readable(fd, (int)(until - now_ms()) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == ECONNREFUSED || errno == EINTR)
				continue;
			return TP_ESYS;
		}
		rc = decode(buf, (size_t)n, txn, res);
		if (rc == TP_ENOTFOUND)
			continue; /* a stray answer to something else */
		res->rtt_ms = now_ms() - start;
		return rc;
	}
}

static int binding_tcp(int fd, int flags, int timeout_ms, struct client_binding_result *res)
{
	uint8_t req[64], txn[16], buf[STUN_MAX_MSG];
	size_t reqlen, len;
	double start = now_ms(), deadline = start + timeout_ms;
	int rc;

	if ((rc = build_request(flags, txn, req, sizeof(req), &reqlen)) != 0)
		return rc;
	if (write(fd, req, reqlen) != (ssize_t)reqlen)
		return TP_ESYS;
	if ((rc = read_full(fd, buf, STUN_HEADER_LEN, deadline)) != 0)
		return rc;
	len = stun_msg_peek_len(buf, STUN_HEADER_LEN);
	if (len < STUN_HEADER_LEN)
		return TP_EMALFORMED;
	if ((rc = read_full(fd, buf + STUN_HEADER_LEN, len - STUN_HEADER_LEN, deadline)) != 0)
		return rc;
	rc = decode(buf, len, txn, res);
	res->rtt_ms = now_ms() - start;
	return rc == TP_ENOTFOUND ? TP_EMALFORMED : rc;
}

int client_binding(const struct sockaddr *server, int flags, int timeout_ms,
		   struct client_binding_result *res)
{
	bool tcp = flags & CLIENT_TCP;
	int fd, rc;

	memset(res, 0, sizeof(*res));
	fd = socket(server->sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return TP_ESYS;
	/* TCP connect is blocking here; loopback and tools only. */
	if (connect(fd, server, addr_len(server)) != 0) {
		rc = errno == ECONNREFUSED ? TP_EAGAIN : TP_ESYS;
		goto out;
	}
	rc = tcp ? binding_tcp(fd, flags, timeout_ms, res)
		 : binding_udp(fd, flags, timeout_ms, res);
out:
	close(fd);
	return rc;
}
