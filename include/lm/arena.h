/* Bump allocator for many small strings that live and die together. */
#ifndef LM_ARENA_H
#define LM_ARENA_H

#include <stddef.h>

struct lm_arena_chunk;

struct lm_arena {
	struct lm_arena_chunk *head;
	size_t used;   /* bytes used in head */
	size_t total;  /* bytes handed out, for accounting */
};

void lm_arena_init(struct lm_arena *a);
void lm_arena_free(struct lm_arena *a);
void *lm_arena_alloc(struct lm_arena *a, size_t n);   /* 8-aligned; NULL on ENOMEM */
char *lm_arena_strndup(struct lm_arena *a, const char *s, size_t n);
char *lm_arena_strdup(struct lm_arena *a, const char *s);

#endif
