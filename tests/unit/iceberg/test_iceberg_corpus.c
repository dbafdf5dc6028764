/* The Iceberg driver over every table of ../shared/corpus/iceberg in place (never
 * copied), checked against EXPECTED-iceberg.tsv (live data and delete files per
 * snapshot, exact file_path strings) and MANIFEST.md (which metadata file is current).
 * See ../shared/corpus/MANIFEST.md for the formats. */
#include "../helpers.h"

#include <openssl/evp.h>

#include "lm/buf.h"
#include "lm/json.h"
#include "lm/store.h"
#include "lm/table.h"

#define MAX_ROWS 1024

struct row {
	char *f[7];
};

static char *corpus;
static struct row rows[MAX_ROWS];
static size_t nrows;
static char *tsv, *manifest_md;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	cr_assert(b && fread(b, 1, (size_t)n, f) == (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

static void load(void)
{
	char path[4096];
	char *line, *next;

	corpus = getenv("LM_CORPUS");
	if (!corpus)
		cr_skip_test("LM_CORPUS not set");
	snprintf(path, sizeof(path), "%s/EXPECTED-iceberg.tsv", corpus);
	tsv = slurp(path);
	snprintf(path, sizeof(path), "%s/MANIFEST.md", corpus);
	manifest_md = slurp(path);
	if (!tsv || !manifest_md)
		cr_skip_test("no corpus at %s", corpus);
	nrows = 0;
	for (line = tsv; line && *line; line = next) {
		char *p = line;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';

		cr_assert_lt(nrows, MAX_ROWS);
		for (int k = 0; k < 7; k++) {
			rows[nrows].f[k] = p;
			p = p ? strchr(p, '\t') : NULL;
			if (p)
				*p++ = '\0';
		}
		cr_assert_not_null(rows[nrows].f[6], "malformed EXPECTED row %zu", nrows + 1);
		nrows++;
	}
}

static void unload(void)
{
	free(tsv);
	free(manifest_md);
	tsv = manifest_md = NULL;
}

static const struct lm_table_view *find(const struct lm_table_view *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, distinct strings joined with ',' (or "sha256:<hex>" of the '\n'-joined
 * list past 5000), as EXPECTED-iceberg.tsv writes them. */
static char *joined(const char **v, size_t n, size_t *distinct)
{
	size_t k = 0, len = 1;
	char *out, *p;

	if (n)
		qsort(v, n, sizeof(*v), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
	*distinct = k;
	for (size_t i = 0; i < k; i++)
		len += strlen(v[i]) + 1;
	out = malloc(len);
	p = out;
	*p = '\0';
	for (size_t i = 0; i < k; i++) {
		size_t l = strlen(v[i]);

		memcpy(p, v[i], l);
		p += l;
		*p++ = (k > 5000) ? '\n' : ',';
	}
	if (k)
		p--;
	*p = '\0';
	if (k > 5000) {
		unsigned char md[32];
		unsigned int mdl = 0;
		char *h = malloc(7 + 65);

		EVP_Digest(out, strlen(out), md, &mdl, EVP_sha256(), NULL);
		memcpy(h, "sha256:", 7);
		for (unsigned i = 0; i < mdl; i++)
			snprintf(h + 7 + 2 * i, 3, "%02x", md[i]);
		free(out);
		out = h;
	}
	return out;
}

/* "current (by hint/highest number): NAME;" in the table's MANIFEST.md entry. */
static bool manifest_current(const char *table, char *out, size_t outsz)
{
	char head[300];
	const char *p, *c, *e;

	snprintf(head, sizeof(head), "### iceberg/%s\n", table);
	p = strstr(manifest_md, head);
	if (!p)
		return false;
	c = strstr(p, "current (by hint/highest number): ");
	if (!c)
		return false;
	c += strlen("current (by hint/highest number): ");
	e = strchr(c, ';');
	if (!e || (size_t)(e - c) >= outsz)
		return false;
	memcpy(out, c, (size_t)(e - c));
	out[e - c] = '\0';
	return true;
}

/* Tables whose referenced data files are absent from the copy (MANIFEST.md says so). */
static bool data_absent(const char *table)
{
	return !strcmp(table, "cxx-perf_manifest_entries") || !strcmp(table, "cxx-perf_schemas");
}

static size_t n_tables, n_snaps_ok, n_refused_ok, n_status_ok, n_size_mismatch, n_applies;

static void check_snapshot(struct lm_table *t, const char *table, const struct lm_table_view *v,
			   const struct row *r)
{
	struct lm_iceberg_scan *sc = NULL;
	struct lm_snapshot *s = NULL;
	struct lm_err e;
	const char **raws;
	char *got;
	size_t distinct, nd = 0;
	int rc;

	lm_err_init(&e);
	rc = lm_iceberg_table_scan(t, v->key, &sc, &e);
	if (!strcmp(r->f[2], "missing-manifest-list")) {
		const char *base = strrchr(r->f[3], '/');

		cr_assert_neq(rc, 0, "%s %s: expected a refusal", table, r->f[1]);
		cr_assert_str_eq(e.reason, "missing-manifest-list", "%s", e.msg);
		cr_assert(strstr(e.msg, base ? base + 1 : r->f[3]), "%s", e.msg);
		n_refused_ok++;
		return;
	}
	if (!strcmp(table, "cxx-v_20240913_iceberg")) {
		/* Its data files sit outside the table location: refused, not followed. */
		cr_assert_eq(rc, LM_EESCAPE, "%s", e.msg);
		cr_assert_str_eq(e.reason, "path-escape");
		n_refused_ok++;
		return;
	}
	cr_assert_eq(rc, 0, "%s @snap-%s: %s [%s]", table, r->f[1], e.msg, e.reason);
	cr_assert_eq(sc->ndata, (size_t)strtoull(r->f[2], NULL, 10), "%s %s: %zu data files, want %s",
		     table, r->f[1], sc->ndata, r->f[2]);
	raws = malloc((sc->ndata + sc->ndeletes + 1) * sizeof(*raws));
	for (size_t i = 0; i < sc->ndata; i++) {
		const char *raw = sc->data[i].raw, *rel = sc->data[i].path;
		size_t rl = strlen(raw), pl = strlen(rel);

		raws[i] = raw;
		/* relative to the table root, and the tail of what the manifest says */
		cr_assert(pl <= rl && !strcmp(raw + rl - pl, rel) && (pl == rl || raw[rl - pl - 1] == '/'),
			  "%s: %s placed at %s", table, raw, rel);
		if (!data_absent(table)) {
			char path[4096];
			struct stat stt;

			snprintf(path, sizeof(path), "%s/iceberg/%s/%s", corpus, table, rel);
			cr_assert_eq(stat(path, &stt), 0, "%s: %s not in the table", table, rel);
			if ((uint64_t)stt.st_size != sc->data[i].size) {
				/* the copy holds another file than the manifest describes: reading
				 * it through the mount gives EIO; tally, do not fail */
				cr_log_info("%s: %s: %llu bytes in storage, %llu in the manifest", table,
					    rel, (unsigned long long)stt.st_size,
					    (unsigned long long)sc->data[i].size);
				n_size_mismatch++;
			}
		}
	}
	got = joined(raws, sc->ndata, &distinct);
	cr_assert_str_eq(got, r->f[3], "%s %s: data paths differ", table, r->f[1]);
	free(got);
	cr_assert_eq(sc->ndeletes, (size_t)strtoull(r->f[4], NULL, 10), "%s %s: %zu delete entries",
		     table, r->f[1], sc->ndeletes);
	for (size_t i = 0; i < sc->ndeletes; i++)
		raws[nd++] = sc->deletes[i].raw;
	got = joined(raws, nd, &distinct);
	cr_assert_str_eq(got, r->f[5], "%s %s: delete paths differ", table, r->f[1]);
	free(got);
	free(raws);
	/* flags only on data files, pairs point at real entries */
	for (size_t i = 0; i < sc->napplies; i++) {
		cr_assert_lt(sc->applies[i].data, sc->ndata);
		cr_assert_lt(sc->applies[i].del, sc->ndeletes);
		cr_assert(sc->data[sc->applies[i].data].flags & LM_FILE_HAS_DV);
		n_applies++;
	}
	/* and the directory holds exactly the data files */
	cr_assert_eq(lm_table_snapshot(t, v->key, &s, &e), 0, "%s: %s", table, e.msg);
	cr_assert_eq(s->nfiles, sc->ndata);
	lm_snapshot_unref(s);
	lm_iceberg_scan_free(sc);
	n_snaps_ok++;
}

static void check_table(struct lm_store *st, const char *table, size_t first, size_t last)
{
	struct lm_table *t = NULL;
	struct lm_table_view *v = NULL;
	struct lm_iceberg_status stt;
	struct lm_err e;
	size_t n, nsnap = 0;
	char want[256];
	const struct lm_table_view *latest;

	lm_err_init(&e);
	cr_assert_eq(lm_iceberg_detect(st, table, &e), 1, "%s not detected: %s", table, e.msg);
	cr_assert_eq(lm_iceberg_table_open(st, table, table, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s: %s", table, e.msg);
	cr_assert_eq(lm_iceberg_table_status(t, &stt, &e), 0);
	cr_assert(manifest_current(table, want, sizeof(want)), "%s not in MANIFEST.md", table);
	cr_assert_str_eq(stt.current, want, "%s: current metadata (%s)", table, stt.how);
	cr_assert(stt.metadata_ok, "%s", table);
	for (size_t i = 0; i < n; i++)
		nsnap += !strncmp(v[i].name, "@snap-", 6);
	latest = find(v, n, "@latest");
	cr_assert_not_null(latest, "%s: no @latest", table);
	cr_assert(latest->is_link && find(v, n, latest->target), "%s: @latest -> %s", table,
		  latest->target);
	for (size_t k = first; k < last; k++) {
		const struct row *r = &rows[k];

		if (!strcmp(r->f[1], "*")) {
			if (!strcmp(r->f[2], "no-snapshots")) {
				struct lm_snapshot *s = NULL;

				cr_assert_eq(nsnap, 0, "%s", table);
				cr_assert_str_eq(stt.current, r->f[3]);
				cr_assert_eq(lm_table_snapshot(t, find(v, n, latest->target)->key, &s, &e), 0,
					     "%s: %s", table, e.msg);
				cr_assert_eq(s->nfiles, 0, "%s: @latest is an empty directory", table);
				lm_snapshot_unref(s);
			} else {
				/* "all N snapshots" / "N of M snapshots" */
				size_t want_n = 0, want_of = 0, refused = 0;

				cr_assert_str_eq(r->f[2], "missing-manifest-list");
				if (sscanf(r->f[3], "all %zu", &want_n) == 1)
					want_of = want_n;
				else
					cr_assert_eq(sscanf(r->f[3], "%zu of %zu", &want_n, &want_of), 2);
				cr_assert_eq(nsnap, want_of, "%s", table);
				for (size_t i = 0; i < n; i++) {
					struct lm_snapshot *s = NULL;

					if (strncmp(v[i].name, "@snap-", 6))
						continue;
					lm_err_init(&e);
					if (lm_table_snapshot(t, v[i].key, &s, &e)) {
						cr_assert_str_eq(e.reason, "missing-manifest-list", "%s", e.msg);
						refused++;
					} else {
						lm_snapshot_unref(s);
					}
				}
				cr_assert_eq(refused, want_n, "%s: %zu refused", table, refused);
			}
			n_status_ok++;
			continue;
		}
		{
			char name[128];
			const struct lm_table_view *sv;

			snprintf(name, sizeof(name), "@snap-%s", r->f[1]);
			sv = find(v, n, name);
			cr_assert_not_null(sv, "%s: no view %s", table, name);
			check_snapshot(t, table, sv, r);
		}
	}
	free(v);
	lm_table_free(t);
	n_tables++;
}

Test(iceberg_corpus, expected_snapshots, .init = load, .fini = unload, .timeout = 600)
{
	struct lm_store *st = NULL;
	struct lm_err e;
	char dir[4096];
	size_t first = 0;

	snprintf(dir, sizeof(dir), "%s/iceberg", corpus);
	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(dir, &st, &e), 0, "%s", e.msg);
	for (size_t k = 1; k <= nrows; k++) {
		if (k < nrows && !strcmp(rows[k].f[0], rows[first].f[0]))
			continue;
		check_table(st, rows[first].f[0], first, k);
		first = k;
	}
	cr_log_info("iceberg corpus: %zu tables, %zu snapshots listed exactly, %zu refusals as "
		    "expected, %zu status rows; %zu (data, delete) pairs; %zu data files whose "
		    "stored size differs from the manifest", n_tables, n_snaps_ok, n_refused_ok,
		    n_status_ok, n_applies, n_size_mismatch);
	cr_assert_eq(n_tables, 71);
	lm_store_free(st);
}

/* Every metadata version of every table builds or is refused with a reason word. */
Test(iceberg_corpus, every_version, .init = load, .fini = unload, .timeout = 600)
{
	struct lm_store *st = NULL;
	struct lm_err e;
	char dir[4096];
	size_t ok = 0, refused = 0;

	snprintf(dir, sizeof(dir), "%s/iceberg", corpus);
	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(dir, &st, &e), 0, "%s", e.msg);
	for (size_t k = 0; k < nrows; k++) {
		struct lm_table *t = NULL;
		struct lm_table_view *v = NULL;
		size_t n;

		if (k && !strcmp(rows[k].f[0], rows[k - 1].f[0]))
			continue;
		cr_assert_eq(lm_iceberg_table_open(st, rows[k].f[0], rows[k].f[0], &t, &e), 0);
		cr_assert_eq(lm_table_views(t, &v, &n, &e), 0);
		for (size_t i = 0; i < n; i++) {
			struct lm_snapshot *s = NULL;

			if (v[i].is_link || strncmp(v[i].name, "@v", 2))
				continue;
			lm_err_init(&e);
			if (lm_table_snapshot(t, v[i].key, &s, &e)) {
				cr_assert_not_null(e.reason, "%s %s: %s", rows[k].f[0], v[i].name, e.msg);
				cr_assert(strstr(e.msg, rows[k].f[0]), "message names the table: %s", e.msg);
				refused++;
			} else {
				lm_snapshot_unref(s);
				ok++;
			}
		}
		free(v);
		lm_table_free(t);
	}
	cr_log_info("iceberg corpus: %zu metadata versions built, %zu refused with a reason", ok,
		    refused);
	lm_store_free(st);
}

Test(iceberg_corpus, refs_of_gperov_test, .init = load, .fini = unload)
{
	struct lm_store *st = NULL;
	struct lm_table *t = NULL;
	struct lm_table_view *v = NULL, r;
	struct lm_err e;
	char dir[4096];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/iceberg", corpus);
	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(dir, &st, &e), 0, "%s", e.msg);
	cr_assert_eq(lm_iceberg_table_open(st, "cxx-wh_gperov_test", "cxx-wh_gperov_test", &t, &e), 0);
	cr_assert_eq(lm_table_views(t, &v, &n, &e), 0, "%s", e.msg);
	cr_assert_str_eq(find(v, n, "@latest")->target, "@v7");
	cr_assert_str_eq(find(v, n, "@branch-main")->target, "@snap-154324552338474173");
	cr_assert_str_eq(find(v, n, "@branch-test-branch")->target, "@snap-7558608030923099867");
	cr_assert_str_eq(find(v, n, "@tag-EOW-01")->target, "@snap-293191470325800019");
	for (size_t i = 0; i < n; i++)
		if (v[i].is_link)
			cr_assert_not_null(find(v, n, v[i].target), "%s -> %s dangles", v[i].name,
					   v[i].target);
	/* 1713951998102 = 2024-04-24T09:46:38.102Z, the test-branch head */
	cr_assert_eq(lm_table_resolve(t, "@2024-04-24T09:46:38.102Z", &r, &e), 0, "%s", e.msg);
	cr_assert_str_eq(r.target, "@snap-7558608030923099867");
	cr_assert_eq(lm_table_resolve(t, "@2024-04-24T09:46:38.101Z", &r, &e), 0, "%s", e.msg);
	cr_assert_str_eq(r.target, "@snap-5231658854638766100");
	cr_assert_eq(lm_table_resolve(t, "@2024-04-24T09:46:32Z", &r, &e), ENOENT);
	free(v);
	lm_table_free(t);
	lm_store_free(st);
}

/* ---------- @info on corpus tables ---------- */

static struct lm_json_doc *info_json(struct lm_table *t, const char *path, bool *imm)
{
	struct lm_buf b;
	struct lm_json_doc *d = NULL;
	struct lm_err e;

	lm_err_init(&e);
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_table_info_read(t, path, &b, imm, &e), 0, "%s: %s", path, e.msg);
	cr_assert_eq(lm_json_parse(b.data, b.len, NULL, &d, &e), 0, "%s: %s", path, e.msg);
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

static struct lm_table *open_corpus(struct lm_store **st, const char *table)
{
	struct lm_table *t = NULL;
	struct lm_err e;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/iceberg", corpus);
	lm_err_init(&e);
	cr_assert_eq(lm_store_local_new(dir, st, &e), 0, "%s", e.msg);
	cr_assert_eq(lm_iceberg_table_open(*st, table, table, &t, &e), 0, "%s", e.msg);
	return t;
}

Test(iceberg_corpus, info_gperov_test, .init = load, .fini = unload)
{
	static const int64_t ids[] = { INT64_C(1638951453256129678), INT64_C(5231658854638766100),
				       INT64_C(7558608030923099867), INT64_C(293191470325800019),
				       INT64_C(154324552338474173) };
	struct lm_store *st = NULL;
	struct lm_table *t = open_corpus(&st, "cxx-wh_gperov_test");
	struct lm_info_entry *ents = NULL;
	struct lm_snapshot *s = NULL;
	struct lm_json_doc *d;
	const struct lm_json *r, *a, *refs;
	struct lm_err e;
	size_t n, nsnap = 0;
	uint64_t bytes = 0;
	bool imm;

	lm_err_init(&e);
	cr_assert_eq(lm_table_info_list(t, "", &ents, &n, &e), 0, "%s", e.msg);
	for (size_t i = 0; i < n; i++)
		nsnap += !strncmp(ents[i].name, "snap-", 5);
	cr_assert_eq(n, 1 + 8 + 5, "history, v0..v7, five snapshots");
	cr_assert_eq(nsnap, 5);
	free(ents);

	d = info_json(t, "history.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert(!imm);
	cr_assert_eq(ji(lm_json_get(lm_json_get(r, "current"), "version")), 7);
	cr_assert_eq(lm_json_get(lm_json_get(r, "current"), "guessed")->type, LM_JSON_FALSE);
	a = lm_json_get(r, "snapshots");
	cr_assert_eq(a->n, 5);
	for (uint32_t i = 0; i < 5; i++)
		cr_assert_eq(ji(lm_json_get(jat(a, i), "snapshot_id")), ids[i], "snapshot %u", i);
	cr_assert_eq(ji(lm_json_get(jat(a, 4), "parent_snapshot_id")), ids[3]);
	cr_assert_eq(ji(lm_json_get(jat(a, 2), "timestamp_ms")), INT64_C(1713951998102));
	cr_assert_eq(lm_json_get(r, "snapshot_log")->n, 5);
	cr_assert_eq(lm_json_get(r, "metadata_log")->n, 7);
	lm_json_doc_free(d);

	d = info_json(t, "v7.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert(imm);
	cr_assert_eq(ji(lm_json_get(r, "format_version")), 2);
	cr_assert_str_eq(lm_json_str(lm_json_get(r, "location")), "s3://warehouse/gperov/test");
	cr_assert_eq(ji(lm_json_get(r, "current_snapshot_id")), ids[4]);
	refs = lm_json_get(r, "refs");
	cr_assert_eq(ji(lm_json_get(lm_json_get(refs, "main"), "snapshot_id")), ids[4]);
	cr_assert_eq(ji(lm_json_get(lm_json_get(refs, "test-branch"), "snapshot_id")), ids[2]);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(refs, "EOW-01"), "type")), "tag");
	cr_assert_eq(ji(lm_json_get(lm_json_get(refs, "EOW-01"), "snapshot_id")), ids[3]);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(r, "properties"), "write.delete.mode")),
			 "merge-on-read");
	cr_assert_geq(lm_json_get(r, "schemas")->n, 1);
	cr_assert_geq(lm_json_get(r, "partition_specs")->n, 1);
	lm_json_doc_free(d);

	/* the snapshot of main: 8 data files (bytes as the listing shows them), one
	 * position delete file that names data files of this snapshot */
	d = info_json(t, "snap-154324552338474173.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert(imm);
	cr_assert_eq(ji(lm_json_get(r, "data_files")), 8);
	cr_assert_eq(ji(lm_json_get(r, "delete_files_count")), 1);
	cr_assert_eq(lm_table_snapshot(t, "s154324552338474173", &s, &e), 0, "%s", e.msg);
	for (size_t i = 0; i < s->nfiles; i++)
		bytes += s->files[i].size;
	cr_assert_eq((uint64_t)ji(lm_json_get(r, "data_bytes")), bytes);
	a = lm_json_get(jat(lm_json_get(r, "delete_files"), 0), "applies_to");
	cr_assert_geq(a->n, 1);
	for (uint32_t i = 0; i < a->n; i++) {
		bool found = false;

		for (size_t k = 0; k < s->nfiles && !found; k++)
			found = !strcmp(s->files[k].path, lm_json_str(jat(a, i)));
		cr_assert(found, "%s is not a data file of the snapshot", lm_json_str(jat(a, i)));
	}
	cr_assert_eq(ji(lm_json_get(r, "affected_data_files")), a->n);
	lm_snapshot_unref(s);
	lm_json_doc_free(d);
	lm_table_free(t);
	lm_store_free(st);
}

Test(iceberg_corpus, info_impala_eq_and_pos_deletes, .init = load, .fini = unload)
{
	struct lm_store *st = NULL;
	struct lm_table *t = open_corpus(&st, "impala-iceberg_v2_delete_both_eq_and_pos");
	struct lm_json_doc *d;
	const struct lm_json *r, *a;
	bool imm, seen_eq2 = false, seen_eq1 = false, seen_pos = false;

	d = info_json(t, "snap-911559291487642581.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(ji(lm_json_get(r, "parent_snapshot_id")), INT64_C(8985205515767142888));
	cr_assert_eq(ji(lm_json_get(r, "sequence_number")), 3);
	cr_assert_eq(ji(lm_json_get(r, "data_files")), 2);
	cr_assert_eq(ji(lm_json_get(r, "data_records")), 4, "summary total-records");
	cr_assert_eq(ji(lm_json_get(r, "delete_files_count")), 3);
	cr_assert_str_eq(lm_json_str(lm_json_get(lm_json_get(r, "summary"), "total-delete-files")), "3");
	a = lm_json_get(r, "delete_files");
	for (uint32_t i = 0; i < a->n; i++) {
		const struct lm_json *df = jat(a, i), *to = lm_json_get(df, "applies_to");
		const char *kind = lm_json_str(lm_json_get(df, "kind"));
		int64_t seq = ji(lm_json_get(df, "sequence_number"));

		if (!strcmp(kind, "equality-deletes") && seq == 2) {
			/* strictly older data only: the seq-1 file, not the seq-2 one */
			seen_eq2 = true;
			cr_assert_eq(to->n, 1);
			cr_assert(strstr(lm_json_str(jat(to, 0)), "38a471ff-46f4-4350-85cc-2e7ba946b34c-00001"));
		} else if (!strcmp(kind, "equality-deletes") && seq == 1) {
			seen_eq1 = true;
			cr_assert_eq(to->n, 0, "same sequence number as every data file it could touch");
		} else if (!strcmp(kind, "position-deletes")) {
			seen_pos = true;
			cr_assert_eq(seq, 3);
			cr_assert_geq(to->n, 1);
		}
	}
	cr_assert(seen_eq1 && seen_eq2 && seen_pos);
	lm_json_doc_free(d);
	d = info_json(t, "snap-3802179086205335895.json", &imm);
	r = lm_json_doc_root(d);
	cr_assert_eq(ji(lm_json_get(r, "data_files")), 1);
	cr_assert_eq(ji(lm_json_get(r, "delete_files_count")), 1);
	cr_assert_eq(ji(lm_json_get(r, "pairs")), 0);
	lm_json_doc_free(d);
	lm_table_free(t);
	lm_store_free(st);
}
