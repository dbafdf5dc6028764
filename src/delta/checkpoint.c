/* checkpoint.c — loads one Delta checkpoint into a fresh replay: classic and
 * multi-part Parquet, UUID-named v2 checkpoints in JSON or Parquet, and the sidecar
 * files a v2 checkpoint names (_delta_log/_sidecars/). Parquet is read with ranged
 * requests: the tail (footer), then per row group only the byte ranges of the needed
 * column chunks (neighbours closer than MERGE_GAP are fetched together), by up to
 * CK_THREADS threads at once. Memory beyond the decoded strings and the live-file
 * table is bounded by one row group's needed columns per thread: the add rows go
 * straight into the replay's slots, the path strings stay where their pages were
 * decompressed (and become the file list's).
 * Owns nothing beyond the call. May call: store, format (parquet, delta_checkpoint,
 * delta_actions), delta/replay, util. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "delta_int.h"
#include "lm/log.h"
#include "lm/parquet.h"
#include "lm/util.h"

#define TAIL_READ ((size_t)LM_PARQUET_TAIL_GUESS)
#define MERGE_GAP ((uint64_t)1 << 20)
#define MAX_RANGE ((uint64_t)1 << 30)          /* one fetched piece of a row group */
#define MAX_JSON_CHECKPOINT ((size_t)1 << 30)
#define MAX_SIDECARS 100000

/* A fetched byte range of a file. */
struct piece {
	uint64_t off, len;
	uint8_t *buf;
};

struct range {
	uint64_t off, len;
	int idx;     /* plan column */
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Read [off, off+len) of key; short reads are an error (the listing said the size). */
static int get_exact(const struct lm_delta_io *io, const char *key, uint64_t off, uint64_t len,
		     uint8_t *dst, struct lm_obj_info *info, struct lm_err *err)
{
	struct lm_get_req req = { .key = key, .off = off, .len = (size_t)len };
	size_t got = 0;
	int rc = lm_store_get_range(io->store, &req, dst, &got, info, err);

	if (rc)
		return rc;
	if (got != len)
		return lm_err_set(err, LM_EFORMAT, "%s: %zu bytes at %llu, expected %llu (truncated?)",
				  key, got, (unsigned long long)off, (unsigned long long)len);
	return 0;
}

/* A thread's buffer for the fetched column chunks of one row group (reused). */
struct fbuf {
	uint8_t *p;
	size_t cap;
};

/* The needed column chunks of row group g: from the tail already read, else in as few
 * ranged reads as sensible, into b. */
static int fetch_rg(const struct lm_delta_io *io, const char *key, const struct piece *tail,
		    const struct lm_parquet_meta *m, const struct lm_delta_ckpt_plan *plan,
		    uint32_t g, struct fbuf *b, const uint8_t **ptr, size_t *lens,
		    struct lm_err *err)
{
	struct range rs[LM_DELTA_CK_NCOLS];
	struct piece pc[LM_DELTA_CK_NCOLS];
	size_t nr = 0, np = 0, total = 0, at = 0;
	int rc;

	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		const struct lm_parquet_chunk *ch;

		ptr[i] = NULL;
		lens[i] = 0;
		if (plan->col[i] < 0)
			continue;
		ch = &m->row_groups[g].chunks[plan->col[i]];
		if (ch->offset >= tail->off && ch->offset + ch->length <= tail->off + tail->len) {
			ptr[i] = tail->buf + (ch->offset - tail->off);
			lens[i] = (size_t)ch->length;
			continue;
		}
		rs[nr++] = (struct range){ .off = ch->offset, .len = ch->length, .idx = i };
	}
	if (nr)
		qsort(rs, nr, sizeof(*rs), range_cmp);
	/* the pieces: neighbours closer than MERGE_GAP are read together */
	for (size_t i = 0; i < nr;) {
		uint64_t lo = rs[i].off, hi = rs[i].off + rs[i].len;
		size_t k = i + 1;

		while (k < nr && rs[k].off <= hi + MERGE_GAP) {
			if (rs[k].off + rs[k].len > hi)
				hi = rs[k].off + rs[k].len;
			k++;
		}
		if (hi - lo > MAX_RANGE)
			return lm_err_set(err, LM_ETOOBIG,
					  "%s: row group %u needs %llu bytes in one piece (cap %llu)", key,
					  g, (unsigned long long)(hi - lo), (unsigned long long)MAX_RANGE);
		pc[np++] = (struct piece){ .off = lo, .len = hi - lo };
		total += (size_t)(hi - lo);
		i = k;
	}
	if (total > b->cap) {
		/* what it held is not needed: a new buffer, not a copy */
		free(b->p);
		b->cap = 0;
		b->p = malloc(total);
		if (!b->p)
			return lm_err_set(err, ENOMEM, "out of memory");
		b->cap = total;
		lm_prefault(b->p, total);
	}
	for (size_t i = 0; i < np; i++) {
		pc[i].buf = b->p + at;
		at += (size_t)pc[i].len;
		rc = get_exact(io, key, pc[i].off, pc[i].len, pc[i].buf, NULL, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < np; k++)
			if (rs[i].off >= pc[k].off && rs[i].off + rs[i].len <= pc[k].off + pc[k].len) {
				ptr[rs[i].idx] = pc[k].buf + (rs[i].off - pc[k].off);
				lens[rs[i].idx] = (size_t)rs[i].len;
				break;
			}
	return 0;
}

/* What became of one row group. */
struct rgout {
	struct lm_delta_commit c;   /* protocol/metaData/sidecars; the arena of its strings */
	struct lm_delta_bulk b;     /* its adds, already in the replay's slots */
	struct lm_err err;
	int rc;
	bool fetch_failed;          /* rc is about storage */
	bool done;
};

/* The row groups of one file, taken in order by several threads. */
struct ckwork {
	const struct lm_delta_io *io;
	const char *key;
	const struct piece *tail;
	const struct lm_parquet_meta *m;
	const struct lm_delta_ckpt_plan *plan;
	struct lm_delta_replay *r;  /* the adds go straight into its slots; NULL: into c */
	struct rgout *out;
	pthread_mutex_t mu;
	uint32_t next;
	bool stop;                  /* a row group failed: take no more */
};

static void *ck_worker(void *arg)
{
	struct ckwork *w = arg;
	struct fbuf b = { 0 };

	for (;;) {
		const uint8_t *ptr[LM_DELTA_CK_NCOLS];
		size_t lens[LM_DELTA_CK_NCOLS];
		struct rgout *o;
		uint32_t g;

		pthread_mutex_lock(&w->mu);
		if (w->stop || w->next >= w->m->nrow_groups) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		g = w->next++;
		pthread_mutex_unlock(&w->mu);
		o = &w->out[g];
		o->rc = fetch_rg(w->io, w->key, w->tail, w->m, w->plan, g, &b, ptr, lens, &o->err);
		o->fetch_failed = o->rc != 0;
		if (!o->rc && w->r) {
			struct lm_delta_ckpt_sink sink;

			lm_delta_bulk_init(&o->b, w->r, g, w->io->resolve, w->io->ud, &o->c.arena);
			sink = lm_delta_bulk_sink(&o->b);
			o->rc = lm_delta_ckpt_decode_to(w->m, w->plan, g, ptr, lens, &sink, &o->c,
							&o->err);
			/* a failed row group's slots are free (its strings go with it) */
			for (size_t k = 0; o->rc && k < o->b.n; k++)
				w->r->f[o->b.base + k].path = NULL;
		} else if (!o->rc) {
			o->rc = lm_delta_ckpt_decode(w->m, w->plan, g, ptr, lens, &o->c, &o->err);
		}
		o->done = true;
		if (o->rc) {
			pthread_mutex_lock(&w->mu);
			w->stop = true;
			pthread_mutex_unlock(&w->mu);
			if (w->r)   /* the row groups after it wait for their turn no more */
				lm_delta_replay_bulk_abort(w->r);
		}
	}
	free(b.p);
	return NULL;
}

#define CK_THREADS 4

/* Move c's sidecars and checkpointMetadata to sc. */
static int keep_sidecars(struct lm_delta_commit *c, struct lm_delta_commit *sc, const char *key,
			 struct lm_err *err)
{
	for (size_t i = 0; i < c->n_sidecars; i++) {
		struct lm_delta_sidecar *d;

		if (sc->n_sidecars >= MAX_SIDECARS)
			return lm_err_set(err, LM_ETOOBIG, "%s: more than %d sidecars", key, MAX_SIDECARS);
		if (sc->n_sidecars == sc->cap_sidecars) {
			size_t ncap = sc->cap_sidecars ? sc->cap_sidecars * 2 : 8;
			struct lm_delta_sidecar *p = realloc(sc->sidecars, ncap * sizeof(*p));

			if (!p)
				return lm_err_set(err, ENOMEM, "out of memory");
			sc->sidecars = p;
			sc->cap_sidecars = ncap;
		}
		d = &sc->sidecars[sc->n_sidecars++];
		*d = c->sidecars[i];
		d->path = lm_arena_strdup(&sc->arena, c->sidecars[i].path);
		if (!d->path)
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	if (c->has_checkpoint_metadata) {
		sc->has_checkpoint_metadata = true;
		sc->checkpoint_version = c->checkpoint_version;
	}
	c->n_sidecars = 0;
	return 0;
}

/* One Parquet checkpoint or sidecar file into the replay. size: the listed size (0:
 * unknown, learnt with a HEAD). Sidecars named by the file go to *sc (appended).
 * Row groups are fetched and decoded by up to CK_THREADS threads at once (this one
 * included), each straight into the replay's slots, then brought in in file order;
 * what stays of a row group once decoded is its strings. */
static int load_parquet(const struct lm_delta_io *io, const char *key, uint64_t size,
			int64_t version, struct lm_delta_replay *r, struct lm_delta_commit *sc,
			bool *unusable, struct lm_err *err)
{
	struct lm_parquet_meta *m = NULL;
	struct lm_delta_ckpt_plan plan;
	struct lm_obj_info info;
	struct piece tail = { 0 };
	struct ckwork w;
	pthread_t th[CK_THREADS];
	int nth = 0;
	size_t need = 0;
	uint64_t rows = 0;
	struct lm_err e2;
	int rc;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	lm_err_init(&e2);
	if (!size) {
		rc = lm_store_head(io->store, key, &info, err);
		if (rc)
			goto store_err;
		size = info.size;
	}
	if (size < 12) {
		rc = lm_err_set(err, LM_EFORMAT, "%s: %llu bytes is not a Parquet file", key,
				(unsigned long long)size);
		goto bad;
	}
	tail.len = size < TAIL_READ ? size : TAIL_READ;
	for (int attempt = 0; attempt < 2; attempt++) {
		tail.off = size - tail.len;
		free(tail.buf);
		tail.buf = malloc((size_t)tail.len);
		if (!tail.buf) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = get_exact(io, key, tail.off, tail.len, tail.buf, &info, err);
		if (rc)
			goto store_err;
		if (info.size && info.size != size) {
			rc = lm_err_set(err, LM_EFORMAT, "%s: %llu bytes in storage, %llu listed", key,
					(unsigned long long)info.size, (unsigned long long)size);
			goto bad;
		}
		rc = lm_parquet_footer_parse(tail.buf, (size_t)tail.len, size, NULL, &m, &need, &e2);
		if (rc != ENOBUFS || attempt)
			break;
		if (need > size || need > ((size_t)64 << 20)) {
			rc = lm_err_set(err, LM_EFORMAT, "%s: footer of %zu bytes", key, need);
			goto bad;
		}
		tail.len = need;
	}
	if (rc) {
		rc = lm_err_set(err, rc == ENOMEM ? ENOMEM : rc == ENOBUFS ? LM_EFORMAT : rc, "%s: %s",
				key, e2.msg);
		goto bad;
	}
	rc = lm_delta_ckpt_plan(m, &plan, &e2);
	if (rc) {
		rc = lm_err_set(err, rc, "%s: %s", key, e2.msg);
		goto bad;
	}
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		if (m->row_groups[g].num_rows < 0) {
			rc = lm_err_set(err, LM_EFORMAT, "%s: row group %u has %lld rows", key, g,
					(long long)m->row_groups[g].num_rows);
			goto bad;
		}
		rows += (uint64_t)m->row_groups[g].num_rows;
	}
	w.out = calloc(m->nrow_groups ? m->nrow_groups : 1, sizeof(*w.out));
	if (!w.out) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		lm_delta_commit_init(&w.out[g].c);
		lm_err_init(&w.out[g].err);
	}
	w.io = io;
	w.key = key;
	w.tail = &tail;
	w.m = m;
	w.plan = &plan;
	/* A fresh replay (or one holding only checkpoint rows) takes the adds directly:
	 * at most one slot per row. */
	if (plan.col[LM_DELTA_CK_ADD_PATH] >= 0 && (!r->n_e || r->unindexed) &&
	    rows <= ((uint64_t)1 << 28)) {
		/* (without the memory a footer's row count asks for — maybe a lying one —
		 * the row groups go through commits, which check it) */
		lm_err_init(&e2);
		if (!lm_delta_replay_bulk_open(r, (size_t)rows, &e2))
			w.r = r;
	}
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		int want = ncpu < 1 ? 1 : ncpu > CK_THREADS ? CK_THREADS : (int)ncpu;

		if (want > (int)m->nrow_groups)
			want = (int)m->nrow_groups;
		while (nth + 1 < want && pthread_create(&th[nth], NULL, ck_worker, &w) == 0)
			nth++;
	}
	ck_worker(&w);
	for (int k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	if (w.r)
		lm_delta_replay_bulk_close(r);
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		struct rgout *o = &w.out[g];

		if (!o->done)
			break;   /* after a failed one */
		if (o->rc == ECANCELED) {
			/* it gave up for another: say that one's trouble */
			for (uint32_t k = g + 1; k < m->nrow_groups; k++)
				if (w.out[k].done && w.out[k].rc && w.out[k].rc != ECANCELED) {
					o = &w.out[k];
					break;
				}
		}
		o->done = false;   /* merged (or failed) */
		if (o->rc && o->fetch_failed) {
			*err = o->err;
			rc = o->rc;
			if (rc == ENOMEM || rc == LM_ETOOBIG)
				goto bad;
			goto store_err;
		}
		if (o->rc) {
			rc = lm_err_set(err, o->rc, "%s: %s", key, o->err.msg);
			goto bad;
		}
		rc = keep_sidecars(&o->c, sc, key, err);
		if (rc)
			goto bad;
		if (w.r) {
			rc = lm_delta_replay_meta(r, &o->c, &e2);
			if (!rc)
				rc = lm_delta_replay_bulk_merge(r, &o->b, version, &e2);
			if (!rc && lm_delta_replay_adopt(r, &o->c.arena))
				rc = lm_err_set(&e2, ENOMEM, "out of memory");
		} else {
			rc = lm_delta_replay_load(r, version, &o->c, io->resolve, io->ud, &e2);
		}
		if (rc) {
			rc = lm_err_set(err, rc, "%s: %s", key, e2.msg);
			goto out;
		}
	}
	rc = 0;
	goto out;
store_err:
	/* A file the listing named is gone: the checkpoint is unusable; other storage
	 * trouble is not a property of the table. */
	if (rc == ENOENT)
		*unusable = true;
	lm_err_prefix(err, "%s: ", key);
	goto out;
bad:
	if (rc != ENOMEM)
		*unusable = true;
out:
	for (uint32_t g = 0; w.out && g < m->nrow_groups; g++) {
		/* a row group decoded but not brought in: its slots would point into strings
		 * freed here */
		for (size_t k = 0; w.r && w.out[g].done && k < w.out[g].b.k; k++)
			r->f[w.out[g].b.base + k].path = NULL;
		lm_delta_bulk_free(&w.out[g].b);
		lm_delta_commit_free(&w.out[g].c);
	}
	free(w.out);
	pthread_mutex_destroy(&w.mu);
	free(tail.buf);
	lm_parquet_meta_free(m);
	return rc;
}

/* A JSON (UUID-named v2) checkpoint. */
static int load_json(const struct lm_delta_io *io, const char *key, int64_t version,
		     struct lm_delta_replay *r, struct lm_delta_commit *sc, bool *unusable,
		     struct lm_err *err)
{
	struct lm_buf buf;
	struct lm_delta_commit c;
	struct lm_err e2;
	int rc;

	lm_buf_init(&buf, MAX_JSON_CHECKPOINT);
	lm_delta_commit_init(&c);
	lm_err_init(&e2);
	rc = lm_store_get_all(io->store, key, MAX_JSON_CHECKPOINT, &buf, NULL, &e2);
	if (rc) {
		*err = e2;
		if (rc == ENOENT || rc == LM_ETOOBIG)
			*unusable = true;
		goto out;
	}
	rc = lm_delta_commit_parse(buf.data ? buf.data : "", buf.len, &c, &e2);
	if (rc) {
		rc = lm_err_set(err, rc, "%s: %s", key, e2.msg);
		if (rc != ENOMEM)
			*unusable = true;
		goto out;
	}
	/* Remove rows of a checkpoint are tombstones for VACUUM: a replay that starts here
	 * has nothing they could remove. */
	c.n_removes = 0;
	rc = lm_delta_replay_load(r, version, &c, io->resolve, io->ud, &e2);
	if (rc) {
		rc = lm_err_set(err, rc, "%s: %s", key, e2.msg);
		goto out;
	}
	/* Hand the sidecars over. */
	for (size_t i = 0; i < c.n_sidecars; i++) {
		struct lm_delta_sidecar *d;

		if (sc->n_sidecars == sc->cap_sidecars) {
			size_t ncap = sc->cap_sidecars ? sc->cap_sidecars * 2 : 8;
			struct lm_delta_sidecar *p = realloc(sc->sidecars, ncap * sizeof(*p));

			if (!p) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			sc->sidecars = p;
			sc->cap_sidecars = ncap;
		}
		d = &sc->sidecars[sc->n_sidecars++];
		*d = c.sidecars[i];
		d->path = lm_arena_strdup(&sc->arena, c.sidecars[i].path);
		if (!d->path) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (c.has_checkpoint_metadata) {
		sc->has_checkpoint_metadata = true;
		sc->checkpoint_version = c.checkpoint_version;
	}
out:
	lm_delta_commit_free(&c);
	lm_buf_free(&buf);
	return rc;
}

/* The store key of a sidecar: a bare file name (what writers store) under
 * _delta_log/_sidecars/, or a URI/absolute path that must point there. */
static int sidecar_key(const struct lm_delta_io *io, const char *raw, char **out,
		       struct lm_err *err)
{
	char *dec = NULL, *dir = NULL, *abskey = NULL;
	int rc;

	*out = NULL;
	dir = lm_path_join(io->key, "_delta_log/_sidecars/");
	if (!dir)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (lm_pct_decode(raw, strlen(raw), &dec)) {
		rc = lm_err_set(err, LM_EFORMAT, "sidecar path '%s' has an invalid %%-escape", raw);
		goto out;
	}
	if (!strchr(dec, '/')) {
		if (!lm_relpath_ok(dec)) {
			rc = lm_err_set(err, LM_EFORMAT, "sidecar path '%s' is not a file name", raw);
			goto out;
		}
		*out = lm_path_join(dir, dec);
		rc = *out ? 0 : lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_store_uri_to_key(io->store, dec, &abskey, err);
	if (rc) {
		rc = lm_err_set(err, LM_EFORMAT, "sidecar path '%s' is outside the table's _delta_log/_sidecars/",
				raw);
		goto out;
	}
	if (strncmp(abskey, dir, strlen(dir)) || strchr(abskey + strlen(dir), '/') ||
	    !abskey[strlen(dir)]) {
		rc = lm_err_set(err, LM_EFORMAT, "sidecar path '%s' is outside the table's _delta_log/_sidecars/",
				raw);
		goto out;
	}
	*out = abskey;
	abskey = NULL;
	rc = 0;
out:
	free(abskey);
	free(dec);
	free(dir);
	return rc;
}

int lm_delta_ckpt_load(const struct lm_delta_io *io, const struct lm_delta_log *l,
		       const struct lm_delta_ckpt_file *ck, struct lm_delta_replay *r,
		       bool *unusable, struct lm_err *err)
{
	struct lm_delta_commit sc;   /* collects sidecars and checkpointMetadata */
	struct lm_delta_commit nested; /* what a sidecar might name: ignored */
	char name[160], *dir = NULL, *key = NULL;
	int rc = 0;

	*unusable = false;
	lm_delta_commit_init(&sc);
	lm_delta_commit_init(&nested);
	dir = lm_path_join(io->key, "_delta_log/");
	if (!dir)
		return lm_err_set(err, ENOMEM, "out of memory");
	for (int part = 1; part <= ck->nparts; part++) {
		lm_delta_ckpt_part_name(l, ck, part, name, sizeof(name));
		free(key);
		key = lm_path_join(dir, name);
		if (!key) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (ck->parquet)
			rc = load_parquet(io, key, lm_delta_ckpt_part_size(l, ck, part), ck->version, r,
					  &sc, unusable, err);
		else
			rc = load_json(io, key, ck->version, r, &sc, unusable, err);
		if (rc)
			goto out;
	}
	lm_delta_ckpt_part_name(l, ck, 1, name, sizeof(name));
	if (sc.has_checkpoint_metadata && sc.checkpoint_version >= 0 &&
	    sc.checkpoint_version != ck->version) {
		rc = lm_err_set(err, LM_EFORMAT, "its checkpointMetadata says version %lld",
				(long long)sc.checkpoint_version);
		*unusable = true;
		goto out;
	}
	if (ck->kind == LM_DELTA_LOG_CHECKPOINT_V2 && !sc.has_checkpoint_metadata) {
		rc = lm_err_set(err, LM_EFORMAT, "a UUID-named (v2) checkpoint without checkpointMetadata");
		*unusable = true;
		goto out;
	}
	for (size_t i = 0; i < sc.n_sidecars; i++) {
		free(key);
		key = NULL;
		rc = sidecar_key(io, sc.sidecars[i].path, &key, err);
		if (rc) {
			*unusable = rc != ENOMEM;
			goto out;
		}
		rc = load_parquet(io, key, sc.sidecars[i].size > 0 ? (uint64_t)sc.sidecars[i].size : 0,
				  ck->version, r, &nested, unusable, err);
		if (rc) {
			lm_err_prefix(err, "sidecar: ");
			goto out;
		}
	}
	if (!r->has_protocol || !r->has_metadata) {
		rc = lm_err_set(err, LM_EFORMAT, "it has no %s action",
				r->has_protocol ? "metaData" : "protocol");
		*unusable = true;
		goto out;
	}
	r->version = ck->version;
	r->base = ck->version;
	lm_debug("table %s: version %lld from checkpoint %s (%zu live files, %zu sidecars)",
		 io->name, (long long)ck->version, name, r->live, sc.n_sidecars);
out:
	lm_delta_commit_free(&nested);
	lm_delta_commit_free(&sc);
	free(key);
	free(dir);
	return rc;
}
