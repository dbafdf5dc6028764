/* Unit tests: the Delta commit decoder and log file names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lm/delta.h"

static const char *commit =
	"{\"commitInfo\":{\"timestamp\":1767607200000,\"operation\":\"WRITE\",\"operationParameters\":{\"mode\":\"Append\"}}}\n"
	"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}\n"
	"{\"metaData\":{\"id\":\"abc\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{}\",\"partitionColumns\":[\"region\"],\"configuration\":{\"k\":\"v\"},\"createdTime\":1}}\n"
	"{\"add\":{\"path\":\"region=a%253Db/part-0.parquet\",\"partitionValues\":{\"region\":\"a=b\"},\"size\":123,\"modificationTime\":1767607200001,\"dataChange\":true}}\n"
	"{\"add\":{\"path\":\"p.parquet\",\"size\":5,\"modificationTime\":2,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":4,\"sizeInBytes\":40,\"cardinality\":6}}}\n"
	"{\"remove\":{\"path\":\"old.parquet\",\"deletionTimestamp\":1767607200002,\"dataChange\":true}}\n"
	"{\"txn\":{\"appId\":\"x\",\"version\":1}}\n"
	"{\"cdc\":{\"path\":\"_change_data/c.parquet\",\"size\":1,\"dataChange\":false}}\n"
	"{\"someFutureAction\":{}}\n"
	"\n";

Test(delta_actions, decodes_a_spark_commit)
{
	struct lm_delta_commit c;
	struct lm_err err;

	lm_delta_commit_init(&c);
	cr_assert_eq(lm_delta_commit_parse(commit, strlen(commit), &c, &err), 0, "%s", err.msg);
	cr_assert(c.has_commit_info);
	cr_assert_eq(c.commit_info.timestamp, 1767607200000LL);
	cr_assert_str_eq(c.commit_info.operation, "WRITE");
	cr_assert(strstr(c.commit_info.json, "\"Append\""));
	cr_assert(c.has_protocol);
	cr_assert_eq(c.protocol.min_reader, 3);
	cr_assert_eq(c.protocol.n_reader_features, 1);
	cr_assert_str_eq(c.protocol.reader_features[0], "deletionVectors");
	cr_assert(c.has_metadata);
	cr_assert_str_eq(c.metadata.id, "abc");
	cr_assert_eq(c.metadata.n_partition_columns, 1);
	cr_assert_str_eq(c.metadata.partition_columns[0], "region");
	cr_assert_eq(c.n_adds, 2);
	cr_assert_str_eq(c.adds[0].path, "region=a%253Db/part-0.parquet");
	cr_assert_eq(c.adds[0].size, 123);
	cr_assert_eq(c.adds[0].mtime_ms, 1767607200001LL);
	cr_assert_null(c.adds[0].dv_id);
	cr_assert_str_eq(c.adds[1].dv_id, "uab^-aqEH.-t@S}K{vb[*k^@4");
	cr_assert_eq(c.adds[1].dv_cardinality, 6);
	cr_assert(c.adds[1].flags & LM_DELTA_HAS_DV);
	cr_assert_eq(c.n_removes, 1);
	cr_assert_eq(c.removes[0].mtime_ms, 1767607200002LL);
	cr_assert_eq(c.n_txn, 1);
	cr_assert_eq(c.n_cdc, 1);
	cr_assert_eq(c.n_other, 1);
	lm_delta_commit_free(&c);
}

static void refused(const char *text, const char *needle)
{
	struct lm_delta_commit c;
	struct lm_err err;

	lm_delta_commit_init(&c);
	cr_assert_eq(lm_delta_commit_parse(text, strlen(text), &c, &err), LM_EFORMAT,
		     "should refuse: %s", text);
	cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	lm_delta_commit_free(&c);
}

Test(delta_actions, refuses_bad_lines_with_line_numbers)
{
	refused("{\"commitInfo\":{}}\n{\"add\":{\"path\":\"x\",\"size\":1\n", "line 2: malformed JSON");
	refused("[1,2]\n", "line 1: line is not a JSON object");
	refused("{\"add\":{\"size\":1}}\n", "add without a path");
	refused("{\"add\":{\"path\":\"x\"}}\n", "add without a valid size");
	refused("{\"add\":{\"path\":\"x\",\"size\":1.5}}\n", "size is not an exact integer");
	/* 2^53 + 1 cannot be held exactly by cJSON's double: refuse, never round */
	refused("{\"add\":{\"path\":\"x\",\"size\":9007199254740993}}\n", "exact integer");
	refused("{\"protocol\":{\"minReaderVersion\":\"1\",\"minWriterVersion\":2}}\n",
		"protocol without valid");
	refused("{\"metaData\":{\"partitionColumns\":[]}}\n", "metaData without a string id");
	refused("{\"add\":{\"path\":\"x\",\"size\":1,\"deletionVector\":{\"storageType\":\"u\"}}}\n",
		"deletionVector lacks");
}

Test(delta_actions, log_names)
{
	struct lm_delta_log_name n;

	lm_delta_log_name_parse("00000000000000000042.json", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_COMMIT);
	cr_assert_eq(n.version, 42);
	lm_delta_log_name_parse("00000000000000000010.checkpoint.parquet", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_CHECKPOINT);
	lm_delta_log_name_parse("00000000000000000010.checkpoint.0000000002.0000000003.parquet", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_CHECKPOINT_PART);
	cr_assert_eq(n.part, 2);
	cr_assert_eq(n.nparts, 3);
	lm_delta_log_name_parse("00000000000000000002.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_CHECKPOINT_V2);
	cr_assert_not(n.parquet);
	lm_delta_log_name_parse("00000000000000000001.00000000000000000003.compacted.json", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_COMPACTION);
	cr_assert_eq(n.version2, 3);
	lm_delta_log_name_parse("00000000000000000001.crc", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_CRC);
	lm_delta_log_name_parse("_last_checkpoint", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_LAST_CHECKPOINT);
	lm_delta_log_name_parse("0000000000000000001.json", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_OTHER);
	lm_delta_log_name_parse("00000000000000000001.json.tmp", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_OTHER);
	lm_delta_log_name_parse(".00000000000000000001.json.crc", &n);
	cr_assert_eq(n.kind, LM_DELTA_LOG_OTHER);
}

Test(delta_actions, features)
{
	cr_assert(lm_delta_reader_feature_supported("deletionVectors"));
	cr_assert(lm_delta_reader_feature_supported("columnMapping"));
	cr_assert_not(lm_delta_reader_feature_supported("somethingNew"));
}

/* ---- the add/remove fast path must mean exactly what the cJSON path means ---- */

#include "delta_both_ways.h"

Test(delta_fast, agrees_with_cjson_on_tricky_lines)
{
	static const char *lines[] = {
		"{\"add\":{\"path\":\"caf\\u00e9\\/x \\\"q\\\".parquet\",\"size\":1,\"modificationTime\":2,\"dataChange\":true}}\n",
		"{\"add\":{\"path\":\"emoji-\\ud83d\\ude00.parquet\",\"size\":1,\"modificationTime\":2,\"dataChange\":false}}\n",
		"  { \"remove\" : { \"path\" : \"a\" , \"deletionTimestamp\" : null , \"dataChange\" : true } }  \n",
		"{\"add\":{\"path\":\"first\",\"path\":\"second\",\"size\":3,\"size\":4,\"modificationTime\":5}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"modificationTime\":1,\"tags\":{\"a\":[1,2,{\"b\":null}]},\"stats\":\"{\\\"numRecords\\\":3}\",\"partitionValues\":{\"x\":null}}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"modificationTime\":1,\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"abc\",\"offset\":1,\"sizeInBytes\":3,\"cardinality\":9}}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"modificationTime\":1,\"deletionVector\":null}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":-0,\"modificationTime\":1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1.0,\"modificationTime\":1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1e3,\"modificationTime\":1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":01,\"modificationTime\":1}}\n",
		"{\"add\":{\"path\":\"p\\u0000x\",\"size\":1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1}} trailing\n",
		"{\"add\":{\"path\":\"p\",\"size\":1},\"remove\":{\"path\":\"q\"}}\n",
		"{\"add\":{\"path\":\"\",\"size\":1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"deletionVector\":{\"storageType\":\"u\"}}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"x\":[1,2,}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"x\":\"\\q\"}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":1,\"x\":tru}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":9007199254740991,\"modificationTime\":-1}}\n",
		"{\"add\":{\"path\":\"p\",\"size\":9007199254740992}}\n",
		"{\"add\":{}}\n",
		"{\"add\":null}\n",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char what[32];

		snprintf(what, sizeof(what), "line %zu", i);
		both_ways(lines[i], strlen(lines[i]), what);
	}
}

