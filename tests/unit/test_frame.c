/*
 * test_frame.c - SMB2 header codec, transport framing and frame_check
 * (src/wire/frame.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "wire/frame.h"

/* Build a response PDU: header + body bytes; returns its length. */
static size_t mk_pdu(uint8_t *out, size_t cap, uint16_t cmd, uint32_t status, uint32_t flags,
		     uint32_t next, const uint8_t *body, size_t blen)
{
	struct wbuf w = wbuf_init(out, cap);
	struct smb2_hdr h = {0};

	h.credit_charge = 1;
	h.status = status;
	h.command = cmd;
	h.credit = 1;
	h.flags = flags | SMB2_FLAGS_SERVER_TO_REDIR;
	h.next_command = next;
	h.message_id = 7;
	h.tree_id = 5;
	h.session_id = 0x1122334455667788u;
	ck_assert_int_eq(hdr_encode(&w, &h), 0);
	ck_assert_int_eq(put_bytes(&w, body, blen), 0);
	return w.off;
}

/* MS-SMB2 2.2.10 TREE_CONNECT response body (16 bytes). */
static const uint8_t tree_body[16] = {0x10, 0x00, 0x01, 0x00, 0, 0, 0, 0,
				      0,    0,    0,    0,    0xff, 0x01, 0x1f, 0x00};
/* MS-SMB2 2.2.2 ERROR response body with one byte of ErrorData. */
static const uint8_t err_body[9] = {0x09, 0, 0, 0, 0, 0, 0, 0, 0};
/* MS-SMB2 2.2.16 CLOSE response body (60 bytes). */
static uint8_t close_body[60] = {0x3c, 0x00};

START_TEST(hdr_roundtrip_sync)
{
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb2_hdr h = {0}, d;
	struct rbuf r;

	h.credit_charge = 3;
	h.status = 0xC0000022u;
	h.command = SMB2_CREATE;
	h.credit = 256;
	h.flags = SMB2_FLAGS_SIGNED | SMB2_FLAGS_RELATED_OPERATIONS;
	h.next_command = 0x68;
	h.message_id = 0x0102030405060708u;
	h.tree_id = 0xabcdef01u;
	h.session_id = 0x1122334455667788u;
	for (int i = 0; i < SMB2_SIG_SIZE; i++)
		h.signature[i] = (uint8_t)(0xa0 + i);
	ck_assert_int_eq(hdr_encode(&w, &h), 0);
	ck_assert_uint_eq(w.off, SMB2_HDR_SIZE);
	/* Spot-check the layout of MS-SMB2 2.2.1.2. */
	ck_assert_mem_eq(buf, "\xfeSMB\x40\x00\x03\x00\x22\x00\x00\xc0\x05\x00\x00\x01", 16);
	ck_assert_mem_eq(buf + HDR_FLAGS, "\x0c\x00\x00\x00\x68\x00\x00\x00", 8);
	ck_assert_mem_eq(buf + HDR_PROCESS_ID, "\xff\xfe\x00\x00\x01\xef\xcd\xab", 8);
	r = rbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(hdr_decode(&r, &d), 0);
	ck_assert_uint_eq(r.off, 64);
	ck_assert_uint_eq(d.credit_charge, 3);
	ck_assert_uint_eq(d.status, 0xC0000022u);
	ck_assert_uint_eq(d.command, SMB2_CREATE);
	ck_assert_uint_eq(d.credit, 256);
	ck_assert_uint_eq(d.flags, h.flags);
	ck_assert_uint_eq(d.next_command, 0x68);
	ck_assert_uint_eq(d.message_id, h.message_id);
	ck_assert_uint_eq(d.tree_id, h.tree_id);
	ck_assert_uint_eq(d.async_id, 0);
	ck_assert_uint_eq(d.session_id, h.session_id);
	ck_assert_mem_eq(d.signature, h.signature, SMB2_SIG_SIZE);
}
END_TEST

START_TEST(hdr_roundtrip_async)
{
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct smb2_hdr h = {0}, d;
	struct rbuf r;

	h.command = SMB2_CHANGE_NOTIFY;
	h.flags = SMB2_FLAGS_ASYNC_COMMAND | SMB2_FLAGS_SERVER_TO_REDIR;
	h.async_id = 0x8877665544332211u;
	h.status = STATUS_PENDING;
	ck_assert_int_eq(hdr_encode(&w, &h), 0);
	ck_assert_mem_eq(buf + HDR_ASYNC_ID, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	r = rbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(hdr_decode(&r, &d), 0);
	ck_assert_uint_eq(d.async_id, h.async_id);
	ck_assert_uint_eq(d.tree_id, 0);
}
END_TEST

START_TEST(hdr_errors)
{
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, 63);
	struct smb2_hdr h = {0}, d;
	struct rbuf r;

	ck_assert_int_eq(hdr_encode(&w, &h), -EMSGSIZE);
	w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(hdr_encode(&w, &h), 0);
	for (size_t n = 0; n < 64; n++) {
		r = rbuf_init(buf, n);
		ck_assert_int_eq(hdr_decode(&r, &d), -EBADMSG);
		ck_assert_uint_eq(r.off, 0);
	}
	buf[0] = 0xff; /* SMB1 */
	r = rbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(hdr_decode(&r, &d), -EBADMSG);
	ck_assert_uint_eq(r.off, 0);
	buf[0] = 0xfe;
	buf[HDR_STRUCTURE_SIZE] = 65;
	ck_assert_int_eq(hdr_decode(&r, &d), -EBADMSG);
}
END_TEST

START_TEST(frame_valid_single)
{
	uint8_t p[256];
	size_t n = mk_pdu(p, sizeof(p), SMB2_TREE_CONNECT, 0, 0, 0, tree_body, sizeof(tree_body));
	struct smb2_hdr h;
	size_t plen = 0;

	ck_assert_int_eq(frame_check(p, n, &h, &plen), 0);
	ck_assert_uint_eq(plen, n);
	ck_assert_uint_eq(h.command, SMB2_TREE_CONNECT);
	ck_assert_uint_eq(h.message_id, 7);
	/* Trailing bytes (padding) do not matter for a last PDU. */
	ck_assert_int_eq(frame_check(p, n + 8, &h, &plen), 0);
	ck_assert_uint_eq(plen, n + 8);
}
END_TEST

START_TEST(frame_valid_compound)
{
	uint8_t p[512];
	size_t n1, n2, n3, off = 0, steps = 0;
	struct smb2_hdr h;
	size_t plen;

	/* CREATE error + CLOSE + TREE_CONNECT, each 8-aligned. */
	n1 = mk_pdu(p, sizeof(p), SMB2_CREATE, STATUS_OBJECT_NAME_NOT_FOUND,
		    SMB2_FLAGS_RELATED_OPERATIONS, 80, err_body, sizeof(err_body));
	ck_assert_uint_eq(n1, 73);
	memset(p + n1, 0, 80 - n1);
	n2 = mk_pdu(p + 80, sizeof(p) - 80, SMB2_CLOSE, 0, SMB2_FLAGS_RELATED_OPERATIONS, 128,
		    close_body, sizeof(close_body));
	ck_assert_uint_eq(n2, 124);
	memset(p + 80 + n2, 0, 4);
	n3 = mk_pdu(p + 208, sizeof(p) - 208, SMB2_TREE_CONNECT, 0, 0, 0, tree_body,
		    sizeof(tree_body));
	while (off < 208 + n3) {
		ck_assert_int_eq(frame_check(p + off, 208 + n3 - off, &h, &plen), 0);
		ck_assert_uint_ge(plen, SMB2_HDR_SIZE + 2);
		off += plen;
		steps++;
	}
	ck_assert_uint_eq(steps, 3);
	ck_assert_uint_eq(off, 208 + n3);
}
END_TEST

START_TEST(frame_bad_protocol)
{
	uint8_t p[256];
	size_t n = mk_pdu(p, sizeof(p), SMB2_TREE_CONNECT, 0, 0, 0, tree_body, sizeof(tree_body));
	struct smb2_hdr h;
	size_t plen;
	static const uint8_t ids[][4] = {
		{0xff, 'S', 'M', 'B'}, {0xfd, 'S', 'M', 'B'}, {0xfc, 'S', 'M', 'B'}, {0xfe, 'S', 'M', 'C'}};

	for (size_t i = 0; i < 4; i++) {
		memcpy(p, ids[i], 4);
		ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	}
	memcpy(p, "\xfeSMB", 4);
	p[HDR_STRUCTURE_SIZE] = 0x48;
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
}
END_TEST

START_TEST(frame_bad_flags_and_command)
{
	uint8_t p[256];
	size_t n;
	struct smb2_hdr h;
	size_t plen;

	/* A request (no SERVER_TO_REDIR) is not a response. */
	n = mk_pdu(p, sizeof(p), SMB2_TREE_CONNECT, 0, 0, 0, tree_body, sizeof(tree_body));
	le32_store(p + HDR_FLAGS, 0);
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	/* Unknown command; CANCEL has no response. */
	n = mk_pdu(p, sizeof(p), SMB2_NUM_COMMANDS, 0, 0, 0, tree_body, sizeof(tree_body));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	n = mk_pdu(p, sizeof(p), 0xffff, 0, 0, 0, tree_body, sizeof(tree_body));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	n = mk_pdu(p, sizeof(p), SMB2_CANCEL, 0, 0, 0, tree_body, sizeof(tree_body));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
}
END_TEST

START_TEST(frame_bad_next_command)
{
	uint8_t p[512];
	size_t n;
	struct smb2_hdr h;
	size_t plen;
	static const uint32_t bad[] = {
		1, 4, 8, 64, 65, 66 /* < header + 8-aligned */, 81 /* unaligned */, 84,
		0x1000 /* past the end */, 0xfffffff8u, 0xffffffffu};

	n = mk_pdu(p, sizeof(p), SMB2_TREE_CONNECT, 0, 0, 0, tree_body, sizeof(tree_body));
	memset(p + n, 0, 176 - n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		le32_store(p + HDR_NEXT_COMMAND, bad[i]);
		ck_assert_msg(frame_check(p, 176, &h, &plen) == -EBADMSG, "next=%u", bad[i]);
	}
	/* 80 and 176 (== len, next PDU empty and rejected on its own) are in range. */
	le32_store(p + HDR_NEXT_COMMAND, 80);
	ck_assert_int_eq(frame_check(p, 176, &h, &plen), 0);
	ck_assert_uint_eq(plen, 80);
	le32_store(p + HDR_NEXT_COMMAND, 176);
	ck_assert_int_eq(frame_check(p, 176, &h, &plen), 0);
	ck_assert_int_eq(frame_check(p + 176, 0, &h, &plen), -EBADMSG);
	/* NextCommand that cuts the fixed body short. */
	le32_store(p + HDR_NEXT_COMMAND, 72);
	ck_assert_int_eq(frame_check(p, 176, &h, &plen), -EBADMSG);
}
END_TEST

START_TEST(frame_short_bodies)
{
	uint8_t p[256];
	size_t n = mk_pdu(p, sizeof(p), SMB2_CLOSE, 0, 0, 0, close_body, sizeof(close_body));
	struct smb2_hdr h;
	size_t plen;

	for (size_t len = 0; len < n; len++)
		ck_assert_msg(frame_check(p, len, &h, &plen) == -EBADMSG, "len=%zu", len);
	ck_assert_int_eq(frame_check(p, n, &h, &plen), 0);

	/* An odd StructureSize counts one byte of the buffer: 9 needs 8 body bytes. */
	n = mk_pdu(p, sizeof(p), SMB2_QUERY_INFO, 0, 0, 0,
		   (const uint8_t *)"\x09\x00\x48\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(frame_check(p, n, &h, &plen), 0);
	ck_assert_int_eq(frame_check(p, n - 1, &h, &plen), -EBADMSG);
}
END_TEST

START_TEST(frame_wrong_structure_size)
{
	uint8_t p[256];
	size_t n;
	struct smb2_hdr h;
	size_t plen;

	n = mk_pdu(p, sizeof(p), SMB2_CLOSE, 0, 0, 0, close_body, sizeof(close_body));
	le16_store(p + SMB2_HDR_SIZE, 61);
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	le16_store(p + SMB2_HDR_SIZE, 24); /* request size */
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	/* An ERROR body (9) is accepted only with a non-zero status. */
	n = mk_pdu(p, sizeof(p), SMB2_CLOSE, 0, 0, 0, err_body, sizeof(err_body));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), -EBADMSG);
	n = mk_pdu(p, sizeof(p), SMB2_CLOSE, STATUS_FILE_CLOSED, 0, 0, err_body, sizeof(err_body));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), 0);
	ck_assert_int_eq(frame_check(p, n - 2, &h, &plen), -EBADMSG);
	/* Lease break notifications use 44 under the OPLOCK_BREAK command. */
	uint8_t lb[44] = {44, 0};
	n = mk_pdu(p, sizeof(p), SMB2_OPLOCK_BREAK, 0, 0, 0, lb, sizeof(lb));
	ck_assert_int_eq(frame_check(p, n, &h, &plen), 0);
	ck_assert_int_eq(frame_check(p, n - 1, &h, &plen), -EBADMSG);
}
END_TEST

START_TEST(error_body)
{
	static const uint8_t b[] = {0x09, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c'};
	const uint8_t *data;
	uint32_t dlen;

	ck_assert_int_eq(error_decode(b, sizeof(b), &data, &dlen), 0);
	ck_assert_uint_eq(dlen, 3);
	ck_assert_ptr_eq(data, b + 8);
	for (size_t n = 0; n < sizeof(b); n++)
		ck_assert_int_eq(error_decode(b, n, &data, &dlen), -EBADMSG);
	uint8_t c[sizeof(b)];
	memcpy(c, b, sizeof(b));
	c[0] = 8;
	ck_assert_int_eq(error_decode(c, sizeof(c), &data, &dlen), -EBADMSG);
	c[0] = 9;
	le32_store(c + 4, 0xffffffffu);
	ck_assert_int_eq(error_decode(c, sizeof(c), &data, &dlen), -EBADMSG);
}
END_TEST

START_TEST(transport_header)
{
	uint8_t t[4];
	uint32_t len;

	transport_hdr_store(t, 0x123456);
	ck_assert_mem_eq(t, "\x00\x12\x34\x56", 4);
	ck_assert_int_eq(transport_hdr_parse(t, 0x123456, &len), 0);
	ck_assert_uint_eq(len, 0x123456);
	ck_assert_int_eq(transport_hdr_parse(t, 0x123455, &len), -EBADMSG);
	t[0] = 0x85; /* NetBIOS keepalive / session types are not SMB2 direct TCP */
	ck_assert_int_eq(transport_hdr_parse(t, SMB2_MAX_FRAME, &len), -EBADMSG);
	transport_hdr_store(t, 0xffffff);
	ck_assert_int_eq(transport_hdr_parse(t, SMB2_MAX_FRAME, &len), 0);
	ck_assert_uint_eq(len, 0xffffff);
}
END_TEST

START_TEST(cmd_table)
{
	ck_assert_str_eq(smb2_cmd_name(SMB2_NEGOTIATE), "NEGOTIATE");
	ck_assert_str_eq(smb2_cmd_name(SMB2_QUERY_DIRECTORY), "QUERY_DIRECTORY");
	ck_assert_str_eq(smb2_cmd_name(0x13), "UNKNOWN");
	ck_assert_ptr_null(smb2_cmd_info(0x13));
	ck_assert_uint_eq(smb2_cmd_info(SMB2_CREATE)->req_size, 57);
	ck_assert_uint_eq(smb2_cmd_info(SMB2_CREATE)->resp_size, 89);
	ck_assert_uint_eq(smb2_cmd_info(SMB2_READ)->resp_size, 17);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hdr_roundtrip_sync);
	tcase_add_test(tc, hdr_roundtrip_async);
	tcase_add_test(tc, hdr_errors);
	tcase_add_test(tc, frame_valid_single);
	tcase_add_test(tc, frame_valid_compound);
	tcase_add_test(tc, frame_bad_protocol);
	tcase_add_test(tc, frame_bad_flags_and_command);
	tcase_add_test(tc, frame_bad_next_command);
	tcase_add_test(tc, frame_short_bodies);
	tcase_add_test(tc, frame_wrong_structure_size);
	tcase_add_test(tc, error_body);
	tcase_add_test(tc, transport_header);
	tcase_add_test(tc, cmd_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
