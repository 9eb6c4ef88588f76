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

/* A TURN server for 300 Try Alternate: IP or IP:PORT ([IPv6]:PORT). */
static int check_server(const char *val, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (addr_parse(val, 3478, &ss) != 0 || addr_is_any((struct sockaddr *)&ss)) {
		snprintf(err, errlen,
			 "'%s' is not an address with an optional port (1.2.3.4, 1.2.3.4:3478, "
			 "[2001:db8::1]:3478)",
			 val);
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

static int check_log_format(const char *val, char *err, size_t errlen)
{
	if (log_format_parse(val) < 0) {
		snprintf(err, errlen, "'%s' is not text or json", val);
		return TP_EINVAL;
	}
	return 0;
}

static int check_http_listen(const char *val, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (addr_parse_listen(val, &ss) != 0) {
		snprintf(err, errlen, "'%s' is not PORT, IP:PORT or [IPv6]:PORT", val);
		return TP_EINVAL;
	}
	return 0;
}

static int check_metrics_auth(const char *val, char *err, size_t errlen)
{
	if (strcmp(val, "auto") != 0 && strcmp(val, "key") != 0 && strcmp(val, "none") != 0) {
		snprintf(err, errlen, "'%s' is not auto, key or none", val);
		return TP_EINVAL;
	}
	return 0;
}

/* Printable ASCII without blanks: what survives a URL query and a header. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

int conf_check_api_key(const char *val, char *err, size_t errlen)
{
	size_t n = strlen(val);

	/* Short keys could be guessed; the rate limit only slows that down. */
	if (n < 16 || n > 256 || !printable(val)) {
		snprintf(err, errlen,
			 "a rest-api-key is 16 to 256 printable characters "
			 "without blanks");
		return TP_EINVAL;
	}
	return 0;
}

static int check_admin_key(const char *val, char *err, size_t errlen)
{
	if (conf_check_api_key(val, err, errlen) == 0)
		return 0;
	snprintf(err, errlen, "an admin-api-key is 16 to 256 printable characters without blanks");
	return TP_EINVAL;
}

static int check_cors_origin(const char *val, char *err, size_t errlen)
{
	const char *host = NULL;

	if (!strcmp(val, "*"))
		return 0;
	if (!strncmp(val, "https://", 8))
		host = val + 8;
	else if (!strncmp(val, "http://", 7))
		host = val + 7;
	if (!host || !*host || strlen(val) > 255 ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		    strlen(host)) {
		snprintf(err, errlen, "'%s' is not * or an origin like https://app.example.org",
			 val);
		return TP_EINVAL;
	}
	return 0;
}

static int check_turn_uri(const char *val, char *err, size_t errlen)
{
	static const char *const schemes[] = {"turn:", "turns:", "stun:", "stuns:"};
	size_t n = 0;

	for (size_t i = 0; i < 4 && !n; i++)
		if (!strncmp(val, schemes[i], strlen(schemes[i])))
			n = strlen(schemes[i]);
	if (!n || !val[n] || strlen(val) > 255 || !printable(val) || strpbrk(val, "\"<>\\")) {
		snprintf(err, errlen, "'%s' is not a turn:, turns:, stun: or stuns: URI", val);
		return TP_EINVAL;
	}
	return 0;
}

#define OFF(f) offsetof(struct conf, f)

const struct conf_opt conf_schema[] = {
	{"listening-ip", CONF_LIST, NULL, 0, 0, false, OFF(listening_ip), "IP",
	 "Address to listen on for STUN and TURN; repeat for several. IPv4 and IPv6 "
	 "literals. Default: all IPv4 and all IPv6 addresses.",
	 check_ip},
	{"listening-port", CONF_INT, "3478", 1, 65535, false, OFF(listening_port), "PORT",
	 "UDP and TCP port for STUN and TURN. With TURN over TLS on, its TCP side "
	 "takes TLS too, told from plain framing by the first byte.",
	 NULL},
	{"alt-listening-ip", CONF_STR, NULL, 0, 0, false, OFF(alt_listening_ip), "IP",
	 "Alternate address for RFC 5780 NAT behaviour discovery, off by default (a "
	 "server that answers from other addresses helps reflection attacks). With it, "
	 "the server also listens (UDP and TCP) on listening-ip:alt-listening-port, "
	 "alt-listening-ip:listening-port and alt-listening-ip:alt-listening-port; "
	 "Binding answers carry OTHER-ADDRESS and RESPONSE-ORIGIN, and a CHANGE-REQUEST "
	 "over UDP is answered from the address it asks for, always to the request's "
	 "source. Needs exactly one listening-ip of the same family, not a wildcard. "
	 "Without it, a CHANGE-REQUEST gets 420.",
	 check_ip},
	{"alt-listening-port", CONF_INT, "0", 0, 65535, false, OFF(alt_listening_port), "PORT",
	 "Alternate port for RFC 5780 NAT behaviour discovery (with alt-listening-ip). "
	 "0: listening-port plus one.",
	 NULL},
	{"no-rfc5780", CONF_BOOL, "false", 0, 0, false, OFF(no_rfc5780), NULL,
	 "Turn RFC 5780 NAT behaviour discovery off even when alt-listening-ip is set: "
	 "no alternate listeners, and a CHANGE-REQUEST gets 420.",
	 NULL},
	{"no-udp", CONF_BOOL, "false", 0, 0, false, OFF(no_udp), NULL, "Do not listen on UDP.",
	 NULL},
	{"no-tcp", CONF_BOOL, "false", 0, 0, false, OFF(no_tcp), NULL, "Do not listen on TCP.",
	 NULL},
	{"relay-threads", CONF_INT, "0", 0, 256, false, OFF(relay_threads), "N",
	 "Number of worker threads, each with its own event loop and sockets. "
	 "0 means one per online CPU.",
	 NULL},
	{"tcp-idle-timeout", CONF_INT, "30", 1, 86400, false, OFF(tcp_idle_timeout), "SECONDS",
	 "Close a TCP connection that has not completed an authenticated request for "
	 "this many seconds (one carrying an allocation lives as long as the "
	 "allocation). Requests without valid credentials, Binding included, do not "
	 "count: a connection that never authenticates is closed this long after it "
	 "was accepted.",
	 NULL},
	{"max-tcp-connections", CONF_INT, "16384", 1, 1048576, false, OFF(max_tcp_connections), "N",
	 "Most TCP client connections open at once, over all workers. When the table is "
	 "full, the oldest connection that never authenticated is closed to admit the "
	 "new one; when every connection has authenticated, the new one is closed at "
	 "once.",
	 NULL},
	{"max-tcp-unauthenticated-per-source", CONF_INT, "16", 0, 1048576, false,
	 OFF(max_tcp_unauth_per_source), "N",
	 "Most TCP connections one source (an IPv4 address, or an IPv6 /64) may hold "
	 "open before they authenticate; further ones are closed at once. A connection "
	 "stops counting once a request on it authenticates. 0: no limit.",
	 NULL},
	{"tls-listening-port", CONF_INT, "5349", 1, 65535, false, OFF(tls_listening_port), "PORT",
	 "TCP port for TURN over TLS (turns:) and UDP port for TURN over DTLS "
	 "(RFC 7350), on every listening-ip, served when cert and pkey are set "
	 "(unless no-tls, no-dtls). The same limits as TCP apply, a DTLS session "
	 "counting as a connection: max-tcp-connections, "
	 "max-tcp-unauthenticated-per-source, tcp-idle-timeout, "
	 "tls-handshake-timeout. Its TCP side takes plain TURN over TCP too (the "
	 "first byte tells a TLS handshake from STUN framing), so 443 can serve "
	 "turns: and turn:?transport=tcp both. ALPN (RFC 7443): stun.turn is "
	 "selected when offered; an offer without it is refused "
	 "(no_application_protocol); no offer is TURN.",
	 NULL},
	{"no-tls", CONF_BOOL, "false", 0, 0, false, OFF(no_tls), NULL,
	 "Do not serve TURN over TLS even when cert and pkey are set.", NULL},
	{"no-tlsv1_2", CONF_BOOL, "false", 0, 0, true, OFF(no_tlsv1_2), NULL,
	 "TURN over TLS with TLS 1.3 only (coturn's key). TLS 1.0 and 1.1 are never "
	 "offered, so coturn's no-tlsv1 and no-tlsv1_1 change nothing. DTLS stays "
	 "1.2 (OpenSSL has no DTLS 1.3).",
	 NULL},
	{"no-dtls", CONF_BOOL, "false", 0, 0, false, OFF(no_dtls), NULL,
	 "Do not serve TURN over DTLS even when cert and pkey are set. DTLS 1.2 "
	 "only; a client gets a stateless cookie (HelloVerifyRequest, bound to its "
	 "address and valid for a minute) before the server keeps anything for it.",
	 NULL},
	{"cert", CONF_STR, NULL, 0, 0, true, OFF(cert), "PATH",
	 "TLS certificate chain file (PEM, server certificate first). With pkey, "
	 "turnpiked serves TURN over TLS and DTLS on tls-listening-port. Read again on "
	 "SIGHUP and when cert or pkey change on disk (looked at every 2 seconds, "
	 "as certbot renewals replace them): new connections get the new "
	 "certificate, open ones keep theirs. "
	 "Not used by the HTTP listener (see http-cert).",
	 NULL},
	{"pkey", CONF_STR, NULL, 0, 0, true, OFF(pkey), "PATH",
	 "Private key file (PEM) of cert. Read again with cert.", NULL},
	{"cipher-list", CONF_STR, "ECDHE+AESGCM:ECDHE+CHACHA20:!PSK", 0, 0, true, OFF(cipher_list),
	 "LIST",
	 "TLS 1.2 cipher suites for TURN over TLS and DTLS 1.2, in OpenSSL's cipher list syntax; "
	 "the default allows only forward-secret AEAD suites (ECDHE with AES-GCM or "
	 "ChaCha20-Poly1305). TLS 1.3 suites are OpenSSL's defaults. TLS 1.0 and "
	 "1.1 are never accepted.",
	 NULL},
	{"ec-curve-name", CONF_STR, NULL, 0, 0, true, OFF(ec_curve_name), "GROUPS",
	 "Key exchange groups for TURN over TLS and DTLS, one name or a colon-separated list "
	 "in order of preference (for example X25519:prime256v1). Default: "
	 "OpenSSL's.",
	 NULL},
	{"CA-file", CONF_STR, NULL, 0, 0, true, OFF(ca_file), "PATH",
	 "CA certificates (PEM) to verify client certificates on TURN over TLS and DTLS. "
	 "Clients need not present one; one that presents a certificate this CA "
	 "did not sign fails the handshake. Default: client certificates are not "
	 "asked for.",
	 NULL},
	{"tls-handshake-timeout", CONF_INT, "5", 1, 60, false, OFF(tls_handshake_timeout),
	 "SECONDS",
	 "Time a TURN over TLS client has to complete the TLS handshake from the "
	 "moment it connects (a DTLS client: from its ClientHello with a valid "
	 "cookie); then the connection or session is closed, counted and logged. "
	 "Also the time a proxy-protocol balancer has to send its header and, with "
	 "TLS on, any TCP client its first byte.",
	 NULL},
	{"no-software-attribute", CONF_BOOL, "false", 0, 0, false, OFF(no_software_attribute), NULL,
	 "Do not send the SOFTWARE attribute (hides the server version).", NULL},
	{"relay-ip", CONF_LIST, NULL, 0, 0, false, OFF(relay_ip), "IP",
	 "Address relay sockets are bound to; repeat for several, IPv4 and IPv6 "
	 "(an IPv6 relay-ip enables IPv6 allocations, RFC 6156). Default: the "
	 "listening-ip addresses that are not wildcards, else every global "
	 "address of the host.",
	 check_ip},
	{"external-ip", CONF_LIST, NULL, 0, 0, false, OFF(external_ip), "IP[/IP]",
	 "Public address to advertise in XOR-RELAYED-ADDRESS when the server is "
	 "behind a 1:1 NAT: 'public' for the relay-ip of the same family, or "
	 "'public/private' to map one relay-ip.",
	 check_external_ip},
	{"min-port", CONF_INT, "49152", 1, 65535, false, OFF(min_port), "PORT",
	 "Lowest UDP port for relay sockets.", NULL},
	{"max-port", CONF_INT, "65535", 1, 65535, false, OFF(max_port), "PORT",
	 "Highest UDP port for relay sockets.", NULL},
	{"no-udp-relay", CONF_BOOL, "false", 0, 0, false, OFF(no_udp_relay), NULL,
	 "Refuse allocations of UDP relays (REQUESTED-TRANSPORT UDP) with 442, "
	 "as coturn's no-udp-relay.",
	 NULL},
	{"no-tcp-relay", CONF_BOOL, "false", 0, 0, false, OFF(no_tcp_relay), NULL,
	 "Refuse RFC 6062 TCP relays (REQUESTED-TRANSPORT TCP) with 442, as "
	 "coturn's no-tcp-relay.",
	 NULL},
	{"max-allocate-lifetime", CONF_INT, "3600", 600, 86400, false, OFF(max_allocate_lifetime),
	 "SECONDS",
	 "Longest lifetime an Allocate or Refresh may ask for; longer requests are "
	 "cut to it.",
	 NULL},
	{"realm", CONF_STR, "turnpike", 0, 0, false, OFF(realm), "REALM",
	 "Realm of the long-term credentials (RFC 8489 section 9.2).", NULL},
	{"user", CONF_LIST, NULL, 0, 0, true, OFF(user), "NAME:PASSWORD",
	 "A long-term user, as NAME:PASSWORD or NAME:0xKEY where KEY is the hex "
	 "MD5 of NAME:REALM:PASSWORD (coturn's form; MD5 only). Repeat for several.",
	 check_user},
	{"use-auth-secret", CONF_BOOL, "false", 0, 0, false, OFF(use_auth_secret), NULL,
	 "Accept time-limited credentials of the TURN REST API: USERNAME is "
	 "EXPIRY:USER with EXPIRY in Unix seconds, the password "
	 "base64(HMAC-SHA1(secret, USERNAME)) for any static-auth-secret.",
	 NULL},
	{"static-auth-secret", CONF_LIST, NULL, 0, 0, true, OFF(static_auth_secret), "SECRET",
	 "Shared secret for use-auth-secret; repeat to accept several while "
	 "rotating. Credentials are issued with the last one.",
	 NULL},
	{"no-auth", CONF_BOOL, "false", 0, 0, false, OFF(no_auth), NULL,
	 "Serve TURN without credentials. Anyone can relay through the server: for "
	 "closed test networks only.",
	 NULL},
	{"nonce-secret", CONF_STR, NULL, 0, 0, false, OFF(nonce_secret), "SECRET",
	 "Key for the stateless nonces, so servers behind one name accept each "
	 "other's nonces. Default: a random key at each start.",
	 NULL},
	{"stale-nonce", CONF_INT, "600", 5, 86400, false, OFF(stale_nonce), "SECONDS",
	 "How long a nonce stays valid; after it, requests get 438 Stale Nonce and "
	 "a fresh one.",
	 NULL},
	{"denied-peer-ip", CONF_LIST, NULL, 0, 0, true, OFF(denied_peer_ip), "RANGE",
	 "Peer addresses the relay must never reach, besides the built-in "
	 "loopback, private, link-local, CGNAT, multicast and reserved ranges: "
	 "an address, CIDR prefix or FIRST-LAST range. Repeat for several.",
	 check_range},
	{"allowed-peer-ip", CONF_LIST, NULL, 0, 0, true, OFF(allowed_peer_ip), "RANGE",
	 "Peer addresses the relay may reach even though a built-in class or "
	 "denied-peer-ip refuses them (for example a private network the relay "
	 "serves). Same forms as denied-peer-ip.",
	 check_range},
	{"proxy-protocol", CONF_LIST, NULL, 0, 0, false, OFF(proxy_protocol), "RANGE",
	 "Load balancers in front of the TCP and TLS listeners (an address, CIDR "
	 "prefix or FIRST-LAST range; repeat for several): their connections must "
	 "start with a PROXY protocol header, version 1 or 2 (HAProxy's send-proxy or "
	 "send-proxy-v2), and the client address it names is the one authentication, "
	 "quotas, the per-source limits and the logs see. A connection from them "
	 "without a valid header within tls-handshake-timeout is closed; a header "
	 "from any other address is not taken (the connection is closed as malformed).",
	 check_range},
	{"allow-loopback-peers", CONF_BOOL, "false", 0, 0, true, OFF(allow_loopback_peers), NULL,
	 "Let the relay reach loopback addresses (127.0.0.0/8, ::1, in any IPv6 "
	 "spelling), the server's own included, so a test peer can sit beside the "
	 "server on 127.0.0.1. The server's listening ports (listening-port over "
	 "UDP and TCP, tls-listening-port, the http-listen port) stay refused on every loopback "
	 "address. For tests only.",
	 NULL},
	{"user-quota", CONF_INT, "32", 0, 1000000, true, OFF(user_quota), "N",
	 "Most allocations one user may hold at once (for REST names EXPIRY:USER, "
	 "the USER part, so one web user cannot mint many); more get 486. With "
	 "redis-userdb, counted across every server sharing it (per server while "
	 "Redis is away); a reload changes the per-server count at once and the one "
	 "in Redis after a restart. The default 32 is ten browser PeerConnections "
	 "with three TURN URLs each (UDP, TCP, TLS) and some to spare; raise it when "
	 "many people share one long-term user. 0: no limit.",
	 NULL},
	{"source-quota", CONF_INT, "256", 0, 1000000, true, OFF(source_quota), "N",
	 "Most allocations the clients of one source address (an IPv4 address, or an "
	 "IPv6 /64) may hold at once, whatever their credentials, so one host cannot "
	 "take the relay ports with many minted REST credentials; more get 486. "
	 "Counted on this server, once the Allocate has authenticated. The default "
	 "leaves room for an office behind one NAT; behind a carrier-grade NAT, or "
	 "with every client coming through one proxy, raise it. 0: no limit.",
	 NULL},
	{"total-quota", CONF_INT, "0", 0, 10000000, true, OFF(total_quota), "N",
	 "Most allocations on the server at once; more get 508 (or 300, see "
	 "overflow-server). 0 (the default): as many as the relay ports, "
	 "(max-port - min-port + 1) for each relay address, so the refusal is a "
	 "counted 508 before the ports run out.",
	 NULL},
	{"alternate-server", CONF_LIST, NULL, 0, 0, true, OFF(alternate_server), "IP[:PORT]",
	 "Redirection mode, as coturn's: every new Allocate gets 300 Try Alternate "
	 "naming one of these servers (ALTERNATE-SERVER), round robin among those of "
	 "the client's address family; repeat for several (a server named twice gets "
	 "twice the share). The port defaults to 3478; IPv6 as [2001:db8::1]:3478. "
	 "The answer is sent after authentication and signed. Existing allocations "
	 "are not moved.",
	 check_server},
	{"overflow-server", CONF_LIST, NULL, 0, 0, true, OFF(overflow_server), "IP[:PORT]",
	 "Servers for the Allocates this one cannot take (draining before a stop, "
	 "total-quota reached, no relay port or descriptor free): they get 300 Try "
	 "Alternate naming one of these, round robin in the client's family, "
	 "instead of 508. Same form as alternate-server. With redis-statsdb (or "
	 "redis-userdb), the least loaded server of the fleet registry (see "
	 "announce-address) is named first; these are the fallback.",
	 check_server},
	{"announce-address", CONF_LIST, NULL, 0, 0, false, OFF(announce_address), "IP[:PORT]",
	 "This server's TURN address as clients elsewhere should be sent to it (one "
	 "per family, repeat for several). With redis-statsdb (or redis-userdb) the "
	 "server registers it every 2 s in the Redis hash turnpike:servers, with its "
	 "load (allocations over total-quota, else over the relay ports) and whether "
	 "it drains; servers of the fleet send the Allocates they cannot take to the "
	 "least loaded registered one (300 Try Alternate).",
	 check_server},
	{"max-permissions", CONF_INT, "64", 1, 65535, true, OFF(max_permissions), "N",
	 "Most peer permissions one allocation may hold; more get 508. A WebRTC "
	 "client asks one for each IP among its peer's candidates, rarely more than "
	 "ten; 64 permissions and 64 channels hold at most about 11 KiB per "
	 "allocation (256 of each, about 45 KiB).",
	 NULL},
	{"max-channels", CONF_INT, "64", 1, 4096, true, OFF(max_channels), "N",
	 "Most channels one allocation may bind; more get 508. A client binds one "
	 "for each peer address it talks to (see max-permissions).",
	 NULL},
	{"max-bps", CONF_INT, "0", 0, 1000000000, true, OFF(max_bps), "BYTES/S",
	 "Bandwidth of one allocation, in bytes per second, for each direction on "
	 "its own (client to peers, peers to client, as coturn counts it); "
	 "datagrams beyond it are dropped. RFC 6062 TCP relays are not limited. "
	 "0: no limit.",
	 NULL},
	{"bps-capacity", CONF_INT, "0", 0, 2000000000, true, OFF(bps_capacity), "BYTES/S",
	 "Bandwidth of the whole server, in bytes per second of relayed payload, "
	 "shared evenly by the workers; packets beyond it are dropped. 0: no limit.",
	 NULL},
	{"http-listen", CONF_STR, NULL, 0, 0, false, OFF(http_listen), "[IP:]PORT",
	 "Serve HTTP on this address: Prometheus metrics at /metrics, /healthz, and "
	 "the TURN REST credential hook at /api/v1/turn/credentials and "
	 "/api/v1/turn/ice-servers. A bare PORT listens on 127.0.0.1 only; write "
	 "IPv6 as [::1]:PORT. HTTPS when http-cert and http-pkey are set. The same "
	 "address and port as a TURN TCP listener (listening-port, or "
	 "tls-listening-port with TLS on; 443, say) share it: TLS offering ALPN "
	 "http/1.1 (HTTPS hook) or a request line (plain hook) goes to HTTP, "
	 "everything else to TURN, with the HTTP limits applied to the real client "
	 "address. Default: off.",
	 check_http_listen},
	{"metrics-auth", CONF_STR, "auto", 0, 0, false, OFF(metrics_auth), "auto|key|none",
	 "Who may read /metrics (allocation counts, client numbers, refusals: "
	 "nothing for the public). key: only with an API key, as the credential hook "
	 "takes it (rest-api-key or turnpikectl apikey; Authorization: Bearer KEY or "
	 "key=), else 401. none: anyone who reaches http-listen. auto (the default): "
	 "none when http-listen is a loopback address (a bare PORT, for a Prometheus "
	 "on the host), key otherwise, where the credential hook is public (web "
	 "pages call it, and a shared TURN port forwards HTTP to it).",
	 check_metrics_auth},
	{"http-cert", CONF_STR, NULL, 0, 0, false, OFF(http_cert), "PATH",
	 "TLS certificate chain file (PEM, server certificate first) for the HTTP "
	 "listener. With http-pkey, http-listen speaks HTTPS only.",
	 NULL},
	{"http-pkey", CONF_STR, NULL, 0, 0, false, OFF(http_pkey), "PATH",
	 "Private key file (PEM) of http-cert.", NULL},
	{"http-max-connections", CONF_INT, "256", 1, 65536, false, OFF(http_max_connections), "N",
	 "Most HTTP connections open at once; more are closed at once, counted and "
	 "logged. Never more than a quarter of the open file limit, so HTTP clients "
	 "cannot take the descriptors TURN needs; and no connection is taken while "
	 "fewer than an eighth of them are free.",
	 NULL},
	{"http-max-connections-per-source", CONF_INT, "32", 1, 65536, false,
	 OFF(http_max_connections_per_source), "N",
	 "Most HTTP connections one client address (an IPv6 /64) may hold open, so "
	 "one client cannot fill http-max-connections; more are closed at once. "
	 "Behind a reverse proxy every request comes from the proxy's address: "
	 "raise it to http-max-connections.",
	 NULL},
	{"http-request-timeout", CONF_INT, "10", 1, 300, false, OFF(http_request_timeout),
	 "SECONDS",
	 "Time an HTTP client has to send a whole request, from the moment it "
	 "connects, however slowly the bytes trickle in; then the connection is "
	 "closed, counted and logged. A client silent for 5 seconds is closed "
	 "earlier. Each connection carries one request.",
	 NULL},
	{"rest-api-key", CONF_LIST, NULL, 0, 0, true, OFF(rest_api_key), "KEY",
	 "Key a web backend presents to the credential hook (parameter key= or api=, "
	 "or an Authorization: Bearer header); repeat to accept several while "
	 "rotating. 16 to 256 printable characters. Keys can also come from Redis "
	 "(turnpikectl apikey). Without any the hook refuses every request.",
	 conf_check_api_key},
	{"admin-api-key", CONF_LIST, NULL, 0, 0, true, OFF(admin_api_key), "KEY",
	 "Key for the admin endpoints of the HTTP listener (GET "
	 "/api/v1/admin/sessions, POST /api/v1/admin/sessions/kill: turnpikectl "
	 "sessions and kill), as an Authorization: Bearer header or key=; repeat "
	 "to rotate. 16 to 256 printable characters, and not a rest-api-key: a "
	 "web backend that may fetch credentials must not end calls. Without any "
	 "the admin endpoints answer 403. Over a non-loopback http-listen, set "
	 "http-cert so the key does not cross the network in clear.",
	 check_admin_key},
	{"rest-max-ttl", CONF_INT, "86400", 60, 2592000, true, OFF(rest_max_ttl), "SECONDS",
	 "Longest lifetime of credentials the hook issues; a longer ttl is cut to it "
	 "and a request without ttl gets it.",
	 NULL},
	{"rest-cors-origin", CONF_LIST, NULL, 0, 0, true, OFF(rest_cors_origin), "ORIGIN",
	 "Web origin (https://app.example.org) whose pages may call the credential "
	 "hook from the browser, or * for any; repeat for several. The hook then "
	 "sends CORS headers and answers preflight OPTIONS requests.",
	 check_cors_origin},
	{"rest-rate-limit", CONF_INT, "100", 0, 100000, true, OFF(rest_rate_limit), "N",
	 "Requests per second one client address (an IPv6 /64) may make to the "
	 "credential hook, in bursts of up to N; more get 429. A web backend asks "
	 "from one address for all its users: allow for its peak. 0: no limit.",
	 NULL},
	{"turn-uri", CONF_LIST, NULL, 0, 0, true, OFF(turn_uri), "URI",
	 "URI the credential hook hands out, such as "
	 "turn:turn.example.org:3478?transport=udp (RFC 7065) or "
	 "stun:turn.example.org:3478 (RFC 7064); repeat for several. Default: "
	 "derived from the listeners (external-ip and relay addresses for "
	 "wildcards): turn: over UDP and TCP and stun: for each address.",
	 check_turn_uri},
	{"drain-seconds", CONF_INT, "0", 0, 3600, true, OFF(drain_seconds), "SECONDS",
	 "On SIGTERM or SIGINT keep relaying for the existing allocations this long, "
	 "while new Allocate requests get 508 and /healthz answers 503, then stop. "
	 "A second signal stops at once. 0: stop at once.",
	 NULL},
	{"redis-userdb", CONF_STR, NULL, 0, 0, false, OFF(redis_userdb), "CONNINFO",
	 "Redis holding the REST secrets (coturn's set turn/realm/REALM/secret) and "
	 "long-term users, shared by every server of a fleet. coturn's form "
	 "'ip=127.0.0.1 port=6379 dbname=0 password=... connect_timeout=30', "
	 "'unix=/run/redis/redis.sock dbname=0', or a URL "
	 "redis://[:password@]host[:port][/db]. Changes take effect within 2 seconds "
	 "(turnpikectl announces them; see REDIS in turnpike.conf(5)). Without it, "
	 "everything comes from this file.",
	 NULL},
	{"redis-statsdb", CONF_STR, NULL, 0, 0, false, OFF(redis_statsdb), "CONNINFO",
	 "Redis receiving allocation events as JSON on the channel turnpike:events, "
	 "in the same forms as redis-userdb. Default: redis-userdb.",
	 NULL},
	{"unauth-rate-limit", CONF_INT, "500", 0, 1000000, false, OFF(unauth_rate_limit), "N",
	 "Answers per second, in bursts of up to N, that one UDP source (an IPv4 "
	 "address, or an IPv6 /64) gets for requests that did not authenticate: "
	 "Binding, the 401 challenge, any unsigned error. Over UDP a source address "
	 "can be forged, and such answers are what a reflection attack would aim at "
	 "a victim; beyond the budget requests are dropped without an answer (the "
	 "client retransmits), counted in turnpike_dropped_total{cause=\"unauth_rate\"} "
	 "and logged rate-limited. Each relay thread keeps its share (N divided "
	 "by the relay threads, rounded up) in buckets of its own in a fixed table "
	 "(4096 sources, 128 KiB, no locks): a source that spreads its ports over "
	 "the threads gets N in all, one port its thread's share. Authenticated "
	 "requests, TCP, TLS and DTLS (whose handshake proves the address) are not "
	 "counted. The default leaves room for a carrier-grade NAT with thousands of "
	 "WebRTC clients behind one address (each sends a Binding keepalive every "
	 "10 s or so) while a forged victim gets at most some 50 kB a second. "
	 "0: no limit.",
	 NULL},
	{"redis-lookups-per-source", CONF_INT, "10", 0, 100000, false,
	 OFF(redis_lookups_per_source), "N",
	 "Long-term key lookups in redis-userdb one source (an IPv4 address, or an "
	 "IPv6 /64) may cause per second, with a burst as large: a lookup happens for "
	 "a user name not in the cache, before its password can be checked. Requests "
	 "beyond it are dropped without an answer (the client retransmits) and "
	 "counted in turnpike_dropped_total{cause=\"lookup_rate\"}. Users already "
	 "cached are not counted. 0: no limit.",
	 NULL},
	{"redis-timeout", CONF_INT, "1000", 10, 60000, false, OFF(redis_timeout), "MS",
	 "How long a Redis command may wait for its answer; then the connection is "
	 "dropped and opened again, and requests parked on a user lookup get 500. "
	 "Nothing ever waits on Redis: while it is away, the last secrets and keys "
	 "loaded keep working and events are dropped (counted).",
	 NULL},
	{"redis-refresh", CONF_INT, "30", 1, 86400, false, OFF(redis_refresh), "SECONDS",
	 "Reload the secrets from redis-userdb this often, besides the change "
	 "notifications: the safety net for a lost notification.",
	 NULL},
	{"stats-interval", CONF_INT, "10", 0, 3600, false, OFF(stats_interval), "SECONDS",
	 "Publish an interim event with the traffic counters of every live "
	 "allocation this often, on redis-statsdb. 0: none.",
	 NULL},
	{"log-file", CONF_STR, "-", 0, 0, false, OFF(log_file), "PATH",
	 "Write the log to this file ('-' for standard error). SIGHUP reopens it.", NULL},
	{"log-level", CONF_STR, "info", 0, 0, true, OFF(log_level), "LEVEL",
	 "Least severe messages logged: error, warning, info or debug.", check_log_level},
	{"log-format", CONF_STR, "text", 0, 0, true, OFF(log_format), "FORMAT",
	 "text: a line of text a message (a timestamp, the level, the message); json: "
	 "one JSON object a line with time, level and msg, and for allocation starts "
	 "and ends the event's fields (the JSON published on redis-statsdb) under "
	 "event. Under systemd's journal, text lines drop the timestamp and carry "
	 "the priority.",
	 check_log_format},
	{"syslog", CONF_BOOL, "false", 0, 0, false, OFF(syslog), NULL,
	 "Log to syslog (facility daemon) instead of log-file.", NULL},
	{"pidfile", CONF_STR, NULL, 0, 0, false, OFF(pidfile), "PATH",
	 "Write the process id to this file once listening, and remove it on exit "
	 "(when the process may still do so after proc-user). Under systemd "
	 "(Type=notify) no pid file is needed.",
	 NULL},
	{"proc-user", CONF_STR, NULL, 0, 0, false, OFF(proc_user), "USER",
	 "Started as root, switch to this user (name or number) once every "
	 "listener is bound, so privileged ports such as 443 work without running "
	 "as root; its primary group unless proc-group. Certificates and key files "
	 "must be readable by it for reloads. A start-up failure when the switch "
	 "fails.",
	 NULL},
	{"proc-group", CONF_STR, NULL, 0, 0, false, OFF(proc_group), "GROUP",
	 "The group (name or number) to switch to, with proc-user or alone.", NULL},
	{NULL, 0, NULL, 0, 0, false, 0, NULL, NULL, NULL}};

int conf_validate(const struct conf *c, char *err, size_t errlen)
{
	if (c->no_udp && c->no_tcp) {
		snprintf(err, errlen, "no-udp and no-tcp together leave nothing to listen on");
		return TP_EINVAL;
	}
	if (c->min_port > c->max_port) {
		snprintf(err, errlen, "min-port %ld is above max-port %ld", c->min_port,
			 c->max_port);
		return TP_EINVAL;
	}
	if (c->use_auth_secret && c->static_auth_secret.n == 0 && !c->redis_userdb) {
		snprintf(err, errlen, "use-auth-secret needs a static-auth-secret or redis-userdb");
		return TP_EINVAL;
	}
	if (c->announce_address.n && !c->redis_statsdb && !c->redis_userdb) {
		snprintf(err, errlen,
			 "announce-address needs redis-statsdb (or redis-userdb) "
			 "to register in");
		return TP_EINVAL;
	}
	if (c->static_auth_secret.n && !c->use_auth_secret) {
		snprintf(err, errlen, "static-auth-secret is set but use-auth-secret is not");
		return TP_EINVAL;
	}
	/* A bucket holds one second's worth: below a datagram's size nothing
	 * full-sized would ever pass. */
	if ((c->max_bps && c->max_bps < 2048) || (c->bps_capacity && c->bps_capacity < 2048)) {
		snprintf(err, errlen,
			 "max-bps and bps-capacity must be 0 (no limit) or at least 2048");
		return TP_EINVAL;
	}
	if (c->nonce_secret && !c->nonce_secret[0]) {
		snprintf(err, errlen, "nonce-secret is empty: anyone could forge nonces");
		return TP_EINVAL;
	}
	if (!c->cert != !c->pkey) {
		snprintf(err, errlen, "cert and pkey go together: set both or neither");
		return TP_EINVAL;
	}
	if (!c->http_cert != !c->http_pkey) {
		snprintf(err, errlen, "http-cert and http-pkey go together: set both or neither");
		return TP_EINVAL;
	}
	if (c->cert && !c->no_tls && !c->no_tcp && c->tls_listening_port == c->listening_port) {
		snprintf(err, errlen, "tls-listening-port %ld is also listening-port",
			 c->tls_listening_port);
		return TP_EINVAL;
	}
	if (c->cert && !c->no_dtls && !c->no_udp && c->tls_listening_port == c->listening_port) {
		snprintf(err, errlen, "tls-listening-port %ld is also listening-port (UDP, DTLS)",
			 c->tls_listening_port);
		return TP_EINVAL;
	}
	if (c->no_auth && (c->user.n || c->use_auth_secret)) {
		snprintf(err, errlen, "no-auth cannot be combined with user or use-auth-secret");
		return TP_EINVAL;
	}
	return 0;
}
