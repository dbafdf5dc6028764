/* An immutable, refcounted snapshot of one table version: its live data files and
 * the directory tree they form. Built once by a table reader, then shared read-only
 * by every FUSE thread (no locks needed to read it). */
#ifndef LM_SNAPSHOT_H
#define LM_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/arena.h"
#include "lm/buf.h"
#include "lm/err.h"

enum lm_file_flag {
	LM_FILE_HAS_DV = 1,      /* not all rows live: a deletion vector applies */
};

struct lm_file {
	const char *path;     /* decoded, relative to the table root */
	uint64_t size;
	int64_t mtime_ms;
	uint32_t flags;
	int64_t deleted_rows; /* with LM_FILE_HAS_DV: rows the deletion vector removes
			       * (-1 unknown); 0 otherwise */
};

/* Tree node. Node 0 is the version's root directory. The children of a directory are
 * contiguous (first_child .. first_child + n_children - 1) and sorted by name. */
struct lm_snap_node {
	const char *name;     /* "" for the root */
	uint32_t parent;
	uint32_t first_child;
	uint32_t n_children;
	int32_t file;         /* index into files, or -1 for a directory */
};

/* Storage a snapshot's path strings live in when the snapshot does not own them: shared
 * with whoever built it (the Delta replay goes on adding to it), refcounted; release()
 * runs when the last holder lets go. */
struct lm_snap_hold {
	atomic_uint refs;
	void (*release)(struct lm_snap_hold *h);
};

static inline void lm_snap_hold_ref(struct lm_snap_hold *h)
{
	if (h)
		atomic_fetch_add(&h->refs, 1);
}

static inline void lm_snap_hold_unref(struct lm_snap_hold *h)
{
	if (h && atomic_fetch_sub(&h->refs, 1) == 1)
		h->release(h);
}

struct lm_snapshot {
	atomic_uint refs;
	int64_t version;
	int64_t commit_ms;
	size_t nfiles;
	struct lm_file *files;       /* sorted by path (strcmp) */
	size_t nnodes;
	struct lm_snap_node *nodes;
	uint64_t total_bytes;
	size_t n_dv_files;
	struct lm_arena arena;       /* path strings */
	void *blob;                  /* decoded from the cache: the strings (freed) */
	struct lm_snap_hold *hold;   /* path strings shared with the builder (released), or
				      * NULL: lm_snapshot_new_take() */
};

/* Build from files (path strings are copied; files array is copied). Refuses
 * duplicates and file/folder name clashes with LM_EFORMAT naming the path. */
int lm_snapshot_new(int64_t version, int64_t commit_ms, const struct lm_file *files,
		    size_t nfiles, struct lm_snapshot **out, struct lm_err *err);
/* Files of one folder (see struct lm_snap_take): files[first .. first + n - 1] are the
 * files directly in the folder whose path, trailing '/' included, is the first dirlen
 * bytes of theirs (0: the root). */
struct lm_snap_run {
	uint32_t first, n, dirlen;
};

/* What a builder may hand lm_snapshot_new_take() besides the files; all optional. */
struct lm_snap_take {
	/* The path strings are not copied: the snapshot keeps a reference on hold, which
	 * must keep them alive (NULL: they outlive the snapshot by other means). */
	struct lm_snap_hold *hold;
	/* A malloc'd block of spare_size bytes the caller no longer needs, always taken:
	 * the tree is built in it when it is big enough (memory already mapped costs no
	 * page faults), else it is freed. */
	void *spare;
	size_t spare_size;
	/* The files by folder, in path order, each folder's distinct, for a layout where
	 * no folder with files holds another folder with files (partitions of one depth,
	 * or all files at the root): the tree is then built without reading every path.
	 * When the runs do not fit the files, the paths are read as without them. */
	const struct lm_snap_run *runs;
	size_t nruns;
};

/* The same from a file list handed over, without copying: files (malloc'd, nfiles
 * entries) should be sorted by path (strcmp; it is sorted here when it is not) and
 * becomes the snapshot's on success (on failure it stays the caller's, possibly
 * reordered). opt may be NULL. */
int lm_snapshot_new_take(int64_t version, int64_t commit_ms, struct lm_file *files,
			 size_t nfiles, const struct lm_snap_take *opt, struct lm_snapshot **out,
			 struct lm_err *err);
/* Tree construction: one linear pass over the sorted paths (true, the default), or the
 * former sort of all nodes by (parent, name) — for tests that compare both. Both give
 * the same tree node for node; the linear one falls back to the sort by itself for the
 * rare trees it does not handle (a folder name followed by a byte below '/' in a
 * sibling's, clashes). */
extern bool lm_snapshot_fast_tree;
struct lm_snapshot *lm_snapshot_ref(struct lm_snapshot *s);
void lm_snapshot_unref(struct lm_snapshot *s);

/* A flat, position-independent image of a snapshot (files, tree, strings; the inode
 * numbering of the tree is kept), appended to out — for the persistent cache. */
int lm_snapshot_encode(const struct lm_snapshot *s, struct lm_buf *out);
/* Rebuild from an image; LM_EFORMAT when the bytes are not a valid image (every offset
 * and index is checked: a damaged image is refused, never trusted). */
int lm_snapshot_decode(const void *data, size_t len, struct lm_snapshot **out,
		       struct lm_err *err);

/* Child of directory node dir named name (binary search); -1 when absent. */
int64_t lm_snapshot_child(const struct lm_snapshot *s, uint32_t dir, const char *name);

#endif
