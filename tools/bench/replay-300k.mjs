// replay-300k — how fast a 300k-file Delta version is listed, cold, against DuckDB
// computing the same live file set from the same JSON log in the same run.
//
//   node tools/bench/replay-300k.mjs [TABLE_DIR] [--runs N]
//
// TABLE_DIR defaults to ../shared/corpus/delta/kernelrs-300k-add-files-100-col-partitioned
// (4 commits, 45 MB of JSON, 300k live files at v4). Measures, each run cold (new process,
// new mount):
//   lmctl   — `lmctl files TABLE 4` (replay + snapshot, no FUSE)
//   mount   — mount, `find @v4 -type f` through FUSE, unmount
//   duckdb  — read_json of _delta_log/*.json (path columns only) + last-action-wins per path
// and prints medians and ratios (ours / DuckDB; < 1 is faster than DuckDB).
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { openDuck } from '../js/duck.mjs';
import { repo, build, median, now } from './common.mjs';

const args = process.argv.slice(2);
const runsIdx = args.indexOf('--runs');
const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 3;
const table = resolve(args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ??
	join(repo, '../shared/corpus/delta/kernelrs-300k-add-files-100-col-partitioned'));
const version = 4;
if (!existsSync(join(table, '_delta_log'))) {
	console.error(`replay-300k: ${table} is not a Delta table (corpus absent?)`);
	process.exit(2);
}

function timeLmctl() {
	const t = now();
	const r = spawnSync(join(build, 'tools/lmctl'), ['files', table, String(version)],
		{ maxBuffer: 1 << 30 });
	const ms = now() - t;
	if (r.status !== 0) throw new Error(`lmctl failed: ${r.stderr}`);
	return { ms, n: r.stdout.toString().split('\n').filter(Boolean).length };
}

async function waitMounted(mnt, child) {
	for (let i = 0; i < 400; i++) {
		if (child.exitCode !== null) throw new Error('lakemount exited');
		if (readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
			.some((l) => l.split(' ')[4] === mnt)) return;
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error('mount timed out');
}

async function timeMount() {
	const mnt = mkdtempSync(join(tmpdir(), 'lm-bench-'));
	const src = dirname(table);
	const name = table.slice(src.length + 1);
	const child = spawn(join(build, 'lakemount'), ['-f', src, mnt], { stdio: 'ignore' });
	try {
		await waitMounted(mnt, child);
		const t = now();
		const r = spawnSync('find', [join(mnt, name, `@v${version}`), '-type', 'f'],
			{ maxBuffer: 1 << 30 });
		const ms = now() - t;
		return { ms, n: r.stdout.toString().split('\n').filter(Boolean).length };
	} finally {
		spawnSync('fusermount3', ['-u', mnt]);
		await new Promise((r) => child.exitCode !== null ? r() : child.on('exit', r));
	}
}

async function timeDuck() {
	const duck = await openDuck();
	const log = join(table, '_delta_log', '*.json').replaceAll("'", "''");
	const t = now();
	const n = await duck.scalar(`
		WITH acts AS (
		  SELECT CAST(regexp_extract(filename, '(\\d{20})\\.json$', 1) AS BIGINT) AS v,
		         coalesce(add.path, remove.path) AS p, add.path IS NOT NULL AS is_add
		  FROM read_json('${log}', format = 'newline_delimited', filename = true,
		       columns = {add: 'STRUCT(path VARCHAR)', remove: 'STRUCT(path VARCHAR)'})
		  WHERE add.path IS NOT NULL OR remove.path IS NOT NULL)
		SELECT count(*) FROM (
		  SELECT p, arg_max(is_add, v * 2 + is_add::INT) AS live
		  FROM acts WHERE v <= ${version} GROUP BY p) WHERE live`);
	const ms = now() - t;
	duck.close();
	return { ms, n: Number(n) };
}

const res = { lmctl: [], mount: [], duckdb: [] };
let counts = {};
for (let i = 0; i < runs; i++) {
	for (const [k, f] of [['lmctl', timeLmctl], ['mount', timeMount], ['duckdb', timeDuck]]) {
		const r = await f();
		res[k].push(r.ms);
		counts[k] = r.n;
	}
}
const d = median(res.duckdb);
console.log(`replay-300k: ${table}, version ${version}, ${runs} runs, medians`);
for (const k of ['lmctl', 'mount', 'duckdb']) {
	console.log(`  ${k.padEnd(7)} ${median(res[k]).toFixed(0).padStart(6)} ms  files=${counts[k]}` +
		`  ratio vs duckdb ${(median(res[k]) / d).toFixed(2)}x`);
}
if (new Set(Object.values(counts)).size !== 1) {
	console.error('replay-300k: the three file counts differ!');
	process.exit(1);
}
