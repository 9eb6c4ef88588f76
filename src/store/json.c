/* json.c - JSON strings escaped from untrusted bytes (RFC 8259 §7) and the
 * one-line JSON of allocation events published on turnpike:events. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/hex.h"
#include "util/addr.h"

/* A bounded writer: the first overrun sticks, callers check once. */
struct jw {
	char *out;
	size_t cap, len;
	bool over;
};

static void put(struct jw *w, const void *s, size_t n)
{
	if (w->over || w->cap == 0 || n >= w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->out + w->len, s, n);
	w->len += n;
}

static void puts_(struct jw *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 §4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char b = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		need = 2;
	else if (b >= 0xe0 && b <= 0xef)
		need = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		need = 4;
	else
		return 0; /* continuation byte, overlong lead (C0, C1), or beyond U+10FFFF */
	if (n < need)
		return 0;
	if (b == 0xe0)
		lo = 0xa0; /* overlong */
	else if (b == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if (b == 0xf0)
		lo = 0x90; /* overlong */
	else if (b == 0xf4)
		hi = 0x8f; /* beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

static void put_string(struct jw *w, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = data;
	size_t i = 0;

	put(w, "\"", 1);
	while (i < len && !w->over) {
		unsigned char b = s[i];
		size_t n;
		char esc[7];

		if (b == '"' || b == '\\') {
			esc[0] = '\\';
			esc[1] = (char)b;
			put(w, esc, 2);
			i++;
			continue;
		}
		if (b < 0x20 || b == 0x7f) {
			const char *short_esc = b == '\n'   ? "\\n"
						: b == '\r' ? "\\r"
						: b == '\t' ? "\\t"
						: b == '\b' ? "\\b"
						: b == '\f' ? "\\f"
							    : NULL;
			if (short_esc) {
				put(w, short_esc, 2);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[b >> 4];
				esc[5] = hex[b & 15];
				put(w, esc, 6);
			}
			i++;
			continue;
		}
		n = utf8_len(s + i, len - i);
		if (n == 0) {
			put(w, "\\ufffd", 6); /* not UTF-8: the replacement character */
			i++;
		} else if (n == 3 && b == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] | 1) == 0xa9) {
			/* U+2028, U+2029: valid JSON, but not valid JavaScript. */
			put(w, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 3;
		} else {
			put(w, s + i, n);
			i += n;
		}
	}
	put(w, "\"", 1);
}

static size_t finish(struct jw *w)
{
	if (w->over || w->cap == 0) {
		if (w->cap)
			w->out[0] = '\0';
		return 0;
	}
	w->out[w->len] = '\0';
	return w->len;
}

size_t store_json_string(char *out, size_t cap, const void *s, size_t len)
{
	struct jw w = {out, cap, 0, false};

	put_string(&w, s, len);
	return finish(&w);
}

static void key(struct jw *w, const char *k)
{
	if (w->len > 1)
		put(w, ",", 1);
	put_string(w, k, strlen(k));
	put(w, ":", 1);
}

static void field_str(struct jw *w, const char *k, const char *v, size_t len)
{
	key(w, k);
	put_string(w, v, len);
}

static void field_u64(struct jw *w, const char *k, uint64_t v)
{
	char num[24];

	key(w, k);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	puts_(w, num);
}

static void field_addr(struct jw *w, const char *k, const struct sockaddr *sa)
{
	char a[ADDR_STRLEN];

	if (!sa || !addr_len(sa))
		return;
	addr_format(sa, true, a, sizeof(a));
	field_str(w, k, a, strlen(a));
}

size_t store_event_json(const struct store_event *ev, char *out, size_t cap)
{
	struct jw w = {out, cap, 0, false};
	char id[2 * STORE_ALLOC_ID_LEN + 1];

	hex_encode(ev->id, STORE_ALLOC_ID_LEN, id);
	put(&w, "{", 1);
	field_str(&w, "event", ev->event, strlen(ev->event));
	field_str(&w, "id", id, strlen(id));
	field_u64(&w, "seq", ev->seq);
	field_u64(&w, "time", ev->time);
	if (ev->reason)
		field_str(&w, "reason", ev->reason, strlen(ev->reason));
	if (ev->server)
		field_str(&w, "server", ev->server, strlen(ev->server));
	field_str(&w, "realm", ev->realm ? ev->realm : "", ev->realm ? strlen(ev->realm) : 0);
	field_str(&w, "user", ev->user ? ev->user : "", ev->user ? ev->ulen : 0);
	field_str(&w, "transport", ev->transport, strlen(ev->transport));
	field_addr(&w, "client", ev->client);
	field_addr(&w, "relay", ev->relay);
	if (ev->relay2)
		field_addr(&w, "relay2", ev->relay2);
	field_u64(&w, "lifetime", ev->lifetime);
	field_u64(&w, "age_ms", ev->age_ms);
	field_u64(&w, "client_packets", ev->client_packets);
	field_u64(&w, "client_bytes", ev->client_bytes);
	field_u64(&w, "peer_packets", ev->peer_packets);
	field_u64(&w, "peer_bytes", ev->peer_bytes);
	put(&w, "}", 1);
	return finish(&w);
}
