// metacache.test.mjs — the persistent metadata cache (LMDB) through real mounts: a
// remount serves every version's file list from the cache and lists exactly what a
// fresh build lists; with no_disk_cache nothing comes from it; a damaged cache file is
// set aside with a warning and never trusted; (local) a cached version is served
// without reading its log, and a table made again at the same path is never served
// from the old entries.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { walk, sortPaths, errnoOf } from './lib/fsx.mjs';

const skip = fuseSkipReason() ? loudSkip('metadata cache tests', fuseSkipReason()) : false;
const FROM_CACHE = /from the metadata cache/;

describe(`persistent metadata cache (${BACKEND})`, { skip, timeout: 300_000 }, () => {
	let tmp, gen, expected, pub, cache;

	before(async () => {
		tmp = makeTmpdir('mcache');
		gen = path.join(tmp, 'gen');
		expected = generateLake(gen, { seed: 5 });
		pub = await publish(gen, 'mcache');
		cache = path.join(tmp, 'cache');
	});

	after(() => removeTmpdir(tmp));

	async function mount(extra, label) {
		return startMount({ source: pub.source, mnt: path.join(tmp, label), env: pub.env,
			options: [...pub.options, 'log_level=debug', ...extra] });
	}

	// Every version of every table: the files listed through the mount, by version.
	async function listAll(mnt) {
		const got = {};
		for (const [t, tab] of Object.entries(expected.tables))
			for (const v of tab.versions) {
				const entries = await walk(path.join(mnt, t, `@v${v.version}`));
				got[`${t}@v${v.version}`] = sortPaths(entries.filter((e) => e.type === 'file').map((e) => `${e.rel}:${e.size}`));
			}
		return got;
	}

	function expectedAll() {
		const want = {};
		for (const [t, tab] of Object.entries(expected.tables))
			for (const v of tab.versions)
				want[`${t}@v${v.version}`] = sortPaths(v.files.map((f) => `${f.path}:${f.size}`));
		return want;
	}

	const nversions = () => Object.values(expected.tables).reduce((n, t) => n + t.versions.length, 0);

	it('a remount serves every version from the cache, the same as a fresh build', async () => {
		const m1 = await mount([`cache_dir=${cache}`], 'mnt1');
		let first;
		try {
			first = await listAll(m1.mnt);
			assert.equal(m1.lines().filter((l) => FROM_CACHE.test(l)).length, 0, 'an empty cache serves nothing');
			m1.assertNoUnexpectedLogs();
		} finally {
			await m1.unmount();
		}
		assert.deepEqual(first, expectedAll(), 'the first mount lists what the generator wrote');
		assert.ok(fs.existsSync(path.join(cache, 'data.mdb')), 'the cache file exists');

		const m2 = await mount([`cache_dir=${cache}`], 'mnt2');
		try {
			const second = await listAll(m2.mnt);
			assert.deepEqual(second, first, 'the remount lists exactly the same files');
			const hits = m2.lines().filter((l) => FROM_CACHE.test(l)).length;
			assert.equal(hits, nversions(), `every version came from the cache (${hits} of ${nversions()})`);
			m2.assertNoUnexpectedLogs();
		} finally {
			await m2.unmount();
		}
	});

	it('two mounts share one cache folder at once and both list exactly right', async () => {
		const shared = path.join(tmp, 'cache-shared');
		const a = await mount([`cache_dir=${shared}`], 'mnt-a');
		let b;
		try {
			b = await mount([`cache_dir=${shared}`], 'mnt-b');
			// Both build and store concurrently, then each lists again (now from memory or
			// from the entries the other one stored).
			const [ga, gb] = await Promise.all([listAll(a.mnt), listAll(b.mnt)]);
			assert.deepEqual(ga, expectedAll());
			assert.deepEqual(gb, expectedAll());
			a.assertNoUnexpectedLogs();
			b.assertNoUnexpectedLogs();
		} finally {
			await b?.unmount();
			await a.unmount();
		}
		const c = await mount([`cache_dir=${shared}`], 'mnt-c');
		try {
			assert.deepEqual(await listAll(c.mnt), expectedAll());
			assert.equal(c.lines().filter((l) => FROM_CACHE.test(l)).length, nversions(), 'a third mount finds every list');
			c.assertNoUnexpectedLogs();
		} finally {
			await c.unmount();
		}
	});

	it('no_disk_cache: every list is built from the logs', async () => {
		const m = await mount(['no_disk_cache', `cache_dir=${cache}`], 'mnt3');
		try {
			assert.deepEqual(await listAll(m.mnt), expectedAll());
			assert.equal(m.lines().filter((l) => FROM_CACHE.test(l)).length, 0);
			m.assertNoUnexpectedLogs();
		} finally {
			await m.unmount();
		}
	});

	it('a damaged cache file is set aside with a warning, never trusted', async () => {
		const dir = path.join(tmp, 'cache-damaged');
		fs.mkdirSync(dir);
		const junk = Buffer.alloc(1 << 16);
		for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
		fs.writeFileSync(path.join(dir, 'data.mdb'), junk);
		const m = await mount([`cache_dir=${dir}`], 'mnt4');
		try {
			assert.deepEqual(await listAll(m.mnt), expectedAll());
			assert.equal(m.lines().filter((l) => FROM_CACHE.test(l)).length, 0);
			m.assertNoUnexpectedLogs([/metadata cache .*moved it aside/]);
		} finally {
			await m.unmount();
		}
		assert.ok(fs.readdirSync(dir).some((n) => n.startsWith('data.mdb.bad-')), 'the damaged file was kept aside');
		assert.ok(/moved it aside/.test(m.text()), 'the daemon said so');
	});

	if (BACKEND === 'local') {
		it('a cached version is served without reading its log (same size and time)', async () => {
			const t = 'events';
			const v = expected.tables[t].versions.at(-1).version;
			const commit = path.join(gen, t, '_delta_log', `${String(v).padStart(20, '0')}.json`);
			const orig = fs.readFileSync(commit);
			const st = fs.statSync(commit);
			try {
				// Same size, same modification time, not JSON: only the cache can list it.
				fs.writeFileSync(commit, Buffer.alloc(orig.length, 0x78));
				fs.utimesSync(commit, st.atime, st.mtime);
				const m = await mount([`cache_dir=${cache}`], 'mnt5');
				try {
					const files = (await walk(path.join(m.mnt, t, `@v${v}`))).filter((e) => e.type === 'file');
					assert.deepEqual(sortPaths(files.map((e) => e.rel)),
						sortPaths(expected.tables[t].versions.at(-1).files.map((f) => f.path)));
				} finally {
					await m.unmount();
				}
				// The same log without the cache: the version is refused (so the listing above
				// really came from the cache).
				const m2 = await mount(['no_disk_cache'], 'mnt6');
				try {
					assert.equal(await errnoOf(() => fs.promises.readdir(path.join(m2.mnt, t, `@v${v}`))), 'EIO');
				} finally {
					await m2.unmount();
				}
			} finally {
				fs.writeFileSync(commit, orig);
				fs.utimesSync(commit, st.atime, st.mtime);
			}
		});

		it('a table made again at the same path is never served from the old entries', async () => {
			const other = path.join(tmp, 'gen2');
			const exp2 = generateLake(other, { seed: 6 });
			const t = 'sales';
			fs.rmSync(path.join(gen, t), { recursive: true });
			fs.cpSync(path.join(other, t), path.join(gen, t), { recursive: true });
			const m = await mount([`cache_dir=${cache}`], 'mnt7');
			try {
				for (const v of exp2.tables[t].versions) {
					const files = (await walk(path.join(m.mnt, t, `@v${v.version}`))).filter((e) => e.type === 'file');
					assert.deepEqual(sortPaths(files.map((e) => `${e.rel}:${e.size}`)),
						sortPaths(v.files.map((f) => `${f.path}:${f.size}`)), `${t}@v${v.version} of the new table`);
				}
				const hits = m.lines().filter((l) => FROM_CACHE.test(l) && l.includes(`table ${t}:`)).length;
				assert.equal(hits, 0, 'nothing of the old table came from the cache');
			} finally {
				await m.unmount();
			}
		});
	}
});
