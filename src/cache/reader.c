/* reader.c — the data read path: per-open-file readers, sequential prefetch, parallel
 * ranged GETs on a pool of worker threads, and a bounded block cache shared by every
 * open file. Owns the pool (workers, cache, memory budget, counters), the interned
 * object identities and the readers. May call: store, util, log, pthreads, mmap, the
 * metadata cache (footers) and the data cache (blocks on local disk).
 *
 * ---- Blocks and extents ----
 * The cache unit is a block (block_size, 1 MiB by default): block u of an object is
 * bytes [u*B, (u+1)*B). One GET fills one extent: a run of 1..max_request/B
 * consecutive blocks in one contiguous buffer. Every block of an extent is entered in
 * the hash table under (obj, u), so a lookup by offset is one probe whatever the
 * extent's size. An extent always holds all of its blocks' bytes that exist:
 * [u0*B, min((u0+nu)*B, size)) — a GET that returns fewer bytes is a failure, never
 * a short extent.
 *
 * ---- Identity ----
 * A struct obj is (store, key, etag, size), interned so that two opens of one
 * immutable object meet the same blocks. A reader learns its obj from its first GET
 * (the probe): its size must equal the size the table log gives; its etag goes as
 * If-Match on every later GET of any extent of that obj, and each response's size
 * and etag are compared again. So an object replaced under the mount makes GETs fail
 * (LM_EMISMATCH → EIO) and blocks of the old and new object can never mix: they live
 * under different objs. Every open makes its own probe, so a cached object is
 * re-validated once per open: when the block of the first read is already cached under
 * the newest obj of that key (and its size is the log's), the probe is a 1-byte GET
 * with If-Match instead of a block. Objects without an etag are not interned (private
 * to the one reader).
 *
 * ---- Extent states ----
 * QUEUED (on the work queue, buffer reserved) → RUNNING (one thread does the GET,
 * without any lock) → READY or FAILED. A reader that needs a QUEUED extent takes it
 * off the queue and runs the GET itself rather than wait for a worker. A FAILED
 * extent leaves the hash table at once (a later read retries); threads that waited
 * on it hold a pin and read its error. pins counts threads using an extent (copying,
 * waiting, fetching) and views (lm_reader_read_view: the FUSE reply is written straight
 * from the extent's buffer); an extent is in the LRU list exactly when it is cached,
 * READY and unpinned — only those can be evicted, and a pinned buffer is never freed or
 * reused. A view holding pins never waits for memory (only released pins could free
 * it): it stops early and the caller reads the rest after releasing it.
 *
 * ---- Sequential prefetch ----
 * Each reader keeps pos (end of its furthest read) and a window. A read that starts
 * near pos (within a small backward slack and at most a window ahead: FUSE worker
 * threads deliver the kernel's readahead slightly out of order) is sequential; any
 * other read resets the window to min_window. On a sequential read the reader makes
 * sure extents are queued up to end + window, in GETs of clamp(window/2, B,
 * max_request) bytes, and doubles the window each time it queues more (up to
 * max_window). Several GETs of one stream run in parallel on the workers. The window
 * is also capped by a fair share of the budget: 3/4 of max_memory divided among the
 * readers that are sequential right now. Blocks more than back_window behind a
 * sequential reader are demoted to the cold end of the LRU, so streaming evicts what
 * was already read before anything else. Random reads fetch the aligned blocks they
 * touch, neighbours coalesced into one GET (no prefetch).
 *
 * ---- Memory ----
 * used counts every block buffer: queued, in flight, cached, and free buffers kept
 * for reuse (buffers of whole runs of blocks are recycled by size to avoid page
 * faults, so prefetch GETs are always whole requests; buffers are mmap'd so that
 * freeing one returns it to the kernel, and ask for huge pages from 2 MiB up). Nothing
 * is allocated past max_memory: prefetch takes only what fits after dropping free
 * buffers and evicting LRU extents, otherwise it stops (the window shrinks to what
 * the budget allows) and never evicts prefetched blocks that no one has read yet; a
 * demand read evicts those last, and waits for memory to come free (GETs in flight
 * finish, copies end) when nothing can be evicted. The only overshoot: one demand extent when nothing at all is
 * live, so a budget smaller than one read cannot dead-lock.
 * Parquet tails held by open readers count against the same budget.
 *
 * ---- Parquet footers ----
 * A reader of a ".parquet" key whose size the log gives has a tail region: the last
 * footer_size bytes. The first read inside it (tail_load) takes the tail from the
 * metadata cache when the cache has it under this object's identity, else — only as
 * the open's first request — GETs the whole region in one request (and, when the
 * footer length in the last 8 bytes says the footer starts earlier, the missing part
 * with a second GET, If-Match, up to FOOTER_MAX). Reads inside the tail are then served
 * from it, without touching the block cache or the stream state (a footer read is not a
 * sequential stream). A tail from the cache carries the ETag of the object it was read
 * from: the reader adopts that identity (or, when its probe already learned one, uses
 * the tail only if both agree), so later GETs go with If-Match and a replaced object
 * fails them rather than mixing. Cache writes are queued to the workers (an LMDB commit
 * syncs the disk: not on the reading thread), and drained when the pool is freed.
 *
 * ---- Data cache on disk ----
 * With a datacache, fetch first reads the extent's blocks from local disk, in order,
 * and GETs only from the first block that is missing; whatever came from the network
 * is stored back block by block (the last block of an object as its short self). Only
 * objects with an ETag take part: the data cache id holds source, key, size, ETag and
 * block size, so a block of another object or another block size is never served.
 * With a data cache the probe of an open asks for one byte only (probe_small): it
 * learns size and ETag, and the blocks then come from disk when they are there.
 *
 * ---- Locking ----
 * One pool mutex guards everything here: hash table, LRU, queue, budget, objs,
 * readers' stream state, counters. It is never held across a GET or a memcpy of
 * block data; pins keep extents alive meanwhile. done_cv is broadcast whenever an
 * extent completes or memory comes free; work_cv wakes workers. Workers start on the
 * first prefetch, so a pool made before fuse_daemonize() forks still works. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lm/buf.h"
#include "lm/datacache.h"
#include "lm/log.h"
#include "lm/metacache.h"
#include "lm/reader.h"
#include "lm/util.h"

#define MIB ((size_t)1 << 20)
#define MAX_UNITS 64          /* blocks per GET at most */
#define NBUCKETS (1u << 14)   /* block hash buckets */
#define NOBJBUCKETS 256u
#define EXTENT_OVERHEAD 0     /* accounted per extent besides its buffer */
#define SMALL_BUF (64u << 10) /* below: malloc; at or above: mmap */
#define HUGE_MIN ((size_t)2 << 20)  /* buffers this large ask for huge pages */
#define AHEAD_KEEP_NS (2 * 1000000000LL)
#define DEFAULT_FOOTER ((size_t)64 << 10)
#define FOOTER_MAX ((size_t)4 << 20)   /* whole footer kept in a tail, at most */
#define FT_MAGIC 0x3154464du            /* "MFT1": a footer record of the metacache */

enum est { E_QUEUED, E_RUNNING, E_READY, E_FAILED };
enum ekind { K_PROBE, K_DEMAND, K_PREFETCH };

struct obj {
	struct obj *next;    /* intern chain */
	unsigned refs;
	bool interned;
	struct lm_store *store;
	char *key;
	uint64_t size;
	uint64_t hash;
	char etag[128];
	char *dcid;          /* data cache identity, NULL when not cached on disk */
};

struct extent;

struct slot {
	struct slot *next;   /* hash chain */
	struct extent *e;
	uint64_t u;
};

struct extent {
	struct obj *obj;
	uint64_t u0, off;
	unsigned nu;
	size_t len;          /* bytes of data: min(nu*B, size - off) */
	char *buf;
	size_t cap;          /* accounted size of buf */
	int cls;             /* free-list class (nu) or -1 */
	enum est state;
	enum ekind kind;
	unsigned pins;
	bool in_cache, in_lru, cold, touched;
	int64_t done_ns;                /* when the GET completed */
	struct lm_reader *owner;        /* while QUEUED: whose prefetch (for cancel) */
	struct extent *qnext;           /* work queue */
	struct extent *lprev, *lnext;   /* LRU: head = evicted first */
	int rc;
	size_t net;          /* bytes that came from the network */
	char msg[LM_ERR_MSG];
	struct slot slots[];
};

struct freebuf {
	struct freebuf *next;
};

/* A footer record waiting for a worker to write it to the metadata cache. */
struct mcput {
	struct mcput *next;
	char *key;
	char *val;
	size_t len;
};

struct lm_reader_pool {
	struct lm_reader_config cfg;
	unsigned maxu;                  /* max_request / block_size */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct slot *buckets[NBUCKETS];
	struct obj *objs[NOBJBUCKETS];
	struct extent *qhead, *qtail;
	struct extent *lru_head, *lru_tail;
	struct freebuf *fl[MAX_UNITS + 1];
	size_t used, flbytes;
	unsigned nlive;                 /* extents alive (any state) */
	unsigned nseq;                  /* readers in sequential mode */
	unsigned nreaders;
	pthread_t *threads;
	unsigned nthreads;
	bool started, stop;
	struct mcput *puts;             /* pending metacache writes (LIFO) */
	struct lm_reader_stats st;
};

/* A reader's Parquet tail, refcounted (under p->mu): the reader holds one reference, and
 * every view that points into it one more, so a RELEASE of the file that the kernel sends
 * as soon as it has the reply (while the replying thread is still returning from writev)
 * never frees bytes a view still names. Counted in the budget until the last goes. */
struct tailbuf {
	unsigned refs;
	size_t len;
	char *data;
};

struct lm_reader {
	struct lm_reader_pool *p;
	struct lm_store *store;
	char *key;
	char *what;
	uint64_t expected;
	struct obj *obj;
	/* stream state, under p->mu */
	bool had_read, seq, logged;
	uint64_t pos;        /* end of the furthest read of the current stream */
	uint64_t win;
	uint64_t ra_end;     /* prefetch queued up to here (block aligned) */
	/* Parquet tail, under p->mu; tail bytes are immutable once set */
	bool footer;         /* a .parquet of known size */
	enum { T_NONE, T_BUSY, T_DONE } tstate;
	uint64_t tail_want;  /* start of the tail region (size - footer_size) */
	char *mckey;         /* metacache key, NULL when the identity is unknown */
	char *hint;          /* ETag from a listing, or NULL */
	char *tail;          /* = tb->data */
	struct tailbuf *tb;
	uint64_t tail_off;
	size_t tail_len;
};

/* ---------- configuration ---------- */

void lm_reader_config_init(struct lm_reader_config *c)
{
	c->max_memory = LM_READER_DEFAULT_MAX_MEMORY;
	c->block_size = MIB;
	c->max_request = 8 * MIB;
	c->min_window = MIB;
	c->max_window = 64 * MIB;
	c->back_window = MIB;
	c->threads = 8;
	c->footer_size = DEFAULT_FOOTER;
	c->metacache = NULL;
	c->datacache = NULL;
}

static void fill_config(struct lm_reader_config *c, const struct lm_reader_config *in)
{
	struct lm_reader_config d;

	lm_reader_config_init(&d);
	*c = in ? *in : d;
	if (!c->max_memory)
		c->max_memory = d.max_memory;
	if (!c->block_size)
		c->block_size = d.block_size;
	if (!c->max_request)
		c->max_request = d.max_request;
	if (!c->min_window)
		c->min_window = d.min_window;
	if (!c->max_window)
		c->max_window = d.max_window;
	if (!c->back_window)
		c->back_window = d.back_window;
	if (!c->threads)
		c->threads = d.threads;
	if (!c->footer_size)
		c->footer_size = d.footer_size;
	if (c->footer_size > FOOTER_MAX)
		c->footer_size = FOOTER_MAX;
	if (c->max_request < c->block_size)
		c->max_request = c->block_size;
	if (c->max_request / c->block_size > MAX_UNITS)
		c->max_request = c->block_size * MAX_UNITS;
	c->max_request -= c->max_request % c->block_size;
	if (c->min_window < c->block_size)
		c->min_window = c->block_size;
	if (c->max_window < c->min_window)
		c->max_window = c->min_window;
	if (c->threads > 64)
		c->threads = 64;
}

int lm_size_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ull << 10; p++; break;
	case 'm': case 'M': mul = 1ull << 20; p++; break;
	case 'g': case 'G': mul = 1ull << 30; p++; break;
	case 't': case 'T': mul = 1ull << 40; p++; break;
	default: break;
	}
	if (mul > 1 && (*p == 'i' || *p == 'I') && (p[1] == 'b' || p[1] == 'B'))
		p += 2;
	else if (*p == 'b' || *p == 'B')
		p++;
	if (*p || (v && mul > UINT64_MAX / v))
		return EINVAL;
	*out = v * mul;
	return 0;
}

/* ---------- buffers and budget (all under p->mu) ---------- */

static void *map_buf(size_t cap)
{
	void *b;

	if (cap < SMALL_BUF)
		return malloc(cap);
	b = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return NULL;
	/* Huge pages where the kernel has them: a block is written once by the GET and
	 * read once by the reply, both in long runs; 2 MiB pages save the page faults of
	 * a fresh buffer and the kernel's per-page work when it copies a reply from it.
	 * Advice only: without THP nothing changes. */
	if (cap >= HUGE_MIN)
		(void)madvise(b, cap, MADV_HUGEPAGE);
	return b;
}

static void unmap_buf(void *b, size_t cap)
{
	if (!b)
		return;
	if (cap < SMALL_BUF)
		free(b);
	else
		munmap(b, cap);
}

static void note_used(struct lm_reader_pool *p)
{
	p->st.mem_used = p->used;
	if (p->used > p->st.mem_peak)
		p->st.mem_peak = p->used;
}

/* Give a buffer back: whole-block runs go to their free list (still counted). */
static void buf_release(struct lm_reader_pool *p, char *buf, size_t cap, int cls)
{
	if (!buf)
		return;
	if (cls > 0 && p->used <= p->cfg.max_memory) {
		struct freebuf *f = (struct freebuf *)buf;

		f->next = p->fl[cls];
		p->fl[cls] = f;
		p->flbytes += cap;
		return;
	}
	unmap_buf(buf, cap);
	p->used -= cap;
	note_used(p);
}

/* Drop one free buffer, preferring classes other than keep. */
static bool drop_free(struct lm_reader_pool *p, int keep)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned c = 1; c <= p->maxu; c++) {
			struct freebuf *f = p->fl[c];
			size_t cap = (size_t)c * p->cfg.block_size;

			if (!f || (pass == 0 && (int)c == keep))
				continue;
			p->fl[c] = f->next;
			p->flbytes -= cap;
			unmap_buf(f, cap);
			p->used -= cap;
			note_used(p);
			return true;
		}
	}
	return false;
}

static void lru_remove(struct lm_reader_pool *p, struct extent *e)
{
	if (!e->in_lru)
		return;
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		p->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		p->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
	e->in_lru = false;
}

static void lru_insert(struct lm_reader_pool *p, struct extent *e)
{
	if (e->cold) {
		e->lprev = NULL;
		e->lnext = p->lru_head;
		if (p->lru_head)
			p->lru_head->lprev = e;
		else
			p->lru_tail = e;
		p->lru_head = e;
	} else {
		e->lnext = NULL;
		e->lprev = p->lru_tail;
		if (p->lru_tail)
			p->lru_tail->lnext = e;
		else
			p->lru_head = e;
		p->lru_tail = e;
	}
	e->in_lru = true;
}

/* ---------- objects ---------- */

static void obj_unref(struct lm_reader_pool *p, struct obj *o)
{
	if (!o || --o->refs)
		return;
	if (o->interned) {
		struct obj **pp = &p->objs[o->hash % NOBJBUCKETS];

		while (*pp && *pp != o)
			pp = &(*pp)->next;
		if (*pp)
			*pp = o->next;
	}
	free(o->dcid);
	free(o->key);
	free(o);
}

/* "<n>:<source>|<n>:<key>|<size>|" + rest: unambiguous whatever the key holds.
 * malloc'd, NULL on ENOMEM. */
static char *ident_string(const char *kind, const struct lm_store *s, const char *key,
			  uint64_t size, const char *rest)
{
	struct lm_buf b;
	char *out = NULL;

	lm_buf_init(&b, LM_MC_KEY_MAX);
	if (!lm_buf_printf(&b, "%s|%zu:%s|%zu:%s|%" PRIu64 "|%s", kind, strlen(s->uri), s->uri,
			   strlen(key), key, size, rest))
		out = lm_buf_take(&b, NULL);
	lm_buf_free(&b);
	return out;
}

/* Objects of one key share a chain (newest first), whatever their etag. */
static uint64_t key_hash(const struct lm_store *s, const char *key)
{
	return lm_hash64(key, strlen(key)) ^ ((uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ULL);
}

/* Find or make the obj for (store, key, etag, size); a new reference. */
static struct obj *obj_get(struct lm_reader_pool *p, struct lm_store *s, const char *key,
			   const struct lm_obj_info *info)
{
	uint64_t h = key_hash(s, key);
	struct obj *o;

	if (info->etag[0]) {
		for (o = p->objs[h % NOBJBUCKETS]; o; o = o->next) {
			if (o->store == s && o->hash == h && o->size == info->size &&
			    !strcmp(o->etag, info->etag) && !strcmp(o->key, key)) {
				o->refs++;
				return o;
			}
		}
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->key = strdup(key);
	if (!o->key) {
		free(o);
		return NULL;
	}
	o->refs = 1;
	o->store = s;
	o->size = info->size;
	o->hash = h;
	snprintf(o->etag, sizeof(o->etag), "%s", info->etag);
	if (p->cfg.datacache && info->etag[0]) {
		char rest[160];

		snprintf(rest, sizeof(rest), "%s|B=%zu", info->etag, p->cfg.block_size);
		o->dcid = ident_string("data", s, key, info->size, rest);
		if (o->dcid && strlen(o->dcid) > LM_DC_ID_MAX) {
			free(o->dcid);
			o->dcid = NULL;
		}
	}
	if (info->etag[0]) {
		o->interned = true;
		o->next = p->objs[h % NOBJBUCKETS];
		p->objs[h % NOBJBUCKETS] = o;
	}
	return o;
}

/* ---------- block index ---------- */

static unsigned bucket_of(const struct obj *o, uint64_t u)
{
	uint64_t h = ((uint64_t)(uintptr_t)o >> 4) * 0x9e3779b97f4a7c15ULL ^
		     (u * 0xc2b2ae3d27d4eb4fULL);

	return (unsigned)(h >> 40) & (NBUCKETS - 1);
}

static struct extent *lookup(struct lm_reader_pool *p, const struct obj *o, uint64_t u)
{
	for (struct slot *s = p->buckets[bucket_of(o, u)]; s; s = s->next)
		if (s->u == u && s->e->obj == o)
			return s->e;
	return NULL;
}

static void index_add(struct lm_reader_pool *p, struct extent *e)
{
	for (unsigned i = 0; i < e->nu; i++) {
		struct slot *s = &e->slots[i];
		unsigned b = bucket_of(e->obj, e->u0 + i);

		s->e = e;
		s->u = e->u0 + i;
		s->next = p->buckets[b];
		p->buckets[b] = s;
	}
	e->in_cache = true;
}

static void index_remove(struct lm_reader_pool *p, struct extent *e)
{
	if (!e->in_cache)
		return;
	for (unsigned i = 0; i < e->nu; i++) {
		struct slot **pp = &p->buckets[bucket_of(e->obj, e->u0 + i)];

		while (*pp && *pp != &e->slots[i])
			pp = &(*pp)->next;
		if (*pp)
			*pp = e->slots[i].next;
	}
	e->in_cache = false;
	lru_remove(p, e);
}

/* ---------- extents ---------- */

static void extent_free(struct lm_reader_pool *p, struct extent *e)
{
	if (e->kind == K_PREFETCH && !e->touched && e->state != E_FAILED)
		p->st.prefetch_wasted++;
	buf_release(p, e->buf, e->cap, e->cls);
	p->used -= EXTENT_OVERHEAD;
	note_used(p);
	obj_unref(p, e->obj);
	p->nlive--;
	free(e);
	pthread_cond_broadcast(&p->done_cv);
}

/* Free an extent once it is neither cached nor pinned. */
static void extent_maybe_free(struct lm_reader_pool *p, struct extent *e)
{
	if (!e->in_cache && !e->pins)
		extent_free(p, e);
}

static void pin(struct lm_reader_pool *p, struct extent *e)
{
	if (!e->pins++)
		lru_remove(p, e);
}

static void unpin(struct lm_reader_pool *p, struct extent *e)
{
	if (--e->pins)
		return;
	if (e->in_cache && e->state == E_READY) {
		lru_insert(p, e);
		pthread_cond_broadcast(&p->done_cv);
	} else {
		extent_maybe_free(p, e);
	}
}

/* Evict the least recently used extent, but spare prefetched blocks nobody has read
 * yet (for AHEAD_KEEP_NS after they arrived: a reader that stopped must not hold the
 * budget) while anything else can go; with ahead = false never evict those at all. */
static bool evict_one(struct lm_reader_pool *p, bool ahead)
{
	struct extent *e = p->lru_head;
	int64_t stale = lm_mono_ns() - AHEAD_KEEP_NS;

	while (e && e->kind == K_PREFETCH && !e->touched && !e->cold && e->done_ns > stale)
		e = e->lnext;
	if (!e && ahead)
		e = p->lru_head;
	if (!e)
		return false;
	index_remove(p, e);
	p->st.evictions++;
	extent_maybe_free(p, e);
	return true;
}

/* A buffer of cap bytes (class cls or -1) within the budget, or NULL when the budget
 * has no room even after dropping free buffers and evicting (*full = true), or on
 * ENOMEM (*full = false). force: allocate past the budget when nothing is live. */
static char *buf_get(struct lm_reader_pool *p, size_t cap, int cls, bool force, bool *full)
{
	char *b;

	*full = false;
	for (;;) {
		if (cls > 0 && p->fl[cls]) {
			struct freebuf *f = p->fl[cls];

			p->fl[cls] = f->next;
			p->flbytes -= cap;
			return (char *)f;
		}
		if (p->used + cap + EXTENT_OVERHEAD <= p->cfg.max_memory)
			break;
		if (drop_free(p, cls))
			continue;
		if (evict_one(p, force))
			continue;
		if (force && p->nlive == 0)
			break;
		*full = true;
		return NULL;
	}
	b = map_buf(cap);
	if (!b)
		return NULL;
	p->used += cap;
	note_used(p);
	return b;
}

/* A new extent of blocks [u0, u0+nu) of o with a buffer, not yet indexed. NULL with
 * *full when the budget has no room. */
static struct extent *extent_new(struct lm_reader_pool *p, struct obj *o, uint64_t u0,
				 unsigned nu, enum ekind kind, bool force, bool *full)
{
	size_t B = p->cfg.block_size;
	uint64_t off = u0 * B;
	size_t len = (size_t)(o->size - off < (uint64_t)nu * B ? o->size - off : (uint64_t)nu * B);
	size_t cap = len == (size_t)nu * B ? len : (len + 4095) & ~(size_t)4095;
	int cls = len == (size_t)nu * B ? (int)nu : -1;
	struct extent *e = calloc(1, sizeof(*e) + nu * sizeof(struct slot));

	*full = false;
	if (!e)
		return NULL;
	e->buf = buf_get(p, cap ? cap : 1, cls, force, full);
	if (!e->buf) {
		free(e);
		return NULL;
	}
	e->obj = o;
	o->refs++;
	e->u0 = u0;
	e->nu = nu;
	e->off = off;
	e->len = len;
	e->cap = cap ? cap : 1;
	e->cls = cls;
	e->kind = kind;
	p->used += EXTENT_OVERHEAD;
	p->nlive++;
	note_used(p);
	return e;
}

/* ---------- fetching ---------- */

/* Store blocks [u0, ...) held in buf (len bytes from offset u0*B) in the data cache:
 * every whole block, and a short one only when it ends the object. No lock held. */
static void disk_put(struct lm_reader_pool *p, const char *dcid, uint64_t size, uint64_t u0,
			 const char *buf, size_t len)
{
	size_t B = p->cfg.block_size;

	for (size_t at = 0; at < len; at += B) {
		size_t n = len - at < B ? len - at : B;

		if (n < B && u0 * B + at + n != size)
			break;
		lm_datacache_put(p->cfg.datacache, dcid, u0 + at / B, buf + at, n);
	}
}

/* Fill the extent's buffer: blocks from the data cache as far as it has them, the rest
 * with one GET, checked. No lock held. */
static void fetch(struct lm_reader_pool *p, struct extent *e)
{
	struct obj *o = e->obj;
	struct lm_get_req req = { .key = o->key, .off = e->off, .len = e->len,
				  .if_match = o->etag[0] ? o->etag : NULL };
	struct lm_obj_info info;
	struct lm_err err;
	size_t got = 0, B = p->cfg.block_size, skip = 0;
	int rc;

	if (o->dcid) {
		while (skip < e->len) {
			size_t n = e->len - skip < B ? e->len - skip : B;

			if (lm_datacache_get(p->cfg.datacache, o->dcid, e->u0 + skip / B,
						 e->buf + skip, n))
				break;
			skip += n;
		}
		if (skip == e->len)
			return;
		req.off += skip;
		req.len -= skip;
	}
	lm_err_init(&err);
	memset(&info, 0, sizeof(info));
	rc = lm_store_get_range(o->store, &req, e->buf + skip, &got, &info, &err);
	e->net = got;
	if (rc) {
		e->rc = rc;
		snprintf(e->msg, sizeof(e->msg), "%s", err.msg[0] ? err.msg : lm_strerror(rc));
	} else if (info.size != o->size) {
		e->rc = LM_EMISMATCH;
		snprintf(e->msg, sizeof(e->msg), "size is now %" PRIu64 " bytes, was %" PRIu64,
			 info.size, o->size);
	} else if (o->etag[0] && info.etag[0] && strcmp(o->etag, info.etag)) {
		e->rc = LM_EMISMATCH;
		snprintf(e->msg, sizeof(e->msg), "ETag is now %s, was %s", info.etag, o->etag);
	} else if (got != req.len) {
		e->rc = EIO;
		snprintf(e->msg, sizeof(e->msg), "short read: %zu of %zu bytes at offset %" PRIu64,
			 got, req.len, req.off);
	} else if (o->dcid) {
		disk_put(p, o->dcid, o->size, e->u0 + skip / B, e->buf + skip, got);
	}
}

/* After fetch, under the lock: publish the result. The caller still holds its pin. */
static void complete(struct lm_reader_pool *p, struct extent *e)
{
	bool net = e->rc || e->net;   /* false: every block came from the data cache */

	if (net && e->kind == K_PREFETCH)
		p->st.gets_prefetch++;
	else if (net && e->kind == K_DEMAND)
		p->st.gets_demand++;
	else if (net)
		p->st.gets_probe++;
	if (e->rc) {
		e->state = E_FAILED;
		p->st.gets_failed++;
		index_remove(p, e);
	} else {
		e->state = E_READY;
		e->done_ns = lm_mono_ns();
		p->st.bytes_fetched += e->net;
	}
	pthread_cond_broadcast(&p->done_cv);
}

/* Write one queued footer record to the metadata cache and free it. No lock held. */
static void mc_write(struct lm_reader_pool *p, struct mcput *m)
{
	struct lm_err err;
	int rc;

	lm_err_init(&err);
	rc = lm_metacache_put(p->cfg.metacache, LM_MC_FOOTER, m->key, m->val, m->len, &err);
	if (rc)
		lm_debug("reader: footer not cached: %s", err.msg[0] ? err.msg : lm_strerror(rc));
	free(m->key);
	free(m->val);
	free(m);
}

static void *worker(void *arg)
{
	struct lm_reader_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct extent *e;

		while (!p->qhead && !p->puts && !p->stop)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		if (!p->qhead) {
			struct mcput *m = p->puts;

			p->puts = m->next;
			pthread_mutex_unlock(&p->mu);
			mc_write(p, m);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		e = p->qhead;
		p->qhead = e->qnext;
		if (!p->qhead)
			p->qtail = NULL;
		e->qnext = NULL;
		e->owner = NULL;
		e->state = E_RUNNING;
		pin(p, e);
		pthread_mutex_unlock(&p->mu);
		fetch(p, e);
		pthread_mutex_lock(&p->mu);
		complete(p, e);
		unpin(p, e);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void start_workers(struct lm_reader_pool *p)
{
	if (p->started)
		return;
	p->started = true;
	p->threads = calloc(p->cfg.threads, sizeof(*p->threads));
	if (!p->threads)
		return;
	for (unsigned i = 0; i < p->cfg.threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p))
			break;
		p->nthreads++;
	}
	if (!p->nthreads)
		lm_warn("reader: no prefetch threads could be started; reading without prefetch");
}

/* Take e off the work queue (it is QUEUED). */
static void dequeue(struct lm_reader_pool *p, struct extent *e)
{
	struct extent **pp = &p->qhead, *prev = NULL;

	while (*pp && *pp != e) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = e->qnext;
	if (p->qtail == e)
		p->qtail = prev;
	e->qnext = NULL;
	e->owner = NULL;
}

/* ---------- pool ---------- */

int lm_reader_pool_new(const struct lm_reader_config *cfg, struct lm_reader_pool **out,
		       struct lm_err *err)
{
	struct lm_reader_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return lm_err_set(err, ENOMEM, "out of memory");
	fill_config(&p->cfg, cfg);
	p->maxu = (unsigned)(p->cfg.max_request / p->cfg.block_size);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	*out = p;
	return 0;
}

void lm_reader_pool_free(struct lm_reader_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_lock(&p->mu);
	if (p->nreaders)
		lm_warn("reader: pool freed with %u reader(s) open", p->nreaders);
	lm_debug("reader: GETs %" PRIu64 " probe, %" PRIu64 " demand, %" PRIu64 " prefetch, %"
		 PRIu64 " failed; %" PRIu64 " bytes fetched, %" PRIu64 " served; lookups %" PRIu64
		 " hit, %" PRIu64 " waited, %" PRIu64 " missed; %" PRIu64 " evictions, %" PRIu64
		 " prefetched blocks unused; peak memory %" PRIu64 " bytes",
		 p->st.gets_probe, p->st.gets_demand, p->st.gets_prefetch, p->st.gets_failed,
		 p->st.bytes_fetched, p->st.bytes_served, p->st.hits, p->st.waits, p->st.misses,
		 p->st.evictions, p->st.prefetch_wasted, p->st.mem_peak);
	while (p->qhead) {
		struct extent *e = p->qhead;

		dequeue(p, e);
		index_remove(p, e);
		extent_maybe_free(p, e);
	}
	while (evict_one(p, true))
		;
	while (drop_free(p, -1))
		;
	while (p->puts) {
		struct mcput *m = p->puts;

		p->puts = m->next;
		pthread_mutex_unlock(&p->mu);
		mc_write(p, m);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void lm_reader_pool_stats(struct lm_reader_pool *p, struct lm_reader_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	out->readers_open = p->nreaders;
	pthread_mutex_unlock(&p->mu);
	if (p->cfg.datacache) {
		struct lm_datacache_stats d;

		lm_datacache_stats(p->cfg.datacache, &d);
		out->disk_hits = d.hits;
		out->disk_misses = d.misses;
		out->disk_corrupt = d.corrupt;
		out->disk_used = d.bytes_used;
		out->disk_full = d.disabled;
	}
}

void lm_reader_pool_config(struct lm_reader_pool *p, struct lm_reader_config *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->cfg;
	pthread_mutex_unlock(&p->mu);
}

void lm_reader_pool_set_metacache(struct lm_reader_pool *p, struct lm_metacache *mc)
{
	pthread_mutex_lock(&p->mu);
	p->cfg.metacache = mc;
	pthread_mutex_unlock(&p->mu);
}

/* ---------- readers ---------- */

/* Drop a reference to a tail (lock held); the last one frees it and its budget. */
static void tail_unref(struct lm_reader_pool *p, struct tailbuf *tb)
{
	if (!tb || --tb->refs)
		return;
	p->used -= tb->len;
	note_used(p);
	pthread_cond_broadcast(&p->done_cv);
	free(tb->data);
	free(tb);
}

static bool is_parquet(const char *key)
{
	size_t n = strlen(key);

	return n > 8 && !strcmp(key + n - 8, ".parquet");
}

int lm_reader_open(struct lm_reader_pool *p, struct lm_store *s, const char *key,
		   uint64_t expected_size, const char *what, struct lm_reader **out)
{
	struct lm_reader_ident id = { .size = expected_size };

	return lm_reader_open_ident(p, s, key, &id, what, out);
}

int lm_reader_open_ident(struct lm_reader_pool *p, struct lm_store *s, const char *key,
			 const struct lm_reader_ident *id, const char *what,
			 struct lm_reader **out)
{
	struct lm_reader *r = calloc(1, sizeof(*r));
	uint64_t expected_size = id->size;
	int rc = 0;

	if (!r)
		return ENOMEM;
	r->p = p;
	r->store = s;
	r->expected = expected_size;
	r->key = strdup(key);
	r->what = strdup(what ? what : key);
	r->win = p->cfg.min_window;
	if (!r->key || !r->what) {
		rc = ENOMEM;
		goto out;
	}
	if (expected_size != UINT64_MAX && expected_size > 0 && is_parquet(key)) {
		r->footer = true;
		r->tail_want = expected_size > p->cfg.footer_size ? expected_size - p->cfg.footer_size
								  : 0;
		if (id->etag && id->etag[0] && strlen(id->etag) < sizeof(((struct obj *)0)->etag)) {
			r->hint = strdup(id->etag);
			if (!r->hint) {
				rc = ENOMEM;
				goto out;
			}
		}
		if (r->hint || id->mtime_ms) {
			char rest[160];

			if (r->hint)
				snprintf(rest, sizeof(rest), "e=%s", r->hint);
			else
				snprintf(rest, sizeof(rest), "m=%" PRId64, id->mtime_ms);
			r->mckey = ident_string("footer", s, key, expected_size, rest);
			if (!r->mckey) {
				rc = ENOMEM;
				goto out;
			}
		}
	}
	pthread_mutex_lock(&p->mu);
	p->nreaders++;
	pthread_mutex_unlock(&p->mu);
out:
	if (rc) {
		free(r->hint);
		free(r->mckey);
		free(r->key);
		free(r->what);
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void lm_reader_close(struct lm_reader *r)
{
	struct lm_reader_pool *p;

	if (!r)
		return;
	p = r->p;
	pthread_mutex_lock(&p->mu);
	for (struct extent *e = p->qhead, *n; e; e = n) {
		n = e->qnext;
		if (e->owner != r)
			continue;
		dequeue(p, e);
		index_remove(p, e);
		extent_maybe_free(p, e);
	}
	if (r->seq)
		p->nseq--;
	p->nreaders--;
	obj_unref(p, r->obj);
	tail_unref(p, r->tb);
	pthread_mutex_unlock(&p->mu);
	free(r->hint);
	free(r->mckey);
	free(r->key);
	free(r->what);
	free(r);
}

/* The user-facing error for a failed GET of r's object (code EIO, logged once). */
static int read_error(struct lm_reader *r, int rc, const char *msg, struct lm_err *err)
{
	struct lm_err tmp;

	if (!err) {
		lm_err_init(&tmp);
		err = &tmp;
	}
	if (rc == ENOENT)
		lm_err_set(err, EIO, "%s: missing from storage (%s)", r->what, msg);
	else if (rc == LM_EMISMATCH)
		lm_err_set(err, EIO, "%s: the object changed in storage while open (%s)", r->what,
			   msg);
	else if (rc == ENOMEM)
		lm_err_set(err, EIO, "%s: out of memory for read buffers", r->what);
	else
		lm_err_set(err, EIO, "%s: %s", r->what, msg);
	return EIO;
}

static void log_once(struct lm_reader *r, const struct lm_err *err)
{
	bool first;

	pthread_mutex_lock(&r->p->mu);
	first = !r->logged;
	r->logged = true;
	pthread_mutex_unlock(&r->p->mu);
	if (first)
		lm_error("%s", err && err->msg[0] ? err->msg : "read failed");
}

/* A reopened object whose block at off is cached: one 1-byte GET with If-Match
 * proves storage still holds that object (same size and etag), and the open adopts it
 * without fetching the block again. Lock held on entry and exit, dropped for the GET.
 * Returns -1 when adopted, 0 never, a positive code (EIO, err set) for a missing
 * object, or 1 when the caller must make a full probe. */
static int revalidate(struct lm_reader *r, uint64_t off, struct lm_err *err)
{
	struct lm_reader_pool *p = r->p;
	uint64_t h = key_hash(r->store, r->key);
	struct lm_obj_info info;
	struct lm_err e2;
	struct obj *o;
	char byte;
	size_t got = 0;
	bool same;
	int rc;

	for (o = p->objs[h % NOBJBUCKETS]; o; o = o->next)
		if (o->store == r->store && o->hash == h && !strcmp(o->key, r->key))
			break;   /* the newest object of this key */
	if (!o || off >= o->size || (r->expected != UINT64_MAX && o->size != r->expected) ||
	    !lookup(p, o, off / p->cfg.block_size))
		return 1;
	o->refs++;
	pthread_mutex_unlock(&p->mu);
	{
		struct lm_get_req req = { .key = r->key, .off = off, .len = 1, .if_match = o->etag };

		lm_err_init(&e2);
		memset(&info, 0, sizeof(info));
		rc = lm_store_get_range(r->store, &req, &byte, &got, &info, &e2);
	}
	pthread_mutex_lock(&p->mu);
	p->st.gets_probe++;
	if (rc == ENOENT) {
		p->st.gets_failed++;
		obj_unref(p, o);
		return read_error(r, rc, e2.msg[0] ? e2.msg : lm_strerror(rc), err);
	}
	if (rc || got != 1 || info.size != o->size || (info.etag[0] && strcmp(info.etag, o->etag))) {
		obj_unref(p, o);   /* changed (or a transient error): the full probe decides */
		return 1;
	}
	if (!r->obj) {
		r->obj = o;
		return -1;
	}
	same = r->obj == o;
	obj_unref(p, o);
	return same ? -1 : read_error(r, LM_EMISMATCH, "it differs between two reads", err);
}

/* With a data cache, the first GET of an open asks for one byte only: it learns size
 * and ETag, and the blocks then come from local disk when it has them (fetch). Lock
 * held on entry and exit, dropped for the GET. */
static int probe_small(struct lm_reader *r, uint64_t off, struct lm_err *err)
{
	struct lm_reader_pool *p = r->p;
	struct lm_get_req req = { .key = r->key, .off = off, .len = 1 };
	struct lm_obj_info info;
	struct lm_err e2;
	struct obj *o;
	size_t got = 0;
	char byte;
	int rc;

	pthread_mutex_unlock(&p->mu);
	lm_err_init(&e2);
	memset(&info, 0, sizeof(info));
	rc = lm_store_get_range(r->store, &req, &byte, &got, &info, &e2);
	pthread_mutex_lock(&p->mu);
	p->st.gets_probe++;
	if (rc) {
		p->st.gets_failed++;
		return read_error(r, rc, e2.msg[0] ? e2.msg : lm_strerror(rc), err);
	}
	p->st.bytes_fetched += got;
	if (r->expected != UINT64_MAX && info.size != r->expected)
		return lm_err_set(err, EIO, "%s: storage holds %" PRIu64 " bytes, the log says %"
				  PRIu64 " — refusing to serve it", r->what, info.size, r->expected);
	if (got != (off < info.size ? 1u : 0u))
		return lm_err_set(err, EIO, "%s: short read at offset %" PRIu64 " (%zu of 1 bytes)",
				  r->what, off, got);
	if (r->obj) {
		if (r->obj->size != info.size || strcmp(r->obj->etag, info.etag))
			return read_error(r, LM_EMISMATCH, "it differs between two reads", err);
		return 0;
	}
	o = obj_get(p, r->store, r->key, &info);
	if (!o)
		return read_error(r, ENOMEM, "", err);
	r->obj = o;
	return 0;
}

/* First GET of an open (lock held on entry and exit, dropped for the GET): learns
 * size and etag, checks the size against the log, and caches the bytes it got. */
static int probe(struct lm_reader *r, uint64_t off, size_t len, struct lm_err *err)
{
	struct lm_reader_pool *p = r->p;
	size_t B = p->cfg.block_size;
	uint64_t u0 = off / B, u1 = (off + (len ? len : 1) - 1) / B;
	unsigned nu = (unsigned)(u1 - u0 + 1 > p->maxu ? p->maxu : u1 - u0 + 1);
	size_t want = (size_t)nu * B, got = 0, cap;
	struct lm_get_req req = { .key = r->key, .off = u0 * B };
	struct lm_obj_info info;
	struct lm_err e2;
	struct extent *e = NULL;
	struct obj *o = NULL;
	char *buf = NULL;
	bool full;
	int rc = 0;

	rc = revalidate(r, off, err);
	if (rc != 1)
		return rc < 0 ? 0 : rc;
	if (p->cfg.datacache)
		return probe_small(r, off, err);
	rc = 0;
	if (r->expected != UINT64_MAX && r->expected - req.off < want)
		want = (size_t)(r->expected - req.off);
	cap = want ? want : 1;
	while (!(buf = buf_get(p, cap, cap == (size_t)nu * B ? (int)nu : -1, true, &full))) {
		if (!full) {
			rc = read_error(r, ENOMEM, "", err);
			goto out;
		}
		pthread_cond_wait(&p->done_cv, &p->mu);
	}
	req.len = want;
	pthread_mutex_unlock(&p->mu);
	lm_err_init(&e2);
	memset(&info, 0, sizeof(info));
	rc = lm_store_get_range(r->store, &req, buf, &got, &info, &e2);
	pthread_mutex_lock(&p->mu);
	p->st.gets_probe++;
	if (rc) {
		p->st.gets_failed++;
		rc = read_error(r, rc, e2.msg[0] ? e2.msg : lm_strerror(rc), err);
		goto out;
	}
	p->st.bytes_fetched += got;
	if (r->expected != UINT64_MAX && info.size != r->expected) {
		rc = lm_err_set(err, EIO, "%s: storage holds %" PRIu64 " bytes, the log says %" PRIu64
				" — refusing to serve it", r->what, info.size, r->expected);
		goto out;
	}
	if (got != (info.size > req.off ? (info.size - req.off < want ? info.size - req.off : want) : 0)) {
		rc = lm_err_set(err, EIO, "%s: short read at offset %" PRIu64 " (%zu of %zu bytes)",
				r->what, req.off, got, want);
		goto out;
	}
	if (r->obj) {
		/* Another thread's probe won: it must have seen the same object. */
		if (r->obj->size != info.size || strcmp(r->obj->etag, info.etag)) {
			rc = read_error(r, LM_EMISMATCH, "it differs between two reads", err);
			goto out;
		}
	} else {
		o = obj_get(p, r->store, r->key, &info);
		if (!o) {
			rc = read_error(r, ENOMEM, "", err);
			goto out;
		}
		r->obj = o;
	}
	/* Keep the bytes if none of these blocks is cached yet. */
	if (got) {
		unsigned gnu = (unsigned)((got + B - 1) / B);
		bool clash = false;

		for (unsigned i = 0; i < gnu && !clash; i++)
			clash = lookup(p, r->obj, u0 + i) != NULL;
		if (!clash)
			e = calloc(1, sizeof(*e) + gnu * sizeof(struct slot));
		if (e) {
			e->obj = r->obj;
			r->obj->refs++;
			e->u0 = u0;
			e->nu = gnu;
			e->off = req.off;
			e->len = got;
			e->buf = buf;
			e->cap = cap;
			e->cls = cap == (size_t)nu * B && gnu == nu ? (int)nu : -1;
			e->kind = K_PROBE;
			e->state = E_READY;
			p->used += EXTENT_OVERHEAD;
			p->nlive++;
			note_used(p);
			buf = NULL;
			index_add(p, e);
			lru_insert(p, e);
		}
	}
out:
	if (buf) {
		/* A buffer of whole blocks returns to its free list; anything else is freed. */
		buf_release(p, buf, cap, cap == (size_t)nu * B ? (int)nu : -1);
		pthread_cond_broadcast(&p->done_cv);
	}
	return rc;
}

/* A footer record: magic, etag length, object size, tail offset (host order: the cache
 * never leaves the machine), the etag, the tail bytes. */
#define FT_HDR 24

static char *ft_encode(const char *etag, uint64_t size, uint64_t toff, const char *tail,
			   size_t tlen, size_t *len)
{
	uint32_t magic = FT_MAGIC, elen = (uint32_t)strlen(etag);
	char *v = malloc(FT_HDR + elen + tlen);

	if (!v)
		return NULL;
	memcpy(v, &magic, 4);
	memcpy(v + 4, &elen, 4);
	memcpy(v + 8, &size, 8);
	memcpy(v + 16, &toff, 8);
	memcpy(v + FT_HDR, etag, elen);
	memcpy(v + FT_HDR + elen, tail, tlen);
	*len = FT_HDR + elen + tlen;
	return v;
}

/* Check a record against what r expects; on success the tail is copied out. */
static bool ft_decode(const struct lm_reader *r, const struct lm_buf *b, char *etag,
			  size_t esize, uint64_t *toff, char **tail, size_t *tlen)
{
	uint32_t magic, elen;
	uint64_t size, off;

	if (b->len < FT_HDR)
		return false;
	memcpy(&magic, b->data, 4);
	memcpy(&elen, b->data + 4, 4);
	memcpy(&size, b->data + 8, 8);
	memcpy(&off, b->data + 16, 8);
	if (magic != FT_MAGIC || elen == 0 || elen >= esize || b->len < FT_HDR + (size_t)elen ||
		size != r->expected || off > r->tail_want || size - off != b->len - FT_HDR - elen ||
		size - off > FOOTER_MAX)
		return false;
	memcpy(etag, b->data + FT_HDR, elen);
	etag[elen] = 0;
	if (r->hint && strcmp(r->hint, etag))
		return false;
	*tlen = (size_t)(size - off);
	*tail = malloc(*tlen ? *tlen : 1);
	if (!*tail)
		return false;
	memcpy(*tail, b->data + FT_HDR + elen, *tlen);
	*toff = off;
	return true;
}

/* The footer length a Parquet tail ends with ("<len32 LE>PAR1"), 0 when it does not. */
static uint64_t footer_need(const char *tail, size_t tlen)
{
	const unsigned char *t = (const unsigned char *)tail + tlen - 8;

	if (tlen < 8 || memcmp(t + 4, "PAR1", 4))
		return 0;
	return 8 + ((uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 |
			(uint64_t)t[3] << 24);
}

/* Load r's tail (lock held on entry and exit, dropped meanwhile; tstate is T_BUSY then,
 * so other threads wait): from the metacache, else — when r has made no request yet —
 * with one GET of the tail region (two when the footer is longer). On success r->tail is
 * set and r->obj is the object it belongs to. A tail that cannot be had or does not
 * belong to r's object is simply not used (reads take the block path); only a failed
 * first GET is an error, like a failed probe. */
static int tail_load(struct lm_reader *r, struct lm_err *err)
{
	struct lm_reader_pool *p = r->p;
	struct lm_metacache *mc = p->cfg.metacache;
	bool known = r->obj != NULL, fresh = false;
	uint64_t size = r->expected, toff = r->tail_want, need;
	struct lm_obj_info info;
	struct lm_err e2;
	unsigned ngets = 0;
	char *tail = NULL;
	size_t tlen = 0, got = 0;
	struct lm_buf b;
	int rc = 0;

	r->tstate = T_BUSY;
	pthread_mutex_unlock(&p->mu);
	memset(&info, 0, sizeof(info));
	lm_err_init(&e2);
	if (mc && r->mckey) {
		lm_buf_init(&b, FOOTER_MAX + 4096);
		if (!lm_metacache_get(mc, LM_MC_FOOTER, r->mckey, &b, &e2) &&
			ft_decode(r, &b, info.etag, sizeof(info.etag), &toff, &tail, &tlen))
			info.size = size;
		lm_buf_free(&b);
	}
	if (!tail && !known) {
		struct lm_get_req req = { .key = r->key, .off = toff, .len = (size_t)(size - toff),
					  .if_match = r->hint };

		tlen = req.len;
		tail = malloc(tlen);
		if (!tail) {
			rc = ENOMEM;
			goto locked;
		}
		ngets++;
		rc = lm_store_get_range(r->store, &req, tail, &got, &info, &e2);
		if (rc)
			goto locked;
		if (info.size != size || got != tlen)
			goto locked;   /* reported below */
		fresh = true;
		need = footer_need(tail, tlen);
		if (need > tlen && need <= size && need <= FOOTER_MAX && info.etag[0]) {
			/* The footer starts before the tail: fetch the rest, same object. */
			struct lm_get_req r2 = { .key = r->key, .off = size - need,
						 .len = (size_t)(toff - (size - need)),
						 .if_match = info.etag };
			char *t2 = malloc((size_t)need);
			struct lm_obj_info i2;
			size_t g2 = 0;

			memset(&i2, 0, sizeof(i2));
			if (t2) {
				ngets++;
				if (!lm_store_get_range(r->store, &r2, t2, &g2, &i2, &e2) && g2 == r2.len &&
					i2.size == size) {
					memcpy(t2 + r2.len, tail, tlen);
					free(tail);
					tail = t2;
					tlen = (size_t)need;
					toff = size - need;
				} else {
					free(t2);   /* the tail alone still serves what it holds */
				}
			}
		}
	}
locked:
	pthread_mutex_lock(&p->mu);
	p->st.gets_footer += ngets;
	if (ngets && !fresh) {
		/* The first GET failed: the open's error, as a probe's would be. */
		p->st.gets_failed++;
		if (rc)
			rc = read_error(r, rc, e2.msg[0] ? e2.msg : lm_strerror(rc), err);
		else if (info.size != size)
			rc = lm_err_set(err, EIO, "%s: storage holds %" PRIu64 " bytes, the log says %"
					PRIu64 " — refusing to serve it", r->what, info.size, size);
		else
			rc = lm_err_set(err, EIO, "%s: short read at offset %" PRIu64 " (%zu of %zu bytes)",
					r->what, toff, got, tlen);
		free(tail);
		tail = NULL;
	} else if (rc) {
		rc = read_error(r, rc, "", err);   /* ENOMEM */
	}
	if (fresh)
		p->st.bytes_fetched += tlen;
	else if (tail)
		p->st.footer_cached++;
	if (tail && r->obj) {
		/* A probe (or a tail) of this open came first: the tail must be of its object. */
		if (r->obj->size != size || strcmp(r->obj->etag, info.etag)) {
			if (fresh)
				rc = read_error(r, LM_EMISMATCH, "it differs between two reads", err);
			free(tail);
			tail = NULL;
		}
	} else if (tail) {
		r->obj = obj_get(p, r->store, r->key, &info);
		if (!r->obj) {
			free(tail);
			tail = NULL;
			rc = read_error(r, ENOMEM, "", err);
		}
	}
	if (tail) {
		if (fresh && mc && r->mckey && info.etag[0]) {
			struct mcput *m = calloc(1, sizeof(*m));

			if (m) {
				m->key = strdup(r->mckey);
				m->val = ft_encode(info.etag, size, toff, tail, tlen, &m->len);
			}
			if (m && m->key && m->val) {
				m->next = p->puts;
				p->puts = m;
				start_workers(p);
				if (p->nthreads) {
					pthread_cond_signal(&p->work_cv);
				} else {
					p->puts = m->next;
					pthread_mutex_unlock(&p->mu);
					mc_write(p, m);
					pthread_mutex_lock(&p->mu);
				}
			} else if (m) {
				free(m->key);
				free(m->val);
				free(m);
			}
		}
		r->tb = malloc(sizeof(*r->tb));
		if (r->tb) {
			*r->tb = (struct tailbuf){ .refs = 1, .len = tlen, .data = tail };
			r->tail = tail;
			r->tail_off = toff;
			r->tail_len = tlen;
			p->used += tlen;
			note_used(p);
		} else {
			free(tail);   /* reads take the block path */
		}
	}
	r->tstate = T_DONE;
	pthread_cond_broadcast(&p->done_cv);
	return rc;
}

/* Update r's stream state for a read of [off, end); true when it is sequential. */
static bool stream_update(struct lm_reader *r, uint64_t off, uint64_t end)
{
	struct lm_reader_pool *p = r->p;
	uint64_t back = p->cfg.back_window > 4 * p->cfg.block_size ? p->cfg.back_window
								  : 4 * p->cfg.block_size;
	uint64_t fwd = r->win > p->cfg.block_size ? r->win : p->cfg.block_size;
	bool seq = r->had_read && off <= r->pos + fwd && off + back >= r->pos;

	if (seq) {
		if (end > r->pos)
			r->pos = end;
	} else {
		r->pos = end;
		r->win = p->cfg.min_window;
		r->ra_end = 0;
	}
	if (seq != r->seq) {
		if (seq)
			p->nseq++;
		else
			p->nseq--;
		r->seq = seq;
	}
	r->had_read = true;
	return seq;
}

/* Queue GETs so that r's object is requested up to end + window (budget allowing). */
static void prefetch(struct lm_reader *r, uint64_t off, uint64_t end)
{
	struct lm_reader_pool *p = r->p;
	struct obj *o = r->obj;
	size_t B = p->cfg.block_size;
	uint64_t share = p->cfg.max_memory * 3 / 4 / (p->nseq ? p->nseq : 1);
	uint64_t w = r->win, target, x;
	unsigned req_units;
	bool queued = false;

	if (w > share)
		w = share;
	if (w < B)
		w = B;
	req_units = (unsigned)(w / 2 / B);
	if (req_units < 1)
		req_units = 1;
	if (req_units > p->maxu)
		req_units = p->maxu;
	target = end + w;
	if (target > o->size)
		target = o->size;
	x = off / B * B;
	if (r->ra_end > x)
		x = r->ra_end;
	/* Top up only when less than half a window is left ahead: GETs then come in
	 * window-sized batches, not one per read. */
	if (x > end && x - end >= w / 2)
		return;
	start_workers(p);
	if (!p->nthreads)
		return;
	while (x < target) {
		uint64_t u = x / B;
		unsigned n = 0;
		struct extent *e;
		bool full;

		if (lookup(p, o, u)) {
			x = (u + 1) * B;
			continue;
		}
		/* Whole requests even past target: extents of one size recycle one
		 * free-list class of buffers (a short one would push out a buffer of the
		 * common size, and the next GET would page-fault a fresh mapping). */
		while (n < req_units && (u + n) * B < o->size && !lookup(p, o, u + n))
			n++;
		e = extent_new(p, o, u, n, K_PREFETCH, false, &full);
		if (!e)
			break;   /* the budget is full: the window shrinks to what fits */
		e->state = E_QUEUED;
		e->owner = r;
		index_add(p, e);
		if (p->qtail)
			p->qtail->qnext = e;
		else
			p->qhead = e;
		p->qtail = e;
		pthread_cond_signal(&p->work_cv);
		queued = true;
		x = (u + n) * B;
	}
	r->ra_end = x;
	if (queued && r->win < p->cfg.max_window)
		r->win = r->win * 2 > p->cfg.max_window ? p->cfg.max_window : r->win * 2;
}

/* Move the extent just behind r's back window to the cold end of the LRU. */
static void demote_behind(struct lm_reader *r)
{
	struct lm_reader_pool *p = r->p;
	size_t B = p->cfg.block_size;
	uint64_t edge;
	struct extent *e;

	if (r->pos < p->cfg.back_window + B)
		return;
	edge = r->pos - p->cfg.back_window;
	e = lookup(p, r->obj, edge / B - 1);
	if (!e || e->cold || e->off + e->len > edge)
		return;
	e->cold = true;
	if (e->in_lru) {
		lru_remove(p, e);
		lru_insert(p, e);
	}
}

/* Unpin what v holds (lock held). */
static void view_unpin(struct lm_reader_pool *p, struct lm_reader_view *v)
{
	for (unsigned i = 0; i < v->npin; i++)
		unpin(p, v->pin[i]);
	v->npin = 0;
}

/* Add [ptr, ptr+n) to v, keeping the pin on e (NULL: memory that lives as long as the
 * reader, the Parquet tail). */
static void view_add(struct lm_reader_view *v, struct extent *e, const char *ptr, size_t n)
{
	v->iov[v->n].iov_base = (void *)ptr;
	v->iov[v->n].iov_len = n;
	v->n++;
	v->len += n;
	if (e)
		v->pin[v->npin++] = e;
}

/* The read path of lm_reader_read (dst set: bytes are copied out, pins dropped at once)
 * and lm_reader_read_view (v set: segments point into the pinned extents). */
static int do_read(struct lm_reader *r, uint64_t off, size_t len, char *dst,
		   struct lm_reader_view *v, size_t *got, struct lm_err *err)
{
	struct lm_reader_pool *p = r->p;
	size_t B = p->cfg.block_size;
	uint64_t end, pos;
	bool seq;
	int rc = 0;

	*got = 0;
	if (r->expected != UINT64_MAX) {
		if (off >= r->expected || len == 0)
			return 0;
		if (len > r->expected - off)
			len = (size_t)(r->expected - off);
	}
	pthread_mutex_lock(&p->mu);
	if (r->footer && off >= r->tail_want && r->tstate != T_DONE) {
		while (r->tstate == T_BUSY)
			pthread_cond_wait(&p->done_cv, &p->mu);
		if (r->tstate == T_NONE) {
			rc = tail_load(r, err);
			if (rc)
				goto out;
		}
	}
	if (r->tail && off >= r->tail_off) {
		/* Inside the tail (len is clamped to the size, which is the tail's end); the
		 * tail lives until the reader is closed. */
		p->st.footer_reads++;
		p->st.bytes_served += len;
		if (v) {
			r->tb->refs++;
			v->tail = r->tb;
		}
		pthread_mutex_unlock(&p->mu);
		if (v)
			view_add(v, NULL, r->tail + (off - r->tail_off), len);
		else
			memcpy(dst, r->tail + (off - r->tail_off), len);
		*got = len;
		return 0;
	}
	if (!r->obj) {
		rc = probe(r, off, len, err);
		if (rc)
			goto out;
	}
	if (off >= r->obj->size || len == 0)
		goto out;
	end = off + len > r->obj->size ? r->obj->size : off + len;
	seq = stream_update(r, off, end);
	if (seq) {
		prefetch(r, off, end);
		demote_behind(r);
	}
	pos = off;
	while (pos < end) {
		uint64_t u = pos / B;
		struct extent *e = lookup(p, r->obj, u);
		size_t n;

		if (v && v->n == LM_READER_VIEW_SEGS) {
			v->partial = true;
			break;
		}
		if (!e) {
			/* Miss: one GET for the run of missing blocks this read needs. */
			uint64_t ulast = (end - 1) / B;
			unsigned nu = 0;
			bool full;

			while (nu < p->maxu && u + nu <= ulast && !lookup(p, r->obj, u + nu))
				nu++;
			e = extent_new(p, r->obj, u, nu, K_DEMAND, true, &full);
			if (!e) {
				if (!full) {
					rc = read_error(r, ENOMEM, "", err);
					goto out;
				}
				if (v && v->npin) {
					/* Waiting for memory while holding pins could wait
					 * forever: hand back what the view has. */
					v->partial = true;
					break;
				}
				pthread_cond_wait(&p->done_cv, &p->mu);
				continue;
			}
			p->st.misses++;
			index_add(p, e);
			e->state = E_RUNNING;
			pin(p, e);
			pthread_mutex_unlock(&p->mu);
			fetch(p, e);
			pthread_mutex_lock(&p->mu);
			complete(p, e);
		} else if (e->state == E_QUEUED) {
			/* Queued prefetch we need now: do it here rather than wait. */
			p->st.waits++;
			dequeue(p, e);
			e->state = E_RUNNING;
			pin(p, e);
			pthread_mutex_unlock(&p->mu);
			fetch(p, e);
			pthread_mutex_lock(&p->mu);
			complete(p, e);
		} else {
			pin(p, e);
			if (e->state == E_RUNNING)
				p->st.waits++;
			else
				p->st.hits++;
			while (e->state == E_RUNNING)
				pthread_cond_wait(&p->done_cv, &p->mu);
		}
		if (e->state == E_FAILED) {
			rc = read_error(r, e->rc, e->msg, err);
			unpin(p, e);
			goto out;
		}
		if (!seq)
			e->cold = false;
		e->touched = true;
		n = (size_t)((end < e->off + e->len ? end : e->off + e->len) - pos);
		if (v) {
			view_add(v, e, e->buf + (pos - e->off), n);   /* stays pinned */
		} else {
			pthread_mutex_unlock(&p->mu);
			memcpy(dst + (pos - off), e->buf + (pos - e->off), n);
			pthread_mutex_lock(&p->mu);
			unpin(p, e);
		}
		pos += n;
	}
	*got = (size_t)(pos - off);
	p->st.bytes_served += *got;
out:
	if (rc && v)
		view_unpin(p, v);
	pthread_mutex_unlock(&p->mu);
	if (rc) {
		*got = 0;
		log_once(r, err);
	}
	return rc;
}

int lm_reader_read(struct lm_reader *r, uint64_t off, size_t len, void *dst, size_t *got,
		   struct lm_err *err)
{
	return do_read(r, off, len, dst, NULL, got, err);
}

int lm_reader_read_view(struct lm_reader *r, uint64_t off, size_t len,
			struct lm_reader_view *v, struct lm_err *err)
{
	size_t got = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	v->pool = r->p;
	rc = do_read(r, off, len, NULL, v, &got, err);
	if (rc) {
		v->n = 0;
		v->len = 0;
		v->partial = false;
	}
	return rc;
}

void lm_reader_view_release(struct lm_reader_view *v)
{
	if (!v || (!v->npin && !v->tail))
		return;
	pthread_mutex_lock(&v->pool->mu);
	view_unpin(v->pool, v);
	tail_unref(v->pool, v->tail);
	v->tail = NULL;
	pthread_mutex_unlock(&v->pool->mu);
}
