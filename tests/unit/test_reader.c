/* Unit tests: the data read path (src/cache/reader.c) over the local store and the
 * fault-injecting wrapper: sequential and random reads byte-exact, prefetch in
 * parallel, sharing between opens, concurrent readers, an object replaced under an
 * open reader, wrong sizes, missing objects, injected failures and short reads (EIO,
 * never wrong bytes), and the memory budget. Small blocks keep the files small. */
#include <pthread.h>
#include <stdint.h>

#include "helpers.h"

#include "lm/reader.h"
#include "lm/store.h"

#define KB 1024u
#define FILE_SIZE (1500u * KB + 123u)   /* not a multiple of the block size */

static char *root;
static struct lm_store *local, *st;   /* st: fault wrapper around local */
static struct lm_reader_pool *pool;

static uint8_t pat(uint64_t i, unsigned seed)
{
	uint64_t x = (i >> 2) * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i & 3)));
}

static void write_pattern(const char *rel, size_t size, unsigned seed)
{
	char path[4096];
	uint8_t *b = malloc(size ? size : 1);
	FILE *f;

	cr_assert(b);
	for (size_t i = 0; i < size; i++)
		b[i] = pat(i, seed);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(b, 1, size, f), size);
	fclose(f);
	free(b);
}

static void check_bytes(const uint8_t *b, uint64_t off, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(off + i, seed))
			cr_assert_fail("wrong byte at offset %llu", (unsigned long long)(off + i));
}

static void small_config(struct lm_reader_config *c)
{
	lm_reader_config_init(c);
	c->block_size = 4 * KB;
	c->max_request = 32 * KB;
	c->min_window = 4 * KB;
	c->max_window = 128 * KB;
	c->back_window = 4 * KB;
	c->max_memory = 256 * KB;
	c->threads = 4;
}

static void make_pool(const struct lm_reader_config *c)
{
	struct lm_err err;

	lm_reader_pool_free(pool);
	pool = NULL;
	cr_assert_eq(lm_reader_pool_new(c, &pool, &err), 0);
}

static void setup(void)
{
	struct lm_reader_config c;
	struct lm_err err;

	root = th_tmpdir();
	th_write(root, "d/keep", "");
	write_pattern("d/big.bin", FILE_SIZE, 1);
	write_pattern("d/small.bin", 100, 2);
	write_pattern("d/empty.bin", 0, 3);
	cr_assert_eq(lm_store_local_new(root, &local, &err), 0, "%s", err.msg);
	cr_assert_eq(lm_store_fault_new(local, NULL, &st), 0);
	small_config(&c);
	make_pool(&c);
}

static void teardown(void)
{
	lm_reader_pool_free(pool);
	pool = NULL;
	lm_store_free(st);
	th_rmrf(root);
	free(root);
}

TestSuite(reader, .init = setup, .fini = teardown, .timeout = 120);

static struct lm_reader *open_r(const char *key, uint64_t expected)
{
	struct lm_reader *r = NULL;

	cr_assert_eq(lm_reader_open(pool, st, key, expected, key, &r), 0);
	return r;
}

/* Read [off, off+len) and check it against the pattern; returns the result code. */
static int read_check(struct lm_reader *r, uint64_t off, size_t len, uint64_t size,
		      unsigned seed, struct lm_err *err)
{
	uint8_t *b = malloc(len ? len : 1);
	size_t got = 99;
	int rc;

	cr_assert(b);
	rc = lm_reader_read(r, off, len, b, &got, err);
	if (rc == 0) {
		size_t want = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);

		cr_assert_eq(got, want, "read %zu at %llu: got %zu, want %zu", len,
			     (unsigned long long)off, got, want);
		check_bytes(b, off, got, seed);
	} else {
		cr_assert_eq(got, 0, "a failed read returns no bytes");
	}
	free(b);
	return rc;
}

Test(reader, size_parse)
{
	uint64_t v;

	cr_assert_eq(lm_size_parse("64M", &v), 0);
	cr_assert_eq(v, 64ull << 20);
	cr_assert_eq(lm_size_parse("1G", &v), 0);
	cr_assert_eq(v, 1ull << 30);
	cr_assert_eq(lm_size_parse("512k", &v), 0);
	cr_assert_eq(v, 512ull << 10);
	cr_assert_eq(lm_size_parse("2MiB", &v), 0);
	cr_assert_eq(v, 2ull << 20);
	cr_assert_eq(lm_size_parse("1048576", &v), 0);
	cr_assert_eq(v, 1048576);
	cr_assert_eq(lm_size_parse("", &v), EINVAL);
	cr_assert_eq(lm_size_parse("M", &v), EINVAL);
	cr_assert_eq(lm_size_parse("12Q", &v), EINVAL);
	cr_assert_eq(lm_size_parse("-1M", &v), EINVAL);
	cr_assert_eq(lm_size_parse("99999999999999999999", &v), EINVAL);
	cr_assert_eq(lm_size_parse("99999999999T", &v), EINVAL);
}

Test(reader, sequential_prefetches_in_parallel)
{
	struct lm_fault_config fc = { .latency_ms = 2 };
	struct lm_fault_counts n;
	struct lm_reader_stats s;
	struct lm_reader *r;
	struct lm_err err;

	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < FILE_SIZE + 10000; off += 8 * KB)
		cr_assert_eq(read_check(r, off, 8 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	lm_store_fault_counts(st, &n);
	cr_log_info("gets %llu demand %llu prefetch %llu probe %llu hits %llu waits %llu misses %llu evict %llu wasted %llu peak %llu",
		    (unsigned long long)n.gets, (unsigned long long)s.gets_demand,
		    (unsigned long long)s.gets_prefetch, (unsigned long long)s.gets_probe,
		    (unsigned long long)s.hits, (unsigned long long)s.waits,
		    (unsigned long long)s.misses, (unsigned long long)s.evictions,
		    (unsigned long long)s.prefetch_wasted, (unsigned long long)s.mem_peak);
	cr_assert_gt(s.gets_prefetch, 0);
	cr_assert_gt(n.max_inflight, 1, "prefetch GETs run in parallel");
	/* Large GETs once the window has grown: far fewer GETs than reads. */
	cr_assert_lt(n.gets, FILE_SIZE / (8 * KB) / 2, "%llu GETs", (unsigned long long)n.gets);
	cr_assert_leq(s.mem_peak, 256 * KB);
	cr_assert_eq(s.bytes_served, FILE_SIZE);
	cr_assert_eq(s.readers_open, 0);
}

Test(reader, random_reads_exact)
{
	struct lm_reader *r = open_r("d/big.bin", FILE_SIZE);
	struct lm_err err;
	uint64_t x = 12345;

	for (int i = 0; i < 400; i++) {
		uint64_t off, len;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		off = (x >> 20) % (FILE_SIZE + 5000);
		len = 1 + (x >> 50) % (70 * KB);
		cr_assert_eq(read_check(r, off, (size_t)len, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	}
	/* At and past the end. */
	cr_assert_eq(read_check(r, FILE_SIZE, 10, FILE_SIZE, 1, &err), 0);
	cr_assert_eq(read_check(r, FILE_SIZE - 1, 10, FILE_SIZE, 1, &err), 0);
	cr_assert_eq(read_check(r, 0, 0, FILE_SIZE, 1, &err), 0);
	lm_reader_close(r);
}

Test(reader, unknown_size_small_and_empty)
{
	struct lm_reader *r;
	struct lm_err err;

	r = open_r("d/small.bin", UINT64_MAX);
	cr_assert_eq(read_check(r, 0, 4096, 100, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(read_check(r, 50, 4096, 100, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(read_check(r, 100, 4096, 100, 2, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	r = open_r("d/big.bin", UINT64_MAX);
	cr_assert_eq(read_check(r, 1000 * KB, 64 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(read_check(r, FILE_SIZE - 7, 64 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	r = open_r("d/empty.bin", UINT64_MAX);
	cr_assert_eq(read_check(r, 0, 4096, 0, 3, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	r = open_r("d/empty.bin", 0);
	cr_assert_eq(read_check(r, 0, 4096, 0, 3, &err), 0, "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, opens_share_cached_blocks)
{
	struct lm_reader_config c;
	struct lm_fault_counts n1, n2;
	struct lm_reader *r;
	struct lm_err err;

	small_config(&c);
	c.max_memory = 4096 * KB;   /* the whole file fits */
	make_pool(&c);
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < FILE_SIZE; off += 16 * KB)
		cr_assert_eq(read_check(r, off, 16 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_store_fault_counts(st, &n1);
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < FILE_SIZE; off += 16 * KB)
		cr_assert_eq(read_check(r, off, 16 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_store_fault_counts(st, &n2);
	/* The second open makes its probe only: one byte, with If-Match. */
	cr_assert_eq(n2.gets - n1.gets, 1, "%llu GETs for a cached file",
		     (unsigned long long)(n2.gets - n1.gets));
	cr_assert_eq(n2.bytes - n1.bytes, 1);
	/* Replaced in storage: a new open fetches the new object, never the cached one. */
	usleep(20000);
	write_pattern("d/big.bin", FILE_SIZE, 7);
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < FILE_SIZE; off += 16 * KB)
		cr_assert_eq(read_check(r, off, 16 * KB, FILE_SIZE, 7, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	/* Gone from storage: a new open says so even though blocks are cached. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/d/big.bin", root);
		cr_assert_eq(unlink(path), 0);
	}
	r = open_r("d/big.bin", FILE_SIZE);
	lm_err_init(&err);
	cr_assert_eq(read_check(r, 0, 100, FILE_SIZE, 7, &err), EIO);
	cr_assert(strstr(err.msg, "missing from storage"), "%s", err.msg);
	lm_reader_close(r);
}

struct worker_arg {
	struct lm_reader *shared;
	unsigned id;
	int failures;
};

static void *reader_thread(void *ud)
{
	struct worker_arg *a = ud;
	struct lm_reader *own = NULL;
	uint64_t x = 777 + a->id;
	struct lm_err err;

	if (a->id % 2 == 0 &&
	    lm_reader_open(pool, st, "d/big.bin", FILE_SIZE, "big", &own) != 0)
		a->failures++;
	for (int i = 0; i < 300; i++) {
		struct lm_reader *r = own && (i & 1) ? own : a->shared;
		uint64_t off;
		size_t len;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (a->id % 3 == 0) {
			off = (uint64_t)i * 5000 % FILE_SIZE;   /* sequential-ish */
			len = 5000;
		} else {
			off = (x >> 20) % FILE_SIZE;
			len = 1 + (size_t)((x >> 50) % (40 * KB));
		}
		if (read_check(r, off, len, FILE_SIZE, 1, &err) != 0)
			a->failures++;
	}
	lm_reader_close(own);
	return NULL;
}

Test(reader, concurrent_readers)
{
	struct lm_fault_config fc = { .latency_ms = 1 };
	struct worker_arg a[8];
	pthread_t t[8];
	struct lm_reader_stats s;

	lm_store_fault_set(st, &fc);
	a[0].shared = open_r("d/big.bin", FILE_SIZE);
	for (unsigned i = 0; i < 8; i++) {
		a[i].shared = a[0].shared;
		a[i].id = i;
		a[i].failures = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, reader_thread, &a[i]), 0);
	}
	for (unsigned i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].failures, 0, "thread %u: %d failed reads", i, a[i].failures);
	}
	lm_reader_close(a[0].shared);
	lm_reader_pool_stats(pool, &s);
	/* Demand reads may exceed the budget by nothing more than what was live. */
	cr_assert_leq(s.mem_peak, 256 * KB + 8 * 32 * KB, "peak %llu",
		      (unsigned long long)s.mem_peak);
}

Test(reader, memory_budget_respected_by_streams)
{
	struct lm_reader_config c;
	struct lm_reader *r[4];
	struct lm_reader_stats s;
	struct lm_err err;

	small_config(&c);
	c.max_memory = 128 * KB;
	make_pool(&c);
	for (int i = 0; i < 4; i++)
		r[i] = open_r("d/big.bin", FILE_SIZE);
	/* Four interleaved streams at different places. */
	for (uint64_t off = 0; off < FILE_SIZE; off += 8 * KB)
		for (int i = 0; i < 4; i++) {
			uint64_t o = (off + (uint64_t)i * 300 * KB) % FILE_SIZE;

			cr_assert_eq(read_check(r[i], o, 8 * KB, FILE_SIZE, 1, &err), 0, "%s",
				     err.msg);
		}
	for (int i = 0; i < 4; i++)
		lm_reader_close(r[i]);
	lm_reader_pool_stats(pool, &s);
	cr_assert_leq(s.mem_peak, 128 * KB, "peak %llu over the 128 KiB budget",
		      (unsigned long long)s.mem_peak);
	cr_assert_gt(s.gets_prefetch, 0);
}

Test(reader, wrong_size_is_refused)
{
	struct lm_reader *r;
	struct lm_err err;

	r = open_r("d/big.bin", FILE_SIZE + 1);   /* the log says more than storage holds */
	lm_err_init(&err);
	cr_assert_eq(read_check(r, 0, 4096, FILE_SIZE + 1, 1, &err), EIO);
	cr_assert(strstr(err.msg, "storage holds"), "%s", err.msg);
	cr_assert(strstr(err.msg, "d/big.bin"), "%s", err.msg);
	/* Reads near the end fail too (never a short read passed off as data). */
	cr_assert_eq(read_check(r, FILE_SIZE - 10, 4096, FILE_SIZE + 1, 1, &err), EIO);
	lm_reader_close(r);
	r = open_r("d/big.bin", FILE_SIZE - 1000);   /* the log says less */
	cr_assert_eq(read_check(r, FILE_SIZE - 5000, 100, FILE_SIZE - 1000, 1, &err), EIO);
	cr_assert(strstr(err.msg, "refusing to serve"), "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, missing_object)
{
	struct lm_reader *r = open_r("d/nope.bin", 1000);
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(read_check(r, 0, 100, 1000, 1, &err), EIO);
	cr_assert(strstr(err.msg, "missing from storage"), "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, object_replaced_while_open)
{
	struct lm_reader_config c;
	struct lm_reader *r;
	struct lm_err err;
	int rc = 0;

	small_config(&c);
	c.max_memory = 64 * KB;
	make_pool(&c);
	r = open_r("d/big.bin", FILE_SIZE);
	cr_assert_eq(read_check(r, 0, 8 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	usleep(20000);   /* a different mtime for the rewrite */
	write_pattern("d/big.bin", FILE_SIZE, 9);   /* same size, new bytes */
	/* Reading on: old bytes (cached) or EIO, never the new ones. */
	for (uint64_t off = 8 * KB; off < FILE_SIZE && rc == 0; off += 8 * KB)
		rc = read_check(r, off, 8 * KB, FILE_SIZE, 1, &err);
	cr_assert_eq(rc, EIO);
	cr_assert(strstr(err.msg, "changed"), "%s", err.msg);
	/* Random reads far away fail as well. */
	cr_assert_eq(read_check(r, FILE_SIZE - 100, 50, FILE_SIZE, 1, &err), EIO);
	lm_reader_close(r);
	/* A new open sees the new object, consistently. */
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < FILE_SIZE; off += 64 * KB)
		cr_assert_eq(read_check(r, off, 64 * KB, FILE_SIZE, 9, &err), 0, "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, object_shrunk_while_open)
{
	struct lm_reader *r = open_r("d/big.bin", FILE_SIZE);
	struct lm_err err;
	int rc = 0;

	cr_assert_eq(read_check(r, 0, 4 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	usleep(20000);
	write_pattern("d/big.bin", 600 * KB, 1);   /* same bytes, cut short */
	for (uint64_t off = 4 * KB; off < FILE_SIZE && rc == 0; off += 8 * KB)
		rc = read_check(r, off, 8 * KB, FILE_SIZE, 1, &err);
	cr_assert_eq(rc, EIO);
	lm_reader_close(r);
}

Test(reader, transient_failures_then_success)
{
	struct lm_fault_config fc = { .fail_first_n = 1 };
	struct lm_reader *r;
	struct lm_err err;

	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	lm_err_init(&err);
	cr_assert_eq(read_check(r, 0, 4 * KB, FILE_SIZE, 1, &err), EIO);
	cr_assert(strstr(err.msg, "injected"), "%s", err.msg);
	/* The failure is not remembered: the next read GETs again. */
	cr_assert_eq(read_check(r, 0, 4 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, injected_failures_never_wrong_bytes)
{
	struct lm_fault_config fc = { .fail_every = 3, .truncate_every = 5 };
	struct lm_fault_counts n;
	struct lm_reader *r;
	struct lm_err err;
	int ok = 0, bad = 0;

	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	for (int pass = 0; pass < 3; pass++) {
		for (uint64_t off = 0; off < FILE_SIZE; off += 8 * KB) {
			if (read_check(r, off, 8 * KB, FILE_SIZE, 1, &err) == 0)
				ok++;
			else
				bad++;
		}
	}
	uint64_t x = 99;
	for (int i = 0; i < 300; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (read_check(r, (x >> 20) % FILE_SIZE, 1 + (size_t)((x >> 50) % (20 * KB)),
			       FILE_SIZE, 1, &err) == 0)
			ok++;
		else
			bad++;
	}
	lm_reader_close(r);
	lm_store_fault_counts(st, &n);
	cr_assert_gt(n.failed, 0);
	cr_assert_gt(bad, 0);
	cr_assert_gt(ok, 0);
}

Test(reader, truncated_gets_are_errors)
{
	struct lm_fault_config fc = { .truncate_every = 1 };
	struct lm_reader *r;
	struct lm_err err;

	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	lm_err_init(&err);
	cr_assert_eq(read_check(r, 4 * KB, 4 * KB, FILE_SIZE, 1, &err), EIO);
	cr_assert(strstr(err.msg, "short read"), "%s", err.msg);
	lm_reader_close(r);
	/* A GET that keeps failing at one offset: reads there fail, others do not. */
	fc.truncate_every = 0;
	fc.fail_at = true;
	fc.fail_off = 700 * KB;
	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	cr_assert_eq(read_check(r, 0, 600 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(read_check(r, 690 * KB, 20 * KB, FILE_SIZE, 1, &err), EIO);
	cr_assert_eq(read_check(r, 800 * KB, 20 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, close_cancels_queued_prefetch)
{
	struct lm_fault_config fc = { .latency_ms = 20 };
	struct lm_reader_config c;
	struct lm_reader_stats s;
	struct lm_reader *r;
	struct lm_err err;

	small_config(&c);
	c.threads = 1;
	make_pool(&c);
	lm_store_fault_set(st, &fc);
	r = open_r("d/big.bin", FILE_SIZE);
	for (uint64_t off = 0; off < 64 * KB; off += 4 * KB)
		cr_assert_eq(read_check(r, off, 4 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_gt(s.prefetch_wasted, 0, "queued prefetches were cancelled");
	cr_assert_eq(s.readers_open, 0);
	/* Freeing the pool joins the worker and frees what is cached (ASan checks). */
}
