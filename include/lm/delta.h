/* Delta Lake log: action decoding (pure, format/delta_actions.c), log listing and
 * replay (delta/). See delta-io/delta PROTOCOL.md. */
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
	int64_t dv_cardinality; /* -1 when no DV */
	unsigned flags;
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
	bool has_checkpoint_metadata;   /* v2 checkpoint manifest in JSON */
	size_t n_sidecars;
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

#endif
