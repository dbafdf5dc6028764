/* An immutable, refcounted snapshot of one table version: its live data files and
 * the directory tree they form. Built once by a table reader, then shared read-only
 * by every FUSE thread (no locks needed to read it). */
#ifndef LM_SNAPSHOT_H
#define LM_SNAPSHOT_H

#include <stdatomic.h>
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
};

/* Build from files (path strings are copied; files array is copied). Refuses
 * duplicates and file/folder name clashes with LM_EFORMAT naming the path. */
int lm_snapshot_new(int64_t version, int64_t commit_ms, const struct lm_file *files,
		    size_t nfiles, struct lm_snapshot **out, struct lm_err *err);
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
