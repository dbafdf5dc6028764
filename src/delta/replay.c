/* replay.c — Delta action reconciliation (PROTOCOL.md "Action Reconciliation"):
 * the live set keyed by (path, deletion vector unique id), with removes of a commit
 * applied before its adds, plus the protocol/metaData state that decides whether a
 * version may be shown. Cost is linear in the number of actions: one open-addressing
 * hash table of slot indices, slots recycled through a free list.
 * Owns struct lm_delta_replay. May call: snapshot, util. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/util.h"

void lm_delta_replay_init(struct lm_delta_replay *r)
{
	memset(r, 0, sizeof(*r));
	r->version = -1;
	r->broken_at = -1;
	lm_arena_init(&r->strings);
}

void lm_delta_replay_free(struct lm_delta_replay *r)
{
	free(r->e);
	free(r->free_list);
	free(r->tab);
	free(r->unsupported);
	free(r->table_id);
	lm_arena_free(&r->strings);
	lm_delta_replay_init(r);
}

static uint64_t key_hash(const char *path, const char *dv)
{
	uint64_t h = lm_hash64(path, strlen(path));

	if (dv)
		h ^= lm_hash64(dv, strlen(dv)) * 31;
	return h;
}

static bool key_eq(const struct lm_delta_entry *e, const char *path, const char *dv,
		   uint64_t h)
{
	if (e->hash != h || strcmp(e->path, path) != 0)
		return false;
	if (!e->dv_id || !dv)
		return e->dv_id == dv;
	return strcmp(e->dv_id, dv) == 0;
}

static int grow_table(struct lm_delta_replay *r)
{
	size_t ncap = r->tab_cap ? r->tab_cap * 2 : 1024;
	uint32_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return ENOMEM;
	for (size_t i = 0; i < r->tab_cap; i++) {
		uint32_t idx = r->tab[i];
		size_t j;

		if (!idx)
			continue;
		j = r->e[idx - 1].hash & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = idx;
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
		uint32_t idx = r->tab[j];

		if (!idx) {
			*found = false;
			return j;
		}
		if (key_eq(&r->e[idx - 1], path, dv, h)) {
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
		k = r->e[r->tab[j] - 1].hash & mask;
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
	idx = r->tab[j] - 1;
	if (r->e[idx].poisoned)
		r->poisoned_live--;
	r->e[idx].path = NULL;
	tab_delete(r, j);
	r->live--;
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

static int do_add(struct lm_delta_replay *r, const char *path, const char *dv,
		  const struct lm_delta_file_action *a, bool poisoned)
{
	uint64_t h = key_hash(path, dv);
	struct lm_delta_entry *e;
	bool found;
	size_t j;
	uint32_t idx;

	if ((r->live + 1) * 4 >= r->tab_cap * 3 && grow_table(r))
		return ENOMEM;
	j = find_pos(r, path, dv, h, &found);
	if (found) {
		/* Re-add of a live key: the newer add wins (same file, new metadata). */
		e = &r->e[r->tab[j] - 1];
		if (e->poisoned)
			r->poisoned_live--;
	} else {
		if (r->n_free) {
			idx = r->free_list[--r->n_free];
		} else {
			if (r->n_e == r->cap_e) {
				size_t nc = r->cap_e ? r->cap_e * 2 : 1024;
				struct lm_delta_entry *p;

				if (nc > UINT32_MAX - 1)
					return ENOMEM;
				p = realloc(r->e, nc * sizeof(*p));
				if (!p)
					return ENOMEM;
				r->e = p;
				r->cap_e = nc;
			}
			idx = (uint32_t)r->n_e++;
		}
		r->tab[j] = idx + 1;
		r->live++;
		e = &r->e[idx];
		e->path = lm_arena_strdup(&r->strings, path);
		e->dv_id = dv ? lm_arena_strdup(&r->strings, dv) : NULL;
		if (!e->path || (dv && !e->dv_id))
			return ENOMEM;
		e->hash = h;
	}
	e->size = (uint64_t)a->size;
	e->mtime_ms = a->mtime_ms;
	e->flags = (a->flags & LM_DELTA_HAS_DV) ? LM_FILE_HAS_DV : 0;
	e->deleted_rows = (a->flags & LM_DELTA_HAS_DV) ? a->dv_cardinality : 0;
	e->poisoned = poisoned;
	if (poisoned) {
		if (!r->poisoned_live)
			snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", path);
		r->poisoned_live++;
	}
	return 0;
}

/* Resolve a raw path; on refusal, the raw path becomes the (poisoned) key. */
static int resolve(const char *raw, lm_delta_resolve_fn fn, void *ud, char **key,
		   bool *poisoned, char *why, size_t whysz, struct lm_err *err)
{
	struct lm_err e2;
	int rc;

	lm_err_init(&e2);
	rc = fn(ud, raw, key, &e2);
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

int lm_delta_replay_apply(struct lm_delta_replay *r, int64_t v,
			  const struct lm_delta_commit *c, lm_delta_resolve_fn fn, void *ud,
			  struct lm_err *err)
{
	char why[LM_ERR_MSG] = "";
	int rc = 0;

	if (c->has_protocol) {
		rc = check_protocol(r, &c->protocol);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (c->has_metadata) {
		r->has_metadata = true;
		free(r->table_id);
		r->table_id = c->metadata.id ? strdup(c->metadata.id) : NULL;
	}
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
		rc = do_remove(r, key, c->removes[i].dv_id);
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
		rc = do_add(r, key, c->adds[i].dv_id, &c->adds[i], poisoned);
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->version = v;
	return 0;
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

int lm_delta_replay_snapshot(const struct lm_delta_replay *r, int64_t commit_ms,
			     struct lm_snapshot **out, struct lm_err *err)
{
	struct lm_file *files = malloc((r->live ? r->live : 1) * sizeof(*files));
	size_t n = 0;
	int rc;

	if (!files)
		return lm_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < r->n_e; i++) {
		const struct lm_delta_entry *e = &r->e[i];

		if (!e->path)
			continue;
		files[n++] = (struct lm_file){ .path = e->path, .size = e->size,
					       .mtime_ms = e->mtime_ms, .flags = e->flags,
					       .deleted_rows = e->deleted_rows };
	}
	rc = lm_snapshot_new(r->version, commit_ms, files, n, out, err);
	if (rc == LM_EFORMAT)
		lm_err_reason(err, "duplicate-path");
	free(files);
	return rc;
}
