/* Unit tests: Iceberg forensics on ../shared/corpus in place (built only where it
 * exists): the tables whose files are all referenced show no findings, and a damaged one
 * (an absent manifest list) is diagnosed exactly. */
#include "../helpers.h"

#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

/* Corpus tables whose files are all referenced: nothing unreferenced, nothing missing. */
Test(iceberg_forensics_corpus, fully_referenced_tables_have_no_findings)
{
	static const char *const tables[] = {
		"cxx-bucket_partitioning", "cxx-dangling_deletes", "cxx-deletion_vectors",
		"cxx-partition_evolution", "cxx-wh_gperov_test", "duckdb-lineitem_iceberg_gz",
		"impala-iceberg_v2_delete_both_eq_and_pos", "impala-iceberg_with_puffin_stats",
		"impala-iceberg_partitioned_orc", "polars-iceberg-table", "cxx-wh_empty_empty",
	};
	const char *corpus = getenv("LM_CORPUS");

	cr_assert(corpus, "LM_CORPUS not set");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct lm_forensics *fx = NULL;
		struct lm_store *s = NULL;
		struct lm_table *t = NULL;
		struct lm_err err;
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/iceberg/%s", corpus, tables[i]);
		lm_err_init(&err);
		cr_assert_eq(lm_store_local_new(dir, &s, &err), 0, "%s", err.msg);
		cr_assert_eq(lm_table_open(s, "", tables[i], LM_TABLE_ICEBERG, &t, &err), 0);
		cr_assert_eq(lm_table_forensics(t, lm_now_ms(), 0, &fx, &err), 0, "%s", err.msg);
		cr_expect_eq(fx->n_orphan + fx->n_recent, 0, "%s: %zu unreferenced (first %s)", tables[i],
			     fx->n_orphan + fx->n_recent, fx->n ? fx->f[0].path : "");
		cr_expect_eq(fx->n_missing, 0, "%s", tables[i]);
		cr_expect_eq(fx->nissues, 0, "%s: %s", tables[i], fx->nissues ? fx->issues[0].msg : "");
		cr_expect_eq(fx->restore_snapshot, fx->latest_snapshot, "%s", tables[i]);
		lm_forensics_free(fx);
		lm_table_free(t);
		lm_store_free(s);
	}
}

/* Damaged corpus tables are diagnosed: the absent manifest list of one old snapshot. */
Test(iceberg_forensics_corpus, absent_manifest_list_is_missing_and_refused)
{
	const char *corpus = getenv("LM_CORPUS");
	struct lm_forensics *fx = NULL;
	struct lm_store *s = NULL;
	struct lm_table *t = NULL;
	struct lm_err err;
	char dir[4096];
	size_t lists = 0;

	cr_assert(corpus, "LM_CORPUS not set");
	snprintf(dir, sizeof(dir), "%s/iceberg/duckdb-equality_deletes", corpus);
	lm_err_init(&err);
	cr_assert_eq(lm_store_local_new(dir, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_table_open(s, "", "eq", LM_TABLE_ICEBERG, &t, &err), 0);
	cr_assert_eq(lm_table_forensics(t, lm_now_ms(), 0, &fx, &err), 0, "%s", err.msg);
	cr_assert_eq(fx->n_missing, 1);
	for (size_t i = 0; i < fx->n; i++)
		if (fx->f[i].kind == LM_FX_MISSING && fx->f[i].note &&
		    !strcmp(fx->f[i].note, "manifest list"))
			lists++;
	cr_assert_eq(lists, 1);
	cr_assert_eq(fx->nissues, 1);
	cr_assert_str_eq(fx->issues[0].reason, "missing-manifest-list");
	cr_assert_eq(fx->restore_snapshot, fx->latest_snapshot);
	lm_forensics_free(fx);
	lm_table_free(t);
	lm_store_free(s);
}
