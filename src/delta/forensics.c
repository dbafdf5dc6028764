/* Delta forensics: what storage holds under a table root against what the log
 * references. Walks every version the log can rebuild (through lm_table_snapshot, so
 * checkpoints, path decoding and refusals are the driver's own) and one listing of the
 * table root, and classifies files as orphan (never referenced, old enough), recent
 * (never referenced, younger than the minimum age), removed (referenced by an earlier
 * version, not by the newest, still present) and missing (referenced, absent).
 * The commits are also read whole: change-data files named by cdc actions are never
 * findings, nor are files an add/remove names when no rebuilt version holds them (a
 * refused version's files are not called orphans).
 * Owns: struct lm_forensics. May call: store, table, snapshot, arena, the Delta
 * table internals (delta_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/util.h"

/* One path seen in storage or in a version. */
struct fx_rec {
	const char *path;
	uint64_t size;
	int64_t mtime_ms;
	int64_t first, last;      /* referencing versions, -1 none */
	bool present;
	bool cdc;                 /* named by a cdc action (change data files) */
	bool logged;              /* named by an add or remove of some commit */
	bool hidden;              /* format-owned or hidden: never an orphan (see fx_skipped) */
};

struct fx_state {
	struct fx_rec *r;         /* sorted by path */
	size_t n, cap;
	size_t prefix_len;        /* of the table root key + '/' */
	struct lm_arena *arena;
	int rc;
};

/* Whether a storage key (relative to the table root) belongs to the format or is
 * hidden: any component starting with '_' or '.' (_delta_log/, _change_data/,
 * .crc files, _SUCCESS), and deletion-vector files (…deletion_vector_<uuid>.bin, with
 * or without a random prefix; whether a DV file is referenced is not checked yet). */
static bool fx_skipped(const char *rel)
{
	const char *c = rel, *slash, *base = strrchr(rel, '/');

	size_t bl;

	base = base ? base + 1 : rel;
	bl = strlen(base);
	if (strstr(base, "deletion_vector_") && bl > 4 && !strcmp(base + bl - 4, ".bin"))
		return true;
	for (;;) {
		if (*c == '_' || *c == '.')
			return true;
		slash = strchr(c, '/');
		if (!slash)
			return false;
		c = slash + 1;
	}
}

static int fx_push(struct fx_state *s, const struct fx_rec *rec)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct fx_rec *nr = realloc(s->r, nc * sizeof(*nr));

		if (!nr)
			return ENOMEM;
		s->r = nr;
		s->cap = nc;
	}
	s->r[s->n++] = *rec;
	return 0;
}

static int fx_list_cb(void *ud, const struct lm_list_entry *e)
{
	struct fx_state *s = ud;
	struct fx_rec rec = { 0 };
	const char *rel;

	if (e->is_prefix || strlen(e->key) <= s->prefix_len)
		return 0;
	rel = e->key + s->prefix_len;
	if (!strncmp(rel, "_delta_log/", 11))
		return 0;          /* the log itself: never data */
	rec.path = lm_arena_strdup(s->arena, rel);
	if (!rec.path) {
		s->rc = ENOMEM;
		return 1;
	}
	rec.size = e->info.size;
	rec.mtime_ms = e->info.mtime_ms;
	rec.first = rec.last = -1;
	rec.present = true;
	rec.hidden = fx_skipped(rel);   /* kept: a version may still reference it */
	if (fx_push(s, &rec)) {
		s->rc = ENOMEM;
		return 1;
	}
	return 0;
}

static int fx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fx_rec *)a)->path, ((const struct fx_rec *)b)->path);
}

/* Merge one version's live files into s (both sorted); *complete: every file present. */
static int fx_merge(struct fx_state *s, const struct lm_snapshot *snap, int64_t v,
		    bool *complete)
{
	struct fx_rec *m = NULL;
	size_t i = 0, j = 0, k = 0, cap = s->n + snap->nfiles;
	int rc = 0;

	*complete = true;
	m = malloc((cap ? cap : 1) * sizeof(*m));
	if (!m) {
		rc = ENOMEM;
		goto out;
	}
	while (i < s->n || j < snap->nfiles) {
		int c = i >= s->n ? 1 : j >= snap->nfiles ? -1 :
			strcmp(s->r[i].path, snap->files[j].path);

		if (c < 0) {
			m[k++] = s->r[i++];
			continue;
		}
		if (c == 0) {
			m[k] = s->r[i++];
			j++;
		} else {
			const struct lm_file *f = &snap->files[j++];

			memset(&m[k], 0, sizeof(m[k]));
			m[k].path = lm_arena_strdup(s->arena, f->path);
			if (!m[k].path) {
				rc = ENOMEM;
				goto out;
			}
			m[k].size = f->size;
			m[k].mtime_ms = -1;
			m[k].first = -1;
		}
		if (m[k].first < 0)
			m[k].first = v;
		m[k].last = v;
		if (!m[k].present)
			*complete = false;
		k++;
	}
	free(s->r);
	s->r = m;
	s->n = k;
	s->cap = cap;
	m = NULL;
out:
	free(m);
	return rc;
}

/* Mark the storage records named by the add, remove and cdc actions of one commit
 * (relative paths only; a path given as an absolute URI is not matched). */
static void fx_log_mark(struct fx_state *s, const char *text, size_t len)
{
	static const char *const kinds[] = { "add", "remove", "cdc" };
	const char *line = text, *end = text ? text + len : text;

	while (line && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
		cJSON *j = NULL, *path = NULL;
		char *dec = NULL;
		size_t k = 0;

		if (ll > 7 && (memmem(line, ll, "\"add\"", 5) || memmem(line, ll, "\"remove\"", 8) ||
			       memmem(line, ll, "\"cdc\"", 5)))
			j = cJSON_ParseWithLength(line, ll);
		for (k = 0; j && k < 3 && !path; k++)
			path = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(j, kinds[k]), "path");
		if (cJSON_IsString(path) && path->valuestring[0] != '/' &&
		    !strchr(path->valuestring, ':') &&
		    !lm_pct_decode(path->valuestring, strlen(path->valuestring), &dec)) {
			struct fx_rec key = { .path = dec };
			struct fx_rec *r = s->n ? bsearch(&key, s->r, s->n, sizeof(*s->r),
							  fx_cmp) : NULL;

			if (r && k == 3)
				r->cdc = true;
			else if (r)
				r->logged = true;
		}
		free(dec);
		cJSON_Delete(j);
		line += ll + 1;
	}
}

/* Read every commit and mark the files its actions name. */
static int fx_log_scan(struct lm_table *t, const struct lm_version_info *v, size_t nv,
		  struct fx_state *s, struct lm_err *err)
{
	struct lm_buf buf;
	int rc = 0;

	lm_buf_init(&buf, (size_t)1 << 30);
	for (size_t i = 0; i < nv && !rc; i++) {
		char name[48], *key;

		if (!v[i].has_commit)
			continue;
		snprintf(name, sizeof(name), "%020lld.json", (long long)v[i].version);
		key = lm_delta_log_key((struct lm_delta_table *)t, name);
		if (!key) {
			rc = ENOMEM;
			break;
		}
		lm_buf_reset(&buf);
		rc = lm_store_get_all(t->store, key, (size_t)1 << 30, &buf, NULL, err);
		free(key);
		if (rc == ENOENT || rc == LM_ETOOBIG) {
			rc = 0;            /* vanished or absurd: the version's own problem */
			continue;
		}
		if (!rc && buf.len)
			fx_log_mark(s, buf.data, buf.len);
	}
	lm_buf_free(&buf);
	return rc;
}

static int fx_storage(struct lm_table *t, struct fx_state *s, struct lm_err *err)
{
	const char *key = lm_table_key(t);
	char *prefix = NULL;
	size_t kl = strlen(key);
	int rc;

	prefix = malloc(kl + 2);
	if (!prefix)
		return ENOMEM;
	memcpy(prefix, key, kl);
	if (kl && key[kl - 1] != '/')
		prefix[kl++] = '/';
	prefix[kl] = '\0';
	s->prefix_len = kl;
	rc = lm_store_list(t->store, prefix, NULL, 0, fx_list_cb, s, err);
	if (s->rc)
		rc = s->rc;
	free(prefix);
	if (!rc && s->n)
		qsort(s->r, s->n, sizeof(*s->r), fx_cmp);
	return rc;
}

/* Remember refused version v (rc, e: the driver's refusal). */
static int fx_issue(struct lm_forensics *fx, int64_t v, const struct lm_err *e, int rc)
{
	static const struct { int code; const char *word; } words[] = {
		{ LM_EGAP, "log-gap" }, { LM_ENEEDCKPT, "needs-checkpoint" },
		{ LM_ENOPROTOCOL, "missing-protocol" }, { LM_ENOMETADATA, "missing-metadata" },
		{ LM_EESCAPE, "path-escape" }, { LM_EFORMAT, "invalid-json" },
	};
	struct lm_forensic_issue *n = realloc(fx->issues, (fx->nissues + 1) * sizeof(*n));
	const char *word = e->reason;

	if (!n)
		return ENOMEM;
	fx->issues = n;
	for (size_t k = 0; !word && k < sizeof(words) / sizeof(words[0]); k++)
		if (words[k].code == rc)
			word = words[k].word;
	n = &fx->issues[fx->nissues];
	memset(n, 0, sizeof(*n));
	n->kind = "refused";
	n->version = v;
	n->snapshot = -1;
	n->reason = word ? word : "error";
	n->msg = lm_arena_strdup(&fx->arena, e->msg);
	if (!n->msg)
		return ENOMEM;
	fx->nissues++;
	return 0;
}

int lm_delta_forensics_run(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			   struct lm_forensics **out, struct lm_err *err)
{
	struct lm_forensics *fx = NULL;
	struct lm_version_info *v = NULL;
	struct fx_state s = { 0 };
	size_t nv = 0;
	int rc;

	*out = NULL;
	if (t->fmt != LM_TABLE_DELTA)
		return lm_err_set(err, EINVAL, "table %s: forensics need a Delta table",
				  lm_table_name(t));
	fx = calloc(1, sizeof(*fx));
	if (!fx) {
		rc = ENOMEM;
		goto out;
	}
	lm_arena_init(&fx->arena);
	fx->latest = fx->restore = -1;
	fx->format = "delta";
	fx->latest_snapshot = fx->restore_snapshot = -1;
	s.arena = &fx->arena;
	rc = lm_delta_table_versions(t, &v, &nv, err);
	if (rc)
		goto out;
	fx->nversions = nv;
	rc = fx_storage(t, &s, err);
	if (!rc)
		rc = fx_log_scan(t, v, nv, &s, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		struct lm_snapshot *snap = NULL;
		struct lm_err e2;
		char key[32];
		bool complete;

		snprintf(key, sizeof(key), "%lld", (long long)v[i].version);
		lm_err_init(&e2);
		rc = lm_table_snapshot(t, key, &snap, &e2);
		if (rc == ENOMEM || rc == EIO || rc == EACCES) {
			*err = e2;
			goto out;
		}
		if (rc) {
			rc = fx_issue(fx, v[i].version, &e2, rc);
			if (rc)
				goto out;
			continue;      /* refused: the version's own problem (an issue) */
		}
		rc = fx_merge(&s, snap, v[i].version, &complete);
		lm_snapshot_unref(snap);
		if (rc)
			goto out;
		fx->latest = v[i].version;
		if (complete)
			fx->restore = v[i].version;
	}
	fx->f = calloc(s.n ? s.n : 1, sizeof(*fx->f));
	if (!fx->f) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct fx_rec *r = &s.r[i];
		struct lm_forensic_file *f = &fx->f[fx->n];

		memset(f, 0, sizeof(*f));
		f->path = r->path;
		f->size = r->size;
		f->mtime_ms = r->mtime_ms;
		f->first_version = r->first;
		f->last_version = r->last;
		f->removed_version = f->removed_ms = -1;
		f->first_snapshot = f->last_snapshot = f->removed_snapshot = -1;
		if (!r->present) {
			f->kind = LM_FX_MISSING;
			f->in_latest = r->last == fx->latest;
			fx->n_missing++;
		} else if (r->last < 0 && (r->cdc || r->hidden)) {
			continue;      /* change-data, hidden or format-owned: not an orphan */
		} else if (r->last < 0 && r->logged) {
			continue;      /* named by a commit no rebuilt version reached (a refused
					* version): not provably an orphan */
		} else if (r->last < 0) {
			f->kind = now_ms - r->mtime_ms < min_age_ms ? LM_FX_RECENT : LM_FX_ORPHAN;
			if (f->kind == LM_FX_RECENT)
				fx->n_recent++;
			else
				fx->n_orphan++;
		} else if (r->last != fx->latest) {
			f->kind = LM_FX_REMOVED;
			fx->n_removed++;
			for (size_t k = 0; k < nv; k++) {
				if (v[k].version > r->last) {
					f->removed_version = v[k].version;
					f->removed_ms = v[k].commit_ms;
					break;
				}
			}
		} else {
			continue;      /* live in the newest version and present: nothing to say */
		}
		fx->n++;
	}
	*out = fx;
	fx = NULL;
out:
	free(s.r);
	free(v);
	lm_delta_forensics_free(fx);
	return rc;
}

void lm_delta_forensics_free(struct lm_forensics *fx)
{
	if (!fx)
		return;
	free(fx->f);
	free(fx->issues);
	lm_arena_free(&fx->arena);
	free(fx);
}

const char *lm_forensic_kind_name(enum lm_forensic_kind k)
{
	switch (k) {
	case LM_FX_ORPHAN: return "orphan";
	case LM_FX_RECENT: return "recent";
	case LM_FX_REMOVED: return "removed";
	case LM_FX_MISSING: return "missing";
	}
	return "?";
}

/* One report: "orphans" (orphans and recent files), "removed" or "missing". */
int lm_delta_forensics_json(struct lm_table *t, const char *which, struct lm_buf *out,
			    struct lm_err *err)
{
	struct lm_forensics *fx = NULL;
	cJSON *root = NULL, *arr;
	char *text = NULL;
	int rc;

	rc = lm_delta_forensics_run(t, lm_now_ms(), LM_DELTA_ORPHAN_MIN_AGE_MS, &fx, err);
	if (rc)
		goto out;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "table", lm_table_name(t)) ||
	    !cJSON_AddNumberToObject(root, "latest", (double)fx->latest) ||
	    !cJSON_AddNumberToObject(root, "restore_target", (double)fx->restore) ||
	    (!strcmp(which, "orphans") &&
	     !cJSON_AddNumberToObject(root, "min_age_ms", (double)LM_DELTA_ORPHAN_MIN_AGE_MS)) ||
	    !(arr = cJSON_AddArrayToObject(root, which))) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < fx->n; i++) {
		const struct lm_forensic_file *f = &fx->f[i];
		bool want = !strcmp(which, "orphans") ? (f->kind == LM_FX_ORPHAN ||
							 f->kind == LM_FX_RECENT) :
			    !strcmp(which, "removed") ? f->kind == LM_FX_REMOVED :
			    f->kind == LM_FX_MISSING;
		cJSON *o;

		if (!want)
			continue;
		o = cJSON_CreateObject();
		if (!o) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "path", f->path);
		cJSON_AddNumberToObject(o, "size", (double)f->size);
		if (f->kind == LM_FX_MISSING) {
			cJSON_AddNumberToObject(o, "first_version", (double)f->first_version);
			cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
			continue;
		}
		cJSON_AddNumberToObject(o, "last_modified_ms", (double)f->mtime_ms);
		if (f->kind == LM_FX_REMOVED) {
			cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
			cJSON_AddNumberToObject(o, "removed_version", (double)f->removed_version);
			cJSON_AddNumberToObject(o, "removed_ms", (double)f->removed_ms);
		} else {
			cJSON_AddStringToObject(o, "status", lm_forensic_kind_name(f->kind));
			cJSON_AddStringToObject(o, "reason", "never referenced");
		}
	}
	text = cJSON_Print(root);
	if (!text) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_buf_append(out, text, strlen(text));
	if (!rc)
		rc = lm_buf_append(out, "\n", 1);
	if (rc)
		rc = lm_err_set(err, rc, "table %s: @info/%s.json: %s", lm_table_name(t), which,
				lm_strerror(rc));
out:
	free(text);
	cJSON_Delete(root);
	lm_delta_forensics_free(fx);
	return rc;
}
