/* main.c — the lakemount daemon: parse options, open the store, build the namespace,
 * mount with libfuse (lowlevel, multithreaded) and run until unmounted or signalled
 * (SIGTERM/SIGINT: unmount, exit 0; SIGHUP: re-read credentials, expire listings).
 * Tells systemd READY=1 once mounted (Type=notify) and STOPPING=1 when leaving.
 * May call: everything below (store, ns, fuse adapter), daemon.c, libfuse. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "fuse/adapter.h"
#include "lm/delta.h"
#include "lm/log.h"
#include "lm/metacache.h"
#include "lm/datacache.h"
#include "lm/ns.h"
#include "lm/reader.h"
#include "lm/s3.h"
#include "lm/store.h"
#include "opts.h"

static void print_version(void)
{
	printf("lakemount %s\n", LM_VERSION);
	printf("libfuse %s (FUSE_USE_VERSION %d)\n", fuse_pkgversion(), FUSE_USE_VERSION);
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	printf("LMDB %s\n", mdb_version(NULL, NULL, NULL));
}

/* fsname= value: the SOURCE with ',' and '\' escaped for the kernel's option parser. */
static char *fsname_opt(const char *source)
{
	size_t n = strlen(source);
	char *r = malloc(2 * n + 16), *p;

	if (!r)
		return NULL;
	p = r + snprintf(r, 16, "-ofsname=");
	for (size_t i = 0; i < n; i++) {
		if (source[i] == ',' || source[i] == '\\')
			*p++ = '\\';
		*p++ = source[i];
	}
	*p = '\0';
	return r;
}

/* What SIGHUP needs; lives in main's frame for the whole mount. */
struct hup_ctx {
	struct lm_ns *ns;
	struct lm_store *store;
	const struct lm_s3_config *s3;   /* NULL for a local source */
};

/* On the SIGHUP thread, concurrently with FUSE requests (both calls are thread-safe). */
static void on_hup(void *arg)
{
	struct hup_ctx *h = arg;
	struct lm_err err;

	lm_err_init(&err);
	if (h->s3) {
		int rc = lm_store_s3_reload_credentials(h->store, h->s3, &err);

		if (rc)
			lm_warn("SIGHUP: credentials not reloaded, keeping the current ones: %s",
				err.msg[0] ? err.msg : lm_strerror(rc));
		else
			lm_info("SIGHUP: credentials re-read (%s)", lm_store_s3_cred_source(h->store));
	}
	lm_ns_expire(h->ns);
	lm_info("SIGHUP: version lists expired; the next lookup lists the logs again");
}

int main(int argc, char **argv)
{
	struct lm_opts o;
	struct lm_store *store = NULL;
	struct lm_ns *ns = NULL;
	struct fuse_session *se = NULL;
	struct lm_fuse_ctx ctx;
	struct lm_err err;
	char mnt[PATH_MAX];
	char *fsname = NULL;
	struct lm_s3_config s3;
	struct hup_ctx hup = { 0 };
	bool is_s3 = false;
	int rc = 1, mounted = 0, sig = 0;
	size_t max_memory = 0;
	uint64_t cache_size = 0;
	char cache_dir[PATH_MAX] = "";
	struct lm_metacache *meta = NULL;
	uint64_t dc_size = 0;
	struct lm_datacache *dcache = NULL;

	lm_err_init(&err);
#ifdef __GLIBC__
	/* A fixed mmap threshold: buffers of 1 MiB and more (a checkpoint, a decoded column,
	 * the file and node arrays of a big version) get pages of their own and give them
	 * back when freed. glibc's default raises the threshold after the first big free,
	 * so the scratch of a big build lands in the heaps of the FUSE threads and stays
	 * resident as free chunks among live ones, out of malloc_trim's reach: 249 B of RSS
	 * a file after a cold mount of a 100k-file version, 153 B with this (p3-ls.mjs). */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
	lm_daemon_route_fuse_log();
	if (lm_opts_parse(argc, argv, &o) != 0) {
		fprintf(stderr, "lakemount: see --help\n");
		return 2;
	}
	if (o.show_help) {
		lm_opts_usage(argv[0]);
		rc = 0;
		goto out;
	}
	if (o.show_version) {
		print_version();
		rc = 0;
		goto out;
	}
	if (!o.source || !o.mountpoint) {
		fprintf(stderr, "lakemount: need SOURCE and MOUNTPOINT (see --help)\n");
		rc = 2;
		goto out;
	}
	if (o.log_level) {
		enum lm_log_level lvl;

		if (lm_log_level_parse(o.log_level, &lvl)) {
			fprintf(stderr, "lakemount: log_level=%s: use error, warn, info or debug\n",
				o.log_level);
			rc = 2;
			goto out;
		}
		lm_log_set_level(lvl);
	}
	if (o.delta_time) {
		if (!strcmp(o.delta_time, "commitinfo")) {
			lm_delta_set_time_source(1);
		} else if (!strcmp(o.delta_time, "file")) {
			lm_delta_set_time_source(0);
		} else {
			fprintf(stderr, "lakemount: delta_time=%s: use file or commitinfo\n", o.delta_time);
			rc = 2;
			goto out;
		}
	}
	if (o.debug)
		lm_log_set_level(LM_LOG_DEBUG);
	if (o.max_memory) {
		uint64_t mm;

		if (lm_size_parse(o.max_memory, &mm) || mm < (1u << 20) || mm > SIZE_MAX / 2) {
			fprintf(stderr, "lakemount: max_memory=%s: use a size such as 64M or 1G (at least 1M)\n",
				o.max_memory);
			rc = 2;
			goto out;
		}
		max_memory = (size_t)mm;
	}
	if (o.read_ahead_kb != LM_OPTS_ID_UNSET && o.read_ahead_kb > 65536) {
		fprintf(stderr, "lakemount: read_ahead_kb=%u: at most 65536 (64 MiB)\n", o.read_ahead_kb);
		rc = 2;
		goto out;
	}
	if (o.cache_size && (lm_size_parse(o.cache_size, &cache_size) || cache_size < (4u << 20))) {
		fprintf(stderr, "lakemount: cache_size=%s: use a size such as 256M or 2G (at least 4M)\n",
			o.cache_size);
		rc = 2;
		goto out;
	}
	if (!o.no_disk_cache) {
		/* Open it once now so that a bad folder is said on the terminal; the daemon
		 * opens it again after daemonising (an LMDB environment must not cross a
		 * fork). A cache that cannot be used is a warning, not a failed mount. */
		if (o.cache_dir)
			snprintf(cache_dir, sizeof(cache_dir), "%s", o.cache_dir);
		else if (lm_metacache_default_dir(cache_dir, sizeof(cache_dir)))
			cache_dir[0] = '\0';
		if (cache_dir[0] && lm_metacache_open(cache_dir, cache_size, &meta, &err)) {
			fprintf(stderr, "lakemount: warning: %s; going on without a metadata cache\n",
				err.msg);
			cache_dir[0] = '\0';
			lm_err_init(&err);
		}
		lm_metacache_close(meta);
		meta = NULL;
	}
	if (o.data_cache_size && (!o.data_cache || lm_size_parse(o.data_cache_size, &dc_size) ||
				  dc_size < (16u << 20))) {
		fprintf(stderr, "lakemount: data_cache_size=%s: use a size such as 10G (at least 16M), "
			"with data_cache=DIR\n", o.data_cache_size);
		rc = 2;
		goto out;
	}
	if (o.data_cache && lm_datacache_open(o.data_cache, dc_size, &dcache, &err)) {
		/* Asked for explicitly: a data cache that cannot be used fails the mount. */
		fprintf(stderr, "lakemount: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (!strncmp(o.mountpoint, "/dev/fd/", 8)) {
		/* mount.fuse3 -o drop_privileges: libfuse takes the already-open /dev/fuse fd */
		snprintf(mnt, sizeof(mnt), "%s", o.mountpoint);
	} else if (!realpath(o.mountpoint, mnt)) {
		fprintf(stderr, "lakemount: mountpoint %s: %s\n", o.mountpoint, strerror(errno));
		rc = 2;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	{
		is_s3 = !strncmp(o.source, "s3://", 5);
		lm_s3_config_init(&s3);
		s3.endpoint = o.endpoint;
		s3.region = o.region;
		s3.profile = o.profile;
		s3.ca_file = o.ca_file;
		s3.path_style = o.path_style;
		s3.no_sign_request = o.no_sign_request;
		s3.connect_timeout_ms = o.connect_timeout_ms;
		s3.stall_timeout_ms = o.timeout_ms;
		s3.retry_max = o.retries;
		s3.retry_total_ms = o.retry_time_ms;
		s3.pool_size = o.connections;
		rc = lm_store_open(o.source, is_s3 ? &s3 : NULL, &store, &err);
		if (!rc && is_s3)
			rc = lm_store_s3_check(store, &err);
		if (rc) {
			fprintf(stderr, "lakemount: %s\n", err.msg[0] ? err.msg : lm_strerror(rc));
			rc = 1;
			goto out;
		}
		if (is_s3)
			lm_debug("S3 credentials from %s", lm_store_s3_cred_source(store));
	}
	{
		struct lm_ns_opts nso = { .latest_ttl_ms = o.latest_ttl * 1000u,
					  .uid = o.uid != LM_OPTS_ID_UNSET ? o.uid : getuid(),
					  .gid = o.gid != LM_OPTS_ID_UNSET ? o.gid : getgid(),
					  .max_memory = max_memory,
					  .data_cache = dcache,
					  .orphan_min_age_ms = (int64_t)o.orphan_min_age_s * 1000 };

		rc = lm_ns_new(store, &nso, &ns, &err);
		if (rc) {
			fprintf(stderr, "lakemount: %s: %s\n", o.source,
				err.msg[0] ? err.msg : lm_strerror(rc));
			rc = 1;
			goto out;
		}
	}
	ctx.ns = ns;
	ctx.cfg.immutable_timeout = 86400.0;
	ctx.cfg.ttl_timeout = o.latest_ttl;
	ctx.cfg.max_read = 0;
	ctx.cfg.uid = o.uid != LM_OPTS_ID_UNSET ? o.uid : getuid();
	ctx.cfg.gid = o.gid != LM_OPTS_ID_UNSET ? o.gid : getgid();
	ctx.cfg.umask = o.umask;
	ctx.cfg.read_ahead_kb = o.read_ahead_kb == LM_OPTS_ID_UNSET ? 1024 : o.read_ahead_kb;
	ctx.cfg.bdi[0] = '\0';
	hup.ns = ns;
	hup.store = store;
	hup.s3 = is_s3 ? &s3 : NULL;

	fsname = fsname_opt(o.source);
	if (!fsname || fuse_opt_add_arg(&o.fuse_args, "-oro,default_permissions,subtype=lakemount") ||
	    fuse_opt_add_arg(&o.fuse_args, fsname)) {
		fprintf(stderr, "lakemount: out of memory\n");
		rc = 1;
		goto out;
	}
	se = fuse_session_new(&o.fuse_args, &lm_fuse_ops, sizeof(lm_fuse_ops), &ctx);
	if (!se) {
		fprintf(stderr, "lakemount: bad FUSE options (see --help)\n");
		rc = 2;
		goto out;
	}
	rc = lm_daemon_signals_init(se, on_hup, &hup);
	if (rc) {
		fprintf(stderr, "lakemount: cannot install signal handlers: %s\n", strerror(rc));
		rc = 1;
		goto out;
	}
	if (fuse_session_mount(se, mnt) != 0) {
		fprintf(stderr, "lakemount: cannot mount on %s\n", mnt);
		rc = 1;
		goto out;
	}
	mounted = 1;
	if (ctx.cfg.read_ahead_kb && lm_fuse_find_dev(mnt, ctx.cfg.bdi, sizeof(ctx.cfg.bdi)))
		lm_debug("no FUSE mount found on %s in mountinfo: kernel readahead left as is", mnt);
	if (!o.foreground)
		lm_log_use_syslog("lakemount");
	lm_info("mounted %s on %s", o.source, mnt);
	if (fuse_daemonize(o.foreground) != 0) {
		rc = 1;
		goto out;
	}
	if (cache_dir[0]) {
		if (lm_metacache_open(cache_dir, cache_size, &meta, &err)) {
			lm_warn("%s; going on without a metadata cache", err.msg);
			lm_err_init(&err);
		} else {
			lm_ns_set_metacache(ns, meta);
			lm_debug("metadata cache in %s", cache_dir);
		}
	}
	if (lm_daemon_signals_start() != 0)
		lm_warn("SIGHUP will not be handled: cannot start its thread");
	{
		char st[PATH_MAX + 96];

		if (o.foreground)
			snprintf(st, sizeof(st), "READY=1\nSTATUS=mounted on %s", mnt);
		else
			snprintf(st, sizeof(st), "READY=1\nMAINPID=%ld\nSTATUS=mounted on %s",
				 (long)getpid(), mnt);
		lm_daemon_notify(st);
	}
	if (o.single_thread) {
		rc = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();

		fuse_loop_cfg_set_clone_fd(lc, 0);
		fuse_loop_cfg_set_max_threads(lc, 16);
		fuse_loop_cfg_set_idle_threads(lc, 8);
		rc = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	lm_daemon_notify("STOPPING=1");
	sig = lm_daemon_stop_signal();
	if (sig) {
		/* A stop signal is the normal way out under systemd: unmount, exit 0. */
		lm_info("%s: unmounting %s", sig == SIGTERM ? "SIGTERM" : "SIGINT", mnt);
		rc = 0;
	} else {
		lm_info("%s was unmounted", mnt);
		rc = rc ? 1 : 0;
	}
out:
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		lm_daemon_signals_fini();
		fuse_session_destroy(se);
	}
	lm_ns_free(ns);
	lm_metacache_close(meta);
	lm_datacache_close(dcache);
	lm_store_free(store);
	free(fsname);
	lm_opts_free(&o);
	return rc;
}
