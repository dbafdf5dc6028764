// delta-checkpoint-1m — how fast the file list of a version whose checkpoint holds 1M
// add actions is built, cold, against DuckDB reading add.path and add.size from the same
// checkpoint file in the same run.
//
//   node tools/bench/delta-checkpoint-1m.mjs [--runs N] [--adds N] [--keep] [TABLE_DIR]
//
// Without TABLE_DIR, a table is generated first in a temporary folder with
// tools/bench/delta-gen.mjs big-checkpoint (the checkpoint is written by DuckDB with the
// real nested checkpoint schema: stats, partition values, tags, deletion vector
// structs...). Each run is cold (a new process / a new DuckDB instance):
//   lmctl       `lmctl files TABLE 1`: footer, projected column chunks of add.*, replay,
//               sorted snapshot, 1M lines printed (to /dev/null)
//   lmctl+1     `lmctl files TABLE 2`: the same plus one commit after the checkpoint
//   build       `lmctl files --summary TABLE 1`: the same list built in memory, only its
//               totals printed — what DuckDB's side does (materialise, print nothing)
//   duckdb      a new in-process instance; CREATE TEMP TABLE AS SELECT add.path, add.size
//               FROM read_parquet(checkpoint) WHERE add IS NOT NULL (both columns read and
//               materialised, nothing printed; the instance's creation is timed, its
//               closing is not — lmctl's exit, which frees its memory, is)
// and prints medians and ratios (ours / DuckDB; < 1 is faster than DuckDB).
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { lmctl, median, now, numOpt, deltaTable } from './common.mjs';
import { openDuck, sqlString } from '../js/duck.mjs';

const args = process.argv.slice(2);
const runs = numOpt(args, '--runs', 5);
const adds = numOpt(args, '--adds', 1_000_000);
const { table, done } = deltaTable(args, { kind: 'big-checkpoint', genArgs: ['--adds', String(adds)], label: 'big', what: `${adds} adds` });
const ckpt = join(table, '_delta_log', '00000000000000000001.checkpoint.parquet');
if (!existsSync(ckpt)) throw new Error(`${ckpt} is missing`);

function timeLmctl(version, summary = false) {
	const devnull = openSync('/dev/null', 'w');
	const t = now();
	const r = spawnSync(lmctl, ['files', ...(summary ? ['--summary'] : []), table, String(version)], { stdio: ['ignore', devnull, 'pipe'] });
	const ms = now() - t;
	closeSync(devnull);
	if (r.status !== 0) throw new Error(`lmctl failed: ${r.stderr}`);
	return ms;
}

async function timeDuck() {
	const t = now();
	const d = await openDuck();
	try {
		await d.run(`CREATE TEMP TABLE x AS SELECT "add".path AS path, "add".size AS size FROM read_parquet(${sqlString(ckpt)}) WHERE "add" IS NOT NULL`);
		const ms = now() - t;
		const n = Number(await d.scalar('SELECT count(*) FROM x'));
		if (n !== adds && !args.length) throw new Error(`DuckDB read ${n} adds`);
		return ms;
	} finally {
		d.close();
	}
}

// lmctl lists every file: the checkpoint's at 1, one more at 2 (the commit after it).
function countLmctl(version) {
	const r = spawnSync('sh', ['-c', '"$0" files "$1" "$2" | wc -l', lmctl, table, String(version)],
		{ encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`lmctl failed: ${r.stderr}`);
	return Number(r.stdout.trim());
}

const res = { lmctl: [], lmctl1: [], build: [], duckdb: [] };
// One warm-up of each (page cache, dynamic loading), not counted; the counts checked.
if (!args.length) {
	const n1 = countLmctl(1), n2 = countLmctl(2);
	if (n1 !== adds || n2 !== adds + 1) throw new Error(`lmctl listed ${n1} / ${n2} files`);
}
timeLmctl(1);
await timeDuck();
for (let i = 0; i < runs; i++) {
	res.lmctl.push(timeLmctl(1));
	res.lmctl1.push(timeLmctl(2));
	res.build.push(timeLmctl(1, true));
	res.duckdb.push(await timeDuck());
}
const d = median(res.duckdb);
const line = (name, xs) => `| ${name} | ${median(xs).toFixed(0)} ms | ${(median(xs) / d).toFixed(2)}× |`;
console.log(`\n${adds} adds, ${runs} runs, medians:\n`);
console.log('| what | median | vs DuckDB |');
console.log('| --- | --- | --- |');
console.log(line('`lmctl files TABLE 1` (checkpoint only)', res.lmctl));
console.log(line('`lmctl files TABLE 2` (checkpoint + 1 commit)', res.lmctl1));
console.log(line('`lmctl files --summary TABLE 1` (the list built, only its totals printed)', res.build));
console.log(line('DuckDB: add.path, add.size of the checkpoint', res.duckdb));
done();
