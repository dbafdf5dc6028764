// Parquet decoder test oracle, written with DuckDB (@duckdb/node-api).
//
//   node gen.mjs OUTDIR [CORPUSDIR [STAMPFILE]]
//
// 1. Writes fixtures into OUTDIR: a flat table and a Delta-checkpoint-shaped nested
//    table, with each codec (uncompressed, snappy, gzip, zstd, lz4_raw) and DuckDB's
//    PARQUET_VERSION V1/V2 (V2 = v2 encodings, still DATA_PAGE headers), plus a
//    many-pages file; and with hyparquet-writer (a second writer) files made of
//    DATA_PAGE_V2 pages with DELTA_BYTE_ARRAY and friends, small pages, nested columns.
// 2. For every fixture, and for every Parquet file under CORPUSDIR/delta/*/_delta_log
//    (checkpoints, multi-part parts, v2 checkpoints, sidecars; read in place), asks
//    DuckDB to read a list of fields back and writes one line per row into
//    OUTDIR/<n>.expect.tsv, rendered as the C test renders them (see "rendering" below).
// 3. Writes OUTDIR/manifest.tsv: parquet-path TAB expect-path TAB field:kind,...
//    and OUTDIR/stamp last.
//
// Rendering of one field (kinds): NULL is \N; str = the string with \ TAB LF CR escaped
// as \\ \t \n \r; int = decimal; bool = true/false; f4 = printf %.4f; uuid = canonical
// 8-4-4-4-12 hex; present = 1 when the struct is non-null else 0; map = {k=v;k=v}
// (v may be \N); list = [a;b] (elements may be \N).
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const out = process.argv[2];
const corpus = process.argv[3];
if (!out) {
	console.error('usage: node gen.mjs OUTDIR [CORPUSDIR]');
	process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
fs.rmSync(path.join(out, 'stamp'), { force: true });

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run('SET threads = 1');

const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const esc = (x) => `replace(replace(replace(replace(${x}, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`;
const NUL = "'\\N'";

function render(field, kind) {
	const x = field.split('.').map((p) => `"${p}"`).join('.');
	switch (kind) {
	case 'str': return `coalesce(${esc(x)}, ${NUL})`;
	case 'int': return `coalesce(CAST(${x} AS VARCHAR), ${NUL})`;
	case 'bool': return `coalesce(CAST(${x} AS VARCHAR), ${NUL})`;
	case 'f4': return `coalesce(printf('%.4f', ${x}), ${NUL})`;
	case 'uuid': return `coalesce(CAST(${x} AS VARCHAR), ${NUL})`;
	case 'present': return `CASE WHEN ${x} IS NULL THEN '0' ELSE '1' END`;
	case 'map': return `CASE WHEN ${x} IS NULL THEN ${NUL} ELSE '{' || coalesce(array_to_string(list_transform(map_entries(${x}), e -> ${esc('e.key')} || '=' || coalesce(${esc('e.value')}, ${NUL})), ';'), '') || '}' END`;
	case 'list': return `CASE WHEN ${x} IS NULL THEN ${NUL} ELSE '[' || coalesce(array_to_string(list_transform(${x}, e -> coalesce(${esc('e')}, ${NUL})), ';'), '') || ']' END`;
	default: throw new Error('kind ' + kind);
	}
}

const manifest = [];
let seq = 0;

async function oracle(file, fields) {
	const cols = fields.map(([f, k]) => render(f, k)).join(` || chr(9) || `);
	const sql = `SELECT ${cols} AS line FROM read_parquet(${q(file)}, file_row_number = true) ORDER BY file_row_number`;
	const r = await c.runAndReadAll(sql);
	const lines = r.getRows().map((row) => row[0]);
	const exp = path.join(out, `${String(seq++).padStart(3, '0')}.expect.tsv`);
	fs.writeFileSync(exp, lines.map((l) => l + '\n').join(''));
	manifest.push([file, exp, fields.map(([f, k]) => `${f}:${k}`).join(',')].join('\t'));
}

// ---- fixtures ----

const N = 5000;
await c.run(`CREATE TABLE flat AS SELECT
	i::BIGINT AS id,
	CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 7919) % 100003 - 50000 END::INTEGER AS i32,
	(i / 4)::FLOAT AS f,
	(i / 8 - 100)::DOUBLE AS d,
	CASE WHEN i % 17 = 0 THEN NULL ELSE i % 3 = 0 END AS b,
	CASE WHEN i % 11 = 0 THEN NULL ELSE 'cat' || (i % 20) END AS s_dict,
	'unique-' || i || repeat('x', i % 7) || CASE WHEN i % 101 = 0 THEN chr(9) || 'tab\\' ELSE '' END AS s_uniq,
	(i * 1.5)::DECIMAL(18,3) AS dec3,
	md5(i::VARCHAR)::UUID AS u,
	CASE WHEN i % 19 = 0 THEN NULL ELSE (i % 300)::SMALLINT END AS i16,
	epoch_us(to_timestamp(i * 1000)::TIMESTAMP) AS ts_us
	FROM range(${N}) r(i)`);
const flatFields = [['id', 'int'], ['i32', 'int'], ['f', 'f4'], ['d', 'f4'], ['b', 'bool'],
	['s_dict', 'str'], ['s_uniq', 'str'], ['u', 'uuid'], ['i16', 'int'], ['ts_us', 'int']];

await c.run(`CREATE TABLE ck AS SELECT
	CASE WHEN i % 7 = 0 THEN {'appId': 'app-' || (i % 3), 'version': i::BIGINT, 'lastUpdated': (1700000000000 + i)::BIGINT} END AS txn,
	CASE WHEN i % 7 IN (1, 2, 3, 4) THEN {
		'path': 'year=' || (2020 + i % 4) || '/part-' || lpad(i::VARCHAR, 5, '0') || '.snappy.parquet',
		'partitionValues': CASE WHEN i % 13 = 0 THEN MAP {}::MAP(VARCHAR, VARCHAR)
			WHEN i % 13 = 1 THEN NULL::MAP(VARCHAR, VARCHAR)
			WHEN i % 13 = 2 THEN MAP {'year': NULL::VARCHAR}
			ELSE MAP {'year': (2020 + i % 4)::VARCHAR, 'month': (1 + i % 12)::VARCHAR} END,
		'size': (i * 1000 + 17)::BIGINT,
		'modificationTime': (1700000000000 + i * 1000)::BIGINT,
		'dataChange': i % 2 = 0,
		'tags': CASE WHEN i % 5 = 0 THEN MAP {'INSERTION_TIME': (1700000000 + i)::VARCHAR} END,
		'deletionVector': CASE WHEN i % 9 = 0 THEN {'storageType': 'u', 'pathOrInlineDv': 'ab^-aqEH.-t@S}K{vb[*k^',
			'offset': (i % 100)::INTEGER, 'sizeInBytes': 36::INTEGER, 'cardinality': (i % 50)::BIGINT} END,
		'stats': '{"numRecords":' || i || ',"minValues":{"a":' || i || '}}'
	} END AS add,
	CASE WHEN i % 7 = 5 THEN {'path': 'old/part-' || i || '.parquet', 'deletionTimestamp': (1690000000000 + i)::BIGINT,
		'dataChange': true, 'extendedFileMetadata': i % 2 = 0, 'partitionValues': MAP {'year': '2019'},
		'size': i::BIGINT} END AS remove,
	CASE WHEN i = 6 THEN {'id': 'f1c0e6b0-0000-4000-8000-000000000001', 'name': NULL::VARCHAR,
		'format': {'provider': 'parquet', 'options': MAP {}::MAP(VARCHAR, VARCHAR)},
		'schemaString': '{"type":"struct","fields":[{"name":"a","type":"long"}]}',
		'partitionColumns': ['year', 'month'],
		'configuration': MAP {'delta.enableDeletionVectors': 'true', 'delta.checkpointInterval': '10'},
		'createdTime': 1690000000000::BIGINT} END AS metaData,
	CASE WHEN i = 13 THEN {'minReaderVersion': 3, 'minWriterVersion': 7, 'readerFeatures': ['deletionVectors'],
			'writerFeatures': ['deletionVectors', NULL, 'appendOnly']}
		WHEN i = 20 THEN {'minReaderVersion': 1, 'minWriterVersion': 2, 'readerFeatures': NULL::VARCHAR[],
			'writerFeatures': []::VARCHAR[]} END AS protocol,
	CASE WHEN i % 7 = 6 AND i < 100 THEN {'domain': 'delta.rowTracking', 'configuration': '{"rowIdHighWaterMark":' || i || '}',
		'removed': false} END AS domainMetadata,
	CASE WHEN i = 27 THEN {'version': 42::BIGINT, 'tags': NULL::MAP(VARCHAR, VARCHAR)} END AS checkpointMetadata,
	CASE WHEN i = 34 THEN {'path': 'sidecar-1.parquet', 'sizeInBytes': 1234::BIGINT, 'modificationTime': 1700000000001::BIGINT,
		'tags': MAP {'a': 'b'}} END AS sidecar,
	CASE WHEN i = 41 THEN {'timestamp': 1700000000000::BIGINT, 'operation': 'WRITE',
		'operationParameters': MAP {'mode': 'Append', 'partitionBy': '[]'}} END AS commitInfo
	FROM range(${N}) r(i)`);
const ckFields = [['txn.appId', 'str'], ['txn.version', 'int'], ['add', 'present'], ['add.path', 'str'],
	['add.partitionValues', 'map'], ['add.size', 'int'], ['add.modificationTime', 'int'],
	['add.dataChange', 'bool'], ['add.tags', 'map'], ['add.deletionVector', 'present'],
	['add.deletionVector.storageType', 'str'], ['add.deletionVector.pathOrInlineDv', 'str'],
	['add.deletionVector.offset', 'int'], ['add.deletionVector.sizeInBytes', 'int'],
	['add.deletionVector.cardinality', 'int'], ['add.stats', 'str'], ['remove', 'present'],
	['remove.path', 'str'], ['remove.deletionTimestamp', 'int'], ['remove.dataChange', 'bool'],
	['remove.extendedFileMetadata', 'bool'], ['remove.partitionValues', 'map'], ['remove.size', 'int'],
	['metaData.id', 'str'], ['metaData.name', 'str'], ['metaData.format.provider', 'str'],
	['metaData.format.options', 'map'], ['metaData.schemaString', 'str'], ['metaData.partitionColumns', 'list'],
	['metaData.configuration', 'map'], ['metaData.createdTime', 'int'], ['protocol', 'present'],
	['protocol.minReaderVersion', 'int'], ['protocol.minWriterVersion', 'int'],
	['protocol.readerFeatures', 'list'], ['protocol.writerFeatures', 'list'],
	['domainMetadata.domain', 'str'], ['domainMetadata.configuration', 'str'], ['domainMetadata.removed', 'bool'],
	['checkpointMetadata.version', 'int'], ['checkpointMetadata.tags', 'map'],
	['sidecar.path', 'str'], ['sidecar.sizeInBytes', 'int'], ['sidecar.modificationTime', 'int'],
	['sidecar.tags', 'map'], ['commitInfo.operation', 'str'], ['commitInfo.operationParameters', 'map']];

// many pages in one chunk: long strings
await c.run(`CREATE TABLE pages AS SELECT i::BIGINT AS id,
	CASE WHEN i % 29 = 0 THEN NULL ELSE repeat(chr((65 + i % 26)::INTEGER), (100 + i % 50)::INTEGER) || i END AS s,
	CASE WHEN i % 31 = 0 THEN NULL ELSE ['a' || (i % 5), 'b' || i] END AS l
	FROM range(40000) r(i)`);
const pageFields = [['id', 'int'], ['s', 'str'], ['l', 'list']];

const codecs = ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw'];
for (const v of ['V1', 'V2']) {
	for (const codec of codecs) {
		for (const [t, fields] of [['flat', flatFields], ['ck', ckFields]]) {
			const f = path.join(out, `${t}_${codec}_${v.toLowerCase()}.parquet`);
			await c.run(`COPY ${t} TO ${q(f)} (FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION ${v}, ROW_GROUP_SIZE 2048)`);
			await oracle(f, fields);
		}
	}
	const f = path.join(out, `pages_snappy_${v.toLowerCase()}.parquet`);
	await c.run(`COPY pages TO ${q(f)} (FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION ${v}, ROW_GROUP_SIZE 100000)`);
	await oracle(f, pageFields);
}

// ---- hyparquet-writer: DATA_PAGE_V2, DELTA_BYTE_ARRAY, many small pages ----

const HN = 3000;
const hyRows = [...Array(HN).keys()];
const hySchema = [
	{ name: 'root', num_children: 8 },
	{ name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
	{ name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
	{ name: 's2', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
	{ name: 'f', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
	{ name: 'b', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
	{ name: 'n32', type: 'INT32', repetition_type: 'OPTIONAL' },
	{ name: 'add', repetition_type: 'OPTIONAL', num_children: 3 },
	{ name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
	{ name: 'size', type: 'INT64', repetition_type: 'OPTIONAL' },
	{ name: 'partitionValues', repetition_type: 'OPTIONAL', converted_type: 'MAP', num_children: 1 },
	{ name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
	{ name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
	{ name: 'value', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
	{ name: 'features', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
	{ name: 'list', repetition_type: 'REPEATED', num_children: 1 },
	{ name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
];
const hyData = (enc) => [
	{ name: 'id', data: hyRows.map((i) => BigInt(i) * 1000003n - 7n), encoding: enc ? 'DELTA_BINARY_PACKED' : undefined },
	{ name: 'name', data: hyRows.map((i) => (i % 23 === 0 ? null : `warehouse/sales/year=${2000 + (i % 7)}/part-${String(i).padStart(5, '0')}.parquet`)),
		encoding: enc ? 'DELTA_BYTE_ARRAY' : undefined },
	{ name: 's2', data: hyRows.map((i) => (i % 29 === 0 ? null : 'x'.repeat(i % 40) + i)),
		encoding: enc ? 'DELTA_LENGTH_BYTE_ARRAY' : undefined },
	{ name: 'f', data: hyRows.map((i) => (i % 31 === 0 ? null : i / 16 - 50)), encoding: enc ? 'BYTE_STREAM_SPLIT' : undefined },
	{ name: 'b', data: hyRows.map((i) => (i % 37 === 0 ? null : i % 5 < 2)), encoding: enc ? 'RLE' : undefined },
	{ name: 'n32', data: hyRows.map((i) => (i % 41 === 0 ? null : ((i * 2654435761) % 4294967296) - 2147483648)),
		encoding: enc ? 'DELTA_BINARY_PACKED' : undefined },
	{ name: 'add', data: hyRows.map((i) => (i % 4 === 3 ? null : {
		path: `p/${i}`, size: i % 9 === 0 ? null : BigInt(i * 10),
		partitionValues: i % 6 === 0 ? null : i % 6 === 1 ? {} : { a: String(i % 3), b: i % 5 === 0 ? null : 'v' + i },
	})) },
	{ name: 'features', data: hyRows.map((i) => (i % 5 === 0 ? null : i % 5 === 1 ? [] : ['f' + (i % 3), i % 2 ? null : 'g']) ) },
];
const hyFields = [['id', 'int'], ['name', 'str'], ['s2', 'str'], ['f', 'f4'], ['b', 'bool'], ['n32', 'int'],
	['add', 'present'], ['add.path', 'str'], ['add.size', 'int'], ['add.partitionValues', 'map'], ['features', 'list']];
const gzip = (b) => new Uint8Array(zlib.gzipSync(b));
for (const [codec, compressors] of [['UNCOMPRESSED', {}], ['SNAPPY', undefined], ['GZIP', { GZIP: gzip }]]) {
	for (const enc of [false, true]) {
		const f = path.join(out, `hy_${codec.toLowerCase()}_${enc ? 'delta' : 'default'}.parquet`);
		const opts = { filename: f, columnData: hyData(enc), schema: hySchema, codec, pageSize: 2048,
			rowGroupSize: [1000, 1500], statistics: codec !== 'GZIP' };
		if (compressors) opts.compressors = compressors;
		await parquetWriteFile(opts);
		await oracle(f, hyFields);
	}
}

// ---- corpus: every Parquet file of a Delta log, read in place ----

const candidates = ['add.path', 'add.size', 'add.modificationTime', 'add.dataChange', 'add.partitionValues',
	'add.tags', 'add.stats', 'add.deletionVector', 'add.deletionVector.storageType',
	'add.deletionVector.pathOrInlineDv', 'add.deletionVector.offset', 'add.deletionVector.sizeInBytes',
	'add.deletionVector.cardinality', 'add.baseRowId', 'add.defaultRowCommitVersion', 'remove.path',
	'remove.deletionTimestamp', 'remove.dataChange', 'remove.extendedFileMetadata', 'remove.partitionValues',
	'remove.size', 'remove.deletionVector', 'remove.deletionVector.cardinality', 'metaData.id', 'metaData.name',
	'metaData.schemaString', 'metaData.partitionColumns', 'metaData.configuration', 'metaData.createdTime',
	'metaData.format.provider', 'metaData.format.options', 'protocol.minReaderVersion',
	'protocol.minWriterVersion', 'protocol.readerFeatures', 'protocol.writerFeatures', 'txn.appId', 'txn.version',
	'txn.lastUpdated', 'domainMetadata.domain', 'domainMetadata.configuration', 'domainMetadata.removed',
	'checkpointMetadata.version', 'checkpointMetadata.tags', 'sidecar.path', 'sidecar.sizeInBytes',
	'sidecar.modificationTime', 'sidecar.tags', 'commitInfo.operation', 'commitInfo.timestamp'];

function kindOf(type) {
	if (type === 'VARCHAR') return 'str';
	if (['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT'].includes(type)) return 'int';
	if (type === 'BOOLEAN') return 'bool';
	if (type === 'MAP(VARCHAR, VARCHAR)') return 'map';
	if (type === 'VARCHAR[]') return 'list';
	if (type.startsWith('STRUCT(')) return 'present';
	return null;
}

function walk(dir, acc) {
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) walk(p, acc);
		else if (e.isFile() && e.name.endsWith('.parquet')) acc.push(p);
	}
	return acc;
}

if (corpus && fs.existsSync(path.join(corpus, 'delta'))) {
	const files = [];
	for (const t of fs.readdirSync(path.join(corpus, 'delta')).sort()) {
		const log = path.join(corpus, 'delta', t, '_delta_log');
		if (fs.existsSync(log)) walk(log, files);
	}
	for (const f of files.sort()) {
		const fields = [];
		for (const cand of candidates) {
			try {
				const x = cand.split('.').map((p) => `"${p}"`).join('.');
				const r = await c.runAndReadAll(`SELECT typeof(${x}) FROM read_parquet(${q(f)}) LIMIT 1`);
				const rows = r.getRows();
				if (!rows.length) continue;
				const k = kindOf(rows[0][0]);
				if (k) fields.push([cand, k]);
			} catch (e) {
				// field absent from this file
			}
		}
		if (!fields.length) {
			// empty file or no known field: still decodable, check the row count only
			const r = await c.runAndReadAll(`SELECT count(*) FROM read_parquet(${q(f)})`);
			manifest.push([f, '-', `#rows=${r.getRows()[0][0]}`].join('\t'));
			continue;
		}
		await oracle(f, fields);
	}
}

fs.writeFileSync(path.join(out, 'manifest.tsv'), manifest.map((l) => l + '\n').join(''));
fs.writeFileSync(path.join(out, 'stamp'), new Date().toISOString() + '\n');
if (process.argv[4]) fs.writeFileSync(process.argv[4], new Date().toISOString() + '\n');
