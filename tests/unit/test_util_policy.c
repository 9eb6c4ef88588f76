/* test_util_policy.c - unit tests for src/util/policy.c: every built-in class
 * at its edges, every embedded-IPv4 spelling, tunnels, operator ranges, our
 * own addresses, range parsing and canonical forms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "check.h"
#include "turnpike/err.h"
#include "util/addr.h"
#include "util/policy.h"

#define SA(ss) ((struct sockaddr *)(ss))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	A = POLICY_ALLOW,
	LOOP = POLICY_DENY_LOOPBACK,
	UNSP = POLICY_DENY_UNSPECIFIED,
	LL = POLICY_DENY_LINK_LOCAL,
	PRIV = POLICY_DENY_PRIVATE,
	CGN = POLICY_DENY_CGNAT,
	MC = POLICY_DENY_MULTICAST,
	RES = POLICY_DENY_RESERVED,
	TUN = POLICY_DENY_TUNNEL,
	SELF = POLICY_DENY_SELF,
	OPER = POLICY_DENY_OPERATOR,
	FAM = POLICY_DENY_FAMILY,
};

struct vcase {
	const char *addr;
	int verdict;
};

/* Checks the verdict for the literal s (with an optional ":port"/"[v6]:port"). */
static void expect_port(const struct peer_policy *p, const char *s, uint16_t port, int want)
{
	struct sockaddr_storage ss;
	int got, rc;

	rc = addr_parse(s, port, &ss);
	CHECK_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  (test address \"%s\" does not parse)\n", s);
		return;
	}
	got = (int)policy_check(p, SA(&ss));
	CHECK_INT(got, want);
	if (got != want)
		fprintf(stderr, "  (%s port %u: got %s, want %s)\n", s, port,
			policy_verdict_name((enum policy_verdict)got),
			policy_verdict_name((enum policy_verdict)want));
}

static void expect(const struct peer_policy *p, const char *s, int want)
{
	expect_port(p, s, 443, want);
}

static void expect_table(const struct peer_policy *p, const struct vcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect(p, t[i].addr, t[i].verdict);
}

/* Every built-in IPv4 class: start, middle, end, and both neighbours. */
static const struct vcase v4_cases[] = {
	/* LOOPBACK 127.0.0.0/8 */
	{"126.255.255.255", A},
	{"127.0.0.0", LOOP},
	{"127.0.0.1", LOOP},
	{"127.128.0.1", LOOP},
	{"127.255.255.255", LOOP},
	{"128.0.0.0", A},
	/* UNSPECIFIED 0.0.0.0/8 */
	{"0.0.0.0", UNSP},
	{"0.128.1.2", UNSP},
	{"0.255.255.255", UNSP},
	{"1.0.0.0", A},
	/* LINK_LOCAL 169.254.0.0/16, cloud metadata */
	{"169.253.255.255", A},
	{"169.254.0.0", LL},
	{"169.254.169.254", LL},
	{"169.254.255.255", LL},
	{"169.255.0.0", A},
	/* PRIVATE 10/8, 172.16/12, 192.168/16 */
	{"9.255.255.255", A},
	{"10.0.0.0", PRIV},
	{"10.128.0.1", PRIV},
	{"10.255.255.255", PRIV},
	{"11.0.0.0", A},
	{"172.15.255.255", A},
	{"172.16.0.0", PRIV},
	{"172.24.0.1", PRIV},
	{"172.31.255.255", PRIV},
	{"172.32.0.0", A},
	{"192.167.255.255", A},
	{"192.168.0.0", PRIV},
	{"192.168.1.1", PRIV},
	{"192.168.255.255", PRIV},
	{"192.169.0.0", A},
	/* CGNAT 100.64.0.0/10 */
	{"100.63.255.255", A},
	{"100.64.0.0", CGN},
	{"100.100.100.100", CGN},
	{"100.127.255.255", CGN},
	{"100.128.0.0", A},
	/* MULTICAST 224.0.0.0/4 and limited broadcast */
	{"223.255.255.255", A},
	{"224.0.0.0", MC},
	{"224.0.0.1", MC},
	{"232.1.2.3", MC},
	{"239.255.255.250", MC},
	{"239.255.255.255", MC},
	{"255.255.255.255", MC},
	/* RESERVED 240.0.0.0/4 (less the broadcast above) */
	{"240.0.0.0", RES},
	{"248.1.2.3", RES},
	{"255.255.255.254", RES},
	/* RESERVED 192.0.0.0/24 IETF protocol assignments */
	{"191.255.255.255", A},
	{"192.0.0.0", RES},
	{"192.0.0.10", RES},
	{"192.0.0.255", RES},
	{"192.0.1.0", A},
	/* RESERVED documentation 192.0.2/24, 198.51.100/24, 203.0.113/24 */
	{"192.0.1.255", A},
	{"192.0.2.0", RES},
	{"192.0.2.128", RES},
	{"192.0.2.255", RES},
	{"192.0.3.0", A},
	{"198.51.99.255", A},
	{"198.51.100.0", RES},
	{"198.51.100.77", RES},
	{"198.51.100.255", RES},
	{"198.51.101.0", A},
	{"203.0.112.255", A},
	{"203.0.113.0", RES},
	{"203.0.113.5", RES},
	{"203.0.113.255", RES},
	{"203.0.114.0", A},
	/* RESERVED benchmarking 198.18.0.0/15 */
	{"198.17.255.255", A},
	{"198.18.0.0", RES},
	{"198.18.255.255", RES},
	{"198.19.0.1", RES},
	{"198.19.255.255", RES},
	{"198.20.0.0", A},
	/* RESERVED 6to4 relay anycast 192.88.99.0/24 */
	{"192.88.98.255", A},
	{"192.88.99.0", RES},
	{"192.88.99.1", RES},
	{"192.88.99.255", RES},
	{"192.88.100.0", A},
	/* Public, including globally reachable special-purpose blocks. */
	{"8.8.8.8", A},
	{"1.1.1.1", A},
	{"9.9.9.9", A},
	{"192.31.196.1", A}, /* AS112 */
	{"192.175.48.6", A}, /* AS112 direct delegation */
	{"223.255.255.254", A},
};

/* Every built-in IPv6 class, edges, and what lies outside 2000::/3. */
static const struct vcase v6_cases[] = {
	{"::", UNSP},
	{"0:0:0:0:0:0:0:0", UNSP},
	{"::1", LOOP},
	{"0000:0000:0000:0000:0000:0000:0000:0001", LOOP},
	/* LINK_LOCAL fe80::/10 */
	{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"fe80::", LL},
	{"fe80::1", LL},
	{"FE80::ABCD:1", LL},
	{"fe9a::1", LL},
	{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LL},
	{"fec0::1", RES}, /* deprecated site-local, RFC 3879 */
	/* PRIVATE fc00::/7 */
	{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"fc00::", PRIV},
	{"fc00::1", PRIV},
	{"fd12::1", PRIV},
	{"fd00:ec2::254", PRIV}, /* AWS IMDS over IPv6 */
	{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PRIV},
	{"fe00::", RES},
	/* MULTICAST ff00::/8 */
	{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"ff00::", MC},
	{"ff02::1", MC},
	{"ff0e::fb", MC},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MC},
	/* RESERVED documentation 2001:db8::/32 */
	{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", A},
	{"2001:db8::", RES},
	{"2001:db8::1", RES},
	{"2001:DB8:8000::1", RES},
	{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"2001:db9::", A},
	/* RESERVED 2001::/23 less Teredo: benchmarking, ORCHID, ORCHIDv2 */
	{"2001:1::1", RES},
	{"2001:2::", RES},
	{"2001:2:0:ffff::1", RES},
	{"2001:10::", RES},
	{"2001:10::1", RES},
	{"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"2001:20::1", RES},
	{"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"2001:200::", A},
	{"2001:200::1", A},
	/* RESERVED documentation 3fff::/20 (RFC 9637) */
	{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A},
	{"3fff::", RES},
	{"3fff:800::1", RES},
	{"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"3fff:1000::", A},
	{"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A},
	/* RESERVED SRv6 5f00::/16, discard 100::/64 and all else outside
	 * 2000::/3 */
	{"5f00::", RES},
	{"5f00:1234::1", RES},
	{"5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"100::", RES},
	{"100::ffff:ffff:ffff:ffff", RES},
	{"100:0:0:1::1", RES},
	{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	{"2000::", A},
	{"4000::", RES},
	{"8000::1", RES},
	{"e000::1", RES},
	{"::1:0:0:0", RES},
	{"::fffe:808:808", RES},
	{"::1:ffff:808:808", RES},
	{"0:0:0:1::", RES},
	/* Public */
	{"2001:4860:4860::8888", A},
	{"2606:4700::1111", A},
	{"2a00:1450:4001::1", A},
	{"2620:4f:8000::1", A}, /* AS112 */
};

/* Every spelling of an embedded IPv4 lands in the IPv4's class. */
static const struct vcase embedded_cases[] = {
	/* IPv4-mapped ::ffff:0:0/96 */
	{"::ffff:127.0.0.1", LOOP},
	{"::ffff:7f00:1", LOOP},
	{"0:0:0:0:0:FFFF:7F00:0001", LOOP},
	{"0000:0000:0000:0000:0000:ffff:7f00:0001", LOOP},
	{"::FFFF:A9FE:A9FE", LL},
	{"::ffff:169.254.169.254", LL},
	{"::ffff:10.0.0.1", PRIV},
	{"::ffff:100.64.0.1", CGN},
	{"::ffff:0.0.0.0", UNSP},
	{"::ffff:255.255.255.255", MC},
	{"::ffff:192.0.2.1", RES},
	{"::ffff:8.8.8.8", A},
	/* IPv4-compatible ::/96 (but :: and ::1 are themselves) */
	{"::127.0.0.1", LOOP},
	{"::7f00:1", LOOP},
	{"::169.254.169.254", LL},
	{"::10.0.0.1", PRIV},
	{"::0.0.0.2", UNSP},
	{"::0.1.0.0", UNSP},
	{"::8.8.8.8", A},
	/* IPv4-translated ::ffff:0:0:0/96 */
	{"::ffff:0:127.0.0.1", LOOP},
	{"::ffff:0:7f00:1", LOOP},
	{"::ffff:0:a9fe:a9fe", LL},
	{"::ffff:0:0:0", UNSP},
	{"::ffff:0:8.8.8.8", A},
	/* NAT64 well-known 64:ff9b::/96 */
	{"64:ff9b::127.0.0.1", LOOP},
	{"64:ff9b::7f00:1", LOOP},
	{"64:ff9b::a9fe:a9fe", LL},
	{"64:FF9B::A9FE:A9FE", LL},
	{"64:ff9b::10.0.0.1", PRIV},
	{"64:ff9b::", UNSP},
	{"64:ff9b::808:808", A},
	/* NAT64 local use 64:ff9b:1::/48: the /96 layout is decoded ... */
	{"64:ff9b:1::a00:1", PRIV},
	{"64:ff9b:1::127.0.0.1", LOOP},
	{"64:ff9b:1::808:808", A},
	/* ... other layouts are not guessed at */
	{"64:ff9b:1:abcd::808:808", RES},
	{"64:ff9b:1:0:0:1:808:808", RES},
	{"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", RES},
	{"64:ff9b:2::808:808", RES},
	{"64:ff9b::1:808:808", RES},
	{"64:ff9b:0:0:1::808:808", RES},
	{"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", RES},
	/* 6to4 2002::/16: the embedded IPv4 first, then TUNNEL */
	{"2002:7f00:1::", LOOP},
	{"2002:7f00:0001:1234:5678::1", LOOP},
	{"2002:a9fe:a9fe::", LL},
	{"2002:c0a8:101::1", PRIV},
	{"2002:6440:1::", CGN},
	{"2002:e000:1::", MC},
	{"2002::", UNSP},
	{"2002:c000:204::", RES},
	{"2002:0808:0808::", TUN},
	{"2002:808:808:ffff:ffff:ffff:ffff:ffff", TUN},
	{"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A},
	{"2003::", A},
	/* Teredo 2001::/32: server IPv4, then client IPv4 (inverted) */
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", RES},  /* client 192.0.2.45 */
	{"2001:0:4136:e378:8000:63bf:f5ff:fffe", PRIV}, /* client 10.0.0.1 */
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", LOOP}, /* client 127.0.0.1 */
	{"2001:0:4136:e378:8000:63bf:5601:5601", LL},   /* client 169.254.169.254 */
	{"2001:0:7f00:1:8000:63bf:f7f7:f7f7", LOOP},    /* server 127.0.0.1 */
	{"2001:0:a9fe:a9fe::", LL},                     /* server metadata */
	{"2001::", UNSP},                               /* server 0.0.0.0 */
	{"2001:0:808:808::", MC},                       /* client 255.255.255.255 */
	{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", TUN},  /* both public */
	{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", MC},   /* server broadcast */
	/* The same addresses spelled otherwise (security.sh's list) */
	{"0:0:0:0:0:FFFF:7F00:0001", LOOP},
	{"::FFFF:127.255.255.254", LOOP},
	{"64:FF9B:0:0:0:0:7F00:1", LOOP},
	{"64:ff9b:1:0:0:0:a9fe:a9fe", LL},
	{"2002:7F00:0001:0:0:0:0:0", LOOP},
	{"2001:0000:4136:e378:8000:63bf:80ff:fffe", LOOP},
};

static void test_builtin(void)
{
	expect_table(NULL, v4_cases, NELEM(v4_cases));
	expect_table(NULL, v6_cases, NELEM(v6_cases));
	expect_table(NULL, embedded_cases, NELEM(embedded_cases));

	/* An initialised empty policy is the same as none. */
	struct peer_policy p;
	CHECK_INT(policy_init(&p, NULL, 0, NULL, 0, false, NULL), 0);
	expect_table(&p, v4_cases, NELEM(v4_cases));
	expect_table(&p, v6_cases, NELEM(v6_cases));
	expect_table(&p, embedded_cases, NELEM(embedded_cases));
	policy_cleanup(&p);
}

/* Every embedded spelling of every IPv4 (sampled over all first octets and
 * the class edges) gets the same verdict as the IPv4 itself. */
static void test_embedded_sweep(void)
{
	static const uint8_t b_vals[] = {0,  1,  15,  16,  31,  32,  63,  64,
					 88, 99, 127, 128, 168, 169, 254, 255};
	static const uint8_t prefixes[][12] = {
		{[10] = 0xff, [11] = 0xff},           /* mapped */
		{0},                                  /* compatible */
		{[8] = 0xff, [9] = 0xff},             /* translated */
		{0x00, 0x64, 0xff, 0x9b},             /* NAT64 */
		{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, /* NAT64 local */
	};
	unsigned mismatches[NELEM(prefixes)] = {0}, tested = 0;
	struct peer_policy p;

	CHECK_INT(policy_init(&p, NULL, 0, NULL, 0, false, NULL), 0);
	CHECK_INT(policy_add_self_port(&p, 3478), 0);
	for (unsigned a = 0; a < 256; a++) {
		for (size_t bi = 0; bi < sizeof(b_vals); bi++) {
			for (unsigned low = 0; low < 4; low++) {
				struct sockaddr_in sin;
				struct sockaddr_in6 sin6;
				uint8_t v4[4] = {(uint8_t)a, b_vals[bi], (uint8_t)(low * 85),
						 (uint8_t)(low == 3 ? 255 : low)};
				enum policy_verdict want;

				memset(&sin, 0, sizeof(sin));
				sin.sin_family = AF_INET;
				sin.sin_port = htons(3478);
				memcpy(&sin.sin_addr, v4, 4);
				want = policy_check(&p, SA(&sin));
				for (size_t f = 0; f < NELEM(prefixes); f++) {
					if (f == 1 && !a && !v4[1] && !v4[2] && v4[3] <= 1)
						continue; /* :: and ::1 are themselves */
					memset(&sin6, 0, sizeof(sin6));
					sin6.sin6_family = AF_INET6;
					sin6.sin6_port = htons(3478);
					sin6.sin6_scope_id = 0xdeadbeef;
					sin6.sin6_flowinfo = htonl(0xfffff);
					memcpy(sin6.sin6_addr.s6_addr, prefixes[f], 12);
					memcpy(sin6.sin6_addr.s6_addr + 12, v4, 4);
					if (policy_check(&p, SA(&sin6)) != want)
						mismatches[f]++;
				}
				tested++;
			}
		}
	}
	CHECK_INT(tested, 256 * sizeof(b_vals) * 4);
	for (size_t f = 0; f < NELEM(prefixes); f++)
		CHECK_INT(mismatches[f], 0);
	policy_cleanup(&p);
}

/* Scope id, flow label and sin_zero do not change anything. */
static void test_sockaddr_noise(void)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(9);
	inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
	sin6.sin6_scope_id = 3;
	CHECK_INT(policy_check(NULL, SA(&sin6)), LL);
	sin6.sin6_scope_id = 0xffffffff;
	sin6.sin6_flowinfo = 0xffffffff;
	CHECK_INT(policy_check(NULL, SA(&sin6)), LL);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	CHECK_INT(policy_check(NULL, SA(&sin6)), LOOP);
	inet_pton(AF_INET6, "64:ff9b::a9fe:a9fe", &sin6.sin6_addr);
	CHECK_INT(policy_check(NULL, SA(&sin6)), LL);
	inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6.sin6_addr);
	CHECK_INT(policy_check(NULL, SA(&sin6)), A);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	CHECK_INT(policy_check(NULL, SA(&sin6)), LOOP);

	memset(&sin, 0xa5, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1);
	inet_pton(AF_INET, "169.254.169.254", &sin.sin_addr);
	CHECK_INT(policy_check(NULL, SA(&sin)), LL);
	inet_pton(AF_INET, "8.8.8.8", &sin.sin_addr);
	CHECK_INT(policy_check(NULL, SA(&sin)), A);
}

static void test_family(void)
{
	struct sockaddr_un sun;
	struct sockaddr_storage ss;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK_INT(policy_check(NULL, SA(&sun)), FAM);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	CHECK_INT(policy_check(NULL, SA(&ss)), FAM);
	CHECK_INT(policy_check(NULL, NULL), FAM);
}

static void test_allow_loopback(void)
{
	static const struct vcase t[] = {
		{"127.0.0.1", A},       {"127.255.255.255", A},  {"::ffff:127.0.0.1", A},
		{"::127.0.0.1", A},     {"64:ff9b::7f00:1", A},  {"::1", A},
		{"10.0.0.1", PRIV},     {"169.254.169.254", LL}, {"0.0.0.0", UNSP},
		{"::", UNSP},           {"::2", UNSP},           {"fe80::1", LL},
		{"2002:7f00:1::", TUN}, /* the IPv4 passes, the tunnel does not */
		{"8.8.8.8", A},
	};
	struct peer_policy p;

	CHECK_INT(policy_init(&p, NULL, 0, NULL, 0, true, NULL), 0);
	CHECK(p.allow_loopback);
	expect_table(&p, t, NELEM(t));
	policy_cleanup(&p);
}

/* A server on 127.0.0.1 and ::1 (STUN/TURN on 3478, HTTP on 9641, relays
 * on 49152-65535), with or without allow-loopback-peers. */
static void loopback_server(struct peer_policy *p, bool allow_loopback, const char *const *denied,
			    size_t ndenied)
{
	struct sockaddr_storage ss;

	CHECK_INT(policy_init(p, denied, ndenied, NULL, 0, allow_loopback, NULL), 0);
	CHECK_INT(addr_parse("127.0.0.1", 0, &ss), 0);
	CHECK_INT(policy_add_self(p, SA(&ss)), 0);
	CHECK_INT(addr_parse("::1", 0, &ss), 0);
	CHECK_INT(policy_add_self(p, SA(&ss)), 0);
	CHECK_INT(addr_parse("8.8.4.4", 0, &ss), 0); /* external-ip */
	CHECK_INT(policy_add_self(p, SA(&ss)), 0);
	CHECK_INT(policy_add_self_port(p, 3478), 0);
	CHECK_INT(policy_add_self_port(p, 9641), 0);
	p->relay_port_min = 49152;
	p->relay_port_max = 65535;
}

static bool port_checked(const struct peer_policy *p, const char *s)
{
	struct sockaddr_storage ss;

	return addr_parse(s, 40000, &ss) == 0 && policy_is_self(p, SA(&ss));
}

/* allow-loopback-peers and our own loopback address: a peer beside the
 * server on 127.0.0.1 is allowed, the server's listening ports are not, in
 * every spelling of the address. */
static void test_allow_loopback_self(void)
{
	static const char *const spellings[] = {
		"127.0.0.1",       "::ffff:127.0.0.1",       "::127.0.0.1",
		"64:ff9b::7f00:1", "::ffff:0:7f00:1",        "64:ff9b:1::7f00:1",
		"127.0.0.2",       "::ffff:127.255.255.254", "::1",
	};
	static const char *const denied[] = {"127.0.0.5"};
	struct peer_policy p;

	loopback_server(&p, true, denied, NELEM(denied));
	for (size_t i = 0; i < NELEM(spellings); i++) {
		expect_port(&p, spellings[i], 40000, A);   /* a free port */
		expect_port(&p, spellings[i], 1, A);       /* any other port */
		expect_port(&p, spellings[i], 50000, A);   /* the relay range */
		expect_port(&p, spellings[i], 3478, SELF); /* STUN/TURN, UDP and TCP */
		expect_port(&p, spellings[i], 9641, SELF); /* HTTP */
		CHECK(port_checked(&p, spellings[i]));     /* Send rechecks the port */
	}
	/* A tunnel to our loopback is still a tunnel; its listening port is
	 * refused as the IPv4 it leads to. */
	expect_port(&p, "2002:7f00:1::", 40000, TUN);
	expect_port(&p, "2002:7f00:1::", 3478, SELF);
	CHECK(port_checked(&p, "2002:7f00:1::"));
	/* denied-peer-ip still comes first. */
	expect_port(&p, "127.0.0.5", 40000, OPER);
	/* Our other addresses keep the own-address rule. */
	expect_port(&p, "8.8.4.4", 40000, SELF);
	expect_port(&p, "8.8.4.4", 50000, A);
	expect_port(&p, "8.8.4.4", 3478, SELF);
	expect_port(&p, "::ffff:8.8.4.4", 40000, SELF);
	expect_port(&p, "10.0.0.1", 40000, PRIV);
	CHECK(port_checked(&p, "8.8.4.4"));
	CHECK(!port_checked(&p, "8.8.8.8"));
	CHECK(!port_checked(&p, "10.0.0.1"));
	policy_cleanup(&p);

	/* Without allow-loopback-peers no loopback address is a peer. */
	loopback_server(&p, false, NULL, 0);
	for (size_t i = 0; i < NELEM(spellings); i++) {
		expect_port(&p, spellings[i], 3478, i < 6 || i == 8 ? SELF : LOOP);
		expect_port(&p, spellings[i], 40000, i < 6 || i == 8 ? SELF : LOOP);
		expect_port(&p, spellings[i], 50000, LOOP);
		CHECK(port_checked(&p, spellings[i]) == (i < 6 || i == 8));
	}
	policy_cleanup(&p);
}

static void test_operator(void)
{
	static const char *const allowed[] = {"10.0.0.0/8"};
	static const char *const denied[] = {"8.8.8.0/24", "1.1.1.1-1.1.1.3", "2001:4860::/32"};
	static const char *const denied64[] = {"8.8.8.0/24", "64:ff9b::/96"};
	static const char *const allow_one[] = {"8.8.8.8", "169.254.169.254"};
	static const struct vcase t_allowed[] = {
		{"10.1.2.3", A},         {"10.0.0.0", A},           {"10.255.255.255", A},
		{"::ffff:10.1.2.3", A},  {"64:ff9b::a01:203", A},   {"11.0.0.1", A},
		{"192.168.1.1", PRIV},   {"172.16.0.1", PRIV},      {"127.0.0.1", LOOP},
		{"2002:a01:203::", TUN}, {"2002:c0a8:101::", PRIV},
	};
	static const struct vcase t_denied[] = {
		{"8.8.7.255", A},
		{"8.8.8.0", OPER},
		{"8.8.8.8", OPER},
		{"8.8.8.255", OPER},
		{"8.8.9.0", A},
		{"::ffff:8.8.8.8", OPER},
		{"64:ff9b::808:808", OPER},
		{"2002:808:808::", OPER}, /* embedded IPv4 denied */
		{"1.1.1.0", A},
		{"1.1.1.1", OPER},
		{"1.1.1.2", OPER},
		{"1.1.1.3", OPER},
		{"1.1.1.4", A},
		{"2001:4860:4860::8888", OPER},
		{"2001:4861::1", A},
		{"10.0.0.1", PRIV}, /* the built-ins still apply */
		/* NAT64 of a public IPv4: only the IPv4 is looked at here */
		{"64:ff9b::101:104", A},
	};
	static const struct vcase t_denied64[] = {
		/* ... but a range written in NAT64 form refuses it as written */
		{"64:ff9b::101:104", OPER},
		{"64:ff9b::808:808", OPER},
		{"1.1.1.4", A},
		{"::ffff:1.1.1.4", A},
	};
	static const struct vcase t_override[] = {
		{"8.8.8.8", A},          {"8.8.8.9", OPER},
		{"169.254.169.254", A},  {"::ffff:169.254.169.254", A},
		{"169.254.169.253", LL},
	};
	struct peer_policy p;
	const char *bad = "x";

	CHECK_INT(policy_init(&p, NULL, 0, allowed, NELEM(allowed), false, &bad), 0);
	CHECK(bad == NULL);
	CHECK_INT(p.nallowed, 1);
	CHECK_INT(p.ndenied, 0);
	expect_table(&p, t_allowed, NELEM(t_allowed));
	policy_cleanup(&p);

	CHECK_INT(policy_init(&p, denied, NELEM(denied), NULL, 0, false, &bad), 0);
	CHECK_INT(p.ndenied, 3);
	expect_table(&p, t_denied, NELEM(t_denied));
	policy_cleanup(&p);

	CHECK_INT(policy_init(&p, denied64, NELEM(denied64), NULL, 0, false, &bad), 0);
	expect_table(&p, t_denied64, NELEM(t_denied64));
	policy_cleanup(&p);

	/* allowed-peer-ip overrides denied-peer-ip and the built-ins */
	CHECK_INT(policy_init(&p, denied, NELEM(denied), allow_one, NELEM(allow_one), false, &bad),
		  0);
	expect_table(&p, t_override, NELEM(t_override));
	policy_cleanup(&p);
}

static int add_self(struct peer_policy *p, const char *s)
{
	struct sockaddr_storage ss;

	if (addr_parse(s, 0, &ss) != 0)
		return -100;
	return policy_add_self(p, SA(&ss));
}

static bool is_self(const struct peer_policy *p, const char *s)
{
	struct sockaddr_storage ss;

	if (addr_parse(s, 3478, &ss) != 0)
		return false;
	return policy_is_self(p, SA(&ss));
}

static void test_self(void)
{
	struct peer_policy p;
	struct sockaddr_un sun;
	static const char *const allow_self[] = {"8.8.4.4"};

	CHECK_INT(policy_init(&p, NULL, 0, NULL, 0, false, NULL), 0);
	CHECK_INT(add_self(&p, "8.8.4.4:3478"), 0);
	CHECK_INT(add_self(&p, "[2001:4860:4860::8844]:3478"), 0);
	CHECK_INT(add_self(&p, "::ffff:9.9.9.9"), 0);
	CHECK_INT(add_self(&p, "10.0.0.5"), 0);
	CHECK_INT(add_self(&p, "8.8.4.4:1"), 0);      /* duplicate, skipped */
	CHECK_INT(add_self(&p, "::ffff:8.8.4.4"), 0); /* same, canonicalised */
	CHECK_INT(p.nself, 4);
	CHECK_INT(policy_add_self_port(&p, 3478), 0);
	CHECK_INT(policy_add_self_port(&p, 5349), 0);
	CHECK_INT(policy_add_self_port(&p, 3478), 0);
	CHECK_INT(p.nself_ports, 2);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK_INT(policy_add_self(&p, SA(&sun)), TP_EINVAL);
	CHECK_INT(policy_add_self(&p, NULL), TP_EINVAL);
	CHECK_INT(p.nself, 4);
	p.relay_port_min = 49152;
	p.relay_port_max = 65535;

	expect_port(&p, "8.8.4.4", 3478, SELF);
	expect_port(&p, "8.8.4.4", 5349, SELF);
	expect_port(&p, "8.8.4.4", 80, SELF);
	expect_port(&p, "8.8.4.4", 0, SELF);
	expect_port(&p, "8.8.4.4", 49151, SELF);
	expect_port(&p, "8.8.4.4", 49152, A);
	expect_port(&p, "8.8.4.4", 50000, A);
	expect_port(&p, "8.8.4.4", 65535, A);
	expect_port(&p, "::ffff:8.8.4.4", 80, SELF);
	expect_port(&p, "::ffff:8.8.4.4", 50000, A);
	expect_port(&p, "64:ff9b::808:404", 80, SELF);
	expect_port(&p, "::ffff:0:808:404", 80, SELF);
	expect_port(&p, "2002:808:404::", 80, SELF); /* embedded self */
	expect_port(&p, "2002:808:404::", 50000, TUN);
	expect_port(&p, "8.8.4.5", 80, A);
	expect_port(&p, "8.8.4.3", 3478, A);
	expect_port(&p, "2001:4860:4860::8844", 3478, SELF);
	expect_port(&p, "2001:4860:4860::8844", 50000, A);
	expect_port(&p, "2001:4860:4860::8845", 3478, A);
	expect_port(&p, "9.9.9.9", 80, SELF);
	expect_port(&p, "9.9.9.9", 60000, A);
	/* The relay-range exception never lifts a built-in class. */
	expect_port(&p, "10.0.0.5", 50000, PRIV);
	expect_port(&p, "10.0.0.5", 80, SELF);

	/* Whatever the port: the IP, any spelling of it, or a tunnel to it. */
	CHECK(is_self(&p, "8.8.4.4"));
	CHECK(is_self(&p, "8.8.4.4:50000"));
	CHECK(is_self(&p, "[::ffff:8.8.4.4]:50000"));
	CHECK(is_self(&p, "64:ff9b::808:404"));
	CHECK(is_self(&p, "2002:808:404::1"));
	CHECK(is_self(&p, "2001:0:808:404::"));                     /* Teredo server */
	CHECK(is_self(&p, "2001:0:4136:e378:8000:63bf:f7f7:fbfb")); /* Teredo client */
	CHECK(is_self(&p, "2001:4860:4860::8844"));
	CHECK(is_self(&p, "9.9.9.9"));
	CHECK(!is_self(&p, "8.8.4.5"));
	CHECK(!is_self(&p, "2001:4860:4860::8888"));
	CHECK(!is_self(&p, "2002:808:405::"));
	CHECK(!is_self(&p, "::808:405"));
	CHECK(!policy_is_self(&p, SA(&sun)));
	CHECK(!policy_is_self(&p, NULL));
	{
		struct sockaddr_storage ss;
		CHECK_INT(addr_parse("8.8.4.4", 0, &ss), 0);
		CHECK(!policy_is_self(NULL, SA(&ss)));
	}

	/* A listening port inside the relay range stays refused. */
	CHECK_INT(policy_add_self_port(&p, 50000), 0);
	expect_port(&p, "8.8.4.4", 50000, SELF);
	expect_port(&p, "8.8.4.4", 50001, A);

	/* No relay range: every port of ours is refused. */
	p.relay_port_min = 0;
	p.relay_port_max = 0;
	expect_port(&p, "8.8.4.4", 50001, SELF);
	expect_port(&p, "8.8.4.4", 0, SELF);
	expect_port(&p, "2001:4860:4860::8844", 65535, SELF);
	/* An upside-down range is no range either. */
	p.relay_port_min = 60000;
	p.relay_port_max = 50000;
	expect_port(&p, "8.8.4.4", 55000, SELF);
	policy_cleanup(&p);

	/* allowed-peer-ip comes before our own addresses. */
	CHECK_INT(policy_init(&p, NULL, 0, allow_self, 1, false, NULL), 0);
	CHECK_INT(add_self(&p, "8.8.4.4"), 0);
	expect_port(&p, "8.8.4.4", 3478, A);
	policy_cleanup(&p);
}

/* Parses s and compares the range with lo..hi written as IPv6. */
static void range_ok(const char *s, const char *lo, const char *hi)
{
	struct ip_range r;
	uint8_t want_lo[16], want_hi[16];
	int rc = policy_range_parse(s, &r);

	CHECK_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  (\"%s\" rejected)\n", s);
		return;
	}
	CHECK_INT(inet_pton(AF_INET6, lo, want_lo), 1);
	CHECK_INT(inet_pton(AF_INET6, hi, want_hi), 1);
	CHECK_MEM(r.lo, want_lo, 16);
	CHECK_MEM(r.hi, want_hi, 16);
	if (memcmp(r.lo, want_lo, 16) || memcmp(r.hi, want_hi, 16)) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, r.lo, a, sizeof(a));
		inet_ntop(AF_INET6, r.hi, b, sizeof(b));
		fprintf(stderr, "  (\"%s\" gave %s - %s)\n", s, a, b);
	}
}

static void range_bad(const char *s)
{
	static const struct ip_range zero;
	struct ip_range r;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = policy_range_parse(s, &r);
	CHECK_INT(rc, TP_EINVAL);
	if (rc != TP_EINVAL)
		fprintf(stderr, "  (\"%s\" accepted)\n", s ? s : "(null)");
	CHECK_MEM(&r, &zero, sizeof(r));
}

static void test_range_parse(void)
{
	char longbuf[300];

	range_ok("1.2.3.4", "::ffff:1.2.3.4", "::ffff:1.2.3.4");
	range_ok("1.2.3.4/32", "::ffff:1.2.3.4", "::ffff:1.2.3.4");
	range_ok("10.0.0.0/8", "::ffff:10.0.0.0", "::ffff:10.255.255.255");
	range_ok("10.1.2.3/8", "::ffff:10.0.0.0", "::ffff:10.255.255.255");
	range_ok("172.16.0.0/12", "::ffff:172.16.0.0", "::ffff:172.31.255.255");
	range_ok("100.64.0.0/10", "::ffff:100.64.0.0", "::ffff:100.127.255.255");
	range_ok("198.18.0.0/15", "::ffff:198.18.0.0", "::ffff:198.19.255.255");
	range_ok("0.0.0.0/0", "::ffff:0.0.0.0", "::ffff:255.255.255.255");
	range_ok("9.9.9.9/0", "::ffff:0.0.0.0", "::ffff:255.255.255.255");
	range_ok("128.0.0.0/1", "::ffff:128.0.0.0", "::ffff:255.255.255.255");
	range_ok("1.2.3.4/31", "::ffff:1.2.3.4", "::ffff:1.2.3.5");
	range_ok("8.8.8.0/024", "::ffff:8.8.8.0", "::ffff:8.8.8.255");
	range_ok("1.1.1.1-1.1.1.3", "::ffff:1.1.1.1", "::ffff:1.1.1.3");
	range_ok("1.1.1.1-1.1.1.1", "::ffff:1.1.1.1", "::ffff:1.1.1.1");
	range_ok("0.0.0.0-255.255.255.255", "::ffff:0.0.0.0", "::ffff:255.255.255.255");
	range_ok("  192.168.0.0/16\t", "::ffff:192.168.0.0", "::ffff:192.168.255.255");
	range_ok(" 1.1.1.1 - 1.1.1.3\n", "::ffff:1.1.1.1", "::ffff:1.1.1.3");
	range_ok("10.0.0.0 / 8", "::ffff:10.0.0.0", "::ffff:10.255.255.255");
	range_ok("::1", "::1", "::1");
	range_ok("::", "::", "::");
	range_ok("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	range_ok("::/128", "::", "::");
	range_ok("2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	range_ok("2001:DB8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	range_ok("2001:db8::/33", "2001:db8::", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff");
	range_ok("2001:db8::1234/120", "2001:db8::1200", "2001:db8::12ff");
	range_ok("2001:db8::1/128", "2001:db8::1", "2001:db8::1");
	range_ok("fe80::1-fe80::ff", "fe80::1", "fe80::ff");
	range_ok("fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	range_ok("::ffff:10.0.0.0/104", "::ffff:10.0.0.0", "::ffff:10.255.255.255");
	range_ok("::ffff:1.2.3.4-::ffff:1.2.3.9", "::ffff:1.2.3.4", "::ffff:1.2.3.9");
	range_ok("0000:0000:0000:0000:0000:0000:0000:0001", "::1", "::1");

	range_bad(NULL);
	range_bad("");
	range_bad("   ");
	range_bad("1.2.3.4/33");
	range_bad("1.2.3.4/100");
	range_bad("::/129");
	range_bad("::/1000");
	range_bad("1.2.3.4-::1");
	range_bad("::1-1.2.3.4");
	range_bad("::ffff:1.2.3.4-1.2.3.5");
	range_bad("5.5.5.5-1.1.1.1");
	range_bad("1.1.1.2-1.1.1.1");
	range_bad("fe80::ff-fe80::1");
	range_bad("example.com");
	range_bad("localhost");
	range_bad("example.com/24");
	range_bad("1.2.3");
	range_bad("1.2.3.4.5");
	range_bad("256.0.0.0");
	range_bad("01.2.3.4");
	range_bad("0x01020304");
	range_bad("16909060");
	range_bad("1.2.3.4/");
	range_bad("/8");
	range_bad("/");
	range_bad("-");
	range_bad("1.2.3.4/-1");
	range_bad("1.2.3.4/+8");
	range_bad("1.2.3.4/0x8");
	range_bad("1.2.3.4/0008");
	range_bad("1.2.3.4/8/8");
	range_bad("1.2.3.4/3 2");
	range_bad("1.2.3.4/8x");
	range_bad("1.2.3.4-");
	range_bad("-1.2.3.4");
	range_bad("1.1.1.1-1.1.1.2-1.1.1.3");
	range_bad("1.2.3.4/8-1.2.3.5");
	range_bad("1.2.3.4-1.2.3.5/8");
	range_bad("1.2.3.4 5");
	range_bad("1.2.3.4:80");
	range_bad("fe80::1%eth0");
	range_bad("fe80::1%1/64");
	range_bad("[::1]");
	range_bad("[::1]/128");
	range_bad("2001:db8::1::2");
	range_bad("2001:db8::/32 x");
	range_bad("*");
	range_bad("any");

	memset(longbuf, ' ', sizeof(longbuf) - 1);
	longbuf[sizeof(longbuf) - 1] = '\0';
	memcpy(longbuf + 100, "1.2.3.4", 7);
	range_bad(longbuf);
	memset(longbuf, 0, sizeof(longbuf));
	strcpy(longbuf, "0000:0000:0000:0000:0000:0000:0000:0001");
	strcat(longbuf, "0000000000");
	range_bad(longbuf);
}

/* Canonicalises s (port 1234, the given scope id) and checks the result. */
static void canon(const char *s, uint32_t scope, int family, const char *want)
{
	struct sockaddr_storage in, out;
	char buf[ADDR_STRLEN];
	int rc = addr_parse(s, 1234, &in);

	CHECK_INT(rc, 0);
	if (rc != 0)
		return;
	if (in.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&in)->sin6_scope_id = scope;
		((struct sockaddr_in6 *)&in)->sin6_flowinfo = htonl(0x12345);
	}
	memset(&out, 0xa5, sizeof(out));
	policy_canonicalize(SA(&in), &out);
	CHECK_INT(out.ss_family, family);
	CHECK_STR(addr_format(SA(&out), false, buf, sizeof(buf)), want);
	CHECK_INT(addr_port(SA(&out)), 1234);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out;
		static const char zero[sizeof(sin->sin_zero)];
		CHECK_MEM(sin->sin_zero, zero, sizeof(zero));
	} else if (family == AF_INET6 && in.ss_family == AF_INET6) {
		/* Copied unchanged, scope id and flow label included. */
		CHECK_MEM(&out, &in, sizeof(struct sockaddr_in6));
	}

	/* In place gives the same. */
	policy_canonicalize(SA(&in), &in);
	CHECK_INT(in.ss_family, family);
	CHECK_MEM(&in, &out, sizeof(struct sockaddr_in6));
}

static void test_canonicalize(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage out;

	canon("::ffff:127.0.0.1", 9, AF_INET, "127.0.0.1");
	canon("0:0:0:0:0:FFFF:7F00:0001", 0, AF_INET, "127.0.0.1");
	canon("::127.0.0.1", 0, AF_INET, "127.0.0.1");
	canon("::0.0.0.2", 0, AF_INET, "0.0.0.2");
	canon("::ffff:0:1.2.3.4", 0, AF_INET, "1.2.3.4");
	canon("64:ff9b::808:808", 0xffffffff, AF_INET, "8.8.8.8");
	canon("64:ff9b::a9fe:a9fe", 0, AF_INET, "169.254.169.254");
	canon("64:ff9b:1::a00:1", 0, AF_INET, "10.0.0.1");
	canon("::ffff:0.0.0.0", 0, AF_INET, "0.0.0.0");
	canon("::", 0, AF_INET6, "::");
	canon("::1", 0, AF_INET6, "::1");
	canon("fe80::1", 7, AF_INET6, "fe80::1");
	canon("2001:db8::1", 5, AF_INET6, "2001:db8::1");
	canon("64:ff9b:1:abcd::808:808", 0, AF_INET6, "64:ff9b:1:abcd::808:808");
	canon("64:ff9b::1:808:808", 0, AF_INET6, "64:ff9b::1:808:808");
	canon("2002:7f00:1::", 0, AF_INET6, "2002:7f00:1::");
	canon("::fffe:808:808", 0, AF_INET6, "::fffe:808:808");
	canon("1.2.3.4", 0, AF_INET, "1.2.3.4");
	canon("127.0.0.1", 0, AF_INET, "127.0.0.1");

	/* Reads no further than the caller's own sockaddr (ASan). */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(7);
	inet_pton(AF_INET, "9.9.9.9", &sin.sin_addr);
	policy_canonicalize(SA(&sin), &out);
	CHECK_INT(out.ss_family, AF_INET);
	CHECK_INT(addr_port(SA(&out)), 7);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(8);
	inet_pton(AF_INET6, "::ffff:9.9.9.9", &sin6.sin6_addr);
	policy_canonicalize(SA(&sin6), &out);
	CHECK_INT(out.ss_family, AF_INET);
	CHECK_INT(addr_port(SA(&out)), 8);
	sin.sin_port = htons(8);
	CHECK(addr_equal(SA(&out), SA(&sin)));
}

static void tunnel(const char *s, size_t want_n, uint32_t want0, uint32_t want1)
{
	struct sockaddr_storage ss;
	uint32_t v4[2] = {0x11111111, 0x22222222};
	size_t n;

	CHECK_INT(addr_parse(s, 0, &ss), 0);
	n = policy_tunnel_v4(SA(&ss), v4);
	CHECK_INT(n, want_n);
	if (n >= 1)
		CHECK_INT(v4[0], want0);
	if (n >= 2)
		CHECK_INT(v4[1], want1);
	if (n < 2)
		CHECK_INT(v4[1], 0x22222222); /* untouched */
}

static void test_tunnel_v4(void)
{
	tunnel("2002:c000:0204::", 1, 0xc0000204, 0);
	tunnel("2002:7f00:1:ffff::1", 1, 0x7f000001, 0);
	tunnel("2002:0808:0808::", 1, 0x08080808, 0);
	tunnel("2002::", 1, 0, 0);
	tunnel("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 0xffffffff, 0);
	/* RFC 4380 §4: server 65.54.227.120, client 192.0.2.45 port 40000 */
	tunnel("2001:0:4136:e378:8000:63bf:3fff:fdd2", 2, 0x4136e378, 0xc000022d);
	tunnel("2001:0:4136:e378:8000:63bf:f5ff:fffe", 2, 0x4136e378, 0x0a000001);
	tunnel("2001::", 2, 0, 0xffffffff);
	tunnel("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", 2, 0xffffffff, 0);
	tunnel("2001:1::1", 0, 0, 0);
	tunnel("2001:db8::1", 0, 0, 0);
	tunnel("2003::1", 0, 0, 0);
	tunnel("2001:4860:4860::8888", 0, 0, 0);
	tunnel("::ffff:8.8.8.8", 0, 0, 0);
	tunnel("8.8.8.8", 0, 0, 0);
	tunnel("32.2.0.0", 0, 0, 0);
}

static void test_verdict_names(void)
{
	for (int v = 0; v < POLICY_VERDICT_MAX; v++) {
		const char *name = policy_verdict_name((enum policy_verdict)v);
		bool lower = name && name[0] != '\0';

		for (const char *c = name; lower && *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || *c == '_'))
				lower = false;
		CHECK(lower);
		CHECK(strcmp(name, "unknown") != 0);
		for (int w = 0; w < v; w++)
			CHECK(strcmp(name, policy_verdict_name((enum policy_verdict)w)) != 0);
	}
	CHECK_STR(policy_verdict_name(POLICY_ALLOW), "allow");
	CHECK_STR(policy_verdict_name(POLICY_DENY_LOOPBACK), "loopback");
	CHECK_STR(policy_verdict_name(POLICY_DENY_PRIVATE), "private");
	CHECK_STR(policy_verdict_name(POLICY_DENY_LINK_LOCAL), "link_local");
	CHECK_STR(policy_verdict_name(POLICY_VERDICT_MAX), "unknown");
	CHECK_STR(policy_verdict_name((enum policy_verdict) - 1), "unknown");
	CHECK_STR(policy_verdict_name((enum policy_verdict)1000), "unknown");
}

static void test_init_errors(void)
{
	static const char *const denied_bad[] = {"10.0.0.0/8", "bogus", "1.1.1.1"};
	static const char *const allowed_bad[] = {"1.1.1.1", "1.2.3.4/33"};
	static const char *const good[] = {"8.8.8.8", "2001:db8::/32"};
	static const char *const with_null[] = {"8.8.8.8", NULL};
	struct peer_policy p;
	const char *bad = NULL;

	CHECK_INT(policy_init(&p, denied_bad, NELEM(denied_bad), good, NELEM(good), false, &bad),
		  TP_EINVAL);
	CHECK(bad == denied_bad[1]);
	CHECK(p.denied == NULL && p.ndenied == 0 && p.allowed == NULL && p.nallowed == 0);
	policy_cleanup(&p); /* harmless after a failed init */

	/* The denied list parsed before the bad allowed entry is freed (ASan). */
	bad = NULL;
	CHECK_INT(policy_init(&p, good, NELEM(good), allowed_bad, NELEM(allowed_bad), true, &bad),
		  TP_EINVAL);
	CHECK(bad == allowed_bad[1]);
	CHECK_STR(bad, "1.2.3.4/33");
	CHECK(p.denied == NULL && p.ndenied == 0 && !p.allow_loopback);

	/* A NULL entry is refused; bad may be NULL. */
	bad = "x";
	CHECK_INT(policy_init(&p, with_null, 2, NULL, 0, false, &bad), TP_EINVAL);
	CHECK(bad == NULL);
	CHECK_INT(policy_init(&p, denied_bad, NELEM(denied_bad), NULL, 0, false, NULL), TP_EINVAL);

	/* NULL lists are empty whatever their count. */
	CHECK_INT(policy_init(&p, NULL, 5, NULL, 3, false, &bad), 0);
	CHECK(bad == NULL);
	CHECK_INT(p.ndenied, 0);
	CHECK_INT(p.nallowed, 0);
	expect(&p, "8.8.8.8", A);
	policy_cleanup(&p);

	/* The strings are copied: the policy outlives them. */
	{
		char buf[32];
		const char *list[1] = {buf};
		strcpy(buf, "8.8.8.0/24");
		CHECK_INT(policy_init(&p, list, 1, NULL, 0, false, &bad), 0);
		memset(buf, 'x', sizeof(buf) - 1);
		expect(&p, "8.8.8.8", OPER);
		CHECK_INT(add_self(&p, "1.0.0.1"), 0);
		CHECK_INT(policy_add_self_port(&p, 3478), 0);
		policy_cleanup(&p);
		CHECK(p.denied == NULL && p.self == NULL && p.self_ports == NULL);
		CHECK_INT(p.nself, 0);
		policy_cleanup(&p); /* twice is fine */
		policy_cleanup(NULL);
	}
}

int main(void)
{
	test_builtin();
	test_embedded_sweep();
	test_sockaddr_noise();
	test_family();
	test_allow_loopback();
	test_allow_loopback_self();
	test_operator();
	test_self();
	test_range_parse();
	test_canonicalize();
	test_tunnel_v4();
	test_verdict_names();
	test_init_errors();
	return check_done("test_util_policy");
}
