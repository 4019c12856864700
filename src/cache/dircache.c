/*
 * dircache.c - see dircache.h.
 *
 * Listings live in a chained hash by directory and on an LRU list (most
 * recently used at the head). Write counters and changes in progress are
 * kept per slot of a fixed table indexed by a hash of the directory, so they
 * outlive the listing (a change to a directory with no listing still fences
 * a fetch in flight); two directories sharing a slot only cost each other a
 * refused store. All under dc->lock.
 */
#include "cache/dircache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/smb2.h"

#define BUCKETS 1024
#define SLOTS 1024
#define MAX_WATCHED 1024
/* A listing at most this long fits one QUERY_DIRECTORY response (64 KiB of
 * FileIdBothDirectoryInformation with short names): fetching it again costs
 * one round trip, like the lookup it answers. */
#define REFETCH_MAX 400

struct dnode {
	uint64_t dir;
	struct dc_list *l;
	int64_t expires_ns;
	int watched; /* stored while a CHANGE_NOTIFY was outstanding on dir */
	int edited;  /* this mount changes entries of dir (made or edited it) */
	struct dnode *hnext;
	struct dnode *prev, *next; /* LRU: head is the most recent */
};

struct dircache {
	pthread_mutex_t lock;
	struct dnode *bucket[BUCKETS];
	struct dnode *head, *tail;
	size_t ndirs, nents, max_dirs, max_entries;
	int64_t ttl_ns;
	uint64_t gen;             /* bumped by every change */
	uint64_t slot_gen[SLOTS]; /* gen of the last change to a directory of the slot */
	unsigned slot_busy[SLOTS];
	uint64_t epoch; /* forgets */
	uint64_t mgen;  /* local modifications (dc_note_modify) */
	uint64_t watched[MAX_WATCHED];
	size_t nwatched;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static unsigned mix(uint64_t dir)
{
	dir ^= dir >> 33;
	dir *= 0xff51afd7ed558ccdull;
	dir ^= dir >> 33;
	return (unsigned)dir;
}

/* ------------------------------------------------------------------ listings */

struct dc_list *dc_list_new(void)
{
	struct dc_list *l = calloc(1, sizeof(*l));
	if (l)
		l->refs = 1;
	return l;
}

/* The name index goes with any change to the entries. */
static void idx_drop(struct dc_list *l)
{
	free(l->idx);
	l->idx = NULL;
	l->idx_cap = 0;
}

static void list_empty(struct dc_list *l)
{
	idx_drop(l);
	for (size_t i = 0; i < l->n; i++)
		free(l->ents[i].name);
	l->n = 0;
}

int dc_list_add(const char *name, const struct smb_stat *st, void *arg)
{
	struct dc_list *l = arg;
	if (!name) {
		list_empty(l);
		return 0;
	}
	idx_drop(l);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct dc_ent *ne = realloc(l->ents, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->ents = ne;
		l->cap = nc;
	}
	l->ents[l->n].name = strdup(name);
	if (!l->ents[l->n].name)
		return -ENOMEM;
	l->ents[l->n].st = *st;
	l->ents[l->n].stale = 0;
	l->n++;
	return 0;
}

struct dc_list *dc_list_get(struct dc_list *l)
{
	__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

void dc_list_put(struct dc_list *l)
{
	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	list_empty(l);
	free(l->ents);
	free(l);
}

/* ------------------------------------------------------------------ the cache */

struct dircache *dc_new(size_t max_dirs, size_t max_entries, double ttl)
{
	struct dircache *dc;
	if (ttl <= 0 || !max_dirs || !max_entries)
		return NULL;
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return NULL;
	pthread_mutex_init(&dc->lock, NULL);
	dc->max_dirs = max_dirs;
	dc->max_entries = max_entries;
	dc->ttl_ns = (int64_t)(ttl * 1e9);
	return dc;
}

static struct dnode *find(struct dircache *dc, uint64_t dir)
{
	for (struct dnode *d = dc->bucket[mix(dir) % BUCKETS]; d; d = d->hnext)
		if (d->dir == dir)
			return d;
	return NULL;
}

static void lru_unlink(struct dircache *dc, struct dnode *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		dc->head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		dc->tail = d->prev;
	d->prev = d->next = NULL;
}

static void lru_front(struct dircache *dc, struct dnode *d)
{
	d->next = dc->head;
	d->prev = NULL;
	if (dc->head)
		dc->head->prev = d;
	else
		dc->tail = d;
	dc->head = d;
}

static void drop(struct dircache *dc, struct dnode *d)
{
	struct dnode **pp = &dc->bucket[mix(d->dir) % BUCKETS];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == d) {
			*pp = d->hnext;
			break;
		}
	}
	lru_unlink(dc, d);
	dc->ndirs--;
	dc->nents -= d->l->n;
	dc_list_put(d->l); /* open directory handles may keep it a while longer */
	free(d);
}

static int is_watched(const struct dircache *dc, uint64_t dir)
{
	for (size_t i = 0; i < dc->nwatched; i++)
		if (dc->watched[i] == dir)
			return 1;
	return 0;
}

struct dc_ticket dc_begin_fetch(struct dircache *dc)
{
	struct dc_ticket t = {0, 0, 0};
	if (!dc)
		return t;
	pthread_mutex_lock(&dc->lock);
	t.gen = dc->gen;
	t.epoch = __atomic_load_n(&dc->epoch, __ATOMIC_RELAXED);
	t.mgen = __atomic_load_n(&dc->mgen, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&dc->lock);
	return t;
}

static int store(struct dircache *dc, uint64_t dir, const struct dc_ticket *t, struct dc_list *l,
		 int edited)
{
	unsigned s = mix(dir) % SLOTS;
	struct dnode *d;
	int kept = 0;

	if (!dc || !l || l->n > dc->max_entries)
		return 0;
	pthread_mutex_lock(&dc->lock);
	if (dc->slot_gen[s] > t->gen || dc->slot_busy[s])
		goto out; /* changed since the fetch began, or changing now */
	d = find(dc, dir);
	if (d) {
		edited |= d->edited;
		drop(dc, d);
	}
	while (dc->tail && (dc->ndirs >= dc->max_dirs || dc->nents + l->n > dc->max_entries))
		drop(dc, dc->tail);
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	d->dir = dir;
	l->epoch = t->epoch;
	l->mgen = t->mgen;
	d->l = dc_list_get(l);
	d->expires_ns = mono_ns() + dc->ttl_ns;
	d->watched = is_watched(dc, dir);
	d->edited = edited;
	d->hnext = dc->bucket[mix(dir) % BUCKETS];
	dc->bucket[mix(dir) % BUCKETS] = d;
	lru_front(dc, d);
	dc->ndirs++;
	dc->nents += l->n;
	kept = 1;
out:
	pthread_mutex_unlock(&dc->lock);
	return kept;
}

int dc_store(struct dircache *dc, uint64_t dir, const struct dc_ticket *t, struct dc_list *l)
{
	return store(dc, dir, t, l, 0);
}

int dc_store_new(struct dircache *dc, uint64_t dir, const struct dc_ticket *t, struct dc_list *l)
{
	return store(dc, dir, t, l, 1);
}

/* fresh()'s answer for an expired listing kept for its refetch mark. */
static struct dnode expired_mark;
#define EXPIRED (&expired_mark)

/*
 * Lock held. dir's listing if it may be served (*remaining, if not NULL,
 * gets how long); NULL if there is none, a change is in progress or it
 * expired (then dropped); EXPIRED if it expired but is kept for a refetch
 * (edited by local changes and small: dc_absent's DC_REFETCH).
 */
static struct dnode *fresh(struct dircache *dc, uint64_t dir, double *remaining)
{
	struct dnode *d = find(dc, dir);
	int64_t now = mono_ns();

	if (!d || dc->slot_busy[mix(dir) % SLOTS])
		return NULL;
	if (d->watched && is_watched(dc, dir)) {
		if (remaining)
			*remaining = (double)dc->ttl_ns / 1e9;
	} else if (d->expires_ns <= now) {
		if (d->edited && d->l->n <= REFETCH_MAX)
			return EXPIRED;
		drop(dc, d);
		return NULL;
	} else if (remaining) {
		*remaining = (double)(d->expires_ns - now) / 1e9;
	}
	return d;
}

struct dc_list *dc_lookup(struct dircache *dc, uint64_t dir, double *remaining)
{
	struct dc_list *l = NULL;
	struct dnode *d;

	if (!dc)
		return NULL;
	pthread_mutex_lock(&dc->lock);
	d = fresh(dc, dir, remaining);
	if (!d || d == EXPIRED)
		goto out;
	lru_unlink(dc, d);
	lru_front(dc, d);
	l = dc_list_get(d->l);
out:
	pthread_mutex_unlock(&dc->lock);
	return l;
}

/* Lock held. */
static void changed(struct dircache *dc, uint64_t dir)
{
	struct dnode *d = find(dc, dir);
	if (d)
		drop(dc, d);
	dc->slot_gen[mix(dir) % SLOTS] = ++dc->gen;
}

/*
 * Directories whose change's outcome this thread noted since its
 * dc_begin_change (a rename notes two). A change runs on one FUSE worker
 * thread from begin to end.
 */
#define MAX_NOTED 4
static __thread uint64_t noted[MAX_NOTED];
static __thread unsigned nnoted;

/* Once per change (a rename within one directory notes it twice: two ends). */
static void note(uint64_t dir)
{
	if (nnoted < MAX_NOTED)
		noted[nnoted++] = dir;
}

/* Was dir noted? Forgets it. */
static int take_note(uint64_t dir)
{
	for (unsigned i = 0; i < nnoted; i++) {
		if (noted[i] == dir) {
			noted[i] = noted[--nnoted];
			return 1;
		}
	}
	return 0;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static int ascii_fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int same_folded(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_fold((unsigned char)*a) != ascii_fold((unsigned char)*b))
			return 0;
	return *a == *b;
}

/*
 * The listing of d, ready to be edited: d's own when only the cache holds
 * it, else a private copy put in its place (open directory handles keep
 * theirs). NULL when out of memory. Lock held.
 */
static struct dc_list *editable(struct dnode *d)
{
	struct dc_list *l = d->l, *c;
	if (__atomic_load_n(&l->refs, __ATOMIC_ACQUIRE) == 1)
		return l;
	c = dc_list_new();
	if (!c)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (dc_list_add(l->ents[i].name, &l->ents[i].st, c)) {
			dc_list_put(c);
			return NULL;
		}
		c->ents[i].stale = l->ents[i].stale;
	}
	c->epoch = l->epoch;
	c->mgen = l->mgen;
	c->dot_stale = l->dot_stale;
	dc_list_put(l);
	d->l = c;
	return c;
}

/*
 * Where name is in l: its index, -1 when no entry can be name, -2 when one
 * might be but is not exactly (another case of it, or a name we cannot
 * compare). Lock held.
 */
static long where(const struct dc_list *l, const char *name)
{
	int ascii = is_ascii(name);
	long at = -1;
	for (size_t i = 0; i < l->n; i++) {
		const char *e = l->ents[i].name;
		if (!strcmp(e, name))
			at = (long)i;
		else if (!ascii || same_folded(e, name))
			return -2;
	}
	return at;
}

/* Apply "name exists with st" to dir's listing, or drop it. Lock held. */
static void edit_add(struct dircache *dc, uint64_t dir, const char *name,
		     const struct smb_stat *st)
{
	struct dnode *d = find(dc, dir);
	struct dc_list *l;
	long at;

	if (!d)
		return;
	at = where(d->l, name);
	if (at == -2 || (at == -1 && dc->nents + 1 > dc->max_entries) || !(l = editable(d))) {
		drop(dc, d);
		return;
	}
	if (at >= 0) {
		l->ents[at].st = *st;
	} else {
		idx_drop(l);
		if (dc_list_add(name, st, l)) {
			drop(dc, d);
			return;
		}
		dc->nents++;
	}
	l->dot_stale = 1;
	d->edited = 1;
}

/* Apply "name is gone" to dir's listing (its entry into *st if asked), or drop it. Lock held. */
static int edit_del(struct dircache *dc, uint64_t dir, const char *name, struct smb_stat *st)
{
	struct dnode *d = find(dc, dir);
	struct dc_list *l;
	long at;

	if (!d)
		return -1;
	at = where(d->l, name);
	if (at < 0 || !(l = editable(d))) {
		drop(dc, d); /* not there (or not exactly): the listing was not current */
		return -1;
	}
	if (st)
		*st = l->ents[at].st;
	idx_drop(l);
	free(l->ents[at].name);
	memmove(&l->ents[at], &l->ents[at + 1], (l->n - (size_t)at - 1) * sizeof(l->ents[0]));
	l->n--;
	dc->nents--;
	l->dot_stale = 1;
	d->edited = 1;
	return 0;
}

void dc_note_add(struct dircache *dc, uint64_t dir, const char *name, const struct smb_stat *st)
{
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	edit_add(dc, dir, name, st);
	note(dir);
	pthread_mutex_unlock(&dc->lock);
}

void dc_note_del(struct dircache *dc, uint64_t dir, const char *name)
{
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	(void)edit_del(dc, dir, name, NULL);
	note(dir);
	pthread_mutex_unlock(&dc->lock);
}

void dc_note_rename(struct dircache *dc, uint64_t dir, const char *name, uint64_t ndir,
		    const char *nname)
{
	struct smb_stat st;
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	if (edit_del(dc, dir, name, &st) == 0) {
		edit_add(dc, ndir, nname, &st);
	} else {
		/* its attributes are unknown: the new directory's listing goes */
		struct dnode *d = find(dc, ndir);
		if (d)
			drop(dc, d);
	}
	note(dir);
	note(ndir);
	pthread_mutex_unlock(&dc->lock);
}

int dc_absent(struct dircache *dc, uint64_t dir, const char *name, double *remaining)
{
	struct dnode *d;
	int ans = DC_UNKNOWN;

	if (!dc || !is_ascii(name))
		return DC_UNKNOWN;
	pthread_mutex_lock(&dc->lock);
	d = fresh(dc, dir, remaining);
	if (d == EXPIRED)
		ans = DC_REFETCH; /* kept for its mark; the fetch replaces it */
	if (!d || d == EXPIRED)
		goto out;
	if (d->edited && where(d->l, name) == -1)
		ans = DC_ABSENT;
out:
	pthread_mutex_unlock(&dc->lock);
	return ans;
}

int dc_find_dir(struct dircache *dc, uint64_t dir, const char *name, struct smb_stat *st,
		double *remaining)
{
	struct dnode *d;
	long at;
	int found = 0;

	if (!dc || !is_ascii(name))
		return 0;
	pthread_mutex_lock(&dc->lock);
	d = fresh(dc, dir, remaining);
	/* (a stale entry still answers: the lookup gives no attributes to keep,
	 * and whether the name exists is what REMOVED/ADDED notifications keep
	 * exact; this mount's own mkdir comes back as ADDED, marking it) */
	if (d && d != EXPIRED && d->edited && (at = where(d->l, name)) >= 0 &&
	    (d->l->ents[at].st.attrs & FILE_ATTRIBUTE_DIRECTORY) && strcmp(name, ".") &&
	    strcmp(name, "..")) {
		*st = d->l->ents[at].st;
		found = 1;
	}
	pthread_mutex_unlock(&dc->lock);
	return found;
}

void dc_begin_change(struct dircache *dc, uint64_t dir)
{
	unsigned s = mix(dir) % SLOTS;
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	dc->slot_busy[s]++;
	dc->slot_gen[s] = ++dc->gen; /* fetches in flight predate the change */
	(void)take_note(dir); /* a note left by a change that never ended */
	pthread_mutex_unlock(&dc->lock);
}

void dc_end_change(struct dircache *dc, uint64_t dir)
{
	unsigned s = mix(dir) % SLOTS;
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	if (dc->slot_busy[s])
		dc->slot_busy[s]--;
	if (take_note(dir)) /* the listing follows the change already */
		dc->slot_gen[s] = ++dc->gen;
	else
		changed(dc, dir);
	pthread_mutex_unlock(&dc->lock);
}

int dc_changed_since(struct dircache *dc, uint64_t dir, const struct dc_ticket *t)
{
	unsigned s = mix(dir) % SLOTS;
	int yes;
	if (!dc)
		return 0;
	pthread_mutex_lock(&dc->lock);
	yes = dc->slot_gen[s] > t->gen || dc->slot_busy[s];
	pthread_mutex_unlock(&dc->lock);
	return yes;
}

int dc_changing(struct dircache *dc, uint64_t dir)
{
	int busy;
	if (!dc)
		return 0;
	pthread_mutex_lock(&dc->lock);
	busy = dc->slot_busy[mix(dir) % SLOTS] != 0;
	pthread_mutex_unlock(&dc->lock);
	return busy;
}

void dc_inval(struct dircache *dc, uint64_t dir)
{
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	changed(dc, dir);
	pthread_mutex_unlock(&dc->lock);
}

void dc_notified(struct dircache *dc, uint64_t dir, enum dc_news news, const char *name)
{
	struct dnode *d;
	long at;
	int keep = 0;

	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	d = find(dc, dir);
	if (d && is_ascii(name)) {
		at = where(d->l, name);
		if (news == DC_NEWS_REMOVED) {
			keep = at == -1;
		} else if (at >= 0) {
			/* ADDED: its attributes may be another file's now; MODIFIED */
			struct dc_list *l = editable(d);
			if (l)
				l->ents[at].stale = 1;
			keep = l != NULL;
		}
	}
	if (keep) /* what it says, the listing says already */
		dc->slot_gen[mix(dir) % SLOTS] = ++dc->gen; /* still fence fetches in flight */
	else
		changed(dc, dir);
	pthread_mutex_unlock(&dc->lock);
}

void dc_set_watched(struct dircache *dc, uint64_t dir, int watched)
{
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	for (size_t i = 0; i < dc->nwatched; i++) {
		if (dc->watched[i] == dir) {
			if (!watched)
				dc->watched[i] = dc->watched[--dc->nwatched];
			goto out;
		}
	}
	if (watched && dc->nwatched < MAX_WATCHED)
		dc->watched[dc->nwatched++] = dir;
	else if (watched)
		changed(dc, dir); /* cannot promise: expire as usual (never reached: callers bound) */
out:
	pthread_mutex_unlock(&dc->lock);
}

void dc_note_forget(struct dircache *dc)
{
	if (dc)
		__atomic_add_fetch(&dc->epoch, 1, __ATOMIC_RELAXED);
}

int dc_attrs_trusted(struct dircache *dc, const struct dc_list *l)
{
	return dc && l->epoch == __atomic_load_n(&dc->epoch, __ATOMIC_RELAXED);
}

void dc_note_modify(struct dircache *dc)
{
	if (dc)
		__atomic_add_fetch(&dc->mgen, 1, __ATOMIC_ACQ_REL);
}

int dc_attrs_current(struct dircache *dc, const struct dc_list *l)
{
	return dc && l->mgen == __atomic_load_n(&dc->mgen, __ATOMIC_ACQUIRE);
}

double dc_remaining(struct dircache *dc, uint64_t dir, const struct dc_list *l)
{
	struct dnode *d;
	double rem = 0;

	if (!dc)
		return 0;
	pthread_mutex_lock(&dc->lock);
	d = fresh(dc, dir, &rem);
	if (!d || d == EXPIRED || d->l != l)
		rem = 0;
	pthread_mutex_unlock(&dc->lock);
	return rem;
}

/* Below this many entries dc_find just scans. */
#define FIND_SCAN 32
#define IDX_EMPTY UINT32_MAX

static size_t name_hash(const char *s)
{
	size_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Lock held. Index l's names (open addressing, linear probing). 0 or -ENOMEM. */
static int idx_build(struct dc_list *l)
{
	size_t cap = 64;
	while (cap < 2 * l->n)
		cap *= 2;
	if (l->n >= IDX_EMPTY || !(l->idx = malloc(cap * sizeof(*l->idx))))
		return -ENOMEM;
	l->idx_cap = cap;
	memset(l->idx, 0xff, cap * sizeof(*l->idx));
	for (size_t i = 0; i < l->n; i++) {
		size_t k = name_hash(l->ents[i].name) & (cap - 1);
		while (l->idx[k] != IDX_EMPTY)
			k = (k + 1) & (cap - 1);
		l->idx[k] = (uint32_t)i;
	}
	return 0;
}

/* Lock held. The index of name in l, or -1. */
static long find_name(struct dc_list *l, const char *name)
{
	if (l->n > FIND_SCAN && (l->idx || !idx_build(l))) {
		size_t k = name_hash(name) & (l->idx_cap - 1);
		for (; l->idx[k] != IDX_EMPTY; k = (k + 1) & (l->idx_cap - 1))
			if (!strcmp(l->ents[l->idx[k]].name, name))
				return l->idx[k];
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ents[i].name, name))
			return (long)i;
	return -1;
}

int dc_find(struct dircache *dc, uint64_t dir, const char *name, struct smb_stat *st,
	    double *remaining)
{
	struct dnode *d;
	long at;
	int found = 0;

	if (!dc || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	pthread_mutex_lock(&dc->lock);
	d = fresh(dc, dir, remaining);
	if (!d || d == EXPIRED || !dc_attrs_current(dc, d->l))
		goto out;
	at = find_name(d->l, name);
	if (at >= 0 && !d->l->ents[at].stale) { /* (stale: the server said it changed) */
		*st = d->l->ents[at].st;
		found = 1;
	}
out:
	pthread_mutex_unlock(&dc->lock);
	return found;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

void dc_note_attrs(struct dircache *dc, uint64_t dir, const char *name, const struct smb_stat *st)
{
	struct dnode *d;
	long at;

	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	d = find(dc, dir);
	/* only a current listing's attributes reach names the kernel knows */
	if (d && dc_attrs_current(dc, d->l) && (at = find_name(d->l, name)) >= 0) {
		const struct smb_stat *o = &d->l->ents[at].st;
		if (o->size != st->size || o->attrs != st->attrs ||
		    !same_time(&o->mtime, &st->mtime) || !same_time(&o->ctime, &st->ctime))
			changed(dc, dir);
	}
	pthread_mutex_unlock(&dc->lock);
}

void dc_clear(struct dircache *dc)
{
	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	while (dc->head)
		drop(dc, dc->head);
	++dc->gen;
	for (size_t s = 0; s < SLOTS; s++)
		dc->slot_gen[s] = dc->gen;
	pthread_mutex_unlock(&dc->lock);
}

size_t dc_count(struct dircache *dc, size_t *entries)
{
	size_t n;
	if (!dc) {
		if (entries)
			*entries = 0;
		return 0;
	}
	pthread_mutex_lock(&dc->lock);
	n = dc->ndirs;
	if (entries)
		*entries = dc->nents;
	pthread_mutex_unlock(&dc->lock);
	return n;
}

void dc_free(struct dircache *dc)
{
	if (!dc)
		return;
	dc_clear(dc);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}
