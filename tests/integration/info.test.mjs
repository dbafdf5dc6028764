// info.test.mjs — the generated @info/ directory of a Delta table and the xattrs of files
// with deletion vectors, through the mount: @info lists history.json and one vN.json per
// version; every JSON file parses; history names every version; @info is read-only; a
// file whose rows are partly deleted says how many in user.lakemount.deleted_rows, and
// @info/vN/deleted_rows.csv lists exactly that many rows for it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CORPUS, fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { errnoOf } from './lib/fsx.mjs';

const skip = fuseSkipReason() ? loudSkip('@info mount tests', fuseSkipReason()) : false;
const DV_TABLE = 'dat-deletion_vectors';
const haveCorpus = fs.existsSync(path.join(CORPUS, 'delta', DV_TABLE));

// getfattr is not always installed: read xattrs with a tiny python3 one-liner.
function xattrs(file) {
	const r = spawnSync('python3', ['-c',
		'import os,sys,json; f=sys.argv[1]; print(json.dumps({n: os.getxattr(f,n).decode() for n in os.listxattr(f)}))', file],
		{ encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`xattr read failed: ${r.stderr}`);
	return JSON.parse(r.stdout);
}

describe(`@info and xattrs through the mount (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, lake, expected, m, mnt, m2, mnt2;

	before(async () => {
		tmp = makeTmpdir('info');
		lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: 3 });
		const pub = await publish(lake, 'info');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
		if (haveCorpus) {
			const dv = path.join(tmp, 'dv');
			fs.cpSync(path.join(CORPUS, 'delta', DV_TABLE), path.join(dv, DV_TABLE), { recursive: true });
			const pub2 = await publish(dv, 'info-dv');
			mnt2 = path.join(tmp, 'mnt2');
			m2 = await startMount({ source: pub2.source, mnt: mnt2, options: pub2.options, env: pub2.env });
		}
	});

	after(async () => {
		try {
			await m?.unmount();
			await m2?.unmount();
		} finally {
			removeTmpdir(tmp);
		}
	});

	it('every table has @info with history.json and one vN.json per version, all valid JSON', async () => {
		for (const t of Object.values(expected.tables)) {
			const dir = path.join(mnt, t.path, '@info');
			const names = await fsp.readdir(dir);
			assert.ok(names.includes('history.json'), `${t.path}: history.json in ${names}`);
			for (const v of t.versions) assert.ok(names.includes(`v${v.version}.json`), `${t.path}: v${v.version}.json`);
			const hist = JSON.parse(await fsp.readFile(path.join(dir, 'history.json'), 'utf8'));
			const text = JSON.stringify(hist);
			for (const v of t.versions) assert.ok(text.includes(`"version":${v.version}`), `${t.path}: history names v${v.version}`);
			const st = await fsp.stat(path.join(dir, 'history.json'));
			assert.equal(st.size, Buffer.byteLength(await fsp.readFile(path.join(dir, 'history.json'))), 'st_size is the content size');
			for (const v of t.versions) JSON.parse(await fsp.readFile(path.join(dir, `v${v.version}.json`), 'utf8'));
		}
	});

	it('@info is read-only and not part of any version', async () => {
		const t = Object.values(expected.tables)[0];
		const dir = path.join(mnt, t.path, '@info');
		assert.equal(await errnoOf(() => fsp.writeFile(path.join(dir, 'history.json'), 'x')), 'EROFS');
		assert.equal(await errnoOf(() => fsp.writeFile(path.join(dir, 'new.json'), 'x')), 'EROFS');
		for (const v of t.versions)
			assert.ok(!(await fsp.readdir(path.join(mnt, t.path, `@v${v.version}`))).includes('@info'));
	});

	it('files of a version name their table and version in xattrs', async () => {
		const t = Object.values(expected.tables).find((x) => x.path === 'sales');
		const v = t.versions[1];
		const f = path.join(mnt, 'sales', `@v${v.version}`, v.files[0].path);
		const x = xattrs(f);
		assert.equal(x['user.lakemount.table'], 'sales');
		assert.equal(x['user.lakemount.version'], `@v${v.version}`);
		assert.equal(x['user.lakemount.deleted_rows'], undefined, 'no deletion vector here');
	});

	it('a file with a deletion vector says how many rows are deleted, and deleted_rows.csv agrees',
		{ skip: !haveCorpus && 'needs the corpus table dat-deletion_vectors' }, async () => {
			const dir = path.join(mnt2, DV_TABLE);
			let seen = 0;
			for (const vd of (await fsp.readdir(dir)).filter((n) => /^@v\d+$/.test(n))) {
				for (const name of await fsp.readdir(path.join(dir, vd))) {
					const x = xattrs(path.join(dir, vd, name));
					if (x['user.lakemount.deleted_rows'] === undefined) continue;
					seen++;
					const n = Number(x['user.lakemount.deleted_rows']);
					assert.ok(n > 0, `${vd}/${name}: ${n} deleted rows`);
					const csv = await fsp.readFile(path.join(dir, '@info', vd.slice(1), 'deleted_rows.csv'), 'utf8');
					const rows = csv.trim().split('\n').slice(1).filter((l) => l.startsWith(`${name},`));
					assert.equal(rows.length, n, `${vd}: deleted_rows.csv rows for ${name}`);
				}
			}
			assert.ok(seen >= 1, 'at least one file with a deletion vector');
		});
});
