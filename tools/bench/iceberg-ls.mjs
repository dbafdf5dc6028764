#!/usr/bin/env node
// iceberg-ls.mjs — listing a 1M-file Iceberg snapshot through the mount (issue 5,
// "Performance"). Generates the table with iceberg-gen.mjs when absent, then:
//   * per run, a fresh mount (lakemount -f, a child of this script):
//       cold `ls` of the snapshot directory (reads the manifest list and every
//       manifest), then `find` of the whole snapshot (1M entries), then `find` again
//       (warm, same mount); the daemon's peak RSS (VmHWM) and RSS at idle after mount;
//   * unmount, mount again on the same metadata cache folder: "warm after remount" —
//     the snapshot's file list comes from the LMDB cache, no manifest is read;
//   * baselines in the same run: `find` of a tmpfs tree with the same 1M paths
//     (/dev/shm), and node reading and inflating every manifest (the I/O + decompression
//     floor of any reader of these manifests, without decoding the records).
//
//   node tools/bench/iceberg-ls.mjs [--lakemount build/lakemount] [--runs 2] [--work /tmp/lm-bench-ice]
// Prints one JSON line per measurement and a summary. Needs fusermount3.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const args = process.argv.slice(2);
const opt = (name, def) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : def;
};
const lakemount = path.resolve(opt('--lakemount', path.join(repo, 'build', 'lakemount')));
const runs = Number(opt('--runs', '2'));
const work = opt('--work', '/tmp/lm-bench-ice');
const src = path.join(work, 'src');
const mnt = path.join(work, 'mnt');
const cacheDir = path.join(work, 'cache');   // emptied at start: the first run is cold
const SNAP = '@snap-4611686018427387';

const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, argv) {
	const t0 = now();
	const r = spawnSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
	const t = now() - t0;
	if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
	return { t, out: r.stdout };
}

function countLines(buf) {
	let n = 0;
	for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
	return n;
}

function procKiB(pid, field) {
	const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
	return m ? Number(m[1]) : NaN;
}

async function mount() {
	fs.mkdirSync(mnt, { recursive: true });
	const child = spawn(lakemount, ['-f', '-o', `log_level=warn,cache_dir=${cacheDir}`, src, mnt], { stdio: ['ignore', 'ignore', 'inherit'] });
	for (let i = 0; i < 200; i++) {
		await sleep(50);
		try {
			if (fs.readdirSync(mnt).includes('big')) return child;
		} catch { /* not yet */ }
	}
	child.kill();
	throw new Error('mount did not come up');
}

async function unmount(child) {
	spawnSync('fusermount3', ['-u', mnt]);
	await new Promise((r) => child.exitCode !== null ? r() : child.once('exit', r));
}

function dropCaches() {
	// Opt-in (--drop-caches): the whole machine's page cache, root only. Without it the
	// manifests may come from the page cache (a local-disk "cold" then means no
	// lakemount cache, not a cold disk).
	if (!process.argv.includes('--drop-caches')) return false;
	try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3'); return true; } catch { return false; }
}

async function oneMount(label) {
	const dropped = dropCaches();
	const child = await mount();
	const idle = procKiB(child.pid, 'VmRSS');
	const ls = sh('ls', [path.join(mnt, 'big', SNAP)]);
	const find1 = sh('find', [path.join(mnt, 'big', SNAP)]);
	const hwm = procKiB(child.pid, 'VmHWM');
	const find2 = sh('find', [path.join(mnt, 'big', SNAP)]);
	const files = countLines(find1.out);
	const rss = procKiB(child.pid, 'VmRSS');
	await unmount(child);
	const r = { run: label, page_cache_dropped: dropped, ls_s: +ls.t.toFixed(3), ls_entries: countLines(ls.out),
		find_cold_s: +find1.t.toFixed(3), find_warm_same_mount_s: +find2.t.toFixed(3), find_entries: files,
		rss_idle_mib: +(idle / 1024).toFixed(1), peak_rss_mib: +(hwm / 1024).toFixed(1),
		rss_after_mib: +(rss / 1024).toFixed(1),
		bytes_per_file: Math.round(((hwm - idle) * 1024) / files) };
	console.log(JSON.stringify(r));
	return r;
}

function baselineManifests() {
	// Read every manifest and inflate every block (no record decoding).
	const md = path.join(src, 'big', 'metadata');
	const t0 = now();
	let records = 0, inflated = 0;
	for (const name of fs.readdirSync(md)) {
		if (!name.startsWith('m-')) continue;
		const b = fs.readFileSync(path.join(md, name));
		let p = 4;
		const long = () => {
			let z = 0, mul = 1, c;
			do { c = b[p++]; z += (c & 127) * mul; mul *= 128; } while (c & 128);
			return z % 2 ? -(z + 1) / 2 : z / 2;
		};
		for (let n = long(); n !== 0; n = long()) {
			if (n < 0) { long(); n = -n; }
			for (let i = 0; i < n; i++) { const k = long(); p += k; const v = long(); p += v; }
		}
		p += 16;
		while (p < b.length) {
			const cnt = long(), len = long();
			inflated += zlib.inflateRawSync(b.subarray(p, p + len)).length;
			p += len + 16;
			records += cnt;
		}
	}
	const r = { run: 'baseline: node reads + inflates all manifests', s: +(now() - t0).toFixed(3), records, inflated_bytes: inflated };
	console.log(JSON.stringify(r));
	return r;
}

function baselineTmpfs(paths) {
	// The same tree on tmpfs, built with one python process (fast), then find.
	const root = '/dev/shm/lm-bench-ice-tree';
	fs.rmSync(root, { recursive: true, force: true });
	const list = path.join(work, 'paths.txt');
	fs.writeFileSync(list, paths);
	execFileSync('python3', ['-c', `
import os, sys
root = sys.argv[1]
made = set()
for line in open(sys.argv[2], 'rb'):
    rel = line.rstrip(b'\\n')
    if not rel: continue
    d = os.path.dirname(rel)
    if d not in made:
        os.makedirs(os.path.join(root.encode(), d), exist_ok=True); made.add(d)
    os.close(os.open(os.path.join(root.encode(), rel), os.O_CREAT | os.O_WRONLY, 0o644))
`, root, list]);
	const f1 = sh('find', [root]);
	const f2 = sh('find', [root]);
	const r = { run: 'baseline: find on tmpfs', find_s: +f1.t.toFixed(3), find_again_s: +f2.t.toFixed(3), entries: countLines(f1.out) };
	console.log(JSON.stringify(r));
	fs.rmSync(root, { recursive: true, force: true });
	fs.rmSync(list, { force: true });
	return r;
}

async function main() {
	if (!fs.existsSync(path.join(src, 'big', 'metadata', 'v1.metadata.json'))) {
		const g = spawnSync(process.execPath, [path.join(here, 'iceberg-gen.mjs'), src], { stdio: 'inherit' });
		if (g.status !== 0) process.exit(1);
	}
	const out = [];
	fs.rmSync(cacheDir, { recursive: true, force: true });
	for (let i = 0; i < runs; i++)
		out.push(await oneMount(i === 0 ? 'cold (fresh mount, empty metadata cache)' : `after remount #${i} (file list from the metadata cache)`));
	out.push(baselineManifests());
	// tmpfs baseline: the paths the mount showed (relative), from one more listing
	const child = await mount();
	const lst = sh('find', [path.join(mnt, 'big', SNAP), '-type', 'f', '-printf', '%P\\n']);
	await unmount(child);
	out.push(baselineTmpfs(lst.out));
	const meta = spawnSync('du', ['-sb', path.join(src, 'big', 'metadata')]).stdout.toString().split('\t')[0];
	console.log(JSON.stringify({ summary: true, metadata_bytes: Number(meta), nproc: spawnSync('nproc').stdout.toString().trim() }));
}

main().catch((e) => { console.error(e); process.exit(1); });
