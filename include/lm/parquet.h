/* Parquet decoder: bytes in, structs out, no I/O.
 *
 * Enough of Apache Parquet (parquet-format parquet.thrift + Encodings.md) to read Delta
 * checkpoints and sidecars, and most flat or nested files written by parquet-mr, arrow,
 * parquet-rs and DuckDB:
 *   - footer: FileMetaData in the Thrift compact protocol (unknown fields skipped),
 *     schema tree with definition/repetition levels, row groups, column chunks;
 *   - pages: data page v1 and v2, dictionary pages (index pages skipped);
 *   - encodings: PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY, RLE (levels, booleans),
 *     BIT_PACKED (levels), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 *     DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT;
 *   - codecs: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW and LZ4 (Hadoop framing, or a
 *     raw block) when built with liblz4. LZO and BROTLI answer LM_EUNSUPPORTED.
 * Encrypted files (PARE magic, encrypted column metadata) answer LM_EUNSUPPORTED.
 *
 * Every input is treated as hostile: all reads are bounds-checked, every count that
 * sizes an allocation is checked against the bytes present and against the caps in
 * struct lm_parquet_opts, and failures return LM_EFORMAT (malformed), LM_EUNSUPPORTED
 * (valid but not handled here), LM_ETOOBIG (a cap was hit) or ENOMEM, with a message in
 * struct lm_err that names the row group, column and page concerned.
 *
 * Typical use (a Delta checkpoint, projection on add.path and add.size):
 *
 *	struct lm_parquet_meta *m = NULL;
 *	size_t need;
 *	// tail = the last n bytes of the file (n = LM_PARQUET_TAIL_GUESS)
 *	rc = lm_parquet_footer_parse(tail, n, file_size, NULL, &m, &need, err);
 *	if (rc == ENOBUFS) { fetch the last `need` bytes and call again }
 *	int path = lm_parquet_column_find(m, "add.path");
 *	int size = lm_parquet_column_find(m, "add.size");
 *	for (uint32_t rg = 0; rg < m->nrow_groups; rg++) {
 *		const struct lm_parquet_chunk *ch = &m->row_groups[rg].chunks[path];
 *		// fetch bytes [ch->offset, ch->offset + ch->length) of the file
 *		struct lm_parquet_column c;
 *		rc = lm_parquet_column_read(m, rg, path, bytes, ch->length, &c, err);
 *		// c.def[i] == c.max_def: row i has a value; values are dense, in order
 *		lm_parquet_column_free(&c);
 *	}
 *	lm_parquet_meta_free(m);
 *
 * Memory: a column read holds its output (levels, values, byte-array data) plus one
 * decompressed page and the chunk's dictionary while it runs; it never holds more than
 * the one column chunk asked for. Nothing is shared between calls: a meta can be read
 * by several threads at once, each reading its own columns.
 */
#ifndef LM_PARQUET_H
#define LM_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"

/* Physical types (parquet.thrift Type); LM_PARQUET_GROUP marks an inner schema node. */
enum {
	LM_PARQUET_GROUP = -1,
	LM_PARQUET_BOOLEAN = 0,
	LM_PARQUET_INT32 = 1,
	LM_PARQUET_INT64 = 2,
	LM_PARQUET_INT96 = 3,
	LM_PARQUET_FLOAT = 4,
	LM_PARQUET_DOUBLE = 5,
	LM_PARQUET_BYTE_ARRAY = 6,
	LM_PARQUET_FIXED_LEN_BYTE_ARRAY = 7,
};

/* FieldRepetitionType. */
enum {
	LM_PARQUET_REQUIRED = 0,
	LM_PARQUET_OPTIONAL = 1,
	LM_PARQUET_REPEATED = 2,
};

/* CompressionCodec. */
enum {
	LM_PARQUET_CODEC_UNCOMPRESSED = 0,
	LM_PARQUET_CODEC_SNAPPY = 1,
	LM_PARQUET_CODEC_GZIP = 2,
	LM_PARQUET_CODEC_LZO = 3,
	LM_PARQUET_CODEC_BROTLI = 4,
	LM_PARQUET_CODEC_LZ4 = 5,
	LM_PARQUET_CODEC_ZSTD = 6,
	LM_PARQUET_CODEC_LZ4_RAW = 7,
};

/* ConvertedType values used by readers of Delta checkpoints (the field holds the raw
 * thrift enum value, so others appear as their parquet.thrift number). */
enum {
	LM_PARQUET_CT_NONE = -1,
	LM_PARQUET_CT_UTF8 = 0,
	LM_PARQUET_CT_MAP = 1,
	LM_PARQUET_CT_MAP_KEY_VALUE = 2,
	LM_PARQUET_CT_LIST = 3,
	LM_PARQUET_CT_DECIMAL = 5,
	LM_PARQUET_CT_DATE = 6,
	LM_PARQUET_CT_TIMESTAMP_MILLIS = 9,
	LM_PARQUET_CT_TIMESTAMP_MICROS = 10,
	LM_PARQUET_CT_JSON = 19,
};

/* LogicalType union member (its thrift field id); 0 when absent. */
enum {
	LM_PARQUET_LT_NONE = 0,
	LM_PARQUET_LT_STRING = 1,
	LM_PARQUET_LT_MAP = 2,
	LM_PARQUET_LT_LIST = 3,
	LM_PARQUET_LT_ENUM = 4,
	LM_PARQUET_LT_DECIMAL = 5,
	LM_PARQUET_LT_DATE = 6,
	LM_PARQUET_LT_TIME = 7,
	LM_PARQUET_LT_TIMESTAMP = 8,
	LM_PARQUET_LT_INTEGER = 10,
	LM_PARQUET_LT_UNKNOWN = 11,
	LM_PARQUET_LT_JSON = 12,
	LM_PARQUET_LT_BSON = 13,
	LM_PARQUET_LT_UUID = 14,
	LM_PARQUET_LT_FLOAT16 = 15,
	LM_PARQUET_LT_VARIANT = 16,
};

/* Bytes of the file tail that always suffice to learn the footer length, and a first
 * read that holds the whole footer of most files (Delta checkpoints included). */
#define LM_PARQUET_TAIL_MIN 8
#define LM_PARQUET_TAIL_GUESS (64 * 1024)

/* Caps; a zero field means "use the default" (given in brackets). */
struct lm_parquet_opts {
	size_t max_footer;        /* FileMetaData bytes [64 MiB] */
	size_t max_page;          /* one page, compressed or uncompressed [256 MiB] */
	uint64_t max_values;      /* level entries (values incl. nulls) per column chunk [1<<28] */
	size_t max_column_bytes;  /* decoded output of one column chunk [2 GiB] */
	uint32_t max_schema;      /* schema elements [100000] */
	uint32_t max_depth;       /* schema nesting depth, also thrift nesting [64; at most 100] */
};

/* Fill o with the defaults. */
void lm_parquet_opts_init(struct lm_parquet_opts *o);

/* One schema element. Nodes are listed depth-first, nodes[0] is the root. */
struct lm_parquet_node {
	const char *name;         /* as written (NUL-free) */
	const char *path;         /* dotted path below the root, e.g. "add.partitionValues.key_value.key";
	                           * "" for the root */
	int32_t parent;           /* node index, -1 for the root */
	uint32_t nchildren;
	const uint32_t *children; /* node indices, in schema order */
	int8_t type;              /* LM_PARQUET_BOOLEAN ... or LM_PARQUET_GROUP */
	int8_t repetition;        /* LM_PARQUET_REQUIRED/OPTIONAL/REPEATED (root: REQUIRED) */
	uint8_t def_level;        /* max definition level of this node: a leaf value (or this
	                           * group) is present iff its definition level >= def_level */
	uint8_t rep_level;        /* max repetition level of this node */
	int32_t converted;        /* ConvertedType, LM_PARQUET_CT_NONE when absent */
	int32_t logical;          /* LM_PARQUET_LT_*, LM_PARQUET_LT_NONE when absent */
	int32_t type_length;      /* FIXED_LEN_BYTE_ARRAY width (12 for INT96), else -1 */
	int32_t scale, precision; /* DECIMAL, else -1 */
	int32_t field_id;         /* -1 when absent */
	int32_t column;           /* leaf: column index; group: -1 */
};

/* One column chunk of one row group. */
struct lm_parquet_chunk {
	int32_t codec;                   /* LM_PARQUET_CODEC_* */
	int64_t num_values;              /* level entries in the chunk (values incl. nulls) */
	int64_t data_page_offset;
	int64_t dictionary_page_offset;  /* -1 when absent */
	int64_t total_compressed_size;
	int64_t total_uncompressed_size;
	/* The byte range of the file to hand to lm_parquet_column_read(): it starts at the
	 * dictionary page if any, else at the first data page, and was checked to lie
	 * between the leading magic and the footer when the file size was known. */
	uint64_t offset;
	uint64_t length;
};

struct lm_parquet_row_group {
	int64_t num_rows;
	int64_t total_byte_size;
	struct lm_parquet_chunk *chunks; /* meta->ncolumns entries, in column order */
};

struct lm_parquet_kv {
	const char *key;
	const char *value;               /* NULL when absent */
	size_t value_len;                /* bytes in value (it may hold NULs) */
};

/* The parsed footer. Read-only for callers; everything lives until meta_free. */
struct lm_parquet_meta {
	int32_t version;
	int64_t num_rows;
	const char *created_by;          /* NULL when absent */
	uint32_t nnodes;
	struct lm_parquet_node *nodes;   /* nodes[0] is the root */
	uint32_t ncolumns;
	uint32_t *columns;               /* leaf node index of each column */
	uint32_t nrow_groups;
	struct lm_parquet_row_group *row_groups;
	uint32_t nkv;
	struct lm_parquet_kv *kv;        /* FileMetaData.key_value_metadata */
	uint64_t file_size;              /* as given to footer_parse (0 = unknown) */
	uint64_t footer_offset;          /* file offset of FileMetaData (when file_size known) */
	struct lm_parquet_opts opts;     /* caps in force, defaults filled in */
	void *priv;                      /* allocator state */
};

/* Parse the footer from the tail of a Parquet file.
 *
 * tail/len: the last len bytes of the file (len may be the whole file). file_size: the
 * file's length, or 0 when unknown (then chunk ranges cannot be checked against it and
 * footer_offset stays 0). opts may be NULL for the defaults.
 *
 * Returns 0 and *out (free with lm_parquet_meta_free); ENOBUFS when len is shorter than
 * the footer: *need (if need != NULL) then holds the number of tail bytes required, and
 * the caller retries with at least that many; LM_EFORMAT / LM_EUNSUPPORTED /
 * LM_ETOOBIG / ENOMEM otherwise. The input is not referenced after return. */
int lm_parquet_footer_parse(const void *tail, size_t len, uint64_t file_size,
			    const struct lm_parquet_opts *opts, struct lm_parquet_meta **out,
			    size_t *need, struct lm_err *err);
void lm_parquet_meta_free(struct lm_parquet_meta *m);

/* Column index of the leaf whose dotted path is `path` ("add.path"), or -1. Names that
 * themselves contain dots are matched literally against the joined path. */
int lm_parquet_column_find(const struct lm_parquet_meta *m, const char *path);
/* Node index (group or leaf) for a dotted path, or -1; "" is the root. */
int lm_parquet_node_find(const struct lm_parquet_meta *m, const char *path);
/* Child of node `parent` named `name`, or -1. */
int lm_parquet_node_child(const struct lm_parquet_meta *m, int parent, const char *name);

/* Resolve the leaf columns of a MAP node (e.g. "add.partitionValues"), following the
 * LogicalTypes.md rules incl. the legacy layouts: node -> repeated group -> key, value.
 * *value_col is -1 when the map has no value (a set). LM_EFORMAT when the node is not
 * shaped like a map of primitives. */
int lm_parquet_map_columns(const struct lm_parquet_meta *m, int node, int *key_col,
			   int *value_col, struct lm_err *err);
/* Resolve the element column of a LIST node (3-level and legacy 2-level layouts) whose
 * element is primitive; a bare repeated primitive field is its own element. */
int lm_parquet_list_column(const struct lm_parquet_meta *m, int node, int *elem_col,
			   struct lm_err *err);

/* A decoded column chunk.
 *
 * Levels: num_levels entries, one per leaf slot (a value, a null, or an empty/null
 * list or map). def[i] == max_def means slot i has a value; values are dense (only
 * present ones) and in slot order, so the k-th slot with def == max_def holds value k.
 * def is NULL when max_def == 0 (every slot has a value); rep is NULL when
 * max_rep == 0 (every slot starts a new row, so slot i is row i).
 *
 * Values by physical type:
 *   BOOLEAN            v.b[k]   (0 or 1)
 *   INT32              v.i32[k]
 *   INT64              v.i64[k]
 *   FLOAT / DOUBLE     v.f32[k] / v.f64[k]
 *   BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96 (12 raw bytes, passed through)
 *                      data + offsets: value k is data[offsets[k] .. offsets[k+1]),
 *                      see lm_parquet_column_bytes(); data is NUL-terminated after
 *                      the last value (not counted) so a single value can be printed.
 * All arrays are owned by the column: byte-array values are copied out of the pages
 * (dictionary values are expanded), so they live until lm_parquet_column_free() and do
 * not depend on the chunk bytes given to column_read, which may be freed right after. */
struct lm_parquet_column {
	int type;                 /* physical type */
	int32_t type_length;      /* FIXED_LEN_BYTE_ARRAY width, 12 for INT96, else -1 */
	uint8_t max_def, max_rep;
	uint8_t elem_def;         /* max_rep > 0: a slot holds a list/map entry iff
	                           * def >= elem_def (the def level of the innermost
	                           * repeated ancestor); else 0 */
	size_t num_levels;
	uint8_t *def;
	uint8_t *rep;
	size_t num_values;
	union {
		uint8_t *b;
		int32_t *i32;
		int64_t *i64;
		float *f32;
		double *f64;
		void *any;
	} v;                      /* fixed-width values; NULL for byte arrays */
	uint64_t *offsets;        /* byte arrays: num_values + 1 entries */
	uint8_t *data;
	size_t data_len;
	/* Instead of offsets/data when read with lm_parquet_read_opts.alloc (BYTE_ARRAY
	 * only): value k is sv[k], svlen[k] bytes followed by a NUL (the value may hold NULs
	 * itself: compare svlen with strlen when that matters). The bytes stay where the
	 * page was decompressed, in blocks from the caller's allocator. */
	const uint8_t **sv;
	uint32_t *svlen;
};

/* Make c safe to free (all empty). column_read does it itself. */
void lm_parquet_column_init(struct lm_parquet_column *c);
/* Decode column `col` of row group `rg` from its chunk bytes (the file range
 * [chunk.offset, chunk.offset + chunk.length); len may exceed chunk.length, extra bytes
 * are ignored). *out is initialised first, and freed again on failure. */
int lm_parquet_column_read(const struct lm_parquet_meta *m, uint32_t rg, uint32_t col,
			   const void *chunk, size_t len, struct lm_parquet_column *out,
			   struct lm_err *err);
/* Idempotent. */
void lm_parquet_column_free(struct lm_parquet_column *c);

/* Options of lm_parquet_column_read_ex(). */
struct lm_parquet_read_opts {
	/* When set, the values of a BYTE_ARRAY column are not copied out of their pages:
	 * each page holding PLAIN values (and the dictionary page) is decompressed into a
	 * block of alloc(alloc_ud, n) bytes and its values are NUL-terminated in place (the
	 * 4-byte length that follows a value becomes its NUL); DELTA_* pages write their
	 * values into such blocks. The column gets sv/svlen. The blocks belong to the
	 * caller — typically an arena that outlives the column — and are never freed by
	 * the decoder, also not on failure. alloc returns NULL on ENOMEM. */
	void *(*alloc)(void *ud, size_t n);
	void *alloc_ud;
};

/* lm_parquet_column_read() with options (ro may be NULL). */
int lm_parquet_column_read_ex(const struct lm_parquet_meta *m, uint32_t rg, uint32_t col,
			      const void *chunk, size_t len, const struct lm_parquet_read_opts *ro,
			      struct lm_parquet_column *out, struct lm_err *err);

/* Value k of a byte-array column; its length goes to *len. */
static inline const uint8_t *lm_parquet_column_bytes(const struct lm_parquet_column *c,
						     size_t k, size_t *len)
{
	if (c->sv) {
		*len = c->svlen[k];
		return c->sv[k];
	}
	*len = (size_t)(c->offsets[k + 1] - c->offsets[k]);
	return c->data + c->offsets[k];
}

/* Rows of a column with max_rep <= 1, reassembled from its levels (Dremel).
 *
 * Row r's slots start at a level with rep == 0. row_def[r] is the definition level of
 * the row's first slot: compare it with a node's def_level to learn whether that
 * ancestor (e.g. the "add" struct, or the map "add.partitionValues") is present in
 * row r: present iff row_def[r] >= node->def_level.
 *
 * Entries: for max_rep == 0 each row is one entry (row_start is NULL, entry r is row
 * r). For max_rep == 1 (a list element, a map key or value) the entries of row r are
 * [row_start[r], row_start[r+1]); a row whose list/map is null or empty has none.
 * value[e] is the index of entry e's value in the column's dense values, or -1 when
 * that entry is null. The key and value columns of one map give the same row_start. */
struct lm_parquet_rows {
	size_t nrows;
	uint8_t *row_def;
	size_t *row_start;        /* nrows + 1 entries, or NULL when max_rep == 0 */
	size_t nentries;
	int64_t *value;
};

void lm_parquet_rows_init(struct lm_parquet_rows *r);
/* LM_EUNSUPPORTED for max_rep > 1, LM_EFORMAT for inconsistent levels. */
int lm_parquet_rows_build(const struct lm_parquet_column *c, struct lm_parquet_rows *out,
			  struct lm_err *err);
void lm_parquet_rows_free(struct lm_parquet_rows *r);

/* Names for messages ("SNAPPY", "INT64", "RLE_DICTIONARY"); never NULL. */
const char *lm_parquet_codec_name(int codec);
const char *lm_parquet_type_name(int type);
const char *lm_parquet_encoding_name(int encoding);

#endif
