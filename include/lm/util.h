/* Small string, path and time helpers shared by all layers. */
#ifndef LM_UTIL_H
#define LM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Strict decimal parse of the whole string into int64 / uint64; 0 or EINVAL/ERANGE. */
int lm_parse_i64(const char *s, int64_t *out);
int lm_parse_u64(const char *s, uint64_t *out);
/* Same for a length-delimited string. */
int lm_parse_i64n(const char *s, size_t n, int64_t *out);

/* Percent-decode exactly once. Refuses malformed escapes and %00 (EINVAL).
 * out gets a malloc'd NUL-terminated string. */
int lm_pct_decode(const char *s, size_t n, char **out);
/* The same; with plus_is_space, '+' decodes to a space (form encoding, S3 listings). */
int lm_pct_decode_opt(const char *s, size_t n, bool plus_is_space, char **out);

/* A relative key is safe when it is non-empty, does not start with '/', and has no
 * empty, "." or ".." component and no NUL / backslash-free check. */
bool lm_relpath_ok(const char *p);

/* Join a/b with exactly one '/' (either may be empty). malloc'd, NULL on ENOMEM. */
char *lm_path_join(const char *a, const char *b);
/* Some '/'-separated component of rel starts with '.' or '_' (.crc files, _SUCCESS,
 * _delta_log/, _temporary/): what engines keep out of a table's data. */
bool lm_path_hidden(const char *rel);

uint64_t lm_hash64(const void *p, size_t n);

/* Wall and monotonic clocks in ms / ns. */
int64_t lm_now_ms(void);
int64_t lm_mono_ns(void);

/* Format ms since epoch as 2026-01-05T10:00:00.000Z into out (>= 32 bytes). */
void lm_fmt_time_ms(int64_t ms, char *out, size_t outsz);

/* malloc/strdup that never return NULL silently: they return NULL and the caller
 * reports ENOMEM; provided for symmetry with strndup on length-delimited input. */
char *lm_strndup(const char *s, size_t n);
/* Map the whole pages of [p, p + n) with one system call, ahead of writing them all,
 * instead of taking a page fault on each (a third cheaper for big fresh buffers); a
 * hint only, nothing for small ranges or where the kernel lacks it. */
void lm_prefault(void *p, size_t n);

#endif
