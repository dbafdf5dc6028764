/* page.c — Parquet PageHeader (Thrift compact): data page v1/v2 and dictionary page
 * headers; statistics and unknown fields are skipped.
 * Owns: nothing beyond struct pq_page_header filled from caller bytes.
 * May call: thrift.c, libc. */
#include "pq.h"

#define EXPECT(ty, want, name)                                 \
	do {                                                   \
		rc = pq_t_expect(t, (ty), (want), (name));     \
		if (rc)                                        \
			goto out;                              \
	} while (0)

static int read_data_v1(struct pq_thrift *t, struct pq_page_header *h)
{
	int16_t last = 0, id;
	uint8_t ty;
	unsigned seen = 0;
	int rc;

	rc = pq_t_enter(t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "DataPageHeader.num_values");
			rc = pq_t_i32(t, &h->num_values);
			seen |= 1;
			break;
		case 2:
			EXPECT(ty, PQ_T_I32, "DataPageHeader.encoding");
			rc = pq_t_i32(t, &h->encoding);
			seen |= 2;
			break;
		case 3:
			EXPECT(ty, PQ_T_I32, "DataPageHeader.definition_level_encoding");
			rc = pq_t_i32(t, &h->def_encoding);
			break;
		case 4:
			EXPECT(ty, PQ_T_I32, "DataPageHeader.repetition_level_encoding");
			rc = pq_t_i32(t, &h->rep_encoding);
			break;
		default:
			rc = pq_t_skip(t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && seen != 3)
		rc = pq_t_fail(t, "DataPageHeader lacks num_values or encoding");
out:
	pq_t_leave(t);
	return rc;
}

static int read_dict(struct pq_thrift *t, struct pq_page_header *h)
{
	int16_t last = 0, id;
	uint8_t ty;
	unsigned seen = 0;
	int rc;

	rc = pq_t_enter(t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "DictionaryPageHeader.num_values");
			rc = pq_t_i32(t, &h->num_values);
			seen |= 1;
			break;
		case 2:
			EXPECT(ty, PQ_T_I32, "DictionaryPageHeader.encoding");
			rc = pq_t_i32(t, &h->encoding);
			seen |= 2;
			break;
		default:
			rc = pq_t_skip(t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && seen != 3)
		rc = pq_t_fail(t, "DictionaryPageHeader lacks num_values or encoding");
out:
	pq_t_leave(t);
	return rc;
}

static int read_data_v2(struct pq_thrift *t, struct pq_page_header *h)
{
	int16_t last = 0, id;
	uint8_t ty;
	unsigned seen = 0;
	int rc;

	rc = pq_t_enter(t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.num_values");
			rc = pq_t_i32(t, &h->num_values);
			seen |= 1;
			break;
		case 2:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.num_nulls");
			rc = pq_t_i32(t, &h->num_nulls);
			break;
		case 3:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.num_rows");
			rc = pq_t_i32(t, &h->num_rows);
			break;
		case 4:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.encoding");
			rc = pq_t_i32(t, &h->encoding);
			seen |= 2;
			break;
		case 5:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.definition_levels_byte_length");
			rc = pq_t_i32(t, &h->def_len);
			seen |= 4;
			break;
		case 6:
			EXPECT(ty, PQ_T_I32, "DataPageHeaderV2.repetition_levels_byte_length");
			rc = pq_t_i32(t, &h->rep_len);
			seen |= 8;
			break;
		case 7:
			EXPECT(ty, PQ_T_TRUE, "DataPageHeaderV2.is_compressed");
			h->is_compressed = ty == PQ_T_TRUE;
			break;
		default:
			rc = pq_t_skip(t, ty);
		}
		if (rc)
			break;
	}
	if (!rc && seen != 15)
		rc = pq_t_fail(t, "DataPageHeaderV2 lacks num_values, encoding or level lengths");
	if (!rc && (h->def_len < 0 || h->rep_len < 0))
		rc = pq_t_fail(t, "DataPageHeaderV2 has negative level lengths");
out:
	pq_t_leave(t);
	return rc;
}

int pq_page_header_parse(const uint8_t *p, size_t n, unsigned max_depth,
			 struct pq_page_header *h, size_t *hdr_len, struct lm_err *err)
{
	struct pq_thrift t;
	int16_t last = 0, id;
	uint8_t ty;
	unsigned seen = 0;
	int rc;

	memset(h, 0, sizeof(*h));
	h->type = -1;
	h->is_compressed = true;
	pq_thrift_init(&t, p, n, max_depth, err, "page header");
	rc = pq_t_enter(&t);
	if (rc)
		return rc;
	for (;;) {
		rc = pq_t_field(&t, &last, &ty, &id);
		if (rc || ty == PQ_T_STOP)
			break;
		switch (id) {
		case 1:
			rc = pq_t_expect(&t, ty, PQ_T_I32, "PageHeader.type");
			if (!rc)
				rc = pq_t_i32(&t, &h->type);
			seen |= 1;
			break;
		case 2:
			rc = pq_t_expect(&t, ty, PQ_T_I32, "PageHeader.uncompressed_page_size");
			if (!rc)
				rc = pq_t_i32(&t, &h->uncompressed_size);
			seen |= 2;
			break;
		case 3:
			rc = pq_t_expect(&t, ty, PQ_T_I32, "PageHeader.compressed_page_size");
			if (!rc)
				rc = pq_t_i32(&t, &h->compressed_size);
			seen |= 4;
			break;
		case 5:
		case 7:
		case 8:
			/* Only the header matching the page type counts; others are skipped. */
			if (ty != PQ_T_STRUCT || !(seen & 1) ||
			    (id == 5 && h->type != PQ_PAGE_DATA) ||
			    (id == 7 && h->type != PQ_PAGE_DICTIONARY) ||
			    (id == 8 && h->type != PQ_PAGE_DATA_V2) || h->has_sub) {
				rc = pq_t_skip(&t, ty);
				break;
			}
			if (id == 5)
				rc = read_data_v1(&t, h);
			else if (id == 7)
				rc = read_dict(&t, h);
			else
				rc = read_data_v2(&t, h);
			h->has_sub = true;
			break;
		default:
			rc = pq_t_skip(&t, ty);
		}
		if (rc)
			break;
	}
	pq_t_leave(&t);
	if (rc)
		return rc;
	if (seen != 7)
		return pq_t_fail(&t, "lacks type or page sizes");
	if (h->uncompressed_size < 0 || h->compressed_size < 0)
		return pq_t_fail(&t, "negative page size");
	if (h->num_values < 0)
		return pq_t_fail(&t, "negative num_values");
	*hdr_len = (size_t)(t.p - p);
	return 0;
}
