/* local.c — the local-directory store backend. Owns a directory fd of the source
 * root; every open is resolved beneath it (openat2 RESOLVE_BENEATH), so neither a key
 * nor a symlink inside the source can reach outside it.
 * May call: libc, Linux syscalls, util. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "lm/log.h"
#include "lm/store.h"
#include "lm/util.h"

struct local_store {
	struct lm_store base;
	int rootfd;
	char *root;   /* realpath of the source, no trailing slash (except "/") */
};

static int open_beneath(struct local_store *ls, const char *key, int flags)
{
	static int have_openat2 = 1;
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	int fd;

	if (have_openat2) {
		fd = (int)syscall(SYS_openat2, ls->rootfd, key, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		have_openat2 = 0;
	}
	/* Old kernels: the key was already checked to be a plain relative path. */
	return openat(ls->rootfd, key, flags | O_CLOEXEC);
}

static void fill_info(const struct stat *st, struct lm_obj_info *info)
{
	info->size = (uint64_t)st->st_size;
	info->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	snprintf(info->etag, sizeof(info->etag), "%llx-%llx-%llx.%lx",
		 (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
}

static int map_open_errno(int e, const char *key, struct lm_err *err, const char *uri)
{
	if (e == ENOENT || e == ENOTDIR)
		return lm_err_set(err, ENOENT, "%s/%s: no such object", uri, key);
	if (e == EXDEV || e == ELOOP)
		return lm_err_set(err, LM_EESCAPE, "%s/%s: refused, resolves outside the source",
				  uri, key);
	return lm_err_set(err, e, "%s/%s: %s", uri, key, strerror(e));
}

static int local_get_range(struct lm_store *s, const struct lm_get_req *req, void *dst,
			   size_t *got, struct lm_obj_info *info, struct lm_err *err)
{
	struct local_store *ls = (struct local_store *)s;
	struct lm_obj_info cur;
	struct stat st;
	size_t done = 0;
	int fd, rc = 0;

	*got = 0;
	fd = open_beneath(ls, req->key, O_RDONLY);
	if (fd < 0)
		return map_open_errno(errno, req->key, err, s->uri);
	if (fstat(fd, &st) < 0) {
		rc = lm_err_set(err, errno, "%s/%s: stat: %s", s->uri, req->key, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = lm_err_set(err, ENOENT, "%s/%s: not a regular file", s->uri, req->key);
		goto out;
	}
	fill_info(&st, &cur);
	if (req->if_match && strcmp(req->if_match, cur.etag) != 0) {
		rc = lm_err_set(err, LM_EMISMATCH, "%s/%s: object changed while being read",
				s->uri, req->key);
		goto out;
	}
	while (done < req->len) {
		ssize_t n = pread(fd, (char *)dst + done, req->len - done,
				  (off_t)(req->off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = lm_err_set(err, errno, "%s/%s: read: %s", s->uri, req->key,
					strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	if (info)
		*info = cur;
out:
	close(fd);
	return rc;
}

static int local_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		      struct lm_err *err)
{
	struct local_store *ls = (struct local_store *)s;
	struct stat st;
	int fd = open_beneath(ls, key, O_RDONLY | O_PATH);

	if (fd < 0)
		return map_open_errno(errno, key, err, s->uri);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lm_err_set(err, ENOENT, "%s/%s: not a regular file", s->uri, key);
	}
	close(fd);
	fill_info(&st, info);
	return 0;
}

struct ent {
	char *key;
	bool is_prefix;
	struct lm_obj_info info;
};

struct entvec {
	struct ent *v;
	size_t n, cap;
};

static int entvec_push(struct entvec *ev, char *key, bool is_prefix,
		       const struct lm_obj_info *info)
{
	if (ev->n == ev->cap) {
		size_t nc = ev->cap ? ev->cap * 2 : 64;
		struct ent *p = realloc(ev->v, nc * sizeof(*p));

		if (!p)
			return ENOMEM;
		ev->v = p;
		ev->cap = nc;
	}
	ev->v[ev->n].key = key;
	ev->v[ev->n].is_prefix = is_prefix;
	if (info)
		ev->v[ev->n].info = *info;
	else
		memset(&ev->v[ev->n].info, 0, sizeof(ev->v[ev->n].info));
	ev->n++;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key);
}

/* Collect the entries of directory `dir` (a key prefix ending in '/', or "") whose
 * names start with `namepfx`. Recurses into subdirectories when !delim. */
static int collect(struct local_store *ls, const char *dir, const char *namepfx, bool delim,
		   struct entvec *ev, int depth)
{
	size_t plen = strlen(namepfx);
	struct dirent *de;
	DIR *d = NULL;
	int fd, rc = 0;

	if (depth > 64)
		return 0;
	/* Not dup(rootfd): a dup shares the directory offset, so a second listing of the
	 * root would start at its end and come back empty. */
	fd = *dir ? open_beneath(ls, dir, O_RDONLY | O_DIRECTORY)
		  : openat(ls->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return errno;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *key;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strncmp(de->d_name, namepfx, plen) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* Follow only links that stay beneath the root. */
			char *k = lm_path_join(dir, de->d_name);
			int lfd = k ? open_beneath(ls, k, O_RDONLY | O_PATH) : -1;

			free(k);
			if (lfd < 0 || fstat(lfd, &st) < 0) {
				if (lfd >= 0)
					close(lfd);
				continue;
			}
			close(lfd);
		}
		if (S_ISDIR(st.st_mode)) {
			size_t n = strlen(dir) + strlen(de->d_name) + 2;

			key = malloc(n);
			if (!key) {
				rc = ENOMEM;
				break;
			}
			snprintf(key, n, "%s%s/", dir, de->d_name);
			if (delim) {
				rc = entvec_push(ev, key, true, NULL);
			} else {
				rc = collect(ls, key, "", false, ev, depth + 1);
				free(key);
			}
		} else if (S_ISREG(st.st_mode)) {
			struct lm_obj_info info;

			key = lm_path_join(dir, de->d_name);
			if (!key) {
				rc = ENOMEM;
				break;
			}
			fill_info(&st, &info);
			rc = entvec_push(ev, key, false, &info);
		}
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int local_list(struct lm_store *s, const char *prefix, const char *start_after,
		      int flags, lm_list_cb cb, void *ud, struct lm_err *err)
{
	struct local_store *ls = (struct local_store *)s;
	struct entvec ev = { 0 };
	const char *slash = strrchr(prefix, '/');
	char *dir = NULL;
	int rc;

	dir = lm_strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0);
	if (!dir)
		return ENOMEM;
	rc = collect(ls, dir, slash ? slash + 1 : prefix, flags & LM_LIST_DELIM, &ev, 0);
	if (rc) {
		lm_err_set(err, rc, "%s/%s: list: %s", s->uri, prefix, strerror(rc));
		goto out;
	}
	if (ev.n)
		qsort(ev.v, ev.n, sizeof(*ev.v), ent_cmp);
	for (size_t i = 0; i < ev.n; i++) {
		struct lm_list_entry e = { .key = ev.v[i].key, .is_prefix = ev.v[i].is_prefix,
					   .info = ev.v[i].info };

		if (start_after && strcmp(e.key, start_after) <= 0)
			continue;
		rc = cb(ud, &e);
		if (rc)
			break;
	}
out:
	for (size_t i = 0; i < ev.n; i++)
		free(ev.v[i].key);
	free(ev.v);
	free(dir);
	return rc;
}

/* Normalise an absolute path lexically ("//" and "." dropped); ".." refused. */
static int abs_to_key(struct local_store *ls, const char *path, char **out,
		      struct lm_err *err)
{
	size_t rl = strlen(ls->root);
	const char *rest;

	if (path[0] != '/')
		return lm_err_set(err, LM_EESCAPE, "'%s' is not an absolute path", path);
	while (path[1] == '/')
		path++;
	if (strcmp(ls->root, "/") == 0) {
		rest = path + 1;
	} else {
		if (strncmp(path, ls->root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
			return lm_err_set(err, LM_EESCAPE, "'%s' is outside the source %s", path,
					  ls->root);
		rest = path + rl;
		while (*rest == '/')
			rest++;
	}
	if (!lm_relpath_ok(rest))
		return lm_err_set(err, LM_EESCAPE, "'%s' is not a plain path inside %s", path,
				  ls->root);
	*out = strdup(rest);
	return *out ? 0 : ENOMEM;
}

static int local_uri_to_key(struct lm_store *s, const char *uri, char **out,
			    struct lm_err *err)
{
	struct local_store *ls = (struct local_store *)s;

	if (uri[0] == '/')
		return abs_to_key(ls, uri, out, err);
	if (strncmp(uri, "file://localhost/", 17) == 0)
		return abs_to_key(ls, uri + 16, out, err);
	if (strncmp(uri, "file:///", 8) == 0)
		return abs_to_key(ls, uri + 7, out, err);
	if (strncmp(uri, "file:/", 6) == 0 && uri[6] != '/')
		return abs_to_key(ls, uri + 5, out, err);
	return lm_err_set(err, LM_EESCAPE, "'%s' cannot be placed inside the source %s", uri,
			  ls->root);
}

static void local_destroy(struct lm_store *s)
{
	struct local_store *ls = (struct local_store *)s;

	if (ls->rootfd >= 0)
		close(ls->rootfd);
	free(ls->root);
	free(s->uri);
	free(ls);
}

static const struct lm_store_ops local_ops = {
	.name = "local",
	.get_range = local_get_range,
	.head = local_head,
	.list = local_list,
	.uri_to_key = local_uri_to_key,
	.destroy = local_destroy,
};

int lm_store_local_new(const char *root, struct lm_store **out, struct lm_err *err)
{
	struct local_store *ls = calloc(1, sizeof(*ls));
	char real[PATH_MAX];
	int rc = 0;

	if (!ls)
		return ENOMEM;
	ls->rootfd = -1;
	ls->base.ops = &local_ops;
	if (!realpath(root, real)) {
		rc = lm_err_set(err, errno, "source %s: %s", root, strerror(errno));
		goto out;
	}
	ls->rootfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ls->rootfd < 0) {
		rc = lm_err_set(err, errno, "source %s: %s", root, strerror(errno));
		goto out;
	}
	ls->root = strdup(real);
	ls->base.uri = strdup(real);
	if (!ls->root || !ls->base.uri)
		rc = ENOMEM;
out:
	if (rc) {
		local_destroy(&ls->base);
		return rc;
	}
	*out = &ls->base;
	return 0;
}
