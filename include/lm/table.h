/* A table driver: lists a table's versions and builds the snapshot of one version,
 * fetching bytes through the store and feeding the pure decoders. One struct
 * lm_table per table root; thread-safe (an internal mutex serialises log refreshes
 * and replays of the same table). */
#ifndef LM_TABLE_H
#define LM_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "lm/err.h"
#include "lm/snapshot.h"
#include "lm/store.h"

enum lm_table_format { LM_TABLE_DELTA = 1 };

struct lm_version_info {
	int64_t version;
	int64_t commit_ms;      /* commit time (storage mtime of the commit file) */
	bool has_commit;        /* NNNN.json present */
	bool has_checkpoint;    /* a complete checkpoint for this version is present */
};

struct lm_table;

/* key: the table root inside the store ("" = the source itself); name: for messages. */
int lm_table_open(struct lm_store *store, const char *key, const char *name,
		  enum lm_table_format fmt, struct lm_table **out, struct lm_err *err);
void lm_table_free(struct lm_table *t);
const char *lm_table_name(const struct lm_table *t);
const char *lm_table_key(const struct lm_table *t);

/* Re-list the log. */
int lm_table_refresh(struct lm_table *t, struct lm_err *err);
/* Copy of the version list (ascending). *out is malloc'd; free() it. Refreshes first
 * when the table was never listed. */
int lm_table_versions(struct lm_table *t, struct lm_version_info **out, size_t *n,
		      struct lm_err *err);
/* Build (or return the cached) snapshot of a version. ENOENT when the log has no such
 * version; otherwise a refusal code with err->msg "table T: version V: reason" and
 * err->reason a word (log-gap, needs-checkpoint, invalid-json, missing-protocol,
 * missing-metadata, unsupported-reader-version, unsupported-feature, path-escape,
 * catalog-managed, ...). */
int lm_table_snapshot(struct lm_table *t, int64_t version, struct lm_snapshot **out,
		      struct lm_err *err);

/* Classify a folder from its immediate listing (names of child prefixes). */
bool lm_table_detect_delta(const char *const *child_prefixes, size_t n);

#endif
