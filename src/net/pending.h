/*
 * pending.h - the table of requests in flight on one connection, keyed by
 * MessageId. Loop thread only; no locks.
 */
#ifndef SMBF_NET_PENDING_H
#define SMBF_NET_PENDING_H

#include <stdint.h>

struct smb_req;

#define PENDING_BUCKETS 1024

struct pending {
	struct smb_req *bucket[PENDING_BUCKETS];
	unsigned count;
};

void pending_init(struct pending *p);
/* Insert by req->message_id. */
void pending_add(struct pending *p, struct smb_req *req);
/* Find by MessageId, or NULL. */
struct smb_req *pending_find(struct pending *p, uint64_t message_id);
/* Remove this request (no-op if absent). */
void pending_del(struct pending *p, struct smb_req *req);
/* Remove and return any one request, or NULL when empty (for teardown). */
struct smb_req *pending_pop(struct pending *p);
/* Call fn for each request; fn may not modify the table. */
void pending_foreach(struct pending *p, void (*fn)(struct smb_req *req, void *arg), void *arg);

#endif
