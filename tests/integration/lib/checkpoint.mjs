// checkpoint.mjs — write a classic Delta checkpoint of version v of a local table, as a
// Delta writer would after committing v: replay the JSON commits 0..v (protocol, the
// newest metaData, the live add actions, unexpired removes as tombstones), write the rows
// with DuckDB in the checkpoint's nested schema to a temporary name and rename it into
// place, then replace _last_checkpoint the same way. Tests only (the replay is the
// simple one the protocol describes, enough for the generator's tables).
import fs from 'node:fs';
import path from 'node:path';
import { openDuck, sqlString } from '../../../tools/js/duck.mjs';

const COLUMNS = `{
	'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
	'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))',
	'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)',
	'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)',
	'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])'
}`;

const pad = (v) => String(v).padStart(20, '0');

// The checkpoint rows of version v (one action per row).
export function checkpointActions(logDir, v) {
	let protocol = null, metaData = null;
	const adds = new Map(), removes = new Map();
	for (let i = 0; i <= v; i++) {
		for (const line of fs.readFileSync(path.join(logDir, `${pad(i)}.json`), 'utf8').split('\n')) {
			if (!line.trim()) continue;
			const a = JSON.parse(line);
			if (a.protocol) protocol = a.protocol;
			if (a.metaData) metaData = a.metaData;
			if (a.add) { adds.set(a.add.path, { ...a.add, dataChange: false }); removes.delete(a.add.path); }
			if (a.remove) { adds.delete(a.remove.path); removes.set(a.remove.path, { ...a.remove, dataChange: false }); }
		}
	}
	if (!protocol || !metaData) throw new Error(`${logDir}: no protocol or metaData up to version ${v}`);
	return [{ protocol }, { metaData }, ...[...adds.values()].map((add) => ({ add })),
		...[...removes.values()].map((remove) => ({ remove }))];
}

// Write <v>.checkpoint.parquet and _last_checkpoint into logDir (atomically, by rename).
export async function writeCheckpoint(logDir, v) {
	const rows = checkpointActions(logDir, v);
	const nd = path.join(logDir, `.ckpt-${v}.ndjson`);
	const tmp = path.join(logDir, `.${pad(v)}.checkpoint.parquet.tmp`);
	fs.writeFileSync(nd, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
	const duck = await openDuck({ threads: 1 });
	try {
		await duck.run(`COPY (SELECT * FROM read_json(${sqlString(nd)}, format = 'newline_delimited', columns = ${COLUMNS}))
			TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`);
	} finally {
		duck.close();
		fs.rmSync(nd, { force: true });
	}
	fs.renameSync(tmp, path.join(logDir, `${pad(v)}.checkpoint.parquet`));
	const last = path.join(logDir, '._last_checkpoint.tmp');
	fs.writeFileSync(last, JSON.stringify({ version: v, size: rows.length }) + '\n');
	fs.renameSync(last, path.join(logDir, '_last_checkpoint'));
	return { file: `${pad(v)}.checkpoint.parquet`, rows: rows.length };
}
