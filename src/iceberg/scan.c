/* scan.c — the live files of one Iceberg snapshot: manifest list → manifests →
 * entries (DELETED ones are not live), data files placed inside the table, delete
 * files kept apart and matched to the data files they apply to.
 * Owns struct lm_iceberg_scan. May call: store, format/iceberg_meta, iceberg/paths,
 * util, err.
 *
 * Which delete applies to which data file (spec, "Scan Planning"):
 *   - a deletion vector (v3, Puffin) applies to the data file it references, when
 *     the data file's data sequence number is <= the vector's;
 *   - a position delete file applies to data files of the same partition (spec id
 *     and values) with data sequence number <= its own, only to referenced_data_file
 *     when set (and within the bounds of its file_path column when recorded), and not
 *     to a data file that has a deletion vector;
 *   - an equality delete file applies to data files with a strictly smaller data
 *     sequence number, in its partition, or everywhere when its spec is unpartitioned.
 * A data file with any applicable delete carries LM_FILE_HAS_DV; the (data, delete)
 * pairs are kept (capped) for @info. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "iceberg_int.h"
#include "lm/util.h"

struct scope {
	int32_t spec;
	bool unpart;             /* deletes: the spec is unpartitioned */
	const uint8_t *part;
	size_t plen;
	const char *ref;         /* deletes: referenced_data_file */
	const char *lo, *hi;     /* position deletes: file_path bounds */
	bool has_snap;
	int64_t snap;
};

struct row {
	struct lm_iceberg_file f;
	struct scope sc;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

struct build {
	const struct ice_scan_ctx *ctx;
	struct lm_iceberg_scan *scan;
	struct ice_roots roots;
	struct rows data, dels;
	size_t applies_cap;
	struct lm_err *err;
};

static int push(struct build *b, struct rows *r, const struct row *x)
{
	if (b->data.n + b->dels.n >= ICE_MAX_FILES) {
		lm_err_set(b->err, LM_ETOOBIG, "%s: more than %zu live files", b->ctx->what,
			   ICE_MAX_FILES);
		lm_err_reason(b->err, "too-big");
		return LM_ETOOBIG;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 256;
		struct row *nv = realloc(r->v, nc * sizeof(*nv));

		if (!nv)
			return lm_err_set(b->err, ENOMEM, "out of memory");
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n++] = *x;
	return 0;
}

static const char *keep(struct build *b, const char *s)
{
	return s ? lm_arena_strdup(&b->scan->arena, s) : NULL;
}

/* Fetch an object named by a manifest path; ENOENT becomes a refusal with reason. */
static int fetch(struct build *b, const char *raw, const char *kind, const char *missing_word,
		 struct lm_buf *buf, char **keyout)
{
	struct lm_err e2;
	char *rel = NULL, *key = NULL;
	int rc;

	lm_err_init(&e2);
	rc = ice_relocate(&b->roots, b->ctx->store, b->ctx->table_key, raw, &rel, &e2);
	if (rc) {
		lm_err_set(b->err, rc, "%s: %s %s", b->ctx->what, kind, e2.msg);
		if (rc == LM_EESCAPE)
			lm_err_reason(b->err, "path-escape");
		goto out;
	}
	key = lm_path_join(b->ctx->table_key, rel);
	if (!key) {
		rc = lm_err_set(b->err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_store_get_all(b->ctx->store, key, buf->limit, buf, NULL, &e2);
	if (rc == ENOENT || rc == LM_EMISSING) {
		rc = lm_err_set(b->err, LM_EMISSING, "%s: %s %s is missing", b->ctx->what, kind, key);
		lm_err_reason(b->err, missing_word);
	} else if (rc == LM_ETOOBIG) {
		lm_err_set(b->err, rc, "%s: %s %s is larger than %zu bytes", b->ctx->what, kind, key,
			   buf->limit);
		lm_err_reason(b->err, "too-big");
	} else if (rc) {
		lm_err_set(b->err, rc, "%s: %s %s: %s", b->ctx->what, kind, key, e2.msg);
	}
out:
	free(rel);
	if (!rc)
		*keyout = key;
	else
		free(key);
	return rc;
}

static void decoder_error(struct build *b, const char *kind, const char *key, struct lm_err *e2,
			  int rc)
{
	const char *word = e2->reason;

	lm_err_set(b->err, rc, "%s: %s %s: %s", b->ctx->what, kind, key, e2->msg);
	lm_err_reason(b->err, word ? word : (rc == ENOMEM ? NULL : "invalid-avro"));
}

static int read_manifest(struct build *b, const char *raw,
			 const struct lm_iceberg_manifest_file *from)
{
	struct lm_iceberg_manifest m;
	struct lm_buf buf;
	struct lm_err e2;
	char *key = NULL;
	int rc;

	lm_iceberg_manifest_init(&m);
	lm_buf_init(&buf, ICE_MAX_MANIFEST);
	lm_err_init(&e2);
	rc = fetch(b, raw, "manifest", "missing-manifest", &buf, &key);
	if (rc)
		goto out;
	rc = lm_iceberg_manifest_parse(buf.data, buf.len, from, NULL, &m, &e2);
	if (rc) {
		decoder_error(b, "manifest", key, &e2, rc);
		goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		const struct lm_iceberg_entry *e = &m.v[i];
		struct row r;

		if (e->status == LM_ICEBERG_DELETED)
			continue;
		memset(&r, 0, sizeof(r));
		r.f.raw = keep(b, e->path);
		r.f.size = (uint64_t)e->size;
		r.f.seq = e->seq;
		r.f.record_count = e->record_count;
		r.f.content = e->content;
		r.sc.spec = m.spec_id;
		r.sc.unpart = m.unpartitioned;
		r.sc.has_snap = e->has_snapshot_id;
		r.sc.snap = e->snapshot_id;
		if (e->part_len) {
			uint8_t *p = lm_arena_alloc(&b->scan->arena, e->part_len);

			if (!p) {
				rc = lm_err_set(b->err, ENOMEM, "out of memory");
				goto out;
			}
			memcpy(p, e->part, e->part_len);
			r.sc.part = p;
			r.sc.plen = e->part_len;
		}
		if (e->content != LM_ICEBERG_FILE_DATA) {
			r.f.dv = !strcasecmp(e->format, "puffin") || e->content_offset >= 0;
			r.sc.ref = keep(b, e->referenced);
			r.sc.lo = keep(b, e->path_lower);
			r.sc.hi = keep(b, e->path_upper);
			if ((e->referenced && !r.sc.ref) || (e->path_lower && !r.sc.lo) ||
			    (e->path_upper && !r.sc.hi)) {
				rc = lm_err_set(b->err, ENOMEM, "out of memory");
				goto out;
			}
		}
		if (!r.f.raw) {
			rc = lm_err_set(b->err, ENOMEM, "out of memory");
			goto out;
		}
		rc = push(b, e->content == LM_ICEBERG_FILE_DATA ? &b->data : &b->dels, &r);
		if (rc)
			goto out;
	}
out:
	free(key);
	lm_buf_free(&buf);
	lm_iceberg_manifest_free(&m);
	return rc;
}

static int learn_roots(struct build *b, const struct lm_iceberg_meta *m)
{
	int rc = 0;

	if (!m)
		return 0;
	if ((rc = ice_roots_add(&b->roots, m->location)))
		return rc;
	for (size_t i = 0; i < m->nsnapshots && !rc; i++) {
		const struct lm_iceberg_snapshot *s = &m->snapshots[i];

		if (s->manifest_list)
			rc = ice_roots_learn(&b->roots, s->manifest_list, b->ctx->names, b->ctx->nnames);
		for (size_t k = 0; k < s->nmanifests && !rc; k++)
			rc = ice_roots_learn(&b->roots, s->manifests[k], b->ctx->names, b->ctx->nnames);
	}
	for (size_t i = 0; i < m->nmetadata_log && !rc; i++)
		rc = ice_roots_learn(&b->roots, m->metadata_log[i].file, b->ctx->names, b->ctx->nnames);
	return rc;
}

static int row_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->f.path, ((const struct row *)b)->f.path);
}

static int idx_raw_cmp(const void *a, const void *b, void *ctx)
{
	const struct row *v = ctx;

	return strcmp(v[*(const uint32_t *)a].f.raw, v[*(const uint32_t *)b].f.raw);
}

static int part_cmp(const struct scope *x, const struct scope *y)
{
	if (x->spec != y->spec)
		return x->spec < y->spec ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->plen ? memcmp(x->part, y->part, x->plen) : 0;
}

static int idx_part_cmp(const void *a, const void *b, void *ctx)
{
	const struct row *v = ctx;

	return part_cmp(&v[*(const uint32_t *)a].sc, &v[*(const uint32_t *)b].sc);
}

/* [*lo, *hi) of idx (sorted by cmp) whose rows compare equal to probe. */
static void equal_range(const uint32_t *idx, size_t n, const struct row *v,
			int (*cmp)(const struct row *, const void *), const void *probe, size_t *lo,
			size_t *hi)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (cmp(&v[idx[m]], probe) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = n;
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (cmp(&v[idx[m]], probe) <= 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

static int row_vs_raw(const struct row *r, const void *probe)
{
	return strcmp(r->f.raw, probe);
}

static int row_vs_part(const struct row *r, const void *probe)
{
	return part_cmp(&r->sc, probe);
}

static int apply(struct build *b, size_t d, size_t del)
{
	struct lm_iceberg_scan *s = b->scan;

	b->data.v[d].f.flags |= LM_FILE_HAS_DV;
	if (s->napplies >= ICE_MAX_APPLIES) {
		s->applies_truncated = true;
		return 0;
	}
	if (s->napplies == b->applies_cap) {
		size_t nc = b->applies_cap ? b->applies_cap * 2 : 16;
		struct lm_iceberg_apply *na = realloc(s->applies, nc * sizeof(*na));

		if (!na)
			return lm_err_set(b->err, ENOMEM, "out of memory");
		s->applies = na;
		b->applies_cap = nc;
	}
	s->applies[s->napplies].data = (uint32_t)d;
	s->applies[s->napplies].del = (uint32_t)del;
	s->napplies++;
	return 0;
}

static int scope_deletes(struct build *b)
{
	struct row *dv = b->data.v;
	size_t nd = b->data.n;
	uint32_t *byraw = NULL, *bypart = NULL;
	bool *has_dv = NULL;
	int rc = 0;

	if (!b->dels.n || !nd)
		return 0;
	byraw = malloc(nd * sizeof(*byraw));
	bypart = malloc(nd * sizeof(*bypart));
	has_dv = calloc(nd, sizeof(*has_dv));
	if (!byraw || !bypart || !has_dv) {
		rc = lm_err_set(b->err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nd; i++)
		byraw[i] = bypart[i] = (uint32_t)i;
	qsort_r(byraw, nd, sizeof(*byraw), idx_raw_cmp, dv);
	qsort_r(bypart, nd, sizeof(*bypart), idx_part_cmp, dv);
	/* Deletion vectors first: they shadow position delete files. */
	for (int pass = 0; pass < 2 && !rc; pass++) {
		for (size_t k = 0; k < b->dels.n && !rc; k++) {
			const struct row *del = &b->dels.v[k];
			bool is_dv = del->f.dv && del->sc.ref;
			size_t lo, hi;

			if ((pass == 0) != is_dv)
				continue;
			if (del->sc.ref) {
				equal_range(byraw, nd, dv, row_vs_raw, del->sc.ref, &lo, &hi);
				for (size_t i = lo; i < hi && !rc; i++) {
					size_t d = byraw[i];

					if (dv[d].f.seq > del->f.seq)
						continue;
					if (del->f.content == LM_ICEBERG_FILE_EQ_DELETES &&
					    dv[d].f.seq >= del->f.seq)
						continue;
					if (!is_dv && del->f.content == LM_ICEBERG_FILE_POS_DELETES && has_dv[d])
						continue;
					if (is_dv)
						has_dv[d] = true;
					rc = apply(b, d, k);
				}
				continue;
			}
			if (del->f.content == LM_ICEBERG_FILE_EQ_DELETES && del->sc.unpart) {
				lo = 0;
				hi = nd;
			} else {
				equal_range(bypart, nd, dv, row_vs_part, &del->sc, &lo, &hi);
			}
			for (size_t i = lo; i < hi && !rc; i++) {
				size_t d = bypart[i];

				if (del->f.content == LM_ICEBERG_FILE_EQ_DELETES) {
					if (dv[d].f.seq >= del->f.seq)
						continue;
				} else {
					if (dv[d].f.seq > del->f.seq || has_dv[d])
						continue;
					if (del->sc.lo && (strcmp(dv[d].f.raw, del->sc.lo) < 0 ||
							   strcmp(dv[d].f.raw, del->sc.hi) > 0))
						continue;
				}
				rc = apply(b, d, k);
			}
		}
	}
out:
	free(byraw);
	free(bypart);
	free(has_dv);
	return rc;
}

/* Everything a snapshot holds: manifests read, data files placed and made unique,
 * delete files matched. */
static int collect(struct build *b, const struct lm_iceberg_snapshot *s)
{
	struct lm_iceberg_manifest_list ml;
	struct lm_err *err = b->err;
	struct lm_buf buf;
	struct lm_err e2;
	char *key = NULL;
	int rc;

	lm_iceberg_manifest_list_init(&ml);
	lm_buf_init(&buf, ICE_MAX_MANIFEST_LIST);
	lm_err_init(&e2);
	b->scan->snapshot_id = s->id;
	b->scan->seq = s->seq;
	b->scan->timestamp_ms = s->timestamp_ms;
	if ((rc = learn_roots(b, b->ctx->meta)) || (rc = learn_roots(b, b->ctx->current))) {
		lm_err_set(err, rc, "out of memory");
		goto out;
	}
	if (s->manifest_list) {
		rc = fetch(b, s->manifest_list, "manifest list", "missing-manifest-list", &buf, &key);
		if (rc)
			goto out;
		rc = lm_iceberg_manifest_list_parse(buf.data, buf.len, NULL, &ml, &e2);
		if (rc) {
			decoder_error(b, "manifest list", key, &e2, rc);
			goto out;
		}
		lm_buf_free(&buf);
		for (size_t i = 0; i < ml.n && !rc; i++)
			rc = read_manifest(b, ml.v[i].path, &ml.v[i]);
	} else if (s->nmanifests) {
		for (size_t i = 0; i < s->nmanifests && !rc; i++)
			rc = read_manifest(b, s->manifests[i], NULL);
	} else {
		rc = lm_err_set(err, LM_EFORMAT,
				"%s: snapshot %lld records neither a manifest list nor manifests",
				b->ctx->what, (long long)s->id);
		lm_err_reason(err, "invalid-metadata");
	}
	if (rc)
		goto out;
	/* Place data files; delete files only when they can be. */
	for (size_t i = 0; i < b->data.n; i++) {
		struct row *r = &b->data.v[i];
		char *rel = NULL;
		const struct lm_iceberg_snapshot *added = NULL;

		rc = ice_relocate(&b->roots, b->ctx->store, b->ctx->table_key, r->f.raw, &rel, &e2);
		if (rc) {
			lm_err_set(err, rc, "%s: data file %s", b->ctx->what, e2.msg);
			lm_err_reason(err, rc == LM_EESCAPE ? "path-escape" : NULL);
			goto out;
		}
		r->f.path = keep(b, rel);
		free(rel);
		if (!r->f.path) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (r->sc.has_snap && b->ctx->meta)
			added = lm_iceberg_meta_snapshot(b->ctx->meta, r->sc.snap);
		r->f.mtime_ms = added && added->timestamp_ms >= 0 ? added->timestamp_ms
								  : s->timestamp_ms;
	}
	for (size_t i = 0; i < b->dels.n; i++) {
		struct row *r = &b->dels.v[i];
		char *rel = NULL;

		if (!ice_relocate(&b->roots, b->ctx->store, b->ctx->table_key, r->f.raw, &rel, NULL)) {
			r->f.path = keep(b, rel);
			free(rel);
		}
		r->f.mtime_ms = s->timestamp_ms;
	}
	/* One entry per path: the same file twice (same size) is one file. */
	if (b->data.n)
		qsort(b->data.v, b->data.n, sizeof(*b->data.v), row_path_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < b->data.n; i++) {
			if (k && !strcmp(b->data.v[k - 1].f.path, b->data.v[i].f.path)) {
				if (b->data.v[k - 1].f.size != b->data.v[i].f.size) {
					rc = lm_err_set(err, LM_EFORMAT,
							"%s: data file %s is live twice with different sizes (%llu and %llu)",
							b->ctx->what, b->data.v[i].f.path,
							(unsigned long long)b->data.v[k - 1].f.size,
							(unsigned long long)b->data.v[i].f.size);
					lm_err_reason(err, "duplicate-path");
					goto out;
				}
				continue;
			}
			b->data.v[k++] = b->data.v[i];
		}
		b->data.n = k;
	}
	rc = scope_deletes(b);
out:
	free(key);
	lm_buf_free(&buf);
	lm_iceberg_manifest_list_free(&ml);
	return rc;
}

int ice_scan_build(const struct ice_scan_ctx *ctx, const struct lm_iceberg_snapshot *s,
		   struct lm_iceberg_scan **out, struct lm_err *err)
{
	struct build b = { .ctx = ctx, .err = err };
	int rc = 0;

	*out = NULL;
	ice_roots_init(&b.roots);
	b.scan = calloc(1, sizeof(*b.scan));
	if (!b.scan)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_arena_init(&b.scan->arena);
	b.scan->snapshot_id = -1;
	b.scan->timestamp_ms = ctx->meta ? ctx->meta->last_updated_ms : -1;
	if (s && (rc = collect(&b, s)))
		goto out;
	if (b.data.n) {
		b.scan->data = malloc(b.data.n * sizeof(*b.scan->data));
		if (!b.scan->data) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < b.data.n; i++)
			b.scan->data[i] = b.data.v[i].f;
		b.scan->ndata = b.data.n;
	}
	if (b.dels.n) {
		b.scan->deletes = malloc(b.dels.n * sizeof(*b.scan->deletes));
		if (!b.scan->deletes) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < b.dels.n; i++)
			b.scan->deletes[i] = b.dels.v[i].f;
		b.scan->ndeletes = b.dels.n;
	}
	*out = b.scan;
	b.scan = NULL;
out:
	free(b.data.v);
	free(b.dels.v);
	ice_roots_free(&b.roots);
	lm_iceberg_scan_free(b.scan);
	return rc;
}

void lm_iceberg_scan_free(struct lm_iceberg_scan *s)
{
	if (!s)
		return;
	free(s->data);
	free(s->deletes);
	free(s->applies);
	lm_arena_free(&s->arena);
	free(s);
}
