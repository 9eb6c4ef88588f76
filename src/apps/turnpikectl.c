/* turnpikectl.c - the operator's command-line tool. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/ctl.h"
#include "client/client.h"
#include "config.h"
#include "http/http.h"
#include "turnpike/err.h"
#include "util/addr.h"

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"Usage: turnpikectl COMMAND [ARGS]\n\n"
		"Commands:\n"
		"  stun HOST:PORT [options]   send STUN Binding requests, print the mapped "
		"address\n"
		"      --tcp                  use TCP instead of UDP\n"
		"      --fingerprint          add FINGERPRINT to the request\n"
		"      --rfc3489              send a classic RFC 3489 request (no magic cookie)\n"
		"      --count N              send N requests one after another (default 1)\n"
		"      --timeout MS           give up on a request after MS milliseconds (default "
		"3000)\n"
		"      --quiet                print nothing, report through the exit status\n");
	ctl_redis_usage(f);
	ctl_reload_usage(f);
	ctl_admin_usage(f);
	fprintf(f,
		"  report [--http HOST:PORT]  fetch a server's /metrics over plain HTTP; print the "
		"main\n"
		"                             figures and the relay-fallback ratios (default\n"
		"                             127.0.0.1:9641; a bare PORT means 127.0.0.1)\n"
		"      --key KEY              the API key, where metrics-auth asks for one "
		"(default\n"
		"                             $TURNPIKE_API_KEY)\n"
		"  turn HOST:PORT [options]   allocate a relay, print it, send datagrams to peers\n"
		"      --user U --password P  long-term credentials\n"
		"      --secret S             REST credentials from the shared secret (user U or\n"
		"                             'turnpikectl', valid for an hour)\n"
		"      --tcp                  use TCP instead of UDP\n"
		"      --peer IP:PORT         a peer (an echo service) to send to; repeatable\n"
		"      --count N              datagrams per peer (default 3)\n"
		"      --timeout MS           per request and per echo (default 3000)\n"
		"  version                    print the version\n"
		"  help                       this text\n\n"
		"HOST is an IPv4 or IPv6 literal; write IPv6 with a port as [::1]:3478.\n"
		"Exit status: 0 success, 1 no or bad answer, 2 usage error.\n");
	return rc;
}

static int cmd_stun(int argc, char **argv)
{
	struct sockaddr_storage server;
	struct client_binding_result res;
	char mapped[ADDR_STRLEN];
	int flags = 0, timeout = 3000, rc;
	long count = 1;
	bool quiet = false;
	const char *target = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--tcp"))
			flags |= CLIENT_TCP;
		else if (!strcmp(argv[i], "--fingerprint"))
			flags |= CLIENT_FINGERPRINT;
		else if (!strcmp(argv[i], "--rfc3489"))
			flags |= CLIENT_RFC3489;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (argv[i][0] != '-' && !target)
			target = argv[i];
		else
			return usage(stderr, 2);
	}
	if (!target || timeout <= 0 || count <= 0)
		return usage(stderr, 2);
	if (addr_parse(target, 3478, &server) != 0) {
		fprintf(stderr, "turnpikectl: '%s' is not an address literal\n", target);
		return 2;
	}
	for (long n = 0; n < count; n++) {
		rc = client_binding((struct sockaddr *)&server, flags, timeout, &res);
		if (rc != 0) {
			if (!quiet)
				fprintf(stderr, "turnpikectl: stun %s: %s\n", target,
					rc == TP_EAGAIN ? "no answer" : tp_strerror(rc));
			return 1;
		}
		if (res.error_code) {
			if (!quiet)
				fprintf(stderr, "turnpikectl: stun %s: error %d\n", target,
					res.error_code);
			return 1;
		}
		if (quiet)
			continue;
		printf("mapped-address: %s\n",
		       addr_format((struct sockaddr *)&res.mapped, true, mapped, sizeof(mapped)));
		printf("attribute: %s\n", res.xor_mapped ? "XOR-MAPPED-ADDRESS" : "MAPPED-ADDRESS");
		printf("fingerprint: %s\n", res.fingerprint ? "yes" : "no");
		if (res.software[0])
			printf("software: %s\n", res.software);
		printf("response-bytes: %zu\n", res.response_len);
		printf("rtt-ms: %.3f\n", res.rtt_ms);
	}
	return 0;
}

static int cmd_report(int argc, char **argv)
{
	struct sockaddr_storage server;
	const char *target = "127.0.0.1:9641", *key = getenv("TURNPIKE_API_KEY");
	char *body = NULL, path[16 + 3 * 256 + 1] = "/metrics";
	int status = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--http") && i + 1 < argc)
			target = argv[++i];
		else if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else
			return usage(stderr, 2);
	}
	/* metrics-auth: the API key as key=, percent-encoded (RFC 3986 §2.1). */
	if (key && *key) {
		size_t n = strlen(path);

		if (strlen(key) > 256) {
			fprintf(stderr, "turnpikectl: an API key has at most 256 characters\n");
			return 2;
		}
		n += (size_t)snprintf(path + n, sizeof(path) - n, "?key=");
		for (const char *k = key; *k; k++) {
			unsigned char ch = (unsigned char)*k;

			if (isalnum(ch) || strchr("-._~", ch))
				path[n++] = (char)ch;
			else
				n += (size_t)snprintf(path + n, sizeof(path) - n, "%%%02X", ch);
		}
		path[n] = '\0';
	}
	if (addr_parse_listen(target, &server) != 0) {
		fprintf(stderr, "turnpikectl: '%s' is not PORT, IP:PORT or [IPv6]:PORT\n", target);
		return 2;
	}
	rc = http_fetch((struct sockaddr *)&server, path, 5000, &body, &status);
	if (rc != 0) {
		if (status && status != 200)
			fprintf(stderr, "turnpikectl: report %s: HTTP status %d\n", target, status);
		else
			fprintf(stderr, "turnpikectl: report %s: %s%s%s\n", target, tp_strerror(rc),
				rc == TP_ESYS ? ": " : "", rc == TP_ESYS ? strerror(errno) : "");
		return 1;
	}
	http_report_print(stdout, body);
	free(body);
	return 0;
}

#define TURN_MAX_PEERS 16

/* Echoes from each peer for count datagrams sent to it. */
static int turn_ping(struct client_turn *c, const struct sockaddr_storage *peers, size_t n,
		     long count, int timeout)
{
	char who[ADDR_STRLEN], msg[64];
	uint8_t buf[128];
	struct client_turn_data d;
	long echoed[TURN_MAX_PEERS] = {0};
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		for (long k = 0; k < count; k++) {
			int len = snprintf(msg, sizeof(msg), "turnpikectl %zu %ld", i, k);
			if (client_turn_send(c, (const struct sockaddr *)&peers[i], msg,
					     (size_t)len) != 0)
				return 1;
		}
	}
	/* Every echo or a quiet timeout, whichever comes first. */
	for (long got = 0; got < count * (long)n;) {
		if (client_turn_recv(c, buf, sizeof(buf), timeout, &d) != 0)
			break;
		got++;
		for (size_t i = 0; i < n; i++)
			if (addr_equal((struct sockaddr *)&d.peer,
				       (const struct sockaddr *)&peers[i]))
				echoed[i]++;
	}
	for (size_t i = 0; i < n; i++) {
		printf("peer: %s sent %ld echoed %ld\n",
		       addr_format((const struct sockaddr *)&peers[i], true, who, sizeof(who)),
		       count, echoed[i]);
		if (echoed[i] == 0)
			rc = 1;
	}
	return rc;
}

static int cmd_turn(int argc, char **argv)
{
	struct sockaddr_storage server, peers[TURN_MAX_PEERS];
	struct client_turn_result alloc, res;
	struct client_turn *c = NULL;
	const char *target = NULL, *user = NULL, *pass = NULL, *secret = NULL;
	char addr[ADDR_STRLEN];
	int timeout = 3000, rc;
	long count = 3;
	size_t npeers = 0;
	bool tcp = false;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--tcp"))
			tcp = true;
		else if (!strcmp(argv[i], "--user") && i + 1 < argc)
			user = argv[++i];
		else if (!strcmp(argv[i], "--password") && i + 1 < argc)
			pass = argv[++i];
		else if (!strcmp(argv[i], "--secret") && i + 1 < argc)
			secret = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--peer") && i + 1 < argc && npeers < TURN_MAX_PEERS) {
			if (addr_parse(argv[++i], 0, &peers[npeers]) != 0 ||
			    addr_port((struct sockaddr *)&peers[npeers]) == 0) {
				fprintf(stderr, "turnpikectl: '%s' is not IP:PORT\n", argv[i]);
				return 2;
			}
			npeers++;
		} else if (argv[i][0] != '-' && !target)
			target = argv[i];
		else
			return usage(stderr, 2);
	}
	if (!target || timeout <= 0 || count <= 0 || count > 10000 ||
	    (secret ? pass != NULL : !user || !pass))
		return usage(stderr, 2);
	if (addr_parse(target, 3478, &server) != 0) {
		fprintf(stderr, "turnpikectl: '%s' is not an address literal\n", target);
		return 2;
	}
	rc = client_turn_open(&c, (struct sockaddr *)&server, tcp, timeout);
	if (rc == 0)
		rc = secret ? client_turn_set_rest(c, secret, user ? user : "turnpikectl",
						   (long long)time(NULL) + 3600, false)
			    : client_turn_set_user(c, user, pass);
	if (rc == 0)
		rc = client_turn_allocate(c, NULL, &alloc);
	res = alloc;
	if (rc == 0 && alloc.error_code == 0 && npeers)
		rc = client_turn_create_permission(c, peers, npeers, &res);
	if (rc != 0 || res.error_code != 0) {
		if (rc)
			fprintf(stderr, "turnpikectl: turn %s: %s\n", target,
				rc == TP_EAGAIN ? "no answer" : tp_strerror(rc));
		else
			fprintf(stderr, "turnpikectl: turn %s: error %d\n", target, res.error_code);
		client_turn_free(c);
		return 1;
	}
	printf("relayed-address: %s\n",
	       addr_format((struct sockaddr *)&alloc.relayed, true, addr, sizeof(addr)));
	printf("mapped-address: %s\n",
	       addr_format((struct sockaddr *)&alloc.mapped, true, addr, sizeof(addr)));
	printf("lifetime: %u\n", alloc.lifetime);
	rc = npeers ? turn_ping(c, peers, npeers, count, timeout) : 0;
	client_turn_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	char *moved[2];

	/* "turnpikectl -c FILE COMMAND ARGS": the option goes after the
	 * command's arguments, where the commands look for it. */
	if (argc >= 4 && (!strcmp(argv[1], "-c") || !strcmp(argv[1], "--config"))) {
		moved[0] = argv[1];
		moved[1] = argv[2];
		memmove(argv + 1, argv + 3, (size_t)(argc - 3) * sizeof(*argv));
		argv[argc - 2] = moved[0];
		argv[argc - 1] = moved[1];
	}
	if (argc < 2)
		return usage(stderr, 2);
	/* "turnpikectl COMMAND --help": every command's usage, exit 0. */
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
	if (!strcmp(argv[1], "stun"))
		return cmd_stun(argc - 2, argv + 2);
	if (!strcmp(argv[1], "turn"))
		return cmd_turn(argc - 2, argv + 2);
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc - 2, argv + 2);
	if (!strcmp(argv[1], "secret"))
		return ctl_secret(argc - 2, argv + 2);
	if (!strcmp(argv[1], "apikey"))
		return ctl_apikey(argc - 2, argv + 2);
	if (!strcmp(argv[1], "user"))
		return ctl_user(argc - 2, argv + 2);
	if (!strcmp(argv[1], "credentials"))
		return ctl_credentials(argc - 2, argv + 2);
	if (!strcmp(argv[1], "reload"))
		return ctl_reload(argc - 2, argv + 2);
	if (!strcmp(argv[1], "events"))
		return ctl_events(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sessions"))
		return ctl_sessions(argc - 2, argv + 2);
	if (!strcmp(argv[1], "kill"))
		return ctl_kill(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout, 0);
	fprintf(stderr, "turnpikectl: unknown command '%s'\n", argv[1]);
	return usage(stderr, 2);
}
