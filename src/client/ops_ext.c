/*
 * ops_ext.c - SMB-level operations for the POSIX extras. See ops_ext.h.
 *
 * Every path operation is one related compound, CREATE + one or more
 * requests on the new handle + CLOSE, sent through smbc_call_chain so that it
 * is replayed on a new connection after a failure. Operations on an open
 * file name it with smbc_set_fid_src, so its FileId is filled in at send time
 * (after a reopen if the connection changed).
 *
 * Statuses worth knowing here:
 *   - a related compound whose CREATE fails answers every later request with
 *     the CREATE's status (Samba 4.17 smbd_smb2_request_dispatch), so the
 *     first failure is always the one reported;
 *   - Samba 4.17 answers FSCTL_GET/SET_REPARSE_POINT with
 *     STATUS_NOT_A_REPARSE_POINT for every file (source3/modules/util_reparse.c
 *     stubs); Windows answers SET without the privilege with
 *     STATUS_PRIVILEGE_NOT_HELD or ACCESS_DENIED;
 *   - a file without EAs answers QUERY_INFO(FileFullEaInformation) with
 *     STATUS_NO_EAS_ON_FILE (Windows) or an empty buffer (Samba).
 */
#include "client/ops_ext.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/md.h"
#include "client/internal.h"
#include "errmap.h"
#include "log.h"
#include "net/conn.h"
#include "wire/fscc.h"
#include "wire/info.h"
#include "wire/ioctl.h"
#include "wire/read.h"
#include "wire/time.h"
#include "wire/write.h"

#define MAX_MIDS 4
#define LINK_BUF (24 + 4096)
#define EA_QUERY_FIRST (64 * 1024)
#define EA_QUERY_MAX (1024 * 1024)
#define READ_PATH_MAX (64 * 1024)
#define QUERY_ALL_OUT 4096

/* Server-side copy limits until the server says otherwise (Windows and Samba defaults). */
#define COPYCHUNK_MAX_CHUNKS 16u
#define COPYCHUNK_MAX_CHUNK (1024u * 1024)
#define COPYCHUNK_MAX_TOTAL (16u * 1024 * 1024)

/* ------------------------------------------------------------------ helpers */

/*
 * CREATE(path) + mids[0..n) + CLOSE as one related compound. Consumes the
 * mids; each answered mid is returned in outs[i] (put them) when outs is
 * given, whatever its status. Returns the transport result or the CREATE's
 * failure; the mids' statuses are the caller's to check.
 */
static int compound(struct smb_client *c, const char *path, const struct smbc_open_args *a,
		    struct smb_req **mids, int n, struct smb_req **outs)
{
	struct smb_req *cr, *cl, *head, *r;
	int rc, i;

	cr = smbc_create_req(c, path, a);
	cl = smbc_close_req(c, &smbc_related_fid, 0);
	for (i = 0; i < n; i++)
		if (!mids[i])
			break;
	if (!cr || !cl || i < n) {
		req_put(cr);
		req_put(cl);
		for (i = 0; i < n; i++)
			req_put(mids[i]);
		return -ENOMEM;
	}
	cl->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	head = cr;
	r = cr;
	for (i = 0; i < n; i++) {
		mids[i]->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
		r->chain_next = mids[i];
		r = mids[i];
	}
	r->chain_next = cl;
	rc = smbc_call_chain(c, &head);
	if (!rc && head->status != STATUS_SUCCESS)
		rc = smbc_status_rc(head);
	r = head->chain_next;
	for (i = 0; i < n; i++, r = r->chain_next) {
		if (outs) {
			req_get(r);
			outs[i] = r;
		}
	}
	smbc_put_chain(head);
	if (rc && outs) {
		for (i = 0; i < n; i++) {
			req_put(outs[i]);
			outs[i] = NULL;
		}
	}
	return rc;
}

/* NTSTATUS of a mid as -errno; BUFFER_OVERFLOW is a success when allowed. */
static int mid_rc(const struct smb_req *r, int ok_overflow)
{
	if (r->status == STATUS_SUCCESS || (ok_overflow && r->status == STATUS_BUFFER_OVERFLOW))
		return 0;
	return smbc_status_rc(r);
}

static struct smb_req *query_all_req(struct smb_client *c)
{
	return smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILE, FileAllInformation,
				   QUERY_ALL_OUT);
}

/* An IOCTL (FSCTL) request on the related FileId. */
static struct smb_req *fsctl_req(struct smb_client *c, uint32_t ctl, const uint8_t *in,
				 uint32_t in_len, uint32_t max_out)
{
	struct ioctl_req io;
	struct smb_req *q = req_new(SMB2_IOCTL, 64 + in_len);
	struct wbuf w;

	if (!q)
		return NULL;
	memset(&io, 0, sizeof(io));
	io.ctl_code = ctl;
	io.file_id = smbc_related_fid;
	io.input = in_len ? in : NULL;
	io.input_len = in_len;
	io.max_output_response = max_out;
	io.flags = SMB2_0_IOCTL_IS_FSCTL;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (ioctl_req_encode(&w, &io)) {
		req_put(q);
		return NULL;
	}
	req_set_body_len(q, w.off);
	q->credit_charge = smbc_credits_for(c, in_len > max_out ? in_len : max_out);
	return q;
}

/*
 * An FSCTL on an open file. Returns the transport result; on 0, *out holds
 * the answered request whatever its status (put it).
 */
static int fsctl_fid(struct smb_client *c, struct smbc_file *f, uint32_t ctl, const uint8_t *in,
		     uint32_t in_len, uint32_t max_out, struct smb_req **out)
{
	struct smb_req *q = fsctl_req(c, ctl, in, in_len, max_out);
	int rc;

	if (!q)
		return -ENOMEM;
	smbc_set_fid_src(q, f, FID_OFF_IOCTL);
	rc = smbc_call_chain(c, &q);
	if (rc) {
		req_put(q);
		return rc;
	}
	*out = q;
	return 0;
}

/* Statuses meaning "this server does not do that FSCTL". */
static int fsctl_unsupported(uint32_t st)
{
	return st == STATUS_NOT_SUPPORTED || st == STATUS_INVALID_DEVICE_REQUEST ||
	       st == STATUS_NOT_IMPLEMENTED || st == STATUS_INVALID_INFO_CLASS;
}

/* ------------------------------------------------------------------ links and files */

int smbc_link(struct smb_client *c, const char *from, const char *to, int replace,
	      struct smb_stat *st)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN,
				   .options = FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT};
	uint8_t buf[LINK_BUF];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb_req *mids[2], *outs[2];
	int rc;

	rc = fscc_rename_encode(&w, replace, to);
	if (rc)
		return rc == -EMSGSIZE ? -ENAMETOOLONG : rc;
	smbc_settle(c, to);
	mids[0] = smbc_set_info_req(c, &smbc_related_fid, FileLinkInformation, buf,
				    (uint32_t)w.off);
	mids[1] = query_all_req(c);
	rc = compound(c, from, &a, mids, 2, outs);
	if (rc)
		return rc;
	rc = mid_rc(outs[0], 0);
	if (!rc && st)
		rc = mid_rc(outs[1], 1) ? -EIO : smbc_stat_from_all(outs[1], st);
	req_put(outs[0]);
	req_put(outs[1]);
	return rc;
}

ssize_t smbc_read_path(struct smb_client *c, const char *path, uint64_t off, void *buf,
		       size_t len)
{
	struct smbc_open_args a = {.access = FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN,
				   .options = FILE_NON_DIRECTORY_FILE};
	struct read_req rr;
	struct read_resp resp;
	struct smb_req *q, *out;
	struct wbuf w;
	ssize_t rc;

	if (len > READ_PATH_MAX)
		return -EINVAL;
	q = req_new(SMB2_READ, 64);
	if (!q)
		return -ENOMEM;
	memset(&rr, 0, sizeof(rr));
	rr.length = (uint32_t)len;
	rr.offset = off;
	rr.file_id = smbc_related_fid;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (read_req_encode(&w, &rr)) {
		req_put(q);
		return -EIO;
	}
	req_set_body_len(q, w.off);
	q->credit_charge = smbc_credits_for(c, len);
	rc = compound(c, path, &a, &q, 1, &out);
	if (rc)
		return rc;
	if (out->status == STATUS_END_OF_FILE) {
		rc = 0;
	} else if (out->status != STATUS_SUCCESS) {
		rc = smbc_status_rc(out);
	} else if (read_resp_decode(out->resp, out->resp_len, &resp) || resp.data_len > len) {
		LOG_WARN("malformed READ response from server");
		rc = -EIO;
	} else {
		if (resp.data_len)
			memcpy(buf, resp.data, resp.data_len);
		rc = resp.data_len;
	}
	req_put(out);
	return rc;
}

int smbc_create_file(struct smb_client *c, const char *path, const void *data, size_t len,
		     uint32_t attrs, struct smb_stat *st)
{
	struct smbc_open_args a = {.access = FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_CREATE,
				   .options = FILE_NON_DIRECTORY_FILE,
				   .attrs = attrs};
	struct write_req wr;
	struct smb_req *mids[2], *outs[2];
	struct write_resp wresp;
	struct wbuf w;
	int rc;

	if (!len || len > READ_PATH_MAX)
		return -EINVAL;
	mids[0] = req_new(SMB2_WRITE, SMB2_WRITE_REQ_HDR_LEN + len);
	mids[1] = query_all_req(c);
	if (mids[0]) {
		memset(&wr, 0, sizeof(wr));
		wr.length = (uint32_t)len;
		wr.file_id = smbc_related_fid;
		wr.data = data;
		w = wbuf_init(req_body(mids[0]), req_body_cap(mids[0]));
		if (write_req_encode(&w, &wr)) {
			req_put(mids[0]);
			mids[0] = NULL;
		} else {
			req_set_body_len(mids[0], w.off);
			mids[0]->credit_charge = smbc_credits_for(c, len);
		}
	}
	rc = compound(c, path, &a, mids, 2, outs);
	if (rc)
		return rc;
	rc = mid_rc(outs[0], 0);
	if (!rc && (write_resp_decode(outs[0]->resp, outs[0]->resp_len, &wresp) ||
		    wresp.count != len))
		rc = -EIO;
	if (!rc && st)
		rc = mid_rc(outs[1], 1) ? -EIO : smbc_stat_from_all(outs[1], st);
	req_put(outs[0]);
	req_put(outs[1]);
	if (rc)
		(void)smbc_delete(c, path, 0); /* do not leave half a file behind */
	return rc;
}

/* ------------------------------------------------------------------ XSym symlinks */

int smbc_read_mfsymlink(struct smb_client *c, const char *path, char *out, size_t cap,
			size_t *out_len)
{
	uint8_t *buf = malloc(MFSYMLINK_FILE_SIZE + 1), md5[MD5_LEN], want[MD5_LEN];
	const uint8_t *t;
	size_t tl;
	ssize_t n;
	int rc;

	if (!buf)
		return -ENOMEM;
	/* One byte more than the format: a longer file is not a symlink. */
	n = smbc_read_path(c, path, 0, buf, MFSYMLINK_FILE_SIZE + 1);
	if (n < 0)
		rc = (int)n;
	else if (mfsymlink_decode(buf, (size_t)n, &t, &tl, want) || md5_hash(t, tl, md5) ||
		 memcmp(md5, want, MD5_LEN))
		rc = -EINVAL;
	else if (tl >= cap)
		rc = -ENAMETOOLONG;
	else {
		memcpy(out, t, tl);
		out[tl] = '\0';
		*out_len = tl;
		rc = 0;
	}
	free(buf);
	return rc;
}

int smbc_create_mfsymlink(struct smb_client *c, const char *path, const char *target,
			  struct smb_stat *st)
{
	uint8_t *buf, md5[MD5_LEN];
	size_t tl = strlen(target);
	int rc;

	if (tl > MFSYMLINK_TARGET_MAX)
		return -ENAMETOOLONG;
	buf = malloc(MFSYMLINK_FILE_SIZE);
	if (!buf)
		return -ENOMEM;
	rc = md5_hash(target, tl, md5);
	if (!rc)
		rc = mfsymlink_encode(buf, target, tl, md5);
	if (!rc)
		rc = smbc_create_file(c, path, buf, MFSYMLINK_FILE_SIZE, FILE_ATTRIBUTE_ARCHIVE, st);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ reparse points */

int smbc_get_reparse(struct smb_client *c, const char *path, uint8_t **buf, uint32_t *len)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN,
				   .options = FILE_OPEN_REPARSE_POINT};
	struct smb_req *q = fsctl_req(c, FSCTL_GET_REPARSE_POINT, NULL, 0, REPARSE_BUFFER_MAX);
	struct ioctl_resp ir;
	int rc;

	*buf = NULL;
	*len = 0;
	rc = compound(c, path, &a, &q, 1, &q);
	if (rc)
		return rc;
	rc = mid_rc(q, 0);
	if (rc == -EOPNOTSUPP && q->status != STATUS_NOT_A_REPARSE_POINT)
		rc = -ENODATA; /* the server knows no reparse points at all */
	if (!rc && ioctl_resp_decode(q->resp, q->resp_len, &ir))
		rc = -EIO;
	if (!rc) {
		*buf = malloc(ir.output_len ? ir.output_len : 1);
		if (!*buf) {
			rc = -ENOMEM;
		} else {
			if (ir.output_len)
				memcpy(*buf, ir.output, ir.output_len);
			*len = ir.output_len;
		}
	}
	req_put(q);
	return rc;
}

int smbc_create_reparse(struct smb_client *c, const char *path, const uint8_t *rp, uint32_t len,
			int directory, struct smb_stat *st)
{
	struct smbc_open_args a = {
		.access = FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | DELETE |
			  SYNCHRONIZE,
		.disposition = FILE_CREATE,
		.options = FILE_OPEN_REPARSE_POINT |
			   (directory ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE),
		.attrs = directory ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_ARCHIVE,
	};
	struct smb_req *mids[2], *outs[2];
	uint32_t status;
	int rc;

	mids[0] = fsctl_req(c, FSCTL_SET_REPARSE_POINT, rp, len, 0);
	mids[1] = query_all_req(c);
	rc = compound(c, path, &a, mids, 2, outs);
	if (rc)
		return rc;
	status = outs[0]->status;
	rc = mid_rc(outs[0], 0);
	if (!rc && st)
		rc = mid_rc(outs[1], 1) ? -EIO : smbc_stat_from_all(outs[1], st);
	req_put(outs[0]);
	req_put(outs[1]);
	if (rc) {
		(void)smbc_delete(c, path, directory);
		if (status == STATUS_NOT_A_REPARSE_POINT || fsctl_unsupported(status) ||
		    status == STATUS_IO_REPARSE_TAG_NOT_HANDLED)
			rc = -EOPNOTSUPP;
		else if (status == STATUS_PRIVILEGE_NOT_HELD)
			rc = -EPERM;
	}
	return rc;
}

/* ------------------------------------------------------------------ extended attributes */

int smbc_get_eas(struct smb_client *c, const char *path, uint8_t **buf, uint32_t *len)
{
	struct smbc_open_args a = {.access = FILE_READ_EA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN,
				   .options = FILE_OPEN_REPARSE_POINT};
	uint32_t want = EA_QUERY_FIRST;
	int rc;

	*buf = NULL;
	*len = 0;
	if (c->max_transact && want > c->max_transact)
		want = c->max_transact;
	for (;;) {
		struct smb_req *q = smbc_query_info_req(c, &smbc_related_fid, SMB2_0_INFO_FILE,
							FileFullEaInformation, want);
		struct query_info_resp qr;
		if (q)
			q->credit_charge = smbc_credits_for(c, want);
		rc = compound(c, path, &a, &q, 1, &q);
		if (rc)
			return rc;
		if (q->status == STATUS_NO_EAS_ON_FILE) {
			req_put(q);
			return 0;
		}
		if ((q->status == STATUS_BUFFER_OVERFLOW || q->status == STATUS_BUFFER_TOO_SMALL) &&
		    want < EA_QUERY_MAX && (!c->max_transact || want < c->max_transact)) {
			req_put(q);
			want *= 4; /* a list larger than we asked for: ask for more */
			if (c->max_transact && want > c->max_transact)
				want = c->max_transact;
			continue;
		}
		rc = mid_rc(q, 0);
		if (!rc && query_info_resp_decode(q->resp, q->resp_len, &qr))
			rc = -EIO;
		if (!rc && qr.buffer_len) {
			*buf = malloc(qr.buffer_len);
			if (!*buf) {
				rc = -ENOMEM;
			} else {
				memcpy(*buf, qr.buffer, qr.buffer_len);
				*len = qr.buffer_len;
			}
		}
		req_put(q);
		return rc;
	}
}

int smbc_set_eas(struct smb_client *c, const char *path, const uint8_t *list, uint32_t len)
{
	struct smbc_open_args a = {.access = FILE_WRITE_EA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN,
				   .options = FILE_OPEN_REPARSE_POINT};
	struct smb_req *q = smbc_set_info_req(c, &smbc_related_fid, FileFullEaInformation, list, len);
	int rc;

	rc = compound(c, path, &a, &q, 1, &q);
	if (rc)
		return rc;
	rc = mid_rc(q, 0);
	req_put(q);
	return rc;
}

/* ------------------------------------------------------------------ open files */

int smbc_lock(struct smb_client *c, struct smbc_file *f, const struct smb2_lock_element *e,
	      uint16_t n)
{
	struct lock_req lr = {.file_id = smbc_related_fid, .locks = e, .lock_count = n};
	struct smb_req *q;
	struct wbuf w;
	int rc;

	q = req_new(SMB2_LOCK, SMB2_LOCK_REQ_LEN(n));
	if (!q)
		return -ENOMEM;
	w = wbuf_init(req_body(q), req_body_cap(q));
	rc = lock_req_encode(&w, &lr);
	if (rc) {
		req_put(q);
		return rc;
	}
	req_set_body_len(q, w.off);
	smbc_set_fid_src(q, f, FID_OFF_LOCK);
	rc = smbc_call_chain(c, &q);
	if (!rc) {
		if (q->status == STATUS_LOCK_NOT_GRANTED || q->status == STATUS_FILE_LOCK_CONFLICT)
			rc = -EAGAIN;
		else if (q->status != STATUS_SUCCESS)
			rc = smbc_status_rc(q);
		else if (lock_resp_decode(q->resp, q->resp_len))
			rc = -EIO;
	}
	req_put(q);
	if (!rc)
		smbc_file_note_locks(f, e, n); /* taken again if a reconnect loses the handle */
	return rc;
}

int smbc_query_ranges(struct smb_client *c, struct smbc_file *f, uint64_t off, uint64_t len,
		      struct alloc_range *out, size_t cap, size_t *n)
{
	uint8_t in[ALLOC_RANGE_SIZE];
	struct wbuf w = wbuf_init(in, sizeof(in));
	struct ioctl_resp ir;
	struct smb_req *q;
	size_t max_out;
	int rc;

	*n = 0;
	if (!cap)
		return -EINVAL;
	rc = alloc_range_encode(&w, off, len);
	if (rc)
		return rc;
	max_out = cap * ALLOC_RANGE_SIZE;
	if (max_out > 64 * 1024)
		max_out = 64 * 1024;
	rc = fsctl_fid(c, f, FSCTL_QUERY_ALLOCATED_RANGES, in, (uint32_t)w.off, (uint32_t)max_out,
		       &q);
	if (rc)
		return rc;
	if (fsctl_unsupported(q->status))
		rc = -EOPNOTSUPP;
	else
		rc = mid_rc(q, 1);
	/* BUFFER_OVERFLOW: as many ranges as fitted; the caller asks again for the rest. */
	if (!rc && (ioctl_resp_decode(q->resp, q->resp_len, &ir) ||
		    alloc_ranges_decode(ir.output, ir.output_len - ir.output_len % ALLOC_RANGE_SIZE,
					out, cap, n)))
		rc = -EIO;
	req_put(q);
	return rc;
}

int smbc_zero_data(struct smb_client *c, struct smbc_file *f, uint64_t off, uint64_t end)
{
	uint8_t in[16];
	struct wbuf w = wbuf_init(in, sizeof(in));
	struct smb_req *q;
	int rc;

	rc = zero_data_encode(&w, off, end);
	if (rc)
		return rc;
	rc = fsctl_fid(c, f, FSCTL_SET_ZERO_DATA, in, (uint32_t)w.off, 0, &q);
	if (rc)
		return rc;
	rc = fsctl_unsupported(q->status) ? -EOPNOTSUPP : mid_rc(q, 0);
	req_put(q);
	return rc;
}

int smbc_set_sparse(struct smb_client *c, struct smbc_file *f, int sparse)
{
	uint8_t in[1];
	struct wbuf w = wbuf_init(in, sizeof(in));
	struct smb_req *q;
	int rc;

	rc = set_sparse_encode(&w, sparse);
	if (rc)
		return rc;
	rc = fsctl_fid(c, f, FSCTL_SET_SPARSE, in, (uint32_t)w.off, 0, &q);
	if (rc)
		return rc;
	rc = fsctl_unsupported(q->status) ? -EOPNOTSUPP : mid_rc(q, 0);
	req_put(q);
	return rc;
}

ssize_t smbc_copy_range(struct smb_client *c, struct smbc_file *src, uint64_t soff,
			struct smbc_file *dst, uint64_t doff, uint64_t len)
{
	uint32_t max_chunks = COPYCHUNK_MAX_CHUNKS, max_chunk = COPYCHUNK_MAX_CHUNK,
		 max_total = COPYCHUNK_MAX_TOTAL;
	uint8_t key[SRV_RESUME_KEY_SIZE];
	struct srv_copychunk chunks[COPYCHUNK_MAX_CHUNKS];
	uint8_t in[SRV_COPYCHUNK_COPY_LEN(COPYCHUNK_MAX_CHUNKS)];
	struct ioctl_resp ir;
	struct smb_req *q;
	uint64_t done = 0;
	int rc, retried = 0;

	rc = fsctl_fid(c, src, FSCTL_SRV_REQUEST_RESUME_KEY, NULL, 0, 32, &q);
	if (rc)
		return rc;
	if (fsctl_unsupported(q->status))
		rc = -EOPNOTSUPP;
	else
		rc = mid_rc(q, 0);
	if (!rc && (ioctl_resp_decode(q->resp, q->resp_len, &ir) ||
		    resume_key_decode(ir.output, ir.output_len, key)))
		rc = -EIO;
	req_put(q);
	if (rc)
		return rc;

	while (done < len) {
		struct srv_copychunk_resp cr;
		struct wbuf w = wbuf_init(in, sizeof(in));
		uint64_t batch = 0;
		uint32_t n = 0;

		while (n < max_chunks && done + batch < len && batch < max_total) {
			uint64_t l = len - done - batch;
			if (l > max_chunk)
				l = max_chunk;
			if (l > max_total - batch)
				l = max_total - batch;
			chunks[n].source_offset = soff + done + batch;
			chunks[n].target_offset = doff + done + batch;
			chunks[n].length = (uint32_t)l;
			batch += l;
			n++;
		}
		rc = copychunk_encode(&w, key, chunks, n);
		if (rc)
			break;
		rc = fsctl_fid(c, dst, FSCTL_SRV_COPYCHUNK_WRITE, in, (uint32_t)w.off, 12, &q);
		if (rc)
			break;
		if (q->status == STATUS_INVALID_PARAMETER && !retried &&
		    !ioctl_resp_decode(q->resp, q->resp_len, &ir) &&
		    !copychunk_resp_decode(ir.output, ir.output_len, &cr) && cr.chunks_written &&
		    cr.chunk_bytes_written && cr.total_bytes_written) {
			/* 3.3.5.15.6: the server's limits, instead of a result. Obey them once. */
			req_put(q);
			max_chunks = cr.chunks_written < max_chunks ? cr.chunks_written : max_chunks;
			max_chunk = cr.chunk_bytes_written < max_chunk ? cr.chunk_bytes_written
								       : max_chunk;
			max_total = cr.total_bytes_written < max_total ? cr.total_bytes_written
								       : max_total;
			retried = 1;
			continue;
		}
		if (fsctl_unsupported(q->status))
			rc = -EOPNOTSUPP;
		else
			rc = mid_rc(q, 0);
		if (!rc && (ioctl_resp_decode(q->resp, q->resp_len, &ir) ||
			    copychunk_resp_decode(ir.output, ir.output_len, &cr) ||
			    cr.total_bytes_written > batch))
			rc = -EIO;
		req_put(q);
		if (rc)
			break;
		done += cr.total_bytes_written;
		if (cr.total_bytes_written < batch)
			break; /* short copy: report what got there */
	}
	if (done)
		return (ssize_t)done;
	return rc;
}
