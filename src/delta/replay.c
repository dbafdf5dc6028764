/* replay.c — Delta action reconciliation (PROTOCOL.md "Action Reconciliation"):
 * the live set keyed by (path, deletion vector unique id), with removes of a commit
 * applied before its adds, plus the protocol/metaData state that decides whether a
 * version may be shown. Cost is linear in the number of actions: one open-addressing
 * hash table of slot indices, slots recycled through a free list.
 *
 * Slots are a struct lm_file each (what a snapshot lists), with the rest beside them
 * (x: deletion vector, poisoned; hash), so that a snapshot's file list is the slots
 * themselves gathered in path order: the snapshot takes that array, and the replay
 * reads its slots from there until it next changes them (then it copies them back).
 * The strings live in arenas shared, refcounted, with those snapshots: no path is ever
 * copied on the way from a checkpoint's Parquet page to the file list.
 *
 * A checkpoint's rows are distinct keys: they are appended without hashing, by several
 * threads at once (see checkpoint.c), which also key each path for the sort while it
 * is at hand (its folder, the first bytes of its name); the index is built only when a
 * commit follows. The sort is an MSD radix sort on 16-byte prefixes; with folder keys
 * and a flat layout it sorts the folders once and each folder's names, and the tree
 * is then built from runs of files by folder without reading the paths again.
 * Owns struct lm_delta_replay. May call: snapshot, util, cJSON. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/util.h"

static void dirs_free(struct lm_delta_dirs *ds);

/* ---- strings: arenas shared with the snapshots (struct lm_snap_hold) ---- */

struct lm_delta_strings {
	struct lm_snap_hold hold;        /* first: what the snapshots hold */
	struct lm_arena own;             /* strings the replay copies */
	struct lm_arena *adopted;        /* commit and checkpoint arenas taken over */
	size_t n_adopted, cap_adopted;
};

static void strings_release(struct lm_snap_hold *h)
{
	struct lm_delta_strings *st = (struct lm_delta_strings *)h;

	for (size_t i = 0; i < st->n_adopted; i++)
		lm_arena_free(&st->adopted[i]);
	free(st->adopted);
	lm_arena_free(&st->own);
	free(st);
}

static struct lm_delta_strings *strings(struct lm_delta_replay *r)
{
	if (!r->strings) {
		r->strings = calloc(1, sizeof(*r->strings));
		if (!r->strings)
			return NULL;
		atomic_init(&r->strings->hold.refs, 1);
		r->strings->hold.release = strings_release;
		lm_arena_init(&r->strings->own);
	}
	return r->strings;
}

static char *own_strdup(struct lm_delta_replay *r, const char *s)
{
	struct lm_delta_strings *st = strings(r);

	return st ? lm_arena_strdup(&st->own, s) : NULL;
}

static void *own_alloc(struct lm_delta_replay *r, size_t n)
{
	struct lm_delta_strings *st = strings(r);

	return st ? lm_arena_alloc(&st->own, n) : NULL;
}

int lm_delta_replay_adopt(struct lm_delta_replay *r, struct lm_arena *a)
{
	struct lm_delta_strings *st = strings(r);

	if (!st)
		return ENOMEM;
	if (st->n_adopted == st->cap_adopted) {
		size_t nc = st->cap_adopted ? st->cap_adopted * 2 : 16;
		struct lm_arena *p = realloc(st->adopted, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		st->adopted = p;
		st->cap_adopted = nc;
	}
	st->adopted[st->n_adopted++] = *a;
	lm_arena_init(a);
	return 0;
}

/* ---- life cycle ---- */

void lm_delta_replay_init(struct lm_delta_replay *r)
{
	memset(r, 0, sizeof(*r));
	r->version = -1;
	r->broken_at = -1;
	r->base = -1;
}

void lm_delta_replay_free(struct lm_delta_replay *r)
{
	if (r->f_owner)
		lm_snapshot_unref(r->f_owner);
	else
		free(r->f);
	free(r->x);
	free(r->hash);
	free(r->keys);
	dirs_free(r->dirs);
	lm_delta_replay_bulk_close(r);
	free(r->free_list);
	free(r->tab);
	free(r->unsupported);
	free(r->table_id);
	free(r->protocol_json);
	free(r->metadata_json);
	if (r->strings)
		lm_snap_hold_unref(&r->strings->hold);
	lm_delta_replay_init(r);
}

/* ---- slots ---- */

/* The slots change other than by a bulk load: the presorted keys no longer fit. */
static void drop_keys(struct lm_delta_replay *r)
{
	free(r->keys);
	r->keys = NULL;
	r->keys_n = r->keys_cap = 0;
	dirs_free(r->dirs);
	r->dirs = NULL;
}

/* f back in the replay's hands before it changes it (a snapshot may hold it). */
static int make_own(struct lm_delta_replay *r)
{
	struct lm_file *f;
	size_t cap = r->n_e + r->n_e / 8 + 16;

	if (!r->f_owner)
		return 0;
	drop_keys(r);
	f = malloc(cap * sizeof(*f));
	if (!f)
		return ENOMEM;
	memcpy(f, r->f, r->n_e * sizeof(*f));
	if (r->x) {
		struct lm_delta_slot *x = realloc(r->x, cap * sizeof(*x));

		if (!x) {
			free(f);
			return ENOMEM;
		}
		if (cap > r->cap_e)
			memset(x + r->cap_e, 0, (cap - r->cap_e) * sizeof(*x));
		r->x = x;
	}
	if (r->hash) {
		uint64_t *h = realloc(r->hash, cap * sizeof(*h));

		if (!h) {
			free(f);
			return ENOMEM;
		}
		r->hash = h;
	}
	lm_snapshot_unref(r->f_owner);
	r->f_owner = NULL;
	r->f = f;
	r->cap_e = cap;
	return 0;
}

/* Room for need slots (f owned). */
static int grow_slots(struct lm_delta_replay *r, size_t need)
{
	size_t nc = r->cap_e ? r->cap_e : 1024;

	if (need <= r->cap_e)
		return 0;
	while (nc < need)
		nc *= 2;
	if (nc > UINT32_MAX - 1)
		return ENOMEM;
	{
		struct lm_file *f = realloc(r->f, nc * sizeof(*f));

		if (!f)
			return ENOMEM;
		r->f = f;
	}
	if (r->x) {
		struct lm_delta_slot *x = realloc(r->x, nc * sizeof(*x));

		if (!x)
			return ENOMEM;
		memset(x + r->cap_e, 0, (nc - r->cap_e) * sizeof(*x));
		r->x = x;
	}
	if (r->hash) {
		uint64_t *h = realloc(r->hash, nc * sizeof(*h));

		if (!h)
			return ENOMEM;
		r->hash = h;
	}
	r->cap_e = nc;
	return 0;
}

static int ensure_x(struct lm_delta_replay *r)
{
	if (!r->x)
		r->x = calloc(r->cap_e ? r->cap_e : 1, sizeof(*r->x));
	return r->x ? 0 : ENOMEM;
}

static int ensure_hash(struct lm_delta_replay *r)
{
	if (!r->hash)
		r->hash = malloc((r->cap_e ? r->cap_e : 1) * sizeof(*r->hash));
	return r->hash ? 0 : ENOMEM;
}

static inline const struct lm_delta_dvref *slot_dv(const struct lm_delta_replay *r, size_t i)
{
	return r->x ? r->x[i].dv : NULL;
}

static inline bool slot_poisoned(const struct lm_delta_replay *r, size_t i)
{
	return r->x && r->x[i].poisoned;
}

static int push_free(struct lm_delta_replay *r, uint32_t idx)
{
	if (r->n_free == r->cap_free) {
		size_t nc = r->cap_free ? r->cap_free * 2 : 256;
		uint32_t *p = realloc(r->free_list, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		r->free_list = p;
		r->cap_free = nc;
	}
	r->free_list[r->n_free++] = idx;
	return 0;
}

/* ---- two threads on a loop ---- */

struct half_arg {
	void (*fn)(void *ctx, size_t from, size_t to);
	void *ctx;
	size_t from, to;
};

static void *half_run(void *arg)
{
	struct half_arg *h = arg;

	h->fn(h->ctx, h->from, h->to);
	return NULL;
}

static void halves(void (*fn)(void *ctx, size_t from, size_t to), void *ctx, size_t n)
{
	struct half_arg h = { .fn = fn, .ctx = ctx, .from = n / 2, .to = n };
	pthread_t th;

	if (n < 65536 || pthread_create(&th, NULL, half_run, &h)) {
		fn(ctx, 0, n);
		return;
	}
	fn(ctx, 0, n / 2);
	pthread_join(th, NULL);
}

/* ---- the index ---- */

/* ---- sort keys (the sort itself is at the end) ---- */

struct skey {
	uint64_t w[2];   /* 16 bytes of the path from the current depth, big-endian */
	uint32_t idx;    /* slot */
	uint32_t aux;    /* bit 0: the string ends within w; above: its folder (bulk keys) */
};

#define KEY_ENDED(k) ((k)->aux & 1)

/* The sorted file list is gathered over the keys and their scratch (see gather). */
_Static_assert(2 * sizeof(struct skey) >= sizeof(struct lm_file), "gather room");

/* The 8 bytes at p, big-endian, zero past the string's end; *ended when it ends in
 * them. */
static inline uint64_t load_word(const char *p, bool *ended)
{
	uint64_t w = 0;
	size_t k;

#if !defined(__SANITIZE_ADDRESS__)
	if (((uintptr_t)p & 4095) <= 4088) {   /* the 8 bytes are in one page */
		uint64_t x, z;

		memcpy(&x, p, 8);
		z = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
		*ended = z != 0;
		if (z)   /* keep the bytes before the first NUL */
			x &= (((z & (~z + 1)) >> 7) - 1);
		return __builtin_bswap64(x);
	}
#endif
	for (k = 0; k < 8 && p[k]; k++)
		w |= (uint64_t)(unsigned char)p[k] << (56 - 8 * k);
	*ended = k < 8;
	return w;
}

static inline void load_key(struct skey *k, const char *p)
{
	bool e;

	k->w[0] = load_word(p, &e);
	k->w[1] = e ? 0 : load_word(p + 8, &e);
	k->aux = e;
}

/* ---- folders of the paths a bulk load appends ----
 * A path's folder is its prefix through the last '/'. The bulk threads give each its
 * number (a table shared under a mutex, behind a small cache per thread) and key every
 * path from its file name on: the sort then puts the folders in order once and sorts
 * each folder's names, which mostly differ within their first 16 bytes — where whole
 * paths of a partitioned table share 16 and more. */

struct ddir {
	const char *p;        /* a path that starts with it */
	uint32_t len;         /* '/' included; 0: the root */
	uint64_t h;
};

#define DIRS_MAX (1u << 20)   /* beyond: no folder keys (the paths are sorted whole) */

struct lm_delta_dirs {
	pthread_mutex_t mu;
	struct ddir *d;
	size_t n, cap;
	uint32_t *tab;        /* open addressing: folder + 1, 0 empty */
	size_t tab_cap;
	bool off;             /* too many folders */
};

struct dcache {               /* per bulk thread: the folders met last, by hash */
	struct {
		uint64_t h;
		const char *p;
		uint32_t len, id;
	} e[64];
};

/* A hash of p[0..n), eight bytes at a time (the last eight overlapping). */
static uint64_t mem_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w = 0;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)p[i] << (8 * i);
	} else {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&w, p + i, 8);
			h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
			h ^= h >> 29;
		}
		memcpy(&w, p + n - 8, 8);
	}
	h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h;
}

static void dirs_free(struct lm_delta_dirs *ds)
{
	if (!ds)
		return;
	pthread_mutex_destroy(&ds->mu);
	free(ds->d);
	free(ds->tab);
	free(ds);
}

#define DIR_UNKNOWN ((UINT32_MAX >> 1) - 1)   /* dirs_find without add: not there */

/* The number of the folder p[0..len) (added when new if add: p must live as long as
 * ds), UINT32_MAX when folders are off. */
static uint32_t dirs_find(struct lm_delta_dirs *ds, const char *p, uint32_t len, uint64_t h,
			  bool add)
{
	uint32_t id = UINT32_MAX;
	size_t j;

	pthread_mutex_lock(&ds->mu);
	if (ds->off)
		goto out;
	if ((ds->n + 1) * 2 > ds->tab_cap) {
		size_t nc = ds->tab_cap ? ds->tab_cap * 2 : 256;
		uint32_t *t = calloc(nc, sizeof(*t));

		if (!t) {
			ds->off = true;
			goto out;
		}
		for (size_t i = 0; i < ds->n; i++) {
			j = ds->d[i].h & (nc - 1);
			while (t[j])
				j = (j + 1) & (nc - 1);
			t[j] = (uint32_t)i + 1;
		}
		free(ds->tab);
		ds->tab = t;
		ds->tab_cap = nc;
	}
	for (j = h & (ds->tab_cap - 1); ds->tab[j]; j = (j + 1) & (ds->tab_cap - 1)) {
		const struct ddir *d = &ds->d[ds->tab[j] - 1];

		if (d->h == h && d->len == len && !memcmp(d->p, p, len)) {
			id = ds->tab[j] - 1;
			goto out;
		}
	}
	if (!add) {
		id = DIR_UNKNOWN;
		goto out;
	}
	if (ds->n == DIRS_MAX) {
		ds->off = true;
		goto out;
	}
	if (ds->n == ds->cap) {
		size_t nc = ds->cap ? ds->cap * 2 : 64;
		struct ddir *d = realloc(ds->d, nc * sizeof(*d));

		if (!d) {
			ds->off = true;
			goto out;
		}
		ds->d = d;
		ds->cap = nc;
	}
	ds->d[ds->n] = (struct ddir){ .p = p, .len = len, .h = h };
	ds->tab[j] = (uint32_t)ds->n + 1;
	id = (uint32_t)ds->n++;
out:
	pthread_mutex_unlock(&ds->mu);
	return id;
}

/* A string's hash, eight bytes at a time (the index is rebuilt for a million paths
 * when a commit follows a big checkpoint: a byte-at-a-time hash was most of it). */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	bool end = false;

	while (!end) {
		h = (h ^ load_word(s, &end)) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		s += 8;
	}
	h ^= h >> 32;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return h;
}

static uint64_t key_hash(const char *path, const char *dv)
{
	uint64_t h = str_hash(path);

	if (dv)
		h ^= str_hash(dv) * 31;
	return h;
}

static bool key_eq(const struct lm_delta_replay *r, size_t i, const char *path,
		   const char *dv, uint64_t h)
{
	const struct lm_delta_dvref *d;

	if (r->hash[i] != h || strcmp(r->f[i].path, path) != 0)
		return false;
	d = slot_dv(r, i);
	if (!d || !dv)
		return !d && !dv;
	return strcmp(d->id, dv) == 0;
}

/* A slot of tab: the entry index + 1 in the low 32 bits (0 = empty), the high 32 bits
 * of its hash above, so most probes never touch the entry itself. */
#define SLOT_IDX(s) ((uint32_t)(s))
#define SLOT_TAG(s) ((s) >> 32)
#define MK_SLOT(h, idx1) (((h) & ~(uint64_t)0xffffffffu) | (uint64_t)(idx1))

static int grow_table(struct lm_delta_replay *r)
{
	size_t ncap = r->tab_cap ? r->tab_cap * 2 : 1024;
	uint64_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return ENOMEM;
	for (size_t i = 0; i < r->tab_cap; i++) {
		uint32_t idx = SLOT_IDX(r->tab[i]);
		size_t j;

		if (!idx)
			continue;
		j = r->hash[idx - 1] & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = r->tab[i];
	}
	free(r->tab);
	r->tab = nt;
	r->tab_cap = ncap;
	return 0;
}

/* Position in tab of the key, or of the empty slot where it would go. */
static size_t find_pos(const struct lm_delta_replay *r, const char *path, const char *dv,
		       uint64_t h, bool *found)
{
	size_t j = h & (r->tab_cap - 1);

	for (;;) {
		uint64_t slot = r->tab[j];
		uint32_t idx = SLOT_IDX(slot);

		if (!idx) {
			*found = false;
			return j;
		}
		if (SLOT_TAG(slot) == h >> 32 && key_eq(r, idx - 1, path, dv, h)) {
			*found = true;
			return j;
		}
		j = (j + 1) & (r->tab_cap - 1);
	}
}

/* Backward-shift deletion keeps linear probing chains intact without tombstones. */
static void tab_delete(struct lm_delta_replay *r, size_t j)
{
	size_t mask = r->tab_cap - 1;
	size_t i = j;

	r->tab[i] = 0;
	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (!r->tab[j])
			return;
		k = r->hash[SLOT_IDX(r->tab[j]) - 1] & mask;
		/* Move tab[j] into the hole at i when its home k is not in (i, j]. */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			r->tab[i] = r->tab[j];
			r->tab[j] = 0;
			i = j;
		}
	}
}

static int do_remove(struct lm_delta_replay *r, const char *path, const char *dv)
{
	uint64_t h = key_hash(path, dv);
	bool found;
	size_t j;
	uint32_t idx;

	if (!r->tab_cap)
		return 0;
	j = find_pos(r, path, dv, h, &found);
	if (!found)
		return 0;   /* removing an unknown file is allowed (tombstone) */
	idx = SLOT_IDX(r->tab[j]) - 1;
	if (slot_poisoned(r, idx))
		r->poisoned_live--;
	r->f[idx].path = NULL;
	tab_delete(r, j);
	r->live--;
	return push_free(r, idx);
}

/* Fill a fresh or reused slot. */
static int set_entry(struct lm_delta_replay *r, size_t i, bool fresh, const char *path,
		     const char *dv, const struct lm_delta_file_action *a, bool poisoned,
		     bool owned)
{
	struct lm_file *e = &r->f[i];

	if (fresh) {
		const struct lm_delta_dvref *dref = NULL;

		/* owned: the action's strings live in an arena the replay adopted */
		e->path = owned && path == a->path ? path : own_strdup(r, path);
		if (!e->path)
			return ENOMEM;
		if (dv) {
			struct lm_delta_dvref *d = own_alloc(r, sizeof(*d));

			if (!d)
				return ENOMEM;
			d->id = owned ? dv : own_strdup(r, dv);
			d->data = !a->dv_data ? NULL : owned ? a->dv_data : own_strdup(r, a->dv_data);
			d->offset = a->dv_offset;
			d->size = a->dv_size;
			d->storage = a->dv_storage;
			if (!d->id || (a->dv_data && !d->data))
				return ENOMEM;
			dref = d;
		}
		if ((dref || poisoned) && ensure_x(r))
			return ENOMEM;
		if (r->x)
			r->x[i] = (struct lm_delta_slot){ .dv = dref, .poisoned = poisoned };
	} else {
		if (slot_poisoned(r, i))
			r->poisoned_live--;
		if (poisoned && ensure_x(r))
			return ENOMEM;
		if (r->x)
			r->x[i].poisoned = poisoned;
	}
	e->size = (uint64_t)a->size;
	e->mtime_ms = a->mtime_ms;
	e->flags = (a->flags & LM_DELTA_HAS_DV) ? LM_FILE_HAS_DV : 0;
	e->deleted_rows = (a->flags & LM_DELTA_HAS_DV) ? a->dv_cardinality : 0;
	if (poisoned) {
		if (!r->poisoned_live)
			snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", path);
		r->poisoned_live++;
	}
	return 0;
}

/* A new slot index (from the free list or the end). */
static int new_slot(struct lm_delta_replay *r, uint32_t *idx)
{
	if (r->n_free) {
		*idx = r->free_list[--r->n_free];
		return 0;
	}
	if (grow_slots(r, r->n_e + 1))
		return ENOMEM;
	*idx = (uint32_t)r->n_e++;
	return 0;
}

/* The sort key of slot idx, kept when a commit follows a bulk load (see keys). */
static int key_slot(struct lm_delta_replay *r, uint32_t idx)
{
	const char *p = r->f[idx].path, *sl;
	size_t len = strlen(p);
	uint32_t dl, dir = 0;
	struct skey *k;

	if (idx >= r->keys_cap) {
		size_t cap = r->keys_cap ? r->keys_cap * 2 : 1024;

		while (cap <= idx)
			cap *= 2;
		k = realloc(r->keys, cap * 2 * sizeof(*k));
		if (!k)
			return ENOMEM;
		r->keys = k;
		r->keys_cap = cap;
	}
	k = (struct skey *)r->keys + idx;
	sl = memrchr(p, '/', len);
	dl = sl ? (uint32_t)(sl + 1 - p) : 0;
	if (r->dirs && !r->dirs->off && dl < len)
		dir = dirs_find(r->dirs, p, dl, mem_hash(p, dl), true);
	else
		dir = UINT32_MAX;
	if (dir >= (UINT32_MAX >> 1)) {
		if (r->dirs)
			r->dirs->off = true;   /* the snapshot keys every path again */
		dir = 0;
		dl = 0;
	}
	load_key(k, p + dl);
	k->idx = idx;
	k->aux |= dir << 1;
	if (idx >= r->keys_n)
		r->keys_n = idx + 1;
	return 0;
}

static int do_add(struct lm_delta_replay *r, const char *path, const char *dv,
		  const struct lm_delta_file_action *a, bool poisoned)
{
	uint64_t h = key_hash(path, dv);
	bool found;
	size_t j;
	uint32_t idx;
	int rc;

	if ((r->live + 1) * 4 >= r->tab_cap * 3 && grow_table(r))
		return ENOMEM;
	j = find_pos(r, path, dv, h, &found);
	if (found)   /* Re-add of a live key: the newer add wins (same file, new metadata). */
		return set_entry(r, SLOT_IDX(r->tab[j]) - 1, false, path, dv, a, poisoned, false);
	rc = new_slot(r, &idx);
	if (!rc)
		rc = ensure_hash(r);
	if (rc)
		return rc;
	r->tab[j] = MK_SLOT(h, idx + 1);
	r->live++;
	r->hash[idx] = h;
	rc = set_entry(r, idx, true, path, dv, a, poisoned, false);
	if (!rc && r->keys && key_slot(r, idx))
		drop_keys(r);
	return rc;
}

static void hash_slots(void *ctx, size_t from, size_t to)
{
	struct lm_delta_replay *r = ctx;

	for (size_t i = from; i < to; i++)
		if (r->f[i].path) {
			const struct lm_delta_dvref *d = slot_dv(r, i);

			r->hash[i] = key_hash(r->f[i].path, d ? d->id : NULL);
		}
}

/* Index the entries a checkpoint load appended (see lm_delta_replay_load): the hashes on
 * two threads, then the table. A key seen twice (a malformed checkpoint) keeps its
 * later entry, as a re-add would. */
static int ensure_index(struct lm_delta_replay *r)
{
	size_t need = 1024;

	if (!r->unindexed)
		return 0;
	if (ensure_hash(r))
		return ENOMEM;
	while ((r->live + 1) * 4 >= need * 3)
		need *= 2;
	free(r->tab);
	r->tab = calloc(need, sizeof(*r->tab));
	if (!r->tab) {
		r->tab_cap = 0;
		return ENOMEM;
	}
	r->tab_cap = need;
	halves(hash_slots, r, r->n_e);
	for (size_t i = 0; i < r->n_e; i++) {
		const struct lm_delta_dvref *d = slot_dv(r, i);
		const char *dv = d ? d->id : NULL;
		bool found;
		size_t j;

		if (!r->f[i].path)
			continue;
		j = find_pos(r, r->f[i].path, dv, r->hash[i], &found);
		if (found) {
			uint32_t old = SLOT_IDX(r->tab[j]) - 1;

			if (slot_poisoned(r, old))
				r->poisoned_live--;
			r->f[old].path = NULL;
			r->live--;
			if (push_free(r, old))
				return ENOMEM;
		}
		r->tab[j] = MK_SLOT(r->hash[i], (uint32_t)i + 1);
	}
	r->unindexed = false;
	r->dedup_pending = false;
	return 0;
}

/* Resolve a raw path; on refusal, the raw path becomes the (poisoned) key. *key NULL
 * with 0: the raw path is the key as it is. */
static int resolve(const char *raw, lm_delta_resolve_fn fn, void *ud, char **key,
		   bool *poisoned, char *why, size_t whysz, struct lm_err *err)
{
	struct lm_err e2;
	int rc;

	*key = NULL;
	e2.code = 0;
	rc = fn(ud, raw, key, &e2);
	if (rc && !e2.code)
		lm_err_init(&e2);
	if (rc == LM_EESCAPE) {
		*key = strdup(raw);
		*poisoned = true;
		if (why && !why[0])
			snprintf(why, whysz, "%s", e2.msg);
		return *key ? 0 : ENOMEM;
	}
	if (rc) {
		*err = e2;
		return rc;
	}
	*poisoned = false;
	return 0;
}

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++) {
		cJSON *s = cJSON_CreateString(v[i] ? v[i] : "");

		if (!s) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, s);
	}
	return a;
}

/* Replace *dst by the compact text of o (consumed). */
static int keep_json(char **dst, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!s)
		return ENOMEM;
	free(*dst);
	*dst = strdup(s);
	cJSON_free(s);
	return *dst ? 0 : ENOMEM;
}

static int keep_protocol(struct lm_delta_replay *r, const struct lm_delta_protocol *p)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return ENOMEM;
	cJSON_AddNumberToObject(o, "minReaderVersion", p->min_reader);
	cJSON_AddNumberToObject(o, "minWriterVersion", p->min_writer);
	if (p->reader_features)
		cJSON_AddItemToObject(o, "readerFeatures",
				      str_array(p->reader_features, p->n_reader_features));
	if (p->writer_features)
		cJSON_AddItemToObject(o, "writerFeatures",
				      str_array(p->writer_features, p->n_writer_features));
	r->catalog_feature = false;
	for (size_t i = 0; i < p->n_reader_features; i++)
		if (p->reader_features[i] && (!strcmp(p->reader_features[i], "catalogManaged") ||
					      !strncmp(p->reader_features[i], "catalogOwned", 12)))
			r->catalog_feature = true;
	return keep_json(&r->protocol_json, o);
}

static int keep_metadata(struct lm_delta_replay *r, const struct lm_delta_metadata *m)
{
	cJSON *o = cJSON_CreateObject(), *conf;

	if (!o)
		return ENOMEM;
	cJSON_AddStringToObject(o, "id", m->id ? m->id : "");
	if (m->schema_string)
		cJSON_AddStringToObject(o, "schemaString", m->schema_string);
	cJSON_AddItemToObject(o, "partitionColumns",
			      str_array(m->partition_columns, m->n_partition_columns));
	conf = m->configuration_json ? cJSON_Parse(m->configuration_json) : NULL;
	cJSON_AddItemToObject(o, "configuration", conf ? conf : cJSON_CreateObject());
	if (m->created_time >= 0)
		cJSON_AddNumberToObject(o, "createdTime", (double)m->created_time);
	return keep_json(&r->metadata_json, o);
}

static int check_protocol(struct lm_delta_replay *r, const struct lm_delta_protocol *p)
{
	char buf[256];

	free(r->unsupported);
	r->unsupported = NULL;
	r->unsupported_word = NULL;
	r->has_protocol = true;
	r->min_reader = p->min_reader;
	if (p->min_reader > 3) {
		snprintf(buf, sizeof(buf), "minReaderVersion %d is not supported (this reader knows 1-3)",
			 p->min_reader);
		r->unsupported_word = "unsupported-reader-version";
	} else if (p->min_reader == 3) {
		for (size_t i = 0; i < p->n_reader_features; i++) {
			const char *f = p->reader_features[i];

			if (!lm_delta_reader_feature_supported(f)) {
				snprintf(buf, sizeof(buf), "reader feature '%s' is not supported", f);
				r->unsupported_word = "unsupported-feature";
				break;
			}
		}
	}
	if (r->unsupported_word) {
		r->unsupported = strdup(buf);
		if (!r->unsupported)
			return ENOMEM;
	}
	return 0;
}

static int apply_meta(struct lm_delta_replay *r, const struct lm_delta_commit *c,
		      struct lm_err *err)
{
	int rc;

	if (c->has_protocol) {
		rc = check_protocol(r, &c->protocol);
		if (!rc)
			rc = keep_protocol(r, &c->protocol);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (c->has_metadata) {
		r->has_metadata = true;
		free(r->table_id);
		r->table_id = c->metadata.id ? strdup(c->metadata.id) : NULL;
		if (keep_metadata(r, &c->metadata))
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int lm_delta_replay_meta(struct lm_delta_replay *r, const struct lm_delta_commit *c,
			 struct lm_err *err)
{
	return apply_meta(r, c, err);
}

int lm_delta_replay_load(struct lm_delta_replay *r, int64_t v, struct lm_delta_commit *c,
			 lm_delta_resolve_fn fn, void *ud, struct lm_err *err)
{
	char why[LM_ERR_MSG] = "";
	int rc = apply_meta(r, c, err);

	if (rc)
		return rc;
	if (!r->unindexed && r->n_e)
		return lm_delta_replay_apply(r, v, c, fn, ud, err);
	drop_keys(r);
	if (make_own(r) || lm_delta_replay_adopt(r, &c->arena))
		return lm_err_set(err, ENOMEM, "out of memory");
	r->unindexed = true;
	for (size_t i = 0; i < c->n_adds; i++) {
		const struct lm_delta_file_action *a = &c->adds[i];
		char *key = NULL;
		bool poisoned;
		uint32_t idx;

		rc = resolve(a->path, fn, ud, &key, &poisoned, why, sizeof(why), err);
		if (rc)
			return rc;
		rc = new_slot(r, &idx);
		if (!rc) {
			r->live++;
			rc = set_entry(r, idx, true, key ? key : a->path, a->dv_id, a, poisoned, true);
		}
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->version = v;
	return 0;
}

/* ---- small commits after a big checkpoint, without an index ----
 * Building the index of a million checkpoint rows costs more than the rest of a
 * version; a commit of a few actions finds its keys by one pass over the sort keys of
 * the slots instead (folder and first name bytes compared, the path only on a match).
 * The outcome is the index's: a key the checkpoint holds twice keeps its later slot —
 * for the keys a commit names right away, for the others when a snapshot sorts them
 * (dedup_pending) or an index is built after all. */

#define SCAN_ACTIONS 64        /* at most this many actions a commit, */
#define SCAN_BUDGET 256        /* and in all, before an index is built */
#define SCAN_MIN_SLOTS 65536   /* below this, the index is cheap */

struct sact {
	const struct lm_delta_file_action *a;
	const char *path;      /* the key (the raw path when poisoned) */
	char *own;             /* resolved copy, or NULL */
	const char *dv;
	bool remove, poisoned;
	struct skey k;
	uint32_t *m;           /* live slots with this key */
	size_t nm;
	int64_t slot;          /* after the actions so far: its live slot, or -1 */
	size_t same;           /* index of the first action with the same key */
};

static bool scan_fits(const struct lm_delta_replay *r, const struct lm_delta_commit *c)
{
	size_t k = c->n_removes + c->n_adds;

	return r->unindexed && !r->tab && !r->f_owner && r->keys && r->keys_n == r->n_e && r->dirs &&
	       !r->dirs->off && k <= SCAN_ACTIONS && r->scanned + k <= SCAN_BUDGET &&
	       r->n_e >= SCAN_MIN_SLOTS;
}

static bool dv_same(const struct lm_delta_replay *r, size_t i, const char *dv)
{
	const struct lm_delta_dvref *d = slot_dv(r, i);

	return d ? dv && !strcmp(d->id, dv) : !dv;
}

/* Free live slot i (as a remove does). */
static int scan_free(struct lm_delta_replay *r, size_t i)
{
	if (slot_poisoned(r, i))
		r->poisoned_live--;
	r->f[i].path = NULL;
	r->live--;
	return push_free(r, (uint32_t)i);
}

#define SCAN_NO (-1)

/* SCAN_NO: this commit wants the index after all (nothing changed yet). */
static int apply_scan(struct lm_delta_replay *r, int64_t v, const struct lm_delta_commit *c,
		      lm_delta_resolve_fn fn, void *ud, struct lm_err *err)
{
	size_t k = c->n_removes + c->n_adds;
	struct sact *s = calloc(k ? k : 1, sizeof(*s));
	const struct skey *keys = r->keys;
	char why[LM_ERR_MSG] = "";
	int rc = 0;

	if (!s)
		return lm_err_set(err, ENOMEM, "out of memory");
	for (size_t j = 0; j < k; j++) {
		bool rm = j < c->n_removes;
		const struct lm_delta_file_action *a = rm ? &c->removes[j] : &c->adds[j - c->n_removes];
		size_t len;
		const char *sl;
		uint32_t dl, dir;

		s[j].a = a;
		s[j].remove = rm;
		s[j].dv = a->dv_id;
		s[j].slot = -1;
		rc = resolve(a->path, fn, ud, &s[j].own, &s[j].poisoned, rm ? NULL : why,
			     rm ? 0 : sizeof(why), err);
		if (rc)
			goto out;
		s[j].path = s[j].own ? s[j].own : a->path;
		len = strlen(s[j].path);
		sl = memrchr(s[j].path, '/', len);
		dl = sl ? (uint32_t)(sl + 1 - s[j].path) : 0;
		/* (not added: the action's strings do not last; a folder no slot has
		 * matches nothing) */
		dir = dl < len ? dirs_find(r->dirs, s[j].path, dl, mem_hash(s[j].path, dl), false)
			       : UINT32_MAX;
		if (dir >= (UINT32_MAX >> 1)) {
			rc = SCAN_NO;   /* not a key the slots could have: the index decides */
			goto out;
		}
		load_key(&s[j].k, s[j].path + dl);
		s[j].k.aux |= dir << 1;
		s[j].same = j;
		for (size_t q = 0; q < j; q++)
			if (s[q].same == q && !strcmp(s[q].path, s[j].path) &&
			    (s[q].dv ? s[j].dv && !strcmp(s[q].dv, s[j].dv) : !s[j].dv)) {
				s[j].same = q;
				break;
			}
	}
	/* one pass over the slots: which hold the keys named */
	for (size_t i = 0; i < r->n_e; i++) {
		const struct skey *ki = &keys[i];

		for (size_t j = 0; j < k; j++) {
			uint32_t *m;

			if (s[j].same != j || ki->w[0] != s[j].k.w[0] || ki->w[1] != s[j].k.w[1] ||
			    ki->aux != s[j].k.aux || !r->f[i].path ||
			    strcmp(r->f[i].path, s[j].path) || !dv_same(r, i, s[j].dv))
				continue;
			m = realloc(s[j].m, (s[j].nm + 1) * sizeof(*m));
			if (!m) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			s[j].m = m;
			s[j].m[s[j].nm++] = (uint32_t)i;
		}
	}
	if (make_own(r)) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* a key held twice keeps its later slot (as the index would) */
	for (size_t j = 0; j < k; j++) {
		if (s[j].same != j || !s[j].nm)
			continue;
		for (size_t q = 0; q + 1 < s[j].nm; q++)
			if ((rc = scan_free(r, s[j].m[q])))
				goto nomem;
		s[j].slot = s[j].m[s[j].nm - 1];
	}
	/* removes, then adds; the state of a key is its first action's */
	for (size_t j = 0; j < k; j++) {
		struct sact *st = &s[s[j].same];

		if (s[j].remove) {
			if (st->slot >= 0 && (rc = scan_free(r, (size_t)st->slot)))
				goto nomem;
			st->slot = -1;
			continue;
		}
		if (st->slot >= 0) {
			rc = set_entry(r, (size_t)st->slot, false, s[j].path, s[j].dv, s[j].a,
				       s[j].poisoned, false);
		} else {
			uint32_t idx;

			rc = new_slot(r, &idx);
			if (rc)
				goto nomem;
			r->live++;
			rc = set_entry(r, idx, true, s[j].path, s[j].dv, s[j].a, s[j].poisoned,
				       false);
			if (!rc && r->keys && key_slot(r, idx))
				drop_keys(r);
			st->slot = idx;
		}
		if (rc)
			goto nomem;
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->scanned += k;
	r->dedup_pending = true;
	r->version = v;
	rc = 0;
	goto out;
nomem:
	rc = lm_err_set(err, ENOMEM, "out of memory");
out:
	for (size_t j = 0; j < k; j++) {
		free(s[j].own);
		free(s[j].m);
	}
	free(s);
	return rc;
}

int lm_delta_replay_apply(struct lm_delta_replay *r, int64_t v,
			  const struct lm_delta_commit *c, lm_delta_resolve_fn fn, void *ud,
			  struct lm_err *err)
{
	char why[LM_ERR_MSG] = "";
	int rc = apply_meta(r, c, err);

	if (rc)
		return rc;
	if (scan_fits(r, c)) {
		rc = apply_scan(r, v, c, fn, ud, err);
		if (rc != SCAN_NO)
			return rc;
	}
	if (make_own(r) || ensure_index(r))
		return lm_err_set(err, ENOMEM, "out of memory");
	/* Size the table once for this commit's adds instead of doubling through them. */
	while ((r->live + c->n_adds + 1) * 4 >= r->tab_cap * 3)
		if (grow_table(r))
			return lm_err_set(err, ENOMEM, "out of memory");
	/* Removes first, then adds (a commit never holds both for one key, but a replay
	 * that applied adds first would lose a re-added file). */
	for (size_t i = 0; i < c->n_removes; i++) {
		char *key = NULL;
		bool poisoned;

		rc = resolve(c->removes[i].path, fn, ud, &key, &poisoned, NULL, 0, err);
		if (rc)
			return rc;
		rc = do_remove(r, key ? key : c->removes[i].path, c->removes[i].dv_id);
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	for (size_t i = 0; i < c->n_adds; i++) {
		char *key = NULL;
		bool poisoned;

		rc = resolve(c->adds[i].path, fn, ud, &key, &poisoned, why, sizeof(why), err);
		if (rc)
			return rc;
		rc = do_add(r, key ? key : c->adds[i].path, c->adds[i].dv_id, &c->adds[i], poisoned);
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->version = v;
	return 0;
}

/* ---- checkpoint rows appended by several threads ---- */

/* Row groups take their slots in file order (as their rows come): each waits for the
 * one before to say how many adds it holds. */
struct lm_delta_bulk_turn {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t rg;          /* the row group whose turn it is */
	size_t next;          /* its first slot */
	bool abort;
};

int lm_delta_replay_bulk_open(struct lm_delta_replay *r, size_t max, struct lm_err *err)
{
	if (r->tab || (r->n_e && !r->unindexed))
		return lm_err_set(err, EINVAL, "bulk load into an indexed replay");
	if (make_own(r) || grow_slots(r, r->n_e + max) || !strings(r))
		return lm_err_set(err, ENOMEM, "out of memory");
	if (r->keys_n == r->n_e) {
		/* keys for the slots to come, and the sort's scratch as big */
		size_t cap = r->n_e + max;
		struct skey *k = realloc(r->keys, (cap ? cap : 1) * 2 * sizeof(*k));

		if (k) {
			r->keys = k;
			r->keys_cap = cap;
		} else {
			drop_keys(r);
		}
		if (r->keys && !r->dirs && (r->dirs = calloc(1, sizeof(*r->dirs))))
			pthread_mutex_init(&r->dirs->mu, NULL);
		if (r->keys && !r->dirs)
			drop_keys(r);
	} else {
		drop_keys(r);
	}
	r->unindexed = true;
	lm_delta_replay_bulk_close(r);
	r->turn = calloc(1, sizeof(*r->turn));
	if (!r->turn)
		return lm_err_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&r->turn->mu, NULL);
	pthread_cond_init(&r->turn->cv, NULL);
	r->turn->next = r->n_e;
	return 0;
}

void lm_delta_replay_bulk_abort(struct lm_delta_replay *r)
{
	struct lm_delta_bulk_turn *t = r->turn;

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->abort = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void lm_delta_bulk_init(struct lm_delta_bulk *b, struct lm_delta_replay *r, uint32_t rg,
			lm_delta_resolve_fn fn, void *ud, struct lm_arena *arena)
{
	memset(b, 0, sizeof(*b));
	b->dcache_ok = true;
	b->rg = rg;
	b->r = r;
	b->fn = fn;
	b->ud = ud;
	b->arena = arena;
}

void lm_delta_bulk_free(struct lm_delta_bulk *b)
{
	free(b->dcache);
	b->dcache = NULL;
	free(b->exc);
	b->exc = NULL;
	b->n_exc = b->cap_exc = 0;
}

static int bulk_begin(void *ud, size_t n, struct lm_err *err)
{
	struct lm_delta_bulk *b = ud;
	struct lm_delta_replay *r = b->r;
	struct lm_delta_bulk_turn *t = r->turn;
	bool stop;

	pthread_mutex_lock(&t->mu);
	while (t->rg != b->rg && !t->abort)
		pthread_cond_wait(&t->cv, &t->mu);
	stop = t->abort;
	if (!stop) {
		b->base = t->next;
		t->next += n;
		t->rg++;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	if (stop)
		return lm_err_set(err, ECANCELED, "another row group failed");
	b->n = 0;
	b->k = 0;
	if (b->base + n > r->cap_e || b->base + n < b->base ||
	    (r->keys && b->base + n > r->keys_cap))
		return lm_err_set(err, LM_EFORMAT, "more adds than rows");
	b->n = n;
	lm_prefault(r->f + b->base, n * sizeof(*r->f));
	if (r->keys)
		lm_prefault((struct skey *)r->keys + b->base, n * sizeof(struct skey));
	return 0;
}

static int bulk_add(void *ud, const struct lm_delta_file_action *a, size_t path_len,
		    struct lm_err *err)
{
	struct lm_delta_bulk *b = ud;
	const char *key = a->path;
	struct lm_delta_dvref *d = NULL;
	bool poisoned = false;
	char *rel = NULL;
	size_t slot;
	int rc;

	if (b->k >= b->n)
		return lm_err_set(err, LM_EFORMAT, "more adds than announced");
	rc = resolve(a->path, b->fn, b->ud, &rel, &poisoned, b->why, sizeof(b->why), err);
	if (rc)
		return rc;
	if (rel) {
		/* resolve() gives a malloc'd key: the decoded path, or the raw one refused */
		key = poisoned ? a->path : lm_arena_strdup(b->arena, rel);
		free(rel);
		if (!key)
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	slot = b->base + b->k++;
	if (b->r->keys) {
		/* the first level of the sort while the string is at hand: its folder, and
		 * the first bytes of its file name */
		struct skey *sk = (struct skey *)b->r->keys + slot;
		size_t len = key == a->path ? path_len : strlen(key);
		const char *sl = memrchr(key, '/', len);
		uint32_t dl = sl ? (uint32_t)(sl + 1 - key) : 0, dir = UINT32_MAX;

		if (dl < len && b->dcache_ok) {
			uint64_t h = mem_hash(key, dl);
			struct dcache *c = b->dcache;

			if (!c && !(c = b->dcache = calloc(1, sizeof(*c)))) {
				b->dcache_ok = false;
			} else {
				unsigned e = (unsigned)(h & 63);

				if (c->e[e].p && c->e[e].h == h && c->e[e].len == dl &&
				    !memcmp(c->e[e].p, key, dl)) {
					dir = c->e[e].id;
				} else {
					dir = dirs_find(b->r->dirs, key, dl, h, true);
					c->e[e].h = h;
					c->e[e].p = key;
					c->e[e].len = dl;
					c->e[e].id = dir;
				}
			}
		}
		if (dir == UINT32_MAX || dir >= (UINT32_MAX >> 1)) {
			/* no folder (too many, none, no memory): the paths are sorted whole */
			if (!b->dirs_off) {
				b->dirs_off = true;
				b->dcache_ok = false;
				pthread_mutex_lock(&b->r->dirs->mu);
				b->r->dirs->off = true;
				pthread_mutex_unlock(&b->r->dirs->mu);
			}
			dir = 0;
			dl = 0;
		}
		load_key(sk, key + dl);
		sk->idx = (uint32_t)slot;
		sk->aux |= dir << 1;
	}
	b->r->f[slot] = (struct lm_file){
		.path = key, .size = (uint64_t)a->size, .mtime_ms = a->mtime_ms,
		.flags = (a->flags & LM_DELTA_HAS_DV) ? LM_FILE_HAS_DV : 0,
		.deleted_rows = (a->flags & LM_DELTA_HAS_DV) ? a->dv_cardinality : 0,
	};
	if (!(a->flags & LM_DELTA_HAS_DV) && !poisoned)
		return 0;
	if (a->flags & LM_DELTA_HAS_DV) {
		d = lm_arena_alloc(b->arena, sizeof(*d));
		if (!d)
			return lm_err_set(err, ENOMEM, "out of memory");
		*d = (struct lm_delta_dvref){ .id = a->dv_id, .data = a->dv_data,
					      .offset = a->dv_offset, .size = a->dv_size,
					      .storage = a->dv_storage };
	}
	if (b->n_exc == b->cap_exc) {
		size_t nc = b->cap_exc ? b->cap_exc * 2 : 64;
		struct lm_delta_bulk_exc *p = realloc(b->exc, nc * sizeof(*p));

		if (!p)
			return lm_err_set(err, ENOMEM, "out of memory");
		b->exc = p;
		b->cap_exc = nc;
	}
	b->exc[b->n_exc++] = (struct lm_delta_bulk_exc){ .slot = slot, .dv = d,
							 .poisoned = poisoned };
	return 0;
}

struct lm_delta_ckpt_sink lm_delta_bulk_sink(struct lm_delta_bulk *b)
{
	return (struct lm_delta_ckpt_sink){ .begin = bulk_begin, .add = bulk_add, .ud = b };
}

int lm_delta_replay_bulk_merge(struct lm_delta_replay *r, struct lm_delta_bulk *b,
			       int64_t v, struct lm_err *err)
{
	if (b->n_exc && ensure_x(r))
		return lm_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < b->n_exc; i++) {
		const struct lm_delta_bulk_exc *e = &b->exc[i];

		r->x[e->slot] = (struct lm_delta_slot){ .dv = e->dv, .poisoned = e->poisoned };
		if (e->poisoned) {
			if (!r->poisoned_live)
				snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", r->f[e->slot].path);
			r->poisoned_live++;
		}
	}
	r->live += b->k;
	if (b->why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", b->why);
	r->version = v;
	return 0;
}

void lm_delta_replay_bulk_close(struct lm_delta_replay *r)
{
	if (!r->turn)
		return;
	r->n_e = r->turn->next <= r->cap_e ? r->turn->next : r->cap_e;
	if (r->keys)
		r->keys_n = r->n_e;
	pthread_cond_destroy(&r->turn->cv);
	pthread_mutex_destroy(&r->turn->mu);
	free(r->turn);
	r->turn = NULL;
}

void lm_delta_replay_break(struct lm_delta_replay *r, int64_t v, const struct lm_err *why)
{
	if (r->broken_code)
		return;
	r->broken_code = why->code ? why->code : LM_EFORMAT;
	r->broken_word = why->reason;
	r->broken_at = v;
	snprintf(r->broken_msg, sizeof(r->broken_msg), "%s", why->msg);
}

int lm_delta_replay_check(const struct lm_delta_replay *r, struct lm_err *err)
{
	int rc;

	if (r->broken_code) {
		rc = lm_err_set(err, r->broken_code, "%s", r->broken_msg);
		lm_err_reason(err, r->broken_word);
		return rc;
	}
	if (!r->has_protocol) {
		rc = lm_err_set(err, LM_ENOPROTOCOL, "no protocol action in any commit up to this version");
		lm_err_reason(err, "missing-protocol");
		return rc;
	}
	if (!r->has_metadata) {
		rc = lm_err_set(err, LM_ENOMETADATA, "no metaData action in any commit up to this version");
		lm_err_reason(err, "missing-metadata");
		return rc;
	}
	if (r->unsupported) {
		rc = lm_err_set(err, LM_EUNSUPPORTED, "%s", r->unsupported);
		lm_err_reason(err, r->unsupported_word);
		return rc;
	}
	if (r->poisoned_live) {
		rc = lm_err_set(err, LM_EESCAPE, "refused: %s (%zu such file%s live)",
				r->poison_msg, r->poisoned_live, r->poisoned_live == 1 ? "" : "s");
		lm_err_reason(err, "path-escape");
		return rc;
	}
	return 0;
}

/* ---- sorting the live paths (strcmp order) ----
 * MSD radix on 16-byte big-endian prefixes of the strings: each level loads the next
 * 16 bytes of every key once (a pointer chase: prefetched; the first level reads the
 * slots in order), sorts the range by them — a byte at a time from the most significant
 * one that differs, small ranges by insertion — and recurses into runs of equal
 * prefixes. Paths of a table share long prefixes; a strcmp sort of a million of them
 * costs most of a checkpoint load otherwise. */

static inline bool key_lt(const struct skey *a, const struct skey *b)
{
	return a->w[0] < b->w[0] || (a->w[0] == b->w[0] && a->w[1] < b->w[1]);
}

static inline bool key_same(const struct skey *a, const struct skey *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1];
}

static void insertion(struct skey *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct skey x = a[i];
		size_t j = i;

		while (j && key_lt(&x, &a[j - 1])) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

static inline unsigned key_byte(const struct skey *k, unsigned pos)
{
	return (unsigned)(k->w[pos >> 3] >> (56 - 8 * (pos & 7))) & 0xff;
}

/* The first byte (from pos on) where the prefixes of a[0..n) differ, 16 if none. */
static unsigned first_diff(const struct skey *a, size_t n, unsigned pos)
{
	uint64_t d0 = 0, d1 = 0;

	for (size_t k = 1; k < n; k++) {
		d0 |= a[k].w[0] ^ a[0].w[0];
		d1 |= a[k].w[1] ^ a[0].w[1];
	}
	if (pos < 8 && (d0 << (8 * pos)))
		return (unsigned)__builtin_clzll(d0) / 8;
	return d1 ? 8 + (unsigned)__builtin_clzll(d1) / 8 : 16;
}

/* Sort the n keys at data by w into the a-array (data itself when data_is_a, else
 * other); the bytes before byte pos (0 = the first) are all equal. Each range first
 * skips the bytes all its keys share, then is distributed on the next into the other
 * array, where its buckets go on (the two arrays swap roles at each byte). */
static void radix_pp(struct skey *data, struct skey *other, size_t n, unsigned pos,
		     bool data_is_a)
{
	uint32_t cnt[256];
	size_t at[256], sum = 0;

	if (n <= 32) {
		insertion(data, n);
		if (!data_is_a)
			memcpy(other, data, n * sizeof(*data));
		return;
	}
	/* Count on byte pos; when all keys share it, skip to the first byte they do not.
	 * Ranges of some size (file names: "part-…") look for it first. */
	if (n > 64 && (pos = first_diff(data, n, pos)) >= 16) {
		if (!data_is_a)
			memcpy(other, data, n * sizeof(*data));
		return;
	}
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++)
		cnt[key_byte(&data[i], pos)]++;
	if (cnt[key_byte(&data[0], pos)] == n) {
		pos = first_diff(data, n, pos);
		if (pos >= 16) {
			if (!data_is_a)
				memcpy(other, data, n * sizeof(*data));
			return;
		}
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[key_byte(&data[i], pos)]++;
	}
	for (int k = 0; k < 256; k++) {
		at[k] = sum;
		sum += cnt[k];
	}
	for (size_t i = 0; i < n; i++)
		other[at[key_byte(&data[i], pos)]++] = data[i];
	/* the keys are in other now: the a-array iff data was not */
	sum = 0;
	for (int k = 0; k < 256; k++) {
		if (cnt[k] > 1 && pos < 15)
			radix_pp(other + sum, data + sum, cnt[k], pos + 1, !data_is_a);
		else if (cnt[k] && data_is_a)
			memcpy(data + sum, other + sum, cnt[k] * sizeof(*data));
		sum += cnt[k];
	}
}

/* Sort a[0..n) by w (tmp: scratch parallel to a). */
static void radix_w(struct skey *a, struct skey *tmp, size_t n, unsigned pos)
{
	radix_pp(a, tmp, n, pos, true);
}

/* What the sort of one snapshot's keys shares between its threads. */
struct sorter {
	const struct lm_file *f;
	atomic_bool dup;      /* two equal paths met */
};

/* tmp is parallel to a (same offsets), so disjoint ranges can be sorted at once. */
static void sort_keys(struct sorter *c, struct skey *a, struct skey *tmp, size_t n,
		      size_t depth, bool may_split, bool loaded);

struct sort_part {
	struct sorter *c;
	struct skey *a, *tmp;
	size_t from, to, depth;
};

/* Sort the runs of equal prefixes in [from, to) one level deeper. */
static void sort_runs(struct sorter *c, struct skey *a, struct skey *tmp, size_t from,
		      size_t to, size_t depth, bool may_split)
{
	size_t i = from;

	while (i < to) {
		size_t j = i + 1;

		while (j < to && key_same(&a[j], &a[i]))
			j++;
		/* Equal prefixes that end the strings: equal strings, any order. */
		if (j - i > 1 && !KEY_ENDED(&a[i]))
			sort_keys(c, a + i, tmp + i, j - i, depth + 16, may_split, false);
		else if (j - i > 1)
			atomic_store_explicit(&c->dup, true, memory_order_relaxed);
		i = j;
	}
}

static void *sort_part_run(void *arg)
{
	struct sort_part *h = arg;

	sort_runs(h->c, h->a, h->tmp, h->from, h->to, h->depth, false);
	return NULL;
}

#define SORT_SPLIT_MIN 100000

/* loaded: a[].w already holds the bytes at depth. */
static void sort_keys(struct sorter *c, struct skey *a, struct skey *tmp, size_t n,
		      size_t depth, bool may_split, bool loaded)
{
	const struct lm_file *f = c->f;

	if (n < 2)
		return;
	for (size_t k = 0; k < n && !loaded; k++) {
		if (k + 16 < n)
			__builtin_prefetch(&f[a[k + 16].idx]);
		if (k + 8 < n)
			__builtin_prefetch(f[a[k + 8].idx].path + depth);
		load_key(&a[k], f[a[k].idx].path + depth);
	}
	radix_w(a, tmp, n, 0);
	if (may_split && n >= SORT_SPLIT_MIN) {
		/* Big: a helper thread takes the runs of one part. Split at the run boundary
		 * nearest the middle, unless one run holds most keys: it splits deeper. */
		size_t lo = n / 2, hi = n / 2;
		pthread_t th;

		while (lo > 0 && key_same(&a[lo], &a[lo - 1]))
			lo--;
		while (hi < n && key_same(&a[hi], &a[hi - 1]))
			hi++;
		if (hi - lo > n / 2) {
			sort_runs(c, a, tmp, 0, lo, depth, false);
			sort_runs(c, a, tmp, lo, hi, depth, true);
			sort_runs(c, a, tmp, hi, n, depth, false);
			return;
		}
		{
			struct sort_part h = { .c = c, .a = a, .tmp = tmp, .depth = depth };
			size_t mid = n / 2 - lo < hi - n / 2 ? lo : hi;

			h.from = mid;
			h.to = n;
			if (mid > 0 && mid < n && pthread_create(&th, NULL, sort_part_run, &h) == 0) {
				sort_runs(c, a, tmp, 0, mid, depth, false);
				pthread_join(th, NULL);
				return;
			}
		}
	}
	sort_runs(c, a, tmp, 0, n, depth, may_split);
}

struct gather_ctx {
	const struct lm_delta_replay *r;
	const struct skey *keys;
	uint32_t *idx, *inv;
	struct lm_file *f;
	struct lm_delta_slot *x;
	uint64_t *h;
};

static void gather_idx(void *ctx, size_t from, size_t to)
{
	struct gather_ctx *g = ctx;

	for (size_t k = from; k < to; k++)
		g->idx[k] = g->keys[k].idx;
}

static void gather_tab(void *ctx, size_t from, size_t to)
{
	struct gather_ctx *g = ctx;
	uint64_t *tab = g->r->tab;

	for (size_t j = from; j < to; j++)
		if (SLOT_IDX(tab[j]))
			tab[j] = MK_SLOT(tab[j], g->inv[SLOT_IDX(tab[j]) - 1] + 1);
}

static void gather_slots(void *ctx, size_t from, size_t to)
{
	struct gather_ctx *g = ctx;
	const struct lm_delta_replay *r = g->r;

	for (size_t k = from; k < to; k++) {
		uint32_t i = g->idx[k];

		if (k + 16 < to)
			__builtin_prefetch(&r->f[g->idx[k + 16]]);
		g->f[k] = r->f[i];
		if (g->x)
			g->x[k] = r->x[i];
		if (g->h)
			g->h[k] = r->hash[i];
	}
}

/* The live slots in the order of keys (slot keys[k].idx goes to k), free ones dropped,
 * gathered into buf: the block of the keys and their scratch (size bytes, at least 48
 * a key). The slot numbers are first copied to its last 4n bytes, then the list takes
 * its first 40n, on two threads. *out = buf on success; the former slot array goes to
 * *old (*old_size bytes), for the caller to reuse or free. */
static int gather(struct lm_delta_replay *r, struct skey *keys, size_t n, void *buf,
		  size_t size, struct lm_file **out, void **old, size_t *old_size)
{
	struct gather_ctx g = { .r = r, .keys = keys, .f = buf };

	g.idx = (uint32_t *)(void *)((char *)buf + size - (n ? n : 1) * sizeof(uint32_t));
	if (r->x && !(g.x = malloc((n ? n : 1) * sizeof(*g.x))))
		return ENOMEM;
	if (r->hash && !(g.h = malloc((n ? n : 1) * sizeof(*g.h)))) {
		free(g.x);
		return ENOMEM;
	}
	halves(gather_idx, &g, n);
	if (r->tab) {
		/* the index follows: old slot idx[k] is now k */
		uint32_t *inv = malloc((r->n_e ? r->n_e : 1) * sizeof(*inv));

		if (!inv) {
			free(g.x);
			free(g.h);
			return ENOMEM;
		}
		for (size_t k = 0; k < n; k++)
			inv[g.idx[k]] = (uint32_t)k;
		g.inv = inv;
		halves(gather_tab, &g, r->tab_cap);
		free(inv);
	}
	halves(gather_slots, &g, n);
	*old = r->f;
	*old_size = r->cap_e * sizeof(*r->f);
	r->f = g.f;
	if (g.x) {
		free(r->x);
		r->x = g.x;
	}
	if (g.h) {
		free(r->hash);
		r->hash = g.h;
	}
	r->n_e = n;
	r->cap_e = n;
	r->n_free = 0;
	*out = g.f;
	return 0;
}

struct keys_ctx {
	const struct lm_file *f;
	struct skey *keys;
};

static void keys_make(void *ctx, size_t from, size_t to)
{
	struct keys_ctx *c = ctx;

	for (size_t k = from; k < to; k++) {
		if (k + 16 < to)
			__builtin_prefetch(c->f[c->keys[k + 16].idx].path);
		load_key(&c->keys[k], c->f[c->keys[k].idx].path);
	}
}

/* ---- sorting by folder (keys from a bulk load) ---- */

struct fsort {
	struct sorter *c;
	struct skey *a, *tmp;
	const struct ddir *d;     /* folders */
	uint32_t *rank;           /* folder -> its place in path order */
	uint32_t *order;          /* place -> folder */
	uint32_t *cnt[2];         /* keys per place, of each half */
	size_t *start;            /* place -> its first key */
	size_t *pos[2];           /* scatter cursors of each half */
	size_t nd, n;
	uint32_t split;           /* the places the second thread sorts start here */
	uint32_t big;             /* a place holding most keys (nd when none) */
};

static int dir_cmp(const void *x, const void *y, void *ctx)
{
	const struct ddir *d = ctx, *a = &d[*(const uint32_t *)x], *b = &d[*(const uint32_t *)y];
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void fs_count(void *ctx, size_t from, size_t to)
{
	struct fsort *s = ctx;
	uint32_t *cnt = s->cnt[from != 0];

	for (size_t i = from; i < to; i++)
		cnt[s->rank[s->a[i].aux >> 1]]++;
}

static void fs_scatter(void *ctx, size_t from, size_t to)
{
	struct fsort *s = ctx;
	size_t *pos = s->pos[from != 0];

	for (size_t r = 0; r < s->nd; r++)
		pos[r] = s->start[r] + (from ? s->cnt[0][r] : 0);
	lm_prefault(s->tmp + from, (to - from) * sizeof(*s->tmp));
	for (size_t i = from; i < to; i++)
		s->tmp[pos[s->rank[s->a[i].aux >> 1]]++] = s->a[i];
}

/* Places [from, to) (a range of places, not keys): each folder's names, back into a. */
static void fs_places(struct fsort *s, size_t from, size_t to, bool may_split)
{
	for (size_t r = from; r < to; r++) {
		size_t b = s->start[r], m = s->cnt[0][r] + s->cnt[1][r];

		if (!m)
			continue;
		radix_pp(s->tmp + b, s->a + b, m, 0, false);
		sort_runs(s->c, s->a, s->tmp, b, b + m, s->d[s->order[r]].len, may_split);
	}
}

static void *fs_second(void *arg)
{
	struct fsort *s = arg;

	if (s->big < s->nd) {
		fs_places(s, 0, s->big, false);
		fs_places(s, s->big + 1, s->nd, false);
	} else {
		fs_places(s, s->split, s->nd, false);
	}
	return NULL;
}

/* Sort keys a[0..n) made by a bulk load (folder, file name) into path order, when no
 * folder with files holds another: folders in order, then each folder's names. Fills
 * runs (one per folder with files). 1: the layout is not flat (nothing done). */
static int sort_by_folder(struct sorter *c, struct skey *a, struct skey *tmp, size_t n,
			  const struct lm_delta_dirs *ds, struct lm_snap_run **runs,
			  size_t *nruns)
{
	struct fsort s = { .c = c, .a = a, .tmp = tmp, .d = ds->d, .nd = ds->n, .n = n };
	int rc = ENOMEM;

	*runs = NULL;
	*nruns = 0;
	s.rank = malloc((s.nd ? s.nd : 1) * sizeof(*s.rank));
	s.order = malloc((s.nd ? s.nd : 1) * sizeof(*s.order));
	s.cnt[0] = calloc(s.nd ? s.nd : 1, sizeof(*s.cnt[0]));
	s.cnt[1] = calloc(s.nd ? s.nd : 1, sizeof(*s.cnt[1]));
	s.start = malloc((s.nd ? s.nd : 1) * sizeof(*s.start));
	s.pos[0] = malloc((s.nd ? s.nd : 1) * sizeof(*s.pos[0]));
	s.pos[1] = malloc((s.nd ? s.nd : 1) * sizeof(*s.pos[1]));
	*runs = malloc((s.nd ? s.nd : 1) * sizeof(**runs));
	if (!s.rank || !s.order || !s.cnt[0] || !s.cnt[1] || !s.start || !s.pos[0] ||
	    !s.pos[1] || !*runs)
		goto out;
	for (size_t k = 0; k < s.nd; k++)
		s.order[k] = (uint32_t)k;
	qsort_r(s.order, s.nd, sizeof(*s.order), dir_cmp, (void *)s.d);
	for (size_t k = 0; k < s.nd; k++) {
		/* a folder that starts the next one holds it (the root holds all) */
		if (k + 1 < s.nd) {
			const struct ddir *x = &s.d[s.order[k]], *y = &s.d[s.order[k + 1]];

			if (x->len <= y->len && !memcmp(x->p, y->p, x->len)) {
				rc = 1;
				goto out;
			}
		}
		s.rank[s.order[k]] = (uint32_t)k;
	}
	halves(fs_count, &s, n);
	{
		size_t at = 0, most = 0;

		s.big = (uint32_t)s.nd;
		s.split = (uint32_t)s.nd;
		for (size_t r = 0; r < s.nd; r++) {
			size_t m = s.cnt[0][r] + s.cnt[1][r];

			s.start[r] = at;
			if (m)
				(*runs)[(*nruns)++] = (struct lm_snap_run){ .first = (uint32_t)at,
									   .n = (uint32_t)m,
									   .dirlen = s.d[s.order[r]].len };
			if (at < n / 2 && at + m >= n / 2)
				s.split = (uint32_t)r + 1;
			if (m > most) {
				most = m;
				if (m > n / 2)
					s.big = (uint32_t)r;
			}
			at += m;
		}
	}
	halves(fs_scatter, &s, n);
	{
		/* the folders on two threads: halves by keys, or one the big folder (which
		 * may split deeper) and the other the rest */
		pthread_t th;
		bool two = n >= SORT_SPLIT_MIN && pthread_create(&th, NULL, fs_second, &s) == 0;

		if (!two)
			fs_places(&s, 0, s.nd, n >= SORT_SPLIT_MIN);
		else if (s.big < s.nd)
			fs_places(&s, s.big, s.big + 1, true);
		else
			fs_places(&s, 0, s.split, false);
		if (two)
			pthread_join(th, NULL);
	}
	rc = 0;
out:
	if (rc) {
		free(*runs);
		*runs = NULL;
		*nruns = 0;
	}
	free(s.rank);
	free(s.order);
	free(s.cnt[0]);
	free(s.cnt[1]);
	free(s.start);
	free(s.pos[0]);
	free(s.pos[1]);
	return rc;
}

/* Keys in path order: of the equal keys (path and deletion vector) a checkpoint held
 * and no commit named since, the later slot stays, as an index build would have kept
 * it (see apply_scan). */
static int dedup_sorted(struct lm_delta_replay *r, struct skey *keys, size_t *n)
{
	size_t m = 0;

	for (size_t i = 0; i < *n;) {
		size_t j = i + 1;

		while (j < *n && !strcmp(r->f[keys[j].idx].path, r->f[keys[i].idx].path))
			j++;
		for (size_t a = i; a < j; a++) {
			const struct lm_delta_dvref *da = slot_dv(r, keys[a].idx);

			for (size_t b = i; b < j && keys[a].idx != UINT32_MAX; b++) {
				if (b == a || keys[b].idx == UINT32_MAX || keys[b].idx < keys[a].idx ||
				    !dv_same(r, keys[b].idx, da ? da->id : NULL))
					continue;
				/* b is a later slot of the same key: a goes */
				if (scan_free(r, keys[a].idx))
					return ENOMEM;
				keys[a].idx = UINT32_MAX;
			}
		}
		for (size_t a = i; a < j; a++)
			if (keys[a].idx != UINT32_MAX)
				keys[m++] = keys[a];
		i = j;
	}
	*n = m;
	return 0;
}

int lm_delta_replay_snapshot(struct lm_delta_replay *r, int64_t commit_ms,
			     struct lm_snapshot **out, struct lm_err *err)
{
	struct sorter c = { .f = r->f };
	struct skey *keys = NULL;
	struct lm_file *files = NULL;
	struct lm_snap_run *runs = NULL;
	size_t nruns = 0;
	void *old = NULL;
	size_t n = 0, cap, old_size = 0;
	bool sorted = false;
	int rc;

	if (r->f_owner && r->f_owner->version == r->version &&
	    r->f_owner->commit_ms == commit_ms) {
		/* nothing changed since that one was built */
		*out = lm_snapshot_ref(r->f_owner);
		return 0;
	}
	if (make_own(r) || !strings(r))
		return lm_err_set(err, ENOMEM, "out of memory");
	atomic_init(&c.dup, false);
	c.f = r->f;
	if (r->keys && r->keys_n == r->n_e) {
		/* a bulk load made them (and the commits since kept them): every slot
		 * keyed, in slot order; the free ones go */
		keys = r->keys;
		cap = r->keys_cap;
		r->keys = NULL;
		r->keys_n = r->keys_cap = 0;
		if (r->live == r->n_e) {
			n = r->n_e;
		} else {
			for (size_t i = 0; i < r->n_e; i++)
				if (r->f[i].path && n < r->live)
					keys[n++] = keys[i];
		}
		if (r->dirs && !r->dirs->off) {
			rc = sort_by_folder(&c, keys, keys + cap, n, r->dirs, &runs, &nruns);
			if (rc == ENOMEM) {
				free(keys);
				return lm_err_set(err, ENOMEM, "out of memory");
			}
			sorted = rc == 0;
		}
		if (!sorted) {
			/* keyed from the file names: again from the start */
			struct keys_ctx kc = { .f = r->f, .keys = keys };

			halves(keys_make, &kc, n);
		}
		drop_keys(r);
	} else {
		struct keys_ctx kc = { .f = r->f };

		drop_keys(r);
		/* keys, then the radix scratch: 48 bytes a key, and the sorted file list (40
		 * a file) is gathered over them */
		cap = r->live ? r->live : 1;
		keys = malloc(cap * 2 * sizeof(*keys));
		if (!keys)
			return lm_err_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < r->n_e; i++)
			if (r->f[i].path && n < r->live)
				keys[n++].idx = (uint32_t)i;
		kc.keys = keys;
		halves(keys_make, &kc, n);
	}
	if (n != r->live) {
		free(keys);
		free(runs);
		return lm_err_set(err, EINVAL, "version %lld: the live file count is inconsistent",
				  (long long)r->version);
	}
	if (!sorted)
		sort_keys(&c, keys, keys + cap, n, 0, true, true);
	if (r->dedup_pending && atomic_load(&c.dup)) {
		rc = dedup_sorted(r, keys, &n);
		if (rc) {
			free(keys);
			free(runs);
			return lm_err_set(err, rc, "out of memory");
		}
	}
	r->dedup_pending = false;
	rc = gather(r, keys, n, keys, cap * 2 * sizeof(*keys), &files, &old, &old_size);
	if (rc) {
		free(keys);
		free(runs);
		return lm_err_set(err, rc, "out of memory");
	}
	{
		/* the keys' room beyond the list goes back */
		struct lm_file *fit = realloc(files, (n ? n : 1) * sizeof(*files));

		if (fit)
			files = r->f = fit;
	}
	{
		/* the tree goes where the slots were (already mapped); by folder when the
		 * paths are distinct (else the tree finds the duplicates and says which) */
		struct lm_snap_take opt = { .hold = &r->strings->hold, .spare = old,
					    .spare_size = old_size };

		if (runs && !atomic_load(&c.dup)) {
			opt.runs = runs;
			opt.nruns = nruns;
		}
		rc = lm_snapshot_new_take(r->version, commit_ms, files, n, &opt, out, err);
	}
	free(runs);
	if (rc == LM_EFORMAT)
		lm_err_reason(err, "duplicate-path");
	if (!rc)
		r->f_owner = lm_snapshot_ref(*out);
	return rc;
}

static int dv_cmp(const void *a, const void *b)
{
	const struct lm_delta_entry *x = *(const struct lm_delta_entry *const *)a;
	const struct lm_delta_entry *y = *(const struct lm_delta_entry *const *)b;

	return strcmp(x->path, y->path);
}

int lm_delta_replay_dv_list(const struct lm_delta_replay *r,
			    const struct lm_delta_entry ***out, size_t *n)
{
	const struct lm_delta_entry **v;
	struct lm_delta_entry *e;
	size_t k = 0;

	for (size_t i = 0; r->x && i < r->n_e; i++)
		if (r->f[i].path && r->x[i].dv)
			k++;
	v = malloc(k ? k * (sizeof(*v) + sizeof(*e)) : 1);
	if (!v)
		return ENOMEM;
	e = (struct lm_delta_entry *)(void *)(v + k);
	k = 0;
	for (size_t i = 0; r->x && i < r->n_e; i++)
		if (r->f[i].path && r->x[i].dv) {
			e[k] = (struct lm_delta_entry){ .path = r->f[i].path, .dv = r->x[i].dv,
							.deleted_rows = r->f[i].deleted_rows };
			v[k] = &e[k];
			k++;
		}
	if (k)
		qsort(v, k, sizeof(*v), dv_cmp);
	*out = v;
	*n = k;
	return 0;
}
