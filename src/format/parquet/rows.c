/* rows.c — reassemble rows from a decoded column's repetition/definition levels
 * (Dremel) for columns nested at most one repeated level deep: plain struct fields,
 * list elements, map keys and values.
 * Owns: struct lm_parquet_rows arrays.
 * May call: libc, lm_err_set. */
#include <errno.h>
#include <stdlib.h>

#include "pq.h"

void lm_parquet_rows_init(struct lm_parquet_rows *r)
{
	memset(r, 0, sizeof(*r));
}

void lm_parquet_rows_free(struct lm_parquet_rows *r)
{
	if (!r)
		return;
	free(r->row_def);
	free(r->row_start);
	free(r->value);
	lm_parquet_rows_init(r);
}

int lm_parquet_rows_build(const struct lm_parquet_column *c, struct lm_parquet_rows *out,
			  struct lm_err *err)
{
	size_t n = c->num_levels, nrows = 0, ne = 0, r = 0;
	int64_t vi = 0;
	int rc = 0;

	lm_parquet_rows_init(out);
	if (c->max_rep > 1) {
		rc = lm_err_set(err, LM_EUNSUPPORTED,
				"parquet: rows of a column nested %u repeated levels deep",
				c->max_rep);
		goto out;
	}
	if (c->max_rep == 0) {
		nrows = n;
		ne = n;
	} else {
		if (n && c->rep[0] != 0) {
			rc = lm_err_set(err, LM_EFORMAT,
					"parquet: column starts inside a row (repetition level %u)",
					c->rep[0]);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			uint8_t d = c->def ? c->def[i] : c->max_def;

			nrows += c->rep[i] == 0;
			ne += d >= c->elem_def;
		}
	}
	out->row_def = malloc(nrows ? nrows : 1);
	out->value = malloc((ne ? ne : 1) * sizeof(*out->value));
	if (c->max_rep)
		out->row_start = malloc((nrows + 1) * sizeof(*out->row_start));
	if (!out->row_def || !out->value || (c->max_rep && !out->row_start)) {
		rc = lm_err_set(err, ENOMEM, "parquet: out of memory for rows");
		goto out;
	}
	out->nrows = nrows;
	out->nentries = ne;
	if (c->max_rep == 0) {
		for (size_t i = 0; i < n; i++) {
			uint8_t d = c->def ? c->def[i] : c->max_def;

			out->row_def[i] = d;
			out->value[i] = d == c->max_def ? vi++ : -1;
		}
		goto check;
	}
	ne = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t d = c->def ? c->def[i] : c->max_def;

		if (c->rep[i] == 0) {
			out->row_start[r] = ne;
			out->row_def[r] = d;
			r++;
		} else if (d < c->elem_def) {
			rc = lm_err_set(err, LM_EFORMAT,
					"parquet: slot %zu continues a list but has no element "
					"(definition level %u < %u)", i, d, c->elem_def);
			goto out;
		}
		if (d >= c->elem_def)
			out->value[ne++] = d == c->max_def ? vi++ : -1;
	}
	out->row_start[nrows] = ne;
check:
	if ((size_t)vi != c->num_values)
		rc = lm_err_set(err, LM_EFORMAT, "parquet: %zu values but levels account for %lld",
				c->num_values, (long long)vi);
out:
	if (rc)
		lm_parquet_rows_free(out);
	return rc;
}
