/* srtp.c - turnpike-peer's SRTP/SRTCP sessions on libsrtp2: keyed from the
 * DTLS-SRTP exporter, one outbound and one inbound, with counters of
 * authentication failures and replays. See srtp.h. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <string.h>

#include "peer/srtp.h"
#include "turnpike/err.h"

/* libsrtp's replay window (RFC 3711 §3.3.2 asks for at least 64). */
#define REPLAY_WINDOW 1024

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t lib_status = srtp_err_status_fail;
/* Debian builds libsrtp2 on NSS, which initialises itself (loading its
 * soft token and freebl with dlopen) for every cipher context when none
 * is open, and unloads them when the last one closes: each session cost
 * a dozen dlopen calls. A session kept open for the process's life keeps
 * NSS loaded; with an OpenSSL-built libsrtp it costs a few hundred bytes. */
static srtp_t lib_keeper;

static void lib_init(void)
{
	static uint8_t zero[PEER_SRTP_KEY_LEN + PEER_SRTP_SALT_MAX];
	srtp_policy_t pol;

	lib_status = srtp_init();
	if (lib_status != srtp_err_status_ok)
		return;
	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	pol.key = zero;
	pol.ssrc.type = ssrc_any_inbound;
	if (srtp_create(&lib_keeper, &pol) != srtp_err_status_ok)
		lib_keeper = NULL; /* slower sessions, nothing worse */
}

const char *peer_srtp_profile_name(enum peer_srtp_profile p)
{
	switch (p) {
	case PEER_SRTP_AEAD_AES_128_GCM:
		return "SRTP_AEAD_AES_128_GCM";
	case PEER_SRTP_AES128_CM_SHA1_80:
		return "SRTP_AES128_CM_SHA1_80";
	default:
		return "none";
	}
}

/* One direction: master key || master salt as libsrtp wants it. */
static int session_new(srtp_t *out, const struct peer_srtp_keys *k, const uint8_t *key,
		       const uint8_t *salt, bool outbound)
{
	uint8_t master[PEER_SRTP_KEY_LEN + PEER_SRTP_SALT_MAX];
	srtp_policy_t pol;
	srtp_err_status_t st;

	memset(&pol, 0, sizeof(pol));
	if (k->profile == PEER_SRTP_AEAD_AES_128_GCM) {
		/* RFC 7714 §14.2: AES-128-GCM, 16-byte tag, for SRTP and SRTCP. */
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		/* RFC 5764 §4.1.2 SRTP_AES128_CM_HMAC_SHA1_80. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	memcpy(master, key, PEER_SRTP_KEY_LEN);
	memcpy(master + PEER_SRTP_KEY_LEN, salt, k->salt_len);
	pol.key = master;
	pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	pol.window_size = REPLAY_WINDOW;
	pol.allow_repeat_tx = 0;
	st = srtp_create(out, &pol);
	OPENSSL_cleanse(master, sizeof(master));
	return st == srtp_err_status_ok ? 0 : TP_ECRYPTO;
}

int peer_srtp_init(struct peer_srtp *s, const struct peer_srtp_keys *k, bool dtls_client)
{
	srtp_t tx = NULL, rx = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if (k->profile == PEER_SRTP_NONE ||
	    k->salt_len != (k->profile == PEER_SRTP_AEAD_AES_128_GCM ? 12u : 14u))
		return TP_EINVAL;
	pthread_once(&lib_once, lib_init);
	if (lib_status != srtp_err_status_ok)
		return TP_ECRYPTO;
	/* RFC 5764 §4.2: each side sends with its own write key. */
	rc = session_new(&tx, k, dtls_client ? k->client_key : k->server_key,
			 dtls_client ? k->client_salt : k->server_salt, true);
	if (rc == 0)
		rc = session_new(&rx, k, dtls_client ? k->server_key : k->client_key,
				 dtls_client ? k->server_salt : k->client_salt, false);
	if (rc != 0) {
		if (tx)
			srtp_dealloc(tx);
		return rc;
	}
	s->tx = tx;
	s->rx = rx;
	s->profile = k->profile;
	return 0;
}

void peer_srtp_cleanup(struct peer_srtp *s)
{
	if (s->tx)
		srtp_dealloc(s->tx);
	if (s->rx)
		srtp_dealloc(s->rx);
	s->tx = s->rx = NULL;
}

static int protect(struct peer_srtp *s, uint8_t *buf, size_t *len, size_t cap, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t st;

	if (!s->tx)
		return TP_ECLOSED;
	if (*len > 65535 || cap < *len + PEER_SRTP_OVERHEAD)
		return TP_ENOSPC;
	st = rtcp ? srtp_protect_rtcp(s->tx, buf, &n) : srtp_protect(s->tx, buf, &n);
	if (st != srtp_err_status_ok)
		return TP_ECRYPTO;
	*len = (size_t)n;
	if (rtcp)
		s->st.protected_rtcp++;
	else
		s->st.protected_rtp++;
	return 0;
}

static int unprotect(struct peer_srtp *s, uint8_t *buf, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t st;

	if (!s->rx)
		return TP_ECLOSED;
	if (*len > 65535)
		return TP_EMALFORMED;
	st = rtcp ? srtp_unprotect_rtcp(s->rx, buf, &n) : srtp_unprotect(s->rx, buf, &n);
	switch (st) {
	case srtp_err_status_ok:
		*len = (size_t)n;
		if (rtcp)
			s->st.unprotected_rtcp++;
		else
			s->st.unprotected_rtp++;
		return 0;
	case srtp_err_status_auth_fail:
		s->st.auth_failures++;
		return TP_EINTEGRITY;
	case srtp_err_status_replay_fail: /* seen before */
	case srtp_err_status_replay_old:  /* left of the window */
		s->st.replays++;
		return TP_ELIMIT;
	default:
		s->st.other_errors++;
		return TP_EMALFORMED;
	}
}

int peer_srtp_protect_rtp(struct peer_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	return protect(s, buf, len, cap, false);
}

int peer_srtp_protect_rtcp(struct peer_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	return protect(s, buf, len, cap, true);
}

int peer_srtp_unprotect_rtp(struct peer_srtp *s, uint8_t *buf, size_t *len)
{
	return unprotect(s, buf, len, false);
}

int peer_srtp_unprotect_rtcp(struct peer_srtp *s, uint8_t *buf, size_t *len)
{
	return unprotect(s, buf, len, true);
}

void peer_srtp_keys_wipe(struct peer_srtp_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
