/* ctl_admin.c - turnpikectl sessions and kill: live allocations, listed or
 * ended. Across the fleet through redis-statsdb when the configuration has
 * one (a command on turnpike:admin, every server's answer from a list that
 * expires: net/admin_redis.c), else (or with --http) from one server's
 * HTTP listener with its admin-api-key. The answers are the servers' own
 * JSON; this file reads only the flat objects they are made of. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "apps/ctl.h"
#include "http/http.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/hex.h"
#include "util/rand.h"

#define ID_LEN 16
#define KEY_MAX 256
#define FORM_MAX 1024

struct opts {
	const char *user, *id, *http, *key;
	bool json, kill;
	long timeout_ms;
};

/* ---- reading the answers ---- */

/* The end of the JSON string that starts at s (its opening quote), or
 * NULL. */
static const char *str_end(const char *s, const char *end)
{
	for (s++; s < end; s++) {
		if (*s == '\\')
			s++;
		else if (*s == '"')
			return s;
	}
	return NULL;
}

/* The end of the value at s (an object, array, string or scalar). */
static const char *value_end(const char *s, const char *end)
{
	int depth = 0;

	for (; s < end; s++) {
		if (*s == '"') {
			if (!(s = str_end(s, end)))
				return NULL;
			if (depth == 0)
				return s + 1;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if (*s == '}' || *s == ']') {
			if (depth == 0)
				return s; /* a scalar before the enclosing close */
			if (--depth == 0)
				return s + 1;
		} else if (depth == 0 && *s == ',') {
			return s;
		}
	}
	return depth == 0 ? s : NULL;
}

/* The value of member name in the object obj[0..end) (its first byte), or
 * NULL; *vend set to its end. Only the object's own members are looked at. */
static const char *member(const char *obj, const char *end, const char *name, const char **vend)
{
	size_t nl = strlen(name);
	const char *s = obj + 1;

	while (s < end) {
		const char *k, *kend;
		while (s < end && (*s == ' ' || *s == ','))
			s++;
		if (s >= end || *s != '"' || !(kend = str_end(s, end)))
			return NULL;
		k = s + 1;
		s = kend + 1;
		if (s >= end || *s != ':')
			return NULL;
		s++;
		*vend = value_end(s, end);
		if (!*vend)
			return NULL;
		if ((size_t)(kend - k) == nl && !memcmp(k, name, nl))
			return s;
		s = *vend;
	}
	return NULL;
}

/* A string member, unescaped into out (\uXXXX beyond ASCII as '?'), or
 * "-". */
static const char *get_str(const char *obj, const char *end, const char *name, char *out,
			   size_t cap)
{
	const char *v, *vend;
	size_t n = 0;

	if (!(v = member(obj, end, name, &vend)) || *v != '"') {
		snprintf(out, cap, "-");
		return out;
	}
	for (v++; v < vend - 1 && n + 1 < cap; v++) {
		char c = *v;
		if (c == '\\' && v + 1 < vend - 1) {
			c = *++v;
			if (c == 'u') {
				unsigned u = 0;
				if (vend - v > 5 && sscanf(v + 1, "%4x", &u) == 1)
					v += 4;
				c = u >= 0x20 && u < 0x7f ? (char)u : '?';
			} else if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f') {
				c = '?';
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static uint64_t get_u64(const char *obj, const char *end, const char *name)
{
	const char *vend, *v = member(obj, end, name, &vend);

	return v ? strtoull(v, NULL, 10) : 0;
}

static bool get_true(const char *obj, const char *end, const char *name)
{
	const char *vend, *v = member(obj, end, name, &vend);

	return v && !strncmp(v, "true", 4);
}

static void print_header(void)
{
	printf("%-32s %-20s %-12s %-4s %-22s %-22s %8s %17s %17s\n", "ID", "USER", "REALM", "TR",
	       "CLIENT", "RELAY", "AGE", "CLIENT>PEERS", "PEERS>CLIENT");
}

static void print_session(const char *o, const char *e, bool json)
{
	char id[40], user[300], realm[130], tr[8], client[ADDR_STRLEN], relay[ADDR_STRLEN],
		relay2[ADDR_STRLEN], up[40], down[40];
	uint64_t age = get_u64(o, e, "age_ms");

	if (json) {
		printf("%.*s\n", (int)(e - o), o);
		return;
	}
	get_str(o, e, "relay2", relay2, sizeof(relay2));
	snprintf(up, sizeof(up), "%" PRIu64 "p/%" PRIu64 "B", get_u64(o, e, "client_packets"),
		 get_u64(o, e, "client_bytes"));
	snprintf(down, sizeof(down), "%" PRIu64 "p/%" PRIu64 "B", get_u64(o, e, "peer_packets"),
		 get_u64(o, e, "peer_bytes"));
	printf("%-32s %-20s %-12s %-4s %-22s %-22s %7" PRIu64 "s %17s %17s%s%s\n",
	       get_str(o, e, "id", id, sizeof(id)), get_str(o, e, "user", user, sizeof(user)),
	       get_str(o, e, "realm", realm, sizeof(realm)),
	       get_str(o, e, "transport", tr, sizeof(tr)),
	       get_str(o, e, "client", client, sizeof(client)),
	       get_str(o, e, "relay", relay, sizeof(relay)), age / 1000, up, down,
	       strcmp(relay2, "-") ? " +" : "", strcmp(relay2, "-") ? relay2 : "");
}

/* One server's answer: prints its sessions (adds them to *count) or its
 * kill count (adds to *count). Returns 0, or 1 when it cannot be read. */
static int print_answer(const char *ans, size_t len, const struct opts *o, unsigned long *count)
{
	const char *end = ans + len, *v, *vend;
	char server[300];

	while (end > ans && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (len == 0 || ans[0] != '{' || end[-1] != '}') {
		fprintf(stderr, "turnpikectl: an answer is not JSON\n");
		return 1;
	}
	get_str(ans, end, "server", server, sizeof(server));
	if (get_true(ans, end, "busy"))
		fprintf(stderr, "turnpikectl: %s: a worker was too busy to answer\n", server);
	if (o->kill) {
		unsigned long n = (unsigned long)get_u64(ans, end, "ended");
		if (o->json)
			printf("%.*s\n", (int)(end - ans), ans);
		else
			printf("%s: ended %lu\n", server, n);
		*count += n;
		return 0;
	}
	if (get_true(ans, end, "truncated"))
		fprintf(stderr, "turnpikectl: %s: the list is cut short\n", server);
	if (!(v = member(ans, end, "sessions", &vend)) || *v != '[') {
		fprintf(stderr, "turnpikectl: %s: no sessions in its answer\n", server);
		return 1;
	}
	for (v++; v < vend - 1;) {
		const char *oe;
		while (v < vend - 1 && (*v == ',' || *v == ' '))
			v++;
		if (v >= vend - 1)
			break;
		if (*v != '{' || !(oe = value_end(v, vend - 1)))
			return 1;
		print_session(v, oe, o->json);
		(*count)++;
		v = oe;
	}
	return 0;
}

/* ---- through HTTP ---- */

/* Appends name=value, percent-encoded, to a form. */
static bool form_add(char *form, size_t cap, const char *name, const char *value)
{
	size_t n = strlen(form);
	int w = snprintf(form + n, cap - n, "%s%s=", n ? "&" : "", name);

	if (w < 0 || (size_t)w >= cap - n)
		return false;
	n += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (n + 4 >= cap)
			return false;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			form[n++] = (char)*p;
		else
			n += (size_t)sprintf(form + n, "%%%02X", *p);
	}
	form[n] = '\0';
	return true;
}

/* The address to reach an http-listen at: a wildcard means this host. */
static int http_target(const char *spec, struct sockaddr_storage *sa)
{
	if (addr_parse_listen(spec, sa) != 0) {
		fprintf(stderr, "turnpikectl: '%s' is not PORT, IP:PORT or [IPv6]:PORT\n", spec);
		return 2;
	}
	if (sa->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (sa->ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	return 0;
}

static int run_http(const struct opts *o, const char *target)
{
	struct sockaddr_storage sa;
	char form[FORM_MAX] = "", path[FORM_MAX + 64], *body = NULL;
	unsigned long count = 0;
	int status = 0, rc;

	if ((rc = http_target(target, &sa)) != 0)
		return rc;
	if (!o->key) {
		fprintf(stderr, "turnpikectl: no API key: give --key, set TURNPIKE_ADMIN_KEY, "
				"or admin-api-key in the configuration\n");
		return 2;
	}
	if ((o->user && !form_add(form, sizeof(form), "user", o->user)) ||
	    (o->id && !form_add(form, sizeof(form), "id", o->id))) {
		fprintf(stderr, "turnpikectl: the user name is too long\n");
		return 2;
	}
	if (o->kill) {
		rc = http_request((struct sockaddr *)&sa, "POST", "/api/v1/admin/sessions/kill",
				  o->key, form, (int)o->timeout_ms, &body, &status);
	} else {
		snprintf(path, sizeof(path), "/api/v1/admin/sessions%s%s", form[0] ? "?" : "",
			 form);
		rc = http_request((struct sockaddr *)&sa, "GET", path, o->key, NULL,
				  (int)o->timeout_ms, &body, &status);
	}
	if (rc != 0) {
		if (status && status != 200)
			fprintf(stderr, "turnpikectl: http %s: HTTP status %d%s\n", target, status,
				status == 401 || status == 403 ? " (API key refused)" : "");
		else
			fprintf(stderr, "turnpikectl: http %s: %s%s%s\n", target, tp_strerror(rc),
				rc == TP_ESYS ? ": " : "", rc == TP_ESYS ? strerror(errno) : "");
		return 1;
	}
	if (!o->kill && !o->json)
		print_header();
	rc = print_answer(body, strlen(body), o, &count);
	free(body);
	if (rc == 0 && o->kill && !o->json)
		printf("ended: %lu\n", count);
	return rc != 0 ? 1 : o->kill && count == 0 ? 1 : 0;
}

/* ---- through Redis ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_redis(struct ctl *x, const struct opts *o)
{
	char key[sizeof(STORE_ADMIN_REPLY_PREFIX) + 40], cmd[64 + 2 * 256 + 64], hex[2 * 256 + 1];
	char tag[33];
	uint8_t rnd[16];
	unsigned long count = 0;
	long long servers;
	long answered = 0;
	double deadline;
	redisReply *r;
	int rc = 1;

	if (rand_bytes(rnd, sizeof(rnd)) != 0)
		return 1;
	hex_encode(rnd, sizeof(rnd), tag);
	snprintf(key, sizeof(key), "%s%s", STORE_ADMIN_REPLY_PREFIX, tag);
	if (o->id) {
		snprintf(cmd, sizeof(cmd), "kill %s id %s", key, o->id);
	} else if (o->user) {
		hex_encode((const uint8_t *)o->user, strlen(o->user), hex);
		snprintf(cmd, sizeof(cmd), "%s %s user %s", o->kill ? "kill" : "sessions", key,
			 hex);
	} else {
		snprintf(cmd, sizeof(cmd), "sessions %s", key);
	}
	if (!(r = ctl_cmd(x, 3, (const char *[]){"PUBLISH", STORE_CHANNEL_ADMIN, cmd})))
		return 1;
	servers = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	if (servers <= 0) {
		fprintf(stderr, "turnpikectl: no server listens on %s in redis-statsdb\n",
			STORE_CHANNEL_ADMIN);
		return 1;
	}
	if (!o->kill && !o->json)
		print_header();
	deadline = now_s() + (double)o->timeout_ms / 1000.0;
	rc = 0;
	while (answered < servers && now_s() < deadline) {
		r = ctl_cmd(x, 3, (const char *[]){"BLPOP", key, "1"});
		if (!r) {
			rc = 1;
			break;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			answered++;
			if (print_answer(r->element[1]->str, r->element[1]->len, o, &count) != 0)
				rc = 1;
		}
		freeReplyObject(r);
	}
	if ((r = ctl_cmd(x, 2, (const char *[]){"DEL", key})))
		freeReplyObject(r);
	if (answered < servers) {
		fprintf(stderr, "turnpikectl: %ld of %lld servers answered within %ld ms\n",
			answered, servers, o->timeout_ms);
		rc = 1;
	}
	if (o->kill && !o->json)
		printf("ended: %lu\n", count);
	if (!o->kill && !o->json)
		fprintf(stderr, "turnpikectl: %lu sessions on %ld servers\n", count, answered);
	return rc != 0 ? 1 : o->kill && count == 0 ? 1 : 0;
}

/* ---- the commands ---- */

static void usage_lines(FILE *f)
{
	fprintf(f, "  sessions [--user U] [--json] [--http ADDR] [--key KEY] [--timeout MS]\n"
		   "                             live allocations: id, user, realm, transport,\n"
		   "                             client, relayed address(es), age, packets/bytes\n"
		   "                             each way; across the fleet through redis-statsdb\n"
		   "                             when configured, else (or with --http) from the\n"
		   "                             HTTP listener with its admin-api-key\n"
		   "  kill ID | kill --user U [--json] [--http ADDR] [--key KEY] [--timeout MS]\n"
		   "                             end the allocation with that id, or every one of\n"
		   "                             user U (its whole USERNAME, or the user part of\n"
		   "                             REST credentials); prints how many ended\n"
		   "  Options for these: -c, --config FILE; --redis-statsdb CONNINFO; the key\n"
		   "  also from TURNPIKE_ADMIN_KEY or admin-api-key in the file. Exit status 1\n"
		   "  when a server did not answer, or kill ended nothing.\n");
}

void ctl_admin_usage(FILE *f)
{
	usage_lines(f);
}

static int run(int argc, char **argv, bool kill)
{
	struct opts o = {.timeout_ms = 5000, .kill = kill};
	struct ctl x;
	const char *http = NULL;
	uint8_t id[ID_LEN];
	int rc;

	argc = ctl_setup(&x, argc, argv, false, true, 0, &rc);
	if (argc < 0)
		goto out;
	rc = 2;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--user") && i + 1 < argc)
			o.user = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			o.json = true;
		else if (!strcmp(argv[i], "--http") && i + 1 < argc)
			o.http = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			o.key = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			o.timeout_ms = atol(argv[++i]);
		else if (kill && argv[i][0] != '-' && !o.id)
			o.id = argv[i];
		else
			goto out;
	}
	if (o.timeout_ms <= 0 || (o.user && (!*o.user || strlen(o.user) > 255)))
		goto out;
	if (kill && !!o.id == !!o.user)
		goto out;
	if (o.id && (strlen(o.id) != 2 * ID_LEN || !hex_decode(o.id, id, sizeof(id)))) {
		fprintf(stderr, "turnpikectl: '%s' is not an allocation id (32 hex digits)\n",
			o.id);
		goto out;
	}
	if (!o.key)
		o.key = getenv("TURNPIKE_ADMIN_KEY");
	if (!o.key && x.conf.admin_api_key.n)
		o.key = x.conf.admin_api_key.v[0];
	http = o.http;
	if (!http && !x.conf.redis_statsdb && !x.conf.redis_userdb)
		http = x.conf.http_listen;
	if (http) {
		rc = run_http(&o, http);
	} else if (x.conf.redis_statsdb || x.conf.redis_userdb) {
		rc = 1;
		if (ctl_connect(&x, true, o.timeout_ms + 2000) == 0)
			rc = run_redis(&x, &o);
		else if (x.conf.http_listen)
			fprintf(stderr,
				"turnpikectl: without Redis, --http %s asks this server alone\n",
				x.conf.http_listen);
	} else {
		fprintf(stderr,
			"turnpikectl: neither redis-statsdb nor http-listen in %s: give --http "
			"ADDR\n",
			x.path ? x.path : DEFAULT_CONFIG);
		rc = 1;
	}
out:
	if (rc == 2)
		usage_lines(stderr);
	ctl_cleanup(&x);
	return rc;
}

int ctl_sessions(int argc, char **argv)
{
	return run(argc, argv, false);
}

int ctl_kill(int argc, char **argv)
{
	return run(argc, argv, true);
}
