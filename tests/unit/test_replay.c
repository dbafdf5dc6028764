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


/* ---- Parquet checkpoints of many row groups (the bulk load on several threads) ----
 * A small writer of checkpoint files: PLAIN, uncompressed v1 pages, the leaves a file
 * listing reads (add.path, size, modificationTime, a deletion vector; protocol;
 * metaData.id). The replay's snapshot is compared with the file list built here and
 * with the tree of the copying constructor (the former construction). */

struct pw {                 /* a growing byte buffer */
	uint8_t *p;
	size_t n, cap;
};

static void pw_raw(struct pw *w, const void *p, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = (w->n + n) * 2 + 256;
		w->p = realloc(w->p, w->cap);
		cr_assert(w->p);
	}
	memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void pw_byte(struct pw *w, uint8_t b)
{
	pw_raw(w, &b, 1);
}

static void pw_varint(struct pw *w, uint64_t v)
{
	while (v >= 0x80) {
		pw_byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	pw_byte(w, (uint8_t)v);
}

static void pw_le32(struct pw *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	pw_raw(w, b, 4);
}

/* Thrift compact: field headers (ids ascending by 1..15), i32/i64 (zigzag), strings,
 * list headers, struct ends. */
static void tf(struct pw *w, int16_t *last, int id, int type)
{
	pw_byte(w, (uint8_t)(((id - *last) << 4) | type));
	*last = (int16_t)id;
}

static void tf_i32(struct pw *w, int16_t *last, int id, int32_t v)
{
	tf(w, last, id, 5);
	pw_varint(w, (uint64_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

static void tf_i64(struct pw *w, int16_t *last, int id, int64_t v)
{
	tf(w, last, id, 6);
	pw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void tf_str(struct pw *w, int16_t *last, int id, const char *s)
{
	tf(w, last, id, 8);
	pw_varint(w, strlen(s));
	pw_raw(w, s, strlen(s));
}

static void tf_list(struct pw *w, int16_t *last, int id, int etype, uint32_t n)
{
	tf(w, last, id, 9);
	if (n < 15) {
		pw_byte(w, (uint8_t)((n << 4) | etype));
	} else {
		pw_byte(w, (uint8_t)(0xf0 | etype));
		pw_varint(w, n);
	}
}

enum { K_ADD, K_PROTO, K_META };

/* One checkpoint row. */
struct ck_row {
	int kind;
	const char *path;     /* add */
	int64_t size, mtime;
	const char *dv;       /* add: inline DV data, or NULL */
};

/* The leaf columns written: name, physical type (1 INT32, 2 INT64, 6 BYTE_ARRAY), the
 * kind of row that has it, its definition level when present (deletion vector leaves
 * are one deeper). */
static const struct {
	const char *path[3];
	int type, kind, def;
} ck_cols[] = {
	{ { "add", "path" }, 6, K_ADD, 2 },
	{ { "add", "size" }, 2, K_ADD, 2 },
	{ { "add", "modificationTime" }, 2, K_ADD, 2 },
	{ { "add", "deletionVector", "storageType" }, 6, K_ADD, 3 },
	{ { "add", "deletionVector", "pathOrInlineDv" }, 6, K_ADD, 3 },
	{ { "add", "deletionVector", "cardinality" }, 2, K_ADD, 3 },
	{ { "protocol", "minReaderVersion" }, 1, K_PROTO, 2 },
	{ { "protocol", "minWriterVersion" }, 1, K_PROTO, 2 },
	{ { "metaData", "id" }, 6, K_META, 2 },
};
#define CK_NCOLS (sizeof(ck_cols) / sizeof(ck_cols[0]))

/* The definition level of row r in column c, and whether it has a value. */
static int ck_def(const struct ck_row *r, size_t c)
{
	if (r->kind != ck_cols[c].kind)
		return 0;
	if (ck_cols[c].def == 3 && !r->dv)
		return 1;   /* the add is there, its deletion vector not */
	return ck_cols[c].def;
}

static void ck_value(struct pw *w, const struct ck_row *r, size_t c)
{
	uint8_t b[8];
	int64_t v = 0;
	const char *s = NULL;

	switch (c) {
	case 0: s = r->path; break;
	case 1: v = r->size; break;
	case 2: v = r->mtime; break;
	case 3: s = "i"; break;
	case 4: s = r->dv; break;
	case 5: v = 3; break;
	case 6: v = 1; break;
	case 7: v = 2; break;
	default: s = "ck-table"; break;
	}
	if (s) {
		pw_le32(w, (uint32_t)strlen(s));
		pw_raw(w, s, strlen(s));
		return;
	}
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)((uint64_t)v >> (8 * k));
	pw_raw(w, b, ck_cols[c].type == 1 ? 4 : 8);
}

/* The file: rows in row groups of rg_rows. */
static void ck_write(const char *rel, const struct ck_row *rows, size_t n, size_t rg_rows)
{
	struct pw f = { 0 }, ft = { 0 };
	size_t nrg = (n + rg_rows - 1) / rg_rows;
	int64_t *off = calloc(nrg * CK_NCOLS, sizeof(*off)), *len = calloc(nrg * CK_NCOLS, sizeof(*len));
	char path[4096];
	FILE *fp;
	int16_t last = 0;

	pw_raw(&f, "PAR1", 4);
	for (size_t g = 0; g < nrg; g++) {
		size_t lo = g * rg_rows, hi = lo + rg_rows < n ? lo + rg_rows : n;

		for (size_t c = 0; c < CK_NCOLS; c++) {
			struct pw body = { 0 }, lv = { 0 };
			int16_t l = 0;

			/* definition levels: runs (bit width 2) */
			for (size_t i = lo; i < hi;) {
				size_t j = i;
				int d = ck_def(&rows[i], c);

				while (j < hi && ck_def(&rows[j], c) == d)
					j++;
				pw_varint(&lv, (uint64_t)(j - i) << 1);
				pw_byte(&lv, (uint8_t)d);
				i = j;
			}
			pw_le32(&body, (uint32_t)lv.n);
			pw_raw(&body, lv.p, lv.n);
			for (size_t i = lo; i < hi; i++)
				if (ck_def(&rows[i], c) == ck_cols[c].def)
					ck_value(&body, &rows[i], c);
			off[g * CK_NCOLS + c] = (int64_t)f.n;
			/* PageHeader: DATA_PAGE, sizes, DataPageHeader(num_values, PLAIN, RLE, RLE) */
			tf_i32(&f, &l, 1, 0);
			tf_i32(&f, &l, 2, (int32_t)body.n);
			tf_i32(&f, &l, 3, (int32_t)body.n);
			tf(&f, &l, 5, 12);
			{
				int16_t l2 = 0;

				tf_i32(&f, &l2, 1, (int32_t)(hi - lo));
				tf_i32(&f, &l2, 2, 0);
				tf_i32(&f, &l2, 3, 3);
				tf_i32(&f, &l2, 4, 3);
				pw_byte(&f, 0);
			}
			pw_byte(&f, 0);
			pw_raw(&f, body.p, body.n);
			len[g * CK_NCOLS + c] = (int64_t)f.n - off[g * CK_NCOLS + c];
			free(body.p);
			free(lv.p);
		}
	}
	/* FileMetaData */
	tf_i32(&ft, &last, 1, 1);
	{
		/* schema: root, add{path,size,modificationTime,deletionVector{3}},
		 * protocol{2}, metaData{id} */
		static const struct {
			const char *name;
			int type, rep, nchild, conv;
		} se[] = {
			{ "schema", -1, 0, 3, -1 },
			{ "add", -1, 1, 4, -1 },
			{ "path", 6, 1, 0, 0 },
			{ "size", 2, 1, 0, -1 },
			{ "modificationTime", 2, 1, 0, -1 },
			{ "deletionVector", -1, 1, 3, -1 },
			{ "storageType", 6, 1, 0, 0 },
			{ "pathOrInlineDv", 6, 1, 0, 0 },
			{ "cardinality", 2, 1, 0, -1 },
			{ "protocol", -1, 1, 2, -1 },
			{ "minReaderVersion", 1, 1, 0, -1 },
			{ "minWriterVersion", 1, 1, 0, -1 },
			{ "metaData", -1, 1, 1, -1 },
			{ "id", 6, 1, 0, 0 },
		};

		tf_list(&ft, &last, 2, 12, sizeof(se) / sizeof(se[0]));
		for (size_t k = 0; k < sizeof(se) / sizeof(se[0]); k++) {
			int16_t l = 0;

			if (se[k].type >= 0)
				tf_i32(&ft, &l, 1, se[k].type);
			if (k)
				tf_i32(&ft, &l, 3, se[k].rep);
			tf_str(&ft, &l, 4, se[k].name);
			if (se[k].nchild)
				tf_i32(&ft, &l, 5, se[k].nchild);
			if (se[k].conv >= 0)
				tf_i32(&ft, &l, 6, se[k].conv);
			pw_byte(&ft, 0);
		}
	}
	tf_i64(&ft, &last, 3, (int64_t)n);
	tf_list(&ft, &last, 4, 12, (uint32_t)nrg);
	for (size_t g = 0; g < nrg; g++) {
		size_t lo = g * rg_rows, hi = lo + rg_rows < n ? lo + rg_rows : n;
		int16_t l = 0;
		int64_t total = 0;

		tf_list(&ft, &l, 1, 12, CK_NCOLS);
		for (size_t c = 0; c < CK_NCOLS; c++) {
			int16_t l2 = 0, l3 = 0;
			unsigned np = ck_cols[c].path[2] ? 3 : 2;

			tf_i64(&ft, &l2, 2, off[g * CK_NCOLS + c]);
			tf(&ft, &l2, 3, 12);
			tf_i32(&ft, &l3, 1, ck_cols[c].type);
			tf_list(&ft, &l3, 2, 5, 2);
			pw_varint(&ft, 0);        /* PLAIN */
			pw_varint(&ft, 3 << 1);   /* RLE */
			tf_list(&ft, &l3, 3, 8, np);
			for (unsigned k = 0; k < np; k++) {
				pw_varint(&ft, strlen(ck_cols[c].path[k]));
				pw_raw(&ft, ck_cols[c].path[k], strlen(ck_cols[c].path[k]));
			}
			tf_i32(&ft, &l3, 4, 0);
			tf_i64(&ft, &l3, 5, (int64_t)(hi - lo));
			tf_i64(&ft, &l3, 6, len[g * CK_NCOLS + c]);
			tf_i64(&ft, &l3, 7, len[g * CK_NCOLS + c]);
			tf_i64(&ft, &l3, 9, off[g * CK_NCOLS + c]);
			pw_byte(&ft, 0);
			pw_byte(&ft, 0);
			total += len[g * CK_NCOLS + c];
		}
		tf_i64(&ft, &l, 2, total);
		tf_i64(&ft, &l, 3, (int64_t)(hi - lo));
		pw_byte(&ft, 0);
	}
	pw_byte(&ft, 0);
	pw_raw(&f, ft.p, ft.n);
	pw_le32(&f, (uint32_t)ft.n);
	pw_raw(&f, "PAR1", 4);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fp = fopen(path, "wb");
	cr_assert(fp, "%s", path);
	cr_assert_eq(fwrite(f.p, 1, f.n, fp), f.n);
	fclose(fp);
	free(f.p);
	free(ft.p);
	free(off);
	free(len);
}

/* The key a raw add path stands for: %XX decoded. */
static char *ck_key(const char *raw)
{
	char *k = malloc(strlen(raw) + 1), *o = k;

	for (const char *p = raw; *p; p++) {
		if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char h[3] = { p[1], p[2], 0 };

			*o++ = (char)strtol(h, NULL, 16);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return k;
}

struct ck_file {
	char *key;
	int64_t size, mtime;
	bool dv;
};

static int ck_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ck_file *)a)->key, ((const struct ck_file *)b)->key);
}

/* Version v of t lists exactly want[0..n) (any order), with their sizes and times, and
 * its tree is node for node the former construction's. */
static void ck_expect(struct lm_table *t, int64_t v, struct ck_file *want, size_t n)
{
	struct lm_snapshot *s = NULL, *ref = NULL;
	struct lm_file *rf = calloc(n ? n : 1, sizeof(*rf));
	struct lm_err err;

	qsort(want, n, sizeof(*want), ck_file_cmp);
	lm_err_init(&err);
	cr_assert_eq(snap_v(t, v, &s, &err), 0, "version %lld: %s", (long long)v, err.msg);
	cr_assert_eq(s->nfiles, n, "version %lld: %zu files, want %zu", (long long)v, s->nfiles, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(s->files[i].path, want[i].key, "file %zu", i);
		cr_assert_eq(s->files[i].size, (uint64_t)want[i].size, "%s", want[i].key);
		cr_assert_eq(s->files[i].mtime_ms, want[i].mtime, "%s", want[i].key);
		cr_assert_eq(!!(s->files[i].flags & LM_FILE_HAS_DV), want[i].dv, "%s", want[i].key);
		rf[i] = (struct lm_file){ .path = want[i].key, .size = (uint64_t)want[i].size,
					  .mtime_ms = want[i].mtime,
					  .flags = want[i].dv ? LM_FILE_HAS_DV : 0,
					  .deleted_rows = want[i].dv ? 3 : 0 };
		cr_assert_eq(s->files[i].deleted_rows, rf[i].deleted_rows, "%s", want[i].key);
	}
	lm_snapshot_fast_tree = false;
	cr_assert_eq(lm_snapshot_new(v, 0, rf, n, &ref, &err), 0, "%s", err.msg);
	lm_snapshot_fast_tree = true;
	cr_assert_eq(s->nnodes, ref->nnodes);
	cr_assert_eq(s->total_bytes, ref->total_bytes);
	cr_assert_eq(s->n_dv_files, ref->n_dv_files);
	for (size_t i = 0; i < ref->nnodes; i++) {
		const struct lm_snap_node *p = &s->nodes[i], *q = &ref->nodes[i];

		cr_assert_str_eq(p->name, q->name, "node %zu", i);
		cr_assert_eq(p->parent, q->parent, "node %zu (%s)", i, q->name);
		cr_assert_eq(p->first_child, q->first_child, "node %zu (%s)", i, q->name);
		cr_assert_eq(p->n_children, q->n_children, "node %zu (%s)", i, q->name);
		cr_assert_eq(p->file, q->file, "node %zu (%s)", i, q->name);
	}
	lm_snapshot_unref(ref);
	lm_snapshot_unref(s);
	free(rf);
}

/* Layouts: partitions of one depth, files at several depths and at the root, names a
 * folder's name continued by a byte below '/', %-escapes, deletion vectors; a commit
 * after the checkpoint removes some and adds some. */
static void ck_case(const char *table, int layout, size_t nadds, size_t rg_rows)
{
	struct ck_row *rows = calloc(nadds + 2, sizeof(*rows));
	char (*names)[96] = calloc(nadds + 8, 96);
	struct ck_file *want = calloc(nadds + 8, sizeof(*want));
	struct lm_table *t;
	char rel[512], *c2 = NULL;
	size_t n = 0, nr = 0, len2 = 0;

	rows[nr++] = (struct ck_row){ .kind = K_PROTO };
	for (size_t i = 0; i < nadds; i++) {
		unsigned h = (unsigned)(i * 2654435761u);

		switch (layout) {
		case 0:   /* region=x/part-NNNNN-hash.parquet */
			snprintf(names[i], 96, "region=%c/part-%05zu-%08x.parquet", "nsew"[i % 4], i % 977, h);
			break;
		case 1:   /* depths 0..3, folder names continued below '/' */
			switch (i % 5) {
			case 0: snprintf(names[i], 96, "f%08x.parquet", h); break;
			case 1: snprintf(names[i], 96, "a/f%08x", h); break;
			case 2: snprintf(names[i], 96, "a-1/f%08x", h); break;
			case 3: snprintf(names[i], 96, "a/b/c/f%08x", h); break;
			default: snprintf(names[i], 96, "a.b/x%%20y/f%08x", h); break;
			}
			break;
		default:  /* many folders, %-escaped names */
			snprintf(names[i], 96, "d=%zu/e%%3D%zu/part%%20%08x", i % 311, i % 7, h);
			break;
		}
		rows[nr++] = (struct ck_row){ .kind = K_ADD, .path = names[i], .size = (int64_t)(i * 7 + 1),
					      .mtime = 1000 + (int64_t)(i % 3),
					      .dv = i % 97 == 5 ? "abc" : NULL };
		want[n++] = (struct ck_file){ ck_key(names[i]), (int64_t)(i * 7 + 1),
					      1000 + (int64_t)(i % 3), i % 97 == 5 };
	}
	{
		/* the metaData row in the middle of a row group */
		size_t mid = nr / 2;

		rows[nr++] = rows[mid];
		rows[mid] = (struct ck_row){ .kind = K_META };
	}
	commit(table, 0, PROTO META);
	commit(table, 1, ADD("x", 1));   /* superseded by the checkpoint */
	snprintf(rel, sizeof(rel), "%s/_delta_log/%020d.checkpoint.parquet", table, 1);
	ck_write(rel, rows, nr, rg_rows);
	/* version 2: remove every 10th, add two */
	for (size_t i = 0; i < nadds; i += 10) {
		char line[256];
		size_t l = (size_t)snprintf(line, sizeof(line),
					    "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":2000,\"dataChange\":true%s}}\n",
					    names[i], i % 97 == 5 ?
					    ",\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"abc\",\"sizeInBytes\":10,\"cardinality\":3}" : "");

		c2 = realloc(c2, len2 + l + 1);
		memcpy(c2 + len2, line, l + 1);
		len2 += l;
	}
	{
		const char *more = ADD("zz/new-1", 5) ADD("a/b/c/new-2", 6);
		size_t l = strlen(more);

		c2 = realloc(c2, len2 + l + 1);
		memcpy(c2 + len2, more, l + 1);
		len2 += l;
	}
	commit(table, 2, c2 ? c2 : "");
	t = open_t(table);
	ck_expect(t, 1, want, n);
	{
		/* version 2 from the same replay, then cold */
		struct ck_file *w2 = calloc(n + 2, sizeof(*w2));
		size_t m = 0;

		for (size_t i = 0; i < nadds; i++) {
			bool removed = i % 10 == 0;

			if (!removed)
				w2[m++] = (struct ck_file){ ck_key(names[i]), (int64_t)(i * 7 + 1),
							    1000 + (int64_t)(i % 3), i % 97 == 5 };
		}
		w2[m++] = (struct ck_file){ strdup("zz/new-1"), 5, 1000, false };
		w2[m++] = (struct ck_file){ strdup("a/b/c/new-2"), 6, 1000, false };
		ck_expect(t, 2, w2, m);
		lm_table_free(t);
		t = open_t(table);
		ck_expect(t, 2, w2, m);
		ck_expect(t, 1, want, n);
		for (size_t i = 0; i < m; i++)
			free(w2[i].key);
		free(w2);
	}
	lm_table_free(t);
	for (size_t i = 0; i < n; i++)
		free(want[i].key);
	free(want);
	free(names);
	free(rows);
	free(c2);
}

Test(replay, parquet_checkpoint_many_row_groups, .timeout = 120)
{
	ck_case("ck0", 0, 20000, 1500);
	ck_case("ck1", 1, 5000, 700);
	ck_case("ck2", 2, 9000, 1000);
	ck_case("ck3", 0, 50, 7);
}

/* Small commits after a checkpoint of more than 65536 adds are applied without an index
 * (a pass over the sort keys): the same versions as with one — removes, a re-add that
 * changes a file, adds to new and old folders, a remove of an unknown file, a key the
 * checkpoint holds twice (the later row wins once a commit follows, as an index build
 * has it; the checkpoint's own version is refused). */
static void ck_scan_case(const char *table, bool dup)
{
	enum { N = 70000 };
	struct ck_row *rows = calloc(N + 3, sizeof(*rows));
	char (*names)[96] = calloc(N, 96);
	struct ck_file *want = calloc(N + 8, sizeof(*want));
	struct lm_table *t;
	char rel[512], c2[4096], c3[2048];
	size_t nr = 0, m;

	rows[nr++] = (struct ck_row){ .kind = K_PROTO };
	rows[nr++] = (struct ck_row){ .kind = K_META };
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], 96, "p=%zu/part-%05zu-%08x.parquet", i % 3, i, (unsigned)(i * 2654435761u));
		rows[nr++] = (struct ck_row){ .kind = K_ADD, .path = names[i], .size = (int64_t)i + 1,
					      .mtime = 500, .dv = i == 77 ? "dvx" : NULL };
	}
	if (dup)   /* names[5] again, later, with another size */
		rows[nr++] = (struct ck_row){ .kind = K_ADD, .path = names[5], .size = 999999, .mtime = 501 };
	commit(table, 0, PROTO META);
	snprintf(rel, sizeof(rel), "%s/_delta_log/%020d.checkpoint.parquet", table, 1);
	ck_write(rel, rows, nr, 9000);
	{
		char line[512];

		snprintf(line, sizeof(line),
			 "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":2000,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"dvx\",\"sizeInBytes\":10,\"cardinality\":3}}}\n",
			 names[77]);
		snprintf(c2, sizeof(c2), "%s%s%s%s%s", REM("p=0/part-00000-00000000.parquet"), line,
			 REM("p=9/never-added"), ADD("p=1/new-a", 11), ADD("zz/new-b", 12));
		snprintf(line, sizeof(line),
			 "{\"add\":{\"path\":\"%s\",\"size\":4242,\"modificationTime\":1000,\"dataChange\":true}}\n",
			 names[10]);
		strncat(c2, line, sizeof(c2) - strlen(c2) - 1);
	}
	commit(table, 2, c2);
	snprintf(c3, sizeof(c3), "%s%s", REM("zz/new-b"), ADD("p=0/new-c", 13));
	commit(table, 3, c3);
	t = open_t(table);
	if (dup)
		expect_refused(t, 1, "duplicate-path", names[5]);
	/* version 2 */
	m = 0;
	for (size_t i = 0; i < N; i++) {
		if (i == 0 || i == 77)
			continue;
		want[m++] = (struct ck_file){ strdup(names[i]), i == 10 ? 4242 : dup && i == 5 ? 999999 : (int64_t)i + 1,
					      i == 10 ? 1000 : dup && i == 5 ? 501 : 500, false };
	}
	want[m++] = (struct ck_file){ strdup("p=1/new-a"), 11, 1000, false };
	want[m++] = (struct ck_file){ strdup("zz/new-b"), 12, 1000, false };
	ck_expect(t, 2, want, m);
	lm_table_free(t);
	t = open_t(table);
	ck_expect(t, 2, want, m);   /* cold */
	lm_table_free(t);
	t = open_t(table);
	/* version 3 cold: both commits without an index */
	for (size_t i = 0; i < m; i++)
		if (!strcmp(want[i].key, "zz/new-b")) {
			free(want[i].key);
			want[i] = (struct ck_file){ strdup("p=0/new-c"), 13, 1000, false };
		}
	ck_expect(t, 3, want, m);
	lm_table_free(t);
	for (size_t i = 0; i < m; i++)
		free(want[i].key);
	free(want);
	free(names);
	free(rows);
}

Test(replay, parquet_checkpoint_small_commits_without_index, .timeout = 120)
{
	ck_scan_case("sc0", false);
	ck_scan_case("sc1", true);
}
