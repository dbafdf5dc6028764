/* Unit tests for the Iceberg work: the exact JSON reader, the Avro container decoder,
 * the metadata/manifest decoders, path relocation, timestamps, and the driver on small
 * tables written here (manifest lists and manifests produced by avro_writer.h). */
#include "../helpers.h"
#include "avro_writer.h"

#include "../../../src/iceberg/iceberg_int.h"
#include "lm/avro.h"
#include "lm/iceberg.h"
#include "lm/json.h"
#include "lm/store.h"
#include "lm/table.h"

/* ---------- JSON ---------- */

static struct lm_json_doc *jparse(const char *s)
{
	struct lm_json_doc *d = NULL;
	struct lm_err e;

	lm_err_init(&e);
	cr_assert_eq(lm_json_parse(s, strlen(s), NULL, &d, &e), 0, "%s: %s", s, e.msg);
	return d;
}

static int jfail(const char *s, struct lm_err *e)
{
	struct lm_json_doc *d = NULL;
	int rc;

	lm_err_init(e);
	rc = lm_json_parse(s, strlen(s), NULL, &d, e);
	cr_assert_null(d);
	return rc;
}

Test(json, int64_exact)
{
	struct lm_json_doc *d = jparse("{\"id\": 3051729675574597004, \"min\": -9223372036854775808,"
				       " \"max\": 9223372036854775807, \"big\": 9223372036854775808,"
				       " \"f\": 1.5, \"e\": 1e3, \"s\": \"42\"}");
	const struct lm_json *r = lm_json_doc_root(d);
	int64_t v;

	cr_assert_eq(lm_json_i64(lm_json_get(r, "id"), &v), 0);
	cr_assert_eq(v, INT64_C(3051729675574597004));
	cr_assert_eq(lm_json_i64(lm_json_get(r, "min"), &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(lm_json_i64(lm_json_get(r, "max"), &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(lm_json_i64(lm_json_get(r, "big"), &v), ERANGE);
	cr_assert_eq(lm_json_i64(lm_json_get(r, "f"), &v), EINVAL);
	cr_assert_eq(lm_json_i64(lm_json_get(r, "e"), &v), EINVAL);
	cr_assert_eq(lm_json_i64(lm_json_get(r, "s"), &v), EINVAL);
	cr_assert_eq(lm_json_i64_lenient(lm_json_get(r, "s"), &v), 0);
	cr_assert_eq(v, 42);
	lm_json_doc_free(d);
}

Test(json, strings_and_structure)
{
	struct lm_json_doc *d = jparse(" [\"a\\\"b\\\\c\\/\\n\", \"\\u00e9\\ud83d\\ude00\", {\"k\":1,\"k\":2},"
				       " [], {}, true, false, null] ");
	const struct lm_json *r = lm_json_doc_root(d);
	int64_t v;
	bool b;

	cr_assert_eq(r->type, LM_JSON_ARRAY);
	cr_assert_eq(r->n, 8);
	cr_assert_str_eq(lm_json_str(&r->u.kids[0]), "a\"b\\c/\n");
	cr_assert_str_eq(lm_json_str(&r->u.kids[1]), "\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert_eq(lm_json_i64(lm_json_get(&r->u.kids[2], "k"), &v), 0);
	cr_assert_eq(v, 2, "a repeated key reads as its last value");
	cr_assert_eq(r->u.kids[3].n, 0);
	cr_assert_eq(r->u.kids[4].type, LM_JSON_OBJECT);
	cr_assert_eq(lm_json_bool(&r->u.kids[5], &b), 0);
	cr_assert(b);
	cr_assert_eq(r->u.kids[7].type, LM_JSON_NULL);
	lm_json_doc_free(d);
}

Test(json, refusals)
{
	static const char *bad[] = {
		"", "{", "[1,]", "{\"a\" 1}", "\"abc", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\x\"",
		"01", "-", "1.", "1e", "tru", "[1] 2", "{\"a\":1,}", "\"tab\there\"", "nul",
	};
	struct lm_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jfail(bad[i], &e), LM_EFORMAT, "'%s' accepted", bad[i]);
	cr_assert_eq(jfail("{\n  \"a\": [1, 2,,]\n}", &e), LM_EFORMAT);
	cr_assert(strstr(e.msg, "line 2"), "%s", e.msg);
	{
		char deep[1200];

		memset(deep, '[', 600);
		memset(deep + 600, ']', 600);
		deep[1199] = '\0';
		deep[1198] = ']';
		cr_assert_eq(jfail(deep, &e), LM_ETOOBIG, "%s", e.msg);
	}
}

/* ---------- Avro ---------- */

static const char *REC_SCHEMA =
	"{\"type\":\"record\",\"name\":\"r\",\"namespace\":\"x\",\"fields\":["
	"{\"name\":\"id\",\"type\":\"long\",\"field-id\":1},"
	"{\"name\":\"name\",\"type\":[\"null\",\"string\"],\"field-id\":2},"
	"{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
	"{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"int\"}}},"
	"{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}},"
	"{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
	"{\"name\":\"d\",\"type\":\"double\"},{\"name\":\"ok\",\"type\":\"boolean\"},"
	"{\"name\":\"again\",\"type\":[\"null\",\"F\"]}]}";

static void put_rec(struct abuf *b, int64_t id, const char *name)
{
	double d = 2.5;

	ab_long(b, id);
	ab_opt_str(b, name);
	ab_long(b, -2);              /* array block in the negative-count form */
	ab_long(b, 4);               /* its byte size */
	ab_str(b, "t1");
	ab_str(b, "");
	ab_long(b, 0);
	ab_long(b, 1);               /* map with one entry */
	ab_str(b, "k");
	ab_long(b, -7);
	ab_long(b, 0);
	ab_long(b, 1);               /* enum B */
	ab_raw(b, "xy", 2);
	ab_raw(b, &d, 8);
	ab_raw(b, "\x01", 1);
	ab_long(b, 1);
	ab_raw(b, "zz", 2);
}

static void check_file(const struct abuf *f, const char *codec)
{
	struct lm_avro_reader *r = NULL;
	const struct lm_avro_value *rec;
	struct lm_err e;
	int64_t v;
	size_t n;
	const uint8_t *p;
	int count = 0;

	lm_err_init(&e);
	cr_assert_eq(lm_avro_open(f->p, f->n, NULL, &r, &e), 0, "%s: %s", codec, e.msg);
	cr_assert_str_eq(lm_avro_codec(r), codec);
	p = lm_avro_meta(r, "format-version", &n);
	cr_assert(p && n == 1 && p[0] == '2');
	while (!lm_avro_next(r, &rec, &e) && rec) {
		cr_assert_eq(lm_avro_long(lm_avro_field(rec, 1, NULL), &v), 0);
		cr_assert_eq(v, count == 0 ? INT64_C(3051729675574597004) : -5);
		p = lm_avro_bytes(lm_avro_field(rec, 2, "name"), &n);
		if (count == 0) {
			cr_assert(p && n == 3 && !memcmp(p, "abc", 3));
		} else {
			cr_assert_null(p, "null branch reads as absent");
		}
		{
			const struct lm_avro_value *t = lm_avro_field(rec, -1, "tags");
			const struct lm_avro_value *m = lm_avro_field(rec, -1, "attrs");

			cr_assert_eq(t->n, 2);
			cr_assert_eq(t->u.items[0].n, 2);
			cr_assert_eq(m->schema->type, LM_AVRO_MAP);
			cr_assert_eq(m->n, 1);
			cr_assert_eq(m->u.items[1].u.l, -7);
			cr_assert_eq(lm_avro_field(rec, -1, "e")->u.l, 1);
			cr_assert_eq(lm_avro_field(rec, -1, "d")->u.d, 2.5);
			cr_assert_eq(lm_avro_field(rec, -1, "again")->n, 2);
			cr_assert_eq(lm_avro_field(rec, -1, "again")->branch, 1);
		}
		count++;
	}
	cr_assert_eq(e.code, 0, "%s", e.msg);
	cr_assert_eq(count, 2);
	lm_avro_close(r);
}

static void make_file(struct abuf *f, const char *codec)
{
	struct abuf recs = { 0 };
	static const char *meta[] = { "format-version", "2", NULL };

	put_rec(&recs, INT64_C(3051729675574597004), "abc");
	put_rec(&recs, -5, NULL);
	ab_container(f, REC_SCHEMA, codec, meta, &recs, 2);
	free(recs.p);
}

Test(avro, codecs_roundtrip)
{
	static const char *codecs[] = { "null", "deflate", "snappy", "zstandard" };

	for (size_t i = 0; i < 4; i++) {
		struct abuf f = { 0 };

		make_file(&f, codecs[i]);
		check_file(&f, codecs[i]);
		free(f.p);
	}
}

static int read_all(const uint8_t *p, size_t n, const struct lm_avro_limits *lim, struct lm_err *e)
{
	struct lm_avro_reader *r = NULL;
	const struct lm_avro_value *rec;
	int rc;

	lm_err_init(e);
	rc = lm_avro_open(p, n, lim, &r, e);
	if (rc)
		return rc;
	while (!(rc = lm_avro_next(r, &rec, e)) && rec)
		;
	lm_avro_close(r);
	return rc;
}

Test(avro, truncation_and_corruption)
{
	struct abuf f = { 0 };
	struct lm_err e;

	size_t accepted = 0;

	make_file(&f, "deflate");
	/* every truncation fails cleanly (no crash; ASan watches) — except the cut right
	 * after the header, which is a valid file without blocks */
	for (size_t k = 0; k < f.n; k++)
		accepted += read_all(f.p, k, NULL, &e) == 0;
	cr_assert_eq(accepted, 1);
	/* a flipped sync marker */
	f.p[f.n - 1] ^= 0xff;
	cr_assert_eq(read_all(f.p, f.n, NULL, &e), LM_EFORMAT);
	cr_assert(strstr(e.msg, "sync"), "%s", e.msg);
	free(f.p);
}

Test(avro, refusals)
{
	struct abuf f = { 0 }, recs = { 0 };
	struct lm_err e;
	struct lm_avro_limits lim = { .max_values = 1000 };

	/* unknown codec */
	ab_container(&f, "\"long\"", "bzip2", NULL, &recs, 0);
	cr_assert_eq(read_all(f.p, f.n, NULL, &e), LM_EUNSUPPORTED);
	free(f.p);
	memset(&f, 0, sizeof(f));
	/* bad union branch */
	ab_long(&recs, 5);
	ab_container(&f, "[\"null\",\"long\"]", "null", NULL, &recs, 1);
	cr_assert_eq(read_all(f.p, f.n, NULL, &e), LM_EFORMAT);
	free(f.p);
	free(recs.p);
	memset(&f, 0, sizeof(f));
	memset(&recs, 0, sizeof(recs));
	/* an array claiming 2^40 nulls: capped, not looped */
	ab_long(&recs, INT64_C(1) << 40);
	ab_long(&recs, 0);
	ab_container(&f, "{\"type\":\"array\",\"items\":\"null\"}", "null", NULL, &recs, 1);
	cr_assert_eq(read_all(f.p, f.n, &lim, &e), LM_ETOOBIG, "%s", e.msg);
	free(f.p);
	free(recs.p);
	memset(&f, 0, sizeof(f));
	memset(&recs, 0, sizeof(recs));
	/* a recursive type nests until the depth cap */
	for (int i = 0; i < 200; i++)
		ab_long(&recs, 1);
	ab_long(&recs, 0);
	ab_container(&f, "{\"type\":\"record\",\"name\":\"n\",\"fields\":[{\"name\":\"next\",\"type\":[\"null\",\"n\"]}]}",
		     "null", NULL, &recs, 1);
	cr_assert_eq(read_all(f.p, f.n, NULL, &e), LM_ETOOBIG, "%s", e.msg);
	free(f.p);
	free(recs.p);
	memset(&f, 0, sizeof(f));
	memset(&recs, 0, sizeof(recs));
	/* schema errors */
	ab_container(&f, "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"nope\"}]}",
		     "null", NULL, &recs, 0);
	cr_assert_eq(read_all(f.p, f.n, NULL, &e), LM_EFORMAT);
	free(f.p);
	cr_assert_eq(read_all((const uint8_t *)"Obj", 3, NULL, &e), LM_EFORMAT);
	cr_assert_eq(read_all((const uint8_t *)"PAR1xxxxxxxxxxxxxxxxxxxxxx", 24, NULL, &e), LM_EFORMAT);
	/* an over-long varint */
	{
		uint8_t v[] = { 'O', 'b', 'j', 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

		cr_assert_eq(read_all(v, sizeof(v), NULL, &e), LM_EFORMAT);
	}
}

/* ---------- metadata, names, hints ---------- */

Test(iceberg_meta, names)
{
	struct lm_iceberg_meta_name nm;

	cr_assert_eq(lm_iceberg_meta_name_parse("v1.metadata.json", &nm), 0);
	cr_assert(nm.has_version && nm.version == 1 && nm.canonical && !nm.gz);
	cr_assert_eq(lm_iceberg_meta_name_parse("v2.gz.metadata.json", &nm), 0);
	cr_assert(nm.has_version && nm.version == 2 && nm.canonical && nm.gz);
	cr_assert_eq(lm_iceberg_meta_name_parse("00012-8f1c-44.metadata.json", &nm), 0);
	cr_assert(nm.has_version && nm.version == 12 && nm.canonical);
	cr_assert_eq(lm_iceberg_meta_name_parse("00003-x.metadata.json.gz", &nm), 0);
	cr_assert(nm.version == 3 && nm.gz);
	cr_assert_eq(lm_iceberg_meta_name_parse("v3.1.metadata.json", &nm), 0);
	cr_assert(nm.has_version && nm.version == 3 && !nm.canonical);
	cr_assert_eq(lm_iceberg_meta_name_parse("v1749025517.metadata.json", &nm), 0);
	cr_assert_eq(nm.version, 1749025517);
	cr_assert_eq(lm_iceberg_meta_name_parse("table.metadata.json", &nm), 0);
	cr_assert(!nm.has_version);
	cr_assert_eq(lm_iceberg_meta_name_parse("12345678901234567890123-x.metadata.json", &nm), 0);
	cr_assert(!nm.has_version);
	cr_assert_eq(lm_iceberg_meta_name_parse("9999999999999999999a.metadata.json.gz", &nm), 0);
	cr_assert(!nm.has_version, "19 digits do not fit (found by fuzzing)");
	cr_assert_eq(lm_iceberg_meta_name_parse("v999999999999999999.metadata.json", &nm), 0);
	cr_assert(nm.has_version && nm.version == INT64_C(999999999999999999));
	cr_assert_eq(lm_iceberg_meta_name_parse(".v1.metadata.json.crc", &nm), EINVAL);
	cr_assert_eq(lm_iceberg_meta_name_parse("snap-1-1-x.avro", &nm), EINVAL);
	cr_assert_eq(lm_iceberg_meta_name_parse(".metadata.json", &nm), EINVAL);
	cr_assert_eq(lm_iceberg_meta_name_parse("version-hint.text", &nm), EINVAL);
}

Test(iceberg_meta, hints)
{
	struct lm_iceberg_hint h;

	lm_iceberg_hint_parse("7", 1, &h);
	cr_assert(h.kind == LM_ICEBERG_HINT_NUMBER && h.number == 7);
	lm_iceberg_hint_parse(" 12\r\n", 5, &h);
	cr_assert(h.kind == LM_ICEBERG_HINT_NUMBER && h.number == 12);
	lm_iceberg_hint_parse("00001-abc-def", 13, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_STEM);
	cr_assert_str_eq(h.stem, "00001-abc-def");
	lm_iceberg_hint_parse("s3://b/t/metadata/00001-abc.metadata.json\n", 42, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_STEM);
	cr_assert_str_eq(h.stem, "00001-abc");
	lm_iceberg_hint_parse("", 0, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_NONE);
	lm_iceberg_hint_parse("\n\n", 2, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_NONE);
	lm_iceberg_hint_parse("a\x01" "b", 3, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_NONE);
	lm_iceberg_hint_parse("99999999999999999999", 20, &h);
	cr_assert_eq(h.kind, LM_ICEBERG_HINT_NONE);
}

static struct lm_iceberg_meta *mparse(const char *s, struct lm_err *e)
{
	struct lm_iceberg_meta *m = NULL;

	lm_err_init(e);
	lm_iceberg_meta_parse(s, strlen(s), 0, &m, e);
	return m;
}

Test(iceberg_meta, parse)
{
	struct lm_err e;
	struct lm_iceberg_meta *m = mparse(
		"{\"format-version\":2,\"location\":\"s3://b/t\",\"current-snapshot-id\":3051729675574597004,"
		"\"last-updated-ms\":1700000100000,"
		"\"snapshots\":[{\"snapshot-id\":1,\"timestamp-ms\":1000,\"sequence-number\":1,"
		"\"manifest-list\":\"s3://b/t/metadata/snap-1.avro\",\"summary\":{\"operation\":\"append\"}},"
		"{\"snapshot-id\":3051729675574597004,\"parent-snapshot-id\":1,\"timestamp-ms\":2000,"
		"\"sequence-number\":2,\"manifest-list\":\"s3://b/t/metadata/snap-2.avro\"}],"
		"\"refs\":{\"main\":{\"snapshot-id\":3051729675574597004,\"type\":\"branch\"},"
		"\"t\":{\"snapshot-id\":1,\"type\":\"tag\"},\"bad\":{\"type\":\"branch\"}},"
		"\"snapshot-log\":[{\"timestamp-ms\":1000,\"snapshot-id\":1},{\"timestamp-ms\":2000,"
		"\"snapshot-id\":3051729675574597004}],"
		"\"metadata-log\":[{\"timestamp-ms\":1000,\"metadata-file\":\"s3://b/t/metadata/v1.metadata.json\"}]}",
		&e);
	const struct lm_iceberg_snapshot *s;
	int64_t id;

	cr_assert_not_null(m, "%s", e.msg);
	cr_assert_eq(m->format_version, 2);
	cr_assert(m->has_current);
	cr_assert_eq(m->current_snapshot_id, INT64_C(3051729675574597004));
	s = lm_iceberg_meta_snapshot(m, INT64_C(3051729675574597004));
	cr_assert_not_null(s);
	cr_assert(s->has_parent && s->parent_id == 1 && s->seq == 2);
	cr_assert_str_eq(lm_iceberg_meta_snapshot(m, 1)->operation, "append");
	cr_assert_null(lm_iceberg_meta_snapshot(m, 3051729675574597005));
	cr_assert_eq(m->nrefs, 2);
	cr_assert_eq(m->refs_skipped, 1);
	cr_assert_str_eq(m->refs[0].name, "main");
	cr_assert(m->refs[1].is_tag);
	cr_assert_eq(lm_iceberg_meta_as_of(m, 999, &id), ENOENT);
	cr_assert_eq(lm_iceberg_meta_as_of(m, 1000, &id), 0);
	cr_assert_eq(id, 1);
	cr_assert_eq(lm_iceberg_meta_as_of(m, 1999, &id), 0);
	cr_assert_eq(id, 1);
	cr_assert_eq(lm_iceberg_meta_as_of(m, 5000, &id), 0);
	cr_assert_eq(id, INT64_C(3051729675574597004));
	cr_assert_eq(m->nmetadata_log, 1);
	lm_iceberg_meta_free(m);

	m = mparse("{\"format-version\":1,\"current-snapshot-id\":-1}", &e);
	cr_assert_not_null(m, "%s", e.msg);
	cr_assert(!m->has_current);
	lm_iceberg_meta_free(m);

	cr_assert_null(mparse("{\"format-version\":2,\"snapshots\":[{\"snapshot-id\":1},{\"snapshot-id\":1}]}", &e));
	cr_assert_str_eq(e.reason, "invalid-metadata");
	cr_assert_null(mparse("{\"format-version\":\"2\"}", &e));
	cr_assert_str_eq(e.reason, "invalid-metadata");
	cr_assert_null(mparse("{\"snapshots\":[{\"snapshot-id\":1.5}]}", &e));
	cr_assert_str_eq(e.reason, "invalid-metadata");
	cr_assert_null(mparse("{\"format-version\":2,", &e));
	cr_assert_str_eq(e.reason, "invalid-json");
	cr_assert_null(mparse("[]", &e));
}

Test(iceberg_meta, gzip)
{
	const char *js = "{\"format-version\":2,\"location\":\"/x\",\"current-snapshot-id\":-1}";
	uint8_t out[512];
	z_stream z;
	struct lm_iceberg_meta *m = NULL;
	struct lm_err e;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)js;
	z.avail_in = (uInt)strlen(js);
	z.next_out = out;
	z.avail_out = sizeof(out);
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	lm_err_init(&e);
	cr_assert_eq(lm_iceberg_meta_parse(out, sizeof(out) - z.avail_out, 0, &m, &e), 0, "%s", e.msg);
	cr_assert(m->gzipped);
	cr_assert_str_eq(m->location, "/x");
	lm_iceberg_meta_free(m);
	/* truncated gzip and a cap too small */
	cr_assert_neq(lm_iceberg_meta_parse(out, 20, 0, &m, &e), 0);
	cr_assert_eq(lm_iceberg_meta_parse(out, sizeof(out) - z.avail_out, 10, &m, &e), LM_ETOOBIG);
	deflateEnd(&z);
}

/* ---------- paths and time ---------- */

Test(iceberg_paths, relocate)
{
	struct lm_store *st = NULL;
	struct ice_roots r;
	struct lm_err e;
	char *dir = th_tmpdir(), *rel = NULL;
	char *names[] = { "snap-1.avro", "v1.metadata.json" };

	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(dir, &st, &e), 0);
	ice_roots_init(&r);
	ice_roots_add(&r, "s3a://bucket/wh/t/");
	ice_roots_learn(&r, "data/persistent/t/metadata/snap-1.avro", names, 2);
	ice_roots_learn(&r, "gs://other/metadata/unknown.avro", names, 2);
	cr_assert_eq(r.n, 2);
#define OK(raw, want)                                                                        \
	do {                                                                                 \
		cr_assert_eq(ice_relocate(&r, st, "wh/t", raw, &rel, &e), 0, "%s: %s", raw, e.msg); \
		cr_assert_str_eq(rel, want);                                                 \
		free(rel);                                                                   \
	} while (0)
#define ESC(raw)                                                                             \
	do {                                                                                 \
		cr_assert_eq(ice_relocate(&r, st, "wh/t", raw, &rel, &e), LM_EESCAPE, "%s", raw); \
		cr_assert(strstr(e.msg, raw), "%s", e.msg);                                  \
	} while (0)
	OK("s3a://bucket/wh/t/data/a=1/f.parquet", "data/a=1/f.parquet");
	OK("s3://bucket/wh/t/data/f.parquet", "data/f.parquet");
	OK("s3n://bucket/wh/t/data/x%3A1.parquet", "data/x%3A1.parquet");
	OK("data/persistent/t/data/f.parquet", "data/f.parquet");
	OK("data/g.parquet", "data/g.parquet");
	ESC("s3a://bucket/wh/t/../u/f.parquet");
	ESC("s3a://bucket/wh/tt/f.parquet");
	ESC("s3a://other/wh/t/data/f.parquet");
	ESC("hdfs://nn:8020/wh/t/data/f.parquet");
	ESC("../t2/data/f.parquet");
	ESC("data//f.parquet");
	ESC("/tmp/elsewhere/f.parquet");
	{
		char abs[4200];

		snprintf(abs, sizeof(abs), "%s/wh/t/data/h.parquet", dir);
		OK(abs, "data/h.parquet");
		snprintf(abs, sizeof(abs), "file://%s/wh/t/data/h.parquet", dir);
		OK(abs, "data/h.parquet");
		snprintf(abs, sizeof(abs), "%s/wh/u/h.parquet", dir);
		cr_assert_eq(ice_relocate(&r, st, "wh/t", abs, &rel, &e), LM_EESCAPE);
	}
	ice_roots_free(&r);
	ice_roots_init(&r);
	ice_roots_add(&r, "./lineitem");
	ice_roots_add(&r, "file:///tmp/iceberg/t1");
	ice_roots_add(&r, "hdfs://localhost:20500/wh/t");
	OK("lineitem/data/f.parquet", "data/f.parquet");
	OK("file:/tmp/iceberg/t1/data/f.parquet", "data/f.parquet");
	OK("/tmp/iceberg/t1/data/f.parquet", "data/f.parquet");
	OK("hdfs://localhost:20500/wh/t/data/f.parquet", "data/f.parquet");
	ESC("hdfs://localhost:20501/wh/t/data/f.parquet");
#undef OK
#undef ESC
	ice_roots_free(&r);
	lm_store_free(st);
	th_rmrf(dir);
	free(dir);
}

Test(iceberg_paths, timestamps)
{
	int64_t ms;

	cr_assert_eq(ice_parse_time("2023-11-14T22:13:20Z", &ms), 0);
	cr_assert_eq(ms, INT64_C(1700000000000));
	cr_assert_eq(ice_parse_time("2023-11-14T22:13:20.123Z", &ms), 0);
	cr_assert_eq(ms, INT64_C(1700000000123));
	cr_assert_eq(ice_parse_time("2023-11-14T23:13:20.5+01:00", &ms), 0);
	cr_assert_eq(ms, INT64_C(1700000000500));
	cr_assert_eq(ice_parse_time("2023-11-14 22:13", &ms), 0);
	cr_assert_eq(ms, INT64_C(1699999980000));
	cr_assert_eq(ice_parse_time("1970-01-01", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(ice_parse_time("1969-12-31T23:59:59Z", &ms), 0);
	cr_assert_eq(ms, -1000);
	cr_assert_eq(ice_parse_time("2024-02-29", &ms), 0);
	cr_assert_eq(ice_parse_time("2023-02-29", &ms), EINVAL);
	cr_assert_eq(ice_parse_time("2023-13-01", &ms), EINVAL);
	cr_assert_eq(ice_parse_time("2023-11-14T25:00Z", &ms), EINVAL);
	cr_assert_eq(ice_parse_time("latest", &ms), EINVAL);
	cr_assert_eq(ice_parse_time("v3", &ms), EINVAL);
	cr_assert_eq(ice_parse_time("2023-11-14T22:13:20Zjunk", &ms), EINVAL);
}

/* ---------- the driver on tables written here ---------- */

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
	"{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":["
	"{\"name\":\"region\",\"type\":[\"null\",\"string\"],\"field-id\":1000}]},\"field-id\":102},"
	"{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
	"{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
	"{\"name\":\"referenced_data_file\",\"type\":[\"null\",\"string\"],\"field-id\":143}"
	"]},\"field-id\":2}]}";

struct ent {
	int status;
	int64_t snap;              /* 0: null (inherited) */
	int64_t seq;               /* 0: null (inherited) */
	int content;
	const char *path;
	const char *fmt;
	const char *region;
	int64_t size;
	const char *ref;
};

static char *root;
static struct lm_store *st;

static void wbin(const char *rel, const void *p, size_t n)
{
	char path[4200];
	FILE *f;

	th_write(root, rel, "");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void manifest(const char *rel, const char *content, const struct ent *e, size_t n,
		     const char *codec)
{
	struct abuf recs = { 0 }, f = { 0 };
	const char *meta[] = { "format-version", "2", "partition-spec-id", "0", "content", content,
			       "partition-spec", "[{\"name\":\"region\",\"transform\":\"identity\",\"source-id\":2,\"field-id\":1000}]",
			       NULL };

	for (size_t i = 0; i < n; i++) {
		ab_long(&recs, e[i].status);
		ab_opt_long(&recs, e[i].snap ? &e[i].snap : NULL);
		ab_opt_long(&recs, e[i].seq ? &e[i].seq : NULL);
		ab_opt_long(&recs, e[i].seq ? &e[i].seq : NULL);
		ab_long(&recs, e[i].content);
		ab_str(&recs, e[i].path);
		ab_str(&recs, e[i].fmt ? e[i].fmt : "PARQUET");
		ab_opt_str(&recs, e[i].region);
		ab_long(&recs, 10);
		ab_long(&recs, e[i].size);
		ab_opt_str(&recs, e[i].ref);
	}
	ab_container(&f, MANIFEST_SCHEMA, codec, meta, &recs, (long)n);
	wbin(rel, f.p, f.n);
	free(recs.p);
	free(f.p);
}

struct mf {
	const char *path;
	int content;
	int64_t seq;
	int64_t snap;
};

static void mlist(const char *rel, const struct mf *m, size_t n)
{
	struct abuf recs = { 0 }, f = { 0 };

	for (size_t i = 0; i < n; i++) {
		ab_str(&recs, m[i].path);
		ab_long(&recs, 100);
		ab_long(&recs, 0);
		ab_long(&recs, m[i].content);
		ab_long(&recs, m[i].seq);
		ab_long(&recs, m[i].seq);
		ab_long(&recs, m[i].snap);
	}
	ab_container(&f, AW_MLIST_SCHEMA, "deflate", NULL, &recs, (long)n);
	wbin(rel, f.p, f.n);
	free(recs.p);
	free(f.p);
}

#define S2 INT64_C(3051729675574597004)
#define LOC "s3a://bucket/wh/t1"

static void write_t1(void)
{
	char js[4096];
	const struct ent m1[] = {
		{ 1, 0, 0, 0, LOC "/data/region=eu/a.parquet", NULL, "eu", 100, NULL },
		{ 1, 0, 0, 0, LOC "/data/region=us/b.parquet", NULL, "us", 200, NULL },
	};
	const struct ent m2[] = {
		{ 0, 1001, 1, 0, LOC "/data/region=eu/a.parquet", NULL, "eu", 100, NULL },
		{ 2, S2, 1, 0, LOC "/data/region=us/b.parquet", NULL, "us", 200, NULL },
		{ 1, 0, 0, 0, LOC "/data/region=eu/c.parquet", NULL, "eu", 300, NULL },
	};
	const struct ent d1[] = {
		{ 1, 0, 0, 2, LOC "/data/region=eu/eq-1.parquet", NULL, "eu", 10, NULL },
		{ 1, 0, 0, 1, LOC "/data/region=us/pos-1.parquet", NULL, "us", 10, NULL },
		{ 1, 0, 0, 1, LOC "/data/region=eu/pos-2.parquet", NULL, "eu", 10,
		  LOC "/data/region=eu/a.parquet" },
	};
	const struct mf l1[] = { { LOC "/metadata/m1.avro", 0, 1, 1001 } };
	const struct mf l2[] = { { LOC "/metadata/m2.avro", 0, 2, S2 },
				 { LOC "/metadata/d1.avro", 1, 2, S2 } };

	manifest("t1/metadata/m1.avro", "data", m1, 2, "null");
	manifest("t1/metadata/m2.avro", "data", m2, 3, "zstandard");
	manifest("t1/metadata/d1.avro", "deletes", d1, 3, "snappy");
	mlist("t1/metadata/snap-1001.avro", l1, 1);
	mlist("t1/metadata/snap-2.avro", l2, 2);
#define SNAP1 "{\"snapshot-id\":1001,\"timestamp-ms\":1700000000000,\"sequence-number\":1," \
	"\"manifest-list\":\"" LOC "/metadata/snap-1001.avro\",\"summary\":{\"operation\":\"append\"}}"
	snprintf(js, sizeof(js),
		 "{\"format-version\":2,\"location\":\"" LOC "\",\"current-snapshot-id\":1001,"
		 "\"last-updated-ms\":1700000000000,\"snapshots\":[" SNAP1 "],"
		 "\"refs\":{\"main\":{\"snapshot-id\":1001,\"type\":\"branch\"}},"
		 "\"snapshot-log\":[{\"timestamp-ms\":1700000000000,\"snapshot-id\":1001}]}");
	th_write(root, "t1/metadata/v1.metadata.json", js);
	snprintf(js, sizeof(js),
		 "{\"format-version\":2,\"location\":\"" LOC "/\",\"current-snapshot-id\":3051729675574597004,"
		 "\"last-updated-ms\":1700000100000,\"snapshots\":[" SNAP1 ","
		 "{\"snapshot-id\":3051729675574597004,\"parent-snapshot-id\":1001,"
		 "\"timestamp-ms\":1700000100000,\"sequence-number\":2,"
		 "\"manifest-list\":\"" LOC "/metadata/snap-2.avro\",\"summary\":{\"operation\":\"delete\"}}],"
		 "\"refs\":{\"main\":{\"snapshot-id\":3051729675574597004,\"type\":\"branch\"},"
		 "\"dev\":{\"snapshot-id\":1001,\"type\":\"branch\"},"
		 "\"rel/1.0\":{\"snapshot-id\":1001,\"type\":\"tag\"}},"
		 "\"snapshot-log\":[{\"timestamp-ms\":1700000000000,\"snapshot-id\":1001},"
		 "{\"timestamp-ms\":1700000100000,\"snapshot-id\":3051729675574597004}],"
		 "\"metadata-log\":[{\"timestamp-ms\":1700000000000,\"metadata-file\":\"" LOC "/metadata/v1.metadata.json\"}]}");
	th_write(root, "t1/metadata/v2.metadata.json", js);
	th_write(root, "t1/metadata/version-hint.text", "2\n");
	th_write(root, "t1/data/region=eu/a.parquet", "");
}

static void setup(void)
{
	struct lm_err e;

	root = th_tmpdir();
	lm_err_init(&e);
	write_t1();
	cr_assert_eq(lm_store_local_new(root, &st, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	lm_store_free(st);
	th_rmrf(root);
	free(root);
}

static struct lm_table *open_t(const char *key)
{
	struct lm_table *t = NULL;
	struct lm_err e;

	lm_err_init(&e);
	cr_assert_eq(lm_table_open(st, key, key, LM_TABLE_ICEBERG, &t, &e), 0, "%s", e.msg);
	return t;
}

static const struct lm_table_view *find(const struct lm_table_view *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static struct lm_snapshot *snap_of(struct lm_table *t, const struct lm_table_view *v,
				   size_t n, const char *name, struct lm_err *e)
{
	const struct lm_table_view *x = find(v, n, name);
	struct lm_snapshot *s = NULL;

	cr_assert_not_null(x, "no view %s", name);
	cr_assert(!x->is_link);
	lm_err_init(e);
	lm_table_snapshot(t, x->key, &s, e);
	return s;
}

static void expect_files(const struct lm_snapshot *s, const char *const *want, size_t n)
{
	cr_assert_eq(s->nfiles, n, "%zu files, want %zu", s->nfiles, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(s->files[i].path, want[i]);
}

Test(iceberg_table, detect, .init = setup, .fini = teardown)
{
	struct lm_err e;
	enum lm_table_format f;
	const char *kids[] = { "data/", "metadata/" };

	lm_err_init(&e);
	cr_assert_eq(lm_iceberg_detect(st, "t1", &e), 1);
	cr_assert_eq(lm_table_detect(st, "t1", kids, 2, &f, &e), 0);
	cr_assert_eq(f, LM_TABLE_ICEBERG);
	th_write(root, "plain/metadata/notes.txt", "x");
	cr_assert_eq(lm_iceberg_detect(st, "plain", &e), 0);
	cr_assert_eq(lm_table_detect(st, "plain", kids + 1, 1, &f, &e), 0);
	cr_assert_eq(f, LM_TABLE_NONE);
	th_write(root, "gz/metadata/v1.gz.metadata.json", "x");
	cr_assert_eq(lm_iceberg_detect(st, "gz", &e), 1);
}

Test(iceberg_table, views_refs_and_deletes, .init = setup, .fini = teardown)
{
	struct lm_table *t = open_t("t1");
	struct lm_table_view *v = NULL, r;
	struct lm_snapshot *s;
	struct lm_iceberg_scan *sc = NULL;
	struct lm_iceberg_status stt;
	struct lm_err e;
	size_t n;

	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_str_eq(find(v, n, "@latest")->target, "@v2");
	cr_assert(find(v, n, "@v1") && find(v, n, "@v2"));
	cr_assert_not_null(find(v, n, "@snap-1001"));
	cr_assert_not_null(find(v, n, "@snap-3051729675574597004"));
	cr_assert_str_eq(find(v, n, "@branch-main")->target, "@snap-3051729675574597004");
	cr_assert_str_eq(find(v, n, "@branch-dev")->target, "@snap-1001");
	cr_assert_str_eq(find(v, n, "@tag-rel%2F1.0")->target, "@snap-1001");
	cr_assert_eq(find(v, n, "@snap-1001")->commit_ms, INT64_C(1700000000000));
	cr_assert_eq(n, 8);
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert_str_eq(stt.current, "v2.metadata.json");
	cr_assert(!stt.guessed && stt.metadata_ok);

	s = snap_of(t, v, n, "@v1", &e);
	cr_assert_not_null(s, "%s", e.msg);
	{
		const char *want[] = { "data/region=eu/a.parquet", "data/region=us/b.parquet" };

		expect_files(s, want, 2);
		cr_assert_eq(s->files[1].size, 200);
		cr_assert_eq(s->files[0].flags, 0);
	}
	lm_snapshot_unref(s);
	s = snap_of(t, v, n, "@snap-3051729675574597004", &e);
	cr_assert_not_null(s, "%s", e.msg);
	{
		const char *want[] = { "data/region=eu/a.parquet", "data/region=eu/c.parquet" };

		expect_files(s, want, 2);
		/* a: equality delete (seq 2 > 1) and the position delete naming it; c: the
		 * equality delete has the same sequence number (not strictly greater) */
		cr_assert_eq(s->files[0].flags, LM_FILE_HAS_DV);
		cr_assert_eq(s->files[1].flags, 0);
		cr_assert_eq(s->files[0].mtime_ms, INT64_C(1700000000000), "added by snapshot 1001");
		cr_assert_eq(s->files[1].mtime_ms, INT64_C(1700000100000));
		cr_assert_eq(s->commit_ms, INT64_C(1700000100000));
	}
	lm_snapshot_unref(s);
	/* @v2 is the same snapshot (shared) */
	s = snap_of(t, v, n, "@v2", &e);
	cr_assert_not_null(s, "%s", e.msg);
	cr_assert_eq(s->nfiles, 2);
	lm_snapshot_unref(s);
	cr_assert_eq(lm_iceberg_table_scan(t, find(v, n, "@v2")->key, &sc, &e), 0, "%s", e.msg);
	cr_assert_eq(sc->snapshot_id, S2);
	cr_assert_eq(sc->ndeletes, 3);
	cr_assert_eq(sc->napplies, 2);
	for (size_t i = 0; i < sc->napplies; i++) {
		cr_assert_str_eq(sc->data[sc->applies[i].data].path, "data/region=eu/a.parquet");
		cr_assert_neq(sc->deletes[sc->applies[i].del].content, 0);
		cr_assert_null(strstr(sc->deletes[sc->applies[i].del].raw, "pos-1"));
	}
	lm_iceberg_scan_free(sc);

	/* timestamps through the snapshot-log */
	cr_assert_eq(lm_table_resolve(t, "@2023-11-14T22:14:00Z", &r, &e), 0, "%s", e.msg);
	cr_assert(r.is_link);
	cr_assert_str_eq(r.target, "@snap-1001");
	cr_assert_eq(lm_table_resolve(t, "@2023-11-14T22:15:00Z", &r, &e), 0);
	cr_assert_str_eq(r.target, "@snap-3051729675574597004");
	cr_assert_eq(lm_table_resolve(t, "@2030-01-01", &r, &e), 0);
	cr_assert_str_eq(r.target, "@snap-3051729675574597004");
	cr_assert_eq(lm_table_resolve(t, "@2023-11-14T22:13:19Z", &r, &e), ENOENT);
	cr_assert_eq(lm_table_resolve(t, "@v9", &r, &e), ENOENT);
	cr_assert_eq(lm_table_resolve(t, "nope", &r, &e), ENOENT);
	free(v);
	lm_table_free(t);
}

Test(iceberg_table, hint_older_than_newest_file, .init = setup, .fini = teardown)
{
	struct lm_table *t;
	struct lm_table_view *v = NULL;
	struct lm_iceberg_status stt;
	struct lm_err e;
	size_t n;

	/* The hint names v1 although v2 exists (an uncommitted or later writer): the hint
	 * decides, v2 stays visible as @v2, and the status says newer files exist. */
	th_write(root, "t1/metadata/version-hint.text", "1");
	t = open_t("t1");
	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_str_eq(find(v, n, "@latest")->target, "@v1");
	cr_assert_not_null(find(v, n, "@v2"));
	cr_assert_null(find(v, n, "@snap-3051729675574597004"), "snapshots of the current (v1) metadata only");
	cr_assert_str_eq(find(v, n, "@branch-main")->target, "@snap-1001");
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert(strstr(stt.how, "newer metadata files exist"), "%s", stt.how);
	free(v);
	lm_table_free(t);
}

Test(iceberg_table, missing_files_refuse_only_their_versions, .init = setup, .fini = teardown)
{
	const struct ent m[] = { { 1, 0, 0, 0, "s3://b/t2/data/a.parquet", NULL, NULL, 1, NULL } };
	const struct mf l1[] = { { "s3://b/t2/metadata/m1.avro", 0, 1, 1 } };
	const struct mf l3[] = { { "s3://b/t2/metadata/gone.avro", 0, 3, 3 } };
	struct lm_table *t;
	struct lm_table_view *v = NULL;
	struct lm_snapshot *s;
	struct lm_err e;
	size_t n;

	manifest("t2/metadata/m1.avro", "data", m, 1, "deflate");
	mlist("t2/metadata/snap-1.avro", l1, 1);
	mlist("t2/metadata/snap-3.avro", l3, 1);
#define T2(cur, list) "{\"format-version\":2,\"location\":\"s3://b/t2\",\"current-snapshot-id\":" #cur \
	",\"snapshots\":[{\"snapshot-id\":" #cur ",\"sequence-number\":" #cur ",\"timestamp-ms\":1," \
	"\"manifest-list\":\"s3://b/t2/metadata/" list "\"}]}"
	th_write(root, "t2/metadata/00001-a.metadata.json", T2(1, "snap-1.avro"));
	th_write(root, "t2/metadata/00002-b.metadata.json", T2(2, "snap-2.avro"));
	th_write(root, "t2/metadata/00003-c.metadata.json", T2(3, "snap-3.avro"));
	th_write(root, "t2/metadata/00004-d.metadata.json", "{\"format-version\":2, broken");
	t = open_t("t2");
	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_str_eq(find(v, n, "@latest")->target, "@v4");
	s = snap_of(t, v, n, "@v1", &e);
	cr_assert_not_null(s, "%s", e.msg);
	cr_assert_eq(s->nfiles, 1);
	lm_snapshot_unref(s);
	cr_assert_null(snap_of(t, v, n, "@v2", &e));
	cr_assert_str_eq(e.reason, "missing-manifest-list");
	cr_assert(strstr(e.msg, "t2/metadata/snap-2.avro") && strstr(e.msg, "table t2: version 2"),
		  "%s", e.msg);
	cr_assert_null(snap_of(t, v, n, "@v3", &e));
	cr_assert_str_eq(e.reason, "missing-manifest");
	cr_assert(strstr(e.msg, "t2/metadata/gone.avro"), "%s", e.msg);
	cr_assert_null(snap_of(t, v, n, "@v4", &e));
	cr_assert_str_eq(e.reason, "invalid-json");
	cr_assert(strstr(e.msg, "00004-d.metadata.json"), "%s", e.msg);
	cr_assert_null(find(v, n, "@snap-3"), "no @snap views when the current metadata is unreadable");
	free(v);
	lm_table_free(t);
}

Test(iceberg_table, path_escape, .init = setup, .fini = teardown)
{
	const struct ent m[] = { { 1, 0, 0, 0, "s3://b/t3/data/ok.parquet", NULL, NULL, 1, NULL },
				 { 1, 0, 0, 0, "s3://elsewhere/t3/data/x.parquet", NULL, NULL, 1, NULL } };
	const struct ent m2[] = { { 1, 0, 0, 0, "../t1/data/region=eu/a.parquet", NULL, NULL, 1, NULL } };
	const struct mf l[] = { { "s3://b/t3/metadata/m.avro", 0, 1, 1 } };
	const struct mf l2[] = { { "s3://b/t3/metadata/m2.avro", 0, 1, 1 } };
	struct lm_table *t;
	struct lm_table_view *v = NULL;
	struct lm_err e;
	size_t n;

	manifest("t3/metadata/m.avro", "data", m, 2, "null");
	manifest("t3/metadata/m2.avro", "data", m2, 1, "null");
	mlist("t3/metadata/snap-1.avro", l, 1);
	mlist("t3/metadata/snap-2.avro", l2, 1);
	th_write(root, "t3/metadata/v1.metadata.json",
		 "{\"format-version\":2,\"location\":\"s3://b/t3\",\"current-snapshot-id\":1,"
		 "\"snapshots\":[{\"snapshot-id\":1,\"manifest-list\":\"s3://b/t3/metadata/snap-1.avro\"}]}");
	th_write(root, "t3/metadata/v2.metadata.json",
		 "{\"format-version\":2,\"location\":\"s3://b/t3\",\"current-snapshot-id\":2,"
		 "\"snapshots\":[{\"snapshot-id\":2,\"manifest-list\":\"s3://b/t3/metadata/snap-2.avro\"}]}");
	t = open_t("t3");
	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_null(snap_of(t, v, n, "@v1", &e));
	cr_assert_str_eq(e.reason, "path-escape");
	cr_assert(strstr(e.msg, "s3://elsewhere/t3/data/x.parquet"), "%s", e.msg);
	cr_assert_null(snap_of(t, v, n, "@v2", &e));
	cr_assert_str_eq(e.reason, "path-escape");
	free(v);
	lm_table_free(t);
}

Test(iceberg_table, gzip_guess_and_empty, .init = setup, .fini = teardown)
{
	const char *js = "{\"format-version\":2,\"location\":\"/x/t4\",\"current-snapshot-id\":-1}";
	uint8_t out[512];
	z_stream z;
	struct lm_table *t;
	struct lm_table_view *v = NULL;
	struct lm_iceberg_status stt;
	struct lm_snapshot *s;
	struct lm_err e;
	size_t n;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)js;
	z.avail_in = (uInt)strlen(js);
	z.next_out = out;
	z.avail_out = sizeof(out);
	deflate(&z, Z_FINISH);
	th_write(root, "t4/metadata/00001-a.metadata.json", js);
	wbin("t4/metadata/00002-b.gz.metadata.json", out, sizeof(out) - z.avail_out);
	th_write(root, "t4/metadata/00002-c.metadata.json", js);
	deflateEnd(&z);
	t = open_t("t4");
	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert(stt.guessed, "%s", stt.how);
	cr_assert_str_eq(stt.current, "00002-b.gz.metadata.json");
	cr_assert_str_eq(find(v, n, "@latest")->target, "@v2");
	cr_assert_eq(n, 3, "@latest, @v1, @v2: no snapshots, no refs");
	s = snap_of(t, v, n, "@v2", &e);
	cr_assert_not_null(s, "%s", e.msg);
	cr_assert_eq(s->nfiles, 0, "a table without snapshots is an empty directory");
	lm_snapshot_unref(s);
	free(v);
	lm_table_free(t);
	/* a hint settles it */
	th_write(root, "t4/metadata/version-hint.text", "00002-c");
	t = open_t("t4");
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert(!stt.guessed);
	cr_assert_str_eq(stt.current, "00002-c.metadata.json");
	lm_table_free(t);
	/* a hint naming a missing version falls back to the highest */
	th_write(root, "t4/metadata/version-hint.text", "9");
	t = open_t("t4");
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert(strstr(stt.how, "not present"), "%s", stt.how);
	cr_assert_eq(stt.version, 2);
	lm_table_free(t);
}

Test(iceberg_table, learned_root_v1_manifests_and_dv, .init = setup, .fini = teardown)
{
	/* Relative paths from the writer's working directory; a v1 snapshot listing its
	 * manifests inline; a v3 deletion vector shadowing a position delete file. */
	const struct ent m[] = {
		{ 1, 7, 1, 0, "rel/t6/data/a.parquet", NULL, "x", 5, NULL },
		{ 1, 7, 1, 0, "rel/t6/data/b.parquet", NULL, "x", 6, NULL },
		{ 1, 7, 1, 0, "rel/t6/data/c.parquet", NULL, "y", 7, NULL },
	};
	const struct ent d[] = {
		{ 1, 7, 2, 1, "rel/t6/data/dv.puffin", "PUFFIN", "x", 50, "rel/t6/data/a.parquet" },
		{ 1, 7, 2, 1, "rel/t6/data/pos.parquet", NULL, "x", 50, NULL },
	};
	struct lm_table *t;
	struct lm_table_view *v = NULL;
	struct lm_iceberg_scan *sc = NULL;
	struct lm_err e;
	size_t n;
	bool a_dv = false, b_pos = false;

	manifest("t6/metadata/m.avro", "data", m, 3, "null");
	manifest("t6/metadata/d.avro", "deletes", d, 2, "null");
	th_write(root, "t6/metadata/v1.metadata.json",
		 "{\"format-version\":3,\"location\":\"gs://somewhere/else\",\"current-snapshot-id\":7,"
		 "\"snapshots\":[{\"snapshot-id\":7,\"timestamp-ms\":5,"
		 "\"manifests\":[\"rel/t6/metadata/m.avro\",\"rel/t6/metadata/d.avro\"]}]}");
	t = open_t("t6");
	lm_err_init(&e);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(lm_iceberg_table_scan(t, find(v, n, "@v1")->key, &sc, &e), 0, "%s", e.msg);
	cr_assert_eq(sc->ndata, 3);
	cr_assert_str_eq(sc->data[0].path, "data/a.parquet");
	cr_assert_str_eq(sc->data[2].path, "data/c.parquet");
	cr_assert_eq(sc->ndeletes, 2);
	cr_assert(sc->deletes[0].dv);
	cr_assert_str_eq(sc->deletes[0].path, "data/dv.puffin");
	cr_assert_eq(sc->napplies, 2);
	for (size_t i = 0; i < sc->napplies; i++) {
		const struct lm_iceberg_file *df = &sc->data[sc->applies[i].data];
		const struct lm_iceberg_file *del = &sc->deletes[sc->applies[i].del];

		if (!strcmp(df->path, "data/a.parquet") && del->dv)
			a_dv = true;
		if (!strcmp(df->path, "data/b.parquet") && !del->dv)
			b_pos = true;
	}
	cr_assert(a_dv && b_pos, "the DV shadows the position delete for a; b gets the position delete");
	cr_assert_eq(sc->data[2].flags, 0, "other partition");
	lm_iceberg_scan_free(sc);
	free(v);
	lm_table_free(t);
}

/* ---------- @info ---------- */

/* Read @info/<path> and parse it back with our own reader. */
static struct lm_json_doc *info_json(struct lm_table *t, const char *path, bool *imm)
{
	struct lm_buf b;
	struct lm_json_doc *d = NULL;
	struct lm_err e;

	lm_err_init(&e);
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_table_info_read(t, path, &b, imm, &e), 0, "%s: %s", path, e.msg);
	cr_assert_eq(lm_json_parse(b.data, b.len, NULL, &d, &e), 0, "%s: %s\n%s", path, e.msg, b.data);
	lm_buf_free(&b);
	return d;
}

static int64_t ji(const struct lm_json *v)
{
	int64_t x = 0;

	cr_assert_eq(lm_json_i64(v, &x), 0, "not an integer");
	return x;
}

static const struct lm_json *jat(const struct lm_json *a, uint32_t i)
{
	cr_assert(a && a->type == LM_JSON_ARRAY && i < a->n);
	return &a->u.kids[i];
}

static bool has_entry(const struct lm_info_entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name) && !e[i].is_dir)
			return true;
	return false;
}

Test(iceberg_info, history_versions_snapshots, .init = setup, .fini = teardown)
{
	struct lm_table *t = open_t("t1");
	struct lm_info_entry *ents = NULL;
	struct lm_json_doc *d;
	const struct lm_json *r, *a, *x;
	struct lm_buf b;
	struct lm_err e;
	size_t n;
	bool imm = true;

	lm_err_init(&e);
	cr_assert(lm_table_has_info(t));
	cr_assert_eq(lm_table_info_list(t, "", &ents, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 5);
	cr_assert(has_entry(ents, n, "history.json") && has_entry(ents, n, "v1.json") &&
		  has_entry(ents, n, "v2.json") && has_entry(ents, n, "snap-1001.json") &&
		  has_entry(ents, n, "snap-3051729675574597004.json"));
	free(ents);
	cr_assert_eq(lm_table_info_list(t, "v1", &ents, &n, &e), ENOENT);

	/* history.json: may change; ids exact */
	d = info_json(t, "history.json", &imm);
	cr_assert(!imm);
	r = lm_json_doc_root(d);
	x = lm_json_get(r, "current");
	cr_assert_str_eq(lm_json_str(lm_json_get(x, "file")), "v2.metadata.json");
	cr_assert_eq(ji(lm_json_get(x, "version")), 2);
	cr_assert_eq(lm_json_get(x, "guessed")->type, LM_JSON_FALSE);
	cr_assert(strstr(lm_json_str(lm_json_get(x, "how")), "version-hint.text"));
	cr_assert_eq(ji(lm_json_get(x, "current_snapshot_id")), S2);
	a = lm_json_get(r, "snapshots");
	cr_assert_eq(a->n, 2);
	cr_assert_eq(ji(lm_json_get(jat(a, 0), "snapshot_id")), 1001);
	cr_assert_eq(lm_json_get(jat(a, 0), "parent_snapshot_id")->type, LM_JSON_NULL);
	cr_assert_eq(ji(lm_json_get(jat(a, 1), "snapshot_id")), S2);
	cr_assert_eq(ji(lm_json_get(jat(a, 1), "parent_snapshot_id")), 1001);
	cr_assert_eq(ji(lm_json_get(jat(a, 1), "timestamp_ms")), INT64_C(1700000100000));
	cr_assert_str_eq(lm_json_str(lm_json_get(jat(a, 1), "timestamp")), "2023-11-14T22:15:00.000Z");
	cr_assert_str_eq(lm_json_str(lm_json_get(jat(a, 1), "operation")), "delete");
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(jat(a, 1), "summary"), "operation")), "delete");
	a = lm_json_get(r, "snapshot_log");
	cr_assert_eq(a->n, 2);
	cr_assert_eq(ji(lm_json_get(jat(a, 1), "snapshot_id")), S2);
	a = lm_json_get(r, "metadata_log");
	cr_assert_eq(a->n, 1);
	cr_assert_str_eq(lm_json_str(lm_json_get(jat(a, 0), "metadata_file")), LOC "/metadata/v1.metadata.json");
	a = lm_json_get(r, "versions");
	cr_assert_eq(a->n, 2);
	cr_assert_eq(lm_json_get(jat(a, 1), "current")->type, LM_JSON_TRUE);
	lm_json_doc_free(d);

	/* v1.json: immutable; the metadata as written */
	d = info_json(t, "v1.json", &imm);
	cr_assert(imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(ji(lm_json_get(r, "version")), 1);
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "status")), "ok");
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "file")), "v1.metadata.json");
	cr_assert_eq(ji(lm_json_get(r, "format_version")), 2);
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "location")), LOC);
	cr_assert_eq(ji(lm_json_get(r, "current_snapshot_id")), 1001);
	cr_assert_eq(ji(lm_json_get(lm_json_get(r, "current_snapshot"), "snapshot_id")), 1001);
	cr_assert_eq(ji(lm_json_get(lm_json_get(lm_json_get(r, "refs"), "main"), "snapshot_id")), 1001);
	cr_assert_eq(lm_json_get(r, "schemas")->type, LM_JSON_ARRAY);
	lm_json_doc_free(d);
	d = info_json(t, "v2.json", &imm);
	r = lm_json_doc_root(d);
	x = lm_json_get(r, "refs");
	cr_assert_eq(x->n, 3);
	cr_assert_eq(ji(lm_json_get(lm_json_get(x, "main"), "snapshot_id")), S2);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(x, "rel/1.0"), "type")), "tag");
	cr_assert_eq(ji(lm_json_get(r, "current_snapshot_id")), S2);
	lm_json_doc_free(d);

	/* snap-<id>.json: counts, bytes, and which data file each delete file touches */
	d = info_json(t, "snap-3051729675574597004.json", &imm);
	cr_assert(imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(ji(lm_json_get(r, "snapshot_id")), S2);
	cr_assert_eq(ji(lm_json_get(r, "parent_snapshot_id")), 1001);
	cr_assert_eq(ji(lm_json_get(r, "sequence_number")), 2);
	cr_assert_eq(ji(lm_json_get(r, "data_files")), 2);
	cr_assert_eq(ji(lm_json_get(r, "data_bytes")), 400);
	cr_assert_eq(ji(lm_json_get(r, "data_records")), 20);
	cr_assert_eq(ji(lm_json_get(r, "affected_data_files")), 1);
	cr_assert_eq(ji(lm_json_get(r, "delete_files_count")), 3);
	cr_assert_eq(ji(lm_json_get(r, "pairs")), 2);
	a = lm_json_get(r, "delete_files");
	cr_assert_eq(a->n, 3);
	for (uint32_t i = 0; i < a->n; i++) {
		const struct lm_json *df = jat(a, i);
		const char *p = lm_json_str(lm_json_get(df, "path"));
		const struct lm_json *to = lm_json_get(df, "applies_to");

		cr_assert_eq(ji(lm_json_get(df, "sequence_number")), 2);
		if (strstr(p, "pos-1")) {   /* other partition, names nothing of ours */
			cr_assert_eq(to->n, 0);
			cr_assert_str_eq(lm_json_str(lm_json_get(df, "kind")), "position-deletes");
		} else {
			cr_assert_eq(to->n, 1, "%s", p);
			cr_assert_str_eq(lm_json_str(jat(to, 0)), "data/region=eu/a.parquet");
		}
		if (strstr(p, "eq-1"))
			cr_assert_str_eq(lm_json_str(lm_json_get(df, "kind")), "equality-deletes");
		cr_assert(!strncmp(lm_json_str(lm_json_get(df, "file_path")), LOC "/data/",
				   strlen(LOC "/data/")));
	}
	lm_json_doc_free(d);
	d = info_json(t, "snap-1001.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(ji(lm_json_get(r, "data_files")), 2);
	cr_assert_eq(ji(lm_json_get(r, "data_bytes")), 300);
	cr_assert_eq(ji(lm_json_get(r, "delete_files_count")), 0);
	lm_json_doc_free(d);

	/* names the directory does not list */
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_table_info_read(t, "v3.json", &b, &imm, &e), ENOENT);
	cr_assert_eq(lm_table_info_read(t, "v01.json", &b, &imm, &e), ENOENT);
	cr_assert_eq(lm_table_info_read(t, "snap-1.json", &b, &imm, &e), ENOENT);
	cr_assert_eq(lm_table_info_read(t, "nope", &b, &imm, &e), ENOENT);
	lm_buf_free(&b);
	lm_table_free(t);
}

Test(iceberg_info, refusals_guesses_and_escaping, .init = setup, .fini = teardown)
{
	const struct mf l3[] = { { "s3://b/t2/metadata/gone.avro", 0, 3, 3 } };
	struct lm_table *t;
	struct lm_json_doc *d;
	const struct lm_json *r;
	bool imm = true;

	/* a missing manifest: snap-3.json (and v1.json fine) say refused, not immutable;
	 * a guessed current file is reported; a property with quotes, a newline, a
	 * control byte and non-ASCII survives the round trip */
	mlist("t2/metadata/snap-3.avro", l3, 1);
	th_write(root, "t2/metadata/00001-a.metadata.json",
		 "{\"format-version\":2,\"location\":\"s3://b/t2\",\"current-snapshot-id\":3,"
		 "\"properties\":{\"q\\\"\\\\\":\"a\\nb\\u0001c\\u00e9\\ud83d\\ude00\"},"
		 "\"snapshots\":[{\"snapshot-id\":3,\"sequence-number\":3,\"timestamp-ms\":1,"
		 "\"manifest-list\":\"s3://b/t2/metadata/snap-3.avro\"}]}");
	th_write(root, "t2/metadata/00001-b.metadata.json", "{\"format-version\":2,\"location\":\"s3://b/t2\"}");
	t = open_t("t2");
	d = info_json(t, "snap-3.json", &imm);
	cr_assert(!imm);
	r = lm_json_doc_root(d);
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "status")), "refused");
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "reason")), "missing-manifest");
	cr_assert(strstr(lm_json_str(lm_json_get(r, "error")), "gone.avro"));
	lm_json_doc_free(d);
	d = info_json(t, "history.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(lm_json_get(lm_json_get(r, "current"), "guessed")->type, LM_JSON_TRUE);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(r, "current"), "file")), "00001-a.metadata.json");
	lm_json_doc_free(d);
	d = info_json(t, "v1.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(lm_json_get(r, "file_guessed")->type, LM_JSON_TRUE);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(r, "properties"), "q\"\\")),
			 "a\nb\001c\xc3\xa9\xf0\x9f\x98\x80");
	lm_json_doc_free(d);
	lm_table_free(t);

	/* an unreadable current metadata: history.json still answers, naming why;
	 * v1.json is a refusal */
	th_write(root, "t5/metadata/v1.metadata.json", "{broken");
	t = open_t("t5");
	d = info_json(t, "history.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert(strstr(lm_json_str(lm_json_get(r, "metadata_error")), "v1.metadata.json"),
		  "%s", lm_json_str(lm_json_get(r, "metadata_error")));
	cr_assert_eq(lm_json_get(r, "snapshots")->n, 0);
	lm_json_doc_free(d);
	d = info_json(t, "v1.json", &imm);
	cr_assert(!imm);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_doc_root(d), "reason")), "invalid-json");
	lm_json_doc_free(d);
	lm_table_free(t);
}
