/* ctl.h - turnpikectl's commands that talk to Redis (ctl_redis.c). Each
 * takes the arguments after its name and returns the exit status: 0 done,
 * 1 failed (Redis unreachable or refused, no such entry), 2 usage error. */
#ifndef TURNPIKE_APPS_CTL_H
#define TURNPIKE_APPS_CTL_H

#include <stdio.h>

int ctl_secret(int argc, char **argv);
int ctl_apikey(int argc, char **argv);
int ctl_user(int argc, char **argv);
int ctl_credentials(int argc, char **argv);
int ctl_events(int argc, char **argv);
/* The usage lines of these commands. */
void ctl_redis_usage(FILE *f);
/* ctl_reload.c: SIGHUP to turnpiked (exit 0 signalled, 1 no such process
 * or pidfile, 2 usage error), and its usage lines. */
int ctl_reload(int argc, char **argv);
void ctl_reload_usage(FILE *f);

#endif
