/*
 * changenotify.c - CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36) and
 * FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1).
 */
#include "wire/changenotify.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.35 CHANGE_NOTIFY request, offsets within the body. */
enum {
	CN_REQ_STRUCTURE_SIZE = 32,
	CN_REQ_FLAGS = 2,
	CN_REQ_OUTPUT_LENGTH = 4,
	CN_REQ_FILE_ID = 8,
	CN_REQ_COMPLETION_FILTER = 24,
	CN_REQ_RESERVED = 28,
};

/* MS-SMB2 2.2.36 CHANGE_NOTIFY response. */
enum {
	CN_RESP_STRUCTURE_SIZE = 9,
	CN_RESP_OUTPUT_OFFSET = 2,
	CN_RESP_OUTPUT_LENGTH = 4,
	CN_RESP_BUFFER = 8,
};

/* MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION. */
enum {
	FNI_NEXT_ENTRY_OFFSET = 0,
	FNI_ACTION = 4,
	FNI_FILE_NAME_LENGTH = 8,
	FNI_FILE_NAME = 12,
};

int change_notify_req_encode(struct wbuf *w, const struct change_notify_req *req)
{
	size_t base = w->off;
	int rc = 0;

	rc |= put_u16le(w, CN_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, req->flags);
	rc |= put_u32le(w, req->output_buffer_length);
	rc |= put_file_id(w, &req->file_id);
	rc |= put_u32le(w, req->completion_filter);
	rc |= put_u32le(w, 0); /* Reserved */
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int change_notify_resp_decode(const uint8_t *pdu, size_t len, struct change_notify_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, off;
	uint32_t n;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != CN_RESP_STRUCTURE_SIZE || get_u16le(&r, &off) || get_u32le(&r, &n))
		return -EBADMSG;
	if (n) {
		if (off < SMB2_HDR_SIZE + CN_RESP_BUFFER || !range_ok(len, off, n))
			return -EBADMSG;
		resp->buffer = pdu + off;
		resp->buffer_len = n;
	}
	return 0;
}

void file_notify_iter_init(struct file_notify_iter *it, const uint8_t *buf, size_t len)
{
	it->buf = buf;
	it->len = buf ? len : 0;
	it->off = 0;
	it->done = it->len == 0;
}

int file_notify_iter_next(struct file_notify_iter *it, struct file_notify_info *out)
{
	struct rbuf r;
	uint32_t next, action, nlen;

	if (it->done)
		return it->done < 0 ? -EBADMSG : 0;
	if (!range_ok(it->len, it->off, FNI_FILE_NAME))
		goto bad;
	r = rbuf_init(it->buf + it->off, it->len - it->off);
	if (get_u32le(&r, &next) || get_u32le(&r, &action) || get_u32le(&r, &nlen))
		goto bad;
	if ((nlen & 1) || !range_ok(it->len - it->off, FNI_FILE_NAME, nlen))
		goto bad;
	/* Entries are 4-aligned and each at least a header long. */
	if (next && (next < FNI_FILE_NAME || (next & 3) || !range_ok(it->len, it->off, next)))
		goto bad;
	out->action = action;
	out->name16 = it->buf + it->off + FNI_FILE_NAME;
	out->name16_len = nlen;
	if (next) {
		it->off += next;
		if (it->off >= it->len)
			goto bad_after; /* an offset that points at nothing */
	} else {
		it->done = 1;
	}
	return 1;
bad_after:
	/* this entry is fine; the next call reports the list as malformed */
	it->done = -1;
	return 1;
bad:
	it->done = -1;
	return -EBADMSG;
}
