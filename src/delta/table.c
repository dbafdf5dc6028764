/* table.c — the Delta table driver (struct lm_table_ops): per table root, the log
 * listing, the replay state and the last built snapshot, behind one mutex. Fetches
 * commit files through the store and feeds the pure decoders (format/delta_actions);
 * checkpoints are loaded by delta/checkpoint.c. Views: @latest → @v<newest>, @v<N> for
 * every version that can be reconstructed; timestamps resolve (delta/history.c);
 * @info files (delta/info.c).
 * Owns struct lm_delta_table. May call: store, format, snapshot, table, delta/log,
 * delta/replay, delta/checkpoint, delta/history, delta/info.
 *
 * Which versions exist. A version is shown when the log holds its commit file or a
 * complete checkpoint of it, and it can be rebuilt: some checkpoint at or before it
 * exists, or the log still starts at commit 0. Versions older than the oldest
 * checkpoint whose earlier commits were cleaned up are not shown.
 *
 * How version v is built: from the newest checkpoint c <= v that loads (a malformed
 * one is logged once and skipped for the next older one; with none, from commit 0 when
 * the log starts there), then the commits c+1..v. A replay already at some version in
 * [c, v] continues from there instead. A missing commit in between is a log gap.
 *
 * Listing. The first listing of the whole log happens when the version list is asked
 * for (readdir, @latest); later refreshes list only from the newest known version on
 * (start-after), and the whole log again every FULL_RELIST_S. A version asked for
 * before any whole listing (lmctl, a cold lookup) needs only a few requests:
 * _last_checkpoint, then a listing from its version (or a window of versions before v,
 * widened until it holds a checkpoint or reaches the start), then the checkpoint and
 * the commits after it. */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/log.h"
#include "lm/util.h"

#define MAX_COMMIT_BYTES ((size_t)1 << 30)
#define FULL_RELIST_S 600
#define FIRST_WINDOW 100

static const struct lm_table_ops delta_ops;

int lm_delta_table_open(struct lm_store *store, const char *key, const char *name,
			struct lm_table **out, struct lm_err *err)
{
	struct lm_delta_table *t = calloc(1, sizeof(*t));

	if (!t)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (lm_table_base_init(&t->base, &delta_ops, store, key, name, LM_TABLE_DELTA)) {
		free(t);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	lm_delta_replay_init(&t->replay);
	lm_delta_log_free(&t->log);
	lm_delta_log_free(&t->seg);
	lm_delta_hist_init(&t->hist);
	*out = &t->base;
	return 0;
}

static void delta_destroy(struct lm_table *base)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;

	lm_delta_log_free(&t->log);
	lm_delta_log_free(&t->seg);
	lm_delta_replay_free(&t->replay);
	lm_delta_hist_free(&t->hist);
	lm_delta_info_free(t);
	lm_snapshot_unref(t->last);
	pthread_mutex_destroy(&t->lock);
	lm_table_base_free(&t->base);
	free(t);
}

/* ---------------------------------------------------------------- listing */

int lm_delta_refresh_locked(struct lm_delta_table *t, struct lm_err *err)
{
	struct lm_delta_log nl;
	int64_t now = lm_mono_ns();
	int rc;

	memset(&nl, 0, sizeof(nl));
	if (t->listed && t->log.n &&
	    now - t->listed_ns < (int64_t)FULL_RELIST_S * 1000000000) {
		/* Only what is new: from the newest known version on. */
		int64_t from = t->log.v[t->log.n - 1].version;

		rc = lm_delta_log_list_range(t->base.store, t->base.key, t->base.name, from,
					     INT64_MAX, &nl, err);
		if (!rc) {
			rc = lm_delta_log_merge_tail(&t->log, &nl);
			if (rc)
				rc = lm_err_set(err, rc, "table %s: out of memory", t->base.name);
		}
		lm_delta_log_free(&nl);
		return rc;
	}
	rc = lm_delta_log_list(t->base.store, t->base.key, t->base.name, &nl, err);
	if (rc)
		return rc;
	lm_delta_log_free(&t->log);
	t->log = nl;
	t->listed = true;
	t->listed_ns = now;
	return 0;
}

static int delta_refresh(struct lm_table *base, struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = lm_delta_refresh_locked(t, err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static bool starts_at_zero(const struct lm_delta_log *l)
{
	return l->from_start && l->n && l->v[0].version == 0 && l->v[0].has_commit;
}

bool lm_delta_shown(const struct lm_delta_log *l, size_t idx)
{
	if (starts_at_zero(l))
		return true;
	for (size_t i = 0; i <= idx && i < l->n; i++)
		if (l->v[i].has_checkpoint)
			return true;
	return false;
}

int lm_delta_table_versions(struct lm_table *base, struct lm_version_info **out, size_t *n,
			    struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	bool zero;
	bool ck = false;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed)
		rc = lm_delta_refresh_locked(t, err);
	if (!rc) {
		*out = malloc((t->log.n ? t->log.n : 1) * sizeof(**out));
		*n = 0;
		if (!*out) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
		} else {
			zero = starts_at_zero(&t->log);
			for (size_t i = 0; i < t->log.n; i++) {
				ck = ck || t->log.v[i].has_checkpoint;
				if (zero || ck)
					(*out)[(*n)++] = t->log.v[i];
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A listing that covers version v without listing the whole log (see the top). */
static int targeted_log(struct lm_delta_table *t, int64_t v, struct lm_err *err)
{
	struct lm_delta_last_checkpoint lc;
	struct lm_err e2;
	int64_t w = FIRST_WINDOW;
	int rc;

	/* The segment from an earlier call may already do. */
	if (t->seg.n && v >= t->seg.from && v <= t->seg.to) {
		ssize_t f = lm_delta_log_floor(&t->seg, v);

		if (t->seg.from_start || (f >= 0 && lm_delta_shown(&t->seg, (size_t)f)))
			return 0;
	}
	lm_err_init(&e2);
	rc = lm_delta_last_checkpoint_read(t->base.store, t->base.key, t->base.name, &lc, &e2);
	if (rc && rc != ENOENT && rc != LM_EFORMAT) {
		*err = e2;
		return rc;
	}
	if (rc == LM_EFORMAT && !t->lc_warned) {
		lm_info("%s; listing the log instead", e2.msg);
		t->lc_warned = true;
	}
	if (!rc && v >= lc.version) {
		rc = lm_delta_log_list_range(t->base.store, t->base.key, t->base.name, lc.version,
					     INT64_MAX, &t->seg, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < t->seg.n && t->seg.v[i].version <= v; i++)
			if (t->seg.v[i].has_checkpoint)
				return 0;
	}
	for (;;) {
		int64_t from = v - w;

		rc = lm_delta_log_list_range(t->base.store, t->base.key, t->base.name,
					     from > 0 ? from : -1, v, &t->seg, err);
		if (rc)
			return rc;
		if (t->seg.from_start)
			return 0;
		for (size_t i = 0; i < t->seg.n; i++)
			if (t->seg.v[i].has_checkpoint)
				return 0;
		if (w > INT64_MAX / 16)
			w = INT64_MAX;
		else
			w *= 10;
	}
}

/* ------------------------------------------------------------------ replay */

/* A raw add/remove path → key relative to the table root. URIs (a scheme before the
 * first '/') and absolute paths go through the store, which knows the source root;
 * the result must still be inside this table. Decoded exactly once. */
static int resolve_path(void *ud, const char *raw, char **rel, struct lm_err *err)
{
	struct lm_delta_table *dt = ud;
	struct lm_table *t = &dt->base;
	char *dec = NULL, *abskey = NULL;
	const char *p;
	int rc;

	/* The common case: a plain relative path, nothing to decode. */
	if (raw[0] != '/' && !strpbrk(raw, "%:")) {
		if (!lm_relpath_ok(raw))
			return lm_err_set(err, LM_EESCAPE,
					  "path '%s' escapes the table root (empty, '.' or '..' component)",
					  raw);
		*rel = NULL;
		return 0;
	}
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

void lm_delta_io_init(struct lm_delta_table *t, struct lm_delta_io *io)
{
	io->store = t->base.store;
	io->key = t->base.key;
	io->name = t->base.name;
	io->resolve = resolve_path;
	io->ud = t;
}

char *lm_delta_log_key(const struct lm_delta_table *t, const char *name)
{
	char *dir = lm_path_join(t->base.key, "_delta_log/");
	char *key = dir ? lm_path_join(dir, name) : NULL;

	free(dir);
	return key;
}

/* Apply commit v to the replay; on a failure that makes later versions unknowable,
 * mark the replay broken from v on. */
static int apply_commit(struct lm_delta_table *t, const struct lm_delta_log *l, int64_t v,
			struct lm_err *err)
{
	struct lm_delta_commit c;
	struct lm_buf buf;
	struct lm_err e2;
	char name[40], *key = NULL;
	ssize_t idx = lm_delta_log_find(l, v);
	int rc;

	lm_delta_commit_init(&c);
	lm_buf_init(&buf, MAX_COMMIT_BYTES);
	lm_err_init(&e2);
	snprintf(name, sizeof(name), "%020lld.json", (long long)v);
	if (idx < 0 || !l->v[idx].has_commit) {
		lm_err_set(&e2, LM_EGAP,
			   "commit %s is missing (log gap at version %lld; no checkpoint after it bridges the gap)",
			   name, (long long)v);
		lm_err_reason(&e2, "log-gap");
		lm_delta_replay_break(&t->replay, v, &e2);
		t->replay.version = v;
		rc = 0;
		goto out;
	}
	key = lm_delta_log_key(t, name);
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
	if (!rc) {
		lm_delta_hist_note(&t->hist, v, &c);
		rc = lm_delta_replay_apply(&t->replay, v, &c, resolve_path, t, &e2);
	}
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

#define REPLAY_KEEP_MAX 50000

static void replay_reset(struct lm_delta_table *t)
{
	lm_delta_replay_free(&t->replay);
	lm_delta_replay_init(&t->replay);
}

/* Bring t->replay to version v of log l (see the top for the plan). A refusal is left
 * in the replay (broken) for lm_delta_replay_check; the result is for storage trouble
 * and ENOMEM, after which the replay is reset. */
static int replay_to(struct lm_delta_table *t, struct lm_delta_log *l, int64_t v,
		     struct lm_err *err)
{
	struct lm_delta_io io;
	struct lm_err bad;
	bool any_bad = false;
	int rc = 0;

	lm_delta_io_init(t, &io);
	lm_err_init(&bad);
	for (;;) {
		ssize_t i = lm_delta_log_floor(l, v);
		int64_t base = -1;
		bool loaded = false;

		for (; i >= 0 && base < 0; i--) {
			const struct lm_delta_vextra *x = &l->x[i];

			for (uint32_t k = 0; k < x->ck_n; k++)
				if (!l->items[l->ck[x->ck_first + k].item].bad) {
					base = l->v[i].version;
					break;
				}
		}
		if (base < 0 && !starts_at_zero(l)) {
			/* Every checkpoint that could rebuild v failed to load. */
			replay_reset(t);
			if (!any_bad)
				lm_err_set(&bad, LM_EFORMAT, "no checkpoint at or before this version can be read");
			lm_err_reason(&bad, "invalid-checkpoint");
			lm_delta_replay_break(&t->replay, v, &bad);
			t->replay.version = v;
			break;
		}
		if (t->replay.version >= base && t->replay.version <= v &&
		    !(t->replay.broken_code && t->replay.broken_at <= base))
			break;   /* continue from where the replay is */
		replay_reset(t);
		if (base < 0)
			break;   /* from commit 0 */
		i = lm_delta_log_find(l, base);
		for (uint32_t k = 0; k < l->x[i].ck_n && !loaded; k++) {
			const struct lm_delta_ckpt_file *ck = &l->ck[l->x[i].ck_first + k];
			bool unusable = false;
			struct lm_err e2;
			char name[160];

			if (l->items[ck->item].bad)
				continue;
			replay_reset(t);
			lm_err_init(&e2);
			rc = lm_delta_ckpt_load(&io, l, ck, &t->replay, &unusable, &e2);
			if (!rc) {
				loaded = true;
				break;
			}
			replay_reset(t);
			if (!unusable) {
				*err = e2;
				lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)v);
				return rc;
			}
			l->items[ck->item].bad = true;
			any_bad = true;
			lm_delta_ckpt_part_name(l, ck, 1, name, sizeof(name));
			lm_warn("table %s: checkpoint %s cannot be used (%s); using an older one or the commits",
				t->base.name, name, e2.msg);
			lm_err_set(&bad, LM_EFORMAT, "checkpoint %s cannot be used: %s", name, e2.msg);
		}
		if (loaded)
			break;
	}
	while (t->replay.version < v && !t->replay.broken_code) {
		rc = apply_commit(t, l, t->replay.version + 1, err);
		if (rc) {
			lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)v);
			replay_reset(t);
			return rc;
		}
	}
	return 0;
}

/* Is _delta_log/_staged_commits/ non-empty? (Asked only when the protocol names a
 * catalog feature and no whole listing said.) */
static int staged_present(struct lm_delta_table *t, bool *out, struct lm_err *err);

static int first_entry(void *ud, const struct lm_list_entry *e)
{
	(void)e;
	*(bool *)ud = true;
	return 1;
}

static int staged_present(struct lm_delta_table *t, bool *out, struct lm_err *err)
{
	char *key = lm_delta_log_key(t, "_staged_commits/");
	int rc;

	*out = false;
	if (!key)
		return lm_err_set(err, ENOMEM, "out of memory");
	rc = lm_store_list(t->base.store, key, NULL, LM_LIST_DELIM, first_entry, out, err);
	free(key);
	return rc == 1 ? 0 : rc;
}

/* The log to plan version v with: the whole listing when there is one (re-listed when
 * v is newer than it), else a targeted one. *lp = NULL: no such version. */
static int log_for(struct lm_delta_table *t, int64_t v, struct lm_delta_log **lp,
		   ssize_t *idx, struct lm_err *err)
{
	int rc;

	*lp = NULL;
	if (t->listed) {
		*idx = lm_delta_log_find(&t->log, v);
		if (*idx < 0) {
			rc = lm_delta_refresh_locked(t, err);
			if (rc)
				return rc;
			*idx = lm_delta_log_find(&t->log, v);
		}
		if (*idx >= 0)
			*lp = &t->log;
		return 0;
	}
	rc = targeted_log(t, v, err);
	if (rc)
		return rc;
	*idx = lm_delta_log_find(&t->seg, v);
	if (*idx >= 0)
		*lp = &t->seg;
	return 0;
}

int lm_delta_build_locked(struct lm_delta_table *t, int64_t version, bool snapshot,
			  struct lm_snapshot **out, struct lm_err *err)
{
	struct lm_delta_log *l;
	ssize_t idx;
	int rc;

	rc = log_for(t, version, &l, &idx, err);
	if (rc)
		return rc;
	if (!l)
		return lm_err_set(err, ENOENT, "table %s: no version %lld in the log", t->base.name,
				  (long long)version);
	if (!lm_delta_shown(l, (size_t)idx))
		return lm_err_set(err, ENOENT,
				  "table %s: version %lld cannot be reconstructed: the commits before it are gone and no checkpoint is at or before it",
				  t->base.name, (long long)version);
	if (l->staged_commits) {
		rc = lm_err_set(err, LM_EUNSUPPORTED,
				"table %s: version %lld: the table is catalog-managed (_delta_log/_staged_commits/); its commits are not readable from storage alone",
				t->base.name, (long long)version);
		lm_err_reason(err, "catalog-managed");
		return rc;
	}
	rc = replay_to(t, l, version, err);
	if (rc)
		return rc;
	rc = lm_delta_replay_check(&t->replay, err);
	if (!rc && t->replay.version != version)
		rc = lm_err_set(err, LM_EFORMAT, "replay stopped at version %lld",
				(long long)t->replay.version);
	if (!rc && t->replay.catalog_feature && !t->listed) {
		bool staged = false;

		rc = staged_present(t, &staged, err);
		if (!rc && staged) {
			rc = lm_err_set(err, LM_EUNSUPPORTED,
					"the table is catalog-managed (_delta_log/_staged_commits/); its commits are not readable from storage alone");
			lm_err_reason(err, "catalog-managed");
		} else if (rc) {
			lm_err_prefix(err, "table %s: version %lld: ", t->base.name,
				      (long long)version);
			return rc;
		}
	}
	if (rc) {
		const char *word = err ? err->reason : NULL;

		lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)version);
		lm_err_reason(err, word);
		return rc;
	}
	if (!snapshot)
		return 0;
	rc = lm_delta_replay_snapshot(&t->replay, l->v[idx].commit_ms, out, err);
	if (rc) {
		const char *word = err ? err->reason : NULL;

		lm_err_prefix(err, "table %s: ", t->base.name);
		lm_err_reason(err, word);
	}
	return rc;
}

static int delta_snapshot(struct lm_table *base, const char *key, struct lm_snapshot **out,
			  struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	int64_t version;
	int rc = 0;

	if (lm_parse_i64(key, &version) || version < 0)
		return lm_err_set(err, ENOENT, "table %s: no version '%s'", t->base.name, key);
	pthread_mutex_lock(&t->lock);
	if (t->last && t->last->version == version) {
		*out = lm_snapshot_ref(t->last);
		goto out;
	}
	rc = lm_delta_build_locked(t, version, true, out, err);
	if (rc)
		goto out;
	lm_snapshot_unref(t->last);
	t->last = lm_snapshot_ref(*out);
	/* The replay state lets the next version be built from this one by applying one
	 * commit, but costs about twice the snapshot. Past REPLAY_KEEP_MAX live files it is
	 * dropped: memory stays near the snapshot's own (~150 B a file), and the next new
	 * version of a big table is rebuilt from its checkpoint (versions already built come
	 * from the metadata cache). */
	if (t->replay.live > REPLAY_KEEP_MAX) {
		replay_reset(t);
#ifdef __GLIBC__
		/* Give the freed heap (and the decode threads' arenas) back to the system. */
		malloc_trim(0);
#endif
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ops->cache_id: a version's snapshot is fixed by the commit files up to it, and Delta
 * commit files are never rewritten; a table deleted and created again at the same path
 * writes new ones. So the identity of version V is V plus the fingerprint (size and
 * modification time) of the object that ends it — its commit file, or for a version
 * known only by a checkpoint, the checkpoint's. Only asked with a whole listing at hand
 * (the daemon); the cold single-version path of lmctl builds without the cache. */
static int delta_cache_id(struct lm_table *base, const char *key, char *out, size_t size,
			  struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	const struct lm_delta_log *l = &t->log;
	int64_t version;
	ssize_t idx;
	int rc = 0, n;

	(void)err;
	if (lm_parse_i64(key, &version) || version < 0)
		return ENOENT;
	pthread_mutex_lock(&t->lock);
	if (!t->listed || l->staged_commits) {
		rc = ENOTSUP;
		goto out;
	}
	idx = lm_delta_log_find(l, version);
	if (idx < 0 || !lm_delta_shown(l, (size_t)idx)) {
		rc = ENOENT;
		goto out;
	}
	if (l->v[idx].has_commit) {
		n = snprintf(out, size, "v=%lld|commit=%llu@%lld", (long long)version,
			     (unsigned long long)l->x[idx].commit_size,
			     (long long)l->v[idx].commit_ms);
	} else if (l->x[idx].ck_n) {
		const struct lm_delta_ckpt_file *ck = &l->ck[l->x[idx].ck_first];

		n = snprintf(out, size, "v=%lld|checkpoint=%d.%d.%llu@%lld", (long long)version,
			     (int)ck->kind, ck->nparts,
			     (unsigned long long)lm_delta_ckpt_part_size(l, ck, 1),
			     (long long)ck->mtime_ms);
	} else {
		rc = ENOENT;
		goto out;
	}
	if (n < 0 || (size_t)n >= size)
		rc = ENAMETOOLONG;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int delta_views(struct lm_table *base, struct lm_table_view **out, size_t *n,
		       struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	struct lm_table_view *v;
	bool zero, ck = false;
	ssize_t last = -1;
	size_t k = 0;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = lm_delta_refresh_locked(t, err)))
		goto out;
	v = calloc(t->log.n + 1, sizeof(*v));
	if (!v) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	zero = starts_at_zero(&t->log);
	k = 1;   /* @latest goes first, once known */
	for (size_t i = 0; i < t->log.n; i++) {
		ck = ck || t->log.v[i].has_checkpoint;
		if (!zero && !ck)
			continue;
		snprintf(v[k].name, sizeof(v[k].name), "@v%lld", (long long)t->log.v[i].version);
		snprintf(v[k].key, sizeof(v[k].key), "%lld", (long long)t->log.v[i].version);
		v[k].commit_ms = t->log.v[i].commit_ms;
		last = (ssize_t)i;
		k++;
	}
	if (last >= 0) {
		snprintf(v[0].name, sizeof(v[0].name), "@latest");
		snprintf(v[0].target, sizeof(v[0].target), "@v%lld",
			 (long long)t->log.v[last].version);
		v[0].is_link = true;
		v[0].commit_ms = t->log.v[last].commit_ms;
	} else {
		memmove(v, v + 1, (k - 1) * sizeof(*v));
		k--;
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
	.resolve = lm_delta_resolve,
	.snapshot = delta_snapshot,
	.destroy = delta_destroy,
	.info_list = lm_delta_info_list,
	.info_read = lm_delta_info_read,
	.forensics = lm_delta_forensics_run,
	.cache_id = delta_cache_id,
};
