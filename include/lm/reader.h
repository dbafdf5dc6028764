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
 * All calls are thread-safe; lm_reader_read may run on many threads at once.
 *
 * Parquet footers: for a key ending in ".parquet" of known size, a first read that
 * falls in the last footer_size bytes (what DuckDB and pyarrow read first) fetches that
 * whole tail with one GET — and the rest of the footer with a second when the footer
 * says it is longer — and serves every later read inside it from memory. With a
 * metacache, the tail is stored as LM_MC_FOOTER under the object's identity (source,
 * key, size and the ETag from a listing, or the mtime the table log gives), and a later
 * open (after a remount too) serves it with no request at all: the reader then adopts
 * the ETag recorded with the tail, so every later GET carries it as If-Match and an
 * object replaced since gives EIO, never a mix of two objects.
 *
 * Data cache: with a struct lm_datacache (include/lm/datacache.h), blocks of objects
 * that have an ETag are looked up on local disk before a GET and stored there after
 * one, under (source, key, size, ETag, block size); the first GET of an open is then a
 * 1-byte GET that learns size and ETag. */
#ifndef LM_READER_H
#define LM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lm/err.h"
#include "lm/store.h"

struct lm_metacache;
struct lm_datacache;

/* Tuning. Zero fields take the defaults (lm_reader_config_init). */
struct lm_reader_config {
	size_t max_memory;    /* all block buffers together (default 64 MiB) */
	size_t block_size;    /* cache unit; random reads fetch aligned blocks (1 MiB) */
	size_t max_request;   /* largest single GET, a multiple of block_size (8 MiB) */
	size_t min_window;    /* first prefetch window of a sequential stream (1 MiB) */
	size_t max_window;    /* prefetch window cap (64 MiB) */
	size_t back_window;   /* kept behind a sequential reader before demotion (1 MiB) */
	unsigned threads;     /* background GET workers (8) */
	size_t footer_size;   /* tail of a .parquet fetched by its first footer read (64 KiB) */
	struct lm_metacache *metacache;   /* footers kept across remounts; NULL = none */
	struct lm_datacache *datacache;   /* local disk block cache; NULL = none */
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
	uint64_t gets_footer;      /* GETs of a Parquet tail (footer) */
	uint64_t footer_cached;    /* tails taken from the metadata cache (no GET) */
	uint64_t footer_reads;     /* reads served from a tail */
	uint64_t disk_hits;        /* data cache: blocks read from local disk */
	uint64_t disk_misses;
	uint64_t disk_corrupt;     /* blocks that failed their check (refetched) */
	uint64_t disk_used;        /* now: bytes on disk */
	uint64_t disk_full;        /* 1 once the data cache stopped writing */
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
/* Set the footer cache of a running pool (the daemon opens LMDB after forking); call it
 * before reads start, and keep mc open until the pool is freed (it drains its queued
 * footer writes into mc). NULL = none. */
void lm_reader_pool_set_metacache(struct lm_reader_pool *pool, struct lm_metacache *mc);

/* Open a reader of key in s (s must outlive the reader). expected_size comes from the
 * table log, or UINT64_MAX when unknown (then the first GET's size is taken). what
 * ("table T: @vN: file P") prefixes messages; it is copied. No request is made here. */
int lm_reader_open(struct lm_reader_pool *pool, struct lm_store *s, const char *key,
		   uint64_t expected_size, const char *what, struct lm_reader **out);
/* What the table log or a listing says about the object, without a request. */
struct lm_reader_ident {
	uint64_t size;       /* expected size, UINT64_MAX when unknown */
	int64_t mtime_ms;    /* from the table log or listing; 0 when unknown */
	const char *etag;    /* from a listing; NULL or "" when unknown */
};
/* lm_reader_open with the identity that keys the persistent footer cache (with neither
 * mtime nor etag, footers are fetched but not kept across opens). */
int lm_reader_open_ident(struct lm_reader_pool *pool, struct lm_store *s, const char *key,
			 const struct lm_reader_ident *id, const char *what,
			 struct lm_reader **out);
/* Read up to len bytes at off into dst; *got is short only at end of object. Errors:
 * EIO with err naming `what` and the reason (missing from storage, size differs from
 * the log, object changed while open, a failed or short GET); logged once per reader
 * with lm_error. Never returns bytes it could not verify. */
int lm_reader_read(struct lm_reader *r, uint64_t off, size_t len, void *dst, size_t *got,
		   struct lm_err *err);
/* Zero-copy read: the bytes stay in the block cache and v->iov points at them.
 * The blocks are pinned (never evicted, freed or reused) until lm_reader_view_release,
 * so the caller can hand the pointers to the kernel and release after. v->len bytes at
 * off are in v->iov[0..n); v->len is short at the end of the object, or when v->partial
 * is set: the view stopped early (more segments than LM_READER_VIEW_SEGS, or another
 * block needed memory that only released pins would free — never wait for memory
 * while holding pins). Then release the view before reading the rest. Same checks
 * and errors as lm_reader_read; on an error nothing is held. The view stays valid after
 * lm_reader_close (the kernel may ask to release the file as soon as it has the reply,
 * before the replying thread releases the view). */
#define LM_READER_VIEW_SEGS 8
struct lm_reader_view {
	struct iovec iov[LM_READER_VIEW_SEGS];
	unsigned n;
	size_t len;
	bool partial;
	/* private */
	struct lm_reader_pool *pool;
	void *pin[LM_READER_VIEW_SEGS];
	unsigned npin;
	void *tail;          /* a Parquet tail the view points into */
};
int lm_reader_read_view(struct lm_reader *r, uint64_t off, size_t len,
			struct lm_reader_view *v, struct lm_err *err);
/* Unpins what the view holds; idempotent. */
void lm_reader_view_release(struct lm_reader_view *v);
/* Cancels this reader's queued prefetches; blocks already fetched stay cached. */
void lm_reader_close(struct lm_reader *r);

/* Parse "64M", "1G", "512K", "1048576" (binary units, optional trailing 'B' or 'iB').
 * 0 on success, EINVAL otherwise. */
int lm_size_parse(const char *s, uint64_t *out);

#endif
