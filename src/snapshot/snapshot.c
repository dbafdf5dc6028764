/* snapshot.c — builds the immutable per-version file list and directory tree.
 * Owns struct lm_snapshot. May call: util.
 *
 * Tree construction: the files are sorted by full path; all paths sharing a prefix
 * are then contiguous, so one pass with a stack of open directories creates every
 * node once (no hashing). Nodes are numbered breadth-first with each directory's
 * children contiguous and sorted by name — lookups are binary searches and readdir
 * offsets are plain indices.
 *
 * The pass meets each directory's children in path order, which is their name order
 * except where a sibling's name continues a folder's name with a byte below '/'
 * ("x-1" comes before "x/…", but "x" sorts first). So the linear construction records
 * directories and runs of consecutive sibling files, checks the order as it goes, and
 * numbers the nodes from child counts alone (fast_tree). When the order breaks, or on a
 * clash, the former construction takes over: every node is sorted by (parent, name)
 * and renumbered (sort_tree); it gives the same tree and the precise error. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lm/snapshot.h"

bool lm_snapshot_fast_tree = true;

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lm_file *)a)->path, ((const struct lm_file *)b)->path);
}

/* ---- the former construction: sort all nodes by (parent, name) ---- */

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

/* s->files sorted; fills s->nodes / s->nnodes. */
static int sort_tree(struct lm_snapshot *s, struct lm_err *err)
{
	struct tnode *tn = NULL;
	uint32_t *order = NULL, *newidx = NULL, *stack = NULL, *queue = NULL;
	size_t *crange = NULL;
	size_t ntn = 0, captn, depth = 0, maxdepth = 64, nfiles = s->nfiles;
	int rc = 0;

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
					(long long)s->version,
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
			(long long)s->version);
out:
	free(tn);
	free(order);
	free(newidx);
	free(crange);
	free(queue);
	free(stack);
	return rc;
}

/* ---- the linear construction ---- */

#define FALLBACK (-1)

/* Length of the common prefix of two strings (where they differ, or where a ends).
 * Eight bytes at a time while neither side can cross into another page. */
static inline size_t lcp(const char *a, const char *b)
{
	size_t i = 0;

#if !defined(__SANITIZE_ADDRESS__)
	for (;;) {
		uint64_t x, y, t;

		if (((uintptr_t)(a + i) & 4095) > 4088 || ((uintptr_t)(b + i) & 4095) > 4088)
			break;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		/* bytes that differ, and the first NUL of a (the lowest flagged byte is one) */
		t = (x ^ y) | ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull);
		if (t)
			return i + (size_t)__builtin_ctzll(t) / 8;
		i += 8;
	}
#endif
	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

/* Name order of two path components given by pointer and length (len UINT32_MAX: up
 * to the NUL). */
static int name_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	size_t la = alen == UINT32_MAX ? strlen(a) : alen;
	size_t lb = blen == UINT32_MAX ? strlen(b) : blen;
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

struct fdir {
	const char *name;     /* in a path, not NUL-terminated; "" for the root */
	uint32_t len;         /* of name */
	uint32_t plen;        /* length of the path prefix through this folder's '/' */
	uint32_t parent;      /* folder index */
	uint32_t rank;        /* position among the parent's children */
	uint32_t nchild;
	uint32_t node;        /* node index */
	uint32_t first;       /* node index of the first child */
	const char *last;     /* name of the child met last (len last_len), or NULL */
	uint32_t last_len;
};

/* Consecutive sibling files: files file.. file+n-1 are children rank.. rank+n-1 of dir. */
struct frun {
	uint32_t file, n, dir, rank;
};

/* The folders and runs of files met so far, and the stack of open folders. */
struct tb {
	struct fdir *d;
	struct frun *runs;
	uint32_t *stack;
	size_t nd, capd, nr, capr, depth, capst;
};

static int grow_arr(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	q = realloc(*p, nc * elem);
	if (!q)
		return ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int tb_init(struct tb *t)
{
	memset(t, 0, sizeof(*t));
	if (grow_arr((void **)&t->d, &t->capd, 64, sizeof(*t->d)) ||
	    grow_arr((void **)&t->runs, &t->capr, 64, sizeof(*t->runs)) ||
	    grow_arr((void **)&t->stack, &t->capst, 64, sizeof(*t->stack)))
		return ENOMEM;
	t->d[0] = (struct fdir){ .name = "" };
	t->nd = 1;
	t->stack[0] = 0;
	t->depth = 1;
	return 0;
}

static void tb_free(struct tb *t)
{
	free(t->d);
	free(t->runs);
	free(t->stack);
}

/* Open the folder name (len bytes, its prefix through '/' plen bytes) in the folder on
 * top of the stack. FALLBACK when it does not come after the children met so far. */
static int tb_open(struct tb *t, const char *name, uint32_t len, uint32_t plen)
{
	uint32_t par = t->stack[t->depth - 1];

	if (!len)
		return FALLBACK;   /* empty component */
	if (t->d[par].last && name_cmp(name, len, t->d[par].last, t->d[par].last_len) <= 0)
		return FALLBACK;   /* out of name order, or a clash */
	if (grow_arr((void **)&t->d, &t->capd, t->nd + 1, sizeof(*t->d)) ||
	    grow_arr((void **)&t->stack, &t->capst, t->depth + 1, sizeof(*t->stack)))
		return ENOMEM;
	t->d[t->nd] = (struct fdir){ .name = name, .len = len, .plen = plen, .parent = par,
				     .rank = t->d[par].nchild++ };
	t->d[par].last = name;
	t->d[par].last_len = len;
	t->stack[t->depth++] = (uint32_t)t->nd++;
	return 0;
}

/* Files file.. file+n-1 are children rank.. of folder dir. */
static int tb_files(struct tb *t, uint32_t dir, uint32_t file, uint32_t n, uint32_t rank)
{
	struct frun *last = t->nr ? &t->runs[t->nr - 1] : NULL;

	if (last && last->dir == dir && last->file + last->n == file && last->rank + last->n == rank) {
		last->n += n;
		return 0;
	}
	if (grow_arr((void **)&t->runs, &t->capr, t->nr + 1, sizeof(*t->runs)))
		return ENOMEM;
	t->runs[t->nr++] = (struct frun){ .file = file, .n = n, .dir = dir, .rank = rank };
	return 0;
}

/* Pass 1 from the paths: every path read once. */
static int tb_walk_paths(struct tb *t, const struct lm_file *f, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *p = f[i].path, *name, *end;
		uint32_t par, off, rank;

		if (i + 16 < n) {
			__builtin_prefetch(f[i + 16].path);
			__builtin_prefetch(f[i + 16].path + 64);
		}
		if (i) {
			const char *q = f[i - 1].path;
			size_t l = lcp(q, p), was = t->depth;

			if ((unsigned char)p[l] <= (unsigned char)q[l])
				return FALLBACK;   /* a duplicate, or not sorted */
			while (t->depth > 1 && t->d[t->stack[t->depth - 1]].plen > l)
				t->depth--;
			par = t->stack[t->depth - 1];
			off = t->d[par].plen;
			if (t->depth == was) {
				/* Same folder as the file before, which is its last child so
				 * far: in name order since the paths are. */
				end = strchrnul(p + off, '/');
				if (!*end && end > p + off) {
					rank = t->d[par].nchild++;
					t->d[par].last = p + off;
					t->d[par].last_len = UINT32_MAX;
					if ((rc = tb_files(t, par, (uint32_t)i, 1, rank)))
						return rc;
					continue;
				}
			}
		} else {
			off = 0;
		}
		for (;;) {
			name = p + off;
			end = strchrnul(name, '/');
			if (!*end)
				break;
			rc = tb_open(t, name, (uint32_t)(end - name), (uint32_t)(end + 1 - p));
			if (rc)
				return rc;
			off = (uint32_t)(end + 1 - p);
		}
		par = t->stack[t->depth - 1];
		if (end == name)
			return FALLBACK;   /* empty file name */
		if (t->d[par].last && name_cmp(name, (uint32_t)(end - name), t->d[par].last,
					       t->d[par].last_len) <= 0)
			return FALLBACK;   /* out of name order, or a clash */
		rank = t->d[par].nchild++;
		t->d[par].last = name;
		t->d[par].last_len = UINT32_MAX;
		if ((rc = tb_files(t, par, (uint32_t)i, 1, rank)))
			return rc;
	}
	return 0;
}

/* Pass 1 from runs of files by folder: the paths of a run's first and last files only. */
static int tb_walk_runs(struct tb *t, const struct lm_file *f, size_t n,
			const struct lm_snap_run *runs, size_t nruns)
{
	const char *prev = NULL;
	uint32_t prevlen = 0;
	size_t at = 0;
	int rc;

	for (size_t k = 0; k < nruns; k++) {
		const struct lm_snap_run *r = &runs[k];
		const char *p, *first, *last;
		uint32_t par, off, dl = r->dirlen;
		size_t l;

		if (r->first != at || !r->n || r->n > n - at)
			return FALLBACK;   /* not a partition of the files */
		at += r->n;
		p = f[r->first].path;
		if (dl && p[dl - 1] != '/')
			return FALLBACK;
		if (prev) {
			l = lcp(prev, p);
			if (l > dl)
				l = dl;
			if (l > prevlen)
				l = prevlen;
			while (t->depth > 1 && t->d[t->stack[t->depth - 1]].plen > l)
				t->depth--;
		}
		off = t->d[t->stack[t->depth - 1]].plen;
		while (off < dl) {
			const char *name = p + off, *end = memchr(name, '/', dl - off);

			if (!end)
				return FALLBACK;
			rc = tb_open(t, name, (uint32_t)(end - name), (uint32_t)(end + 1 - p));
			if (rc)
				return rc;
			off = (uint32_t)(end + 1 - p);
		}
		if (off != dl)
			return FALLBACK;
		par = t->stack[t->depth - 1];
		first = p + dl;
		last = f[r->first + r->n - 1].path + dl;
		if (!*first || (t->d[par].last &&
				name_cmp(first, UINT32_MAX, t->d[par].last, t->d[par].last_len) <= 0))
			return FALLBACK;
		if ((rc = tb_files(t, par, r->first, r->n, t->d[par].nchild)))
			return rc;
		t->d[par].nchild += r->n;
		t->d[par].last = last;
		t->d[par].last_len = UINT32_MAX;
		prev = p;
		prevlen = dl;
	}
	return at == n ? 0 : FALLBACK;
}

/* The nodes of files [from, to) (see tb_finish), their bytes and deletion vectors. */
struct fnodes {
	const struct tb *t;
	struct lm_snapshot *s;
	const uint32_t *order;     /* folders in node order */
	size_t nd, from, to;
	uint64_t total;
	size_t ndv;
};

static void *fnodes_run(void *arg)
{
	struct fnodes *h = arg;
	const struct tb *t = h->t;
	const struct fdir *d = t->d;
	const struct lm_file *f = h->s->files;
	size_t r = 0, hi = t->nr;

	/* the first run reaching into [from, to) */
	while (r < hi) {
		size_t mid = (r + hi) / 2;

		if ((size_t)t->runs[mid].file + t->runs[mid].n <= h->from)
			r = mid + 1;
		else
			hi = mid;
	}
	for (; r < t->nr && t->runs[r].file < h->to; r++) {
		const struct fdir *dir = &d[t->runs[r].dir];
		uint32_t a = dir->first + t->runs[r].rank, fc;
		size_t lo = 0, up = h->nd;   /* the last folder numbered before a: order[lo] */
		uint32_t k0 = 0, k1 = t->runs[r].n;

		while (up - lo > 1) {
			size_t mid = (lo + up) / 2;

			if (d[h->order[mid]].node < a)
				lo = mid;
			else
				up = mid;
		}
		/* a file's first_child: one past the children of every node before it */
		fc = d[h->order[lo]].first + d[h->order[lo]].nchild;
		if (t->runs[r].file < h->from)
			k0 = (uint32_t)(h->from - t->runs[r].file);
		if (t->runs[r].file + k1 > h->to)
			k1 = (uint32_t)(h->to - t->runs[r].file);
		for (uint32_t k = k0; k < k1; k++) {
			uint32_t fi = t->runs[r].file + k;

			h->s->nodes[a + k] = (struct lm_snap_node){ .name = f[fi].path + dir->plen,
								    .parent = dir->node,
								    .first_child = fc,
								    .file = (int32_t)fi };
			h->total += f[fi].size;
			h->ndv += (f[fi].flags & LM_FILE_HAS_DV) != 0;
		}
	}
	return NULL;
}

/* Pass 2: breadth-first numbering from the child counts, then the nodes (in *spare
 * when it holds *spare_size bytes and that is enough: *spare is then NULL). */
static int tb_finish(struct tb *t, struct lm_snapshot *s, void **spare,
		     const size_t *spare_size)
{
	struct fdir *d = t->d;
	size_t nd = t->nd, nnodes;
	uint32_t *cstart = calloc(nd + 1, sizeof(*cstart));
	uint32_t *clist = malloc(nd * sizeof(*clist));
	uint32_t *order = malloc(nd * sizeof(*order));
	uint64_t total = 0;
	size_t ndv = 0;
	int rc = ENOMEM;

	if (!cstart || !clist || !order)
		goto out;
	/* the child folders of each folder, in creation (= rank) order, by a counting
	 * sort on the parent */
	for (size_t k = 1; k < nd; k++)
		cstart[d[k].parent + 1]++;
	for (size_t k = 0; k < nd; k++)
		cstart[k + 1] += cstart[k];
	{
		uint32_t *pos = order;   /* scratch: the next free place per parent */

		memcpy(pos, cstart, nd * sizeof(*pos));
		for (size_t k = 1; k < nd; k++)
			clist[pos[d[k].parent]++] = (uint32_t)k;
	}
	{
		size_t qn = 1;
		uint32_t next = 1;

		order[0] = 0;
		d[0].node = 0;
		for (size_t qi = 0; qi < qn; qi++) {
			struct fdir *u = &d[order[qi]];

			u->first = next;
			next += u->nchild;
			for (uint32_t k = cstart[order[qi]]; k < cstart[order[qi] + 1]; k++) {
				d[clist[k]].node = u->first + d[clist[k]].rank;
				order[qn++] = clist[k];
			}
		}
		nnodes = next;
	}
	if (*spare && *spare_size >= nnodes * sizeof(*s->nodes)) {
		/* shrink in place: the tail goes back */
		s->nodes = realloc(*spare, nnodes * sizeof(*s->nodes));
		if (!s->nodes)
			s->nodes = *spare;
		*spare = NULL;
	} else {
		s->nodes = malloc(nnodes * sizeof(*s->nodes));
	}
	if (!s->nodes)
		goto out;
	for (size_t k = 0; k < nd; k++) {
		struct lm_snap_node *nd_ = &s->nodes[d[k].node];

		nd_->name = k ? lm_arena_strndup(&s->arena, d[k].name, d[k].len) : "";
		if (!nd_->name)
			goto out;
		nd_->parent = k ? d[d[k].parent].node : 0;
		nd_->first_child = d[k].first;
		nd_->n_children = d[k].nchild;
		nd_->file = -1;
	}
	{
		/* the file nodes, on two threads for big lists (halves of the files) */
		struct fnodes h[2] = { { .t = t, .s = s, .order = order, .nd = nd, .from = 0,
					 .to = s->nfiles / 2 },
				       { .t = t, .s = s, .order = order, .nd = nd,
					 .from = s->nfiles / 2, .to = s->nfiles } };
		pthread_t th;
		bool two = s->nfiles >= 65536 && pthread_create(&th, NULL, fnodes_run, &h[1]) == 0;

		if (!two) {
			h[0].to = s->nfiles;
			h[1].from = h[1].to;
		}
		fnodes_run(&h[0]);
		if (two)
			pthread_join(th, NULL);
		else
			fnodes_run(&h[1]);
		total = h[0].total + h[1].total;
		ndv = h[0].ndv + h[1].ndv;
	}
	s->nnodes = nnodes;
	s->total_bytes = total;
	s->n_dv_files = ndv;
	rc = 0;
out:
	free(cstart);
	free(clist);
	free(order);
	return rc;
}

/* s->files sorted; fills s->nodes, s->nnodes, total_bytes and n_dv_files (see
 * tb_finish for spare). FALLBACK when the tree needs sort_tree (children met out of
 * name order, a clash, a duplicate, an empty component, files not sorted). */
static int fast_tree(struct lm_snapshot *s, const struct lm_snap_run *runs, size_t nruns,
		     void **spare, const size_t *spare_size, struct lm_err *err)
{
	struct tb t;
	int rc = tb_init(&t);

	if (!rc && runs) {
		rc = tb_walk_runs(&t, s->files, s->nfiles, runs, nruns);
		if (rc == FALLBACK) {
			/* the runs do not fit: from the paths */
			tb_free(&t);
			rc = tb_init(&t);
			runs = NULL;
		}
	}
	if (!rc && !runs)
		rc = tb_walk_paths(&t, s->files, s->nfiles);
	if (!rc)
		rc = tb_finish(&t, s, spare, spare_size);
	tb_free(&t);
	if (rc == ENOMEM)
		rc = lm_err_set(err, ENOMEM, "version %lld: out of memory building the file tree",
				(long long)s->version);
	return rc;
}

/* s->files: nfiles entries, not necessarily sorted. opt: see lm_snapshot_new_take
 * (its spare is always taken). */
static int build_tree(struct lm_snapshot *s, bool sorted, const struct lm_snap_take *opt,
		      struct lm_err *err)
{
	void *spare = opt ? opt->spare : NULL;
	size_t spare_size = opt ? opt->spare_size : 0;
	int rc = FALLBACK;

	if (sorted && lm_snapshot_fast_tree)
		rc = fast_tree(s, opt ? opt->runs : NULL, opt ? opt->nruns : 0, &spare, &spare_size,
			       err);
	free(spare);
	if (rc != FALLBACK)
		return rc;
	free(s->nodes);
	s->nodes = NULL;
	s->total_bytes = 0;
	s->n_dv_files = 0;
	{
		/* Readers that sort already save the qsort. */
		size_t i = 1;

		while (i < s->nfiles && strcmp(s->files[i - 1].path, s->files[i].path) <= 0)
			i++;
		if (i < s->nfiles)
			qsort(s->files, s->nfiles, sizeof(*s->files), file_cmp);
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		s->total_bytes += s->files[i].size;
		if (s->files[i].flags & LM_FILE_HAS_DV)
			s->n_dv_files++;
	}
	return sort_tree(s, err);
}

static struct lm_snapshot *snap_alloc(int64_t version, int64_t commit_ms, size_t nfiles,
				      struct lm_err *err)
{
	struct lm_snapshot *s;

	if (nfiles > UINT32_MAX / 4) {
		lm_err_set(err, LM_ETOOBIG, "version %lld: %zu files is too many",
			   (long long)version, nfiles);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		lm_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	s->version = version;
	s->commit_ms = commit_ms;
	lm_arena_init(&s->arena);
	return s;
}

int lm_snapshot_new(int64_t version, int64_t commit_ms, const struct lm_file *files,
		    size_t nfiles, struct lm_snapshot **out, struct lm_err *err)
{
	struct lm_snapshot *s = snap_alloc(version, commit_ms, nfiles, err);
	bool sorted = true;
	int rc;

	if (!s)
		return err->code;
	s->files = malloc((nfiles ? nfiles : 1) * sizeof(*s->files));
	if (!s->files)
		goto nomem;
	for (size_t i = 0; i < nfiles; i++) {
		s->files[i] = files[i];
		s->files[i].path = lm_arena_strdup(&s->arena, files[i].path);
		if (!s->files[i].path)
			goto nomem;
		if (i && sorted && strcmp(files[i - 1].path, files[i].path) >= 0)
			sorted = false;
	}
	s->nfiles = nfiles;
	if (!sorted)
		qsort(s->files, nfiles, sizeof(*s->files), file_cmp);
	rc = build_tree(s, true, NULL, err);
	if (rc) {
		lm_snapshot_unref(s);
		return rc;
	}
	*out = s;
	return 0;
nomem:
	lm_snapshot_unref(s);
	return lm_err_set(err, ENOMEM, "version %lld: out of memory building the file tree",
			  (long long)version);
}

int lm_snapshot_new_take(int64_t version, int64_t commit_ms, struct lm_file *files,
			 size_t nfiles, const struct lm_snap_take *opt, struct lm_snapshot **out,
			 struct lm_err *err)
{
	struct lm_snapshot *s = snap_alloc(version, commit_ms, nfiles, err);
	int rc;

	if (!s) {
		if (opt)
			free(opt->spare);
		return err->code;
	}
	s->files = files;
	s->nfiles = nfiles;
	rc = build_tree(s, true, opt, err);
	if (rc) {
		s->files = NULL;   /* stays the caller's */
		lm_snapshot_unref(s);
		return rc;
	}
	if (opt && opt->hold) {
		lm_snap_hold_ref(opt->hold);
		s->hold = opt->hold;
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
	lm_snap_hold_unref(s->hold);
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
