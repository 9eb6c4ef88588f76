/* servers.h - the STUN and TURN servers turnpike-peer gathers through
 * (issue 11): from stun:/turn:/turns: URIs (RFC 7064, RFC 7065) with
 * --user/--password, or from the JSON turnpiked's REST hook returns (its
 * WebRTC iceServers form and the draft-uberti form), read from a file,
 * stdin ("-") or fetched from an http(s) URL. */
#ifndef TURNPIKE_PEER_SERVERS_H
#define TURNPIKE_PEER_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define PEER_SERVERS_MAX 16

enum peer_server_kind {
	PEER_SRV_STUN = 0,
	PEER_SRV_TURN
};
/* How the agent reaches the server: turn:?transport=udp, =tcp, turns:. */
enum peer_server_transport {
	PEER_SRV_UDP = 0,
	PEER_SRV_TCP,
	PEER_SRV_TLS
};

struct peer_server {
	enum peer_server_kind kind;
	enum peer_server_transport transport;
	struct sockaddr_storage addr; /* resolved; default port 3478 / 5349 */
	char host[256];               /* as in the URI: TLS server name */
	char username[514];           /* TURN only */
	char credential[256];
	char uri[300]; /* as given, for logs and the report */
};

struct peer_servers {
	struct peer_server s[PEER_SERVERS_MAX];
	size_t n;
};

/* Adds one URI (user/pass may be NULL for stun:). A host name is resolved
 * (numeric forms first; IPv6 in brackets). Returns 0, TP_EINVAL with a
 * reason in err, TP_ETOOMANY. */
int peer_servers_add_uri(struct peer_servers *ss, const char *uri, const char *user,
			 const char *pass, char *err, size_t errlen);

/* Adds every URL of a JSON document: {"iceServers":[{"urls":..,
 * "username":..,"credential":..}]} (urls a string or an array), a bare
 * array of such objects, or draft-uberti {"username","password","ttl",
 * "uris":[..]}. Unknown members are ignored; URLs this agent cannot use
 * are skipped. Returns 0, TP_EMALFORMED (err: where), TP_ENOTFOUND (no
 * usable server), TP_ENOMEM. All or nothing: on an error none is added. */
int peer_servers_add_json(struct peer_servers *ss, const char *json, size_t len, char *err,
			  size_t errlen);

/* --ice-servers SRC: a file, "-" (stdin), or an http:// or https:// URL
 * (GET, bounded by timeout_ms; https verifies the server certificate
 * against the system store unless insecure). Returns as above, plus
 * TP_ESYS / TP_ETIMEDOUT for the fetch. */
int peer_servers_load(struct peer_servers *ss, const char *src, int timeout_ms, bool insecure,
		      char *err, size_t errlen);

#endif
