// generated.test.mjs — mount a lake written by tools/js/gen-lake.mjs and check everything
// a user can see against the generator's ground truth (.expected.json) and the source
// bytes: version directories, @latest, sizes, mtimes, bytes, random reads, EROFS for every
// mutation, DuckDB queries through @vN and @latest, and lmctl.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, tableSource, BACKEND } from './lib/backend.mjs';
import { walk, errnoOf, sha256File, lmctlVersions, lmctlFiles, mulberry } from './lib/fsx.mjs';
import { assertMirrors, tableEntries } from './lib/lake.mjs';
import { openDuck, sqlString, sqlPathList } from '../../tools/js/duck.mjs';

const SEED = 7;
const skipReason = fuseSkipReason();
const skip = skipReason ? loudSkip('generated-lake mount tests', skipReason) : false;

describe(`generated lake through the mount (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, lake, expected, pub, m, mnt, duck;
	const tables = () => Object.values(expected.tables);

	before(async () => {
		tmp = makeTmpdir('gen-mount');
		lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: SEED });
		pub = await publish(lake, 'generated');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
		duck = await openDuck();
	});

	after(async () => {
		duck?.close();
		try {
			await m?.unmount();
		} finally {
			removeTmpdir(tmp);
		}
	});

	it('mirrors folders and plain files of the source', async () => {
		const tree = await assertMirrors(mnt, lake);
		assert.deepEqual(tree.tables.sort(), tables().map((t) => t.path).sort(), 'tables found where the generator put them');
		for (const f of expected.plainFiles) assert.ok(tree.plainFiles.some((p) => p.rel === f.path), f.path);
	});

	it('each table lists @v0..@vN and @latest, and nothing from storage', async () => {
		for (const t of tables()) {
			const dir = path.join(mnt, t.path);
			const { versions, others } = await tableEntries(dir);
			assert.deepEqual(versions, t.versions.map((v) => v.version), `${t.path}: version directories`);
			assert.ok(others.includes('@latest'), `${t.path}: @latest listed`);
			for (const o of others) assert.ok(o.startsWith('@'), `${t.path}: only @ entries, not ${o}`);
			for (const v of t.versions) {
				const st = await fsp.lstat(path.join(dir, `@v${v.version}`));
				assert.ok(st.isDirectory(), `${t.path}/@v${v.version} is a directory`);
			}
		}
	});

	it('@latest is a symlink to the newest version', async () => {
		for (const t of tables()) {
			const l = path.join(mnt, t.path, '@latest');
			assert.ok((await fsp.lstat(l)).isSymbolicLink(), `${t.path}/@latest is a symlink`);
			assert.equal(await fsp.readlink(l), `@v${t.latest}`);
			const viaLink = (await walk(l)).map((e) => [e.rel, e.size]);
			const direct = (await walk(path.join(mnt, t.path, `@v${t.latest}`))).map((e) => [e.rel, e.size]);
			assert.deepEqual(viaLink, direct, `${t.path}: @latest/ shows @v${t.latest}/`);
		}
	});

	it('a version that does not exist is ENOENT', async () => {
		for (const t of tables()) {
			for (const name of ['@v999', `@v${t.latest + 1}`, '@vx', 'part-00000.parquet', '_delta_log'])
				assert.equal(await errnoOf(() => fsp.lstat(path.join(mnt, t.path, name))), 'ENOENT', `${t.path}/${name}`);
		}
		assert.equal(await errnoOf(() => fsp.lstat(path.join(mnt, 'no-such-folder'))), 'ENOENT');
	});

	it('@vN holds exactly the live files at their decoded paths, with sizes and mtimes from the log', async () => {
		for (const t of tables()) {
			for (const v of t.versions) {
				const at = `${t.path}/@v${v.version}`;
				const got = await walk(path.join(mnt, at));
				const files = got.filter((e) => e.type !== 'dir');
				assert.deepEqual(files.map((e) => e.rel), v.files.map((f) => f.path), `${at}: file list`);
				for (const e of files) assert.equal(e.type, 'file', `${at}/${e.rel} is a regular file`);
				const byPath = new Map(v.files.map((f) => [f.path, f]));
				for (const e of files) {
					const f = byPath.get(e.rel);
					assert.equal(e.size, f.size, `${at}/${e.rel}: st_size`);
					assert.equal(e.mtimeMs, BigInt(f.mtime), `${at}/${e.rel}: st_mtime = add.modificationTime`);
				}
				// Directories are exactly the partition folders of the listed files.
				const dirs = new Set();
				for (const f of v.files) {
					const parts = f.path.split('/');
					for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
				}
				assert.deepEqual(got.filter((e) => e.type === 'dir').map((e) => e.rel).sort(), [...dirs].sort(), `${at}: partition folders`);
			}
		}
	});

	it('every file of every version has the source bytes', async () => {
		const hashes = new Map();
		for (const t of tables()) {
			for (const v of t.versions) {
				for (const f of v.files) {
					const src = path.join(lake, t.path, f.path);
					if (!hashes.has(src)) hashes.set(src, await sha256File(src));
					assert.equal(await sha256File(path.join(mnt, t.path, `@v${v.version}`, f.path)), hashes.get(src),
						`${t.path}/@v${v.version}/${f.path}`);
				}
			}
		}
	});

	it('random-offset reads equal the source', async () => {
		const rnd = mulberry(SEED);
		const all = [];
		for (const t of tables()) {
			const v = t.versions[t.latest];
			for (const f of v.files) all.push({ mp: path.join(mnt, t.path, `@v${v.version}`, f.path), src: path.join(lake, t.path, f.path), size: f.size });
		}
		all.sort((a, b) => b.size - a.size);
		const sample = [...all.slice(0, 4), ...all.filter((_, i) => i % 5 === 2).slice(0, 8)];
		for (const f of sample) {
			const want = fs.readFileSync(f.src);
			const fh = await fsp.open(f.mp, 'r');
			try {
				const reads = [[0, f.size], [f.size - 1, 10], [f.size, 10], [f.size + 4096, 1], [Math.max(0, f.size - 8), 8]];
				for (let i = 0; i < 40; i++) reads.push([Math.floor(rnd() * (f.size + 64)), 1 + Math.floor(rnd() * 3000)]);
				// Concurrently, on one open file: the daemon is multithreaded.
				const got = await Promise.all(reads.map(async ([off, len]) => {
					const buf = Buffer.alloc(len);
					const { bytesRead } = await fh.read(buf, 0, len, off);
					return buf.subarray(0, bytesRead);
				}));
				reads.forEach(([off, len], i) => {
					assert.ok(got[i].equals(want.subarray(off, off + len)), `${f.mp}: pread(${off}, ${len})`);
				});
			} finally {
				await fh.close();
			}
		}
	});

	it('every mutation fails with EROFS', async () => {
		const t = expected.tables.sales;
		const v = t.versions[t.latest];
		const vdir = path.join(mnt, t.path, `@v${v.version}`);
		const file = path.join(vdir, v.files[0].path);
		const partDir = path.dirname(file);
		const readme = path.join(mnt, 'README.txt');
		const before = await sha256File(file);
		const cases = [
			['open r+ (data file)', () => fsp.open(file, 'r+').then((h) => h.close())],
			['open w (data file)', () => fsp.open(file, 'w').then((h) => h.close())],
			['open a (data file)', () => fsp.open(file, 'a').then((h) => h.close())],
			['open r+ (plain file)', () => fsp.open(readme, 'r+').then((h) => h.close())],
			['create in @vN', () => fsp.writeFile(path.join(vdir, 'new.parquet'), 'x')],
			['create in a partition folder', () => fsp.writeFile(path.join(partDir, 'new.parquet'), 'x')],
			['create at the root', () => fsp.writeFile(path.join(mnt, 'new.txt'), 'x')],
			['create in a table', () => fsp.writeFile(path.join(mnt, t.path, 'new.txt'), 'x')],
			['mkdir in @vN', () => fsp.mkdir(path.join(vdir, 'newdir'))],
			['mkdir at the root', () => fsp.mkdir(path.join(mnt, 'newdir'))],
			['mkdir @v999', () => fsp.mkdir(path.join(mnt, t.path, '@v999'))],
			['unlink a data file', () => fsp.unlink(file)],
			['unlink a plain file', () => fsp.unlink(readme)],
			['unlink @latest', () => fsp.unlink(path.join(mnt, t.path, '@latest'))],
			['rmdir a partition folder', () => fsp.rmdir(partDir)],
			['rmdir @vN', () => fsp.rmdir(vdir)],
			['rename a data file', () => fsp.rename(file, `${file}.x`)],
			['rename a folder', () => fsp.rename(path.join(mnt, 'warehouse'), path.join(mnt, 'warehouse2'))],
			['chmod', () => fsp.chmod(file, 0o600)],
			['chown', () => fsp.chown(file, 0, 0)],
			['truncate', () => fsp.truncate(file, 0)],
			['utimes', () => fsp.utimes(file, new Date(0), new Date(0))],
			['symlink', () => fsp.symlink('README.txt', path.join(mnt, 'link'))],
			['symlink in a table', () => fsp.symlink('@v0', path.join(mnt, t.path, '@mine'))],
			['hard link', () => fsp.link(file, path.join(vdir, 'hard.parquet'))],
		];
		const wrong = [];
		for (const [what, fn] of cases) {
			const code = await errnoOf(fn);
			if (code !== 'EROFS') wrong.push(`${what}: ${code ?? 'succeeded'}`);
		}
		assert.deepEqual(wrong, [], 'mutations that did not fail with EROFS');
		assert.equal(await sha256File(file), before, 'the file is unchanged');
		assert.equal(await errnoOf(() => fsp.lstat(path.join(mnt, 'new.txt'))), 'ENOENT');
	});

	it('DuckDB counts through @vN equal the ground truth and the same query on the source files', async () => {
		for (const t of tables()) {
			const counts = [];
			for (const v of t.versions) {
				const glob = path.join(mnt, t.path, `@v${v.version}`, '**', '*.parquet');
				const [viaMount] = await duck.rows(`SELECT count(*) AS n, sum(${t.sumColumn}) AS s FROM read_parquet(${sqlString(glob)})`);
				const srcFiles = v.files.map((f) => path.join(lake, t.path, f.path));
				const [viaSource] = await duck.rows(`SELECT count(*) AS n, sum(${t.sumColumn}) AS s FROM read_parquet(${sqlPathList(srcFiles)})`);
				assert.equal(Number(viaMount.n), v.rows, `${t.path}@v${v.version}: count(*) = ground truth`);
				assert.deepEqual(viaMount, viaSource, `${t.path}@v${v.version}: same answer as on the source`);
				assert.equal(Number(viaMount.s), v.sum, `${t.path}@v${v.version}: sum(${t.sumColumn})`);
				counts.push(Number(viaMount.n));
			}
			const latestGlob = path.join(mnt, t.path, '@latest', '**', '*.parquet');
			const [viaLatest] = await duck.rows(`SELECT count(*) AS n FROM read_parquet(${sqlString(latestGlob)})`);
			assert.equal(Number(viaLatest.n), t.versions[t.latest].rows, `${t.path}@latest count`);
			assert.notEqual(counts[0], counts[t.latest], `${t.path}: v0 and latest differ`);
		}
	});

	it('DuckDB hive-partitioned GROUP BY region through the mount equals the source', async () => {
		const t = expected.tables.sales;
		const q = (from) => `SELECT region, count(*) AS n, sum(quantity) AS q FROM read_parquet(${from}, hive_partitioning = true) ` +
			'GROUP BY region ORDER BY region NULLS FIRST';
		for (const v of [...t.versions.map((x) => `@v${x.version}`), '@latest']) {
			const ver = v === '@latest' ? t.versions[t.latest] : t.versions[Number(v.slice(2))];
			const viaMount = await duck.rows(q(sqlString(path.join(mnt, t.path, v, '**', '*.parquet'))));
			const viaSource = await duck.rows(q(sqlPathList(ver.files.map((f) => path.join(lake, t.path, f.path)))));
			assert.deepEqual(viaMount, viaSource, `sales/${v}`);
			const dirs = new Set(ver.files.map((f) => f.path.split('/')[0]));
			assert.equal(viaMount.length, dirs.size, `sales/${v}: one group per partition folder`);
			assert.equal(viaMount.reduce((s, r) => s + Number(r.n), 0), ver.rows);
		}
	});

	it('lmctl agrees with the ground truth', { skip: BACKEND !== 'local' && 'lmctl is checked on the local backend' }, () => {
		for (const t of tables()) {
			const src = tableSource(pub, t.path);
			const vs = lmctlVersions(src);
			assert.deepEqual(vs.map((v) => [v.version, v.status, v.commitMs, v.nfiles]),
				t.versions.map((v) => [v.version, 'ok', v.timestamp, v.nfiles]), `lmctl versions ${t.path}`);
			for (const v of t.versions) {
				const r = lmctlFiles(src, v.version);
				assert.equal(r.status, 0, `lmctl files ${t.path} ${v.version}: ${r.stderr}`);
				assert.deepEqual(r.files.map((f) => [f.path, f.size, f.mtimeMs]), v.files.map((f) => [f.path, f.size, f.mtime]),
					`lmctl files ${t.path} ${v.version}`);
			}
		}
	});

	it('the daemon is alive and logged no error or warning', () => {
		m.assertAlive();
		m.assertNoUnexpectedLogs([]);
	});
});
