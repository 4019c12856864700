/*
 * changenotify.c - asynchronous CHANGE_NOTIFY on an open directory
 * (see smbc_notify_async in ops.h).
 *
 * The request is sent with no deadline (timeout_ms < 0): the connection
 * keeps it in flight across STATUS_PENDING for as long as the server holds
 * it, and neither the request timeout nor the keepalive (which watches
 * traffic, not outstanding requests) counts it as hung. A connection
 * failure completes it with a transport error like any other request.
 */
#include <errno.h>
#include <stdlib.h>

#include "client/internal.h"
#include "client/pool.h"
#include "client/session.h"
#include "errmap.h"
#include "log.h"
#include "wire/changenotify.h"

struct notify_call {
	smbc_notify_cb cb;
	void *arg;
};

static void notify_done(struct smb_req *req, void *p)
{
	struct notify_call *nc = p;
	struct change_notify_resp resp;

	if (req->rc) {
		nc->cb(nc->arg, req->rc, 0, NULL, 0);
	} else if (req->status != STATUS_SUCCESS) {
		nc->cb(nc->arg, 0, req->status, NULL, 0);
	} else if (change_notify_resp_decode(req->resp, req->resp_len, &resp)) {
		LOG_WARN("malformed CHANGE_NOTIFY response from server");
		nc->cb(nc->arg, -EIO, 0, NULL, 0);
	} else {
		nc->cb(nc->arg, 0, STATUS_SUCCESS, resp.buffer, resp.buffer_len);
	}
	free(nc);
	req_put(req);
}

int smbc_notify_async(struct smb_client *c, struct smbc_file *dir, uint16_t flags,
		      uint32_t filter, uint32_t out_len, smbc_notify_cb cb, void *arg,
		      uint64_t *gen_out)
{
	struct change_notify_req cn = {.flags = flags, .output_buffer_length = out_len,
				       .completion_filter = filter};
	struct notify_call *nc;
	struct smbc_chan ch;
	struct smb_req *req;
	struct wbuf w;
	int rc;

	rc = smbc_chan_get(c, &ch);
	if (rc)
		return rc;
	if (gen_out)
		*gen_out = ch.gen;
	rc = smbc_file_fid(dir, ch.gen, &cn.file_id);
	if (rc) {
		smbc_chan_put(&ch);
		return rc;
	}
	nc = calloc(1, sizeof(*nc));
	req = req_new(SMB2_CHANGE_NOTIFY, 32);
	if (!nc || !req) {
		free(nc);
		req_put(req);
		smbc_chan_put(&ch);
		return -ENOMEM;
	}
	w = wbuf_init(req_body(req), req_body_cap(req));
	if (change_notify_req_encode(&w, &cn)) {
		free(nc);
		req_put(req);
		smbc_chan_put(&ch);
		return -EIO;
	}
	nc->cb = cb;
	nc->arg = arg;
	req_set_body_len(req, w.off);
	req->session_id = ch.session_id;
	req->tree_id = ch.tree_id;
	req->credit_charge = smbc_credits_for(c, out_len);
	req->timeout_ms = -1; /* held by the server until something changes */
	req->done = notify_done;
	req->done_arg = nc;
	__atomic_add_fetch(&c->round_trips, 1, __ATOMIC_RELAXED);
	rc = conn_submit(ch.conn, req);
	if (rc) {
		free(nc);
		req_put(req);
	}
	/* else: our reference passes to notify_done */
	smbc_chan_put(&ch);
	return rc;
}
