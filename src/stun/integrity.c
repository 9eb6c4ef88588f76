/* integrity.c - MESSAGE-INTEGRITY(-SHA256) HMACs and the FINGERPRINT CRC-32
 * (RFC 8489 §14.5, §14.6, §14.7). */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "stun/stun_int.h"

/* CRC-32 (ISO-HDLC: reflected, polynomial 0xEDB88320) one byte at a time. */
static const uint32_t crc_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535,
	0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd,
	0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d,
	0x6ddde4eb, 0xf4d4b551, 0x83d385c7, 0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4,
	0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59, 0x26d930ac,
	0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab,
	0xb6662d3d, 0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f,
	0x9fbfe4a5, 0xe8b8d433, 0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb,
	0x086d3d2d, 0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea,
	0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65, 0x4db26158, 0x3ab551ce,
	0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a,
	0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409,
	0xce61e49f, 0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739,
	0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1, 0xf00f9344, 0x8708a3d2, 0x1e01f268,
	0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0,
	0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8,
	0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef,
	0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703,
	0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7,
	0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d, 0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae,
	0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777, 0x88085ae6,
	0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d,
	0x3e6e77db, 0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5,
	0x47b2cf7f, 0x30b5ffe9, 0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605,
	0xcdd70693, 0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

/* Runs the CRC register over buf[0..len); no pre- or post-inversion. */
static uint32_t crc_update(uint32_t crc, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t stun_crc32(const uint8_t *buf, size_t len)
{
	return ~crc_update(0xffffffffu, buf, len);
}

/*
 * Splits msg[0..prefix) into the pieces a MAC or CRC is fed: the type
 * (bytes 0..1) and the rest after the length field (bytes 4..prefix). The
 * length field itself is replaced by the caller's value, so nothing is
 * copied. Returns false when prefix is not inside msg.
 */
static bool prefix_pieces(const uint8_t *msg, size_t msglen, size_t prefix, const uint8_t **type,
			  const uint8_t **rest, size_t *restlen)
{
	struct wire_rd r;

	if (prefix < STUN_HEADER_LEN || prefix > msglen)
		return false;
	wire_rd_init(&r, msg, msglen);
	*type = wire_rd_ptr(&r, 2);
	wire_rd_skip(&r, 2);
	*restlen = prefix - 4;
	*rest = wire_rd_ptr(&r, *restlen);
	return !r.err;
}

static void len_bytes(uint8_t out[2], uint16_t v)
{
	struct wire_wr w;

	wire_wr_init(&w, out, 2);
	wire_wr_u16(&w, v);
}

uint32_t stun_fingerprint_prefix(const uint8_t *msg, size_t msglen, size_t prefix,
				 uint16_t len_field)
{
	const uint8_t *type, *rest;
	uint8_t lenb[2];
	size_t restlen;
	uint32_t crc;

	if (!prefix_pieces(msg, msglen, prefix, &type, &rest, &restlen))
		return 0;
	len_bytes(lenb, len_field);
	crc = crc_update(0xffffffffu, type, 2);
	crc = crc_update(crc, lenb, 2);
	crc = crc_update(crc, rest, restlen);
	return ~crc ^ STUN_FINGERPRINT_XOR;
}

/*
 * The HMAC engine. OpenSSL 3 makes the obvious calls slow: HMAC() and a new
 * EVP_MAC_CTX with a "digest" parameter both look the digest up in the
 * provider store on every call (and HMAC() needs the input in one piece,
 * which would mean copying the message to patch its length field). So the
 * HMAC algorithm is fetched and one keyless template per digest is made
 * once (pthread_once); each thread then keeps its own EVP_MAC_CTX per
 * digest, duplicated from the template on first use and re-keyed with
 * EVP_MAC_init on every call: no lookup, no allocation, no lock on the
 * packet path (about 600 ns per short message against 1.1-1.8 us for the
 * alternatives, measured with OpenSSL 3.0 on x86-64). The contexts are
 * freed when their thread exits. A context holds the last key it was given,
 * and a call with that same key again (the nonce key on every challenge
 * and check, a user's key on each of its requests) only resets it
 * (EVP_MAC_init with no key restores the keyed state): keying costs more
 * than the MAC of a short message. The keys are in the server's key cache
 * anyway; the copies here are wiped when replaced or freed.
 */
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t mac_tls_key;
static bool mac_ready;
static EVP_MAC_CTX *mac_tpl[2];

#define MAC_KEY_MAX 64 /* longer keys are used as given, never kept */

struct mac_tls {
	EVP_MAC_CTX *ctx[2];
	uint8_t key[2][MAC_KEY_MAX]; /* the key ctx holds, when keyed */
	size_t keylen[2];
	bool keyed[2];
};

static void mac_tls_free(void *p)
{
	struct mac_tls *t = p;

	EVP_MAC_CTX_free(t->ctx[STUN_MAC_SHA1]);
	EVP_MAC_CTX_free(t->ctx[STUN_MAC_SHA256]);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

static void mac_init_once(void)
{
	static const char *const digest[2] = {
		[STUN_MAC_SHA1] = "SHA1",
		[STUN_MAC_SHA256] = "SHA256",
	};
	EVP_MAC *mac;
	int i;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return;
	for (i = 0; i < 2; i++) {
		OSSL_PARAM p[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest[i],
							 0),
			OSSL_PARAM_construct_end(),
		};

		mac_tpl[i] = EVP_MAC_CTX_new(mac);
		if (!mac_tpl[i] || !EVP_MAC_CTX_set_params(mac_tpl[i], p))
			goto out;
	}
	mac_ready = pthread_key_create(&mac_tls_key, mac_tls_free) == 0;
out:
	EVP_MAC_free(mac); /* the templates hold their own references */
}

static struct mac_tls *mac_tls_get(void)
{
	struct mac_tls *t;

	if (pthread_once(&mac_once, mac_init_once) != 0 || !mac_ready)
		return NULL;
	t = pthread_getspecific(mac_tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		if (pthread_setspecific(mac_tls_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	return t;
}

/* Drops a context after a failure so the next call starts from a clean one. */
static void mac_ctx_drop(enum stun_mac_alg alg)
{
	struct mac_tls *t = pthread_getspecific(mac_tls_key);

	if (t) {
		EVP_MAC_CTX_free(t->ctx[alg]);
		t->ctx[alg] = NULL;
		t->keyed[alg] = false;
	}
}

/* This thread's context for alg, started for a MAC with key: reset when
 * it already holds that key, keyed (and the key kept) otherwise. Returns
 * NULL on failure. */
static EVP_MAC_CTX *mac_start(enum stun_mac_alg alg, const uint8_t *key, size_t keylen)
{
	static const uint8_t nokey; /* EVP_MAC_init takes NULL as "same key" */
	struct mac_tls *t = mac_tls_get();
	bool same;

	if (!t)
		return NULL;
	if (!t->ctx[alg]) {
		t->ctx[alg] = EVP_MAC_CTX_dup(mac_tpl[alg]);
		t->keyed[alg] = false;
		if (!t->ctx[alg])
			return NULL;
	}
	same = t->keyed[alg] && keylen && t->keylen[alg] == keylen &&
	       CRYPTO_memcmp(t->key[alg], key, keylen) == 0;
	if (!EVP_MAC_init(t->ctx[alg],
			  same     ? NULL
			  : keylen ? key
				   : &nokey,
			  same ? 0 : keylen, NULL)) {
		mac_ctx_drop(alg);
		return NULL;
	}
	if (!same) {
		t->keyed[alg] = keylen > 0 && keylen <= MAC_KEY_MAX;
		OPENSSL_cleanse(t->key[alg], MAC_KEY_MAX);
		if (t->keyed[alg])
			memcpy(t->key[alg], key, keylen);
		t->keylen[alg] = keylen;
	}
	return t->ctx[alg];
}

int stun_hmac_prefix(enum stun_mac_alg alg, const uint8_t *key, size_t keylen, const uint8_t *msg,
		     size_t msglen, size_t prefix, uint16_t len_field,
		     uint8_t out[STUN_HMAC_SHA256_LEN])
{
	const uint8_t *type, *rest;
	uint8_t lenb[2];
	size_t restlen, outlen;
	EVP_MAC_CTX *ctx;

	if (!prefix_pieces(msg, msglen, prefix, &type, &rest, &restlen))
		return TP_EINVAL;
	len_bytes(lenb, len_field);
	ctx = mac_start(alg, key, keylen);
	if (!ctx)
		return TP_ECRYPTO;
	if (!EVP_MAC_update(ctx, type, 2) || !EVP_MAC_update(ctx, lenb, 2) ||
	    !EVP_MAC_update(ctx, rest, restlen) ||
	    !EVP_MAC_final(ctx, out, &outlen, STUN_HMAC_SHA256_LEN)) {
		mac_ctx_drop(alg);
		return TP_ECRYPTO;
	}
	return 0;
}

int stun_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *in, size_t inlen,
		     uint8_t out[STUN_HMAC_SHA256_LEN])
{
	EVP_MAC_CTX *ctx = mac_start(STUN_MAC_SHA256, key, keylen);
	size_t outlen;

	if (!ctx)
		return TP_ECRYPTO;
	if (!EVP_MAC_update(ctx, in, inlen) ||
	    !EVP_MAC_final(ctx, out, &outlen, STUN_HMAC_SHA256_LEN)) {
		mac_ctx_drop(STUN_MAC_SHA256);
		return TP_ECRYPTO;
	}
	return 0;
}

/*
 * RFC 8489 §14.5, §14.6: the HMAC covers the message up to the attribute,
 * with the length field counting up to the end of the attribute; the
 * SHA-256 one may be truncated to its attribute's length.
 */
static int check_mac(const struct stun_msg *msg, int idx, enum stun_mac_alg alg, const uint8_t *key,
		     size_t keylen)
{
	uint8_t mac[STUN_HMAC_SHA256_LEN];
	const struct stun_attr *a;
	const uint8_t *got;
	size_t end;
	int rc;

	if (idx < 0 || (unsigned)idx >= msg->nattrs)
		return TP_ENOTFOUND;
	a = &msg->attrs[idx];
	if (alg == STUN_MAC_SHA1 ? a->len != STUN_HMAC_SHA1_LEN
				 : (a->len < 16 || a->len > STUN_HMAC_SHA256_LEN || (a->len & 3)))
		return TP_EINTEGRITY;
	got = stun_attr_bytes(msg, a);
	end = (size_t)a->off + a->len;
	if (!got || a->off < STUN_HEADER_LEN + 4)
		return TP_EINTEGRITY;
	rc = stun_hmac_prefix(alg, key, keylen, msg->buf, msg->len, a->off - 4,
			      (uint16_t)(end - STUN_HEADER_LEN), mac);
	if (rc)
		goto out;
	rc = CRYPTO_memcmp(mac, got, a->len) ? TP_EINTEGRITY : 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *key, size_t keylen)
{
	return check_mac(msg, msg->mi, STUN_MAC_SHA1, key, keylen);
}

int stun_msg_check_integrity_sha256(const struct stun_msg *msg, const uint8_t *key, size_t keylen)
{
	return check_mac(msg, msg->mi256, STUN_MAC_SHA256, key, keylen);
}
