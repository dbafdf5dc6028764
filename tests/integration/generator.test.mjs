// generator.test.mjs — the sample-lake generator's ground truth checked without FUSE:
// every commit line is JSON shaped as Spark writes it, an independent replay of the log
// gives the file lists of .expected.json, sizes/mtimes are the real ones, DuckDB reads the
// row counts back, partition directories decode to the partition values, and the output
// is byte-for-byte deterministic for a seed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { pctDecode, sortPaths, walk } from './lib/fsx.mjs';
import { openDuck, sqlString, sqlPathList } from '../../tools/js/duck.mjs';

const SEED = 3;

function commits(tableDir) {
	const logDir = path.join(tableDir, '_delta_log');
	return fs.readdirSync(logDir).filter((n) => /^\d{20}\.json$/.test(n)).sort()
		.map((n) => ({ version: Number(n.slice(0, 20)), file: path.join(logDir, n), text: fs.readFileSync(path.join(logDir, n), 'utf8') }));
}

async function treeHash(dir) {
	const h = crypto.createHash('sha256');
	for (const e of await walk(dir)) {
		h.update(`${e.rel}\0${e.type}\0${e.type === 'file' ? e.mtimeMs : ''}\0`); // directory mtimes are creation times
		if (e.type === 'file') h.update(fs.readFileSync(path.join(dir, e.rel)));
	}
	return h.digest('hex');
}

describe('gen-lake.mjs ground truth', { timeout: 120_000 }, () => {
	let tmp, lake, expected, duck;
	before(async () => {
		tmp = makeTmpdir('gen');
		lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: SEED });
		duck = await openDuck();
	});
	after(() => {
		duck?.close();
		removeTmpdir(tmp);
	});

	it('has the tables, folders and plain files it promises', () => {
		assert.deepEqual(Object.keys(expected.tables).sort(), ['events', 'sales', 'warehouse/inventory']);
		for (const f of expected.plainFiles) assert.equal(fs.statSync(path.join(lake, f.path)).size, f.size);
		assert.ok(expected.tables.sales.versions.length >= 6);
		assert.ok(expected.tables.events.versions.length >= 12);
		for (const t of Object.values(expected.tables)) assert.ok(fs.existsSync(path.join(lake, t.path, '_delta_log')));
	});

	it('writes commits shaped as Spark + Delta 3.2 writes them', () => {
		for (const t of Object.values(expected.tables)) {
			const cs = commits(path.join(lake, t.path));
			assert.deepEqual(cs.map((c) => c.version), t.versions.map((v) => v.version), `${t.path}: commit files 0..N`);
			for (const c of cs) {
				assert.ok(c.text.endsWith('\n'), `${c.file} ends with a newline`);
				const actions = c.text.slice(0, -1).split('\n').map((l, i) => {
					try { return JSON.parse(l); } catch (e) { assert.fail(`${c.file}:${i + 1}: ${e.message}`); }
				});
				const kinds = actions.map((a) => Object.keys(a)[0]);
				assert.equal(kinds[0], 'commitInfo', `${c.file}: commitInfo first`);
				const ci = actions[0].commitInfo;
				assert.deepEqual(Object.keys(ci).filter((k) => k !== 'readVersion'),
					['timestamp', 'operation', 'operationParameters', 'isolationLevel', 'isBlindAppend', 'operationMetrics', 'engineInfo', 'txnId']);
				assert.equal(ci.engineInfo, 'Apache-Spark/3.5.1 Delta-Lake/3.2.0');
				assert.equal(ci.readVersion, c.version === 0 ? undefined : c.version - 1);
				assert.equal(ci.timestamp, t.versions[c.version].timestamp);
				assert.equal(fs.statSync(c.file, { bigint: true }).mtimeNs / 1_000_000n, BigInt(ci.timestamp), `${c.file}: mtime = commit timestamp`);
				assert.ok(fs.existsSync(path.join(path.dirname(c.file), `.${path.basename(c.file)}.crc`)), 'Hadoop .crc sidecar');
				if (c.version === 0) {
					assert.deepEqual(kinds.slice(1, 3), ['metaData', 'protocol']);
					assert.deepEqual(actions[2].protocol, { minReaderVersion: 1, minWriterVersion: 2 });
					const md = actions[1].metaData;
					assert.match(md.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
					assert.deepEqual(md.partitionColumns, t.partitionColumns);
					assert.ok(md.createdTime < ci.timestamp);
				} else {
					assert.ok(!kinds.includes('metaData') && !kinds.includes('protocol'));
				}
				for (const a of actions.slice(1)) {
					if (a.add) {
						assert.deepEqual(Object.keys(a.add), ['path', 'partitionValues', 'size', 'modificationTime', 'dataChange', 'stats']);
						const st = JSON.parse(a.add.stats);
						assert.deepEqual(Object.keys(st), ['numRecords', 'minValues', 'maxValues', 'nullCount']);
						assert.equal(a.add.dataChange, ci.operation !== 'OPTIMIZE');
					}
					if (a.remove) {
						assert.deepEqual(Object.keys(a.remove), ['path', 'deletionTimestamp', 'dataChange', 'extendedFileMetadata', 'partitionValues', 'size']);
						assert.equal(a.remove.deletionTimestamp, ci.timestamp - 1);
					}
				}
			}
		}
	});

	it('an independent replay of each log gives the expected live files, sizes and mtimes', () => {
		for (const t of Object.values(expected.tables)) {
			const live = new Map();
			for (const c of commits(path.join(lake, t.path))) {
				const actions = c.text.trim().split('\n').map((l) => JSON.parse(l));
				for (const a of actions) if (a.remove) assert.ok(live.delete(a.remove.path), `${t.path} v${c.version}: remove of a live file`);
				for (const a of actions) if (a.add) live.set(a.add.path, a.add);
				const want = t.versions[c.version];
				const got = sortPaths([...live.keys()].map(pctDecode));
				assert.deepEqual(got, want.files.map((f) => f.path), `${t.path} v${c.version} file list`);
				for (const add of live.values()) {
					const abs = path.join(lake, t.path, pctDecode(add.path));
					const st = fs.statSync(abs, { bigint: true });
					assert.equal(Number(st.size), add.size, `${abs}: size`);
					assert.equal(st.mtimeNs / 1_000_000n, BigInt(add.modificationTime), `${abs}: mtime`);
					assert.equal(JSON.parse(add.stats).numRecords, want.files.find((f) => f.logPath === add.path).rows);
				}
			}
		}
	});

	it('encodes partition directories as Spark (Hive escaping, then URI form in the log)', () => {
		const seen = new Set();
		for (const t of Object.values(expected.tables)) {
			if (!t.partitionColumns.length) continue;
			for (const c of commits(path.join(lake, t.path))) {
				for (const l of c.text.trim().split('\n')) {
					const a = JSON.parse(l).add;
					if (!a) continue;
					const dirs = pctDecode(a.path).split('/').slice(0, -1);
					assert.equal(dirs.length, t.partitionColumns.length);
					dirs.forEach((d, i) => {
						const [col, ...rest] = d.split('=');
						const val = rest.join('=');
						assert.equal(col, t.partitionColumns[i]);
						const pv = a.partitionValues[col];
						if (pv === null) assert.equal(val, '__HIVE_DEFAULT_PARTITION__');
						else assert.equal(pctDecode(val), pv, `${a.path}: directory decodes to the value`);
						assert.doesNotMatch(val, /[=:/#?*"'\\^[\]{}\u0000-\u001f]/, 'Hive escapes these');
						seen.add(pv);
					});
				}
			}
		}
		for (const v of ['new york', 'a=b', '100%', 'zone:1', 'a/b', '東京', null])
			assert.ok(seen.has(v), `a partition value ${JSON.stringify(v)} is exercised`);
		// The log holds the escaped directory URI-encoded once more: %3D → %253D, space → %20.
		const v4 = fs.readFileSync(path.join(lake, 'sales/_delta_log/00000000000000000004.json'), 'utf8');
		assert.match(v4, /"path":"region=a%253Db\//);
		assert.match(v4, /"path":"region=new%20york\//);
		assert.match(v4, /"path":"region=東京\//);
		assert.match(v4, /"partitionValues":\{"region":null\}/);
	});

	it('DuckDB reads each version\'s files back with the expected rows and checksum', async () => {
		for (const t of Object.values(expected.tables)) {
			for (const v of t.versions) {
				const files = v.files.map((f) => path.join(lake, t.path, f.path));
				const [row] = await duck.rows(`SELECT count(*) AS n, sum(${t.sumColumn}) AS s FROM read_parquet(${sqlPathList(files)}, hive_partitioning = true)`);
				assert.equal(Number(row.n), v.rows, `${t.path} v${v.version} rows`);
				assert.equal(Number(row.s), v.sum, `${t.path} v${v.version} sum(${t.sumColumn})`);
			}
		}
		// Parquet columns are the schema minus the partition columns, in order.
		const md = JSON.parse(fs.readFileSync(path.join(lake, 'sales/_delta_log/00000000000000000000.json'), 'utf8').split('\n')[1]).metaData;
		const schemaCols = JSON.parse(md.schemaString).fields.map((f) => f.name).filter((n) => !md.partitionColumns.includes(n));
		const f0 = path.join(lake, 'sales', expected.tables.sales.versions[0].files[0].path);
		const cols = (await duck.rows(`SELECT name FROM parquet_schema(${sqlString(f0)}) WHERE num_children IS NULL`)).map((r) => r.name);
		assert.deepEqual(cols, schemaCols);
	});

	it('data-changing versions differ in row count; UPDATE and OPTIMIZE are what they say', () => {
		for (const t of Object.values(expected.tables)) {
			for (const v of t.versions.slice(1)) {
				const prev = t.versions[v.version - 1];
				if (v.operation === 'OPTIMIZE') assert.deepEqual([v.rows, v.sum], [prev.rows, prev.sum]);
				else if (v.operation === 'UPDATE') { assert.equal(v.rows, prev.rows); assert.notEqual(v.sum, prev.sum); }
				else assert.notEqual(v.rows, prev.rows, `${t.path} v${v.version}`);
			}
		}
		const ops = expected.tables.sales.versions.map((v) => v.operation);
		for (const op of ['CREATE TABLE AS SELECT', 'WRITE', 'DELETE', 'UPDATE', 'OPTIMIZE']) assert.ok(ops.includes(op), op);
	});

	it('is deterministic for a seed', async () => {
		const again = path.join(tmp, 'again');
		generateLake(again, { seed: SEED });
		assert.equal(await treeHash(again), await treeHash(lake));
		const other = path.join(tmp, 'other');
		generateLake(other, { seed: SEED + 1 });
		assert.notEqual(await treeHash(other), await treeHash(lake));
	});
});
