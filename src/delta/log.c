/* log.c — lists a Delta table's _delta_log/ and turns the names into the version
 * list (commit files, complete checkpoints). Owns struct lm_delta_log.
 * May call: store, format/delta_actions (name parsing), util. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/util.h"

#define MAX_LOG_ENTRIES (20u * 1000 * 1000)

struct item {
	int64_t version;
	int64_t mtime_ms;
	enum lm_delta_log_kind kind;
	int part, nparts;
};

struct collect {
	struct item *v;
	size_t n, cap;
	size_t prefix_len;
	bool staged;
	bool last_ckpt;
	int rc;
};

static int on_entry(void *ud, const struct lm_list_entry *e)
{
	struct collect *c = ud;
	const char *name = e->key + c->prefix_len;
	struct lm_delta_log_name ln;

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
	if (c->n >= MAX_LOG_ENTRIES) {
		c->rc = LM_ETOOBIG;
		return 1;
	}
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct item *p = realloc(c->v, nc * sizeof(*p));

		if (!p) {
			c->rc = ENOMEM;
			return 1;
		}
		c->v = p;
		c->cap = nc;
	}
	c->v[c->n++] = (struct item){ .version = ln.version, .mtime_ms = e->info.mtime_ms,
				      .kind = ln.kind, .part = ln.part, .nparts = ln.nparts };
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (x->nparts != y->nparts)
		return x->nparts < y->nparts ? -1 : 1;
	return x->part - y->part;
}

int lm_delta_log_list(struct lm_store *s, const char *table_key, const char *name,
		      struct lm_delta_log *out, struct lm_err *err)
{
	struct collect c = { 0 };
	char *prefix = NULL;
	size_t i = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	prefix = lm_path_join(table_key, "_delta_log/");
	if (!prefix)
		return lm_err_set(err, ENOMEM, "table %s: out of memory", name);
	c.prefix_len = strlen(prefix);
	rc = lm_store_list(s, prefix, NULL, LM_LIST_DELIM, on_entry, &c, err);
	if (c.rc) {
		rc = lm_err_set(err, c.rc, "table %s: listing _delta_log: %s", name,
				lm_strerror(c.rc));
		goto out;
	}
	if (rc) {
		lm_err_prefix(err, "table %s: ", name);
		goto out;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), item_cmp);
	out->v = calloc(c.n ? c.n : 1, sizeof(*out->v));
	if (!out->v) {
		rc = lm_err_set(err, ENOMEM, "table %s: out of memory", name);
		goto out;
	}
	while (i < c.n) {
		struct lm_version_info *vi = &out->v[out->n];
		int64_t ver = c.v[i].version;

		memset(vi, 0, sizeof(*vi));
		vi->version = ver;
		vi->commit_ms = -1;
		while (i < c.n && c.v[i].version == ver) {
			struct item *it = &c.v[i];

			if (it->kind == LM_DELTA_LOG_COMMIT) {
				vi->has_commit = true;
				vi->commit_ms = it->mtime_ms;
				i++;
			} else if (it->kind == LM_DELTA_LOG_CHECKPOINT_PART) {
				/* A set is complete when parts 1..nparts are all present. */
				int np = it->nparts, expect = 1;

				while (i < c.n && c.v[i].version == ver &&
				       c.v[i].kind == LM_DELTA_LOG_CHECKPOINT_PART &&
				       c.v[i].nparts == np) {
					if (c.v[i].part == expect)
						expect++;
					i++;
				}
				if (expect == np + 1)
					vi->has_checkpoint = true;
			} else {
				vi->has_checkpoint = true;
				if (vi->commit_ms < 0)
					vi->commit_ms = it->mtime_ms;
				i++;
			}
		}
		out->n++;
	}
	out->staged_commits = c.staged;
	out->has_last_checkpoint = c.last_ckpt;
	rc = 0;
out:
	free(c.v);
	free(prefix);
	if (rc)
		lm_delta_log_free(out);
	return rc;
}

void lm_delta_log_free(struct lm_delta_log *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
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
