/* probe.h - what the test tools share: ok/FAIL reporting with a tally,
 * monotonic time, sleeping, and the loopback guard every tool applies to
 * the addresses it is given. */
#ifndef TURNPIKE_TESTS_PROBE_H
#define TURNPIKE_TESTS_PROBE_H

#include <stdbool.h>
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

/* Notes the tally for a scenario and returns the exit status: 0 only when
 * something passed and nothing failed. */
int probe_finish(const char *scenario);

#endif
