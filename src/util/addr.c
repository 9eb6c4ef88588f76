/* addr.c - sockaddr helpers: parse, format, compare, keyed hash. */
#include "util/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/err.h"

static uint8_t hash_key[16];

socklen_t addr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;
	}
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return TP_EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return TP_EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL;
	uint16_t port = default_port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return TP_EINVAL;
		hlen = (size_t)(close - s - 1);
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != '\0')
			return TP_EINVAL;
		s++;
	} else {
		const char *colon = strchr(s, ':');
		/* One colon: v4 with port. More: a bare v6 literal. */
		if (colon && !strchr(colon + 1, ':')) {
			hlen = (size_t)(colon - s);
			port_s = colon + 1;
		} else {
			hlen = strlen(s);
		}
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return TP_EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (port_s && parse_port(port_s, &port) != 0)
		return TP_EINVAL;

	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return TP_EINVAL;
}

int addr_parse_listen(const char *s, struct sockaddr_storage *out)
{
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s)) {
		/* A bare port: loopback only, never every address by accident. */
		if (parse_port(s, &port) != 0 || port == 0)
			return TP_EINVAL;
		return addr_parse("127.0.0.1", port, out);
	}
	if (addr_parse(s, 0, out) != 0 || addr_port((struct sockaddr *)out) == 0) {
		memset(out, 0, sizeof(*out));
		return TP_EINVAL;
	}
	return 0;
}

char *addr_format(const struct sockaddr *sa, bool with_port, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (cap == 0)
		return buf;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		if (with_port)
			snprintf(buf, cap, "%s:%u", host, ntohs(sin->sin_port));
		else
			snprintf(buf, cap, "%s", host);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (with_port)
			snprintf(buf, cap, "[%s]:%u", host, ntohs(sin6->sin6_port));
		else
			snprintf(buf, cap, "%s", host);
	} else {
		snprintf(buf, cap, "(family %d)", sa->sa_family);
	}
	return buf;
}

uint16_t addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

bool addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

bool addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_equal_ip(a, b) && addr_port(a) == addr_port(b);
}

bool addr_is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

bool addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

void addr_hash_seed(const uint8_t key[16])
{
	memcpy(hash_key, key, 16);
}

/* SipHash-2-4 over a short input: keyed, so remote parties cannot aim
 * collisions at our tables. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t addr_siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, full = len & ~(size_t)7;
	uint8_t last[8] = {0};

	for (i = 0; i < full; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	if (len > full) /* in may be NULL when len is 0 */
		memcpy(last, in + full, len - full);
	b |= le64(last);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t addr_hash(const struct sockaddr *sa)
{
	uint8_t in[18];
	size_t n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		memcpy(in, &sin->sin_addr, 4);
		memcpy(in + 4, &sin->sin_port, 2);
		n = 6;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(in, &sin6->sin6_addr, 16);
		memcpy(in + 16, &sin6->sin6_port, 2);
		n = 18;
	} else {
		return 0;
	}
	return addr_siphash(hash_key, in, n);
}

void addr_source_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
			memcpy(key, a, 16);
		else
			memcpy(key, a, 8);
	}
}
