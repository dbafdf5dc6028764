/* delta_actions.c — pure decoder of Delta commit files (newline-delimited JSON
 * actions) into struct lm_delta_commit, and of _delta_log file names.
 * Owns: action structs (strings in the commit's arena). May call: cJSON, util.
 *
 * cJSON keeps numbers as double: integers are accepted only when exactly
 * representable (|n| < 2^53), otherwise the line is refused — never rounded. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_scan.h"
#include "lm/delta.h"
#include "lm/util.h"

#define MAX_LINE ((size_t)256 << 20)

void lm_delta_commit_init(struct lm_delta_commit *c)
{
	memset(c, 0, sizeof(*c));
	lm_arena_init(&c->arena);
	c->commit_info.timestamp = -1;
	c->commit_info.in_commit_timestamp = -1;
	c->metadata.created_time = -1;
	c->checkpoint_version = -1;
}

void lm_delta_commit_free(struct lm_delta_commit *c)
{
	free(c->adds);
	free(c->removes);
	free(c->sidecars);
	lm_arena_free(&c->arena);
	lm_delta_commit_init(c);
}

static int get_i64(const cJSON *it, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(it))
		return EINVAL;
	d = it->valuedouble;
	if (!isfinite(d) || d != floor(d) || fabs(d) >= 9007199254740992.0)
		return ERANGE;
	*out = (int64_t)d;
	return 0;
}

/* Optional integer field: absent → dflt; present but wrong → error. */
static int opt_i64(const cJSON *obj, const char *name, int64_t dflt, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!it || cJSON_IsNull(it)) {
		*out = dflt;
		return 0;
	}
	return get_i64(it, out);
}

static const char *opt_str(struct lm_arena *a, const cJSON *obj, const char *name,
			   int *bad)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!it || cJSON_IsNull(it))
		return NULL;
	if (!cJSON_IsString(it)) {
		*bad = 1;
		return NULL;
	}
	return lm_arena_strdup(a, it->valuestring);
}

static int str_list(struct lm_arena *a, const cJSON *arr, const char ***out, size_t *n)
{
	const cJSON *it;
	size_t i = 0, cnt;
	const char **v;

	if (!arr || cJSON_IsNull(arr)) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (!cJSON_IsArray(arr))
		return EINVAL;
	cnt = (size_t)cJSON_GetArraySize(arr);
	v = lm_arena_alloc(a, (cnt + 1) * sizeof(*v));
	if (!v)
		return ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return EINVAL;
		v[i] = lm_arena_strdup(a, it->valuestring);
		if (!v[i])
			return ENOMEM;
		i++;
	}
	v[i] = NULL;
	*out = v;
	*n = i;
	return 0;
}

static int push(struct lm_delta_file_action **v, size_t *n, size_t *cap,
		struct lm_delta_file_action **slot)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct lm_delta_file_action *p = realloc(*v, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		*v = p;
		*cap = nc;
	}
	*slot = &(*v)[(*n)++];
	memset(*slot, 0, sizeof(**slot));
	return 0;
}

/* deletionVector → unique id "<storageType><pathOrInlineDv>[@<offset>]". */
static int parse_dv(struct lm_arena *a, const cJSON *dv, struct lm_delta_file_action *fa,
		    const char **why)
{
	const cJSON *st, *pd;
	int64_t off, card, sz;
	char offs[32] = "";
	size_t n;
	char *id;

	if (!dv || cJSON_IsNull(dv))
		return 0;
	if (!cJSON_IsObject(dv)) {
		*why = "deletionVector is not an object";
		return EINVAL;
	}
	st = cJSON_GetObjectItemCaseSensitive(dv, "storageType");
	pd = cJSON_GetObjectItemCaseSensitive(dv, "pathOrInlineDv");
	if (!cJSON_IsString(st) || !cJSON_IsString(pd)) {
		*why = "deletionVector lacks storageType/pathOrInlineDv";
		return EINVAL;
	}
	if (opt_i64(dv, "offset", -1, &off) || opt_i64(dv, "cardinality", -1, &card) ||
	    opt_i64(dv, "sizeInBytes", -1, &sz)) {
		*why = "deletionVector offset/cardinality is not an exact integer";
		return EINVAL;
	}
	if (off >= 0)
		snprintf(offs, sizeof(offs), "@%lld", (long long)off);
	n = strlen(st->valuestring) + strlen(pd->valuestring) + strlen(offs) + 1;
	id = lm_arena_alloc(a, n);
	if (!id)
		return ENOMEM;
	snprintf(id, n, "%s%s%s", st->valuestring, pd->valuestring, offs);
	fa->dv_id = id;
	fa->dv_cardinality = card;
	fa->flags |= LM_DELTA_HAS_DV;
	fa->dv_storage = st->valuestring[0] && !st->valuestring[1] ? st->valuestring[0] : '?';
	fa->dv_data = lm_arena_strdup(a, pd->valuestring);
	if (!fa->dv_data)
		return ENOMEM;
	fa->dv_offset = off;
	fa->dv_size = sz;
	return 0;
}

static int parse_file_action(struct lm_delta_commit *c, const cJSON *o, bool is_add,
			     const char **why)
{
	struct lm_delta_file_action *fa;
	const cJSON *path, *dc;
	int rc;

	if (!cJSON_IsObject(o)) {
		*why = is_add ? "add is not an object" : "remove is not an object";
		return EINVAL;
	}
	path = cJSON_GetObjectItemCaseSensitive(o, "path");
	if (!cJSON_IsString(path) || !path->valuestring[0]) {
		*why = is_add ? "add without a path" : "remove without a path";
		return EINVAL;
	}
	rc = is_add ? push(&c->adds, &c->n_adds, &c->cap_adds, &fa)
		    : push(&c->removes, &c->n_removes, &c->cap_removes, &fa);
	if (rc)
		return rc;
	fa->path = lm_arena_strdup(&c->arena, path->valuestring);
	if (!fa->path)
		return ENOMEM;
	fa->dv_cardinality = -1;
	if (opt_i64(o, "size", -1, &fa->size)) {
		*why = "size is not an exact integer";
		return EINVAL;
	}
	if (opt_i64(o, is_add ? "modificationTime" : "deletionTimestamp", -1, &fa->mtime_ms)) {
		*why = is_add ? "modificationTime is not an exact integer"
			      : "deletionTimestamp is not an exact integer";
		return EINVAL;
	}
	if (is_add && fa->size < 0) {
		*why = "add without a valid size";
		return EINVAL;
	}
	dc = cJSON_GetObjectItemCaseSensitive(o, "dataChange");
	if (cJSON_IsTrue(dc))
		fa->flags |= LM_DELTA_DATA_CHANGE;
	return parse_dv(&c->arena, cJSON_GetObjectItemCaseSensitive(o, "deletionVector"), fa,
			why);
}

static int parse_protocol(struct lm_delta_commit *c, const cJSON *o, const char **why)
{
	struct lm_delta_protocol *p = &c->protocol;
	int64_t r, w;

	if (!cJSON_IsObject(o) || get_i64(cJSON_GetObjectItemCaseSensitive(o, "minReaderVersion"), &r) ||
	    get_i64(cJSON_GetObjectItemCaseSensitive(o, "minWriterVersion"), &w) || r < 0 ||
	    w < 0 || r > 1000000 || w > 1000000) {
		*why = "protocol without valid minReaderVersion/minWriterVersion";
		return EINVAL;
	}
	memset(p, 0, sizeof(*p));
	p->min_reader = (int)r;
	p->min_writer = (int)w;
	if (str_list(&c->arena, cJSON_GetObjectItemCaseSensitive(o, "readerFeatures"),
		     &p->reader_features, &p->n_reader_features) ||
	    str_list(&c->arena, cJSON_GetObjectItemCaseSensitive(o, "writerFeatures"),
		     &p->writer_features, &p->n_writer_features)) {
		*why = "protocol features are not a list of strings";
		return EINVAL;
	}
	c->has_protocol = true;
	return 0;
}

static int parse_metadata(struct lm_delta_commit *c, const cJSON *o, const char **why)
{
	struct lm_delta_metadata *m = &c->metadata;
	const cJSON *conf;
	int bad = 0;

	if (!cJSON_IsObject(o)) {
		*why = "metaData is not an object";
		return EINVAL;
	}
	memset(m, 0, sizeof(*m));
	m->id = opt_str(&c->arena, o, "id", &bad);
	m->schema_string = opt_str(&c->arena, o, "schemaString", &bad);
	if (bad || !m->id) {
		*why = "metaData without a string id";
		return EINVAL;
	}
	if (str_list(&c->arena, cJSON_GetObjectItemCaseSensitive(o, "partitionColumns"),
		     &m->partition_columns, &m->n_partition_columns)) {
		*why = "metaData.partitionColumns is not a list of strings";
		return EINVAL;
	}
	if (opt_i64(o, "createdTime", -1, &m->created_time))
		m->created_time = -1;
	conf = cJSON_GetObjectItemCaseSensitive(o, "configuration");
	if (cJSON_IsObject(conf)) {
		char *s = cJSON_PrintUnformatted(conf);

		if (!s)
			return ENOMEM;
		m->configuration_json = lm_arena_strdup(&c->arena, s);
		cJSON_free(s);
	}
	c->has_metadata = true;
	return 0;
}

static int parse_sidecar(struct lm_delta_commit *c, const cJSON *o, const char **why)
{
	const cJSON *path = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "path") : NULL;
	struct lm_delta_sidecar *sc;

	if (!cJSON_IsString(path) || !path->valuestring[0]) {
		*why = "sidecar without a path";
		return EINVAL;
	}
	if (c->n_sidecars == c->cap_sidecars) {
		size_t nc = c->cap_sidecars ? c->cap_sidecars * 2 : 8;
		struct lm_delta_sidecar *p = realloc(c->sidecars, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		c->sidecars = p;
		c->cap_sidecars = nc;
	}
	sc = &c->sidecars[c->n_sidecars];
	sc->path = lm_arena_strdup(&c->arena, path->valuestring);
	if (!sc->path)
		return ENOMEM;
	if (opt_i64(o, "sizeInBytes", -1, &sc->size) ||
	    opt_i64(o, "modificationTime", -1, &sc->mtime_ms)) {
		*why = "sidecar sizeInBytes/modificationTime is not an exact integer";
		return EINVAL;
	}
	c->n_sidecars++;
	return 0;
}

static int parse_checkpoint_metadata(struct lm_delta_commit *c, const cJSON *o,
				     const char **why)
{
	int64_t v;

	if (!cJSON_IsObject(o) || opt_i64(o, "version", -1, &v)) {
		*why = "checkpointMetadata without a valid version";
		return EINVAL;
	}
	c->has_checkpoint_metadata = true;
	c->checkpoint_version = v;
	return 0;
}

static int parse_commit_info(struct lm_delta_commit *c, const cJSON *o)
{
	struct lm_delta_commit_info *ci = &c->commit_info;
	const cJSON *op;
	char *s;

	if (!cJSON_IsObject(o))
		return 0;   /* commitInfo is free-form; a reader must not fail on it */
	if (opt_i64(o, "timestamp", -1, &ci->timestamp))
		ci->timestamp = -1;
	if (opt_i64(o, "inCommitTimestamp", -1, &ci->in_commit_timestamp))
		ci->in_commit_timestamp = -1;
	op = cJSON_GetObjectItemCaseSensitive(o, "operation");
	if (cJSON_IsString(op))
		ci->operation = lm_arena_strdup(&c->arena, op->valuestring);
	s = cJSON_PrintUnformatted(o);
	if (!s)
		return ENOMEM;
	ci->json = lm_arena_strdup(&c->arena, s);
	cJSON_free(s);
	c->has_commit_info = true;
	return 0;
}

/* ---- fast path: a line holding only an add or a remove ----
 * Most lines of a big log are adds/removes with large stats strings; building a cJSON
 * tree of each costs most of the replay. This scanner reads just the fields a listing
 * needs and validates (but does not build) the rest. Anything unusual — escapes in
 * field names, other actions, a missing field, malformed JSON — returns "not handled"
 * and the line goes through cJSON, which then decides and words the error. */

struct fstr {
	const char *raw;
	size_t len;
	bool esc, set;
};

static bool fast_str(struct lm_jscan *s, struct fstr *f)
{
	if (f->set)
		return lm_jscan_skip(s);   /* duplicate key: the first one counts (as cJSON) */
	if (lm_jscan_null(s))
		return true;
	if (!lm_jscan_string(s, &f->raw, &f->len, &f->esc))
		return false;
	f->set = true;
	return true;
}

static bool fast_int(struct lm_jscan *s, int64_t *v, bool *set)
{
	if (*set)
		return lm_jscan_skip(s);
	if (lm_jscan_null(s))
		return true;
	*set = true;
	/* Same range as the cJSON path (exact in a double), so a line means the same
	 * whichever path reads it. */
	return lm_jscan_int(s, v) && *v > -9007199254740992LL && *v < 9007199254740992LL;
}

static bool key_is(const char *raw, size_t len, const char *k)
{
	return strlen(k) == len && memcmp(raw, k, len) == 0;
}

static char *fstr_dup(struct lm_arena *a, const struct fstr *f)
{
	char *d = lm_arena_alloc(a, f->len + 1);

	if (!d)
		return NULL;
	if (!f->esc) {
		memcpy(d, f->raw, f->len);
		d[f->len] = '\0';
		return d;
	}
	return lm_jscan_unescape(f->raw, f->len, d) == (size_t)-1 ? NULL : d;
}

bool lm_delta_fast_path = true;

/* 0 handled, 1 not handled, ENOMEM. */
static int fast_line(struct lm_delta_commit *c, const char *line, size_t n)
{
	struct lm_jscan s = { .p = line, .end = line + n };
	struct fstr path = { 0 }, st = { 0 }, pd = { 0 };
	int64_t size = -1, mtime = -1, off = -1, card = -1, dvsz = -1;
	bool size_set = false, mtime_set = false, off_set = false, card_set = false;
	bool dvsz_set = false;
	bool dc = false, dc_set = false, dv = false, dv_seen = false, is_add;
	struct lm_delta_file_action *fa;
	const char *raw;
	size_t len;
	bool esc;
	int rc;

	if (!lm_jscan_eat(&s, '{') || !lm_jscan_string(&s, &raw, &len, &esc) || esc)
		return 1;
	if (key_is(raw, len, "add"))
		is_add = true;
	else if (key_is(raw, len, "remove"))
		is_add = false;
	else
		return 1;
	if (!lm_jscan_eat(&s, ':') || !lm_jscan_eat(&s, '{'))
		return 1;
	if (!lm_jscan_eat(&s, '}')) {
		do {
			bool ok;

			if (!lm_jscan_string(&s, &raw, &len, &esc) || esc || !lm_jscan_eat(&s, ':'))
				return 1;
			if (key_is(raw, len, "path"))
				ok = fast_str(&s, &path);
			else if (key_is(raw, len, "size"))
				ok = fast_int(&s, &size, &size_set);
			else if (key_is(raw, len, is_add ? "modificationTime" : "deletionTimestamp"))
				ok = fast_int(&s, &mtime, &mtime_set);
			else if (key_is(raw, len, "dataChange") && !dc_set)
				ok = (dc_set = true) && (lm_jscan_null(&s) || lm_jscan_bool(&s, &dc));
			else if (key_is(raw, len, "deletionVector") && !dv_seen) {
				dv_seen = true;
				if (lm_jscan_null(&s)) {
					ok = true;
				} else {
					if (!lm_jscan_eat(&s, '{'))
						return 1;
					dv = true;
					ok = true;
					if (!lm_jscan_eat(&s, '}')) {
						do {
							if (!lm_jscan_string(&s, &raw, &len, &esc) || esc ||
							    !lm_jscan_eat(&s, ':'))
								return 1;
							if (key_is(raw, len, "storageType"))
								ok = fast_str(&s, &st);
							else if (key_is(raw, len, "pathOrInlineDv"))
								ok = fast_str(&s, &pd);
							else if (key_is(raw, len, "offset"))
								ok = fast_int(&s, &off, &off_set);
							else if (key_is(raw, len, "cardinality"))
								ok = fast_int(&s, &card, &card_set);
							else if (key_is(raw, len, "sizeInBytes"))
								ok = fast_int(&s, &dvsz, &dvsz_set);
							else
								ok = lm_jscan_skip(&s);
						} while (ok && lm_jscan_eat(&s, ','));
						if (!ok || !lm_jscan_eat(&s, '}'))
							return 1;
					}
				}
			} else {
				ok = lm_jscan_skip(&s);
			}
			if (!ok)
				return 1;
		} while (lm_jscan_eat(&s, ','));
		if (!lm_jscan_eat(&s, '}'))
			return 1;
	}
	if (!lm_jscan_eat(&s, '}'))
		return 1;
	lm_jscan_peek(&s);
	if (s.p != s.end)
		return 1;   /* text after the object (a NUL byte too) */
	if (!path.set || !path.len || (is_add && size < 0) || (dv && (!st.set || !pd.set)))
		return 1;   /* let the slow path word the refusal */
	rc = is_add ? push(&c->adds, &c->n_adds, &c->cap_adds, &fa)
		    : push(&c->removes, &c->n_removes, &c->cap_removes, &fa);
	if (rc)
		return rc;
	fa->path = fstr_dup(&c->arena, &path);
	fa->size = size;
	fa->mtime_ms = mtime;
	fa->dv_cardinality = -1;
	fa->flags = dc ? LM_DELTA_DATA_CHANGE : 0;
	if (!fa->path || !fa->path[0]) {
		/* a bad escape (or no memory): undo; the slow path refuses or reports it */
		if (is_add)
			c->n_adds--;
		else
			c->n_removes--;
		return 1;
	}
	if (dv) {
		char *a = fstr_dup(&c->arena, &st), *b = fstr_dup(&c->arena, &pd);
		char offs[32] = "";
		size_t idn;
		char *id;

		if (!a || !b) {
			if (is_add)
				c->n_adds--;
			else
				c->n_removes--;
			return 1;
		}
		if (off >= 0)
			snprintf(offs, sizeof(offs), "@%lld", (long long)off);
		idn = strlen(a) + strlen(b) + strlen(offs) + 1;
		id = lm_arena_alloc(&c->arena, idn);
		if (!id)
			return ENOMEM;
		snprintf(id, idn, "%s%s%s", a, b, offs);
		fa->dv_id = id;
		fa->dv_cardinality = card;
		fa->flags |= LM_DELTA_HAS_DV;
		fa->dv_storage = a[0] && !a[1] ? a[0] : '?';
		fa->dv_data = b;
		fa->dv_offset = off;
		fa->dv_size = dvsz;
	}
	return 0;
}

/* "\u0000" would end a cJSON string early and silently shorten a path: refuse the line
 * (an escaped backslash followed by "u0000" is refused too — rare, and safe). */
static bool has_nul_escape(const char *line, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++)
		if (line[i] == '\\' && line[i + 1] == 'u' && line[i + 2] == '0' && line[i + 3] == '0' &&
		    line[i + 4] == '0' && line[i + 5] == '0')
			return true;
	return false;
}

static int parse_line(struct lm_delta_commit *c, const char *line, size_t n, const char **why)
{
	cJSON *root = NULL, *it;
	const char *end = NULL;
	int rc = 0;

	if (has_nul_escape(line, n)) {
		*why = "a string holds \\u0000";
		return EINVAL;
	}
	root = cJSON_ParseWithLengthOpts(line, n, &end, 0);
	if (!root) {
		*why = "malformed JSON";
		return EINVAL;
	}
	/* cJSON stops after the first value: anything but blanks after it is an error. */
	while (end && end < line + n && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (!end || end != line + n) {
		*why = "malformed JSON (text after the object)";
		rc = EINVAL;
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		*why = "line is not a JSON object";
		rc = EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const char *k = it->string;

		if (!strcmp(k, "add"))
			rc = parse_file_action(c, it, true, why);
		else if (!strcmp(k, "remove"))
			rc = parse_file_action(c, it, false, why);
		else if (!strcmp(k, "protocol"))
			rc = parse_protocol(c, it, why);
		else if (!strcmp(k, "metaData"))
			rc = parse_metadata(c, it, why);
		else if (!strcmp(k, "commitInfo"))
			rc = parse_commit_info(c, it);
		else if (!strcmp(k, "cdc"))
			c->n_cdc++;
		else if (!strcmp(k, "txn"))
			c->n_txn++;
		else if (!strcmp(k, "domainMetadata"))
			c->n_domain++;
		else if (!strcmp(k, "checkpointMetadata"))
			rc = parse_checkpoint_metadata(c, it, why);
		else if (!strcmp(k, "sidecar"))
			rc = parse_sidecar(c, it, why);
		else
			c->n_other++;
		if (rc)
			break;
	}
out:
	cJSON_Delete(root);
	return rc;
}

int lm_delta_commit_parse(const char *buf, size_t len, struct lm_delta_commit *out,
			  struct lm_err *err)
{
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t n = end - pos;
		const char *why = NULL;
		int rc;

		lineno++;
		while (n && (buf[pos + n - 1] == '\r' || buf[pos + n - 1] == ' ' ||
			     buf[pos + n - 1] == '\t'))
			n--;
		if (n > MAX_LINE)
			return lm_err_set(err, LM_ETOOBIG, "line %zu: longer than %zu bytes", lineno,
					  MAX_LINE);
		if (n) {
			rc = lm_delta_fast_path ? fast_line(out, buf + pos, n) : 1;
			if (rc == 1)
				rc = parse_line(out, buf + pos, n, &why);
			if (rc == ENOMEM)
				return lm_err_set(err, ENOMEM, "line %zu: out of memory", lineno);
			if (rc)
				return lm_err_set(err, LM_EFORMAT, "line %zu: %s", lineno,
						  why ? why : "invalid action");
		}
		pos = end + 1;
	}
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

void lm_delta_log_name_parse(const char *name, struct lm_delta_log_name *out)
{
	size_t len = strlen(name);
	const char *rest;

	memset(out, 0, sizeof(*out));
	out->kind = LM_DELTA_LOG_OTHER;
	out->version = -1;
	if (!strcmp(name, "_last_checkpoint")) {
		out->kind = LM_DELTA_LOG_LAST_CHECKPOINT;
		return;
	}
	if (len < 21 || !all_digits(name, 20) || name[20] != '.')
		return;
	if (lm_parse_i64n(name, 20, &out->version))
		return;
	rest = name + 21;
	if (!strcmp(rest, "json")) {
		out->kind = LM_DELTA_LOG_COMMIT;
	} else if (!strcmp(rest, "crc")) {
		out->kind = LM_DELTA_LOG_CRC;
	} else if (!strcmp(rest, "checkpoint.parquet")) {
		out->kind = LM_DELTA_LOG_CHECKPOINT;
	} else if (strlen(rest) == 20 + 15 && all_digits(rest, 20) &&
		   !strcmp(rest + 20, ".compacted.json")) {
		if (!lm_parse_i64n(rest, 20, &out->version2))
			out->kind = LM_DELTA_LOG_COMPACTION;
	} else if (!strncmp(rest, "checkpoint.", 11)) {
		const char *t = rest + 11;
		size_t tl = strlen(t);
		int64_t p, np;

		if (tl == 10 + 1 + 10 + 8 && all_digits(t, 10) && t[10] == '.' &&
		    all_digits(t + 11, 10) && !strcmp(t + 21, ".parquet") &&
		    !lm_parse_i64n(t, 10, &p) && !lm_parse_i64n(t + 11, 10, &np) && p >= 1 &&
		    np >= 1 && p <= np && np < 1000000) {
			out->kind = LM_DELTA_LOG_CHECKPOINT_PART;
			out->part = (int)p;
			out->nparts = (int)np;
		} else if (tl > 5 && !strcmp(t + tl - 5, ".json")) {
			out->kind = LM_DELTA_LOG_CHECKPOINT_V2;
		} else if (tl > 8 && !strcmp(t + tl - 8, ".parquet")) {
			out->kind = LM_DELTA_LOG_CHECKPOINT_V2;
			out->parquet = true;
		}
	}
	if (out->kind == LM_DELTA_LOG_OTHER)
		out->version = -1;
}

bool lm_delta_reader_feature_supported(const char *f)
{
	/* Features that do not change which files a version holds, or that this reader
	 * handles: deletionVectors (files stay listed and are flagged; @info decodes the
	 * vectors), v2Checkpoint (read), columnMapping (names in @info), inCommitTimestamp
	 * (timestamp lookups), catalogManaged (refused when _staged_commits/ exists).
	 * docs/SEMANTICS.md "Delta reader features" is the table. */
	static const char *ok[] = {
		"columnMapping", "deletionVectors", "timestampNtz", "typeWidening",
		"typeWidening-preview", "v2Checkpoint", "vacuumProtocolCheck", "variantType",
		"variantType-preview", "variantShredding", "variantShredding-preview", "domainMetadata",
		"icebergCompatV1", "icebergCompatV2", "inCommitTimestamp", "appendOnly",
		"invariants", "checkConstraints", "changeDataFeed", "generatedColumns",
		"identityColumns", "rowTracking", "clustering", "allowColumnDefaults",
		"geospatial", "catalogManaged", "catalogOwned", "catalogOwned-preview",
		NULL
	};

	for (int i = 0; ok[i]; i++)
		if (!strcmp(f, ok[i]))
			return true;
	/* icebergCompatV<n>: writer-only features of every generation */
	if (!strncmp(f, "icebergCompatV", 14) && f[14] >= '1' && f[14] <= '9' &&
	    all_digits(f + 14, strlen(f + 14)))
		return true;
	return false;
}
