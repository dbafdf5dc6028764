/* Pure decoders for S3 XML: one ListObjectsV2 result page, and an S3 <Error> body.
 * Bytes in, structs out, no I/O. Every size is capped (input, text per element,
 * entries per page); DTDs and entity declarations are refused. */
#ifndef LM_S3XML_H
#define LM_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/err.h"

#define LM_S3XML_MAX_INPUT ((size_t)64 << 20)   /* bytes of one page */
#define LM_S3XML_MAX_TEXT 8192                 /* bytes of one element's text */
#define LM_S3XML_MAX_ENTRIES 100000            /* entries of one page */

struct lm_s3xml_entry {
	char *key;            /* decoded key (or common prefix, ending in the delimiter) */
	bool is_prefix;       /* from <CommonPrefixes> */
	uint64_t size;
	int64_t mtime_ms;     /* LastModified, ms since the epoch */
	char etag[128];       /* quotes kept, as S3 sends it */
};

struct lm_s3xml_page {
	struct lm_s3xml_entry *v;   /* <Contents> then <CommonPrefixes>, document order */
	size_t n, cap;
	bool truncated;             /* <IsTruncated>true */
	char *next_token;           /* <NextContinuationToken>, NULL if absent */
	bool url_encoded;           /* <EncodingType>url: keys were decoded */
	bool have_key_count;
	uint64_t key_count;
};

void lm_s3xml_page_init(struct lm_s3xml_page *p);
void lm_s3xml_page_free(struct lm_s3xml_page *p);

/* Decode one ListBucketResult page into p (which must be freshly initialised).
 * Keys are URL-decoded when the page says <EncodingType>url</EncodingType>
 * ('+' is a space, %XX a byte). 0, ENOMEM, LM_ETOOBIG, LM_EFORMAT (with a message). */
int lm_s3xml_parse_list(const char *xml, size_t n, struct lm_s3xml_page *p,
			struct lm_err *err);

struct lm_s3xml_error {
	char code[64];        /* "NoSuchKey", "SignatureDoesNotMatch" ... ("" if none) */
	char message[256];
	char region[64];      /* <Region> of AuthorizationHeaderMalformed, if any */
	char endpoint[256];   /* <Endpoint> of PermanentRedirect, if any */
};

/* Decode an <Error> document. Missing fields stay "". 0 or LM_EFORMAT. Values that do
 * not fit are truncated. */
int lm_s3xml_parse_error(const char *xml, size_t n, struct lm_s3xml_error *e);

/* ISO-8601 UTC timestamp "2009-10-12T17:50:30.000Z" (fraction optional, 'Z' or
 * "+00:00") → ms since the epoch. 0 or EINVAL. */
int lm_s3xml_parse_time(const char *s, size_t n, int64_t *ms);

/* Decode an application/x-www-form-urlencoded value ('+' → space, %XX → byte; %00
 * and malformed escapes refused with EINVAL). out is malloc'd. */
int lm_s3xml_url_decode(const char *s, size_t n, char **out);

#endif
