/* rand.h - CSPRNG access (OpenSSL RAND_bytes); the only source of randomness. */
#ifndef TURNPIKE_UTIL_RAND_H
#define TURNPIKE_UTIL_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n cryptographically strong random bytes.
 * Returns 0, TP_EINVAL (n over 2^31) or TP_ECRYPTO. */
int rand_bytes(void *buf, size_t n);

/* Uniform random integer in [0, bound) without modulo bias; bound > 0.
 * Returns 0 or TP_ECRYPTO. */
int rand_uniform(uint32_t bound, uint32_t *out);

#endif
