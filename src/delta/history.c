/* history.c — commit records (commitInfo, add/remove counts, in-commit timestamps),
 * commit times, timestamp lookups (@2026-01-05T10:00:00Z → @vN) and history.json.
 * Owns struct lm_delta_hist and the process-wide time-source switch.
 * May call: store, format (delta_actions, delta_time), delta/table, util, cJSON.
 *
 * The commit time of a version (PROTOCOL.md "In-Commit Timestamps"):
 *  - with in-commit timestamps enabled (delta.enableInCommitTimestamps = true in the
 *    newest version's configuration): versions >= delta.inCommitTimestampEnablementVersion
 *    (all of them when it is absent) use commitInfo.inCommitTimestamp; a lookup of a
 *    time >= delta.inCommitTimestampEnablementTimestamp considers only those versions,
 *    an earlier time only the versions before;
 *  - otherwise the storage modification time of the commit file (of the checkpoint for
 *    a version that has no commit file any more), made strictly increasing over the
 *    listed versions as Delta does: a time not after its predecessor's becomes the
 *    predecessor's + 1 ms;
 *  - with lm_delta_set_time_source(1) (-o delta_time=commitinfo): commitInfo.timestamp
 *    (the file time where a commit has none), made increasing the same way. This reads
 *    the first line of every commit once (cached).
 * A lookup resolves to the newest shown version whose commit time is <= the time asked;
 * before the first one it is ENOENT with a log line. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/log.h"
#include "lm/util.h"

#define FIRST_LINE_READ ((size_t)64 << 10)
#define MAX_COMMIT_BYTES ((size_t)1 << 30)
#define HISTORY_MAX 1000

static atomic_int time_source;

void lm_delta_set_time_source(int commitinfo)
{
	atomic_store(&time_source, commitinfo ? 1 : 0);
}

int lm_delta_time_source(void)
{
	return atomic_load(&time_source);
}

/* ------------------------------------------------------------ records */

void lm_delta_hist_init(struct lm_delta_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void lm_delta_hist_free(struct lm_delta_hist *h)
{
	for (size_t i = 0; i < h->cap; i++)
		if (h->v[i].version >= 0)
			free(h->v[i].info);
	free(h->v);
	lm_delta_hist_init(h);
}

static size_t slot(const struct lm_delta_hist *h, int64_t v)
{
	size_t j = lm_hash64(&v, sizeof(v)) & (h->cap - 1);

	while (h->v[j].version >= 0 && h->v[j].version != v)
		j = (j + 1) & (h->cap - 1);
	return j;
}

static int grow(struct lm_delta_hist *h)
{
	size_t nc = h->cap ? h->cap * 2 : 256;
	struct lm_delta_crec *nv = malloc(nc * sizeof(*nv)), *ov = h->v;
	size_t oc = h->cap;

	if (!nv)
		return ENOMEM;
	for (size_t i = 0; i < nc; i++)
		nv[i].version = -1;
	h->v = nv;
	h->cap = nc;
	for (size_t i = 0; i < oc; i++)
		if (ov[i].version >= 0)
			h->v[slot(h, ov[i].version)] = ov[i];
	free(ov);
	return 0;
}

const struct lm_delta_crec *lm_delta_hist_get(const struct lm_delta_hist *h, int64_t v)
{
	size_t j;

	if (!h->cap)
		return NULL;
	j = slot(h, v);
	return h->v[j].version == v ? &h->v[j] : NULL;
}

/* counted: c holds the whole commit (else only its first line). */
static void note(struct lm_delta_hist *h, int64_t v, const struct lm_delta_commit *c,
		 bool counted)
{
	struct lm_delta_crec *r;
	size_t j;

	if ((h->n + 1) * 2 > h->cap && grow(h))
		return;
	j = slot(h, v);
	r = &h->v[j];
	if (r->version == v) {
		if (r->n_adds >= 0 || !counted)
			return;
		free(r->info);
	} else {
		h->n++;
	}
	r->version = v;
	r->ict = c->has_commit_info ? c->commit_info.in_commit_timestamp : -1;
	r->ci_ts = c->has_commit_info ? c->commit_info.timestamp : -1;
	r->n_adds = counted ? (int64_t)c->n_adds : -1;
	r->n_removes = counted ? (int64_t)c->n_removes : -1;
	r->info = c->has_commit_info && c->commit_info.json ? strdup(c->commit_info.json) : NULL;
}

void lm_delta_hist_note(struct lm_delta_hist *h, int64_t v, const struct lm_delta_commit *c)
{
	note(h, v, c, true);
}

int lm_delta_hist_fetch(struct lm_delta_table *t, int64_t v, bool counts,
			const struct lm_delta_crec **out, struct lm_err *err)
{
	const struct lm_delta_crec *r = lm_delta_hist_get(&t->hist, v);
	struct lm_delta_commit c;
	struct lm_buf buf;
	struct lm_err e2;
	char name[40], *key;
	size_t len;
	int rc;

	if (r && (r->n_adds >= 0 || !counts)) {
		*out = r;
		return 0;
	}
	snprintf(name, sizeof(name), "%020lld.json", (long long)v);
	key = lm_delta_log_key(t, name);
	if (!key)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_delta_commit_init(&c);
	lm_buf_init(&buf, MAX_COMMIT_BYTES);
	lm_err_init(&e2);
	if (counts) {
		rc = lm_store_get_all(t->base.store, key, MAX_COMMIT_BYTES, &buf, NULL, &e2);
	} else {
		struct lm_get_req req = { .key = key, .off = 0, .len = FIRST_LINE_READ };
		size_t got = 0;

		rc = lm_buf_reserve(&buf, FIRST_LINE_READ);
		if (!rc)
			rc = lm_store_get_range(t->base.store, &req, buf.data, &got, NULL, &e2);
		if (!rc) {
			buf.len = got;
			buf.data[got] = '\0';
			if (!memchr(buf.data, '\n', got) && got == FIRST_LINE_READ) {
				/* A first line longer than the first read: take the whole file. */
				buf.len = 0;
				rc = lm_store_get_all(t->base.store, key, MAX_COMMIT_BYTES, &buf, NULL, &e2);
				counts = true;
			}
		}
	}
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "table %s: commit %s: ", t->base.name, name);
		goto out;
	}
	len = buf.len;
	if (!counts) {
		const char *nl = memchr(buf.data, '\n', buf.len);

		len = nl ? (size_t)(nl - buf.data) : buf.len;
	}
	rc = lm_delta_commit_parse(buf.data ? buf.data : "", len, &c, &e2);
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "table %s: commit %s: ", t->base.name, name);
		lm_err_reason(err, rc == LM_EFORMAT ? "invalid-json" : NULL);
		goto out;
	}
	note(&t->hist, v, &c, counts);
	r = lm_delta_hist_get(&t->hist, v);
	if (!r) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	*out = r;
out:
	lm_delta_commit_free(&c);
	lm_buf_free(&buf);
	free(key);
	return rc;
}

/* ------------------------------------------------------------ commit times */

struct ict_cfg {
	bool enabled;
	int64_t from;        /* enablement version (0 when enabled from the start) */
	int64_t from_ts;     /* enablement timestamp, -1 unknown */
};

static int64_t conf_i64(const cJSON *conf, const char *k, int64_t dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(conf, k);
	int64_t v;

	if (cJSON_IsString(it) && !lm_parse_i64(it->valuestring, &v))
		return v;
	if (cJSON_IsNumber(it))
		return (int64_t)it->valuedouble;
	return dflt;
}

/* In-commit timestamp settings of the newest shown version (its metaData). */
static int ict_config(struct lm_delta_table *t, ssize_t newest, struct ict_cfg *cfg,
		      struct lm_err *err)
{
	struct lm_err e2;
	cJSON *md = NULL;
	const cJSON *conf, *en;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->from_ts = -1;
	if (newest < 0)
		return 0;
	lm_err_init(&e2);
	rc = lm_delta_build_locked(t, t->log.v[newest].version, false, NULL, &e2);
	if (rc) {
		if (!e2.reason) {
			*err = e2;
			return rc;   /* storage trouble */
		}
		return 0;        /* a refused newest version: file times */
	}
	md = t->replay.metadata_json ? cJSON_Parse(t->replay.metadata_json) : NULL;
	conf = md ? cJSON_GetObjectItemCaseSensitive(md, "configuration") : NULL;
	en = conf ? cJSON_GetObjectItemCaseSensitive(conf, "delta.enableInCommitTimestamps") : NULL;
	if (cJSON_IsString(en) && !strcasecmp(en->valuestring, "true")) {
		cfg->enabled = true;
		cfg->from = conf_i64(conf, "delta.inCommitTimestampEnablementVersion", 0);
		cfg->from_ts = conf_i64(conf, "delta.inCommitTimestampEnablementTimestamp", -1);
	}
	cJSON_Delete(md);
	return 0;
}

static ssize_t newest_shown(const struct lm_delta_log *l)
{
	for (ssize_t i = (ssize_t)l->n - 1; i >= 0; i--)
		if (lm_delta_shown(l, (size_t)i))
			return i;
	return -1;
}

/* File times made strictly increasing over the shown versions (-1 for the others). */
static int64_t *mono_mtimes(const struct lm_delta_log *l)
{
	int64_t *m = malloc((l->n ? l->n : 1) * sizeof(*m)), prev = INT64_MIN;

	if (!m)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		int64_t x = l->v[i].commit_ms;

		if (!lm_delta_shown(l, i)) {
			m[i] = -1;
			continue;
		}
		if (prev != INT64_MIN && x <= prev)
			x = prev + 1;
		m[i] = prev = x;
	}
	return m;
}

/* commitInfo.timestamp of every shown version, made increasing (file time fallback). */
static int commitinfo_times(struct lm_delta_table *t, int64_t *m, struct lm_err *err)
{
	int64_t prev = INT64_MIN;

	for (size_t i = 0; i < t->log.n; i++) {
		int64_t x = m[i];

		if (m[i] < 0 && !lm_delta_shown(&t->log, i))
			continue;
		if (t->log.v[i].has_commit) {
			const struct lm_delta_crec *r;
			int rc = lm_delta_hist_fetch(t, t->log.v[i].version, false, &r, err);

			if (rc && !err->reason)
				return rc;
			if (!rc && r->ci_ts >= 0)
				x = r->ci_ts;
		}
		if (prev != INT64_MIN && x <= prev)
			x = prev + 1;
		m[i] = prev = x;
	}
	return 0;
}

/* In-commit timestamp of version index i (file time when the commit has none). */
static int ict_of(struct lm_delta_table *t, size_t i, const int64_t *mono, int64_t *out,
		  struct lm_err *err)
{
	const struct lm_delta_crec *r;
	int rc;

	*out = mono[i];
	if (!t->log.v[i].has_commit)
		return 0;
	rc = lm_delta_hist_fetch(t, t->log.v[i].version, false, &r, err);
	if (rc)
		return err->reason ? 0 : rc;
	if (r->ict >= 0)
		*out = r->ict;
	return 0;
}

int lm_delta_commit_times(struct lm_delta_table *t, size_t lo, size_t hi, int64_t **ms,
			  const char **how, struct lm_err *err)
{
	int64_t *m = mono_mtimes(&t->log);
	struct ict_cfg cfg;
	int rc = 0;

	*ms = NULL;
	*how = "file modification time";
	if (!m)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (lm_delta_time_source()) {
		*how = "commitInfo.timestamp";
		rc = commitinfo_times(t, m, err);
		goto out;
	}
	rc = ict_config(t, newest_shown(&t->log), &cfg, err);
	if (rc || !cfg.enabled)
		goto out;
	*how = "in-commit timestamp";
	for (size_t i = lo; i <= hi && i < t->log.n; i++) {
		if (m[i] < 0 || t->log.v[i].version < cfg.from)
			continue;
		rc = ict_of(t, i, m, &m[i], err);
		if (rc)
			goto out;
	}
out:
	if (rc) {
		free(m);
		return rc;
	}
	*ms = m;
	return 0;
}

/* Index of the newest shown version in [lo, hi] whose time (by get) is <= x; -1 if
 * none. Times are non-decreasing over shown versions: binary search. */
static int search(struct lm_delta_table *t, ssize_t lo, ssize_t hi, int64_t x, bool ict,
		  const int64_t *mono, ssize_t *found, struct lm_err *err)
{
	*found = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2, j = mid;
		int64_t tm;
		int rc;

		while (j >= lo && mono[j] < 0)
			j--;   /* not shown: look at the shown one before */
		if (j < lo) {
			lo = mid + 1;
			continue;
		}
		tm = mono[j];
		if (ict) {
			rc = ict_of(t, (size_t)j, mono, &tm, err);
			if (rc)
				return rc;
		}
		if (tm <= x) {
			*found = j;
			lo = mid + 1;
		} else {
			hi = j - 1;
		}
	}
	return 0;
}

int lm_delta_resolve(struct lm_table *base, const char *name, struct lm_table_view *out,
		     struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	int64_t x, *m = NULL;
	ssize_t found = -1, n;
	struct ict_cfg cfg;
	int rc = 0;

	if (name[0] != '@' || lm_delta_time_parse(name + 1, &x))
		return lm_err_set(err, ENOENT, "table %s: no '%s'", t->base.name, name);
	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = lm_delta_refresh_locked(t, err)))
		goto out;
	n = (ssize_t)t->log.n;
	m = mono_mtimes(&t->log);
	if (!m) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (lm_delta_time_source()) {
		rc = commitinfo_times(t, m, err);
		if (!rc)
			rc = search(t, 0, n - 1, x, false, m, &found, err);
		goto done;
	}
	rc = ict_config(t, newest_shown(&t->log), &cfg, err);
	if (rc)
		goto out;
	if (cfg.enabled) {
		ssize_t first = lm_delta_log_floor(&t->log, cfg.from - 1) + 1;

		if (cfg.from <= 0 || cfg.from_ts < 0 || x >= cfg.from_ts)
			rc = search(t, first, n - 1, x, true, m, &found, err);
		if (!rc && found < 0 && cfg.from > 0)
			rc = search(t, 0, first - 1, x, false, m, &found, err);
	} else {
		rc = search(t, 0, n - 1, x, false, m, &found, err);
	}
done:
	if (rc)
		goto out;
	if (found < 0) {
		char when[40];

		lm_fmt_time_ms(x, when, sizeof(when));
		lm_info("table %s: %s (%s) is before the first commit", t->base.name, name, when);
		rc = lm_err_set(err, ENOENT, "table %s: %s is before the first commit", t->base.name,
				name);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->is_link = true;
	snprintf(out->target, sizeof(out->target), "@v%lld", (long long)t->log.v[found].version);
	out->commit_ms = t->log.v[found].commit_ms;
out:
	free(m);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ------------------------------------------------------------ history.json */

static void add_json_field(cJSON *o, const char *k, const cJSON *src)
{
	const cJSON *it = src ? cJSON_GetObjectItemCaseSensitive(src, k) : NULL;

	if (it)
		cJSON_AddItemToObject(o, k, cJSON_Duplicate(it, true));
}

int lm_delta_history_json(struct lm_delta_table *t, struct lm_buf *out, struct lm_err *err)
{
	cJSON *root = NULL, *arr;
	int64_t *ms = NULL;
	const char *how;
	char *text = NULL;
	size_t listed = 0;
	int rc;

	rc = lm_delta_refresh_locked(t, err);
	if (rc)
		return rc;
	{
		/* in-commit timestamps are read for the versions listed here only */
		size_t lo = t->log.n, shown = 0;

		while (lo > 0 && shown < HISTORY_MAX + 1)
			shown += lm_delta_shown(&t->log, --lo);
		rc = lm_delta_commit_times(t, lo, t->log.n ? t->log.n - 1 : 0, &ms, &how, err);
	}
	if (rc)
		return rc;
	root = cJSON_CreateObject();
	arr = cJSON_CreateArray();
	if (!root || !arr) {
		cJSON_Delete(arr);
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	cJSON_AddStringToObject(root, "table", t->base.name);
	cJSON_AddStringToObject(root, "time_source", how);
	cJSON_AddItemToObject(root, "history", arr);
	for (ssize_t i = (ssize_t)t->log.n - 1; i >= 0; i--) {
		const struct lm_version_info *vi = &t->log.v[i];
		const struct lm_delta_crec *r = NULL;
		cJSON *e, *ci = NULL;
		char when[40];
		struct lm_err e2;

		if (ms[i] < 0)
			continue;
		if (listed == HISTORY_MAX) {
			cJSON_AddTrueToObject(root, "truncated");
			cJSON_AddNumberToObject(root, "oldest_listed_version",
						(double)t->log.v[i + 1].version);
			break;
		}
		listed++;
		e = cJSON_CreateObject();
		if (!e) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(arr, e);
		cJSON_AddNumberToObject(e, "version", (double)vi->version);
		lm_fmt_time_ms(ms[i], when, sizeof(when));
		cJSON_AddStringToObject(e, "timestamp", when);
		cJSON_AddNumberToObject(e, "timestamp_ms", (double)ms[i]);
		if (!vi->has_commit) {
			cJSON_AddStringToObject(e, "note", "only a checkpoint holds this version");
			continue;
		}
		lm_err_init(&e2);
		rc = lm_delta_hist_fetch(t, vi->version, true, &r, &e2);
		if (rc && !e2.reason) {
			*err = e2;
			goto out;
		}
		if (rc) {
			cJSON_AddStringToObject(e, "error", e2.msg);
			rc = 0;
			continue;
		}
		ci = r->info ? cJSON_Parse(r->info) : NULL;
		if (ci) {
			add_json_field(e, "operation", ci);
			add_json_field(e, "operationParameters", ci);
			add_json_field(e, "operationMetrics", ci);
			add_json_field(e, "engineInfo", ci);
			add_json_field(e, "userName", ci);
			add_json_field(e, "isBlindAppend", ci);
			add_json_field(e, "inCommitTimestamp", ci);
			if (r->ci_ts >= 0)
				cJSON_AddNumberToObject(e, "commitInfoTimestamp", (double)r->ci_ts);
			cJSON_Delete(ci);
		}
		cJSON_AddNumberToObject(e, "filesAdded", (double)r->n_adds);
		cJSON_AddNumberToObject(e, "filesRemoved", (double)r->n_removes);
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
		rc = lm_err_set(err, rc, "table %s: history.json: %s", t->base.name, lm_strerror(rc));
out:
	cJSON_free(text);
	cJSON_Delete(root);
	free(ms);
	return rc;
}
