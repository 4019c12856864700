/*
 * test_errmap.c - the NTSTATUS -> -errno table (src/errmap.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"

/* Test hook defined in src/errmap.c. */
int ntstatus_table_entry(size_t i, uint32_t *status, int *err, const char **name);

START_TEST(table_sorted_and_unique)
{
	uint32_t prev = 0, st;
	int err;
	const char *name;
	size_t i;

	for (i = 0; ntstatus_table_entry(i, &st, &err, &name); i++) {
		if (i)
			ck_assert_msg(st > prev, "entry %zu (%s) out of order", i, name);
		prev = st;
	}
	ck_assert_uint_gt(i, 50);
}
END_TEST

START_TEST(every_entry_roundtrips)
{
	uint32_t st;
	int err;
	const char *name;

	for (size_t i = 0; ntstatus_table_entry(i, &st, &err, &name); i++) {
		ck_assert_int_eq(ntstatus_to_errno(st), err);
		ck_assert_str_eq(ntstatus_name(st), name);
		ck_assert_msg(strncmp(name, "STATUS_", 7) == 0, "%s", name);
		ck_assert_msg(err <= 0, "%s maps to a positive errno", name);
	}
}
END_TEST

START_TEST(usual_mappings)
{
	ck_assert_int_eq(ntstatus_to_errno(STATUS_SUCCESS), 0);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_OBJECT_NAME_NOT_FOUND), -ENOENT);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_OBJECT_PATH_NOT_FOUND), -ENOENT);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NO_SUCH_FILE), -ENOENT);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_ACCESS_DENIED), -EACCES);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_OBJECT_NAME_COLLISION), -EEXIST);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_DIRECTORY_NOT_EMPTY), -ENOTEMPTY);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NOT_A_DIRECTORY), -ENOTDIR);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_FILE_IS_A_DIRECTORY), -EISDIR);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_LOGON_FAILURE), -EACCES);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_BAD_NETWORK_NAME), -ENOENT);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_DISK_FULL), -ENOSPC);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_SHARING_VIOLATION), -EBUSY);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NOT_SUPPORTED), -EOPNOTSUPP);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_END_OF_FILE), -ENODATA);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NO_MORE_FILES), -ENODATA);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_INVALID_HANDLE), -EBADF);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NOT_SAME_DEVICE), -EXDEV);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_MEDIA_WRITE_PROTECTED), -EROFS);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_NAME_TOO_LONG), -ENAMETOOLONG);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_DELETE_PENDING), -ENOENT);
	/* Never 0 for an interim response that slipped through. */
	ck_assert_int_eq(ntstatus_to_errno(STATUS_PENDING), -EIO);
	ck_assert_int_eq(ntstatus_to_errno(STATUS_MORE_PROCESSING_REQUIRED), -EIO);
}
END_TEST

START_TEST(unknown_statuses)
{
	/* Unknown error and warning severities -> -EIO, success/informational -> 0. */
	ck_assert_int_eq(ntstatus_to_errno(0xC0FFEE00u), -EIO);
	ck_assert_int_eq(ntstatus_to_errno(0x8000FFFFu), -EIO);
	ck_assert_int_eq(ntstatus_to_errno(0x4000FFFFu), 0);
	ck_assert_int_eq(ntstatus_to_errno(0x0000FFFFu), 0);
	ck_assert_str_eq(ntstatus_name(0xC0FFEE00u), "0xC0FFEE00");
	ck_assert_str_eq(ntstatus_name(STATUS_ACCESS_DENIED), "STATUS_ACCESS_DENIED");
}
END_TEST

static Suite *errmap_suite(void)
{
	Suite *s = suite_create("errmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table_sorted_and_unique);
	tcase_add_test(tc, every_entry_roundtrips);
	tcase_add_test(tc, usual_mappings);
	tcase_add_test(tc, unknown_statuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(errmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
