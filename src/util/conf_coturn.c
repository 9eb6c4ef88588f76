/* conf_coturn.c - coturn's turnserver.conf keys that are not turnpike
 * options: those whose behaviour turnpike always has or that change nothing
 * here (accepted, with a notice saying so), those read as a turnpike option
 * under another name (mapped, with a notice), and those turnpike does not
 * offer (an error saying what to do instead). Also the did-you-mean for
 * misspelt keys. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/conf.h"
#include "util/conf_int.h"

/* What one coturn key does here. */
enum kind {
	ON_ONLY, /* a switch turnpike always has on: accepted when on */
	ANY,     /* accepted with any value (or none), changes nothing */
	MAP,     /* read as the turnpike option in .to, value .val (or as given) */
	REFUSED  /* not offered: an error, .why says what to do */
};

static const struct {
	const char *name;
	enum kind kind;
	const char *why;
	const char *to, *val;
} keys[] = {
	{"lt-cred-mech", ON_ONLY, "long-term credentials are always on", NULL, NULL},
	{"fingerprint", ON_ONLY, "FINGERPRINT is always answered in kind", NULL, NULL},
	{"no-cli", ON_ONLY, "turnpike has no telnet CLI (turnpikectl works on Redis)", NULL, NULL},
	{"no-multicast-peers", ON_ONLY, "multicast peers are always refused", NULL, NULL},
	{"no-loopback-peers", ON_ONLY, "loopback peers are refused unless allow-loopback-peers",
	 NULL, NULL},
	{"no-tlsv1", ON_ONLY, "TLS 1.0 is never offered (TLS 1.2 and 1.3 only)", NULL, NULL},
	{"no-tlsv1_1", ON_ONLY,
	 "TLS 1.1 is never offered (TLS 1.2 and 1.3 only; no-tlsv1_2 for 1.3 alone)", NULL, NULL},
	{"response-origin-only-with-rfc5780", ON_ONLY,
	 "RESPONSE-ORIGIN is only ever sent with RFC 5780 on", NULL, NULL},
	{"simple-log", ANY, "one log file, reopened on SIGHUP/SIGUSR2 for logrotate", NULL, NULL},
	{"no-stdout-log", ANY, "the log goes to log-file, syslog or standard error, one of them",
	 NULL, NULL},
	{"new-log-timestamp", ANY, "log lines always carry an ISO 8601 UTC timestamp", NULL, NULL},
	{"new-log-timestamp-format", ANY, "log lines always carry an ISO 8601 UTC timestamp", NULL,
	 NULL},
	{"log-binding", ANY, "Binding requests are counted in /metrics, not logged", NULL, NULL},
	{"syslog-facility", ANY, "syslog uses the facility daemon", NULL, NULL},
	{"no-stun-backward-compatibility", ANY,
	 "classic RFC 3489 Binding requests still get an answer (MAPPED-ADDRESS)", NULL, NULL},
	{"mobility", ANY,
	 "MOBILITY-TICKET (RFC 8016) is not offered: a client that changes address allocates "
	 "again",
	 NULL, NULL},
	{"udp-self-balance", ANY, "SO_REUSEPORT spreads UDP clients over the workers already", NULL,
	 NULL},
	{"dh566", ANY, "key exchange is ECDHE only: no DH parameters", NULL, NULL},
	{"dh1066", ANY, "key exchange is ECDHE only: no DH parameters", NULL, NULL},
	{"dh2066", ANY, "key exchange is ECDHE only: no DH parameters", NULL, NULL},
	{"dh-file", ANY, "key exchange is ECDHE only: no DH parameters", NULL, NULL},
	{"server-name", ANY, "not used: realm names the server to clients", NULL, NULL},
	{"keep-address-family", ANY,
	 "the relay family follows REQUESTED-ADDRESS-FAMILY, else IPv4 (RFC 8656)", NULL, NULL},
	{"check-origin-consistency", ANY, "the ORIGIN attribute is not checked", NULL, NULL},
	{"cli-ip", ANY, "turnpike has no telnet CLI", NULL, NULL},
	{"cli-port", ANY, "turnpike has no telnet CLI", NULL, NULL},
	{"cli-password", ANY, "turnpike has no telnet CLI", NULL, NULL},
	{"cli-max-output-sessions", ANY, "turnpike has no telnet CLI", NULL, NULL},
	{"no-web-admin", ANY, "turnpike has no web admin", NULL, NULL},
	{"channel-lifetime", ANY, "channels last 600 s (RFC 8656 §12)", NULL, NULL},
	{"permission-lifetime", ANY, "permissions last 300 s (RFC 8656 §9)", NULL, NULL},
	{"verbose", MAP, NULL, "log-level", "info"},
	{"Verbose", MAP, NULL, "log-level", "debug"},
	{"max-allocate-timeout", ANY, "an Allocate waits on nothing but Redis (redis-timeout)",
	 NULL, NULL},
	{"userdb", REFUSED, "SQLite is not supported: use user= lines or redis-userdb", NULL, NULL},
	{"psql-userdb", REFUSED, "PostgreSQL is not supported: use redis-userdb", NULL, NULL},
	{"mysql-userdb", REFUSED, "MySQL is not supported: use redis-userdb", NULL, NULL},
	{"mongo-userdb", REFUSED, "MongoDB is not supported: use redis-userdb", NULL, NULL},
	{"secret-key-file", REFUSED, "encrypted keys in the database are not supported", NULL,
	 NULL},
	{"oauth", REFUSED, "third-party authorization (RFC 7635) is not supported", NULL, NULL},
	{"pkey-pwd", REFUSED,
	 "encrypted private keys are not supported: decrypt it (openssl pkey -in KEY -out "
	 "NEW) and keep it readable by the server only",
	 NULL, NULL},
	{"web-admin", REFUSED,
	 "there is no web admin: http-listen serves /metrics, /healthz and the REST hook", NULL,
	 NULL},
	{"web-admin-ip", REFUSED, "there is no web admin: see http-listen", NULL, NULL},
	{"web-admin-port", REFUSED, "there is no web admin: see http-listen", NULL, NULL},
	{"web-admin-listen-on-workers", REFUSED, "there is no web admin: see http-listen", NULL,
	 NULL},
	{"prometheus", REFUSED,
	 "/metrics is served on http-listen=[IP:]PORT (with /healthz and the REST hook; "
	 "coturn's prometheus port was 9641)",
	 NULL, NULL},
	{"prometheus-port", REFUSED, "/metrics is served on http-listen=[IP:]PORT", NULL, NULL},
	{"listening-device", REFUSED, "binding to a device is not supported: use listening-ip",
	 NULL, NULL},
	{"relay-device", REFUSED, "binding to a device is not supported: use relay-ip", NULL, NULL},
	{"stun-only", REFUSED, "a STUN-only server is not offered: every turnpiked relays", NULL,
	 NULL},
	{"no-stun", REFUSED, "Binding is always answered (ICE needs it)", NULL, NULL},
	{"secure-stun", REFUSED, "authenticated Binding is not offered", NULL, NULL},
	{"aux-server", REFUSED, "auxiliary servers are not offered: add listening-ip", NULL, NULL},
	{"alt-tls-listening-port", REFUSED,
	 "RFC 5780 over TLS is not offered: alt-listening-port serves UDP", NULL, NULL},
	{"tls-alternate-server", REFUSED, "alternate-server applies to every transport", NULL,
	 NULL},
	{"acme-redirect", REFUSED, "the HTTP listener does not redirect ACME challenges", NULL,
	 NULL},
	{"allocation-default-address-family", REFUSED,
	 "the relay family follows REQUESTED-ADDRESS-FAMILY, else IPv4 (RFC 8656)", NULL, NULL},
	{"server-relay", REFUSED, "server relays are not offered", NULL, NULL},
	{"tcp-proxy-port", REFUSED, "use proxy-protocol on the TCP and TLS listeners", NULL, NULL},
};

int conf_coturn_key(struct conf *c, const char *name, const char *val, char *msg, size_t msglen)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool on;

		if (strcmp(name, keys[i].name) != 0)
			continue;
		switch (keys[i].kind) {
		case ON_ONLY:
			if (conf_parse_bool(val, &on) != 0 || !on) {
				snprintf(msg, msglen, "%s can only be switched on: %s", name,
					 keys[i].why);
				return CONF_COTURN_ERROR;
			}
			snprintf(msg, msglen, "%s accepted for coturn compatibility: %s", name,
				 keys[i].why);
			return CONF_COTURN_NOTICE;
		case ANY:
			snprintf(msg, msglen,
				 "%s accepted for coturn compatibility, changes nothing: %s", name,
				 keys[i].why);
			return CONF_COTURN_NOTICE;
		case MAP: {
			char why[256];
			const char *v = keys[i].val ? keys[i].val : val;

			if (keys[i].val && conf_parse_bool(val, &on) == 0 && !on) {
				snprintf(msg, msglen, "%s=off accepted for coturn compatibility",
					 name);
				return CONF_COTURN_NOTICE;
			}
			if (conf_set(c, keys[i].to, v, why, sizeof(why)) != 0) {
				snprintf(msg, msglen, "%s (read as %s): %s", name, keys[i].to, why);
				return CONF_COTURN_ERROR;
			}
			snprintf(msg, msglen, "%s read as %s=%s (turnpike's name)", name,
				 keys[i].to, v ? v : "on");
			return CONF_COTURN_NOTICE;
		}
		case REFUSED:
			snprintf(msg, msglen, "coturn's %s: %s", name, keys[i].why);
			return CONF_COTURN_ERROR;
		}
	}
	return 0;
}

/* Edit distance between a and b, or limit when it is limit or more (and
 * when either is 64 bytes or longer). Only cells within limit - 1 of the
 * diagonal can stay under limit, so each row computes those alone (a
 * band of at most 2 * limit - 1), and a row whose every cell has reached
 * limit ends it: suggestions run for every unknown name of a file.
 * Under libFuzzer its comparisons are left out of the coverage feedback
 * (they were half of fuzz_conf's time and tell it nothing; ASan still
 * checks the function, and test_util_conf its answers). */
#if defined(__clang__) && __clang_major__ >= 13
__attribute__((no_sanitize("coverage")))
#endif
static size_t
distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 64 || lb >= 64 || (la > lb ? la - lb : lb - la) >= limit)
		return limit;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j < limit ? j : limit;
	for (size_t i = 1; i <= la; i++) {
		size_t lo = i >= limit ? i - limit + 1 : 1, hi = i + limit - 1, diag, low;

		if (hi > lb)
			hi = lb;
		diag = row[lo - 1];
		low = row[lo - 1] = lo == 1 && i < limit ? i : limit;
		for (size_t j = lo; j <= hi; j++) {
			size_t up = row[j], best = diag + ((a[i - 1] | 32) != (b[j - 1] | 32));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best < limit ? best : limit;
			if (best < low)
				low = best;
		}
		if (low >= limit)
			return limit;
	}
	return row[lb];
}

/* cand becomes the suggestion when it is nearer name than the best so far
 * (distance() rules most out by their lengths alone). */
static void consider(const char *name, const char *cand, const char **best, size_t *bestd)
{
	size_t d = distance(name, cand, *bestd);

	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

const char *conf_suggest(const char *name)
{
	const char *best = NULL;
	size_t la = strlen(name), bestd = la <= 4 ? 1 : la <= 8 ? 2 : 3;

	bestd++; /* a name within bestd - 1 edits is suggested */
	for (const struct conf_opt *o = conf_schema; o->name; o++)
		consider(name, o->name, &best, &bestd);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		consider(name, keys[i].name, &best, &bestd);
	return best;
}
