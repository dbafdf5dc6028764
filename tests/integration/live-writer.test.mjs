// live-writer.test.mjs — consistency under a live writer: a writer commits a table one
// version at a time (data files first, then the commit file, each written atomically as
// Delta writers do), with a checkpoint (Parquet, and _last_checkpoint) every 4 versions,
// while 4 readers list and read @latest and old versions through the mount. Every listing
// a reader sees must equal exactly one version's file set, old versions never change,
// @latest never goes backwards; after a remount (same metadata cache) everything is still
// right, including the file lists cached during the race.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, generateLake } from './lib/env.mjs';
import { startMount, unmountAndRemove } from './lib/mount.mjs';
import { publish, BACKEND, s3Upload } from './lib/backend.mjs';
import { walk, sha256, sha256File } from './lib/fsx.mjs';
import { writeCheckpoint } from './lib/checkpoint.mjs';

const skip = fuseSkipReason() ? loudSkip('live-writer tests', fuseSkipReason()) : false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe(`consistency under a live writer (${BACKEND})`, { skip, timeout: 300_000 }, () => {
	let tmp, gen, live, expected, pub, m, mnt;
	const TABLE = 'events';

	before(async () => {
		tmp = makeTmpdir('live');
		gen = path.join(tmp, 'gen');
		expected = generateLake(gen, { seed: 11 }).tables[TABLE];
		// The live lake starts with version 0 only.
		live = path.join(tmp, 'live');
		fs.mkdirSync(path.join(live, TABLE, '_delta_log'), { recursive: true });
		copyVersion(0);
		pub = await publish(live, 'live');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'latest_ttl=0'], env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	// Data files of version v first, then its commit, written to a temporary name and
	// renamed (a Delta writer's put-if-absent): a reader never sees half a commit.
	function copyVersion(v) {
		for (const f of expected.versions[v].files) {
			const dst = path.join(live, TABLE, f.path);
			if (fs.existsSync(dst)) continue;
			fs.mkdirSync(path.dirname(dst), { recursive: true });
			fs.copyFileSync(path.join(gen, TABLE, f.path), dst);
		}
		const name = `${String(v).padStart(20, '0')}.json`;
		const tmpName = path.join(live, TABLE, '_delta_log', `.${name}.tmp`);
		fs.copyFileSync(path.join(gen, TABLE, '_delta_log', name), tmpName);
		fs.renameSync(tmpName, path.join(live, TABLE, '_delta_log', name));
	}

	// Every CKPT_EVERY versions the writer also checkpoints (after the commit, as Delta
	// writers do): <v>.checkpoint.parquet and _last_checkpoint, each by rename.
	const CKPT_EVERY = 4;
	const checkpoints = [];
	async function publishVersion(v) {
		copyVersion(v);
		const ckpt = v % CKPT_EVERY === 0;
		if (ckpt) checkpoints.push((await writeCheckpoint(path.join(live, TABLE, '_delta_log'), v)).file);
		if (pub.backend === 's3') {
			// Upload the new data files, then the commit last.
			const stage = path.join(tmp, `stage-${v}`);
			for (const f of expected.versions[v].files) {
				const dst = path.join(stage, TABLE, f.path);
				fs.mkdirSync(path.dirname(dst), { recursive: true });
				fs.copyFileSync(path.join(live, TABLE, f.path), dst);
			}
			s3Upload(stage, pub.source);
			const c = path.join(tmp, `commit-${v}`, TABLE, '_delta_log');
			fs.mkdirSync(c, { recursive: true });
			const name = `${String(v).padStart(20, '0')}.json`;
			fs.copyFileSync(path.join(live, TABLE, '_delta_log', name), path.join(c, name));
			s3Upload(path.join(tmp, `commit-${v}`), pub.source);
			if (ckpt) {
				const k = path.join(tmp, `ckpt-${v}`, TABLE, '_delta_log');
				fs.mkdirSync(k, { recursive: true });
				for (const f of [checkpoints.at(-1), '_last_checkpoint'])
					fs.copyFileSync(path.join(live, TABLE, '_delta_log', f), path.join(k, f));
				s3Upload(path.join(tmp, `ckpt-${v}`), pub.source);
			}
		}
	}

	const setKey = (files) => files.map((f) => f.path).sort().join('\n');

	it('readers see whole versions only, old versions never change, @latest never goes back', async () => {
		const versionOfSet = new Map(expected.versions.map((v) => [setKey(v.files), v.version]));
		const v0 = setKey(expected.versions[0].files);
		const problems = [];
		let done = false, listings = 0;
		const dir = path.join(mnt, TABLE);

		const reader = async (id) => {
			let lastLatest = -1;
			while (!done) {
				let target;
				try {
					target = await fsp.readlink(path.join(dir, '@latest'));
				} catch (e) {
					problems.push(`reader ${id}: readlink @latest: ${e.code}`);
					break;
				}
				const n = Number(target.slice(2));
				if (n < lastLatest) problems.push(`reader ${id}: @latest went back from @v${lastLatest} to ${target}`);
				lastLatest = n;
				const files = (await walk(path.join(dir, target), { stat: false })).filter((e) => e.type === 'file');
				const key = files.map((f) => f.rel).sort().join('\n');
				if (versionOfSet.get(key) !== n && setKey(expected.versions[n].files) !== key)
					problems.push(`reader ${id}: ${target} listed ${files.length} files, not version ${n}'s set`);
				listings++;
				const old = (await walk(path.join(dir, '@v0'), { stat: false })).filter((e) => e.type === 'file');
				if (old.map((f) => f.rel).sort().join('\n') !== v0) problems.push(`reader ${id}: @v0 changed`);
				// read one file of the version seen, byte-exact
				const f = expected.versions[n].files[listings % expected.versions[n].files.length];
				const got = await sha256File(path.join(dir, target, f.path));
				if (got !== sha256(fs.readFileSync(path.join(gen, TABLE, f.path)))) problems.push(`reader ${id}: bytes of ${target}/${f.path}`);
				await sleep(5);
			}
		};
		const readers = [0, 1, 2, 3].map((i) => reader(i));
		for (let v = 1; v < expected.versions.length; v++) {
			await publishVersion(v);
			await sleep(120);
		}
		await sleep(300);
		done = true;
		await Promise.all(readers);
		assert.deepEqual(problems, []);
		assert.ok(listings >= 20, `readers listed ${listings} times`);
		assert.equal(await fsp.readlink(path.join(dir, '@latest')), `@v${expected.versions.length - 1}`);
		assert.ok(checkpoints.length >= 2, `the writer checkpointed (${checkpoints.join(', ')})`);
	});

	it('after a remount every version is still exactly right', async () => {
		await m.unmount();
		// Same mountpoint, so the same metadata cache: what was built during the race is
		// served from it now, and must be exactly right.
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'log_level=debug'], env: pub.env });
		for (const v of expected.versions) {
			const files = (await walk(path.join(mnt, TABLE, `@v${v.version}`), { stat: false })).filter((e) => e.type === 'file');
			assert.equal(files.map((f) => f.rel).sort().join('\n'), setKey(v.files), `@v${v.version}`);
		}
		assert.ok(m.grep(/from the metadata cache/).length >= 2, 'versions built during the race came from the cache');
		m.assertNoUnexpectedLogs();
	});
});
