/*
 * test_credits.c - credit window and in-flight table bookkeeping (src/net).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "net/conn.h"
#include "net/credits.h"
#include "net/pending.h"

START_TEST(test_initial_window)
{
	struct credits c;
	credits_init(&c, 512);
	ck_assert_uint_eq(c.avail, 1);
	ck_assert(credits_can_send(&c, 0));  /* NEGOTIATE: charge 0 costs one */
	ck_assert(!credits_can_send(&c, 2));
	ck_assert_uint_eq(credits_take(&c, 0), 0);
	ck_assert_uint_eq(c.avail, 0);
	ck_assert_uint_eq(c.next_msgid, 1);
	ck_assert(!credits_can_send(&c, 1));
}
END_TEST

START_TEST(test_charge_large_mtu)
{
	struct credits c;
	credits_init(&c, 512);
	ck_assert_uint_eq(credits_charge_for(&c, 8 << 20), 1); /* no LARGE_MTU: always 1 */
	c.large_mtu = 1;
	ck_assert_uint_eq(credits_charge_for(&c, 0), 1);
	ck_assert_uint_eq(credits_charge_for(&c, 1), 1);
	ck_assert_uint_eq(credits_charge_for(&c, 65536), 1);
	ck_assert_uint_eq(credits_charge_for(&c, 65537), 2);
	ck_assert_uint_eq(credits_charge_for(&c, 1 << 20), 16);
	ck_assert_uint_eq(credits_charge_for(&c, 8 << 20), 128);
}
END_TEST

START_TEST(test_multi_credit_msgids)
{
	struct credits c;
	credits_init(&c, 512);
	c.large_mtu = 1;
	ck_assert_int_eq(credits_grant(&c, 100, 0, 0), 0);
	ck_assert_uint_eq(c.avail, 101);
	ck_assert_uint_eq(credits_take(&c, 16), 0);
	ck_assert_uint_eq(credits_take(&c, 1), 16); /* a 16-credit request uses 16 MessageIds */
	ck_assert_uint_eq(c.next_msgid, 17);
	ck_assert_uint_eq(c.avail, 101 - 17);
	ck_assert_uint_eq(c.in_flight, 17);
	/* final response to the 16-credit request grants 16 back */
	ck_assert_int_eq(credits_grant(&c, 16, 16, 1), 0);
	ck_assert_uint_eq(c.in_flight, 1);
	ck_assert_uint_eq(c.avail, 101 - 17 + 16);
	/* an interim STATUS_PENDING grant keeps the request in flight */
	ck_assert_int_eq(credits_grant(&c, 1, 1, 0), 0);
	ck_assert_uint_eq(c.in_flight, 1);
}
END_TEST

START_TEST(test_request_amount_grows_to_target)
{
	struct credits c;
	credits_init(&c, 512);
	/* far below the target: ask for the charge plus up to 256 more */
	ck_assert_uint_eq(credits_request_amount(&c, 1), 257);
	c.avail = 600;
	ck_assert_uint_eq(credits_request_amount(&c, 4), 4); /* at/above target: just replace */
}
END_TEST

START_TEST(test_oversized_grant_rejected)
{
	struct credits c;
	credits_init(&c, 512);
	ck_assert_int_eq(credits_grant(&c, 60000, 0, 0), 0);
	ck_assert_int_eq(credits_grant(&c, 10000, 0, 0), -EPROTO);
	ck_assert_uint_eq(c.avail, 60001); /* the bad grant changed nothing */
}
END_TEST

START_TEST(test_pending_table)
{
	struct pending p;
	struct smb_req *reqs[3000];
	pending_init(&p);
	for (int i = 0; i < 3000; i++) {
		reqs[i] = req_new(SMB2_READ, 16);
		ck_assert_ptr_nonnull(reqs[i]);
		reqs[i]->message_id = (uint64_t)i * 3 + 7; /* collide in buckets */
		pending_add(&p, reqs[i]);
	}
	ck_assert_uint_eq(p.count, 3000);
	for (int i = 0; i < 3000; i++)
		ck_assert_ptr_eq(pending_find(&p, (uint64_t)i * 3 + 7), reqs[i]);
	ck_assert_ptr_null(pending_find(&p, 8));
	ck_assert_ptr_null(pending_find(&p, UINT64_MAX));
	for (int i = 0; i < 3000; i += 2)
		pending_del(&p, reqs[i]);
	ck_assert_uint_eq(p.count, 1500);
	for (int i = 0; i < 3000; i++)
		ck_assert_ptr_eq(pending_find(&p, (uint64_t)i * 3 + 7), (i % 2) ? reqs[i] : NULL);
	pending_del(&p, reqs[0]); /* absent: no-op */
	ck_assert_uint_eq(p.count, 1500);
	int popped = 0;
	while (pending_pop(&p))
		popped++;
	ck_assert_int_eq(popped, 1500);
	ck_assert_uint_eq(p.count, 0);
	for (int i = 0; i < 3000; i++)
		req_put(reqs[i]);
}
END_TEST

START_TEST(test_req_body)
{
	struct smb_req *r = req_new(SMB2_CREATE, 100);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(req_body_cap(r), 100);
	ck_assert_ptr_eq(req_body(r), r->buf + SMB2_HDR_SIZE);
	req_set_body_len(r, 57);
	ck_assert_uint_eq(r->len, SMB2_HDR_SIZE + 57);
	req_get(r);
	req_put(r);
	req_put(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("credits");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_initial_window);
	tcase_add_test(tc, test_charge_large_mtu);
	tcase_add_test(tc, test_multi_credit_msgids);
	tcase_add_test(tc, test_request_amount_grows_to_target);
	tcase_add_test(tc, test_oversized_grant_rejected);
	tcase_add_test(tc, test_pending_table);
	tcase_add_test(tc, test_req_body);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
