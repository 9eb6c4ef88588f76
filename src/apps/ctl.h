/* ctl.h - turnpikectl's commands that talk to Redis (ctl_redis.c). Each
 * takes the arguments after its name and returns the exit status: 0 done,
 * 1 failed (Redis unreachable or refused, no such entry), 2 usage error. */
#ifndef TURNPIKE_APPS_CTL_H
#define TURNPIKE_APPS_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <hiredis.h>

#include "store/store.h"
#include "util/conf.h"

#define DEFAULT_CONFIG SYSCONFDIR "/turnpike/turnpike.conf"

/* What every command shares: the configuration and a connection. */
struct ctl {
	struct conf conf;
	bool conf_ok;
	const char *path;
	/* --redis-userdb, --redis-statsdb, --realm: over the file's */
	const char *userdb, *statsdb, *realm;
	struct store_addr addr;
	redisContext *rc;
};

/* ctl_redis.c, for the other commands: ctl_setup takes -c/--config and
 * the --redis-* and --realm options out of argv, loads the configuration
 * and (connect) connects to redis-userdb, or redis-statsdb (statsdb, else
 * userdb) with reads timing out after timeout_ms (< 0: redis-timeout, at
 * least 1 s; 0: never); returns the remaining argc, or -1 with the exit
 * status in *rc. ctl_connect connects later (0, or 1 after printing why).
 * ctl_cmd runs one command (NULL after printing why, also for an error
 * reply; else free the reply). ctl_cleanup closes and frees. */
int ctl_setup(struct ctl *x, int argc, char **argv, bool connect, bool statsdb, long timeout_ms,
	      int *rc);
int ctl_connect(struct ctl *x, bool statsdb, long timeout_ms);
redisReply *ctl_cmd(struct ctl *x, int argc, const char **argv);
void ctl_redis_error(struct ctl *x, const char *what, const redisReply *r);
void ctl_cleanup(struct ctl *x);

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
/* ctl_admin.c: sessions and kill (exit 0 done, 1 a server did not answer
 * or kill ended nothing, 2 usage error), and their usage lines. */
int ctl_sessions(int argc, char **argv);
int ctl_kill(int argc, char **argv);
void ctl_admin_usage(FILE *f);

#endif
