/* creds.c — AWS credentials for the S3 backend, in the AWS CLI's order: environment,
 * shared credentials/config profile, EC2 instance role through IMDSv2 (refreshed before
 * expiry), or anonymous. Owns struct lm_s3_credsrc and the profile-file reader.
 * Secrets are never logged, never put in a message, and wiped when dropped.
 * May call: libcurl (IMDS at 169.254.169.254 only), cJSON, libc, util, log, s3xml
 * (timestamp parsing). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "lm/buf.h"
#include "lm/log.h"
#include "lm/s3xml.h"
#include "lm/util.h"
#include "s3_int.h"

#define PROFILE_FILE_MAX ((size_t)1 << 20)
#define IMDS_BASE "http://169.254.169.254"
#define IMDS_BODY_MAX ((size_t)64 << 10)
#define REFRESH_MARGIN_MS (5 * 60 * 1000LL)

bool lm_s3_env_true(const char *name)
{
	const char *v = getenv(name);

	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *lm_s3_profile_name(const struct lm_s3_config *cfg)
{
	const char *p = cfg && cfg->profile && *cfg->profile ? cfg->profile : NULL;

	if (!p)
		p = env_nonempty("AWS_PROFILE");
	if (!p)
		p = env_nonempty("AWS_DEFAULT_PROFILE");
	return p ? p : "default";
}

/* Path of ~/.aws/NAME or the override in env; malloc'd, NULL when unknown. */
static char *aws_file(const char *env, const char *name)
{
	const char *home = env_nonempty("HOME");
	const char *o = env_nonempty(env);
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	size_t n;
	char *p;

	if (o)
		return strdup(o);
	if (!home && getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		home = res->pw_dir;
	if (!home)
		return NULL;
	n = strlen(home) + strlen(name) + 8;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.aws/%s", home, name);
	return p;
}

static int read_small_file(const char *path, struct lm_buf *out)
{
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno;
			break;
		}
		if (n == 0)
			break;
		rc = lm_buf_append(out, chunk, (size_t)n);
		if (rc)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return rc;
}

static void trim_span(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Does the header text [s,e) name `section`? Inner runs of blanks are one space. */
static bool section_is(const char *s, const char *e, const char *section)
{
	const char *q = section;

	trim_span(&s, &e);
	while (s < e) {
		if (isspace((unsigned char)*s)) {
			while (s < e && isspace((unsigned char)*s))
				s++;
			if (*q++ != ' ')
				return false;
			continue;
		}
		if (*q++ != *s++)
			return false;
	}
	return *q == '\0';
}

/* Find key in [section] of an INI text. 0 found, ENOENT not found, ERANGE too long.
 * *found_section tells whether the section exists at all. */
static int ini_find(const char *text, size_t len, const char *section, const char *key,
		    char *out, size_t outsz, bool *found_section)
{
	const char *p = text, *end = text + len;
	bool in = false, nested = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = p, *e = le;
		bool indented = s < e && (*s == ' ' || *s == '\t');

		p = nl ? nl + 1 : end;
		trim_span(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(e - s));

			in = close && section_is(s + 1, close, section);
			if (in && found_section)
				*found_section = true;
			nested = false;
			continue;
		}
		if (indented && nested)
			continue;   /* inside a nested block ("s3 =" then indented lines) */
		nested = false;
		if (!in)
			continue;
		{
			const char *eq = memchr(s, '=', (size_t)(e - s));
			const char *ks = s, *ke, *vs, *ve = e;
			size_t kl = strlen(key);

			if (!eq)
				continue;
			ke = eq;
			vs = eq + 1;
			trim_span(&ks, &ke);
			trim_span(&vs, &ve);
			if (vs == ve) {
				nested = true;   /* "key =" opens a nested block */
				continue;
			}
			if ((size_t)(ke - ks) != kl || strncmp(ks, key, kl) != 0)
				continue;
			if ((size_t)(ve - vs) >= outsz)
				return ERANGE;
			memcpy(out, vs, (size_t)(ve - vs));
			out[ve - vs] = '\0';
			return 0;
		}
	}
	return ENOENT;
}

int lm_s3_ini_get(const char *path, const char *section, const char *key, char *out,
		  size_t outsz)
{
	struct lm_buf b;
	int rc;

	lm_buf_init(&b, PROFILE_FILE_MAX);
	rc = read_small_file(path, &b);
	if (!rc)
		rc = ini_find(b.data ? b.data : "", b.len, section, key, out, outsz, NULL);
	if (b.data)
		explicit_bzero(b.data, b.cap);
	lm_buf_free(&b);
	return rc;
}

/* One loaded profile: which keys it has, from the credentials and config files. */
struct profile {
	bool found;                 /* the section exists in either file */
	bool has_keys;
	char akid[128], secret[128], token[4096], region[64];
	bool unsupported;           /* role_arn, credential_process, sso ... */
	char unsupported_key[40];
	char where[300];            /* file the keys came from */
};

static void load_from(const char *path, const char *section, struct profile *pr,
		      bool want_region)
{
	static const char *const unsup[] = { "role_arn", "credential_process",
					     "sso_start_url", "sso_session",
					     "web_identity_token_file" };
	struct lm_buf b;
	bool sec = false;
	char tmp[256];

	lm_buf_init(&b, PROFILE_FILE_MAX);
	if (!path || read_small_file(path, &b) != 0 || !b.data)
		goto out;
	if (!pr->has_keys &&
	    ini_find(b.data, b.len, section, "aws_access_key_id", pr->akid, sizeof(pr->akid),
		     &sec) == 0 &&
	    ini_find(b.data, b.len, section, "aws_secret_access_key", pr->secret,
		     sizeof(pr->secret), NULL) == 0) {
		pr->has_keys = true;
		if (ini_find(b.data, b.len, section, "aws_session_token", pr->token,
			     sizeof(pr->token), NULL) != 0)
			pr->token[0] = '\0';
		snprintf(pr->where, sizeof(pr->where), "%s", path);
	} else if (!pr->has_keys) {
		explicit_bzero(pr->akid, sizeof(pr->akid));
		explicit_bzero(pr->secret, sizeof(pr->secret));
	}
	if (want_region && !pr->region[0])
		if (ini_find(b.data, b.len, section, "region", pr->region, sizeof(pr->region),
			     &sec) != 0)
			pr->region[0] = '\0';
	for (size_t i = 0; i < sizeof(unsup) / sizeof(unsup[0]) && !pr->has_keys; i++) {
		if (ini_find(b.data, b.len, section, unsup[i], tmp, sizeof(tmp), &sec) == 0) {
			pr->unsupported = true;
			snprintf(pr->unsupported_key, sizeof(pr->unsupported_key), "%s", unsup[i]);
		}
	}
	if (!sec)   /* no key matched: does the section exist at all? ("\n" is no key) */
		ini_find(b.data, b.len, section, "\n", tmp, sizeof(tmp), &sec);
	pr->found = pr->found || sec;
out:
	if (b.data)
		explicit_bzero(b.data, b.cap);
	lm_buf_free(&b);
}

static void load_profile(const struct lm_s3_config *cfg, struct profile *pr, char **cpath,
			 char **fpath)
{
	const char *name = lm_s3_profile_name(cfg);
	char section[200];

	memset(pr, 0, sizeof(*pr));
	*cpath = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	*fpath = aws_file("AWS_CONFIG_FILE", "config");
	load_from(*cpath, name, pr, true);
	if (strcmp(name, "default") == 0) {
		load_from(*fpath, "default", pr, true);
		load_from(*fpath, "profile default", pr, true);
	} else {
		snprintf(section, sizeof(section), "profile %s", name);
		load_from(*fpath, section, pr, true);
	}
}

static void profile_wipe(struct profile *pr)
{
	explicit_bzero(pr, sizeof(*pr));
}

int lm_s3_profile_region(const struct lm_s3_config *cfg, char *out, size_t outsz)
{
	struct profile pr;
	char *cpath = NULL, *fpath = NULL;
	int rc = ENOENT;

	load_profile(cfg, &pr, &cpath, &fpath);
	if (pr.region[0] && strlen(pr.region) < outsz) {
		memcpy(out, pr.region, strlen(pr.region) + 1);
		rc = 0;
	}
	profile_wipe(&pr);
	free(cpath);
	free(fpath);
	return rc;
}

/* ---- IMDSv2 ---- */

static size_t imds_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct lm_buf *b = ud;

	return lm_buf_append(b, p, sz * nm) == 0 ? sz * nm : 0;
}

/* One IMDS request; body into out. 0, or an errno-ish code (never retried here). */
static int imds_call(CURL *h, const char *method, const char *path, const char *hdr,
		     struct lm_buf *out, long *status)
{
	struct curl_slist *hl = NULL;
	char url[512];
	CURLcode cc;
	int rc = 0;

	snprintf(url, sizeof(url), "%s%s", IMDS_BASE, path);
	curl_easy_reset(h);
	lm_buf_reset(out);
	if (hdr) {
		hl = curl_slist_append(hl, hdr);
		if (!hl)
			return ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, imds_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = cc == CURLE_WRITE_ERROR ? LM_ETOOBIG : EHOSTUNREACH;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(hl);
	return rc;
}

int lm_s3_imds_parse(const char *json, size_t n, struct lm_s3_creds *out,
		     struct lm_err *err)
{
	cJSON *root = cJSON_ParseWithLength(json, n);
	const cJSON *ak, *sk, *tk, *ex, *code;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!root)
		return lm_err_set(err, LM_EFORMAT, "instance role credentials: not JSON");
	code = cJSON_GetObjectItemCaseSensitive(root, "Code");
	if (cJSON_IsString(code) && strcmp(code->valuestring, "Success") != 0) {
		rc = lm_err_set(err, LM_EAUTH, "instance role credentials: IMDS says %.64s",
				code->valuestring);
		goto out;
	}
	ak = cJSON_GetObjectItemCaseSensitive(root, "AccessKeyId");
	sk = cJSON_GetObjectItemCaseSensitive(root, "SecretAccessKey");
	tk = cJSON_GetObjectItemCaseSensitive(root, "Token");
	ex = cJSON_GetObjectItemCaseSensitive(root, "Expiration");
	if (!cJSON_IsString(ak) || !cJSON_IsString(sk) || !*ak->valuestring ||
	    !*sk->valuestring) {
		rc = lm_err_set(err, LM_EFORMAT,
				"instance role credentials: AccessKeyId/SecretAccessKey missing");
		goto out;
	}
	if (strlen(ak->valuestring) >= sizeof(out->akid) ||
	    strlen(sk->valuestring) >= sizeof(out->secret) ||
	    (cJSON_IsString(tk) && strlen(tk->valuestring) >= sizeof(out->token))) {
		rc = lm_err_set(err, LM_ETOOBIG, "instance role credentials: field too long");
		goto out;
	}
	memcpy(out->akid, ak->valuestring, strlen(ak->valuestring) + 1);
	memcpy(out->secret, sk->valuestring, strlen(sk->valuestring) + 1);
	if (cJSON_IsString(tk))
		memcpy(out->token, tk->valuestring, strlen(tk->valuestring) + 1);
	if (cJSON_IsString(ex) &&
	    lm_s3xml_parse_time(ex->valuestring, strlen(ex->valuestring), &out->expire_ms)) {
		rc = lm_err_set(err, LM_EFORMAT, "instance role credentials: bad Expiration");
		goto out;
	}
out:
	if (rc)
		explicit_bzero(out, sizeof(*out));
	/* Wipe the secret strings inside the parsed tree before freeing it. */
	if (root) {
		const cJSON *it;

		cJSON_ArrayForEach(it, root)
			if (cJSON_IsString(it) && it->valuestring)
				explicit_bzero(it->valuestring, strlen(it->valuestring));
		cJSON_Delete(root);
	}
	return rc;
}

/* Fetch role credentials from IMDSv2 into cs->cur. Called with cs->mu held or before
 * the source is shared. */
static int imds_fetch(struct lm_s3_credsrc *cs, struct lm_err *err)
{
	CURL *h = curl_easy_init();
	struct lm_buf body;
	struct lm_s3_creds nc;
	char hdr[600], path[256];
	long status = 0;
	int64_t now = lm_now_ms();
	int rc = 0;

	lm_buf_init(&body, IMDS_BODY_MAX);
	if (!h)
		return ENOMEM;
	if (!cs->imds_token[0] || now + 60000 >= cs->imds_token_exp_ms) {
		rc = imds_call(h, "PUT", "/latest/api/token",
			       "X-aws-ec2-metadata-token-ttl-seconds: 21600", &body, &status);
		if (rc || status != 200 || body.len == 0 || body.len >= sizeof(cs->imds_token)) {
			rc = lm_err_set(err, LM_EAUTH,
					"EC2 instance metadata service not reachable (IMDSv2 token: %s)",
					rc ? "no answer" : "refused");
			goto out;
		}
		memcpy(cs->imds_token, body.data, body.len + 1);
		cs->imds_token_exp_ms = now + 21600 * 1000LL;
	}
	snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s", cs->imds_token);
	if (!cs->role[0]) {
		char *nl;

		rc = imds_call(h, "GET", "/latest/meta-data/iam/security-credentials/", hdr, &body,
			       &status);
		if (rc || status != 200 || body.len == 0) {
			rc = lm_err_set(err, LM_EAUTH,
					"EC2 instance metadata: no IAM role attached to this instance");
			goto out;
		}
		nl = strchr(body.data, '\n');
		if (nl)
			*nl = '\0';
		if (strlen(body.data) >= sizeof(cs->role) || strchr(body.data, '/')) {
			rc = lm_err_set(err, LM_EFORMAT, "EC2 instance metadata: bad role name");
			goto out;
		}
		memcpy(cs->role, body.data, strlen(body.data) + 1);
	}
	snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", cs->role);
	rc = imds_call(h, "GET", path, hdr, &body, &status);
	if (rc || status != 200) {
		rc = lm_err_set(err, LM_EAUTH,
				"EC2 instance metadata: credentials of role '%s' not available (HTTP %ld)",
				cs->role, status);
		goto out;
	}
	rc = lm_s3_imds_parse(body.data, body.len, &nc, err);
	if (rc)
		goto out;
	explicit_bzero(&cs->cur, sizeof(cs->cur));
	cs->cur = nc;
	explicit_bzero(&nc, sizeof(nc));
out:
	explicit_bzero(hdr, sizeof(hdr));
	if (body.data)
		explicit_bzero(body.data, body.cap);
	lm_buf_free(&body);
	curl_easy_cleanup(h);
	return rc;
}

int lm_s3_creds_resolve(struct lm_s3_credsrc *cs, const struct lm_s3_config *cfg,
			struct lm_err *err)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN");
	const char *pname = lm_s3_profile_name(cfg);
	bool explicit_profile = cfg && cfg->profile && *cfg->profile;
	bool named_profile = explicit_profile || env_nonempty("AWS_PROFILE") ||
			     env_nonempty("AWS_DEFAULT_PROFILE");
	struct profile pr;
	char *cpath = NULL, *fpath = NULL;
	int rc = 0;

	memset(&pr, 0, sizeof(pr));
	memset(cs, 0, sizeof(*cs));
	pthread_mutex_init(&cs->mu, NULL);
	if (cfg && cfg->no_sign_request) {
		cs->kind = LM_S3_CRED_ANON;
		snprintf(cs->desc, sizeof(cs->desc), "anonymous (no_sign_request)");
		return 0;
	}
	/* 1. Environment (unless a profile was asked for explicitly, as `--profile`). */
	if (!explicit_profile && ((ak && *ak) || (sk && *sk))) {
		if (!ak || !*ak || !sk || !*sk) {
			rc = lm_err_set(err, LM_ECONFIG, "%s is set but %s is not: set both or neither",
					ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
					ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			goto out;
		}
		if (strlen(ak) >= sizeof(cs->cur.akid) || strlen(sk) >= sizeof(cs->cur.secret) ||
		    (tk && strlen(tk) >= sizeof(cs->cur.token))) {
			rc = lm_err_set(err, LM_ECONFIG,
					"AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN too long");
			goto out;
		}
		memcpy(cs->cur.akid, ak, strlen(ak) + 1);
		memcpy(cs->cur.secret, sk, strlen(sk) + 1);
		if (tk)
			memcpy(cs->cur.token, tk, strlen(tk) + 1);
		cs->kind = LM_S3_CRED_STATIC;
		snprintf(cs->desc, sizeof(cs->desc), "environment (AWS_ACCESS_KEY_ID=%s)", ak);
		goto out;
	}
	/* 2. Shared credentials / config files. */
	load_profile(cfg, &pr, &cpath, &fpath);
	if (pr.has_keys) {
		memcpy(cs->cur.akid, pr.akid, sizeof(pr.akid));
		memcpy(cs->cur.secret, pr.secret, sizeof(pr.secret));
		memcpy(cs->cur.token, pr.token, sizeof(pr.token));
		cs->kind = LM_S3_CRED_STATIC;
		snprintf(cs->desc, sizeof(cs->desc), "profile '%s' in %s", pname, pr.where);
		goto out;
	}
	if (pr.unsupported) {
		rc = lm_err_set(err, LM_EUNSUPPORTED,
				"profile '%s' uses %s, which lakemount does not support: export "
				"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN instead",
				pname, pr.unsupported_key);
		goto out;
	}
	if (named_profile && !pr.found) {
		rc = lm_err_set(err, LM_ECONFIG, "profile '%s' not found in %s or %s", pname,
				cpath ? cpath : "~/.aws/credentials", fpath ? fpath : "~/.aws/config");
		goto out;
	}
	/* 3. EC2 instance role, only when nothing else gave credentials. */
	if (!lm_s3_env_true("AWS_EC2_METADATA_DISABLED")) {
		struct lm_err ierr;

		lm_err_init(&ierr);
		if (imds_fetch(cs, &ierr) == 0) {
			cs->kind = LM_S3_CRED_IMDS;
			snprintf(cs->desc, sizeof(cs->desc), "EC2 instance role '%s'", cs->role);
			goto out;
		}
		lm_debug("s3: no instance role credentials: %s", ierr.msg);
	}
	rc = lm_err_set(err, LM_EAUTH,
			"no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
			"add profile '%s' to %s, run on EC2 with an instance role, or use "
			"-o no_sign_request for a public bucket",
			pname, cpath ? cpath : "~/.aws/credentials");
out:
	profile_wipe(&pr);
	free(cpath);
	free(fpath);
	return rc;
}

int lm_s3_creds_get(struct lm_s3_credsrc *cs, struct lm_s3_creds *out, struct lm_err *err)
{
	int rc = 0;

	if (cs->kind == LM_S3_CRED_ANON) {
		memset(out->akid, 0, sizeof(out->akid));
		out->secret[0] = out->token[0] = '\0';
		out->expire_ms = 0;
		return 0;
	}
	pthread_mutex_lock(&cs->mu);
	if (cs->kind == LM_S3_CRED_IMDS && cs->cur.expire_ms &&
	    lm_now_ms() + REFRESH_MARGIN_MS >= cs->cur.expire_ms) {
		struct lm_err ierr;

		lm_err_init(&ierr);
		rc = imds_fetch(cs, &ierr);
		if (rc && lm_now_ms() < cs->cur.expire_ms) {
			if (!cs->warned)
				lm_warn("s3: refreshing instance role credentials failed (%s); using "
					"the current ones until they expire", ierr.msg);
			cs->warned = true;
			rc = 0;
		} else if (rc) {
			lm_err_set(err, LM_EAUTH, "instance role credentials expired: %s", ierr.msg);
			goto out;
		} else {
			cs->warned = false;
		}
	}
	*out = cs->cur;
out:
	pthread_mutex_unlock(&cs->mu);
	return rc ? LM_EAUTH : 0;
}

/* SIGHUP: resolve the chain again (files re-read, instance role re-fetched) into a fresh
 * source and swap it in under the mutex; requests in flight keep the copy they took.
 * On failure the current credentials stay. desc is read without the lock by messages,
 * so it is only written when it changes. */
int lm_s3_creds_reload(struct lm_s3_credsrc *cs, const struct lm_s3_config *cfg,
		       struct lm_err *err)
{
	struct lm_s3_credsrc fresh;
	int rc;

	rc = lm_s3_creds_resolve(&fresh, cfg, err);   /* initialises fresh even on failure */
	if (rc)
		goto out;
	pthread_mutex_lock(&cs->mu);
	explicit_bzero(&cs->cur, sizeof(cs->cur));
	cs->cur = fresh.cur;
	cs->kind = fresh.kind;
	if (strcmp(cs->desc, fresh.desc) != 0)
		memcpy(cs->desc, fresh.desc, sizeof(cs->desc));
	memcpy(cs->role, fresh.role, sizeof(cs->role));
	memcpy(cs->imds_token, fresh.imds_token, sizeof(cs->imds_token));
	cs->imds_token_exp_ms = fresh.imds_token_exp_ms;
	cs->warned = false;
	pthread_mutex_unlock(&cs->mu);
out:
	lm_s3_creds_free(&fresh);
	return rc;
}

void lm_s3_creds_free(struct lm_s3_credsrc *cs)
{
	explicit_bzero(&cs->cur, sizeof(cs->cur));
	explicit_bzero(cs->imds_token, sizeof(cs->imds_token));
	pthread_mutex_destroy(&cs->mu);
}
