/* Internal interfaces of the Delta driver (src/delta/). */
#ifndef LM_DELTA_INT_H
#define LM_DELTA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lm/arena.h"
#include "lm/delta.h"
#include "lm/err.h"
#include "lm/snapshot.h"
#include "lm/store.h"
#include "lm/table.h"

/* ---- log listing (log.c) ---- */
struct lm_delta_log {
	struct lm_version_info *v;   /* ascending by version */
	size_t n;
	bool staged_commits;         /* _staged_commits/ present: catalog-managed table */
	bool has_last_checkpoint;
};

int lm_delta_log_list(struct lm_store *s, const char *table_key, const char *name,
		      struct lm_delta_log *out, struct lm_err *err);
void lm_delta_log_free(struct lm_delta_log *l);
/* Index of version in l, or -1. */
ssize_t lm_delta_log_find(const struct lm_delta_log *l, int64_t version);

/* ---- replay (replay.c) ---- */
struct lm_delta_entry {
	const char *path;      /* decoded key relative to the table root, or the raw log
				* path when poisoned */
	const char *dv_id;     /* or NULL */
	uint64_t size;
	int64_t mtime_ms;
	uint32_t flags;        /* LM_FILE_* */
	uint32_t poisoned;     /* path could not be placed inside the table root */
	int64_t deleted_rows;  /* DV cardinality (-1 unknown), 0 without a DV */
	uint64_t hash;
};

struct lm_delta_replay {
	int64_t version;                 /* last applied version, -1 before any */
	struct lm_delta_entry *e;        /* slots; e[i].path == NULL = free */
	size_t n_e, cap_e;
	uint32_t *free_list;
	size_t n_free, cap_free;
	uint32_t *tab;                   /* open addressing: index+1, 0 = empty */
	size_t tab_cap, live;
	size_t poisoned_live;
	char poison_msg[LM_ERR_MSG];            /* first poisoned path still live, for messages */
	struct lm_arena strings;
	/* protocol/metadata state */
	bool has_protocol, has_metadata;
	int min_reader;
	char *unsupported;               /* malloc'd reason when the protocol is refused */
	const char *unsupported_word;
	char *table_id;
	/* sticky failure: a commit that could not be applied */
	int broken_code;
	const char *broken_word;
	int64_t broken_at;
	char broken_msg[LM_ERR_MSG];
};

void lm_delta_replay_init(struct lm_delta_replay *r);
void lm_delta_replay_free(struct lm_delta_replay *r);
/* Apply one decoded commit of version v. path_cb resolves a raw log path to a key
 * relative to the table root (0) or refuses it (LM_EESCAPE with a reason). */
typedef int (*lm_delta_resolve_fn)(void *ud, const char *raw, char **rel, struct lm_err *err);
int lm_delta_replay_apply(struct lm_delta_replay *r, int64_t v,
			  const struct lm_delta_commit *c, lm_delta_resolve_fn resolve,
			  void *ud, struct lm_err *err);
/* Mark the replay broken from version v on (sticky). */
void lm_delta_replay_break(struct lm_delta_replay *r, int64_t v, const struct lm_err *why);
/* Whether the state at r->version can be shown; fills err when not. */
int lm_delta_replay_check(const struct lm_delta_replay *r, struct lm_err *err);
/* Materialise the live files as a snapshot. */
int lm_delta_replay_snapshot(const struct lm_delta_replay *r, int64_t commit_ms,
			     struct lm_snapshot **out, struct lm_err *err);

#endif
