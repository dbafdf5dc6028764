/* lmctl — inspect tables without FUSE, from the same core library as the daemon.
 *   lmctl versions TABLE        one line per version: N, status, commit time, files
 *   lmctl files [--summary] TABLE N   the live files of version N: path, size, mtime
 *                               (--summary: only their count and bytes)
 *   lmctl check [--json] [--min-age=SECONDS] TABLE
 *                               fsck: log gaps, refused versions, missing files, orphans,
 *                               removed-but-present files, the RESTORE target
 *   lmctl history [--json] TABLE  DESCRIBE HISTORY (what @info/history.json holds):
 *                               version (Iceberg: snapshot id), time, operation,
 *                               parameters (Iceberg: summary), files +/-
 *   lmctl diff [--json] TABLE V1 V2
 *                               files added and removed between two versions, with
 *                               sizes and rows when the stats say
 * TABLE is a table root (Delta, or Iceberg when metadata/ holds a metadata file): a
 * local directory or s3://bucket/prefix. check, history and diff work on both
 * formats; versions and files on Delta. A progress bar goes to stderr during long
 * scans when stderr is a terminal.
 * Exit: 0 ok, 1 the table/version was refused (reason on stderr) or check found
 * problems, 2 could not run.
 * May call: store, table, snapshot, format/json (exact Iceberg ids). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "lm/iceberg.h"
#include "lm/json.h"
#include "lm/log.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: lmctl versions TABLE\n"
			"       lmctl files [--summary] TABLE VERSION\n"
			"       lmctl check [--json] [--min-age=SECONDS] [--retention=HOURS] TABLE\n"
			"       lmctl history [--json] TABLE\n"
			"       lmctl diff [--json] TABLE V1 V2\n"
			"TABLE: a Delta or Iceberg table root, local directory or s3://bucket/prefix\n"
			"V: a Delta version N; an Iceberg metadata version N (@vN) or @snap-ID\n");
	return 2;
}

static const char *reason_word(const struct lm_err *e, int rc)
{
	if (e->reason)
		return e->reason;
	switch (rc) {
	case LM_EGAP: return "log-gap";
	case LM_ENEEDCKPT: return "needs-checkpoint";
	case LM_ENOPROTOCOL: return "missing-protocol";
	case LM_ENOMETADATA: return "missing-metadata";
	case LM_EESCAPE: return "path-escape";
	case LM_EFORMAT: return "invalid-json";
	default: return "error";
	}
}

static int cmd_versions(struct lm_table *t)
{
	struct lm_version_info *v = NULL;
	struct lm_err err;
	size_t n = 0;
	int rc;

	lm_err_init(&err);
	rc = lm_delta_table_versions(t, &v, &n, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		return 2;
	}
	if (!n)
		fprintf(stderr, "lmctl: table %s: no commits in _delta_log\n", lm_table_name(t));
	for (size_t i = 0; i < n; i++) {
		struct lm_snapshot *s = NULL;
		char key[32];

		snprintf(key, sizeof(key), "%" PRId64, v[i].version);
		lm_err_init(&err);
		rc = lm_table_snapshot(t, key, &s, &err);
		if (rc) {
			printf("%" PRId64 "\t%s\t%" PRId64 "\t-\n", v[i].version, reason_word(&err, rc),
			       v[i].commit_ms);
			fprintf(stderr, "lmctl: %s\n", err.msg);
			continue;
		}
		printf("%" PRId64 "\tok\t%" PRId64 "\t%zu\n", v[i].version, v[i].commit_ms,
		       s->nfiles);
		lm_snapshot_unref(s);
	}
	free(v);
	return 0;
}

/* Decimal digits of v at p, two at a time; their count. */
static size_t put_u64(char *p, uint64_t v)
{
	static const char dd[201] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	char tmp[20], *q = tmp + 20;
	size_t n;

	while (v >= 100) {
		q -= 2;
		memcpy(q, dd + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, dd + 2 * v, 2);
	} else {
		*--q = (char)('0' + v);
	}
	n = (size_t)(tmp + 20 - q);
	memcpy(p, q, n);
	return n;
}

static size_t put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p = '-';
	return 1 + put_u64(p + 1, -(uint64_t)v);
}

/* Lines being made for put_files: one thread's chunk. */
struct lines {
	char *p;
	size_t len, cap;
	int64_t mt;           /* the modification time whose digits are in mts */
	char mts[24];
	size_t mtn;
};

/* "path\tsize\tmtime\n" for files[from..to) into b; false without memory. Files of one
 * commit share their modification time: its digits are kept. */
static bool put_lines(const struct lm_file *files, size_t from, size_t to, struct lines *b)
{
	b->len = 0;
	for (size_t i = from; i < to; i++) {
		const struct lm_file *f = &files[i];
		size_t l;
		char *p;

		if (i + 24 < to) {
			/* the list is in path order, the strings in no order: fetch ahead */
			__builtin_prefetch(files[i + 24].path);
			__builtin_prefetch(files[i + 24].path + 64);
		}
		l = strlen(f->path);
		if (b->cap - b->len < l + 48) {
			size_t nc = b->cap * 2 > b->len + l + 48 ? b->cap * 2 : b->len + l + 48;
			char *q = realloc(b->p, nc);

			if (!q)
				return false;
			b->p = q;
			b->cap = nc;
		}
		p = b->p + b->len;
		memcpy(p, f->path, l);
		p += l;
		*p++ = '\t';
		p += put_u64(p, f->size);
		*p++ = '\t';
		if (f->mtime_ms != b->mt || !b->mtn) {
			b->mt = f->mtime_ms;
			b->mtn = put_i64(b->mts, b->mt);
		}
		memcpy(p, b->mts, b->mtn);
		p += b->mtn;
		*p++ = '\n';
		b->len = (size_t)(p - b->p);
	}
	return true;
}

/* The file list in chunks, made by two threads by turns and written in order. */
struct outq {
	const struct lm_snapshot *s;
	size_t chunk, nchunks;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t written;       /* chunks on stdout so far */
};

static void out_chunks(struct outq *q, size_t first, size_t step)
{
	struct lines b = { 0 };

	for (size_t c = first; c < q->nchunks; c += step) {
		size_t from = c * q->chunk;
		size_t to = from + q->chunk < q->s->nfiles ? from + q->chunk : q->s->nfiles;
		bool ok = put_lines(q->s->files, from, to, &b);

		pthread_mutex_lock(&q->mu);
		while (q->written != c)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
		if (ok) {
			fwrite(b.p, 1, b.len, stdout);
		} else {
			for (size_t i = from; i < to; i++)
				printf("%s\t%" PRIu64 "\t%" PRId64 "\n", q->s->files[i].path,
				       q->s->files[i].size, q->s->files[i].mtime_ms);
		}
		pthread_mutex_lock(&q->mu);
		q->written = c + 1;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	free(b.p);
}

static void *out_second(void *arg)
{
	out_chunks(arg, 1, 2);
	return NULL;
}

/* The lines of every file on stdout: a million lines through printf cost more than
 * building the list, so they are made in big buffers, by two threads. */
static void put_files(const struct lm_snapshot *s)
{
	struct outq q = { .s = s, .chunk = 16384 };
	pthread_t th;

	q.nchunks = (s->nfiles + q.chunk - 1) / q.chunk;
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	fflush(stdout);
	if (q.nchunks > 1 && pthread_create(&th, NULL, out_second, &q) == 0) {
		out_chunks(&q, 0, 2);
		pthread_join(th, NULL);
	} else {
		out_chunks(&q, 0, 1);
	}
	fflush(stdout);
	pthread_cond_destroy(&q.cv);
	pthread_mutex_destroy(&q.mu);
}

/* summary: build the list, print only its totals (what the list costs to build, without
 * the cost of printing a line per file). */
static int cmd_files(struct lm_table *t, const char *vs, bool summary)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;
	int64_t v;
	int rc;

	if (lm_parse_i64(vs, &v) || v < 0)
		return usage();
	lm_err_init(&err);
	rc = lm_table_snapshot(t, vs, &s, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s [%s]\n", err.msg, reason_word(&err, rc));
		return rc == ENOENT ? 1 : (err.reason ? 1 : 2);
	}
	if (summary)
		printf("files\t%zu\nbytes\t%" PRIu64 "\nwith_deletion_vector\t%zu\n", s->nfiles,
		       s->total_bytes, s->n_dv_files);
	else
		put_files(s);
	lm_snapshot_unref(s);
	return 0;
}

/* ---------- progress on stderr (only when it is a terminal) ---------- */

struct progress {
	bool on, shown;
	int64_t last_ns;
	const char *phase;
};

static void progress_cb(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	static const char bar[] = "##############################";
	struct progress *p = ud;
	int64_t now = lm_mono_ns();
	int w = 30, k;

	if (!p->on || (done != total && p->phase == phase && now - p->last_ns < 100000000))
		return;
	p->last_ns = now;
	p->phase = phase;
	p->shown = true;
	if (total) {
		k = (int)(done > total ? w : (int)(done * (uint64_t)w / total));
		fprintf(stderr, "\r%-10s [%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 "\033[K", phase, k, bar,
			w - k, "", (int)(done * 100 / total), done, total);
	} else {
		fprintf(stderr, "\r%-10s %" PRIu64 "\033[K", phase, done);
	}
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
	p->shown = false;
}

/* ---------- check ---------- */

/* An exact int64 (cJSON numbers are doubles: 19-digit snapshot ids would be rounded). */
static void add_i64(cJSON *o, const char *k, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64, v);
	cJSON_AddRawToObject(o, k, b);
}

/* v, or null when negative (none). */
static void add_opt(cJSON *o, const char *k, int64_t v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, k);
	else
		add_i64(o, k, v);
}

/* Tombstones older than this are what VACUUM may delete (Delta's default
 * delta.deletedFileRetentionDuration: 7 days; --retention=HOURS changes it). */
static int64_t ck_retention_ms = (int64_t)168 * 3600 * 1000;

static bool past_retention(const struct lm_forensics *fx, const struct lm_forensic_file *f)
{
	return f->kind == LM_FX_REMOVED && f->removed_ms >= 0 && fx->format &&
	       !strcmp(fx->format, "delta") && lm_now_ms() - f->removed_ms > ck_retention_ms;
}

static cJSON *ck_file_json(const struct lm_forensics *fx, const struct lm_forensic_file *f)
{
	bool ice = fx->format && !strcmp(fx->format, "iceberg");
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "path", f->path);
	add_i64(o, "size", (int64_t)f->size);
	if (f->note)
		cJSON_AddStringToObject(o, "note", f->note);
	if (f->kind == LM_FX_MISSING) {
		add_i64(o, "first_version", f->first_version);
		add_i64(o, "last_version", f->last_version);
		cJSON_AddBoolToObject(o, "in_latest", f->in_latest);
		if (ice) {
			cJSON *a = cJSON_AddArrayToObject(o, "snapshots");
			char b[32];

			for (size_t i = 0; i < f->nsnapshots; i++) {
				snprintf(b, sizeof(b), "%" PRId64, f->snapshots[i]);
				cJSON_AddItemToArray(a, cJSON_CreateRaw(b));
			}
			add_i64(o, "snapshots_total", (int64_t)f->nsnapshots_total);
		}
		return o;
	}
	add_i64(o, "last_modified_ms", f->mtime_ms);
	if (f->last_version < 0) {
		cJSON_AddStringToObject(o, "reason", "never referenced");
	} else {
		add_i64(o, "last_version", f->last_version);
		add_opt(o, "removed_version", f->removed_version);
		add_opt(o, "removed_ms", f->removed_ms);
		if (!ice)
			cJSON_AddBoolToObject(o, "past_retention", past_retention(fx, f));
		if (ice) {
			add_opt(o, "last_snapshot", f->last_snapshot);
			add_opt(o, "removed_snapshot", f->removed_snapshot);
		}
	}
	return o;
}

static const char *base_name(const char *p)
{
	size_t l = strlen(p);
	const char *b;

	while (l > 1 && p[l - 1] == '/')
		l--;
	for (b = p + l; b > p && b[-1] != '/'; b--)
		;
	return b;
}

/* The restore recipe (printed, never applied). */
static void ck_recipe(const struct lm_table *t, const struct lm_forensics *fx, bool ice)
{
	const char *name = base_name(lm_table_name(t));
	int nl = (int)strcspn(name, "/");

	if (ice && fx->latest_snapshot < 0 && fx->restore_metadata_version >= 0) {
		/* the current metadata cannot be read: no @snap- views, but @v<N> */
		printf("restore\t@v%" PRId64 " is the newest metadata version whose current snapshot "
		       "has all its files (the current metadata cannot be read):\n"
		       "\tcp -r MOUNT/%.*s/@v%" PRId64 " DESTINATION\n", fx->restore_metadata_version,
		       nl, name, fx->restore_metadata_version);
	} else if (ice && fx->restore_snapshot >= 0) {
		printf("restore\t@snap-%" PRId64 " is the newest snapshot whose files are all present%s:\n"
		       "\tcp -r MOUNT/%.*s/@snap-%" PRId64 " DESTINATION\n"
		       "\t(or roll the table back with an Iceberg writer: "
		       "CALL system.rollback_to_snapshot('<table>', %" PRId64 "))\n",
		       fx->restore_snapshot,
		       fx->restore_snapshot == fx->latest_snapshot ? " (the current one)" : "", nl, name,
		       fx->restore_snapshot, fx->restore_snapshot);
	} else if (!ice && fx->restore >= 0) {
		printf("restore\tv%" PRId64 " is the newest version whose files are all present%s:\n"
		       "\tcp -r MOUNT/%.*s/@v%" PRId64 " DESTINATION\n"
		       "\t(or with a Delta writer: RESTORE TABLE delta.`%s` TO VERSION AS OF %" PRId64 ")\n",
		       fx->restore, fx->restore == fx->latest ? " (the newest)" : "", nl, name,
		       fx->restore, lm_table_name(t), fx->restore);
	} else {
		printf("restore\tno %s has all its files present\n", ice ? "snapshot" : "version");
	}
}

static void ck_human_file(const struct lm_forensics *fx, const struct lm_forensic_file *f, bool ice)
{
	char tm[40];

	if (f->kind == LM_FX_MISSING) {
		if (ice) {
			printf("missing\t%s\t%" PRIu64 " bytes\treferenced by %zu snapshot%s:", f->path,
			       f->size, f->nsnapshots_total, f->nsnapshots_total == 1 ? "" : "s");
			for (size_t i = 0; i < f->nsnapshots; i++)
				printf(" @snap-%" PRId64, f->snapshots[i]);
			if (f->nsnapshots < f->nsnapshots_total)
				printf(" ...");
		} else {
			printf("missing\t%s\t%" PRIu64 " bytes\treferenced by v%" PRId64 "..v%" PRId64,
			       f->path, f->size, f->first_version, f->last_version);
		}
		printf("%s%s%s\n", f->in_latest ? " (the newest version needs it)" : "",
		       f->note ? "\t" : "", f->note ? f->note : "");
		return;
	}
	if (f->kind == LM_FX_REMOVED) {
		if (ice)
			printf("removed\t%s\t%" PRIu64 " bytes\tlast in @snap-%" PRId64
			       ", removed by @snap-%" PRId64 "\n", f->path, f->size, f->last_snapshot,
			       f->removed_snapshot);
		else
			printf("removed\t%s\t%" PRIu64 " bytes\tlast in v%" PRId64
			       ", removed in v%" PRId64 "%s\n", f->path, f->size, f->last_version,
			       f->removed_version, past_retention(fx, f) ?
			       " (past the retention: VACUUM would delete it)" : "");
		return;
	}
	lm_fmt_time_ms(f->mtime_ms, tm, sizeof(tm));
	printf("%s\t%s\t%" PRIu64 " bytes\tnever referenced, modified %s%s%s\n",
	       lm_forensic_kind_name(f->kind), f->path, f->size, tm, f->note ? "\t" : "",
	       f->note ? f->note : "");
	(void)fx;
}

/* Problems (exit 1): log gaps, refused versions or snapshots, duplicate Iceberg
 * metadata versions, files the newest version (current snapshot) needs that are
 * missing, orphans. Reported but not problems: removed-but-present files (what VACUUM /
 * snapshot expiry has not deleted yet), files missing only from older versions
 * (vacuumed), recent unreferenced files (a writer may be in flight). */
static int cmd_check(struct lm_table *t, bool json, int64_t min_age_ms, struct progress *pg)
{
	bool ice = t->fmt == LM_TABLE_ICEBERG;
	struct lm_forensics *fx = NULL;
	struct lm_version_info *v = NULL;
	size_t n = 0, nref = 0, ndup = 0, ngaps = 0, missing_latest = 0, npast = 0;
	struct lm_err err;
	int rc;

	lm_err_init(&err);
	if (!ice) {
		rc = lm_delta_table_versions(t, &v, &n, &err);
		if (rc) {
			fprintf(stderr, "lmctl: %s\n", err.msg);
			rc = 2;
			goto out;
		}
		for (size_t i = 1; i < n; i++)
			if (v[i].version != v[i - 1].version + 1)
				ngaps++;
	}
	lm_err_init(&err);
	rc = lm_table_forensics(t, lm_now_ms(), min_age_ms, &fx, &err);
	progress_end(pg);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	for (size_t i = 0; i < fx->nissues; i++) {
		if (!strcmp(fx->issues[i].kind, "refused"))
			nref++;
		else
			ndup++;
	}
	for (size_t i = 0; i < fx->n; i++) {
		if (fx->f[i].kind == LM_FX_MISSING && fx->f[i].in_latest)
			missing_latest++;
		if (past_retention(fx, &fx->f[i]))
			npast++;
	}
	if (json) {
		cJSON *root = cJSON_CreateObject(), *a, *g, *d, *arr[4];
		char *text;

		cJSON_AddStringToObject(root, "table", lm_table_name(t));
		cJSON_AddStringToObject(root, "format", ice ? "iceberg" : "delta");
		if (ice)
			add_i64(root, "snapshots", (int64_t)fx->nversions);
		else
			add_i64(root, "versions", (int64_t)n);
		g = cJSON_AddArrayToObject(root, "gaps");
		for (size_t i = 1; i < n; i++) {
			if (v[i].version == v[i - 1].version + 1)
				continue;
			a = cJSON_CreateObject();
			add_i64(a, "after", v[i - 1].version);
			add_i64(a, "before", v[i].version);
			cJSON_AddItemToArray(g, a);
		}
		g = cJSON_AddArrayToObject(root, "refused");
		d = cJSON_AddArrayToObject(root, "duplicate_metadata_versions");
		for (size_t i = 0; i < fx->nissues; i++) {
			const struct lm_forensic_issue *is = &fx->issues[i];
			bool dup = strcmp(is->kind, "refused") != 0;

			a = cJSON_CreateObject();
			if (is->version >= 0 || !ice)
				add_opt(a, "version", is->version);
			if (is->snapshot >= 0)
				add_i64(a, "snapshot", is->snapshot);
			if (!dup)
				cJSON_AddStringToObject(a, "reason", is->reason ? is->reason : "error");
			if (is->file)
				cJSON_AddStringToObject(a, "file", is->file);
			cJSON_AddStringToObject(a, "message", is->msg ? is->msg : "");
			cJSON_AddItemToArray(dup ? d : g, a);
		}
		arr[LM_FX_ORPHAN] = cJSON_AddArrayToObject(root, "orphans");
		arr[LM_FX_RECENT] = cJSON_AddArrayToObject(root, "recent");
		arr[LM_FX_REMOVED] = cJSON_AddArrayToObject(root, "removed");
		arr[LM_FX_MISSING] = cJSON_AddArrayToObject(root, "missing");
		for (size_t i = 0; i < fx->n; i++)
			cJSON_AddItemToArray(arr[fx->f[i].kind], ck_file_json(fx, &fx->f[i]));
		add_opt(root, "latest", fx->latest);
		add_opt(root, "restore_target", fx->restore);
		if (ice) {
			add_opt(root, "latest_snapshot", fx->latest_snapshot);
			add_opt(root, "restore_snapshot", fx->restore_snapshot);
			add_opt(root, "restore_metadata_version", fx->restore_metadata_version);
		}
		add_i64(root, "problems", (int64_t)(ngaps + nref + ndup + missing_latest + fx->n_orphan));
		text = cJSON_Print(root);
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	} else {
		if (ice)
			if (fx->latest_snapshot >= 0)
				printf("table %s (iceberg): %zu snapshots, current @snap-%" PRId64 "\n",
				       lm_table_name(t), fx->nversions, fx->latest_snapshot);
			else
				printf("table %s (iceberg): %zu snapshots, no current snapshot (none, or "
				       "the current metadata cannot be read)\n", lm_table_name(t),
				       fx->nversions);
		else
			printf("table %s (delta): %zu versions, newest rebuilt %" PRId64 "\n",
			       lm_table_name(t), n, fx->latest);
		for (size_t i = 1; i < n; i++)
			if (v[i].version != v[i - 1].version + 1)
				printf("gap\t%" PRId64 "..%" PRId64 "\n", v[i - 1].version + 1,
				       v[i].version - 1);
		for (size_t i = 0; i < fx->nissues; i++) {
			const struct lm_forensic_issue *is = &fx->issues[i];

			if (strcmp(is->kind, "refused"))
				printf("duplicate\tmetadata version %" PRId64 "\t%s\t%s\n", is->version,
				       is->file ? is->file : "-", is->msg);
			else if (is->snapshot >= 0)
				printf("refused\t@snap-%" PRId64 "\t%s\t%s\n", is->snapshot,
				       is->reason ? is->reason : "error", is->msg);
			else
				printf("refused\tv%" PRId64 "\t%s\t%s\n", is->version,
				       is->reason ? is->reason : "error", is->msg);
		}
		for (size_t i = 0; i < fx->n; i++)
			ck_human_file(fx, &fx->f[i], ice);
		printf("summary\t%zu gaps, %zu refused, %zu duplicate metadata versions, %zu missing "
		       "(%zu needed by the newest version), %zu orphans, %zu recent, "
		       "%zu removed-but-present (%zu past the retention)\n", ngaps, nref, ndup,
		       fx->n_missing, missing_latest, fx->n_orphan, fx->n_recent, fx->n_removed, npast);
		ck_recipe(t, fx, ice);
	}
	rc = (ngaps || nref || ndup || missing_latest || fx->n_orphan) ? 1 : 0;
out:
	lm_forensics_free(fx);
	free(v);
	return rc;
}

/* ---------- history ---------- */

/* One history line: version, time, operation, parameters (compact JSON), files added,
 * files removed ("-" for what the commit does not say). */
static void hist_line(const cJSON *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "version");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(e, "timestamp");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operation");
	const cJSON *par = cJSON_GetObjectItemCaseSensitive(e, "operationParameters");
	const cJSON *fa = cJSON_GetObjectItemCaseSensitive(e, "filesAdded");
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(e, "filesRemoved");
	char *ptext = par ? cJSON_PrintUnformatted(par) : NULL;

	printf("%.0f\t%s\t%s\t%s\t", cJSON_IsNumber(v) ? v->valuedouble : -1.0,
	       cJSON_IsString(ts) ? ts->valuestring : "-",
	       cJSON_IsString(op) ? op->valuestring : "-", ptext ? ptext : "-");
	if (cJSON_IsNumber(fa) && fa->valuedouble >= 0)
		printf("+%.0f", fa->valuedouble);
	else
		printf("-");
	if (cJSON_IsNumber(fr) && fr->valuedouble >= 0)
		printf("\t-%.0f\n", fr->valuedouble);
	else
		printf("\t-\n");
	free(ptext);
}

/* A JSON string, escaped. */
static void put_jstr(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* An Iceberg snapshot of history.json (exact ids: lm_json keeps numbers' text):
 * id, time, operation, summary (compact JSON, without operation), +added -deleted
 * data files. */
static void ice_hist_line(const struct lm_json *s)
{
	const struct lm_json *id = lm_json_get(s, "snapshot_id");
	const char *ts = lm_json_str(lm_json_get(s, "timestamp"));
	const char *op = lm_json_str(lm_json_get(s, "operation"));
	const struct lm_json *sum = lm_json_get(s, "summary");
	const char *add = lm_json_str(lm_json_get(sum, "added-data-files"));
	const char *del = lm_json_str(lm_json_get(sum, "deleted-data-files"));
	bool first = true;

	printf("%s\t%s\t%s\t", id && id->type == LM_JSON_NUMBER ? id->u.str : "-", ts ? ts : "-",
	       op ? op : "-");
	if (sum && sum->type == LM_JSON_OBJECT) {
		putchar('{');
		for (uint32_t i = 0; i < sum->n; i++) {
			const struct lm_json *kv = &sum->u.kids[i];

			if (!strcmp(kv->key, "operation") || kv->type != LM_JSON_STRING)
				continue;
			if (!first)
				putchar(',');
			first = false;
			put_jstr(kv->key);
			putchar(':');
			put_jstr(kv->u.str);
		}
		putchar('}');
	} else {
		putchar('-');
	}
	printf("\t%s%s\t%s%s\n", add ? "+" : "", add ? add : "-", del ? "-" : "", del ? del : "-");
}

static int cmd_history(struct lm_table *t, bool json)
{
	struct lm_json_doc *doc = NULL;
	const cJSON *arr, *e;
	cJSON *root = NULL;
	struct lm_buf b;
	struct lm_err err;
	bool imm;
	int rc;

	lm_buf_init(&b, 0);
	lm_err_init(&err);
	rc = lm_table_info_read(t, "history.json", &b, &imm, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	if (json) {
		fwrite(b.data ? b.data : "", 1, b.len, stdout);
		goto out;
	}
	if (t->fmt == LM_TABLE_ICEBERG) {
		const struct lm_json *snaps;

		if (lm_json_parse(b.data ? b.data : "", b.len, NULL, &doc, &err) ||
		    !(snaps = lm_json_get(lm_json_doc_root(doc), "snapshots")) ||
		    snaps->type != LM_JSON_ARRAY) {
			fprintf(stderr, "lmctl: table %s: history could not be read\n", lm_table_name(t));
			rc = 2;
			goto out;
		}
		for (uint32_t i = snaps->n; i > 0; i--)   /* newest first, like Delta's */
			ice_hist_line(&snaps->u.kids[i - 1]);
		goto out;
	}
	root = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	arr = root ? cJSON_GetObjectItemCaseSensitive(root, "history") : NULL;
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "lmctl: table %s: history could not be read\n", lm_table_name(t));
		rc = 2;
		goto out;
	}
	cJSON_ArrayForEach(e, arr)
		hist_line(e);
out:
	lm_json_doc_free(doc);
	cJSON_Delete(root);
	lm_buf_free(&b);
	return rc;
}

/* ---------- diff ---------- */

/* What a diff line is about: a data file, or (Iceberg) a delete file of a kind. */
enum df_kind { DF_DATA, DF_POS_DELETES, DF_EQ_DELETES, DF_DV };

static const char *df_kind_name(int k)
{
	return k == DF_POS_DELETES ? "position-deletes" : k == DF_EQ_DELETES ? "equality-deletes" :
	       k == DF_DV ? "deletion-vector" : "data";
}

struct df_file {
	const char *path;
	uint64_t size;
	int64_t rows;       /* -1 unknown; delete files: the records they hold */
	int kind;           /* enum df_kind */
	int64_t dv_rows;    /* Delta: rows its deletion vector removes, 0 none, -1 unknown */
};

struct df_side {
	struct df_file *f;  /* data files, sorted by path */
	size_t n;
	struct df_file *d;  /* Iceberg delete files, sorted (df_del_cmp) */
	size_t nd;
	char label[80];
	struct lm_snapshot *snap;
	struct lm_iceberg_scan *scan;
};

static void df_side_free(struct df_side *s)
{
	free(s->f);
	free(s->d);
	lm_snapshot_unref(s->snap);
	lm_iceberg_scan_free(s->scan);
}

/* A version argument to a view key: Delta "N"/"vN"/"@vN"; Iceberg "N"/"vN"/"@vN"
 * (metadata version) or "snap-ID"/"@snap-ID"/"sID" (snapshot). */
static int df_key(const struct lm_table *t, const char *arg, char *key, size_t ksz,
		  char *label, size_t lsz)
{
	int64_t x;
	const char *a = arg[0] == '@' ? arg + 1 : arg;

	if (t->fmt == LM_TABLE_ICEBERG && (!strncmp(a, "snap-", 5) || a[0] == 's')) {
		a += a[0] == 's' && a[1] != 'n' ? 1 : 5;
		if (lm_parse_i64(a, &x) || x < 0)
			return EINVAL;
		snprintf(key, ksz, "s%" PRId64, x);
		snprintf(label, lsz, "@snap-%" PRId64, x);
		return 0;
	}
	if (a[0] == 'v')
		a++;
	if (lm_parse_i64(a, &x) || x < 0)
		return EINVAL;
	snprintf(key, ksz, t->fmt == LM_TABLE_ICEBERG ? "v%" PRId64 : "%" PRId64, x);
	snprintf(label, lsz, "@v%" PRId64, x);
	return 0;
}

static int df_load(struct lm_table *t, const char *arg, struct df_side *s)
{
	struct lm_err err;
	char key[64];
	int rc;

	if (df_key(t, arg, key, sizeof(key), s->label, sizeof(s->label))) {
		fprintf(stderr, "lmctl: table %s: '%s' is not a version%s\n", lm_table_name(t), arg,
			t->fmt == LM_TABLE_ICEBERG ? " (N, @vN or @snap-ID)" : "");
		return 2;
	}
	lm_err_init(&err);
	if (t->fmt == LM_TABLE_ICEBERG) {
		rc = lm_iceberg_table_scan(t, key, &s->scan, &err);
		if (!rc) {
			s->n = s->scan->ndata;
			s->f = calloc(s->n ? s->n : 1, sizeof(*s->f));
			for (size_t i = 0; s->f && i < s->n; i++) {
				s->f[i].path = s->scan->data[i].path;
				s->f[i].size = s->scan->data[i].size;
				s->f[i].rows = s->scan->data[i].record_count;
			}
			/* Delete files are what a row-level DELETE/UPDATE/MERGE adds: a diff
			 * without them would say "nothing changed". Named as the manifest
			 * does when they cannot be placed inside the table. */
			s->nd = s->scan->ndeletes;
			s->d = calloc(s->nd ? s->nd : 1, sizeof(*s->d));
			for (size_t i = 0; s->d && i < s->nd; i++) {
				const struct lm_iceberg_file *x = &s->scan->deletes[i];

				s->d[i].path = x->path ? x->path : x->raw;
				s->d[i].size = x->size;
				s->d[i].rows = x->record_count;
				s->d[i].kind = x->dv ? DF_DV : x->content == LM_ICEBERG_FILE_EQ_DELETES ?
					       DF_EQ_DELETES : DF_POS_DELETES;
			}
			if (!s->d) {   /* reported as out of memory below */
				free(s->f);
				s->f = NULL;
			}
		}
	} else {
		rc = lm_table_snapshot(t, key, &s->snap, &err);
		if (!rc) {
			s->n = s->snap->nfiles;
			s->f = calloc(s->n ? s->n : 1, sizeof(*s->f));
			for (size_t i = 0; s->f && i < s->n; i++) {
				s->f[i].path = s->snap->files[i].path;
				s->f[i].size = s->snap->files[i].size;
				s->f[i].rows = -1;
				s->f[i].dv_rows = !(s->snap->files[i].flags & LM_FILE_HAS_DV) ? 0 :
						  s->snap->files[i].deleted_rows < 0 ? -1 :
						  s->snap->files[i].deleted_rows;
			}
		}
	}
	if (rc) {
		fprintf(stderr, "lmctl: %s [%s]\n", err.msg, reason_word(&err, rc));
		return rc == ENOENT || err.reason ? 1 : 2;
	}
	if (!s->f) {
		fprintf(stderr, "lmctl: out of memory\n");
		return 2;
	}
	return 0;
}

static int df_cmp(const void *a, const void *b)
{
	return strcmp(((const struct df_file *)a)->path, ((const struct df_file *)b)->path);
}

/* Delete files: several deletion vectors may share one Puffin file, so the whole
 * description is the key (a multiset: equal entries pair up one by one). */
static int df_del_cmp(const void *a, const void *b)
{
	const struct df_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->rows != y->rows)
		return x->rows < y->rows ? -1 : 1;
	return x->kind - y->kind;
}

static int df_ptr_cmp(const void *a, const void *b)
{
	return strcmp((*(struct df_file *const *)a)->path, (*(struct df_file *const *)b)->path);
}

/* Delta: numRecords of the diff's files from add (and remove) stats, reading commits
 * from hi down to 0 until every file has a count (best effort: a file only a checkpoint
 * adds keeps "unknown"). */
static void df_delta_rows(struct lm_table *t, int64_t hi, struct df_file **fs, size_t nfs,
			  struct progress *pg)
{
	struct lm_version_info *v = NULL;
	size_t n = 0, left = nfs;
	struct lm_err err;
	struct lm_buf buf;

	lm_err_init(&err);
	if (!nfs || lm_delta_table_versions(t, &v, &n, &err))
		return;
	lm_buf_init(&buf, (size_t)1 << 30);
	for (size_t i = n; i > 0 && left; i--) {
		const char *line, *end;
		char name[48], *key, *dir;

		if (v[i - 1].version > hi || !v[i - 1].has_commit)
			continue;
		progress_cb(pg, "stats", n - i, n);
		snprintf(name, sizeof(name), "_delta_log/%020" PRId64 ".json", v[i - 1].version);
		dir = (char *)lm_table_key(t);
		key = lm_path_join(dir, name);
		lm_buf_reset(&buf);
		if (!key || lm_store_get_all(t->store, key, (size_t)1 << 30, &buf, NULL, &err)) {
			free(key);
			continue;
		}
		free(key);
		line = buf.data;
		end = buf.data ? buf.data + buf.len : NULL;
		while (line && line < end) {
			const char *nl = memchr(line, '\n', (size_t)(end - line));
			size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
			cJSON *j = NULL, *act, *p, *st;
			char *dec = NULL;

			if (ll > 7 && memmem(line, ll, "numRecords", 10))
				j = cJSON_ParseWithLength(line, ll);
			act = cJSON_GetObjectItemCaseSensitive(j, "add");
			if (!act)
				act = cJSON_GetObjectItemCaseSensitive(j, "remove");
			p = cJSON_GetObjectItemCaseSensitive(act, "path");
			st = cJSON_GetObjectItemCaseSensitive(act, "stats");
			if (cJSON_IsString(p) && cJSON_IsString(st) &&
			    !lm_pct_decode(p->valuestring, strlen(p->valuestring), &dec)) {
				struct df_file key2 = { .path = dec }, *kp = &key2;
				struct df_file **hit = bsearch(&kp, fs, nfs, sizeof(*fs), df_ptr_cmp);
				cJSON *sj = hit && (*hit)->rows < 0 ? cJSON_Parse(st->valuestring) : NULL;
				cJSON *nr = cJSON_GetObjectItemCaseSensitive(sj, "numRecords");

				if (cJSON_IsNumber(nr) && nr->valuedouble >= 0) {
					(*hit)->rows = (int64_t)nr->valuedouble;
					left--;
				}
				cJSON_Delete(sj);
			}
			free(dec);
			cJSON_Delete(j);
			line += ll + 1;
		}
	}
	progress_end(pg);
	lm_buf_free(&buf);
	free(v);
}

/* One array of diff entries: data files (rows) or delete files (records, content). */
static void df_json_files(cJSON *root, const char *name, struct df_file **v, size_t nv,
			  bool deletes)
{
	cJSON *arr = cJSON_AddArrayToObject(root, name);

	for (size_t k = 0; k < nv; k++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "path", v[k]->path);
		add_i64(o, "size", (int64_t)v[k]->size);
		add_opt(o, deletes ? "records" : "rows", v[k]->rows);
		if (deletes)
			cJSON_AddStringToObject(o, "content", df_kind_name(v[k]->kind));
		cJSON_AddItemToArray(arr, o);
	}
}

static int cmd_diff(struct lm_table *t, const char *a1, const char *a2, bool json,
		    struct progress *pg)
{
	struct df_side s1 = { 0 }, s2 = { 0 };
	struct df_file **add = NULL, **rem = NULL, **all = NULL;
	struct df_file **dadd = NULL, **drem = NULL, **dv1 = NULL, **dv2 = NULL;
	size_t na = 0, nr = 0, nda = 0, ndr = 0, ndv = 0, i = 0, j = 0;
	uint64_t ba = 0, br = 0;
	int64_t ra = 0, rr = 0;
	bool ra_known = true, rr_known = true;
	int rc;

	if ((rc = df_load(t, a1, &s1)) || (rc = df_load(t, a2, &s2)))
		goto out;
	qsort(s1.f, s1.n, sizeof(*s1.f), df_cmp);
	qsort(s2.f, s2.n, sizeof(*s2.f), df_cmp);
	if (s1.d)
		qsort(s1.d, s1.nd, sizeof(*s1.d), df_del_cmp);
	if (s2.d)
		qsort(s2.d, s2.nd, sizeof(*s2.d), df_del_cmp);
	add = calloc(s2.n + 1, sizeof(*add));
	rem = calloc(s1.n + 1, sizeof(*rem));
	all = calloc(s1.n + s2.n + 1, sizeof(*all));
	dadd = calloc(s2.nd + 1, sizeof(*dadd));
	drem = calloc(s1.nd + 1, sizeof(*drem));
	dv1 = calloc(s1.n + 1, sizeof(*dv1));
	dv2 = calloc(s1.n + 1, sizeof(*dv2));
	if (!add || !rem || !all || !dadd || !drem || !dv1 || !dv2) {
		fprintf(stderr, "lmctl: out of memory\n");
		rc = 2;
		goto out;
	}
	while (i < s1.n || j < s2.n) {
		int c = i >= s1.n ? 1 : j >= s2.n ? -1 : strcmp(s1.f[i].path, s2.f[j].path);

		if (c < 0) {
			rem[nr++] = &s1.f[i++];
		} else if (c > 0) {
			add[na++] = &s2.f[j++];
		} else {
			if (s1.f[i].size != s2.f[j].size) {   /* same name, other bytes */
				rem[nr++] = &s1.f[i];
				add[na++] = &s2.f[j];
			} else if (s1.f[i].dv_rows != s2.f[j].dv_rows) {
				/* Delta: the same file, other rows deleted (a DELETE, UPDATE or
				 * MERGE that wrote a deletion vector instead of a new file) */
				dv1[ndv] = &s1.f[i];
				dv2[ndv++] = &s2.f[j];
			}
			i++;
			j++;
		}
	}
	for (i = 0, j = 0; i < s1.nd || j < s2.nd;) {
		int c = i >= s1.nd ? 1 : j >= s2.nd ? -1 : df_del_cmp(&s1.d[i], &s2.d[j]);

		if (c < 0) {
			drem[ndr++] = &s1.d[i++];
		} else if (c > 0) {
			dadd[nda++] = &s2.d[j++];
		} else {
			i++;
			j++;
		}
	}
	if (t->fmt == LM_TABLE_DELTA && (na || nr)) {
		int64_t v1 = s1.snap->version, v2 = s2.snap->version;

		memcpy(all, add, na * sizeof(*all));
		memcpy(all + na, rem, nr * sizeof(*all));
		qsort(all, na + nr, sizeof(*all), df_ptr_cmp);
		df_delta_rows(t, v1 > v2 ? v1 : v2, all, na + nr, pg);
	}
	for (size_t k = 0; k < na; k++) {
		ba += add[k]->size;
		if (add[k]->rows < 0)
			ra_known = false;
		else
			ra += add[k]->rows;
	}
	for (size_t k = 0; k < nr; k++) {
		br += rem[k]->size;
		if (rem[k]->rows < 0)
			rr_known = false;
		else
			rr += rem[k]->rows;
	}
	if (json) {
		cJSON *root = cJSON_CreateObject(), *arr;
		char *text;

		cJSON_AddStringToObject(root, "table", lm_table_name(t));
		cJSON_AddStringToObject(root, "format", t->fmt == LM_TABLE_ICEBERG ? "iceberg" : "delta");
		cJSON_AddStringToObject(root, "from", s1.label);
		cJSON_AddStringToObject(root, "to", s2.label);
		df_json_files(root, "added", add, na, false);
		df_json_files(root, "removed", rem, nr, false);
		df_json_files(root, "deletes_added", dadd, nda, true);
		df_json_files(root, "deletes_removed", drem, ndr, true);
		arr = cJSON_AddArrayToObject(root, "deletion_vectors_changed");
		for (size_t k = 0; k < ndv; k++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "path", dv2[k]->path);
			add_i64(o, "size", (int64_t)dv2[k]->size);
			add_opt(o, "deleted_rows_from", dv1[k]->dv_rows);
			add_opt(o, "deleted_rows_to", dv2[k]->dv_rows);
			cJSON_AddItemToArray(arr, o);
		}
		add_i64(root, "added_bytes", (int64_t)ba);
		add_i64(root, "removed_bytes", (int64_t)br);
		if (ra_known)
			add_i64(root, "added_rows", ra);
		else
			cJSON_AddNullToObject(root, "added_rows");
		if (rr_known)
			add_i64(root, "removed_rows", rr);
		else
			cJSON_AddNullToObject(root, "removed_rows");
		text = cJSON_Print(root);
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	} else {
		char r1[32] = "?", r2[32] = "?";

		if (ra_known)
			snprintf(r1, sizeof(r1), "%" PRId64, ra);
		if (rr_known)
			snprintf(r2, sizeof(r2), "%" PRId64, rr);
		printf("diff %s %s..%s: +%zu files (%" PRIu64 " bytes, %s rows), -%zu files (%" PRIu64
		       " bytes, %s rows)", lm_table_name(t), s1.label, s2.label, na, ba, r1, nr, br, r2);
		if (t->fmt == LM_TABLE_ICEBERG)
			printf("; delete files +%zu, -%zu\n", nda, ndr);
		else
			printf("; deletion vectors changed: %zu\n", ndv);
		for (size_t k = 0; k < na; k++) {
			printf("+\t%s\t%" PRIu64 "\t", add[k]->path, add[k]->size);
			if (add[k]->rows >= 0)
				printf("%" PRId64 "\n", add[k]->rows);
			else
				printf("-\n");
		}
		for (size_t k = 0; k < nr; k++) {
			printf("-\t%s\t%" PRIu64 "\t", rem[k]->path, rem[k]->size);
			if (rem[k]->rows >= 0)
				printf("%" PRId64 "\n", rem[k]->rows);
			else
				printf("-\n");
		}
		for (size_t k = 0; k < nda + ndr; k++) {
			const struct df_file *d = k < nda ? dadd[k] : drem[k - nda];

			printf("%s\t%s\t%" PRIu64 "\t", k < nda ? "+del" : "-del", d->path, d->size);
			if (d->rows >= 0)
				printf("%" PRId64, d->rows);
			else
				printf("-");
			printf("\t%s\n", df_kind_name(d->kind));
		}
		for (size_t k = 0; k < ndv; k++) {
			printf("~dv\t%s\t%" PRIu64 "\t", dv2[k]->path, dv2[k]->size);
			if (dv1[k]->dv_rows >= 0)
				printf("%" PRId64, dv1[k]->dv_rows);
			else
				printf("-");
			if (dv2[k]->dv_rows >= 0)
				printf("\t%" PRId64 "\n", dv2[k]->dv_rows);
			else
				printf("\t-\n");
		}
	}
	rc = 0;
out:
	free(add);
	free(rem);
	free(all);
	free(dadd);
	free(drem);
	free(dv1);
	free(dv2);
	df_side_free(&s1);
	df_side_free(&s2);
	return rc;
}

int main(int argc, char **argv)
{
	struct lm_store *store = NULL;
	struct lm_table *t = NULL;
	struct progress pg = { 0 };
	enum lm_table_format fmt = LM_TABLE_DELTA;
	const char *pos[4] = { NULL };
	size_t npos = 0;
	struct lm_err err;
	int rc;

	bool json = false, summary = false;
	int64_t min_age_ms = 3600 * 1000;
	const char *table, *cmd;

	if (argc < 3)
		return usage();
	cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		int64_t sec;

		if (!strcmp(cmd, "files") && !strcmp(argv[i], "--summary")) {
			summary = true;
		} else if (!strcmp(cmd, "versions") || !strcmp(cmd, "files")) {
			if (npos == 4)
				return usage();
			pos[npos++] = argv[i];
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(cmd, "check") && !strncmp(argv[i], "--min-age=", 10) &&
			   !lm_parse_i64(argv[i] + 10, &sec) && sec >= 0 && sec <= INT64_MAX / 1000) {
			min_age_ms = sec * 1000;
		} else if (!strcmp(cmd, "check") && !strncmp(argv[i], "--retention=", 12) &&
			   !lm_parse_i64(argv[i] + 12, &sec) && sec >= 0 &&
			   sec <= INT64_MAX / 3600000) {
			ck_retention_ms = sec * 3600000;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			return usage();
		} else {
			if (npos == 4)
				return usage();
			pos[npos++] = argv[i];
		}
	}
	if (!npos)
		return usage();
	table = pos[0];
	lm_log_set_level(LM_LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lm_err_init(&err);
	rc = lm_store_open(table, NULL, &store, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		return 2;
	}
	/* Iceberg when metadata/ holds a metadata file; Delta otherwise. */
	if (lm_iceberg_detect(store, "", &err) == 1)
		fmt = LM_TABLE_ICEBERG;
	rc = lm_table_open(store, "", table, fmt, &t, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	pg.on = isatty(STDERR_FILENO);
	t->progress = progress_cb;
	t->progress_ud = &pg;
	if (!strcmp(cmd, "versions") && npos == 1 && fmt == LM_TABLE_DELTA)
		rc = cmd_versions(t);
	else if (!strcmp(cmd, "check") && npos == 1)
		rc = cmd_check(t, json, min_age_ms, &pg);
	else if (!strcmp(cmd, "history") && npos == 1)
		rc = cmd_history(t, json);
	else if (!strcmp(cmd, "diff") && npos == 3)
		rc = cmd_diff(t, pos[1], pos[2], json, &pg);
	else if (!strcmp(cmd, "files") && npos == 2 && fmt == LM_TABLE_DELTA)
		rc = cmd_files(t, pos[1], summary);
	else if ((!strcmp(cmd, "versions") || !strcmp(cmd, "files")) && fmt != LM_TABLE_DELTA) {
		fprintf(stderr, "lmctl: table %s: %s reads Delta tables; for Iceberg use history, "
			"diff or the mount (@v<N>, @snap-<id>)\n", table, cmd);
		rc = 2;
	} else
		rc = usage();
out:
	progress_end(&pg);
	lm_table_free(t);
	lm_store_free(store);
	curl_global_cleanup();
	return rc;
}
