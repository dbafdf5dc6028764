/* Command line and -o options of the daemon (fuse_opt tables in opts.c). */
#ifndef LM_OPTS_H
#define LM_OPTS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#define LM_OPTS_ID_UNSET 0xffffffffu

struct lm_opts {
	char *source;
	char *mountpoint;
	int foreground;
	int debug;
	int single_thread;
	int show_help;
	int show_version;
	unsigned latest_ttl;      /* seconds */
	char *log_level;
	char *delta_time;         /* "file" (default) or "commitinfo" */
	char *max_memory;         /* SIZE with K/M/G suffix */
	char *orphan_min_age;     /* DURATION: seconds, or with an s/m/h/d suffix */
	long long orphan_min_age_s;   /* parsed (default 3600) */
	char *cache_dir;          /* persistent metadata cache; NULL = the default */
	char *cache_size;         /* SIZE */
	int no_disk_cache;
	char *data_cache;         /* DIR of the optional disk block cache */
	char *data_cache_size;    /* SIZE */
	unsigned read_ahead_kb;   /* kernel readahead of the mount; LM_OPTS_ID_UNSET: default */
	/* what stat shows */
	unsigned uid;             /* LM_OPTS_ID_UNSET: the daemon's own */
	unsigned gid;
	unsigned umask;           /* octal, bits taken away from 0555/0444 */
	/* S3 */
	char *endpoint;
	char *region;
	char *profile;
	char *ca_file;
	int path_style;
	int no_sign_request;
	unsigned connect_timeout_ms;
	unsigned timeout_ms;
	unsigned retries;
	unsigned retry_time_ms;
	unsigned connections;
	struct fuse_args fuse_args;   /* what libfuse gets */
};

/* 0 ok, -1 usage error (message printed). */
int lm_opts_parse(int argc, char **argv, struct lm_opts *o);
void lm_opts_free(struct lm_opts *o);
void lm_opts_usage(const char *prog);

#endif
