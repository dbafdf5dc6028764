/* Unit tests: Delta forensics on small tables written here and damaged on purpose — an
 * uncommitted Parquet-named file (orphan), a deleted referenced file (missing), a
 * removed file still present (removed), a young extra file (recent, not orphan) —
 * asserting exactly those findings and nothing else; hidden and log files are never
 * findings. */
#include "helpers.h"

#include <sys/stat.h>
#include <time.h>

#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[]}}\n"
#define ADD(p) "{\"add\":{\"path\":\"" p "\",\"size\":4,\"modificationTime\":1000,\"dataChange\":true}}\n"
#define REM(p) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":2000,\"dataChange\":true}}\n"
#define HOUR_MS (3600 * 1000)

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

TestSuite(forensics, .init = setup, .fini = teardown);

/* Write a file two hours old. */
static void old_file(const char *rel, const char *body)
{
	char path[4096];
	time_t sec = time(NULL) - 7200;
	struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };

	th_write(root, rel, body);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "utimensat %s", path);
}

static struct lm_forensics *run(const char *table)
{
	struct lm_forensics *fx = NULL;
	struct lm_table *t = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_table_open(st, table, table, LM_TABLE_DELTA, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_delta_forensics_run(t, lm_now_ms(), HOUR_MS, &fx, &err), 0, "%s",
		     err.msg);
	lm_table_free(t);
	return fx;
}

/* Two versions: v0 adds a, b and p=1/c; v1 removes a and adds d. */
static void base_table(const char *t)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s/_delta_log/00000000000000000000.json", t);
	old_file(rel, PROTO META ADD("a.parquet") ADD("b.parquet") ADD("p=1/c.parquet"));
	snprintf(rel, sizeof(rel), "%s/_delta_log/00000000000000000001.json", t);
	old_file(rel, REM("a.parquet") ADD("d.parquet"));
	snprintf(rel, sizeof(rel), "%s/b.parquet", t);
	old_file(rel, "PAR1");
	snprintf(rel, sizeof(rel), "%s/p=1/c.parquet", t);
	old_file(rel, "PAR1");
	snprintf(rel, sizeof(rel), "%s/d.parquet", t);
	old_file(rel, "PAR1");
	/* hidden and format-owned files are never findings */
	snprintf(rel, sizeof(rel), "%s/.d.parquet.crc", t);
	old_file(rel, "crc");
	snprintf(rel, sizeof(rel), "%s/_SUCCESS", t);
	old_file(rel, "");
	snprintf(rel, sizeof(rel), "%s/_change_data/cdc-1.parquet", t);
	old_file(rel, "PAR1");
	snprintf(rel, sizeof(rel), "%s/deletion_vector_8e8e8e8e-0000-0000-0000-000000000000.bin", t);
	old_file(rel, "dv");
}

Test(forensics, removed_then_vacuumed_is_missing_for_old_versions_only)
{
	struct lm_forensics *fx;

	base_table("t");
	old_file("t/a.parquet", "PAR1");
	/* the same file removed and then vacuumed: missing for v0 only */
	fx = run("t");
	cr_assert_eq(fx->n, 1);
	cr_assert_eq(fx->f[0].kind, LM_FX_REMOVED);
	lm_delta_forensics_free(fx);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/t/a.parquet", root);
		cr_assert_eq(unlink(path), 0);
	}
	fx = run("t");
	cr_assert_eq(fx->n, 1);
	cr_assert_str_eq(fx->f[0].path, "a.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_MISSING);
	cr_assert_eq(fx->f[0].last_version, 0);
	cr_assert_eq(fx->latest, 1);
	/* v0's a.parquet is gone (vacuumed), so v0 is not restorable; v1 is */
	cr_assert_eq(fx->restore, 1);
	lm_delta_forensics_free(fx);
}

Test(forensics, damaged_copy_exact_findings)
{
	struct lm_forensics *fx;
	const struct lm_forensic_file *f;

	base_table("t");
	old_file("t/a.parquet", "PAR1");                      /* removed in v1, still present */
	old_file("t/p=1/part-00009-failed.snappy.parquet", "PAR1xx");  /* never committed */
	th_write(root, "t/part-00010-inflight.parquet", "PAR1");        /* young: recent */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/t/d.parquet", root);
		cr_assert_eq(unlink(path), 0);                   /* referenced by v1: missing */
	}
	fx = run("t");
	cr_assert_eq(fx->n, 4);
	cr_assert_eq(fx->n_orphan, 1);
	cr_assert_eq(fx->n_recent, 1);
	cr_assert_eq(fx->n_removed, 1);
	cr_assert_eq(fx->n_missing, 1);
	/* sorted by path */
	f = &fx->f[0];
	cr_assert_str_eq(f->path, "a.parquet");
	cr_assert_eq(f->kind, LM_FX_REMOVED);
	cr_assert_eq(f->last_version, 0);
	cr_assert_eq(f->removed_version, 1);
	cr_assert_eq(f->size, 4);
	f = &fx->f[1];
	cr_assert_str_eq(f->path, "d.parquet");
	cr_assert_eq(f->kind, LM_FX_MISSING);
	cr_assert_eq(f->first_version, 1);
	cr_assert_eq(f->last_version, 1);
	f = &fx->f[2];
	cr_assert_str_eq(f->path, "p=1/part-00009-failed.snappy.parquet");
	cr_assert_eq(f->kind, LM_FX_ORPHAN);
	cr_assert_eq(f->last_version, -1);
	cr_assert_eq(f->size, 6);
	cr_assert_gt(f->mtime_ms, 0);
	f = &fx->f[3];
	cr_assert_str_eq(f->path, "part-00010-inflight.parquet");
	cr_assert_eq(f->kind, LM_FX_RECENT);
	cr_assert_eq(fx->latest, 1);
	cr_assert_eq(fx->restore, 0);   /* v0: a, b, c all present; v1 lacks d */
	cr_assert_str_eq(lm_forensic_kind_name(LM_FX_ORPHAN), "orphan");
	lm_delta_forensics_free(fx);
}

Test(forensics, change_data_files_named_by_cdc_are_not_orphans)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet"));
	old_file("t/_delta_log/00000000000000000001.json",
		 "{\"cdc\":{\"path\":\"cdc%25x-00000.parquet\",\"size\":4,\"dataChange\":false}}\n"
		 ADD("b.parquet"));
	old_file("t/a.parquet", "PAR1");
	old_file("t/b.parquet", "PAR1");
	old_file("t/cdc%x-00000.parquet", "PAR1");
	old_file("t/cdc%x-00001.parquet", "PAR1");             /* not named: an orphan */
	fx = run("t");
	cr_assert_eq(fx->n, 1);
	cr_assert_str_eq(fx->f[0].path, "cdc%x-00001.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_ORPHAN);
	lm_delta_forensics_free(fx);
}

Test(forensics, refused_versions_files_are_not_orphans)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet"));
	old_file("t/_delta_log/00000000000000000001.json",
		 "{\"protocol\":{\"minReaderVersion\":9,\"minWriterVersion\":9}}\n"
		 ADD("e.parquet"));
	old_file("t/a.parquet", "PAR1");
	old_file("t/e.parquet", "PAR1");
	fx = run("t");
	cr_assert_eq(fx->n, 0, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(fx->latest, 0);
	cr_assert_eq(fx->restore, 0);
	lm_delta_forensics_free(fx);
}

Test(forensics, info_reports)
{
	struct lm_table *t = NULL;
	struct lm_err err;
	struct lm_buf b;
	bool imm = true;
	char path[4096];

	base_table("t");
	old_file("t/a.parquet", "PAR1");
	old_file("t/orphan.parquet", "PAR1");
	snprintf(path, sizeof(path), "%s/t/d.parquet", root);
	cr_assert_eq(unlink(path), 0);
	lm_err_init(&err);
	cr_assert_eq(lm_table_open(st, "t", "t", LM_TABLE_DELTA, &t, &err), 0, "%s", err.msg);
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_table_info_read(t, "orphans.json", &b, &imm, &err), 0, "%s", err.msg);
	cr_assert_not(imm);
	cr_assert(strstr(b.data, "\"orphan.parquet\""), "%s", b.data);
	cr_assert(strstr(b.data, "never referenced"));
	cr_assert_null(strstr(b.data, "a.parquet"));
	lm_buf_reset(&b);
	cr_assert_eq(lm_table_info_read(t, "removed.json", &b, &imm, &err), 0, "%s", err.msg);
	cr_assert(strstr(b.data, "\"a.parquet\""), "%s", b.data);
	cr_assert(strstr(b.data, "\"removed_version\":\t1"), "%s", b.data);
	lm_buf_reset(&b);
	cr_assert_eq(lm_table_info_read(t, "missing.json", &b, &imm, &err), 0, "%s", err.msg);
	cr_assert(strstr(b.data, "\"d.parquet\""), "%s", b.data);
	cr_assert_null(strstr(b.data, "orphan.parquet"));
	lm_buf_free(&b);
	lm_table_free(t);
}

Test(forensics, referenced_files_under_underscore_folders_are_present)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("_p=1/a.parquet"));
	old_file("t/_p=1/a.parquet", "PAR1");
	old_file("t/_p=1/.a.parquet.crc", "crc");
	fx = run("t");
	cr_assert_eq(fx->n, 0, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(fx->restore, 0);
	lm_delta_forensics_free(fx);
}

Test(forensics, table_at_source_root)
{
	struct lm_forensics *fx;

	old_file("_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet"));
	old_file("a.parquet", "PAR1");
	old_file("stray.parquet", "PAR1");
	fx = run("");
	cr_assert_eq(fx->n, 1);
	cr_assert_str_eq(fx->f[0].path, "stray.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_ORPHAN);
	cr_assert_eq(fx->restore, 0);
	lm_delta_forensics_free(fx);
}

/* The forward replay (one pass over the log): a file removed and added again keeps its
 * first version and gets the newest as its last; a deletion-vector update (remove and
 * add of the same path in one commit) never makes the file removed; the restore target
 * is the newest version without an absent live file. */
#define ADDDV(p, dv) "{\"add\":{\"path\":\"" p "\",\"size\":4,\"modificationTime\":1000,\"dataChange\":true," \
	"\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"" dv "\",\"offset\":1,\"sizeInBytes\":10,\"cardinality\":1}}}\n"
#define REMDV(p, dv) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":2000,\"dataChange\":true," \
	"\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"" dv "\",\"offset\":1,\"sizeInBytes\":10,\"cardinality\":1}}}\n"

Test(forensics, readded_file_and_dv_update_are_live)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet") ADD("b.parquet"));
	old_file("t/_delta_log/00000000000000000001.json", REM("a.parquet"));
	old_file("t/_delta_log/00000000000000000002.json", ADD("a.parquet") ADD("c.parquet"));
	old_file("t/_delta_log/00000000000000000003.json", ADDDV("b.parquet", "ab^-aqEH.-t@S}K{vb[*k^"));
	old_file("t/_delta_log/00000000000000000004.json",
		 REMDV("b.parquet", "ab^-aqEH.-t@S}K{vb[*k^") ADDDV("b.parquet", "cd^-aqEH.-t@S}K{vb[*k^")
		 REM("c.parquet"));
	old_file("t/b.parquet", "PAR1");
	old_file("t/c.parquet", "PAR1");                       /* removed in v4, present */
	fx = run("t");                                          /* a.parquet is absent */
	cr_assert_eq(fx->n, 2, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_str_eq(fx->f[0].path, "a.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_MISSING);
	cr_assert_eq(fx->f[0].first_version, 0);
	cr_assert_eq(fx->f[0].last_version, 4);
	cr_assert(fx->f[0].in_latest);
	cr_assert_str_eq(fx->f[1].path, "c.parquet");
	cr_assert_eq(fx->f[1].kind, LM_FX_REMOVED);
	cr_assert_eq(fx->f[1].first_version, 2);
	cr_assert_eq(fx->f[1].last_version, 3);
	cr_assert_eq(fx->f[1].removed_version, 4);
	cr_assert_eq(fx->latest, 4);
	cr_assert_eq(fx->restore, 1);    /* only v1 lacks a.parquet */
	cr_assert_eq(fx->nissues, 0);
	cr_assert_str_eq(fx->format, "delta");
	cr_assert_eq(fx->nversions, 5);
	lm_delta_forensics_free(fx);
}

/* A malformed commit in the middle: that version and the next are refused (issues with
 * the driver's words) until a checkpoint would resume; files only it names are not
 * orphans; the newest rebuilt version is the one before. */
Test(forensics, malformed_commit_is_an_issue)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet"));
	old_file("t/_delta_log/00000000000000000001.json", ADD("b.parquet"));
	old_file("t/_delta_log/00000000000000000002.json",
		 ADD("e.parquet") "{\"add\":{\"path\":\"x.parquet\",\"si");   /* truncated */
	old_file("t/e.parquet", "PAR1");      /* named by a whole line of it: not an orphan */
	old_file("t/x.parquet", "PAR1");      /* named by its broken line only: an orphan */
	old_file("t/_delta_log/00000000000000000003.json", ADD("c.parquet"));
	old_file("t/a.parquet", "PAR1");
	old_file("t/b.parquet", "PAR1");
	old_file("t/c.parquet", "PAR1");
	fx = run("t");
	cr_assert_eq(fx->nissues, 2);
	cr_assert_str_eq(fx->issues[0].kind, "refused");
	cr_assert_eq(fx->issues[0].version, 2);
	cr_assert_str_eq(fx->issues[0].reason, "invalid-json");
	cr_assert(strstr(fx->issues[0].msg, "version 2"), "%s", fx->issues[0].msg);
	cr_assert_eq(fx->issues[1].version, 3);
	cr_assert_eq(fx->latest, 1);
	cr_assert_eq(fx->restore, 1);
	/* c.parquet is named by v3, which is refused: not provably an orphan */
	cr_assert_eq(fx->n, 1, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_str_eq(fx->f[0].path, "x.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_ORPHAN);
	lm_delta_forensics_free(fx);
}

/* A commit missing in the middle: the versions after it are refused (log-gap); the files
 * the commit after the gap names are not orphans (the log names them), the files only
 * the lost commit named are. */
Test(forensics, files_named_after_a_gap_are_not_orphans)
{
	struct lm_forensics *fx;

	old_file("t/_delta_log/00000000000000000000.json", PROTO META ADD("a.parquet"));
	old_file("t/_delta_log/00000000000000000002.json", ADD("c.parquet"));
	old_file("t/_delta_log/00000000000000000003.json", ADD("d.parquet"));
	old_file("t/a.parquet", "PAR1");
	old_file("t/b.parquet", "PAR1");      /* what the lost commit 1 added */
	old_file("t/c.parquet", "PAR1");
	old_file("t/d.parquet", "PAR1");
	fx = run("t");
	cr_assert_eq(fx->nissues, 2);
	cr_assert_eq(fx->issues[0].version, 2);
	cr_assert_str_eq(fx->issues[0].reason, "log-gap");
	cr_assert_eq(fx->issues[1].version, 3);
	cr_assert_eq(fx->n, 1, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_str_eq(fx->f[0].path, "b.parquet");
	cr_assert_eq(fx->f[0].kind, LM_FX_ORPHAN);
	cr_assert_eq(fx->latest, 0);
	lm_delta_forensics_free(fx);
}
