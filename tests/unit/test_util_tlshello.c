/* test_util_tlshello.c - unit tests for src/util/tlshello.c: the ALPN
 * offer of ClientHellos built here field by field, with and without ALPN
 * and extensions, cut short at every length, and what must be refused. */
#include <string.h>

#include "check.h"
#include "util/tlshello.h"

/* A ClientHello record with extensions ext[0..elen) (none at all when
 * elen is -1) into out; returns its length. */
static size_t hello(uint8_t *out, const uint8_t *ext, long elen)
{
	uint8_t body[1024];
	size_t n = 0, total;

	body[n++] = 3, body[n++] = 3;        /* legacy_version */
	memset(body + n, 0xab, 32), n += 32; /* random */
	body[n++] = 32;                      /* legacy_session_id */
	memset(body + n, 0xcd, 32), n += 32;
	body[n++] = 0, body[n++] = 4; /* cipher_suites */
	body[n++] = 0x13, body[n++] = 0x01, body[n++] = 0x13, body[n++] = 0x02;
	body[n++] = 1, body[n++] = 0; /* legacy_compression_methods */
	if (elen >= 0) {
		body[n++] = (uint8_t)(elen >> 8), body[n++] = (uint8_t)elen;
		memcpy(body + n, ext, (size_t)elen), n += (size_t)elen;
	}
	total = 4 + n;
	out[0] = 22, out[1] = 3, out[2] = 1;
	out[3] = (uint8_t)(total >> 8), out[4] = (uint8_t)total;
	out[5] = 1, out[6] = 0, out[7] = (uint8_t)(n >> 8), out[8] = (uint8_t)n;
	memcpy(out + 9, body, n);
	return 5 + total;
}

/* server_name (0), then ALPN (16) with "h2" and "stun.turn". */
static const uint8_t ext_alpn[] = {
	0, 0,  0, 5,  0, 3,  0, 0,   0, /* an empty-ish SNI: skipped whole */
	0, 16, 0, 15, 0, 13, 2, 'h', '2', 9, 's', 't', 'u', 'n', '.', 't', 'u', 'r', 'n'};
static const uint8_t ext_other[] = {0, 43, 0, 3, 2, 3, 4}; /* supported_versions */

static void test_alpn(void)
{
	uint8_t rec[2048];
	const uint8_t *alpn = NULL;
	size_t alen = 0, n = hello(rec, ext_alpn, sizeof(ext_alpn));

	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_ALPN);
	CHECK_INT(alen, 13);
	CHECK(tlshello_alpn_has(alpn, alen, "stun.turn"));
	CHECK(tlshello_alpn_has(alpn, alen, "h2"));
	CHECK(!tlshello_alpn_has(alpn, alen, "http/1.1"));
	CHECK(!tlshello_alpn_has(alpn, alen, "stun"));
	/* Every shorter prefix asks for more; bytes after the record are not
	 * looked at. */
	for (size_t i = 0; i < n; i++)
		CHECK_INT(tlshello_alpn(rec, i, &alpn, &alen), TLSHELLO_MORE);
	rec[n] = 0xff;
	CHECK_INT(tlshello_alpn(rec, n + 1, &alpn, &alen), TLSHELLO_ALPN);
}

static void test_no_alpn(void)
{
	uint8_t rec[2048];
	const uint8_t *alpn = NULL;
	size_t alen = 0, n = hello(rec, ext_other, sizeof(ext_other));

	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_NO_ALPN);
	n = hello(rec, NULL, -1);
	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_NO_ALPN);
}

static void test_refused(void)
{
	uint8_t rec[2048], bad[sizeof(ext_alpn)];
	const uint8_t *alpn = NULL;
	size_t alen = 0, n;

	/* Not a handshake record; plain STUN; an empty record. */
	CHECK_INT(tlshello_alpn((const uint8_t *)"\x17\x03\x03\x00\x01x", 6, &alpn, &alen),
		  TLSHELLO_BAD);
	CHECK_INT(tlshello_alpn((const uint8_t *)"\x00\x01", 2, &alpn, &alen), TLSHELLO_BAD);
	CHECK_INT(tlshello_alpn((const uint8_t *)"\x16\x03\x01\x00\x00", 5, &alpn, &alen),
		  TLSHELLO_BAD);
	/* A ServerHello (2), not a ClientHello. */
	n = hello(rec, ext_alpn, sizeof(ext_alpn));
	rec[5] = 2;
	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_BAD);
	/* A handshake longer than its record: split over records. */
	n = hello(rec, ext_alpn, sizeof(ext_alpn));
	rec[7]++;
	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_BAD);
	/* Extensions running past the hello; an ALPN list whose length lies. */
	n = hello(rec, ext_alpn, sizeof(ext_alpn));
	rec[5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2]++; /* extensions length */
	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_BAD);
	memcpy(bad, ext_alpn, sizeof(bad));
	bad[14] = 14; /* list length 14 in an extension of 15 */
	n = hello(rec, bad, sizeof(bad));
	CHECK_INT(tlshello_alpn(rec, n, &alpn, &alen), TLSHELLO_BAD);
	/* A name whose length runs past the list is not matched. */
	CHECK(!tlshello_alpn_has((const uint8_t *)"\x09stun.tur", 9, "stun.turn"));
}

int main(void)
{
	test_alpn();
	test_no_alpn();
	test_refused();
	return check_done("test_util_tlshello");
}
