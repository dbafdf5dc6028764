/* iceberg_meta.c — Iceberg metadata decoders (see include/lm/iceberg.h): table
 * metadata JSON (plain or gzip), metadata file names, version hints, manifest lists
 * and manifests of format v1-v3.
 * Owns struct lm_iceberg_meta, lm_iceberg_manifest_list, lm_iceberg_manifest.
 * May call: json, avro, zlib, arena, util, err. Pure decoder, no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lm/iceberg.h"
#include "lm/util.h"

#define DEFAULT_MAX_INFLATED ((size_t)512 << 20)
#define POS_DELETE_FILE_PATH_ID 2147483546

/* ---------- names and hints ---------- */

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t l = strlen(suf);

	return n >= l && !memcmp(s + n - l, suf, l);
}

int lm_iceberg_meta_name_parse(const char *name, struct lm_iceberg_meta_name *out)
{
	size_t n = strlen(name), stem;
	const char *p;
	int64_t v = 0;
	size_t digits = 0;

	memset(out, 0, sizeof(*out));
	if (!n || name[0] == '.' || strchr(name, '/'))
		return EINVAL;
	if (ends_with(name, n, ".metadata.json.gz")) {
		stem = n - strlen(".metadata.json.gz");
		out->gz = true;
	} else if (ends_with(name, n, ".metadata.json")) {
		stem = n - strlen(".metadata.json");
	} else {
		return EINVAL;
	}
	if (ends_with(name, stem, ".gz")) {
		stem -= 3;
		out->gz = true;
	}
	if (!stem)
		return EINVAL;
	out->stem_len = stem;
	p = name;
	if (*p == 'v')
		p++;
	while ((size_t)(p - name) < stem && isdigit((unsigned char)*p) && digits < 18) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (!digits || ((size_t)(p - name) < stem && *p != '-' && *p != '.'))
		return 0;   /* a metadata file without a version number */
	if ((size_t)(p - name) < stem && isdigit((unsigned char)*p))
		return 0;   /* more than 18 digits */
	out->has_version = true;
	out->version = v;
	if (name[0] == 'v')
		out->canonical = (size_t)(p - name) == stem;
	else
		out->canonical = (size_t)(p - name) < stem && *p == '-';
	return 0;
}

void lm_iceberg_hint_parse(const char *s, size_t n, struct lm_iceberg_hint *out)
{
	size_t a = 0, b = n;
	const char *slash;
	bool alldig = true;

	memset(out, 0, sizeof(*out));
	while (a < b && isspace((unsigned char)s[a]))
		a++;
	while (b > a && isspace((unsigned char)s[b - 1]))
		b--;
	if (a == b)
		return;
	for (size_t i = a; i < b; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;   /* binary junk */
		if (!isdigit((unsigned char)s[i]))
			alldig = false;
	}
	if (alldig) {
		if (b - a <= 18 && !lm_parse_i64n(s + a, b - a, &out->number))
			out->kind = LM_ICEBERG_HINT_NUMBER;
		return;
	}
	/* A file stem, or a file name or path: keep the base name without the suffix. */
	slash = memrchr(s + a, '/', b - a);
	if (slash)
		a = (size_t)(slash - s) + 1;
	if (ends_with(s + a, b - a, ".metadata.json.gz"))
		b -= strlen(".metadata.json.gz");
	else if (ends_with(s + a, b - a, ".metadata.json"))
		b -= strlen(".metadata.json");
	if (ends_with(s + a, b - a, ".gz"))
		b -= 3;
	if (a == b || b - a >= sizeof(out->stem))
		return;
	memcpy(out->stem, s + a, b - a);
	out->stem[b - a] = '\0';
	out->kind = LM_ICEBERG_HINT_STEM;
}

/* ---------- table metadata ---------- */

static int gunzip(const uint8_t *src, size_t n, size_t cap, char **out, size_t *outlen,
		  struct lm_err *err)
{
	z_stream z;
	size_t have = 0, size = n * 4 + 4096;
	char *buf = NULL;
	int rc = 0, zr;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return lm_err_set(err, ENOMEM, "out of memory (zlib)");
	if (size > cap + 1)
		size = cap + 1;
	buf = malloc(size + 1);
	if (!buf) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	z.next_in = (Bytef *)src;
	for (;;) {
		size_t in_done = (size_t)(z.next_in - src);

		if (z.avail_in == 0)
			z.avail_in = n - in_done > (1u << 30) ? (1u << 30) : (uInt)(n - in_done);
		if (have == size) {
			char *nb;

			if (size > cap) {
				rc = lm_err_set(err, LM_ETOOBIG,
						"gzip metadata larger than %zu bytes when inflated", cap);
				goto out;
			}
			size = size * 2 > cap + 1 ? cap + 1 : size * 2;
			nb = realloc(buf, size + 1);
			if (!nb) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		z.next_out = (Bytef *)buf + have;
		z.avail_out = size - have > (1u << 30) ? (1u << 30) : (uInt)(size - have);
		zr = inflate(&z, Z_NO_FLUSH);
		have = (size_t)((char *)z.next_out - buf);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && (size_t)(z.next_in - src) == n && z.avail_in == 0 &&
		    have < size) {
			rc = lm_err_set(err, LM_EFORMAT, "truncated gzip data");
			lm_err_reason(err, "invalid-json");
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = lm_err_set(err, LM_EFORMAT, "corrupt gzip data");
			lm_err_reason(err, "invalid-json");
			goto out;
		}
	}
	if (have > cap) {
		rc = lm_err_set(err, LM_ETOOBIG, "gzip metadata larger than %zu bytes when inflated",
				cap);
		goto out;
	}
	buf[have] = '\0';
	*out = buf;
	*outlen = have;
	buf = NULL;
out:
	inflateEnd(&z);
	free(buf);
	return rc;
}

static int bad_meta(struct lm_err *err, const char *what)
{
	lm_err_set(err, LM_EFORMAT, "%s", what);
	lm_err_reason(err, "invalid-metadata");
	return LM_EFORMAT;
}

/* An optional int64 member: absent or null leaves *out; wrong type is an error. */
static int opt_i64(const struct lm_json *obj, const char *key, int64_t *out, bool *present)
{
	const struct lm_json *v = lm_json_get(obj, key);

	if (present)
		*present = false;
	if (!v || v->type == LM_JSON_NULL)
		return 0;
	if (lm_json_i64(v, out))
		return EINVAL;
	if (present)
		*present = true;
	return 0;
}

static int opt_str(const struct lm_json *obj, const char *key, const char **out)
{
	const struct lm_json *v = lm_json_get(obj, key);

	if (!v || v->type == LM_JSON_NULL)
		return 0;
	if (v->type != LM_JSON_STRING)
		return EINVAL;
	*out = v->u.str;
	return 0;
}

static int by_id_cmp(const void *a, const void *b, void *ctx)
{
	const struct lm_iceberg_meta *m = ctx;
	int64_t x = m->snapshots[*(const uint32_t *)a].id;
	int64_t y = m->snapshots[*(const uint32_t *)b].id;

	return x < y ? -1 : x > y;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lm_iceberg_ref *)a)->name,
		      ((const struct lm_iceberg_ref *)b)->name);
}

static int parse_snapshot(struct lm_iceberg_meta *m, const struct lm_json *j,
			  struct lm_iceberg_snapshot *s, struct lm_err *err)
{
	const struct lm_json *v;
	bool has;
	char msg[160];

	memset(s, 0, sizeof(*s));
	s->timestamp_ms = -1;
	if (j->type != LM_JSON_OBJECT)
		return bad_meta(err, "a snapshot is not an object");
	if (opt_i64(j, "snapshot-id", &s->id, &has) || !has)
		return bad_meta(err, "a snapshot without an integer snapshot-id");
	snprintf(msg, sizeof(msg), "snapshot %lld: ", (long long)s->id);
	if (opt_i64(j, "parent-snapshot-id", &s->parent_id, &s->has_parent) ||
	    opt_i64(j, "sequence-number", &s->seq, NULL) ||
	    opt_i64(j, "timestamp-ms", &s->timestamp_ms, NULL)) {
		bad_meta(err, "a field is not an integer");
		lm_err_prefix(err, "%s", msg);
		return LM_EFORMAT;
	}
	if (opt_str(j, "manifest-list", &s->manifest_list)) {
		bad_meta(err, "manifest-list is not a string");
		lm_err_prefix(err, "%s", msg);
		return LM_EFORMAT;
	}
	v = lm_json_get(j, "manifests");
	if (v && v->type == LM_JSON_ARRAY) {
		s->manifests = lm_arena_alloc(&m->arena, (v->n ? v->n : 1) * sizeof(*s->manifests));
		if (!s->manifests)
			return lm_err_set(err, ENOMEM, "out of memory");
		for (uint32_t i = 0; i < v->n; i++) {
			s->manifests[i] = lm_json_str(&v->u.kids[i]);
			if (!s->manifests[i]) {
				bad_meta(err, "manifests holds a non-string");
				lm_err_prefix(err, "%s", msg);
				return LM_EFORMAT;
			}
		}
		s->nmanifests = v->n;
	} else if (v && v->type != LM_JSON_NULL) {
		bad_meta(err, "manifests is not an array");
		lm_err_prefix(err, "%s", msg);
		return LM_EFORMAT;
	}
	v = lm_json_get(j, "summary");
	if (v && v->type == LM_JSON_OBJECT) {
		s->summary = v;
		s->operation = lm_json_str(lm_json_get(v, "operation"));
	}
	if (!s->operation)
		s->operation = lm_json_str(lm_json_get(j, "operation"));
	return 0;
}

static int parse_log(struct lm_iceberg_meta *m, const struct lm_json *arr, bool metadata,
		     struct lm_iceberg_log_entry **out, size_t *n, struct lm_err *err)
{
	struct lm_iceberg_log_entry *e;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!arr || arr->type != LM_JSON_ARRAY || !arr->n)
		return 0;
	e = lm_arena_alloc(&m->arena, arr->n * sizeof(*e));
	if (!e)
		return lm_err_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < arr->n; i++) {
		const struct lm_json *j = &arr->u.kids[i];
		bool has_ts, has_id = true;

		memset(&e[k], 0, sizeof(e[k]));
		if (opt_i64(j, "timestamp-ms", &e[k].timestamp_ms, &has_ts) || !has_ts)
			continue;   /* malformed log entries are left out */
		if (metadata) {
			e[k].file = lm_json_str(lm_json_get(j, "metadata-file"));
			if (!e[k].file)
				continue;
		} else if (opt_i64(j, "snapshot-id", &e[k].snapshot_id, &has_id) || !has_id) {
			continue;
		}
		k++;
	}
	*out = e;
	*n = k;
	return 0;
}

int lm_iceberg_meta_parse(const void *data, size_t len, size_t max_inflated,
			  struct lm_iceberg_meta **out, struct lm_err *err)
{
	struct lm_iceberg_meta *m = calloc(1, sizeof(*m));
	const struct lm_json *root, *v;
	char *inflated = NULL;
	const char *text = data;
	size_t tlen = len;
	int64_t fv = 1;
	int rc = 0;

	*out = NULL;
	if (!m)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_arena_init(&m->arena);
	m->last_updated_ms = -1;
	if (len >= 2 && ((const uint8_t *)data)[0] == 0x1f && ((const uint8_t *)data)[1] == 0x8b) {
		rc = gunzip(data, len, max_inflated ? max_inflated : DEFAULT_MAX_INFLATED, &inflated,
			    &tlen, err);
		if (rc)
			goto out;
		text = inflated;
		m->gzipped = true;
	}
	rc = lm_json_parse(text, tlen, NULL, &m->doc, err);
	if (rc) {
		if (rc == LM_EFORMAT)
			lm_err_reason(err, "invalid-json");
		goto out;
	}
	root = m->root = lm_json_doc_root(m->doc);
	if (root->type != LM_JSON_OBJECT) {
		rc = bad_meta(err, "the metadata is not a JSON object");
		goto out;
	}
	if (opt_i64(root, "format-version", &fv, NULL) || fv < 1 || fv > INT32_MAX) {
		rc = bad_meta(err, "format-version is not a positive integer");
		goto out;
	}
	m->format_version = (int)fv;
	if (opt_str(root, "location", &m->location) || opt_str(root, "table-uuid", &m->table_uuid)) {
		rc = bad_meta(err, "location or table-uuid is not a string");
		goto out;
	}
	if (opt_i64(root, "last-sequence-number", &m->last_sequence_number, NULL) ||
	    opt_i64(root, "last-updated-ms", &m->last_updated_ms, NULL) ||
	    opt_i64(root, "current-snapshot-id", &m->current_snapshot_id, &m->has_current)) {
		rc = bad_meta(err, "last-sequence-number, last-updated-ms or current-snapshot-id is not an integer");
		goto out;
	}
	if (m->has_current && m->current_snapshot_id == -1)
		m->has_current = false;
	v = lm_json_get(root, "snapshots");
	if (v && v->type == LM_JSON_ARRAY && v->n) {
		m->snapshots = lm_arena_alloc(&m->arena, v->n * sizeof(*m->snapshots));
		m->by_id = malloc(v->n * sizeof(*m->by_id));
		if (!m->snapshots || !m->by_id) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (uint32_t i = 0; i < v->n; i++) {
			rc = parse_snapshot(m, &v->u.kids[i], &m->snapshots[i], err);
			if (rc)
				goto out;
			m->by_id[i] = i;
		}
		m->nsnapshots = v->n;
		qsort_r(m->by_id, m->nsnapshots, sizeof(*m->by_id), by_id_cmp, m);
		for (size_t i = 1; i < m->nsnapshots; i++) {
			if (m->snapshots[m->by_id[i]].id == m->snapshots[m->by_id[i - 1]].id) {
				rc = bad_meta(err, "two snapshots share one snapshot-id");
				lm_err_prefix(err, "snapshot %lld: ",
					      (long long)m->snapshots[m->by_id[i]].id);
				goto out;
			}
		}
	} else if (v && v->type != LM_JSON_ARRAY && v->type != LM_JSON_NULL) {
		rc = bad_meta(err, "snapshots is not an array");
		goto out;
	}
	v = lm_json_get(root, "refs");
	if (v && v->type == LM_JSON_OBJECT && v->n) {
		m->refs = lm_arena_alloc(&m->arena, v->n * sizeof(*m->refs));
		if (!m->refs) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (uint32_t i = 0; i < v->n; i++) {
			const struct lm_json *r = &v->u.kids[i];
			const char *type = lm_json_str(lm_json_get(r, "type"));
			struct lm_iceberg_ref *ref = &m->refs[m->nrefs];
			bool has;

			if (opt_i64(r, "snapshot-id", &ref->snapshot_id, &has) || !has || !type ||
			    (strcmp(type, "branch") && strcmp(type, "tag")) || !*r->key) {
				m->refs_skipped++;
				continue;
			}
			ref->name = r->key;
			ref->is_tag = type[0] == 't';
			m->nrefs++;
		}
		qsort(m->refs, m->nrefs, sizeof(*m->refs), ref_cmp);
		/* A repeated name: keep the last (as the JSON reader does for keys). */
		for (size_t i = 1; i < m->nrefs;) {
			if (!strcmp(m->refs[i].name, m->refs[i - 1].name)) {
				memmove(&m->refs[i - 1], &m->refs[i], (m->nrefs - i) * sizeof(*m->refs));
				m->nrefs--;
				m->refs_skipped++;
			} else {
				i++;
			}
		}
	}
	rc = parse_log(m, lm_json_get(root, "snapshot-log"), false, &m->snapshot_log,
		       &m->nsnapshot_log, err);
	if (!rc)
		rc = parse_log(m, lm_json_get(root, "metadata-log"), true, &m->metadata_log,
			       &m->nmetadata_log, err);
	if (rc)
		goto out;
	*out = m;
	m = NULL;
out:
	free(inflated);
	lm_iceberg_meta_free(m);
	return rc;
}

void lm_iceberg_meta_free(struct lm_iceberg_meta *m)
{
	if (!m)
		return;
	lm_json_doc_free(m->doc);
	lm_arena_free(&m->arena);
	free(m->by_id);
	free(m);
}

const struct lm_iceberg_snapshot *lm_iceberg_meta_snapshot(const struct lm_iceberg_meta *m,
							   int64_t id)
{
	size_t lo = 0, hi = m->nsnapshots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lm_iceberg_snapshot *s = &m->snapshots[m->by_id[mid]];

		if (s->id == id)
			return s;
		if (s->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int lm_iceberg_meta_as_of(const struct lm_iceberg_meta *m, int64_t ts_ms, int64_t *id)
{
	bool found = false;

	for (size_t i = 0; i < m->nsnapshot_log; i++) {
		if (m->snapshot_log[i].timestamp_ms <= ts_ms) {
			*id = m->snapshot_log[i].snapshot_id;
			found = true;
		}
	}
	return found ? 0 : ENOENT;
}

/* ---------- manifest lists ---------- */

static int bad_avro(struct lm_err *err, const char *what)
{
	lm_err_set(err, LM_EFORMAT, "%s", what);
	lm_err_reason(err, "invalid-avro");
	return LM_EFORMAT;
}

/* Copy an Avro string into the arena as a C string; NUL inside is refused. */
static char *avro_cstr(struct lm_arena *a, const struct lm_avro_value *v, bool *bad)
{
	size_t n;
	const uint8_t *b = lm_avro_bytes(v, &n);

	*bad = false;
	if (!b)
		return NULL;
	if (memchr(b, '\0', n)) {
		*bad = true;
		return NULL;
	}
	return lm_arena_strndup(a, (const char *)b, n);
}

void lm_iceberg_manifest_list_init(struct lm_iceberg_manifest_list *l)
{
	l->v = NULL;
	l->n = 0;
	lm_arena_init(&l->arena);
}

void lm_iceberg_manifest_list_free(struct lm_iceberg_manifest_list *l)
{
	free(l->v);
	lm_arena_free(&l->arena);
	lm_iceberg_manifest_list_init(l);
}

static int avro_err(int rc, struct lm_err *err)
{
	if (rc == LM_EFORMAT)
		lm_err_reason(err, "invalid-avro");
	else if (rc == LM_EUNSUPPORTED)
		lm_err_reason(err, "unsupported-feature");
	else if (rc == LM_ETOOBIG)
		lm_err_reason(err, "too-big");
	return rc;
}

int lm_iceberg_manifest_list_parse(const void *data, size_t len,
				   const struct lm_avro_limits *lim,
				   struct lm_iceberg_manifest_list *out, struct lm_err *err)
{
	struct lm_avro_reader *r = NULL;
	size_t cap = 0;
	int rc;

	rc = lm_avro_open(data, len, lim, &r, err);
	if (rc)
		return avro_err(rc, err);
	for (;;) {
		const struct lm_avro_value *rec;
		struct lm_iceberg_manifest_file f;
		int64_t x;
		bool nul;

		rc = lm_avro_next(r, &rec, err);
		if (rc) {
			avro_err(rc, err);
			goto out;
		}
		if (!rec)
			break;
		memset(&f, 0, sizeof(f));
		f.path = avro_cstr(&out->arena, lm_avro_field(rec, 500, "manifest_path"), &nul);
		if (!f.path) {
			rc = nul ? bad_avro(err, "manifest list: a manifest_path holds a NUL byte")
				 : bad_avro(err, "manifest list: an entry without manifest_path");
			goto out;
		}
		if (!lm_avro_long(lm_avro_field(rec, 501, "manifest_length"), &x))
			f.length = x;
		if (!lm_avro_long(lm_avro_field(rec, 502, "partition_spec_id"), &x))
			f.spec_id = (int32_t)x;
		if (!lm_avro_long(lm_avro_field(rec, 517, "content"), &x)) {
			if (x != LM_ICEBERG_CONTENT_DATA && x != LM_ICEBERG_CONTENT_DELETES) {
				rc = bad_avro(err, "manifest list: content is neither 0 (data) nor 1 (deletes)");
				goto out;
			}
			f.content = (int)x;
		}
		if (!lm_avro_long(lm_avro_field(rec, 515, "sequence_number"), &x))
			f.seq = x;
		if (!lm_avro_long(lm_avro_field(rec, 516, "min_sequence_number"), &x))
			f.min_seq = x;
		if (!lm_avro_long(lm_avro_field(rec, 503, "added_snapshot_id"), &x)) {
			f.added_snapshot_id = x;
			f.has_added_snapshot_id = true;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct lm_iceberg_manifest_file *nv = realloc(out->v, nc * sizeof(*nv));

			if (!nv) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			out->v = nv;
			cap = nc;
		}
		out->v[out->n++] = f;
	}
out:
	lm_avro_close(r);
	return rc;
}

/* ---------- manifests ---------- */

void lm_iceberg_manifest_init(struct lm_iceberg_manifest *m)
{
	memset(m, 0, sizeof(*m));
	lm_arena_init(&m->arena);
}

void lm_iceberg_manifest_free(struct lm_iceberg_manifest *m)
{
	free(m->v);
	lm_arena_free(&m->arena);
	lm_iceberg_manifest_init(m);
}

struct bytes_out {
	uint8_t *p;
	size_t n, cap;
};

static int put(struct bytes_out *o, const void *src, size_t n)
{
	if (o->cap - o->n < n) {
		size_t nc = o->cap ? o->cap * 2 : 64;
		uint8_t *np;

		while (nc - o->n < n)
			nc *= 2;
		np = realloc(o->p, nc);
		if (!np)
			return ENOMEM;
		o->p = np;
		o->cap = nc;
	}
	memcpy(o->p + o->n, src, n);
	o->n += n;
	return 0;
}

/* Canonical bytes of a partition tuple: per field a tag and the value, so that two
 * tuples are equal exactly when their bytes are. */
static int encode_part(struct bytes_out *o, const struct lm_avro_value *v, unsigned depth)
{
	uint8_t tag, be[8];
	uint64_t x;
	int rc;

	if (depth > 16)
		return LM_EFORMAT;
	switch (v->schema->type) {
	case LM_AVRO_NULL:
		tag = 'n';
		return put(o, &tag, 1);
	case LM_AVRO_BOOLEAN:
	case LM_AVRO_INT:
	case LM_AVRO_LONG:
	case LM_AVRO_ENUM:
	case LM_AVRO_FLOAT:
	case LM_AVRO_DOUBLE:
		if (v->schema->type == LM_AVRO_FLOAT || v->schema->type == LM_AVRO_DOUBLE) {
			tag = 'd';
			memcpy(&x, &v->u.d, 8);
		} else {
			tag = 'i';
			x = (uint64_t)v->u.l;
		}
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(x >> (56 - 8 * i));
		if ((rc = put(o, &tag, 1)))
			return rc;
		return put(o, be, 8);
	case LM_AVRO_BYTES:
	case LM_AVRO_STRING:
	case LM_AVRO_FIXED:
		tag = 's';
		for (int i = 0; i < 4; i++)
			be[i] = (uint8_t)(v->n >> (24 - 8 * i));
		if ((rc = put(o, &tag, 1)) || (rc = put(o, be, 4)))
			return rc;
		return v->n ? put(o, v->u.bytes, v->n) : 0;
	case LM_AVRO_RECORD:
	case LM_AVRO_ARRAY:
	case LM_AVRO_MAP: {
		uint32_t cnt = v->schema->type == LM_AVRO_MAP ? v->n * 2 : v->n;

		tag = 'r';
		for (int i = 0; i < 4; i++)
			be[i] = (uint8_t)(cnt >> (24 - 8 * i));
		if ((rc = put(o, &tag, 1)) || (rc = put(o, be, 4)))
			return rc;
		for (uint32_t i = 0; i < cnt; i++)
			if ((rc = encode_part(o, &v->u.items[i], depth + 1)))
				return rc;
		return 0;
	}
	default:
		return LM_EFORMAT;
	}
}

/* The bound of the position-delete file_path column from lower/upper_bounds. */
static const char *path_bound(struct lm_arena *a, const struct lm_avro_value *m)
{
	if (!m)
		return NULL;
	if (m->schema->type == LM_AVRO_ARRAY) {
		for (uint32_t i = 0; i < m->n; i++) {
			const struct lm_avro_value *kv = &m->u.items[i];
			int64_t k;
			size_t n;
			const uint8_t *b;

			if (lm_avro_long(lm_avro_field(kv, -1, "key"), &k) || k != POS_DELETE_FILE_PATH_ID)
				continue;
			b = lm_avro_bytes(lm_avro_field(kv, -1, "value"), &n);
			if (!b || memchr(b, '\0', n))
				return NULL;
			return lm_arena_strndup(a, (const char *)b, n);
		}
	} else if (m->schema->type == LM_AVRO_MAP) {
		for (uint32_t i = 0; i < m->n; i++) {
			size_t kl, n;
			const uint8_t *k = lm_avro_bytes(&m->u.items[2 * i], &kl);
			const uint8_t *b = lm_avro_bytes(&m->u.items[2 * i + 1], &n);

			if (!k || kl != 10 || memcmp(k, "2147483546", 10))
				continue;
			if (!b || memchr(b, '\0', n))
				return NULL;
			return lm_arena_strndup(a, (const char *)b, n);
		}
	}
	return NULL;
}

static bool meta_is(const uint8_t *v, size_t n, const char *s)
{
	return v && n == strlen(s) && !memcmp(v, s, n);
}

int lm_iceberg_manifest_parse(const void *data, size_t len,
			      const struct lm_iceberg_manifest_file *from,
			      const struct lm_avro_limits *lim, struct lm_iceberg_manifest *out,
			      struct lm_err *err)
{
	struct lm_avro_reader *r = NULL;
	struct bytes_out pb = { 0 };
	bool spec_known = false;
	size_t cap = 0;
	int rc;

	rc = lm_avro_open(data, len, lim, &r, err);
	if (rc)
		return avro_err(rc, err);
	out->spec_id = from ? from->spec_id : 0;
	out->content = from ? from->content : LM_ICEBERG_CONTENT_DATA;
	{
		size_t n;
		const uint8_t *v = lm_avro_meta(r, "partition-spec-id", &n);
		int64_t x;

		if (v && !from && !lm_parse_i64n((const char *)v, n, &x) && x >= INT32_MIN &&
		    x <= INT32_MAX)
			out->spec_id = (int32_t)x;
		v = lm_avro_meta(r, "content", &n);
		if (!from && meta_is(v, n, "deletes"))
			out->content = LM_ICEBERG_CONTENT_DELETES;
		v = lm_avro_meta(r, "partition-spec", &n);
		if (v) {
			struct lm_json_doc *d = NULL;

			if (!lm_json_parse((const char *)v, n, NULL, &d, NULL)) {
				const struct lm_json *j = lm_json_doc_root(d);

				if (j->type == LM_JSON_OBJECT)
					j = lm_json_get(j, "fields");
				if (j && j->type == LM_JSON_ARRAY) {
					spec_known = true;
					out->unpartitioned = true;
					for (uint32_t i = 0; i < j->n; i++) {
						const char *t = lm_json_str(lm_json_get(&j->u.kids[i], "transform"));

						if (!t || strcmp(t, "void"))
							out->unpartitioned = false;
					}
				}
			}
			lm_json_doc_free(d);
		}
	}
	for (;;) {
		const struct lm_avro_value *rec, *df, *part;
		struct lm_iceberg_entry e;
		int64_t x;
		bool nul, has_seq = false, has_fseq = false;

		rc = lm_avro_next(r, &rec, err);
		if (rc) {
			avro_err(rc, err);
			goto out;
		}
		if (!rec)
			break;
		memset(&e, 0, sizeof(e));
		e.content_offset = e.content_size = -1;
		e.record_count = -1;
		if (lm_avro_long(lm_avro_field(rec, 0, "status"), &x) || x < 0 || x > 2) {
			rc = bad_avro(err, "manifest: an entry without a valid status");
			goto out;
		}
		e.status = (int)x;
		if (!lm_avro_long(lm_avro_field(rec, 1, "snapshot_id"), &x)) {
			e.snapshot_id = x;
			e.has_snapshot_id = true;
		} else if (from && from->has_added_snapshot_id) {
			e.snapshot_id = from->added_snapshot_id;
			e.has_snapshot_id = true;
		}
		if (!lm_avro_long(lm_avro_field(rec, 3, "sequence_number"), &x)) {
			e.seq = x;
			has_seq = true;
		}
		if (!lm_avro_long(lm_avro_field(rec, 4, "file_sequence_number"), &x)) {
			e.file_seq = x;
			has_fseq = true;
		}
		/* Inherited when null and ADDED; v1-era entries have none and are 0. */
		if (!has_seq)
			e.seq = (e.status == LM_ICEBERG_ADDED && from) ? from->seq : 0;
		if (!has_fseq)
			e.file_seq = (e.status == LM_ICEBERG_ADDED && from) ? from->seq : 0;
		df = lm_avro_field(rec, 2, "data_file");
		if (!df || df->schema->type != LM_AVRO_RECORD) {
			rc = bad_avro(err, "manifest: an entry without data_file");
			goto out;
		}
		if (!lm_avro_long(lm_avro_field(df, 134, "content"), &x)) {
			if (x < 0 || x > 2) {
				rc = bad_avro(err, "manifest: data_file.content is not 0, 1 or 2");
				goto out;
			}
			e.content = (int)x;
		} else if (out->content == LM_ICEBERG_CONTENT_DELETES) {
			e.content = LM_ICEBERG_FILE_POS_DELETES;
		}
		e.path = avro_cstr(&out->arena, lm_avro_field(df, 100, "file_path"), &nul);
		if (!e.path) {
			rc = nul ? bad_avro(err, "manifest: a file_path holds a NUL byte")
				 : bad_avro(err, "manifest: an entry without file_path");
			goto out;
		}
		e.format = avro_cstr(&out->arena, lm_avro_field(df, 101, "file_format"), &nul);
		if (lm_avro_long(lm_avro_field(df, 104, "file_size_in_bytes"), &e.size) || e.size < 0) {
			rc = bad_avro(err, "manifest: an entry without a valid file_size_in_bytes");
			lm_err_prefix(err, "%s: ", e.path);
			goto out;
		}
		lm_avro_long(lm_avro_field(df, 103, "record_count"), &e.record_count);
		e.referenced = avro_cstr(&out->arena, lm_avro_field(df, 143, "referenced_data_file"),
					 &nul);
		if (nul) {
			rc = bad_avro(err, "manifest: a referenced_data_file holds a NUL byte");
			goto out;
		}
		lm_avro_long(lm_avro_field(df, 144, "content_offset"), &e.content_offset);
		lm_avro_long(lm_avro_field(df, 145, "content_size_in_bytes"), &e.content_size);
		part = lm_avro_field(df, 102, "partition");
		pb.n = 0;
		if (part && part->schema->type == LM_AVRO_RECORD) {
			if (!spec_known && part->n == 0)
				out->unpartitioned = true;
			if ((rc = encode_part(&pb, part, 0))) {
				rc = rc == ENOMEM ? lm_err_set(err, ENOMEM, "out of memory")
						  : bad_avro(err, "manifest: partition nested too deep");
				goto out;
			}
			if (pb.n) {
				uint8_t *c = lm_arena_alloc(&out->arena, pb.n);

				if (!c) {
					rc = lm_err_set(err, ENOMEM, "out of memory");
					goto out;
				}
				memcpy(c, pb.p, pb.n);
				e.part = c;
				e.part_len = pb.n;
			}
		} else if (!spec_known) {
			out->unpartitioned = true;
		}
		if (e.content == LM_ICEBERG_FILE_POS_DELETES) {
			e.path_lower = path_bound(&out->arena, lm_avro_field(df, 125, "lower_bounds"));
			e.path_upper = path_bound(&out->arena, lm_avro_field(df, 128, "upper_bounds"));
			if (!e.path_lower || !e.path_upper)
				e.path_lower = e.path_upper = NULL;
		}
		if (!e.format)
			e.format = "";   /* informational only */
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct lm_iceberg_entry *nv = realloc(out->v, nc * sizeof(*nv));

			if (!nv) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			out->v = nv;
			cap = nc;
		}
		out->v[out->n++] = e;
	}
out:
	free(pb.p);
	lm_avro_close(r);
	return rc;
}
