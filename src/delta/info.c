/* info.c — the Delta driver's @info files, generated on read:
 *   history.json            DESCRIBE HISTORY: per commit (newest first) its time by the
 *                           time rule, operation, parameters, metrics, engine, files
 *                           added/removed (history.c)
 *   vN.json                 version N: status (or the refusal), commit time, protocol and
 *                           features, schema with logical and physical names (column
 *                           mapping), partition columns, file count, total bytes, the
 *                           files with deletion vectors and their deleted-row counts,
 *                           how it was built, which versions are reconstructible
 *   vN/deleted_rows.csv     file,row_index for every row a deletion vector of version N
 *                           deletes (an anti-join input, see docs/SEMANTICS.md)
 *   orphans.json, removed.json, missing.json
 *                           forensics (forensics.c): files never referenced (and
 *                           "recent" ones, younger than an hour), removed but present,
 *                           referenced but absent, with the versions and times why
 * Version files never change (immutable, cached here, small LRU); history.json and the
 * forensics reports may (re-generated on every read).
 * Owns struct lm_delta_info_cache. May call: delta/table, delta/history, delta/dv,
 * snapshot, util, cJSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/util.h"

#define CACHE_SLOTS 16
#define MAX_INFO_BYTES ((size_t)512 << 20)

struct centry {
	char *path;
	char *data;
	size_t len;
	uint64_t used;
};

struct lm_delta_info_cache {
	struct centry e[CACHE_SLOTS];
	uint64_t tick;
};

void lm_delta_info_free(struct lm_delta_table *t)
{
	if (!t->info)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(t->info->e[i].path);
		free(t->info->e[i].data);
	}
	free(t->info);
	t->info = NULL;
}

static bool cache_get(struct lm_delta_table *t, const char *path, struct lm_buf *out, int *rc)
{
	if (!t->info)
		return false;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct centry *e = &t->info->e[i];

		if (e->path && !strcmp(e->path, path)) {
			e->used = ++t->info->tick;
			*rc = lm_buf_append(out, e->data, e->len);
			return true;
		}
	}
	return false;
}

static void cache_put(struct lm_delta_table *t, const char *path, const char *data, size_t len)
{
	struct centry *victim;

	if (!t->info) {
		t->info = calloc(1, sizeof(*t->info));
		if (!t->info)
			return;
	}
	victim = &t->info->e[0];
	for (int i = 1; i < CACHE_SLOTS; i++)
		if (t->info->e[i].used < victim->used)
			victim = &t->info->e[i];
	free(victim->path);
	free(victim->data);
	victim->path = strdup(path);
	victim->data = malloc(len + 1);
	if (!victim->path || !victim->data) {
		free(victim->path);
		free(victim->data);
		memset(victim, 0, sizeof(*victim));
		return;
	}
	memcpy(victim->data, data, len);
	victim->len = len;
	victim->used = ++t->info->tick;
}

/* "v12.json" → 12, kind 1; "v12/deleted_rows.csv" → kind 2; "v12" → kind 3. */
static int parse_path(const char *p, int64_t *v)
{
	const char *q;
	int64_t x;

	if (p[0] != 'v' || p[1] < '0' || p[1] > '9')
		return 0;
	for (q = p + 1; *q >= '0' && *q <= '9'; q++)
		;
	if ((q - p > 2 && p[1] == '0') || lm_parse_i64n(p + 1, (size_t)(q - p - 1), &x))
		return 0;
	*v = x;
	if (!strcmp(q, ".json"))
		return 1;
	if (!strcmp(q, "/deleted_rows.csv"))
		return 2;
	if (!*q)
		return 3;
	return 0;
}

static ssize_t shown_index(struct lm_delta_table *t, int64_t v)
{
	ssize_t i = lm_delta_log_find(&t->log, v);

	return i >= 0 && lm_delta_shown(&t->log, (size_t)i) ? i : -1;
}

int lm_delta_info_list(struct lm_table *base, const char *dir, struct lm_info_entry **out,
		       size_t *n, struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	struct lm_info_entry *v = NULL;
	size_t k = 0;
	int64_t ver;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = lm_delta_refresh_locked(t, err)))
		goto out;
	if (!*dir) {
		v = calloc(2 * t->log.n + 4, sizeof(*v));
		if (!v) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		snprintf(v[k++].name, sizeof(v->name), "history.json");
		for (size_t i = 0; i < t->log.n; i++) {
			if (!lm_delta_shown(&t->log, i))
				continue;
			snprintf(v[k].name, sizeof(v->name), "v%lld.json", (long long)t->log.v[i].version);
			k++;
			snprintf(v[k].name, sizeof(v->name), "v%lld", (long long)t->log.v[i].version);
			v[k].is_dir = true;
			k++;
		}
		snprintf(v[k++].name, sizeof(v->name), "missing.json");
		snprintf(v[k++].name, sizeof(v->name), "orphans.json");
		snprintf(v[k++].name, sizeof(v->name), "removed.json");
	} else if (parse_path(dir, &ver) == 3 && shown_index(t, ver) >= 0) {
		v = calloc(1, sizeof(*v));
		if (!v) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		snprintf(v[k++].name, sizeof(v->name), "deleted_rows.csv");
	} else {
		rc = lm_err_set(err, ENOENT, "table %s: no @info/%s", t->base.name, dir);
		goto out;
	}
	*out = v;
	*n = k;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---------------------------------------------------------------- vN.json */

static const char *conf_str(const cJSON *conf, const char *k)
{
	const cJSON *it = conf ? cJSON_GetObjectItemCaseSensitive(conf, k) : NULL;

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* A Delta schema type (string or object) → our description. */
static cJSON *describe_type(const cJSON *type);

static cJSON *describe_field(const cJSON *f)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(f, "metadata");
	const cJSON *phys = md ? cJSON_GetObjectItemCaseSensitive(md, "delta.columnMapping.physicalName") : NULL;
	const cJSON *id = md ? cJSON_GetObjectItemCaseSensitive(md, "delta.columnMapping.id") : NULL;
	const cJSON *nullable = cJSON_GetObjectItemCaseSensitive(f, "nullable");
	cJSON *o = cJSON_CreateObject(), *ty;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "");
	cJSON_AddStringToObject(o, "physical_name",
				cJSON_IsString(phys) ? phys->valuestring
						     : cJSON_IsString(name) ? name->valuestring : "");
	if (cJSON_IsNumber(id))
		cJSON_AddNumberToObject(o, "field_id", id->valuedouble);
	if (cJSON_IsBool(nullable))
		cJSON_AddBoolToObject(o, "nullable", cJSON_IsTrue(nullable));
	ty = describe_type(cJSON_GetObjectItemCaseSensitive(f, "type"));
	if (ty)
		cJSON_AddItemToObject(o, "type", ty);
	if (md && cJSON_GetObjectItemCaseSensitive(md, "delta.typeChanges"))
		cJSON_AddItemToObject(o, "type_changes",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(md, "delta.typeChanges"), true));
	return o;
}

static cJSON *describe_type(const cJSON *type)
{
	const cJSON *kind;
	cJSON *o;

	if (cJSON_IsString(type))
		return cJSON_CreateString(type->valuestring);
	if (!cJSON_IsObject(type))
		return NULL;
	kind = cJSON_GetObjectItemCaseSensitive(type, "type");
	o = cJSON_CreateObject();
	if (!o || !cJSON_IsString(kind))
		return o;
	cJSON_AddStringToObject(o, "kind", kind->valuestring);
	if (!strcmp(kind->valuestring, "struct")) {
		cJSON *fields = cJSON_AddArrayToObject(o, "fields");
		const cJSON *f;

		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(type, "fields"))
			cJSON_AddItemToArray(fields, describe_field(f));
	} else if (!strcmp(kind->valuestring, "array")) {
		cJSON_AddItemToObject(o, "element",
				      describe_type(cJSON_GetObjectItemCaseSensitive(type, "elementType")));
	} else if (!strcmp(kind->valuestring, "map")) {
		cJSON_AddItemToObject(o, "key", describe_type(cJSON_GetObjectItemCaseSensitive(type, "keyType")));
		cJSON_AddItemToObject(o, "value",
				      describe_type(cJSON_GetObjectItemCaseSensitive(type, "valueType")));
	}
	return o;
}

/* The live entries with a deletion vector, sorted by path (malloc'd array). */
static int dv_entries(const struct lm_delta_replay *r, const struct lm_delta_entry ***out,
		      size_t *n)
{
	return lm_delta_replay_dv_list(r, out, n);
}

static void add_reconstructible(struct lm_delta_table *t, cJSON *o)
{
	cJSON *ranges = cJSON_AddArrayToObject(o, "reconstructible_versions");
	cJSON *cks = cJSON_AddArrayToObject(o, "checkpoints");
	int64_t lo = -1, prev = -2;

	for (size_t i = 0; i < t->log.n; i++) {
		int64_t v = t->log.v[i].version;

		if (t->log.v[i].has_checkpoint)
			cJSON_AddItemToArray(cks, cJSON_CreateNumber((double)v));
		if (!lm_delta_shown(&t->log, i))
			continue;
		if (v != prev + 1 && lo >= 0) {
			cJSON *r = cJSON_CreateArray();

			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)lo));
			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)prev));
			cJSON_AddItemToArray(ranges, r);
			lo = -1;
		}
		if (lo < 0)
			lo = v;
		prev = v;
	}
	if (lo >= 0) {
		cJSON *r = cJSON_CreateArray();

		cJSON_AddItemToArray(r, cJSON_CreateNumber((double)lo));
		cJSON_AddItemToArray(r, cJSON_CreateNumber((double)prev));
		cJSON_AddItemToArray(ranges, r);
	}
}

static int version_json(struct lm_delta_table *t, int64_t ver, ssize_t idx, struct lm_buf *out,
			struct lm_err *err)
{
	struct lm_snapshot *snap = NULL;
	const struct lm_delta_entry **dvs = NULL;
	cJSON *o = cJSON_CreateObject(), *proto = NULL, *md = NULL;
	const cJSON *conf = NULL, *schema = NULL;
	int64_t *ms = NULL;
	const char *how = NULL;
	struct lm_err e2;
	char *text = NULL, when[40];
	size_t ndv = 0;
	int rc;

	if (!o)
		return lm_err_set(err, ENOMEM, "out of memory");
	cJSON_AddStringToObject(o, "table", t->base.name);
	cJSON_AddNumberToObject(o, "version", (double)ver);
	rc = lm_delta_commit_times(t, (size_t)idx, (size_t)idx, &ms, &how, err);
	if (rc)
		goto out;
	lm_fmt_time_ms(ms[idx], when, sizeof(when));
	cJSON_AddStringToObject(o, "timestamp", when);
	cJSON_AddNumberToObject(o, "timestamp_ms", (double)ms[idx]);
	cJSON_AddStringToObject(o, "time_source", how);
	lm_err_init(&e2);
	rc = lm_delta_build_locked(t, ver, true, &snap, &e2);
	if (rc && !e2.reason) {
		*err = e2;
		goto out;
	}
	if (rc) {
		cJSON_AddStringToObject(o, "status", "refused");
		cJSON_AddStringToObject(o, "reason", e2.reason);
		cJSON_AddStringToObject(o, "message", e2.msg);
		rc = 0;
	} else {
		cJSON_AddStringToObject(o, "status", "ok");
	}
	if (t->replay.version == ver && t->replay.base >= 0) {
		cJSON *b = cJSON_AddObjectToObject(o, "built_from");

		cJSON_AddNumberToObject(b, "checkpoint", (double)t->replay.base);
		cJSON_AddNumberToObject(b, "commits_after", (double)(ver - t->replay.base));
	} else if (t->replay.version == ver) {
		cJSON *b = cJSON_AddObjectToObject(o, "built_from");

		cJSON_AddNullToObject(b, "checkpoint");
		cJSON_AddNumberToObject(b, "commits_after", (double)(ver + 1));
	}
	if (t->replay.version == ver && t->replay.protocol_json)
		proto = cJSON_Parse(t->replay.protocol_json);
	if (t->replay.version == ver && t->replay.metadata_json)
		md = cJSON_Parse(t->replay.metadata_json);
	if (proto) {
		const cJSON *rf = cJSON_GetObjectItemCaseSensitive(proto, "readerFeatures");
		const cJSON *f;
		cJSON *unsup = NULL;

		cJSON_AddItemToObject(o, "protocol", cJSON_Duplicate(proto, true));
		cJSON_ArrayForEach(f, rf) {
			if (cJSON_IsString(f) && !lm_delta_reader_feature_supported(f->valuestring)) {
				if (!unsup)
					unsup = cJSON_AddArrayToObject(o, "unsupported_reader_features");
				cJSON_AddItemToArray(unsup, cJSON_CreateString(f->valuestring));
			}
		}
	}
	if (md) {
		const cJSON *ss = cJSON_GetObjectItemCaseSensitive(md, "schemaString");
		const cJSON *pc = cJSON_GetObjectItemCaseSensitive(md, "partitionColumns");
		const char *mode;
		cJSON *pcs, *fields = NULL;
		const cJSON *c, *f;

		conf = cJSON_GetObjectItemCaseSensitive(md, "configuration");
		cJSON_AddItemToObject(o, "metadata_id",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(md, "id"), true));
		if (cJSON_GetObjectItemCaseSensitive(md, "createdTime"))
			cJSON_AddItemToObject(o, "created_time",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(md, "createdTime"), true));
		cJSON_AddItemToObject(o, "configuration", cJSON_Duplicate(conf, true));
		mode = conf_str(conf, "delta.columnMapping.mode");
		cJSON_AddStringToObject(o, "column_mapping_mode", mode ? mode : "none");
		{
			const char *ict = conf_str(conf, "delta.enableInCommitTimestamps");

			cJSON_AddBoolToObject(o, "in_commit_timestamps", ict && !strcasecmp(ict, "true"));
		}
		schema = cJSON_IsString(ss) ? cJSON_Parse(ss->valuestring) : NULL;
		if (schema) {
			cJSON *desc = describe_type(schema);

			if (desc) {
				fields = cJSON_GetObjectItemCaseSensitive(desc, "fields");
				cJSON_AddItemToObject(o, "schema", desc);
			}
		}
		pcs = cJSON_AddArrayToObject(o, "partition_columns");
		cJSON_ArrayForEach(c, pc) {
			cJSON *e = cJSON_CreateObject();
			const char *phys = cJSON_IsString(c) ? c->valuestring : "";

			cJSON_AddStringToObject(e, "name", cJSON_IsString(c) ? c->valuestring : "");
			cJSON_ArrayForEach(f, fields) {
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(f, "name");
				const cJSON *pn = cJSON_GetObjectItemCaseSensitive(f, "physical_name");

				if (cJSON_IsString(nm) && cJSON_IsString(c) && !strcmp(nm->valuestring, c->valuestring) &&
				    cJSON_IsString(pn))
					phys = pn->valuestring;
			}
			cJSON_AddStringToObject(e, "physical_name", phys);
			cJSON_AddItemToArray(pcs, e);
		}
	}
	if (snap) {
		uint64_t deleted = 0;
		bool unknown = false;
		cJSON *d, *list;

		cJSON_AddNumberToObject(o, "files", (double)snap->nfiles);
		cJSON_AddNumberToObject(o, "total_bytes", (double)snap->total_bytes);
		rc = dv_entries(&t->replay, &dvs, &ndv);
		if (rc) {
			rc = lm_err_set(err, rc, "out of memory");
			goto out;
		}
		d = cJSON_AddObjectToObject(o, "deletion_vectors");
		cJSON_AddNumberToObject(d, "files", (double)ndv);
		list = cJSON_AddArrayToObject(d, "list");
		for (size_t i = 0; i < ndv; i++) {
			cJSON *e = cJSON_CreateObject();
			char st[2] = { dvs[i]->dv->storage, 0 };

			cJSON_AddStringToObject(e, "path", dvs[i]->path);
			if (dvs[i]->deleted_rows >= 0) {
				cJSON_AddNumberToObject(e, "deleted_rows", (double)dvs[i]->deleted_rows);
				deleted += (uint64_t)dvs[i]->deleted_rows;
			} else {
				cJSON_AddNullToObject(e, "deleted_rows");
				unknown = true;
			}
			cJSON_AddStringToObject(e, "storage_type", st);
			cJSON_AddItemToArray(list, e);
		}
		if (unknown)
			cJSON_AddNullToObject(d, "deleted_rows");
		else
			cJSON_AddNumberToObject(d, "deleted_rows", (double)deleted);
		snprintf(when, sizeof(when), "v%lld/deleted_rows.csv", (long long)ver);
		cJSON_AddStringToObject(d, "rows_file", when);
	}
	add_reconstructible(t, o);
	text = cJSON_Print(o);
	if (!text) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_buf_append(out, text, strlen(text));
	if (!rc)
		rc = lm_buf_append(out, "\n", 1);
	if (rc)
		rc = lm_err_set(err, rc, "table %s: v%lld.json: %s", t->base.name, (long long)ver,
				lm_strerror(rc));
out:
	cJSON_free(text);
	cJSON_Delete((cJSON *)schema);
	cJSON_Delete(proto);
	cJSON_Delete(md);
	cJSON_Delete(o);
	free(dvs);
	free(ms);
	lm_snapshot_unref(snap);
	return rc;
}

/* ------------------------------------------------------ deleted_rows.csv */

static int csv_field(struct lm_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n"))
		return lm_buf_append(b, s, strlen(s));
	lm_buf_append(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			lm_buf_append(b, "\"", 1);
		lm_buf_append(b, p, 1);
	}
	return lm_buf_append(b, "\"", 1);
}

static int deleted_rows_csv(struct lm_delta_table *t, int64_t ver, struct lm_buf *out,
			    struct lm_err *err)
{
	const struct lm_delta_entry **dvs = NULL;
	size_t ndv = 0;
	int rc;

	rc = lm_delta_build_locked(t, ver, false, NULL, err);
	if (rc)
		return rc;
	rc = dv_entries(&t->replay, &dvs, &ndv);
	if (rc)
		return lm_err_set(err, rc, "out of memory");
	rc = lm_buf_append(out, "file,row_index\n", 15);
	for (size_t i = 0; !rc && i < ndv; i++) {
		uint64_t *rows = NULL;
		size_t n = 0;
		struct lm_err e2;

		lm_err_init(&e2);
		rc = lm_delta_dv_rows(t, dvs[i]->dv, dvs[i]->deleted_rows, &rows, &n, &e2);
		if (rc) {
			*err = e2;
			lm_err_prefix(err, "table %s: version %lld: file %s: ", t->base.name,
				      (long long)ver, dvs[i]->path);
			if (rc == ENOENT || rc == LM_EFORMAT || rc == LM_EESCAPE ||
			    rc == LM_EUNSUPPORTED || rc == LM_ETOOBIG)
				lm_err_reason(err, "invalid-deletion-vector");
			break;
		}
		for (size_t k = 0; !rc && k < n; k++) {
			rc = csv_field(out, dvs[i]->path);
			if (!rc)
				rc = lm_buf_printf(out, ",%llu\n", (unsigned long long)rows[k]);
		}
		free(rows);
		if (rc)
			rc = lm_err_set(err, rc, "table %s: v%lld/deleted_rows.csv: %s", t->base.name,
					(long long)ver, lm_strerror(rc));
	}
	free(dvs);
	return rc;
}

int lm_delta_info_read(struct lm_table *base, const char *path, struct lm_buf *out,
		       bool *immutable, struct lm_err *err)
{
	struct lm_delta_table *t = (struct lm_delta_table *)base;
	struct lm_buf tmp;
	int64_t ver = -1;
	ssize_t idx;
	int kind, rc = 0;

	lm_buf_init(&tmp, MAX_INFO_BYTES);
	*immutable = false;
	if (!strcmp(path, "orphans.json") || !strcmp(path, "removed.json") ||
	    !strcmp(path, "missing.json")) {
		char which[16];

		/* a full scan that takes the lock itself (through the table interface) */
		snprintf(which, sizeof(which), "%.*s", (int)(strlen(path) - 5), path);
		rc = lm_delta_forensics_json(base, which, out, err);
		lm_buf_free(&tmp);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	if (!strcmp(path, "history.json")) {
		rc = lm_delta_history_json(t, out, err);
		goto out;
	}
	kind = parse_path(path, &ver);
	if (kind != 1 && kind != 2) {
		rc = lm_err_set(err, ENOENT, "table %s: no @info/%s", t->base.name, path);
		goto out;
	}
	if (!t->listed && (rc = lm_delta_refresh_locked(t, err)))
		goto out;
	idx = shown_index(t, ver);
	if (idx < 0) {
		rc = lm_delta_refresh_locked(t, err);
		if (!rc)
			idx = shown_index(t, ver);
		if (!rc && idx < 0)
			rc = lm_err_set(err, ENOENT, "table %s: no version %lld", t->base.name,
					(long long)ver);
		if (rc)
			goto out;
	}
	*immutable = true;
	if (cache_get(t, path, out, &rc))
		goto out;
	rc = kind == 1 ? version_json(t, ver, idx, &tmp, err) : deleted_rows_csv(t, ver, &tmp, err);
	if (rc)
		goto out;
	cache_put(t, path, tmp.data ? tmp.data : "", tmp.len);
	rc = lm_buf_append(out, tmp.data ? tmp.data : "", tmp.len);
	if (rc)
		rc = lm_err_set(err, rc, "table %s: @info/%s: %s", t->base.name, path,
				lm_strerror(rc));
out:
	pthread_mutex_unlock(&t->lock);
	lm_buf_free(&tmp);
	return rc;
}
