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

/* ---- the linear tree construction against the former one (sort all nodes) ---- */

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Build files with both constructions; same result code, and the same tree node for
 * node when it succeeds. */
static int path_cmp(const void *x, const void *y);

/* The take constructor with runs by folder (what the Delta replay hands over), when the
 * sorted files have no duplicate: same result as the sort of all nodes (eb, rb). */
static void same_with_runs(const struct lm_file *f, size_t n, const struct lm_snapshot *b,
			   int rb, const struct lm_err *eb)
{
	struct lm_file *own = malloc((n ? n : 1) * sizeof(*own));
	struct lm_snap_run *runs = malloc((n ? n : 1) * sizeof(*runs));
	struct lm_snap_take opt = { .runs = runs };
	struct lm_snapshot *c = NULL;
	struct lm_err ec;
	int rc;

	memcpy(own, f, n * sizeof(*own));
	qsort(own, n, sizeof(*own), path_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *sl = strrchr(own[i].path, '/');
		uint32_t dl = sl ? (uint32_t)(sl - own[i].path + 1) : 0;

		if (i && !strcmp(own[i - 1].path, own[i].path))
			goto out;   /* duplicates: never handed over with runs */
		if (opt.nruns && runs[opt.nruns - 1].dirlen == dl &&
		    !strncmp(own[runs[opt.nruns - 1].first].path, own[i].path, dl))
			runs[opt.nruns - 1].n++;
		else
			runs[opt.nruns++] = (struct lm_snap_run){ (uint32_t)i, 1, dl };
	}
	rc = lm_snapshot_new_take(7, 1, own, n, &opt, &c, &ec);
	cr_assert_eq(rc, rb, "runs %d (%s), sort %d (%s)", rc, ec.msg, rb, eb->msg);
	if (!rc) {
		cr_assert_eq(c->nnodes, b->nnodes);
		cr_assert_eq(c->total_bytes, b->total_bytes);
		for (size_t i = 0; i < b->nnodes; i++) {
			const struct lm_snap_node *p = &c->nodes[i], *q = &b->nodes[i];

			cr_assert_str_eq(p->name, q->name, "node %zu", i);
			cr_assert_eq(p->parent, q->parent, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->first_child, q->first_child, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->n_children, q->n_children, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->file, q->file, "node %zu (%s)", i, q->name);
		}
		lm_snapshot_unref(c);
		own = NULL;
	}
out:
	free(own);
	free(runs);
}

static void same_both_ways(struct lm_file *f, size_t n)
{
	struct lm_snapshot *a = NULL, *b = NULL, *c = NULL;
	struct lm_file *own;
	struct lm_err ea, eb, ec;
	int ra, rb, rc;

	lm_snapshot_fast_tree = true;
	ra = lm_snapshot_new(7, 1, f, n, &a, &ea);
	/* the taking constructor, from a sorted copy */
	own = malloc((n ? n : 1) * sizeof(*own));
	memcpy(own, f, n * sizeof(*own));
	{
		struct lm_snap_take opt = { .spare = malloc(64 * (n + 1)), .spare_size = 64 * (n + 1) };

		rc = lm_snapshot_new_take(7, 1, own, n, &opt, &c, &ec);
	}
	lm_snapshot_fast_tree = false;
	rb = lm_snapshot_new(7, 1, f, n, &b, &eb);
	lm_snapshot_fast_tree = true;
	same_with_runs(f, n, b, rb, &eb);
	cr_assert_eq(ra, rb, "fast %d (%s), sort %d (%s)", ra, ea.msg, rb, eb.msg);
	cr_assert_eq(rc, rb, "take %d (%s), sort %d (%s)", rc, ec.msg, rb, eb.msg);
	if (rb) {
		cr_assert_str_eq(ea.msg, eb.msg);
		free(own);
		return;
	}
	for (int k = 0; k < 2; k++) {
		const struct lm_snapshot *x = k ? c : a;

		cr_assert_eq(x->nfiles, b->nfiles);
		cr_assert_eq(x->nnodes, b->nnodes);
		cr_assert_eq(x->total_bytes, b->total_bytes);
		cr_assert_eq(x->n_dv_files, b->n_dv_files);
		for (size_t i = 0; i < b->nfiles; i++) {
			cr_assert_str_eq(x->files[i].path, b->files[i].path);
			cr_assert_eq(x->files[i].size, b->files[i].size);
		}
		for (size_t i = 0; i < b->nnodes; i++) {
			const struct lm_snap_node *p = &x->nodes[i], *q = &b->nodes[i];

			cr_assert_str_eq(p->name, q->name, "node %zu", i);
			cr_assert_eq(p->parent, q->parent, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->first_child, q->first_child, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->n_children, q->n_children, "node %zu (%s)", i, q->name);
			cr_assert_eq(p->file, q->file, "node %zu (%s)", i, q->name);
		}
	}
	lm_snapshot_unref(a);
	lm_snapshot_unref(b);
	lm_snapshot_unref(c);
}

static int path_cmp(const void *x, const void *y)
{
	return strcmp(((const struct lm_file *)x)->path, ((const struct lm_file *)y)->path);
}

/* Random trees over a small alphabet: with bytes below '/' ("x-1" before "x/…"),
 * duplicates, file/folder clashes, deep and flat ones, sorted input or not. */
Test(snapshot, linear_tree_same_as_sorted_nodes, .timeout = 60)
{
	static const char *alpha[] = { "a", "b", "ab", "a-", "a.b", "a b", "a!", "z", "a=1" };
	enum { CASES = 3000, MAXN = 200 };
	char (*names)[64] = calloc(MAXN, 64);
	struct lm_file f[MAXN];

	for (int t = 0; t < CASES; t++) {
		size_t n = next_rand() % MAXN;
		unsigned nalpha = t % 3 == 0 ? 3 : 9;   /* a third never needs the fallback */
		unsigned maxdepth = 1 + t % 4;

		for (size_t i = 0; i < n; i++) {
			unsigned depth = 1 + next_rand() % maxdepth;
			size_t len = 0;

			for (unsigned l = 0; l + 1 < depth; l++)
				len += (size_t)snprintf(names[i] + len, 64 - len, "%s/",
							alpha[next_rand() % nalpha]);
			/* file names: mostly their own, now and then a folder's (a clash) */
			if (t % 7 == 0 && next_rand() % 4 == 0)
				snprintf(names[i] + len, 64 - len, "%s", alpha[next_rand() % nalpha]);
			else
				snprintf(names[i] + len, 64 - len, "f%s%u", next_rand() % 3 ? "" : "-",
					 (unsigned)(next_rand() % 100000));
			if (t % 5 == 0 && i && next_rand() % 64 == 0)
				snprintf(names[i], 64, "%s", names[next_rand() % i]);  /* a duplicate */
			f[i] = (struct lm_file){ names[i], next_rand() % 1000, 1,
						 (next_rand() % 7 == 0) ? LM_FILE_HAS_DV : 0, 0 };
		}
		if (t % 2)
			qsort(f, n, sizeof(*f), path_cmp);
		same_both_ways(f, n);
	}
	free(names);
}

/* Partition-like trees of many files, sorted (what the Delta replay hands over). */
Test(snapshot, linear_tree_same_on_partitioned_tables)
{
	enum { N = 30000 };
	struct lm_file *f = calloc(N, sizeof(*f));
	char (*names)[80] = calloc(N, 80);

	for (int t = 0; t < 4; t++) {
		for (int i = 0; i < N; i++) {
			if (t == 0)
				snprintf(names[i], 80, "region=%d/part-%05d-%08llx.parquet", i % 4, i % 1000,
					 (unsigned long long)(next_rand() & 0xffffffff));
			else if (t == 1)
				snprintf(names[i], 80, "y=%d/m=%d/d=%d/f%d.parquet", i % 3, i % 12, i % 28, i);
			else if (t == 2)
				snprintf(names[i], 80, "part-%05d.parquet", i);
			else
				snprintf(names[i], 80, "%s/%d.parquet", i % 2 ? "a" : "a/b", i);
			f[i] = (struct lm_file){ names[i], (uint64_t)i, 0, 0, 0 };
		}
		qsort(f, N, sizeof(*f), path_cmp);
		same_both_ways(f, N);
	}
	free(f);
	free(names);
}

/* The linear construction really runs on ordinary trees: it names folders in creation
 * (depth-first) order, the sort in breadth-first order. */
Test(snapshot, linear_tree_is_used)
{
	struct lm_file f[] = { { "a/b/x", 1, 1, 0, 0 }, { "c/y", 1, 1, 0, 0 } };
	struct lm_snapshot *s = NULL;
	struct lm_err err;
	const char *b, *c;

	cr_assert_eq(lm_snapshot_new(1, 0, f, 2, &s, &err), 0, "%s", err.msg);
	b = s->nodes[walk(s, "a/b")].name;
	c = s->nodes[walk(s, "c")].name;
	cr_assert_lt((uintptr_t)b, (uintptr_t)c);
	lm_snapshot_unref(s);
}
