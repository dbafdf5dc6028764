/* s3xml.c — pure decoders for S3 XML documents: ListObjectsV2 pages and <Error>
 * bodies. Owns the expat parser for the duration of one call; nothing outlives it but
 * the decoded structs. Caps: input size, text per element, entries per page; DTDs and
 * entity declarations stop the parse (no entity expansion attacks).
 * May call: expat, libc, util. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "lm/s3xml.h"
#include "lm/util.h"

/* Which element's text is being collected. */
enum field {
	F_NONE = 0,
	F_TRUNCATED,
	F_TOKEN,
	F_ENCODING,
	F_KEYCOUNT,
	F_KEY,
	F_MTIME,
	F_ETAG,
	F_SIZE,
	F_PREFIX,
	F_ERR_CODE,
	F_ERR_MESSAGE,
	F_ERR_REGION,
	F_ERR_ENDPOINT,
};

enum ctx { C_NONE = 0, C_CONTENTS, C_PREFIXES };

struct pstate {
	XML_Parser xp;
	int depth;
	bool error_doc;       /* parsing an <Error> document */
	bool root_ok;
	enum ctx ctx;         /* inside <Contents> / <CommonPrefixes> */
	enum field field;
	char text[LM_S3XML_MAX_TEXT + 1];
	size_t tlen;
	bool text_overflow;
	int rc;               /* first failure (stops the parser) */
	char why[160];
	/* list output */
	struct lm_s3xml_page *page;
	struct lm_s3xml_entry cur;
	bool have_key;
	/* error output */
	struct lm_s3xml_error *edoc;
};

static const char *local_name(const char *n)
{
	const char *c = strrchr(n, ':');

	return c ? c + 1 : n;
}

static void fail(struct pstate *ps, int rc, const char *why)
{
	if (ps->rc)
		return;
	ps->rc = rc;
	snprintf(ps->why, sizeof(ps->why), "%s", why);
	XML_StopParser(ps->xp, XML_FALSE);
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' ||
		      (*s)[*n - 1] == '\r'))
		(*n)--;
}

static void copy_capped(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int page_push(struct lm_s3xml_page *p, struct lm_s3xml_entry *e)
{
	if (p->n >= LM_S3XML_MAX_ENTRIES)
		return LM_ETOOBIG;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		struct lm_s3xml_entry *v = realloc(p->v, nc * sizeof(*v));

		if (!v)
			return ENOMEM;
		p->v = v;
		p->cap = nc;
	}
	p->v[p->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct pstate *ps = ud;
	const char *n = local_name(name);

	(void)attrs;
	ps->depth++;
	ps->field = F_NONE;
	ps->tlen = 0;
	ps->text_overflow = false;
	if (ps->depth > 16) {
		fail(ps, LM_EFORMAT, "elements nested too deeply");
		return;
	}
	if (ps->depth == 1) {
		if (ps->error_doc ? strcmp(n, "Error") == 0 : strcmp(n, "ListBucketResult") == 0)
			ps->root_ok = true;
		else
			fail(ps, LM_EFORMAT, ps->error_doc ? "root element is not <Error>"
							   : "root element is not <ListBucketResult>");
		return;
	}
	if (ps->error_doc) {
		if (ps->depth != 2)
			return;
		if (!strcmp(n, "Code"))
			ps->field = F_ERR_CODE;
		else if (!strcmp(n, "Message"))
			ps->field = F_ERR_MESSAGE;
		else if (!strcmp(n, "Region"))
			ps->field = F_ERR_REGION;
		else if (!strcmp(n, "Endpoint"))
			ps->field = F_ERR_ENDPOINT;
		return;
	}
	if (ps->depth == 2) {
		if (!strcmp(n, "Contents")) {
			ps->ctx = C_CONTENTS;
			memset(&ps->cur, 0, sizeof(ps->cur));
			ps->have_key = false;
		} else if (!strcmp(n, "CommonPrefixes")) {
			ps->ctx = C_PREFIXES;
			memset(&ps->cur, 0, sizeof(ps->cur));
			ps->cur.is_prefix = true;
			ps->have_key = false;
		} else if (!strcmp(n, "IsTruncated")) {
			ps->field = F_TRUNCATED;
		} else if (!strcmp(n, "NextContinuationToken")) {
			ps->field = F_TOKEN;
		} else if (!strcmp(n, "EncodingType")) {
			ps->field = F_ENCODING;
		} else if (!strcmp(n, "KeyCount")) {
			ps->field = F_KEYCOUNT;
		}
		return;
	}
	if (ps->depth == 3 && ps->ctx == C_CONTENTS) {
		if (!strcmp(n, "Key"))
			ps->field = F_KEY;
		else if (!strcmp(n, "LastModified"))
			ps->field = F_MTIME;
		else if (!strcmp(n, "ETag"))
			ps->field = F_ETAG;
		else if (!strcmp(n, "Size"))
			ps->field = F_SIZE;
	} else if (ps->depth == 3 && ps->ctx == C_PREFIXES) {
		if (!strcmp(n, "Prefix"))
			ps->field = F_PREFIX;
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct pstate *ps = ud;
	size_t n = (size_t)len;

	if (ps->field == F_NONE || len <= 0)
		return;
	if (ps->tlen + n > LM_S3XML_MAX_TEXT) {
		if (!ps->error_doc) {
			fail(ps, LM_ETOOBIG, "element text over the size limit");
			return;
		}
		ps->text_overflow = true;
		n = LM_S3XML_MAX_TEXT - ps->tlen;
	}
	memcpy(ps->text + ps->tlen, s, n);
	ps->tlen += n;
	ps->text[ps->tlen] = '\0';
}

static void end_list_field(struct pstate *ps)
{
	const char *t = ps->text;
	size_t n = ps->tlen;
	uint64_t u;
	char num[32];

	switch (ps->field) {
	case F_KEY:
	case F_PREFIX:
		/* Keys are taken verbatim: leading/trailing spaces are part of them. */
		if (ps->have_key) {
			fail(ps, LM_EFORMAT, "entry with two keys");
			return;
		}
		ps->cur.key = lm_strndup(t, n);
		if (!ps->cur.key) {
			fail(ps, ENOMEM, "out of memory");
			return;
		}
		ps->have_key = true;
		return;
	default:
		break;
	}
	trim(&t, &n);
	switch (ps->field) {
	case F_TRUNCATED:
		if (n == 4 && !memcmp(t, "true", 4))
			ps->page->truncated = true;
		else if (n == 5 && !memcmp(t, "false", 5))
			ps->page->truncated = false;
		else
			fail(ps, LM_EFORMAT, "<IsTruncated> is neither true nor false");
		break;
	case F_TOKEN:
		free(ps->page->next_token);
		ps->page->next_token = lm_strndup(t, n);
		if (!ps->page->next_token)
			fail(ps, ENOMEM, "out of memory");
		break;
	case F_ENCODING:
		ps->page->url_encoded = n == 3 && !memcmp(t, "url", 3);
		break;
	case F_KEYCOUNT:
	case F_SIZE:
		if (n == 0 || n >= sizeof(num)) {
			fail(ps, LM_EFORMAT, "bad number in <Size>/<KeyCount>");
			break;
		}
		memcpy(num, t, n);
		num[n] = '\0';
		if (lm_parse_u64(num, &u)) {
			fail(ps, LM_EFORMAT, "bad number in <Size>/<KeyCount>");
			break;
		}
		if (ps->field == F_SIZE) {
			ps->cur.size = u;
		} else {
			ps->page->key_count = u;
			ps->page->have_key_count = true;
		}
		break;
	case F_MTIME:
		if (lm_s3xml_parse_time(t, n, &ps->cur.mtime_ms))
			fail(ps, LM_EFORMAT, "bad <LastModified> timestamp");
		break;
	case F_ETAG:
		copy_capped(ps->cur.etag, sizeof(ps->cur.etag), t, n);
		break;
	default:
		break;
	}
}

static void end_error_field(struct pstate *ps)
{
	const char *t = ps->text;
	size_t n = ps->tlen;
	struct lm_s3xml_error *e = ps->edoc;

	trim(&t, &n);
	switch (ps->field) {
	case F_ERR_CODE:
		copy_capped(e->code, sizeof(e->code), t, n);
		break;
	case F_ERR_MESSAGE:
		copy_capped(e->message, sizeof(e->message), t, n);
		break;
	case F_ERR_REGION:
		copy_capped(e->region, sizeof(e->region), t, n);
		break;
	case F_ERR_ENDPOINT:
		copy_capped(e->endpoint, sizeof(e->endpoint), t, n);
		break;
	default:
		break;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct pstate *ps = ud;

	(void)name;
	if (ps->field != F_NONE) {
		if (ps->error_doc)
			end_error_field(ps);
		else
			end_list_field(ps);
		ps->field = F_NONE;
		ps->tlen = 0;
	}
	if (!ps->error_doc && ps->depth == 2 && ps->ctx != C_NONE && !ps->rc) {
		int rc;

		if (!ps->have_key) {
			fail(ps, LM_EFORMAT, ps->ctx == C_CONTENTS ? "<Contents> without <Key>"
								   : "<CommonPrefixes> without <Prefix>");
		} else {
			rc = page_push(ps->page, &ps->cur);
			if (rc)
				fail(ps, rc, rc == ENOMEM ? "out of memory"
							  : "too many entries in one page");
		}
		ps->ctx = C_NONE;
	}
	ps->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal;
	fail(ud, LM_EFORMAT, "document type declarations are refused");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *v,
			      int vlen, const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)pe;
	(void)v;
	(void)vlen;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, LM_EFORMAT, "entity declarations are refused");
}

static int run_parser(struct pstate *ps, const char *xml, size_t n, struct lm_err *err)
{
	enum XML_Status st;
	int rc = 0;

	if (n > LM_S3XML_MAX_INPUT)
		return lm_err_set(err, LM_ETOOBIG, "S3 XML document of %zu bytes is over the limit",
				  n);
	ps->xp = XML_ParserCreate(NULL);
	if (!ps->xp)
		return ENOMEM;
	XML_SetUserData(ps->xp, ps);
	XML_SetElementHandler(ps->xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps->xp, on_text);
	XML_SetStartDoctypeDeclHandler(ps->xp, on_doctype);
	XML_SetEntityDeclHandler(ps->xp, on_entity);
	XML_SetParamEntityParsing(ps->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(ps->xp, xml, (int)n, XML_TRUE);
	if (ps->rc) {
		rc = ps->rc;
		lm_err_set(err, rc, "S3 XML: %s", ps->why);
		goto out;
	}
	if (st != XML_STATUS_OK) {
		rc = lm_err_set(err, LM_EFORMAT, "S3 XML: %s at line %lu",
				XML_ErrorString(XML_GetErrorCode(ps->xp)),
				(unsigned long)XML_GetCurrentLineNumber(ps->xp));
		goto out;
	}
	if (!ps->root_ok)
		rc = lm_err_set(err, LM_EFORMAT, "S3 XML: empty document");
out:
	XML_ParserFree(ps->xp);
	ps->xp = NULL;
	return rc;
}

void lm_s3xml_page_init(struct lm_s3xml_page *p)
{
	memset(p, 0, sizeof(*p));
}

void lm_s3xml_page_free(struct lm_s3xml_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}

int lm_s3xml_parse_list(const char *xml, size_t n, struct lm_s3xml_page *p,
			struct lm_err *err)
{
	struct pstate *ps = calloc(1, sizeof(*ps));
	int rc;

	if (!ps)
		return ENOMEM;
	ps->page = p;
	rc = run_parser(ps, xml, n, err);
	free(ps->cur.key);
	if (rc)
		goto out;
	if (p->truncated && (!p->next_token || !*p->next_token)) {
		rc = lm_err_set(err, LM_EFORMAT,
				"S3 XML: truncated listing without <NextContinuationToken>");
		goto out;
	}
	if (p->url_encoded) {
		for (size_t i = 0; i < p->n; i++) {
			char *d = NULL;

			rc = lm_s3xml_url_decode(p->v[i].key, strlen(p->v[i].key), &d);
			if (rc) {
				rc = lm_err_set(err, rc == ENOMEM ? ENOMEM : LM_EFORMAT,
						"S3 XML: badly URL-encoded key '%s'", p->v[i].key);
				goto out;
			}
			free(p->v[i].key);
			p->v[i].key = d;
		}
	}
out:
	free(ps);
	return rc;
}

int lm_s3xml_parse_error(const char *xml, size_t n, struct lm_s3xml_error *e)
{
	struct pstate *ps = calloc(1, sizeof(*ps));
	int rc;

	memset(e, 0, sizeof(*e));
	if (!ps)
		return ENOMEM;
	ps->error_doc = true;
	ps->edoc = e;
	rc = run_parser(ps, xml, n, NULL);
	free(ps);
	return rc;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int lm_s3xml_parse_time(const char *s, size_t n, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19;

	/* YYYY-MM-DDTHH:MM:SS */
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return EINVAL;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return EINVAL;
	if (s[i] == '.') {
		int scale = 100, nd = 0;

		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (nd == 0)
			return EINVAL;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		/* UTC */
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && !memcmp(s + i + 1, "00:00", 5)) {
		/* +00:00 */
	} else {
		return EINVAL;
	}
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
	return 0;
}

int lm_s3xml_url_decode(const char *s, size_t n, char **out)
{
	return lm_pct_decode_opt(s, n, true, out);
}
