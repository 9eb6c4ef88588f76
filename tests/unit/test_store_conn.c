/* test_store_conn.c - unit tests for src/store/conn.c: the backoff
 * schedule, and the connection against a scripted fake Redis on loopback
 * in the same event loop: every callback fires exactly once (reply,
 * timeout, lost connection, close), the in-flight bound, connect and
 * command timeouts, reconnects, and answers hiredis would assert on
 * (unsolicited replies, malformed pub/sub messages) ending in a clean
 * disconnect instead of a crash. Every wait is bounded. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/log.h"

/* ---- the fake Redis ---- */

enum mode {
	M_OK,          /* answers everything */
	M_SILENT,      /* accepts, never answers */
	M_LOGIN_ONLY,  /* answers AUTH and SELECT, nothing after */
	M_DOUBLE,      /* answers every command twice */
	M_DENY_AUTH,   /* refuses AUTH */
	M_CLOSE_ON_CMD /* closes the connection at the first command */
};

static struct event_base *base;
static enum mode mode;
static struct bufferevent *clients[16];
static unsigned nclients, accepted, commands_seen;

static void fake_drop(struct bufferevent *bev)
{
	for (unsigned i = 0; i < nclients; i++) {
		if (clients[i] == bev) {
			clients[i] = clients[--nclients];
			break;
		}
	}
	bufferevent_free(bev);
}

/* Compares pointers only: bev may have been freed. */
static bool alive(const struct bufferevent *bev)
{
	for (unsigned i = 0; i < nclients; i++)
		if (clients[i] == bev)
			return true;
	return false;
}

static void say(struct bufferevent *bev, const char *s)
{
	bufferevent_write(bev, s, strlen(s));
}

static void answer(struct bufferevent *bev, char **argv, size_t *lens, int argc)
{
	char buf[256];

	if (!strcasecmp(argv[0], "AUTH")) {
		if (mode != M_SILENT)
			say(bev, mode == M_DENY_AUTH
					 ? "-WRONGPASS invalid username-password pair\r\n"
					 : "+OK\r\n");
		return;
	}
	if (!strcasecmp(argv[0], "SELECT")) {
		if (mode != M_SILENT)
			say(bev, "+OK\r\n");
		return;
	}
	commands_seen++;
	if (mode == M_SILENT || mode == M_LOGIN_ONLY)
		return;
	if (mode == M_CLOSE_ON_CMD) {
		fake_drop(bev);
		return;
	}
	if (!strcasecmp(argv[0], "SUBSCRIBE")) {
		for (int i = 1; i < argc; i++) {
			snprintf(buf, sizeof(buf),
				 "*3\r\n$9\r\nsubscribe\r\n$%zu\r\n%.*s\r\n:%d\r\n", lens[i],
				 (int)lens[i], argv[i], i);
			say(bev, buf);
		}
		return;
	}
	say(bev, ":1\r\n");
	if (mode == M_DOUBLE)
		say(bev, "+EXTRA\r\n");
}

/* Parses whole RESP commands (arrays of bulk strings) from the input. */
static void fake_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	(void)arg;

	for (;;) {
		size_t len = evbuffer_get_length(in), pos = 0, lens[8];
		char *p = (char *)evbuffer_pullup(in, -1), *argv[8], *end;
		long n;
		int argc = 0;

		if (len < 4 || p[0] != '*')
			return;
		n = strtol(p + 1, &end, 10);
		if (end + 2 > p + len || n < 1 || n > 8)
			return;
		pos = (size_t)(end - p) + 2;
		for (long i = 0; i < n; i++) {
			long l;
			if (pos >= len || p[pos] != '$')
				return;
			l = strtol(p + pos + 1, &end, 10);
			if (end + 2 > p + len || l < 0)
				return;
			pos = (size_t)(end - p) + 2;
			if (pos + (size_t)l + 2 > len)
				return;
			argv[argc] = p + pos;
			lens[argc++] = (size_t)l;
			p[pos + (size_t)l] = '\0'; /* over the \r, already counted */
			pos += (size_t)l + 2;
		}
		answer(bev, argv, lens, argc);
		if (!alive(bev))
			return; /* answer() closed it (M_CLOSE_ON_CMD) */
		evbuffer_drain(in, pos);
	}
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_drop(bev);
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			int salen, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;

	accepted++;
	if (!bev || nclients >= 16) {
		if (bev)
			bufferevent_free(bev);
		return;
	}
	clients[nclients++] = bev;
	bufferevent_setcb(bev, fake_read, NULL, fake_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Sends raw bytes to every client of the fake (pub/sub pushes). */
static void push(const char *s)
{
	for (unsigned i = 0; i < nclients; i++)
		say(clients[i], s);
}

static void drop_all(void)
{
	while (nclients)
		fake_drop(clients[0]);
}

/* ---- driving the loop ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct store_conn *watched;
static bool want_up(void)
{
	return store_conn_state(watched) == STORE_UP;
}
static bool want_not_up(void)
{
	return store_conn_state(watched) != STORE_UP;
}

/* Runs the loop until cond() or ms pass. Returns cond(). */
static bool run_until(bool (*cond)(void), unsigned ms)
{
	uint64_t end = now_ms() + ms;
	struct timeval tick = {0, 10000};

	while (!(cond && cond()) && now_ms() < end) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return cond && cond();
}

static void run_for(unsigned ms)
{
	run_until(NULL, ms);
}

/* ---- callbacks that count ---- */

struct result {
	unsigned calls;
	int status;
	int type;
};

static void count_cb(struct store_conn *c, const struct redisReply *r, int status, void *arg)
{
	struct result *res = arg;
	(void)c;

	res->calls++;
	res->status = status;
	res->type = r ? r->type : -1;
	if ((status == 0) != (r != NULL))
		res->calls += 100; /* a reply exactly when status is 0 */
}

static struct store_addr addr;

static struct store_conn *open_conn(unsigned timeout_ms, unsigned max_inflight)
{
	struct store_conn_opts o;

	memset(&o, 0, sizeof(o));
	o.name = "test";
	o.timeout_ms = timeout_ms;
	o.max_inflight = max_inflight;
	watched = store_conn_new(base, &addr, &o);
	return watched;
}

/* ---- tests ---- */

static void test_backoff(void)
{
	unsigned prev_max = 0;

	CHECK_INT(store_backoff_ms(0, 0), 50);
	CHECK_INT(store_backoff_ms(0, 50), 100);
	CHECK_INT(store_backoff_ms(0, 51), 50);
	CHECK_INT(store_backoff_ms(1, 0), 100);
	CHECK_INT(store_backoff_ms(1, 100), 200);
	for (unsigned a = 0; a < 100; a++) {
		unsigned lo = store_backoff_ms(a, 0), hi = lo;
		for (uint32_t r = 1; r < 6000; r += 7) {
			unsigned d = store_backoff_ms(a, r);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		CHECK(lo >= STORE_BACKOFF_MIN_MS / 2);
		CHECK(hi <= STORE_BACKOFF_MAX_MS);
		CHECK(hi >= prev_max); /* never shrinks */
		CHECK(lo * 2 >= hi);   /* equal jitter: [d/2, d] */
		prev_max = hi;
	}
	CHECK_INT(store_backoff_ms(6, 0), 2500);
	CHECK_INT(store_backoff_ms(1000, UINT32_MAX), store_backoff_ms(1000, UINT32_MAX % 2501));
	CHECK(store_backoff_ms(UINT32_MAX, UINT32_MAX) <= STORE_BACKOFF_MAX_MS);
}

static void test_happy(void)
{
	struct result r1 = {0}, r2 = {0};
	struct store_conn_stats st;
	struct store_conn *c;

	mode = M_OK;
	c = open_conn(500, 0);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(run_until(want_up, 2000));
	CHECK_INT(store_conn_cmd(c, count_cb, &r1, "SET %s %s", "k", "v"), 0);
	CHECK_INT(store_conn_cmd_argv(c, count_cb, &r2, 2, (const char *[]){"GET", "k"},
				      (const size_t[]){3, 1}),
		  0);
	CHECK_INT(r1.calls, 0); /* never from inside the call */
	run_for(200);
	CHECK_INT(r1.calls, 1);
	CHECK_INT(r1.status, 0);
	CHECK_INT(r1.type, REDIS_REPLY_INTEGER);
	CHECK_INT(r2.calls, 1);
	store_conn_stats(c, &st);
	CHECK_INT(st.commands, 2);
	CHECK_INT(st.replies, 2);
	CHECK_INT(st.connects, 1);
	CHECK_INT(st.protocol_errors, 0);
	/* Free with commands pending: each callback once, with TP_ECLOSED. */
	mode = M_SILENT;
	CHECK_INT(store_conn_cmd(c, count_cb, &r1, "SET a b"), 0);
	CHECK_INT(store_conn_cmd(c, count_cb, &r2, "SET a b"), 0);
	store_conn_free(c);
	CHECK_INT(r1.calls, 2);
	CHECK_INT(r1.status, TP_ECLOSED);
	CHECK_INT(r2.calls, 2);
	CHECK_INT(r2.status, TP_ECLOSED);
	drop_all();
}

/* A write that fails inside store_conn_flush (Redis reset the connection)
 * must not run callbacks inside the flush: its caller may be freeing the
 * very thing a callback would touch (issue 9). They run on the loop. */
static void test_flush_reset(void)
{
	struct result r1 = {0}, r2 = {0};
	struct linger lg = {1, 0};
	struct store_conn *c;

	mode = M_SILENT;
	c = open_conn(5000, 0);
	CHECK(c != NULL);
	if (!c)
		return;
	mode = M_OK;
	CHECK(run_until(want_up, 2000));
	mode = M_SILENT;
	CHECK_INT(store_conn_cmd(c, count_cb, &r1, "SET %s %s", "k", "v"), 0);
	run_for(100); /* written and read by the fake, never answered */
	CHECK_INT(nclients, 1);
	if (nclients == 1) {
		/* An RST now (libevent would close the socket later), which
		 * the client has not read yet. */
		int fd = bufferevent_getfd(clients[0]);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		bufferevent_setfd(clients[0], -1);
		close(fd);
		fake_drop(clients[0]);
	}
	CHECK_INT(store_conn_cmd(c, count_cb, &r2, "SET %s %s", "k", "w"), 0);
	store_conn_flush(c);
	CHECK_INT(r1.calls, 0);
	CHECK_INT(r2.calls, 0);
	CHECK(run_until(want_not_up, 1000));
	run_for(50);
	CHECK_INT(r1.calls, 1);
	CHECK_INT(r1.status, TP_ECLOSED);
	CHECK_INT(r2.calls, 1);
	CHECK_INT(r2.status, TP_ECLOSED);
	store_conn_free(c);
	CHECK_INT(r1.calls, 1);
	drop_all();
}

static void test_timeout_and_bound(void)
{
	struct result r[3] = {{0}};
	struct store_conn_stats st;
	struct store_conn *c;
	uint64_t t0;

	mode = M_LOGIN_ONLY;
	c = open_conn(300, 2);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(run_until(want_up, 2000));
	CHECK_INT(store_conn_cmd(c, count_cb, &r[0], "GET a"), 0);
	CHECK_INT(store_conn_cmd(c, count_cb, &r[1], "GET b"), 0);
	CHECK_INT(store_conn_cmd(c, count_cb, &r[2], "GET c"), TP_EAGAIN);
	t0 = now_ms();
	CHECK(run_until(want_not_up, 2000));
	CHECK(now_ms() - t0 >= 250);
	CHECK(now_ms() - t0 < 1000);
	CHECK_INT(r[0].calls, 1);
	CHECK_INT(r[0].status, TP_ETIMEDOUT);
	CHECK_INT(r[1].calls, 1);
	CHECK_INT(r[1].status, TP_ETIMEDOUT);
	CHECK_INT(r[2].calls, 0);
	/* While it is down, commands are refused at once. */
	CHECK_INT(store_conn_cmd(c, count_cb, &r[2], "GET c"), TP_ECLOSED);
	store_conn_stats(c, &st);
	CHECK_INT(st.timeouts, 2);
	CHECK_INT(st.rejected_full, 1);
	CHECK(st.rejected_down >= 1);
	/* It reconnects by itself (the fake still logs in). */
	mode = M_OK;
	CHECK(run_until(want_up, 3000));
	CHECK_INT(store_conn_cmd(c, count_cb, &r[2], "GET c"), 0);
	run_for(100);
	CHECK_INT(r[2].calls, 1);
	CHECK_INT(r[2].status, 0);
	store_conn_free(c);
	drop_all();
}

static void test_silent_server(void)
{
	struct store_conn_stats st;
	struct store_conn *c;
	struct result r = {0};
	unsigned before = accepted;

	mode = M_SILENT;
	addr.connect_timeout_ms = 200;
	c = open_conn(200, 0);
	CHECK(c != NULL);
	if (!c)
		return;
	/* Never UP; the loop stays free; attempts go on with backoff. */
	CHECK(!run_until(want_up, 1200));
	CHECK_INT(store_conn_cmd(c, count_cb, &r, "GET a"), TP_ECLOSED);
	store_conn_stats(c, &st);
	CHECK(st.connect_failures >= 2);
	CHECK(accepted - before >= 2);
	CHECK_INT(st.connects, 0);
	store_conn_free(c);
	drop_all();
	addr.connect_timeout_ms = 1000;
}

static void test_garbage(void)
{
	struct store_conn_stats st;
	struct store_conn *c;
	struct result r = {0}, r2 = {0};

	/* A second answer to one command: hiredis 0.14 would assert. */
	mode = M_DOUBLE;
	c = open_conn(500, 0);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(run_until(want_up, 2000));
	CHECK_INT(store_conn_cmd(c, count_cb, &r, "SET a b"), 0);
	CHECK(run_until(want_not_up, 2000));
	CHECK_INT(r.calls, 1);
	store_conn_stats(c, &st);
	CHECK(st.protocol_errors >= 1);
	/* An answer with nobody waiting at all. */
	mode = M_OK;
	CHECK(run_until(want_up, 3000));
	push("+SURPRISE\r\n");
	CHECK(run_until(want_not_up, 2000));
	/* The server closing with a command pending: TP_ECLOSED, once. */
	CHECK(run_until(want_up, 3000));
	mode = M_CLOSE_ON_CMD;
	CHECK_INT(store_conn_cmd(c, count_cb, &r2, "SET a b"), 0);
	CHECK(run_until(want_not_up, 2000));
	CHECK_INT(r2.calls, 1);
	CHECK_INT(r2.status, TP_ECLOSED);
	store_conn_free(c);
	CHECK_INT(r2.calls, 1);
	drop_all();
}

static void test_login_refused(void)
{
	struct store_conn *c;

	mode = M_DENY_AUTH;
	snprintf(addr.password, sizeof(addr.password), "wrong");
	c = open_conn(500, 0);
	CHECK(c != NULL);
	if (c) {
		CHECK(!run_until(want_up, 800));
		store_conn_free(c);
	}
	addr.password[0] = '\0';
	drop_all();
}

static unsigned messages;
static char last_msg[64];

static void on_msg(void *arg, const char *channel, const char *msg, size_t len)
{
	(void)arg;
	messages++;
	snprintf(last_msg, sizeof(last_msg), "%s=%.*s", channel, (int)len, msg);
}

static void test_subscriber(void)
{
	static const char *const ch[] = {"chan:a", "chan:b"};
	struct store_conn_opts o;
	struct store_conn_stats st;
	struct store_conn *c;
	struct result r = {0};

	mode = M_OK;
	memset(&o, 0, sizeof(o));
	o.name = "sub";
	o.channels = ch;
	o.nchannels = 2;
	o.on_message = on_msg;
	c = watched = store_conn_new(base, &addr, &o);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(run_until(want_up, 2000));
	CHECK_INT(store_conn_cmd(c, count_cb, &r, "GET a"), TP_EINVAL);
	push("*3\r\n$7\r\nmessage\r\n$6\r\nchan:b\r\n$5\r\nhello\r\n");
	run_for(100);
	CHECK_INT(messages, 1);
	CHECK_STR(last_msg, "chan:b=hello");
	/* Malformed pushes, each ends the connection cleanly; it comes back. */
	static const char *const bad[] = {
		"*2\r\n$7\r\nmessage\r\n$6\r\nchan:a\r\n",
		"*3\r\n:1\r\n$6\r\nchan:a\r\n$1\r\nx\r\n",
		"*3\r\n$7\r\nmessage\r\n:7\r\n$1\r\nx\r\n",
		"*3\r\n$7\r\nmessage\r\n$7\r\nchan:zz\r\n$1\r\nx\r\n",
		"*3\r\n$11\r\nunsubscribe\r\n$6\r\nchan:a\r\n:0\r\n",
		"*1\r\n$4\r\npong\r\n",
		"+OK\r\n",
		"*3\r\n$7\r\nmessage\r\n*1\r\n:1\r\n$1\r\nx\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(run_until(want_up, 3000));
		push(bad[i]);
		CHECK(run_until(want_not_up, 2000));
	}
	CHECK(run_until(want_up, 6000));
	push("*3\r\n$7\r\nmessage\r\n$6\r\nchan:a\r\n$3\r\nbye\r\n");
	run_for(100);
	CHECK_INT(messages, 2);
	CHECK_STR(last_msg, "chan:a=bye");
	store_conn_stats(c, &st);
	CHECK(st.protocol_errors >= sizeof(bad) / sizeof(bad[0]));
	store_conn_free(c);
	drop_all();
}

int main(void)
{
	struct evconnlistener *l;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	log_open(LOG_LVL_WARN, LOG_DEST_STDERR, NULL);
	test_backoff();
	base = event_base_new();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, fake_accept, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
				    (struct sockaddr *)&sin, sizeof(sin));
	CHECK(l != NULL);
	if (!l)
		return check_done("test_store_conn");
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &slen);
	CHECK_INT(store_addr_parse("ip=127.0.0.1 connect_timeout=1", &addr, NULL, 0), 0);
	addr.port = ntohs(sin.sin_port);
	test_happy();
	test_flush_reset();
	test_timeout_and_bound();
	test_silent_server();
	test_garbage();
	test_login_refused();
	test_subscriber();
	evconnlistener_free(l);
	event_base_free(base);
	return check_done("test_store_conn");
}
