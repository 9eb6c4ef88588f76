/* servers_json.c - reads the ICE server list turnpiked's REST hook returns
 * (src/http/creds.c): the WebRTC form {"iceServers":[{"urls":..,
 * "username":..,"credential":..}]}, a bare array of such entries, and
 * draft-uberti-behave-turn-rest {"username","password","ttl","uris"}.
 * A small bounded JSON reader (RFC 8259): depth and string sizes capped,
 * everything else skipped after being checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/servers.h"
#include "peer/signal.h"
#include "turnpike/err.h"

#define DEPTH_MAX 16
#define URLS_MAX 16 /* per entry; the list holds PEER_SERVERS_MAX anyway */
#define STR_MAX 600 /* any string we keep (a username is up to 513) */

struct jr {
	const char *p;
	size_t n, pos;
	int depth;
	const char *why; /* first failure, NULL while fine */
	size_t where;
};

/* The URLs of one entry and the credentials that go with them. */
struct entry {
	char urls[URLS_MAX][300];
	size_t nurls;
	char user[STR_MAX], pass[STR_MAX];
	bool have_user, have_pass;
};

static bool jr_fail(struct jr *j, const char *why)
{
	if (!j->why) {
		j->why = why;
		j->where = j->pos;
	}
	return false;
}

static void jr_ws(struct jr *j)
{
	while (j->pos < j->n && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
				 j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
		j->pos++;
}

/* The next non-space byte, not taken; 0 at the end. */
static char jr_peek(struct jr *j)
{
	jr_ws(j);
	return j->pos < j->n ? j->p[j->pos] : 0;
}

static bool jr_take(struct jr *j, char c)
{
	if (jr_peek(j) != c)
		return jr_fail(j, c == ':'   ? "':' expected"
				  : c == '"' ? "string expected"
					     : "unexpected character");
	j->pos++;
	return true;
}

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Appends code point cp as UTF-8; false when out (cap) is full. */
static bool put_utf8(char *out, size_t cap, size_t *o, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (!out)
		return true;
	if (*o + n >= cap)
		return false;
	memcpy(out + *o, b, n);
	*o += n;
	return true;
}

/* A string into out (NUL-terminated; NULL: checked and skipped). */
static bool jr_string(struct jr *j, char *out, size_t cap)
{
	size_t o = 0;

	if (!jr_take(j, '"'))
		return false;
	while (j->pos < j->n) {
		unsigned char c = (unsigned char)j->p[j->pos];
		unsigned cp;

		if (c == '"') {
			j->pos++;
			if (out)
				out[o] = '\0';
			return true;
		}
		if (c < 0x20)
			return jr_fail(j, "control character in a string");
		if (c != '\\') {
			cp = c;
			j->pos++;
			if (out && o + 1 >= cap)
				return jr_fail(j, "string too long");
			if (out)
				out[o++] = (char)c;
			continue;
		}
		if (j->pos + 1 >= j->n)
			break;
		c = (unsigned char)j->p[j->pos + 1];
		j->pos += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			cp = c;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u': {
			int v = j->pos + 4 <= j->n ? hex4(j->p + j->pos) : -1;
			if (v < 0)
				return jr_fail(j, "bad \\u escape");
			j->pos += 4;
			cp = (unsigned)v;
			/* RFC 8259 §7: a surrogate pair spells one code point */
			if (cp >= 0xd800 && cp <= 0xdbff && j->pos + 6 <= j->n &&
			    j->p[j->pos] == '\\' && j->p[j->pos + 1] == 'u' &&
			    (v = hex4(j->p + j->pos + 2)) >= 0xdc00 && v <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned)v - 0xdc00);
				j->pos += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd; /* a lone surrogate */
			}
			if (cp == 0)
				return jr_fail(j, "NUL in a string");
			break;
		}
		default:
			return jr_fail(j, "bad escape");
		}
		if (!put_utf8(out, cap, &o, cp))
			return jr_fail(j, "string too long");
	}
	return jr_fail(j, "unterminated string");
}

static bool jr_value(struct jr *j);

/* Literals and numbers, checked loosely and skipped. */
static bool jr_scalar(struct jr *j)
{
	static const char *const lits[] = {"true", "false", "null"};
	size_t start = j->pos;

	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(lits[i]);
		if (j->n - j->pos >= l && memcmp(j->p + j->pos, lits[i], l) == 0) {
			j->pos += l;
			return true;
		}
	}
	while (j->pos < j->n && strchr("0123456789+-.eE", j->p[j->pos]) && j->p[j->pos])
		j->pos++;
	return j->pos > start ? true : jr_fail(j, "not a JSON value");
}

/* Skips any value (objects and arrays to DEPTH_MAX). */
static bool jr_value(struct jr *j)
{
	char c = jr_peek(j);

	if (c == '"')
		return jr_string(j, NULL, 0);
	if (c != '{' && c != '[')
		return jr_scalar(j);
	if (++j->depth > DEPTH_MAX)
		return jr_fail(j, "nested too deep");
	j->pos++;
	if (jr_peek(j) == (c == '{' ? '}' : ']')) {
		j->pos++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (c == '{' && (!jr_string(j, NULL, 0) || !jr_take(j, ':')))
			return false;
		if (!jr_value(j))
			return false;
		if (jr_peek(j) == ',') {
			j->pos++;
			continue;
		}
		if (!jr_take(j, c == '{' ? '}' : ']'))
			return false;
		j->depth--;
		return true;
	}
}

/* Object members one by one: fn(j, key, ctx) reads or skips the value. */
static bool jr_object(struct jr *j, bool (*fn)(struct jr *, const char *, void *), void *ctx)
{
	char key[64];

	if (!jr_take(j, '{'))
		return false;
	if (jr_peek(j) == '}') {
		j->pos++;
		return true;
	}
	for (;;) {
		key[0] = '\0';
		/* a long key is none we know: keep its start, skip on */
		struct jr save = *j;
		if (!jr_string(j, key, sizeof(key))) {
			if (j->why && strcmp(j->why, "string too long") == 0) {
				*j = save;
				key[0] = '\0';
				if (!jr_string(j, NULL, 0))
					return false;
			} else {
				return false;
			}
		}
		if (!jr_take(j, ':') || !fn(j, key, ctx))
			return false;
		if (jr_peek(j) == ',') {
			j->pos++;
			continue;
		}
		return jr_take(j, '}');
	}
}

/* A string or an array of strings into e->urls (extra ones skipped). */
static bool read_urls(struct jr *j, struct entry *e)
{
	if (jr_peek(j) == '"') {
		if (e->nurls >= URLS_MAX)
			return jr_string(j, NULL, 0);
		if (!jr_string(j, e->urls[e->nurls], sizeof(e->urls[0])))
			return false;
		e->nurls++;
		return true;
	}
	if (jr_peek(j) != '[')
		return jr_fail(j, "urls: want a string or an array of strings");
	j->pos++;
	if (jr_peek(j) == ']') {
		j->pos++;
		return true;
	}
	for (;;) {
		if (jr_peek(j) != '"')
			return jr_fail(j, "urls: want strings");
		if (!read_urls(j, e))
			return false;
		if (jr_peek(j) == ',') {
			j->pos++;
			continue;
		}
		return jr_take(j, ']');
	}
}

/* "username"/"credential" (WebRTC) or "password" (draft-uberti): strings;
 * anything else there (an OAuth credential object) leaves it unset. */
static bool read_cred(struct jr *j, char *out, bool *have)
{
	if (jr_peek(j) != '"')
		return jr_value(j);
	*have = true;
	return jr_string(j, out, STR_MAX);
}

static bool entry_member(struct jr *j, const char *key, void *ctx)
{
	struct entry *e = ctx;

	if (!strcmp(key, "urls") || !strcmp(key, "url") || !strcmp(key, "uris"))
		return read_urls(j, e);
	if (!strcmp(key, "username"))
		return read_cred(j, e->user, &e->have_user);
	if (!strcmp(key, "credential") || !strcmp(key, "password"))
		return read_cred(j, e->pass, &e->have_pass);
	return jr_value(j);
}

struct doc {
	struct peer_servers *ss;
	struct entry top, cur; /* the top object's own (draft-uberti); an entry */
	size_t added;
	char last[200]; /* why the last URL was skipped */
};

/* Adds an entry's URLs; those this agent cannot use are skipped. */
static void entry_add(struct doc *d, const struct entry *e)
{
	for (size_t i = 0; i < e->nurls; i++) {
		int rc = peer_servers_add_uri(d->ss, e->urls[i], e->have_user ? e->user : NULL,
					      e->have_pass ? e->pass : NULL, d->last,
					      sizeof(d->last));
		if (rc == 0)
			d->added++;
	}
}

static bool read_entries(struct jr *j, struct doc *d)
{
	if (jr_peek(j) != '[')
		return jr_fail(j, "iceServers: want an array");
	j->pos++;
	if (jr_peek(j) == ']') {
		j->pos++;
		return true;
	}
	for (;;) {
		memset(&d->cur, 0, sizeof(d->cur));
		if (jr_peek(j) != '{')
			return jr_fail(j, "iceServers: want objects");
		if (!jr_object(j, entry_member, &d->cur))
			return false;
		entry_add(d, &d->cur);
		if (jr_peek(j) == ',') {
			j->pos++;
			continue;
		}
		return jr_take(j, ']');
	}
}

/* The top object: "iceServers" (WebRTC) or the draft-uberti members. */
static bool top_member(struct jr *j, const char *key, void *ctx)
{
	struct doc *d = ctx;

	if (!strcmp(key, "iceServers"))
		return read_entries(j, d);
	return entry_member(j, key, &d->top);
}

int peer_servers_add_json(struct peer_servers *ss, const char *json, size_t len, char *err,
			  size_t errlen)
{
	struct jr j = {json, len, 0, 0, NULL, 0};
	struct doc *d = calloc(1, sizeof(*d)); /* ~12 KiB: off the stack */
	size_t n0 = ss->n;
	int rc = 0;

	if (!d) {
		if (err && errlen)
			snprintf(err, errlen, "ice servers JSON: out of memory");
		return TP_ENOMEM;
	}
	d->ss = ss;
	if (len > PEER_SDP_MAX) {
		j.why = "over 64 KiB";
	} else if (memchr(json, '\0', len)) {
		j.why = "NUL byte";
	} else if (jr_peek(&j) == '[') {
		read_entries(&j, d);
	} else if (jr_peek(&j) == '{') {
		if (jr_object(&j, top_member, d))
			entry_add(d, &d->top); /* draft-uberti "uris" */
	} else {
		jr_fail(&j, "not a JSON object or array");
	}
	if (!j.why && jr_peek(&j) != 0)
		jr_fail(&j, "junk after the JSON value");
	if (j.why) {
		ss->n = n0; /* all or nothing */
		if (err && errlen)
			snprintf(err, errlen, "ice servers JSON: byte %zu: %s", j.where, j.why);
		rc = TP_EMALFORMED;
	} else if (d->added == 0) {
		if (err && errlen)
			snprintf(err, errlen, "ice servers JSON: no usable STUN or TURN URL%s%s%s",
				 d->last[0] ? " (last: " : "", d->last, d->last[0] ? ")" : "");
		rc = TP_ENOTFOUND;
	}
	free(d);
	return rc;
}
