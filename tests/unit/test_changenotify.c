/*
 * test_changenotify.c - CHANGE_NOTIFY codec (MS-SMB2 2.2.35/2.2.36) and the
 * FILE_NOTIFY_INFORMATION iterator (MS-FSCC 2.7.1).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/changenotify.h"
#include "wire/smb2.h"

START_TEST(test_req_encode)
{
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct change_notify_req r = {
		.flags = 0,
		.output_buffer_length = 16384,
		.file_id = {.persistent = 0x1122334455667788ull, .volatile_ = 0x99aabbccddeeff00ull},
		.completion_filter = FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |
				     FILE_NOTIFY_CHANGE_SIZE,
	};
	static const uint8_t want[32] = {
		32, 0,                    /* StructureSize */
		0, 0,                     /* Flags: not WATCH_TREE */
		0x00, 0x40, 0, 0,         /* OutputBufferLength 16384 */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* FileId.Persistent */
		0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, /* FileId.Volatile */
		0x0b, 0, 0, 0,            /* CompletionFilter */
		0, 0, 0, 0,               /* Reserved */
	};
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(change_notify_req_encode(&w, &r), 0);
	ck_assert_uint_eq(w.off, 32);
	ck_assert_mem_eq(buf, want, 32);
	/* too small: nothing written, -EMSGSIZE */
	w = wbuf_init(buf, 31);
	ck_assert_int_eq(change_notify_req_encode(&w, &r), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

/* A response PDU: a zeroed 64-byte header, then the body, then buf at offset 72. */
static size_t mkresp(uint8_t *p, const uint8_t *buf, uint32_t len, uint16_t off)
{
	memset(p, 0, SMB2_HDR_SIZE);
	memcpy(p, "\xfeSMB", 4);
	p[SMB2_HDR_SIZE] = 9;
	p[SMB2_HDR_SIZE + 1] = 0;
	p[SMB2_HDR_SIZE + 2] = (uint8_t)off;
	p[SMB2_HDR_SIZE + 3] = (uint8_t)(off >> 8);
	memcpy(p + SMB2_HDR_SIZE + 4, &len, 4); /* little-endian host (x86, arm) */
	if (len)
		memcpy(p + SMB2_HDR_SIZE + 8, buf, len);
	return SMB2_HDR_SIZE + 8 + len;
}

/* FILE_NOTIFY_INFORMATION entry with an ASCII name; returns its padded size. */
static size_t fni(uint8_t *p, uint32_t next, uint32_t action, const char *name)
{
	size_t n = strlen(name);
	uint32_t nl = (uint32_t)(2 * n);
	memset(p, 0, 12 + nl + 4);
	memcpy(p, &next, 4);
	memcpy(p + 4, &action, 4);
	memcpy(p + 8, &nl, 4);
	for (size_t i = 0; i < n; i++)
		p[12 + 2 * i] = (uint8_t)name[i];
	return (12 + nl + 3) & ~(size_t)3;
}

START_TEST(test_resp_and_iter)
{
	uint8_t list[256], pdu[512];
	struct change_notify_resp resp;
	struct file_notify_iter it;
	struct file_notify_info fi;
	size_t a, b, len;

	a = fni(list, 0, FILE_ACTION_RENAMED_OLD_NAME, "old.txt");
	list[0] = (uint8_t)a; /* NextEntryOffset of the first */
	b = fni(list + a, 0, FILE_ACTION_RENAMED_NEW_NAME, "new-name.txt");
	len = mkresp(pdu, list, (uint32_t)(a + b), SMB2_HDR_SIZE + 8);
	ck_assert_int_eq(change_notify_resp_decode(pdu, len, &resp), 0);
	ck_assert_uint_eq(resp.buffer_len, a + b);
	ck_assert_ptr_eq(resp.buffer, pdu + SMB2_HDR_SIZE + 8);

	file_notify_iter_init(&it, resp.buffer, resp.buffer_len);
	ck_assert_int_eq(file_notify_iter_next(&it, &fi), 1);
	ck_assert_uint_eq(fi.action, FILE_ACTION_RENAMED_OLD_NAME);
	ck_assert_uint_eq(fi.name16_len, 14);
	ck_assert_int_eq(fi.name16[0], 'o');
	ck_assert_int_eq(file_notify_iter_next(&it, &fi), 1);
	ck_assert_uint_eq(fi.action, FILE_ACTION_RENAMED_NEW_NAME);
	ck_assert_uint_eq(fi.name16_len, 24);
	ck_assert_int_eq(fi.name16[22], 't');
	ck_assert_int_eq(file_notify_iter_next(&it, &fi), 0);
	ck_assert_int_eq(file_notify_iter_next(&it, &fi), 0);

	/* an empty answer (the server's buffer overflowed, or nothing to say) */
	len = mkresp(pdu, NULL, 0, 0);
	ck_assert_int_eq(change_notify_resp_decode(pdu, len, &resp), 0);
	ck_assert_ptr_null(resp.buffer);
	file_notify_iter_init(&it, resp.buffer, resp.buffer_len);
	ck_assert_int_eq(file_notify_iter_next(&it, &fi), 0);
}
END_TEST

START_TEST(test_resp_malformed)
{
	uint8_t list[64], pdu[256];
	struct change_notify_resp resp;
	size_t a = fni(list, 0, FILE_ACTION_ADDED, "x");
	size_t len = mkresp(pdu, list, (uint32_t)a, SMB2_HDR_SIZE + 8);

	/* every truncation fails cleanly */
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_int_eq(change_notify_resp_decode(pdu, cut, &resp), -EBADMSG);
	/* the buffer pointing into the header or past the end */
	len = mkresp(pdu, list, (uint32_t)a, SMB2_HDR_SIZE);
	ck_assert_int_eq(change_notify_resp_decode(pdu, len, &resp), -EBADMSG);
	len = mkresp(pdu, list, (uint32_t)a, SMB2_HDR_SIZE + 16);
	ck_assert_int_eq(change_notify_resp_decode(pdu, len, &resp), -EBADMSG);
	/* a wrong StructureSize */
	len = mkresp(pdu, list, (uint32_t)a, SMB2_HDR_SIZE + 8);
	pdu[SMB2_HDR_SIZE] = 8;
	ck_assert_int_eq(change_notify_resp_decode(pdu, len, &resp), -EBADMSG);
}
END_TEST

static int iter_all(const uint8_t *buf, size_t len, int *count)
{
	struct file_notify_iter it;
	struct file_notify_info fi;
	int rc;
	*count = 0;
	file_notify_iter_init(&it, buf, len);
	while ((rc = file_notify_iter_next(&it, &fi)) > 0) {
		ck_assert(fi.name16 >= buf && fi.name16 + fi.name16_len <= buf + len);
		(*count)++;
		ck_assert_int_lt(*count, 100);
	}
	return rc;
}

START_TEST(test_iter_malformed)
{
	uint8_t list[128];
	size_t a;
	int n;
	uint32_t v;

	a = fni(list, 0, FILE_ACTION_ADDED, "abc");
	ck_assert_int_eq(iter_all(list, a, &n), 0);
	ck_assert_int_eq(n, 1);
	/* truncated header or name */
	for (size_t cut = 1; cut < 12 + 6; cut++)
		ck_assert_int_eq(iter_all(list, cut, &n), -EBADMSG);
	/* a name longer than the buffer */
	v = 1000;
	memcpy(list + 8, &v, 4);
	ck_assert_int_eq(iter_all(list, a, &n), -EBADMSG);
	/* an odd name length */
	v = 5;
	memcpy(list + 8, &v, 4);
	ck_assert_int_eq(iter_all(list, a, &n), -EBADMSG);
	/* NextEntryOffset: backwards (loops), unaligned, too small, past the end */
	fni(list, 0, FILE_ACTION_ADDED, "abc");
	for (uint32_t next = 1; next < 12; next++) {
		memcpy(list, &next, 4);
		ck_assert_int_eq(iter_all(list, a, &n), -EBADMSG);
	}
	v = 13;
	memcpy(list, &v, 4);
	ck_assert_int_eq(iter_all(list, a + 64, &n), -EBADMSG);
	v = (uint32_t)a + 4; /* past the end of the list */
	memcpy(list, &v, 4);
	ck_assert_int_eq(iter_all(list, a, &n), -EBADMSG);
	v = (uint32_t)a; /* exactly the end: nothing after it */
	memcpy(list, &v, 4);
	ck_assert_int_eq(iter_all(list, a, &n), -EBADMSG);
	ck_assert_int_eq(n, 1); /* the good entry before it was still given */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("changenotify");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_req_encode);
	tcase_add_test(tc, test_resp_and_iter);
	tcase_add_test(tc, test_resp_malformed);
	tcase_add_test(tc, test_iter_malformed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
