/* checkpoint.c — loads one Delta checkpoint into a fresh replay: classic and
 * multi-part Parquet, UUID-named v2 checkpoints in JSON or Parquet, and the sidecar
 * files a v2 checkpoint names (_delta_log/_sidecars/). Parquet is read with ranged
 * requests: the tail (footer), then per row group only the byte ranges of the needed
 * column chunks (neighbours closer than MERGE_GAP are fetched together), so memory is
 * bounded by two row groups' needed columns (two are decoded at once, on this thread
 * and a helper) plus the live-file table.
 * Owns nothing beyond the call. May call: store, format (parquet, delta_checkpoint,
 * delta_actions), delta/replay, util. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One row group in flight: its fetched column chunks and its decoded actions. */
struct rgjob {
	const struct lm_parquet_meta *m;
	const struct lm_delta_ckpt_plan *plan;
	uint32_t g;
	const uint8_t *ptr[LM_DELTA_CK_NCOLS];
	size_t lens[LM_DELTA_CK_NCOLS];
	struct piece pieces[LM_DELTA_CK_NCOLS];
	size_t npieces;
	struct lm_delta_commit c;
	struct lm_err err;
	int rc;
};

static void job_init(struct rgjob *j, const struct lm_parquet_meta *m,
		     const struct lm_delta_ckpt_plan *plan, uint32_t g)
{
	memset(j, 0, sizeof(*j));
	j->m = m;
	j->plan = plan;
	j->g = g;
	lm_delta_commit_init(&j->c);
	lm_err_init(&j->err);
}

static void job_free(struct rgjob *j)
{
	for (size_t i = 0; i < j->npieces; i++)
		free(j->pieces[i].buf);
	j->npieces = 0;
	lm_delta_commit_free(&j->c);
}

/* The needed column chunks of row group j->g: from the tail already read, else in as
 * few ranged reads as sensible. */
static int fetch_rg(const struct lm_delta_io *io, const char *key, const struct piece *tail,
		    struct rgjob *j, struct lm_err *err)
{
	struct range rs[LM_DELTA_CK_NCOLS];
	size_t nr = 0;
	int rc;

	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		const struct lm_parquet_chunk *ch;

		if (j->plan->col[i] < 0)
			continue;
		ch = &j->m->row_groups[j->g].chunks[j->plan->col[i]];
		if (ch->offset >= tail->off && ch->offset + ch->length <= tail->off + tail->len) {
			j->ptr[i] = tail->buf + (ch->offset - tail->off);
			j->lens[i] = (size_t)ch->length;
			continue;
		}
		rs[nr++] = (struct range){ .off = ch->offset, .len = ch->length, .idx = i };
	}
	if (nr)
		qsort(rs, nr, sizeof(*rs), range_cmp);
	for (size_t i = 0; i < nr;) {
		uint64_t lo = rs[i].off, hi = rs[i].off + rs[i].len;
		size_t k = i + 1;
		struct piece *pc = &j->pieces[j->npieces];

		while (k < nr && rs[k].off <= hi + MERGE_GAP) {
			if (rs[k].off + rs[k].len > hi)
				hi = rs[k].off + rs[k].len;
			k++;
		}
		if (hi - lo > MAX_RANGE)
			return lm_err_set(err, LM_ETOOBIG,
					  "%s: row group %u needs %llu bytes in one piece (cap %llu)", key,
					  j->g, (unsigned long long)(hi - lo), (unsigned long long)MAX_RANGE);
		pc->off = lo;
		pc->len = hi - lo;
		pc->buf = malloc(pc->len ? (size_t)pc->len : 1);
		if (!pc->buf)
			return lm_err_set(err, ENOMEM, "out of memory");
		j->npieces++;
		rc = get_exact(io, key, lo, hi - lo, pc->buf, NULL, err);
		if (rc)
			return rc;
		for (size_t q = i; q < k; q++) {
			j->ptr[rs[q].idx] = pc->buf + (rs[q].off - lo);
			j->lens[rs[q].idx] = (size_t)rs[q].len;
		}
		i = k;
	}
	return 0;
}

static void *decode_rg(void *arg)
{
	struct rgjob *j = arg;

	j->rc = lm_delta_ckpt_decode(j->m, j->plan, j->g, j->ptr, j->lens, &j->c, &j->err);
	return NULL;
}

/* Move j's sidecars and checkpointMetadata to sc. */
static int keep_sidecars(struct rgjob *j, struct lm_delta_commit *sc, const char *key,
			 struct lm_err *err)
{
	for (size_t i = 0; i < j->c.n_sidecars; i++) {
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
		*d = j->c.sidecars[i];
		d->path = lm_arena_strdup(&sc->arena, j->c.sidecars[i].path);
		if (!d->path)
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	if (j->c.has_checkpoint_metadata) {
		sc->has_checkpoint_metadata = true;
		sc->checkpoint_version = j->c.checkpoint_version;
	}
	j->c.n_sidecars = 0;
	return 0;
}

/* One Parquet checkpoint or sidecar file into the replay. size: the listed size (0:
 * unknown, learnt with a HEAD). Sidecars named by the file go to *sc (appended).
 * Row groups are decoded two at a time (this thread and one helper), then loaded in
 * file order: at most two row groups' needed columns are held at once. */
static int load_parquet(const struct lm_delta_io *io, const char *key, uint64_t size,
			int64_t version, struct lm_delta_replay *r, struct lm_delta_commit *sc,
			bool *unusable, struct lm_err *err)
{
	struct lm_parquet_meta *m = NULL;
	struct lm_delta_ckpt_plan plan;
	struct lm_obj_info info;
	struct piece tail = { 0 };
	struct rgjob job[2];
	size_t need = 0;
	struct lm_err e2;
	int rc;

	job_init(&job[0], NULL, NULL, 0);
	job_init(&job[1], NULL, NULL, 0);
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
	for (uint32_t g = 0; g < m->nrow_groups; g += 2) {
		int nj = g + 1 < m->nrow_groups ? 2 : 1;
		pthread_t th;
		bool threaded = false;

		for (int k = 0; k < nj; k++) {
			job_init(&job[k], m, &plan, g + (uint32_t)k);
			rc = fetch_rg(io, key, &tail, &job[k], err);
			if (rc == ENOMEM || rc == LM_ETOOBIG)
				goto bad;
			if (rc)
				goto store_err;
		}
		if (nj == 2)
			threaded = pthread_create(&th, NULL, decode_rg, &job[1]) == 0;
		decode_rg(&job[0]);
		if (threaded)
			pthread_join(th, NULL);
		else if (nj == 2)
			decode_rg(&job[1]);
		for (int k = 0; k < nj; k++) {
			if (job[k].rc) {
				rc = lm_err_set(err, job[k].rc, "%s: %s", key, job[k].err.msg);
				goto bad;
			}
			rc = keep_sidecars(&job[k], sc, key, err);
			if (rc)
				goto bad;
			rc = lm_delta_replay_load(r, version, &job[k].c, io->resolve, io->ud, &e2);
			if (rc) {
				rc = lm_err_set(err, rc, "%s: %s", key, e2.msg);
				goto out;
			}
			job_free(&job[k]);
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
	job_free(&job[0]);
	job_free(&job[1]);
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
