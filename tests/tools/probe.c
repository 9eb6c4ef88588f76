/* probe.c - reporting, time and the loopback guard for the test tools. */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/addr.h"

const char *probe_name = "probe";
unsigned probe_passed, probe_failed;

bool expect(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		probe_passed++;
	else
		probe_failed++;
	return cond;
}

void note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", probe_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

int probe_finish(const char *scenario)
{
	note("%s %s: %u passed, %u failed", probe_name, scenario, probe_passed, probe_failed);
	return probe_failed || !probe_passed ? 1 : 0;
}

bool probe_server(const char *host, const char *port, struct sockaddr_storage *out)
{
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*end || p == 0 || p > 65535 || addr_parse(host, (uint16_t)p, out) != 0)
		return false;
	addr_set_port((struct sockaddr *)out, (uint16_t)p);
	if (!is_loopback((struct sockaddr *)out)) {
		fprintf(stderr, "%s: %s is not a loopback address; refusing\n", probe_name, host);
		exit(2);
	}
	return true;
}

void probe_list(const struct probe_scenario *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %s %s\n", v[i].name, v[i].args);
}

int probe_run(const struct probe_scenario *v, size_t n, const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, v[i].name))
			return v[i].fn(argc, argv);
	return -1;
}
