// env.mjs — where things are, and whether this machine can mount FUSE at all.
//
//   LM_BUILD         build directory holding lakemount and tools/lmctl (default <repo>/build)
//   LM_CORPUS        shared corpus (default <repo>/../shared/corpus)
//   LM_TEST_BACKEND  local (default) | s3          (see backend.mjs)
//   LM_TEST_KEEP=1   keep temporary directories (for debugging a failure)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.resolve(process.env.LM_BUILD || path.join(REPO, 'build'));
export const LAKEMOUNT = path.join(BUILD, 'lakemount');
export const LMCTL = path.join(BUILD, 'tools', 'lmctl');
export const CORPUS = path.resolve(process.env.LM_CORPUS || path.join(REPO, '..', 'shared', 'corpus'));
export const GEN_LAKE = path.join(REPO, 'tools', 'js', 'gen-lake.mjs');
export const KEEP = process.env.LM_TEST_KEEP === '1';

function which(cmd) {
	for (const dir of (process.env.PATH || '').split(':')) {
		const p = path.join(dir || '.', cmd);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch { /* next */ }
	}
	return null;
}

export const FUSERMOUNT = which('fusermount3');

// Reason to skip the mount tests, or null. Only a machine without FUSE is a reason: a
// missing daemon binary is a failure, not a skip.
export function fuseSkipReason() {
	if (!fs.existsSync('/dev/fuse')) return '/dev/fuse does not exist';
	if (!FUSERMOUNT) return 'fusermount3 is not on PATH';
	return null;
}

// Print a reason to skip so that nobody can miss it, and return it for { skip }.
export function loudSkip(what, reason) {
	const bar = '!'.repeat(78);
	process.stderr.write(`\n${bar}\n!! SKIPPED: ${what}\n!! reason: ${reason}\n${bar}\n\n`);
	return `SKIPPED: ${reason}`;
}

export function requireBinary(p, what) {
	if (!fs.existsSync(p))
		throw new Error(`${what} not found at ${p} — build first (ninja -C ${BUILD}) or set LM_BUILD`);
	return p;
}

const tmpdirs = [];
export function makeTmpdir(label) {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), `lm-it-${label}-`));
	tmpdirs.push(d);
	return d;
}
export function removeTmpdir(d) {
	if (!d) return;
	if (KEEP) {
		process.stderr.write(`LM_TEST_KEEP=1: kept ${d}\n`);
		return;
	}
	try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* mount still busy: leave it */ }
}

// Run the project's sample-lake generator into dir; returns its .expected.json.
export function generateLake(dir, { seed = 1, big = 0 } = {}) {
	const args = [GEN_LAKE, '--seed', String(seed)];
	if (big) args.push('--big', String(big));
	args.push(dir);
	try {
		execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
	} catch (e) {
		throw new Error(`gen-lake.mjs failed: ${e.stderr?.toString() || e.message}` +
			(String(e.stderr).includes('@duckdb') ? ' (run npm ci in tools/js)' : ''));
	}
	return JSON.parse(fs.readFileSync(path.join(dir, '.expected.json'), 'utf8'));
}
