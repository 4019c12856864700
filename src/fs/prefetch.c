/*
 * prefetch.c - see prefetch.h.
 *
 * A ring of (parent, ino) jobs and PF_WORKERS threads, all under pf->lock.
 * Each worker takes a job, notes the directory it works on in busy[] (so
 * opendir can wait for it instead of asking again, and so it is not queued
 * twice), fetches and stores without the lock, and broadcasts when done.
 * Inode numbers are never reused (src/fs/inode.c), so a job whose inode was
 * forgotten meanwhile only fails to find its path.
 */
#include "fs/prefetch.h"

#include "fs/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define PF_WORKERS 8
#define PF_QUEUE 256
/* opendir waits this long at most for a prefetch of its directory in flight */
#define PF_CLAIM_WAIT_NS 2000000000ll

struct pf_job {
	fuse_ino_t parent, ino; /* ino 0: claimed by opendir, skip */
};

struct prefetch {
	pthread_mutex_t lock;
	pthread_cond_t work; /* jobs queued, or stop */
	pthread_cond_t done; /* a fetch ended */
	struct pf_job q[PF_QUEUE];
	size_t head, n;
	fuse_ino_t busy[PF_WORKERS]; /* in flight, 0: idle */
	pthread_t thr[PF_WORKERS];
	size_t nthr;
	int stop;
	volatile int cancel; /* the workers' cancel flag (smbc_set_cancel): set at stop */
	unsigned long kept;
};

/* Fetch job's listing and keep it. Returns 1 if kept. */
static int pf_fetch(struct smbfs *fs, const struct pf_job *job)
{
	char path[PATH_CAP], again[PATH_CAP];
	struct dc_list *l = dc_lookup(fs->dc, job->ino, NULL);
	struct dc_ticket t;
	int rc, kept = 0;

	if (l) { /* fresh already (opendir, or queued twice) */
		dc_list_put(l);
		return 0;
	}
	if (dc_changing(fs->dc, job->ino))
		return 0;
	t = dc_begin_fetch(fs->dc);
	if (ino_path(fs, job->ino, NULL, path, sizeof(path)))
		return 0; /* forgotten, unlinked */
	l = dc_list_new();
	if (!l)
		return 0;
	l->epoch = t.epoch;
	rc = dir_list_one_trip(fs, path, l);
	/*
	 * The listing was fetched by path, and is kept by inode: a rename in the
	 * parent meanwhile (a change to it since the ticket) may have put another
	 * directory at that path. Renames elsewhere move whole subtrees, so the
	 * path is compared too.
	 */
	if (!rc && !dc_changed_since(fs->dc, job->parent, &t) &&
	    !ino_path(fs, job->ino, NULL, again, sizeof(again)) && !strcmp(path, again))
		kept = dc_store(fs->dc, job->ino, &t, l);
	else if (rc && rc != -EFBIG)
		LOG_DBG("prefetch of a listing failed (%d)", rc);
	dc_list_put(l);
	return kept;
}

static void *pf_worker(void *arg)
{
	struct smbfs *fs = arg;
	struct prefetch *pf = fs->pf;
	size_t me;

	/* a fetch waiting for a lost server gives up at stop (hard mounts wait
	 * for a reconnect forever otherwise, and the unmount would wait too) */
	smbc_set_cancel(&pf->cancel);

	pthread_mutex_lock(&pf->lock);
	for (me = 0; me < PF_WORKERS && !pthread_equal(pf->thr[me], pthread_self()); me++)
		;
	for (;;) {
		struct pf_job job;
		while (!pf->stop && !pf->n)
			pthread_cond_wait(&pf->work, &pf->lock);
		if (pf->stop)
			break;
		job = pf->q[pf->head];
		pf->head = (pf->head + 1) % PF_QUEUE;
		pf->n--;
		if (!job.ino)
			continue;
		if (me < PF_WORKERS)
			pf->busy[me] = job.ino;
		pthread_mutex_unlock(&pf->lock);
		int kept = pf_fetch(fs, &job);
		pthread_mutex_lock(&pf->lock);
		if (me < PF_WORKERS)
			pf->busy[me] = 0;
		pf->kept += (unsigned long)kept;
		pthread_cond_broadcast(&pf->done);
	}
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

int pf_start(struct smbfs *fs)
{
	struct prefetch *pf;
	pthread_condattr_t ca;
	int rc = 0;

	if (!fs->dc || fs->p.nodirprefetch)
		return 0; /* listings are not kept (nothing to fetch them into), or asked not to */
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pthread_mutex_init(&pf->lock, NULL);
	pthread_cond_init(&pf->work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pf->done, &ca);
	pthread_condattr_destroy(&ca);
	fs->pf = pf;
	/* thr[] is written under the lock, so each worker finds its own slot */
	pthread_mutex_lock(&pf->lock);
	for (; pf->nthr < PF_WORKERS; pf->nthr++) {
		rc = -pthread_create(&pf->thr[pf->nthr], NULL, pf_worker, fs);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&pf->lock);
	if (!pf->nthr) {
		pf_stop(fs);
		return rc;
	}
	return 0;
}

void pf_stop(struct smbfs *fs)
{
	struct prefetch *pf = fs->pf;
	if (!pf)
		return;
	pthread_mutex_lock(&pf->lock);
	pf->stop = 1;
	pf->cancel = 1;
	pf->n = 0;
	pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->lock);
	/* a fetch in flight ends within its request's deadline */
	for (size_t i = 0; i < pf->nthr; i++)
		pthread_join(pf->thr[i], NULL);
	fs->pf = NULL;
	pthread_cond_destroy(&pf->done);
	pthread_cond_destroy(&pf->work);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}

/* Lock held. Is ino queued or in flight? */
static int pending(const struct prefetch *pf, fuse_ino_t ino, size_t *at)
{
	for (size_t i = 0; i < pf->n; i++) {
		size_t k = (pf->head + i) % PF_QUEUE;
		if (pf->q[k].ino == ino) {
			if (at)
				*at = k;
			return 1;
		}
	}
	for (size_t i = 0; i < PF_WORKERS; i++)
		if (pf->busy[i] == ino)
			return 2;
	return 0;
}

void pf_dir(struct smbfs *fs, fuse_ino_t parent, fuse_ino_t ino)
{
	struct prefetch *pf = fs->pf;
	if (!pf)
		return;
	pthread_mutex_lock(&pf->lock);
	if (!pf->stop && pf->n < PF_QUEUE && !pending(pf, ino, NULL)) {
		pf->q[(pf->head + pf->n) % PF_QUEUE] = (struct pf_job){parent, ino};
		pf->n++;
		pthread_cond_signal(&pf->work);
	}
	pthread_mutex_unlock(&pf->lock);
}

int pf_claim(struct smbfs *fs, fuse_ino_t ino)
{
	struct prefetch *pf = fs->pf;
	struct timespec dl;
	size_t at;
	int waited = 0;

	if (!pf)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += PF_CLAIM_WAIT_NS / 1000000000ll;
	pthread_mutex_lock(&pf->lock);
	for (;;) {
		int p = pending(pf, ino, &at);
		if (p == 1)
			pf->q[at].ino = 0; /* the caller fetches it now */
		if (p != 2 || pf->stop)
			break;
		waited = 1;
		if (pthread_cond_timedwait(&pf->done, &pf->lock, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pf->lock);
	return waited;
}

unsigned long pf_stats(struct smbfs *fs, unsigned long *busy)
{
	struct prefetch *pf = fs->pf;
	unsigned long kept;

	*busy = 0;
	if (!pf)
		return 0;
	pthread_mutex_lock(&pf->lock);
	kept = pf->kept;
	for (size_t i = 0; i < pf->n; i++)
		*busy += pf->q[(pf->head + i) % PF_QUEUE].ino != 0;
	for (size_t i = 0; i < PF_WORKERS; i++)
		*busy += pf->busy[i] != 0;
	pthread_mutex_unlock(&pf->lock);
	return kept;
}
