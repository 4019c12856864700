/*
 * buf.c - bounds-checked cursors. See buf.h for the contract.
 */
#include "wire/buf.h"

#include <errno.h>
#include <string.h>

int get_u8(struct rbuf *r, uint8_t *v)
{
	if (rbuf_left(r) < 1)
		return -EBADMSG;
	*v = r->p[r->off++];
	return 0;
}

int get_u16le(struct rbuf *r, uint16_t *v)
{
	if (rbuf_left(r) < 2)
		return -EBADMSG;
	*v = le16_load(r->p + r->off);
	r->off += 2;
	return 0;
}

int get_u32le(struct rbuf *r, uint32_t *v)
{
	if (rbuf_left(r) < 4)
		return -EBADMSG;
	*v = le32_load(r->p + r->off);
	r->off += 4;
	return 0;
}

int get_u64le(struct rbuf *r, uint64_t *v)
{
	if (rbuf_left(r) < 8)
		return -EBADMSG;
	*v = le64_load(r->p + r->off);
	r->off += 8;
	return 0;
}

int get_bytes(struct rbuf *r, void *dst, size_t n)
{
	if (rbuf_left(r) < n)
		return -EBADMSG;
	if (n)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
	return 0;
}

int get_view(struct rbuf *r, size_t n, const uint8_t **view)
{
	if (rbuf_left(r) < n)
		return -EBADMSG;
	*view = r->p + r->off;
	r->off += n;
	return 0;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
	if (rbuf_left(r) < n)
		return -EBADMSG;
	r->off += n;
	return 0;
}

int rbuf_seek(struct rbuf *r, size_t off)
{
	if (off > r->len)
		return -EBADMSG;
	r->off = off;
	return 0;
}

int rbuf_sub(const struct rbuf *r, size_t off, size_t n, struct rbuf *sub)
{
	if (!range_ok(r->len, off, n))
		return -EBADMSG;
	sub->p = r->p + off;
	sub->len = n;
	sub->off = 0;
	return 0;
}

static int wbuf_room(const struct wbuf *w, size_t n)
{
	return w->off <= w->cap && n <= w->cap - w->off;
}

int put_u8(struct wbuf *w, uint8_t v)
{
	if (!wbuf_room(w, 1))
		return -EMSGSIZE;
	w->p[w->off++] = v;
	return 0;
}

int put_u16le(struct wbuf *w, uint16_t v)
{
	if (!wbuf_room(w, 2))
		return -EMSGSIZE;
	le16_store(w->p + w->off, v);
	w->off += 2;
	return 0;
}

int put_u32le(struct wbuf *w, uint32_t v)
{
	if (!wbuf_room(w, 4))
		return -EMSGSIZE;
	le32_store(w->p + w->off, v);
	w->off += 4;
	return 0;
}

int put_u64le(struct wbuf *w, uint64_t v)
{
	if (!wbuf_room(w, 8))
		return -EMSGSIZE;
	le64_store(w->p + w->off, v);
	w->off += 8;
	return 0;
}

int put_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (!wbuf_room(w, n))
		return -EMSGSIZE;
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
	return 0;
}

int put_zeros(struct wbuf *w, size_t n)
{
	if (!wbuf_room(w, n))
		return -EMSGSIZE;
	if (n)
		memset(w->p + w->off, 0, n);
	w->off += n;
	return 0;
}

int put_align(struct wbuf *w, size_t align)
{
	size_t pad = (align - (w->off & (align - 1))) & (align - 1);
	return put_zeros(w, pad);
}

static int poke_ok(const struct wbuf *w, size_t off, size_t n)
{
	return range_ok(w->off, off, n);
}

int poke_u16le(struct wbuf *w, size_t off, uint16_t v)
{
	if (!poke_ok(w, off, 2))
		return -EMSGSIZE;
	le16_store(w->p + off, v);
	return 0;
}

int poke_u32le(struct wbuf *w, size_t off, uint32_t v)
{
	if (!poke_ok(w, off, 4))
		return -EMSGSIZE;
	le32_store(w->p + off, v);
	return 0;
}

int poke_u64le(struct wbuf *w, size_t off, uint64_t v)
{
	if (!poke_ok(w, off, 8))
		return -EMSGSIZE;
	le64_store(w->p + off, v);
	return 0;
}
