/*
 * frame.c - SMB2 header codec and whole-PDU validation. See frame.h.
 */
#include "wire/frame.h"

#include <errno.h>
#include <string.h>

enum { ERR_STRUCTURE_SIZE = 9, ERR_FIXED = 8 };

static const struct smb2_cmd_info cmd_table[SMB2_NUM_COMMANDS] = {
	[SMB2_NEGOTIATE] = {"NEGOTIATE", 36, 65},
	[SMB2_SESSION_SETUP] = {"SESSION_SETUP", 25, 9},
	[SMB2_LOGOFF] = {"LOGOFF", 4, 4},
	[SMB2_TREE_CONNECT] = {"TREE_CONNECT", 9, 16},
	[SMB2_TREE_DISCONNECT] = {"TREE_DISCONNECT", 4, 4},
	[SMB2_CREATE] = {"CREATE", 57, 89},
	[SMB2_CLOSE] = {"CLOSE", 24, 60},
	[SMB2_FLUSH] = {"FLUSH", 24, 4},
	[SMB2_READ] = {"READ", 49, 17},
	[SMB2_WRITE] = {"WRITE", 49, 17},
	[SMB2_LOCK] = {"LOCK", 48, 4},
	[SMB2_IOCTL] = {"IOCTL", 57, 49},
	[SMB2_CANCEL] = {"CANCEL", 4, 0},
	[SMB2_ECHO] = {"ECHO", 4, 4},
	[SMB2_QUERY_DIRECTORY] = {"QUERY_DIRECTORY", 33, 9},
	[SMB2_CHANGE_NOTIFY] = {"CHANGE_NOTIFY", 32, 9},
	[SMB2_QUERY_INFO] = {"QUERY_INFO", 41, 9},
	[SMB2_SET_INFO] = {"SET_INFO", 33, 2},
	/* 24 = oplock break; 44 = lease break notification (checked by the decoder) */
	[SMB2_OPLOCK_BREAK] = {"OPLOCK_BREAK", 24, 24},
};

const struct smb2_cmd_info *smb2_cmd_info(uint16_t command)
{
	if (command >= SMB2_NUM_COMMANDS)
		return NULL;
	return &cmd_table[command];
}

const char *smb2_cmd_name(uint16_t command)
{
	const struct smb2_cmd_info *ci = smb2_cmd_info(command);
	return ci ? ci->name : "UNKNOWN";
}

int hdr_encode(struct wbuf *w, const struct smb2_hdr *h)
{
	int rc = 0;
	rc |= put_u32le(w, SMB2_PROTOCOL_ID);
	rc |= put_u16le(w, SMB2_HDR_SIZE);
	rc |= put_u16le(w, h->credit_charge);
	rc |= put_u32le(w, h->status);
	rc |= put_u16le(w, h->command);
	rc |= put_u16le(w, h->credit);
	rc |= put_u32le(w, h->flags);
	rc |= put_u32le(w, h->next_command);
	rc |= put_u64le(w, h->message_id);
	if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
		rc |= put_u64le(w, h->async_id);
	} else {
		rc |= put_u32le(w, 0xFEFF); /* Reserved: ProcessId, MS-SMB2 2.2.1.2 */
		rc |= put_u32le(w, h->tree_id);
	}
	rc |= put_u64le(w, h->session_id);
	rc |= put_bytes(w, h->signature, SMB2_SIG_SIZE);
	return rc ? -EMSGSIZE : 0;
}

int hdr_decode(struct rbuf *r, struct smb2_hdr *h)
{
	uint32_t proto;
	uint16_t size;
	size_t start = r->off;

	if (rbuf_left(r) < SMB2_HDR_SIZE)
		return -EBADMSG;
	if (get_u32le(r, &proto) || get_u16le(r, &size) || get_u16le(r, &h->credit_charge) ||
	    get_u32le(r, &h->status) || get_u16le(r, &h->command) || get_u16le(r, &h->credit) ||
	    get_u32le(r, &h->flags) || get_u32le(r, &h->next_command) ||
	    get_u64le(r, &h->message_id))
		goto bad;
	if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
		if (get_u64le(r, &h->async_id))
			goto bad;
		h->tree_id = 0;
	} else {
		uint32_t reserved;
		if (get_u32le(r, &reserved) || get_u32le(r, &h->tree_id))
			goto bad;
		h->async_id = 0;
	}
	if (get_u64le(r, &h->session_id) || get_bytes(r, h->signature, SMB2_SIG_SIZE))
		goto bad;
	if (proto != SMB2_PROTOCOL_ID || size != SMB2_HDR_SIZE)
		goto bad;
	return 0;
bad:
	r->off = start;
	return -EBADMSG;
}

int frame_check(const uint8_t *p, size_t len, struct smb2_hdr *h, size_t *pdu_len)
{
	struct rbuf r = rbuf_init(p, len);
	const struct smb2_cmd_info *ci;
	size_t plen = len;
	uint16_t body_size;

	if (hdr_decode(&r, h))
		return -EBADMSG;
	if (!(h->flags & SMB2_FLAGS_SERVER_TO_REDIR))
		return -EBADMSG;
	ci = smb2_cmd_info(h->command);
	if (!ci || ci->resp_size == 0)
		return -EBADMSG;
	if (h->next_command) {
		/* Each compounded PDU starts 8-byte aligned and holds at least a header. */
		if ((h->next_command & 7) || h->next_command < SMB2_HDR_SIZE + 2 ||
		    h->next_command > len)
			return -EBADMSG;
		plen = h->next_command;
	}
	if (plen < SMB2_HDR_SIZE + 2)
		return -EBADMSG;
	body_size = le16_load(p + SMB2_HDR_SIZE);
	/* OPLOCK_BREAK: 24 oplock break/ack response, 44 lease break, 36 lease ack response */
	if (body_size == ci->resp_size ||
	    (h->command == SMB2_OPLOCK_BREAK && (body_size == 44 || body_size == 36))) {
		/* An odd StructureSize counts one byte of the variable part. */
		if (plen - SMB2_HDR_SIZE < (size_t)(body_size & ~1u))
			return -EBADMSG;
	} else if (body_size == ERR_STRUCTURE_SIZE && h->status != 0) {
		if (plen - SMB2_HDR_SIZE < ERR_FIXED)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	*pdu_len = plen;
	return 0;
}

int error_decode(const uint8_t *body, size_t len, const uint8_t **data, uint32_t *data_len)
{
	struct rbuf r = rbuf_init(body, len);
	uint16_t size;
	uint8_t ctx_count, reserved;
	uint32_t count;

	if (get_u16le(&r, &size) || get_u8(&r, &ctx_count) || get_u8(&r, &reserved) ||
	    get_u32le(&r, &count))
		return -EBADMSG;
	if (size != ERR_STRUCTURE_SIZE)
		return -EBADMSG;
	if (get_view(&r, count, data))
		return -EBADMSG;
	*data_len = count;
	return 0;
}

void transport_hdr_store(uint8_t out[4], uint32_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

int transport_hdr_parse(const uint8_t in[4], uint32_t max, uint32_t *len)
{
	uint32_t n;
	if (in[0] != 0)
		return -EBADMSG;
	n = ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
	if (n > max)
		return -EBADMSG;
	*len = n;
	return 0;
}
