/* test_peer_srtp.c - unit tests for src/peer/srtp.c: SRTP and SRTCP round
 * trips both ways with both profiles, a tampered packet counted as an
 * authentication failure, a replayed and a too-old one as replays, and the
 * key direction of RFC 5764 §4.2. */
#include "check.h"
#include "peer/rtp.h"
#include "peer/srtp.h"
#include "turnpike/err.h"

#define CAP (1500 + PEER_SRTP_OVERHEAD)

static void keys_make(struct peer_srtp_keys *k, enum peer_srtp_profile p)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	k->profile = p;
	k->salt_len = p == PEER_SRTP_AEAD_AES_128_GCM ? 12 : 14;
	for (i = 0; i < PEER_SRTP_KEY_LEN; i++) {
		k->client_key[i] = (uint8_t)(0x10 + i);
		k->server_key[i] = (uint8_t)(0x80 + i);
	}
	for (i = 0; i < k->salt_len; i++) {
		k->client_salt[i] = (uint8_t)(0x40 + i);
		k->server_salt[i] = (uint8_t)(0xc0 + i);
	}
}

/* Protects the sender's next packet from tx into out; returns its length
 * and leaves the plaintext in plain. */
static size_t rtp_next(struct peer_srtp *tx, struct peer_rtp_sender *snd, uint8_t *plain,
		       size_t *plain_len, uint8_t *out)
{
	size_t len;
	int n = peer_rtp_sender_next(snd, plain, CAP);

	CHECK(n > 0);
	*plain_len = (size_t)n;
	memcpy(out, plain, (size_t)n);
	len = (size_t)n;
	CHECK_INT(peer_srtp_protect_rtp(tx, out, &len, CAP), 0);
	return len;
}

static void one_way(struct peer_srtp *tx, struct peer_srtp *rx, uint32_t ssrc)
{
	struct peer_rtp_sender snd;
	uint8_t plain[CAP], pkt[CAP], copy[CAP], rtcp[CAP], rplain[CAP];
	size_t plen, len, copylen;
	struct rtcp_block blk;
	struct rtcp_report rep;
	int i, n, bad;

	CHECK_INT(peer_rtp_sender_init(&snd, ssrc, 65530, 0, 0, 0), 0);
	/* Ten packets across a sequence wrap (65530 .. 3). */
	for (i = 0; i < 10; i++) {
		len = rtp_next(tx, &snd, plain, &plen, pkt);
		CHECK(memcmp(pkt + RTP_HDR_LEN, plain + RTP_HDR_LEN, 16) != 0); /* encrypted */
		CHECK_INT(peer_demux_classify(pkt, len), PEER_DEMUX_RTP);
		if (i == 4) {
			memcpy(copy, pkt, len);
			copylen = len;
		}
		CHECK_INT(peer_srtp_unprotect_rtp(rx, pkt, &len), 0);
		CHECK_INT(len, plen);
		CHECK_MEM(pkt, plain, plen);
	}
	CHECK_INT(rx->st.unprotected_rtp, 10);

	/* A replay: the same packet again (RFC 3711 §3.3.2). */
	CHECK_INT(peer_srtp_unprotect_rtp(rx, copy, &copylen), TP_ELIMIT);
	CHECK_INT(rx->st.replays, 1);

	/* A tampered packet: one payload bit flipped. */
	len = rtp_next(tx, &snd, plain, &plen, pkt);
	memcpy(copy, pkt, len);
	copylen = len;
	pkt[RTP_HDR_LEN + 3] ^= 0x01;
	CHECK_INT(peer_srtp_unprotect_rtp(rx, pkt, &len), TP_EINTEGRITY);
	CHECK_INT(rx->st.auth_failures, 1);
	/* The genuine one still goes through afterwards: a forgery does not
	 * advance the replay window. (libsrtp may have decrypted the forged
	 * buffer in place before the GCM tag failed: use the copy.) */
	memcpy(pkt, copy, copylen);
	len = copylen;
	CHECK_INT(peer_srtp_unprotect_rtp(rx, pkt, &len), 0);
	CHECK_MEM(pkt, plain, plen);
	/* A tampered header (sequence number) fails too. */
	len = rtp_next(tx, &snd, plain, &plen, pkt);
	pkt[3] ^= 0x40;
	CHECK_INT(peer_srtp_unprotect_rtp(rx, pkt, &len), TP_EINTEGRITY);
	CHECK_INT(rx->st.auth_failures, 2);

	/* Far behind the window: 2000 packets later, the old one is too old. */
	for (i = 0, bad = 0; i < 2000; i++) {
		len = rtp_next(tx, &snd, plain, &plen, pkt);
		if (i == 0) {
			memcpy(copy, pkt, len);
			copylen = len;
			continue; /* never delivered */
		}
		if (peer_srtp_unprotect_rtp(rx, pkt, &len) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(peer_srtp_unprotect_rtp(rx, copy, &copylen), TP_ELIMIT);
	CHECK_INT(rx->st.replays, 2);

	/* SRTCP (rtcp-mux): an SR round trip, then its replay. */
	memset(&blk, 0, sizeof(blk));
	blk.ssrc = 77;
	n = peer_rtcp_build(rtcp, CAP, ssrc, &snd, 0x0123456789abcdefull, snd.ts, &blk, 1, "peer",
			    false);
	CHECK(n > 0);
	memcpy(rplain, rtcp, (size_t)n);
	len = (size_t)n;
	CHECK_INT(peer_srtp_protect_rtcp(tx, rtcp, &len, CAP), 0);
	CHECK_INT(peer_demux_classify(rtcp, len), PEER_DEMUX_RTCP);
	memcpy(copy, rtcp, len);
	copylen = len;
	CHECK_INT(peer_srtp_unprotect_rtcp(rx, rtcp, &len), 0);
	CHECK_INT(len, n);
	CHECK_MEM(rtcp, rplain, (size_t)n);
	CHECK_INT(peer_rtcp_parse(rtcp, len, &rep), 0);
	CHECK(rep.have_sr);
	CHECK_INT(rep.ntp, 0x0123456789abcdefull);
	CHECK_INT(peer_srtp_unprotect_rtcp(rx, copy, &copylen), TP_ELIMIT);
	CHECK_INT(rx->st.replays, 3);
	CHECK_INT(rx->st.auth_failures, 2);
	CHECK_INT(rx->st.other_errors, 0);
}

static void profile(enum peer_srtp_profile p)
{
	struct peer_srtp_keys k;
	struct peer_srtp client, server;

	keys_make(&k, p);
	CHECK_INT(peer_srtp_init(&client, &k, true), 0);
	CHECK_INT(peer_srtp_init(&server, &k, false), 0);
	CHECK_INT(client.profile, p);
	one_way(&client, &server, 0x11111111);
	one_way(&server, &client, 0x22222222);
	peer_srtp_cleanup(&client);
	peer_srtp_cleanup(&server);
	peer_srtp_cleanup(&server); /* twice is harmless */
	peer_srtp_keys_wipe(&k);
}

static void test_profiles(void)
{
	profile(PEER_SRTP_AES128_CM_SHA1_80);
	profile(PEER_SRTP_AEAD_AES_128_GCM);
	CHECK_STR(peer_srtp_profile_name(PEER_SRTP_AEAD_AES_128_GCM), "SRTP_AEAD_AES_128_GCM");
	CHECK_STR(peer_srtp_profile_name(PEER_SRTP_AES128_CM_SHA1_80), "SRTP_AES128_CM_SHA1_80");
	CHECK_STR(peer_srtp_profile_name(PEER_SRTP_NONE), "none");
}

/* Both ends as clients (wrong direction) cannot read each other, and one
 * profile cannot read the other's packets. */
static void test_key_direction(void)
{
	struct peer_srtp_keys cm, gcm;
	struct peer_srtp a, b, g;
	struct peer_rtp_sender snd;
	uint8_t plain[CAP], pkt[CAP];
	size_t plen, len;

	keys_make(&cm, PEER_SRTP_AES128_CM_SHA1_80);
	keys_make(&gcm, PEER_SRTP_AEAD_AES_128_GCM);
	CHECK_INT(peer_srtp_init(&a, &cm, true), 0);
	CHECK_INT(peer_srtp_init(&b, &cm, true), 0);
	CHECK_INT(peer_srtp_init(&g, &gcm, false), 0);
	CHECK_INT(peer_rtp_sender_init(&snd, 5, 1, 1, 0, 0), 0);
	len = rtp_next(&a, &snd, plain, &plen, pkt);
	CHECK_INT(peer_srtp_unprotect_rtp(&b, pkt, &len), TP_EINTEGRITY);
	len = rtp_next(&a, &snd, plain, &plen, pkt);
	CHECK(peer_srtp_unprotect_rtp(&g, pkt, &len) != 0);
	CHECK_INT(b.st.auth_failures, 1);
	CHECK_INT(g.st.auth_failures, 1);
	peer_srtp_cleanup(&a);
	peer_srtp_cleanup(&b);
	peer_srtp_cleanup(&g);

	/* No profile, or a salt of the wrong size: refused. */
	cm.profile = PEER_SRTP_NONE;
	CHECK_INT(peer_srtp_init(&a, &cm, true), TP_EINVAL);
	gcm.salt_len = 14;
	CHECK_INT(peer_srtp_init(&a, &gcm, true), TP_EINVAL);
	/* Not enough room for the tag. */
	keys_make(&cm, PEER_SRTP_AES128_CM_SHA1_80);
	CHECK_INT(peer_srtp_init(&a, &cm, true), 0);
	len = 172;
	CHECK_INT(peer_srtp_protect_rtp(&a, pkt, &len, 180), TP_ENOSPC);
	peer_srtp_cleanup(&a);
}

int main(void)
{
	test_profiles();
	test_key_direction();
	return check_done("test_peer_srtp");
}
