/* fuzz.h - what every libFuzzer target here shares: the entry point,
 * ASSERT (a broken invariant aborts, which the fuzzer reports as a crash)
 * and a reader that takes bytes off the front of the input, giving zeros
 * once it is used up, for the targets that read an opcode stream. */
#ifndef TURNPIKE_FUZZ_H
#define TURNPIKE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)                \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t u16(struct in *in)
{
	uint16_t hi = u8(in);

	return (uint16_t)(hi << 8 | u8(in));
}

static inline uint32_t u32(struct in *in)
{
	uint32_t hi = u16(in);

	return hi << 16 | u16(in);
}

/* Up to want bytes, as many as the input has (*got). */
static inline const uint8_t *bytes(struct in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;

	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

#endif
