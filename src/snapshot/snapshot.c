/* snapshot.c — builds the immutable per-version file list and directory tree.
 * Owns struct lm_snapshot. May call: util.
 *
 * Tree construction: the files are sorted by full path; all paths sharing a prefix
 * are then contiguous, so one pass with a stack of open directories creates every
 * node once (no hashing). A second step sorts nodes by (parent, name) and renumbers
 * them breadth-first, which makes each directory's children contiguous and sorted —
 * lookups are binary searches and readdir offsets are plain indices. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm/snapshot.h"

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lm_file *)a)->path, ((const struct lm_file *)b)->path);
}

struct tnode {
	const char *name;
	size_t name_len;
	uint32_t parent;
	int32_t file;
};

static int tnode_cmp(const void *a, const void *b, void *ctx)
{
	const struct tnode *base = ctx;
	const struct tnode *x = &base[*(const uint32_t *)a];
	const struct tnode *y = &base[*(const uint32_t *)b];
	size_t n;
	int c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	n = x->name_len < y->name_len ? x->name_len : y->name_len;
	c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int lm_snapshot_new(int64_t version, int64_t commit_ms, const struct lm_file *files,
		    size_t nfiles, struct lm_snapshot **out, struct lm_err *err)
{
	struct lm_snapshot *s = calloc(1, sizeof(*s));
	struct tnode *tn = NULL;
	uint32_t *order = NULL, *newidx = NULL, *stack = NULL, *queue = NULL;
	size_t *crange = NULL;
	size_t ntn = 0, captn, depth = 0, maxdepth = 64;
	int rc = 0;

	if (!s)
		return lm_err_set(err, ENOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	s->version = version;
	s->commit_ms = commit_ms;
	lm_arena_init(&s->arena);
	if (nfiles > UINT32_MAX / 4) {
		rc = lm_err_set(err, LM_ETOOBIG, "version %lld: %zu files is too many",
				(long long)version, nfiles);
		goto out;
	}
	s->files = malloc((nfiles ? nfiles : 1) * sizeof(*s->files));
	if (!s->files)
		goto nomem;
	for (size_t i = 0; i < nfiles; i++) {
		s->files[i] = files[i];
		s->files[i].path = lm_arena_strdup(&s->arena, files[i].path);
		if (!s->files[i].path)
			goto nomem;
		s->total_bytes += files[i].size;
		if (files[i].flags & LM_FILE_HAS_DV)
			s->n_dv_files++;
	}
	s->nfiles = nfiles;
	{
		/* Readers that sort already (the Delta replay) save the qsort. */
		size_t i = 1;

		while (i < nfiles && strcmp(s->files[i - 1].path, s->files[i].path) <= 0)
			i++;
		if (i < nfiles)
			qsort(s->files, nfiles, sizeof(*s->files), file_cmp);
	}

	/* Pass 1: create nodes with a stack of open directories. */
	captn = nfiles * 2 + 16;
	tn = malloc(captn * sizeof(*tn));
	stack = malloc(maxdepth * sizeof(*stack));
	if (!tn || !stack)
		goto nomem;
	tn[ntn++] = (struct tnode){ .name = "", .name_len = 0, .parent = 0, .file = -1 };
	stack[0] = 0;
	depth = 1;
	for (size_t i = 0; i < nfiles; i++) {
		const char *p = s->files[i].path;
		size_t level = 1;

		for (;;) {
			const char *slash = strchr(p, '/');
			size_t n = slash ? (size_t)(slash - p) : strlen(p);

			if (ntn == captn) {
				struct tnode *q;

				captn *= 2;
				q = realloc(tn, captn * sizeof(*tn));
				if (!q)
					goto nomem;
				tn = q;
			}
			if (!slash) {
				tn[ntn++] = (struct tnode){ .name = p, .name_len = n,
							    .parent = stack[level - 1],
							    .file = (int32_t)i };
				depth = level;
				break;
			}
			/* A directory component: reuse the open one at this level if same. */
			if (level < depth && tn[stack[level]].name_len == n &&
			    memcmp(tn[stack[level]].name, p, n) == 0) {
				level++;
				p = slash + 1;
				continue;
			}
			if (level + 1 >= maxdepth) {
				uint32_t *q;

				maxdepth *= 2;
				q = realloc(stack, maxdepth * sizeof(*stack));
				if (!q)
					goto nomem;
				stack = q;
			}
			tn[ntn] = (struct tnode){ .name = p, .name_len = n,
						  .parent = stack[level - 1], .file = -1 };
			stack[level] = (uint32_t)ntn++;
			level++;
			depth = level;
			p = slash + 1;
		}
	}

	/* Pass 2: order by (parent, name); detect clashes; renumber breadth-first. */
	order = malloc(ntn * sizeof(*order));
	newidx = malloc(ntn * sizeof(*newidx));
	crange = calloc(ntn + 1, sizeof(*crange));
	queue = malloc(ntn * sizeof(*queue));
	s->nodes = malloc(ntn * sizeof(*s->nodes));
	if (!order || !newidx || !crange || !queue || !s->nodes)
		goto nomem;
	for (size_t i = 0; i < ntn; i++)
		order[i] = (uint32_t)i;
	qsort_r(order + 1, ntn - 1, sizeof(*order), tnode_cmp, tn);
	for (size_t i = 2; i < ntn; i++) {
		const struct tnode *a = &tn[order[i - 1]], *b = &tn[order[i]];

		if (a->parent == b->parent && a->name_len == b->name_len &&
		    memcmp(a->name, b->name, a->name_len) == 0) {
			const struct tnode *f = a->file >= 0 ? a : b;

			rc = lm_err_set(err, LM_EFORMAT,
					"version %lld: '%s' is listed twice, or both as a file and a folder",
					(long long)version,
					f->file >= 0 ? s->files[f->file].path : "?");
			goto out;
		}
	}
	/* crange[p] = first position in order[] of p's children (order[1..] is grouped by
	 * parent ascending). */
	{
		size_t pos = 1;

		for (size_t p = 0; p < ntn; p++) {
			crange[p] = pos;
			while (pos < ntn && tn[order[pos]].parent == p)
				pos++;
		}
		crange[ntn] = pos;
	}
	{
		size_t qh = 0, qt = 0, next = 1;

		queue[qt++] = 0;
		newidx[0] = 0;
		while (qh < qt) {
			uint32_t u = queue[qh++];
			size_t a = crange[u], b = crange[u + 1];
			struct lm_snap_node *nd = &s->nodes[newidx[u]];

			nd->name = tn[u].file >= 0 ? tn[u].name : NULL;
			nd->parent = u ? newidx[tn[u].parent] : 0;
			nd->file = tn[u].file;
			nd->first_child = (uint32_t)next;
			nd->n_children = (uint32_t)(b - a);
			for (size_t k = a; k < b; k++) {
				newidx[order[k]] = (uint32_t)next++;
				queue[qt++] = order[k];
			}
			if (tn[u].file < 0) {
				/* Directory names are not NUL-terminated in the path: copy. */
				nd->name = u ? lm_arena_strndup(&s->arena, tn[u].name, tn[u].name_len)
					     : "";
				if (!nd->name)
					goto nomem;
			}
		}
		s->nnodes = next;
	}
	goto out;
nomem:
	rc = lm_err_set(err, ENOMEM, "version %lld: out of memory building the file tree",
			(long long)version);
out:
	free(tn);
	free(order);
	free(newidx);
	free(crange);
	free(queue);
	free(stack);
	if (rc) {
		lm_snapshot_unref(s);
		return rc;
	}
	*out = s;
	return 0;
}

struct lm_snapshot *lm_snapshot_ref(struct lm_snapshot *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void lm_snapshot_unref(struct lm_snapshot *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->files);
	free(s->nodes);
	free(s->blob);
	lm_arena_free(&s->arena);
	free(s);
}

int64_t lm_snapshot_child(const struct lm_snapshot *s, uint32_t dir, const char *name)
{
	const struct lm_snap_node *d;
	size_t lo, hi;

	if (dir >= s->nnodes)
		return -1;
	d = &s->nodes[dir];
	if (d->file >= 0)
		return -1;
	lo = d->first_child;
	hi = lo + d->n_children;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->nodes[mid].name, name);

		if (c == 0)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
