// duck.mjs — the one place the repo imports DuckDB's Node binding from.
//
// Files outside tools/js (tests/integration/…) cannot resolve '@duckdb/node-api' by bare
// name because node_modules lives here; they import this module by relative path instead.
// Install with:  npm --prefix tools/js ci   (or `npm install` in tools/js).
let api;
try {
	api = await import('@duckdb/node-api');
} catch (e) {
	throw new Error(`@duckdb/node-api is not installed; run: npm ci --prefix tools/js  (${e.message})`);
}

// The binding itself, for anything the helpers below do not cover.
export const duckdb = api;
export const { DuckDBInstance, DuckDBConnection } = api;

// Open an in-memory database and one connection. threads: DuckDB worker threads (the
// generator uses 1 so that the Parquet it writes is byte-for-byte deterministic).
export async function openDuck({ threads } = {}) {
	const opts = {};
	if (threads) opts.threads = String(threads);
	const instance = await DuckDBInstance.create(':memory:', opts);
	const conn = await instance.connect();
	return {
		instance,
		conn,
		// Rows as plain objects, BIGINT/HUGEINT as strings (JSON-safe).
		async rows(sql) {
			const r = await conn.runAndReadAll(sql);
			return r.getRowObjectsJson();
		},
		// First column of the first row.
		async scalar(sql) {
			const r = await conn.runAndReadAll(sql);
			const rows = r.getRows();
			return rows.length ? rows[0][0] : undefined;
		},
		async run(sql) {
			await conn.run(sql);
		},
		close() {
			try { conn.closeSync(); } catch { /* already closed */ }
			try { instance.closeSync(); } catch { /* already closed */ }
		},
	};
}

// SQL string literal ('…' with quotes doubled).
export function sqlString(s) {
	return `'${String(s).replace(/'/g, "''")}'`;
}

// SQL list literal of file paths for read_parquet([...]).
export function sqlPathList(paths) {
	return `[${paths.map(sqlString).join(', ')}]`;
}
