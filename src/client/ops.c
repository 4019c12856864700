/*
 * ops.c - SMB-level file API. See ops.h.
 *
 * Round trips: stat is one compound (CREATE + QUERY_INFO + CLOSE); a
 * directory listing is CREATE+QUERY_DIRECTORY in one compound, then as many
 * QUERY_DIRECTORY as the listing needs, then CLOSE.
 */
#include "client/ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "log.h"
#include "net/conn.h"
#include "wire/close.h"
#include "wire/create.h"
#include "wire/flush.h"
#include "wire/fscc.h"
#include "wire/info.h"
#include "wire/querydir.h"
#include "wire/read.h"
#include "wire/time.h"
#include "wire/utf16.h"
#include "wire/write.h"

#define NAME_CAP 4096             /* UTF-16 bytes of a path we will send */
#define QUERY_INFO_OUT 4096
#define QUERY_DIR_OUT (64 * 1024)

static const struct smb2_file_id related_fid = {UINT64_MAX, UINT64_MAX};

static struct smb_req *mkreq(struct smb_client *c, uint16_t cmd, size_t body_cap)
{
	struct smb_req *req = req_new(cmd, body_cap);
	if (req) {
		req->session_id = c->session_id;
		req->tree_id = c->tree_id;
	}
	return req;
}

static void put_chain(struct smb_req *head)
{
	while (head) {
		struct smb_req *nx = head->chain_next;
		req_put(head);
		head = nx;
	}
}

static int status_rc(const struct smb_req *req)
{
	int rc = ntstatus_to_errno(req->status);
	return req->status && !rc ? -EIO : rc;
}

static int call_chain(struct smb_client *c, struct smb_req *head)
{
	__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
	return conn_call(c->conn, head);
}

static struct smb_req *create_req_build(struct smb_client *c, const char *path,
					const struct smbc_open_args *a)
{
	struct create_req cr;
	struct smb_req *req = mkreq(c, SMB2_CREATE, 128 + NAME_CAP);
	struct wbuf w;

	if (!req)
		return NULL;
	memset(&cr, 0, sizeof(cr));
	cr.requested_oplock_level = SMB2_OPLOCK_LEVEL_NONE;
	cr.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION;
	cr.desired_access = a->access;
	cr.file_attributes = a->attrs;
	cr.share_access = a->share ? a->share : (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
	cr.create_disposition = a->disposition;
	cr.create_options = a->options;
	cr.name = path;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (create_req_encode(&w, &cr)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	return req;
}

static struct smb_req *close_req_build(struct smb_client *c, const struct smb2_file_id *fid,
				       uint16_t flags)
{
	struct close_req cl = {.flags = flags, .file_id = *fid};
	struct smb_req *req = mkreq(c, SMB2_CLOSE, 32);
	struct wbuf w;
	if (!req)
		return NULL;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (close_req_encode(&w, &cl)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	return req;
}

static void stat_from_times(struct smb_stat *st, uint64_t cr, uint64_t la, uint64_t lw, uint64_t ch)
{
	filetime_to_timespec(cr, &st->btime);
	filetime_to_timespec(la, &st->atime);
	filetime_to_timespec(lw, &st->mtime);
	filetime_to_timespec(ch, &st->ctime);
}

/*
 * CREATE(path) + mid + CLOSE as one related compound: one round trip. mid
 * (may be NULL) gets SMB2_FLAGS_RELATED_OPERATIONS and the related FileId;
 * the caller keeps its reference to read the response. Returns the first
 * failure: transport, CREATE status, then mid's status (BUFFER_OVERFLOW is
 * not a failure).
 */
static int open_do_close(struct smb_client *c, const char *path, const struct smbc_open_args *a,
			 struct smb_req *mid)
{
	struct smb_req *cr, *cl;
	int rc;

	cr = create_req_build(c, path, a);
	cl = close_req_build(c, &related_fid, 0);
	if (!cr || !cl) {
		req_put(cr);
		req_put(cl);
		return -ENOMEM;
	}
	cl->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	if (mid) {
		req_get(mid);
		mid->flags |= SMB2_FLAGS_RELATED_OPERATIONS;
		mid->chain_next = cl;
		cr->chain_next = mid;
	} else {
		cr->chain_next = cl;
	}
	rc = call_chain(c, cr);
	if (!rc && cr->status != STATUS_SUCCESS)
		rc = status_rc(cr);
	if (!rc && mid && mid->status != STATUS_SUCCESS && mid->status != STATUS_BUFFER_OVERFLOW)
		rc = status_rc(mid);
	if (mid)
		mid->chain_next = NULL;
	cr->chain_next = NULL;
	req_put(cr);
	req_put(mid);
	req_put(cl);
	return rc;
}

static struct smb_req *query_info_build(struct smb_client *c, const struct smb2_file_id *fid,
					uint8_t type, uint8_t cls, uint32_t out_len)
{
	struct query_info_req qi;
	struct smb_req *q = mkreq(c, SMB2_QUERY_INFO, 64);
	struct wbuf w;
	if (!q)
		return NULL;
	memset(&qi, 0, sizeof(qi));
	qi.info_type = type;
	qi.info_class = cls;
	qi.output_buffer_length = out_len;
	qi.file_id = *fid;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (query_info_req_encode(&w, &qi)) {
		req_put(q);
		return NULL;
	}
	req_set_body_len(q, w.off);
	return q;
}

static struct smb_req *set_info_build(struct smb_client *c, const struct smb2_file_id *fid,
				      uint8_t cls, const uint8_t *buf, uint32_t len)
{
	struct set_info_req si;
	struct smb_req *q = mkreq(c, SMB2_SET_INFO, 64 + len);
	struct wbuf w;
	if (!q)
		return NULL;
	memset(&si, 0, sizeof(si));
	si.info_type = SMB2_0_INFO_FILE;
	si.info_class = cls;
	si.file_id = *fid;
	si.buffer = buf;
	si.buffer_len = len;
	w = wbuf_init(req_body(q), req_body_cap(q));
	if (set_info_req_encode(&w, &si)) {
		req_put(q);
		return NULL;
	}
	req_set_body_len(q, w.off);
	return q;
}

/* Fill st from a QUERY_INFO(FileAllInformation) response. */
static int stat_from_all(const struct smb_req *q, struct smb_stat *st)
{
	struct query_info_resp qr;
	struct fscc_all_info all;

	if (query_info_resp_decode(q->resp, q->resp_len, &qr) ||
	    fscc_all_decode(qr.buffer, qr.buffer_len, &all)) {
		LOG_WARN("malformed FileAllInformation from server");
		return -EIO;
	}
	memset(st, 0, sizeof(*st));
	st->ino = all.index_number;
	st->size = all.standard.end_of_file;
	st->alloc = all.standard.allocation_size;
	st->attrs = all.basic.attributes;
	st->nlink = all.standard.number_of_links;
	stat_from_times(st, all.basic.creation, all.basic.last_access, all.basic.last_write,
			all.basic.change);
	return 0;
}

/* Open path with a, query FileAllInformation, close: one round trip. */
static int open_stat_close(struct smb_client *c, const char *path, const struct smbc_open_args *a,
			   struct smb_stat *st)
{
	struct smb_req *q = query_info_build(c, &related_fid, SMB2_0_INFO_FILE, FileAllInformation,
					     QUERY_INFO_OUT);
	int rc;
	if (!q)
		return -ENOMEM;
	rc = open_do_close(c, path, a, q);
	if (!rc && st)
		rc = stat_from_all(q, st);
	req_put(q);
	return rc;
}

int smbc_stat(struct smb_client *c, const char *path, struct smb_stat *st)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN};
	return open_stat_close(c, path, &a, st);
}

int smbc_mkdir(struct smb_client *c, const char *path, struct smb_stat *st)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_CREATE,
				   .options = FILE_DIRECTORY_FILE,
				   .attrs = FILE_ATTRIBUTE_DIRECTORY};
	return open_stat_close(c, path, &a, st);
}

int smbc_set_info_path(struct smb_client *c, const char *path, uint32_t access, uint8_t cls,
		       const uint8_t *buf, uint32_t len)
{
	struct smbc_open_args a = {.access = access | SYNCHRONIZE, .disposition = FILE_OPEN,
				   .options = FILE_OPEN_REPARSE_POINT};
	struct smb_req *q = set_info_build(c, &related_fid, cls, buf, len);
	int rc;
	if (!q)
		return -ENOMEM;
	rc = open_do_close(c, path, &a, q);
	req_put(q);
	return rc;
}

int smbc_set_info_fid(struct smb_client *c, const struct smb_fid *fid, uint8_t cls,
		      const uint8_t *buf, uint32_t len)
{
	struct smb2_file_id f = {fid->persistent, fid->volatile_};
	struct smb_req *q = set_info_build(c, &f, cls, buf, len);
	int rc;
	if (!q)
		return -ENOMEM;
	rc = call_chain(c, q);
	if (!rc && q->status != STATUS_SUCCESS)
		rc = status_rc(q);
	req_put(q);
	return rc;
}

int smbc_query_fid(struct smb_client *c, const struct smb_fid *fid, struct smb_stat *st)
{
	struct smb2_file_id f = {fid->persistent, fid->volatile_};
	struct smb_req *q = query_info_build(c, &f, SMB2_0_INFO_FILE, FileAllInformation,
					     QUERY_INFO_OUT);
	int rc;
	if (!q)
		return -ENOMEM;
	rc = call_chain(c, q);
	if (!rc && q->status != STATUS_SUCCESS && q->status != STATUS_BUFFER_OVERFLOW)
		rc = status_rc(q);
	if (!rc)
		rc = stat_from_all(q, st);
	req_put(q);
	return rc;
}

int smbc_delete(struct smb_client *c, const char *path, int is_dir)
{
	struct smbc_open_args a = {.access = DELETE | SYNCHRONIZE, .disposition = FILE_OPEN,
				   .options = (is_dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE) |
					      FILE_OPEN_REPARSE_POINT};
	uint8_t buf[8];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb_req *q;
	int rc;

	if (fscc_disposition_encode(&w, 1))
		return -EIO;
	q = set_info_build(c, &related_fid, FileDispositionInformation, buf, (uint32_t)w.off);
	if (!q)
		return -ENOMEM;
	rc = open_do_close(c, path, &a, q);
	req_put(q);
	return rc;
}

int smbc_rename(struct smb_client *c, const char *from, const char *to, int replace)
{
	struct smbc_open_args a = {.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN, .options = FILE_OPEN_REPARSE_POINT};
	uint8_t buf[24 + NAME_CAP];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb_req *q;
	int rc;

	if (fscc_rename_encode(&w, replace, to))
		return -ENAMETOOLONG;
	q = set_info_build(c, &related_fid, FileRenameInformation, buf, (uint32_t)w.off);
	if (!q)
		return -ENOMEM;
	rc = open_do_close(c, from, &a, q);
	req_put(q);
	return rc;
}

int smbc_open(struct smb_client *c, const char *path, const struct smbc_open_args *a,
	      struct smb_fid *fid, struct smb_stat *st, uint32_t *action)
{
	struct create_resp resp;
	struct smb_req *req = create_req_build(c, path, a);
	int rc;

	if (!req)
		return -ENOMEM;
	rc = call_chain(c, req);
	if (rc)
		goto out;
	if (req->status != STATUS_SUCCESS) {
		rc = status_rc(req);
		goto out;
	}
	if (create_resp_decode(req->resp, req->resp_len, &resp)) {
		rc = -EIO;
		goto out;
	}
	fid->persistent = resp.file_id.persistent;
	fid->volatile_ = resp.file_id.volatile_;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->size = resp.end_of_file;
		st->alloc = resp.allocation_size;
		st->attrs = resp.file_attributes;
		st->nlink = 1;
		stat_from_times(st, resp.creation_time, resp.last_access_time,
				resp.last_write_time, resp.change_time);
	}
	if (action)
		*action = resp.create_action;
out:
	req_put(req);
	return rc;
}

int smbc_close(struct smb_client *c, const struct smb_fid *fid)
{
	struct smb2_file_id f = {fid->persistent, fid->volatile_};
	struct smb_req *req = close_req_build(c, &f, 0);
	int rc;
	if (!req)
		return -ENOMEM;
	rc = call_chain(c, req);
	if (!rc && req->status != STATUS_SUCCESS)
		rc = status_rc(req);
	req_put(req);
	return rc;
}

ssize_t smbc_read(struct smb_client *c, const struct smb_fid *fid, uint64_t off, void *buf,
		  size_t len)
{
	struct read_req rr;
	struct read_resp resp;
	struct smb_req *req;
	struct wbuf w;
	ssize_t rc;

	if (len > UINT32_MAX)
		return -EINVAL;
	req = mkreq(c, SMB2_READ, 64);
	if (!req)
		return -ENOMEM;
	memset(&rr, 0, sizeof(rr));
	rr.length = (uint32_t)len;
	rr.offset = off;
	rr.file_id.persistent = fid->persistent;
	rr.file_id.volatile_ = fid->volatile_;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (read_req_encode(&w, &rr)) {
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = conn_charge_for(c->conn, len);
	rc = call_chain(c, req);
	if (rc)
		goto out;
	if (req->status == STATUS_END_OF_FILE) {
		rc = 0;
		goto out;
	}
	if (req->status != STATUS_SUCCESS) {
		rc = status_rc(req);
		goto out;
	}
	if (read_resp_decode(req->resp, req->resp_len, &resp) || resp.data_len > len) {
		LOG_WARN("malformed READ response from server");
		rc = -EIO;
		goto out;
	}
	if (resp.data_len)
		memcpy(buf, resp.data, resp.data_len);
	rc = resp.data_len;
out:
	req_put(req);
	return rc;
}

static struct smb_req *query_dir_build(struct smb_client *c, const struct smb2_file_id *fid,
				       uint8_t flags)
{
	struct query_dir_req qd;
	struct smb_req *req = mkreq(c, SMB2_QUERY_DIRECTORY, 64);
	struct wbuf w;
	if (!req)
		return NULL;
	memset(&qd, 0, sizeof(qd));
	qd.info_class = FileIdBothDirectoryInformation;
	qd.flags = flags;
	qd.file_id = *fid;
	qd.output_buffer_length = QUERY_DIR_OUT;
	qd.pattern = "*";
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (query_dir_req_encode(&w, &qd)) {
		req_put(req);
		return NULL;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = conn_charge_for(c->conn, QUERY_DIR_OUT);
	return req;
}

/* Feed one QUERY_DIRECTORY response to fn. Returns 0, 1 at the end, or -errno. */
static int dir_batch(struct smb_req *req, smbc_dirent_fn fn, void *arg)
{
	struct query_dir_resp qr;
	struct fscc_dir_iter it;
	struct fscc_dirent de;
	char name[1024];
	int rc;

	if (req->status == STATUS_NO_MORE_FILES)
		return 1;
	if (req->status != STATUS_SUCCESS)
		return status_rc(req);
	if (query_dir_resp_decode(req->resp, req->resp_len, &qr) ||
	    fscc_dir_iter_init(&it, FileIdBothDirectoryInformation, qr.buffer, qr.buffer_len))
		return -EIO;
	while ((rc = fscc_dir_iter_next(&it, &de)) == 1) {
		struct smb_stat st;
		size_t nlen;
		if (utf16le_to_utf8(de.name16, de.name16_len, name, sizeof(name), &nlen)) {
			LOG_DBG("skipping a directory entry whose name is not valid UTF-16");
			continue;
		}
		memset(&st, 0, sizeof(st));
		st.ino = de.file_index_id;
		st.size = de.end_of_file;
		st.alloc = de.allocation_size;
		st.attrs = de.attributes;
		st.nlink = 1;
		stat_from_times(&st, de.creation, de.last_access, de.last_write, de.change);
		rc = fn(name, &st, arg);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return -EIO;
	return 0;
}

int smbc_list_dir(struct smb_client *c, const char *path, smbc_dirent_fn fn, void *arg)
{
	struct smbc_open_args a = {
		.access = FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_DIRECTORY_FILE,
	};
	struct create_resp cresp;
	struct smb2_file_id fid;
	struct smb_req *cr, *qd;
	int rc, brc;

	cr = create_req_build(c, path, &a);
	qd = query_dir_build(c, &related_fid, 0);
	if (!cr || !qd) {
		req_put(cr);
		req_put(qd);
		return -ENOMEM;
	}
	qd->flags = SMB2_FLAGS_RELATED_OPERATIONS;
	cr->chain_next = qd;
	rc = call_chain(c, cr);
	if (rc) {
		put_chain(cr);
		return rc;
	}
	if (cr->status != STATUS_SUCCESS) {
		rc = status_rc(cr);
		put_chain(cr);
		return rc;
	}
	if (create_resp_decode(cr->resp, cr->resp_len, &cresp)) {
		put_chain(cr);
		return -EIO;
	}
	fid = cresp.file_id;
	brc = dir_batch(qd, fn, arg);
	put_chain(cr);
	while (brc == 0) {
		qd = query_dir_build(c, &fid, 0);
		if (!qd) {
			brc = -ENOMEM;
			break;
		}
		rc = call_chain(c, qd);
		brc = rc ? rc : dir_batch(qd, fn, arg);
		req_put(qd);
	}
	{
		struct smb_fid f = {fid.persistent, fid.volatile_};
		rc = smbc_close(c, &f);
	}
	if (brc < 0)
		return brc;
	return brc == 1 ? 0 : brc;
}

int smbc_statfs(struct smb_client *c, struct smb_statfs *out)
{
	struct smbc_open_args a = {.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
				   .disposition = FILE_OPEN, .options = FILE_DIRECTORY_FILE};
	struct query_info_resp qr;
	struct fscc_fs_full_size_info fsz;
	struct smb_req *q = query_info_build(c, &related_fid, SMB2_0_INFO_FILESYSTEM,
					     FileFsFullSizeInformation, 256);
	int rc;

	if (!q)
		return -ENOMEM;
	rc = open_do_close(c, "", &a, q);
	if (rc)
		goto out;
	if (query_info_resp_decode(q->resp, q->resp_len, &qr) ||
	    fscc_fs_full_size_decode(qr.buffer, qr.buffer_len, &fsz)) {
		rc = -EIO;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->total_units = fsz.total_allocation_units;
	out->avail_units = fsz.caller_available_allocation_units;
	out->free_units = fsz.actual_available_allocation_units;
	out->sectors_per_unit = fsz.sectors_per_allocation_unit;
	out->bytes_per_sector = fsz.bytes_per_sector;
	out->max_name_len = 255;
out:
	req_put(q);
	return rc;
}

ssize_t smbc_write(struct smb_client *c, const struct smb_fid *fid, uint64_t off, const void *buf,
		   size_t len)
{
	struct write_req wr;
	struct write_resp resp;
	struct smb_req *req;
	struct wbuf w;
	ssize_t rc;

	if (len > UINT32_MAX || len == 0)
		return len ? -EINVAL : 0;
	req = mkreq(c, SMB2_WRITE, SMB2_WRITE_REQ_HDR_LEN + len);
	if (!req)
		return -ENOMEM;
	memset(&wr, 0, sizeof(wr));
	wr.length = (uint32_t)len;
	wr.offset = off;
	wr.file_id.persistent = fid->persistent;
	wr.file_id.volatile_ = fid->volatile_;
	wr.data = buf;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (write_req_encode(&w, &wr)) {
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = conn_charge_for(c->conn, len);
	rc = call_chain(c, req);
	if (rc)
		goto out;
	if (req->status != STATUS_SUCCESS) {
		rc = status_rc(req);
		goto out;
	}
	if (write_resp_decode(req->resp, req->resp_len, &resp) || resp.count > len) {
		LOG_WARN("malformed WRITE response from server");
		rc = -EIO;
		goto out;
	}
	rc = resp.count;
out:
	req_put(req);
	return rc;
}

int smbc_flush(struct smb_client *c, const struct smb_fid *fid)
{
	struct smb2_file_id f = {fid->persistent, fid->volatile_};
	struct smb_req *req = mkreq(c, SMB2_FLUSH, 32);
	struct wbuf w;
	int rc;
	if (!req)
		return -ENOMEM;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (flush_req_encode(&w, &f)) {
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	rc = call_chain(c, req);
	if (!rc && req->status != STATUS_SUCCESS)
		rc = status_rc(req);
	req_put(req);
	return rc;
}

/* ------------------------------------------------------------------ async bulk I/O */

/* A smbc_buf is the completed READ request itself: it owns the frame the data lives in. */
void smbc_buf_get(struct smbc_buf *b)
{
	req_get((struct smb_req *)b);
}

void smbc_buf_put(struct smbc_buf *b)
{
	req_put((struct smb_req *)b);
}

struct async_ctx {
	size_t len;
	union {
		smbc_read_cb rcb;
		smbc_write_cb wcb;
	} cb;
	void *arg;
};

static void read_done(struct smb_req *req, void *p)
{
	struct async_ctx *a = p;
	struct read_resp resp;
	ssize_t rc = req->rc;

	if (!rc) {
		if (req->status == STATUS_END_OF_FILE) {
			a->cb.rcb(a->arg, 0, NULL, (struct smbc_buf *)req);
			goto out;
		}
		if (req->status != STATUS_SUCCESS) {
			rc = status_rc(req);
		} else if (read_resp_decode(req->resp, req->resp_len, &resp) ||
			   resp.data_len > a->len) {
			LOG_WARN("malformed READ response from server");
			rc = -EIO;
		} else {
			a->cb.rcb(a->arg, resp.data_len, resp.data, (struct smbc_buf *)req);
			goto out;
		}
	}
	a->cb.rcb(a->arg, rc, NULL, NULL);
out:
	free(a);
	req_put(req); /* the submitter's reference, handed to this callback */
}

int smbc_read_async(struct smb_client *c, const struct smb_fid *fid, uint64_t off, size_t len,
		    smbc_read_cb cb, void *arg)
{
	struct read_req rr;
	struct smb_req *req;
	struct async_ctx *a;
	struct wbuf w;
	int rc;

	if (len > UINT32_MAX || len == 0)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	req = mkreq(c, SMB2_READ, 64);
	if (!a || !req) {
		free(a);
		req_put(req);
		return -ENOMEM;
	}
	memset(&rr, 0, sizeof(rr));
	rr.length = (uint32_t)len;
	rr.offset = off;
	rr.file_id.persistent = fid->persistent;
	rr.file_id.volatile_ = fid->volatile_;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (read_req_encode(&w, &rr)) {
		free(a);
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = conn_charge_for(c->conn, len);
	a->len = len;
	a->cb.rcb = cb;
	a->arg = arg;
	req->done = read_done;
	req->done_arg = a;
	__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
	rc = conn_submit(c->conn, req);
	if (rc) {
		free(a);
		req_put(req);
	}
	return rc;
}

static void write_done(struct smb_req *req, void *p)
{
	struct async_ctx *a = p;
	struct write_resp resp;
	ssize_t rc = req->rc;

	if (!rc) {
		if (req->status != STATUS_SUCCESS)
			rc = status_rc(req);
		else if (write_resp_decode(req->resp, req->resp_len, &resp) || resp.count > a->len)
			rc = -EIO;
		else
			rc = resp.count;
	}
	a->cb.wcb(a->arg, rc);
	free(a);
	req_put(req);
}

int smbc_write_async(struct smb_client *c, const struct smb_fid *fid, uint64_t off,
		     const void *buf, size_t len, smbc_write_cb cb, void *arg)
{
	struct write_req wr;
	struct smb_req *req;
	struct async_ctx *a;
	struct wbuf w;
	int rc;

	if (len > UINT32_MAX || len == 0)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	req = mkreq(c, SMB2_WRITE, SMB2_WRITE_REQ_HDR_LEN + len);
	if (!a || !req) {
		free(a);
		req_put(req);
		return -ENOMEM;
	}
	memset(&wr, 0, sizeof(wr));
	wr.length = (uint32_t)len;
	wr.offset = off;
	wr.file_id.persistent = fid->persistent;
	wr.file_id.volatile_ = fid->volatile_;
	wr.data = buf;
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (write_req_encode(&w, &wr)) {
		free(a);
		req_put(req);
		return -EIO;
	}
	req_set_body_len(req, w.off);
	req->credit_charge = conn_charge_for(c->conn, len);
	a->len = len;
	a->cb.wcb = cb;
	a->arg = arg;
	req->done = write_done;
	req->done_arg = a;
	__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
	rc = conn_submit(c->conn, req);
	if (rc) {
		free(a);
		req_put(req);
	}
	return rc;
}
