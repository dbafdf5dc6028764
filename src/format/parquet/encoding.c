/* encoding.c — Parquet integer encodings: ULEB128, the RLE/bit-packed hybrid (levels,
 * dictionary indices, booleans), the deprecated MSB-first BIT_PACKED levels, and
 * DELTA_BINARY_PACKED.
 * Owns: nothing; decodes caller bytes into caller arrays, never reading past `end`.
 * May call: libc, lm_err_set. */
#include "pq.h"

int pq_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (p >= end)
			return -1;
		b = *p++;
		if (shift == 63 && (b & 0x7e))
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return -1;
	}
	*pp = p;
	*v = r;
	return 0;
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* LSB-first unpack of n values; reads exactly ceil(n*bw/8) bytes. bw <= 32. */
static void unpack_u32(const uint8_t *in, unsigned bw, uint32_t *out, size_t n)
{
	uint64_t acc = 0, mask = ((uint64_t)1 << bw) - 1;
	unsigned have = 0;

	if (bw == 0) {
		memset(out, 0, n * sizeof(*out));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		while (have < bw) {
			acc |= (uint64_t)*in++ << have;
			have += 8;
		}
		out[i] = (uint32_t)(acc & mask);
		acc >>= bw;
		have -= bw;
	}
}

/* Same for bw <= 8 into bytes; returns the largest value seen. */
static uint8_t unpack_u8(const uint8_t *in, unsigned bw, uint8_t *out, size_t n)
{
	uint32_t acc = 0, mask = (1u << bw) - 1;
	unsigned have = 0;
	uint8_t mx = 0;

	if (bw == 0) {
		memset(out, 0, n);
		return 0;
	}
	if (bw == 1) {
		size_t i = 0;

		for (; i + 8 <= n; i += 8) {
			uint8_t b = *in++;

			for (unsigned k = 0; k < 8; k++)
				out[i + k] = (b >> k) & 1;
			mx |= b;
		}
		if (i < n) {
			uint8_t b = *in;

			for (unsigned k = 0; i < n; k++, i++) {
				out[i] = (b >> k) & 1;
				mx |= out[i];
			}
		}
		return mx ? 1 : 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t v;

		while (have < bw) {
			acc |= (uint32_t)*in++ << have;
			have += 8;
		}
		v = (uint8_t)(acc & mask);
		out[i] = v;
		if (v > mx)
			mx = v;
		acc >>= bw;
		have -= bw;
	}
	return mx;
}

/* Shared run walker. One of out8 / out32 is used. */
static int rle_walk(const uint8_t *p, const uint8_t *end, unsigned bw, uint32_t max,
		    uint8_t *out8, uint32_t *out32, size_t n, const char *what,
		    struct lm_err *err)
{
	size_t i = 0, vbytes = (bw + 7) / 8;

	if (bw > 32 || (out8 && bw > 8))
		return lm_err_set(err, LM_EFORMAT, "parquet %s: bit width %u too large", what, bw);
	while (i < n) {
		uint64_t h;

		if (pq_uleb(&p, end, &h))
			return lm_err_set(err, LM_EFORMAT,
					  "parquet %s: RLE data ends after %zu of %zu values", what, i,
					  n);
		if (h & 1) {
			uint64_t groups = h >> 1, avail = (uint64_t)(end - p);
			uint64_t full = groups * bw;   /* bytes of the whole run */
			size_t take, need;

			if (groups > ((uint64_t)1 << 40))
				return lm_err_set(err, LM_EFORMAT, "parquet %s: absurd bit-packed run",
						  what);
			take = groups * 8 < n - i ? (size_t)(groups * 8) : n - i;
			need = (take * bw + 7) / 8;
			if (need > avail)
				return lm_err_set(err, LM_EFORMAT,
						  "parquet %s: bit-packed run of %zu values truncated",
						  what, take);
			if (out8) {
				if (unpack_u8(p, bw, out8 + i, take) > max)
					return lm_err_set(err, LM_EFORMAT,
							  "parquet %s: level above the maximum %u",
							  what, max);
			} else {
				unpack_u32(p, bw, out32 + i, take);
			}
			p += full < avail ? full : avail;
			i += take;
		} else {
			uint64_t cnt = h >> 1;
			uint32_t v = 0;
			size_t take;

			if (vbytes > (size_t)(end - p))
				return lm_err_set(err, LM_EFORMAT, "parquet %s: RLE run truncated",
						  what);
			for (size_t k = 0; k < vbytes; k++)
				v |= (uint32_t)p[k] << (8 * k);
			p += vbytes;
			if (v > max)
				return lm_err_set(err, LM_EFORMAT,
						  "parquet %s: RLE value %u above the maximum %u", what, v,
						  max);
			take = cnt < n - i ? (size_t)cnt : n - i;
			if (out8) {
				memset(out8 + i, (int)v, take);
			} else {
				for (size_t k = 0; k < take; k++)
					out32[i + k] = v;
			}
			i += take;
		}
	}
	return 0;
}

int pq_rle_u8(const uint8_t *p, const uint8_t *end, unsigned bw, uint8_t max, uint8_t *out,
	      size_t n, const char *what, struct lm_err *err)
{
	return rle_walk(p, end, bw, max, out, NULL, n, what, err);
}

int pq_rle_u32(const uint8_t *p, const uint8_t *end, unsigned bw, uint32_t *out, size_t n,
	       const char *what, struct lm_err *err)
{
	return rle_walk(p, end, bw, UINT32_MAX, NULL, out, n, what, err);
}

int pq_bitpacked_msb_u8(const uint8_t *p, const uint8_t *end, unsigned bw, uint8_t max,
			uint8_t *out, size_t n, const char *what, struct lm_err *err)
{
	uint64_t bits = (uint64_t)n * bw, pos = 0;

	if (bw > 8)
		return lm_err_set(err, LM_EFORMAT, "parquet %s: bit width %u too large", what, bw);
	if ((bits + 7) / 8 > (uint64_t)(end - p))
		return lm_err_set(err, LM_EFORMAT, "parquet %s: BIT_PACKED levels truncated", what);
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (unsigned b = 0; b < bw; b++, pos++)
			v = v << 1 | ((p[pos >> 3] >> (7 - (pos & 7))) & 1);
		if (v > max)
			return lm_err_set(err, LM_EFORMAT, "parquet %s: level %u above the maximum %u",
					  what, v, max);
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* bw bits (1..64) at bit offset pos of in, LSB first. */
static uint64_t getbits(const uint8_t *in, uint64_t pos, unsigned bw)
{
	const uint8_t *b = in + (pos >> 3);
	unsigned sh = (unsigned)(pos & 7), got = 0;
	uint64_t v = 0;

	while (got < bw) {
		v |= (uint64_t)(*b++ >> sh) << got;
		got += 8 - sh;
		sh = 0;
	}
	return bw == 64 ? v : v & (((uint64_t)1 << bw) - 1);
}

struct delta_hdr {
	uint64_t block, nmb, total;
	int64_t first;
};

static int delta_header(const uint8_t **p, const uint8_t *end, struct delta_hdr *h,
			struct lm_err *err)
{
	uint64_t fz;

	if (pq_uleb(p, end, &h->block) || pq_uleb(p, end, &h->nmb) ||
	    pq_uleb(p, end, &h->total) || pq_uleb(p, end, &fz))
		return lm_err_set(err, LM_EFORMAT, "parquet DELTA_BINARY_PACKED: truncated header");
	if (h->block == 0 || h->block % 128 || h->block > ((uint64_t)1 << 31) || h->nmb == 0 ||
	    h->block % h->nmb || (h->block / h->nmb) % 32)
		return lm_err_set(err, LM_EFORMAT,
				  "parquet DELTA_BINARY_PACKED: block of %llu values in %llu "
				  "miniblocks is invalid", (unsigned long long)h->block,
				  (unsigned long long)h->nmb);
	h->first = unzigzag(fz);
	return 0;
}

int pq_delta_decode(const uint8_t *p, const uint8_t *end, bool is32, void *out, size_t n,
		    size_t *used, struct lm_err *err)
{
	const uint8_t *start = p;
	int32_t *o32 = out;
	int64_t *o64 = out;
	struct delta_hdr h = { 0, 0, 0, 0 };
	uint64_t last, vpm;
	size_t i = 0;
	int rc;

	rc = delta_header(&p, end, &h, err);
	if (rc)
		return rc;
	if (h.total != n)
		return lm_err_set(err, LM_EFORMAT,
				  "parquet DELTA_BINARY_PACKED: holds %llu values, expected %zu",
				  (unsigned long long)h.total, n);
	vpm = h.block / h.nmb;
	last = (uint64_t)h.first;
	if (n) {
		if (is32)
			o32[0] = (int32_t)(uint32_t)last;
		else
			o64[0] = (int64_t)last;
		i = 1;
	}
	while (i < n) {
		uint64_t mdz, md;
		const uint8_t *widths;

		if (pq_uleb(&p, end, &mdz))
			return lm_err_set(err, LM_EFORMAT,
					  "parquet DELTA_BINARY_PACKED: truncated block header");
		md = (uint64_t)unzigzag(mdz);
		if (h.nmb > (uint64_t)(end - p))
			return lm_err_set(err, LM_EFORMAT,
					  "parquet DELTA_BINARY_PACKED: truncated bit widths");
		widths = p;
		p += h.nmb;
		for (uint64_t mb = 0; mb < h.nmb && i < n; mb++) {
			unsigned w = widths[mb];
			uint64_t bytes = vpm * w / 8;
			size_t take = vpm < n - i ? (size_t)vpm : n - i;

			if (w > (is32 ? 32u : 64u))
				return lm_err_set(err, LM_EFORMAT,
						  "parquet DELTA_BINARY_PACKED: bit width %u", w);
			if (bytes > (uint64_t)(end - p))
				return lm_err_set(err, LM_EFORMAT,
						  "parquet DELTA_BINARY_PACKED: truncated miniblock");
			for (size_t j = 0; j < take; j++) {
				uint64_t d = w ? getbits(p, (uint64_t)j * w, w) : 0;

				last += md + d;
				if (is32)
					o32[i + j] = (int32_t)(uint32_t)last;
				else
					o64[i + j] = (int64_t)last;
			}
			p += bytes;
			i += take;
		}
	}
	*used = (size_t)(p - start);
	return 0;
}
