/*
 * test_cache.c - the caches of src/cache/ without a server.
 *
 * negcache is driven directly. readahead and write-behind call the client's
 * smbc_read_async/smbc_write_async; this file links the cache sources with
 * its own definitions of those (and of smbc_buf_get/put), which queue each
 * request so the test decides when and how it completes - in the test's
 * thread or a "loop" thread, with data, a short count or an error - the way
 * the connection's loop thread would.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/dircache.h"
#include "cache/negcache.h"
#include "cache/readahead.h"
#include "cache/writeback.h"
#include "client/ops.h"
#include "wire/smb2.h"

/* ------------------------------------------------------------------ fake client I/O */

struct smbc_buf {
	int refs;
	uint8_t *data;
};

static int bufs_live; /* frames still referenced: must be 0 at the end */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t io_cond = PTHREAD_COND_INITIALIZER;

void smbc_buf_get(struct smbc_buf *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void smbc_buf_put(struct smbc_buf *b)
{
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_RELAXED) == 0) {
		free(b->data);
		free(b);
		__atomic_sub_fetch(&bufs_live, 1, __ATOMIC_RELAXED);
	}
}

struct io {
	int is_write;
	uint64_t off;
	size_t len;
	uint8_t *wdata; /* a copy of what was written, or the lent buffer */
	struct smbc_lend lend; /* owner NULL: wdata is our copy */
	smbc_read_cb rcb;
	smbc_write_cb wcb;
	void *arg;
	struct io *next;
};

static struct io *queue; /* submitted, not completed; FIFO */
static int submitted, max_queued;
static uint64_t file_size = UINT64_MAX; /* reads past it come back short */
static int submit_fail;                 /* next submit fails with this */

static void enqueue(struct io *io)
{
	struct io **pp;
	int n = 0;
	pthread_mutex_lock(&io_lock);
	for (pp = &queue; *pp; pp = &(*pp)->next)
		n++;
	*pp = io;
	submitted++;
	if (n + 1 > max_queued)
		max_queued = n + 1;
	pthread_cond_broadcast(&io_cond);
	pthread_mutex_unlock(&io_lock);
}

int smbc_read_async(struct smb_client *c, struct smbc_file *f, uint64_t off, size_t len,
		    smbc_read_cb cb, void *arg)
{
	struct io *io;
	(void)c;
	(void)f;
	if (submit_fail) {
		int rc = submit_fail;
		submit_fail = 0;
		return rc;
	}
	io = calloc(1, sizeof(*io));
	io->off = off;
	io->len = len;
	io->rcb = cb;
	io->arg = arg;
	enqueue(io);
	return 0;
}

int smbc_write_async(struct smb_client *c, struct smbc_file *f, uint64_t off, const void *data,
		     size_t len, const struct smbc_lend *lend, smbc_write_cb cb, void *arg)
{
	struct io *io;
	(void)c;
	(void)f;

	if (submit_fail) {
		int rc = submit_fail;
		submit_fail = 0;
		return rc;
	}
	io = calloc(1, sizeof(*io));
	io->is_write = 1;
	io->off = off;
	io->len = len;
	if (lend) {
		lend->get(lend->owner);
		io->lend = *lend;
		io->wdata = (uint8_t *)data;
	} else {
		io->wdata = malloc(len);
		memcpy(io->wdata, data, len);
	}
	io->wcb = cb;
	io->arg = arg;
	enqueue(io);
	return 0;
}

static uint8_t pattern(uint64_t pos)
{
	return (uint8_t)(pos * 7 + (pos >> 16));
}

static struct io *take(void)
{
	struct io *io;
	pthread_mutex_lock(&io_lock);
	io = queue;
	if (io)
		queue = io->next;
	pthread_mutex_unlock(&io_lock);
	return io;
}

static int queued(void)
{
	int n = 0;
	pthread_mutex_lock(&io_lock);
	for (struct io *io = queue; io; io = io->next)
		n++;
	pthread_mutex_unlock(&io_lock);
	return n;
}

/* Complete one request: rc < 0 fails it, else reads get file data, writes rc bytes. */
static void complete(struct io *io, ssize_t rc)
{
	if (io->is_write) {
		io->wcb(io->arg, rc);
		if (io->lend.owner)
			io->lend.put(io->lend.owner);
		else
			free(io->wdata);
	} else if (rc < 0) {
		io->rcb(io->arg, rc, NULL, NULL);
	} else {
		struct smbc_buf *b = calloc(1, sizeof(*b));
		size_t n = io->len;
		if (file_size != UINT64_MAX)
			n = io->off >= file_size ? 0
			    : (file_size - io->off < n ? (size_t)(file_size - io->off) : n);
		b->refs = 1;
		b->data = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			b->data[i] = pattern(io->off + i);
		__atomic_add_fetch(&bufs_live, 1, __ATOMIC_RELAXED);
		io->rcb(io->arg, (ssize_t)n, b->data, b);
		smbc_buf_put(b); /* the connection's reference */
	}
	free(io);
}

static void complete_all(void)
{
	struct io *io;
	while ((io = take()))
		complete(io, (ssize_t)io->len);
}

static void reset_io(void)
{
	complete_all();
	submitted = 0;
	max_queued = 0;
	file_size = UINT64_MAX;
	submit_fail = 0;
}

/* ------------------------------------------------------------------ negcache */

START_TEST(test_neg_hit_and_del)
{
	struct negcache *nc = neg_new(100, 30);
	ck_assert_ptr_nonnull(nc);
	ck_assert(!neg_hit(nc, 1, ".hidden"));
	neg_add(nc, 1, ".hidden");
	ck_assert(neg_hit(nc, 1, ".hidden"));
	ck_assert(!neg_hit(nc, 2, ".hidden")); /* per directory */
	ck_assert(!neg_hit(nc, 1, ".Hidden")); /* exact name */
	neg_add(nc, 1, ".hidden");             /* re-adding does not duplicate */
	ck_assert_uint_eq(neg_count(nc), 1);
	neg_del(nc, 1, ".hidden");
	ck_assert(!neg_hit(nc, 1, ".hidden"));
	ck_assert_uint_eq(neg_count(nc), 0);
	neg_free(nc);
}
END_TEST

START_TEST(test_neg_disabled)
{
	ck_assert_ptr_null(neg_new(100, 0)); /* actimeo=0: no cache */
	ck_assert_ptr_null(neg_new(0, 1));
	neg_add(NULL, 1, "x"); /* every call accepts the NULL cache */
	ck_assert(!neg_hit(NULL, 1, "x"));
	ck_assert(!neg_add_since(NULL, 1, "x", neg_gen(NULL)));
	neg_inval_dir(NULL, 1);
	neg_free(NULL);
}
END_TEST

START_TEST(test_neg_expiry)
{
	struct negcache *nc = neg_new(100, 0.15);
	neg_add(nc, 1, "a");
	ck_assert(neg_hit(nc, 1, "a"));
	usleep(100 * 1000);
	neg_add(nc, 1, "b");
	ck_assert(neg_hit(nc, 1, "a"));
	usleep(80 * 1000); /* a is 180 ms old, b 80 ms */
	ck_assert(!neg_hit(nc, 1, "a"));
	ck_assert(neg_hit(nc, 1, "b"));
	ck_assert_uint_eq(neg_count(nc), 1); /* the expired one is gone, not just hidden */
	usleep(100 * 1000);
	ck_assert(!neg_hit(nc, 1, "b"));
	/* re-adding refreshes the expiry */
	neg_add(nc, 1, "c");
	usleep(100 * 1000);
	neg_add(nc, 1, "c");
	usleep(100 * 1000);
	ck_assert(neg_hit(nc, 1, "c"));
	neg_free(nc);
}
END_TEST

START_TEST(test_neg_bound_evicts_oldest)
{
	char name[32];
	struct negcache *nc = neg_new(64, 30);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		neg_add(nc, (uint64_t)(i % 7), name);
		ck_assert_uint_le(neg_count(nc), 64);
	}
	ck_assert_uint_eq(neg_count(nc), 64);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		/* the newest 64 stay, every older one went */
		ck_assert_int_eq(neg_hit(nc, (uint64_t)(i % 7), name), i >= 1000 - 64);
	}
	neg_free(nc);
}
END_TEST

START_TEST(test_neg_write_counter)
{
	struct negcache *nc = neg_new(100, 30);
	uint64_t g;

	/* a lookup starts, a local create of the name happens, the lookup's miss comes back */
	g = neg_gen(nc);
	neg_del(nc, 5, "new.txt");
	ck_assert(!neg_add_since(nc, 5, "new.txt", g));
	ck_assert(!neg_hit(nc, 5, "new.txt"));

	/* nothing happened in between: recorded */
	g = neg_gen(nc);
	ck_assert(neg_add_since(nc, 5, "other", g));
	ck_assert(neg_hit(nc, 5, "other"));

	/* a directory invalidation and a clear are changes too */
	g = neg_gen(nc);
	neg_inval_dir(nc, 9);
	ck_assert(!neg_add_since(nc, 5, "x", g));
	g = neg_gen(nc);
	neg_clear(nc);
	ck_assert(!neg_add_since(nc, 5, "x", g));
	ck_assert_uint_eq(neg_count(nc), 0);
	neg_free(nc);
}
END_TEST

START_TEST(test_neg_inval_dir)
{
	struct negcache *nc = neg_new(100, 30);
	neg_add(nc, 1, "a");
	neg_add(nc, 2, "a");
	neg_add(nc, 1, "b");
	neg_add(nc, 3, "c");
	neg_inval_dir(nc, 1);
	ck_assert(!neg_hit(nc, 1, "a"));
	ck_assert(!neg_hit(nc, 1, "b"));
	ck_assert(neg_hit(nc, 2, "a"));
	ck_assert(neg_hit(nc, 3, "c"));
	ck_assert_uint_eq(neg_count(nc), 2);
	neg_clear(nc);
	ck_assert_uint_eq(neg_count(nc), 0);
	neg_free(nc);
}
END_TEST


/* ------------------------------------------------------------------ dircache */

static struct dc_list *listing(int n, const char *prefix)
{
	struct dc_list *l = dc_list_new();
	struct smb_stat st;
	char name[64];
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		st.size = (uint64_t)i;
		ck_assert_int_eq(dc_list_add(name, &st, l), 0);
	}
	return l;
}

START_TEST(test_dc_store_lookup_expiry)
{
	struct dircache *dc = dc_new(16, 1000, 0.15);
	struct dc_ticket t = dc_begin_fetch(dc);
	struct dc_list *l = listing(10, "f"), *got;
	double rem = 0;

	ck_assert_ptr_null(dc_lookup(dc, 7, NULL));
	ck_assert_int_eq(dc_store(dc, 7, &t, l), 1);
	got = dc_lookup(dc, 7, &rem);
	ck_assert_ptr_eq(got, l);
	ck_assert(rem > 0 && rem <= 0.15);
	ck_assert_uint_eq(got->n, 10);
	ck_assert_str_eq(got->ents[3].name, "f3");
	ck_assert_uint_eq(got->ents[3].st.size, 3);
	dc_list_put(got);
	ck_assert_ptr_null(dc_lookup(dc, 8, NULL)); /* per directory */
	usleep(200 * 1000);
	ck_assert_ptr_null(dc_lookup(dc, 7, NULL)); /* expired */
	ck_assert_uint_eq(dc_count(dc, NULL), 0);
	/* an open directory handle keeps its listing after the cache let go */
	ck_assert_str_eq(l->ents[9].name, "f9");
	dc_list_put(l);
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_disabled)
{
	struct dc_list *l = listing(1, "x");
	struct dc_ticket t = dc_begin_fetch(NULL);
	ck_assert_ptr_null(dc_new(16, 1000, 0));
	ck_assert_ptr_null(dc_new(0, 1000, 1));
	ck_assert_int_eq(dc_store(NULL, 1, &t, l), 0);
	ck_assert_ptr_null(dc_lookup(NULL, 1, NULL));
	dc_inval(NULL, 1);
	dc_begin_change(NULL, 1);
	dc_end_change(NULL, 1);
	dc_note_forget(NULL);
	dc_free(NULL);
	dc_list_put(l);
	dc_list_put(NULL);
}
END_TEST

START_TEST(test_dc_restart_empties)
{
	struct dc_list *l = listing(5, "a");
	struct smb_stat st = {0};
	dc_list_add(NULL, NULL, l); /* the listing restarts after a reconnect */
	ck_assert_uint_eq(l->n, 0);
	dc_list_add("b", &st, l);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_str_eq(l->ents[0].name, "b");
	dc_list_put(l);
}
END_TEST

START_TEST(test_dc_bounds_lru)
{
	struct dircache *dc = dc_new(3, 100, 30);
	struct dc_list *l;
	size_t ents;

	for (uint64_t d = 1; d <= 3; d++) {
		struct dc_ticket t = dc_begin_fetch(dc);
		l = listing(10, "n");
		ck_assert_int_eq(dc_store(dc, d, &t, l), 1);
		dc_list_put(l);
	}
	/* touch 1: 2 is now the least recently used */
	l = dc_lookup(dc, 1, NULL);
	ck_assert_ptr_nonnull(l);
	dc_list_put(l);
	{
		struct dc_ticket t = dc_begin_fetch(dc);
		l = listing(10, "n");
		ck_assert_int_eq(dc_store(dc, 4, &t, l), 1);
		dc_list_put(l);
	}
	ck_assert_uint_eq(dc_count(dc, &ents), 3);
	ck_assert_uint_eq(ents, 30);
	l = dc_lookup(dc, 2, NULL);
	ck_assert_ptr_null(l); /* evicted */
	for (uint64_t d = 1; d <= 4; d += (d == 1 ? 2 : 1)) {
		l = dc_lookup(dc, d, NULL);
		ck_assert_ptr_nonnull(l);
		dc_list_put(l);
	}
	/* the entry bound: a 90-entry listing evicts the oldest two of 3 x 10 */
	{
		struct dc_ticket t = dc_begin_fetch(dc);
		l = listing(90, "m");
		ck_assert_int_eq(dc_store(dc, 5, &t, l), 1);
		dc_list_put(l);
	}
	ck_assert_uint_eq(dc_count(dc, &ents), 2);
	ck_assert_uint_eq(ents, 100);
	l = dc_lookup(dc, 4, NULL); /* the most recent stays */
	ck_assert_ptr_nonnull(l);
	dc_list_put(l);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	ck_assert_ptr_null(dc_lookup(dc, 3, NULL));
	/* one bigger than the whole bound is not kept at all */
	{
		struct dc_ticket t = dc_begin_fetch(dc);
		l = listing(101, "z");
		ck_assert_int_eq(dc_store(dc, 6, &t, l), 0);
		dc_list_put(l);
	}
	ck_assert_ptr_null(dc_lookup(dc, 6, NULL));
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_write_counter)
{
	struct dircache *dc = dc_new(16, 1000, 30);
	struct dc_ticket t;
	struct dc_list *l;

	/* a listing fetched before a local change is not kept after it */
	t = dc_begin_fetch(dc);
	dc_begin_change(dc, 1);
	dc_end_change(dc, 1);
	l = listing(3, "old");
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 0);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	/* nor one that arrives while a change is in progress */
	t = dc_begin_fetch(dc);
	dc_begin_change(dc, 1);
	ck_assert(dc_changing(dc, 1));
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 0);
	/* and a kept listing is not served during the change */
	dc_end_change(dc, 1);
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	dc_begin_change(dc, 1);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	dc_end_change(dc, 1);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL)); /* dropped by the change */
	ck_assert(!dc_changing(dc, 1));
	/* a change elsewhere does not stop this directory's store */
	t = dc_begin_fetch(dc);
	dc_inval(dc, 2);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	/* invalidation (a notification) drops it */
	dc_inval(dc, 1);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	t = dc_begin_fetch(dc);
	dc_clear(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 0);
	dc_list_put(l);
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_attr_trust_and_watch)
{
	struct dircache *dc = dc_new(16, 1000, 0.1);
	struct dc_ticket t = dc_begin_fetch(dc);
	struct dc_list *l = listing(3, "a"), *got;
	double rem;

	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	ck_assert(dc_attrs_trusted(dc, l));
	dc_note_forget(dc); /* an inode the listing describes may have changed since */
	ck_assert(!dc_attrs_trusted(dc, l));
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	ck_assert(dc_attrs_trusted(dc, l));

	/* watched (a CHANGE_NOTIFY outstanding): no expiry for a listing stored since */
	dc_set_watched(dc, 1, 1);
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 2, &t, l), 1); /* 2 is not watched */
	usleep(150 * 1000);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL)); /* stored before the watch: expired */
	ck_assert_ptr_null(dc_lookup(dc, 2, NULL));
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	usleep(150 * 1000);
	got = dc_lookup(dc, 1, &rem);
	ck_assert_ptr_nonnull(got);
	dc_list_put(got);
	dc_set_watched(dc, 1, 0);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL)); /* expires as usual again */
	dc_list_put(l);
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_find_and_modify_counter)
{
	struct dircache *dc = dc_new(16, 10000, 0.2);
	struct dc_ticket t = dc_begin_fetch(dc);
	struct dc_list *l = listing(1000, "f"), *c;
	struct smb_stat st, up;
	double rem = 0;

	ck_assert_int_eq(dc_find(dc, 1, "f5", &st, &rem), 0); /* nothing kept */
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	ck_assert(dc_attrs_current(dc, l));
	ck_assert(dc_remaining(dc, 1, l) > 0);
	/* the name index: every name, any order; absent names are not found */
	for (int i = 999; i >= 0; i -= 7) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		ck_assert_int_eq(dc_find(dc, 1, name, &st, &rem), 1);
		ck_assert_uint_eq(st.size, (uint64_t)i);
		ck_assert(rem > 0 && rem <= 0.2);
	}
	ck_assert_int_eq(dc_find(dc, 1, "F5", &st, &rem), 0);
	ck_assert_int_eq(dc_find(dc, 1, "f1000", &st, &rem), 0);
	ck_assert_int_eq(dc_find(dc, 2, "f5", &st, &rem), 0);
	/* a local change edits the listing: the index follows it */
	memset(&up, 0, sizeof(up));
	up.size = 4242;
	dc_begin_change(dc, 1);
	dc_note_add(dc, 1, "new", &up);
	dc_note_del(dc, 1, "f7");
	dc_end_change(dc, 1);
	ck_assert_int_eq(dc_find(dc, 1, "new", &st, &rem), 1);
	ck_assert_uint_eq(st.size, 4242);
	ck_assert_int_eq(dc_find(dc, 1, "f7", &st, &rem), 0);
	ck_assert_int_eq(dc_find(dc, 1, "f8", &st, &rem), 1);
	ck_assert_uint_eq(st.size, 8);
	/* a local modification of a file: the listing's attributes no longer answer */
	c = dc_lookup(dc, 1, NULL);
	ck_assert_ptr_nonnull(c);
	dc_note_modify(dc);
	ck_assert(!dc_attrs_current(dc, c));
	ck_assert_int_eq(dc_find(dc, 1, "f8", &st, &rem), 0);
	/* one fetched after it does, until the next */
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	ck_assert_int_eq(dc_find(dc, 1, "f8", &st, &rem), 1);
	/* an open directory's older listing is no longer the kept one */
	ck_assert(dc_remaining(dc, 1, c) == 0);
	ck_assert(dc_remaining(dc, 1, l) > 0);
	dc_note_modify(dc);
	ck_assert_int_eq(dc_find(dc, 1, "f8", &st, &rem), 0);
	/* the server shows newer attributes than a current listing: it goes */
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	memset(&up, 0, sizeof(up));
	up.size = 9; /* what the listing says of f9 */
	dc_note_attrs(dc, 1, "f9", &up);
	ck_assert_int_eq(dc_find(dc, 1, "f9", &st, &rem), 1);
	up.size = 10;
	dc_note_attrs(dc, 1, "f9", &up);
	ck_assert_int_eq(dc_find(dc, 1, "f9", &st, &rem), 0);
	ck_assert(dc_remaining(dc, 1, l) == 0);
	/* expiry */
	t = dc_begin_fetch(dc);
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	usleep(250 * 1000);
	ck_assert_int_eq(dc_find(dc, 1, "f8", &st, &rem), 0);
	ck_assert(dc_remaining(dc, 1, l) == 0);
	dc_list_put(c);
	dc_list_put(l);
	dc_free(dc);
}
END_TEST

static int has(const struct dc_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ents[i].name, name))
			return 1;
	return 0;
}

START_TEST(test_dc_notifications_and_directories)
{
	struct dircache *dc = dc_new(16, 1000, 30);
	struct dc_ticket t = dc_begin_fetch(dc), t2;
	struct dc_list *l = listing(2, "f"), *got, *held;
	struct smb_stat st, dst;
	double rem = 0;

	memset(&st, 0, sizeof(st));
	st.attrs = FILE_ATTRIBUTE_DIRECTORY;
	st.ino = 77;
	ck_assert_int_eq(dc_store_new(dc, 1, &t, l), 1);
	dc_list_put(l);
	dc_begin_change(dc, 1);
	dc_note_add(dc, 1, "sub", &st);
	dc_end_change(dc, 1);
	/* a directory made here is found; a file or a missing name is not */
	ck_assert_int_eq(dc_find_dir(dc, 1, "sub", &dst, &rem), 1);
	ck_assert_uint_eq(dst.ino, 77);
	ck_assert(rem > 29 && rem <= 30);
	ck_assert_int_eq(dc_find_dir(dc, 1, "f0", &dst, NULL), 0);
	ck_assert_int_eq(dc_find_dir(dc, 1, "SUB", &dst, NULL), 0);
	ck_assert_int_eq(dc_find_dir(dc, 1, "none", &dst, NULL), 0);
	ck_assert_int_eq(dc_find_dir(dc, 2, "sub", &dst, NULL), 0);

	/* the server reports our own changes: the listing agrees, and stays */
	t2 = dc_begin_fetch(dc);
	held = dc_lookup(dc, 1, NULL);
	dc_notified(dc, 1, DC_NEWS_ADDED, "sub");
	dc_notified(dc, 1, DC_NEWS_REMOVED, "gone");
	dc_notified(dc, 1, DC_NEWS_MODIFIED, "f1");
	ck_assert_int_eq(dc_absent(dc, 1, "gone", NULL), DC_ABSENT);
	got = dc_lookup(dc, 1, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->n, 3);
	ck_assert(!got->ents[0].stale && got->ents[1].stale); /* f1's attributes moved */
	ck_assert(!held->ents[1].stale); /* a copy was edited, not the handle's */
	dc_list_put(got);
	dc_list_put(held);
	/* but a fetch begun before a notification is refused */
	l = listing(1, "x");
	ck_assert_int_eq(dc_store(dc, 1, &t2, l), 0);
	dc_list_put(l);
	/* news the listing does not have drop it */
	{
		static const struct {
			enum dc_news news;
			const char *name;
		} disagree[] = {{DC_NEWS_ADDED, "theirs"}, {DC_NEWS_REMOVED, "f0"},
				{DC_NEWS_MODIFIED, "other"}};
		for (size_t i = 0; i < sizeof(disagree) / sizeof(disagree[0]); i++) {
			t = dc_begin_fetch(dc);
			l = listing(2, "f");
			ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
			dc_list_put(l);
			dc_notified(dc, 1, disagree[i].news, disagree[i].name);
			ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
		}
	}
	/* a directory only from a listing this mount changes */
	t = dc_begin_fetch(dc);
	l = dc_list_new();
	ck_assert_int_eq(dc_list_add("d", &st, l), 0);
	ck_assert_int_eq(dc_store(dc, 3, &t, l), 1);
	dc_list_put(l);
	ck_assert_int_eq(dc_find_dir(dc, 3, "d", &dst, NULL), 0);
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_follows_local_changes)
{
	struct dircache *dc = dc_new(16, 1000, 30);
	struct dc_ticket t = dc_begin_fetch(dc);
	struct dc_list *l = listing(3, "f"), *got, *held;
	struct smb_stat st;
	double rem = 0;
	size_t ents;

	memset(&st, 0, sizeof(st));
	st.size = 42;
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 1);
	dc_list_put(l);
	/* only listed, not changed here: lookups still go to the server */
	ck_assert_int_eq(dc_absent(dc, 1, "new", NULL), DC_UNKNOWN);
	dc_begin_change(dc, 1);
	dc_note_add(dc, 1, "f0", &st);
	dc_end_change(dc, 1);
	/* a name not in a fresh listing is absent; one in it (any ASCII case) is not */
	ck_assert_int_eq(dc_absent(dc, 1, "new", &rem), DC_ABSENT);
	ck_assert(rem > 29 && rem <= 30);
	ck_assert_int_eq(dc_absent(dc, 1, "f1", NULL), DC_UNKNOWN);
	ck_assert_int_eq(dc_absent(dc, 1, "F1", NULL), DC_UNKNOWN);
	ck_assert_int_eq(dc_absent(dc, 1, "n\xc3\xa9", NULL), DC_UNKNOWN); /* not ASCII */
	ck_assert_int_eq(dc_absent(dc, 2, "new", NULL), DC_UNKNOWN);     /* no listing */

	/* an open directory handle holds the listing: an edit copies it */
	held = dc_lookup(dc, 1, NULL);
	ck_assert_ptr_nonnull(held);
	/* a create: not served during the change, edited by its note */
	t = dc_begin_fetch(dc);
	dc_begin_change(dc, 1);
	ck_assert_int_eq(dc_absent(dc, 1, "new", NULL), DC_UNKNOWN);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	dc_note_add(dc, 1, "new", &st);
	dc_end_change(dc, 1);
	ck_assert_int_eq(dc_absent(dc, 1, "new", NULL), DC_UNKNOWN);
	got = dc_lookup(dc, 1, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->n, 4);
	ck_assert(has(got, "new") && got->dot_stale);
	ck_assert_uint_eq(held->n, 3); /* the handle's copy did not move */
	ck_assert(!has(held, "new"));
	dc_list_put(got);
	dc_list_put(held);
	/* a fetch begun before the change is still refused */
	l = listing(1, "old");
	ck_assert_int_eq(dc_store(dc, 1, &t, l), 0);
	dc_list_put(l);
	ck_assert_uint_eq(dc_count(dc, &ents), 1);
	ck_assert_uint_eq(ents, 4);

	/* an unlink */
	dc_begin_change(dc, 1);
	dc_note_del(dc, 1, "f0");
	dc_end_change(dc, 1);
	ck_assert_int_eq(dc_absent(dc, 1, "f0", NULL), DC_ABSENT);
	dc_count(dc, &ents);
	ck_assert_uint_eq(ents, 3);

	/* a rename into another directory with a listing */
	t = dc_begin_fetch(dc);
	l = listing(1, "g");
	ck_assert_int_eq(dc_store_new(dc, 2, &t, l), 1);
	dc_list_put(l);
	dc_begin_change(dc, 1);
	dc_begin_change(dc, 2);
	dc_note_rename(dc, 1, "new", 2, "moved");
	dc_end_change(dc, 2);
	dc_end_change(dc, 1);
	ck_assert_int_eq(dc_absent(dc, 1, "new", NULL), DC_ABSENT);
	ck_assert_int_eq(dc_absent(dc, 2, "moved", NULL), DC_UNKNOWN);
	got = dc_lookup(dc, 2, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->n, 2);
	ck_assert_uint_eq(got->ents[1].st.size, 42); /* the moved entry's attributes */
	dc_list_put(got);
	/* a rename within one directory (two begins, two ends) */
	dc_begin_change(dc, 2);
	dc_begin_change(dc, 2);
	dc_note_rename(dc, 2, "moved", 2, "again");
	dc_end_change(dc, 2);
	dc_end_change(dc, 2);
	ck_assert_int_eq(dc_absent(dc, 2, "moved", NULL), DC_ABSENT);
	ck_assert_int_eq(dc_absent(dc, 2, "again", NULL), DC_UNKNOWN);
	ck_assert_ptr_nonnull((got = dc_lookup(dc, 2, NULL)));
	dc_list_put(got);

	/* a change that noted nothing (failed, outcome unknown) drops the listing */
	dc_begin_change(dc, 1);
	dc_end_change(dc, 1);
	ck_assert_ptr_null(dc_lookup(dc, 1, NULL));
	ck_assert_int_eq(dc_absent(dc, 1, "zzz", NULL), DC_UNKNOWN);
	/* so does an edit that cannot be exact: another case of a name, a name missing */
	dc_begin_change(dc, 2);
	dc_note_add(dc, 2, "AGAIN", &st);
	dc_end_change(dc, 2);
	ck_assert_ptr_null(dc_lookup(dc, 2, NULL));
	t = dc_begin_fetch(dc);
	l = listing(2, "h");
	ck_assert_int_eq(dc_store(dc, 2, &t, l), 1);
	dc_list_put(l);
	dc_begin_change(dc, 2);
	dc_note_del(dc, 2, "nothere");
	dc_end_change(dc, 2);
	ck_assert_ptr_null(dc_lookup(dc, 2, NULL));
	/* a notification (another client) drops an edited listing as any other */
	t = dc_begin_fetch(dc);
	l = listing(2, "h");
	ck_assert_int_eq(dc_store(dc, 2, &t, l), 1);
	dc_list_put(l);
	dc_begin_change(dc, 2);
	dc_note_add(dc, 2, "x", &st);
	dc_end_change(dc, 2);
	dc_inval(dc, 2);
	ck_assert_int_eq(dc_absent(dc, 2, "y", NULL), DC_UNKNOWN);
	dc_free(dc);
}
END_TEST

START_TEST(test_dc_new_dir_and_refetch)
{
	struct dircache *dc = dc_new(16, 1000, 0.1);
	struct dc_ticket t = dc_begin_fetch(dc);
	struct dc_list *l = listing(0, "");
	struct smb_stat st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(dc_list_add(".", &st, l), 0);
	ck_assert_int_eq(dc_list_add("..", &st, l), 0);
	ck_assert_int_eq(dc_store_new(dc, 5, &t, l), 1);
	dc_list_put(l);
	ck_assert_int_eq(dc_absent(dc, 5, "a", NULL), DC_ABSENT);
	usleep(150 * 1000);
	/* expired: not served (a getattr of the directory asks), not an answer,
	 * but worth fetching again (small, changed here) */
	ck_assert_ptr_null(dc_lookup(dc, 5, NULL));
	ck_assert_int_eq(dc_absent(dc, 5, "a", NULL), DC_REFETCH);
	t = dc_begin_fetch(dc);
	l = listing(1, "a");
	ck_assert_int_eq(dc_store(dc, 5, &t, l), 1);
	dc_list_put(l);
	ck_assert_int_eq(dc_absent(dc, 5, "a0", NULL), DC_UNKNOWN);
	ck_assert_int_eq(dc_absent(dc, 5, "b", NULL), DC_ABSENT); /* still changed here */
	/* an expired listing of a directory nobody changes here is just dropped */
	t = dc_begin_fetch(dc);
	l = listing(3, "c");
	ck_assert_int_eq(dc_store(dc, 6, &t, l), 1);
	dc_list_put(l);
	usleep(150 * 1000);
	ck_assert_int_eq(dc_absent(dc, 6, "x", NULL), DC_UNKNOWN);
	ck_assert_ptr_null(dc_lookup(dc, 6, NULL));
	dc_free(dc);
}
END_TEST

/* Many threads storing, looking up and changing at once (run under ASan/TSan). */
static struct dircache *shared_dc;

static void *dc_hammer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (int i = 0; i < 2000; i++) {
		uint64_t dir = (uint64_t)((i * 7 + id) % 40);
		if (i % 5 == 0) {
			dc_begin_change(shared_dc, dir);
			dc_end_change(shared_dc, dir);
		} else if (i % 2) {
			struct dc_ticket t = dc_begin_fetch(shared_dc);
			struct dc_list *l = listing(i % 17, "h");
			dc_store(shared_dc, dir, &t, l);
			dc_list_put(l);
		} else {
			struct dc_list *l = dc_lookup(shared_dc, dir, NULL);
			if (l) {
				for (size_t k = 0; k < l->n; k++)
					ck_assert_int_eq(l->ents[k].name[0], 'h');
				dc_list_put(l);
			}
		}
	}
	return NULL;
}

START_TEST(test_dc_threads)
{
	pthread_t th[4];
	size_t ents;
	shared_dc = dc_new(16, 100, 30);
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, dc_hammer, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_le(dc_count(shared_dc, &ents), 16);
	ck_assert_uint_le(ents, 100);
	dc_free(shared_dc);
}
END_TEST

/* ------------------------------------------------------------------ readahead */

struct reply {
	int called;
	int err;
	size_t len;
	int bad; /* data differed from the file */
	uint64_t off;
};

static void on_reply(void *ctx, int err, const struct iovec *iov, int iovcnt)
{
	struct reply *r = ctx;
	uint64_t pos = r->off;
	r->called++;
	r->err = err;
	r->len = 0;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		for (size_t j = 0; j < iov[i].iov_len; j++)
			if (p[j] != pattern(pos++))
				r->bad = 1;
		r->len += iov[i].iov_len;
	}
}

#define CH (64 * 1024)

/* Highest end offset of any READ queued. */
static uint64_t queued_end(void)
{
	uint64_t end = 0;
	pthread_mutex_lock(&io_lock);
	for (struct io *io = queue; io; io = io->next)
		if (io->off + io->len > end)
			end = io->off + io->len;
	pthread_mutex_unlock(&io_lock);
	return end;
}

START_TEST(test_ra_sequential_window_grows_to_limit)
{
	struct ra_budget budget = {.limit = 64 << 20};
	struct ra_file *f;
	uint64_t off = 0, max_ahead = 0, prev_ahead = 0;
	unsigned long issued, hits;
	int grew = 0;

	reset_io();
	f = ra_new(NULL, NULL, CH, 8 * CH, &budget);
	for (int i = 0; i < 40; i++) {
		struct reply r = {.off = off};
		uint64_t ahead;
		ra_read(f, off, CH, on_reply, &r);
		ahead = queued_end() > off + CH ? queued_end() - (off + CH) : 0;
		ck_assert_uint_le(ahead, 8 * CH); /* never past rasize */
		if (ahead > prev_ahead)
			grew++;
		if (ahead > max_ahead)
			max_ahead = ahead;
		prev_ahead = ahead;
		complete_all();
		ck_assert_int_eq(r.called, 1);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.len, CH);
		ck_assert(!r.bad);
		/* every READ is a whole aligned chunk */
		off += CH;
	}
	ck_assert_uint_eq(max_ahead, 8 * CH); /* reached the limit */
	ck_assert_int_ge(grew, 3);            /* 1, 2, 4, 8 chunks: a slow start */
	ra_stats(f, &issued, &hits);
	ck_assert_uint_ge(hits, 30); /* most reads found their data already there */
	ck_assert_uint_le(issued, 40 + 8);
	ck_assert_uint_le(budget.used, 9 * CH); /* chunks behind the reader were freed */
	ra_free(f);
	ck_assert_uint_eq(budget.used, 0);
	ck_assert_int_eq(bufs_live, 0);
}
END_TEST

START_TEST(test_ra_random_never_reads_ahead)
{
	static const uint64_t offs[] = {10 << 20, 3 << 20, 7 << 20, 1 << 20, 12 << 20, 5 << 20};
	struct ra_budget budget = {.limit = 64 << 20};
	struct ra_file *f;

	reset_io();
	f = ra_new(NULL, NULL, CH, 8 * CH, &budget);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct reply r = {.off = offs[i]};
		struct io *io;
		ra_read(f, offs[i], 4096, on_reply, &r);
		ck_assert_int_eq(queued(), 1);
		io = take();
		/* exactly the range asked for: no chunk, nothing ahead */
		ck_assert_uint_eq(io->off, offs[i]);
		ck_assert_uint_eq(io->len, 4096);
		complete(io, (ssize_t)io->len);
		ck_assert_int_eq(r.called, 1);
		ck_assert_uint_eq(r.len, 4096);
		ck_assert(!r.bad);
	}
	ck_assert_int_eq(submitted, 6);
	ck_assert_uint_eq(budget.used, 0);
	ra_free(f);
	ck_assert_int_eq(bufs_live, 0);
}
END_TEST

START_TEST(test_ra_seek_collapses_window)
{
	struct ra_budget budget = {.limit = 64 << 20};
	struct ra_file *f;
	struct io *io;

	reset_io();
	f = ra_new(NULL, NULL, CH, 8 * CH, &budget);
	for (uint64_t off = 0; off < 10 * CH; off += CH) {
		struct reply r = {.off = off};
		ra_read(f, off, CH, on_reply, &r);
		complete_all();
		ck_assert_int_eq(r.called, 1);
	}
	/* far away: one exact READ, the prefetched chunks are let go */
	{
		struct reply r = {.off = 100 * CH + 17};
		ra_read(f, 100 * CH + 17, 1000, on_reply, &r);
		ck_assert_int_eq(queued(), 1);
		io = take();
		ck_assert_uint_eq(io->off, 100 * CH + 17);
		ck_assert_uint_eq(io->len, 1000);
		complete(io, 1000);
		ck_assert_uint_eq(r.len, 1000);
		ck_assert(!r.bad);
	}
	ck_assert_uint_le(budget.used, 0);
	ra_free(f);
	ck_assert_int_eq(bufs_live, 0);
}
END_TEST

START_TEST(test_ra_eof_and_error)
{
	struct ra_budget budget = {.limit = 64 << 20};
	struct ra_file *f;
	struct io *io;

	reset_io();
	file_size = CH + 100;
	f = ra_new(NULL, NULL, CH, 8 * CH, &budget);
	{
		struct reply r = {.off = 0};
		ra_read(f, 0, CH, on_reply, &r);
		complete_all();
		ck_assert_uint_eq(r.len, CH);
	}
	{
		struct reply r = {.off = CH};
		ra_read(f, CH, CH, on_reply, &r);
		complete_all();
		ck_assert_int_eq(r.called, 1);
		ck_assert_uint_eq(r.len, 100); /* short at end of file */
		ck_assert(!r.bad);
	}
	{
		struct reply r = {.off = 2 * CH};
		ra_read(f, 2 * CH, CH, on_reply, &r);
		complete_all();
		ck_assert_int_eq(r.called, 1);
		ck_assert_uint_eq(r.len, 0); /* past it: empty */
	}
	ra_free(f);

	/* a failed READ reaches the reader as its errno */
	reset_io();
	f = ra_new(NULL, NULL, CH, 8 * CH, &budget);
	{
		struct reply r = {.off = 0};
		ra_read(f, 0, 4096, on_reply, &r);
		while ((io = take()))
			complete(io, io->off == 0 ? -EIO : (ssize_t)io->len);
		ck_assert_int_eq(r.called, 1);
		ck_assert_int_eq(r.err, -EIO);
	}
	/* a submit that fails at once too */
	{
		struct reply r = {.off = 50 * CH};
		submit_fail = -ENOTCONN;
		ra_read(f, 50 * CH, 4096, on_reply, &r);
		ck_assert_int_eq(r.called, 1);
		ck_assert_int_eq(r.err, -ENOTCONN);
	}
	complete_all();
	ra_free(f);
	ck_assert_uint_eq(budget.used, 0);
	ck_assert_int_eq(bufs_live, 0);
}
END_TEST

START_TEST(test_ra_drop_refetches)
{
	struct ra_budget budget = {.limit = 64 << 20};
	struct ra_file *f;
	unsigned long issued1, issued2, hits;

	reset_io();
	f = ra_new(NULL, NULL, CH, 4 * CH, &budget);
	for (uint64_t off = 0; off < 3 * CH; off += CH) {
		struct reply r = {.off = off};
		ra_read(f, off, CH, on_reply, &r);
		complete_all();
	}
	ra_stats(f, &issued1, &hits);
	ra_drop(f); /* the file changed: what was read ahead is stale */
	ck_assert_uint_eq(budget.used, 0);
	{
		struct reply r = {.off = 3 * CH};
		ra_read(f, 3 * CH, CH, on_reply, &r);
		ck_assert_int_eq(r.called, 0); /* not answered from the dropped chunk */
		complete_all();
		ck_assert_int_eq(r.called, 1);
		ck_assert(!r.bad);
	}
	ra_stats(f, &issued2, &hits);
	ck_assert_uint_gt(issued2, issued1);
	ra_free(f);
	ck_assert_int_eq(bufs_live, 0);
}
END_TEST

/* The prefetch budget shared by a mount's files bounds memory. */
START_TEST(test_ra_budget_bounds_prefetch)
{
	struct ra_budget budget = {.limit = 3 * CH};
	struct ra_file *f;

	reset_io();
	f = ra_new(NULL, NULL, CH, 16 * CH, &budget);
	for (uint64_t off = 0; off < 20 * CH; off += CH) {
		struct reply r = {.off = off};
		ra_read(f, off, CH, on_reply, &r);
		/* the chunk the reader needs may exceed the budget; prefetch may not */
		ck_assert_uint_le(budget.used, 4 * CH);
		complete_all();
		ck_assert_int_eq(r.called, 1);
		ck_assert(!r.bad);
	}
	ra_free(f);
	ck_assert_uint_eq(budget.used, 0);
}
END_TEST

/* ------------------------------------------------------------------ write-behind */

#define WS 4096

START_TEST(test_wb_coalesces_into_wsize)
{
	struct wb_file *w;
	uint8_t data[300];
	struct io *io;
	uint64_t off = 0;

	reset_io();
	w = wb_new(NULL, NULL, WS, 8 * WS);
	for (int i = 0; i < 40; i++) { /* 12000 bytes in 300-byte writes */
		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = pattern(off + j);
		ck_assert_int_eq(wb_write(w, off, data, sizeof(data)), sizeof(data));
		off += sizeof(data);
	}
	/* two full WRITEs of wsize are out; the rest waits in the buffer */
	ck_assert_int_eq(queued(), 2);
	ck_assert(!wb_idle(w));
	for (int k = 0; k < 2; k++) {
		io = take();
		ck_assert_uint_eq(io->off, (uint64_t)k * WS);
		ck_assert_uint_eq(io->len, WS);
		for (size_t j = 0; j < WS; j++)
			ck_assert_uint_eq(io->wdata[j], pattern(io->off + j));
		complete(io, WS);
	}
	/* a write elsewhere sends the buffered remainder first */
	ck_assert_int_eq(wb_write(w, 1 << 20, data, 10), 10);
	ck_assert_int_eq(queued(), 1);
	io = take();
	ck_assert_uint_eq(io->off, 2 * WS);
	ck_assert_uint_eq(io->len, 12000 - 2 * WS);
	for (size_t j = 0; j < io->len; j++)
		ck_assert_uint_eq(io->wdata[j], pattern(io->off + j));
	complete(io, (ssize_t)io->len);
	/* a big write goes out in wsize pieces */
	{
		uint8_t *big = calloc(1, 3 * WS);
		ck_assert_int_eq(wb_write(w, 2 << 20, big, 3 * WS), 3 * WS);
		free(big);
	}
	ck_assert_int_ge(queued(), 4); /* the 10 buffered bytes, then 3 x wsize */
	while ((io = take())) {
		ck_assert_uint_le(io->len, WS);
		complete(io, (ssize_t)io->len);
	}
	ck_assert_int_eq(wb_flush(w), 0);
	ck_assert(wb_idle(w));
	wb_free(w);
}
END_TEST

/* A loop thread: completes whatever is queued after a short delay. */
static volatile int responder_stop;
static volatile ssize_t responder_rc; /* 0: the full length */

static void *responder(void *arg)
{
	(void)arg;
	while (!responder_stop) {
		struct io *io = take();
		if (!io) {
			usleep(2000);
			continue;
		}
		usleep(1000);
		complete(io, responder_rc ? responder_rc : (ssize_t)io->len);
	}
	return NULL;
}

/* wb_flush with a loop thread answering the WRITEs it sends. */
static int flush_answered(struct wb_file *w)
{
	pthread_t th;
	int rc;
	responder_stop = 0;
	responder_rc = 0;
	pthread_create(&th, NULL, responder, NULL);
	rc = wb_flush(w);
	responder_stop = 1;
	pthread_join(th, NULL);
	return rc;
}

struct writer {
	struct wb_file *w;
	int n;
	ssize_t rc;
	volatile int done;
};

static void *writer_thread(void *arg)
{
	struct writer *wr = arg;
	static uint8_t blk[WS];
	wr->rc = 0;
	for (int i = 0; i < wr->n && wr->rc >= 0; i++)
		wr->rc = wb_write(wr->w, (uint64_t)i * WS, blk, WS);
	wr->done = 1;
	return NULL;
}

/* A lender counting the WRITEs that hold its buffer. */
static int lent_refs;
static void lent_get(void *o)
{
	(void)o;
	__atomic_add_fetch(&lent_refs, 1, __ATOMIC_RELAXED);
}
static void lent_put(void *o)
{
	(void)o;
	__atomic_sub_fetch(&lent_refs, 1, __ATOMIC_RELAXED);
}

START_TEST(test_wb_lent_whole_pieces)
{
	struct smbc_lend lend = {.get = lent_get, .put = lent_put, .owner = &lent_refs};
	uint8_t *big = malloc(2 * WS + 10);
	struct wb_file *w;
	struct io *io;
	int n_lent = 0;

	reset_io();
	lent_refs = 0;
	for (size_t j = 0; j < 2 * WS + 10; j++)
		big[j] = pattern(j);
	w = wb_new(NULL, NULL, WS, 8 * WS);
	/* two whole pieces hold the buffer itself; the 10-byte tail is copied */
	ck_assert_int_eq(wb_write_lent(w, 0, big, 2 * WS + 10, &lend), 2 * WS + 10);
	ck_assert_int_eq(lent_refs, 2);
	ck_assert_int_eq(queued(), 2);
	for (int k = 0; k < 2; k++) {
		io = take();
		ck_assert_ptr_eq(io->wdata, big + (size_t)k * WS);
		complete(io, WS);
	}
	ck_assert_int_eq(lent_refs, 0); /* let go once the WRITEs completed */
	/* behind buffered bytes nothing is lent: the data is coalesced (copied) */
	ck_assert_int_eq(wb_write_lent(w, 2 * WS + 10, big, WS, &lend), WS);
	ck_assert_int_eq(lent_refs, 0);
	/* a failed WRITE lets go too, and its error is latched */
	ck_assert_int_eq(flush_answered(w), 0);
	ck_assert_int_eq(wb_write_lent(w, 8 * WS, big, WS, &lend), WS);
	ck_assert_int_eq(lent_refs, 1);
	while ((io = take())) {
		n_lent += io->lend.owner != NULL;
		complete(io, -EIO);
	}
	ck_assert_int_eq(n_lent, 1);
	ck_assert_int_eq(lent_refs, 0);
	ck_assert_int_eq(wb_flush(w), -EIO);
	wb_free(w);
	free(big);
}
END_TEST

START_TEST(test_wb_inflight_bound)
{
	struct writer wr;
	pthread_t th;

	reset_io();
	wr.w = wb_new(NULL, NULL, WS, 3 * WS);
	wr.n = 10;
	wr.done = 0;
	pthread_create(&th, NULL, writer_thread, &wr);
	usleep(150 * 1000);
	/* the writer is blocked: three WRITEs out and no more */
	ck_assert_int_eq(queued(), 3);
	ck_assert(!wr.done);
	/* as WRITEs complete it proceeds, never past the bound */
	for (int i = 0; i < 200 && !wr.done; i++) {
		struct io *io = take();
		if (io)
			complete(io, (ssize_t)io->len);
		usleep(2000);
		ck_assert_int_le(queued(), 3);
	}
	complete_all();
	pthread_join(th, NULL);
	ck_assert(wr.done);
	ck_assert_int_eq(wr.rc, WS);
	ck_assert_int_eq(submitted, 10);
	ck_assert_int_le(max_queued, 3);
	ck_assert_int_eq(wb_flush(wr.w), 0);
	wb_free(wr.w);
}
END_TEST

START_TEST(test_wb_error_latched_next_write)
{
	struct wb_file *w;
	uint8_t blk[WS] = {0};
	struct io *io;

	reset_io();
	w = wb_new(NULL, NULL, WS, 8 * WS);
	ck_assert_int_eq(wb_write(w, 0, blk, WS), WS); /* accepted, sent in the background */
	io = take();
	ck_assert_ptr_nonnull(io);
	complete(io, -ENOSPC);
	/* the next write reports it, once */
	ck_assert_int_eq(wb_write(w, WS, blk, 10), -ENOSPC);
	ck_assert_int_eq(wb_write(w, WS, blk, 10), 10);
	ck_assert_int_eq(flush_answered(w), 0);
	wb_free(w);
}
END_TEST

START_TEST(test_wb_error_latched_flush)
{
	struct wb_file *w;
	uint8_t blk[100] = {0};
	pthread_t th;

	/* buffered bytes whose WRITE fails: fsync/close (wb_flush) returns the error */
	reset_io();
	responder_stop = 0;
	responder_rc = -EIO;
	pthread_create(&th, NULL, responder, NULL);
	w = wb_new(NULL, NULL, WS, 8 * WS);
	ck_assert_int_eq(wb_write(w, 0, blk, sizeof(blk)), sizeof(blk));
	ck_assert_int_eq(wb_flush(w), -EIO);
	ck_assert_int_eq(wb_flush(w), 0); /* reported once */
	ck_assert(wb_idle(w));

	/* a short WRITE cannot be passed off as success */
	responder_rc = 50;
	ck_assert_int_eq(wb_write(w, 0, blk, sizeof(blk)), sizeof(blk));
	ck_assert_int_eq(wb_flush(w), -EIO);

	/* success after all */
	responder_rc = 0;
	ck_assert_int_eq(wb_write(w, 0, blk, sizeof(blk)), sizeof(blk));
	ck_assert_int_eq(wb_flush(w), 0);
	responder_stop = 1;
	pthread_join(th, NULL);
	wb_free(w);
}
END_TEST

START_TEST(test_wb_submit_failure)
{
	struct wb_file *w;
	uint8_t blk[WS] = {0};

	reset_io();
	w = wb_new(NULL, NULL, WS, 8 * WS);
	submit_fail = -ENOTCONN;
	ck_assert_int_eq(wb_write(w, 0, blk, WS), -ENOTCONN); /* a whole piece: at once */
	ck_assert_int_eq(wb_write(w, 0, blk, 10), 10);
	submit_fail = -ENOTCONN;
	ck_assert_int_eq(wb_flush(w), -ENOTCONN); /* the buffered 10 bytes could not go */
	ck_assert_int_eq(flush_answered(w), 0); /* retried: sent now */
	ck_assert_int_eq(submitted, 1);
	wb_free(w);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tn = tcase_create("negcache");
	TCase *td = tcase_create("dircache");
	TCase *tr = tcase_create("readahead");
	TCase *tw = tcase_create("writeback");

	tcase_add_test(tn, test_neg_hit_and_del);
	tcase_add_test(tn, test_neg_disabled);
	tcase_add_test(tn, test_neg_expiry);
	tcase_add_test(tn, test_neg_bound_evicts_oldest);
	tcase_add_test(tn, test_neg_write_counter);
	tcase_add_test(tn, test_neg_inval_dir);
	tcase_add_test(td, test_dc_store_lookup_expiry);
	tcase_add_test(td, test_dc_disabled);
	tcase_add_test(td, test_dc_restart_empties);
	tcase_add_test(td, test_dc_bounds_lru);
	tcase_add_test(td, test_dc_write_counter);
	tcase_add_test(td, test_dc_attr_trust_and_watch);
	tcase_add_test(td, test_dc_find_and_modify_counter);
	tcase_add_test(td, test_dc_threads);
	tcase_add_test(td, test_dc_follows_local_changes);
	tcase_add_test(td, test_dc_notifications_and_directories);
	tcase_add_test(td, test_dc_new_dir_and_refetch);
	tcase_add_test(tr, test_ra_sequential_window_grows_to_limit);
	tcase_add_test(tr, test_ra_random_never_reads_ahead);
	tcase_add_test(tr, test_ra_seek_collapses_window);
	tcase_add_test(tr, test_ra_eof_and_error);
	tcase_add_test(tr, test_ra_drop_refetches);
	tcase_add_test(tr, test_ra_budget_bounds_prefetch);
	tcase_add_test(tw, test_wb_coalesces_into_wsize);
	tcase_add_test(tw, test_wb_inflight_bound);
	tcase_add_test(tw, test_wb_lent_whole_pieces);
	tcase_add_test(tw, test_wb_error_latched_next_write);
	tcase_add_test(tw, test_wb_error_latched_flush);
	tcase_add_test(tw, test_wb_submit_failure);
	suite_add_tcase(s, tn);
	suite_add_tcase(s, td);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
