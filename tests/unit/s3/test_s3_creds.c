/* test_s3_creds.c — credential sources in AWS CLI order, profile files, region
 * resolution, IMDS JSON decoding; never contacts IMDS (AWS_EC2_METADATA_DISABLED).
 * Criterion runs each test in its own process, so environment changes stay local. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lm/s3.h"
#include "../../../src/store/s3/s3_int.h"

static char dir[] = "/tmp/lm-s3creds-XXXXXX";
static char cfile[256], kfile[256];

static void clean_env(void)
{
	static const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
				      "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
				      "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
				      "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(kfile, sizeof(kfile), "%s/credentials", dir);
	snprintf(cfile, sizeof(cfile), "%s/config", dir);
	clean_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", kfile, 1);
	setenv("AWS_CONFIG_FILE", cfile, 1);
	write_file(kfile, "# comment\n"
			  "[default]\n"
			  "aws_access_key_id = AKIDDEFAULT\n"
			  "aws_secret_access_key=secret/default+key\n"
			  "\n"
			  "[dev]\n"
			  "  aws_access_key_id   =   AKIDDEV  \n"
			  "aws_secret_access_key = devsecret\n"
			  "aws_session_token = devtoken\n"
			  "[onlyregion]\n");
	write_file(cfile, "[default]\n"
			  "region = eu-central-1\n"
			  "[profile dev]\n"
			  "region=ap-south-1\n"
			  "s3 =\n"
			  "  region = nested-ignored\n"
			  "[profile cfgkeys]\n"
			  "aws_access_key_id = AKIDCFG\n"
			  "aws_secret_access_key = cfgsecret\n"
			  "[profile role]\n"
			  "role_arn = arn:aws:iam::123:role/x\n"
			  "source_profile = default\n"
			  "[profile   spaced]\n"
			  "region = us-west-2\n");
}

static void teardown(void)
{
	unlink(kfile);
	unlink(cfile);
	rmdir(dir);
}

TestSuite(creds, .init = setup, .fini = teardown);

static int resolve(struct lm_s3_config *c, struct lm_s3_credsrc *cs, struct lm_s3_creds *out,
		   struct lm_err *err)
{
	int rc;

	lm_err_init(err);
	rc = lm_s3_creds_resolve(cs, c, err);
	if (rc == 0)
		rc = lm_s3_creds_get(cs, out, err);
	return rc;
}

Test(creds, env_first)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	lm_s3_config_init(&c);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	setenv("AWS_PROFILE", "dev", 1);   /* env keys still win over AWS_PROFILE */
	cr_assert_eq(resolve(&c, &cs, &cr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cr.akid, "AKIDENV");
	cr_assert_str_eq(cr.secret, "envsecret");
	cr_assert_str_eq(cr.token, "envtoken");
	cr_assert(strstr(cs.desc, "environment"));
	cr_assert_null(strstr(cs.desc, "envsecret"));
	lm_s3_creds_free(&cs);
}

Test(creds, explicit_profile_beats_env)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	lm_s3_config_init(&c);
	c.profile = "dev";
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	cr_assert_eq(resolve(&c, &cs, &cr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cr.akid, "AKIDDEV");
	cr_assert_str_eq(cr.secret, "devsecret");
	cr_assert_str_eq(cr.token, "devtoken");
	cr_assert(strstr(cs.desc, "profile 'dev'"), "%s", cs.desc);
	lm_s3_creds_free(&cs);
}

Test(creds, half_env_is_an_error)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	lm_s3_config_init(&c);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	cr_assert_eq(resolve(&c, &cs, &cr, &err), LM_ECONFIG);
	cr_assert(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"), "%s", err.msg);
	lm_s3_creds_free(&cs);
}

Test(creds, default_profile_and_aws_profile)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	lm_s3_config_init(&c);
	cr_assert_eq(resolve(&c, &cs, &cr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cr.akid, "AKIDDEFAULT");
	cr_assert_str_eq(cr.secret, "secret/default+key");
	cr_assert_str_eq(cr.token, "");
	lm_s3_creds_free(&cs);

	setenv("AWS_PROFILE", "cfgkeys", 1);   /* keys in the config file */
	cr_assert_eq(resolve(&c, &cs, &cr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cr.akid, "AKIDCFG");
	cr_assert(strstr(cs.desc, cfile), "%s", cs.desc);
	lm_s3_creds_free(&cs);
}

Test(creds, unknown_and_unsupported_profiles)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	lm_s3_config_init(&c);
	c.profile = "nosuch";
	cr_assert_eq(resolve(&c, &cs, &cr, &err), LM_ECONFIG);
	cr_assert(strstr(err.msg, "profile 'nosuch' not found"), "%s", err.msg);
	lm_s3_creds_free(&cs);

	c.profile = "role";
	cr_assert_eq(resolve(&c, &cs, &cr, &err), LM_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "role_arn"), "%s", err.msg);
	lm_s3_creds_free(&cs);

	/* A profile that exists but has no keys: falls through; IMDS disabled → none. */
	c.profile = "onlyregion";
	cr_assert_eq(resolve(&c, &cs, &cr, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "no AWS credentials found"), "%s", err.msg);
	cr_assert(strstr(err.msg, "no_sign_request"), "%s", err.msg);
	lm_s3_creds_free(&cs);
}

Test(creds, nothing_at_all)
{
	struct lm_s3_config c;
	struct lm_s3_credsrc cs;
	struct lm_s3_creds cr;
	struct lm_err err;

	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	lm_s3_config_init(&c);
	cr_assert_eq(resolve(&c, &cs, &cr, &err), LM_EAUTH);
	lm_s3_creds_free(&cs);
	c.no_sign_request = true;
	cr_assert_eq(resolve(&c, &cs, &cr, &err), 0);
	cr_assert_str_eq(cr.akid, "");
	cr_assert(strstr(cs.desc, "anonymous"));
	lm_s3_creds_free(&cs);
}

Test(creds, profile_region)
{
	struct lm_s3_config c;
	char r[64];

	lm_s3_config_init(&c);
	cr_assert_eq(lm_s3_profile_region(&c, r, sizeof(r)), 0);
	cr_assert_str_eq(r, "eu-central-1");
	c.profile = "dev";
	cr_assert_eq(lm_s3_profile_region(&c, r, sizeof(r)), 0);
	cr_assert_str_eq(r, "ap-south-1");   /* not the nested s3.region */
	c.profile = "spaced";
	cr_assert_eq(lm_s3_profile_region(&c, r, sizeof(r)), 0);
	cr_assert_str_eq(r, "us-west-2");
	c.profile = "onlyregion";
	cr_assert_eq(lm_s3_profile_region(&c, r, sizeof(r)), ENOENT);
}

Test(creds, region_order_in_open)
{
	struct lm_s3_config c;
	struct lm_store *s = NULL;
	struct lm_err err;

	/* The open itself does no I/O besides reading the profile files. */
	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.endpoint = "http://127.0.0.1:1";
	lm_err_init(&err);
	cr_assert_eq(lm_store_s3_open("s3://b/p", &c, &s, &err), 0, "%s", err.msg);
	lm_store_free(s);
	setenv("AWS_DEFAULT_REGION", "bad region!", 1);
	cr_assert_eq(lm_store_s3_open("s3://b/p", &c, &s, &err), LM_ECONFIG);
	cr_assert(strstr(err.msg, "AWS_DEFAULT_REGION"), "%s", err.msg);
	setenv("AWS_REGION", "eu-west-3", 1);
	cr_assert_eq(lm_store_s3_open("s3://b/p", &c, &s, &err), 0, "%s", err.msg);
	lm_store_free(s);
}

Test(creds, imds_json)
{
	struct lm_s3_creds cr;
	struct lm_err err;
	const char *ok = "{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-05T09:00:00Z\","
			 "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAEXAMPLE\","
			 "\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok==\","
			 "\"Expiration\":\"2026-01-05T15:00:00Z\"}";

	lm_err_init(&err);
	cr_assert_eq(lm_s3_imds_parse(ok, strlen(ok), &cr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cr.akid, "ASIAEXAMPLE");
	cr_assert_str_eq(cr.secret, "s3cr3t");
	cr_assert_str_eq(cr.token, "tok==");
	cr_assert_eq(cr.expire_ms, 1767625200000LL);
	cr_assert_eq(lm_s3_imds_parse("{\"Code\":\"Failed\"}", 17, &cr, &err), LM_EAUTH);
	cr_assert_eq(lm_s3_imds_parse("{\"AccessKeyId\":\"A\"}", 19, &cr, &err), LM_EFORMAT);
	cr_assert_eq(lm_s3_imds_parse("not json", 8, &cr, &err), LM_EFORMAT);
	cr_assert_null(strstr(err.msg, "s3cr3t"));
}

Test(creds, env_flag)
{
	setenv("X_LM_FLAG", "TRUE", 1);
	cr_assert(lm_s3_env_true("X_LM_FLAG"));
	setenv("X_LM_FLAG", "false", 1);
	cr_assert(!lm_s3_env_true("X_LM_FLAG"));
	unsetenv("X_LM_FLAG");
	cr_assert(!lm_s3_env_true("X_LM_FLAG"));
}
