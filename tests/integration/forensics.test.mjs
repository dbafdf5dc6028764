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
import { fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, tableSource, BACKEND } from './lib/backend.mjs';
import { copyTree, lmctl, lmctlFiles, lmctlVersions } from './lib/fsx.mjs';

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

	after(async () => {
		try {
			await m?.unmount();
		} finally {
			removeTmpdir(tmp);
		}
	});

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
