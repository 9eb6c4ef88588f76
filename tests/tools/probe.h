/* probe.h - what the test tools share: ok/FAIL reporting with a tally,
 * monotonic time, sleeping, and the loopback guard every tool applies to
 * the addresses it is given. */
#ifndef TURNPIKE_TESTS_PROBE_H
#define TURNPIKE_TESTS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The tool's name for die() messages; set it first thing in main. */
extern const char *probe_name;
extern unsigned probe_passed, probe_failed;

/* Prints "ok - ..." or "FAIL - ..." and counts it; returns cond. */
bool expect(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "# ..." (figures, context). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken tool or setup, not a broken server: exit 2 at once. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

double now_ms(void);
void sleep_ms(double ms);

/* 127.0.0.0/8 or ::1: tools refuse to send anywhere else. */
bool is_loopback(const struct sockaddr *sa);

/* The server under test: HOST (an IP literal) and PORT into out. Returns
 * false when they do not parse; refuses (exit 2) anything not loopback. */
bool probe_server(const char *host, const char *port, struct sockaddr_storage *out);

/* A tool's scenarios: name, entry point (arguments after the name; returns
 * the exit status), and its arguments for the usage text. */
struct probe_scenario {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
};
/* Lists the scenarios, one a line, on stderr. */
void probe_list(const struct probe_scenario *v, size_t n);
/* Runs the scenario called name; -1 when there is none. */
int probe_run(const struct probe_scenario *v, size_t n, const char *name, int argc, char **argv);

/* Notes the tally for a scenario and returns the exit status: 0 only when
 * something passed and nothing failed. */
int probe_finish(const char *scenario);

#endif
