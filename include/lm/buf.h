/* Growable byte buffer with a hard ceiling (every network-fed buffer has one). */
#ifndef LM_BUF_H
#define LM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct lm_buf {
	char *data;     /* always NUL-terminated when non-NULL (not counted in len) */
	size_t len;
	size_t cap;     /* allocated bytes */
	size_t limit;   /* ceiling for len; 0 = LM_BUF_DEFAULT_LIMIT */
};

#define LM_BUF_DEFAULT_LIMIT ((size_t)64 << 20)

void lm_buf_init(struct lm_buf *b, size_t limit);
void lm_buf_free(struct lm_buf *b);
void lm_buf_reset(struct lm_buf *b);
/* 0, ENOMEM, or LM_ETOOBIG when len would exceed the limit. */
int lm_buf_append(struct lm_buf *b, const void *p, size_t n);
int lm_buf_reserve(struct lm_buf *b, size_t extra);
int lm_buf_printf(struct lm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the data over to the caller (who frees it); the buffer becomes empty. */
char *lm_buf_take(struct lm_buf *b, size_t *len);

#endif
