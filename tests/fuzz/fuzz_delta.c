/* fuzz_delta.c — fuzz target for the Delta commit decoder (cJSON path and the add/remove
 * scanner), _delta_log name parsing, percent-decoding, and the other pure Delta
 * decoders: _last_checkpoint (with its checksum canonicalization), Z85, deletion vector
 * names, records and RoaringBitmapArrays, timestamp names.
 *
 * libFuzzer:  clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_delta.c \
 *               src/format/delta_actions.c src/format/json_scan.c src/util/[a-z]*.c -lcjson \
 *               -o fuzz_delta && ./fuzz_delta CORPUS_DIR tests/fuzz/seeds/delta
 * Replay:     built with -DLM_FUZZ_MAIN (the meson test does): `fuzz_delta DIR...` feeds
 *             every regular file under each DIR to the target.
 *
 * Invariant checked with abort(): both decoding paths agree on success and on every
 * add/remove they produce. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lm/delta.h"
#include "lm/util.h"

static int same(const struct lm_delta_file_action *a, size_t na,
		const struct lm_delta_file_action *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i].path, b[i].path) || a[i].size != b[i].size ||
		    a[i].mtime_ms != b[i].mtime_ms || a[i].flags != b[i].flags ||
		    !a[i].dv_id != !b[i].dv_id || (a[i].dv_id && strcmp(a[i].dv_id, b[i].dv_id)))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_delta_commit f, s;
	struct lm_delta_log_name ln;
	struct lm_err e1, e2;
	char *str, *dec = NULL;
	int rf, rs;

	lm_delta_commit_init(&f);
	lm_delta_commit_init(&s);
	lm_delta_fast_path = true;
	rf = lm_delta_commit_parse((const char *)data, size, &f, &e1);
	lm_delta_fast_path = false;
	rs = lm_delta_commit_parse((const char *)data, size, &s, &e2);
	lm_delta_fast_path = true;
	if ((rf == 0) != (rs == 0))
		abort();
	if (!rf && (!same(f.adds, f.n_adds, s.adds, s.n_adds) ||
		    !same(f.removes, f.n_removes, s.removes, s.n_removes)))
		abort();
	lm_delta_commit_free(&f);
	lm_delta_commit_free(&s);

	str = lm_strndup((const char *)data, size < 256 ? size : 256);
	if (str) {
		lm_delta_log_name_parse(str, &ln);
		if (ln.kind != LM_DELTA_LOG_OTHER && ln.kind != LM_DELTA_LOG_LAST_CHECKPOINT &&
		    ln.version < 0)
			abort();
		if (!lm_pct_decode(str, strlen(str), &dec)) {
			if (strlen(dec) > strlen(str))
				abort();
			free(dec);
		}
		(void)lm_relpath_ok(str);
		{
			int64_t ms;
			char rel[512];

			(void)lm_delta_time_parse(str, &ms);
			if (!lm_delta_dv_relpath(str, rel, sizeof(rel)) && !strstr(rel, "deletion_vector_"))
				abort();
		}
		free(str);
	}
	{
		struct lm_delta_last_checkpoint lc;
		struct lm_err e3;

		if (!lm_delta_last_checkpoint_parse((const char *)data, size, &lc, &e3) && lc.version < 0)
			abort();
	}
	{
		/* the input as a DV record, a bitmap, and as Z85 text */
		const uint8_t *dv = NULL;
		uint64_t *rows = NULL;
		size_t dlen = 0, nrows = 0, zl = 0;
		struct lm_err e4;
		uint8_t *z = malloc(size / 5 * 4 + 1);

		if (!lm_delta_dv_file_slice(data, size, true, 1, -1, &dv, &dlen, &e4) &&
		    (dv < data || dv + dlen > data + size))
			abort();
		if (!lm_delta_dv_bitmap_decode(data, size, 1u << 20, &rows, &nrows, &e4)) {
			for (size_t i = 1; i < nrows; i++)
				if (rows[i] <= rows[i - 1])
					abort();
			free(rows);
		}
		if (z && size % 5 == 0 &&
		    !lm_delta_z85_decode((const char *)data, size, z, size / 5 * 4, &zl) &&
		    zl > size / 5 * 4)
			abort();
		free(z);
	}
	return 0;
}

#ifdef LM_FUZZ_MAIN
static long fed;

static void feed_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (16L << 20)) {
		fclose(f);
		return;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		fed++;
	}
	free(buf);
	fclose(f);
}

static void feed(const char *path, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (depth > 16 || stat(path, &st))
		return;
	if (S_ISREG(st.st_mode)) {
		size_t l = strlen(path);

		/* In a Delta corpus: the log's JSON, _last_checkpoint, deletion vector files. */
		if (depth == 0 || (l > 5 && !strcmp(path + l - 5, ".json")) || strstr(path, "/seeds/") ||
		    (l > 4 && !strcmp(path + l - 4, ".bin")) || strstr(path, "_last_checkpoint"))
			feed_file(path);
		return;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		feed(sub, depth + 1);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		feed(argv[i], 0);
	printf("fuzz_delta: replayed %ld inputs\n", fed);
	return fed > 0 ? 0 : 1;
}
#endif
