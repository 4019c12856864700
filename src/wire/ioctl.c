/*
 * ioctl.c - IOCTL (MS-SMB2 2.2.31, 2.2.32) and VALIDATE_NEGOTIATE_INFO
 * (2.2.31.4, 2.2.32.6).
 */
#include "wire/ioctl.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.31 IOCTL request, offsets within the body. */
enum {
	IOCTL_REQ_STRUCTURE_SIZE = 57,
	IOCTL_REQ_RESERVED = 2,
	IOCTL_REQ_CTL_CODE = 4,
	IOCTL_REQ_FILE_ID = 8,
	IOCTL_REQ_INPUT_OFFSET = 24,
	IOCTL_REQ_INPUT_COUNT = 28,
	IOCTL_REQ_MAX_INPUT_RESPONSE = 32,
	IOCTL_REQ_OUTPUT_OFFSET = 36,
	IOCTL_REQ_OUTPUT_COUNT = 40,
	IOCTL_REQ_MAX_OUTPUT_RESPONSE = 44,
	IOCTL_REQ_FLAGS = 48,
	IOCTL_REQ_RESERVED2 = 52,
	IOCTL_REQ_BUFFER = 56,
};

/* MS-SMB2 2.2.32 IOCTL response. */
enum {
	IOCTL_RESP_STRUCTURE_SIZE = 49,
	IOCTL_RESP_RESERVED = 2,
	IOCTL_RESP_CTL_CODE = 4,
	IOCTL_RESP_FILE_ID = 8,
	IOCTL_RESP_INPUT_OFFSET = 24,
	IOCTL_RESP_INPUT_COUNT = 28,
	IOCTL_RESP_OUTPUT_OFFSET = 32,
	IOCTL_RESP_OUTPUT_COUNT = 36,
	IOCTL_RESP_FLAGS = 40,
	IOCTL_RESP_RESERVED2 = 44,
	IOCTL_RESP_BUFFER = 48,
};

/* MS-SMB2 2.2.31.4 / 2.2.32.6 VALIDATE_NEGOTIATE_INFO. */
enum {
	VNEG_REQ_CAPABILITIES = 0,
	VNEG_REQ_GUID = 4,
	VNEG_REQ_SECURITY_MODE = 20,
	VNEG_REQ_DIALECT_COUNT = 22,
	VNEG_REQ_DIALECTS = 24,
	VNEG_RESP_CAPABILITIES = 0,
	VNEG_RESP_GUID = 4,
	VNEG_RESP_SECURITY_MODE = 20,
	VNEG_RESP_DIALECT = 22,
	VNEG_RESP_SIZE = 24,
};

_Static_assert(VALIDATE_NEGOTIATE_RESP_LEN == VNEG_RESP_SIZE, "VNEG response size");
_Static_assert(VALIDATE_NEGOTIATE_REQ_LEN(0) == VNEG_REQ_DIALECTS, "VNEG request size");

int ioctl_req_encode(struct wbuf *w, const struct ioctl_req *req)
{
	size_t base = w->off;
	int rc = 0;

	if (req->input_len && !req->input)
		return -EINVAL;
	rc |= put_u16le(w, IOCTL_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, 0);
	rc |= put_u32le(w, req->ctl_code);
	rc |= put_file_id(w, &req->file_id);
	/* InputOffset points at the buffer even when empty, as Windows sends it. */
	rc |= put_u32le(w, SMB2_HDR_SIZE + IOCTL_REQ_BUFFER);
	rc |= put_u32le(w, req->input_len);
	rc |= put_u32le(w, req->max_input_response);
	rc |= put_u32le(w, 0); /* OutputOffset */
	rc |= put_u32le(w, 0); /* OutputCount: MUST be 0 in requests we send */
	rc |= put_u32le(w, req->max_output_response);
	rc |= put_u32le(w, req->flags);
	rc |= put_u32le(w, 0);
	rc |= req->input_len ? put_bytes(w, req->input, req->input_len) : put_u8(w, 0);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int ioctl_resp_decode(const uint8_t *pdu, size_t len, struct ioctl_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, reserved;
	uint32_t in_off, in_len, out_off, out_len, reserved2;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != IOCTL_RESP_STRUCTURE_SIZE || get_u16le(&r, &reserved) ||
	    get_u32le(&r, &resp->ctl_code) || get_file_id(&r, &resp->file_id) ||
	    get_u32le(&r, &in_off) || get_u32le(&r, &in_len) || get_u32le(&r, &out_off) ||
	    get_u32le(&r, &out_len) || get_u32le(&r, &resp->flags) || get_u32le(&r, &reserved2))
		return -EBADMSG;
	if (in_len) {
		if (in_off < SMB2_HDR_SIZE + IOCTL_RESP_BUFFER || !range_ok(len, in_off, in_len))
			return -EBADMSG;
		resp->input = pdu + in_off;
		resp->input_len = in_len;
	}
	if (out_len) {
		if (out_off < SMB2_HDR_SIZE + IOCTL_RESP_BUFFER || !range_ok(len, out_off, out_len))
			return -EBADMSG;
		resp->output = pdu + out_off;
		resp->output_len = out_len;
	}
	return 0;
}

int validate_negotiate_req_encode(struct wbuf *w, const struct validate_negotiate_req *req)
{
	size_t base = w->off;
	int rc = 0;

	if (!req->dialect_count || !req->dialects)
		return -EINVAL;
	rc |= put_u32le(w, req->capabilities);
	rc |= put_bytes(w, req->guid, sizeof(req->guid));
	rc |= put_u16le(w, req->security_mode);
	rc |= put_u16le(w, req->dialect_count);
	for (uint16_t i = 0; i < req->dialect_count && !rc; i++)
		rc |= put_u16le(w, req->dialects[i]);
	if (rc) {
		w->off = base;
		return -EMSGSIZE;
	}
	return 0;
}

int ioctl_validate_negotiate_encode(struct wbuf *w, const struct validate_negotiate_req *req)
{
	uint8_t in[VALIDATE_NEGOTIATE_REQ_LEN(64)];
	struct wbuf iw = wbuf_init(in, sizeof(in));
	struct ioctl_req io = {
		.ctl_code = FSCTL_VALIDATE_NEGOTIATE_INFO,
		.file_id = {SMB2_FILE_ID_NONE, SMB2_FILE_ID_NONE},
		.max_input_response = 0,
		.max_output_response = VALIDATE_NEGOTIATE_RESP_LEN,
		.flags = SMB2_0_IOCTL_IS_FSCTL,
	};
	int rc;

	if (req->dialect_count > 64)
		return -EINVAL;
	rc = validate_negotiate_req_encode(&iw, req);
	if (rc)
		return rc;
	io.input = in;
	io.input_len = (uint32_t)iw.off;
	return ioctl_req_encode(w, &io);
}

int validate_negotiate_resp_decode(const uint8_t *out, uint32_t out_len,
				   struct validate_negotiate_resp *resp)
{
	struct rbuf r = rbuf_init(out, out_len);

	memset(resp, 0, sizeof(*resp));
	if (!out || get_u32le(&r, &resp->capabilities) ||
	    get_bytes(&r, resp->guid, sizeof(resp->guid)) ||
	    get_u16le(&r, &resp->security_mode) || get_u16le(&r, &resp->dialect))
		return -EBADMSG;
	return 0;
}
