/* Tables: the generic interface every format driver implements (Delta now, Iceberg
 * next). A driver lists a table's "views" — the names its directory shows (version
 * directories and symlinks such as @latest) — and builds the immutable snapshot behind a
 * directory view. Drivers fetch bytes through the store and feed the pure decoders.
 * Thread-safe: a driver serialises its own refreshes and builds. */
#ifndef LM_TABLE_H
#define LM_TABLE_H

#include <stdbool.h>
#include <stdint.h>

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
};

/* Common head of every driver's table struct. */
struct lm_table {
	const struct lm_table_ops *ops;
	struct lm_store *store;
	char *key;      /* table root key in the store ("" = the source itself) */
	char *name;     /* for messages: the table's path under SOURCE */
	enum lm_table_format fmt;
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

#endif
