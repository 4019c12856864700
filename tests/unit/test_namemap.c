/*
 * test_namemap.c - SFM (mapposix) and SFU (mapchars) name mapping
 * (src/wire/namemap.c). The expected code points are cifs.ko's
 * (fs/smb/client/cifs_unicode.h: SFM_* and UNI_*), which Samba's vfs_fruit
 * "private" encoding and macOS share for SFM.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/namemap.h"
#include "wire/utf16.h"

/* The UTF-16 code units of the server spelling of POSIX path s under map. */
static size_t units_of(enum namemap map, const char *s, uint16_t *u, size_t cap)
{
	char srv[256];
	uint8_t b[512];
	size_t n;

	ck_assert_int_eq(namemap_to_server(map, s, srv, sizeof(srv)), 0);
	ck_assert_int_eq(utf8_to_utf16le(srv, strlen(srv), b, sizeof(b), &n, 0), 0);
	ck_assert_uint_le(n / 2, cap);
	for (size_t i = 0; i < n / 2; i++)
		u[i] = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
	return n / 2;
}

/* One character c alone in a name maps to code point want (c itself: unmapped). */
static void expect_unit(enum namemap map, char c, uint16_t want)
{
	char name[4] = {'x', c, 'x', '\0'};
	uint16_t u[8];
	char back[16];
	char srv[16];

	ck_assert_uint_eq(units_of(map, name, u, 8), 3);
	ck_assert_msg(u[1] == want, "char 0x%02x: got U+%04X, want U+%04X", (unsigned char)c,
		      u[1], want);
	/* and back */
	ck_assert_int_eq(namemap_to_server(map, name, srv, sizeof(srv)), 0);
	ck_assert_int_eq(namemap_from_server(map, srv, back, sizeof(back)), 0);
	ck_assert_str_eq(back, name);
}

START_TEST(sfm_table)
{
	expect_unit(NAMEMAP_SFM, '"', 0xF020);
	expect_unit(NAMEMAP_SFM, '*', 0xF021);
	expect_unit(NAMEMAP_SFM, ':', 0xF022);
	expect_unit(NAMEMAP_SFM, '<', 0xF023);
	expect_unit(NAMEMAP_SFM, '>', 0xF024);
	expect_unit(NAMEMAP_SFM, '?', 0xF025);
	expect_unit(NAMEMAP_SFM, '\\', 0xF026);
	expect_unit(NAMEMAP_SFM, '|', 0xF027);
	for (char c = 0x01; c < 0x20; c++)
		expect_unit(NAMEMAP_SFM, c, (uint16_t)(0xF000 + c));
	/* inside a name a space or period stays */
	expect_unit(NAMEMAP_SFM, ' ', ' ');
	expect_unit(NAMEMAP_SFM, '.', '.');
	expect_unit(NAMEMAP_SFM, 'a', 'a');
}
END_TEST

START_TEST(sfu_table)
{
	expect_unit(NAMEMAP_SFU, ':', 0xF03A);
	expect_unit(NAMEMAP_SFU, '*', 0xF02A);
	expect_unit(NAMEMAP_SFU, '?', 0xF03F);
	expect_unit(NAMEMAP_SFU, '<', 0xF03C);
	expect_unit(NAMEMAP_SFU, '>', 0xF03E);
	expect_unit(NAMEMAP_SFU, '|', 0xF07C);
	/* no SFU form: passed unchanged (namemap_valid refuses them) */
	expect_unit(NAMEMAP_SFU, '"', '"');
	expect_unit(NAMEMAP_SFU, '\\', '\\');
	expect_unit(NAMEMAP_SFU, ' ', ' ');
	ck_assert(!namemap_valid(NAMEMAP_SFU, "a\"b"));
	ck_assert(!namemap_valid(NAMEMAP_SFU, "a\\b"));
	ck_assert(!namemap_valid(NAMEMAP_SFU, "a\tb"));
	ck_assert(namemap_valid(NAMEMAP_SFU, "a:b*c?d<e>f|g"));
}
END_TEST

START_TEST(none_passes_and_refuses)
{
	char out[64];

	ck_assert_int_eq(namemap_to_server(NAMEMAP_NONE, "d/a:b?. ", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "d/a:b?. ");
	ck_assert_int_eq(namemap_from_server(NAMEMAP_NONE, "a\xEF\x80\xA2" "b", out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "a\xEF\x80\xA2" "b");
	for (const char *p = "\"*:<>?\\|\x01\x1f"; *p; p++) {
		char name[4] = {'a', *p, 'b', '\0'};
		ck_assert_msg(!namemap_valid(NAMEMAP_NONE, name), "0x%02x accepted", *p);
	}
	ck_assert(namemap_valid(NAMEMAP_NONE, "plain name. "));
	ck_assert(namemap_valid(NAMEMAP_NONE, "caf\xC3\xA9"));
	ck_assert(namemap_valid(NAMEMAP_SFM, "a:b?c\"d\\e|f<g>h*\x01"));
}
END_TEST

START_TEST(trailing_space_period)
{
	char out[64], back[64];
	uint16_t u[16];
	size_t n;

	/* only the last character of each component, as Windows strips them */
	n = units_of(NAMEMAP_SFM, "a. b./c..", u, 16);
	ck_assert_uint_eq(n, 9);
	ck_assert_uint_eq(u[1], '.');
	ck_assert_uint_eq(u[2], ' ');
	ck_assert_uint_eq(u[4], 0xF029);
	ck_assert_uint_eq(u[5], '/'); /* the separator stays (utf16.c maps it) */
	ck_assert_uint_eq(u[7], '.');
	ck_assert_uint_eq(u[8], 0xF029);
	n = units_of(NAMEMAP_SFM, "x ", u, 16);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(u[1], 0xF028);
	/* back: a mapped space/period only where it ends the name */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "c.\xEF\x80\xA9", back, sizeof(back)),
			 0);
	ck_assert_str_eq(back, "c..");
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "a\xEF\x80\xA9" "b", back, sizeof(back)),
			 0);
	ck_assert_str_eq(back, "a\xEF\x80\xA9" "b");
	/* which maps forward to itself: every shown name reaches the same server name */
	ck_assert_int_eq(namemap_to_server(NAMEMAP_SFM, back, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a\xEF\x80\xA9" "b");
	/* SFU leaves trailing spaces and periods alone */
	n = units_of(NAMEMAP_SFU, "x.", u, 16);
	ck_assert_uint_eq(u[n - 1], '.');
}
END_TEST

START_TEST(from_server_other_pua)
{
	char back[64];

	/* SFU code points mean nothing under SFM and the other way round */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "\xEF\x80\xBA", back, sizeof(back)), 0);
	ck_assert_str_eq(back, "\xEF\x80\xBA"); /* U+F03A */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFU, "\xEF\x80\xA2", back, sizeof(back)), 0);
	ck_assert_str_eq(back, "\xEF\x80\xA2"); /* U+F022 */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFU, "\xEF\x81\xBC", back, sizeof(back)), 0);
	ck_assert_str_eq(back, "|");
	/* U+F000 is not a character of either table */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "\xEF\x80\x80", back, sizeof(back)), 0);
	ck_assert_str_eq(back, "\xEF\x80\x80");
	/* other three-byte characters and truncated sequences pass unchanged */
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "\xEF\xBF\xBD" "a\xEF\x80", back,
					     sizeof(back)),
			 0);
	ck_assert_str_eq(back, "\xEF\xBF\xBD" "a\xEF\x80");
}
END_TEST

START_TEST(capacity)
{
	char out[8];

	/* "a:b" needs 1 + 3 + 1 + NUL = 6 bytes */
	ck_assert_int_eq(namemap_to_server(NAMEMAP_SFM, "a:b", out, 6), 0);
	ck_assert_str_eq(out, "a\xEF\x80\xA2" "b");
	ck_assert_int_eq(namemap_to_server(NAMEMAP_SFM, "a:b", out, 5), -ENAMETOOLONG);
	ck_assert_int_eq(namemap_to_server(NAMEMAP_SFM, "a:b", out, 3), -ENAMETOOLONG);
	ck_assert_int_eq(namemap_to_server(NAMEMAP_NONE, "abc", out, 4), 0);
	ck_assert_int_eq(namemap_to_server(NAMEMAP_NONE, "abc", out, 3), -ENAMETOOLONG);
	ck_assert_int_eq(namemap_to_server(NAMEMAP_NONE, "", out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(namemap_to_server(NAMEMAP_NONE, "", out, 0), -ENAMETOOLONG);
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "a\xEF\x80\xA2", out, 3), 0);
	ck_assert_str_eq(out, "a:");
	ck_assert_int_eq(namemap_from_server(NAMEMAP_SFM, "abc", out, 3), -ENAMETOOLONG);
}
END_TEST

START_TEST(roundtrip_all_ascii)
{
	/* every printable name character, under both maps: forward then back is identity */
	for (int m = NAMEMAP_SFM; m <= NAMEMAP_SFU; m++) {
		for (int c = 1; c < 0x80; c++) {
			char name[5] = {'a', (char)c, (char)c, 'z', '\0'};
			char srv[32], back[32];
			if (c == '/' || !namemap_valid((enum namemap)m, name + 1))
				continue;
			ck_assert_int_eq(namemap_to_server((enum namemap)m, name, srv, sizeof(srv)),
					 0);
			ck_assert(namemap_valid(NAMEMAP_NONE, srv)); /* nothing forbidden left */
			ck_assert_int_eq(
				namemap_from_server((enum namemap)m, srv, back, sizeof(back)), 0);
			ck_assert_str_eq(back, name);
		}
	}
}
END_TEST

static Suite *namemap_suite(void)
{
	Suite *s = suite_create("namemap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sfm_table);
	tcase_add_test(tc, sfu_table);
	tcase_add_test(tc, none_passes_and_refuses);
	tcase_add_test(tc, trailing_space_period);
	tcase_add_test(tc, from_server_other_pua);
	tcase_add_test(tc, capacity);
	tcase_add_test(tc, roundtrip_all_ascii);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(namemap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
