/* conf.h - the configuration: one schema table drives the file parser, the
 * command line, --help, --check-config, the sample config and the man page. */
#ifndef TURNPIKE_UTIL_CONF_H
#define TURNPIKE_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct conf_list {
	char **v;
	size_t n;
};

/* Every setting, with its runtime value. Filled with defaults by conf_init. */
struct conf {
	/* listeners */
	struct conf_list listening_ip;
	long listening_port;
	char *alt_listening_ip; /* RFC 5780 NAT behaviour discovery */
	long alt_listening_port;
	bool no_rfc5780;
	bool no_udp;
	bool no_tcp;
	long relay_threads;
	long tcp_idle_timeout;
	long max_tcp_connections;
	long max_tcp_unauth_per_source;
	/* TURN over TLS */
	long tls_listening_port;
	bool no_tls;
	bool no_tlsv1_2;
	bool no_dtls;
	char *cert;
	char *pkey;
	char *cipher_list;
	char *ec_curve_name;
	char *ca_file;
	long tls_handshake_timeout;
	/* behaviour */
	bool no_software_attribute;
	/* relay */
	struct conf_list relay_ip;
	struct conf_list external_ip;
	long min_port;
	long max_port;
	long max_allocate_lifetime;
	bool no_udp_relay;
	bool no_tcp_relay;
	/* authentication */
	char *realm;
	struct conf_list user;
	bool use_auth_secret;
	struct conf_list static_auth_secret;
	bool no_auth;
	char *nonce_secret;
	long stale_nonce;
	/* peer policy */
	struct conf_list denied_peer_ip;
	struct conf_list allowed_peer_ip;
	struct conf_list proxy_protocol;
	bool allow_loopback_peers;
	/* quotas and limits */
	long user_quota;
	long source_quota;
	long total_quota;
	long unauth_rate_limit;
	struct conf_list alternate_server;
	struct conf_list overflow_server;
	struct conf_list announce_address;
	long max_permissions;
	long max_channels;
	long max_bps;
	long bps_capacity;
	/* HTTP: metrics, health, the TURN REST credential hook; TLS */
	char *http_listen;
	char *metrics_auth;
	char *http_cert;
	char *http_pkey;
	long http_max_connections;
	long http_max_connections_per_source;
	long http_request_timeout;
	struct conf_list rest_api_key;
	struct conf_list admin_api_key;
	long rest_max_ttl;
	struct conf_list rest_cors_origin;
	long rest_rate_limit;
	struct conf_list turn_uri;
	long drain_seconds;
	/* Redis: shared secrets and users, allocation events */
	char *redis_userdb;
	char *redis_statsdb;
	long redis_timeout;
	long redis_lookups_per_source;
	long redis_refresh;
	long stats_interval;
	/* logging */
	char *log_file;
	char *log_level;
	char *log_format;
	bool syslog;
	/* process */
	char *pidfile;
	char *proc_user;
	char *proc_group;
	/* where the values came from */
	char *config_path;
	/* what loading the file found: problems ("file:line: why") that
	 * stop it, notices about coturn keys taken as they are or mapped */
	struct conf_list problems;
	struct conf_list notices;
};

enum conf_type {
	CONF_BOOL,
	CONF_INT,
	CONF_STR,
	CONF_LIST
};

/* Optional extra check of a value; writes a reason into err on failure. */
typedef int (*conf_check_fn)(const char *val, char *err, size_t errlen);

struct conf_opt {
	const char *name; /* key in the file, --name on the command line */
	enum conf_type type;
	const char *def;  /* default as text, NULL for none */
	long min, max;    /* CONF_INT range */
	bool reloadable;  /* takes effect on SIGHUP without a restart */
	size_t off;       /* offsetof(struct conf, field) */
	const char *arg;  /* placeholder for the value in --help */
	const char *help; /* one paragraph, plain text */
	conf_check_fn check;
};

/* The rule for an API key of the REST hook, one for rest-api-key and for
 * turnpikectl apikey add: 16 to 256 printable ASCII characters without
 * blanks. Returns 0 or TP_EINVAL with the reason in err. */
int conf_check_api_key(const char *val, char *err, size_t errlen);

/* The schema, terminated by an entry with name == NULL. */
extern const struct conf_opt conf_schema[];

const struct conf_opt *conf_opt_find(const char *name);

/* Applies every default. Returns 0 or TP_ENOMEM. */
int conf_init(struct conf *c);
/* Frees what conf_init / conf_set allocated; the struct may be reused. */
void conf_cleanup(struct conf *c);

/*
 * Sets one option from text. Bare booleans (val NULL) mean true. A CONF_LIST
 * option appends (list options have no defaults). coturn keys that are no
 * option here are accepted or mapped with a line added to c->notices, or
 * refused saying what to use instead; an unknown name gets a did-you-mean.
 * Returns 0, TP_EINVAL (reason in err) or TP_ENOMEM.
 */
int conf_set(struct conf *c, const char *name, const char *val, char *err, size_t errlen);

/*
 * Reads a `key=value` file: `#` comments, blank lines, bare keys for
 * booleans, optional quotes around values, `key value` also accepted.
 * Every line is read: each problem goes to c->problems as "file:line:
 * why", each notice to c->notices. Returns 0, TP_ESYS (cannot open) or
 * TP_EINVAL (err: the first problem and how many more).
 */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);

/* The options of c that differ from their defaults, as a turnpike.conf
 * (coturn keys taken with notices are gone, their notices comments). */
void conf_print_effective(FILE *f, const struct conf *c);

/* Checks the relations between options. Returns 0 or TP_EINVAL. */
int conf_validate(const struct conf *c, char *err, size_t errlen);

/* What the command line asked for besides options. */
enum conf_action {
	CONF_RUN = 0,
	CONF_HELP,
	CONF_VERSION,
	CONF_CHECK,           /* --check-config FILE */
	CONF_PRINT_SAMPLE,    /* --print-config: sample file from the schema */
	CONF_PRINT_EFFECTIVE, /* -c FILE --print-config: what FILE amounts to */
	CONF_PRINT_MAN        /* --print-man: man page option list (roff) */
};

/*
 * Parses argv: -c/--config FILE is loaded first, then every --name[=value]
 * (or --name value) overrides it, in order. Returns 0 with *action set, or
 * TP_EINVAL / TP_ESYS with a reason in err.
 */
int conf_parse_args(struct conf *c, int argc, char **argv, const char *default_path,
		    enum conf_action *action, char *err, size_t errlen);

void conf_print_help(FILE *f, const char *prog);
void conf_print_sample(FILE *f);
void conf_print_man(FILE *f);

/*
 * Applies the reloadable options of a freshly loaded `next` to `cur` (which
 * keeps everything else) and logs the non-reloadable ones that changed.
 * Returns the number of options changed.
 */
int conf_reload(struct conf *cur, const struct conf *next);

#endif
