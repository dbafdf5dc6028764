/* footer.c — Parquet footer: magic, footer length, FileMetaData (Thrift compact), the
 * schema tree with definition/repetition levels, row groups and column chunks, and
 * the lookups on them (column by dotted path, map/list shapes).
 * Owns: struct lm_parquet_meta and its arena (every string and array of a meta lives
 * in one arena freed by lm_parquet_meta_free).
 * May call: thrift.c, libc, lm_err_set. No I/O. */
#include <errno.h>
#include <stdlib.h>

#include "pq.h"

#define PQ_THRIFT_DEPTH 32

/* ---- arena ---- */

struct pq_block {
	struct pq_block *next;
	size_t used, cap;
	max_align_t data[];
};

void *pq_arena_alloc(struct pq_arena *a, size_t n)
{
	struct pq_block *b = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		if (a->total + cap > a->limit || cap > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
		a->total += cap;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *pq_arena_strdup(struct pq_arena *a, const void *p, size_t n)
{
	char *s;

	if (n == SIZE_MAX)
		return NULL;
	s = pq_arena_alloc(a, n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

void pq_arena_free(struct pq_arena *a)
{
	while (a->head) {
		struct pq_block *b = a->head;

		a->head = b->next;
		free(b);
	}
	a->total = 0;
}

/* ---- options ---- */

void lm_parquet_opts_init(struct lm_parquet_opts *o)
{
	o->max_footer = (size_t)64 << 20;
	o->max_page = (size_t)256 << 20;
	o->max_values = (uint64_t)1 << 28;
	o->max_column_bytes = SIZE_MAX / 4 < ((size_t)1 << 31) ? SIZE_MAX / 4
							      : (size_t)2 << 30;
	o->max_schema = 100000;
	o->max_depth = 64;
}

static void opts_fill(struct lm_parquet_opts *dst, const struct lm_parquet_opts *src)
{
	struct lm_parquet_opts d;

	lm_parquet_opts_init(&d);
	*dst = src ? *src : d;
	if (!dst->max_footer)
		dst->max_footer = d.max_footer;
	if (!dst->max_page)
		dst->max_page = d.max_page;
	if (!dst->max_values)
		dst->max_values = d.max_values;
	if (!dst->max_column_bytes)
		dst->max_column_bytes = d.max_column_bytes;
	if (!dst->max_schema)
		dst->max_schema = d.max_schema;
	if (!dst->max_depth)
		dst->max_depth = d.max_depth;
	if (dst->max_depth > PQ_DEPTH_HARD)
		dst->max_depth = PQ_DEPTH_HARD;
	if (dst->max_page > INT32_MAX)
		dst->max_page = INT32_MAX;
}

/* ---- names ---- */

const char *lm_parquet_codec_name(int codec)
{
	static const char *const n[] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
					 "BROTLI", "LZ4", "ZSTD", "LZ4_RAW" };

	return codec >= 0 && codec < 8 ? n[codec] : "unknown codec";
}

const char *lm_parquet_type_name(int type)
{
	static const char *const n[] = { "BOOLEAN", "INT32", "INT64", "INT96",
					 "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY" };

	if (type == LM_PARQUET_GROUP)
		return "group";
	return type >= 0 && type < 8 ? n[type] : "unknown type";
}

const char *lm_parquet_encoding_name(int enc)
{
	static const char *const n[] = { "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE",
					 "BIT_PACKED", "DELTA_BINARY_PACKED",
					 "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
					 "RLE_DICTIONARY", "BYTE_STREAM_SPLIT", "ALP" };

	return enc >= 0 && enc < 11 ? n[enc] : "unknown encoding";
}

/* ---- FileMetaData parsing ---- */

struct selem {
	const uint8_t *name;
	size_t name_len;
	int32_t type, type_length, repetition, num_children, converted, scale, precision;
	int32_t field_id, logical;
	bool has_type, has_rep, has_children, has_name;
};

struct chunk_tmp {
	const uint8_t *path;     /* path_in_schema list header inside the footer */
	int32_t type;
};

struct rg_tmp {
	uint32_t n;
	struct chunk_tmp *c;
};

struct parse {
	struct pq_thrift t;
	struct pq_arena *arena;
	struct lm_parquet_meta *m;
	const struct lm_parquet_opts *o;
	struct selem *el;
	uint32_t nel;
	bool have_schema, have_rgs, have_rows, have_version;
	struct rg_tmp *rgt;
	uint32_t nrgt;
	const uint8_t *fbuf, *fend;
};

#define EXPECT(ty, want, name)                                   \
	do {                                                     \
		rc = pq_t_expect(&ps->t, (ty), (want), (name));  \
		if (rc)                                          \
			goto out;                                \
	} while (0)

static int nomem(struct parse *ps)
{
	if (ps->arena->total + 65536 > ps->arena->limit)
		return lm_err_set(ps->t.err, LM_ETOOBIG,
				  "parquet footer: decoded metadata exceeds %zu bytes",
				  ps->arena->limit);
	return lm_err_set(ps->t.err, ENOMEM, "parquet footer: out of memory");
}

static int read_logical(struct parse *ps, int32_t *logical)
{
	int16_t last = 0, id;
	uint8_t ty;
	int rc;

	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		if (ty == PQ_T_STRUCT && id > 0 && *logical == 0)
			*logical = id;
		rc = pq_t_skip(&ps->t, ty);
		if (rc)
			break;
	}
	pq_t_leave(&ps->t);
	return rc;
}

static int read_schema_element(struct parse *ps, struct selem *e)
{
	int16_t last = 0, id;
	uint8_t ty;
	int rc;

	memset(e, 0, sizeof(*e));
	e->num_children = -1;
	e->converted = LM_PARQUET_CT_NONE;
	e->type_length = e->scale = e->precision = e->field_id = -1;
	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "SchemaElement.type");
			rc = pq_t_i32(&ps->t, &e->type);
			e->has_type = true;
			break;
		case 2:
			EXPECT(ty, PQ_T_I32, "SchemaElement.type_length");
			rc = pq_t_i32(&ps->t, &e->type_length);
			break;
		case 3:
			EXPECT(ty, PQ_T_I32, "SchemaElement.repetition_type");
			rc = pq_t_i32(&ps->t, &e->repetition);
			e->has_rep = true;
			break;
		case 4:
			EXPECT(ty, PQ_T_BINARY, "SchemaElement.name");
			rc = pq_t_binary(&ps->t, &e->name, &e->name_len);
			e->has_name = true;
			break;
		case 5:
			EXPECT(ty, PQ_T_I32, "SchemaElement.num_children");
			rc = pq_t_i32(&ps->t, &e->num_children);
			e->has_children = true;
			break;
		case 6:
			EXPECT(ty, PQ_T_I32, "SchemaElement.converted_type");
			rc = pq_t_i32(&ps->t, &e->converted);
			break;
		case 7:
			EXPECT(ty, PQ_T_I32, "SchemaElement.scale");
			rc = pq_t_i32(&ps->t, &e->scale);
			break;
		case 8:
			EXPECT(ty, PQ_T_I32, "SchemaElement.precision");
			rc = pq_t_i32(&ps->t, &e->precision);
			break;
		case 9:
			EXPECT(ty, PQ_T_I32, "SchemaElement.field_id");
			rc = pq_t_i32(&ps->t, &e->field_id);
			break;
		case 10:
			EXPECT(ty, PQ_T_STRUCT, "SchemaElement.logicalType");
			rc = read_logical(ps, &e->logical);
			break;
		default:
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && !e->has_name)
		rc = pq_t_fail(&ps->t, "schema element without a name");
out:
	pq_t_leave(&ps->t);
	return rc;
}

/* A FileMetaData field that must be a list of structs and may appear once: check the
 * type, mark it seen, and read the list header (element count in *n). */
static int once_struct_list(struct parse *ps, uint8_t ty, bool *seen, const char *what,
			    uint32_t *n)
{
	uint8_t et;
	int rc = pq_t_expect(&ps->t, ty, PQ_T_LIST, what);

	if (rc)
		return rc;
	if (*seen)
		return pq_t_fail(&ps->t, "%s given twice", what);
	*seen = true;
	rc = pq_t_list(&ps->t, &et, n);
	if (rc)
		return rc;
	if (et != PQ_T_STRUCT)
		return pq_t_fail(&ps->t, "%s is not a list of structs", what);
	return 0;
}

static int read_schema(struct parse *ps, uint8_t ty)
{
	uint32_t n;
	int rc = once_struct_list(ps, ty, &ps->have_schema, "FileMetaData.schema", &n);

	if (rc)
		goto out;
	if (n == 0) {
		rc = pq_t_fail(&ps->t, "empty schema");
		goto out;
	}
	if (n > ps->o->max_schema) {
		rc = lm_err_set(ps->t.err, LM_ETOOBIG,
				"parquet footer: schema has %u elements, more than the cap %u", n,
				ps->o->max_schema);
		goto out;
	}
	ps->el = calloc(n, sizeof(*ps->el));
	if (!ps->el) {
		rc = lm_err_set(ps->t.err, ENOMEM, "parquet footer: out of memory");
		goto out;
	}
	ps->nel = n;
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = read_schema_element(ps, &ps->el[i]);
out:
	return rc;
}

static int read_column_meta(struct parse *ps, struct lm_parquet_chunk *ch, struct chunk_tmp *ct,
			    uint32_t rg, uint32_t ci)
{
	int16_t last = 0, id;
	uint8_t ty;
	bool has_type = false, has_path = false, has_codec = false, has_nv = false;
	bool has_tcs = false, has_dpo = false;
	int rc;

	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "ColumnMetaData.type");
			rc = pq_t_i32(&ps->t, &ct->type);
			has_type = true;
			break;
		case 3:
			EXPECT(ty, PQ_T_LIST, "ColumnMetaData.path_in_schema");
			ct->path = ps->t.p;
			rc = pq_t_skip(&ps->t, ty);
			has_path = true;
			break;
		case 4:
			EXPECT(ty, PQ_T_I32, "ColumnMetaData.codec");
			rc = pq_t_i32(&ps->t, &ch->codec);
			has_codec = true;
			break;
		case 5:
			EXPECT(ty, PQ_T_I64, "ColumnMetaData.num_values");
			rc = pq_t_i64(&ps->t, &ch->num_values);
			has_nv = true;
			break;
		case 6:
			EXPECT(ty, PQ_T_I64, "ColumnMetaData.total_uncompressed_size");
			rc = pq_t_i64(&ps->t, &ch->total_uncompressed_size);
			break;
		case 7:
			EXPECT(ty, PQ_T_I64, "ColumnMetaData.total_compressed_size");
			rc = pq_t_i64(&ps->t, &ch->total_compressed_size);
			has_tcs = true;
			break;
		case 9:
			EXPECT(ty, PQ_T_I64, "ColumnMetaData.data_page_offset");
			rc = pq_t_i64(&ps->t, &ch->data_page_offset);
			has_dpo = true;
			break;
		case 11:
			EXPECT(ty, PQ_T_I64, "ColumnMetaData.dictionary_page_offset");
			rc = pq_t_i64(&ps->t, &ch->dictionary_page_offset);
			break;
		default:
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (rc)
		goto out;
	if (!has_type || !has_path || !has_codec || !has_nv || !has_tcs || !has_dpo) {
		rc = pq_t_fail(&ps->t,
			       "row group %u column %u: ColumnMetaData lacks a required field "
			       "(type, path_in_schema, codec, num_values, "
			       "total_compressed_size or data_page_offset)", rg, ci);
		goto out;
	}
	if (ch->num_values < 0 || ch->total_compressed_size < 0 || ch->data_page_offset < 0 ||
	    ch->total_uncompressed_size < 0)
		rc = pq_t_fail(&ps->t, "row group %u column %u: negative size, count or offset",
			       rg, ci);
out:
	pq_t_leave(&ps->t);
	return rc;
}

static int read_column_chunk(struct parse *ps, struct lm_parquet_chunk *ch, struct chunk_tmp *ct,
			     uint32_t rg, uint32_t ci)
{
	int16_t last = 0, id;
	uint8_t ty;
	bool has_meta = false;
	const uint8_t *bp;
	size_t bn;
	int rc;

	ch->dictionary_page_offset = -1;
	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_BINARY, "ColumnChunk.file_path");
			rc = pq_t_binary(&ps->t, &bp, &bn);
			if (!rc && bn)
				rc = lm_err_set(ps->t.err, LM_EUNSUPPORTED,
						"parquet footer: row group %u column %u keeps its "
						"data in another file", rg, ci);
			break;
		case 3:
			EXPECT(ty, PQ_T_STRUCT, "ColumnChunk.meta_data");
			rc = read_column_meta(ps, ch, ct, rg, ci);
			has_meta = true;
			break;
		case 8:
		case 9:
			rc = lm_err_set(ps->t.err, LM_EUNSUPPORTED,
					"parquet footer: row group %u column %u is encrypted", rg, ci);
			break;
		default:
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && !has_meta)
		rc = pq_t_fail(&ps->t, "row group %u column %u has no meta_data", rg, ci);
out:
	pq_t_leave(&ps->t);
	return rc;
}

static int read_row_group(struct parse *ps, struct lm_parquet_row_group *g, struct rg_tmp *gt,
			  uint32_t rg)
{
	int16_t last = 0, id;
	uint8_t ty, et;
	uint32_t n;
	bool has_cols = false, has_rows = false;
	int rc;

	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_LIST, "RowGroup.columns");
			if (has_cols) {
				rc = pq_t_fail(&ps->t, "row group %u: columns given twice", rg);
				break;
			}
			has_cols = true;
			rc = pq_t_list(&ps->t, &et, &n);
			if (rc)
				break;
			if (et != PQ_T_STRUCT) {
				rc = pq_t_fail(&ps->t, "row group %u: columns not structs", rg);
				break;
			}
			g->chunks = pq_arena_alloc(ps->arena, (size_t)n * sizeof(*g->chunks) + 1);
			gt->c = calloc(n ? n : 1, sizeof(*gt->c));
			if (!g->chunks || !gt->c) {
				rc = g->chunks ? lm_err_set(ps->t.err, ENOMEM,
							    "parquet footer: out of memory")
					       : nomem(ps);
				break;
			}
			gt->n = n;
			for (uint32_t i = 0; i < n && !rc; i++)
				rc = read_column_chunk(ps, &g->chunks[i], &gt->c[i], rg, i);
			break;
		case 2:
			EXPECT(ty, PQ_T_I64, "RowGroup.total_byte_size");
			rc = pq_t_i64(&ps->t, &g->total_byte_size);
			break;
		case 3:
			EXPECT(ty, PQ_T_I64, "RowGroup.num_rows");
			rc = pq_t_i64(&ps->t, &g->num_rows);
			has_rows = true;
			break;
		default:
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && (!has_cols || !has_rows))
		rc = pq_t_fail(&ps->t, "row group %u lacks columns or num_rows", rg);
	if (!rc && g->num_rows < 0)
		rc = pq_t_fail(&ps->t, "row group %u: negative num_rows", rg);
out:
	pq_t_leave(&ps->t);
	return rc;
}

static int read_row_groups(struct parse *ps, uint8_t ty)
{
	uint32_t n;
	int rc = once_struct_list(ps, ty, &ps->have_rgs, "FileMetaData.row_groups", &n);

	if (rc)
		goto out;
	ps->m->row_groups = pq_arena_alloc(ps->arena, (size_t)n * sizeof(*ps->m->row_groups) + 1);
	if (!ps->m->row_groups) {
		rc = nomem(ps);
		goto out;
	}
	ps->rgt = calloc(n ? n : 1, sizeof(*ps->rgt));
	if (!ps->rgt) {
		rc = lm_err_set(ps->t.err, ENOMEM, "parquet footer: out of memory");
		goto out;
	}
	ps->nrgt = n;
	ps->m->nrow_groups = n;
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = read_row_group(ps, &ps->m->row_groups[i], &ps->rgt[i], i);
out:
	return rc;
}

static int read_kv(struct parse *ps, struct lm_parquet_kv *kv)
{
	int16_t last = 0, id;
	uint8_t ty;
	const uint8_t *bp;
	size_t bn;
	int rc;

	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		if ((id == 1 || id == 2) && ty == PQ_T_BINARY) {
			char *s;

			rc = pq_t_binary(&ps->t, &bp, &bn);
			if (rc)
				break;
			s = pq_arena_strdup(ps->arena, bp, bn);
			if (!s) {
				rc = nomem(ps);
				break;
			}
			if (id == 1) {
				kv->key = s;
			} else {
				kv->value = s;
				kv->value_len = bn;
			}
		} else {
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && !kv->key)
		kv->key = "";
	pq_t_leave(&ps->t);
	return rc;
}

static int read_kvs(struct parse *ps, uint8_t ty)
{
	uint8_t et;
	uint32_t n;
	int rc;

	EXPECT(ty, PQ_T_LIST, "FileMetaData.key_value_metadata");
	rc = pq_t_list(&ps->t, &et, &n);
	if (rc)
		goto out;
	if (et != PQ_T_STRUCT || ps->m->kv) {
		/* odd or repeated: skip the elements */
		for (uint32_t i = 0; i < n && !rc; i++)
			rc = pq_t_skip(&ps->t, et);
		goto out;
	}
	ps->m->kv = pq_arena_alloc(ps->arena, (size_t)n * sizeof(*ps->m->kv) + 1);
	if (!ps->m->kv) {
		rc = nomem(ps);
		goto out;
	}
	ps->m->nkv = n;
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = read_kv(ps, &ps->m->kv[i]);
out:
	return rc;
}

static int read_file_meta(struct parse *ps)
{
	int16_t last = 0, id;
	uint8_t ty;
	const uint8_t *bp;
	size_t bn;
	int rc;

	rc = pq_t_enter(&ps->t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&ps->t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "FileMetaData.version");
			rc = pq_t_i32(&ps->t, &ps->m->version);
			ps->have_version = true;
			break;
		case 2:
			rc = read_schema(ps, ty);
			break;
		case 3:
			EXPECT(ty, PQ_T_I64, "FileMetaData.num_rows");
			rc = pq_t_i64(&ps->t, &ps->m->num_rows);
			ps->have_rows = true;
			break;
		case 4:
			rc = read_row_groups(ps, ty);
			break;
		case 5:
			rc = read_kvs(ps, ty);
			break;
		case 6:
			EXPECT(ty, PQ_T_BINARY, "FileMetaData.created_by");
			rc = pq_t_binary(&ps->t, &bp, &bn);
			if (!rc) {
				ps->m->created_by = pq_arena_strdup(ps->arena, bp, bn);
				if (!ps->m->created_by)
					rc = nomem(ps);
			}
			break;
		default:
			rc = pq_t_skip(&ps->t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && (!ps->have_schema || !ps->have_rgs || !ps->have_rows))
		rc = pq_t_fail(&ps->t, "FileMetaData lacks schema, num_rows or row_groups");
	if (!rc && ps->m->num_rows < 0)
		rc = pq_t_fail(&ps->t, "negative num_rows");
out:
	pq_t_leave(&ps->t);
	return rc;
}

/* ---- schema tree ---- */

static int build_node(struct parse *ps, uint32_t *next, int32_t parent, unsigned depth)
{
	struct lm_parquet_meta *m = ps->m;
	uint32_t idx = *next;
	struct selem *e = &ps->el[idx];
	struct lm_parquet_node *nd = &m->nodes[idx];
	struct lm_err *err = ps->t.err;
	bool group;
	int rc = 0;

	(*next)++;
	if (depth > ps->o->max_depth)
		return lm_err_set(err, LM_ETOOBIG, "parquet footer: schema nested deeper than %u",
				  ps->o->max_depth);
	if (memchr(e->name, 0, e->name_len))
		return lm_err_set(err, LM_EFORMAT, "parquet footer: schema name with a NUL byte");
	nd->name = pq_arena_strdup(ps->arena, e->name, e->name_len);
	if (!nd->name)
		return nomem(ps);
	nd->parent = parent;
	nd->converted = e->converted;
	nd->logical = e->logical;
	nd->type_length = -1;
	nd->scale = e->scale;
	nd->precision = e->precision;
	nd->field_id = e->field_id;
	nd->column = -1;
	if (parent < 0) {
		nd->path = "";
		nd->repetition = LM_PARQUET_REQUIRED;
	} else {
		const struct lm_parquet_node *pn = &m->nodes[parent];
		size_t pl = strlen(pn->path), nl = e->name_len;
		char *path;

		if (!e->has_rep)
			return lm_err_set(err, LM_EFORMAT,
					  "parquet footer: schema element '%s' has no repetition_type",
					  nd->name);
		if (e->repetition < 0 || e->repetition > LM_PARQUET_REPEATED)
			return lm_err_set(err, e->repetition == 3 ? LM_EUNSUPPORTED : LM_EFORMAT,
					  "parquet footer: schema element '%s' has repetition_type %d",
					  nd->name, e->repetition);
		nd->repetition = (int8_t)e->repetition;
		nd->def_level = (uint8_t)(pn->def_level + (e->repetition != LM_PARQUET_REQUIRED));
		nd->rep_level = (uint8_t)(pn->rep_level + (e->repetition == LM_PARQUET_REPEATED));
		path = pq_arena_alloc(ps->arena, pl + 1 + nl + 1);
		if (!path)
			return nomem(ps);
		if (pl) {
			memcpy(path, pn->path, pl);
			path[pl++] = '.';
		}
		memcpy(path + pl, e->name, nl);
		path[pl + nl] = '\0';
		nd->path = path;
	}
	group = parent < 0 || (e->has_children && e->num_children > 0) || !e->has_type;
	if (group) {
		uint32_t nc = e->has_children && e->num_children > 0 ? (uint32_t)e->num_children : 0;
		uint32_t *kids;

		if (e->has_children && e->num_children < 0)
			return lm_err_set(err, LM_EFORMAT,
					  "parquet footer: schema element '%s' has %d children",
					  nd->name, e->num_children);
		if (nc > ps->nel - *next)
			return lm_err_set(err, LM_EFORMAT,
					  "parquet footer: schema element '%s' claims %u children, "
					  "%u elements left", nd->name, nc, ps->nel - *next);
		nd->type = LM_PARQUET_GROUP;
		kids = pq_arena_alloc(ps->arena, (size_t)nc * sizeof(*kids) + 1);
		if (!kids)
			return nomem(ps);
		nd->children = kids;
		nd->nchildren = nc;
		for (uint32_t i = 0; i < nc && !rc; i++) {
			if (*next >= ps->nel)
				return lm_err_set(err, LM_EFORMAT,
						  "parquet footer: schema ends inside '%s'", nd->name);
			kids[i] = *next;
			rc = build_node(ps, next, (int32_t)idx, depth + 1);
		}
		return rc;
	}
	if (e->type < LM_PARQUET_BOOLEAN || e->type > LM_PARQUET_FIXED_LEN_BYTE_ARRAY)
		return lm_err_set(err, LM_EFORMAT, "parquet footer: column '%s' has type %d",
				  nd->path, e->type);
	nd->type = (int8_t)e->type;
	if (e->type == LM_PARQUET_FIXED_LEN_BYTE_ARRAY) {
		if (e->type_length <= 0 || e->type_length > (1 << 24))
			return lm_err_set(err, LM_EFORMAT,
					  "parquet footer: column '%s' has type_length %d", nd->path,
					  e->type_length);
		nd->type_length = e->type_length;
	} else if (e->type == LM_PARQUET_INT96) {
		nd->type_length = 12;
	}
	nd->column = (int32_t)m->ncolumns++;
	return 0;
}

static int build_schema(struct parse *ps)
{
	struct lm_parquet_meta *m = ps->m;
	uint32_t next = 0, k = 0;
	int rc;

	m->nodes = pq_arena_alloc(ps->arena, (size_t)ps->nel * sizeof(*m->nodes));
	if (!m->nodes)
		return nomem(ps);
	m->nnodes = ps->nel;
	rc = build_node(ps, &next, -1, 0);
	if (rc)
		return rc;
	if (next != ps->nel)
		return lm_err_set(ps->t.err, LM_EFORMAT,
				  "parquet footer: schema has %u elements but its tree uses %u",
				  ps->nel, next);
	m->columns = pq_arena_alloc(ps->arena, (size_t)m->ncolumns * sizeof(*m->columns) + 1);
	if (!m->columns)
		return nomem(ps);
	for (uint32_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].column >= 0)
			m->columns[k++] = i;
	return 0;
}

/* Compare a chunk's path_in_schema with its leaf's ancestry. */
static int check_path(struct parse *ps, const struct chunk_tmp *ct, uint32_t leaf, uint32_t rg,
		      uint32_t ci)
{
	const struct lm_parquet_meta *m = ps->m;
	uint32_t chain[PQ_DEPTH_HARD + 1];
	unsigned depth = 0;
	struct pq_thrift t;
	uint8_t et;
	uint32_t n;
	int rc;

	for (int32_t i = (int32_t)leaf; i > 0; i = m->nodes[i].parent)
		chain[depth++] = (uint32_t)i;
	pq_thrift_init(&t, ct->path, (size_t)(ps->fend - ct->path), PQ_THRIFT_DEPTH, ps->t.err,
		       "footer");
	rc = pq_t_list(&t, &et, &n);
	if (rc)
		return rc;
	if (et != PQ_T_BINARY || n != depth)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *bp;
		size_t bn;
		const char *name = m->nodes[chain[depth - 1 - i]].name;

		rc = pq_t_binary(&t, &bp, &bn);
		if (rc)
			return rc;
		if (bn != strlen(name) || memcmp(bp, name, bn))
			goto bad;
	}
	return 0;
bad:
	return lm_err_set(ps->t.err, LM_EFORMAT,
			  "parquet footer: row group %u column %u: path_in_schema does not match "
			  "schema column '%s'", rg, ci, m->nodes[leaf].path);
}

static int check_row_groups(struct parse *ps)
{
	struct lm_parquet_meta *m = ps->m;
	uint64_t lo = 4, hi = m->footer_offset;
	int rc = 0;

	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		struct lm_parquet_row_group *rg = &m->row_groups[g];

		if (ps->rgt[g].n != m->ncolumns)
			return lm_err_set(ps->t.err, LM_EFORMAT,
					  "parquet footer: row group %u has %u column chunks, the "
					  "schema %u columns", g, ps->rgt[g].n, m->ncolumns);
		for (uint32_t c = 0; c < m->ncolumns; c++) {
			struct lm_parquet_chunk *ch = &rg->chunks[c];
			const struct chunk_tmp *ct = &ps->rgt[g].c[c];
			uint32_t leaf = m->columns[c];
			uint64_t start;

			rc = check_path(ps, ct, leaf, g, c);
			if (rc)
				return rc;
			if (ct->type != m->nodes[leaf].type)
				return lm_err_set(ps->t.err, LM_EFORMAT,
						  "parquet footer: row group %u column '%s' has type %s, "
						  "the schema %s", g, m->nodes[leaf].path,
						  lm_parquet_type_name(ct->type),
						  lm_parquet_type_name(m->nodes[leaf].type));
			start = (uint64_t)ch->data_page_offset;
			if (ch->dictionary_page_offset > 0 &&
			    (uint64_t)ch->dictionary_page_offset < start)
				start = (uint64_t)ch->dictionary_page_offset;
			ch->offset = start;
			ch->length = (uint64_t)ch->total_compressed_size;
			if (m->file_size &&
			    (start < lo || start > hi || ch->length > hi - start))
				return lm_err_set(ps->t.err, LM_EFORMAT,
						  "parquet footer: row group %u column '%s': chunk at "
						  "%llu+%llu lies outside the data area [4, %llu)", g,
						  m->nodes[leaf].path, (unsigned long long)start,
						  (unsigned long long)ch->length,
						  (unsigned long long)hi);
		}
	}
	return 0;
}

int lm_parquet_footer_parse(const void *tail, size_t len, uint64_t file_size,
			    const struct lm_parquet_opts *opts, struct lm_parquet_meta **out,
			    size_t *need, struct lm_err *err)
{
	const uint8_t *b = tail;
	struct lm_parquet_meta *m = NULL;
	struct pq_arena *arena = NULL;
	struct parse ps;
	uint32_t flen;
	uint64_t total;
	int rc = 0;

	memset(&ps, 0, sizeof(ps));
	*out = NULL;
	if (need)
		*need = 0;
	m = calloc(1, sizeof(*m));
	arena = calloc(1, sizeof(*arena));
	if (!m || !arena) {
		rc = lm_err_set(err, ENOMEM, "parquet footer: out of memory");
		goto out;
	}
	opts_fill(&m->opts, opts);
	m->priv = arena;
	m->file_size = file_size;
	if (file_size && file_size < 12) {
		rc = lm_err_set(err, LM_EFORMAT, "parquet: file of %llu bytes is too short",
				(unsigned long long)file_size);
		goto out;
	}
	if (file_size && len > file_size) {
		rc = lm_err_set(err, EINVAL, "parquet: tail of %zu bytes from a file of %llu",
				len, (unsigned long long)file_size);
		goto out;
	}
	if (len < 8) {
		if (need)
			*need = 8;
		rc = lm_err_set(err, ENOBUFS, "parquet footer: need the last 8 bytes");
		goto out;
	}
	if (!memcmp(b + len - 4, "PARE", 4)) {
		rc = lm_err_set(err, LM_EUNSUPPORTED, "parquet: encrypted footer (PARE)");
		goto out;
	}
	if (memcmp(b + len - 4, "PAR1", 4)) {
		rc = lm_err_set(err, LM_EFORMAT, "parquet: no PAR1 magic at the end of the file");
		goto out;
	}
	flen = pq_le32(b + len - 8);
	total = (uint64_t)flen + 8;
	if (flen > m->opts.max_footer) {
		rc = lm_err_set(err, LM_ETOOBIG,
				"parquet footer: %u bytes, more than the cap %zu", flen,
				m->opts.max_footer);
		goto out;
	}
	if (flen == 0) {
		rc = lm_err_set(err, LM_EFORMAT, "parquet footer: length 0");
		goto out;
	}
	if (file_size && total + 4 > file_size) {
		rc = lm_err_set(err, LM_EFORMAT,
				"parquet footer: length %u does not fit a file of %llu bytes", flen,
				(unsigned long long)file_size);
		goto out;
	}
	if (len < total) {
		if (need)
			*need = (size_t)total;
		rc = lm_err_set(err, ENOBUFS, "parquet footer: need the last %llu bytes",
				(unsigned long long)total);
		goto out;
	}
	if (file_size && len == file_size && memcmp(b, "PAR1", 4)) {
		rc = lm_err_set(err, LM_EFORMAT, "parquet: no PAR1 magic at the start of the file");
		goto out;
	}
	if (file_size)
		m->footer_offset = file_size - total;
	arena->limit = (size_t)flen * 8 + ((size_t)1 << 20);
	ps.arena = arena;
	ps.m = m;
	ps.o = &m->opts;
	ps.fbuf = b + len - total;
	ps.fend = ps.fbuf + flen;
	pq_thrift_init(&ps.t, ps.fbuf, flen, PQ_THRIFT_DEPTH, err, "footer");
	rc = read_file_meta(&ps);
	if (rc)
		goto out;
	rc = build_schema(&ps);
	if (rc)
		goto out;
	rc = check_row_groups(&ps);
	if (rc)
		goto out;
	*out = m;
	m = NULL;
out:
	free(ps.el);
	if (ps.rgt) {
		for (uint32_t i = 0; i < ps.nrgt; i++)
			free(ps.rgt[i].c);
		free(ps.rgt);
	}
	if (m) {
		pq_arena_free(arena);
		free(arena);
		free(m);
	} else if (!*out) {
		free(arena);
	}
	return rc;
}

void lm_parquet_meta_free(struct lm_parquet_meta *m)
{
	if (!m)
		return;
	if (m->priv) {
		pq_arena_free(m->priv);
		free(m->priv);
	}
	free(m);
}

/* ---- lookups ---- */

int lm_parquet_column_find(const struct lm_parquet_meta *m, const char *path)
{
	for (uint32_t c = 0; c < m->ncolumns; c++)
		if (!strcmp(m->nodes[m->columns[c]].path, path))
			return (int)c;
	return -1;
}

int lm_parquet_node_find(const struct lm_parquet_meta *m, const char *path)
{
	for (uint32_t i = 0; i < m->nnodes; i++)
		if (!strcmp(m->nodes[i].path, path))
			return (int)i;
	return -1;
}

int lm_parquet_node_child(const struct lm_parquet_meta *m, int parent, const char *name)
{
	const struct lm_parquet_node *p;

	if (parent < 0 || (uint32_t)parent >= m->nnodes)
		return -1;
	p = &m->nodes[parent];
	for (uint32_t i = 0; i < p->nchildren; i++)
		if (!strcmp(m->nodes[p->children[i]].name, name))
			return (int)p->children[i];
	return -1;
}

/* The single repeated child of a map or list node. */
static int repeated_child(const struct lm_parquet_meta *m, int node, const char *what,
			  const struct lm_parquet_node **rc_out, struct lm_err *err)
{
	const struct lm_parquet_node *n, *r;

	if (node < 0 || (uint32_t)node >= m->nnodes)
		return lm_err_set(err, LM_EFORMAT, "parquet: no such schema node for a %s", what);
	n = &m->nodes[node];
	if (n->type != LM_PARQUET_GROUP || n->nchildren != 1)
		return lm_err_set(err, LM_EFORMAT, "parquet: '%s' is not a %s (one child expected)",
				  n->path, what);
	r = &m->nodes[n->children[0]];
	if (r->repetition != LM_PARQUET_REPEATED)
		return lm_err_set(err, LM_EFORMAT, "parquet: '%s' is not a %s (child not repeated)",
				  n->path, what);
	*rc_out = r;
	return 0;
}

int lm_parquet_map_columns(const struct lm_parquet_meta *m, int node, int *key_col,
			   int *value_col, struct lm_err *err)
{
	const struct lm_parquet_node *kv = NULL, *k, *v;
	int rc;

	*key_col = *value_col = -1;
	rc = repeated_child(m, node, "map", &kv, err);
	if (rc)
		return rc;
	/* a key without a value (a set) only where the schema says MAP */
	if (kv->type != LM_PARQUET_GROUP || kv->nchildren < 1 || kv->nchildren > 2 ||
	    (kv->nchildren == 1 && m->nodes[node].converted != LM_PARQUET_CT_MAP &&
	     m->nodes[node].logical != LM_PARQUET_LT_MAP &&
	     kv->converted != LM_PARQUET_CT_MAP_KEY_VALUE))
		return lm_err_set(err, LM_EFORMAT, "parquet: map '%s' has no key/value group",
				  m->nodes[node].path);
	k = &m->nodes[kv->children[0]];
	v = kv->nchildren == 2 ? &m->nodes[kv->children[1]] : NULL;
	if (k->column < 0 || (v && v->column < 0))
		return lm_err_set(err, LM_EFORMAT, "parquet: map '%s' has a non-primitive key or "
				  "value", m->nodes[node].path);
	*key_col = k->column;
	*value_col = v ? v->column : -1;
	return 0;
}

int lm_parquet_list_column(const struct lm_parquet_meta *m, int node, int *elem_col,
			   struct lm_err *err)
{
	const struct lm_parquet_node *r = NULL, *e;
	int rc;

	*elem_col = -1;
	if (node >= 0 && (uint32_t)node < m->nnodes &&
	    m->nodes[node].repetition == LM_PARQUET_REPEATED && m->nodes[node].column >= 0) {
		*elem_col = m->nodes[node].column;   /* a bare repeated primitive */
		return 0;
	}
	rc = repeated_child(m, node, "list", &r, err);
	if (rc)
		return rc;
	if (r->column >= 0) {          /* legacy 2-level: repeated primitive */
		*elem_col = r->column;
		return 0;
	}
	if (r->nchildren != 1)
		return lm_err_set(err, LM_EFORMAT, "parquet: list '%s' has a struct element",
				  m->nodes[node].path);
	e = &m->nodes[r->children[0]];
	if (e->column < 0)
		return lm_err_set(err, LM_EFORMAT, "parquet: list '%s' has a nested element",
				  m->nodes[node].path);
	*elem_col = e->column;
	return 0;
}
