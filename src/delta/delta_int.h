/* Internal interfaces of the Delta driver (src/delta/). */
#ifndef LM_DELTA_INT_H
#define LM_DELTA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lm/arena.h"
#include "lm/delta.h"
#include "lm/err.h"
#include "lm/snapshot.h"
#include "lm/store.h"
#include "lm/table.h"

/* ---- log listing (log.c) ---- */

/* One listed log file. */
struct lm_delta_item {
	int64_t version;
	int64_t mtime_ms;
	uint64_t size;
	enum lm_delta_log_kind kind;
	int part, nparts;
	bool parquet;
	bool bad;            /* a checkpoint that failed to load: not tried again */
	const char *name;    /* UUID-named checkpoints only (in the log's arena) */
};

/* A complete checkpoint: one file, or a complete multi-part set (items item ..
 * item + nparts - 1). */
struct lm_delta_ckpt_file {
	enum lm_delta_log_kind kind;  /* CHECKPOINT, CHECKPOINT_PART or CHECKPOINT_V2 */
	int64_t version;
	int nparts;
	uint32_t item;
	bool parquet;
	int64_t mtime_ms;
};

struct lm_delta_vextra {
	uint32_t ck_first, ck_n;     /* this version's checkpoints in ck, in trial order */
	uint64_t commit_size;
};

struct lm_delta_log {
	struct lm_version_info *v;   /* ascending by version */
	struct lm_delta_vextra *x;   /* parallel to v */
	size_t n;
	struct lm_delta_ckpt_file *ck;
	size_t nck;
	struct lm_delta_item *items; /* sorted */
	size_t nitems;
	int64_t from;                /* first version the listing could see */
	int64_t to;                  /* last version it looked for (INT64_MAX: to the end) */
	bool from_start;             /* it began at the start of the log */
	bool staged_commits;         /* _staged_commits/ present: catalog-managed table */
	bool has_last_checkpoint;
	struct lm_arena arena;
};

/* l must be zeroed (or freed) before the first call; free is idempotent. */
void lm_delta_log_free(struct lm_delta_log *l);
/* The whole log. */
int lm_delta_log_list(struct lm_store *s, const char *table_key, const char *name,
		      struct lm_delta_log *out, struct lm_err *err);
/* Versions from..to only (from <= 0: from the start; to = INT64_MAX: to the end), with
 * start-after: the cost is the entries listed, not the size of the log. */
int lm_delta_log_list_range(struct lm_store *s, const char *table_key, const char *name,
			    int64_t from, int64_t to, struct lm_delta_log *out,
			    struct lm_err *err);
/* Replace l's versions >= tail->from by tail's (an incremental refresh). */
int lm_delta_log_merge_tail(struct lm_delta_log *l, struct lm_delta_log *tail);
/* Index of version in l, or -1. */
ssize_t lm_delta_log_find(const struct lm_delta_log *l, int64_t version);
/* Index of the newest version <= version, or -1. */
ssize_t lm_delta_log_floor(const struct lm_delta_log *l, int64_t version);
/* File name (under _delta_log/) of part `part` (1-based) of a checkpoint, and its size. */
void lm_delta_ckpt_part_name(const struct lm_delta_log *l, const struct lm_delta_ckpt_file *ck,
			     int part, char *out, size_t outsz);
uint64_t lm_delta_ckpt_part_size(const struct lm_delta_log *l,
				 const struct lm_delta_ckpt_file *ck, int part);
/* Read and validate _delta_log/_last_checkpoint: ENOENT when absent, LM_EFORMAT when
 * unusable (corrupt, checksum mismatch). */
int lm_delta_last_checkpoint_read(struct lm_store *s, const char *table_key, const char *name,
				  struct lm_delta_last_checkpoint *out, struct lm_err *err);

/* ---- replay (replay.c) ---- */
/* A live file's deletion vector (in the replay's arena). */
struct lm_delta_dvref {
	const char *id;        /* unique id: storageType + pathOrInlineDv [+ "@" offset] */
	const char *data;      /* pathOrInlineDv */
	int64_t offset;        /* -1 absent */
	int64_t size;          /* sizeInBytes, -1 absent */
	char storage;          /* 'u', 'i', 'p' */
};

/* What a slot of the replay holds beside its struct lm_file (struct lm_delta_replay.x). */
struct lm_delta_slot {
	const struct lm_delta_dvref *dv;  /* or NULL */
	uint32_t poisoned;     /* path could not be placed inside the table root */
};

/* A live file with a deletion vector, as @info lists them (lm_delta_replay_dv_list). */
struct lm_delta_entry {
	const char *path;
	const struct lm_delta_dvref *dv;
	int64_t deleted_rows;  /* DV cardinality (-1 unknown) */
};

struct lm_delta_strings;   /* refcounted string storage, see replay.c */
struct lm_delta_dirs;      /* the folders of a bulk load's paths, see replay.c */
struct lm_delta_bulk_turn;

struct lm_delta_replay {
	int64_t version;                 /* last applied version, -1 before any */
	/* Slots: f[i] is a live file — path (the decoded key relative to the table root,
	 * or the raw log path when poisoned), size, mtime, flags (LM_FILE_*), deleted rows
	 * (DV cardinality, -1 unknown; 0 without a DV) — or free (path NULL). */
	struct lm_file *f;
	struct lm_delta_slot *x;         /* parallel to f; NULL while no slot has a DV or a
					  * poisoned path */
	uint64_t *hash;                  /* parallel to f once indexed, else NULL */
	size_t n_e, cap_e;
	struct lm_snapshot *f_owner;     /* f is this snapshot's file list (built from the
					  * slots in path order): read-only, copied before the
					  * replay changes it */
	uint32_t *free_list;
	size_t n_free, cap_free;
	uint64_t *tab;                   /* open addressing: hash tag << 32 | index+1, 0 = empty */
	size_t tab_cap, live;
	size_t poisoned_live;
	char poison_msg[LM_ERR_MSG];            /* first poisoned path still live, for messages */
	struct lm_delta_strings *strings; /* every string a slot points to; shared with the
					   * snapshots built from the slots */
	bool unindexed;                  /* entries appended by a checkpoint load, tab not
					  * built yet (done by the next apply) */
	struct lm_delta_bulk_turn *turn; /* a bulk load in progress: the row groups take their
					  * slots in order (replay.c) */
	void *keys;                      /* the first level of the path sort, made by bulk
					  * loads while the strings are at hand: one per slot
					  * below keys_n (and as much scratch), NULL once the
					  * slots change otherwise (replay.c) */
	size_t keys_n, keys_cap;
	struct lm_delta_dirs *dirs;      /* the folders the keys name (replay.c) */
	size_t scanned;                  /* actions applied without an index (replay.c) */
	bool dedup_pending;              /* keys a checkpoint held twice are to be merged
					  * as an index build would have */
	/* protocol/metadata state */
	bool has_protocol, has_metadata;
	int min_reader;
	char *unsupported;               /* malloc'd reason when the protocol is refused */
	const char *unsupported_word;
	char *table_id;
	char *protocol_json;             /* the protocol in force, compact JSON */
	char *metadata_json;             /* the metaData in force: id, schemaString,
					  * partitionColumns, configuration, createdTime */
	bool catalog_feature;            /* catalogManaged / catalogOwned(-preview) */
	int64_t base;                    /* checkpoint version it started from, -1: commit 0 */
	/* sticky failure: a commit that could not be applied */
	int broken_code;
	const char *broken_word;
	int64_t broken_at;
	char broken_msg[LM_ERR_MSG];
};

void lm_delta_replay_init(struct lm_delta_replay *r);
void lm_delta_replay_free(struct lm_delta_replay *r);
/* Apply one decoded commit of version v. path_cb resolves a raw log path to a key
 * relative to the table root (0; *rel malloc'd, or NULL when the raw path is the key
 * as it is) or refuses it (LM_EESCAPE with a reason). */
typedef int (*lm_delta_resolve_fn)(void *ud, const char *raw, char **rel, struct lm_err *err);
int lm_delta_replay_apply(struct lm_delta_replay *r, int64_t v,
			  const struct lm_delta_commit *c, lm_delta_resolve_fn resolve,
			  void *ud, struct lm_err *err);
/* The same for a part of a checkpoint (its adds are distinct keys): the adds are
 * appended without indexing them; the index is built when a commit is applied next,
 * so a version that is exactly a checkpoint never builds one. The replay takes c's
 * arena over (its strings are not copied). */
int lm_delta_replay_load(struct lm_delta_replay *r, int64_t v, struct lm_delta_commit *c,
			 lm_delta_resolve_fn fn, void *ud, struct lm_err *err);
/* Keep arena a (moved; a is left empty) alive as long as the replay's strings. */
int lm_delta_replay_adopt(struct lm_delta_replay *r, struct lm_arena *a);
/* The protocol / metaData of c (a checkpoint part's rows), as a commit applies them. */
int lm_delta_replay_meta(struct lm_delta_replay *r, const struct lm_delta_commit *c,
			 struct lm_err *err);

/* A checkpoint part loaded by several threads at once (checkpoint.c): bulk_open makes
 * room for up to max more slots (r must be fresh or hold only appended checkpoint rows,
 * r->unindexed); each thread decodes row groups through a struct lm_delta_bulk of its
 * own (one per row group), whose sink appends the adds straight into the slots;
 * bulk_merge then brings one row group's outcome into r (in row group order, on the
 * calling thread), and bulk_close ends the load. */
struct lm_delta_bulk_exc {
	size_t slot;
	const struct lm_delta_dvref *dv;
	bool poisoned;
};

struct lm_delta_bulk {
	struct lm_delta_replay *r;
	lm_delta_resolve_fn fn;
	void *ud;
	struct lm_arena *arena;          /* strings made here (decoded keys, DV refs) */
	uint32_t rg;                     /* its row group: slots are handed out in their order */
	size_t base, n, k;               /* slots base .. base + n - 1, k filled */
	struct lm_delta_bulk_exc *exc;   /* slots with a DV or a poisoned path */
	size_t n_exc, cap_exc;
	char why[LM_ERR_MSG];            /* first refusal of a path */
	void *dcache;                    /* folders met last (replay.c) */
	bool dcache_ok, dirs_off;
};

int lm_delta_replay_bulk_open(struct lm_delta_replay *r, size_t max, struct lm_err *err);
/* b for row group rg (of the file bulk_open was called for), whose strings live in
 * arena. */
void lm_delta_bulk_init(struct lm_delta_bulk *b, struct lm_delta_replay *r, uint32_t rg,
			lm_delta_resolve_fn fn, void *ud, struct lm_arena *arena);
/* A row group failed: the threads waiting for their turn give up. */
void lm_delta_replay_bulk_abort(struct lm_delta_replay *r);
void lm_delta_bulk_free(struct lm_delta_bulk *b);
/* The sink to hand lm_delta_ckpt_decode_to(). */
struct lm_delta_ckpt_sink lm_delta_bulk_sink(struct lm_delta_bulk *b);
int lm_delta_replay_bulk_merge(struct lm_delta_replay *r, struct lm_delta_bulk *b,
			       int64_t v, struct lm_err *err);
/* The end of the file's load (after every thread is done). */
void lm_delta_replay_bulk_close(struct lm_delta_replay *r);
/* Mark the replay broken from version v on (sticky). */
void lm_delta_replay_break(struct lm_delta_replay *r, int64_t v, const struct lm_err *why);
/* Whether the state at r->version can be shown; fills err when not. */
int lm_delta_replay_check(const struct lm_delta_replay *r, struct lm_err *err);
/* Materialise the live files as a snapshot: the slots are sorted by path in place
 * (and compacted) and handed to the snapshot without a copy; the replay reads them from
 * there until it next changes them. */
int lm_delta_replay_snapshot(struct lm_delta_replay *r, int64_t commit_ms,
			     struct lm_snapshot **out, struct lm_err *err);
/* The live files with a deletion vector, sorted by path: *out is one malloc'd block
 * (free it alone), valid until the replay next changes. */
int lm_delta_replay_dv_list(const struct lm_delta_replay *r,
			    const struct lm_delta_entry ***out, size_t *n);

/* ---- checkpoints (checkpoint.c) ---- */

/* What the checkpoint reader needs of the table. */
struct lm_delta_io {
	struct lm_store *store;
	const char *key;          /* table root key */
	const char *name;         /* for messages */
	lm_delta_resolve_fn resolve;
	void *ud;
};

/* Load checkpoint ck (listed in l) into r, which must be fresh. On failure *unusable
 * says whether the checkpoint itself is at fault (malformed, a part or sidecar missing,
 * no protocol/metaData): the caller may try another; otherwise (storage trouble,
 * ENOMEM) the error is the store's. err names the file. */
int lm_delta_ckpt_load(const struct lm_delta_io *io, const struct lm_delta_log *l,
		       const struct lm_delta_ckpt_file *ck, struct lm_delta_replay *r,
		       bool *unusable, struct lm_err *err);

/* ---- commit records: commitInfo, counts, timestamps (history.c) ---- */

struct lm_delta_crec {
	int64_t version;          /* -1: empty slot */
	int64_t ict;              /* commitInfo.inCommitTimestamp, -1 absent */
	int64_t ci_ts;            /* commitInfo.timestamp, -1 absent */
	int64_t n_adds, n_removes;/* -1: not counted (only the first line was read) */
	char *info;               /* commitInfo, compact JSON, or NULL */
};

struct lm_delta_hist {
	struct lm_delta_crec *v;  /* open addressing by version */
	size_t cap, n;
};

void lm_delta_hist_init(struct lm_delta_hist *h);
void lm_delta_hist_free(struct lm_delta_hist *h);
/* Remember what commit v says (best effort: silently skipped without memory). */
void lm_delta_hist_note(struct lm_delta_hist *h, int64_t v, const struct lm_delta_commit *c);
const struct lm_delta_crec *lm_delta_hist_get(const struct lm_delta_hist *h, int64_t v);

/* ---- the table (table.c) ---- */

struct lm_delta_info_cache;

struct lm_delta_table {
	struct lm_table base;        /* store, key, name */
	pthread_mutex_t lock;
	bool listed;                 /* log holds a listing of the whole log */
	int64_t listed_ns;           /* when it was taken (monotonic) */
	struct lm_delta_log log;
	struct lm_delta_log seg;     /* targeted listing for cold lookups */
	bool lc_warned;
	struct lm_delta_replay replay;
	struct lm_snapshot *last;    /* last snapshot built */
	struct lm_delta_hist hist;
	struct lm_delta_info_cache *info;
};

int lm_delta_refresh_locked(struct lm_delta_table *t, struct lm_err *err);
/* Whether version l->v[idx] can be shown (see table.c). */
bool lm_delta_shown(const struct lm_delta_log *l, size_t idx);
/* Bring the replay to version (and build its snapshot when snapshot). Refusals as for
 * lm_table_snapshot. t->lock held. */
int lm_delta_build_locked(struct lm_delta_table *t, int64_t version, bool snapshot,
			  struct lm_snapshot **out, struct lm_err *err);
void lm_delta_io_init(struct lm_delta_table *t, struct lm_delta_io *io);
/* malloc'd store key of a name under the table's _delta_log/. */
char *lm_delta_log_key(const struct lm_delta_table *t, const char *name);

/* ---- timestamps and history (history.c) ---- */

/* ops->resolve: "@<timestamp>" → link to "@v<N>". */
int lm_delta_resolve(struct lm_table *t, const char *name, struct lm_table_view *out,
		     struct lm_err *err);
/* The commit time of every shown version of the whole listing, by the time rule in
 * force (*ms malloc'd, parallel to t->log.v; -1 for versions not shown); *how names the
 * source ("file modification time", "in-commit timestamp", "commitInfo.timestamp").
 * In-commit timestamps are read only for indexes lo..hi (one read each, cached); the
 * others keep their file time. t->lock held. */
int lm_delta_commit_times(struct lm_delta_table *t, size_t lo, size_t hi, int64_t **ms,
			  const char **how, struct lm_err *err);
/* Commit record of version v, reading the commit file when not known yet (whole when
 * counts are needed, else its first line). t->lock held. */
int lm_delta_hist_fetch(struct lm_delta_table *t, int64_t v, bool counts,
			const struct lm_delta_crec **out, struct lm_err *err);
/* history.json (DESCRIBE HISTORY). t->lock held. */
int lm_delta_history_json(struct lm_delta_table *t, struct lm_buf *out, struct lm_err *err);

/* ---- deletion vectors (dv.c) ---- */

/* The row indexes a live file's DV deletes (sorted, *rows malloc'd), fetched through
 * the store (inline ones decoded in place), size-capped, checked against the file's
 * record (dataSize, CRC-32) and against cardinality (when >= 0). */
int lm_delta_dv_rows(struct lm_delta_table *t, const struct lm_delta_dvref *d,
		     int64_t cardinality, uint64_t **rows, size_t *n, struct lm_err *err);

/* ---- forensics (forensics.c) ---- */

/* Nothing younger is called an orphan (it is "recent": a writer may be in flight). */
#define LM_DELTA_ORPHAN_MIN_AGE_MS (3600 * 1000)
/* @info/<which>.json for which = "orphans", "removed", "missing" (a full scan: log,
 * every rebuilt version, the table root's listing). Takes t's lock itself: call
 * without it. */
int lm_delta_forensics_json(struct lm_table *t, const char *which, struct lm_buf *out,
			    struct lm_err *err);

/* ---- @info (info.c) ---- */

int lm_delta_info_list(struct lm_table *t, const char *dir, struct lm_info_entry **out,
		       size_t *n, struct lm_err *err);
int lm_delta_info_read(struct lm_table *t, const char *path, struct lm_buf *out,
		       bool *immutable, struct lm_err *err);
void lm_delta_info_free(struct lm_delta_table *t);

#endif
