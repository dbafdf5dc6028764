/* Unit tests: the Delta driver on ../shared/corpus in place (never copied): every
 * version of EXPECTED.tsv, EXPECTED-json-replay-checkpointed.tsv and
 * EXPECTED-checkpoint-oracle.tsv listed exactly — each version built twice, cold (no
 * listing of the whole log: _last_checkpoint and start-after listings) and after the
 * whole log was listed — every table showing exactly the versions those files name,
 * and every status row refused with its reason word. Built only when the corpus exists
 * (tests/unit/meson.build says loudly when it does not). */
#include "helpers.h"

#include <dirent.h>

#include <cjson/cJSON.h>

#include "lm/parquet.h"

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

/* Compare one numeric row of an EXPECTED file with the replay; listed: list the whole
 * log first (else the version is built cold, from a targeted listing). */
static int check_row(const char *corpus, char *table, int64_t v, size_t count, char *paths,
		     int *n_rows, bool listed)
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
	if (listed) {
		struct lm_table_view *views = NULL;
		size_t nv = 0;

		cr_assert_eq(lm_table_views(t, &views, &nv, &err), 0, "%s", err.msg);
		free(views);
	}
	if (snap_v(t, v, &snap, &err)) {
		cr_log_error("corpus %s v%lld%s: refused: %s", table, (long long)v,
			     listed ? " (listed)" : " (cold)", err.msg);
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
		char *copy = strdup(paths);
		size_t k = 0;

		for (tok = strtok_r(copy, ",", &save); tok && k < count;
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
		free(copy);
	} else if (count) {
		/* sha256 of the newline-joined sorted add.path strings: compare the count only
		 * (the paths of these big tables are checked by the integration test). */
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
		bad += check_row(corpus, table, v, strtoul(cnt, NULL, 10), paths, &rows, false);
		bad += check_row(corpus, table, v, strtoul(cnt, NULL, 10), paths, &rows, true);
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

Test(corpus, expected_checkpoint_oracle, .timeout = 600)
{
	run_expected("EXPECTED-checkpoint-oracle.tsv");
}

/* ---- which versions each table shows ---- */

struct tver {
	char table[256];
	int64_t v;          /* -1: a status row */
};

static size_t read_versions(const char *corpus, const char *file, struct tver **out, size_t n)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", corpus, file);
	f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	while (getline(&line, &cap, f) > 0) {
		char *p = line, *table = next_field(&p), *ver = next_field(&p);

		if (!table || !ver)
			continue;
		*out = realloc(*out, (n + 1) * sizeof(**out));
		snprintf((*out)[n].table, sizeof((*out)[n].table), "%s", table);
		if (!strcmp(ver, "*"))
			(*out)[n].v = -1;
		else
			cr_assert_eq(lm_parse_i64(ver, &(*out)[n].v), 0);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* Every table shows every version the EXPECTED files name; a table without a status
 * row shows exactly those. */
Test(corpus, shown_versions_match_the_expected_files, .timeout = 300)
{
	const char *corpus = getenv("LM_CORPUS");
	struct tver *rows = NULL;
	size_t n = 0, tables = 0;
	char dir[4096];
	struct dirent *de;
	DIR *d;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	n = read_versions(corpus, "EXPECTED.tsv", &rows, n);
	n = read_versions(corpus, "EXPECTED-json-replay-checkpointed.tsv", &rows, n);
	n = read_versions(corpus, "EXPECTED-checkpoint-oracle.tsv", &rows, n);
	snprintf(dir, sizeof(dir), "%s/delta", corpus);
	d = opendir(dir);
	cr_assert(d);
	while ((de = readdir(d))) {
		char troot[4400];
		struct lm_store *s = NULL;
		struct lm_table *t = NULL;
		struct lm_version_info *v = NULL;
		struct lm_err err;
		size_t nv = 0, want = 0;
		bool status = false;

		if (de->d_name[0] == '.')
			continue;
		snprintf(troot, sizeof(troot), "%s/%s", dir, de->d_name);
		cr_assert_eq(lm_store_local_new(troot, &s, &err), 0, "%s", err.msg);
		cr_assert_eq(lm_table_open(s, "", de->d_name, LM_TABLE_DELTA, &t, &err), 0);
		cr_assert_eq(lm_delta_table_versions(t, &v, &nv, &err), 0, "%s", err.msg);
		for (size_t i = 0; i < n; i++) {
			bool found = false;

			if (strcmp(rows[i].table, de->d_name))
				continue;
			if (rows[i].v < 0) {
				status = true;
				continue;
			}
			for (size_t k = 0; k < nv; k++)
				found = found || v[k].version == rows[i].v;
			cr_assert(found, "%s: version %lld is expected but not shown", de->d_name,
				  (long long)rows[i].v);
		}
		for (size_t k = 0; k < nv; k++) {
			bool named = false;

			for (size_t i = 0; i < n; i++)
				named = named || (!strcmp(rows[i].table, de->d_name) &&
						  rows[i].v == v[k].version);
			want += named;
			cr_assert(named || status, "%s: version %lld is shown but named by no EXPECTED file",
				  de->d_name, (long long)v[k].version);
		}
		tables++;
		free(v);
		lm_table_free(t);
		lm_store_free(s);
	}
	closedir(d);
	free(rows);
	cr_assert_gt(tables, 150);
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
		/* Versions older than the oldest checkpoint whose commits are gone, and versions
		 * absent from the log, do not exist (ENOENT), cold or listed. */
		static const struct {
			const char *table;
			int64_t version;
		} gone[] = {
			{ "deltars-checkpoint_with_partitions", 1 },
			{ "deltars-checkpoint_with_partitions", 0 },
			{ "dat-no_replay", 1 },
			{ "deltars-errlogs-table_g", 14 },
			{ "deltars-errlogs-table_g", 9998 },
			{ "deltars-checkpoints_vacuumed", 4 },
		};

		for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
			for (int listed = 0; listed < 2; listed++) {
				char troot[4096];
				struct lm_store *s = NULL;
				struct lm_table *t = NULL;
				struct lm_snapshot *snap = NULL;
				struct lm_err err;

				snprintf(troot, sizeof(troot), "%s/delta/%s", corpus, gone[i].table);
				cr_assert_eq(lm_store_local_new(troot, &s, &err), 0);
				cr_assert_eq(lm_table_open(s, "", gone[i].table, LM_TABLE_DELTA, &t, &err), 0);
				if (listed)
					cr_assert_eq(lm_table_refresh(t, &err), 0);
				cr_assert_eq(snap_v(t, gone[i].version, &snap, &err), ENOENT,
					     "%s v%lld must not exist (%s)", gone[i].table,
					     (long long)gone[i].version, err.msg);
				lm_table_free(t);
				lm_store_free(s);
			}
		}
	}
	{
		/* no commits at all: a table with no versions */
		char troot[4400];
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

#include "delta_both_ways.h"

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

/* ---- @info over the corpus: every deletion vector decodes to as many rows as its
 * cardinality says, every vN.json and history.json is generated ---- */
Test(corpus, info_and_every_deletion_vector, .timeout = 600)
{
	const char *corpus = getenv("LM_CORPUS");
	size_t dv_versions = 0, dv_rows = 0, jsons = 0;
	char dir[4096];
	struct dirent *de;
	DIR *d;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	snprintf(dir, sizeof(dir), "%s/delta", corpus);
	d = opendir(dir);
	cr_assert(d);
	while ((de = readdir(d))) {
		char troot[4400];
		struct lm_store *s = NULL;
		struct lm_table *t = NULL;
		struct lm_version_info *v = NULL;
		struct lm_err err;
		struct lm_buf b;
		bool imm;
		size_t nv = 0;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "kernelrs-300k-add-files-100-col-partitioned"))
			continue;
		snprintf(troot, sizeof(troot), "%s/%s", dir, de->d_name);
		cr_assert_eq(lm_store_local_new(troot, &s, &err), 0, "%s", err.msg);
		cr_assert_eq(lm_table_open(s, "", de->d_name, LM_TABLE_DELTA, &t, &err), 0);
		cr_assert_eq(lm_delta_table_versions(t, &v, &nv, &err), 0, "%s", err.msg);
		lm_buf_init(&b, 0);
		cr_assert_eq(lm_table_info_read(t, "history.json", &b, &imm, &err), 0, "%s: %s",
			     de->d_name, err.msg);
		for (size_t k = 0; k < nv; k++) {
			struct lm_snapshot *snap = NULL;
			char p[64];
			uint64_t want = 0;
			bool known = true;
			int rc;

			if (nv > 40 && k > 20 && k + 20 < nv)
				continue;   /* the long logs: their first and last versions */
			snprintf(p, sizeof(p), "v%lld.json", (long long)v[k].version);
			lm_buf_reset(&b);
			cr_assert_eq(lm_table_info_read(t, p, &b, &imm, &err), 0, "%s %s: %s", de->d_name,
				     p, err.msg);
			jsons++;
			if (snap_v(t, v[k].version, &snap, &err))
				continue;
			for (size_t i = 0; i < snap->nfiles; i++) {
				if (!(snap->files[i].flags & LM_FILE_HAS_DV))
					continue;
				if (snap->files[i].deleted_rows < 0)
					known = false;
				else
					want += (uint64_t)snap->files[i].deleted_rows;
			}
			if (snap->n_dv_files) {
				size_t lines = 0;

				snprintf(p, sizeof(p), "v%lld/deleted_rows.csv", (long long)v[k].version);
				lm_buf_reset(&b);
				lm_err_init(&err);
				rc = lm_table_info_read(t, p, &b, &imm, &err);
				if (rc && !strncmp(de->d_name, "spark-table-with-dv-", 20) && err.reason &&
				    !strcmp(err.reason, "invalid-deletion-vector")) {
					/* Spark's tests wrote these DV files as "test%dv%prefix-deletion_vector_
					 * <uuid>.bin", not the name the protocol derives: refused, with why. */
					cr_assert(strstr(err.msg, "deletion_vector_"), "%s", err.msg);
					lm_snapshot_unref(snap);
					continue;
				}
				cr_assert_eq(rc, 0, "%s %s: %s", de->d_name, p, err.msg);
				for (size_t i = 0; i < b.len; i++)
					lines += b.data[i] == '\n';
				cr_assert_geq(lines, 1);
				if (known)
					cr_assert_eq(lines - 1, want, "%s %s: %zu rows, cardinalities say %llu",
						     de->d_name, p, lines - 1, (unsigned long long)want);
				dv_versions++;
				dv_rows += lines - 1;
			}
			lm_snapshot_unref(snap);
		}
		lm_buf_free(&b);
		free(v);
		lm_table_free(t);
		lm_store_free(s);
	}
	closedir(d);
	cr_log_info("vN.json files: %zu; versions with deletion vectors: %zu, deleted rows: %zu",
		    jsons, dv_versions, dv_rows);
	cr_assert_gt(dv_versions, 10);
}

/* ---- DAT (Delta Acceptance Tests v0.0.3): version, protocol, properties and the row
 * count of each expected snapshot. Rows are counted from Parquet footers (our decoder):
 * the live files' rows minus the rows their deletion vectors delete must equal the rows
 * of the expected table_content. ---- */

static int64_t footer_rows(const char *file)
{
	struct lm_parquet_meta *m = NULL;
	struct lm_err err;
	size_t n = 0, need = 0;
	uint8_t *b = NULL;
	int64_t rows;
	FILE *f = fopen(file, "rb");
	long l;

	cr_assert(f, "cannot open %s", file);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	l = ftell(f);
	cr_assert_gt(l, 12);
	b = malloc((size_t)l);
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	n = fread(b, 1, (size_t)l, f);
	fclose(f);
	cr_assert_eq(lm_parquet_footer_parse(b, n, n, NULL, &m, &need, &err), 0, "%s: %s", file,
		     err.msg);
	rows = m->num_rows;
	lm_parquet_meta_free(m);
	free(b);
	return rows;
}

static int64_t content_rows(const char *dir)
{
	struct dirent *de;
	int64_t rows = 0;
	DIR *d = opendir(dir);

	cr_assert(d, "no %s", dir);
	while ((de = readdir(d))) {
		char p[8192];
		size_t l = strlen(de->d_name);

		if (l < 8 || strcmp(de->d_name + l - 8, ".parquet"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		rows += footer_rows(p);
	}
	closedir(d);
	return rows;
}

static cJSON *load_json(const char *file)
{
	char buf[1 << 16];
	size_t n;
	FILE *f = fopen(file, "rb");

	cr_assert(f, "no %s", file);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

Test(corpus, dat_expected_snapshots, .timeout = 300)
{
	const char *corpus = getenv("LM_CORPUS");
	char dir[4096];
	struct dirent *de;
	size_t checked = 0;
	DIR *d;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	snprintf(dir, sizeof(dir), "%s/_expected/dat", corpus);
	d = opendir(dir);
	cr_assert(d, "no %s", dir);
	while ((de = readdir(d))) {
		char exp[4400], troot[4400];
		struct dirent *ve;
		DIR *vd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(exp, sizeof(exp), "%s/%s/expected", dir, de->d_name);
		snprintf(troot, sizeof(troot), "%s/delta/%s", corpus, de->d_name);
		vd = opendir(exp);
		cr_assert(vd, "no %s", exp);
		while ((ve = readdir(vd))) {
			char meta[8800], content[8800], key[32], p[64];
			struct lm_store *s = NULL;
			struct lm_table *t = NULL;
			struct lm_snapshot *snap = NULL;
			struct lm_err err;
			struct lm_buf b;
			cJSON *want, *info, *props, *it;
			int64_t ver, rows = 0, deleted = 0;
			bool imm;

			if (ve->d_name[0] == '.')
				continue;
			snprintf(meta, sizeof(meta), "%s/%s/table_version_metadata.json", exp, ve->d_name);
			snprintf(content, sizeof(content), "%s/%s/table_content", exp, ve->d_name);
			want = load_json(meta);
			cr_assert(want, "%s", meta);
			ver = (int64_t)cJSON_GetObjectItem(want, "version")->valuedouble;
			cr_assert_eq(lm_store_local_new(troot, &s, &err), 0, "%s", err.msg);
			cr_assert_eq(lm_table_open(s, "", de->d_name, LM_TABLE_DELTA, &t, &err), 0);
			snprintf(key, sizeof(key), "%lld", (long long)ver);
			cr_assert_eq(lm_table_snapshot(t, key, &snap, &err), 0, "%s v%lld: %s", de->d_name,
				     (long long)ver, err.msg);
			if (!strcmp(ve->d_name, "latest")) {
				struct lm_table_view *v = NULL;
				size_t nv = 0;

				cr_assert_eq(lm_table_views(t, &v, &nv, &err), 0);
				snprintf(p, sizeof(p), "@v%lld", (long long)ver);
				cr_assert(nv && v[0].is_link && !strcmp(v[0].target, p),
					  "%s: @latest must be %s", de->d_name, p);
				free(v);
			}
			/* protocol and properties through vN.json */
			lm_buf_init(&b, 0);
			snprintf(p, sizeof(p), "v%lld.json", (long long)ver);
			cr_assert_eq(lm_table_info_read(t, p, &b, &imm, &err), 0, "%s", err.msg);
			info = cJSON_Parse(b.data);
			cr_assert(info);
			it = cJSON_GetObjectItem(info, "protocol");
			cr_assert_eq(cJSON_GetObjectItem(it, "minReaderVersion")->valueint,
				     cJSON_GetObjectItem(want, "min_reader_version")->valueint, "%s", de->d_name);
			cr_assert_eq(cJSON_GetObjectItem(it, "minWriterVersion")->valueint,
				     cJSON_GetObjectItem(want, "min_writer_version")->valueint, "%s", de->d_name);
			props = cJSON_GetObjectItem(want, "properties");
			cJSON_ArrayForEach(it, props) {
				cJSON *got = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "configuration"),
								 it->string);

				cr_assert(got && cJSON_IsString(got) && !strcmp(got->valuestring, it->valuestring),
					  "%s v%lld: property %s", de->d_name, (long long)ver, it->string);
			}
			/* rows */
			for (size_t i = 0; i < snap->nfiles; i++) {
				char f[8800];

				snprintf(f, sizeof(f), "%s/%s", troot, snap->files[i].path);
				rows += footer_rows(f);
				if (snap->files[i].flags & LM_FILE_HAS_DV)
					deleted += snap->files[i].deleted_rows;
			}
			cr_assert_eq(rows - deleted, content_rows(content),
				     "%s v%lld: %lld rows - %lld deleted, expected %lld", de->d_name,
				     (long long)ver, (long long)rows, (long long)deleted,
				     (long long)content_rows(content));
			checked++;
			cJSON_Delete(info);
			cJSON_Delete(want);
			lm_buf_free(&b);
			lm_snapshot_unref(snap);
			lm_table_free(t);
			lm_store_free(s);
		}
		closedir(vd);
	}
	closedir(d);
	cr_log_info("DAT expected snapshots checked: %zu", checked);
	cr_assert_geq(checked, 20);
}

/* Every _last_checkpoint of the corpus parses, and its checksum (when it has one)
 * verifies: the canonical form is the protocol's. */
Test(corpus, last_checkpoint_checksums)
{
	const char *corpus = getenv("LM_CORPUS");
	char cmd[4200], *line = NULL;
	size_t cap = 0, checked = 0;
	FILE *lst;

	cr_assert(corpus && access(corpus, R_OK) == 0, "corpus not found");
	snprintf(cmd, sizeof(cmd), "find '%s/delta' -name _last_checkpoint -size +0", corpus);
	lst = popen(cmd, "r");
	cr_assert(lst);
	while (getline(&line, &cap, lst) > 0) {
		struct lm_delta_last_checkpoint lc;
		struct lm_err err;
		char buf[1 << 16];
		size_t n;
		FILE *f;

		line[strcspn(line, "\n")] = '\0';
		f = fopen(line, "rb");
		cr_assert(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		cr_assert_eq(lm_delta_last_checkpoint_parse(buf, n, &lc, &err), 0, "%s: %s", line,
			     err.msg);
		checked += lc.checksum_checked;
	}
	free(line);
	pclose(lst);
	cr_log_info("corpus _last_checkpoint checksums verified: %zu", checked);
	cr_assert_gt(checked, 20);
}
