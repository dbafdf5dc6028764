#!/usr/bin/env node
// delta-gen.mjs — Delta logs for the checkpoint benchmarks, written with DuckDB (the
// checkpoint Parquet has the real nested checkpoint schema: txn, add with
// partitionValues/tags maps, stats and deletionVector, remove, metaData with
// format/partitionColumns/configuration, protocol with feature lists). Only the log is
// written: the data files the adds name do not exist (listing needs none of them).
//
//   node tools/bench/delta-gen.mjs big-checkpoint [--adds N] OUTDIR
//       v0: protocol + metaData; v1: a commit; a classic checkpoint of v1 holding N add
//       actions (default 1,000,000) with Spark-like paths, stats and partition values;
//       v2: one more commit; _last_checkpoint -> 1.
//   node tools/bench/delta-gen.mjs long-log [--commits N] [--every K] OUTDIR
//       N commits (default 100,000), each adding one file and removing the oldest live
//       one once 100 are live; a classic checkpoint every K versions (default 10);
//       _last_checkpoint -> the newest checkpoint.
// Deterministic: the same arguments give the same bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDuck, sqlString } from '../js/duck.mjs';

const BASE_MS = Date.UTC(2026, 0, 5, 10, 0, 0);
const pad = (v) => String(v).padStart(20, '0');

// A stable UUID-shaped name per index: the MD5 of its decimal text, cut as the SQL of
// addSelect() cuts it (the commits and the checkpoints must name the same files).
function uuidOf(i) {
	const h = crypto.createHash('md5').update(String(i)).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-8${h.slice(15, 18)}-${h.slice(18, 30)}`;
}

const SCHEMA = JSON.stringify({
	type: 'struct',
	fields: [
		{ name: 'id', type: 'long', nullable: true, metadata: {} },
		{ name: 'value', type: 'string', nullable: true, metadata: {} },
		{ name: 'region', type: 'string', nullable: true, metadata: {} },
	],
});
const PROTOCOL = { minReaderVersion: 1, minWriterVersion: 2 };
const METADATA = {
	id: 'b8f7a5c2-0000-4000-8000-000000000001',
	format: { provider: 'parquet', options: {} },
	schemaString: SCHEMA,
	partitionColumns: ['region'],
	configuration: {},
	createdTime: BASE_MS,
};
const REGIONS = ['north', 'south', 'east', 'west'];

function addAction(i, v) {
	const region = REGIONS[i % 4];
	return {
		path: `region=${region}/part-${String(i % 1000).padStart(5, '0')}-${uuidOf(i)}.c000.snappy.parquet`,
		partitionValues: { region },
		size: 1000 + (i * 7919) % 100000,
		modificationTime: BASE_MS + v * 60_000,
		dataChange: true,
		stats: `{"numRecords":${100 + (i % 50)},"minValues":{"id":${i * 10}},"maxValues":{"id":${i * 10 + 9}},"nullCount":{"id":0}}`,
	};
}

function commitText(v, adds, removes, extra = []) {
	const lines = [JSON.stringify({ commitInfo: { timestamp: BASE_MS + v * 60_000, operation: 'WRITE', operationParameters: { mode: 'Append' }, engineInfo: 'lakemount-bench' } })];
	for (const a of extra) lines.push(JSON.stringify(a));
	for (const r of removes) lines.push(JSON.stringify({ remove: { path: r.path, deletionTimestamp: BASE_MS + v * 60_000, dataChange: true } }));
	for (const a of adds) lines.push(JSON.stringify({ add: a }));
	return lines.join('\n') + '\n';
}

// The checkpoint's column types, as Spark writes them (names and nesting).
const CKPT_COLUMNS = `
	txn STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT),
	"add" STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT,
		modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR),
		deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER,
			sizeInBytes INTEGER, cardinality BIGINT),
		baseRowId BIGINT, defaultRowCommitVersion BIGINT),
	remove STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN,
		extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT),
	metaData STRUCT(id VARCHAR, name VARCHAR, description VARCHAR,
		format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR,
		partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT),
	protocol STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER,
		readerFeatures VARCHAR[], writerFeatures VARCHAR[])`;

// Write a classic checkpoint of the live adds through DuckDB: the adds go into a temp
// table with generated values (fast for millions of rows), the protocol and metaData rows
// are unioned in as literals.
async function writeCheckpoint(duck, file, n, addSql) {
	await duck.run(`CREATE OR REPLACE TEMP TABLE ck (${CKPT_COLUMNS})`);
	await duck.run(`INSERT INTO ck (protocol) VALUES ({'minReaderVersion': ${PROTOCOL.minReaderVersion}, 'minWriterVersion': ${PROTOCOL.minWriterVersion}, 'readerFeatures': NULL, 'writerFeatures': NULL})`);
	await duck.run(`INSERT INTO ck (metaData) VALUES ({'id': ${sqlString(METADATA.id)}, 'name': NULL, 'description': NULL,
		'format': {'provider': 'parquet', 'options': MAP {}}, 'schemaString': ${sqlString(SCHEMA)},
		'partitionColumns': ['region'], 'configuration': MAP {}, 'createdTime': ${BASE_MS}})`);
	if (n) await duck.run(`INSERT INTO ck ("add") ${addSql}`);
	await duck.run(`COPY ck TO ${sqlString(file)} (FORMAT parquet, COMPRESSION snappy)`);
}

// The add struct for row i of range(lo, hi) at version v, in SQL (same values as addAction).
function addSelect(lo, hi, v) {
	return `SELECT {'path': 'region=' || (['north','south','east','west'])[(i % 4) + 1] || '/part-' || lpad(CAST(i % 1000 AS VARCHAR), 5, '0') || '-' || h[1:8] || '-' || h[9:12] || '-4' || h[13:15] || '-8' || h[16:18] || '-' || h[19:30] || '.c000.snappy.parquet',
		'partitionValues': MAP {'region': (['north','south','east','west'])[(i % 4) + 1]},
		'size': 1000 + (i * 7919) % 100000, 'modificationTime': ${BASE_MS} + ${v} * 60000, 'dataChange': false,
		'stats': '{"numRecords":' || (100 + i % 50) || ',"minValues":{"id":' || (i * 10) || '},"maxValues":{"id":' || (i * 10 + 9) || '},"nullCount":{"id":0}}',
		'tags': NULL, 'deletionVector': NULL, 'baseRowId': NULL, 'defaultRowCommitVersion': NULL}
		FROM (SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(${lo}, ${hi}) t(i))`;
}

async function bigCheckpoint(out, adds) {
	const log = path.join(out, '_delta_log');
	fs.mkdirSync(log, { recursive: true });
	fs.writeFileSync(path.join(log, `${pad(0)}.json`), commitText(0, [], [], [{ protocol: PROTOCOL }, { metaData: METADATA }]));
	fs.writeFileSync(path.join(log, `${pad(1)}.json`), commitText(1, [addAction(10_000_000, 1)], []));
	const duck = await openDuck({ threads: 2 });
	try {
		// The checkpoint of v1 holds N adds (as if v1 were reached by a long history).
		await writeCheckpoint(duck, path.join(log, `${pad(1)}.checkpoint.parquet`), adds, addSelect(0, adds, 1));
	} finally {
		duck.close();
	}
	fs.writeFileSync(path.join(log, `${pad(2)}.json`), commitText(2, [addAction(10_000_001, 2)], []));
	fs.writeFileSync(path.join(log, '_last_checkpoint'), JSON.stringify({ version: 1, size: adds + 2, numOfAddFiles: adds }) + '\n');
}

async function longLog(out, commits, every) {
	const log = path.join(out, '_delta_log');
	const LIVE = 100;
	fs.mkdirSync(log, { recursive: true });
	const duck = await openDuck({ threads: 2 });
	let lastCk = -1;
	try {
		for (let v = 0; v < commits; v++) {
			// v adds file v; from v = LIVE on it also removes file v - LIVE.
			const extra = v === 0 ? [{ protocol: PROTOCOL }, { metaData: METADATA }] : [];
			const removes = v >= LIVE ? [addAction(v - LIVE, v - LIVE)] : [];
			fs.writeFileSync(path.join(log, `${pad(v)}.json`), commitText(v, [addAction(v, v)], removes, extra));
			if (v && v % every === 0) {
				const lo = Math.max(0, v - LIVE + 1);
				// modificationTime of file i is that of its own version: per-row SQL.
				const sql = addSelect(lo, v + 1, 0).replace(`${BASE_MS} + 0 * 60000`, `${BASE_MS} + i * 60000`).replace(`'dataChange': false`, `'dataChange': true`);
				await writeCheckpoint(duck, path.join(log, `${pad(v)}.checkpoint.parquet`), v + 1 - lo, sql);
				lastCk = v;
			}
		}
	} finally {
		duck.close();
	}
	if (lastCk >= 0) fs.writeFileSync(path.join(log, '_last_checkpoint'), JSON.stringify({ version: lastCk, size: LIVE + 2 }) + '\n');
}

const args = process.argv.slice(2);
const mode = args.shift();
const opt = (name, dflt) => {
	const i = args.indexOf(name);
	if (i < 0) return dflt;
	const v = Number(args[i + 1]);
	args.splice(i, 2);
	return v;
};
if (mode === 'big-checkpoint') {
	const adds = opt('--adds', 1_000_000);
	const out = args[0];
	if (!out) throw new Error('usage: delta-gen.mjs big-checkpoint [--adds N] OUTDIR');
	await bigCheckpoint(out, adds);
} else if (mode === 'long-log') {
	const commits = opt('--commits', 100_000);
	const every = opt('--every', 10);
	const out = args[0];
	if (!out) throw new Error('usage: delta-gen.mjs long-log [--commits N] [--every K] OUTDIR');
	await longLog(out, commits, every);
} else {
	console.error('usage: delta-gen.mjs big-checkpoint|long-log [options] OUTDIR');
	process.exit(2);
}
