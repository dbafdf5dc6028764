/* fuzz_parquet.c — fuzz target for the Parquet decoder (footer, page headers, pages,
 * codecs, levels, row reassembly).
 *
 * libFuzzer:  clang -fsanitize=fuzzer,address,undefined -Iinclude -DLM_HAVE_LZ4 \
 *               tests/fuzz/fuzz_parquet.c src/format/parquet/\*.c src/util/err.c \
 *               -lsnappy -lzstd -llz4 -lz -o fuzz_parquet
 *             ./fuzz_parquet -max_len=65536 CORPUS_DIR SEED_DIRS...
 * Replay:     built with -DLM_FUZZ_MAIN (the meson test does), `fuzz_parquet DIR...`
 *             feeds every regular file under each DIR (recursively) to the target.
 *
 * The target treats the input as a whole file: footer parsed with the true file size,
 * then every column chunk of every row group decoded and reassembled, with caps low
 * enough to keep one input fast. Invariants of the output are checked with abort(). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lm/parquet.h"

static void check_column(const struct lm_parquet_column *c)
{
	size_t present = 0;

	if (c->num_values > c->num_levels)
		abort();
	for (size_t i = 0; i < c->num_levels; i++) {
		uint8_t d = c->def ? c->def[i] : c->max_def;

		if (d > c->max_def || (c->rep && c->rep[i] > c->max_rep))
			abort();
		present += d == c->max_def;
	}
	if (present != c->num_values)
		abort();
	if (c->offsets) {
		uint64_t sum = 0;

		if (c->offsets[0] != 0 || c->offsets[c->num_values] != c->data_len)
			abort();
		for (size_t k = 0; k < c->num_values; k++) {
			size_t l;
			const uint8_t *p = lm_parquet_column_bytes(c, k, &l);

			if (c->offsets[k + 1] < c->offsets[k])
				abort();
			if (l)
				sum += p[0] + p[l - 1];
		}
		if (c->data[c->data_len] != 0)
			abort();
		(void)sum;
	}
}

static void check_rows(const struct lm_parquet_column *c, const struct lm_parquet_rows *r)
{
	for (size_t e = 0; e < r->nentries; e++)
		if (r->value[e] >= (int64_t)c->num_values)
			abort();
	if (r->row_start) {
		if (r->row_start[0] != 0 || r->row_start[r->nrows] != r->nentries)
			abort();
		for (size_t i = 0; i < r->nrows; i++)
			if (r->row_start[i + 1] < r->row_start[i])
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_parquet_opts o;
	struct lm_parquet_meta *m = NULL;
	struct lm_err e;
	size_t need = 0;

	lm_parquet_opts_init(&o);
	o.max_footer = 1 << 20;
	o.max_page = 8 << 20;
	o.max_values = 1 << 20;
	o.max_column_bytes = 64 << 20;
	o.max_schema = 10000;
	lm_err_init(&e);
	/* the tail protocol on a short tail first */
	if (size > 16 && lm_parquet_footer_parse(data + size - 16, 16, size, &o, &m, &need, &e) == 0)
		lm_parquet_meta_free(m);
	m = NULL;
	if (lm_parquet_footer_parse(data, size, size, &o, &m, &need, &e))
		return 0;
	for (uint32_t i = 0; i < m->nnodes; i++) {
		int k, v;

		if (m->nodes[i].type == LM_PARQUET_GROUP) {
			lm_parquet_map_columns(m, (int)i, &k, &v, &e);
			lm_parquet_list_column(m, (int)i, &k, &e);
		}
		if (lm_parquet_node_find(m, m->nodes[i].path) < 0)
			abort();
	}
	for (uint32_t g = 0; g < m->nrow_groups && g < 64; g++) {
		for (uint32_t ci = 0; ci < m->ncolumns && ci < 256; ci++) {
			const struct lm_parquet_chunk *ch = &m->row_groups[g].chunks[ci];
			struct lm_parquet_column c;
			struct lm_parquet_rows r;

			if (ch->offset > size || ch->length > size - ch->offset)
				abort();   /* footer_parse promised the range lies in the file */
			if (lm_parquet_column_read(m, g, ci, data + ch->offset, ch->length, &c, &e))
				continue;
			check_column(&c);
			if (!lm_parquet_rows_build(&c, &r, &e)) {
				check_rows(&c, &r);
				lm_parquet_rows_free(&r);
			}
			lm_parquet_column_free(&c);
		}
	}
	lm_parquet_meta_free(m);
	return 0;
}

#ifdef LM_FUZZ_MAIN
static unsigned long replayed;

static void replay(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (stat(path, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "rb");
		uint8_t *b;

		if (!f)
			return;
		b = malloc((size_t)st.st_size + 1);
		if (b && fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
			LLVMFuzzerTestOneInput(b, (size_t)st.st_size);
			replayed++;
		}
		free(b);
		fclose(f);
		return;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char p[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		replay(p);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay(argv[i]);
	printf("fuzz_parquet: replayed %lu inputs\n", replayed);
	return 0;
}
#endif
