/* forensics.c — Iceberg forensics (the table's forensics op): what storage holds under
 * the table root against what the table's metadata can reach. Owns nothing beyond one
 * call (the result is a struct lm_forensics freed by lm_forensics_free).
 * May call: iceberg/table (ice_table_versions, ice_table_with_meta), iceberg/paths,
 * format/iceberg_meta, format/json, store, arena, util, err.
 *
 * Reachable (the remove_orphan_files definition, made conservative): from every
 * metadata version present (the file lakemount shows as @v<N>; with several files for
 * one number the one the driver picked) and the current metadata file — the metadata
 * files themselves, the files their metadata-logs name, version-hint.text/.txt, the
 * statistics and partition-statistics files they record, and for every snapshot any
 * of them records: its manifest list, its manifests, and every entry of those
 * manifests (data and delete files; an entry with status DELETED names a file without
 * holding it live).
 *
 * Findings (struct lm_forensics, sorted by path):
 *   orphan / recent  present, reachable from nothing (recent: younger than min_age).
 *                    This includes metadata/ objects: a manifest list, a manifest or a
 *                    metadata JSON no version reaches is the leftover of a commit that
 *                    failed (note says which kind). Hidden keys (a component starting
 *                    with '.' or '_': .crc files, _SUCCESS) are never orphans.
 *   removed          a data or delete file live in some snapshot but not in the current
 *                    snapshot nor in any ref's head, still present (what expiring
 *                    snapshots would delete).
 *   missing          a data or delete file live in some snapshot, a manifest list or a
 *                    manifest a snapshot needs, or a statistics file, absent — counting
 *                    only the snapshots the current metadata records (the @snap- views):
 *                    a snapshot only older metadata files record was expired, and
 *                    expiry deletes its files; with the ids of the snapshots that
 *                    reference it. Expired snapshots that cannot be read are not issues,
 *                    and the restore target is always a current-metadata snapshot.
 * Versions: first/last/removed_version are snapshot sequence numbers (0 for every
 * format-v1 snapshot); first/last/removed_snapshot the snapshot ids. Snapshots are put
 * in commit order by (sequence number, timestamp, first appearance).
 * Issues: a metadata version whose file does not parse, a snapshot whose manifest list
 * or manifests cannot be read (refused, with the driver's reason words), and a metadata
 * version number carried by several files (a failed concurrent commit: the file not in
 * use is also an orphan).
 * Cost: every metadata file once, every manifest list once, every distinct manifest
 * once; the rest is linear in (snapshots x manifests per snapshot + entries). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../format/json_scan.h"
#include "iceberg_int.h"
#include "lm/util.h"

enum role {
	R_NONE = 0,      /* nothing names it */
	R_CONTENT,       /* a data or delete file a manifest names */
	R_META,          /* a metadata version's file */
	R_LOGMETA,       /* named by a metadata-log */
	R_HINT,          /* version-hint.text / .txt */
	R_LIST,          /* a manifest list */
	R_MANIFEST,      /* a manifest */
	R_STATS,         /* a statistics file */
};

struct rec {
	const char *path;          /* relative to the table root (arena) */
	uint64_t size;             /* storage size, else the size recorded */
	int64_t mtime_ms;
	bool present;
	bool live;                 /* live in some snapshot's manifests */
	bool named;                /* named by a DELETED entry */
	bool head;                 /* live in the current snapshot or a ref's head */
	bool need;                 /* statistics file the current metadata records */
	uint8_t role;
	int32_t first_o, last_o;   /* snapshot ordinals (commit order), -1 none */
	int32_t man;               /* index into manifests when role is R_MANIFEST, else -1 */
	int32_t pre;               /* index into the prefetched objects, or -1 */
	int32_t last_snap_o;       /* missing: last ordinal appended to snaps */
	int64_t *snaps;            /* missing: referencing snapshot ids (capped) */
	size_t nsnaps, nsnaps_total;
	const char *note;
};

struct man {
	uint32_t rec;
	bool read, ok;
	bool missing_live;         /* some live entry is absent */
	bool head;
	int32_t first_o, last_o;
	uint32_t *live;            /* rec indices of live entries */
	size_t nlive;
	int code;
	const char *word;
	const char *msg;
	const struct snap *pushed_by;   /* the last snapshot that listed it */
};

struct snap {
	int64_t id, seq, ts;
	size_t doc;                /* order of first appearance */
	const char *list;          /* raw manifest list path (arena) or NULL */
	const char **manifests;    /* v1 inline manifests (raw, arena) */
	size_t nmanifests;
	uint32_t *mans;            /* man indices */
	size_t nmans;
	int32_t list_rec;          /* rec of the manifest list, -1 none */
	bool ok, complete, head;
	uint32_t raw_mark;         /* raw scan: last metadata file that listed it */
	bool cur;                  /* recorded by the current metadata (a @snap- view);
				    * else expired: only older metadata files record it */
	int code;
	const char *word, *msg;
};

struct pre_obj {
	char *key;
	size_t cap;
	struct lm_buf buf;
	int rc;
	struct lm_err err;
	bool done;                 /* fetched, bytes not handed over yet */
};

struct vcur {
	int64_t n;                 /* metadata version */
	bool has;
	int64_t id;                /* its current-snapshot-id */
};

struct fx {
	struct lm_table *t;
	struct lm_store *store;
	const char *key;
	struct lm_arena *arena;    /* the result's arena */
	struct rec *r;
	size_t nr, capr;
	uint32_t *tab;             /* open addressing: rec index + 1, 0 empty */
	size_t captab;
	struct man *m;
	size_t nm, capm;
	struct snap *s;
	size_t ns, caps;
	uint32_t *ids;             /* snapshot index by id (until s is sorted) */
	size_t capids;
	char **names;              /* base names under metadata/, sorted */
	size_t nnames, capnames;
	struct ice_roots roots;
	/* raw strings to place once the roots are known */
	const char **logmeta, **stats, **cstats;   /* cstats: the current metadata's */
	size_t nlogmeta, nstats, caplogmeta, capstats, ncstats, capcstats;
	bool have_current;         /* the current metadata parsed */
	struct pre_obj *pre;       /* objects fetched ahead (remote stores) */
	size_t npre, cappre;
	uint64_t pre_bytes;
	uint32_t raw_marks;        /* raw scans so far (struct snap raw_mark) */
	struct vcur *vc;           /* each metadata version's current snapshot */
	size_t nvc, capvc;
	const char **chosen;       /* base names of the metadata versions' files */
	size_t nchosen, capchosen;
	int64_t *heads;            /* current snapshot and refs' heads */
	size_t nheads, capheads;
	bool has_current;
	int64_t current_id;
	struct lm_forensic_issue *iss;
	size_t niss, capiss;
	size_t prefix_len;
	int rc;
	struct lm_err *err;
	const char *unread_note;   /* some snapshot could not be read whole: orphans may be
				    * referenced by what could not be read */
	const char *unread_meta_note;   /* the same for a metadata version */
};

static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * sz);
	if (!np)
		return ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int vcur_push(struct fx *x, int64_t n, bool has, int64_t id)
{
	if (n < 0)
		return 0;
	if (grow((void **)&x->vc, &x->capvc, x->nvc + 1, sizeof(*x->vc)))
		return ENOMEM;
	x->vc[x->nvc].n = n;
	x->vc[x->nvc].has = has;
	x->vc[x->nvc++].id = id;
	return 0;
}

/* ---------- path records ---------- */

static int tab_grow(struct fx *x)
{
	size_t nc = x->captab ? x->captab * 2 : 4096;
	uint32_t *nt = calloc(nc, sizeof(*nt));

	if (!nt)
		return ENOMEM;
	for (size_t i = 0; i < x->nr; i++) {
		size_t j = lm_hash64(x->r[i].path, strlen(x->r[i].path)) & (nc - 1);

		while (nt[j])
			j = (j + 1) & (nc - 1);
		nt[j] = (uint32_t)i + 1;
	}
	free(x->tab);
	x->tab = nt;
	x->captab = nc;
	return 0;
}

/* The record of path (created absent when new); -1 on ENOMEM. */
static ssize_t rec_get(struct fx *x, const char *path, bool create)
{
	size_t j;

	if (!x->captab || (x->nr + 1) * 2 > x->captab) {
		if (tab_grow(x))
			return -1;
	}
	j = lm_hash64(path, strlen(path)) & (x->captab - 1);
	while (x->tab[j]) {
		struct rec *r = &x->r[x->tab[j] - 1];

		if (!strcmp(r->path, path))
			return (ssize_t)x->tab[j] - 1;
		j = (j + 1) & (x->captab - 1);
	}
	if (!create)
		return -2;
	if (x->nr >= UINT32_MAX - 1 || grow((void **)&x->r, &x->capr, x->nr + 1, sizeof(*x->r)))
		return -1;
	memset(&x->r[x->nr], 0, sizeof(x->r[x->nr]));
	x->r[x->nr].path = lm_arena_strdup(x->arena, path);
	if (!x->r[x->nr].path)
		return -1;
	x->r[x->nr].first_o = x->r[x->nr].last_o = x->r[x->nr].last_snap_o = -1;
	x->r[x->nr].man = -1;
	x->r[x->nr].pre = -1;
	x->tab[j] = (uint32_t)x->nr + 1;
	return (ssize_t)x->nr++;
}

static const char *keep(struct fx *x, const char *s)
{
	return s ? lm_arena_strdup(x->arena, s) : NULL;
}

static int issue(struct fx *x, const char *kind, int64_t version, int64_t snapshot,
		 const char *reason, const char *file, const char *msg)
{
	struct lm_forensic_issue *i;

	if (grow((void **)&x->iss, &x->capiss, x->niss + 1, sizeof(*x->iss)))
		return lm_err_set(x->err, ENOMEM, "out of memory");
	i = &x->iss[x->niss++];
	i->kind = kind;
	i->version = version;
	i->snapshot = snapshot;
	i->reason = reason ? keep(x, reason) : NULL;
	i->file = keep(x, file);
	i->msg = keep(x, msg);
	if ((reason && !i->reason) || (file && !i->file) || (msg && !i->msg))
		return lm_err_set(x->err, ENOMEM, "out of memory");
	return 0;
}

/* ---------- storage listing ---------- */

static int list_cb(void *ud, const struct lm_list_entry *e)
{
	struct fx *x = ud;
	const char *rel;
	ssize_t i;

	if (e->is_prefix || strlen(e->key) <= x->prefix_len)
		return 0;
	rel = e->key + x->prefix_len;
	i = rec_get(x, rel, true);
	if (i < 0) {
		x->rc = ENOMEM;
		return 1;
	}
	x->r[i].present = true;
	x->r[i].size = e->info.size;
	x->r[i].mtime_ms = e->info.mtime_ms;
	if (!strncmp(rel, "metadata/", 9) && rel[9] && !strchr(rel + 9, '/')) {
		char *d = strdup(rel + 9);

		if (!d || grow((void **)&x->names, &x->capnames, x->nnames + 1, sizeof(*x->names))) {
			free(d);
			x->rc = ENOMEM;
			return 1;
		}
		x->names[x->nnames++] = d;
	}
	if (x->t->progress && x->nr % 4096 == 0)
		x->t->progress(x->t->progress_ud, "listing", x->nr, 0);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_storage(struct fx *x)
{
	size_t kl = strlen(x->key);
	char *prefix = malloc(kl + 2);
	int rc;

	if (!prefix)
		return lm_err_set(x->err, ENOMEM, "out of memory");
	memcpy(prefix, x->key, kl);
	if (kl && x->key[kl - 1] != '/')
		prefix[kl++] = '/';
	prefix[kl] = '\0';
	x->prefix_len = kl;
	rc = lm_store_list(x->store, prefix, NULL, 0, list_cb, x, x->err);
	free(prefix);
	if (x->rc)
		rc = lm_err_set(x->err, x->rc, "out of memory");
	else if (rc)
		lm_err_prefix(x->err, "table %s: listing the table root: ", lm_table_name(x->t));
	if (!rc && x->nnames)
		qsort(x->names, x->nnames, sizeof(*x->names), str_cmp);
	return rc;
}

/* ---------- metadata versions ---------- */

static int push_str(struct fx *x, const char ***v, size_t *n, size_t *cap, const char *s)
{
	const char *k = keep(x, s);

	if (!k || grow((void **)v, cap, *n + 1, sizeof(**v)))
		return ENOMEM;
	(*v)[(*n)++] = k;
	return 0;
}

static int stats_paths(struct fx *x, const struct lm_iceberg_meta *m, const char *member,
		       bool cur)
{
	const struct lm_json *a = lm_json_get(m->root, member);

	if (!a || a->type != LM_JSON_ARRAY)
		return 0;
	for (uint32_t i = 0; i < a->n; i++) {
		const char *p = lm_json_str(lm_json_get(&a->u.kids[i], "statistics-path"));

		if (p && push_str(x, &x->stats, &x->nstats, &x->capstats, p))
			return ENOMEM;
		if (p && cur && push_str(x, &x->cstats, &x->ncstats, &x->capcstats, p))
			return ENOMEM;
	}
	return 0;
}

/* Snapshot ids seen (open addressing: index + 1, 0 empty), filled while collecting. */
static uint64_t id_hash(int64_t id)
{
	return lm_hash64(&id, sizeof(id));
}

static int snap_find(const struct fx *x, int64_t id)
{
	size_t j;

	if (!x->capids)
		return -1;
	for (j = id_hash(id) & (x->capids - 1); x->ids[j]; j = (j + 1) & (x->capids - 1))
		if (x->s[x->ids[j] - 1].id == id)
			return (int)x->ids[j] - 1;
	return -1;
}

/* Index snapshot x->s[i] by id (x->s[i].id set). */
static int snap_index(struct fx *x, size_t i)
{
	size_t j;

	if ((i + 1) * 2 > x->capids) {
		size_t nc = x->capids ? x->capids * 2 : 1024;
		uint32_t *nt = calloc(nc, sizeof(*nt));

		if (!nt)
			return ENOMEM;
		for (size_t k = 0; k < i; k++) {
			for (j = id_hash(x->s[k].id) & (nc - 1); nt[j]; j = (j + 1) & (nc - 1))
				;
			nt[j] = (uint32_t)k + 1;
		}
		free(x->ids);
		x->ids = nt;
		x->capids = nc;
	}
	for (j = id_hash(x->s[i].id) & (x->capids - 1); x->ids[j]; j = (j + 1) & (x->capids - 1))
		;
	x->ids[j] = (uint32_t)i + 1;
	return 0;
}

/* ice_table_with_meta callback: copy out what the walk needs (the table's lock is
 * held: no I/O, no calls into the table). */
static int take_meta(void *ud, const struct lm_iceberg_meta *m, const struct ice_version_desc *d,
		     struct lm_err *err)
{
	struct fx *x = ud;
	int rc = 0;

	(void)err;
	if (push_str(x, &x->chosen, &x->nchosen, &x->capchosen, d->file) ||
	    ice_roots_add(&x->roots, m->location) ||
	    vcur_push(x, d->n, m->has_current, m->current_snapshot_id))
		return ENOMEM;
	for (size_t i = 0; i < m->nmetadata_log && !rc; i++)
		rc = push_str(x, &x->logmeta, &x->nlogmeta, &x->caplogmeta, m->metadata_log[i].file);
	if (!rc)
		rc = stats_paths(x, m, "statistics", d->current);
	if (!rc)
		rc = stats_paths(x, m, "partition-statistics", d->current);
	if (d->current) {
		x->have_current = true;
		x->has_current = m->has_current;
		x->current_id = m->current_snapshot_id;
		x->nheads = 0;
		if (m->has_current && grow((void **)&x->heads, &x->capheads, 1, sizeof(*x->heads)))
			return ENOMEM;
		if (m->has_current)
			x->heads[x->nheads++] = m->current_snapshot_id;
		for (size_t i = 0; i < m->nrefs && !rc; i++) {
			rc = grow((void **)&x->heads, &x->capheads, x->nheads + 1, sizeof(*x->heads));
			if (!rc)
				x->heads[x->nheads++] = m->refs[i].snapshot_id;
		}
	}
	/* Snapshots: by id, over every metadata version (the first to record one wins). */
	for (size_t i = 0; i < m->nsnapshots && !rc; i++) {
		const struct lm_iceberg_snapshot *s = &m->snapshots[i];
		struct snap *n;

		int have = snap_find(x, s->id);

		if (have >= 0) {
			x->s[have].cur = x->s[have].cur || d->current;
			continue;
		}
		if (grow((void **)&x->s, &x->caps, x->ns + 1, sizeof(*x->s)))
			return ENOMEM;
		n = &x->s[x->ns];
		memset(n, 0, sizeof(*n));
		n->id = s->id;
		n->cur = d->current;
		n->seq = s->seq;
		n->ts = s->timestamp_ms;
		n->doc = x->ns;
		n->list_rec = -1;
		if (s->manifest_list && !(n->list = keep(x, s->manifest_list)))
			return ENOMEM;
		if (s->nmanifests) {
			n->manifests = lm_arena_alloc(x->arena, s->nmanifests * sizeof(*n->manifests));
			if (!n->manifests)
				return ENOMEM;
			for (size_t k = 0; k < s->nmanifests; k++)
				if (!(n->manifests[k] = keep(x, s->manifests[k])))
					return ENOMEM;
			n->nmanifests = s->nmanifests;
		}
		if (snap_index(x, x->ns))
			return ENOMEM;
		x->ns++;
	}
	return rc;
}

/* What an older metadata file adds when every snapshot it records is known already: its
 * metadata-log names, statistics paths and location. Read by a strict scan that builds
 * no tree (much cheaper than the exact parse: with every metadata file kept, their total
 * grows as commits²): the whole document must be valid JSON, a top-level object with a
 * format-version of 1 to 3, and every key the scan reads must appear once, of the
 * expected type, without escapes. Anything else — a snapshot id not seen yet or seen
 * twice in the file, gzip — and the file takes the exact parse (which reports it).
 * Returns 0 when taken, 1 to parse, ENOMEM. */
struct raw_str {
	const char *p;
	size_t n;
};

struct raw_list {
	struct raw_str *v;
	size_t n, cap;
};

struct raw_doc {
	struct raw_str loc;
	struct raw_list log, stats;   /* metadata-log names, statistics paths */
	bool has_cur;
	int64_t cur;
};

static bool raw_key_is(const char *raw, size_t len, const char *k)
{
	return strlen(k) == len && !memcmp(raw, k, len);
}

static int raw_push(struct raw_list *l, const char *p, size_t n)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct raw_str *nv = realloc(l->v, nc * sizeof(*nv));

		if (!nv)
			return ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n].p = p;
	l->v[l->n++].n = n;
	return 0;
}

/* An array of objects; from each, the string member `member` (pushed) or, with ids, the
 * integer member "snapshot-id" (known, once per file). 0 ok, 1 undecided, ENOMEM. */
static int raw_array(struct fx *x, struct lm_jscan *s, const char *member, bool ids,
		     struct raw_list *out, uint32_t mark)
{
	if (!lm_jscan_eat(s, '['))
		return 1;
	if (lm_jscan_eat(s, ']'))
		return 0;
	do {
		bool seen = false;

		if (!lm_jscan_eat(s, '{'))
			return 1;
		if (lm_jscan_eat(s, '}'))
			continue;
		do {
			const char *k, *v;
			size_t kl, vl;
			bool esc;

			if (!lm_jscan_string(s, &k, &kl, &esc) || esc || !lm_jscan_eat(s, ':'))
				return 1;
			if (!raw_key_is(k, kl, ids ? "snapshot-id" : member)) {
				if (!lm_jscan_skip(s))
					return 1;
				continue;
			}
			if (seen)
				return 1;
			seen = true;
			if (ids) {
				int64_t id;
				int i;

				if (!lm_jscan_int(s, &id) || (i = snap_find(x, id)) < 0 ||
				    x->s[i].raw_mark == mark)
					return 1;
				x->s[i].raw_mark = mark;
			} else {
				if (!lm_jscan_string(s, &v, &vl, &esc) || esc)
					return 1;
				if (raw_push(out, v, vl))
					return ENOMEM;
			}
		} while (lm_jscan_eat(s, ','));
		if (!lm_jscan_eat(s, '}'))
			return 1;
	} while (lm_jscan_eat(s, ','));
	return lm_jscan_eat(s, ']') ? 0 : 1;
}

static int raw_scan(struct fx *x, const char *b, size_t n, struct raw_doc *d, uint32_t mark)
{
	static const char *const once[] = { "format-version", "location", "current-snapshot-id",
					    "snapshots", "metadata-log", "statistics",
					    "partition-statistics" };
	struct lm_jscan s = { .p = b, .end = b + n, .depth = 0 };
	bool seen[7] = { false };
	bool fv = false;
	int rc;

	if (n && (unsigned char)b[0] == 0x1f)
		return 1;                 /* gzip */
	if (!lm_jscan_eat(&s, '{') || lm_jscan_eat(&s, '}'))
		return 1;
	do {
		const char *k, *v;
		size_t kl, vl, w;
		bool esc;
		int64_t i64;

		if (!lm_jscan_string(&s, &k, &kl, &esc) || esc || !lm_jscan_eat(&s, ':'))
			return 1;
		for (w = 0; w < 7 && !raw_key_is(k, kl, once[w]); w++)
			;
		if (w == 7) {
			if (!lm_jscan_skip(&s))
				return 1;
			continue;
		}
		if (seen[w])
			return 1;
		seen[w] = true;
		switch (w) {
		case 0:
			if (!lm_jscan_int(&s, &i64) || i64 < 1 || i64 > 3)
				return 1;
			fv = true;
			break;
		case 1:
			if (!lm_jscan_string(&s, &v, &vl, &esc) || esc)
				return 1;
			d->loc.p = v;
			d->loc.n = vl;
			break;
		case 2:
			if (lm_jscan_null(&s))
				break;
			if (!lm_jscan_int(&s, &i64))
				return 1;
			d->has_cur = i64 >= 0;
			d->cur = i64;
			break;
		case 3:
			if ((rc = raw_array(x, &s, NULL, true, NULL, mark)))
				return rc;
			break;
		case 4:
			if ((rc = raw_array(x, &s, "metadata-file", false, &d->log, mark)))
				return rc;
			break;
		default:
			if ((rc = raw_array(x, &s, "statistics-path", false, &d->stats, mark)))
				return rc;
		}
	} while (lm_jscan_eat(&s, ','));
	if (!lm_jscan_eat(&s, '}') || lm_jscan_peek(&s) || !fv)
		return 1;
	return 0;
}

static int raw_take(struct fx *x, const struct ice_version_desc *v, const char *b, size_t n)
{
	struct raw_doc d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = raw_scan(x, b, n, &d, ++x->raw_marks);
	for (size_t i = 0; !rc && i < d.log.n + d.stats.n; i++) {
		const struct raw_str *r = i < d.log.n ? &d.log.v[i] : &d.stats.v[i - d.log.n];
		char *sv = lm_strndup(r->p, r->n);

		rc = !sv ? ENOMEM :
		     i < d.log.n ? push_str(x, &x->logmeta, &x->nlogmeta, &x->caplogmeta, sv) :
		     push_str(x, &x->stats, &x->nstats, &x->capstats, sv);
		free(sv);
	}
	if (!rc && d.loc.p) {
		char *sv = lm_strndup(d.loc.p, d.loc.n);

		rc = !sv ? ENOMEM : ice_roots_add(&x->roots, sv);
		free(sv);
	}
	if (!rc)
		rc = push_str(x, &x->chosen, &x->nchosen, &x->capchosen, v->file) ? ENOMEM :
		     vcur_push(x, v->n, d.has_cur, d.cur);
	free(d.log.v);
	free(d.stats.v);
	return rc;
}

/* Try the raw scan on metadata/<file>: 0 taken, 1 parse it, another code on failure. */
static int try_raw(struct fx *x, const struct ice_version_desc *v)
{
	const char *file = v->file;
	char *dir = lm_path_join(x->key, "metadata/");
	char *key = dir ? lm_path_join(dir, file) : NULL;
	struct lm_buf b;
	struct lm_err e2;
	int rc;

	free(dir);
	if (!key)
		return ENOMEM;
	lm_buf_init(&b, ICE_MAX_METADATA);
	lm_err_init(&e2);
	rc = lm_store_get_all(x->store, key, ICE_MAX_METADATA, &b, NULL, &e2);
	free(key);
	if (rc) {
		lm_buf_free(&b);
		return 1;                 /* the parse reports it properly */
	}
	rc = raw_take(x, v, b.data ? b.data : "", b.len);
	lm_buf_free(&b);
	return rc;
}

static int take_version(struct fx *x, const struct ice_version_desc *v, bool numbered)
{
	struct lm_err e2;
	int rc;

	lm_err_init(&e2);
	if (numbered && !v->current) {
		rc = try_raw(x, v);
		if (rc != 1) {
			if (rc)
				lm_err_set(x->err, rc, "out of memory");
			return rc;
		}
	}
	rc = ice_table_with_meta(x->t, numbered, v->n, take_meta, x, &e2);
	if (rc == ENOMEM || (rc && !e2.reason && (numbered || rc != ENOENT))) {
		*x->err = e2;         /* storage trouble: cannot run */
		return rc;
	}
	if (!rc || (!numbered && rc == ENOENT))
		return 0;
	/* the file is a version's even when it does not parse */
	if ((numbered && push_str(x, &x->chosen, &x->nchosen, &x->capchosen, v->file)) ||
	    issue(x, "refused", numbered ? v->n : -1, -1, e2.reason, NULL, e2.msg))
		return lm_err_set(x->err, ENOMEM, "out of memory");
	if (!x->unread_meta_note) {
		char msg[LM_ERR_MSG];

		snprintf(msg, sizeof(msg), "never referenced by what could be read (metadata "
			 "version %" PRId64 " cannot be read and may reference it)", v->n);
		if (!(x->unread_meta_note = keep(x, msg)))
			return lm_err_set(x->err, ENOMEM, "out of memory");
	}
	return 0;
}

/* Every metadata version: the current one first, then the others newest first (an older
 * file recording only snapshots seen already takes the raw scan). */
static int load_versions(struct fx *x)
{
	struct ice_version_desc *v = NULL, none;
	size_t nv = 0, cur = SIZE_MAX;
	int rc;

	rc = ice_table_versions(x->t, &v, &nv, x->err);
	if (rc)
		goto out;
	for (size_t i = 0; i < nv; i++)
		if (v[i].current)
			cur = i;
	memset(&none, 0, sizeof(none));
	if (cur == SIZE_MAX)        /* a current file without a version number, or none */
		rc = take_version(x, &none, false);
	else
		rc = take_version(x, &v[cur], true);
	for (size_t i = nv; i > 0 && !rc; i--)
		if (i - 1 != cur)
			rc = take_version(x, &v[i - 1], true);
out:
	free(v);
	return rc;
}

/* ---------- reading manifests ---------- */

/* raw → record (created absent when new); 1 when raw cannot be placed inside the
 * table (msg in e2), -1 on ENOMEM. */
static ssize_t place(struct fx *x, const char *raw, struct lm_err *e2)
{
	char *rel = NULL;
	ssize_t i;
	int rc = ice_relocate(&x->roots, x->store, x->key, raw, &rel, e2);

	if (rc == ENOMEM)
		return -1;
	if (rc)
		return -3;
	i = rec_get(x, rel, true);
	free(rel);
	return i;
}

static int fetch(struct fx *x, const struct rec *r, size_t cap, struct lm_buf *b, struct lm_err *e2)
{
	char *key;
	int rc;

	if (r->pre >= 0 && x->pre[r->pre].done) {   /* fetched ahead: hand the bytes over */
		struct pre_obj *o = &x->pre[r->pre];

		rc = o->rc;
		if (rc) {
			*e2 = o->err;
		} else {
			lm_buf_free(b);
			*b = o->buf;
			lm_buf_init(&o->buf, 0);
		}
		o->done = false;
		return rc;
	}
	key = lm_path_join(x->key, r->path);
	if (!key)
		return ENOMEM;
	rc = lm_store_get_all(x->store, key, cap, b, NULL, e2);
	free(key);
	return rc;
}

/* ---------- fetching ahead (remote stores) ----------
 * On S3 every manifest list and manifest is a round trip; walking thousands of
 * snapshots one GET at a time takes minutes. Before the walk, the manifest lists and
 * then the manifests they name are fetched by a few threads (bytes only, up to
 * PRE_BYTES in all; the rest is fetched on demand). The walk itself is unchanged. */
#define PRE_THREADS 8
#define PRE_BYTES ((uint64_t)1 << 30)

struct pre_run {
	struct fx *x;
	size_t lo, hi;             /* x->pre[lo..hi) */
	size_t next;
	pthread_mutex_t mu;
};

static void *pre_worker(void *ud)
{
	struct pre_run *p = ud;

	for (;;) {
		struct pre_obj *o;
		size_t i;

		pthread_mutex_lock(&p->mu);
		i = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->hi)
			return NULL;
		o = &p->x->pre[i];
		lm_err_init(&o->err);
		o->rc = lm_store_get_all(p->x->store, o->key, o->cap, &o->buf, NULL, &o->err);
		o->done = true;
	}
}

static void pre_fetch(struct fx *x, size_t lo, size_t hi)
{
	struct pre_run p = { .x = x, .lo = lo, .hi = hi, .next = lo };
	pthread_t th[PRE_THREADS];
	int n = 0;

	pthread_mutex_init(&p.mu, NULL);
	for (; n < PRE_THREADS && (size_t)n < hi - lo; n++)
		if (pthread_create(&th[n], NULL, pre_worker, &p))
			break;
	pre_worker(&p);            /* this thread helps too */
	for (int k = 0; k < n; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&p.mu);
}

/* Queue record k (present, not queued yet) for fetching ahead; 0 or ENOMEM. */
static int pre_add(struct fx *x, ssize_t k, size_t cap)
{
	struct rec *r = &x->r[k];
	struct pre_obj *o;

	if (k < 0 || !r->present || r->pre >= 0 || x->pre_bytes + r->size > PRE_BYTES)
		return 0;
	if (grow((void **)&x->pre, &x->cappre, x->npre + 1, sizeof(*x->pre)))
		return ENOMEM;
	o = &x->pre[x->npre];
	memset(o, 0, sizeof(*o));
	o->key = lm_path_join(x->key, r->path);
	if (!o->key)
		return ENOMEM;
	o->cap = cap;
	lm_buf_init(&o->buf, cap);
	r->pre = (int32_t)x->npre++;
	x->pre_bytes += r->size;
	return 0;
}

/* Manifest lists, then the manifests they name. Placement errors are left to the
 * walk (it reports them); only ENOMEM fails here. */
static int prefetch(struct fx *x)
{
	size_t lo = x->npre;

	for (size_t i = 0; i < x->ns; i++) {
		ssize_t k;

		if (!x->s[i].list)
			continue;
		k = place(x, x->s[i].list, NULL);
		if (k == -1 || pre_add(x, k, ICE_MAX_MANIFEST_LIST))
			return ENOMEM;
	}
	if (x->npre > lo)
		pre_fetch(x, lo, x->npre);
	lo = x->npre;
	for (size_t i = 0; i < x->ns; i++) {
		struct lm_iceberg_manifest_list ml;
		const struct pre_obj *o;
		ssize_t k;

		for (size_t j = 0; j < x->s[i].nmanifests; j++) {
			k = place(x, x->s[i].manifests[j], NULL);
			if (k == -1 || pre_add(x, k, ICE_MAX_MANIFEST))
				return ENOMEM;
		}
		if (!x->s[i].list || (k = place(x, x->s[i].list, NULL)) < 0 || x->r[k].pre < 0)
			continue;
		o = &x->pre[x->r[k].pre];
		if (!o->done || o->rc)
			continue;
		lm_iceberg_manifest_list_init(&ml);
		if (!lm_iceberg_manifest_list_parse(o->buf.data, o->buf.len, NULL, &ml, NULL)) {
			for (size_t j = 0; j < ml.n; j++) {
				ssize_t q = place(x, ml.v[j].path, NULL);

				if (q == -1 || pre_add(x, q, ICE_MAX_MANIFEST)) {
					lm_iceberg_manifest_list_free(&ml);
					return ENOMEM;
				}
			}
		}
		lm_iceberg_manifest_list_free(&ml);
	}
	if (x->npre > lo)
		pre_fetch(x, lo, x->npre);
	return 0;
}

static void man_fail(struct fx *x, struct man *m, int code, const char *word, const char *path,
		     const char *why)
{
	char msg[LM_ERR_MSG];

	snprintf(msg, sizeof(msg), "manifest %.200s: %.280s", path, why);
	m->ok = false;
	m->code = code;
	m->word = word;
	m->msg = keep(x, msg);
}

/* Read manifest m once (from: the list entry that named it first, or NULL). */
static int man_read(struct fx *x, struct man *m, const struct lm_iceberg_manifest_file *from)
{
	struct lm_iceberg_manifest mf;
	struct lm_buf b;
	struct lm_err e2;
	const char *path = x->r[m->rec].path;
	int rc;

	m->read = true;
	m->ok = true;
	lm_iceberg_manifest_init(&mf);
	lm_buf_init(&b, ICE_MAX_MANIFEST);
	lm_err_init(&e2);
	if (!x->r[m->rec].present) {
		man_fail(x, m, LM_EMISSING, "missing-manifest", path, "missing");
		rc = 0;
		goto out;
	}
	rc = fetch(x, &x->r[m->rec], ICE_MAX_MANIFEST, &b, &e2);
	if (rc == ENOENT || rc == LM_EMISSING || rc == LM_ETOOBIG) {
		man_fail(x, m, rc, rc == LM_ETOOBIG ? "too-big" : "missing-manifest", path,
			 rc == LM_ETOOBIG ? "too big" : "missing");
		rc = 0;
		goto out;
	}
	if (rc) {
		*x->err = e2;
		lm_err_prefix(x->err, "table %s: manifest %s: ", lm_table_name(x->t), path);
		goto out;
	}
	rc = lm_iceberg_manifest_parse(b.data, b.len, from, NULL, &mf, &e2);
	if (rc == ENOMEM)
		goto out;
	if (rc) {
		man_fail(x, m, rc, e2.reason ? e2.reason : "invalid-avro", path, e2.msg);
		rc = 0;
		goto out;
	}
	m->live = malloc((mf.n ? mf.n : 1) * sizeof(*m->live));
	if (!m->live) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < mf.n; i++) {
		const struct lm_iceberg_entry *e = &mf.v[i];
		ssize_t k;

		lm_err_init(&e2);
		k = place(x, e->path, &e2);
		if (k == -1) {
			rc = ENOMEM;
			goto out;
		}
		if (k < 0) {
			man_fail(x, m, LM_EESCAPE, "path-escape", path, e2.msg);
			continue;
		}
		if (x->r[k].role == R_NONE)
			x->r[k].role = R_CONTENT;
		if (e->status == LM_ICEBERG_DELETED) {
			x->r[k].named = true;
			continue;
		}
		if (!x->r[k].present) {
			x->r[k].size = (uint64_t)e->size;
			m->missing_live = true;
		}
		if (e->content != LM_ICEBERG_FILE_DATA && !x->r[k].note)
			x->r[k].note = e->content == LM_ICEBERG_FILE_EQ_DELETES ? "equality delete file"
									  : "position delete file";
		x->r[k].live = true;
		m->live[m->nlive++] = (uint32_t)k;
	}
out:
	lm_buf_free(&b);
	lm_iceberg_manifest_free(&mf);
	if (rc == ENOMEM)
		lm_err_set(x->err, ENOMEM, "out of memory");
	return rc;
}

/* The manifest at raw, read once; *mi its index, or -1 (snapshot refused: s->msg). */
static int man_get(struct fx *x, struct snap *s, const char *raw,
		   const struct lm_iceberg_manifest_file *from, ssize_t *mi)
{
	struct lm_err e2;
	ssize_t k;
	int rc = 0;

	*mi = -1;
	lm_err_init(&e2);
	k = place(x, raw, &e2);
	if (k == -1)
		return lm_err_set(x->err, ENOMEM, "out of memory");
	if (k < 0) {
		char msg[LM_ERR_MSG];

		snprintf(msg, sizeof(msg), "manifest %.400s", e2.msg);
		s->ok = false;
		s->code = LM_EESCAPE;
		s->word = "path-escape";
		s->msg = keep(x, msg);
		return 0;
	}
	if (x->r[k].man < 0) {
		struct man *m;

		if (grow((void **)&x->m, &x->capm, x->nm + 1, sizeof(*x->m)))
			return lm_err_set(x->err, ENOMEM, "out of memory");
		m = &x->m[x->nm];
		memset(m, 0, sizeof(*m));
		m->rec = (uint32_t)k;
		m->first_o = m->last_o = -1;
		x->r[k].man = (int32_t)x->nm++;
		x->r[k].role = R_MANIFEST;
		x->r[k].note = "manifest";
		rc = man_read(x, m, from);
	}
	*mi = x->r[k].man;
	return rc;
}

static int snap_push_man(struct fx *x, struct snap *s, size_t mi)
{
	if (x->m[mi].pushed_by == s)
		return 0;          /* listed twice by this snapshot */
	x->m[mi].pushed_by = s;
	if (!(s->nmans & (s->nmans - 1))) {   /* 0, 1, 2, 4, ...: double */
		uint32_t *nm = realloc(s->mans, (s->nmans ? s->nmans * 2 : 1) * sizeof(*s->mans));

		if (!nm)
			return lm_err_set(x->err, ENOMEM, "out of memory");
		s->mans = nm;
	}
	s->mans[s->nmans++] = (uint32_t)mi;
	return 0;
}

static int snap_walk(struct fx *x, struct snap *s)
{
	struct lm_iceberg_manifest_list ml;
	struct lm_buf b;
	struct lm_err e2;
	char msg[LM_ERR_MSG];
	int rc = 0;

	s->ok = true;
	lm_iceberg_manifest_list_init(&ml);
	lm_buf_init(&b, ICE_MAX_MANIFEST_LIST);
	lm_err_init(&e2);
	if (s->list) {
		ssize_t k = place(x, s->list, &e2);
		struct rec *r;

		if (k == -1) {
			rc = lm_err_set(x->err, ENOMEM, "out of memory");
			goto out;
		}
		if (k < 0) {
			snprintf(msg, sizeof(msg), "manifest list %.400s", e2.msg);
			s->ok = false;
			s->code = LM_EESCAPE;
			s->word = "path-escape";
			s->msg = keep(x, msg);
			goto out;
		}
		s->list_rec = (int32_t)k;
		r = &x->r[k];
		r->role = R_LIST;
		r->note = "manifest list";
		if (!r->present) {
			snprintf(msg, sizeof(msg), "manifest list %.400s is missing", r->path);
			s->ok = false;
			s->code = LM_EMISSING;
			s->word = "missing-manifest-list";
			s->msg = keep(x, msg);
			goto out;
		}
		rc = fetch(x, r, ICE_MAX_MANIFEST_LIST, &b, &e2);
		if (rc == ENOENT || rc == LM_EMISSING || rc == LM_ETOOBIG) {
			snprintf(msg, sizeof(msg), "manifest list %.400s: %s", r->path,
				 rc == LM_ETOOBIG ? "too big" : "missing");
			s->ok = false;
			s->code = rc;
			s->word = rc == LM_ETOOBIG ? "too-big" : "missing-manifest-list";
			s->msg = keep(x, msg);
			rc = 0;
			goto out;
		}
		if (rc) {
			*x->err = e2;
			lm_err_prefix(x->err, "table %s: manifest list %s: ", lm_table_name(x->t),
				      r->path);
			goto out;
		}
		rc = lm_iceberg_manifest_list_parse(b.data, b.len, NULL, &ml, &e2);
		if (rc == ENOMEM) {
			lm_err_set(x->err, ENOMEM, "out of memory");
			goto out;
		}
		if (rc) {
			snprintf(msg, sizeof(msg), "manifest list %.200s: %.280s", r->path, e2.msg);
			s->ok = false;
			s->code = rc;
			s->word = e2.reason ? e2.reason : "invalid-avro";
			s->msg = keep(x, msg);
			rc = 0;
			goto out;
		}
		for (size_t i = 0; i < ml.n && !rc; i++) {
			ssize_t mi;

			rc = man_get(x, s, ml.v[i].path, &ml.v[i], &mi);
			if (!rc && mi >= 0)
				rc = snap_push_man(x, s, (size_t)mi);
		}
	} else if (s->nmanifests) {
		for (size_t i = 0; i < s->nmanifests && !rc; i++) {
			ssize_t mi;

			rc = man_get(x, s, s->manifests[i], NULL, &mi);
			if (!rc && mi >= 0)
				rc = snap_push_man(x, s, (size_t)mi);
		}
	} else {
		s->ok = false;
		s->code = LM_EFORMAT;
		s->word = "invalid-metadata";
		s->msg = "records neither a manifest list nor manifests";
	}
out:
	lm_buf_free(&b);
	lm_iceberg_manifest_list_free(&ml);
	return rc;
}

/* ---------- classification ---------- */

static int snap_order(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static void span(struct rec *r, int32_t lo, int32_t hi)
{
	if (lo < 0)
		return;
	if (r->first_o < 0 || lo < r->first_o)
		r->first_o = lo;
	if (hi > r->last_o)
		r->last_o = hi;
}

/* Snapshot o references missing record r: remember its id (capped). */
static int note_ref(struct fx *x, struct rec *r, int32_t o)
{
	if (r->present || r->last_snap_o == o || !x->s[o].cur)
		return 0;
	r->last_snap_o = o;
	r->nsnaps_total++;
	if (r->nsnaps >= LM_FX_MAX_SNAPS)
		return 0;
	if (!r->snaps) {
		r->snaps = lm_arena_alloc(x->arena, LM_FX_MAX_SNAPS * sizeof(*r->snaps));
		if (!r->snaps)
			return lm_err_set(x->err, ENOMEM, "out of memory");
	}
	r->snaps[r->nsnaps++] = x->s[o].id;
	return 0;
}

/* Place the metadata-level names (versions' files, metadata-logs, hints, statistics). */
static int mark_metadata(struct fx *x)
{
	static const char *const hints[] = { "metadata/version-hint.text",
					     "metadata/version-hint.txt" };
	char rel[512];

	for (size_t i = 0; i < x->nchosen; i++) {
		ssize_t k;

		snprintf(rel, sizeof(rel), "metadata/%.500s", x->chosen[i]);
		k = rec_get(x, rel, false);
		if (k >= 0)
			x->r[k].role = R_META;
	}
	for (size_t i = 0; i < 2; i++) {
		ssize_t k = rec_get(x, hints[i], false);

		if (k >= 0)
			x->r[k].role = R_HINT;
	}
	for (size_t i = 0; i < x->nlogmeta; i++) {
		char *relp = NULL;
		ssize_t k;

		if (ice_relocate(&x->roots, x->store, x->key, x->logmeta[i], &relp, NULL))
			continue;      /* an old metadata file elsewhere: nothing to find */
		k = rec_get(x, relp, false);
		free(relp);
		if (k >= 0 && x->r[k].role == R_NONE)
			x->r[k].role = R_LOGMETA;
	}
	for (size_t i = 0; i < x->nstats; i++) {
		struct lm_err e2;
		ssize_t k;

		lm_err_init(&e2);
		k = place(x, x->stats[i], &e2);
		if (k == -1)
			return lm_err_set(x->err, ENOMEM, "out of memory");
		if (k >= 0 && x->r[k].role == R_NONE) {
			x->r[k].role = R_STATS;
			x->r[k].note = "statistics file";
		}
	}
	for (size_t i = 0; i < x->ncstats; i++) {   /* the current metadata needs these */
		char *relp = NULL;
		ssize_t k;

		if (ice_relocate(&x->roots, x->store, x->key, x->cstats[i], &relp, NULL))
			continue;
		k = rec_get(x, relp, false);
		free(relp);
		if (k >= 0 && x->r[k].role == R_STATS)
			x->r[k].need = true;
	}
	return 0;
}

static int learn(struct fx *x)
{
	int rc = 0;

	for (size_t i = 0; i < x->ns && !rc; i++) {
		if (x->s[i].list)
			rc = ice_roots_learn(&x->roots, x->s[i].list, x->names, x->nnames);
		for (size_t k = 0; k < x->s[i].nmanifests && !rc; k++)
			rc = ice_roots_learn(&x->roots, x->s[i].manifests[k], x->names, x->nnames);
	}
	for (size_t i = 0; i < x->nlogmeta && !rc; i++)
		rc = ice_roots_learn(&x->roots, x->logmeta[i], x->names, x->nnames);
	for (size_t i = 0; i < x->nstats && !rc; i++)
		rc = ice_roots_learn(&x->roots, x->stats[i], x->names, x->nnames);
	return rc ? lm_err_set(x->err, ENOMEM, "out of memory") : 0;
}

/* Several metadata files carrying one version number: the ones not in use. */
struct chosen_v {
	int64_t v;
	const char *name;
};

static int cv_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct chosen_v *)a)->v, y = ((const struct chosen_v *)b)->v;

	return x < y ? -1 : x > y;
}

static int duplicates(struct fx *x)
{
	struct chosen_v *cv = malloc((x->nchosen ? x->nchosen : 1) * sizeof(*cv));
	size_t ncv = 0;
	int rc = 0;

	if (!cv)
		return lm_err_set(x->err, ENOMEM, "out of memory");
	for (size_t j = 0; j < x->nchosen; j++) {
		struct lm_iceberg_meta_name cn;

		if (!lm_iceberg_meta_name_parse(x->chosen[j], &cn) && cn.has_version) {
			cv[ncv].v = cn.version;
			cv[ncv++].name = x->chosen[j];
		}
	}
	if (ncv)
		qsort(cv, ncv, sizeof(*cv), cv_cmp);
	for (size_t i = 0; i < x->nnames && !rc; i++) {
		struct lm_iceberg_meta_name nm;
		char rel[512], msg[LM_ERR_MSG];
		const char *inuse = NULL;
		ssize_t k;

		if (lm_iceberg_meta_name_parse(x->names[i], &nm) || !nm.has_version)
			continue;
		snprintf(rel, sizeof(rel), "metadata/%.500s", x->names[i]);
		k = rec_get(x, rel, false);
		if (k < 0 || x->r[k].role == R_META)
			continue;
		{
			struct chosen_v key = { .v = nm.version };
			const struct chosen_v *hit = ncv ? bsearch(&key, cv, ncv, sizeof(*cv), cv_cmp)
							 : NULL;

			if (!hit)
				continue;
			inuse = hit->name;
		}
		snprintf(msg, sizeof(msg),
			 "table %.100s: metadata version %" PRId64 " is written by %.90s and %.90s; "
			 "the first is in use, the second is the leftover of a failed concurrent commit",
			 lm_table_name(x->t), nm.version, inuse, x->names[i]);
		if (issue(x, "duplicate-metadata-version", nm.version, -1, "duplicate-metadata-version",
			  rel, msg)) {
			rc = ENOMEM;
			break;
		}
		snprintf(msg, sizeof(msg), "metadata file: version %" PRId64 " written twice, "
			 "metadata/%.300s is in use (a failed concurrent commit)", nm.version, inuse);
		if (!(x->r[k].note = keep(x, msg)))
			rc = lm_err_set(x->err, ENOMEM, "out of memory");
	}
	free(cv);
	return rc;
}

static const char NOTE_META[] = "metadata file no version uses (a failed commit's leftover?)";
static const char NOTE_LIST[] = "manifest list no snapshot references (a failed commit's leftover?)";

/* Why an unreferenced file is there, as far as can be told. A snapshot that could not be
 * read whole may reference manifests and data files (not manifest lists or metadata
 * files: only metadata names those, and it was read); a metadata version that could not
 * be read may reference anything. */
static const char *orphan_why(const struct fx *x, const struct rec *r);

static const char *orphan_note(const struct rec *r)
{
	struct lm_iceberg_meta_name nm;
	const char *base = strrchr(r->path, '/');
	size_t bl;

	if (r->note)
		return r->note;
	if (strncmp(r->path, "metadata/", 9))
		return NULL;
	base = base ? base + 1 : r->path;
	bl = strlen(base);
	if (!lm_iceberg_meta_name_parse(base, &nm))
		return NOTE_META;
	if (bl > 5 && !strcmp(base + bl - 5, ".avro"))
		return !strncmp(base, "snap-", 5) ? NOTE_LIST
						  : "manifest no snapshot references (a failed commit's leftover?)";
	return "metadata/ object nothing references";
}

static const char *orphan_why(const struct fx *x, const struct rec *r)
{
	const char *n = orphan_note(r);

	if (x->unread_meta_note)
		return x->unread_meta_note;
	if (x->unread_note && n != NOTE_META && n != NOTE_LIST)
		return x->unread_note;
	return n;
}

static int build_result(struct fx *x, struct lm_forensics *fx, int64_t now_ms,
			int64_t min_age_ms)
{
	size_t n = 0;

	fx->f = calloc(x->nr ? x->nr : 1, sizeof(*fx->f));
	if (!fx->f)
		return lm_err_set(x->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < x->nr; i++) {
		const struct rec *r = &x->r[i];
		struct lm_forensic_file *f = &fx->f[n];
		bool owned = r->role != R_NONE && r->role != R_CONTENT;

		memset(f, 0, sizeof(*f));
		f->path = r->path;
		f->size = r->size;
		f->mtime_ms = r->present ? r->mtime_ms : -1;
		f->first_version = f->last_version = f->removed_version = f->removed_ms = -1;
		f->first_snapshot = f->last_snapshot = f->removed_snapshot = -1;
		if (r->first_o >= 0) {
			f->first_version = x->s[r->first_o].seq;
			f->last_version = x->s[r->last_o].seq;
			f->first_snapshot = x->s[r->first_o].id;
			f->last_snapshot = x->s[r->last_o].id;
		}
		f->note = r->note;
		if (!r->present) {
			/* absent: a finding only when something needs it */
			if (r->role == R_STATS ? !r->need : r->nsnaps_total == 0)
				continue;      /* needed by no snapshot of the current metadata:
						* expired snapshots' files go with them */
			f->kind = LM_FX_MISSING;
			f->in_latest = r->head;
			f->snapshots = r->snaps;
			f->nsnapshots = r->nsnaps;
			f->nsnapshots_total = r->nsnaps_total;
			fx->n_missing++;
		} else if (owned) {
			continue;
		} else if (r->live) {
			if (r->head || r->first_o < 0)
				continue;
			f->kind = LM_FX_REMOVED;
			if ((size_t)r->last_o + 1 < x->ns) {
				const struct snap *s = &x->s[r->last_o + 1];

				f->removed_version = s->seq;
				f->removed_snapshot = s->id;
				f->removed_ms = s->ts;
			}
			fx->n_removed++;
		} else if (r->named || (lm_path_hidden(r->path) && r->role == R_NONE)) {
			continue;      /* named by a DELETED entry only, or hidden */
		} else {
			f->kind = now_ms - r->mtime_ms < min_age_ms ? LM_FX_RECENT : LM_FX_ORPHAN;
			f->note = orphan_why(x, r);
			if (f->kind == LM_FX_RECENT)
				fx->n_recent++;
			else
				fx->n_orphan++;
		}
		n++;
	}
	fx->n = n;
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lm_forensic_file *)a)->path,
		      ((const struct lm_forensic_file *)b)->path);
}

static void fx_state_free(struct fx *x)
{
	for (size_t i = 0; i < x->nm; i++)
		free(x->m[i].live);
	for (size_t i = 0; i < x->ns; i++)
		free(x->s[i].mans);
	for (size_t i = 0; i < x->nnames; i++)
		free(x->names[i]);
	free(x->names);
	free(x->m);
	free(x->s);
	free(x->ids);
	free(x->r);
	free(x->tab);
	free(x->logmeta);
	free(x->stats);
	free(x->cstats);
	for (size_t i = 0; i < x->npre; i++) {
		free(x->pre[i].key);
		lm_buf_free(&x->pre[i].buf);
	}
	free(x->pre);
	free(x->vc);
	free(x->chosen);
	free(x->heads);
	free(x->iss);
	ice_roots_free(&x->roots);
}

int lm_iceberg_forensics_run(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			     struct lm_forensics **out, struct lm_err *err)
{
	struct lm_forensics *fx = NULL;
	struct lm_err e0;
	struct fx x;
	int rc;

	*out = NULL;
	if (!err) {
		lm_err_init(&e0);
		err = &e0;
	}
	if (t->fmt != LM_TABLE_ICEBERG)
		return lm_err_set(err, EINVAL, "table %s: not an Iceberg table", lm_table_name(t));
	memset(&x, 0, sizeof(x));
	ice_roots_init(&x.roots);
	x.t = t;
	x.store = t->store;
	x.key = lm_table_key(t);
	x.err = err;
	fx = calloc(1, sizeof(*fx));
	if (!fx) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	lm_arena_init(&fx->arena);
	fx->format = "iceberg";
	fx->latest = fx->restore = fx->latest_snapshot = fx->restore_snapshot = -1;
	fx->restore_metadata_version = -1;
	x.arena = &fx->arena;
	if ((rc = load_versions(&x)))
		goto out;
	for (size_t i = 0; !x.have_current && i < x.ns; i++)
		x.s[i].cur = true;   /* no readable current metadata: every snapshot counts */
	if (!x.have_current) {   /* and the newest readable version's snapshot is the head */
		const struct vcur *best = NULL;

		for (size_t i = 0; i < x.nvc; i++)
			if (x.vc[i].has && (!best || x.vc[i].n > best->n))
				best = &x.vc[i];
		if (best && !grow((void **)&x.heads, &x.capheads, 1, sizeof(*x.heads))) {
			x.heads[0] = best->id;
			x.nheads = 1;
		}
	}
	if ((rc = list_storage(&x)) || (rc = learn(&x)) || (rc = mark_metadata(&x)))
		goto out;
	if (x.ns)
		qsort(x.s, x.ns, sizeof(*x.s), snap_order);
	free(x.ids);            /* re-index in commit order */
	x.ids = NULL;
	x.capids = 0;
	for (size_t i = 0; i < x.ns; i++) {
		if (snap_index(&x, i)) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (!strncmp(x.store->uri, "s3://", 5) && (rc = prefetch(&x))) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* Walk every snapshot once (each distinct manifest is read once). */
	for (size_t o = 0; o < x.ns; o++) {
		struct snap *s = &x.s[o];

		if (t->progress)
			t->progress(t->progress_ud, "manifests", o, x.ns);
		if ((rc = snap_walk(&x, s)))
			goto out;
		for (size_t h = 0; h < x.nheads; h++)
			s->head = s->head || x.heads[h] == s->id;
		if (s->list_rec >= 0) {
			span(&x.r[s->list_rec], (int32_t)o, (int32_t)o);
			x.r[s->list_rec].head = x.r[s->list_rec].head || s->head;
			if ((rc = note_ref(&x, &x.r[s->list_rec], (int32_t)o)))
				goto out;
		}
		s->complete = s->ok;
		for (size_t i = 0; i < s->nmans; i++) {
			struct man *m = &x.m[s->mans[i]];

			if (m->first_o < 0)
				m->first_o = (int32_t)o;
			m->last_o = (int32_t)o;
			m->head = m->head || s->head;
			if ((rc = note_ref(&x, &x.r[m->rec], (int32_t)o)))
				goto out;
			if (!m->ok && s->ok) {
				s->ok = s->complete = false;
				s->code = m->code;
				s->word = m->word;
				s->msg = m->msg;
			}
			if (m->missing_live) {
				s->complete = false;
				for (size_t k = 0; k < m->nlive; k++)
					if ((rc = note_ref(&x, &x.r[m->live[k]], (int32_t)o)))
						goto out;
			}
		}
		if (!s->ok && s->cur) {
			char msg[LM_ERR_MSG];

			snprintf(msg, sizeof(msg), "table %.100s: snapshot %" PRId64 ": %.360s", lm_table_name(t),
				 s->id, s->msg ? s->msg : "cannot be read");
			if ((rc = issue(&x, "refused", -1, s->id, s->word, NULL, msg)))
				goto out;
			if (!x.unread_note) {
				snprintf(msg, sizeof(msg), "never referenced by what could be read "
					 "(snapshot %" PRId64 " cannot be read whole and may reference it)",
					 s->id);
				if (!(x.unread_note = keep(&x, msg))) {
					rc = lm_err_set(err, ENOMEM, "out of memory");
					goto out;
				}
			}
		}
		if (s->complete && s->cur) {
			fx->restore = s->seq;
			fx->restore_snapshot = s->id;
		}
	}
	if (t->progress && x.ns)
		t->progress(t->progress_ud, "manifests", x.ns, x.ns);
	for (size_t i = 0; i < x.nm; i++) {
		const struct man *m = &x.m[i];

		span(&x.r[m->rec], m->first_o, m->last_o);
		x.r[m->rec].head = x.r[m->rec].head || m->head;
		for (size_t k = 0; k < m->nlive; k++) {
			struct rec *r = &x.r[m->live[k]];

			span(r, m->first_o, m->last_o);
			r->head = r->head || m->head;
		}
	}
	/* The newest metadata version (@v<N>) whose current snapshot is readable with every
	 * file present: the restore target the mount shows when the current metadata
	 * cannot be read (no @snap- views then). */
	for (size_t i = 0; i < x.nvc; i++) {
		int k = x.vc[i].has ? snap_find(&x, x.vc[i].id) : -1;

		if (k >= 0 && x.s[k].ok && x.s[k].complete && x.vc[i].n > fx->restore_metadata_version)
			fx->restore_metadata_version = x.vc[i].n;
	}
	if (x.has_current) {
		int k = snap_find(&x, x.current_id);

		fx->latest_snapshot = x.current_id;
		fx->latest = k >= 0 ? x.s[k].seq : -1;
	}
	if ((rc = duplicates(&x)) || (rc = build_result(&x, fx, now_ms, min_age_ms)))
		goto out;
	if (fx->n)
		qsort(fx->f, fx->n, sizeof(*fx->f), path_cmp);
	fx->issues = x.iss;
	fx->nissues = x.niss;
	fx->nversions = x.ns;
	x.iss = NULL;
	*out = fx;
	fx = NULL;
out:
	if (rc == ENOMEM && !err->code)
		lm_err_set(err, ENOMEM, "out of memory");
	fx_state_free(&x);
	lm_forensics_free(fx);
	return rc;
}
