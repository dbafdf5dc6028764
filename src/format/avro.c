/* avro.c — Avro object container decoder (see include/lm/avro.h).
 * Owns struct lm_avro_reader: the parsed header and schema (one arena), the current
 * decompressed block and the value pool of the current record.
 * May call: libc, zlib, snappy-c, zstd, json (schema), arena, err. No I/O.
 *
 * Why an own decoder rather than avro-c: the inputs come from storage and may be
 * hostile; every length, count and varint here is checked against what remains and
 * against caps, values are decoded straight into a pool that is rewound per record
 * (no per-value malloc), longs stay int64 end to end, and the decoder is small
 * enough to fuzz as a whole (tests/fuzz/fuzz_avro.c).
 *
 * Value pool: record fields get a contiguous slice of the pool at once (their count
 * is known); array and map items, whose count is known only after all their blocks,
 * wait on a growable stack (addressed by index, it moves when it grows) and are
 * copied into the pool when the array ends. Pool chunks never move. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "lm/arena.h"
#include "lm/avro.h"
#include "lm/json.h"

struct meta_kv {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};

struct pool_chunk {
	struct pool_chunk *next;
	size_t cap, used;
	struct lm_avro_value v[];
};

struct named {
	const char *name;
	struct lm_avro_schema *s;
};

struct lm_avro_reader {
	const uint8_t *data;
	size_t len, pos;           /* file position (after the header: next block) */
	uint8_t sync[16];
	struct meta_kv *meta;
	size_t nmeta;
	struct lm_avro_limits lim;
	int codec;                 /* 0 null, 1 deflate, 2 snappy, 3 zstd */
	struct lm_arena arena;     /* schema */
	struct lm_avro_schema *schema;
	/* schema parsing */
	struct named *names;
	size_t nnames, capnames, schema_nodes;
	/* current block */
	const uint8_t *blk;
	size_t blen, bpos;
	int64_t bleft;             /* records left in the block */
	uint8_t *dbuf;             /* decompression buffer */
	size_t dcap;
	/* values of the current record */
	struct pool_chunk *pool;
	size_t pool_total, nvalues;
	struct lm_avro_value *stack;
	size_t top, scap;
	struct lm_avro_value root;
	ZSTD_DCtx *zctx;
};

/* ---------- varints ---------- */

/* Zigzag varint long at buf[*pos..len). */
static int read_long(const uint8_t *buf, size_t len, size_t *pos, int64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	size_t p = *pos;

	for (;;) {
		uint8_t b;

		if (p >= len || shift > 63)
			return LM_EFORMAT;
		b = buf[p++];
		if (shift == 63 && (b & 0x7e))
			return LM_EFORMAT;   /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	*pos = p;
	*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	return 0;
}

/* ---------- schema ---------- */

static const char *prim_names[] = {
	[LM_AVRO_NULL] = "null",     [LM_AVRO_BOOLEAN] = "boolean", [LM_AVRO_INT] = "int",
	[LM_AVRO_LONG] = "long",     [LM_AVRO_FLOAT] = "float",     [LM_AVRO_DOUBLE] = "double",
	[LM_AVRO_BYTES] = "bytes",   [LM_AVRO_STRING] = "string",
};

static struct lm_avro_schema *new_node(struct lm_avro_reader *r, uint8_t type,
				       struct lm_err *err)
{
	struct lm_avro_schema *s;

	if (++r->schema_nodes > r->lim.max_schema_nodes) {
		lm_err_set(err, LM_ETOOBIG, "Avro schema: more than %zu types",
			   r->lim.max_schema_nodes);
		return NULL;
	}
	s = lm_arena_alloc(&r->arena, sizeof(*s));
	if (!s) {
		lm_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->type = type;
	return s;
}

static struct lm_avro_schema *find_named(struct lm_avro_reader *r, const char *name,
					 const char *ns)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (!strcmp(r->names[i].name, name))
			return r->names[i].s;
	if (ns && *ns && !strchr(name, '.')) {
		size_t nl = strlen(ns), l = strlen(name);

		for (size_t i = 0; i < r->nnames; i++) {
			const char *f = r->names[i].name;

			if (strlen(f) == nl + 1 + l && !strncmp(f, ns, nl) && f[nl] == '.' &&
			    !strcmp(f + nl + 1, name))
				return r->names[i].s;
		}
	}
	return NULL;
}

static int add_named(struct lm_avro_reader *r, const struct lm_json *def, const char *ns,
		     struct lm_avro_schema *s, const char **ns_out, struct lm_err *err)
{
	const char *name = lm_json_str(lm_json_get(def, "name"));
	const char *dns = lm_json_str(lm_json_get(def, "namespace"));
	char *full;

	if (!name || !*name)
		return lm_err_set(err, LM_EFORMAT, "Avro schema: a named type without a name");
	if (strchr(name, '.')) {
		full = lm_arena_strdup(&r->arena, name);
		if (full) {
			char *dot = strrchr(full, '.');

			*ns_out = lm_arena_strndup(&r->arena, full, (size_t)(dot - full));
		}
	} else {
		const char *use = dns ? dns : ns;
		size_t ul = use ? strlen(use) : 0, nl = strlen(name);

		full = lm_arena_alloc(&r->arena, ul + nl + 2);
		if (full) {
			if (ul) {
				memcpy(full, use, ul);
				full[ul] = '.';
				memcpy(full + ul + 1, name, nl + 1);
			} else {
				memcpy(full, name, nl + 1);
			}
		}
		*ns_out = use;
	}
	if (!full)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (find_named(r, full, NULL))
		return lm_err_set(err, LM_EFORMAT, "Avro schema: type %s defined twice", full);
	if (r->nnames == r->capnames) {
		size_t nc = r->capnames ? r->capnames * 2 : 16;
		struct named *nn = realloc(r->names, nc * sizeof(*nn));

		if (!nn)
			return lm_err_set(err, ENOMEM, "out of memory");
		r->names = nn;
		r->capnames = nc;
	}
	r->names[r->nnames].name = full;
	r->names[r->nnames].s = s;
	r->nnames++;
	s->name = full;
	return 0;
}

static int parse_schema(struct lm_avro_reader *r, const struct lm_json *j, const char *ns,
			unsigned depth, struct lm_avro_schema **out, struct lm_err *err);

static int parse_record(struct lm_avro_reader *r, const struct lm_json *j, const char *ns,
			unsigned depth, struct lm_avro_schema *s, struct lm_err *err)
{
	const struct lm_json *fields = lm_json_get(j, "fields");
	const char *myns = ns;
	int rc = add_named(r, j, ns, s, &myns, err);

	if (rc)
		return rc;
	if (!fields || fields->type != LM_JSON_ARRAY)
		return lm_err_set(err, LM_EFORMAT, "Avro schema: record %s without fields", s->name);
	s->n = fields->n;
	if (s->n) {
		s->sub = lm_arena_alloc(&r->arena, s->n * sizeof(*s->sub));
		s->field_names = lm_arena_alloc(&r->arena, s->n * sizeof(*s->field_names));
		s->field_ids = lm_arena_alloc(&r->arena, s->n * sizeof(*s->field_ids));
		if (!s->sub || !s->field_names || !s->field_ids)
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < s->n; i++) {
		const struct lm_json *f = &fields->u.kids[i];
		const char *fname = lm_json_str(lm_json_get(f, "name"));
		int64_t id;

		if (!fname)
			return lm_err_set(err, LM_EFORMAT, "Avro schema: record %s: a field without a name",
					  s->name);
		s->field_names[i] = fname;
		s->field_ids[i] = -1;
		if (!lm_json_i64(lm_json_get(f, "field-id"), &id) && id >= 0 && id <= INT32_MAX)
			s->field_ids[i] = (int32_t)id;
		rc = parse_schema(r, lm_json_get(f, "type"), myns, depth + 1, &s->sub[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_schema(struct lm_avro_reader *r, const struct lm_json *j, const char *ns,
			unsigned depth, struct lm_avro_schema **out, struct lm_err *err)
{
	struct lm_avro_schema *s = NULL;
	const char *t;
	int rc;

	if (depth > r->lim.max_depth)
		return lm_err_set(err, LM_ETOOBIG, "Avro schema: nesting deeper than %u",
				  r->lim.max_depth);
	if (!j)
		return lm_err_set(err, LM_EFORMAT, "Avro schema: missing type");
	if (j->type == LM_JSON_STRING) {
		for (size_t k = 0; k < sizeof(prim_names) / sizeof(prim_names[0]); k++) {
			if (!strcmp(j->u.str, prim_names[k])) {
				s = new_node(r, (uint8_t)k, err);
				if (!s)
					return err ? err->code : ENOMEM;
				*out = s;
				return 0;
			}
		}
		s = find_named(r, j->u.str, ns);
		if (!s)
			return lm_err_set(err, LM_EFORMAT, "Avro schema: unknown type '%.64s'",
					  j->u.str);
		*out = s;
		return 0;
	}
	if (j->type == LM_JSON_ARRAY) {
		s = new_node(r, LM_AVRO_UNION, err);
		if (!s)
			return err ? err->code : ENOMEM;
		s->n = j->n;
		if (!s->n)
			return lm_err_set(err, LM_EFORMAT, "Avro schema: empty union");
		s->sub = lm_arena_alloc(&r->arena, s->n * sizeof(*s->sub));
		if (!s->sub)
			return lm_err_set(err, ENOMEM, "out of memory");
		for (uint32_t i = 0; i < s->n; i++) {
			rc = parse_schema(r, &j->u.kids[i], ns, depth + 1, &s->sub[i], err);
			if (rc)
				return rc;
			if (s->sub[i]->type == LM_AVRO_UNION)
				return lm_err_set(err, LM_EFORMAT, "Avro schema: union inside a union");
		}
		*out = s;
		return 0;
	}
	if (j->type != LM_JSON_OBJECT)
		return lm_err_set(err, LM_EFORMAT, "Avro schema: a type must be a name, an object or a union");
	{
		const struct lm_json *tj = lm_json_get(j, "type");

		if (tj && (tj->type == LM_JSON_OBJECT || tj->type == LM_JSON_ARRAY))
			return parse_schema(r, tj, ns, depth + 1, out, err);
		t = lm_json_str(tj);
	}
	if (!t)
		return lm_err_set(err, LM_EFORMAT, "Avro schema: an object type without \"type\"");
	if (!strcmp(t, "record") || !strcmp(t, "error")) {
		s = new_node(r, LM_AVRO_RECORD, err);
		if (!s)
			return err ? err->code : ENOMEM;
		rc = parse_record(r, j, ns, depth, s, err);
		if (rc)
			return rc;
	} else if (!strcmp(t, "enum")) {
		const struct lm_json *sy = lm_json_get(j, "symbols");
		const char *myns;

		s = new_node(r, LM_AVRO_ENUM, err);
		if (!s)
			return err ? err->code : ENOMEM;
		rc = add_named(r, j, ns, s, &myns, err);
		if (rc)
			return rc;
		if (!sy || sy->type != LM_JSON_ARRAY || !sy->n)
			return lm_err_set(err, LM_EFORMAT, "Avro schema: enum %s without symbols", s->name);
		s->n = sy->n;
		s->symbols = lm_arena_alloc(&r->arena, s->n * sizeof(*s->symbols));
		if (!s->symbols)
			return lm_err_set(err, ENOMEM, "out of memory");
		for (uint32_t i = 0; i < s->n; i++) {
			s->symbols[i] = lm_json_str(&sy->u.kids[i]);
			if (!s->symbols[i])
				return lm_err_set(err, LM_EFORMAT, "Avro schema: enum %s: a symbol is not a string",
						  s->name);
		}
	} else if (!strcmp(t, "fixed")) {
		int64_t size;
		const char *myns;

		s = new_node(r, LM_AVRO_FIXED, err);
		if (!s)
			return err ? err->code : ENOMEM;
		rc = add_named(r, j, ns, s, &myns, err);
		if (rc)
			return rc;
		if (lm_json_i64(lm_json_get(j, "size"), &size) || size < 0 || size > (1 << 20))
			return lm_err_set(err, LM_EFORMAT, "Avro schema: fixed %s: bad size", s->name);
		s->n = (uint32_t)size;
	} else if (!strcmp(t, "array") || !strcmp(t, "map")) {
		bool arr = t[0] == 'a';

		s = new_node(r, arr ? LM_AVRO_ARRAY : LM_AVRO_MAP, err);
		if (!s)
			return err ? err->code : ENOMEM;
		s->n = 1;
		s->sub = lm_arena_alloc(&r->arena, sizeof(*s->sub));
		if (!s->sub)
			return lm_err_set(err, ENOMEM, "out of memory");
		rc = parse_schema(r, lm_json_get(j, arr ? "items" : "values"), ns, depth + 1,
				  &s->sub[0], err);
		if (rc)
			return rc;
	} else {
		/* A primitive in object form, maybe with a logicalType: {"type":"long"}. */
		for (size_t k = 0; k < sizeof(prim_names) / sizeof(prim_names[0]); k++) {
			if (!strcmp(t, prim_names[k])) {
				s = new_node(r, (uint8_t)k, err);
				if (!s)
					return err ? err->code : ENOMEM;
				break;
			}
		}
		if (!s) {
			s = find_named(r, t, ns);
			if (!s)
				return lm_err_set(err, LM_EFORMAT, "Avro schema: unknown type '%.64s'", t);
		}
	}
	*out = s;
	return 0;
}

/* ---------- codecs ---------- */

static int grow_dbuf(struct lm_avro_reader *r, size_t want, struct lm_err *err)
{
	uint8_t *nb;

	if (want <= r->dcap)
		return 0;
	if (want > r->lim.max_block)
		want = r->lim.max_block;
	if (want <= r->dcap)
		return lm_err_set(err, LM_ETOOBIG, "Avro block larger than %zu bytes when decompressed",
				  r->lim.max_block);
	nb = realloc(r->dbuf, want);
	if (!nb)
		return lm_err_set(err, ENOMEM, "out of memory");
	r->dbuf = nb;
	r->dcap = want;
	return 0;
}

static int inflate_raw(struct lm_avro_reader *r, const uint8_t *src, size_t n, size_t *outlen,
		       struct lm_err *err)
{
	z_stream z;
	int zr, rc = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return lm_err_set(err, ENOMEM, "out of memory (zlib)");
	if ((rc = grow_dbuf(r, n * 4 + 1024, err)))
		goto out;
	z.next_in = (Bytef *)src;
	z.avail_in = 0;
	z.next_out = r->dbuf;
	z.avail_out = 0;
	for (;;) {
		size_t in_done = (size_t)(z.next_in - src), out_done = (size_t)(z.next_out - r->dbuf);

		if (z.avail_in == 0) {
			size_t left = n - in_done;

			z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
		}
		if (z.avail_out == 0) {
			if (out_done == r->dcap) {
				if ((rc = grow_dbuf(r, r->dcap * 2, err)))
					goto out;
				z.next_out = r->dbuf + out_done;
			}
			{
				size_t room = r->dcap - out_done;

				z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
			}
		}
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && z.avail_in == 0 && (size_t)(z.next_in - src) == n) {
			rc = lm_err_set(err, LM_EFORMAT, "Avro block: truncated deflate data");
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = lm_err_set(err, LM_EFORMAT, "Avro block: corrupt deflate data");
			goto out;
		}
	}
	*outlen = (size_t)(z.next_out - r->dbuf);
out:
	inflateEnd(&z);
	return rc;
}

static int unzstd(struct lm_avro_reader *r, const uint8_t *src, size_t n, size_t *outlen,
		  struct lm_err *err)
{
	ZSTD_inBuffer in = { src, n, 0 };
	size_t done = 0;
	int rc;

	if (!r->zctx && !(r->zctx = ZSTD_createDCtx()))
		return lm_err_set(err, ENOMEM, "out of memory (zstd)");
	ZSTD_DCtx_reset(r->zctx, ZSTD_reset_session_only);
	if ((rc = grow_dbuf(r, n * 4 + 1024, err)))
		return rc;
	for (;;) {
		ZSTD_outBuffer o = { r->dbuf, r->dcap, done };
		size_t z = ZSTD_decompressStream(r->zctx, &o, &in);

		done = o.pos;
		if (ZSTD_isError(z))
			return lm_err_set(err, LM_EFORMAT, "Avro block: corrupt zstd data (%s)",
					  ZSTD_getErrorName(z));
		if (z == 0 && in.pos == in.size)
			break;
		if (in.pos == in.size && o.pos < o.size)
			return lm_err_set(err, LM_EFORMAT, "Avro block: truncated zstd data");
		if (o.pos == o.size && (rc = grow_dbuf(r, r->dcap * 2, err)))
			return rc;
	}
	*outlen = done;
	return 0;
}

static int unsnappy(struct lm_avro_reader *r, const uint8_t *src, size_t n, size_t *outlen,
		    struct lm_err *err)
{
	size_t ulen;
	uint32_t want;
	int rc;

	if (n < 4)
		return lm_err_set(err, LM_EFORMAT, "Avro block: snappy data without its CRC");
	n -= 4;
	if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
		return lm_err_set(err, LM_EFORMAT, "Avro block: corrupt snappy data");
	if (ulen > r->lim.max_block)
		return lm_err_set(err, LM_ETOOBIG, "Avro block larger than %zu bytes when decompressed",
				  r->lim.max_block);
	if ((rc = grow_dbuf(r, ulen ? ulen : 1, err)))
		return rc;
	*outlen = r->dcap;
	if (snappy_uncompress((const char *)src, n, (char *)r->dbuf, outlen) != SNAPPY_OK ||
	    *outlen != ulen)
		return lm_err_set(err, LM_EFORMAT, "Avro block: corrupt snappy data");
	want = (uint32_t)src[n] << 24 | (uint32_t)src[n + 1] << 16 | (uint32_t)src[n + 2] << 8 |
	       src[n + 3];
	if ((uint32_t)crc32(0, r->dbuf, (uInt)ulen) != want)
		return lm_err_set(err, LM_EFORMAT, "Avro block: snappy CRC mismatch");
	return 0;
}

/* ---------- header ---------- */

int lm_avro_open(const void *data, size_t len, const struct lm_avro_limits *lim,
		 struct lm_avro_reader **out, struct lm_err *err)
{
	struct lm_avro_reader *r = calloc(1, sizeof(*r));
	struct lm_json_doc *doc = NULL;
	const uint8_t *b = data;
	size_t capmeta = 0;
	int rc = 0;

	*out = NULL;
	if (!r)
		return lm_err_set(err, ENOMEM, "out of memory");
	lm_arena_init(&r->arena);
	r->data = b;
	r->len = len;
	if (lim)
		r->lim = *lim;
	if (!r->lim.max_block)
		r->lim.max_block = (size_t)256 << 20;
	if (!r->lim.max_values)
		r->lim.max_values = (size_t)4 << 20;
	if (!r->lim.max_depth)
		r->lim.max_depth = 64;
	if (!r->lim.max_schema_nodes)
		r->lim.max_schema_nodes = 100000;
	if (!b || len < 4 || memcmp(b, "Obj\x01", 4) != 0) {
		rc = lm_err_set(err, LM_EFORMAT, "not an Avro object container file (bad magic)");
		goto out;
	}
	r->pos = 4;
	for (;;) {
		int64_t cnt, bsize;

		if (read_long(b, len, &r->pos, &cnt)) {
			rc = lm_err_set(err, LM_EFORMAT, "Avro header: truncated metadata");
			goto out;
		}
		if (cnt == 0)
			break;
		if (cnt < 0) {
			if (cnt == INT64_MIN || read_long(b, len, &r->pos, &bsize)) {
				rc = lm_err_set(err, LM_EFORMAT, "Avro header: bad metadata block");
				goto out;
			}
			cnt = -cnt;
		}
		if ((uint64_t)cnt > len - r->pos) {
			rc = lm_err_set(err, LM_EFORMAT, "Avro header: metadata count beyond the file");
			goto out;
		}
		for (int64_t i = 0; i < cnt; i++) {
			int64_t kl, vl;
			struct meta_kv kv;

			if (read_long(b, len, &r->pos, &kl) || kl < 0 || (uint64_t)kl > len - r->pos) {
				rc = lm_err_set(err, LM_EFORMAT, "Avro header: bad metadata key");
				goto out;
			}
			kv.key = b + r->pos;
			kv.klen = (size_t)kl;
			r->pos += (size_t)kl;
			if (read_long(b, len, &r->pos, &vl) || vl < 0 || (uint64_t)vl > len - r->pos) {
				rc = lm_err_set(err, LM_EFORMAT, "Avro header: bad metadata value");
				goto out;
			}
			kv.val = b + r->pos;
			kv.vlen = (size_t)vl;
			r->pos += (size_t)vl;
			if (r->nmeta == capmeta) {
				size_t nc = capmeta ? capmeta * 2 : 16;
				struct meta_kv *nm = realloc(r->meta, nc * sizeof(*nm));

				if (!nm) {
					rc = lm_err_set(err, ENOMEM, "out of memory");
					goto out;
				}
				r->meta = nm;
				capmeta = nc;
			}
			r->meta[r->nmeta++] = kv;
		}
	}
	if (len - r->pos < 16) {
		rc = lm_err_set(err, LM_EFORMAT, "Avro header: truncated sync marker");
		goto out;
	}
	memcpy(r->sync, b + r->pos, 16);
	r->pos += 16;
	{
		size_t cl;
		const uint8_t *c = lm_avro_meta(r, "avro.codec", &cl);

		if (!c || (cl == 4 && !memcmp(c, "null", 4)))
			r->codec = 0;
		else if (cl == 7 && !memcmp(c, "deflate", 7))
			r->codec = 1;
		else if (cl == 6 && !memcmp(c, "snappy", 6))
			r->codec = 2;
		else if (cl == 9 && !memcmp(c, "zstandard", 9))
			r->codec = 3;
		else {
			rc = lm_err_set(err, LM_EUNSUPPORTED, "Avro codec '%.*s' is not supported",
					(int)(cl > 32 ? 32 : cl), (const char *)c);
			goto out;
		}
	}
	{
		size_t sl;
		const uint8_t *sj = lm_avro_meta(r, "avro.schema", &sl);
		struct lm_json_limits jl = { .max_depth = r->lim.max_depth * 2 + 8 };

		if (!sj) {
			rc = lm_err_set(err, LM_EFORMAT, "Avro header: no avro.schema");
			goto out;
		}
		rc = lm_json_parse((const char *)sj, sl, &jl, &doc, err);
		if (rc) {
			lm_err_prefix(err, "Avro schema: ");
			goto out;
		}
		rc = parse_schema(r, lm_json_doc_root(doc), NULL, 0, &r->schema, err);
		if (rc)
			goto out;
		/* Field names point into the JSON document: keep them in our arena. */
		for (size_t i = 0; i < r->nnames; i++) {
			struct lm_avro_schema *s = r->names[i].s;

			for (uint32_t k = 0; s->type == LM_AVRO_RECORD && k < s->n; k++) {
				s->field_names[k] = lm_arena_strdup(&r->arena, s->field_names[k]);
				if (!s->field_names[k]) {
					rc = lm_err_set(err, ENOMEM, "out of memory");
					goto out;
				}
			}
			for (uint32_t k = 0; s->type == LM_AVRO_ENUM && k < s->n; k++) {
				s->symbols[k] = lm_arena_strdup(&r->arena, s->symbols[k]);
				if (!s->symbols[k]) {
					rc = lm_err_set(err, ENOMEM, "out of memory");
					goto out;
				}
			}
		}
	}
	*out = r;
	r = NULL;
out:
	lm_json_doc_free(doc);
	lm_avro_close(r);
	return rc;
}

void lm_avro_close(struct lm_avro_reader *r)
{
	struct pool_chunk *c;

	if (!r)
		return;
	c = r->pool;
	while (c) {
		struct pool_chunk *n = c->next;

		free(c);
		c = n;
	}
	if (r->zctx)
		ZSTD_freeDCtx(r->zctx);
	free(r->stack);
	free(r->dbuf);
	free(r->meta);
	free(r->names);
	lm_arena_free(&r->arena);
	free(r);
}

const uint8_t *lm_avro_meta(const struct lm_avro_reader *r, const char *key, size_t *len)
{
	size_t kl = strlen(key);

	for (size_t i = r->nmeta; i-- > 0;) {
		if (r->meta[i].klen == kl && !memcmp(r->meta[i].key, key, kl)) {
			if (len)
				*len = r->meta[i].vlen;
			return r->meta[i].val;
		}
	}
	return NULL;
}

const struct lm_avro_schema *lm_avro_schema(const struct lm_avro_reader *r)
{
	return r->schema;
}

const char *lm_avro_codec(const struct lm_avro_reader *r)
{
	static const char *names[] = { "null", "deflate", "snappy", "zstandard" };

	return names[r->codec];
}

/* ---------- values ---------- */

static void pool_rewind(struct lm_avro_reader *r)
{
	/* Keep one chunk big enough for what the last record needed. */
	if (r->pool && r->pool->next) {
		struct pool_chunk *c = r->pool;
		size_t want = r->pool_total;

		while (c) {
			struct pool_chunk *n = c->next;

			free(c);
			c = n;
		}
		r->pool = malloc(sizeof(*r->pool) + want * sizeof(struct lm_avro_value));
		if (r->pool) {
			r->pool->next = NULL;
			r->pool->cap = want;
		}
	}
	if (r->pool)
		r->pool->used = 0;
	r->pool_total = 0;
	r->nvalues = 0;
}

static struct lm_avro_value *pool_alloc(struct lm_avro_reader *r, size_t n, struct lm_err *err)
{
	struct pool_chunk *c = r->pool;

	if (n > r->lim.max_values || r->nvalues > r->lim.max_values - n) {
		lm_err_set(err, LM_ETOOBIG, "Avro record with more than %zu values", r->lim.max_values);
		return NULL;
	}
	r->nvalues += n;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : 1024;

		if (cap < n)
			cap = n;
		c = malloc(sizeof(*c) + cap * sizeof(struct lm_avro_value));
		if (!c) {
			lm_err_set(err, ENOMEM, "out of memory");
			return NULL;
		}
		c->cap = cap;
		c->used = 0;
		c->next = r->pool;
		r->pool = c;
	}
	c->used += n;
	r->pool_total += n;
	return c->v + c->used - n;
}

static int stack_push(struct lm_avro_reader *r, const struct lm_avro_value *v, struct lm_err *err)
{
	if (r->top == r->scap) {
		size_t nc = r->scap ? r->scap * 2 : 256;
		struct lm_avro_value *ns = realloc(r->stack, nc * sizeof(*ns));

		if (!ns)
			return lm_err_set(err, ENOMEM, "out of memory");
		r->stack = ns;
		r->scap = nc;
	}
	r->stack[r->top++] = *v;
	return 0;
}

static int bad(struct lm_err *err, const char *what)
{
	return lm_err_set(err, LM_EFORMAT, "Avro data: %s", what);
}

static int decode(struct lm_avro_reader *r, const struct lm_avro_schema *s, unsigned depth,
		  struct lm_avro_value *v, struct lm_err *err)
{
	const uint8_t *b = r->blk;
	size_t len = r->blen;
	int64_t x;
	int rc;

	if (depth > r->lim.max_depth)
		return lm_err_set(err, LM_ETOOBIG, "Avro data nested deeper than %u", r->lim.max_depth);
	v->branch = -1;
	if (s->type == LM_AVRO_UNION) {
		if (read_long(b, len, &r->bpos, &x) || x < 0 || x >= s->n)
			return bad(err, "bad union branch");
		rc = decode(r, s->sub[x], depth + 1, v, err);
		v->branch = (int32_t)x;
		return rc;
	}
	v->schema = s;
	v->n = 0;
	switch (s->type) {
	case LM_AVRO_NULL:
		return 0;
	case LM_AVRO_BOOLEAN:
		if (r->bpos >= len || b[r->bpos] > 1)
			return bad(err, "bad boolean");
		v->u.l = b[r->bpos++];
		return 0;
	case LM_AVRO_INT:
		if (read_long(b, len, &r->bpos, &x) || x < INT32_MIN || x > INT32_MAX)
			return bad(err, "bad int");
		v->u.l = x;
		return 0;
	case LM_AVRO_LONG:
		if (read_long(b, len, &r->bpos, &x))
			return bad(err, "bad long");
		v->u.l = x;
		return 0;
	case LM_AVRO_FLOAT: {
		float f;

		if (len - r->bpos < 4)
			return bad(err, "truncated float");
		memcpy(&f, b + r->bpos, 4);   /* Avro is little-endian, as are our targets */
		r->bpos += 4;
		v->u.d = f;
		return 0;
	}
	case LM_AVRO_DOUBLE:
		if (len - r->bpos < 8)
			return bad(err, "truncated double");
		memcpy(&v->u.d, b + r->bpos, 8);
		r->bpos += 8;
		return 0;
	case LM_AVRO_BYTES:
	case LM_AVRO_STRING:
		if (read_long(b, len, &r->bpos, &x) || x < 0 || (uint64_t)x > len - r->bpos ||
		    x > UINT32_MAX)
			return bad(err, "bad string or bytes length");
		v->u.bytes = b + r->bpos;
		v->n = (uint32_t)x;
		r->bpos += (size_t)x;
		return 0;
	case LM_AVRO_FIXED:
		if (len - r->bpos < s->n)
			return bad(err, "truncated fixed");
		v->u.bytes = b + r->bpos;
		v->n = s->n;
		r->bpos += s->n;
		return 0;
	case LM_AVRO_ENUM:
		if (read_long(b, len, &r->bpos, &x) || x < 0 || x >= s->n)
			return bad(err, "bad enum index");
		v->u.l = x;
		return 0;
	case LM_AVRO_RECORD: {
		struct lm_avro_value *f = NULL;

		if (s->n && !(f = pool_alloc(r, s->n, err)))
			return err ? err->code : ENOMEM;
		v->u.items = f;
		v->n = s->n;
		for (uint32_t i = 0; i < s->n; i++)
			if ((rc = decode(r, s->sub[i], depth + 1, &f[i], err)))
				return rc;
		return 0;
	}
	case LM_AVRO_ARRAY:
	case LM_AVRO_MAP: {
		bool map = s->type == LM_AVRO_MAP;
		size_t base = r->top, cnt;
		struct lm_avro_value *items = NULL;
		static const struct lm_avro_schema str_schema = { .type = LM_AVRO_STRING };

		for (;;) {
			int64_t k, bytes;

			if (read_long(b, len, &r->bpos, &k))
				return bad(err, "bad array/map block count");
			if (k == 0)
				break;
			if (k < 0) {
				if (k == INT64_MIN || read_long(b, len, &r->bpos, &bytes) || bytes < 0)
					return bad(err, "bad array/map block size");
				k = -k;
			}
			if ((uint64_t)k > r->lim.max_values)
				return lm_err_set(err, LM_ETOOBIG, "Avro array/map block of %lld items",
						  (long long)k);
			for (int64_t i = 0; i < k; i++) {
				struct lm_avro_value item;

				if (r->top - base >= r->lim.max_values)
					return lm_err_set(err, LM_ETOOBIG, "Avro array/map with more than %zu items",
							  r->lim.max_values);
				if (map) {
					if ((rc = decode(r, &str_schema, depth + 1, &item, err)))
						return rc;
					if ((rc = stack_push(r, &item, err)))
						return rc;
				}
				if ((rc = decode(r, s->sub[0], depth + 1, &item, err)))
					return rc;
				if ((rc = stack_push(r, &item, err)))
					return rc;
			}
		}
		cnt = r->top - base;
		if (cnt && !(items = pool_alloc(r, cnt, err)))
			return err ? err->code : ENOMEM;
		if (cnt)
			memcpy(items, r->stack + base, cnt * sizeof(*items));
		r->top = base;
		v->u.items = items;
		v->n = (uint32_t)(map ? cnt / 2 : cnt);
		return 0;
	}
	default:
		return bad(err, "unknown type");
	}
}

int lm_avro_next(struct lm_avro_reader *r, const struct lm_avro_value **rec,
		 struct lm_err *err)
{
	int rc;

	*rec = NULL;
	while (r->bleft == 0) {
		int64_t cnt, size;
		size_t dlen = 0;
		const uint8_t *src;

		if (r->blk && r->bpos != r->blen)
			return bad(err, "bytes left over at the end of a block");
		r->blk = NULL;
		if (r->pos == r->len)
			return 0;
		if (read_long(r->data, r->len, &r->pos, &cnt) || cnt < 0 ||
		    read_long(r->data, r->len, &r->pos, &size) || size < 0 ||
		    (uint64_t)size > r->len - r->pos || r->len - r->pos - (size_t)size < 16)
			return bad(err, "truncated or corrupt block header");
		src = r->data + r->pos;
		r->pos += (size_t)size;
		if (memcmp(r->data + r->pos, r->sync, 16) != 0)
			return bad(err, "sync marker mismatch after a block");
		r->pos += 16;
		if (r->codec == 0) {
			r->blk = src;
			r->blen = (size_t)size;
		} else {
			if (r->codec == 1)
				rc = inflate_raw(r, src, (size_t)size, &dlen, err);
			else if (r->codec == 2)
				rc = unsnappy(r, src, (size_t)size, &dlen, err);
			else
				rc = unzstd(r, src, (size_t)size, &dlen, err);
			if (rc)
				return rc;
			r->blk = r->dbuf ? r->dbuf : (const uint8_t *)"";
			r->blen = dlen;
		}
		/* A record may take no bytes at all (only nulls): bound the count by the
		 * data plus the values cap instead. */
		if ((uint64_t)cnt > (uint64_t)r->blen + r->lim.max_values)
			return bad(err, "block record count larger than its data");
		r->bpos = 0;
		r->bleft = cnt;
	}
	pool_rewind(r);
	r->top = 0;
	rc = decode(r, r->schema, 0, &r->root, err);
	if (rc)
		return rc;
	r->bleft--;
	if (r->bleft == 0 && r->bpos != r->blen)
		return bad(err, "bytes left over at the end of a block");
	*rec = &r->root;
	return 0;
}

const struct lm_avro_value *lm_avro_field(const struct lm_avro_value *rec, int32_t id,
					  const char *name)
{
	const struct lm_avro_schema *s;
	const struct lm_avro_value *v = NULL;

	if (!rec || !rec->schema || rec->schema->type != LM_AVRO_RECORD)
		return NULL;
	s = rec->schema;
	if (id >= 0)
		for (uint32_t i = 0; i < s->n && !v; i++)
			if (s->field_ids[i] == id)
				v = &rec->u.items[i];
	if (!v && name)
		for (uint32_t i = 0; i < s->n && !v; i++)
			if (!strcmp(s->field_names[i], name))
				v = &rec->u.items[i];
	if (!v || v->schema->type == LM_AVRO_NULL)
		return NULL;
	return v;
}

int lm_avro_long(const struct lm_avro_value *v, int64_t *out)
{
	if (!v || (v->schema->type != LM_AVRO_INT && v->schema->type != LM_AVRO_LONG))
		return EINVAL;
	*out = v->u.l;
	return 0;
}

const uint8_t *lm_avro_bytes(const struct lm_avro_value *v, size_t *len)
{
	if (!v || (v->schema->type != LM_AVRO_STRING && v->schema->type != LM_AVRO_BYTES &&
		   v->schema->type != LM_AVRO_FIXED))
		return NULL;
	*len = v->n;
	return v->u.bytes ? v->u.bytes : (const uint8_t *)"";
}
