/*
 * buf.h - bounds-checked little-endian reader and writer cursors.
 *
 * A reader (struct rbuf) is a view: (pointer, length, offset) over bytes it
 * does not own. Every get_* either consumes exactly the bytes it names and
 * returns 0, or consumes nothing and returns -EBADMSG. Results must be checked
 * (warn_unused_result), and callers chain reads with one error exit.
 *
 * A writer (struct wbuf) fills caller-owned storage of fixed capacity. Every
 * put_* either appends and returns 0, or appends nothing and returns -EMSGSIZE.
 * Writers never grow.
 *
 * No function here allocates, locks, or does I/O.
 */
#ifndef SMBF_WIRE_BUF_H
#define SMBF_WIRE_BUF_H

#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t off;
};

static inline struct rbuf rbuf_init(const void *p, size_t len)
{
	struct rbuf r = {(const uint8_t *)p, len, 0};
	return r;
}

static inline struct wbuf wbuf_init(void *p, size_t cap)
{
	struct wbuf w = {(uint8_t *)p, cap, 0};
	return w;
}

/* Bytes left to read. */
static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}

/* True when [off, off+n) lies inside a buffer of len bytes; overflow-safe. */
static inline int range_ok(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

WUR int get_u8(struct rbuf *r, uint8_t *v);
WUR int get_u16le(struct rbuf *r, uint16_t *v);
WUR int get_u32le(struct rbuf *r, uint32_t *v);
WUR int get_u64le(struct rbuf *r, uint64_t *v);
/* Copy n bytes out. */
WUR int get_bytes(struct rbuf *r, void *dst, size_t n);
/* Return a view of the next n bytes in *view and consume them. */
WUR int get_view(struct rbuf *r, size_t n, const uint8_t **view);
WUR int rbuf_skip(struct rbuf *r, size_t n);
/* Move to absolute offset off (0..len). */
WUR int rbuf_seek(struct rbuf *r, size_t off);
/*
 * A sub-reader over [off, off+n) of r, measured from r's start. Fails unless
 * the whole range lies inside r. Does not move r.
 */
WUR int rbuf_sub(const struct rbuf *r, size_t off, size_t n, struct rbuf *sub);

WUR int put_u8(struct wbuf *w, uint8_t v);
WUR int put_u16le(struct wbuf *w, uint16_t v);
WUR int put_u32le(struct wbuf *w, uint32_t v);
WUR int put_u64le(struct wbuf *w, uint64_t v);
WUR int put_bytes(struct wbuf *w, const void *src, size_t n);
WUR int put_zeros(struct wbuf *w, size_t n);
/* Pad with zeros to a multiple of align (a power of two). */
WUR int put_align(struct wbuf *w, size_t align);
/* Overwrite at an absolute offset already written (off + size <= w->off). */
WUR int poke_u16le(struct wbuf *w, size_t off, uint16_t v);
WUR int poke_u32le(struct wbuf *w, size_t off, uint32_t v);
WUR int poke_u64le(struct wbuf *w, size_t off, uint64_t v);

/* Little-endian loads/stores on raw memory the caller has already bounds-checked. */
static inline uint16_t le16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t le64_load(const uint8_t *p)
{
	return (uint64_t)le32_load(p) | ((uint64_t)le32_load(p + 4) << 32);
}
static inline void le16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void le32_store(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void le64_store(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
