#!/usr/bin/env node
// gen-lake.mjs — lakemount's own sample lake: a few Delta tables whose Parquet data files
// are written by DuckDB and whose _delta_log commits are shaped exactly as Apache Spark
// 3.5.1 + Delta Lake 3.2.0 writes them (action order, field order, stats JSON, Hive
// partition-directory escaping, Hadoop Path URI encoding of add.path, Hadoop .crc
// sidecars), with deterministic names, times and bytes for a given --seed.
//
//   node tools/js/gen-lake.mjs [--seed N] [--big N] [--force] OUTDIR
//
// Writes OUTDIR/.expected.json, the ground truth the integration tests compare against:
// for every table and version, the live files at their *decoded* relative paths (what a
// mount shows under @vN) with size, mtime (= add.modificationTime), rows, and the row
// count and a checksum column sum of the version.
//
// Layout:
//   README.txt                         plain file (not a table)
//   sales/                             partitioned by region (string); 7 versions:
//                                      CTAS, append, DELETE partition, UPDATE, append with
//                                      partition values that need escaping (+ NULL),
//                                      OPTIMIZE (dataChange=false), append
//   events/                            unpartitioned; 12 appends + DELETE of older files
//   warehouse/notes.txt                plain file
//   warehouse/inventory/               partitioned by year (int), category (string)
//   big/                               only with --big N: N data files over many commits
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { openDuck, sqlString } from './duck.mjs';

const ENGINE = 'Apache-Spark/3.5.1 Delta-Lake/3.2.0';
const BASE_MS = Date.UTC(2026, 0, 5, 10, 0, 0); // 2026-01-05T10:00:00Z
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------
// Deterministic randomness

function mulberry32(a) {
	return function () {
		a |= 0;
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

class Rng {
	constructor(seed) {
		this.next = mulberry32((seed * 2654435761) ^ 0x5eed);
	}
	int(lo, hi) { // inclusive
		return lo + Math.floor(this.next() * (hi - lo + 1));
	}
	pick(arr) {
		return arr[Math.floor(this.next() * arr.length)];
	}
	uuid() {
		const b = new Uint8Array(16);
		for (let i = 0; i < 16; i++) b[i] = Math.floor(this.next() * 256);
		b[6] = (b[6] & 0x0f) | 0x40;
		b[8] = (b[8] & 0x3f) | 0x80;
		const h = Buffer.from(b).toString('hex');
		return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
	}
	money(lo, hi) { // two decimals
		return Math.round((lo + this.next() * (hi - lo)) * 100) / 100;
	}
}

// ---------------------------------------------------------------------------------------
// Spark / Hadoop encodings

// Spark ExternalCatalogUtils.escapePathName (non-Windows): these ASCII characters become
// %XX (upper-case hex); everything else, including space and non-ASCII, stays raw.
const HIVE_ESCAPE = new Set([
	...Array.from({ length: 0x1f }, (_, i) => String.fromCharCode(i + 1)),
	'"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '\x7f', '{', '[', ']', '^',
]);
export function hiveEscape(s) {
	let out = '';
	for (const ch of s) {
		if (HIVE_ESCAPE.has(ch)) out += '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
		else out += ch;
	}
	return out;
}
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';
function partitionDirName(col, value) {
	const v = value === null || value === undefined || value === '' ? HIVE_DEFAULT_PARTITION : hiveEscape(String(value));
	return `${hiveEscape(col)}=${v}`;
}

// Hadoop Path.toUri().toString() of a relative path: java.net.URI's multi-argument
// constructor quotes every character that is not legal in a path (RFC 2396 pchar plus
// '/' and ';'), always including '%'; non-ASCII characters that are neither ISO controls
// nor space separators ("other" characters) are left raw.
const URI_PATH_LEGAL = new Set(
	("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()" + ",;:$&+=@/").split(''));
export function hadoopPathToUri(p) {
	let out = '';
	for (const ch of p) {
		const cp = ch.codePointAt(0);
		const javaOther = cp > 0x7f && !(cp >= 0x80 && cp <= 0x9f) && !/\p{Zs}|\p{Zl}|\p{Zp}/u.test(ch);
		if (URI_PATH_LEGAL.has(ch) || javaOther) {
			out += ch;
		} else {
			for (const byte of Buffer.from(ch, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
		}
	}
	return out;
}

// Java Double.toString for the values this generator produces (|x| in [1e-3, 1e7)).
function javaDouble(x) {
	if (!Number.isFinite(x)) throw new Error(`non-finite double ${x}`);
	const a = Math.abs(x);
	if (a !== 0 && (a < 1e-3 || a >= 1e7)) throw new Error(`double ${x} out of the range this generator formats`);
	const s = String(x);
	return s.includes('.') ? s : s + '.0';
}

function isoDate(ms) {
	return new Date(ms).toISOString().slice(0, 10);
}

// Hadoop ChecksumFileSystem sidecar: "crc\0", bytesPerChecksum (BE int 512), then the
// CRC32 of each 512-byte chunk (BE). Spark on a local filesystem writes one per file.
function hadoopCrc(buf) {
	const n = Math.ceil(buf.length / 512);
	const out = Buffer.alloc(8 + 4 * n);
	out.write('crc\0', 0, 'latin1');
	out.writeUInt32BE(512, 4);
	for (let i = 0; i < n; i++) out.writeUInt32BE(zlib.crc32(buf.subarray(i * 512, (i + 1) * 512)) >>> 0, 8 + 4 * i);
	return out;
}

// Set atime and mtime to `ms` exactly: seconds as a double lose the last digits, and libuv
// truncates, so aim half a microsecond past the millisecond.
function setMtime(file, ms) {
	const t = ms / 1000 + 5e-7;
	fs.utimesSync(file, t, t);
}

function writeWithCrc(file, buf, mtimeMs) {
	fs.writeFileSync(file, buf);
	const crc = path.join(path.dirname(file), `.${path.basename(file)}.crc`);
	fs.writeFileSync(crc, hadoopCrc(buf));
	setMtime(file, mtimeMs);
	setMtime(crc, mtimeMs);
}

export function utf8Compare(a, b) {
	return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------
// Column types: Spark schema name, DuckDB type, SQL literal, stats JSON value

const TYPES = {
	long: { duck: 'BIGINT', sql: (v) => String(v), stat: (v) => String(v), cmp: (a, b) => a - b },
	integer: { duck: 'INTEGER', sql: (v) => String(v), stat: (v) => String(v), cmp: (a, b) => a - b },
	double: { duck: 'DOUBLE', sql: (v) => String(v), stat: javaDouble, cmp: (a, b) => a - b },
	string: {
		duck: 'VARCHAR',
		sql: sqlString,
		stat: (v) => {
			// Delta truncates string stats past 32 characters; keep values short instead.
			if ([...v].length > 32) throw new Error(`string stat longer than 32 chars: ${v}`);
			return JSON.stringify(v);
		},
		cmp: utf8Compare,
	},
	date: { duck: 'DATE', sql: (v) => `DATE '${isoDate(v)}'`, stat: (v) => JSON.stringify(isoDate(v)), cmp: (a, b) => a - b },
	timestamp: {
		duck: 'TIMESTAMPTZ',
		sql: (v) => `'${new Date(v).toISOString().replace('T', ' ').replace('Z', '+00')}'::TIMESTAMPTZ`,
		stat: (v) => JSON.stringify(new Date(v).toISOString()), // yyyy-MM-ddTHH:mm:ss.SSSZ
		cmp: (a, b) => a - b,
	},
};

function schemaString(columns) {
	return JSON.stringify({
		type: 'struct',
		fields: columns.map((c) => ({ name: c.name, type: c.type, nullable: true, metadata: {} })),
	});
}

// Delta's per-file statistics JSON (stats string of an add action).
function statsJson(dataCols, rows) {
	const mins = [], maxs = [], nulls = [];
	for (const c of dataCols) {
		const t = TYPES[c.type];
		let lo, hi, n = 0;
		for (const r of rows) {
			const v = r[c.name];
			if (v === null || v === undefined) { n++; continue; }
			if (lo === undefined || t.cmp(v, lo) < 0) lo = v;
			if (hi === undefined || t.cmp(v, hi) > 0) hi = v;
		}
		if (lo !== undefined) {
			mins.push(`${JSON.stringify(c.name)}:${t.stat(lo)}`);
			maxs.push(`${JSON.stringify(c.name)}:${t.stat(hi)}`);
		}
		nulls.push(`${JSON.stringify(c.name)}:${n}`);
	}
	return `{"numRecords":${rows.length},"minValues":{${mins.join(',')}},"maxValues":{${maxs.join(',')}},"nullCount":{${nulls.join(',')}}}`;
}

// ---------------------------------------------------------------------------------------
// A Delta table being written

class Table {
	constructor(gen, rel, { columns, partitionColumns = [], configuration = {}, sumColumn, start, stepMinutes }) {
		this.gen = gen;
		this.rel = rel;
		this.dir = path.join(gen.out, rel);
		this.columns = columns;
		this.partitionColumns = partitionColumns;
		this.dataCols = columns.filter((c) => !partitionColumns.includes(c.name));
		this.configuration = configuration;
		this.sumColumn = sumColumn;
		this.id = gen.rng.uuid();
		this.clock = start;
		this.stepMs = stepMinutes * MINUTE;
		this.version = -1;
		this.live = new Map(); // logPath -> file record
		this.versions = [];
		this.nextId = 1;
		this.pending = new Map(); // logPath -> file record written for the next commit
		fs.mkdirSync(path.join(this.dir, '_delta_log'), { recursive: true });
	}

	// Timestamp of the next commit: whole minutes from the table's start plus a jitter.
	nextCommitTs() {
		const ts = this.clock + this.gen.rng.int(0, 40_000);
		this.clock += this.stepMs;
		return ts;
	}

	// Write one data file of `rows` (objects keyed by column name, partition columns
	// included) for partition values `pv`, as Spark task `task`. Returns the file record.
	async writeFile(rows, pv, task, mtime) {
		const dirs = this.partitionColumns.map((c) => partitionDirName(c, pv[c]));
		const name = `part-${String(task).padStart(5, '0')}-${this.gen.rng.uuid()}.c000.snappy.parquet`;
		const rel = [...dirs, name].join('/');
		const abs = path.join(this.dir, rel);
		fs.mkdirSync(path.dirname(abs), { recursive: true });
		await this.gen.writeParquet(abs, this.dataCols, rows);
		const buf = fs.readFileSync(abs);
		fs.rmSync(abs);
		writeWithCrc(abs, buf, mtime);
		const partitionValues = {};
		for (const c of this.partitionColumns) {
			const v = pv[c];
			partitionValues[c] = v === null || v === undefined ? null : String(v);
		}
		return {
			path: rel, // decoded: relative path on storage
			logPath: hadoopPathToUri(rel), // add.path as Spark writes it
			size: buf.length,
			mtime,
			rows: rows.map((r) => ({ ...r, ...pv })),
			partitionValues,
			stats: statsJson(this.dataCols, rows),
		};
	}

	// Rows grouped by partition (in first-seen order) then dealt round-robin to `ntasks`
	// tasks; each task writes one file per partition it holds rows for, as Spark does.
	async writeRows(rows, ntasks, ts) {
		const groups = new Map();
		for (const r of rows) {
			const pv = {};
			for (const c of this.partitionColumns) pv[c] = r[c] ?? null;
			const key = JSON.stringify(pv);
			if (!groups.has(key)) groups.set(key, { pv, rows: [] });
			groups.get(key).rows.push(r);
		}
		const files = [];
		let fileNo = 0;
		for (let task = 0; task < ntasks; task++) {
			for (const { pv, rows: grows } of groups.values()) {
				const mine = grows.filter((_, i) => i % ntasks === task).map((r) => {
					const o = { ...r };
					for (const c of this.partitionColumns) delete o[c];
					return o;
				});
				if (!mine.length) continue;
				const mtime = ts - 900 + 37 * fileNo++ + this.gen.rng.int(0, 20);
				files.push(await this.writeFile(mine, pv, task, mtime));
			}
		}
		return files;
	}

	addAction(f, dataChange = true) {
		return {
			add: {
				path: f.logPath,
				partitionValues: f.partitionValues,
				size: f.size,
				modificationTime: f.mtime,
				dataChange,
				stats: f.stats,
			},
		};
	}

	removeAction(f, ts, dataChange = true) {
		return {
			remove: {
				path: f.logPath,
				deletionTimestamp: ts - 1,
				dataChange,
				extendedFileMetadata: true,
				partitionValues: f.partitionValues,
				size: f.size,
			},
		};
	}

	// Write commit version+1. `info` holds the commitInfo fields between timestamp and
	// engineInfo; `actions` are the actions after commitInfo, in Spark's order.
	commit(ts, info, actions, { operation }) {
		const v = ++this.version;
		actions.unshift({ commitInfo: this.commitInfo(v, ts, info) });
		for (const a of actions) {
			if (a.remove) {
				if (!this.live.delete(a.remove.path)) throw new Error(`${this.rel} v${v}: remove of a file not live: ${a.remove.path}`);
			}
		}
		for (const a of actions) {
			if (a.add) {
				const f = this.pending.get(a.add.path);
				if (!f) throw new Error(`internal: add without file record ${a.add.path}`);
				this.live.set(a.add.path, f);
			}
		}
		this.pending = new Map();
		const text = actions.map((a) => JSON.stringify(a)).join('\n') + '\n';
		const file = path.join(this.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`);
		writeWithCrc(file, Buffer.from(text, 'utf8'), ts);

		const files = [...this.live.values()]
			.map((f) => ({ path: f.path, logPath: f.logPath, size: f.size, mtime: f.mtime, rows: f.rows.length }))
			.sort((a, b) => utf8Compare(a.path, b.path));
		let rows = 0, sum = 0;
		for (const f of this.live.values()) {
			rows += f.rows.length;
			for (const r of f.rows) sum += r[this.sumColumn] ?? 0;
		}
		this.versions.push({ version: v, timestamp: ts, operation, rows, sum, nfiles: files.length, files });
	}

	// commitInfo as Delta writes it: timestamp, operation, operationParameters,
	// readVersion (from version 1 on), isolationLevel, isBlindAppend, operationMetrics,
	// engineInfo, txnId.
	commitInfo(v, ts, info) {
		const ci = { timestamp: ts };
		for (const [k, val] of Object.entries(info)) {
			ci[k] = val;
			if (k === 'operationParameters' && v > 0) ci.readVersion = v - 1;
		}
		ci.engineInfo = ENGINE;
		ci.txnId = this.gen.rng.uuid();
		return ci;
	}

	// Rewrite files (UPDATE): one output file per touched file, task i for the i-th.
	async rewrite(files, fn, ts) {
		const out = [];
		for (let i = 0; i < files.length; i++) {
			const f = files[i];
			const rows = f.rows.map(fn).map((r) => {
				const o = { ...r };
				for (const c of this.partitionColumns) delete o[c];
				return o;
			});
			out.push(await this.writeFile(rows, f.partitionValues, i, ts - 800 + 29 * i));
		}
		return out;
	}

	track(files) {
		for (const f of files) this.pending.set(f.logPath, f);
		return files;
	}

	liveFiles(pred = () => true) {
		return [...this.live.values()].filter(pred);
	}

	metaDataAction(createdTime) {
		return {
			metaData: {
				id: this.id,
				format: { provider: 'parquet', options: {} },
				schemaString: schemaString(this.columns),
				partitionColumns: this.partitionColumns,
				configuration: this.configuration,
				createdTime,
			},
		};
	}

	static protocolAction() {
		return { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
	}

	partitionByParam() {
		return JSON.stringify(this.partitionColumns);
	}

	expected() {
		return {
			path: this.rel,
			partitionColumns: this.partitionColumns,
			sumColumn: this.sumColumn,
			latest: this.version,
			versions: this.versions,
		};
	}
}

// ---------------------------------------------------------------------------------------
// Spark commitInfo bodies (field order as Delta 3.2 writes them)

const bytesOf = (files) => files.reduce((s, f) => s + f.size, 0);
const rowsOf = (files) => files.reduce((s, f) => s + (f.nrows ?? f.rows.length), 0);

function ctasInfo(t, added) {
	return {
		operation: 'CREATE TABLE AS SELECT',
		operationParameters: {
			partitionBy: t.partitionByParam(), clusterBy: '[]', description: null, isManaged: 'false',
			properties: JSON.stringify(t.configuration),
		},
		isolationLevel: 'Serializable',
		isBlindAppend: true,
		operationMetrics: { numFiles: String(added.length), numOutputRows: String(rowsOf(added)), numOutputBytes: String(bytesOf(added)) },
	};
}

function writeInfo(mode, partitionBy, added) {
	return {
		operation: 'WRITE',
		operationParameters: { mode, partitionBy },
		isolationLevel: 'Serializable',
		isBlindAppend: mode !== 'Overwrite',
		operationMetrics: { numFiles: String(added.length), numOutputRows: String(rowsOf(added)), numOutputBytes: String(bytesOf(added)) },
	};
}

function deleteInfo(rng, predicate, removed, added, deletedRows, copiedRows) {
	const scan = rng.int(100, 900), rewrite = added.length ? rng.int(100, 600) : 0;
	return {
		operation: 'DELETE',
		operationParameters: { predicate: JSON.stringify([predicate]) },
		isolationLevel: 'Serializable',
		isBlindAppend: false,
		operationMetrics: {
			numRemovedFiles: String(removed.length), numRemovedBytes: String(bytesOf(removed)),
			numCopiedRows: String(copiedRows), numDeletionVectorsAdded: '0', numDeletionVectorsRemoved: '0',
			numAddedChangeFiles: '0', executionTimeMs: String(scan + rewrite + rng.int(50, 300)),
			numDeletionVectorsUpdated: '0', numDeletedRows: String(deletedRows), scanTimeMs: String(scan),
			numAddedFiles: String(added.length), numAddedBytes: String(bytesOf(added)), rewriteTimeMs: String(rewrite),
		},
	};
}

function updateInfo(rng, predicate, removed, added, updatedRows, copiedRows) {
	const scan = rng.int(300, 3000), rewrite = rng.int(100, 800);
	return {
		operation: 'UPDATE',
		operationParameters: { predicate: JSON.stringify([predicate]) },
		isolationLevel: 'Serializable',
		isBlindAppend: false,
		operationMetrics: {
			numRemovedFiles: String(removed.length), numRemovedBytes: String(bytesOf(removed)),
			numCopiedRows: String(copiedRows), numDeletionVectorsAdded: '0', numDeletionVectorsRemoved: '0',
			numAddedChangeFiles: '0', executionTimeMs: String(scan + rewrite + rng.int(50, 300)),
			numDeletionVectorsUpdated: '0', scanTimeMs: String(scan), numAddedFiles: String(added.length),
			numUpdatedRows: String(updatedRows), numAddedBytes: String(bytesOf(added)), rewriteTimeMs: String(rewrite),
		},
	};
}

function optimizeInfo(predicate, removed, added) {
	const sizes = added.map((f) => f.size).sort((a, b) => a - b);
	const pct = (p) => String(sizes[Math.min(sizes.length - 1, Math.floor(p * sizes.length))]);
	return {
		operation: 'OPTIMIZE',
		operationParameters: { predicate: JSON.stringify(predicate ? [predicate] : []), zOrderBy: '[]', clusterBy: '[]', auto: false },
		isolationLevel: 'SnapshotIsolation',
		isBlindAppend: false,
		operationMetrics: {
			numRemovedFiles: String(removed.length), numRemovedBytes: String(bytesOf(removed)), p25FileSize: pct(0.25),
			numDeletionVectorsRemoved: '0', minFileSize: String(sizes[0]), numAddedFiles: String(added.length),
			maxFileSize: String(sizes[sizes.length - 1]), p75FileSize: pct(0.75), p50FileSize: pct(0.5),
			numAddedBytes: String(bytesOf(added)),
		},
	};
}

// ---------------------------------------------------------------------------------------
// The lake

class Generator {
	constructor(out, seed) {
		this.out = out;
		this.seed = seed;
		this.rng = new Rng(seed);
		this.tables = [];
		this.exprId = 1000 + this.rng.int(0, 8000); // Spark's expression ids in predicates
	}

	async open() {
		this.duck = await openDuck({ threads: 1 });
	}

	close() {
		this.duck.close();
	}

	attr(name) {
		this.exprId += this.rng.int(3, 400);
		return `${name}#${this.exprId}`;
	}

	async writeParquet(abs, cols, rows) {
		const d = this.duck;
		await d.run(`CREATE OR REPLACE TEMP TABLE __w (${cols.map((c) => `"${c.name}" ${TYPES[c.type].duck}`).join(', ')})`);
		const values = rows.map((r) => `(${cols.map((c) => (r[c.name] === null || r[c.name] === undefined ? 'NULL' : TYPES[c.type].sql(r[c.name]))).join(', ')})`);
		for (let i = 0; i < values.length; i += 500) await d.run(`INSERT INTO __w VALUES ${values.slice(i, i + 500).join(', ')}`);
		await d.run(`COPY __w TO ${sqlString(abs)} (FORMAT parquet, COMPRESSION snappy)`);
	}

	table(rel, opts) {
		const t = new Table(this, rel, opts);
		this.tables.push(t);
		return t;
	}

	plainFile(rel, text, mtime) {
		const abs = path.join(this.out, rel);
		fs.mkdirSync(path.dirname(abs), { recursive: true });
		fs.writeFileSync(abs, text);
		setMtime(abs, mtime);
	}

	// --- sales: partitioned by region ----------------------------------------------------
	async sales() {
		const rng = this.rng;
		const t = this.table('sales', {
			columns: [
				{ name: 'id', type: 'long' }, { name: 'product', type: 'string' }, { name: 'region', type: 'string' },
				{ name: 'amount', type: 'double' }, { name: 'quantity', type: 'integer' }, { name: 'sale_date', type: 'date' },
			],
			partitionColumns: ['region'],
			sumColumn: 'quantity',
			start: BASE_MS,
			stepMinutes: 10,
		});
		const products = ['widget', 'gadget', 'sprocket', 'gizmo', 'doohickey'];
		const mk = (region, n) => Array.from({ length: n }, () => ({
			id: t.nextId++, product: rng.pick(products), region,
			amount: rng.money(1, 500), quantity: rng.int(1, 20), sale_date: BASE_MS - rng.int(0, 60) * 86_400_000,
		}));
		const interleave = (...lists) => {
			const out = [];
			for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
			return out;
		};

		// v0: CREATE TABLE sales USING delta PARTITIONED BY (region) AS SELECT …
		let ts = t.nextCommitTs();
		let added = t.track(await t.writeRows(interleave(mk('north', rng.int(12, 18)), mk('south', rng.int(9, 14)),
			mk('east', rng.int(7, 11)), mk('west', rng.int(5, 9))), 2, ts));
		t.commit(ts, ctasInfo(t, added), [t.metaDataAction(ts - rng.int(400, 900)), Table.protocolAction(), ...added.map((f) => t.addAction(f))],
			{ operation: 'CREATE TABLE AS SELECT' });

		// v1: df.write.mode("append")
		ts = t.nextCommitTs();
		added = t.track(await t.writeRows(interleave(mk('north', rng.int(4, 7)), mk('south', rng.int(4, 7)), mk('central', rng.int(8, 12))), 2, ts));
		t.commit(ts, writeInfo('Append', '[]', added), added.map((f) => t.addAction(f)), { operation: 'WRITE' });

		// v2: DELETE FROM sales WHERE region = 'east' (whole partition: removes only)
		ts = t.nextCommitTs();
		let removed = t.liveFiles((f) => f.partitionValues.region === 'east');
		t.commit(ts, deleteInfo(rng, `(${this.attr('region')} = east)`, removed, [], rowsOf(removed), 0),
			removed.map((f) => t.removeAction(f, ts)), { operation: 'DELETE' });

		// v3: UPDATE sales SET quantity = quantity * 2 WHERE region = 'south'
		ts = t.nextCommitTs();
		removed = t.liveFiles((f) => f.partitionValues.region === 'south');
		added = t.track(await t.rewrite(removed, (r) => ({ ...r, quantity: r.quantity * 2 }), ts));
		t.commit(ts, updateInfo(rng, `(${this.attr('region')} = south)`, removed, added, rowsOf(removed), 0),
			[...added.map((f) => t.addAction(f)), ...removed.map((f) => t.removeAction(f, ts))], { operation: 'UPDATE' });

		// v4: append rows whose partition values need escaping, and NULL
		ts = t.nextCommitTs();
		const odd = ['new york', 'a=b', '100%', 'zone:1', 'a/b', '東京', 'Québec', 'R&D+ops (west)', "it's", null];
		added = t.track(await t.writeRows(odd.flatMap((r) => mk(r, rng.int(2, 5))), 1, ts));
		t.commit(ts, writeInfo('Append', '[]', added), added.map((f) => t.addAction(f)), { operation: 'WRITE' });

		// v5: OPTIMIZE sales WHERE region = 'north' (small files → one, dataChange=false)
		ts = t.nextCommitTs();
		removed = t.liveFiles((f) => f.partitionValues.region === 'north');
		if (removed.length < 3) throw new Error('internal: north should have several small files before OPTIMIZE');
		added = t.track([await t.writeFile(removed.flatMap((f) => f.rows).map(({ region, ...r }) => r), { region: 'north' }, 0, ts - 700)]);
		t.commit(ts, optimizeInfo("(region = 'north')", removed, added),
			[...added.map((f) => t.addAction(f, false)), ...removed.map((f) => t.removeAction(f, ts, false))], { operation: 'OPTIMIZE' });

		// v6: a last small append
		ts = t.nextCommitTs();
		added = t.track(await t.writeRows(interleave(mk('west', rng.int(3, 5)), mk('central', rng.int(1, 3))), 1, ts));
		t.commit(ts, writeInfo('Append', '[]', added), added.map((f) => t.addAction(f)), { operation: 'WRITE' });
		return t;
	}

	// --- events: unpartitioned, many small appends, then a DELETE of the oldest ---------
	async events() {
		const rng = this.rng;
		const t = this.table('events', {
			columns: [
				{ name: 'event_id', type: 'long' }, { name: 'ts', type: 'timestamp' }, { name: 'kind', type: 'string' },
				{ name: 'user_id', type: 'integer' }, { name: 'value', type: 'double' },
			],
			// Spark checkpoints every 10 commits by default; this table was created with
			// spark.databricks.delta.properties.defaults.checkpointInterval=100.
			configuration: { 'delta.checkpointInterval': '100' },
			sumColumn: 'user_id',
			start: BASE_MS + 5 * MINUTE,
			stepMinutes: 3,
		});
		const kinds = ['click', 'view', 'purchase', 'signup', 'logout'];
		const mk = (n, commitTs) => Array.from({ length: n }, () => ({
			event_id: t.nextId++, ts: commitTs - rng.int(1, 150) * 1000, kind: rng.pick(kinds),
			user_id: rng.int(1, 500), value: rng.next() < 0.15 ? null : rng.money(0, 100),
		}));
		const commitTimes = [];
		for (let i = 0; i < 12; i++) {
			const ts = t.nextCommitTs();
			commitTimes.push(ts);
			const added = t.track(await t.writeRows(mk(i === 0 ? rng.int(10, 16) : rng.int(3, 12), ts), i === 0 || i % 4 === 3 ? 2 : 1, ts));
			const actions = added.map((f) => t.addAction(f));
			if (i === 0) {
				actions.unshift(t.metaDataAction(ts - rng.int(400, 900)), Table.protocolAction());
				t.commit(ts, writeInfo('ErrorIfExists', '[]', added), actions, { operation: 'WRITE' });
			} else {
				t.commit(ts, writeInfo('Append', '[]', added), actions, { operation: 'WRITE' });
			}
		}
		// v12: DELETE FROM events WHERE ts < <time of commit 3>: files of commits 0..3 hold
		// only older rows, so they are removed without rewrite.
		const cutoff = commitTimes[3];
		const ts = t.nextCommitTs();
		const removed = t.liveFiles((f) => f.rows.every((r) => r.ts < cutoff));
		if (t.liveFiles((f) => f.rows.some((r) => r.ts < cutoff) && !f.rows.every((r) => r.ts < cutoff)).length)
			throw new Error('internal: events DELETE would need a rewrite');
		const lit = new Date(cutoff).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
		t.commit(ts, deleteInfo(rng, `(${this.attr('ts')} < ${lit})`, removed, [], rowsOf(removed), 0),
			removed.map((f) => t.removeAction(f, ts)), { operation: 'DELETE' });
		return t;
	}

	// --- warehouse/inventory: two partition columns -------------------------------------
	async inventory() {
		const rng = this.rng;
		const t = this.table('warehouse/inventory', {
			columns: [
				{ name: 'sku', type: 'string' }, { name: 'qty', type: 'integer' }, { name: 'price', type: 'double' },
				{ name: 'year', type: 'integer' }, { name: 'category', type: 'string' },
			],
			partitionColumns: ['year', 'category'],
			sumColumn: 'qty',
			start: BASE_MS + 60 * MINUTE,
			stepMinutes: 15,
		});
		const mk = (year, category, n) => Array.from({ length: n }, () => ({
			sku: `SKU-${String(t.nextId++).padStart(5, '0')}`, qty: rng.int(0, 250), price: rng.money(0.5, 900), year, category,
		}));
		const cats = ['tools', 'home & garden', 'toys'];

		let ts = t.nextCommitTs();
		let added = t.track(await t.writeRows([2024, 2025].flatMap((y) => cats.flatMap((c) => mk(y, c, rng.int(3, 9)))), 2, ts));
		t.commit(ts, ctasInfo(t, added), [t.metaDataAction(ts - rng.int(400, 900)), Table.protocolAction(), ...added.map((f) => t.addAction(f))],
			{ operation: 'CREATE TABLE AS SELECT' });

		ts = t.nextCommitTs();
		added = t.track(await t.writeRows([...mk(2026, 'tools', rng.int(4, 8)), ...mk(2026, 'toys', rng.int(4, 8))], 1, ts));
		t.commit(ts, writeInfo('Append', '[]', added), added.map((f) => t.addAction(f)), { operation: 'WRITE' });

		// UPDATE inventory SET qty = qty + 5 WHERE category = 'tools'
		ts = t.nextCommitTs();
		let removed = t.liveFiles((f) => f.partitionValues.category === 'tools');
		added = t.track(await t.rewrite(removed, (r) => ({ ...r, qty: r.qty + 5 }), ts));
		t.commit(ts, updateInfo(rng, `(${this.attr('category')} = tools)`, removed, added, rowsOf(removed), 0),
			[...added.map((f) => t.addAction(f)), ...removed.map((f) => t.removeAction(f, ts))], { operation: 'UPDATE' });

		// DELETE FROM inventory WHERE year = 2024
		ts = t.nextCommitTs();
		removed = t.liveFiles((f) => f.partitionValues.year === '2024');
		t.commit(ts, deleteInfo(rng, `(${this.attr('year')} = 2024)`, removed, [], rowsOf(removed), 0),
			removed.map((f) => t.removeAction(f, ts)), { operation: 'DELETE' });
		return t;
	}

	// --- big: N data files over many append commits (benchmarks) ------------------------
	// One DuckDB-written file copied N times; the log and sizes are real.
	async big(n) {
		const rng = this.rng;
		const t = this.table('big', {
			columns: [{ name: 'id', type: 'long' }, { name: 'value', type: 'double' }],
			configuration: { 'delta.checkpointInterval': '1000000' },
			sumColumn: 'id',
			start: BASE_MS + 3 * 60 * MINUTE,
			stepMinutes: 1,
		});
		const perFile = 100;
		const rows = Array.from({ length: perFile }, (_, i) => ({ id: i + 1, value: rng.money(0, 1000) }));
		const proto = path.join(this.out, '.big-proto.parquet');
		await this.writeParquet(proto, t.dataCols, rows);
		const protoBuf = fs.readFileSync(proto);
		fs.rmSync(proto);
		const crc = hadoopCrc(protoBuf);
		const stats = statsJson(t.dataCols, rows);
		const sumPerFile = rows.reduce((s, r) => s + r.id, 0);
		const perCommit = 50;
		const ncommits = Math.max(1, Math.ceil(n / perCommit));
		let written = 0;
		const keep = [];
		for (let c = 0; c < ncommits; c++) {
			const ts = t.nextCommitTs();
			const k = Math.min(perCommit, n - written);
			const added = [];
			for (let i = 0; i < k; i++) {
				const name = `part-${String(i).padStart(5, '0')}-${rng.uuid()}.c000.snappy.parquet`;
				const abs = path.join(t.dir, name);
				const mtime = ts - 900 + 11 * i;
				fs.writeFileSync(abs, protoBuf);
				fs.writeFileSync(path.join(t.dir, `.${name}.crc`), crc);
				setMtime(abs, mtime);
				added.push({ path: name, logPath: hadoopPathToUri(name), size: protoBuf.length, mtime, partitionValues: {}, stats, nrows: perFile });
			}
			written += k;
			const actions = added.map((f) => t.addAction(f));
			const info = writeInfo(c === 0 ? 'ErrorIfExists' : 'Append', '[]', added);
			if (c === 0) actions.unshift(t.metaDataAction(ts - 500), Table.protocolAction());
			// Light-weight commit: the big table's expected entry keeps counts, and the file
			// list of the latest version only.
			const v = ++t.version;
			const text = [{ commitInfo: t.commitInfo(v, ts, info) }, ...actions].map((a) => JSON.stringify(a)).join('\n') + '\n';
			writeWithCrc(path.join(t.dir, '_delta_log', `${String(v).padStart(20, '0')}.json`), Buffer.from(text), ts);
			keep.push(...added);
			t.versions.push({ version: v, timestamp: ts, operation: 'WRITE', rows: written * perFile, sum: written * sumPerFile, nfiles: written });
		}
		t.versions[t.versions.length - 1].files = keep
			.map((f) => ({ path: f.path, logPath: f.logPath, size: f.size, mtime: f.mtime, rows: perFile }))
			.sort((a, b) => utf8Compare(a.path, b.path));
		t.filesOnlyForLatest = true;
		return t;
	}
}

// ---------------------------------------------------------------------------------------

function usage(code) {
	(code ? process.stderr : process.stdout).write(
		'usage: node tools/js/gen-lake.mjs [--seed N] [--big N] [--force] OUTDIR\n' +
		'  Writes a sample lake of Delta tables (Parquet by DuckDB, logs shaped as Spark 3.5.1 +\n' +
		'  Delta 3.2.0 writes them) and OUTDIR/.expected.json (per table and version: the live\n' +
		'  files at their decoded paths with sizes and mtimes, and the row count).\n' +
		'  --seed N   deterministic output for a given seed (default 1)\n' +
		'  --big N    also write big/: N data files over ceil(N/50) append commits\n' +
		'  --force    empty OUTDIR first if it is not empty\n');
	process.exit(code);
}

export async function generateLake(out, { seed = 1, big = 0, force = false } = {}) {
	if (fs.existsSync(out) && fs.readdirSync(out).length) {
		if (!force) throw new Error(`${out} is not empty (use --force to replace its contents)`);
		for (const e of fs.readdirSync(out)) fs.rmSync(path.join(out, e), { recursive: true, force: true });
	}
	fs.mkdirSync(out, { recursive: true });
	const g = new Generator(out, seed);
	await g.open();
	try {
		g.plainFile('README.txt',
			'A sample lake written by lakemount\'s tools/js/gen-lake.mjs.\n' +
			'sales/, events/ and warehouse/inventory/ are Delta tables; this file is not.\n', BASE_MS - 86_400_000);
		await g.sales();
		await g.events();
		g.plainFile('warehouse/notes.txt', 'inventory is partitioned by year and category.\n', BASE_MS - 3_600_000);
		await g.inventory();
		if (big > 0) await g.big(big);
	} finally {
		g.close();
	}
	const expected = {
		format: 1,
		generator: 'tools/js/gen-lake.mjs',
		seed,
		engineInfo: ENGINE,
		plainFiles: ['README.txt', 'warehouse/notes.txt'].map((p) => ({ path: p, size: fs.statSync(path.join(out, p)).size })),
		folders: ['warehouse'],
		tables: {},
	};
	for (const t of g.tables) {
		expected.tables[t.rel] = t.expected();
		if (t.filesOnlyForLatest) expected.tables[t.rel].filesOnlyForLatest = true;
	}
	checkDistinct(expected);
	const expFile = path.join(out, '.expected.json');
	fs.writeFileSync(expFile, JSON.stringify(expected, null, 1) + '\n');
	setMtime(expFile, Math.max(...g.tables.map((t) => t.versions[t.versions.length - 1].timestamp)) + 1000);
	return expected;
}

// Versions that change data must change the row count (UPDATE keeps it and changes the
// checksum sum; OPTIMIZE keeps both): apart from OPTIMIZE, every version of a table is
// distinguishable by (rows, sum).
function checkDistinct(expected) {
	for (const [name, t] of Object.entries(expected.tables)) {
		const seen = new Set();
		for (const v of t.versions) {
			const prev = t.versions[v.version - 1];
			if (v.operation === 'OPTIMIZE') {
				if (prev.rows !== v.rows || prev.sum !== v.sum) throw new Error(`internal: ${name} v${v.version} OPTIMIZE changed the data`);
				continue;
			}
			const key = `${v.rows}/${v.sum}`;
			if (seen.has(key)) throw new Error(`${name}: version ${v.version} has the same (rows, sum) as an earlier one; change the seed`);
			seen.add(key);
			if (!prev) continue;
			if (v.operation === 'UPDATE') {
				if (prev.rows !== v.rows) throw new Error(`internal: ${name} v${v.version} UPDATE changed the row count`);
			} else if (prev.rows === v.rows) {
				throw new Error(`${name}: v${v.version} keeps the row count of v${prev.version}; change the seed`);
			}
		}
	}
}

async function main(argv) {
	let seed = 1, big = 0, force = false, out;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--seed') seed = Number(argv[++i]);
		else if (a === '--big') big = Number(argv[++i]);
		else if (a === '--force') force = true;
		else if (a === '-h' || a === '--help') usage(0);
		else if (a.startsWith('-')) usage(2);
		else if (out === undefined) out = a;
		else usage(2);
	}
	if (!out || !Number.isInteger(seed) || !Number.isInteger(big) || big < 0) usage(2);
	const e = await generateLake(path.resolve(out), { seed, big, force });
	for (const [name, t] of Object.entries(e.tables))
		process.stdout.write(`${name}: ${t.versions.length} versions, latest v${t.latest}: ${t.versions[t.latest].nfiles} files, ${t.versions[t.latest].rows} rows\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	main(process.argv.slice(2)).catch((err) => {
		process.stderr.write(`gen-lake: ${err.message}\n`);
		process.exit(1);
	});
}
