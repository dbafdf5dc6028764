/* opts.c — the daemon's command line: fuse_opt tables for lakemount's own -o options,
 * fstab-only words accepted and dropped, everything else handed to libfuse (which
 * rejects what it does not know). May call: libfuse (fuse_opt), libc. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

enum { KEY_HELP, KEY_VERSION, KEY_FOREGROUND, KEY_DEBUG, KEY_SINGLE, KEY_DROP };

#define LM_OPT(t, p) { t, offsetof(struct lm_opts, p), 1 }

static const struct fuse_opt lm_opt_spec[] = {
	LM_OPT("latest_ttl=%u", latest_ttl),
	LM_OPT("log_level=%s", log_level),
	LM_OPT("delta_time=%s", delta_time),
	LM_OPT("endpoint=%s", endpoint),
	LM_OPT("region=%s", region),
	LM_OPT("profile=%s", profile),
	LM_OPT("ca_file=%s", ca_file),
	LM_OPT("path_style", path_style),
	LM_OPT("no_sign_request", no_sign_request),
	LM_OPT("connect_timeout=%u", connect_timeout_ms),
	LM_OPT("timeout=%u", timeout_ms),
	LM_OPT("retries=%u", retries),
	LM_OPT("retry_time=%u", retry_time_ms),
	LM_OPT("connections=%u", connections),
	LM_OPT("max_memory=%s", max_memory),
	LM_OPT("orphan_min_age=%s", orphan_min_age),
	LM_OPT("cache_dir=%s", cache_dir),
	LM_OPT("cache_size=%s", cache_size),
	LM_OPT("no_disk_cache", no_disk_cache),
	LM_OPT("data_cache=%s", data_cache),
	LM_OPT("data_cache_size=%s", data_cache_size),
	LM_OPT("read_ahead_kb=%u", read_ahead_kb),
	LM_OPT("uid=%u", uid),
	LM_OPT("gid=%u", gid),
	LM_OPT("umask=%o", umask),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	/* fstab / mount(8) words with no meaning here. mount(8) itself strips _netdev,
	 * nofail, noauto, x-*, comment= and turns user/owner into nosuid,nodev,noexec
	 * before calling mount.fuse3, but a direct call or another mounter may pass them.
	 * The mount is always ro,nosuid,nodev: rw, dev, suid, exec are ignored; nosuid,
	 * nodev, noexec go to libfuse. Access-time and sync words mean nothing read-only. */
	FUSE_OPT_KEY("_netdev", KEY_DROP),
	FUSE_OPT_KEY("nofail", KEY_DROP),
	FUSE_OPT_KEY("auto", KEY_DROP),
	FUSE_OPT_KEY("noauto", KEY_DROP),
	FUSE_OPT_KEY("defaults", KEY_DROP),
	FUSE_OPT_KEY("user", KEY_DROP),
	FUSE_OPT_KEY("nouser", KEY_DROP),
	FUSE_OPT_KEY("users", KEY_DROP),
	FUSE_OPT_KEY("owner", KEY_DROP),
	FUSE_OPT_KEY("noowner", KEY_DROP),
	FUSE_OPT_KEY("group", KEY_DROP),
	FUSE_OPT_KEY("nogroup", KEY_DROP),
	FUSE_OPT_KEY("ro", KEY_DROP),
	FUSE_OPT_KEY("rw", KEY_DROP),
	FUSE_OPT_KEY("exec", KEY_DROP),
	FUSE_OPT_KEY("dev", KEY_DROP),
	FUSE_OPT_KEY("suid", KEY_DROP),
	FUSE_OPT_KEY("atime", KEY_DROP),
	FUSE_OPT_KEY("noatime", KEY_DROP),
	FUSE_OPT_KEY("relatime", KEY_DROP),
	FUSE_OPT_KEY("norelatime", KEY_DROP),
	FUSE_OPT_KEY("strictatime", KEY_DROP),
	FUSE_OPT_KEY("nostrictatime", KEY_DROP),
	FUSE_OPT_KEY("diratime", KEY_DROP),
	FUSE_OPT_KEY("nodiratime", KEY_DROP),
	FUSE_OPT_KEY("lazytime", KEY_DROP),
	FUSE_OPT_KEY("nolazytime", KEY_DROP),
	FUSE_OPT_KEY("async", KEY_DROP),
	FUSE_OPT_KEY("sync", KEY_DROP),
	FUSE_OPT_KEY("dirsync", KEY_DROP),
	FUSE_OPT_KEY("iversion", KEY_DROP),
	FUSE_OPT_KEY("noiversion", KEY_DROP),
	FUSE_OPT_KEY("mand", KEY_DROP),
	FUSE_OPT_KEY("nomand", KEY_DROP),
	FUSE_OPT_KEY("silent", KEY_DROP),
	FUSE_OPT_KEY("loud", KEY_DROP),
	FUSE_OPT_END
};

static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct lm_opts *o = data;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_FOREGROUND:
		o->foreground = 1;
		return 0;
	case KEY_DEBUG:
		o->debug = 1;
		o->foreground = 1;
		return 1;   /* libfuse prints its request trace too */
	case KEY_SINGLE:
		o->single_thread = 1;
		return 0;
	case KEY_DROP:
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.*, x-gvfs-*, X-mount.* …: for other programs; comment=…;
		 * "" from an empty list (-o "" in lakemount@.service, "a,,b") */
		if (!*arg || !strncmp(arg, "x-", 2) || !strncmp(arg, "X-", 2) ||
		    !strncmp(arg, "comment=", 8))
			return 0;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		if (!o->source) {
			o->source = strdup(arg);
			return 0;
		}
		if (!o->mountpoint) {
			o->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "lakemount: unexpected argument '%s'\n", arg);
		return -1;
	}
	return 1;
}

/* A duration: whole seconds, or a number with an s, m, h or d suffix ("90", "30m",
 * "1h"); at most ten years. */
static int parse_duration(const char *s, long long *out)
{
	long long v = 0, mul = 1;
	const char *p = s;

	if (!*p)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 400000000LL)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (p == s)
		return -1;
	if (*p == 's')
		p++;
	else if (*p == 'm')
		mul = 60, p++;
	else if (*p == 'h')
		mul = 3600, p++;
	else if (*p == 'd')
		mul = 86400, p++;
	if (*p || v * mul > 10LL * 366 * 86400)
		return -1;
	*out = v * mul;
	return 0;
}

int lm_opts_parse(int argc, char **argv, struct lm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->latest_ttl = 5;
	o->uid = LM_OPTS_ID_UNSET;
	o->gid = LM_OPTS_ID_UNSET;
	o->read_ahead_kb = LM_OPTS_ID_UNSET;
	o->fuse_args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&o->fuse_args, o, lm_opt_spec, proc) == -1)
		return -1;
	o->orphan_min_age_s = 3600;
	if (o->orphan_min_age && parse_duration(o->orphan_min_age, &o->orphan_min_age_s)) {
		fprintf(stderr, "lakemount: orphan_min_age=%s: a duration such as 3600, 90m, 1h "
			"or 0\n", o->orphan_min_age);
		return -1;
	}
	if (o->umask > 07777) {
		fprintf(stderr, "lakemount: umask=%o: an octal mode such as 022 or 0077\n", o->umask);
		return -1;
	}
	return 0;
}

void lm_opts_free(struct lm_opts *o)
{
	free(o->source);
	free(o->mountpoint);
	free(o->log_level);
	free(o->delta_time);
	free(o->endpoint);
	free(o->region);
	free(o->profile);
	free(o->ca_file);
	free(o->max_memory);
	free(o->orphan_min_age);
	free(o->cache_dir);
	free(o->cache_size);
	free(o->data_cache);
	free(o->data_cache_size);
	fuse_opt_free_args(&o->fuse_args);
}

void lm_opts_usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-s] [-o opt[,opt...]] SOURCE MOUNTPOINT\n"
	       "       mount -t fuse.lakemount SOURCE MOUNTPOINT [-o opt[,opt...]]\n"
	       "\n"
	       "Mount Delta Lake tables read-only, one directory per version.\n"
	       "SOURCE is a local directory or s3://bucket[/prefix]. man lakemount for more.\n"
	       "\n"
	       "general:\n"
	       "    -h, --help             this help\n"
	       "    -V, --version          print versions (lakemount, libfuse, libcurl, OpenSSL,\n"
	       "                           LMDB) and exit\n"
	       "    -f                     stay in the foreground, log to stderr\n"
	       "    -s                     single-threaded\n"
	       "\n"
	       "logging (stderr with -f, else syslog/journal):\n"
	       "    -o log_level=LEVEL     error, warn, info (default) or debug\n"
	       "    -d, -o debug           foreground, debug level and libfuse's request trace\n"
	       "\n"
	       "S3 source:\n"
	       "    -o endpoint=URL        S3 endpoint (default AWS; also AWS_ENDPOINT_URL)\n"
	       "    -o region=REGION       region (also AWS_REGION; default us-east-1)\n"
	       "    -o path_style          path-style addressing (automatic for IP/localhost)\n"
	       "    -o ca_file=FILE        CA bundle for https (also AWS_CA_BUNDLE)\n"
	       "    -o connect_timeout=MS  connection timeout (default 5000)\n"
	       "    -o timeout=MS          a request with no byte for this long is retried (20000)\n"
	       "    -o retries=N           attempts per request (default 8)\n"
	       "    -o retry_time=MS       give up on a request after this long (default 60000)\n"
	       "    -o connections=N       keep-alive connections kept open (default 32)\n"
	       "\n"
	       "credentials (never on the command line; re-read on SIGHUP):\n"
	       "    -o profile=NAME        profile in ~/.aws/credentials and ~/.aws/config\n"
	       "    -o no_sign_request     anonymous requests (public buckets)\n"
	       "    otherwise AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, then the\n"
	       "    profile (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config), then the EC2\n"
	       "    instance role (IMDSv2)\n"
	       "\n"
	       "caching and reading:\n"
	       "    -o max_memory=SIZE     read buffers and block cache together, shared by all\n"
	       "                           open files (K/M/G suffixes; default 64M)\n"
	       "    -o cache_dir=DIR       persistent metadata cache (LMDB): the file list of\n"
	       "                           every version built, kept across remounts (default\n"
	       "                           $XDG_CACHE_HOME/lakemount, ~/.cache/lakemount, or\n"
	       "                           /var/cache/lakemount for root)\n"
	       "    -o cache_size=SIZE     the most it may take on disk (default 1G; oldest\n"
	       "                           entries are evicted first)\n"
	       "    -o no_disk_cache       keep no metadata on disk (rebuild after each mount)\n"
	       "    -o data_cache=DIR      keep data blocks read on local disk too (off by\n"
	       "                           default; one mount per DIR)\n"
	       "    -o data_cache_size=SIZE  the most the data cache takes (default 1G; least\n"
	       "                           recently used blocks are deleted first)\n"
	       "    -o read_ahead_kb=N     the kernel's readahead for this mount, in KiB: 1 MiB\n"
	       "                           FUSE reads instead of 256 KiB (default 1024; set\n"
	       "                           only when the daemon may write /sys/class/bdi, i.e.\n"
	       "                           as root; 0 = leave the kernel's default)\n"
	       "\n"
	       "time travel:\n"
	       "    -o latest_ttl=SECONDS  how long the list of versions and @latest are\n"
	       "                           trusted before the log is listed again (default 5;\n"
	       "                           SIGHUP drops it at once)\n"
	       "    -o delta_time=SOURCE   the time of a Delta commit, for @<timestamp> lookups:\n"
	       "                           file (default: in-commit timestamps where the table\n"
	       "                           enables them, else the commit file's storage time)\n"
	       "                           or commitinfo (commitInfo.timestamp; for copied tables)\n"
	       "\n"
	       "forensics (TABLE/@storage, @orphans, @recent, @removed, @missing):\n"
	       "    -o orphan_min_age=DURATION  an unreferenced data file younger than this is\n"
	       "                           listed in @recent/, not @orphans/ (maybe a commit in\n"
	       "                           flight): seconds or 30m, 1h, 2d (default 1h)\n"
	       "\n"
	       "ownership and permissions (what stat shows; the mount is always read-only):\n"
	       "    -o uid=N               owner of every entry (default: the daemon's user)\n"
	       "    -o gid=N               group of every entry (default: the daemon's group)\n"
	       "    -o umask=M             octal bits taken away from dirs 0555, files 0444\n"
	       "    -o allow_other         let other users in (non-root: user_allow_other in\n"
	       "                           /etc/fuse.conf); default_permissions is always on\n"
	       "\n"
	       "FUSE (passed to libfuse): allow_root, auto_unmount, nosuid, nodev, noexec,\n"
	       "    max_read=N, fsname=NAME, ... (see fuse(8))\n"
	       "\n"
	       "fstab words accepted and ignored: _netdev, nofail, auto, noauto, defaults,\n"
	       "    user, nouser, users, owner, noowner, group, nogroup, ro, rw, exec, dev,\n"
	       "    suid, atime, noatime, relatime, norelatime, strictatime, nostrictatime,\n"
	       "    diratime, nodiratime, lazytime, nolazytime, async, sync, dirsync,\n"
	       "    iversion, noiversion, mand, nomand, silent, loud, x-*, X-*, comment=...\n"
	       "\n"
	       "signals: SIGTERM/SIGINT unmount and exit 0; SIGHUP re-reads S3 credentials and\n"
	       "    forgets the cached list of versions (a new commit is seen at once).\n",
	       prog);
}
