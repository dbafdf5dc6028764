// forensics.test.mjs — a damaged copy of a generated table beside a healthy one: an
// uncommitted Parquet file (orphan), a deleted file of the newest version (missing).
// Through the mount, @info/orphans.json, removed.json and missing.json name exactly
// those (and the files earlier versions removed that are still present); lmctl check
// exits 0 on the healthy copy, 1 on the damaged one, 2 when it cannot run; lmctl
// history prints what @info/history.json holds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORPUS, LMCTL, fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount, unmountAndRemove } from './lib/mount.mjs';
import { publish, tableSource, s3Upload, BACKEND } from './lib/backend.mjs';
import { copyTree, errnoOf, exists, lmctl, lmctlFiles, lmctlVersions, pctDecode, sha256File, sortPaths, walk } from './lib/fsx.mjs';

const SEED = 5;
const skipReason = fuseSkipReason();
const skip = skipReason ? loudSkip('forensics mount tests', skipReason) : false;
const ORPHAN = 'part-99999-00000000-0000-4000-8000-000000000099-c000.snappy.parquet';

describe(`forensics through the mount and lmctl check (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, gen, lake, pub, m, mnt, missing, latest;

	before(async () => {
		tmp = makeTmpdir('forensics');
		gen = path.join(tmp, 'gen');
		lake = path.join(tmp, 'lake');
		generateLake(gen, { seed: SEED });
		fs.mkdirSync(lake);
		copyTree(path.join(gen, 'sales'), path.join(lake, 'healthy'));
		const dmg = path.join(lake, 'damaged');
		copyTree(path.join(gen, 'sales'), dmg);
		const vs = lmctlVersions(dmg);
		latest = vs[vs.length - 1].version;
		const files = lmctlFiles(dmg, latest).files;
		missing = files[0].path;
		fs.rmSync(path.join(dmg, missing));
		fs.writeFileSync(path.join(dmg, ORPHAN), 'PAR1 not committed PAR1');
		const old = (Date.now() - 3 * 3600 * 1000) / 1000;
		fs.utimesSync(path.join(dmg, ORPHAN), old, old);
		pub = await publish(lake, 'forensics');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	const report = async (table, which) =>
		JSON.parse(await fsp.readFile(path.join(mnt, table, '@info', `${which}.json`), 'utf8'));

	it('@info lists the reports; the healthy copy has no orphans and nothing missing', async () => {
		const names = await fsp.readdir(path.join(mnt, 'healthy', '@info'));
		for (const n of ['orphans.json', 'removed.json', 'missing.json']) assert.ok(names.includes(n), n);
		assert.deepEqual((await report('healthy', 'orphans')).orphans, []);
		assert.deepEqual((await report('healthy', 'missing')).missing, []);
	});

	it('the damaged copy: the uncommitted file is never referenced, the deleted one is missing', async () => {
		const o = (await report('damaged', 'orphans')).orphans;
		assert.deepEqual(o.map((f) => f.path), [ORPHAN]);
		assert.equal(o[0].reason, 'never referenced');
		// S3 LastModified is the upload time: younger than an hour there
		assert.equal(o[0].status, BACKEND === 'local' ? 'orphan' : 'recent');
		const mi = (await report('damaged', 'missing')).missing;
		assert.deepEqual(mi.map((f) => f.path), [missing]);
		assert.equal(mi[0].last_version, latest);
		// removed-but-present files are the same in both copies
		assert.deepEqual((await report('damaged', 'removed')).removed.map((f) => f.path),
			(await report('healthy', 'removed')).removed.map((f) => f.path));
		for (const f of (await report('healthy', 'removed')).removed) assert.ok(f.removed_version > f.last_version);
	});

	it('lmctl check: 0 healthy, 1 damaged (with the restore target), 2 cannot run', () => {
		const h = lmctl(['check', tableSource(pub, 'healthy')], { env: pub.env });
		assert.equal(h.status, 0, h.stdout + h.stderr);
		const d = lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'damaged')], { env: pub.env });
		assert.equal(d.status, 1, d.stderr);
		const j = JSON.parse(d.stdout);
		assert.deepEqual(j.orphans.map((f) => f.path), [ORPHAN]);
		assert.deepEqual(j.missing.map((f) => f.path), [missing]);
		assert.deepEqual(j.refused, []);
		assert.ok(j.restore_target < latest, `restore target ${j.restore_target} before ${latest}`);
		const human = lmctl(['check', '--min-age=0', tableSource(pub, 'damaged')], { env: pub.env });
		assert.match(human.stdout, new RegExp(`cp -r MOUNT/.*/@v${j.restore_target} `));
		const bad = lmctl(['check', path.join(tmp, 'no-such-table')]);
		assert.equal(bad.status, 2);
	});

	it('lmctl history: one line per version, newest first, as @info/history.json', async () => {
		const r = lmctl(['history', tableSource(pub, 'healthy')], { env: pub.env });
		assert.equal(r.status, 0, r.stderr);
		const lines = r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
		const hist = JSON.parse(await fsp.readFile(path.join(mnt, 'healthy', '@info', 'history.json'), 'utf8')).history;
		assert.deepEqual(lines.map((l) => Number(l[0])), hist.map((h) => h.version));
		assert.deepEqual(lines.map((l) => l[2]), hist.map((h) => h.operation ?? '-'));
		assert.equal(Number(lines[0][0]), latest);
	});
});

// ---- the forensics views in the mount (@storage, @orphans, @recent, @removed, @missing) ----
// A damaged copy (an old uncommitted file, a fresh uncommitted file, a deleted file of the
// newest version) beside an untouched one, mounted with latest_ttl=1: the views list
// exactly the damage, bytes equal the source, xattrs say why, everything is EROFS, a view
// is rebuilt after the TTL while an inode of the old generation still reads its own file;
// the version directories are unchanged. Then the corpus tables whose files are all
// referenced show empty @orphans/ and @recent/.

function xattrsOf(file) {
	const r = spawnSync('python3', ['-c',
		'import os,sys,json; f=sys.argv[1]; print(json.dumps({n: os.getxattr(f,n).decode() for n in os.listxattr(f)}))', file],
		{ encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`xattr read of ${file} failed: ${r.stderr}`);
	return JSON.parse(r.stdout);
}

function setxattrErrno(file) {
	const r = spawnSync('python3', ['-c',
		'import os,sys,errno\ntry:\n os.setxattr(sys.argv[1], "user.x", b"1"); print("OK")\nexcept OSError as e: print(errno.errorcode[e.errno])', file],
		{ encoding: 'utf8' });
	return r.stdout.trim();
}

// Every regular file below dir (relative path → size), following no symlinks.
function sourceFiles(dir) {
	const out = new Map();
	const rec = (d, prefix) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const rel = prefix ? `${prefix}/${e.name}` : e.name;
			if (e.isDirectory()) rec(path.join(d, e.name), rel);
			else if (e.isFile()) out.set(rel, fs.statSync(path.join(d, e.name)).size);
		}
	};
	rec(dir, '');
	return out;
}

async function viewFiles(dir) {
	return (await walk(dir)).filter((e) => e.type === 'file');
}

async function waitFor(pred, ms) {
	const end = Date.now() + ms;
	for (;;) {
		if (await pred()) return true;
		if (Date.now() > end) return false;
		await sleep(200);
	}
}

const VIEWS = ['@storage', '@orphans', '@recent', '@removed', '@missing'];
const RECENT = 'part-88888-00000000-0000-4000-8000-000000000088-c000.snappy.parquet';
const NEWER = 'part-00000-00000000-0000-4000-8000-000000000001-c000.snappy.parquet';

describe(`forensics views in the mount (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, lake, dmg, pub, m, mnt, missing, latest, removedExpected, publishedAt;
	const oldView = BACKEND === 'local' ? '@orphans' : '@recent';   // S3: LastModified = upload

	before(async () => {
		tmp = makeTmpdir('forensics-views');
		const gen = path.join(tmp, 'gen');
		lake = path.join(tmp, 'lake');
		generateLake(gen, { seed: SEED });
		fs.mkdirSync(lake);
		copyTree(path.join(gen, 'sales'), path.join(lake, 'healthy'));
		dmg = path.join(lake, 'damaged');
		copyTree(path.join(gen, 'sales'), dmg);
		const vs = lmctlVersions(dmg);
		latest = vs[vs.length - 1].version;
		const latestFiles = lmctlFiles(dmg, latest).files;
		missing = latestFiles[latestFiles.length - 1].path;
		// removed-but-present, computed from the versions' file lists, not from a scan
		const live = new Set(latestFiles.map((f) => f.path));
		const ever = new Set();
		for (const v of vs) for (const f of lmctlFiles(dmg, v.version).files) ever.add(f.path);
		removedExpected = sortPaths([...ever].filter((p) => !live.has(p)));
		assert.ok(removedExpected.length > 0, 'the generated table removes files in some version');
		fs.rmSync(path.join(dmg, missing));
		fs.writeFileSync(path.join(dmg, ORPHAN), 'PAR1 an old uncommitted file PAR1');
		const old = (Date.now() - 3 * 3600 * 1000) / 1000;
		fs.utimesSync(path.join(dmg, ORPHAN), old, old);
		fs.writeFileSync(path.join(dmg, RECENT), 'PAR1 a commit in flight PAR1');
		publishedAt = Date.now();
		pub = await publish(lake, 'forensics-views');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'latest_ttl=1', 'orphan_min_age=1h', 'log_level=debug'], env: pub.env });
	});

	after(async () => {
		try {
			if (m) m.assertNoUnexpectedLogs();
		} finally {
			try {
				await m?.unmount();
			} finally {
				removeTmpdir(tmp);
			}
		}
	});

	it('the views are table-level siblings; version directories hold only data files', async () => {
		for (const t of ['healthy', 'damaged']) {
			const names = await fsp.readdir(path.join(mnt, t));
			for (const v of VIEWS) assert.ok(names.includes(v), `${t}: ${v} in ${names}`);
			const vdir = path.join(mnt, t, `@v${latest}`);
			const inV = (await viewFiles(vdir)).map((e) => e.rel);
			assert.ok(!inV.some((p) => p.split('/').some((c) => c.startsWith('@'))), `${t}: no @ name in @v${latest}`);
			assert.ok(!inV.includes(ORPHAN) && !inV.includes(RECENT));
			assert.equal(inV.length, lmctlFiles(tableSource(pub, t), latest, { env: pub.env }).files.length);
		}
	});

	it('stat does not generate @missing: size 0 until read, then the true size', async () => {
		const p = path.join(mnt, 'damaged', '@missing');
		assert.equal((await fsp.stat(p)).size, 0, 'not generated by stat');
		const text = await fsp.readFile(p, 'utf8');
		assert.ok(text.length > 0);
		assert.equal((await fsp.stat(p)).size, Buffer.byteLength(text), 'the size once generated');
	});

	it('@orphans, @recent, @removed and @missing name exactly the damage; the healthy copy none of it', async () => {
		const rels = async (t, v) => (await viewFiles(path.join(mnt, t, v))).map((e) => e.rel);
		const expectOld = [ORPHAN];
		const expectRecent = BACKEND === 'local' ? [RECENT] : sortPaths([ORPHAN, RECENT]);
		assert.deepEqual(await rels('damaged', '@orphans'), BACKEND === 'local' ? expectOld : []);
		assert.deepEqual(await rels('damaged', '@recent'), expectRecent);
		assert.deepEqual(await rels('damaged', '@removed'), removedExpected);
		const mi = JSON.parse(await fsp.readFile(path.join(mnt, 'damaged', '@missing'), 'utf8'));
		assert.deepEqual(mi.missing.map((f) => f.path), [missing]);
		assert.equal(mi.missing[0].last_version, latest);
		assert.ok(mi.missing[0].first_version <= latest);
		assert.equal(mi.latest_version, latest);
		assert.ok(mi.restore_target < latest, `restore target ${mi.restore_target}`);
		assert.equal(mi.table, 'damaged');
		// the untouched copy: nothing unreferenced, nothing missing, the same removed files
		assert.deepEqual(await rels('healthy', '@orphans'), []);
		assert.deepEqual(await rels('healthy', '@recent'), []);
		assert.deepEqual(await rels('healthy', '@removed'), removedExpected);
		const hm = JSON.parse(await fsp.readFile(path.join(mnt, 'healthy', '@missing'), 'utf8'));
		assert.deepEqual(hm.missing, []);
		assert.equal(hm.restore_target, latest);
	});

	it('@storage is the table folder exactly as stored; bytes and sizes equal the source', async () => {
		const src = sourceFiles(dmg);
		const got = await viewFiles(path.join(mnt, 'damaged', '@storage'));
		assert.deepEqual(got.map((e) => e.rel), sortPaths([...src.keys()]));
		for (const e of got) assert.equal(e.size, src.get(e.rel), `${e.rel}: size`);
		assert.ok(got.some((e) => e.rel.startsWith('_delta_log/')), 'the log is there too');
		assert.ok(!got.some((e) => e.rel === missing), 'the deleted file is not');
		const someData = got.find((e) => e.rel.endsWith('.parquet') && e.rel.includes('/'));
		for (const rel of [...got.filter((e) => e.rel.startsWith('_delta_log/')).map((e) => e.rel), someData.rel, ORPHAN])
			assert.equal(await sha256File(path.join(mnt, 'damaged', '@storage', rel)), await sha256File(path.join(dmg, rel)), rel);
		assert.equal(await sha256File(path.join(mnt, 'damaged', oldView, ORPHAN)), await sha256File(path.join(dmg, ORPHAN)));
		const rm = removedExpected[0];
		assert.equal(await sha256File(path.join(mnt, 'damaged', '@removed', rm)), await sha256File(path.join(dmg, rm)));
	});

	it('@info/orphans.json follows orphan_min_age as the views do', async () => {
		const read = async (dir) => JSON.parse(await fsp.readFile(path.join(dir, 'damaged', '@info', 'orphans.json'), 'utf8'));
		const here = await read(mnt);
		assert.equal(here.min_age_ms, 3600 * 1000);
		assert.equal(here.orphans.find((o) => o.path === RECENT)?.status, 'recent');
		const m0 = await startMount({ source: pub.source, mnt: path.join(tmp, 'mnt-age0'), env: pub.env,
			options: [...pub.options, 'orphan_min_age=0'] });
		try {
			const zero = await read(m0.mnt);
			assert.equal(zero.min_age_ms, 0);
			assert.equal(zero.orphans.find((o) => o.path === RECENT)?.status, 'orphan');
			assert.ok((await fsp.readdir(path.join(m0.mnt, 'damaged', '@orphans'), { recursive: true })).includes(RECENT));
		} finally {
			await m0.unmount();
		}
	});

	it('xattrs say why each file is there', async () => {
		const o = xattrsOf(path.join(mnt, 'damaged', oldView, ORPHAN));
		assert.equal(o['user.lakemount.table'], 'damaged');
		assert.equal(o['user.lakemount.view'], oldView);
		assert.equal(o['user.lakemount.status'], oldView === '@orphans' ? 'orphan' : 'recent');
		assert.match(o['user.lakemount.reason'], /never referenced/);
		const lm = Date.parse(o['user.lakemount.last_modified']);
		if (BACKEND === 'local') // the file's mtime; on S3 the upload time
			assert.ok(Math.abs(lm - fs.statSync(path.join(dmg, ORPHAN)).mtimeMs) < 1000, o['user.lakemount.last_modified']);
		else
			assert.ok(lm >= publishedAt - 5000 && lm <= Date.now() + 5000, o['user.lakemount.last_modified']);
		const r = xattrsOf(path.join(mnt, 'damaged', '@recent', RECENT));
		assert.equal(r['user.lakemount.status'], 'recent');
		assert.match(r['user.lakemount.reason'], /younger than orphan_min_age \(3600 s\)/);
		const vs = lmctlVersions(tableSource(pub, 'damaged'), { env: pub.env });   // commit times as the mount sees them
		for (const rel of removedExpected) {
			const x = xattrsOf(path.join(mnt, 'damaged', '@removed', rel));
			assert.equal(x['user.lakemount.status'], 'removed');
			const last = Number(x['user.lakemount.last_version']);
			const rv = Number(x['user.lakemount.removed_version']);
			assert.ok(rv > last, `${rel}: removed ${rv} after ${last}`);
			assert.ok(lmctlFiles(dmg, last).files.some((f) => f.path === rel), `${rel} live in v${last}`);
			assert.ok(!lmctlFiles(dmg, rv).files.some((f) => f.path === rel), `${rel} gone in v${rv}`);
			assert.equal(Date.parse(x['user.lakemount.removed_time']), vs.find((v) => v.version === rv).commitMs);
			assert.match(x['user.lakemount.reason'], new RegExp(`removed by version ${rv} at `));
		}
		const s = xattrsOf(path.join(mnt, 'damaged', '@storage', '_delta_log', '00000000000000000000.json'));
		assert.equal(s['user.lakemount.view'], '@storage');
		assert.ok(!('user.lakemount.status' in s));
	});

	it('every mutation in the views is EROFS', async () => {
		const t = path.join(mnt, 'damaged');
		const f = path.join(t, oldView, ORPHAN);
		assert.equal(await errnoOf(() => fsp.writeFile(path.join(t, '@orphans', 'new.parquet'), 'x')), 'EROFS');
		assert.equal(await errnoOf(() => fsp.writeFile(f, 'x')), 'EROFS');
		assert.equal(await errnoOf(() => fsp.appendFile(path.join(t, '@missing'), 'x')), 'EROFS');
		assert.equal(await errnoOf(() => fsp.unlink(f)), 'EROFS');
		assert.equal(await errnoOf(() => fsp.rename(f, path.join(t, oldView, 'x'))), 'EROFS');
		assert.equal(await errnoOf(() => fsp.mkdir(path.join(t, '@storage', 'd'))), 'EROFS');
		assert.equal(await errnoOf(() => fsp.rm(path.join(t, '@removed'), { recursive: true })), 'EROFS');
		assert.equal(await errnoOf(() => fsp.unlink(path.join(t, '@storage', '_delta_log', '00000000000000000000.json'))), 'EROFS');
		assert.equal(await errnoOf(() => fsp.truncate(f, 0)), 'EROFS');
		assert.equal(await errnoOf(() => fsp.chmod(f, 0o644)), 'EROFS');
		assert.equal(setxattrErrno(f), 'EROFS');
		assert.equal(await sha256File(path.join(t, oldView, ORPHAN)), await sha256File(path.join(dmg, ORPHAN)), 'unchanged');
	});

	it('a view is rebuilt after latest_ttl; an inode of the old generation still reads its own file', async () => {
		const view = path.join(mnt, 'damaged', oldView);
		const before = await fsp.readdir(view);
		assert.deepEqual(before.filter((n) => n === NEWER), []);
		const viewIno0 = (await fsp.stat(view)).ino;
		const fh = await fsp.open(path.join(view, ORPHAN), 'r');
		let genIno;
		try {
			const st0 = await fh.stat();
			genIno = Math.floor(st0.ino / 2 ** 32);   // (generation << 32) | index
			assert.ok(genIno > 0, `${st0.ino}: numbered under its generation`);
			const body = 'PAR1 a newer uncommitted file, longer than the first one PAR1';
			const nf = path.join(tmp, 'newer');
			fs.mkdirSync(nf);
			fs.writeFileSync(path.join(nf, NEWER), body);
			if (BACKEND === 'local') {
				fs.copyFileSync(path.join(nf, NEWER), path.join(dmg, NEWER));
				const old = (Date.now() - 2 * 3600 * 1000) / 1000;
				fs.utimesSync(path.join(dmg, NEWER), old, old);
			} else {
				s3Upload(nf, `${pub.source}/damaged`);
			}
			assert.ok(await waitFor(async () => (await fsp.readdir(view)).includes(NEWER), 15_000),
				`${NEWER} appears in ${oldView} after the TTL`);
			const now = await fsp.readdir(view);
			assert.deepEqual(now, sortPaths([...before, NEWER]));
			// NEWER sorts first: a positional numbering would have moved ORPHAN's inode onto it
			assert.notEqual((await fsp.stat(view)).ino, viewIno0, 'a new generation');
			const stNew = await fsp.stat(path.join(view, NEWER));
			assert.notEqual(stNew.ino, st0.ino);
			assert.equal(stNew.size, Buffer.byteLength(body));
			assert.equal(await fsp.readFile(path.join(view, NEWER), 'utf8'), body);
			const st1 = await fh.stat();
			assert.equal(st1.ino, st0.ino, 'the held inode keeps its number');
			assert.equal(st1.size, st0.size, 'and its size');
			const want = fs.readFileSync(path.join(dmg, ORPHAN));
			const { bytesRead, buffer } = await fh.read(Buffer.alloc(4096), 0, 4096, 0);
			assert.deepEqual(buffer.subarray(0, bytesRead), want);
			// a fresh open of the old inode (through the magic link) still finds ORPHAN
			assert.deepEqual(await fsp.readFile(`/proc/self/fd/${fh.fd}`), want);
		} finally {
			await fh.close();
		}
		assert.ok(genIno > 0);
		// a generation nothing uses when it is replaced is forgotten by the kernel at
		// once, and freed (one whose entry was held keeps the kernel's cached entries
		// until the kernel reclaims them: not asserted)
		await fsp.readdir(view);
		const gk = (await fsp.stat(view)).ino;
		await sleep(1300);
		await fsp.readdir(view);
		assert.notEqual((await fsp.stat(view)).ino, gk, 'rebuilt after the TTL');
		const freed = await m.waitForLine((l) => l.includes(`table damaged: ${oldView}: generation `) &&
			l.includes(`(inode ${gk}) forgotten, freed`), { timeoutMs: 10_000 });
		assert.ok(freed, `the replaced generation (inode ${gk}) was freed once forgotten`);
	});
});

const CLEAN_CORPUS = [
	'dat-basic_append', 'dat-basic_partitioned', 'dat-with_checkpoint', 'dat-deletion_vectors', 'dat-cdf',
	'deltars-checkpoints', 'deltars-simple_table_with_cdc', 'deltars-table-with-dv-small',
	'spark-table-with-dv-small', 'kernelrs-cdf-table-simple', 'deltars-simple_table_features',
	'deltars-delta-0.8.0-special-partition',
];
// Iceberg corpus tables whose files are all referenced (as tests/unit/iceberg says)
const CLEAN_ICEBERG = [
	'cxx-bucket_partitioning', 'cxx-dangling_deletes', 'cxx-deletion_vectors', 'cxx-partition_evolution',
	'cxx-wh_gperov_test', 'duckdb-lineitem_iceberg_gz', 'impala-iceberg_v2_delete_both_eq_and_pos',
	'impala-iceberg_with_puffin_stats', 'impala-iceberg_partitioned_orc', 'polars-iceberg-table',
];
const haveCorpus = CLEAN_CORPUS.every((t) => fs.existsSync(path.join(CORPUS, 'delta', t)));
const corpusSkip = skip || (BACKEND !== 'local' ? loudSkip('corpus forensics views', 'the corpus is mounted in place (local backend only)')
	: !haveCorpus ? loudSkip('corpus forensics views', `${CORPUS}/delta lacks the tables`) : false);

describe('forensics views over the corpus, in place (local)', { skip: corpusSkip, timeout: 240_000 }, () => {
	let tmp, m, mnt;

	before(async () => {
		tmp = makeTmpdir('forensics-corpus');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: path.join(CORPUS, 'delta'), mnt, options: ['orphan_min_age=0'] });
	});

	after(() => unmountAndRemove(m, tmp));

	it('tables whose files are all referenced: empty @orphans/ and @recent/, @storage mirrors the folder', async () => {
		for (const t of CLEAN_CORPUS) {
			assert.deepEqual(await fsp.readdir(path.join(mnt, t, '@orphans')), [], `${t}: @orphans`);
			assert.deepEqual(await fsp.readdir(path.join(mnt, t, '@recent')), [], `${t}: @recent`);
			const src = sourceFiles(path.join(CORPUS, 'delta', t));
			const got = await viewFiles(path.join(mnt, t, '@storage'));
			assert.deepEqual(got.map((e) => e.rel), sortPaths([...src.keys()]), `${t}: @storage`);
			for (const e of got) assert.equal(e.size, src.get(e.rel), `${t}/${e.rel}`);
		}
	});

	it('Iceberg tables in place: the views say what lmctl check says (nothing unreferenced, nothing missing)', async (t) => {
		const ice = path.join(CORPUS, 'iceberg');
		if (!CLEAN_ICEBERG.every((n) => fs.existsSync(path.join(ice, n)))) {
			t.skip(`${ice} lacks the tables`);
			return;
		}
		const im = await startMount({ source: ice, mnt: path.join(tmp, 'mnt-ice'), options: ['orphan_min_age=0'] });
		try {
			for (const n of CLEAN_ICEBERG) {
				const dir = path.join(im.mnt, n);
				const r = lmctl(['check', '--json', '--min-age=0', path.join(ice, n)]);
				assert.ok(r.status === 0 || r.status === 1, `${n}: lmctl check ran (${r.status}): ${r.stderr}`);
				const j = JSON.parse(r.stdout);
				const rels = async (v) => (await viewFiles(path.join(dir, v))).map((e) => e.rel);
				assert.deepEqual(await rels('@orphans'), [], `${n}: @orphans`);
				assert.deepEqual(await rels('@recent'), [], `${n}: @recent`);
				assert.deepEqual(await rels('@removed'), sortPaths(j.removed.map((f) => f.path)), `${n}: @removed`);
				const mi = JSON.parse(await fsp.readFile(path.join(dir, '@missing'), 'utf8'));
				assert.deepEqual(mi.missing, [], `${n}: @missing`);
				const src = sourceFiles(path.join(ice, n));
				assert.deepEqual((await viewFiles(path.join(dir, '@storage'))).map((e) => e.rel), sortPaths([...src.keys()]), `${n}: @storage`);
			}
			im.assertNoUnexpectedLogs();
		} finally {
			await im.unmount();
		}
	});

	it('an Iceberg copy with an uncommitted and a deleted live file: the views name exactly those, by snapshot', async (t) => {
		const src = path.join(CORPUS, 'iceberg', 'cxx-dangling_deletes');
		if (!fs.existsSync(src)) {
			t.skip(`${src} missing`);
			return;
		}
		const lake = path.join(tmp, 'ice-lake');
		const dmg = path.join(lake, 'ice');
		copyTree(src, dmg);
		const before = JSON.parse(lmctl(['check', '--json', '--min-age=0', dmg]).stdout);   // only paths used
		const im = await startMount({ source: lake, mnt: path.join(tmp, 'mnt-ice-dmg'), options: ['orphan_min_age=1h'] });
		try {
			const cur = path.join(im.mnt, 'ice', '@latest');
			const live = (await viewFiles(cur)).map((e) => e.rel);
			assert.ok(live.length >= 1, `${live}`);
			const gone = live[0];
			const UNC = 'data/99990101_000000_00000_zzzzz-uncommitted.parquet';
			fs.rmSync(path.join(dmg, gone));
			fs.writeFileSync(path.join(dmg, UNC), 'PAR1 uncommitted PAR1');
			const old = (Date.now() - 3 * 3600 * 1000) / 1000;
			fs.utimesSync(path.join(dmg, UNC), old, old);
			// no view was read before the damage: the first read scans the damaged copy
			const rels = async (v) => (await viewFiles(path.join(im.mnt, 'ice', v))).map((e) => e.rel);
			assert.deepEqual(await rels('@orphans'), [UNC]);
			assert.deepEqual(await rels('@recent'), []);
			assert.deepEqual(await rels('@removed'), sortPaths(before.removed.map((f) => f.path)));
			const text = await fsp.readFile(path.join(im.mnt, 'ice', '@missing'), 'utf8');
			const mi = JSON.parse(text.replace(/("(?:[a-z_]*snapshot|restore_target|latest_version)":\s*)(-?\d+)/g, '$1"$2"')
				.replace(/("snapshots":\s*\[)([-\d,\s]*)\]/g, (_, a, b) => `${a}${b.split(',').map((x) => x.trim()).filter(Boolean).map((x) => `"${x}"`).join(',')}]`));
			assert.equal(mi.format, 'iceberg');
			assert.deepEqual(mi.missing.map((f) => f.path), [gone]);
			assert.equal(mi.missing[0].in_latest, true);
			assert.ok(mi.missing[0].snapshots.includes(mi.latest_snapshot), 'the current snapshot references it');
			for (const id of mi.missing[0].snapshots)
				assert.ok(await exists(path.join(im.mnt, 'ice', `@snap-${id}`)), `@snap-${id} is a directory of the mount`);
			assert.notEqual(mi.restore_snapshot, mi.latest_snapshot);
			assert.equal(mi.restore_dir, `@snap-${mi.restore_snapshot}`);
			assert.ok(!(await viewFiles(path.join(im.mnt, 'ice', mi.restore_dir))).some((e) => e.rel === gone));
			const x = xattrsOf(path.join(im.mnt, 'ice', '@removed', before.removed[0].path));
			for (const k of ['first_snapshot', 'last_snapshot', 'removed_snapshot'])
				assert.ok(await exists(path.join(im.mnt, 'ice', `@snap-${x[`user.lakemount.${k}`]}`)), `${k} names a @snap- directory`);
			assert.ok(!('user.lakemount.first_version' in x), 'no sequence numbers passed off as versions');
			assert.match(x['user.lakemount.reason'], /^referenced by snapshots @snap-\d+ to @snap-\d+; removed by snapshot @snap-\d+ at /);
			assert.match(xattrsOf(path.join(im.mnt, 'ice', '@orphans', UNC))['user.lakemount.reason'], /never referenced by any snapshot/);
			im.assertNoUnexpectedLogs();
		} finally {
			await im.unmount();
		}
	});

	it('a vacuumed table: nothing orphaned, its 12 vacuumed files in @missing', async () => {
		const t = 'deltars-checkpoints_vacuumed';
		assert.deepEqual(await fsp.readdir(path.join(mnt, t, '@orphans')), []);
		const mi = JSON.parse(await fsp.readFile(path.join(mnt, t, '@missing'), 'utf8'));
		assert.equal(mi.missing.length, 12);
		assert.equal(mi.restore_target, -1);
		for (const f of mi.missing) assert.ok(!fs.existsSync(path.join(CORPUS, 'delta', t, f.path)), f.path);
	});
});

// ---- Iceberg: lmctl check / history / diff, and diff on Delta ----
// A copy of a corpus Iceberg table (7 snapshots, 12 metadata files) beside a damaged
// copy: an uncommitted Parquet file (orphan), a second metadata file for an older
// version (a failed concurrent commit: duplicate + orphan), a deleted file of the current
// snapshot (missing, needed by the newest), a deleted file only an old snapshot held
// (vacuumed: missing, not a problem). check names exactly those; the restore target is a
// snapshot none of the missing files belong to and its directory reads through the
// mount; history lists every snapshot with exact ids; diff between a snapshot and its
// parent matches the snapshot summary and the mount's listings. Then diff on the
// generated Delta table against the mount's version directories.

const ICE_TABLE = 'cxx-dangling_deletes';
const iceSkip = skip || (!fs.existsSync(path.join(CORPUS, 'iceberg', ICE_TABLE))
	? loudSkip('Iceberg forensics', `${CORPUS}/iceberg/${ICE_TABLE} is absent`) : false);

// history.json with 64-bit ids kept as strings (JSON numbers lose them in JS)
const mountFiles = async (d) => (await viewFiles(d)).map((f) => ({ path: f.rel, size: f.size }));
const exactIds = (text) => JSON.parse(text.replace(/("(?:snapshot_id|parent_snapshot_id|current_snapshot_id)":\s*)(-?\d+)/g, '$1"$2"'));

describe(`Iceberg forensics and diff through lmctl and the mount (${BACKEND})`, { skip: iceSkip, timeout: 240_000 }, () => {
	let tmp, lake, pub, m, mnt, healthy, live, vacuumed, dup;
	const UNCOMMITTED = 'data/20990101_000000_00000_xxxxx-uncommitted.parquet';

	before(async () => {
		tmp = makeTmpdir('forensics-ice');
		lake = path.join(tmp, 'lake');
		fs.mkdirSync(lake);
		copyTree(path.join(CORPUS, 'iceberg', ICE_TABLE), path.join(lake, 'ice-healthy'));
		const dmg = path.join(lake, 'ice-damaged');
		copyTree(path.join(CORPUS, 'iceberg', ICE_TABLE), dmg);
		healthy = JSON.parse(lmctl(['check', '--json', '--min-age=0', path.join(lake, 'ice-healthy')]).stdout);
		// a file of the current snapshot: what v<current> adds over the empty v0
		const cur = exactIds(lmctl(['history', '--json', dmg]).stdout).current;
		const d = JSON.parse(lmctl(['diff', '--json', dmg, '0', String(cur.version)]).stdout);
		live = d.added[0].path;
		vacuumed = healthy.removed[0].path;
		fs.rmSync(path.join(dmg, live));
		fs.rmSync(path.join(dmg, vacuumed));
		fs.writeFileSync(path.join(dmg, UNCOMMITTED), 'PAR1 not committed PAR1');
		const meta = fs.readdirSync(path.join(dmg, 'metadata')).filter((n) => n.startsWith('00005-'));
		assert.equal(meta.length, 1);
		dup = 'metadata/00005-0badc0de-0000-4000-8000-000000000000.metadata.json';
		fs.copyFileSync(path.join(dmg, 'metadata', meta[0]), path.join(dmg, dup));
		pub = await publish(lake, 'forensics-ice');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	it('check: the untouched copy is clean (exit 0), only removed-but-present files', () => {
		const r = lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'ice-healthy')], { env: pub.env });
		assert.equal(r.status, 0, r.stdout + r.stderr);
		const j = JSON.parse(r.stdout);
		assert.equal(j.format, 'iceberg');
		for (const k of ['orphans', 'recent', 'missing', 'refused', 'duplicate_metadata_versions']) assert.deepEqual(j[k], [], k);
		assert.ok(j.removed.length > 0);
		assert.equal(j.restore_snapshot, j.latest_snapshot);
	});

	it('check: the damaged copy names exactly the damage (exit 1)', () => {
		const r = lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'ice-damaged')], { env: pub.env });
		assert.equal(r.status, 1, r.stderr);
		const j = JSON.parse(r.stdout.replace(/("(?:latest_snapshot|restore_snapshot)":\s*)(\d+)/g, '$1"$2"')
			.replace(/("snapshots":\s*\[)([\d,\s]*)\]/g, (_, a, b) => `${a}${b.split(',').map((x) => x.trim()).filter(Boolean).map((x) => `"${x}"`).join(',')}]`));
		assert.deepEqual(j.orphans.map((f) => f.path).sort(), [dup, UNCOMMITTED].sort());
		assert.match(j.orphans.find((f) => f.path === dup).note, /version 5 written twice/);
		assert.deepEqual(j.recent, []);
		assert.deepEqual(j.refused, []);
		assert.deepEqual(j.duplicate_metadata_versions.map((d) => [d.version, d.file]), [[5, dup]]);
		assert.deepEqual(j.missing.map((f) => f.path).sort(), [live, vacuumed].sort());
		assert.equal(j.missing.find((f) => f.path === live).in_latest, true);
		assert.equal(j.missing.find((f) => f.path === vacuumed).in_latest, false);
		assert.deepEqual(j.removed.map((f) => f.path).sort(), healthy.removed.map((f) => f.path).filter((p) => p !== vacuumed).sort());
		assert.notEqual(j.restore_snapshot, null);
		for (const f of j.missing) assert.ok(!f.snapshots.includes(j.restore_snapshot), `${f.path} belongs to the restore target`);
		assert.ok(j.missing.find((f) => f.path === live).snapshots.includes(j.latest_snapshot));
		const human = lmctl(['check', '--min-age=0', tableSource(pub, 'ice-damaged')], { env: pub.env });
		assert.equal(human.status, 1);
		assert.ok(human.stdout.includes(`cp -r MOUNT/ice-damaged/@snap-${j.restore_snapshot} DESTINATION`), human.stdout);
		assert.match(human.stdout, /^duplicate\tmetadata version 5\t/m);
	});

	it('the restore target reads whole through the mount', async () => {
		const j = JSON.parse(lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'ice-damaged')], { env: pub.env }).stdout
			.replace(/("restore_snapshot":\s*)(\d+)/, '$1"$2"'));
		const dir = path.join(mnt, 'ice-damaged', `@snap-${j.restore_snapshot}`);
		const files = await mountFiles(dir);
		for (const f of files) {
			const src = path.join(lake, 'ice-damaged', f.path);
			assert.equal(await sha256File(path.join(dir, f.path)), await sha256File(src), f.path);
		}
	});

	it('history: every snapshot, newest first, exact ids, as @info/history.json', async () => {
		const r = lmctl(['history', tableSource(pub, 'ice-healthy')], { env: pub.env });
		assert.equal(r.status, 0, r.stderr);
		const lines = r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
		const h = exactIds(await fsp.readFile(path.join(mnt, 'ice-healthy', '@info', 'history.json'), 'utf8'));
		assert.deepEqual(lines.map((l) => l[0]), h.snapshots.map((s) => s.snapshot_id).reverse());
		assert.deepEqual(lines.map((l) => l[2]), h.snapshots.map((s) => s.operation ?? '-').reverse());
		const j = lmctl(['history', '--json', tableSource(pub, 'ice-healthy')], { env: pub.env });
		assert.equal(j.status, 0);
		assert.deepEqual(exactIds(j.stdout).snapshots.map((s) => s.snapshot_id), h.snapshots.map((s) => s.snapshot_id));
	});

	it('diff: a snapshot against its parent is what its summary says and what the mount lists', async () => {
		const h = exactIds(await fsp.readFile(path.join(mnt, 'ice-healthy', '@info', 'history.json'), 'utf8'));
		const s = h.snapshots.filter((x) => x.operation === 'append' && x.parent_snapshot_id &&
			Number(x.summary['added-data-files'] ?? 0) > 0).pop();
		assert.ok(s, 'an append with a parent');
		const r = lmctl(['diff', '--json', tableSource(pub, 'ice-healthy'), `@snap-${s.parent_snapshot_id}`, `@snap-${s.snapshot_id}`], { env: pub.env });
		assert.equal(r.status, 0, r.stderr);
		const d = JSON.parse(r.stdout);
		assert.equal(d.added.length, Number(s.summary['added-data-files']));
		assert.equal(d.added_rows, Number(s.summary['added-records']));
		assert.equal(d.added_bytes, Number(s.summary['added-files-size']));
		const a = new Set((await mountFiles(path.join(mnt, 'ice-healthy', `@snap-${s.parent_snapshot_id}`))).map((f) => f.path));
		const b = await mountFiles(path.join(mnt, 'ice-healthy', `@snap-${s.snapshot_id}`));
		assert.deepEqual(d.added.map((f) => f.path).sort(), b.filter((f) => !a.has(f.path)).map((f) => f.path).sort());
		for (const f of d.added) assert.equal(f.size, b.find((x) => x.path === f.path).size);
		const bad = lmctl(['diff', tableSource(pub, 'ice-healthy'), '@snap-1', `@snap-${s.snapshot_id}`], { env: pub.env });
		assert.equal(bad.status, 1, bad.stderr);
		const human = lmctl(['diff', tableSource(pub, 'ice-healthy'), `@snap-${s.parent_snapshot_id}`, `@snap-${s.snapshot_id}`], { env: pub.env });
		assert.equal(human.stdout.split('\n').filter((l) => l.startsWith('+\t')).length, d.added.length);
	});
});

// ---- lmctl diff sees row-level deletes (corpus tables, read in place) ----
// A DELETE/UPDATE/MERGE may add no data file at all: Iceberg adds delete files (position,
// equality, deletion vectors), Delta rewrites a file's deletion vector. The oracle is
// independent of lakemount: Iceberg snapshot summaries (added/removed-delete-files,
// -position-deletes, -equality-deletes) and, for Delta, the commit JSON's add actions
// that give a still-live file a deletion vector of some cardinality.

const ICE_DELETE_TABLES = ['cxx-dangling_deletes', 'cxx-deletion_vectors', 'duckdb-equality_deletes',
	'impala-iceberg_v2_delete_both_eq_and_pos', 'impala-iceberg_v2_delete_equality',
	'impala-iceberg_v2_delete_positional', 'impala-iceberg_v2_partitioned_position_deletes',
	'impala-iceberg_v2_positional_delete_all_rows', 'impala-iceberg_v2_positional_update_all_rows']
	.filter((t) => fs.existsSync(path.join(CORPUS, 'iceberg', t)));
const DELTA_DV_TABLES = ['dat-deletion_vectors', 'deltars-table-with-dv-small', 'spark-table-with-dv-small',
	'golden-dv-partitioned-with-checkpoint', 'spark-table-with-dv-large', 'kernel-basic-dv-with-checkpoint']
	.filter((t) => fs.existsSync(path.join(CORPUS, 'delta', t)));
const delSkip = ICE_DELETE_TABLES.length + DELTA_DV_TABLES.length === 0
	? loudSkip('diff of row-level deletes', `no corpus tables with deletes under ${CORPUS}`) : false;

describe('lmctl diff shows row-level deletes (corpus tables, read in place)', { skip: delSkip, timeout: 240_000 }, () => {
	it('Iceberg: delete files added and removed by each snapshot are what its summary says', () => {
		let checked = 0, withDeletes = 0;
		for (const name of ICE_DELETE_TABLES) {
			const t = path.join(CORPUS, 'iceberg', name);
			const h = exactIds(lmctl(['history', '--json', t]).stdout);
			for (const s of h.snapshots) {
				if (!s.parent_snapshot_id || !s.summary) continue;
				const r = lmctl(['diff', '--json', t, `@snap-${s.parent_snapshot_id}`, `@snap-${s.snapshot_id}`]);
				if (r.status !== 0) continue;   // a refused side (the corpus has broken snapshots on purpose)
				const d = JSON.parse(r.stdout);
				const num = (k) => Number(s.summary[k] ?? 0);
				const recs = (arr, kinds) => arr.filter((x) => kinds.includes(x.content)).reduce((a, x) => a + x.records, 0);
				const what = `${name} @snap-${s.snapshot_id} (${s.operation})`;
				if ('added-delete-files' in s.summary || 'removed-delete-files' in s.summary) {
					assert.equal(d.deletes_added.length, num('added-delete-files'), `${what}: delete files added`);
					assert.equal(d.deletes_removed.length, num('removed-delete-files'), `${what}: delete files removed`);
				}
				if ('added-position-deletes' in s.summary)
					assert.equal(recs(d.deletes_added, ['position-deletes', 'deletion-vector']), num('added-position-deletes'), `${what}: positions added`);
				if ('removed-position-deletes' in s.summary)
					assert.equal(recs(d.deletes_removed, ['position-deletes', 'deletion-vector']), num('removed-position-deletes'), `${what}: positions removed`);
				if ('added-equality-deletes' in s.summary)
					assert.equal(recs(d.deletes_added, ['equality-deletes']), num('added-equality-deletes'), `${what}: equality keys added`);
				for (const x of [...d.deletes_added, ...d.deletes_removed])
					assert.ok(['position-deletes', 'equality-deletes', 'deletion-vector'].includes(x.content), x.content);
				assert.deepEqual(d.deletion_vectors_changed, []);
				checked++;
				if (d.deletes_added.length + d.deletes_removed.length) {
					withDeletes++;
					// the human form names them too, one +del/-del line each
					const human = lmctl(['diff', t, `@snap-${s.parent_snapshot_id}`, `@snap-${s.snapshot_id}`]).stdout;
					assert.equal(human.split('\n').filter((l) => /^[+-]del\t/.test(l)).length,
						d.deletes_added.length + d.deletes_removed.length, what);
				}
			}
		}
		if (ICE_DELETE_TABLES.length) {
			assert.ok(checked >= 10, `${checked} snapshot pairs checked`);
			assert.ok(withDeletes >= 5, `${withDeletes} of them change delete files`);
		}
	});

	it('Delta: a file that gets a deletion vector is a ~dv line with the rows it removes', () => {
		let seen = 0;
		for (const name of DELTA_DV_TABLES) {
			const t = path.join(CORPUS, 'delta', name);
			const vs = lmctlVersions(t).filter((v) => v.status === 'ok').map((v) => v.version);
			for (const v of vs) {
				if (!vs.includes(v - 1)) continue;
				const commit = path.join(t, '_delta_log', `${String(v).padStart(20, '0')}.json`);
				if (!fs.existsSync(commit)) continue;
				const before = new Map(lmctlFiles(t, v - 1).files.map((f) => [f.path, f]));
				// adds with a deletion vector for a file live before (same path and size)
				const want = new Map();
				for (const line of fs.readFileSync(commit, 'utf8').split('\n')) {
					if (!line.trim()) continue;
					const a = JSON.parse(line).add;
					if (!a?.deletionVector) continue;
					const p = pctDecode(a.path);
					if (before.has(p) && before.get(p).size === a.size) want.set(p, a.deletionVector.cardinality);
				}
				const r = lmctl(['diff', '--json', t, String(v - 1), String(v)]);
				assert.equal(r.status, 0, r.stderr);
				const d = JSON.parse(r.stdout);
				const got = new Map(d.deletion_vectors_changed.map((x) => [x.path, x.deleted_rows_to]));
				// every DV change the commit makes is reported with its cardinality (a DV that
				// grows from n to n keeps its count and may not show: same rows deleted)
				for (const [p, card] of want) {
					if (got.has(p)) assert.equal(got.get(p), card, `${name} v${v} ${p}`);
					else assert.equal(d.deletion_vectors_changed.length, 0, `${name} v${v}: ${p} missing`);
				}
				for (const x of d.deletion_vectors_changed) assert.ok(want.has(x.path), `${name} v${v}: ${x.path} not in the commit`);
				assert.deepEqual([d.deletes_added, d.deletes_removed], [[], []]);
				seen += got.size;
			}
		}
		if (DELTA_DV_TABLES.length) assert.ok(seen >= 5, `${seen} deletion vector changes checked`);
	});
});

describe(`lmctl diff on Delta (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, pub, m, mnt;

	before(async () => {
		tmp = makeTmpdir('forensics-diff');
		const gen = path.join(tmp, 'gen');
		generateLake(gen, { seed: SEED });
		const lake = path.join(tmp, 'lake');
		fs.mkdirSync(lake);
		copyTree(path.join(gen, 'sales'), path.join(lake, 'sales'));
		pub = await publish(lake, 'forensics-diff');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	it('files added and removed between two versions are the mount listings\' difference, with sizes', async () => {
		const vs = lmctlVersions(tableSource(pub, 'sales'), { env: pub.env }).filter((v) => v.status === 'ok');
		const [v1, v2] = [vs[0].version, vs[vs.length - 1].version];
		assert.ok(v2 > v1);
		const r = lmctl(['diff', '--json', tableSource(pub, 'sales'), String(v1), String(v2)], { env: pub.env });
		assert.equal(r.status, 0, r.stderr);
		const d = JSON.parse(r.stdout);
		const a = await mountFiles(path.join(mnt, 'sales', `@v${v1}`));
		const b = await mountFiles(path.join(mnt, 'sales', `@v${v2}`));
		const key = (f) => `${f.path}\t${f.size}`;
		const ka = new Set(a.map(key)), kb = new Set(b.map(key));
		assert.deepEqual(d.added.map(key).sort(), b.map(key).filter((k) => !ka.has(k)).sort());
		assert.deepEqual(d.removed.map(key).sort(), a.map(key).filter((k) => !kb.has(k)).sort());
		assert.ok(d.added.length + d.removed.length > 0);
		for (const f of [...d.added, ...d.removed]) assert.ok(f.rows === null || Number.isInteger(f.rows));
		// reversed: the same files, the other way round
		const back = JSON.parse(lmctl(['diff', '--json', tableSource(pub, 'sales'), String(v2), String(v1)], { env: pub.env }).stdout);
		assert.deepEqual(back.added.map(key).sort(), d.removed.map(key).sort());
		assert.equal(lmctl(['diff', tableSource(pub, 'sales'), String(v1), String(v2 + 1000)], { env: pub.env }).status, 1);
		assert.equal(lmctl(['diff', tableSource(pub, 'sales'), 'x', String(v2)], { env: pub.env }).status, 2);
	});

	it('a progress bar on stderr only when stderr is a terminal', { skip: !fs.existsSync('/usr/bin/script') && 'no script(1)' }, () => {
		const plain = lmctl(['check', tableSource(pub, 'sales')], { env: pub.env });
		assert.equal(plain.status, 0, plain.stderr);
		assert.equal(plain.stderr, '');
		// under a pseudo-terminal (script(1)): stdout to a file, stderr to the terminal
		const out = path.join(tmp, 'check.out');
		const cmd = `${LMCTL} check ${tableSource(pub, 'sales')} > ${out}`;
		const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'latin1', env: { ...process.env, ...pub.env } });
		assert.equal(r.status, 0, r.stdout);
		assert.match(r.stdout, /\rlog +\[#* *\] +\d+% \d+\/\d+/);
		assert.match(r.stdout, /100% (\d+)\/\1/);
		assert.equal(fs.readFileSync(out, 'utf8'), plain.stdout);
	});
});

// ---- lmctl check on damaged Delta logs: a commit removed in the middle, a truncated commit ----
// Copies of the generated table (7 commits, no checkpoint). Expected findings are derived
// from the copy itself: gaps from the commit files, refused versions from `lmctl versions`
// (the driver), orphans = files only the lost part of the log named that no rebuilt
// version holds, removed = files of rebuilt versions the newest rebuilt one lacks.

// Paths named by add/remove/cdc actions of whole, parseable lines of a commit file.
function namedBy(file) {
	const out = new Set();
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		let j;
		try { j = JSON.parse(line); } catch { continue; }
		for (const k of ['add', 'remove', 'cdc']) if (j?.[k]?.path) out.add(pctDecode(j[k].path));
	}
	return out;
}

describe(`lmctl check on damaged Delta logs (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, lake, pub, vers;

	before(async () => {
		tmp = makeTmpdir('forensics-log');
		const gen = path.join(tmp, 'gen');
		generateLake(gen, { seed: SEED });
		lake = path.join(tmp, 'lake');
		fs.mkdirSync(lake);
		for (const t of ['gap', 'truncated']) copyTree(path.join(gen, 'sales'), path.join(lake, t));
		vers = fs.readdirSync(path.join(lake, 'gap', '_delta_log')).filter((n) => /^\d{20}\.json$/.test(n)).sort();
		assert.ok(vers.length >= 5, 'a log of at least 5 commits');
		assert.ok(!fs.readdirSync(path.join(lake, 'gap', '_delta_log')).some((n) => n.includes('checkpoint')));
		fs.rmSync(path.join(lake, 'gap', '_delta_log', vers[3]));
		const t4 = path.join(lake, 'truncated', '_delta_log', vers[4]);
		const text = fs.readFileSync(t4);
		fs.writeFileSync(t4, text.subarray(0, Math.floor(text.length / 2)));
		pub = await publish(lake, 'forensics-log');
	});

	after(() => removeTmpdir(tmp));

	// what check must say for a copy whose log is readable up to version `upto`
	function expected(table, upto, lostNamed) {
		const vs = lmctlVersions(tableSource(pub, table), { env: pub.env });
		const live = vs.filter((v) => v.status === 'ok').map((v) => ({ v: v.version, files: new Set(lmctlFiles(tableSource(pub, table), v.version, { env: pub.env }).files.map((f) => f.path)) }));
		assert.deepEqual(live.map((x) => x.v), [...Array(upto + 1).keys()]);
		const named = new Set();
		for (const n of fs.readdirSync(path.join(lake, table, '_delta_log')).filter((x) => /^\d{20}\.json$/.test(x)))
			for (const p of namedBy(path.join(lake, table, '_delta_log', n))) named.add(p);
		const everLive = new Set(live.flatMap((x) => [...x.files]));
		const orphans = [...lostNamed].filter((p) => !named.has(p) && !everLive.has(p) && fs.existsSync(path.join(lake, table, p))).sort();
		const newest = live[live.length - 1].files;
		const removed = [...everLive].filter((p) => !newest.has(p)).sort();
		return { refused: vs.filter((v) => v.status !== 'ok').map((v) => [v.version, v.status]), orphans, removed };
	}

	it('a commit removed in the middle: one gap, later versions refused, its files orphans', () => {
		const lost = namedBy(path.join(tmp, 'gen', 'sales', '_delta_log', vers[3]));
		const want = expected('gap', 2, lost);
		const r = lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'gap')], { env: pub.env });
		assert.equal(r.status, 1, r.stderr);
		const j = JSON.parse(r.stdout);
		assert.deepEqual(j.gaps, [{ after: 2, before: 4 }]);
		assert.deepEqual(j.refused.map((x) => [x.version, x.reason]), want.refused);
		assert.ok(want.refused.length > 0 && want.refused.every(([, w]) => w === 'log-gap'));
		assert.deepEqual(j.orphans.map((f) => f.path).sort(), want.orphans);
		assert.ok(want.orphans.length > 0, 'the lost commit added files');
		assert.deepEqual(j.removed.map((f) => f.path).sort(), want.removed);
		assert.deepEqual(j.missing, []);
		assert.deepEqual(j.recent, []);
		assert.equal(j.latest, 2);
		assert.equal(j.restore_target, 2);
	});

	it('a truncated commit: that version and the later ones refused, only what its lost text named is orphaned', () => {
		const whole = namedBy(path.join(tmp, 'gen', 'sales', '_delta_log', vers[4]));
		const kept = namedBy(path.join(lake, 'truncated', '_delta_log', vers[4]));
		const want = expected('truncated', 3, new Set([...whole].filter((p) => !kept.has(p))));
		const r = lmctl(['check', '--json', '--min-age=0', tableSource(pub, 'truncated')], { env: pub.env });
		assert.equal(r.status, 1, r.stderr);
		const j = JSON.parse(r.stdout);
		assert.deepEqual(j.gaps, []);
		assert.deepEqual(j.refused.map((x) => [x.version, x.reason]), want.refused);
		assert.equal(j.refused[0].version, 4);
		assert.equal(j.refused[0].reason, 'invalid-json');
		assert.deepEqual(j.orphans.map((f) => f.path).sort(), want.orphans);
		assert.deepEqual(j.removed.map((f) => f.path).sort(), want.removed);
		assert.deepEqual(j.missing, []);
		assert.equal(j.restore_target, 3);
		const human = lmctl(['check', '--min-age=0', tableSource(pub, 'truncated')], { env: pub.env });
		assert.match(human.stdout, /^refused\tv4\tinvalid-json\t/m);
		assert.ok(human.stdout.includes('cp -r MOUNT/truncated/@v3 DESTINATION'), human.stdout);
	});
});
