/* addr.c - Redis connection settings: coturn's "ip=... port=... dbname=..."
 * connection string, turnpike's unix= socket form, and redis:// URLs.
 * Pure: no sockets, no name lookups. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "turnpike/err.h"
#include "util/conf.h"
#include "util/hex.h"

#define MAX_DB 1000000u
#define MAX_CONNECT_TIMEOUT_S 3600u

static void defaults(struct store_addr *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->host, sizeof(a->host), "127.0.0.1");
	a->port = STORE_DEFAULT_PORT;
	a->connect_timeout_ms = STORE_CONNECT_TIMEOUT_MS;
}

/* Decimal in [min, max], the whole of s[0..len). */
static int parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return TP_EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TP_EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return TP_EINVAL;
	*out = v;
	return 0;
}

/* Copies s[0..len) into dst (cap bytes) if it fits and holds no control
 * character. */
static int copy_str(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return TP_EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return TP_EINVAL;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* A host: a name, an IPv4 literal or an IPv6 literal (brackets optional). */
static int copy_host(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0)
		return TP_EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':' ||
		      ch == '_' || ch == '%'))
			return TP_EINVAL;
	}
	return copy_str(dst, cap, s, len);
}

static bool key_is(const char *k, size_t klen, const char *const *names)
{
	for (; *names; names++)
		if (strlen(*names) == klen && memcmp(k, *names, klen) == 0)
			return true;
	return false;
}

static const char *const k_host[] = {"ip", "host", "addr", "ipaddr", "hostaddr", NULL};
static const char *const k_port[] = {"port", "p", NULL};
static const char *const k_db[] = {"dbname", "db", "database", NULL};
static const char *const k_pass[] = {"password", "pwd", "passwd", "secret", NULL};
static const char *const k_user[] = {"user", "username", "uname", "name", NULL};
static const char *const k_timeout[] = {"connect_timeout", "timeout", NULL};
static const char *const k_unix[] = {"unix", "socket", NULL};

static int set_pair(struct store_addr *a, const char *k, size_t klen, const char *v, size_t vlen,
		    char *err, size_t errlen)
{
	unsigned long n;

	if (key_is(k, klen, k_host)) {
		if (copy_host(a->host, sizeof(a->host), v, vlen) != 0)
			goto bad;
	} else if (key_is(k, klen, k_port)) {
		if (parse_uint(v, vlen, 1, 65535, &n) != 0)
			goto bad;
		a->port = (uint16_t)n;
	} else if (key_is(k, klen, k_db)) {
		if (parse_uint(v, vlen, 0, MAX_DB, &n) != 0)
			goto bad;
		a->db = (unsigned)n;
	} else if (key_is(k, klen, k_pass)) {
		if (copy_str(a->password, sizeof(a->password), v, vlen) != 0) {
			snprintf(err, errlen,
				 "the password is too long or holds a control character");
			return TP_EINVAL;
		}
	} else if (key_is(k, klen, k_user)) {
		if (copy_str(a->user, sizeof(a->user), v, vlen) != 0)
			goto bad;
	} else if (key_is(k, klen, k_timeout)) {
		if (parse_uint(v, vlen, 0, MAX_CONNECT_TIMEOUT_S, &n) != 0)
			goto bad;
		a->connect_timeout_ms = n ? (unsigned)n * 1000 : STORE_CONNECT_TIMEOUT_MS;
	} else if (key_is(k, klen, k_unix)) {
		if (vlen == 0 || v[0] != '/' ||
		    copy_str(a->unix_path, sizeof(a->unix_path), v, vlen))
			goto bad;
	} else {
		snprintf(err, errlen, "unknown key '%.*s'", (int)(klen > 32 ? 32 : klen), k);
		return TP_EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value for '%.*s'", (int)klen, k);
	return TP_EINVAL;
}

/* coturn's form: space-separated key=value pairs, all optional. */
static int parse_pairs(const char *s, struct store_addr *a, char *err, size_t errlen)
{
	unsigned token = 0;

	while (*s) {
		const char *end, *eq;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		token++;
		end = s + strcspn(s, " \t");
		eq = memchr(s, '=', (size_t)(end - s));
		if (!eq || eq == s) {
			/* Not echoed: it might be a password written without "password=". */
			snprintf(err, errlen, "item %u is not key=value", token);
			return TP_EINVAL;
		}
		if (set_pair(a, s, (size_t)(eq - s), eq + 1, (size_t)(end - eq - 1), err, errlen))
			return TP_EINVAL;
		s = end;
	}
	return 0;
}

/* Percent-decodes s[0..len) into dst (RFC 3986 §2.1). */
static int pct_decode(char *dst, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return TP_EINVAL;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return TP_EINVAL;
			ch = (char)(hi * 16 + lo);
			i += 2;
		}
		if ((unsigned char)ch < 0x20 || ch == 0x7f || o + 1 >= cap)
			return TP_EINVAL;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return 0;
}

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(const char *s, struct store_addr *a, char *err, size_t errlen)
{
	const char *auth = s, *slash, *at, *host, *colon = NULL, *hend;
	unsigned long n;

	slash = auth + strcspn(auth, "/?#");
	if (*slash == '?' || *slash == '#' || (*slash == '/' && strpbrk(slash, "?#"))) {
		snprintf(err, errlen, "URL query and fragment are not supported");
		return TP_EINVAL;
	}
	at = NULL;
	for (const char *p = auth; p < slash; p++)
		if (*p == '@')
			at = p;
	host = auth;
	if (at) {
		const char *uc = memchr(auth, ':', (size_t)(at - auth));
		if (!uc) {
			snprintf(err, errlen, "write the password as redis://:PASSWORD@host");
			return TP_EINVAL;
		}
		if (pct_decode(a->user, sizeof(a->user), auth, (size_t)(uc - auth)) != 0) {
			snprintf(err, errlen, "bad user name in URL");
			return TP_EINVAL;
		}
		if (pct_decode(a->password, sizeof(a->password), uc + 1, (size_t)(at - uc - 1))) {
			snprintf(err, errlen, "bad password in URL (too long or badly escaped)");
			return TP_EINVAL;
		}
		host = at + 1;
	}
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(slash - host));
		if (!hend) {
			snprintf(err, errlen, "unclosed '[' in URL host");
			return TP_EINVAL;
		}
		hend++;
	} else {
		hend = memchr(host, ':', (size_t)(slash - host));
		if (!hend)
			hend = slash;
	}
	if (hend < slash) {
		if (*hend != ':') {
			snprintf(err, errlen, "bad URL host");
			return TP_EINVAL;
		}
		colon = hend;
	}
	if (hend > host && copy_host(a->host, sizeof(a->host), host, (size_t)(hend - host))) {
		snprintf(err, errlen, "bad URL host");
		return TP_EINVAL;
	}
	if (colon && parse_uint(colon + 1, (size_t)(slash - colon - 1), 1, 65535, &n) != 0) {
		snprintf(err, errlen, "bad URL port");
		return TP_EINVAL;
	}
	if (colon)
		a->port = (uint16_t)n;
	if (*slash == '/' && slash[1]) {
		if (parse_uint(slash + 1, strlen(slash + 1), 0, MAX_DB, &n) != 0) {
			snprintf(err, errlen, "bad URL database number");
			return TP_EINVAL;
		}
		a->db = (unsigned)n;
	}
	return 0;
}

int store_addr_parse(const char *spec, struct store_addr *out, char *err, size_t errlen)
{
	int rc;

	if (errlen)
		err[0] = '\0';
	defaults(out);
	if (!spec) {
		snprintf(err, errlen, "no connection string");
		return TP_EINVAL;
	}
	if (!strncmp(spec, "rediss://", 9)) {
		snprintf(err, errlen, "rediss:// (TLS) is not supported");
		rc = TP_EINVAL;
	} else if (!strncmp(spec, "redis://", 8)) {
		rc = parse_url(spec + 8, out, err, errlen);
	} else if (strstr(spec, "://")) {
		snprintf(err, errlen, "unknown URL scheme (only redis://)");
		rc = TP_EINVAL;
	} else {
		rc = parse_pairs(spec, out, err, errlen);
	}
	if (rc == 0 && out->user[0] && !out->password[0]) {
		snprintf(err, errlen, "a user name needs a password");
		rc = TP_EINVAL;
	}
	if (rc != 0)
		store_addr_wipe(out);
	return rc;
}

char *store_addr_format(const struct store_addr *a, char *buf, size_t cap)
{
	if (a->unix_path[0])
		snprintf(buf, cap, "unix:%s/%u", a->unix_path, a->db);
	else if (strchr(a->host, ':'))
		snprintf(buf, cap, "[%s]:%u/%u", a->host, a->port, a->db);
	else
		snprintf(buf, cap, "%s:%u/%u", a->host, a->port, a->db);
	return buf;
}

void store_addr_wipe(struct store_addr *a)
{
	OPENSSL_cleanse(a->password, sizeof(a->password));
}

int store_conf_check(const struct conf *c, char *err, size_t errlen)
{
	const char *names[2] = {"redis-userdb", "redis-statsdb"};
	const char *vals[2] = {c->redis_userdb, c->redis_statsdb};
	struct store_addr a;
	char why[160];

	for (int i = 0; i < 2; i++) {
		if (!vals[i])
			continue;
		if (store_addr_parse(vals[i], &a, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", names[i], why);
			return TP_EINVAL;
		}
		store_addr_wipe(&a);
	}
	return 0;
}
