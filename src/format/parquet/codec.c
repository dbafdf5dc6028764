/* codec.c — Parquet page decompression: SNAPPY (libsnappy), GZIP (zlib), ZSTD
 * (libzstd), LZ4_RAW and Hadoop-framed LZ4 (liblz4, when built with it).
 * Owns: struct pq_codec_ctx (a reusable zstd context).
 * May call: snappy-c, zlib, zstd, lz4, libc, lm_err_set. Every call decompresses into a
 * caller buffer of the exact size the page header announces and fails if the codec
 * would produce more or fewer bytes. */
#include <errno.h>
#include <limits.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#ifdef LM_HAVE_LZ4
#include <lz4.h>
#endif

#include "pq.h"

void pq_codec_ctx_free(struct pq_codec_ctx *c)
{
	if (c->zstd)
		ZSTD_freeDCtx(c->zstd);
	c->zstd = NULL;
}

static int bad(struct lm_err *err, int codec, const char *why)
{
	return lm_err_set(err, LM_EFORMAT, "parquet page: %s data %s",
			  lm_parquet_codec_name(codec), why);
}

static int do_snappy(const uint8_t *src, size_t n, uint8_t *dst, size_t dn, struct lm_err *err)
{
	size_t ulen;

	if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
		return bad(err, LM_PARQUET_CODEC_SNAPPY, "has a corrupt length header");
	if (ulen != dn)
		return lm_err_set(err, LM_EFORMAT,
				  "parquet page: SNAPPY data holds %zu bytes, the header says %zu",
				  ulen, dn);
	if (snappy_uncompress((const char *)src, n, (char *)dst, &ulen) != SNAPPY_OK ||
	    ulen != dn)
		return bad(err, LM_PARQUET_CODEC_SNAPPY, "is corrupt");
	return 0;
}

static int do_gzip(const uint8_t *src, size_t n, uint8_t *dst, size_t dn, struct lm_err *err)
{
	z_stream z;
	int zr, rc = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return lm_err_set(err, ENOMEM, "parquet page: cannot start zlib");
	z.next_in = (Bytef *)(uintptr_t)src;
	z.next_out = dst;
	/* sizes fit in uInt: pages are capped below INT32_MAX */
	z.avail_in = (uInt)n;
	z.avail_out = (uInt)dn;
	for (;;) {
		zr = inflate(&z, Z_FINISH);
		if (zr == Z_STREAM_END) {
			/* concatenated gzip members: go on while input and room remain */
			if (z.avail_in && z.avail_out) {
				if (inflateReset(&z) != Z_OK) {
					rc = bad(err, LM_PARQUET_CODEC_GZIP, "is corrupt");
					goto out;
				}
				continue;
			}
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_out == 0) {
			rc = bad(err, LM_PARQUET_CODEC_GZIP, "inflates beyond the page size");
			goto out;
		}
		rc = bad(err, LM_PARQUET_CODEC_GZIP, zr == Z_BUF_ERROR ? "is truncated" : "is corrupt");
		goto out;
	}
	if (z.avail_out != 0)
		rc = lm_err_set(err, LM_EFORMAT,
				"parquet page: GZIP data inflates to %zu bytes, the header says %zu",
				dn - z.avail_out, dn);
out:
	inflateEnd(&z);
	return rc;
}

static int do_zstd(struct pq_codec_ctx *c, const uint8_t *src, size_t n, uint8_t *dst,
		   size_t dn, struct lm_err *err)
{
	size_t r;

	if (!c->zstd) {
		c->zstd = ZSTD_createDCtx();
		if (!c->zstd)
			return lm_err_set(err, ENOMEM, "parquet page: cannot start zstd");
	}
	r = ZSTD_decompressDCtx(c->zstd, dst, dn, src, n);
	if (ZSTD_isError(r))
		return lm_err_set(err, LM_EFORMAT, "parquet page: ZSTD data: %s",
				  ZSTD_getErrorName(r));
	if (r != dn)
		return lm_err_set(err, LM_EFORMAT,
				  "parquet page: ZSTD data holds %zu bytes, the header says %zu", r,
				  dn);
	return 0;
}

#ifdef LM_HAVE_LZ4
static int lz4_block(const uint8_t *src, size_t n, uint8_t *dst, size_t dn)
{
	int r;

	if (n > INT_MAX || dn > INT_MAX)
		return -1;
	r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dn);
	return r < 0 ? -1 : r;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop framing: repeated [be32 raw size][be32 compressed size][lz4 block]. */
static bool lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dn)
{
	size_t in = 0, outp = 0;

	while (in < n) {
		uint32_t raw, comp;

		if (n - in < 8)
			return false;
		raw = be32(src + in);
		comp = be32(src + in + 4);
		in += 8;
		if (comp > n - in || raw > dn - outp)
			return false;
		if (lz4_block(src + in, comp, dst + outp, raw) != (int)raw)
			return false;
		in += comp;
		outp += raw;
	}
	return outp == dn;
}
#endif

int pq_decompress(struct pq_codec_ctx *c, int codec, const uint8_t *src, size_t src_len,
		  uint8_t *dst, size_t dst_len, struct lm_err *err)
{
	if (src_len == 0 && dst_len == 0)
		return 0;      /* an empty section (all-null v2 page): nothing to inflate */
	switch (codec) {
	case LM_PARQUET_CODEC_UNCOMPRESSED:
		if (src_len != dst_len)
			return lm_err_set(err, LM_EFORMAT,
					  "parquet page: uncompressed page of %zu bytes, header says %zu",
					  src_len, dst_len);
		if (dst_len)
			memcpy(dst, src, dst_len);
		return 0;
	case LM_PARQUET_CODEC_SNAPPY:
		return do_snappy(src, src_len, dst, dst_len, err);
	case LM_PARQUET_CODEC_GZIP:
		return do_gzip(src, src_len, dst, dst_len, err);
	case LM_PARQUET_CODEC_ZSTD:
		return do_zstd(c, src, src_len, dst, dst_len, err);
#ifdef LM_HAVE_LZ4
	case LM_PARQUET_CODEC_LZ4_RAW:
		if (lz4_block(src, src_len, dst, dst_len) != (int)dst_len)
			return bad(err, codec, "is corrupt or of the wrong size");
		return 0;
	case LM_PARQUET_CODEC_LZ4:
		if (lz4_hadoop(src, src_len, dst, dst_len))
			return 0;
		if (lz4_block(src, src_len, dst, dst_len) == (int)dst_len)
			return 0;
		return bad(err, codec, "is neither Hadoop-framed nor a raw LZ4 block");
#endif
	default:
		return lm_err_set(err, LM_EUNSUPPORTED, "parquet page: codec %s (%d) not supported",
				  lm_parquet_codec_name(codec), codec);
	}
}
