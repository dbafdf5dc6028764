/* delta_dv.c — pure decoders for Delta deletion vectors (PROTOCOL.md "Deletion
 * Vectors", "Deletion Vector Format"): Z85, the UUID-derived file name of a 'u' DV,
 * the stored-DV record of a deletion vector file (size, CRC-32) and the
 * RoaringBitmapArray (magic, then 64-bit portable Roaring: 32-bit buckets decoded by
 * CRoaring) → row indexes.
 * Owns nothing beyond the call. May call: CRoaring, zlib (crc32), util. No I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>
#include <zlib.h>

#include "lm/delta.h"

#define DV_MAGIC 1681511377u         /* portable: little-endian header, explicit keys */
#define DV_MAGIC_NATIVE 1681511376u  /* Delta's older "native" layout, big-endian header:
				      * bitmap count, then per bitmap its byte size; the
				      * key of bitmap i is i (the protocol's inline example) */

static const char z85_chars[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static int z85_val(unsigned char c)
{
	const char *p = c ? memchr(z85_chars, c, 85) : NULL;

	return p ? (int)(p - z85_chars) : -1;
}

int lm_delta_z85_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t o = 0;

	if (n % 5)
		return EINVAL;
	if (n / 5 * 4 > cap)
		return LM_ETOOBIG;
	for (size_t i = 0; i < n; i += 5) {
		uint64_t v = 0;

		if (i + 5 == n && s[i] == '#') {
			/* A short last chunk as the Rust z85 crate (delta-rs, kernel-rs) writes it:
			 * k leading '#' (never the first character of a real chunk: 84 * 85^4 >
			 * 2^32) say k bytes are missing; the rest encodes 4 - k bytes. */
			int k = 0, m;

			while (k < 3 && s[i + k] == '#')
				k++;
			m = 4 - k;
			for (int j = k; j < 5; j++) {
				int d = z85_val((unsigned char)s[i + j]);

				if (d < 0)
					return EINVAL;
				v = v * 85 + (uint64_t)d;
			}
			if (v >> (8 * m))
				return EINVAL;
			for (int j = m - 1; j >= 0; j--)
				out[o++] = (uint8_t)(v >> (8 * j));
			break;
		}
		for (int k = 0; k < 5; k++) {
			int d = z85_val((unsigned char)s[i + k]);

			if (d < 0)
				return EINVAL;
			v = v * 85 + (uint64_t)d;
		}
		if (v > 0xffffffffu)
			return EINVAL;
		out[o++] = (uint8_t)(v >> 24);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}

int lm_delta_dv_relpath(const char *pod, char *out, size_t outsz)
{
	size_t n = strlen(pod), plen;
	uint8_t u[16];
	size_t ul;
	int w;

	if (n < 20)
		return EINVAL;
	plen = n - 20;
	if (lm_delta_z85_decode(pod + plen, 20, u, sizeof(u), &ul) || ul != 16)
		return EINVAL;
	/* The prefix is a folder name: no separators, no dot names. */
	for (size_t i = 0; i < plen; i++)
		if (pod[i] == '/' || pod[i] == '\\' || pod[i] == '\0')
			return EINVAL;
	if ((plen == 1 && pod[0] == '.') || (plen == 2 && pod[0] == '.' && pod[1] == '.'))
		return EINVAL;
	w = snprintf(out, outsz,
		     "%.*s%sdeletion_vector_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		     "%02x%02x%02x%02x%02x%02x.bin",
		     (int)plen, pod, plen ? "/" : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6],
		     u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return w < 0 || (size_t)w >= outsz ? EINVAL : 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int lm_delta_dv_bitmap_decode(const uint8_t *b, size_t n, uint64_t max_rows, uint64_t **rows,
			      size_t *nrows, struct lm_err *err)
{
	uint64_t nb, total = 0;
	uint64_t *v = NULL;
	size_t pos, start, cnt = 0;
	int64_t last_key = -1;
	bool native;
	int rc = 0;

	*rows = NULL;
	*nrows = 0;
	if (n < 8)
		return lm_err_set(err, LM_EFORMAT, "deletion vector: %zu bytes, too short", n);
	if (le32(b) == DV_MAGIC) {
		native = false;
		if (n < 12)
			return lm_err_set(err, LM_EFORMAT, "deletion vector: %zu bytes, too short", n);
		nb = (uint64_t)le32(b + 4) | (uint64_t)le32(b + 8) << 32;
		start = 12;
	} else if (be32(b) == DV_MAGIC_NATIVE) {
		native = true;
		nb = be32(b + 4);
		start = 8;
	} else {
		return lm_err_set(err, LM_EFORMAT,
				  "deletion vector: magic %u, not %u (RoaringBitmapArray)", le32(b),
				  DV_MAGIC);
	}
	if (nb > (n - start) / 12)
		return lm_err_set(err, LM_EFORMAT, "deletion vector: %llu buckets in %zu bytes",
				  (unsigned long long)nb, n);
	/* Two passes: sizes and cardinalities first (so the cap is checked before any row
	 * array exists), then the values. */
	for (int pass = 0; pass < 2; pass++) {
		pos = start;
		last_key = -1;
		for (uint64_t i = 0; i < nb; i++) {
			roaring_bitmap_t *bm;
			uint32_t key;
			size_t sz, limit = n;

			if (n - pos < 4) {
				rc = lm_err_set(err, LM_EFORMAT, "deletion vector: bucket %llu truncated",
						(unsigned long long)i);
				goto out;
			}
			if (native) {
				key = (uint32_t)i;
				if (be32(b + pos) > n - pos - 4) {
					rc = lm_err_set(err, LM_EFORMAT,
							"deletion vector: bitmap %llu runs past the end",
							(unsigned long long)i);
					goto out;
				}
				limit = pos + 4 + be32(b + pos);
			} else {
				key = le32(b + pos);
			}
			pos += 4;
			if (key & 0x80000000u || (int64_t)key <= last_key) {
				rc = lm_err_set(err, LM_EFORMAT,
						"deletion vector: bucket key %u out of order or negative", key);
				goto out;
			}
			last_key = key;
			sz = roaring_bitmap_portable_deserialize_size((const char *)b + pos, limit - pos);
			if (!sz || (native && pos + sz != limit)) {
				rc = lm_err_set(err, LM_EFORMAT,
						"deletion vector: bucket %llu is not a Roaring bitmap",
						(unsigned long long)i);
				goto out;
			}
			bm = roaring_bitmap_portable_deserialize_safe((const char *)b + pos, sz);
			if (!bm) {
				rc = lm_err_set(err, LM_EFORMAT,
						"deletion vector: bucket %llu cannot be decoded",
						(unsigned long long)i);
				goto out;
			}
			if (pass == 0) {
				total += roaring_bitmap_get_cardinality(bm);
			} else {
				roaring_uint32_iterator_t it;

				roaring_init_iterator(bm, &it);
				while (it.has_value && cnt < total) {
					v[cnt++] = (uint64_t)key << 32 | it.current_value;
					roaring_advance_uint32_iterator(&it);
				}
			}
			roaring_bitmap_free(bm);
			pos += sz;
			if (pass == 0 && total > max_rows) {
				rc = lm_err_set(err, LM_ETOOBIG,
						"deletion vector: more than %llu deleted rows",
						(unsigned long long)max_rows);
				goto out;
			}
		}
		if (pos != n) {
			rc = lm_err_set(err, LM_EFORMAT, "deletion vector: %zu bytes after the bitmap",
					n - pos);
			goto out;
		}
		if (pass == 0) {
			v = malloc((total ? total : 1) * sizeof(*v));
			if (!v) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (cnt != total) {
		rc = lm_err_set(err, LM_EFORMAT, "deletion vector: iteration gave %zu of %llu rows",
				cnt, (unsigned long long)total);
		goto out;
	}
	*rows = v;
	*nrows = cnt;
	v = NULL;
out:
	free(v);
	return rc;
}

int lm_delta_dv_file_slice(const uint8_t *b, size_t n, bool at_start, int64_t offset,
			   int64_t size, const uint8_t **data, size_t *dlen, struct lm_err *err)
{
	uint32_t ds, crc;
	size_t pos = 0;

	if (at_start) {
		if (offset < 1 || (uint64_t)offset > n)
			return lm_err_set(err, LM_EFORMAT,
					  "deletion vector file: offset %lld outside its %zu bytes",
					  (long long)offset, n);
		if (b[0] != 1)
			return lm_err_set(err, LM_EFORMAT,
					  "deletion vector file: format version %u, not 1", b[0]);
		pos = (size_t)offset;
	}
	if (n - pos < 4)
		return lm_err_set(err, LM_EFORMAT, "deletion vector file: truncated at %lld",
				  (long long)offset);
	ds = be32(b + pos);
	if (size >= 0 && (uint64_t)ds != (uint64_t)size)
		return lm_err_set(err, LM_EFORMAT,
				  "deletion vector file: stored size %u, the log says %lld", ds,
				  (long long)size);
	if (n - pos - 4 < (size_t)ds + 4)
		return lm_err_set(err, LM_EFORMAT,
				  "deletion vector file: %u bytes at %lld run past its end", ds,
				  (long long)offset);
	crc = be32(b + pos + 4 + ds);
	if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), b + pos + 4, ds) != crc)
		return lm_err_set(err, LM_EFORMAT,
				  "deletion vector file: CRC-32 mismatch for the DV at %lld",
				  (long long)offset);
	*data = b + pos + 4;
	*dlen = ds;
	return 0;
}
