/* util.c — parsing, percent-decoding, path checks, hashing, clocks.
 * May call: libc. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lm/util.h"

int lm_parse_i64n(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (n && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i >= n)
		return EINVAL;
	for (; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return ERANGE;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return ERANGE;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return ERANGE;
		*out = (int64_t)v;
	}
	return 0;
}

int lm_parse_i64(const char *s, int64_t *out)
{
	return lm_parse_i64n(s, strlen(s), out);
}

int lm_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lm_pct_decode(const char *s, size_t n, char **out)
{
	return lm_pct_decode_opt(s, n, false, out);
}

int lm_pct_decode_opt(const char *s, size_t n, bool plus_is_space, char **out)
{
	char *d = malloc(n + 1);
	size_t j = 0;

	if (!d)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n) {
				free(d);
				return EINVAL;
			}
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(d);
				return EINVAL;
			}
			d[j++] = (char)(h * 16 + l);
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			d[j++] = ' ';
		} else if (s[i] == '\0') {
			free(d);
			return EINVAL;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

bool lm_relpath_ok(const char *p)
{
	const char *c = p;

	if (!p || !*p || *p == '/')
		return false;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!e)
			break;
		c = e + 1;
	}
	return true;
}

bool lm_path_hidden(const char *rel)
{
	for (const char *c = rel;;) {
		const char *slash;

		if (*c == '_' || *c == '.')
			return true;
		slash = strchr(c, '/');
		if (!slash)
			return false;
		c = slash + 1;
	}
}

char *lm_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r;

	while (la && a[la - 1] == '/')
		la--;
	while (lb && *b == '/') {
		b++;
		lb--;
	}
	r = malloc(la + lb + 2);
	if (!r)
		return NULL;
	memcpy(r, a, la);
	if (la && lb)
		r[la++] = '/';
	memcpy(r + la, b, lb);
	r[la + lb] = '\0';
	return r;
}

uint64_t lm_hash64(const void *p, size_t n)
{
	/* FNV-1a, then a final avalanche (splitmix64) for open addressing. */
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int64_t lm_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t lm_mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void lm_fmt_time_ms(int64_t ms, char *out, size_t outsz)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)s * 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%s.%03dZ", base, frac);
}

char *lm_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void lm_prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	long v = sysconf(_SC_PAGESIZE);
	size_t pg = v > 0 ? (size_t)v : 4096;
	uintptr_t a, e;

	a = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1);
	e = ((uintptr_t)p + n) & ~(uintptr_t)(pg - 1);
	if (e > a + 16 * pg)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}
