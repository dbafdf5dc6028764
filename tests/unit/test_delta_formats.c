/* Unit tests: the pure Delta decoders beyond commit lines — Z85, deletion vector
 * names, records and RoaringBitmapArrays (PROTOCOL.md's own examples, plus bitmaps
 * built here with CRoaring), _last_checkpoint with its checksum (the protocol's test
 * vector), and timestamp names. */
#include "helpers.h"

#include <roaring/roaring.h>
#include <zlib.h>

#include "lm/delta.h"

/* ---- Z85 and DV names ---- */

Test(delta_dv, z85_roundtrip_of_the_zeromq_example)
{
	/* ZeroMQ RFC 32: 0x86 0x4F 0xD2 0x6F 0xB5 0x59 0xF7 0x5B -> "HelloWorld" */
	static const uint8_t want[] = { 0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B };
	uint8_t out[8];
	size_t n = 0;

	cr_assert_eq(lm_delta_z85_decode("HelloWorld", 10, out, sizeof(out), &n), 0);
	cr_assert_eq(n, 8);
	cr_assert_arr_eq(out, want, 8);
	cr_assert_eq(lm_delta_z85_decode("Hello", 4, out, sizeof(out), &n), EINVAL);
	cr_assert_eq(lm_delta_z85_decode("Hell\"", 5, out, sizeof(out), &n), EINVAL);
	cr_assert_eq(lm_delta_z85_decode("#####", 5, out, sizeof(out), &n), EINVAL, "overflow");
	cr_assert_eq(lm_delta_z85_decode("HelloWorld", 10, out, 4, &n), LM_ETOOBIG);
}

Test(delta_dv, relative_path_of_the_protocol_example)
{
	char p[256];

	cr_assert_eq(lm_delta_dv_relpath("ab^-aqEH.-t@S}K{vb[*k^", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
	cr_assert_eq(lm_delta_dv_relpath("^-aqEH.-t@S}K{vb[*k^", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
	cr_assert_eq(lm_delta_dv_relpath("..^-aqEH.-t@S}K{vb[*k^", p, sizeof(p)), EINVAL);
	cr_assert_eq(lm_delta_dv_relpath("a/^-aqEH.-t@S}K{vb[*k^", p, sizeof(p)), EINVAL);
	cr_assert_eq(lm_delta_dv_relpath("short", p, sizeof(p)), EINVAL);
}

Test(delta_dv, inline_example_of_the_protocol)
{
	const char *z = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";
	static const uint64_t want[] = { 3, 4, 7, 11, 18, 29 };
	uint8_t raw[64];
	uint64_t *rows = NULL;
	size_t n = 0, nr = 0;
	struct lm_err err;

	cr_assert_eq(lm_delta_z85_decode(z, strlen(z), raw, sizeof(raw), &n), 0);
	cr_assert_eq(n, 40);
	cr_assert_eq(lm_delta_dv_bitmap_decode(raw, 40, 100, &rows, &nr, &err), 0, "%s", err.msg);
	cr_assert_eq(nr, 6);
	cr_assert_arr_eq(rows, want, sizeof(want));
	free(rows);
	cr_assert_eq(lm_delta_dv_bitmap_decode(raw, 40, 5, &rows, &nr, &err), LM_ETOOBIG);
	/* The protocol's example is in the older "native" layout (magic 1681511376,
	 * big-endian header); the corpus DVs below are in the portable one. */
	raw[0] ^= 1;
	cr_assert_eq(lm_delta_dv_bitmap_decode(raw, 40, 100, &rows, &nr, &err), LM_EFORMAT);
	cr_assert(strstr(err.msg, "magic"), "%s", err.msg);
	raw[0] ^= 1;
	for (size_t cut = 0; cut < 40; cut++)
		cr_assert_neq(lm_delta_dv_bitmap_decode(raw, cut, 100, &rows, &nr, &err), 0,
			      "a DV cut at %zu bytes is refused", cut);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* A RoaringBitmapArray with two buckets (keys 0 and 2), built with CRoaring. */
static size_t build_dv(uint8_t *out, size_t cap)
{
	roaring_bitmap_t *a = roaring_bitmap_create(), *b = roaring_bitmap_create();
	size_t pos = 12;

	for (uint32_t i = 0; i < 70000; i += 7)
		roaring_bitmap_add(a, i);
	roaring_bitmap_add_range(b, 5, 100005);
	roaring_bitmap_run_optimize(b);
	put_le32(out, 1681511377u);
	put_le32(out + 4, 2);
	put_le32(out + 8, 0);
	put_le32(out + pos, 0);
	pos += 4;
	cr_assert_leq(pos + roaring_bitmap_portable_size_in_bytes(a), cap);
	pos += roaring_bitmap_portable_serialize(a, (char *)out + pos);
	put_le32(out + pos, 2);
	pos += 4;
	cr_assert_leq(pos + roaring_bitmap_portable_size_in_bytes(b), cap);
	pos += roaring_bitmap_portable_serialize(b, (char *)out + pos);
	roaring_bitmap_free(a);
	roaring_bitmap_free(b);
	return pos;
}

Test(delta_dv, inline_dvs_of_the_corpus_tables)
{
	/* kernel/Spark-written inline DVs: portable layout; rows 0,1,4,5 / 0,5 */
	static const struct {
		const char *z;
		size_t size;
		uint64_t rows[4];
		size_t n;
	} c[] = {
		{ "^Bg9^0rr910000000000iXQKl0rr91000935c8Xg000311onP9", 40, { 0, 1, 4, 5 }, 4 },
		{ "^Bg9^0rr910000000000iXQKl0rr91000315c8Xg000f5", 36, { 0, 5 }, 2 },
		/* kernel-rs (Rust z85 crate): a short last chunk, "##" = 2 bytes missing */
		{ "^Bg9^0rr910000000000iXQKl0rr91000005c8Xg##093", 34, { 3 }, 1 },
	};

	for (size_t i = 0; i < 3; i++) {
		uint8_t raw[64];
		uint64_t *rows = NULL;
		size_t n = 0, nr = 0;
		struct lm_err err;

		cr_assert_eq(lm_delta_z85_decode(c[i].z, strlen(c[i].z), raw, sizeof(raw), &n), 0);
		cr_assert_eq(n, c[i].size);
		cr_assert_eq(lm_delta_dv_bitmap_decode(raw, n, 100, &rows, &nr, &err), 0, "%s", err.msg);
		cr_assert_eq(nr, c[i].n);
		cr_assert_arr_eq(rows, c[i].rows, c[i].n * sizeof(uint64_t));
		free(rows);
	}
}

Test(delta_dv, sixty_four_bit_buckets_and_the_file_record)
{
	static uint8_t bm[1 << 16], file[1 << 16];
	size_t n = build_dv(bm, sizeof(bm)), nr = 0, dlen = 0;
	const uint8_t *data = NULL;
	uint64_t *rows = NULL;
	struct lm_err err;

	cr_assert_eq(lm_delta_dv_bitmap_decode(bm, n, 1u << 20, &rows, &nr, &err), 0, "%s", err.msg);
	cr_assert_eq(nr, 10000 + 100000);
	cr_assert_eq(rows[0], 0);
	cr_assert_eq(rows[1], 7);
	cr_assert_eq(rows[9999], 69993);
	cr_assert_eq(rows[10000], ((uint64_t)2 << 32) | 5);
	cr_assert_eq(rows[nr - 1], ((uint64_t)2 << 32) | 100004);
	free(rows);

	/* the DV file: version byte, then [size BE][bitmap][crc32 BE] at offset 1 */
	file[0] = 1;
	put_be32(file + 1, (uint32_t)n);
	memcpy(file + 5, bm, n);
	put_be32(file + 5 + n, (uint32_t)crc32(crc32(0L, Z_NULL, 0), bm, (uInt)n));
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 9, true, 1, (int64_t)n, &data, &dlen, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(data, file + 5);
	cr_assert_eq(dlen, n);
	cr_assert_eq(lm_delta_dv_file_slice(file + 1, n + 8, false, 1, (int64_t)n, &data, &dlen, &err), 0);
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 9, true, 1, (int64_t)n + 1, &data, &dlen, &err),
		     LM_EFORMAT, "size mismatch");
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 8, true, 1, (int64_t)n, &data, &dlen, &err),
		     LM_EFORMAT, "truncated");
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 9, true, 0, (int64_t)n, &data, &dlen, &err),
		     LM_EFORMAT, "offset 0 is the version byte");
	file[20] ^= 0x40;
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 9, true, 1, (int64_t)n, &data, &dlen, &err),
		     LM_EFORMAT);
	cr_assert(strstr(err.msg, "CRC"), "%s", err.msg);
	file[20] ^= 0x40;
	file[0] = 2;
	cr_assert_eq(lm_delta_dv_file_slice(file, n + 9, true, 1, (int64_t)n, &data, &dlen, &err),
		     LM_EFORMAT, "version 2 is refused");
}

Test(delta_dv, keys_must_ascend_and_be_non_negative)
{
	static uint8_t bm[1 << 16];
	size_t n = build_dv(bm, sizeof(bm)), nr;
	uint64_t *rows = NULL;
	struct lm_err err;

	put_le32(bm + 12, 0x80000000u);
	cr_assert_eq(lm_delta_dv_bitmap_decode(bm, n, 1u << 20, &rows, &nr, &err), LM_EFORMAT);
	put_le32(bm + 12, 3);   /* 3 then 2 */
	cr_assert_eq(lm_delta_dv_bitmap_decode(bm, n, 1u << 20, &rows, &nr, &err), LM_EFORMAT);
	put_le32(bm + 12, 0);
	put_le32(bm + 4, 3);    /* more buckets than bytes */
	cr_assert_eq(lm_delta_dv_bitmap_decode(bm, n, 1u << 20, &rows, &nr, &err), LM_EFORMAT);
}

/* ---- _last_checkpoint ---- */

static void md5sum(const char *text, char hex[33])
{
	char cmd[1024];
	FILE *p;

	/* MD5 through the system's md5sum: independent of the code under test. */
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | md5sum", text);
	p = popen(cmd, "r");
	cr_assert(p);
	cr_assert(fgets(hex, 33, p));
	pclose(p);
}

Test(delta_last_checkpoint, versions_checksums_and_garbage)
{
	struct lm_delta_last_checkpoint lc;
	struct lm_err err;
	const char *ok = "{\"version\":10,\"size\":13,\"parts\":2,\"numOfAddFiles\":5}";
	/* md5 of "\"numOfAddFiles\"=5,\"parts\"=2,\"size\"=13,\"version\"=10" */
	char with[256], bad[256];

	cr_assert_eq(lm_delta_last_checkpoint_parse(ok, strlen(ok), &lc, &err), 0, "%s", err.msg);
	cr_assert_eq(lc.version, 10);
	cr_assert_eq(lc.parts, 2);
	cr_assert_eq(lc.num_add_files, 5);
	cr_assert_not(lc.checksum_checked);
	snprintf(with, sizeof(with),
		 "{\"version\":10,\"size\":13,\"parts\":2,\"numOfAddFiles\":5,\"checksum\":\"%s\"}",
		 "3bd3c5e1f2d0e7e1e0b1d2a6b6c9a6c1");
	cr_assert_eq(lm_delta_last_checkpoint_parse(with, strlen(with), &lc, &err), LM_EFORMAT,
		     "a wrong checksum is refused");
	cr_assert(strstr(err.msg, "checksum"), "%s", err.msg);
	cr_assert_eq(lm_delta_last_checkpoint_parse("", 0, &lc, &err), LM_EFORMAT);
	cr_assert_eq(lm_delta_last_checkpoint_parse("{", 1, &lc, &err), LM_EFORMAT);
	snprintf(bad, sizeof(bad), "{\"version\":-1}");
	cr_assert_eq(lm_delta_last_checkpoint_parse(bad, strlen(bad), &lc, &err), LM_EFORMAT);
	snprintf(bad, sizeof(bad), "{\"version\":\"10\"}");
	cr_assert_eq(lm_delta_last_checkpoint_parse(bad, strlen(bad), &lc, &err), LM_EFORMAT);
	snprintf(bad, sizeof(bad), "{\"version\":1.5}");
	cr_assert_eq(lm_delta_last_checkpoint_parse(bad, strlen(bad), &lc, &err), LM_EFORMAT);
}

/* The protocol's canonicalization vector, checked with a version added: the expected
 * checksum is recomputed here from the canonical string the protocol gives plus the
 * version pair, so this pins the canonical form itself. */
Test(delta_last_checkpoint, canonical_form_of_the_protocol_vector)
{
	const char *canon = "\"k0\"=\"%27v%200%27\",\"k1\"+\"k2\"=2,\"k1\"+\"k3\"+0=\"v3\","
			    "\"k1\"+\"k3\"+1+0=1,\"k1\"+\"k3\"+1+1=2,\"k1\"+\"k3\"+2+\"k4\"=\"v4\","
			    "\"k1\"+\"k3\"+2+\"k5\"+0=\"v5\",\"k1\"+\"k3\"+2+\"k5\"+1=\"v6\","
			    "\"k1\"+\"k3\"+2+\"k5\"+2=\"v7\",\"version\"=3";
	struct lm_delta_last_checkpoint lc;
	char hex[33], text[512], canon0[512];
	struct lm_err err;

	/* The protocol's vector itself (without our version pair): its stated checksum. */
	snprintf(canon0, sizeof(canon0), "%.*s", (int)(strlen(canon) - strlen(",\"version\"=3")),
		 canon);
	md5sum(canon0, hex);
	cr_assert_str_eq(hex, "6a92d155a59bf2eecbd4b4ec7fd1f875");
	md5sum(canon, hex);
	snprintf(text, sizeof(text),
		 "{\"k0\":\"'v 0'\", \"checksum\": \"%s\", \"k1\":{\"k2\": 2, \"k3\": "
		 "[\"v3\", [1, 2], {\"k4\": \"v4\", \"k5\": [\"v5\", \"v6\", \"v7\"]}]}, "
		 "\"version\": 3}", hex);
	cr_assert_eq(lm_delta_last_checkpoint_parse(text, strlen(text), &lc, &err), 0, "%s", err.msg);
	cr_assert(lc.checksum_checked);
	cr_assert_eq(lc.version, 3);
}

/* ---- timestamps ---- */

static int64_t ts(const char *s)
{
	int64_t ms = -1;

	cr_assert_eq(lm_delta_time_parse(s, &ms), 0, "'%s' must parse", s);
	return ms;
}

Test(delta_time, forms)
{
	cr_assert_eq(ts("1970-01-01"), 0);
	cr_assert_eq(ts("2026-01-05"), 1767571200000LL);
	cr_assert_eq(ts("2026-01-05T10:00:00Z"), 1767571200000LL + 36000000);
	cr_assert_eq(ts("2026-01-05T10:00:00.123Z"), 1767571200000LL + 36000123);
	cr_assert_eq(ts("2026-01-05T10:00:00.1Z"), 1767571200000LL + 36000100);
	cr_assert_eq(ts("2026-01-05T10:00:00.123456789Z"), 1767571200000LL + 36000123);
	cr_assert_eq(ts("2026-01-05T10:00:00+01:00"), 1767571200000LL + 32400000);
	cr_assert_eq(ts("2026-01-05T10:00:00-0130"), 1767571200000LL + 41400000);
	cr_assert_eq(ts("2026-01-05T10:00:00+01"), 1767571200000LL + 32400000);
	cr_assert_eq(ts("2026-01-05T10:00:00"), 1767571200000LL + 36000000, "no zone = UTC");
	cr_assert_eq(ts("2026-01-05 10:00"), 1767571200000LL + 36000000);
	cr_assert_eq(ts("20260105100000123"), 1767571200000LL + 36000123, "yyyyMMddHHmmssSSS");
	cr_assert_eq(ts("2024-02-29"), 1709164800000LL);
}

Test(delta_time, not_timestamps)
{
	static const char *bad[] = {
		"", "latest", "v3", "2026-1-05", "2026-01-5", "2026-13-01", "2025-02-29",
		"2026-01-05T25:00:00Z", "2026-01-05T10:60:00Z", "2026-01-05T10:00:00Zjunk",
		"2026-01-05T10:00:00.Z", "2026-01-05T10", "2026010510000012", "202601051000001234",
		"2026-01-05T10:00:00+1", "99990101000000000x",
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(lm_delta_time_parse(bad[i], &ms), EINVAL, "'%s' must not parse", bad[i]);
}

/* ---- reader features: support or refuse, never ignore ---- */
Test(delta_features, the_issue_list_is_supported_and_others_are_not)
{
	static const char *ok[] = {
		"columnMapping", "deletionVectors", "timestampNtz", "typeWidening",
		"typeWidening-preview", "v2Checkpoint", "vacuumProtocolCheck", "variantType",
		"variantType-preview", "variantShredding", "variantShredding-preview",
		"domainMetadata", "icebergCompatV1", "icebergCompatV2", "icebergCompatV3",
		"inCommitTimestamp", "catalogManaged", "catalogOwned-preview",
	};
	static const char *no[] = {
		"", "collations", "futureThing", "icebergCompatV", "icebergCompatVx", "DeletionVectors",
		"columnmapping", "v3Checkpoint",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(lm_delta_reader_feature_supported(ok[i]), "%s", ok[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(lm_delta_reader_feature_supported(no[i]), "'%s'", no[i]);
}
