/* Unit tests: the Delta driver on small logs written here — checkpoints (UUID-named v2
 * JSON checkpoints stand in for Parquet ones, which the corpus tests cover), which
 * versions exist, the choice of checkpoint and the fall-backs, cold lookups from
 * _last_checkpoint and start-after windows (request counts through the fault store),
 * timestamp lookups by file time, in-commit timestamp and commitInfo, and @info. */
#include "helpers.h"

#include <sys/stat.h>

#include "lm/delta.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[]}}\n"
#define ADD(p) "{\"add\":{\"path\":\"" p "\",\"size\":1,\"modificationTime\":1000,\"dataChange\":true}}\n"
#define REM(p) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":2000,\"dataChange\":true}}\n"
#define CKMETA(v) "{\"checkpointMetadata\":{\"version\":" #v "}}\n"

static char *root;
static struct lm_store *st;

static void setup(void)
{
	struct lm_err err;

	root = th_tmpdir();
	cr_assert_eq(lm_store_local_new(root, &st, &err), 0);
}

static void teardown(void)
{
	lm_store_free(st);
	th_rmrf(root);
	free(root);
}

TestSuite(ddriver, .init = setup, .fini = teardown);

static char *info(struct lm_table *t, const char *path, bool *imm, int *rc_out);

static void logfile(const char *table, const char *name, const char *body)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s/_delta_log/%s", table, name);
	th_write(root, rel, body);
}

static void commit(const char *table, int v, const char *body)
{
	char name[64];

	snprintf(name, sizeof(name), "%020d.json", v);
	logfile(table, name, body);
}

/* A UUID-named v2 JSON checkpoint of version v. */
static void v2ckpt(const char *table, int v, const char *body)
{
	char name[128];

	snprintf(name, sizeof(name), "%020d.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json", v);
	logfile(table, name, body);
}

/* Set a log file's mtime (seconds since the epoch). */
static void set_mtime(const char *table, const char *name, time_t sec)
{
	char path[4096];
	struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };

	snprintf(path, sizeof(path), "%s/%s/_delta_log/%s", root, table, name);
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "utimensat %s", path);
}

static struct lm_table *open_on(struct lm_store *s, const char *table)
{
	struct lm_table *t = NULL;
	struct lm_err err;

	cr_assert_eq(lm_table_open(s, table, table, LM_TABLE_DELTA, &t, &err), 0);
	return t;
}

static int snap_v(struct lm_table *t, int64_t v, struct lm_snapshot **out, struct lm_err *err)
{
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)v);
	return lm_table_snapshot(t, key, out, err);
}

static void expect_files(struct lm_table *t, int64_t v, const char *want)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;
	char got[4096] = "";

	lm_err_init(&err);
	cr_assert_eq(snap_v(t, v, &s, &err), 0, "version %lld: %s", (long long)v, err.msg);
	for (size_t i = 0; i < s->nfiles; i++) {
		if (i)
			strncat(got, ",", sizeof(got) - strlen(got) - 1);
		strncat(got, s->files[i].path, sizeof(got) - strlen(got) - 1);
	}
	cr_assert_str_eq(got, want, "version %lld", (long long)v);
	lm_snapshot_unref(s);
}

static void expect_refused(struct lm_table *t, int64_t v, const char *reason, const char *needle)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_neq(snap_v(t, v, &s, &err), 0, "version %lld must be refused", (long long)v);
	cr_assert(err.reason && !strcmp(err.reason, reason), "reason %s, want %s (%s)",
		  err.reason ? err.reason : "(none)", reason, err.msg);
	cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
}

static void expect_absent(struct lm_table *t, int64_t v)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	cr_assert_eq(snap_v(t, v, &s, &err), ENOENT, "version %lld must not exist", (long long)v);
}

/* "@latest->@v7,@v5,@v6,@v7" */
static void expect_views(struct lm_table *t, const char *want)
{
	struct lm_table_view *v = NULL;
	struct lm_err err;
	char got[4096] = "";
	size_t n = 0;

	cr_assert_eq(lm_table_views(t, &v, &n, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		char one[300];

		snprintf(one, sizeof(one), "%s%s%s%s", i ? "," : "", v[i].name, v[i].is_link ? "->" : "",
			 v[i].is_link ? v[i].target : "");
		strncat(got, one, sizeof(got) - strlen(got) - 1);
	}
	free(v);
	cr_assert_str_eq(got, want);
}

/* Both ways: cold (targeted listings) and after listing the whole log. */
static void expect_files_both(const char *table, int64_t v, const char *want)
{
	struct lm_table *t = open_on(st, table);
	struct lm_err err;

	expect_files(t, v, want);
	lm_table_free(t);
	t = open_on(st, table);
	cr_assert_eq(lm_table_refresh(t, &err), 0);
	expect_files(t, v, want);
	lm_table_free(t);
}

/* ---- checkpoints ---- */

Test(ddriver, log_cleaned_up_before_a_checkpoint)
{
	struct lm_table *t;

	v2ckpt("t", 5, CKMETA(5) PROTO META ADD("a") ADD("b"));
	commit("t", 5, ADD("b"));
	commit("t", 6, REM("a") ADD("c"));
	commit("t", 7, ADD("d"));
	commit("t", 3, ADD("x"));   /* older commit, its predecessors gone: not reconstructible */
	commit("t", 4, ADD("y"));
	expect_files_both("t", 5, "a,b");
	expect_files_both("t", 6, "b,c");
	expect_files_both("t", 7, "b,c,d");
	t = open_on(st, "t");
	expect_absent(t, 3);
	expect_absent(t, 4);
	expect_absent(t, 8);
	expect_views(t, "@latest->@v7,@v5,@v6,@v7");
	expect_absent(t, 4);
	lm_table_free(t);
}

Test(ddriver, newest_checkpoint_is_used_and_a_broken_one_skipped)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADD("a"));
	commit("t", 1, ADD("b"));
	commit("t", 2, ADD("c"));
	commit("t", 3, ADD("d"));
	/* checkpoint 1 lies (says "z"): whoever uses it shows z; 2 is malformed */
	v2ckpt("t", 1, CKMETA(1) PROTO META ADD("z"));
	v2ckpt("t", 2, CKMETA(2) PROTO "{not json\n");
	t = open_on(st, "t");
	expect_files(t, 0, "a");
	expect_files(t, 1, "z");          /* the checkpoint at 1 wins over the commits */
	expect_files(t, 3, "c,d,z");      /* 2 is broken: from 1, then 2, 3 */
	expect_files(t, 2, "c,z");
	lm_table_free(t);
}

Test(ddriver, v2_checkpoint_rules)
{
	struct lm_table *t;

	/* no checkpointMetadata in a UUID-named checkpoint; a checkpoint of another version;
	 * no protocol: all unusable, so the commits are used */
	commit("a", 0, PROTO META ADD("a"));
	commit("a", 1, ADD("b"));
	v2ckpt("a", 1, PROTO META ADD("z"));
	t = open_on(st, "a");
	expect_files(t, 1, "a,b");
	lm_table_free(t);
	commit("b", 0, PROTO META ADD("a"));
	commit("b", 1, ADD("b"));
	v2ckpt("b", 1, CKMETA(7) PROTO META ADD("z"));
	t = open_on(st, "b");
	expect_files(t, 1, "a,b");
	lm_table_free(t);
	v2ckpt("c", 1, CKMETA(1) META ADD("z"));
	commit("c", 1, ADD("z"));
	t = open_on(st, "c");
	expect_refused(t, 1, "invalid-checkpoint", "no protocol action");
	lm_table_free(t);
}

Test(ddriver, a_gap_after_a_checkpoint_and_a_checkpoint_bridging_one)
{
	struct lm_table *t;

	v2ckpt("t", 5, CKMETA(5) PROTO META ADD("a"));
	commit("t", 5, ADD("a"));
	commit("t", 7, ADD("c"));
	commit("t", 8, ADD("d"));
	v2ckpt("t", 8, CKMETA(8) PROTO META ADD("a") ADD("c") ADD("d"));
	commit("t", 9, ADD("e"));
	t = open_on(st, "t");
	expect_refused(t, 7, "log-gap", "00000000000000000006.json is missing");
	expect_files(t, 8, "a,c,d");
	expect_files(t, 9, "a,c,d,e");
	expect_views(t, "@latest->@v9,@v5,@v7,@v8,@v9");
	lm_table_free(t);
}

Test(ddriver, checkpoint_only_versions_and_incomplete_multipart_sets)
{
	struct lm_table *t;

	v2ckpt("t", 108, CKMETA(108) PROTO META ADD("a"));
	logfile("t", "00000000000000000109.checkpoint.0000000001.0000000002.parquet", "x");
	t = open_on(st, "t");
	expect_views(t, "@latest->@v108,@v108");
	expect_files(t, 108, "a");
	expect_absent(t, 109);
	lm_table_free(t);
}

Test(ddriver, unknown_reader_feature_in_a_checkpoint_is_refused)
{
	struct lm_table *t;

	v2ckpt("t", 3, CKMETA(3)
	       "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"v2Checkpoint\",\"futureThing\"],\"writerFeatures\":[]}}\n"
	       META ADD("a"));
	commit("t", 3, ADD("a"));
	t = open_on(st, "t");
	expect_refused(t, 3, "unsupported-feature", "futureThing");
	lm_table_free(t);
}

/* ---- cold lookups: _last_checkpoint and windows, counted requests ---- */

static void many_commits(const char *table, int n, int every)
{
	char body[256];

	commit(table, 0, PROTO META ADD("f0"));
	for (int v = 1; v < n; v++) {
		snprintf(body, sizeof(body),
			 "{\"add\":{\"path\":\"f%d\",\"size\":1,\"modificationTime\":1000,\"dataChange\":true}}\n",
			 v);
		commit(table, v, body);
		if (every && v % every == 0) {
			char ck[8192 * 4];
			size_t o = 0;

			o += (size_t)snprintf(ck + o, sizeof(ck) - o, "{\"checkpointMetadata\":{\"version\":%d}}\n" PROTO META, v);
			for (int k = 0; k <= v && o < sizeof(ck) - 200; k++)
				o += (size_t)snprintf(ck + o, sizeof(ck) - o,
						      "{\"add\":{\"path\":\"f%d\",\"size\":1,\"modificationTime\":1000,\"dataChange\":true}}\n",
						      k);
			v2ckpt(table, v, ck);
		}
	}
}

Test(ddriver, cold_lookup_uses_last_checkpoint_and_few_requests)
{
	struct lm_fault_config cfg = { 0 };
	struct lm_fault_counts c;
	struct lm_store *inner = NULL, *fs = NULL;
	struct lm_snapshot *s = NULL;
	struct lm_table *t;
	struct lm_err err;
	char lc[128];

	many_commits("t", 250, 10);
	snprintf(lc, sizeof(lc), "{\"version\":240,\"size\":243}");
	logfile("t", "_last_checkpoint", lc);
	cr_assert_eq(lm_store_local_new(root, &inner, &err), 0);
	cr_assert_eq(lm_store_fault_new(inner, &cfg, &fs), 0);
	t = open_on(fs, "t");
	cr_assert_eq(snap_v(t, 245, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->nfiles, 246);
	lm_snapshot_unref(s);
	lm_store_fault_counts(fs, &c);
	/* _last_checkpoint, the checkpoint at 240, commits 241..245 */
	cr_assert_eq(c.gets, 7, "%llu reads", (unsigned long long)c.gets);
	/* an old version: a window before it holds checkpoint 30 */
	cr_assert_eq(snap_v(t, 33, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->nfiles, 34);
	lm_snapshot_unref(s);
	lm_store_fault_counts(fs, &c);
	cr_assert_leq(c.gets, 7 + 1 + 1 + 3, "%llu reads", (unsigned long long)c.gets);
	lm_table_free(t);
	lm_store_free(fs);
}

Test(ddriver, cold_lookup_survives_a_bad_or_stale_last_checkpoint)
{
	static const char *lcs[] = {
		"", "{", "{\"version\":\"x\"}", "{\"version\":120}",             /* stale */
		"{\"version\":999}",                                          /* ahead */
		"{\"version\":140,\"checksum\":\"00000000000000000000000000000000\"}",
	};

	many_commits("t", 150, 20);
	for (size_t i = 0; i < sizeof(lcs) / sizeof(lcs[0]); i++) {
		struct lm_snapshot *s = NULL;
		struct lm_table *t;
		struct lm_err err;

		logfile("t", "_last_checkpoint", lcs[i]);
		t = open_on(st, "t");
		cr_assert_eq(snap_v(t, 149, &s, &err), 0, "'%s': %s", lcs[i], err.msg);
		cr_assert_eq(s->nfiles, 150);
		lm_snapshot_unref(s);
		cr_assert_eq(snap_v(t, 7, &s, &err), 0, "'%s': %s", lcs[i], err.msg);
		cr_assert_eq(s->nfiles, 8);
		lm_snapshot_unref(s);
		lm_table_free(t);
	}
}

Test(ddriver, window_widens_back_to_the_start)
{
	struct lm_snapshot *s = NULL;
	struct lm_table *t;
	struct lm_err err;

	many_commits("t", 260, 0);   /* no checkpoint at all */
	t = open_on(st, "t");
	cr_assert_eq(snap_v(t, 255, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->nfiles, 256);
	lm_snapshot_unref(s);
	expect_absent(t, 260);
	lm_table_free(t);
}

/* ---- timestamps ---- */

static void resolve_to(struct lm_table *t, const char *name, const char *target)
{
	struct lm_table_view v;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_table_resolve(t, name, &v, &err), 0, "%s: %s", name, err.msg);
	cr_assert(v.is_link);
	cr_assert_str_eq(v.target, target, "%s", name);
}

static void resolve_none(struct lm_table *t, const char *name)
{
	struct lm_table_view v;
	struct lm_err err;

	cr_assert_eq(lm_table_resolve(t, name, &v, &err), ENOENT, "%s must not resolve", name);
}

Test(ddriver, timestamps_by_file_time_made_increasing)
{
	struct lm_table *t;
	time_t base = 1767571200;   /* 2026-01-05T00:00:00Z */

	commit("t", 0, PROTO META ADD("a"));
	commit("t", 1, ADD("b"));
	commit("t", 2, ADD("c"));
	commit("t", 3, ADD("d"));
	set_mtime("t", "00000000000000000000.json", base);
	set_mtime("t", "00000000000000000001.json", base + 3600);
	set_mtime("t", "00000000000000000002.json", base + 1800);   /* earlier than 1: +1 ms */
	set_mtime("t", "00000000000000000003.json", base + 7200);
	t = open_on(st, "t");
	resolve_none(t, "@2026-01-04T23:59:59.999Z");
	resolve_to(t, "@2026-01-05", "@v0");
	resolve_to(t, "@2026-01-05T00:30:00Z", "@v0");
	resolve_to(t, "@2026-01-05T01:00:00Z", "@v1");
	resolve_to(t, "@2026-01-05T01:00:00.001Z", "@v2");
	resolve_to(t, "@2026-01-05T02:30:00+01:00", "@v2");
	resolve_to(t, "@20260105020000000", "@v3");
	resolve_to(t, "@2030-01-01", "@v3");
	resolve_none(t, "@v2");
	resolve_none(t, "@yesterday");
	lm_table_free(t);
}

Test(ddriver, timestamps_by_commitinfo_switch)
{
	struct lm_table *t;

	commit("t", 0, "{\"commitInfo\":{\"timestamp\":1000}}\n" PROTO META ADD("a"));
	commit("t", 1, "{\"commitInfo\":{\"timestamp\":5000}}\n" ADD("b"));
	commit("t", 2, "{\"commitInfo\":{\"timestamp\":3000}}\n" ADD("c"));   /* goes back */
	lm_delta_set_time_source(1);
	t = open_on(st, "t");
	resolve_none(t, "@1970-01-01T00:00:00.999Z");
	resolve_to(t, "@1970-01-01T00:00:01Z", "@v0");
	resolve_to(t, "@1970-01-01T00:00:04.999Z", "@v0");
	resolve_to(t, "@1970-01-01T00:00:05Z", "@v1");
	resolve_to(t, "@1970-01-01T00:00:05.001Z", "@v2");
	lm_table_free(t);
	lm_delta_set_time_source(0);
}

Test(ddriver, in_commit_timestamps_with_an_enablement_version)
{
	struct lm_table *t;
	time_t base = 1767571200;

	commit("t", 0, PROTO META ADD("a"));
	commit("t", 1, ADD("b"));
	commit("t", 2,
	       "{\"commitInfo\":{\"timestamp\":1,\"inCommitTimestamp\":1767657600000}}\n"
	       "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{}\",\"partitionColumns\":[],"
	       "\"configuration\":{\"delta.enableInCommitTimestamps\":\"true\","
	       "\"delta.inCommitTimestampEnablementVersion\":\"2\","
	       "\"delta.inCommitTimestampEnablementTimestamp\":\"1767657600000\"}}}\n" ADD("c"));
	commit("t", 3, "{\"commitInfo\":{\"timestamp\":1,\"inCommitTimestamp\":1767744000000}}\n" ADD("d"));
	set_mtime("t", "00000000000000000000.json", base);
	set_mtime("t", "00000000000000000001.json", base + 60);
	/* file times of the ICT commits are meaningless (a copy) */
	set_mtime("t", "00000000000000000002.json", base + 999999);
	set_mtime("t", "00000000000000000003.json", base + 10);
	t = open_on(st, "t");
	resolve_to(t, "@2026-01-05T00:00:30Z", "@v0");
	resolve_to(t, "@2026-01-05T12:00:00Z", "@v1");   /* before the enablement time */
	resolve_to(t, "@2026-01-06", "@v2");
	resolve_to(t, "@2026-01-06T23:59:59Z", "@v2");
	resolve_to(t, "@2026-01-07", "@v3");
	{
		bool imm;
		char *j = info(t, "v3.json", &imm, NULL);

		cr_assert(strstr(j, "\"time_source\":\t\"in-commit timestamp\""), "%s", j);
		cr_assert(strstr(j, "2026-01-07T00:00:00.000Z"), "%s", j);
		free(j);
		j = info(t, "v1.json", &imm, NULL);
		cr_assert(strstr(j, "2026-01-05T00:01:00.000Z"), "file time before enablement: %s", j);
		free(j);
	}
	lm_table_free(t);
}

/* ---- @info ---- */

static char *info(struct lm_table *t, const char *path, bool *imm, int *rc_out)
{
	struct lm_buf b;
	struct lm_err err;
	int rc;

	lm_buf_init(&b, 0);
	lm_err_init(&err);
	rc = lm_table_info_read(t, path, &b, imm, &err);
	if (rc_out)
		*rc_out = rc;
	else
		cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
	return rc ? (lm_buf_free(&b), NULL) : lm_buf_take(&b, NULL);
}

Test(ddriver, info_files)
{
	struct lm_info_entry *e = NULL;
	struct lm_table *t;
	struct lm_err err;
	size_t n = 0;
	bool imm;
	char *s;
	int rc;

	commit("t", 0,
	       "{\"commitInfo\":{\"timestamp\":1000,\"operation\":\"WRITE\",\"operationParameters\":{\"mode\":\"Append\"},\"engineInfo\":\"test/1\"}}\n"
	       "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\",\"columnMapping\"],\"writerFeatures\":[\"deletionVectors\",\"columnMapping\"]}}\n"
	       "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
	       "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"Id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{\\\"delta.columnMapping.id\\\":1,\\\"delta.columnMapping.physicalName\\\":\\\"col-1\\\"}},"
	       "{\\\"name\\\":\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{\\\"delta.columnMapping.id\\\":2,\\\"delta.columnMapping.physicalName\\\":\\\"col-2\\\"}}]}\","
	       "\"partitionColumns\":[\"p\"],\"configuration\":{\"delta.columnMapping.mode\":\"name\"}}}\n"
	       "{\"add\":{\"path\":\"col-2=x/a,1.parquet\",\"size\":10,\"modificationTime\":1,\"dataChange\":true,"
	       "\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"^Bg9^0rr910000000000iXQKl0rr91000935c8Xg000311onP9\",\"sizeInBytes\":40,\"cardinality\":4}}}\n"
	       ADD("b.parquet"));
	commit("t", 1, "{\"commitInfo\":{\"timestamp\":2000,\"operation\":\"DELETE\"}}\n" REM("b.parquet"));
	t = open_on(st, "t");
	cr_assert(lm_table_has_info(t));
	cr_assert_eq(lm_table_info_list(t, "", &e, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 8);
	cr_assert_str_eq(e[0].name, "history.json");
	cr_assert_str_eq(e[1].name, "v0.json");
	cr_assert_str_eq(e[2].name, "v0");
	cr_assert(e[2].is_dir);
	cr_assert_str_eq(e[5].name, "missing.json");
	cr_assert_str_eq(e[6].name, "orphans.json");
	cr_assert_str_eq(e[7].name, "removed.json");
	free(e);
	cr_assert_eq(lm_table_info_list(t, "v1", &e, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(e[0].name, "deleted_rows.csv");
	free(e);
	cr_assert_eq(lm_table_info_list(t, "v7", &e, &n, &err), ENOENT);

	s = info(t, "history.json", &imm, NULL);
	cr_assert_not(imm);
	cr_assert(strstr(s, "\"operation\":\t\"DELETE\"") || strstr(s, "\"operation\": \"DELETE\""), "%s", s);
	cr_assert(strstr(s, "\"filesAdded\":\t2") || strstr(s, "\"filesAdded\": 2"), "%s", s);
	cr_assert(strstr(s, "test/1"), "%s", s);
	free(s);

	s = info(t, "v1.json", &imm, NULL);
	cr_assert(imm);
	cr_assert(strstr(s, "col-1"), "physical names: %s", s);
	cr_assert(strstr(s, "\"column_mapping_mode\":\t\"name\""), "%s", s);
	cr_assert(strstr(s, "\"deleted_rows\":\t4"), "%s", s);
	cr_assert(strstr(s, "\"files\":\t1"), "%s", s);
	cr_assert(strstr(s, "\"status\":\t\"ok\""), "%s", s);
	free(s);

	s = info(t, "v1/deleted_rows.csv", &imm, NULL);
	cr_assert(imm);
	cr_assert_str_eq(s, "file,row_index\n\"col-2=x/a,1.parquet\",0\n\"col-2=x/a,1.parquet\",1\n"
			    "\"col-2=x/a,1.parquet\",4\n\"col-2=x/a,1.parquet\",5\n");
	free(s);
	s = info(t, "v0/deleted_rows.csv", &imm, NULL);   /* cached one is not reused wrongly */
	cr_assert(strstr(s, ",5\n"));
	free(s);
	s = info(t, "v9.json", &imm, &rc);
	cr_assert_eq(rc, ENOENT);
	lm_table_free(t);
}

Test(ddriver, info_of_a_refused_version_says_why)
{
	struct lm_table *t;
	bool imm;
	char *s;
	int rc;

	commit("t", 0, PROTO META ADD("a"));
	commit("t", 1, "{not json\n");
	t = open_on(st, "t");
	s = info(t, "v1.json", &imm, NULL);
	cr_assert(strstr(s, "\"status\":\t\"refused\""), "%s", s);
	cr_assert(strstr(s, "invalid-json"), "%s", s);
	free(s);
	s = info(t, "v1/deleted_rows.csv", &imm, &rc);
	cr_assert_eq(rc, LM_EFORMAT);
	lm_table_free(t);
}

/* ---- refreshes list only the tail, and see what is new ---- */
Test(ddriver, incremental_refresh_sees_new_commits_and_checkpoints)
{
	struct lm_table *t;
	struct lm_err err;

	commit("t", 0, PROTO META ADD("a"));
	commit("t", 1, ADD("b"));
	t = open_on(st, "t");
	expect_views(t, "@latest->@v1,@v0,@v1");
	commit("t", 2, ADD("c"));
	v2ckpt("t", 2, CKMETA(2) PROTO META ADD("a") ADD("b") ADD("c"));
	commit("t", 3, REM("a"));
	cr_assert_eq(lm_table_refresh(t, &err), 0, "%s", err.msg);
	expect_views(t, "@latest->@v3,@v0,@v1,@v2,@v3");
	expect_files(t, 3, "b,c");
	/* a version newer than the list is found by the lookup itself */
	commit("t", 4, ADD("d"));
	expect_files(t, 4, "b,c,d");
	lm_table_free(t);
}
