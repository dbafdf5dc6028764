/* Unit tests: Iceberg forensics on a small table written here (three commits with
 * UUID-named metadata files, manifests and manifest lists from avro_writer.h) and on
 * damaged copies of it: a failed concurrent commit (a second metadata file for version
 * 2 with its own manifest list, manifest and data file), an uncommitted data file, a
 * deleted live file, a young extra file, a vacuumed old file — asserting exactly those
 * findings and nothing else. The corpus tables are in test_iceberg_forensics_corpus.c. */
#include "../helpers.h"
#include "avro_writer.h"

#include <sys/stat.h>
#include <time.h>

#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

#define HOUR_MS (3600 * 1000)
#define LOC "s3://bucket/wh/t"

static const char *MANIFEST_SCHEMA =
	"{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
	"{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
	"{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"field-id\":1},"
	"{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"field-id\":3},"
	"{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"field-id\":4},"
	"{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
	"{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
	"{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
	"{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
	"{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
	"{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104}"
	"]},\"field-id\":2}]}";

static char *root;
static struct lm_store *st;

/* Write rel two hours old (young: now). */
static void wfile(const char *rel, const void *p, size_t n, bool young)
{
	char path[4200];
	time_t sec = time(NULL) - 7200;
	struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };
	FILE *f;

	th_write(root, rel, "");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
	if (!young)
		cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void wtext(const char *rel, const char *s)
{
	wfile(rel, s, strlen(s), false);
}

struct ent {
	int status;
	int64_t snap, seq;
	const char *path;
	int64_t size;
};

static void manifest(const char *rel, const struct ent *e, size_t n)
{
	struct abuf recs = { 0 }, f = { 0 };
	const char *meta[] = { "format-version", "2", "partition-spec-id", "0", "content", "data",
			       "partition-spec", "[]", NULL };

	for (size_t i = 0; i < n; i++) {
		ab_long(&recs, e[i].status);
		ab_opt_long(&recs, &e[i].snap);
		ab_opt_long(&recs, &e[i].seq);
		ab_opt_long(&recs, &e[i].seq);
		ab_long(&recs, 0);
		ab_str(&recs, e[i].path);
		ab_str(&recs, "PARQUET");
		ab_long(&recs, 10 + (int64_t)i);
		ab_long(&recs, e[i].size);
	}
	ab_container(&f, MANIFEST_SCHEMA, "deflate", meta, &recs, (long)n);
	wfile(rel, f.p, f.n, false);
	free(recs.p);
	free(f.p);
}

/* A manifest list naming manifests m[0..n) (absolute paths under LOC). */
static void mlist(const char *rel, const char *const *m, size_t n, int64_t seq, int64_t snap)
{
	struct abuf recs = { 0 }, f = { 0 };

	for (size_t i = 0; i < n; i++) {
		ab_str(&recs, m[i]);
		ab_long(&recs, 100);
		ab_long(&recs, 0);
		ab_long(&recs, 0);
		ab_long(&recs, seq);
		ab_long(&recs, seq);
		ab_long(&recs, snap);
	}
	ab_container(&f, AW_MLIST_SCHEMA, "null", NULL, &recs, (long)n);
	wfile(rel, f.p, f.n, false);
	free(recs.p);
	free(f.p);
}

#define SNAP(id, seq, list) "{\"snapshot-id\":" #id ",\"timestamp-ms\":17000000" #seq "0000," \
	"\"sequence-number\":" #seq ",\"manifest-list\":\"" LOC "/metadata/" list "\"," \
	"\"summary\":{\"operation\":\"append\"}}"
#define META(cur, snaps, log) "{\"format-version\":2,\"location\":\"" LOC "\"," \
	"\"current-snapshot-id\":" #cur ",\"last-updated-ms\":1700000000000," \
	"\"snapshots\":[" snaps "],\"metadata-log\":[" log "]}"
#define LOGE(f) "{\"timestamp-ms\":1700000000000,\"metadata-file\":\"" LOC "/metadata/" f "\"}"
/* A metadata file with a statistics file (recorded by an older metadata file only: it
 * is taken by the raw scan, and the statistics file must still count as referenced). */
#define META_STATS(cur, snaps, log, stats) "{\"format-version\":2,\"location\":\"" LOC "\"," \
	"\"current-snapshot-id\":" #cur ",\"last-updated-ms\":1700000000000," \
	"\"snapshots\":[" snaps "],\"metadata-log\":[" log "]," \
	"\"statistics\":[{\"snapshot-id\":" #cur ",\"statistics-path\":\"" LOC "/metadata/" stats "\"," \
	"\"file-size-in-bytes\":4,\"file-footer-size-in-bytes\":4,\"blob-metadata\":[]}]}"

/* Three commits: snapshot 1 adds a, b; 2 keeps a, deletes b, adds c; 3 adds d. */
static void base_table(void)
{
	const struct ent m1[] = { { 1, 1, 1, LOC "/data/a.parquet", 4 },
				  { 1, 1, 1, LOC "/data/b.parquet", 4 } };
	const struct ent m2[] = { { 0, 1, 1, LOC "/data/a.parquet", 4 },
				  { 2, 2, 1, LOC "/data/b.parquet", 4 },
				  { 1, 2, 2, LOC "/data/c.parquet", 4 } };
	const struct ent m3[] = { { 1, 3, 3, LOC "/data/d.parquet", 4 } };
	const char *l1[] = { LOC "/metadata/m1.avro" };
	const char *l2[] = { LOC "/metadata/m2.avro" };
	const char *l3[] = { LOC "/metadata/m2.avro", LOC "/metadata/m3.avro" };

	manifest("t/metadata/m1.avro", m1, 2);
	manifest("t/metadata/m2.avro", m2, 3);
	manifest("t/metadata/m3.avro", m3, 1);
	mlist("t/metadata/snap-1.avro", l1, 1, 1, 1);
	mlist("t/metadata/snap-2.avro", l2, 1, 2, 2);
	mlist("t/metadata/snap-3.avro", l3, 2, 3, 3);
	wtext("t/metadata/00001-aaaa.metadata.json", META(1, SNAP(1, 1, "snap-1.avro"), ""));
	wtext("t/metadata/00002-bbbb.metadata.json",
	      META_STATS(2, SNAP(1, 1, "snap-1.avro") "," SNAP(2, 2, "snap-2.avro"),
			 LOGE("00001-aaaa.metadata.json"), "stats-2.puffin"));
	wtext("t/metadata/stats-2.puffin", "PFA1");
	wtext("t/metadata/00003-dddd.metadata.json",
	      META(3, SNAP(1, 1, "snap-1.avro") "," SNAP(2, 2, "snap-2.avro") "," SNAP(3, 3, "snap-3.avro"),
		   LOGE("00001-aaaa.metadata.json") "," LOGE("00002-bbbb.metadata.json")));
	wtext("t/data/a.parquet", "PAR1");
	wtext("t/data/b.parquet", "PAR1");
	wtext("t/data/c.parquet", "PAR1");
	wtext("t/data/d.parquet", "PAR1");
	wtext("t/data/.a.parquet.crc", "crc");   /* hidden: never a finding */
}

static void setup(void)
{
	struct lm_err e;

	root = th_tmpdir();
	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(root, &st, &e), 0, "%s", e.msg);
	base_table();
}

static void teardown(void)
{
	lm_store_free(st);
	th_rmrf(root);
	free(root);
}

TestSuite(iceberg_forensics, .init = setup, .fini = teardown);

static struct lm_forensics *run(void)
{
	struct lm_forensics *fx = NULL;
	struct lm_table *t = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_table_open(st, "t", "t", LM_TABLE_ICEBERG, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_table_forensics(t, lm_now_ms(), HOUR_MS, &fx, &err), 0, "%s", err.msg);
	lm_table_free(t);
	return fx;
}

static const struct lm_forensic_file *find(const struct lm_forensics *fx, const char *path)
{
	for (size_t i = 0; i < fx->n; i++)
		if (!strcmp(fx->f[i].path, path))
			return &fx->f[i];
	cr_assert_fail("no finding for %s", path);
	return NULL;
}

static void unlink_rel(const char *rel)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(unlink(path), 0, "unlink %s", path);
}

Test(iceberg_forensics, healthy_table_only_the_removed_file)
{
	struct lm_forensics *fx = run();
	const struct lm_forensic_file *f;

	cr_assert_str_eq(fx->format, "iceberg");
	cr_assert_eq(fx->n, 1, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(fx->n_removed, 1);
	cr_assert_eq(fx->nissues, 0, "%s", fx->nissues ? fx->issues[0].msg : "");
	f = find(fx, "data/b.parquet");
	cr_assert_eq(f->kind, LM_FX_REMOVED);
	cr_assert_eq(f->first_snapshot, 1);
	cr_assert_eq(f->last_snapshot, 1);
	cr_assert_eq(f->last_version, 1);          /* sequence numbers */
	cr_assert_eq(f->removed_snapshot, 2);
	cr_assert_eq(f->removed_version, 2);
	cr_assert_eq(fx->latest_snapshot, 3);
	cr_assert_eq(fx->latest, 3);
	cr_assert_eq(fx->restore_snapshot, 3);
	cr_assert_eq(fx->nversions, 3);
	lm_forensics_free(fx);
}

Test(iceberg_forensics, damaged_copy_exact_findings)
{
	const struct ent m9[] = { { 1, 9, 2, LOC "/data/e-failed.parquet", 4 } };
	const char *l9[] = { LOC "/metadata/m9.avro" };
	struct lm_forensics *fx;
	const struct lm_forensic_file *f;

	/* a failed concurrent commit of version 2: its metadata, list, manifest, data */
	manifest("t/metadata/m9.avro", m9, 1);
	mlist("t/metadata/snap-9.avro", l9, 1, 2, 9);
	wtext("t/metadata/00002-cccc.metadata.json",
	      META(9, SNAP(1, 1, "snap-1.avro") "," SNAP(9, 2, "snap-9.avro"),
		   LOGE("00001-aaaa.metadata.json")));
	wtext("t/data/e-failed.parquet", "PAR1");
	wtext("t/data/x-uncommitted.parquet", "PAR1xx");          /* orphan */
	wfile("t/data/y-inflight.parquet", "PAR1", 4, true);       /* recent */
	unlink_rel("t/data/c.parquet");                            /* live in 2 and 3 */
	fx = run();
	cr_assert_eq(fx->n_orphan, 5);
	cr_assert_eq(fx->n_recent, 1);
	cr_assert_eq(fx->n_missing, 1);
	cr_assert_eq(fx->n_removed, 1);
	cr_assert_eq(fx->n, 8);
	cr_assert_eq(find(fx, "metadata/00002-cccc.metadata.json")->kind, LM_FX_ORPHAN);
	cr_assert(strstr(find(fx, "metadata/00002-cccc.metadata.json")->note, "written twice"));
	cr_assert_eq(find(fx, "metadata/snap-9.avro")->kind, LM_FX_ORPHAN);
	cr_assert_eq(find(fx, "metadata/m9.avro")->kind, LM_FX_ORPHAN);
	cr_assert_eq(find(fx, "data/e-failed.parquet")->kind, LM_FX_ORPHAN);
	f = find(fx, "data/x-uncommitted.parquet");
	cr_assert_eq(f->kind, LM_FX_ORPHAN);
	cr_assert_eq(f->size, 6);
	cr_assert_eq(f->last_version, -1);
	cr_assert_eq(find(fx, "data/y-inflight.parquet")->kind, LM_FX_RECENT);
	f = find(fx, "data/c.parquet");
	cr_assert_eq(f->kind, LM_FX_MISSING);
	cr_assert(f->in_latest);
	cr_assert_eq(f->nsnapshots, 2);
	cr_assert_eq(f->snapshots[0], 2);
	cr_assert_eq(f->snapshots[1], 3);
	cr_assert_eq(find(fx, "data/b.parquet")->kind, LM_FX_REMOVED);
	cr_assert_eq(fx->nissues, 1);
	cr_assert_str_eq(fx->issues[0].kind, "duplicate-metadata-version");
	cr_assert_eq(fx->issues[0].version, 2);
	cr_assert_str_eq(fx->issues[0].file, "metadata/00002-cccc.metadata.json");
	cr_assert_eq(fx->restore_snapshot, 1);   /* a, b present; 2 and 3 need c */
	lm_forensics_free(fx);
}

Test(iceberg_forensics, vacuumed_old_file_and_missing_manifest)
{
	struct lm_forensics *fx;
	const struct lm_forensic_file *f;

	unlink_rel("t/data/b.parquet");      /* only snapshot 1 held it */
	fx = run();
	cr_assert_eq(fx->n, 1);
	f = find(fx, "data/b.parquet");
	cr_assert_eq(f->kind, LM_FX_MISSING);
	cr_assert_not(f->in_latest);
	cr_assert_eq(f->nsnapshots_total, 1);
	cr_assert_eq(f->snapshots[0], 1);
	cr_assert_eq(fx->restore_snapshot, 3);
	cr_assert_eq(fx->nissues, 0);
	lm_forensics_free(fx);
	unlink_rel("t/metadata/m3.avro");     /* snapshot 3 cannot be read */
	fx = run();
	cr_assert_eq(fx->n_missing, 2);
	f = find(fx, "metadata/m3.avro");
	cr_assert_eq(f->kind, LM_FX_MISSING);
	cr_assert(f->in_latest);
	cr_assert_str_eq(f->note, "manifest");
	cr_assert_eq(fx->nissues, 1);
	cr_assert_str_eq(fx->issues[0].kind, "refused");
	cr_assert_eq(fx->issues[0].snapshot, 3);
	cr_assert_str_eq(fx->issues[0].reason, "missing-manifest");
	cr_assert_eq(fx->restore_snapshot, 2);
	/* d.parquet is named only by the missing manifest: an orphan as far as can be
	 * told, and the note says so */
	f = find(fx, "data/d.parquet");
	cr_assert_eq(f->kind, LM_FX_ORPHAN);
	cr_assert(f->note && strstr(f->note, "snapshot 3 cannot be read whole"), "%s", f->note);
	lm_forensics_free(fx);
}

/* expire_snapshots: a fourth metadata file records snapshots 2 and 3 only; snapshot 1's
 * manifest list and manifest and the file only it held are deleted. Older metadata
 * files still record snapshot 1: what they reach is not an orphan, but what expiry
 * deleted is neither missing nor refused (only the current metadata's snapshots need
 * their files), and the restore target is a snapshot the mount shows. */
Test(iceberg_forensics, expired_snapshot_is_not_damage)
{
	struct lm_forensics *fx;

	wtext("t/metadata/00004-eeee.metadata.json",
	      META(3, SNAP(2, 2, "snap-2.avro") "," SNAP(3, 3, "snap-3.avro"),
		   LOGE("00002-bbbb.metadata.json") "," LOGE("00003-dddd.metadata.json")));
	fx = run();                    /* b.parquet still present: removed */
	cr_assert_eq(fx->n, 1, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(find(fx, "data/b.parquet")->kind, LM_FX_REMOVED);
	cr_assert_eq(fx->nissues, 0);
	lm_forensics_free(fx);
	unlink_rel("t/metadata/snap-1.avro");
	unlink_rel("t/metadata/m1.avro");
	unlink_rel("t/data/b.parquet");
	fx = run();
	cr_assert_eq(fx->n, 0, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(fx->nissues, 0, "%s", fx->nissues ? fx->issues[0].msg : "");
	cr_assert_eq(fx->restore_snapshot, 3);
	cr_assert_eq(fx->latest_snapshot, 3);
	lm_forensics_free(fx);
}

/* Metadata files that do not parse: an older one is a refused version (the raw scan of
 * older files must not take it); an unreadable current one leaves no @snap- view, so the
 * restore target is the newest @v<N> whose current snapshot is whole, and orphans say
 * the unreadable version may reference them. */
Test(iceberg_forensics, unreadable_metadata_versions)
{
	struct lm_forensics *fx;

	wtext("t/metadata/00002-bbbb.metadata.json", "{\"format-version\":2,\"snapshots\":[");
	fx = run();
	cr_assert_eq(fx->nissues, 1);
	cr_assert_str_eq(fx->issues[0].kind, "refused");
	cr_assert_eq(fx->issues[0].version, 2);
	cr_assert_str_eq(fx->issues[0].reason, "invalid-json");
	cr_assert_eq(fx->latest_snapshot, 3);
	cr_assert_eq(fx->restore_snapshot, 3);
	/* only version 2 recorded the statistics file: unknown now */
	cr_assert_eq(fx->n, 2, "first: %s", fx->n ? fx->f[0].path : "");
	cr_assert_eq(find(fx, "metadata/stats-2.puffin")->kind, LM_FX_ORPHAN);
	cr_assert(strstr(find(fx, "metadata/stats-2.puffin")->note, "metadata version 2 cannot be read"));
	lm_forensics_free(fx);
	wtext("t/metadata/00004-zzzz.metadata.json", "{\"format-version\":2,");
	wtext("t/data/z.parquet", "PAR1");
	fx = run();
	cr_assert_eq(fx->nissues, 2);
	cr_assert_eq(fx->latest_snapshot, -1);
	cr_assert_eq(fx->restore_metadata_version, 3);
	cr_assert_eq(find(fx, "data/b.parquet")->kind, LM_FX_REMOVED);   /* against v3 */
	cr_assert_eq(find(fx, "data/z.parquet")->kind, LM_FX_ORPHAN);
	cr_assert(strstr(find(fx, "data/z.parquet")->note, "cannot be read"));
	cr_assert_eq(fx->n, 3, "first: %s", fx->n ? fx->f[0].path : "");
	lm_forensics_free(fx);
}
