/* fuzz_sdp.c - libFuzzer target for turnpike-peer's SDP codec: parse any
 * bytes; what parses is written back and must parse again to the same
 * description. Aborts on any broken invariant. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "peer/sdp.h"
#include "turnpike/err.h"

static struct sdp_desc a, b;
static char text[64 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_candidate c;
	char err[256];
	int rc, n;

	memset(err, 'x', sizeof(err));
	rc = sdp_parse((const char *)data, size, &a, err, sizeof(err));
	ASSERT(rc == 0 || rc == TP_EMALFORMED);
	ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	rc = sdp_candidate_parse((const char *)data, size, &c);
	ASSERT(rc == 0 || rc == TP_EMALFORMED || rc == TP_ENOTFOUND);
	if (sdp_parse((const char *)data, size, &a, err, sizeof(err)) != 0)
		return 0;
	ASSERT(a.ncand <= SDP_MAX_CANDIDATES);
	n = sdp_write(&a, 1, text, sizeof(text));
	ASSERT(n > 0 || n == TP_EINVAL); /* EINVAL: a mid we would not write */
	if (n < 0)
		return 0;
	ASSERT((size_t)n == strlen(text));
	ASSERT(sdp_parse(text, (size_t)n, &b, err, sizeof(err)) == 0);
	ASSERT(strcmp(a.ufrag, b.ufrag) == 0 && strcmp(a.pwd, b.pwd) == 0);
	ASSERT(a.fingerprint_len == b.fingerprint_len &&
	       memcmp(a.fingerprint, b.fingerprint, a.fingerprint_len) == 0);
	ASSERT(a.setup == b.setup && a.ice_lite == b.ice_lite && a.ncand == b.ncand);
	for (size_t i = 0; i < a.ncand; i++) {
		ASSERT(a.cand[i].priority == b.cand[i].priority);
		ASSERT(a.cand[i].type == b.cand[i].type);
		ASSERT(a.cand[i].tcptype == b.cand[i].tcptype);
		ASSERT(strcmp(a.cand[i].foundation, b.cand[i].foundation) == 0);
		ASSERT(memcmp(&a.cand[i].addr, &b.cand[i].addr, sizeof(a.cand[i].addr)) == 0);
	}
	return 0;
}
