/* Persistent metadata cache on LMDB: immutable records (a version's file list, a Parquet
 * footer) keyed by a string that names what they are of, surviving remounts.
 *
 * Keys: any string (up to LM_MC_KEY_MAX bytes) that fully identifies the content, e.g.
 * "snap|s3://b/p|sales|delta|<metaData.id>|v=17|c=1234:1767607200000". The cache stores
 * sha256(kind, key) as the LMDB key and the whole key string inside the record, so a hash
 * collision can never return another key's value.
 *
 * Records: a header (magic, format version, kind, lengths, 64-bit checksum of key and
 * value), then the key, then the value. A record whose header, version or checksum does
 * not match is deleted and reported with one warning; get then says ENOENT, never gives
 * wrong bytes. A cache file that is not ours (or of another record format) is moved
 * aside and recreated with a warning. Several processes may open the same directory at
 * once (LMDB's own locking).
 *
 * Size: max_bytes bounds the map. When a put finds the map full, the oldest records (by
 * the order they were written) are evicted until it fits; a record bigger than a quarter
 * of the map is not stored (put returns LM_ETOOBIG, the caller goes on uncached).
 *
 * Thread-safe. Never holds a read transaction beyond a call. */
#ifndef LM_METACACHE_H
#define LM_METACACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/buf.h"
#include "lm/err.h"

#define LM_MC_KEY_MAX 4096

enum lm_mc_kind {
	LM_MC_SNAPSHOT = 1,   /* lm_snapshot_encode() image of one table version */
	LM_MC_FOOTER = 2,     /* the tail bytes of a Parquet object (reader.c) */
	LM_MC_KIND_MAX = 8,
};

struct lm_metacache;

struct lm_metacache_stats {
	uint64_t hits, misses, puts, evictions, corrupt;
	uint64_t map_bytes;   /* size of the LMDB map */
	uint64_t used_bytes;  /* pages in use */
};

/* Open (creating dir with mode 0700 when missing). max_bytes 0 = 1 GiB. */
int lm_metacache_open(const char *dir, uint64_t max_bytes, struct lm_metacache **out,
		      struct lm_err *err);
void lm_metacache_close(struct lm_metacache *mc);
/* The default directory: $XDG_CACHE_HOME/lakemount, else $HOME/.cache/lakemount, and
 * /var/cache/lakemount for root. Into out (NUL-terminated); ENAMETOOLONG. */
int lm_metacache_default_dir(char *out, size_t size);

/* Append the value stored under (kind, key) to out. ENOENT when absent (or discarded
 * as corrupt); the value is checked before it is handed out. */
int lm_metacache_get(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		     struct lm_buf *out, struct lm_err *err);
/* The same without a copy: fn sees the checked value in place (valid only during the
 * call; a read transaction is open, so fn must not wait on the network) and its result
 * is returned. */
int lm_metacache_read(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		      int (*fn)(void *ud, const void *val, size_t len), void *ud,
		      struct lm_err *err);
/* Store (replacing). Errors are for logging only: the cache is an optimisation. */
int lm_metacache_put(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		     const void *val, size_t len, struct lm_err *err);
/* Store a value built later, off the caller's thread: the cache's writer thread (started
 * by the first call) runs produce(ud, out, err) and, when it returns 0, puts what it wrote
 * in out under (kind, key); then done(ud, rc, err) runs whatever happened (rc 0 = stored).
 * Jobs run one at a time, in order. With MAX_PENDING jobs already queued, or when the
 * thread cannot start, the job runs in the calling thread before this returns. close()
 * runs every queued job first. Returns 0 (done has run or will run). */
int lm_metacache_put_async(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
			   int (*produce)(void *ud, struct lm_buf *out, struct lm_err *err),
			   void (*done)(void *ud, int rc, const struct lm_err *err), void *ud);
void lm_metacache_stats(struct lm_metacache *mc, struct lm_metacache_stats *out);

#endif
