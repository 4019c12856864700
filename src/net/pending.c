/*
 * pending.c - in-flight table: chained hash on MessageId. MessageIds are
 * allocated sequentially, so the low bits spread evenly over the buckets.
 */
#include "net/pending.h"

#include <string.h>

#include "net/conn.h"

static unsigned slot(uint64_t id)
{
	return (unsigned)(id % PENDING_BUCKETS);
}

void pending_init(struct pending *p)
{
	memset(p, 0, sizeof(*p));
}

void pending_add(struct pending *p, struct smb_req *req)
{
	unsigned s = slot(req->message_id);
	req->hnext = p->bucket[s];
	p->bucket[s] = req;
	p->count++;
}

struct smb_req *pending_find(struct pending *p, uint64_t message_id)
{
	for (struct smb_req *r = p->bucket[slot(message_id)]; r; r = r->hnext)
		if (r->message_id == message_id)
			return r;
	return NULL;
}

void pending_del(struct pending *p, struct smb_req *req)
{
	struct smb_req **pp = &p->bucket[slot(req->message_id)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == req) {
			*pp = req->hnext;
			req->hnext = NULL;
			p->count--;
			return;
		}
	}
}

struct smb_req *pending_pop(struct pending *p)
{
	if (!p->count)
		return NULL;
	for (unsigned i = 0; i < PENDING_BUCKETS; i++) {
		struct smb_req *r = p->bucket[i];
		if (r) {
			p->bucket[i] = r->hnext;
			r->hnext = NULL;
			p->count--;
			return r;
		}
	}
	return NULL;
}

void pending_foreach(struct pending *p, void (*fn)(struct smb_req *req, void *arg), void *arg)
{
	for (unsigned i = 0; i < PENDING_BUCKETS && p->count; i++)
		for (struct smb_req *r = p->bucket[i]; r; r = r->hnext)
			fn(r, arg);
}
