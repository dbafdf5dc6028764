// s3.test.mjs — what only the S3 backend has: the start-up check refuses a mount with a
// one-line reason (wrong secret, unknown key, missing bucket, unreachable endpoint) and
// exits non-zero leaving nothing mounted; secrets never reach the log; a folder of more
// than 1,000 objects lists completely (ListObjectsV2 paging) through the mount; keys with
// '=', '+', '%', space and non-ASCII read byte-exact; over https (the gateway's TLS
// endpoint, a CA of the run's own) with ca_file, refused without it. Runs with
// LM_TEST_BACKEND=s3.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fuseSkipReason, loudSkip, makeTmpdir, LAKEMOUNT } from './lib/env.mjs';
import { startMount, isFuseMounted, unmountAndRemove } from './lib/mount.mjs';
import { publish, BACKEND, readEnvFile, s3MountOptions } from './lib/backend.mjs';
import { sha256, sha256File } from './lib/fsx.mjs';

const skipReason = fuseSkipReason() || (BACKEND !== 's3' && 'S3-only checks run with LM_TEST_BACKEND=s3');
const skip = skipReason ? (BACKEND !== 's3' ? skipReason : loudSkip('S3 mount tests', skipReason)) : false;

// Run the daemon in the foreground and expect it to refuse: returns {status, stderr}.
function refusedMount(source, mnt, options, env) {
	fs.mkdirSync(mnt, { recursive: true });
	const r = spawnSync(LAKEMOUNT, ['-f', '-o', options.join(','), source, mnt], {
		env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000,
	});
	return { status: r.status, stderr: r.stderr || '', mounted: isFuseMounted(mnt) };
}

describe('S3 backend specifics', { skip, timeout: 240_000 }, () => {
	let tmp, lake, pub, m, mnt, env;
	const oddNames = ['a=b/c+d/e f%g/ünï.txt', 'date=2024-01-01/x:y&z~.bin', '東京/r&d (west).txt'];

	before(async () => {
		tmp = makeTmpdir('s3');
		lake = path.join(tmp, 'lake');
		env = readEnvFile(process.env.LM_S3_ENV);
		// > 1,000 objects in one folder (ListObjectsV2 pages at 1,000).
		fs.mkdirSync(path.join(lake, 'many'), { recursive: true });
		for (let i = 0; i < 1105; i++)
			fs.writeFileSync(path.join(lake, 'many', `obj-${String(i).padStart(5, '0')}.txt`), `object ${i}\n`);
		for (const [i, n] of oddNames.entries()) {
			fs.mkdirSync(path.dirname(path.join(lake, 'odd', n)), { recursive: true });
			fs.writeFileSync(path.join(lake, 'odd', n), Buffer.alloc(70_000 + i * 1000, i + 1));
		}
		pub = await publish(lake, 's3-specific');
		mnt = path.join(tmp, 'mnt');
		m = await startMount({ source: pub.source, mnt, options: pub.options, env: pub.env });
	});

	after(() => unmountAndRemove(m, tmp));

	it('lists a folder of 1,105 objects completely and in order', async () => {
		const names = await fsp.readdir(path.join(mnt, 'many'));
		assert.equal(names.length, 1105);
		assert.deepEqual(names.slice().sort(), Array.from({ length: 1105 }, (_, i) => `obj-${String(i).padStart(5, '0')}.txt`));
		assert.equal(await fsp.readFile(path.join(mnt, 'many', 'obj-01104.txt'), 'utf8'), 'object 1104\n');
	});

	it('reads keys with =, +, %, space, :, & and non-ASCII byte-exact', async () => {
		for (const n of oddNames) {
			assert.equal(await sha256File(path.join(mnt, 'odd', n)), sha256(fs.readFileSync(path.join(lake, 'odd', n))), n);
			const st = await fsp.stat(path.join(mnt, 'odd', n));
			assert.equal(st.size, fs.statSync(path.join(lake, 'odd', n)).size, `${n}: size from the listing`);
		}
	});

	it('refuses to mount with a wrong secret, saying what to fix', () => {
		const r = refusedMount(pub.source, path.join(tmp, 'm-wrong'), s3MountOptions(),
			{ ...env, AWS_SECRET_ACCESS_KEY: 'definitely-not-the-secret' });
		assert.notEqual(r.status, 0);
		assert.equal(r.mounted, false);
		assert.match(r.stderr, /secret/i);
		assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
		assert.ok(!r.stderr.includes('definitely-not-the-secret'), 'the secret is never printed');
		assert.ok(!r.stderr.includes(env.AWS_SECRET_ACCESS_KEY), 'the real secret is never printed');
	});

	it('refuses an unknown access key and a missing bucket', () => {
		let r = refusedMount(pub.source, path.join(tmp, 'm-key'), s3MountOptions(),
			{ ...env, AWS_ACCESS_KEY_ID: 'AKIANOSUCHKEY000000' });
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /not known|access key/i);
		r = refusedMount(`s3://no-such-bucket-${process.pid}/x`, path.join(tmp, 'm-bucket'), s3MountOptions(), env);
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /does not exist/);
		assert.equal(r.mounted, false);
	});

	it('refuses an unreachable endpoint quickly', async () => {
		// A port nobody listens on: bind one, close it, use it.
		const port = await new Promise((res) => {
			const srv = net.createServer().listen(0, '127.0.0.1', () => {
				const p = srv.address().port;
				srv.close(() => res(p));
			});
		});
		const t0 = Date.now();
		const r = refusedMount(pub.source, path.join(tmp, 'm-unreach'),
			[`endpoint=http://127.0.0.1:${port}`, 'path_style', 'retry_time=3000'], env);
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /127\.0\.0\.1/);
		assert.ok(Date.now() - t0 < 30_000, 'gives up within the retry time');
		assert.equal(r.mounted, false);
	});

	// https: the gateway also listens with TLS, its certificate signed by a CA of the
	// test run's own (tools/s3/start-rgw.sh); what AWS S3 needs, tried for real.
	const tls = () => (env.LM_S3_TLS_ENDPOINT && env.LM_S3_CA_FILE ? env : null);

	it('https: with ca_file the listing and the bytes come over TLS, exact', async () => {
		const t = tls();
		assert.ok(t, 'the gateway env names an https endpoint and its CA (start-rgw.sh)');
		const port = t.LM_S3_TLS_ENDPOINT.split(':').pop();
		for (const ep of [t.LM_S3_TLS_ENDPOINT, `https://localhost:${port}`]) {
			const mt = await startMount({ source: pub.source, mnt: path.join(tmp, `m-tls-${ep.includes('localhost') ? 'name' : 'ip'}`),
				options: [`endpoint=${ep}`, 'path_style', `ca_file=${t.LM_S3_CA_FILE}`, 'no_disk_cache'], env: pub.env });
			try {
				assert.equal((await fsp.readdir(path.join(mt.mnt, 'many'))).length, 1105, `${ep}: listing`);
				for (const n of oddNames)
					assert.equal(await sha256File(path.join(mt.mnt, 'odd', n)), sha256(fs.readFileSync(path.join(lake, 'odd', n))), `${ep}: ${n}`);
				const st = JSON.parse(await fsp.readFile(path.join(mt.mnt, '.lakemount-stats'), 'utf8'));
				assert.ok(st.bytes.fetched > 0, 'bytes came through the https endpoint');
			} finally {
				await mt.unmount();
			}
		}
	});

	it('https: a certificate not signed by a trusted CA is refused in one line, nothing mounted', () => {
		const t = tls();
		assert.ok(t);
		// the system CAs do not know the test CA
		const r = refusedMount(pub.source, path.join(tmp, 'm-tls-untrusted'),
			[`endpoint=${t.LM_S3_TLS_ENDPOINT}`, 'path_style', 'retry_time=3000'], { ...env, AWS_CA_BUNDLE: '' });
		assert.notEqual(r.status, 0);
		assert.equal(r.mounted, false);
		assert.match(r.stderr, /certificate .*not trusted/);
		assert.match(r.stderr, /ca_file/);
		assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
		// a CA file that is not the signer: refused the same way
		const other = path.join(tmp, 'other-ca.pem');
		const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=another CA',
			'-keyout', path.join(tmp, 'other-ca.key'), '-out', other], { encoding: 'utf8' });
		assert.equal(g.status, 0, g.stderr);
		const r2 = refusedMount(pub.source, path.join(tmp, 'm-tls-other'),
			[`endpoint=${t.LM_S3_TLS_ENDPOINT}`, 'path_style', `ca_file=${other}`, 'retry_time=3000'], env);
		assert.notEqual(r2.status, 0);
		assert.match(r2.stderr, /not trusted/);
	});

	it('the daemon logged no secret and no unexpected error', () => {
		const log = m.text();
		assert.ok(!log.includes(env.AWS_SECRET_ACCESS_KEY), 'secret in the log');
		assert.ok(!/\berror:/.test(log), `unexpected error lines:\n${log}`);
	});
});
