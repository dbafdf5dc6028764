// p2-gen.mjs — the table of benchmark P2: a Delta table partitioned by `part`, written by
// DuckDB as snappy Parquet (random doubles: incompressible, so the bytes on disk are the
// bytes read), one version, with a hand-written _delta_log/00000000000000000000.json
// whose add actions give each file's size, modificationTime and partition value.
//
//   node tools/bench/p2-gen.mjs [--mb N] [--parts N] OUTDIR
//
// --mb: approximate table size in MiB (default 1100, so ≥ 1 GiB); --parts: partitions (16).
// Columns: part INTEGER (in the path, hive style), col DOUBLE, id BIGINT.
import fs from 'node:fs';
import path from 'node:path';
import { openDuck } from '../js/duck.mjs';
import { numOpt } from './common.mjs';

const args = process.argv.slice(2);
const mb = numOpt(args, '--mb', 1100);
const parts = numOpt(args, '--parts', 16);
const out = args.find((a) => !a.startsWith('--'));
if (!out || !(mb > 0) || !(parts > 0)) {
	console.error('usage: node tools/bench/p2-gen.mjs [--mb N] [--parts N] OUTDIR');
	process.exit(2);
}
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, '_delta_log'), { recursive: true });

// ~8 bytes of col + ~4 of id per row (measured).
const rows = Math.round((mb * 1048576) / 12);
const db = await openDuck();
await db.run(`COPY (SELECT (i % ${parts})::INTEGER AS part, random() AS col, i AS id
	FROM range(0, ${rows}) t(i))
	TO '${out.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (part),
	OVERWRITE_OR_IGNORE)`);

const now = Date.now();
const adds = [];
let total = 0;
for (const d of fs.readdirSync(out).filter((n) => n.startsWith('part=')).sort()) {
	for (const f of fs.readdirSync(path.join(out, d)).filter((n) => n.endsWith('.parquet')).sort()) {
		const st = fs.statSync(path.join(out, d, f));
		total += st.size;
		adds.push({ add: { path: `${d}/${f}`, partitionValues: { part: d.slice(5) }, size: st.size,
			modificationTime: now, dataChange: true } });
	}
}
const schema = { type: 'struct', fields: [
	{ name: 'part', type: 'integer', nullable: true, metadata: {} },
	{ name: 'col', type: 'double', nullable: true, metadata: {} },
	{ name: 'id', type: 'long', nullable: true, metadata: {} }] };
const lines = [
	{ commitInfo: { timestamp: now, operation: 'WRITE' } },
	{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
	{ metaData: { id: '5eb1a1c0-0000-4000-8000-000000000002', format: { provider: 'parquet', options: {} },
		schemaString: JSON.stringify(schema), partitionColumns: ['part'], configuration: {}, createdTime: now } },
	...adds,
];
fs.writeFileSync(path.join(out, '_delta_log', '00000000000000000000.json'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
console.log(`p2-gen: ${rows} rows, ${adds.length} files, ${(total / 1048576).toFixed(0)} MiB in ${out}`);
