/* Delta Lake: the pure decoders (format/delta_actions.c: commit lines and _delta_log
 * names; format/delta_checkpoint.c: checkpoint Parquet rows and _last_checkpoint;
 * format/delta_dv.c: deletion vectors; format/delta_time.c: timestamps) and the driver
 * switches (delta/). See delta-io/delta PROTOCOL.md. */
#ifndef LM_DELTA_H
#define LM_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/arena.h"
#include "lm/err.h"

/* ---- decoded actions of one commit (strings live in the commit's arena) ---- */

enum lm_delta_flag {
	LM_DELTA_DATA_CHANGE = 1,
	LM_DELTA_HAS_DV = 2,
};

struct lm_delta_file_action {
	const char *path;       /* as written in the log (URI-encoded) */
	const char *dv_id;      /* deletion vector unique id, or NULL */
	int64_t size;           /* add: bytes; remove: -1 when absent */
	int64_t mtime_ms;       /* add.modificationTime / remove.deletionTimestamp, -1 absent */
	int64_t dv_cardinality; /* -1 when no DV (or the DV does not say) */
	unsigned flags;
	/* The deletion vector descriptor (with LM_DELTA_HAS_DV): storageType 'u', 'i' or
	 * 'p'; pathOrInlineDv; offset (-1 absent) and sizeInBytes (-1 absent). */
	char dv_storage;
	const char *dv_data;
	int64_t dv_offset;
	int64_t dv_size;
};

/* A v2 checkpoint's reference to a file of add/remove actions in _delta_log/_sidecars/. */
struct lm_delta_sidecar {
	const char *path;       /* as written (URI-encoded; usually a bare file name) */
	int64_t size;           /* sizeInBytes, -1 absent */
	int64_t mtime_ms;       /* -1 absent */
};

struct lm_delta_protocol {
	int min_reader;
	int min_writer;
	const char **reader_features; /* NULL when absent (reader < 3) */
	size_t n_reader_features;
	const char **writer_features;
	size_t n_writer_features;
};

struct lm_delta_metadata {
	const char *id;
	const char *schema_string;       /* raw JSON string */
	const char **partition_columns;
	size_t n_partition_columns;
	const char *configuration_json;  /* raw JSON object text, or NULL */
	int64_t created_time;            /* -1 absent */
};

struct lm_delta_commit_info {
	int64_t timestamp;               /* -1 absent */
	int64_t in_commit_timestamp;     /* -1 absent */
	const char *operation;           /* or NULL */
	const char *json;                /* the whole commitInfo object, compact */
};

struct lm_delta_commit {
	struct lm_arena arena;
	struct lm_delta_file_action *adds;
	size_t n_adds, cap_adds;
	struct lm_delta_file_action *removes;
	size_t n_removes, cap_removes;
	bool has_protocol, has_metadata, has_commit_info;
	struct lm_delta_protocol protocol;
	struct lm_delta_metadata metadata;
	struct lm_delta_commit_info commit_info;
	size_t n_cdc, n_txn, n_domain, n_other;
	bool has_checkpoint_metadata;   /* v2 checkpoint manifest (JSON or Parquet) */
	int64_t checkpoint_version;     /* checkpointMetadata.version, -1 absent */
	struct lm_delta_sidecar *sidecars;
	size_t n_sidecars, cap_sidecars;
};

/* The decoder reads add/remove lines with an allocation-free scanner and everything
 * else with cJSON; tests switch the scanner off to compare both (default true). */
extern bool lm_delta_fast_path;

void lm_delta_commit_init(struct lm_delta_commit *c);
void lm_delta_commit_free(struct lm_delta_commit *c);
/* Decode newline-delimited JSON actions. On malformed input: LM_EFORMAT with a message
 * "line N: reason" (the caller prefixes table and file). */
int lm_delta_commit_parse(const char *buf, size_t len, struct lm_delta_commit *out,
			  struct lm_err *err);

/* ---- log file names ---- */

enum lm_delta_log_kind {
	LM_DELTA_LOG_COMMIT,           /* NNNN.json */
	LM_DELTA_LOG_CHECKPOINT,       /* NNNN.checkpoint.parquet */
	LM_DELTA_LOG_CHECKPOINT_PART,  /* NNNN.checkpoint.PPPP.TTTT.parquet */
	LM_DELTA_LOG_CHECKPOINT_V2,    /* NNNN.checkpoint.<uuid>.json|parquet */
	LM_DELTA_LOG_COMPACTION,       /* NNNN.MMMM.compacted.json */
	LM_DELTA_LOG_CRC,              /* NNNN.crc */
	LM_DELTA_LOG_LAST_CHECKPOINT,  /* _last_checkpoint */
	LM_DELTA_LOG_OTHER,
};

struct lm_delta_log_name {
	enum lm_delta_log_kind kind;
	int64_t version;
	int64_t version2;  /* compaction end version */
	int part, nparts;  /* multi-part checkpoints */
	bool parquet;      /* v2 checkpoint: parquet (else json) */
};

/* Classify a file name inside _delta_log/ (no directory part). */
void lm_delta_log_name_parse(const char *name, struct lm_delta_log_name *out);

/* Reader features this build understands for listing files. */
bool lm_delta_reader_feature_supported(const char *feature);

/* ---- checkpoints (format/delta_checkpoint.c) ---- */

struct lm_parquet_meta;

/* The leaf columns a checkpoint is read for (projection); everything else — stats,
 * tags, partition values, remove tombstones, txn, domainMetadata — is never decoded. */
enum lm_delta_ckpt_col {
	LM_DELTA_CK_ADD_PATH,
	LM_DELTA_CK_ADD_SIZE,
	LM_DELTA_CK_ADD_MTIME,
	LM_DELTA_CK_ADD_DATA_CHANGE,
	LM_DELTA_CK_ADD_DV_STORAGE,
	LM_DELTA_CK_ADD_DV_DATA,
	LM_DELTA_CK_ADD_DV_OFFSET,
	LM_DELTA_CK_ADD_DV_SIZE,
	LM_DELTA_CK_ADD_DV_CARD,
	LM_DELTA_CK_PROTO_READER,
	LM_DELTA_CK_PROTO_WRITER,
	LM_DELTA_CK_PROTO_RFEAT,
	LM_DELTA_CK_PROTO_WFEAT,
	LM_DELTA_CK_META_ID,
	LM_DELTA_CK_META_SCHEMA,
	LM_DELTA_CK_META_PARTCOLS,
	LM_DELTA_CK_META_CONF_KEY,
	LM_DELTA_CK_META_CONF_VALUE,
	LM_DELTA_CK_META_CREATED,
	LM_DELTA_CK_SIDECAR_PATH,
	LM_DELTA_CK_SIDECAR_SIZE,
	LM_DELTA_CK_SIDECAR_MTIME,
	LM_DELTA_CK_CKMETA_VERSION,
	LM_DELTA_CK_NCOLS
};

/* Which column of the file holds each needed leaf (-1: the file has no such column,
 * read as all nulls). */
struct lm_delta_ckpt_plan {
	int col[LM_DELTA_CK_NCOLS];
};

/* Resolve the needed columns of a checkpoint (or sidecar) file and check their
 * physical types. LM_EFORMAT naming the column when one has an impossible shape. */
int lm_delta_ckpt_plan(const struct lm_parquet_meta *m, struct lm_delta_ckpt_plan *p,
		       struct lm_err *err);

/* Decode row group rg: chunks[i]/lens[i] are the bytes of column p->col[i]'s chunk in
 * that row group (ignored when p->col[i] < 0). Appends the row group's add actions,
 * sidecars and (last seen) protocol / metaData / checkpointMetadata to out, whose
 * strings live in out's arena. Malformed rows: LM_EFORMAT "row group G, row R: ...". */
int lm_delta_ckpt_decode(const struct lm_parquet_meta *m, const struct lm_delta_ckpt_plan *p,
			 uint32_t rg, const uint8_t *const *chunks, const size_t *lens,
			 struct lm_delta_commit *out, struct lm_err *err);

/* Where lm_delta_ckpt_decode_to() hands the add actions instead of out->adds: add() is
 * called once per add row, in row order; a's strings live in out's arena (the path is
 * left where its Parquet page was decompressed, NUL-terminated in place: no copy) and
 * path_len is strlen(a->path). A non-zero return stops the decode with that code (the
 * sink fills err). */
struct lm_delta_ckpt_sink {
	/* Optional, first: how many add() calls follow (unless the decode fails). */
	int (*begin)(void *ud, size_t n_adds, struct lm_err *err);
	int (*add)(void *ud, const struct lm_delta_file_action *a, size_t path_len,
		   struct lm_err *err);
	void *ud;
};
int lm_delta_ckpt_decode_to(const struct lm_parquet_meta *m, const struct lm_delta_ckpt_plan *p,
			    uint32_t rg, const uint8_t *const *chunks, const size_t *lens,
			    const struct lm_delta_ckpt_sink *sink, struct lm_delta_commit *out,
			    struct lm_err *err);

/* _delta_log/_last_checkpoint. */
struct lm_delta_last_checkpoint {
	int64_t version;
	int64_t parts;          /* -1 absent (single file) */
	int64_t size;           /* actions, -1 absent */
	int64_t num_add_files;  /* -1 absent */
	bool checksum_checked;  /* a checksum was present and matched */
	char v2_path[256];      /* v2Checkpoint.path, "" when absent */
};

/* Parse and validate (JSON object, integer version >= 0, the MD5 checksum of the
 * canonical form when present). LM_EFORMAT with the reason otherwise. */
int lm_delta_last_checkpoint_parse(const char *buf, size_t len,
				   struct lm_delta_last_checkpoint *out, struct lm_err *err);

/* ---- deletion vectors (format/delta_dv.c) ---- */

/* Z85 (ZeroMQ base85) decode of n characters (n % 5 == 0) into out (cap bytes);
 * *outlen = n / 5 * 4 — less when the last chunk is short in the padded form the Rust
 * z85 crate writes (k leading '#': 4 - k bytes). EINVAL on a bad character or length,
 * LM_ETOOBIG over cap. */
int lm_delta_z85_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/* The file of a 'u' deletion vector relative to the table root: pathOrInlineDv is
 * "<random prefix><20 Z85 characters of the UUID>" → "<prefix>/deletion_vector_<uuid>.bin"
 * (no prefix directory when the prefix is empty). EINVAL when malformed. */
int lm_delta_dv_relpath(const char *path_or_inline, char *out, size_t outsz);

/* A serialized RoaringBitmapArray (magic 1681511377, then the portable 64-bit Roaring
 * format) → sorted row indexes (*rows malloc'd, at most max_rows of them, else
 * LM_ETOOBIG). LM_EFORMAT naming the problem when malformed. */
int lm_delta_dv_bitmap_decode(const uint8_t *b, size_t n, uint64_t max_rows, uint64_t **rows,
			      size_t *nrows, struct lm_err *err);

/* One stored DV in a deletion vector file: b/n are the file bytes from offset (or from
 * the start of the file when at_start, then offset must be >= 1 and the version byte 1
 * is checked). Checks dataSize == size (when size >= 0) and the CRC-32 of the bitmap;
 * the bitmap (data, dlen) points into b. LM_EFORMAT otherwise. */
int lm_delta_dv_file_slice(const uint8_t *b, size_t n, bool at_start, int64_t offset,
			   int64_t size, const uint8_t **data, size_t *dlen, struct lm_err *err);

/* ---- time (format/delta_time.c) ---- */

/* A timestamp name (without the '@'): ISO-8601 "2026-01-05T10:00:00Z", fractional
 * seconds, "+01:00"/"+0100"/"+01" offsets (no zone = UTC), a date "2026-01-05" (start
 * of that day, UTC), or Delta Spark's 17-digit yyyyMMddHHmmssSSS (UTC). ms since the
 * epoch; EINVAL when s is not one of those. */
int lm_delta_time_parse(const char *s, int64_t *ms);

/* Which time a version was committed at, for timestamp lookups: 0 (default) the
 * protocol's rule — in-commit timestamps where enabled, else the commit file's storage
 * modification time made strictly increasing as Delta does; 1 commitInfo.timestamp
 * (for copies that lost file times), made increasing the same way. Process-wide. */
void lm_delta_set_time_source(int commitinfo);
int lm_delta_time_source(void);

#endif
