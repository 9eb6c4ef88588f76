/* turnpiked.c - the TURN/STUN server daemon: configuration, signals, and the
 * workers' lifetime. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http/http.h"
#include "net/net.h"
#include "store/store.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/rand.h"
#include "util/sdnotify.h"

#define DEFAULT_CONFIG SYSCONFDIR "/turnpike/turnpike.conf"

struct daemon {
	struct conf conf;
	struct server *srv;
	struct http_server *http; /* NULL without http-listen */
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr2;
	struct event *drain_done; /* ends the drain */
	bool draining;
	bool pidfile_written;
	int argc;
	char **argv;
};

/* What http/ asks of net/ (live administration, the HTTP port shared
 * with TURN), so that neither calls into the other by name. */
static const struct http_net_ops net_ops = {
	.sessions = admin_sessions,
	.kill = admin_kill,
	.cancel = admin_cancel,
};
static const struct http_net_ops net_ops_mux = {
	.sessions = admin_sessions,
	.kill = admin_kill,
	.cancel = admin_cancel,
	.mux_internal = mux_set_internal,
	.mux_take = mux_take,
};

static void on_drain_done(int fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd;
	(void)what;

	log_info("drain over: stopping");
	event_base_loopexit(d->base, NULL);
}

/* SIGTERM/SIGINT: with drain-seconds, refuse new allocations and fail
 * /healthz while the existing allocations go on, then stop; a second
 * signal (or drain-seconds 0) stops at once. */
static void on_stop(int sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {d->conf.drain_seconds, 0};
	(void)what;

	sdnotify("STOPPING=1");
	if (d->draining || d->conf.drain_seconds == 0 || !d->srv) {
		log_info("signal %d: stopping", sig);
		event_base_loopexit(d->base, NULL);
		return;
	}
	log_info("signal %d: draining for %ld s: new allocations are refused", sig,
		 d->conf.drain_seconds);
	d->draining = true;
	server_drain(d->srv);
	if (d->http)
		http_server_set_state(d->http, HTTP_DRAINING);
	if (evtimer_add(d->drain_done, &tv) != 0)
		event_base_loopexit(d->base, NULL);
}

static void on_reload(int sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct conf next;
	enum conf_action action;
	char err[512];
	(void)sig;
	(void)what;

	sdnotify("RELOADING=1");
	log_reopen();
	if (conf_init(&next) != 0) {
		sdnotify("READY=1");
		return;
	}
	if (conf_parse_args(&next, d->argc, d->argv, DEFAULT_CONFIG, &action, err, sizeof(err)) !=
	    0) {
		log_err("reload: %s; keeping the running configuration", err);
	} else if (d->srv && server_reload_check(d->srv, &next) != 0) {
		log_err("reload: %s cannot be used; keeping the running configuration",
			d->conf.config_path ? d->conf.config_path : "the configuration");
	} else {
		conf_reload(&d->conf, &next);
		/* Derived state next: credentials, policy, servers, limits. */
		if (d->srv)
			server_reload(d->srv);
		if (d->http)
			http_server_reload(d->http);
		log_set_level((enum log_level)log_level_parse(d->conf.log_level));
		log_set_format((enum log_format)log_format_parse(d->conf.log_format));
		/* The certificate files may have changed even if the paths did not. */
		if (d->srv)
			tls_reload(d->srv);
		log_info("configuration reloaded");
	}
	conf_cleanup(&next);
	sdnotify("READY=1");
}

/* SIGUSR2: the log file again (logrotate), nothing else. */
static void on_reopen(int sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;

	if (log_reopen() == 0)
		log_info("log file reopened");
}

static void log_listeners(const struct server *srv)
{
	char name[ADDR_STRLEN];

	for (size_t i = 0; i < srv->nlisten; i++)
		log_info("listening on %s (%s%s%s)",
			 addr_format((const struct sockaddr *)&srv->listen[i], true, name,
				     sizeof(name)),
			 srv->conf->no_udp ? "" : "udp",
			 !srv->conf->no_udp && !srv->conf->no_tcp ? ", " : "",
			 srv->conf->no_tcp ? "" : "tcp");
	if (srv->turn_cfg.nat) {
		char alt[ADDR_STRLEN];
		log_info("RFC 5780 NAT behaviour discovery: %s and %s",
			 addr_format((const struct sockaddr *)&srv->turn_cfg.nat_addr[0], true,
				     name, sizeof(name)),
			 addr_format((const struct sockaddr *)&srv->turn_cfg
					     .nat_addr[TURN_NAT_IP | TURN_NAT_PORT],
				     true, alt, sizeof(alt)));
	}
	if (srv->tls)
		log_info("TURN over TLS on port %ld of each listening address",
			 srv->conf->tls_listening_port);
	if (srv->dtls)
		log_info("TURN over DTLS on UDP port %ld of each listening address",
			 srv->conf->tls_listening_port);
	log_info("%s %s ready with %zu worker threads", PACKAGE_NAME, PACKAGE_VERSION,
		 srv->nworkers);
}

/* Once every listener is bound: the pid file, then the switch away from
 * root. Returns 0, or 1 after logging why. */
static int become_daemon(struct daemon *d, const struct proc_ids *ids)
{
	char err[300];

	if (d->conf.pidfile) {
		if (proc_pidfile_write(d->conf.pidfile, err, sizeof(err)) != 0) {
			log_err("%s", err);
			return 1;
		}
		d->pidfile_written = true;
	}
	if (proc_ids_switch(ids, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return 1;
	}
	if (ids->switch_user || ids->switch_group)
		log_info("running as user %lu, group %lu", (unsigned long)geteuid(),
			 (unsigned long)getegid());
	return 0;
}

static int run(struct daemon *d)
{
	struct proc_ids ids;
	uint8_t key[16];
	char err[300];
	int rc = 1;

	if (proc_ids_lookup(&ids, d->conf.proc_user, d->conf.proc_group, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return 1;
	}

	if (rand_bytes(key, sizeof(key)) != 0) {
		log_err("the CSPRNG failed");
		return 1;
	}
	addr_hash_seed(key);
	OPENSSL_cleanse(key, sizeof(key));
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		log_err("libevent has no pthread support");
		return 1;
	}
	d->base = event_base_new();
	if (!d->base) {
		log_err("cannot create the main event loop");
		return 1;
	}
	d->sig_term = evsignal_new(d->base, SIGTERM, on_stop, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_stop, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_reload, d);
	d->sig_usr2 = evsignal_new(d->base, SIGUSR2, on_reopen, d);
	d->drain_done = evtimer_new(d->base, on_drain_done, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup || !d->sig_usr2 || !d->drain_done ||
	    event_add(d->sig_term, NULL) || event_add(d->sig_int, NULL) ||
	    event_add(d->sig_hup, NULL) || event_add(d->sig_usr2, NULL)) {
		log_err("cannot set up the signal handlers");
		goto out;
	}
	d->srv = server_new(&d->conf);
	if (!d->srv)
		goto out;
	/* HTTP binds before the workers start, so a taken port fails fast; it
	 * answers once the loop runs, and /healthz says 200 only from here on. */
	if (d->conf.http_listen &&
	    !(d->http = http_server_new(d->base, d->srv, &d->conf,
					d->srv->mux ? &net_ops_mux : &net_ops, d->srv)))
		goto out;
	if (server_start(d->srv) != 0)
		goto out;
	/* Secrets from Redis come in on this loop; workers see them next request. */
	if (server_redis_start(d->srv, d->base) != 0 || tls_watch_start(d->srv, d->base) != 0 ||
	    reload_start(d->srv, d->base) != 0 || admin_start(d->srv, d->base) != 0)
		goto out;
	if (become_daemon(d, &ids) != 0)
		goto out;
	if (d->http)
		http_server_set_state(d->http, HTTP_SERVING);
	log_listeners(d->srv);
	if (sdnotify("READY=1") != 0)
		log_warn("cannot tell systemd (NOTIFY_SOCKET) that we are ready: %s",
			 strerror(errno));
	event_base_dispatch(d->base);
	http_server_free(d->http);
	d->http = NULL;
	server_stop(d->srv);
	log_info("stopped");
	rc = 0;
out:
	http_server_free(d->http);
	server_free(d->srv);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->sig_usr2)
		event_free(d->sig_usr2);
	if (d->drain_done)
		event_free(d->drain_done);
	event_base_free(d->base);
	if (d->pidfile_written && unlink(d->conf.pidfile) != 0)
		log_debug("cannot remove pidfile %s: %s", d->conf.pidfile, strerror(errno));
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon d;
	enum conf_action action;
	char err[512];
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.argc = argc;
	d.argv = argv;
	if (conf_init(&d.conf) != 0) {
		fprintf(stderr, "turnpiked: out of memory\n");
		return 1;
	}
	if (conf_parse_args(&d.conf, argc, argv, DEFAULT_CONFIG, &action, err, sizeof(err)) != 0 ||
	    store_conf_check(&d.conf, err, sizeof(err)) != 0) {
		/* --check-config lists every problem of the file, one a line. */
		if (action == CONF_CHECK && d.conf.problems.n > 1) {
			for (size_t i = 0; i < d.conf.problems.n; i++)
				fprintf(stderr, "turnpiked: error: %s\n", d.conf.problems.v[i]);
			fprintf(stderr, "turnpiked: %zu problems\n", d.conf.problems.n);
		} else {
			fprintf(stderr, "turnpiked: error: %s\n", err);
		}
		goto out;
	}
	switch (action) {
	case CONF_HELP:
		conf_print_help(stdout, "turnpiked");
		rc = 0;
		goto out;
	case CONF_VERSION:
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		rc = 0;
		goto out;
	case CONF_PRINT_SAMPLE:
		conf_print_sample(stdout);
		rc = 0;
		goto out;
	case CONF_PRINT_EFFECTIVE:
		conf_print_effective(stdout, &d.conf);
		rc = 0;
		goto out;
	case CONF_PRINT_MAN:
		conf_print_man(stdout);
		rc = 0;
		goto out;
	case CONF_CHECK:
		for (size_t i = 0; i < d.conf.notices.n; i++)
			printf("notice: %s\n", d.conf.notices.v[i]);
		printf("%s: configuration OK\n", d.conf.config_path);
		rc = 0;
		goto out;
	case CONF_RUN:
		break;
	}
	/* An unwritable log file is a start-up failure (log_open said why):
	 * a daemon must not run on without the log it was told to keep. */
	if (log_open((enum log_level)log_level_parse(d.conf.log_level),
		     d.conf.syslog                  ? LOG_DEST_SYSLOG
		     : strcmp(d.conf.log_file, "-") ? LOG_DEST_FILE
						    : LOG_DEST_STDERR,
		     d.conf.log_file) != 0)
		goto out;
	log_set_format((enum log_format)log_format_parse(d.conf.log_format));
	if (d.conf.config_path)
		log_info("configuration from %s", d.conf.config_path);
	else
		log_warn("no configuration file %s: running on the defaults and the command "
			 "line",
			 DEFAULT_CONFIG);
	for (size_t i = 0; i < d.conf.notices.n; i++)
		log_info("config: %s", d.conf.notices.v[i]);
	rc = run(&d);
out:
	conf_cleanup(&d.conf);
	log_close();
	libevent_global_shutdown();
	return rc;
}
