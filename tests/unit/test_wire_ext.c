/*
 * test_wire_ext.c - codecs for the POSIX extras: LOCK (src/wire/lock.c) and
 * the EA / reparse / FSCTL / XSym payloads (src/wire/ea.c).
 *
 * Encoders: known structs -> bytes laid out by hand from MS-SMB2 2.2.26,
 * 2.2.31.1, MS-FSCC 2.1.2, 2.3.51, 2.4.15 and the cifs.ko XSym format; a
 * writer too small fails and leaves the wbuf as it was. Decoders: hand-made
 * buffers -> known fields; every truncation of every buffer is refused (each
 * copy is an exact-size heap buffer, so ASan catches any overread); corrupt
 * lengths and offsets are refused.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ea.h"
#include "wire/lock.h"
#include "wire/smb2.h"

/* ---- helpers ---- */

/* Exact-size copy of the first n bytes (NULL-safe for n == 0). */
static uint8_t *prefix(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ASCII -> UTF-16LE, returns bytes written. */
static size_t u16(uint8_t *out, const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	}
	return n;
}

/* ---- LOCK ---- */

START_TEST(lock_encode)
{
	struct smb2_lock_element e[2] = {
		{.offset = 0x1122334455667788ull, .length = 0x10,
		 .flags = SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY},
		{.offset = 0x40000000, .length = 510,
		 .flags = SMB2_LOCKFLAG_SHARED_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY},
	};
	struct lock_req r = {.lock_sequence = 0x21, .file_id = {0x0102030405060708ull, 0xa1a2a3a4a5a6a7a8ull},
			     .locks = e, .lock_count = 2};
	uint8_t buf[128], want[72];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	memset(want, 0, sizeof(want));
	put16(want + 0, 48);
	put16(want + 2, 2);
	put32(want + 4, 0x21);
	put64(want + 8, 0x0102030405060708ull);
	put64(want + 16, 0xa1a2a3a4a5a6a7a8ull);
	put64(want + 24, 0x1122334455667788ull);
	put64(want + 32, 0x10);
	put32(want + 40, 0x12);
	put64(want + 48, 0x40000000);
	put64(want + 56, 510);
	put32(want + 64, 0x11);
	ck_assert_int_eq(lock_req_encode(&w, &r), 0);
	ck_assert_uint_eq(w.off, SMB2_LOCK_REQ_LEN(2));
	ck_assert_mem_eq(buf, want, sizeof(want));

	/* every writer too small fails and leaves nothing behind */
	for (size_t cap = 0; cap < sizeof(want); cap++) {
		struct wbuf s = wbuf_init(buf, cap);
		ck_assert_int_eq(lock_req_encode(&s, &r), -EMSGSIZE);
		ck_assert_uint_eq(s.off, 0);
	}
}
END_TEST

START_TEST(lock_unlock_encode)
{
	struct smb2_lock_element e = {.offset = 5, .length = 1, .flags = SMB2_LOCKFLAG_UNLOCK};
	struct lock_req r = {.locks = &e, .lock_count = 1};
	uint8_t buf[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(lock_req_encode(&w, &r), 0);
	ck_assert_uint_eq(w.off, 48);
	ck_assert_uint_eq(buf[40], SMB2_LOCKFLAG_UNLOCK);
}
END_TEST

START_TEST(lock_rules)
{
	const uint32_t X = SMB2_LOCKFLAG_EXCLUSIVE_LOCK, S = SMB2_LOCKFLAG_SHARED_LOCK,
		       U = SMB2_LOCKFLAG_UNLOCK, F = SMB2_LOCKFLAG_FAIL_IMMEDIATELY;
	struct smb2_lock_element e[3] = {{0, 1, X | F}, {2, 1, S | F}, {4, 1, X | F}};
	struct smb2_lock_element big[SMB2_LOCK_MAX_ELEMENTS + 1];

	ck_assert_int_eq(lock_elements_check(e, 3), 0);
	ck_assert_int_eq(lock_elements_check(e, 0), -EINVAL);
	ck_assert_int_eq(lock_elements_check(NULL, 1), -EINVAL);
	/* a blocking lock only alone */
	e[1].flags = S;
	ck_assert_int_eq(lock_elements_check(e, 3), -EINVAL);
	ck_assert_int_eq(lock_elements_check(&e[1], 1), 0);
	/* exactly one of shared/exclusive */
	e[0].flags = X | S | F;
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	e[0].flags = F;
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	e[0].flags = 0x100 | X;
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	/* unlocks are plain and never mixed with locks */
	e[0].flags = U;
	e[1].flags = U;
	e[2].flags = U;
	ck_assert_int_eq(lock_elements_check(e, 3), 0);
	e[2].flags = X | F;
	ck_assert_int_eq(lock_elements_check(e, 3), -EINVAL);
	e[0].flags = U | F;
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	e[0].flags = X | F;
	e[1].flags = U;
	ck_assert_int_eq(lock_elements_check(e, 2), -EINVAL);
	/* a range may end at 2^64 - 1 but not wrap */
	e[0] = (struct smb2_lock_element){UINT64_MAX, 1, X};
	ck_assert_int_eq(lock_elements_check(e, 1), 0);
	e[0] = (struct smb2_lock_element){0, UINT64_MAX, X};
	ck_assert_int_eq(lock_elements_check(e, 1), 0);
	e[0] = (struct smb2_lock_element){2, UINT64_MAX, X};
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	e[0] = (struct smb2_lock_element){UINT64_MAX, 2, X};
	ck_assert_int_eq(lock_elements_check(e, 1), -EINVAL);
	for (size_t i = 0; i < SMB2_LOCK_MAX_ELEMENTS + 1; i++)
		big[i] = (struct smb2_lock_element){i * 2, 1, U};
	ck_assert_int_eq(lock_elements_check(big, SMB2_LOCK_MAX_ELEMENTS), 0);
	ck_assert_int_eq(lock_elements_check(big, SMB2_LOCK_MAX_ELEMENTS + 1), -EINVAL);
	{
		struct lock_req r = {.locks = big, .lock_count = SMB2_LOCK_MAX_ELEMENTS + 1};
		uint8_t buf[2048];
		struct wbuf w = wbuf_init(buf, sizeof(buf));
		ck_assert_int_eq(lock_req_encode(&w, &r), -EINVAL);
		ck_assert_uint_eq(w.off, 0);
	}
}
END_TEST

START_TEST(lock_decode)
{
	uint8_t pdu[SMB2_HDR_SIZE + 4];
	memset(pdu, 0, sizeof(pdu));
	put32(pdu, SMB2_PROTOCOL_ID);
	put16(pdu + 4, SMB2_HDR_SIZE);
	put16(pdu + 12, SMB2_LOCK);
	put16(pdu + SMB2_HDR_SIZE, 4);
	ck_assert_int_eq(lock_resp_decode(pdu, sizeof(pdu)), 0);
	for (size_t n = 0; n < sizeof(pdu); n++) {
		uint8_t *c = prefix(pdu, n);
		ck_assert_int_eq(lock_resp_decode(c, n), -EBADMSG);
		free(c);
	}
	put16(pdu + SMB2_HDR_SIZE, 5);
	ck_assert_int_eq(lock_resp_decode(pdu, sizeof(pdu)), -EBADMSG);
	put16(pdu + SMB2_HDR_SIZE, 9); /* an error response body is not a LOCK response */
	ck_assert_int_eq(lock_resp_decode(pdu, sizeof(pdu)), -EBADMSG);
}
END_TEST

/* ---- EA lists ---- */

/*
 * Two entries as Windows and Samba send them: "colour"="blue", then
 * "n"=<3 bytes>, each 4-aligned.
 */
static size_t ea_sample(uint8_t *b)
{
	memset(b, 0, 64);
	/* entry 0 at 0: 8 + 6 + 1 + 4 = 19 -> next 20 */
	put32(b + 0, 20);
	b[4] = 0;
	b[5] = 6;
	put16(b + 6, 4);
	memcpy(b + 8, "colour", 7);
	memcpy(b + 15, "blue", 4);
	/* entry 1 at 20: 8 + 1 + 1 + 3 = 13 */
	put32(b + 20, 0);
	b[24] = FILE_NEED_EA;
	b[25] = 1;
	put16(b + 26, 3);
	memcpy(b + 28, "n", 2);
	memcpy(b + 30, "\x00\x01\x02", 3);
	return 33;
}

static int ea_walk(const uint8_t *p, uint32_t len, int *count)
{
	struct ea_iter it;
	struct ea_entry e;
	int rc;
	*count = 0;
	ea_iter_init(&it, p, len);
	while ((rc = ea_iter_next(&it, &e)) == 1)
		(*count)++;
	return rc;
}

START_TEST(ea_iterate)
{
	uint8_t b[64];
	size_t len = ea_sample(b);
	struct ea_iter it;
	struct ea_entry e;
	int n;

	ea_iter_init(&it, b, (uint32_t)len);
	ck_assert_int_eq(ea_iter_next(&it, &e), 1);
	ck_assert_uint_eq(e.name_len, 6);
	ck_assert_mem_eq(e.name, "colour", 6);
	ck_assert_uint_eq(e.value_len, 4);
	ck_assert_mem_eq(e.value, "blue", 4);
	ck_assert_uint_eq(e.flags, 0);
	ck_assert_int_eq(ea_iter_next(&it, &e), 1);
	ck_assert_uint_eq(e.name_len, 1);
	ck_assert_uint_eq(e.flags, FILE_NEED_EA);
	ck_assert_mem_eq(e.value, "\x00\x01\x02", 3);
	ck_assert_int_eq(ea_iter_next(&it, &e), 0);
	ck_assert_int_eq(ea_iter_next(&it, &e), 0);

	/* empty list: no entries */
	ck_assert_int_eq(ea_walk(NULL, 0, &n), 0);
	ck_assert_int_eq(n, 0);

	/* every truncation fails */
	for (size_t k = 1; k < len; k++) {
		uint8_t *c = prefix(b, k);
		ck_assert_msg(ea_walk(c, (uint32_t)k, &n) == -EBADMSG, "truncation to %zu", k);
		free(c);
	}
}
END_TEST

START_TEST(ea_corrupt)
{
	uint8_t b[64], c[64];
	size_t len = ea_sample(b);
	int n;

	/* NUL inside the name */
	memcpy(c, b, len);
	c[10] = 0;
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* missing terminator */
	memcpy(c, b, len);
	c[14] = 'x';
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* NextEntryOffset inside the entry */
	memcpy(c, b, len);
	put32(c, 12);
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* NextEntryOffset past the end */
	memcpy(c, b, len);
	put32(c, 40);
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* value longer than the entry */
	memcpy(c, b, len);
	put16(c + 6, 6);
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* value longer than the buffer (last entry) */
	memcpy(c, b, len);
	put16(c + 26, 4);
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* empty name */
	memcpy(c, b, len);
	c[25] = 0;
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
	/* NextEntryOffset 0xFFFFFFFF */
	memcpy(c, b, len);
	put32(c, 0xFFFFFFFFu);
	ck_assert_int_eq(ea_walk(c, (uint32_t)len, &n), -EBADMSG);
}
END_TEST

START_TEST(ea_build)
{
	uint8_t buf[64], want[64];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct ea_list l;
	size_t len = ea_sample(want);

	want[24] = 0; /* the builder's flags are per call */
	ea_list_init(&l, &w);
	ck_assert_int_eq(ea_list_add(&l, "colour", 6, "blue", 4, 0), 0);
	ck_assert_int_eq(ea_list_add(&l, "n", 1, "\x00\x01\x02", 3, 0), 0);
	ck_assert_uint_eq(ea_list_len(&l), len);
	ck_assert_mem_eq(buf, want, len);

	/* a deletion: value length 0 */
	w = wbuf_init(buf, sizeof(buf));
	ea_list_init(&l, &w);
	ck_assert_int_eq(ea_list_add(&l, "gone", 4, NULL, 0, 0), 0);
	ck_assert_uint_eq(ea_list_len(&l), 8 + 5);
	ck_assert_uint_eq(buf[5], 4);
	ck_assert_uint_eq(buf[6] | buf[7], 0);

	/* bad names and values */
	w = wbuf_init(buf, sizeof(buf));
	ea_list_init(&l, &w);
	ck_assert_int_eq(ea_list_add(&l, "", 0, "x", 1, 0), -EINVAL);
	ck_assert_int_eq(ea_list_add(&l, "a\0b", 3, "x", 1, 0), -EINVAL);
	ck_assert_int_eq(ea_list_add(&l, "a", 1, NULL, 1, 0), -EINVAL);
	ck_assert_int_eq(ea_list_add(&l, "a", 1, "x", EA_VALUE_MAX + 1, 0), -EINVAL);
	{
		char name[EA_NAME_MAX + 2];
		memset(name, 'n', sizeof(name));
		ck_assert_int_eq(ea_list_add(&l, name, EA_NAME_MAX + 1, "x", 1, 0), -EINVAL);
	}
	ck_assert_uint_eq(w.off, 0);

	/* out of room: the list stays as it was, second entry included */
	for (size_t cap = 0; cap < len; cap++) {
		struct wbuf s = wbuf_init(buf, cap);
		struct ea_list sl;
		int rc;
		ea_list_init(&sl, &s);
		rc = ea_list_add(&sl, "colour", 6, "blue", 4, 0);
		if (cap < 19) {
			ck_assert_int_eq(rc, -EMSGSIZE);
			ck_assert_uint_eq(s.off, 0);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(ea_list_add(&sl, "n", 1, "\x00\x01\x02", 3, 0), -EMSGSIZE);
		ck_assert_uint_eq(s.off, 19);
		ck_assert_uint_eq(buf[0] | buf[1] | buf[2] | buf[3], 0); /* Next not poked */
	}
}
END_TEST

/* ---- reparse points ---- */

/* IO_REPARSE_TAG_SYMLINK for "..\\dir\\t" (relative), print name "dir-t" or none. */
static size_t rp_windows(uint8_t *b, const char *sub, const char *print, uint32_t flags)
{
	uint8_t path[256];
	size_t ls = u16(path, sub), lp = print ? u16(path + ls, print) : 0;
	memset(b, 0, 8 + 12 + ls + lp);
	put32(b, IO_REPARSE_TAG_SYMLINK);
	put16(b + 4, (uint16_t)(12 + ls + lp));
	put16(b + 8, 0);
	put16(b + 10, (uint16_t)ls);
	put16(b + 12, (uint16_t)ls);
	put16(b + 14, (uint16_t)lp);
	put32(b + 16, flags);
	memcpy(b + 20, path, ls + lp);
	return 8 + 12 + ls + lp;
}

static int rp_target(const uint8_t *b, size_t len, char *out, size_t cap)
{
	struct reparse_info ri;
	size_t n;
	int rc = reparse_decode(b, (uint32_t)len, &ri);
	if (rc)
		return rc;
	return reparse_symlink_target(&ri, out, cap, &n);
}

START_TEST(reparse_windows_symlink)
{
	uint8_t b[512];
	char out[256];
	struct reparse_info ri;
	size_t len = rp_windows(b, "..\\dir\\t", NULL, SYMLINK_FLAG_RELATIVE), n;

	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), 0);
	ck_assert_uint_eq(ri.tag, IO_REPARSE_TAG_SYMLINK);
	ck_assert_int_eq(ri.kind, REPARSE_SYMLINK);
	ck_assert_int_eq(reparse_symlink_target(&ri, out, sizeof(out), &n), 0);
	ck_assert_str_eq(out, "../dir/t");
	ck_assert_uint_eq(n, 8);
	/* the print name wins when there is one */
	len = rp_windows(b, "\\??\\C:\\data\\x", "C:\\data\\x", 0);
	ck_assert_int_eq(rp_target(b, len, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "C:/data/x");
	/* an absolute NT path loses its prefix */
	len = rp_windows(b, "\\??\\C:\\data\\x", NULL, 0);
	ck_assert_int_eq(rp_target(b, len, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "C:/data/x");
	/* too small an output */
	ck_assert_int_eq(rp_target(b, len, out, 4), -ENAMETOOLONG);
	/* every truncation fails */
	len = rp_windows(b, "..\\dir\\t", "dir-t", SYMLINK_FLAG_RELATIVE);
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), 0);
	for (size_t k = 0; k < len; k++) {
		uint8_t *c = prefix(b, k);
		ck_assert_msg(reparse_decode(c, (uint32_t)k, &ri) == -EBADMSG, "truncation to %zu", k);
		free(c);
	}
	/* names outside the path buffer, odd lengths */
	put16(b + 12, 200);
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), -EBADMSG);
	len = rp_windows(b, "..\\dir\\t", NULL, SYMLINK_FLAG_RELATIVE);
	put16(b + 10, 3);
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), -EBADMSG);
	len = rp_windows(b, "..\\dir\\t", NULL, SYMLINK_FLAG_RELATIVE);
	put16(b + 4, 200); /* ReparseDataLength past the buffer */
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), -EBADMSG);
	len = rp_windows(b, "", NULL, SYMLINK_FLAG_RELATIVE); /* no target at all */
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), -EBADMSG);
}
END_TEST

START_TEST(reparse_nfs_wsl_other)
{
	uint8_t b[256];
	char out[128];
	struct reparse_info ri;
	size_t len, n;

	/* NFS symlink: Type "LNK", POSIX target in UTF-16 */
	memset(b, 0, sizeof(b));
	put32(b, IO_REPARSE_TAG_NFS);
	n = u16(b + 16, "/etc/hosts");
	put16(b + 4, (uint16_t)(8 + n));
	put64(b + 8, NFS_SPECFILE_LNK);
	len = 16 + n;
	ck_assert_int_eq(rp_target(b, len, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/etc/hosts");
	for (size_t k = 0; k < len; k++) {
		uint8_t *c = prefix(b, k);
		ck_assert_msg(reparse_decode(c, (uint32_t)k, &ri) == -EBADMSG, "nfs truncation to %zu",
			      k);
		free(c);
	}
	/* NFS FIFO */
	put16(b + 4, 8);
	put64(b + 8, NFS_SPECFILE_FIFO);
	ck_assert_int_eq(reparse_decode(b, 16, &ri), 0);
	ck_assert_int_eq(ri.kind, REPARSE_FIFO);
	ck_assert_int_eq(reparse_symlink_target(&ri, out, sizeof(out), &n), -EINVAL);

	/* WSL symlink: Version 2 and a UTF-8 target */
	memset(b, 0, sizeof(b));
	put32(b, IO_REPARSE_TAG_LX_SYMLINK);
	put16(b + 4, 4 + 7);
	put32(b + 8, 2);
	memcpy(b + 12, "sub/f\xc3\xa9", 7);
	len = 19;
	ck_assert_int_eq(rp_target(b, len, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "sub/f\xc3\xa9");
	for (size_t k = 0; k < len; k++) {
		uint8_t *c = prefix(b, k);
		ck_assert_msg(reparse_decode(c, (uint32_t)k, &ri) == -EBADMSG, "wsl truncation to %zu",
			      k);
		free(c);
	}
	put32(b + 8, 1);
	ck_assert_int_eq(reparse_decode(b, (uint32_t)len, &ri), -EBADMSG);

	/* WSL special files and an unknown tag */
	memset(b, 0, sizeof(b));
	put32(b, IO_REPARSE_TAG_AF_UNIX);
	ck_assert_int_eq(reparse_decode(b, 8, &ri), 0);
	ck_assert_int_eq(ri.kind, REPARSE_SOCK);
	put32(b, IO_REPARSE_TAG_LX_CHR);
	ck_assert_int_eq(reparse_decode(b, 8, &ri), 0);
	ck_assert_int_eq(ri.kind, REPARSE_CHR);
	put32(b, 0x80000017u); /* IO_REPARSE_TAG_WOF */
	put16(b + 4, 4);
	ck_assert_int_eq(reparse_decode(b, 12, &ri), 0);
	ck_assert_int_eq(ri.kind, REPARSE_OTHER);
	ck_assert_int_eq(reparse_decode(NULL, 0, &ri), -EBADMSG);
}
END_TEST

START_TEST(reparse_encode_roundtrip)
{
	static const char *targets[] = {"target.txt", "../up/x", "/abs/path", "d\xc3\xa9j\xc3\xa0"};
	uint8_t buf[REPARSE_BUFFER_MAX];
	char out[256];
	struct reparse_info ri;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct wbuf w = wbuf_init(buf, sizeof(buf));
		ck_assert_int_eq(reparse_symlink_encode(&w, targets[i]), 0);
		ck_assert_int_eq(reparse_decode(buf, (uint32_t)w.off, &ri), 0);
		ck_assert_uint_eq(ri.tag, IO_REPARSE_TAG_SYMLINK);
		ck_assert_uint_eq(ri.flags, targets[i][0] == '/' ? 0 : SYMLINK_FLAG_RELATIVE);
		ck_assert_int_eq(rp_target(buf, w.off, out, sizeof(out)), 0);
		ck_assert_str_eq(out, targets[i]);

		w = wbuf_init(buf, sizeof(buf));
		ck_assert_int_eq(reparse_nfs_symlink_encode(&w, targets[i]), 0);
		ck_assert_int_eq(reparse_decode(buf, (uint32_t)w.off, &ri), 0);
		ck_assert_uint_eq(ri.tag, IO_REPARSE_TAG_NFS);
		ck_assert_int_eq(rp_target(buf, w.off, out, sizeof(out)), 0);
		ck_assert_str_eq(out, targets[i]);
	}
	/* the layout of a native one, byte for byte */
	{
		struct wbuf w = wbuf_init(buf, sizeof(buf));
		uint8_t want[64];
		size_t n = rp_windows(want, "a\\b", "a\\b", SYMLINK_FLAG_RELATIVE);
		ck_assert_int_eq(reparse_symlink_encode(&w, "a/b"), 0);
		ck_assert_uint_eq(w.off, n);
		ck_assert_mem_eq(buf, want, n);
	}
	/* too small a writer leaves nothing; bad input */
	for (size_t cap = 0; cap < 40; cap++) {
		struct wbuf w = wbuf_init(buf, cap);
		int rc = reparse_symlink_encode(&w, "a/b/c/d");
		ck_assert_int_eq(rc, -EMSGSIZE);
		ck_assert_uint_eq(w.off, 0);
		w = wbuf_init(buf, cap < 28 ? cap : 28);
		ck_assert_int_eq(reparse_nfs_symlink_encode(&w, "a/b/c/d"), -EMSGSIZE);
		ck_assert_uint_eq(w.off, 0);
	}
	{
		struct wbuf w = wbuf_init(buf, sizeof(buf));
		ck_assert_int_eq(reparse_symlink_encode(&w, ""), -EINVAL);
		ck_assert_int_eq(reparse_symlink_encode(&w, "\xff"), -EILSEQ);
		ck_assert_uint_eq(w.off, 0);
	}
}
END_TEST

/* ---- FSCTL buffers ---- */

START_TEST(copychunk)
{
	uint8_t key[SRV_RESUME_KEY_SIZE], buf[128], want[80];
	struct srv_copychunk c[2] = {{0x1000, 0x2000, 0x100000}, {0x101000, 0x102000, 77}};
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct srv_copychunk_resp r;
	uint8_t out[32], got[SRV_RESUME_KEY_SIZE];

	for (int i = 0; i < SRV_RESUME_KEY_SIZE; i++)
		key[i] = (uint8_t)(0xA0 + i);
	memset(want, 0, sizeof(want));
	memcpy(want, key, 24);
	put32(want + 24, 2);
	put64(want + 32, 0x1000);
	put64(want + 40, 0x2000);
	put32(want + 48, 0x100000);
	put64(want + 56, 0x101000);
	put64(want + 64, 0x102000);
	put32(want + 72, 77);
	ck_assert_int_eq(copychunk_encode(&w, key, c, 2), 0);
	ck_assert_uint_eq(w.off, SRV_COPYCHUNK_COPY_LEN(2));
	ck_assert_mem_eq(buf, want, 80);
	ck_assert_int_eq(copychunk_encode(&w, key, c, 0), -EINVAL);
	for (size_t cap = 0; cap < 80; cap++) {
		struct wbuf s = wbuf_init(buf, cap);
		ck_assert_int_eq(copychunk_encode(&s, key, c, 2), -EMSGSIZE);
		ck_assert_uint_eq(s.off, 0);
	}

	/* SRV_COPYCHUNK_RESPONSE */
	put32(out, 16);
	put32(out + 4, 1048576);
	put32(out + 8, 16777216);
	ck_assert_int_eq(copychunk_resp_decode(out, 12, &r), 0);
	ck_assert_uint_eq(r.chunks_written, 16);
	ck_assert_uint_eq(r.chunk_bytes_written, 1048576);
	ck_assert_uint_eq(r.total_bytes_written, 16777216);
	for (size_t k = 0; k < 12; k++) {
		uint8_t *p = prefix(out, k);
		ck_assert_int_eq(copychunk_resp_decode(p, (uint32_t)k, &r), -EBADMSG);
		free(p);
	}

	/* SRV_REQUEST_RESUME_KEY: key, ContextLength, Context */
	memset(out, 0, sizeof(out));
	memcpy(out, key, 24);
	put32(out + 24, 4);
	ck_assert_int_eq(resume_key_decode(out, 32, got), 0);
	ck_assert_mem_eq(got, key, 24);
	for (size_t k = 0; k < 32; k++) {
		uint8_t *p = prefix(out, k);
		ck_assert_int_eq(resume_key_decode(p, (uint32_t)k, got), -EBADMSG);
		free(p);
	}
	put32(out + 24, 0);
	ck_assert_int_eq(resume_key_decode(out, 28, got), 0);
}
END_TEST

START_TEST(allocated_ranges)
{
	uint8_t buf[64], want[16];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	struct alloc_range r[4];
	size_t n;

	put64(want, 4096);
	put64(want + 8, 1 << 20);
	ck_assert_int_eq(alloc_range_encode(&w, 4096, 1 << 20), 0);
	ck_assert_mem_eq(buf, want, 16);
	ck_assert_int_eq(alloc_range_encode(&w, (uint64_t)INT64_MAX + 1, 1), -EINVAL);
	{
		struct wbuf s = wbuf_init(buf, 15);
		ck_assert_int_eq(alloc_range_encode(&s, 0, 1), -EMSGSIZE);
		ck_assert_uint_eq(s.off, 0);
	}

	/* three ranges */
	memset(buf, 0, sizeof(buf));
	put64(buf, 0);
	put64(buf + 8, 65536);
	put64(buf + 16, 1 << 20);
	put64(buf + 24, 4096);
	put64(buf + 32, 8 << 20);
	put64(buf + 40, 1);
	ck_assert_int_eq(alloc_ranges_decode(buf, 48, r, 4, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[1].offset, 1 << 20);
	ck_assert_uint_eq(r[1].length, 4096);
	/* more than fit: the first cap */
	ck_assert_int_eq(alloc_ranges_decode(buf, 48, r, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	/* none */
	ck_assert_int_eq(alloc_ranges_decode(NULL, 0, r, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* every length that is not a whole number of ranges */
	for (uint32_t k = 1; k < 48; k++) {
		uint8_t *p;
		if (k % 16 == 0)
			continue;
		p = prefix(buf, k);
		ck_assert_msg(alloc_ranges_decode(p, k, r, 4, &n) == -EBADMSG, "length %u", k);
		free(p);
	}
	/* negative offset or length, a range past 2^63 */
	put64(buf + 16, (uint64_t)1 << 63);
	ck_assert_int_eq(alloc_ranges_decode(buf, 48, r, 4, &n), -EBADMSG);
	put64(buf + 16, 0);
	put64(buf + 24, UINT64_MAX);
	ck_assert_int_eq(alloc_ranges_decode(buf, 48, r, 4, &n), -EBADMSG);
	put64(buf + 16, INT64_MAX);
	put64(buf + 24, 2);
	ck_assert_int_eq(alloc_ranges_decode(buf, 48, r, 4, &n), -EBADMSG);
}
END_TEST

START_TEST(zero_data_and_sparse)
{
	uint8_t buf[32], want[16];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	put64(want, 65536);
	put64(want + 8, 589824);
	ck_assert_int_eq(zero_data_encode(&w, 65536, 589824), 0);
	ck_assert_uint_eq(w.off, 16);
	ck_assert_mem_eq(buf, want, 16);
	ck_assert_int_eq(zero_data_encode(&w, 10, 9), -EINVAL);
	ck_assert_int_eq(zero_data_encode(&w, 0, (uint64_t)INT64_MAX + 1), -EINVAL);
	ck_assert_uint_eq(w.off, 16);
	{
		struct wbuf s = wbuf_init(buf, 12);
		ck_assert_int_eq(zero_data_encode(&s, 0, 1), -EMSGSIZE);
		ck_assert_uint_eq(s.off, 0);
	}
	w = wbuf_init(buf, 1);
	ck_assert_int_eq(set_sparse_encode(&w, 1), 0);
	ck_assert_uint_eq(buf[0], 1);
	ck_assert_int_eq(set_sparse_encode(&w, 0), -EMSGSIZE);
}
END_TEST

/* ---- XSym ---- */

/* MD5("target") */
static const uint8_t md5_target[16] = {0x42, 0xae, 0xfb, 0xae, 0x01, 0xd2, 0xdf, 0xd9,
				       0x81, 0xf7, 0xda, 0x7d, 0x82, 0x3d, 0x68, 0x9e};

START_TEST(mfsymlink)
{
	uint8_t buf[MFSYMLINK_FILE_SIZE], want[MFSYMLINK_FILE_SIZE], md5[16];
	static const char head[] = "XSym\n0006\n42aefbae01d2dfd981f7da7d823d689e\ntarget\n";
	const uint8_t *t;
	size_t tl;

	memset(want, ' ', sizeof(want));
	memcpy(want, head, sizeof(head) - 1);
	ck_assert_int_eq(mfsymlink_encode(buf, "target", 6, md5_target), 0);
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(mfsymlink_decode(buf, sizeof(buf), &t, &tl, md5), 0);
	ck_assert_uint_eq(tl, 6);
	ck_assert_mem_eq(t, "target", 6);
	ck_assert_mem_eq(md5, md5_target, 16);
	ck_assert(mfsymlink_maybe(buf, sizeof(buf), sizeof(buf)));
	ck_assert(mfsymlink_maybe(NULL, 0, MFSYMLINK_FILE_SIZE));
	ck_assert(!mfsymlink_maybe(NULL, 0, MFSYMLINK_FILE_SIZE + 1));

	/* every truncation, and one byte more, are refused */
	for (size_t k = 0; k < sizeof(buf); k++) {
		uint8_t *c = prefix(buf, k);
		ck_assert_int_eq(mfsymlink_decode(c, k, &t, &tl, md5), -EINVAL);
		free(c);
	}
	{
		uint8_t *c = malloc(sizeof(buf) + 1);
		memcpy(c, buf, sizeof(buf));
		c[sizeof(buf)] = ' ';
		ck_assert_int_eq(mfsymlink_decode(c, sizeof(buf) + 1, &t, &tl, md5), -EINVAL);
		free(c);
	}
	/* corruptions */
	memcpy(want, buf, sizeof(buf));
	want[0] = 'x';
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want, buf, sizeof(buf));
	memcpy(want + 5, "1025", 4);
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want + 5, "0000", 4);
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want + 5, "00x6", 4);
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want, buf, sizeof(buf));
	want[20] = 'g';
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want, buf, sizeof(buf));
	want[42] = ' ';
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);
	memcpy(want, buf, sizeof(buf));
	want[44] = 0;
	ck_assert_int_eq(mfsymlink_decode(want, sizeof(want), &t, &tl, md5), -EINVAL);

	/* a 1024-byte target fills the file, without the newline */
	{
		char tgt[MFSYMLINK_TARGET_MAX + 1];
		memset(tgt, 'a', sizeof(tgt));
		ck_assert_int_eq(mfsymlink_encode(buf, tgt, MFSYMLINK_TARGET_MAX, md5_target), 0);
		ck_assert_uint_eq(buf[MFSYMLINK_FILE_SIZE - 1], 'a');
		ck_assert_int_eq(mfsymlink_decode(buf, sizeof(buf), &t, &tl, md5), 0);
		ck_assert_uint_eq(tl, MFSYMLINK_TARGET_MAX);
		ck_assert_int_eq(mfsymlink_encode(buf, tgt, MFSYMLINK_TARGET_MAX + 1, md5_target),
				 -ENAMETOOLONG);
		ck_assert_int_eq(mfsymlink_encode(buf, tgt, 0, md5_target), -EINVAL);
	}
}
END_TEST

static Suite *wire_ext_suite(void)
{
	Suite *s = suite_create("wire_ext");
	TCase *tc = tcase_create("codecs");

	tcase_add_test(tc, lock_encode);
	tcase_add_test(tc, lock_unlock_encode);
	tcase_add_test(tc, lock_rules);
	tcase_add_test(tc, lock_decode);
	tcase_add_test(tc, ea_iterate);
	tcase_add_test(tc, ea_corrupt);
	tcase_add_test(tc, ea_build);
	tcase_add_test(tc, reparse_windows_symlink);
	tcase_add_test(tc, reparse_nfs_wsl_other);
	tcase_add_test(tc, reparse_encode_roundtrip);
	tcase_add_test(tc, copychunk);
	tcase_add_test(tc, allocated_ranges);
	tcase_add_test(tc, zero_data_and_sparse);
	tcase_add_test(tc, mfsymlink);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_ext_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
