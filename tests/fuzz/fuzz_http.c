/* fuzz_http.c - libFuzzer target for the HTTP side of turnpiked: the bytes
 * of a connection to the hook go through libevent's evhttp into the
 * handlers of src/http/http.c (routing, the TURN REST credentials and
 * ice-servers JSON, the API-key check, query and form parameters, CORS,
 * /metrics, /healthz), as http_server_new sets them up, on a loopback TCP
 * connection in this process. Every answer must be well-formed HTTP; a
 * 200 from the hook must be JSON that names the credentials. Aborts on any
 * broken invariant.
 *
 * Input: the request bytes as the client sends them (pipelined requests
 * allowed). The valid API key is KEY below. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/sha.h>

#include "fuzz.h"
#include "auth/auth.h"
#include "http/http.h"
#include "http/http_int.h"
#include "net/net.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/srccount.h"

#define KEY "fuzz-api-key-0123456789"
#define ANSWER_MAX (256 * 1024)
#define LOOPS 64

static struct event_base *base;
static struct http_server H;
static struct server srv;
static struct conf conf;
static struct sockaddr_in where;

static void setup(void)
{
	struct evhttp_bound_socket *bs;
	struct http_uri_src src = {.turn_uri = &conf.turn_uri};
	socklen_t len = sizeof(where);
	char err[256];

	log_set_level(LOG_LVL_ERR);
	ASSERT((base = event_base_new()));
	ASSERT(conf_init(&conf) == 0);
	ASSERT(conf_set(&conf, "use-auth-secret", NULL, err, sizeof(err)) == 0);
	ASSERT(conf_set(&conf, "static-auth-secret", "fuzz-secret", err, sizeof(err)) == 0);
	ASSERT(conf_set(&conf, "rest-api-key", KEY, err, sizeof(err)) == 0);
	ASSERT(conf_set(&conf, "rest-cors-origin", "https://app.example", err, sizeof(err)) == 0);
	ASSERT(conf_set(&conf, "turn-uri", "turn:turn.example:3478?transport=udp", err,
			sizeof(err)) == 0);
	ASSERT(conf_set(&conf, "turn-uri", "turns:turn.example:443?transport=tcp", err,
			sizeof(err)) == 0);
	ASSERT((srv.store = auth_store_new("fuzz.example")));
	ASSERT(auth_store_add_secret(srv.store, "fuzz-secret") == 0);

	/* What http_server_new does, but no rate limit (it follows the real
	 * clock) and the listener on a free loopback port. */
	H.base = base;
	H.srv = &srv;
	H.conf = &conf;
	H.state = HTTP_SERVING;
	TAILQ_INIT(&H.pending);
	TAILQ_INIT(&H.open);
	ASSERT((H.conns = srccount_new(64, 64)));
	ASSERT((H.keys = calloc(1, sizeof(*H.keys))));
	ASSERT(SHA256((const unsigned char *)KEY, strlen(KEY), H.keys[0]));
	H.nkeys = 1;
	ASSERT(http_uris_build(&src, &H.uris, &H.nuris) == 0 && H.nuris == 2);
	ASSERT(http_evhttp_init(&H) == 0);
	ASSERT((bs = evhttp_bind_socket_with_handle(H.http, "127.0.0.1", 0)));
	ASSERT(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&where, &len) == 0);
}

/* Checks one connection's worth of answers: each a status line, headers
 * and a body of its Content-Length. */
static void answers_check(const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		const char *p = buf + off, *end = memmem(p, n - off, "\r\n\r\n", 4);
		const char *cl;
		int code = 0;
		long body = 0;

		/* libevent echoes the request's version (HTTP/0.1, HTTP/1.67) */
		ASSERT(sscanf(p, "HTTP/%*u.%*u %3d", &code) == 1 && code >= 100 && code <= 599);
		if (!end)
			return; /* cut short: the connection went */
		cl = memmem(p, (size_t)(end - p), "Content-Length: ", 16);
		if (!cl)
			return; /* HTTP/1.0: the body runs to the close */
		body = strtol(cl + 16, NULL, 10);
		ASSERT(body >= 0);
		off = (size_t)(end + 4 - buf);
		if ((size_t)body > n - off)
			return; /* HEAD, or cut short */
		/* The hook's 200: JSON with the credentials. */
		if (code == 200 && body && off + 1 < n && buf[off] == '{') {
			ASSERT(memmem(buf + off, (size_t)body, "\"username\"", 10) ||
			       memmem(buf + off, (size_t)body, "\"iceServers\"", 12));
			ASSERT(buf[off + (size_t)body - 1] == '}' ||
			       buf[off + (size_t)body - 1] == '\n');
		}
		off += (size_t)body;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *answer;
	static bool ready;
	struct linger lg = {1, 0};
	size_t got = 0, sent = 0;
	int fd, loops;

	if (!ready) {
		setup();
		ASSERT((answer = malloc(ANSWER_MAX + 1)));
		ready = true;
	}
	if (size > 16 * 1024)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT(fd >= 0);
	/* Closed with a reset: no TIME_WAIT left behind per input. */
	ASSERT(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	if (connect(fd, (struct sockaddr *)&where, sizeof(where)) != 0)
		ASSERT(errno == EINPROGRESS);
	for (loops = 0; loops < LOOPS; loops++) {
		ssize_t r;

		event_base_loop(base, EVLOOP_NONBLOCK);
		if (sent < size) {
			r = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
			else if (r < 0 && errno != EAGAIN && errno != ENOTCONN)
				break;
			continue;
		}
		r = recv(fd, answer + got, ANSWER_MAX - got, 0);
		if (r == 0 || got == ANSWER_MAX)
			break; /* the server closed */
		if (r > 0) {
			got += (size_t)r;
			loops = 0; /* more may follow: pipelined answers */
		} else if (errno != EAGAIN) {
			break;
		} else if (got && loops > 8) {
			break; /* answered, and waiting for more of a request */
		}
	}
	close(fd);
	answer[got] = '\0'; /* for sscanf */
	/* Let evhttp see the reset and free the connection. */
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "%.*s\n", (int)got, answer);
	answers_check(answer, got);
	return 0;
}
