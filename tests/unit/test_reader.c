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

/* ---------- Parquet footers (one GET, metadata cache across remounts) ---------- */

#include <dirent.h>
#include <sys/stat.h>

#include "lm/datacache.h"
#include "lm/metacache.h"
#include "lm/util.h"

/* A file of the pattern whose last 8 bytes say "footer of flen bytes, PAR1". */
static uint8_t *write_parquet(const char *rel, size_t size, uint32_t flen, unsigned seed)
{
	char path[4096];
	uint8_t *b = malloc(size);
	FILE *f;

	cr_assert(b && size >= 8);
	for (size_t i = 0; i < size; i++)
		b[i] = pat(i, seed);
	b[size - 8] = (uint8_t)flen;
	b[size - 7] = (uint8_t)(flen >> 8);
	b[size - 6] = (uint8_t)(flen >> 16);
	b[size - 5] = (uint8_t)(flen >> 24);
	memcpy(b + size - 4, "PAR1", 4);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(b, 1, size, f), size);
	fclose(f);
	return b;
}

static int read_exact(struct lm_reader *r, const uint8_t *want, uint64_t off, size_t len,
		      struct lm_err *err)
{
	uint8_t *b = malloc(len ? len : 1);
	size_t got = 0;
	int rc;

	cr_assert(b);
	lm_err_init(err);
	rc = lm_reader_read(r, off, len, b, &got, err);
	if (!rc) {
		cr_assert_eq(got, len);
		cr_assert(!memcmp(b, want + off, len), "wrong bytes at %llu+%zu",
			  (unsigned long long)off, len);
	}
	free(b);
	return rc;
}

static uint64_t gets_now(void)
{
	struct lm_fault_counts n;

	lm_store_fault_counts(st, &n);
	return n.gets;
}

static struct lm_reader *open_id(const char *key, uint64_t size, int64_t mtime)
{
	struct lm_reader_ident id = { .size = size, .mtime_ms = mtime };
	struct lm_reader *r = NULL;

	cr_assert_eq(lm_reader_open_ident(pool, st, key, &id, key, &r), 0);
	return r;
}

/* DuckDB's first two reads: the last 8 bytes, then the footer before them. */
static void footer_reads(struct lm_reader *r, const uint8_t *b, size_t size, uint32_t flen)
{
	struct lm_err err;

	cr_assert_eq(read_exact(r, b, size - 8, 8, &err), 0, "%s", err.msg);
	cr_assert_eq(read_exact(r, b, size - 8 - flen, flen, &err), 0, "%s", err.msg);
	cr_assert_eq(read_exact(r, b, size > 4096 ? size - 4096 : 0, size > 4096 ? 4096 : size, &err),
			 0, "%s", err.msg);
}

Test(reader, footer_from_one_get)
{
	size_t size = 300 * KB + 17;
	uint8_t *b = write_parquet("d/a.parquet", size, 9000, 4);
	struct lm_reader_stats s;
	struct lm_reader *r;
	struct lm_err err;
	uint64_t g0 = gets_now();

	r = open_id("d/a.parquet", size, 1234);
	cr_assert_eq(gets_now(), g0, "open makes no request");
	footer_reads(r, b, size, 9000);
	cr_assert_eq(gets_now() - g0, 1, "footer reads: %llu GETs",
		     (unsigned long long)(gets_now() - g0));
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.gets_footer, 1);
	cr_assert_eq(s.footer_reads, 3);
	/* Data reads elsewhere go the block path, same object, right bytes. */
	cr_assert_eq(read_exact(r, b, 0, 100 * KB, &err), 0, "%s", err.msg);
	cr_assert_eq(read_exact(r, b, size - 70 * KB, 70 * KB, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	/* A file that is not .parquet: no tail GET (its first read is a block probe). */
	r = open_id("d/big.bin", FILE_SIZE, 1234);
	cr_assert_eq(read_check(r, FILE_SIZE - 8, 8, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.gets_footer, 1);
	free(b);
}

Test(reader, footer_longer_than_tail_two_gets)
{
	size_t size = 400 * KB;
	uint32_t flen = 150 * KB;   /* more than the 64 KiB tail */
	uint8_t *b = write_parquet("d/b.parquet", size, flen, 5);
	struct lm_reader *r;
	uint64_t g0 = gets_now();

	r = open_id("d/b.parquet", size, 1);
	footer_reads(r, b, size, flen);
	cr_assert_eq(gets_now() - g0, 2);
	lm_reader_close(r);
	free(b);
}

Test(reader, footer_small_file_and_first_read_elsewhere)
{
	size_t size = 3000;
	uint8_t *b = write_parquet("d/c.parquet", size, 100, 6);
	struct lm_reader *r;
	struct lm_err err;
	uint64_t g0 = gets_now();

	r = open_id("d/c.parquet", size, 1);
	footer_reads(r, b, size, 100);   /* the whole file is the tail */
	cr_assert_eq(read_exact(r, b, 0, size, &err), 0, "%s", err.msg);
	cr_assert_eq(gets_now() - g0, 1);
	lm_reader_close(r);
	/* First read at 0 (cat, cp): a block probe; the tail region is then blocks. */
	r = open_id("d/c.parquet", size, 1);
	cr_assert_eq(read_exact(r, b, 0, 10, &err), 0, "%s", err.msg);
	footer_reads(r, b, size, 100);
	lm_reader_close(r);
	free(b);
}

static struct lm_metacache *open_mc(const char *dir)
{
	struct lm_metacache *mc = NULL;
	struct lm_err err;

	cr_assert_eq(lm_metacache_open(dir, 64 << 20, &mc, &err), 0, "%s", err.msg);
	return mc;
}

/* A new pool on the same metacache directory = a remount. */
static struct lm_metacache *remount(struct lm_metacache *mc, const char *dir,
				    struct lm_datacache *dc)
{
	struct lm_reader_config c;

	lm_reader_pool_free(pool);   /* drains the queued footer writes */
	pool = NULL;
	lm_metacache_close(mc);
	mc = dir ? open_mc(dir) : NULL;
	small_config(&c);
	c.max_memory = 4096 * KB;
	c.metacache = mc;
	c.datacache = dc;
	make_pool(&c);
	return mc;
}

Test(reader, footer_cached_across_remount)
{
	char *dir = lm_path_join(root, "mc");
	size_t size = 500 * KB + 3;
	uint8_t *b = write_parquet("d/m.parquet", size, 20000, 8), *b2;
	struct lm_metacache *mc = remount(NULL, dir, NULL);
	struct lm_reader_stats s;
	struct lm_reader *r;
	struct lm_err err;
	uint64_t g0 = gets_now();

	r = open_id("d/m.parquet", size, 777);
	footer_reads(r, b, size, 20000);
	cr_assert_eq(gets_now() - g0, 1);
	lm_reader_close(r);

	mc = remount(mc, dir, NULL);
	g0 = gets_now();
	r = open_id("d/m.parquet", size, 777);
	footer_reads(r, b, size, 20000);
	cr_assert_eq(gets_now() - g0, 0, "footer after remount: %llu GETs",
		     (unsigned long long)(gets_now() - g0));
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.footer_cached, 1);
	cr_assert_eq(s.gets_footer, 0);
	/* Data reads then carry the cached identity: right bytes. */
	cr_assert_eq(read_exact(r, b, 1000, 200 * KB, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	/* Another identity (the log's mtime differs): not the cached tail. */
	g0 = gets_now();
	r = open_id("d/m.parquet", size, 778);
	footer_reads(r, b, size, 20000);
	cr_assert_eq(gets_now() - g0, 1);
	lm_reader_close(r);

	/* Replaced in storage with the same size (a protocol violation): the cached footer
	 * is the old object's; every data read after it fails, never old+new bytes. */
	mc = remount(mc, dir, NULL);
	usleep(20000);
	b2 = write_parquet("d/m.parquet", size, 20000, 9);
	r = open_id("d/m.parquet", size, 777);
	footer_reads(r, b, size, 20000);
	cr_assert_eq(read_exact(r, b, 0, 100 * KB, &err), EIO);
	cr_assert(strstr(err.msg, "changed"), "%s", err.msg);
	lm_reader_close(r);
	/* An open whose first read is data learns the new object; the stale footer record
	 * (other ETag) is not used for it. */
	r = open_id("d/m.parquet", size, 777);
	cr_assert_eq(read_exact(r, b2, 0, 10, &err), 0, "%s", err.msg);
	footer_reads(r, b2, size, 20000);
	lm_reader_close(r);
	remount(mc, NULL, NULL);
	free(b);
	free(b2);
	free(dir);
}

Test(reader, footer_missing_object_is_eio)
{
	struct lm_reader *r = open_id("d/gone.parquet", 100 * KB, 1);
	struct lm_err err;
	uint8_t buf[8];
	size_t got = 5;

	lm_err_init(&err);
	cr_assert_eq(lm_reader_read(r, 100 * KB - 8, 8, buf, &got, &err), EIO);
	cr_assert_eq(got, 0);
	cr_assert(strstr(err.msg, "missing from storage"), "%s", err.msg);
	lm_reader_close(r);
}

Test(reader, footer_wrong_size_is_refused)
{
	size_t size = 100 * KB;
	uint8_t *b = write_parquet("d/w.parquet", size, 100, 3);
	struct lm_reader *r = open_id("d/w.parquet", size + 1, 1);
	struct lm_err err;
	uint8_t buf[8];
	size_t got = 5;

	lm_err_init(&err);
	cr_assert_eq(lm_reader_read(r, size + 1 - 8, 8, buf, &got, &err), EIO);
	cr_assert(strstr(err.msg, "the log says"), "%s", err.msg);
	lm_reader_close(r);
	free(b);
}

/* ---------- data cache on local disk ---------- */

static struct lm_datacache *open_dc(const char *dir, uint64_t max)
{
	struct lm_datacache *dc = NULL;
	struct lm_err err;

	cr_assert_eq(lm_datacache_open(dir, max, &dc, &err), 0, "%s", err.msg);
	return dc;
}

static void read_all(struct lm_reader *r)
{
	struct lm_err err;

	for (uint64_t off = 0; off < FILE_SIZE; off += 16 * KB)
		cr_assert_eq(read_check(r, off, 16 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
}

Test(reader, datacache_hit_after_remount)
{
	char *dir = lm_path_join(root, "dc");
	struct lm_datacache *dc = open_dc(dir, 64 << 20);
	struct lm_datacache_stats ds;
	struct lm_reader_stats s;
	struct lm_reader *r;
	uint64_t g0;

	remount(NULL, NULL, dc);
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);
	lm_reader_close(r);
	lm_datacache_stats(dc, &ds);
	cr_assert_gt(ds.puts, 0);
	cr_assert_leq(ds.bytes_used, 64 << 20);
	/* Remount with a cold memory cache: everything but the probe from disk. */
	lm_datacache_close(dc);
	dc = open_dc(dir, 64 << 20);
	lm_datacache_stats(dc, &ds);
	cr_assert_gt(ds.bytes_used, FILE_SIZE, "the index is rebuilt from the files");
	remount(NULL, NULL, dc);
	g0 = gets_now();
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);
	lm_reader_close(r);
	cr_assert_eq(gets_now() - g0, 1, "%llu GETs with a warm data cache",
		     (unsigned long long)(gets_now() - g0));
	lm_reader_pool_stats(pool, &s);
	cr_assert_gt(s.disk_hits, 300);
	/* A changed object is never served from the old blocks. */
	usleep(20000);
	write_pattern("d/big.bin", FILE_SIZE, 11);
	r = open_r("d/big.bin", FILE_SIZE);
	{
		struct lm_err err;

		for (uint64_t off = 0; off < FILE_SIZE; off += 16 * KB)
			cr_assert_eq(read_check(r, off, 16 * KB, FILE_SIZE, 11, &err), 0, "%s",
				     err.msg);
	}
	lm_reader_close(r);
	remount(NULL, NULL, NULL);
	lm_datacache_close(dc);
	free(dir);
}

Test(reader, datacache_eviction_within_size)
{
	char *dir = lm_path_join(root, "dc");
	struct lm_datacache *dc = open_dc(dir, 100 * KB);
	struct lm_datacache_stats ds;
	struct lm_reader *r;

	remount(NULL, NULL, dc);
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);
	lm_reader_close(r);
	lm_datacache_stats(dc, &ds);
	cr_assert_leq(ds.bytes_used, 100 * KB);
	cr_assert_gt(ds.evictions, 300);
	/* What is on disk agrees with the accounting. */
	{
		DIR *d;
		struct dirent *de;
		char sub[4096];
		uint64_t files = 0;

		for (int i = 0; i < 256; i++) {
			snprintf(sub, sizeof(sub), "%s/blocks/%02x", dir, i);
			d = opendir(sub);
			if (!d)
				continue;
			while ((de = readdir(d)))
				files += de->d_name[0] != '.';
			closedir(d);
		}
		cr_assert_gt(files, 10);
		cr_assert_leq(files * 4 * KB, 100 * KB);
	}
	remount(NULL, NULL, NULL);
	lm_datacache_close(dc);
	free(dir);
}

/* Flip one byte in the payload of every block file. */
static unsigned corrupt_all(const char *dir)
{
	unsigned n = 0;

	for (int i = 0; i < 256; i++) {
		char sub[4096], path[8192];
		struct dirent *de;
		DIR *d;

		snprintf(sub, sizeof(sub), "%s/blocks/%02x", dir, i);
		d = opendir(sub);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			struct stat sb;
			FILE *f;
			int c;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
			cr_assert_eq(stat(path, &sb), 0);
			f = fopen(path, "r+");
			cr_assert(f);
			fseek(f, sb.st_size - 1, SEEK_SET);
			c = fgetc(f);
			fseek(f, sb.st_size - 1, SEEK_SET);
			fputc(c ^ 0x5a, f);
			fclose(f);
			n++;
		}
		closedir(d);
	}
	return n;
}

Test(reader, datacache_corrupt_block_refetched)
{
	char *dir = lm_path_join(root, "dc");
	struct lm_datacache *dc = open_dc(dir, 64 << 20);
	struct lm_reader_stats s;
	struct lm_reader *r;
	uint64_t g0;

	remount(NULL, NULL, dc);
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);
	lm_reader_close(r);
	cr_assert_gt(corrupt_all(dir), 300);
	remount(NULL, NULL, dc);
	g0 = gets_now();
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);   /* right bytes all the same */
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_gt(s.disk_corrupt, 10);   /* the first block of each extent is read */
	cr_assert_eq(s.disk_hits, 0);
	cr_assert_gt(gets_now() - g0, 1);
	remount(NULL, NULL, NULL);
	lm_datacache_close(dc);
	free(dir);
}

Test(reader, datacache_torn_and_foreign_files)
{
	char *dir = lm_path_join(root, "dc");
	struct lm_datacache *dc = open_dc(dir, 1 << 20), *dc2 = NULL;
	struct lm_datacache_stats ds;
	struct lm_err err;
	char blk[1000], out[1000];

	memset(blk, 'x', sizeof(blk));
	lm_datacache_put(dc, "id-one", 3, blk, sizeof(blk));
	cr_assert_eq(lm_datacache_get(dc, "id-one", 3, out, sizeof(out)), 0);
	cr_assert(!memcmp(out, blk, sizeof(blk)));
	cr_assert_eq(lm_datacache_get(dc, "id-two", 3, out, sizeof(out)), ENOENT);
	cr_assert_eq(lm_datacache_get(dc, "id-one", 4, out, sizeof(out)), ENOENT);
	cr_assert_eq(lm_datacache_get(dc, "id-one", 3, out, 999), ENOENT);
	/* A second process on the same directory is refused with a clear message. */
	cr_assert_eq(lm_datacache_open(dir, 1 << 20, &dc2, &err), EBUSY);
	cr_assert(strstr(err.msg, "in use"), "%s", err.msg);
	/* A torn file (as a crash before the data reached the disk could leave). */
	{
		char sub[4096], path[8192];
		struct dirent *de;
		unsigned n = 0;

		for (int i = 0; i < 256; i++) {
			DIR *d;

			snprintf(sub, sizeof(sub), "%s/blocks/%02x", dir, i);
			d = opendir(sub);
			if (!d)
				continue;
			while ((de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
				cr_assert_eq(truncate(path, 500), 0);
				n++;
			}
			closedir(d);
		}
		cr_assert_eq(n, 1);
	}
	cr_assert_eq(lm_datacache_get(dc, "id-one", 3, out, sizeof(out)), ENOENT);
	lm_datacache_stats(dc, &ds);
	cr_assert_eq(ds.corrupt, 1);
	cr_assert_eq(ds.bytes_used, 0, "the damaged block is forgotten");
	lm_datacache_close(dc);
	free(dir);
}

Test(reader, datacache_disk_full_keeps_serving)
{
	char *dir = lm_path_join(root, "dc");
	struct lm_datacache *dc = open_dc(dir, 64 << 20);
	struct lm_datacache_stats ds;
	struct lm_reader_stats s;
	struct lm_reader *r;

	remount(NULL, NULL, dc);
	lm_datacache_inject_write_error(dc, ENOSPC);
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);   /* every byte right, from the network */
	lm_reader_close(r);
	lm_datacache_stats(dc, &ds);
	cr_assert_eq(ds.disabled, 1);
	cr_assert_eq(ds.puts, 0);
	cr_assert_eq(ds.bytes_used, 0);
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.disk_full, 1);
	/* Writing stays off even once the disk has room again (one warning, no flapping). */
	lm_datacache_inject_write_error(dc, 0);
	r = open_r("d/big.bin", FILE_SIZE);
	read_all(r);
	lm_reader_close(r);
	lm_datacache_stats(dc, &ds);
	cr_assert_eq(ds.puts, 0);
	remount(NULL, NULL, NULL);
	lm_datacache_close(dc);
	free(dir);
}

/* Many threads make the footer reads of one open at once: one tail GET, right bytes. */
struct ft_arg {
	struct lm_reader *r;
	const uint8_t *b;
	size_t size;
	int bad;
};

static void *footer_thread(void *ud)
{
	struct ft_arg *a = ud;
	uint8_t buf[9000];
	struct lm_err err;

	for (int i = 0; i < 50; i++) {
		size_t len = 1 + (size_t)(i * 181) % sizeof(buf);
		uint64_t off = a->size - len - (uint64_t)(i % 7);
		size_t got = 0;

		lm_err_init(&err);
		if (lm_reader_read(a->r, off, len, buf, &got, &err) || got != len ||
		    memcmp(buf, a->b + off, len))
			a->bad++;
	}
	return NULL;
}

Test(reader, footer_concurrent_first_reads)
{
	struct lm_fault_config fc = { .latency_ms = 20 };
	size_t size = 700 * KB + 5;
	uint8_t *b = write_parquet("d/t.parquet", size, 30000, 12);
	struct ft_arg a[8];
	pthread_t th[8];
	uint64_t g0;

	lm_store_fault_set(st, &fc);   /* the tail GET is slow: the others must wait for it */
	g0 = gets_now();
	a[0].r = open_id("d/t.parquet", size, 5);
	for (int i = 0; i < 8; i++) {
		a[i] = (struct ft_arg){ .r = a[0].r, .b = b, .size = size };
		cr_assert_eq(pthread_create(&th[i], NULL, footer_thread, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(a[i].bad, 0, "thread %d: %d bad reads", i, a[i].bad);
	}
	cr_assert_eq(gets_now() - g0, 1);
	lm_reader_close(a[0].r);
	free(b);
}

/* ---- zero-copy views (lm_reader_read_view) ---- */

/* Check a view against the pattern: its segments, in order, are the bytes at off. */
static void check_view(const struct lm_reader_view *v, uint64_t off, unsigned seed)
{
	size_t at = 0;

	cr_assert_leq(v->n, LM_READER_VIEW_SEGS);
	for (unsigned i = 0; i < v->n; i++) {
		cr_assert_gt(v->iov[i].iov_len, 0, "segment %u is empty", i);
		check_bytes(v->iov[i].iov_base, off + at, v->iov[i].iov_len, seed);
		at += v->iov[i].iov_len;
	}
	cr_assert_eq(at, v->len, "segments hold %zu bytes, len says %zu", at, v->len);
}

/* Read [off, off+len) with views only (releasing each, continuing after a partial
 * one); returns the bytes read. */
static size_t view_all(struct lm_reader *r, uint64_t off, size_t len, unsigned seed)
{
	size_t done = 0;

	while (done < len) {
		struct lm_reader_view v;
		struct lm_err err;

		lm_err_init(&err);
		cr_assert_eq(lm_reader_read_view(r, off + done, len - done, &v, &err), 0, "%s",
			     err.msg);
		check_view(&v, off + done, seed);
		done += v.len;
		lm_reader_view_release(&v);
		lm_reader_view_release(&v);   /* idempotent */
		if (!v.partial)
			break;
		cr_assert_gt(v.len, 0, "a partial view makes progress");
	}
	return done;
}

Test(reader, view_sequential_and_random_exact)
{
	struct lm_reader *r = open_r("d/big.bin", FILE_SIZE);
	struct lm_reader_stats s;
	uint64_t seed = 7;

	/* A stream in odd-sized reads that cross block and extent edges. */
	for (uint64_t off = 0; off < FILE_SIZE; off += 13 * KB + 5) {
		size_t len = 13 * KB + 5, want = FILE_SIZE - off < len ? FILE_SIZE - off : len;

		cr_assert_eq(view_all(r, off, len, 1), want, "at %llu", (unsigned long long)off);
	}
	/* Random reads, and the end of the file. */
	for (int i = 0; i < 200; i++) {
		uint64_t off, len;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		off = (seed >> 11) % FILE_SIZE;
		len = 1 + (seed >> 40) % (40 * KB);
		cr_assert_eq(view_all(r, off, len, 1),
			     FILE_SIZE - off < len ? FILE_SIZE - off : len);
	}
	cr_assert_eq(view_all(r, FILE_SIZE, 10, 1), 0, "nothing past the end");
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.gets_failed, 0);
}

Test(reader, view_more_pieces_than_segments_is_partial)
{
	struct lm_reader *r = open_r("d/big.bin", FILE_SIZE);
	struct lm_reader_view v;
	struct lm_err err;
	/* Blocks 100..115 cached one by one (reads far apart: no stream, no prefetch),
	 * so a view of all 16 needs 16 segments. */
	static const unsigned order[16] = { 7, 2, 12, 0, 15, 9, 4, 11, 1, 14, 6, 3, 13, 8, 5, 10 };

	for (int i = 0; i < 16; i++)
		cr_assert_eq(read_check(r, (100 + order[i]) * 4 * KB, 10, FILE_SIZE, 1, &err), 0,
			     "%s", err.msg);
	cr_assert_eq(lm_reader_read_view(r, 100 * 4 * KB + 1, 16 * 4 * KB - 2, &v, &err), 0, "%s",
		     err.msg);
	cr_assert(v.partial);
	cr_assert_eq(v.n, LM_READER_VIEW_SEGS);
	cr_assert_eq(v.len, LM_READER_VIEW_SEGS * 4 * KB - 1);
	check_view(&v, 100 * 4 * KB + 1, 1);
	lm_reader_view_release(&v);
	cr_assert_eq(view_all(r, 100 * 4 * KB + 1, 16 * 4 * KB - 2, 1), 16 * 4 * KB - 2);
	lm_reader_close(r);
}

/* A view that holds the whole budget and needs one more block does not wait for memory
 * its own pins hold: it stops early; the rest reads once it is released. */
Test(reader, view_never_waits_on_its_own_pins)
{
	struct lm_reader_config c;
	struct lm_reader *r;
	struct lm_reader_view v;
	struct lm_reader_stats s;
	struct lm_err err;

	small_config(&c);
	c.max_memory = 32 * KB;   /* one request of 8 blocks */
	make_pool(&c);
	r = open_r("d/big.bin", FILE_SIZE);
	lm_err_init(&err);
	cr_assert_eq(lm_reader_read_view(r, 0, 40 * KB, &v, &err), 0, "%s", err.msg);
	cr_assert(v.partial, "stopped at the budget");
	cr_assert_eq(v.len, 32 * KB);
	check_view(&v, 0, 1);
	lm_reader_view_release(&v);
	cr_assert_eq(read_check(r, 32 * KB, 8 * KB, FILE_SIZE, 1, &err), 0, "%s", err.msg);
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_leq(s.mem_peak, 32 * KB);
}

struct pressure_arg {
	struct lm_reader *r;
	unsigned seed;
	int bad;
};

/* Streams the whole file through a tight budget (evicting and reusing buffers). */
static void *pressure_thread(void *p)
{
	struct pressure_arg *a = p;
	struct lm_err err;

	for (uint64_t off = 0; off < FILE_SIZE; off += 8 * KB)
		if (read_check(a->r, off, 8 * KB, FILE_SIZE, a->seed, &err))
			a->bad++;
	return NULL;
}

/* Bytes a view points at stay put while other readers stream through the cache: the
 * pinned extents are neither evicted nor reused until the view is released. */
Test(reader, view_pins_survive_eviction_pressure)
{
	struct lm_reader_config c;
	struct lm_reader *r, *o;
	struct lm_reader_view v;
	struct lm_reader_stats s;
	struct pressure_arg a;
	struct lm_err err;
	pthread_t th;

	small_config(&c);
	c.max_memory = 96 * KB;
	make_pool(&c);
	write_pattern("d/other.bin", FILE_SIZE, 5);
	r = open_r("d/big.bin", FILE_SIZE);
	o = open_r("d/other.bin", FILE_SIZE);
	lm_err_init(&err);
	cr_assert_eq(lm_reader_read_view(r, 200 * KB + 3, 20 * KB, &v, &err), 0, "%s", err.msg);
	cr_assert(!v.partial);
	cr_assert_eq(v.len, 20 * KB);
	a = (struct pressure_arg){ .r = o, .seed = 5 };
	pressure_thread(&a);   /* the other file, once through, in this thread */
	cr_assert_eq(a.bad, 0);
	check_view(&v, 200 * KB + 3, 1);   /* still the same bytes */
	/* Release while another thread streams: it may be waiting for memory. */
	cr_assert_eq(pthread_create(&th, NULL, pressure_thread, &a), 0);
	lm_reader_view_release(&v);
	pthread_join(th, NULL);
	cr_assert_eq(a.bad, 0);
	lm_reader_close(o);
	lm_reader_close(r);
	lm_reader_pool_stats(pool, &s);
	cr_assert_gt(s.evictions, 0, "the streams went through the budget");
	cr_assert_leq(s.mem_peak, 96 * KB + 32 * KB, "peak %llu", (unsigned long long)s.mem_peak);
}

/* A failed GET in the middle of a view: EIO, no segments, and no pin left behind (a
 * leaked pin would keep the only request-sized buffer forever and the read after
 * would wait for memory for ever). */
Test(reader, view_error_keeps_no_pins)
{
	struct lm_fault_config fc = { .fail_at = true, .fail_off = 40 * KB };
	struct lm_reader_config c;
	struct lm_reader *r;
	struct lm_reader_view v;
	struct lm_err err;

	small_config(&c);
	c.max_memory = 64 * KB;
	make_pool(&c);
	r = open_r("d/big.bin", FILE_SIZE);
	lm_store_fault_set(st, &fc);
	lm_err_init(&err);
	cr_assert_eq(lm_reader_read_view(r, 0, 48 * KB, &v, &err), EIO);
	cr_assert_eq(v.n, 0);
	cr_assert_eq(v.len, 0);
	lm_reader_view_release(&v);
	memset(&fc, 0, sizeof(fc));
	lm_store_fault_set(st, &fc);
	/* Needs the whole budget: only possible when nothing stays pinned. */
	for (uint64_t off = 64 * KB; off < 640 * KB; off += 64 * KB)
		cr_assert_eq(view_all(r, off, 64 * KB, 1), 64 * KB);
	lm_reader_close(r);
}

Test(reader, view_of_parquet_tail)
{
	size_t size = 300 * KB + 17;
	uint8_t *b = write_parquet("d/v.parquet", size, 9000, 4);
	struct lm_reader *r = open_id("d/v.parquet", size, 77);
	struct lm_reader_stats s;
	struct lm_reader_view v;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_reader_read_view(r, size - 8, 8, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(v.n, 1);
	cr_assert_eq(v.len, 8);
	cr_assert(!memcmp(v.iov[0].iov_base, b + size - 8, 8));
	lm_reader_view_release(&v);
	cr_assert_eq(lm_reader_read_view(r, size - 9008, 9000, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(v.len, 9000);
	cr_assert(!memcmp(v.iov[0].iov_base, b + size - 9008, 9000));
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.footer_reads, 2);
	cr_assert_eq(s.gets_footer, 1);
	/* The kernel may release the file before the replying thread releases its view:
	 * the tail outlives the reader while a view names it (ASan checks the read). */
	lm_reader_close(r);
	cr_assert(!memcmp(v.iov[0].iov_base, b + size - 9008, 9000));
	lm_reader_pool_stats(pool, &s);
	cr_assert_geq(s.mem_used, 9008, "the held tail still counts (%llu)",
		      (unsigned long long)s.mem_used);
	lm_reader_view_release(&v);
	lm_reader_pool_stats(pool, &s);
	cr_assert_eq(s.mem_used, 0, "the last reference frees the tail (%llu left)",
		     (unsigned long long)s.mem_used);
	free(b);
}

/* The same for blocks: a view's pins outlive the reader that made it. */
Test(reader, view_outlives_reader_close)
{
	struct lm_reader *r = open_r("d/big.bin", FILE_SIZE);
	struct lm_reader_view v;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_reader_read_view(r, 5000, 30 * KB, &v, &err), 0, "%s", err.msg);
	cr_assert(!v.partial);
	lm_reader_close(r);
	check_view(&v, 5000, 1);
	lm_reader_view_release(&v);
}
