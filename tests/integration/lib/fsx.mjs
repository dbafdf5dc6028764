// fsx.mjs — small filesystem, hashing, decoding and lmctl helpers for the mount tests.
// Everything that touches the mount is async (fs.promises), so the test process never
// blocks its event loop on a FUSE request.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { LMCTL, requireBinary } from './env.mjs';

export function utf8Compare(a, b) {
	return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortPaths(list) {
	return [...list].sort(utf8Compare);
}

// Percent-decode once (%XX → byte; everything else, '+' included, as is), then UTF-8.
const HEX = (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
export function pctDecode(s) {
	if (!s.includes('%')) return s;
	const src = Buffer.from(s, 'utf8');
	const out = Buffer.alloc(src.length);
	let n = 0;
	for (let i = 0; i < src.length; i++) {
		if (src[i] === 0x25 && i + 2 < src.length && HEX(src[i + 1]) && HEX(src[i + 2])) {
			out[n++] = parseInt(src.subarray(i + 1, i + 3).toString('latin1'), 16);
			i += 2;
		} else {
			out[n++] = src[i];
		}
	}
	return out.subarray(0, n).toString('utf8');
}

export function sha256(buf) {
	return crypto.createHash('sha256').update(buf).digest('hex');
}

export async function sha256File(p) {
	const h = crypto.createHash('sha256');
	const fh = await fsp.open(p, 'r');
	try {
		const buf = Buffer.alloc(1 << 20);
		for (;;) {
			const { bytesRead } = await fh.read(buf, 0, buf.length, null);
			if (!bytesRead) break;
			h.update(buf.subarray(0, bytesRead));
		}
	} finally {
		await fh.close();
	}
	return h.digest('hex');
}

// Recursive listing below root: [{ rel, type: 'file'|'dir'|'symlink'|'other', size,
// mtimeMs (bigint ms, from st_mtim) }], sorted by rel (UTF-8 byte order). With
// { stat: false } only names and d_type (no request per entry), for huge trees.
export async function walk(root, { stat = true } = {}) {
	const out = [];
	async function rec(dir, prefix) {
		const ents = await fsp.readdir(dir, { withFileTypes: true });
		for (const e of ents) {
			const rel = prefix ? `${prefix}/${e.name}` : e.name;
			const abs = path.join(dir, e.name);
			let type = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : e.isSymbolicLink() ? 'symlink' : 'other';
			let size, mtimeMs;
			if (stat) {
				const st = await fsp.lstat(abs, { bigint: true });
				type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
				size = Number(st.size);
				mtimeMs = st.mtimeNs / 1_000_000n;
			}
			out.push({ rel, type, size, mtimeMs });
			if (type === 'dir') await rec(abs, rel);
		}
	}
	await rec(root, '');
	return out.sort((a, b) => utf8Compare(a.rel, b.rel));
}

// The code of the error fn() fails with, or null if it succeeds.
export async function errnoOf(fn) {
	try {
		await fn();
		return null;
	} catch (e) {
		return e.code || String(e);
	}
}

export async function exists(p) {
	return (await errnoOf(() => fsp.lstat(p))) === null;
}

// Read length bytes at offset with pread semantics (short at EOF).
export async function pread(p, offset, length) {
	const fh = await fsp.open(p, 'r');
	try {
		const buf = Buffer.alloc(length);
		const { bytesRead } = await fh.read(buf, 0, length, offset);
		return buf.subarray(0, bytesRead);
	} finally {
		await fh.close();
	}
}

// Run lmctl; returns { status, stdout, stderr }.
export function lmctl(args, { env = {} } = {}) {
	requireBinary(LMCTL, 'lmctl');
	const r = spawnSync(LMCTL, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 512 << 20 });
	if (r.error) throw r.error;
	return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// lmctl versions → [{ version, status, commitMs, nfiles }]
export function lmctlVersions(tableSource, opts) {
	const r = lmctl(['versions', tableSource], opts);
	if (r.status !== 0) throw new Error(`lmctl versions ${tableSource} failed (${r.status}): ${r.stderr.trim()}`);
	return r.stdout.split('\n').filter(Boolean).map((l) => {
		const [v, status, ms, n] = l.split('\t');
		return { version: Number(v), status, commitMs: Number(ms), nfiles: Number(n) };
	});
}

// lmctl files → { status, files: [{ path, size, mtimeMs }], stderr }
export function lmctlFiles(tableSource, version, opts) {
	const r = lmctl(['files', tableSource, String(version)], opts);
	const files = r.status === 0
		? r.stdout.split('\n').filter(Boolean).map((l) => {
			const [p, size, ms] = l.split('\t');
			return { path: p, size: Number(size), mtimeMs: Number(ms) };
		})
		: [];
	return { status: r.status, files, stderr: r.stderr };
}

// Strip the daemon's "lakemount HH:MM:SS.mmm level: " prefix.
export function logMessage(line) {
	return line.replace(/^lakemount \d\d:\d\d:\d\d\.\d+ \w+: /, '');
}

// Does a log message name version n? Accepted spellings: "v3", "@v3", "version 3",
// "version=3", "version: 3".
export function namesVersion(msg, n) {
	return new RegExp(`(?:@v|\\bv|\\bversion\\s*[=:#]?\\s*)${n}(?![0-9])`, 'i').test(msg);
}

export function copyTree(src, dst) {
	fs.cpSync(src, dst, { recursive: true, preserveTimestamps: true });
}

// A small seeded PRNG in [0, 1) for reproducible random reads.
export function mulberry(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

// Fail with every collected problem, one per line (assert.deepEqual truncates long diffs).
export function assertNoProblems(problems, what = 'problems') {
	if (problems.length) throw new Error(`${problems.length} ${what}:\n  ${problems.join('\n  ')}`);
}
