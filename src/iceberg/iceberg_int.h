/* Internals of the Iceberg driver shared by table.c, scan.c and paths.c (and the unit
 * tests). Not part of the public API. */
#ifndef LM_ICEBERG_INT_H
#define LM_ICEBERG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/iceberg.h"
#include "lm/store.h"
#include "lm/table.h"

/* Caps on what one object may weigh. */
#define ICE_MAX_METADATA ((size_t)256 << 20)
#define ICE_MAX_INFLATED ((size_t)512 << 20)
#define ICE_MAX_HINT ((size_t)4096)
#define ICE_MAX_MANIFEST_LIST ((size_t)256 << 20)
#define ICE_MAX_MANIFEST ((size_t)256 << 20)
#define ICE_MAX_FILES ((size_t)50 << 20)       /* live entries per snapshot */
#define ICE_MAX_APPLIES ((size_t)4 << 20)      /* (data, delete) pairs kept per scan */
#define ICE_MAX_ALIASES 8
#define ICE_MAX_SNAP_VIEWS ((size_t)100000)  /* @snap- names listed (the newest) */

/* How the writer spelled the table root: the metadata location plus prefixes learned
 * from paths of files we can see in our own metadata/ folder (a manifest list
 * recorded as "data/persistent/t/metadata/snap-1.avro" while metadata/snap-1.avro is
 * here teaches that "data/persistent/t/" is the table root). All normalised
 * (see ice_norm). */
struct ice_roots {
	char *loc[1 + ICE_MAX_ALIASES];
	size_t n;
	char *shown;          /* the first root as written, for messages */
};

void ice_roots_init(struct ice_roots *r);
void ice_roots_free(struct ice_roots *r);
/* Add a root (normalised here; duplicates and "" ignored). 0 or ENOMEM. */
int ice_roots_add(struct ice_roots *r, const char *root);
/* Learn from path p, which names file base (under metadata/) when base is one of
 * names[0..n) (sorted): the part before "metadata/<base>" becomes a root. */
int ice_roots_learn(struct ice_roots *r, const char *p, char *const *names, size_t n);

/* Normalised form for prefix comparison (never percent-decoded): s3a:// and s3n://
 * become s3://; file:///x, file://localhost/x and file:/x become /x; leading "./"
 * dropped. malloc'd, NULL on ENOMEM. */
char *ice_norm(const char *p);

/* Place raw (a file_path or manifest path as written) inside the table: the path
 * relative to the table root (malloc'd, never percent-decoded). Order: a known root
 * as prefix; a relative path as relative to the table root; an absolute path or
 * file: URI through the store (must land inside table_key). LM_EESCAPE (message
 * naming raw) when it cannot be placed. */
int ice_relocate(const struct ice_roots *roots, struct lm_store *store, const char *table_key,
		 const char *raw, char **rel, struct lm_err *err);

/* What a scan needs from the driver. */
struct ice_scan_ctx {
	struct lm_store *store;
	const char *table_key;
	const char *what;                  /* "table T: version 3" — message prefix */
	const struct lm_iceberg_meta *meta;     /* the metadata the snapshot comes from */
	char *const *names;                /* base names under metadata/, sorted */
	size_t nnames;
	const struct lm_iceberg_meta *current;  /* the table's current metadata, or NULL */
};

/* Build the scan of snapshot s (NULL: an empty scan) of ctx->meta. Refusals carry a
 * reason word (missing-manifest-list, missing-manifest, invalid-avro, path-escape,
 * duplicate-path, invalid-metadata, too-big); storage errors carry none. */
int ice_scan_build(const struct ice_scan_ctx *ctx, const struct lm_iceberg_snapshot *s,
		   struct lm_iceberg_scan **out, struct lm_err *err);

/* ISO 8601 timestamp ("2026-01-05T10:00:00Z", "...T10:00:00.5+01:00", "2026-01-05")
 * to ms since the epoch; no zone means UTC. EINVAL when not a timestamp. */
int ice_parse_time(const char *s, int64_t *ms);

/* ---------- table.c accessors for info.c ---------- */

/* One metadata version present under metadata/. */
struct ice_version_desc {
	int64_t n;
	char file[256];           /* base name under metadata/ */
	bool guess;               /* several files carry n and nothing said which one */
	bool current;             /* the table's current metadata file */
	uint64_t size;
	int64_t mtime_ms;
};

/* The versions present, ascending; *out malloc'd. Lists first if never listed. */
int ice_table_versions(struct lm_table *t, struct ice_version_desc **out, size_t *n,
		       struct lm_err *err);

/* Call fn with the parsed metadata of version n (has_n false: the current metadata)
 * and its description, with the table's lock held (fn must not call into the table).
 * ENOENT for an unknown version; a refusal (err->reason set) when the file does not
 * parse; fn's result otherwise. */
int ice_table_with_meta(struct lm_table *t, bool has_n, int64_t n,
			int (*fn)(void *ud, const struct lm_iceberg_meta *m,
				  const struct ice_version_desc *d, struct lm_err *err),
			void *ud, struct lm_err *err);

/* info.c: the @info ops. */
int ice_info_list(struct lm_table *t, const char *dir, struct lm_info_entry **out, size_t *n,
		  struct lm_err *err);
int ice_info_read(struct lm_table *t, const char *path, struct lm_buf *out, bool *immutable,
		  struct lm_err *err);

#endif
