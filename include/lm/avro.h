/* Avro object container files (the format of Iceberg manifest lists and manifests).
 *
 * A pure decoder over bytes the caller holds: header (magic, metadata map, sync
 * marker), the writer's schema (parsed from avro.schema with lm_json), then blocks
 * (codecs null, deflate, snappy with its CRC, zstandard) of records decoded one at a
 * time into a value tree. Everything is bounds-checked; decompressed block size,
 * values per record, nesting depth and schema size are capped.
 *
 * Values are generic: a record's fields are in writer-schema order and found by
 * Iceberg field id or by name (lm_avro_field); a union is resolved to the branch the
 * data chose (value->branch says which). Strings and bytes point into the reader's
 * block buffer. A record and everything under it stay valid until the next
 * lm_avro_next or lm_avro_close. */
#ifndef LM_AVRO_H
#define LM_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"

enum lm_avro_type {
	LM_AVRO_NULL = 0,
	LM_AVRO_BOOLEAN,
	LM_AVRO_INT,
	LM_AVRO_LONG,
	LM_AVRO_FLOAT,
	LM_AVRO_DOUBLE,
	LM_AVRO_BYTES,
	LM_AVRO_STRING,
	LM_AVRO_RECORD,
	LM_AVRO_ENUM,
	LM_AVRO_ARRAY,
	LM_AVRO_MAP,
	LM_AVRO_UNION,
	LM_AVRO_FIXED,
};

struct lm_avro_schema {
	uint8_t type;                    /* enum lm_avro_type */
	const char *name;                /* record/enum/fixed: full name; else NULL */
	uint32_t n;                      /* record fields, union branches, enum symbols, fixed size */
	struct lm_avro_schema **sub;     /* record field types, union branches, array items /
					  * map values (n == 1 for those two: sub[0]) */
	const char **field_names;        /* record */
	int32_t *field_ids;              /* record: the Iceberg "field-id", -1 when absent */
	const char **symbols;            /* enum */
};

struct lm_avro_value {
	const struct lm_avro_schema *schema; /* concrete type (never a union) */
	int32_t branch;                  /* union branch taken, -1 when not under a union */
	uint32_t n;                      /* record fields, array items, map entries, byte length */
	union {
		int64_t l;                   /* boolean (0/1), int, long, enum index */
		double d;                    /* float, double */
		const uint8_t *bytes;        /* bytes, string (not NUL-terminated), fixed */
		struct lm_avro_value *items; /* record fields; array items; map: 2n (key, value) */
	} u;
};

struct lm_avro_limits {
	size_t max_block;        /* decompressed bytes per block; 0 = 256 MiB */
	size_t max_values;       /* values decoded per record; 0 = 4M */
	unsigned max_depth;      /* schema / value nesting; 0 = 64 */
	size_t max_schema_nodes; /* 0 = 100000 */
};

struct lm_avro_reader;

/* Parse the header of the container file data[0..len) (borrowed: must outlive the
 * reader). LM_EFORMAT (bad magic, truncated header, unparsable schema),
 * LM_EUNSUPPORTED (codec), LM_ETOOBIG, ENOMEM. */
int lm_avro_open(const void *data, size_t len, const struct lm_avro_limits *lim,
		 struct lm_avro_reader **out, struct lm_err *err);
void lm_avro_close(struct lm_avro_reader *r);
/* A header metadata value ("avro.schema", "format-version", ...); NULL when absent. */
const uint8_t *lm_avro_meta(const struct lm_avro_reader *r, const char *key, size_t *len);
const struct lm_avro_schema *lm_avro_schema(const struct lm_avro_reader *r);
const char *lm_avro_codec(const struct lm_avro_reader *r);
/* The next record: 0 with *rec set, or 0 with *rec == NULL at the end of the file.
 * LM_EFORMAT (truncated or corrupt block, sync mismatch, bad varint, ...),
 * LM_ETOOBIG, ENOMEM. */
int lm_avro_next(struct lm_avro_reader *r, const struct lm_avro_value **rec,
		 struct lm_err *err);

/* A record's field by Iceberg field id (>= 0) or, failing that, by name (may be NULL).
 * NULL when rec is not a record, the field is absent, or its value is null. */
const struct lm_avro_value *lm_avro_field(const struct lm_avro_value *rec, int32_t id,
					  const char *name);
/* int or long value: 0 or EINVAL (NULL / other type). */
int lm_avro_long(const struct lm_avro_value *v, int64_t *out);
/* string or bytes: the bytes and length, or NULL. */
const uint8_t *lm_avro_bytes(const struct lm_avro_value *v, size_t *len);

#endif
