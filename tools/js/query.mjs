// query.mjs — run SQL statements with DuckDB and print the results as a small table.
//   node tools/js/query.mjs "SELECT ..." ["SELECT ..." ...]
import { openDuck } from './duck.mjs';

const duck = await openDuck();
try {
	for (const sql of process.argv.slice(2)) {
		const rows = await duck.rows(sql);
		console.log(`duckdb> ${sql.replace(/\s+/g, ' ').trim()}`);
		if (!rows.length) {
			console.log('  (no rows)');
			continue;
		}
		const cols = Object.keys(rows[0]);
		const cell = (v) => (v === null ? 'NULL' : String(v));
		const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
		console.log('  ' + cols.map((c, i) => c.padEnd(w[i])).join('  '));
		for (const r of rows) console.log('  ' + cols.map((c, i) => cell(r[c]).padEnd(w[i])).join('  '));
	}
} catch (e) {
	console.error(`query: ${e.message}`);
	process.exitCode = 1;
} finally {
	duck.close();
}
