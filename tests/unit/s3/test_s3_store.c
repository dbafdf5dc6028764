/* test_s3_store.c — the S3 store through real libcurl against a misbehaving HTTP server
 * on 127.0.0.1 (fakes3.c): ranged reads and their exact checks, HEAD, error mapping,
 * retries (503, reset mid-body, truncated body, stall), paging, odd keys, addressing
 * styles, signing headers, start-up check messages, concurrency, and that secrets never
 * reach the log. The rule under test: right bytes or an error, never wrong bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakes3.h"
#include "lm/log.h"
#include "lm/s3.h"
#include "lm/store.h"
#include "lm/util.h"

#define OBJ_SIZE 100000
#define ODD_KEY "a=b/c+d/e f%g/\xc3\xbcn\xc3\xaft.txt"
#define ODD_PATH "/bkt/pre/a%3Db/c%2Bd/e%20f%25g/%C3%BCn%C3%AFt.txt"
#define ETAG "\"0123456789abcdef0123456789abcdef\""
#define LASTMOD "Mon, 05 Jan 2026 10:00:00 GMT"
#define LASTMOD_MS 1767607200000LL

/* What the fake server does; set by each test before it starts. */
static struct scen {
	int fail503;        /* first N object GETs: 503 SlowDown */
	int reset_n;        /* first N: half the body then RST */
	int trunc_n;        /* first N: half the body then FIN */
	int stall_n;        /* first N: some body, then silence for stall_ms */
	int stall_ms;
	bool always503, always_reset, always_trunc;
	bool ignore_range;  /* 200 with the whole object */
	bool bad_crange;    /* 206 with a Content-Range off by one */
	bool no_416_total;  /* 416 without Content-Range */
	int status;         /* fixed status for everything (403, 404, 400, 301) */
	const char *code;   /* S3 error code for `status` */
	const char *region; /* <Region> / x-amz-bucket-region */
	bool vhost;         /* expect virtual-hosted requests */
	bool expect_signed;
	atomic_int gets, heads, lists, puts;
	char last_authz[2048];
	char last_sha[128];
	char last_token[1024];
	char last_host[256];
	char last_query[8192];
	char put_body[4096];
	size_t put_len;
} sc;

static unsigned char obj_byte(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 8) * 7 + 1);
}

static void err_reply(int fd, int status, const char *code, const char *msg, bool *close_conn)
{
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
			 "<Message>%s</Message>%s%s%s<RequestId>x</RequestId></Error>",
			 code, msg, sc.region ? "<Region>" : "", sc.region ? sc.region : "",
			 sc.region ? "</Region>" : "");

	fakes3_printf(fd, "HTTP/1.1 %d Err\r\nContent-Type: application/xml\r\n"
			  "Content-Length: %d\r\n%s%s%s\r\n",
		      status, n, sc.region ? "x-amz-bucket-region: " : "",
		      sc.region ? sc.region : "", sc.region ? "\r\n" : "");
	fakes3_write(fd, body, (size_t)n);
	(void)close_conn;
}

/* ---- listing ---- */

static const char *const all_keys[] = {
	/* sorted in byte order, as S3 keeps them */
	"out/side",
	"pre/./dot",
	"pre/a.txt",
	"pre/b/",
	"pre/b/1",
	"pre/b/2",
	"pre/c d+e.txt",
	"pre/d/x/y",
	"pre/e//bad",
	"pre/k00", "pre/k01", "pre/k02", "pre/k03", "pre/k04", "pre/k05", "pre/k06",
	"pre/z=1/f%",
	"pre0/x",
};
#define NKEYS (sizeof(all_keys) / sizeof(all_keys[0]))

static void pct_decode(const char *s, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; s[i] && j + 1 < cap; i++) {
		if (s[i] == '%' && s[i + 1] && s[i + 2]) {
			char h[3] = { s[i + 1], s[i + 2], 0 };

			out[j++] = (char)strtol(h, NULL, 16);
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
}

/* Form-style encoding like AWS's encoding-type=url: space as '+'. */
static void form_encode(const char *s, char *out, size_t cap)
{
	size_t j = 0;

	for (; *s && j + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			out[j++] = (char)c;
		} else if (c == ' ') {
			out[j++] = '+';
		} else {
			j += (size_t)snprintf(out + j, cap - j, "%%%02X", c);
		}
	}
	out[j] = '\0';
}

static void list_reply(int fd, const struct fakes3_req *r)
{
	char prefix[1024] = "", delim[8] = "", tok[256] = "", sa[1024] = "", mk[16] = "";
	char raw[1024], enc[3072];
	struct lm_buf b;
	size_t start = 0, maxk = 1000, count = 0, i;
	char lastcp[1024] = "";
	bool trunc = false;

	if (!fakes3_query_get(r->query, "encoding-type", raw, sizeof(raw)) ||
	    strcmp(raw, "url") != 0 || !fakes3_query_get(r->query, "list-type", raw, sizeof(raw))) {
		bool c;

		err_reply(fd, 400, "InvalidArgument", "want list-type=2&encoding-type=url", &c);
		return;
	}
	if (fakes3_query_get(r->query, "prefix", raw, sizeof(raw)))
		pct_decode(raw, prefix, sizeof(prefix));
	if (fakes3_query_get(r->query, "delimiter", raw, sizeof(raw)))
		pct_decode(raw, delim, sizeof(delim));
	if (fakes3_query_get(r->query, "max-keys", mk, sizeof(mk)))
		maxk = (size_t)strtoul(mk, NULL, 10);
	if (fakes3_query_get(r->query, "continuation-token", raw, sizeof(raw))) {
		pct_decode(raw, tok, sizeof(tok));
		/* Tokens look like "t/=+N" to prove they are encoded and decoded exactly. */
		cr_assert(strncmp(tok, "t/=+", 4) == 0, "token '%s' (raw '%s')", tok, raw);
		start = (size_t)strtoul(tok + 4, NULL, 10);
	} else if (fakes3_query_get(r->query, "start-after", raw, sizeof(raw))) {
		pct_decode(raw, sa, sizeof(sa));
		while (start < NKEYS && strcmp(all_keys[start], sa) <= 0)
			start++;
	}
	lm_buf_init(&b, 0);
	lm_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
			  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name>"
			  "<EncodingType>url</EncodingType>");
	for (i = start; i < NKEYS; i++) {
		const char *k = all_keys[i];
		size_t pl = strlen(prefix);

		if (strncmp(k, prefix, pl) != 0)
			continue;
		if (count == maxk) {
			trunc = true;
			break;
		}
		if (delim[0] && strchr(k + pl, delim[0])) {
			size_t cl = (size_t)(strchr(k + pl, delim[0]) - k) + 1;
			char cp[1024];

			memcpy(cp, k, cl);
			cp[cl] = '\0';
			if (!strcmp(cp, lastcp))
				continue;
			snprintf(lastcp, sizeof(lastcp), "%s", cp);
			form_encode(cp, enc, sizeof(enc));
			lm_buf_printf(&b, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>", enc);
			/* Skip the rest of this prefix. */
			while (i + 1 < NKEYS && !strncmp(all_keys[i + 1], cp, cl))
				i++;
		} else {
			form_encode(k, enc, sizeof(enc));
			lm_buf_printf(&b, "<Contents><Key>%s</Key><LastModified>2026-01-05T10:00:00.%03zuZ"
					  "</LastModified><ETag>&quot;e%zu&quot;</ETag><Size>%zu</Size>"
					  "<StorageClass>STANDARD</StorageClass></Contents>",
				      enc, i, i, i * 10);
		}
		count++;
	}
	lm_buf_printf(&b, "<KeyCount>%zu</KeyCount><IsTruncated>%s</IsTruncated>", count,
		      trunc ? "true" : "false");
	if (trunc)
		lm_buf_printf(&b, "<NextContinuationToken>t/=+%zu</NextContinuationToken>", i);
	lm_buf_printf(&b, "</ListBucketResult>");
	fakes3_printf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
			  "Content-Length: %zu\r\n\r\n", b.len);
	fakes3_write(fd, b.data, b.len);
	lm_buf_free(&b);
}

/* ---- objects ---- */

static int take(int *n)
{
	int v;

	v = __atomic_load_n(n, __ATOMIC_SEQ_CST);
	while (v > 0 && !__atomic_compare_exchange_n(n, &v, v - 1, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
		;
	return v > 0;
}

static void object_reply(struct fakes3 *s, int fd, const struct fakes3_req *r, bool head,
			 bool *close_conn)
{
	unsigned long long a = 0, b = OBJ_SIZE - 1;
	unsigned char *body;
	size_t n;
	bool ranged = r->range[0] != '\0';

	(void)s;
	if (r->if_match[0] && strcmp(r->if_match, ETAG) != 0) {
		err_reply(fd, 412, "PreconditionFailed", "At least one of the preconditions failed",
			  close_conn);
		return;
	}
	if (head) {
		fakes3_printf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: %s\r\n"
				  "Last-Modified: %s\r\n\r\n", OBJ_SIZE, ETAG, LASTMOD);
		return;
	}
	if (sc.always503 || take(&sc.fail503)) {
		err_reply(fd, 503, "SlowDown", "Please reduce your request rate.", close_conn);
		return;
	}
	if (ranged && !sc.ignore_range) {
		if (sscanf(r->range, "bytes=%llu-%llu", &a, &b) != 2) {
			err_reply(fd, 400, "InvalidRange", "bad range", close_conn);
			return;
		}
		if (a >= OBJ_SIZE) {
			if (sc.no_416_total)
				fakes3_printf(fd, "HTTP/1.1 416 Range Not Satisfiable\r\n"
						  "Content-Length: 0\r\n\r\n");
			else
				fakes3_printf(fd, "HTTP/1.1 416 Range Not Satisfiable\r\n"
						  "Content-Range: bytes */%d\r\nContent-Length: 0\r\n\r\n",
					      OBJ_SIZE);
			return;
		}
		if (b >= OBJ_SIZE)
			b = OBJ_SIZE - 1;
	}
	n = (size_t)(b - a + 1);
	body = malloc(n);
	for (size_t i = 0; i < n; i++)
		body[i] = obj_byte(a + i);
	if (sc.bad_crange) {
		/* Claims one byte later than it sends: the client must not trust the bytes. */
		fakes3_printf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\n"
				  "Content-Range: bytes %llu-%llu/%d\r\nETag: %s\r\n\r\n",
			      n, a + 1, b + 1, OBJ_SIZE + 1, ETAG);
	} else if (ranged && !sc.ignore_range) {
		fakes3_printf(fd, "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\n"
				  "Content-Range: bytes %llu-%llu/%d\r\nETag: %s\r\n"
				  "Last-Modified: %s\r\n\r\n",
			      n, a, b, OBJ_SIZE, ETAG, LASTMOD);
	} else {
		fakes3_printf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: %s\r\n"
				  "Last-Modified: %s\r\n\r\n", n, ETAG, LASTMOD);
	}
	if (sc.always_reset || take(&sc.reset_n)) {
		fakes3_write(fd, body, n / 2);
		usleep(20000);
		fakes3_reset(fd);
		*close_conn = true;
	} else if (sc.always_trunc || take(&sc.trunc_n)) {
		fakes3_write(fd, body, n / 2);
		*close_conn = true;
	} else if (take(&sc.stall_n)) {
		fakes3_write(fd, body, n / 3);
		usleep((useconds_t)sc.stall_ms * 1000);
		*close_conn = true;
	} else {
		fakes3_write(fd, body, n);
	}
	free(body);
}

static void handler(struct fakes3 *s, int fd, const struct fakes3_req *r, bool *close_conn)
{
	const char *p = r->path;
	const char *bucket_path = sc.vhost ? "" : "/bkt";
	size_t bl = strlen(bucket_path);

	pthread_mutex_lock(&s->mu);
	snprintf(sc.last_authz, sizeof(sc.last_authz), "%s", r->authz);
	snprintf(sc.last_sha, sizeof(sc.last_sha), "%s", r->content_sha);
	snprintf(sc.last_token, sizeof(sc.last_token), "%s", r->token);
	snprintf(sc.last_host, sizeof(sc.last_host), "%s", r->host);
	snprintf(sc.last_query, sizeof(sc.last_query), "%s", r->query);
	pthread_mutex_unlock(&s->mu);
	if (sc.expect_signed && strncmp(r->authz, "AWS4-HMAC-SHA256 Credential=", 28) != 0) {
		err_reply(fd, 403, "AccessDenied", "anonymous", close_conn);
		return;
	}
	if (sc.status) {
		if (!strcmp(r->method, "HEAD"))
			fakes3_printf(fd, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", sc.status);
		else
			err_reply(fd, sc.status, sc.code ? sc.code : "Err", "scripted error", close_conn);
		return;
	}
	if (strncmp(p, bucket_path, bl) != 0) {
		err_reply(fd, 404, "NoSuchBucket", "no such bucket", close_conn);
		return;
	}
	p += bl;
	if ((*p == '\0' || !strcmp(p, "/")) && !strcmp(r->method, "GET")) {
		atomic_fetch_add(&sc.lists, 1);
		list_reply(fd, r);
		return;
	}
	if (!strcmp(r->method, "PUT")) {
		atomic_fetch_add(&sc.puts, 1);
		pthread_mutex_lock(&s->mu);
		sc.put_len = r->body_len < sizeof(sc.put_body) ? r->body_len : sizeof(sc.put_body);
		memcpy(sc.put_body, r->body, sc.put_len);
		pthread_mutex_unlock(&s->mu);
		fakes3_printf(fd, "HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (!strcmp(p, "/pre/obj") || (!sc.vhost && !strcmp(r->path, ODD_PATH))) {
		bool head = !strcmp(r->method, "HEAD");

		atomic_fetch_add(head ? &sc.heads : &sc.gets, 1);
		object_reply(s, fd, r, head, close_conn);
		return;
	}
	if (!strcmp(r->method, "HEAD")) {
		fakes3_printf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	atomic_fetch_add(&sc.gets, 1);
	err_reply(fd, 404, "NoSuchKey", "The specified key does not exist.", close_conn);
}

/* ---- fixture ---- */

static struct fakes3 srv;

static void setup(void)
{
	static const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
				      "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
				      "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
				      "AWS_CA_BUNDLE" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	memset(&sc, 0, sizeof(sc));
	cr_assert_eq(fakes3_start(&srv, handler, NULL), 0);
}

static void teardown(void)
{
	fakes3_stop(&srv);
}

TestSuite(s3, .init = setup, .fini = teardown, .timeout = 120);

static struct lm_store *open_store(const char *source, struct lm_s3_config *c)
{
	struct lm_s3_config def;
	struct lm_store *s = NULL;
	struct lm_err err;

	if (!c) {
		lm_s3_config_init(&def);
		c = &def;
		c->no_sign_request = true;
	}
	if (!c->endpoint)
		c->endpoint = srv.url;
	if (!c->retry_base_ms)
		c->retry_base_ms = 5;
	lm_err_init(&err);
	cr_assert_eq(lm_store_s3_open(source, c, &s, &err), 0, "%s", err.msg);
	return s;
}

static void check_bytes(const unsigned char *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != obj_byte(off + i))
			cr_assert_fail("wrong byte at %llu", (unsigned long long)(off + i));
}

static int read_at(struct lm_store *s, const char *key, uint64_t off, size_t len,
		   unsigned char *dst, size_t *got, struct lm_obj_info *info, struct lm_err *err)
{
	struct lm_get_req req = { .key = key, .off = off, .len = len };

	lm_err_init(err);
	return lm_store_get_range(s, &req, dst, got, info, err);
}

/* ---- tests ---- */

Test(s3, ranged_reads_exact)
{
	struct lm_store *s = open_store("s3://bkt/pre/", NULL);
	static unsigned char buf[OBJ_SIZE + 100];
	struct lm_obj_info info;
	struct lm_err err;
	size_t got;
	const struct { uint64_t off; size_t len, want; } cases[] = {
		{ 0, 10, 10 }, { 5, 1, 1 }, { 99990, 10, 10 }, { 99990, 100, 10 },
		{ 0, OBJ_SIZE, OBJ_SIZE }, { 0, OBJ_SIZE + 100, OBJ_SIZE }, { 12345, 54321, 54321 },
		{ OBJ_SIZE - 1, 1, 1 }, { OBJ_SIZE, 10, 0 }, { OBJ_SIZE + 5000, 10, 0 },
	};

	cr_assert_str_eq(s->uri, "s3://bkt/pre");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&info, 0, sizeof(info));
		cr_assert_eq(read_at(s, "obj", cases[i].off, cases[i].len, buf, &got, &info, &err), 0,
			     "case %zu: %s", i, err.msg);
		cr_assert_eq(got, cases[i].want, "case %zu: got %zu", i, got);
		check_bytes(buf, cases[i].off, got);
		cr_assert_eq(info.size, OBJ_SIZE);
		cr_assert_str_eq(info.etag, ETAG);
		cr_assert_eq(info.mtime_ms, LASTMOD_MS, "case %zu", i);
	}
	/* len 0: metadata only. */
	cr_assert_eq(read_at(s, "obj", 7, 0, buf, &got, &info, &err), 0);
	cr_assert_eq(got, 0);
	cr_assert_eq(info.size, OBJ_SIZE);
	/* Whole object through the generic helper. */
	{
		struct lm_buf b;

		lm_buf_init(&b, 0);
		cr_assert_eq(lm_store_get_all(s, "obj", OBJ_SIZE, &b, &info, &err), 0, "%s", err.msg);
		cr_assert_eq(b.len, OBJ_SIZE);
		check_bytes((unsigned char *)b.data, 0, b.len);
		lm_buf_free(&b);
		cr_assert_eq(lm_store_get_all(s, "obj", OBJ_SIZE - 1, &b, &info, &err), LM_ETOOBIG);
		lm_buf_free(&b);
	}
	lm_store_free(s);
}

Test(s3, eof_416_without_total_uses_head)
{
	struct lm_store *s;
	unsigned char buf[16];
	struct lm_obj_info info;
	struct lm_err err;
	size_t got = 99;

	sc.no_416_total = true;
	s = open_store("s3://bkt/pre", NULL);
	cr_assert_eq(read_at(s, "obj", OBJ_SIZE, 16, buf, &got, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(got, 0);
	cr_assert_eq(info.size, OBJ_SIZE);
	cr_assert_eq(atomic_load(&sc.heads), 1);
	lm_store_free(s);
}

Test(s3, head_and_missing)
{
	struct lm_store *s = open_store("s3://bkt/pre", NULL);
	struct lm_obj_info info;
	struct lm_err err;
	unsigned char buf[8];
	size_t got;

	lm_err_init(&err);
	cr_assert_eq(lm_store_head(s, "obj", &info, &err), 0, "%s", err.msg);
	cr_assert_eq(info.size, OBJ_SIZE);
	cr_assert_str_eq(info.etag, ETAG);
	cr_assert_eq(info.mtime_ms, LASTMOD_MS);
	cr_assert_eq(lm_store_head(s, "nope/x", &info, &err), ENOENT);
	cr_assert(strstr(err.msg, "s3://bkt/pre/nope/x"), "%s", err.msg);
	cr_assert_eq(read_at(s, "nope", 0, 8, buf, &got, NULL, &err), ENOENT);
	cr_assert(strstr(err.msg, "s3://bkt/pre/nope: no such object"), "%s", err.msg);
	cr_assert_eq(atomic_load(&sc.gets), 1, "404 is not retried");
	/* Keys that are not plain relative paths never reach the network. */
	cr_assert_eq(read_at(s, "../x", 0, 8, buf, &got, NULL, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_head(s, "a//b", &info, &err), LM_EESCAPE);
	lm_store_free(s);
}

Test(s3, forbidden_not_retried)
{
	struct lm_store *s;
	struct lm_err err;
	unsigned char buf[8];
	size_t got;

	sc.status = 403;
	sc.code = "AccessDenied";
	s = open_store("s3://bkt/pre", NULL);
	cr_assert_eq(read_at(s, "obj", 0, 8, buf, &got, NULL, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "s3://bkt/pre/obj"), "%s", err.msg);
	cr_assert(strstr(err.msg, "403 AccessDenied"), "%s", err.msg);
	cr_assert_eq(atomic_load(&srv.nreq), 1);
	lm_store_free(s);
}

Test(s3, if_match)
{
	struct lm_store *s = open_store("s3://bkt/pre", NULL);
	unsigned char buf[64];
	struct lm_get_req req = { .key = "obj", .off = 10, .len = 64, .if_match = ETAG };
	struct lm_err err;
	size_t got;

	lm_err_init(&err);
	cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), 0, "%s", err.msg);
	check_bytes(buf, 10, got);
	req.if_match = "\"other\"";
	cr_assert_eq(lm_store_get_range(s, &req, buf, &got, NULL, &err), LM_EMISMATCH);
	cr_assert(strstr(err.msg, "changed"), "%s", err.msg);
	lm_store_free(s);
}

Test(s3, retries_503_then_success)
{
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_err err;
	size_t got;

	struct lm_store_stats a, b;

	sc.fail503 = 2;
	s = open_store("s3://bkt/pre", NULL);
	lm_store_stats(s, &a);
	cr_assert_eq(read_at(s, "obj", 1000, 5000, buf, &got, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(got, 5000);
	check_bytes(buf, 1000, got);
	cr_assert_eq(atomic_load(&sc.gets), 3);
	/* the stats file's counters: one get, three HTTP requests, two of them retries of
	 * answers asking to slow down */
	lm_store_stats(s, &b);
	cr_assert_eq(b.gets - a.gets, 1);
	cr_assert_eq(b.bytes - a.bytes, 5000);
	cr_assert_eq(b.requests - a.requests, 3);
	cr_assert_eq(b.retries - a.retries, 2);
	cr_assert_eq(b.throttled - a.throttled, 2);
	cr_assert_eq(b.errors - a.errors, 0);
	cr_assert_eq(read_at(s, "no-such-object", 0, 10, buf, &got, NULL, &err), ENOENT);
	lm_store_stats(s, &a);
	cr_assert_eq(a.missing - b.missing, 1, "a missing object is counted as missing");
	cr_assert_eq(a.errors - b.errors, 0);
	lm_store_free(s);
}

Test(s3, reset_mid_body_then_success)
{
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_err err;
	size_t got;

	sc.reset_n = 1;
	s = open_store("s3://bkt/pre", NULL);
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(read_at(s, "obj", 0, OBJ_SIZE, buf, &got, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(got, OBJ_SIZE);
	check_bytes(buf, 0, got);
	cr_assert_eq(atomic_load(&sc.gets), 2);
	lm_store_free(s);
}

Test(s3, truncated_body_then_success)
{
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_err err;
	size_t got;

	sc.trunc_n = 2;
	s = open_store("s3://bkt/pre", NULL);
	cr_assert_eq(read_at(s, "obj", 333, 66666, buf, &got, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(got, 66666);
	check_bytes(buf, 333, got);
	cr_assert_eq(atomic_load(&sc.gets), 3);
	lm_store_free(s);
}

Test(s3, stall_past_timeout_then_success)
{
	struct lm_s3_config c;
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_err err;
	size_t got;
	int64_t t0;

	sc.stall_n = 1;
	sc.stall_ms = 4000;
	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.stall_timeout_ms = 300;
	s = open_store("s3://bkt/pre", &c);
	t0 = lm_mono_ns();
	cr_assert_eq(read_at(s, "obj", 0, 30000, buf, &got, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(got, 30000);
	check_bytes(buf, 0, got);
	cr_assert_eq(atomic_load(&sc.gets), 2);
	cr_assert_lt(lm_mono_ns() - t0, 3000000000LL, "stall not cut short");
	lm_store_free(s);
}

Test(s3, persistent_faults_give_eio_never_bytes)
{
	struct lm_s3_config c;
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_err err;
	size_t got = 12345;

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.retry_max = 4;
	s = open_store("s3://bkt/pre", &c);

	sc.always503 = true;
	cr_assert_eq(read_at(s, "obj", 0, 100, buf, &got, NULL, &err), EIO);
	cr_assert_eq(got, 0);
	cr_assert(strstr(err.msg, "s3://bkt/pre/obj"), "%s", err.msg);
	cr_assert(strstr(err.msg, "4 attempts"), "%s", err.msg);
	cr_assert(strstr(err.msg, "503 SlowDown"), "%s", err.msg);
	cr_assert_eq(atomic_load(&sc.gets), 4);
	sc.always503 = false;

	sc.always_reset = true;
	cr_assert_eq(read_at(s, "obj", 0, 50000, buf, &got, NULL, &err), EIO);
	cr_assert_eq(got, 0);
	sc.always_reset = false;

	sc.always_trunc = true;
	cr_assert_eq(read_at(s, "obj", 0, 50000, buf, &got, NULL, &err), EIO);
	cr_assert_eq(got, 0);
	cr_assert(strstr(err.msg, "last error"), "%s", err.msg);
	sc.always_trunc = false;

	sc.bad_crange = true;
	cr_assert_eq(read_at(s, "obj", 10, 100, buf, &got, NULL, &err), EIO);
	cr_assert_eq(got, 0);
	cr_assert(strstr(err.msg, "Content-Range"), "%s", err.msg);
	sc.bad_crange = false;

	/* And healthy again. */
	cr_assert_eq(read_at(s, "obj", 10, 100, buf, &got, NULL, &err), 0, "%s", err.msg);
	check_bytes(buf, 10, got);
	lm_store_free(s);
}

Test(s3, retry_time_is_bounded)
{
	struct lm_s3_config c;
	struct lm_store *s;
	unsigned char buf[16];
	struct lm_err err;
	size_t got;
	int64_t t0;

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.retry_max = 1000;
	c.retry_total_ms = 600;
	c.retry_base_ms = 100;
	sc.always503 = true;
	s = open_store("s3://bkt/pre", &c);
	t0 = lm_mono_ns();
	cr_assert_eq(read_at(s, "obj", 0, 16, buf, &got, NULL, &err), EIO);
	cr_assert_lt(lm_mono_ns() - t0, 1500000000LL);
	cr_assert_lt(atomic_load(&sc.gets), 12);
	lm_store_free(s);
}

Test(s3, server_ignoring_range)
{
	struct lm_store *s;
	static unsigned char buf[OBJ_SIZE];
	struct lm_obj_info info;
	struct lm_err err;
	size_t got;

	sc.ignore_range = true;
	s = open_store("s3://bkt/pre", NULL);
	cr_assert_eq(read_at(s, "obj", 4321, 1000, buf, &got, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(got, 1000);
	check_bytes(buf, 4321, got);
	cr_assert_eq(info.size, OBJ_SIZE);
	cr_assert_eq(read_at(s, "obj", OBJ_SIZE - 10, 1000, buf, &got, &info, &err), 0);
	cr_assert_eq(got, 10);
	check_bytes(buf, OBJ_SIZE - 10, got);
	lm_store_free(s);
}

Test(s3, odd_key_is_encoded_once)
{
	struct lm_store *s = open_store("s3://bkt/pre", NULL);
	unsigned char buf[64];
	struct lm_err err;
	size_t got;

	cr_assert_eq(read_at(s, ODD_KEY, 0, 64, buf, &got, NULL, &err), 0, "%s", err.msg);
	check_bytes(buf, 0, got);
	lm_store_free(s);
}

struct collect {
	char keys[64][256];
	bool pfx[64];
	uint64_t size[64];
	int64_t mtime[64];
	char etag[64][128];
	int n;
	int stop_at;
};

static int collect_cb(void *ud, const struct lm_list_entry *e)
{
	struct collect *c = ud;

	cr_assert_lt(c->n, 64);
	snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", e->key);
	c->pfx[c->n] = e->is_prefix;
	c->size[c->n] = e->info.size;
	c->mtime[c->n] = e->info.mtime_ms;
	snprintf(c->etag[c->n], sizeof(c->etag[0]), "%s", e->info.etag);
	c->n++;
	return c->stop_at && c->n == c->stop_at ? 77 : 0;
}

static void expect_keys(struct collect *c, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n && i < (size_t)c->n; i++)
		cr_assert_str_eq(c->keys[i], want[i], "entry %zu", i);
	cr_assert_eq((size_t)c->n, n, "got %d entries", c->n);
}

Test(s3, list_pages_flat_and_delimited)
{
	struct lm_s3_config c;
	struct lm_store *s;
	struct collect col;
	struct lm_err err;
	static const char *const flat[] = { "a.txt", "b/1", "b/2", "c d+e.txt", "d/x/y",
					    "k00", "k01", "k02", "k03", "k04", "k05", "k06",
					    "z=1/f%" };
	static const char *const delim[] = { "a.txt", "b/", "c d+e.txt", "d/", "e/", "k00",
					     "k01", "k02", "k03", "k04", "k05", "k06", "z=1/" };
	static const char *const after[] = { "k03", "k04", "k05", "k06", "z=1/f%" };

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.list_max_keys = 5;
	s = open_store("s3://bkt/pre", &c);
	lm_err_init(&err);

	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "", NULL, 0, collect_cb, &col, &err), 0, "%s", err.msg);
	expect_keys(&col, flat, sizeof(flat) / sizeof(flat[0]));
	cr_assert_geq(atomic_load(&sc.lists), 3, "paged");
	cr_assert(strstr(sc.last_query, "prefix=pre%2F"), "%s", sc.last_query);
	cr_assert_eq(col.size[0], 20);
	cr_assert_eq(col.mtime[0], LASTMOD_MS + 2);
	cr_assert_str_eq(col.etag[0], "\"e2\"");

	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "", NULL, LM_LIST_DELIM, collect_cb, &col, &err), 0, "%s",
		     err.msg);
	expect_keys(&col, delim, sizeof(delim) / sizeof(delim[0]));
	cr_assert(col.pfx[1] && !col.pfx[0]);
	cr_assert(strstr(sc.last_query, "delimiter=%2F"), "%s", sc.last_query);

	memset(&col, 0, sizeof(col));
	atomic_store(&sc.lists, 0);
	cr_assert_eq(lm_store_list(s, "k", "k02", 0, collect_cb, &col, &err), 0, "%s", err.msg);
	expect_keys(&col, after, sizeof(after) / sizeof(after[0]) - 1);
	cr_assert_eq(atomic_load(&sc.lists), 1);

	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "", "k02", 0, collect_cb, &col, &err), 0, "%s", err.msg);
	expect_keys(&col, after, sizeof(after) / sizeof(after[0]));

	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "b/", NULL, LM_LIST_DELIM, collect_cb, &col, &err), 0);
	cr_assert_eq(col.n, 2);
	cr_assert_str_eq(col.keys[0], "b/1");   /* the "b/" marker object is not listed */

	/* The callback's non-zero result stops the listing and is returned. */
	memset(&col, 0, sizeof(col));
	col.stop_at = 7;
	cr_assert_eq(lm_store_list(s, "", NULL, 0, collect_cb, &col, &err), 77);
	cr_assert_eq(col.n, 7);

	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "nothing/", NULL, 0, collect_cb, &col, &err), 0);
	cr_assert_eq(col.n, 0);
	lm_store_free(s);

	/* A store at the bucket root sees everything, including out/ and pre0/. */
	s = open_store("s3://bkt", &c);
	memset(&col, 0, sizeof(col));
	cr_assert_eq(lm_store_list(s, "", NULL, LM_LIST_DELIM, collect_cb, &col, &err), 0);
	cr_assert_eq(col.n, 3);
	cr_assert_str_eq(col.keys[0], "out/");
	cr_assert_str_eq(col.keys[1], "pre/");
	cr_assert_str_eq(col.keys[2], "pre0/");
	lm_store_free(s);
}

Test(s3, uri_to_key)
{
	struct lm_store *s = open_store("s3://bkt/pre", NULL);
	struct lm_err err;
	char *k = NULL;

	lm_err_init(&err);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre/t/part-0.parquet", &k, &err), 0);
	cr_assert_str_eq(k, "t/part-0.parquet");
	free(k);
	cr_assert_eq(lm_store_uri_to_key(s, "s3a://bkt/pre/a=1/x y.parquet", &k, &err), 0);
	cr_assert_str_eq(k, "a=1/x y.parquet");
	free(k);
	cr_assert_eq(lm_store_uri_to_key(s, "S3N://bkt/pre/x", &k, &err), 0);
	cr_assert_str_eq(k, "x");
	free(k);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://other/pre/x", &k, &err), LM_EESCAPE);
	cr_assert(strstr(err.msg, "outside"), "%s", err.msg);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre0/x", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/prex", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre/../etc/x", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre/a/./b", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre/", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre//x", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "file:///pre/x", &k, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(s, "https://bkt/pre/x", &k, &err), LM_EESCAPE);
	lm_store_free(s);
	s = open_store("s3://bkt", NULL);
	cr_assert_eq(lm_store_uri_to_key(s, "s3://bkt/pre/x", &k, &err), 0);
	cr_assert_str_eq(k, "pre/x");
	free(k);
	lm_store_free(s);
}

Test(s3, bad_sources)
{
	struct lm_s3_config c;
	struct lm_store *s = NULL;
	struct lm_err err;

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.endpoint = srv.url;
	lm_err_init(&err);
	cr_assert_eq(lm_store_s3_open("s3://", &c, &s, &err), LM_ECONFIG);
	cr_assert_eq(lm_store_s3_open("s3:///x", &c, &s, &err), LM_ECONFIG);
	cr_assert_eq(lm_store_s3_open("s3://b a/x", &c, &s, &err), LM_ECONFIG);
	cr_assert_eq(lm_store_s3_open("s3://b/../x", &c, &s, &err), LM_ECONFIG);
	cr_assert_eq(lm_store_s3_open("s3://b/x//y", &c, &s, &err), LM_ECONFIG);
	c.endpoint = "ftp://x";
	cr_assert_eq(lm_store_s3_open("s3://b/x", &c, &s, &err), LM_ECONFIG);
	c.endpoint = "http://user@host";
	cr_assert_eq(lm_store_s3_open("s3://b/x", &c, &s, &err), LM_ECONFIG);
	c.endpoint = srv.url;
	c.ca_file = "/nonexistent/ca.pem";
	cr_assert_eq(lm_store_s3_open("s3://b/x", &c, &s, &err), LM_ECONFIG);
	cr_assert(strstr(err.msg, "/nonexistent/ca.pem"), "%s", err.msg);
	/* lm_store_open dispatches s3:// here. */
	c.ca_file = NULL;
	cr_assert_eq(lm_store_open("s3://b/x", &c, &s, &err), 0, "%s", err.msg);
	cr_assert_str_eq(s->ops->name, "s3");
	lm_store_free(s);
}

Test(s3, virtual_hosted_style)
{
	struct lm_s3_config c;
	struct lm_store *s;
	char ep[96];
	unsigned char buf[32];
	struct lm_err err;
	size_t got;

	snprintf(ep, sizeof(ep), "http://s3.localhost:%d", srv.port);
	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.endpoint = ep;
	sc.vhost = true;
	s = open_store("s3://bkt/pre", &c);
	cr_assert_eq(read_at(s, "obj", 3, 32, buf, &got, NULL, &err), 0, "%s", err.msg);
	check_bytes(buf, 3, got);
	{
		char want[128];

		snprintf(want, sizeof(want), "bkt.s3.localhost:%d", srv.port);
		cr_assert_str_eq(sc.last_host, want);
	}
	lm_store_free(s);
	/* The same endpoint with path_style forced. */
	sc.vhost = false;
	c.path_style = true;
	s = open_store("s3://bkt/pre", &c);
	cr_assert_eq(read_at(s, "obj", 3, 32, buf, &got, NULL, &err), 0, "%s", err.msg);
	lm_store_free(s);
}

Test(s3, signed_requests_carry_sigv4_headers)
{
	struct lm_store *s;
	unsigned char buf[32];
	struct lm_err err;
	size_t got;

	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "very/secret+key", 1);
	setenv("AWS_SESSION_TOKEN", "sessiontoken==", 1);
	setenv("AWS_REGION", "eu-north-1", 1);
	sc.expect_signed = true;
	{
		struct lm_s3_config c;

		lm_s3_config_init(&c);
		s = open_store("s3://bkt/pre", &c);
	}
	cr_assert_str_eq(lm_store_s3_cred_source(s), "environment (AWS_ACCESS_KEY_ID=AKIDTEST)");
	cr_assert_eq(read_at(s, "obj", 0, 32, buf, &got, NULL, &err), 0, "%s", err.msg);
	cr_assert(strstr(sc.last_authz, "Credential=AKIDTEST/"), "%s", sc.last_authz);
	cr_assert(strstr(sc.last_authz, "/eu-north-1/s3/aws4_request"), "%s", sc.last_authz);
	cr_assert(strstr(sc.last_authz, "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;"
					"x-amz-security-token"), "%s", sc.last_authz);
	cr_assert_str_eq(sc.last_sha, "UNSIGNED-PAYLOAD");
	cr_assert_str_eq(sc.last_token, "sessiontoken==");
	cr_assert_null(strstr(sc.last_authz, "very/secret"));
	lm_store_free(s);
}

Test(s3, put_signs_payload_hash)
{
	struct lm_store *s;
	struct lm_err err;
	char hash[65];
	const char *data = "hello, lakemount\n";
	char path[] = "/tmp/lm-s3put-XXXXXX";
	int fd;

	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "very/secret+key", 1);
	{
		struct lm_s3_config c;

		lm_s3_config_init(&c);
		s = open_store("s3://bkt/pre", &c);
	}
	lm_err_init(&err);
	cr_assert_eq(lm_s3_put_mem(s, "new/obj.txt", data, strlen(data), &err), 0, "%s", err.msg);
	lm_sha256_hex(data, strlen(data), hash);
	cr_assert_str_eq(sc.last_sha, hash);
	cr_assert_eq(sc.put_len, strlen(data));
	cr_assert(!memcmp(sc.put_body, data, sc.put_len));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	cr_assert_eq(lm_s3_put_fd(s, "new/obj2.txt", fd, strlen(data), &err), 0, "%s", err.msg);
	cr_assert_str_eq(sc.last_sha, hash);
	cr_assert_eq(sc.put_len, strlen(data));
	close(fd);
	unlink(path);
	cr_assert_eq(lm_s3_put_mem(s, "../x", data, 1, &err), LM_EESCAPE);
	lm_store_free(s);
}

static int check_with(int status, const char *code, const char *region, bool anon,
		      struct lm_err *err)
{
	struct lm_s3_config c;
	struct lm_store *s;
	int rc;

	sc.status = status;
	sc.code = code;
	sc.region = region;
	lm_s3_config_init(&c);
	c.no_sign_request = anon;
	if (!anon) {
		setenv("AWS_ACCESS_KEY_ID", "AKIDCHECK", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "sekrit", 1);
	}
	s = open_store("s3://bkt/pre", &c);
	lm_err_init(err);
	rc = lm_store_s3_check(s, err);
	lm_store_free(s);
	return rc;
}

Test(s3, startup_check_messages)
{
	struct lm_err err;

	cr_assert_eq(check_with(0, NULL, NULL, true, &err), 0, "%s", err.msg);
	cr_assert_eq(check_with(403, "SignatureDoesNotMatch", NULL, false, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "secret key is wrong for access key AKIDCHECK"), "%s", err.msg);
	cr_assert(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "sekrit"));
	cr_assert_null(strchr(err.msg, '\n'));
	cr_assert_eq(check_with(403, "InvalidAccessKeyId", NULL, false, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "access key AKIDCHECK is not known"), "%s", err.msg);
	cr_assert_eq(check_with(404, "NoSuchBucket", NULL, false, &err), ENOENT);
	cr_assert(strstr(err.msg, "bucket 'bkt' does not exist"), "%s", err.msg);
	cr_assert_eq(check_with(400, "AuthorizationHeaderMalformed", "eu-west-1", false, &err),
		     LM_ECONFIG);
	cr_assert(strstr(err.msg, "use -o region=eu-west-1"), "%s", err.msg);
	cr_assert_eq(check_with(301, "PermanentRedirect", "ap-east-1", false, &err), LM_ECONFIG);
	cr_assert(strstr(err.msg, "region=ap-east-1"), "%s", err.msg);
	cr_assert_eq(check_with(403, "AccessDenied", NULL, true, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "anonymous access denied"), "%s", err.msg);
	cr_assert_eq(check_with(403, "AccessDenied", NULL, false, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "s3:ListBucket"), "%s", err.msg);
	cr_assert_eq(check_with(403, "RequestTimeTooSkewed", NULL, false, &err), LM_EAUTH);
	cr_assert(strstr(err.msg, "clock"), "%s", err.msg);
}

Test(s3, startup_check_unreachable)
{
	struct lm_s3_config c;
	struct lm_store *s;
	struct lm_err err;
	int64_t t0;

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.endpoint = "http://127.0.0.1:1";   /* nothing listens on port 1 */
	s = open_store("s3://bkt/pre", &c);
	lm_err_init(&err);
	t0 = lm_mono_ns();
	cr_assert_eq(lm_store_s3_check(s, &err), EHOSTUNREACH);
	cr_assert(strstr(err.msg, "cannot reach the S3 endpoint http://127.0.0.1:1"), "%s",
		  err.msg);
	cr_assert_lt(lm_mono_ns() - t0, 5000000000LL);
	lm_store_free(s);
}

struct worker {
	struct lm_store *s;
	unsigned seed;
	int bad;
};

static void *reader(void *arg)
{
	struct worker *w = arg;
	static __thread unsigned char buf[20000];

	for (int i = 0; i < 40; i++) {
		uint64_t off = (uint64_t)(rand_r(&w->seed) % OBJ_SIZE);
		size_t len = 1 + (size_t)(rand_r(&w->seed) % sizeof(buf));
		size_t got = 0, want = off + len > OBJ_SIZE ? OBJ_SIZE - off : len;
		struct lm_get_req req = { .key = "obj", .off = off, .len = len };
		struct lm_err err;

		if (lm_store_get_range(w->s, &req, buf, &got, NULL, &err) != 0 || got != want) {
			w->bad++;
			continue;
		}
		for (size_t j = 0; j < got; j++)
			if (buf[j] != obj_byte(off + j)) {
				w->bad++;
				break;
			}
	}
	return NULL;
}

Test(s3, many_threads_share_the_pool)
{
	struct lm_s3_config c;
	struct lm_store *s;
	pthread_t t[16];
	struct worker w[16];

	lm_s3_config_init(&c);
	c.no_sign_request = true;
	c.pool_size = 8;
	sc.fail503 = 10;   /* a few transient failures on the way */
	sc.trunc_n = 5;
	s = open_store("s3://bkt/pre", &c);
	for (int i = 0; i < 16; i++) {
		w[i] = (struct worker){ .s = s, .seed = (unsigned)i * 7919u + 1 };
		pthread_create(&t[i], NULL, reader, &w[i]);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].bad, 0, "thread %d saw %d bad reads", i, w[i].bad);
	}
	/* Keep-alive: far fewer connections than requests. */
	cr_assert_lt(atomic_load(&srv.nconn), atomic_load(&srv.nreq) / 4, "%d conns for %d reqs",
		     atomic_load(&srv.nconn), atomic_load(&srv.nreq));
	lm_store_free(s);
}

Test(s3, secrets_never_logged)
{
	char path[] = "/tmp/lm-s3log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct lm_store *s;
	struct lm_s3_config c;
	unsigned char buf[16];
	struct lm_err err;
	size_t got;
	char text[65536];
	ssize_t n;

	cr_assert_geq(fd, 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDLOG", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "TOPSECRETVALUE", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENVALUE", 1);
	lm_log_set_level(LM_LOG_DEBUG);
	dup2(fd, 2);
	lm_s3_config_init(&c);
	c.retry_max = 2;
	s = open_store("s3://bkt/pre", &c);
	read_at(s, "obj", 0, 16, buf, &got, NULL, &err);
	sc.always503 = true;
	read_at(s, "obj", 0, 16, buf, &got, NULL, &err);
	sc.always503 = false;
	sc.status = 403;
	sc.code = "SignatureDoesNotMatch";
	lm_store_s3_check(s, &err);
	lm_store_free(s);
	fflush(stderr);
	dup2(saved, 2);
	n = pread(fd, text, sizeof(text) - 1, 0);
	cr_assert_gt(n, 0);
	text[n] = '\0';
	cr_assert(strstr(text, "s3: GET"), "debug lines were written");
	cr_assert_null(strstr(text, "TOPSECRETVALUE"), "%s", text);
	cr_assert_null(strstr(text, "TOKENVALUE"), "%s", text);
	cr_assert_null(strstr(text, "Signature="), "%s", text);
	close(fd);
	unlink(path);
}
