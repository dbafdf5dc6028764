#!/usr/bin/env node
// iceberg-gen.mjs — a large Iceberg table for the listing benchmark: one format-v2
// metadata file, one snapshot whose manifest list names M manifests (default 10,000),
// each holding F data-file entries (default 100: 1,000,000 files), partitioned by
// region (identity). Only metadata is written: the data files do not exist (sizes come
// from the manifests, listing needs none of them). Avro object container files are
// written with avro.mjs (deflate codec) with the same schemas the unit tests use
// (tests/unit/iceberg/test_iceberg.c).
//
//   node tools/bench/iceberg-gen.mjs [--manifests M] [--files F] OUTDIR
//       → OUTDIR/big/metadata/{v1.metadata.json,version-hint.text,snap-1.avro,m-*.avro}
// Deterministic: the same arguments give the same bytes. ~75 MB for the default.
import fs from 'node:fs';
import path from 'node:path';
import { MLIST_SCHEMA, Out, container } from './avro.mjs';

const BASE_MS = Date.UTC(2026, 0, 5, 10, 0, 0);
const LOC = 's3://bench-bucket/warehouse/big';
const SNAP = 4611686018427387; // < 2^53: exact as a JS number
const REGIONS = ['north', 'south', 'east', 'west'];

const MANIFEST_SCHEMA = {
	type: 'record', name: 'manifest_entry', fields: [
		{ name: 'status', type: 'int', 'field-id': 0 },
		{ name: 'snapshot_id', type: ['null', 'long'], 'field-id': 1 },
		{ name: 'sequence_number', type: ['null', 'long'], 'field-id': 3 },
		{ name: 'file_sequence_number', type: ['null', 'long'], 'field-id': 4 },
		{ name: 'data_file', 'field-id': 2, type: { type: 'record', name: 'r2', fields: [
			{ name: 'content', type: 'int', 'field-id': 134 },
			{ name: 'file_path', type: 'string', 'field-id': 100 },
			{ name: 'file_format', type: 'string', 'field-id': 101 },
			{ name: 'partition', 'field-id': 102, type: { type: 'record', name: 'r102', fields: [
				{ name: 'region', type: ['null', 'string'], 'field-id': 1000 }] } },
			{ name: 'record_count', type: 'long', 'field-id': 103 },
			{ name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
			{ name: 'referenced_data_file', type: ['null', 'string'], 'field-id': 143 },
		] } },
	],
};
const SPEC = [{ name: 'region', transform: 'identity', 'source-id': 3, 'field-id': 1000 }];

function uuidOf(i) {
	const h = (x) => ((Math.imul(x ^ 0x9e3779b9, 0x85ebca6b) >>> 0).toString(16).padStart(8, '0'));
	const a = h(i), b = h(i + 1), c = h(i + 2), d = h(i + 3);
	return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-8${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

function syncOf(i) {
	const s = Buffer.alloc(16);
	for (let k = 0; k < 16; k++) s[k] = (Math.imul(i * 16 + k + 1, 0x9e3779b1) >>> 24) & 255;
	return s;
}

// ---- main ----

function main() {
	const args = process.argv.slice(2);
	let manifests = 10000, files = 100, out;
	for (let i = 0; i < args.length; i++) {
		if (args[i] === '--manifests') manifests = Number(args[++i]);
		else if (args[i] === '--files') files = Number(args[++i]);
		else out = args[i];
	}
	if (!out || !(manifests > 0) || !(files > 0)) {
		console.error('usage: iceberg-gen.mjs [--manifests M] [--files F] OUTDIR');
		process.exit(2);
	}
	const md = path.join(out, 'big', 'metadata');
	fs.rmSync(path.join(out, 'big'), { recursive: true, force: true });
	fs.mkdirSync(md, { recursive: true });
	const list = [];
	let total = 0, bytes = 0, records = 0;
	for (let m = 0; m < manifests; m++) {
		const recs = [];
		for (let f = 0; f < files; f++) {
			const i = m * files + f;
			const region = REGIONS[i % 4];
			const size = 1000 + (i * 7919) % 100000;
			const rc = 100 + (i % 50);
			const o = new Out();
			o.long(1);            // ADDED
			o.long(0);            // snapshot_id: null (inherited)
			o.long(0);            // sequence_number: null
			o.long(0);            // file_sequence_number: null
			o.long(0);            // content: data
			o.str(`${LOC}/data/region=${region}/${String(m).padStart(5, '0')}-${f}-${uuidOf(i)}-00001.parquet`);
			o.str('PARQUET');
			o.long(1); o.str(region);
			o.long(rc);
			o.long(size);
			o.long(0);            // referenced_data_file: null
			recs.push(Buffer.from(o.done()));
			total++;
			bytes += size;
			records += rc;
		}
		const name = `m-${String(m).padStart(5, '0')}.avro`;
		const buf = container(MANIFEST_SCHEMA, {
			'format-version': '2', 'partition-spec-id': '0', content: 'data',
			'partition-spec': JSON.stringify(SPEC),
		}, recs, syncOf(m));
		fs.writeFileSync(path.join(md, name), buf);
		list.push({ path: `${LOC}/metadata/${name}`, length: buf.length });
	}
	const lrecs = list.map((e) => {
		const o = new Out();
		o.str(e.path); o.long(e.length); o.long(0); o.long(0); o.long(1); o.long(1); o.long(SNAP);
		return Buffer.from(o.done());
	});
	const mlName = `snap-${SNAP}-1.avro`;
	fs.writeFileSync(path.join(md, mlName), container(MLIST_SCHEMA, {}, lrecs, syncOf(-1)));
	const schema = { type: 'struct', 'schema-id': 0, fields: [
		{ id: 1, name: 'id', required: false, type: 'long' },
		{ id: 2, name: 'value', required: false, type: 'string' },
		{ id: 3, name: 'region', required: false, type: 'string' }] };
	const meta = {
		'format-version': 2,
		'table-uuid': 'b8f7a5c2-0000-4000-8000-00000000ice1',
		location: LOC,
		'last-sequence-number': 1,
		'last-updated-ms': BASE_MS,
		'last-column-id': 3,
		'current-schema-id': 0,
		schemas: [schema],
		'default-spec-id': 0,
		'partition-specs': [{ 'spec-id': 0, fields: SPEC }],
		'last-partition-id': 1000,
		'default-sort-order-id': 0,
		'sort-orders': [{ 'order-id': 0, fields: [] }],
		properties: { 'write.format.default': 'parquet' },
		'current-snapshot-id': SNAP,
		refs: { main: { 'snapshot-id': SNAP, type: 'branch' } },
		snapshots: [{
			'sequence-number': 1, 'snapshot-id': SNAP, 'timestamp-ms': BASE_MS,
			summary: { operation: 'append', 'added-data-files': String(total),
				'total-data-files': String(total), 'total-records': String(records),
				'total-files-size': String(bytes) },
			'manifest-list': `${LOC}/metadata/${mlName}`, 'schema-id': 0,
		}],
		'snapshot-log': [{ 'timestamp-ms': BASE_MS, 'snapshot-id': SNAP }],
		'metadata-log': [],
	};
	fs.writeFileSync(path.join(md, 'v1.metadata.json'), JSON.stringify(meta, null, 2));
	fs.writeFileSync(path.join(md, 'version-hint.text'), '1');
	const du = fs.readdirSync(md).reduce((s, n) => s + fs.statSync(path.join(md, n)).size, 0);
	console.log(JSON.stringify({ table: path.join(out, 'big'), manifests, files: total, bytes, records,
		snapshot: SNAP, metadata_bytes: du }));
}

main();
