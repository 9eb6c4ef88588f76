/* sdp.h - the session description turnpike-peer exchanges (issue 11): one
 * audio m= line with ICE (RFC 8839) and DTLS (RFC 8842) attributes, parsed
 * from and written as the SDP a browser produces and accepts. Pure text
 * codec: no sockets, no allocation beyond the caller's structs. */
#ifndef TURNPIKE_PEER_SDP_H
#define TURNPIKE_PEER_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SDP_MAX_CANDIDATES 64
#define SDP_UFRAG_MAX 256 /* RFC 8839 §5.4: 4..256 ice-chars */
#define SDP_PWD_MAX 256   /* 22..256 ice-chars */
#define SDP_FOUNDATION_MAX 32
#define SDP_FINGERPRINT_MAX 64 /* digest bytes (SHA-512 at most) */

enum sdp_cand_type {
	SDP_HOST = 0,
	SDP_SRFLX,
	SDP_PRFLX,
	SDP_RELAY
};
enum sdp_transport {
	SDP_UDP = 0,
	SDP_TCP
};
/* RFC 6544 tcptype for TCP candidates; SDP_TCP_NONE for UDP. */
enum sdp_tcptype {
	SDP_TCP_NONE = 0,
	SDP_TCP_ACTIVE,
	SDP_TCP_PASSIVE,
	SDP_TCP_SO
};
/* RFC 4145 / RFC 8842 a=setup. */
enum sdp_setup {
	SDP_SETUP_NONE = 0,
	SDP_SETUP_ACTPASS,
	SDP_SETUP_ACTIVE,
	SDP_SETUP_PASSIVE
};

struct sdp_candidate {
	char foundation[SDP_FOUNDATION_MAX + 1];
	unsigned component; /* 1 (RTP; rtcp-mux so the only one we use) or 2 */
	enum sdp_transport transport;
	uint32_t priority;
	struct sockaddr_storage addr; /* connection-address and port */
	enum sdp_cand_type type;
	struct sockaddr_storage raddr; /* rel-addr/rel-port; AF_UNSPEC if absent */
	enum sdp_tcptype tcptype;
};

#define SDP_MAX_SECTIONS 16

/* RFC 8866 §6.7 media direction of the chosen section. */
enum sdp_direction {
	SDP_SENDRECV = 0,
	SDP_SENDONLY,
	SDP_RECVONLY,
	SDP_INACTIVE
};

/* One m= section as the parser saw it: an answer repeats every section of
 * the offer in order (RFC 3264 §6), the ones it cannot do with port 0. */
struct sdp_section {
	char media[16]; /* "audio", "video", "application", ... */
	char proto[40]; /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
	char fmt[40];   /* the first format ("111", "webrtc-datachannel") */
	char mid[32];   /* a=mid, "" when absent */
};

struct sdp_desc {
	char ufrag[SDP_UFRAG_MAX + 1];
	char pwd[SDP_PWD_MAX + 1];
	/* a=fingerprint: the hash name as written ("sha-256"), digest bytes. */
	char fingerprint_alg[16];
	uint8_t fingerprint[SDP_FINGERPRINT_MAX];
	size_t fingerprint_len;
	enum sdp_setup setup;
	char mid[32];  /* a=mid of ours (written: "" picks a number no other
			* section uses, "0" without other sections) */
	bool ice_lite; /* a=ice-lite (session or media level) */
	bool end_of_candidates;
	bool rtcp_mux;
	struct sdp_candidate cand[SDP_MAX_CANDIDATES];
	size_t ncand;
	size_t ignored; /* candidates skipped: mDNS .local names, unknown
			   transports, components other than 1, beyond the cap */
	/* Parsed: every m= section and which one is ours (the first audio,
	 * else application); pcmu when that section lists payload type 0
	 * (PCMU, static in RFC 3551 §6); its direction. Written: with nsec
	 * set, the answer mirrors these sections (RFC 8829 §5.3.1), ours at
	 * index chosen carrying d->mid, the others rejected with port 0. */
	struct sdp_section sec[SDP_MAX_SECTIONS];
	size_t nsec;
	size_t chosen;
	bool pcmu;
	enum sdp_direction direction;
};

/*
 * Parses an SDP offer or answer (CRLF or LF line ends, at most 64 KiB).
 * Reads the ICE and DTLS attributes at session or media level of the first
 * audio (or application) m= section; candidate lines in the RFC 8839 §5.1
 * grammar, with or without the "a=" prefix's "candidate:" spelled as
 * browsers do. Returns 0 with *out filled, or TP_EMALFORMED with a one-line
 * reason in err (at most errlen bytes, never quoting more than 40 bytes of
 * the input, escaped). Missing ice-ufrag or ice-pwd, a bad fingerprint, no
 * m= line: TP_EMALFORMED.
 */
int sdp_parse(const char *text, size_t len, struct sdp_desc *out, char *err, size_t errlen);

/*
 * Writes d as a complete SDP (CRLF line ends): v=, o= (session id from
 * sess_id), s=-, t=0 0, a=group:BUNDLE 0, a=msid-semantic, one
 * "m=audio 9 UDP/TLS/RTP/SAVPF 0" section with c=, a=rtcp:9, a=mid,
 * a=sendrecv, a=rtcp-mux, a=rtpmap:0 PCMU/8000, a=ice-ufrag, a=ice-pwd,
 * a=fingerprint and a=setup (when set),
 * every candidate, a=end-of-candidates. With d->nsec set (an answer), the
 * offer's m= sections are repeated in order: ours (d->chosen) as above,
 * every other one rejected (port 0, its mid, RFC 8829 §5.3.1), BUNDLE
 * naming ours only. Our section says d->direction (a=sendrecv unless
 * set). The first candidate's address
 * (or 0.0.0.0:9) goes into c= and m= as RFC 8839 §4.2.1.2 asks. Returns
 * the length written (without the NUL), TP_ENOSPC, or TP_EINVAL when a
 * field would break the text (ufrag, pwd, mid, foundation not ice-chars)
 * or d->mid is another section's (RFC 5888 §4: mids are unique).
 */
int sdp_write(const struct sdp_desc *d, uint64_t sess_id, char *buf, size_t cap);

/* One candidate attribute value ("candidate:..." without "a=") and back.
 * sdp_candidate_parse returns 0, TP_EMALFORMED, or TP_ENOTFOUND for a
 * candidate to ignore (mDNS name, unknown transport). */
int sdp_candidate_parse(const char *line, size_t len, struct sdp_candidate *c);
int sdp_candidate_write(const struct sdp_candidate *c, char *buf, size_t cap);

const char *sdp_cand_type_name(enum sdp_cand_type t); /* "host", "srflx", ... */

#endif
