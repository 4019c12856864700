/*
 * inode.h - the FUSE inode table: nodeid <-> (parent, name), lookup counts.
 *
 * A node is named by its parent and its name, so renaming a directory moves
 * its whole subtree by changing one node. Paths are rebuilt on demand by
 * walking to the root. Lookup counts mirror the kernel's nlookup: they grow
 * with each successful lookup/create/readdirplus entry and shrink only in
 * forget. The root (FUSE_ROOT_ID) is never forgotten.
 *
 * Thread-safe: one mutex guards the table.
 */
#ifndef SMBF_FS_INODE_H
#define SMBF_FS_INODE_H

#include <stddef.h>
#include <stdint.h>

struct inode_table;

struct inode_table *itab_new(void);
void itab_free(struct inode_table *t);

/*
 * Find or create the node (parent, name) and add `nlookup` to its lookup
 * count. Returns its nodeid, or 0 if parent is unknown or memory is short.
 */
uint64_t itab_lookup(struct inode_table *t, uint64_t parent, const char *name, uint64_t nlookup);

/*
 * itab_lookup, knowing the server's file id of what the name leads to now
 * (sid, 0 = unknown): a node of that name known to be another file leaves the
 * namespace first, and the name gets a new node.
 */
uint64_t itab_lookup_sid(struct inode_table *t, uint64_t parent, const char *name,
			 uint64_t nlookup, uint64_t sid);

/*
 * 0 if ino is known to be another file than the server's file id sid (its
 * name was taken over on the server); 1 if the same, or if either is unknown
 * (ino then learns sid).
 */
int itab_same_file(struct inode_table *t, uint64_t ino, uint64_t sid);
/*
 * Facts about an inode that last as long as its node (set only):
 * ITAB_FIXED_INO: its st_ino stays ino itself, whatever the server's file
 *   id (a file created later: the kernel saw this number before the server
 *   knew the file, and programs such as git keep it).
 * ITAB_MULTI_LINK: seen with more than one link: a listing's entry (which
 *   carries no link count) must not stand for it, the kernel would show one.
 */
enum { ITAB_FIXED_INO = 1, ITAB_MULTI_LINK = 2 };
void itab_set_flag(struct inode_table *t, uint64_t ino, unsigned flag);
int itab_has_flag(struct inode_table *t, uint64_t ino, unsigned flag);

/* The nodeid of ino's directory (the last one it had if detached); 0 for the root. */
uint64_t itab_parent(struct inode_table *t, uint64_t ino);

/* The nodeid of (parent, name) if known, without touching counts; 0 if not. */
uint64_t itab_find(struct inode_table *t, uint64_t parent, const char *name);

/* Drop n lookups; the node is freed at zero when it has no children. */
void itab_forget(struct inode_table *t, uint64_t ino, uint64_t n);

/*
 * Write the share-relative path of ino ("" for the root, "a/b/c" otherwise)
 * into buf. Returns the length, -ENOENT for an unknown node, -ESTALE for one
 * unlinked or replaced (itself or a directory above it), -ENAMETOOLONG.
 */
int itab_path(struct inode_table *t, uint64_t ino, char *buf, size_t size);

/*
 * Path of the child `name` of parent, as itab_path would give after a lookup.
 */
int itab_child_path(struct inode_table *t, uint64_t parent, const char *name, char *buf,
		    size_t size);

/* Move (oldparent, oldname) to (newparent, newname); a node there is unlinked from the name. */
int itab_rename(struct inode_table *t, uint64_t oldparent, const char *oldname, uint64_t newparent,
		const char *newname);

/* Detach (parent, name) from the namespace (after unlink/rmdir); the node lives until forget. */
void itab_unlink(struct inode_table *t, uint64_t parent, const char *name);

/* Number of live nodes (tests, stats). */
size_t itab_count(struct inode_table *t);

#endif
