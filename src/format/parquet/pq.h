/* Private declarations shared by the Parquet decoder's files (src/format/parquet/).
 * Nothing here is part of the public API (include/lm/parquet.h). */
#ifndef LM_PQ_INTERNAL_H
#define LM_PQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lm/err.h"
#include "lm/parquet.h"

#define PQ_DEPTH_HARD 100   /* max_depth never exceeds this: levels fit in uint8_t */

/* ---- Thrift compact protocol reader (thrift.c) ---- */

enum {
	PQ_T_STOP = 0,
	PQ_T_TRUE = 1,
	PQ_T_FALSE = 2,
	PQ_T_BYTE = 3,
	PQ_T_I16 = 4,
	PQ_T_I32 = 5,
	PQ_T_I64 = 6,
	PQ_T_DOUBLE = 7,
	PQ_T_BINARY = 8,
	PQ_T_LIST = 9,
	PQ_T_SET = 10,
	PQ_T_MAP = 11,
	PQ_T_STRUCT = 12,
};

struct pq_thrift {
	const uint8_t *p, *end;
	unsigned depth, max_depth;
	struct lm_err *err;
	const char *what;       /* the structure being read, for messages */
};

void pq_thrift_init(struct pq_thrift *t, const void *p, size_t n, unsigned max_depth,
		    struct lm_err *err, const char *what);
/* Next field header. *type == PQ_T_STOP ends the struct. *last is the previous field
 * id of this struct (start with 0). */
int pq_t_field(struct pq_thrift *t, int16_t *last, uint8_t *type, int16_t *id);
/* Check a known field's wire type; LM_EFORMAT naming struct.field otherwise. A bool
 * field is accepted as PQ_T_TRUE or PQ_T_FALSE when want == PQ_T_TRUE. */
int pq_t_expect(struct pq_thrift *t, uint8_t got, uint8_t want, const char *field);
int pq_t_i32(struct pq_thrift *t, int32_t *v);
int pq_t_i64(struct pq_thrift *t, int64_t *v);
int pq_t_binary(struct pq_thrift *t, const uint8_t **p, size_t *n);
/* List/set header; n is checked against the bytes left (each element takes >= 1 byte,
 * a double 8). */
int pq_t_list(struct pq_thrift *t, uint8_t *etype, uint32_t *n);
/* Skip a value of the given wire type (structs, lists, sets, maps nested up to
 * max_depth). */
int pq_t_skip(struct pq_thrift *t, uint8_t type);
/* Enter/leave a nested struct (depth accounting). */
int pq_t_enter(struct pq_thrift *t);
void pq_t_leave(struct pq_thrift *t);
int pq_t_fail(struct pq_thrift *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- arena for footer data (footer.c) ---- */

struct pq_arena {
	struct pq_block *head;
	size_t total;           /* bytes allocated so far */
	size_t limit;
};

void *pq_arena_alloc(struct pq_arena *a, size_t n);          /* zeroed, 8-aligned */
char *pq_arena_strdup(struct pq_arena *a, const void *p, size_t n);
void pq_arena_free(struct pq_arena *a);

/* ---- page headers (page.c) ---- */

enum {
	PQ_PAGE_DATA = 0,
	PQ_PAGE_INDEX = 1,
	PQ_PAGE_DICTIONARY = 2,
	PQ_PAGE_DATA_V2 = 3,
};

enum {
	PQ_ENC_PLAIN = 0,
	PQ_ENC_PLAIN_DICTIONARY = 2,
	PQ_ENC_RLE = 3,
	PQ_ENC_BIT_PACKED = 4,
	PQ_ENC_DELTA_BINARY_PACKED = 5,
	PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	PQ_ENC_DELTA_BYTE_ARRAY = 7,
	PQ_ENC_RLE_DICTIONARY = 8,
	PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

struct pq_page_header {
	int32_t type;
	int32_t uncompressed_size;
	int32_t compressed_size;
	int32_t num_values;
	int32_t encoding;
	int32_t def_encoding, rep_encoding;       /* v1 */
	int32_t num_nulls, num_rows;              /* v2 */
	int32_t def_len, rep_len;                 /* v2 */
	bool is_compressed;                       /* v2, default true */
	bool has_sub;                             /* the header for `type` was present */
};

/* Parse one PageHeader at p; *hdr_len receives its encoded size. */
int pq_page_header_parse(const uint8_t *p, size_t n, unsigned max_depth,
			 struct pq_page_header *h, size_t *hdr_len, struct lm_err *err);

/* ---- codecs (codec.c) ---- */

struct pq_codec_ctx {
	void *zstd;             /* ZSTD_DCtx, created on first use */
};

void pq_codec_ctx_free(struct pq_codec_ctx *c);
/* Decompress src into exactly dst_len bytes of dst. */
int pq_decompress(struct pq_codec_ctx *c, int codec, const uint8_t *src, size_t src_len,
		  uint8_t *dst, size_t dst_len, struct lm_err *err);

/* ---- encodings (encoding.c) ---- */

static inline uint32_t pq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline unsigned pq_bit_width(uint64_t max)
{
	unsigned w = 0;

	while (max) {
		w++;
		max >>= 1;
	}
	return w;
}

/* ULEB128 up to 64 bits; advances *p. */
int pq_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* RLE/bit-packed hybrid, no length prefix: decode exactly n values of bit width bw from
 * [p, end) into out. Levels above max are refused (LM_EFORMAT naming `what`); index
 * values are checked by the caller against its dictionary. */
int pq_rle_u8(const uint8_t *p, const uint8_t *end, unsigned bw, uint8_t max,
	      uint8_t *out, size_t n, const char *what, struct lm_err *err);
int pq_rle_u32(const uint8_t *p, const uint8_t *end, unsigned bw, uint32_t *out,
	       size_t n, const char *what, struct lm_err *err);
/* Deprecated BIT_PACKED (MSB first) levels; needs ceil(n*bw/8) bytes. */
int pq_bitpacked_msb_u8(const uint8_t *p, const uint8_t *end, unsigned bw, uint8_t max,
			uint8_t *out, size_t n, const char *what, struct lm_err *err);

/* DELTA_BINARY_PACKED: decode exactly n values (the header's count must be n) as
 * 64-bit (wrapping) or, when is32, truncated to 32 bits into out (int64_t or int32_t).
 * *used receives the bytes consumed. */
int pq_delta_decode(const uint8_t *p, const uint8_t *end, bool is32, void *out, size_t n,
		    size_t *used, struct lm_err *err);

#endif
