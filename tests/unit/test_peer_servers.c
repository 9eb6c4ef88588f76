/* test_peer_servers.c - unit tests for src/peer/servers.c, servers_json.c
 * and fetch.c: RFC 7064/7065 URIs, the REST hook's JSON forms, bad JSON
 * (every truncation, depth, junk), and the HTTP client against canned
 * answers from a forked one-shot server (chunked, errors, a silent one). */
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "peer/fetch.h"
#include "peer/servers.h"
#include "turnpike/err.h"

static struct peer_servers ss;

static const char *fmt(const struct peer_server *s, char *buf, size_t cap)
{
	return addr_format((const struct sockaddr *)&s->addr, true, buf, cap);
}

static int add(const char *uri, const char *u, const char *p)
{
	char err[256];
	return peer_servers_add_uri(&ss, uri, u, p, err, sizeof(err));
}

static void test_uris(void)
{
	char a[ADDR_STRLEN], err[256];

	memset(&ss, 0, sizeof(ss));
	CHECK_INT(add("stun:127.0.0.1", NULL, NULL), 0);
	CHECK_INT(ss.s[0].kind, PEER_SRV_STUN);
	CHECK_INT(ss.s[0].transport, PEER_SRV_UDP);
	CHECK_STR(fmt(&ss.s[0], a, sizeof(a)), "127.0.0.1:3478");
	CHECK_STR(ss.s[0].host, "127.0.0.1");
	CHECK_STR(ss.s[0].uri, "stun:127.0.0.1");
	CHECK_INT(add("stun:[::1]:5000", "ignored", "too"), 0);
	CHECK_STR(fmt(&ss.s[1], a, sizeof(a)), "[::1]:5000");
	CHECK_STR(ss.s[1].host, "::1");
	CHECK_STR(ss.s[1].username, ""); /* stun: carries no credentials */
	CHECK_INT(add("turn:127.0.0.1:3479?transport=tcp", "1700000000:bob", "pw"), 0);
	CHECK_INT(ss.s[2].kind, PEER_SRV_TURN);
	CHECK_INT(ss.s[2].transport, PEER_SRV_TCP);
	CHECK_STR(ss.s[2].username, "1700000000:bob");
	CHECK_STR(ss.s[2].credential, "pw");
	CHECK_INT(add("turn:127.0.0.1", "u", "p"), 0);
	CHECK_INT(ss.s[3].transport, PEER_SRV_UDP); /* RFC 7065 §3.2 default */
	CHECK_INT(add("turns:127.0.0.1", "u", "p"), 0);
	CHECK_INT(ss.s[4].transport, PEER_SRV_TLS);
	CHECK_STR(fmt(&ss.s[4], a, sizeof(a)), "127.0.0.1:5349");
	CHECK_INT(add("turns:[2001:db8::1]:443?transport=tcp", "u", "p"), 0);
	CHECK_STR(fmt(&ss.s[5], a, sizeof(a)), "[2001:db8::1]:443");
	CHECK_INT(ss.s[5].transport, PEER_SRV_TLS);
	CHECK_INT(add("TURN:127.0.0.1?TRANSPORT=UDP", "u", "p"), 0);
	CHECK_INT(add("turn:localhost:4000", "u", "p"), 0); /* a name: resolved */
	CHECK_INT(addr_port((struct sockaddr *)&ss.s[7].addr), 4000);
	CHECK(ss.s[7].addr.ss_family == AF_INET || ss.s[7].addr.ss_family == AF_INET6);
	CHECK_STR(ss.s[7].host, "localhost");
	CHECK_INT(ss.n, 8);

	static const char *const bad[] = {
		"stuns:127.0.0.1",
		"http://127.0.0.1",
		"stun:",
		"stun::3478",
		"stun:127.0.0.1?transport=udp",
		"turns:127.0.0.1?transport=udp",
		"turn:127.0.0.1?transport=sctp",
		"turn:127.0.0.1?foo",
		"turn:127.0.0.1:0",
		"turn:127.0.0.1:65536",
		"turn:127.0.0.1:x",
		"turn:127.0.0.1:3478x",
		"turn:[::1",
		"turn:[1.2.3.4]",
		"turn:[]",
		"turn:::1",
		"stun:bad host",
		"stun:a/b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = add(bad[i], "u", "p");
		if (rc != TP_EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, TP_EINVAL);
	}
	CHECK_INT(ss.n, 8); /* nothing half-added */
	CHECK_INT(peer_servers_add_uri(&ss, "turn:127.0.0.1", NULL, NULL, err, sizeof(err)),
		  TP_EINVAL);
	CHECK(strstr(err, "TURN needs a user name and a password") != NULL);
	CHECK_INT(peer_servers_add_uri(&ss, "stuns:x", NULL, NULL, err, sizeof(err)), TP_EINVAL);
	CHECK(strstr(err, "not supported") != NULL);
	while (ss.n < PEER_SERVERS_MAX)
		CHECK_INT(add("stun:127.0.0.1", NULL, NULL), 0);
	CHECK_INT(add("stun:127.0.0.1", NULL, NULL), TP_ETOOMANY);
}

/* What src/http/creds.c writes for /api/v1/turn/ice-servers ... */
static const char ice_json[] =
	"{\"iceServers\":[{\"urls\":[\"turn:127.0.0.1:3478?transport=udp\","
	"\"turn:127.0.0.1:3478?transport=tcp\",\"turns:[::1]:5349?transport=tcp\","
	"\"stun:127.0.0.1:3478\"],\"username\":\"1700000000:4f2a\",\"credential\":"
	"\"q8+/Zx0=\"}],\"iceTransportPolicy\":\"relay\"}\n";
/* ... and for /api/v1/turn/credentials (draft-uberti-behave-turn-rest). */
static const char uberti_json[] = "{\"username\":\"1700000000:alice\",\"password\":\"pw\","
				  "\"ttl\":86400,\"uris\":[\"turn:127.0.0.1?transport=udp\","
				  "\"stun:127.0.0.1\"]}\n";

static int json(const char *s, char *err, size_t cap)
{
	memset(&ss, 0, sizeof(ss));
	return peer_servers_add_json(&ss, s, strlen(s), err, cap);
}

static void test_json(void)
{
	char err[256], a[ADDR_STRLEN];

	CHECK_INT(json(ice_json, err, sizeof(err)), 0);
	CHECK_INT(ss.n, 4);
	CHECK_INT(ss.s[0].transport, PEER_SRV_UDP);
	CHECK_INT(ss.s[1].transport, PEER_SRV_TCP);
	CHECK_INT(ss.s[2].transport, PEER_SRV_TLS);
	CHECK_STR(fmt(&ss.s[2], a, sizeof(a)), "[::1]:5349");
	CHECK_STR(ss.s[2].username, "1700000000:4f2a");
	CHECK_STR(ss.s[2].credential, "q8+/Zx0=");
	CHECK_INT(ss.s[3].kind, PEER_SRV_STUN);

	CHECK_INT(json(uberti_json, err, sizeof(err)), 0);
	CHECK_INT(ss.n, 2);
	CHECK_STR(ss.s[0].username, "1700000000:alice");
	CHECK_STR(ss.s[0].credential, "pw");

	/* a bare array, "url" (older browsers), a string "urls", unknown
	 * members at any depth, escapes, whitespace */
	CHECK_INT(json(" [ {\"urls\" : \"stun:127.0.0.1\", \"x\": {\"y\": [1, -2.5e3, true, null, "
		       "{\"z\": \"\\\"\"}]}},\n\t{\"url\":\"turn:127.0.0.1\",\"username\":"
		       "\"a\\u00e9\\ud83d\\ude00\\/\\n\",\"credential\":\"b\"} ] ",
		       err, sizeof(err)),
		  0);
	CHECK_INT(ss.n, 2);
	CHECK_STR(ss.s[1].username, "a\xc3\xa9\xf0\x9f\x98\x80/\n");
	/* unusable URLs skipped, usable ones kept */
	CHECK_INT(json("{\"iceServers\":[{\"urls\":[\"stuns:x\",\"turn:127.0.0.1\"]},"
		       "{\"urls\":\"turn:127.0.0.1\",\"credential\":{\"accessToken\":\"t\"},"
		       "\"username\":\"u\"},{\"urls\":[\"stun:127.0.0.1\"]}]}",
		       err, sizeof(err)),
		  0);
	CHECK_INT(ss.n, 1);
	CHECK_INT(ss.s[0].kind, PEER_SRV_STUN);
	/* nothing usable: TP_ENOTFOUND saying why */
	CHECK_INT(json("{\"iceServers\":[{\"urls\":\"turn:127.0.0.1\"}]}", err, sizeof(err)),
		  TP_ENOTFOUND);
	CHECK(strstr(err, "no usable STUN or TURN URL (last: turn:127.0.0.1: TURN needs") != NULL);
	CHECK_INT(json("{\"iceServers\":[]}", err, sizeof(err)), TP_ENOTFOUND);
	CHECK_INT(json("[]", err, sizeof(err)), TP_ENOTFOUND);
	CHECK_INT(json("{}", err, sizeof(err)), TP_ENOTFOUND);
	/* a long unknown key is skipped, not an error */
	CHECK_INT(json("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		       "a\":1,"
		       "\"urls\":\"stun:127.0.0.1\"}",
		       err, sizeof(err)),
		  0);
}

static void expect_bad(const char *s, const char *why)
{
	char err[256] = "";

	CHECK_INT(json(s, err, sizeof(err)), TP_EMALFORMED);
	CHECK_INT(ss.n, 0);
	if (!strstr(err, why))
		fprintf(stderr, "want \"%s\" in \"%s\"\n", why, err);
	CHECK(strstr(err, why) != NULL);
}

static void test_json_bad(void)
{
	char err[256], deep[64];
	size_t len = strlen(ice_json);

	expect_bad("", "not a JSON object or array");
	expect_bad("\"stun:127.0.0.1\"", "not a JSON object or array");
	expect_bad("{\"iceServers\":{}}", "byte 14: iceServers: want an array");
	expect_bad("{\"iceServers\":[1]}", "want objects");
	expect_bad("{\"urls\":[1]}", "urls: want strings");
	expect_bad("{\"urls\":\"stun:127.0.0.1\"} x", "junk after");
	expect_bad("{\"urls\":\"stun:127.0.0.1\",}", "string expected");
	expect_bad("{\"urls\" \"stun:127.0.0.1\"}", "':' expected");
	expect_bad("{\"urls\":\"stun:127.0.0.1\x01\"}", "control character");
	expect_bad("{\"urls\":\"stun:\\x\"}", "bad escape");
	expect_bad("{\"urls\":\"stun:\\u12\"}", "bad \\u escape");
	expect_bad("{\"urls\":\"stun:\\u0000\"}", "NUL in a string");
	expect_bad("{\"a\":tru}", "not a JSON value");
	memset(deep, '[', sizeof(deep));
	memcpy(deep, "{\"a\":", 5);
	deep[sizeof(deep) - 1] = '\0';
	expect_bad(deep, "nested too deep");
	char longuser[800];
	snprintf(longuser, sizeof(longuser), "{\"username\":\"%0700d\"}", 0);
	expect_bad(longuser, "string too long");
	CHECK_INT(peer_servers_add_json(&ss, "{}\0", 3, err, sizeof(err)), TP_EMALFORMED);

	/* every truncation of a good answer: malformed, never half-added;
	 * the whole one once more after a failure: all four */
	memset(&ss, 0, sizeof(ss));
	for (size_t n = 0; n + 1 < len; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, ice_json, n);
		int rc = peer_servers_add_json(&ss, copy, n, err, sizeof(err));
		free(copy);
		if (rc != TP_EMALFORMED || ss.n != 0) {
			fprintf(stderr, "prefix %zu: rc %d n %zu\n", n, rc, ss.n);
			CHECK_INT(rc, TP_EMALFORMED);
			break;
		}
	}
	CHECK_INT(peer_servers_add_json(&ss, ice_json, len, err, sizeof(err)), 0);
	CHECK_INT(ss.n, 4);
}

/* A one-shot HTTP server: accepts one connection, reads the request head,
 * sends resp (or nothing, holding on, when resp is NULL), closes. */
static pid_t serve_once(const char *resp, unsigned *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pid_t pid;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	pid = fork();
	if (pid == 0) {
		char req[4096];
		size_t n = 0;
		int c;
		alarm(5); /* bounded whatever happens */
		c = accept(ls, NULL, NULL);
		while (n < sizeof(req) - 1) {
			ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		/* the request must be a proper GET with the path and Host */
		if (!strstr(req, "GET /api/v1/turn/ice-servers?key=k HTTP/1.1\r\nHost: 127.0.0.1:"))
			_exit(3);
		if (!resp) {
			sleep(3);
			_exit(0);
		}
		if (write(c, resp, strlen(resp)) < 0)
			_exit(2);
		close(c);
		_exit(0);
	}
	close(ls);
	return pid;
}

static int fetch(const char *resp, char **body, size_t *len, char *err, size_t cap, int ms)
{
	char url[128];
	unsigned port = 0;
	int rc, st;
	pid_t pid = serve_once(resp, &port);

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/turn/ice-servers?key=k#frag", port);
	rc = peer_fetch_get(url, ms, false, body, len, err, cap);
	if (!resp)
		kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	CHECK(!resp || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
	return rc;
}

static void test_fetch(void)
{
	char err[256], *body = NULL, resp[2048];
	struct timespec t0, t1;
	size_t len = 0;
	long ms;

	CHECK_INT(fetch("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6"
			"\r\n\r\n{\"a\":1}trailing",
			&body, &len, err, sizeof(err), 2000),
		  0);
	CHECK_INT(len, 6);
	CHECK_STR(body, "{\"a\":1");
	free(body);
	body = NULL;
	/* chunked, no Content-Length, and header names in any case */
	CHECK_INT(fetch("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n"
			"3\r\n:1}\r\n0\r\n\r\n",
			&body, &len, err, sizeof(err), 2000),
		  0);
	CHECK_STR(body, "{\"a\":1}");
	free(body);
	body = NULL;
	/* to the end of the stream when there is no length at all */
	CHECK_INT(fetch("HTTP/1.0 200 OK\r\n\r\n[]", &body, &len, err, sizeof(err), 2000), 0);
	CHECK_STR(body, "[]");
	free(body);
	body = NULL;
	/* a refusal names the status, never the key in the query */
	CHECK_INT(fetch("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", &body, &len, err,
			sizeof(err), 2000),
		  TP_ESYS);
	CHECK(strstr(err, "/api/v1/turn/ice-servers: HTTP 401 Unauthorized") != NULL);
	CHECK(strstr(err, "key=") == NULL);
	CHECK(body == NULL);
	CHECK_INT(fetch("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", &body, &len, err,
			sizeof(err), 2000),
		  TP_ESYS);
	CHECK(strstr(err, "cut short") != NULL);
	CHECK_INT(fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &body, &len,
			err, sizeof(err), 2000),
		  TP_ESYS);
	CHECK(strstr(err, "bad chunked") != NULL);
	snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
		 PEER_FETCH_MAX + 1);
	CHECK_INT(fetch(resp, &body, &len, err, sizeof(err), 2000), TP_ENOSPC);
	CHECK_INT(fetch("SSH-2.0-OpenSSH\r\n\r\n", &body, &len, err, sizeof(err), 2000), TP_ESYS);
	CHECK(strstr(err, "not an HTTP answer") != NULL);
	/* a server that never answers costs the timeout, not more */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(fetch(NULL, &body, &len, err, sizeof(err), 300), TP_ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 300 && ms < 2000);
	CHECK(strstr(err, "no complete answer in time") != NULL);

	static const char *const bad[] = {"ftp://x/",     "http://",       "http://:80/",
					  "http://[::1/", "http://h:0/",   "http://h:99999/",
					  "http://u@h/",  "http://h:80x/", "http://h/a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(peer_fetch_get(bad[i], 100, false, &body, &len, err, sizeof(err)),
			  TP_EINVAL);
}

static void test_load(void)
{
	char path[] = "/tmp/test_peer_servers.XXXXXX", err[256];
	int fd = mkstemp(path), in[2], saved = dup(0);

	CHECK(fd >= 0);
	CHECK(write(fd, uberti_json, strlen(uberti_json)) == (ssize_t)strlen(uberti_json));
	close(fd);
	memset(&ss, 0, sizeof(ss));
	CHECK_INT(peer_servers_load(&ss, path, 1000, false, err, sizeof(err)), 0);
	CHECK_INT(ss.n, 2);
	unlink(path);
	CHECK_INT(peer_servers_load(&ss, path, 1000, false, err, sizeof(err)), TP_ESYS);
	CHECK(strstr(err, "cannot open /tmp/test_peer_servers.") != NULL);
	/* "-": stdin */
	CHECK(pipe(in) == 0);
	CHECK(write(in[1], ice_json, strlen(ice_json)) == (ssize_t)strlen(ice_json));
	close(in[1]);
	dup2(in[0], 0);
	memset(&ss, 0, sizeof(ss));
	CHECK_INT(peer_servers_load(&ss, "-", 1000, false, err, sizeof(err)), 0);
	CHECK_INT(ss.n, 4);
	dup2(saved, 0);
	close(in[0]);
	close(saved);
	/* a URL nobody listens on */
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	char url[64];
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", ntohs(sin.sin_port));
	CHECK_INT(peer_servers_load(&ss, url, 1000, false, err, sizeof(err)), TP_ESYS);
	CHECK(strstr(err, "cannot connect: Connection refused") != NULL);
	close(fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_uris();
	test_json();
	test_json_bad();
	test_fetch();
	test_load();
	return check_done("test_peer_servers");
}
