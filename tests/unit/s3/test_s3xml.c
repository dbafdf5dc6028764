/* test_s3xml.c — ListObjectsV2 page and <Error> decoding on fixtures written for this
 * project (tests/unit/s3/fixtures), plus hostile and truncated inputs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm/buf.h"
#include "lm/s3xml.h"

static char *fixture(const char *name, size_t *len)
{
	const char *src = getenv("LM_SRCDIR");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tests/unit/s3/fixtures/%s", src ? src : ".", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "fixture %s (set LM_SRCDIR)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

Test(s3xml, encoded_page)
{
	struct lm_s3xml_page p;
	struct lm_err err;
	size_t n;
	char *x = fixture("list-encoded.xml", &n);

	lm_err_init(&err);
	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(x, n, &p, &err), 0, "%s", err.msg);
	cr_assert(p.truncated);
	cr_assert(p.url_encoded);
	cr_assert_str_eq(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	cr_assert(p.have_key_count);
	cr_assert_eq(p.key_count, 3);
	cr_assert_eq(p.n, 3);
	cr_assert_str_eq(p.v[0].key, "t/a=b/c+d/e f%g/\xc3\xbcn\xc3\xaft.txt");
	cr_assert_eq(p.v[0].size, 11);
	cr_assert_eq(p.v[0].mtime_ms, 1767607200123LL);
	cr_assert_str_eq(p.v[0].etag, "\"9b2cf535f27731c974343645a3985328\"");
	cr_assert(!p.v[0].is_prefix);
	cr_assert_str_eq(p.v[1].key, "t/plain.parquet");
	cr_assert_eq(p.v[1].size, 434234);
	cr_assert_eq(p.v[1].mtime_ms, 1255369830000LL);
	cr_assert_str_eq(p.v[1].etag, "\"fba9dede5f27731c9771645a39863328-2\"");
	cr_assert_str_eq(p.v[2].key, "t/ lead and trail ");
	cr_assert_eq(p.v[2].mtime_ms, 0);
	lm_s3xml_page_free(&p);
	free(x);
}

Test(s3xml, prefixes_page_not_encoded)
{
	struct lm_s3xml_page p;
	size_t n;
	char *x = fixture("list-prefixes.xml", &n);

	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(x, n, &p, NULL), 0);
	cr_assert(!p.truncated);
	cr_assert_null(p.next_token);
	cr_assert_eq(p.n, 3);
	cr_assert_str_eq(p.v[0].key, "warehouse/readme.txt");
	cr_assert_eq(p.v[0].size, UINT64_MAX);
	cr_assert_eq(p.v[0].mtime_ms, 1709251199999LL);
	cr_assert(p.v[1].is_prefix);
	cr_assert_str_eq(p.v[1].key, "warehouse/events/");
	cr_assert(p.v[2].is_prefix);
	/* Not url-encoded: '+' and entities are literal text. */
	cr_assert_str_eq(p.v[2].key, "warehouse/sales & co/");
	lm_s3xml_page_free(&p);
	free(x);
}

Test(s3xml, errors)
{
	struct lm_s3xml_error e;
	size_t n;
	char *x = fixture("error-signature.xml", &n);

	cr_assert_eq(lm_s3xml_parse_error(x, n, &e), 0);
	cr_assert_str_eq(e.code, "SignatureDoesNotMatch");
	cr_assert(strncmp(e.message, "The request signature we calculated", 35) == 0);
	cr_assert_str_eq(e.region, "");
	free(x);
	x = fixture("error-region.xml", &n);
	cr_assert_eq(lm_s3xml_parse_error(x, n, &e), 0);
	cr_assert_str_eq(e.code, "AuthorizationHeaderMalformed");
	cr_assert_str_eq(e.region, "eu-west-1");
	free(x);
	/* Not an error document. */
	cr_assert_eq(lm_s3xml_parse_error("<html>oops</html>", 17, &e), LM_EFORMAT);
	cr_assert_str_eq(e.code, "");
	cr_assert_eq(lm_s3xml_parse_error("", 0, &e), LM_EFORMAT);
}

Test(s3xml, refuses_doctype_and_entities)
{
	struct lm_s3xml_page p;
	struct lm_err err;
	size_t n;
	char *x = fixture("list-doctype.xml", &n);

	lm_err_init(&err);
	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(x, n, &p, &err), LM_EFORMAT);
	cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
	lm_s3xml_page_free(&p);
	free(x);
}

static int parse_str(const char *s, struct lm_s3xml_page *p)
{
	lm_s3xml_page_init(p);
	return lm_s3xml_parse_list(s, strlen(s), p, NULL);
}

Test(s3xml, malformed_inputs)
{
	struct lm_s3xml_page p;

	/* Truncated mid-document. */
	cr_assert_eq(parse_str("<ListBucketResult><Contents><Key>a</Key>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	/* Wrong root. */
	cr_assert_eq(parse_str("<Error><Code>x</Code></Error>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	/* Truncated listing without a token. */
	cr_assert_eq(parse_str("<ListBucketResult><IsTruncated>true</IsTruncated>"
			       "</ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	/* Bad numbers / times / booleans. */
	cr_assert_eq(parse_str("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size>"
			       "</Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999"
			       "</Size></Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><Contents><Key>a</Key><LastModified>yesterday"
			       "</LastModified></Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><IsTruncated>maybe</IsTruncated>"
			       "</ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	/* Contents without a key; bad escapes in url mode; %00. */
	cr_assert_eq(parse_str("<ListBucketResult><Contents><Size>1</Size></Contents>"
			       "</ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>"
			       "a%zz</Key></Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>"
			       "a%00b</Key></Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	cr_assert_eq(parse_str("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>"
			       "a%4</Key></Contents></ListBucketResult>", &p), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	/* Empty page is fine. */
	cr_assert_eq(parse_str("<ListBucketResult/>", &p), 0);
	cr_assert_eq(p.n, 0);
	lm_s3xml_page_free(&p);
}

Test(s3xml, caps)
{
	struct lm_s3xml_page p;
	struct lm_buf b;
	size_t i;

	/* One key over the text cap. */
	lm_buf_init(&b, 0);
	lm_buf_printf(&b, "<ListBucketResult><Contents><Key>");
	for (i = 0; i < LM_S3XML_MAX_TEXT + 10; i++)
		lm_buf_append(&b, "k", 1);
	lm_buf_printf(&b, "</Key></Contents></ListBucketResult>");
	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(b.data, b.len, &p, NULL), LM_ETOOBIG);
	lm_s3xml_page_free(&p);
	lm_buf_free(&b);
	/* Too many entries in one page. */
	lm_buf_init(&b, 0);
	lm_buf_printf(&b, "<ListBucketResult>");
	for (i = 0; i < LM_S3XML_MAX_ENTRIES + 1; i++)
		lm_buf_printf(&b, "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>");
	lm_buf_printf(&b, "</ListBucketResult>");
	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(b.data, b.len, &p, NULL), LM_ETOOBIG);
	lm_s3xml_page_free(&p);
	lm_buf_free(&b);
	/* Deep nesting. */
	lm_buf_init(&b, 0);
	lm_buf_printf(&b, "<ListBucketResult>");
	for (i = 0; i < 40; i++)
		lm_buf_printf(&b, "<a>");
	for (i = 0; i < 40; i++)
		lm_buf_printf(&b, "</a>");
	lm_buf_printf(&b, "</ListBucketResult>");
	lm_s3xml_page_init(&p);
	cr_assert_eq(lm_s3xml_parse_list(b.data, b.len, &p, NULL), LM_EFORMAT);
	lm_s3xml_page_free(&p);
	lm_buf_free(&b);
}

Test(s3xml, times)
{
	int64_t ms;

	cr_assert_eq(lm_s3xml_parse_time("1970-01-01T00:00:00Z", 20, &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(lm_s3xml_parse_time("2026-01-05T10:00:00.5Z", 22, &ms), 0);
	cr_assert_eq(ms, 1767607200500LL);
	cr_assert_eq(lm_s3xml_parse_time("2026-01-05T10:00:00+00:00", 25, &ms), 0);
	cr_assert_eq(ms, 1767607200000LL);
	cr_assert_eq(lm_s3xml_parse_time("2026-01-05T10:00:00+02:00", 25, &ms), EINVAL);
	cr_assert_eq(lm_s3xml_parse_time("2026-13-05T10:00:00Z", 20, &ms), EINVAL);
	cr_assert_eq(lm_s3xml_parse_time("2026-01-05 10:00:00Z", 20, &ms), EINVAL);
	cr_assert_eq(lm_s3xml_parse_time("2026-01-05T10:00:00.Z", 21, &ms), EINVAL);
}

Test(s3xml, url_decode)
{
	char *d;

	cr_assert_eq(lm_s3xml_url_decode("a+b%2Bc%20d%25", 14, &d), 0);
	cr_assert_str_eq(d, "a b+c d%");
	free(d);
	cr_assert_eq(lm_s3xml_url_decode("%", 1, &d), EINVAL);
	cr_assert_eq(lm_s3xml_url_decode("%2", 2, &d), EINVAL);
	cr_assert_eq(lm_s3xml_url_decode("%2g", 3, &d), EINVAL);
}
