/*
 * test_inode.c - the FUSE inode table (src/fs/inode.c): paths rebuilt from
 * (parent, name), renames moving subtrees, lookup counts, and a node's tie
 * to the server file it was found as (a replaced or unlinked node has no
 * path, and a name whose server file changed gets a new node).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/inode.h"

#define ROOT 1

static const char *path_of(struct inode_table *t, uint64_t ino, int *rc)
{
	static char buf[256];
	*rc = itab_path(t, ino, buf, sizeof(buf));
	return buf;
}

START_TEST(paths_and_rename)
{
	struct inode_table *t = itab_new();
	int rc;
	uint64_t d = itab_lookup(t, ROOT, "dir", 1);
	uint64_t f = itab_lookup(t, d, "f", 1);
	ck_assert_uint_ne(d, 0);
	ck_assert_uint_ne(f, 0);
	ck_assert_uint_eq(itab_lookup(t, d, "f", 1), f); /* same name, same node */
	ck_assert_str_eq(path_of(t, f, &rc), "dir/f");
	ck_assert_int_eq(rc, 5);
	ck_assert_int_eq(itab_rename(t, ROOT, "dir", ROOT, "moved"), 0);
	ck_assert_str_eq(path_of(t, f, &rc), "moved/f"); /* the subtree follows */
	ck_assert_uint_eq(itab_find(t, ROOT, "dir"), 0);
	ck_assert_uint_eq(itab_parent(t, f), d);
	itab_free(t);
}
END_TEST

START_TEST(replaced_and_unlinked_have_no_path)
{
	struct inode_table *t = itab_new();
	int rc;
	uint64_t a = itab_lookup(t, ROOT, "a", 1);
	uint64_t b = itab_lookup(t, ROOT, "b", 1);
	uint64_t c = itab_lookup(t, ROOT, "c", 1);
	uint64_t sub = itab_lookup(t, c, "x", 1);

	/* b renamed over a: a's old name leads to b's file now */
	ck_assert_int_eq(itab_rename(t, ROOT, "b", ROOT, "a"), 0);
	ck_assert_uint_eq(itab_find(t, ROOT, "a"), b);
	path_of(t, a, &rc);
	ck_assert_int_eq(rc, -ESTALE);
	ck_assert_str_eq(path_of(t, b, &rc), "a");
	/* unlinked: no path, for it and for what was below it */
	itab_unlink(t, ROOT, "c");
	path_of(t, c, &rc);
	ck_assert_int_eq(rc, -ESTALE);
	path_of(t, sub, &rc);
	ck_assert_int_eq(rc, -ESTALE);
	ck_assert_int_eq(itab_path(t, 999, (char[8]){0}, 8), -ENOENT);
	/* the nodes live until the kernel forgets them */
	ck_assert_uint_eq(itab_count(t), 4); /* a, b, c, x */
	itab_forget(t, a, 1);
	itab_forget(t, sub, 1);
	itab_forget(t, c, 1);
	ck_assert_uint_eq(itab_count(t), 1); /* b */
	itab_free(t);
}
END_TEST

START_TEST(server_identity)
{
	struct inode_table *t = itab_new();
	int rc;
	uint64_t n = itab_lookup_sid(t, ROOT, "f", 1, 100);
	/* the same file again: the same node */
	ck_assert_uint_eq(itab_lookup_sid(t, ROOT, "f", 1, 100), n);
	ck_assert_uint_eq(itab_lookup_sid(t, ROOT, "f", 1, 0), n); /* id unknown: trust the name */
	ck_assert_int_eq(itab_same_file(t, n, 100), 1);
	ck_assert_int_eq(itab_same_file(t, n, 0), 1);
	ck_assert_int_eq(itab_same_file(t, n, 101), 0);
	/* the name now leads to another file: a new node, the old one out of the namespace */
	uint64_t m = itab_lookup_sid(t, ROOT, "f", 1, 101);
	ck_assert_uint_ne(m, n);
	ck_assert_uint_eq(itab_find(t, ROOT, "f"), m);
	path_of(t, n, &rc);
	ck_assert_int_eq(rc, -ESTALE);
	ck_assert_str_eq(path_of(t, m, &rc), "f");
	/* a node first known without an id learns it once */
	uint64_t g = itab_lookup(t, ROOT, "g", 1);
	ck_assert_int_eq(itab_same_file(t, g, 7), 1);
	ck_assert_int_eq(itab_same_file(t, g, 8), 0);
	/* a replaced node with no lookups left is freed at once */
	uint64_t h = itab_lookup_sid(t, ROOT, "h", 0, 5);
	size_t before = itab_count(t);
	ck_assert_uint_ne(itab_lookup_sid(t, ROOT, "h", 1, 6), h);
	ck_assert_uint_eq(itab_count(t), before);
	/* the root has no id to check */
	ck_assert_int_eq(itab_same_file(t, ROOT, 42), 1);
	itab_free(t);
}
END_TEST

static Suite *inode_suite(void)
{
	Suite *s = suite_create("inode");
	TCase *tc = tcase_create("itab");
	tcase_add_test(tc, paths_and_rename);
	tcase_add_test(tc, replaced_and_unlinked_have_no_path);
	tcase_add_test(tc, server_identity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inode_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
