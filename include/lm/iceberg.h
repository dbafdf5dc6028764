/* Apache Iceberg metadata decoders (format/iceberg_meta.c): the table metadata JSON
 * (plain or gzip), metadata file names and version hints, manifest lists and
 * manifests (Avro, format v1-v3). Pure: bytes in, structs out, no I/O. The driver
 * that fetches the bytes and turns them into directories is src/iceberg.
 *
 * 64-bit ids, sequence numbers, sizes and timestamps are exact (own JSON reader, own
 * Avro decoder). Paths are kept exactly as written (Iceberg paths are never
 * percent-decoded); strings containing NUL are refused. */
#ifndef LM_ICEBERG_H
#define LM_ICEBERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/arena.h"
#include "lm/avro.h"
#include "lm/err.h"
#include "lm/json.h"

/* ---------- metadata file names and version hints ---------- */

struct lm_iceberg_meta_name {
	bool has_version;   /* the name carries a version number */
	int64_t version;    /* v<N>…, or the leading number of NNNNN-<uuid> */
	bool canonical;     /* exactly v<N>[.gz].metadata.json or NNNNN-<rest>.metadata.json */
	bool gz;            /* .gz.metadata.json or .metadata.json.gz */
	size_t stem_len;    /* bytes before [.gz].metadata.json[.gz] */
};

/* 0 when name (a base name) is a metadata file name, EINVAL otherwise. */
int lm_iceberg_meta_name_parse(const char *name, struct lm_iceberg_meta_name *out);

enum lm_iceberg_hint_kind {
	LM_ICEBERG_HINT_NONE = 0,   /* empty or unusable */
	LM_ICEBERG_HINT_NUMBER,     /* "7" */
	LM_ICEBERG_HINT_STEM,       /* "00001-<uuid>" (a file stem, or a file name / path) */
};

struct lm_iceberg_hint {
	int kind;
	int64_t number;
	char stem[256];     /* HINT_STEM: the file stem (no directory, no .metadata.json) */
};

/* version-hint.text content (whitespace trimmed). Never fails: junk is HINT_NONE. */
void lm_iceberg_hint_parse(const char *s, size_t n, struct lm_iceberg_hint *out);

/* ---------- table metadata ---------- */

struct lm_iceberg_snapshot {
	int64_t id;
	bool has_parent;
	int64_t parent_id;
	int64_t seq;                   /* sequence-number; 0 when absent (v1) */
	int64_t timestamp_ms;          /* -1 when absent */
	const char *manifest_list;     /* NULL: v1 snapshot listing its manifests inline */
	const char **manifests;        /* v1 "manifests" */
	size_t nmanifests;
	const char *operation;         /* summary.operation, or NULL */
	const struct lm_json *summary; /* the summary object, or NULL */
};

struct lm_iceberg_ref {
	const char *name;
	int64_t snapshot_id;
	bool is_tag;
};

struct lm_iceberg_log_entry {
	int64_t timestamp_ms;
	int64_t snapshot_id;           /* snapshot-log */
	const char *file;              /* metadata-log: metadata-file */
};

struct lm_iceberg_meta {
	int format_version;            /* 1 when absent */
	const char *table_uuid;        /* or NULL */
	const char *location;          /* or NULL */
	int64_t last_sequence_number;
	int64_t last_updated_ms;       /* -1 when absent */
	bool has_current;
	int64_t current_snapshot_id;
	struct lm_iceberg_snapshot *snapshots;   /* document order */
	size_t nsnapshots;
	struct lm_iceberg_ref *refs;             /* sorted by name */
	size_t nrefs;
	size_t refs_skipped;                     /* malformed refs left out */
	struct lm_iceberg_log_entry *snapshot_log;
	size_t nsnapshot_log;
	struct lm_iceberg_log_entry *metadata_log;
	size_t nmetadata_log;
	bool gzipped;                  /* the bytes were gzip-compressed */
	const struct lm_json *root;    /* the whole document (schemas, specs, properties) */
	/* private */
	struct lm_json_doc *doc;
	struct lm_arena arena;
	uint32_t *by_id;               /* snapshot indices sorted by id */
};

/* Parse a metadata file (gzip content is recognised by its magic and inflated up to
 * max_inflated bytes; 0 = 512 MiB). LM_EFORMAT with err->reason "invalid-json"
 * (syntax) or "invalid-metadata" (a field of the wrong shape, duplicate snapshot
 * ids); LM_ETOOBIG; ENOMEM. */
int lm_iceberg_meta_parse(const void *data, size_t len, size_t max_inflated,
			  struct lm_iceberg_meta **out, struct lm_err *err);
void lm_iceberg_meta_free(struct lm_iceberg_meta *m);
/* The snapshot with this id, or NULL. */
const struct lm_iceberg_snapshot *lm_iceberg_meta_snapshot(const struct lm_iceberg_meta *m,
							   int64_t id);
/* The snapshot current at ts_ms by the snapshot-log (spec: time travel uses the log,
 * the last entry at or before ts). ENOENT when none. */
int lm_iceberg_meta_as_of(const struct lm_iceberg_meta *m, int64_t ts_ms, int64_t *id);

/* ---------- manifest lists ---------- */

enum { LM_ICEBERG_CONTENT_DATA = 0, LM_ICEBERG_CONTENT_DELETES = 1 };

struct lm_iceberg_manifest_file {
	const char *path;
	int64_t length;
	int32_t spec_id;
	int content;                   /* LM_ICEBERG_CONTENT_* (0 in v1) */
	int64_t seq;                   /* sequence_number (0 in v1) */
	int64_t min_seq;
	bool has_added_snapshot_id;
	int64_t added_snapshot_id;
};

struct lm_iceberg_manifest_list {
	struct lm_iceberg_manifest_file *v;
	size_t n;
	struct lm_arena arena;
};

void lm_iceberg_manifest_list_init(struct lm_iceberg_manifest_list *l);
void lm_iceberg_manifest_list_free(struct lm_iceberg_manifest_list *l);
/* LM_EFORMAT (reason "invalid-avro"), LM_EUNSUPPORTED (codec), LM_ETOOBIG, ENOMEM. */
int lm_iceberg_manifest_list_parse(const void *data, size_t len,
				   const struct lm_avro_limits *lim,
				   struct lm_iceberg_manifest_list *out, struct lm_err *err);

/* ---------- manifests ---------- */

enum { LM_ICEBERG_EXISTING = 0, LM_ICEBERG_ADDED = 1, LM_ICEBERG_DELETED = 2 };
enum { LM_ICEBERG_FILE_DATA = 0, LM_ICEBERG_FILE_POS_DELETES = 1,
       LM_ICEBERG_FILE_EQ_DELETES = 2 };

struct lm_iceberg_entry {
	int status;                    /* LM_ICEBERG_EXISTING/ADDED/DELETED */
	int content;                   /* LM_ICEBERG_FILE_* */
	bool has_snapshot_id;
	int64_t snapshot_id;           /* after inheritance */
	int64_t seq;                   /* data sequence number after inheritance */
	int64_t file_seq;
	const char *path;              /* file_path, exactly as written */
	const char *format;            /* file_format ("PARQUET", "PUFFIN", ...) */
	int64_t record_count;
	int64_t size;                  /* file_size_in_bytes */
	const char *referenced;        /* referenced_data_file, or NULL */
	int64_t content_offset;        /* -1 when absent (deletion vectors have it) */
	int64_t content_size;
	const uint8_t *part;           /* canonical bytes of the partition tuple */
	size_t part_len;
	const char *path_lower;        /* position deletes: bounds of their file_path */
	const char *path_upper;        /*   column (field 2147483546), or NULL */
};

struct lm_iceberg_manifest {
	int32_t spec_id;               /* header partition-spec-id, else the list's */
	bool unpartitioned;            /* the spec has no fields (or only void ones) */
	int content;                   /* header content, else the list's */
	struct lm_iceberg_entry *v;
	size_t n;
	struct lm_arena arena;
};

void lm_iceberg_manifest_init(struct lm_iceberg_manifest *m);
void lm_iceberg_manifest_free(struct lm_iceberg_manifest *m);
/* from: the manifest list entry (inheritance of snapshot id and sequence numbers,
 * spec id, content), or NULL for a v1 snapshot's inline manifests. */
int lm_iceberg_manifest_parse(const void *data, size_t len,
			      const struct lm_iceberg_manifest_file *from,
			      const struct lm_avro_limits *lim, struct lm_iceberg_manifest *out,
			      struct lm_err *err);

#endif
