/*
 * test_utf16.c - UTF-8 <-> UTF-16LE conversion (src/wire/utf16.c) and
 * FILETIME conversion (src/wire/time.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/time.h"
#include "wire/utf16.h"

static int to16(const char *s, uint8_t *out, size_t cap, size_t *n, int path)
{
	return utf8_to_utf16le(s, strlen(s), out, cap, n, path);
}

START_TEST(ascii_roundtrip)
{
	uint8_t b[64];
	char s[64];
	size_t n, m;

	ck_assert_int_eq(to16("abc", b, sizeof(b), &n, 0), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(b, "a\0b\0c\0", 6);
	ck_assert_int_eq(utf16le_to_utf8(b, n, s, sizeof(s), &m), 0);
	ck_assert_uint_eq(m, 3);
	ck_assert_str_eq(s, "abc");
	ck_assert_int_eq(utf8_utf16le_len("abc", 3), 6);
}
END_TEST

START_TEST(empty)
{
	uint8_t b[4];
	char s[4] = "xyz";
	size_t n = 99, m = 99;

	ck_assert_int_eq(utf8_to_utf16le("", 0, b, 0, &n, 0), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(utf16le_to_utf8(b, 0, s, 1, &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_str_eq(s, "");
	/* No room even for the terminator. */
	ck_assert_int_eq(utf16le_to_utf8(b, 0, s, 0, &m), -EMSGSIZE);
}
END_TEST

START_TEST(bmp)
{
	/* U+00E9 é, U+20AC €, U+FFFD, U+0800 (first 3-byte), U+07FF (last 2-byte) */
	const char *in = "\xc3\xa9\xe2\x82\xac\xef\xbf\xbd\xe0\xa0\x80\xdf\xbf";
	const uint8_t exp[] = {0xe9, 0x00, 0xac, 0x20, 0xfd, 0xff, 0x00, 0x08, 0xff, 0x07};
	uint8_t b[64];
	char s[64];
	size_t n, m;

	ck_assert_int_eq(to16(in, b, sizeof(b), &n, 0), 0);
	ck_assert_uint_eq(n, sizeof(exp));
	ck_assert_mem_eq(b, exp, sizeof(exp));
	ck_assert_int_eq(utf16le_to_utf8(b, n, s, sizeof(s), &m), 0);
	ck_assert_str_eq(s, in);
	ck_assert_uint_eq(m, strlen(in));
}
END_TEST

START_TEST(surrogate_pairs)
{
	/* U+1F600 -> D83D DE00; U+10000 -> D800 DC00; U+10FFFF -> DBFF DFFF */
	const char *in = "\xf0\x9f\x98\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
	const uint8_t exp[] = {0x3d, 0xd8, 0x00, 0xde, 0x00, 0xd8, 0x00, 0xdc, 0xff, 0xdb, 0xff, 0xdf};
	uint8_t b[64];
	char s[64];
	size_t n, m;

	ck_assert_int_eq(to16(in, b, sizeof(b), &n, 0), 0);
	ck_assert_uint_eq(n, sizeof(exp));
	ck_assert_mem_eq(b, exp, sizeof(exp));
	ck_assert_int_eq(utf8_utf16le_len(in, strlen(in)), 12);
	ck_assert_int_eq(utf16le_to_utf8(b, n, s, sizeof(s), &m), 0);
	ck_assert_str_eq(s, in);
}
END_TEST

START_TEST(invalid_utf8)
{
	static const char *bad[] = {
		"\x80",             /* lone continuation */
		"\xc3",             /* truncated 2-byte */
		"\xe2\x82",         /* truncated 3-byte */
		"\xf0\x9f\x98",     /* truncated 4-byte */
		"\xc0\xaf",         /* overlong '/' */
		"\xc1\xbf",         /* overlong */
		"\xe0\x80\xaf",     /* overlong 3-byte */
		"\xf0\x80\x80\xaf", /* overlong 4-byte */
		"\xed\xa0\x80",     /* encoded surrogate U+D800 */
		"\xed\xbf\xbf",     /* encoded surrogate U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80", /* invalid lead */
		"\xff",             /* invalid byte */
		"a\xc3(",           /* bad continuation */
	};
	uint8_t b[64];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(to16(bad[i], b, sizeof(b), &n, 0) == -EILSEQ, "case %zu", i);
		ck_assert_int_eq(utf8_utf16le_len(bad[i], strlen(bad[i])), -EILSEQ);
	}
	/* Embedded NUL (explicit length) is rejected too. */
	ck_assert_int_eq(utf8_to_utf16le("a\0b", 3, b, sizeof(b), &n, 0), -EILSEQ);
}
END_TEST

START_TEST(invalid_utf16)
{
	static const struct {
		uint8_t b[6];
		size_t n;
	} bad[] = {
		{{0x00, 0xd8}, 2},                   /* lone high surrogate at end */
		{{0x00, 0xdc}, 2},                   /* lone low surrogate */
		{{0x00, 0xd8, 0x41, 0x00}, 4},       /* high followed by 'A' */
		{{0x00, 0xd8, 0x00, 0xd8}, 4},       /* high followed by high */
		{{0x41, 0x00, 0x00, 0xdc, 0, 0}, 4}, /* 'A' then lone low */
		{{0x00, 0x00}, 2},                   /* U+0000 */
		{{0x41, 0x00, 0x42}, 3},             /* odd length */
	};
	char s[64];
	size_t m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(utf16le_to_utf8(bad[i].b, bad[i].n, s, sizeof(s), &m) == -EILSEQ,
			      "case %zu", i);
}
END_TEST

START_TEST(path_mapping)
{
	uint8_t b[64];
	char s[64];
	size_t n, m;

	ck_assert_int_eq(to16("a/b/c", b, sizeof(b), &n, 1), 0);
	ck_assert_mem_eq(b, "a\0\\\0b\0\\\0c\0", 10);
	ck_assert_int_eq(to16("a/b", b, sizeof(b), &n, 0), 0);
	ck_assert_mem_eq(b, "a\0/\0b\0", 6);
	/* A backslash in UTF-8 input stays a backslash in both modes. */
	ck_assert_int_eq(to16("\\\\srv\\share", b, sizeof(b), &n, 1), 0);
	ck_assert_uint_eq(n, 22);
	ck_assert_mem_eq(b, "\\\0\\\0s\0r\0v\0\\\0", 12);
	/* The reverse direction never maps separators. */
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0\\\0b\0", 6, s, sizeof(s), &m), 0);
	ck_assert_str_eq(s, "a\\b");
}
END_TEST

START_TEST(capacity)
{
	uint8_t b[8];
	char s[8];
	size_t n, m;

	/* Exactly enough room. */
	ck_assert_int_eq(to16("abcd", b, 8, &n, 0), 0);
	ck_assert_int_eq(to16("abcde", b, 8, &n, 0), -EMSGSIZE);
	/* A surrogate pair never splits across the end. */
	ck_assert_int_eq(to16("abc\xf0\x9f\x98\x80", b, 8, &n, 0), -EMSGSIZE);
	ck_assert_int_eq(to16("ab\xf0\x9f\x98\x80", b, 8, &n, 0), 0);
	/* utf16->utf8 needs room for the NUL. */
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0b\0c\0", 6, s, 4, &m), 0);
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"a\0b\0c\0", 6, s, 3, &m), -EMSGSIZE);
	/* U+1F600 takes four UTF-8 bytes plus the NUL. */
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x3d\xd8\x00\xde", 4, s, 5, &m), 0);
	ck_assert_uint_eq(m, 4);
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\x3d\xd8\x00\xde", 4, s, 4, &m),
			 -EMSGSIZE);
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\xe9\x00", 2, s, 2, &m), -EMSGSIZE);
	ck_assert_int_eq(utf16le_to_utf8((const uint8_t *)"\xac\x20", 2, s, 3, &m), -EMSGSIZE);
}
END_TEST

/* Every BMP scalar value and a sample of supplementary ones round-trip. */
START_TEST(exhaustive_roundtrip)
{
	for (uint32_t cp = 1; cp <= 0x10FFFF; cp += (cp < 0x10000 ? 1 : 97)) {
		uint8_t u16[4], back16[4];
		char u8[8];
		size_t n, m, k;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		if (cp < 0x10000) {
			u16[0] = (uint8_t)cp;
			u16[1] = (uint8_t)(cp >> 8);
			n = 2;
		} else {
			uint32_t v = cp - 0x10000;
			uint16_t hi = (uint16_t)(0xD800 | (v >> 10)), lo = (uint16_t)(0xDC00 | (v & 0x3FF));
			u16[0] = (uint8_t)hi;
			u16[1] = (uint8_t)(hi >> 8);
			u16[2] = (uint8_t)lo;
			u16[3] = (uint8_t)(lo >> 8);
			n = 4;
		}
		ck_assert_int_eq(utf16le_to_utf8(u16, n, u8, sizeof(u8), &m), 0);
		ck_assert_int_eq(utf8_to_utf16le(u8, m, back16, sizeof(back16), &k, 0), 0);
		ck_assert_uint_eq(k, n);
		ck_assert_mem_eq(back16, u16, n);
	}
}
END_TEST

START_TEST(filetime)
{
	struct timespec ts;

	/* 0 means "not set". */
	filetime_to_timespec(0, &ts);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	/* Unix epoch. */
	filetime_to_timespec(FILETIME_UNIX_EPOCH, &ts);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	/* 2020-01-01T00:00:00.1234567Z = 1577836800 s. */
	filetime_to_timespec(FILETIME_UNIX_EPOCH + UINT64_C(15778368000000000) + 1234567, &ts);
	ck_assert_int_eq(ts.tv_sec, 1577836800);
	ck_assert_int_eq(ts.tv_nsec, 123456700);
	ts.tv_sec = 1577836800;
	ts.tv_nsec = 123456789; /* sub-100ns part is truncated */
	ck_assert_uint_eq(timespec_to_filetime(&ts),
			  FILETIME_UNIX_EPOCH + UINT64_C(15778368000000000) + 1234567);
	/* Before 1970: one 100ns tick before the epoch. */
	filetime_to_timespec(FILETIME_UNIX_EPOCH - 1, &ts);
	ck_assert_int_eq(ts.tv_sec, -1);
	ck_assert_int_eq(ts.tv_nsec, 999999900);
	ck_assert_uint_eq(timespec_to_filetime(&ts), FILETIME_UNIX_EPOCH - 1);
	/* 1601 and earlier clamp to 1, never 0 (0 = "don't change" in SET_INFO). */
	ts.tv_sec = -(time_t)(FILETIME_UNIX_EPOCH / 10000000);
	ts.tv_nsec = 0;
	ck_assert_uint_eq(timespec_to_filetime(&ts), 1);
	ts.tv_sec = -(time_t)(FILETIME_UNIX_EPOCH / 10000000) - 1000;
	ck_assert_uint_eq(timespec_to_filetime(&ts), 1);
	/* Far future clamps to INT64_MAX, never UINT64_MAX. */
	ts.tv_sec = INT64_MAX;
	ck_assert_uint_eq(timespec_to_filetime(&ts), (uint64_t)INT64_MAX);
	filetime_to_timespec(UINT64_MAX, &ts);
	ck_assert_int_gt(ts.tv_sec, 0);
	ck_assert_int_ge(ts.tv_nsec, 0);
	ck_assert_int_lt(ts.tv_nsec, 1000000000);
	/* Round trip of a real Samba timestamp. */
	filetime_to_timespec(UINT64_C(0x01dd7c8f381ec501), &ts);
	ck_assert_uint_eq(timespec_to_filetime(&ts), UINT64_C(0x01dd7c8f381ec501));
}
END_TEST

static Suite *utf16_suite(void)
{
	Suite *s = suite_create("utf16");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ascii_roundtrip);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, bmp);
	tcase_add_test(tc, surrogate_pairs);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, invalid_utf16);
	tcase_add_test(tc, path_mapping);
	tcase_add_test(tc, capacity);
	tcase_add_test(tc, exhaustive_roundtrip);
	tcase_add_test(tc, filetime);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(utf16_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
