/* The FUSE lowlevel adapter: one function per operation, one reply per request;
 * errors become errno here and only here. */
#ifndef LM_FUSE_ADAPTER_H
#define LM_FUSE_ADAPTER_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "lm/ns.h"

struct lm_fuse_cfg {
	double immutable_timeout;   /* entry/attr timeout for versions and their files */
	double ttl_timeout;         /* for folders, tables, @latest */
	unsigned max_read;
	uid_t uid;                  /* owner shown for every entry (-o uid=, default: ours) */
	gid_t gid;                  /* group shown (-o gid=) */
	mode_t umask;               /* permission bits taken away from 0555/0444 (-o umask=) */
	unsigned read_ahead_kb;     /* set on the mount's bdi at INIT; 0 = the kernel's */
	char bdi[32];               /* "MAJOR:MINOR" of the mount ("" = unknown) */
};

extern const struct fuse_lowlevel_ops lm_fuse_ops;

/* The "MAJOR:MINOR" of the FUSE mount on the absolute path mnt (the newest one there),
 * from /proc/self/mountinfo — without asking the mount itself, which is not served
 * yet. 0, or ENOENT when no FUSE mount is on mnt. */
int lm_fuse_find_dev(const char *mnt, char *out, size_t outlen);

struct lm_fuse_ctx {
	struct lm_ns *ns;
	struct lm_fuse_cfg cfg;
};

#endif
