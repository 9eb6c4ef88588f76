/* addr.h - sockaddr helpers: parse, format, compare, hash, canonical forms. */
#ifndef TURNPIKE_UTIL_ADDR_H
#define TURNPIKE_UTIL_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest string addr_format writes: "[v6%scope]:65535" */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 16)

/* Length of the sockaddr for its family (0 for unknown families). */
socklen_t addr_len(const struct sockaddr *sa);

/*
 * Parses "1.2.3.4", "::1", "[::1]", "1.2.3.4:5", "[::1]:5". A missing port
 * takes default_port. Literals only: no name lookups.
 * Returns 0 or TP_EINVAL.
 */
int addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out);

/* A listening endpoint: "PORT" (on 127.0.0.1), "IP:PORT" or "[IPv6]:PORT";
 * the port must be given and non-zero. Returns 0 or TP_EINVAL. */
int addr_parse_listen(const char *s, struct sockaddr_storage *out);

/* Formats as "1.2.3.4:5" or "[::1]:5" (with_port false: no port, no
 * brackets). Always NUL-terminates; returns buf. */
char *addr_format(const struct sockaddr *sa, bool with_port, char *buf, size_t cap);

uint16_t addr_port(const struct sockaddr *sa);
void addr_set_port(struct sockaddr *sa, uint16_t port);

/* Same family, address and port (addr_equal_ip: ignores the port). */
bool addr_equal(const struct sockaddr *a, const struct sockaddr *b);
bool addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b);

/* Keyed hash of address and port for hash tables (SipHash-like, key set once
 * per process from the CSPRNG so remote parties cannot aim collisions). */
uint64_t addr_hash(const struct sockaddr *sa);
void addr_hash_seed(const uint8_t key[16]);
/* SipHash-2-4 of in[0..len) under key; exposed for tests and other tables. */
uint64_t addr_siphash(const uint8_t key[16], const uint8_t *in, size_t len);

/* The key that stands for a source in per-source limits: the IPv4 address
 * (as IPv4-mapped IPv6, whether it came as IPv4 or IPv4-mapped), or the
 * IPv6 /64 (one subscriber usually holds a whole /64, so a full address
 * would be no limit). Zeros for other families. */
void addr_source_key(const struct sockaddr *sa, uint8_t key[16]);

/* An IPv6 wildcard/any address for the family. */
bool addr_is_any(const struct sockaddr *sa);
/* 127.0.0.0/8 or ::1 (or ::ffff:127.x.y.z). */
bool addr_is_loopback(const struct sockaddr *sa);

#endif
