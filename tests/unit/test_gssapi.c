/*
 * test_gssapi.c - the pure parts of src/auth/gssapi.c: the GSS/krb5 status
 * -> -errno mapping, argument checks, and the message for a missing
 * credentials cache (no KDC involved: KRB5_CONFIG and KRB5CCNAME point at
 * files that do not exist). The full exchange is exercised against a real
 * KDC by tests/integration/krb5_probe.c with the addc.py fixture.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "auth/gssapi.h"

#define MINOR(code) ((uint32_t)(int32_t)(code))

START_TEST(errno_by_minor)
{
	ck_assert_int_eq(gss_auth_errno(GSS_S_NO_CRED, MINOR(KRB5_FCC_NOFILE)), -ENOKEY);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5_CC_NOTFOUND)), -ENOKEY);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KRB_AP_ERR_TKT_EXPIRED)),
			 -EKEYEXPIRED);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KDC_ERR_KEY_EXP)), -EKEYEXPIRED);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN)),
			 -ENOENT);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KRB_AP_ERR_SKEW)), -ETIME);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5_KDC_UNREACH)), -EHOSTUNREACH);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5_REALM_UNKNOWN)), -EHOSTUNREACH);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN)),
			 -EACCES);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KRB_AP_ERR_MODIFIED)), -EACCES);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, MINOR(KRB5KDC_ERR_ETYPE_NOSUPP)), -ENOTSUP);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, ENOMEM), -ENOMEM);
}
END_TEST

START_TEST(errno_by_major)
{
	/* The minor code wins when it is known; otherwise the major decides. */
	ck_assert_int_eq(gss_auth_errno(GSS_S_NO_CRED, 0), -ENOKEY);
	ck_assert_int_eq(gss_auth_errno(GSS_S_CREDENTIALS_EXPIRED, 0), -EKEYEXPIRED);
	ck_assert_int_eq(gss_auth_errno(GSS_S_CONTEXT_EXPIRED, 0), -EKEYEXPIRED);
	ck_assert_int_eq(gss_auth_errno(GSS_S_DEFECTIVE_TOKEN, 0), -EBADMSG);
	ck_assert_int_eq(gss_auth_errno(GSS_S_BAD_SIG, 0), -EACCES);
	ck_assert_int_eq(gss_auth_errno(GSS_S_BAD_MECH, 0), -ENOTSUP);
	ck_assert_int_eq(gss_auth_errno(GSS_S_BAD_NAME, 0), -EINVAL);
	ck_assert_int_eq(gss_auth_errno(GSS_S_DUPLICATE_TOKEN, 0), -EACCES);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, 0), -EIO);
	ck_assert_int_eq(gss_auth_errno(GSS_S_FAILURE, 12345), -EIO);
	ck_assert_int_eq(gss_auth_errno(GSS_S_DEFECTIVE_TOKEN, MINOR(KRB5KRB_AP_ERR_SKEW)), -ETIME);
}
END_TEST

START_TEST(bad_host_names)
{
	static const char *const bad[] = {"", "a@b", "cifs/host", "two words", "back\\slash"};
	char err[256];
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = 1;
		ck_assert_ptr_null(gss_auth_new(bad[i], &rc, err, sizeof(err)));
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_msg(strstr(err, "host name") != NULL, "%s", err);
	}
	rc = 1;
	ck_assert_ptr_null(gss_auth_new(NULL, &rc, NULL, 0));
	ck_assert_int_eq(rc, -EINVAL);
}
END_TEST

START_TEST(no_ccache)
{
	char err[512];
	int rc = 1;

	setenv("KRB5_CONFIG", "/nonexistent/smbfuse-test-krb5.conf", 1);
	setenv("KRB5CCNAME", "FILE:/nonexistent/smbfuse-test-ccache", 1);
	ck_assert_ptr_null(gss_auth_new("server.example.com", &rc, err, sizeof(err)));
	ck_assert_int_eq(rc, -ENOKEY);
	ck_assert_msg(strncmp(err, "no Kerberos ticket: run kinit", 29) == 0, "%s", err);
	/* MIT names the cache it looked at; the name is not a secret. */
	ck_assert_msg(strstr(err, "smbfuse-test-ccache") != NULL, "%s", err);

	/* An explicit cache name wins over KRB5CCNAME, and is named. */
	static const char want[] =
	    "no Kerberos ticket in FILE:/nonexistent/smbfuse-explicit-ccache: run kinit";

	rc = 1;
	ck_assert_ptr_null(gss_auth_new_ccache("server.example.com",
					       "FILE:/nonexistent/smbfuse-explicit-ccache", &rc,
					       err, sizeof(err)));
	ck_assert_int_eq(rc, -ENOKEY);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

START_TEST(null_and_order)
{
	uint8_t *out = (uint8_t *)1, key[GSS_AUTH_MAX_KEY_LEN];
	size_t out_len = 1, key_len = 1;
	int done = 1;

	gss_auth_free(NULL);
	ck_assert_int_eq(gss_auth_step(NULL, NULL, 0, &out, &out_len, &done), -EINVAL);
	ck_assert_int_eq(gss_auth_session_key(NULL, key, sizeof(key), &key_len), -EINVAL);
	ck_assert_str_eq(gss_auth_error(NULL), "");
}
END_TEST

static Suite *gssapi_suite(void)
{
	Suite *s = suite_create("gssapi");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, errno_by_minor);
	tcase_add_test(tc, errno_by_major);
	tcase_add_test(tc, bad_host_names);
	tcase_add_test(tc, no_ccache);
	tcase_add_test(tc, null_and_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gssapi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
