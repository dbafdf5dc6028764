/* lm-s3put.c — upload a local file or directory tree to s3://bucket[/prefix] with the
 * project's own SigV4 signer (curl's built-in signer mis-signs keys with '=', '+', ':').
 * For test data and benchmarks; credentials come from the usual AWS sources (never from
 * argv). Keys are the paths relative to the given directory, '/'-separated.
 * May call: the core (store/s3), libc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lm/log.h"
#include "lm/s3.h"
#include "lm/store.h"
#include "lm/util.h"

struct file {
	char *path;   /* local path */
	char *key;    /* key relative to the destination prefix */
	uint64_t size;
};

struct files {
	struct file *v;
	size_t n, cap;
};

struct job {
	struct lm_store *s;
	struct files *fl;
	atomic_size_t next;
	atomic_size_t done, failed;
	atomic_ullong bytes;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lm-s3put [-o OPTS] [-j N] [-q] [-v] SRC s3://bucket[/prefix]\n"
		"  SRC is a file (uploaded as prefix/NAME) or a directory (its tree under prefix/).\n"
		"  -o endpoint=URL,region=R,profile=P,path_style,no_sign_request,ca_file=F\n"
		"  -j N  parallel uploads (default 8)   -q  quiet   -v  debug log\n"
		"  Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN],\n"
		"  AWS_PROFILE, ~/.aws/credentials; endpoint also from AWS_ENDPOINT_URL.\n");
}

static int parse_opts(char *s, struct lm_s3_config *c)
{
	for (char *tok = s, *next; tok && *tok; tok = next) {
		char *comma = strchr(tok, ',');
		char *eq;

		next = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : NULL;

		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "endpoint") && v)
			c->endpoint = v;
		else if (!strcmp(tok, "region") && v)
			c->region = v;
		else if (!strcmp(tok, "profile") && v)
			c->profile = v;
		else if (!strcmp(tok, "ca_file") && v)
			c->ca_file = v;
		else if (!strcmp(tok, "path_style") && !v)
			c->path_style = true;
		else if (!strcmp(tok, "no_sign_request") && !v)
			c->no_sign_request = true;
		else {
			fprintf(stderr, "lm-s3put: unknown option '%s'\n", tok);
			return -1;
		}
	}
	return 0;
}

static int push(struct files *fl, const char *path, const char *key, uint64_t size)
{
	if (fl->n == fl->cap) {
		size_t nc = fl->cap ? fl->cap * 2 : 256;
		struct file *v = realloc(fl->v, nc * sizeof(*v));

		if (!v)
			return ENOMEM;
		fl->v = v;
		fl->cap = nc;
	}
	fl->v[fl->n].path = strdup(path);
	fl->v[fl->n].key = strdup(key);
	fl->v[fl->n].size = size;
	if (!fl->v[fl->n].path || !fl->v[fl->n].key) {
		free(fl->v[fl->n].path);
		free(fl->v[fl->n].key);
		return ENOMEM;
	}
	fl->n++;
	return 0;
}

/* Collect regular files under dir (key prefix rel) recursively. */
static int walk(const char *dir, const char *rel, struct files *fl, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 64)
		return ELOOP;
	d = opendir(dir);
	if (!d)
		return errno;
	while ((de = readdir(d)) && !rc) {
		struct stat st;
		char *p, *k;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = lm_path_join(dir, de->d_name);
		k = lm_path_join(rel, de->d_name);
		if (!p || !k) {
			rc = ENOMEM;
		} else if (stat(p, &st) != 0) {
			fprintf(stderr, "lm-s3put: skipping %s: %s\n", p, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(p, k, fl, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = push(fl, p, k, (uint64_t)st.st_size);
		}
		free(p);
		free(k);
	}
	closedir(d);
	return rc;
}

static void *worker(void *arg)
{
	struct job *j = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		struct file *f;
		struct lm_err err;
		int fd, rc;

		if (i >= j->fl->n)
			break;
		f = &j->fl->v[i];
		lm_err_init(&err);
		fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "lm-s3put: %s: %s\n", f->path, strerror(errno));
			atomic_fetch_add(&j->failed, 1);
			continue;
		}
		rc = lm_s3_put_fd(j->s, f->key, fd, f->size, &err);
		close(fd);
		if (rc) {
			fprintf(stderr, "lm-s3put: %s: %s\n", f->path,
				err.msg[0] ? err.msg : lm_strerror(rc));
			atomic_fetch_add(&j->failed, 1);
			continue;
		}
		atomic_fetch_add(&j->bytes, f->size);
		if (!j->quiet && atomic_fetch_add(&j->done, 1) % 500 == 499)
			fprintf(stderr, "lm-s3put: %zu/%zu files\n", atomic_load(&j->done),
				j->fl->n);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct lm_s3_config cfg;
	struct lm_store *s = NULL;
	struct files fl = { 0 };
	struct job job;
	struct lm_err err;
	struct stat st;
	pthread_t *t = NULL;
	long nthreads = 8;
	bool quiet = false;
	int64_t t0;
	int c, rc = 1;

	lm_s3_config_init(&cfg);
	while ((c = getopt(argc, argv, "o:j:qvh")) != -1) {
		switch (c) {
		case 'o':
			if (parse_opts(optarg, &cfg))
				return 2;
			break;
		case 'j': {
			int64_t v;

			if (lm_parse_i64(optarg, &v) || v < 1 || v > 256) {
				fprintf(stderr, "lm-s3put: -j wants 1..256\n");
				return 2;
			}
			nthreads = (long)v;
			break;
		}
		case 'q':
			quiet = true;
			break;
		case 'v':
			lm_log_set_level(LM_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || strncmp(argv[optind + 1], "s3://", 5) != 0) {
		usage(stderr);
		return 2;
	}
	if (stat(argv[optind], &st) != 0) {
		fprintf(stderr, "lm-s3put: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = walk(argv[optind], "", &fl, 0);
	} else {
		const char *base = strrchr(argv[optind], '/');

		rc = push(&fl, argv[optind], base ? base + 1 : argv[optind], (uint64_t)st.st_size);
	}
	if (rc) {
		fprintf(stderr, "lm-s3put: reading %s: %s\n", argv[optind], strerror(rc));
		rc = 1;
		goto out;
	}
	lm_err_init(&err);
	if (lm_store_s3_open(argv[optind + 1], &cfg, &s, &err) != 0 ||
	    lm_store_s3_check(s, &err) != 0) {
		fprintf(stderr, "lm-s3put: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	memset(&job, 0, sizeof(job));
	job.s = s;
	job.fl = &fl;
	job.quiet = quiet;
	if ((size_t)nthreads > fl.n)
		nthreads = fl.n ? (long)fl.n : 1;
	t = calloc((size_t)nthreads, sizeof(*t));
	if (!t) {
		rc = 1;
		goto out;
	}
	t0 = lm_mono_ns();
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, &job);
	for (long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	if (!quiet)
		fprintf(stderr, "lm-s3put: %zu files, %llu bytes to %s in %.2f s%s\n",
			fl.n - atomic_load(&job.failed), (unsigned long long)atomic_load(&job.bytes),
			s->uri, (lm_mono_ns() - t0) / 1e9,
			atomic_load(&job.failed) ? " (with failures)" : "");
	rc = atomic_load(&job.failed) ? 1 : 0;
out:
	for (size_t i = 0; i < fl.n; i++) {
		free(fl.v[i].path);
		free(fl.v[i].key);
	}
	free(fl.v);
	free(t);
	lm_store_free(s);
	return rc;
}
