/* fuzz_conf.c - libFuzzer target for the configuration file parser
 * (src/util/conf.c, with coturn's keys through conf_coturn.c): loads any
 * bytes as a turnpike.conf, validates it, prints what it amounts to
 * (--print-config) and loads that again: it must load without a problem
 * and print the same. A reload (SIGHUP) onto the defaults must not break
 * either. Aborts on any broken invariant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/log.h"

/* data as a file conf_load_file can open: a memfd, by its /proc path. */
static int load(struct conf *c, const void *data, size_t size, char *err, size_t errlen)
{
	char path[64];
	int fd = memfd_create("fuzz.conf", MFD_CLOEXEC), rc;

	ASSERT(fd >= 0);
	ASSERT(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = conf_load_file(c, path, err, errlen);
	close(fd);
	return rc;
}

/* The effective configuration as text, comments (they name the file and
 * carry coturn notices) left out. Returns a malloc'd string. */
static char *effective(const struct conf *c)
{
	char *text = NULL, *out, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&text, &len);

	ASSERT(f);
	conf_print_effective(f, c);
	ASSERT(fclose(f) == 0);
	out = malloc(len + 1);
	ASSERT(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		n += (size_t)sprintf(out + n, "%s\n", line);
	}
	out[n] = '\0';
	free(text);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct conf c, again, cur;
	char err[512], *first, *second;
	int rc;

	if (!ready) {
		log_set_level(LOG_LVL_ERR);
		ready = true;
	}
	if (size > 64 * 1024)
		return 0;
	ASSERT(conf_init(&c) == 0);
	memset(err, 'x', sizeof(err));
	rc = load(&c, data, size, err, sizeof(err));
	ASSERT(rc == 0 || rc == TP_EINVAL || rc == TP_ENOMEM);
	if (rc != 0) /* the reason, terminated */
		ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	ASSERT((rc == TP_EINVAL) == (c.problems.n > 0));
	(void)conf_validate(&c, err, sizeof(err));

	/* What --print-config prints loads again, cleanly, to the same. */
	first = effective(&c);
	ASSERT(conf_init(&again) == 0);
	rc = load(&again, first, strlen(first), err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "printed config does not load: %s\n%s", err, first);
		abort();
	}
	second = effective(&again);
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "printed config changed on reload:\n%s---\n%s", first, second);
		abort();
	}

	/* SIGHUP from the defaults to this file, and back. */
	ASSERT(conf_init(&cur) == 0);
	(void)conf_reload(&cur, &c);
	(void)conf_reload(&cur, &again);
	conf_cleanup(&cur);

	free(first);
	free(second);
	conf_cleanup(&again);
	conf_cleanup(&c);
	return 0;
}
