// delta-long-log — a 100k-commit _delta_log with a checkpoint every 10 versions: how long
// and how many storage requests a cold lookup of one version takes (no listing of the
// whole log: _last_checkpoint, start-after listings, the checkpoint, the commits after
// it). Goal (issue 4): < 1 s and < 20 requests for any version.
//
//   node tools/bench/delta-long-log.mjs [--commits N] [--every K] [--keep] [TABLE_DIR]
//
// Without TABLE_DIR the table is generated first (tools/bench/delta-gen.mjs long-log).
// Each lookup is `lmctl files TABLE V` in a new process (cold). Time: the median of 3
// runs. Requests, counted with strace on the local backend: every open of an object
// under _delta_log/ is one GET (a ranged read; lm_store_get_all may need two for a big
// object, counted as two opens) and every open of the _delta_log/ folder itself one
// LIST call. On S3 a LIST call returns up to 1000 keys per page; the listings here stay
// within one page each (see docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lmctl, median, now, numOpt, deltaTable } from './common.mjs';

const args = process.argv.slice(2);
const commits = numOpt(args, '--commits', 100_000);
const every = numOpt(args, '--every', 10);
const { table, done } = deltaTable(args, { kind: 'long-log', genArgs: ['--commits', String(commits), '--every', String(every)], label: 'long', what: `${commits} commits` });
const names = readdirSync(join(table, '_delta_log'));
const last = Math.max(...names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20))));
console.log(`${names.length} objects in _delta_log, newest version ${last}`);

function run(version) {
	const t = now();
	const r = spawnSync(lmctl, ['files', table, String(version)], { maxBuffer: 1 << 26 });
	const ms = now() - t;
	if (r.status !== 0) throw new Error(`lmctl files ${version}: ${r.stderr}`);
	return { ms, files: r.stdout.toString().split('\n').filter(Boolean).length };
}

function requests(version) {
	const trace = join(tmpdir(), `lm-bench-strace-${process.pid}`);
	const r = spawnSync('strace', ['-f', '-e', 'trace=openat,openat2', '-o', trace, lmctl, 'files', table, String(version)], { maxBuffer: 1 << 26 });
	if (r.status !== 0) throw new Error(`strace lmctl: ${r.stderr}`);
	let gets = 0, lists = 0;
	for (const line of readFileSync(trace, 'utf8').split('\n')) {
		if (!/= \d+$/.test(line)) continue;       // failed opens are not requests
		const m = /"([^"]*_delta_log[^"]*)"/.exec(line);
		if (!m) continue;
		if (/_delta_log\/?$/.test(m[1]) || line.includes('O_DIRECTORY')) lists++;
		else gets++;
	}
	rmSync(trace, { force: true });
	return { gets, lists };
}

const versions = [...new Set([last, last - 1, last - 9, Math.floor(last / 2) + 3, 12345, 1009, 15, 9, 0])]
	.filter((v) => v >= 0 && v <= last).sort((a, b) => b - a);
console.log('\n| version | files | cold time (median of 3) | GET | LIST | requests |');
console.log('| --- | --- | --- | --- | --- | --- |');
let worstMs = 0, worstReq = 0;
for (const v of versions) {
	const runs = [run(v), run(v), run(v)];
	const { gets, lists } = requests(v);
	const ms = median(runs.map((x) => x.ms));
	worstMs = Math.max(worstMs, ms);
	worstReq = Math.max(worstReq, gets + lists);
	console.log(`| ${v} | ${runs[0].files} | ${ms.toFixed(0)} ms | ${gets} | ${lists} | ${gets + lists} |`);
}
console.log(`\nworst: ${worstMs.toFixed(0)} ms, ${worstReq} requests (goal: < 1000 ms, < 20)`);
done();
