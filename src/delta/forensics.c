/* Delta forensics: what storage holds under a table root against what the log
 * references. One listing of the table root and one forward replay of the log (see
 * "the forward replay" below: every commit read once, the driver's own reconciliation
 * and protocol checks, O(actions + versions)), classifying files as orphan (never
 * referenced, old enough), recent (never referenced, younger than the minimum age),
 * removed (referenced by an earlier rebuilt version, not by the newest, still present)
 * and missing (live in a rebuilt version, absent). Versions the replay refuses are
 * issues (reason word and message as the driver gives them).
 * Change-data files named by cdc actions are never findings, nor are files an
 * add/remove names when no rebuilt version holds them (a refused version's files are
 * not called orphans).
 * Owns: struct lm_forensics. May call: store, table, arena, cJSON, the Delta
 * table internals (delta_int.h: log listing, replay, checkpoint loading). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/util.h"

/* One path seen in storage or in a version. */
struct fx_rec {
	const char *path;
	uint64_t size;
	int64_t mtime_ms;
	int64_t first, last;      /* referencing versions, -1 none */
	bool present;
	bool cdc;                 /* named by a cdc action (change data files) */
	bool logged;              /* named by an add or remove of some commit */
	bool hidden;              /* format-owned or hidden: never an orphan (see fx_skipped) */
	bool live;                /* live in the replay now (since `since`) */
	bool pend;                /* removed by the commit being applied */
	int64_t since;
};

struct fx_state {
	struct fx_rec *r;         /* sorted by path */
	size_t n, cap;
	size_t prefix_len;        /* of the table root key + '/' */
	struct lm_arena *arena;
	struct lm_table *t;       /* for progress */
	int rc;
	uint32_t *tab;            /* open addressing over r: index + 1, 0 empty */
	size_t tcap;
	int64_t *shown;           /* versions rebuilt so far, ascending */
	size_t nshown, capshown;
	size_t live_missing;      /* live paths absent from storage */
	uint32_t *pend;           /* records removed by the current commit */
	size_t npend, cappend;
};

/* Whether a storage key (relative to the table root) belongs to the format or is
 * hidden: any component starting with '_' or '.' (_delta_log/, _change_data/,
 * .crc files, _SUCCESS), and deletion-vector files (…deletion_vector_<uuid>.bin, with
 * or without a random prefix; whether a DV file is referenced is not checked yet). */
static bool fx_skipped(const char *rel)
{
	const char *base = strrchr(rel, '/');
	size_t bl;

	base = base ? base + 1 : rel;
	bl = strlen(base);
	if (strstr(base, "deletion_vector_") && bl > 4 && !strcmp(base + bl - 4, ".bin"))
		return true;
	return lm_path_hidden(rel);
}

static int fx_push(struct fx_state *s, const struct fx_rec *rec)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct fx_rec *nr = realloc(s->r, nc * sizeof(*nr));

		if (!nr)
			return ENOMEM;
		s->r = nr;
		s->cap = nc;
	}
	s->r[s->n++] = *rec;
	return 0;
}

static int fx_list_cb(void *ud, const struct lm_list_entry *e)
{
	struct fx_state *s = ud;
	struct fx_rec rec = { 0 };
	const char *rel;

	if (e->is_prefix || strlen(e->key) <= s->prefix_len)
		return 0;
	rel = e->key + s->prefix_len;
	if (!strncmp(rel, "_delta_log/", 11))
		return 0;          /* the log itself: never data */
	rec.path = lm_arena_strdup(s->arena, rel);
	if (!rec.path) {
		s->rc = ENOMEM;
		return 1;
	}
	rec.size = e->info.size;
	rec.mtime_ms = e->info.mtime_ms;
	rec.first = rec.last = -1;
	rec.present = true;
	rec.hidden = fx_skipped(rel);   /* kept: a version may still reference it */
	if (fx_push(s, &rec)) {
		s->rc = ENOMEM;
		return 1;
	}
	if (s->t && s->t->progress && s->n % 4096 == 0)
		s->t->progress(s->t->progress_ud, "listing", s->n, 0);
	return 0;
}

static int fx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fx_rec *)a)->path, ((const struct fx_rec *)b)->path);
}

static int fx_storage(struct lm_table *t, struct fx_state *s, struct lm_err *err)
{
	const char *key = lm_table_key(t);
	char *prefix = NULL;
	size_t kl = strlen(key);
	int rc;

	prefix = malloc(kl + 2);
	if (!prefix)
		return ENOMEM;
	memcpy(prefix, key, kl);
	if (kl && key[kl - 1] != '/')
		prefix[kl++] = '/';
	prefix[kl] = '\0';
	s->prefix_len = kl;
	rc = lm_store_list(t->store, prefix, NULL, 0, fx_list_cb, s, err);
	if (s->rc)
		rc = s->rc;
	free(prefix);
	if (!rc && s->n)
		qsort(s->r, s->n, sizeof(*s->r), fx_cmp);
	return rc;
}

/* Remember refused version v (rc, e: the driver's refusal). */
static int fx_issue(struct lm_forensics *fx, int64_t v, const struct lm_err *e, int rc)
{
	static const struct { int code; const char *word; } words[] = {
		{ LM_EGAP, "log-gap" }, { LM_ENEEDCKPT, "needs-checkpoint" },
		{ LM_ENOPROTOCOL, "missing-protocol" }, { LM_ENOMETADATA, "missing-metadata" },
		{ LM_EESCAPE, "path-escape" }, { LM_EFORMAT, "invalid-json" },
	};
	struct lm_forensic_issue *n = realloc(fx->issues, (fx->nissues + 1) * sizeof(*n));
	const char *word = e->reason;

	if (!n)
		return ENOMEM;
	fx->issues = n;
	for (size_t k = 0; !word && k < sizeof(words) / sizeof(words[0]); k++)
		if (words[k].code == rc)
			word = words[k].word;
	n = &fx->issues[fx->nissues];
	memset(n, 0, sizeof(*n));
	n->kind = "refused";
	n->version = v;
	n->snapshot = -1;
	n->reason = word ? word : "error";
	n->msg = lm_arena_strdup(&fx->arena, e->msg);
	if (!n->msg)
		return ENOMEM;
	fx->nissues++;
	return 0;
}

/* ---------- the forward replay ----------
 * One pass over the log: a replay of our own (the driver's replay.c code, so the
 * reconciliation and the protocol/metadata checks are the driver's) from commit 0 or
 * the first loadable checkpoint, each commit read and applied once. Per path we keep
 * whether it is live and since when; when it stops being live its interval is closed
 * against the versions rebuilt so far (first/last rebuilt version holding it). A
 * version whose live set has no absent file is a restore candidate (a count of live
 * absent paths, kept as paths come and go). After a refused commit the walk resumes
 * at the next checkpoint that loads. Cost: O(actions + versions), not O(versions x
 * files). A checkpoint that contradicts the commits before it is not noticed (the
 * commits win; the mount rebuilds such a version from the checkpoint). */

static int tab_rebuild(struct fx_state *s)
{
	size_t nc = s->tcap ? s->tcap : 1024;
	uint32_t *nt;

	while (nc < (s->n + 1) * 2)
		nc *= 2;
	nt = calloc(nc, sizeof(*nt));
	if (!nt)
		return ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t j = lm_hash64(s->r[i].path, strlen(s->r[i].path)) & (nc - 1);

		while (nt[j])
			j = (j + 1) & (nc - 1);
		nt[j] = (uint32_t)i + 1;
	}
	free(s->tab);
	s->tab = nt;
	s->tcap = nc;
	return 0;
}

/* Index of path's record (created absent); -1 on ENOMEM. */
static ssize_t fx_find(struct fx_state *s, const char *path, uint64_t size)
{
	size_t j;
	struct fx_rec rec = { 0 };

	if ((s->n + 1) * 2 > s->tcap && tab_rebuild(s))
		return -1;
	j = lm_hash64(path, strlen(path)) & (s->tcap - 1);
	while (s->tab[j]) {
		if (!strcmp(s->r[s->tab[j] - 1].path, path))
			return (ssize_t)s->tab[j] - 1;
		j = (j + 1) & (s->tcap - 1);
	}
	rec.path = lm_arena_strdup(s->arena, path);
	if (!rec.path || fx_push(s, &rec))
		return -1;
	s->r[s->n - 1].size = size;
	s->r[s->n - 1].mtime_ms = -1;
	s->r[s->n - 1].first = s->r[s->n - 1].last = s->r[s->n - 1].since = -1;
	s->tab[j] = (uint32_t)s->n;
	return (ssize_t)s->n - 1;
}

/* Path r stops being live after version end: its interval [since, end] against the
 * versions rebuilt so far (all of them are <= end). */
static void fx_close(struct fx_state *s, struct fx_rec *r)
{
	size_t lo = 0, hi = s->nshown;

	r->live = false;
	if (!r->present)
		s->live_missing--;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (s->shown[m] < r->since)
			lo = m + 1;
		else
			hi = m;
	}
	if (lo == s->nshown)
		return;      /* no version rebuilt while it was live */
	if (r->first < 0)
		r->first = s->shown[lo];
	r->last = s->shown[s->nshown - 1];
}

static void fx_open(struct fx_state *s, struct fx_rec *r, int64_t v)
{
	r->live = true;
	r->since = v;
	if (!r->present)
		s->live_missing++;
}

static void fx_close_all(struct fx_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i].live)
			fx_close(s, &s->r[i]);
}

/* The key of a raw log path (NULL when it cannot be placed: the replay poisons it). */
static char *fx_key(const struct lm_delta_io *io, const char *raw)
{
	char *rel = NULL;

	if (io->resolve(io->ud, raw, &rel, NULL))
		return NULL;
	return rel ? rel : strdup(raw);
}

/* Track what commit c changes (removes first, then adds, as reconciliation does). */
static int fx_track(struct fx_state *s, const struct lm_delta_io *io,
		    const struct lm_delta_commit *c, int64_t v)
{
	s->npend = 0;
	for (int pass = 0; pass < 2; pass++) {
		const struct lm_delta_file_action *a = pass ? c->adds : c->removes;
		size_t na = pass ? c->n_adds : c->n_removes;

		for (size_t i = 0; i < na; i++) {
			char *key = fx_key(io, a[i].path);
			ssize_t k;
			struct fx_rec *r;

			if (!key)
				continue;
			k = fx_find(s, key, a[i].size > 0 ? (uint64_t)a[i].size : 0);
			free(key);
			if (k < 0)
				return ENOMEM;
			r = &s->r[k];
			r->logged = true;
			if (!pass) {
				if (r->live && !r->pend) {
					if (s->npend == s->cappend) {
						size_t nc = s->cappend ? s->cappend * 2 : 64;
						uint32_t *np = realloc(s->pend, nc * sizeof(*np));

						if (!np)
							return ENOMEM;
						s->pend = np;
						s->cappend = nc;
					}
					s->pend[s->npend++] = (uint32_t)k;
					r->pend = true;
				}
			} else if (r->pend) {
				r->pend = false;         /* removed and added again: still live */
			} else if (!r->live) {
				if (!r->present && a[i].size >= 0)
					r->size = (uint64_t)a[i].size;
				fx_open(s, r, v);
			}
		}
	}
	for (size_t i = 0; i < s->npend; i++) {
		struct fx_rec *r = &s->r[s->pend[i]];

		if (r->pend) {
			r->pend = false;
			fx_close(s, r);
		}
	}
	return 0;
}

/* Does [p, p + n) contain word? (Out of line: GCC's -Wnonnull under the sanitizers
 * misreads the inlined memmem calls of the caller.) */
static __attribute__((noinline)) bool has_word(const char *p, size_t n, const char *word)
{
	return p && memmem(p, n, word, strlen(word)) != NULL;
}

/* Mark the storage records named by the cdc actions of one commit. */
static void fx_cdc_mark(struct fx_state *s, const struct lm_delta_io *io, const char *text,
			size_t len, bool all)
{
	static const char *const kinds[] = { "cdc", "add", "remove" };
	const char *line = text, *end = text + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
		cJSON *j = NULL, *path = NULL;
		size_t k = 0;

		if (ll > 7 && (has_word(line, ll, "\"cdc\"") ||
			       (all && (has_word(line, ll, "\"add\"") ||
					has_word(line, ll, "\"remove\"")))))
			j = cJSON_ParseWithLength(line, ll);
		for (k = 0; j && k < (all ? 3u : 1u) && !cJSON_IsString(path); k++)
			path = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(j, kinds[k]), "path");
		if (cJSON_IsString(path)) {
			char *key = fx_key(io, path->valuestring);
			ssize_t q = key ? fx_find(s, key, 0) : -2;

			if (q >= 0 && k == 1)
				s->r[q].cdc = true;
			else if (q >= 0)
				s->r[q].logged = true;
			free(key);
		}
		cJSON_Delete(j);
		line += ll + 1;
	}
}

static int fx_shown_push(struct fx_state *s, int64_t v)
{
	if (s->nshown == s->capshown) {
		size_t nc = s->capshown ? s->capshown * 2 : 256;
		int64_t *ns = realloc(s->shown, nc * sizeof(*ns));

		if (!ns)
			return ENOMEM;
		s->shown = ns;
		s->capshown = nc;
	}
	s->shown[s->nshown++] = v;
	return 0;
}

/* ---------- commit prefetch ----------
 * The walk reads every commit once, in order. On S3 each GET is a round trip, so a few
 * threads fetch the commits ahead of the walk into a window of slots (at most
 * PF_WINDOW commits and PF_BYTES bytes in flight, but always the next one); the walk
 * takes them in order. Commits the walk skips are released unread. */
#define PF_THREADS 6
#define PF_WINDOW 64
#define PF_BYTES ((uint64_t)256 << 20)

struct pf_slot {
	struct lm_buf buf;
	size_t idx;
	bool ready;
	int rc;
	struct lm_err err;
};

struct pf {
	struct lm_table *t;
	const struct lm_delta_log *l;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;               /* next index a worker fetches */
	size_t base;               /* lowest index the walk has not released */
	uint64_t inflight;         /* bytes of fetched or fetching, unreleased commits */
	bool stop;
	struct pf_slot slot[PF_WINDOW];
	pthread_t th[PF_THREADS];
	int nth;
};

static uint64_t pf_size(const struct pf *p, size_t i)
{
	return p->l->v[i].has_commit ? p->l->x[i].commit_size : 0;
}

static void *pf_worker(void *ud)
{
	struct pf *p = ud;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t i;
		struct pf_slot *sl;
		char name[48], *key;
		struct lm_err e2;
		int rc;

		while (!p->stop && p->next < p->l->n &&
		       (p->next >= p->base + PF_WINDOW ||
			(p->next > p->base && p->inflight + pf_size(p, p->next) > PF_BYTES)))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->next >= p->l->n)
			break;
		i = p->next++;
		p->inflight += pf_size(p, i);
		sl = &p->slot[i % PF_WINDOW];
		pthread_mutex_unlock(&p->mu);
		lm_err_init(&e2);
		lm_buf_reset(&sl->buf);
		rc = 0;
		if (p->l->v[i].has_commit) {
			snprintf(name, sizeof(name), "%020lld.json", (long long)p->l->v[i].version);
			key = lm_delta_log_key((struct lm_delta_table *)p->t, name);
			rc = key ? lm_store_get_all(p->t->store, key, (size_t)1 << 30, &sl->buf, NULL, &e2)
				 : lm_err_set(&e2, ENOMEM, "out of memory");
			free(key);
		}
		pthread_mutex_lock(&p->mu);
		sl->idx = i;
		sl->rc = rc;
		sl->err = e2;
		sl->ready = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int pf_start(struct pf *p, struct lm_table *t, const struct lm_delta_log *l, int threads)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->l = l;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (size_t i = 0; i < PF_WINDOW; i++)
		lm_buf_init(&p->slot[i].buf, (size_t)1 << 30);
	for (int k = 0; k < threads && k < PF_THREADS; k++) {
		if (pthread_create(&p->th[k], NULL, pf_worker, p))
			break;
		p->nth++;
	}
	return 0;   /* without threads pf_take reads in place */
}

static void pf_stop(struct pf *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int k = 0; k < p->nth; k++)
		pthread_join(p->th[k], NULL);
	for (size_t i = 0; i < PF_WINDOW; i++)
		lm_buf_free(&p->slot[i].buf);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

/* Release every index below i (waiting for fetches still writing into their slots). */
static void pf_release(struct pf *p, size_t i)
{
	pthread_mutex_lock(&p->mu);
	while (p->base < i) {
		struct pf_slot *sl = &p->slot[p->base % PF_WINDOW];

		while (!(sl->ready && sl->idx == p->base) && p->base < p->next)
			pthread_cond_wait(&p->cv, &p->mu);
		if (sl->ready && sl->idx == p->base) {
			sl->ready = false;
			p->inflight -= pf_size(p, p->base);
		}
		p->base++;
		pthread_cond_broadcast(&p->cv);
	}
	if (p->next < p->base)
		p->next = p->base;    /* never fetch what was released unread */
	pthread_mutex_unlock(&p->mu);
}

/* The bytes of commit l->v[i] (valid until pf_release passes i): 0, or the store's
 * code with *err. */
static int pf_take(struct pf *p, size_t i, struct lm_buf **buf, struct lm_err *err)
{
	struct pf_slot *sl = &p->slot[i % PF_WINDOW];
	int rc;

	pf_release(p, i);
	if (!p->nth) {             /* local storage: a read is a copy, threads only cost */
		char name[48], *key;

		snprintf(name, sizeof(name), "%020lld.json", (long long)p->l->v[i].version);
		key = lm_delta_log_key((struct lm_delta_table *)p->t, name);
		if (!key)
			return lm_err_set(err, ENOMEM, "out of memory");
		lm_buf_reset(&sl->buf);
		rc = lm_store_get_all(p->t->store, key, (size_t)1 << 30, &sl->buf, NULL, err);
		free(key);
		*buf = &sl->buf;
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	while (!(sl->ready && sl->idx == i))
		pthread_cond_wait(&p->cv, &p->mu);
	rc = sl->rc;
	if (rc)
		*err = sl->err;
	*buf = &sl->buf;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Apply commit v of l to r (a refusal breaks the replay, as the driver does). */
static int fx_apply(struct lm_table *t, const struct lm_delta_io *io, const struct lm_delta_log *l,
		    size_t i, struct lm_delta_replay *r, struct fx_state *s, struct pf *pf,
		    struct lm_err *err)
{
	int64_t v = l->v[i].version;
	struct lm_delta_commit c;
	struct lm_err e2, b;
	struct lm_buf *buf = NULL;
	char name[48];
	int rc;

	lm_delta_commit_init(&c);
	lm_err_init(&e2);
	lm_err_init(&b);
	snprintf(name, sizeof(name), "%020lld.json", (long long)v);
	if (!l->v[i].has_commit || (r->version >= 0 && r->version != v - 1)) {
		lm_err_set(&b, LM_EGAP,
			   "commit %020lld.json is missing (log gap at version %lld; no checkpoint after it bridges the gap)",
			   (long long)(r->version + 1), (long long)(r->version + 1));
		lm_err_reason(&b, "log-gap");
		lm_delta_replay_break(r, r->version + 1, &b);
		r->version = v;
		rc = 0;
		/* the commit after the gap is still read: what it names is not an orphan */
		if (l->v[i].has_commit && !(rc = pf_take(pf, i, &buf, &e2)))
			fx_cdc_mark(s, io, buf->data ? buf->data : "", buf->len, true);
		if (rc) {
			*err = e2;
			lm_err_prefix(err, "table %s: commit %s: ", lm_table_name(t), name);
		}
		goto out;
	}
	rc = pf_take(pf, i, &buf, &e2);
	if (rc) {
		*err = e2;
		lm_err_prefix(err, "table %s: commit %s: ", lm_table_name(t), name);
		goto out;
	}
	rc = lm_delta_commit_parse(buf->data ? buf->data : "", buf->len, &c, &e2);
	if (!rc && c.n_cdc)
		fx_cdc_mark(s, io, buf->data, buf->len, false);
	else if (rc && rc != ENOMEM && buf->len)   /* a malformed commit: what its whole
						    * lines name is not called an orphan */
		fx_cdc_mark(s, io, buf->data, buf->len, true);
	if (!rc)
		rc = lm_delta_replay_apply(r, v, &c, io->resolve, io->ud, &e2);
	if (!rc)
		rc = fx_track(s, io, &c, v);
	if (rc == ENOMEM) {
		lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (rc) {
		lm_err_set(&b, rc, "commit %s: %s", name, e2.msg);
		lm_err_reason(&b, rc == LM_EFORMAT ? "invalid-json" : e2.reason);
		lm_delta_replay_break(r, v, &b);
		r->version = v;
		rc = 0;
	}
out:
	lm_delta_commit_free(&c);
	return rc;
}

/* Start the replay at the checkpoint of l->v[i]: 0 loaded, ENOENT none usable. */
static int fx_base(const struct lm_delta_io *io, const struct lm_delta_log *l, size_t i,
		   struct lm_delta_replay *r, struct fx_state *s, struct lm_err *err)
{
	const struct lm_delta_vextra *x = &l->x[i];

	for (uint32_t k = 0; k < x->ck_n; k++) {
		bool unusable = false;
		struct lm_err e2;
		int rc;

		lm_delta_replay_free(r);
		lm_delta_replay_init(r);
		lm_err_init(&e2);
		rc = lm_delta_ckpt_load(io, l, &l->ck[x->ck_first + k], r, &unusable, &e2);
		if (!rc) {
			for (size_t e = 0; e < r->n_e; e++) {
				ssize_t q;

				if (!r->f[e].path || (r->x && r->x[e].poisoned))
					continue;
				q = fx_find(s, r->f[e].path, r->f[e].size);
				if (q < 0)
					return lm_err_set(err, ENOMEM, "out of memory");
				s->r[q].logged = true;
				if (!s->r[q].live)
					fx_open(s, &s->r[q], l->v[i].version);
			}
			return 0;
		}
		if (!unusable) {
			*err = e2;
			return rc;
		}
	}
	lm_delta_replay_free(r);
	lm_delta_replay_init(r);
	return ENOENT;
}

static int fx_walk(struct lm_table *t, struct fx_state *s, struct lm_forensics *fx,
		   struct lm_err *err)
{
	struct lm_delta_table *dt = (struct lm_delta_table *)t;
	struct lm_delta_log l;
	struct lm_delta_replay r;
	struct lm_delta_io io;
	struct pf pf;
	bool need_base = true, pf_on = false;
	int rc;

	memset(&l, 0, sizeof(l));
	lm_delta_replay_init(&r);
	lm_delta_io_init(dt, &io);
	rc = lm_delta_log_list(t->store, t->key, t->name, &l, err);
	if (rc)
		goto out;
	/* prefetch threads for remote stores only */
	if ((rc = pf_start(&pf, t, &l, strncmp(t->store->uri, "s3://", 5) ? 0 : PF_THREADS))) {
		lm_err_set(err, rc, "table %s: cannot start the commit readers", t->name);
		goto out;
	}
	pf_on = true;
	if ((rc = tab_rebuild(s)))
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		int64_t v = l.v[i].version;
		struct lm_err e2;

		if (t->progress && (i % 64 == 0 || i + 1 == l.n))
			t->progress(t->progress_ud, "log", i + 1, l.n);
		pf_release(&pf, i);
		lm_err_init(&e2);
		if (l.staged_commits) {
			lm_err_set(&e2, LM_EUNSUPPORTED,
				   "table %s: version %lld: the table is catalog-managed (_delta_log/_staged_commits/); its commits are not readable from storage alone",
				   t->name, (long long)v);
			lm_err_reason(&e2, "catalog-managed");
			if ((rc = fx_issue(fx, v, &e2, LM_EUNSUPPORTED)))
				goto out;
			continue;
		}
		if (!need_base && (r.broken_code || v != r.version + 1) && l.v[i].has_checkpoint) {
			fx_close_all(s);   /* try to resume at this checkpoint */
			need_base = true;
		}
		if (need_base) {
			if (i == 0 && l.from_start && v == 0 && l.v[0].has_commit) {
				rc = fx_apply(t, &io, &l, i, &r, s, &pf, err);
			} else if (l.v[i].has_checkpoint) {
				rc = fx_base(&io, &l, i, &r, s, err);
				if (rc == ENOENT) {
					fx_close_all(s);
					lm_err_set(&e2, LM_EFORMAT, "table %s: version %lld: no checkpoint at or before this version can be read",
						   t->name, (long long)v);
					lm_err_reason(&e2, "invalid-checkpoint");
					if ((rc = fx_issue(fx, v, &e2, LM_EFORMAT)))
						goto out;
					continue;
				}
			} else if (!r.broken_code) {
				continue;      /* before the first checkpoint of a cleaned-up log:
						* not a version the table shows */
			} else {
				lm_err_set(&e2, LM_ENEEDCKPT,
					   "table %s: version %lld cannot be reconstructed: the commits before it are gone and no checkpoint is at or before it",
					   t->name, (long long)v);
				lm_err_reason(&e2, r.broken_code ? r.broken_word : "needs-checkpoint");
				if (r.broken_code)
					lm_err_set(&e2, r.broken_code, "table %s: version %lld: %s", t->name,
						   (long long)v, r.broken_msg);
				if ((rc = fx_issue(fx, v, &e2, e2.code)))
					goto out;
				continue;
			}
			if (rc)
				goto out;
			need_base = false;
		} else {
			rc = fx_apply(t, &io, &l, i, &r, s, &pf, err);
			if (rc)
				goto out;
		}
		rc = lm_delta_replay_check(&r, &e2);
		if (rc) {
			int code = rc;
			const char *word = e2.reason;

			lm_err_prefix(&e2, "table %s: version %lld: ", t->name, (long long)v);
			lm_err_reason(&e2, word);
			if ((rc = fx_issue(fx, v, &e2, code)))
				goto out;
			fx->nversions++;
			continue;
		}
		if ((rc = fx_shown_push(s, v)))
			goto out;
		fx->nversions++;
		fx->latest = v;
		if (!s->live_missing)
			fx->restore = v;
	}
	fx_close_all(s);
	rc = 0;
out:
	if (rc == ENOMEM)
		lm_err_set(err, ENOMEM, "out of memory");
	if (pf_on)
		pf_stop(&pf);
	lm_delta_replay_free(&r);
	lm_delta_log_free(&l);
	return rc;
}

int lm_delta_forensics_run(struct lm_table *t, int64_t now_ms, int64_t min_age_ms,
			   struct lm_forensics **out, struct lm_err *err)
{
	struct lm_forensics *fx = NULL;
	struct lm_version_info *v = NULL;
	struct fx_state s = { 0 };
	size_t nv = 0;
	int rc;

	*out = NULL;
	if (t->fmt != LM_TABLE_DELTA)
		return lm_err_set(err, EINVAL, "table %s: forensics need a Delta table",
				  lm_table_name(t));
	fx = calloc(1, sizeof(*fx));
	if (!fx) {
		rc = ENOMEM;
		goto out;
	}
	lm_arena_init(&fx->arena);
	fx->latest = fx->restore = -1;
	fx->format = "delta";
	fx->latest_snapshot = fx->restore_snapshot = fx->restore_metadata_version = -1;
	s.arena = &fx->arena;
	s.t = t;
	rc = lm_delta_table_versions(t, &v, &nv, err);
	if (rc)
		goto out;
	rc = fx_storage(t, &s, err);
	if (!rc)
		rc = fx_walk(t, &s, fx, err);
	if (rc)
		goto out;
	if (s.n)
		qsort(s.r, s.n, sizeof(*s.r), fx_cmp);
	fx->f = calloc(s.n ? s.n : 1, sizeof(*fx->f));
	if (!fx->f) {
		rc = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct fx_rec *r = &s.r[i];
		struct lm_forensic_file *f = &fx->f[fx->n];

		memset(f, 0, sizeof(*f));
		f->path = r->path;
		f->size = r->size;
		f->mtime_ms = r->mtime_ms;
		f->first_version = r->first;
		f->last_version = r->last;
		f->removed_version = f->removed_ms = -1;
		f->first_snapshot = f->last_snapshot = f->removed_snapshot = -1;
		if (!r->present) {
			if (r->first < 0)
				continue;      /* named by the log, never live in a rebuilt version */
			f->kind = LM_FX_MISSING;
			f->in_latest = r->last == fx->latest;
			fx->n_missing++;
		} else if (r->last < 0 && (r->cdc || r->hidden)) {
			continue;      /* change-data, hidden or format-owned: not an orphan */
		} else if (r->last < 0 && r->logged) {
			continue;      /* named by a commit no rebuilt version reached (a refused
					* version): not provably an orphan */
		} else if (r->last < 0) {
			f->kind = now_ms - r->mtime_ms < min_age_ms ? LM_FX_RECENT : LM_FX_ORPHAN;
			if (f->kind == LM_FX_RECENT)
				fx->n_recent++;
			else
				fx->n_orphan++;
		} else if (r->last != fx->latest) {
			f->kind = LM_FX_REMOVED;
			fx->n_removed++;
			{      /* the next rebuilt version, and its commit time */
				size_t lo = 0, hi = s.nshown;

				while (lo < hi) {
					size_t m = lo + (hi - lo) / 2;

					if (s.shown[m] <= r->last)
						lo = m + 1;
					else
						hi = m;
				}
				if (lo < s.nshown)
					f->removed_version = s.shown[lo];
				lo = 0;
				hi = nv;
				while (lo < hi) {
					size_t m = lo + (hi - lo) / 2;

					if (v[m].version < f->removed_version)
						lo = m + 1;
					else
						hi = m;
				}
				if (f->removed_version >= 0 && lo < nv &&
				    v[lo].version == f->removed_version)
					f->removed_ms = v[lo].commit_ms;
			}
		} else {
			continue;      /* live in the newest version and present: nothing to say */
		}
		fx->n++;
	}
	*out = fx;
	fx = NULL;
out:
	free(s.r);
	free(s.tab);
	free(s.shown);
	free(s.pend);
	free(v);
	lm_delta_forensics_free(fx);
	return rc;
}

void lm_delta_forensics_free(struct lm_forensics *fx)
{
	if (!fx)
		return;
	free(fx->f);
	free(fx->issues);
	lm_arena_free(&fx->arena);
	free(fx);
}

const char *lm_forensic_kind_name(enum lm_forensic_kind k)
{
	switch (k) {
	case LM_FX_ORPHAN: return "orphan";
	case LM_FX_RECENT: return "recent";
	case LM_FX_REMOVED: return "removed";
	case LM_FX_MISSING: return "missing";
	}
	return "?";
}

/* One report: "orphans" (orphans and recent files), "removed" or "missing". */
int lm_delta_forensics_json(struct lm_table *t, const char *which, struct lm_buf *out,
			    struct lm_err *err)
{
	struct lm_forensics *fx = NULL;
	cJSON *root = NULL, *arr;
	char *text = NULL;
	int64_t min_age = t->orphan_min_age_ms >= 0 ? t->orphan_min_age_ms
						     : LM_DELTA_ORPHAN_MIN_AGE_MS;
	int rc;

	rc = lm_delta_forensics_run(t, lm_now_ms(), min_age, &fx, err);
	if (rc)
		goto out;
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "table", lm_table_name(t)) ||
	    !cJSON_AddNumberToObject(root, "latest", (double)fx->latest) ||
	    !cJSON_AddNumberToObject(root, "restore_target", (double)fx->restore) ||
	    (!strcmp(which, "orphans") &&
	     !cJSON_AddNumberToObject(root, "min_age_ms", (double)min_age)) ||
	    !(arr = cJSON_AddArrayToObject(root, which))) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < fx->n; i++) {
		const struct lm_forensic_file *f = &fx->f[i];
		bool want = !strcmp(which, "orphans") ? (f->kind == LM_FX_ORPHAN ||
							 f->kind == LM_FX_RECENT) :
			    !strcmp(which, "removed") ? f->kind == LM_FX_REMOVED :
			    f->kind == LM_FX_MISSING;
		cJSON *o;

		if (!want)
			continue;
		o = cJSON_CreateObject();
		if (!o) {
			rc = lm_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "path", f->path);
		cJSON_AddNumberToObject(o, "size", (double)f->size);
		if (f->kind == LM_FX_MISSING) {
			cJSON_AddNumberToObject(o, "first_version", (double)f->first_version);
			cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
			continue;
		}
		cJSON_AddNumberToObject(o, "last_modified_ms", (double)f->mtime_ms);
		if (f->kind == LM_FX_REMOVED) {
			cJSON_AddNumberToObject(o, "last_version", (double)f->last_version);
			cJSON_AddNumberToObject(o, "removed_version", (double)f->removed_version);
			cJSON_AddNumberToObject(o, "removed_ms", (double)f->removed_ms);
		} else {
			cJSON_AddStringToObject(o, "status", lm_forensic_kind_name(f->kind));
			cJSON_AddStringToObject(o, "reason", "never referenced");
		}
	}
	text = cJSON_Print(root);
	if (!text) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = lm_buf_append(out, text, strlen(text));
	if (!rc)
		rc = lm_buf_append(out, "\n", 1);
	if (rc)
		rc = lm_err_set(err, rc, "table %s: @info/%s.json: %s", lm_table_name(t), which,
				lm_strerror(rc));
out:
	free(text);
	cJSON_Delete(root);
	lm_delta_forensics_free(fx);
	return rc;
}
