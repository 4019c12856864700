/*
 * test_conn.c - src/net/conn.c against a scripted peer on the loopback
 * interface (in this process, no SMB server): the lifetime of borrowed
 * WRITE data, and the bound on the pool of idle receive buffers.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"
#include "wire/smb2.h"

/* A listening socket on 127.0.0.1; *port gets its port as a string. */
static int listen_local(char *port, size_t plen, int rcvbuf)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (rcvbuf) /* inherited by the accepted socket */
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, plen, "%u", ntohs(sa.sin_port));
	return fd;
}

static struct smb_conn *connect_local(const char *port, int request_timeout_ms)
{
	struct conn_opts o = {.host = "127.0.0.1", .port = port, .connect_timeout_ms = 5000,
			      .request_timeout_ms = request_timeout_ms};
	int err = 0;
	struct smb_conn *conn = conn_new(&o, &err);
	ck_assert_msg(conn != NULL, "conn_new: %d", err);
	return conn;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * A WRITE whose frame is stuck behind a peer that does not read times out;
 * its submitter, told so, reuses and frees the data (as a FUSE worker
 * reuses its request buffer). When the peer reads again it must get the
 * data as it was when submitted, not whatever the memory holds by then
 * (before the fix: the new bytes, or a read of freed memory).
 */
START_TEST(test_timed_out_write_keeps_its_data)
{
	enum { BODY = 48, PAYLOAD = 12 << 20 };
	char port[16];
	int lfd = listen_local(port, sizeof(port), 4096);
	struct smb_conn *conn = connect_local(port, 300);
	int sfd = accept(lfd, NULL, NULL);
	struct smb_req *req = req_new(SMB2_WRITE, BODY);
	uint8_t *payload = malloc(PAYLOAD), *frame, th[4];
	struct timeval rcv_to = {.tv_sec = 5};
	size_t flen, bad = 0;
	int rc;

	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &rcv_to, sizeof(rcv_to)), 0);
	ck_assert(req && payload);
	memset(payload, 0xAA, PAYLOAD);
	req_set_body_len(req, BODY);
	req->xdata = payload;
	req->xlen = PAYLOAD;
	rc = conn_call(conn, req);
	ck_assert_int_eq(rc, -ETIMEDOUT);
	/* the submitter moves on: its buffer now holds something else, then goes */
	memset(payload, 0xBB, PAYLOAD);
	free(payload);

	ck_assert_int_eq(read_full(sfd, th, 4), 0);
	flen = (size_t)th[1] << 16 | (size_t)th[2] << 8 | th[3];
	ck_assert_uint_eq(flen, SMB2_HDR_SIZE + BODY + PAYLOAD);
	frame = malloc(flen);
	ck_assert(frame != NULL);
	ck_assert_int_eq(read_full(sfd, frame, flen), 0);
	ck_assert(memcmp(frame, "\xfeSMB", 4) == 0);
	for (size_t i = SMB2_HDR_SIZE + BODY; i < flen; i++)
		bad += frame[i] != 0xAA;
	ck_assert_msg(bad == 0, "%zu of %d payload bytes changed after the timeout", bad,
		      PAYLOAD);
	ck_assert(!conn_is_dead(conn)); /* an orphan, not a broken connection */
	free(frame);
	req_put(req);
	conn_free(conn);
	close(sfd);
	close(lfd);
}
END_TEST

/*
 * A server that answers a WRITE before it read all of it (nothing honest
 * does): the submitter, told it is done, reuses and frees the data; what
 * the connection still sends must be the data as submitted.
 */
START_TEST(test_early_answer_keeps_the_rest)
{
	enum { BODY = 48, PAYLOAD = 12 << 20 };
	char port[16];
	int lfd = listen_local(port, sizeof(port), 4096);
	struct smb_conn *conn = connect_local(port, 5000);
	int sfd = accept(lfd, NULL, NULL);
	struct smb_req *req = req_new(SMB2_WRITE, BODY);
	uint8_t *payload = malloc(PAYLOAD), *rest, head[4 + SMB2_HDR_SIZE + BODY];
	uint8_t resp[4 + SMB2_HDR_SIZE + 17];
	struct timeval rcv_to = {.tv_sec = 5};
	size_t bad = 0;

	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &rcv_to, sizeof(rcv_to)), 0);
	ck_assert(req && payload);
	memset(payload, 0xAA, PAYLOAD);
	req_set_body_len(req, BODY);
	req->xdata = payload;
	req->xlen = PAYLOAD;
	ck_assert_int_eq(conn_submit(conn, req), 0);
	/* read the request's header and body only, then answer it: STATUS_SUCCESS */
	ck_assert_int_eq(read_full(sfd, head, sizeof(head)), 0);
	memset(resp, 0, sizeof(resp));
	resp[3] = SMB2_HDR_SIZE + 17;
	memcpy(resp + 4, "\xfeSMB", 4);
	resp[4 + 4] = SMB2_HDR_SIZE;               /* StructureSize */
	resp[4 + 6] = 1;                           /* CreditCharge */
	resp[4 + 12] = SMB2_WRITE;                 /* Command */
	resp[4 + 14] = 1;                          /* CreditResponse */
	resp[4 + 16] = SMB2_FLAGS_SERVER_TO_REDIR; /* Flags */
	memcpy(resp + 4 + 24, head + 4 + 24, 8);   /* MessageId */
	resp[4 + SMB2_HDR_SIZE] = 17;              /* WRITE response StructureSize */
	ck_assert_int_eq(write(sfd, resp, sizeof(resp)), (ssize_t)sizeof(resp));
	ck_assert_int_eq(conn_wait(req), 0);
	memset(payload, 0xBB, PAYLOAD);
	free(payload);

	rest = malloc(PAYLOAD);
	ck_assert(rest != NULL);
	ck_assert_int_eq(read_full(sfd, rest, PAYLOAD), 0);
	for (size_t i = 0; i < PAYLOAD; i++)
		bad += rest[i] != 0xAA;
	ck_assert_msg(bad == 0, "%zu of %d payload bytes changed after the answer", bad, PAYLOAD);
	free(rest);
	req_put(req);
	conn_free(conn);
	close(sfd);
	close(lfd);
}
END_TEST

/* Wait until the connection failed (the peer's frame was consumed). */
static void wait_dead(struct smb_conn *conn)
{
	for (int i = 0; i < 1000 && !conn_is_dead(conn); i++)
		usleep(10 * 1000);
	ck_assert(conn_is_dead(conn));
}

/*
 * Send a frame of flen bytes that is not SMB2, all but its last byte
 * (last=0: the connection has its receive buffer and waits for the rest),
 * or its last byte (last=1: it reads the frame, rejects it and fails).
 */
static void feed_frame(int sfd, size_t flen, int last)
{
	uint8_t *f = calloc(1, 4 + flen);
	ck_assert(f != NULL);
	f[1] = (uint8_t)(flen >> 16);
	f[2] = (uint8_t)(flen >> 8);
	f[3] = (uint8_t)flen;
	memcpy(f + 4, "\x01XXX", 4);
	if (last)
		ck_assert_int_eq(write(sfd, f + 3 + flen, 1), 1);
	else
		ck_assert_int_eq(write(sfd, f, 3 + flen), (ssize_t)(3 + flen));
	free(f);
}

/*
 * Big receive buffers go back to a process-wide pool. It is bounded in
 * bytes: eight idle 8 MiB buffers (rsize=8M) would pin 64 MiB when it was
 * bounded by count only.
 */
START_TEST(test_rx_pool_bounded_by_bytes)
{
	enum { N = 8 };
	size_t flen = 8u << 20, bytes = 0;
	struct smb_conn *conn[N];
	int sfd[N], count = 0;
	char port[16];
	int lfd = listen_local(port, sizeof(port), 0);

	conn_rx_pool_drain();
	/* all at once, so that every buffer is in use together, then idle together */
	for (int i = 0; i < N; i++) {
		conn[i] = connect_local(port, 5000);
		sfd[i] = accept(lfd, NULL, NULL);
		ck_assert_int_ge(sfd[i], 0);
	}
	for (int i = 0; i < N; i++)
		feed_frame(sfd[i], flen - 4096 * (size_t)i, 0); /* similar sizes, not equal */
	for (int i = 0; i < N; i++)
		feed_frame(sfd[i], flen - 4096 * (size_t)i, 1);
	for (int i = 0; i < N; i++)
		wait_dead(conn[i]);
	conn_rx_pool_stats(&bytes, &count);
	ck_assert_msg(bytes <= 24u << 20, "%zu bytes idle in %d buffers", bytes, count);
	ck_assert_int_ge(count, 2); /* still a pool */
	ck_assert_int_le(count, N);

	/* a smaller READ size afterwards: new buffers replace the old ones */
	for (int i = 0; i < N; i++) {
		conn_free(conn[i]);
		close(sfd[i]);
	}
	for (int i = 0; i < 4; i++) {
		conn[i] = connect_local(port, 5000);
		sfd[i] = accept(lfd, NULL, NULL);
	}
	for (int i = 0; i < 4; i++)
		feed_frame(sfd[i], (1u << 20) + 80, 0);
	for (int i = 0; i < 4; i++)
		feed_frame(sfd[i], (1u << 20) + 80, 1);
	for (int i = 0; i < 4; i++)
		wait_dead(conn[i]);
	conn_rx_pool_stats(&bytes, &count);
	/* the 1 MiB ones are kept, pushing out 8 MiB ones */
	ck_assert_msg(bytes < 24u << 20 && bytes % (1u << 20) != 0, "%zu bytes idle in %d buffers",
		      bytes, count);
	for (int i = 0; i < 4; i++) {
		conn_free(conn[i]);
		close(sfd[i]);
	}
	conn_rx_pool_drain();
	conn_rx_pool_stats(&bytes, &count);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_int_eq(count, 0);
	close(lfd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_timed_out_write_keeps_its_data);
	tcase_add_test(tc, test_early_answer_keeps_the_rest);
	tcase_add_test(tc, test_rx_pool_bounded_by_bytes);
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
