/* meta.c — the persistent metadata cache (include/lm/metacache.h) on LMDB.
 * Owns struct lm_metacache and the files in its directory. May call: util, LMDB.
 *
 * Layout: one LMDB environment (data.mdb + lock.mdb) with three named databases:
 *   "rec"  sha256(kind ‖ key) (32 bytes) → record = header ‖ key ‖ value
 *   "age"  write sequence number (8 bytes, big-endian) → the 32-byte record key;
 *          in write order, so the oldest records are found first for eviction
 *   "fmt"  "format" → "lakemount-metacache <LM_MC_FORMAT>"
 * A record carries its own sequence number, so an "age" row whose record has since
 * been replaced (the record's seq differs) is stale and simply dropped on eviction.
 *
 * Trust: nothing read from the file is believed before it is checked: magic, record
 * format, kind, key length and bytes (the full key is compared, not just its hash),
 * value length against the LMDB value size, and a 64-bit checksum of key and value.
 * A failed check deletes the record and says so once; the caller sees a miss. An
 * environment LMDB itself cannot open (not an LMDB file, another LMDB version, torn)
 * or one of another record format is moved aside (data.mdb.bad-<time>) and recreated.
 *
 * Locking: LMDB serialises writers across threads and processes; readers use MDB_NOTLS
 * read transactions that live only inside one call (values are copied out), so no read
 * transaction is ever held across a network wait or pins old pages. MDB_NOMETASYNC: a
 * crash may lose the last transaction but never breaks the file. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lm/log.h"
#include "lm/metacache.h"
#include "lm/util.h"

#define LM_MC_FORMAT 1
#define REC_MAGIC 0x314d434cu   /* "LCM1" little-endian */
#define DEFAULT_MAP ((uint64_t)1 << 30)
#define MIN_MAP ((uint64_t)4 << 20)

struct rec_head {
	uint32_t magic;
	uint16_t format;
	uint8_t kind;
	uint8_t pad;
	uint32_t key_len;
	uint32_t pad2;
	uint64_t val_len;
	uint64_t seq;
	uint64_t sum;
};

/* A value to be built and stored by the writer thread (lm_metacache_put_async). */
struct mc_job {
	struct mc_job *next;
	enum lm_mc_kind kind;
	char *key;
	int (*produce)(void *ud, struct lm_buf *out, struct lm_err *err);
	void (*done)(void *ud, int rc, const struct lm_err *err);
	void *ud;
};

#define MAX_PENDING 8   /* queued jobs; past this the caller does the work itself */

struct lm_metacache {
	MDB_env *env;
	MDB_dbi rec, age, fmt;
	uint64_t map_bytes;
	char *dir;
	atomic_uint_fast64_t hits, misses, puts, evictions, corrupt;
	/* the writer: started by the first put_async, drained and joined by close */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct mc_job *head, *tail;
	unsigned pending;
	bool writer_started, stopping;
	pthread_t writer;
};

/* A checksum for damage, not for adversaries: 8 bytes a step, then an avalanche. */
static uint64_t sum64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

static void rec_key(enum lm_mc_kind kind, const char *key, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char k = (unsigned char)kind;
	unsigned int n = 32;

	memset(out, 0, 32);
	if (!c)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, &k, 1) == 1 &&
	    EVP_DigestUpdate(c, key, strlen(key)) == 1)
		EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
}

static int mdb_to_errno(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return ENOENT;
	case MDB_MAP_FULL:
		return ENOSPC;
	case MDB_READERS_FULL:
		return EAGAIN;
	default:
		return rc > 0 ? rc : EIO;
	}
}

int lm_metacache_default_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && *xdg == '/')
		n = snprintf(out, size, "%s/lakemount", xdg);
	else if (geteuid() == 0)
		n = snprintf(out, size, "/var/cache/lakemount");
	else if (home && *home == '/')
		n = snprintf(out, size, "%s/.cache/lakemount", home);
	else
		n = snprintf(out, size, "/tmp/lakemount-cache-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
	char p[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return errno;
		p[i] = dir[i];
	}
	return 0;
}

static void move_aside(const char *dir, const char *why)
{
	char from[4200], to[4300];

	snprintf(from, sizeof(from), "%s/data.mdb", dir);
	snprintf(to, sizeof(to), "%s/data.mdb.bad-%lld", dir, (long long)lm_now_ms());
	/* why already names the cache. */
	if (rename(from, to) == 0)
		lm_warn("%s; moved it aside to %s and starting an empty one", why, to);
	else
		lm_warn("%s; could not move it aside (%s)", why, strerror(errno));
	snprintf(from, sizeof(from), "%s/lock.mdb", dir);
	unlink(from);
}

static int env_open(struct lm_metacache *mc, struct lm_err *err)
{
	int rc;

	rc = mdb_env_create(&mc->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(mc->env, 4);
	if (!rc)
		rc = mdb_env_set_maxreaders(mc->env, 254);
	if (!rc)
		rc = mdb_env_set_mapsize(mc->env, mc->map_bytes);
	if (!rc)
		rc = mdb_env_open(mc->env, mc->dir, MDB_NOTLS | MDB_NOMETASYNC, 0600);
	if (rc) {
		if (mc->env)
			mdb_env_close(mc->env);
		mc->env = NULL;
		return lm_err_set(err, mdb_to_errno(rc), "metadata cache %s: %s", mc->dir,
				  mdb_strerror(rc));
	}
	return 0;
}

/* Open the databases and check the record format; LM_EFORMAT when the file is
 * another format's (the caller moves it aside). */
static int dbs_open(struct lm_metacache *mc, struct lm_err *err)
{
	char want[64];
	MDB_txn *txn = NULL;
	MDB_val k = { 6, (void *)"format" }, v;
	int rc;

	snprintf(want, sizeof(want), "lakemount-metacache %d", LM_MC_FORMAT);
	rc = mdb_txn_begin(mc->env, NULL, 0, &txn);
	if (rc)
		goto out;
	if ((rc = mdb_dbi_open(txn, "fmt", MDB_CREATE, &mc->fmt)) ||
	    (rc = mdb_dbi_open(txn, "rec", MDB_CREATE, &mc->rec)) ||
	    (rc = mdb_dbi_open(txn, "age", MDB_CREATE, &mc->age)))
		goto out;
	rc = mdb_get(txn, mc->fmt, &k, &v);
	if (rc == MDB_NOTFOUND) {
		MDB_stat st;

		if (mdb_stat(txn, mc->rec, &st) == 0 && st.ms_entries) {
			mdb_txn_abort(txn);
			return lm_err_set(err, LM_EFORMAT, "metadata cache %s: records without a format mark",
					  mc->dir);
		}
		v.mv_data = want;
		v.mv_size = strlen(want);
		rc = mdb_put(txn, mc->fmt, &k, &v, 0);
		if (rc)
			goto out;
	} else if (rc) {
		goto out;
	} else if (v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size)) {
		mdb_txn_abort(txn);
		return lm_err_set(err, LM_EFORMAT, "metadata cache %s: written by another cache format",
				  mc->dir);
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
out:
	if (txn)
		mdb_txn_abort(txn);
	if (rc)
		return lm_err_set(err, rc == MDB_INCOMPATIBLE ? LM_EFORMAT : mdb_to_errno(rc),
				  "metadata cache %s: %s", mc->dir, mdb_strerror(rc));
	return 0;
}

int lm_metacache_open(const char *dir, uint64_t max_bytes, struct lm_metacache **out,
		      struct lm_err *err)
{
	struct lm_metacache *mc = calloc(1, sizeof(*mc));
	struct lm_err e2;
	long page = sysconf(_SC_PAGESIZE);
	int rc;

	*out = NULL;
	if (!mc)
		return lm_err_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&mc->qlock, NULL);
	pthread_cond_init(&mc->qcond, NULL);
	mc->map_bytes = max_bytes ? max_bytes : DEFAULT_MAP;
	if (mc->map_bytes < MIN_MAP)
		mc->map_bytes = MIN_MAP;
	if (page > 0)
		mc->map_bytes -= mc->map_bytes % (uint64_t)page;
	mc->dir = strdup(dir);
	if (!mc->dir) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = make_dirs(dir);
	if (rc) {
		rc = lm_err_set(err, rc, "metadata cache %s: cannot create the folder: %s", dir,
				strerror(rc));
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		lm_err_init(&e2);
		rc = env_open(mc, &e2);
		if (!rc) {
			rc = dbs_open(mc, &e2);
			if (rc) {
				mdb_env_close(mc->env);
				mc->env = NULL;
			}
		}
		if (!rc)
			break;
		/* Permission problems, a missing folder or ENOSPC are not the file's fault:
		 * report them; anything that says the file is not a good cache: start over. */
		if (attempt == 1 || rc == EACCES || rc == EPERM || rc == ENOENT || rc == ENOSPC ||
		    rc == EROFS || rc == ENOMEM) {
			*err = e2;
			goto out;
		}
		move_aside(dir, e2.msg);
	}
	*out = mc;
	mc = NULL;
out:
	lm_metacache_close(mc);
	return rc;
}

void lm_metacache_close(struct lm_metacache *mc)
{
	if (!mc)
		return;
	/* Every queued value is still built and stored: a remount right after an unmount
	 * finds what this mount built. */
	pthread_mutex_lock(&mc->qlock);
	mc->stopping = true;
	pthread_cond_broadcast(&mc->qcond);
	pthread_mutex_unlock(&mc->qlock);
	if (mc->writer_started)
		pthread_join(mc->writer, NULL);
	pthread_mutex_destroy(&mc->qlock);
	pthread_cond_destroy(&mc->qcond);
	if (mc->env)
		mdb_env_close(mc->env);
	free(mc->dir);
	free(mc);
}

static uint64_t bytes_get(struct lm_metacache *mc, MDB_txn *txn);
static int bytes_set(struct lm_metacache *mc, MDB_txn *txn, uint64_t b);

static void drop_record(struct lm_metacache *mc, const unsigned char hk[32])
{
	MDB_txn *txn;
	MDB_val k = { 32, (void *)hk };

	MDB_val v;
	uint64_t bytes;

	if (mdb_txn_begin(mc->env, NULL, 0, &txn))
		return;
	bytes = bytes_get(mc, txn);
	if (mdb_get(txn, mc->rec, &k, &v) == 0) {
		bytes = bytes > v.mv_size ? bytes - v.mv_size : 0;
		mdb_del(txn, mc->rec, &k, NULL);
		bytes_set(mc, txn, bytes);
	}
	if (mdb_txn_commit(txn))
		return;
}

/* 0 when the record at v is sound for (kind, key); else what is wrong. */
static const char *check_record(const MDB_val *v, enum lm_mc_kind kind, const char *key,
				size_t klen, struct rec_head *h)
{
	const char *p = v->mv_data;

	if (v->mv_size < sizeof(*h))
		return "shorter than its header";
	memcpy(h, p, sizeof(*h));
	if (h->magic != REC_MAGIC)
		return "bad magic";
	if (h->format != LM_MC_FORMAT)
		return "another record format";
	if (h->kind != (uint8_t)kind)
		return "another kind of record";
	if (h->key_len != klen || v->mv_size < sizeof(*h) + klen ||
	    h->val_len != v->mv_size - sizeof(*h) - klen)
		return "lengths do not add up";
	if (memcmp(p + sizeof(*h), key, klen))
		return "another key (hash collision)";
	if (sum64(sum64(h->seq, key, klen), p + sizeof(*h) + klen, h->val_len) != h->sum)
		return "checksum mismatch";
	return NULL;
}

/* The value has been copied out: let go of the map's pages it touched. They are clean
 * pages of a read-only shared file mapping, so the kernel keeps them in the page cache
 * and a later access faults them in again; without this, a large record (a 1M-file
 * version is ~130 MB) would stay in the daemon's RSS twice, as map and as copy. */
static void unmap_pages(const void *p, size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a, b;

	if (page <= 0 || n < ((size_t)1 << 20))
		return;
	a = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	b = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int lm_metacache_read(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		      int (*fn)(void *ud, const void *val, size_t len), void *ud,
		      struct lm_err *err)
{
	unsigned char hk[32];
	MDB_txn *txn = NULL;
	MDB_val k = { 32, hk }, v;
	struct rec_head h;
	const char *bad = NULL;
	size_t klen = strlen(key);
	int rc;

	if (klen > LM_MC_KEY_MAX)
		return lm_err_set(err, ENAMETOOLONG, "metadata cache: key too long");
	rec_key(kind, key, hk);
	rc = mdb_txn_begin(mc->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lm_err_set(err, mdb_to_errno(rc), "metadata cache %s: %s", mc->dir,
				  mdb_strerror(rc));
	rc = mdb_get(txn, mc->rec, &k, &v);
	if (rc == MDB_NOTFOUND) {
		atomic_fetch_add(&mc->misses, 1);
		rc = ENOENT;
		goto out;
	}
	if (rc) {
		rc = lm_err_set(err, mdb_to_errno(rc), "metadata cache %s: %s", mc->dir,
				mdb_strerror(rc));
		goto out;
	}
	bad = check_record(&v, kind, key, klen, &h);
	if (bad) {
		/* A different key under the same hash is a miss, not damage. */
		if (!strcmp(bad, "another key (hash collision)"))
			bad = NULL;
		atomic_fetch_add(&mc->misses, 1);
		rc = ENOENT;
		goto out;
	}
	rc = fn(ud, (const char *)v.mv_data + sizeof(h) + klen, h.val_len);
	unmap_pages(v.mv_data, v.mv_size);
	if (!rc)
		atomic_fetch_add(&mc->hits, 1);
out:
	mdb_txn_abort(txn);
	if (bad) {
		atomic_fetch_add(&mc->corrupt, 1);
		lm_warn("metadata cache %s: a record for '%s' is damaged (%s); discarded, rebuilding",
			mc->dir, key, bad);
		drop_record(mc, hk);
	}
	return rc;
}

static int append_cb(void *ud, const void *val, size_t len)
{
	return lm_buf_append(ud, val, len);
}

int lm_metacache_get(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		     struct lm_buf *out, struct lm_err *err)
{
	int rc = lm_metacache_read(mc, kind, key, append_cb, out, err);

	if (rc && rc != ENOENT && !(err && err->msg[0]))
		lm_err_set(err, rc, "metadata cache: a record for '%s' does not fit", key);
	return rc;
}

/* The bytes of records stored, kept in "fmt" under "bytes" (updated in the same
 * transaction as every change), so puts evict before LMDB's map is full. */
static uint64_t bytes_get(struct lm_metacache *mc, MDB_txn *txn)
{
	MDB_val k = { 5, (void *)"bytes" }, v;
	uint64_t b = 0;

	if (mdb_get(txn, mc->fmt, &k, &v) == 0 && v.mv_size == 8)
		memcpy(&b, v.mv_data, 8);
	return b;
}

static int bytes_set(struct lm_metacache *mc, MDB_txn *txn, uint64_t b)
{
	MDB_val k = { 5, (void *)"bytes" }, v = { 8, &b };

	return mdb_put(txn, mc->fmt, &k, &v, 0);
}

/* Delete the oldest records until `want` bytes of records are gone (at least one
 * record). Returns how many were deleted; *freed the bytes. */
static size_t evict(struct lm_metacache *mc, MDB_txn *txn, uint64_t want, uint64_t *freed)
{
	MDB_cursor *cur = NULL;
	MDB_val ak, av;
	size_t n = 0;

	*freed = 0;
	if (mdb_cursor_open(txn, mc->age, &cur))
		return 0;
	while (*freed < want && mdb_cursor_get(cur, &ak, &av, MDB_FIRST) == 0) {
		MDB_val rk = av, rv;
		struct rec_head h;
		uint64_t seq = 0;

		for (int i = 0; i < 8 && ak.mv_size == 8; i++)
			seq = seq << 8 | ((const unsigned char *)ak.mv_data)[i];
		if (av.mv_size == 32 && mdb_get(txn, mc->rec, &rk, &rv) == 0 &&
		    rv.mv_size >= sizeof(h)) {
			memcpy(&h, rv.mv_data, sizeof(h));
			if (h.seq == seq) {
				*freed += rv.mv_size;
				mdb_del(txn, mc->rec, &rk, NULL);
				n++;
			}
		}
		if (mdb_cursor_del(cur, 0))
			break;
	}
	mdb_cursor_close(cur);
	return n;
}

static uint64_t next_seq(struct lm_metacache *mc, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0;

	if (mdb_cursor_open(txn, mc->age, &cur))
		return 1;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | ((const unsigned char *)k.mv_data)[i];
	mdb_cursor_close(cur);
	return seq + 1;
}

int lm_metacache_put(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
		     const void *val, size_t len, struct lm_err *err)
{
	unsigned char hk[32], seqk[8];
	size_t klen = strlen(key);
	uint64_t budget = mc->map_bytes / 2, reclen;
	struct rec_head h;
	int rc = 0;

	if (klen > LM_MC_KEY_MAX)
		return lm_err_set(err, ENAMETOOLONG, "metadata cache: key too long");
	reclen = (uint64_t)len + klen + sizeof(h);
	if (reclen > mc->map_bytes / 4)
		return lm_err_set(err, LM_ETOOBIG,
				  "metadata cache %s: a record of %zu bytes is over a quarter of cache_size",
				  mc->dir, len);
	rec_key(kind, key, hk);
	/* Records are budgeted to half the map: B-tree pages, copy-on-write and the
	 * contiguous runs big values need take the rest. A MAP_FULL all the same evicts an
	 * eighth of the map in a transaction of its own and tries again. */
	for (int attempt = 0; attempt < 4; attempt++) {
		MDB_txn *txn = NULL;
		MDB_val k = { 32, hk }, v, ak = { 8, seqk }, av = { 32, hk }, old;
		uint64_t seq, bytes, freed = 0;
		size_t n;

		if (attempt > 0) {
			rc = mdb_txn_begin(mc->env, NULL, 0, &txn);
			if (rc)
				break;
			bytes = bytes_get(mc, txn);
			n = evict(mc, txn, mc->map_bytes / 8, &freed);
			rc = bytes_set(mc, txn, bytes > freed ? bytes - freed : 0);
			rc = rc ? rc : mdb_txn_commit(txn);
			if (rc && txn)
				mdb_txn_abort(txn);
			txn = NULL;
			if (rc)
				break;
			if (!n) {
				rc = MDB_MAP_FULL;
				break;
			}
			atomic_fetch_add(&mc->evictions, n);
		}
		rc = mdb_txn_begin(mc->env, NULL, 0, &txn);
		if (rc)
			break;
		bytes = bytes_get(mc, txn);
		if (mdb_get(txn, mc->rec, &k, &old) == 0)
			bytes = bytes > old.mv_size ? bytes - old.mv_size : 0;
		if (bytes + reclen > budget) {
			n = evict(mc, txn, bytes + reclen - budget + budget / 8, &freed);
			bytes = bytes > freed ? bytes - freed : 0;
			atomic_fetch_add(&mc->evictions, n);
		}
		seq = next_seq(mc, txn);
		for (int i = 0; i < 8; i++)
			seqk[i] = (unsigned char)(seq >> (56 - 8 * i));
		memset(&h, 0, sizeof(h));
		h.magic = REC_MAGIC;
		h.format = LM_MC_FORMAT;
		h.kind = (uint8_t)kind;
		h.key_len = (uint32_t)klen;
		h.val_len = len;
		h.seq = seq;
		h.sum = sum64(sum64(seq, key, klen), val, len);
		v.mv_size = reclen;
		rc = mdb_put(txn, mc->rec, &k, &v, MDB_RESERVE);
		if (!rc) {
			char *p = v.mv_data;

			memcpy(p, &h, sizeof(h));
			memcpy(p + sizeof(h), key, klen);
			if (len)
				memcpy(p + sizeof(h) + klen, val, len);
			rc = mdb_put(txn, mc->age, &ak, &av, 0);
		}
		if (!rc)
			rc = bytes_set(mc, txn, bytes + reclen);
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL)
			break;
	}
	if (rc)
		return lm_err_set(err, mdb_to_errno(rc), "metadata cache %s: storing '%s': %s",
				  mc->dir, key, mdb_strerror(rc));
	atomic_fetch_add(&mc->puts, 1);
	return 0;
}

static void run_job(struct lm_metacache *mc, struct mc_job *j)
{
	struct lm_buf buf;
	struct lm_err err;
	int rc;

	lm_buf_init(&buf, (size_t)mc->map_bytes);
	lm_err_init(&err);
	rc = j->produce(j->ud, &buf, &err);
	if (!rc)
		rc = lm_metacache_put(mc, j->kind, j->key, buf.data, buf.len, &err);
	lm_buf_free(&buf);
	j->done(j->ud, rc, &err);
	free(j->key);
	free(j);
}

static void *writer_main(void *arg)
{
	struct lm_metacache *mc = arg;

	for (;;) {
		struct mc_job *j;

		pthread_mutex_lock(&mc->qlock);
		while (!mc->head && !mc->stopping)
			pthread_cond_wait(&mc->qcond, &mc->qlock);
		j = mc->head;
		if (j) {
			mc->head = j->next;
			if (!mc->head)
				mc->tail = NULL;
		}
		pthread_mutex_unlock(&mc->qlock);
		if (!j)
			return NULL;   /* stopping, and nothing left */
		run_job(mc, j);
		pthread_mutex_lock(&mc->qlock);
		mc->pending--;
		pthread_mutex_unlock(&mc->qlock);
	}
}

int lm_metacache_put_async(struct lm_metacache *mc, enum lm_mc_kind kind, const char *key,
			   int (*produce)(void *ud, struct lm_buf *out, struct lm_err *err),
			   void (*done)(void *ud, int rc, const struct lm_err *err), void *ud)
{
	struct mc_job *j = calloc(1, sizeof(*j));
	bool queued = false;

	if (!j || !(j->key = strdup(key))) {
		struct lm_err err;

		free(j);
		lm_err_init(&err);
		done(ud, lm_err_set(&err, ENOMEM, "out of memory"), &err);
		return ENOMEM;
	}
	j->kind = kind;
	j->produce = produce;
	j->done = done;
	j->ud = ud;
	pthread_mutex_lock(&mc->qlock);
	if (!mc->stopping && mc->pending < MAX_PENDING) {
		if (!mc->writer_started)
			mc->writer_started = pthread_create(&mc->writer, NULL, writer_main, mc) == 0;
		if (mc->writer_started) {
			if (mc->tail)
				mc->tail->next = j;
			else
				mc->head = j;
			mc->tail = j;
			mc->pending++;
			queued = true;
			pthread_cond_signal(&mc->qcond);
		}
	}
	pthread_mutex_unlock(&mc->qlock);
	if (!queued)
		run_job(mc, j);   /* the writer is busy enough (or could not start): here */
	return 0;
}

void lm_metacache_stats(struct lm_metacache *mc, struct lm_metacache_stats *out)
{
	MDB_envinfo info;
	MDB_stat st;

	memset(out, 0, sizeof(*out));
	if (!mc)
		return;
	out->hits = atomic_load(&mc->hits);
	out->misses = atomic_load(&mc->misses);
	out->puts = atomic_load(&mc->puts);
	out->evictions = atomic_load(&mc->evictions);
	out->corrupt = atomic_load(&mc->corrupt);
	out->map_bytes = mc->map_bytes;
	if (mdb_env_info(mc->env, &info) == 0 && mdb_env_stat(mc->env, &st) == 0)
		out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}
