/*
 * test_buf.c - bounds-checked cursors (src/wire/buf.c).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"

static const uint8_t src[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
			      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

START_TEST(readers_little_endian)
{
	struct rbuf r = rbuf_init(src, sizeof(src));
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	ck_assert_int_eq(get_u8(&r, &v8), 0);
	ck_assert_uint_eq(v8, 0x01);
	ck_assert_int_eq(get_u16le(&r, &v16), 0);
	ck_assert_uint_eq(v16, 0x0302);
	ck_assert_int_eq(get_u32le(&r, &v32), 0);
	ck_assert_uint_eq(v32, 0x07060504);
	ck_assert_int_eq(get_u64le(&r, &v64), 0);
	ck_assert_uint_eq(v64, UINT64_C(0x0f0e0d0c0b0a0908));
	ck_assert_uint_eq(r.off, 15);
	ck_assert_uint_eq(rbuf_left(&r), 1);
}
END_TEST

/* Each reader at exactly-enough and one-short lengths; failure consumes nothing. */
START_TEST(readers_boundaries)
{
	for (size_t n = 0; n <= 8; n++) {
		struct rbuf r = rbuf_init(src, n);
		uint8_t v8;
		uint16_t v16;
		uint32_t v32;
		uint64_t v64;

		ck_assert_int_eq(get_u8(&r, &v8), n >= 1 ? 0 : -EBADMSG);
		r.off = 0;
		ck_assert_int_eq(get_u16le(&r, &v16), n >= 2 ? 0 : -EBADMSG);
		ck_assert_uint_eq(r.off, n >= 2 ? 2 : 0);
		r.off = 0;
		ck_assert_int_eq(get_u32le(&r, &v32), n >= 4 ? 0 : -EBADMSG);
		ck_assert_uint_eq(r.off, n >= 4 ? 4 : 0);
		r.off = 0;
		ck_assert_int_eq(get_u64le(&r, &v64), n >= 8 ? 0 : -EBADMSG);
		ck_assert_uint_eq(r.off, n >= 8 ? 8 : 0);
	}
	/* Reading at the very end. */
	struct rbuf r = rbuf_init(src, sizeof(src));
	uint8_t v8;
	ck_assert_int_eq(rbuf_seek(&r, sizeof(src)), 0);
	ck_assert_int_eq(get_u8(&r, &v8), -EBADMSG);
	ck_assert_uint_eq(r.off, sizeof(src));
}
END_TEST

START_TEST(bytes_view_skip_seek)
{
	struct rbuf r = rbuf_init(src, sizeof(src));
	uint8_t out[16];
	const uint8_t *view = NULL;

	ck_assert_int_eq(get_bytes(&r, out, 0), 0);
	ck_assert_int_eq(get_bytes(&r, out, 3), 0);
	ck_assert_mem_eq(out, src, 3);
	ck_assert_int_eq(get_view(&r, 4, &view), 0);
	ck_assert_ptr_eq(view, src + 3);
	ck_assert_uint_eq(r.off, 7);
	ck_assert_int_eq(get_view(&r, 10, &view), -EBADMSG);
	ck_assert_int_eq(get_bytes(&r, out, 10), -EBADMSG);
	ck_assert_uint_eq(r.off, 7);
	ck_assert_int_eq(rbuf_skip(&r, 9), 0);
	ck_assert_int_eq(rbuf_skip(&r, 1), -EBADMSG);
	ck_assert_int_eq(rbuf_skip(&r, 0), 0);
	ck_assert_int_eq(rbuf_seek(&r, 17), -EBADMSG);
	ck_assert_uint_eq(r.off, 16);
	ck_assert_int_eq(rbuf_seek(&r, 0), 0);
	/* Huge sizes must not wrap. */
	ck_assert_int_eq(rbuf_skip(&r, SIZE_MAX), -EBADMSG);
	ck_assert_int_eq(get_view(&r, SIZE_MAX, &view), -EBADMSG);
	ck_assert_int_eq(rbuf_seek(&r, SIZE_MAX), -EBADMSG);
	ck_assert_uint_eq(r.off, 0);
}
END_TEST

START_TEST(sub_views)
{
	struct rbuf r = rbuf_init(src, sizeof(src)), sub;
	uint32_t v32;

	ck_assert_int_eq(rbuf_skip(&r, 5), 0);
	ck_assert_int_eq(rbuf_sub(&r, 4, 8, &sub), 0);
	ck_assert_uint_eq(r.off, 5); /* parent does not move */
	ck_assert_ptr_eq(sub.p, src + 4);
	ck_assert_uint_eq(sub.len, 8);
	ck_assert_uint_eq(sub.off, 0);
	ck_assert_int_eq(get_u32le(&sub, &v32), 0);
	ck_assert_uint_eq(v32, 0x08070605);
	ck_assert_int_eq(rbuf_skip(&sub, 5), -EBADMSG); /* cannot read past the sub-view */
	ck_assert_int_eq(rbuf_sub(&r, 16, 0, &sub), 0);
	ck_assert_int_eq(rbuf_sub(&r, 8, 9, &sub), -EBADMSG);
	ck_assert_int_eq(rbuf_sub(&r, 17, 0, &sub), -EBADMSG);
	ck_assert_int_eq(rbuf_sub(&r, 1, SIZE_MAX, &sub), -EBADMSG);
	ck_assert_int_eq(rbuf_sub(&r, SIZE_MAX, 2, &sub), -EBADMSG);
	/* Sub of a sub is measured from the sub's start. */
	ck_assert_int_eq(rbuf_sub(&r, 4, 8, &sub), 0);
	struct rbuf sub2;
	ck_assert_int_eq(rbuf_sub(&sub, 2, 6, &sub2), 0);
	ck_assert_ptr_eq(sub2.p, src + 6);
	ck_assert_int_eq(rbuf_sub(&sub, 2, 7, &sub2), -EBADMSG);
}
END_TEST

START_TEST(range_ok_overflow_safe)
{
	ck_assert(range_ok(10, 0, 10));
	ck_assert(range_ok(10, 10, 0));
	ck_assert(range_ok(10, 3, 7));
	ck_assert(!range_ok(10, 3, 8));
	ck_assert(!range_ok(10, 11, 0));
	ck_assert(!range_ok(10, 1, SIZE_MAX));
	ck_assert(!range_ok(10, SIZE_MAX, 1));
	ck_assert(!range_ok(SIZE_MAX - 1, SIZE_MAX - 2, 2));
	ck_assert(range_ok(SIZE_MAX, SIZE_MAX - 2, 2));
	ck_assert(range_ok(0, 0, 0));
	ck_assert(!range_ok(0, 0, 1));
}
END_TEST

START_TEST(writers)
{
	uint8_t buf[32];
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	static const uint8_t exp[] = {0xaa, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06,
				      0x05, 0x04, 0x03, 0x02, 0x01, 'x',  'y',  0x00, 0x00};

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(put_u8(&w, 0xaa), 0);
	ck_assert_int_eq(put_u16le(&w, 0x0102), 0);
	ck_assert_int_eq(put_u32le(&w, 0x01020304), 0);
	ck_assert_int_eq(put_u64le(&w, UINT64_C(0x0102030405060708)), 0);
	ck_assert_int_eq(put_bytes(&w, "xy", 2), 0);
	ck_assert_int_eq(put_bytes(&w, NULL, 0), 0);
	ck_assert_int_eq(put_zeros(&w, 2), 0);
	ck_assert_uint_eq(w.off, sizeof(exp));
	ck_assert_mem_eq(buf, exp, sizeof(exp));
	ck_assert_uint_eq(buf[sizeof(exp)], 0xee);
}
END_TEST

START_TEST(writers_boundaries)
{
	uint8_t buf[8];

	for (size_t cap = 0; cap <= 8; cap++) {
		struct wbuf w = wbuf_init(buf, cap);
		ck_assert_int_eq(put_u8(&w, 1), cap >= 1 ? 0 : -EMSGSIZE);
		w.off = 0;
		ck_assert_int_eq(put_u16le(&w, 1), cap >= 2 ? 0 : -EMSGSIZE);
		ck_assert_uint_eq(w.off, cap >= 2 ? 2 : 0);
		w.off = 0;
		ck_assert_int_eq(put_u32le(&w, 1), cap >= 4 ? 0 : -EMSGSIZE);
		ck_assert_uint_eq(w.off, cap >= 4 ? 4 : 0);
		w.off = 0;
		ck_assert_int_eq(put_u64le(&w, 1), cap >= 8 ? 0 : -EMSGSIZE);
		ck_assert_uint_eq(w.off, cap >= 8 ? 8 : 0);
		w.off = 0;
		ck_assert_int_eq(put_bytes(&w, "abcdefgh", cap), 0);
		ck_assert_int_eq(put_bytes(&w, "a", 1), -EMSGSIZE);
		ck_assert_int_eq(put_zeros(&w, 1), -EMSGSIZE);
		ck_assert_uint_eq(w.off, cap);
	}
	struct wbuf w = wbuf_init(buf, sizeof(buf));
	ck_assert_int_eq(put_zeros(&w, SIZE_MAX), -EMSGSIZE);
	ck_assert_int_eq(put_bytes(&w, buf, SIZE_MAX), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 0);
}
END_TEST

START_TEST(align)
{
	uint8_t buf[16];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(put_align(&w, 8), 0);
	ck_assert_uint_eq(w.off, 0);
	ck_assert_int_eq(put_u8(&w, 1), 0);
	ck_assert_int_eq(put_align(&w, 8), 0);
	ck_assert_uint_eq(w.off, 8);
	ck_assert_mem_eq(buf + 1, "\0\0\0\0\0\0\0", 7);
	ck_assert_int_eq(put_u8(&w, 1), 0);
	ck_assert_int_eq(put_align(&w, 4), 0);
	ck_assert_uint_eq(w.off, 12);
	ck_assert_int_eq(put_u8(&w, 1), 0);
	/* Padding to 16 would need 3 bytes: 13 + 3 = 16 fits exactly. */
	ck_assert_int_eq(put_align(&w, 16), 0);
	ck_assert_uint_eq(w.off, 16);
	w.off = 15;
	w.cap = 15;
	ck_assert_int_eq(put_align(&w, 8), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 15);
}
END_TEST

START_TEST(poke)
{
	uint8_t buf[16];
	struct wbuf w = wbuf_init(buf, sizeof(buf));

	ck_assert_int_eq(put_zeros(&w, 12), 0);
	ck_assert_int_eq(poke_u16le(&w, 0, 0xbeef), 0);
	ck_assert_int_eq(poke_u32le(&w, 2, 0x01020304), 0);
	ck_assert_int_eq(poke_u64le(&w, 4, UINT64_C(0x1112131415161718)), 0);
	ck_assert_mem_eq(buf, "\xef\xbe\x04\x03\x18\x17\x16\x15\x14\x13\x12\x11", 12);
	/* Only bytes already written may be poked. */
	ck_assert_int_eq(poke_u16le(&w, 11, 1), -EMSGSIZE);
	ck_assert_int_eq(poke_u32le(&w, 9, 1), -EMSGSIZE);
	ck_assert_int_eq(poke_u64le(&w, 5, 1), -EMSGSIZE);
	ck_assert_int_eq(poke_u16le(&w, 10, 1), 0);
	ck_assert_int_eq(poke_u32le(&w, 8, 1), 0);
	ck_assert_int_eq(poke_u64le(&w, 4, 1), 0);
	ck_assert_int_eq(poke_u32le(&w, SIZE_MAX - 1, 1), -EMSGSIZE);
	ck_assert_uint_eq(w.off, 12);
}
END_TEST

START_TEST(raw_load_store)
{
	uint8_t b[8];

	le16_store(b, 0xa1b2);
	ck_assert_uint_eq(le16_load(b), 0xa1b2);
	ck_assert_uint_eq(b[0], 0xb2);
	le32_store(b, 0xdeadbeef);
	ck_assert_uint_eq(le32_load(b), 0xdeadbeef);
	ck_assert_uint_eq(b[0], 0xef);
	le64_store(b, UINT64_C(0xfedcba9876543210));
	ck_assert_uint_eq(le64_load(b), UINT64_C(0xfedcba9876543210));
	ck_assert_uint_eq(b[7], 0xfe);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, readers_little_endian);
	tcase_add_test(tc, readers_boundaries);
	tcase_add_test(tc, bytes_view_skip_seek);
	tcase_add_test(tc, sub_views);
	tcase_add_test(tc, range_ok_overflow_safe);
	tcase_add_test(tc, writers);
	tcase_add_test(tc, writers_boundaries);
	tcase_add_test(tc, align);
	tcase_add_test(tc, poke);
	tcase_add_test(tc, raw_load_store);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
