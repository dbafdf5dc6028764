// stats.test.mjs — the hidden statistics file at the mount root: looked up but never
// listed, valid JSON, counters that move when files are read, read-only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fuseSkipReason, loudSkip, makeTmpdir, generateLake } from './lib/env.mjs';
import { startMount, unmountAndRemove } from './lib/mount.mjs';
import { publish, BACKEND } from './lib/backend.mjs';
import { errnoOf, sha256File } from './lib/fsx.mjs';

const skip = fuseSkipReason() ? loudSkip('stats file tests', fuseSkipReason()) : false;

describe(`.lakemount-stats (${BACKEND})`, { skip, timeout: 120_000 }, () => {
	let tmp, m, mnt, expected;

	before(async () => {
		tmp = makeTmpdir('stats');
		const lake = path.join(tmp, 'lake');
		expected = generateLake(lake, { seed: 5 });
		const pub = await publish(lake, 'stats');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	const stats = async () => JSON.parse(await fsp.readFile(path.join(mnt, '.lakemount-stats'), 'utf8'));

	it('is hidden, valid JSON, and its counters move with reads', async () => {
		assert.ok(!(await fsp.readdir(mnt)).includes('.lakemount-stats'), 'not listed');
		const before = await stats();
		const v = expected.tables.sales.versions.at(-1);
		let bytes = 0;
		for (const f of v.files) {
			await sha256File(path.join(mnt, 'sales', `@v${v.version}`, f.path));
			bytes += f.size;
		}
		const after = await stats();
		assert.ok(after.fuse.reads > before.fuse.reads, 'reads counted');
		assert.ok(after.fuse.opens >= before.fuse.opens + v.files.length, 'opens counted');
		assert.ok(after.bytes.served - before.bytes.served >= bytes, `bytes served grew by at least ${bytes}`);
		assert.ok(after.tables.snapshots_built >= 1);
		assert.ok(after.read_latency_us.p99 >= after.read_latency_us.p50);
		// The version's file list was built and stored in the metadata cache — by the
		// cache's writer thread, after the listing had its answer: wait for it (a few
		// seconds at most).
		assert.equal(after.metadata_cache.enabled, true);
		let mc = after.metadata_cache;
		for (let i = 0; i < 100 && !(mc.stored > before.metadata_cache.stored); i++) {
			await new Promise((r) => setTimeout(r, 50));
			mc = (await stats()).metadata_cache;
		}
		assert.ok(mc.stored > before.metadata_cache.stored, 'the file list was stored');
		assert.ok(mc.disk_bytes > 0 && mc.disk_bytes <= mc.max_bytes);
		assert.equal(mc.corrupt, 0);
	});

	it('is read-only', async () => {
		assert.equal(await errnoOf(() => fsp.writeFile(path.join(mnt, '.lakemount-stats'), 'x')), 'EROFS');
	});
});
