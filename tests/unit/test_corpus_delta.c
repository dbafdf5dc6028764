/* Unit tests: the Delta replay on ../shared/corpus in place (never copied): every
 * version of EXPECTED.tsv and EXPECTED-json-replay-checkpointed.tsv listed exactly, and
 * every status row refused with its reason word. Built only when the corpus exists
 * (tests/unit/meson.build says loudly when it does not). */
#include "helpers.h"

#include "lm/delta.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

/* Snapshot of Delta version v (the driver's key is the decimal version). */
static int snap_v(struct lm_table *t, int64_t v, struct lm_snapshot **out, struct lm_err *err)
{
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)v);
	return lm_table_snapshot(t, key, out, err);
}

/* ---- the shared corpus, in place ---- */

static char *next_field(char **p)
{
	char *s = *p, *e;

	if (!s)
		return NULL;
	e = strchr(s, '\t');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare one numeric row of an EXPECTED file with the replay. */
static int check_row(const char *corpus, char *table, int64_t v, size_t count, char *paths,
		     int *n_rows)
{
	char troot[4096];
	struct lm_store *s = NULL;
	struct lm_table *t = NULL;
	struct lm_snapshot *snap = NULL;
	struct lm_err err;
	int bad = 0;

	snprintf(troot, sizeof(troot), "%s/delta/%s", corpus, table);
	lm_err_init(&err);
	cr_assert_eq(lm_store_local_new(troot, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_table_open(s, "", table, LM_TABLE_DELTA, &t, &err), 0);
	if (snap_v(t, v, &snap, &err)) {
		cr_log_error("corpus %s v%lld: refused: %s", table, (long long)v, err.msg);
		bad = 1;
		goto out;
	}
	(*n_rows)++;
	if (snap->nfiles != count) {
		cr_log_error("corpus %s v%lld: %zu files, expected %zu", table, (long long)v,
			     snap->nfiles, count);
		bad = 1;
		goto out;
	}
	if (strncmp(paths, "sha256:", 7) != 0 && count) {
		char **want = calloc(count, sizeof(*want)), *save = NULL, *tok;
		size_t k = 0;

		for (tok = strtok_r(paths, ",", &save); tok && k < count;
		     tok = strtok_r(NULL, ",", &save))
			cr_assert_eq(lm_pct_decode(tok, strlen(tok), &want[k++]), 0);
		qsort(want, k, sizeof(*want), cmp_str);
		for (size_t i = 0; i < k; i++) {
			if (strcmp(want[i], snap->files[i].path)) {
				cr_log_error("corpus %s v%lld: file %zu is '%s', expected '%s'", table,
					     (long long)v, i, snap->files[i].path, want[i]);
				bad = 1;
				break;
			}
		}
		for (size_t i = 0; i < k; i++)
			free(want[i]);
		free(want);
	}
out:
	lm_snapshot_unref(snap);
	lm_table_free(t);
	lm_store_free(s);
	return bad;
}

static void run_expected(const char *file)
{
	const char *corpus = getenv("LM_CORPUS");
	char path[4096], *line = NULL;
	size_t cap = 0;
	int bad = 0, rows = 0;
	FILE *f;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found at LM_CORPUS=%s",
		  corpus ? corpus : "");
	snprintf(path, sizeof(path), "%s/%s", corpus, file);
	f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	while (getline(&line, &cap, f) > 0) {
		char *p = line, *table, *ver, *cnt, *paths;
		int64_t v;

		line[strcspn(line, "\n")] = '\0';
		table = next_field(&p);
		ver = next_field(&p);
		cnt = next_field(&p);
		paths = p ? p : (char *)"";
		if (!table || !ver || !cnt || !strcmp(ver, "*"))
			continue;
		/* The replay file lists its published v0, but the table keeps commits in
		 * _delta_log/_staged_commits/ (catalog-managed): it is refused on purpose
		 * (status_rows_are_refused checks that). */
		if (!strcmp(table, "kernel-catalog-owned-preview"))
			continue;
		cr_assert_eq(lm_parse_i64(ver, &v), 0);
		bad += check_row(corpus, table, v, strtoul(cnt, NULL, 10), paths, &rows);
	}
	free(line);
	fclose(f);
	cr_log_info("%s: %d rows replayed, %d wrong", file, rows, bad);
	cr_assert_eq(bad, 0, "%d corpus rows differ from %s", bad, file);
	cr_assert_gt(rows, 100);
}

Test(corpus, expected_tsv, .timeout = 600)
{
	run_expected("EXPECTED.tsv");
}

Test(corpus, expected_json_replay_checkpointed, .timeout = 600)
{
	run_expected("EXPECTED-json-replay-checkpointed.tsv");
}

/* Every status row gets its precise refusal. */
Test(corpus, status_rows_are_refused, .timeout = 300)
{
	static const struct {
		const char *table, *reason;
		int64_t version;
	} cases[] = {
		{ "golden-versions-not-contiguous", "log-gap", 2 },
		{ "golden-deltalog-invalid-protocol-version", "unsupported-reader-version", 0 },
		{ "deltars-simple_table_features", "unsupported-reader-version", 0 },
		{ "golden-deltalog-state-reconstruction-without-metadata", "missing-metadata", 0 },
		{ "golden-deltalog-state-reconstruction-without-protocol", "missing-protocol", 0 },
		{ "golden-canonicalized-paths-normal-a", "path-escape", 1 },
		{ "golden-canonicalized-paths-special-a", "path-escape", 1 },
		{ "dat-no_replay", "needs-checkpoint", 2 },
		{ "deltars-checkpoints_vacuumed", "needs-checkpoint", 5 },
		{ "deltars-checkpoint_with_partitions", "needs-checkpoint", 1 },
		{ "deltars-errlogs-table_g", "needs-checkpoint", 9999 },
		{ "kernel-catalog-owned-preview", "catalog-managed", 0 },
	};
	const char *corpus = getenv("LM_CORPUS");

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char troot[4096];
		struct lm_store *s = NULL;
		struct lm_table *t = NULL;
		struct lm_snapshot *snap = NULL;
		struct lm_err err;
		int rc;

		snprintf(troot, sizeof(troot), "%s/delta/%s", corpus, cases[i].table);
		lm_err_init(&err);
		cr_assert_eq(lm_store_local_new(troot, &s, &err), 0, "%s", err.msg);
		cr_assert_eq(lm_table_open(s, "", cases[i].table, LM_TABLE_DELTA, &t, &err), 0);
		rc = snap_v(t, cases[i].version, &snap, &err);
		cr_assert_neq(rc, 0, "%s v%lld must be refused", cases[i].table,
			      (long long)cases[i].version);
		cr_assert(err.reason && !strcmp(err.reason, cases[i].reason),
			  "%s: reason %s, want %s (%s)", cases[i].table,
			  err.reason ? err.reason : "(none)", cases[i].reason, err.msg);
		cr_assert(strstr(err.msg, cases[i].table), "message names the table: %s", err.msg);
		lm_table_free(t);
		lm_store_free(s);
	}
	{
		/* no commits at all: a table with no versions */
		char troot[4096];
		struct lm_store *s = NULL;
		struct lm_table *t = NULL;
		struct lm_version_info *v = NULL;
		struct lm_err err;
		size_t n = 99;

		snprintf(troot, sizeof(troot), "%s/delta/kernelrs-crc-malformed", corpus);
		cr_assert_eq(lm_store_local_new(troot, &s, &err), 0);
		cr_assert_eq(lm_table_open(s, "", "x", LM_TABLE_DELTA, &t, &err), 0);
		cr_assert_eq(lm_delta_table_versions(t, &v, &n, &err), 0);
		cr_assert_eq(n, 0);
		free(v);
		lm_table_free(t);
		lm_store_free(s);
	}
}

/* ---- the add/remove fast path must mean exactly what the cJSON path means ---- */

static void same_actions(const struct lm_delta_file_action *a, size_t na,
			 const struct lm_delta_file_action *b, size_t nb, const char *what)
{
	cr_assert_eq(na, nb, "%s: %zu vs %zu actions", what, na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_str_eq(a[i].path, b[i].path, "%s #%zu", what, i);
		cr_assert_eq(a[i].size, b[i].size, "%s #%zu size", what, i);
		cr_assert_eq(a[i].mtime_ms, b[i].mtime_ms, "%s #%zu mtime", what, i);
		cr_assert_eq(a[i].flags, b[i].flags, "%s #%zu flags", what, i);
		cr_assert_eq(a[i].dv_cardinality, b[i].dv_cardinality, "%s #%zu card", what, i);
		if (a[i].dv_id || b[i].dv_id)
			cr_assert_str_eq(a[i].dv_id, b[i].dv_id, "%s #%zu dv", what, i);
	}
}

/* Parse text both ways; both must agree on success/failure and on every action. */
static void both_ways(const char *text, size_t len, const char *what)
{
	struct lm_delta_commit f, s;
	struct lm_err ef, es;
	int rf, rs;

	lm_delta_commit_init(&f);
	lm_delta_commit_init(&s);
	lm_delta_fast_path = true;
	rf = lm_delta_commit_parse(text, len, &f, &ef);
	lm_delta_fast_path = false;
	rs = lm_delta_commit_parse(text, len, &s, &es);
	lm_delta_fast_path = true;
	cr_assert_eq(rf, rs, "%s: fast %d (%s) vs cJSON %d (%s)", what, rf, rf ? ef.msg : "",
		     rs, rs ? es.msg : "");
	if (!rf) {
		same_actions(f.adds, f.n_adds, s.adds, s.n_adds, what);
		same_actions(f.removes, f.n_removes, s.removes, s.n_removes, what);
	} else {
		cr_assert_str_eq(ef.msg, es.msg, "%s: same error message", what);
	}
	lm_delta_commit_free(&f);
	lm_delta_commit_free(&s);
}

/* Every commit file of the corpus decodes identically both ways. */
Test(delta_fast, agrees_with_cjson_on_the_corpus, .timeout = 300)
{
	const char *corpus = getenv("LM_CORPUS");
	char cmd[4200], *line = NULL;
	size_t cap = 0, files = 0;
	FILE *lst;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	snprintf(cmd, sizeof(cmd), "find '%s/delta' -path '*/_delta_log/*.json' -size -20M", corpus);
	lst = popen(cmd, "r");
	cr_assert(lst);
	while (getline(&line, &cap, lst) > 0) {
		FILE *f;
		char *buf;
		long n;

		line[strcspn(line, "\n")] = '\0';
		f = fopen(line, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		both_ways(buf, (size_t)n, line);
		free(buf);
		files++;
	}
	free(line);
	pclose(lst);
	cr_assert_gt(files, 500);
}
