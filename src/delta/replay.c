/* replay.c — Delta action reconciliation (PROTOCOL.md "Action Reconciliation"):
 * the live set keyed by (path, deletion vector unique id), with removes of a commit
 * applied before its adds, plus the protocol/metaData state that decides whether a
 * version may be shown. Cost is linear in the number of actions: one open-addressing
 * hash table of slot indices, slots recycled through a free list.
 * Owns struct lm_delta_replay. May call: snapshot, util, cJSON. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "delta_int.h"
#include "lm/util.h"

void lm_delta_replay_init(struct lm_delta_replay *r)
{
	memset(r, 0, sizeof(*r));
	r->version = -1;
	r->broken_at = -1;
	r->base = -1;
	lm_arena_init(&r->strings);
}

void lm_delta_replay_free(struct lm_delta_replay *r)
{
	free(r->e);
	free(r->free_list);
	free(r->tab);
	free(r->unsupported);
	free(r->table_id);
	free(r->protocol_json);
	free(r->metadata_json);
	for (size_t i = 0; i < r->n_adopted; i++)
		lm_arena_free(&r->adopted[i]);
	free(r->adopted);
	lm_arena_free(&r->strings);
	lm_delta_replay_init(r);
}

static uint64_t key_hash(const char *path, const char *dv)
{
	uint64_t h = lm_hash64(path, strlen(path));

	if (dv)
		h ^= lm_hash64(dv, strlen(dv)) * 31;
	return h;
}

static bool key_eq(const struct lm_delta_entry *e, const char *path, const char *dv,
		   uint64_t h)
{
	if (e->hash != h || strcmp(e->path, path) != 0)
		return false;
	if (!e->dv || !dv)
		return !e->dv && !dv;
	return strcmp(e->dv->id, dv) == 0;
}

/* A slot of tab: the entry index + 1 in the low 32 bits (0 = empty), the high 32 bits
 * of its hash above, so most probes never touch the entry itself. */
#define SLOT_IDX(s) ((uint32_t)(s))
#define SLOT_TAG(s) ((s) >> 32)
#define MK_SLOT(h, idx1) (((h) & ~(uint64_t)0xffffffffu) | (uint64_t)(idx1))

static int grow_table(struct lm_delta_replay *r)
{
	size_t ncap = r->tab_cap ? r->tab_cap * 2 : 1024;
	uint64_t *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return ENOMEM;
	for (size_t i = 0; i < r->tab_cap; i++) {
		uint32_t idx = SLOT_IDX(r->tab[i]);
		size_t j;

		if (!idx)
			continue;
		j = r->e[idx - 1].hash & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = r->tab[i];
	}
	free(r->tab);
	r->tab = nt;
	r->tab_cap = ncap;
	return 0;
}

/* Position in tab of the key, or of the empty slot where it would go. */
static size_t find_pos(const struct lm_delta_replay *r, const char *path, const char *dv,
		       uint64_t h, bool *found)
{
	size_t j = h & (r->tab_cap - 1);

	for (;;) {
		uint64_t slot = r->tab[j];
		uint32_t idx = SLOT_IDX(slot);

		if (!idx) {
			*found = false;
			return j;
		}
		if (SLOT_TAG(slot) == h >> 32 && key_eq(&r->e[idx - 1], path, dv, h)) {
			*found = true;
			return j;
		}
		j = (j + 1) & (r->tab_cap - 1);
	}
}

/* Backward-shift deletion keeps linear probing chains intact without tombstones. */
static void tab_delete(struct lm_delta_replay *r, size_t j)
{
	size_t mask = r->tab_cap - 1;
	size_t i = j;

	r->tab[i] = 0;
	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (!r->tab[j])
			return;
		k = r->e[SLOT_IDX(r->tab[j]) - 1].hash & mask;
		/* Move tab[j] into the hole at i when its home k is not in (i, j]. */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			r->tab[i] = r->tab[j];
			r->tab[j] = 0;
			i = j;
		}
	}
}

static int do_remove(struct lm_delta_replay *r, const char *path, const char *dv)
{
	uint64_t h = key_hash(path, dv);
	bool found;
	size_t j;
	uint32_t idx;

	if (!r->tab_cap)
		return 0;
	j = find_pos(r, path, dv, h, &found);
	if (!found)
		return 0;   /* removing an unknown file is allowed (tombstone) */
	idx = SLOT_IDX(r->tab[j]) - 1;
	if (r->e[idx].poisoned)
		r->poisoned_live--;
	r->e[idx].path = NULL;
	tab_delete(r, j);
	r->live--;
	if (r->n_free == r->cap_free) {
		size_t nc = r->cap_free ? r->cap_free * 2 : 256;
		uint32_t *p = realloc(r->free_list, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		r->free_list = p;
		r->cap_free = nc;
	}
	r->free_list[r->n_free++] = idx;
	return 0;
}

/* Fill a fresh or reused slot. */
static int set_entry(struct lm_delta_replay *r, struct lm_delta_entry *e, bool fresh,
		     const char *path, const char *dv, const struct lm_delta_file_action *a,
		     bool poisoned, bool owned)
{
	if (fresh) {
		/* owned: the action's strings live in an arena the replay adopted */
		e->path = owned && path == a->path ? path : lm_arena_strdup(&r->strings, path);
		e->dv = NULL;
		if (!e->path)
			return ENOMEM;
		if (dv) {
			struct lm_delta_dvref *d = lm_arena_alloc(&r->strings, sizeof(*d));

			if (!d)
				return ENOMEM;
			d->id = owned ? dv : lm_arena_strdup(&r->strings, dv);
			d->data = !a->dv_data ? NULL :
				  owned ? a->dv_data : lm_arena_strdup(&r->strings, a->dv_data);
			d->offset = a->dv_offset;
			d->size = a->dv_size;
			d->storage = a->dv_storage;
			if (!d->id || (a->dv_data && !d->data))
				return ENOMEM;
			e->dv = d;
		}
	} else if (e->poisoned) {
		r->poisoned_live--;
	}
	e->size = (uint64_t)a->size;
	e->mtime_ms = a->mtime_ms;
	e->flags = (a->flags & LM_DELTA_HAS_DV) ? LM_FILE_HAS_DV : 0;
	e->deleted_rows = (a->flags & LM_DELTA_HAS_DV) ? a->dv_cardinality : 0;
	e->poisoned = poisoned;
	if (poisoned) {
		if (!r->poisoned_live)
			snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", path);
		r->poisoned_live++;
	}
	return 0;
}

/* A new slot index (from the free list or the end). */
static int new_slot(struct lm_delta_replay *r, uint32_t *idx)
{
	if (r->n_free) {
		*idx = r->free_list[--r->n_free];
		return 0;
	}
	if (r->n_e == r->cap_e) {
		size_t nc = r->cap_e ? r->cap_e * 2 : 1024;
		struct lm_delta_entry *p;

		if (nc > UINT32_MAX - 1)
			return ENOMEM;
		p = realloc(r->e, nc * sizeof(*p));
		if (!p)
			return ENOMEM;
		r->e = p;
		r->cap_e = nc;
	}
	*idx = (uint32_t)r->n_e++;
	return 0;
}

static int do_add(struct lm_delta_replay *r, const char *path, const char *dv,
		  const struct lm_delta_file_action *a, bool poisoned)
{
	uint64_t h = key_hash(path, dv);
	bool found;
	size_t j;
	uint32_t idx;
	int rc;

	if ((r->live + 1) * 4 >= r->tab_cap * 3 && grow_table(r))
		return ENOMEM;
	j = find_pos(r, path, dv, h, &found);
	if (found)   /* Re-add of a live key: the newer add wins (same file, new metadata). */
		return set_entry(r, &r->e[SLOT_IDX(r->tab[j]) - 1], false, path, dv, a, poisoned,
				 false);
	rc = new_slot(r, &idx);
	if (rc)
		return rc;
	r->tab[j] = MK_SLOT(h, idx + 1);
	r->live++;
	r->e[idx].hash = h;
	return set_entry(r, &r->e[idx], true, path, dv, a, poisoned, false);
}

/* Index the entries a checkpoint load appended (see lm_delta_replay_load). A key seen
 * twice (a malformed checkpoint) keeps its later entry, as a re-add would. */
static int ensure_index(struct lm_delta_replay *r)
{
	size_t need = 1024;

	if (!r->unindexed)
		return 0;
	while ((r->live + 1) * 4 >= need * 3)
		need *= 2;
	free(r->tab);
	r->tab = calloc(need, sizeof(*r->tab));
	if (!r->tab) {
		r->tab_cap = 0;
		return ENOMEM;
	}
	r->tab_cap = need;
	for (size_t i = 0; i < r->n_e; i++) {
		struct lm_delta_entry *e = &r->e[i];
		const char *dv;
		bool found;
		size_t j;

		if (!e->path)
			continue;
		dv = e->dv ? e->dv->id : NULL;
		e->hash = key_hash(e->path, dv);
		j = find_pos(r, e->path, dv, e->hash, &found);
		if (found) {
			struct lm_delta_entry *old = &r->e[SLOT_IDX(r->tab[j]) - 1];

			if (old->poisoned)
				r->poisoned_live--;
			old->path = NULL;
			r->live--;
			if (r->n_free == r->cap_free) {
				size_t nc = r->cap_free ? r->cap_free * 2 : 256;
				uint32_t *p = realloc(r->free_list, nc * sizeof(*p));

				if (!p)
					return ENOMEM;
				r->free_list = p;
				r->cap_free = nc;
			}
			r->free_list[r->n_free++] = SLOT_IDX(r->tab[j]) - 1;
		}
		r->tab[j] = MK_SLOT(e->hash, (uint32_t)i + 1);
	}
	r->unindexed = false;
	return 0;
}

/* Resolve a raw path; on refusal, the raw path becomes the (poisoned) key. *key NULL
 * with 0: the raw path is the key as it is. */
static int resolve(const char *raw, lm_delta_resolve_fn fn, void *ud, char **key,
		   bool *poisoned, char *why, size_t whysz, struct lm_err *err)
{
	struct lm_err e2;
	int rc;

	*key = NULL;
	e2.code = 0;
	rc = fn(ud, raw, key, &e2);
	if (rc && !e2.code)
		lm_err_init(&e2);
	if (rc == LM_EESCAPE) {
		*key = strdup(raw);
		*poisoned = true;
		if (why && !why[0])
			snprintf(why, whysz, "%s", e2.msg);
		return *key ? 0 : ENOMEM;
	}
	if (rc) {
		*err = e2;
		return rc;
	}
	*poisoned = false;
	return 0;
}

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++) {
		cJSON *s = cJSON_CreateString(v[i] ? v[i] : "");

		if (!s) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, s);
	}
	return a;
}

/* Replace *dst by the compact text of o (consumed). */
static int keep_json(char **dst, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!s)
		return ENOMEM;
	free(*dst);
	*dst = strdup(s);
	cJSON_free(s);
	return *dst ? 0 : ENOMEM;
}

static int keep_protocol(struct lm_delta_replay *r, const struct lm_delta_protocol *p)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return ENOMEM;
	cJSON_AddNumberToObject(o, "minReaderVersion", p->min_reader);
	cJSON_AddNumberToObject(o, "minWriterVersion", p->min_writer);
	if (p->reader_features)
		cJSON_AddItemToObject(o, "readerFeatures",
				      str_array(p->reader_features, p->n_reader_features));
	if (p->writer_features)
		cJSON_AddItemToObject(o, "writerFeatures",
				      str_array(p->writer_features, p->n_writer_features));
	r->catalog_feature = false;
	for (size_t i = 0; i < p->n_reader_features; i++)
		if (p->reader_features[i] && (!strcmp(p->reader_features[i], "catalogManaged") ||
					      !strncmp(p->reader_features[i], "catalogOwned", 12)))
			r->catalog_feature = true;
	return keep_json(&r->protocol_json, o);
}

static int keep_metadata(struct lm_delta_replay *r, const struct lm_delta_metadata *m)
{
	cJSON *o = cJSON_CreateObject(), *conf;

	if (!o)
		return ENOMEM;
	cJSON_AddStringToObject(o, "id", m->id ? m->id : "");
	if (m->schema_string)
		cJSON_AddStringToObject(o, "schemaString", m->schema_string);
	cJSON_AddItemToObject(o, "partitionColumns",
			      str_array(m->partition_columns, m->n_partition_columns));
	conf = m->configuration_json ? cJSON_Parse(m->configuration_json) : NULL;
	cJSON_AddItemToObject(o, "configuration", conf ? conf : cJSON_CreateObject());
	if (m->created_time >= 0)
		cJSON_AddNumberToObject(o, "createdTime", (double)m->created_time);
	return keep_json(&r->metadata_json, o);
}

static int check_protocol(struct lm_delta_replay *r, const struct lm_delta_protocol *p)
{
	char buf[256];

	free(r->unsupported);
	r->unsupported = NULL;
	r->unsupported_word = NULL;
	r->has_protocol = true;
	r->min_reader = p->min_reader;
	if (p->min_reader > 3) {
		snprintf(buf, sizeof(buf), "minReaderVersion %d is not supported (this reader knows 1-3)",
			 p->min_reader);
		r->unsupported_word = "unsupported-reader-version";
	} else if (p->min_reader == 3) {
		for (size_t i = 0; i < p->n_reader_features; i++) {
			const char *f = p->reader_features[i];

			if (!lm_delta_reader_feature_supported(f)) {
				snprintf(buf, sizeof(buf), "reader feature '%s' is not supported", f);
				r->unsupported_word = "unsupported-feature";
				break;
			}
		}
	}
	if (r->unsupported_word) {
		r->unsupported = strdup(buf);
		if (!r->unsupported)
			return ENOMEM;
	}
	return 0;
}

static int apply_meta(struct lm_delta_replay *r, const struct lm_delta_commit *c,
		      struct lm_err *err)
{
	int rc;

	if (c->has_protocol) {
		rc = check_protocol(r, &c->protocol);
		if (!rc)
			rc = keep_protocol(r, &c->protocol);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (c->has_metadata) {
		r->has_metadata = true;
		free(r->table_id);
		r->table_id = c->metadata.id ? strdup(c->metadata.id) : NULL;
		if (keep_metadata(r, &c->metadata))
			return lm_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* Keep arena a (moved) alive as long as the replay. */
static int adopt(struct lm_delta_replay *r, struct lm_arena *a)
{
	if (r->n_adopted == r->cap_adopted) {
		size_t nc = r->cap_adopted ? r->cap_adopted * 2 : 16;
		struct lm_arena *p = realloc(r->adopted, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		r->adopted = p;
		r->cap_adopted = nc;
	}
	r->adopted[r->n_adopted++] = *a;
	lm_arena_init(a);
	return 0;
}

int lm_delta_replay_load(struct lm_delta_replay *r, int64_t v, struct lm_delta_commit *c,
			 lm_delta_resolve_fn fn, void *ud, struct lm_err *err)
{
	char why[LM_ERR_MSG] = "";
	int rc = apply_meta(r, c, err);

	if (rc)
		return rc;
	if (!r->unindexed && r->n_e)
		return lm_delta_replay_apply(r, v, c, fn, ud, err);
	if (adopt(r, &c->arena))
		return lm_err_set(err, ENOMEM, "out of memory");
	r->unindexed = true;
	for (size_t i = 0; i < c->n_adds; i++) {
		const struct lm_delta_file_action *a = &c->adds[i];
		char *key = NULL;
		bool poisoned;
		uint32_t idx;

		rc = resolve(a->path, fn, ud, &key, &poisoned, why, sizeof(why), err);
		if (rc)
			return rc;
		rc = new_slot(r, &idx);
		if (!rc) {
			r->live++;
			rc = set_entry(r, &r->e[idx], true, key ? key : a->path, a->dv_id, a, poisoned,
				       true);
		}
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->version = v;
	return 0;
}

int lm_delta_replay_apply(struct lm_delta_replay *r, int64_t v,
			  const struct lm_delta_commit *c, lm_delta_resolve_fn fn, void *ud,
			  struct lm_err *err)
{
	char why[LM_ERR_MSG] = "";
	int rc = apply_meta(r, c, err);

	if (rc)
		return rc;
	if (ensure_index(r))
		return lm_err_set(err, ENOMEM, "out of memory");
	/* Size the table once for this commit's adds instead of doubling through them. */
	while ((r->live + c->n_adds + 1) * 4 >= r->tab_cap * 3)
		if (grow_table(r))
			return lm_err_set(err, ENOMEM, "out of memory");
	/* Removes first, then adds (a commit never holds both for one key, but a replay
	 * that applied adds first would lose a re-added file). */
	for (size_t i = 0; i < c->n_removes; i++) {
		char *key = NULL;
		bool poisoned;

		rc = resolve(c->removes[i].path, fn, ud, &key, &poisoned, NULL, 0, err);
		if (rc)
			return rc;
		rc = do_remove(r, key ? key : c->removes[i].path, c->removes[i].dv_id);
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	for (size_t i = 0; i < c->n_adds; i++) {
		char *key = NULL;
		bool poisoned;

		rc = resolve(c->adds[i].path, fn, ud, &key, &poisoned, why, sizeof(why), err);
		if (rc)
			return rc;
		rc = do_add(r, key ? key : c->adds[i].path, c->adds[i].dv_id, &c->adds[i], poisoned);
		free(key);
		if (rc)
			return lm_err_set(err, rc, "out of memory");
	}
	if (why[0] && r->poisoned_live)
		snprintf(r->poison_msg, sizeof(r->poison_msg), "%s", why);
	r->version = v;
	return 0;
}

void lm_delta_replay_break(struct lm_delta_replay *r, int64_t v, const struct lm_err *why)
{
	if (r->broken_code)
		return;
	r->broken_code = why->code ? why->code : LM_EFORMAT;
	r->broken_word = why->reason;
	r->broken_at = v;
	snprintf(r->broken_msg, sizeof(r->broken_msg), "%s", why->msg);
}

int lm_delta_replay_check(const struct lm_delta_replay *r, struct lm_err *err)
{
	int rc;

	if (r->broken_code) {
		rc = lm_err_set(err, r->broken_code, "%s", r->broken_msg);
		lm_err_reason(err, r->broken_word);
		return rc;
	}
	if (!r->has_protocol) {
		rc = lm_err_set(err, LM_ENOPROTOCOL, "no protocol action in any commit up to this version");
		lm_err_reason(err, "missing-protocol");
		return rc;
	}
	if (!r->has_metadata) {
		rc = lm_err_set(err, LM_ENOMETADATA, "no metaData action in any commit up to this version");
		lm_err_reason(err, "missing-metadata");
		return rc;
	}
	if (r->unsupported) {
		rc = lm_err_set(err, LM_EUNSUPPORTED, "%s", r->unsupported);
		lm_err_reason(err, r->unsupported_word);
		return rc;
	}
	if (r->poisoned_live) {
		rc = lm_err_set(err, LM_EESCAPE, "refused: %s (%zu such file%s live)",
				r->poison_msg, r->poisoned_live, r->poisoned_live == 1 ? "" : "s");
		lm_err_reason(err, "path-escape");
		return rc;
	}
	return 0;
}

/* ---- sorting the live paths (strcmp order) ----
 * MSD on 8-byte big-endian words of the strings: each level loads the next word of
 * every key once (one pointer chase), sorts the range by it with an LSD radix sort that
 * skips the byte positions all keys share, and recurses into runs of equal words. Paths
 * of a table share long prefixes; strcmp-based sorting of a million of them costs most
 * of a checkpoint load otherwise. */

struct skey {
	uint64_t w;
	const char *p;
	uint32_t i;
	uint32_t ended;  /* the string ends within w */
};

static uint64_t load_word(const char *p, size_t depth, uint32_t *ended)
{
	uint64_t w = 0;
	size_t k;

	p += depth;
	for (k = 0; k < 8 && p[k]; k++)
		w |= (uint64_t)(unsigned char)p[k] << (56 - 8 * k);
	*ended = k < 8;
	return w;
}

static void insertion(struct skey *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct skey x = a[i];
		size_t j = i;

		while (j && a[j - 1].w > x.w) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

static void radix_words(struct skey *a, struct skey *tmp, size_t n)
{
	size_t count[8][256];

	if (n < 48) {
		insertion(a, n);
		return;
	}
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			count[b][(a[i].w >> (8 * b)) & 0xff]++;
	for (int b = 0; b < 8; b++) {
		size_t sum = 0;
		bool one = false;

		for (int k = 0; k < 256; k++)
			if (count[b][k] == n)
				one = true;
		if (one)
			continue;   /* every key has the same byte here */
		for (int k = 0; k < 256; k++) {
			size_t c = count[b][k];

			count[b][k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[b][(a[i].w >> (8 * b)) & 0xff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
}

/* tmp is parallel to a (same offsets), so disjoint ranges can be sorted at once. */
static void sort_keys(struct skey *a, struct skey *tmp, size_t n, size_t depth);

struct sort_half {
	struct skey *a, *tmp;
	size_t from, to, depth;
};

/* Sort the runs of equal words in [from, to) one level deeper. */
static void sort_runs(struct skey *a, struct skey *tmp, size_t from, size_t to, size_t depth)
{
	size_t i = from;

	while (i < to) {
		size_t j = i + 1;

		while (j < to && a[j].w == a[i].w)
			j++;
		/* Equal words that end the strings: equal strings, any order. */
		if (j - i > 1 && !a[i].ended)
			sort_keys(a + i, tmp + i, j - i, depth + 8);
		i = j;
	}
}

static void *sort_half_run(void *arg)
{
	struct sort_half *h = arg;

	sort_runs(h->a, h->tmp, h->from, h->to, h->depth);
	return NULL;
}

static void sort_keys(struct skey *a, struct skey *tmp, size_t n, size_t depth)
{
	if (n < 2)
		return;
	for (size_t k = 0; k < n; k++)
		a[k].w = load_word(a[k].p, depth, &a[k].ended);
	radix_words(a, tmp, n);
	if (n >= 200000) {
		/* Big: a helper thread takes the runs of the second half. The split point is
		 * moved to a run boundary. */
		struct sort_half h = { .a = a, .tmp = tmp, .from = n / 2, .to = n, .depth = depth };
		pthread_t th;

		while (h.from < n && a[h.from].w == a[h.from - 1].w)
			h.from++;
		if (h.from < n && pthread_create(&th, NULL, sort_half_run, &h) == 0) {
			sort_runs(a, tmp, 0, h.from, depth);
			pthread_join(th, NULL);
			return;
		}
	}
	sort_runs(a, tmp, 0, n, depth);
}

int lm_delta_replay_snapshot(const struct lm_delta_replay *r, int64_t commit_ms,
			     struct lm_snapshot **out, struct lm_err *err)
{
	struct lm_file *files = malloc((r->live ? r->live : 1) * sizeof(*files));
	struct skey *keys = malloc((r->live ? r->live : 1) * sizeof(*keys));
	struct skey *tmp = malloc((r->live ? r->live : 1) * sizeof(*tmp));
	size_t n = 0;
	int rc;

	if (!files || !keys || !tmp) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->n_e; i++)
		if (r->e[i].path && n < r->live)
			keys[n++] = (struct skey){ .p = r->e[i].path, .i = (uint32_t)i };
	sort_keys(keys, tmp, n, 0);
	for (size_t k = 0; k < n; k++) {
		const struct lm_delta_entry *e = &r->e[keys[k].i];

		files[k] = (struct lm_file){ .path = e->path, .size = e->size,
					     .mtime_ms = e->mtime_ms, .flags = e->flags,
					     .deleted_rows = e->deleted_rows };
	}
	rc = lm_snapshot_new(r->version, commit_ms, files, n, out, err);
	if (rc == LM_EFORMAT)
		lm_err_reason(err, "duplicate-path");
out:
	free(tmp);
	free(keys);
	free(files);
	return rc;
}
