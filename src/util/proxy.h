/* proxy.h - the PROXY protocol header (HAProxy's, versions 1 and 2) that a
 * load balancer puts in front of a TCP stream to say whose it is: a pure
 * parser, no sockets. */
#ifndef TURNPIKE_UTIL_PROXY_H
#define TURNPIKE_UTIL_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The most a header may take: v1's line is at most 107 bytes, v2's fixed
 * part 16 plus what we accept of its address block. */
#define PROXY_MAX 232

/*
 * Parses a header at the start of buf[0..len). Returns 1 with *used bytes
 * taken and *src the client's address and port (family AF_UNSPEC for a
 * v2 LOCAL command or v1 UNKNOWN: the balancer's own connection, keep its
 * address), 0 when more bytes are needed, or -1 when buf does not start
 * with a valid header.
 */
int proxy_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *src, size_t *used);

#endif
