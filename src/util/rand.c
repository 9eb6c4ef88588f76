/* rand.c - CSPRNG wrappers over OpenSSL's RAND_bytes. */
#include "util/rand.h"

#include <openssl/rand.h>

#include "turnpike/err.h"

int rand_bytes(void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (n > 0x7fffffff)
		return TP_EINVAL;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : TP_ECRYPTO;
}

int rand_uniform(uint32_t bound, uint32_t *out)
{
	uint32_t v, limit;

	if (bound == 0)
		return TP_EINVAL;
	/* Reject the top sliver that would bias the modulo. */
	limit = UINT32_MAX - (UINT32_MAX % bound);
	do {
		if (rand_bytes(&v, sizeof(v)) != 0)
			return TP_ECRYPTO;
	} while (v >= limit);
	*out = v % bound;
	return 0;
}
