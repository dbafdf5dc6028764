/* adapter.c — libfuse lowlevel operations on top of the namespace (ns/). Read-only:
 * every mutating operation answers EROFS. Converts lm_attr to struct stat and result
 * codes to errno. May call: ns, log, libfuse. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapter.h"
#include "lm/log.h"

static struct lm_fuse_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Owner, group and permission bits come from the mount options (uid=, gid=, umask=);
 * symlinks keep 0777 (Linux ignores their bits) and nothing ever shows a write bit. */
static void to_stat(const struct lm_fuse_cfg *cfg, const struct lm_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	if (!S_ISLNK(a->mode))
		st->st_mode &= ~(cfg->umask & 07777);
	st->st_nlink = a->nlink;
	st->st_size = (off_t)a->size;
	st->st_uid = cfg->uid;
	st->st_gid = cfg->gid;
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_ms / 1000;
	st->st_mtim.tv_nsec = (a->mtime_ms % 1000) * 1000000;
	if (st->st_mtim.tv_nsec < 0) {
		st->st_mtim.tv_sec--;
		st->st_mtim.tv_nsec += 1000000000;
	}
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static double timeout_for(struct lm_fuse_ctx *c, const struct lm_attr *a)
{
	if (a->size_unknown)
		return 0;   /* the next stat, after an open generated it, tells the size */
	return a->immutable ? c->cfg.immutable_timeout : c->cfg.ttl_timeout;
}

static int to_errno(int rc)
{
	return lm_errno(rc);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int lm_fuse_find_dev(const char *mnt, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = ENOENT;

	if (!f)
		return errno;
	while (getline(&line, &cap, f) >= 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER */
		char *save = NULL, *dev, *mp, *sep, *tok;

		if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) ||
		    !(dev = strtok_r(NULL, " ", &save)) || !strtok_r(NULL, " ", &save) ||
		    !(mp = strtok_r(NULL, " ", &save)))
			continue;
		sep = NULL;
		while ((tok = strtok_r(NULL, " ", &save)))
			if (!strcmp(tok, "-")) {
				sep = strtok_r(NULL, " ", &save);   /* the fstype */
				break;
			}
		if (!sep || strncmp(sep, "fuse", 4))
			continue;
		unescape_octal(mp);
		if (strcmp(mp, mnt) || strlen(dev) >= outlen)
			continue;
		snprintf(out, outlen, "%s", dev);   /* the last match wins: the newest mount */
		rc = 0;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Larger kernel readahead means fewer, larger FUSE reads of a stream (1 MiB instead of
 * 256 KiB): a quarter of the requests, each a round trip through the daemon. Only the
 * bdi's sysfs knob raises it; the kernel then takes min(that, max_readahead of our INIT
 * reply), so it is written here, before the reply. Needs root (or a writable sysfs):
 * otherwise the kernel's default stays and nothing else changes. */
static void set_read_ahead(struct lm_fuse_ctx *c, struct fuse_conn_info *conn)
{
	char path[96], val[16];
	int fd, n;

	if (!c->cfg.read_ahead_kb || !c->cfg.bdi[0])
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", c->cfg.bdi);
	n = snprintf(val, sizeof(val), "%u\n", c->cfg.read_ahead_kb);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)n) != n) {
		lm_debug("readahead of the mount left to the kernel: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	conn->max_readahead = c->cfg.read_ahead_kb * 1024u;
	lm_debug("kernel readahead of the mount: %u KiB", c->cfg.read_ahead_kb);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct lm_fuse_ctx *c = userdata;

	set_read_ahead(c, conn);

	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* Symlink targets (@latest) must be re-read after their TTL: no symlink cache. */
	conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
	if (c->cfg.max_read && conn->max_read > c->cfg.max_read)
		conn->max_read = c->cfg.max_read;
	/* Readahead of several files at once (DuckDB's threads): more async reads in
	 * flight than the kernel's default 12 before it throttles; the worker pool and the
	 * reader's parallel GETs absorb them. Requests up to 1 MiB: libfuse's default
	 * buffer already negotiates max_pages = 256. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct fuse_entry_param e;
	struct lm_attr a;
	struct lm_err err;
	int rc;

	lm_err_init(&err);
	rc = lm_ns_lookup(c->ns, parent, name, &a, &err);
	if (rc == ENOENT) {
		/* Negative entries: cache briefly (a version may appear later). */
		memset(&e, 0, sizeof(e));
		e.ino = 0;
		e.entry_timeout = c->cfg.ttl_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		fuse_reply_err(req, to_errno(rc));
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = a.ino;
	e.generation = 1;
	to_stat(&c->cfg, &a, &e.attr);
	e.attr_timeout = timeout_for(c, &a);
	/* A forensics view's name leads to a new inode when the view is rebuilt: never
	 * cached, so each path walk asks (the old inode keeps its own frozen content). */
	e.entry_timeout = a.volatile_entry ? 0 : timeout_for(c, &a);
	fuse_reply_entry(req, &e);
}

/* Lookup counts matter only to forensics views (an old generation is freed once the
 * kernel forgot all of it); the namespace ignores every other inode. */
static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	lm_ns_forget(ctx_of(req)->ns, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		lm_ns_forget(ctx_of(req)->ns, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct lm_attr a;
	struct lm_err err;
	struct stat st;
	int rc;

	(void)fi;
	lm_err_init(&err);
	rc = lm_ns_getattr(c->ns, ino, &a, &err);
	if (rc) {
		fuse_reply_err(req, to_errno(rc));
		return;
	}
	to_stat(&c->cfg, &a, &st);
	fuse_reply_attr(req, &st, timeout_for(c, &a));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct lm_err err;
	char buf[64];
	int rc;

	lm_err_init(&err);
	rc = lm_ns_readlink(c->ns, ino, buf, sizeof(buf), &err);
	if (rc)
		fuse_reply_err(req, to_errno(rc));
	else
		fuse_reply_readlink(req, buf);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct lm_ns_dir *d = NULL;
	struct lm_err err;
	int rc;

	lm_err_init(&err);
	rc = lm_ns_opendir(c->ns, ino, &d, &err);
	if (rc) {
		fuse_reply_err(req, to_errno(rc));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		lm_ns_releasedir(d);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct lm_ns_dir *d = (struct lm_ns_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off;; i++) {
		const char *name;
		struct lm_attr a;
		struct stat st;
		size_t need;

		if (!lm_ns_dir_entry(d, i, &name, &a))
			break;
		memset(&st, 0, sizeof(st));
		st.st_ino = a.ino;
		st.st_mode = a.mode;
		need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	lm_ns_releasedir((struct lm_ns_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct lm_ns_file *f = NULL;
	struct lm_err err;
	bool immutable = false;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	lm_err_init(&err);
	rc = lm_ns_open(c->ns, ino, &f, &immutable, &err);
	if (rc) {
		fuse_reply_err(req, to_errno(rc));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = immutable;
	fi->direct_io = lm_ns_file_direct(f);
	if (fuse_reply_open(req, fi) == -ENOENT)
		lm_ns_release(f);
}

/* Reads reply straight from the block cache: the namespace hands back pointers into
 * pinned blocks, fuse_reply_iov writes them to /dev/fuse (the kernel copies them into
 * the page cache before writev returns), then the pins are dropped. A view that
 * stopped early (too many pieces, or memory that only its own pins would free; always
 * for generated files) is copied into a reply buffer and completed with an ordinary
 * read. The kernel may RELEASE the file as soon as it has the reply: a view stays
 * valid past lm_ns_release. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	struct lm_ns_file *f = (struct lm_ns_file *)(uintptr_t)fi->fh;
	struct lm_reader_view v;
	struct lm_err err;
	size_t got = 0, have;
	char *buf = NULL;
	int rc;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	lm_err_init(&err);
	rc = lm_ns_read_view(c->ns, f, (uint64_t)off, size, &v, &err);
	if (rc) {
		fuse_reply_err(req, to_errno(rc));
		return;
	}
	if (!v.partial) {
		if (v.n)
			fuse_reply_iov(req, v.iov, (int)v.n);
		else
			fuse_reply_buf(req, NULL, 0);
		lm_ns_view_release(&v);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		lm_ns_view_release(&v);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	have = 0;
	for (unsigned i = 0; i < v.n; i++) {
		memcpy(buf + have, v.iov[i].iov_base, v.iov[i].iov_len);
		have += v.iov[i].iov_len;
	}
	lm_ns_view_release(&v);
	rc = lm_ns_read(c->ns, f, (uint64_t)off + have, size - have, buf + have, &got, &err);
	if (rc)
		fuse_reply_err(req, to_errno(rc));
	else
		fuse_reply_buf(req, buf, have + got);
	free(buf);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	lm_ns_release((struct lm_ns_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 1024;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	char buf[256];
	struct lm_err err;
	size_t len = 0;
	int rc;

	lm_err_init(&err);
	rc = lm_ns_getxattr(c->ns, ino, name, buf, size ? (size < sizeof(buf) ? size : sizeof(buf)) : 0,
			    &len, &err);
	if (rc)
		fuse_reply_err(req, to_errno(rc));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct lm_fuse_ctx *c = ctx_of(req);
	char buf[512];
	struct lm_err err;
	size_t len = 0;
	int rc;

	lm_err_init(&err);
	rc = lm_ns_listxattr(c->ns, ino, buf, size ? (size < sizeof(buf) ? size : sizeof(buf)) : 0,
			     &len, &err);
	if (rc)
		fuse_reply_err(req, to_errno(rc));
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
}

/* ---- every mutation: EROFS ---- */

static void rofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)ino; (void)attr; (void)to_set; (void)fi;
	rofs(req);
}
static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t r)
{
	(void)p; (void)n; (void)m; (void)r;
	rofs(req);
}
static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
	(void)p; (void)n; (void)m;
	rofs(req);
}
static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
	(void)p; (void)n;
	rofs(req);
}
static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
	(void)l; (void)p; (void)n;
	rofs(req);
}
static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
		      const char *nn, unsigned int flags)
{
	(void)p; (void)n; (void)np; (void)nn; (void)flags;
	rofs(req);
}
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
	(void)ino; (void)np; (void)nn;
	rofs(req);
}
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	(void)ino; (void)buf; (void)size; (void)off; (void)fi;
	rofs(req);
}
static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
		      struct fuse_file_info *fi)
{
	(void)p; (void)n; (void)m; (void)fi;
	rofs(req);
}
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *n, const char *v,
			size_t s, int f)
{
	(void)ino; (void)n; (void)v; (void)s; (void)f;
	rofs(req);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *n)
{
	(void)ino; (void)n;
	rofs(req);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t o, off_t l,
			 struct fuse_file_info *fi)
{
	(void)ino; (void)mode; (void)o; (void)l; (void)fi;
	rofs(req);
}
static void op_copy_file_range(fuse_req_t req, fuse_ino_t i1, off_t o1,
			       struct fuse_file_info *f1, fuse_ino_t i2, off_t o2,
			       struct fuse_file_info *f2, size_t len, int flags)
{
	(void)i1; (void)o1; (void)f1; (void)i2; (void)o2; (void)f2; (void)len; (void)flags;
	rofs(req);
}

const struct fuse_lowlevel_ops lm_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.write = op_write,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
	.copy_file_range = op_copy_file_range,
};
