/* A tiny Avro container writer for test fixtures (manifest lists and manifests written
 * by the tests themselves): zigzag varints, strings, unions, and the container
 * framing with the codecs the decoder supports. */
#ifndef LM_TEST_AVRO_WRITER_H
#define LM_TEST_AVRO_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

/* The manifest-list schema (format v2 fields) the fixtures of several tests write. */
#define AW_MLIST_SCHEMA \
	"{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":[" \
	"{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500}," \
	"{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501}," \
	"{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502}," \
	"{\"name\":\"content\",\"type\":\"int\",\"field-id\":517}," \
	"{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515}," \
	"{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516}," \
	"{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503}]}"

struct abuf {
	uint8_t *p;
	size_t n, cap;
};

static inline void ab_raw(struct abuf *b, const void *src, size_t n)
{
	if (!n)
		return;
	if (b->cap - b->n < n) {
		size_t nc = b->cap ? b->cap * 2 : 256;

		while (nc - b->n < n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		b->cap = nc;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static inline void ab_long(struct abuf *b, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	do {
		uint8_t c = z & 0x7f;

		z >>= 7;
		if (z)
			c |= 0x80;
		ab_raw(b, &c, 1);
	} while (z);
}

static inline void ab_bytes(struct abuf *b, const void *p, size_t n)
{
	ab_long(b, (int64_t)n);
	ab_raw(b, p, n);
}

static inline void ab_str(struct abuf *b, const char *s)
{
	ab_bytes(b, s, strlen(s));
}

/* ["null", long] union */
static inline void ab_opt_long(struct abuf *b, const int64_t *v)
{
	ab_long(b, v ? 1 : 0);
	if (v)
		ab_long(b, *v);
}

static inline void ab_opt_str(struct abuf *b, const char *s)
{
	ab_long(b, s ? 1 : 0);
	if (s)
		ab_str(b, s);
}

/* A container file: header with schema, codec and extra metadata (key, value pairs,
 * NULL-terminated), one block holding nrec records (recs), compressed with codec. */
static inline void ab_container(struct abuf *out, const char *schema, const char *codec,
				const char *const *meta, const struct abuf *recs, long nrec)
{
	static const uint8_t sync[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	size_t nmeta = 2;
	struct abuf blk = { 0 };

	for (size_t i = 0; meta && meta[i]; i += 2)
		nmeta++;
	ab_raw(out, "Obj\x01", 4);
	ab_long(out, (int64_t)nmeta);
	ab_str(out, "avro.schema");
	ab_str(out, schema);
	ab_str(out, "avro.codec");
	ab_str(out, codec);
	for (size_t i = 0; meta && meta[i]; i += 2) {
		ab_str(out, meta[i]);
		ab_str(out, meta[i + 1]);
	}
	ab_long(out, 0);
	ab_raw(out, sync, 16);
	if (!strcmp(codec, "null")) {
		ab_raw(&blk, recs->p, recs->n);
	} else if (!strcmp(codec, "deflate")) {
		z_stream z;
		uint8_t tmp[1 << 16];

		memset(&z, 0, sizeof(z));
		deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		z.next_in = recs->p;
		z.avail_in = (uInt)recs->n;
		do {
			z.next_out = tmp;
			z.avail_out = sizeof(tmp);
			deflate(&z, Z_FINISH);
			ab_raw(&blk, tmp, sizeof(tmp) - z.avail_out);
		} while (z.avail_out == 0);
		deflateEnd(&z);
	} else if (!strcmp(codec, "snappy")) {
		size_t cl = snappy_max_compressed_length(recs->n);
		char *c = malloc(cl);
		uint32_t crc = (uint32_t)crc32(0, recs->p, (uInt)recs->n);
		uint8_t be[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
				  (uint8_t)crc };

		snappy_compress((const char *)recs->p, recs->n, c, &cl);
		ab_raw(&blk, c, cl);
		ab_raw(&blk, be, 4);
		free(c);
	} else {
		size_t cl = ZSTD_compressBound(recs->n);
		void *c = malloc(cl);

		cl = ZSTD_compress(c, cl, recs->p, recs->n, 3);
		ab_raw(&blk, c, cl);
		free(c);
	}
	if (nrec) {
		ab_long(out, nrec);
		ab_long(out, (int64_t)blk.n);
		ab_raw(out, blk.p, blk.n);
		ab_raw(out, sync, 16);
	}
	free(blk.p);
}

#endif
