/* conf_schema.c - the one table of every turnpike option, with defaults,
 * ranges and help. Key names follow coturn's turnserver.conf where the
 * meaning is the same. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/err.h"
#include "util/addr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/policy.h"

static int check_ip(const char *val, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (addr_parse(val, 0, &ss) != 0 || addr_port((struct sockaddr *)&ss) != 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address literal", val);
		return TP_EINVAL;
	}
	return 0;
}

static int check_external_ip(const char *val, char *err, size_t errlen)
{
	char pub[64];
	const char *slash = strchr(val, '/');
	size_t n = slash ? (size_t)(slash - val) : strlen(val);

	if (n >= sizeof(pub)) {
		snprintf(err, errlen, "'%s' is not PUBLIC or PUBLIC/PRIVATE", val);
		return TP_EINVAL;
	}
	memcpy(pub, val, n);
	pub[n] = '\0';
	if (check_ip(pub, err, errlen) != 0 || (slash && check_ip(slash + 1, err, errlen) != 0))
		return TP_EINVAL;
	return 0;
}

static int check_user(const char *val, char *err, size_t errlen)
{
	const char *colon = strchr(val, ':');

	if (!colon || colon == val || colon[1] == '\0') {
		snprintf(err, errlen, "a user entry is not NAME:PASSWORD or NAME:0xKEY");
		return TP_EINVAL;
	}
	return 0;
}

static int check_range(const char *val, char *err, size_t errlen)
{
	struct ip_range r;

	if (policy_range_parse(val, &r) != 0) {
		snprintf(err, errlen, "'%s' is not an address, CIDR prefix or FIRST-LAST range",
			 val);
		return TP_EINVAL;
	}
	return 0;
}

static int check_log_level(const char *val, char *err, size_t errlen)
{
	if (log_level_parse(val) < 0) {
		snprintf(err, errlen, "'%s' is not one of error, warning, info, debug", val);
		return TP_EINVAL;
	}
	return 0;
}

#define OFF(f) offsetof(struct conf, f)

const struct conf_opt conf_schema[] = {
	{ "listening-ip", CONF_LIST, NULL, 0, 0, false, OFF(listening_ip), "IP",
	  "Address to listen on for STUN and TURN; repeat for several. IPv4 and IPv6 "
	  "literals. Default: all IPv4 and all IPv6 addresses.", check_ip },
	{ "listening-port", CONF_INT, "3478", 1, 65535, false, OFF(listening_port), "PORT",
	  "UDP and TCP port for STUN and TURN.", NULL },
	{ "no-udp", CONF_BOOL, "false", 0, 0, false, OFF(no_udp), NULL,
	  "Do not listen on UDP.", NULL },
	{ "no-tcp", CONF_BOOL, "false", 0, 0, false, OFF(no_tcp), NULL,
	  "Do not listen on TCP.", NULL },
	{ "relay-threads", CONF_INT, "0", 0, 256, false, OFF(relay_threads), "N",
	  "Number of worker threads, each with its own event loop and sockets. "
	  "0 means one per online CPU.", NULL },
	{ "tcp-idle-timeout", CONF_INT, "30", 1, 86400, false, OFF(tcp_idle_timeout), "SECONDS",
	  "Close a TCP connection that has not completed a message for this many "
	  "seconds.", NULL },
	{ "max-tcp-connections", CONF_INT, "16384", 1, 1048576, false,
	  OFF(max_tcp_connections), "N",
	  "Most TCP client connections open at once, over all workers; further "
	  "connections are accepted and closed at once.", NULL },
	{ "no-software-attribute", CONF_BOOL, "false", 0, 0, false,
	  OFF(no_software_attribute), NULL,
	  "Do not send the SOFTWARE attribute (hides the server version).", NULL },
	{ "relay-ip", CONF_LIST, NULL, 0, 0, false, OFF(relay_ip), "IP",
	  "Address relay sockets are bound to; repeat for several, IPv4 and IPv6 "
	  "(an IPv6 relay-ip enables IPv6 allocations, RFC 6156). Default: the "
	  "listening-ip addresses that are not wildcards, else every global "
	  "address of the host.", check_ip },
	{ "external-ip", CONF_LIST, NULL, 0, 0, false, OFF(external_ip), "IP[/IP]",
	  "Public address to advertise in XOR-RELAYED-ADDRESS when the server is "
	  "behind a 1:1 NAT: 'public' for the relay-ip of the same family, or "
	  "'public/private' to map one relay-ip.", check_external_ip },
	{ "min-port", CONF_INT, "49152", 1, 65535, false, OFF(min_port), "PORT",
	  "Lowest UDP port for relay sockets.", NULL },
	{ "max-port", CONF_INT, "65535", 1, 65535, false, OFF(max_port), "PORT",
	  "Highest UDP port for relay sockets.", NULL },
	{ "max-allocate-lifetime", CONF_INT, "3600", 600, 86400, false,
	  OFF(max_allocate_lifetime), "SECONDS",
	  "Longest lifetime an Allocate or Refresh may ask for; longer requests are "
	  "cut to it.", NULL },
	{ "realm", CONF_STR, "turnpike", 0, 0, false, OFF(realm), "REALM",
	  "Realm of the long-term credentials (RFC 8489 section 9.2).", NULL },
	{ "user", CONF_LIST, NULL, 0, 0, false, OFF(user), "NAME:PASSWORD",
	  "A long-term user, as NAME:PASSWORD or NAME:0xKEY where KEY is the hex "
	  "MD5 of NAME:REALM:PASSWORD (coturn's form; MD5 only). Repeat for several.",
	  check_user },
	{ "use-auth-secret", CONF_BOOL, "false", 0, 0, false, OFF(use_auth_secret), NULL,
	  "Accept time-limited credentials of the TURN REST API: USERNAME is "
	  "EXPIRY:USER with EXPIRY in Unix seconds, the password "
	  "base64(HMAC-SHA1(secret, USERNAME)) for any static-auth-secret.", NULL },
	{ "static-auth-secret", CONF_LIST, NULL, 0, 0, false, OFF(static_auth_secret),
	  "SECRET",
	  "Shared secret for use-auth-secret; repeat to accept several while "
	  "rotating. Credentials are issued with the last one.", NULL },
	{ "no-auth", CONF_BOOL, "false", 0, 0, false, OFF(no_auth), NULL,
	  "Serve TURN without credentials. Anyone can relay through the server: for "
	  "closed test networks only.", NULL },
	{ "nonce-secret", CONF_STR, NULL, 0, 0, false, OFF(nonce_secret), "SECRET",
	  "Key for the stateless nonces, so servers behind one name accept each "
	  "other's nonces. Default: a random key at each start.", NULL },
	{ "stale-nonce", CONF_INT, "600", 5, 86400, false, OFF(stale_nonce), "SECONDS",
	  "How long a nonce stays valid; after it, requests get 438 Stale Nonce and "
	  "a fresh one.", NULL },
	{ "denied-peer-ip", CONF_LIST, NULL, 0, 0, false, OFF(denied_peer_ip), "RANGE",
	  "Peer addresses the relay must never reach, besides the built-in "
	  "loopback, private, link-local, CGNAT, multicast and reserved ranges: "
	  "an address, CIDR prefix or FIRST-LAST range. Repeat for several.",
	  check_range },
	{ "allowed-peer-ip", CONF_LIST, NULL, 0, 0, false, OFF(allowed_peer_ip), "RANGE",
	  "Peer addresses the relay may reach even though a built-in class or "
	  "denied-peer-ip refuses them (for example a private network the relay "
	  "serves). Same forms as denied-peer-ip.", check_range },
	{ "allow-loopback-peers", CONF_BOOL, "false", 0, 0, false, OFF(allow_loopback_peers),
	  NULL, "Let the relay reach loopback addresses (127.0.0.0/8, ::1). For tests "
	  "only.", NULL },
	{ "user-quota", CONF_INT, "0", 0, 1000000, false, OFF(user_quota), "N",
	  "Most allocations one user may hold at once (for REST names, the user "
	  "part); more get 486. 0: no limit.", NULL },
	{ "total-quota", CONF_INT, "0", 0, 10000000, false, OFF(total_quota), "N",
	  "Most allocations on the server at once; more get 508. 0: no limit.", NULL },
	{ "max-permissions", CONF_INT, "256", 1, 65535, false, OFF(max_permissions), "N",
	  "Most peer permissions one allocation may hold; more get 508.", NULL },
	{ "max-channels", CONF_INT, "256", 1, 4096, false, OFF(max_channels), "N",
	  "Most channels one allocation may bind; more get 508.", NULL },
	{ "max-bps", CONF_INT, "0", 0, 1000000000, false, OFF(max_bps), "BYTES/S",
	  "Bandwidth of one allocation, in bytes per second, both directions "
	  "together; packets beyond it are dropped. 0: no limit.", NULL },
	{ "bps-capacity", CONF_INT, "0", 0, 2000000000, false, OFF(bps_capacity), "BYTES/S",
	  "Bandwidth of the whole server, in bytes per second of relayed payload, "
	  "shared evenly by the workers; packets beyond it are dropped. 0: no limit.",
	  NULL },
	{ "log-file", CONF_STR, "-", 0, 0, false, OFF(log_file), "PATH",
	  "Write the log to this file ('-' for standard error). SIGHUP reopens it.",
	  NULL },
	{ "log-level", CONF_STR, "info", 0, 0, true, OFF(log_level), "LEVEL",
	  "Least severe messages logged: error, warning, info or debug.",
	  check_log_level },
	{ "syslog", CONF_BOOL, "false", 0, 0, false, OFF(syslog), NULL,
	  "Log to syslog (facility daemon) instead of log-file.", NULL },
	{ NULL, 0, NULL, 0, 0, false, 0, NULL, NULL, NULL }
};

int conf_validate(const struct conf *c, char *err, size_t errlen)
{
	if (c->no_udp && c->no_tcp) {
		snprintf(err, errlen, "no-udp and no-tcp together leave nothing to listen on");
		return TP_EINVAL;
	}
	if (c->min_port > c->max_port) {
		snprintf(err, errlen, "min-port %ld is above max-port %ld", c->min_port, c->max_port);
		return TP_EINVAL;
	}
	if (c->use_auth_secret && c->static_auth_secret.n == 0) {
		snprintf(err, errlen, "use-auth-secret needs at least one static-auth-secret");
		return TP_EINVAL;
	}
	if (c->static_auth_secret.n && !c->use_auth_secret) {
		snprintf(err, errlen, "static-auth-secret is set but use-auth-secret is not");
		return TP_EINVAL;
	}
	if (c->nonce_secret && !c->nonce_secret[0]) {
		snprintf(err, errlen, "nonce-secret is empty: anyone could forge nonces");
		return TP_EINVAL;
	}
	if (c->no_auth && (c->user.n || c->use_auth_secret)) {
		snprintf(err, errlen, "no-auth cannot be combined with user or use-auth-secret");
		return TP_EINVAL;
	}
	return 0;
}
