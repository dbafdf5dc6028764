/* delta_checkpoint.c — pure decoders for Delta checkpoints: the rows of a checkpoint
 * (or sidecar) Parquet file, projected on the columns a file listing needs, turned into
 * the same struct lm_delta_commit a JSON commit decodes to; and _last_checkpoint with
 * its optional MD5 checksum over the canonical form (PROTOCOL.md "Last Checkpoint File
 * Schema", "JSON checksum").
 * Owns nothing beyond the call. May call: the Parquet decoder (format/parquet), cJSON,
 * json_scan, OpenSSL (MD5), util. No I/O.
 *
 * Projection: add.{path,size,modificationTime,dataChange,deletionVector.*},
 * protocol.*, metaData.{id,schemaString,partitionColumns,configuration,createdTime},
 * sidecar.{path,sizeInBytes,modificationTime}, checkpointMetadata.version. Remove rows
 * are tombstones for VACUUM and never change which files are live when a replay starts
 * from a checkpoint, so their columns are not read; neither are stats, tags, partition
 * values, txn or domainMetadata. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "json_scan.h"
#include "lm/buf.h"
#include "lm/delta.h"
#include "lm/parquet.h"
#include "lm/util.h"

/* ------------------------------------------------------------------ plan */

enum kind { K_STR, K_INT, K_BOOL, K_LIST, K_MAP_KEY, K_MAP_VALUE };

static const struct {
	const char *path;
	enum kind kind;
} want[LM_DELTA_CK_NCOLS] = {
	[LM_DELTA_CK_ADD_PATH] = { "add.path", K_STR },
	[LM_DELTA_CK_ADD_SIZE] = { "add.size", K_INT },
	[LM_DELTA_CK_ADD_MTIME] = { "add.modificationTime", K_INT },
	[LM_DELTA_CK_ADD_DATA_CHANGE] = { "add.dataChange", K_BOOL },
	[LM_DELTA_CK_ADD_DV_STORAGE] = { "add.deletionVector.storageType", K_STR },
	[LM_DELTA_CK_ADD_DV_DATA] = { "add.deletionVector.pathOrInlineDv", K_STR },
	[LM_DELTA_CK_ADD_DV_OFFSET] = { "add.deletionVector.offset", K_INT },
	[LM_DELTA_CK_ADD_DV_SIZE] = { "add.deletionVector.sizeInBytes", K_INT },
	[LM_DELTA_CK_ADD_DV_CARD] = { "add.deletionVector.cardinality", K_INT },
	[LM_DELTA_CK_PROTO_READER] = { "protocol.minReaderVersion", K_INT },
	[LM_DELTA_CK_PROTO_WRITER] = { "protocol.minWriterVersion", K_INT },
	[LM_DELTA_CK_PROTO_RFEAT] = { "protocol.readerFeatures", K_LIST },
	[LM_DELTA_CK_PROTO_WFEAT] = { "protocol.writerFeatures", K_LIST },
	[LM_DELTA_CK_META_ID] = { "metaData.id", K_STR },
	[LM_DELTA_CK_META_SCHEMA] = { "metaData.schemaString", K_STR },
	[LM_DELTA_CK_META_PARTCOLS] = { "metaData.partitionColumns", K_LIST },
	[LM_DELTA_CK_META_CONF_KEY] = { "metaData.configuration", K_MAP_KEY },
	[LM_DELTA_CK_META_CONF_VALUE] = { "metaData.configuration", K_MAP_VALUE },
	[LM_DELTA_CK_META_CREATED] = { "metaData.createdTime", K_INT },
	[LM_DELTA_CK_SIDECAR_PATH] = { "sidecar.path", K_STR },
	[LM_DELTA_CK_SIDECAR_SIZE] = { "sidecar.sizeInBytes", K_INT },
	[LM_DELTA_CK_SIDECAR_MTIME] = { "sidecar.modificationTime", K_INT },
	[LM_DELTA_CK_CKMETA_VERSION] = { "checkpointMetadata.version", K_INT },
};

static bool type_ok(enum kind k, int type)
{
	switch (k) {
	case K_INT:
		return type == LM_PARQUET_INT32 || type == LM_PARQUET_INT64;
	case K_BOOL:
		return type == LM_PARQUET_BOOLEAN;
	default:
		return type == LM_PARQUET_BYTE_ARRAY;
	}
}

int lm_delta_ckpt_plan(const struct lm_parquet_meta *m, struct lm_delta_ckpt_plan *p,
		       struct lm_err *err)
{
	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		int col = -1, node, other;
		const struct lm_parquet_node *leaf;
		struct lm_err e2;
		int rc = 0;

		lm_err_init(&e2);
		switch (want[i].kind) {
		case K_LIST:
			node = lm_parquet_node_find(m, want[i].path);
			if (node >= 0)
				rc = lm_parquet_list_column(m, node, &col, &e2);
			break;
		case K_MAP_KEY:
		case K_MAP_VALUE:
			node = lm_parquet_node_find(m, want[i].path);
			if (node >= 0)
				rc = want[i].kind == K_MAP_KEY
					     ? lm_parquet_map_columns(m, node, &col, &other, &e2)
					     : lm_parquet_map_columns(m, node, &other, &col, &e2);
			break;
		default:
			col = lm_parquet_column_find(m, want[i].path);
			break;
		}
		if (rc)
			return lm_err_set(err, LM_EFORMAT, "checkpoint column %s: %s", want[i].path,
					  e2.msg);
		p->col[i] = col;
		if (col < 0)
			continue;
		leaf = &m->nodes[m->columns[col]];
		if (!type_ok(want[i].kind, leaf->type))
			return lm_err_set(err, LM_EFORMAT, "checkpoint column %s is %s, not %s",
					  want[i].path, lm_parquet_type_name(leaf->type),
					  want[i].kind == K_INT ? "INT32/INT64" :
					  want[i].kind == K_BOOL ? "BOOLEAN" : "BYTE_ARRAY");
		if ((want[i].kind == K_LIST || want[i].kind == K_MAP_KEY ||
		     want[i].kind == K_MAP_VALUE) ? leaf->rep_level != 1 : leaf->rep_level != 0)
			return lm_err_set(err, LM_EFORMAT,
					  "checkpoint column %s is nested %u repeated levels deep",
					  want[i].path, leaf->rep_level);
	}
	return 0;
}

/* ---------------------------------------------------------------- decode */

/* One decoded column and, for a flat one, the cursor into its dense values; for a list
 * or map (one repeated level), the cursor of fc_row. */
struct fcol {
	struct lm_parquet_column c;
	bool have;
	size_t k;
	size_t slot, row, val;         /* fc_row: the first slot of row `row`, its value */
};

/* A list/map column's levels checked as rows (the first slot starts a row, a slot that
 * continues one holds an entry, the values add up) without building them: the rows of
 * the actions are few and read in order (fc_row). *nrows: the rows found. */
static int fc_rows_check(const struct lm_parquet_column *c, size_t *nrows, struct lm_err *err)
{
	size_t n = c->num_levels, rows = 0, vals = 0;

	if (n && c->rep[0] != 0)
		return lm_err_set(err, LM_EFORMAT,
				  "parquet: column starts inside a row (repetition level %u)",
				  c->rep[0]);
	for (size_t i = 0; i < n; i++) {
		uint8_t d = c->def ? c->def[i] : c->max_def;

		rows += c->rep[i] == 0;
		if (c->rep[i] && d < c->elem_def)
			return lm_err_set(err, LM_EFORMAT,
					  "parquet: slot %zu continues a list but has no element "
					  "(definition level %u < %u)", i, d, c->elem_def);
		vals += d == c->max_def;
	}
	if (vals != c->num_values)
		return lm_err_set(err, LM_EFORMAT, "parquet: %zu values but levels account for %zu",
				  c->num_values, vals);
	*nrows = rows;
	return 0;
}

/* Row r of a list/map column (rows asked in increasing order): its slots [*b, *e), the
 * definition level of its first slot, the index of its first value. */
static void fc_row(struct fcol *f, size_t r, size_t *b, size_t *e, uint8_t *row_def,
		   size_t *val)
{
	const struct lm_parquet_column *c = &f->c;
	size_t n = c->num_levels, s;

	while (f->row < r && f->slot < n) {
		s = f->slot;
		do {
			f->val += (c->def ? c->def[s] : c->max_def) == c->max_def;
			s++;
		} while (s < n && c->rep[s] != 0);
		f->slot = s;
		f->row++;
	}
	s = f->slot;
	*b = s;
	*row_def = s < n ? (c->def ? c->def[s] : c->max_def) : 0;
	*val = f->val;
	if (s < n)
		do
			s++;
		while (s < n && c->rep[s] != 0);
	*e = s;
}

/* Row i of a flat column: true and *vi = its value index when it has a value. Must be
 * called for every row in order. */
static inline bool fc_next(struct fcol *f, size_t i, size_t *vi)
{
	if (!f->have)
		return false;
	if (f->c.def && f->c.def[i] != f->c.max_def)
		return false;
	*vi = f->k++;
	return true;
}

static inline int64_t fc_i64(const struct fcol *f, size_t vi)
{
	return f->c.type == LM_PARQUET_INT32 ? (int64_t)f->c.v.i32[vi] : f->c.v.i64[vi];
}

static char *fc_str(struct lm_arena *a, const struct fcol *f, size_t vi)
{
	size_t len;
	const uint8_t *p = lm_parquet_column_bytes(&f->c, vi, &len);

	if (memchr(p, '\0', len))
		return NULL;
	return lm_arena_strndup(a, (const char *)p, len);
}

/* The strings of list/map row r (entries that are null are skipped when skip_null,
 * else they make the call fail). *n = -1 when the list itself is null. */
static int fc_list(struct lm_arena *a, struct fcol *f, size_t r, uint8_t list_def,
		   const char ***out, ssize_t *n)
{
	size_t b, e, vi, cnt = 0;
	uint8_t rd;
	const char **v;

	*out = NULL;
	*n = -1;
	if (!f->have)
		return 0;
	fc_row(f, r, &b, &e, &rd, &vi);
	if (b >= e || rd < list_def)
		return 0;
	v = lm_arena_alloc(a, (e - b + 1) * sizeof(*v));
	if (!v)
		return ENOMEM;
	for (size_t i = b; i < e; i++) {
		uint8_t d = f->c.def ? f->c.def[i] : f->c.max_def;

		if (d < f->c.elem_def)
			continue;   /* an empty list's slot */
		if (d != f->c.max_def) {
			v[cnt++] = NULL;
			continue;
		}
		v[cnt] = fc_str(a, f, vi++);
		if (!v[cnt])
			return EINVAL;
		cnt++;
	}
	v[cnt] = NULL;
	*out = v;
	*n = (ssize_t)cnt;
	return 0;
}

static int push_add(struct lm_delta_commit *c, struct lm_delta_file_action **fa)
{
	if (c->n_adds == c->cap_adds) {
		size_t nc = c->cap_adds ? c->cap_adds * 2 : 1024;
		struct lm_delta_file_action *p = realloc(c->adds, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		c->adds = p;
		c->cap_adds = nc;
	}
	*fa = &c->adds[c->n_adds++];
	return 0;
}

static int push_sidecar(struct lm_delta_commit *c, struct lm_delta_sidecar **sc)
{
	if (c->n_sidecars == c->cap_sidecars) {
		size_t nc = c->cap_sidecars ? c->cap_sidecars * 2 : 8;
		struct lm_delta_sidecar *p = realloc(c->sidecars, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		c->sidecars = p;
		c->cap_sidecars = nc;
	}
	*sc = &c->sidecars[c->n_sidecars++];
	return 0;
}

static uint8_t node_def(const struct lm_parquet_meta *m, const char *path)
{
	int n = lm_parquet_node_find(m, path);

	return n >= 0 ? m->nodes[n].def_level : 0;
}

/* configuration map of row r → JSON object text in the arena. */
static int conf_json(struct lm_arena *a, struct fcol *k, struct fcol *v, size_t r,
		     uint8_t map_def, const char **out)
{
	cJSON *o = NULL;
	char *s = NULL;
	size_t b, e, kv, vb = 0, ve = 0, vv = 0;
	uint8_t rd, vrd;
	int rc = 0;

	*out = NULL;
	if (!k->have)
		return 0;
	fc_row(k, r, &b, &e, &rd, &kv);
	if (v->have) {
		fc_row(v, r, &vb, &ve, &vrd, &vv);
		if (vb != b || ve != e)
			return EINVAL;
	}
	if (b >= e || rd < map_def)
		return 0;
	o = cJSON_CreateObject();
	if (!o)
		return ENOMEM;
	for (size_t i = b; i < e; i++) {
		uint8_t kd = k->c.def ? k->c.def[i] : k->c.max_def;
		char *key = NULL, *val = NULL;
		cJSON *item;

		if (kd < k->c.elem_def)
			continue;   /* an empty map's slot */
		if (kd != k->c.max_def) {
			rc = EINVAL;
			goto out;
		}
		key = fc_str(a, k, kv++);
		if (v->have) {
			uint8_t vd = v->c.def ? v->c.def[i] : v->c.max_def;

			if (vd == v->c.max_def)
				val = fc_str(a, v, vv++);
		}
		if (!key) {
			rc = EINVAL;
			goto out;
		}
		item = val ? cJSON_CreateString(val) : cJSON_CreateNull();
		if (!item) {
			rc = ENOMEM;
			goto out;
		}
		cJSON_AddItemToObject(o, key, item);
	}
	s = cJSON_PrintUnformatted(o);
	if (!s) {
		rc = ENOMEM;
		goto out;
	}
	*out = lm_arena_strdup(a, s);
	if (!*out)
		rc = ENOMEM;
out:
	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

/* The column whose values say a row group holds the action column i belongs to (its
 * first, tiny, mandatory one), or -1. */
static int owner(int i)
{
	switch (i) {
	case LM_DELTA_CK_ADD_DV_DATA:
	case LM_DELTA_CK_ADD_DV_OFFSET:
	case LM_DELTA_CK_ADD_DV_SIZE:
	case LM_DELTA_CK_ADD_DV_CARD:
		return LM_DELTA_CK_ADD_DV_STORAGE;
	case LM_DELTA_CK_PROTO_WRITER:
	case LM_DELTA_CK_PROTO_RFEAT:
	case LM_DELTA_CK_PROTO_WFEAT:
		return LM_DELTA_CK_PROTO_READER;
	case LM_DELTA_CK_META_SCHEMA:
	case LM_DELTA_CK_META_PARTCOLS:
	case LM_DELTA_CK_META_CONF_KEY:
	case LM_DELTA_CK_META_CONF_VALUE:
	case LM_DELTA_CK_META_CREATED:
		return LM_DELTA_CK_META_ID;
	case LM_DELTA_CK_SIDECAR_SIZE:
	case LM_DELTA_CK_SIDECAR_MTIME:
		return LM_DELTA_CK_SIDECAR_PATH;
	default:
		return -1;
	}
}

static void *arena_block(void *ud, size_t n)
{
	return lm_arena_alloc(ud, n);
}

#define BAD(...) do { rc = lm_err_set(err, LM_EFORMAT, __VA_ARGS__); goto out; } while (0)

int lm_delta_ckpt_decode(const struct lm_parquet_meta *m, const struct lm_delta_ckpt_plan *p,
			 uint32_t rg, const uint8_t *const *chunks, const size_t *lens,
			 struct lm_delta_commit *out, struct lm_err *err)
{
	return lm_delta_ckpt_decode_to(m, p, rg, chunks, lens, NULL, out, err);
}

int lm_delta_ckpt_decode_to(const struct lm_parquet_meta *m, const struct lm_delta_ckpt_plan *p,
			    uint32_t rg, const uint8_t *const *chunks, const size_t *lens,
			    const struct lm_delta_ckpt_sink *sink, struct lm_delta_commit *out,
			    struct lm_err *err)
{
	/* add.path, by far the biggest column, is left in its decompressed pages (in the
	 * commit's arena); the other strings are few and copied. */
	const struct lm_parquet_read_opts inplace = { .alloc = arena_block, .alloc_ud = &out->arena };
	struct fcol f[LM_DELTA_CK_NCOLS];
	size_t nrows;
	uint8_t add_def, rfeat_def, wfeat_def, pcol_def, conf_def;
	int rc = 0;

	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		lm_parquet_column_init(&f[i].c);
		f[i].have = false;
		f[i].k = 0;
		f[i].slot = f[i].row = f[i].val = 0;
	}
	if (rg >= m->nrow_groups)
		return lm_err_set(err, EINVAL, "checkpoint: no row group %u", rg);
	nrows = (size_t)m->row_groups[rg].num_rows;
	add_def = node_def(m, "add");
	rfeat_def = node_def(m, "protocol.readerFeatures");
	wfeat_def = node_def(m, "protocol.writerFeatures");
	pcol_def = node_def(m, "metaData.partitionColumns");
	conf_def = node_def(m, "metaData.configuration");
	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		struct lm_err e2;
		int o = owner(i);

		if (p->col[i] < 0)
			continue;
		/* The columns of an action are read only where the row group holds one. */
		if (o >= 0 && (!f[o].have || f[o].c.num_values == 0))
			continue;
		if (m->row_groups[rg].chunks[p->col[i]].num_values == 0 && nrows)
			BAD("row group %u: column %s has no levels", rg, want[i].path);
		lm_err_init(&e2);
		rc = lm_parquet_column_read_ex(m, rg, (uint32_t)p->col[i], chunks[i], lens[i],
					       i == LM_DELTA_CK_ADD_PATH ? &inplace : NULL, &f[i].c,
					       &e2);
		if (rc) {
			rc = lm_err_set(err, rc == ENOMEM ? ENOMEM : rc, "column %s: %s",
					want[i].path, e2.msg);
			goto out;
		}
		f[i].have = true;
		if (f[i].c.max_rep == 0) {
			if (f[i].c.num_levels != nrows)
				BAD("row group %u: column %s has %zu levels for %zu rows", rg,
				    want[i].path, f[i].c.num_levels, nrows);
			continue;
		}
		if (f[i].c.max_rep > 1) {
			rc = lm_err_set(err, LM_EUNSUPPORTED,
					"column %s: parquet: rows of a column nested %u repeated levels deep",
					want[i].path, f[i].c.max_rep);
			goto out;
		}
		{
			size_t rows = 0;

			rc = fc_rows_check(&f[i].c, &rows, &e2);
			if (rc) {
				rc = lm_err_set(err, rc, "column %s: %s", want[i].path, e2.msg);
				goto out;
			}
			if (rows != nrows)
				BAD("row group %u: column %s has %zu rows, not %zu", rg, want[i].path,
				    rows, nrows);
		}
	}
	/* The optional columns of a row group that holds no value in them cost nothing. */
	for (int i = LM_DELTA_CK_ADD_MTIME; i <= LM_DELTA_CK_ADD_DV_CARD; i++)
		if (f[i].have && f[i].c.num_values == 0) {
			lm_parquet_column_free(&f[i].c);
			f[i].have = false;
		}

	if (sink && sink->begin) {
		/* one add per row with a path */
		rc = sink->begin(sink->ud, f[LM_DELTA_CK_ADD_PATH].have ?
				 f[LM_DELTA_CK_ADD_PATH].c.num_values : 0, err);
		if (rc)
			goto out;
	}
	for (size_t r = 0; r < nrows; r++) {
		size_t vi = 0, vsz = 0, vmt = 0, vdc = 0, vst = 0, vdd = 0, vof = 0, vds = 0, vca = 0;
		bool has_path = fc_next(&f[LM_DELTA_CK_ADD_PATH], r, &vi);

		if (has_path && f[LM_DELTA_CK_ADD_PATH].c.sv && vi + 8 < f[LM_DELTA_CK_ADD_PATH].c.num_values)
			/* a page is far bigger than a cache: the path the sink reads soon */
			__builtin_prefetch(f[LM_DELTA_CK_ADD_PATH].c.sv[vi + 8]);
		bool has_size = fc_next(&f[LM_DELTA_CK_ADD_SIZE], r, &vsz);
		bool has_mt = fc_next(&f[LM_DELTA_CK_ADD_MTIME], r, &vmt);
		bool has_dc = fc_next(&f[LM_DELTA_CK_ADD_DATA_CHANGE], r, &vdc);
		bool has_st = fc_next(&f[LM_DELTA_CK_ADD_DV_STORAGE], r, &vst);
		bool has_dd = fc_next(&f[LM_DELTA_CK_ADD_DV_DATA], r, &vdd);
		bool has_of = fc_next(&f[LM_DELTA_CK_ADD_DV_OFFSET], r, &vof);
		bool has_ds = fc_next(&f[LM_DELTA_CK_ADD_DV_SIZE], r, &vds);
		bool has_ca = fc_next(&f[LM_DELTA_CK_ADD_DV_CARD], r, &vca);
		struct lm_delta_file_action a, *fa = &a;
		const char *path;
		size_t plen;

		if (!has_path) {
			const struct fcol *pc = &f[LM_DELTA_CK_ADD_PATH];

			if (pc->have && pc->c.def && pc->c.def[r] >= add_def && add_def)
				BAD("row group %u, row %zu: add without a path", rg, r);
			continue;
		}
		if (!has_size)
			BAD("row group %u, row %zu: add without a size", rg, r);
		path = (const char *)lm_parquet_column_bytes(&f[LM_DELTA_CK_ADD_PATH].c, vi, &plen);
		if (!plen || memchr(path, '\0', plen))
			BAD("row group %u, row %zu: add with an empty or NUL-holding path", rg, r);
		memset(fa, 0, sizeof(*fa));
		fa->path = path;
		fa->size = fc_i64(&f[LM_DELTA_CK_ADD_SIZE], vsz);
		if (fa->size < 0)
			BAD("row group %u, row %zu: add with a negative size", rg, r);
		fa->mtime_ms = has_mt ? fc_i64(&f[LM_DELTA_CK_ADD_MTIME], vmt) : -1;
		fa->dv_cardinality = -1;
		fa->dv_offset = -1;
		fa->dv_size = -1;
		if (has_dc && f[LM_DELTA_CK_ADD_DATA_CHANGE].c.v.b[vdc])
			fa->flags |= LM_DELTA_DATA_CHANGE;
		if (has_st) {
			char *st = fc_str(&out->arena, &f[LM_DELTA_CK_ADD_DV_STORAGE], vst);
			char *dd = has_dd ? fc_str(&out->arena, &f[LM_DELTA_CK_ADD_DV_DATA], vdd)
					  : NULL;
			char offs[32] = "";
			size_t idn;
			char *id;

			if (!st || !dd)
				BAD("row group %u, row %zu: deletionVector lacks storageType/pathOrInlineDv",
				    rg, r);
			fa->dv_offset = has_of ? fc_i64(&f[LM_DELTA_CK_ADD_DV_OFFSET], vof) : -1;
			fa->dv_size = has_ds ? fc_i64(&f[LM_DELTA_CK_ADD_DV_SIZE], vds) : -1;
			fa->dv_cardinality = has_ca ? fc_i64(&f[LM_DELTA_CK_ADD_DV_CARD], vca) : -1;
			if (fa->dv_offset >= 0)
				snprintf(offs, sizeof(offs), "@%lld", (long long)fa->dv_offset);
			idn = strlen(st) + strlen(dd) + strlen(offs) + 1;
			id = lm_arena_alloc(&out->arena, idn);
			if (!id) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			snprintf(id, idn, "%s%s%s", st, dd, offs);
			fa->dv_id = id;
			fa->dv_storage = st[0] && !st[1] ? st[0] : '?';
			fa->dv_data = dd;
			fa->flags |= LM_DELTA_HAS_DV;
		}
		if (sink) {
			rc = sink->add(sink->ud, fa, plen, err);
			if (rc)
				goto out;
			continue;
		}
		rc = push_add(out, &fa);
		if (rc) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		*fa = a;
	}

	/* The few rows of the other actions: a second pass keeps the add loop tight. */
	for (size_t r = 0; r < nrows; r++) {
		size_t v1 = 0, v2 = 0, v3 = 0;

		if (fc_next(&f[LM_DELTA_CK_PROTO_READER], r, &v1)) {
			struct lm_delta_protocol *pr = &out->protocol;
			ssize_t n;

			if (!fc_next(&f[LM_DELTA_CK_PROTO_WRITER], r, &v2))
				BAD("row group %u, row %zu: protocol without minWriterVersion", rg, r);
			memset(pr, 0, sizeof(*pr));
			if (fc_i64(&f[LM_DELTA_CK_PROTO_READER], v1) < 0 ||
			    fc_i64(&f[LM_DELTA_CK_PROTO_READER], v1) > 1000000 ||
			    fc_i64(&f[LM_DELTA_CK_PROTO_WRITER], v2) < 0 ||
			    fc_i64(&f[LM_DELTA_CK_PROTO_WRITER], v2) > 1000000)
				BAD("row group %u, row %zu: protocol versions out of range", rg, r);
			pr->min_reader = (int)fc_i64(&f[LM_DELTA_CK_PROTO_READER], v1);
			pr->min_writer = (int)fc_i64(&f[LM_DELTA_CK_PROTO_WRITER], v2);
			rc = fc_list(&out->arena, &f[LM_DELTA_CK_PROTO_RFEAT], r, rfeat_def,
				     &pr->reader_features, &n);
			pr->n_reader_features = n > 0 ? (size_t)n : 0;
			if (!rc)
				rc = fc_list(&out->arena, &f[LM_DELTA_CK_PROTO_WFEAT], r, wfeat_def,
					     &pr->writer_features, &n);
			pr->n_writer_features = n > 0 ? (size_t)n : 0;
			if (rc == ENOMEM) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			if (rc)
				BAD("row group %u, row %zu: protocol features are not strings", rg, r);
			for (size_t i = 0; i < pr->n_reader_features; i++)
				if (!pr->reader_features[i])
					BAD("row group %u, row %zu: a null reader feature", rg, r);
			for (size_t i = 0; i < pr->n_writer_features; i++)
				if (!pr->writer_features[i])
					BAD("row group %u, row %zu: a null writer feature", rg, r);
			out->has_protocol = true;
		} else {
			fc_next(&f[LM_DELTA_CK_PROTO_WRITER], r, &v2);
		}
		if (fc_next(&f[LM_DELTA_CK_META_ID], r, &v1)) {
			struct lm_delta_metadata *md = &out->metadata;
			ssize_t n;
			bool has_schema = fc_next(&f[LM_DELTA_CK_META_SCHEMA], r, &v2);
			bool has_created = fc_next(&f[LM_DELTA_CK_META_CREATED], r, &v3);

			memset(md, 0, sizeof(*md));
			md->id = fc_str(&out->arena, &f[LM_DELTA_CK_META_ID], v1);
			md->schema_string = has_schema ? fc_str(&out->arena, &f[LM_DELTA_CK_META_SCHEMA], v2)
						       : NULL;
			md->created_time = has_created ? fc_i64(&f[LM_DELTA_CK_META_CREATED], v3) : -1;
			if (!md->id || (has_schema && !md->schema_string))
				BAD("row group %u, row %zu: metaData id/schemaString unreadable", rg, r);
			rc = fc_list(&out->arena, &f[LM_DELTA_CK_META_PARTCOLS], r, pcol_def,
				     &md->partition_columns, &n);
			md->n_partition_columns = n > 0 ? (size_t)n : 0;
			if (!rc)
				rc = conf_json(&out->arena, &f[LM_DELTA_CK_META_CONF_KEY],
					       &f[LM_DELTA_CK_META_CONF_VALUE], r, conf_def,
					       &md->configuration_json);
			if (rc == ENOMEM) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			if (rc)
				BAD("row group %u, row %zu: metaData partitionColumns/configuration malformed",
				    rg, r);
			for (size_t i = 0; i < md->n_partition_columns; i++)
				if (!md->partition_columns[i])
					BAD("row group %u, row %zu: a null partition column", rg, r);
			out->has_metadata = true;
		} else {
			fc_next(&f[LM_DELTA_CK_META_SCHEMA], r, &v2);
			fc_next(&f[LM_DELTA_CK_META_CREATED], r, &v3);
		}
		if (fc_next(&f[LM_DELTA_CK_SIDECAR_PATH], r, &v1)) {
			struct lm_delta_sidecar *sc;
			bool hs = fc_next(&f[LM_DELTA_CK_SIDECAR_SIZE], r, &v2);
			bool hm = fc_next(&f[LM_DELTA_CK_SIDECAR_MTIME], r, &v3);

			if (push_sidecar(out, &sc)) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			sc->path = fc_str(&out->arena, &f[LM_DELTA_CK_SIDECAR_PATH], v1);
			sc->size = hs ? fc_i64(&f[LM_DELTA_CK_SIDECAR_SIZE], v2) : -1;
			sc->mtime_ms = hm ? fc_i64(&f[LM_DELTA_CK_SIDECAR_MTIME], v3) : -1;
			if (!sc->path || !sc->path[0])
				BAD("row group %u, row %zu: sidecar with an empty path", rg, r);
		} else {
			fc_next(&f[LM_DELTA_CK_SIDECAR_SIZE], r, &v2);
			fc_next(&f[LM_DELTA_CK_SIDECAR_MTIME], r, &v3);
		}
		if (fc_next(&f[LM_DELTA_CK_CKMETA_VERSION], r, &v1)) {
			out->has_checkpoint_metadata = true;
			out->checkpoint_version = fc_i64(&f[LM_DELTA_CK_CKMETA_VERSION], v1);
		}
	}
	rc = 0;
out:
	for (int i = 0; i < LM_DELTA_CK_NCOLS; i++) {
		lm_parquet_column_free(&f[i].c);
	}
	return rc;
}

/* -------------------------------------------------------- _last_checkpoint */

struct pair {
	char *path;
	char *value;
};

struct canon {
	struct pair *v;
	size_t n, cap;
	int rc;
};

static void pct_append(struct lm_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			lm_buf_append(b, s + i, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			lm_buf_append(b, e, 3);
		}
	}
}

/* A JSON string body (raw, maybe escaped) → "\"<url-encoded>\"" appended to b. */
static bool quoted(struct lm_buf *b, const char *raw, size_t len, bool esc)
{
	char *d = NULL;

	if (esc) {
		d = malloc(len + 1);
		if (!d)
			return false;
		len = lm_jscan_unescape(raw, len, d);
		if (len == (size_t)-1) {
			free(d);
			return false;
		}
		raw = d;
	}
	lm_buf_append(b, "\"", 1);
	pct_append(b, raw, len);
	lm_buf_append(b, "\"", 1);
	free(d);
	return true;
}

static bool add_pair(struct canon *cn, const struct lm_buf *path, const char *val, size_t vn)
{
	if (cn->n == cn->cap) {
		size_t nc = cn->cap ? cn->cap * 2 : 64;
		struct pair *p = realloc(cn->v, nc * sizeof(*p));

		if (!p)
			return false;
		cn->v = p;
		cn->cap = nc;
	}
	cn->v[cn->n].path = lm_strndup(path->data ? path->data : "", path->len);
	cn->v[cn->n].value = lm_strndup(val, vn);
	if (!cn->v[cn->n].path || !cn->v[cn->n].value) {
		free(cn->v[cn->n].path);
		free(cn->v[cn->n].value);
		return false;
	}
	cn->n++;
	return true;
}

/* Walk one value at path; leaves become pairs. */
static bool walk(struct lm_jscan *s, struct lm_buf *path, struct canon *cn, bool top)
{
	char c = lm_jscan_peek(s);
	size_t plen = path->len;

	if (s->depth > 64)
		return false;
	if (c == '{' || c == '[') {
		bool obj = c == '{';
		size_t idx = 0;

		lm_jscan_eat(s, c);
		s->depth++;
		if (lm_jscan_eat(s, obj ? '}' : ']')) {
			s->depth--;
			return true;
		}
		do {
			struct lm_buf seg;
			bool skip = false;

			lm_buf_init(&seg, 0);
			if (obj) {
				const char *raw;
				size_t len;
				bool esc;

				if (!lm_jscan_string(s, &raw, &len, &esc) || !lm_jscan_eat(s, ':') ||
				    !quoted(&seg, raw, len, esc)) {
					lm_buf_free(&seg);
					return false;
				}
				skip = top && len == 8 && !esc && !memcmp(raw, "checksum", 8);
			} else {
				lm_buf_printf(&seg, "%zu", idx++);
			}
			if (skip) {
				lm_buf_free(&seg);
				if (!lm_jscan_skip(s))
					return false;
				continue;
			}
			path->len = plen;
			if (plen)
				lm_buf_append(path, "+", 1);
			lm_buf_append(path, seg.data ? seg.data : "", seg.len);
			lm_buf_free(&seg);
			if (!walk(s, path, cn, false))
				return false;
			path->len = plen;
		} while (lm_jscan_eat(s, ','));
		s->depth--;
		return lm_jscan_eat(s, obj ? '}' : ']');
	}
	if (c == '"') {
		const char *raw;
		size_t len;
		bool esc;
		struct lm_buf v;
		bool ok;

		if (!lm_jscan_string(s, &raw, &len, &esc))
			return false;
		lm_buf_init(&v, 0);
		ok = quoted(&v, raw, len, esc) && add_pair(cn, path, v.data ? v.data : "", v.len);
		lm_buf_free(&v);
		return ok;
	}
	{
		const char *b;

		lm_jscan_peek(s);
		b = s->p;
		if (!lm_jscan_skip(s))
			return false;
		return add_pair(cn, path, b, (size_t)(s->p - b));
	}
}

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->path, ((const struct pair *)b)->path);
}

/* MD5 hex of the canonical form of the JSON text (top-level "checksum" left out). */
static int canonical_md5(const char *buf, size_t len, char hex[33])
{
	struct lm_jscan s = { .p = buf, .end = buf + len };
	struct canon cn = { 0 };
	struct lm_buf path, text;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	int rc = 0;

	lm_buf_init(&path, 1 << 20);
	lm_buf_init(&text, 0);
	if (!walk(&s, &path, &cn, true) || lm_jscan_peek(&s) != 0) {
		rc = EINVAL;
		goto out;
	}
	if (cn.n)
		qsort(cn.v, cn.n, sizeof(*cn.v), pair_cmp);
	for (size_t i = 0; i < cn.n; i++) {
		if (i && !strcmp(cn.v[i].path, cn.v[i - 1].path)) {
			rc = EINVAL;   /* duplicate key */
			goto out;
		}
		if (i)
			lm_buf_append(&text, ",", 1);
		lm_buf_printf(&text, "%s=%s", cn.v[i].path, cn.v[i].value);
	}
	if (!EVP_Digest(text.data ? text.data : "", text.len, md, &ml, EVP_md5(), NULL) ||
	    ml != 16) {
		rc = EINVAL;
		goto out;
	}
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	for (size_t i = 0; i < cn.n; i++) {
		free(cn.v[i].path);
		free(cn.v[i].value);
	}
	free(cn.v);
	lm_buf_free(&path);
	lm_buf_free(&text);
	return rc;
}

static int get_int(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	double d;

	*out = -1;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it))
		return EINVAL;
	d = it->valuedouble;
	if (d != (double)(int64_t)d || d < 0 || d >= 9007199254740992.0)
		return EINVAL;
	*out = (int64_t)d;
	return 0;
}

int lm_delta_last_checkpoint_parse(const char *buf, size_t len,
				   struct lm_delta_last_checkpoint *out, struct lm_err *err)
{
	cJSON *root = NULL;
	const cJSON *ck, *v2;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->version = -1;
	if (!len)
		return lm_err_set(err, LM_EFORMAT, "_last_checkpoint is empty");
	root = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(root)) {
		rc = lm_err_set(err, LM_EFORMAT, "_last_checkpoint is not a JSON object");
		goto out;
	}
	if (get_int(root, "version", &out->version) || out->version < 0) {
		rc = lm_err_set(err, LM_EFORMAT, "_last_checkpoint has no valid version");
		goto out;
	}
	if (get_int(root, "parts", &out->parts) || get_int(root, "size", &out->size) ||
	    get_int(root, "numOfAddFiles", &out->num_add_files)) {
		rc = lm_err_set(err, LM_EFORMAT, "_last_checkpoint: parts/size/numOfAddFiles not integers");
		goto out;
	}
	v2 = cJSON_GetObjectItemCaseSensitive(root, "v2Checkpoint");
	if (cJSON_IsObject(v2)) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(v2, "path");

		if (cJSON_IsString(p))
			snprintf(out->v2_path, sizeof(out->v2_path), "%s", p->valuestring);
	}
	ck = cJSON_GetObjectItemCaseSensitive(root, "checksum");
	if (ck && !cJSON_IsNull(ck)) {
		char hex[33];

		if (!cJSON_IsString(ck)) {
			rc = lm_err_set(err, LM_EFORMAT, "_last_checkpoint: checksum is not a string");
			goto out;
		}
		if (canonical_md5(buf, len, hex)) {
			rc = lm_err_set(err, LM_EFORMAT, "_last_checkpoint: cannot canonicalize for the checksum");
			goto out;
		}
		if (strcasecmp(hex, ck->valuestring)) {
			rc = lm_err_set(err, LM_EFORMAT,
					"_last_checkpoint: checksum %s does not match its content (%s)",
					ck->valuestring, hex);
			goto out;
		}
		out->checksum_checked = true;
	}
out:
	cJSON_Delete(root);
	return rc;
}
