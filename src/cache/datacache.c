/* datacache.c — the optional local disk cache of data blocks (include/lm/datacache.h).
 * Owns struct lm_datacache, its directory lock, its in-memory index and the files under
 * DIR/blocks and DIR/tmp. May call: util, log, zlib (crc32), POSIX file calls.
 *
 * ---- Layout ----
 *   DIR/lock                 flock(LOCK_EX) for the life of the process; holds the pid
 *   DIR/tmp/<pid>.<n>        blocks being written (leftovers are deleted at open)
 *   DIR/blocks/<hh>/<h16>    one block: h16 = 16 hex digits of hash(id ‖ u), hh its
 *                            first two (256 subdirectories keep directories small)
 * A block file is: "LMDCBLK1", u (8), len (8), crc32 of the bytes (4), id length (4) —
 * host byte order, the cache never leaves the machine — then the id, then the bytes.
 * Two identities with the same 64-bit name overwrite each other's file; the id inside
 * tells them apart on read (a miss, not a wrong block).
 *
 * ---- Trust and crashes ----
 * A block is written to tmp/ and renamed into place, so a name only ever points at a
 * completely written file; no fsync is made, so after a power loss a file may still be
 * torn or empty: the length and CRC checks on every read catch that (miss + warning +
 * delete). Never is a byte handed out before the whole block checked out.
 *
 * ---- Index, LRU, size ----
 * The index (hash of names → size) is rebuilt at open by scanning blocks/, in mtime
 * order (oldest first = evicted first). A hit moves the entry to the young end and, at
 * most every TOUCH_S seconds per block, bumps the file's mtime so the order survives a
 * restart. A put first evicts old blocks until the new one fits within max_bytes, then
 * accounts it, then writes it; a failed write gives the room back. One mutex guards
 * the index; file I/O runs outside it except unlinks during eviction. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lm/datacache.h"
#include "lm/log.h"
#include "lm/util.h"

#define NBUCKETS (1u << 14)
#define HDR_SIZE 32
#define TOUCH_S 30
#define MAX_WARN 5
static const char MAGIC[8] = { 'L', 'M', 'D', 'C', 'B', 'L', 'K', '1' };

struct ent {
	struct ent *hnext, *lprev, *lnext;
	uint64_t h;
	uint64_t bytes;      /* file size */
	uint64_t gen;        /* which put made it (0: found at open) */
	int64_t touched_s;   /* last mtime bump (or the file's mtime) */
};

struct lm_datacache {
	char *dir;
	int dfd;             /* DIR */
	int lockfd;
	pthread_mutex_t mu;
	struct ent *buckets[NBUCKETS];
	struct ent *lru_head, *lru_tail;   /* head = evicted first */
	uint64_t used, max;
	uint64_t seq;
	atomic_bool disabled;
	atomic_int inject;   /* test hook: errno for every write */
	atomic_uint warned;
	struct lm_datacache_stats st;
};

/* ---------- index (under mu) ---------- */

static struct ent **slot_of(struct lm_datacache *dc, uint64_t h)
{
	struct ent **pp = &dc->buckets[(h >> 17) & (NBUCKETS - 1)];

	while (*pp && (*pp)->h != h)
		pp = &(*pp)->hnext;
	return pp;
}

static void lru_unlink(struct lm_datacache *dc, struct ent *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		dc->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		dc->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_append(struct lm_datacache *dc, struct ent *e)
{
	e->lnext = NULL;
	e->lprev = dc->lru_tail;
	if (dc->lru_tail)
		dc->lru_tail->lnext = e;
	else
		dc->lru_head = e;
	dc->lru_tail = e;
}

static void block_name(uint64_t h, char *out, size_t size)
{
	snprintf(out, size, "blocks/%02x/%016" PRIx64, (unsigned)(h >> 56), h);
}

/* Forget an entry (and optionally delete its file). */
static void ent_drop(struct lm_datacache *dc, struct ent *e, bool unlink_file)
{
	struct ent **pp = slot_of(dc, e->h);
	char name[64];

	if (*pp == e)
		*pp = e->hnext;
	lru_unlink(dc, e);
	dc->used -= e->bytes;
	if (unlink_file) {
		block_name(e->h, name, sizeof(name));
		unlinkat(dc->dfd, name, 0);
	}
	free(e);
	dc->st.bytes_used = dc->used;
}

static void evict_to(struct lm_datacache *dc, uint64_t room)
{
	while (dc->lru_head && dc->used + room > dc->max) {
		ent_drop(dc, dc->lru_head, true);
		dc->st.evictions++;
	}
}

static uint64_t name_hash(const char *id, uint64_t u)
{
	size_t n = strlen(id);
	uint64_t h = lm_hash64(id, n);

	return lm_hash64(&u, sizeof(u)) ^ (h * 0x9e3779b97f4a7c15ULL) ^ h;
}

/* ---------- open / close ---------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int cmp_age(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;

	return x->touched_s < y->touched_s ? -1 : x->touched_s > y->touched_s;
}

/* Delete tmp/ leftovers, index blocks/ in mtime order. */
static int scan(struct lm_datacache *dc)
{
	struct ent **all = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	DIR *d;
	int fd;

	fd = openat(dc->dfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(fd))) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				unlinkat(fd, de->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	for (unsigned sub = 0; sub < 256; sub++) {
		char sname[16];
		struct dirent *de;

		snprintf(sname, sizeof(sname), "blocks/%02x", sub);
		fd = openat(dc->dfd, sname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			struct stat sb;
			uint64_t h = 0;
			struct ent *e;
			int i;

			for (i = 0; i < 16 && hexval(de->d_name[i]) >= 0; i++)
				h = h << 4 | (uint64_t)hexval(de->d_name[i]);
			if (i != 16 || de->d_name[16] || (unsigned)(h >> 56) != sub)
				continue;
			if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode))
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct ent **na = realloc(all, nc * sizeof(*na));

				if (!na) {
					rc = ENOMEM;
					closedir(d);
					goto out;
				}
				all = na;
				cap = nc;
			}
			e = calloc(1, sizeof(*e));
			if (!e) {
				rc = ENOMEM;
				closedir(d);
				goto out;
			}
			e->h = h;
			e->bytes = (uint64_t)sb.st_size;
			e->touched_s = sb.st_mtim.tv_sec;
			all[n++] = e;
		}
		closedir(d);
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_age);
	for (size_t i = 0; i < n; i++) {
		struct ent **pp = slot_of(dc, all[i]->h);

		if (*pp) {   /* cannot happen (names are unique); keep the index sane */
			free(all[i]);
			all[i] = NULL;
			continue;
		}
		*pp = all[i];
		lru_append(dc, all[i]);
		dc->used += all[i]->bytes;
		all[i] = NULL;
	}
	evict_to(dc, 0);
	dc->st.bytes_used = dc->used;
out:
	for (size_t i = 0; i < n; i++)
		free(all[i]);
	free(all);
	return rc;
}

int lm_datacache_open(const char *dir, uint64_t max_bytes, struct lm_datacache **out,
		      struct lm_err *err)
{
	struct lm_datacache *dc = calloc(1, sizeof(*dc));
	char pid[32];
	int rc = 0, n;

	*out = NULL;
	if (!dc)
		return lm_err_set(err, ENOMEM, "out of memory");
	dc->dfd = dc->lockfd = -1;
	pthread_mutex_init(&dc->mu, NULL);
	dc->max = max_bytes ? max_bytes : (uint64_t)1 << 30;
	dc->st.max_bytes = dc->max;
	dc->dir = strdup(dir);
	if (!dc->dir) {
		rc = lm_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = lm_err_set(err, errno, "data_cache %s: cannot create it: %s", dir, strerror(errno));
		goto out;
	}
	dc->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dc->dfd < 0) {
		rc = lm_err_set(err, errno, "data_cache %s: %s", dir, strerror(errno));
		goto out;
	}
	dc->lockfd = openat(dc->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (dc->lockfd < 0) {
		rc = lm_err_set(err, errno, "data_cache %s: cannot create its lock file: %s", dir,
				strerror(errno));
		goto out;
	}
	if (flock(dc->lockfd, LOCK_EX | LOCK_NB)) {
		ssize_t got = pread(dc->lockfd, pid, sizeof(pid) - 1, 0);

		pid[got > 0 ? got : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		rc = lm_err_set(err, EBUSY,
				"data_cache %s is in use by another lakemount%s%s (one mount per data cache "
				"directory: give each mount its own)", dir, pid[0] ? " pid " : "", pid);
		goto out;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(dc->lockfd, 0) || pwrite(dc->lockfd, pid, (size_t)n, 0) != n)
		lm_debug("data_cache %s: cannot record the pid in its lock file", dir);
	if ((mkdirat(dc->dfd, "tmp", 0700) && errno != EEXIST) ||
	    (mkdirat(dc->dfd, "blocks", 0700) && errno != EEXIST)) {
		rc = lm_err_set(err, errno, "data_cache %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = scan(dc);
	if (rc)
		lm_err_set(err, rc, "data_cache %s: cannot index it: %s", dir, strerror(rc));
out:
	if (rc) {
		lm_datacache_close(dc);
		return rc;
	}
	lm_debug("data_cache %s: %" PRIu64 " bytes in use of %" PRIu64, dir, dc->used, dc->max);
	*out = dc;
	return 0;
}

void lm_datacache_close(struct lm_datacache *dc)
{
	if (!dc)
		return;
	while (dc->lru_head) {
		struct ent *e = dc->lru_head;

		lru_unlink(dc, e);
		free(e);
	}
	if (dc->lockfd >= 0)
		close(dc->lockfd);   /* releases the flock */
	if (dc->dfd >= 0)
		close(dc->dfd);
	pthread_mutex_destroy(&dc->mu);
	free(dc->dir);
	free(dc);
}

/* ---------- get / put ---------- */

static void warn_limited(struct lm_datacache *dc, const char *what, uint64_t h)
{
	unsigned w = atomic_fetch_add(&dc->warned, 1);

	if (w < MAX_WARN)
		lm_warn("data_cache %s: block %016" PRIx64 " %s: deleted, read again from storage%s",
			dc->dir, h, what, w + 1 == MAX_WARN ? " (further such warnings suppressed)" : "");
}

static bool pread_all(int fd, void *dst, size_t len, off_t off)
{
	char *p = dst;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return true;
}

/* Check the file against (id, u, len) and read its bytes into dst: 0 ok, 1 another
 * block of the same name (collision), 2 damaged. */
static int read_block(int fd, const char *id, uint64_t u, void *dst, size_t len)
{
	unsigned char hdr[HDR_SIZE];
	char idb[LM_DC_ID_MAX];
	size_t idlen = strlen(id);
	uint64_t fu, flen;
	uint32_t crc, fidlen;
	struct stat sb;

	if (fstat(fd, &sb) || !pread_all(fd, hdr, HDR_SIZE, 0) || memcmp(hdr, MAGIC, 8))
		return 2;
	memcpy(&fu, hdr + 8, 8);
	memcpy(&flen, hdr + 16, 8);
	memcpy(&crc, hdr + 24, 4);
	memcpy(&fidlen, hdr + 28, 4);
	if (fidlen > LM_DC_ID_MAX || (uint64_t)sb.st_size != HDR_SIZE + (uint64_t)fidlen + flen)
		return 2;
	if (fidlen != idlen || fu != u || flen != len)
		return 1;
	if (!pread_all(fd, idb, idlen, HDR_SIZE))
		return 2;
	if (memcmp(idb, id, idlen))
		return 1;
	if (!pread_all(fd, dst, len, (off_t)(HDR_SIZE + idlen)))
		return 2;
	if ((uint32_t)crc32(0L, dst, (uInt)len) != crc)
		return 2;
	return 0;
}

int lm_datacache_get(struct lm_datacache *dc, const char *id, uint64_t u, void *dst,
		     size_t len)
{
	uint64_t h = name_hash(id, u);
	int64_t now = time(NULL);
	struct ent *e;
	char name[64];
	bool touch = false;
	int fd, v;

	if (strlen(id) > LM_DC_ID_MAX || len > UINT32_MAX)
		return ENOENT;
	pthread_mutex_lock(&dc->mu);
	e = *slot_of(dc, h);
	if (!e) {
		dc->st.misses++;
		pthread_mutex_unlock(&dc->mu);
		return ENOENT;
	}
	lru_unlink(dc, e);
	lru_append(dc, e);
	if (now - e->touched_s >= TOUCH_S) {
		e->touched_s = now;
		touch = true;
	}
	pthread_mutex_unlock(&dc->mu);
	block_name(h, name, sizeof(name));
	fd = openat(dc->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	v = fd < 0 ? 3 : read_block(fd, id, u, dst, len);
	if (v == 0 && touch)
		futimens(fd, NULL);
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&dc->mu);
	if (v == 0) {
		dc->st.hits++;
	} else {
		dc->st.misses++;
		if (v == 2)
			dc->st.corrupt++;
		e = *slot_of(dc, h);
		if (e && v >= 2)
			ent_drop(dc, e, v == 2);
	}
	pthread_mutex_unlock(&dc->mu);
	if (v == 2)
		warn_limited(dc, "failed its length or checksum check", h);
	return v ? ENOENT : 0;
}

static void stop_writing(struct lm_datacache *dc, int e)
{
	if (atomic_exchange(&dc->disabled, true))
		return;
	dc->st.disabled = 1;
	if (e == ENOSPC || e == EDQUOT)
		lm_warn("data_cache %s: the disk is full; no longer caching blocks (reads go on "
			"from storage)", dc->dir);
	else
		lm_warn("data_cache %s: cannot write a block (%s); no longer caching blocks (reads "
			"go on from storage)", dc->dir, strerror(e));
}

/* Write header, id and bytes to a new file under tmp/ and rename it to name. */
static int write_block(struct lm_datacache *dc, const char *name, const char *id, uint64_t u,
		       const void *src, size_t len)
{
	unsigned char hdr[HDR_SIZE];
	uint64_t flen = len;
	uint32_t crc = (uint32_t)crc32(0L, src, (uInt)len), idlen = (uint32_t)strlen(id);
	struct iovec iov[3] = { { hdr, HDR_SIZE }, { (void *)id, idlen }, { (void *)src, len } };
	size_t total = HDR_SIZE + idlen + len, done = 0;
	char tmp[64];
	uint64_t seq;
	int fd, rc = 0;

	memcpy(hdr, MAGIC, 8);
	memcpy(hdr + 8, &u, 8);
	memcpy(hdr + 16, &flen, 8);
	memcpy(hdr + 24, &crc, 4);
	memcpy(hdr + 28, &idlen, 4);
	pthread_mutex_lock(&dc->mu);
	seq = ++dc->seq;
	pthread_mutex_unlock(&dc->mu);
	snprintf(tmp, sizeof(tmp), "tmp/%ld.%" PRIu64, (long)getpid(), seq);
	if (atomic_load(&dc->inject))
		return atomic_load(&dc->inject);
	fd = openat(dc->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	while (done < total) {
		struct iovec v[3];
		int nv = 0;
		size_t skip = done;
		ssize_t n;

		for (int i = 0; i < 3; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			v[nv].iov_base = (char *)iov[i].iov_base + skip;
			v[nv].iov_len = iov[i].iov_len - skip;
			skip = 0;
			nv++;
		}
		n = writev(fd, v, nv);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) && !rc)
		rc = errno;
	if (!rc) {
		char sub[16];

		memcpy(sub, name, 9);   /* "blocks/hh" */
		sub[9] = 0;
		if (mkdirat(dc->dfd, sub, 0700) && errno != EEXIST)
			rc = errno;
		else if (renameat(dc->dfd, tmp, dc->dfd, name))
			rc = errno;
	}
	if (rc)
		unlinkat(dc->dfd, tmp, 0);
	return rc;
}

void lm_datacache_put(struct lm_datacache *dc, const char *id, uint64_t u, const void *src,
		      size_t len)
{
	size_t idlen = strlen(id);
	uint64_t h = name_hash(id, u), need = HDR_SIZE + idlen + (uint64_t)len, gen;
	struct ent *e, **pp;
	char name[64];
	int rc;

	if (atomic_load(&dc->disabled) || idlen > LM_DC_ID_MAX || len > UINT32_MAX ||
	    need > dc->max / 4)
		return;
	pthread_mutex_lock(&dc->mu);
	pp = slot_of(dc, h);
	if (*pp)
		ent_drop(dc, *pp, false);   /* replaced by the rename below */
	evict_to(dc, need);
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&dc->mu);
		return;
	}
	e->h = h;
	e->bytes = need;
	e->gen = ++dc->seq;
	gen = e->gen;
	e->touched_s = time(NULL);
	*slot_of(dc, h) = e;
	lru_append(dc, e);
	dc->used += need;
	dc->st.bytes_used = dc->used;
	dc->st.puts++;
	pthread_mutex_unlock(&dc->mu);
	block_name(h, name, sizeof(name));
	rc = write_block(dc, name, id, u, src, len);
	pthread_mutex_lock(&dc->mu);
	e = *slot_of(dc, h);
	if (rc) {
		if (e && e->gen == gen)
			ent_drop(dc, e, false);
		dc->st.puts--;
	} else if (!e) {
		/* Evicted while being written: the file must not outlive its entry. (An entry
		 * of a later put of the same name holds the same block: the file is fine.) */
		unlinkat(dc->dfd, name, 0);
	}
	pthread_mutex_unlock(&dc->mu);
	if (rc)
		stop_writing(dc, rc);
}

void lm_datacache_stats(struct lm_datacache *dc, struct lm_datacache_stats *out)
{
	pthread_mutex_lock(&dc->mu);
	*out = dc->st;
	out->bytes_used = dc->used;
	out->disabled = atomic_load(&dc->disabled);
	pthread_mutex_unlock(&dc->mu);
}

void lm_datacache_inject_write_error(struct lm_datacache *dc, int e)
{
	atomic_store(&dc->inject, e);
}
