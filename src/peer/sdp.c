/* sdp.c - the session description codec of turnpike-peer: reads the ICE
 * (RFC 8839) and DTLS (RFC 8842) attributes of a browser's SDP and writes a
 * minimal one-audio-section SDP a browser accepts. Pure text: no sockets. */
#include "peer/sdp.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "turnpike/err.h"
#include "util/addr.h"
#include "util/log.h"

#define SDP_TEXT_MAX (64 * 1024)
#define QUOTE_MAX 40 /* input bytes an error message may quote */

/* ------------------------------------------------------------------ */
/* Small bounded string helpers over (pointer, length) slices. */

struct slice {
	const char *p;
	size_t n;
};

static bool slice_eq(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool slice_ieq(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Takes the next space-separated token off *s (leading spaces skipped). */
static struct slice slice_token(struct slice *s)
{
	struct slice t;

	while (s->n && s->p[0] == ' ') {
		s->p++;
		s->n--;
	}
	t.p = s->p;
	t.n = 0;
	while (t.n < s->n && s->p[t.n] != ' ')
		t.n++;
	s->p += t.n;
	s->n -= t.n;
	return t;
}

/* Decimal number of at most maxdigits digits and at most max. */
static bool slice_uint(struct slice s, unsigned maxdigits, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > maxdigits)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/". */
static bool is_ice_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool slice_ice_chars(struct slice s, size_t min, size_t max)
{
	if (s.n < min || s.n > max)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (!is_ice_char(s.p[i]))
			return false;
	return true;
}

/* Copies s into a NUL-terminated buffer; false when it does not fit. */
static bool slice_copy(struct slice s, char *dst, size_t cap)
{
	if (s.n >= cap)
		return false;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

/* ------------------------------------------------------------------ */
/* Candidates (RFC 8839 §5.1, RFC 6544 §4.5 tcptype). */

/* A host name as the grammar allows it (letters, digits, '-', '.'). */
static bool is_hostname(struct slice s)
{
	if (s.n == 0 || s.n > 253)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* connection-address and port into out. Returns 0, TP_ENOTFOUND for a
 * name (mDNS or any FQDN: the codec resolves nothing), TP_EMALFORMED. */
static int parse_addr(struct slice a, struct slice port, struct sockaddr_storage *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	uint64_t p;

	memset(out, 0, sizeof(*out));
	if (!slice_uint(port, 5, 65535, &p))
		return TP_EMALFORMED;
	if (a.n < sizeof(buf)) {
		memcpy(buf, a.p, a.n);
		buf[a.n] = '\0';
		struct sockaddr_in *in4 = (struct sockaddr_in *)out;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
		if (inet_pton(AF_INET, buf, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)p);
			return 0;
		}
		if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)p);
			return 0;
		}
	}
	memset(out, 0, sizeof(*out));
	return is_hostname(a) ? TP_ENOTFOUND : TP_EMALFORMED;
}

int sdp_candidate_parse(const char *line, size_t len, struct sdp_candidate *c)
{
	struct slice s = {line, len}, t, addr, port;
	bool ignore = false, have_tcptype = false;
	uint64_t v;
	int rc;

	memset(c, 0, sizeof(*c));
	/* "a=candidate:", "candidate:" (browsers' RTCIceCandidate) or bare. */
	if (s.n >= 2 && memcmp(s.p, "a=", 2) == 0) {
		s.p += 2;
		s.n -= 2;
	}
	if (s.n >= 10 && strncasecmp(s.p, "candidate:", 10) == 0) {
		s.p += 10;
		s.n -= 10;
	}
	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7e)
			return TP_EMALFORMED;

	t = slice_token(&s); /* foundation = 1*32ice-char */
	if (!slice_ice_chars(t, 1, SDP_FOUNDATION_MAX))
		return TP_EMALFORMED;
	slice_copy(t, c->foundation, sizeof(c->foundation));

	t = slice_token(&s); /* component-id = 1*3DIGIT, 1..256 */
	if (!slice_uint(t, 3, 256, &v) || v == 0)
		return TP_EMALFORMED;
	c->component = (unsigned)v;

	t = slice_token(&s); /* transport: "UDP" / token; case-insensitive */
	if (t.n == 0)
		return TP_EMALFORMED;
	if (slice_ieq(t, "udp"))
		c->transport = SDP_UDP;
	else if (slice_ieq(t, "tcp"))
		c->transport = SDP_TCP;
	else
		ignore = true; /* ssltcp and other extensions */

	t = slice_token(&s); /* priority = 1*10DIGIT */
	if (!slice_uint(t, 10, UINT32_MAX, &v))
		return TP_EMALFORMED;
	c->priority = (uint32_t)v;

	addr = slice_token(&s);
	port = slice_token(&s);
	rc = parse_addr(addr, port, &c->addr);
	if (rc == TP_ENOTFOUND)
		ignore = true;
	else if (rc < 0)
		return rc;

	t = slice_token(&s);
	if (!slice_eq(t, "typ"))
		return TP_EMALFORMED;
	t = slice_token(&s);
	if (slice_eq(t, "host"))
		c->type = SDP_HOST;
	else if (slice_eq(t, "srflx"))
		c->type = SDP_SRFLX;
	else if (slice_eq(t, "prflx"))
		c->type = SDP_PRFLX;
	else if (slice_eq(t, "relay"))
		c->type = SDP_RELAY;
	else if (t.n && is_hostname(t))
		ignore = true; /* a candidate-type extension */
	else
		return TP_EMALFORMED;

	/* [SP rel-addr] [SP rel-port] *(SP extension-att-name SP value) */
	t = slice_token(&s);
	if (slice_eq(t, "raddr")) {
		addr = slice_token(&s);
		t = slice_token(&s);
		if (!slice_eq(t, "rport"))
			return TP_EMALFORMED;
		port = slice_token(&s);
		rc = parse_addr(addr, port, &c->raddr);
		if (rc == TP_EMALFORMED)
			return rc;
		/* a name here leaves raddr AF_UNSPEC: it only informs */
		t = slice_token(&s);
	}
	while (t.n) {
		struct slice val = slice_token(&s);
		if (val.n == 0)
			return TP_EMALFORMED; /* a name without its value */
		if (slice_eq(t, "raddr") || slice_eq(t, "rport"))
			return TP_EMALFORMED; /* out of place or repeated */
		if (slice_eq(t, "tcptype")) {
			have_tcptype = true;
			if (slice_eq(val, "active"))
				c->tcptype = SDP_TCP_ACTIVE;
			else if (slice_eq(val, "passive"))
				c->tcptype = SDP_TCP_PASSIVE;
			else if (slice_eq(val, "so"))
				c->tcptype = SDP_TCP_SO;
			else
				ignore = true;
		}
		/* generation, ufrag, network-id, network-cost, ...: informative */
		t = slice_token(&s);
	}
	if (c->transport == SDP_UDP)
		c->tcptype = SDP_TCP_NONE;
	else if (!have_tcptype)
		ignore = true; /* RFC 6544 §4.5: a TCP candidate needs tcptype */
	return ignore ? TP_ENOTFOUND : 0;
}

static const char *transport_name(enum sdp_transport t)
{
	return t == SDP_TCP ? "tcp" : "udp";
}

static const char *tcptype_name(enum sdp_tcptype t)
{
	switch (t) {
	case SDP_TCP_ACTIVE:
		return "active";
	case SDP_TCP_PASSIVE:
		return "passive";
	case SDP_TCP_SO:
		return "so";
	default:
		return NULL;
	}
}

const char *sdp_cand_type_name(enum sdp_cand_type t)
{
	switch (t) {
	case SDP_HOST:
		return "host";
	case SDP_SRFLX:
		return "srflx";
	case SDP_PRFLX:
		return "prflx";
	case SDP_RELAY:
		return "relay";
	}
	return "unknown";
}

int sdp_candidate_write(const struct sdp_candidate *c, char *buf, size_t cap)
{
	char a[ADDR_STRLEN], r[ADDR_STRLEN];
	const char *tt = NULL;
	size_t fl = strnlen(c->foundation, sizeof(c->foundation));
	int n, m;

	if (fl == 0 || fl > SDP_FOUNDATION_MAX)
		return TP_EINVAL;
	for (size_t i = 0; i < fl; i++)
		if (!is_ice_char(c->foundation[i]))
			return TP_EINVAL;
	if (c->component < 1 || c->component > 256 ||
	    addr_len((const struct sockaddr *)&c->addr) == 0)
		return TP_EINVAL;
	if (c->transport == SDP_TCP && !(tt = tcptype_name(c->tcptype)))
		return TP_EINVAL;
	addr_format((const struct sockaddr *)&c->addr, false, a, sizeof(a));
	n = snprintf(buf, cap, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
		     transport_name(c->transport), (unsigned)c->priority, a,
		     addr_port((const struct sockaddr *)&c->addr), sdp_cand_type_name(c->type));
	if (n < 0 || (size_t)n >= cap)
		return TP_ENOSPC;
	if (addr_len((const struct sockaddr *)&c->raddr)) {
		addr_format((const struct sockaddr *)&c->raddr, false, r, sizeof(r));
		m = snprintf(buf + n, cap - (size_t)n, " raddr %s rport %u", r,
			     addr_port((const struct sockaddr *)&c->raddr));
		if (m < 0 || (size_t)m >= cap - (size_t)n)
			return TP_ENOSPC;
		n += m;
	}
	if (tt) {
		m = snprintf(buf + n, cap - (size_t)n, " tcptype %s", tt);
		if (m < 0 || (size_t)m >= cap - (size_t)n)
			return TP_ENOSPC;
		n += m;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* The description. */

struct parser {
	const char *text;
	size_t len, pos;
	unsigned lineno;
	char *err;
	size_t errlen;
};

/* Next line without its CR/LF; false at the end. */
static bool next_line(struct parser *p, struct slice *line)
{
	size_t start = p->pos, end;

	if (p->pos >= p->len)
		return false;
	while (p->pos < p->len && p->text[p->pos] != '\n')
		p->pos++;
	end = p->pos;
	if (p->pos < p->len)
		p->pos++; /* the LF */
	if (end > start && p->text[end - 1] == '\r')
		end--;
	line->p = p->text + start;
	line->n = end - start;
	p->lineno++;
	return true;
}

/* Sets the one-line reason: "line N: WHAT: 'quoted input'". */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, struct slice quote,
						      const char *fmt, ...)
{
	char what[160], q[QUOTE_MAX * 4 + 1];
	va_list ap;

	if (!p->err || p->errlen == 0)
		return TP_EMALFORMED;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (quote.p) {
		log_escape(q, sizeof(q), quote.p, quote.n < QUOTE_MAX ? quote.n : QUOTE_MAX);
		snprintf(p->err, p->errlen, "line %u: %s: '%s%s'", p->lineno, what, q,
			 quote.n > QUOTE_MAX ? "..." : "");
	} else if (p->lineno) {
		snprintf(p->err, p->errlen, "line %u: %s", p->lineno, what);
	} else {
		snprintf(p->err, p->errlen, "%s", what);
	}
	return TP_EMALFORMED;
}

/* "a=name:value" or "a=name": splits off the name; value may be empty. */
static void attr_split(struct slice v, struct slice *name, struct slice *val)
{
	const char *colon = memchr(v.p, ':', v.n);

	name->p = v.p;
	name->n = colon ? (size_t)(colon - v.p) : v.n;
	val->p = colon ? colon + 1 : v.p + v.n;
	val->n = colon ? v.n - name->n - 1 : 0;
}

/* Digest sizes of the RFC 8122 §5 hash functions. */
static size_t fingerprint_size(struct slice alg)
{
	static const struct {
		const char *name;
		size_t len;
	} algs[] = {{"sha-1", 20},   {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48},
		    {"sha-512", 64}, {"md5", 16},     {"md2", 16}};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (slice_ieq(alg, algs[i].name))
			return algs[i].len;
	return 0;
}

/* One hex digit's value, or 16 for anything else. */
static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

/* RFC 8122 §5: fingerprint = hash-func SP 2UHEX *(":" 2UHEX). */
static int parse_fingerprint(struct parser *p, struct slice v, struct sdp_desc *d)
{
	struct slice rest = v, alg = slice_token(&rest), hex = slice_token(&rest);
	size_t want = fingerprint_size(alg), n = 0;

	if (!want)
		return fail(p, v, "a=fingerprint: unknown hash function");
	if (rest.n || hex.n != want * 3 - 1)
		return fail(p, v, "a=fingerprint: want %zu hex bytes", want);
	for (size_t i = 0; i < hex.n; i += 3) {
		unsigned hi, lo;
		char c1 = hex.p[i], c2 = hex.p[i + 1];
		if (i + 2 < hex.n && hex.p[i + 2] != ':')
			return fail(p, v, "a=fingerprint: bytes are not colon-separated");
		hi = hexval(c1);
		lo = hexval(c2);
		if (hi > 15 || lo > 15)
			return fail(p, v, "a=fingerprint: not hex");
		d->fingerprint[n++] = (uint8_t)(hi << 4 | lo);
	}
	d->fingerprint_len = n;
	for (size_t i = 0; i < alg.n; i++) /* keep the spelling, lower case */
		d->fingerprint_alg[i] =
			(char)(alg.p[i] | (alg.p[i] >= 'A' && alg.p[i] <= 'Z' ? 0x20 : 0));
	d->fingerprint_alg[alg.n] = '\0';
	return 0;
}

/* What pass 1 learns: which m= section carries the transport. */
struct layout {
	int chosen;    /* first audio (else application) section, -1 none */
	int transport; /* section whose ICE/DTLS attributes count */
};

/* Is mid one of the space-separated mids of the group's value? */
static bool group_has(struct slice group, const char *mid)
{
	struct slice t;

	while ((t = slice_token(&group)).n)
		if (slice_eq(t, mid))
			return true;
	return false;
}

/* Is the port of the m= line (without "m=") zero? */
static bool mline_port_zero(struct slice rest)
{
	struct slice port;

	slice_token(&rest); /* media */
	port = slice_token(&rest);
	return slice_eq(port, "0");
}

/* An m= line (RFC 8866 §5.14: media SP port SP proto 1*(SP fmt)) into
 * sec; false when a field is missing or too long to keep. */
static bool parse_mline(struct slice rest, struct sdp_section *sec)
{
	struct slice media = slice_token(&rest), port = slice_token(&rest);
	struct slice proto = slice_token(&rest), fmt = slice_token(&rest);

	memset(sec, 0, sizeof(*sec));
	return media.n && port.n && fmt.n && slice_copy(media, sec->media, sizeof(sec->media)) &&
	       slice_copy(proto, sec->proto, sizeof(sec->proto)) &&
	       slice_copy(fmt, sec->fmt, sizeof(sec->fmt));
}

/* Pass 1: media kinds, mids and the BUNDLE group (RFC 8843 §7.1: with
 * BUNDLE the offerer-tagged section's transport is the one in use); every
 * section into d->sec. Returns the number of m= sections, or TP_EMALFORMED
 * for an m= line that cannot be kept. */
static int scan_layout(struct parser *p, struct layout *lo, struct sdp_desc *d)
{
	struct slice line, name, val, group = {0}, tag = {0};
	int sec = -1, tag_sec = -1, audio = -1, app = -1;
	char mid[32], audio_mid[32] = "", app_mid[32] = "";
	bool own[SDP_MAX_SECTIONS] = {false}; /* a transport of its own */

	while (next_line(p, &line)) {
		if (line.n >= 2 && memcmp(line.p, "m=", 2) == 0) {
			struct slice rest = {line.p + 2, line.n - 2}, media = slice_token(&rest);
			sec++;
			if (sec >= SDP_MAX_SECTIONS)
				return fail(p, line, "more than %d m= sections", SDP_MAX_SECTIONS);
			if (!parse_mline((struct slice){line.p + 2, line.n - 2}, &d->sec[sec]))
				return fail(p, line, "bad m= line");
			d->nsec = (size_t)sec + 1;
			/* port 0: bundled only or rejected (RFC 8843 §6) */
			own[sec] = !mline_port_zero((struct slice){line.p + 2, line.n - 2});
			if (audio < 0 && slice_eq(media, "audio"))
				audio = sec;
			if (app < 0 && slice_eq(media, "application"))
				app = sec;
			continue;
		}
		if (line.n < 2 || memcmp(line.p, "a=", 2) != 0)
			continue;
		attr_split((struct slice){line.p + 2, line.n - 2}, &name, &val);
		if (sec < 0 && slice_eq(name, "group") && !group.p) {
			struct slice g = val, sem = slice_token(&g);
			if (slice_eq(sem, "BUNDLE")) {
				group = g;
				tag = slice_token(&g);
			}
		} else if (sec >= 0 && slice_eq(name, "bundle-only")) {
			own[sec] = false;
		} else if (sec >= 0 && slice_eq(name, "mid") && slice_copy(val, mid, sizeof(mid))) {
			/* RFC 5888 §4: one mid a section, unique in the session;
			 * with two alike an answer could not say which it took. */
			if (d->sec[sec].mid[0])
				return fail(p, line, "a second a=mid in one m= section");
			for (int j = 0; j < sec; j++)
				if (strcmp(d->sec[j].mid, mid) == 0)
					return fail(p, line, "a=mid:%s in two m= sections", mid);
			memcpy(d->sec[sec].mid, mid, sizeof(mid));
			if (tag.n && tag_sec < 0 && slice_eq(tag, mid))
				tag_sec = sec;
			if (sec == audio)
				memcpy(audio_mid, mid, sizeof(mid));
			if (sec == app)
				memcpy(app_mid, mid, sizeof(mid));
		}
	}
	lo->chosen = audio >= 0 ? audio : app;
	lo->transport = lo->chosen;
	/* Ours is the only section an answer of ours accepts, so its own
	 * transport is the one in use when it has one (a browser's
	 * "balanced" bundle policy gathers for each section); a bundle-only
	 * section uses the offerer-tagged one. */
	if (tag_sec >= 0 && lo->chosen >= 0 && !own[lo->chosen] &&
	    group_has(group, audio >= 0 ? audio_mid : app_mid))
		lo->transport = tag_sec;
	p->pos = 0;
	p->lineno = 0;
	return sec + 1;
}

/* Does the m= line (without "m=") list fmt among its formats? */
static bool mline_has_fmt(struct slice rest, const char *fmt)
{
	struct slice t;

	slice_token(&rest); /* media */
	slice_token(&rest); /* port */
	slice_token(&rest); /* proto */
	while ((t = slice_token(&rest)).n)
		if (slice_eq(t, fmt))
			return true;
	return false;
}

/* Per-level ICE/DTLS attributes: media level overrides session level. */
struct level {
	struct slice ufrag, pwd, fingerprint, setup;
	bool ice_lite, eoc;
	unsigned fp_line, setup_line, ufrag_line, pwd_line;
};

static void level_attr(struct level *l, struct slice name, struct slice val, unsigned lineno)
{
	if (slice_eq(name, "ice-ufrag") && !l->ufrag.p) {
		l->ufrag = val;
		l->ufrag_line = lineno;
	} else if (slice_eq(name, "ice-pwd") && !l->pwd.p) {
		l->pwd = val;
		l->pwd_line = lineno;
	} else if (slice_eq(name, "fingerprint") && !l->fingerprint.p) {
		l->fingerprint = val; /* RFC 8122 allows several: the first counts */
		l->fp_line = lineno;
	} else if (slice_eq(name, "setup") && !l->setup.p) {
		l->setup = val;
		l->setup_line = lineno;
	} else if (slice_eq(name, "ice-lite")) {
		l->ice_lite = true;
	} else if (slice_eq(name, "end-of-candidates")) {
		l->eoc = true;
	}
}

/* A candidate line of the transport section into d (or counted ignored). */
static int add_candidate(struct parser *p, struct slice line, struct slice val, struct sdp_desc *d)
{
	struct sdp_candidate c;
	int rc = sdp_candidate_parse(val.p, val.n, &c);

	if (rc == TP_ENOTFOUND || (rc == 0 && c.component != 1) ||
	    (rc == 0 && d->ncand >= SDP_MAX_CANDIDATES)) {
		d->ignored++;
		return 0;
	}
	if (rc < 0)
		return fail(p, line, "bad candidate");
	d->cand[d->ncand++] = c;
	return 0;
}

/* Moves the merged level attributes into d, checking each. */
static int level_apply(struct parser *p, const struct level *sess, const struct level *med,
		       struct sdp_desc *d)
{
	struct slice u = med->ufrag.p ? med->ufrag : sess->ufrag;
	struct slice w = med->pwd.p ? med->pwd : sess->pwd;
	struct slice f = med->fingerprint.p ? med->fingerprint : sess->fingerprint;
	struct slice s = med->setup.p ? med->setup : sess->setup;

	p->lineno = 0;
	if (!u.p)
		return fail(p, (struct slice){0}, "no a=ice-ufrag");
	if (!w.p)
		return fail(p, (struct slice){0}, "no a=ice-pwd");
	/* RFC 8839 §5.4: ufrag 4..256 ice-chars, pwd 22..256 */
	p->lineno = med->ufrag.p ? med->ufrag_line : sess->ufrag_line;
	if (!slice_ice_chars(u, 4, SDP_UFRAG_MAX))
		return fail(p, u, "a=ice-ufrag: want 4..256 ice-chars");
	p->lineno = med->pwd.p ? med->pwd_line : sess->pwd_line;
	if (!slice_ice_chars(w, 22, SDP_PWD_MAX))
		return fail(p, w, "a=ice-pwd: want 22..256 ice-chars");
	slice_copy(u, d->ufrag, sizeof(d->ufrag));
	slice_copy(w, d->pwd, sizeof(d->pwd));
	if (f.p) {
		p->lineno = med->fingerprint.p ? med->fp_line : sess->fp_line;
		if (parse_fingerprint(p, f, d) < 0)
			return TP_EMALFORMED;
	}
	if (s.p) {
		p->lineno = med->setup.p ? med->setup_line : sess->setup_line;
		if (slice_eq(s, "actpass"))
			d->setup = SDP_SETUP_ACTPASS;
		else if (slice_eq(s, "active"))
			d->setup = SDP_SETUP_ACTIVE;
		else if (slice_eq(s, "passive"))
			d->setup = SDP_SETUP_PASSIVE;
		else
			return fail(p, s, "a=setup: want actpass, active or passive");
	}
	d->ice_lite = sess->ice_lite || med->ice_lite;
	d->end_of_candidates = sess->eoc || med->eoc;
	return 0;
}

int sdp_parse(const char *text, size_t len, struct sdp_desc *out, char *err, size_t errlen)
{
	struct parser p = {text, len, 0, 0, err, errlen};
	struct level sess = {0}, med = {0};
	struct layout lo = {-1, -1};
	struct slice line, name, val;
	int sec = -1, nsec, rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!text || len == 0)
		return fail(&p, (struct slice){0}, "empty description");
	if (len > SDP_TEXT_MAX)
		return fail(&p, (struct slice){0}, "description over %d bytes", SDP_TEXT_MAX);
	if (memchr(text, '\0', len))
		return fail(&p, (struct slice){0}, "NUL byte in the description");

	/* Every line is type=value (RFC 8866 §5); v=0 comes first. */
	while (next_line(&p, &line)) {
		if (line.n == 0 && p.pos >= p.len)
			break; /* a final empty line */
		if (line.n < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
			return fail(&p, line, "not a type=value line");
		for (size_t i = 0; i < line.n; i++)
			if ((unsigned char)line.p[i] < 0x20 && line.p[i] != '\t')
				return fail(&p, line, "control character");
		if (p.lineno == 1 && !slice_eq(line, "v=0"))
			return fail(&p, line, "first line is not v=0");
	}
	p.pos = 0;
	p.lineno = 0;
	nsec = scan_layout(&p, &lo, out);
	if (nsec < 0)
		return nsec;
	if (nsec == 0)
		return fail(&p, (struct slice){0}, "no m= line");
	if (lo.chosen < 0)
		return fail(&p, (struct slice){0}, "no audio or application m= section");
	out->chosen = (size_t)lo.chosen;

	while (next_line(&p, &line)) {
		if (line.n >= 2 && memcmp(line.p, "m=", 2) == 0) {
			sec++;
			if (sec == lo.chosen)
				out->pcmu =
					mline_has_fmt((struct slice){line.p + 2, line.n - 2}, "0");
			continue;
		}
		if (line.n < 2 || memcmp(line.p, "a=", 2) != 0)
			continue;
		attr_split((struct slice){line.p + 2, line.n - 2}, &name, &val);
		if (sec < 0) {
			level_attr(&sess, name, val, p.lineno);
			continue;
		}
		if (sec == lo.chosen) {
			if (slice_eq(name, "mid") && !slice_copy(val, out->mid, sizeof(out->mid)))
				return fail(&p, line, "a=mid over %zu bytes", sizeof(out->mid) - 1);
			if (slice_eq(name, "rtcp-mux"))
				out->rtcp_mux = true;
			/* RFC 8866 §6.7: the default is sendrecv */
			if (slice_eq(name, "sendonly"))
				out->direction = SDP_SENDONLY;
			else if (slice_eq(name, "recvonly"))
				out->direction = SDP_RECVONLY;
			else if (slice_eq(name, "inactive"))
				out->direction = SDP_INACTIVE;
		}
		if (sec != lo.transport)
			continue;
		level_attr(&med, name, val, p.lineno);
		if (slice_eq(name, "candidate") && (rc = add_candidate(&p, line, val, out)) < 0)
			return rc;
	}
	return level_apply(&p, &sess, &med, out);
}

/* ------------------------------------------------------------------ */
/* Writing. */

struct out {
	char *buf;
	size_t cap, n;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->cap - o->n) {
		o->full = true;
		return;
	}
	o->n += (size_t)r;
}

static bool str_ice_chars(const char *s, size_t min, size_t max)
{
	return slice_ice_chars((struct slice){s, strnlen(s, max + 1)}, min, max);
}

/* A mid is a token (RFC 5888 §4): no spaces or line breaks. */
static bool str_token(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Our audio section: PCMU over DTLS-SRTP with the ICE attributes and every
 * candidate. Returns 0 or TP_EINVAL for a candidate that cannot be written. */
static int write_ours(struct out *o, const struct sdp_desc *d, const char *mid,
		      const struct sockaddr *first)
{
	static const char *const directions[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
	char a[ADDR_STRLEN], cl[300];

	/* RFC 8839 §4.2.1.2: m= and c= carry the default candidate. */
	if (first && addr_len(first)) {
		addr_format(first, false, a, sizeof(a));
		put(o, "m=audio %u UDP/TLS/RTP/SAVPF 0\r\nc=IN %s %s\r\n", addr_port(first),
		    first->sa_family == AF_INET6 ? "IP6" : "IP4", a);
	} else {
		put(o, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n");
	}
	put(o, "a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", d->ufrag, d->pwd);
	if (d->fingerprint_len) {
		put(o, "a=fingerprint:%s ", d->fingerprint_alg);
		for (size_t i = 0; i < d->fingerprint_len; i++)
			put(o, "%02X%s", d->fingerprint[i],
			    i + 1 < d->fingerprint_len ? ":" : "\r\n");
	}
	static const char *const setups[] = {NULL, "actpass", "active", "passive"};
	if (d->setup > SDP_SETUP_NONE && d->setup <= SDP_SETUP_PASSIVE)
		put(o, "a=setup:%s\r\n", setups[d->setup]);
	put(o, "a=mid:%s\r\na=%s\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n", mid,
	    directions[d->direction <= SDP_INACTIVE ? d->direction : SDP_SENDRECV]);
	for (size_t i = 0; i < d->ncand; i++) {
		int r = sdp_candidate_write(&d->cand[i], cl, sizeof(cl));
		if (r < 0)
			return r == TP_ENOSPC ? TP_EINVAL : r; /* cl fits any valid one */
		put(o, "a=%s\r\n", cl);
	}
	put(o, "a=end-of-candidates\r\n");
	return 0;
}

/* Is mid the mid of a section of d other than ours (d->chosen)? */
static bool mid_taken(const struct sdp_desc *d, const char *mid)
{
	for (size_t i = 0; i < d->nsec && i < SDP_MAX_SECTIONS; i++)
		if (i != d->chosen && strcmp(d->sec[i].mid, mid) == 0)
			return true;
	return false;
}

int sdp_write(const struct sdp_desc *d, uint64_t sess_id, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};
	const struct sockaddr *first = NULL;
	char own[8];
	const char *mid = d->mid;
	size_t alg_len = strnlen(d->fingerprint_alg, sizeof(d->fingerprint_alg));
	int rc;

	if (cap == 0)
		return TP_ENOSPC;
	/* Ours without a mid (an offer's section may have none) gets the
	 * first number no other section uses: RFC 5888 §4 wants them
	 * unique, and a clash would leave the BUNDLE group ambiguous. */
	if (!mid[0]) {
		unsigned n = 0;
		do
			snprintf(own, sizeof(own), "%u", n++);
		while (mid_taken(d, own));
		mid = own;
	} else if (mid_taken(d, mid)) {
		return TP_EINVAL;
	}
	/* What goes in verbatim must not break the line structure. */
	if (!str_ice_chars(d->ufrag, 4, SDP_UFRAG_MAX) || !str_ice_chars(d->pwd, 22, SDP_PWD_MAX) ||
	    !str_token(mid, sizeof(d->mid)) || d->ncand > SDP_MAX_CANDIDATES ||
	    d->fingerprint_len > SDP_FINGERPRINT_MAX ||
	    (d->fingerprint_len && (alg_len == 0 || alg_len == sizeof(d->fingerprint_alg) ||
				    !str_token(d->fingerprint_alg, sizeof(d->fingerprint_alg)))))
		return TP_EINVAL;
	/* The sections to mirror: ours must be an audio one. */
	if (d->nsec > SDP_MAX_SECTIONS || (d->nsec && d->chosen >= d->nsec) ||
	    (d->nsec && strcmp(d->sec[d->chosen].media, "audio") != 0))
		return TP_EINVAL;
	for (size_t i = 0; i < d->nsec; i++) {
		const struct sdp_section *s = &d->sec[i];
		if (!str_token(s->media, sizeof(s->media)) ||
		    !str_token(s->proto, sizeof(s->proto)) || !str_token(s->fmt, sizeof(s->fmt)) ||
		    !str_token(s->mid, sizeof(s->mid)) || !s->media[0] || !s->proto[0] ||
		    !s->fmt[0])
			return TP_EINVAL;
	}
	for (size_t i = 0; i < d->ncand && !first; i++)
		if (d->cand[i].component == 1)
			first = (const struct sockaddr *)&d->cand[i].addr;

	put(&o, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
	    (unsigned long long)(sess_id & 0x7fffffffffffffffULL));
	put(&o, "a=group:BUNDLE %s\r\na=msid-semantic: WMS\r\n", mid);
	if (d->ice_lite)
		put(&o, "a=ice-lite\r\n");
	if (d->nsec == 0) {
		rc = write_ours(&o, d, mid, first);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < d->nsec; i++) {
		const struct sdp_section *s = &d->sec[i];
		if (i == d->chosen) {
			rc = write_ours(&o, d, mid, first);
			if (rc < 0)
				return rc;
			continue;
		}
		/* RFC 8829 §5.3.1, RFC 3264 §6: a section we do not take is
		 * rejected with port 0, keeping its place, proto, a format
		 * and its mid so the offerer can match it. */
		put(&o, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", s->media, s->proto, s->fmt);
		if (s->mid[0])
			put(&o, "a=mid:%s\r\n", s->mid);
	}
	if (o.full)
		return TP_ENOSPC;
	return (int)o.n;
}
