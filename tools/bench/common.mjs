// common.mjs — what the benchmark scripts share: the repo and build paths, number
// options, a monotonic clock, medians, and generating a Delta table with
// tools/bench/delta-gen.mjs into a temporary folder when none is given.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const build = process.env.LM_BUILD ?? join(repo, 'build');
export const lmctl = join(build, 'tools/lmctl');
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const now = () => Number(process.hrtime.bigint()) / 1e6;

// `--name N` from args (removed from it), as a number; dflt when absent.
export function numOpt(args, name, dflt) {
	const i = args.indexOf(name);
	if (i < 0) return dflt;
	const v = args[i + 1];
	args.splice(i, 2);
	return Number(v);
}

// The table to measure: the first non-option argument, or one generated now by
// `delta-gen.mjs KIND GENARGS… DIR` in a temporary folder. done() removes that folder
// unless --keep was given.
export function deltaTable(args, { kind, genArgs, label, what }) {
	const keep = args.includes('--keep');
	const given = args.find((a) => !a.startsWith('--'));
	if (given) return { table: given, done() {} };
	const tmp = mkdtempSync(join(tmpdir(), `lm-bench-${label}-`));
	const table = join(tmp, label);
	const t = now();
	const r = spawnSync(process.execPath, [join(repo, 'tools/bench/delta-gen.mjs'), kind, ...genArgs, table],
		{ stdio: 'inherit' });
	if (r.status !== 0) throw new Error('generator failed');
	console.log(`generated ${what} in ${((now() - t) / 1000).toFixed(1)} s: ${table}`);
	return { table, done() { if (!keep) rmSync(tmp, { recursive: true, force: true }); } };
}
