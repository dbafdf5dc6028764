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

const MLIST = { type: 'record', name: 'manifest_file', fields: [
	{ name: 'manifest_path', type: 'string', 'field-id': 500 },
	{ name: 'manifest_length', type: 'long', 'field-id': 501 },
	{ name: 'partition_spec_id', type: 'int', 'field-id': 502 },
	{ name: 'content', type: 'int', 'field-id': 517 },
	{ name: 'sequence_number', type: 'long', 'field-id': 515 },
	{ name: 'min_sequence_number', type: 'long', 'field-id': 516 },
	{ name: 'added_snapshot_id', type: 'long', 'field-id': 503 }] };
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

// Avro: zigzag varints (exact below 2^52), strings, one uncompressed block.
function long(v, out) {
	let z = v >= 0 ? v * 2 : -v * 2 - 1;
	while (z >= 128) { out.push((z % 128) | 128); z = Math.floor(z / 128); }
	out.push(z);
}
function str(s, out) {
	const b = Buffer.from(s, 'utf8');
	long(b.length, out);
	for (const x of b) out.push(x);
}
function container(schema, meta, encode, n) {
	const out = [...Buffer.from('Obj\x01', 'latin1')];
	const m = { 'avro.schema': JSON.stringify(schema), 'avro.codec': 'null', ...meta };
	long(Object.keys(m).length, out);
	for (const [k, v] of Object.entries(m)) { str(k, out); str(v, out); }
	long(0, out);
	const sync = Buffer.alloc(16, 7);
	out.push(...sync);
	const body = [];
	for (let i = 0; i < n; i++) encode(i, body);
	long(n, out);
	long(body.length, out);
	return Buffer.concat([Buffer.from(out), Buffer.from(body), sync]);
}

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
			(i, b) => {
				long(1, b); long(1, b); long(k, b); long(1, b); long(k, b); long(1, b); long(k, b);
				long(0, b); str(`${LOC}/${files[i]}`, b); str('PARQUET', b); long(100, b); long(1000 + i, b);
			}, PER));
		fs.writeFileSync(path.join(md, `snap-${k}.avro`), container(MLIST, {}, (i, b) => {
			str(`${LOC}/metadata/m-${k}.avro`, b); long(100, b); long(0, b); long(0, b); long(k, b); long(k, b); long(k, b);
		}, 1));
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
