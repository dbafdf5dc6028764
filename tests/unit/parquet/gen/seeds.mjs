// Writes the small seed files of the Parquet fuzz target (tests/fuzz/seeds/parquet):
//   node seeds.mjs DIR
// Few rows each, so that libFuzzer mutates headers and pages rather than bulk data.
// Re-run only when the seeds should change; the output is committed.
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import fs from 'node:fs';
import path from 'node:path';

const out = process.argv[2];
if (!out) {
	console.error('usage: node seeds.mjs DIR');
	process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();

await c.run(`CREATE TABLE ck AS SELECT
	CASE WHEN i % 4 IN (1, 2) THEN {'path': 'part-' || i || '.parquet',
		'partitionValues': CASE WHEN i = 1 THEN MAP {}::MAP(VARCHAR, VARCHAR) ELSE MAP {'y': i::VARCHAR, 'z': NULL::VARCHAR} END,
		'size': (i * 100)::BIGINT, 'dataChange': i % 2 = 0,
		'deletionVector': CASE WHEN i = 2 THEN {'storageType': 'i', 'pathOrInlineDv': 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L',
			'offset': NULL::INTEGER, 'sizeInBytes': 40::INTEGER, 'cardinality': 3::BIGINT} END} END AS add,
	CASE WHEN i % 4 = 3 THEN {'path': 'old-' || i, 'deletionTimestamp': i::BIGINT} END AS remove,
	CASE WHEN i = 0 THEN {'minReaderVersion': 3, 'minWriterVersion': 7, 'readerFeatures': ['deletionVectors', NULL],
		'writerFeatures': []::VARCHAR[]} END AS protocol
	FROM range(9) r(i)`);
await c.run(`CREATE TABLE flat AS SELECT i::BIGINT AS id, CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || (i % 2) END AS s,
	(i / 2)::DOUBLE AS d, i % 2 = 0 AS b, md5(i::VARCHAR)::UUID AS u FROM range(12) r(i)`);
for (const [t, codec, v] of [['ck', 'snappy', 'V1'], ['ck', 'zstd', 'V2'], ['ck', 'uncompressed', 'V1'],
	['flat', 'gzip', 'V1'], ['flat', 'snappy', 'V2'], ['flat', 'lz4_raw', 'V2']]) {
	await c.run(`COPY ${t} TO '${path.join(out, `duckdb_${t}_${codec}_${v.toLowerCase()}.parquet`)}'
		(FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION ${v})`);
}

const rows = [...Array(20).keys()];
await parquetWriteFile({
	filename: path.join(out, 'hy_v2_delta.parquet'),
	columnData: [
		{ name: 'id', data: rows.map((i) => BigInt(i * 7 - 20)), type: 'INT64', encoding: 'DELTA_BINARY_PACKED' },
		{ name: 'name', data: rows.map((i) => (i % 5 ? `dir/sub/file-${i}` : null)), type: 'STRING', encoding: 'DELTA_BYTE_ARRAY' },
		{ name: 's2', data: rows.map((i) => 'x'.repeat(i % 4)), type: 'STRING', encoding: 'DELTA_LENGTH_BYTE_ARRAY' },
		{ name: 'f', data: rows.map((i) => i / 4), type: 'DOUBLE', encoding: 'BYTE_STREAM_SPLIT' },
		{ name: 'b', data: rows.map((i) => (i % 3 ? i % 2 === 0 : null)), type: 'BOOLEAN', encoding: 'RLE' },
	],
	pageSize: 64,
});
await parquetWriteFile({
	filename: path.join(out, 'hy_v2_dict.parquet'),
	columnData: [
		{ name: 'k', data: rows.map((i) => `key${i % 3}`), type: 'STRING' },
		{ name: 'n', data: rows.map((i) => (i % 4 ? i % 2 : null)), type: 'INT32' },
	],
	codec: 'UNCOMPRESSED',
});
