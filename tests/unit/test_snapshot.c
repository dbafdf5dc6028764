/* Unit tests: snapshot tree construction (contiguous sorted children, clashes). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm/snapshot.h"

static int64_t walk(const struct lm_snapshot *s, const char *path)
{
	char buf[256], *save = NULL, *tok;
	int64_t cur = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		cur = lm_snapshot_child(s, (uint32_t)cur, tok);
		if (cur < 0)
			return -1;
	}
	return cur;
}

Test(snapshot, tree_is_sorted_and_contiguous)
{
	struct lm_file f[] = {
		{ "b/x.parquet", 10, 1, 0, 0 },
		{ "a.b", 1, 1, 0, 0 },
		{ "a/b/c.parquet", 20, 1, LM_FILE_HAS_DV, 0 },
		{ "a/b.c", 3, 1, 0, 0 },
		{ "a/b/d.parquet", 5, 1, 0, 0 },
		{ "top.parquet", 7, 1, 0, 0 },
	};
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	cr_assert_eq(lm_snapshot_new(4, 1000, f, 6, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->nfiles, 6);
	cr_assert_eq(s->total_bytes, 46);
	cr_assert_eq(s->n_dv_files, 1);
	/* root: a, a.b, b, top.parquet — sorted by name */
	cr_assert_eq(s->nodes[0].n_children, 4);
	cr_assert_str_eq(s->nodes[s->nodes[0].first_child].name, "a");
	cr_assert_str_eq(s->nodes[s->nodes[0].first_child + 1].name, "a.b");
	cr_assert_str_eq(s->nodes[s->nodes[0].first_child + 3].name, "top.parquet");
	cr_assert_geq(walk(s, "a/b/c.parquet"), 0);
	cr_assert_geq(walk(s, "a/b.c"), 0);
	cr_assert_eq(walk(s, "a/b/e.parquet"), -1);
	{
		int64_t n = walk(s, "a/b/d.parquet");
		const struct lm_snap_node *sn = &s->nodes[n];

		cr_assert_eq(s->files[sn->file].size, 5);
		cr_assert_str_eq(s->nodes[sn->parent].name, "b");
	}
	/* every directory's children sorted strictly */
	for (size_t i = 0; i < s->nnodes; i++) {
		const struct lm_snap_node *d = &s->nodes[i];

		for (uint32_t k = 1; k < d->n_children && d->file < 0; k++)
			cr_assert_lt(strcmp(s->nodes[d->first_child + k - 1].name,
					    s->nodes[d->first_child + k].name), 0);
		for (uint32_t k = 0; k < d->n_children && d->file < 0; k++)
			cr_assert_eq(s->nodes[d->first_child + k].parent, i);
	}
	lm_snapshot_unref(s);
}

Test(snapshot, clash_file_and_folder_refused)
{
	struct lm_file f[] = { { "a", 1, 1, 0, 0 }, { "a/b", 1, 1, 0, 0 } };
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	cr_assert_eq(lm_snapshot_new(1, 0, f, 2, &s, &err), LM_EFORMAT);
	cr_assert(strstr(err.msg, "'a'"), "%s", err.msg);
}

Test(snapshot, duplicate_refused_and_empty_ok)
{
	struct lm_file f[] = { { "x/y", 1, 1, 0, 0 }, { "x/y", 2, 1, 0, 0 } };
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	cr_assert_eq(lm_snapshot_new(1, 0, f, 2, &s, &err), LM_EFORMAT);
	cr_assert_eq(lm_snapshot_new(0, 0, NULL, 0, &s, &err), 0);
	cr_assert_eq(s->nnodes, 1);
	cr_assert_eq(s->nodes[0].n_children, 0);
	lm_snapshot_unref(s);
}

Test(snapshot, many_files_deep)
{
	enum { N = 20000 };
	struct lm_file *f = calloc(N, sizeof(*f));
	char (*names)[64] = calloc(N, 64);
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], 64, "p=%d/q=%d/part-%05d.parquet", i % 37, i % 5, i);
		f[i] = (struct lm_file){ names[i], (uint64_t)i, 0, 0, 0 };
	}
	cr_assert_eq(lm_snapshot_new(9, 0, f, N, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->nodes[0].n_children, 37);
	cr_assert_geq(walk(s, "p=36/q=1/part-00036.parquet"), 0);
	lm_snapshot_unref(s);
	free(f);
	free(names);
}
