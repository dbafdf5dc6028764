/* test_s3_rgw.c — the S3 store against a real Ceph RADOS Gateway on 127.0.0.1.
 * Needs LM_S3_ENV=DIR/env from tools/s3/start-rgw.sh DIR; skips with that advice
 * otherwise. Each test works under its own fresh prefix and deletes what it wrote. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lm/s3.h"
#include "lm/store.h"
#include "lm/util.h"

static char bucket[128];
static char prefix[128];
static char source[300];

/* Load KEY=VALUE / export KEY=VALUE lines (values optionally quoted) into the env. */
static bool load_env(void)
{
	const char *path = getenv("LM_S3_ENV");
	char line[4096];
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "r")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq, *v;
		size_t n;

		if (!strncmp(p, "export ", 7))
			p += 7;
		eq = strchr(p, '=');
		if (!eq || *p == '#')
			continue;
		*eq = '\0';
		v = eq + 1;
		n = strlen(v);
		while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
			v[--n] = '\0';
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		setenv(p, v, 1);
	}
	fclose(f);
	return getenv("LM_S3_BUCKET") && getenv("AWS_ENDPOINT_URL");
}

static void setup(void)
{
	if (!load_env()) {
		fprintf(stderr, "s3_rgw: SKIPPED (no RGW): run tools/s3/start-rgw.sh DIR and "
				"export LM_S3_ENV=DIR/env\n");
		cr_skip_test("no RGW: start tools/s3/start-rgw.sh DIR and export LM_S3_ENV=DIR/env");
	}
	unsetenv("AWS_PROFILE");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	snprintf(bucket, sizeof(bucket), "%s", getenv("LM_S3_BUCKET"));
	snprintf(prefix, sizeof(prefix), "unit-%d-%lld", (int)getpid(), (long long)lm_now_ms());
	snprintf(source, sizeof(source), "s3://%s/%s", bucket, prefix);
}

TestSuite(rgw, .init = setup, .timeout = 300);

static struct lm_store *open_src(const char *src)
{
	struct lm_store *s = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_store_s3_open(src, NULL, &s, &err), 0, "%s", err.msg);
	return s;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

#define ODD "a=b/c+d/e f%g/\xc3\xbcn\xc3\xaf.txt"

static const char *const odd_keys[] = {
	ODD,
	"colon:amp&tilde~/k'(x)!*",
	"date=2024-01-01/part-00000.snappy.parquet",
	"empty",
	"plain.txt",
	"sp ace/x",
	"\xe6\x97\xa5\xe6\x9c\xac/\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf",
};
#define NODD (sizeof(odd_keys) / sizeof(odd_keys[0]))

struct coll {
	char keys[64][256];
	bool pfx[64];
	uint64_t size[64];
	int n;
};

static int coll_cb(void *ud, const struct lm_list_entry *e)
{
	struct coll *c = ud;

	if (c->n < 64) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", e->key);
		c->pfx[c->n] = e->is_prefix;
		c->size[c->n] = e->info.size;
	}
	c->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(rgw, odd_keys_round_trip)
{
	struct lm_store *s = open_src(source);
	static unsigned char data[NODD][3000], buf[4000];
	const char *sorted[NODD];
	struct lm_obj_info info, info2;
	struct lm_err err;
	struct coll c;
	size_t got;

	lm_err_init(&err);
	cr_assert_eq(lm_store_s3_check(s, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < NODD; i++) {
		size_t n = strcmp(odd_keys[i], "empty") ? 1000 + i * 100 : 0;

		fill(data[i], n, (unsigned)i + 1);
		cr_assert_eq(lm_s3_put_mem(s, odd_keys[i], data[i], n, &err), 0, "%s: %s",
			     odd_keys[i], err.msg);
	}
	/* Flat listing: every key back, decoded, in byte order. */
	memcpy(sorted, odd_keys, sizeof(sorted));
	qsort(sorted, NODD, sizeof(sorted[0]), cmp_str);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(lm_store_list(s, "", NULL, 0, coll_cb, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, (int)NODD);
	for (size_t i = 0; i < NODD; i++)
		cr_assert_str_eq(c.keys[i], sorted[i]);
	/* Delimited listing of a Hive-style and an odd folder. */
	memset(&c, 0, sizeof(c));
	cr_assert_eq(lm_store_list(s, "", NULL, LM_LIST_DELIM, coll_cb, &c, &err), 0);
	cr_assert_str_eq(c.keys[0], "a=b/");
	cr_assert(c.pfx[0]);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(lm_store_list(s, "a=b/c+d/", NULL, LM_LIST_DELIM, coll_cb, &c, &err), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_str_eq(c.keys[0], "a=b/c+d/e f%g/");
	memset(&c, 0, sizeof(c));
	cr_assert_eq(lm_store_list(s, "", "date=2024-01-01/part-00000.snappy.parquet", 0, coll_cb,
				   &c, &err), 0);
	cr_assert_str_eq(c.keys[0], "empty");
	/* Reads and heads. */
	for (size_t i = 0; i < NODD; i++) {
		size_t n = strcmp(odd_keys[i], "empty") ? 1000 + i * 100 : 0;
		struct lm_get_req req = { .key = odd_keys[i], .off = 0, .len = sizeof(buf) };

		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, &info, &err), 0, "%s: %s",
			     odd_keys[i], err.msg);
		cr_assert_eq(got, n, "%s", odd_keys[i]);
		cr_assert(!memcmp(buf, data[i], n));
		cr_assert_eq(info.size, n);
		cr_assert_eq(lm_store_head(s, odd_keys[i], &info2, &err), 0, "%s", err.msg);
		cr_assert_eq(info2.size, n);
		cr_assert_str_eq(info2.etag, info.etag);
		cr_assert_eq(info2.mtime_ms, info.mtime_ms);
		cr_assert_gt(info.mtime_ms, 1700000000000LL);
		cr_assert_lt(llabs(info.mtime_ms - lm_now_ms()), 600000);
	}
	{
		/* Inner range, exact end, past the end, If-Match. */
		struct lm_get_req req = { .key = ODD, .off = 10, .len = 20 };

		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, &info, &err), 0, "%s", err.msg);
		cr_assert_eq(got, 20);
		cr_assert(!memcmp(buf, data[0] + 10, 20));
		req.off = 990;
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, &info, &err), 0);
		cr_assert_eq(got, 10);
		cr_assert(!memcmp(buf, data[0] + 990, 10));
		req.off = 1000;
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, &info, &err), 0, "%s", err.msg);
		cr_assert_eq(got, 0);
		cr_assert_eq(info.size, 1000);
		cr_assert(info.etag[0]);
		req.off = 5000;
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, &info, &err), 0, "%s", err.msg);
		cr_assert_eq(got, 0);
		req.off = 0;
		req.if_match = info.etag;
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), 0, "%s", err.msg);
		req.if_match = "\"00000000000000000000000000000000\"";
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), LM_EMISMATCH);
		req.key = "no/such/key";
		req.if_match = NULL;
		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), ENOENT);
		cr_assert(strstr(err.msg, "no/such/key"), "%s", err.msg);
	}
	for (size_t i = 0; i < NODD; i++)
		cr_assert_eq(lm_s3_delete(s, odd_keys[i], &err), 0, "%s", err.msg);
	lm_store_free(s);
}

struct putter {
	struct lm_store *s;
	int from, to;
	int fails;
};

static void *put_range(void *arg)
{
	struct putter *p = arg;
	struct lm_err err;
	char key[64];

	for (int i = p->from; i < p->to; i++) {
		snprintf(key, sizeof(key), "many/k%05d", i);
		if (lm_s3_put_mem(p->s, key, key, strlen(key), &err) != 0)
			p->fails++;
	}
	return NULL;
}

static void *del_range(void *arg)
{
	struct putter *p = arg;
	struct lm_err err;
	char key[64];

	for (int i = p->from; i < p->to; i++) {
		snprintf(key, sizeof(key), "many/k%05d", i);
		if (lm_s3_delete(p->s, key, &err) != 0)
			p->fails++;
	}
	return NULL;
}

struct counter {
	int n;
	char last[64];
	bool ordered;
};

static int count_cb(void *ud, const struct lm_list_entry *e)
{
	struct counter *c = ud;

	if (c->n && strcmp(c->last, e->key) >= 0)
		c->ordered = false;
	snprintf(c->last, sizeof(c->last), "%s", e->key);
	c->n++;
	return 0;
}

Test(rgw, listing_over_1000_keys_pages)
{
	enum { N = 1100, T = 8 };
	struct lm_store *s = open_src(source);
	pthread_t t[T];
	struct putter p[T];
	struct counter c = { .ordered = true };
	struct lm_err err;
	int64_t t0;

	for (int i = 0; i < T; i++) {
		p[i] = (struct putter){ .s = s, .from = i * N / T, .to = (i + 1) * N / T };
		pthread_create(&t[i], NULL, put_range, &p[i]);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(p[i].fails, 0);
	}
	lm_err_init(&err);
	t0 = lm_mono_ns();
	cr_assert_eq(lm_store_list(s, "many/", NULL, 0, count_cb, &c, &err), 0, "%s", err.msg);
	cr_log_info("listed %d keys in %.1f ms", c.n, (lm_mono_ns() - t0) / 1e6);
	cr_assert_eq(c.n, N);
	cr_assert(c.ordered);
	cr_assert_str_eq(c.last, "many/k01099");
	c = (struct counter){ .ordered = true };
	cr_assert_eq(lm_store_list(s, "many/", "many/k00999", LM_LIST_DELIM, count_cb, &c, &err),
		     0);
	cr_assert_eq(c.n, 100);
	for (int i = 0; i < T; i++) {
		p[i].fails = 0;
		pthread_create(&t[i], NULL, del_range, &p[i]);
	}
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	lm_store_free(s);
}

Test(rgw, big_object_random_ranges)
{
	enum { SZ = 5 << 20 };
	struct lm_store *s = open_src(source);
	unsigned char *data = malloc(SZ), *buf = malloc(SZ);
	struct lm_buf all;
	struct lm_err err;
	char h1[65], h2[65];
	unsigned seed = 42;
	int64_t t0;

	fill(data, SZ, 7);
	lm_err_init(&err);
	cr_assert_eq(lm_s3_put_mem(s, "big.bin", data, SZ, &err), 0, "%s", err.msg);
	for (int i = 0; i < 200; i++) {
		uint64_t off = (uint64_t)(rand_r(&seed) % SZ);
		size_t len = 1 + (size_t)(rand_r(&seed) % (1 << 20)), got = 0;
		size_t want = off + len > SZ ? SZ - off : len;
		struct lm_get_req req = { .key = "big.bin", .off = off, .len = len };

		cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(got, want);
		cr_assert(!memcmp(buf, data + off, got), "bytes differ at %llu+%zu",
			  (unsigned long long)off, len);
	}
	lm_buf_init(&all, 0);
	t0 = lm_mono_ns();
	cr_assert_eq(lm_store_get_all(s, "big.bin", SZ, &all, NULL, &err), 0, "%s", err.msg);
	cr_log_info("get_all 5 MiB in %.1f ms", (lm_mono_ns() - t0) / 1e6);
	lm_sha256_hex(all.data, all.len, h1);
	lm_sha256_hex(data, SZ, h2);
	cr_assert_str_eq(h1, h2);
	lm_buf_free(&all);
	cr_assert_eq(lm_s3_delete(s, "big.bin", &err), 0);
	free(data);
	free(buf);
	lm_store_free(s);
}

static int check_src(const char *src, struct lm_err *err)
{
	struct lm_store *s = NULL;
	int rc;

	lm_err_init(err);
	rc = lm_store_s3_open(src, NULL, &s, err);
	if (rc)
		return rc;
	rc = lm_store_s3_check(s, err);
	lm_store_free(s);
	return rc;
}

Test(rgw, startup_check_refusals)
{
	struct lm_err err;
	char src[300];
	char *good = strdup(getenv("AWS_SECRET_ACCESS_KEY"));

	cr_assert_eq(check_src(source, &err), 0, "%s", err.msg);

	setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-wrong-secret-wrong-secret12", 1);
	cr_assert_eq(check_src(source, &err), LM_EAUTH);
	cr_log_info("wrong secret: %s", err.msg);
	cr_assert(strstr(err.msg, "secret key is wrong"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "wrong-secret"));
	setenv("AWS_SECRET_ACCESS_KEY", good, 1);

	{
		char *ak = strdup(getenv("AWS_ACCESS_KEY_ID"));

		setenv("AWS_ACCESS_KEY_ID", "NOSUCHACCESSKEY00000", 1);
		cr_assert_eq(check_src(source, &err), LM_EAUTH);
		cr_log_info("unknown key: %s", err.msg);
		cr_assert(strstr(err.msg, "is not known"), "%s", err.msg);
		setenv("AWS_ACCESS_KEY_ID", ak, 1);
		free(ak);
	}

	snprintf(src, sizeof(src), "s3://no-such-bucket-%d/x", (int)getpid());
	cr_assert_eq(check_src(src, &err), ENOENT);
	cr_log_info("no bucket: %s", err.msg);
	cr_assert(strstr(err.msg, "does not exist"), "%s", err.msg);

	{
		struct lm_s3_config c;
		struct lm_store *s = NULL;

		lm_s3_config_init(&c);
		c.no_sign_request = true;
		cr_assert_eq(lm_store_s3_open(source, &c, &s, &err), 0);
		cr_assert_eq(lm_store_s3_check(s, &err), LM_EAUTH);
		cr_log_info("anonymous: %s", err.msg);
		cr_assert(strstr(err.msg, "anonymous access denied"), "%s", err.msg);
		lm_store_free(s);
	}
	free(good);
}
