/*
 * fuzz_frame - the receive path up to the command decoders: the 4-byte Direct
 * TCP header (transport_hdr_parse), then frame_check() over the compound
 * chain exactly as process_frame() in src/net/conn.c walks it (advance by
 * NextCommand until it is 0), then the decoder for each PDU's command, or
 * error_decode() for an error body.
 *
 * Input: transport header + frame. Each PDU is copied into a buffer of exactly
 * pdu_len bytes before decoding, so a decoder reading into the next PDU of the
 * chain trips ASan.
 */
#include "fuzz.h"

#include "wire/close.h"
#include "wire/create.h"
#include "wire/echo.h"
#include "wire/flush.h"
#include "wire/frame.h"
#include "wire/info.h"
#include "wire/ioctl.h"
#include "wire/negotiate.h"
#include "wire/querydir.h"
#include "wire/read.h"
#include "wire/session.h"
#include "wire/tree.h"
#include "wire/write.h"

/* MS-SMB2 2.2.2: ERROR response StructureSize. */
#define FUZZ_ERR_STRUCTURE_SIZE 9

static void decode_pdu(const uint8_t *pdu, size_t len, const struct smb2_hdr *h)
{
	union {
		struct negotiate_resp neg;
		struct session_setup_resp ss;
		struct tree_connect_resp tc;
		struct create_resp cr;
		struct close_resp cl;
		struct read_resp rd;
		struct write_resp wr;
		struct query_dir_resp qd;
		struct query_info_resp qi;
		struct ioctl_resp io;
	} u;
	const uint8_t *data;
	uint32_t data_len;

	/*
	 * frame_check accepts an ERROR body for any non-zero status, but
	 * SESSION_SETUP, QUERY_DIRECTORY and QUERY_INFO bodies are StructureSize
	 * 9 as well (MORE_PROCESSING_REQUIRED, BUFFER_OVERFLOW): the caller picks
	 * by status. Run both decoders; neither looks at the status.
	 */
	if (h->status != 0 && le16_load(pdu + SMB2_HDR_SIZE) == FUZZ_ERR_STRUCTURE_SIZE &&
	    error_decode(pdu + SMB2_HDR_SIZE, len - SMB2_HDR_SIZE, &data, &data_len) == 0)
		fuzz_view(pdu, len, data, data_len);
	switch (h->command) {
	case SMB2_NEGOTIATE:
		if (negotiate_resp_decode(pdu, len, &u.neg) == 0) {
			fuzz_view(pdu, len, u.neg.security_buffer, u.neg.security_buffer_len);
			fuzz_view(pdu, len, u.neg.preauth_salt, u.neg.preauth_salt_len);
		}
		break;
	case SMB2_SESSION_SETUP:
		if (session_setup_resp_decode(pdu, len, &u.ss) == 0)
			fuzz_view(pdu, len, u.ss.security_buffer, u.ss.security_buffer_len);
		break;
	case SMB2_LOGOFF:
		(void)logoff_resp_decode(pdu, len);
		break;
	case SMB2_TREE_CONNECT:
		(void)tree_connect_resp_decode(pdu, len, &u.tc);
		break;
	case SMB2_TREE_DISCONNECT:
		(void)tree_disconnect_resp_decode(pdu, len);
		break;
	case SMB2_CREATE:
		if (create_resp_decode(pdu, len, &u.cr) == 0) {
			struct cctx_iter it;
			struct create_ctx c;
			fuzz_view(pdu, len, u.cr.contexts, u.cr.contexts_len);
			cctx_iter_init(&it, u.cr.contexts, u.cr.contexts_len);
			while (cctx_iter_next(&it, &c) > 0) {
				fuzz_view(pdu, len, c.name, c.name_len);
				fuzz_view(pdu, len, c.data, c.data_len);
			}
		}
		break;
	case SMB2_CLOSE:
		(void)close_resp_decode(pdu, len, &u.cl);
		break;
	case SMB2_FLUSH:
		(void)flush_resp_decode(pdu, len);
		break;
	case SMB2_READ:
		if (read_resp_decode(pdu, len, &u.rd) == 0)
			fuzz_view(pdu, len, u.rd.data, u.rd.data_len);
		break;
	case SMB2_WRITE:
		(void)write_resp_decode(pdu, len, &u.wr);
		break;
	case SMB2_ECHO:
		(void)echo_resp_decode(pdu, len);
		break;
	case SMB2_QUERY_DIRECTORY:
		if (query_dir_resp_decode(pdu, len, &u.qd) == 0)
			fuzz_view(pdu, len, u.qd.buffer, u.qd.buffer_len);
		break;
	case SMB2_QUERY_INFO:
		if (query_info_resp_decode(pdu, len, &u.qi) == 0)
			fuzz_view(pdu, len, u.qi.buffer, u.qi.buffer_len);
		break;
	case SMB2_SET_INFO:
		(void)set_info_resp_decode(pdu, len);
		break;
	case SMB2_IOCTL:
		if (ioctl_resp_decode(pdu, len, &u.io) == 0) {
			fuzz_view(pdu, len, u.io.input, u.io.input_len);
			fuzz_view(pdu, len, u.io.output, u.io.output_len);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	uint32_t flen;
	size_t len, off = 0;

	if (size < 4 || transport_hdr_parse(data, SMB2_MAX_FRAME, &flen))
		return 0;
	p = data + 4;
	len = size - 4;
	/* The receiver reads exactly flen bytes; a short input stands for a cut-off frame. */
	if (flen < len)
		len = flen;
	if (len < 4)
		return 0;
	for (;;) {
		struct smb2_hdr h;
		size_t pdu_len;
		uint8_t *pdu;

		if (frame_check(p + off, len - off, &h, &pdu_len))
			break;
		if (pdu_len > len - off || pdu_len < SMB2_HDR_SIZE + 2)
			FUZZ_FAIL("frame_check: pdu_len %zu at offset %zu of %zu", pdu_len, off,
				  len);
		pdu = fuzz_dup(p + off, pdu_len);
		if (!pdu)
			return 0;
		decode_pdu(pdu, pdu_len, &h);
		free(pdu);
		if (!h.next_command)
			break;
		off += pdu_len;
	}
	return 0;
}
