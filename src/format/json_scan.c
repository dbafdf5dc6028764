/* json_scan.c — strict JSON scanning without allocation: skip values, read strings,
 * exact integers and booleans. Used by the Delta commit decoder's fast path; anything it
 * does not accept falls back to cJSON, which then decides (and words the error).
 * May call: libc. */
#include <string.h>

#include "json_scan.h"

#define MAX_DEPTH 64

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char lm_jscan_peek(struct lm_jscan *s)
{
	while (s->p < s->end && ws(*s->p))
		s->p++;
	return s->p < s->end ? *s->p : 0;
}

bool lm_jscan_eat(struct lm_jscan *s, char c)
{
	if (lm_jscan_peek(s) != c)
		return false;
	s->p++;
	return true;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

bool lm_jscan_string(struct lm_jscan *s, const char **raw, size_t *len, bool *escaped)
{
	const char *p;

	if (lm_jscan_peek(s) != '"')
		return false;
	p = ++s->p;
	*escaped = false;
	while (p < s->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			*raw = s->p;
			*len = (size_t)(p - s->p);
			s->p = p + 1;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			*escaped = true;
			if (p + 1 >= s->end)
				return false;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u': {
				int u;

				if (s->end - p < 6 || (u = hex4(p + 2)) < 0)
					return false;
				p += 6;
				/* UTF-16 surrogates must pair up (as cJSON requires); \u0000
				 * is refused (it would end a C string). */
				if (u == 0 || (u >= 0xdc00 && u <= 0xdfff))
					return false;
				if (u >= 0xd800 && u <= 0xdbff) {
					int lo;

					if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    (lo = hex4(p + 2)) < 0xdc00 || lo > 0xdfff)
						return false;
					p += 6;
				}
				continue;
			}
			default:
				return false;
			}
		}
		p++;
	}
	return false;
}

static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t lm_jscan_unescape(const char *raw, size_t len, char *dst)
{
	size_t i = 0, j = 0;

	while (i < len) {
		if (raw[i] != '\\') {
			dst[j++] = raw[i++];
			continue;
		}
		if (i + 1 >= len)
			return (size_t)-1;
		switch (raw[i + 1]) {
		case '"': dst[j++] = '"'; break;
		case '\\': dst[j++] = '\\'; break;
		case '/': dst[j++] = '/'; break;
		case 'b': dst[j++] = '\b'; break;
		case 'f': dst[j++] = '\f'; break;
		case 'n': dst[j++] = '\n'; break;
		case 'r': dst[j++] = '\r'; break;
		case 't': dst[j++] = '\t'; break;
		case 'u': {
			int hi, lo;
			unsigned cp;

			if (i + 6 > len || (hi = hex4(raw + i + 2)) < 0)
				return (size_t)-1;
			cp = (unsigned)hi;
			i += 6;
			if (hi >= 0xd800 && hi <= 0xdbff) {
				/* a surrogate pair: \uD83D\uDE00 */
				if (i + 6 > len || raw[i] != '\\' || raw[i + 1] != 'u' ||
				    (lo = hex4(raw + i + 2)) < 0xdc00 || lo > 0xdfff)
					return (size_t)-1;
				cp = 0x10000 + (((unsigned)hi - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
				i += 6;
			} else if (hi >= 0xdc00 && hi <= 0xdfff) {
				return (size_t)-1;
			}
			if (cp == 0)
				return (size_t)-1;   /* NUL cannot be part of a C string */
			/* "\uXXXX" is 6 bytes, its UTF-8 at most 3 (4 for a 12-byte pair). */
			j += put_utf8(dst + j, cp);
			continue;
		}
		default:
			return (size_t)-1;
		}
		i += 2;
	}
	dst[j] = '\0';
	return j;
}

static bool skip_number(struct lm_jscan *s)
{
	const char *p = s->p;

	if (p < s->end && *p == '-')
		p++;
	if (p >= s->end)
		return false;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return false;
	}
	if (p < s->end && *p == '.') {
		p++;
		if (p >= s->end || *p < '0' || *p > '9')
			return false;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->end || *p < '0' || *p > '9')
			return false;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
	return true;
}

static bool literal(struct lm_jscan *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	return true;
}

bool lm_jscan_skip(struct lm_jscan *s)
{
	const char *raw;
	size_t len;
	bool esc, ok = true;

	switch (lm_jscan_peek(s)) {
	case '"':
		return lm_jscan_string(s, &raw, &len, &esc);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	case '{':
		if (++s->depth > MAX_DEPTH)
			return false;
		s->p++;
		if (lm_jscan_eat(s, '}')) {
			s->depth--;
			return true;
		}
		do {
			ok = lm_jscan_string(s, &raw, &len, &esc) && lm_jscan_eat(s, ':') &&
			     lm_jscan_skip(s);
		} while (ok && lm_jscan_eat(s, ','));
		s->depth--;
		return ok && lm_jscan_eat(s, '}');
	case '[':
		if (++s->depth > MAX_DEPTH)
			return false;
		s->p++;
		if (lm_jscan_eat(s, ']')) {
			s->depth--;
			return true;
		}
		do {
			ok = lm_jscan_skip(s);
		} while (ok && lm_jscan_eat(s, ','));
		s->depth--;
		return ok && lm_jscan_eat(s, ']');
	case 0:
		return false;
	default:
		return skip_number(s);
	}
}

bool lm_jscan_int(struct lm_jscan *s, int64_t *out)
{
	const char *p;
	uint64_t v = 0;
	bool neg = false;

	lm_jscan_peek(s);
	p = s->p;
	if (p < s->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= s->end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < s->end && p[1] >= '0' && p[1] <= '9'))
		return false;
	while (p < s->end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return false;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	s->p = p;
	return true;
}

bool lm_jscan_bool(struct lm_jscan *s, bool *out)
{
	char c = lm_jscan_peek(s);

	if (c == 't' && literal(s, "true")) {
		*out = true;
		return true;
	}
	if (c == 'f' && literal(s, "false")) {
		*out = false;
		return true;
	}
	return false;
}

bool lm_jscan_null(struct lm_jscan *s)
{
	return lm_jscan_peek(s) == 'n' && literal(s, "null");
}
