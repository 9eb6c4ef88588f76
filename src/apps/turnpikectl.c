/* turnpikectl.c - the operator's command-line tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "config.h"
#include "turnpike/err.h"
#include "util/addr.h"

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"Usage: turnpikectl COMMAND [ARGS]\n\n"
		"Commands:\n"
		"  stun HOST:PORT [options]   send STUN Binding requests, print the mapped address\n"
		"      --tcp                  use TCP instead of UDP\n"
		"      --fingerprint          add FINGERPRINT to the request\n"
		"      --rfc3489              send a classic RFC 3489 request (no magic cookie)\n"
		"      --count N              send N requests one after another (default 1)\n"
		"      --timeout MS           give up on a request after MS milliseconds (default 3000)\n"
		"      --quiet                print nothing, report through the exit status\n"
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

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (!strcmp(argv[1], "stun"))
		return cmd_stun(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout, 0);
	fprintf(stderr, "turnpikectl: unknown command '%s'\n", argv[1]);
	return usage(stderr, 2);
}
