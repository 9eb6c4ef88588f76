/* peerservers.c - drives src/peer/servers.c from the shell for
 * tests/system/peer_servers.sh, until turnpike-peer itself does:
 *   peerservers load SRC TIMEOUT_MS [insecure] [creds]
 *   peerservers uri URI [USER PASS]
 * Prints one line per server: KIND TRANSPORT ADDRESS HOST USER URI (with
 * creds, the password after them), or "ERROR-NAME: reason" and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/servers.h"
#include "turnpike/err.h"
#include "util/addr.h"

int main(int argc, char **argv)
{
	static struct peer_servers ss;
	char err[512] = "", a[ADDR_STRLEN];
	bool insecure = false, creds = false;
	int rc;

	for (int i = 4; i < argc; i++) {
		insecure |= strcmp(argv[i], "insecure") == 0;
		creds |= strcmp(argv[i], "creds") == 0;
	}
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "load") == 0)
		rc = peer_servers_load(&ss, argv[2], atoi(argv[3]), insecure, err, sizeof(err));
	else if ((argc == 3 || argc == 5) && strcmp(argv[1], "uri") == 0)
		rc = peer_servers_add_uri(&ss, argv[2], argc == 5 ? argv[3] : NULL,
					  argc == 5 ? argv[4] : NULL, err, sizeof(err));
	else {
		fprintf(stderr, "usage: peerservers load SRC MS [insecure] [creds] | "
				"uri URI [USER PASS]\n");
		return 2;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", tp_strerror(rc), err);
		return 1;
	}
	for (size_t i = 0; i < ss.n; i++) {
		const struct peer_server *s = &ss.s[i];
		printf("%s %s %s %s %s %s%s%s\n", s->kind == PEER_SRV_TURN ? "turn" : "stun",
		       s->transport == PEER_SRV_TLS   ? "tls"
		       : s->transport == PEER_SRV_TCP ? "tcp"
						      : "udp",
		       addr_format((const struct sockaddr *)&s->addr, true, a, sizeof(a)), s->host,
		       s->username[0] ? s->username : "-", s->uri, creds ? " " : "",
		       creds ? (s->credential[0] ? s->credential : "-") : "");
	}
	return 0;
}
