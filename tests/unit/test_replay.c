/* Unit tests: Delta log replay through the table driver on small tables written
 * here (each one a case), and on ../shared/corpus in place when present. */
#include "helpers.h"

#include <ctype.h>

#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{}\",\"partitionColumns\":[]}}\n"
#define ADD(p, s) "{\"add\":{\"path\":\"" p "\",\"size\":" #s ",\"modificationTime\":1000,\"dataChange\":true}}\n"
#define ADDDV(p, s, dv) "{\"add\":{\"path\":\"" p "\",\"size\":" #s ",\"modificationTime\":1000,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"" dv "\",\"sizeInBytes\":10,\"cardinality\":2}}}\n"
#define REM(p) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":2000,\"dataChange\":true}}\n"
#define REMDV(p, dv) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":2000,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"" dv "\",\"sizeInBytes\":10,\"cardinality\":2}}}\n"

static char *root;
static struct lm_store *st;

/* Snapshot of Delta version v (the driver's key is the decimal version). */
static int snap_v(struct lm_table *t, int64_t v, struct lm_snapshot **out, struct lm_err *err)
{
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)v);
	return lm_table_snapshot(t, key, out, err);
}

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

TestSuite(replay, .init = setup, .fini = teardown);

static void commit(const char *table, int v, const char *body)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s/_delta_log/%020d.json", table, v);
	th_write(root, rel, body);
}

static struct lm_table *open_t(const char *table)
{
	struct lm_table *t = NULL;
	struct lm_err err;

	/* the store root is a folder of tables; open one by key */
	cr_assert_eq(lm_table_open(st, table, table, LM_TABLE_DELTA, &t, &err), 0);
	return t;
}

/* "a,b,c" = the exact live paths of version v. */
static void expect_files(struct lm_table *t, int64_t v, const char *want)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;
	char got[4096] = "";

	lm_err_init(&err);
	cr_assert_eq(snap_v(t, v, &s, &err), 0, "version %lld: %s", (long long)v,
		     err.msg);
	for (size_t i = 0; i < s->nfiles; i++) {
		if (i)
			strncat(got, ",", sizeof(got) - strlen(got) - 1);
		strncat(got, s->files[i].path, sizeof(got) - strlen(got) - 1);
	}
	cr_assert_str_eq(got, want, "version %lld", (long long)v);
	lm_snapshot_unref(s);
}

static void expect_refused(struct lm_table *t, int64_t v, const char *reason,
			   const char *needle)
{
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_neq(snap_v(t, v, &s, &err), 0, "version %lld must be refused",
		      (long long)v);
	cr_assert(err.reason && !strcmp(err.reason, reason), "reason %s, want %s (%s)",
		  err.reason ? err.reason : "(none)", reason, err.msg);
	cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	cr_assert(strstr(err.msg, "table "), "message names the table: %s", err.msg);
}

Test(replay, add_remove_readd_and_percent_decoding)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADD("a.parquet", 1) ADD("p=x%253Dy/b.parquet", 2));
	commit("t", 1, REM("a.parquet") ADD("c%20d.parquet", 3));
	commit("t", 2, REM("c%20d.parquet") ADD("a.parquet", 4));
	commit("t", 3, ADD("caf\xc3\xa9/\xe6\x9d\xb1.parquet", 5) REM("never-added.parquet"));
	t = open_t("t");
	expect_files(t, 0, "a.parquet,p=x%3Dy/b.parquet");
	expect_files(t, 1, "c d.parquet,p=x%3Dy/b.parquet");
	expect_files(t, 2, "a.parquet,p=x%3Dy/b.parquet");
	expect_files(t, 3, "a.parquet,caf\xc3\xa9/\xe6\x9d\xb1.parquet,p=x%3Dy/b.parquet");
	/* going back in time restarts the replay and gives the same answer */
	expect_files(t, 1, "c d.parquet,p=x%3Dy/b.parquet");
	lm_table_free(t);
}

Test(replay, removes_apply_before_adds_in_one_commit)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADD("a.parquet", 1));
	/* same commit: add listed first, remove second — the add must survive */
	commit("t", 1, ADD("a.parquet", 9) REM("a.parquet"));
	t = open_t("t");
	expect_files(t, 1, "a.parquet");
	lm_table_free(t);
}

Test(replay, deletion_vector_ids_are_part_of_the_key)
{
	struct lm_table *t;
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	commit("t", 0, PROTO META ADD("a.parquet", 1));
	commit("t", 1, REM("a.parquet") ADDDV("a.parquet", 1, "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"));
	commit("t", 2, REMDV("a.parquet", "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L")
		       ADDDV("a.parquet", 1, "other"));
	t = open_t("t");
	expect_files(t, 1, "a.parquet");
	cr_assert_eq(snap_v(t, 1, &s, &err), 0);
	cr_assert_eq(s->files[0].flags & LM_FILE_HAS_DV, LM_FILE_HAS_DV);
	cr_assert_eq(s->n_dv_files, 1);
	lm_snapshot_unref(s);
	expect_files(t, 2, "a.parquet");
	lm_table_free(t);
}

Test(replay, two_live_dvs_for_one_path_refused)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADDDV("a.parquet", 1, "x") ADDDV("a.parquet", 1, "y"));
	t = open_t("t");
	expect_refused(t, 0, "duplicate-path", "a.parquet");
	lm_table_free(t);
}

Test(replay, gap_keeps_earlier_versions)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADD("a.parquet", 1));
	commit("t", 1, ADD("b.parquet", 1));
	commit("t", 3, ADD("c.parquet", 1));
	t = open_t("t");
	expect_files(t, 1, "a.parquet,b.parquet");
	expect_refused(t, 3, "log-gap", "00000000000000000002.json is missing");
	expect_files(t, 0, "a.parquet");
	lm_table_free(t);
}

Test(replay, malformed_commit_breaks_later_versions_only)
{
	struct lm_table *t;

	commit("t", 0, PROTO META ADD("a.parquet", 1));
	commit("t", 1, ADD("b.parquet", 1) "{\"add\":{\"path\":\n");
	commit("t", 2, ADD("c.parquet", 1));
	t = open_t("t");
	expect_files(t, 0, "a.parquet");
	expect_refused(t, 1, "invalid-json", "00000000000000000001.json: line 2");
	expect_refused(t, 2, "invalid-json", "line 2: malformed JSON");
	lm_table_free(t);
}

Test(replay, protocol_and_metadata_checks)
{
	struct lm_table *t;

	commit("np", 0, META ADD("a.parquet", 1));
	commit("nm", 0, PROTO ADD("a.parquet", 1));
	commit("rv", 0, "{\"protocol\":{\"minReaderVersion\":99,\"minWriterVersion\":7}}\n" META);
	commit("rf", 0, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"columnMapping\",\"quantumColumns\"]}}\n" META);
	commit("ok3", 0, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\",\"columnMapping\"]}}\n" META ADD("a.parquet", 1));
	/* a later protocol upgrade refuses from that version on */
	commit("up", 0, PROTO META ADD("a.parquet", 1));
	commit("up", 1, "{\"protocol\":{\"minReaderVersion\":4,\"minWriterVersion\":7}}\n");
	t = open_t("np");
	expect_refused(t, 0, "missing-protocol", "no protocol");
	lm_table_free(t);
	t = open_t("nm");
	expect_refused(t, 0, "missing-metadata", "no metaData");
	lm_table_free(t);
	t = open_t("rv");
	expect_refused(t, 0, "unsupported-reader-version", "minReaderVersion 99");
	lm_table_free(t);
	t = open_t("rf");
	expect_refused(t, 0, "unsupported-feature", "quantumColumns");
	lm_table_free(t);
	t = open_t("ok3");
	expect_files(t, 0, "a.parquet");
	lm_table_free(t);
	t = open_t("up");
	expect_files(t, 0, "a.parquet");
	expect_refused(t, 1, "unsupported-reader-version", "minReaderVersion 4");
	lm_table_free(t);
}

Test(replay, paths_escaping_the_table_are_refused_not_followed)
{
	char body[8192];
	struct lm_table *t;

	commit("e1", 0, PROTO META ADD("../../etc/passwd", 1));
	commit("e2", 0, PROTO META ADD("file:///etc/passwd", 1));
	commit("e3", 0, PROTO META ADD("a/%2E%2E/%2E%2E/x", 1));
	commit("e4", 0, PROTO META ADD("s3://other-bucket/x.parquet", 1));
	/* escaping files removed again: later versions are fine */
	commit("e5", 0, PROTO META ADD("../x.parquet", 1) ADD("ok.parquet", 1));
	commit("e5", 1, REM("../x.parquet"));
	/* an absolute URI inside the table root is placed relative to it */
	snprintf(body, sizeof(body), PROTO META "{\"add\":{\"path\":\"file://%s/in/sub/x.parquet\",\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n"
		 "{\"add\":{\"path\":\"file://%s/other/y.parquet\",\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n",
		 root, root);
	commit("in", 0, body);
	t = open_t("e1");
	expect_refused(t, 0, "path-escape", "../../etc/passwd");
	lm_table_free(t);
	t = open_t("e2");
	expect_refused(t, 0, "path-escape", "file:///etc/passwd");
	lm_table_free(t);
	t = open_t("e3");
	expect_refused(t, 0, "path-escape", "escapes the table root");
	lm_table_free(t);
	t = open_t("e4");
	expect_refused(t, 0, "path-escape", "s3://other-bucket");
	lm_table_free(t);
	t = open_t("e5");
	expect_refused(t, 0, "path-escape", "../x.parquet");
	expect_files(t, 1, "ok.parquet");
	lm_table_free(t);
	t = open_t("in");
	expect_refused(t, 0, "path-escape", "other/y.parquet");
	lm_table_free(t);
}

Test(replay, absolute_uri_inside_table_root)
{
	char body[8192];
	struct lm_table *t;

	snprintf(body, sizeof(body), PROTO META "{\"add\":{\"path\":\"file://%s/in/sub/x%%20y.parquet\",\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n", root);
	commit("in", 0, body);
	snprintf(body, sizeof(body), "{\"remove\":{\"path\":\"sub/x%%20y.parquet\",\"deletionTimestamp\":1,\"dataChange\":true}}\n");
	commit("in", 1, body);
	t = open_t("in");
	expect_files(t, 0, "sub/x y.parquet");
	expect_files(t, 1, "");
	lm_table_free(t);
}

Test(replay, log_starting_late_with_a_broken_checkpoint)
{
	struct lm_table *t;

	th_write(root, "late/_delta_log/00000000000000000005.checkpoint.parquet", "PAR1");
	commit("late", 5, ADD("a.parquet", 1));
	commit("late", 6, ADD("b.parquet", 1));
	t = open_t("late");
	expect_refused(t, 6, "invalid-checkpoint", "00000000000000000005.checkpoint.parquet");
	lm_table_free(t);
}

Test(replay, versions_listing)
{
	struct lm_version_info *v = NULL;
	struct lm_table *t;
	struct lm_err err;
	size_t n = 0;

	commit("t", 0, PROTO META);
	commit("t", 1, ADD("a", 1));
	commit("t", 2, ADD("b", 1));
	th_write(root, "t/_delta_log/00000000000000000002.checkpoint.parquet", "x");
	th_write(root, "t/_delta_log/00000000000000000002.crc", "{}");
	th_write(root, "t/_delta_log/_last_checkpoint", "{}");
	th_write(root, "t/_delta_log/00000000000000000003.json.tmp", "{}");
	th_write(root, "t/_delta_log/00000000000000000004.checkpoint.0000000001.0000000002.parquet", "x");
	t = open_t("t");
	cr_assert_eq(lm_delta_table_versions(t, &v, &n, &err), 0);
	/* an incomplete multi-part set is no checkpoint, so version 4 does not exist */
	cr_assert_eq(n, 3);
	cr_assert_eq(v[2].version, 2);
	cr_assert(v[2].has_checkpoint && v[2].has_commit);
	free(v);
	lm_table_free(t);
}

