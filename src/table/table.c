/* table.c — the generic table layer: dispatch to the format drivers and detection of
 * which format a folder holds. Owns nothing but the common head. May call: the drivers
 * (delta/, iceberg/), snapshot (image codec), cache (metacache), store, util. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "lm/log.h"
#include "lm/util.h"
#include "lm/metacache.h"
#include "lm/table.h"

int lm_table_base_init(struct lm_table *t, const struct lm_table_ops *ops,
		       struct lm_store *store, const char *key, const char *name,
		       enum lm_table_format fmt)
{
	t->ops = ops;
	t->store = store;
	t->orphan_min_age_ms = -1;
	t->fmt = fmt;
	t->key = strdup(key);
	t->name = strdup(name && *name ? name : (*key ? key : store->uri));
	if (!t->key || !t->name) {
		lm_table_base_free(t);
		return ENOMEM;
	}
	return 0;
}

void lm_table_base_free(struct lm_table *t)
{
	free(t->key);
	free(t->name);
	t->key = NULL;
	t->name = NULL;
}

int lm_table_open(struct lm_store *store, const char *key, const char *name,
		  enum lm_table_format fmt, struct lm_table **out, struct lm_err *err)
{
	switch (fmt) {
	case LM_TABLE_DELTA:
		return lm_delta_table_open(store, key, name, out, err);
	case LM_TABLE_ICEBERG:
		return lm_iceberg_table_open(store, key, name, out, err);
	default:
		return lm_err_set(err, LM_EUNSUPPORTED, "%s: unknown table format", name);
	}
}

void lm_table_free(struct lm_table *t)
{
	if (t)
		t->ops->destroy(t);
}

const char *lm_table_name(const struct lm_table *t) { return t->name; }
const char *lm_table_key(const struct lm_table *t) { return t->key; }

int lm_table_refresh(struct lm_table *t, struct lm_err *err)
{
	return t->ops->refresh(t, err);
}

int lm_table_views(struct lm_table *t, struct lm_table_view **out, size_t *n,
		   struct lm_err *err)
{
	return t->ops->views(t, out, n, err);
}

int lm_table_resolve(struct lm_table *t, const char *name, struct lm_table_view *out,
		     struct lm_err *err)
{
	if (!t->ops->resolve)
		return ENOENT;
	return t->ops->resolve(t, name, out, err);
}

/* The cache key of a snapshot: what the store is, where the table is, its format, and
 * the driver's identity string for the view (table id, version, log fingerprint). */
static int snap_cache_key(struct lm_table *t, const char *key, struct lm_buf *k)
{
	char id[1024];
	struct lm_err e2;

	lm_err_init(&e2);
	if (!t->meta || !t->ops->cache_id || t->ops->cache_id(t, key, id, sizeof(id), &e2))
		return ENOENT;
	return lm_buf_printf(k, "snap|%s|%s|%s|%s", t->store->uri, t->key, t->ops->format, id);
}

struct decode_ctx {
	struct lm_snapshot **out;
	struct lm_err *err;
};

static int decode_cb(void *ud, const void *val, size_t len)
{
	struct decode_ctx *dc = ud;

	return lm_snapshot_decode(val, len, dc->out, dc->err);
}

/* A built snapshot on its way into the metadata cache, on the cache's writer thread:
 * encoding a 1M-file version and storing it (an LMDB commit syncs the disk) take about
 * as long as building it did (~0.8 s of 1.8 s for 1M files), and the reader who asked
 * for it should not wait for that. */
struct snap_job {
	struct lm_snapshot *snap;   /* a reference of its own */
	int64_t t0;
	size_t len;
	char what[];                /* "table NAME: KEY", for messages */
};

static int snap_produce(void *ud, struct lm_buf *out, struct lm_err *err)
{
	struct snap_job *j = ud;
	int rc = lm_snapshot_encode(j->snap, out);

	if (rc)
		return lm_err_set(err, rc, "cannot encode it");
	j->len = out->len;
	return 0;
}

static void snap_done(void *ud, int rc, const struct lm_err *err)
{
	struct snap_job *j = ud;

	if (rc)
		lm_warn("%s: not cached: %s", j->what, err->msg);
	else
		lm_debug("%s: %zu files, image of %zu bytes encoded and stored in %lld ms",
			 j->what, j->snap->nfiles, j->len, (long long)(lm_mono_ns() - j->t0) / 1000000);
	lm_snapshot_unref(j->snap);
#ifdef __GLIBC__
	/* A big image leaves tens of MB of freed heap (the encode buffer, LMDB's dirty
	 * pages): give it back rather than keep it as RSS. */
	if (j->len > ((size_t)4 << 20))
		malloc_trim(0);
#endif
	free(j);
}

int lm_table_snapshot(struct lm_table *t, const char *key, struct lm_snapshot **out,
		      struct lm_err *err)
{
	struct lm_buf ck;
	struct lm_err e2;
	struct snap_job *j;
	bool cacheable;
	int64_t t0;
	size_t wl;
	int rc;

	lm_buf_init(&ck, LM_MC_KEY_MAX);
	cacheable = snap_cache_key(t, key, &ck) == 0;
	if (cacheable) {
		struct decode_ctx dc = { .out = out, .err = &e2 };

		lm_err_init(&e2);
		/* Decoded straight from the map: no second copy of a big image in memory. */
		rc = lm_metacache_read(t->meta, LM_MC_SNAPSHOT, ck.data, decode_cb, &dc, &e2);
		if (!rc) {
			lm_debug("table %s: %s from the metadata cache", t->name, key);
			goto out;
		}
		if (rc != ENOENT)
			lm_warn("table %s: %s: %s; rebuilding it", t->name, key, e2.msg);
	}
	t0 = lm_mono_ns();
	rc = t->ops->snapshot(t, key, out, err);
	if (rc || !cacheable)
		goto out;
	lm_debug("table %s: %s: %zu files built in %lld ms", t->name, key, (*out)->nfiles,
		 (long long)(lm_mono_ns() - t0) / 1000000);
	wl = strlen(t->name) + strlen(key) + 16;
	j = malloc(sizeof(*j) + wl);
	if (!j)
		goto out;   /* not cached: only an optimisation */
	j->snap = lm_snapshot_ref(*out);
	j->t0 = lm_mono_ns();
	j->len = 0;
	snprintf(j->what, wl, "table %s: %s", t->name, key);
	lm_metacache_put_async(t->meta, LM_MC_SNAPSHOT, ck.data, snap_produce, snap_done, j);
out:
	lm_buf_free(&ck);
	return rc;
}

void lm_table_set_metacache(struct lm_table *t, struct lm_metacache *mc)
{
	t->meta = mc;
}

int lm_table_forensics(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
		       struct lm_forensics **out, struct lm_err *err)
{
	if (!t->ops->forensics)
		return lm_err_set(err, ENOTSUP, "table %s: no forensics for %s tables", t->name,
				  t->ops->format);
	return t->ops->forensics(t, now_ms, min_age_ms, out, err);
}

void lm_forensics_free(struct lm_forensics *fx)
{
	lm_delta_forensics_free(fx);
}

bool lm_table_has_info(const struct lm_table *t)
{
	return t->ops->info_list && t->ops->info_read;
}

int lm_table_info_list(struct lm_table *t, const char *dir, struct lm_info_entry **out,
		       size_t *n, struct lm_err *err)
{
	if (!lm_table_has_info(t))
		return ENOENT;
	return t->ops->info_list(t, dir, out, n, err);
}

int lm_table_info_read(struct lm_table *t, const char *path, struct lm_buf *out,
		       bool *immutable, struct lm_err *err)
{
	if (!lm_table_has_info(t))
		return ENOENT;
	return t->ops->info_read(t, path, out, immutable, err);
}

int lm_table_detect(struct lm_store *store, const char *key, const char *const *children,
		    size_t n, enum lm_table_format *out, struct lm_err *err)
{
	bool metadata = false;
	int rc;

	*out = LM_TABLE_NONE;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(children[i], "_delta_log/")) {
			*out = LM_TABLE_DELTA;
			return 0;
		}
		if (!strcmp(children[i], "metadata/"))
			metadata = true;
	}
	if (!metadata)
		return 0;
	/* Iceberg: metadata/ holding a *.metadata.json (a second look, through the store). */
	rc = lm_iceberg_detect(store, key, err);
	if (rc == 1) {
		*out = LM_TABLE_ICEBERG;
		return 0;
	}
	return rc;
}
