/*
 * notify.c - see notify.h.
 */
#include "fs/notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache/readahead.h"
#include "cache/writeback.h"
#include "fs/internal.h"
#include "log.h"
#include "wire/smb2.h"

struct lease_event {
	struct lease_event *next;
	uint8_t key[16];
	uint32_t new_state;
	int ack;
};

struct notifier {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct lease_event *head, *tail; /* protected by lock */
	int stop;                        /* protected by lock */
	pthread_t thread;
};

int notify_lease_break(void *arg, const uint8_t key[16], uint32_t new_state, int ack_required)
{
	struct smbfs *fs = arg;
	struct notifier *n = fs->notifier;
	struct lease_event *ev;

	if (!n || !(ev = calloc(1, sizeof(*ev))))
		return -1; /* the client acknowledges by itself */
	memcpy(ev->key, key, 16);
	ev->new_state = new_state;
	ev->ack = ack_required;
	pthread_mutex_lock(&n->lock);
	if (n->stop) {
		pthread_mutex_unlock(&n->lock);
		free(ev);
		return -1;
	}
	if (n->tail)
		n->tail->next = ev;
	else
		n->head = ev;
	n->tail = ev;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static void handle(struct smbfs *fs, struct lease_event *ev)
{
	struct smbfs_file *list[64];
	fuse_ino_t inval[64];
	int n = 0, ninval = 0;

	defer_lease_break(fs, ev->key, ev->new_state); /* kept handles go first */

	pthread_mutex_lock(&fs->files_lock);
	for (struct smbfs_file *f = fs->files; f && n < 64; f = f->next) {
		if (memcmp(f->lease_key, ev->key, 16) == 0) {
			f->users++;
			list[n++] = f;
		}
	}
	pthread_mutex_unlock(&fs->files_lock);

	for (int i = 0; i < n; i++) {
		struct smbfs_file *f = list[i];
		int dup = 0;
		/* the new state first: a chmod racing with the flush below must go
		 * to the server, not into the local attributes (pending.c) */
		smbc_file_set_lease(f->file, ev->new_state);
		if (!(ev->new_state & SMB2_LEASE_WRITE_CACHING) && f->wb) {
			int rc = wb_flush(f->wb);
			if (!rc)
				rc = pend_flush(fs, f); /* and the times/attributes kept locally */
			if (rc)
				LOG_WARN("flushing before a lease break failed: %s", strerror(-rc));
		}
		if (!(ev->new_state & SMB2_LEASE_READ_CACHING)) {
			if (f->ra)
				ra_drop(f->ra);
			for (int k = 0; k < ninval; k++)
				dup |= inval[k] == f->ino;
			if (!dup && ninval < 64)
				inval[ninval++] = f->ino;
		}
	}
	pthread_mutex_lock(&fs->files_lock);
	for (int i = 0; i < n; i++)
		list[i]->users--;
	pthread_cond_broadcast(&fs->files_cond);
	pthread_mutex_unlock(&fs->files_lock);

	/* Another client may change the file now: the kernel must read it again. */
	for (int k = 0; k < ninval; k++)
		if (fs->se)
			fuse_lowlevel_notify_inval_inode(fs->se, inval[k], 0, 0);
	if (ev->ack) {
		int rc = smbc_lease_ack(fs->client, ev->key, ev->new_state);
		if (rc)
			LOG_WARN("lease break acknowledgment failed: %s", strerror(-rc));
	}
	LOG_DBG("lease break to 0x%x handled (%d open files)", ev->new_state, n);
}

static void *notify_thread(void *arg)
{
	struct smbfs *fs = arg;
	struct notifier *n = fs->notifier;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct lease_event *ev;
		while (!n->head && !n->stop)
			pthread_cond_wait(&n->cond, &n->lock);
		if (!n->head && n->stop)
			break;
		ev = n->head;
		n->head = ev->next;
		if (!n->head)
			n->tail = NULL;
		pthread_mutex_unlock(&n->lock);
		handle(fs, ev);
		free(ev);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int notify_start(struct smbfs *fs)
{
	struct notifier *n = calloc(1, sizeof(*n));
	int rc;
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	fs->notifier = n;
	rc = pthread_create(&n->thread, NULL, notify_thread, fs);
	if (rc) {
		fs->notifier = NULL;
		free(n);
		return -rc;
	}
	smbc_set_lease_handler(fs->client, notify_lease_break, fs);
	return 0;
}

void notify_stop(struct smbfs *fs)
{
	struct notifier *n = fs->notifier;
	if (!n)
		return;
	smbc_set_lease_handler(fs->client, NULL, NULL);
	pthread_mutex_lock(&n->lock);
	n->stop = 1;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	fs->notifier = NULL;
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}
