/* policy.c - the peer-address policy: canonical forms, the built-in deny
 * classes (IANA IPv4/IPv6 special-purpose registries, RFC 6890), operator
 * ranges and our own addresses (RFC 8656, Security Considerations). */
#include "util/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/err.h"

/* Longest range text we look at: two padded IPv6 literals, a separator and
 * some blanks; anything longer is not a range. */
#define RANGE_TEXT_MAX (2 * INET6_ADDRSTRLEN + 16)

/* A built-in class: a prefix of the canonical 16-byte key. IPv4 prefixes are
 * written as IPv4-mapped (::ffff:a.b.c.d, length 96 + n). */
struct builtin {
	uint8_t net[16];
	uint8_t len;
	uint8_t verdict;
};

#define V4(a, b, c, d, n, v)                                                        \
	{                                                                           \
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d}, 96 + (n), v \
	}

/* IPv4, first match wins (IANA IPv4 Special-Purpose Address Registry). */
static const struct builtin v4_classes[] = {
	V4(0, 0, 0, 0, 8, POLICY_DENY_UNSPECIFIED),     /* RFC 791 "this network" */
	V4(127, 0, 0, 0, 8, POLICY_DENY_LOOPBACK),      /* RFC 1122 §3.2.1.3 */
	V4(169, 254, 0, 0, 16, POLICY_DENY_LINK_LOCAL), /* RFC 3927; cloud metadata */
	V4(10, 0, 0, 0, 8, POLICY_DENY_PRIVATE),        /* RFC 1918 */
	V4(172, 16, 0, 0, 12, POLICY_DENY_PRIVATE),     /* RFC 1918 */
	V4(192, 168, 0, 0, 16, POLICY_DENY_PRIVATE),    /* RFC 1918 */
	V4(100, 64, 0, 0, 10, POLICY_DENY_CGNAT),       /* RFC 6598 */
	V4(224, 0, 0, 0, 4, POLICY_DENY_MULTICAST),     /* RFC 5771 */
	/* Limited broadcast, before 240/4 so it is counted as multicast. */
	V4(255, 255, 255, 255, 32, POLICY_DENY_MULTICAST), /* RFC 919 */
	V4(240, 0, 0, 0, 4, POLICY_DENY_RESERVED),         /* RFC 1112 §4 */
	V4(192, 0, 0, 0, 24, POLICY_DENY_RESERVED),        /* RFC 6890 IETF protocol assignments */
	V4(192, 0, 2, 0, 24, POLICY_DENY_RESERVED),        /* RFC 5737 TEST-NET-1 */
	V4(198, 51, 100, 0, 24, POLICY_DENY_RESERVED),     /* RFC 5737 TEST-NET-2 */
	V4(203, 0, 113, 0, 24, POLICY_DENY_RESERVED),      /* RFC 5737 TEST-NET-3 */
	V4(198, 18, 0, 0, 15, POLICY_DENY_RESERVED),       /* RFC 2544 benchmarking */
	V4(192, 88, 99, 0, 24, POLICY_DENY_RESERVED),      /* RFC 7526 6to4 relay anycast */
};

/* IPv6 keys (never in ::ffff:0:0/96, which canonical IPv4 occupies), first
 * match wins (IANA IPv6 Special-Purpose Address Registry); what matches none
 * and lies outside 2000::/3 is RESERVED (see builtin_class). */
static const struct builtin v6_classes[] = {
	{{0}, 128, POLICY_DENY_UNSPECIFIED},          /* ::/128, RFC 4291 */
	{{[15] = 1}, 128, POLICY_DENY_LOOPBACK},      /* ::1/128, RFC 4291 */
	{{0xfe, 0x80}, 10, POLICY_DENY_LINK_LOCAL},   /* fe80::/10, RFC 4291 */
	{{0xfc}, 7, POLICY_DENY_PRIVATE},             /* fc00::/7, RFC 4193 */
	{{0xff}, 8, POLICY_DENY_MULTICAST},           /* ff00::/8, RFC 4291 */
	{{0x20, 0x01, 0, 0}, 32, POLICY_DENY_TUNNEL}, /* Teredo, RFC 4380 */
	{{0x20, 0x02}, 16, POLICY_DENY_TUNNEL},       /* 6to4, RFC 3056 */
	/* Inside 2000::/3. 2001::/23 (IETF protocol assignments, RFC 2928)
	 * holds benchmarking 2001:2::/48 (RFC 5180), ORCHID 2001:10::/28 and
	 * ORCHIDv2 2001:20::/28 (RFC 7343), DRIP 2001:30::/28 and a few
	 * anycast services: refused whole, like 192.0.0.0/24. */
	{{0x20, 0x01, 0x0d, 0xb8}, 32, POLICY_DENY_RESERVED}, /* RFC 3849 documentation */
	{{0x20, 0x01, 0x00, 0x00}, 23, POLICY_DENY_RESERVED}, /* RFC 2928 */
	{{0x3f, 0xff, 0x00}, 20, POLICY_DENY_RESERVED},       /* RFC 9637 documentation */
	{{0x5f, 0x00}, 16, POLICY_DENY_RESERVED},             /* RFC 9602 SRv6 SIDs */
	/* Outside 2000::/3, so also caught below; listed to say why. What
	 * canonicalisation leaves of the embedded-IPv4 blocks: other NAT64
	 * layouts (RFC 6052 §2.2) cannot be decoded without knowing the
	 * prefix length, so they are refused rather than guessed at. */
	{{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64, POLICY_DENY_RESERVED},       /* RFC 6666 discard */
	{{0}, 96, POLICY_DENY_RESERVED},                                  /* RFC 4291 §2.5.5.1 */
	{{[10] = 0xff, [11] = 0xff}, 96, POLICY_DENY_RESERVED},           /* RFC 4291 §2.5.5.2 */
	{{[8] = 0xff, [9] = 0xff}, 96, POLICY_DENY_RESERVED},             /* RFC 2765 translated */
	{{0x00, 0x64, 0xff, 0x9b}, 32, POLICY_DENY_RESERVED},             /* RFC 6052 beyond /96 */
	{{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, POLICY_DENY_RESERVED}, /* RFC 8215 */
	{{0xfe, 0xc0}, 10, POLICY_DENY_RESERVED},                         /* RFC 3879 site-local */
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Byte i of the netmask of a /len prefix. */
static uint8_t prefix_mask(unsigned len, unsigned i)
{
	unsigned bits = len > 8 * i ? len - 8 * i : 0;

	return bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
}

/* Whether a lies under the prefix net/len: the whole bytes, then the bits
 * of the partial one. Peer addresses are no secret: an early exit is fine,
 * and this runs for every datagram from a peer on one of our own addresses. */
static bool prefix_match(const uint8_t a[16], const uint8_t net[16], unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net[full]) & (0xff00u >> rest) & 0xffu) == 0;
}

/* prefix_match for two IPv4-mapped keys (len >= 96): the last 32 bits. */
static bool v4_match(const uint8_t a[16], const uint8_t net[16], unsigned len)
{
	uint32_t x = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
	uint32_t y = (uint32_t)net[12] << 24 | (uint32_t)net[13] << 16 | (uint32_t)net[14] << 8 |
		     net[15];
	unsigned bits = len - 96;
	uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;

	return ((x ^ y) & mask) == 0;
}

static bool in_range(const uint8_t a[16], const struct ip_range *r)
{
	return memcmp(a, r->lo, 16) >= 0 && memcmp(a, r->hi, 16) <= 0;
}

static bool in_ranges(const uint8_t a[16], const struct ip_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in_range(a, &r[i]))
			return true;
	return false;
}

static const uint8_t mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

/* The IPv4 an IPv6 address carries in its last 32 bits, if it is one of the
 * forms policy.h lists. */
static bool embedded_v4(const uint8_t a[16])
{
	static const uint8_t zero[12];
	static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
	static const uint8_t nat64_wkp[12] = {0x00, 0x64, 0xff, 0x9b};
	static const uint8_t nat64_local[12] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};

	if (memcmp(a, mapped_prefix, 12) == 0) /* RFC 4291 §2.5.5.2 */
		return true;
	if (memcmp(a, translated, 12) == 0) /* RFC 2765 §2.1 */
		return true;
	if (memcmp(a, nat64_wkp, 12) == 0) /* RFC 6052 §2.1 */
		return true;
	if (memcmp(a, nat64_local, 12) == 0) /* RFC 8215, /96 layout */
		return true;
	if (memcmp(a, zero, 12) == 0) /* RFC 4291 §2.5.5.1 */
		return !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1);
	return false;
}

/* The key of an IPv4 in host byte order. */
static void v4_key(uint32_t v4, uint8_t key[16])
{
	memcpy(key, mapped_prefix, 12);
	key[12] = (uint8_t)(v4 >> 24);
	key[13] = (uint8_t)(v4 >> 16);
	key[14] = (uint8_t)(v4 >> 8);
	key[15] = (uint8_t)v4;
}

/* The canonical 16-byte key of an address (IPv4 as ::ffff:a.b.c.d) and its
 * port. Returns false for other families. */
static bool key_of(const struct sockaddr *sa, uint8_t key[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		memcpy(key, mapped_prefix, 12);
		memcpy(key + 12, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(key, &sin6->sin6_addr, 16);
		if (embedded_v4(key))
			memcpy(key, mapped_prefix, 12);
		*port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

void policy_canonicalize(const struct sockaddr *in, struct sockaddr_storage *out)
{
	sa_family_t family = in->sa_family;

	if (family == AF_INET6 &&
	    embedded_v4(((const struct sockaddr_in6 *)in)->sin6_addr.s6_addr)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)in;
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = sin6->sin6_port;
		memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
		memset(out, 0, sizeof(*out));
		memcpy(out, &sin, sizeof(sin));
		return;
	}

	/* Copied: staged through a local because out may alias in. */
	struct sockaddr_storage tmp;
	size_t len = family == AF_INET    ? sizeof(struct sockaddr_in)
		     : family == AF_INET6 ? sizeof(struct sockaddr_in6)
					  : sizeof(struct sockaddr);
	memset(&tmp, 0, sizeof(tmp));
	memcpy(&tmp, in, len);
	memcpy(out, &tmp, sizeof(tmp));
}

size_t policy_tunnel_v4(const struct sockaddr *in, uint32_t v4[2])
{
	const uint8_t *a;

	if (in->sa_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)in)->sin6_addr.s6_addr;
	if (a[0] == 0x20 && a[1] == 0x02) { /* RFC 3056 §2 */
		v4[0] = (uint32_t)a[2] << 24 | (uint32_t)a[3] << 16 | (uint32_t)a[4] << 8 | a[5];
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) { /* RFC 4380 §4 */
		v4[0] = (uint32_t)a[4] << 24 | (uint32_t)a[5] << 16 | (uint32_t)a[6] << 8 | a[7];
		v4[1] = ~((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 |
			  a[15]);
		return 2;
	}
	return 0;
}

/* The built-in class of a canonical key; POLICY_ALLOW when none applies. */
static enum policy_verdict builtin_class(const uint8_t key[16], bool allow_loopback)
{
	const struct builtin *t = v6_classes;
	size_t n = NELEM(v6_classes);
	bool v4 = memcmp(key, mapped_prefix, 12) == 0;

	if (v4) {
		t = v4_classes;
		n = NELEM(v4_classes);
	}
	for (size_t i = 0; i < n; i++) {
		if (v4 ? !v4_match(key, t[i].net, t[i].len)
		       : !prefix_match(key, t[i].net, t[i].len))
			continue;
		if (t[i].verdict == POLICY_DENY_LOOPBACK && allow_loopback)
			return POLICY_ALLOW;
		return (enum policy_verdict)t[i].verdict;
	}
	/* RFC 4291 §2.4: only 2000::/3 is global unicast; the rest is
	 * unassigned or special and no peer of ours. */
	if (!v4 && (key[0] & 0xe0) != 0x20)
		return POLICY_DENY_RESERVED;
	return POLICY_ALLOW;
}

/* 127.0.0.0/8 or ::1, as a canonical key (RFC 1122 §3.2.1.3, RFC 4291). */
static bool loopback_key(const uint8_t key[16])
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (memcmp(key, mapped_prefix, 12) == 0)
		return key[12] == 127;
	return memcmp(key, v6_loopback, 16) == 0;
}

static bool listening_port(const struct peer_policy *p, uint16_t port)
{
	for (size_t i = 0; i < p->nself_ports; i++)
		if (p->self_ports[i] == port)
			return true;
	return false;
}

/* Whether the verdict for this address depends on the port: one of our own
 * addresses, or any loopback address when allow-loopback-peers is on. */
static bool port_checked(const struct peer_policy *p, const uint8_t key[16])
{
	return (p->allow_loopback && loopback_key(key)) || in_ranges(key, p->self, p->nself);
}

static bool is_self(const struct peer_policy *p, const uint8_t key[16], uint16_t port)
{
	/* allow-loopback-peers: every loopback address is a peer, ours
	 * included (a test peer beside a server on 127.0.0.1), except our
	 * listening ports, on whichever loopback address they are asked for
	 * (a wildcard listener answers on all of 127/8). */
	if (p->allow_loopback && loopback_key(key))
		return listening_port(p, port);
	if (!in_ranges(key, p->self, p->nself))
		return false;
	/* RFC 8656 leaves this to the server: our relay ports are where other
	 * clients' allocations live, our listening ports never are. */
	if (p->relay_port_max == 0 || port < p->relay_port_min || port > p->relay_port_max)
		return true;
	return listening_port(p, port);
}

/* Everything after the tunnel step, for one canonical key. raw is the key
 * as written (before canonicalisation) for denied-peer-ip. */
static enum policy_verdict check_key(const struct peer_policy *p, const uint8_t key[16],
				     const uint8_t raw[16], uint16_t port)
{
	if (in_ranges(key, p->allowed, p->nallowed))
		return POLICY_ALLOW;
	if (in_ranges(key, p->denied, p->ndenied) || in_ranges(raw, p->denied, p->ndenied))
		return POLICY_DENY_OPERATOR;
	if (is_self(p, key, port))
		return POLICY_DENY_SELF;
	return builtin_class(key, p->allow_loopback);
}

enum policy_verdict policy_check(const struct peer_policy *p, const struct sockaddr *peer)
{
	static const struct peer_policy none;
	uint8_t key[16], raw[16];
	uint32_t v4[2];
	uint16_t port;
	size_t n;

	if (!p)
		p = &none;
	if (!peer || !key_of(peer, key, &port))
		return POLICY_DENY_FAMILY;
	if (peer->sa_family == AF_INET6)
		memcpy(raw, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
	else
		memcpy(raw, key, 16);

	/* RFC 3056 §2 / RFC 4380 §4: the IPv4s a tunnel address leads to
	 * are peers as well, each judged as an address of its own. */
	n = policy_tunnel_v4(peer, v4);
	for (size_t i = 0; i < n; i++) {
		uint8_t k4[16];
		enum policy_verdict v;

		v4_key(v4[i], k4);
		v = check_key(p, k4, k4, port);
		if (v != POLICY_ALLOW)
			return v;
	}
	return check_key(p, key, raw, port);
}

bool policy_is_self(const struct peer_policy *p, const struct sockaddr *sa)
{
	uint8_t key[16];
	uint32_t v4[2];
	uint16_t port;
	size_t n;

	if (!p || !sa || !key_of(sa, key, &port))
		return false;
	if (port_checked(p, key))
		return true;
	n = policy_tunnel_v4(sa, v4);
	for (size_t i = 0; i < n; i++) {
		v4_key(v4[i], key);
		if (port_checked(p, key))
			return true;
	}
	return false;
}

const char *policy_verdict_name(enum policy_verdict v)
{
	static const char *const names[POLICY_VERDICT_MAX] = {
		[POLICY_ALLOW] = "allow",
		[POLICY_DENY_LOOPBACK] = "loopback",
		[POLICY_DENY_UNSPECIFIED] = "unspecified",
		[POLICY_DENY_LINK_LOCAL] = "link_local",
		[POLICY_DENY_PRIVATE] = "private",
		[POLICY_DENY_CGNAT] = "cgnat",
		[POLICY_DENY_MULTICAST] = "multicast",
		[POLICY_DENY_RESERVED] = "reserved",
		[POLICY_DENY_TUNNEL] = "tunnel",
		[POLICY_DENY_SELF] = "self",
		[POLICY_DENY_OPERATOR] = "operator",
		[POLICY_DENY_FAMILY] = "family",
	};

	if ((unsigned)v >= POLICY_VERDICT_MAX || !names[v])
		return "unknown";
	return names[v];
}

/* One address literal, bytes into a[16] (IPv4 mapped). Returns AF_INET,
 * AF_INET6 or 0. */
static int parse_ip(const char *s, size_t len, uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr in4;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &in4) == 1) {
		memcpy(a, mapped_prefix, 12);
		memcpy(a + 12, &in4, 4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, buf, a) == 1)
		return AF_INET6;
	return 0;
}

/* A prefix length: 1 to 3 decimal digits with optional blanks around. */
static int parse_len(const char *s, unsigned max, unsigned *len)
{
	unsigned v = 0, digits = 0;

	while (isspace((unsigned char)*s))
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 3)
			return TP_EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	while (isspace((unsigned char)*s))
		s++;
	if (digits == 0 || *s != '\0' || v > max)
		return TP_EINVAL;
	*len = v;
	return 0;
}

int policy_range_parse(const char *s, struct ip_range *out)
{
	const char *slash, *dash;
	int rc = TP_EINVAL;

	memset(out, 0, sizeof(*out));
	if (!s || strnlen(s, RANGE_TEXT_MAX + 1) > RANGE_TEXT_MAX)
		return TP_EINVAL;
	slash = strchr(s, '/');
	dash = strchr(s, '-');
	if (slash && (dash || strchr(slash + 1, '/')))
		goto out;
	if (dash && strchr(dash + 1, '-'))
		goto out;

	if (slash) {
		int fam = parse_ip(s, (size_t)(slash - s), out->lo);
		unsigned len;
		if (!fam || parse_len(slash + 1, fam == AF_INET ? 32 : 128, &len) != 0)
			goto out;
		if (fam == AF_INET)
			len += 96;
		for (unsigned i = 0; i < 16; i++) {
			uint8_t mask = prefix_mask(len, i);
			out->lo[i] &= mask;
			out->hi[i] = out->lo[i] | (uint8_t)~mask;
		}
	} else if (dash) {
		int fam_lo = parse_ip(s, (size_t)(dash - s), out->lo);
		int fam_hi = parse_ip(dash + 1, strlen(dash + 1), out->hi);
		if (!fam_lo || fam_lo != fam_hi || memcmp(out->lo, out->hi, 16) > 0)
			goto out;
	} else {
		if (!parse_ip(s, strlen(s), out->lo))
			goto out;
		memcpy(out->hi, out->lo, 16);
	}
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* Parses n strings into a fresh array; on failure *bad names the culprit. */
static int parse_list(const char *const *list, size_t n, struct ip_range **out, size_t *nout,
		      const char **bad)
{
	struct ip_range *r;

	*out = NULL;
	*nout = 0;
	if (!list || n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*r))
		return TP_ENOMEM;
	r = calloc(n, sizeof(*r));
	if (!r)
		return TP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (policy_range_parse(list[i], &r[i]) != 0) {
			if (bad)
				*bad = list[i];
			free(r);
			return TP_EINVAL;
		}
	}
	*out = r;
	*nout = n;
	return 0;
}

int policy_init(struct peer_policy *p, const char *const *denied, size_t ndenied,
		const char *const *allowed, size_t nallowed, bool allow_loopback, const char **bad)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (bad)
		*bad = NULL;
	p->allow_loopback = allow_loopback;
	rc = parse_list(denied, ndenied, &p->denied, &p->ndenied, bad);
	if (rc != 0)
		goto out;
	rc = parse_list(allowed, nallowed, &p->allowed, &p->nallowed, bad);
out:
	if (rc != 0)
		policy_cleanup(p);
	return rc;
}

int policy_add_self(struct peer_policy *p, const struct sockaddr *sa)
{
	struct ip_range *r;
	uint8_t key[16];
	uint16_t port;

	if (!sa || !key_of(sa, key, &port))
		return TP_EINVAL;
	if (in_ranges(key, p->self, p->nself))
		return 0;
	if (p->nself >= SIZE_MAX / sizeof(*r) - 1)
		return TP_ENOMEM;
	r = realloc(p->self, (p->nself + 1) * sizeof(*r));
	if (!r)
		return TP_ENOMEM;
	memcpy(r[p->nself].lo, key, 16);
	memcpy(r[p->nself].hi, key, 16);
	p->self = r;
	p->nself++;
	return 0;
}

int policy_add_self_port(struct peer_policy *p, uint16_t port)
{
	uint16_t *ports;

	for (size_t i = 0; i < p->nself_ports; i++)
		if (p->self_ports[i] == port)
			return 0;
	if (p->nself_ports >= SIZE_MAX / sizeof(*ports) - 1)
		return TP_ENOMEM;
	ports = realloc(p->self_ports, (p->nself_ports + 1) * sizeof(*ports));
	if (!ports)
		return TP_ENOMEM;
	ports[p->nself_ports++] = port;
	p->self_ports = ports;
	return 0;
}

void policy_cleanup(struct peer_policy *p)
{
	if (!p)
		return;
	free(p->denied);
	free(p->allowed);
	free(p->self);
	free(p->self_ports);
	memset(p, 0, sizeof(*p));
}

bool policy_in_ranges(const struct ip_range *r, size_t n, const struct sockaddr *sa)
{
	uint8_t key[16];
	uint16_t port;

	return key_of(sa, key, &port) && in_ranges(key, r, n);
}
