/* dv.c — fetches the deletion vector of a live file: inline ('i', Z85 in the log),
 * relative ('u', deletion_vector_<uuid>.bin under an optional prefix folder of the
 * table root) or absolute ('p', a URI inside the source), with one ranged read, and
 * decodes it with the pure decoders (format/delta_dv.c). Every size is capped; the
 * stored record's size and CRC-32 are checked, and the row count against the log's
 * cardinality. Owns nothing beyond the call. May call: store, format/delta_dv, util. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "lm/util.h"

#define MAX_DV_BYTES ((int64_t)256 << 20)
#define MAX_DV_ROWS ((uint64_t)1 << 27)
#define SMALL_FILE_READ ((int64_t)1 << 20)

static int dv_key(struct lm_delta_table *t, const struct lm_delta_dvref *d, char **key,
		  struct lm_err *err)
{
	char rel[512];
	char *dec = NULL;
	int rc;

	*key = NULL;
	if (d->storage == 'u') {
		if (lm_delta_dv_relpath(d->data, rel, sizeof(rel)))
			return lm_err_set(err, LM_EFORMAT, "deletion vector '%s': not a prefix + Z85 UUID",
					  d->data);
		*key = lm_path_join(t->base.key, rel);
		return *key ? 0 : lm_err_set(err, ENOMEM, "out of memory");
	}
	if (lm_pct_decode(d->data, strlen(d->data), &dec))
		return lm_err_set(err, LM_EFORMAT, "deletion vector path '%s' has an invalid %%-escape",
				  d->data);
	rc = lm_store_uri_to_key(t->base.store, dec, key, err);
	free(dec);
	if (rc)
		return lm_err_set(err, LM_EESCAPE, "deletion vector path '%s' is outside the source",
				  d->data);
	return 0;
}

int lm_delta_dv_rows(struct lm_delta_table *t, const struct lm_delta_dvref *d,
		     int64_t cardinality, uint64_t **rows, size_t *n, struct lm_err *err)
{
	uint8_t *buf = NULL;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	char *key = NULL;
	int rc;

	*rows = NULL;
	*n = 0;
	if (d->size > MAX_DV_BYTES)
		return lm_err_set(err, LM_ETOOBIG, "deletion vector of %lld bytes (cap %lld)",
				  (long long)d->size, (long long)MAX_DV_BYTES);
	if (d->storage == 'i') {
		size_t len = strlen(d->data), got = 0;

		if (len / 5 * 4 > (size_t)MAX_DV_BYTES)
			return lm_err_set(err, LM_ETOOBIG, "inline deletion vector too large");
		buf = malloc(len / 5 * 4 + 1);
		if (!buf)
			return lm_err_set(err, ENOMEM, "out of memory");
		if (lm_delta_z85_decode(d->data, len, buf, len / 5 * 4, &got)) {
			rc = lm_err_set(err, LM_EFORMAT, "inline deletion vector is not Z85");
			goto out;
		}
		if (d->size >= 0) {
			if ((size_t)d->size > got) {
				rc = lm_err_set(err, LM_EFORMAT,
						"inline deletion vector: %zu bytes, sizeInBytes says %lld",
						got, (long long)d->size);
				goto out;
			}
			got = (size_t)d->size;
		}
		data = buf;
		dlen = got;
	} else if (d->storage == 'u' || d->storage == 'p') {
		int64_t off = d->offset >= 0 ? d->offset : 0;
		bool whole;
		struct lm_get_req req;
		size_t got = 0;
		int64_t end;

		if (d->size < 0)
			return lm_err_set(err, LM_EFORMAT, "deletion vector without sizeInBytes");
		rc = dv_key(t, d, &key, err);
		if (rc)
			goto out;
		end = off + 8 + d->size;
		whole = end <= SMALL_FILE_READ;   /* small: from 0, the version byte is checked */
		req.key = key;
		req.off = whole ? 0 : (uint64_t)off;
		req.len = (size_t)(whole ? end : end - off);
		req.if_match = NULL;
		buf = malloc(req.len ? req.len : 1);
		if (!buf) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = lm_store_get_range(t->base.store, &req, buf, &got, NULL, err);
		if (rc) {
			lm_err_prefix(err, "deletion vector %s: ", key);
			goto out;
		}
		rc = lm_delta_dv_file_slice(buf, got, whole, off, d->size, &data, &dlen, err);
		if (rc) {
			lm_err_prefix(err, "%s: ", key);
			goto out;
		}
	} else {
		return lm_err_set(err, LM_EUNSUPPORTED, "deletion vector storage type '%c'",
				  d->storage);
	}
	rc = lm_delta_dv_bitmap_decode(data, dlen, MAX_DV_ROWS, rows, n, err);
	if (rc)
		goto out;
	if (cardinality >= 0 && (uint64_t)cardinality != *n) {
		rc = lm_err_set(err, LM_EFORMAT,
				"deletion vector holds %zu rows, the log says cardinality %lld", *n,
				(long long)cardinality);
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
out:
	free(buf);
	free(key);
	return rc;
}
