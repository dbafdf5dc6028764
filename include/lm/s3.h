/* S3 backend configuration, start-up check, SigV4 signer and the small write helpers
 * used by tools/ and tests (the mount itself never writes).
 *
 * Option / environment mapping (the daemon maps `-o` options onto struct lm_s3_config;
 * NULL / 0 fields fall back to the environment, then to the defaults below):
 *   endpoint         -o endpoint=URL      AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
 *                                         default https://s3.REGION.amazonaws.com
 *   region           -o region=NAME       AWS_REGION, AWS_DEFAULT_REGION, profile's
 *                                         `region` in ~/.aws/config; default us-east-1
 *   profile          -o profile=NAME      AWS_PROFILE; default "default"
 *   path_style       -o path_style        automatic for IP-literal / localhost endpoints
 *   no_sign_request  -o no_sign_request   anonymous requests, no credentials looked up
 *   ca_file          -o ca_file=PATH      AWS_CA_BUNDLE; default the system store
 *   connect_timeout_ms  -o connect_timeout=MS
 *   stall_timeout_ms    -o timeout=MS     no byte received for this long → retry
 *   retry_max           -o retries=N      attempts per request (1 = no retry)
 *   retry_total_ms      -o retry_time=MS  bound on the time one call spends retrying
 *   pool_size           -o connections=N  idle keep-alive handles kept for reuse
 * Credentials (never options, never logged): AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN; the profile in AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 * AWS_CONFIG_FILE (~/.aws/config); EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true). */
#ifndef LM_S3_H
#define LM_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/buf.h"
#include "lm/err.h"
#include "lm/store.h"

struct lm_s3_config {
	const char *endpoint;          /* "http://127.0.0.1:7480", "https://host" */
	const char *region;
	const char *profile;
	const char *ca_file;
	bool path_style;
	bool no_sign_request;
	unsigned connect_timeout_ms;   /* default 5000 */
	unsigned stall_timeout_ms;     /* default 20000 */
	unsigned retry_max;            /* default 8 attempts */
	unsigned retry_total_ms;       /* default 60000 */
	unsigned retry_base_ms;        /* first backoff step, default 100 (doubles, capped) */
	unsigned pool_size;            /* default 32 */
	unsigned list_max_keys;        /* ListObjectsV2 max-keys; 0 = server default (1000) */
};

/* Defaults: all strings NULL, numbers 0 (meaning "the default"). Cannot fail. */
void lm_s3_config_init(struct lm_s3_config *c);

/* Start-up check: list the source prefix once. 0 when the bucket can be listed;
 * otherwise a one-line message that says what to fix (wrong secret, unknown access key,
 * no such bucket, unreachable endpoint, wrong region, untrusted certificate ...). */
int lm_store_s3_check(struct lm_store *s, struct lm_err *err);

/* Where the credentials came from, for messages ("environment", "profile 'x' in
 * /root/.aws/credentials", "EC2 instance role 'r'", "anonymous"). Never a secret. */
const char *lm_store_s3_cred_source(struct lm_store *s);

/* Re-read the credentials (SIGHUP): the same chain as at start-up, with cfg (the
 * profile / no_sign_request given at open). Requests already signed are not affected;
 * on failure the current credentials stay and err says why. 0 for a non-S3 store. */
int lm_store_s3_reload_credentials(struct lm_store *s, const struct lm_s3_config *cfg,
				   struct lm_err *err);

/* Upload one object (tools and tests only; the mount is read-only). key is relative to
 * the store's prefix. The payload SHA-256 is computed and signed. */
int lm_s3_put_mem(struct lm_store *s, const char *key, const void *data, size_t len,
		  struct lm_err *err);
/* Same, streaming size bytes from fd (read twice: once to hash, once to send). */
int lm_s3_put_fd(struct lm_store *s, const char *key, int fd, uint64_t size,
		 struct lm_err *err);
/* Delete one object (tools and tests). A missing object is not an error. */
int lm_s3_delete(struct lm_store *s, const char *key, struct lm_err *err);

/* ---- AWS Signature Version 4 (pure: no I/O, clock injected) ---- */

#define LM_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"
#define LM_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A query parameter or header, raw (not yet encoded). */
struct lm_s3_kv {
	const char *name;
	const char *value;
};

struct lm_sigv4_req {
	const char *method;        /* "GET" */
	const char *host;          /* Host header exactly as sent ("h:port" if non-default) */
	const char *path;          /* wire path, already encoded (lm_s3_uri_encode) */
	const struct lm_s3_kv *query;   /* raw; encoded and sorted by the signer */
	size_t nquery;
	const struct lm_s3_kv *headers; /* extra headers to sign (range, if-match ...) */
	size_t nheaders;
	const char *payload_hash;  /* hex SHA-256 of the body, or LM_SIGV4_UNSIGNED */
	bool sign_content_sha;     /* add and sign x-amz-content-sha256 (always for S3) */
	const char *region;
	const char *service;       /* "s3" */
	int64_t now_s;             /* request time, seconds since the epoch */
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL or "" when none; signed as x-amz-security-token */
};

struct lm_sigv4_out {
	char amz_date[17];         /* 20130524T000000Z */
	char signature[65];
	struct lm_buf canonical;   /* canonical request (no secrets; for tests / debug) */
	struct lm_buf string_to_sign;
	struct lm_buf signed_headers;
	struct lm_buf authorization; /* value of the Authorization header */
};

void lm_sigv4_out_init(struct lm_sigv4_out *o);
void lm_sigv4_out_free(struct lm_sigv4_out *o);
/* 0, ENOMEM, EINVAL (header name/value with CR/LF/NUL, missing field). */
int lm_sigv4_sign(const struct lm_sigv4_req *r, struct lm_sigv4_out *o);

/* Append s[0..n) URI-encoded the S3 way: unreserved A-Za-z0-9-._~ kept, everything else
 * %XX upper-case hex, '/' kept when keep_slash. */
int lm_s3_uri_encode(struct lm_buf *b, const char *s, size_t n, bool keep_slash);
/* Canonical (sorted, encoded) query string; also what goes on the wire. */
int lm_s3_query_string(struct lm_buf *b, const struct lm_s3_kv *q, size_t n);
/* Lower-case hex SHA-256 of p[0..n). */
void lm_sha256_hex(const void *p, size_t n, char out[65]);

#endif
