/* test_peer_sdp.c - unit tests for src/peer/sdp.c: browser SDP (Chromium,
 * Firefox, aiortc) parsed as the agent needs it, candidates every way,
 * the writer's round trip, and bad input that must fail cleanly. */
#include <arpa/inet.h>

#include "check.h"
#include "peer/sdp.h"
#include "turnpike/err.h"

/* Reads tests/vectors/sdp/NAME into a malloc'd buffer. */
static char *load(const char *name, size_t *len)
{
	char rel[128], path[1024];
	char *buf;
	FILE *f;

	snprintf(rel, sizeof(rel), "tests/vectors/sdp/%s", name);
	f = fopen(check_srcpath(rel, path, sizeof(path)), "rb");
	if (!f)
		return NULL;
	buf = calloc(1, 70000);
	*len = buf ? fread(buf, 1, 69999, f) : 0;
	fclose(f);
	return buf;
}

static const char *fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	return addr_format((const struct sockaddr *)ss, true, buf, cap);
}

static struct sdp_desc d; /* big: keep off the stack */

static void test_chromium(void)
{
	char err[256], a[ADDR_STRLEN];
	size_t len = 0;
	char *t = load("chromium-offer.sdp", &len);

	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_INT(sdp_parse(t, len, &d, err, sizeof(err)), 0);
	CHECK_STR(d.ufrag, "EsAw");
	CHECK_STR(d.pwd, "bP+XJMM09aR8AiX1jdukzR6Y");
	CHECK_STR(d.fingerprint_alg, "sha-256");
	CHECK_INT(d.fingerprint_len, 32);
	CHECK_INT(d.fingerprint[0], 0xd7);
	CHECK_INT(d.fingerprint[31], 0x1f);
	CHECK_INT(d.setup, SDP_SETUP_ACTPASS);
	CHECK_STR(d.mid, "0");
	CHECK(d.rtcp_mux);
	CHECK(!d.ice_lite);
	CHECK(!d.end_of_candidates);
	/* the audio section's six: the video and data sections' are not read;
	 * the .local one and the component 2 one are ignored */
	CHECK_INT(d.ncand, 6);
	CHECK_INT(d.ignored, 2);
	CHECK_STR(d.cand[0].foundation, "2999745851");
	CHECK_INT(d.cand[0].component, 1);
	CHECK_INT(d.cand[0].priority, 2122260223u);
	CHECK_INT(d.cand[0].type, SDP_HOST);
	CHECK_STR(fmt_addr(&d.cand[0].addr, a, sizeof(a)), "192.168.1.20:50123");
	CHECK_INT(d.cand[0].raddr.ss_family, AF_UNSPEC);
	CHECK_STR(fmt_addr(&d.cand[1].addr, a, sizeof(a)), "[2001:db8::20]:50124");
	CHECK_INT(d.cand[2].transport, SDP_TCP);
	CHECK_INT(d.cand[2].tcptype, SDP_TCP_ACTIVE);
	CHECK_STR(fmt_addr(&d.cand[2].addr, a, sizeof(a)), "192.168.1.20:9");
	CHECK_INT(d.cand[3].addr.ss_family, AF_INET6);
	CHECK_INT(d.cand[4].type, SDP_SRFLX);
	CHECK_STR(fmt_addr(&d.cand[4].raddr, a, sizeof(a)), "192.168.1.20:50123");
	CHECK_INT(d.cand[5].type, SDP_RELAY);
	CHECK_INT(d.cand[5].priority, 41885439);
	CHECK_INT(d.cand[5].tcptype, SDP_TCP_NONE);
	free(t);
}

static void test_aiortc_firefox(void)
{
	char err[256], a[ADDR_STRLEN];
	size_t len = 0;
	char *t = load("aiortc-answer.sdp", &len);

	CHECK(t != NULL);
	if (!t)
		return;
	/* LF line ends, candidates before the ICE credentials */
	CHECK_INT(sdp_parse(t, len, &d, err, sizeof(err)), 0);
	CHECK_STR(d.ufrag, "Wk3r");
	CHECK_INT(d.setup, SDP_SETUP_ACTIVE);
	CHECK(d.end_of_candidates);
	CHECK_INT(d.ncand, 3);
	CHECK_INT(d.ignored, 0);
	CHECK_STR(d.cand[0].foundation, "8f6b1ad0e0cd0c4dd7c5d8b2e3a1f4c6");
	CHECK_STR(fmt_addr(&d.cand[1].addr, a, sizeof(a)), "[fe80::a00:27ff:fe4e:66a1]:54322");
	CHECK_INT(d.fingerprint[9], 0x93);
	free(t);

	t = load("firefox-answer.sdp", &len);
	CHECK(t != NULL);
	if (!t)
		return;
	/* session-level fingerprint; media-level ICE credentials win */
	CHECK_INT(sdp_parse(t, len, &d, err, sizeof(err)), 0);
	CHECK_STR(d.ufrag, "d4c2f1a0");
	CHECK_STR(d.pwd, "0123456789abcdef0123456789abcdef");
	CHECK_INT(d.fingerprint_len, 32);
	CHECK_INT(d.fingerprint[0], 0x11);
	CHECK_INT(d.setup, SDP_SETUP_PASSIVE);
	CHECK_STR(d.mid, "audio");
	CHECK_INT(d.ncand, 3);
	CHECK_INT(d.cand[1].transport, SDP_TCP); /* "TCP", upper case */
	CHECK_STR(fmt_addr(&d.cand[2].addr, a, sizeof(a)), "[2001:db8::99]:61002");
	CHECK(d.end_of_candidates);
	free(t);
}

#define HDR "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define ICE "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"
#define CAND(port) "a=candidate:1 1 udp 100 10.0.0.1 " #port " typ host\r\n"

static int parse(const char *s, char *err, size_t cap)
{
	return sdp_parse(s, strlen(s), &d, err, cap);
}

/* Which section's transport counts: the BUNDLE tag's (RFC 8843 §7.1), or
 * the audio (else application) section's own. */
static void test_sections(void)
{
	char err[256];

	/* audio bundled behind a video tag section: the video transport */
	CHECK_INT(
		parse(HDR
		      "a=group:BUNDLE v a\r\n"
		      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n" ICE CAND(
			      1000) "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\na=bundle-only\r\n",
		      err, sizeof(err)),
		0);
	CHECK_STR(d.mid, "a");
	CHECK_INT(d.ncand, 1);
	CHECK_INT(d.cand[0].addr.ss_family == AF_INET
			  ? addr_port((struct sockaddr *)&d.cand[0].addr)
			  : 0,
		  1000);
	/* no BUNDLE: the audio section's own, even after another section */
	CHECK_INT(parse(HDR "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n" CAND(
				1000) "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\n" ICE CAND(2000),
			err, sizeof(err)),
		  0);
	CHECK_INT(d.ncand, 1);
	CHECK_INT(addr_port((struct sockaddr *)&d.cand[0].addr), 2000);
	/* a data-channel-only offer */
	CHECK_INT(parse(HDR "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" ICE CAND(
				3000) "a=ice-lite\r\n",
			err, sizeof(err)),
		  0);
	CHECK_INT(d.ncand, 1);
	CHECK(d.ice_lite);
	/* session-level credentials serve a section without its own */
	CHECK_INT(parse(HDR ICE "m=audio 9 RTP/AVP 0\r\n" CAND(4000), err, sizeof(err)), 0);
	CHECK_STR(d.ufrag, "abcd");
	CHECK_INT(d.setup, SDP_SETUP_NONE);
	CHECK_INT(d.fingerprint_len, 0);
	/* no trailing line end at all */
	CHECK_INT(parse(HDR ICE "m=audio 9 RTP/AVP 0\r\na=rtcp-mux", err, sizeof(err)), 0);
	CHECK(d.rtcp_mux);
}

/* Every error names what is wrong; never more than 40 input bytes. */
static void expect_bad(const char *sdp, const char *reason)
{
	char err[256] = "unset";
	int rc = parse(sdp, err, sizeof(err));

	CHECK_INT(rc, TP_EMALFORMED);
	if (!strstr(err, reason)) {
		check_failed++;
		fprintf(stderr, "want reason \"%s\", got \"%s\"\n", reason, err);
	}
	check_run++;
	CHECK(strlen(err) < 200);
}

static void test_bad(void)
{
	char big[70000], err[256];

	expect_bad("", "empty");
	expect_bad("v=1\r\n", "first line is not v=0");
	expect_bad("hello world\r\n", "not a type=value line");
	expect_bad(HDR "\r\nm=audio 9 RTP/AVP 0\r\n", "line 5: not a type=value line");
	expect_bad(HDR ICE, "no m= line");
	expect_bad(HDR ICE "m=video 9 RTP/AVP 96\r\n", "no audio or application");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\na=ice-pwd:0123456789012345678901\r\n",
		   "no a=ice-ufrag");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:abcd\r\n", "no a=ice-pwd");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:short\r\n",
		   "line 7: a=ice-pwd: want 22..256 ice-chars: 'short'");
	expect_bad(
		HDR
		"m=audio 9 RTP/AVP 0\r\na=ice-ufrag:ab d\r\na=ice-pwd:0123456789012345678901\r\n",
		"a=ice-ufrag");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=fingerprint:sha-256 AB:CD\r\n",
		   "want 32 hex");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=fingerprint:sha-1 "
		       "ZZ:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
		       "00:00:00:00\r\n",
		   "not hex");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=fingerprint:sha-1 "
		       "00-00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
		       "00:00:00:00\r\n",
		   "colon");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=fingerprint:crc32 00:00:00:00\r\n",
		   "unknown hash");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=setup:holdconn\r\n", "a=setup");
	/* RFC 5888 §4 (found by fuzz_sdp: the answer echoed both sections
	 * under one mid, and did not parse again). */
	expect_bad(HDR "m=video 9 RTP/AVP 96\r\na=mid:1\r\nm=audio 9 RTP/AVP 0\r\n" ICE
		       "a=mid:1\r\n",
		   "line 10: a=mid:1 in two m= sections");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=mid:0\r\na=mid:1\r\n",
		   "a second a=mid in one m= section");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=mid:0123456789012345678901234567890123\r\n",
		   "a=mid over");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=candidate:1 1 udp 100 10.0.0.1 5 host\r\n",
		   "bad candidate");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=candidate:1 1 udp 100 10.0.0.1 5 typ host "
		       "generation\r\n",
		   "line 8: bad candidate: 'a=candidate:1 1 udp 100 10.0.0.1 5 typ h...'");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE
		       "a=candidate:1 1 udp 100 10.0.0.1\x01 5 typ host\r\n",
		   "control character: 'a=candidate:1 1 udp 100 10.0.0.1\\x01 5 t");
	expect_bad(HDR "m=audio 9 RTP/AVP 0\r\n" ICE "a=candidate:1 1 udp 100 [::1] 5 typ host\r\n",
		   "bad candidate");
	CHECK_INT(sdp_parse(HDR "\0", sizeof(HDR), &d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "NUL") != NULL);

	/* over 64 KiB: refused before looking at it */
	memset(big, 'x', sizeof(big));
	memcpy(big, HDR, strlen(HDR));
	CHECK_INT(sdp_parse(big, sizeof(big), &d, err, sizeof(err)), TP_EMALFORMED);
	CHECK(strstr(err, "over 65536 bytes") != NULL);
	/* one very long line: quoted 40 bytes and "..." */
	memset(big, 'a', sizeof(big));
	memcpy(big, "v=0\r\na=", 7);
	CHECK_INT(sdp_parse(big, 60000, &d, err, sizeof(err)), TP_EMALFORMED);
	/* tiny or absent error buffers are fine */
	CHECK_INT(sdp_parse("x", 1, &d, err, 1), TP_EMALFORMED);
	CHECK_INT(err[0], 0);
	CHECK_INT(sdp_parse("x", 1, &d, NULL, 0), TP_EMALFORMED);
	CHECK_INT(sdp_parse(NULL, 0, &d, err, sizeof(err)), TP_EMALFORMED);
}

/* Every prefix of a real SDP and every byte flipped: 0 or TP_EMALFORMED,
 * never anything else (ASan watches the reads). */
static void test_truncated_garbage(void)
{
	char err[256];
	size_t len = 0, ok = 0;
	char *t = load("chromium-offer.sdp", &len), *copy;

	CHECK(t != NULL);
	if (!t)
		return;
	for (size_t n = 0; n <= len; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, t, n);
		int rc = sdp_parse(copy, n, &d, err, sizeof(err));
		if (rc != 0 && rc != TP_EMALFORMED) {
			CHECK_INT(rc, TP_EMALFORMED);
			break;
		}
		ok += rc == 0;
		free(copy);
	}
	CHECK(ok > 0); /* long enough prefixes carry ufrag, pwd and m= */
	for (size_t i = 0; i < len; i += 7) {
		char saved = t[i];
		t[i] = (char)(0x80 | (i & 0x7f));
		int rc = sdp_parse(t, len, &d, err, sizeof(err));
		CHECK(rc == 0 || rc == TP_EMALFORMED);
		t[i] = saved;
	}
	free(t);
}

static void test_candidates(void)
{
	struct sdp_candidate c;
	char a[ADDR_STRLEN];
	const char *l;

	/* aioice's Candidate.to_sdp() has no "candidate:" prefix */
	l = "6815297761 1 udp 659136 1.2.3.4 31102 typ host generation 0";
	CHECK_INT(sdp_candidate_parse(l, strlen(l), &c), 0);
	CHECK_STR(c.foundation, "6815297761");
	l = "a=candidate:1 2 UDP 1 ::1 7 typ prflx raddr ::1 rport 8";
	CHECK_INT(sdp_candidate_parse(l, strlen(l), &c), 0);
	CHECK_INT(c.component, 2);
	CHECK_INT(c.type, SDP_PRFLX);
	CHECK_STR(fmt_addr(&c.raddr, a, sizeof(a)), "[::1]:8");
	l = "candidate:1 1 tcp 5 10.0.0.1 443 typ relay tcptype passive ufrag x network-cost 50";
	CHECK_INT(sdp_candidate_parse(l, strlen(l), &c), 0);
	CHECK_INT(c.tcptype, SDP_TCP_PASSIVE);
	l = "candidate:1 1 tcp 5 10.0.0.1 443 typ host tcptype so";
	CHECK_INT(sdp_candidate_parse(l, strlen(l), &c), 0);
	CHECK_INT(c.tcptype, SDP_TCP_SO);
	l = "candidate:1 1 udp 4294967295 10.0.0.1 0 typ host";
	CHECK_INT(sdp_candidate_parse(l, strlen(l), &c), 0);
	CHECK_INT(c.priority, 4294967295u);

	/* ignored: mDNS and other names, unknown transport, tcptype or type,
	 * TCP without tcptype */
	static const char *const ignored[] = {
		"candidate:1 1 udp 5 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab.local 5000 typ host",
		"candidate:1 1 udp 5 turn.example.net 5000 typ relay",
		"candidate:1 1 ssltcp 5 10.0.0.1 443 typ host",
		"candidate:1 1 tcp 5 10.0.0.1 443 typ host tcptype sideways",
		"candidate:1 1 tcp 5 10.0.0.1 443 typ host",
		"candidate:1 1 udp 5 10.0.0.1 443 typ future",
	};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		CHECK_INT(sdp_candidate_parse(ignored[i], strlen(ignored[i]), &c), TP_ENOTFOUND);

	static const char *const bad[] = {
		"",
		"candidate:",
		"candidate:1",
		"candidate:1 1 udp 5 10.0.0.1 5000",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ",
		"candidate:1 0 udp 5 10.0.0.1 5000 typ host",
		"candidate:1 257 udp 5 10.0.0.1 5000 typ host",
		"candidate:1 1 udp 4294967296 10.0.0.1 5000 typ host",
		"candidate:1 1 udp -5 10.0.0.1 5000 typ host",
		"candidate:1 1 udp 5 10.0.0.1 65536 typ host",
		"candidate:1 1 udp 5 10.0.0.1 5000 type host",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ host raddr 1.2.3.4",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ host raddr 1.2.3.4 rport x",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ host raddr 1.2.3.4 rport 1 raddr 1.2.3.4 "
		"rport 1",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ host generation",
		"candidate:1 1 udp 5 10.0.0.1:5000 5000 typ host",
		"candidate:a_b 1 udp 5 10.0.0.1 5000 typ host",
		"candidate:012345678901234567890123456789012 1 udp 5 10.0.0.1 5000 typ host",
		"candidate:1 1 udp 5 10.0.0.1 5000 typ host\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sdp_candidate_parse(bad[i], strlen(bad[i]), &c);
		if (rc != TP_EMALFORMED)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_INT(rc, TP_EMALFORMED);
	}
	CHECK_STR(sdp_cand_type_name(SDP_HOST), "host");
	CHECK_STR(sdp_cand_type_name(SDP_SRFLX), "srflx");
	CHECK_STR(sdp_cand_type_name(SDP_PRFLX), "prflx");
	CHECK_STR(sdp_cand_type_name(SDP_RELAY), "relay");
}

static void set_cand(struct sdp_candidate *c, const char *fnd, enum sdp_cand_type type,
		     enum sdp_transport tr, const char *addr, const char *raddr,
		     enum sdp_tcptype tt)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->foundation, sizeof(c->foundation), "%s", fnd);
	c->component = 1;
	c->type = type;
	c->transport = tr;
	c->priority = 0x7e0000ffu - (uint32_t)type;
	CHECK_INT(addr_parse(addr, 0, &c->addr), 0);
	if (raddr)
		CHECK_INT(addr_parse(raddr, 0, &c->raddr), 0);
	c->tcptype = tt;
}

static struct sdp_desc w;

static void test_write(void)
{
	char buf[4096], err[256], a[ADDR_STRLEN];
	int n;

	memset(&w, 0, sizeof(w));
	snprintf(w.ufrag, sizeof(w.ufrag), "u+f/");
	snprintf(w.pwd, sizeof(w.pwd), "p4ssw0rdp4ssw0rdp4ssw0rd");
	snprintf(w.fingerprint_alg, sizeof(w.fingerprint_alg), "sha-256");
	for (size_t i = 0; i < 32; i++)
		w.fingerprint[i] = (uint8_t)(i * 9);
	w.fingerprint_len = 32;
	w.setup = SDP_SETUP_ACTPASS;
	set_cand(&w.cand[0], "1", SDP_RELAY, SDP_UDP, "[2001:db8::1]:40000", "192.0.2.1:5000",
		 SDP_TCP_NONE);
	set_cand(&w.cand[1], "2", SDP_HOST, SDP_UDP, "127.0.0.1:5000", NULL, SDP_TCP_NONE);
	set_cand(&w.cand[2], "3", SDP_SRFLX, SDP_UDP, "192.0.2.1:5000", "127.0.0.1:5000",
		 SDP_TCP_NONE);
	set_cand(&w.cand[3], "4", SDP_HOST, SDP_TCP, "127.0.0.1:9", NULL, SDP_TCP_ACTIVE);
	set_cand(&w.cand[4], "5", SDP_PRFLX, SDP_TCP, "127.0.0.1:7000", NULL, SDP_TCP_PASSIVE);
	w.ncand = 5;

	n = sdp_write(&w, 0x1234567890ULL, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(strlen(buf), n);
	CHECK(strstr(buf, "v=0\r\no=- 78187493520 2 IN IP4 127.0.0.1\r\n") == buf);
	CHECK(strstr(buf, "a=group:BUNDLE 0\r\n") != NULL);
	CHECK(strstr(buf, "m=audio 40000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP6 2001:db8::1\r\n") != NULL);
	CHECK(strstr(buf, "a=fingerprint:sha-256 00:09:12:1B:") != NULL);
	CHECK(strstr(buf, "a=setup:actpass\r\n") != NULL);
	CHECK(strstr(buf,
		     "a=candidate:1 1 udp 2113929468 2001:db8::1 40000 typ relay raddr 192.0.2.1 "
		     "rport 5000\r\n") != NULL);
	CHECK(strstr(buf,
		     "a=candidate:4 1 tcp 2113929471 127.0.0.1 9 typ host tcptype active\r\n") !=
	      NULL);
	CHECK(strstr(buf, "a=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n") != NULL);
	CHECK(strstr(buf, "a=end-of-candidates\r\n") != NULL);

	/* and back: what we write is what we read */
	CHECK_INT(sdp_parse(buf, (size_t)n, &d, err, sizeof(err)), 0);
	CHECK_STR(d.ufrag, w.ufrag);
	CHECK_STR(d.pwd, w.pwd);
	CHECK_STR(d.fingerprint_alg, "sha-256");
	CHECK_INT(d.fingerprint_len, 32);
	CHECK_MEM(d.fingerprint, w.fingerprint, 32);
	CHECK_INT(d.setup, SDP_SETUP_ACTPASS);
	CHECK_STR(d.mid, "0");
	CHECK(d.rtcp_mux && d.end_of_candidates);
	CHECK_INT(d.ncand, 5);
	for (size_t i = 0; i < 5 && i < d.ncand; i++) {
		CHECK_STR(d.cand[i].foundation, w.cand[i].foundation);
		CHECK_INT(d.cand[i].priority, w.cand[i].priority);
		CHECK_INT(d.cand[i].type, w.cand[i].type);
		CHECK_INT(d.cand[i].transport, w.cand[i].transport);
		CHECK_INT(d.cand[i].tcptype, w.cand[i].tcptype);
		CHECK(addr_equal((struct sockaddr *)&d.cand[i].addr,
				 (struct sockaddr *)&w.cand[i].addr));
		CHECK_INT(d.cand[i].raddr.ss_family, w.cand[i].raddr.ss_family);
	}
	CHECK_STR(fmt_addr(&d.cand[2].raddr, a, sizeof(a)), "127.0.0.1:5000");

	/* every buffer too small by any amount: TP_ENOSPC, never an overrun */
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		char *small = malloc(cap ? cap : 1);
		int rc = sdp_write(&w, 0x1234567890ULL, small, cap);
		free(small);
		if (rc != TP_ENOSPC) {
			CHECK_INT(rc, TP_ENOSPC);
			break;
		}
	}
	CHECK_INT(sdp_write(&w, 0x1234567890ULL, buf, (size_t)n + 1), n);
	/* no candidates: the 0.0.0.0:9 placeholder; no setup, no fingerprint */
	w.ncand = 0;
	w.setup = SDP_SETUP_NONE;
	w.fingerprint_len = 0;
	snprintf(w.mid, sizeof(w.mid), "audio");
	n = sdp_write(&w, 7, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strstr(buf, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n") != NULL);
	CHECK(strstr(buf, "a=mid:audio\r\n") != NULL);
	CHECK(strstr(buf, "a=setup") == NULL && strstr(buf, "a=fingerprint") == NULL);

	/* what would break the text is refused */
	snprintf(w.ufrag, sizeof(w.ufrag), "ab\r\nc");
	CHECK_INT(sdp_write(&w, 7, buf, sizeof(buf)), TP_EINVAL);
	snprintf(w.ufrag, sizeof(w.ufrag), "abcd");
	snprintf(w.mid, sizeof(w.mid), "a b");
	CHECK_INT(sdp_write(&w, 7, buf, sizeof(buf)), TP_EINVAL);
	w.mid[0] = '\0';
	w.ncand = 1;
	snprintf(w.cand[0].foundation, sizeof(w.cand[0].foundation), "x y");
	CHECK_INT(sdp_write(&w, 7, buf, sizeof(buf)), TP_EINVAL);
}

/* An answer to a browser's offer (RFC 8829 §5.3.1, RFC 3264 §6): the
 * offer's sections read in order, the audio one ours (its own transport
 * under a "balanced" BUNDLE), PCMU and the direction noted; the answer
 * written mirrors them, the others rejected with port 0. */
static void test_answer(void)
{
	char buf[4096], err[256];
	const char *v, *au, *ap;
	int n;

	static const char offer[] = HDR
		"a=group:BUNDLE 0 1 2\r\n"
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
		"a=mid:0\r\n" ICE CAND(
			1000) "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n"
			      "a=mid:1\r\n"
			      "a=sendonly\r\n" ICE CAND(
				      2000) "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
					    "a=mid:2\r\n" ICE CAND(3000);

	CHECK_INT(parse(offer, err, sizeof(err)), 0);
	CHECK_INT(d.nsec, 3);
	CHECK_INT(d.chosen, 1);
	CHECK_STR(d.mid, "1");
	CHECK(d.pcmu);
	CHECK_INT(d.direction, SDP_SENDONLY);
	CHECK_INT(d.ncand, 1);
	CHECK_INT(addr_port((struct sockaddr *)&d.cand[0].addr), 2000);
	CHECK_STR(d.sec[0].media, "video");
	CHECK_STR(d.sec[0].proto, "UDP/TLS/RTP/SAVPF");
	CHECK_STR(d.sec[0].fmt, "96");
	CHECK_STR(d.sec[2].fmt, "webrtc-datachannel");
	CHECK_STR(d.sec[2].mid, "2");

	memset(&w, 0, sizeof(w));
	snprintf(w.ufrag, sizeof(w.ufrag), "u+f/");
	snprintf(w.pwd, sizeof(w.pwd), "p4ssw0rdp4ssw0rdp4ssw0rd");
	memcpy(w.sec, d.sec, sizeof(w.sec));
	w.nsec = d.nsec;
	w.chosen = d.chosen;
	snprintf(w.mid, sizeof(w.mid), "%s", d.mid);
	w.direction = SDP_RECVONLY;
	w.setup = SDP_SETUP_ACTIVE;
	n = sdp_write(&w, 1, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strstr(buf, "a=group:BUNDLE 1\r\n") != NULL);
	v = strstr(buf, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n");
	au = strstr(buf, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n");
	ap = strstr(buf, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 "
			 "0.0.0.0\r\na=mid:2\r\n");
	CHECK(v && au && ap && v < au && au < ap);
	CHECK(strstr(buf, "a=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n") != NULL);
	/* and back: our section is found among the rejected ones */
	CHECK_INT(sdp_parse(buf, (size_t)n, &d, err, sizeof(err)), 0);
	CHECK_INT(d.nsec, 3);
	CHECK_INT(d.chosen, 1);
	CHECK(d.pcmu);
	CHECK_INT(d.direction, SDP_RECVONLY);
	CHECK_STR(d.ufrag, "u+f/");
	/* our section must be an audio one; the indexes must hold */
	w.chosen = 0;
	CHECK_INT(sdp_write(&w, 1, buf, sizeof(buf)), TP_EINVAL);
	w.chosen = 3;
	CHECK_INT(sdp_write(&w, 1, buf, sizeof(buf)), TP_EINVAL);
	/* mids stay unique (RFC 5888 §4): ours may not take another's, and
	 * ours without one (an offer may give none) gets a number no other
	 * section uses, not "0" blindly (found by fuzz_sdp) */
	w.chosen = 1;
	snprintf(w.mid, sizeof(w.mid), "0");
	CHECK_INT(sdp_write(&w, 1, buf, sizeof(buf)), TP_EINVAL);
	w.mid[0] = '\0';
	w.sec[1].mid[0] = '\0';
	snprintf(w.sec[2].mid, sizeof(w.sec[2].mid), "1");
	n = sdp_write(&w, 1, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strstr(buf, "a=group:BUNDLE 2\r\n") != NULL);
	CHECK(strstr(buf, "a=mid:2\r\na=recvonly\r\n") != NULL);
	CHECK_INT(sdp_parse(buf, (size_t)n, &d, err, sizeof(err)), 0);
	CHECK_INT(d.chosen, 1);
	CHECK_STR(d.mid, "2");
	CHECK_STR(d.sec[2].mid, "1");

	/* no PCMU offered: noted, for the media layer to refuse */
	CHECK_INT(parse(HDR ICE "m=audio 9 UDP/TLS/RTP/SAVPF 111 8\r\na=mid:0\r\n" CAND(4000), err,
			sizeof(err)),
		  0);
	CHECK(!d.pcmu);
	CHECK_INT(d.direction, SDP_SENDRECV);
	/* more sections than an answer can mirror */
	{
		char many[4096] = HDR ICE;
		for (int i = 0; i <= SDP_MAX_SECTIONS; i++)
			strcat(many, "m=audio 9 RTP/AVP 0\r\n");
		CHECK_INT(parse(many, err, sizeof(err)), TP_EMALFORMED);
		CHECK(strstr(err, "more than 16 m= sections") != NULL);
	}
}

int main(void)
{
	test_chromium();
	test_aiortc_firefox();
	test_sections();
	test_bad();
	test_truncated_garbage();
	test_candidates();
	test_write();
	test_answer();
	return check_done("test_peer_sdp");
}
