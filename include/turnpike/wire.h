/* wire.h - bounded byte reader and writer: the only way turnpike touches packets. */
#ifndef TURNPIKE_WIRE_H
#define TURNPIKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The reader remembers the first overrun in `err`; every later read returns
 * zero and leaves the position where it was, so callers read a whole record
 * and check `err` once (the Knot DNS wire_ctx idea).
 */
struct wire_rd {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool err;
};

struct wire_wr {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	bool err;
};

static inline void wire_rd_init(struct wire_rd *r, const void *buf, size_t len)
{
	r->buf = (const uint8_t *)buf;
	r->len = len;
	r->pos = 0;
	r->err = false;
}

static inline size_t wire_rd_left(const struct wire_rd *r)
{
	return r->err ? 0 : r->len - r->pos;
}

static inline bool wire_rd_need(struct wire_rd *r, size_t n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = true;
		return false;
	}
	return true;
}

static inline uint8_t wire_rd_u8(struct wire_rd *r)
{
	if (!wire_rd_need(r, 1))
		return 0;
	return r->buf[r->pos++];
}

static inline uint16_t wire_rd_u16(struct wire_rd *r)
{
	if (!wire_rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->buf[r->pos] << 8) | r->buf[r->pos + 1]);
	r->pos += 2;
	return v;
}

static inline uint32_t wire_rd_u32(struct wire_rd *r)
{
	if (!wire_rd_need(r, 4))
		return 0;
	const uint8_t *p = r->buf + r->pos;
	uint32_t v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
		     (uint32_t)p[3];
	r->pos += 4;
	return v;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets err). */
static inline const uint8_t *wire_rd_ptr(struct wire_rd *r, size_t n)
{
	if (!wire_rd_need(r, n))
		return NULL;
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static inline void wire_rd_bytes(struct wire_rd *r, void *dst, size_t n)
{
	const uint8_t *p = wire_rd_ptr(r, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

static inline void wire_rd_skip(struct wire_rd *r, size_t n)
{
	(void)wire_rd_ptr(r, n);
}

/* Skips the padding that brings a value of length n to a multiple of 4. */
static inline void wire_rd_pad4(struct wire_rd *r, size_t n)
{
	wire_rd_skip(r, (4 - (n & 3)) & 3);
}

static inline void wire_wr_init(struct wire_wr *w, void *buf, size_t cap)
{
	w->buf = (uint8_t *)buf;
	w->cap = cap;
	w->pos = 0;
	w->err = false;
}

static inline bool wire_wr_need(struct wire_wr *w, size_t n)
{
	if (w->err || w->cap - w->pos < n) {
		w->err = true;
		return false;
	}
	return true;
}

static inline void wire_wr_u8(struct wire_wr *w, uint8_t v)
{
	if (wire_wr_need(w, 1))
		w->buf[w->pos++] = v;
}

static inline void wire_wr_u16(struct wire_wr *w, uint16_t v)
{
	if (!wire_wr_need(w, 2))
		return;
	w->buf[w->pos] = (uint8_t)(v >> 8);
	w->buf[w->pos + 1] = (uint8_t)v;
	w->pos += 2;
}

static inline void wire_wr_u32(struct wire_wr *w, uint32_t v)
{
	if (!wire_wr_need(w, 4))
		return;
	uint8_t *p = w->buf + w->pos;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	w->pos += 4;
}

static inline void wire_wr_bytes(struct wire_wr *w, const void *src, size_t n)
{
	if (n && wire_wr_need(w, n)) {
		memcpy(w->buf + w->pos, src, n);
		w->pos += n;
	}
}

static inline void wire_wr_zero(struct wire_wr *w, size_t n)
{
	if (n && wire_wr_need(w, n)) {
		memset(w->buf + w->pos, 0, n);
		w->pos += n;
	}
}

/* Writes zero padding that brings a value of length n to a multiple of 4. */
static inline void wire_wr_pad4(struct wire_wr *w, size_t n)
{
	wire_wr_zero(w, (4 - (n & 3)) & 3);
}

/* Overwrites a big-endian u16 at an earlier offset (for length fields). */
static inline void wire_wr_u16_at(struct wire_wr *w, size_t off, uint16_t v)
{
	if (w->err || off > w->pos || w->pos - off < 2) {
		w->err = true;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 8);
	w->buf[off + 1] = (uint8_t)v;
}

#endif
