/* Storage interface: one object namespace of '/'-separated keys relative to the
 * source root (SOURCE = /local/dir or s3://bucket/prefix). Backends: local, s3, fault.
 *
 * Keys never start with '/', never contain empty, "." or ".." components; backends
 * refuse such keys with LM_EESCAPE. All calls are thread-safe: FUSE worker threads
 * share one store. */
#ifndef LM_STORE_H
#define LM_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/buf.h"
#include "lm/err.h"

/* What the store knows about an object. */
struct lm_obj_info {
	uint64_t size;
	int64_t mtime_ms;   /* LastModified / st_mtime, ms since epoch */
	char etag[128];     /* S3 ETag (quotes kept) or local "ino-size-mtimens"; "" if unknown */
};

/* One listing entry. name is the full key (or common prefix ending in '/').
 * Borrowed: valid only during the callback. */
struct lm_list_entry {
	const char *key;
	bool is_prefix;          /* a "folder" (only with LM_LIST_DELIM) */
	struct lm_obj_info info; /* zero for prefixes */
};

/* Return 0 to continue, non-zero to stop listing (that value is returned by list). */
typedef int (*lm_list_cb)(void *ud, const struct lm_list_entry *e);

enum {
	LM_LIST_DELIM = 1,  /* group by '/': immediate children only (S3 delimiter=/) */
};

/* A ranged read. */
struct lm_get_req {
	const char *key;
	uint64_t off;
	size_t len;             /* bytes wanted; fewer only at end of object */
	const char *if_match;   /* expected etag (from an earlier read), or NULL */
};

struct lm_store;

/* What a store has done, for a stats file (lm_store_stats). */
struct lm_store_stats {
	uint64_t gets, heads, lists;   /* calls through lm_store_*, by kind */
	uint64_t missing;              /* calls that found no object (ENOENT) */
	uint64_t errors;               /* calls that failed otherwise */
	uint64_t bytes;                /* bytes the gets returned */
	/* the backend's own (0 where it has none): */
	uint64_t requests;             /* S3: HTTP requests sent, every attempt and listing page */
	uint64_t retries;              /* attempts after a request's first */
	uint64_t throttled;            /* answers asking to slow down or come back (429, 503) */
};

struct lm_store_ops {
	const char *name;   /* "local", "s3", "fault" */
	/* Read up to req->len bytes at req->off into dst; *got = bytes read (short only at
	 * EOF). info (optional) receives the object's size/mtime/etag as seen by this read.
	 * Missing object: ENOENT. Identity changed vs if_match: LM_EMISMATCH. */
	int (*get_range)(struct lm_store *s, const struct lm_get_req *req, void *dst,
			 size_t *got, struct lm_obj_info *info, struct lm_err *err);
	/* Metadata only. Missing: ENOENT. */
	int (*head)(struct lm_store *s, const char *key, struct lm_obj_info *info,
		    struct lm_err *err);
	/* List keys starting with prefix (prefix "" = whole source; a folder prefix ends
	 * with '/'), in byte order, strictly after start_after when non-NULL. */
	int (*list)(struct lm_store *s, const char *prefix, const char *start_after,
		    int flags, lm_list_cb cb, void *ud, struct lm_err *err);
	/* Map an absolute URI written in a table log (file:/..., s3://bucket/...,
	 * s3a://...) to a key of this store. ENOENT-free: returns LM_EESCAPE when the URI
	 * is not inside this store's source. out is malloc'd. */
	int (*uri_to_key)(struct lm_store *s, const char *uri, char **out,
			  struct lm_err *err);
	void (*destroy)(struct lm_store *s);
	/* Optional: add the backend's own counters (requests, retries, throttled). */
	void (*stats)(struct lm_store *s, struct lm_store_stats *out);
};

struct lm_store {
	const struct lm_store_ops *ops;
	char *uri;    /* the SOURCE as given, for messages: "/data/lake", "s3://b/p" */
	/* kept by the lm_store_* helpers (backends calloc their struct: all start at 0) */
	atomic_uint_fast64_t n_get, n_head, n_list, n_missing, n_errors, n_bytes;
};

/* Generic helpers built on ops. */
int lm_store_get_range(struct lm_store *s, const struct lm_get_req *req, void *dst,
		       size_t *got, struct lm_obj_info *info, struct lm_err *err);
int lm_store_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		  struct lm_err *err);
int lm_store_list(struct lm_store *s, const char *prefix, const char *start_after,
		  int flags, lm_list_cb cb, void *ud, struct lm_err *err);
/* Whole object into out (appends), refusing objects larger than cap (LM_ETOOBIG). */
int lm_store_get_all(struct lm_store *s, const char *key, size_t cap, struct lm_buf *out,
		     struct lm_obj_info *info, struct lm_err *err);
int lm_store_uri_to_key(struct lm_store *s, const char *uri, char **out,
			struct lm_err *err);
void lm_store_free(struct lm_store *s);
void lm_store_stats(struct lm_store *s, struct lm_store_stats *out);

/* Local directory backend. root must exist and be a directory. */
int lm_store_local_new(const char *root, struct lm_store **out, struct lm_err *err);

/* S3 backend (src/store/s3/). opts is a struct lm_s3_config * (include/lm/s3.h) or NULL
 * for the defaults taken from the environment. */
int lm_store_s3_open(const char *source, const void *opts, struct lm_store **out,
		     struct lm_err *err);

/* Open the right backend for a SOURCE string ("s3://..." or a path). opts may be NULL;
 * it is the backend configuration (struct lm_s3_config * for s3). */
int lm_store_open(const char *source, const void *opts, struct lm_store **out,
		  struct lm_err *err);

/* Test wrapper that injects faults into another store (takes ownership of inner).
 * Only get_range is disturbed; head, list and uri_to_key pass through. Call numbers
 * count get_range calls from 1. */
struct lm_fault_config {
	unsigned fail_first_n;   /* first N get_range calls fail with EIO (transient) */
	unsigned fail_every;     /* every Nth get_range call fails with EIO (0 = never) */
	unsigned truncate_every; /* every Nth get_range returns fewer bytes than it should,
				  * with result 0, as a lying backend would (0 = never) */
	unsigned latency_ms;     /* added to every get_range */
	bool fail_at;            /* get_range calls whose range covers fail_off fail (EIO) */
	uint64_t fail_off;
};
struct lm_fault_counts {
	uint64_t gets;           /* get_range calls */
	uint64_t bytes;          /* bytes returned by them */
	uint64_t failed;         /* injected failures and truncations */
	unsigned max_inflight;   /* most get_range calls running at once */
};
int lm_store_fault_new(struct lm_store *inner, const struct lm_fault_config *cfg,
		       struct lm_store **out);
/* s must be a fault store. */
void lm_store_fault_counts(struct lm_store *s, struct lm_fault_counts *out);
/* Change the configuration of a running fault store (counters kept). */
void lm_store_fault_set(struct lm_store *s, const struct lm_fault_config *cfg);

#endif
