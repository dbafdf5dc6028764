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
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	/* fstab / mount(8) words with no meaning for a FUSE daemon */
	FUSE_OPT_KEY("_netdev", KEY_DROP),
	FUSE_OPT_KEY("auto", KEY_DROP),
	FUSE_OPT_KEY("noauto", KEY_DROP),
	FUSE_OPT_KEY("user", KEY_DROP),
	FUSE_OPT_KEY("nouser", KEY_DROP),
	FUSE_OPT_KEY("users", KEY_DROP),
	FUSE_OPT_KEY("defaults", KEY_DROP),
	FUSE_OPT_KEY("nofail", KEY_DROP),
	FUSE_OPT_KEY("ro", KEY_DROP),
	FUSE_OPT_KEY("rw", KEY_DROP),
	FUSE_OPT_KEY("exec", KEY_DROP),
	FUSE_OPT_KEY("noexec", KEY_DROP),
	FUSE_OPT_KEY("atime", KEY_DROP),
	FUSE_OPT_KEY("noatime", KEY_DROP),
	FUSE_OPT_KEY("relatime", KEY_DROP),
	FUSE_OPT_KEY("async", KEY_DROP),
	FUSE_OPT_KEY("dev", KEY_DROP),
	FUSE_OPT_KEY("nodev", KEY_DROP),
	FUSE_OPT_KEY("suid", KEY_DROP),
	FUSE_OPT_KEY("nosuid", KEY_DROP),
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
		if (!strncmp(arg, "x-systemd.", 10) || !strncmp(arg, "comment=", 8) ||
		    !strncmp(arg, "x-", 2))
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

int lm_opts_parse(int argc, char **argv, struct lm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->latest_ttl = 5;
	o->fuse_args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&o->fuse_args, o, lm_opt_spec, proc) == -1)
		return -1;
	return 0;
}

void lm_opts_free(struct lm_opts *o)
{
	free(o->source);
	free(o->mountpoint);
	free(o->log_level);
	free(o->endpoint);
	free(o->region);
	free(o->profile);
	free(o->ca_file);
	fuse_opt_free_args(&o->fuse_args);
}

void lm_opts_usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o opt[,opt...]] SOURCE MOUNTPOINT\n"
	       "\n"
	       "Mount Delta Lake tables read-only, one directory per version.\n"
	       "SOURCE is a local directory or s3://bucket[/prefix].\n"
	       "\n"
	       "general:\n"
	       "    -h, --help             this help\n"
	       "    -V, --version          print versions and exit\n"
	       "    -f                     stay in the foreground, log to stderr\n"
	       "    -d, -o debug           foreground with libfuse's request trace\n"
	       "    -s                     single-threaded\n"
	       "    -o log_level=LEVEL     error, warn, info (default) or debug\n"
	       "\n"
	       "time travel:\n"
	       "    -o latest_ttl=SECONDS  how long the list of versions and @latest are\n"
	       "                           trusted before the log is listed again (default 5)\n"
	       "\n"
	       "S3 source:\n"
	       "    -o endpoint=URL        S3 endpoint (default AWS; also AWS_ENDPOINT_URL)\n"
	       "    -o region=REGION       region (also AWS_REGION; default us-east-1)\n"
	       "    -o profile=NAME        profile in ~/.aws/credentials and ~/.aws/config\n"
	       "    -o path_style          path-style addressing (automatic for IP/localhost)\n"
	       "    -o no_sign_request     anonymous requests\n"
	       "    -o ca_file=FILE        CA bundle for https (also AWS_CA_BUNDLE)\n"
	       "    -o connect_timeout=MS  connection timeout (default 5000)\n"
	       "    -o timeout=MS          a request with no byte for this long is retried (20000)\n"
	       "    -o retries=N           attempts per request (default 8)\n"
	       "    -o retry_time=MS       give up on a request after this long (default 60000)\n"
	       "    -o connections=N       keep-alive connections kept open (default 32)\n"
	       "    credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,\n"
	       "    then the profile (AWS_PROFILE, ~/.aws/credentials, ~/.aws/config), then the\n"
	       "    EC2 instance role (IMDSv2); never on the command line\n"
	       "\n"
	       "FUSE (passed to libfuse): allow_other, allow_root, default_permissions,\n"
	       "    max_read=N, fsname=NAME, subtype=NAME, ...\n"
	       "fstab words accepted and ignored: _netdev, auto, noauto, user, users, nofail,\n"
	       "    defaults, ro, x-systemd.*, comment=...\n",
	       prog);
}
