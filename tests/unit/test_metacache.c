/* Unit tests: the persistent metadata cache (LMDB) and the snapshot image codec —
 * round trips, persistence across reopen, damaged records and foreign files discarded
 * (never served), eviction within cache_size, two processes on one folder, and the
 * table layer serving a version from the cache with no storage read (fault store), and
 * values built and stored on the writer thread (put_async). */
#include "helpers.h"

#include <sys/wait.h>

#include "lm/metacache.h"
#include "lm/snapshot.h"
#include "lm/store.h"
#include "lm/table.h"
#include "lm/util.h"

static char *dir;

static void setup(void)
{
	dir = th_tmpdir();
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
}

TestSuite(metacache, .init = setup, .fini = teardown);

static struct lm_metacache *open_mc(uint64_t size)
{
	struct lm_metacache *mc = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_metacache_open(dir, size, &mc, &err), 0, "%s", err.msg);
	return mc;
}

static int get(struct lm_metacache *mc, enum lm_mc_kind k, const char *key, struct lm_buf *b)
{
	struct lm_err err;

	lm_err_init(&err);
	lm_buf_reset(b);
	return lm_metacache_get(mc, k, key, b, &err);
}

static void put(struct lm_metacache *mc, enum lm_mc_kind k, const char *key, const void *v,
		size_t n)
{
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_metacache_put(mc, k, key, v, n, &err), 0, "%s", err.msg);
}

Test(metacache, round_trip_and_reopen)
{
	struct lm_metacache *mc = open_mc(0);
	struct lm_buf b;

	lm_buf_init(&b, 0);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "a", &b), ENOENT);
	put(mc, LM_MC_SNAPSHOT, "a", "hello", 5);
	put(mc, LM_MC_FOOTER, "a", "other kind", 10);
	put(mc, LM_MC_SNAPSHOT, "", "", 0);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "a", &b), 0);
	cr_assert_eq(b.len, 5);
	cr_assert_arr_eq(b.data, "hello", 5);
	cr_assert_eq(get(mc, LM_MC_FOOTER, "a", &b), 0);
	cr_assert_str_eq(b.data, "other kind");
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "", &b), 0);
	cr_assert_eq(b.len, 0);
	put(mc, LM_MC_SNAPSHOT, "a", "replaced", 8);
	lm_metacache_close(mc);

	mc = open_mc(0);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "a", &b), 0);
	cr_assert_str_eq(b.data, "replaced");
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "b", &b), ENOENT);
	lm_metacache_close(mc);
	lm_buf_free(&b);
}

/* Find needle in the file and overwrite its first byte. */
static int damage(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r+b");
	size_t n = strlen(needle), cap = 64 << 20, len;
	char *buf = malloc(cap);
	int hits = 0;

	cr_assert(f && buf);
	len = fread(buf, 1, cap, f);
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, needle, n))
			continue;
		fseek(f, (long)i, SEEK_SET);
		fputc(needle[0] ^ 0x20, f);
		hits++;
	}
	fclose(f);
	free(buf);
	return hits;
}

Test(metacache, damaged_record_is_discarded_not_served)
{
	struct lm_metacache *mc = open_mc(0);
	struct lm_metacache_stats st;
	struct lm_buf b;
	char path[4200];

	lm_buf_init(&b, 0);
	put(mc, LM_MC_SNAPSHOT, "k1", "VALUE-ONE-0123456789", 20);
	put(mc, LM_MC_SNAPSHOT, "k2", "VALUE-TWO-0123456789", 20);
	lm_metacache_close(mc);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	cr_assert_geq(damage(path, "VALUE-ONE"), 1);

	mc = open_mc(0);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "k1", &b), ENOENT);
	lm_metacache_stats(mc, &st);
	cr_assert_eq(st.corrupt, 1);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "k2", &b), 0);
	cr_assert_str_eq(b.data, "VALUE-TWO-0123456789");
	/* Discarded, then rebuilt by the next put. */
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "k1", &b), ENOENT);
	put(mc, LM_MC_SNAPSHOT, "k1", "VALUE-NEW", 9);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "k1", &b), 0);
	cr_assert_str_eq(b.data, "VALUE-NEW");
	lm_metacache_close(mc);
	lm_buf_free(&b);
}

Test(metacache, foreign_file_moved_aside)
{
	char path[4200], cmd[4400];
	struct lm_metacache *mc;
	struct lm_buf b;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	f = fopen(path, "w");
	cr_assert(f);
	for (int i = 0; i < 3000; i++)
		fputs("this is not an LMDB file; ", f);
	fclose(f);
	mc = open_mc(0);
	lm_buf_init(&b, 0);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "x", &b), ENOENT);
	put(mc, LM_MC_SNAPSHOT, "x", "y", 1);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "x", &b), 0);
	lm_metacache_close(mc);
	lm_buf_free(&b);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '^data.mdb.bad-'", dir);
	cr_assert_eq(system(cmd), 0, "the foreign file was not kept aside");
}

Test(metacache, eviction_keeps_newest_within_size)
{
	struct lm_metacache *mc = open_mc(8u << 20);
	struct lm_metacache_stats st;
	char key[32], *val = malloc(200000);
	struct lm_buf b;
	int present = 0;

	cr_assert(val);
	lm_buf_init(&b, 0);
	for (int i = 0; i < 100; i++) {
		memset(val, 'a' + i % 26, 200000);
		snprintf(key, sizeof(key), "rec-%d", i);
		put(mc, LM_MC_SNAPSHOT, key, val, 200000);
	}
	lm_metacache_stats(mc, &st);
	cr_assert_gt(st.evictions, 0);
	cr_assert_leq(st.used_bytes, 8u << 20);
	/* The newest ones are there, byte for byte; the oldest are gone. */
	for (int i = 95; i < 100; i++) {
		snprintf(key, sizeof(key), "rec-%d", i);
		cr_assert_eq(get(mc, LM_MC_SNAPSHOT, key, &b), 0, "%s evicted", key);
		cr_assert_eq(b.len, 200000);
		cr_assert_eq(b.data[0], 'a' + i % 26);
		cr_assert_eq(b.data[199999], 'a' + i % 26);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "rec-%d", i);
		present += get(mc, LM_MC_SNAPSHOT, key, &b) == 0;
	}
	cr_assert_lt(present, 40);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "rec-0", &b), ENOENT);
	/* Too big for the cache: refused, nothing else lost. */
	{
		struct lm_err err;
		char *big = calloc(1, 3u << 20);

		lm_err_init(&err);
		cr_assert_eq(lm_metacache_put(mc, LM_MC_SNAPSHOT, "big", big, 3u << 20, &err),
			     LM_ETOOBIG);
		free(big);
		cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "rec-99", &b), 0);
	}
	lm_metacache_close(mc);
	lm_buf_free(&b);
	free(val);
}

Test(metacache, two_processes_share_a_folder)
{
	struct lm_metacache *mc = open_mc(0);
	struct lm_buf b;
	pid_t pid;
	int status;

	put(mc, LM_MC_SNAPSHOT, "parent", "p", 1);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct lm_metacache *c = NULL;
		struct lm_buf cb;
		struct lm_err err;
		int bad = 0;

		lm_err_init(&err);
		lm_buf_init(&cb, 0);
		if (lm_metacache_open(dir, 0, &c, &err))
			_exit(10);
		for (int i = 0; i < 200; i++) {
			char k[32];

			snprintf(k, sizeof(k), "child-%d", i);
			bad |= lm_metacache_put(c, LM_MC_SNAPSHOT, k, k, strlen(k), &err);
		}
		bad |= lm_metacache_get(c, LM_MC_SNAPSHOT, "parent", &cb, &err);
		lm_metacache_close(c);
		_exit(bad ? 11 : 0);
	}
	lm_buf_init(&b, 0);
	for (int i = 0; i < 200; i++) {
		char k[32];

		snprintf(k, sizeof(k), "parent-%d", i);
		put(mc, LM_MC_SNAPSHOT, k, k, strlen(k));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "child-199", &b), 0);
	cr_assert_str_eq(b.data, "child-199");
	cr_assert_eq(get(mc, LM_MC_SNAPSHOT, "parent-199", &b), 0);
	lm_metacache_close(mc);
	lm_buf_free(&b);
}

/* ---- snapshot images ---- */

static struct lm_snapshot *sample(void)
{
	static const struct lm_file f[] = {
		{ .path = "a.parquet", .size = 10, .mtime_ms = 1, .flags = 0 },
		{ .path = "x=1/b.parquet", .size = 20, .mtime_ms = 2, .flags = LM_FILE_HAS_DV,
		  .deleted_rows = 3 },
		{ .path = "x=1/y=%2F/c.parquet", .size = 30, .mtime_ms = 3 },
		{ .path = "x=2/d.parquet", .size = 40, .mtime_ms = 4 },
		{ .path = "\xe6\x9d\xb1/e.parquet", .size = 50, .mtime_ms = 5 },
	};
	struct lm_snapshot *s = NULL;
	struct lm_err err;

	lm_err_init(&err);
	cr_assert_eq(lm_snapshot_new(7, 1234, f, 5, &s, &err), 0, "%s", err.msg);
	return s;
}

static void same_snapshot(const struct lm_snapshot *a, const struct lm_snapshot *b)
{
	cr_assert_eq(a->version, b->version);
	cr_assert_eq(a->commit_ms, b->commit_ms);
	cr_assert_eq(a->nfiles, b->nfiles);
	cr_assert_eq(a->nnodes, b->nnodes);
	cr_assert_eq(a->total_bytes, b->total_bytes);
	cr_assert_eq(a->n_dv_files, b->n_dv_files);
	for (size_t i = 0; i < a->nfiles; i++) {
		cr_assert_str_eq(a->files[i].path, b->files[i].path);
		cr_assert_eq(a->files[i].size, b->files[i].size);
		cr_assert_eq(a->files[i].mtime_ms, b->files[i].mtime_ms);
		cr_assert_eq(a->files[i].flags, b->files[i].flags);
		cr_assert_eq(a->files[i].deleted_rows, b->files[i].deleted_rows);
	}
	for (size_t i = 0; i < a->nnodes; i++) {
		cr_assert_str_eq(a->nodes[i].name, b->nodes[i].name);
		cr_assert_eq(a->nodes[i].parent, b->nodes[i].parent);
		cr_assert_eq(a->nodes[i].first_child, b->nodes[i].first_child);
		cr_assert_eq(a->nodes[i].n_children, b->nodes[i].n_children);
		cr_assert_eq(a->nodes[i].file, b->nodes[i].file);
	}
}

Test(snapimage, round_trip_keeps_the_tree_and_numbering)
{
	struct lm_snapshot *s = sample(), *d = NULL;
	struct lm_buf b;
	struct lm_err err;

	lm_buf_init(&b, 0);
	lm_err_init(&err);
	cr_assert_eq(lm_snapshot_encode(s, &b), 0);
	cr_assert_eq(lm_snapshot_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	same_snapshot(s, d);
	cr_assert_eq(lm_snapshot_child(d, 0, "x=1"), lm_snapshot_child(s, 0, "x=1"));
	cr_assert_geq(lm_snapshot_child(d, 0, "\xe6\x9d\xb1"), 1);
	lm_snapshot_unref(s);
	lm_snapshot_unref(d);
	lm_buf_free(&b);
}

Test(snapimage, empty_snapshot)
{
	struct lm_snapshot *s = NULL, *d = NULL;
	struct lm_buf b;
	struct lm_err err;

	lm_err_init(&err);
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_snapshot_new(0, -1, NULL, 0, &s, &err), 0);
	cr_assert_eq(lm_snapshot_encode(s, &b), 0);
	cr_assert_eq(lm_snapshot_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	same_snapshot(s, d);
	lm_snapshot_unref(s);
	lm_snapshot_unref(d);
	lm_buf_free(&b);
}

Test(snapimage, damaged_images_are_refused_or_consistent)
{
	struct lm_snapshot *s = sample(), *d = NULL;
	struct lm_buf b;
	struct lm_err err;
	unsigned seed = 12345;

	lm_buf_init(&b, 0);
	cr_assert_eq(lm_snapshot_encode(s, &b), 0);
	/* Every truncation is refused. */
	for (size_t n = 0; n < b.len; n++) {
		lm_err_init(&err);
		cr_assert_neq(lm_snapshot_decode(b.data, n, &d, &err), 0, "prefix %zu accepted", n);
	}
	/* Random corruption: refused, or (a changed size or time, which only the cache's
	 * checksum can catch) a tree that is still self-consistent. */
	for (int round = 0; round < 20000; round++) {
		char *c = malloc(b.len);
		size_t at;

		memcpy(c, b.data, b.len);
		seed = seed * 1103515245u + 12345u;
		at = (seed >> 8) % b.len;
		c[at] ^= (char)(1u << ((seed >> 3) % 8));
		lm_err_init(&err);
		if (lm_snapshot_decode(c, b.len, &d, &err) == 0) {
			for (size_t i = 0; i < d->nnodes; i++)
				if (d->nodes[i].file >= 0)
					cr_assert_lt((size_t)d->nodes[i].file, d->nfiles);
			for (size_t i = 0; i < d->nfiles; i++)
				cr_assert(lm_relpath_ok(d->files[i].path));
			lm_snapshot_unref(d);
		} else {
			cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
		}
		free(c);
	}
	lm_snapshot_unref(s);
	lm_buf_free(&b);
}

/* ---- the table layer: a version served from the cache makes no storage read ---- */

/* put_async: jobs built and stored off the caller's thread; more than the queue holds
 * run in the caller; a failing producer stores nothing; close() finishes them all. */
struct async_job {
	int i;
	int *done_rc;        /* where done() writes its rc */
	atomic_int *ndone;
};

static int async_produce(void *ud, struct lm_buf *out, struct lm_err *err)
{
	struct async_job *j = ud;
	char v[32];

	if (j->i == 7)
		return lm_err_set(err, EINVAL, "job 7 refuses");
	snprintf(v, sizeof(v), "value-%d", j->i);
	return lm_buf_append(out, v, strlen(v) + 1);
}

static void async_done(void *ud, int rc, const struct lm_err *err)
{
	struct async_job *j = ud;

	*j->done_rc = rc;
	if (rc)
		cr_assert_str_eq(err->msg, "job 7 refuses");
	atomic_fetch_add(j->ndone, 1);
}

Test(metacache, put_async_stores_everything_by_close)
{
	enum { N = 40 };
	struct lm_metacache *mc = open_mc(0);
	struct async_job jobs[N];
	int rcs[N];
	atomic_int ndone = 0;
	struct lm_buf b;

	for (int i = 0; i < N; i++) {
		char key[16];

		rcs[i] = -1;
		jobs[i] = (struct async_job){ .i = i, .done_rc = &rcs[i], .ndone = &ndone };
		snprintf(key, sizeof(key), "k%d", i);
		cr_assert_eq(lm_metacache_put_async(mc, LM_MC_SNAPSHOT, key, async_produce, async_done,
						    &jobs[i]), 0);
	}
	lm_metacache_close(mc);
	cr_assert_eq(atomic_load(&ndone), N, "every done() ran by close");
	mc = open_mc(0);
	lm_buf_init(&b, 0);
	for (int i = 0; i < N; i++) {
		char key[16], want[32];

		snprintf(key, sizeof(key), "k%d", i);
		snprintf(want, sizeof(want), "value-%d", i);
		if (i == 7) {
			cr_assert_neq(rcs[i], 0);
			cr_assert_eq(get(mc, LM_MC_SNAPSHOT, key, &b), ENOENT, "a failed job stores nothing");
			continue;
		}
		cr_assert_eq(rcs[i], 0, "job %d: rc %d", i, rcs[i]);
		cr_assert_eq(get(mc, LM_MC_SNAPSHOT, key, &b), 0, "%s", key);
		cr_assert_str_eq(b.data, want);
	}
	lm_buf_free(&b);
	lm_metacache_close(mc);
}

Test(metacache, table_snapshot_from_cache_after_reopen)
{
	static const char *commit0 =
		"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
		"{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[]}}\n"
		"{\"add\":{\"path\":\"p=1/a.parquet\",\"size\":11,\"modificationTime\":1000,\"dataChange\":true}}\n"
		"{\"add\":{\"path\":\"b.parquet\",\"size\":22,\"modificationTime\":1000,\"dataChange\":true}}\n";
	char *src = th_tmpdir();
	struct lm_snapshot *s1 = NULL, *s2 = NULL;
	struct lm_fault_counts fc;
	struct lm_fault_config cfg = { 0 };

	th_write(src, "t/_delta_log/00000000000000000000.json", commit0);
	th_write(src, "t/_delta_log/00000000000000000001.json",
		 "{\"remove\":{\"path\":\"b.parquet\",\"deletionTimestamp\":2000,\"dataChange\":true}}\n");
	for (int pass = 0; pass < 2; pass++) {
		struct lm_metacache *mc = open_mc(0);
		struct lm_store *local = NULL, *st = NULL;
		struct lm_table *t = NULL;
		struct lm_table_view *v = NULL;
		size_t nv = 0;
		struct lm_err err;

		lm_err_init(&err);
		cr_assert_eq(lm_store_local_new(src, &local, &err), 0);
		cr_assert_eq(lm_store_fault_new(local, &cfg, &st), 0);
		cr_assert_eq(lm_table_open(st, "t", "t", LM_TABLE_DELTA, &t, &err), 0, "%s", err.msg);
		lm_table_set_metacache(t, mc);
		cr_assert_eq(lm_table_views(t, &v, &nv, &err), 0, "%s", err.msg);
		free(v);
		cr_assert_eq(lm_table_snapshot(t, "1", pass ? &s2 : &s1, &err), 0, "%s", err.msg);
		lm_store_fault_counts(st, &fc);
		if (pass == 0)
			cr_assert_gt(fc.gets, 0, "the first build reads the log");
		else
			cr_assert_eq(fc.gets, 0, "a cached version read %llu objects",
				     (unsigned long long)fc.gets);
		lm_table_free(t);
		lm_store_free(st);
		lm_metacache_close(mc);
	}
	same_snapshot(s1, s2);
	cr_assert_eq(s2->nfiles, 1);
	cr_assert_str_eq(s2->files[0].path, "p=1/a.parquet");

	/* The table made again at the same path (new commit files): never the old list. */
	sleep(1);
	th_write(src, "t/_delta_log/00000000000000000001.json",
		 "{\"add\":{\"path\":\"c.parquet\",\"size\":33,\"modificationTime\":3000,\"dataChange\":true}}\n");
	{
		struct lm_metacache *mc = open_mc(0);
		struct lm_store *st = NULL;
		struct lm_table *t = NULL;
		struct lm_table_view *v = NULL;
		struct lm_snapshot *s3 = NULL;
		size_t nv = 0;
		struct lm_err err;

		lm_err_init(&err);
		cr_assert_eq(lm_store_local_new(src, &st, &err), 0);
		cr_assert_eq(lm_table_open(st, "t", "t", LM_TABLE_DELTA, &t, &err), 0);
		lm_table_set_metacache(t, mc);
		cr_assert_eq(lm_table_views(t, &v, &nv, &err), 0);
		free(v);
		cr_assert_eq(lm_table_snapshot(t, "1", &s3, &err), 0, "%s", err.msg);
		cr_assert_eq(s3->nfiles, 3);
		lm_snapshot_unref(s3);
		lm_table_free(t);
		lm_store_free(st);
		lm_metacache_close(mc);
	}
	lm_snapshot_unref(s1);
	lm_snapshot_unref(s2);
	th_rmrf(src);
	free(src);
}
