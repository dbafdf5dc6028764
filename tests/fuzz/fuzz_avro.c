/* fuzz_avro.c — fuzz target for the Avro container decoder and the Iceberg manifest
 * list / manifest decoders built on it.
 *
 * libFuzzer:  clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_avro.c \
 *               src/format/avro.c src/format/json.c src/format/iceberg_meta.c \
 *               src/util/err.c src/util/arena.c src/util/util.c \
 *               -lsnappy -lzstd -lz -o fuzz_avro
 *             ./fuzz_avro -max_len=65536 CORPUS_DIR tests/fuzz/seeds/avro
 * Replay:     built with -DLM_FUZZ_MAIN (the meson test does): `fuzz_avro DIR...`.
 *
 * The input is one container file: every record is decoded and walked (the walk checks
 * the tree's invariants with abort()), then the same bytes go through the manifest
 * list and manifest decoders. Caps are low to keep one input fast. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm/avro.h"
#include "lm/iceberg.h"

#include "fuzz_replay.h"

static void walk(const struct lm_avro_value *v, unsigned depth)
{
	const struct lm_avro_schema *s = v->schema;

	if (!s || s->type == LM_AVRO_UNION || depth > 200)
		abort();
	switch (s->type) {
	case LM_AVRO_RECORD:
		if (v->n != s->n)
			abort();
		for (uint32_t i = 0; i < v->n; i++)
			walk(&v->u.items[i], depth + 1);
		break;
	case LM_AVRO_ARRAY:
		for (uint32_t i = 0; i < v->n; i++)
			walk(&v->u.items[i], depth + 1);
		break;
	case LM_AVRO_MAP:
		for (uint32_t i = 0; i < 2 * v->n; i++)
			walk(&v->u.items[i], depth + 1);
		break;
	case LM_AVRO_STRING:
	case LM_AVRO_BYTES:
	case LM_AVRO_FIXED: {
		volatile uint8_t x = 0;

		for (uint32_t i = 0; i < v->n; i++)   /* every byte must be readable */
			x ^= v->u.bytes[i];
		(void)x;
		break;
	}
	case LM_AVRO_ENUM:
		if (v->u.l < 0 || v->u.l >= (int64_t)s->n)
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_avro_limits lim = { .max_block = 16 << 20, .max_values = 1 << 16,
				      .max_depth = 32, .max_schema_nodes = 2000 };
	struct lm_avro_reader *r = NULL;
	const struct lm_avro_value *rec;
	struct lm_iceberg_manifest_list ml;
	struct lm_iceberg_manifest m;
	struct lm_err e;
	unsigned n = 0;

	lm_err_init(&e);
	if (!lm_avro_open(data, size, &lim, &r, &e)) {
		while (n++ < 100000 && !lm_avro_next(r, &rec, &e) && rec) {
			walk(rec, 0);
			lm_avro_field(rec, 100, "file_path");
		}
		lm_avro_close(r);
	}
	lm_iceberg_manifest_list_init(&ml);
	if (!lm_iceberg_manifest_list_parse(data, size, &lim, &ml, &e)) {
		for (size_t i = 0; i < ml.n; i++)
			if (!ml.v[i].path || strlen(ml.v[i].path) > size)
				abort();
	}
	lm_iceberg_manifest_list_free(&ml);
	lm_iceberg_manifest_init(&m);
	if (!lm_iceberg_manifest_parse(data, size, NULL, &lim, &m, &e)) {
		for (size_t i = 0; i < m.n; i++)
			if (!m.v[i].path || m.v[i].size < 0 || m.v[i].status < 0 || m.v[i].status > 2)
				abort();
	}
	lm_iceberg_manifest_free(&m);
	return 0;
}

LM_FUZZ_REPLAY_MAIN("fuzz_avro", (size_t)8 << 20)
