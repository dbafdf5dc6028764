/* table.c — the Delta table driver (struct lm_table_ops): per table root, the log
 * listing, the incremental replay state and the last built snapshot, behind one mutex.
 * Fetches commit files through the store and feeds the pure decoders
 * (format/delta_actions). Views: @latest → @v<newest>, @v<N> for every version.
 * Owns struct delta_table. May call: store, format, snapshot, table, delta/log,
 * delta/replay.
 *
 * Replay is incremental: asking for version v after v' < v applies only commits
 * v'+1..v; asking for an older version restarts from the start of the log. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/log.h"
#include "lm/util.h"

#define MAX_COMMIT_BYTES ((size_t)1 << 30)

struct delta_table {
	struct lm_table base;   /* store, key, name */
	pthread_mutex_t lock;
	bool listed;
	struct lm_delta_log log;
	struct lm_delta_replay replay;
	struct lm_snapshot *last;   /* last snapshot built */
};

static const struct lm_table_ops delta_ops;

int lm_delta_table_open(struct lm_store *store, const char *key, const char *name,
			struct lm_table **out, struct lm_err *err)
{
	struct delta_table *t = calloc(1, sizeof(*t));

	if (!t)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (lm_table_base_init(&t->base, &delta_ops, store, key, name, LM_TABLE_DELTA)) {
		free(t);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	lm_delta_replay_init(&t->replay);
	*out = &t->base;
	return 0;
}

static void delta_destroy(struct lm_table *base)
{
	struct delta_table *t = (struct delta_table *)base;

	lm_delta_log_free(&t->log);
	lm_delta_replay_free(&t->replay);
	lm_snapshot_unref(t->last);
	pthread_mutex_destroy(&t->lock);
	lm_table_base_free(&t->base);
	free(t);
}

static int refresh_locked(struct delta_table *t, struct lm_err *err)
{
	struct lm_delta_log nl;
	int rc = lm_delta_log_list(t->base.store, t->base.key, t->base.name, &nl, err);

	if (rc)
		return rc;
	lm_delta_log_free(&t->log);
	t->log = nl;
	t->listed = true;
	return 0;
}

static int delta_refresh(struct lm_table *base, struct lm_err *err)
{
	struct delta_table *t = (struct delta_table *)base;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = refresh_locked(t, err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int lm_delta_table_versions(struct lm_table *base, struct lm_version_info **out, size_t *n,
			    struct lm_err *err)
{
	struct delta_table *t = (struct delta_table *)base;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed)
		rc = refresh_locked(t, err);
	if (!rc) {
		*out = malloc((t->log.n ? t->log.n : 1) * sizeof(**out));
		if (!*out) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
		} else {
			memcpy(*out, t->log.v, t->log.n * sizeof(**out));
			*n = t->log.n;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A raw add/remove path → key relative to the table root. URIs (a scheme before the
 * first '/') and absolute paths go through the store, which knows the source root;
 * the result must still be inside this table. Decoded exactly once. */
static int resolve_path(void *ud, const char *raw, char **rel, struct lm_err *err)
{
	struct delta_table *dt = ud;
	struct lm_table *t = &dt->base;
	char *dec = NULL, *abskey = NULL;
	const char *p;
	int rc;

	/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	for (p = raw; isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'; p++)
		;
	if (lm_pct_decode(raw, strlen(raw), &dec))
		return lm_err_set(err, LM_EESCAPE, "path '%s' has an invalid %%-escape", raw);
	if (*p == ':' && p > raw && isalpha((unsigned char)raw[0])) {
		rc = lm_store_uri_to_key(t->store, dec, &abskey, err);
		goto absolute;
	}
	if (raw[0] == '/') {
		rc = lm_store_uri_to_key(t->store, dec, &abskey, err);
		goto absolute;
	}
	if (!lm_relpath_ok(dec)) {
		rc = lm_err_set(err, LM_EESCAPE,
				"path '%s' escapes the table root (empty, '.' or '..' component)",
				raw);
		free(dec);
		return rc;
	}
	*rel = dec;
	return 0;
absolute:
	free(dec);
	if (rc) {
		if (rc == LM_EESCAPE)
			lm_err_set(err, LM_EESCAPE, "path '%s' is outside the table root", raw);
		return rc;
	}
	{
		size_t kl = strlen(t->key);

		if (kl == 0 || (strncmp(abskey, t->key, kl) == 0 && abskey[kl] == '/')) {
			const char *r = kl ? abskey + kl + 1 : abskey;

			if (!lm_relpath_ok(r)) {
				free(abskey);
				return lm_err_set(err, LM_EESCAPE, "path '%s' is not a file in the table", raw);
			}
			*rel = strdup(r);
			free(abskey);
			return *rel ? 0 : ENOMEM;
		}
	}
	free(abskey);
	return lm_err_set(err, LM_EESCAPE, "path '%s' is outside the table root", raw);
}

static void commit_name(int64_t v, char *buf, size_t n)
{
	snprintf(buf, n, "%020lld.json", (long long)v);
}

/* Apply commit v to the replay; on a failure that makes later versions unknowable,
 * mark the replay broken from v on. */
static int apply_commit(struct delta_table *t, int64_t v, struct lm_err *err)
{
	struct lm_delta_commit c;
	struct lm_buf buf;
	struct lm_err e2;
	char name[40], *key = NULL;
	ssize_t idx = lm_delta_log_find(&t->log, v);
	int rc;

	lm_delta_commit_init(&c);
	lm_buf_init(&buf, MAX_COMMIT_BYTES);
	lm_err_init(&e2);
	commit_name(v, name, sizeof(name));
	if (idx < 0 || !t->log.v[idx].has_commit) {
		/* A gap. Is there a checkpoint that would bridge it? */
		int64_t ck = -1;

		for (size_t i = 0; i < t->log.n; i++)
			if (t->log.v[i].version >= v && t->log.v[i].has_checkpoint) {
				ck = t->log.v[i].version;
				break;
			}
		if (v == 0 && ck >= 0)
			lm_err_set(&e2, LM_ENEEDCKPT,
				   "the log starts after version 0; versions from %lld on need the checkpoint at %lld (checkpoints are not supported yet)",
				   (long long)ck, (long long)ck);
		else if (ck >= 0)
			lm_err_set(&e2, LM_ENEEDCKPT,
				   "commit %s is missing (log gap); versions from %lld on need the checkpoint at %lld (checkpoints are not supported yet)",
				   name, (long long)ck, (long long)ck);
		else
			lm_err_set(&e2, LM_EGAP, "commit %s is missing (log gap at version %lld)",
				   name, (long long)v);
		lm_err_reason(&e2, ck >= 0 ? "needs-checkpoint" : "log-gap");
		lm_delta_replay_break(&t->replay, v, &e2);
		t->replay.version = v;
		rc = 0;
		goto out;
	}
	key = lm_path_join(t->base.key, "_delta_log/");
	if (key) {
		char *k2 = lm_path_join(key, name);

		free(key);
		key = k2;
	}
	if (!key) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_store_get_all(t->base.store, key, MAX_COMMIT_BYTES, &buf, NULL, &e2);
	if (rc) {
		/* Storage trouble is not a property of the table: report, do not poison. */
		*err = e2;
		lm_err_prefix(err, "commit %s: ", name);
		goto out;
	}
	rc = lm_delta_commit_parse(buf.data ? buf.data : "", buf.len, &c, &e2);
	if (!rc)
		rc = lm_delta_replay_apply(&t->replay, v, &c, resolve_path, t, &e2);
	if (rc == ENOMEM) {
		*err = e2;
		goto out;
	}
	if (rc) {
		struct lm_err b;

		lm_err_init(&b);
		lm_err_set(&b, rc, "commit %s: %s", name, e2.msg);
		lm_err_reason(&b, rc == LM_EFORMAT ? "invalid-json" : e2.reason);
		lm_delta_replay_break(&t->replay, v, &b);
		t->replay.version = v;
		rc = 0;
	}
out:
	free(key);
	lm_buf_free(&buf);
	lm_delta_commit_free(&c);
	return rc;
}

static int delta_snapshot(struct lm_table *base, const char *key, struct lm_snapshot **out,
			  struct lm_err *err)
{
	struct delta_table *t = (struct delta_table *)base;
	int64_t version;
	ssize_t idx;
	int rc = 0;

	if (lm_parse_i64(key, &version) || version < 0)
		return lm_err_set(err, ENOENT, "table %s: no version '%s'", t->base.name, key);

	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	idx = lm_delta_log_find(&t->log, version);
	if (idx < 0) {
		/* Maybe it appeared since the last listing. */
		if ((rc = refresh_locked(t, err)))
			goto out;
		idx = lm_delta_log_find(&t->log, version);
		if (idx < 0) {
			rc = lm_err_set(err, ENOENT, "table %s: no version %lld in the log", t->base.name,
					(long long)version);
			goto out;
		}
	}
	if (t->last && t->last->version == version) {
		*out = lm_snapshot_ref(t->last);
		goto out;
	}
	if (t->log.staged_commits) {
		rc = lm_err_set(err, LM_EUNSUPPORTED,
				"table %s: version %lld: the table is catalog-managed (_delta_log/_staged_commits/); its commits are not readable from storage alone",
				t->base.name, (long long)version);
		lm_err_reason(err, "catalog-managed");
		goto out;
	}
	if (t->replay.version > version) {
		lm_delta_replay_free(&t->replay);
		lm_delta_replay_init(&t->replay);
	}
	while (t->replay.version < version && !t->replay.broken_code) {
		rc = apply_commit(t, t->replay.version + 1, err);
		if (rc) {
			lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)version);
			/* The replay is in an unknown state: start over next time. */
			lm_delta_replay_free(&t->replay);
			lm_delta_replay_init(&t->replay);
			goto out;
		}
	}
	rc = lm_delta_replay_check(&t->replay, err);
	if (!rc && t->replay.version != version)
		rc = lm_err_set(err, LM_EFORMAT, "replay stopped at version %lld",
				(long long)t->replay.version);
	if (rc) {
		const char *word = err ? err->reason : NULL;

		lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)version);
		lm_err_reason(err, word);
		goto out;
	}
	rc = lm_delta_replay_snapshot(&t->replay, t->log.v[idx].commit_ms, out, err);
	if (rc) {
		const char *word = err ? err->reason : NULL;

		lm_err_prefix(err, "table %s: ", t->base.name);
		lm_err_reason(err, word);
		goto out;
	}
	lm_snapshot_unref(t->last);
	t->last = lm_snapshot_ref(*out);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int delta_views(struct lm_table *base, struct lm_table_view **out, size_t *n,
		       struct lm_err *err)
{
	struct delta_table *t = (struct delta_table *)base;
	struct lm_table_view *v;
	size_t k = 0;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	v = calloc(t->log.n + 1, sizeof(*v));
	if (!v) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (t->log.n) {
		const struct lm_version_info *last = &t->log.v[t->log.n - 1];

		snprintf(v[k].name, sizeof(v[k].name), "@latest");
		snprintf(v[k].target, sizeof(v[k].target), "@v%lld", (long long)last->version);
		v[k].is_link = true;
		v[k].commit_ms = last->commit_ms;
		k++;
	}
	for (size_t i = 0; i < t->log.n; i++, k++) {
		snprintf(v[k].name, sizeof(v[k].name), "@v%lld", (long long)t->log.v[i].version);
		snprintf(v[k].key, sizeof(v[k].key), "%lld", (long long)t->log.v[i].version);
		v[k].commit_ms = t->log.v[i].commit_ms;
	}
	*out = v;
	*n = k;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static const struct lm_table_ops delta_ops = {
	.format = "delta",
	.refresh = delta_refresh,
	.views = delta_views,
	.resolve = NULL,
	.snapshot = delta_snapshot,
	.destroy = delta_destroy,
};
