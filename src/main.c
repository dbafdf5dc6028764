/* main.c — the lakemount daemon: parse options, open the store, build the namespace,
 * mount with libfuse (lowlevel, multithreaded) and run until unmounted or signalled.
 * May call: everything below (store, ns, fuse adapter), libfuse. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "fuse/adapter.h"
#include "lm/log.h"
#include "lm/ns.h"
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
	int rc = 1, mounted = 0, sig = 0;

	lm_err_init(&err);
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
	if (o.debug)
		lm_log_set_level(LM_LOG_DEBUG);
	if (!realpath(o.mountpoint, mnt)) {
		fprintf(stderr, "lakemount: mountpoint %s: %s\n", o.mountpoint, strerror(errno));
		rc = 2;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	{
		struct lm_s3_config s3;
		bool is_s3 = !strncmp(o.source, "s3://", 5);

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
					  .uid = getuid(), .gid = getgid() };

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
	if (fuse_set_signal_handlers(se) != 0) {
		rc = 1;
		goto out;
	}
	if (fuse_session_mount(se, mnt) != 0) {
		fprintf(stderr, "lakemount: cannot mount on %s\n", mnt);
		rc = 1;
		goto out;
	}
	mounted = 1;
	lm_info("mounted %s on %s", o.source, mnt);
	if (!o.foreground)
		lm_log_use_syslog("lakemount");
	if (fuse_daemonize(o.foreground) != 0) {
		rc = 1;
		goto out;
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
	sig = fuse_session_exited(se);
	lm_info("unmounting %s%s", mnt, sig ? "" : "");
	rc = rc ? 1 : 0;
out:
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	lm_ns_free(ns);
	lm_store_free(store);
	free(fsname);
	lm_opts_free(&o);
	return rc;
}
