/* fault.c — a test store that wraps another and disturbs its get_range: transient
 * failures, short reads that claim success, failures at an offset, added latency;
 * and counts calls, bytes and concurrency. Owns the wrapped store. May call: the
 * inner store, libc. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lm/store.h"

struct fault_store {
	struct lm_store base;
	struct lm_store *inner;
	pthread_mutex_t mu;
	struct lm_fault_config cfg;
	struct lm_fault_counts n;
	unsigned inflight;
};

static int fault_get_range(struct lm_store *s, const struct lm_get_req *req, void *dst,
			   size_t *got, struct lm_obj_info *info, struct lm_err *err)
{
	struct fault_store *fs = (struct fault_store *)s;
	struct lm_fault_config cfg;
	uint64_t call;
	bool fail, truncate;
	int rc;

	*got = 0;
	pthread_mutex_lock(&fs->mu);
	cfg = fs->cfg;
	call = ++fs->n.gets;
	if (++fs->inflight > fs->n.max_inflight)
		fs->n.max_inflight = fs->inflight;
	pthread_mutex_unlock(&fs->mu);
	fail = call <= cfg.fail_first_n || (cfg.fail_every && call % cfg.fail_every == 0) ||
	       (cfg.fail_at && cfg.fail_off >= req->off && cfg.fail_off - req->off < req->len);
	truncate = cfg.truncate_every && call % cfg.truncate_every == 0;
	if (cfg.latency_ms) {
		struct timespec ts = { .tv_sec = cfg.latency_ms / 1000,
				       .tv_nsec = (long)(cfg.latency_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	if (fail) {
		rc = lm_err_set(err, EIO, "%s: injected failure (GET %llu)", req->key,
				(unsigned long long)call);
	} else {
		rc = lm_store_get_range(fs->inner, req, dst, got, info, err);
		if (!rc && truncate && *got > 0)
			*got /= 2;
	}
	pthread_mutex_lock(&fs->mu);
	fs->inflight--;
	if (fail || (truncate && !rc))
		fs->n.failed++;
	if (!rc)
		fs->n.bytes += *got;
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

static int fault_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		      struct lm_err *err)
{
	return lm_store_head(((struct fault_store *)s)->inner, key, info, err);
}

static int fault_list(struct lm_store *s, const char *prefix, const char *start_after,
		      int flags, lm_list_cb cb, void *ud, struct lm_err *err)
{
	return lm_store_list(((struct fault_store *)s)->inner, prefix, start_after, flags, cb,
			     ud, err);
}

static int fault_uri_to_key(struct lm_store *s, const char *uri, char **out,
			    struct lm_err *err)
{
	return lm_store_uri_to_key(((struct fault_store *)s)->inner, uri, out, err);
}

static void fault_destroy(struct lm_store *s)
{
	struct fault_store *fs = (struct fault_store *)s;

	lm_store_free(fs->inner);
	pthread_mutex_destroy(&fs->mu);
	free(fs->base.uri);
	free(fs);
}

static const struct lm_store_ops fault_ops = {
	.name = "fault",
	.get_range = fault_get_range,
	.head = fault_head,
	.list = fault_list,
	.uri_to_key = fault_uri_to_key,
	.destroy = fault_destroy,
};

int lm_store_fault_new(struct lm_store *inner, const struct lm_fault_config *cfg,
		       struct lm_store **out)
{
	struct fault_store *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return ENOMEM;
	fs->base.ops = &fault_ops;
	fs->base.uri = strdup(inner->uri ? inner->uri : "fault");
	if (!fs->base.uri) {
		free(fs);
		return ENOMEM;
	}
	fs->inner = inner;
	if (cfg)
		fs->cfg = *cfg;
	pthread_mutex_init(&fs->mu, NULL);
	*out = &fs->base;
	return 0;
}

void lm_store_fault_counts(struct lm_store *s, struct lm_fault_counts *out)
{
	struct fault_store *fs = (struct fault_store *)s;

	pthread_mutex_lock(&fs->mu);
	*out = fs->n;
	pthread_mutex_unlock(&fs->mu);
}

void lm_store_fault_set(struct lm_store *s, const struct lm_fault_config *cfg)
{
	struct fault_store *fs = (struct fault_store *)s;

	pthread_mutex_lock(&fs->mu);
	fs->cfg = *cfg;
	pthread_mutex_unlock(&fs->mu);
}
