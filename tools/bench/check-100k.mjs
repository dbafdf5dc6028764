#!/usr/bin/env node
// check-100k.mjs — `lmctl check` on a Delta table with 10,000 commits and 100,000 data
// files (issue 7: "check of a table with 100k files and 10k commits finishes in
// seconds"). The table is generated here (deterministic): commit k adds 10 files under
// region=<r>/, every 10th commit also removes 5 older ones (a compaction-like churn:
// ~5,000 removed-but-present files), no checkpoint (check replays every commit anyway);
// one uncommitted file (an orphan) and one deleted live file (missing) make the check
// find something. Data files are empty (check lists storage; it reads no data).
//
// Measured in the same run, each cold (a new process):
//   check      lmctl check --json TABLE (one forward replay + one listing), on the full
//              table and on prefixes of it (the first N commits: same shape, smaller)
//   rebuild    lmctl versions TABLE: rebuilds every version's file list, which is what
//              check did before (O(versions x files)); only on the prefixes (--rebuild-max
//              commits, default 2,000: at 10,000 it runs for tens of minutes)
//
//   node tools/bench/check-100k.mjs [--commits N] [--files-per-commit F] [--runs R]
//        [--rebuild-max M] [--keep]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lmctl, median, now, numOpt } from './common.mjs';

const args = process.argv.slice(2);
const COMMITS = numOpt(args, '--commits', 10000);
const PER = numOpt(args, '--files-per-commit', 10);
const RUNS = numOpt(args, '--runs', 3);
const REBUILD_MAX = numOpt(args, '--rebuild-max', 2000);
const keep = args.includes('--keep');
const BASE_MS = Date.UTC(2026, 0, 5, 10, 0, 0);
const REGIONS = ['north', 'south', 'east', 'west'];
const pad = (v) => String(v).padStart(20, '0');
const fileOf = (k, j) => `region=${REGIONS[(k + j) % 4]}/part-${String(k).padStart(5, '0')}-${j}.snappy.parquet`;

function generate(dir, COMMITS) {
	const log = path.join(dir, '_delta_log');
	fs.mkdirSync(log, { recursive: true });
	for (const r of REGIONS) fs.mkdirSync(path.join(dir, `region=${r}`));
	const live = [];
	let removedAt = 0;
	for (let k = 0; k < COMMITS; k++) {
		const lines = [];
		if (k === 0) {
			lines.push(JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }));
			lines.push(JSON.stringify({ metaData: { id: 'c4ec4000-0000-4000-8000-000000000007', format: { provider: 'parquet', options: {} },
				schemaString: JSON.stringify({ type: 'struct', fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} },
					{ name: 'region', type: 'string', nullable: true, metadata: {} }] }),
				partitionColumns: ['region'], configuration: {}, createdTime: BASE_MS } }));
		}
		lines.push(JSON.stringify({ commitInfo: { timestamp: BASE_MS + k * 1000, operation: 'WRITE' } }));
		if (k % 10 === 9) {
			for (let j = 0; j < 5; j++) {
				const p = live[removedAt++];
				lines.push(JSON.stringify({ remove: { path: p, deletionTimestamp: BASE_MS + k * 1000, dataChange: true } }));
			}
		}
		for (let j = 0; j < PER; j++) {
			const p = fileOf(k, j);
			live.push(p);
			const region = p.slice(7, p.indexOf('/'));
			lines.push(JSON.stringify({ add: { path: p, partitionValues: { region }, size: 1000 + j, modificationTime: BASE_MS + k * 1000,
				dataChange: true, stats: JSON.stringify({ numRecords: 100 + j }) } }));
			fs.writeFileSync(path.join(dir, p), '');
		}
		fs.writeFileSync(path.join(log, `${pad(k)}.json`), lines.join('\n') + '\n');
	}
	// damage: an uncommitted file two hours old, a live file deleted
	const orphan = path.join(dir, 'region=north/part-99999-uncommitted.snappy.parquet');
	fs.writeFileSync(orphan, 'PAR1');
	const old = (Date.now() - 2 * 3600 * 1000) / 1000;
	fs.utimesSync(orphan, old, old);
	fs.rmSync(path.join(dir, live[live.length - 1]));
	return { files: COMMITS * PER, removed: removedAt };
}

function run(argv) {
	const t = now();
	const r = spawnSync(lmctl, argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
	return { ms: now() - t, r };
}

function measure(table, commits, removed, withRebuild) {
	const checks = [];
	let j;
	for (let i = 0; i < RUNS; i++) {
		const c = run(['check', '--json', table]);
		if (c.r.status !== 1) throw new Error(`check exited ${c.r.status}: ${c.r.stderr}`);
		j = JSON.parse(c.r.stdout);
		checks.push(c.ms);
	}
	if (j.orphans.length !== 1 || j.missing.length !== 1 || j.removed.length !== removed)
		throw new Error(`unexpected findings: ${j.orphans.length} orphans, ${j.missing.length} missing, ${j.removed.length} removed`);
	const cm = median(checks);
	let row = `| ${commits} | ${commits * PER} | ${cm.toFixed(0)} ms |`;
	if (withRebuild) {
		const r = run(['versions', table]);
		if (r.r.status !== 0) throw new Error(`versions exited ${r.r.status}: ${r.r.stderr}`);
		row += ` ${r.ms.toFixed(0)} ms | ${(r.ms / cm).toFixed(1)}x |`;
	} else {
		row += ' not run | |';
	}
	console.log(row);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-check-'));
try {
	const sizes = [...new Set([Math.min(1000, COMMITS), Math.min(REBUILD_MAX, COMMITS), COMMITS].filter((n) => n > 0))];
	const tables = [];
	for (const n of sizes) {
		const table = path.join(tmp, `churn-${n}`);
		const t = now();
		const g = generate(table, n);
		console.log(`generated ${n} commits, ${g.files} files (${g.removed} removed-but-present) in ${((now() - t) / 1000).toFixed(1)} s`);
		tables.push({ n, table, g });
	}
	console.log(`\n| commits | files | lmctl check (median of ${RUNS}) | every version rebuilt (old check) | ratio |`);
	console.log('| --- | --- | --- | --- | --- |');
	for (const { n, table, g } of tables) measure(table, n, g.removed, n <= REBUILD_MAX);
} finally {
	if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
	else console.log(`kept ${tmp}`);
}
