// broken.test.mjs — damaged tables beside healthy ones. Each damage must be refused where
// it starts (the versions before it stay readable), answered with EIO, logged once with a
// line naming the table, the version and the reason word, and never hide the healthy
// tables. A data file missing from storage stays listed but reads fail with EIO and a log
// line naming the file. Paths that escape the table root are never followed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, removeTmpdir, generateLake } from './lib/env.mjs';
import { startMount } from './lib/mount.mjs';
import { publish, tableSource, BACKEND } from './lib/backend.mjs';
import { walk, errnoOf, sha256File, lmctlVersions, lmctlFiles, logMessage, namesVersion, copyTree, assertNoProblems } from './lib/fsx.mjs';
import { assertMirrors, tableEntries } from './lib/lake.mjs';
import { openDuck, sqlString } from '../../tools/js/duck.mjs';

const SEED = 11;
const skipReason = fuseSkipReason();
const skip = skipReason ? loudSkip('broken-table mount tests', skipReason) : false;

const commitName = (v) => `${String(v).padStart(20, '0')}.json`;

function readCommit(dir, v) {
	return fs.readFileSync(path.join(dir, '_delta_log', commitName(v)), 'utf8').trimEnd().split('\n');
}

function writeCommit(dir, v, lines, mtimeMs) {
	const f = path.join(dir, '_delta_log', commitName(v));
	fs.writeFileSync(f, lines.join('\n') + '\n');
	if (mtimeMs) fs.utimesSync(f, mtimeMs / 1000, mtimeMs / 1000);
}

// Append commit v to a copy of an unpartitioned table: a WRITE adding one file at `addPath`.
function appendAddCommit(dir, v, addPath, ts) {
	const ci = {
		commitInfo: {
			timestamp: ts, operation: 'WRITE', operationParameters: { mode: 'Append', partitionBy: '[]' }, readVersion: v - 1,
			isolationLevel: 'Serializable', isBlindAppend: true, operationMetrics: { numFiles: '1', numOutputRows: '1', numOutputBytes: '1024' },
			engineInfo: 'Apache-Spark/3.5.1 Delta-Lake/3.2.0', txnId: '00000000-0000-4000-8000-000000000013',
		},
	};
	const add = { add: { path: addPath, partitionValues: {}, size: 1024, modificationTime: ts - 500, dataChange: true, stats: '{"numRecords":1}' } };
	writeCommit(dir, v, [JSON.stringify(ci), JSON.stringify(add)], ts);
}

// The damage catalogue. ok: versions that must stay readable; refused: versions that must
// answer EIO with `reason`; firstRefused: the version the log line must name.
function buildDamaged(gen, lake, expected) {
	const ev = expected.tables.events, sa = expected.tables.sales;
	const evVersions = ev.versions.map((v) => v.version);
	const saVersions = sa.versions.map((v) => v.version);
	const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
	const cases = [];
	const mk = (name, from, fn, spec) => {
		const dir = path.join(lake, name);
		copyTree(path.join(gen, from), dir);
		fn(dir);
		cases.push({ name, from, dir, ...spec });
	};

	mk('broken-json', 'events', (d) => {
		const lines = readCommit(d, 3);
		lines[1] = lines[1].slice(0, Math.floor(lines[1].length / 2)); // truncated JSON object
		writeCommit(d, 3, lines, ev.versions[3].timestamp);
	}, { ok: range(0, 2), refused: range(3, ev.latest), reason: 'invalid-json', firstRefused: 3, latest: 2 });

	mk('broken-noprotocol', 'sales', (d) => {
		writeCommit(d, 0, readCommit(d, 0).filter((l) => !l.startsWith('{"protocol"')), sa.versions[0].timestamp);
	}, { ok: [], refused: saVersions, reason: 'missing-protocol', firstRefused: 0, latest: null });

	mk('broken-nometadata', 'events', (d) => {
		writeCommit(d, 0, readCommit(d, 0).filter((l) => !l.startsWith('{"metaData"')), ev.versions[0].timestamp);
	}, { ok: [], refused: evVersions, reason: 'missing-metadata', firstRefused: 0, latest: null });

	mk('broken-reader99', 'events', (d) => {
		writeCommit(d, 0, readCommit(d, 0).map((l) => (l.startsWith('{"protocol"')
			? JSON.stringify({ protocol: { minReaderVersion: 99, minWriterVersion: 7, readerFeatures: [], writerFeatures: [] } }) : l)),
		ev.versions[0].timestamp);
	}, { ok: [], refused: evVersions, reason: 'unsupported-reader-version', firstRefused: 0, latest: null });

	// A protocol upgrade at version 5 to an unknown reader feature.
	mk('broken-readerfeature', 'events', (d) => {
		const lines = readCommit(d, 5);
		lines.splice(1, 0, JSON.stringify({
			protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['lakemountTestUnknownFeature'], writerFeatures: ['lakemountTestUnknownFeature'] },
		}));
		writeCommit(d, 5, lines, ev.versions[5].timestamp);
	}, { ok: range(0, 4), refused: range(5, ev.latest), reason: 'unsupported-feature', firstRefused: 5, latest: 4 });

	mk('broken-gap', 'events', (d) => {
		fs.rmSync(path.join(d, '_delta_log', commitName(2)));
		fs.rmSync(path.join(d, '_delta_log', `.${commitName(2)}.crc`));
	}, { ok: [0, 1], refused: range(3, ev.latest), reason: 'log-gap', firstRefused: 3, gapAt: 2, latest: 1 });

	const next = ev.latest + 1, ts = ev.versions[ev.latest].timestamp + 60_000;
	mk('broken-escape-dotdot', 'events', (d) => appendAddCommit(d, next, '../../etc/passwd', ts),
		{ ok: evVersions, refused: [next], reason: 'path-escape', firstRefused: next, latest: ev.latest });
	mk('broken-escape-abs', 'events', (d) => appendAddCommit(d, next, 'file:///etc/passwd', ts),
		{ ok: evVersions, refused: [next], reason: 'path-escape', firstRefused: next, latest: ev.latest });
	// Inside the source, but outside the table root.
	mk('broken-escape-sibling', 'events', (d) => appendAddCommit(d, next, '../notes.txt', ts),
		{ ok: evVersions, refused: [next], reason: 'path-escape', firstRefused: next, latest: ev.latest });

	// A data file of the latest version (and earlier ones) deleted from storage.
	const victim = sa.versions[sa.latest].files.find((f) => sa.versions[0].files.some((g) => g.path === f.path))
		?? sa.versions[sa.latest].files[0];
	mk('broken-missingfile', 'sales', (d) => fs.rmSync(path.join(d, victim.path)),
		{ ok: saVersions, refused: [], reason: null, latest: sa.latest, missing: victim });
	return cases;
}

describe(`damaged tables through the mount (${BACKEND})`, { skip, timeout: 240_000 }, () => {
	let tmp, gen, lake, expected, cases, pub, m, mnt, duck;
	const healthy = [['healthy-sales', 'sales'], ['healthy-events', 'events']];

	before(async () => {
		tmp = makeTmpdir('broken');
		gen = path.join(tmp, 'gen');
		lake = path.join(tmp, 'lake');
		expected = generateLake(gen, { seed: SEED });
		fs.mkdirSync(lake);
		for (const [name, from] of healthy) copyTree(path.join(gen, from), path.join(lake, name));
		fs.writeFileSync(path.join(lake, 'notes.txt'), 'a plain file beside broken tables\n');
		cases = buildDamaged(gen, lake, expected);
		pub = await publish(lake, 'broken');
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

	const nameRe = (name) => new RegExp(`(^|[^\\w-])${name.replace(/[-]/g, '\\-')}([^\\w-]|$)`);

	it('the root lists every table, healthy and broken, and the plain file', async () => {
		const tree = await assertMirrors(mnt, lake);
		assert.equal(tree.tables.length, healthy.length + cases.length);
	});

	it('healthy tables beside broken ones are complete and readable', async () => {
		for (const [name, from] of healthy) {
			const t = expected.tables[from];
			const { versions } = await tableEntries(path.join(mnt, name));
			assert.deepEqual(versions, t.versions.map((v) => v.version), name);
			assert.equal(await fsp.readlink(path.join(mnt, name, '@latest')), `@v${t.latest}`);
			for (const v of t.versions) {
				const files = (await walk(path.join(mnt, name, `@v${v.version}`))).filter((e) => e.type !== 'dir');
				assert.deepEqual(files.map((e) => [e.rel, e.size]), v.files.map((f) => [f.path, f.size]), `${name}/@v${v.version}`);
			}
			const lv = t.versions[t.latest];
			for (const f of lv.files)
				assert.equal(await sha256File(path.join(mnt, name, '@latest', f.path)), await sha256File(path.join(lake, name, f.path)));
			const [row] = await duck.rows(`SELECT count(*) AS n FROM read_parquet(${sqlString(path.join(mnt, name, '@latest', '**', '*.parquet'))})`);
			assert.equal(Number(row.n), lv.rows, `${name}: DuckDB count through @latest`);
		}
	});

	it('versions before the damage stay readable and exact', async () => {
		for (const c of cases) {
			const t = expected.tables[c.from];
			for (const v of c.ok) {
				const files = (await walk(path.join(mnt, c.name, `@v${v}`))).filter((e) => e.type !== 'dir');
				assert.deepEqual(files.map((e) => [e.rel, e.size]), t.versions[v].files.map((f) => [f.path, f.size]), `${c.name}/@v${v}`);
			}
		}
	});

	it('refused versions are listed, answer EIO, and are logged with table, version and reason', async () => {
		const problems = [];
		for (const c of cases.filter((x) => x.refused.length)) {
			const since = 0;
			const { versions } = await tableEntries(path.join(mnt, c.name));
			for (const v of c.refused) {
				if (!versions.includes(v)) { problems.push(`${c.name}: @v${v} is not listed`); continue; }
				const code = await errnoOf(() => fsp.readdir(path.join(mnt, c.name, `@v${v}`)));
				if (code !== 'EIO') problems.push(`${c.name}: readdir @v${v} gave ${code ?? 'a listing'}, not EIO`);
				const code2 = await errnoOf(() => fsp.readdir(path.join(mnt, c.name, `@v${v}`)));
				if (code2 !== 'EIO') problems.push(`${c.name}: second readdir @v${v} gave ${code2 ?? 'a listing'}, not EIO`);
			}
			const lines = m.lines().slice(since).filter((l) => /\b(error|warning):/.test(l) && nameRe(c.name).test(logMessage(l)));
			if (!lines.length) { problems.push(`${c.name}: no error/warning line names the table`); continue; }
			const shown = `; e.g.: ${logMessage(lines[0])}`;
			if (!lines.some((l) => logMessage(l).includes(c.reason)))
				problems.push(`${c.name}: no log line carries the reason word "${c.reason}"${shown}`);
			if (!lines.some((l) => namesVersion(logMessage(l), c.firstRefused)))
				problems.push(`${c.name}: no log line names version ${c.firstRefused}${shown}`);
			if (c.gapAt !== undefined && !lines.some((l) => new RegExp(`(version\\s*|@?v|0{10,})${c.gapAt}\\b`).test(logMessage(l))))
				problems.push(`${c.name}: no log line says where the gap is (version ${c.gapAt})`);
			// Logged once per refused version, not once per access.
			if (lines.length > c.refused.length + 2)
				problems.push(`${c.name}: ${lines.length} log lines for ${c.refused.length} refused versions (accessed twice each)`);
		}
		assertNoProblems(problems);
	});

	// @latest names the newest version in the log, readable or not: pointing it at an
	// older version would pass stale data off as "latest". A refusal shows through it.
	it('@latest points at the newest version in the log; a refusal shows through it', async () => {
		const problems = [];
		for (const c of cases) {
			const all = [...c.ok, ...c.refused];
			const newest = all.length ? Math.max(...all) : null;
			const l = path.join(mnt, c.name, '@latest');
			let got;
			try { got = await fsp.readlink(l); } catch (e) { got = e.code; }
			const want = newest === null ? 'ENOENT' : `@v${newest}`;
			if (got !== want) problems.push(`${c.name}/@latest: ${got}, want ${want}`);
			if (newest !== null && c.refused.includes(newest)) {
				const code = await errnoOf(() => fsp.readdir(l));
				if (code !== 'EIO') problems.push(`${c.name}/@latest/: ${code}, want EIO (v${newest} is refused)`);
			}
		}
		assertNoProblems(problems, '@latest problems');
	});

	it('a missing version between others is not a directory', async () => {
		const c = cases.find((x) => x.gapAt !== undefined);
		const code = await errnoOf(() => fsp.readdir(path.join(mnt, c.name, `@v${c.gapAt}`)));
		assert.ok(code === 'ENOENT' || code === 'EIO', `${c.name}/@v${c.gapAt}: ${code}`);
	});

	it('escaping paths are never followed', async () => {
		const passwd = fs.readFileSync('/etc/passwd');
		for (const c of cases.filter((x) => x.reason === 'path-escape')) {
			const v = c.refused[0];
			for (const p of ['etc/passwd', '../../etc/passwd', 'passwd', 'notes.txt', '../notes.txt', 'etc'])
				assert.notEqual(await errnoOf(() => fsp.lstat(path.join(mnt, c.name, `@v${v}`, p))), null, `${c.name}/@v${v}/${p}`);
		}
		// Nothing anywhere in the mount has /etc/passwd's bytes.
		for (const e of await walk(mnt).catch(() => []))
			if (e.type === 'file' && e.size === passwd.length)
				assert.notEqual(await sha256File(path.join(mnt, e.rel)).catch(() => ''), await sha256File('/etc/passwd'), e.rel);
	});

	it('a data file missing from storage is listed, reads fail with EIO, and the log names it', async () => {
		const c = cases.find((x) => x.missing);
		const t = expected.tables[c.from];
		const f = c.missing;
		const base = path.basename(f.path);
		for (const v of t.versions.filter((x) => x.files.some((g) => g.path === f.path))) {
			const p = path.join(mnt, c.name, `@v${v.version}`, f.path);
			const st = await fsp.lstat(p);
			assert.equal(st.size, f.size, `${c.name}/@v${v.version}/${f.path}: size from the log`);
		}
		const p = path.join(mnt, c.name, '@latest', f.path);
		const since = m.mark();
		const code = await errnoOf(async () => {
			const fh = await fsp.open(p, 'r');
			try { await fh.read(Buffer.alloc(64), 0, 64, 0); } finally { await fh.close(); }
		});
		assert.equal(code, 'EIO', 'opening or reading the missing file');
		const line = await m.waitForLine((l) => /\b(error|warning):/.test(l) && l.includes(base), { since, timeoutMs: 3000 });
		assert.ok(line, `a log line names ${base}; the daemon printed:\n${m.lines().slice(since).join('\n')}`);
		// Its neighbours still read fine.
		for (const g of t.versions[t.latest].files.filter((x) => x.path !== f.path).slice(0, 3))
			assert.equal(await sha256File(path.join(mnt, c.name, '@latest', g.path)), await sha256File(path.join(lake, c.name, g.path)));
	});

	it('lmctl reports the same statuses', { skip: BACKEND !== 'local' && 'lmctl is checked on the local backend' }, () => {
		const problems = [];
		for (const c of cases) {
			const vs = lmctlVersions(tableSource(pub, c.name));
			for (const v of vs) {
				const want = c.refused.includes(v.version) ? c.reason : c.ok.includes(v.version) ? 'ok' : null;
				if (want && v.status !== want) problems.push(`${c.name} v${v.version}: ${v.status}, want ${want}`);
			}
			for (const v of [...c.ok, ...c.refused]) if (!vs.some((x) => x.version === v)) problems.push(`${c.name}: lmctl lists no v${v}`);
			for (const v of c.refused.slice(0, 1)) {
				const r = lmctlFiles(tableSource(pub, c.name), v);
				if (r.status !== 1) problems.push(`${c.name}: lmctl files ${v} exit ${r.status}, want 1`);
				if (r.stderr.trim().split('\n').length !== 1) problems.push(`${c.name}: lmctl files ${v}: stderr is not one line: ${r.stderr}`);
			}
		}
		assertNoProblems(problems);
	});

	it('the daemon is alive and logged nothing unexpected', () => {
		m.assertAlive();
		const allowed = cases.map((c) => nameRe(c.name));
		m.assertNoUnexpectedLogs(allowed);
	});
});
