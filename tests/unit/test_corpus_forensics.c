/* Corpus check of Delta forensics: tables whose files are all referenced (plain,
 * partitioned, checkpointed, with CDC files beside the data, with deletion vectors,
 * with refused versions) show no orphans, and a table whose log names files the writer
 * renamed shows exactly those as missing. Runs over LM_CORPUS in place (read-only). */
#include "helpers.h"

#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

static struct lm_forensics *run(const char *table)
{
	const char *corpus = getenv("LM_CORPUS");
	struct lm_forensics *fx = NULL;
	struct lm_table *t = NULL;
	struct lm_store *st = NULL;
	struct lm_err err;
	char dir[4096];

	cr_assert(corpus, "LM_CORPUS not set");
	snprintf(dir, sizeof(dir), "%s/delta/%s", corpus, table);
	lm_err_init(&err);
	cr_assert_eq(lm_store_local_new(dir, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_table_open(st, "", table, LM_TABLE_DELTA, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_delta_forensics_run(t, lm_now_ms(), 0, &fx, &err), 0, "%s", err.msg);
	lm_table_free(t);
	lm_store_free(st);
	return fx;
}

Test(corpus_forensics, fully_referenced_tables_have_no_orphans)
{
	static const char *const tables[] = {
		"dat-basic_append", "dat-basic_partitioned", "dat-with_checkpoint",
		"dat-deletion_vectors", "dat-cdf", "deltars-checkpoints",
		"deltars-simple_table_with_cdc", "deltars-table-with-dv-small",
		"spark-table-with-dv-small", "kernelrs-cdf-table-simple",
		"deltars-simple_table_features", "deltars-delta-0.8.0-special-partition",
	};

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct lm_forensics *fx = run(tables[i]);

		cr_expect_eq(fx->n_orphan, 0, "%s: %zu orphans", tables[i], fx->n_orphan);
		cr_expect_eq(fx->n_recent, 0, "%s: %zu recent (min age 0)", tables[i],
			     fx->n_recent);
		lm_delta_forensics_free(fx);
	}
}

Test(corpus_forensics, vacuumed_table_reports_missing_files)
{
	struct lm_forensics *fx = run("deltars-checkpoints_vacuumed");

	cr_assert_eq(fx->n_orphan, 0);
	cr_assert_eq(fx->n_missing, 12);
	cr_assert_eq(fx->restore, -1);
	lm_delta_forensics_free(fx);
}
