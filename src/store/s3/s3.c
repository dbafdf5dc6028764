/* s3.c — the S3 store backend: SOURCE/endpoint/region parsing, a pool of keep-alive
 * curl easy handles shared by the FUSE worker threads (plus a share handle for DNS and
 * TLS sessions), signed requests, bounded retries with backoff and jitter, ranged GET
 * with exact Content-Range checks, HEAD, ListObjectsV2 paging, uri_to_key, the start-up
 * check, and the PUT/DELETE helpers for tools and tests.
 * May call: libcurl, OpenSSL (via sigv4.c), creds.c, format/s3xml.c, util, log.
 *
 * Retry design: every request runs inside do_request(), which owns the attempt loop.
 * An attempt writes into caller-owned sinks that are reset before each attempt, so a
 * failed or short attempt never leaves bytes behind: a read either returns bytes that
 * one complete, validated response carried, or an error. 403/404/412 are final;
 * 5xx/429/408/RequestTimeout, timeouts, resets, stalls and short bodies are retried
 * until retry_max attempts or retry_total_ms, whichever comes first. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "lm/log.h"
#include "lm/s3.h"
#include "lm/s3xml.h"
#include "lm/store.h"
#include "lm/util.h"
#include "s3_int.h"

#ifndef LM_VERSION
#define LM_VERSION "dev"
#endif

#define ERRBODY_MAX ((size_t)64 << 10)
#define LISTBODY_MAX ((size_t)32 << 20)
#define BACKOFF_CAP_MS 5000

enum { V_RETRY = -1, V_DEFAULT = -2 };

/* A pooled easy handle and the socket of its (single) keep-alive connection, tracked
 * through the open/close socket callbacks. */
struct hctx {
	CURL *h;
	curl_socket_t fd;
};

struct s3_store {
	struct lm_store base;
	char *bucket;
	char *prefix;          /* "" or "a/b" (no leading/trailing '/') */
	char *scheme;          /* "http" / "https" */
	char *hosthdr;         /* Host header: "h:port" or "bucket.h:port" */
	char *base_path;       /* endpoint path prefix, "" or "/x" (encoded as given) */
	char *endpoint;        /* as configured, for messages */
	char *ca_file;
	bool path_style;
	char region[64];
	char region_from[48];  /* where the region came from, for messages */
	unsigned connect_ms, stall_ms, retry_max, retry_total_ms, retry_base_ms, pool_size;
	unsigned list_max_keys;
	struct lm_s3_credsrc creds;
	bool creds_init;       /* creds (and its mutex) initialised by resolve */
	CURLSH *share;
	atomic_uint_fast64_t n_requests, n_retries, n_throttled;   /* lm_store_stats */
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_mu;
	struct hctx **pool;
	unsigned npool;
};

/* One HTTP exchange: request description, sinks, and what came back. */
struct xfer {
	const char *method;
	const char *key;              /* object key in the bucket (NULL: bucket level) */
	const struct lm_s3_kv *query;
	size_t nquery;
	struct lm_s3_kv hdrs[4];      /* extra signed headers */
	size_t nhdrs;
	const char *payload_hash;     /* NULL: UNSIGNED-PAYLOAD */
	/* upload source (PUT) */
	bool upload;
	int up_fd;
	const char *up_mem;
	uint64_t up_len, up_pos;
	/* 2xx sinks (reset before each attempt) */
	char *dst;
	size_t dst_cap;
	uint64_t skip200;             /* bytes to drop from a 200 answer to a ranged GET */
	struct lm_buf *body;
	/* response */
	long status;
	size_t got;
	uint64_t skipped;
	bool overflow, enough, stalled;
	struct lm_buf errbody;
	char etag[128];
	char last_modified[64];
	char content_range[96];
	char bucket_region[64];
	bool have_clen;
	uint64_t clen;
	struct lm_s3xml_error s3err;
	CURLcode cc;
	char curl_err[CURL_ERROR_SIZE];
	int64_t last_progress_ns;
	curl_off_t last_dl, last_ul;
	unsigned stall_ms;
	char why[300];                /* reason of the last retryable failure */
	unsigned attempts;
	int64_t elapsed_ms;
	bool quiet;                   /* no warning line when giving up (caller reports) */
	struct hctx *hc;              /* the handle running this attempt */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void lm_s3_config_init(struct lm_s3_config *c)
{
	memset(c, 0, sizeof(*c));
}

/* ---- handle pool ---- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
	struct s3_store *st = ud;

	(void)h;
	(void)a;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&st->share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
	struct s3_store *st = ud;

	(void)h;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&st->share_mu[d]);
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct hctx *hc = ud;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd >= 0)
		hc->fd = fd;
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
	struct hctx *hc = ud;

	if (hc->fd == fd)
		hc->fd = CURL_SOCKET_BAD;
	return close(fd);
}

static void hctx_free(struct hctx *hc)
{
	if (!hc)
		return;
	if (hc->h)
		curl_easy_cleanup(hc->h);   /* may call on_close_socket(hc) */
	free(hc);
}

static struct hctx *handle_get(struct s3_store *st)
{
	struct hctx *hc = NULL;

	pthread_mutex_lock(&st->pool_mu);
	if (st->npool)
		hc = st->pool[--st->npool];
	pthread_mutex_unlock(&st->pool_mu);
	if (hc)
		return hc;
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		return NULL;
	hc->fd = CURL_SOCKET_BAD;
	hc->h = curl_easy_init();
	if (!hc->h) {
		free(hc);
		return NULL;
	}
	/* Set once: the handle is never reset, so these stay. */
	curl_easy_setopt(hc->h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(hc->h, CURLOPT_OPENSOCKETDATA, hc);
	curl_easy_setopt(hc->h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
	curl_easy_setopt(hc->h, CURLOPT_CLOSESOCKETDATA, hc);
	return hc;
}

static void handle_put(struct s3_store *st, struct hctx *hc)
{
	if (!hc)
		return;
	pthread_mutex_lock(&st->pool_mu);
	if (st->npool < st->pool_size) {
		st->pool[st->npool++] = hc;
		hc = NULL;
	}
	pthread_mutex_unlock(&st->pool_mu);
	hctx_free(hc);
}

/* ---- small helpers ---- */

static int64_t mono_ms(void)
{
	return lm_mono_ns() / 1000000;
}

static uint64_t rnd64(void)
{
	static __thread uint64_t s;

	if (!s)
		s = (uint64_t)lm_mono_ns() ^ ((uint64_t)pthread_self() << 1) ^ 0x9e3779b97f4a7c15ULL;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* "s3://bucket/prefix/key" for messages. */
static void key_uri(struct s3_store *st, const char *key, char *out, size_t n)
{
	snprintf(out, n, "s3://%s/%s", st->bucket, key ? key : "");
}

/* Full object key in the bucket for a source-relative key. malloc'd. */
static char *full_key(struct s3_store *st, const char *rel)
{
	return lm_path_join(st->prefix, rel);
}

/* ---- one attempt ---- */

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm, vl;
	const char *colon, *v;
	char *dst = NULL;
	size_t dcap = 0;

	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* A new status line: forget headers of an earlier (1xx) response. */
		const char *sp = memchr(p, ' ', n);

		x->status = 0;
		if (sp && (size_t)(p + n - sp) >= 4) {
			long s = 0;

			for (int i = 1; i <= 3; i++)
				s = s * 10 + (sp[i] >= '0' && sp[i] <= '9' ? sp[i] - '0' : 0);
			x->status = s;
		}
		x->etag[0] = x->last_modified[0] = x->content_range[0] = '\0';
		x->bucket_region[0] = '\0';
		x->have_clen = false;
		return n;
	}
	if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
		/* End of the headers: ACK them now. Servers that write headers and a small
		 * body separately (Ceph RGW) otherwise hold the body back under Nagle until
		 * our delayed ACK fires, 40 ms later on Linux. */
		if (x->hc && x->hc->fd != CURL_SOCKET_BAD) {
			int one = 1;

			setsockopt(x->hc->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		}
		return n;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return n;
	v = colon + 1;
	vl = (size_t)(p + n - v);
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
#define HDR_IS(name) ((size_t)(colon - p) == sizeof(name) - 1 && !strncasecmp(p, name, sizeof(name) - 1))
	if (HDR_IS("etag")) {
		dst = x->etag;
		dcap = sizeof(x->etag);
	} else if (HDR_IS("last-modified")) {
		dst = x->last_modified;
		dcap = sizeof(x->last_modified);
	} else if (HDR_IS("content-range")) {
		dst = x->content_range;
		dcap = sizeof(x->content_range);
	} else if (HDR_IS("x-amz-bucket-region")) {
		dst = x->bucket_region;
		dcap = sizeof(x->bucket_region);
	} else if (HDR_IS("content-length")) {
		char num[32];

		if (vl && vl < sizeof(num)) {
			memcpy(num, v, vl);
			num[vl] = '\0';
			x->have_clen = lm_parse_u64(num, &x->clen) == 0;
		}
	}
#undef HDR_IS
	if (dst) {
		if (vl >= dcap)
			vl = dcap - 1;
		memcpy(dst, v, vl);
		dst[vl] = '\0';
	}
	return n;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;

	if (x->status < 200 || x->status > 299) {
		/* Error body: keep the first ERRBODY_MAX bytes, drop the rest. */
		size_t room = x->errbody.limit - x->errbody.len;

		lm_buf_append(&x->errbody, p, n < room ? n : room);
		return n;
	}
	if (x->body) {
		if (lm_buf_append(x->body, p, n) != 0) {
			x->overflow = true;
			return 0;
		}
		return n;
	}
	if (!x->dst)
		return n;
	if (x->status == 200 && x->skipped < x->skip200) {
		/* A server that ignored Range: drop bytes before the offset. */
		uint64_t drop = x->skip200 - x->skipped;

		if (drop >= n) {
			x->skipped += n;
			return n;
		}
		x->skipped += drop;
		p += drop;
		n -= (size_t)drop;
		if (x->got + n > x->dst_cap) {
			size_t take = x->dst_cap - x->got;

			memcpy(x->dst + x->got, p, take);
			x->got += take;
			x->enough = true;
			return 0;
		}
		memcpy(x->dst + x->got, p, n);
		x->got += n;
		return sz * nm;
	}
	if (x->got + n > x->dst_cap) {
		if (x->status == 200) {
			size_t take = x->dst_cap - x->got;

			memcpy(x->dst + x->got, p, take);
			x->got += take;
			x->enough = true;
		} else {
			x->overflow = true;
		}
		return 0;
	}
	memcpy(x->dst + x->got, p, n);
	x->got += n;
	return n;
}

static size_t on_read(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t want = sz * nm;
	uint64_t left = x->up_len - x->up_pos;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (x->up_mem) {
		memcpy(p, x->up_mem + x->up_pos, want);
	} else {
		ssize_t r = pread(x->up_fd, p, want, (off_t)x->up_pos);

		if (r <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)r;
	}
	x->up_pos += want;
	return want;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ud;
	int64_t now = lm_mono_ns();

	(void)dltotal;
	(void)ultotal;
	if (dlnow != x->last_dl || ulnow != x->last_ul) {
		x->last_dl = dlnow;
		x->last_ul = ulnow;
		x->last_progress_ns = now;
		return 0;
	}
	if (x->stall_ms && now - x->last_progress_ns > (int64_t)x->stall_ms * 1000000) {
		x->stalled = true;
		return 1;
	}
	return 0;
}

static void xfer_reset(struct xfer *x)
{
	x->status = 0;
	x->got = 0;
	x->skipped = 0;
	x->overflow = x->enough = x->stalled = false;
	lm_buf_reset(&x->errbody);
	if (x->body)
		lm_buf_reset(x->body);
	x->etag[0] = x->last_modified[0] = x->content_range[0] = x->bucket_region[0] = '\0';
	x->have_clen = false;
	x->clen = 0;
	memset(&x->s3err, 0, sizeof(x->s3err));
	x->cc = CURLE_OK;
	x->curl_err[0] = '\0';
	x->up_pos = 0;
	x->last_dl = x->last_ul = 0;
	x->last_progress_ns = lm_mono_ns();
}

static int add_hdr(struct curl_slist **l, const char *name, const char *value)
{
	struct lm_buf b;
	struct curl_slist *n;
	int rc;

	lm_buf_init(&b, 16384);
	rc = lm_buf_printf(&b, "%s: %s", name, value);
	if (rc) {
		lm_buf_free(&b);
		return rc;
	}
	n = curl_slist_append(*l, b.data);
	explicit_bzero(b.data, b.len);
	lm_buf_free(&b);
	if (!n)
		return ENOMEM;
	*l = n;
	return 0;
}

/* Build URL + signed headers and run one exchange. Returns 0 when an HTTP exchange took
 * place or failed at the transport level (see x->cc), else ENOMEM/EINVAL/LM_EAUTH. */
static int attempt(struct s3_store *st, struct xfer *x, int64_t budget_ms, struct lm_err *err)
{
	struct lm_s3_creds cr;
	struct lm_sigv4_out so;
	struct lm_buf path, url, q;
	struct curl_slist *hl = NULL;
	const char *phash = x->payload_hash ? x->payload_hash : LM_SIGV4_UNSIGNED;
	struct hctx *hc = NULL;
	CURL *h;
	int rc;

	lm_sigv4_out_init(&so);
	lm_buf_init(&path, 1 << 16);
	lm_buf_init(&url, 1 << 17);
	lm_buf_init(&q, 1 << 16);
	memset(&cr, 0, sizeof(cr));
	rc = lm_s3_creds_get(&st->creds, &cr, err);
	if (rc)
		goto out;
	/* Wire path = canonical URI: base path, [/bucket], /key with each segment encoded. */
	rc = lm_buf_append(&path, st->base_path, strlen(st->base_path));
	if (!rc && st->path_style)
		rc = lm_buf_printf(&path, "/%s", st->bucket);
	if (!rc && x->key) {
		rc = lm_buf_append(&path, "/", 1);
		if (!rc)
			rc = lm_s3_uri_encode(&path, x->key, strlen(x->key), true);
	}
	if (!rc && path.len == 0)
		rc = lm_buf_append(&path, "/", 1);
	if (!rc)
		rc = lm_s3_query_string(&q, x->query, x->nquery);
	if (!rc)
		rc = lm_buf_printf(&url, "%s://%s%s%s%s", st->scheme, st->hosthdr, path.data,
				   q.len ? "?" : "", q.len ? q.data : "");
	if (rc)
		goto out;
	rc = add_hdr(&hl, "Host", st->hosthdr);
	for (size_t i = 0; i < x->nhdrs && !rc; i++)
		rc = add_hdr(&hl, x->hdrs[i].name, x->hdrs[i].value);
	if (!rc && cr.akid[0]) {
		struct lm_sigv4_req sr = {
			.method = x->method, .host = st->hosthdr, .path = path.data,
			.query = x->query, .nquery = x->nquery, .headers = x->hdrs,
			.nheaders = x->nhdrs, .payload_hash = phash, .sign_content_sha = true,
			.region = st->region, .service = "s3", .now_s = lm_now_ms() / 1000,
			.access_key = cr.akid, .secret_key = cr.secret, .session_token = cr.token,
		};

		rc = lm_sigv4_sign(&sr, &so);
		if (!rc)
			rc = add_hdr(&hl, "x-amz-date", so.amz_date);
		if (!rc)
			rc = add_hdr(&hl, "x-amz-content-sha256", phash);
		if (!rc && cr.token[0])
			rc = add_hdr(&hl, "x-amz-security-token", cr.token);
		if (!rc)
			rc = add_hdr(&hl, "Authorization", so.authorization.data);
	}
	if (!rc) {
		struct curl_slist *n = curl_slist_append(hl, "Expect:");

		rc = n ? 0 : ENOMEM;
		if (n)
			hl = n;
	}
	if (rc) {
		lm_err_set(err, rc, "%s %s: cannot build the request: %s", x->method, url.data,
			   lm_strerror(rc));
		goto out;
	}
	hc = handle_get(st);
	if (!hc) {
		rc = ENOMEM;
		goto out;
	}
	h = hc->h;
	/* No curl_easy_reset() (it would drop the socket callbacks): every option that
	 * varies between requests is set on every request. */
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_SHARE, st->share);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lakemount/" LM_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)st->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(budget_ms > 0 ? budget_ms : 1));
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (st->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, st->ca_file);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);   /* clears NOBODY and UPLOAD */
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, x);
	if (!strcmp(x->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (x->upload) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->up_len);
	} else if (strcmp(x->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
	}
	x->stall_ms = st->stall_ms;
	x->hc = hc;
	lm_debug("s3: %s %s", x->method, url.data);
	x->cc = curl_easy_perform(h);
	if (x->cc == CURLE_OK) {
		long code = 0;

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code)
			x->status = code;
	}
	/* Drop every pointer into this attempt's stack before the handle is shared. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_READDATA, NULL);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	x->hc = NULL;
	handle_put(st, hc);
out:
	curl_slist_free_all(hl);   /* holds the signature and token: wiped below anyway */
	explicit_bzero(&cr, sizeof(cr));
	lm_sigv4_out_free(&so);
	lm_buf_free(&path);
	lm_buf_free(&url);
	lm_buf_free(&q);
	return rc;
}

static bool curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return true;
	default:
		return false;
	}
}

static bool status_retryable(long status, const char *code)
{
	if (status == 500 || status == 502 || status == 503 || status == 504 ||
	    status == 429 || status == 408)
		return true;
	return status == 400 && (!strcmp(code, "RequestTimeout") || !strcmp(code, "SlowDown") ||
				 !strcmp(code, "InternalError"));
}

static void parse_errbody(struct xfer *x)
{
	if (x->errbody.len)
		lm_s3xml_parse_error(x->errbody.data, x->errbody.len, &x->s3err);
}

/* "HTTP 503 SlowDown: Please reduce your request rate." */
static void status_text(struct xfer *x, char *out, size_t n)
{
	if (x->s3err.code[0])
		snprintf(out, n, "HTTP %ld %s%s%s", x->status, x->s3err.code,
			 x->s3err.message[0] ? ": " : "", x->s3err.message);
	else
		snprintf(out, n, "HTTP %ld", x->status);
}

/* Default mapping of a final non-2xx status to a result code and message. */
static int map_status(struct s3_store *st, struct xfer *x, const char *what,
		      struct lm_err *err)
{
	char txt[400];
	const char *region = x->bucket_region[0] ? x->bucket_region : x->s3err.region;

	status_text(x, txt, sizeof(txt));
	switch (x->status) {
	case 404:
		if (!strcmp(x->s3err.code, "NoSuchBucket"))
			return lm_err_set(err, ENOENT, "%s: bucket '%s' does not exist at %s", what,
					  st->bucket, st->endpoint);
		return lm_err_set(err, ENOENT, "%s: no such object", what);
	case 403:
		return lm_err_set(err, LM_EAUTH, "%s: access denied (%s; credentials: %s)", what,
				  txt, st->creds.desc);
	case 412:
		return lm_err_set(err, LM_EMISMATCH,
				  "%s: object changed (If-Match failed: ETag differs from the one read before)",
				  what);
	case 301:
	case 307:
	case 400:
		if (*region && strcmp(region, st->region) != 0)
			return lm_err_set(err, LM_ECONFIG,
					  "%s: bucket '%s' is in region %s, not %s (from %s): use -o region=%s",
					  what, st->bucket, region, st->region, st->region_from, region);
		if (x->status != 400 || !strcmp(x->s3err.code, "AuthorizationHeaderMalformed") ||
		    !strcmp(x->s3err.code, "PermanentRedirect"))
			return lm_err_set(err, LM_ECONFIG, "%s: %s (check -o region= and -o endpoint=)",
					  what, txt);
		break;
	default:
		break;
	}
	return lm_err_set(err, LM_EREMOTE, "%s: %s", what, txt);
}

typedef int (*validate_fn)(struct s3_store *st, struct xfer *x, void *ud, struct lm_err *err);

/* Run x with retries. validate (optional) sees every response that reached the server
 * and returns 0 (done), V_RETRY (x->why says why), V_DEFAULT (use the default status
 * mapping) or an error code (err set). */
static int do_request(struct s3_store *st, struct xfer *x, const char *what,
		      unsigned max_attempts, unsigned max_ms, validate_fn validate, void *vud,
		      struct lm_err *err)
{
	int64_t t0 = mono_ms(), deadline = t0 + max_ms;
	int rc = 0;

	lm_buf_init(&x->errbody, ERRBODY_MAX);
	x->attempts = 0;
	x->why[0] = '\0';
	for (;;) {
		int64_t now = mono_ms(), wait;
		unsigned shift;

		x->attempts++;
		atomic_fetch_add(&st->n_requests, 1);
		if (x->attempts > 1)
			atomic_fetch_add(&st->n_retries, 1);
		xfer_reset(x);
		rc = attempt(st, x, deadline - now, err);
		if (rc)
			goto out;
		if (x->cc != CURLE_OK && !(x->cc == CURLE_WRITE_ERROR && x->enough)) {
			if (x->overflow) {
				rc = lm_err_set(err, x->body ? LM_ETOOBIG : LM_EREMOTE,
						"%s: %s: the server sent more than asked for", what,
						x->method);
				goto out;
			}
			if (x->cc == CURLE_PEER_FAILED_VERIFICATION ||
			    x->cc == CURLE_SSL_CACERT_BADFILE || x->cc == CURLE_SSL_CERTPROBLEM) {
				rc = lm_err_set(err, LM_ECONFIG,
						"%s: TLS certificate of %s not trusted (%s): use -o ca_file= or AWS_CA_BUNDLE",
						what, st->endpoint,
						x->curl_err[0] ? x->curl_err : curl_easy_strerror(x->cc));
				goto out;
			}
			if (x->stalled)
				snprintf(x->why, sizeof(x->why), "no data received for %u ms",
					 st->stall_ms);
			else
				snprintf(x->why, sizeof(x->why), "%s%s%s", curl_easy_strerror(x->cc),
					 x->curl_err[0] ? ": " : "", x->curl_err);
			if (!curl_retryable(x->cc) && !x->stalled &&
			    x->cc != CURLE_ABORTED_BY_CALLBACK) {
				rc = lm_err_set(err, EIO, "%s: %s failed: %s", what, x->method, x->why);
				goto out;
			}
		} else {
			parse_errbody(x);
			if (status_retryable(x->status, x->s3err.code)) {
				if (x->status == 429 || x->status == 503 ||
				    !strcmp(x->s3err.code, "SlowDown"))
					atomic_fetch_add(&st->n_throttled, 1);
				status_text(x, x->why, sizeof(x->why));
			} else {
				rc = validate ? validate(st, x, vud, err) : V_DEFAULT;
				if (rc == V_DEFAULT)
					rc = (x->status >= 200 && x->status <= 299)
						     ? 0
						     : map_status(st, x, what, err);
				if (rc != V_RETRY)
					goto out;
			}
		}
		/* Retry? Exponential backoff with jitter, within attempts and time. */
		now = mono_ms();
		shift = x->attempts - 1 < 16 ? x->attempts - 1 : 16;
		wait = (int64_t)st->retry_base_ms << shift;
		if (wait > BACKOFF_CAP_MS)
			wait = BACKOFF_CAP_MS;
		wait = wait / 2 + (int64_t)(rnd64() % (uint64_t)(wait / 2 + 1));
		if (x->attempts >= max_attempts || now + wait >= deadline) {
			x->elapsed_ms = now - t0;
			rc = lm_err_set(err, EIO, "%s: %s failed after %u attempt%s in %lld ms; last error: %s",
					what, x->method, x->attempts, x->attempts == 1 ? "" : "s",
					(long long)x->elapsed_ms, x->why);
			if (x->attempts > 1 && !x->quiet)
				lm_warn("s3: %s", err ? err->msg : x->why);
			goto out;
		}
		lm_debug("s3: %s: %s attempt %u failed (%s); retrying in %lld ms", what, x->method,
			 x->attempts, x->why, (long long)wait);
		sleep_ms(wait);
	}
out:
	x->elapsed_ms = mono_ms() - t0;
	lm_buf_free(&x->errbody);
	return rc;
}

/* ---- operations ---- */

static void fill_info(struct xfer *x, uint64_t size, struct lm_obj_info *info)
{
	time_t t;

	info->size = size;
	snprintf(info->etag, sizeof(info->etag), "%s", x->etag);
	info->mtime_ms = 0;
	if (x->last_modified[0]) {
		t = curl_getdate(x->last_modified, NULL);
		if (t != (time_t)-1)
			info->mtime_ms = (int64_t)t * 1000;
	}
}

/* "bytes A-B/T" or "bytes * /T" (without the space). */
static int parse_crange(const char *s, bool *unsat, uint64_t *a, uint64_t *b, uint64_t *t)
{
	const char *dash, *slash;
	char num[32];

	*unsat = false;
	if (strncasecmp(s, "bytes ", 6) != 0)
		return EINVAL;
	s += 6;
	slash = strchr(s, '/');
	if (!slash || !slash[1] || strlen(slash + 1) >= sizeof(num))
		return EINVAL;
	if (lm_parse_u64(slash + 1, t))
		return EINVAL;
	if (s[0] == '*' && s + 1 == slash) {
		*unsat = true;
		return 0;
	}
	dash = memchr(s, '-', (size_t)(slash - s));
	if (!dash || dash == s || (size_t)(dash - s) >= sizeof(num) ||
	    (size_t)(slash - dash - 1) >= sizeof(num) || slash == dash + 1)
		return EINVAL;
	memcpy(num, s, (size_t)(dash - s));
	num[dash - s] = '\0';
	if (lm_parse_u64(num, a))
		return EINVAL;
	memcpy(num, dash + 1, (size_t)(slash - dash - 1));
	num[slash - dash - 1] = '\0';
	if (lm_parse_u64(num, b))
		return EINVAL;
	return *a <= *b && *b < *t ? 0 : EINVAL;
}

struct range_ctx {
	const struct lm_get_req *req;
	struct lm_obj_info *info;   /* always non-NULL here */
	size_t got;
	bool eof416;                /* 416 without a total: caller must HEAD */
};

static int validate_range(struct s3_store *st, struct xfer *x, void *ud, struct lm_err *err)
{
	struct range_ctx *c = ud;
	const struct lm_get_req *req = c->req;
	uint64_t a = 0, b = 0, total = 0, want_end;
	bool unsat = false;
	char what[1200];

	key_uri(st, x->key, what, sizeof(what));
	if (x->status == 416) {
		if (x->content_range[0] &&
		    parse_crange(x->content_range, &unsat, &a, &b, &total) == 0 && unsat) {
			if (req->off < total) {
				snprintf(x->why, sizeof(x->why),
					 "416 for offset %llu of a %llu-byte object",
					 (unsigned long long)req->off, (unsigned long long)total);
				return V_RETRY;
			}
			fill_info(x, total, c->info);
			c->got = 0;
			return 0;
		}
		c->eof416 = true;
		c->got = 0;
		return 0;
	}
	if (x->status == 206) {
		if (!x->content_range[0] ||
		    parse_crange(x->content_range, &unsat, &a, &b, &total) != 0 || unsat) {
			snprintf(x->why, sizeof(x->why), "bad Content-Range '%s'", x->content_range);
			return V_RETRY;
		}
		want_end = req->off + req->len - 1;
		if (want_end >= total)
			want_end = total - 1;
		if (a != req->off || b != want_end) {
			snprintf(x->why, sizeof(x->why),
				 "Content-Range '%s' does not match the requested %llu-%llu",
				 x->content_range, (unsigned long long)req->off,
				 (unsigned long long)want_end);
			return V_RETRY;
		}
		if (x->got != b - a + 1) {
			snprintf(x->why, sizeof(x->why), "short body: %zu of %llu bytes", x->got,
				 (unsigned long long)(b - a + 1));
			return V_RETRY;
		}
	} else if (x->status == 200) {
		/* Range ignored: the whole object came (or its start, up to what we need). */
		uint64_t want;

		if (!x->have_clen) {
			snprintf(x->why, sizeof(x->why), "200 without Content-Length");
			return V_RETRY;
		}
		total = x->clen;
		want = req->off >= total ? 0 : total - req->off;
		if (want > req->len)
			want = req->len;
		if (x->got != want) {
			snprintf(x->why, sizeof(x->why), "short body: %zu of %llu bytes", x->got,
				 (unsigned long long)want);
			return V_RETRY;
		}
	} else {
		return V_DEFAULT;
	}
	if (req->if_match && *req->if_match && x->etag[0] && strcmp(x->etag, req->if_match)) {
		return lm_err_set(err, LM_EMISMATCH,
				  "%s: object changed (ETag %s, expected %s)", what, x->etag,
				  req->if_match);
	}
	fill_info(x, total, c->info);
	c->got = x->got;
	return 0;
}

static int s3_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		   struct lm_err *err);

static int s3_get_range(struct lm_store *s, const struct lm_get_req *req, void *dst,
			size_t *got, struct lm_obj_info *info, struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	struct lm_obj_info tmp;
	struct range_ctx c = { .req = req, .info = info ? info : &tmp };
	struct xfer x;
	char range[64], what[1200];
	char *fk = NULL;
	int rc;

	*got = 0;
	memset(&x, 0, sizeof(x));
	if (req->len == 0)
		return s3_head(s, req->key, c.info, err);
	if (req->off > UINT64_MAX - req->len)
		return lm_err_set(err, EINVAL, "%s/%s: range overflows", s->uri, req->key);
	fk = full_key(st, req->key);
	if (!fk)
		return ENOMEM;
	key_uri(st, fk, what, sizeof(what));
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)req->off,
		 (unsigned long long)(req->off + req->len - 1));
	x.method = "GET";
	x.key = fk;
	x.hdrs[x.nhdrs++] = (struct lm_s3_kv){ "Range", range };
	if (req->if_match && *req->if_match)
		x.hdrs[x.nhdrs++] = (struct lm_s3_kv){ "If-Match", req->if_match };
	x.dst = dst;
	x.dst_cap = req->len;
	x.skip200 = req->off;
	rc = do_request(st, &x, what, st->retry_max, st->retry_total_ms, validate_range, &c, err);
	if (rc)
		goto out;
	if (c.eof416) {
		/* 416 without a usable total: ask for the size. */
		rc = s3_head(s, req->key, c.info, err);
		if (rc)
			goto out;
		if (req->off < c.info->size) {
			rc = lm_err_set(err, EIO, "%s: 416 for offset %llu of a %llu-byte object",
					what, (unsigned long long)req->off,
					(unsigned long long)c.info->size);
			goto out;
		}
	} else if (c.got == 0 && info && !c.info->etag[0]) {
		/* Read at/after the end: fill the identity from a HEAD. */
		rc = s3_head(s, req->key, c.info, err);
		if (rc)
			goto out;
	}
	*got = c.got;
out:
	free(fk);
	return rc;
}

static int validate_head(struct s3_store *st, struct xfer *x, void *ud, struct lm_err *err)
{
	struct lm_obj_info *info = ud;

	(void)st;
	(void)err;
	if (x->status != 200)
		return V_DEFAULT;
	if (!x->have_clen) {
		snprintf(x->why, sizeof(x->why), "HEAD answer without Content-Length");
		return V_RETRY;
	}
	fill_info(x, x->clen, info);
	return 0;
}

static int s3_head(struct lm_store *s, const char *key, struct lm_obj_info *info,
		   struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	struct xfer x;
	char what[1200];
	char *fk = full_key(st, key);
	int rc;

	if (!fk)
		return ENOMEM;
	memset(&x, 0, sizeof(x));
	key_uri(st, fk, what, sizeof(what));
	x.method = "HEAD";
	x.key = fk;
	rc = do_request(st, &x, what, st->retry_max, st->retry_total_ms, validate_head, info, err);
	free(fk);
	return rc;
}

struct rel_ent {
	char *key;
	bool is_prefix;
	struct lm_obj_info info;
};

static int rel_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rel_ent *)a)->key, ((const struct rel_ent *)b)->key);
}

/* One ListObjectsV2 page into body. */
static int list_page(struct s3_store *st, const char *full_prefix, const char *full_start,
		     const char *token, bool delim, unsigned max_keys, unsigned attempts,
		     unsigned max_ms, bool quiet, struct lm_buf *body, struct xfer *x,
		     struct lm_err *err)
{
	struct lm_s3_kv q[7];
	char mk[24], what[1200];
	size_t nq = 0;

	q[nq++] = (struct lm_s3_kv){ "list-type", "2" };
	q[nq++] = (struct lm_s3_kv){ "encoding-type", "url" };
	if (*full_prefix)
		q[nq++] = (struct lm_s3_kv){ "prefix", full_prefix };
	if (delim)
		q[nq++] = (struct lm_s3_kv){ "delimiter", "/" };
	if (token)
		q[nq++] = (struct lm_s3_kv){ "continuation-token", token };
	else if (full_start)
		q[nq++] = (struct lm_s3_kv){ "start-after", full_start };
	if (max_keys) {
		snprintf(mk, sizeof(mk), "%u", max_keys);
		q[nq++] = (struct lm_s3_kv){ "max-keys", mk };
	}
	memset(x, 0, sizeof(*x));
	x->method = "GET";
	x->query = q;
	x->nquery = nq;
	x->body = body;
	x->quiet = quiet;
	snprintf(what, sizeof(what), "s3://%s/%s (listing)", st->bucket, full_prefix);
	return do_request(st, x, what, attempts, max_ms, NULL, NULL, err);
}

static int s3_list(struct lm_store *s, const char *prefix, const char *start_after,
		   int flags, lm_list_cb cb, void *ud, struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	size_t pl = strlen(st->prefix);
	struct lm_buf body, fp, fs;
	struct lm_s3xml_page page;
	struct rel_ent *ents = NULL;
	size_t nents = 0;
	char *token = NULL;
	struct xfer x;
	int rc = 0;

	lm_buf_init(&body, LISTBODY_MAX);
	lm_buf_init(&fp, 1 << 16);
	lm_buf_init(&fs, 1 << 16);
	lm_s3xml_page_init(&page);
	rc = lm_buf_printf(&fp, "%s%s%s", st->prefix, pl ? "/" : "", prefix);
	if (!rc && start_after)
		rc = lm_buf_printf(&fs, "%s%s%s", st->prefix, pl ? "/" : "", start_after);
	if (rc)
		goto out;
	for (unsigned pageno = 0;; pageno++) {
		rc = list_page(st, fp.data, start_after ? fs.data : NULL, token,
			       flags & LM_LIST_DELIM, st->list_max_keys, st->retry_max,
			       st->retry_total_ms, false, &body, &x, err);
		if (rc)
			goto out;
		lm_s3xml_page_free(&page);
		lm_s3xml_page_init(&page);
		rc = lm_s3xml_parse_list(body.data ? body.data : "", body.len, &page, err);
		if (rc) {
			lm_err_prefix(err, "s3://%s/%s: listing page %u: ", st->bucket, fp.data,
				      pageno + 1);
			goto out;
		}
		ents = calloc(page.n ? page.n : 1, sizeof(*ents));
		if (!ents) {
			rc = ENOMEM;
			goto out;
		}
		nents = 0;
		for (size_t i = 0; i < page.n; i++) {
			struct lm_s3xml_entry *e = &page.v[i];
			const char *rel = e->key;
			size_t rl;

			if (pl) {
				if (strncmp(rel, st->prefix, pl) != 0 || rel[pl] != '/')
					continue;
				rel += pl + 1;
			}
			rl = strlen(rel);
			if (rl == 0 || (!e->is_prefix && rel[rl - 1] == '/'))
				continue;   /* the folder itself, or a "dir/" marker object */
			{
				char *chk = lm_strndup(rel, e->is_prefix && rel[rl - 1] == '/' ? rl - 1
											 : rl);
				bool ok = chk && lm_relpath_ok(chk);

				free(chk);
				if (!ok) {
					lm_debug("s3: skipping key '%s': not a plain relative path",
						 e->key);
					continue;
				}
			}
			if (start_after && strcmp(rel, start_after) <= 0)
				continue;
			ents[nents].key = (char *)rel;
			ents[nents].is_prefix = e->is_prefix;
			if (!e->is_prefix) {
				ents[nents].info.size = e->size;
				ents[nents].info.mtime_ms = e->mtime_ms;
				snprintf(ents[nents].info.etag, sizeof(ents[nents].info.etag), "%s",
					 e->etag);
			}
			nents++;
		}
		qsort(ents, nents, sizeof(*ents), rel_ent_cmp);
		for (size_t i = 0; i < nents; i++) {
			struct lm_list_entry le = { .key = ents[i].key,
						    .is_prefix = ents[i].is_prefix,
						    .info = ents[i].info };

			rc = cb(ud, &le);
			if (rc)
				goto out;
		}
		free(ents);
		ents = NULL;
		if (!page.truncated)
			break;
		if (token && !strcmp(token, page.next_token)) {
			rc = lm_err_set(err, LM_EFORMAT,
					"s3://%s/%s: listing repeats its continuation token", st->bucket,
					fp.data);
			goto out;
		}
		free(token);
		token = page.next_token;
		page.next_token = NULL;
	}
out:
	free(ents);
	free(token);
	lm_s3xml_page_free(&page);
	lm_buf_free(&body);
	lm_buf_free(&fp);
	lm_buf_free(&fs);
	return rc;
}

static int s3_uri_to_key(struct lm_store *s, const char *uri, char **out, struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	static const char *const schemes[] = { "s3://", "s3a://", "s3n://" };
	size_t bl = strlen(st->bucket), pl = strlen(st->prefix);
	const char *p = NULL;

	for (size_t i = 0; i < 3 && !p; i++)
		if (!strncasecmp(uri, schemes[i], strlen(schemes[i])))
			p = uri + strlen(schemes[i]);
	if (!p)
		return lm_err_set(err, LM_EESCAPE, "'%s' is not an s3:// URI inside %s", uri,
				  s->uri);
	if (strncmp(p, st->bucket, bl) != 0 || p[bl] != '/')
		return lm_err_set(err, LM_EESCAPE, "'%s' is outside the bucket of %s", uri, s->uri);
	p += bl + 1;
	if (pl) {
		if (strncmp(p, st->prefix, pl) != 0 || p[pl] != '/')
			return lm_err_set(err, LM_EESCAPE, "'%s' is outside the source %s", uri,
					  s->uri);
		p += pl + 1;
	}
	if (!lm_relpath_ok(p))
		return lm_err_set(err, LM_EESCAPE, "'%s' is not a plain path inside %s", uri,
				  s->uri);
	*out = strdup(p);
	return *out ? 0 : ENOMEM;
}

static void s3_destroy(struct lm_store *s)
{
	struct s3_store *st = (struct s3_store *)s;

	if (!st)
		return;
	if (st->pool) {
		for (unsigned i = 0; i < st->npool; i++)
			hctx_free(st->pool[i]);
		free(st->pool);
	}
	if (st->share) {
		curl_share_cleanup(st->share);
		for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&st->share_mu[i]);
	}
	pthread_mutex_destroy(&st->pool_mu);
	if (st->creds_init)
		lm_s3_creds_free(&st->creds);
	free(st->bucket);
	free(st->prefix);
	free(st->scheme);
	free(st->hosthdr);
	free(st->base_path);
	free(st->endpoint);
	free(st->ca_file);
	free(st->base.uri);
	free(st);
}

static void s3_stats(struct lm_store *s, struct lm_store_stats *out)
{
	struct s3_store *st = (struct s3_store *)s;

	out->requests = atomic_load(&st->n_requests);
	out->retries = atomic_load(&st->n_retries);
	out->throttled = atomic_load(&st->n_throttled);
}

static const struct lm_store_ops s3_ops = {
	.name = "s3",
	.stats = s3_stats,
	.get_range = s3_get_range,
	.head = s3_head,
	.list = s3_list,
	.uri_to_key = s3_uri_to_key,
	.destroy = s3_destroy,
};

/* ---- open ---- */

static bool bucket_ok(const char *b, size_t n)
{
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool dns_bucket(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
		      b[i] == '.'))
			return false;
	return true;
}

static bool region_ok(const char *r)
{
	if (!*r || strlen(r) >= 64)
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') ||
		      (*r >= '0' && *r <= '9') || *r == '-' || *r == '_'))
			return false;
	return true;
}

static bool is_ip_or_localhost(const char *host, size_t n)
{
	size_t dots = 0;
	bool digits_only = true;

	if (n && host[0] == '[')
		return true;
	if (n == 9 && !strncasecmp(host, "localhost", 9))
		return true;
	for (size_t i = 0; i < n; i++) {
		if (host[i] == '.')
			dots++;
		else if (host[i] < '0' || host[i] > '9')
			digits_only = false;
	}
	return digits_only && dots == 3;
}

/* Parse scheme://authority[/path] of the endpoint; decide the Host header. */
static int parse_endpoint(struct s3_store *st, const char *ep, bool force_path,
			  struct lm_err *err)
{
	const char *sep = strstr(ep, "://"), *auth, *slash, *hostend;
	size_t alen;
	char *authority = NULL;
	int rc = 0;

	if (sep) {
		size_t sl = (size_t)(sep - ep);

		if (!((sl == 4 && !strncasecmp(ep, "http", 4)) ||
		      (sl == 5 && !strncasecmp(ep, "https", 5))))
			return lm_err_set(err, LM_ECONFIG,
					  "endpoint '%s': only http:// and https:// are supported", ep);
		st->scheme = lm_strndup(ep, sl);
		auth = sep + 3;
	} else {
		st->scheme = strdup("https");
		auth = ep;
	}
	if (!st->scheme)
		return ENOMEM;
	for (char *c = st->scheme; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (alen == 0 || memchr(auth, '@', alen) || strpbrk(auth, "?# \t\r\n"))
		return lm_err_set(err, LM_ECONFIG, "endpoint '%s': expected scheme://host[:port]",
				  ep);
	authority = lm_strndup(auth, alen);
	st->base_path = strdup(slash ? slash : "");
	if (!authority || !st->base_path) {
		rc = ENOMEM;
		goto out;
	}
	{
		size_t bl = strlen(st->base_path);

		while (bl && st->base_path[bl - 1] == '/')
			st->base_path[--bl] = '\0';
	}
	if (authority[0] == '[') {
		const char *rb = strchr(authority, ']');

		hostend = rb ? rb + 1 : authority + alen;
	} else {
		const char *colon = strchr(authority, ':');

		hostend = colon ? colon : authority + alen;
	}
	st->path_style = force_path || is_ip_or_localhost(authority, (size_t)(hostend - authority)) ||
			 !dns_bucket(st->bucket) ||
			 (strchr(st->bucket, '.') && !strcmp(st->scheme, "https"));
	if (st->path_style) {
		st->hosthdr = strdup(authority);
	} else {
		size_t n = strlen(st->bucket) + alen + 2;

		st->hosthdr = malloc(n);
		if (st->hosthdr)
			snprintf(st->hosthdr, n, "%s.%s", st->bucket, authority);
	}
	if (!st->hosthdr)
		rc = ENOMEM;
out:
	free(authority);
	return rc;
}

static unsigned dflt(unsigned v, unsigned d)
{
	return v ? v : d;
}

int lm_store_s3_open(const char *source, const void *opts, struct lm_store **out,
		     struct lm_err *err)
{
	const struct lm_s3_config *cfg = opts;
	struct lm_s3_config def;
	struct s3_store *st = NULL;
	const char *p, *slash, *ep, *ca;
	char regbuf[64], epbuf[200];
	int rc = 0;

	if (!cfg) {
		lm_s3_config_init(&def);
		cfg = &def;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return lm_err_set(err, EIO, "libcurl initialisation failed");
	if (strncmp(source, "s3://", 5) != 0)
		return lm_err_set(err, LM_ECONFIG, "%s: not an s3://bucket[/prefix] source", source);
	st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	st->base.ops = &s3_ops;
	pthread_mutex_init(&st->pool_mu, NULL);
	p = source + 5;
	slash = strchr(p, '/');
	if (!bucket_ok(p, slash ? (size_t)(slash - p) : strlen(p))) {
		rc = lm_err_set(err, LM_ECONFIG, "%s: bad bucket name", source);
		goto out;
	}
	st->bucket = lm_strndup(p, slash ? (size_t)(slash - p) : strlen(p));
	if (!st->bucket) {
		rc = ENOMEM;
		goto out;
	}
	{
		const char *pre = slash ? slash + 1 : "";
		size_t n = strlen(pre);

		while (n && pre[n - 1] == '/')
			n--;
		st->prefix = lm_strndup(pre, n);
		if (!st->prefix) {
			rc = ENOMEM;
			goto out;
		}
		if (n && !lm_relpath_ok(st->prefix)) {
			rc = lm_err_set(err, LM_ECONFIG,
					"%s: prefix must be a plain path (no '.', '..' or empty parts)",
					source);
			goto out;
		}
		n = strlen(st->bucket) + strlen(st->prefix) + 8;
		st->base.uri = malloc(n);
		if (!st->base.uri) {
			rc = ENOMEM;
			goto out;
		}
		snprintf(st->base.uri, n, "s3://%s%s%s", st->bucket, *st->prefix ? "/" : "",
			 st->prefix);
	}
	st->connect_ms = dflt(cfg->connect_timeout_ms, 5000);
	st->stall_ms = dflt(cfg->stall_timeout_ms, 20000);
	st->retry_max = dflt(cfg->retry_max, 8);
	st->retry_total_ms = dflt(cfg->retry_total_ms, 60000);
	st->retry_base_ms = dflt(cfg->retry_base_ms, 100);
	st->pool_size = dflt(cfg->pool_size, 32);
	st->list_max_keys = cfg->list_max_keys;
	st->pool = calloc(st->pool_size, sizeof(*st->pool));
	if (!st->pool) {
		rc = ENOMEM;
		goto out;
	}

	/* Region: option, AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1. */
	if (cfg->region && *cfg->region) {
		snprintf(st->region, sizeof(st->region), "%s", cfg->region);
		snprintf(st->region_from, sizeof(st->region_from), "-o region");
	} else if ((p = getenv("AWS_REGION")) && *p) {
		snprintf(st->region, sizeof(st->region), "%s", p);
		snprintf(st->region_from, sizeof(st->region_from), "AWS_REGION");
	} else if ((p = getenv("AWS_DEFAULT_REGION")) && *p) {
		snprintf(st->region, sizeof(st->region), "%s", p);
		snprintf(st->region_from, sizeof(st->region_from), "AWS_DEFAULT_REGION");
	} else if (lm_s3_profile_region(cfg, regbuf, sizeof(regbuf)) == 0) {
		snprintf(st->region, sizeof(st->region), "%s", regbuf);
		snprintf(st->region_from, sizeof(st->region_from), "the profile");
	} else {
		snprintf(st->region, sizeof(st->region), "us-east-1");
		snprintf(st->region_from, sizeof(st->region_from), "the default");
	}
	if (!region_ok(st->region)) {
		rc = lm_err_set(err, LM_ECONFIG, "region '%s' (from %s) is not a region name",
				st->region, st->region_from);
		goto out;
	}

	/* Endpoint: option, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS default. */
	ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : NULL;
	if (!ep && (p = getenv("AWS_ENDPOINT_URL_S3")) && *p)
		ep = p;
	if (!ep && (p = getenv("AWS_ENDPOINT_URL")) && *p)
		ep = p;
	if (!ep) {
		snprintf(epbuf, sizeof(epbuf), "https://s3.%s.amazonaws.com", st->region);
		ep = epbuf;
	}
	st->endpoint = strdup(ep);
	if (!st->endpoint) {
		rc = ENOMEM;
		goto out;
	}
	rc = parse_endpoint(st, ep, cfg->path_style, err);
	if (rc)
		goto out;

	ca = cfg->ca_file && *cfg->ca_file ? cfg->ca_file : getenv("AWS_CA_BUNDLE");
	if (ca && *ca) {
		if (access(ca, R_OK) != 0) {
			rc = lm_err_set(err, LM_ECONFIG, "CA bundle %s: %s", ca, strerror(errno));
			goto out;
		}
		st->ca_file = strdup(ca);
		if (!st->ca_file) {
			rc = ENOMEM;
			goto out;
		}
	}

	rc = lm_s3_creds_resolve(&st->creds, cfg, err);
	st->creds_init = true;   /* resolve initialises the source even when it fails */
	if (rc)
		goto out;

	st->share = curl_share_init();
	if (!st->share) {
		rc = ENOMEM;
		goto out;
	}
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&st->share_mu[i], NULL);
	curl_share_setopt(st->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(st->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(st->share, CURLSHOPT_USERDATA, st);
	curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	lm_debug("s3: %s via %s (%s style, region %s from %s, credentials: %s)", st->base.uri,
		 st->endpoint, st->path_style ? "path" : "virtual-hosted", st->region,
		 st->region_from, st->creds.desc);
out:
	if (rc) {
		s3_destroy(&st->base);
		return rc;
	}
	*out = &st->base;
	return 0;
}

const char *lm_store_s3_cred_source(struct lm_store *s)
{
	struct s3_store *st = (struct s3_store *)s;

	return s && s->ops == &s3_ops ? st->creds.desc : "";
}

int lm_store_s3_reload_credentials(struct lm_store *s, const struct lm_s3_config *cfg,
				   struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;

	if (!s || s->ops != &s3_ops || !st->creds_init)
		return 0;
	return lm_s3_creds_reload(&st->creds, cfg, err);
}

/* ---- start-up check ---- */

int lm_store_s3_check(struct lm_store *s, struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	struct lm_buf body, fp;
	struct lm_s3xml_page page;
	struct xfer x;
	struct lm_s3_creds cr;
	const char *code, *region;
	char where[1400];
	int rc;

	if (!s || s->ops != &s3_ops)
		return lm_err_set(err, EINVAL, "not an S3 store");
	lm_buf_init(&body, LISTBODY_MAX);
	lm_buf_init(&fp, 1 << 16);
	lm_s3xml_page_init(&page);
	rc = lm_buf_printf(&fp, "%s%s", st->prefix, *st->prefix ? "/" : "");
	if (rc)
		goto out;
	snprintf(where, sizeof(where), "%s (endpoint %s, region %s)", s->uri, st->endpoint,
		 st->region);
	rc = list_page(st, fp.data, NULL, NULL, true, 1, st->retry_max < 3 ? st->retry_max : 3,
		       st->retry_total_ms < 10000 ? st->retry_total_ms : 10000, true, &body, &x,
		       err);
	if (rc == 0) {
		rc = lm_s3xml_parse_list(body.data ? body.data : "", body.len, &page, err);
		if (rc)
			lm_err_prefix(err, "%s: the endpoint does not answer like S3: ", where);
		goto out;
	}
	memset(&cr, 0, sizeof(cr));
	if (st->creds.kind != LM_S3_CRED_ANON)
		lm_s3_creds_get(&st->creds, &cr, NULL);
	explicit_bzero(cr.secret, sizeof(cr.secret));
	explicit_bzero(cr.token, sizeof(cr.token));
	code = x.s3err.code;
	region = x.bucket_region[0] ? x.bucket_region : x.s3err.region;
	if (x.status == 0) {
		if (rc == LM_ECONFIG)
			goto out;   /* TLS trust: already says what to do */
		if (x.cc != CURLE_OK)
			rc = lm_err_set(err, EHOSTUNREACH,
					"cannot reach the S3 endpoint %s (%s): check -o endpoint= / "
					"AWS_ENDPOINT_URL and the network",
					st->endpoint, x.why[0] ? x.why : curl_easy_strerror(x.cc));
		goto out;
	}
	if (!strcmp(code, "SignatureDoesNotMatch")) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: the secret key is wrong for access key %s (SignatureDoesNotMatch; "
				"credentials from %s): fix AWS_SECRET_ACCESS_KEY or the profile's "
				"aws_secret_access_key",
				where, cr.akid, st->creds.desc);
	} else if (!strcmp(code, "InvalidAccessKeyId")) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: access key %s is not known to this endpoint (InvalidAccessKeyId; "
				"credentials from %s): fix AWS_ACCESS_KEY_ID or the profile, or check "
				"-o endpoint=",
				where, cr.akid, st->creds.desc);
	} else if (!strcmp(code, "InvalidToken") || !strcmp(code, "ExpiredToken")) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: the session token is %s (%s; credentials from %s): refresh "
				"AWS_SESSION_TOKEN or the profile",
				where, code[0] == 'E' ? "expired" : "invalid", code, st->creds.desc);
	} else if (!strcmp(code, "RequestTimeTooSkewed")) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: this machine's clock is too far from the server's "
				"(RequestTimeTooSkewed): fix the system time",
				where);
	} else if (!strcmp(code, "NoSuchBucket") || (x.status == 404 && !code[0])) {
		rc = lm_err_set(err, ENOENT,
				"%s: bucket '%s' does not exist at %s: check the bucket name%s", where,
				st->bucket, st->endpoint,
				st->endpoint[0] ? " and -o endpoint=" : "");
	} else if ((x.status == 301 || x.status == 307 || x.status == 400) && *region &&
		   strcmp(region, st->region) != 0) {
		rc = lm_err_set(err, LM_ECONFIG,
				"%s: bucket '%s' is in region %s, not %s (from %s): use -o region=%s",
				where, st->bucket, region, st->region, st->region_from, region);
	} else if (!strcmp(code, "AuthorizationHeaderMalformed") || x.status == 301 ||
		   !strcmp(code, "PermanentRedirect")) {
		rc = lm_err_set(err, LM_ECONFIG,
				"%s: the bucket is not served here with region %s (%s): set -o region= "
				"to the bucket's region or fix -o endpoint=",
				where, st->region, code[0] ? code : "redirect");
	} else if (x.status == 403 && st->creds.kind == LM_S3_CRED_ANON) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: anonymous access denied (%s): provide credentials and drop "
				"-o no_sign_request",
				where, code[0] ? code : "403");
	} else if (x.status == 403) {
		rc = lm_err_set(err, LM_EAUTH,
				"%s: access denied (%s%s%s; credentials from %s): the credentials need "
				"s3:ListBucket on the bucket and s3:GetObject on the prefix",
				where, code[0] ? code : "403", x.s3err.message[0] ? ": " : "",
				x.s3err.message, st->creds.desc);
	} else {
		lm_err_prefix(err, "start-up check: ");
	}
out:
	lm_s3xml_page_free(&page);
	lm_buf_free(&body);
	lm_buf_free(&fp);
	return rc;
}

/* ---- writes, for tools and tests ---- */

static int put_common(struct s3_store *st, const char *key, int fd, const void *mem,
		      uint64_t size, struct lm_err *err)
{
	char hash[65], what[1200];
	struct xfer x;
	char *fk = NULL;
	int rc;

	if (!lm_relpath_ok(key))
		return lm_err_set(err, LM_EESCAPE, "refused key '%s'", key);
	fk = full_key(st, key);
	if (!fk)
		return ENOMEM;
	key_uri(st, fk, what, sizeof(what));
	if (mem) {
		lm_sha256_hex(mem, (size_t)size, hash);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char buf[1 << 16], dig[32];
		unsigned int dl = 0;
		uint64_t off = 0;

		if (!md) {
			rc = ENOMEM;
			goto out;
		}
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		while (off < size) {
			size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
			ssize_t r = pread(fd, buf, want, (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				EVP_MD_CTX_free(md);
				rc = lm_err_set(err, r < 0 ? errno : EIO, "%s: reading the source: %s",
						what, r < 0 ? strerror(errno) : "file shrank");
				goto out;
			}
			EVP_DigestUpdate(md, buf, (size_t)r);
			off += (uint64_t)r;
		}
		EVP_DigestFinal_ex(md, dig, &dl);
		EVP_MD_CTX_free(md);
		for (int i = 0; i < 32; i++)
			snprintf(hash + 2 * i, 3, "%02x", dig[i]);
	}
	memset(&x, 0, sizeof(x));
	x.method = "PUT";
	x.key = fk;
	x.payload_hash = hash;
	x.upload = true;
	x.up_fd = fd;
	x.up_mem = mem;
	x.up_len = size;
	rc = do_request(st, &x, what, st->retry_max, st->retry_total_ms, NULL, NULL, err);
out:
	free(fk);
	return rc;
}

int lm_s3_put_mem(struct lm_store *s, const char *key, const void *data, size_t len,
		  struct lm_err *err)
{
	if (!s || s->ops != &s3_ops)
		return lm_err_set(err, EINVAL, "not an S3 store");
	return put_common((struct s3_store *)s, key, -1, data ? data : "", len, err);
}

int lm_s3_put_fd(struct lm_store *s, const char *key, int fd, uint64_t size,
		 struct lm_err *err)
{
	if (!s || s->ops != &s3_ops)
		return lm_err_set(err, EINVAL, "not an S3 store");
	return put_common((struct s3_store *)s, key, fd, NULL, size, err);
}

int lm_s3_delete(struct lm_store *s, const char *key, struct lm_err *err)
{
	struct s3_store *st = (struct s3_store *)s;
	char what[1200];
	struct xfer x;
	char *fk;
	int rc;

	if (!s || s->ops != &s3_ops)
		return lm_err_set(err, EINVAL, "not an S3 store");
	if (!lm_relpath_ok(key))
		return lm_err_set(err, LM_EESCAPE, "refused key '%s'", key);
	fk = full_key(st, key);
	if (!fk)
		return ENOMEM;
	key_uri(st, fk, what, sizeof(what));
	memset(&x, 0, sizeof(x));
	x.method = "DELETE";
	x.key = fk;
	x.payload_hash = LM_SHA256_EMPTY;
	rc = do_request(st, &x, what, st->retry_max, st->retry_total_ms, NULL, NULL, err);
	if (rc == ENOENT)
		rc = 0;
	free(fk);
	return rc;
}
