// iceberg.test.mjs — mount the shared corpus's Iceberg tables ($LM_CORPUS/iceberg, in
// place) and compare every snapshot of EXPECTED-iceberg.tsv with what `@snap-<id>` holds:
// the same number of data files, each listed file the tail of exactly one expected
// file_path (paths are relocated onto the table root, never percent-decoded), no delete
// file listed as data; status rows refused (EIO) with a log line naming the table; the
// refs of cxx-wh_gperov_test as links; bytes equal to the source; and DuckDB's count over
// @latest equal to the snapshot summary's total-records where there are no deletes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CORPUS, fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { walk, errnoOf, sha256, sha256File, assertNoProblems } from './lib/fsx.mjs';
import { openDuck, sqlString } from '../../tools/js/duck.mjs';

const ICE = path.join(CORPUS, 'iceberg');
const EXPECTED = path.join(CORPUS, 'EXPECTED-iceberg.tsv');

let skip = false;
if (!fs.existsSync(ICE) || !fs.existsSync(EXPECTED)) skip = loudSkip('Iceberg corpus mount tests', `no corpus at ${CORPUS} (set LM_CORPUS)`);
else if (fuseSkipReason()) skip = loudSkip('Iceberg corpus mount tests', fuseSkipReason());

function parseExpected() {
	const rows = [];
	for (const line of fs.readFileSync(EXPECTED, 'utf8').split('\n')) {
		if (!line) continue;
		const [table, snap, dcount, dpaths = '', ecount = '0', epaths = '', check = ''] = line.split('\t');
		rows.push({ table, snap, dcount, dpaths, ecount, epaths, check });
	}
	return rows;
}

// The table's location (from any metadata file) and whether a row's data lies outside it.
const locations = new Map();
function location(table) {
	if (!locations.has(table)) {
		const dir = path.join(ICE, table, 'metadata');
		const f = fs.readdirSync(dir).find((n) => n.endsWith('.metadata.json'));
		const m = f && /"location"\s*:\s*"([^"]*)"/.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
		locations.set(table, m ? m[1].replace(/\/+$/, '') : null);
	}
	return locations.get(table);
}
function escapes(r) {
	const loc = location(r.table);
	if (!loc || !r.dpaths || r.dpaths.startsWith('sha256:')) return false;
	const norm = (p) => p.replace(/^s3[an]?:\/\//, 's3://');
	return r.dpaths.split(',').some((p) => /^[a-z0-9]+:/.test(p) && !norm(p).startsWith(`${norm(loc)}/`));
}
let logNames = () => false;

describe(`corpus Iceberg tables through the mount (${BACKEND})`, { skip, timeout: 600_000 }, () => {
	let tmp, m, mnt, rows, duck, pub;

	before(async () => {
		tmp = makeTmpdir('iceberg');
		pub = await publish(ICE, 'iceberg');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'latest_ttl=600'], env: pub.env });
		rows = parseExpected();
		duck = await openDuck();
		logNames = (table, word) => m.text().split('\n').some((l) => l.includes(table) && l.includes(word));
	});

	after(async () => {
		duck?.close();
		try {
			await m?.unmount();
		} finally {
			removeTmpdir(tmp);
		}
	});

	it('every table of the corpus is a table directory', async () => {
		const tables = new Set(rows.map((r) => r.table));
		for (const t of tables) {
			const names = await fsp.readdir(path.join(mnt, t));
			assert.ok(names.includes('@latest'), `${t}: @latest`);
			for (const n of names) assert.ok(n.startsWith('@'), `${t}: only @ entries, not ${n}`);
		}
	});

	// Every snapshot row with expected files, through the mount.
	async function compareAll() {
		const problems = [];
		let compared = 0, files = 0, refusedEscapes = 0;
		for (const r of rows) {
			if (!/^\d+$/.test(r.dcount)) continue;   // a status row, checked below
			const dir = path.join(mnt, r.table, `@snap-${r.snap}`);
			let listed;
			try {
				listed = (await walk(dir, { stat: false })).filter((e) => e.type === 'file').map((e) => e.rel);
			} catch (e) {
				// Files outside the table's location must be refused, never followed.
				if (e.code === 'EIO' && escapes(r) && logNames(r.table, 'path-escape')) {
					refusedEscapes++;
					continue;
				}
				problems.push(`${r.table} @snap-${r.snap}: ${e.code || e.message}`);
				continue;
			}
			compared++;
			files += listed.length;
			if (escapes(r)) {
				problems.push(`${r.table} @snap-${r.snap}: listed, but its files lie outside the table's location`);
				continue;
			}
			if (listed.length !== Number(r.dcount)) {
				problems.push(`${r.table} @snap-${r.snap}: ${listed.length} files, expected ${r.dcount}`);
				continue;
			}
			if (r.dpaths.startsWith('sha256:') || !r.dpaths) continue;
			const want = r.dpaths.split(',');
			const deletes = r.epaths && !r.epaths.startsWith('sha256:') ? r.epaths.split(',') : [];
			for (const rel of listed) {
				const hits = want.filter((w) => w === rel || w.endsWith(`/${rel}`));
				if (hits.length !== 1) problems.push(`${r.table} @snap-${r.snap}: ${rel} matches ${hits.length} expected paths`);
				if (deletes.some((d) => d.endsWith(`/${rel}`))) problems.push(`${r.table} @snap-${r.snap}: delete file ${rel} listed as data`);
			}
		}
		assertNoProblems(problems);
		assert.ok(compared >= 100, `compared ${compared} snapshots`);
		return { compared, files, refusedEscapes };
	}

	let first;
	it('every snapshot of EXPECTED-iceberg.tsv lists exactly its data files', async () => {
		first = await compareAll();
		console.log(`# iceberg corpus: compared ${first.compared} snapshots, ${first.files} files; ${first.refusedEscapes} refused as path-escape`);
	});

	it('after a remount the snapshots come from the metadata cache, still exactly right', async () => {
		assert.ok(first, 'the first pass ran');
		await m.unmount();
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'latest_ttl=600', 'log_level=debug'], env: pub.env });
		const again = await compareAll();
		assert.deepEqual(again, first);
		const hits = m.grep(/from the metadata cache/).length;
		assert.ok(hits >= again.compared, `${hits} of ${again.compared} snapshots came from the cache`);
		console.log(`# iceberg corpus: after remount, ${hits} snapshots from the metadata cache`);
	});

	it('status rows are refused with a log line naming the table', async () => {
		const problems = [];
		for (const r of rows.filter((x) => /^missing-/.test(x.dcount))) {
			// A named snapshot, or '*' with "all N snapshots" / "K of N snapshots".
			const snaps = r.snap !== '*' ? [`@snap-${r.snap}`]
				: (await fsp.readdir(path.join(mnt, r.table))).filter((n) => n.startsWith('@snap-'));
			let eio = 0;
			for (const sn of snaps)
				if (await errnoOf(() => fsp.readdir(path.join(mnt, r.table, sn))) === 'EIO') eio++;
			const m2 = /^(all (\d+)|(\d+) of (\d+)) snapshots/.exec(r.dpaths);
			const want = r.snap !== '*' ? 1 : m2 ? Number(m2[2] ?? m2[3]) : snaps.length;
			if (eio !== want) problems.push(`${r.table}: ${eio} of ${snaps.length} snapshots refused, want ${want} (${r.dcount} ${r.dpaths})`);
			if (!m.text().split('\n').some((l) => l.includes(r.table) && /error:/.test(l)))
				problems.push(`${r.table}: no error line names it`);
		}
		for (const r of rows.filter((x) => x.dcount === 'no-snapshots')) {
			const names = await fsp.readdir(path.join(mnt, r.table, '@latest')).catch((e) => e.code);
			if (!Array.isArray(names) || names.length) problems.push(`${r.table}: @latest should be an empty directory, got ${names}`);
		}
		assertNoProblems(problems);
	});

	it('refs of cxx-wh_gperov_test are links to snapshot directories', async () => {
		const dir = path.join(mnt, 'cxx-wh_gperov_test');
		const names = await fsp.readdir(dir);
		const refs = names.filter((n) => n.startsWith('@branch-') || n.startsWith('@tag-'));
		assert.ok(refs.some((n) => n.startsWith('@tag-')), `a tag among ${names.join(' ')}`);
		assert.ok(refs.filter((n) => n.startsWith('@branch-')).length >= 2, `branches among ${names.join(' ')}`);
		for (const r of refs) {
			const target = await fsp.readlink(path.join(dir, r));
			assert.match(target, /^@snap-\d+$/, `${r} -> ${target}`);
			assert.ok(names.includes(target), `${r} -> ${target} exists`);
		}
	});

	it('bytes through the mount equal the source (sample)', async () => {
		let n = 0;
		for (const t of ['cxx-partition_evolution', 'polars-iceberg-table', 'impala-iceberg_timestamp_part']) {
			const files = (await walk(path.join(mnt, t, '@latest/'), { stat: false })).filter((e) => e.type === 'file');
			for (const f of files.slice(0, 4)) {
				const src = path.join(ICE, t, f.rel);
				if (!fs.existsSync(src)) continue;
				assert.equal(await sha256File(path.join(mnt, t, '@latest', f.rel)), sha256(fs.readFileSync(src)), `${t}/${f.rel}`);
				n++;
			}
		}
		assert.ok(n >= 3, `compared ${n} files`);
	});

	it("DuckDB's count over @latest equals the snapshot's total-records", async () => {
		for (const t of ['cxx-partition_evolution', 'polars-iceberg-table', 'impala-iceberg_timestamp_part']) {
			const meta = fs.readdirSync(path.join(ICE, t, 'metadata')).filter((n) => n.endsWith('.metadata.json')).sort();
			// the current metadata file: the driver's choice is what @latest points at
			const latest = await fsp.readlink(path.join(mnt, t, '@latest'));
			const v = Number(latest.slice(2));
			const file = meta.find((n) => n === `v${v}.metadata.json` || Number(n.split('-')[0]) === v);
			const md = JSON.parse(fs.readFileSync(path.join(ICE, t, 'metadata', file), 'utf8'));
			const snap = md.snapshots.find((s) => String(s['snapshot-id']) === String(md['current-snapshot-id']))
				?? md.snapshots.at(-1);
			const total = Number(snap.summary['total-records']);
			const n = await duck.scalar(`SELECT count(*) FROM read_parquet(${sqlString(path.join(mnt, t, '@latest', '**', '*.parquet'))})`);
			assert.equal(Number(n), total, `${t}: DuckDB count vs total-records`);
		}
	});
});
