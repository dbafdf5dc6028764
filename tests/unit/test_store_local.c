/* Unit tests: the local store backend (listing order and delimiters, ranged reads,
 * identity checks, refusal of keys and links that leave the source). */
#include "helpers.h"

#include "lm/store.h"

struct names {
	char v[64][256];
	int prefix[64];
	int n;
};

static int collect(void *ud, const struct lm_list_entry *e)
{
	struct names *n = ud;

	cr_assert_lt(n->n, 64);
	snprintf(n->v[n->n], sizeof(n->v[0]), "%s", e->key);
	n->prefix[n->n++] = e->is_prefix;
	return 0;
}

static char *root;
static struct lm_store *st;

static void setup(void)
{
	struct lm_err err;

	root = th_tmpdir();
	th_write(root, "t/_delta_log/00000000000000000000.json", "{}\n");
	th_write(root, "t/_delta_log/00000000000000000001.json", "{}\n");
	th_write(root, "t/a=1/x.parquet", "0123456789");
	th_write(root, "t/a.b", "dot");
	th_write(root, "top.txt", "top");
	cr_assert_eq(lm_store_local_new(root, &st, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	lm_store_free(st);
	th_rmrf(root);
	free(root);
}

TestSuite(local, .init = setup, .fini = teardown);

Test(local, list_with_delimiter_sorted)
{
	struct names n = { 0 };
	struct lm_err err;

	cr_assert_eq(lm_store_list(st, "t/", NULL, LM_LIST_DELIM, collect, &n, &err), 0);
	cr_assert_eq(n.n, 3);
	cr_assert_str_eq(n.v[0], "t/_delta_log/");
	cr_assert(n.prefix[0]);
	cr_assert_str_eq(n.v[1], "t/a.b");
	cr_assert_not(n.prefix[1]);
	cr_assert_str_eq(n.v[2], "t/a=1/");
}

Test(local, list_recursive_and_start_after)
{
	struct names n = { 0 };
	struct lm_err err;

	cr_assert_eq(lm_store_list(st, "t/_delta_log/", "t/_delta_log/00000000000000000000.json",
				   0, collect, &n, &err), 0);
	cr_assert_eq(n.n, 1);
	cr_assert_str_eq(n.v[0], "t/_delta_log/00000000000000000001.json");
	memset(&n, 0, sizeof(n));
	cr_assert_eq(lm_store_list(st, "", NULL, 0, collect, &n, &err), 0);
	cr_assert_eq(n.n, 5);
	cr_assert_str_eq(n.v[4], "top.txt");
	/* a partial-name prefix */
	memset(&n, 0, sizeof(n));
	cr_assert_eq(lm_store_list(st, "t/a", NULL, LM_LIST_DELIM, collect, &n, &err), 0);
	cr_assert_eq(n.n, 2);
}

Test(local, ranged_reads_and_identity)
{
	struct lm_get_req req = { .key = "t/a=1/x.parquet", .off = 3, .len = 4 };
	struct lm_obj_info info;
	struct lm_err err;
	char buf[16];
	size_t got;

	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, &info, &err), 0);
	cr_assert_eq(got, 4);
	cr_assert_eq(memcmp(buf, "3456", 4), 0);
	cr_assert_eq(info.size, 10);
	cr_assert(info.etag[0]);
	req.off = 8;
	req.len = 10;
	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, NULL, &err), 0);
	cr_assert_eq(got, 2);
	req.if_match = "not-the-etag";
	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, NULL, &err), LM_EMISMATCH);
	req.if_match = NULL;
	req.key = "t/missing";
	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, NULL, &err), ENOENT);
	cr_assert(strstr(err.msg, "t/missing"));
}

Test(local, refuses_escapes)
{
	struct lm_get_req req = { .key = "../etc/passwd", .off = 0, .len = 4 };
	struct lm_err err;
	char buf[8], link[4200];
	size_t got;

	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, NULL, &err), LM_EESCAPE);
	req.key = "/etc/passwd";
	cr_assert_eq(lm_store_get_range(st, &req, buf, &got, NULL, &err), LM_EESCAPE);
	snprintf(link, sizeof(link), "%s/t/evil", root);
	cr_assert_eq(symlink("/etc/passwd", link), 0);
	req.key = "t/evil";
	cr_assert_neq(lm_store_get_range(st, &req, buf, &got, NULL, &err), 0,
		      "a symlink out of the source must not be followed");
}

Test(local, uri_to_key)
{
	struct lm_err err;
	char uri[4300], *key = NULL;

	snprintf(uri, sizeof(uri), "file://%s/t/a=1/x.parquet", root);
	cr_assert_eq(lm_store_uri_to_key(st, uri, &key, &err), 0, "%s", err.msg);
	cr_assert_str_eq(key, "t/a=1/x.parquet");
	free(key);
	snprintf(uri, sizeof(uri), "file:%s/t/y", root);
	cr_assert_eq(lm_store_uri_to_key(st, uri, &key, &err), 0);
	cr_assert_str_eq(key, "t/y");
	free(key);
	cr_assert_eq(lm_store_uri_to_key(st, "file:///etc/passwd", &key, &err), LM_EESCAPE);
	snprintf(uri, sizeof(uri), "%s/../x", root);
	cr_assert_eq(lm_store_uri_to_key(st, uri, &key, &err), LM_EESCAPE);
	cr_assert_eq(lm_store_uri_to_key(st, "s3://bucket/x", &key, &err), LM_EESCAPE);
}

Test(local, get_all_with_cap)
{
	struct lm_buf b;
	struct lm_err err;

	lm_buf_init(&b, 0);
	cr_assert_eq(lm_store_get_all(st, "t/a=1/x.parquet", 100, &b, NULL, &err), 0);
	cr_assert_eq(b.len, 10);
	lm_buf_reset(&b);
	cr_assert_eq(lm_store_get_all(st, "t/a=1/x.parquet", 5, &b, NULL, &err), LM_ETOOBIG);
	lm_buf_free(&b);
}

Test(local, listing_the_root_twice_gives_the_same_names)
{
	struct names a = { 0 }, b = { 0 };
	struct lm_err err;

	cr_assert_eq(lm_store_list(st, "", NULL, LM_LIST_DELIM, collect, &a, &err), 0);
	cr_assert_eq(lm_store_list(st, "", NULL, LM_LIST_DELIM, collect, &b, &err), 0);
	cr_assert_eq(a.n, 2);
	cr_assert_eq(b.n, a.n, "second listing of the root: %d names, first %d", b.n, a.n);
}
