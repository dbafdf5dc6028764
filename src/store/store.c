/* store.c — generic store entry points (validation, whole-object reads) and the
 * SOURCE dispatcher. Owns nothing backend-specific. May call: store backends, util. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm/store.h"
#include "lm/util.h"

static int key_ok(const char *key, struct lm_err *err)
{
	if (!lm_relpath_ok(key))
		return lm_err_set(err, LM_EESCAPE, "refused key '%s': not a plain relative path",
				  key);
	return 0;
}

static int counted(struct lm_store *s, int rc)
{
	if (rc == ENOENT)
		atomic_fetch_add(&s->n_missing, 1);
	else if (rc)
		atomic_fetch_add(&s->n_errors, 1);
	return rc;
}

int lm_store_get_range(struct lm_store *s, const struct lm_get_req *req, void *dst,
		       size_t *got, struct lm_obj_info *info, struct lm_err *err)
{
	int rc = key_ok(req->key, err);

	if (rc)
		return rc;
	atomic_fetch_add(&s->n_get, 1);
	rc = counted(s, s->ops->get_range(s, req, dst, got, info, err));
	if (!rc)
		atomic_fetch_add(&s->n_bytes, *got);
	return rc;
}

int lm_store_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		  struct lm_err *err)
{
	int rc = key_ok(key, err);

	if (rc)
		return rc;
	atomic_fetch_add(&s->n_head, 1);
	return counted(s, s->ops->head(s, key, info, err));
}

int lm_store_list(struct lm_store *s, const char *prefix, const char *start_after,
		  int flags, lm_list_cb cb, void *ud, struct lm_err *err)
{
	if (*prefix) {
		/* "a/b/" is fine: check it without its trailing slash. */
		size_t n = strlen(prefix);
		char *p = lm_strndup(prefix, n && prefix[n - 1] == '/' ? n - 1 : n);
		int rc;

		if (!p)
			return ENOMEM;
		rc = key_ok(p, err);
		free(p);
		if (rc)
			return rc;
	}
	/* Not counted as failed: a callback's own non-zero stops a listing too. */
	atomic_fetch_add(&s->n_list, 1);
	return s->ops->list(s, prefix, start_after, flags, cb, ud, err);
}

int lm_store_get_all(struct lm_store *s, const char *key, size_t cap, struct lm_buf *out,
		     struct lm_obj_info *info, struct lm_err *err)
{
	struct lm_obj_info first = { 0 }, cur;
	uint64_t off = 0;
	int rc;

	for (;;) {
		/* A small first read learns the size; then the rest in large pieces. */
		size_t want = off ? (size_t)8 << 20 : (size_t)256 << 10;
		struct lm_get_req req = { .key = key, .off = off };
		size_t got = 0;

		if (off) {
			if (off >= first.size)
				break;
			if (first.size - off < want)
				want = (size_t)(first.size - off);
			req.if_match = first.etag[0] ? first.etag : NULL;
		}
		req.len = want;
		rc = lm_buf_reserve(out, want);
		if (rc)
			return lm_err_set(err, rc, "%s: %s (reading %zu bytes)", key,
					  lm_strerror(rc), want);
		rc = lm_store_get_range(s, &req, out->data + out->len, &got, &cur, err);
		if (rc)
			return rc;
		if (off == 0) {
			first = cur;
			if (first.size > cap)
				return lm_err_set(err, LM_ETOOBIG,
						  "%s: object is %llu bytes, over the %zu byte limit",
						  key, (unsigned long long)first.size, cap);
		}
		out->len += got;
		out->data[out->len] = '\0';
		off += got;
		if (off >= first.size)
			break;
		if (got == 0)
			return lm_err_set(err, LM_EMISMATCH,
					  "%s: object shorter than its size %llu (read %llu)", key,
					  (unsigned long long)first.size, (unsigned long long)off);
	}
	if (info)
		*info = first;
	return 0;
}

int lm_store_uri_to_key(struct lm_store *s, const char *uri, char **out,
			struct lm_err *err)
{
	return s->ops->uri_to_key(s, uri, out, err);
}

void lm_store_free(struct lm_store *s)
{
	if (s)
		s->ops->destroy(s);
}

void lm_store_stats(struct lm_store *s, struct lm_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->gets = atomic_load(&s->n_get);
	out->heads = atomic_load(&s->n_head);
	out->lists = atomic_load(&s->n_list);
	out->missing = atomic_load(&s->n_missing);
	out->errors = atomic_load(&s->n_errors);
	out->bytes = atomic_load(&s->n_bytes);
	if (s->ops->stats)
		s->ops->stats(s, out);
}


int lm_store_open(const char *source, const void *opts, struct lm_store **out,
		  struct lm_err *err)
{
	if (strncmp(source, "s3://", 5) == 0)
		return lm_store_s3_open(source, opts, out, err);
	if (strstr(source, "://"))
		return lm_err_set(err, LM_ECONFIG,
				  "%s: unknown source scheme (use s3://bucket/prefix or a local directory)",
				  source);
	return lm_store_local_new(source, out, err);
}
