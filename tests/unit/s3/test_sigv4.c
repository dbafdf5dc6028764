/* test_sigv4.c — the SigV4 signer on AWS's published vectors (aws-sig-v4-test-suite,
 * 2015-08-30, service "service"; and the S3 developer guide's single-chunk examples,
 * 2013-05-24, examplebucket), with the clock injected; plus URI/query encoding rules. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "lm/s3.h"

#define SUITE_AK "AKIDEXAMPLE"
#define SUITE_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_T 1440938160 /* 2015-08-30T12:36:00Z */
#define S3_AK "AKIAIOSFODNN7EXAMPLE"
#define S3_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_T 1369353600 /* 2013-05-24T00:00:00Z */

static struct lm_sigv4_out o;

static void setup(void)
{
	lm_sigv4_out_init(&o);
}

static void teardown(void)
{
	lm_sigv4_out_free(&o);
}

static struct lm_sigv4_req suite_req(const char *method, const char *path)
{
	struct lm_sigv4_req r = {
		.method = method, .host = "example.amazonaws.com", .path = path,
		.payload_hash = LM_SHA256_EMPTY, .sign_content_sha = false,
		.region = "us-east-1", .service = "service", .now_s = SUITE_T,
		.access_key = SUITE_AK, .secret_key = SUITE_SK,
	};
	return r;
}

static struct lm_sigv4_req s3_req(const char *method, const char *path)
{
	struct lm_sigv4_req r = {
		.method = method, .host = "examplebucket.s3.amazonaws.com", .path = path,
		.payload_hash = LM_SHA256_EMPTY, .sign_content_sha = true,
		.region = "us-east-1", .service = "s3", .now_s = S3_T,
		.access_key = S3_AK, .secret_key = S3_SK,
	};
	return r;
}

TestSuite(sigv4, .init = setup, .fini = teardown);

Test(sigv4, get_vanilla)
{
	struct lm_sigv4_req r = suite_req("GET", "/");

	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.amz_date, "20150830T123600Z");
	cr_assert_str_eq(o.canonical.data, "GET\n/\n\nhost:example.amazonaws.com\n"
					   "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
					   LM_SHA256_EMPTY);
	cr_assert_str_eq(o.string_to_sign.data,
			 "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
			 "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	cr_assert_str_eq(o.authorization.data,
			 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
			 "aws4_request, SignedHeaders=host;x-amz-date, "
			 "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

Test(sigv4, get_vanilla_query_order_key_case)
{
	struct lm_s3_kv q[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.query = q;
	r.nquery = 2;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "\nParam1=value1&Param2=value2\n"));
	cr_assert_str_eq(o.signature,
			 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

Test(sigv4, get_vanilla_query_order_value)
{
	struct lm_s3_kv q[] = { { "Param1", "value2" }, { "Param1", "value1" } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.query = q;
	r.nquery = 2;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "\nParam1=value1&Param1=value2\n"));
	cr_assert_str_eq(o.signature,
			 "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
}

Test(sigv4, get_vanilla_utf8_query)
{
	struct lm_s3_kv q[] = { { "\xe1\x88\xb4", "bar" } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.query = q;
	r.nquery = 1;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "\n%E1%88%B4=bar\n"));
	cr_assert_str_eq(o.signature,
			 "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

Test(sigv4, get_vanilla_query_unreserved)
{
	const char *u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	struct lm_s3_kv q[] = { { u, u } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.query = q;
	r.nquery = 1;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.signature,
			 "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

Test(sigv4, get_unreserved_path)
{
	struct lm_sigv4_req r = suite_req(
		"GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.signature,
			 "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

Test(sigv4, post_vanilla)
{
	struct lm_sigv4_req r = suite_req("POST", "/");

	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.signature,
			 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

Test(sigv4, get_header_value_trim)
{
	struct lm_s3_kv h[] = { { "My-Header1", " value1" }, { "My-Header2", " \"a   b   c\"" } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.headers = h;
	r.nheaders = 2;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.canonical.data,
			 "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
			 "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
			 "host;my-header1;my-header2;x-amz-date\n" LM_SHA256_EMPTY);
}

Test(sigv4, duplicate_headers_merge_in_order)
{
	struct lm_s3_kv h[] = { { "My-Header1", "value4" }, { "My-Header1", "value1" },
				{ "My-Header1", "value3" }, { "My-Header1", "value2" } };
	struct lm_sigv4_req r = suite_req("GET", "/");

	r.headers = h;
	r.nheaders = 4;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "\nmy-header1:value4,value1,value3,value2\n"));
	cr_assert_str_eq(o.signed_headers.data, "host;my-header1;x-amz-date");
}

Test(sigv4, s3_get_object_range)
{
	struct lm_s3_kv h[] = { { "Range", "bytes=0-9" } };
	struct lm_sigv4_req r = s3_req("GET", "/test.txt");

	r.headers = h;
	r.nheaders = 1;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.canonical.data,
			 "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
			 "x-amz-content-sha256:" LM_SHA256_EMPTY "\nx-amz-date:20130524T000000Z\n\n"
			 "host;range;x-amz-content-sha256;x-amz-date\n" LM_SHA256_EMPTY);
	cr_assert_str_eq(o.string_to_sign.data,
			 "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
			 "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	cr_assert_str_eq(o.signature,
			 "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	cr_assert_str_eq(o.authorization.data,
			 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
			 "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
			 "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

Test(sigv4, s3_put_object)
{
	const char *body = "Welcome to Amazon S3.";
	char hash[65];
	struct lm_buf path;
	struct lm_s3_kv h[] = { { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
				{ "x-amz-storage-class", "REDUCED_REDUNDANCY" } };
	struct lm_sigv4_req r;

	lm_sha256_hex(body, strlen(body), hash);
	cr_assert_str_eq(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	lm_buf_init(&path, 0);
	cr_assert_eq(lm_buf_append(&path, "/", 1), 0);
	cr_assert_eq(lm_s3_uri_encode(&path, "test$file.text", 14, true), 0);
	cr_assert_str_eq(path.data, "/test%24file.text");
	r = s3_req("PUT", path.data);
	r.headers = h;
	r.nheaders = 2;
	r.payload_hash = hash;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.signed_headers.data,
			 "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
	cr_assert_str_eq(o.signature,
			 "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	lm_buf_free(&path);
}

Test(sigv4, s3_list_objects)
{
	struct lm_s3_kv q[] = { { "prefix", "J" }, { "max-keys", "2" } };
	struct lm_sigv4_req r = s3_req("GET", "/");

	r.query = q;
	r.nquery = 2;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert_str_eq(o.canonical.data,
			 "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
			 "x-amz-content-sha256:" LM_SHA256_EMPTY "\nx-amz-date:20130524T000000Z\n\n"
			 "host;x-amz-content-sha256;x-amz-date\n" LM_SHA256_EMPTY);
	cr_assert_str_eq(o.signature,
			 "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

Test(sigv4, session_token_is_signed)
{
	struct lm_sigv4_req r = s3_req("GET", "/test.txt");

	r.session_token = "TOKEN/with+chars==";
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "\nx-amz-security-token:TOKEN/with+chars==\n"));
	cr_assert_str_eq(o.signed_headers.data,
			 "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
	/* The secret never appears in any output. */
	cr_assert_null(strstr(o.authorization.data, S3_SK));
	cr_assert_null(strstr(o.canonical.data, S3_SK));
	cr_assert_null(strstr(o.string_to_sign.data, S3_SK));
}

Test(sigv4, unsigned_payload)
{
	struct lm_sigv4_req r = s3_req("GET", "/a");

	r.payload_hash = LM_SIGV4_UNSIGNED;
	cr_assert_eq(lm_sigv4_sign(&r, &o), 0);
	cr_assert(strstr(o.canonical.data, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
	cr_assert(strstr(o.canonical.data, "\nUNSIGNED-PAYLOAD") != NULL);
}

Test(sigv4, refuses_header_injection)
{
	struct lm_s3_kv h[] = { { "X-Evil", "a\r\nb: c" } };
	struct lm_sigv4_req r = s3_req("GET", "/a");

	r.headers = h;
	r.nheaders = 1;
	cr_assert_eq(lm_sigv4_sign(&r, &o), EINVAL);
	r.nheaders = 0;
	r.path = "no-slash";
	cr_assert_eq(lm_sigv4_sign(&r, &o), EINVAL);
}

static const char *enc(const char *s, bool slash)
{
	static struct lm_buf b;

	lm_buf_free(&b);
	lm_buf_init(&b, 0);
	cr_assert_eq(lm_s3_uri_encode(&b, s, strlen(s), slash), 0);
	return b.data;
}

Test(sigv4, uri_encoding_rules)
{
	cr_assert_str_eq(enc("a=b/c+d/e f%g/\xc3\xbcn\xc3\xaft.txt", true),
			 "a%3Db/c%2Bd/e%20f%25g/%C3%BCn%C3%AFt.txt");
	cr_assert_str_eq(enc("a/b", false), "a%2Fb");
	cr_assert_str_eq(enc("AZaz09-._~", true), "AZaz09-._~");
	cr_assert_str_eq(enc("~!*'()&:@$,;", true), "~%21%2A%27%28%29%26%3A%40%24%2C%3B");
	/* Already-encoded text is encoded again: S3 keys are literal. */
	cr_assert_str_eq(enc("%41", true), "%2541");
}

Test(sigv4, query_string_sorted_and_encoded)
{
	struct lm_s3_kv q[] = { { "prefix", "dir/a b+c" }, { "list-type", "2" },
				{ "continuation-token", "1/x==" }, { "encoding-type", "url" } };
	struct lm_buf b;

	lm_buf_init(&b, 0);
	cr_assert_eq(lm_s3_query_string(&b, q, 4), 0);
	cr_assert_str_eq(b.data, "continuation-token=1%2Fx%3D%3D&encoding-type=url&list-type=2"
				 "&prefix=dir%2Fa%20b%2Bc");
	lm_buf_free(&b);
}
