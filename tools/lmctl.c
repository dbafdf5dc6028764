/* lmctl — inspect tables without FUSE, from the same core library as the daemon.
 *   lmctl versions TABLE        one line per version: N, status, commit time, files
 *   lmctl files TABLE N         the live files of version N: path, size, mtime
 *   lmctl check [--json] [--min-age=SECONDS] TABLE
 *                               fsck: log gaps, refused versions, missing files, orphans,
 *                               removed-but-present files, the RESTORE target
 *   lmctl history [--json] TABLE  DESCRIBE HISTORY (what @info/history.json holds):
 *                               version, time, operation, parameters, files +/-
 * TABLE is a table root: a local directory or s3://bucket/prefix.
 * Exit: 0 ok, 1 the table/version was refused (reason on stderr) or check found
 * problems, 2 could not run.
 * May call: store, table, snapshot. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "lm/log.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: lmctl versions TABLE\n"
			"       lmctl files TABLE VERSION\n"
			"       lmctl check [--json] [--min-age=SECONDS] TABLE\n"
			"       lmctl history [--json] TABLE\n"
			"TABLE: a Delta table root, local directory or s3://bucket/prefix\n");
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

static int cmd_files(struct lm_table *t, const char *vs)
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
	for (size_t i = 0; i < s->nfiles; i++)
		printf("%s\t%" PRIu64 "\t%" PRId64 "\n", s->files[i].path, s->files[i].size,
		       s->files[i].mtime_ms);
	lm_snapshot_unref(s);
	return 0;
}

/* One refused version, for check. */
struct ck_refused {
	int64_t version;
	const char *word;
	char msg[LM_ERR_MSG];
};

static cJSON *ck_file_json(const struct lm_forensic_file *f)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "path", f->path);
	cJSON_AddNumberToObject(o, "size", (double)f->size);
	if (f->kind == LM_FX_MISSING) {
		cJSON_AddNumberToObject(o, "first_version", (double)f->first_version);
		cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
		return o;
	}
	cJSON_AddNumberToObject(o, "last_modified_ms", (double)f->mtime_ms);
	if (f->last_version < 0) {
		cJSON_AddStringToObject(o, "reason", "never referenced");
	} else {
		cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
		cJSON_AddNumberToObject(o, "removed_version", (double)f->removed_version);
		cJSON_AddNumberToObject(o, "removed_ms", (double)f->removed_ms);
	}
	return o;
}

/* Problems (exit 1): gaps, refused versions, files missing from the newest version,
 * orphans. Reported but not problems: removed-but-present files (history VACUUM has not
 * deleted yet), files missing only from older versions (vacuumed), recent unreferenced
 * files (a writer may be in flight). */
static int cmd_check(struct lm_table *t, bool json, int64_t min_age_ms)
{
	struct lm_forensics *fx = NULL;
	struct lm_version_info *v = NULL;
	struct ck_refused *ref = NULL;
	size_t n = 0, nref = 0, ngaps = 0, missing_latest = 0;
	struct lm_err err;
	int rc;

	lm_err_init(&err);
	rc = lm_delta_table_versions(t, &v, &n, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	ref = calloc(n ? n : 1, sizeof(*ref));
	if (!ref) {
		rc = 2;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct lm_snapshot *s = NULL;
		char key[32];
		int r;

		if (i && v[i].version != v[i - 1].version + 1)
			ngaps++;
		snprintf(key, sizeof(key), "%" PRId64, v[i].version);
		lm_err_init(&err);
		r = lm_table_snapshot(t, key, &s, &err);
		if (!r) {
			lm_snapshot_unref(s);
			continue;
		}
		ref[nref].version = v[i].version;
		ref[nref].word = reason_word(&err, r);
		snprintf(ref[nref].msg, sizeof(ref[nref].msg), "%s", err.msg);
		nref++;
	}
	lm_err_init(&err);
	rc = lm_delta_forensics_run(t, lm_now_ms(), min_age_ms, &fx, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	for (size_t i = 0; i < fx->n; i++)
		if (fx->f[i].kind == LM_FX_MISSING && fx->f[i].last_version == fx->latest)
			missing_latest++;
	if (json) {
		cJSON *root = cJSON_CreateObject(), *a, *g, *arr[4];
		char *text;

		cJSON_AddStringToObject(root, "table", lm_table_name(t));
		cJSON_AddNumberToObject(root, "versions", (double)n);
		g = cJSON_AddArrayToObject(root, "gaps");
		for (size_t i = 1; i < n; i++) {
			if (v[i].version == v[i - 1].version + 1)
				continue;
			a = cJSON_CreateObject();
			cJSON_AddNumberToObject(a, "after", (double)v[i - 1].version);
			cJSON_AddNumberToObject(a, "before", (double)v[i].version);
			cJSON_AddItemToArray(g, a);
		}
		g = cJSON_AddArrayToObject(root, "refused");
		for (size_t i = 0; i < nref; i++) {
			a = cJSON_CreateObject();
			cJSON_AddNumberToObject(a, "version", (double)ref[i].version);
			cJSON_AddStringToObject(a, "reason", ref[i].word);
			cJSON_AddStringToObject(a, "message", ref[i].msg);
			cJSON_AddItemToArray(g, a);
		}
		arr[LM_FX_ORPHAN] = cJSON_AddArrayToObject(root, "orphans");
		arr[LM_FX_RECENT] = cJSON_AddArrayToObject(root, "recent");
		arr[LM_FX_REMOVED] = cJSON_AddArrayToObject(root, "removed");
		arr[LM_FX_MISSING] = cJSON_AddArrayToObject(root, "missing");
		for (size_t i = 0; i < fx->n; i++)
			cJSON_AddItemToArray(arr[fx->f[i].kind], ck_file_json(&fx->f[i]));
		if (fx->latest >= 0)
			cJSON_AddNumberToObject(root, "latest", (double)fx->latest);
		else
			cJSON_AddNullToObject(root, "latest");
		if (fx->restore >= 0)
			cJSON_AddNumberToObject(root, "restore_target", (double)fx->restore);
		else
			cJSON_AddNullToObject(root, "restore_target");
		text = cJSON_Print(root);
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	} else {
		printf("table %s: %zu versions, newest rebuilt %" PRId64 "\n", lm_table_name(t), n,
		       fx->latest);
		for (size_t i = 1; i < n; i++)
			if (v[i].version != v[i - 1].version + 1)
				printf("gap\t%" PRId64 "..%" PRId64 "\n", v[i - 1].version + 1,
				       v[i].version - 1);
		for (size_t i = 0; i < nref; i++)
			printf("refused\tv%" PRId64 "\t%s\t%s\n", ref[i].version, ref[i].word,
			       ref[i].msg);
		for (size_t i = 0; i < fx->n; i++) {
			const struct lm_forensic_file *f = &fx->f[i];

			if (f->kind == LM_FX_MISSING)
				printf("missing\t%s\treferenced by v%" PRId64 "..v%" PRId64 "\n", f->path,
				       f->first_version, f->last_version);
			else if (f->kind == LM_FX_REMOVED)
				printf("removed\t%s\t%" PRIu64 " bytes\tlast in v%" PRId64
				       ", removed in v%" PRId64 "\n", f->path, f->size,
				       f->last_version, f->removed_version);
			else
				printf("%s\t%s\t%" PRIu64 " bytes\tnever referenced, modified %" PRId64
				       " ms\n", lm_forensic_kind_name(f->kind), f->path, f->size,
				       f->mtime_ms);
		}
		printf("summary\t%zu gaps, %zu refused, %zu missing (%zu in the newest version), "
		       "%zu orphans, %zu recent, %zu removed-but-present\n", ngaps, nref,
		       fx->n_missing, missing_latest, fx->n_orphan, fx->n_recent, fx->n_removed);
		if (fx->restore >= 0)
			printf("restore\tv%" PRId64 " is the newest version whose files are all "
			       "present:\n\tcp -r MOUNT/%s/@v%" PRId64 " DESTINATION\n", fx->restore,
			       lm_table_name(t), fx->restore);
		else
			printf("restore\tno version has all its files present\n");
	}
	rc = (ngaps || nref || missing_latest || fx->n_orphan) ? 1 : 0;
out:
	lm_delta_forensics_free(fx);
	free(ref);
	free(v);
	return rc;
}

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

static int cmd_history(struct lm_table *t, bool json)
{
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
	cJSON_Delete(root);
	lm_buf_free(&b);
	return rc;
}

int main(int argc, char **argv)
{
	struct lm_store *store = NULL;
	struct lm_table *t = NULL;
	struct lm_err err;
	int rc;

	bool json = false;
	int64_t min_age_ms = 3600 * 1000;
	const char *table;

	if (argc < 3)
		return usage();
	table = argv[2];
	if (!strcmp(argv[1], "check") || !strcmp(argv[1], "history")) {
		int64_t sec;

		for (int i = 2; i < argc - 1; i++) {
			if (!strcmp(argv[i], "--json"))
				json = true;
			else if (!strcmp(argv[1], "check") && !strncmp(argv[i], "--min-age=", 10) &&
				 !lm_parse_i64(argv[i] + 10, &sec) && sec >= 0 &&
				 sec <= INT64_MAX / 1000)
				min_age_ms = sec * 1000;
			else
				return usage();
		}
		table = argv[argc - 1];
	}
	lm_log_set_level(LM_LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lm_err_init(&err);
	rc = lm_store_open(table, NULL, &store, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		return 2;
	}
	rc = lm_table_open(store, "", table, LM_TABLE_DELTA, &t, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	if (!strcmp(argv[1], "versions") && argc == 3)
		rc = cmd_versions(t);
	else if (!strcmp(argv[1], "check"))
		rc = cmd_check(t, json, min_age_ms);
	else if (!strcmp(argv[1], "history"))
		rc = cmd_history(t, json);
	else if (!strcmp(argv[1], "files") && argc == 4)
		rc = cmd_files(t, argv[3]);
	else
		rc = usage();
out:
	lm_table_free(t);
	lm_store_free(store);
	curl_global_cleanup();
	return rc;
}
