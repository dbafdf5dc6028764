/* column.c — decode one column chunk: walk its pages (dictionary, data v1, data v2,
 * index pages skipped), decompress, decode repetition/definition levels and values
 * (PLAIN, dictionary, RLE booleans, DELTA_*, BYTE_STREAM_SPLIT) straight into the
 * arrays of struct lm_parquet_column.
 * Owns: struct lm_parquet_column's arrays; per-read scratch (one decompressed page,
 * the dictionary, index and length buffers) freed before returning.
 * May call: page.c, codec.c, encoding.c, libc, lm_err_*, lm_prefault. No I/O.
 *
 * Bounds: every count that sizes an allocation is checked against the chunk's
 * num_values (itself capped by opts.max_values) and every value read against the page
 * bytes; output arrays grow geometrically and their sum is capped by
 * opts.max_column_bytes. Byte-array values are copied into one data buffer — or, with
 * lm_parquet_read_opts.alloc, left in place: the page is decompressed into a block the
 * caller owns and each value's NUL is written over the length prefix that follows it
 * (the length was read first), so a string column costs no copy at all. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lm/util.h"
#include "pq.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet decoder assumes a little-endian host"
#endif

struct bent {                 /* a dictionary byte-array entry */
	const uint8_t *p;
	uint32_t len;
};

struct rd {
	const struct lm_parquet_meta *m;
	const struct lm_parquet_opts *o;
	const struct lm_parquet_node *leaf;
	const struct lm_parquet_chunk *ch;
	struct lm_parquet_column *out;
	struct lm_err *err;
	struct pq_codec_ctx codec;
	int type;
	size_t es;                /* fixed value size (1/4/8), 0 for byte-likes */
	size_t width;             /* FLBA / INT96 width, 0 otherwise */
	uint64_t total;           /* chunk num_values */
	size_t def_cap, rep_cap, val_cap, off_cap, data_cap;
	size_t mem;
	uint8_t *page;            /* decompressed page scratch */
	size_t page_cap;
	uint8_t *dict_mem;        /* decompressed dictionary (when compressed) */
	size_t dict_n;
	uint8_t *dict_fixed;      /* fixed-width dictionary values */
	struct bent *dict_b;      /* byte-like dictionary entries */
	bool have_dict;
	uint32_t *idx;
	size_t idx_cap;
	int64_t *tmp;             /* DELTA lengths (2 x n) */
	size_t tmp_cap;
	const struct lm_parquet_read_opts *ro;
	bool inplace;             /* BYTE_ARRAY values left in place (sv/svlen) */
	size_t sv_cap, svlen_cap;
};

static int fmt(struct rd *r, const char *what)
{
	return lm_err_set(r->err, LM_EFORMAT, "parquet: %s", what);
}

static bool bytes_like(int type)
{
	return type == LM_PARQUET_BYTE_ARRAY || type == LM_PARQUET_FIXED_LEN_BYTE_ARRAY ||
	       type == LM_PARQUET_INT96;
}

/* Grow an output array to hold `need` elements (never beyond `limit` when that is
 * enough), accounting the bytes against max_column_bytes. */
static int grow(struct rd *r, void **pp, size_t *cap, size_t need, size_t elem, size_t limit,
		const char *what)
{
	size_t nc, old = *cap;
	void *np;

	if (need <= old)
		return 0;
	nc = old ? old : 256;
	while (nc < need) {
		if (nc > SIZE_MAX / 4 / elem)
			goto big;
		nc *= 2;
	}
	if (limit >= need && nc > limit)
		nc = limit;
	if (nc > (r->o->max_column_bytes - (r->mem - old * elem)) / elem) {
		nc = need;
		if (nc > (r->o->max_column_bytes - (r->mem - old * elem)) / elem)
			goto big;
	}
	np = realloc(*pp, nc * elem);
	if (!np)
		return lm_err_set(r->err, ENOMEM, "parquet: out of memory for %s", what);
	r->mem = r->mem - old * elem + nc * elem;
	*pp = np;
	*cap = nc;
	return 0;
big:
	return lm_err_set(r->err, LM_ETOOBIG,
			  "parquet: decoded %s exceed the cap of %zu bytes per column chunk", what,
			  r->o->max_column_bytes);
}

/* Scratch (not accounted: bounded by max_page). */
static int scratch(struct rd *r, void **pp, size_t *cap, size_t need, size_t elem)
{
	void *np;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / elem)
		return lm_err_set(r->err, ENOMEM, "parquet: scratch overflow");
	np = realloc(*pp, need * elem + 1);
	if (!np)
		return lm_err_set(r->err, ENOMEM, "parquet: out of memory");
	*pp = np;
	*cap = need;
	return 0;
}

static int reserve_data(struct rd *r, size_t extra)
{
	struct lm_parquet_column *c = r->out;

	if (extra > SIZE_MAX - c->data_len - 1)
		return lm_err_set(r->err, LM_ETOOBIG, "parquet: byte-array data overflow");
	return grow(r, (void **)&c->data, &r->data_cap, c->data_len + extra + 1, 1, SIZE_MAX,
		    "byte-array data");
}

/* inplace: a block of n + 1 bytes from the caller's allocator (the extra byte holds the
 * NUL after the last value), accounted like the output. */
static uint8_t *keep_block(struct rd *r, size_t n)
{
	uint8_t *b;

	if (n >= r->o->max_column_bytes - r->mem) {
		lm_err_set(r->err, LM_ETOOBIG,
			   "parquet: decoded byte arrays exceed the cap of %zu bytes per column chunk",
			   r->o->max_column_bytes);
		return NULL;
	}
	b = r->ro->alloc(r->ro->alloc_ud, n + 1);
	if (!b) {
		lm_err_set(r->err, ENOMEM, "parquet: out of memory for byte arrays");
		return NULL;
	}
	lm_prefault(b, n + 1);   /* all of it is written next */
	r->mem += n + 1;
	return b;
}

static int reserve_values(struct rd *r, size_t cnt)
{
	struct lm_parquet_column *c = r->out;

	if (r->inplace) {
		int rc = grow(r, (void **)&c->sv, &r->sv_cap, c->num_values + cnt, sizeof(*c->sv),
			      (size_t)r->total, "values");

		return rc ? rc : grow(r, (void **)&c->svlen, &r->svlen_cap, c->num_values + cnt,
				      sizeof(*c->svlen), (size_t)r->total, "values");
	}
	if (bytes_like(r->type))
		return grow(r, (void **)&c->offsets, &r->off_cap, c->num_values + cnt + 1,
			    sizeof(uint64_t), (size_t)r->total + 1, "offsets");
	return grow(r, &c->v.any, &r->val_cap, c->num_values + cnt, r->es, (size_t)r->total,
		    "values");
}

/* ---- values ---- */

static void bits_to_bytes(const uint8_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (in[i >> 3] >> (i & 7)) & 1;
}

static int plain_values(struct rd *r, const uint8_t *q, const uint8_t *qend, size_t cnt)
{
	struct lm_parquet_column *c = r->out;
	size_t avail = (size_t)(qend - q);
	int rc;

	switch (r->type) {
	case LM_PARQUET_BOOLEAN:
		if ((cnt + 7) / 8 > avail)
			return fmt(r, "PLAIN booleans truncated");
		bits_to_bytes(q, c->v.b + c->num_values, cnt);
		break;
	case LM_PARQUET_INT32:
	case LM_PARQUET_FLOAT:
	case LM_PARQUET_INT64:
	case LM_PARQUET_DOUBLE:
		if (cnt > avail / r->es)
			return lm_err_set(r->err, LM_EFORMAT,
					  "parquet: PLAIN %s values truncated (%zu values, %zu bytes)",
					  lm_parquet_type_name(r->type), cnt, avail);
		memcpy((uint8_t *)c->v.any + c->num_values * r->es, q, cnt * r->es);
		break;
	case LM_PARQUET_INT96:
	case LM_PARQUET_FIXED_LEN_BYTE_ARRAY: {
		uint64_t base = c->data_len;

		if (cnt > avail / r->width)
			return fmt(r, "PLAIN fixed-length values truncated");
		rc = reserve_data(r, cnt * r->width);
		if (rc)
			return rc;
		memcpy(c->data + c->data_len, q, cnt * r->width);
		for (size_t k = 0; k < cnt; k++)
			c->offsets[c->num_values + k + 1] = base + (uint64_t)(k + 1) * r->width;
		c->data_len += cnt * r->width;
		break;
	}
	case LM_PARQUET_BYTE_ARRAY: {
		uint64_t *off;
		uint8_t *data;
		size_t dl;

		if (r->inplace) {
			/* q is in a kept block (page_bytes with keep): writable, one spare byte
			 * after qend. */
			uint8_t *w = (uint8_t *)(uintptr_t)q;
			const uint8_t **sv = c->sv + c->num_values;
			uint32_t *sl = c->svlen + c->num_values;

			for (size_t k = 0; k < cnt; k++) {
				uint32_t l;

				if ((size_t)(qend - w) < 4)
					return lm_err_set(r->err, LM_EFORMAT,
							  "parquet: PLAIN byte arrays end after %zu of %zu",
							  k, cnt);
				/* the page is far bigger than a cache, each length read
				 * depends on the one before: fetch ahead */
				__builtin_prefetch(w + 4096);
				l = pq_le32(w);
				w[0] = 0;   /* ends the previous value */
				w += 4;
				if (l > (size_t)(qend - w))
					return lm_err_set(r->err, LM_EFORMAT,
							  "parquet: PLAIN byte array of %u bytes overruns the "
							  "page", l);
				sv[k] = w;
				sl[k] = l;
				w += l;
			}
			*w = 0;
			break;
		}
		off = c->offsets + c->num_values + 1;

		/* the page bytes bound the string bytes it can hold */
		rc = reserve_data(r, avail);
		if (rc)
			return rc;
		data = c->data;
		dl = c->data_len;
		for (size_t k = 0; k < cnt; k++) {
			uint32_t l;

			if ((size_t)(qend - q) < 4)
				return lm_err_set(r->err, LM_EFORMAT,
						  "parquet: PLAIN byte arrays end after %zu of %zu", k,
						  cnt);
			l = pq_le32(q);
			q += 4;
			if (l > (size_t)(qend - q))
				return lm_err_set(r->err, LM_EFORMAT,
						  "parquet: PLAIN byte array of %u bytes overruns the "
						  "page", l);
			memcpy(data + dl, q, l);
			q += l;
			dl += l;
			off[k] = dl;
		}
		c->data_len = dl;
		break;
	}
	default:
		return fmt(r, "bad physical type");
	}
	return 0;
}

static int load_dict(struct rd *r, const uint8_t *q, size_t n, size_t cnt)
{
	const uint8_t *end = q + n;
	int rc;

	r->dict_n = cnt;
	if (!bytes_like(r->type)) {
		size_t need = r->type == LM_PARQUET_BOOLEAN ? (cnt + 7) / 8 : cnt * r->es;

		if ((r->type != LM_PARQUET_BOOLEAN && cnt > n / r->es) || need > n)
			return fmt(r, "dictionary page truncated");
		r->dict_fixed = malloc(cnt * r->es + 1);
		if (!r->dict_fixed)
			return lm_err_set(r->err, ENOMEM, "parquet: out of memory for a dictionary");
		if (r->type == LM_PARQUET_BOOLEAN)
			bits_to_bytes(q, r->dict_fixed, cnt);
		else
			memcpy(r->dict_fixed, q, cnt * r->es);
		return 0;
	}
	if (cnt > n / (r->width ? r->width : 4))
		return fmt(r, "dictionary page holds fewer bytes than its entries need");
	r->dict_b = malloc(cnt * sizeof(*r->dict_b) + 1);
	if (!r->dict_b)
		return lm_err_set(r->err, ENOMEM, "parquet: out of memory for a dictionary");
	for (size_t k = 0; k < cnt; k++) {
		uint32_t l = (uint32_t)r->width;

		if (!r->width) {
			if ((size_t)(end - q) < 4)
				return fmt(r, "dictionary byte arrays truncated");
			l = pq_le32(q);
			if (r->inplace)   /* a kept block: the previous entry's NUL */
				*(uint8_t *)(uintptr_t)q = 0;
			q += 4;
		}
		if (l > (size_t)(end - q)) {
			rc = lm_err_set(r->err, LM_EFORMAT,
					"parquet: dictionary entry %zu of %u bytes overruns the page",
					k, l);
			return rc;
		}
		r->dict_b[k].p = q;
		r->dict_b[k].len = l;
		q += l;
	}
	if (r->inplace)
		*(uint8_t *)(uintptr_t)q = 0;   /* q <= end: the block's spare byte at most */
	return 0;
}

static int dict_values(struct rd *r, const uint8_t *q, const uint8_t *qend, size_t cnt)
{
	struct lm_parquet_column *c = r->out;
	unsigned bw;
	size_t nd = r->dict_n;
	uint32_t *idx;
	int rc;

	if (!r->have_dict)
		return fmt(r, "dictionary-encoded page but the chunk has no dictionary page");
	if (q >= qend)
		return fmt(r, "dictionary-encoded page without a bit width");
	bw = *q++;
	if (bw > 32)
		return lm_err_set(r->err, LM_EFORMAT, "parquet: dictionary index bit width %u", bw);
	rc = scratch(r, (void **)&r->idx, &r->idx_cap, cnt, sizeof(*r->idx));
	if (rc)
		return rc;
	idx = r->idx;
	rc = pq_rle_u32(q, qend, bw, idx, cnt, "dictionary indices", r->err);
	if (rc)
		return rc;
	for (size_t k = 0; k < cnt; k++)
		if (idx[k] >= nd)
			return lm_err_set(r->err, LM_EFORMAT,
					  "parquet: dictionary index %u out of range (%zu entries)",
					  idx[k], nd);
	if (!bytes_like(r->type)) {
		uint8_t *dst = (uint8_t *)c->v.any + c->num_values * r->es;

		switch (r->es) {
		case 1:
			for (size_t k = 0; k < cnt; k++)
				dst[k] = r->dict_fixed[idx[k]];
			break;
		case 4: {
			const uint32_t *d = (const uint32_t *)(void *)r->dict_fixed;
			uint32_t *o = (uint32_t *)(void *)dst;

			for (size_t k = 0; k < cnt; k++)
				o[k] = d[idx[k]];
			break;
		}
		default: {
			const uint64_t *d = (const uint64_t *)(void *)r->dict_fixed;
			uint64_t *o = (uint64_t *)(void *)dst;

			for (size_t k = 0; k < cnt; k++)
				o[k] = d[idx[k]];
		}
		}
		return 0;
	}
	if (r->inplace) {
		const uint8_t **sv = c->sv + c->num_values;
		uint32_t *sl = c->svlen + c->num_values;

		for (size_t k = 0; k < cnt; k++) {
			sv[k] = r->dict_b[idx[k]].p;
			sl[k] = r->dict_b[idx[k]].len;
		}
		return 0;
	}
	{
		uint64_t sum = 0;
		uint64_t *off = c->offsets + c->num_values + 1;
		uint8_t *data;
		size_t dl;

		for (size_t k = 0; k < cnt; k++)
			sum += r->dict_b[idx[k]].len;
		if (sum > SIZE_MAX / 2)
			return lm_err_set(r->err, LM_ETOOBIG, "parquet: dictionary expansion too big");
		rc = reserve_data(r, (size_t)sum);
		if (rc)
			return rc;
		data = c->data;
		dl = c->data_len;
		for (size_t k = 0; k < cnt; k++) {
			const struct bent *e = &r->dict_b[idx[k]];

			memcpy(data + dl, e->p, e->len);
			dl += e->len;
			off[k] = dl;
		}
		c->data_len = dl;
	}
	return 0;
}

static int rle_bool_values(struct rd *r, const uint8_t *q, const uint8_t *qend, size_t cnt)
{
	uint32_t l;

	if (r->type != LM_PARQUET_BOOLEAN)
		return fmt(r, "RLE values on a non-boolean column");
	if ((size_t)(qend - q) < 4)
		return fmt(r, "RLE booleans without a length");
	l = pq_le32(q);
	q += 4;
	if (l > (size_t)(qend - q))
		return fmt(r, "RLE booleans overrun the page");
	return pq_rle_u8(q, q + l, 1, 1, r->out->v.b + r->out->num_values, cnt, "booleans",
			 r->err);
}

static int delta_lengths(struct rd *r, const uint8_t **q, const uint8_t *qend, size_t cnt,
			 int64_t *lens, uint64_t *sum)
{
	size_t used;
	int rc;

	rc = pq_delta_decode(*q, qend, false, lens, cnt, &used, r->err);
	if (rc)
		return rc;
	*q += used;
	*sum = 0;
	for (size_t k = 0; k < cnt; k++) {
		if (lens[k] < 0 || lens[k] > INT32_MAX)
			return lm_err_set(r->err, LM_EFORMAT, "parquet: DELTA length %lld",
					  (long long)lens[k]);
		*sum += (uint64_t)lens[k];
	}
	return 0;
}

static int delta_length_values(struct rd *r, const uint8_t *q, const uint8_t *qend, size_t cnt)
{
	struct lm_parquet_column *c = r->out;
	uint64_t sum, acc;
	int rc;

	if (r->type != LM_PARQUET_BYTE_ARRAY)
		return fmt(r, "DELTA_LENGTH_BYTE_ARRAY on a column that is not BYTE_ARRAY");
	rc = scratch(r, (void **)&r->tmp, &r->tmp_cap, cnt, sizeof(*r->tmp));
	if (rc)
		return rc;
	rc = delta_lengths(r, &q, qend, cnt, r->tmp, &sum);
	if (rc)
		return rc;
	if (sum > (uint64_t)(qend - q))
		return fmt(r, "DELTA_LENGTH_BYTE_ARRAY data overruns the page");
	if (r->inplace) {
		uint8_t *b = keep_block(r, (size_t)sum + cnt);

		if (!b)
			return r->err->code;
		for (size_t k = 0; k < cnt; k++) {
			size_t l = (size_t)r->tmp[k];

			memcpy(b, q, l);
			b[l] = 0;
			c->sv[c->num_values + k] = b;
			c->svlen[c->num_values + k] = (uint32_t)l;
			b += l + 1;
			q += l;
		}
		return 0;
	}
	rc = reserve_data(r, (size_t)sum);
	if (rc)
		return rc;
	memcpy(c->data + c->data_len, q, (size_t)sum);
	acc = c->data_len;
	for (size_t k = 0; k < cnt; k++) {
		acc += (uint64_t)r->tmp[k];
		c->offsets[c->num_values + k + 1] = acc;
	}
	c->data_len += (size_t)sum;
	return 0;
}

static int delta_byte_array_values(struct rd *r, const uint8_t *q, const uint8_t *qend,
				   size_t cnt)
{
	struct lm_parquet_column *c = r->out;
	uint64_t psum, ssum;
	int64_t *pre, *suf;
	uint64_t prev_off = 0, prev_len = 0, total = 0;
	int rc;

	if (r->type != LM_PARQUET_BYTE_ARRAY && r->type != LM_PARQUET_FIXED_LEN_BYTE_ARRAY)
		return fmt(r, "DELTA_BYTE_ARRAY on a column that is not a byte array");
	if (cnt > SIZE_MAX / 2)
		return fmt(r, "too many values");
	rc = scratch(r, (void **)&r->tmp, &r->tmp_cap, cnt * 2, sizeof(*r->tmp));
	if (rc)
		return rc;
	pre = r->tmp;
	suf = r->tmp + cnt;
	rc = delta_lengths(r, &q, qend, cnt, pre, &psum);
	if (!rc)
		rc = delta_lengths(r, &q, qend, cnt, suf, &ssum);
	if (rc)
		return rc;
	if (ssum > (uint64_t)(qend - q))
		return fmt(r, "DELTA_BYTE_ARRAY suffixes overrun the page");
	/* check prefixes against the previous value's length and size the output */
	for (size_t k = 0; k < cnt; k++) {
		uint64_t l = (uint64_t)pre[k] + (uint64_t)suf[k];

		if ((uint64_t)pre[k] > prev_len)
			return lm_err_set(r->err, LM_EFORMAT,
					  "parquet: DELTA_BYTE_ARRAY prefix %lld longer than the "
					  "previous value (%llu)", (long long)pre[k],
					  (unsigned long long)prev_len);
		if (r->width && l != r->width)
			return fmt(r, "DELTA_BYTE_ARRAY value of the wrong fixed length");
		total += l;
		if (total > r->o->max_column_bytes)
			return lm_err_set(r->err, LM_ETOOBIG,
					  "parquet: DELTA_BYTE_ARRAY expands beyond the cap");
		prev_len = l;
	}
	if (r->inplace) {
		uint8_t *b;
		const uint8_t *prev = NULL;

		if (total > SIZE_MAX - cnt - 1)
			return fmt(r, "too many values");
		b = keep_block(r, (size_t)total + cnt);
		if (!b)
			return r->err->code;
		for (size_t k = 0; k < cnt; k++) {
			size_t pl = (size_t)pre[k], sl = (size_t)suf[k];

			if (pl)
				memcpy(b, prev, pl);
			memcpy(b + pl, q, sl);
			q += sl;
			b[pl + sl] = 0;
			c->sv[c->num_values + k] = b;
			c->svlen[c->num_values + k] = (uint32_t)(pl + sl);
			prev = b;
			b += pl + sl + 1;
		}
		return 0;
	}
	rc = reserve_data(r, (size_t)total);
	if (rc)
		return rc;
	prev_len = 0;
	for (size_t k = 0; k < cnt; k++) {
		uint8_t *dst = c->data + c->data_len;
		size_t pl = (size_t)pre[k], sl = (size_t)suf[k];

		if (pl)
			memcpy(dst, c->data + prev_off, pl);
		memcpy(dst + pl, q, sl);
		q += sl;
		prev_off = c->data_len;
		prev_len = pl + sl;
		c->data_len += pl + sl;
		c->offsets[c->num_values + k + 1] = c->data_len;
	}
	(void)prev_len;
	return 0;
}

static int bss_values(struct rd *r, const uint8_t *q, const uint8_t *qend, size_t cnt)
{
	struct lm_parquet_column *c = r->out;
	size_t w = r->es ? r->es : r->width;
	uint8_t *dst;
	int rc;

	if (r->type == LM_PARQUET_BOOLEAN || r->type == LM_PARQUET_BYTE_ARRAY ||
	    r->type == LM_PARQUET_INT96)
		return fmt(r, "BYTE_STREAM_SPLIT on an unsuitable type");
	if (cnt > (size_t)(qend - q) / w)
		return fmt(r, "BYTE_STREAM_SPLIT data truncated");
	if (r->es) {
		dst = (uint8_t *)c->v.any + c->num_values * w;
	} else {
		rc = reserve_data(r, cnt * w);
		if (rc)
			return rc;
		dst = c->data + c->data_len;
		for (size_t k = 0; k < cnt; k++)
			c->offsets[c->num_values + k + 1] = c->data_len + (k + 1) * w;
		c->data_len += cnt * w;
	}
	for (size_t b = 0; b < w; b++) {
		const uint8_t *s = q + b * cnt;

		for (size_t k = 0; k < cnt; k++)
			dst[k * w + b] = s[k];
	}
	return 0;
}

static int decode_values(struct rd *r, int enc, const uint8_t *q, const uint8_t *qend,
			 size_t cnt)
{
	int rc;

	if (cnt == 0)
		return 0;
	rc = reserve_values(r, cnt);
	if (rc)
		return rc;
	switch (enc) {
	case PQ_ENC_PLAIN:
		rc = plain_values(r, q, qend, cnt);
		break;
	case PQ_ENC_PLAIN_DICTIONARY:
	case PQ_ENC_RLE_DICTIONARY:
		rc = dict_values(r, q, qend, cnt);
		break;
	case PQ_ENC_RLE:
		rc = rle_bool_values(r, q, qend, cnt);
		break;
	case PQ_ENC_DELTA_BINARY_PACKED:
		if (r->type != LM_PARQUET_INT32 && r->type != LM_PARQUET_INT64)
			return fmt(r, "DELTA_BINARY_PACKED on a column that is not INT32/INT64");
		{
			size_t used;

			rc = pq_delta_decode(q, qend, r->type == LM_PARQUET_INT32,
					     (uint8_t *)r->out->v.any + r->out->num_values * r->es,
					     cnt, &used, r->err);
		}
		break;
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		rc = delta_length_values(r, q, qend, cnt);
		break;
	case PQ_ENC_DELTA_BYTE_ARRAY:
		rc = delta_byte_array_values(r, q, qend, cnt);
		break;
	case PQ_ENC_BYTE_STREAM_SPLIT:
		rc = bss_values(r, q, qend, cnt);
		break;
	default:
		return lm_err_set(r->err, LM_EUNSUPPORTED, "parquet: value encoding %s (%d)",
				  lm_parquet_encoding_name(enc), enc);
	}
	if (!rc)
		r->out->num_values += cnt;
	return rc;
}

/* ---- levels ---- */

static int reserve_levels(struct rd *r, size_t n)
{
	struct lm_parquet_column *c = r->out;
	size_t need = c->num_levels + n ? c->num_levels + n : 1;
	int rc = 0;

	if (c->max_def)
		rc = grow(r, (void **)&c->def, &r->def_cap, need, 1, (size_t)r->total,
			  "definition levels");
	if (!rc && c->max_rep)
		rc = grow(r, (void **)&c->rep, &r->rep_cap, need, 1, (size_t)r->total,
			  "repetition levels");
	return rc;
}

/* v1 levels: RLE with a 4-byte length, or BIT_PACKED. Advances *q. */
static int levels_v1(struct rd *r, int enc, const uint8_t **q, const uint8_t *qend,
		     uint8_t max, uint8_t *out, size_t n, const char *what)
{
	unsigned bw = pq_bit_width(max);
	size_t avail = (size_t)(qend - *q);
	uint32_t l;
	int rc;

	if (enc == PQ_ENC_RLE) {
		if (avail < 4)
			return lm_err_set(r->err, LM_EFORMAT, "parquet: %s without a length", what);
		l = pq_le32(*q);
		if (l > avail - 4)
			return lm_err_set(r->err, LM_EFORMAT, "parquet: %s of %u bytes overrun the page",
					  what, l);
		rc = pq_rle_u8(*q + 4, *q + 4 + l, bw, max, out, n, what, r->err);
		*q += 4 + (size_t)l;
		return rc;
	}
	if (enc == PQ_ENC_BIT_PACKED) {
		size_t bytes = (size_t)(((uint64_t)n * bw + 7) / 8);

		rc = pq_bitpacked_msb_u8(*q, qend, bw, max, out, n, what, r->err);
		if (!rc)
			*q += bytes;
		return rc;
	}
	return lm_err_set(r->err, LM_EUNSUPPORTED, "parquet: %s encoded as %s", what,
			  lm_parquet_encoding_name(enc));
}

static size_t count_present(const struct lm_parquet_column *c, size_t from, size_t n)
{
	size_t k = 0;
	const uint8_t *d;
	uint8_t mx = c->max_def;

	if (!c->max_def)
		return n;
	d = c->def + from;
	for (size_t i = 0; i < n; i++)
		k += d[i] == mx;
	return k;
}

/* ---- pages ---- */

/* The page's (decompressed) bytes: the chunk bytes themselves when uncompressed. keep:
 * in a block of the caller's (see keep_block), copied there when uncompressed. */
static int page_bytes(struct rd *r, const uint8_t *src, size_t clen, size_t ulen,
		      bool compressed, bool keep, const uint8_t **pb, size_t *plen)
{
	int rc;

	if (keep) {
		bool raw = !compressed || r->ch->codec == LM_PARQUET_CODEC_UNCOMPRESSED;
		size_t n = raw ? clen : ulen;
		uint8_t *b = keep_block(r, n);

		if (!b)
			return r->err->code;
		if (raw)
			memcpy(b, src, n);
		else if ((rc = pq_decompress(&r->codec, r->ch->codec, src, clen, b, n, r->err)))
			return rc;
		*pb = b;
		*plen = n;
		return 0;
	}
	if (!compressed || r->ch->codec == LM_PARQUET_CODEC_UNCOMPRESSED) {
		*pb = src;
		*plen = clen;
		return 0;
	}
	rc = scratch(r, (void **)&r->page, &r->page_cap, ulen ? ulen : 1, 1);
	if (rc)
		return rc;
	rc = pq_decompress(&r->codec, r->ch->codec, src, clen, r->page, ulen, r->err);
	if (rc)
		return rc;
	*pb = r->page;
	*plen = ulen;
	return 0;
}

static int dict_page(struct rd *r, const struct pq_page_header *h, const uint8_t *body)
{
	const uint8_t *pb;
	size_t plen;
	int rc;

	if (!h->has_sub)
		return fmt(r, "dictionary page without a DictionaryPageHeader");
	if (r->have_dict)
		return fmt(r, "a second dictionary page");
	if (r->out->num_levels)
		return fmt(r, "dictionary page after data pages");
	if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
		return lm_err_set(r->err, LM_EUNSUPPORTED, "parquet: dictionary page encoded as %s",
				  lm_parquet_encoding_name(h->encoding));
	if (r->inplace) {
		/* entries stay in the block; load_dict NUL-terminates them there */
		rc = page_bytes(r, body, (size_t)h->compressed_size, (size_t)h->uncompressed_size,
				true, true, &pb, &plen);
		if (rc)
			return rc;
	} else if (r->ch->codec != LM_PARQUET_CODEC_UNCOMPRESSED) {
		r->dict_mem = malloc(h->uncompressed_size ? (size_t)h->uncompressed_size : 1);
		if (!r->dict_mem)
			return lm_err_set(r->err, ENOMEM, "parquet: out of memory for a dictionary");
		rc = pq_decompress(&r->codec, r->ch->codec, body, (size_t)h->compressed_size,
				   r->dict_mem, (size_t)h->uncompressed_size, r->err);
		if (rc)
			return rc;
		pb = r->dict_mem;
		plen = (size_t)h->uncompressed_size;
	} else {
		pb = body;
		plen = (size_t)h->compressed_size;
	}
	rc = load_dict(r, pb, plen, (size_t)h->num_values);
	if (!rc)
		r->have_dict = true;
	return rc;
}

static int check_count(struct rd *r, const struct pq_page_header *h)
{
	if ((uint64_t)h->num_values > r->total - r->out->num_levels)
		return lm_err_set(r->err, LM_EFORMAT,
				  "parquet: pages hold more than the chunk's %llu values",
				  (unsigned long long)r->total);
	return 0;
}

static int data_page_v1(struct rd *r, const struct pq_page_header *h, const uint8_t *body)
{
	struct lm_parquet_column *c = r->out;
	size_t n = (size_t)h->num_values, cnt;
	const uint8_t *pb, *q, *qend;
	size_t plen;
	int rc;

	if (!h->has_sub)
		return fmt(r, "data page without a DataPageHeader");
	rc = check_count(r, h);
	if (!rc)
		rc = reserve_levels(r, n);
	if (!rc)
		rc = page_bytes(r, body, (size_t)h->compressed_size, (size_t)h->uncompressed_size,
				true, r->inplace && h->encoding == PQ_ENC_PLAIN, &pb, &plen);
	if (rc)
		return rc;
	q = pb;
	qend = pb + plen;
	if (c->max_rep) {
		rc = levels_v1(r, h->rep_encoding, &q, qend, c->max_rep, c->rep + c->num_levels, n,
			       "repetition levels");
		if (rc)
			return rc;
	}
	if (c->max_def) {
		rc = levels_v1(r, h->def_encoding, &q, qend, c->max_def, c->def + c->num_levels, n,
			       "definition levels");
		if (rc)
			return rc;
	}
	cnt = count_present(c, c->num_levels, n);
	rc = decode_values(r, h->encoding, q, qend, cnt);
	if (!rc)
		c->num_levels += n;
	return rc;
}

static int data_page_v2(struct rd *r, const struct pq_page_header *h, const uint8_t *body)
{
	struct lm_parquet_column *c = r->out;
	size_t n = (size_t)h->num_values, cnt, lv, plen;
	const uint8_t *pb;
	int rc;

	if (!h->has_sub)
		return fmt(r, "data page v2 without a DataPageHeaderV2");
	lv = (size_t)h->rep_len + (size_t)h->def_len;
	if (lv > (size_t)h->compressed_size || lv > (size_t)h->uncompressed_size)
		return fmt(r, "data page v2 levels longer than the page");
	rc = check_count(r, h);
	if (!rc)
		rc = reserve_levels(r, n);
	if (rc)
		return rc;
	if (c->max_rep) {
		rc = pq_rle_u8(body, body + h->rep_len, pq_bit_width(c->max_rep), c->max_rep,
			       c->rep + c->num_levels, n, "repetition levels", r->err);
		if (rc)
			return rc;
	}
	if (c->max_def) {
		rc = pq_rle_u8(body + h->rep_len, body + lv, pq_bit_width(c->max_def), c->max_def,
			       c->def + c->num_levels, n, "definition levels", r->err);
		if (rc)
			return rc;
	}
	rc = page_bytes(r, body + lv, (size_t)h->compressed_size - lv,
			(size_t)h->uncompressed_size - lv, h->is_compressed,
			r->inplace && h->encoding == PQ_ENC_PLAIN, &pb, &plen);
	if (rc)
		return rc;
	cnt = count_present(c, c->num_levels, n);
	rc = decode_values(r, h->encoding, pb, pb + plen, cnt);
	if (!rc)
		c->num_levels += n;
	return rc;
}

/* A first size for the byte-array data: the chunk's uncompressed size (PLAIN data is
 * no larger), bounded by a multiple of the bytes actually present so that a lying
 * footer cannot reserve much; growth past it stays geometric. */
static size_t data_hint(const struct rd *r)
{
	uint64_t h = r->ch->total_uncompressed_size > 0 ? (uint64_t)r->ch->total_uncompressed_size : 0;
	uint64_t lim = r->ch->length * 16 + 4096;

	if (h > lim)
		h = lim;
	if (h > r->o->max_column_bytes / 2)
		h = r->o->max_column_bytes / 2;
	return (size_t)h;
}

/* ---- entry points ---- */

void lm_parquet_column_init(struct lm_parquet_column *c)
{
	memset(c, 0, sizeof(*c));
	c->type_length = -1;
}

void lm_parquet_column_free(struct lm_parquet_column *c)
{
	if (!c)
		return;
	free(c->def);
	free(c->rep);
	free(c->v.any);
	free(c->offsets);
	free(c->data);
	free(c->sv);
	free(c->svlen);
	lm_parquet_column_init(c);
}

static uint8_t elem_def(const struct lm_parquet_meta *m, const struct lm_parquet_node *leaf)
{
	for (const struct lm_parquet_node *n = leaf; n->parent >= 0; n = &m->nodes[n->parent])
		if (n->repetition == LM_PARQUET_REPEATED)
			return n->def_level;
	return 0;
}

int lm_parquet_column_read(const struct lm_parquet_meta *m, uint32_t rg, uint32_t col,
			   const void *chunk, size_t len, struct lm_parquet_column *out,
			   struct lm_err *err)
{
	return lm_parquet_column_read_ex(m, rg, col, chunk, len, NULL, out, err);
}

int lm_parquet_column_read_ex(const struct lm_parquet_meta *m, uint32_t rg, uint32_t col,
			      const void *chunk, size_t len, const struct lm_parquet_read_opts *ro,
			      struct lm_parquet_column *out, struct lm_err *err)
{
	struct rd r;
	const uint8_t *p = chunk, *end;
	unsigned page_no = 0;
	int rc = 0;

	lm_parquet_column_init(out);
	memset(&r, 0, sizeof(r));
	if (rg >= m->nrow_groups || col >= m->ncolumns)
		return lm_err_set(err, EINVAL, "parquet: no row group %u / column %u", rg, col);
	r.m = m;
	r.o = &m->opts;
	r.ch = &m->row_groups[rg].chunks[col];
	r.leaf = &m->nodes[m->columns[col]];
	r.out = out;
	r.err = err;
	r.type = r.leaf->type;
	r.total = (uint64_t)r.ch->num_values;
	r.ro = ro;
	r.inplace = ro && ro->alloc && r.type == LM_PARQUET_BYTE_ARRAY;
	switch (r.type) {
	case LM_PARQUET_BOOLEAN:
		r.es = 1;
		break;
	case LM_PARQUET_INT32:
	case LM_PARQUET_FLOAT:
		r.es = 4;
		break;
	case LM_PARQUET_INT64:
	case LM_PARQUET_DOUBLE:
		r.es = 8;
		break;
	default:
		r.width = r.type == LM_PARQUET_BYTE_ARRAY ? 0 : (size_t)r.leaf->type_length;
	}
	out->type = r.type;
	out->type_length = r.leaf->type_length;
	out->max_def = r.leaf->def_level;
	out->max_rep = r.leaf->rep_level;
	out->elem_def = elem_def(m, r.leaf);
	if (len < r.ch->length) {
		rc = lm_err_set(err, LM_EFORMAT, "parquet: chunk of %llu bytes, %zu given",
				(unsigned long long)r.ch->length, len);
		goto out;
	}
	end = p + r.ch->length;
	if (r.total > m->opts.max_values) {
		rc = lm_err_set(err, LM_ETOOBIG, "parquet: chunk of %llu values, more than the cap %llu",
				(unsigned long long)r.total, (unsigned long long)m->opts.max_values);
		goto out;
	}
	if (bytes_like(r.type) && !r.inplace) {
		rc = grow(&r, (void **)&out->offsets, &r.off_cap, 1, sizeof(uint64_t),
			  (size_t)r.total + 1, "offsets");
		if (!rc)
			rc = reserve_data(&r, data_hint(&r));
		if (rc)
			goto out;
		out->offsets[0] = 0;
	}
	while (out->num_levels < r.total) {
		struct pq_page_header h;
		size_t hl;
		const uint8_t *body;

		if (p >= end) {
			rc = lm_err_set(err, LM_EFORMAT,
					"parquet: chunk ends after %zu of %llu values",
					out->num_levels, (unsigned long long)r.total);
			goto out;
		}
		rc = pq_page_header_parse(p, (size_t)(end - p), 16, &h, &hl, err);
		if (rc)
			goto out;
		body = p + hl;
		if ((size_t)h.compressed_size > (size_t)(end - body)) {
			rc = lm_err_set(err, LM_EFORMAT, "parquet: page of %d bytes overruns the chunk",
					h.compressed_size);
			goto out;
		}
		if ((size_t)h.uncompressed_size > m->opts.max_page ||
		    (size_t)h.compressed_size > m->opts.max_page) {
			rc = lm_err_set(err, LM_ETOOBIG, "parquet: page of %d bytes, more than the cap %zu",
					h.uncompressed_size, m->opts.max_page);
			goto out;
		}
		switch (h.type) {
		case PQ_PAGE_DICTIONARY:
			rc = dict_page(&r, &h, body);
			break;
		case PQ_PAGE_DATA:
			rc = data_page_v1(&r, &h, body);
			break;
		case PQ_PAGE_DATA_V2:
			rc = data_page_v2(&r, &h, body);
			break;
		default:
			break;  /* index pages and unknown page types are skipped */
		}
		if (rc)
			goto out;
		p = body + h.compressed_size;
		page_no++;
	}
	if (bytes_like(r.type) && !r.inplace)
		out->data[out->data_len] = '\0';
out:
	if (rc) {
		lm_err_prefix(err, "row group %u column '%s' page %u: ", rg,
			      r.leaf ? r.leaf->path : "?", page_no);
		lm_parquet_column_free(out);
	}
	pq_codec_ctx_free(&r.codec);
	free(r.page);
	free(r.dict_mem);
	free(r.dict_fixed);
	free(r.dict_b);
	free(r.idx);
	free(r.tmp);
	return rc;
}
