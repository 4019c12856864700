/*
 * ea.c - EA lists, reparse buffers, FSCTL buffers and XSym symlink files.
 * See ea.h.
 */
#include "wire/ea.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/* MS-FSCC 2.4.15 FILE_FULL_EA_INFORMATION */
enum ea_off {
	EA_NEXT = 0,
	EA_FLAGS = 4,
	EA_NAME_LENGTH = 5,
	EA_VALUE_LENGTH = 6,
	EA_NAME = 8, /* name, NUL, value */
};

/* MS-FSCC 2.1.2.1 REPARSE_DATA_BUFFER */
enum reparse_off {
	RP_TAG = 0,
	RP_DATA_LENGTH = 4,
	RP_RESERVED = 6,
	RP_DATA = 8,
};

/* MS-FSCC 2.1.2.4 symbolic link data (after RP_DATA); 2.1.2.5 mount point lacks Flags. */
enum symlink_off {
	SL_SUB_OFFSET = 0,
	SL_SUB_LENGTH = 2,
	SL_PRINT_OFFSET = 4,
	SL_PRINT_LENGTH = 6,
	SL_FLAGS = 8,
	SL_PATH = 12,
	MP_PATH = 8,
};

/* MS-FSCC 2.1.2.6 NFS data: Type then the type's data. */
enum nfs_off {
	NFS_TYPE = 0,
	NFS_DATA = 8,
};

/* WSL IO_REPARSE_TAG_LX_SYMLINK data: Version (2) then the UTF-8 target. */
enum lx_off {
	LX_VERSION = 0,
	LX_TARGET = 4,
};
#define LX_SYMLINK_VERSION 2

/* MS-SMB2 2.2.31.1 SRV_COPYCHUNK_COPY */
enum copychunk_off {
	CC_SOURCE_KEY = 0,
	CC_CHUNK_COUNT = 24,
	CC_RESERVED = 28,
	CC_CHUNKS = 32,
	CC_RESP_SIZE = 12, /* 2.2.32.1 */
};

/* cifs.ko fs/smb/client/link.c: "XSym\n%04u\n%32x\n<target>\n" padded with spaces */
enum mfsymlink_off {
	MF_LEN = 5,
	MF_MD5 = 10,
	MF_TARGET = 43,
};

_Static_assert(MF_TARGET + MFSYMLINK_TARGET_MAX == MFSYMLINK_FILE_SIZE, "XSym layout");
_Static_assert(SRV_COPYCHUNK_COPY_LEN(0) == CC_CHUNKS, "copychunk header");

/* ------------------------------------------------------------ EA lists */

void ea_iter_init(struct ea_iter *it, const uint8_t *buf, uint32_t len)
{
	it->p = buf;
	it->len = buf ? len : 0;
	it->off = 0;
	it->done = it->len == 0;
}

int ea_iter_next(struct ea_iter *it, struct ea_entry *e)
{
	struct rbuf r;
	uint32_t next, end;
	uint8_t nlen;
	uint16_t vlen;
	size_t need;

	if (it->done)
		return it->done > 0 ? 0 : -EBADMSG;
	r = rbuf_init(it->p, it->len);
	if (rbuf_seek(&r, it->off) || get_u32le(&r, &next) || get_u8(&r, &e->flags) ||
	    get_u8(&r, &nlen) || get_u16le(&r, &vlen))
		goto bad;
	end = next ? next : it->len - it->off;
	if (!range_ok(it->len, it->off, end))
		goto bad;
	need = (size_t)EA_NAME + nlen + 1 + vlen;
	if (need > end)
		goto bad;
	e->name = (const char *)it->p + it->off + EA_NAME;
	e->name_len = nlen;
	if (!nlen || memchr(e->name, '\0', nlen) || e->name[nlen] != '\0')
		goto bad;
	e->value_len = vlen;
	e->value = vlen ? it->p + it->off + EA_NAME + nlen + 1 : NULL;
	if (next)
		it->off += next;
	else
		it->done = 1;
	return 1;
bad:
	it->done = -1;
	return -EBADMSG;
}

void ea_list_init(struct ea_list *l, struct wbuf *w)
{
	l->w = w;
	l->start = w->off;
	l->last = w->off;
	l->count = 0;
}

int ea_list_add(struct ea_list *l, const char *name, size_t name_len, const void *value,
		size_t value_len, uint8_t flags)
{
	struct wbuf *w = l->w;
	size_t base = w->off, entry;
	int rc = 0;

	if (!name || !name_len || name_len > EA_NAME_MAX || memchr(name, '\0', name_len) ||
	    value_len > EA_VALUE_MAX || (value_len && !value))
		return -EINVAL;
	if (l->count)
		while ((w->off - l->start) % 4 && !rc)
			rc = put_u8(w, 0);
	entry = w->off;
	rc |= put_u32le(w, 0);
	rc |= put_u8(w, flags);
	rc |= put_u8(w, (uint8_t)name_len);
	rc |= put_u16le(w, (uint16_t)value_len);
	rc |= put_bytes(w, name, name_len);
	rc |= put_u8(w, 0);
	if (value_len)
		rc |= put_bytes(w, value, value_len);
	if (!rc && l->count)
		rc = poke_u32le(w, l->last + EA_NEXT, (uint32_t)(entry - l->last));
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	l->last = entry;
	l->count++;
	return 0;
}

/* ------------------------------------------------------------ reparse points */

/* A name (offset, length) inside the path buffer of plen bytes. */
static int path_name(const uint8_t *path, uint32_t plen, uint16_t off, uint16_t len,
		     const uint8_t **out)
{
	if ((off | len) & 1 || !range_ok(plen, off, len))
		return -EBADMSG;
	*out = path + off;
	return 0;
}

static int decode_windows_link(const uint8_t *data, uint32_t dlen, int has_flags,
			       struct reparse_info *out)
{
	struct rbuf r = rbuf_init(data, dlen);
	uint16_t soff, slen, poff, plen;
	uint32_t flags = 0, path_at = has_flags ? SL_PATH : MP_PATH;
	const uint8_t *sub, *print;

	if (get_u16le(&r, &soff) || get_u16le(&r, &slen) || get_u16le(&r, &poff) ||
	    get_u16le(&r, &plen) || (has_flags && get_u32le(&r, &flags)))
		return -EBADMSG;
	if (path_name(data + path_at, dlen - path_at, soff, slen, &sub) ||
	    path_name(data + path_at, dlen - path_at, poff, plen, &print))
		return -EBADMSG;
	out->kind = REPARSE_SYMLINK;
	out->flags = flags;
	out->target_utf16 = 1;
	out->target_windows = 1;
	if (plen) {
		out->target = print;
		out->target_len = plen;
	} else {
		out->target = sub;
		out->target_len = slen;
	}
	return out->target_len ? 0 : -EBADMSG;
}

int reparse_decode(const uint8_t *buf, uint32_t len, struct reparse_info *out)
{
	struct rbuf r = rbuf_init(buf, len);
	uint16_t dlen, reserved;
	const uint8_t *data;
	uint64_t type;
	uint32_t version;

	memset(out, 0, sizeof(*out));
	if (!buf || get_u32le(&r, &out->tag) || get_u16le(&r, &dlen) || get_u16le(&r, &reserved) ||
	    get_view(&r, dlen, &data))
		return -EBADMSG;
	r = rbuf_init(data, dlen);
	switch (out->tag) {
	case IO_REPARSE_TAG_SYMLINK:
		return decode_windows_link(data, dlen, 1, out);
	case IO_REPARSE_TAG_MOUNT_POINT:
		return decode_windows_link(data, dlen, 0, out);
	case IO_REPARSE_TAG_NFS:
		if (get_u64le(&r, &type))
			return -EBADMSG;
		if (type == NFS_SPECFILE_LNK) {
			if ((dlen - NFS_DATA) & 1 || dlen == NFS_DATA)
				return -EBADMSG;
			out->kind = REPARSE_SYMLINK;
			out->target = data + NFS_DATA;
			out->target_len = dlen - NFS_DATA;
			out->target_utf16 = 1;
		} else if (type == NFS_SPECFILE_CHR) {
			out->kind = REPARSE_CHR;
		} else if (type == NFS_SPECFILE_BLK) {
			out->kind = REPARSE_BLK;
		} else if (type == NFS_SPECFILE_FIFO) {
			out->kind = REPARSE_FIFO;
		} else if (type == NFS_SPECFILE_SOCK) {
			out->kind = REPARSE_SOCK;
		}
		return 0;
	case IO_REPARSE_TAG_LX_SYMLINK:
		if (get_u32le(&r, &version) || version != LX_SYMLINK_VERSION || dlen == LX_TARGET)
			return -EBADMSG;
		out->kind = REPARSE_SYMLINK;
		out->target = data + LX_TARGET;
		out->target_len = dlen - LX_TARGET;
		return 0;
	case IO_REPARSE_TAG_AF_UNIX:
		out->kind = REPARSE_SOCK;
		return 0;
	case IO_REPARSE_TAG_LX_FIFO:
		out->kind = REPARSE_FIFO;
		return 0;
	case IO_REPARSE_TAG_LX_CHR:
		out->kind = REPARSE_CHR;
		return 0;
	case IO_REPARSE_TAG_LX_BLK:
		out->kind = REPARSE_BLK;
		return 0;
	default:
		return 0;
	}
}

int reparse_symlink_target(const struct reparse_info *ri, char *out, size_t cap, size_t *out_len)
{
	size_t n;
	int rc;

	if (ri->kind != REPARSE_SYMLINK || !ri->target || !cap)
		return -EINVAL;
	if (ri->target_utf16) {
		rc = utf16le_to_utf8(ri->target, ri->target_len, out, cap, &n);
		if (rc)
			return rc == -EMSGSIZE ? -ENAMETOOLONG : rc;
	} else {
		if (ri->target_len >= cap)
			return -ENAMETOOLONG;
		if (memchr(ri->target, '\0', ri->target_len))
			return -EILSEQ;
		memcpy(out, ri->target, ri->target_len);
		n = ri->target_len;
		out[n] = '\0';
	}
	if (ri->target_windows) {
		for (size_t i = 0; i < n; i++)
			if (out[i] == '\\')
				out[i] = '/';
		/* An NT path ("\??\C:\dir") names a drive of the server: keep "C:/dir". */
		if (!(ri->flags & SYMLINK_FLAG_RELATIVE) && n >= 4 && !memcmp(out, "/?" "?/", 4)) {
			memmove(out, out + 4, n - 4 + 1);
			n -= 4;
		}
	}
	if (!n)
		return -EILSEQ;
	*out_len = n;
	return 0;
}

int reparse_symlink_encode(struct wbuf *w, const char *target)
{
	size_t base = w->off, tlen, n16;
	int rc = 0;

	if (!target || !(tlen = strlen(target)))
		return -EINVAL;
	rc |= put_u32le(w, IO_REPARSE_TAG_SYMLINK);
	rc |= put_u16le(w, 0); /* ReparseDataLength, poked below */
	rc |= put_u16le(w, 0);
	rc |= put_u16le(w, 0); /* SubstituteNameOffset */
	rc |= put_u16le(w, 0); /* SubstituteNameLength */
	rc |= put_u16le(w, 0); /* PrintNameOffset */
	rc |= put_u16le(w, 0); /* PrintNameLength */
	rc |= put_u32le(w, target[0] == '/' ? 0 : SYMLINK_FLAG_RELATIVE);
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	rc = utf8_to_utf16le(target, tlen, w->p + w->off, w->cap - w->off, &n16, 1);
	if (rc)
		goto fail;
	if (RP_DATA + SL_PATH + 2 * n16 > REPARSE_BUFFER_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	w->off += n16;
	rc = put_bytes(w, w->p + w->off - n16, n16); /* PrintName = SubstituteName */
	rc |= poke_u16le(w, base + RP_DATA_LENGTH, (uint16_t)(SL_PATH + 2 * n16));
	rc |= poke_u16le(w, base + RP_DATA + SL_SUB_LENGTH, (uint16_t)n16);
	rc |= poke_u16le(w, base + RP_DATA + SL_PRINT_OFFSET, (uint16_t)n16);
	rc |= poke_u16le(w, base + RP_DATA + SL_PRINT_LENGTH, (uint16_t)n16);
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	w->off = base;
	return rc;
}

int reparse_nfs_symlink_encode(struct wbuf *w, const char *target)
{
	size_t base = w->off, tlen, n16;
	int rc = 0;

	if (!target || !(tlen = strlen(target)))
		return -EINVAL;
	rc |= put_u32le(w, IO_REPARSE_TAG_NFS);
	rc |= put_u16le(w, 0); /* ReparseDataLength, poked below */
	rc |= put_u16le(w, 0);
	rc |= put_u64le(w, NFS_SPECFILE_LNK);
	if (rc) {
		rc = -EMSGSIZE;
		goto fail;
	}
	rc = utf8_to_utf16le(target, tlen, w->p + w->off, w->cap - w->off, &n16, 0);
	if (rc)
		goto fail;
	if (RP_DATA + NFS_DATA + n16 > REPARSE_BUFFER_MAX) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	w->off += n16;
	if (poke_u16le(w, base + RP_DATA_LENGTH, (uint16_t)(NFS_DATA + n16))) {
		rc = -EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	w->off = base;
	return rc;
}

/* ------------------------------------------------------------ FSCTL buffers */

int resume_key_decode(const uint8_t *buf, uint32_t len, uint8_t key[SRV_RESUME_KEY_SIZE])
{
	struct rbuf r = rbuf_init(buf, len);
	uint32_t ctx_len;

	/* ResumeKey, ContextLength, Context: Samba and Windows send ContextLength 0. */
	if (!buf || get_bytes(&r, key, SRV_RESUME_KEY_SIZE) || get_u32le(&r, &ctx_len) ||
	    ctx_len > rbuf_left(&r))
		return -EBADMSG;
	return 0;
}

int copychunk_encode(struct wbuf *w, const uint8_t key[SRV_RESUME_KEY_SIZE],
		     const struct srv_copychunk *chunks, uint32_t n)
{
	size_t base = w->off;
	int rc = 0;

	if (!n || !chunks)
		return -EINVAL;
	rc |= put_bytes(w, key, SRV_RESUME_KEY_SIZE);
	rc |= put_u32le(w, n);
	rc |= put_u32le(w, 0);
	for (uint32_t i = 0; i < n && !rc; i++) {
		rc |= put_u64le(w, chunks[i].source_offset);
		rc |= put_u64le(w, chunks[i].target_offset);
		rc |= put_u32le(w, chunks[i].length);
		rc |= put_u32le(w, 0);
	}
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int copychunk_resp_decode(const uint8_t *buf, uint32_t len, struct srv_copychunk_resp *out)
{
	struct rbuf r = rbuf_init(buf, len);

	memset(out, 0, sizeof(*out));
	if (!buf || get_u32le(&r, &out->chunks_written) ||
	    get_u32le(&r, &out->chunk_bytes_written) || get_u32le(&r, &out->total_bytes_written))
		return -EBADMSG;
	return 0;
}

int alloc_range_encode(struct wbuf *w, uint64_t offset, uint64_t length)
{
	size_t base = w->off;

	if (offset > INT64_MAX || length > INT64_MAX)
		return -EINVAL;
	if (put_u64le(w, offset) || put_u64le(w, length)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int alloc_ranges_decode(const uint8_t *buf, uint32_t len, struct alloc_range *out, size_t cap,
			size_t *n)
{
	struct rbuf r = rbuf_init(buf, len);

	*n = 0;
	if (len % ALLOC_RANGE_SIZE || (len && !buf))
		return -EBADMSG;
	while (rbuf_left(&r) && *n < cap) {
		uint64_t off, l;
		if (get_u64le(&r, &off) || get_u64le(&r, &l) || off > INT64_MAX || l > INT64_MAX ||
		    off > INT64_MAX - l)
			return -EBADMSG;
		out[*n].offset = off;
		out[*n].length = l;
		(*n)++;
	}
	return 0;
}

int zero_data_encode(struct wbuf *w, uint64_t offset, uint64_t beyond_final_zero)
{
	size_t base = w->off;

	if (offset > INT64_MAX || beyond_final_zero > INT64_MAX || beyond_final_zero < offset)
		return -EINVAL;
	if (put_u64le(w, offset) || put_u64le(w, beyond_final_zero)) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int set_sparse_encode(struct wbuf *w, int sparse)
{
	return put_u8(w, sparse ? 1 : 0) ? -EMSGSIZE : 0;
}

/* ------------------------------------------------------------ XSym files */

static const char mf_magic[] = "XSym\n";

int mfsymlink_maybe(const uint8_t *buf, size_t len, uint64_t file_size)
{
	if (file_size != MFSYMLINK_FILE_SIZE)
		return 0;
	return !buf || len < MF_LEN || !memcmp(buf, mf_magic, MF_LEN);
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mfsymlink_encode(uint8_t out[MFSYMLINK_FILE_SIZE], const char *target, size_t target_len,
		     const uint8_t md5[16])
{
	static const char hex[] = "0123456789abcdef";
	size_t off;

	if (!target || !target_len || memchr(target, '\0', target_len))
		return -EINVAL;
	if (target_len > MFSYMLINK_TARGET_MAX)
		return -ENAMETOOLONG;
	memcpy(out, mf_magic, MF_LEN);
	out[MF_LEN + 0] = (uint8_t)('0' + target_len / 1000);
	out[MF_LEN + 1] = (uint8_t)('0' + target_len / 100 % 10);
	out[MF_LEN + 2] = (uint8_t)('0' + target_len / 10 % 10);
	out[MF_LEN + 3] = (uint8_t)('0' + target_len % 10);
	out[MF_LEN + 4] = '\n';
	for (int i = 0; i < 16; i++) {
		out[MF_MD5 + 2 * i] = (uint8_t)hex[md5[i] >> 4];
		out[MF_MD5 + 2 * i + 1] = (uint8_t)hex[md5[i] & 15];
	}
	out[MF_TARGET - 1] = '\n';
	memcpy(out + MF_TARGET, target, target_len);
	off = MF_TARGET + target_len;
	if (off < MFSYMLINK_FILE_SIZE)
		out[off++] = '\n';
	memset(out + off, ' ', MFSYMLINK_FILE_SIZE - off);
	return 0;
}

int mfsymlink_decode(const uint8_t *buf, size_t len, const uint8_t **target, size_t *target_len,
		     uint8_t md5[16])
{
	size_t n = 0;

	if (!buf || len != MFSYMLINK_FILE_SIZE || memcmp(buf, mf_magic, MF_LEN) ||
	    buf[MF_MD5 - 1] != '\n' || buf[MF_TARGET - 1] != '\n')
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		uint8_t c = buf[MF_LEN + i];
		if (c < '0' || c > '9')
			return -EINVAL;
		n = n * 10 + (size_t)(c - '0');
	}
	if (!n || n > MFSYMLINK_TARGET_MAX)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(buf[MF_MD5 + 2 * i]), lo = hexval(buf[MF_MD5 + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		md5[i] = (uint8_t)(hi << 4 | lo);
	}
	if (memchr(buf + MF_TARGET, '\0', n))
		return -EINVAL;
	*target = buf + MF_TARGET;
	*target_len = n;
	return 0;
}
