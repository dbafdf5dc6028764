/* info.c — the Iceberg driver's @info files, generated on read (JSON, written here
 * by a small writer that keeps every int64 exact and copies metadata subtrees with
 * their numbers' original text):
 *   history.json      which metadata file is current and how it was chosen (a guess
 *                     or not), every snapshot of the current metadata (id, parent,
 *                     sequence number, time, operation, manifest list, summary), the
 *                     snapshot-log, the metadata-log and the versions present.
 *                     May change (immutable=false).
 *   v<N>.json         metadata version N: the file and whether picking it among
 *                     several was a guess, format version, uuid, location, schemas,
 *                     partition specs, sort orders, properties, refs, the current
 *                     snapshot. Never changes (immutable=true).
 *   snap-<id>.json    one snapshot of the current metadata: data file count, bytes,
 *                     records, and every delete file with the data files it applies
 *                     to (sequence-number and partition scoping: scan.c). Immutable.
 * A version or snapshot that is refused gets a small JSON naming the refusal
 * (immutable=false: a missing object may appear).
 * May call: iceberg/table (ice_table_*, lm_iceberg_table_*), format/json (types),
 * buf, util, err. Owns nothing beyond one call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg_int.h"
#include "lm/util.h"

#define JW_DEPTH 320

/* ---------- JSON writer ---------- */

struct jw {
	struct lm_buf *b;
	int rc;                       /* first error, sticky */
	unsigned depth;
	bool first[JW_DEPTH];         /* nothing written yet at this level */
	bool after_key;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (!w->rc)
		w->rc = lm_buf_append(w->b, s, n);
}

static void jw_puts(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* Separator and indentation before a value or a key. */
static void jw_sep(struct jw *w)
{
	static const char sp[] = "                                ";

	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->depth)
		return;
	if (!w->first[w->depth])
		jw_put(w, ",", 1);
	w->first[w->depth] = false;
	jw_put(w, "\n", 1);
	for (unsigned i = 0; i < w->depth; i += 16)
		jw_put(w, sp, (w->depth - i >= 16 ? 16 : w->depth - i) * 2);
}

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	jw_put(w, &c, 1);
	if (w->depth + 1 >= JW_DEPTH) {
		if (!w->rc)
			w->rc = LM_ETOOBIG;
		return;
	}
	w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	bool empty;

	if (w->rc || !w->depth)
		return;
	empty = w->first[w->depth];
	w->depth--;
	if (!empty) {
		w->after_key = false;
		jw_put(w, "\n", 1);
		for (unsigned i = 0; i < w->depth; i++)
			jw_put(w, "  ", 2);
	}
	jw_put(w, &c, 1);
}

/* A JSON string: '"', '\\' and control bytes escaped; invalid UTF-8 bytes become
 * U+FFFD (a JSON text must be UTF-8). */
static void jw_string(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	jw_put(w, "\"", 1);
	while (*p && !w->rc) {
		const unsigned char *run = p;
		size_t len;

		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		jw_put(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };

			jw_put(w, e, 2);
			p++;
		} else if (*p < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };

			if (*p == '\n')
				jw_put(w, "\\n", 2);
			else if (*p == '\t')
				jw_put(w, "\\t", 2);
			else if (*p == '\r')
				jw_put(w, "\\r", 2);
			else
				jw_put(w, e, 6);
			p++;
		} else {
			/* a UTF-8 sequence: copied when well formed */
			uint32_t cp;
			size_t k;

			len = *p >= 0xf0 && *p < 0xf5 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
			if (*p >= 0xf5)
				len = 0;
			cp = len == 4 ? (*p & 7u) : len == 3 ? (*p & 15u) : (*p & 31u);
			for (k = 1; k < len; k++) {
				if ((p[k] & 0xc0) != 0x80)
					break;
				cp = (cp << 6) | (p[k] & 63u);
			}
			if (len && k == len &&
			    !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) &&
			    !(len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
				jw_put(w, (const char *)p, len);
				p += len;
			} else {
				jw_put(w, "\xef\xbf\xbd", 3);
				p++;
			}
		}
	}
	jw_put(w, "\"", 1);
}

static void jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	jw_string(w, k);
	jw_put(w, ": ", 2);
	w->after_key = true;
}

static void jw_str(struct jw *w, const char *s)
{
	jw_sep(w);
	if (s)
		jw_string(w, s);
	else
		jw_puts(w, "null");
}

static void jw_i64(struct jw *w, int64_t v)
{
	char t[24];

	jw_sep(w);
	snprintf(t, sizeof(t), "%" PRId64, v);
	jw_puts(w, t);
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char t[24];

	jw_sep(w);
	snprintf(t, sizeof(t), "%" PRIu64, v);
	jw_puts(w, t);
}

static void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	jw_puts(w, v ? "true" : "false");
}

static void jw_null(struct jw *w)
{
	jw_sep(w);
	jw_puts(w, "null");
}

/* ms since the epoch, or null when negative (unknown). */
static void jw_kv_time(struct jw *w, const char *k, const char *kiso, int64_t ms)
{
	char iso[40];

	jw_key(w, k);
	if (ms < 0) {
		jw_null(w);
		jw_key(w, kiso);
		jw_null(w);
		return;
	}
	jw_i64(w, ms);
	lm_fmt_time_ms(ms, iso, sizeof(iso));
	jw_key(w, kiso);
	jw_str(w, iso);
}

/* A parsed JSON value written back (numbers with their original text); NULL: null. */
static void jw_tree(struct jw *w, const struct lm_json *v)
{
	if (!v) {
		jw_null(w);
		return;
	}
	switch (v->type) {
	case LM_JSON_NULL:
		jw_null(w);
		break;
	case LM_JSON_FALSE:
	case LM_JSON_TRUE:
		jw_bool(w, v->type == LM_JSON_TRUE);
		break;
	case LM_JSON_NUMBER:
		jw_sep(w);
		jw_put(w, v->u.str, v->n);
		break;
	case LM_JSON_STRING:
		jw_str(w, v->u.str);
		break;
	case LM_JSON_ARRAY:
	case LM_JSON_OBJECT:
		jw_open(w, v->type == LM_JSON_ARRAY ? '[' : '{');
		for (uint32_t i = 0; i < v->n && !w->rc; i++) {
			if (v->type == LM_JSON_OBJECT)
				jw_key(w, v->u.kids[i].key);
			jw_tree(w, &v->u.kids[i]);
		}
		jw_close(w, v->type == LM_JSON_ARRAY ? ']' : '}');
		break;
	default:
		jw_null(w);
		break;
	}
}

static void jw_kv_tree(struct jw *w, const char *k, const struct lm_json *v)
{
	jw_key(w, k);
	jw_tree(w, v);
}

static void jw_init(struct jw *w, struct lm_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->first[0] = true;
}

static int jw_finish(struct jw *w, struct lm_err *err)
{
	jw_put(w, "\n", 1);
	if (w->rc == LM_ETOOBIG)
		return lm_err_set(err, LM_ETOOBIG, "@info file larger than %zu bytes (or nested too deep)",
				  w->b->limit);
	if (w->rc)
		return lm_err_set(err, w->rc, "out of memory");
	return 0;
}

/* ---------- pieces ---------- */

static void snapshot_obj(struct jw *w, const struct lm_iceberg_snapshot *s)
{
	jw_open(w, '{');
	jw_key(w, "snapshot_id");
	jw_i64(w, s->id);
	jw_key(w, "parent_snapshot_id");
	if (s->has_parent)
		jw_i64(w, s->parent_id);
	else
		jw_null(w);
	jw_key(w, "sequence_number");
	jw_i64(w, s->seq);
	jw_kv_time(w, "timestamp_ms", "timestamp", s->timestamp_ms);
	jw_key(w, "operation");
	jw_str(w, s->operation);
	jw_key(w, "manifest_list");
	jw_str(w, s->manifest_list);
	if (!s->manifest_list) {
		jw_key(w, "manifests");
		jw_open(w, '[');
		for (size_t i = 0; i < s->nmanifests; i++)
			jw_str(w, s->manifests[i]);
		jw_close(w, ']');
	}
	jw_kv_tree(w, "summary", s->summary);
	jw_close(w, '}');
}

/* ---------- history.json ---------- */

struct hist_ctx {
	struct lm_buf *out;
	const struct lm_iceberg_status *st;
	const struct ice_version_desc *vers;
	size_t nvers;
	const char *merr;             /* why the current metadata is unreadable */
};

static int write_history(void *ud, const struct lm_iceberg_meta *m,
			 const struct ice_version_desc *d, struct lm_err *err)
{
	struct hist_ctx *c = ud;
	struct jw w;

	(void)d;
	jw_init(&w, c->out);
	jw_open(&w, '{');
	jw_key(&w, "current");
	jw_open(&w, '{');
	jw_key(&w, "file");
	jw_str(&w, c->st->current);
	jw_key(&w, "version");
	if (c->st->has_version)
		jw_i64(&w, c->st->version);
	else
		jw_null(&w);
	jw_key(&w, "how");
	jw_str(&w, c->st->how);
	jw_key(&w, "guessed");
	jw_bool(&w, c->st->guessed);
	jw_key(&w, "metadata_files");
	jw_u64(&w, c->st->nfiles);
	jw_key(&w, "current_snapshot_id");
	if (m && m->has_current)
		jw_i64(&w, m->current_snapshot_id);
	else
		jw_null(&w);
	jw_close(&w, '}');
	jw_key(&w, "metadata_error");
	jw_str(&w, m ? NULL : c->merr);
	jw_key(&w, "snapshots");
	jw_open(&w, '[');
	for (size_t i = 0; m && i < m->nsnapshots; i++)
		snapshot_obj(&w, &m->snapshots[i]);
	jw_close(&w, ']');
	jw_key(&w, "snapshot_log");
	jw_open(&w, '[');
	for (size_t i = 0; m && i < m->nsnapshot_log; i++) {
		jw_open(&w, '{');
		jw_kv_time(&w, "timestamp_ms", "timestamp", m->snapshot_log[i].timestamp_ms);
		jw_key(&w, "snapshot_id");
		jw_i64(&w, m->snapshot_log[i].snapshot_id);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_key(&w, "metadata_log");
	jw_open(&w, '[');
	for (size_t i = 0; m && i < m->nmetadata_log; i++) {
		jw_open(&w, '{');
		jw_kv_time(&w, "timestamp_ms", "timestamp", m->metadata_log[i].timestamp_ms);
		jw_key(&w, "metadata_file");
		jw_str(&w, m->metadata_log[i].file);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_key(&w, "versions");
	jw_open(&w, '[');
	for (size_t i = 0; i < c->nvers; i++) {
		jw_open(&w, '{');
		jw_key(&w, "version");
		jw_i64(&w, c->vers[i].n);
		jw_key(&w, "file");
		jw_str(&w, c->vers[i].file);
		jw_key(&w, "guessed");
		jw_bool(&w, c->vers[i].guess);
		jw_key(&w, "current");
		jw_bool(&w, c->vers[i].current);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_close(&w, '}');
	return jw_finish(&w, err);
}

static int read_history(struct lm_table *t, struct lm_buf *out, struct lm_err *err)
{
	struct lm_iceberg_status st;
	struct ice_version_desc *vers = NULL;
	struct hist_ctx c = { .out = out, .st = &st };
	size_t nvers = 0;
	int rc;

	rc = lm_iceberg_table_status(t, &st, err);
	if (!rc)
		rc = ice_table_versions(t, &vers, &nvers, err);
	if (rc)
		goto out;
	c.vers = vers;
	c.nvers = nvers;
	rc = ice_table_with_meta(t, false, 0, write_history, &c, err);
	if (rc && rc != ENOMEM && rc != LM_ETOOBIG && st.current[0]) {
		/* the current metadata does not parse: say so, list what we know */
		char why[LM_ERR_MSG];

		snprintf(why, sizeof(why), "%s", err && err->msg[0] ? err->msg : "unreadable");
		c.merr = why;
		lm_buf_reset(out);
		rc = write_history(&c, NULL, NULL, err);
	}
out:
	free(vers);
	return rc;
}

/* ---------- v<N>.json ---------- */

static int write_version(void *ud, const struct lm_iceberg_meta *m,
			 const struct ice_version_desc *d, struct lm_err *err)
{
	struct lm_buf *out = ud;
	const struct lm_json *r = m->root;
	const struct lm_iceberg_snapshot *cs = m->has_current ?
		lm_iceberg_meta_snapshot(m, m->current_snapshot_id) : NULL;
	const struct lm_json *schemas = lm_json_get(r, "schemas");
	const struct lm_json *specs = lm_json_get(r, "partition-specs");
	struct jw w;

	jw_init(&w, out);
	jw_open(&w, '{');
	jw_key(&w, "version");
	jw_i64(&w, d->n);
	jw_key(&w, "status");
	jw_str(&w, "ok");
	jw_key(&w, "file");
	jw_str(&w, d->file);
	jw_key(&w, "file_size");
	jw_u64(&w, d->size);
	jw_kv_time(&w, "file_mtime_ms", "file_mtime", d->mtime_ms);
	jw_key(&w, "file_guessed");
	jw_bool(&w, d->guess);
	jw_key(&w, "gzipped");
	jw_bool(&w, m->gzipped);
	jw_key(&w, "format_version");
	jw_i64(&w, m->format_version);
	jw_key(&w, "table_uuid");
	jw_str(&w, m->table_uuid);
	jw_key(&w, "location");
	jw_str(&w, m->location);
	jw_kv_time(&w, "last_updated_ms", "last_updated", m->last_updated_ms);
	jw_key(&w, "last_sequence_number");
	jw_i64(&w, m->last_sequence_number);
	jw_kv_tree(&w, "current_schema_id", lm_json_get(r, "current-schema-id"));
	jw_key(&w, "schemas");
	if (schemas) {
		jw_tree(&w, schemas);
	} else {   /* v1: a single "schema" */
		jw_open(&w, '[');
		if (lm_json_get(r, "schema"))
			jw_tree(&w, lm_json_get(r, "schema"));
		jw_close(&w, ']');
	}
	jw_kv_tree(&w, "default_spec_id", lm_json_get(r, "default-spec-id"));
	jw_key(&w, "partition_specs");
	if (specs) {
		jw_tree(&w, specs);
	} else {   /* v1: the fields of the only spec */
		jw_open(&w, '[');
		if (lm_json_get(r, "partition-spec")) {
			jw_open(&w, '{');
			jw_key(&w, "spec-id");
			jw_i64(&w, 0);
			jw_kv_tree(&w, "fields", lm_json_get(r, "partition-spec"));
			jw_close(&w, '}');
		}
		jw_close(&w, ']');
	}
	jw_kv_tree(&w, "default_sort_order_id", lm_json_get(r, "default-sort-order-id"));
	jw_key(&w, "sort_orders");
	if (lm_json_get(r, "sort-orders"))
		jw_tree(&w, lm_json_get(r, "sort-orders"));
	else {
		jw_open(&w, '[');
		jw_close(&w, ']');
	}
	jw_key(&w, "properties");
	if (lm_json_get(r, "properties"))
		jw_tree(&w, lm_json_get(r, "properties"));
	else {
		jw_open(&w, '{');
		jw_close(&w, '}');
	}
	jw_key(&w, "current_snapshot_id");
	if (m->has_current)
		jw_i64(&w, m->current_snapshot_id);
	else
		jw_null(&w);
	jw_key(&w, "current_snapshot");
	if (cs)
		snapshot_obj(&w, cs);
	else
		jw_null(&w);
	jw_key(&w, "snapshots");
	jw_u64(&w, m->nsnapshots);
	jw_key(&w, "refs");
	jw_open(&w, '{');
	for (size_t i = 0; i < m->nrefs; i++) {
		jw_key(&w, m->refs[i].name);
		jw_open(&w, '{');
		jw_key(&w, "type");
		jw_str(&w, m->refs[i].is_tag ? "tag" : "branch");
		jw_key(&w, "snapshot_id");
		jw_i64(&w, m->refs[i].snapshot_id);
		jw_close(&w, '}');
	}
	jw_close(&w, '}');
	jw_key(&w, "refs_skipped");
	jw_u64(&w, m->refs_skipped);
	jw_close(&w, '}');
	return jw_finish(&w, err);
}

/* A refused version or snapshot: the reason, as JSON. */
static int write_refusal(struct lm_buf *out, const char *kind, int64_t id, const struct lm_err *why,
			 struct lm_err *err)
{
	struct jw w;

	lm_buf_reset(out);
	jw_init(&w, out);
	jw_open(&w, '{');
	jw_key(&w, kind);
	jw_i64(&w, id);
	jw_key(&w, "status");
	jw_str(&w, "refused");
	jw_key(&w, "reason");
	jw_str(&w, why->reason);
	jw_key(&w, "error");
	jw_str(&w, why->msg);
	jw_close(&w, '}');
	return jw_finish(&w, err);
}

/* ---------- snap-<id>.json ---------- */

struct snap_ctx {
	struct lm_buf *out;
	int64_t id;
	const struct lm_iceberg_scan *sc;
};

static const char *delete_kind(const struct lm_iceberg_file *f)
{
	if (f->dv)
		return "deletion-vector";
	return f->content == LM_ICEBERG_FILE_EQ_DELETES ? "equality-deletes" : "position-deletes";
}

static int write_snap(void *ud, const struct lm_iceberg_meta *m,
		      const struct ice_version_desc *d, struct lm_err *err)
{
	struct snap_ctx *c = ud;
	const struct lm_iceberg_scan *sc = c->sc;
	const struct lm_iceberg_snapshot *s = lm_iceberg_meta_snapshot(m, c->id);
	uint32_t *start = NULL, *order = NULL;
	uint64_t bytes = 0, dbytes = 0;
	int64_t records = 0;
	bool records_known = true;
	size_t affected = 0;
	struct jw w;
	int rc = 0;

	(void)d;
	/* the applies grouped by delete file (counting sort, stable: data order) */
	start = calloc(sc->ndeletes + 1, sizeof(*start));
	order = malloc((sc->napplies ? sc->napplies : 1) * sizeof(*order));
	if (!start || !order) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sc->napplies; i++)
		start[sc->applies[i].del + 1]++;
	for (size_t i = 0; i < sc->ndeletes; i++)
		start[i + 1] += start[i];
	{
		uint32_t *fill = calloc(sc->ndeletes + 1, sizeof(*fill));

		if (!fill) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < sc->napplies; i++) {
			uint32_t k = sc->applies[i].del;

			order[start[k] + fill[k]++] = (uint32_t)i;
		}
		free(fill);
	}
	for (size_t i = 0; i < sc->ndata; i++) {
		bytes += sc->data[i].size;
		if (sc->data[i].record_count < 0)
			records_known = false;
		else
			records += sc->data[i].record_count;
		if (sc->data[i].flags & LM_FILE_HAS_DV)
			affected++;
	}
	for (size_t i = 0; i < sc->ndeletes; i++)
		dbytes += sc->deletes[i].size;
	jw_init(&w, c->out);
	jw_open(&w, '{');
	jw_key(&w, "snapshot_id");
	jw_i64(&w, c->id);
	jw_key(&w, "status");
	jw_str(&w, "ok");
	jw_key(&w, "parent_snapshot_id");
	if (s && s->has_parent)
		jw_i64(&w, s->parent_id);
	else
		jw_null(&w);
	jw_key(&w, "sequence_number");
	jw_i64(&w, sc->seq);
	jw_kv_time(&w, "timestamp_ms", "timestamp", sc->timestamp_ms);
	jw_key(&w, "operation");
	jw_str(&w, s ? s->operation : NULL);
	jw_key(&w, "manifest_list");
	jw_str(&w, s ? s->manifest_list : NULL);
	jw_kv_tree(&w, "summary", s ? s->summary : NULL);
	jw_key(&w, "data_files");
	jw_u64(&w, sc->ndata);
	jw_key(&w, "data_bytes");
	jw_u64(&w, bytes);
	jw_key(&w, "data_records");
	if (records_known)
		jw_i64(&w, records);
	else
		jw_null(&w);
	jw_key(&w, "affected_data_files");
	jw_u64(&w, affected);
	jw_key(&w, "delete_files_count");
	jw_u64(&w, sc->ndeletes);
	jw_key(&w, "delete_bytes");
	jw_u64(&w, dbytes);
	jw_key(&w, "pairs");
	jw_u64(&w, sc->napplies);
	jw_key(&w, "pairs_truncated");
	jw_bool(&w, sc->applies_truncated);
	jw_key(&w, "delete_files");
	jw_open(&w, '[');
	for (size_t i = 0; i < sc->ndeletes && !w.rc; i++) {
		const struct lm_iceberg_file *f = &sc->deletes[i];

		jw_open(&w, '{');
		jw_key(&w, "path");
		jw_str(&w, f->path);
		jw_key(&w, "file_path");
		jw_str(&w, f->raw);
		jw_key(&w, "kind");
		jw_str(&w, delete_kind(f));
		jw_key(&w, "size");
		jw_u64(&w, f->size);
		jw_key(&w, "record_count");
		if (f->record_count >= 0)
			jw_i64(&w, f->record_count);
		else
			jw_null(&w);
		jw_key(&w, "sequence_number");
		jw_i64(&w, f->seq);
		jw_key(&w, "applies_to");
		jw_open(&w, '[');
		for (uint32_t k = start[i]; k < start[i + 1]; k++)
			jw_str(&w, sc->data[sc->applies[order[k]].data].path);
		jw_close(&w, ']');
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_close(&w, '}');
	rc = jw_finish(&w, err);
out:
	free(start);
	free(order);
	return rc;
}

static int read_snap(struct lm_table *t, int64_t id, struct lm_buf *out, bool *immutable,
		     struct lm_err *err)
{
	struct lm_iceberg_scan *sc = NULL;
	struct snap_ctx c = { .out = out, .id = id };
	char key[32];
	int rc;

	snprintf(key, sizeof(key), "s%" PRId64, id);
	rc = lm_iceberg_table_scan(t, key, &sc, err);
	if (rc && err && err->reason) {
		struct lm_err why = *err;

		*immutable = false;
		rc = write_refusal(out, "snapshot_id", id, &why, err);
		goto out;
	}
	if (rc)
		goto out;
	c.sc = sc;
	rc = ice_table_with_meta(t, false, 0, write_snap, &c, err);
	*immutable = rc == 0;
out:
	lm_iceberg_scan_free(sc);
	return rc;
}

/* ---------- ops ---------- */

/* "v<N>.json" / "snap-<id>.json": the number, or EINVAL. */
static int parse_name(const char *path, const char *prefix, int64_t *out)
{
	size_t pl = strlen(prefix), n = strlen(path);

	if (n <= pl + 5 || strncmp(path, prefix, pl) || strcmp(path + n - 5, ".json"))
		return EINVAL;
	if (path[pl] == '+' || (path[pl] == '0' && n - pl - 5 > 1))
		return EINVAL;   /* one spelling per name */
	return lm_parse_i64n(path + pl, n - pl - 5, out);
}

static int push(struct lm_info_entry **v, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct lm_info_entry *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return ENOMEM;
		*v = nv;
		*cap = nc;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*n)++;
	return 0;
}

int ice_info_list(struct lm_table *t, const char *dir, struct lm_info_entry **out, size_t *n,
		  struct lm_err *err)
{
	struct ice_version_desc *vers = NULL;
	struct lm_table_view *views = NULL;
	struct lm_info_entry *v = NULL;
	size_t nvers = 0, nviews = 0, k = 0, cap = 0;
	char name[LM_VIEW_NAME];
	int rc;

	*out = NULL;
	*n = 0;
	if (*dir) {
		rc = lm_err_set(err, ENOENT, "table %s: @info/%s: no such directory",
				lm_table_name(t), dir);
		goto out;
	}
	rc = ice_table_versions(t, &vers, &nvers, err);
	if (!rc)
		rc = lm_table_views(t, &views, &nviews, err);
	if (rc)
		goto out;
	rc = push(&v, &k, &cap, "history.json");
	for (size_t i = 0; i < nvers && !rc; i++) {
		snprintf(name, sizeof(name), "v%" PRId64 ".json", vers[i].n);
		rc = push(&v, &k, &cap, name);
	}
	for (size_t i = 0; i < nviews && !rc; i++) {
		if (views[i].is_link || strncmp(views[i].name, "@snap-", 6))
			continue;
		snprintf(name, sizeof(name), "%s.json", views[i].name + 1);
		rc = push(&v, &k, &cap, name);
	}
	if (rc) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	free(v);
	free(views);
	free(vers);
	return rc;
}

int ice_info_read(struct lm_table *t, const char *path, struct lm_buf *out, bool *immutable,
		  struct lm_err *err)
{
	struct lm_info_entry *names = NULL;
	size_t nnames = 0;
	bool listed = false;
	int64_t x;
	int rc;

	*immutable = false;
	/* only names the directory lists */
	rc = ice_info_list(t, "", &names, &nnames, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nnames && !listed; i++)
		listed = !strcmp(names[i].name, path);
	if (!listed) {
		rc = lm_err_set(err, ENOENT, "table %s: @info/%s: no such file", lm_table_name(t), path);
		goto out;
	}
	if (!strcmp(path, "history.json")) {
		rc = read_history(t, out, err);
	} else if (!parse_name(path, "v", &x)) {
		rc = ice_table_with_meta(t, true, x, write_version, out, err);
		*immutable = rc == 0;
		if (rc && err && err->reason) {
			struct lm_err why = *err;

			rc = write_refusal(out, "version", x, &why, err);
		}
	} else if (!parse_name(path, "snap-", &x)) {
		rc = read_snap(t, x, out, immutable, err);
	} else {
		rc = lm_err_set(err, ENOENT, "table %s: @info/%s: no such file", lm_table_name(t), path);
	}
out:
	free(names);
	return rc;
}
