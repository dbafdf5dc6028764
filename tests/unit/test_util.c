/* Unit tests: util (percent-decoding, paths, integers, buffers, arena). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lm/arena.h"
#include "lm/buf.h"
#include "lm/err.h"
#include "lm/util.h"

static void dec_ok(const char *in, const char *want)
{
	char *out = NULL;

	cr_assert_eq(lm_pct_decode(in, strlen(in), &out), 0, "decode %s", in);
	cr_assert_str_eq(out, want);
	free(out);
}

static void dec_bad(const char *in)
{
	char *out = NULL;

	cr_assert_neq(lm_pct_decode(in, strlen(in), &out), 0, "should refuse %s", in);
}

Test(pct, decodes_exactly_once)
{
	dec_ok("a%253Db/x.parquet", "a%3Db/x.parquet");
	dec_ok("a%3Db", "a=b");
	dec_ok("with%20space", "with space");
	dec_ok("caf\xc3\xa9", "caf\xc3\xa9");
	dec_ok("%E6%9D%B1", "\xe6\x9d\xb1");
	dec_ok("%25", "%");
	dec_ok("", "");
}

Test(pct, refuses_malformed)
{
	dec_bad("%");
	dec_bad("%2");
	dec_bad("%zz");
	dec_bad("a%00b");
	dec_bad("%g0");
}

Test(relpath, accepts_and_refuses)
{
	cr_assert(lm_relpath_ok("a"));
	cr_assert(lm_relpath_ok("a/b/c.parquet"));
	cr_assert(lm_relpath_ok("..a/b..")); /* names that only start with dots */
	cr_assert_not(lm_relpath_ok(""));
	cr_assert_not(lm_relpath_ok("/a"));
	cr_assert_not(lm_relpath_ok("a//b"));
	cr_assert_not(lm_relpath_ok("a/"));
	cr_assert_not(lm_relpath_ok("a/./b"));
	cr_assert_not(lm_relpath_ok("../etc/passwd"));
	cr_assert_not(lm_relpath_ok("a/../../b"));
	cr_assert_not(lm_relpath_ok(".."));
}

Test(ints, strict_parse)
{
	int64_t v;
	uint64_t u;

	cr_assert_eq(lm_parse_i64("3051729675574597004", &v), 0);
	cr_assert_eq(v, 3051729675574597004LL);
	cr_assert_eq(lm_parse_i64("-9223372036854775808", &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(lm_parse_i64("9223372036854775808", &v), ERANGE);
	cr_assert_eq(lm_parse_i64("12a", &v), EINVAL);
	cr_assert_eq(lm_parse_i64("", &v), EINVAL);
	cr_assert_eq(lm_parse_i64("-", &v), EINVAL);
	cr_assert_eq(lm_parse_u64("18446744073709551615", &u), 0);
	cr_assert_eq(u, UINT64_MAX);
	cr_assert_eq(lm_parse_u64("18446744073709551616", &u), ERANGE);
}

Test(paths, join)
{
	char *p = lm_path_join("a/b/", "/c");

	cr_assert_str_eq(p, "a/b/c");
	free(p);
	p = lm_path_join("", "c");
	cr_assert_str_eq(p, "c");
	free(p);
	p = lm_path_join("a", "");
	cr_assert_str_eq(p, "a");
	free(p);
}

Test(buf, limit_is_enforced)
{
	struct lm_buf b;

	lm_buf_init(&b, 10);
	cr_assert_eq(lm_buf_append(&b, "0123456789", 10), 0);
	cr_assert_eq(lm_buf_append(&b, "x", 1), LM_ETOOBIG);
	cr_assert_eq(b.len, 10);
	cr_assert_str_eq(b.data, "0123456789");
	lm_buf_free(&b);
}

Test(arena, many_strings_and_big_blocks)
{
	struct lm_arena a;
	char *first, *big;

	lm_arena_init(&a);
	first = lm_arena_strdup(&a, "first");
	for (int i = 0; i < 100000; i++)
		cr_assert(lm_arena_strdup(&a, "some path string/part-0000.parquet"));
	big = lm_arena_alloc(&a, 1 << 20);
	cr_assert(big);
	memset(big, 7, 1 << 20);
	cr_assert_str_eq(first, "first");
	lm_arena_free(&a);
}

Test(err, prefix_and_reason)
{
	struct lm_err e;

	lm_err_init(&e);
	lm_err_set(&e, LM_EGAP, "commit %d missing", 3);
	lm_err_reason(&e, "log-gap");
	lm_err_prefix(&e, "table %s: ", "sales");
	cr_assert_str_eq(e.msg, "table sales: commit 3 missing");
	cr_assert_str_eq(e.reason, "log-gap");
	cr_assert_eq(lm_errno(LM_EGAP), EIO);
	cr_assert_eq(lm_errno(ENOENT), ENOENT);
}

Test(util, path_hidden_components)
{
	cr_assert(lm_path_hidden("_delta_log/00000000000000000000.json"));
	cr_assert(lm_path_hidden("year=2026/.part-0.parquet.crc"));
	cr_assert(lm_path_hidden("a/_temporary/0/part.parquet"));
	cr_assert(lm_path_hidden("_SUCCESS"));
	cr_assert_not(lm_path_hidden("year=2026/part-0_a.parquet"), "only a leading '_' counts");
	cr_assert_not(lm_path_hidden("data/x.y/z.parquet"));
	cr_assert_not(lm_path_hidden("data/file"));
}
