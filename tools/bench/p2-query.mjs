// p2-query.mjs — benchmark P2's query, timed in-process (DuckDB start-up excluded):
//   SELECT part, sum(col), count(*) FROM read_parquet(GLOB, hive_partitioning) GROUP BY part
//
//   node tools/bench/p2-query.mjs GLOB
//
// Prints one JSON line: {"seconds": S, "cpu": C, "rows": R, "digest": "..."} — cpu is the
// CPU seconds of this process (DuckDB's threads) during the query; digest is the result
// rounded to 6 significant digits of each sum, so runs over different paths to the same
// files can be compared (they must be equal).
import { openDuck } from '../js/duck.mjs';

const glob = process.argv[2];
if (!glob) {
	console.error('usage: node tools/bench/p2-query.mjs GLOB');
	process.exit(2);
}
const db = await openDuck();
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const rows = await db.rows(`SELECT part, sum(col) AS s, count(*) AS n
	FROM read_parquet('${glob.replace(/'/g, "''")}', hive_partitioning = true)
	GROUP BY part ORDER BY part`);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const c1 = process.cpuUsage(c0);
const cpu = (c1.user + c1.system) / 1e6;   // DuckDB's threads are in this process
let n = 0;
const digest = rows.map((r) => {
	n += Number(r.n);
	return `${r.part}:${Number(r.s).toPrecision(6)}:${r.n}`;
}).join(',');
console.log(JSON.stringify({ seconds, cpu, rows: n, digest }));
