/* Tables: the generic interface every format driver implements (Delta now, Iceberg
 * next). A driver lists a table's "views" — the names its directory shows (version
 * directories and symlinks such as @latest) — and builds the immutable snapshot behind a
 * directory view. Drivers fetch bytes through the store and feed the pure decoders.
 * Thread-safe: a driver serialises its own refreshes and builds. */
#ifndef LM_TABLE_H
#define LM_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "lm/arena.h"
#include "lm/buf.h"
#include "lm/err.h"
#include "lm/snapshot.h"
#include "lm/store.h"

enum lm_table_format { LM_TABLE_NONE = 0, LM_TABLE_DELTA = 1, LM_TABLE_ICEBERG = 2 };

#define LM_VIEW_NAME 128

/* One name in a table's directory. */
struct lm_table_view {
	char name[LM_VIEW_NAME];    /* "@v3", "@snap-305…", "@branch-main", "@latest" */
	bool is_link;               /* a symlink to the sibling named target */
	char target[LM_VIEW_NAME];
	char key[64];               /* a directory's snapshot key (lm_table_snapshot) */
	int64_t commit_ms;          /* directory mtime; -1 unknown */
};

struct lm_table;
struct lm_forensics;
struct lm_metacache;

/* One name in a directory under @info/. */
struct lm_info_entry {
	char name[LM_VIEW_NAME];
	bool is_dir;
};

struct lm_table_ops {
	const char *format;   /* "delta", "iceberg" */
	/* Re-read what versions exist (log listing, current metadata). */
	int (*refresh)(struct lm_table *t, struct lm_err *err);
	/* The views, in display order; *out malloc'd (free()). Lists first if never listed. */
	int (*views)(struct lm_table *t, struct lm_table_view **out, size_t *n,
		     struct lm_err *err);
	/* A name not listed by views (a timestamp such as @2026-01-05T10:00:00Z): fill out
	 * (usually a link) or return ENOENT. May be NULL. */
	int (*resolve)(struct lm_table *t, const char *name, struct lm_table_view *out,
		       struct lm_err *err);
	/* The snapshot behind a directory view. ENOENT for an unknown key; a refusal code
	 * with err->msg "table T: version V: reason" and err->reason a word otherwise. */
	int (*snapshot)(struct lm_table *t, const char *key, struct lm_snapshot **out,
			struct lm_err *err);
	void (*destroy)(struct lm_table *t);
	/* Optional: generated read-only files under the table's @info/ directory (JSON,
	 * CSV): history, per-version details, deletion vectors. dir/path are relative to
	 * @info ("" = @info itself; "v3.json"; "v3/deleted_rows.csv"). info_read appends the
	 * whole content to out and says whether it can never change (immutable: cached by
	 * the kernel forever) or may (history: re-generated after latest_ttl). */
	int (*info_list)(struct lm_table *t, const char *dir, struct lm_info_entry **out,
			 size_t *n, struct lm_err *err);
	int (*info_read)(struct lm_table *t, const char *path, struct lm_buf *out,
			 bool *immutable, struct lm_err *err);
	/* Optional: forensics (storage against every reconstructible version; see
	 * struct lm_forensics below). NULL: ENOTSUP. */
	int (*forensics)(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			 struct lm_forensics **out, struct lm_err *err);
	/* Optional: a string that fully identifies the content of the snapshot behind
	 * key (table identity such as Delta metaData.id / Iceberg table-uuid, version, and
	 * the fingerprint of the log or metadata objects it is built from), for the
	 * persistent metadata cache. ENOTSUP/ENOENT: do not cache. */
	int (*cache_id)(struct lm_table *t, const char *key, char *out, size_t size,
			struct lm_err *err);
};

/* Common head of every driver's table struct. */
struct lm_table {
	const struct lm_table_ops *ops;
	struct lm_store *store;
	char *key;      /* table root key in the store ("" = the source itself) */
	char *name;     /* for messages: the table's path under SOURCE */
	enum lm_table_format fmt;
	struct lm_metacache *meta;   /* persistent snapshot cache, or NULL (borrowed) */
	int64_t orphan_min_age_ms;   /* for @info reports; -1 = the driver's default */
	/* Optional progress of long scans (forensics): phase ("listing", "log",
	 * "manifests"), units done and total (0: unknown). Set by tools; NULL: none. */
	void (*progress)(void *ud, const char *phase, uint64_t done, uint64_t total);
	void *progress_ud;
};

int lm_table_open(struct lm_store *store, const char *key, const char *name,
		  enum lm_table_format fmt, struct lm_table **out, struct lm_err *err);
void lm_table_free(struct lm_table *t);
const char *lm_table_name(const struct lm_table *t);
const char *lm_table_key(const struct lm_table *t);
int lm_table_refresh(struct lm_table *t, struct lm_err *err);
int lm_table_views(struct lm_table *t, struct lm_table_view **out, size_t *n,
		   struct lm_err *err);
int lm_table_resolve(struct lm_table *t, const char *name, struct lm_table_view *out,
		     struct lm_err *err);
int lm_table_snapshot(struct lm_table *t, const char *key, struct lm_snapshot **out,
		      struct lm_err *err);
/* ENOENT when the driver has no @info. */
bool lm_table_has_info(const struct lm_table *t);
int lm_table_info_list(struct lm_table *t, const char *dir, struct lm_info_entry **out,
		       size_t *n, struct lm_err *err);
int lm_table_info_read(struct lm_table *t, const char *path, struct lm_buf *out,
		       bool *immutable, struct lm_err *err);
/* Use a persistent metadata cache for snapshots (NULL: none). Set before use. */
void lm_table_set_metacache(struct lm_table *t, struct lm_metacache *mc);
/* Forensics of any format (ENOTSUP when the driver has none). */
int lm_table_forensics(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
		       struct lm_forensics **out, struct lm_err *err);
void lm_forensics_free(struct lm_forensics *fx);

/* Driver helpers: fill the common head (copies key and name). */
int lm_table_base_init(struct lm_table *t, const struct lm_table_ops *ops,
		       struct lm_store *store, const char *key, const char *name,
		       enum lm_table_format fmt);
void lm_table_base_free(struct lm_table *t);

/* Which format a folder holds, from the names of its immediate children (folders end
 * in '/'): LM_TABLE_DELTA for a _delta_log/ folder; LM_TABLE_NONE otherwise. Formats
 * that need a second look (Iceberg: metadata/ holding *.metadata.json) get the store. */
int lm_table_detect(struct lm_store *store, const char *key, const char *const *children,
		    size_t n, enum lm_table_format *out, struct lm_err *err);

/* ---- Delta specifics (src/delta) ---- */

struct lm_version_info {
	int64_t version;
	int64_t commit_ms;      /* commit time (storage mtime of the commit file) */
	bool has_commit;        /* NNNN.json present */
	bool has_checkpoint;    /* a complete checkpoint for this version is present */
};

int lm_delta_table_open(struct lm_store *store, const char *key, const char *name,
			struct lm_table **out, struct lm_err *err);
/* Copy of the version list (ascending); *out malloc'd. Lists first if never listed. */
int lm_delta_table_versions(struct lm_table *t, struct lm_version_info **out, size_t *n,
			    struct lm_err *err);

/* Forensics (src/delta/forensics.c): the table root's storage against every version
 * the log can rebuild. Format-owned and hidden keys (any component starting with '_' or
 * '.': _delta_log/, _change_data/, .crc) and deletion-vector files are not considered. */
enum lm_forensic_kind {
	LM_FX_ORPHAN,    /* present, never referenced, at least min_age old */
	LM_FX_RECENT,    /* present, never referenced, younger than min_age */
	LM_FX_REMOVED,   /* present, referenced by an earlier version, not by the newest */
	LM_FX_MISSING,   /* referenced by some version, absent from storage */
};

struct lm_forensic_file {
	const char *path;          /* relative to the table root */
	enum lm_forensic_kind kind;
	uint64_t size;             /* storage size (missing: the size the log records) */
	int64_t mtime_ms;          /* LastModified; -1 for missing */
	int64_t first_version;     /* first / last version whose live set holds it; */
	int64_t last_version;      /* -1: never referenced */
	int64_t removed_version;   /* removed: the next rebuilt version after last_version */
	int64_t removed_ms;        /* and its commit time; -1 otherwise */
	/* Iceberg (Delta: -1 / NULL / 0). The version fields above hold snapshot
	 * sequence numbers there (0 for every format-v1 snapshot); these hold the ids of
	 * the first / last snapshot (in commit order) whose live set holds the file and
	 * of the next snapshot after the last. */
	int64_t first_snapshot, last_snapshot, removed_snapshot;
	const int64_t *snapshots;  /* missing: ids of the snapshots that reference it */
	size_t nsnapshots;         /* (at most LM_FX_MAX_SNAPS listed) */
	size_t nsnapshots_total;
	const char *note;          /* what the file is when not a data file ("manifest",
				    * "metadata file: version 3 written twice ..."), or NULL */
	bool in_latest;            /* missing: the newest version (Delta) / the current
				    * snapshot or a ref's head (Iceberg) needs it */
};

#define LM_FX_MAX_SNAPS 64

/* A problem that is not one file: a version or snapshot that cannot be rebuilt, a
 * metadata version written twice (a failed concurrent commit). */
struct lm_forensic_issue {
	const char *kind;          /* "refused", "duplicate-metadata-version" */
	int64_t version;           /* Delta version / Iceberg metadata version; -1 none */
	int64_t snapshot;          /* Iceberg snapshot id; -1 none */
	const char *reason;        /* reason word ("log-gap", "missing-manifest", ...) */
	const char *file;          /* the object concerned (relative), or NULL */
	const char *msg;           /* one line naming table, version/snapshot, reason */
};

struct lm_forensics {
	struct lm_forensic_file *f;   /* sorted by path; only files with a finding */
	size_t n;
	size_t n_orphan, n_recent, n_removed, n_missing;
	int64_t latest;               /* newest version rebuilt, -1 none */
	int64_t restore;              /* newest rebuilt version whose files are all present */
	struct lm_arena arena;
	/* appended for Iceberg (and filled by Delta too) */
	const char *format;           /* "delta", "iceberg" */
	int64_t latest_snapshot;      /* Iceberg: current snapshot id, -1 none (Delta: -1) */
	int64_t restore_snapshot;     /* Iceberg: id of the newest snapshot (commit order)
				       * whose files are all present, -1 none */
	struct lm_forensic_issue *issues;   /* malloc'd (freed by lm_forensics_free) */
	size_t nissues;
	size_t nversions;             /* versions (Delta) / snapshots (Iceberg) examined */
	int64_t restore_metadata_version;  /* Iceberg: the newest metadata version (@v<N>)
				       * whose current snapshot has all its files, -1 none
				       * (Delta: -1) */
};

int lm_delta_forensics_run(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			   struct lm_forensics **out, struct lm_err *err);
void lm_delta_forensics_free(struct lm_forensics *fx);
const char *lm_forensic_kind_name(enum lm_forensic_kind k);

/* ---- Iceberg specifics (src/iceberg) ---- */

/* 1 when the folder at table_key holds metadata/ with a *.metadata.json (also
 * .gz.metadata.json / .metadata.json.gz) file, 0 when not, another code (never 1: a
 * storage EPERM is reported as EACCES) when the listing failed. */
int lm_iceberg_detect(struct lm_store *store, const char *table_key, struct lm_err *err);

/* Views of an Iceberg table (see src/iceberg/table.c for the full rules):
 *   @v<N>            metadata version N (vN.metadata.json / NNNNN-<uuid>.metadata.json):
 *                    the current snapshot of that metadata file (empty if none)
 *   @snap-<id>       every snapshot the current metadata records
 *   @branch-<name>, @tag-<name>   symlinks to @snap-<id> (names: '/', '%' and control
 *                    bytes %XX-escaped); main is implied by current-snapshot-id
 *   @latest          symlink to @v<N> of the current metadata file
 *   @<timestamp>     (resolve, not listed) symlink to the @snap- current at that time
 *                    by the snapshot-log: 2026-01-05T10:00:00Z, …T10:00:00.123+01:00,
 *                    2026-01-05 (midnight UTC); no zone means UTC */
int lm_iceberg_table_open(struct lm_store *store, const char *key, const char *name,
			  struct lm_table **out, struct lm_err *err);

/* Forensics of an Iceberg table (src/iceberg/forensics.c; the table's forensics op):
 * the table root's storage against everything reachable from every snapshot of every
 * metadata version present. See struct lm_forensic_file for the Iceberg meaning of
 * the version fields. Freed by lm_forensics_free. */
int lm_iceberg_forensics_run(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			     struct lm_forensics **out, struct lm_err *err);

/* Which metadata file is current and why (copied out; refreshes first if never listed). */
struct lm_iceberg_status {
	char current[256];        /* base name under metadata/, "" when none */
	bool has_version;
	int64_t version;
	bool guessed;             /* no usable hint and several files carry the highest number */
	char how[160];            /* "version-hint.text names 7", "highest version", ... */
	bool metadata_ok;         /* the current file parsed */
	size_t nfiles;            /* metadata JSON files listed */
};
int lm_iceberg_table_status(struct lm_table *t, struct lm_iceberg_status *out,
			    struct lm_err *err);

/* One file of an Iceberg scan. Content: 0 data, 1 position deletes, 2 equality deletes. */
struct lm_iceberg_file {
	const char *path;         /* relative to the table root (NULL: a delete file whose
				   * path cannot be placed inside the table) */
	const char *raw;          /* file_path as the manifest records it */
	uint64_t size;
	int64_t mtime_ms;         /* timestamp of the snapshot that added it (if known) */
	int64_t seq;              /* data sequence number */
	int64_t record_count;     /* -1 unknown */
	int content;
	bool dv;                  /* a deletion vector (Puffin blob at content_offset) */
	uint32_t flags;           /* data files: LM_FILE_HAS_DV when a delete file applies */
};

struct lm_iceberg_apply {
	uint32_t data;            /* index into data */
	uint32_t del;             /* index into deletes */
};

/* The live files of one snapshot (what @vN / @snap-<id> show, plus the delete files
 * that are kept out of the listing and which data files they apply to, scoped by
 * sequence number and partition as the spec says). */
struct lm_iceberg_scan {
	int64_t snapshot_id;      /* -1 for a metadata version without a current snapshot */
	int64_t seq;
	int64_t timestamp_ms;
	struct lm_iceberg_file *data;     /* sorted by path */
	size_t ndata;
	struct lm_iceberg_file *deletes;  /* manifest order */
	size_t ndeletes;
	struct lm_iceberg_apply *applies; /* (data, delete) pairs, capped */
	size_t napplies;
	bool applies_truncated;
	struct lm_arena arena;
};

/* The scan behind a directory view key (from lm_table_views). Refusals as for
 * lm_table_snapshot. */
int lm_iceberg_table_scan(struct lm_table *t, const char *key, struct lm_iceberg_scan **out,
			  struct lm_err *err);
void lm_iceberg_scan_free(struct lm_iceberg_scan *s);

#endif
