/* process.c - the standard process_* metrics Prometheus client libraries
 * export (CPU seconds, resident and virtual memory, open and maximum file
 * descriptors, start time), read from /proc/self at each scrape. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "http/http.h"

/* utime, stime (clock ticks), vsize (bytes) and rss (pages) from
 * /proc/self/stat; fields counted after the command's closing ')'. */
static int read_stat(uint64_t *ticks, uint64_t *vsize, uint64_t *rss_pages)
{
	char buf[1024], *p;
	unsigned long long ut, st, vs, rs;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15) cutime cstime priority nice
	 * threads itrealvalue starttime(22) vsize(23) rss(24). */
	if (!p || sscanf(p + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %*u %llu %llu",
			 &ut, &st, &vs, &rs) != 4)
		return -1;
	*ticks = ut + st;
	*vsize = vs;
	*rss_pages = rs;
	return 0;
}

static uint64_t open_fds(void)
{
	uint64_t n = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own descriptor */
}

void http_process_metrics(struct evbuffer *b, uint64_t start_time)
{
	uint64_t ticks, vsize, rss;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;

	if (read_stat(&ticks, &vsize, &rss) == 0 && hz > 0 && page > 0) {
		evbuffer_add_printf(b,
				    "# HELP process_cpu_seconds_total User and system CPU time, in "
				    "seconds.\n# TYPE process_cpu_seconds_total counter\n"
				    "process_cpu_seconds_total %" PRIu64 ".%02" PRIu64 "\n",
				    ticks / (uint64_t)hz,
				    ticks % (uint64_t)hz * 100 / (uint64_t)hz);
		evbuffer_add_printf(b,
				    "# HELP process_resident_memory_bytes Resident memory, in "
				    "bytes.\n# TYPE process_resident_memory_bytes gauge\n"
				    "process_resident_memory_bytes %" PRIu64 "\n",
				    rss * (uint64_t)page);
		evbuffer_add_printf(
			b,
			"# HELP process_virtual_memory_bytes Virtual memory, in bytes.\n"
			"# TYPE process_virtual_memory_bytes gauge\n"
			"process_virtual_memory_bytes %" PRIu64 "\n",
			vsize);
	}
	evbuffer_add_printf(b,
			    "# HELP process_open_fds Open file descriptors.\n"
			    "# TYPE process_open_fds gauge\nprocess_open_fds %" PRIu64 "\n",
			    open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		evbuffer_add_printf(b,
				    "# HELP process_max_fds The open file limit.\n"
				    "# TYPE process_max_fds gauge\nprocess_max_fds %" PRIu64 "\n",
				    (uint64_t)rl.rlim_cur);
	evbuffer_add_printf(b,
			    "# HELP process_start_time_seconds Start time, in Unix seconds.\n"
			    "# TYPE process_start_time_seconds gauge\n"
			    "process_start_time_seconds %" PRIu64 "\n",
			    start_time);
}
