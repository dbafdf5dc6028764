/* Internals of the S3 backend shared by its .c files and its unit tests (not part of
 * the core's public interface). */
#ifndef LM_S3_INT_H
#define LM_S3_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"
#include "lm/s3.h"

/* One set of credentials. Wiped with explicit_bzero when dropped. */
struct lm_s3_creds {
	char akid[128];
	char secret[128];
	char token[4096];
	int64_t expire_ms;   /* 0 = does not expire */
};

enum lm_s3_cred_kind { LM_S3_CRED_ANON = 0, LM_S3_CRED_STATIC, LM_S3_CRED_IMDS };

/* Where requests get their credentials from; thread-safe. */
struct lm_s3_credsrc {
	pthread_mutex_t mu;
	enum lm_s3_cred_kind kind;
	struct lm_s3_creds cur;
	char desc[320];          /* for messages; never a secret */
	char role[128];          /* IMDS role name */
	char imds_token[512];    /* IMDSv2 session token (not an AWS secret, still not logged) */
	int64_t imds_token_exp_ms;
	bool warned;
};

/* Pick the credentials in AWS CLI order (see include/lm/s3.h). May contact IMDS
 * (169.254.169.254 only) when nothing earlier gave credentials. */
int lm_s3_creds_resolve(struct lm_s3_credsrc *cs, const struct lm_s3_config *cfg,
			struct lm_err *err);
/* Copy the current credentials into out, refreshing instance-role credentials that
 * expire within 5 minutes. Anonymous: out->akid is "". */
int lm_s3_creds_get(struct lm_s3_credsrc *cs, struct lm_s3_creds *out, struct lm_err *err);
/* Resolve again and swap the result in (SIGHUP); the current credentials stay when the
 * new resolution fails. Thread-safe against lm_s3_creds_get. */
int lm_s3_creds_reload(struct lm_s3_credsrc *cs, const struct lm_s3_config *cfg,
		       struct lm_err *err);
void lm_s3_creds_free(struct lm_s3_credsrc *cs);

/* The profile name in force: cfg->profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default". */
const char *lm_s3_profile_name(const struct lm_s3_config *cfg);
/* `region` of the profile in the config file (and credentials file); 0 if found, else
 * ENOENT. */
int lm_s3_profile_region(const struct lm_s3_config *cfg, char *out, size_t outsz);

/* Decode IMDS role-credential JSON ({AccessKeyId, SecretAccessKey, Token, Expiration}). */
int lm_s3_imds_parse(const char *json, size_t n, struct lm_s3_creds *out,
		     struct lm_err *err);

/* Parse one INI section's key from a profile file; for tests. section is matched
 * exactly after trimming ("default", "profile x"). */
int lm_s3_ini_get(const char *path, const char *section, const char *key, char *out,
		  size_t outsz);

/* A true-ish environment flag ("true", "1", "yes", any case). */
bool lm_s3_env_true(const char *name);

#endif
