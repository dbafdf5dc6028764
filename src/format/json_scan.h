/* A strict, allocation-free JSON scanner for the hot path of Delta commits: add and
 * remove lines. Pure: bytes in, values out. */
#ifndef LM_JSON_SCAN_H
#define LM_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lm_jscan {
	const char *p, *end;
	int depth;
};

/* Skip whitespace; return the next byte or 0 at the end. */
char lm_jscan_peek(struct lm_jscan *s);
/* Expect a byte (after whitespace). */
bool lm_jscan_eat(struct lm_jscan *s, char c);
/* Skip one complete, valid JSON value (depth-capped). */
bool lm_jscan_skip(struct lm_jscan *s);
/* A string: raw points inside the input, between the quotes; *escaped when it holds
 * backslash escapes (decode with lm_jscan_unescape). */
bool lm_jscan_string(struct lm_jscan *s, const char **raw, size_t *len, bool *escaped);
/* Decode a string body with escapes into dst (room for len+1 bytes is enough: escapes
 * never grow). Returns the decoded length, or (size_t)-1 when invalid. */
size_t lm_jscan_unescape(const char *raw, size_t len, char *dst);
/* An integer written without fraction or exponent, exactly, in int64 range. */
bool lm_jscan_int(struct lm_jscan *s, int64_t *out);
/* true / false */
bool lm_jscan_bool(struct lm_jscan *s, bool *out);
/* null: consumes it and returns true when the next value is null. */
bool lm_jscan_null(struct lm_jscan *s);

#endif
