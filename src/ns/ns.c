/* ns.c — the namespace: maps SOURCE folders, tables, versions and files to inode
 * numbers and attributes; serves lookups, directory listings and reads.
 * Owns the node registry and per-folder listing caches. May call: store, table,
 * snapshot, util, log. Never includes FUSE headers.
 *
 * Locking: reg_lock (rwlock) guards the registry arrays and the (parent, name) index;
 * each node's mu guards its mutable fields (listing, version list, snapshot). Nodes
 * are never freed before lm_ns_free, so a node pointer stays valid once obtained.
 * Slow work (listing, replay) runs under the node's mu only, never under reg_lock.
 *
 * Cache rules: a version directory and everything in it is immutable (built once,
 * kept); a folder's listing and a table's version list are trusted for latest_ttl. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lm/log.h"
#include "lm/ns.h"
#include "lm/reader.h"
#include "lm/snapshot.h"
#include "lm/table.h"
#include "lm/util.h"

#define MAX_LISTING (10u * 1000 * 1000)

enum kind { K_DIR_UNKNOWN, K_FOLDER, K_TABLE, K_VDIR, K_LINK, K_FILE, K_INFODIR, K_INFOFILE,
	     K_STATS };

/* The hidden statistics file at the mount root (looked up, never listed). */
#define STATS_NAME ".lakemount-stats"
#define STATS_SIZE 2048

struct lent {
	char *name;
	bool dir;
	struct lm_obj_info info;
};

struct listing {
	atomic_uint refs;
	size_t n;
	struct lent *e;   /* sorted by name (byte order) */
};

struct node {
	uint64_t ino, parent;
	char *name;
	enum kind kind;
	char *key;        /* folder/table: prefix key without trailing '/'; file: object key */
	pthread_mutex_t mu;
	/* folder */
	struct listing *list;
	int64_t list_ns;
	/* table */
	struct lm_table *table;
	struct lm_table_view *views;   /* display order */
	uint32_t *by_name;             /* indices into views, sorted by name */
	size_t nviews;
	int64_t views_ns;
	bool empty_logged;
	/* version directory */
	struct node *tnode;
	char *skey;       /* snapshot key of the view */
	int64_t commit_ms;
	struct lm_snapshot *snap;
	int refusal;      /* cached refusal code (a property of the table, not transient) */
	char *refusal_msg;
	/* plain file */
	struct lm_obj_info info;
	/* @info file (path in skey): generated content, cached */
	struct lm_buf gen;
	int64_t gen_ns;
	bool gen_loaded, gen_immutable;
};

/* Counters and a latency histogram of reads (log2 buckets of microseconds). */
struct ns_stats {
	atomic_ullong lookups, opens, reads, read_errors, snapshots, refusals;
	atomic_ullong read_us[32];
};

struct lm_ns {
	struct ns_stats st;
	struct lm_store *store;
	struct lm_ns_opts opts;
	struct lm_reader_pool *readers;   /* data read path: prefetch, block cache */
	int64_t start_ms;
	pthread_rwlock_t reg_lock;
	struct node **nodes;   /* nodes[ino] (ino 0 unused) */
	size_t nnodes, cap;
	uint64_t *idx;         /* open addressing over (parent, name): ino, 0 = empty */
	size_t idx_cap;
};

struct lm_ns_dir {
	struct lm_ns *ns;
	uint64_t ino, parent_ino;
	/* owned names (folder / table) */
	struct dent {
		char *name;
		struct lm_attr attr;
	} *e;
	size_t n;
	/* or a snapshot directory */
	struct lm_snapshot *snap;
	uint32_t snode;
	uint64_t vdir_ino;
	struct lm_attr self;
};

struct lm_ns_file {
	struct lm_ns *ns;
	char *key;
	char *what;        /* "table T: version V: file P" for messages */
	uint64_t size;
	bool check_size;
	struct lm_reader *rd;   /* checks size/identity, logs its errors once */
	char *mem;              /* @info files: the content as generated at open */
	size_t mem_len;
	bool direct;            /* content may differ from the size getattr gave */
};

/* ---------- registry ---------- */

static uint64_t pn_hash(uint64_t parent, const char *name)
{
	return lm_hash64(name, strlen(name)) ^ (parent * 0x9e3779b97f4a7c15ULL);
}

static int idx_grow(struct lm_ns *ns)
{
	size_t ncap = ns->idx_cap ? ns->idx_cap * 2 : 1024;
	uint64_t *ni = calloc(ncap, sizeof(*ni));

	if (!ni)
		return ENOMEM;
	for (size_t i = 0; i < ns->idx_cap; i++) {
		uint64_t ino = ns->idx[i];
		size_t j;

		if (!ino)
			continue;
		j = pn_hash(ns->nodes[ino]->parent, ns->nodes[ino]->name) & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		ni[j] = ino;
	}
	free(ns->idx);
	ns->idx = ni;
	ns->idx_cap = ncap;
	return 0;
}

static struct node *reg_get(struct lm_ns *ns, uint64_t ino)
{
	struct node *n = NULL;

	pthread_rwlock_rdlock(&ns->reg_lock);
	if (ino > 0 && ino < ns->nnodes)
		n = ns->nodes[ino];
	pthread_rwlock_unlock(&ns->reg_lock);
	return n;
}

static struct node *find_locked(struct lm_ns *ns, uint64_t parent, const char *name)
{
	size_t j;

	if (!ns->idx_cap)
		return NULL;
	j = pn_hash(parent, name) & (ns->idx_cap - 1);
	while (ns->idx[j]) {
		struct node *n = ns->nodes[ns->idx[j]];

		if (n->parent == parent && !strcmp(n->name, name))
			return n;
		j = (j + 1) & (ns->idx_cap - 1);
	}
	return NULL;
}

/* Find or create the node (parent, name). kind/key are used only on creation. */
static struct node *reg_intern(struct lm_ns *ns, uint64_t parent, const char *name,
			       enum kind kind, const char *key)
{
	struct node *n;
	size_t j;

	pthread_rwlock_rdlock(&ns->reg_lock);
	n = find_locked(ns, parent, name);
	pthread_rwlock_unlock(&ns->reg_lock);
	if (n)
		return n;
	pthread_rwlock_wrlock(&ns->reg_lock);
	n = find_locked(ns, parent, name);
	if (n)
		goto out;
	if (ns->nnodes >= UINT32_MAX - 1)
		goto out;
	if (ns->nnodes == ns->cap) {
		size_t nc = ns->cap * 2;
		struct node **p = realloc(ns->nodes, nc * sizeof(*p));

		if (!p)
			goto out;
		ns->nodes = p;
		ns->cap = nc;
	}
	if ((ns->nnodes + 1) * 4 >= ns->idx_cap * 3 && idx_grow(ns))
		goto out;
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out;
	n->name = strdup(name);
	n->key = strdup(key ? key : "");
	if (!n->name || !n->key) {
		free(n->name);
		free(n->key);
		free(n);
		n = NULL;
		goto out;
	}
	n->ino = ns->nnodes;
	n->parent = parent;
	n->kind = kind;
	pthread_mutex_init(&n->mu, NULL);
	ns->nodes[ns->nnodes++] = n;
	j = pn_hash(parent, name) & (ns->idx_cap - 1);
	while (ns->idx[j])
		j = (j + 1) & (ns->idx_cap - 1);
	ns->idx[j] = n->ino;
out:
	pthread_rwlock_unlock(&ns->reg_lock);
	return n;
}

/* ---------- folder listings ---------- */

static void listing_unref(struct listing *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	free(l);
}

struct lcollect {
	struct listing *l;
	size_t cap;
	size_t plen;
	int rc;
};

static int on_list(void *ud, const struct lm_list_entry *e)
{
	struct lcollect *c = ud;
	const char *name = e->key + c->plen;
	size_t nl = strlen(name);
	struct lent *le;

	if (e->is_prefix && nl && name[nl - 1] == '/')
		nl--;
	if (!nl || memchr(name, '/', nl))
		return 0;
	if (c->l->n >= MAX_LISTING) {
		c->rc = LM_ETOOBIG;
		return 1;
	}
	if (c->l->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct lent *p = realloc(c->l->e, ncap * sizeof(*p));

		if (!p) {
			c->rc = ENOMEM;
			return 1;
		}
		c->l->e = p;
		c->cap = ncap;
	}
	le = &c->l->e[c->l->n];
	le->name = lm_strndup(name, nl);
	if (!le->name) {
		c->rc = ENOMEM;
		return 1;
	}
	le->dir = e->is_prefix;
	le->info = e->info;
	c->l->n++;
	return 0;
}

static int lent_cmp(const void *a, const void *b)
{
	const struct lent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (int)x->dir - (int)y->dir;
}

static int fetch_listing(struct lm_ns *ns, const char *key, struct listing **out,
			 struct lm_err *err)
{
	struct lcollect c = { 0 };
	char *prefix = NULL;
	int rc;

	c.l = calloc(1, sizeof(*c.l));
	if (!c.l)
		return lm_err_set(err, ENOMEM, "out of memory");
	atomic_init(&c.l->refs, 1);
	if (*key) {
		size_t kl = strlen(key);

		prefix = malloc(kl + 2);
		if (!prefix) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		memcpy(prefix, key, kl);
		prefix[kl] = '/';
		prefix[kl + 1] = '\0';
	}
	c.plen = prefix ? strlen(prefix) : 0;
	rc = lm_store_list(ns->store, prefix ? prefix : "", NULL, LM_LIST_DELIM, on_list, &c,
			   err);
	if (!rc && c.rc)
		rc = lm_err_set(err, c.rc, "listing %s: %s", *key ? key : "/",
				lm_strerror(c.rc));
	if (rc)
		goto out;
	if (c.l->n)
		qsort(c.l->e, c.l->n, sizeof(*c.l->e), lent_cmp);
	/* A name that is both an object and a prefix: the folder wins, the object is
	 * shown with a "~" suffix?  No: prefer refusing to guess — keep the folder and
	 * log the shadowed object once. */
	for (size_t i = 1; i < c.l->n; i++) {
		if (!strcmp(c.l->e[i - 1].name, c.l->e[i].name)) {
			lm_warn("%s/%s: both an object and a folder; showing the folder",
				*key ? key : "", c.l->e[i].name);
			free(c.l->e[i - 1].name);
			memmove(&c.l->e[i - 1], &c.l->e[i], (c.l->n - i) * sizeof(*c.l->e));
			c.l->n--;
			i--;
		}
	}
	*out = c.l;
	c.l = NULL;
out:
	listing_unref(c.l);
	free(prefix);
	return rc;
}

static const struct lent *listing_find(const struct listing *l, const char *name)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->e[mid].name, name);

		if (!c)
			return &l->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool expired(struct lm_ns *ns, int64_t at_ns)
{
	return !at_ns || lm_mono_ns() - at_ns >= (int64_t)ns->opts.latest_ttl_ms * 1000000;
}

/* The folder's listing (ref'd), refreshed after the TTL. n->mu must not be held. */
static int folder_listing(struct lm_ns *ns, struct node *n, struct listing **out,
			  struct lm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&n->mu);
	if (!n->list || expired(ns, n->list_ns)) {
		struct listing *l = NULL;
		struct lm_err e2;

		lm_err_init(&e2);
		rc = fetch_listing(ns, n->key, &l, &e2);
		if (rc && n->list) {
			/* Keep serving the old listing; say why it is stale. */
			lm_warn("%s", e2.msg);
			rc = 0;
		} else if (rc) {
			*err = e2;
		} else {
			listing_unref(n->list);
			n->list = l;
			n->list_ns = lm_mono_ns();
		}
	}
	if (!rc) {
		atomic_fetch_add(&n->list->refs, 1);
		*out = n->list;
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

/* Decide whether a K_DIR_UNKNOWN node is a folder or a table (lists it once). */
static int classify(struct lm_ns *ns, struct node *n, struct lm_err *err)
{
	struct listing *l = NULL;
	enum lm_table_format fmt = LM_TABLE_NONE;
	int rc;

	if (n->kind != K_DIR_UNKNOWN)
		return 0;
	rc = fetch_listing(ns, n->key, &l, err);
	if (rc)
		return rc;
	{
		/* Child names, folders with their trailing '/', for format detection. */
		const char **names = malloc((l->n ? l->n : 1) * sizeof(*names));
		char **owned = calloc(l->n ? l->n : 1, sizeof(*owned));

		if (!names || !owned) {
			free(names);
			free(owned);
			listing_unref(l);
			return lm_err_set(err, ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < l->n; i++) {
			if (l->e[i].dir) {
				size_t k = strlen(l->e[i].name);

				owned[i] = malloc(k + 2);
				if (owned[i]) {
					memcpy(owned[i], l->e[i].name, k);
					owned[i][k] = '/';
					owned[i][k + 1] = '\0';
				}
				names[i] = owned[i] ? owned[i] : "";
			} else {
				names[i] = l->e[i].name;
			}
		}
		rc = lm_table_detect(ns->store, n->key, names, l->n, &fmt, err);
		for (size_t i = 0; i < l->n; i++)
			free(owned[i]);
		free(owned);
		free(names);
		if (rc) {
			listing_unref(l);
			return rc;
		}
	}
	pthread_mutex_lock(&n->mu);
	if (n->kind == K_DIR_UNKNOWN) {
		if (fmt != LM_TABLE_NONE) {
			struct lm_table *t = NULL;
			struct lm_err e2;

			lm_err_init(&e2);
			rc = lm_table_open(ns->store, n->key, *n->key ? n->key : ".", fmt, &t, &e2);
			if (rc) {
				*err = e2;
			} else {
				lm_table_set_metacache(t, ns->opts.meta);
				n->table = t;
				n->kind = K_TABLE;
			}
		} else {
			n->kind = K_FOLDER;
			n->list = l;
			n->list_ns = lm_mono_ns();
			l = NULL;
		}
	}
	pthread_mutex_unlock(&n->mu);
	listing_unref(l);
	return rc;
}

/* ---------- tables ---------- */

static int view_cmp(const void *a, const void *b, void *ctx)
{
	const struct lm_table_view *v = ctx;

	return strcmp(v[*(const uint32_t *)a].name, v[*(const uint32_t *)b].name);
}

/* Refresh the table's views after the TTL (or when force). */
static int table_views(struct lm_ns *ns, struct node *n, bool force, struct lm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&n->mu);
	if (force || !n->views || expired(ns, n->views_ns)) {
		struct lm_table_view *v = NULL;
		uint32_t *idx = NULL;
		struct lm_err e2;
		size_t cnt = 0;

		lm_err_init(&e2);
		rc = lm_table_refresh(n->table, &e2);
		if (!rc)
			rc = lm_table_views(n->table, &v, &cnt, &e2);
		if (!rc) {
			idx = malloc((cnt ? cnt : 1) * sizeof(*idx));
			if (!idx)
				rc = lm_err_set(&e2, ENOMEM, "out of memory");
		}
		if (rc && n->views) {
			lm_warn("%s (keeping the previous version list)", e2.msg);
			free(v);
			rc = 0;
		} else if (rc) {
			free(v);
			*err = e2;
		} else {
			for (size_t i = 0; i < cnt; i++)
				idx[i] = (uint32_t)i;
			if (cnt)
				qsort_r(idx, cnt, sizeof(*idx), view_cmp, v);
			free(n->views);
			free(n->by_name);
			n->views = v;
			n->by_name = idx;
			n->nviews = cnt;
			n->views_ns = lm_mono_ns();
			if (!cnt && !n->empty_logged) {
				lm_warn("table %s: no versions to show (the %s log holds no commits)",
					lm_table_name(n->table), n->table->ops->format);
				n->empty_logged = true;
			}
		}
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

/* Copy of the view named name; t->mu held. */
static bool find_view(const struct node *t, const char *name, struct lm_table_view *out)
{
	size_t lo = 0, hi = t->nviews;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lm_table_view *v = &t->views[t->by_name[mid]];
		int c = strcmp(v->name, name);

		if (!c) {
			*out = *v;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The current view named name: listed ones after a TTL refresh, then (for a name the
 * table does not list) a fresh listing, then the driver's resolver (timestamps). */
static int table_view(struct lm_ns *ns, struct node *t, const char *name,
		      struct lm_table_view *out, struct lm_err *err)
{
	bool found;
	int rc = table_views(ns, t, false, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&t->mu);
	found = find_view(t, name, out);
	pthread_mutex_unlock(&t->mu);
	if (found)
		return 0;
	if (!strncmp(name, "@v", 2)) {
		/* A version newer than the list may have been committed since. */
		rc = table_views(ns, t, true, err);
		if (rc)
			return rc;
		pthread_mutex_lock(&t->mu);
		found = find_view(t, name, out);
		pthread_mutex_unlock(&t->mu);
		if (found)
			return 0;
	}
	return lm_table_resolve(t->table, name, out, err);
}

static int64_t table_mtime(const struct node *t)
{
	int64_t m = -1;

	for (size_t i = 0; i < t->nviews; i++)
		if (t->views[i].commit_ms > m)
			m = t->views[i].commit_ms;
	return m;
}

/* The registry node for a view of table t. */
static struct node *view_node(struct lm_ns *ns, struct node *t, const struct lm_table_view *v)
{
	struct node *n = reg_intern(ns, t->ino, v->name, v->is_link ? K_LINK : K_VDIR, t->key);
	bool ok = true;

	if (!n)
		return NULL;
	pthread_mutex_lock(&n->mu);
	n->tnode = t;
	if (n->kind == K_VDIR && !n->skey) {
		n->skey = strdup(v->key);
		n->commit_ms = v->commit_ms;
		ok = n->skey != NULL;
	}
	pthread_mutex_unlock(&n->mu);
	return ok ? n : NULL;
}

/* The snapshot of a version directory (ref'd). Refusals are cached and logged once. */
static int vdir_snapshot(struct lm_ns *ns, struct node *vd, struct lm_snapshot **out,
			 struct lm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&vd->mu);
	if (vd->snap) {
		*out = lm_snapshot_ref(vd->snap);
	} else if (vd->refusal) {
		rc = lm_err_set(err, vd->refusal, "%s", vd->refusal_msg);
	} else {
		struct lm_err e2;

		lm_err_init(&e2);
		rc = lm_table_snapshot(vd->tnode->table, vd->skey, &vd->snap, &e2);
		if (!rc) {
			atomic_fetch_add(&ns->st.snapshots, 1);
			*out = lm_snapshot_ref(vd->snap);
		} else {
			if (e2.reason)
				lm_error("%s [%s]", e2.msg, e2.reason);
			else
				lm_error("%s", e2.msg);
			if (e2.reason) {
				atomic_fetch_add(&ns->st.refusals, 1);
				vd->refusal = rc;
				vd->refusal_msg = strdup(e2.msg);
				if (!vd->refusal_msg)
					vd->refusal = 0;
			}
			*err = e2;
		}
	}
	pthread_mutex_unlock(&vd->mu);
	(void)ns;
	return rc;
}

/* ---------- statistics file ---------- */

static uint64_t pct_us(const uint64_t *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), acc = 0;

	for (int i = 0; i < 32; i++) {
		acc += h[i];
		if (acc > want || (acc == total && acc))
			return (uint64_t)1 << i;   /* upper bound of the bucket */
	}
	return 0;
}

static int stats_render(struct lm_ns *ns, struct lm_buf *b)
{
	struct lm_reader_stats r;
	uint64_t h[32], total = 0;
	int rc;

	lm_reader_pool_stats(ns->readers, &r);
	for (int i = 0; i < 32; i++) {
		h[i] = atomic_load(&ns->st.read_us[i]);
		total += h[i];
	}
	rc = lm_buf_printf(b,
		"{\n  \"source\": \"%s\",\n  \"uptime_ms\": %lld,\n"
		"  \"fuse\": {\"lookups\": %llu, \"opens\": %llu, \"reads\": %llu, \"read_errors\": %llu},\n"
		"  \"tables\": {\"snapshots_built\": %llu, \"refusals\": %llu},\n"
		"  \"read_latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, \"max_bucket\": %llu},\n"
		"  \"requests\": {\"get_probe\": %llu, \"get_demand\": %llu, \"get_prefetch\": %llu, \"get_failed\": %llu},\n"
		"  \"bytes\": {\"fetched\": %llu, \"served\": %llu},\n"
		"  \"block_cache\": {\"hits\": %llu, \"waits\": %llu, \"misses\": %llu, \"evictions\": %llu, "
		"\"prefetch_wasted\": %llu, \"mem_used\": %llu, \"mem_peak\": %llu, \"readers_open\": %llu}\n}\n",
		ns->store->uri, (long long)(lm_now_ms() - ns->start_ms),
		(unsigned long long)atomic_load(&ns->st.lookups), (unsigned long long)atomic_load(&ns->st.opens),
		(unsigned long long)atomic_load(&ns->st.reads), (unsigned long long)atomic_load(&ns->st.read_errors),
		(unsigned long long)atomic_load(&ns->st.snapshots), (unsigned long long)atomic_load(&ns->st.refusals),
		(unsigned long long)pct_us(h, total, 0.5), (unsigned long long)pct_us(h, total, 0.9),
		(unsigned long long)pct_us(h, total, 0.99), (unsigned long long)pct_us(h, total, 1.0),
		(unsigned long long)r.gets_probe, (unsigned long long)r.gets_demand,
		(unsigned long long)r.gets_prefetch, (unsigned long long)r.gets_failed,
		(unsigned long long)r.bytes_fetched, (unsigned long long)r.bytes_served,
		(unsigned long long)r.hits, (unsigned long long)r.waits, (unsigned long long)r.misses,
		(unsigned long long)r.evictions, (unsigned long long)r.prefetch_wasted,
		(unsigned long long)r.mem_used, (unsigned long long)r.mem_peak,
		(unsigned long long)r.readers_open);
	/* A constant size (padded with blanks, still valid JSON): stat, the kernel's idea
	 * of the size and what a read returns agree even as the numbers grow. */
	while (!rc && b->len < STATS_SIZE)
		rc = lm_buf_append(b, b->len + 1 == STATS_SIZE ? "\n" : " ", 1);
	return rc;
}

/* ---------- @info ---------- */

/* Generate (or reuse) an @info file's content. Immutable files are generated once;
 * others again after latest_ttl. */
static int info_load(struct lm_ns *ns, struct node *n, struct lm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&n->mu);
	if (!n->gen_loaded || (!n->gen_immutable && expired(ns, n->gen_ns))) {
		struct lm_buf b;
		bool imm = false;

		lm_buf_init(&b, (size_t)256 << 20);
		rc = lm_table_info_read(n->tnode->table, n->skey, &b, &imm, err);
		if (!rc) {
			lm_buf_free(&n->gen);
			n->gen = b;
			n->gen_immutable = imm;
			n->gen_loaded = true;
			n->gen_ns = lm_mono_ns();
		} else {
			lm_buf_free(&b);
			if (rc != ENOENT && err)
				lm_error("%s", err->msg);
		}
	}
	pthread_mutex_unlock(&n->mu);
	return rc;
}

/* The node for name inside @info directory node d (lists the directory). */
static int info_child(struct lm_ns *ns, struct node *d, const char *name, struct node **out,
		      struct lm_err *err)
{
	struct lm_info_entry *e = NULL;
	size_t n = 0;
	int rc = lm_table_info_list(d->tnode->table, d->skey, &e, &n, err);

	*out = NULL;
	if (rc)
		return rc;
	rc = ENOENT;
	for (size_t i = 0; i < n; i++) {
		char *path;
		struct node *c;

		if (strcmp(e[i].name, name))
			continue;
		path = *d->skey ? lm_path_join(d->skey, name) : strdup(name);
		c = path ? reg_intern(ns, d->ino, name, e[i].is_dir ? K_INFODIR : K_INFOFILE, d->key)
			 : NULL;
		if (c) {
			pthread_mutex_lock(&c->mu);
			c->tnode = d->tnode;
			if (!c->skey) {
				c->skey = path;
				path = NULL;
			}
			pthread_mutex_unlock(&c->mu);
		}
		free(path);
		rc = c ? 0 : ENOMEM;
		*out = c;
		break;
	}
	free(e);
	return rc;
}

static struct node *info_root(struct lm_ns *ns, struct node *t)
{
	struct node *n = reg_intern(ns, t->ino, "@info", K_INFODIR, t->key);

	if (!n)
		return NULL;
	pthread_mutex_lock(&n->mu);
	n->tnode = t;
	if (!n->skey)
		n->skey = strdup("");
	pthread_mutex_unlock(&n->mu);
	return n->skey ? n : NULL;
}

/* ---------- attributes ---------- */

static void dir_attr(struct lm_ns *ns, uint64_t ino, int64_t mtime_ms, bool immutable,
		     struct lm_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = S_IFDIR | 0555;
	a->nlink = 2;
	a->mtime_ms = mtime_ms >= 0 ? mtime_ms : ns->start_ms;
	a->immutable = immutable;
	a->size = 0;
}

static void snap_attr(struct lm_ns *ns, uint64_t vdir_ino, const struct lm_snapshot *s,
		      uint32_t idx, struct lm_attr *a)
{
	const struct lm_snap_node *sn = &s->nodes[idx];
	uint64_t ino = idx ? (vdir_ino << 32) | idx : vdir_ino;

	if (sn->file < 0) {
		dir_attr(ns, ino, s->commit_ms, true, a);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = S_IFREG | 0444;
	a->nlink = 1;
	a->size = s->files[sn->file].size;
	a->mtime_ms = s->files[sn->file].mtime_ms >= 0 ? s->files[sn->file].mtime_ms
							: s->commit_ms;
	a->immutable = true;
}


static int node_attr(struct lm_ns *ns, struct node *n, struct lm_attr *a, struct lm_err *err)
{
	switch (n->kind) {
	case K_DIR_UNKNOWN:
	case K_FOLDER:
		dir_attr(ns, n->ino, -1, false, a);
		return 0;
	case K_TABLE: {
		int rc = table_views(ns, n, false, err);

		if (rc)
			return rc;
		pthread_mutex_lock(&n->mu);
		dir_attr(ns, n->ino, table_mtime(n), false, a);
		pthread_mutex_unlock(&n->mu);
		return 0;
	}
	case K_VDIR:
		dir_attr(ns, n->ino, n->commit_ms, true, a);
		return 0;
	case K_LINK: {
		struct lm_table_view v;
		int rc = table_view(ns, n->tnode, n->name, &v, err);

		if (rc)
			return rc;
		if (!v.is_link)
			return ENOENT;
		memset(a, 0, sizeof(*a));
		a->ino = n->ino;
		a->mode = S_IFLNK | 0777;
		a->nlink = 1;
		a->size = strlen(v.target);
		a->mtime_ms = v.commit_ms;
		return 0;
	}
	case K_INFODIR:
		dir_attr(ns, n->ino, -1, false, a);
		return 0;
	case K_STATS: {
		struct lm_buf b;

		lm_buf_init(&b, 1 << 20);
		if (stats_render(ns, &b)) {
			lm_buf_free(&b);
			return ENOMEM;
		}
		memset(a, 0, sizeof(*a));
		a->ino = n->ino;
		a->mode = S_IFREG | 0444;
		a->nlink = 1;
		a->size = b.len;
		a->mtime_ms = lm_now_ms();
		lm_buf_free(&b);
		return 0;
	}
	case K_INFOFILE: {
		int rc = info_load(ns, n, err);

		if (rc)
			return rc;
		memset(a, 0, sizeof(*a));
		a->ino = n->ino;
		a->mode = S_IFREG | 0444;
		a->nlink = 1;
		pthread_mutex_lock(&n->mu);
		a->size = n->gen.len;
		a->immutable = n->gen_immutable;
		pthread_mutex_unlock(&n->mu);
		a->mtime_ms = ns->start_ms;
		return 0;
	}
	case K_FILE:
		memset(a, 0, sizeof(*a));
		a->ino = n->ino;
		a->mode = S_IFREG | 0444;
		a->nlink = 1;
		pthread_mutex_lock(&n->mu);
		a->size = n->info.size;
		a->mtime_ms = n->info.mtime_ms;
		pthread_mutex_unlock(&n->mu);
		return 0;
	}
	return EIO;
}

/* ---------- public: lookup / getattr ---------- */

static int lookup_in_folder(struct lm_ns *ns, struct node *p, const char *name,
			    struct lm_attr *out, struct lm_err *err)
{
	struct listing *l = NULL;
	const struct lent *e;
	struct node *n;
	char *key = NULL;
	int rc;

	rc = folder_listing(ns, p, &l, err);
	if (rc)
		return rc;
	e = listing_find(l, name);
	if (!e) {
		rc = ENOENT;
		goto out;
	}
	key = lm_path_join(p->key, name);
	if (!key) {
		rc = ENOMEM;
		goto out;
	}
	n = reg_intern(ns, p->ino, name, e->dir ? K_DIR_UNKNOWN : K_FILE, key);
	if (!n) {
		rc = ENOMEM;
		goto out;
	}
	if (n->kind == K_FILE) {
		if (e->dir) {
			rc = ENOENT;   /* was a file, now a folder: stale kernel entry */
			goto out;
		}
		pthread_mutex_lock(&n->mu);
		n->info = e->info;
		pthread_mutex_unlock(&n->mu);
	} else if (!e->dir) {
		rc = ENOENT;
		goto out;
	}
	rc = classify(ns, n, err);
	if (!rc)
		rc = node_attr(ns, n, out, err);
out:
	free(key);
	listing_unref(l);
	return rc;
}

static int lookup_in_table(struct lm_ns *ns, struct node *t, const char *name,
			   struct lm_attr *out, struct lm_err *err)
{
	struct lm_table_view v;
	struct node *n;
	int rc;

	if (name[0] != '@')
		return ENOENT;
	if (!strcmp(name, "@info")) {
		if (!lm_table_has_info(t->table))
			return ENOENT;
		n = info_root(ns, t);
		return n ? node_attr(ns, n, out, err) : ENOMEM;
	}
	rc = table_view(ns, t, name, &v, err);
	if (rc)
		return rc;
	n = view_node(ns, t, &v);
	if (!n)
		return ENOMEM;
	if ((n->kind == K_LINK) != v.is_link)
		return ENOENT;   /* a name that changed kind: never reuse the old inode */
	return node_attr(ns, n, out, err);
}

static int lookup_in_snapshot(struct lm_ns *ns, struct node *vd, uint32_t dir,
			      const char *name, struct lm_attr *out, struct lm_err *err)
{
	struct lm_snapshot *s = NULL;
	int64_t c;
	int rc = vdir_snapshot(ns, vd, &s, err);

	if (rc)
		return rc;
	c = lm_snapshot_child(s, dir, name);
	if (c < 0)
		rc = ENOENT;
	else
		snap_attr(ns, vd->ino, s, (uint32_t)c, out);
	lm_snapshot_unref(s);
	return rc;
}

int lm_ns_lookup(struct lm_ns *ns, uint64_t parent, const char *name, struct lm_attr *out,
		 struct lm_err *err)
{
	struct node *p;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return ENOENT;   /* the kernel resolves these itself */
	atomic_fetch_add(&ns->st.lookups, 1);
	if (parent == LM_NS_ROOT_INO && !strcmp(name, STATS_NAME)) {
		struct node *sn = reg_intern(ns, LM_NS_ROOT_INO, STATS_NAME, K_STATS, "");

		return sn ? node_attr(ns, sn, out, err) : ENOMEM;
	}
	if (parent >> 32) {
		p = reg_get(ns, parent >> 32);
		if (!p || p->kind != K_VDIR)
			return ENOENT;
		return lookup_in_snapshot(ns, p, (uint32_t)(parent & 0xffffffffu), name, out, err);
	}
	p = reg_get(ns, parent);
	if (!p)
		return ENOENT;
	switch (p->kind) {
	case K_FOLDER:
		return lookup_in_folder(ns, p, name, out, err);
	case K_TABLE:
		return lookup_in_table(ns, p, name, out, err);
	case K_VDIR:
		return lookup_in_snapshot(ns, p, 0, name, out, err);
	case K_INFODIR: {
		struct node *c = NULL;
		int rc = info_child(ns, p, name, &c, err);

		return rc ? rc : node_attr(ns, c, out, err);
	}
	default:
		return ENOTDIR;
	}
}

int lm_ns_getattr(struct lm_ns *ns, uint64_t ino, struct lm_attr *out, struct lm_err *err)
{
	struct node *n;

	if (ino >> 32) {
		struct lm_snapshot *s = NULL;
		uint32_t idx = (uint32_t)(ino & 0xffffffffu);
		int rc;

		n = reg_get(ns, ino >> 32);
		if (!n || n->kind != K_VDIR)
			return ENOENT;
		rc = vdir_snapshot(ns, n, &s, err);
		if (rc)
			return rc;
		if (idx >= s->nnodes)
			rc = ENOENT;
		else
			snap_attr(ns, n->ino, s, idx, out);
		lm_snapshot_unref(s);
		return rc;
	}
	n = reg_get(ns, ino);
	if (!n)
		return ENOENT;
	return node_attr(ns, n, out, err);
}

int lm_ns_readlink(struct lm_ns *ns, uint64_t ino, char *buf, size_t size,
		   struct lm_err *err)
{
	struct node *n = (ino >> 32) ? NULL : reg_get(ns, ino);
	struct lm_table_view v;
	int rc;

	if (!n || n->kind != K_LINK)
		return EINVAL;
	rc = table_view(ns, n->tnode, n->name, &v, err);
	if (rc)
		return rc;
	if (!v.is_link)
		return ENOENT;
	snprintf(buf, size, "%s", v.target);
	return 0;
}

/* ---------- directories ---------- */

static int dir_push(struct lm_ns_dir *d, size_t *cap, const char *name,
		    const struct lm_attr *a)
{
	if (d->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct dent *p = realloc(d->e, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		d->e = p;
		*cap = nc;
	}
	d->e[d->n].name = strdup(name);
	if (!d->e[d->n].name)
		return ENOMEM;
	d->e[d->n].attr = *a;
	d->n++;
	return 0;
}

static int open_folder(struct lm_ns *ns, struct node *n, struct lm_ns_dir *d,
		       struct lm_err *err)
{
	struct listing *l = NULL;
	size_t cap = 0;
	int rc = folder_listing(ns, n, &l, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct lent *e = &l->e[i];
		char *key = lm_path_join(n->key, e->name);
		struct node *c = key ? reg_intern(ns, n->ino, e->name,
						  e->dir ? K_DIR_UNKNOWN : K_FILE, key)
				     : NULL;
		struct lm_attr a = { 0 };

		free(key);
		if (!c) {
			rc = ENOMEM;
			break;
		}
		a.ino = c->ino;
		a.mode = e->dir ? S_IFDIR : S_IFREG;
		rc = dir_push(d, &cap, e->name, &a);
	}
	listing_unref(l);
	return rc;
}

static int open_table(struct lm_ns *ns, struct node *t, struct lm_ns_dir *d,
		      struct lm_err *err)
{
	struct lm_table_view *v = NULL;
	size_t nv = 0, cap = 0;
	int rc = table_views(ns, t, false, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&t->mu);
	nv = t->nviews;
	v = malloc((nv ? nv : 1) * sizeof(*v));
	if (v)
		memcpy(v, t->views, nv * sizeof(*v));
	pthread_mutex_unlock(&t->mu);
	if (!v)
		return ENOMEM;
	if (lm_table_has_info(t->table)) {
		struct node *in = info_root(ns, t);
		struct lm_attr a = { .mode = S_IFDIR };

		if (!in) {
			free(v);
			return ENOMEM;
		}
		a.ino = in->ino;
		rc = dir_push(d, &cap, "@info", &a);
	}
	for (size_t i = 0; i < nv && !rc; i++) {
		struct node *vn = view_node(ns, t, &v[i]);
		struct lm_attr a = { .mode = v[i].is_link ? S_IFLNK : S_IFDIR };

		if (!vn) {
			rc = ENOMEM;
			break;
		}
		a.ino = vn->ino;
		rc = dir_push(d, &cap, v[i].name, &a);
	}
	free(v);
	return rc;
}

int lm_ns_opendir(struct lm_ns *ns, uint64_t ino, struct lm_ns_dir **out,
		  struct lm_err *err)
{
	struct lm_ns_dir *d = calloc(1, sizeof(*d));
	struct node *n = NULL;
	int rc = 0;

	if (!d)
		return ENOMEM;
	d->ns = ns;
	d->ino = ino;
	if (ino >> 32) {
		n = reg_get(ns, ino >> 32);
		if (!n || n->kind != K_VDIR) {
			rc = ENOENT;
			goto out;
		}
		rc = vdir_snapshot(ns, n, &d->snap, err);
		if (rc)
			goto out;
		d->snode = (uint32_t)(ino & 0xffffffffu);
		if (d->snode >= d->snap->nnodes || d->snap->nodes[d->snode].file >= 0) {
			rc = ENOTDIR;
			goto out;
		}
		d->vdir_ino = n->ino;
		d->parent_ino = d->snode ? ((d->snap->nodes[d->snode].parent)
						    ? (n->ino << 32) | d->snap->nodes[d->snode].parent
						    : n->ino)
					 : n->parent;
		goto out;
	}
	n = reg_get(ns, ino);
	if (!n) {
		rc = ENOENT;
		goto out;
	}
	d->parent_ino = n->parent ? n->parent : LM_NS_ROOT_INO;
	if (n->kind == K_DIR_UNKNOWN && (rc = classify(ns, n, err)))
		goto out;
	switch (n->kind) {
	case K_FOLDER:
		rc = open_folder(ns, n, d, err);
		break;
	case K_TABLE:
		rc = open_table(ns, n, d, err);
		break;
	case K_INFODIR: {
		struct lm_info_entry *e = NULL;
		size_t ne = 0, cap = 0;

		rc = lm_table_info_list(n->tnode->table, n->skey, &e, &ne, err);
		for (size_t i = 0; !rc && i < ne; i++) {
			struct node *c = NULL;
			struct lm_attr a = { .mode = e[i].is_dir ? S_IFDIR : S_IFREG };

			rc = info_child(ns, n, e[i].name, &c, err);
			if (!rc) {
				a.ino = c->ino;
				rc = dir_push(d, &cap, e[i].name, &a);
			}
		}
		free(e);
		break;
	}
	case K_VDIR:
		rc = vdir_snapshot(ns, n, &d->snap, err);
		d->snode = 0;
		d->vdir_ino = n->ino;
		break;
	default:
		rc = ENOTDIR;
	}
out:
	if (rc) {
		lm_ns_releasedir(d);
		return rc;
	}
	*out = d;
	return 0;
}

bool lm_ns_dir_entry(struct lm_ns_dir *d, size_t i, const char **name, struct lm_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	if (i < 2) {
		*name = i == 0 ? "." : "..";
		attr->mode = S_IFDIR;
		attr->ino = i == 0 ? d->ino : d->parent_ino;
		return true;
	}
	i -= 2;
	if (d->snap) {
		const struct lm_snap_node *dn = &d->snap->nodes[d->snode];
		uint32_t c;

		if (i >= dn->n_children)
			return false;
		c = dn->first_child + (uint32_t)i;
		*name = d->snap->nodes[c].name;
		attr->ino = (d->vdir_ino << 32) | c;
		attr->mode = d->snap->nodes[c].file >= 0 ? S_IFREG : S_IFDIR;
		return true;
	}
	if (i >= d->n)
		return false;
	*name = d->e[i].name;
	*attr = d->e[i].attr;
	return true;
}

void lm_ns_releasedir(struct lm_ns_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	lm_snapshot_unref(d->snap);
	free(d);
}

/* ---------- files ---------- */

int lm_ns_open(struct lm_ns *ns, uint64_t ino, struct lm_ns_file **out, bool *immutable,
	       struct lm_err *err)
{
	struct lm_ns_file *f = calloc(1, sizeof(*f));
	struct lm_snapshot *s = NULL;
	struct node *n;
	int rc = 0;

	if (!f)
		return ENOMEM;
	f->ns = ns;
	atomic_fetch_add(&ns->st.opens, 1);
	if (ino >> 32) {
		uint32_t idx = (uint32_t)(ino & 0xffffffffu);
		const struct lm_file *file;
		size_t wl;

		n = reg_get(ns, ino >> 32);
		if (!n || n->kind != K_VDIR) {
			rc = ENOENT;
			goto out;
		}
		rc = vdir_snapshot(ns, n, &s, err);
		if (rc)
			goto out;
		if (idx >= s->nnodes) {
			rc = ENOENT;
			goto out;
		}
		if (s->nodes[idx].file < 0) {
			rc = EISDIR;
			goto out;
		}
		file = &s->files[s->nodes[idx].file];
		f->key = lm_path_join(n->key, file->path);
		wl = strlen(file->path) + strlen(lm_table_name(n->tnode->table)) + 80;
		f->what = malloc(wl);
		if (!f->key || !f->what) {
			rc = ENOMEM;
			goto out;
		}
		snprintf(f->what, wl, "table %s: %s: file %s", lm_table_name(n->tnode->table),
			 n->name, file->path);
		f->size = file->size;
		f->check_size = true;
		*immutable = true;
		rc = lm_reader_open(ns->readers, ns->store, f->key, f->size, f->what, &f->rd);
		goto out;
	}
	n = reg_get(ns, ino);
	if (!n) {
		rc = ENOENT;
		goto out;
	}
	if (n->kind == K_STATS) {
		struct lm_buf b;

		lm_buf_init(&b, 1 << 20);
		rc = stats_render(ns, &b);
		if (!rc) {
			f->mem = lm_buf_take(&b, &f->mem_len);
			f->direct = true;   /* fresh numbers at every open: size may differ */
		}
		lm_buf_free(&b);
		*immutable = false;
		goto out;
	}
	if (n->kind == K_INFOFILE) {
		rc = info_load(ns, n, err);
		if (rc)
			goto out;
		pthread_mutex_lock(&n->mu);
		f->mem = malloc(n->gen.len ? n->gen.len : 1);
		if (f->mem) {
			memcpy(f->mem, n->gen.data, n->gen.len);
			f->mem_len = n->gen.len;
		}
		*immutable = n->gen_immutable;
		pthread_mutex_unlock(&n->mu);
		rc = f->mem ? 0 : ENOMEM;
		goto out;
	}
	if (n->kind != K_FILE) {
		rc = n->kind == K_LINK ? ELOOP : EISDIR;
		goto out;
	}
	f->key = strdup(n->key);
	f->what = strdup(n->key);
	if (!f->key || !f->what) {
		rc = ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&n->mu);
	f->size = n->info.size;
	pthread_mutex_unlock(&n->mu);
	*immutable = false;
	rc = lm_reader_open(ns->readers, ns->store, f->key, UINT64_MAX, f->what, &f->rd);
out:
	lm_snapshot_unref(s);
	if (rc) {
		lm_ns_release(f);
		return rc;
	}
	*out = f;
	return 0;
}

int lm_ns_read(struct lm_ns *ns, struct lm_ns_file *f, uint64_t off, size_t len,
	       void *dst, size_t *got, struct lm_err *err)
{
	atomic_fetch_add(&ns->st.reads, 1);
	if (f->mem) {
		size_t n = off < f->mem_len ? f->mem_len - (size_t)off : 0;

		if (n > len)
			n = len;
		memcpy(dst, f->mem + off * (n > 0), n);
		*got = n;
		return 0;
	}
	/* The reader clamps to the size the log gives (check_size) or to the object's
	 * own size, refuses a size or identity that differs, and logs once per open. */
	{
		int64_t t0 = lm_mono_ns();
		int rc = lm_reader_read(f->rd, off, len, dst, got, err);
		uint64_t us = (uint64_t)((lm_mono_ns() - t0) / 1000);
		int b = 0;

		while (b < 31 && ((uint64_t)1 << b) < us)
			b++;
		atomic_fetch_add(&ns->st.read_us[b], 1);
		if (rc)
			atomic_fetch_add(&ns->st.read_errors, 1);
		return rc;
	}
}

bool lm_ns_file_direct(const struct lm_ns_file *f)
{
	return f->direct;
}

void lm_ns_release(struct lm_ns_file *f)
{
	if (!f)
		return;
	lm_reader_close(f->rd);
	free(f->mem);
	free(f->key);
	free(f->what);
	free(f);
}

/* ---------- extended attributes ---------- */

/* Attributes of a file inside a version directory: which table and version it belongs
 * to, and — when a deletion vector applies — how many of its rows are deleted, so no
 * one mistakes a live file for all-live rows. Names are NUL-separated in list. */
static int snap_xattrs(struct lm_ns *ns, uint64_t ino, char *list, size_t lsize,
		       size_t *llen, const char *want, char *val, size_t vsize, size_t *vlen,
		       struct lm_err *err)
{
	struct lm_snapshot *s = NULL;
	const struct lm_file *f;
	struct node *vd = reg_get(ns, ino >> 32);
	uint32_t idx = (uint32_t)(ino & 0xffffffffu);
	struct { const char *name; char value[160]; } a[3];
	size_t na = 0, off = 0;
	int rc;

	if (!vd || vd->kind != K_VDIR)
		return ENOENT;
	rc = vdir_snapshot(ns, vd, &s, err);
	if (rc)
		return rc;
	if (idx >= s->nnodes) {
		rc = ENOENT;
		goto out;
	}
	if (s->nodes[idx].file < 0) {
		rc = want ? ENODATA : 0;
		if (llen)
			*llen = 0;
		goto out;
	}
	f = &s->files[s->nodes[idx].file];
	a[na].name = "user.lakemount.table";
	snprintf(a[na++].value, sizeof(a[0].value), "%s", lm_table_name(vd->tnode->table));
	a[na].name = "user.lakemount.version";
	snprintf(a[na++].value, sizeof(a[0].value), "%s", vd->name);
	if (f->flags & LM_FILE_HAS_DV) {
		a[na].name = "user.lakemount.deleted_rows";
		if (f->deleted_rows >= 0)
			snprintf(a[na++].value, sizeof(a[0].value), "%" PRId64, f->deleted_rows);
		else
			snprintf(a[na++].value, sizeof(a[0].value), "unknown");
	}
	if (!want) {
		for (size_t i = 0; i < na; i++) {
			size_t l = strlen(a[i].name) + 1;

			if (lsize && off + l <= lsize)
				memcpy(list + off, a[i].name, l);
			else if (lsize) {
				rc = ERANGE;
				goto out;
			}
			off += l;
		}
		*llen = off;
		goto out;
	}
	rc = ENODATA;
	for (size_t i = 0; i < na; i++) {
		size_t l;

		if (strcmp(a[i].name, want))
			continue;
		l = strlen(a[i].value);
		*vlen = l;
		rc = 0;
		if (vsize && l > vsize)
			rc = ERANGE;
		else if (vsize)
			memcpy(val, a[i].value, l);
		break;
	}
out:
	lm_snapshot_unref(s);
	return rc;
}

int lm_ns_listxattr(struct lm_ns *ns, uint64_t ino, char *list, size_t size, size_t *len,
		    struct lm_err *err)
{
	*len = 0;
	if (!(ino >> 32))
		return 0;
	return snap_xattrs(ns, ino, list, size, len, NULL, NULL, 0, NULL, err);
}

int lm_ns_getxattr(struct lm_ns *ns, uint64_t ino, const char *name, char *val, size_t size,
		   size_t *len, struct lm_err *err)
{
	*len = 0;
	if (!(ino >> 32))
		return ENODATA;
	return snap_xattrs(ns, ino, NULL, 0, NULL, name, val, size, len, err);
}

/* ---------- life cycle ---------- */

int lm_ns_new(struct lm_store *store, const struct lm_ns_opts *opts, struct lm_ns **out,
	      struct lm_err *err)
{
	struct lm_ns *ns = calloc(1, sizeof(*ns));
	struct node *root;
	int rc;

	if (!ns)
		return lm_err_set(err, ENOMEM, "out of memory");
	ns->store = store;
	ns->opts = *opts;
	ns->start_ms = lm_now_ms();
	{
		struct lm_reader_config rc_cfg;

		lm_reader_config_init(&rc_cfg);
		if (opts->max_memory)
			rc_cfg.max_memory = opts->max_memory;
		rc = lm_reader_pool_new(&rc_cfg, &ns->readers, err);
		if (rc) {
			free(ns);
			return rc;
		}
	}
	pthread_rwlock_init(&ns->reg_lock, NULL);
	ns->cap = 1024;
	ns->nodes = calloc(ns->cap, sizeof(*ns->nodes));
	if (!ns->nodes) {
		lm_reader_pool_free(ns->readers);
		free(ns);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	ns->nnodes = 1;   /* ino 0 unused */
	root = reg_intern(ns, 0, "", K_DIR_UNKNOWN, "");
	if (!root || root->ino != LM_NS_ROOT_INO) {
		lm_ns_free(ns);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	rc = classify(ns, root, err);
	if (rc) {
		lm_ns_free(ns);
		return rc;
	}
	*out = ns;
	return 0;
}

void lm_ns_set_metacache(struct lm_ns *ns, struct lm_metacache *mc)
{
	ns->opts.meta = mc;
}

void lm_ns_expire(struct lm_ns *ns)
{
	pthread_rwlock_rdlock(&ns->reg_lock);
	for (size_t i = 1; i < ns->nnodes; i++) {
		struct node *n = ns->nodes[i];

		pthread_mutex_lock(&n->mu);
		n->list_ns = 0;
		n->views_ns = 0;
		pthread_mutex_unlock(&n->mu);
	}
	pthread_rwlock_unlock(&ns->reg_lock);
}

void lm_ns_free(struct lm_ns *ns)
{
	if (!ns)
		return;
	for (size_t i = 1; i < ns->nnodes; i++) {
		struct node *n = ns->nodes[i];

		listing_unref(n->list);
		lm_table_free(n->table);
		free(n->views);
		free(n->by_name);
		free(n->skey);
		lm_snapshot_unref(n->snap);
		free(n->refusal_msg);
		lm_buf_free(&n->gen);
		free(n->name);
		free(n->key);
		pthread_mutex_destroy(&n->mu);
		free(n);
	}
	free(ns->nodes);
	free(ns->idx);
	lm_reader_pool_free(ns->readers);
	pthread_rwlock_destroy(&ns->reg_lock);
	free(ns);
}
