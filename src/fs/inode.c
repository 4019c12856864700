/*
 * inode.c - inode table. See inode.h.
 *
 * Two hash tables: by nodeid, and by (parent, name). A node detached by
 * unlink or replaced by rename leaves the name table but stays in the id
 * table until the kernel forgets it.
 */
#include "fs/inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_ID 1

struct node {
	uint64_t id;
	uint64_t nlookup;
	struct node *parent; /* holds a child reference on the parent */
	char *name;
	int children;        /* nodes whose parent pointer is this one */
	int named;           /* present in the name table */
	uint64_t sid;        /* the server's file id (IndexNumber); 0 = not known yet */
	unsigned flags;      /* ITAB_* (itab_set_flag) */
	struct node *id_next;
	struct node *name_next;
};

struct inode_table {
	pthread_mutex_t lock;
	struct node **by_id;
	struct node **by_name;
	size_t nbuckets;
	size_t count;
	uint64_t next_id;
	struct node root;
};

static size_t hash_id(const struct inode_table *t, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (t->nbuckets - 1);
}

static size_t hash_name(const struct inode_table *t, const struct node *parent, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

struct inode_table *itab_new(void)
{
	struct inode_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nbuckets = 1 << 16;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_name = calloc(t->nbuckets, sizeof(*t->by_name));
	if (!t->by_id || !t->by_name) {
		free(t->by_id);
		free(t->by_name);
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->root.id = ROOT_ID;
	t->root.name = (char *)"";
	t->root.nlookup = 1;
	t->next_id = ROOT_ID + 1;
	return t;
}

void itab_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct node *n = t->by_id[i], *nx;
		for (; n; n = nx) {
			nx = n->id_next;
			free(n->name);
			free(n);
		}
	}
	free(t->by_id);
	free(t->by_name);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct node *get_node(struct inode_table *t, uint64_t id)
{
	if (id == ROOT_ID)
		return &t->root;
	for (struct node *n = t->by_id[hash_id(t, id)]; n; n = n->id_next)
		if (n->id == id)
			return n;
	return NULL;
}

static struct node *find_child(struct inode_table *t, struct node *parent, const char *name)
{
	for (struct node *n = t->by_name[hash_name(t, parent, name)]; n; n = n->name_next)
		if (n->named && n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static void name_unhash(struct inode_table *t, struct node *n)
{
	struct node **pp;
	if (!n->named)
		return;
	for (pp = &t->by_name[hash_name(t, n->parent, n->name)]; *pp; pp = &(*pp)->name_next) {
		if (*pp == n) {
			*pp = n->name_next;
			break;
		}
	}
	n->name_next = NULL;
	n->named = 0;
}

static void name_hash(struct inode_table *t, struct node *n)
{
	size_t h = hash_name(t, n->parent, n->name);
	n->name_next = t->by_name[h];
	t->by_name[h] = n;
	n->named = 1;
}

static void maybe_free(struct inode_table *t, struct node *n)
{
	while (n && n != &t->root && n->nlookup == 0 && n->children == 0) {
		struct node *parent = n->parent;
		struct node **pp;
		name_unhash(t, n);
		for (pp = &t->by_id[hash_id(t, n->id)]; *pp; pp = &(*pp)->id_next) {
			if (*pp == n) {
				*pp = n->id_next;
				break;
			}
		}
		free(n->name);
		free(n);
		t->count--;
		if (!parent)
			break;
		parent->children--;
		n = parent;
	}
}

uint64_t itab_lookup_sid(struct inode_table *t, uint64_t parent_id, const char *name,
			 uint64_t nlookup, uint64_t sid)
{
	struct node *parent, *n;
	uint64_t id = 0;

	pthread_mutex_lock(&t->lock);
	parent = get_node(t, parent_id);
	if (!parent)
		goto out;
	n = find_child(t, parent, name);
	if (n && sid && n->sid && n->sid != sid) {
		/*
		 * Another file has the name now (replaced by a rename, or deleted
		 * and created again): the old node must not be served its data. It
		 * leaves the namespace; the kernel gets a new nodeid for the name.
		 */
		name_unhash(t, n);
		if (n->nlookup == 0)
			maybe_free(t, n);
		n = NULL;
	}
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			goto out;
		n->name = strdup(name);
		if (!n->name) {
			free(n);
			goto out;
		}
		n->id = t->next_id++;
		n->parent = parent;
		parent->children++;
		name_hash(t, n);
		size_t h = hash_id(t, n->id);
		n->id_next = t->by_id[h];
		t->by_id[h] = n;
		t->count++;
	}
	if (!n->sid)
		n->sid = sid;
	n->nlookup += nlookup;
	id = n->id;
out:
	pthread_mutex_unlock(&t->lock);
	return id;
}

uint64_t itab_lookup(struct inode_table *t, uint64_t parent, const char *name, uint64_t nlookup)
{
	return itab_lookup_sid(t, parent, name, nlookup, 0);
}

uint64_t itab_parent(struct inode_table *t, uint64_t ino)
{
	struct node *n;
	uint64_t id = 0;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	if (n && n->parent)
		id = n->parent->id;
	pthread_mutex_unlock(&t->lock);
	return id;
}

int itab_same_file(struct inode_table *t, uint64_t ino, uint64_t sid)
{
	struct node *n;
	int same = 1;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	if (n && sid && n != &t->root) {
		if (!n->sid)
			n->sid = sid;
		else
			same = n->sid == sid;
	}
	pthread_mutex_unlock(&t->lock);
	return same;
}

void itab_set_flag(struct inode_table *t, uint64_t ino, unsigned flag)
{
	struct node *n;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	if (n && n != &t->root)
		n->flags |= flag;
	pthread_mutex_unlock(&t->lock);
}

int itab_has_flag(struct inode_table *t, uint64_t ino, unsigned flag)
{
	struct node *n;
	int has;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	has = n && (n->flags & flag);
	pthread_mutex_unlock(&t->lock);
	return has;
}

uint64_t itab_find(struct inode_table *t, uint64_t parent_id, const char *name)
{
	struct node *parent, *n = NULL;
	pthread_mutex_lock(&t->lock);
	parent = get_node(t, parent_id);
	if (parent)
		n = find_child(t, parent, name);
	pthread_mutex_unlock(&t->lock);
	return n ? n->id : 0;
}

void itab_forget(struct inode_table *t, uint64_t ino, uint64_t count)
{
	struct node *n;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	if (n && n != &t->root) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		maybe_free(t, n);
	}
	pthread_mutex_unlock(&t->lock);
}

static int build_path(struct node *n, char *buf, size_t size)
{
	size_t len = 0;
	/*
	 * First pass: length. A node out of the namespace (unlinked, replaced)
	 * has no path: its old name may lead to another file by now.
	 */
	for (struct node *p = n; p && p->parent; p = p->parent) {
		if (!p->named)
			return -ESTALE;
		len += strlen(p->name) + (p->parent->parent ? 1 : 0);
	}
	if (len + 1 > size)
		return -ENAMETOOLONG;
	buf[len] = '\0';
	size_t end = len;
	for (struct node *p = n; p && p->parent; p = p->parent) {
		size_t l = strlen(p->name);
		end -= l;
		memcpy(buf + end, p->name, l);
		if (p->parent->parent)
			buf[--end] = '/';
	}
	return (int)len;
}

int itab_path(struct inode_table *t, uint64_t ino, char *buf, size_t size)
{
	struct node *n;
	int rc;
	pthread_mutex_lock(&t->lock);
	n = get_node(t, ino);
	rc = n ? build_path(n, buf, size) : -ENOENT;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int itab_child_path(struct inode_table *t, uint64_t parent, const char *name, char *buf,
		    size_t size)
{
	int rc = itab_path(t, parent, buf, size);
	size_t l, nl = strlen(name);
	if (rc < 0)
		return rc;
	l = (size_t)rc;
	if (l + (l ? 1 : 0) + nl + 1 > size)
		return -ENAMETOOLONG;
	if (l)
		buf[l++] = '/';
	memcpy(buf + l, name, nl + 1);
	return (int)(l + nl);
}

int itab_rename(struct inode_table *t, uint64_t oldparent, const char *oldname, uint64_t newparent,
		const char *newname)
{
	struct node *op, *np, *n, *victim;
	char *nn;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	op = get_node(t, oldparent);
	np = get_node(t, newparent);
	if (!op || !np) {
		rc = -ENOENT;
		goto out;
	}
	n = find_child(t, op, oldname);
	if (!n)
		goto out; /* not cached: nothing to move */
	nn = strdup(newname);
	if (!nn) {
		rc = -ENOMEM;
		goto out;
	}
	victim = find_child(t, np, newname);
	if (victim && victim != n)
		name_unhash(t, victim);
	name_unhash(t, n);
	free(n->name);
	n->name = nn;
	if (n->parent != np) {
		op->children--;
		np->children++;
		n->parent = np;
	}
	name_hash(t, n);
	maybe_free(t, op);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void itab_unlink(struct inode_table *t, uint64_t parent_id, const char *name)
{
	struct node *parent, *n;
	pthread_mutex_lock(&t->lock);
	parent = get_node(t, parent_id);
	n = parent ? find_child(t, parent, name) : NULL;
	if (n)
		name_unhash(t, n);
	pthread_mutex_unlock(&t->lock);
}

size_t itab_count(struct inode_table *t)
{
	size_t c;
	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}
