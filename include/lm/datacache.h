/* Optional local disk cache of data blocks (-o data_cache=DIR,data_cache_size=SIZE).
 *
 * A block is named by the identity of the object it belongs to (a string the caller
 * builds from store URI, key, size and ETag: a block of an older object under the same
 * key can never be served for a newer one) and its index. Each block is one file
 * written to a temporary name and renamed into place, holding a header (magic, index,
 * length, CRC-32 of the bytes, the identity string) and the bytes; get checks all of
 * it, and a block that fails the check is deleted and reported as a miss with a
 * warning — never served.
 *
 * Size: the total of the block files stays within max_bytes; the least recently used
 * blocks are deleted first (the order survives a restart through the files' mtimes).
 * A full disk (ENOSPC, EDQUOT) or any other write error stops caching for the life of
 * the process with one warning; reads keep working (hits from disk, misses from the
 * network).
 *
 * One process per directory: open takes an exclusive lock on DIR/lock and refuses a
 * directory another lakemount holds (EBUSY, with a message naming the directory).
 * Thread-safe. */
#ifndef LM_DATACACHE_H
#define LM_DATACACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"

#define LM_DC_ID_MAX 2048

struct lm_datacache;

struct lm_datacache_stats {
	uint64_t hits, misses, puts, evictions, corrupt;
	uint64_t bytes_used;   /* now: block files' payload and headers */
	uint64_t max_bytes;
	uint64_t disabled;     /* 1 once writing stopped (disk full or write error) */
};

/* Open (creating dir 0700 when missing), lock it, index the blocks already there.
 * max_bytes 0 = 1 GiB. EBUSY when another process holds the directory. */
int lm_datacache_open(const char *dir, uint64_t max_bytes, struct lm_datacache **out,
		      struct lm_err *err);
void lm_datacache_close(struct lm_datacache *dc);

/* Copy block u of the object named id (exactly len bytes) into dst. 0 on a verified
 * hit; ENOENT on a miss (absent, another length, or discarded as corrupt — dst may
 * then hold garbage). */
int lm_datacache_get(struct lm_datacache *dc, const char *id, uint64_t u, void *dst,
		     size_t len);
/* Store block u (len bytes). Best effort: failures are handled inside (see above). */
void lm_datacache_put(struct lm_datacache *dc, const char *id, uint64_t u, const void *src,
		      size_t len);
void lm_datacache_stats(struct lm_datacache *dc, struct lm_datacache_stats *out);
/* For tests: every later block write fails with error e (ENOSPC: a full disk), as the
 * file system would report it; 0 restores normal writes. */
void lm_datacache_inject_write_error(struct lm_datacache *dc, int e);

#endif
