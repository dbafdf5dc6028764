#!/usr/bin/env node
// p3-ls.mjs — issue 6, P3 and the memory goal: listing a big version through the mount,
// cold and then warm after a remount (file list from the LMDB metadata cache), against
// the same tree on tmpfs, in the same run.
//
//   node tools/bench/p3-ls.mjs [--adds 100000] [--runs 3] [--keep] [TABLE_DIR]
//
// The table: a Delta log whose checkpoint holds --adds add actions (delta-gen.mjs
// big-checkpoint; only the log exists, listing needs no data file). Per run:
//   cold      a fresh cache folder, mount, `ls -fR` of @v2 (reads _last_checkpoint, the
//             checkpoint Parquet and the commits; stores the file list in LMDB)
//   remount   unmount, mount again on the same cache folder, `ls -fR` of @v2: the list
//             comes from LMDB (the kernel's caches died with the first mount)
//   baseline  `ls -fR` of a tmpfs tree (/dev/shm) with the same paths (empty files)
// Memory: the daemon's RSS after the warm listing minus its RSS right after mounting,
// per file of the version (goal ≤ 200 B/file); peak too.
// Prints one JSON line per measurement and a summary with the ratios. Needs fusermount3.
// With LM_BENCH_S3=1 (and LM_S3_ENDPOINT, LM_S3_BUCKET, AWS_ACCESS_KEY_ID/SECRET in the
// environment, as the env file of tools/s3/start-rgw.sh sets them; issue6.sh does) the
// log is uploaded with lm-s3put and mounted from s3://BUCKET/p3-PID instead.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { build, median, numOpt, deltaTable } from './common.mjs';

const args = process.argv.slice(2);
const adds = numOpt(args, '--adds', 100000);
const runs = numOpt(args, '--runs', 3);
const lakemount = path.join(build, 'lakemount');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t = () => Number(process.hrtime.bigint()) / 1e9;

function timed(cmd, argv) {
	const t0 = t();
	const r = spawnSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
	const s = t() - t0;
	if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
	let lines = 0;
	for (const c of r.stdout) if (c === 10) lines++;
	return { s, lines, out: r.stdout };
}

const procKiB = (pid, field) => {
	const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
	return m ? Number(m[1]) : NaN;
};

const s3 = process.env.LM_BENCH_S3 === '1';
const s3opts = s3 ? `,endpoint=${process.env.LM_S3_ENDPOINT},path_style` : '';

async function mount(src, mnt, cacheDir) {
	fs.mkdirSync(mnt, { recursive: true });
	const child = spawn(lakemount, ['-f', '-o', `log_level=warn,cache_dir=${cacheDir}${s3opts}`, src, mnt],
		{ stdio: ['ignore', 'ignore', 'inherit'] });
	for (let i = 0; i < 400; i++) {
		await sleep(25);
		try {
			if (fs.readdirSync(mnt).length) return child;
		} catch { /* not yet */ }
	}
	child.kill();
	throw new Error('mount did not come up');
}

async function unmount(child, mnt) {
	spawnSync('fusermount3', ['-u', mnt]);
	await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
}

function tmpfsTree(paths) {
	const root = '/dev/shm/lm-bench-p3-tree';
	fs.rmSync(root, { recursive: true, force: true });
	const made = new Set();
	for (const rel of paths) {
		const d = path.dirname(rel);
		if (!made.has(d)) {
			fs.mkdirSync(path.join(root, d), { recursive: true });
			made.add(d);
		}
		fs.closeSync(fs.openSync(path.join(root, rel), 'w'));
	}
	return root;
}

async function main() {
	const { table, done } = deltaTable(args, { kind: 'big-checkpoint', genArgs: ['--adds', String(adds)],
		label: 'p3', what: `a ${adds}-add checkpoint` });
	const work = fs.mkdtempSync('/tmp/lm-bench-p3-');
	const name = path.basename(table);
	let src = path.dirname(table);
	if (s3) {
		const { LM_S3_ENDPOINT: ep, LM_S3_BUCKET: bucket } = process.env;
		if (!ep || !bucket) throw new Error('LM_BENCH_S3=1 needs LM_S3_ENDPOINT and LM_S3_BUCKET');
		src = `s3://${bucket}/p3-${process.pid}`;
		execFileSync(path.join(build, 'tools', 's3', 'lm-s3put'), ['-q', '-o', `endpoint=${ep},path_style`,
			table, `${src}/${name}`], { stdio: 'inherit' });
		console.error(`uploaded the log to ${src}/${name}`);
	}
	const mnt = path.join(work, 'mnt');
	const ver = path.join(mnt, name, '@v2');
	const res = { cold: [], warm: [], tmpfs: [], bytes_per_file: [], peak_mib: [] };
	let files = 0, paths = null;
	try {
		for (let i = 0; i < runs; i++) {
			const cache = path.join(work, `cache-${i}`);
			let child = await mount(src, mnt, cache);
			const coldIdle = procKiB(child.pid, 'VmRSS');
			const cold = timed('ls', ['-fR', ver]);
			// The list goes into the metadata cache on the cache's writer thread after the
			// ls has its answer: measure the steady state, once it has been stored.
			for (let t = 0; t < 400; t++) {
				const st = JSON.parse(fs.readFileSync(path.join(mnt, '.lakemount-stats'), 'utf8'));
				if (st.metadata_cache.stored >= 1) break;
				await sleep(25);
			}
			const coldRss = procKiB(child.pid, 'VmRSS');
			if (!paths) paths = timed('find', [ver, '-type', 'f', '-printf', '%P\\n']).out.toString().split('\n').filter(Boolean);
			const coldBpf = Math.round(((coldRss - coldIdle) * 1024) / paths.length);
			await unmount(child, mnt);
			child = await mount(src, mnt, cache);
			const idle = procKiB(child.pid, 'VmRSS');
			const warm = timed('ls', ['-fR', ver]);
			const rss = procKiB(child.pid, 'VmRSS'), hwm = procKiB(child.pid, 'VmHWM');
			await unmount(child, mnt);
			files = paths.length;
			const bpf = Math.round(((rss - idle) * 1024) / files);
			res.cold.push(cold.s);
			res.warm.push(warm.s);
			res.bytes_per_file.push(bpf);
			res.peak_mib.push(hwm / 1024);
			console.log(JSON.stringify({ run: i, files, cold_ls_s: +cold.s.toFixed(3), warm_after_remount_ls_s: +warm.s.toFixed(3),
				ls_lines: warm.lines, rss_idle_mib: +(idle / 1024).toFixed(1), rss_after_mib: +(rss / 1024).toFixed(1),
				peak_rss_mib: +(hwm / 1024).toFixed(1), bytes_per_file: bpf, cold_mount_bytes_per_file: coldBpf,
				cache_bytes: Number(execFileSync('du', ['-sb', cache]).toString().split('\t')[0]) }));
		}
		const root = tmpfsTree(paths);
		timed('ls', ['-fR', root]);   // first pass warms the dentry cache, as a local folder would be
		for (let i = 0; i < runs; i++) res.tmpfs.push(timed('ls', ['-fR', root]).s);
		fs.rmSync(root, { recursive: true, force: true });
		const warm = median(res.warm), tmpfs = median(res.tmpfs);
		console.log(JSON.stringify({ baseline: 'ls -fR of the same tree on tmpfs', s: res.tmpfs.map((x) => +x.toFixed(3)) }));
		console.log(JSON.stringify({
			summary: true, files, runs,
			cold_ls_s: +median(res.cold).toFixed(3),
			warm_after_remount_ls_s: +warm.toFixed(3),
			tmpfs_ls_s: +tmpfs.toFixed(3),
			warm_vs_tmpfs: +(warm / tmpfs).toFixed(2), goal_warm_vs_tmpfs: 2.0,
			bytes_per_file: median(res.bytes_per_file), goal_bytes_per_file: 200,
			peak_rss_mib: +median(res.peak_mib).toFixed(1),
			nproc: Number(execFileSync('nproc').toString()), source: s3 ? 's3' : 'local',
		}));
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
		done();
	}
}

main().catch((e) => { console.error(e); process.exit(1); });
