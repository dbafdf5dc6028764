/* lmctl — inspect tables without FUSE, from the same core library as the daemon.
 *   lmctl versions TABLE        one line per version: N, status, commit time, files
 *   lmctl files TABLE N         the live files of version N: path, size, mtime
 * TABLE is a table root: a local directory or s3://bucket/prefix.
 * Exit: 0 ok, 1 the table/version was refused (reason on stderr), 2 could not run.
 * May call: store, table, snapshot. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lm/log.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: lmctl versions TABLE\n"
			"       lmctl files TABLE VERSION\n"
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

int main(int argc, char **argv)
{
	struct lm_store *store = NULL;
	struct lm_table *t = NULL;
	struct lm_err err;
	int rc;

	if (argc < 3)
		return usage();
	lm_log_set_level(LM_LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lm_err_init(&err);
	rc = lm_store_open(argv[2], NULL, &store, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		return 2;
	}
	rc = lm_table_open(store, "", argv[2], LM_TABLE_DELTA, &t, &err);
	if (rc) {
		fprintf(stderr, "lmctl: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	if (!strcmp(argv[1], "versions") && argc == 3)
		rc = cmd_versions(t);
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
