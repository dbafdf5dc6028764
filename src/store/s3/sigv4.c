/* sigv4.c — AWS Signature Version 4 (header form) on OpenSSL: URI encoding, canonical
 * query, canonical headers, string to sign, signing key, signature. Pure: no I/O, the
 * clock is an argument. Secrets live only on the stack of lm_sigv4_sign and are wiped
 * before it returns. May call: OpenSSL (EVP, HMAC), libc, util.
 *
 * S3 rules: the canonical URI is the wire path, each segment encoded once ('/' kept,
 * no normalisation, no double encoding); query names and values are encoded with '/'
 * encoded too and sorted by name then value; header names lower-cased, values trimmed
 * with inner runs of spaces collapsed, duplicates joined with ','. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lm/s3.h"

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void lm_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

static void hmac(const void *key, size_t klen, const void *msg, size_t mlen,
		 unsigned char out[32])
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen);
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int lm_s3_uri_encode(struct lm_buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char up[] = "0123456789ABCDEF";
	int rc = lm_buf_reserve(b, n * 3);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = up[c >> 4];
			b->data[b->len++] = up[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}

struct enc_kv {
	char *name;
	char *value;
};

static int enc_kv_cmp(const void *a, const void *b)
{
	const struct enc_kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
	struct lm_buf b;

	lm_buf_init(&b, 0);
	if (lm_s3_uri_encode(&b, s, strlen(s), false)) {
		lm_buf_free(&b);
		return NULL;
	}
	return lm_buf_take(&b, NULL);
}

int lm_s3_query_string(struct lm_buf *b, const struct lm_s3_kv *q, size_t n)
{
	struct enc_kv *v = NULL;
	size_t done = 0;
	int rc = 0;

	if (n == 0)
		return lm_buf_append(b, "", 0);
	v = calloc(n, sizeof(*v));
	if (!v)
		return ENOMEM;
	for (; done < n; done++) {
		v[done].name = encode_dup(q[done].name);
		v[done].value = encode_dup(q[done].value ? q[done].value : "");
		if (!v[done].name || !v[done].value) {
			done++;
			rc = ENOMEM;
			goto out;
		}
	}
	qsort(v, n, sizeof(*v), enc_kv_cmp);
	for (size_t i = 0; i < n && !rc; i++)
		rc = lm_buf_printf(b, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
out:
	for (size_t i = 0; i < done; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	return rc;
}

/* A header as it enters the canonical form. */
struct canon_hdr {
	char *name;     /* lower-case */
	char *value;    /* trimmed, runs of spaces collapsed */
};

static int canon_hdr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct canon_hdr *)a)->name, ((const struct canon_hdr *)b)->name);
}

static bool bad_chars(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return true;
	return false;
}

static int canon_add(struct canon_hdr *v, size_t *n, const char *name, const char *value)
{
	size_t ln = strlen(name), lv = strlen(value), j = 0;
	char *nm, *val;
	bool space = false;

	if (!ln || bad_chars(name) || bad_chars(value))
		return EINVAL;
	nm = malloc(ln + 1);
	val = malloc(lv + 1);
	if (!nm || !val) {
		free(nm);
		free(val);
		return ENOMEM;
	}
	for (size_t i = 0; i <= ln; i++) {
		char c = name[i];

		nm[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		if (c == ':' || c == ' ') {
			free(nm);
			free(val);
			return EINVAL;
		}
	}
	for (size_t i = 0; i < lv; i++) {
		char c = value[i];

		if (c == ' ' || c == '\t') {
			space = j > 0;
			continue;
		}
		if (space)
			val[j++] = ' ';
		space = false;
		val[j++] = c;
	}
	val[j] = '\0';
	v[*n].name = nm;
	v[*n].value = val;
	(*n)++;
	return 0;
}

void lm_sigv4_out_init(struct lm_sigv4_out *o)
{
	memset(o->amz_date, 0, sizeof(o->amz_date));
	memset(o->signature, 0, sizeof(o->signature));
	lm_buf_init(&o->canonical, 1 << 20);
	lm_buf_init(&o->string_to_sign, 1 << 16);
	lm_buf_init(&o->signed_headers, 1 << 16);
	lm_buf_init(&o->authorization, 1 << 16);
}

void lm_sigv4_out_free(struct lm_sigv4_out *o)
{
	lm_buf_free(&o->canonical);
	lm_buf_free(&o->string_to_sign);
	lm_buf_free(&o->signed_headers);
	lm_buf_free(&o->authorization);
}

int lm_sigv4_sign(const struct lm_sigv4_req *r, struct lm_sigv4_out *o)
{
	struct canon_hdr *h = NULL;
	size_t nh = 0, w = 0;
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	char datestamp[9], creq_hash[65], scope[256];
	struct lm_buf secret;
	struct tm tm;
	time_t t = (time_t)r->now_s;
	bool token = r->session_token && *r->session_token;
	int rc = 0;

	lm_buf_init(&secret, 4096);
	if (!r->method || !r->host || !r->path || !r->payload_hash || !r->region ||
	    !r->service || !r->access_key || !r->secret_key || r->path[0] != '/')
		return EINVAL;
	lm_buf_reset(&o->canonical);
	lm_buf_reset(&o->string_to_sign);
	lm_buf_reset(&o->signed_headers);
	lm_buf_reset(&o->authorization);
	if (!gmtime_r(&t, &tm))
		return EINVAL;
	strftime(o->amz_date, sizeof(o->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(datestamp, o->amz_date, 8);
	datestamp[8] = '\0';

	/* Headers: host, x-amz-date, [x-amz-content-sha256], [x-amz-security-token], extra. */
	h = calloc(r->nheaders + 4, sizeof(*h));
	if (!h)
		return ENOMEM;
	rc = canon_add(h, &nh, "host", r->host);
	if (!rc)
		rc = canon_add(h, &nh, "x-amz-date", o->amz_date);
	if (!rc && r->sign_content_sha)
		rc = canon_add(h, &nh, "x-amz-content-sha256", r->payload_hash);
	if (!rc && token)
		rc = canon_add(h, &nh, "x-amz-security-token", r->session_token);
	for (size_t i = 0; i < r->nheaders && !rc; i++)
		rc = canon_add(h, &nh, r->headers[i].name, r->headers[i].value);
	if (rc)
		goto out;
	/* Sort by name (insertion order kept among equal names), then merge duplicates. */
	for (size_t i = 1; i < nh; i++) {
		struct canon_hdr x = h[i];
		size_t j = i;

		while (j > 0 && canon_hdr_cmp(&h[j - 1], &x) > 0) {
			h[j] = h[j - 1];
			j--;
		}
		h[j] = x;
	}
	for (size_t i = 0; i < nh; i++) {
		if (w > 0 && strcmp(h[w - 1].name, h[i].name) == 0) {
			struct lm_buf m;

			lm_buf_init(&m, 0);
			rc = lm_buf_printf(&m, "%s,%s", h[w - 1].value, h[i].value);
			if (rc) {
				lm_buf_free(&m);
				goto out;
			}
			free(h[w - 1].value);
			h[w - 1].value = lm_buf_take(&m, NULL);
			free(h[i].name);
			free(h[i].value);
			h[i].name = h[i].value = NULL;
			continue;
		}
		h[w++] = h[i];
		if (w - 1 != i)
			h[i].name = h[i].value = NULL;
	}
	nh = w;

	/* Canonical request. */
	rc = lm_buf_printf(&o->canonical, "%s\n%s\n", r->method, r->path);
	if (!rc)
		rc = lm_s3_query_string(&o->canonical, r->query, r->nquery);
	if (!rc)
		rc = lm_buf_append(&o->canonical, "\n", 1);
	for (size_t i = 0; i < nh && !rc; i++)
		rc = lm_buf_printf(&o->canonical, "%s:%s\n", h[i].name, h[i].value);
	for (size_t i = 0; i < nh && !rc; i++)
		rc = lm_buf_printf(&o->signed_headers, "%s%s", i ? ";" : "", h[i].name);
	if (!rc)
		rc = lm_buf_printf(&o->canonical, "\n%s\n%s", o->signed_headers.data,
				   r->payload_hash);
	if (rc)
		goto out;

	/* String to sign. */
	lm_sha256_hex(o->canonical.data, o->canonical.len, creq_hash);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", datestamp, r->region,
		 r->service);
	rc = lm_buf_printf(&o->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", o->amz_date,
			   scope, creq_hash);
	if (rc)
		goto out;

	/* Signing key and signature. */
	rc = lm_buf_printf(&secret, "AWS4%s", r->secret_key);
	if (rc)
		goto out;
	hmac(secret.data, secret.len, datestamp, 8, k1);
	hmac(k1, 32, r->region, strlen(r->region), k2);
	hmac(k2, 32, r->service, strlen(r->service), k3);
	hmac(k3, 32, "aws4_request", 12, k4);
	hmac(k4, 32, o->string_to_sign.data, o->string_to_sign.len, sig);
	to_hex(sig, 32, o->signature);
	rc = lm_buf_printf(&o->authorization,
			   "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			   r->access_key, scope, o->signed_headers.data, o->signature);
out:
	if (secret.data)
		explicit_bzero(secret.data, secret.cap);
	lm_buf_free(&secret);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(k3, sizeof(k3));
	explicit_bzero(k4, sizeof(k4));
	for (size_t i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	/* Entries past nh were either moved or freed (set to NULL) by the merge. */
	free(h);
	return rc;
}
