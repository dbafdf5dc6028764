/* A small strict JSON reader that keeps numbers exact.
 *
 * cJSON stores every number as a double and so cannot carry 64-bit ids such as
 * Iceberg's snapshot-id 3051729675574597004. This reader builds a read-only tree in
 * one arena; a number keeps its raw text and is converted on request (lm_json_i64 is
 * exact over the whole int64 range). Strings are decoded (escapes, surrogate pairs)
 * and NUL-terminated; a string holding U+0000 is refused, so every string is a valid
 * C string. Input is bounded by the caller; nesting depth and node count are capped.
 * Pure decoder: bytes in, tree out, no I/O. */
#ifndef LM_JSON_H
#define LM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"

enum lm_json_type {
	LM_JSON_NULL = 0,
	LM_JSON_FALSE,
	LM_JSON_TRUE,
	LM_JSON_NUMBER,
	LM_JSON_STRING,
	LM_JSON_ARRAY,
	LM_JSON_OBJECT,
};

struct lm_json {
	uint8_t type;             /* enum lm_json_type */
	uint32_t n;               /* array/object: members; string/number: byte length */
	const char *key;          /* member name inside an object, else NULL */
	union {
		const char *str;      /* string (decoded) or number (raw text), NUL-terminated */
		struct lm_json *kids; /* array elements / object members, in document order */
	} u;
};

struct lm_json_limits {
	unsigned max_depth;       /* nesting; 0 = 256 */
	size_t max_nodes;         /* 0 = 16M */
};

struct lm_json_doc;

/* Parse exactly one JSON value (surrounding whitespace allowed) from s[0..n).
 * LM_EFORMAT with "line L, column C: why" on malformed input; LM_ETOOBIG when a
 * limit is hit; ENOMEM. */
int lm_json_parse(const char *s, size_t n, const struct lm_json_limits *lim,
		  struct lm_json_doc **out, struct lm_err *err);
void lm_json_doc_free(struct lm_json_doc *d);
const struct lm_json *lm_json_doc_root(const struct lm_json_doc *d);

/* Member of an object (the last one when a key repeats, as Jackson reads it); NULL
 * when obj is not an object or has no such member. */
const struct lm_json *lm_json_get(const struct lm_json *obj, const char *key);
/* The string, or NULL when v is NULL or not a string. */
const char *lm_json_str(const struct lm_json *v);
/* An integer number (no fraction, no exponent) into int64, exactly: 0, EINVAL (not an
 * integer number), ERANGE. */
int lm_json_i64(const struct lm_json *v, int64_t *out);
/* An integer number, or an integer inside a string ("123"): Iceberg summaries and
 * some writers quote numbers. */
int lm_json_i64_lenient(const struct lm_json *v, int64_t *out);
/* true/false; EINVAL otherwise. */
int lm_json_bool(const struct lm_json *v, bool *out);

#endif
