#!/usr/bin/env node
// check-iceberg.mjs — `lmctl check` on generated Iceberg tables with many commits (issue
// 7). Commit k (1..N) writes manifest m-k.avro with F ADDED data files, a manifest list
// naming it (each snapshot replaces the table: the files of earlier snapshots are
// removed-but-present) and metadata file v<k>.metadata.json recording every snapshot so
// far, with a metadata-log of the previous ones; version-hint.text names N. Data files
// are empty. Two shapes:
//   all kept   every metadata file is kept (Iceberg's default): check parses N metadata
//              files of up to N snapshots each — total metadata bytes grow as N^2
//   last 100   only the newest 100 metadata files are kept (what
//              write.metadata.delete-after-commit.enabled with previous-versions-max=100
//              leaves): metadata bytes grow as N
// Each check is a cold process (median of --runs); the script asserts the findings
// (no orphan, nothing missing, (N-1)*F removed-but-present files).
//
//   node tools/bench/check-iceberg.mjs [--files-per-commit F] [--runs R] [--sizes 500,1000,2000]
//        [--big N] [--keep]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MLIST_SCHEMA, Out, container } from './avro.mjs';
import { lmctl, median, now, numOpt } from './common.mjs';

const args = process.argv.slice(2);
const PER = numOpt(args, '--files-per-commit', 10);
const RUNS = numOpt(args, '--runs', 3);
const BIG = numOpt(args, '--big', 10000);
const si = args.indexOf('--sizes');
const SIZES = si >= 0 ? args[si + 1].split(',').map(Number) : [500, 1000, 2000];
const keep = args.includes('--keep');
const LOC = 's3://bench/wh/ice';
const BASE_MS = Date.UTC(2026, 0, 5, 10, 0, 0);

const MANIFEST = { type: 'record', name: 'manifest_entry', fields: [
	{ name: 'status', type: 'int', 'field-id': 0 },
	{ name: 'snapshot_id', type: ['null', 'long'], 'field-id': 1 },
	{ name: 'sequence_number', type: ['null', 'long'], 'field-id': 3 },
	{ name: 'file_sequence_number', type: ['null', 'long'], 'field-id': 4 },
	{ name: 'data_file', 'field-id': 2, type: { type: 'record', name: 'r2', fields: [
		{ name: 'content', type: 'int', 'field-id': 134 },
		{ name: 'file_path', type: 'string', 'field-id': 100 },
		{ name: 'file_format', type: 'string', 'field-id': 101 },
		{ name: 'record_count', type: 'long', 'field-id': 103 },
		{ name: 'file_size_in_bytes', type: 'long', 'field-id': 104 }] } }] };

const SYNC = Buffer.alloc(16, 7);
const records = (n, encode) => Array.from({ length: n }, (_, i) => { const o = new Out(); encode(i, o); return Buffer.from(o.done()); });

function generate(dir, N, keepLast) {
	const md = path.join(dir, 'metadata');
	fs.mkdirSync(md, { recursive: true });
	fs.mkdirSync(path.join(dir, 'data'));
	const snaps = [], log = [];
	for (let k = 1; k <= N; k++) {
		const files = [];
		for (let j = 0; j < PER; j++) {
			const p = `data/c${k}-f${j}.parquet`;
			files.push(p);
			fs.writeFileSync(path.join(dir, p), '');
		}
		fs.writeFileSync(path.join(md, `m-${k}.avro`), container(MANIFEST,
			{ 'format-version': '2', 'partition-spec-id': '0', content: 'data', 'partition-spec': '[]' },
			records(PER, (i, o) => {
				o.long(1); o.long(1); o.long(k); o.long(1); o.long(k); o.long(1); o.long(k);
				o.long(0); o.str(`${LOC}/${files[i]}`); o.str('PARQUET'); o.long(100); o.long(1000 + i);
			}), SYNC, { codec: 'null' }));
		fs.writeFileSync(path.join(md, `snap-${k}.avro`), container(MLIST_SCHEMA, {}, records(1, (i, o) => {
			o.str(`${LOC}/metadata/m-${k}.avro`); o.long(100); o.long(0); o.long(0); o.long(k); o.long(k); o.long(k);
		}), SYNC, { codec: 'null' }));
		snaps.push(`{"snapshot-id":${k},"timestamp-ms":${BASE_MS + k * 1000},"sequence-number":${k},` +
			`"manifest-list":"${LOC}/metadata/snap-${k}.avro","summary":{"operation":"overwrite"}}`);
		const meta = `{"format-version":2,"location":"${LOC}","current-snapshot-id":${k},` +
			`"last-updated-ms":${BASE_MS + k * 1000},"snapshots":[${snaps.join(',')}],` +
			`"metadata-log":[${log.slice(-100).join(',')}]}`;
		fs.writeFileSync(path.join(md, `v${k}.metadata.json`), meta);
		log.push(`{"timestamp-ms":${BASE_MS + k * 1000},"metadata-file":"${LOC}/metadata/v${k}.metadata.json"}`);
		if (keepLast && k > keepLast) fs.rmSync(path.join(md, `v${k - keepLast}.metadata.json`));
	}
	fs.writeFileSync(path.join(md, 'version-hint.text'), `${N}\n`);
	let bytes = 0;
	for (const f of fs.readdirSync(md)) if (f.endsWith('.metadata.json')) bytes += fs.statSync(path.join(md, f)).size;
	return bytes;
}

function measure(table, N) {
	const ms = [];
	let j;
	for (let i = 0; i < RUNS; i++) {
		const t = now();
		const r = spawnSync(lmctl, ['check', '--json', table], { encoding: 'utf8', maxBuffer: 1 << 30 });
		ms.push(now() - t);
		if (r.status !== 0) throw new Error(`check exited ${r.status}: ${r.stderr}`);
		j = JSON.parse(r.stdout);
	}
	if (j.orphans.length || j.missing.length || j.removed.length !== (N - 1) * PER)
		throw new Error(`unexpected findings: ${j.orphans.length} orphans, ${j.missing.length} missing, ${j.removed.length} removed`);
	return median(ms);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-icecheck-'));
try {
	console.log(`| commits | files | metadata files kept | metadata JSON bytes | lmctl check (median of ${RUNS}) |`);
	console.log('| --- | --- | --- | --- | --- |');
	const shapes = [...SIZES.map((n) => [n, 0]), [BIG, 100]];
	for (const [n, keepLast] of shapes) {
		const table = path.join(tmp, `ice-${n}-${keepLast}`);
		const bytes = generate(table, n, keepLast);
		const ms = measure(table, n);
		console.log(`| ${n} | ${n * PER} | ${keepLast ? `last ${keepLast}` : 'all'} | ${(bytes / 1e6).toFixed(1)} MB | ${ms.toFixed(0)} ms |`);
		if (!keep) fs.rmSync(table, { recursive: true, force: true });
	}
} finally {
	if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
	else console.log(`kept ${tmp}`);
}
