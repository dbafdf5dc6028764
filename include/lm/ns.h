/* Namespace: SOURCE → folders → tables → versions → files, with inode numbers.
 * No FUSE types here: the adapter converts. Thread-safe.
 *
 * Inode numbers: nodes of the registry (folders, tables, version directories,
 * symlinks, plain files) get small numbers < 2^32, allocated once per (parent, name)
 * and kept for the life of the mount. An entry inside a version directory is
 * (vdir_ino << 32) | index-in-snapshot-tree, so millions of files cost no registry
 * memory and a rebuilt snapshot gives the same numbers (the tree is deterministic).
 *
 * A hidden read-only file .lakemount-stats at the root (looked up, never listed) holds
 * JSON counters: lookups, opens, reads, read latency percentiles, GETs by kind, bytes,
 * block-cache hits/misses/evictions, memory.
 *
 * Forensics views (per table, beside @v*, @latest and @info): @storage/, @orphans/,
 * @recent/, @removed/ (directories) and @missing (a JSON file). They change with the
 * table, so each refresh of a view directory is a new immutable "generation" with its
 * own registry inode; entries inside are (generation_ino << 32) | index, as in a version
 * directory. The view's name is looked up again at every path walk (entry timeout 0,
 * lm_attr.volatile_entry) and resolves to the current generation; an older generation
 * keeps serving its own frozen content until the kernel forgets every inode of it
 * (lm_ns_forget), then its memory is freed. See the comment at the top of ns.c. */
#ifndef LM_NS_H
#define LM_NS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lm/err.h"
#include "lm/reader.h"
#include "lm/store.h"

struct lm_metacache;
struct lm_datacache;

#define LM_NS_ROOT_INO 1

struct lm_ns_opts {
	unsigned latest_ttl_ms;   /* how long "which versions exist" is trusted */
	uid_t uid;
	gid_t gid;
	size_t max_memory;        /* read buffers and block cache; 0 = default (64 MiB) */
	struct lm_metacache *meta; /* persistent metadata cache (borrowed), or NULL */
	struct lm_datacache *data_cache; /* local disk block cache (borrowed), or NULL */
	int64_t orphan_min_age_ms; /* an unreferenced file younger than this is "recent",
				    * not an orphan (the daemon's default: 1 hour) */
};

struct lm_attr {
	uint64_t ino;
	mode_t mode;          /* S_IFDIR|0555, S_IFREG|0444, S_IFLNK|0777 */
	uint64_t size;
	int64_t mtime_ms;
	uint32_t nlink;
	bool immutable;       /* never changes: cache forever */
	bool volatile_entry;  /* the name may lead to another inode at any moment (a
			       * forensics view): the kernel must not cache the name */
	bool size_unknown;    /* a generated file not generated yet: size 0 stands for
			       * "unknown" and must not be cached (opens use direct_io) */
};

struct lm_ns;
struct lm_ns_dir;
struct lm_ns_file;

int lm_ns_new(struct lm_store *store, const struct lm_ns_opts *opts, struct lm_ns **out,
	      struct lm_err *err);
void lm_ns_free(struct lm_ns *ns);
/* Drop every TTL'd listing (SIGHUP). */
void lm_ns_expire(struct lm_ns *ns);
/* The persistent metadata cache for tables opened from now on (before serving: the
 * daemon opens it after daemonising, as LMDB must not cross a fork). */
void lm_ns_set_metacache(struct lm_ns *ns, struct lm_metacache *mc);

int lm_ns_lookup(struct lm_ns *ns, uint64_t parent, const char *name, struct lm_attr *out,
		 struct lm_err *err);
/* The kernel dropped nlookup references to ino (FUSE forget). Only the generations of
 * forensics views count them (to free an old generation once nothing can reach it):
 * every successful lm_ns_lookup counts as one reference, so an adapter that ever
 * answers readdirplus with entries must count those through a lookup too. */
void lm_ns_forget(struct lm_ns *ns, uint64_t ino, uint64_t nlookup);
int lm_ns_getattr(struct lm_ns *ns, uint64_t ino, struct lm_attr *out, struct lm_err *err);
/* Target into buf (NUL-terminated). */
int lm_ns_readlink(struct lm_ns *ns, uint64_t ino, char *buf, size_t size,
		   struct lm_err *err);

int lm_ns_opendir(struct lm_ns *ns, uint64_t ino, struct lm_ns_dir **out,
		  struct lm_err *err);
/* Entry i of an open directory (0-based, "." and ".." included first). Returns false
 * past the end. name is valid while the handle is open. */
bool lm_ns_dir_entry(struct lm_ns_dir *d, size_t i, const char **name, struct lm_attr *attr);
void lm_ns_releasedir(struct lm_ns_dir *d);

/* Extended attributes (user.lakemount.*): list into list (NUL-separated; size 0 = ask
 * the length), get into val (size 0 = ask the length). ENODATA when absent, ERANGE
 * when the buffer is too small. */
int lm_ns_listxattr(struct lm_ns *ns, uint64_t ino, char *list, size_t size, size_t *len,
		    struct lm_err *err);
int lm_ns_getxattr(struct lm_ns *ns, uint64_t ino, const char *name, char *val, size_t size,
		   size_t *len, struct lm_err *err);

int lm_ns_open(struct lm_ns *ns, uint64_t ino, struct lm_ns_file **out, bool *immutable,
	       struct lm_err *err);
/* Read up to len bytes; short only at end of file. Errors: EIO with err naming the
 * table/version/file and the reason. */
int lm_ns_read(struct lm_ns *ns, struct lm_ns_file *f, uint64_t off, size_t len,
	       void *dst, size_t *got, struct lm_err *err);
/* lm_ns_read without a copy: v points at the bytes in the block cache and holds them
 * until lm_ns_view_release, which may come after lm_ns_release; see lm_reader_read_view
 * (v->partial: release, then read the rest with lm_ns_read — always so for generated
 * files such as @info and the statistics file). */
int lm_ns_read_view(struct lm_ns *ns, struct lm_ns_file *f, uint64_t off, size_t len,
		    struct lm_reader_view *v, struct lm_err *err);
void lm_ns_view_release(struct lm_reader_view *v);
/* True when the content may differ from the size getattr reported (the statistics
 * file): the adapter then bypasses the page cache (direct_io). */
bool lm_ns_file_direct(const struct lm_ns_file *f);
void lm_ns_release(struct lm_ns_file *f);

#endif
