/* peersignal.c - drives src/peer/signal.c from the shell for
 * tests/system/peer_signal.sh, until turnpike-peer itself does:
 *   peersignal write PATH TEXT
 *   peersignal read PATH TIMEOUT_MS             (prints the text)
 *   peersignal redis URL offer|answer TEXT TIMEOUT_MS   (prints theirs)
 * Exits 0, or prints "ERROR-NAME: reason" and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/signal.h"
#include "turnpike/err.h"

static int done(int rc, const char *err, char *text, size_t len)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", tp_strerror(rc), err);
		return 1;
	}
	if (text)
		fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512] = "", *text = NULL;
	size_t len = 0;
	int rc;

	if (argc == 4 && strcmp(argv[1], "write") == 0) {
		rc = peer_signal_write(argv[2], argv[3], strlen(argv[3]), err, sizeof(err));
		return done(rc, err, NULL, 0);
	}
	if (argc == 4 && strcmp(argv[1], "read") == 0) {
		rc = peer_signal_read(argv[2], atoi(argv[3]), &text, &len, err, sizeof(err));
		return done(rc, err, text, len);
	}
	if (argc == 6 && strcmp(argv[1], "redis") == 0) {
		rc = peer_signal_redis(argv[2], strcmp(argv[3], "offer") == 0, argv[4],
				       strlen(argv[4]), atoi(argv[5]), &text, &len, err,
				       sizeof(err));
		return done(rc, err, text, len);
	}
	fprintf(stderr, "usage: peersignal write PATH TEXT | read PATH MS | "
			"redis URL offer|answer TEXT MS\n");
	return 2;
}
