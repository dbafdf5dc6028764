/* table.c — the Iceberg table driver (struct lm_table_ops): per table root, the
 * listing of metadata/, which metadata file is current, the parsed current metadata,
 * and a few recently built snapshots, behind one mutex. Fetches bytes through the
 * store and feeds the pure decoders (format/iceberg_meta, format/avro, format/json);
 * scan.c turns one snapshot into files. Owns struct ice_table.
 * May call: store, format, snapshot, table, iceberg/scan, iceberg/paths, iceberg/info,
 * util, log.
 *
 * Views (names in the table directory):
 *   @latest        symlink to @v<N> of the current metadata file
 *   @v<N>          one per metadata version N present (vN.metadata.json,
 *                  NNNNN-<uuid>.metadata.json, .gz variants): the current snapshot of
 *                  that file (an empty directory when it has none)
 *   @snap-<id>     every snapshot the current metadata records
 *   @branch-<name> @tag-<name>   symlinks to @snap-<id> for the current metadata's
 *                  refs; main is implied by current-snapshot-id when refs lack it.
 *                  '/', '%' and control bytes of a ref name are %XX-escaped.
 *   @<timestamp>   not listed: resolves to a symlink to the @snap- that the
 *                  snapshot-log says was current at that time (spec Appendix F)
 * Keys: "v<N>" for @v<N>, "s<id>" for @snap-<id>. A snapshot built for one key is
 * shared with the other names of the same snapshot id.
 *
 * Which metadata file is current: version-hint.text (else Impala's version-hint.txt)
 * when it names a present file — a number N (vN.metadata.json, or the file whose
 * leading number is N) or a file stem; otherwise the highest version number. When
 * several files carry the chosen number and nothing says which one committed, the
 * pick is a guess (canonical name first, then the first by name) and the status
 * says so. For an older version N with several files, the one the current
 * metadata's metadata-log names wins. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg_int.h"
#include "lm/log.h"
#include "lm/util.h"

#define NCACHE 8

struct meta_file {
	char *name;                     /* base name under metadata/ */
	struct lm_iceberg_meta_name nm;
	uint64_t size;
	int64_t mtime_ms;
};

struct version {
	int64_t n;
	size_t file;                    /* index into files */
	bool guess;
};

struct cached {
	char key[64];
	bool has_id;
	int64_t id;
	struct lm_snapshot *snap;
};

struct listing {
	struct meta_file *files;        /* sorted by name */
	size_t nfiles, capfiles;
	char **names;                   /* every base name under metadata/, sorted */
	size_t nnames, capnames;
	size_t plen;                    /* length of the metadata/ prefix */
};

struct ice_table {
	struct lm_table base;
	pthread_mutex_t lock;
	bool listed;
	char *prefix;                   /* "<key>/metadata/" */
	struct listing l;
	struct version *vers;           /* ascending n */
	size_t nvers;
	ssize_t cur;                    /* index into l.files, -1 none */
	bool cur_guess;
	char how[160];
	struct lm_iceberg_meta *meta;   /* the current metadata, parsed; NULL if not */
	struct lm_err meta_err;         /* why meta is NULL */
	char *meta_name;                /* identity of meta */
	uint64_t meta_size;
	int64_t meta_mtime;
	struct cached cache[NCACHE];
	size_t cache_next;
	char warned_how[160];
	size_t warned_refs, warned_snaps;
};

static const struct lm_table_ops iceberg_ops;

/* ---------- listing ---------- */

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i].name);
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->files);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static int list_cb(void *ud, const struct lm_list_entry *e)
{
	struct listing *l = ud;
	const char *base = e->key + l->plen;
	struct lm_iceberg_meta_name nm;
	char *dup;

	if (e->is_prefix || strlen(e->key) <= l->plen || strchr(base, '/'))
		return 0;
	dup = strdup(base);
	if (!dup)
		return ENOMEM;
	if (l->nnames == l->capnames) {
		size_t nc = l->capnames ? l->capnames * 2 : 64;
		char **nn = realloc(l->names, nc * sizeof(*nn));

		if (!nn) {
			free(dup);
			return ENOMEM;
		}
		l->names = nn;
		l->capnames = nc;
	}
	l->names[l->nnames++] = dup;
	if (lm_iceberg_meta_name_parse(base, &nm))
		return 0;
	if (l->nfiles == l->capfiles) {
		size_t nc = l->capfiles ? l->capfiles * 2 : 16;
		struct meta_file *nf = realloc(l->files, nc * sizeof(*nf));

		if (!nf)
			return ENOMEM;
		l->files = nf;
		l->capfiles = nc;
	}
	l->files[l->nfiles].name = strdup(base);
	if (!l->files[l->nfiles].name)
		return ENOMEM;
	l->files[l->nfiles].nm = nm;
	l->files[l->nfiles].size = e->info.size;
	l->files[l->nfiles].mtime_ms = e->info.mtime_ms;
	l->nfiles++;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meta_file *)a)->name, ((const struct meta_file *)b)->name);
}

static int list_metadata(struct lm_store *st, const char *prefix, struct listing *l,
			 struct lm_err *err)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->plen = strlen(prefix);
	rc = lm_store_list(st, prefix, NULL, LM_LIST_DELIM, list_cb, l, err);
	if (rc == ENOMEM)
		lm_err_set(err, ENOMEM, "out of memory");
	if (rc) {
		listing_free(l);
		return rc;
	}
	if (l->nnames)
		qsort(l->names, l->nnames, sizeof(*l->names), str_cmp);
	if (l->nfiles)
		qsort(l->files, l->nfiles, sizeof(*l->files), file_cmp);
	return 0;
}

static bool has_name(const struct listing *l, const char *name)
{
	return l->nnames && bsearch(&name, l->names, l->nnames, sizeof(*l->names), str_cmp);
}

static ssize_t find_file(const struct listing *l, const char *name)
{
	size_t lo = 0, hi = l->nfiles;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		int c = strcmp(l->files[m].name, name);

		if (!c)
			return (ssize_t)m;
		if (c < 0)
			lo = m + 1;
		else
			hi = m;
	}
	return -1;
}

/* ---------- which file is which version ---------- */

/* The file for version n: the only one; the one the metadata-log of log names; the
 * only canonical one; else the first canonical (or first) by name, a guess. */
static ssize_t pick_version(const struct listing *l, int64_t n, const struct lm_iceberg_meta *log,
			    bool *guess)
{
	ssize_t only = -1, canon = -1, first_canon = -1;
	size_t cnt = 0, ncanon = 0;

	*guess = false;
	for (size_t i = 0; i < l->nfiles; i++) {
		const struct meta_file *f = &l->files[i];

		if (!f->nm.has_version || f->nm.version != n)
			continue;
		cnt++;
		if (only < 0)
			only = (ssize_t)i;
		if (f->nm.canonical) {
			ncanon++;
			canon = (ssize_t)i;
			if (first_canon < 0)
				first_canon = (ssize_t)i;
		}
	}
	if (cnt <= 1)
		return only;
	for (size_t k = 0; log && k < log->nmetadata_log; k++) {
		const char *b = strrchr(log->metadata_log[k].file, '/');
		ssize_t i;

		b = b ? b + 1 : log->metadata_log[k].file;
		i = find_file(l, b);
		if (i >= 0 && l->files[i].nm.has_version && l->files[i].nm.version == n)
			return i;
	}
	if (ncanon == 1)
		return canon;
	*guess = true;
	return first_canon >= 0 ? first_canon : only;
}

static int read_small(struct ice_table *t, const char *name, size_t cap, struct lm_buf *buf,
		      struct lm_err *err)
{
	char *key = lm_path_join(t->prefix, name);
	int rc;

	if (!key)
		return lm_err_set(err, ENOMEM, "out of memory");
	rc = lm_store_get_all(t->base.store, key, cap, buf, NULL, err);
	free(key);
	return rc;
}

/* Choose the current file of listing l: index or -1, with how and guess. */
static int choose_current(struct ice_table *t, const struct listing *l, ssize_t *cur, bool *guess,
			  char *how, size_t howsz, struct lm_err *err)
{
	const char *hintname = has_name(l, "version-hint.text") ? "version-hint.text"
			       : has_name(l, "version-hint.txt") ? "version-hint.txt" : NULL;
	struct lm_iceberg_hint h = { 0 };
	char why[96] = "";
	int64_t max = INT64_MIN;

	*cur = -1;
	*guess = false;
	if (hintname) {
		struct lm_buf b;
		struct lm_err e2;
		int rc;

		lm_buf_init(&b, (size_t)1 << 20);   /* the store reads in 256 KiB steps */
		lm_err_init(&e2);
		rc = read_small(t, hintname, ICE_MAX_HINT, &b, &e2);
		if (rc == 0)
			lm_iceberg_hint_parse(b.data ? b.data : "", b.len, &h);
		lm_buf_free(&b);
		if (rc && rc != ENOENT && rc != LM_ETOOBIG) {
			*err = e2;
			lm_err_prefix(err, "table %s: %s: ", t->base.name, hintname);
			return rc;
		}
		if (h.kind == LM_ICEBERG_HINT_NUMBER) {
			bool g;
			ssize_t i = pick_version(l, h.number, NULL, &g);

			if (i >= 0) {
				int64_t hi = h.number;

				for (size_t k = 0; k < l->nfiles; k++)
					if (l->files[k].nm.has_version && l->files[k].nm.version > hi)
						hi = l->files[k].nm.version;
				*cur = i;
				*guess = g;
				snprintf(how, howsz, "%s names version %lld%s%s", hintname,
					 (long long)h.number, g ? " (several files carry it: a guess)" : "",
					 hi > h.number ? " (newer metadata files exist)" : "");
				return 0;
			}
			snprintf(why, sizeof(why), "%s names version %lld, which is not present",
				 hintname, (long long)h.number);
		} else if (h.kind == LM_ICEBERG_HINT_STEM) {
			static const char *sfx[] = { ".metadata.json", ".gz.metadata.json",
						     ".metadata.json.gz" };

			for (size_t k = 0; k < 3; k++) {
				char nm[300];
				ssize_t i;

				snprintf(nm, sizeof(nm), "%s%s", h.stem, sfx[k]);
				i = find_file(l, nm);
				if (i >= 0) {
					*cur = i;
					snprintf(how, howsz, "%s names %.100s", hintname, h.stem);
					return 0;
				}
			}
			snprintf(why, sizeof(why), "%s names %.40s, which is not present", hintname,
				 h.stem);
		} else {
			snprintf(why, sizeof(why), "%s is empty or unreadable", hintname);
		}
	}
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].nm.has_version && l->files[i].nm.version > max)
			max = l->files[i].nm.version;
	if (max != INT64_MIN) {
		*cur = pick_version(l, max, NULL, guess);
		snprintf(how, howsz, "%s%shighest version %lld%s", why, *why ? "; " : "",
			 (long long)max, *guess ? " (several files carry it: a guess)" : "");
	} else if (l->nfiles) {
		*cur = (ssize_t)l->nfiles - 1;
		*guess = l->nfiles > 1;
		snprintf(how, howsz, "%s%sno versioned metadata file: the last by name%s", why,
			 *why ? "; " : "", *guess ? " (a guess)" : "");
	}
	return 0;
}

/* Read and parse metadata/<name>. Missing: LM_EMISSING, reason missing-metadata. */
static int load_meta(struct ice_table *t, const char *name, struct lm_iceberg_meta **out,
		     struct lm_err *err)
{
	struct lm_buf b;
	struct lm_err e2;
	int rc;

	*out = NULL;
	lm_buf_init(&b, ICE_MAX_METADATA);
	lm_err_init(&e2);
	rc = read_small(t, name, ICE_MAX_METADATA, &b, &e2);
	if (rc == ENOENT || rc == LM_EMISSING) {
		rc = lm_err_set(err, LM_EMISSING, "metadata file %s%s is missing", t->prefix, name);
		lm_err_reason(err, "missing-metadata");
		goto out;
	}
	if (rc == LM_ETOOBIG) {
		lm_err_set(err, rc, "metadata file %s is larger than %zu bytes", name, ICE_MAX_METADATA);
		lm_err_reason(err, "too-big");
		goto out;
	}
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "metadata file %s: ", name);
		goto out;
	}
	rc = lm_iceberg_meta_parse(b.data, b.len, ICE_MAX_INFLATED, out, &e2);
	if (rc) {
		const char *word = e2.reason;

		lm_err_set(err, rc, "metadata file %s: %s", name, e2.msg);
		lm_err_reason(err, word ? word : (rc == LM_ETOOBIG ? "too-big" : NULL));
	}
out:
	lm_buf_free(&b);
	return rc;
}

static void cache_clear(struct ice_table *t)
{
	for (size_t i = 0; i < NCACHE; i++) {
		lm_snapshot_unref(t->cache[i].snap);
		memset(&t->cache[i], 0, sizeof(t->cache[i]));
	}
}

static int refresh_locked(struct ice_table *t, struct lm_err *err)
{
	struct listing nl;
	struct version *vers = NULL;
	size_t nvers = 0;
	ssize_t cur;
	bool guess;
	char how[160] = "";
	int rc;

	rc = list_metadata(t->base.store, t->prefix, &nl, err);
	if (rc) {
		lm_err_prefix(err, "table %s: listing metadata/: ", t->base.name);
		return rc;
	}
	rc = choose_current(t, &nl, &cur, &guess, how, sizeof(how), err);
	if (rc)
		goto out;
	/* (Re)parse the current metadata when it is another object than last time. */
	if (cur < 0) {
		lm_iceberg_meta_free(t->meta);
		t->meta = NULL;
		free(t->meta_name);
		t->meta_name = NULL;
		lm_err_set(&t->meta_err, LM_ENOTABLE, "no metadata file");
	} else {
		const struct meta_file *f = &nl.files[cur];

		if (!t->meta_name || strcmp(t->meta_name, f->name) || t->meta_size != f->size ||
		    t->meta_mtime != f->mtime_ms) {
			struct lm_iceberg_meta *m = NULL;
			struct lm_err e2;
			char *nm = strdup(f->name);

			lm_err_init(&e2);
			if (!nm) {
				rc = lm_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			rc = load_meta(t, f->name, &m, &e2);
			if (rc && !e2.reason) {
				/* storage trouble: keep what we had */
				free(nm);
				*err = e2;
				lm_err_prefix(err, "table %s: ", t->base.name);
				goto out;
			}
			lm_iceberg_meta_free(t->meta);
			t->meta = m;
			t->meta_err = e2;
			free(t->meta_name);
			t->meta_name = nm;
			t->meta_size = f->size;
			t->meta_mtime = f->mtime_ms;
			rc = 0;
			if (!m)
				lm_warn("table %s: current metadata %s: %s [%s]", t->base.name, f->name,
					e2.msg, e2.reason);
		}
	}
	/* Versions: each number once, its file chosen with the metadata-log's help. */
	vers = calloc(nl.nfiles ? nl.nfiles : 1, sizeof(*vers));
	if (!vers) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nl.nfiles; i++) {
		const struct meta_file *f = &nl.files[i];
		bool seen = false, g;
		ssize_t k;

		if (!f->nm.has_version)
			continue;
		for (size_t j = 0; j < nvers && !seen; j++)
			seen = vers[j].n == f->nm.version;
		if (seen)
			continue;
		if (cur >= 0 && nl.files[cur].nm.has_version && nl.files[cur].nm.version == f->nm.version) {
			k = cur;
			g = guess;
		} else {
			k = pick_version(&nl, f->nm.version, t->meta, &g);
		}
		vers[nvers].n = f->nm.version;
		vers[nvers].file = (size_t)k;
		vers[nvers].guess = g;
		nvers++;
	}
	for (size_t i = 1; i < nvers; i++) {   /* insertion sort: the list is short */
		struct version v = vers[i];
		size_t j = i;

		while (j && vers[j - 1].n > v.n) {
			vers[j] = vers[j - 1];
			j--;
		}
		vers[j] = v;
	}
	if (strcmp(how, t->warned_how) && (guess || strstr(how, "not present") ||
					   strstr(how, "unreadable"))) {
		lm_warn("table %s: current metadata: %s", t->base.name, how);
		snprintf(t->warned_how, sizeof(t->warned_how), "%s", how);
	}
	if (t->meta && t->meta->refs_skipped && t->warned_refs != t->meta->refs_skipped) {
		lm_warn("table %s: %zu malformed refs left out", t->base.name, t->meta->refs_skipped);
		t->warned_refs = t->meta->refs_skipped;
	}
	listing_free(&t->l);
	t->l = nl;
	memset(&nl, 0, sizeof(nl));
	free(t->vers);
	t->vers = vers;
	t->nvers = nvers;
	vers = NULL;
	t->cur = cur;
	t->cur_guess = guess;
	snprintf(t->how, sizeof(t->how), "%s", how);
	t->listed = true;
out:
	free(vers);
	listing_free(&nl);
	return rc;
}

/* ---------- ops ---------- */

int lm_iceberg_table_open(struct lm_store *store, const char *key, const char *name,
			  struct lm_table **out, struct lm_err *err)
{
	struct ice_table *t = calloc(1, sizeof(*t));

	if (!t)
		return lm_err_set(err, ENOMEM, "out of memory");
	if (lm_table_base_init(&t->base, &iceberg_ops, store, key, name, LM_TABLE_ICEBERG)) {
		free(t);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	t->prefix = lm_path_join(key, "metadata/");
	if (!t->prefix) {
		lm_table_base_free(&t->base);
		free(t);
		return lm_err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	t->cur = -1;
	lm_err_init(&t->meta_err);
	*out = &t->base;
	return 0;
}

static void ice_destroy(struct lm_table *base)
{
	struct ice_table *t = (struct ice_table *)base;

	cache_clear(t);
	listing_free(&t->l);
	free(t->vers);
	lm_iceberg_meta_free(t->meta);
	free(t->meta_name);
	free(t->prefix);
	pthread_mutex_destroy(&t->lock);
	lm_table_base_free(&t->base);
	free(t);
}

static int ice_refresh(struct lm_table *base, struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = refresh_locked(t, err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* "@branch-" + name with '/', '%' and control bytes escaped; false when too long. */
static bool ref_view_name(const char *prefix, const char *name, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = strlen(prefix);

	if (k >= outsz)
		return false;
	memcpy(out, prefix, k);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '%' || *p < 0x20 || *p == 0x7f) {
			if (outsz - k < 4)
				return false;
			out[k++] = '%';
			out[k++] = hex[*p >> 4];
			out[k++] = hex[*p & 15];
		} else {
			if (outsz - k < 2)
				return false;
			out[k++] = (char)*p;
		}
	}
	out[k] = '\0';
	return true;
}

static int64_t snap_ts(const struct lm_iceberg_meta *m, int64_t id)
{
	const struct lm_iceberg_snapshot *s = m ? lm_iceberg_meta_snapshot(m, id) : NULL;

	return s ? s->timestamp_ms : -1;
}

static int ice_views(struct lm_table *base, struct lm_table_view **out, size_t *n,
		     struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	const struct lm_iceberg_meta *m;
	struct lm_table_view *v = NULL;
	size_t k = 0, cap;
	bool main_seen = false;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	m = t->meta;
	cap = 2 + t->nvers + (m ? m->nsnapshots + m->nrefs : 0);
	v = calloc(cap, sizeof(*v));
	if (!v) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (t->cur >= 0) {
		const struct meta_file *f = &t->l.files[t->cur];
		int64_t ts = m ? (m->has_current ? snap_ts(m, m->current_snapshot_id) : m->last_updated_ms)
			       : f->mtime_ms;

		if (f->nm.has_version) {
			snprintf(v[k].name, sizeof(v[k].name), "@latest");
			snprintf(v[k].target, sizeof(v[k].target), "@v%lld", (long long)f->nm.version);
			v[k].is_link = true;
			v[k].commit_ms = ts;
			k++;
		} else if (m && m->has_current) {
			snprintf(v[k].name, sizeof(v[k].name), "@latest");
			snprintf(v[k].target, sizeof(v[k].target), "@snap-%lld",
				 (long long)m->current_snapshot_id);
			v[k].is_link = true;
			v[k].commit_ms = ts;
			k++;
		}
	}
	for (size_t i = 0; i < t->nvers; i++, k++) {
		snprintf(v[k].name, sizeof(v[k].name), "@v%lld", (long long)t->vers[i].n);
		snprintf(v[k].key, sizeof(v[k].key), "v%lld", (long long)t->vers[i].n);
		v[k].commit_ms = t->l.files[t->vers[i].file].mtime_ms;
	}
	/* The newest snapshots (document order is commit order) when there are very many,
	 * plus the current one; every one stays reachable through lm_table_snapshot. */
	for (size_t i = 0; m && i < m->nsnapshots; i++) {
		const struct lm_iceberg_snapshot *sn = &m->snapshots[i];

		if (m->nsnapshots - i > ICE_MAX_SNAP_VIEWS &&
		    !(m->has_current && sn->id == m->current_snapshot_id))
			continue;
		snprintf(v[k].name, sizeof(v[k].name), "@snap-%lld", (long long)sn->id);
		snprintf(v[k].key, sizeof(v[k].key), "s%lld", (long long)sn->id);
		v[k].commit_ms = sn->timestamp_ms;
		k++;
	}
	if (m && m->nsnapshots > ICE_MAX_SNAP_VIEWS && t->warned_snaps != m->nsnapshots) {
		lm_warn("table %s: %zu snapshots; listing the newest %zu", t->base.name,
			m->nsnapshots, ICE_MAX_SNAP_VIEWS);
		t->warned_snaps = m->nsnapshots;
	}
	for (size_t i = 0; m && i < m->nrefs; i++) {
		const struct lm_iceberg_ref *r = &m->refs[i];

		if (!r->is_tag && !strcmp(r->name, "main"))
			main_seen = true;
		if (!ref_view_name(r->is_tag ? "@tag-" : "@branch-", r->name, v[k].name,
				   sizeof(v[k].name))) {
			lm_debug("table %s: ref '%.60s…' is too long for a name; not shown",
				 t->base.name, r->name);
			continue;
		}
		snprintf(v[k].target, sizeof(v[k].target), "@snap-%lld", (long long)r->snapshot_id);
		v[k].is_link = true;
		v[k].commit_ms = snap_ts(m, r->snapshot_id);
		k++;
	}
	if (m && m->has_current && !main_seen) {
		bool clash = false;

		for (size_t i = 0; i < k && !clash; i++)
			clash = !strcmp(v[i].name, "@branch-main");
		if (!clash) {
			snprintf(v[k].name, sizeof(v[k].name), "@branch-main");
			snprintf(v[k].target, sizeof(v[k].target), "@snap-%lld",
				 (long long)m->current_snapshot_id);
			v[k].is_link = true;
			v[k].commit_ms = snap_ts(m, m->current_snapshot_id);
			k++;
		}
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	free(v);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int ice_resolve(struct lm_table *base, const char *name, struct lm_table_view *out,
		       struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	const struct lm_iceberg_snapshot *s;
	int64_t ms, id;
	int rc = 0;

	if (name[0] != '@' || strlen(name) >= sizeof(out->name) || ice_parse_time(name + 1, &ms))
		return ENOENT;
	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	if (!t->meta) {
		rc = lm_err_set(err, ENOENT, "table %s: %s: the current metadata is unreadable",
				t->base.name, name);
		goto out;
	}
	if (lm_iceberg_meta_as_of(t->meta, ms, &id)) {
		rc = lm_err_set(err, ENOENT, "table %s: %s: the snapshot-log has no snapshot at or before that time",
				t->base.name, name);
		goto out;
	}
	s = lm_iceberg_meta_snapshot(t->meta, id);
	if (!s) {
		rc = lm_err_set(err, ENOENT,
				"table %s: %s: the snapshot-log names snapshot %lld, which the metadata no longer records",
				t->base.name, name, (long long)id);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->target, sizeof(out->target), "@snap-%lld", (long long)id);
	out->is_link = true;
	out->commit_ms = s->timestamp_ms;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* What a key names: the metadata to use (borrowed t->meta or *owned), the snapshot
 * (NULL: none), and the message prefix. t->lock held. */
static int resolve_key(struct ice_table *t, const char *key, const struct lm_iceberg_meta **meta,
		       struct lm_iceberg_meta **owned, const struct lm_iceberg_snapshot **snap,
		       char *what, size_t whatsz, struct lm_err *err)
{
	int64_t x;

	*owned = NULL;
	*snap = NULL;
	*meta = NULL;
	if ((key[0] != 'v' && key[0] != 's') || lm_parse_i64(key + 1, &x))
		return lm_err_set(err, ENOENT, "table %s: no view key '%s'", t->base.name, key);
	if (!t->listed) {
		int rc = refresh_locked(t, err);

		if (rc)
			return rc;
	}
	if (key[0] == 'v') {
		const struct version *v = NULL;
		const struct meta_file *f;
		int rc;

		for (int pass = 0; pass < 2 && !v; pass++) {
			for (size_t i = 0; i < t->nvers && !v; i++)
				if (t->vers[i].n == x)
					v = &t->vers[i];
			if (!v && pass == 0 && (rc = refresh_locked(t, err)))
				return rc;
		}
		if (!v)
			return lm_err_set(err, ENOENT, "table %s: no metadata version %lld",
					  t->base.name, (long long)x);
		f = &t->l.files[v->file];
		snprintf(what, whatsz, "table %s: version %lld (metadata/%s)", t->base.name,
			 (long long)x, f->name);
		if (t->meta && t->meta_name && !strcmp(t->meta_name, f->name)) {
			*meta = t->meta;
		} else {
			rc = load_meta(t, f->name, owned, err);
			if (rc) {
				const char *word = err ? err->reason : NULL;

				lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)x);
				lm_err_reason(err, word);
				return rc;
			}
			*meta = *owned;
		}
		if ((*meta)->format_version > 3) {
			lm_err_set(err, LM_EUNSUPPORTED, "%s: format-version %d is not supported (1-3 are)",
				   what, (*meta)->format_version);
			lm_err_reason(err, "unsupported-format-version");
			return LM_EUNSUPPORTED;
		}
		if ((*meta)->has_current) {
			*snap = lm_iceberg_meta_snapshot(*meta, (*meta)->current_snapshot_id);
			if (!*snap) {
				lm_err_set(err, LM_EFORMAT,
					   "%s: current-snapshot-id %lld is not among its snapshots", what,
					   (long long)(*meta)->current_snapshot_id);
				lm_err_reason(err, "invalid-metadata");
				return LM_EFORMAT;
			}
		}
		return 0;
	}
	snprintf(what, whatsz, "table %s: snapshot %lld", t->base.name, (long long)x);
	if (!t->meta || !(*snap = lm_iceberg_meta_snapshot(t->meta, x)))
		return lm_err_set(err, ENOENT, "%s: not recorded by the current metadata", what);
	if (t->meta->format_version > 3) {
		lm_err_set(err, LM_EUNSUPPORTED, "%s: format-version %d is not supported (1-3 are)",
			   what, t->meta->format_version);
		lm_err_reason(err, "unsupported-format-version");
		return LM_EUNSUPPORTED;
	}
	*meta = t->meta;
	return 0;
}

static int scan_locked(struct ice_table *t, const struct lm_iceberg_meta *meta,
		       const struct lm_iceberg_snapshot *s, const char *what,
		       struct lm_iceberg_scan **out, struct lm_err *err)
{
	struct ice_scan_ctx ctx = {
		.store = t->base.store,
		.table_key = t->base.key,
		.what = what,
		.meta = meta,
		.names = t->l.names,
		.nnames = t->l.nnames,
		.current = t->meta,
	};

	return ice_scan_build(&ctx, s, out, err);
}

static struct lm_snapshot *cache_find(struct ice_table *t, const char *key, bool has_id,
				      int64_t id)
{
	for (size_t i = 0; i < NCACHE; i++) {
		struct cached *c = &t->cache[i];

		if (!c->snap)
			continue;
		if (!strcmp(c->key, key) || (has_id && c->has_id && c->id == id))
			return lm_snapshot_ref(c->snap);
	}
	return NULL;
}

static void cache_put(struct ice_table *t, const char *key, bool has_id, int64_t id,
		      struct lm_snapshot *s)
{
	struct cached *c = &t->cache[t->cache_next];

	t->cache_next = (t->cache_next + 1) % NCACHE;
	lm_snapshot_unref(c->snap);
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->has_id = has_id;
	c->id = id;
	c->snap = lm_snapshot_ref(s);
}

static int ice_snapshot(struct lm_table *base, const char *key, struct lm_snapshot **out,
			struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	const struct lm_iceberg_meta *meta;
	struct lm_iceberg_meta *owned = NULL;
	const struct lm_iceberg_snapshot *s;
	struct lm_iceberg_scan *scan = NULL;
	struct lm_file *files = NULL;
	char what[LM_ERR_MSG / 2];
	int rc;

	pthread_mutex_lock(&t->lock);
	if ((*out = cache_find(t, key, false, 0))) {
		rc = 0;
		goto out;
	}
	rc = resolve_key(t, key, &meta, &owned, &s, what, sizeof(what), err);
	if (rc)
		goto out;
	if (s && (*out = cache_find(t, key, true, s->id))) {
		cache_put(t, key, true, s->id, *out);
		goto out;
	}
	rc = scan_locked(t, meta, s, what, &scan, err);
	if (rc)
		goto out;
	files = malloc((scan->ndata ? scan->ndata : 1) * sizeof(*files));
	if (!files) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < scan->ndata; i++) {
		files[i].path = scan->data[i].path;
		files[i].size = scan->data[i].size;
		files[i].mtime_ms = scan->data[i].mtime_ms;
		files[i].flags = scan->data[i].flags;
		/* Which rows the delete files remove is not counted here (equality deletes
		 * cannot be without reading data): "unknown"; @info/snap-<id>.json names them. */
		files[i].deleted_rows = (files[i].flags & LM_FILE_HAS_DV) ? -1 : 0;
	}
	rc = lm_snapshot_new(s ? s->id : -1, scan->timestamp_ms, files, scan->ndata, out, err);
	if (rc) {
		lm_err_prefix(err, "%s: ", what);
		lm_err_reason(err, rc == LM_EFORMAT ? "duplicate-path" : NULL);
		goto out;
	}
	cache_put(t, key, s != NULL, s ? s->id : 0, *out);
out:
	pthread_mutex_unlock(&t->lock);
	free(files);
	lm_iceberg_scan_free(scan);
	lm_iceberg_meta_free(owned);
	return rc;
}

/* ops->cache_id. @v<N>: the metadata file it reads, by name, size and modification
 * time (metadata files are written once; uuid-named ones are unique, and a table made
 * again at the same path writes new files). @snap-<id>: the table-uuid, the snapshot
 * id and its manifest list (or inline manifests), as the current metadata records
 * them — the identity of a snapshot in the spec. */
static int ice_cache_id(struct lm_table *base, const char *key, char *out, size_t size,
			struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	int64_t x;
	int rc = ENOENT, n = -1;

	(void)err;
	if ((key[0] != 'v' && key[0] != 's') || lm_parse_i64(key + 1, &x))
		return ENOENT;
	pthread_mutex_lock(&t->lock);
	if (!t->listed)
		goto out;
	if (key[0] == 'v') {
		for (size_t i = 0; i < t->nvers; i++) {
			const struct meta_file *f = &t->l.files[t->vers[i].file];

			if (t->vers[i].n != x)
				continue;
			n = snprintf(out, size, "v=%lld|meta=%s|%llu@%lld", (long long)x, f->name,
				     (unsigned long long)f->size, (long long)f->mtime_ms);
			break;
		}
	} else if (t->meta && t->meta->table_uuid) {
		const struct lm_iceberg_snapshot *s = lm_iceberg_meta_snapshot(t->meta, x);

		if (s && s->manifest_list)
			n = snprintf(out, size, "uuid=%s|snap=%lld|list=%s", t->meta->table_uuid,
				     (long long)x, s->manifest_list);
		else if (s && s->nmanifests)
			n = snprintf(out, size, "uuid=%s|snap=%lld|manifests=%zu:%s",
				     t->meta->table_uuid, (long long)x, s->nmanifests,
				     s->manifests[0]);
	}
	if (n >= 0)
		rc = (size_t)n < size ? 0 : ENAMETOOLONG;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int lm_iceberg_table_scan(struct lm_table *base, const char *key, struct lm_iceberg_scan **out,
			  struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	const struct lm_iceberg_meta *meta;
	struct lm_iceberg_meta *owned = NULL;
	const struct lm_iceberg_snapshot *s;
	char what[LM_ERR_MSG / 2];
	int rc;

	if (base->ops != &iceberg_ops)
		return lm_err_set(err, EINVAL, "table %s is not an Iceberg table", base->name);
	pthread_mutex_lock(&t->lock);
	rc = resolve_key(t, key, &meta, &owned, &s, what, sizeof(what), err);
	if (!rc)
		rc = scan_locked(t, meta, s, what, out, err);
	pthread_mutex_unlock(&t->lock);
	lm_iceberg_meta_free(owned);
	return rc;
}

int lm_iceberg_table_status(struct lm_table *base, struct lm_iceberg_status *out,
			    struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	int rc = 0;

	if (base->ops != &iceberg_ops)
		return lm_err_set(err, EINVAL, "table %s is not an Iceberg table", base->name);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	if (t->cur >= 0) {
		const struct meta_file *f = &t->l.files[t->cur];

		snprintf(out->current, sizeof(out->current), "%s", f->name);
		out->has_version = f->nm.has_version;
		out->version = f->nm.version;
	}
	out->guessed = t->cur_guess;
	snprintf(out->how, sizeof(out->how), "%s", t->how);
	out->metadata_ok = t->meta != NULL;
	out->nfiles = t->l.nfiles;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---------- accessors for info.c ---------- */

static void describe(const struct ice_table *t, const struct version *v,
		     struct ice_version_desc *d)
{
	const struct meta_file *f = &t->l.files[v->file];

	memset(d, 0, sizeof(*d));
	d->n = v->n;
	snprintf(d->file, sizeof(d->file), "%s", f->name);
	d->guess = v->guess;
	d->current = t->cur >= 0 && (size_t)t->cur == v->file;
	d->size = f->size;
	d->mtime_ms = f->mtime_ms;
}

int ice_table_versions(struct lm_table *base, struct ice_version_desc **out, size_t *n,
		       struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	struct ice_version_desc *d = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	d = calloc(t->nvers ? t->nvers : 1, sizeof(*d));
	if (!d) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < t->nvers; i++)
		describe(t, &t->vers[i], &d[i]);
	*out = d;
	*n = t->nvers;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int ice_table_with_meta(struct lm_table *base, bool has_n, int64_t n,
			int (*fn)(void *ud, const struct lm_iceberg_meta *m,
				  const struct ice_version_desc *d, struct lm_err *err),
			void *ud, struct lm_err *err)
{
	struct ice_table *t = (struct ice_table *)base;
	struct lm_iceberg_meta *owned = NULL;
	const struct lm_iceberg_meta *m = NULL;
	struct ice_version_desc d;
	const struct version *v = NULL;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	pthread_mutex_lock(&t->lock);
	if (!t->listed && (rc = refresh_locked(t, err)))
		goto out;
	if (!has_n) {
		if (t->cur < 0 || !t->meta) {
			if (t->cur < 0)
				rc = lm_err_set(err, ENOENT, "table %s: no metadata file", t->base.name);
			else {
				if (err)
					*err = t->meta_err;
				rc = t->meta_err.code ? t->meta_err.code : LM_EFORMAT;
			}
			goto out;
		}
		for (size_t i = 0; i < t->nvers && !v; i++)
			if ((size_t)t->cur == t->vers[i].file)
				v = &t->vers[i];
		if (v) {
			describe(t, v, &d);
		} else {   /* a current file without a version number */
			d.n = -1;
			snprintf(d.file, sizeof(d.file), "%s", t->l.files[t->cur].name);
			d.guess = t->cur_guess;
			d.current = true;
			d.size = t->l.files[t->cur].size;
			d.mtime_ms = t->l.files[t->cur].mtime_ms;
		}
		m = t->meta;
	} else {
		for (size_t i = 0; i < t->nvers && !v; i++)
			if (t->vers[i].n == n)
				v = &t->vers[i];
		if (!v) {
			rc = lm_err_set(err, ENOENT, "table %s: no metadata version %lld", t->base.name,
					(long long)n);
			goto out;
		}
		describe(t, v, &d);
		if (d.current && t->meta && t->meta_name && !strcmp(t->meta_name, d.file)) {
			m = t->meta;
		} else {
			rc = load_meta(t, d.file, &owned, err);
			if (rc) {
				const char *word = err ? err->reason : NULL;

				lm_err_prefix(err, "table %s: version %lld: ", t->base.name, (long long)n);
				lm_err_reason(err, word);
				goto out;
			}
			m = owned;
		}
	}
	rc = fn(ud, m, &d, err);
out:
	pthread_mutex_unlock(&t->lock);
	lm_iceberg_meta_free(owned);
	return rc;
}

/* ---------- detection ---------- */

struct detect_ctx {
	size_t plen;
	bool found;
};

static int detect_cb(void *ud, const struct lm_list_entry *e)
{
	struct detect_ctx *c = ud;
	struct lm_iceberg_meta_name nm;

	if (e->is_prefix || strlen(e->key) <= c->plen)
		return 0;
	if (!lm_iceberg_meta_name_parse(e->key + c->plen, &nm)) {
		c->found = true;
		return 1;
	}
	return 0;
}

int lm_iceberg_detect(struct lm_store *store, const char *table_key, struct lm_err *err)
{
	struct detect_ctx c = { 0 };
	char *prefix = lm_path_join(table_key, "metadata/");
	int rc;

	if (!prefix)
		return lm_err_set(err, ENOMEM, "out of memory");
	c.plen = strlen(prefix);
	rc = lm_store_list(store, prefix, NULL, LM_LIST_DELIM, detect_cb, &c, err);
	free(prefix);
	if (c.found)
		return 1;
	if (rc == 1 || rc == EPERM)
		rc = EACCES;
	return rc;
}

static const struct lm_table_ops iceberg_ops = {
	.format = "iceberg",
	.refresh = ice_refresh,
	.views = ice_views,
	.resolve = ice_resolve,
	.snapshot = ice_snapshot,
	.destroy = ice_destroy,
	.info_list = ice_info_list,
	.info_read = ice_info_read,
	.cache_id = ice_cache_id,
	.forensics = lm_iceberg_forensics_run,
};
