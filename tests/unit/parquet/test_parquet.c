/* Unit tests for the Parquet decoder (include/lm/parquet.h).
 *
 * - encodings on the examples of parquet-format Encodings.md and on round trips
 *   through a small encoder written here;
 * - files built byte by byte here (Thrift compact writer below): unknown fields,
 *   hostile counts, nesting bombs, bad dictionary indices, every truncation and
 *   single-byte corruption;
 * - files DuckDB writes with every codec and data page v1/v2 (flat and Delta
 *   checkpoint-shaped), compared field by field with DuckDB's own reading
 *   (LM_PQ_FIXTURES, produced by gen/gen.mjs at test time);
 * - every Parquet file of the corpus Delta logs, compared with DuckDB's reading (same
 *   manifest) and, for classic checkpoints, add.path against
 *   EXPECTED-checkpoint-oracle.tsv (LM_CORPUS).
 *
 * One source, built into two executables (tests/unit/parquet/meson.build), so that
 * nothing is ever skipped: PQ_TEST_CORE (always), PQ_TEST_FIXTURES (only when the
 * generator can run), PQ_TEST_CORPUS (only where ../shared/corpus exists). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#ifdef LM_HAVE_LZ4
#include <lz4.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lm/buf.h"
#include "lm/parquet.h"

/* helpers shared by the three groups; each build uses a subset */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---------------------------------------------------------------- helpers */

/* Blocks handed out for lm_parquet_read_opts.alloc (values left in place). */
struct blocks {
	void **p;
	size_t n, cap;
};

static void *blk_alloc(void *ud, size_t n)
{
	struct blocks *b = ud;
	void *p;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->p = realloc(b->p, b->cap * sizeof(*b->p));
		cr_assert(b->p);
	}
	p = malloc(n ? n : 1);
	b->p[b->n++] = p;
	return p;
}

static void blk_free(struct blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->p[i]);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Column c of row group g read again with its byte arrays left in place: the same
 * levels and values as ref (read by copy), each value NUL-terminated. */
static void check_inplace(const struct lm_parquet_meta *m, uint32_t g, uint32_t c,
			  const uint8_t *chunk, size_t len, const struct lm_parquet_column *ref,
			  const char *what)
{
	struct blocks bl = { 0 };
	struct lm_parquet_read_opts ro = { .alloc = blk_alloc, .alloc_ud = &bl };
	struct lm_parquet_column col;
	struct lm_err e;

	lm_err_init(&e);
	cr_assert_eq(lm_parquet_column_read_ex(m, g, c, chunk, len, &ro, &col, &e), 0,
		     "%s: row group %u column %u in place: %s", what, g, c, e.msg);
	cr_assert_eq(col.num_levels, ref->num_levels, "%s", what);
	cr_assert_eq(col.num_values, ref->num_values, "%s", what);
	if (ref->def)
		cr_assert(!memcmp(col.def, ref->def, ref->num_levels), "%s", what);
	if (ref->rep)
		cr_assert(!memcmp(col.rep, ref->rep, ref->num_levels), "%s", what);
	if (ref->type == LM_PARQUET_BYTE_ARRAY) {
		cr_assert(!col.data && (col.sv || !col.num_values), "%s: byte arrays in place", what);
		for (size_t k = 0; k < ref->num_values; k++) {
			size_t la, lb;
			const uint8_t *a = lm_parquet_column_bytes(&col, k, &la);
			const uint8_t *b = lm_parquet_column_bytes(ref, k, &lb);

			cr_assert(la == lb && !memcmp(a, b, la) && a[la] == 0,
				  "%s: row group %u column %u value %zu", what, g, c, k);
		}
	} else if (ref->v.any) {
		size_t es = ref->type == LM_PARQUET_BOOLEAN ? 1 :
			    (ref->type == LM_PARQUET_INT32 || ref->type == LM_PARQUET_FLOAT) ? 4 : 8;

		cr_assert(!memcmp(col.v.any, ref->v.any, ref->num_values * es), "%s", what);
	}
	lm_parquet_column_free(&col);
	blk_free(&bl);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long l;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (l = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	b = malloc((size_t)l + 1);
	if (b && fread(b, 1, (size_t)l, f) != (size_t)l) {
		free(b);
		b = NULL;
	}
	*n = (size_t)l;
out:
	fclose(f);
	return b;
}

/* Split s at the next sep: returns the token and advances *s (NULL when done). */
static char *next_tok(char **s, char sep)
{
	char *t = *s, *e;

	if (!t)
		return NULL;
	e = strchr(t, sep);
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = NULL;
	}
	return t;
}

/* Parse a whole in-memory file through the tail protocol: first a short tail, then
 * what the decoder says it needs. */
static int parse_file(const uint8_t *b, size_t n, const struct lm_parquet_opts *o,
		      struct lm_parquet_meta **m, struct lm_err *e)
{
	size_t first = n < 64 ? n : 64, need = 0;
	int rc = lm_parquet_footer_parse(b + n - first, first, n, o, m, &need, e);

	if (rc == ENOBUFS) {
		cr_assert(need > first && need <= n, "need %zu of %zu", need, n);
		rc = lm_parquet_footer_parse(b + n - need, need, n, o, m, &need, e);
	}
	return rc;
}

/* ------------------------------------------------------ a tiny Thrift writer */

struct w {
	uint8_t b[1 << 16];
	size_t n;
};

static void w_byte(struct w *w, uint8_t v)
{
	cr_assert(w->n < sizeof(w->b));
	w->b[w->n++] = v;
}

static void w_raw(struct w *w, const void *p, size_t n)
{
	cr_assert(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_varint(struct w *w, uint64_t v)
{
	while (v >= 0x80) {
		w_byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	w_byte(w, (uint8_t)v);
}

static void w_zz(struct w *w, int64_t v)
{
	w_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void w_le32(struct w *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w_byte(w, (uint8_t)(v >> (8 * i)));
}

enum { T_TRUE = 1, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BIN, T_LIST, T_SET,
       T_MAP, T_STRUCT };

static void w_fh(struct w *w, int16_t *last, int id, int type)
{
	if (id > *last && id - *last <= 15) {
		w_byte(w, (uint8_t)((id - *last) << 4 | type));
	} else {
		w_byte(w, (uint8_t)type);
		w_zz(w, id);
	}
	*last = (int16_t)id;
}

static void w_i32f(struct w *w, int16_t *last, int id, int32_t v)
{
	w_fh(w, last, id, T_I32);
	w_zz(w, v);
}

static void w_i64f(struct w *w, int16_t *last, int id, int64_t v)
{
	w_fh(w, last, id, T_I64);
	w_zz(w, v);
}

static void w_binf(struct w *w, int16_t *last, int id, const char *s)
{
	w_fh(w, last, id, T_BIN);
	w_varint(w, strlen(s));
	w_raw(w, s, strlen(s));
}

static void w_listh(struct w *w, int etype, uint32_t n)
{
	if (n < 15) {
		w_byte(w, (uint8_t)(n << 4 | etype));
	} else {
		w_byte(w, (uint8_t)(0xf0 | etype));
		w_varint(w, n);
	}
}

/* A field id 99 holding nested unknown things: struct{list<map<i32,list<struct>>>,
 * set<bool>, double, binary, i16, byte, bools}. */
static void w_junk(struct w *w, int16_t *last, int id)
{
	int16_t l2 = 0, l3;

	w_fh(w, last, id, T_STRUCT);
	w_fh(w, &l2, 1, T_LIST);
	w_listh(w, T_MAP, 2);
	for (int k = 0; k < 2; k++) {
		w_varint(w, 1);                     /* map size */
		w_byte(w, T_I32 << 4 | T_LIST);
		w_zz(w, 7);
		w_listh(w, T_STRUCT, 1);
		l3 = 0;
		w_binf(w, &l3, 3, "nested");
		w_byte(w, 0);
	}
	w_fh(w, &l2, 2, T_SET);
	w_listh(w, T_TRUE, 3);
	w_byte(w, 1);
	w_byte(w, 2);
	w_byte(w, 1);
	w_fh(w, &l2, 3, T_DOUBLE);
	w_raw(w, "\0\0\0\0\0\0\xf0\x3f", 8);
	w_binf(w, &l2, 4, "junk");
	w_fh(w, &l2, 300, T_I16);                   /* long-form field id */
	w_zz(w, -5);
	w_fh(w, &l2, 301, T_BYTE);
	w_byte(w, 0x7f);
	w_fh(w, &l2, 302, T_TRUE);
	w_fh(w, &l2, 303, T_FALSE);
	w_fh(w, &l2, 304, T_MAP);
	w_varint(w, 0);                             /* empty map: no type byte */
	w_byte(w, 0);
}

enum {
	F_JUNK = 1,        /* unknown fields everywhere */
	F_DICT = 2,        /* dictionary page + RLE_DICTIONARY data page */
	F_BADIDX = 4,      /* a dictionary index beyond the dictionary */
	F_V2 = 8,          /* data page v2 */
	F_DEEP = 16,       /* an unknown field nested 200 deep */
	F_BADDEF = 32,     /* a definition level above the maximum */
};

/* Column "s": optional BYTE_ARRAY (UTF8); 5 rows: "a", "bb", NULL, "ccc", "a". */
static void build_file(struct w *f, unsigned flags)
{
	struct w pg = { .n = 0 }, body = { .n = 0 }, fm = { .n = 0 };
	int16_t l, l2, l3, l4;
	int64_t data_off = 4, dict_off = -1, chunk_len;

	f->n = 0;
	w_raw(f, "PAR1", 4);

	if (flags & F_DICT) {
		/* dictionary: "a", "bb", "ccc" */
		body.n = 0;
		w_le32(&body, 1);
		w_raw(&body, "a", 1);
		w_le32(&body, 2);
		w_raw(&body, "bb", 2);
		w_le32(&body, 3);
		w_raw(&body, "ccc", 3);
		pg.n = 0;
		l = 0;
		w_i32f(&pg, &l, 1, 2);
		w_i32f(&pg, &l, 2, (int32_t)body.n);
		w_i32f(&pg, &l, 3, (int32_t)body.n);
		w_fh(&pg, &l, 7, T_STRUCT);
		l2 = 0;
		w_i32f(&pg, &l2, 1, 3);
		w_i32f(&pg, &l2, 2, 0);
		w_byte(&pg, 0);
		w_byte(&pg, 0);
		dict_off = (int64_t)f->n;
		w_raw(f, pg.b, pg.n);
		w_raw(f, body.b, body.n);
		data_off = (int64_t)f->n;
	}

	/* levels: 1 1 0 1 1 as one bit-packed group of 8 (bw 1) */
	body.n = 0;
	{
		uint8_t lv[2] = { 3, 0x1b };

		if (flags & F_BADDEF) {
			lv[0] = 5 << 1;   /* RLE run of 5 ... */
			lv[1] = 2;        /* ... of level 2 (max is 1) */
		}
		if (!(flags & F_V2))
			w_le32(&body, 2);
		w_raw(&body, lv, 2);
	}
	if (flags & F_DICT) {
		/* indices 0 1 2 0 (bw 2, one bit-packed group) */
		uint8_t idx[3] = { 2, 3, 0 };

		idx[2] = (uint8_t)(0 | 1 << 2 | 2 << 4 | 0 << 6);
		if (flags & F_BADIDX)
			idx[2] = (uint8_t)(0 | 1 << 2 | 3 << 4);
		w_raw(&body, idx, 3);
		w_byte(&body, 0);
	} else {
		w_le32(&body, 1);
		w_raw(&body, "a", 1);
		w_le32(&body, 2);
		w_raw(&body, "bb", 2);
		w_le32(&body, 3);
		w_raw(&body, "ccc", 3);
		w_le32(&body, 1);
		w_raw(&body, "a", 1);
	}
	pg.n = 0;
	l = 0;
	w_i32f(&pg, &l, 1, (flags & F_V2) ? 3 : 0);
	w_i32f(&pg, &l, 2, (int32_t)body.n);
	w_i32f(&pg, &l, 3, (int32_t)body.n);
	if (flags & F_JUNK)
		w_i32f(&pg, &l, 4, 12345);          /* crc, ignored */
	if (flags & F_V2) {
		w_fh(&pg, &l, 8, T_STRUCT);
		l2 = 0;
		w_i32f(&pg, &l2, 1, 5);
		w_i32f(&pg, &l2, 2, 1);
		w_i32f(&pg, &l2, 3, 5);
		w_i32f(&pg, &l2, 4, (flags & F_DICT) ? 8 : 0);
		w_i32f(&pg, &l2, 5, 2);
		w_i32f(&pg, &l2, 6, 0);
		w_fh(&pg, &l2, 7, T_FALSE);
		if (flags & F_JUNK)
			w_junk(&pg, &l2, 8);        /* statistics slot, skipped */
		w_byte(&pg, 0);
	} else {
		w_fh(&pg, &l, 5, T_STRUCT);
		l2 = 0;
		w_i32f(&pg, &l2, 1, 5);
		w_i32f(&pg, &l2, 2, (flags & F_DICT) ? 8 : 0);
		w_i32f(&pg, &l2, 3, 3);
		w_i32f(&pg, &l2, 4, 3);
		if (flags & F_JUNK)
			w_junk(&pg, &l2, 5);
		w_byte(&pg, 0);
	}
	if (flags & F_JUNK)
		w_junk(&pg, &l, 40);
	w_byte(&pg, 0);
	w_raw(f, pg.b, pg.n);
	w_raw(f, body.b, body.n);
	chunk_len = (int64_t)f->n - (dict_off >= 0 ? dict_off : data_off);

	/* FileMetaData */
	l = 0;
	w_i32f(&fm, &l, 1, 1);
	w_fh(&fm, &l, 2, T_LIST);
	w_listh(&fm, T_STRUCT, 2);
	l2 = 0;
	w_binf(&fm, &l2, 4, "schema");
	w_i32f(&fm, &l2, 5, 1);
	if (flags & F_JUNK)
		w_junk(&fm, &l2, 77);
	w_byte(&fm, 0);
	l2 = 0;
	w_i32f(&fm, &l2, 1, 6);
	w_i32f(&fm, &l2, 3, 1);
	w_binf(&fm, &l2, 4, "s");
	w_i32f(&fm, &l2, 6, 0);
	w_fh(&fm, &l2, 10, T_STRUCT);                 /* logicalType: STRING */
	l3 = 0;
	w_fh(&fm, &l3, 1, T_STRUCT);
	w_byte(&fm, 0);
	w_byte(&fm, 0);
	w_byte(&fm, 0);
	w_i64f(&fm, &l, 3, 5);
	w_fh(&fm, &l, 4, T_LIST);
	w_listh(&fm, T_STRUCT, 1);
	l2 = 0;
	w_fh(&fm, &l2, 1, T_LIST);
	w_listh(&fm, T_STRUCT, 1);
	l3 = 0;
	w_i64f(&fm, &l3, 2, 0);
	w_fh(&fm, &l3, 3, T_STRUCT);
	l4 = 0;
	w_i32f(&fm, &l4, 1, 6);
	w_fh(&fm, &l4, 2, T_LIST);
	w_listh(&fm, T_I32, 2);
	w_zz(&fm, 0);
	w_zz(&fm, 3);
	w_fh(&fm, &l4, 3, T_LIST);
	w_listh(&fm, T_BIN, 1);
	w_varint(&fm, 1);
	w_raw(&fm, "s", 1);
	w_i32f(&fm, &l4, 4, 0);
	w_i64f(&fm, &l4, 5, 5);
	w_i64f(&fm, &l4, 6, chunk_len);
	w_i64f(&fm, &l4, 7, chunk_len);
	if (flags & F_JUNK)
		w_junk(&fm, &l4, 8);
	w_i64f(&fm, &l4, 9, data_off);
	if (dict_off >= 0)
		w_i64f(&fm, &l4, 11, dict_off);
	if (flags & F_JUNK)
		w_junk(&fm, &l4, 12);
	w_byte(&fm, 0);
	w_byte(&fm, 0);
	w_i64f(&fm, &l2, 2, 100);
	w_i64f(&fm, &l2, 3, 5);
	w_byte(&fm, 0);
	w_fh(&fm, &l, 5, T_LIST);
	w_listh(&fm, T_STRUCT, 1);
	l2 = 0;
	w_binf(&fm, &l2, 1, "k");
	w_binf(&fm, &l2, 2, "v");
	w_byte(&fm, 0);
	w_binf(&fm, &l, 6, "lm-test");
	if (flags & F_JUNK)
		w_junk(&fm, &l, 99);
	if (flags & F_DEEP) {
		w_fh(&fm, &l, 100, T_LIST);
		for (int i = 0; i < 200; i++)
			w_listh(&fm, T_LIST, 1);
		w_listh(&fm, T_I32, 0);
	}
	w_byte(&fm, 0);
	w_raw(f, fm.b, fm.n);
	w_le32(f, (uint32_t)fm.n);
	w_raw(f, "PAR1", 4);
}

static int read_s(const uint8_t *b, size_t n, struct lm_parquet_column *c, struct lm_err *e)
{
	struct lm_parquet_meta *m = NULL;
	int rc = parse_file(b, n, NULL, &m, e);

	if (rc)
		return rc;
	rc = lm_parquet_column_read(m, 0, 0, b + m->row_groups[0].chunks[0].offset,
				    m->row_groups[0].chunks[0].length, c, e);
	if (!rc)
		check_inplace(m, 0, 0, b + m->row_groups[0].chunks[0].offset,
			      m->row_groups[0].chunks[0].length, c, "handmade");
	lm_parquet_meta_free(m);
	return rc;
}

static void check_s(const struct lm_parquet_column *c)
{
	static const char *const want[] = { "a", "bb", "ccc", "a" };
	static const uint8_t defs[] = { 1, 1, 0, 1, 1 };

	cr_assert_eq(c->num_levels, 5);
	cr_assert_eq(c->num_values, 4);
	cr_assert_eq(c->max_def, 1);
	cr_assert_eq(c->max_rep, 0);
	cr_assert_null(c->rep);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(c->def[i], defs[i], "def[%d]", i);
	for (int k = 0; k < 4; k++) {
		size_t l;
		const uint8_t *p = lm_parquet_column_bytes(c, (size_t)k, &l);

		cr_assert_eq(l, strlen(want[k]));
		cr_assert(!memcmp(p, want[k], l), "value %d", k);
	}
}

/* ------------------------------------------------------------- encodings */

/* The internal decoders are exercised directly: they are linked into the core. */
#include "../../../src/format/parquet/pq.h"

#ifdef PQ_TEST_CORE
Test(parquet, rle_hybrid)
{
	static const uint8_t bp[] = { 3, 0x88, 0xc6, 0xfa };
	static const uint8_t mix[] = { 10, 4, 3, 0x88, 0xc6, 0xfa };
	static const uint8_t msb[] = { 0x05, 0x39, 0x77 };
	uint32_t out[16];
	uint8_t o8[16];
	struct lm_err e;

	lm_err_init(&e);
	cr_assert_eq(pq_rle_u32(bp, bp + sizeof(bp), 3, out, 8, "t", &e), 0, "%s", e.msg);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_eq(out[i], i);
	cr_assert_eq(pq_rle_u32(mix, mix + sizeof(mix), 3, out, 13, "t", &e), 0, "%s", e.msg);
	for (uint32_t i = 0; i < 5; i++)
		cr_assert_eq(out[i], 4);
	for (uint32_t i = 0; i < 8; i++)
		cr_assert_eq(out[5 + i], i);
	/* fewer values wanted than the last group holds: fine */
	cr_assert_eq(pq_rle_u32(mix, mix + sizeof(mix), 3, out, 7, "t", &e), 0);
	/* more values wanted than present: error */
	cr_assert_eq(pq_rle_u32(mix, mix + sizeof(mix), 3, out, 14, "t", &e), LM_EFORMAT);
	/* levels above their maximum */
	cr_assert_eq(pq_rle_u8(bp, bp + sizeof(bp), 3, 6, o8, 8, "t", &e), LM_EFORMAT);
	cr_assert_eq(pq_rle_u8(bp, bp + sizeof(bp), 3, 7, o8, 8, "t", &e), 0);
	cr_assert_eq(pq_rle_u8(mix, mix + 2, 3, 3, o8, 5, "t", &e), LM_EFORMAT);
	/* deprecated BIT_PACKED (MSB first), Encodings.md example */
	cr_assert_eq(pq_bitpacked_msb_u8(msb, msb + 3, 3, 7, o8, 8, "t", &e), 0, "%s", e.msg);
	for (uint8_t i = 0; i < 8; i++)
		cr_assert_eq(o8[i], i);
	cr_assert_eq(pq_bitpacked_msb_u8(msb, msb + 2, 3, 7, o8, 8, "t", &e), LM_EFORMAT);
	/* bit width 0: all zero, no bytes */
	cr_assert_eq(pq_rle_u32((const uint8_t *)"\x10", (const uint8_t *)"\x10" + 1, 0, out, 8,
				"t", &e), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], 0);
}

/* --- a DELTA_BINARY_PACKED encoder for round trips (block 128, 4 miniblocks) --- */

static void delta_encode(struct w *w, const int64_t *v, size_t n)
{
	w_varint(w, 128);
	w_varint(w, 4);
	w_varint(w, n);
	w_zz(w, n ? v[0] : 0);
	for (size_t i = 1; i < n; i += 128) {
		size_t cnt = n - i < 128 ? n - i : 128;
		uint64_t d[128];
		int64_t mn = INT64_MAX;
		uint8_t widths[4] = { 0, 0, 0, 0 };

		for (size_t k = 0; k < cnt; k++) {
			int64_t dd = (int64_t)((uint64_t)v[i + k] - (uint64_t)v[i + k - 1]);

			if (dd < mn)
				mn = dd;
		}
		for (size_t k = 0; k < 128; k++)
			d[k] = k < cnt ? (uint64_t)v[i + k] - (uint64_t)v[i + k - 1] - (uint64_t)mn
				       : 0;
		for (int mb = 0; mb < 4; mb++) {
			uint64_t mx = 0;
			unsigned bw = 0;

			for (int k = 0; k < 32; k++)
				mx |= d[mb * 32 + k];
			while (bw < 64 && (mx >> bw))
				bw++;
			widths[mb] = (uint8_t)bw;
		}
		w_zz(w, mn);
		w_raw(w, widths, 4);
		for (size_t mb = 0; mb < 4 && mb * 32 < cnt; mb++) {
			unsigned bw = widths[mb];
			uint8_t buf[256];
			uint64_t bit = 0;

			memset(buf, 0, sizeof(buf));
			for (int k = 0; k < 32; k++)
				for (unsigned b = 0; b < bw; b++, bit++)
					if ((d[mb * 32 + (size_t)k] >> b) & 1)
						buf[bit >> 3] |= (uint8_t)(1u << (bit & 7));
			w_raw(w, buf, 32 * bw / 8);
		}
	}
}

Test(parquet, delta_binary_packed)
{
	/* Encodings.md example 2 with a legal block size: 7 5 3 1 2 3 4 5 */
	static const uint8_t ex[] = { 0x80, 0x01, 4, 8, 14, 3, 2, 0, 0, 0,
				      0xc0, 0x3f, 0, 0, 0, 0, 0, 0 };
	int64_t out[1000], in[1000];
	int32_t o32[8];
	size_t used;
	struct lm_err e;
	struct w *w = calloc(1, sizeof(*w));
	uint64_t s = 88172645463325252ull;

	lm_err_init(&e);
	cr_assert_eq(pq_delta_decode(ex, ex + sizeof(ex), true, o32, 8, &used, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(used, sizeof(ex));
	{
		static const int32_t want[] = { 7, 5, 3, 1, 2, 3, 4, 5 };

		for (int i = 0; i < 8; i++)
			cr_assert_eq(o32[i], want[i]);
	}
	cr_assert_eq(pq_delta_decode(ex, ex + sizeof(ex), true, o32, 7, &used, &e), LM_EFORMAT);
	cr_assert_eq(pq_delta_decode(ex, ex + 12, true, o32, 8, &used, &e), LM_EFORMAT);

	/* round trips: random walks, extremes (wrapping), one value, none */
	for (int round = 0; round < 40; round++) {
		size_t n = round == 0 ? 0 : round == 1 ? 1 : (size_t)(round * 37 % 1000);

		for (size_t i = 0; i < n; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			if (round % 3 == 0)
				in[i] = (int64_t)s;
			else if (round % 3 == 1)
				in[i] = (int64_t)(i * 3) - (int64_t)(s % 5);
			else
				in[i] = i % 2 ? INT64_MAX : INT64_MIN;
		}
		w->n = 0;
		delta_encode(w, in, n);
		cr_assert_eq(pq_delta_decode(w->b, w->b + w->n, false, out, n, &used, &e), 0,
			     "round %d: %s", round, e.msg);
		cr_assert_eq(used, w->n, "round %d", round);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(out[i], in[i], "round %d value %zu", round, i);
		/* every truncation fails cleanly */
		for (size_t cut = 0; n > 1 && cut < w->n; cut += 1 + w->n / 50)
			cr_assert_neq(pq_delta_decode(w->b, w->b + cut, false, out, n, &used, &e), 0);
	}
	free(w);
}


/* ---------------------------------------------------------------- codecs */

static size_t gzip_member(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

Test(parquet, codecs)
{
	enum { N = 100000 };
	uint8_t *raw = malloc(N), *cz = malloc(2 * N + 1024), *out = malloc(N + 16);
	struct pq_codec_ctx ctx = { 0 };
	struct lm_err e;
	size_t cn, half = N / 3;

	lm_err_init(&e);
	for (size_t i = 0; i < N; i++)
		raw[i] = (uint8_t)("parquet decoder "[i % 16] + (i / 1000) % 3);

	/* snappy; wrong announced size; corrupt data */
	cn = snappy_max_compressed_length(N);
	cr_assert_eq(snappy_compress((const char *)raw, N, (char *)cz, &cn), SNAPPY_OK);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_SNAPPY, cz, cn, out, N, &e), 0, "%s", e.msg);
	cr_assert(!memcmp(out, raw, N));
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_SNAPPY, cz, cn, out, N - 1, &e), LM_EFORMAT);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_SNAPPY, cz, cn / 2, out, N, &e), LM_EFORMAT);

	/* gzip: two concatenated members; truncated; sizes off by one */
	cn = gzip_member(raw, half, cz, 2 * N);
	cn += gzip_member(raw + half, N - half, cz + cn, 2 * N - cn);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_GZIP, cz, cn, out, N, &e), 0, "%s", e.msg);
	cr_assert(!memcmp(out, raw, N));
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_GZIP, cz, cn - 9, out, N, &e), LM_EFORMAT);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_GZIP, cz, cn, out, N - 1, &e), LM_EFORMAT);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_GZIP, cz, cn, out, N + 1, &e), LM_EFORMAT);

	/* zstd: two frames; the context is reused */
	cn = ZSTD_compress(cz, 2 * N, raw, half, 3);
	cr_assert(!ZSTD_isError(cn));
	cn += ZSTD_compress(cz + cn, 2 * N - cn, raw + half, N - half, 3);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_ZSTD, cz, cn, out, N, &e), 0, "%s", e.msg);
	cr_assert(!memcmp(out, raw, N));
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_ZSTD, cz, cn, out, N, &e), 0);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_ZSTD, cz, cn, out, N - 1, &e), LM_EFORMAT);
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_ZSTD, cz + 1, cn - 1, out, N, &e), LM_EFORMAT);

#ifdef LM_HAVE_LZ4
	/* LZ4_RAW; LZ4 with Hadoop framing (two blocks); LZ4 as a bare block */
	{
		int a = LZ4_compress_default((const char *)raw, (char *)cz, (int)N, 2 * N);
		int b1, b2;

		cr_assert_gt(a, 0);
		cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_LZ4_RAW, cz, (size_t)a, out, N, &e), 0);
		cr_assert(!memcmp(out, raw, N));
		cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_LZ4, cz, (size_t)a, out, N, &e), 0);
		cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_LZ4_RAW, cz, (size_t)a, out, N - 1, &e),
			     LM_EFORMAT);
		b1 = LZ4_compress_default((const char *)raw, (char *)cz + 8, (int)half, N);
		cz[0] = (uint8_t)(half >> 24); cz[1] = (uint8_t)(half >> 16);
		cz[2] = (uint8_t)(half >> 8); cz[3] = (uint8_t)half;
		cz[4] = (uint8_t)(b1 >> 24); cz[5] = (uint8_t)(b1 >> 16);
		cz[6] = (uint8_t)(b1 >> 8); cz[7] = (uint8_t)b1;
		b2 = LZ4_compress_default((const char *)raw + half, (char *)cz + 16 + b1,
					  (int)(N - half), N);
		{
			uint8_t *h = cz + 8 + b1;
			uint32_t r2 = (uint32_t)(N - half);

			h[0] = (uint8_t)(r2 >> 24); h[1] = (uint8_t)(r2 >> 16);
			h[2] = (uint8_t)(r2 >> 8); h[3] = (uint8_t)r2;
			h[4] = (uint8_t)(b2 >> 24); h[5] = (uint8_t)(b2 >> 16);
			h[6] = (uint8_t)(b2 >> 8); h[7] = (uint8_t)b2;
		}
		cn = (size_t)(16 + b1 + b2);
		memset(out, 0, N);
		cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_LZ4, cz, cn, out, N, &e), 0, "%s", e.msg);
		cr_assert(!memcmp(out, raw, N));
		cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_LZ4, cz, cn - 1, out, N, &e), LM_EFORMAT);
	}
#endif
	cr_assert_eq(pq_decompress(&ctx, LM_PARQUET_CODEC_BROTLI, cz, 10, out, N, &e), LM_EUNSUPPORTED);
	cr_assert(strstr(e.msg, "BROTLI"), "%s", e.msg);
	cr_assert_eq(pq_decompress(&ctx, 42, cz, 10, out, N, &e), LM_EUNSUPPORTED);
	pq_codec_ctx_free(&ctx);
	free(raw);
	free(cz);
	free(out);
}

/* A footer with the given schema (elements: name, type or -1 for a group, repetition,
 * children) and no row groups. */
struct el {
	const char *name;
	int type, rep, kids;
};

static void build_schema_file(struct w *f, const struct el *el, size_t n)
{
	struct w fm = { .n = 0 };
	int16_t l = 0, l2;

	f->n = 0;
	w_raw(f, "PAR1", 4);
	w_i32f(&fm, &l, 1, 1);
	w_fh(&fm, &l, 2, T_LIST);
	w_listh(&fm, T_STRUCT, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		l2 = 0;
		if (el[i].type >= 0)
			w_i32f(&fm, &l2, 1, el[i].type);
		if (i)
			w_i32f(&fm, &l2, 3, el[i].rep);
		w_binf(&fm, &l2, 4, el[i].name);
		if (el[i].kids >= 0)
			w_i32f(&fm, &l2, 5, el[i].kids);
		w_byte(&fm, 0);
	}
	w_i64f(&fm, &l, 3, 0);
	w_fh(&fm, &l, 4, T_LIST);
	w_listh(&fm, T_STRUCT, 0);
	w_byte(&fm, 0);
	w_raw(f, fm.b, fm.n);
	w_le32(f, (uint32_t)fm.n);
	w_raw(f, "PAR1", 4);
}

Test(parquet, schema_shapes_and_caps)
{
	struct w *f = calloc(1, sizeof(*f));
	struct el *el = calloc(200, sizeof(*el));
	struct lm_parquet_meta *m = NULL;
	struct lm_parquet_opts o;
	struct lm_err e;
	int k, v;

	lm_err_init(&e);
	/* 150 nested optional groups: refused; 20: levels add up */
	for (int depth = 150; depth >= 20; depth -= 130) {
		el[0] = (struct el){ "root", -1, 0, 1 };
		for (int i = 1; i < depth; i++)
			el[i] = (struct el){ "g", -1, LM_PARQUET_OPTIONAL, 1 };
		el[depth] = (struct el){ "x", LM_PARQUET_INT64, LM_PARQUET_OPTIONAL, -1 };
		build_schema_file(f, el, (size_t)depth + 1);
		if (depth == 150) {
			cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), LM_ETOOBIG);
			cr_assert(strstr(e.msg, "nested deeper"), "%s", e.msg);
			continue;
		}
		cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), 0, "%s", e.msg);
		cr_assert_eq(m->ncolumns, 1);
		cr_assert_eq(m->nodes[m->columns[0]].def_level, 20);
		cr_assert_eq(m->nrow_groups, 0);
		lm_parquet_opts_init(&o);
		o.max_schema = 10;
		lm_parquet_meta_free(m);
		cr_assert_eq(parse_file(f->b, f->n, &o, &m, &e), LM_ETOOBIG);
	}

	/* children claimed beyond the list; a leaf without a type */
	el[0] = (struct el){ "root", -1, 0, 3 };
	el[1] = (struct el){ "a", LM_PARQUET_INT32, LM_PARQUET_REQUIRED, -1 };
	build_schema_file(f, el, 2);
	cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), LM_EFORMAT);
	el[0].kids = 1;
	el[1].rep = 7;
	build_schema_file(f, el, 2);
	cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), LM_EFORMAT);

	/* list and map shapes: 3-level list, legacy 2-level list, bare repeated field, map */
	{
		static const struct el s[] = {
			{ "root", -1, 0, 4 },
			{ "l3", -1, LM_PARQUET_OPTIONAL, 1 },
			{ "list", -1, LM_PARQUET_REPEATED, 1 },
			{ "element", LM_PARQUET_BYTE_ARRAY, LM_PARQUET_OPTIONAL, -1 },
			{ "l2", -1, LM_PARQUET_OPTIONAL, 1 },
			{ "array", LM_PARQUET_INT32, LM_PARQUET_REPEATED, -1 },
			{ "bare", LM_PARQUET_INT64, LM_PARQUET_REPEATED, -1 },
			{ "m", -1, LM_PARQUET_OPTIONAL, 1 },
			{ "key_value", -1, LM_PARQUET_REPEATED, 2 },
			{ "key", LM_PARQUET_BYTE_ARRAY, LM_PARQUET_REQUIRED, -1 },
			{ "value", LM_PARQUET_BYTE_ARRAY, LM_PARQUET_OPTIONAL, -1 },
		};

		build_schema_file(f, s, sizeof(s) / sizeof(s[0]));
		cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), 0, "%s", e.msg);
		cr_assert_eq(m->ncolumns, 5);
		cr_assert_eq(lm_parquet_list_column(m, lm_parquet_node_find(m, "l3"), &k, &e), 0);
		cr_assert_eq(k, lm_parquet_column_find(m, "l3.list.element"));
		cr_assert_eq(lm_parquet_list_column(m, lm_parquet_node_find(m, "l2"), &k, &e), 0);
		cr_assert_eq(k, lm_parquet_column_find(m, "l2.array"));
		cr_assert_eq(lm_parquet_list_column(m, lm_parquet_node_find(m, "bare"), &k, &e), 0);
		cr_assert_eq(k, lm_parquet_column_find(m, "bare"));
		cr_assert_eq(lm_parquet_map_columns(m, lm_parquet_node_find(m, "m"), &k, &v, &e), 0);
		cr_assert_eq(k, lm_parquet_column_find(m, "m.key_value.key"));
		cr_assert_eq(v, lm_parquet_column_find(m, "m.key_value.value"));
		cr_assert_eq(m->nodes[lm_parquet_node_find(m, "m.key_value.value")].def_level, 3);
		cr_assert_eq(m->nodes[lm_parquet_node_find(m, "m.key_value.value")].rep_level, 1);
		cr_assert_eq(lm_parquet_map_columns(m, lm_parquet_node_find(m, "l3"), &k, &v, &e),
			     LM_EFORMAT);
		cr_assert_eq(lm_parquet_list_column(m, lm_parquet_node_find(m, "m"), &k, &e), LM_EFORMAT);
		cr_assert_eq(lm_parquet_list_column(m, -1, &k, &e), LM_EFORMAT);
		lm_parquet_meta_free(m);
	}
	free(el);
	free(f);
}

Test(parquet, output_cap)
{
	struct w *f = calloc(1, sizeof(*f));
	struct lm_parquet_opts o;
	struct lm_parquet_meta *m = NULL;
	struct lm_parquet_column c;
	struct lm_err e;

	lm_err_init(&e);
	build_file(f, F_DICT);
	lm_parquet_opts_init(&o);
	o.max_column_bytes = 64;
	cr_assert_eq(parse_file(f->b, f->n, &o, &m, &e), 0);
	cr_assert_eq(lm_parquet_column_read(m, 0, 0, f->b + m->row_groups[0].chunks[0].offset,
					    m->row_groups[0].chunks[0].length, &c, &e), LM_ETOOBIG,
		     "%s", e.msg);
	cr_assert(strstr(e.msg, "exceed the cap"), "%s", e.msg);
	lm_parquet_meta_free(m);
	free(f);
}

/* ------------------------------------------------------ hand-built files */

Test(parquet, handmade_plain_v1)
{
	struct w *f = calloc(1, sizeof(*f));
	struct lm_parquet_column c;
	struct lm_parquet_meta *m = NULL;
	struct lm_err e;

	lm_err_init(&e);
	build_file(f, 0);
	cr_assert_eq(read_s(f->b, f->n, &c, &e), 0, "%s", e.msg);
	check_s(&c);
	lm_parquet_column_free(&c);
	lm_parquet_column_free(&c);          /* idempotent */

	cr_assert_eq(parse_file(f->b, f->n, NULL, &m, &e), 0);
	cr_assert_eq(m->num_rows, 5);
	cr_assert_eq(m->ncolumns, 1);
	cr_assert_str_eq(m->created_by, "lm-test");
	cr_assert_eq(m->nkv, 1);
	cr_assert_str_eq(m->kv[0].key, "k");
	cr_assert_str_eq(m->kv[0].value, "v");
	cr_assert_eq(m->nodes[1].logical, LM_PARQUET_LT_STRING);
	cr_assert_eq(m->nodes[1].converted, LM_PARQUET_CT_UTF8);
	cr_assert_eq(lm_parquet_column_find(m, "s"), 0);
	cr_assert_eq(lm_parquet_column_find(m, "t"), -1);
	cr_assert_eq(lm_parquet_node_find(m, ""), 0);
	cr_assert_eq(lm_parquet_node_child(m, 0, "s"), 1);
	lm_parquet_meta_free(m);
	free(f);
}

Test(parquet, handmade_variants)
{
	static const unsigned variants[] = { F_JUNK, F_DICT, F_DICT | F_JUNK, F_V2,
					     F_V2 | F_DICT, F_V2 | F_DICT | F_JUNK };
	struct w *f = calloc(1, sizeof(*f));
	struct lm_parquet_column c;
	struct lm_err e;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		lm_err_init(&e);
		build_file(f, variants[i]);
		cr_assert_eq(read_s(f->b, f->n, &c, &e), 0, "variant %u: %s", variants[i], e.msg);
		check_s(&c);
		lm_parquet_column_free(&c);
	}
	free(f);
}

Test(parquet, handmade_hostile)
{
	struct w *f = calloc(1, sizeof(*f));
	struct lm_parquet_column c;
	struct lm_err e;

	lm_err_init(&e);
	build_file(f, F_DICT | F_BADIDX);
	cr_assert_eq(read_s(f->b, f->n, &c, &e), LM_EFORMAT);
	cr_assert(strstr(e.msg, "dictionary index 3 out of range"), "%s", e.msg);
	cr_assert(strstr(e.msg, "column 's'"), "%s", e.msg);
	cr_assert_null(c.data);

	build_file(f, F_BADDEF);
	cr_assert_eq(read_s(f->b, f->n, &c, &e), LM_EFORMAT);
	cr_assert(strstr(e.msg, "above the maximum"), "%s", e.msg);

	build_file(f, F_DEEP);
	cr_assert_eq(read_s(f->b, f->n, &c, &e), LM_EFORMAT);
	cr_assert(strstr(e.msg, "nesting deeper"), "%s", e.msg);

	/* magic, lengths */
	build_file(f, 0);
	{
		struct lm_parquet_meta *m = NULL;
		size_t need;
		uint8_t save = f->b[f->n - 1];

		f->b[f->n - 1] = 'X';
		cr_assert_eq(lm_parquet_footer_parse(f->b, f->n, f->n, NULL, &m, &need, &e),
			     LM_EFORMAT);
		cr_assert(strstr(e.msg, "no PAR1 magic"), "%s", e.msg);
		f->b[f->n - 1] = save;
		memcpy(f->b + f->n - 4, "PARE", 4);
		cr_assert_eq(lm_parquet_footer_parse(f->b, f->n, f->n, NULL, &m, &need, &e),
			     LM_EUNSUPPORTED);
		memcpy(f->b + f->n - 4, "PAR1", 4);
		cr_assert_eq(lm_parquet_footer_parse(f->b, 5, 0, NULL, &m, &need, &e), ENOBUFS);
		cr_assert_eq(need, 8);
		cr_assert_eq(lm_parquet_footer_parse(f->b + f->n - 8, 8, 0, NULL, &m, &need, &e),
			     ENOBUFS);
		cr_assert_gt(need, 8);
		cr_assert_eq(lm_parquet_footer_parse(f->b + f->n - need, need, 0, NULL, &m, &need,
						     &e), 0, "%s", e.msg);
		lm_parquet_meta_free(m);
		/* a footer length beyond the file */
		f->b[f->n - 6] = 0x7f;
		cr_assert_eq(lm_parquet_footer_parse(f->b, f->n, f->n, NULL, &m, &need, &e),
			     LM_EFORMAT);
		cr_assert_null(m);
	}
	/* caps */
	build_file(f, 0);
	{
		struct lm_parquet_opts o;
		struct lm_parquet_meta *m = NULL;

		lm_parquet_opts_init(&o);
		o.max_values = 4;
		cr_assert_eq(parse_file(f->b, f->n, &o, &m, &e), 0);
		cr_assert_eq(lm_parquet_column_read(m, 0, 0, f->b + m->row_groups[0].chunks[0].offset,
						    m->row_groups[0].chunks[0].length, &c, &e),
			     LM_ETOOBIG);
		cr_assert_eq(lm_parquet_column_read(m, 0, 0, f->b + m->row_groups[0].chunks[0].offset,
						    m->row_groups[0].chunks[0].length - 1, &c, &e),
			     LM_EFORMAT);
		cr_assert_eq(lm_parquet_column_read(m, 1, 0, f->b, f->n, &c, &e), EINVAL);
		lm_parquet_meta_free(m);
		o.max_footer = 16;
		cr_assert_eq(parse_file(f->b, f->n, &o, &m, &e), LM_ETOOBIG);
	}
	free(f);
}

/* Decode everything a buffer offers; the result does not matter, only that nothing
 * crashes, leaks or reads out of bounds (ASan/valgrind runs). */
static void decode_all(const uint8_t *b, size_t n)
{
	struct lm_parquet_opts o;
	struct lm_parquet_meta *m = NULL;
	struct lm_err e;

	lm_parquet_opts_init(&o);
	o.max_values = 1 << 20;
	o.max_column_bytes = 64 << 20;
	o.max_page = 16 << 20;
	if (lm_parquet_footer_parse(b, n, n, &o, &m, NULL, &e))
		return;
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		for (uint32_t ci = 0; ci < m->ncolumns; ci++) {
			const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[ci];
			struct lm_parquet_column c;
			struct lm_parquet_rows r;

			struct blocks bl = { 0 };
			struct lm_parquet_read_opts ro = { .alloc = blk_alloc, .alloc_ud = &bl };

			if (!lm_parquet_column_read_ex(m, g, ci, b + ch->offset, ch->length, &ro, &c,
						       &e))
				lm_parquet_column_free(&c);
			blk_free(&bl);
			if (lm_parquet_column_read(m, g, ci, b + ch->offset, ch->length, &c, &e))
				continue;
			if (!lm_parquet_rows_build(&c, &r, &e))
				lm_parquet_rows_free(&r);
			lm_parquet_column_free(&c);
		}
	}
	lm_parquet_meta_free(m);
}

static void mutate_all(const uint8_t *orig, size_t n)
{
	uint8_t *b = malloc(n);

	/* every truncation from the front (the tail protocol sees these) */
	for (size_t cut = 1; cut < n; cut++)
		decode_all(orig + cut, n - cut);
	/* every truncation from the back */
	for (size_t cut = 1; cut < n; cut++) {
		memcpy(b, orig, n - cut);
		decode_all(b, n - cut);
	}
	/* flip each byte three ways */
	for (size_t i = 0; i < n; i++) {
		static const uint8_t x[] = { 0x01, 0x80, 0xff };

		for (int k = 0; k < 3; k++) {
			memcpy(b, orig, n);
			b[i] ^= x[k];
			decode_all(b, n);
		}
	}
	free(b);
}

Test(parquet, handmade_mutations)
{
	static const unsigned variants[] = { F_JUNK, F_DICT | F_V2 };
	struct w *f = calloc(1, sizeof(*f));

	for (size_t i = 0; i < 2; i++) {
		build_file(f, variants[i]);
		mutate_all(f->b, f->n);
	}
	free(f);
}

#endif /* PQ_TEST_CORE */

/* ------------------------------------------------- rendering (see gen.mjs) */

static void put_str(struct lm_buf *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case '\\':
			lm_buf_append(o, "\\\\", 2);
			break;
		case '\t':
			lm_buf_append(o, "\\t", 2);
			break;
		case '\n':
			lm_buf_append(o, "\\n", 2);
			break;
		case '\r':
			lm_buf_append(o, "\\r", 2);
			break;
		default:
			lm_buf_append(o, p + i, 1);
		}
	}
}

static void put_value(struct lm_buf *o, const struct lm_parquet_column *c, int64_t k,
		      const char *kind)
{
	if (k < 0) {
		lm_buf_append(o, "\\N", 2);
		return;
	}
	switch (c->type) {
	case LM_PARQUET_BOOLEAN:
		lm_buf_printf(o, "%s", c->v.b[k] ? "true" : "false");
		break;
	case LM_PARQUET_INT32:
		lm_buf_printf(o, "%d", c->v.i32[k]);
		break;
	case LM_PARQUET_INT64:
		lm_buf_printf(o, "%lld", (long long)c->v.i64[k]);
		break;
	case LM_PARQUET_FLOAT:
		lm_buf_printf(o, "%.4f", (double)c->v.f32[k]);
		break;
	case LM_PARQUET_DOUBLE:
		lm_buf_printf(o, "%.4f", c->v.f64[k]);
		break;
	default: {
		size_t l;
		const uint8_t *p = lm_parquet_column_bytes(c, (size_t)k, &l);

		if (!strcmp(kind, "uuid") && l == 16) {
			for (int i = 0; i < 16; i++)
				lm_buf_printf(o, "%s%02x",
					      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", p[i]);
		} else {
			put_str(o, p, l);
		}
	}
	}
}

struct field {
	char path[256];
	char kind[16];
	int node;
	int col, col2;          /* leaf (or map key / list element), map value */
};

struct decoded {
	struct lm_parquet_column c;
	struct lm_parquet_rows r;
	bool done;
};

static int first_leaf(const struct lm_parquet_meta *m, int node)
{
	while (m->nodes[node].column < 0) {
		if (!m->nodes[node].nchildren)
			return -1;
		node = (int)m->nodes[node].children[0];
	}
	return m->nodes[node].column;
}

static struct decoded *get_col(const struct lm_parquet_meta *m, struct decoded *cache,
			       const uint8_t *file, uint32_t g, int col, const char *file_name)
{
	struct decoded *d = &cache[col];
	const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[col];
	struct lm_err e;

	if (d->done)
		return d;
	lm_err_init(&e);
	cr_assert_eq(lm_parquet_column_read(m, g, (uint32_t)col, file + ch->offset, ch->length,
					    &d->c, &e), 0, "%s: %s", file_name, e.msg);
	cr_assert_eq(lm_parquet_rows_build(&d->c, &d->r, &e), 0, "%s: %s", file_name, e.msg);
	cr_assert_eq(d->r.nrows, (size_t)m->row_groups[g].num_rows, "%s: rows of column %d",
		     file_name, col);
	d->done = true;
	return d;
}

static void put_field(struct lm_buf *o, const struct lm_parquet_meta *m, const struct field *f,
		      struct decoded *a, struct decoded *b, size_t row)
{
	const struct lm_parquet_node *nd = &m->nodes[f->node];

	if (!strcmp(f->kind, "present")) {
		lm_buf_printf(o, "%s", a->r.row_def[row] >= nd->def_level ? "1" : "0");
		return;
	}
	if (!strcmp(f->kind, "map") || !strcmp(f->kind, "list")) {
		bool map = f->kind[0] == 'm';

		if (a->r.row_def[row] < nd->def_level) {
			lm_buf_append(o, "\\N", 2);
			return;
		}
		lm_buf_append(o, map ? "{" : "[", 1);
		for (size_t e = a->r.row_start[row]; e < a->r.row_start[row + 1]; e++) {
			if (e > a->r.row_start[row])
				lm_buf_append(o, ";", 1);
			put_value(o, &a->c, a->r.value[e], "str");
			if (map) {
				lm_buf_append(o, "=", 1);
				put_value(o, &b->c, b ? b->r.value[e] : -1, "str");
			}
		}
		lm_buf_append(o, map ? "}" : "]", 1);
		return;
	}
	put_value(o, &a->c, a->r.value[row], f->kind);
}

/* Compare one file with DuckDB's rendering. Returns mismatching rows. */
static size_t compare_file(const char *file, const char *expect, char *spec)
{
	size_t n, en, mism = 0, line = 0;
	uint8_t *b = slurp(file, &n);
	char *exp = (char *)slurp(expect, &en), *ep;
	struct lm_parquet_meta *m = NULL;
	struct field *fields = calloc(128, sizeof(*fields));
	size_t nf = 0;
	struct lm_err e;
	struct lm_buf o;

	cr_assert_not_null(b, "%s", file);
	cr_assert_not_null(exp, "%s", expect);
	exp[en] = '\0';
	ep = exp;
	lm_err_init(&e);
	lm_buf_init(&o, 0);
	cr_assert_eq(parse_file(b, n, NULL, &m, &e), 0, "%s: %s", file, e.msg);
	for (char *rest = spec, *tok; (tok = next_tok(&rest, ',')) != NULL;) {
		struct field *f = &fields[nf++];
		char *colon = strrchr(tok, ':');

		cr_assert(nf < 128 && colon);
		*colon = '\0';
		snprintf(f->path, sizeof(f->path), "%s", tok);
		snprintf(f->kind, sizeof(f->kind), "%s", colon + 1);
		f->node = lm_parquet_node_find(m, f->path);
		cr_assert_geq(f->node, 0, "%s: no node %s", file, f->path);
		f->col2 = -1;
		if (!strcmp(f->kind, "map"))
			cr_assert_eq(lm_parquet_map_columns(m, f->node, &f->col, &f->col2, &e), 0,
				     "%s: %s", file, e.msg);
		else if (!strcmp(f->kind, "list"))
			cr_assert_eq(lm_parquet_list_column(m, f->node, &f->col, &e), 0, "%s: %s",
				     file, e.msg);
		else if (!strcmp(f->kind, "present"))
			f->col = first_leaf(m, f->node);
		else
			f->col = m->nodes[f->node].column;
		cr_assert_geq(f->col, 0, "%s: %s has no column", file, f->path);
	}
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		struct decoded *cache = calloc(m->ncolumns, sizeof(*cache));

		for (size_t r = 0; r < (size_t)m->row_groups[g].num_rows; r++, line++) {
			char *nl = strchr(ep, '\n');

			o.len = 0;
			for (size_t i = 0; i < nf; i++) {
				struct decoded *a = get_col(m, cache, b, g, fields[i].col, file);
				struct decoded *bb = fields[i].col2 >= 0
					? get_col(m, cache, b, g, fields[i].col2, file) : NULL;

				if (i)
					lm_buf_append(&o, "\t", 1);
				put_field(&o, m, &fields[i], a, bb, r);
			}
			cr_assert_not_null(nl, "%s: DuckDB has fewer rows (%zu)", file, line);
			*nl = '\0';
			if (strcmp(ep, o.data ? o.data : "")) {
				if (mism++ < 3)
					cr_log_error("%s row %zu:\n  duckdb: %.400s\n  lm:     %.400s",
						     file, line, ep, o.data);
			}
			ep = nl + 1;
		}
		for (uint32_t c = 0; c < m->ncolumns; c++) {
			lm_parquet_rows_free(&cache[c].r);
			lm_parquet_column_free(&cache[c].c);
		}
		free(cache);
	}
	cr_assert_eq(*ep, '\0', "%s: DuckDB has more rows than %zu", file, line);
	cr_assert_eq((int64_t)line, m->num_rows);
	lm_buf_free(&o);
	lm_parquet_meta_free(m);
	free(fields);
	free(exp);
	free(b);
	return mism;
}

/* Run the manifest rows whose parquet path starts (or not) with prefix. */
static void run_manifest(const char *prefix, bool want_prefix, size_t *files, size_t *bad)
{
	const char *dir = getenv("LM_PQ_FIXTURES");
	char path[4096];
	FILE *mf;
	char *line = NULL;
	size_t cap = 0;

	*files = *bad = 0;
	cr_assert(dir && *dir, "LM_PQ_FIXTURES not set");
	snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
	mf = fopen(path, "r");
	cr_assert_not_null(mf, "no %s (fixture generation failed?)", path);
	while (getline(&line, &cap, mf) > 0) {
		char *rest = line, *file, *exp, *spec;
		bool has = prefix && !strncmp(line, prefix, strlen(prefix));

		line[strcspn(line, "\n")] = '\0';
		file = next_tok(&rest, '\t');
		exp = next_tok(&rest, '\t');
		spec = next_tok(&rest, '\t');
		if (!file || !exp || !spec || has != want_prefix)
			continue;
		(*files)++;
		if (!strcmp(exp, "-")) {
			/* no known field: row count only */
			size_t n;
			uint8_t *b = slurp(file, &n);
			struct lm_parquet_meta *m = NULL;
			struct lm_err e;
			long long rows = strtoll(spec + 6, NULL, 10);

			cr_assert_not_null(b, "%s", file);
			cr_assert_eq(parse_file(b, n, NULL, &m, &e), 0, "%s: %s", file, e.msg);
			cr_assert_eq(m->num_rows, rows, "%s", file);
			lm_parquet_meta_free(m);
			free(b);
			continue;
		}
		if (compare_file(file, exp, spec))
			(*bad)++;
	}
	free(line);
	fclose(mf);
}

static const char *corpus_dir(void)
{
	const char *c = getenv("LM_CORPUS");
	struct stat st;

	if (!c || stat(c, &st) || !S_ISDIR(st.st_mode))
		return NULL;
	return c;
}

static void walk_parquet(const char *dir, size_t *files, size_t *failed, size_t *unsupported);

#if defined(PQ_TEST_CORE) && defined(PQ_TEST_FIXTURES)
Test(parquet, duckdb_fixtures)
{
	const char *dir = getenv("LM_PQ_FIXTURES");
	size_t files, bad, all = 0, failed = 0, unsupported = 0;

	run_manifest(dir, true, &files, &bad);
	cr_log_info("DuckDB fixtures: %zu files, %zu differ", files, bad);
	cr_assert_geq(files, 20, "too few fixtures in the manifest");
	cr_assert_eq(bad, 0);
	/* every column again with its byte arrays left in place (walk_parquet) */
	walk_parquet(dir, &all, &failed, &unsupported);
	cr_assert_geq(all, 20);
	cr_assert_eq(failed, 0);
}

#endif

#if defined(PQ_TEST_CORPUS) && defined(PQ_TEST_FIXTURES)
Test(parquet, corpus_vs_duckdb)
{
	const char *dir = getenv("LM_PQ_FIXTURES");
	size_t files, bad;

	cr_assert_not_null(corpus_dir(), "LM_CORPUS is not a directory");
	run_manifest(dir, false, &files, &bad);
	cr_log_info("corpus Delta log Parquet files: %zu compared with DuckDB, %zu differ",
		    files, bad);
	cr_assert_gt(files, 0, "no corpus files in the manifest");
	cr_assert_eq(bad, 0);
}

#endif

/* ---------------------------- corpus checkpoints vs the checkpoint oracle */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of column `path` with a value (0 when the column is absent). */
static size_t count_values(const struct lm_parquet_meta *m, const uint8_t *b, const char *path)
{
	int col = lm_parquet_column_find(m, path);
	size_t n = 0;
	struct lm_err e;

	for (uint32_t g = 0; col >= 0 && g < m->nrow_groups; g++) {
		const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[col];
		struct lm_parquet_column c;

		cr_assert_eq(lm_parquet_column_read(m, g, (uint32_t)col, b + ch->offset, ch->length,
						    &c, &e), 0, "%s", e.msg);
		n += c.num_values;
		lm_parquet_column_free(&c);
	}
	return n;
}

/* add.path of a classic checkpoint, sorted and rendered as the oracle does. NULL for
 * a v2 checkpoint in classic naming (its adds live in sidecars). */
static char *checkpoint_paths(const char *file, size_t *count)
{
	size_t n, np = 0;
	uint8_t *b = slurp(file, &n);
	struct lm_parquet_meta *m = NULL;
	struct lm_err e;
	char **v = NULL, *res;
	struct lm_buf o;
	int col;

	cr_assert_not_null(b);
	cr_assert_eq(parse_file(b, n, NULL, &m, &e), 0, "%s: %s", file, e.msg);
	if (count_values(m, b, "sidecar.path")) {
		lm_parquet_meta_free(m);
		free(b);
		return NULL;
	}
	col = lm_parquet_column_find(m, "add.path");
	cr_assert_geq(col, 0, "%s: no add.path", file);
	for (uint32_t g = 0; g < m->nrow_groups; g++) {
		const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[col];
		struct lm_parquet_column c;

		cr_assert_eq(lm_parquet_column_read(m, g, (uint32_t)col, b + ch->offset, ch->length,
						    &c, &e), 0, "%s: %s", file, e.msg);
		v = realloc(v, (np + c.num_values + 1) * sizeof(*v));
		for (size_t k = 0; k < c.num_values; k++) {
			size_t l;
			const uint8_t *p = lm_parquet_column_bytes(&c, k, &l);

			v[np++] = strndup((const char *)p, l);
		}
		lm_parquet_column_free(&c);
	}
	qsort(v, np, sizeof(*v), cmp_str);
	lm_buf_init(&o, 0);
	lm_buf_append(&o, "", 0);
	for (size_t i = 0; i < np; i++) {
		if (i)
			lm_buf_append(&o, np > 5000 ? "\n" : ",", 1);
		lm_buf_append(&o, v[i], strlen(v[i]));
		free(v[i]);
	}
	if (np > 5000) {
		unsigned char md[32];
		unsigned int ml = 0;

		EVP_Digest(o.data, o.len, md, &ml, EVP_sha256(), NULL);
		o.len = 0;
		lm_buf_append(&o, "sha256:", 7);
		for (unsigned i = 0; i < ml; i++)
			lm_buf_printf(&o, "%02x", md[i]);
	}
	res = lm_buf_take(&o, NULL);
	*count = np;
	free(v);
	lm_parquet_meta_free(m);
	free(b);
	return res;
}

#ifdef PQ_TEST_CORPUS
Test(parquet, corpus_checkpoints_vs_oracle)
{
	const char *corpus = corpus_dir();
	char path[4096];
	FILE *f;
	char *line = NULL;
	size_t cap = 0, checked = 0;

	cr_assert_not_null(corpus, "LM_CORPUS is not a directory");
	snprintf(path, sizeof(path), "%s/EXPECTED-checkpoint-oracle.tsv", corpus);
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	while (getline(&line, &cap, f) > 0) {
		char *rest = line, *table, *ver, *cnt, *paths, *endp;
		char file[4096];
		struct stat st;
		unsigned long long v;
		size_t count;
		char *got;

		line[strcspn(line, "\n")] = '\0';
		table = next_tok(&rest, '\t');
		ver = next_tok(&rest, '\t');
		cnt = next_tok(&rest, '\t');
		paths = next_tok(&rest, '\t');
		if (!table || !ver || !cnt || *ver == '*')
			continue;
		v = strtoull(ver, &endp, 10);
		if (*endp)
			continue;
		snprintf(file, sizeof(file), "%s/delta/%s/_delta_log/%020llu.checkpoint.parquet",
			 corpus, table, v);
		if (stat(file, &st))
			continue;
		got = checkpoint_paths(file, &count);
		if (!got) {
			cr_log_info("%s: v2 checkpoint with sidecars, skipped", file);
			continue;
		}
		cr_assert_eq(count, strtoull(cnt, NULL, 10), "%s: %zu adds, oracle %s", file,
			     count, cnt);
		cr_assert_str_eq(got, paths ? paths : "", "%s: add.path differs from the oracle",
				 file);
		free(got);
		checked++;
	}
	free(line);
	fclose(f);
	cr_log_info("classic checkpoints matching EXPECTED-checkpoint-oracle.tsv: %zu", checked);
	cr_assert_gt(checked, 10);
}

#endif

/* Every Parquet file of the corpus (data files of Delta, Iceberg and Hudi tables
 * too) decodes without error in every column, except for features this decoder
 * refuses by design — and with its byte arrays left in place too, to the same values. */
static void walk_parquet(const char *dir, size_t *files, size_t *failed, size_t *unsupported)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[4096];
		struct stat st;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_parquet(p, files, failed, unsupported);
		} else if (l > 8 && !strcmp(de->d_name + l - 8, ".parquet")) {
			size_t n;
			uint8_t *b = slurp(p, &n);
			struct lm_parquet_meta *m = NULL;
			struct lm_err e;
			int rc;

			if (!b)
				continue;
			(*files)++;
			lm_err_init(&e);
			rc = parse_file(b, n, NULL, &m, &e);
			for (uint32_t g = 0; !rc && g < m->nrow_groups; g++) {
				for (uint32_t c = 0; !rc && c < m->ncolumns; c++) {
					const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[c];
					struct lm_parquet_column col;

					rc = lm_parquet_column_read(m, g, c, b + ch->offset, ch->length,
								    &col, &e);
					if (!rc) {
						check_inplace(m, g, c, b + ch->offset, ch->length, &col, p);
						lm_parquet_column_free(&col);
					}
				}
			}
			if (rc == LM_EUNSUPPORTED) {
				(*unsupported)++;
				cr_log_info("%s: not supported: %s", p, e.msg);
			} else if (rc) {
				(*failed)++;
				cr_log_error("%s: %d %s", p, rc, e.msg);
			}
			lm_parquet_meta_free(m);
			free(b);
		}
	}
	closedir(d);
}

#ifdef PQ_TEST_CORPUS
Test(parquet, corpus_all_parquet_files_decode)
{
	const char *corpus = corpus_dir();
	size_t files = 0, failed = 0, unsupported = 0;

	cr_assert_not_null(corpus, "LM_CORPUS is not a directory");
	walk_parquet(corpus, &files, &failed, &unsupported);
	cr_log_info("corpus: %zu Parquet files, every column decoded in all but %zu failed and "
		    "%zu refused as unsupported", files, failed, unsupported);
	cr_assert_leq(unsupported, 5);
	cr_assert_gt(files, 100);
	cr_assert_eq(failed, 0);
}
#endif
