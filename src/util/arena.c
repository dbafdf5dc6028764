/* arena.c — bump allocator in 64 KiB chunks (larger requests get their own chunk).
 * May call: libc. */
#include <stdlib.h>
#include <string.h>

#include "lm/arena.h"

struct lm_arena_chunk {
	struct lm_arena_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

#define CHUNK (64u << 10)

void lm_arena_init(struct lm_arena *a)
{
	a->head = NULL;
	a->used = 0;
	a->total = 0;
}

void lm_arena_free(struct lm_arena *a)
{
	struct lm_arena_chunk *c = a->head;

	while (c) {
		struct lm_arena_chunk *n = c->next;

		free(c);
		c = n;
	}
	lm_arena_init(a);
}

void *lm_arena_alloc(struct lm_arena *a, size_t n)
{
	size_t need = (n + 7) & ~(size_t)7;
	struct lm_arena_chunk *c;

	if (need < n)
		return NULL;
	if (a->head && a->head->size - a->used >= need) {
		void *p = a->head->data + a->used;

		a->used += need;
		a->total += need;
		return p;
	}
	if (need > CHUNK / 4) {
		/* Big block: own chunk, linked behind the head so the head stays usable. */
		c = malloc(sizeof(*c) + need);
		if (!c)
			return NULL;
		c->size = need;
		if (a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
			a->used = need;
		}
		a->total += need;
		return c->data;
	}
	c = malloc(sizeof(*c) + CHUNK);
	if (!c)
		return NULL;
	c->size = CHUNK;
	c->next = a->head;
	a->head = c;
	a->used = need;
	a->total += need;
	return c->data;
}

char *lm_arena_strndup(struct lm_arena *a, const char *s, size_t n)
{
	char *d = lm_arena_alloc(a, n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *lm_arena_strdup(struct lm_arena *a, const char *s)
{
	return lm_arena_strndup(a, s, strlen(s));
}
