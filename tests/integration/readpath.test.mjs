// readpath.test.mjs — the Parquet read path through a real mount: the footer reads DuckDB
// and pyarrow make first (last 8 bytes, then the footer) cost one GET per file opened,
// and none after a remount on the same cache_dir (the tails come from the LMDB cache);
// the optional data cache serves a remount's reads from local disk with the right
// bytes, and a second mount on the same data cache directory is refused; the kernel's
// readahead of the mount is raised to 1 MiB (fewer, larger FUSE reads) when the daemon
// may (root), and read_ahead_kb= chooses it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake, LAKEMOUNT } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { sha256File } from './lib/fsx.mjs';
import { spawnSync } from 'node:child_process';

const skip = fuseSkipReason() ? loudSkip('read path tests', fuseSkipReason()) : false;

describe(`read path: Parquet footers and the data cache (${BACKEND})`, { skip, timeout: 180_000 }, () => {
	let tmp, lake, pub, expected, files;

	before(async () => {
		tmp = makeTmpdir('readpath');
		lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: 11 });
		// A plain file of several blocks for the data cache (table files are small:
		// each is one Parquet tail).
		fs.mkdirSync(path.join(lake, 'blobs'), { recursive: true });
		const blob = Buffer.alloc(3 * 1024 * 1024 + 12345);
		for (let i = 0; i < blob.length; i++) blob[i] = (i * 2654435761) >>> 24;
		fs.writeFileSync(path.join(lake, 'blobs', 'big.bin'), blob);
		pub = await publish(lake, 'readpath');
		const t = expected.tables.sales;
		const v = t.versions.at(-1);
		files = v.files.filter((f) => f.path.endsWith('.parquet'))
			.map((f) => ({ ...f, rel: path.join('sales', `@v${v.version}`, f.path), src: path.join(lake, t.path, f.path) }));
		assert.ok(files.length >= 3, `enough Parquet files in the sample (${files.length})`);
	});

	after(() => removeTmpdir(tmp));

	const mount = (options, name) =>
		startMount({ source: pub.source, mnt: path.join(tmp, name), options: [...pub.options, ...options], env: pub.env });
	const stats = async (mnt) => JSON.parse(await fsp.readFile(path.join(mnt, '.lakemount-stats'), 'utf8'));

	// What DuckDB does first: the last 8 bytes, then the footer they announce.
	async function footerRead(mnt, f) {
		const fh = await fsp.open(path.join(mnt, f.rel), 'r');
		try {
			const tail = Buffer.alloc(8);
			await fh.read(tail, 0, 8, f.size - 8);
			assert.equal(tail.subarray(4).toString('latin1'), 'PAR1', `${f.rel}: ends with PAR1`);
			const flen = tail.readUInt32LE(0);
			assert.ok(flen + 8 <= f.size, `${f.rel}: footer length ${flen}`);
			const footer = Buffer.alloc(flen);
			await fh.read(footer, 0, flen, f.size - 8 - flen);
			const src = fs.readFileSync(f.src);
			assert.ok(footer.equals(src.subarray(f.size - 8 - flen, f.size - 8)), `${f.rel}: footer bytes`);
			assert.ok(tail.equals(src.subarray(f.size - 8)), `${f.rel}: last 8 bytes`);
		} finally {
			await fh.close();
		}
	}

	it('one footer GET per file opened; none after a remount (LMDB cache)', async () => {
		const cache = path.join(tmp, 'cache');
		const m1 = await mount([`cache_dir=${cache}`], 'mnt1');
		try {
			const s0 = await stats(m1.mnt);
			for (const f of files) await footerRead(m1.mnt, f);
			const s1 = await stats(m1.mnt);
			assert.equal(s1.footers.gets - s0.footers.gets, files.length, 'one footer GET per file');
			assert.equal(s1.footers.from_cache - s0.footers.from_cache, 0);
			const others = (s1.requests.get_probe + s1.requests.get_demand) - (s0.requests.get_probe + s0.requests.get_demand);
			assert.equal(others, 0, 'no other GET for the footer reads');
			assert.ok(s1.footers.reads - s0.footers.reads >= files.length, 'reads served from the tails');
		} finally {
			await m1.unmount();
		}
		const m2 = await mount([`cache_dir=${cache}`], 'mnt2');
		try {
			const s0 = await stats(m2.mnt);
			for (const f of files) await footerRead(m2.mnt, f);
			const s1 = await stats(m2.mnt);
			assert.equal(s1.footers.gets - s0.footers.gets, 0, 'no footer GET after the remount');
			assert.equal(s1.footers.from_cache - s0.footers.from_cache, files.length, 'every tail from the cache');
			assert.equal(s1.requests.get_probe + s1.requests.get_demand + s1.requests.get_prefetch, 0, 'no GET at all');
			// The whole files, read after their cached footers, are still exactly the source.
			for (const f of files)
				assert.equal(await sha256File(path.join(m2.mnt, f.rel)), await sha256File(f.src), f.rel);
		} finally {
			await m2.unmount();
		}
	});

	it('data cache: a remount reads from local disk, right bytes; one mount per directory', async () => {
		const dc = path.join(tmp, 'datacache');
		const blob = { rel: 'blobs/big.bin', src: path.join(lake, 'blobs', 'big.bin') };
		const all = [...files, blob];
		const m1 = await mount(['no_disk_cache', `data_cache=${dc}`, 'data_cache_size=64M'], 'mnt3');
		try {
			for (const f of all)
				assert.equal(await sha256File(path.join(m1.mnt, f.rel)), await sha256File(f.src), f.rel);
			// A second mount on the same data cache directory is refused, and says why.
			await assert.rejects(mount(['no_disk_cache', `data_cache=${dc}`], 'mnt4'), /in use by another lakemount/);
		} finally {
			await m1.unmount();
		}
		const m2 = await mount(['no_disk_cache', `data_cache=${dc}`, 'data_cache_size=64M'], 'mnt5');
		try {
			for (const f of all)
				assert.equal(await sha256File(path.join(m2.mnt, f.rel)), await sha256File(f.src), f.rel);
			const s = await stats(m2.mnt);
			assert.ok(s.data_cache.hits >= 4, `the blob's 4 blocks read from disk (${JSON.stringify(s.data_cache)})`);
			assert.ok(s.bytes.fetched < 1 << 20, `little from the network (${s.bytes.fetched} bytes)`);
			assert.equal(s.data_cache.corrupt, 0);
			assert.ok(s.data_cache.bytes > 0 && s.data_cache.bytes <= 64 << 20);
		} finally {
			await m2.unmount();
		}
	});

	// The mount's bdi ("MAJOR:MINOR", as mountpoint -d prints it) and its readahead.
	const readAheadKb = (mnt) => {
		const r = spawnSync('mountpoint', ['-d', mnt], { encoding: 'utf8' });
		assert.equal(r.status, 0, `mountpoint -d ${mnt}: ${r.stderr}`);
		return Number(fs.readFileSync(`/sys/class/bdi/${r.stdout.trim()}/read_ahead_kb`, 'utf8'));
	};
	const notRoot = process.getuid() !== 0 && 'the daemon sets the readahead only as root';

	it('the stats file counts every storage request, by kind, with bytes and retries', async () => {
		const blob = { rel: 'blobs/big.bin', src: path.join(lake, 'blobs', 'big.bin') };
		const size = fs.statSync(blob.src).size;
		const m = await mount(['no_disk_cache'], 'mnt-storage-stats');
		try {
			const s0 = (await stats(m.mnt)).storage;
			assert.equal(await sha256File(path.join(m.mnt, blob.rel)), await sha256File(blob.src));
			const s1 = (await stats(m.mnt)).storage;
			assert.equal(s1.backend, BACKEND === 's3' ? 's3' : 'local');
			assert.ok(s1.gets - s0.gets >= 1, `gets ${s0.gets} -> ${s1.gets}`);
			assert.ok(s1.bytes - s0.bytes >= size, `bytes ${s1.bytes - s0.bytes} for ${size}`);
			assert.ok(s1.lists >= 1, 'the mount listed its source');
			assert.equal(s1.errors, 0);
			for (const k of ['heads', 'missing', 'retries', 'throttled']) assert.ok(Number.isInteger(s1[k]), k);
			if (BACKEND === 's3') assert.ok(s1.requests >= s1.gets + s1.lists, `HTTP requests ${s1.requests}`);
			else assert.equal(s1.requests, 0, 'no HTTP on the local backend');
		} finally {
			await m.unmount();
		}
	});

	it('read_ahead_kb above 64 MiB is refused in one line, nothing mounted', () => {
		const mnt = path.join(tmp, 'mnt-ra-bad');
		fs.mkdirSync(mnt, { recursive: true });
		const r = spawnSync(LAKEMOUNT, ['-f', '-o', 'read_ahead_kb=70000', lake, mnt], { encoding: 'utf8', timeout: 10_000 });
		assert.equal(r.status, 2);
		assert.match(r.stderr, /read_ahead_kb=70000: at most 65536/);
		assert.notEqual(spawnSync('mountpoint', ['-q', mnt]).status, 0, 'not mounted');
	});

	it('kernel readahead: 1 MiB by default (as root), read_ahead_kb= chooses it, right bytes', { skip: notRoot }, async () => {
		const blob = { rel: 'blobs/big.bin', src: path.join(lake, 'blobs', 'big.bin') };
		const want = await sha256File(blob.src);
		const size = fs.statSync(blob.src).size;
		const fuseReads = async (m) => {
			const s0 = await stats(m.mnt);
			assert.equal(await sha256File(path.join(m.mnt, blob.rel)), want, blob.rel);
			return (await stats(m.mnt)).fuse.reads - s0.fuse.reads;
		};
		const mb = await mount(['no_disk_cache'], 'mnt ra default');
		let big;
		try {
			assert.equal(readAheadKb(mb.mnt), 1024, 'default: 1 MiB');
			big = await fuseReads(mb);
		} finally {
			await mb.unmount();
		}
		const ms = await mount(['no_disk_cache', 'read_ahead_kb=128'], 'mnt-ra-128');
		let small;
		try {
			assert.equal(readAheadKb(ms.mnt), 128, 'read_ahead_kb=128');
			small = await fuseReads(ms);
		} finally {
			await ms.unmount();
		}
		// 1 MiB requests: about size/1 MiB reads; 128 KiB readahead: at least size/256 KiB.
		assert.ok(big <= Math.ceil(size / (1 << 20)) + 2, `${big} FUSE reads with 1 MiB readahead`);
		assert.ok(small >= Math.floor(size / (256 << 10)), `${small} FUSE reads with 128 KiB readahead`);
		const m0 = await mount(['no_disk_cache', 'read_ahead_kb=0'], 'mnt-ra-0');
		try {
			assert.notEqual(readAheadKb(m0.mnt), 1024, 'read_ahead_kb=0 leaves the kernel default');
			assert.equal(await sha256File(path.join(m0.mnt, blob.rel)), want);
		} finally {
			await m0.unmount();
		}
	});
});
