// corpus.test.mjs — mount the shared corpus's Delta tables ($LM_CORPUS/delta, in place)
// and compare every version with EXPECTED.tsv, EXPECTED-json-replay-checkpointed.tsv and
// EXPECTED-checkpoint-oracle.tsv (versions only a checkpoint can rebuild; where a version
// is in several files they agree); every status row those files do not cover must be a
// refusal (EIO on the affected versions, a log line naming the table and the reason);
// sampled bytes must equal the source. Without the corpus this file says so loudly and
// skips.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CORPUS, fuseSkipReason, loudSkip, makeTmpdir } from './lib/env.mjs';
import { startMount, unmountAndRemove } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { walk, errnoOf, sha256, sha256File, pctDecode, sortPaths, utf8Compare, logMessage, assertNoProblems } from './lib/fsx.mjs';
import { tableEntries } from './lib/lake.mjs';

const DELTA = path.join(CORPUS, 'delta');
const EXPECTED = path.join(CORPUS, 'EXPECTED.tsv');
const REPLAY = path.join(CORPUS, 'EXPECTED-json-replay-checkpointed.tsv');
const ORACLE = path.join(CORPUS, 'EXPECTED-checkpoint-oracle.tsv');

let skip = false;
if (!fs.existsSync(DELTA) || !fs.existsSync(EXPECTED)) skip = loudSkip('corpus mount tests', `no corpus at ${CORPUS} (set LM_CORPUS)`);
else if (fuseSkipReason()) skip = loudSkip('corpus mount tests', fuseSkipReason());

// table -> { status, detail, versions: Map(v -> { count, paths | null, sha | null }) }
function parseExpected(file) {
	const out = new Map();
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		if (!line) continue;
		const [table, version, count, rest = ''] = line.split('\t');
		if (!out.has(table)) out.set(table, { versions: new Map() });
		const t = out.get(table);
		if (version === '*') {
			t.status = count;
			t.detail = rest;
		} else {
			const sha = rest.startsWith('sha256:') ? rest.slice(7) : null;
			t.versions.set(Number(version), { count: Number(count), sha, paths: sha ? null : rest ? rest.split(',') : [] });
		}
	}
	return out;
}

function jsonVersions(table) {
	return fs.readdirSync(path.join(DELTA, table, '_delta_log')).filter((n) => /^\d{20}\.json$/.test(n))
		.map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
}

// decoded path -> encoded add.path, from every add action in the table's JSON commits.
function addPathEncodings(table) {
	const map = new Map();
	const dir = path.join(DELTA, table, '_delta_log');
	for (const v of jsonVersions(table)) {
		const text = fs.readFileSync(path.join(dir, `${String(v).padStart(20, '0')}.json`), 'utf8');
		for (const line of text.split('\n')) {
			if (!line.includes('"add"')) continue;
			let a;
			try { a = JSON.parse(line).add; } catch { continue; }
			if (!a?.path) continue;
			const d = pctDecode(a.path);
			if (map.has(d) && map.get(d) !== a.path) map.set(d, null); // ambiguous
			else map.set(d, a.path);
		}
	}
	return map;
}

// Every reader feature any JSON commit's protocol action names.
function readerFeatures(table) {
	const out = new Set();
	const dir = path.join(DELTA, table, '_delta_log');
	for (const v of jsonVersions(table)) {
		for (const line of fs.readFileSync(path.join(dir, `${String(v).padStart(20, '0')}.json`), 'utf8').split('\n')) {
			if (!line.includes('"protocol"')) continue;
			try { for (const f of JSON.parse(line).protocol?.readerFeatures ?? []) out.add(f); } catch { /* not this line */ }
		}
	}
	return [...out];
}

// Reason words a status row may be logged with.
const REASONS = {
	'needs-path-canonicalization': ['needs-path-canonicalization', 'path-escape'],
	'unsupported-reader-version': ['unsupported-reader-version', 'unsupported-feature'],
};
const reasonsFor = (status) => REASONS[status] ?? [status];
const nameRe = (name) => new RegExp(`(^|[^\\w.-])${name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}([^\\w.-]|$)`);

describe(`corpus Delta tables through the mount (${BACKEND})`, { skip, timeout: 600_000 }, () => {
	let tmp, pub, m, mnt, expected, replay, oracle;
	const allowedRefusals = new Set(); // tables whose refusal is allowed (see above)

	before(async () => {
		expected = parseExpected(EXPECTED);
		replay = fs.existsSync(REPLAY) ? parseExpected(REPLAY) : new Map();
		oracle = fs.existsSync(ORACLE) ? parseExpected(ORACLE) : new Map();
		tmp = makeTmpdir('corpus');
		pub = await publish(DELTA, 'corpus');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	// Versions from the JSON replay and the checkpoint oracle, merged (they must agree).
	const covered = (table) => {
		const versions = new Map(replay.get(table)?.versions ?? []);
		for (const [v, x] of oracle.get(table)?.versions ?? []) {
			const y = versions.get(v);
			if (y && (y.count !== x.count || y.sha !== x.sha || String(y.paths) !== String(x.paths)))
				throw new Error(`${table} v${v}: EXPECTED-json-replay-checkpointed.tsv and EXPECTED-checkpoint-oracle.tsv disagree`);
			versions.set(v, x);
		}
		return versions;
	};
	const numericTables = () => {
		const list = [];
		for (const [table, e] of expected) if (e.versions.size) list.push({ table, e, exact: true });
		for (const table of new Set([...replay.keys(), ...oracle.keys()])) {
			if (expected.get(table)?.versions.size) continue;
			const versions = covered(table);
			// A table whose status row says its JSON commits are complete (the replay file
			// has it) shows exactly the versions the two files name; the others (a log that
			// starts late, a gap after which only a checkpoint helps) may show more.
			if (versions.size) list.push({ table, e: { versions }, exact: !!replay.get(table)?.versions.size });
		}
		return list;
	};

	it('lists every corpus table at the root', async () => {
		const names = sortPaths(await fsp.readdir(mnt));
		const want = sortPaths(fs.readdirSync(DELTA));
		assert.deepEqual(names, want);
	});

	// Every version of every table with expected files, compared through the mount;
	// returns how many versions and files were compared.
	async function compareAll() {
		const problems = [];
		let versions = 0, files = 0;
		for (const { table, e, exact } of numericTables()) {
			const tdir = path.join(mnt, table);
			const listed = await tableEntries(tdir).catch((err) => ({ versions: null, err }));
			if (!listed.versions) { problems.push(`${table}: cannot list the table: ${listed.err.code}`); continue; }
			const want = [...e.versions.keys()].sort((a, b) => a - b);
			if (exact && JSON.stringify(listed.versions) !== JSON.stringify(want))
				problems.push(`${table}: versions ${JSON.stringify(listed.versions)}, expected ${JSON.stringify(want)}`);
			let enc = null;
			const missingVersions = want.filter((v) => !listed.versions.includes(v));
			if (!exact && missingVersions.length) problems.push(`${table}: versions ${JSON.stringify(missingVersions)} are not listed`);
			for (const v of want) {
				const x = e.versions.get(v);
				if (!listed.versions.includes(v)) { problems.push(`${table}: @v${v} not listed`); continue; }
				let got;
				try {
					got = (await walk(path.join(tdir, `@v${v}`), { stat: false })).filter((f) => f.type !== 'dir');
				} catch (err) {
					// The Delta protocol forbids reading a table whose protocol names a reader
					// feature the reader does not support; a catalog-managed table's published
					// log is not authoritative (the catalog is). EXPECTED.tsv replays JSON
					// without judging features, so a refusal here is allowed, once logged.
					if (err.code === 'EIO' && readerFeatures(table).includes('catalogManaged')) {
						allowedRefusals.add(table);
						continue;
					}
					problems.push(`${table}/@v${v}: ${err.code || err.message}`);
					continue;
				}
				versions++;
				files += got.length;
				const nonFiles = got.filter((f) => f.type !== 'file');
				if (nonFiles.length) problems.push(`${table}/@v${v}: not regular files: ${nonFiles.slice(0, 3).map((f) => f.rel).join(', ')}`);
				const rels = got.map((f) => f.rel);
				if (rels.length !== x.count) { problems.push(`${table}/@v${v}: ${rels.length} files, expected ${x.count}`); continue; }
				if (x.paths) {
					const wantRels = sortPaths(x.paths.map(pctDecode));
					const missing = wantRels.filter((p) => !rels.includes(p)), extra = rels.filter((p) => !wantRels.includes(p));
					if (missing.length || extra.length)
						problems.push(`${table}/@v${v}: missing ${JSON.stringify(missing.slice(0, 3))}, unexpected ${JSON.stringify(extra.slice(0, 3))}`);
				} else {
					// The hash is over the add.path strings as written: map the decoded names
					// back through the log's own encodings.
					enc ??= addPathEncodings(table);
					const encoded = rels.map((r) => enc.get(r));
					if (encoded.some((p) => !p)) {
						problems.push(`${table}/@v${v}: listed names that no add action decodes to: ${rels.filter((r) => !enc.get(r)).slice(0, 3)}`);
						continue;
					}
					const h = sha256(encoded.sort(utf8Compare).join('\n'));
					if (h !== x.sha) problems.push(`${table}/@v${v}: sha256 of the sorted add.paths is ${h}, expected ${x.sha}`);
				}
			}
		}
		for (const table of allowedRefusals)
			if (!m.grep(nameRe(table)).some((l) => /\b(error|warning):/.test(l))) problems.push(`${table}: refused without a log line`);
		assertNoProblems(problems, 'listing mismatches');
		assert.ok(versions > 100, `compared ${versions} versions`);
		return { versions, files };
	}

	let compared;
	it('every version lists exactly the expected files', async () => {
		compared = await compareAll();
		process.stderr.write(`corpus: compared ${compared.versions} versions, ${compared.files} files\n`);
	});

	it('after a remount the file lists come from the metadata cache, still exactly right', async () => {
		assert.ok(compared, 'the first pass ran');
		await m.unmount();
		m = await startMount({ source: pub.source, mnt, options: [...pub.options, 'log_level=debug'], env: pub.env });
		const again = await compareAll();
		assert.deepEqual(again, compared);
		const hits = m.grep(/from the metadata cache/).length;
		assert.ok(hits >= again.versions, `${hits} of ${again.versions} versions came from the cache`);
		process.stderr.write(`corpus: after remount, ${hits} versions from the metadata cache\n`);
	});

	it('sampled files have the source bytes', async () => {
		const problems = [];
		for (const { table, e } of numericTables()) {
			const v = Math.max(...e.versions.keys());
			const x = e.versions.get(v);
			if (!x.paths) continue;
			const present = x.paths.map(pctDecode).filter((p) => fs.existsSync(path.join(DELTA, table, p)));
			const pick = [...new Set([present[0], present[Math.floor(present.length / 2)], present[present.length - 1]])].filter(Boolean);
			for (const p of pick) {
				const via = await sha256File(path.join(mnt, table, `@v${v}`, p)).catch((err) => `error ${err.code}`);
				if (via !== await sha256File(path.join(DELTA, table, p))) problems.push(`${table}/@v${v}/${p}: ${via.startsWith('error') ? via : 'bytes differ'}`);
			}
		}
		assertNoProblems(problems, 'byte mismatches');
	});

	it('every status row is a refusal: EIO on the affected versions, logged with table and reason', async () => {
		const problems = [];
		let refusedSeen = 0;
		for (const [table, e] of expected) {
			if (!e.status || covered(table).size) continue;
			const tdir = path.join(mnt, table);
			const listed = await tableEntries(tdir).catch((err) => ({ versions: [], err }));
			if (e.status === 'no-commits') {
				if (listed.versions.length) problems.push(`${table} (no-commits): lists versions ${listed.versions}`);
				continue;
			}
			const json = jsonVersions(table);
			let prefix = 0;
			while (prefix < json.length && json[prefix] === prefix) prefix++;
			let mustRefuse, mayNotRead;
			if (e.status === 'needs-checkpoint' || e.status === 'log-gap') {
				mustRefuse = json.filter((v) => v >= prefix);
				mayNotRead = listed.versions.filter((v) => v >= prefix);
			} else {
				const from = Number(/version (\d+)/.exec(e.detail)?.[1] ?? 0);
				mustRefuse = json.filter((v) => v >= from);
				mayNotRead = listed.versions.filter((v) => v >= from);
			}
			for (const v of mustRefuse) if (!listed.versions.includes(v)) problems.push(`${table} (${e.status}): @v${v} is in the log but not listed`);
			const since = 0;
			let refused = 0;
			for (const v of new Set([...mustRefuse, ...mayNotRead])) {
				if (!listed.versions.includes(v)) continue;
				const code = await errnoOf(() => fsp.readdir(path.join(tdir, `@v${v}`)));
				if (code !== 'EIO') problems.push(`${table} (${e.status}): @v${v} gave ${code ?? 'a listing'}, not EIO`);
				else refused++;
			}
			refusedSeen += refused;
			if (!refused) continue;
			const lines = m.lines().slice(since).filter((l) => /\b(error|warning):/.test(l) && nameRe(table).test(logMessage(l)));
			if (!lines.length) problems.push(`${table} (${e.status}): no error/warning line names the table`);
			else if (!lines.some((l) => reasonsFor(e.status).some((w) => logMessage(l).includes(w))))
				problems.push(`${table} (${e.status}): no log line carries the reason word; e.g.: ${logMessage(lines[0])}`);
		}
		assertNoProblems(problems, 'refusal problems');
		assert.ok(refusedSeen > 0, 'some versions were refused');
	});

	// DAT (Delta Acceptance Tests): every expected snapshot of _expected/dat/<table>/: the
	// version (@latest for "latest"), the protocol versions and properties (@info/vN.json),
	// and the rows: DuckDB over @vN, less the rows @info/vN/deleted_rows.csv names
	// (anti-join, as docs/SEMANTICS.md shows), equals the expected table_content.
	it('DAT tables: version, protocol, properties and DuckDB row counts over the mount', async (t) => {
		const dat = path.join(CORPUS, '_expected', 'dat');
		if (!fs.existsSync(dat)) return t.skip('no _expected/dat in the corpus');
		const { openDuck, sqlString } = await import('../../tools/js/duck.mjs');
		const duck = await openDuck();
		const problems = [];
		let checked = 0;
		try {
			for (const table of fs.readdirSync(dat).sort()) {
				for (const which of fs.readdirSync(path.join(dat, table, 'expected')).sort()) {
					const exp = path.join(dat, table, 'expected', which);
					const meta = JSON.parse(fs.readFileSync(path.join(exp, 'table_version_metadata.json'), 'utf8'));
					const v = meta.version, tdir = path.join(mnt, table), vdir = path.join(tdir, `@v${v}`);
					if (which === 'latest') {
						const target = await fsp.readlink(path.join(tdir, '@latest')).catch((e) => e.code);
						if (target !== `@v${v}`) problems.push(`${table}: @latest -> ${target}, expected @v${v}`);
					}
					const info = JSON.parse(await fsp.readFile(path.join(tdir, '@info', `v${v}.json`), 'utf8'));
					if (info.protocol?.minReaderVersion !== meta.min_reader_version || info.protocol?.minWriterVersion !== meta.min_writer_version)
						problems.push(`${table} v${v}: protocol ${JSON.stringify(info.protocol)}, expected ${meta.min_reader_version}/${meta.min_writer_version}`);
					for (const [k, val] of Object.entries(meta.properties ?? {}))
						if (info.configuration?.[k] !== val) problems.push(`${table} v${v}: property ${k} = ${info.configuration?.[k]}, expected ${val}`);
					const listed = (await walk(vdir, { stat: false })).filter((f) => f.type === 'file');
					if (listed.some((f) => !fs.existsSync(path.join(DELTA, table, f.rel)))) continue; // data files absent from the copy
					const want = Number(await duck.scalar(`SELECT count(*) FROM read_parquet(${sqlString(path.join(exp, 'table_content', '*.parquet'))})`));
					const got = listed.length ? Number(await duck.scalar(`SELECT count(*) FROM read_parquet(${sqlString(vdir + '/**/*.parquet')}, filename = true, file_row_number = true) d
						ANTI JOIN read_csv(${sqlString(path.join(tdir, '@info', `v${v}`, 'deleted_rows.csv'))}, header = true, columns = {'file': 'VARCHAR', 'row_index': 'BIGINT'}) x
						ON d.filename = ${sqlString(vdir + '/')} || x.file AND d.file_row_number = x.row_index`)) : 0;
					if (got !== want) problems.push(`${table} v${v} (${which}): ${got} rows through the mount, expected ${want}`);
					checked++;
				}
			}
		} finally {
			duck.close();
		}
		assertNoProblems(problems, 'DAT mismatches');
		assert.ok(checked >= 15, `checked ${checked} DAT snapshots`);
		process.stderr.write(`corpus: ${checked} DAT snapshots match\n`);
	});

	it('the daemon is alive and logged nothing about tables that are fine', () => {
		m.assertAlive();
		const allowed = [...expected].filter(([, e]) => e.status).map(([t]) => t).concat([...allowedRefusals]).map(nameRe);
		m.assertNoUnexpectedLogs(allowed);
	});
});
