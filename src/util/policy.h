/* policy.h - the peer-address policy: the one function that decides whether
 * the relay may talk to an address (RFC 8656 §17, and where TURN servers get
 * broken into). Canonicalises embedded-IPv4 forms before every check. */
#ifndef TURNPIKE_UTIL_POLICY_H
#define TURNPIKE_UTIL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An inclusive address range; IPv4 kept as IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * so one comparison serves both families. */
struct ip_range {
	uint8_t lo[16];
	uint8_t hi[16];
};

/* Why an address was refused (for counters and logs). */
enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY_LOOPBACK,    /* 127/8, ::1 */
	POLICY_DENY_UNSPECIFIED, /* 0/8, :: */
	POLICY_DENY_LINK_LOCAL,  /* 169.254/16 (incl. metadata), fe80::/10 */
	POLICY_DENY_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
	POLICY_DENY_CGNAT,       /* 100.64/10 */
	POLICY_DENY_MULTICAST,   /* 224/4, 255.255.255.255, ff00::/8 */
	POLICY_DENY_RESERVED,    /* 240/4, docs, benchmarking, 192.0.0/24, ... */
	POLICY_DENY_TUNNEL,      /* 6to4 2002::/16, Teredo 2001::/32 */
	POLICY_DENY_SELF,        /* one of our own addresses */
	POLICY_DENY_OPERATOR,    /* denied-peer-ip */
	POLICY_DENY_FAMILY,      /* not IPv4/IPv6 */
	POLICY_VERDICT_MAX
};

struct peer_policy {
	struct ip_range *denied; /* denied-peer-ip */
	size_t ndenied;
	struct ip_range *allowed; /* allowed-peer-ip: overrides every deny */
	size_t nallowed;
	/* allow-loopback-peers (local tests): every loopback address (127/8,
	 * ::1, in any spelling) is a peer, our own included, on any port but
	 * our listening ports (self_ports), which stay refused on all of them. */
	bool allow_loopback;
	/* Our own addresses: listening and relay IPs (and external IPs). A peer
	 * on one of them is refused, except on a port in the relay range
	 * [relay_port_min, relay_port_max], so two clients of this server can
	 * relay to each other (two browsers on one TURN server). A wildcard
	 * entry (0.0.0.0 or ::) stands for every address of the host, which the
	 * caller lists explicitly instead. */
	struct ip_range *self;
	size_t nself;
	/* Listening ports (STUN/TURN over UDP and TCP, HTTP): never relayed
	 * to on our own addresses, nor on loopback with allow_loopback. */
	uint16_t *self_ports;
	size_t nself_ports;
	uint16_t relay_port_min, relay_port_max;
};

/*
 * Parses "a.b.c.d", "a.b.c.d/len", "a.b.c.d-e.f.g.h", the same for IPv6
 * ("2001:db8::/32", "::1", "fe80::1-fe80::ff"). Host bits under a prefix are
 * ignored; blanks around the text, the '/' and the '-' are tolerated.
 * Returns 0 or TP_EINVAL (also for lo > hi and mixed families; *out is then
 * zeroed). A range written in IPv6 that covers ::ffff:0:0/96 also covers
 * the IPv4 addresses in it ("::/0" is every address).
 */
int policy_range_parse(const char *s, struct ip_range *out);
/* Whether sa (in its canonical form, see policy_canonicalize) lies in one
 * of the n ranges. */
bool policy_in_ranges(const struct ip_range *r, size_t n, const struct sockaddr *sa);

/*
 * Canonical form of an address for checks: IPv4-mapped (::ffff:0:0/96),
 * IPv4-compatible (::/96 except :: and ::1), IPv4-translated
 * (::ffff:0:0:0/96) and NAT64 (64:ff9b::/96, and 64:ff9b:1::/96 in the
 * local-use 64:ff9b:1::/48, with the IPv4 in the last 32 bits) IPv6
 * addresses become the IPv4 address they carry (a fresh sockaddr_in: scope
 * id and flow label are dropped); everything else is copied. The rest of
 * 64:ff9b:1::/48 uses an RFC 6052 layout we cannot know, so it stays IPv6
 * and policy_check refuses it as RESERVED. The port is kept. out may
 * alias in.
 */
void policy_canonicalize(const struct sockaddr *in, struct sockaddr_storage *out);

/*
 * The embedded IPv4 of a 6to4 (2002:AABB:CCDD::/48) or Teredo
 * (2001:0::/32; server IPv4 in bits 32..63, client IPv4 in the last 32 bits
 * XOR 0xffffffff) address, in host byte order; for Teredo v4[0] is the
 * server and v4[1] the client. Returns the number written to v4 (0, 1 or 2).
 */
size_t policy_tunnel_v4(const struct sockaddr *in, uint32_t v4[2]);

/*
 * Decides for a peer address (with port). First the address is
 * canonicalised. A 6to4 or Teredo address has each embedded IPv4 checked as
 * an address of its own first (any refusal refuses the whole). Then, for
 * the address itself: the operator's allowed-peer-ip → ALLOW; denied-peer-ip
 * (matched against both the canonical address and the address as written,
 * so "64:ff9b::/96" refuses NAT64 peers) → DENY_OPERATOR; with
 * allow_loopback, a loopback address on a listening port → DENY_SELF and on
 * any other port → ALLOW, whether or not it is one of ours; one of our own
 * addresses → DENY_SELF (unless the port is in the relay range and is no
 * listening port; min == max == 0 means no relay range); the built-in
 * classes (6to4 and Teredo as TUNNEL) → DENY_*; else ALLOW. Scope id and flow label are ignored; other families
 * (and a NULL peer) → DENY_FAMILY; a NULL p means the built-in classes
 * only. Pure, O(ranges), no allocation: it runs for every CreatePermission,
 * ChannelBind and Send, and inbound peer data goes through the permissions
 * it granted.
 */
enum policy_verdict policy_check(const struct peer_policy *p, const struct sockaddr *peer);

/*
 * Whether the verdict for the address (canonicalised), or for an IPv4 a
 * 6to4 or Teredo address leads to, depends on the port: one of our own
 * addresses, or with allow_loopback any loopback address. A permission
 * granted for it must have every packet checked again with policy_check.
 * False for a NULL p or another family. Pure, no allocation.
 */
bool policy_is_self(const struct peer_policy *p, const struct sockaddr *sa);

const char *policy_verdict_name(enum policy_verdict v);

/* Builds a policy from lists of range strings (NULL-safe), copying them.
 * Returns 0, TP_EINVAL with the offending string in *bad (bad may be NULL),
 * or TP_ENOMEM; on failure p is left empty. */
int policy_init(struct peer_policy *p, const char *const *denied, size_t ndenied,
		const char *const *allowed, size_t nallowed, bool allow_loopback, const char **bad);
/* Adds one of our own addresses (IP only, canonicalised; the port is
 * ignored) or listening ports; duplicates are skipped. Return 0, TP_EINVAL
 * (not IPv4/IPv6) or TP_ENOMEM. */
int policy_add_self(struct peer_policy *p, const struct sockaddr *sa);
int policy_add_self_port(struct peer_policy *p, uint16_t port);
/* Frees what policy_init and policy_add_self* allocated and zeroes p;
 * p == NULL is a no-op. */
void policy_cleanup(struct peer_policy *p);

#endif
