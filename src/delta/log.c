/* log.c — lists a Delta table's _delta_log/ (all of it, or a range of versions with
 * start-after) and turns the names into the version list: commit files, complete
 * checkpoints (classic, UUID-named v2, complete multi-part sets; incomplete sets are
 * ignored), and reads _last_checkpoint. Owns struct lm_delta_log.
 * May call: store, format/delta_actions (name parsing), format/delta_checkpoint
 * (_last_checkpoint), util. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/log.h"
#include "lm/util.h"

#define MAX_LOG_ENTRIES (20u * 1000 * 1000)
#define MAX_LAST_CHECKPOINT ((size_t)16 << 20)

struct collect {
	struct lm_delta_item *v;
	size_t n, cap;
	size_t prefix_len;
	int64_t to;
	bool staged;
	bool last_ckpt;
	bool stopped;
	struct lm_arena *arena;
	int rc;
};

static int push(struct collect *c, const struct lm_delta_item *it)
{
	if (c->n >= MAX_LOG_ENTRIES)
		return LM_ETOOBIG;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct lm_delta_item *p = realloc(c->v, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		c->v = p;
		c->cap = nc;
	}
	c->v[c->n++] = *it;
	return 0;
}

static int on_entry(void *ud, const struct lm_list_entry *e)
{
	struct collect *c = ud;
	const char *name = e->key + c->prefix_len;
	struct lm_delta_log_name ln;
	struct lm_delta_item it;
	int64_t lead;

	if (c->to != INT64_MAX && strlen(name) >= 20 && !lm_parse_i64n(name, 20, &lead) &&
	    lead > c->to) {
		c->stopped = true;
		return 1;
	}
	if (e->is_prefix) {
		if (!strcmp(name, "_staged_commits/"))
			c->staged = true;
		return 0;
	}
	lm_delta_log_name_parse(name, &ln);
	if (ln.kind == LM_DELTA_LOG_LAST_CHECKPOINT) {
		c->last_ckpt = true;
		return 0;
	}
	if (ln.kind != LM_DELTA_LOG_COMMIT && ln.kind != LM_DELTA_LOG_CHECKPOINT &&
	    ln.kind != LM_DELTA_LOG_CHECKPOINT_PART && ln.kind != LM_DELTA_LOG_CHECKPOINT_V2)
		return 0;
	memset(&it, 0, sizeof(it));
	it.version = ln.version;
	it.mtime_ms = e->info.mtime_ms;
	it.size = e->info.size;
	it.kind = ln.kind;
	it.part = ln.part;
	it.nparts = ln.nparts;
	it.parquet = ln.kind == LM_DELTA_LOG_CHECKPOINT_V2 ? ln.parquet : true;
	if (ln.kind == LM_DELTA_LOG_CHECKPOINT_V2) {
		it.name = lm_arena_strdup(c->arena, name);
		if (!it.name) {
			c->rc = ENOMEM;
			return 1;
		}
	}
	c->rc = push(c, &it);
	return c->rc ? 1 : 0;
}

static int kind_rank(enum lm_delta_log_kind k)
{
	/* Within a version: the commit, then the checkpoints in the order they are tried:
	 * UUID-named v2, classic, multi-part sets. */
	switch (k) {
	case LM_DELTA_LOG_COMMIT: return 0;
	case LM_DELTA_LOG_CHECKPOINT_V2: return 1;
	case LM_DELTA_LOG_CHECKPOINT: return 2;
	default: return 3;
	}
}

static int item_cmp(const void *a, const void *b)
{
	const struct lm_delta_item *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (kind_rank(x->kind) != kind_rank(y->kind))
		return kind_rank(x->kind) - kind_rank(y->kind);
	if (x->nparts != y->nparts)
		return x->nparts < y->nparts ? -1 : 1;
	if (x->part != y->part)
		return x->part - y->part;
	if (x->name && y->name)
		return strcmp(x->name, y->name);
	return 0;
}

void lm_delta_log_free(struct lm_delta_log *l)
{
	free(l->v);
	free(l->x);
	free(l->ck);
	free(l->items);
	lm_arena_free(&l->arena);
	memset(l, 0, sizeof(*l));
	lm_arena_init(&l->arena);
}

/* (Re)derive v/x/ck from the sorted items. */
static int build(struct lm_delta_log *l)
{
	size_t i = 0;

	free(l->v);
	free(l->x);
	free(l->ck);
	l->v = calloc(l->nitems ? l->nitems : 1, sizeof(*l->v));
	l->x = calloc(l->nitems ? l->nitems : 1, sizeof(*l->x));
	l->ck = calloc(l->nitems ? l->nitems : 1, sizeof(*l->ck));
	l->n = l->nck = 0;
	if (!l->v || !l->x || !l->ck)
		return ENOMEM;
	while (i < l->nitems) {
		struct lm_version_info *vi = &l->v[l->n];
		struct lm_delta_vextra *vx = &l->x[l->n];
		int64_t ver = l->items[i].version;

		memset(vi, 0, sizeof(*vi));
		memset(vx, 0, sizeof(*vx));
		vi->version = ver;
		vi->commit_ms = -1;
		vx->ck_first = (uint32_t)l->nck;
		while (i < l->nitems && l->items[i].version == ver) {
			const struct lm_delta_item *it = &l->items[i];
			struct lm_delta_ckpt_file *ck = &l->ck[l->nck];

			if (it->kind == LM_DELTA_LOG_COMMIT) {
				vi->has_commit = true;
				vi->commit_ms = it->mtime_ms;
				vx->commit_size = it->size;
				i++;
			} else if (it->kind == LM_DELTA_LOG_CHECKPOINT_PART) {
				/* A set is complete when parts 1..nparts are all present. */
				int np = it->nparts, expect = 1;
				size_t first = i;

				while (i < l->nitems && l->items[i].version == ver &&
				       l->items[i].kind == LM_DELTA_LOG_CHECKPOINT_PART &&
				       l->items[i].nparts == np) {
					if (l->items[i].part == expect)
						expect++;
					i++;
				}
				if (expect == np + 1 && i - first == (size_t)np) {
					memset(ck, 0, sizeof(*ck));
					ck->kind = LM_DELTA_LOG_CHECKPOINT_PART;
					ck->version = ver;
					ck->nparts = np;
					ck->item = (uint32_t)first;
					ck->parquet = true;
					ck->mtime_ms = l->items[first].mtime_ms;
					l->nck++;
				}
			} else {
				memset(ck, 0, sizeof(*ck));
				ck->kind = it->kind;
				ck->version = ver;
				ck->nparts = 1;
				ck->item = (uint32_t)i;
				ck->parquet = it->parquet;
				ck->mtime_ms = it->mtime_ms;
				l->nck++;
				i++;
			}
		}
		vx->ck_n = (uint32_t)l->nck - vx->ck_first;
		vi->has_checkpoint = vx->ck_n > 0;
		if (vi->commit_ms < 0 && vx->ck_n)
			vi->commit_ms = l->ck[vx->ck_first].mtime_ms;
		if (vi->has_commit || vi->has_checkpoint)
			l->n++;
	}
	return 0;
}

int lm_delta_log_list_range(struct lm_store *s, const char *table_key, const char *name,
			    int64_t from, int64_t to, struct lm_delta_log *out,
			    struct lm_err *err)
{
	struct collect c = { 0 };
	char *prefix = NULL, *start = NULL;
	int rc;

	lm_delta_log_free(out);
	c.arena = &out->arena;
	c.to = to;
	prefix = lm_path_join(table_key, "_delta_log/");
	if (!prefix)
		return lm_err_set(err, ENOMEM, "table %s: out of memory", name);
	c.prefix_len = strlen(prefix);
	if (from > 0) {
		size_t n = c.prefix_len + 21;

		start = malloc(n);
		if (!start) {
			rc = lm_err_set(err, ENOMEM, "table %s: out of memory", name);
			goto out;
		}
		/* A bare 20-digit prefix sorts before every name of that version. */
		snprintf(start, n, "%s%020lld", prefix, (long long)from);
	}
	rc = lm_store_list(s, prefix, start, LM_LIST_DELIM, on_entry, &c, err);
	if (c.rc) {
		rc = lm_err_set(err, c.rc, "table %s: listing _delta_log: %s", name,
				lm_strerror(c.rc));
		goto out;
	}
	if (rc && !(rc == 1 && c.stopped)) {
		lm_err_prefix(err, "table %s: ", name);
		goto out;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), item_cmp);
	out->items = c.v;
	out->nitems = c.n;
	c.v = NULL;
	out->from = from > 0 ? from : 0;
	out->from_start = from <= 0;
	out->to = to;
	out->staged_commits = c.staged;
	out->has_last_checkpoint = c.last_ckpt;
	rc = build(out);
	if (rc)
		rc = lm_err_set(err, rc, "table %s: out of memory", name);
out:
	free(c.v);
	free(prefix);
	free(start);
	if (rc)
		lm_delta_log_free(out);
	return rc;
}

int lm_delta_log_list(struct lm_store *s, const char *table_key, const char *name,
		      struct lm_delta_log *out, struct lm_err *err)
{
	return lm_delta_log_list_range(s, table_key, name, -1, INT64_MAX, out, err);
}

int lm_delta_log_merge_tail(struct lm_delta_log *l, struct lm_delta_log *tail)
{
	size_t keep = 0, n;
	struct lm_delta_item *items;
	int rc;

	while (keep < l->nitems && l->items[keep].version < tail->from)
		keep++;
	n = keep + tail->nitems;
	items = malloc((n ? n : 1) * sizeof(*items));
	if (!items)
		return ENOMEM;
	memcpy(items, l->items, keep * sizeof(*items));
	for (size_t i = 0; i < tail->nitems; i++) {
		const struct lm_delta_item *t = &tail->items[i];

		items[keep + i] = *t;
		/* A checkpoint found unusable before stays so (no warning every refresh). */
		for (size_t k = keep; k < l->nitems; k++) {
			const struct lm_delta_item *o = &l->items[k];

			if (o->bad && o->version == t->version && o->kind == t->kind &&
			    o->part == t->part && o->nparts == t->nparts &&
			    (!o->name || (t->name && !strcmp(o->name, t->name))))
				items[keep + i].bad = true;
		}
		if (items[keep + i].name) {
			items[keep + i].name = lm_arena_strdup(&l->arena, tail->items[i].name);
			if (!items[keep + i].name) {
				free(items);
				return ENOMEM;
			}
		}
	}
	free(l->items);
	l->items = items;
	l->nitems = n;
	l->staged_commits = tail->staged_commits || (l->staged_commits && tail->to != INT64_MAX);
	l->has_last_checkpoint = tail->has_last_checkpoint;
	rc = build(l);
	return rc;
}

ssize_t lm_delta_log_find(const struct lm_delta_log *l, int64_t version)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].version == version)
			return (ssize_t)mid;
		if (l->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

ssize_t lm_delta_log_floor(const struct lm_delta_log *l, int64_t version)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].version <= version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

void lm_delta_ckpt_part_name(const struct lm_delta_log *l, const struct lm_delta_ckpt_file *ck,
			     int part, char *out, size_t outsz)
{
	if (ck->kind == LM_DELTA_LOG_CHECKPOINT_V2)
		snprintf(out, outsz, "%s", l->items[ck->item].name);
	else if (ck->kind == LM_DELTA_LOG_CHECKPOINT)
		snprintf(out, outsz, "%020lld.checkpoint.parquet", (long long)ck->version);
	else
		snprintf(out, outsz, "%020lld.checkpoint.%010d.%010d.parquet", (long long)ck->version,
			 part, ck->nparts);
}

uint64_t lm_delta_ckpt_part_size(const struct lm_delta_log *l,
				 const struct lm_delta_ckpt_file *ck, int part)
{
	return l->items[ck->item + (uint32_t)(part - 1)].size;
}

int lm_delta_last_checkpoint_read(struct lm_store *s, const char *table_key, const char *name,
				  struct lm_delta_last_checkpoint *out, struct lm_err *err)
{
	char *key = lm_path_join(table_key, "_delta_log/_last_checkpoint");
	struct lm_buf buf;
	struct lm_err e2;
	int rc;

	if (!key)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_buf_init(&buf, MAX_LAST_CHECKPOINT);
	lm_err_init(&e2);
	rc = lm_store_get_all(s, key, MAX_LAST_CHECKPOINT, &buf, NULL, &e2);
	if (rc == ENOENT) {
		rc = lm_err_set(err, ENOENT, "table %s: no _delta_log/_last_checkpoint", name);
		goto out;
	}
	if (rc == LM_ETOOBIG) {
		rc = lm_err_set(err, LM_EFORMAT, "table %s: _delta_log/_last_checkpoint is larger than %zu bytes",
				name, MAX_LAST_CHECKPOINT);
		goto out;
	}
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "table %s: ", name);
		goto out;
	}
	rc = lm_delta_last_checkpoint_parse(buf.data ? buf.data : "", buf.len, out, &e2);
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "table %s: ", name);
	}
out:
	lm_buf_free(&buf);
	free(key);
	return rc;
}
