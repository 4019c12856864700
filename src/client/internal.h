/*
 * internal.h - building blocks shared by the client's operation files
 * (ops.c and its siblings). Not for use outside src/client/.
 */
#ifndef SMBF_CLIENT_INTERNAL_H
#define SMBF_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "client/ops.h"
#include "net/conn.h"
#include "wire/create.h"

/* Offsets of the FileId in request bodies (MS-SMB2 2.2.15, .17, .19, .21, .33, .37, .39, .31, .26). */
enum fid_body_off {
	FID_OFF_CLOSE = 8,
	FID_OFF_FLUSH = 8,
	FID_OFF_READ = 16,
	FID_OFF_WRITE = 16,
	FID_OFF_QUERY_DIRECTORY = 8,
	FID_OFF_QUERY_INFO = 24,
	FID_OFF_SET_INFO = 16,
	FID_OFF_IOCTL = 8,
	FID_OFF_LOCK = 8,
};

/* FileId meaning "the file the previous request of this compound opened". */
extern const struct smb2_file_id smbc_related_fid;

/*
 * Send a chain (requests linked by chain_next) and wait, surviving
 * connection failures: on a failure it waits for the reconnect and sends a
 * fresh copy, so *headp may be replaced (read results from *headp, then
 * smbc_put_chain it). Returns the transport result; 0 means every request has
 * a response (check each status).
 */
int smbc_call_chain(struct smb_client *c, struct smb_req **headp);
/* The same, also telling which connection generation answered. */
int smbc_call_chain_gen(struct smb_client *c, struct smb_req **headp, uint64_t *gen_out);
void smbc_put_chain(struct smb_req *head);

/* One request on an open file: transport or status failure (-errno). On success
 * *out (if given) holds the answered request (put it). */
int smbc_call_on_file(struct smb_client *c, struct smb_req *req, struct smb_req **out,
		      int ok_overflow);

/*
 * CREATE(path) + mid + CLOSE as one related compound (one round trip). Consumes
 * mid; *mid_out (if given) gets the answered mid request (put it).
 */
int smbc_open_do_close(struct smb_client *c, const char *path, const struct smbc_open_args *a,
		       struct smb_req *mid, struct smb_req **mid_out);

/* Request builders. A request on an open file names it with smbc_set_fid_src(): the
 * FileId at body offset off is written at send time (after a reopen if needed). */
struct smb_req *smbc_create_req(struct smb_client *c, const char *path,
				const struct smbc_open_args *a);
struct smb_req *smbc_close_req(struct smb_client *c, const struct smb2_file_id *fid,
			       uint16_t flags);
struct smb_req *smbc_query_info_req(struct smb_client *c, const struct smb2_file_id *fid,
				    uint8_t type, uint8_t cls, uint32_t out_len);
struct smb_req *smbc_set_info_req(struct smb_client *c, const struct smb2_file_id *fid,
				  uint8_t cls, const uint8_t *buf, uint32_t len);
void smbc_set_fid_src(struct smb_req *req, struct smbc_file *f, uint16_t off);

/* The FileId of f on connection generation gen, reopening f if it belongs to an
 * older one (blocks then: not on a loop thread). 0 or -errno. */
int smbc_file_fid(struct smbc_file *f, uint64_t gen, struct smb2_file_id *fid);
/* Byte-range locks the server granted on f (an unlock element removes its
 * range): kept so a reopen by path after a reconnect can take them again. */
struct smb2_lock_element;
void smbc_file_note_locks(struct smbc_file *f, const struct smb2_lock_element *e, uint16_t n);

/* Before a request naming path other than by CREATE (a rename's or link's
 * target): create the files created later that it could observe. */
void smbc_settle(struct smb_client *c, const char *path);

/* Loop thread: an unsolicited OPLOCK_BREAK (lease break) arrived on conn. */
void smbc_on_break(struct smb_client *c, struct smb_conn *conn, const uint8_t *pdu, size_t len);

/* Fill st from a QUERY_INFO(FileAllInformation) response; -EIO if malformed. */
int smbc_stat_from_all(const struct smb_req *q, struct smb_stat *st);

/* NTSTATUS of a response as -errno (unknown errors -EIO). */
int smbc_status_rc(const struct smb_req *req);

/* CreditCharge for a payload of len bytes. */
uint16_t smbc_credits_for(struct smb_client *c, size_t len);

#endif
