/* ctl_reload.c - turnpikectl reload: SIGHUP to a running turnpiked, found
 * by --pid, --pidfile, or the pidfile option of its configuration. The
 * server logs what it applied, or why it kept the running configuration. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/ctl.h"
#include "config.h"
#include "util/conf.h"

/* A process id as text: digits only, > 1. Returns it or -1. */
static long pid_parse(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == s || *end || v <= 1)
		return -1;
	return v;
}

static long pid_read(const char *path)
{
	char buf[32] = {0};
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "turnpikectl: cannot read pidfile %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (pid_parse(buf) < 0)
		fprintf(stderr, "turnpikectl: pidfile %s holds no process id\n", path);
	return pid_parse(buf);
}

/* The pidfile option of the configuration at path (default file when NULL):
 * a copy into out. Returns 0, or 1 after saying why. */
static int conf_pidfile(const char *path, char *out, size_t cap)
{
	struct conf c;
	char err[512];
	int rc = 1;

	if (conf_init(&c) != 0) {
		fprintf(stderr, "turnpikectl: out of memory\n");
		return 1;
	}
	if (conf_load_file(&c, path ? path : DEFAULT_CONFIG, err, sizeof(err)) != 0) {
		fprintf(stderr, "turnpikectl: %s\n", err);
		goto out;
	}
	if (!c.pidfile) {
		fprintf(stderr,
			"turnpikectl: %s sets no pidfile: give --pid or --pidfile (or use "
			"systemctl reload)\n",
			path ? path : DEFAULT_CONFIG);
		goto out;
	}
	snprintf(out, cap, "%s", c.pidfile);
	rc = 0;
out:
	conf_cleanup(&c);
	return rc;
}

int ctl_reload(int argc, char **argv)
{
	const char *pidfile = NULL, *config = NULL;
	char buf[4096];
	long pid = -1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			if ((pid = pid_parse(argv[++i])) < 0) {
				fprintf(stderr, "turnpikectl: --pid %s: not a process id\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--pidfile") && i + 1 < argc) {
			pidfile = argv[++i];
		} else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
			   i + 1 < argc) {
			config = argv[++i];
		} else if (!strcmp(argv[i], "--help")) {
			ctl_reload_usage(stdout);
			return 0;
		} else {
			ctl_reload_usage(stderr);
			return 2;
		}
	}
	if (pid < 0 && !pidfile) {
		if (conf_pidfile(config, buf, sizeof(buf)) != 0)
			return 1;
		pidfile = buf;
	}
	if (pid < 0 && (pid = pid_read(pidfile)) < 0)
		return 1;
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "turnpikectl: cannot signal process %ld: %s\n", pid,
			strerror(errno));
		return 1;
	}
	printf("reload requested from process %ld (its log says what changed)\n", pid);
	return 0;
}

void ctl_reload_usage(FILE *f)
{
	fprintf(f, "  reload [--pid PID | --pidfile FILE | -c CONFIG]\n"
		   "                             SIGHUP to a running turnpiked: it applies the\n"
		   "                             options marked reloadable to new requests, or\n"
		   "                             logs why it keeps the running configuration\n"
		   "                             (default: the pidfile option of the config)\n");
}
