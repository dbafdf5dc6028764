/* fuzz_iceberg_meta.c — fuzz target for the exact JSON reader and the Iceberg table
 * metadata decoder (plain and gzip), plus metadata file names and version hints.
 *
 * libFuzzer:  clang -fsanitize=fuzzer,address,undefined -Iinclude \
 *               tests/fuzz/fuzz_iceberg_meta.c src/format/json.c src/format/avro.c \
 *               src/format/iceberg_meta.c src/util/err.c src/util/arena.c \
 *               src/util/util.c -lsnappy -lzstd -lz -o fuzz_iceberg_meta
 *             ./fuzz_iceberg_meta -max_len=65536 CORPUS_DIR tests/fuzz/seeds/iceberg_meta
 * Replay:     built with -DLM_FUZZ_MAIN (the meson test does): `fuzz_iceberg_meta DIR...`.
 *
 * Invariants checked with abort(): every snapshot is found by its id; refs are sorted
 * and named; as-of lookups return a snapshot-log id; the hint and name parsers never
 * produce a stem or version out of their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm/iceberg.h"
#include "lm/json.h"

#include "fuzz_replay.h"

static void walk(const struct lm_json *v, unsigned depth)
{
	if (depth > 300)
		abort();
	if (v->type == LM_JSON_STRING || v->type == LM_JSON_NUMBER) {
		if (strlen(v->u.str) != v->n)
			abort();   /* no NUL inside, length right */
	} else if (v->type == LM_JSON_ARRAY || v->type == LM_JSON_OBJECT) {
		for (uint32_t i = 0; i < v->n; i++) {
			if ((v->type == LM_JSON_OBJECT) != (v->u.kids[i].key != NULL))
				abort();
			walk(&v->u.kids[i], depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lm_json_doc *d = NULL;
	struct lm_iceberg_meta *m = NULL;
	struct lm_iceberg_meta_name nm;
	struct lm_iceberg_hint h;
	struct lm_err e;
	char name[300];

	lm_err_init(&e);
	if (!lm_json_parse((const char *)data, size, NULL, &d, &e)) {
		int64_t x;

		walk(lm_json_doc_root(d), 0);
		lm_json_i64(lm_json_doc_root(d), &x);
		lm_json_doc_free(d);
	}
	if (!lm_iceberg_meta_parse(data, size, 16 << 20, &m, &e)) {
		int64_t id;

		for (size_t i = 0; i < m->nsnapshots; i++)
			if (lm_iceberg_meta_snapshot(m, m->snapshots[i].id) != &m->snapshots[i])
				abort();
		for (size_t i = 1; i < m->nrefs; i++)
			if (strcmp(m->refs[i - 1].name, m->refs[i].name) >= 0)
				abort();
		if (!lm_iceberg_meta_as_of(m, INT64_MAX, &id)) {
			bool seen = false;

			for (size_t i = 0; i < m->nsnapshot_log; i++)
				seen |= m->snapshot_log[i].snapshot_id == id;
			if (!seen)
				abort();
		}
		lm_iceberg_meta_free(m);
	}
	lm_iceberg_hint_parse((const char *)data, size, &h);
	if (h.kind == LM_ICEBERG_HINT_STEM && strlen(h.stem) >= sizeof(h.stem))
		abort();
	if (h.kind == LM_ICEBERG_HINT_NUMBER && h.number < 0)
		abort();
	{
		size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

		memcpy(name, data, n);
		name[n] = '\0';
		if (!lm_iceberg_meta_name_parse(name, &nm) &&
		    (nm.stem_len == 0 || nm.stem_len > strlen(name) || (nm.has_version && nm.version < 0)))
			abort();
	}
	return 0;
}

LM_FUZZ_REPLAY_MAIN("fuzz_iceberg_meta", (size_t)8 << 20)
