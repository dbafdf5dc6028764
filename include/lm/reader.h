/* Data read path: a per-open-file reader over the store, with sequential prefetch,
 * parallel ranged GETs and a bounded block cache shared by every open file.
 *
 * A struct lm_reader_pool is process-wide: its worker threads run background GETs,
 * it owns the block cache and the memory budget (max_memory: every block buffer,
 * in flight, cached or kept for reuse, counts against it) and the counters.
 * Worker threads start on first use (so a pool made before fuse_daemonize() forks
 * still works in the child).
 *
 * A struct lm_reader is one open file. Its first GET learns the object's size and
 * identity (etag); the size must equal the expected size from the table log, and the
 * identity is sent as If-Match on every later GET, so an object replaced under the
 * mount gives EIO, never a mix of old and new bytes. Blocks are cached under
 * (store, key, etag, block): two opens of the same immutable object share them.
 * All calls are thread-safe; lm_reader_read may run on many threads at once. */
#ifndef LM_READER_H
#define LM_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"
#include "lm/store.h"

/* Tuning. Zero fields take the defaults (lm_reader_config_init). */
struct lm_reader_config {
	size_t max_memory;    /* all block buffers together (default 64 MiB) */
	size_t block_size;    /* cache unit; random reads fetch aligned blocks (1 MiB) */
	size_t max_request;   /* largest single GET, a multiple of block_size (8 MiB) */
	size_t min_window;    /* first prefetch window of a sequential stream (1 MiB) */
	size_t max_window;    /* prefetch window cap (64 MiB) */
	size_t back_window;   /* kept behind a sequential reader before demotion (1 MiB) */
	unsigned threads;     /* background GET workers (8) */
};

#define LM_READER_DEFAULT_MAX_MEMORY ((size_t)64 << 20)

/* Counters (monotonic unless said otherwise), for a stats file. */
struct lm_reader_stats {
	uint64_t gets_demand;      /* GETs made by a reading thread (cache miss) */
	uint64_t gets_prefetch;    /* GETs made by workers ahead of a sequential reader */
	uint64_t gets_probe;       /* first GET of an open (learns size and identity) */
	uint64_t gets_failed;
	uint64_t bytes_fetched;
	uint64_t bytes_served;
	uint64_t hits;             /* block lookups served from a ready block */
	uint64_t waits;            /* block lookups that waited for a GET in flight */
	uint64_t misses;           /* block lookups that had to start a GET */
	uint64_t evictions;
	uint64_t prefetch_wasted;  /* prefetched blocks evicted or cancelled unread */
	uint64_t mem_used;         /* now: bytes of block buffers */
	uint64_t mem_peak;
	uint64_t readers_open;     /* now */
};

struct lm_reader_pool;
struct lm_reader;

void lm_reader_config_init(struct lm_reader_config *cfg);
/* cfg may be NULL (defaults). */
int lm_reader_pool_new(const struct lm_reader_config *cfg, struct lm_reader_pool **out,
		       struct lm_err *err);
/* Every reader must be closed first. Stops the workers. NULL is fine. */
void lm_reader_pool_free(struct lm_reader_pool *pool);
void lm_reader_pool_stats(struct lm_reader_pool *pool, struct lm_reader_stats *out);
/* The effective configuration (defaults filled in). */
void lm_reader_pool_config(struct lm_reader_pool *pool, struct lm_reader_config *out);

/* Open a reader of key in s (s must outlive the reader). expected_size comes from the
 * table log, or UINT64_MAX when unknown (then the first GET's size is taken). what
 * ("table T: @vN: file P") prefixes messages; it is copied. No request is made here. */
int lm_reader_open(struct lm_reader_pool *pool, struct lm_store *s, const char *key,
		   uint64_t expected_size, const char *what, struct lm_reader **out);
/* Read up to len bytes at off into dst; *got is short only at end of object. Errors:
 * EIO with err naming `what` and the reason (missing from storage, size differs from
 * the log, object changed while open, a failed or short GET); logged once per reader
 * with lm_error. Never returns bytes it could not verify. */
int lm_reader_read(struct lm_reader *r, uint64_t off, size_t len, void *dst, size_t *got,
		   struct lm_err *err);
/* Cancels this reader's queued prefetches; blocks already fetched stay cached. */
void lm_reader_close(struct lm_reader *r);

/* Parse "64M", "1G", "512K", "1048576" (binary units, optional trailing 'B' or 'iB').
 * 0 on success, EINVAL otherwise. */
int lm_size_parse(const char *s, uint64_t *out);

#endif
